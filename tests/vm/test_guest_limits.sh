#!/usr/bin/env bash
# A guest that sends a 16 MiB test result (tests/vm/guest_limits_test.c):
# the host refuses it before reading it, fails the test with a clear
# message, and its peak memory stays within 64 MiB of a run whose guest
# sends a normal result (peak RSS as /usr/bin/time -v reports it, the
# largest of the test binary and its machine process).
set -eu
. "$(dirname "$0")/lib_shell.sh"
build_internal_prog guest_limits_test limits-test
export KTSTR_SIDECAR_DIR=$TMP/sidecars

# One test run: output in $TMP/NAME.log, exit status in $rc, peak RSS (KiB) in $kib.
run() {
	set +e
	/usr/bin/time -v -o "$TMP/$1.time" timeout -k 5 300 "$TMP/limits-test" \
		--exact "ktstr/$1" >"$TMP/$1.log" 2>&1
	rc=$?
	set -e
	kib=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$TMP/$1.time")
}

run small_result
base=$kib
[ $rc -eq 0 ] || { cat "$TMP/small_result.log" >&2; fail "small_result: exit $rc, want 0"; }
run oversized_result
big=$kib
cat "$TMP/oversized_result.log"
[ $rc -eq 1 ] || fail "oversized_result: exit $rc, want 1"
grep -q "guest sent an oversized test result (16773117 bytes; the limit is 524288)" \
	"$TMP/oversized_result.log" || fail "oversized_result: no 'oversized test result' failure"
echo "peak RSS: baseline ${base} KiB, 16 MiB result ${big} KiB"
[ $((big - base)) -lt $((64 * 1024)) ] ||
	fail "peak RSS grew by $(((big - base) / 1024)) MiB for a 16 MiB result (limit 64 MiB)"
check_no_leftover_qemu
