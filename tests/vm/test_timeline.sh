#!/usr/bin/env bash
# A stall on the run's timeline (tests/vm/vmtests.c: qmap_stall_steps):
# scx_qmap -t 1500 under a quiet step 0 and a wake-heavy step 1; the
# watchdog (2 s) ejects it.
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
