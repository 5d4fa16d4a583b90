package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrAutostartUnsupported: starting at login is not implemented on this system.
var ErrAutostartUnsupported = errors.New("starting MCP Share at login is not supported on this system yet")

// autostartID names MCP Share's login item everywhere: the XDG desktop file, the launchd label,
// the Run-key value.
const autostartID = "io.mcpshare.app"

// A loginItem is the system's way of starting a program when the user logs in: an XDG
// autostart file (Linux and the BSDs), a LaunchAgent (macOS), a value of the per-user Run key
// (Windows). systemLoginItem, in the autostart_*.go file of each system, returns this
// system's.
type loginItem interface {
	installed() (bool, error)
	// install makes the system start exe with args at login, replacing an older entry.
	install(exe string, args []string) error
	// remove undoes install; removing an item that is not there is not an error.
	remove() error
}

// Autostart tells whether MCP Share starts when the user logs in.
func (a *App) Autostart() (bool, error) {
	li, err := systemLoginItem()
	if err != nil {
		return false, err
	}
	return li.installed()
}

// SetAutostart makes MCP Share start (with this config directory) when the user logs in, or
// stops that.
func (a *App) SetAutostart(on bool) error {
	li, err := systemLoginItem()
	if err != nil {
		return err
	}
	if !on {
		return li.remove()
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the mcpshare program: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return fmt.Errorf("find the mcpshare program: %w", err)
	}
	return li.install(exe, []string{"--config-dir", a.opts.ConfigDir})
}

// fileLoginItem is a login item that is a file the system reads at login.
type fileLoginItem struct {
	path    string
	content func(exe string, args []string) ([]byte, error)
}

func (f fileLoginItem) installed() (bool, error) {
	_, err := os.Stat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (f fileLoginItem) install(exe string, args []string) error {
	b, err := f.content(exe, args)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(f.path), err)
	}
	if err := os.WriteFile(f.path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

func (f fileLoginItem) remove() error {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", f.path, err)
	}
	return nil
}
