package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/mcpshare/mcpshare/app/egress"
)

// Kinds of shared server.
const (
	KindBuiltin = "builtin" // the built-in read-only folder server (app/builtin)
	KindStdio   = "stdio"   // a local command speaking MCP on stdin/stdout
	KindHTTP    = "http"    // a local Streamable HTTP MCP server
	// KindRemote is a Streamable HTTP MCP server anywhere (https, or http on
	// this computer), that may sign in with OAuth (ServerConfig.OAuth).
	KindRemote = "remote"
)

// BuiltinName is the name the built-in server gets on first run.
const BuiltinName = "files"

// ServerConfig describes one shared server. It is stored in bbolt as JSON;
// values of SecretEnv live in the keychain, never here.
type ServerConfig struct {
	Name    string            `json:"name"`
	Kind    string            `json:"kind"`
	Enabled bool              `json:"enabled"`
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// SecretEnv names the environment variables whose values are kept in the
	// keychain under secrets.EnvKey(Name, key).
	SecretEnv []string `json:"secret_env,omitempty"`
	Dir       string   `json:"dir,omitempty"`
	URL       string   `json:"url,omitempty"`
	// Root is the folder the built-in server shares.
	Root string `json:"root,omitempty"`
	// Isolation is IsolationUser (the default when empty: one instance of
	// the server per user, shared by all of that user's sessions) or
	// IsolationSession (one per MCP session, for servers that keep
	// per-conversation state).
	Isolation string `json:"isolation,omitempty"`

	// Who may use the server, and what of it (access.go, policy.go).
	// Users lists the users who may use the server; empty means every user.
	Users []string `json:"users,omitempty"`
	// Tools, Prompts and Resources hold the owner's state (AccessAllowed,
	// AccessAsk, AccessHidden) of entries by their server's own name (a
	// resource by URI or URI template); an entry not named is allowed, or
	// ask under AskBeforeChanges.
	Tools     map[string]string `json:"tools,omitempty"`
	Prompts   map[string]string `json:"prompts,omitempty"`
	Resources map[string]string `json:"resources,omitempty"`
	// AskBeforeChanges makes every tool whose annotations lack
	// readOnlyHint: true wait for the owner's approval, unless Tools says
	// otherwise.
	AskBeforeChanges bool `json:"ask_before_changes,omitempty"`
	// AuditArguments writes the arguments of calls to the audit log (up to
	// audit.MaxArgsBytes each) beside their digest.
	AuditArguments bool `json:"audit_arguments,omitempty"`
	// OAuth says a remote server signs in with OAuth: its tokens are kept in
	// the secret store once the owner signed in (never here).
	OAuth bool `json:"oauth,omitempty"`
	// OAuthClientID is a client the owner registered at the server's
	// authorization server and pasted; empty means MCP Share registers one
	// itself. Its secret, if it has one, is in the secret store.
	OAuthClientID string `json:"oauth_client_id,omitempty"`
}

// Isolation of a server's instances (ServerConfig.Isolation).
const (
	IsolationUser    = "user"
	IsolationSession = "session"
)

// Approval policies, as stored in settings and given on the command line.
const (
	ApprovalAsk      = "ask"
	ApprovalOnce     = "once"
	ApprovalPassword = "password"
)

// Tunnel kinds.
const (
	TunnelNone   = "none"
	TunnelNgrok  = "ngrok"
	TunnelCustom = "custom"
)

// DefaultAddr is where the local listener goes unless settings say otherwise.
const DefaultAddr = "127.0.0.1:8765"

// Settings are the per-installation preferences kept in bbolt.
type Settings struct {
	Addr        string `json:"addr"`
	Approval    string `json:"approval"`
	Tunnel      string `json:"tunnel"`
	NgrokDomain string `json:"ngrok_domain,omitempty"`
	PublicURL   string `json:"public_url,omitempty"`
}

func defaultSettings() Settings {
	return Settings{Addr: DefaultAddr, Approval: ApprovalAsk, Tunnel: TunnelNone}
}

// ErrInvalidConfig is matched by every validation error of settings and servers.
var ErrInvalidConfig = errors.New("invalid configuration")

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name can be a shared server's name: a URL-safe
// slug of lowercase letters, digits, '-' and '_', starting with a letter or digit.
func ValidName(name string) error {
	if !slugRE.MatchString(name) {
		return fmt.Errorf("%w: server name %q must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit", ErrInvalidConfig, name)
	}
	return nil
}

// Slug turns a free-form name (from an imported config file) into a valid server name.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}

// Validate checks a server configuration before it is stored.
func (c *ServerConfig) Validate() error {
	if err := ValidName(c.Name); err != nil {
		return err
	}
	switch c.Kind {
	case KindBuiltin:
		if c.Root == "" {
			return fmt.Errorf("%w: server %q: the built-in server needs a folder", ErrInvalidConfig, c.Name)
		}
	case KindStdio:
		if strings.TrimSpace(c.Command) == "" {
			return fmt.Errorf("%w: server %q: a command is required", ErrInvalidConfig, c.Name)
		}
	case KindHTTP:
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: server %q: %q is not an http(s) URL", ErrInvalidConfig, c.Name, c.URL)
		}
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("%w: server %q: %q is not on this computer; only local (loopback) MCP servers can be shared", ErrInvalidConfig, c.Name, c.URL)
		}
	case KindRemote:
		if err := egress.CheckURL(c.URL); err != nil {
			return fmt.Errorf("%w: server %q: %v", ErrInvalidConfig, c.Name, err)
		}
	default:
		return fmt.Errorf("%w: server %q: unknown kind %q", ErrInvalidConfig, c.Name, c.Kind)
	}
	if (c.OAuth || c.OAuthClientID != "") && c.Kind != KindRemote {
		return fmt.Errorf("%w: server %q: only a remote server signs in with OAuth", ErrInvalidConfig, c.Name)
	}
	switch c.Isolation {
	case "", IsolationUser, IsolationSession:
	default:
		return fmt.Errorf("%w: server %q: isolation %q: use %q or %q", ErrInvalidConfig, c.Name, c.Isolation, IsolationUser, IsolationSession)
	}
	if err := c.validateRules(); err != nil {
		return err
	}
	for k := range c.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("%w: server %q: bad environment variable name %q", ErrInvalidConfig, c.Name, k)
		}
	}
	for _, k := range c.SecretEnv {
		if _, dup := c.Env[k]; dup {
			return fmt.Errorf("%w: server %q: %s is both a plain and a secret variable", ErrInvalidConfig, c.Name, k)
		}
	}
	return nil
}

// Validate checks settings before they are stored.
func (s *Settings) Validate() error {
	if !slices.Contains([]string{ApprovalAsk, ApprovalOnce, ApprovalPassword}, s.Approval) {
		return fmt.Errorf("%w: approval policy %q: use ask, once or password", ErrInvalidConfig, s.Approval)
	}
	if !slices.Contains([]string{TunnelNone, TunnelNgrok, TunnelCustom}, s.Tunnel) {
		return fmt.Errorf("%w: tunnel %q: use none, ngrok or custom", ErrInvalidConfig, s.Tunnel)
	}
	if s.Tunnel == TunnelCustom && s.PublicURL == "" {
		return fmt.Errorf("%w: the custom tunnel needs a public URL (--public-url)", ErrInvalidConfig)
	}
	if err := validateListenAddr(s.Addr); err != nil {
		return err
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
