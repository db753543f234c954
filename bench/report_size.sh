#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Size and build time of `ktstr report` for a run of N synthetic tests
# (tests/tools/report_fixture.c, written by the real sidecar writer): one
# run alone, then two runs compared, each without and with monitor samples
# (SAMPLES per sampled test, 4 CPUs, every 5th test). Prints bytes, bytes
# per test result and the wall time of `ktstr report`.
#   bench/report_size.sh [N=100] [SAMPLES=100]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${KTSTR_BIN:-$repo/build/ktstr}
fixture=$(dirname "$bin")/tests/report-fixture
n=${1:-100}
samples=${2:-100}
[ -x "$fixture" ] || { echo "missing $fixture (make build/tests/report-fixture)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-report-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$fixture" "$tmp/a" "$n" 0 0
"$fixture" "$tmp/b" "$n" 20 0
"$fixture" "$tmp/sa" "$n" 0 "$samples"
"$fixture" "$tmp/sb" "$n" 20 "$samples"
one() { # label dirs...
	local label=$1 t0 t1 size results
	shift
	t0=$(date +%s%N)
	"$bin" report -o "$tmp/r.html" "$@" 2>/dev/null
	t1=$(date +%s%N)
	size=$(stat -c %s "$tmp/r.html")
	results=$(( $# * n ))
	printf '%-40s %9d bytes  %6d bytes/result  %5d ms\n' "$label" "$size" \
		$((size / results)) $(((t1 - t0) / 1000000))
}
one "$n tests, 1 run" "$tmp/a"
one "$n tests, 2 runs compared" "$tmp/a" "$tmp/b"
one "$n tests, 1 run, $samples monitor samples" "$tmp/sa"
one "$n tests, 2 runs, $samples monitor samples" "$tmp/sa" "$tmp/sb"
