#!/usr/bin/env bash
# The fault matrix, the faults that boot a VM (docs/fault-matrix.md). Each
# must end by itself with its own explanation and leave nothing behind
# (check_nothing_left_behind: no QEMU or test process, no run directory,
# no partial sidecar):
#  - under `ktstr test`, in parallel: the guest's init exiting, the guest
#    running out of memory, a scheduler that exits at once and one that
#    never attaches; a passing test whose sidecar cannot be written (full
#    disk) shows the warning;
#  - a truncated kernel image;
#  - Ctrl-C during a boot, of `ktstr test` (during a run: test_shell_failures.sh
#    and test_scenario_cgroups.sh; the report of `ktstr test`: test_faults_host.sh).
set -eu
. "$(dirname "$0")/lib_shell.sh"
build=$(dirname "$KTSTR_BIN")
bin=$build/tests/ktstr-vmtests
[ -x "$bin" ] || fail "missing $bin (run make examples)"
[ "$(id -u)" = 0 ] || fail "needs root to mount a small tmpfs"
trap 'umount "$TMP/full" 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir "$TMP/full"
mount -t tmpfs -o size=64k ktstr-full "$TMP/full"
head -c 1M /dev/zero >"$TMP/full/fill" 2>/dev/null || true
export KTSTR_TARGET_DIR=$TMP/target

# ---- failing guests, four VMs two at a time ------------------------------------
set +e
KTSTR_SIDECAR_DIR=$TMP/full/sidecars timeout -k 5 300 "$KTSTR_BIN" test -j 2 \
	-E fault_ -E eevdf_quick "$bin" </dev/null >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
[ $rc = 1 ] || { show; fail "ktstr test of the faults: exit $rc, want 1"; }
grep -q '^1 passed, 4 failed, 0 skipped' "$TMP/out" || { show; fail "want 1 passed, 4 failed"; }
# section NAME: the report of ktstr/NAME (from its first line to its FAIL line)
section() { awk -v n="ktstr/$1" '{buf = buf $0 "\n"} $0 ~ "^(FAIL|PASS) " n " " {print buf} /^(FAIL|PASS|SKIP) ktstr\//{buf = ""}' "$TMP/err"; }
expect() { # NAME REGEX WHAT
	section "$1" | grep -Eq -- "$2" || { section "$1" >&2; fail "$1: $3"; }
}
expect fault_init_exits 'its test process exited with status 3 before sending one' \
	"no report of init exiting with status 3"
expect fault_guest_oom 'the guest ran out of memory: Out of memory: Killed process [0-9]+ ' "no report of the guest running out of memory"
expect fault_sched_exits "scheduler 'exits_at_once': scheduler exited during startup \(exit status 1\)" \
	"no report of the scheduler's exit"
expect fault_sched_never_attaches "scheduler 'never_attaches' did not attach to sched_ext \(timeout after [0-9.]+ s\)" \
	"no report of the scheduler not attaching"
grep -q "^ktstr: warning: sidecar not written: write $TMP/full/sidecars/eevdf_quick-[0-9a-f]*\.ktstr\.json: No space left on device$" \
	"$TMP/err" || { show; fail "a passing test's lost sidecar is not reported"; }
check_nothing_left_behind "$TMP/full/sidecars" "$KTSTR_TARGET_DIR"
echo "ok: init exit, guest OOM, scheduler exit and no-attach explained; lost sidecar reported"

# ---- a truncated kernel image ---------------------------------------------------
img=$("$KTSTR_BIN" kernel resolve --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])') ||
	fail "cannot resolve the test kernel"
head -c $(($(stat -c %s "$img") / 2)) "$img" >"$TMP/truncated"
kshell --kernel "$TMP/truncated" --timeout 30 --exec true
[ $rc != 0 ] || { show; fail "a truncated kernel exited 0"; }
grep -q "^ktstr: error: kernel image $TMP/truncated: truncated" "$TMP/err" ||
	{ show; fail "truncated kernel: no clear error"; }
check_nothing_left_behind
echo "ok: a truncated kernel image is one clear error"

# ---- Ctrl-C -----------------------------------------------------------------------
# during a boot: as soon as the machine process exists
qemu_up() { # prints nothing; true when a QEMU of this test runs
	local p
	for p in /proc/[0-9]*; do
		case "$(cat "$p/comm" 2>/dev/null)" in qemu*) ;; *) continue ;; esac
		tr "\0" "\n" 2>/dev/null <"$p/environ" | grep -qx "KTSTR_VMTEST_TAG=$KTSTR_VMTEST_TAG" && return 0
	done
	return 1
}
: >"$TMP/mark"
( for i in $(seq 600); do qemu_up && { echo up >"$TMP/mark"; break; }; sleep 0.05; done ) &
interrupt_when up "$TMP/mark" 60 "$KTSTR_BIN" test -j 1 -E eevdf_quick -E fault_sched_exits "$bin"
[ $rc = 130 ] || { show; fail "Ctrl-C during a boot: exit $rc, want 130"; }
grep -q "^interrupted by SIGINT after [0-9.]*s: 0 passed, 0 failed, 0 skipped, 0 inconclusive, 1 interrupted, 1 never ran$" \
	"$TMP/out" || { show; fail "Ctrl-C during a boot: no interruption summary"; }
grep -q "^  interrupted: ktstr/eevdf_quick " "$TMP/out" || { show; fail "Ctrl-C during a boot: test not named"; }
grep -qx "  never ran: ktstr/fault_sched_exits" "$TMP/out" || { show; fail "Ctrl-C during a boot: never-run test not named"; }
check_nothing_left_behind "$KTSTR_TARGET_DIR"
echo "ok: Ctrl-C during a boot"
