#!/usr/bin/env bash
# Runs the probe's Erlang tests (test/probe/probe_test.erl) in a fresh distributed node.
# Prints one line per test and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

erlc -o "$out" "$here/probe_test.erl" "$here/probe_profile_test.erl"

# The DynamicSupervisor test needs Elixir's ebin; it is skipped when Elixir is missing.
pa=(-pa "$out")
if command -v elixir >/dev/null 2>&1; then
  pa+=(-pa "$(elixir -e 'IO.write(:code.lib_dir(:elixir, :ebin))')")
fi

exec erl -noshell -sname "probe_test_$$" -setcookie "probe_test_$$_$RANDOM" "${pa[@]}" \
  -run probe_test main "$root/probe/beam_lens_probe.erl"
