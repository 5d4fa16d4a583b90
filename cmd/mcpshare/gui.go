//go:build !nogui

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/mcpshare/mcpshare/app"
	"github.com/mcpshare/mcpshare/app/ui"
	"github.com/mcpshare/mcpshare/assets"
	"github.com/mcpshare/mcpshare/tunnel"
)

// appID is the Fyne application ID (preferences, notifications).
const appID = "io.mcpshare.app"

// tabEnv selects the window's first tab (servers, connect, signins, users,
// clients, settings); the smoke run uses it to photograph the Connect card.
const tabEnv = "MCPSHARE_UI_TAB"

// ngrokConnectEnv points the ngrok agent at another service ("host:port"):
// the smoke run photographs the tunnel's progress against a loopback port
// where no ngrok answers. Not for real use.
const ngrokConnectEnv = "MCPSHARE_NGROK_CONNECT_URL"

// gui runs the desktop app: the window, the tray where one can exist, and
// sharing. SIGINT, SIGTERM and the tray's Quit end it with exit code 0.
func (c *cli) gui(args []string) int {
	var sf shareFlags
	fs := c.shareFlagSet("", &sf)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "mcpshare: unexpected argument %q\n\n%s", fs.Arg(0), usage)
		return exitUsage
	}
	if !hasDisplay() {
		fmt.Fprintln(c.stderr, "mcpshare: no display to open the window on ($DISPLAY and $WAYLAND_DISPLAY are empty); run `mcpshare serve` to share without a window")
		return exitError
	}
	log := c.logger(&sf.common)
	opts := sf.options()
	opts.ConfigDir, opts.Secrets, opts.Logger = sf.configDir, sf.secrets, log
	opts.NgrokConnectURL = os.Getenv(ngrokConnectEnv)
	core, err := app.Open(opts)
	if err != nil {
		code := c.fail(err)
		showOpenError(err)
		return code
	}
	if root, changed := core.FolderOverride(); changed {
		fmt.Fprintf(c.stdout, "The built-in server %q now shares %s (--folder).\n", app.BuiltinName, root)
	}

	fa := fyneapp.NewWithID(appID)
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))

	tray, err := ui.TrayAvailable()
	hide := tray && ui.TrayHostRunning()
	switch {
	case !tray:
		log.Warn("the system tray is unavailable (the window alone); closing the window quits MCP Share", "err", err)
	case !hide:
		log.Warn("no tray host shows tray icons on this desktop; closing the window quits MCP Share")
	}

	// shutdown stops sharing and closes the core once; everyone waits for it.
	var once sync.Once
	var u *ui.UI
	shutdown := func() {
		once.Do(func() {
			fmt.Fprintln(c.stderr, "mcpshare: stopping: finishing requests and ending sessions")
			if u != nil {
				u.Close()
			}
			if err := core.Close(); err != nil {
				fmt.Fprintf(c.stderr, "mcpshare: while stopping: %v\n", err)
			}
		})
	}
	// quit must not block the Fyne goroutine: Close waits for requests.
	quit := func() {
		go func() {
			shutdown()
			fyne.Do(fa.Quit)
		}()
	}

	u = ui.New(fa, core, ui.Options{
		Tray: tray, HideOnClose: hide, Quit: quit, Tab: os.Getenv(tabEnv),
		DesktopNotifications: tray, RefreshEvery: 3 * time.Second, Logger: log,
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		quit()
	}()

	u.StartSharing(func(err error) {
		if err != nil {
			return
		}
		go func() {
			if err := c.announceWhenUp(ctx, core, sf.readyFile); err != nil {
				log.Error("could not announce the URLs", "err", err)
			}
		}()
	})
	u.Show()
	fa.Run()
	// The window manager or the tray host may end the app without our Quit.
	shutdown()
	return exitOK
}

// announceWhenUp prints how to connect, and writes the ready file when path
// is set, once the public URL (if any) is up or has failed, as `serve` does.
func (c *cli) announceWhenUp(ctx context.Context, core *app.App, path string) error {
	if core.Settings().Tunnel != app.TunnelNone {
		settled := make(chan struct{}, 1)
		cancel := core.Subscribe(func(ev app.Event) {
			if st := core.Status().Tunnel; st == tunnel.StateOnline || st == tunnel.StateFailed {
				select {
				case settled <- struct{}{}:
				default:
				}
			}
		})
		if st := core.Status().Tunnel; st != tunnel.StateOnline && st != tunnel.StateFailed {
			select {
			case <-settled:
			case <-ctx.Done():
			case <-time.After(40 * time.Second):
			}
		}
		cancel()
	}
	info, err := core.ConnectInfo(ctx)
	if err != nil {
		return err
	}
	c.printConnect(core, info, "in the MCP Share window or its tray menu")
	if path == "" {
		return nil
	}
	return writeReady(path, core, info)
}

// hasDisplay tells whether a window can be opened (Fyne's GLFW driver panics
// without one).
func hasDisplay() bool {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	}
	return true
}

// showOpenError shows why MCP Share could not open its configuration in a
// small window, for people who started it from a menu and see no terminal.
func showOpenError(err error) {
	fa := fyneapp.NewWithID(appID)
	fa.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := fa.NewWindow("MCP Share")
	title := widget.NewLabelWithStyle("MCP Share could not start", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg := widget.NewLabel(ui.Explain(err))
	msg.Wrapping = fyne.TextWrapWord
	w.SetContent(container.NewBorder(title, container.NewCenter(widget.NewButton("Quit", fa.Quit)), nil, nil,
		container.NewVScroll(msg)))
	w.Resize(fyne.NewSize(520, 240))
	w.SetCloseIntercept(fa.Quit)
	w.Show()
	fa.Run()
}
