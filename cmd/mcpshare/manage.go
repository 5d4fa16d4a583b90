package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// parseArgs parses flags that may stand before, between or after positional
// arguments (the flag package stops at the first positional one). Everything
// after "--" is returned as rest, unparsed.
func parseArgs(fs *flag.FlagSet, args []string) (positional, rest []string, code int, ok bool) {
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if code, ok := parse(fs, args); !ok {
			return nil, nil, code, false
		}
		if fs.NArg() == 0 {
			return positional, rest, 0, true
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (c *cli) usageErr(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "mcpshare: "+format+"\n", args...)
	return exitUsage
}

func (c *cli) user(args []string) int {
	if len(args) == 0 {
		return c.usageErr("user: say add, list, remove, passwd or unblock")
	}
	var co common
	var pwStdin bool
	fs := c.flags("user "+args[0], &co)
	fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	pos, _, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	want := map[string]int{"add": 1, "list": 0, "remove": 1, "passwd": 1, "unblock": 1}
	n, known := want[args[0]]
	if !known {
		return c.usageErr("user: unknown subcommand %q (add, list, remove, passwd, unblock)", args[0])
	}
	if len(pos) != n {
		return c.usageErr("user %s takes %d argument(s)", args[0], n)
	}
	a, err := c.open(&co, app.Options{})
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	auth := a.Auth()
	switch args[0] {
	case "list":
		users, err := auth.Users()
		if err != nil {
			return c.fail(err)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\n", u.Name, u.Created.Format(time.DateTime))
		}
		tw.Flush()
	case "unblock":
		return c.unblock(auth, pos[0])
	case "remove":
		if err := a.RemoveUser(pos[0]); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "Removed user %q and revoked their sign-ins.\n", pos[0])
	case "add", "passwd":
		pw, generated, err := c.password(pwStdin)
		if err != nil {
			return c.fail(err)
		}
		if args[0] == "add" {
			err = auth.AddUser(pos[0], pw)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), secretTimeout)
			err = a.SetPassword(ctx, pos[0], pw) // also forgets a generated first password
			cancel()
		}
		if err != nil {
			return c.fail(err)
		}
		verb := "Added user"
		if args[0] == "passwd" {
			verb = "Changed the password of"
		}
		fmt.Fprintf(c.stdout, "%s %q.\n", verb, pos[0])
		if generated {
			fmt.Fprintf(c.stdout, "Password: %s\n(shown only this once)\n", pw)
		}
	}
	return exitOK
}

// unblock shows a user's failed sign-ins and clears them, so that the next sign-in from any
// address is checked at once.
func (c *cli) unblock(auth *oauthserver.Server, user string) int {
	all, err := auth.FailedSignIns()
	if err != nil {
		return c.fail(err)
	}
	if err := auth.Unblock(user, ""); err != nil {
		return c.fail(err)
	}
	var mine []oauthserver.FailedSignIn
	for _, f := range all {
		if f.User == user {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		fmt.Fprintf(c.stdout, "No failed sign-ins of %q to clear.\n", user)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tFAILED\tLAST\tBLOCKED UNTIL")
	for _, f := range mine {
		from, until := f.Address, "-"
		if from == "" {
			from = "(addresses where they never signed in)"
		}
		if !f.BlockedUntil.IsZero() {
			until = f.BlockedUntil.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", from, f.Failures, f.Last.Local().Format(time.DateTime), until)
	}
	tw.Flush()
	fmt.Fprintf(c.stdout, "Cleared: %q can sign in again from every address.\n", user)
	return exitOK
}

// password reads one from stdin, or generates one.
func (c *cli) password(fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		return generatePassword(), true, nil
	}
	c.promptIfTerminal("Password (at least 8 characters, shown as you type): ")
	sc := bufio.NewScanner(c.stdin)
	if !sc.Scan() {
		return "", false, errors.New("no password on standard input")
	}
	pw = strings.TrimRight(sc.Text(), "\r")
	if len(pw) < 8 {
		return "", false, errors.New("the password must have at least 8 characters")
	}
	return pw, false, nil
}

// generatePassword makes a readable random password: 4 groups of 5 characters
// from an alphabet without look-alikes (about 98 bits).
func generatePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	groups := make([]string, 4)
	for i := range groups {
		b := make([]byte, 5)
		rand.Read(b)
		for j := range b {
			b[j] = alphabet[int(b[j])%len(alphabet)]
		}
		groups[i] = string(b)
	}
	return strings.Join(groups, "-")
}

func (c *cli) client(args []string) int {
	if len(args) == 0 {
		return c.usageErr("client: say list or revoke")
	}
	var co common
	fs := c.flags("client "+args[0], &co)
	pos, _, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	switch {
	case args[0] == "list" && len(pos) == 0, args[0] == "revoke" && len(pos) == 1:
	default:
		return c.usageErr("usage: mcpshare client list | mcpshare client revoke ID")
	}
	a, err := c.open(&co, app.Options{})
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	if args[0] == "revoke" {
		if err := a.RevokeClient(pos[0]); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "Revoked client %s and every token it held.\n", pos[0])
		return exitOK
	}
	clients, err := a.Auth().Clients()
	if err != nil {
		return c.fail(err)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tAUTH\tCREATED\tLAST USED")
	for _, cl := range clients {
		name := cl.Name
		if cl.Preregistered {
			name += " (pre-registered)"
		}
		last := "never"
		if !cl.LastUsed.IsZero() {
			last = cl.LastUsed.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cl.ID, name, cl.AuthMethod, cl.Created.Format(time.DateTime), last)
	}
	tw.Flush()
	return exitOK
}

func (c *cli) server(args []string) int {
	if len(args) == 0 {
		return c.usageErr("server: say add, list, remove, enable, disable, access, tools, login or logout")
	}
	if args[0] == "access" || args[0] == "tools" {
		return c.serverRules(args)
	}
	if args[0] == "login" || args[0] == "logout" {
		return c.serverLogin(args)
	}
	var co common
	var ro remoteFlags
	var env, secretEnv multiFlag
	var cwd, url, isolation string
	fs := c.flags("server "+args[0], &co)
	if args[0] == "add" {
		fs.Var(&env, "env", "environment variable K=V for the command (repeatable)")
		fs.Var(&secretEnv, "secret-env", "environment variable K=V whose value is kept in the keychain (repeatable)")
		fs.StringVar(&cwd, "cwd", "", "working directory of the command")
		fs.StringVar(&url, "url", "", "URL of a Streamable HTTP MCP server (local, or https anywhere), instead of a command")
		ro.register(fs)
		fs.StringVar(&isolation, "isolation", app.IsolationUser, "user: one instance per user, shared by all their sessions; session: one per MCP session (for servers that keep per-conversation state)")
	}
	pos, rest, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	switch args[0] {
	case "list":
		if len(pos) != 0 {
			return c.usageErr("usage: mcpshare server list")
		}
	case "add":
		if len(pos) != 1 || (url == "") == (len(rest) == 0) {
			return c.usageErr("usage: mcpshare server add NAME [--env K=V]... [--secret-env K=V]... [--cwd DIR] [--isolation user|session] -- COMMAND ARGS...\n   or: mcpshare server add NAME --url URL [--oauth auto|yes|no] [--oauth-client-id ID [--oauth-client-secret-stdin]]")
		}
	case "remove", "enable", "disable":
		if len(pos) != 1 {
			return c.usageErr("usage: mcpshare server %s NAME", args[0])
		}
	default:
		return c.usageErr("server: unknown subcommand %q (add, list, remove, enable, disable)", args[0])
	}
	if args[0] == "add" && url != "" {
		if code, ok := ro.readSecret(c); !ok {
			return code
		}
	}
	a, err := c.open(&co, app.Options{})
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch args[0] {
	case "list":
		servers, err := a.Servers()
		if err != nil {
			return c.fail(err)
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		signIns := c.signInColumn(ctx, a)
		fmt.Fprintln(tw, "NAME\tKIND\tENABLED\tTARGET\tSIGN-IN")
		for _, s := range servers {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", s.Config.Name, s.Config.Kind, s.Config.Enabled, target(s.Config), signIns(s.Config.Name))
		}
		tw.Flush()
	case "add":
		cfg := app.ServerConfig{Name: pos[0], Enabled: true, Isolation: isolation}
		if url != "" {
			cfg.URL = url
			if err := c.settleURL(ctx, a, &cfg, ro); err != nil {
				return c.fail(err)
			}
		} else {
			cfg.Kind, cfg.Command, cfg.Args = app.KindStdio, rest[0], rest[1:]
		}
		if cwd != "" {
			cfg.Dir = absPath(cwd)
		}
		var secrets map[string]string
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return c.usageErr("--env %q: use K=V", kv)
			}
			if cfg.Env == nil {
				cfg.Env = map[string]string{}
			}
			cfg.Env[k] = v
		}
		for _, kv := range secretEnv {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return c.usageErr("--secret-env %q: use K=V", kv)
			}
			if secrets == nil {
				secrets = map[string]string{}
			}
			secrets[k] = v
			cfg.SecretEnv = append(cfg.SecretEnv, k)
		}
		if err := a.AddServer(ctx, cfg, secrets); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "Added server %q: shared at /mcp/%s.\n", cfg.Name, cfg.Name)
		if err := c.addedRemote(ctx, a, cfg, ro); err != nil {
			return c.fail(err)
		}
	case "remove":
		if err := a.RemoveServer(ctx, pos[0]); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "Removed server %q.\n", pos[0])
	case "enable", "disable":
		if err := a.SetServerEnabled(pos[0], args[0] == "enable"); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "Server %q %sd.\n", pos[0], args[0])
	}
	return exitOK
}

func target(c app.ServerConfig) string {
	switch c.Kind {
	case app.KindBuiltin:
		return c.Root
	case app.KindHTTP, app.KindRemote:
		return c.URL
	default:
		return strings.Join(append([]string{c.Command}, c.Args...), " ")
	}
}

func (c *cli) importFile(args []string) int {
	var co common
	fs := c.flags("import", &co)
	pos, _, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "usage: mcpshare import FILE")
		fmt.Fprintln(c.stderr, "Usual places:")
		for _, p := range app.ImportCandidates() {
			fmt.Fprintf(c.stderr, "  %s\n", p)
		}
		return exitUsage
	}
	a, err := c.open(&co, app.Options{})
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := a.Import(ctx, pos[0])
	if err != nil {
		return c.fail(err)
	}
	for _, n := range rep.Imported {
		fmt.Fprintf(c.stdout, "imported  %s\n", n)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(c.stdout, "skipped   %s: %s\n", s.Name, s.Reason)
	}
	fmt.Fprintf(c.stdout, "%d imported, %d skipped.\n", len(rep.Imported), len(rep.Skipped))
	for _, n := range rep.SignIn {
		fmt.Fprintf(c.stdout, "Server %q signs in with OAuth: sign in with `mcpshare server login %s`.\n", n, n)
	}
	return exitOK
}

func (c *cli) ngrok(args []string) int {
	if len(args) == 0 || args[0] != "set-token" {
		return c.usageErr("usage: mcpshare ngrok set-token < token.txt   (reads the authtoken from standard input)")
	}
	var co common
	fs := c.flags("ngrok set-token", &co)
	pos, _, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return c.usageErr("ngrok set-token reads the token from standard input, not from the command line (it would stay in your shell history)")
	}
	c.promptIfTerminal("Paste your ngrok authtoken and press Enter: ")
	sc := bufio.NewScanner(c.stdin)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) == "" {
		return c.fail(errors.New("no token on standard input; copy it from https://dashboard.ngrok.com/get-started/your-authtoken"))
	}
	a, err := c.open(&co, app.Options{})
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.SetNgrokToken(ctx, strings.TrimSpace(sc.Text())); err != nil {
		return c.fail(err)
	}
	fmt.Fprintln(c.stdout, "Stored the ngrok authtoken. Share with: mcpshare serve --tunnel ngrok [--ngrok-domain NAME.ngrok.app]")
	return exitOK
}

// promptIfTerminal asks for input when a person is typing it; piped input
// gets no prompt.
func (c *cli) promptIfTerminal(prompt string) {
	if f, ok := c.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(c.stderr, prompt)
	}
}
