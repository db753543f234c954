#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Wall time of `ktstr stats compare A B` over N synthetic sidecars (half per
# run, tests/gen_sidecars.py; ten tests slowed in B), against a baseline in
# the same script: `ktstr stats list-values` over the same pool, which reads
# and parses every sidecar through the same reader and does nothing else.
# The ratio compare/baseline is the gate's own cost on top of parsing.
#
# Usage: bench/stats_compare.sh [N [RUNS]]   (default 1000 sidecars, 5 runs;
# medians are printed)
set -eu
cd "$(dirname "$0")/.."
KTSTR_BIN=${KTSTR_BIN:-$PWD/build/ktstr}
n=${1:-1000}
runs=${2:-5}
tmp=$(mktemp -d /tmp/ktstr-bench-stats.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
root=$KTSTR_TARGET_DIR/ktstr
half=$((n / 2))
slow=()
for i in 3 17 42 77 101 150 199 230 311 420; do
	[ "$i" -lt "$half" ] && slow+=(--slow "$(printf 't%04d' "$i")=1.5")
done
python3 tests/gen_sidecars.py "$root/6.12.117-aaaaaaa" "$half" --commit aaaaaaa --seed 1
python3 tests/gen_sidecars.py "$root/6.12.117-bbbbbbb" "$half" --commit bbbbbbb --seed 2 "${slow[@]}"

# median wall seconds of "$@" over $runs runs (exit status ignored)
median() {
	local t=()
	for _ in $(seq "$runs"); do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s.%N)
		t+=("$(echo "$e - $s" | bc)")
	done
	printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

cmp=$(median "$KTSTR_BIN" stats compare 6.12.117-aaaaaaa 6.12.117-bbbbbbb)
base=$(median "$KTSTR_BIN" stats list-values)
rc=0
"$KTSTR_BIN" stats compare 6.12.117-aaaaaaa 6.12.117-bbbbbbb >"$tmp/out" 2>&1 || rc=$?
regs=$(sed -n 's/^summary: \([0-9]*\) regressions.*/\1/p' "$tmp/out")
printf 'stats compare: %d sidecars, median of %d: compare %.3fs, parse-only baseline (list-values) %.3fs, ratio %.2f; exit %d, %s regressions\n' \
	"$n" "$runs" "$cmp" "$base" "$(echo "$cmp / $base" | bc -l)" "$rc" "$regs"
