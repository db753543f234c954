#!/usr/bin/env bash
# Two `ktstr test` processes writing into the same run directory at once lose
# no sidecar: the run-dir lock makes the second join the live run instead of
# pre-clearing it. A later run (nobody holding the run) replaces the results.
set -eu
: "${KTSTR_BIN:?}"
build=$(dirname "$KTSTR_BIN")
bin=$build/tests/ktstr-vmtests
[ -x "$bin" ] || { echo "missing $bin (run make examples)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-vm-conc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
fail() { echo "FAIL: $*" >&2; cat "$tmp"/*.log >&2 || true; exit 1; }

# A stale result from an earlier run, to be pre-cleared by the first process.
"$KTSTR_BIN" test -E too_big "$bin" >"$tmp/stale.log" 2>&1 || fail "stale run"
# A boots a VM (eevdf_quick, ~1 s scenario); B starts while A runs and writes
# two results (a skip and a pre-boot failure) into the same run directory.
"$KTSTR_BIN" test -E eevdf_quick "$bin" >"$tmp/a.log" 2>&1 & a=$!
# A prints "running 1 test" once it holds the run (session begun), before
# its VM boots; B starts right then, so A is alive for B's whole run.
for _ in $(seq 300); do
	grep -q "running 1 test" "$tmp/a.log" 2>/dev/null && break
	sleep 0.05
done
rc=0; "$KTSTR_BIN" test -E too_big -E missing_scheduler "$bin" >"$tmp/b.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "B: exit $rc, want 1 (missing_scheduler fails)"
kill -0 $a 2>/dev/null || fail "A ended before B wrote: no overlap, test is void"
wait $a || fail "A failed"
dir=$(find "$KTSTR_TARGET_DIR/ktstr" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | head -1)
n=$(find "$dir" -name '*.ktstr.json' | wc -l)
for t in eevdf_quick too_big missing_scheduler; do
	ls "$dir"/$t-*.ktstr.json >/dev/null 2>&1 || fail "sidecar of $t lost (found $n in $dir)"
done
[ "$n" -eq 3 ] || fail "expected 3 sidecars, found $n"
# Nobody holds the run now: the next run starts afresh.
"$KTSTR_BIN" test -E too_big "$bin" >"$tmp/c.log" 2>&1 || fail "later run"
n=$(find "$dir" -name '*.ktstr.json' | wc -l)
[ "$n" -eq 1 ] || fail "a later run kept $n sidecars, want 1 (pre-clear)"
echo "concurrent runs: 3 sidecars kept, later run pre-cleared"
