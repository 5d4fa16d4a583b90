package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/egress"
)

// Remote servers on the command line: `server add --url` that asks the
// server whether it signs in, `server login` and `server logout`, the
// SIGN-IN column of `server list`, and serve's prompt when a sign-in is
// needed.

// remoteFlags are the flags of `server add --url`.
type remoteFlags struct {
	oauth       string
	clientID    string
	secretStdin bool
	secret      string
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.oauth, "oauth", "auto", "with --url: auto asks the server whether it signs in with OAuth; yes or no decide without asking")
	fs.StringVar(&r.clientID, "oauth-client-id", "", "with --url: a client ID you registered at the server's authorization server (else MCP Share registers itself)")
	fs.BoolVar(&r.secretStdin, "oauth-client-secret-stdin", false, "with --oauth-client-id: read that client's secret from standard input")
}

// readSecret reads the pasted client's secret before anything is opened.
func (r *remoteFlags) readSecret(c *cli) (int, bool) {
	switch r.oauth {
	case "auto", "yes", "no":
	default:
		return c.usageErr("--oauth %q: use auto, yes or no", r.oauth), false
	}
	if r.secretStdin && r.clientID == "" {
		return c.usageErr("--oauth-client-secret-stdin goes with --oauth-client-id"), false
	}
	if !r.secretStdin {
		return 0, true
	}
	c.promptIfTerminal("Paste the client secret and press Enter: ")
	sc := bufio.NewScanner(c.stdin)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) == "" {
		return c.fail(errors.New("no client secret on standard input")), false
	}
	r.secret = strings.TrimSpace(sc.Text())
	return 0, true
}

// probeTimeout bounds asking a server whether it signs in.
const probeTimeout = 20 * time.Second

// settleURL decides the kind of a server given by URL: a local one that
// needs no sign-in stays a local HTTP server; one that signs in with OAuth,
// or is not on this computer, is a remote server.
func (c *cli) settleURL(ctx context.Context, a *app.App, cfg *app.ServerConfig, r remoteFlags) error {
	if err := egress.CheckURL(cfg.URL); err != nil {
		return fmt.Errorf("%w: --url: %v", app.ErrInvalidConfig, err)
	}
	u, _ := url.Parse(cfg.URL)
	local := egress.IsLoopback(u.Hostname())
	cfg.OAuthClientID = r.clientID
	switch {
	case r.oauth == "yes" || r.clientID != "":
		cfg.Kind, cfg.OAuth = app.KindRemote, true
		return nil
	case r.oauth == "no" && local:
		cfg.Kind = app.KindHTTP
		return nil
	case r.oauth == "no":
		cfg.Kind = app.KindRemote
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p, err := a.ProbeRemote(pctx, cfg.URL)
	switch {
	case err != nil && local && !errors.Is(err, app.ErrRemoteDiscovery):
		// A local server that is not running now: add it as before.
		fmt.Fprintf(c.stdout, "Could not ask %s whether it signs in (%v); adding it as a local server without sign-in (use --oauth yes if it has one).\n", cfg.URL, err)
		cfg.Kind = app.KindHTTP
		return nil
	case err != nil:
		return fmt.Errorf("%w (add --oauth yes or no to add it without asking)", err)
	case p.NeedsOAuth:
		cfg.Kind, cfg.OAuth = app.KindRemote, true
		how := "MCP Share registers itself there"
		switch {
		case p.ClientMetadata:
			how = "MCP Share signs in by its client metadata document while it shares on a fixed https public URL, else registers itself there"
			if !p.Registration {
				how = "MCP Share signs in by its client metadata document, served while it shares on a fixed https public URL (a custom one or a reserved ngrok domain); or register MCP Share there and add --oauth-client-id"
			}
		case !p.Registration:
			how = "it does not register clients by itself: register MCP Share there and add --oauth-client-id"
		}
		fmt.Fprintf(c.stdout, "%s signs in with OAuth at %s (%s).\n", cfg.URL, p.Issuer, how)
	case local:
		cfg.Kind = app.KindHTTP
	default:
		cfg.Kind = app.KindRemote
		fmt.Fprintf(c.stdout, "%s answers without a sign-in: anyone who reaches it can use it, and so can everyone you share it with.\n", cfg.URL)
	}
	return nil
}

// addedRemote stores a pasted client's secret and says how to sign in.
func (c *cli) addedRemote(ctx context.Context, a *app.App, cfg app.ServerConfig, r remoteFlags) error {
	if !cfg.OAuth {
		return nil
	}
	if r.secret != "" {
		if err := a.SetOAuthClientSecret(ctx, cfg.Name, r.secret); err != nil {
			return err
		}
	}
	if cfg.OAuthClientID != "" {
		port := "8765"
		if _, p, err := net.SplitHostPort(a.Settings().Addr); err == nil && p != "0" {
			port = p
		}
		fmt.Fprintf(c.stdout, "The client %s must allow the redirect URI http://127.0.0.1:%s%s.\n", cfg.OAuthClientID, port, app.CallbackPath)
	}
	fmt.Fprintf(c.stdout, "Sign in to it with `mcpshare server login %s` (or from the window).\n", cfg.Name)
	return nil
}

// signInColumn returns the SIGN-IN column of `server list` by name.
func (c *cli) signInColumn(ctx context.Context, a *app.App) func(name string) string {
	sis, err := a.RemoteSignIns(ctx)
	if err != nil {
		fmt.Fprintf(c.stderr, "mcpshare: %v\n", err)
	}
	by := map[string]string{}
	for _, si := range sis {
		switch {
		case si.Needed != "":
			by[si.Server] = "needed: " + si.Needed
		default:
			by[si.Server] = "signed in"
		}
	}
	return func(name string) string {
		if v, ok := by[name]; ok {
			return v
		}
		return "-"
	}
}

// serverLogin runs `server login NAME` and `server logout NAME`.
func (c *cli) serverLogin(args []string) int {
	var co common
	var noBrowser bool
	var addr string
	fs := c.flags("server "+args[0], &co)
	if args[0] == "login" {
		fs.BoolVar(&noBrowser, "no-browser", false, "print the sign-in address only; do not open a browser")
		fs.StringVar(&addr, "addr", "", "local address the browser comes back to (default: the configured one; a client MCP Share registered itself takes any free port when it is taken)")
	}
	pos, _, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("usage: mcpshare server %s NAME", args[0])
	}
	name := pos[0]
	a, err := c.openQuiet(&co, app.Options{Addr: addr})
	if errors.Is(err, app.ErrAlreadyRunning) {
		return c.fail(fmt.Errorf("%w: sign in from its window (Servers, Sign in), or stop it and run this again", err))
	}
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	if args[0] == "logout" {
		ctx, cancel := context.WithTimeout(context.Background(), secretTimeout)
		defer cancel()
		if err := a.SignOut(ctx, name); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "Forgot every token of server %q.\n", name)
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(c.stdout, "Signing in to server %q.\n", name)
	res, err := a.SignIn(ctx, name, func(authURL string) error {
		fmt.Fprintf(c.stdout, "Open this address in a browser on this computer:\n\n  %s\n\nWaiting for the browser to come back (up to %s)…\n", authURL, app.SignInTimeout)
		if !noBrowser {
			if err := openBrowser(authURL); err != nil {
				fmt.Fprintf(c.stdout, "(Could not open a browser: %v.)\n", err)
			}
		}
		return nil
	})
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stdout, "Signed in to server %q (%s): %d tools", name, res.Server, len(res.Tools))
	if len(res.Tools) > 0 {
		shown := res.Tools
		if len(shown) > 8 {
			shown = append(shown[:8:8], "…")
		}
		fmt.Fprintf(c.stdout, " (%s)", strings.Join(shown, ", "))
	}
	fmt.Fprintln(c.stdout, ".")
	return exitOK
}

// openBrowser opens u in the desktop's browser; MCPSHARE_BROWSER names
// another program to open it with.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch b := os.Getenv("MCPSHARE_BROWSER"); {
	case b != "":
		cmd = exec.Command(b, u)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", u)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no desktop session")
		}
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// promptSignIns tells the terminal, once each time it happens, that a
// remote server waits for the owner's sign-in.
func (c *cli) promptSignIns(a *app.App) (cancel func()) {
	var mu sync.Mutex
	told := map[string]bool{}
	check := func() {
		needed := a.SignInsNeeded()
		mu.Lock()
		defer mu.Unlock()
		for name := range told {
			if !slices.Contains(needed, name) {
				delete(told, name) // signed in again: a later need is news
			}
		}
		for _, name := range needed {
			if told[name] {
				continue
			}
			told[name] = true
			fmt.Fprintf(c.stderr, "mcpshare: server %q needs you to sign in to it: open the window (Servers, Sign in), or stop serve and run `mcpshare server login %s`.\n", name, name)
		}
	}
	ctx, stop := context.WithTimeout(context.Background(), secretTimeout)
	a.RemoteSignIns(ctx) // learn which servers nobody signed in to yet
	stop()
	check()
	return a.Subscribe(func(ev app.Event) {
		if ev.Kind == app.EventWarning || ev.Kind == app.EventServers {
			check()
		}
	})
}
