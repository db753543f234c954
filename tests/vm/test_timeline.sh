#!/usr/bin/env bash
# A stall on the run's timeline (tests/vm/vmtests.c: qmap_stall_steps):
# scx_qmap -t 1500 under a quiet step 0 and a wake-heavy step 1; the
# watchdog (2 s) ejects it.
#  - the host monitor sees the lost task first: its runnable wait passes
#    1 s (half the timeout); the alert names it and comes before the exit,
#    its start back-dated into step 1 (where the kernel dates the stall),
#    and a sched_ext dump is requested
#  - BUG SUMMARY names the stall, above the report header
#  - --- timeline --- shows both steps and places the stall's start in step 1
#  - the sched_ext dump is printed once (its section), not again in the log
#  - the failure dump named in the report exists next to the sidecar and
#    parses: scheduler exit kind 1026 (stall), the dump lines, the
#    timeline tail
#  - the sidecar has stimulus_events (start, 2 steps, end) and names the dump
set -eu
: "${KTSTR_BIN:?}"
build=$(dirname "$KTSTR_BIN")
bin=$build/tests/ktstr-vmtests
[ -x "$bin" ] || { echo "missing $bin (run make examples)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-vm-timeline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
fail() { echo "FAIL: $*" >&2; cat "$tmp/log" >&2; exit 1; }

rc=0; "$bin" --exact ktstr/qmap_stall_steps >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "exit $rc, want 0 (expect_err)"
grep -q "failed as expected" "$tmp/log" || fail "not reported as an expected failure"
# .watchdog_timeout_s=2 applied at qmap's enable (once it was not, when the
# host read the timeout from .bss before the KASLR kernel had cleared it:
# the stall then ran to qmap's own 5 s)
grep -q "^sched_ext watchdog: 2 s (HZ=[0-9]*; the scheduler's own: 5.0 s), applied at 1 enable$" "$tmp/log" ||
	fail "the watchdog override was not applied: $(grep -m1 '^sched_ext watchdog' "$tmp/log")"

# BUG SUMMARY: before the header, naming the stall.
bs=$(grep -n "^BUG SUMMARY: " "$tmp/log" | head -1)
hdr=$(grep -n "^ktstr_test 'qmap_stall_steps'" "$tmp/log" | head -1 | cut -d: -f1)
[ -n "$bs" ] || fail "no BUG SUMMARY line"
[ "${bs%%:*}" -lt "$hdr" ] || fail "BUG SUMMARY is not above the report header"
echo "$bs" | grep -q "BUG SUMMARY: runnable task stall (.* failed to run for [0-9.]*s)$" ||
	fail "BUG SUMMARY does not name the stall: $bs"

# The timeline: both steps, the stall's start inside step 1.
sed -n '/^--- timeline ---$/,/^--- /p' "$tmp/log" >"$tmp/timeline"
grep -q "^ *0  scenario start$" "$tmp/timeline" || fail "timeline: no scenario start"
grep -q "^ *[0-9]*  step 0: 1 cgroup, 1 worker" "$tmp/timeline" || fail "timeline: no step 0"
grep -q "^ *[0-9]*  step 1: 1 cgroup, 4 workers" "$tmp/timeline" || fail "timeline: no step 1"
grep -q "^ *[0-9]*  stall began: a task runnable [0-9.]* s before the exit never ran (during step 1)$" \
	"$tmp/timeline" || fail "timeline: the stall's start is not placed in step 1"
grep -q "^ *[0-9]*  sched_ext exit: runnable task stall" "$tmp/timeline" || fail "timeline: no exit"
s1=$(sed -n 's/^ *\([0-9]*\)  step 1:.*/\1/p' "$tmp/timeline")
st=$(sed -n 's/^ *\([0-9]*\)  stall began:.*/\1/p' "$tmp/timeline")
ex=$(sed -n 's/^ *\([0-9]*\)  sched_ext exit:.*/\1/p' "$tmp/timeline")
[ "$s1" -le "$st" ] && [ "$st" -lt "$ex" ] || fail "timeline order: step 1 $s1, stall $st, exit $ex"

# The dump once.
n=$(grep -c "triggered exit kind" "$tmp/log" || true)
[ "$n" -eq 1 ] || fail "the sched_ext dump's exit line is printed $n times, want 1"
grep -q "^\[sched_ext dump printed by the scheduler: [0-9]* lines, shown once in --- sched_ext dump ---\]$" \
	"$tmp/log" || fail "scheduler log: no pointer to the dump section"

# The failure dump file.
dump=$(sed -n 's/^failure dump: //p' "$tmp/log")
[ -n "$dump" ] || fail "no 'failure dump:' line"
[ -f "$dump" ] || fail "failure dump $dump does not exist"
case "$dump" in "$KTSTR_TARGET_DIR"/ktstr/*/qmap_stall_steps-*.failure-dump.json) ;;
*) fail "failure dump not next to the sidecar: $dump" ;; esac
side=$(ls "$(dirname "$dump")"/qmap_stall_steps-*.ktstr.json)
python3 - "$dump" "$side" <<'EOF' || fail "failure dump / sidecar content"
import json, sys
d = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
assert d["schema"] == "single" and d["is_placeholder"] is False, d.get("is_placeholder")
x = d["scheduler_exit"]
assert x["scx_exit_kind"] == 1026 and x["kind"] == "stall", x
assert x["reason"] == "runnable task stall" and "failed to run for" in x["message"], x
assert d["bug_summary"].startswith("runnable task stall ("), d["bug_summary"]
assert any("triggered exit kind 1026" in l for l in d["sched_ext_dump"])
labels = [e["label"] for e in d["timeline_tail"]]
assert "stall_began" in labels and "sched_ext_exit" in labels, labels
assert d["test"] == "qmap_stall_steps" and d["scheduler"] == "scx_qmap"
assert s["failure_dump"] == sys.argv[1], s["failure_dump"]
ev = s["stimulus_events"]
assert [e["label"] for e in ev] == ["scenario_start", "step", "step", "scenario_end"], ev
assert [e.get("step_index") for e in ev[1:3]] == [0, 1], ev
assert ev[2]["worker_count"] == 4 and ev[1]["elapsed_ms"] < ev[2]["elapsed_ms"], ev
EOF
echo "timeline: stall began at +${st} ms in step 1 (started +${s1} ms), exit +${ex} ms; dump $(basename "$dump")"

# The monitor saw the lost task before the kernel's watchdog did: the oldest
# wait on a CPU's runnable_list passed half the watchdog timeout (2 s), the
# alert names the task and the CPU, its start is back-dated into step 1,
# the host asked for a sched_ext dump, all before the sched_ext exit.
al=$(grep "^ *[0-9]*  monitor: runnable task waiting: [^ ]*\[[0-9]*\] on cpu[0-9]* runnable for [0-9]* ms without running (limit 1000 ms, half the sched_ext watchdog timeout)$" \
	"$tmp/timeline" | head -1)
[ -n "$al" ] || fail "timeline: no runnable-wait alert from the monitor"
a=$(echo "$al" | sed 's/^ *\([0-9]*\)  .*/\1/')
wb=$(sed -n 's/^ *\([0-9]*\)  monitor: [^ ]*\[[0-9]*\] on cpu[0-9]* became runnable and has not run since (during step \([0-9]*\))$/\1 \2/p' \
	"$tmp/timeline" | head -1)
[ -n "$wb" ] || fail "timeline: the wait's start is not placed in a step"
w=${wb% *}
[ "${wb#* }" = 1 ] || fail "timeline: the wait began in step ${wb#* }, want 1"
[ "$a" -lt "$ex" ] || fail "the monitor's alert (+$a ms) is not before the watchdog's exit (+$ex ms)"
grep -q "^ *monitor: [0-9]* samples, .*, runnable wait max [0-9]* ms (cpu[0-9]*)$" "$tmp/timeline" ||
	fail "timeline: no step's monitor line shows the runnable wait"
# the kernel dates the same stall: the starts agree within a few samples
[ $((w - st)) -le 300 ] && [ $((st - w)) -le 300 ] ||
	fail "the monitor's wait start +$w ms is not the kernel's stall start +$st ms (+-300 ms)"
r=$(sed -n 's/^ *\([0-9]*\)  host: sched_ext dump requested.*/\1/p' "$tmp/timeline" | head -1)
[ -n "$r" ] && [ "$a" -le "$r" ] && [ "$r" -lt "$ex" ] ||
	fail "dump request '$r': not between the alert $a and the exit $ex"
python3 - "$dump" "$side" <<'EOF' || fail "runnable wait: failure dump / sidecar"
import json, sys
d = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
h = d["host_dump_requests"]
assert h and h[0]["reason"].startswith("monitor: runnable task waiting: "), h
assert "wait_began" in [e["label"] for e in d["timeline_tail"]]
m = s["monitor"]["summary"]
assert m["watchdog_timeout_ms"] == 2000, m["watchdog_timeout_ms"]
w = m["max_runnable_wait"]
assert w["wait_ms"] > 1000 and w["limit_ms"] == 1000, w
assert s["monitor"]["cpu_fields"][5] == "runnable_wait_ms"
EOF
grep -q "^runnable wait: max [0-9]* ms (cpu[0-9]* .*\[[0-9]*\] at sample [0-9]*)$" "$tmp/log" ||
	fail "--- monitor ---: no runnable wait line"
echo "monitor before the watchdog: wait began +${w} ms (kernel: +${st} ms), alert +${a} ms, dump requested +${r} ms, watchdog exit +${ex} ms"

# A variant that passes removes the failure dump an earlier failing run of it
# left (the dump's name is the sidecar's, .failure-dump.json for .ktstr.json).
export KTSTR_SIDECAR_DIR=$tmp/side
"$bin" --exact ktstr/eevdf_quick >"$tmp/log" 2>&1 || fail "eevdf_quick failed"
side=$(ls "$KTSTR_SIDECAR_DIR"/eevdf_quick-*.ktstr.json)
stale=${side%.ktstr.json}.failure-dump.json
echo '{"schema":"single"}' >"$stale"
"$bin" --exact ktstr/eevdf_quick >"$tmp/log" 2>&1 || fail "eevdf_quick failed (2nd run)"
[ ! -e "$stale" ] || fail "a passing run left the stale failure dump $stale"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["failure_dump"] is None, s["failure_dump"]' \
	"$side" || fail "a passing run's sidecar names a failure dump"
echo "stale failure dump removed by a passing run"

# The monitor sees a building imbalance: the host asks the guest for a
# sched_ext dump before the threshold fails the test, and the timeline shows
# the alert, the request, the guest's SysRq-D and the dump, in that order.
unset KTSTR_SIDECAR_DIR
rc=0; "$bin" --exact ktstr/qmap_dump_on_alert >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "qmap_dump_on_alert: exit $rc, want 0 (expect_err)"
sed -n '/^--- timeline ---$/,/^--- /p' "$tmp/log" >"$tmp/timeline"
at() { sed -n "s/^ *\([0-9-]*\)  $1.*/\1/p" "$tmp/timeline" | head -1; }
a=$(at "monitor: runqueue imbalance")
r=$(at "host: sched_ext dump requested")
d=$(at "sched_ext dump: Debug dump triggered by SysRq-D")
[ -n "$a" ] && [ -n "$r" ] && [ -n "$d" ] || fail "timeline: alert '$a', request '$r', dump '$d'"
[ "$a" -le "$r" ] && [ "$r" -le "$((d + 200))" ] || fail "timeline order: alert $a, request $r, dump $d"
grep -q "sched_ext_dump: Debug dump triggered by SysRq-D" "$tmp/log" || fail "no SysRq-D dump lines"
dump=$(sed -n 's/^failure dump: //p' "$tmp/log")
python3 - "$dump" <<'PY' || fail "qmap_dump_on_alert: failure dump"
import json, sys
d = json.load(open(sys.argv[1]))
h = d["host_dump_requests"]
assert len(h) == 1 and h[0]["reason"].startswith("monitor: runqueue imbalance"), h
assert h[0]["done_ms"] is not None and h[0]["done_ms"] >= h[0]["requested_ms"], h
assert len(d["monitor_samples"]) > 0, "no monitor samples"
PY
echo "host-requested dump: alert +${a} ms, requested +${r} ms, dump +${d} ms"
