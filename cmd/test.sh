#!/usr/bin/env bash
# Runs every test of MCP Share the way CI does, on a Debian or Ubuntu machine
# with Go: installs what the tests need, then runs `go test ./...` inside a
# private D-Bus session with an unlocked gnome-keyring (the real OS keychain),
# with the end-to-end tests' real npm clients and servers, and finally the
# GUI smoke run under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd/setup.sh --test

# Tests that would skip for want of a keychain or of the npm packages fail instead.
export MCPSHARE_REQUIRE_KEYCHAIN=1 MCPSHARE_REQUIRE_E2E=1
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
XDG_DATA_HOME=$keyring_home dbus-run-session -- sh -c '
  echo -n mcpshare-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
  go test -count=1 -timeout 15m ./...'

cmd/smoke.sh
