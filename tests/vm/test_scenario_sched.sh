#!/usr/bin/env bash
# `ktstr run` under real sched_ext schedulers, one VM boot (4 CPUs, 2 LLCs):
#  - under scx_simple, cgroup_steady (and nested_cgroup_steady) pass;
#  - under `scx_qmap -t 2` (stalls every 2nd user-thread enqueue) a short run
#    fails with a starvation / gap / scheduler-death message and exit 1.
# SCHED_PID is exported so `ktstr run` watches the scheduler process.
set -eu
. "$(dirname "$0")/lib_shell.sh"

json=$("$KTSTR_BIN" kernel resolve --json) || fail "cannot resolve the test kernel"
sched_dir=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sched_dir") or "")')
if [ -z "$sched_dir" ] || [ ! -x "$sched_dir/scx_simple" ]; then
	dir=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("dir") or "")')
	sched_dir=$dir/tools/sched_ext/build/bin
fi
for s in scx_simple scx_qmap; do
	[ -x "$sched_dir/$s" ] || fail "no $s for the test kernel (looked in $sched_dir)"
done

script='
scx_simple >/tmp/simple.log 2>&1 & S=$!
i=0; while [ "$(cat /sys/kernel/sched_ext/state 2>/dev/null)" != enabled ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
echo "simple_state=$(cat /sys/kernel/sched_ext/state) ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)"
SCHED_PID=$S ktstr run --duration 2 --filter cgroup_steady; echo "rc_simple=$?"
kill -INT $S; wait $S
i=0; while [ "$(cat /sys/kernel/sched_ext/state)" != disabled ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
scx_qmap -t 2 >/tmp/qmap.log 2>&1 & Q=$!
sleep 1
SCHED_PID=$Q ktstr run --duration 2 --filter cgroup_steady/default; echo "rc_qmap=$?"
kill -INT $Q 2>/dev/null; wait $Q
echo "qmap_log_tail: $(tail -1 /tmp/qmap.log)"
echo "left: [$(ls -d /sys/fs/cgroup/ktstr* 2>/dev/null)]"
'
kshell --topology 1,2,2,1 -i "$sched_dir/scx_simple" -i "$sched_dir/scx_qmap" --exec "$script"
[ $rc = 0 ] || { show; fail "ktstr shell exit $rc"; }
out=$TMP/out
grep -q '^simple_state=enabled ops=simple' "$out" || { show; fail "scx_simple did not attach"; }
grep -q '^\[PASS\] cgroup_steady/default' "$out" || { show; fail "cgroup_steady did not pass under scx_simple"; }
grep -q '^rc_simple=0' "$out" || { show; fail "run under scx_simple: exit status"; }
grep -q '^qmap_log_tail: .*stall' "$out" || { show; fail "scx_qmap did not report its stall"; }
grep -q '^\[FAIL\] cgroup_steady/default' "$out" || { show; fail "stalling scx_qmap not detected"; }
grep -Eq '^  (tid [0-9]+ starved \(0 work units\)|stuck [0-9]+ms on cpu[0-9]+ at \+[0-9]+ms|scheduler process died unexpectedly)' "$out" ||
	{ show; fail "no starvation/gap/scheduler-death message"; }
grep -q '^rc_qmap=1' "$out" || { show; fail "failed run must exit 1"; }
grep -q '^left: \[\]' "$out" || { show; fail "cgroups left behind"; }
check_no_leftover_qemu
echo "ok: passes under scx_simple, stall under scx_qmap -t 2 detected"
