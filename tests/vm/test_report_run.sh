#!/usr/bin/env bash
# The HTML report of a real run with a pass, a fail and a skip renders in
# headless chromium: `ktstr test` runs eevdf_quick (boots a VM, passes),
# missing_scheduler (fails before a boot) and too_big (skips); `ktstr report`
# with no run given picks that run directory; the rendered DOM holds the
# three verdicts, the failure report with its kind, phase and reason, the wall-time plot and
# the off-CPU plot of the test that ran, the console stays silent; the run's
# sidecars carry the host state (load, SMT) that `host-state show` reads back.
set -eu
. "$(dirname "$0")/lib_shell.sh"
use_vmtests
repo=$(cd "$(dirname "$0")/../.." && pwd)

rc=0
"$KTSTR_BIN" test -E eevdf_quick -E missing_scheduler -E too_big "$bin" \
	</dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] || { show; fail "ktstr test: exit $rc, want 1 (one failure)"; }
grep -q "^1 passed, 1 failed, 1 skipped" "$TMP/out" "$TMP/err" || { show; fail "run summary"; }

cd "$TMP"
rc=0
"$KTSTR_BIN" report -o "$TMP/report.html" 2>"$TMP/err" || rc=$?
[ $rc -eq 0 ] || { cat "$TMP/err" >&2; fail "ktstr report: exit $rc"; }
grep -q "^ktstr: wrote $TMP/report.html (3 test results from 1 run, [0-9]* bytes)$" "$TMP/err" ||
	{ cat "$TMP/err" >&2; fail "report line"; }

"$repo/tests/tools/browser_dom.sh" "$TMP/report.html" "$TMP/dom" "$TMP/console"
[ ! -s "$TMP/console" ] || { cat "$TMP/console" >&2; fail "console output while rendering"; }
grep -q '<body data-rendered="3">' "$TMP/dom" || fail "the report's script did not finish"
for v in pass fail skip; do
	n=$(grep -o "class=\"test-row v-row-$v\"" "$TMP/dom" | wc -l)
	[ "$n" -eq 1 ] || fail "$n rows with verdict $v, want 1"
done
grep -q '<section class="failure fail" id="failure-[0-9]*">' "$TMP/dom" || fail "no failure report"
grep -q '</span> missing_scheduler \[1n1l' "$TMP/dom" || fail "failure report not titled with the test"
grep -q '<strong>scheduler_missing</strong> (phase: before_attach)' "$TMP/dom" ||
	fail "the failure kind and phase are not shown"
grep -q "scheduler '/nonexistent/scx_missing' not found" "$TMP/dom" || fail "failure reason not shown"
grep -q 'fields not recorded, and why</summary>' "$TMP/dom" || fail "absent fields not explained"
n=$(grep -o 'data-plot="walltime"' "$TMP/dom" | wc -l)
[ "$n" -eq 1 ] || fail "$n wall-time plots, want 1"
n=$(grep -o 'data-plot="offcpu"' "$TMP/dom" | wc -l)
[ "$n" -ge 1 ] || fail "no off-CPU plot for the test that ran"

# The host state recorded with the run.
run=$(ls -d "$TMP"/target/ktstr/*/ | head -1)
"$KTSTR_BIN" host-state show "$run" >"$TMP/host"
grep -q '^load_1m  *[0-9.]*$' "$TMP/host" || { cat "$TMP/host" >&2; fail "no load in the run's host state"; }
grep -q '^procs_total  *[0-9]*$' "$TMP/host" || fail "no procs_total in the run's host state"
echo "report of a pass, a fail and a skip rendered"
