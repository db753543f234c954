#!/usr/bin/env bash
# What KASLR costs a boot: wall time of `ktstr shell --exec true` (KASLR on,
# the default: the bzImage, whose decompressor relocates the kernel) against
# `ktstr shell --no-kaslr --exec true` (nokaslr, the PVH vmlinux entry), to
# power-off, on 1 and 4 vCPUs (one LLC). Runs are interleaved so load
# changes hit both; prints medians and the ratio kaslr/nokaslr.
#
# Usage: bench/kaslr_boot.sh [RUNS]   (default 3; KTSTR_BIN, kernel via the
# implicit chain or KTSTR_KERNEL like every other command). Boots VMs: run
# it under the VM lock on a shared machine.
set -eu
cd "$(dirname "$0")/.."
KTSTR_BIN=${KTSTR_BIN:-$PWD/build/ktstr}
runs=${1:-3}
unset RUST_BACKTRACE KTSTR_VERBOSE

tmp=$(mktemp -d /tmp/ktstr-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
boot() { # NAME CPUS [ARGS...]: one boot, wall seconds appended to $tmp/NAME
	local name=$1 cpus=$2 t0 t1
	shift 2
	t0=$(date +%s.%N)
	"$KTSTR_BIN" shell --topology "1,1,$cpus,1" "$@" --exec true </dev/null >/dev/null 2>"$tmp/err" ||
		{ echo "bench: ktstr shell $* failed:" >&2; cat "$tmp/err" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >>"$tmp/$name"
}
echo "kernel: $("$KTSTR_BIN" kernel resolve --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["label"])')"
echo "medians of $runs runs (wall s)   kaslr  nokaslr  ratio"
for cpus in 1 4; do
	boot warm "$cpus" # page cache, first-run costs
	for i in $(seq 1 "$runs"); do
		boot "k$cpus" "$cpus"
		boot "n$cpus" "$cpus" --no-kaslr
	done
	k=$(median <"$tmp/k$cpus") n=$(median <"$tmp/n$cpus")
	printf '%d vCPU%-22s %6.2f  %7.2f  %5.3f\n' "$cpus" "$([ "$cpus" = 1 ] || echo s)" "$k" "$n" \
		"$(echo "scale=3; $k / $n" | bc)"
done
