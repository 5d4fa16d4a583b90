package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/doctor"
)

// doctorCmd runs `mcpshare doctor [URL]`: the connection check of
// app/doctor against URL, or against the public URL the settings name.
func (c *cli) doctorCmd(args []string) int {
	var co common
	fs := c.flags("doctor", &co)
	pos, _, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return c.usageErr("usage: mcpshare doctor [URL]   (URL: the public MCP URL, e.g. https://NAME.ngrok.app/mcp)")
	}
	target := ""
	if len(pos) == 1 {
		target = pos[0]
	} else {
		var err error
		if target, err = c.configuredURL(&co); err != nil {
			return c.fail(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(c.stdout, "Checking %s the way ChatGPT and Claude reach it:\n", target)
	rep := doctor.Check(ctx, doctor.Options{URL: target})
	printReport(c.stdout, rep)
	if !rep.OK() {
		return exitError
	}
	return exitOK
}

// configuredURL is the public all-servers URL of the settings: the custom
// public URL, or the reserved ngrok domain.
func (c *cli) configuredURL(co *common) (string, error) {
	if _, err := os.Stat(filepath.Join(co.configDir, app.DBFile)); err != nil {
		return "", fmt.Errorf("%w: no URL given, and no MCP Share configuration in %s; run mcpshare doctor URL", app.ErrInvalidConfig, co.configDir)
	}
	a, err := c.openQuiet(co, app.Options{})
	if errors.Is(err, app.ErrAlreadyRunning) {
		return "", fmt.Errorf("MCP Share is running on %s: give its public MCP URL (the Connect tab and serve's output show it), as in mcpshare doctor https://NAME.ngrok.app/mcp", co.configDir)
	}
	if err != nil {
		return "", err
	}
	defer a.Close()
	st := a.Settings()
	switch {
	case st.Tunnel == app.TunnelCustom && st.PublicURL != "":
		return st.PublicURL + "/mcp", nil
	case st.Tunnel == app.TunnelNgrok && st.NgrokDomain != "":
		return "https://" + st.NgrokDomain + "/mcp", nil
	}
	return "", fmt.Errorf("%w: the settings name no fixed public URL (a custom URL or a reserved ngrok domain); run mcpshare doctor URL with the URL sharing shows", app.ErrInvalidConfig)
}

// printReport writes one line a step, and the advice under a failure.
func printReport(w io.Writer, rep doctor.Report) {
	failed := 0
	var warned *doctor.Step
	for _, s := range rep.Steps {
		switch s.Status {
		case doctor.Passed:
			fmt.Fprintf(w, "  ok       %s: %s\n", s.Title, s.Detail)
		case doctor.Skipped:
			fmt.Fprintf(w, "  skipped  %s (%s)\n", s.Title, s.Detail)
		case doctor.Warned:
			warned = &s
			fmt.Fprintf(w, "  warning  %s: %s\n           -> %s\n", s.Title, s.Detail, s.Advice)
		default:
			failed++
			fmt.Fprintf(w, "  FAILED   %s: %s\n           -> %s\n", s.Title, s.Detail, s.Advice)
		}
	}
	switch {
	case failed == 0 && rep.OK() && warned != nil:
		fmt.Fprintln(w, "Every step works from this computer, but ChatGPT and Claude cannot reach "+rep.URL+".")
	case failed == 0 && rep.OK():
		fmt.Fprintln(w, "Every step is ok: ChatGPT and Claude can connect.")
	case failed == 1:
		fmt.Fprintln(w, "1 step failed.")
	default:
		fmt.Fprintf(w, "%d steps failed: fix the first one first, the others often follow from it.\n", failed)
	}
}
