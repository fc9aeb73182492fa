#!/usr/bin/env bash
# Installs what the end-to-end tests need, without reaching anything but apt and the npm registry:
# Debian's chromium/ripgrep/libkrb5-dev, code-server 4.100.3 (VS Code 1.100.3) with its install
# scripts off and its native modules rebuilt by hand, and playwright-core. Idempotent and cached:
# a second run returns at once. Recipe: ../../../shared/design/E2E-NOTES.md.
set -euo pipefail
cd "$(dirname "$0")"
log() { printf '[e2e-install] %s\n' "$*" >&2; }
MARKER=node_modules/.beam-lens-e2e-ready
WANT="code-server@4.100.3 playwright-core@1.65.1"
if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT" ]; then exit 0; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node-gyp rebuilds the native modules against Node's headers and cannot download them here:
# Debian ships them in /usr/include/node (a machine's ~/.npmrc may say nodedir=/usr; an empty HOME
# does not).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

started=$(date +%s)
log "npm install (scripts off) in test/e2e"
npm install --ignore-scripts --no-audit --no-fund --loglevel=error
log "rebuilding argon2"
npm_config_yes=true npm rebuild argon2 --loglevel=error >/dev/null
VS=node_modules/code-server/lib/vscode
log "installing VS Code's own modules"
(cd "$VS" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
(cd "$VS" && npm_config_yes=true npm rebuild kerberos node-pty @parcel/watcher @vscode/spdlog native-watchdog @vscode/deviceid --loglevel=error >/dev/null)
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$VS/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$VS/node_modules.asar"
ln -sfn code-linux.sh "$VS/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$VS/bin/helpers/browser.sh"
(cd "$VS/extensions" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
cfg=$(mktemp -d)
version=$(node_modules/.bin/code-server --config "$cfg/config.yaml" --version 2>/dev/null | grep -m1 -E '^[0-9]+\.' || true)
rm -rf "$cfg"
case "$version" in
  4.100.3*) ;;
  *) log "code-server did not install right: '$version'"; exit 1 ;;
esac
echo "$WANT" > "$MARKER"
log "ready ($version) in $(( $(date +%s) - started )) s"
