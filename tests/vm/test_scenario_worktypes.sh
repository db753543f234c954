#!/usr/bin/env bash
# Every constructible work type runs under `ktstr run --work-type` and does
# work: one VM boot (4 CPUs), one short swappable scenario per type. For each
# type: the debug log shows the override reached the workers, no worker is
# reported starved (0 work units), and every cgroup counted iterations;
# ForkExit's progress gaps are measured per iteration.
# (Fairness verdicts are not asserted here: under TCG they are noisy. FanOutCompute
# gets 3 s: one round of its 5 matrix products can take over a second under TCG.
# Workers per cgroup = the type's group size, else 2: few workers per CPU keeps a
# guest that the loaded host freezes for a while from starving one for a whole run.)
set -eu
. "$(dirname "$0")/lib_shell.sh"

types="CpuSpin YieldHeavy Mixed IoSync Bursty PipeIo FutexPingPong FutexFanOut CachePressure
CacheYield CachePipe ForkExit NiceSweep AffinityChurn PolicyChurn FanOutCompute PageFaultChurn
MutexContention"
script='export KTSTR_LOG=scenario=debug; for t in '$(echo $types)'; do
	case $t in FutexFanOut) w=5 d=2 ;; FanOutCompute) w=5 d=3 ;; MutexContention) w=4 d=2 ;;
	*) w=2 d=2 ;; esac
	ktstr run --json --duration $d --workers $w --filter cgroup_uneven_steady --work-type $t \
		>/tmp/o.json 2>/tmp/e.log; rc=$?
	its=$(sed -n "s/.*\"total_iterations\": *\([0-9]*\).*/\1/p" /tmp/o.json | sort -n | head -1)
	gap=$(sed -n "s/.*\"max_gap_ms\": *\([0-9]*\).*/\1/p" /tmp/o.json | sort -n | tail -1)
	echo "R $t rc=$rc starved=$(grep -c starved /tmp/o.json) spawned=$(grep -c "spawned [0-9]* $t worker" /tmp/e.log) gap=${gap:-none} min_iters=${its:-none}"
done'
kshell --topology 1,2,2,1 --exec "$script"
[ $rc = 0 ] || { show; fail "ktstr shell exit $rc"; }
for t in $types; do
	line=$(grep "^R $t " "$TMP/out") || { show; fail "work type $t: no result line"; }
	case "$line" in *" rc=0 "* | *" rc=1 "*) ;; *) show; fail "$t: ktstr run error: $line" ;; esac
	case "$line" in *" starved=0 "*) ;; *) show; fail "$t: starved workers: $line" ;; esac
	case "$line" in *" spawned=0 "*) show; fail "$t: override not applied: $line" ;; esac
	its=${line##*min_iters=}
	[ "$its" != none ] && [ "$its" -gt 0 ] || { show; fail "$t: no iterations: $line"; }
done
# A ForkExit iteration is one unit: its progress gaps are measured per
# fork and reap (checkpoints by time), not once in 1024 of them (none in a
# 2 s run under TCG, so max_gap_ms 0; 6 s "stuck" at 20 s).
line=$(grep "^R ForkExit " "$TMP/out")
g=${line##* gap=}; g=${g%% *}
[ "$g" != none ] && [ "$g" -ge 1 ] && [ "$g" -lt 2000 ] || { show; fail "ForkExit: gap not measured per iteration: $line"; }
check_no_leftover_qemu
echo "ok: all $(echo $types | wc -w) work types ran and did work"
