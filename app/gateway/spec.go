package gateway

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/mcpshare/mcpshare/app/egress"
)

// Kind is how a shared server is reached.
type Kind string

// Kinds of shared server.
const (
	KindStdio   Kind = "stdio"   // a local command speaking MCP on stdin/stdout
	KindHTTP    Kind = "http"    // a local Streamable HTTP MCP server (loopback URL)
	KindBuiltin Kind = "builtin" // the built-in folder server (app/builtin), in memory
	// KindRemote is a Streamable HTTP MCP server anywhere (https, or http on
	// loopback), reached under app/egress's rules, that may sign in with
	// OAuth (ServerSpec.OAuth).
	KindRemote Kind = "remote"
)

// Isolation says which requests share one backend of a server.
type Isolation string

const (
	// IsolationUser (the default) runs one backend per (user, server): all of a
	// user's sessions and sessionless requests share it, the way a desktop
	// client runs one process per server for all its chats.
	IsolationUser Isolation = "user"
	// IsolationSession runs one backend per MCP session, for servers that keep
	// per-conversation state. Sessionless (2026-07-28) requests of a user
	// share one backend of their own.
	IsolationSession Isolation = "session"
)

// ServerSpec describes one shared server. Values of SecretEnv are read
// through Config.Secret each time a backend starts, never stored here.
type ServerSpec struct {
	Name string
	Kind Kind

	// A stdio server: the command, its arguments, extra environment (added to
	// a minimal base of the app's), the names of secret variables, and the
	// working directory.
	Command   string
	Args      []string
	Env       map[string]string
	SecretEnv []string
	Dir       string

	// A local HTTP server: its Streamable HTTP endpoint on a loopback
	// address. A remote server: its endpoint anywhere.
	URL string
	// OAuth says a remote server signs in with OAuth: Config.OAuth gives the
	// handler that holds its tokens.
	OAuth bool

	// The built-in server: the folder it shares.
	Root string

	Isolation Isolation

	// Revision changes when something the spec does not show changed (the
	// values of SecretEnv): a new revision restarts the server's backends.
	Revision int
}

func (s ServerSpec) isolation() Isolation {
	if s.Isolation == IsolationSession {
		return IsolationSession
	}
	return IsolationUser
}

// validate checks what the gateway relies on; the app validates the rest
// before it stores a server.
func (s ServerSpec) validate() error {
	if s.Name == "" {
		return fmt.Errorf("a shared server needs a name")
	}
	switch s.Kind {
	case KindStdio:
		if s.Command == "" {
			return fmt.Errorf("server %q: a stdio server needs a command", s.Name)
		}
	case KindHTTP:
		if _, err := loopbackURL(s.URL); err != nil {
			return fmt.Errorf("server %q: %w", s.Name, err)
		}
	case KindBuiltin:
		if s.Root == "" {
			return fmt.Errorf("server %q: the built-in server needs a folder", s.Name)
		}
	case KindRemote:
		if err := egress.CheckURL(s.URL); err != nil {
			return fmt.Errorf("server %q: %w", s.Name, err)
		}
	default:
		return fmt.Errorf("server %q: unknown kind %q", s.Name, s.Kind)
	}
	if s.OAuth && s.Kind != KindRemote {
		return fmt.Errorf("server %q: only a remote server signs in with OAuth", s.Name)
	}
	switch s.Isolation {
	case "", IsolationUser, IsolationSession:
	default:
		return fmt.Errorf("server %q: unknown isolation %q (use %q or %q)", s.Name, s.Isolation, IsolationUser, IsolationSession)
	}
	return nil
}

// equal reports whether two specs start the same backend.
func (s ServerSpec) equal(o ServerSpec) bool {
	return s.Name == o.Name && s.Kind == o.Kind && s.Command == o.Command &&
		slices.Equal(s.Args, o.Args) && maps.Equal(s.Env, o.Env) &&
		slices.Equal(s.SecretEnv, o.SecretEnv) && s.Dir == o.Dir && s.URL == o.URL &&
		s.OAuth == o.OAuth && s.Root == o.Root && s.isolation() == o.isolation() && s.Revision == o.Revision
}

// loopbackURL accepts only http(s) URLs on localhost or a loopback address,
// without credentials: a local HTTP backend is on this machine.
func loopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: the scheme must be http or https", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q: must not carry credentials", raw)
	}
	host := u.Hostname()
	if !strings.EqualFold(host, "localhost") {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("URL %q: the host must be localhost or a loopback address", raw)
		}
	}
	u.Fragment = ""
	return u, nil
}

// shownURL is u without userinfo, query or fragment: what logs and errors
// that reach a remote client may name (a query may hold a key).
func shownURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
