package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/oauthserver"
	"github.com/mcpshare/mcpshare/tunnel"
)

// shareFlags are the flags of `serve` that the GUI accepts too.
type shareFlags struct {
	common
	addr, approval, tunnel, publicURL, ngrokDomain, readyFile, folder string
	trustForwardedFor                                                 bool
	callTimeout                                                       time.Duration
}

func (c *cli) shareFlagSet(name string, sf *shareFlags) *flag.FlagSet {
	fs := c.flags(name, &sf.common)
	fs.StringVar(&sf.addr, "addr", "", "local address to listen on (default from settings, "+app.DefaultAddr+")")
	fs.StringVar(&sf.approval, "approval", "", "sign-in approval: ask, once (ask once per client) or password (default from settings, ask)")
	fs.StringVar(&sf.tunnel, "tunnel", "", "public URL: none, ngrok or custom (default from settings, none)")
	fs.StringVar(&sf.publicURL, "public-url", "", "public origin of your own reverse proxy (with --tunnel custom)")
	fs.StringVar(&sf.ngrokDomain, "ngrok-domain", "", "reserved ngrok domain, e.g. my-name.ngrok.app (keeps the URL stable)")
	fs.StringVar(&sf.readyFile, "ready-file", "", "write the URLs and client credentials as JSON to this file once listening")
	fs.StringVar(&sf.folder, "folder", "", "folder the built-in server \"files\" shares from now on (default on first run: ~/MCP Share)")
	fs.BoolVar(&sf.trustForwardedFor, "trust-forwarded-for", false, "with --tunnel custom: take the visitor's address from the X-Forwarded-For your proxy appends (only if it is an HTTP proxy that sets it; a TCP tunnel passes forged ones through)")
	fs.DurationVar(&sf.callTimeout, "call-approval-timeout", app.DefaultCallApprovalTimeout, "how long a call that needs your approval waits for it before it fails")
	return fs
}

func (sf *shareFlags) options() app.Options {
	return app.Options{
		Addr: sf.addr, Approval: sf.approval, Tunnel: sf.tunnel, PublicURL: sf.publicURL,
		NgrokDomain: sf.ngrokDomain, FilesRoot: sf.folder, TrustForwardedFor: sf.trustForwardedFor,
		CallApprovalTimeout: sf.callTimeout,
	}
}

// readyInfo is the --ready-file document.
type readyInfo struct {
	Issuer       string            `json:"issuer"`
	PublicOrigin string            `json:"public_origin,omitempty"`
	Servers      map[string]string `json:"servers"`
	ClientID     string            `json:"client_id"`
	ClientSecret string            `json:"client_secret"`
	// FirstUser and FirstPassword: the generated password nobody has seen
	// yet (the file is 0600, like the client secret in it).
	FirstUser     string `json:"first_user,omitempty"`
	FirstPassword string `json:"first_password,omitempty"`
}

func (c *cli) serve(args []string) int {
	var sf shareFlags
	fs := c.shareFlagSet("serve", &sf)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "mcpshare serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	askRefused := func(policy string) int {
		return c.fail(fmt.Errorf("%w: the %q approval policy needs someone to approve sign-ins, and standard input is not an interactive terminal to ask on; run with --approval password (the password alone signs in), or run the app with its window", app.ErrInvalidConfig, policy))
	}
	// Refused before the config directory is even opened (or created).
	if sf.approval != "" && sf.approval != app.ApprovalPassword && !isTerminal(c.stdin) {
		return askRefused(sf.approval)
	}
	a, err := c.openQuiet(&sf.common, sf.options())
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()

	if a.Settings().Approval != app.ApprovalPassword && !isTerminal(c.stdin) {
		a.Close()
		return askRefused(a.Settings().Approval)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tunnelDone := make(chan struct{})
	var once sync.Once
	cancel := a.Subscribe(func(ev app.Event) {
		if ev.Kind == app.EventTunnel {
			st := a.Status()
			if st.Tunnel == tunnel.StateOnline || st.Tunnel == tunnel.StateFailed {
				once.Do(func() { close(tunnelDone) })
			}
		}
	})
	defer cancel()
	defer c.promptSignIns(a)() // remote servers that wait for the owner's sign-in

	// Ctrl+C or SIGTERM while starting is a normal stop, not a failure.
	stopped := func() int {
		fmt.Fprintln(c.stderr, "mcpshare: stopped while starting")
		if err := a.Close(); err != nil {
			fmt.Fprintf(c.stderr, "mcpshare: while stopping: %v\n", err)
		}
		return exitOK
	}
	if err := a.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		return c.fail(err)
	}
	if a.Settings().Tunnel != app.TunnelNone {
		select {
		case <-tunnelDone:
		case <-ctx.Done():
		case <-time.After(40 * time.Second):
		}
	}
	if ctx.Err() != nil {
		return stopped()
	}
	info, err := a.ConnectInfo(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		return c.fail(err)
	}
	c.printConnect(a, info, approveOnTerminal)
	if sf.readyFile != "" {
		if err := writeReady(sf.readyFile, a, info); err != nil {
			return c.fail(err)
		}
	}
	if a.Settings().Approval != app.ApprovalPassword {
		// The terminal answers the calls that wait for approval too.
		detach := a.AttachApprover()
		defer detach()
		go c.approveOnTerminal(ctx, a)
	}
	<-ctx.Done()
	stop()
	fmt.Fprintln(c.stderr, "mcpshare: stopping: finishing requests and ending sessions")
	if err := a.Close(); err != nil {
		fmt.Fprintf(c.stderr, "mcpshare: while stopping: %v\n", err)
	}
	return exitOK
}

// approveOnTerminal is where serve approves sign-ins, for printConnect.
const approveOnTerminal = "here on the terminal"

// printConnect tells people the URLs and credentials to paste, and where
// sign-ins are approved.
func (c *cli) printConnect(a *app.App, info app.ConnectInfo, approveWhere string) {
	st := a.Status()
	w := c.stdout
	fmt.Fprintf(w, "MCP Share is sharing on %s\n", st.LocalOrigin)
	if st.PublicOrigin != "" {
		fmt.Fprintf(w, "Public URL: %s\n", st.PublicOrigin)
	} else if st.Err != nil {
		fmt.Fprintf(w, "No public URL: %v\n", st.Err)
	}
	fmt.Fprintln(w)
	names := make([]string, 0, len(info.Servers))
	for n := range info.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		fmt.Fprintf(w, "  MCP URL (all servers): %s\n", info.AllServersURL)
	}
	for _, n := range names {
		fmt.Fprintf(w, "  MCP URL (%s): %s\n", n, info.Servers[n])
	}
	if len(names) == 0 {
		fmt.Fprintln(w, "  No server is enabled: add one with `mcpshare server add` or enable one.")
	}
	fmt.Fprintf(w, "  Issuer:         %s\n", info.Issuer)
	fmt.Fprintf(w, "  Client ID:      %s\n", info.ClientID)
	// Output that is not a terminal tends to end up in log files.
	if isTerminal(w) {
		fmt.Fprintf(w, "  Client Secret:  %s\n\n", info.ClientSecret)
	} else {
		fmt.Fprintf(w, "  Client Secret:  (not printed into a log; run in a terminal, use --ready-file, or see the window's Connect ChatGPT card)\n\n")
	}
	// The GUI's welcome page decides when the password was seen.
	c.firstPassword(a, approveWhere == approveOnTerminal)
	if !info.Public {
		fmt.Fprintln(w, "These URLs work on this computer only. For ChatGPT or claude.ai, add a public URL: an ngrok authtoken in the window's Settings (or --tunnel ngrok after `mcpshare ngrok set-token`), or --tunnel custom --public-url URL.")
	}
	switch a.Settings().Approval {
	case app.ApprovalPassword:
		fmt.Fprintln(w, "Sign-ins need the user's password only (--approval password).")
	case app.ApprovalOnce:
		fmt.Fprintf(w, "The first sign-in of each client waits for your approval %s.\n", approveWhere)
	default:
		fmt.Fprintf(w, "Each sign-in waits for your approval %s.\n", approveWhere)
	}
	if a.Settings().Approval != app.ApprovalPassword {
		fmt.Fprintf(w, "Calls of tools you set to ask wait for your approval %s too.\n", approveWhere)
	}
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}

func writeReady(path string, a *app.App, info app.ConnectInfo) error {
	doc := readyInfo{
		Issuer: info.Issuer, Servers: info.Servers,
		ClientID: info.ClientID, ClientSecret: info.ClientSecret,
	}
	doc.FirstUser, doc.FirstPassword = a.FirstRunCredentials()
	if info.Public {
		doc.PublicOrigin = info.Origin
		// The local URLs are what a process on this computer uses.
		local := a.Status().LocalOrigin
		doc.Issuer = local
		for n := range doc.Servers {
			doc.Servers[n] = local + "/mcp/" + n
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	// A fresh temporary name, created with O_EXCL and mode 0600: whatever already lies next
	// to the ready file (a stale temporary file, or a symlink someone planted) can decide
	// neither the mode of the secret-bearing file nor where it is written.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write ready file: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write ready file: %w", werr)
	}
	return nil
}

// question is one sign-in or call waiting for an answer on the terminal.
type question struct {
	id      string
	text    string                   // the question, with its prompt
	waiting func() bool              // still waiting for an answer
	answer  func(line string) string // records the answer typed, says what it did
}

// approveOnTerminal asks on the terminal about each new pending sign-in and
// each call waiting for approval, one at a time, oldest first. A question
// answered elsewhere or timed out meanwhile is said to be so, and the next
// one is asked.
func (c *cli) approveOnTerminal(ctx context.Context, a *app.App) {
	wake := make(chan struct{}, 1)
	cancel := a.Subscribe(func(ev app.Event) {
		if ev.Kind == app.EventSignIn || ev.Kind == app.EventCalls {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(c.stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	asked := map[string]bool{}
	for {
		q := nextQuestion(a, asked)
		if q == nil {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			continue
		}
		asked[q.id] = true
		// A line typed while no question was shown must not answer this one.
	drain:
		for {
			select {
			case _, ok := <-lines:
				if !ok {
					return
				}
			default:
				break drain
			}
		}
		fmt.Fprint(c.stdout, q.text)
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
				if !q.waiting() {
					fmt.Fprintln(c.stdout, "\n(That one is no longer waiting: it was answered elsewhere or timed out.)")
					break wait
				}
			case line, ok := <-lines:
				if !ok {
					return
				}
				fmt.Fprintln(c.stdout, q.answer(strings.TrimSpace(line)))
				break wait
			}
		}
	}
}

// nextQuestion is the oldest sign-in or call not asked yet, or nil.
func nextQuestion(a *app.App, asked map[string]bool) *question {
	var best *question
	var bestTime time.Time
	for _, si := range a.Auth().PendingSignIns() {
		if asked[si.ID] || best != nil && !si.Time.Before(bestTime) {
			continue
		}
		best, bestTime = signInQuestion(a, si), si.Time
	}
	for _, pc := range a.PendingCalls() {
		if asked[pc.ID] || best != nil && !pc.Time.Before(bestTime) {
			continue
		}
		best, bestTime = callQuestion(a, pc), pc.Time
	}
	return best
}

// signInText asks about a sign-in. Every field comes from oauthserver in
// its safe form (no control or bidi characters, xn-- hosts, "(unverified)"
// names); %q quotes the user name typed.
func signInText(si oauthserver.SignIn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nSign-in request: user %q through %s (returns to %s) to %s from %s at %s.\n",
		si.User, si.ClientName, si.RedirectHost, si.Resource, si.RemoteAddr, si.Time.Format(time.TimeOnly))
	for _, w := range si.Warnings {
		fmt.Fprintf(&b, "  Warning: %s\n", w)
	}
	b.WriteString("Approve? [y/N] ")
	return b.String()
}

func yes(line string) bool { return strings.EqualFold(line, "y") || strings.EqualFold(line, "yes") }

func signInQuestion(a *app.App, si oauthserver.SignIn) *question {
	return &question{
		id:   si.ID,
		text: signInText(si),
		waiting: func() bool {
			return slices.ContainsFunc(a.Auth().PendingSignIns(), func(p oauthserver.SignIn) bool { return p.ID == si.ID })
		},
		answer: func(line string) string {
			approve := yes(line)
			if err := a.Auth().Decide(si.ID, approve); err != nil {
				if errors.Is(err, oauthserver.ErrSignInNotFound) {
					return "That sign-in is no longer pending (it timed out or was answered)."
				}
				return fmt.Sprintf("Could not record the answer: %v", err)
			}
			if approve {
				return "Approved."
			}
			return "Denied."
		},
	}
}

func callQuestion(a *app.App, pc app.PendingCall) *question {
	always := ""
	if pc.CanRemember {
		always = " / [a]lways for this client"
	}
	args := "    " + strings.ReplaceAll(pc.Arguments, "\n", "\n    ")
	return &question{
		id: pc.ID,
		text: fmt.Sprintf("\nCall waiting for approval: user %q through %s wants %s %q of server %q, with arguments\n%s\nApprove? [y]es / [N]o%s (it fails unanswered at %s) ",
			pc.User, app.Printable(pc.ClientName), pc.Kind, app.Printable(pc.Name), pc.Server, args, always, pc.Expires.Format(time.TimeOnly)),
		waiting: func() bool {
			return slices.ContainsFunc(a.PendingCalls(), func(p app.PendingCall) bool { return p.ID == pc.ID })
		},
		answer: func(line string) string {
			d, said := app.CallDeny, "Denied."
			switch {
			case yes(line):
				d, said = app.CallApprove, "Approved."
			case pc.CanRemember && (strings.EqualFold(line, "a") || strings.EqualFold(line, "always")):
				d, said = app.CallAlways, "Approved, and always allowed from now on for this user and client."
			}
			if err := a.DecideCall(pc.ID, d, "terminal"); err != nil {
				if errors.Is(err, app.ErrCallNotFound) {
					return "That call is no longer waiting (it timed out or was answered)."
				}
				return fmt.Sprintf("Could not record the answer: %v", err)
			}
			return said
		},
	}
}

// absPath makes p absolute for messages and stored configs.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
