package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

// maxImportFile bounds the size of a config file to import.
const maxImportFile = 4 << 20

// Skipped is an entry of an imported file that was not imported, and why.
type Skipped struct {
	Name   string
	Reason string
}

// ImportReport says what an import did.
type ImportReport struct {
	Imported []string
	Skipped  []Skipped
	// SignIn lists the imported servers that wait for the owner to sign in
	// to them (remote servers with OAuth).
	SignIn []string
}

// importEntry is one server entry as Claude Desktop, Cursor and VS Code write it.
type importEntry struct {
	Type     string            `json:"type"`
	Command  string            `json:"command"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Cwd      string            `json:"cwd"`
	URL      string            `json:"url"`
	Headers  map[string]string `json:"headers"`
	EnvFile  string            `json:"envFile"`
	Disabled bool              `json:"disabled"`
}

// secretNameRE guesses which environment variables hold credentials; their
// values go to the keychain rather than the database.
var secretNameRE = regexp.MustCompile(`(?i)(key|token|secret|passw|auth|credential|pat$)`)

// ParseImport reads a Claude Desktop (claude_desktop_config.json), Cursor
// (mcp.json) or VS Code (mcp.json, or settings.json's "mcp") configuration
// and returns the servers it can share, with the values of secret-looking
// environment variables split out, and the entries it cannot share.
func ParseImport(data []byte) (servers []ServerConfig, secretValues map[string]map[string]string, skipped []Skipped, err error) {
	var doc struct {
		MCPServers map[string]json.RawMessage `json:"mcpServers"`
		Servers    map[string]json.RawMessage `json:"servers"`
		MCP        struct {
			Servers map[string]json.RawMessage `json:"servers"`
		} `json:"mcp"`
	}
	if err := json.Unmarshal(stripJSONC(data), &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: not a JSON MCP configuration: %v", ErrInvalidConfig, err)
	}
	entries := map[string]json.RawMessage{}
	for _, m := range []map[string]json.RawMessage{doc.MCPServers, doc.Servers, doc.MCP.Servers} {
		for k, v := range m {
			entries[k] = v
		}
	}
	if len(entries) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: no \"mcpServers\" or \"servers\" entries found", ErrInvalidConfig)
	}
	names := make([]string, 0, len(entries))
	for k := range entries {
		names = append(names, k)
	}
	sort.Strings(names)
	secretValues = map[string]map[string]string{}
	seen := map[string]string{} // slug -> the entry that got it
	for _, orig := range names {
		var e importEntry
		if err := json.Unmarshal(entries[orig], &e); err != nil {
			skipped = append(skipped, Skipped{orig, "entry is not an object with command/args/env or url: " + err.Error()})
			continue
		}
		cfg, secrets, reason := convertEntry(orig, e)
		if reason == "" && seen[cfg.Name] != "" {
			reason = fmt.Sprintf("its URL name %q is taken by %q in the same file; add it by hand under another name", cfg.Name, seen[cfg.Name])
		}
		if reason != "" {
			skipped = append(skipped, Skipped{orig, reason})
			continue
		}
		seen[cfg.Name] = orig
		servers = append(servers, cfg)
		if len(secrets) > 0 {
			secretValues[cfg.Name] = secrets
		}
	}
	return servers, secretValues, skipped, nil
}

func convertEntry(orig string, e importEntry) (ServerConfig, map[string]string, string) {
	name := Slug(orig)
	if name == "" {
		return ServerConfig{}, nil, "the name has no letters or digits to make a URL from"
	}
	if e.Disabled {
		return ServerConfig{}, nil, "disabled in the source file"
	}
	if e.EnvFile != "" {
		return ServerConfig{}, nil, "uses an envFile, which MCP Share does not read; add it by hand with --env"
	}
	raw, _ := json.Marshal(e)
	if strings.Contains(string(raw), "${input:") {
		return ServerConfig{}, nil, "uses VS Code ${input:...} prompts; add it by hand with the values"
	}
	cfg := ServerConfig{Name: name, Enabled: true}
	if remote, reason, ok := mcpRemoteURL(e); ok {
		if reason != "" {
			return ServerConfig{}, nil, reason
		}
		// mcp-remote signs in with OAuth: MCP Share does that itself now.
		cfg.Kind, cfg.URL, cfg.OAuth = KindRemote, remote, true
		if err := cfg.Validate(); err != nil {
			return ServerConfig{}, nil, err.Error()
		}
		return cfg, nil, ""
	}
	switch {
	case e.Command != "":
		if e.Type != "" && e.Type != "stdio" {
			return ServerConfig{}, nil, fmt.Sprintf("type %q with a command is not understood", e.Type)
		}
		cfg.Kind, cfg.Command, cfg.Args, cfg.Dir = KindStdio, e.Command, e.Args, e.Cwd
	case e.URL != "":
		if e.Type == "sse" {
			return ServerConfig{}, nil, "uses the old SSE transport; only Streamable HTTP servers can be shared"
		}
		u, err := url.Parse(e.URL)
		if err != nil {
			return ServerConfig{}, nil, fmt.Sprintf("its url %q is not a URL", e.URL)
		}
		if len(e.Headers) > 0 {
			return ServerConfig{}, nil, "needs custom HTTP headers, which MCP Share does not send; add it by hand if it also signs in with OAuth"
		}
		if isLoopbackHost(u.Hostname()) {
			cfg.Kind, cfg.URL = KindHTTP, e.URL
		} else {
			// A remote entry without headers signs in with OAuth, or needs
			// nothing: Import asks the server which.
			cfg.Kind, cfg.URL, cfg.OAuth = KindRemote, e.URL, true
		}
	default:
		return ServerConfig{}, nil, "has neither a command nor a url"
	}
	secrets := map[string]string{}
	for k, v := range e.Env {
		if secretNameRE.MatchString(k) {
			secrets[k] = v
			cfg.SecretEnv = append(cfg.SecretEnv, k)
			continue
		}
		if cfg.Env == nil {
			cfg.Env = map[string]string{}
		}
		cfg.Env[k] = v
	}
	sort.Strings(cfg.SecretEnv)
	if err := cfg.Validate(); err != nil {
		return ServerConfig{}, nil, err.Error()
	}
	return cfg, secrets, ""
}

// mcpRemoteURL recognizes an `npx mcp-remote URL` wrapper (any runner, any
// version of the package) and returns its URL; reason says why such a
// wrapper cannot be imported (headers it adds, the SSE transport).
func mcpRemoteURL(e importEntry) (remote, reason string, ok bool) {
	args := append([]string{e.Command}, e.Args...)
	at := -1
	for i, a := range args {
		base := filepath.Base(a)
		if base == "mcp-remote" || strings.HasPrefix(base, "mcp-remote@") {
			at = i
			break
		}
	}
	if at < 0 {
		return "", "", false
	}
	rest := args[at+1:]
	for i, a := range rest {
		switch {
		case a == "--header":
			return "", "runs mcp-remote with --header, which MCP Share does not send; add it by hand if it also signs in with OAuth", true
		case a == "--transport" && i+1 < len(rest) && strings.HasPrefix(rest[i+1], "sse"):
			return "", "runs mcp-remote over the old SSE transport; only Streamable HTTP servers can be shared", true
		case remote == "" && (strings.HasPrefix(a, "https://") || strings.HasPrefix(a, "http://")):
			remote = a
		}
	}
	if remote == "" {
		return "", "runs mcp-remote without a server URL", true
	}
	return remote, "", true
}

// importProbeTimeout bounds asking one imported URL whether it signs in.
const importProbeTimeout = 10 * time.Second

// settleURLServer asks an imported URL server whether it wants a sign-in:
// one that does becomes a remote server with OAuth, one that does not a
// local HTTP server (loopback) or a remote one without OAuth. A server
// that does not answer now keeps what its entry suggests.
func (a *App) settleURLServer(ctx context.Context, cfg *ServerConfig) {
	if cfg.Kind != KindHTTP && cfg.Kind != KindRemote {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, importProbeTimeout)
	defer cancel()
	p, err := a.probeRemote(ctx, cfg.URL)
	if err != nil {
		return
	}
	u, _ := url.Parse(cfg.URL)
	switch {
	case p.NeedsOAuth:
		cfg.Kind, cfg.OAuth = KindRemote, true
	case isLoopbackHost(u.Hostname()):
		cfg.Kind, cfg.OAuth = KindHTTP, false
	default:
		cfg.Kind, cfg.OAuth = KindRemote, false
	}
}

// Import adds the servers of a Claude Desktop, Cursor or VS Code config file.
// A name that already exists is skipped, never overwritten. Servers given by
// URL (or through mcp-remote) are asked whether they sign in; those that do
// are listed in ImportReport.SignIn.
func (a *App) Import(ctx context.Context, path string) (ImportReport, error) {
	var rep ImportReport
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if n, err := buf.ReadFrom(io.LimitReader(f, maxImportFile+1)); err != nil {
		return rep, fmt.Errorf("read %s: %w", path, err)
	} else if n > maxImportFile {
		return rep, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidConfig, path, maxImportFile)
	}
	servers, secretValues, skipped, err := ParseImport(buf.Bytes())
	if err != nil {
		return rep, fmt.Errorf("%s: %w", path, err)
	}
	rep.Skipped = skipped
	for _, cfg := range servers {
		if _, err := a.cfg.server(cfg.Name); err != nil {
			a.settleURLServer(ctx, &cfg)
		}
		err := a.AddServer(ctx, cfg, secretValues[cfg.Name])
		switch {
		case errors.Is(err, ErrServerExists):
			rep.Skipped = append(rep.Skipped, Skipped{cfg.Name, "a server with this name exists already"})
		case err != nil:
			rep.Skipped = append(rep.Skipped, Skipped{cfg.Name, err.Error()})
		default:
			rep.Imported = append(rep.Imported, cfg.Name)
			if cfg.OAuth {
				rep.SignIn = append(rep.SignIn, cfg.Name)
			}
		}
	}
	return rep, nil
}

// ImportCandidates lists where Claude Desktop, Cursor and VS Code usually keep
// their MCP configuration on this system, existing files first.
func ImportCandidates() []string {
	home, _ := os.UserHomeDir()
	cfg, _ := os.UserConfigDir()
	var paths []string
	switch runtime.GOOS {
	case "darwin":
		paths = append(paths, filepath.Join(home, "Library/Application Support/Claude/claude_desktop_config.json"))
	default:
		paths = append(paths, filepath.Join(cfg, "Claude/claude_desktop_config.json"))
	}
	paths = append(paths,
		filepath.Join(home, ".cursor/mcp.json"),
		filepath.Join(cfg, "Code/User/mcp.json"),
		filepath.Join(cfg, "Code/User/settings.json"),
	)
	sort.SliceStable(paths, func(i, j int) bool { return exists(paths[i]) && !exists(paths[j]) })
	return paths
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// stripJSONC removes // and /* */ comments and trailing commas outside
// strings, so VS Code's JSON-with-comments files parse.
func stripJSONC(in []byte) []byte {
	out := make([]byte, 0, len(in))
	inStr, esc := false, false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
			out = append(out, c)
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
			if i < len(in) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := bytes.Index(in[i+2:], []byte("*/"))
			if end < 0 {
				i = len(in)
			} else {
				i += end + 3
			}
		case c == '}' || c == ']':
			j := len(out) - 1
			for j >= 0 && (out[j] == ' ' || out[j] == '\t' || out[j] == '\n' || out[j] == '\r') {
				j--
			}
			if j >= 0 && out[j] == ',' {
				out = append(out[:j], out[j+1:]...)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out
}
