package ui

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/assets"
	"github.com/mcpshare/mcpshare/tunnel"
)

// PublicURLView is how the window shows where the public URL stands: one
// plain sentence, a spinner while work is under way, and the raw details
// behind a "Details" toggle.
type PublicURLView struct {
	Sentence string
	// Busy: connecting or reconnecting (a spinner turns).
	Busy bool
	// Online: ChatGPT and Claude can reach MCP Share now.
	Online bool
	// Problem: the public URL failed or is missing while it was wanted.
	Problem bool
	// Details is the raw error or last event, for those who want it.
	Details string
}

// PublicURL describes the public URL for a status, the saved tunnel kind
// (app.TunnelNone, TunnelNgrok, TunnelCustom) and the last tunnel event's
// message (details).
func PublicURL(st app.Status, kind, details string) PublicURLView {
	switch {
	case st.State != app.StateSharing && kind == app.TunnelNone:
		return PublicURLView{Sentence: "No public URL is set up: ChatGPT and claude.ai cannot reach this computer. Set up ngrok in Settings."}
	case st.State != app.StateSharing:
		return PublicURLView{Sentence: "The public URL comes up when sharing starts."}
	case kind == app.TunnelNone:
		return PublicURLView{Problem: true, Sentence: "Shared on this computer only: ChatGPT and claude.ai cannot reach it. Set up ngrok in Settings."}
	case st.PublicOrigin != "" && st.Tunnel == tunnel.StateReconnecting:
		return PublicURLView{Busy: true, Problem: true, Details: details,
			Sentence: "The connection to ngrok dropped; reconnecting. ChatGPT and Claude cannot reach MCP Share meanwhile."}
	case st.PublicOrigin != "":
		return PublicURLView{Online: true, Sentence: "Online at " + st.PublicOrigin + ": ChatGPT and Claude can reach MCP Share."}
	case st.Tunnel == tunnel.StateConnecting || (st.Tunnel == "" && st.Err == nil):
		v := PublicURLView{Busy: true, Details: details, Sentence: "Connecting to ngrok… this can take up to 30 seconds."}
		if kind == app.TunnelCustom {
			v.Sentence = "Setting up the public URL…"
		}
		if st.Err != nil {
			v.Sentence = "Connecting to ngrok again: the last attempt did not get through."
		}
		return v
	default:
		v := PublicURLView{Problem: true, Details: details}
		if st.Err != nil && v.Details == "" {
			v.Details = st.Err.Error()
		}
		v.Sentence = "The public URL is down. " + Advice(st.Err)
		if Advice(st.Err) == "" {
			v.Sentence = "The public URL is down: " + shortReason(st.Err) + "."
		}
		if errors.Is(st.Err, tunnel.ErrNoNetwork) {
			v.Sentence = "MCP Share could not reach ngrok and tries again by itself. Check the internet connection; sharing on this computer still works."
		}
		return v
	}
}

// publicURLLine shows a PublicURLView: a spinner while busy, the sentence,
// and a Details toggle for the raw error.
type publicURLLine struct {
	content  *fyne.Container
	spinner  *widget.Activity
	sentence *widget.Label
	toggle   *widget.Button
	details  *widget.Label
	view     PublicURLView
}

func newPublicURLLine() *publicURLLine {
	l := &publicURLLine{spinner: widget.NewActivity(), sentence: widget.NewLabel(""), details: widget.NewLabel("")}
	l.sentence.Wrapping = fyne.TextWrapWord
	l.details.Wrapping = fyne.TextWrapWord
	l.details.TextStyle.Monospace = true
	l.details.Hide()
	l.spinner.Hide()
	l.toggle = widget.NewButton("Details", func() {
		if l.details.Visible() {
			l.details.Hide()
			l.toggle.SetText("Details")
		} else {
			l.details.Show()
			l.toggle.SetText("Hide details")
		}
		l.content.Refresh()
	})
	l.toggle.Importance = widget.LowImportance
	l.toggle.Hide()
	l.content = container.NewVBox(container.NewBorder(nil, nil, l.spinner, l.toggle, l.sentence), l.details)
	return l
}

func (l *publicURLLine) show(v PublicURLView) {
	l.view = v
	l.sentence.SetText(v.Sentence)
	switch {
	case v.Problem && !v.Busy:
		l.sentence.Importance = widget.DangerImportance
	case v.Online:
		l.sentence.Importance = widget.SuccessImportance
	default:
		l.sentence.Importance = widget.MediumImportance
	}
	l.sentence.Refresh()
	if v.Busy {
		l.spinner.Show()
		l.spinner.Start()
	} else {
		l.spinner.Stop()
		l.spinner.Hide()
	}
	l.details.SetText(v.Details)
	if v.Details == "" {
		l.toggle.Hide()
		l.details.Hide()
		l.toggle.SetText("Details")
	} else {
		l.toggle.Show()
	}
}

// waitingIcon is the tray icon while a sign-in waits: the app icon with an
// orange dot.
var waitingIcon = fyne.NewStaticResource("icon-waiting.png", badge(assets.Icon))

// badge draws an orange dot with a white ring on the lower right of a PNG
// icon; on a decoding error it returns the icon unchanged.
func badge(icon []byte) []byte {
	src, err := png.Decode(bytes.NewReader(icon))
	if err != nil {
		return icon
	}
	b := src.Bounds()
	img := image.NewRGBA(b)
	draw.Draw(img, b, src, b.Min, draw.Src)
	r := float64(b.Dx()) * 0.24
	cx, cy := float64(b.Max.X)-r-1, float64(b.Max.Y)-r-1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			d := math.Hypot(float64(x)-cx, float64(y)-cy)
			switch {
			case d <= r*0.78:
				img.Set(x, y, color.RGBA{R: 0xf5, G: 0x7c, B: 0x00, A: 0xff})
			case d <= r:
				img.Set(x, y, color.White)
			}
		}
	}
	var out bytes.Buffer
	if png.Encode(&out, img) != nil {
		return icon
	}
	return out.Bytes()
}
