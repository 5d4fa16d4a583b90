package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/oauthserver"
)

// serverRules runs `mcpshare server access NAME --users a,b|all` and
// `mcpshare server tools NAME [--allow T] [--ask T] [--hide T] [--reset T]
// [--ask-before-changes on|off] [--audit-arguments on|off]`.
func (c *cli) serverRules(args []string) int {
	sub := args[0]
	var co common
	var users, askBefore, auditArgs string
	var allow, ask, hide, reset multiFlag
	fs := c.flags("server "+sub, &co)
	if sub == "access" {
		fs.StringVar(&users, "users", "", "who may use the server: user names separated by commas, or all")
	} else {
		fs.Var(&allow, "allow", "let clients call tool T without asking (repeatable; prompt:NAME or resource:URI for those)")
		fs.Var(&ask, "ask", "make each call of tool T wait for your approval (repeatable)")
		fs.Var(&hide, "hide", "hide tool T from clients and refuse its calls (repeatable)")
		fs.Var(&reset, "reset", "give T its default state again (repeatable)")
		fs.StringVar(&askBefore, "ask-before-changes", "", "on: every tool not annotated readOnlyHint: true asks by default; off: none does")
		fs.StringVar(&auditArgs, "audit-arguments", "", "on: the audit log keeps calls' arguments (up to 4 KiB each) beside their digest; off: only their HMAC-SHA256 digest (the default)")
	}
	pos, _, code, ok := parseArgs(fs, args[1:])
	if !ok {
		return code
	}
	if len(pos) != 1 || sub == "access" && users == "" {
		if sub == "access" {
			return c.usageErr("usage: mcpshare server access NAME --users alice,bob | --users all")
		}
		return c.usageErr("usage: mcpshare server tools NAME [--allow T] [--ask T] [--hide T] [--reset T] [--ask-before-changes on|off] [--audit-arguments on|off]")
	}
	onOff := map[string]bool{"on": true, "off": false, "true": true, "false": false, "yes": true, "no": false}
	for flag, v := range map[string]string{"--ask-before-changes": askBefore, "--audit-arguments": auditArgs} {
		if _, known := onOff[v]; v != "" && !known {
			return c.usageErr("%s %q: say on or off", flag, v)
		}
	}
	a, err := c.open(&co, app.Options{})
	if err != nil {
		return c.fail(err)
	}
	defer a.Close()
	cfg, err := serverConfig(a, pos[0])
	if err != nil {
		return c.fail(err)
	}
	r := cfg.Rules()
	if sub == "access" {
		r.Users = nil
		if users != "all" {
			known, err := a.Auth().Users()
			if err != nil {
				return c.fail(err)
			}
			for _, u := range strings.Split(users, ",") {
				u = strings.TrimSpace(u)
				if u == "" {
					continue
				}
				if !slices.ContainsFunc(known, func(k oauthserver.User) bool { return k.Name == u }) {
					fmt.Fprintf(c.stderr, "mcpshare: note: there is no user %q yet (add one with `mcpshare user add %s`)\n", u, u)
				}
				r.Users = append(r.Users, u)
			}
			if len(r.Users) == 0 {
				return c.usageErr("--users names nobody; to share the server with nobody, disable it: mcpshare server disable %s", pos[0])
			}
		}
		if err := a.SetServerRules(pos[0], r); err != nil {
			return c.fail(err)
		}
		if len(r.Users) == 0 {
			fmt.Fprintf(c.stdout, "Every user may use %q.\n", pos[0])
		} else {
			fmt.Fprintf(c.stdout, "Only %s may use %q.\n", strings.Join(r.Users, ", "), pos[0])
		}
		return exitOK
	}

	changed := false
	for state, names := range map[string][]string{app.AccessAllowed: allow, app.AccessAsk: ask, app.AccessHidden: hide, "": reset} {
		for _, n := range names {
			setState(&r, n, state)
			changed = true
		}
	}
	if askBefore != "" {
		r.AskBeforeChanges, changed = onOff[askBefore], true
	}
	if auditArgs != "" {
		r.AuditArguments, changed = onOff[auditArgs], true
	}
	if changed {
		if err := a.SetServerRules(pos[0], r); err != nil {
			return c.fail(err)
		}
		if cfg, err = serverConfig(a, pos[0]); err != nil {
			return c.fail(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	entries, listErr := a.ServerEntries(ctx, pos[0])
	c.printRules(a, cfg, entries, listErr)
	return exitOK
}

// setState sets (or with "" resets) the state of a tool, "prompt:NAME" or
// "resource:URI".
func setState(r *app.Rules, name, state string) {
	m := &r.Tools
	switch {
	case strings.HasPrefix(name, "prompt:"):
		m, name = &r.Prompts, strings.TrimPrefix(name, "prompt:")
	case strings.HasPrefix(name, "resource:"):
		m, name = &r.Resources, strings.TrimPrefix(name, "resource:")
	}
	if state == "" {
		delete(*m, name)
		return
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[name] = state
}

func serverConfig(a *app.App, name string) (app.ServerConfig, error) {
	list, err := a.Servers()
	if err != nil {
		return app.ServerConfig{}, err
	}
	for _, s := range list {
		if s.Config.Name == name {
			return s.Config, nil
		}
	}
	return app.ServerConfig{}, fmt.Errorf("%w: %q", app.ErrServerNotFound, name)
}

// printRules lists what the server offers with the state of each, then
// states set for names it did not list, and the remembered approvals.
func (c *cli) printRules(a *app.App, cfg app.ServerConfig, entries []app.Entry, listErr error) {
	w := c.stdout
	users := "every user"
	if len(cfg.Users) > 0 {
		users = strings.Join(cfg.Users, ", ")
	}
	fmt.Fprintf(w, "Server %q: used by %s; ask before changes %s; arguments (up to 4 KiB) in the audit log %s.\n\n",
		cfg.Name, users, onOffWord(cfg.AskBeforeChanges), onOffWord(cfg.AuditArguments))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tSTATE\t")
	seen := map[string]bool{}
	for _, e := range entries {
		st, explicit := cfg.StateOf(e)
		note := ""
		switch {
		case explicit:
			note = "(set)"
		case st == app.AccessAsk:
			note = "(not read-only)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Kind, app.Printable(e.Name), st, note)
		seen[e.Kind+"\x00"+e.Name] = true
	}
	for kind, states := range map[string]map[string]string{app.EntryTool: cfg.Tools, app.EntryPrompt: cfg.Prompts, app.EntryResource: cfg.Resources} {
		names := make([]string, 0, len(states))
		for n := range states {
			if !seen[kind+"\x00"+n] {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\t(set; not offered now)\n", kind, app.Printable(n), states[n])
		}
	}
	tw.Flush()
	if listErr != nil {
		fmt.Fprintf(w, "\nThe server could not be started to list what it offers: %v\n", listErr)
	}
	if rem, err := a.RememberedCalls(); err == nil {
		for _, r := range rem {
			if r.Server == cfg.Name {
				fmt.Fprintf(w, "Always allowed: %s for %s through %s (%s) since %s\n", app.Printable(r.Tool), r.User, app.Printable(r.ClientName), r.ClientID, r.Since.Format(time.DateTime))
			}
		}
	}
}

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
