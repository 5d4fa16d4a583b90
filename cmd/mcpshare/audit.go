package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/audit"
)

// followPoll is how often `audit --follow` looks for new lines.
const followPoll = 250 * time.Millisecond

// audit runs `mcpshare audit [--follow] [-n N] [--user U] [--server S]
// [--outcome O] [--event E] [--json]`. It reads the files of the config
// directory and never opens its database, so it works while the app runs.
func (c *cli) audit(args []string) int {
	var co common
	var follow, asJSON bool
	var last int
	var f audit.Filter
	fs := c.flags("audit", &co)
	fs.BoolVar(&follow, "follow", false, "keep printing entries as they are written, until Ctrl+C")
	fs.IntVar(&last, "n", 50, "print the newest N entries first (0: all of them)")
	fs.StringVar(&f.User, "user", "", "only the entries of this user")
	fs.StringVar(&f.Server, "server", "", "only the entries of this server")
	fs.StringVar(&f.Outcome, "outcome", "", "only this outcome: ok, error, denied, hidden (sign-ins: approved, denied, expired)")
	fs.StringVar(&f.Event, "event", "", "only this event: tools/call, prompts/get, resources/read, signin, approval")
	fs.BoolVar(&asJSON, "json", false, "print the entries as the log holds them (JSON Lines)")
	pos, _, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return c.usageErr("usage: mcpshare audit [--follow] [-n N] [--user U] [--server S] [--outcome O] [--event E] [--json]")
	}
	print := func(e audit.Entry) {
		if asJSON {
			b, _ := json.Marshal(e)
			fmt.Fprintf(c.stdout, "%s\n", b)
			return
		}
		fmt.Fprintln(c.stdout, auditLine(e))
	}
	if !follow {
		limit := last
		entries, err := audit.Read(co.configDir, f, limit)
		if err != nil {
			return c.fail(err)
		}
		if len(entries) == 0 && !asJSON {
			fmt.Fprintf(c.stderr, "No entries in %s.\n", audit.FileName)
		}
		for _, e := range entries {
			print(e)
		}
		return exitOK
	}
	if last == 0 {
		last = -1 // all of them
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := audit.Follow(ctx, co.configDir, f, last, followPoll, print); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// auditLine is one entry for people: when, who through what, where, what,
// the outcome and how long it took.
func auditLine(e audit.Entry) string {
	who := e.User
	if e.ClientName != "" {
		who += " via " + e.ClientName
	}
	what := e.Event
	if e.Name != "" {
		what += " " + e.Name
	}
	line := fmt.Sprintf("%s  %-28s  %-12s  %-40s  %-8s", e.Time.Local().Format(time.DateTime), who, e.Server, what, e.Outcome)
	if e.DurationMS > 0 {
		line += fmt.Sprintf("  %.1fms", e.DurationMS)
	}
	switch {
	case len(e.Args) > 0:
		line += "  args " + string(e.Args)
	case e.ArgsStart != "":
		line += fmt.Sprintf("  args (cut, %d bytes) %s…", e.ArgsBytes, e.ArgsStart)
	case len(e.ArgsHMAC) >= 12:
		line += "  args hmac:" + e.ArgsHMAC[:12]
	case len(e.ArgsSHA256) >= 12:
		line += "  args sha256:" + e.ArgsSHA256[:12]
	}
	if e.Address != "" {
		line += "  from " + e.Address
	}
	if e.Detail != "" {
		line += "  (" + e.Detail + ")"
	}
	return app.Printable(line)
}
