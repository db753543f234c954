#!/usr/bin/env bash
# Host CPU cost of the host monitor (src/monitor): the same 8-vCPU test
# (EEVDF, steady scenario, 10 s; bench/monitor_cost.c) run with the monitor
# off (KTSTR_MONITOR=0) and on at 100 ms, then on at 10 ms to see the sample
# rate it sustains. Prints per run:
#  - the test process's own CPU time (all its threads, not QEMU), sampled
#    from /proc/PID/stat while it runs, and the on/off ratio;
#  - the monitor's own CPU time (its ticks, CLOCK_THREAD_CPUTIME_ID) as a
#    fraction of one core over the sampling span (goal at 100 ms with 8
#    vCPUs: <= 1 %), and samples/s.
# Boots VMs: run under `flock /work/vm.lock` on a shared machine.
#
# Usage: bench/monitor_cost.sh [RUNS]   (default 2 per setting; KTSTR_BIN's
# libktstr.a next to it, kernel via the implicit chain or KTSTR_KERNEL)
set -eu
cd "$(dirname "$0")/.."
KTSTR_BIN=${KTSTR_BIN:-$PWD/build/ktstr}
runs=${1:-2}
lib=$(dirname "$KTSTR_BIN")/libktstr.a
[ -f "$lib" ] || { echo "bench: no $lib (run make)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
gcc -std=gnu11 -O1 -Wall -Werror -Iinclude -static -o "$tmp/t" bench/monitor_cost.c "$lib" \
	-ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm

tck=$(getconf CLK_TCK)
# run NAME ENV...: one run; appends "self_cpu_s wall_s" to $tmp/NAME and the sidecar's monitor fields
run() {
	local name=$1 pid last=0 t0 t1 st rc
	shift
	rm -rf "$tmp/sc"
	t0=$(date +%s.%N)
	env KTSTR_SIDECAR_DIR="$tmp/sc" "$@" "$tmp/t" --exact ktstr/monitor_cost_8cpu \
		>"$tmp/out" 2>&1 &
	pid=$!
	# utime+stime of the process (fields 14, 15: its threads, not its children)
	while st=$(cat /proc/$pid/stat 2>/dev/null); do
		last=$(echo "$st" | sed 's/.*) //' | awk '{print $12 + $13}')
		sleep 0.1
	done
	wait $pid && rc=0 || rc=$?
	t1=$(date +%s.%N)
	if [ $rc != 0 ]; then
		echo "bench: $name run failed (exit $rc):" >&2
		tail -20 "$tmp/out" >&2
		exit 1
	fi
	python3 - "$tmp/sc" "$name" "$(echo "$last / $tck" | bc -l)" "$(echo "$t1 - $t0" | bc)" \
		>>"$tmp/$name" <<'PY'
import glob, json, sys
sc, name, cpu, wall = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
m = json.load(open(glob.glob(sc + "/*.ktstr.json")[0])).get("monitor") or {}
print(cpu, wall, m.get("host_cpu_ns", 0) / 1e9, m.get("sampling_span_s", 0),
      m.get("samples_per_s", 0), m.get("summary", {}).get("total_samples", 0),
      m.get("verdict", "-"))
PY
}
for i in $(seq "$runs"); do
	run off KTSTR_MONITOR=0
	run on100 KTSTR_MONITOR_INTERVAL_MS=100
	run on10 KTSTR_MONITOR_INTERVAL_MS=10
done
python3 - "$tmp" <<'PY'
import statistics as st, sys
d = sys.argv[1]
def num(x):
    try:
        return float(x)
    except ValueError:
        return x
rows = {n: [[num(x) for x in l.split()] for l in open(f"{d}/{n}")]
        for n in ("off", "on100", "on10")}
med = lambda n, i: st.median(r[i] for r in rows[n])
off = med("off", 0)
print(f"test process CPU (not QEMU), median of {len(rows['off'])}: "
      f"monitor off {off:.3f} s, on@100ms {med('on100', 0):.3f} s, on@10ms {med('on10', 0):.3f} s")
print(f"ratio on@100ms/off: {med('on100', 0) / off:.3f}   on@10ms/off: {med('on10', 0) / off:.3f}")
for n in ("on100", "on10"):
    cpu, span = med(n, 2), med(n, 3)
    print(f"{n}: monitor CPU {cpu * 1e3:.1f} ms over {span:.1f} s = {100 * cpu / span:.3f} % of a core, "
          f"{med(n, 4):.1f} samples/s ({int(med(n, 5))} samples, 8 vCPUs), "
          f"verdicts {','.join(r[6] for r in rows[n])}")
PY
