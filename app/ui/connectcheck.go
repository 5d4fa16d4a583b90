package ui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/doctor"
)

// connectCheck is the Connect card's "Check connection": the doctor's walk
// of the public URL, as ChatGPT would make it, step by step in the card.
type connectCheck struct {
	u      *UI
	button *widget.Button
	box    *fyne.Container // the steps of the last check
}

func newConnectCheck(u *UI) *connectCheck {
	c := &connectCheck{u: u, box: container.NewVBox()}
	c.button = widget.NewButtonWithIcon("Check connection", theme.SearchIcon(), c.run)
	return c
}

// run checks the public URL in the background and shows the steps.
func (c *connectCheck) run() {
	c.button.Disable()
	var rep doctor.Report
	c.u.work("Checking the public URL the way ChatGPT reaches it…", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		var err error
		rep, err = c.u.core.CheckConnection(ctx, nil)
		return err
	}, func(err error) {
		c.button.Enable()
		c.show(rep, err)
	})
}

func (c *connectCheck) show(rep doctor.Report, err error) {
	c.box.RemoveAll()
	if errors.Is(err, app.ErrNoPublicURL) {
		c.box.Add(errorLabel("There is nothing to check yet: " + sentence(err.Error())))
		return
	}
	if err != nil {
		c.box.Add(errorLabel(Explain(err)))
		return
	}
	for _, line := range ReportLines(rep) {
		var l *widget.Label
		switch line.Status {
		case doctor.Failed:
			l = errorLabel(line.Text)
		case doctor.Warned:
			l = widget.NewLabel(line.Text)
			l.Wrapping = fyne.TextWrapWord
			l.Importance = widget.WarningImportance
		default:
			l = widget.NewLabel(line.Text)
			l.Wrapping = fyne.TextWrapWord
		}
		if line.Status == doctor.Skipped {
			l.Importance = widget.LowImportance
		}
		c.box.Add(l)
	}
}

// ReportLine is one line of a connection check as the window shows it.
type ReportLine struct {
	Status doctor.Status
	Text   string
}

// ReportLines is a connection check for people: a line a step (a failure
// with its advice), and a last line saying whether ChatGPT can connect.
func ReportLines(rep doctor.Report) []ReportLine {
	var out []ReportLine
	warned := false
	for _, s := range rep.Steps {
		switch s.Status {
		case doctor.Passed:
			out = append(out, ReportLine{s.Status, "✓ " + s.Title})
		case doctor.Skipped:
			out = append(out, ReportLine{s.Status, "– " + s.Title + " (skipped: " + s.Detail + ")"})
		case doctor.Warned:
			warned = true
			out = append(out, ReportLine{s.Status, fmt.Sprintf("! %s: %s. %s", s.Title, s.Detail, s.Advice)})
		default:
			out = append(out, ReportLine{s.Status, fmt.Sprintf("✗ %s: %s. %s", s.Title, s.Detail, s.Advice)})
		}
	}
	if rep.OK() && warned {
		out = append(out, ReportLine{doctor.Warned, "Every step works from this computer, but ChatGPT and Claude cannot reach " + rep.URL + "."})
	} else if rep.OK() {
		out = append(out, ReportLine{doctor.Passed, "Every step is ok: ChatGPT and Claude can connect to " + rep.URL + "."})
	} else if f, ok := rep.Failure(); ok {
		out = append(out, ReportLine{doctor.Failed, "Fix the first failure first (" + f.Title + "); the others often follow from it."})
	}
	return out
}
