package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpshare/mcpshare/app/secrets"
)

// tryTimeout bounds TryServer when ctx has no earlier deadline: npx may
// have to download a package first.
const tryTimeout = 90 * time.Second

// tryStderrLines bounds TryResult.Stderr, and maxStderrLine each line.
const (
	tryStderrLines = 200
	maxStderrLine  = 4096
)

// TryResult is what TryServer found out about a server before it is saved.
type TryResult struct {
	// Server is the name and version the server gave when it started.
	Server string
	// Tools are the names of the tools it lists, in its order.
	Tools []string
	// Stderr holds the last lines a stdio server wrote to its stderr; it is
	// filled also when the server failed, since it usually says why.
	Stderr []string
}

// TryServer starts the server cfg describes (not yet saved: its secret
// values come from secretValues, or from the secret store for those not
// given), lists its tools, collects its stderr and stops it again, all
// within ctx. The error says why it could not start or answer.
func (a *App) TryServer(ctx context.Context, cfg ServerConfig, secretValues map[string]string) (TryResult, error) {
	if err := cfg.Validate(); err != nil {
		return TryResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, tryTimeout)
	defer cancel()
	stderr := &lineBuffer{max: tryStderrLines}
	var transport mcp.Transport
	switch cfg.Kind {
	case KindStdio:
		env, err := a.tryEnv(ctx, cfg, secretValues)
		if err != nil {
			return TryResult{}, err
		}
		if cfg.Dir != "" {
			if fi, err := os.Stat(cfg.Dir); err != nil || !fi.IsDir() {
				return TryResult{}, fmt.Errorf("%w: server %q: the working folder %s does not exist", ErrInvalidConfig, cfg.Name, cfg.Dir)
			}
		}
		cmd := exec.CommandContext(ctx, cfg.Command, cfg.Args...)
		cmd.Dir, cmd.Env, cmd.Stderr = cfg.Dir, env, stderr
		// A grandchild holding stderr open must not keep Wait (and us) waiting.
		cmd.WaitDelay = 2 * time.Second
		transport = &mcp.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}
	case KindHTTP:
		transport = &mcp.StreamableClientTransport{Endpoint: cfg.URL}
	default:
		return TryResult{}, fmt.Errorf("%w: server %q: only commands and local URLs can be tried", ErrInvalidConfig, cfg.Name)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpshare-try", Version: "1"}, nil)
	session, err := client.Connect(ctx, transport, nil)
	if err != nil {
		return TryResult{Stderr: stderr.lines()}, fmt.Errorf("server %q did not start: %w", cfg.Name, err)
	}
	res := TryResult{}
	if init := session.InitializeResult(); init != nil && init.ServerInfo != nil {
		res.Server = strings.TrimSpace(init.ServerInfo.Name + " " + init.ServerInfo.Version)
	}
	for tool, err := range session.Tools(ctx, nil) {
		if err != nil {
			session.Close()
			res.Stderr = stderr.lines()
			return res, fmt.Errorf("server %q started but did not list its tools: %w", cfg.Name, err)
		}
		res.Tools = append(res.Tools, tool.Name)
	}
	if err := session.Close(); err != nil && !errors.Is(err, context.Canceled) {
		a.log.Debug("closing the tried server", "server", cfg.Name, "err", err)
	}
	res.Stderr = stderr.lines()
	return res, nil
}

// tryEnv is the environment of a tried stdio server: what a shared one
// gets (the app's PATH, home, user, locale and temp folder) plus its
// configured and secret variables.
func (a *App) tryEnv(ctx context.Context, cfg ServerConfig, secretValues map[string]string) ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if runtime.GOOS == "windows" || inheritedByServers(k) {
			env = append(env, kv)
		}
	}
	for k, v := range cfg.Env {
		env = append(env, k+"="+v)
	}
	for _, k := range cfg.SecretEnv {
		v, ok := secretValues[k]
		if !ok {
			var err error
			if v, err = a.secrets.Get(ctx, secrets.EnvKey(cfg.Name, k)); err != nil {
				return nil, fmt.Errorf("read secret %s of server %q: %w", k, cfg.Name, err)
			}
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// inheritedByServers tells whether the app's variable k reaches a stdio
// server; the rest (tokens, cloud credentials) stays out.
func inheritedByServers(k string) bool {
	switch k {
	case "PATH", "HOME", "USER", "LOGNAME", "LANG", "TMPDIR", "TZ":
		return true
	}
	return strings.HasPrefix(k, "LC_")
}

// lineBuffer keeps the last max lines written to it.
type lineBuffer struct {
	mu      sync.Mutex
	max     int
	done    []string
	partial []byte
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.done = append(b.done, strings.TrimRight(string(b.partial[:i]), "\r"))
		b.partial = b.partial[i+1:]
	}
	if len(b.partial) > maxStderrLine { // a server that never ends its line
		b.done = append(b.done, string(b.partial[:maxStderrLine])+"…")
		b.partial = nil
	}
	if over := len(b.done) - b.max; over > 0 {
		b.done = append([]string(nil), b.done[over:]...)
	}
	return len(p), nil
}

func (b *lineBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := append([]string(nil), b.done...)
	if len(b.partial) > 0 {
		out = append(out, string(b.partial))
	}
	return out
}
