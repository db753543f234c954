#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `ktstr stats compare` on real runs of the example suite (two of its tests,
# eevdf_steady and simple_steady): run A as built; run B from the same
# source with one scenario deliberately slowed (simple_steady gets
# `.duration_s = 6` instead of the default 2). compare A B must flag
# simple_steady's wall time (duration_ms) as a REGRESSION and exit 1 (its
# longer run also does more work: total_iterations, an improvement);
# compare A A must exit 0 with nothing flagged.
set -eu
. "$(dirname "$0")/lib_shell.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$KTSTR_BIN")
suite=$build/examples/ktstr-examples
[ -x "$suite" ] || fail "missing $suite (run make examples)"
sel=(-E eevdf_steady -E simple_steady)

sed 's/^KTSTR_TEST(simple_steady, /KTSTR_TEST(simple_steady, .duration_s = 6, /' \
	"$root/examples/ktstr-examples.c" >"$TMP/slowed.c"
grep -q '^KTSTR_TEST(simple_steady, .duration_s = 6, ' "$TMP/slowed.c" ||
	fail "examples/ktstr-examples.c: simple_steady not found to slow down"
mkdir "$TMP/slowed"
gcc -std=gnu11 -O1 -Wall -Werror -I"$root/include" -static -o "$TMP/slowed/ktstr-examples" \
	"$TMP/slowed.c" "$build/libktstr.a" -ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm ||
	fail "cannot build the slowed suite"

KTSTR_SIDECAR_DIR=$TMP/runA "$KTSTR_BIN" test -j 2 "${sel[@]}" "$suite" \
	</dev/null >"$TMP/out" 2>"$TMP/err" || { show; fail "run A failed"; }
KTSTR_SIDECAR_DIR=$TMP/runB "$KTSTR_BIN" test -j 2 "${sel[@]}" "$TMP/slowed/ktstr-examples" \
	</dev/null >"$TMP/out" 2>"$TMP/err" || { show; fail "slowed run B failed"; }

rc=0
"$KTSTR_BIN" stats compare "$TMP/runA" "$TMP/runB" >"$TMP/out" 2>"$TMP/err" || rc=$?
cat "$TMP/out"
[ $rc -eq 1 ] || { show; fail "compare A B: exit $rc, want 1 (regression)"; }
grep -Eq '^simple_steady/.* duration_ms .*REGRESSION$' "$TMP/out" ||
	{ show; fail "simple_steady: the slowed scenario's wall time is not flagged"; }
grep -Eq '^simple_steady/.* total_iterations .*improvement$' "$TMP/out" ||
	{ show; fail "simple_steady: 3x the run time but more work is not an improvement"; }
rc=0
"$KTSTR_BIN" stats compare "$TMP/runA" "$TMP/runA" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc -eq 0 ] || { show; fail "compare A A: exit $rc, want 0"; }
grep -q '^summary: 0 regressions, 0 improvements, [1-9][0-9]* unchanged' "$TMP/out" ||
	{ show; fail "compare A A: findings"; }
echo "ok: slowed scenario flagged (exit 1), a run against itself exit 0"
