#!/usr/bin/env bash
# A vCPU the host does not run is not a scheduler stall. The whole machine
# is paused (SIGSTOP to the QEMU process) for 3 s while `ktstr run` measures
# cgroup_steady with one worker per CPU: each worker's 3 s gap is time its
# kernel counted as running, so the stuck check reports INCONCLUSIVE naming
# the cause (exit 2), not a FAIL blaming the scheduler.
set -eu
. "$(dirname "$0")/lib_shell.sh"

qemu_pid() {
	local p
	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in qemu*) ;; *) continue ;; esac
		if tr "\0" "\n" 2>/dev/null <"$p/environ" | grep -qx "KTSTR_VMTEST_TAG=$KTSTR_VMTEST_TAG"; then
			basename "$p"
			return
		fi
	done
}

kshell --topology 1,1,2,1 --exec \
	'echo calib_go; ktstr run --duration 8 --workers 1 --filter cgroup_steady/default; echo "rc=$?"' &
shell=$!
for _ in $(seq 600); do
	grep -q '^calib_go' "$TMP/out" 2>/dev/null && break
	sleep 0.1
done
grep -q '^calib_go' "$TMP/out" || { wait $shell || true; show; fail "the guest never started the scenario"; }
# into the measured window: ktstr run starts, cgroups, 0.5 s settle
sleep 3
q=$(qemu_pid)
[ -n "$q" ] || { wait $shell || true; show; fail "no QEMU process found"; }
kill -STOP "$q"
sleep 3
kill -CONT "$q"
wait $shell || true
grep -q '^\[INCONCLUSIVE\] cgroup_steady/default' "$TMP/out" ||
	{ show; fail "the paused run is not INCONCLUSIVE"; }
grep -q 'inconclusive: stuck [0-9]*ms on cpu[0-9]* at +[0-9]*ms, but the kernel counted the worker as running for [0-9]*ms of it' "$TMP/out" ||
	{ show; fail "the stuck detail does not name the unexecuted vCPU"; }
grep -qx 'rc=2' "$TMP/out" || { show; fail "ktstr run exit status (want 2)"; }
check_no_leftover_qemu
echo "host pause: stuck gap counted as running time -> INCONCLUSIVE"
