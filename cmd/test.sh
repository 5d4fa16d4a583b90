#!/usr/bin/env bash
# Runs every test of MCP Share the way CI does, on a Debian or Ubuntu machine
# with Go: installs what the tests need; checks the release workflow
# (actionlint) and its scripts (shellcheck); cross-compiles the Windows app
# with mingw and vets every package for macOS and Windows; then runs `go test
# ./...` inside a private D-Bus session with an unlocked gnome-keyring (the
# real OS keychain), with the end-to-end tests' real npm clients and servers,
# and finally the GUI smoke run under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd/setup.sh --test

echo "test: actionlint and shellcheck"
"$(go env GOPATH)/bin/actionlint"
# The scripts of CI and of the release; actionlint checks the workflows' own.
shellcheck -S warning .ci/run cmd/test.sh cmd/setup.sh cmd/package.sh

# The whole Windows app, Fyne included, with mingw. A cold build takes about 8 minutes on 2
# cores, much of it one single-threaded cgo compile (go-gl), as is the Linux build of the
# tests: the two run side by side, so each has a core. The Go build cache keeps the result:
# later runs take seconds, as long as the flags stay these.
echo "test: cross-compiling mcpshare for windows/amd64 with mingw (in the background)"
win_out=$(mktemp -d)
win_env=(CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc)
env "${win_env[@]}" go build -o "$win_out/mcpshare.exe" ./cmd/mcpshare >"$win_out/build.log" 2>&1 &
win_pid=$!

# macOS without its C toolchain: -tags nogui leaves out the window (cmd/mcpshare/gui.go),
# which needs cgo; there Fyne's widgets need it too, so app/ui is vetted for Linux (by go
# test) and Windows only.
echo "test: go vet for darwin/arm64"
mac_pkgs=$(GOOS=darwin CGO_ENABLED=0 go list -tags nogui ./... | grep -v '/app/ui$')
# shellcheck disable=SC2086 # one package a word
GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go vet -tags nogui $mac_pkgs

echo "test: building the tests"
go test -count=1 -run '^$' ./... >/dev/null

if ! wait "$win_pid"; then
  cat "$win_out/build.log" >&2
  echo "test: FAIL: the windows/amd64 cross-build failed" >&2
  exit 1
fi
ls -l "$win_out/mcpshare.exe"
rm -rf "$win_out"
# With the cross-build's own settings, its compiled packages serve the vet too.
echo "test: go vet for windows/amd64"
env "${win_env[@]}" go vet ./...

# Tests that would skip for want of a keychain or of the npm packages fail instead.
export MCPSHARE_REQUIRE_KEYCHAIN=1 MCPSHARE_REQUIRE_E2E=1
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
XDG_DATA_HOME=$keyring_home dbus-run-session -- sh -c '
  echo -n mcpshare-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null &&
  go test -count=1 -timeout 15m ./...'

cmd/smoke.sh
