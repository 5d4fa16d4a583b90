#!/usr/bin/env bash
# Smoke run of the desktop app: builds mcpshare, runs it under Xvfb and a
# private D-Bus session with a temporary config dir, checks over HTTP that it
# serves /mcp/files behind OAuth, photographs the main window and the Connect
# ChatGPT card into .ci/artifacts/, and requires a clean exit (code 0) on
# SIGTERM. Needs xvfb-run, dbus-run-session and ImageMagick's import
# (cmd/setup.sh --test installs them). Fails loudly on any failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in xvfb-run dbus-run-session import curl; do
  command -v "$tool" >/dev/null || { echo "smoke: FAIL: $tool is not installed (run cmd/setup.sh --test)" >&2; exit 1; }
done

artifacts=.ci/artifacts
mkdir -p "$artifacts"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "smoke: building mcpshare"
go build -o "$tmp/mcpshare" ./cmd/mcpshare

# run_once TAB SHOT: one run of the app showing TAB first; photographs it into SHOT.
run_once() {
  local tab=$1 shot=$2 dir="$tmp/$1"
  mkdir -p "$dir/config" "$dir/folder"
  MCPSHARE_UI_TAB=$tab SMOKE_DIR=$dir SMOKE_BIN=$tmp/mcpshare SMOKE_SHOT=$shot \
    xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
      set -u
      fail() { echo "smoke: FAIL: $*" >&2; kill -TERM "$pid" 2>/dev/null; exit 1; }
      "$SMOKE_BIN" --config-dir "$SMOKE_DIR/config" --secrets file --addr 127.0.0.1:0 \
        --ready-file "$SMOKE_DIR/ready.json" --folder "$SMOKE_DIR/folder" >"$SMOKE_DIR/stdout.log" 2>"$SMOKE_DIR/stderr.log" &
      pid=$!
      for _ in $(seq 1 300); do
        [ -s "$SMOKE_DIR/ready.json" ] && break
        kill -0 "$pid" 2>/dev/null || fail "mcpshare exited before it was ready"
        sleep 0.1
      done
      [ -s "$SMOKE_DIR/ready.json" ] || fail "no ready file after 30 s"
      echo "smoke: ok: ready file written"
      url=$(sed -n "s/.*\"files\": *\"\([^\"]*\)\".*/\1/p" "$SMOKE_DIR/ready.json")
      issuer=$(sed -n "s/.*\"issuer\": *\"\([^\"]*\)\".*/\1/p" "$SMOKE_DIR/ready.json")
      [ -n "$url" ] && [ -n "$issuer" ] || fail "the ready file has no files URL or issuer"

      code=$(curl -s -o /dev/null -D "$SMOKE_DIR/headers" -w "%{http_code}" -X POST \
        -H "Content-Type: application/json" -H "Accept: application/json, text/event-stream" \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}" "$url")
      [ "$code" = 401 ] || fail "POST $url without a token answered $code, want 401"
      grep -qi "^www-authenticate: Bearer" "$SMOKE_DIR/headers" || fail "the 401 of $url has no WWW-Authenticate: Bearer header"
      echo "smoke: ok: POST $url without a token: 401 with WWW-Authenticate"

      code=$(curl -s -o /dev/null -w "%{http_code}" "$issuer/.well-known/oauth-authorization-server")
      [ "$code" = 200 ] || fail "$issuer/.well-known/oauth-authorization-server answered $code, want 200"
      echo "smoke: ok: authorization server metadata: 200"

      sleep 2 # let the window draw
      import -window root "$SMOKE_SHOT" || fail "screenshot failed"
      echo "smoke: ok: screenshot $SMOKE_SHOT"

      kill -TERM "$pid"
      for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "mcpshare did not exit within 15 s of SIGTERM"
      fi
      wait "$pid"; rc=$?
      [ "$rc" = 0 ] || fail "mcpshare exited with code $rc after SIGTERM, want 0"
      echo "smoke: ok: clean exit (0) on SIGTERM"
    ' || { echo "smoke: stderr of mcpshare:" >&2; cat "$dir/stderr.log" >&2; return 1; }
  if grep -q "panic" "$dir/stderr.log"; then
    cat "$dir/stderr.log" >&2
    echo "smoke: FAIL: mcpshare panicked" >&2
    return 1
  fi
  cp "$dir/stderr.log" "$artifacts/smoke-$tab.log"
}

run_once servers "$artifacts/main-window.png"
run_once connect "$artifacts/connect-chatgpt.png"
echo "smoke: PASS (screenshots in $artifacts/)"
