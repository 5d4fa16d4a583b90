#!/usr/bin/env bash
# Installs what MCP Share needs on a Debian or Ubuntu machine with Go:
#   cmd/setup.sh          the C headers Fyne builds against (GL, X11)
#   cmd/setup.sh --test   also Xvfb, D-Bus, gnome-keyring, ImageMagick, a tray
#                         host (xfce4-panel, xdotool), the npm packages of the
#                         end-to-end tests (from the lockfile), mingw-w64 (the
#                         Windows cross-build), shellcheck and actionlint
# Packages already present are not installed again, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs="gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev"
# xfce4-panel is a real StatusNotifier tray host for the tray test; xdotool opens its menu.
test_pkgs="xvfb xauth imagemagick dbus dbus-x11 gnome-keyring curl nodejs npm xfce4-panel xdotool"

want="$build_pkgs"
[ "${1:-}" = "--test" ] && want="$want $test_pkgs"
# CI's checks of the other systems' builds and of the release workflow.
ci_pkgs="gcc-mingw-w64-x86-64 shellcheck"
[ "${1:-}" = "--test" ] && want="$want $ci_pkgs"

missing=""
for p in $want; do
  # nodejs/npm may come from elsewhere (nvm, a tarball): a working binary is enough.
  case $p in nodejs|npm) command -v "${p/nodejs/node}" >/dev/null && continue;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  node_dir=cmd/mcpshare/testdata/node
  # npm ci only when the lockfile changed since the last install (the marker
  # is a copy of the lockfile that npm ci installed from).
  marker="$node_dir/node_modules/.mcpshare-installed-lock.json"
  if ! cmp -s "$node_dir/package-lock.json" "$marker" 2>/dev/null; then
    echo "setup: installing the npm packages of the end-to-end tests"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$node_dir/package-lock.json" "$marker"
  fi
fi

if [ "${1:-}" = "--test" ]; then
  actionlint_version=1.7.12
  actionlint="$(go env GOPATH)/bin/actionlint"
  if [ "$("$actionlint" -version 2>/dev/null | head -1)" != "v$actionlint_version" ]; then
    echo "setup: installing actionlint $actionlint_version"
    go install "github.com/rhysd/actionlint/cmd/actionlint@v$actionlint_version"
  fi
fi
