#!/usr/bin/env bash
# Gauntlet listing without a VM: a test with two optional flags expands into
# presets x 4 profiles; on a one-CPU host (taskset) only the presets that
# host can run are listed, and -v says why the others are filtered out.
# `ktstr test --list` applies -E/--exact, --shard and --budget and boots
# nothing; N shards together are exactly the full list, nothing twice.
set -eu
: "${KTSTR_BIN:?}"
build=$(cd "$(dirname "$KTSTR_BIN")" && pwd)
root=$(cd "$build/.." && pwd)
tmp=$(mktemp -d /tmp/ktstr-gauntlet.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
fail() { echo "FAIL: $*" >&2; exit 1; }
cat >"$tmp/g.c" <<'C'
#include <ktstr.h>
KTSTR_SCHEDULER(fx, .binary = "scx_fx",
		.flags = {KTSTR_FLAG("llc", .args = {"--llc"}), KTSTR_FLAG("borrow"),
			  KTSTR_FLAG("steal", .requires = {"llc"})});
/* Two optional flags: llc and borrow (steal excluded). */
KTSTR_TEST(two, .scheduler = &fx, .excluded_flags = {"steal"}) { return 0; }
/* steal without llc breaks its requires: listed as filtered with -v. */
KTSTR_TEST(three, .scheduler = &fx, .duration_s = 5) { return 0; }
KTSTR_TEST(plain) { return 0; }
C
# CC, CFLAGS, LDSTATIC from the Makefile (make asan: sanitizers, dynamic).
: "${CC:=cc}" "${CFLAGS:=-O2 -g}"
LDSTATIC=${LDSTATIC--static}
$CC -std=gnu11 -D_GNU_SOURCE $CFLAGS $LDSTATIC -I"$root/include" -o "$tmp/g" "$tmp/g.c" \
	"$build/libktstr.a" -ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm

# Opt-in: a plain --list has no variants.
out=$("$tmp/g" --list)
[ "$out" = "ktstr/two: test
ktstr/three: test
ktstr/plain: test" ] || fail "plain --list: $out"

# One host CPU.
taskset -c 0 "$tmp/g" --list --include-ignored -v >"$tmp/l1"
n=$(grep -c '^gauntlet/two/.*: test$' "$tmp/l1" || true)
if grep -q 'under TCG' "$tmp/l1"; then
	# TCG: at most 8 vCPUs per host CPU: tiny-1llc, tiny-2llc, smt-2llc x 4 profiles.
	[ "$n" = 12 ] || fail "two optional flags on 1 CPU (TCG): $n variants, want 12"
	for p in tiny-1llc tiny-2llc smt-2llc; do
		for f in default llc borrow llc+borrow; do
			grep -qx "gauntlet/two/$p/$f: test" "$tmp/l1" || fail "missing gauntlet/two/$p/$f"
		done
	done
	grep -qx "gauntlet/two/odd-3llc/llc: filtered: host: topology needs 9 vCPUs but this host can emulate at most 8 under TCG (1 host CPUs; limit min(8 per host CPU, 16))" "$tmp/l1" ||
		fail "host filter reason"
else
	# KVM: one vCPU per host CPU: no preset fits on one CPU.
	[ "$n" = 0 ] || fail "two optional flags on 1 CPU (KVM): $n variants, want 0"
	grep -q 'KVM: at most one vCPU per host CPU' "$tmp/l1" || fail "KVM filter reason"
fi
grep -qx "gauntlet/two/numa2-4llc/borrow: filtered: constraint: 2 NUMA nodes, above the maximum 1 (default max_numa_nodes)" "$tmp/l1" ||
	fail "constraint filter reason"
grep -qx "gauntlet/three/tiny-1llc/steal: filtered: profile: flag 'steal' requires 'llc'" "$tmp/l1" ||
	grep -qx "gauntlet/three/tiny-1llc/steal: filtered: host: .*" "$tmp/l1" || fail "requires filter"
# Every preset x profile of `two` is listed, runnable or with its reason.
[ "$(grep -c '^gauntlet/two/' "$tmp/l1")" = $((24 * 4)) ] || fail "not 24 x 4 entries for two"
# --ignored: the variants only; without -v no filtered lines.
taskset -c 0 "$tmp/g" --list --ignored >"$tmp/l2"
grep -q '^ktstr/' "$tmp/l2" && fail "--ignored listed a base test"
grep -q 'filtered' "$tmp/l2" && fail "filtered lines without -v"

# --exact on a variant resolves it (names, presets, profiles checked before any boot).
rc=0; "$tmp/g" --exact gauntlet/two/tiny-1llc/borrow+llc >"$tmp/o" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "profile 'borrow+llc' is spelled 'llc+borrow'" "$tmp/o" || fail "profile spelling: $(cat "$tmp/o")"
rc=0; "$tmp/g" --exact gauntlet/two/numa2-4llc/default >"$tmp/o" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "not a variant of this test: constraint: 2 NUMA nodes" "$tmp/o" || fail "constraint on --exact"
rc=0; "$tmp/g" --exact gauntlet/two/huge/default >"$tmp/o" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "no topology preset 'huge'" "$tmp/o" || fail "unknown preset"

# ktstr test --list: what would run, nothing booted.
"$KTSTR_BIN" test --list --gauntlet "$tmp/g" >"$tmp/all" 2>"$tmp/err"
"$tmp/g" --list --include-ignored | sed -n 's/: test$//p' >"$tmp/want"
diff "$tmp/want" "$tmp/all" >&2 || fail "ktstr test --list differs from the binary's list"
"$KTSTR_BIN" test --list --gauntlet -E /two/ --exact ktstr/plain "$tmp/g" >"$tmp/sel"
[ "$(grep -c . "$tmp/sel")" = $(($(grep -c '^gauntlet/two/' "$tmp/all") + 1)) ] || fail "-E/--exact selection"
for mode in "" hash:; do
	: >"$tmp/union"
	for k in 1 2 3; do
		"$KTSTR_BIN" test --list --gauntlet --shard "$mode$k/3" "$tmp/g" >"$tmp/s$k" 2>/dev/null
		[ -s "$tmp/s$k" ] || fail "shard $mode$k/3 is empty"
		cat "$tmp/s$k" >>"$tmp/union"
	done
	[ -z "$(sort "$tmp/union" | uniq -d)" ] || fail "a test in two shards ($mode)"
	diff <(sort "$tmp/all") <(sort "$tmp/union") >&2 || fail "shards ($mode) do not cover the full set"
	# Deterministic.
	"$KTSTR_BIN" test --list --gauntlet --shard "${mode}2/3" "$tmp/g" 2>/dev/null | cmp -s - "$tmp/s2" ||
		fail "shard ${mode}2/3 differs between two runs"
done
rc=0; "$KTSTR_BIN" test --list --shard 4/3 "$tmp/g" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 1 ] && grep -q "ktstr: error: --shard: shard '4/3': need 1 <= K <= N" "$tmp/err" || fail "bad shard"

# Budget: a subset, what runs and what is dropped, deterministic.
"$KTSTR_BIN" test --list --gauntlet --budget 40 -v "$tmp/g" >"$tmp/b1" 2>"$tmp/be"
grep -q "^ktstr: budget 40s: running [0-9]* of [0-9]* tests, expected wall" "$tmp/be" || fail "budget line: $(cat "$tmp/be")"
grep -q "^ktstr: budget coverage: schedulers 2/2" "$tmp/be" || fail "coverage line: $(cat "$tmp/be")"
grep -q ": dropped: budget$" "$tmp/b1" || fail "nothing dropped by the budget"
grep -q ": runs (" "$tmp/b1" || fail "nothing runs under the budget"
KTSTR_BUDGET_SECS=40 "$KTSTR_BIN" test --list --gauntlet -v "$tmp/g" 2>/dev/null | cmp -s - "$tmp/b1" ||
	fail "KTSTR_BUDGET_SECS differs from --budget, or the selection is not deterministic"
rc=0; "$KTSTR_BIN" test --list --budget 0 "$tmp/g" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 1 ] && grep -q "budget '0': not a positive number of seconds" "$tmp/err" || fail "bad budget"
# The test binary applies KTSTR_BUDGET_SECS while listing, too.
KTSTR_BUDGET_SECS=30 "$tmp/g" --list --include-ignored >"$tmp/b2" 2>"$tmp/be"
grep -q "^ktstr budget: [0-9]*/[0-9]* tests" "$tmp/be" || fail "binary budget line"
[ "$(grep -c ': test$' "$tmp/b2")" -lt "$(grep -c . "$tmp/want")" ] || fail "binary budget dropped nothing"
echo "gauntlet listing, shards and budget ok"
