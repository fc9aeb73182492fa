#!/usr/bin/env bash
# Installs what BEAM Lens needs on a fresh Debian machine with Node 20 (run as root or with sudo):
# Erlang/OTP + Elixir from apt when missing, npm packages, then builds the bundles.
# Usage: scripts/setup.sh [--e2e]   (--e2e also installs what the end-to-end tests need)
set -euo pipefail
cd "$(dirname "$0")/.."

want_e2e=0
[ "${1:-}" = "--e2e" ] && want_e2e=1

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    log "need root to run: $* (re-run as root or install sudo)"; exit 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v erl >/dev/null 2>&1 || missing+=(erlang-nox)
# erlang-dev carries the headers and is what the apt 'elixir' package expects next to erlang-nox.
dpkg -s erlang-dev >/dev/null 2>&1 || missing+=(erlang-dev)
command -v elixir >/dev/null 2>&1 || missing+=(elixir)
# erlang-nox pulls compiler/runtime_tools; the demo and probe also need these:
[ -d /usr/lib/erlang/lib ] && ls /usr/lib/erlang/lib | grep -q '^runtime_tools-' || missing+=(erlang-runtime-tools)
if [ "$want_e2e" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
fi
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

# The real-system tests (test/integration/real-*.test.ts) start RabbitMQ and ejabberd from Debian
# themselves, isolated; the packages must not start their own system services on install, so a
# policy-rc.d refuses service starts while apt runs. BEAM_LENS_SKIP_REAL_SYSTEMS=1 skips them.
real=()
if [ "${BEAM_LENS_SKIP_REAL_SYSTEMS:-0}" != 1 ]; then
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || real+=(rabbitmq-server)
  [ -x /usr/sbin/ejabberdctl ] || real+=(ejabberd)
fi
if [ "${#real[@]}" -gt 0 ] && ! { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; }; then
  log "not root: not installing ${real[*]}; the real-system tests will be skipped"
elif [ "${#real[@]}" -gt 0 ]; then
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d' && policy_added=1
  fi
  apt_install "${real[@]}" || log "could not install ${real[*]}: the real-system tests will be skipped"
  [ "$policy_added" = 1 ] && as_root rm -f /usr/sbin/policy-rc.d
fi

# EPMD must be running for nodes to register; `epmd -daemon` is a no-op when it already runs.
epmd -daemon

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "building"
npm run --silent build
