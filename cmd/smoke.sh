#!/usr/bin/env bash
# Smoke run of the desktop app: builds mcpshare and runs it under Xvfb and a
# private D-Bus session with temporary config dirs and LANG=C.UTF-8:
#   1. a first start: checks over HTTP that /mcp/files is behind OAuth,
#      photographs the welcome page, requires no locale noise and a clean
#      exit (code 0) on SIGTERM;
#   2. a start with ngrok chosen but no ngrok reachable (the agent is pointed
#      at a closed loopback port): photographs the Connect card while it
#      connects and once it has failed;
#   3. the tray test (cmd/mcpshare/tray_test.go) against xfce4-panel, which
#      photographs a pending sign-in in the window and the open tray menu.
# Screenshots and logs go to .ci/artifacts/. Needs xvfb-run, dbus-run-session,
# ImageMagick's import, curl, xfce4-panel and xdotool (cmd/setup.sh --test
# installs them). Fails loudly on any failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in xvfb-run dbus-run-session import curl xfce4-panel xdotool; do
  command -v "$tool" >/dev/null || { echo "smoke: FAIL: $tool is not installed (run cmd/setup.sh --test)" >&2; exit 1; }
done

artifacts=$PWD/.ci/artifacts
mkdir -p "$artifacts"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "smoke: building mcpshare"
go build -o "$tmp/mcpshare" ./cmd/mcpshare

# in_session NAME SCRIPT: runs SCRIPT (bash) under Xvfb and a private D-Bus
# session, with the app's binary in $BIN, a work dir in $DIR and helpers:
# start_app ARGS... (sets $pid), wait_ready, shot FILE, stop_app.
in_session() {
  local name=$1 script=$2 dir="$tmp/$1"
  mkdir -p "$dir/config" "$dir/folder"
  BIN=$tmp/mcpshare DIR=$dir ARTIFACTS=$artifacts LANG=C.UTF-8 LANGUAGE= LC_ALL= \
    xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c '
      set -u
      fail() { echo "smoke: FAIL: $*" >&2; kill -TERM "$pid" 2>/dev/null; exit 1; }
      start_app() {
        "$BIN" --config-dir "$DIR/config" --secrets file --addr 127.0.0.1:0 \
          --ready-file "$DIR/ready.json" --folder "$DIR/folder" "$@" >"$DIR/stdout.log" 2>"$DIR/stderr.log" &
        pid=$!
      }
      wait_ready() {
        for _ in $(seq 1 600); do
          [ -s "$DIR/ready.json" ] && return 0
          kill -0 "$pid" 2>/dev/null || fail "mcpshare exited before it was ready"
          sleep 0.1
        done
        fail "no ready file after 60 s"
      }
      shot() {
        sleep 1 # let the window draw what changed
        import -window root "$ARTIFACTS/$1" || fail "screenshot $1 failed"
        echo "smoke: ok: screenshot $1"
      }
      stop_app() {
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
      }
      '"$script" || { echo "smoke: stderr of mcpshare ($name):" >&2; cat "$dir/stderr.log" >&2; return 1; }
  if grep -q "panic" "$dir/stderr.log"; then
    cat "$dir/stderr.log" >&2
    echo "smoke: FAIL: mcpshare panicked ($name)" >&2
    return 1
  fi
  if grep -qi "locale" "$dir/stderr.log"; then
    cat "$dir/stderr.log" >&2
    echo "smoke: FAIL: locale noise with LANG=C.UTF-8 ($name)" >&2
    return 1
  fi
  cp "$dir/stderr.log" "$artifacts/smoke-$name.log"
}

in_session first-start '
  start_app
  wait_ready
  echo "smoke: ok: ready file written"
  url=$(sed -n "s/.*\"files\": *\"\([^\"]*\)\".*/\1/p" "$DIR/ready.json")
  issuer=$(sed -n "s/.*\"issuer\": *\"\([^\"]*\)\".*/\1/p" "$DIR/ready.json")
  [ -n "$url" ] && [ -n "$issuer" ] || fail "the ready file has no files URL or issuer"
  grep -q "\"first_password\"" "$DIR/ready.json" || fail "the ready file of a first start has no first password"
  grep -q "has the password" "$DIR/stdout.log" && fail "the first password was printed into a log"

  code=$(curl -s -o /dev/null -D "$DIR/headers" -w "%{http_code}" -X POST \
    -H "Content-Type: application/json" -H "Accept: application/json, text/event-stream" \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}" "$url")
  [ "$code" = 401 ] || fail "POST $url without a token answered $code, want 401"
  grep -qi "^www-authenticate: Bearer" "$DIR/headers" || fail "the 401 of $url has no WWW-Authenticate: Bearer header"
  echo "smoke: ok: POST $url without a token: 401 with WWW-Authenticate"
  code=$(curl -s -o /dev/null -w "%{http_code}" "$issuer/.well-known/oauth-authorization-server")
  [ "$code" = 200 ] || fail "$issuer/.well-known/oauth-authorization-server answered $code, want 200"
  echo "smoke: ok: authorization server metadata: 200"

  shot welcome-page.png
  stop_app
'

in_session ngrok '
  # Past the first run: the owner chose a password and saved an ngrok token.
  echo "smoke test password" | "$BIN" user passwd admin --password-stdin --config-dir "$DIR/config" --secrets file >/dev/null
  echo "2smoke_token_not_real" | "$BIN" ngrok set-token --config-dir "$DIR/config" --secrets file >/dev/null
  # Port 9 (discard) on loopback: nothing answers, as when ngrok cannot be reached.
  MCPSHARE_NGROK_CONNECT_URL=127.0.0.1:9 MCPSHARE_UI_TAB=connect start_app --tunnel ngrok
  sleep 4
  shot connect-ngrok-connecting.png
  wait_ready # written once the tunnel is online or has failed (30 s)
  shot connect-ngrok-failed.png
  stop_app
'

echo "smoke: the tray test against xfce4-panel, with screenshots"
MCPSHARE_ARTIFACTS=$artifacts MCPSHARE_REQUIRE_E2E=1 go test -count=1 -run '^TestTrayApprovesAndDeniesWithARealTrayHost$' ./cmd/mcpshare/
for f in signin-pending-window.png tray-menu-open.png; do
  [ -s "$artifacts/$f" ] || { echo "smoke: FAIL: the tray test wrote no $f" >&2; exit 1; }
done
echo "smoke: PASS (screenshots in $artifacts/)"
