#!/usr/bin/env bash
# The main job on the bundled demo node: installs what is missing, starts the demo Elixir node
# (test/fixtures/demo, with known pathologies), samples it read-only and writes the diagnostic
# report, prints where it is and a short summary, then stops the node it started.
# Usage: scripts/demo.sh [--duration S] [--out FILE.md]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

duration=10
out="$root/beam-lens-demo-report.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: scripts/demo.sh [--duration S] [--out FILE.md]" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh

work=$(mktemp -d)
name="bl_demo_$$"
host=$(hostname -s)
node="$name@$host"
cookie_file="$work/cookie"
(umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$cookie_file")

pid=""
stop_node() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_node EXIT INT TERM

echo "starting the demo node $node (compiling it the first time)…" >&2
test/fixtures/demo/start.sh "$name" "$(cat "$cookie_file")" > "$work/demo.log" 2>&1 &
pid=$!

# Wait until it answers (registered in EPMD and the demo application is up), with a deadline.
deadline=$((SECONDS + 180))
until ./bin/beam-lens ping --node "$node" --cookie-file "$cookie_file" >/dev/null 2>&1 \
      && ./bin/beam-lens tree --node "$node" --cookie-file "$cookie_file" --app demo >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then echo "the demo node exited; its log:" >&2; cat "$work/demo.log" >&2; exit 1; fi
  if [ $SECONDS -ge $deadline ]; then echo "the demo node did not come up within 180 s; its log:" >&2; cat "$work/demo.log" >&2; exit 1; fi
  sleep 0.5
done

# Let the pathologies show for a moment (the mailbox needs to have started growing).
./bin/beam-lens report --node "$node" --cookie-file "$cookie_file" --duration "$duration" --out "$out"
