#!/usr/bin/env bash
# `ktstr test` for CI, with tests that boot (tests/vm/vmtests.c):
#  - two kernels (--kernel twice: the cached kernel, and a directory holding
#    the same image under another label): every test runs once per kernel,
#    the label in its name, each kernel's sidecars in their own run dir
#  - --junit and --format ktap of a run with a pass, a fail, a skip and an
#    inconclusive test, read by python3-junitparser and by the kernel's
#    kunit.py parse with the right results
#  - --rerun-failed runs only the failed test
set -eu
. "$(dirname "$0")/lib_shell.sh"
. "$(dirname "$0")/../unit/ci_consumers.sh"
use_vmtests
export KTSTR_PROJECT_COMMIT=cif0001

"$KTSTR_BIN" kernel resolve >"$TMP/k" 2>&1 || { cat "$TMP/k" >&2; fail "no kernel"; }
k=$(sed -n 's/^dir: *//p' "$TMP/k")
ver=$(sed -n 's/^version: *//p' "$TMP/k")
[ -d "$k" ] && [ -n "$ver" ] || { cat "$TMP/k" >&2; fail "kernel resolve: no dir/version"; }
# The same kernel as a plain directory: a second label, no second build.
mkdir -p "$TMP/k2/include/config"
for f in bzImage vmlinux sched; do [ -e "$k/$f" ] && ln -s "$k/$f" "$TMP/k2/$f"; done
echo "$ver" >"$TMP/k2/include/config/kernel.release"

rc=0
KTSTR_KERNEL_PARALLELISM=2 timeout -k 5 600 "$KTSTR_BIN" test --kernel "$k" --kernel "$TMP/k2" \
	-E eevdf_quick "$bin" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 0 ] || { show; fail "two kernels: exit $rc"; }
grep -q "resolving 2 kernels, 2 at a time" "$TMP/err" &&
	grep -q "fanning tests across 2 kernels" "$TMP/err" || { show; fail "no fan-out"; }
grep -q "^2 passed, 0 failed, 0 skipped, 0 inconclusive" "$TMP/out" || { show; fail "summary"; }
l1=$(sed -n 's/^PASS ktstr\/eevdf_quick\/\(kernel_[0-9_]*\) .*/\1/p' "$TMP/err")
l2=$(sed -n 's/^PASS ktstr\/eevdf_quick\/\(kernel_path_k2_[0-9a-f]\{6\}\) .*/\1/p' "$TMP/err")
[ -n "$l1" ] && [ -n "$l2" ] || { show; fail "a test per kernel, labelled"; }
for l in "$l1" "$l2"; do
	sc=$(ls "$KTSTR_TARGET_DIR/ktstr/$l-cif0001"/eevdf_quick-*.ktstr.json 2>/dev/null | head -1)
	[ -n "$sc" ] || { ls -R "$KTSTR_TARGET_DIR" >&2; fail "no sidecar in the run dir of $l"; }
	"$CI_PY" - "$sc" "$ver" <<'PY' || fail "sidecar of $l"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["passed"] and not d["skipped"] and d["kernel_version"] == sys.argv[2], d
PY
done

rc=0
timeout -k 5 600 "$KTSTR_BIN" test -E eevdf_quick -E missing_scheduler -E too_big -E undecided \
	--junit "$TMP/j.xml" --format ktap "$bin" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 1 ] || { show; fail "formats: exit $rc, want 1"; }
grep -q "^2 passed, 1 failed, 1 skipped, 1 inconclusive" "$TMP/err" || { show; fail "summary"; }
junit_check "$TMP/j.xml" ktstr/eevdf_quick=pass ktstr/undecided_allowed=pass \
	ktstr/missing_scheduler=failure ktstr/too_big=skipped ktstr/undecided=error
ktap_check "$TMP/out" ktstr/eevdf_quick=PASS ktstr/undecided_allowed=PASS \
	ktstr/missing_scheduler=FAIL ktstr/too_big=SKIP ktstr/undecided=FAIL
grep -q '<error type="inconclusive" message="inconclusive: p99 wake latency: no wake samples">' \
	"$TMP/j.xml" || fail "junit: the inconclusive check is not named"
grep -q "^    not ok [0-9] ktstr/undecided # inconclusive: " "$TMP/out" || fail "ktap: inconclusive"

rc=0
"$KTSTR_BIN" test --rerun-failed "$bin" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 1 ] || { show; fail "rerun: exit $rc, want 1"; }
grep -q "running 1 test," "$TMP/err" && grep -q "^FAIL ktstr/missing_scheduler " "$TMP/err" ||
	{ show; fail "rerun: only the failed test"; }
check_no_leftover_qemu
echo "two kernels with labelled names and run dirs; JUnit and KTAP accepted; rerun-failed"
