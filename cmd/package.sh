#!/usr/bin/env bash
# Builds an installable package of MCP Share for this system with the Fyne
# CLI (fyne.io/tools/cmd/fyne), from the metadata in FyneApp.toml:
#   cmd/package.sh            writes "MCP Share.tar.xz" (Linux; `make install` inside)
set -euo pipefail
cd "$(dirname "$0")/.."
cmd/setup.sh
command -v fyne >/dev/null || go install fyne.io/tools/cmd/fyne@v1.7.4
fyne=$(command -v fyne || echo "$(go env GOPATH)/bin/fyne")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/mcpshare" ./cmd/mcpshare
"$fyne" package --src cmd/mcpshare --exe "$out/mcpshare"
ls -l -- *.tar.xz *.app *.exe 2>/dev/null || true
