#!/usr/bin/env bash
# Times beam_lens_probe:top_processes/4 against a direct one-pass evaluation on a node
# with N extra idle processes (default 100000). 1,000,000 processes need ~3 GB of RAM.
#
#   test/probe/bench.sh [N]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
count="${1:-100000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

erlc -o "$out" "$here/probe_test.erl" "$here/probe_bench.erl"
exec erl -noshell +P 2000000 -pa "$out" \
  -run probe_bench main "$root/probe/beam_lens_probe.erl" "$count"
