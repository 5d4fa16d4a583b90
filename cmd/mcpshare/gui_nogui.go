//go:build nogui

package main

import "fmt"

// gui is left out of builds with -tags nogui: the window needs cgo (OpenGL, the tray), which a
// cross-build (CI vets the macOS build from Linux) does not have. serve is the same app
// without a window.
func (c *cli) gui(args []string) int {
	fmt.Fprintln(c.stderr, "mcpshare: this build has no window (built with -tags nogui); run mcpshare serve")
	return exitError
}
