#!/usr/bin/env bash
# Makes MCP Share's package for the system it runs on, with the Fyne CLI
# (fyne.io/tools/cmd/fyne) and the name, icon and ID from FyneApp.toml, in dist/:
#   Linux    mcpshare-VERSION-linux-ARCH.tar.xz    ("make user-install" or "sudo make install" inside)
#   macOS    mcpshare-VERSION-macos-ARCH.zip       (MCP Share.app)
#   Windows  mcpshare-VERSION-windows-ARCH.zip     (MCP Share.exe); run this in an MSYS2 MINGW64 shell
#
#   cmd/package.sh            all the steps below, in order
#   cmd/package.sh STEP...    some of them (the release workflow runs them one by one):
#     build      the app: dist/MCP Share.app, dist/MCP Share.exe, or the Linux tarball
#     sign       code signing, when its secrets are in the environment; otherwise says it skips
#     notarize   macOS: Apple's notarization and stapling, when Apple's credentials are set
#     archive    the zip of a signed (or unsigned) app
#
# Needs Go, and a C compiler for Fyne: on Debian/Ubuntu cmd/setup.sh installs it; on macOS
# the Xcode command line tools; on Windows MSYS2's mingw-w64-x86_64-gcc.
#
# Environment:
#   MCPSHARE_VERSION  x.y.z (default: FyneApp.toml's Version); a leading v is dropped
#   MCPSHARE_BUILD    build number (default: FyneApp.toml's Build)
#   GOARCH            architecture to build for (default: this machine's); amd64 on an arm64 Mac works
#   MACOS_SIGN_IDENTITY              "Developer ID Application: NAME (TEAMID)" in your keychain, or, in CI:
#   MACOS_CERTIFICATE_P12, MACOS_CERTIFICATE_PASSWORD   base64 of that identity's .p12, and its password
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD         notarization (an app-specific password)
#   WINDOWS_CERTIFICATE_PFX, WINDOWS_CERTIFICATE_PASSWORD  base64 of a code-signing .pfx, and its password
#   WINDOWS_TIMESTAMP_URL            RFC 3161 timestamp server (default http://timestamp.digicert.com)
set -euo pipefail
cd "$(dirname "$0")/.."

fyne_version=v1.7.4
name="MCP Share"
dist=dist

say() { echo "package: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
# skip says why a step does nothing, also as a notice in the GitHub Actions summary.
skip() {
  say "$1: skipped: $2"
  [ "${GITHUB_ACTIONS:-}" = true ] && echo "::notice title=$1 skipped::$2"
  return 0
}

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  MINGW* | MSYS* | CYGWIN*) os=windows ;;
  *) fail "no package for $(uname -s)" ;;
esac
arch=${GOARCH:-$(go env GOARCH)}

toml_value() { sed -n "s/^$1 *= *\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p" FyneApp.toml | head -1; }
version=${MCPSHARE_VERSION:-$(toml_value Version)}
version=${version#v}
build_number=${MCPSHARE_BUILD:-$(toml_value Build)}
archive_base="mcpshare-$version-$os-$arch"

tmp=$(mktemp -d)
cleanup() {
  [ -n "${keychain:-}" ] && security delete-keychain "$keychain" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

build() {
  [ "$os" = linux ] && command -v apt-get >/dev/null && cmd/setup.sh
  local gobin fyne
  gobin="$(go env GOPATH)/bin"
  [ "$os" = windows ] && gobin=$(cygpath -u "$gobin") # C:\Users\... is no path for bash
  fyne="$gobin/fyne"
  if [[ "$("$fyne" version 2>/dev/null)" != *"cli version: $fyne_version"* ]]; then
    say "installing the Fyne CLI $fyne_version"
    # For this machine, also when GOARCH names another target.
    env -u GOOS -u GOARCH go install "fyne.io/tools/cmd/fyne@$fyne_version"
  fi
  rm -rf "$dist" && mkdir -p "$dist"
  # fyne reads FyneApp.toml beside the main package, and counts Build up in it: a copy there
  # (ignored by git) keeps the one at the top of the tree as it is.
  cp FyneApp.toml cmd/mcpshare/FyneApp.toml
  say "building $name $version ($build_number) for $os/$arch (a first build compiles Fyne's OpenGL driver: minutes)"
  # --release: -trimpath, -s -w, and on Windows a GUI program (no console window).
  (cd "$dist" && CGO_ENABLED=1 "$fyne" package --release --src ../cmd/mcpshare \
    --app-version "$version" --app-build "$build_number")
  case $os in
    linux) mv "$dist/$name.tar.xz" "$dist/$archive_base.tar.xz" ;;
    windows) mv "cmd/mcpshare/$name.exe" "$dist/$name.exe" ;;
  esac
  ls -l "$dist" >&2
}

sign() {
  case $os in
    linux) skip sign "Linux packages are not signed" ;;
    macos) sign_macos ;;
    windows) sign_windows ;;
  esac
}

sign_macos() {
  local app="$dist/$name.app" identity=${MACOS_SIGN_IDENTITY:-}
  [ -d "$app" ] || fail "no $app: run cmd/package.sh build first"
  if [ -n "${MACOS_CERTIFICATE_P12:-}" ]; then
    # CI: a keychain of its own for the identity, deleted on exit.
    keychain="$tmp/signing.keychain-db"
    local pw
    pw=$(openssl rand -hex 16)
    security create-keychain -p "$pw" "$keychain"
    security set-keychain-settings -lut 3600 "$keychain"
    security unlock-keychain -p "$pw" "$keychain"
    printf %s "$MACOS_CERTIFICATE_P12" | base64 --decode >"$tmp/cert.p12"
    security import "$tmp/cert.p12" -k "$keychain" -P "${MACOS_CERTIFICATE_PASSWORD:-}" -T /usr/bin/codesign
    security set-key-partition-list -S apple-tool:,apple:,codesign: -s -k "$pw" "$keychain" >/dev/null
    # shellcheck disable=SC2046 # the list of keychains is several words
    security list-keychains -d user -s "$keychain" $(security list-keychains -d user | tr -d '"')
    if [ -z "$identity" ]; then
      identity=$(security find-identity -v -p codesigning "$keychain" | awk 'NR==1 {print $2}')
    fi
  fi
  [ -n "$identity" ] || { skip sign "neither MACOS_SIGN_IDENTITY nor MACOS_CERTIFICATE_P12 is set: the app is unsigned"; return; }
  say "signing $app (hardened runtime, secure timestamp)"
  codesign --force --options runtime --timestamp --sign "$identity" "$app"
  codesign --verify --strict --verbose=2 "$app"
}

sign_windows() {
  local exe="$dist/$name.exe"
  [ -f "$exe" ] || fail "no $exe: run cmd/package.sh build first"
  [ -n "${WINDOWS_CERTIFICATE_PFX:-}" ] || { skip sign "WINDOWS_CERTIFICATE_PFX is not set: the exe is unsigned"; return; }
  local signtool
  signtool=$(find "/c/Program Files (x86)/Windows Kits/10/bin" -name signtool.exe -path "*x64*" 2>/dev/null | sort -V | tail -1)
  [ -n "$signtool" ] || fail "signtool.exe not found: install the Windows SDK"
  printf %s "$WINDOWS_CERTIFICATE_PFX" | base64 --decode >"$tmp/cert.pfx"
  say "signing $exe"
  # MSYS2 would turn /f and the other switches into paths.
  MSYS2_ARG_CONV_EXCL='*' "$signtool" sign /f "$(cygpath -w "$tmp/cert.pfx")" /p "${WINDOWS_CERTIFICATE_PASSWORD:-}" \
    /fd SHA256 /tr "${WINDOWS_TIMESTAMP_URL:-http://timestamp.digicert.com}" /td SHA256 "$(cygpath -w "$exe")"
  MSYS2_ARG_CONV_EXCL='*' "$signtool" verify /pa "$(cygpath -w "$exe")"
}

notarize() {
  [ "$os" = macos ] || { skip notarize "only macOS apps are notarized"; return; }
  local app="$dist/$name.app"
  [ -d "$app" ] || fail "no $app: run cmd/package.sh build first"
  if [ -z "${APPLE_ID:-}" ] || [ -z "${APPLE_TEAM_ID:-}" ] || [ -z "${APPLE_APP_PASSWORD:-}" ]; then
    skip notarize "APPLE_ID, APPLE_TEAM_ID and APPLE_APP_PASSWORD are not all set"
    return
  fi
  codesign -dvv "$app" 2>&1 | grep -q "^Authority=Developer ID Application" ||
    { skip notarize "the app is not signed with a Developer ID (see the sign step)"; return; }
  say "notarizing $app (this waits for Apple, usually a few minutes)"
  ditto -c -k --keepParent "$app" "$tmp/notarize.zip"
  xcrun notarytool submit "$tmp/notarize.zip" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
    --password "$APPLE_APP_PASSWORD" --wait
  xcrun stapler staple "$app"
}

archive() {
  case $os in
    linux) [ -f "$dist/$archive_base.tar.xz" ] || fail "no $dist/$archive_base.tar.xz: run cmd/package.sh build first" ;;
    macos)
      [ -d "$dist/$name.app" ] || fail "no $dist/$name.app: run cmd/package.sh build first"
      ditto -c -k --sequesterRsrc --keepParent "$dist/$name.app" "$dist/$archive_base.zip"
      ;;
    windows)
      [ -f "$dist/$name.exe" ] || fail "no $dist/$name.exe: run cmd/package.sh build first"
      powershell.exe -NoProfile -Command "Compress-Archive -Force -Path '$dist/$name.exe' -DestinationPath '$dist/$archive_base.zip'"
      ;;
  esac
  say "made:"
  ls -l "$dist"/mcpshare-* >&2
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(build sign notarize archive)
for step in "${steps[@]}"; do
  case $step in
    build | sign | notarize | archive) "$step" ;;
    *) fail "unknown step $step (build, sign, notarize, archive)" ;;
  esac
done
