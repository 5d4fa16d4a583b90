// Package assets holds the files MCP Share embeds in its binary: the
// application icon (a share symbol on a blue tile, drawn to stay legible at
// 16 px in a tray). It has no logic and imports no GUI toolkit, so any
// package may use it.
package assets

import _ "embed"

// Icon is the 512x512 PNG application icon.
//
//go:embed icon.png
var Icon []byte
