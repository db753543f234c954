#!/usr/bin/env bash
# The kernel's own sched_ext selftests (tools/testing/selftests/sched_ext,
# the `runner` binary) in a ktstr VM, repeated: the check that the VM
# engine (accelerator, TCG threading) does not break a healthy kernel.
# Builds the runner from the kernel source tarball against the cached
# kernel's config and BTF, then boots `ktstr shell --topology T -i runner`
# RUNS times and prints per run the runner's PASSED/SKIPPED/FAILED line and
# the wall time, then a summary. Exit 1 if any run failed or crashed.
#
# Usage: bench/sched_ext_selftests.sh [-n RUNS] [-t TOPOLOGY] [-S TREE]
#   -n RUNS      boots (default 10)
#   -t TOPOLOGY  N,L,C,T (default 1,1,4,1: 4 vCPUs)
#   -S TREE      an extracted kernel source tree to build in (default: the
#                tarball $KTSTR_KERNEL_SOURCE, else
#                /usr/src/linux-source-6.12.tar.xz, extracted to a temp dir)
# Environment: KTSTR_BIN (default build/ktstr), the kernel from the implicit
# chain like every command, KTSTR_BENCH_LOCK=FILE to hold flock(FILE) around
# each boot (boots only; the build runs outside it).
set -eu
cd "$(dirname "$0")/.."
KTSTR_BIN=${KTSTR_BIN:-$PWD/build/ktstr}
runs=10 topo=1,1,4,1 tree=
while getopts n:t:S: o; do
	case $o in
	n) runs=$OPTARG ;;
	t) topo=$OPTARG ;;
	S) tree=$OPTARG ;;
	*) sed -n '2,18p' "$0" >&2; exit 2 ;;
	esac
done
unset RUST_BACKTRACE KTSTR_VERBOSE

json=$("$KTSTR_BIN" kernel resolve --json)
get() { printf '%s' "$json" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1') or '')"; }
vmlinux=$(get vmlinux) dir=$(get dir)
[ -f "$vmlinux" ] || { echo "bench: the kernel has no vmlinux (BTF needed): $vmlinux" >&2; exit 1; }
config=$dir/config
[ -f "$config" ] || config=$dir/.config
[ -f "$config" ] || { echo "bench: no config beside the kernel in $dir" >&2; exit 1; }

tmp=$(mktemp -d /tmp/ktstr-selftests.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$tree" ]; then
	src=${KTSTR_KERNEL_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
	echo "bench: extracting $src"
	tar -C "$tmp" -xf "$src"
	tree=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
fi
cp "$config" "$tree/.config"
# The BPF compiler ktstr's kernel build uses for tools/sched_ext.
clang=clang strip=llvm-strip
for v in 20 19 18 17 16 15; do
	if command -v clang-$v >/dev/null; then clang=clang-$v strip=llvm-strip-$v; break; fi
done
echo "bench: building the selftests runner ($clang, BTF of $vmlinux)"
t0=$(date +%s.%N)
make -C "$tree/tools/testing/selftests/sched_ext" -j"$(nproc)" CLANG=$clang LLVM_STRIP=$strip \
	VMLINUX_BTF="$vmlinux" >"$tmp/build.log" 2>&1 ||
	{ tail -30 "$tmp/build.log" >&2; echo "bench: runner build failed" >&2; exit 1; }
runner=$tree/tools/testing/selftests/sched_ext/runner
printf 'bench: runner built in %.0fs\n' "$(echo "$(date +%s.%N) - $t0" | bc)"

lock() { if [ -n "${KTSTR_BENCH_LOCK:-}" ]; then flock "$KTSTR_BENCH_LOCK" "$@"; else "$@"; fi; }
ok=0 bad=0 walls=
for i in $(seq "$runs"); do
	rc=0
	# The wall time is taken inside the lock: waiting for it is not the run's.
	lock bash -c 'date +%s.%N >"$1/t0"; "${@:2}"; r=$?; date +%s.%N >"$1/t1"; exit $r' _ \
		"$tmp" "$KTSTR_BIN" shell --topology "$topo" -i "$runner" \
		--exec 'runner -q; echo "runner_rc=$?"' </dev/null >"$tmp/out" 2>"$tmp/err" || rc=$?
	wall=$(echo "$(cat "$tmp/t1") - $(cat "$tmp/t0")" | bc)
	walls="$walls $wall"
	line=$(grep -E '^(PASSED|SKIPPED|FAILED): *[0-9]+' "$tmp/out" | tr -s ' ' | tr '\n' ' ' || true)
	accel=$(grep -m1 'ktstr: accel:' "$tmp/err" || true)
	[ "$i" = 1 ] && echo "bench: ${accel#ktstr: }"
	if [ $rc = 0 ] && grep -qx 'runner_rc=0' "$tmp/out" && [ -n "$line" ] &&
		! grep -qiE 'Oops|BUG:|panic' "$tmp/out" "$tmp/err"; then
		ok=$((ok + 1))
		printf 'run %2d: ok   %s (%.1fs)\n' "$i" "$(echo $line)" "$wall"
	else
		bad=$((bad + 1))
		printf 'run %2d: FAIL exit %s %s (%.1fs)\n' "$i" "$rc" "$(echo $line)" "$wall"
		grep -E 'FAIL|not ok|Oops|BUG:|panic|error' "$tmp/out" "$tmp/err" | head -20 | sed 's/^/    | /'
	fi
done
echo "$walls" | tr ' ' '\n' | sed '/^$/d' | sort -n |
	awk -v ok=$ok -v bad=$bad -v t="$topo" '{a[NR]=$1; s+=$1}
	END {printf "sched_ext selftests, topology %s: %d of %d runs passed whole; wall median %.1fs, mean %.1fs, max %.1fs\n",
		t, ok, ok+bad, (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2, s/NR, a[NR]}'
[ $bad = 0 ]
