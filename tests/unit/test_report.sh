#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `ktstr report` in a real browser, and `ktstr host-state` from the command
# line. Two synthetic runs (tests/tools/report_fixture.c: the real sidecar
# writer, 20 tests each, the second 25% slower, monitor samples on every
# 5th test) become one HTML file; headless chromium loads it with network
# requests refused; the rendered DOM must hold every test row, the failure
# reports and each kind of plot, and the console must stay silent. A
# deliberately broken copy must be caught, so the check itself can fail.
# Run by `make check-unit`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:=build}"
bin=${KTSTR_BIN:-$repo/$BUILD/ktstr}
fixture=$(dirname "$bin")/tests/report-fixture
browser=$repo/tests/tools/browser_dom.sh
tmp=$(mktemp -d /tmp/ktstr-report-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "test_report: FAIL: $*" >&2
	exit 1
}
count() { grep -o "$1" "$2" | wc -l; }
want() { # want WHAT PATTERN FILE N
	local n
	n=$(count "$2" "$3")
	[ "$n" -eq "$4" ] || fail "$1: $n in the rendered DOM, want $4"
}

[ -x "$fixture" ] || fail "missing $fixture (make $BUILD/tests/report-fixture)"
"$fixture" "$tmp/run-a" 20 0 30
"$fixture" "$tmp/run-b" 20 25 30
rc=0
"$bin" report "$tmp/run-a" "$tmp/run-b" -o "$tmp/r.html" 2>"$tmp/err" || rc=$?
[ $rc -eq 0 ] || fail "ktstr report exited $rc: $(cat "$tmp/err")"
grep -q "^ktstr: wrote $tmp/r.html (40 test results from 2 runs, [0-9]* bytes)$" "$tmp/err" ||
	fail "report summary line: $(cat "$tmp/err")"

# Self-contained: no URL but the SVG namespace, no external resource, a CSP
# that refuses the network.
if grep -o 'https\?://[^"'"'"' )]*' "$tmp/r.html" | grep -v '^http://www.w3.org/2000/svg$'; then
	fail "the report names a URL (above)"
fi
if grep -n -i '<link\|<img\|<iframe\| src=\|@import' "$tmp/r.html"; then
	fail "the report loads an external resource (above)"
fi
grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$tmp/r.html" || fail "no CSP"

"$browser" "$tmp/r.html" "$tmp/dom" "$tmp/console"
if [ -s "$tmp/console" ]; then
	cat "$tmp/console" >&2
	fail "console messages or errors while rendering (above)"
fi
grep -q '<body data-rendered="40">' "$tmp/dom" || fail "the script did not finish rendering"
want "test rows" 'class="test-row ' "$tmp/dom" 40
want "failed rows" 'class="test-row v-row-fail"' "$tmp/dom" 4
want "skipped rows" 'class="test-row v-row-skip"' "$tmp/dom" 4
want "inconclusive rows" 'class="test-row v-row-inconclusive"' "$tmp/dom" 2
want "passed rows" 'class="test-row v-row-pass"' "$tmp/dom" 30
want "failure reports" '<section class="failure ' "$tmp/dom" 6
want "wall-time plots (one per run)" 'data-plot="walltime"' "$tmp/dom" 2
want "off-CPU plots (tests with cgroups)" 'data-plot="offcpu"' "$tmp/dom" 36
want "compare plots" 'data-plot="compare"' "$tmp/dom" 1
want "compare rows" 'class="compare-row"' "$tmp/dom" 20
want "per-CPU timelines (every 5th test, 2 runs)" 'data-plot="timeline"' "$tmp/dom" 8
want "wall-time bars" 'class="bar"' "$tmp/dom" 40
# The slower run shows as +25.0% on every pair, in red.
want "regressions in the compare view" 'class="num regression">+25.0%' "$tmp/dom" 20
# The structured failure reason, the scheduler's exit and the dump path (4 failures).
want "failure kinds" '<strong>scheduler_error</strong> (phase: workload)' "$tmp/dom" 4
want "scheduler exits" 'scx_bpf_error (test error)</div>' "$tmp/dom" 4
want "dump paths" '<strong>failure dump: </strong>/tmp/ktstr-dump.json' "$tmp/dom" 4
# Markup in a failure message is text, never markup.
grep -q '&lt;/script&gt;&lt;script&gt;document.title=' "$tmp/dom" || fail "failure message not shown as text"
grep -q '<title>ktstr report: run-a, run-b</title>' "$tmp/dom" || fail "document title"

# The check can fail: a script error and a network request are both seen.
sed 's/function counts(tests) {/function counts(tests) { undefinedFn();/' "$tmp/r.html" >"$tmp/broken.html"
"$browser" "$tmp/broken.html" "$tmp/dom2" "$tmp/console2"
grep -q 'Uncaught ReferenceError: undefinedFn is not defined' "$tmp/console2" ||
	fail "a script error in the report went unnoticed"
sed 's|<main id="report">|<img src="http://192.0.2.1/x.png"><main id="report">|' "$tmp/r.html" >"$tmp/net.html"
"$browser" "$tmp/net.html" "$tmp/dom3" "$tmp/console3"
grep -q "Content Security Policy" "$tmp/console3" || fail "a network request went unnoticed"

# Errors are one line naming the path.
rc=0
"$bin" report "$tmp/nope" -o "$tmp/x.html" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "report of a missing dir: exit $rc"
grep -q "^ktstr: error: report: run '$tmp/nope' not found" "$tmp/err" || fail "missing dir message"
# A run key is resolved as `ktstr stats` resolves it, near misses suggested.
mkdir -p "$tmp/tgt/ktstr/6.12-abc1234"
rc=0
KTSTR_TARGET_DIR="$tmp/tgt" "$bin" report 6.12-abc1235 -o "$tmp/x.html" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "report of a mistyped run key: exit $rc"
grep -q "did you mean '6.12-abc1234'" "$tmp/err" || fail "no suggestion: $(cat "$tmp/err")"
mkdir "$tmp/empty"
rc=0
"$bin" report "$tmp/empty" -o "$tmp/x.html" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "report of an empty dir: exit $rc"
grep -q "^ktstr: error: report: $tmp/empty: no sidecar files" "$tmp/err" || fail "empty dir message"
[ ! -e "$tmp/x.html" ] || fail "a report was written for no data"

# host-state: capture, show (live and from a run), compare (exit 0).
"$bin" host-state capture -o "$tmp/h.json" 2>"$tmp/err"
grep -q "^ktstr: wrote host-state snapshot to $tmp/h.json$" "$tmp/err" || fail "capture message"
grep -q '"host_state_version": 1' "$tmp/h.json" || fail "snapshot version"
"$bin" host-state show "$tmp/h.json" >"$tmp/out"
grep -q '^load_1m  *[0-9.]*$' "$tmp/out" || fail "host-state show: no load_1m"
grep -q '^kernel_release  *[^ ]' "$tmp/out" || fail "host-state show: no kernel_release"
"$bin" host-state show --json "$tmp/run-a" | grep -q '"cpu_model"' || fail "show --json of a run"
"$bin" host-state compare "$tmp/h.json" "$tmp/run-a" >"$tmp/out"
grep -q "^configuration: identical" "$tmp/out" || { cat "$tmp/out" >&2; fail "same host differs"; }
grep -q "^unchanged: [1-9][0-9]* keys$" "$tmp/out" || fail "compare: unchanged count"
sed 's/"online_cpus": [0-9]*/"online_cpus": 999/' "$tmp/h.json" >"$tmp/h2.json"
"$bin" host-state compare "$tmp/h.json" "$tmp/h2.json" >"$tmp/out"
grep -q "^configuration differences (1):" "$tmp/out" || { cat "$tmp/out" >&2; fail "compare count"; }
grep -q "^  online_cpus  *[0-9]*  *999$" "$tmp/out" || { cat "$tmp/out" >&2; fail "compare row"; }
"$bin" host-state compare --json "$tmp/h.json" "$tmp/h2.json" |
	grep -q '"cand": "999"' || fail "compare --json"
rc=0
"$bin" host-state compare "$tmp/h.json" "$tmp/nope" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || fail "compare with a missing source: exit $rc"
grep -q "^ktstr: error: host-state compare: $tmp/nope: no such file" "$tmp/err" || fail "compare error"
echo "test_report: ok ($(wc -c <"$tmp/r.html") bytes for 40 results, rendered in chromium)"
