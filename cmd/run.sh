#!/usr/bin/env bash
# Runs MCP Share (the window and the tray) from source on a Debian or Ubuntu
# machine with Go, after installing the C headers Fyne needs. Flags are passed
# on: cmd/run.sh --help, cmd/run.sh serve --approval password, ...
set -euo pipefail
cd "$(dirname "$0")/.."
cmd/setup.sh
bin="$(go env GOCACHE)/mcpshare-run/mcpshare"
mkdir -p "$(dirname "$bin")"
echo "run: building mcpshare (the first build compiles Fyne's OpenGL driver: about 4 minutes)" >&2
go build -o "$bin" ./cmd/mcpshare
exec "$bin" "$@"
