#!/usr/bin/env bash
# Runs the probe's Erlang tests (test/probe/probe_test.erl) in a fresh distributed node.
# Prints one line per test and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

erlc -o "$out" "$here/probe_test.erl" "$here/probe_profile_test.erl" "$here/probe_telemetry_test.erl"

# The DynamicSupervisor test needs Elixir's ebin; it is skipped when Elixir is missing.
pa=(-pa "$out")
if command -v elixir >/dev/null 2>&1; then
  pa+=(-pa "$(elixir -e 'IO.write(:code.lib_dir(:elixir, :ebin))')")
fi

# The telemetry tests need the real library: ../shared/testdeps/telemetry next to the repository
# (in a git worktree, next to its main checkout), compiled here; skipped with a line when absent.
common="$(git -C "$root" rev-parse --git-common-dir 2>/dev/null || true)"
for tdir in "$root/../shared/testdeps/telemetry" ${common:+"$(cd "$root" && cd "$(dirname "$common")" && pwd)/../shared/testdeps/telemetry"}; do
  if [ -f "$tdir/src/telemetry.erl" ]; then
    mkdir -p "$out/telemetry/ebin"
    erlc -I "$tdir/src" -o "$out/telemetry/ebin" "$tdir"/src/*.erl
    cp "$tdir/src/telemetry.app.src" "$out/telemetry/ebin/telemetry.app"
    pa+=(-pa "$out/telemetry/ebin")
    break
  fi
done

exec erl -noshell -sname "probe_test_$$" -setcookie "probe_test_$$_$RANDOM" "${pa[@]}" \
  -run probe_test main "$root/probe/beam_lens_probe.erl"
