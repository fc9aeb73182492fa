#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, type-checks, lints, then runs the unit,
# probe (Erlang-side) and integration tests against real Erlang/Elixir nodes, and end-to-end tests
# when they exist. Ends with one line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "setup failed"; exit 1; }

passed=0; failed=0; skipped=0; status=0
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

count_mocha() { # $1 = log file
  local p f s
  p=$(grep -Eo '^ +[0-9]+ passing' "$1" | grep -Eo '[0-9]+' | tail -1); f=$(grep -Eo '^ +[0-9]+ failing' "$1" | grep -Eo '[0-9]+' | tail -1)
  s=$(grep -Eo '^ +[0-9]+ pending' "$1" | grep -Eo '[0-9]+' | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
}

step() { # name, command...
  local name=$1; shift
  echo "== $name"
  if ! "$@" 2>&1 | tee "$logdir/$name.log"; then
    echo "== $name FAILED"; status=1
    return 1
  fi
}

step typecheck npm run --silent typecheck || failed=$((failed + 1))
step lint npx eslint . || failed=$((failed + 1))
step unit npx mocha --config .mocharc.unit.json; count_mocha "$logdir/unit.log"
if [ -x test/probe/run.sh ]; then
  step probe test/probe/run.sh
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logdir/probe.log" | tail -1)
  passed=$((passed + $(echo "${line:-0 passed}" | grep -Eo '^[0-9]+'))); failed=$((failed + $(echo "${line:-0 passed, 0 failed}" | grep -Eo '[0-9]+ failed' | grep -Eo '[0-9]+' || echo 0)))
fi
step integration npx mocha --config .mocharc.integration.json; count_mocha "$logdir/integration.log"
if [ -f test/e2e/run.sh ]; then
  step e2e bash test/e2e/run.sh; count_mocha "$logdir/e2e.log"
fi

# Nodes left in EPMD by the suite would be a leak.
# A node that has just exited leaves EPMD a moment later: look again for up to 10 s.
for _ in $(seq 1 20); do
  leftover=$(epmd -names 2>/dev/null | grep -E '^name (bl_|blrmq_|blej_|beam_lens)' || true)
  [ -z "$leftover" ] && break
  sleep 0.5
done
if [ -n "$leftover" ]; then echo "test nodes left running:"; echo "$leftover"; status=1; failed=$((failed + 1)); fi

[ "$failed" -gt 0 ] && status=1
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
