#!/usr/bin/env bash
# `ktstr test` across two kernels (KTSTR_KERNEL_LIST, two labels on one
# kernel directory), with --junit and --format ktap read by the real
# consumers, then --rerun-failed. No VM boots: one test fails on its
# missing scheduler and one is skipped for its size, both before a boot.
# (tests/vm/test_ci_formats.sh does the same with tests that boot.)
set -eu
: "${KTSTR_BIN:?}"
build=$(cd "$(dirname "$KTSTR_BIN")" && pwd)
root=$(cd "$build/.." && pwd)
tmp=$(mktemp -d /tmp/ktstr-ciformat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$root/tests/unit/ci_consumers.sh"
export KTSTR_TARGET_DIR=$tmp/target KTSTR_PROJECT_COMMIT=c0ffee1
unset KTSTR_SIDECAR_DIR KTSTR_KERNEL KTSTR_TEST_KERNEL

cat >"$tmp/t.c" <<'C'
#include <ktstr.h>
KTSTR_SCHEDULER(missing, .binary = "/nonexistent/scx_missing");
KTSTR_TEST(broken, .scheduler = &missing) { return 0; }
KTSTR_TEST(huge, .topology = "1n15l16c1t") { return 0; }
C
# CC, CFLAGS, LDSTATIC from the Makefile (make asan: sanitizers, dynamic).
: "${CC:=cc}" "${CFLAGS:=-O2 -g}"
LDSTATIC=${LDSTATIC--static}
$CC -std=gnu11 $CFLAGS $LDSTATIC -I"$root/include" -o "$tmp/suite" "$tmp/t.c" "$build/libktstr.a" \
	-ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm
# A kernel directory (resolves as a tree: image + kernel.release); never booted.
mkdir -p "$tmp/k/include/config"
echo img >"$tmp/k/bzImage"
echo 6.12.99 >"$tmp/k/include/config/kernel.release"
export KTSTR_KERNEL_LIST="one=$tmp/k;Two=$tmp/k"

rc=0
"$KTSTR_BIN" test --junit "$tmp/j.xml" --format ktap "$tmp/suite" >"$tmp/ktap" 2>"$tmp/err" ||
	rc=$?
[ $rc = 1 ] || { cat "$tmp/err" >&2; fail "exit $rc, want 1"; }
grep -q "fanning tests across 2 kernels" "$tmp/err" || { cat "$tmp/err"; fail "no fan-out"; }
# Without -j, VMs are packed by vCPU count onto the allowed host CPUs.
grep -q "running 4 tests, as many at a time as fit $(nproc) host CPUs\\? by vCPU count" "$tmp/err" ||
	{ cat "$tmp/err"; fail "default packing by vCPUs"; }
grep -q "^0 passed, 2 failed, 2 skipped, 0 inconclusive" "$tmp/err" ||
	{ cat "$tmp/err"; fail "the summary goes to stderr under --format ktap"; }
head -1 "$tmp/ktap" | grep -qx "KTAP version 1" || { cat "$tmp/ktap"; fail "stdout is not KTAP"; }
junit_check "$tmp/j.xml" ktstr/broken/kernel_one=failure ktstr/broken/kernel_two=failure \
	ktstr/huge/kernel_one=skipped ktstr/huge/kernel_two=skipped
ktap_check "$tmp/ktap" ktstr/broken/kernel_one=FAIL ktstr/broken/kernel_two=FAIL \
	ktstr/huge/kernel_one=SKIP ktstr/huge/kernel_two=SKIP
grep -q "<failure type=\"test failure\" message=\"scheduler '/nonexistent/scx_missing' not found" \
	"$tmp/j.xml" || fail "the failure's message is its first detail"
# One run dir per kernel label, each with both tests' sidecars.
for l in kernel_one kernel_two; do
	d=$KTSTR_TARGET_DIR/ktstr/$l-c0ffee1
	ls "$d"/broken-*.ktstr.json "$d"/huge-*.ktstr.json >/dev/null 2>&1 ||
		{ ls -R "$KTSTR_TARGET_DIR" >&2; fail "sidecars of $l not in $d"; }
done

# --kernel twice: resolved KTSTR_KERNEL_PARALLELISM at a time, labels from the paths.
cp -r "$tmp/k" "$tmp/k2"
rc=0
KTSTR_KERNEL_LIST= KTSTR_KERNEL_PARALLELISM=1 "$KTSTR_BIN" test --kernel "$tmp/k" --kernel "$tmp/k2" \
	-E huge "$tmp/suite" >"$tmp/out" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$tmp/out" >&2; fail "--kernel twice: exit $rc"; }
grep -q "resolving 2 kernels, 1 at a time (KTSTR_KERNEL_PARALLELISM=1)" "$tmp/out" &&
	grep -q "^SKIP ktstr/huge/kernel_path_k_[0-9a-f]\{6\} " "$tmp/out" &&
	grep -q "^SKIP ktstr/huge/kernel_path_k2_[0-9a-f]\{6\} " "$tmp/out" ||
	{ cat "$tmp/out"; fail "--kernel twice: resolution, names"; }

# One --kernel replaces an inherited list: a single kernel, plain names.
"$KTSTR_BIN" test --kernel "$tmp/k2" -E huge "$tmp/suite" >"$tmp/out" 2>&1 &&
	grep -q "^SKIP ktstr/huge " "$tmp/out" || { cat "$tmp/out"; fail "--kernel once under a list"; }

# --rerun-failed: exactly the two failures of the run before, binaries from the record.
"$KTSTR_BIN" test --junit "$tmp/j.xml" "$tmp/suite" >/dev/null 2>&1 || true
rc=0
"$KTSTR_BIN" test --rerun-failed >"$tmp/out" 2>&1 || rc=$?
[ $rc = 1 ] || { cat "$tmp/out" >&2; fail "rerun: exit $rc, want 1"; }
grep -q "running 2 tests" "$tmp/out" || { cat "$tmp/out"; fail "rerun ran other tests"; }
grep -q "^FAIL ktstr/broken/kernel_one" "$tmp/out" && grep -q "^FAIL ktstr/broken/kernel_two" \
	"$tmp/out" || { cat "$tmp/out"; fail "rerun: the failed tests"; }
! grep -q "huge" "$tmp/out" || { cat "$tmp/out"; fail "rerun ran a skipped test"; }
# The rerun joined the run dirs: the other tests' sidecars of the last run stay.
for l in kernel_one kernel_two; do
	ls "$KTSTR_TARGET_DIR/ktstr/$l-c0ffee1"/huge-*.ktstr.json >/dev/null 2>&1 ||
		{ ls -R "$KTSTR_TARGET_DIR" >&2; fail "the rerun wiped the run dir of $l"; }
done
# Nothing failed last: nothing to do.
"$KTSTR_BIN" test -E huge "$tmp/suite" >/dev/null 2>&1
out=$("$KTSTR_BIN" test --rerun-failed 2>/dev/null)
[ "$out" = "nothing failed in the last run" ] || fail "rerun after a clean run: $out"
rm -f "$KTSTR_TARGET_DIR/ktstr/.last-run.json"
rc=0
"$KTSTR_BIN" test --rerun-failed >"$tmp/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "ktstr: error: --rerun-failed: no earlier run recorded" "$tmp/out" ||
	{ cat "$tmp/out"; fail "rerun without a record"; }
# Interrupted: a pass, a test cut short (error), one that never ran (skipped).
# A stand-in test binary answers --list and --exact like a real one.
unset KTSTR_KERNEL_LIST
cat >"$tmp/fake" <<'SH'
#!/bin/sh
case "$1" in
--list) printf 'ktstr/ok: test\nktstr/slow: test\nktstr/later: test\n' ;;
--exact) [ "$2" = ktstr/ok ] && { echo "PASS ktstr/ok (0.0s)"; exit 0; }; exec sleep 60 ;;
esac
SH
chmod +x "$tmp/fake"
"$KTSTR_BIN" test -j 1 --junit "$tmp/i.xml" --format ktap "$tmp/fake" >"$tmp/iktap" 2>"$tmp/ierr" &
pid=$!
for _ in $(seq 100); do grep -q "^PASS ktstr/ok" "$tmp/ierr" && break; sleep 0.1; done
sleep 0.5
kill -INT $pid
rc=0
wait $pid || rc=$?
[ $rc = 130 ] || { cat "$tmp/ierr" >&2; fail "interrupted: exit $rc, want 130"; }
junit_check "$tmp/i.xml" ktstr/ok=pass ktstr/slow=error ktstr/later=skipped
ktap_check "$tmp/iktap" ktstr/ok=PASS ktstr/slow=FAIL ktstr/later=SKIP
grep -q '<error type="interrupted" message="interrupted after ' "$tmp/i.xml" || fail "junit: interrupted"
grep -q "^    ok 3 ktstr/later # SKIP never ran: the run was interrupted$" "$tmp/iktap" ||
	fail "ktap: never ran"

rc=0
"$KTSTR_BIN" test --format xml "$tmp/suite" >"$tmp/out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "ktstr: error: --format xml: expected text or ktap" "$tmp/out" ||
	{ cat "$tmp/out"; fail "bad --format"; }
echo "two kernels, JUnit and KTAP (also of an interrupted run) accepted by their consumers, --rerun-failed"
