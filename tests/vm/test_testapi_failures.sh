#!/usr/bin/env bash
# Verdicts for schedulers and setups that must fail (tests/vm/vmtests.c):
#  - scx_qmap -t 2 (stall every 2nd user thread): the watchdog ejects it; the
#    report names the exit reason ("runnable task stall"); expect_err -> exit 0;
#    .watchdog_timeout_s = 2 took effect: the stall is reported after < 5 s
#    (qmap's own timeout) and the diagnostics say so; the guest booted with
#    KASLR (the override found the slid kernel through the guest kernel reader)
#  - scx_qmap -e 100: scx_bpf_error's message is in the report, exit 1
#  - a nonexistent scheduler path: clear error, exit 1
#  - a test body whose own check fails: exit 1
#  - each of these records its reason in the sidecar as data (failure kind
#    and phase, the scheduler's exit kind and message)
#  - a topology too big for the host: SKIP (exit 0), a failure under
#    KTSTR_NO_SKIP_MODE and under `ktstr test --no-skip-mode`
set -eu
: "${KTSTR_BIN:?}"
build=$(dirname "$KTSTR_BIN")
bin=$build/tests/ktstr-vmtests
[ -x "$bin" ] || { echo "missing $bin (run make examples)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-vm-fail.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
fail() { echo "FAIL: $*" >&2; cat "$tmp/log" >&2; exit 1; }

# The failure's reason is in the sidecar as data, not only in the report:
# sidecar_is NAME PYEXPR: NAME's sidecar (s = its JSON) satisfies PYEXPR.
# Run one test of the binary into $tmp/log; its exit status must be want.
run_expect() {
	rc=0; "$bin" --exact "ktstr/$1" >"$tmp/log" 2>&1 || rc=$?
	[ $rc -eq "$2" ] || fail "$1: exit $rc, want $2"
}

sidecar_is() {
	local f
	f=$(find "$KTSTR_TARGET_DIR" -name "$1-*.ktstr.json" | head -1)
	[ -n "$f" ] || fail "$1: no sidecar"
	python3 -c "import json,sys; s = json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
		"$f" || fail "$1: sidecar does not satisfy $2: $(cat "$f")"
}

# Missing scheduler (no VM boots).
rc=0; "$bin" --exact ktstr/missing_scheduler >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "missing scheduler: exit $rc, want 1"
grep -q "scheduler '/nonexistent/scx_missing' not found" "$tmp/log" || fail "missing scheduler message"
sidecar_is missing_scheduler 's["failure"]["kind"] == "scheduler_missing" and
	s["failure"]["phase"] == "before_attach" and "not found" in s["failure"]["message"]'

# Too-big topology: skip, or fail in no-skip mode.
rc=0; "$bin" --exact ktstr/too_big >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "too_big: exit $rc, want 0 (skip)"
grep -q "^ktstr: SKIP: topology needs 32 vCPUs" "$tmp/log" || fail "too_big skip message"
grep -q "^SKIP ktstr/too_big" "$tmp/log" || fail "too_big SKIP line"
rc=0; KTSTR_NO_SKIP_MODE=1 "$bin" --exact ktstr/too_big >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "too_big no-skip: exit $rc, want 1"
grep -q "cannot run (no-skip mode)" "$tmp/log" || fail "too_big no-skip message"
rc=0; "$KTSTR_BIN" test --no-skip-mode -E too_big "$bin" >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "ktstr test --no-skip-mode: exit $rc, want 1"
grep -q "^0 passed, 1 failed, 0 skipped" "$tmp/log" || fail "ktstr test --no-skip-mode summary"

# scx_qmap -e 100: scx_bpf_error message in the report.
rc=0; "$bin" --exact ktstr/qmap_bpf_error >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "qmap -e: exit $rc, want 1"
grep -q "ktstr_test 'qmap_bpf_error' \[sched=scx_qmap\] \[topo=1n1l2c1t\] failed:" "$tmp/log" ||
	fail "qmap -e: report header"
grep -q "test triggering error" "$tmp/log" || fail "qmap -e: scx_bpf_error message missing"
grep -q -- "--- scheduler log ---" "$tmp/log" || fail "qmap -e: scheduler log section"
sidecar_is qmap_bpf_error 's["failure"]["kind"] == "scheduler_error" and
	s["failure"]["phase"] == "workload" and s["scheduler_exit"]["kind"] == "error" and
	s["scheduler_exit"]["reason"] == "scx_bpf_error" and
	"test triggering error" in s["scheduler_exit"]["message"]'

# scx_qmap -t 2: stall verdict naming the exit reason; expected (expect_err).
rc=0; "$bin" --exact ktstr/qmap_stall >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "qmap -t: exit $rc, want 0 (expect_err)"
grep -q "failed as expected" "$tmp/log" || fail "qmap -t: not reported as an expected failure"
grep -q "^EXIT: runnable task stall" "$tmp/log" || fail "qmap -t: report does not lead with the exit reason"
secs=$(sed -n 's/^EXIT: runnable task stall (.* failed to run for \([0-9.]*\)s)$/\1/p' "$tmp/log" | head -1)
[ -n "$secs" ] || fail "qmap -t: no 'failed to run for' in the exit reason"
awk -v s="$secs" 'BEGIN { exit !(s < 5.0) }' ||
	fail "qmap -t: stall reported after ${secs}s: .watchdog_timeout_s=2 not applied (qmap's own is 5 s)"
grep -q "^sched_ext watchdog: 2 s (HZ=[0-9]*; the scheduler's own: 5.0 s), applied at 1 enable$" "$tmp/log" ||
	fail "qmap -t: diagnostics do not show the watchdog override"
sidecar_is qmap_stall 's["passed"] and s["failure"] is None and
	s["scheduler_exit"]["kind"] == "stall" and "failed to run for" in s["scheduler_exit"]["message"]'
sidecar_is qmap_stall 's["boot"] == {"kaslr": True, "image": "bzImage"}'
# A spread failure (limit 0.01 %) carries its evidence.
run_expect unfair_evidence 1
grep -Eq "^  unfair cgroup: spread=[0-9]+% \([0-9]+-[0-9]+%\) 3 workers on 2 cpus \\(threshold 0.01%\\)$" "$tmp/log" ||
	fail "unfair_evidence: no spread failure"
[ "$(grep -Ec '^      tid [0-9]+: off-CPU [0-9]+% of [0-9.]+s; kernel: ran [0-9.]+s, waited runnable [0-9.]+s \([0-9]+%\), [0-9]+ times on a CPU, [0-9]+ migrations; ran on cpu[01] ' "$tmp/log")" = 3 ] ||
	fail "unfair_evidence: not one evidence line per worker"
grep -Eq '^      cpu[01]: tasks waited [0-9.]+s in its queue, went idle [0-9]+ times; balancing over \{0-1\}: [1-9][0-9]* runs, ' "$tmp/log" ||
	fail "unfair_evidence: no balancer counters (kernel.sched_schedstats off?)"
# ... summed up in one line under the headline: workers and queue per CPU,
# the spread the placement alone and the queues alone make (the 3 workers
# spin: always runnable; the queues as sampled every 0.1 s while they ran),
# the balancer.
grep -A1 -E '^  unfair cgroup: spread=' "$tmp/log" | grep -Eq '^    why: for most of the run cpu0 held [a-z0-9 (),.%-]+queue [0-9]+\.[0-9]\), cpu1 held [a-z0-9 (),.%-]+queue [0-9]+\.[0-9]\); queue: tasks of any group waiting on that CPU, on average(; [0-9]+ moved between CPUs)?; (even|uneven): [0-9]+ (to [0-9]+ )?per CPU; sharing each CPU evenly among the group.s workers on it, this placement alone makes a spread of [0-9]+% \((never 2 or more apart|2 or more apart for ([0-9]+%|under 1%) of the run, longest ([0-9.]+-[0-9.]+s|under 0\.1 s, at [0-9.]+s):( cpu[01] held [0-9]+,?)+)\); waiting as the queues on their CPUs at the time imply \(sampled every 0\.1 s\) makes a spread of [0-9]+%; the load balancer ran [1-9][0-9]* times on these CPUs, found them balanced [0-9]+ times and pulled [0-9]+ tasks$' ||
	fail "unfair_evidence: no why line under the headline"
# Per-worker random affinity midrun: the spread detail is expected by design.
run_expect affinity_change_by_design 0
sidecar_is affinity_change_by_design 's["passed"] and any(d["kind"] == "Unfair" and
	d["message"].startswith("expected by design (each worker is given its own random half of the "
	"CPUs midrun, so equal waits are not owed): unfair cgroup: spread=") for d in s["details"])'
# Roles in the evidence: the messenger apart, the exchange pairs as units.
run_expect unfair_roles 1
grep -Eq '^  unfair cgroup: spread=[0-9]+% \([0-9]+-[0-9]+%\) 5 workers on [12] cpus \(threshold 0%\)$' "$tmp/log" ||
	fail "unfair_roles: the fan-out group's receivers did not fail"
grep -Eq '^  unfair cgroup: spread=[0-9]+% \([0-9]+-[0-9]+%\) 4 workers on [12] cpus \(threshold 0%\)$' "$tmp/log" ||
	fail "unfair_roles: the exchange pairs' group did not fail"
[ "$(grep -Ec '^      tid [0-9]+ \(messenger\): off-CPU ' "$tmp/log")" = 1 ] ||
	fail "unfair_roles: not one messenger in the evidence"
for p in 1 2; do
	[ "$(grep -Ec "^      tid [0-9]+ \(pair $p\): off-CPU " "$tmp/log")" = 2 ] ||
		fail "unfair_roles: pair $p not named on its two workers"
done

# The body's own check fails: recorded as a body failure during the workload.
run_expect body_check_fails 1
sidecar_is body_check_fails 's["failure"]["kind"] == "body" and s["failure"]["phase"] == "workload" and
	"below floor" in s["failure"]["message"] and s["work_type"] == "CpuSpin" and
	s["scheduler_exit"] is None and s["cleanup_duration_ms"] is not None'
echo "all failure verdicts as expected"
