#!/usr/bin/env bash
# A test file + libktstr is a complete test binary; --list validates every
# test and rejects bad definitions with the test's name (no VM needed).
set -eu
: "${KTSTR_BIN:?}"
build=$(cd "$(dirname "$KTSTR_BIN")" && pwd)
root=$(cd "$build/.." && pwd)
tmp=$(mktemp -d /tmp/ktstr-listing.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
libs="-ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm"
cat >"$tmp/ok.c" <<'C'
#include <ktstr.h>
KTSTR_SCHEDULER(scx_simple, .binary = "scx_simple", .flags = {KTSTR_FLAG("llc")});
KTSTR_TEST(first, .scheduler = &scx_simple, .required_flags = {"llc"}) { return ktstr_run_canned(ctx, "steady"); }
KTSTR_TEST(second, .llcs = 2) { return 0; }
C
cat >"$tmp/bad.c" <<'C'
#include <ktstr.h>
KTSTR_SCHEDULER(scx_simple, .binary = "scx_simple", .flags = {KTSTR_FLAG("llc")});
KTSTR_TEST(fine) { return 0; }
KTSTR_TEST(zero_dur, .duration_s = 0) { return 0; }
KTSTR_TEST(odd_numa, .numa_nodes = 2, .llcs = 3) { return 0; }
KTSTR_TEST(bad_flag, .scheduler = &scx_simple, .required_flags = {"rebal"}) { return 0; }
KTSTR_TEST(both, .scheduler = &scx_simple, .required_flags = {"llc"}, .excluded_flags = {"llc"}) { return 0; }
KTSTR_TEST(zero_wd, .watchdog_timeout_s = 0) { return 0; }
KTSTR_TEST(too_many_cpus, .llcs = 64, .cores = 8) { return 0; }
KTSTR_TEST(wraps, .topology = "1n4096l4096c4096t") { return 0; }
C
for f in ok bad; do
	gcc -std=gnu11 -D_GNU_SOURCE -static -I"$root/include" -o "$tmp/$f" "$tmp/$f.c" \
		"$build/libktstr.a" $libs
done
out=$("$tmp/ok" --list)
[ "$out" = "ktstr/first: test
ktstr/second: test" ] || { echo "unexpected --list output: $out" >&2; exit 1; }
rc=0; "$tmp/bad" --list >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc -eq 1 ] || { echo "bad --list: exit $rc, want 1" >&2; exit 1; }
[ ! -s "$tmp/out" ] || { echo "bad --list printed tests" >&2; exit 1; }
for m in "ktstr_test 'zero_dur': duration_s must be > 0 (got 0)" \
	"ktstr_test 'odd_numa': llcs (3) must be a multiple of numa_nodes (2)" \
	"ktstr_test 'bad_flag': unknown flag 'rebal'" \
	"ktstr_test 'both': flag 'llc' is both required and excluded" \
	"ktstr_test 'zero_wd': watchdog_timeout_s must be > 0 (got 0)" \
	"ktstr_test 'too_many_cpus': 512 CPUs, at most 255 supported (topology 1n64l8c1t)" \
	"ktstr_test 'wraps': llcs must be at most 255 (got 4096) (topology 1n4096l4096c4096t)"; do
	grep -qF "$m" "$tmp/err" || { cat "$tmp/err" >&2; echo "missing: $m" >&2; exit 1; }
done
# Running is refused too, and ktstr test shows why.
rc=0; "$tmp/bad" --exact ktstr/fine >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || { echo "bad --exact: exit $rc, want 1" >&2; exit 1; }
rc=0; "$KTSTR_BIN" test "$tmp/bad" >"$tmp/out" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -qF "zero_dur" "$tmp/out" || { cat "$tmp/out" >&2; echo "ktstr test accepted bad binary" >&2; exit 1; }
echo "listing and validation ok"
