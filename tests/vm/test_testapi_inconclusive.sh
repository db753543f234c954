#!/usr/bin/env bash
# The Inconclusive verdict end to end (tests/vm/vmtests.c, `undecided*`):
#  - a check with nothing to judge (a p99 wake-latency bound on CpuSpin
#    workers, which never sleep): INCONCLUSIVE line, the report names the
#    check, exit 2, sidecar inconclusive=true / passed=false
#  - .allow_inconclusive: PASS, exit 0, the block still on stderr
#  - `ktstr test` counts it in the summary line and exits 2
set -eu
: "${KTSTR_BIN:?}"
build=$(dirname "$KTSTR_BIN")
bin=$build/tests/ktstr-vmtests
[ -x "$bin" ] || { echo "missing $bin (run make examples)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-vm-inc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
fail() { echo "FAIL: $*" >&2; cat "$tmp/log" >&2; exit 1; }

rc=0; "$bin" --exact ktstr/undecided >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "undecided: exit $rc, want 2"
grep -q "^INCONCLUSIVE ktstr/undecided (" "$tmp/log" || fail "undecided: no INCONCLUSIVE line"
grep -q "^ktstr_test 'undecided' \[sched=eevdf\] \[topo=1n1l2c1t\] inconclusive:$" "$tmp/log" ||
	fail "undecided: report header"
grep -q "^  inconclusive: p99 wake latency: no wake samples$" "$tmp/log" ||
	fail "undecided: the undecided check is not named"
sc=$(find "$KTSTR_TARGET_DIR/ktstr" -name 'undecided-*.ktstr.json' | head -1)
[ -n "$sc" ] || fail "undecided: no sidecar"
python3 - "$sc" <<'PY' || fail "undecided: sidecar verdict bits"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["inconclusive"] is True and d["passed"] is False and d["skipped"] is False, d
assert any(x.get("inconclusive") for x in d["details"]), d["details"]
PY

rc=0; "$bin" --exact ktstr/undecided_allowed >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 0 ] || fail "undecided_allowed: exit $rc, want 0"
grep -q "^PASS ktstr/undecided_allowed (" "$tmp/log" || fail "undecided_allowed: no PASS line"
grep -q "inconclusive (accepted: .allow_inconclusive):$" "$tmp/log" ||
	fail "undecided_allowed: the accepted block is not shown"

rc=0; "$KTSTR_BIN" test -E undecided "$bin" >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "ktstr test: exit $rc, want 2"
grep -q "^1 passed, 0 failed, 0 skipped, 1 inconclusive (" "$tmp/log" || fail "ktstr test summary"
grep -q "^INCONCLUSIVE ktstr/undecided (" "$tmp/log" || fail "ktstr test: verdict line"
grep -q "^  inconclusive: ktstr/undecided$" "$tmp/log" || fail "ktstr test: closing list"
echo "inconclusive: exit 2, sidecar bit, allow_inconclusive passes, ktstr test exits 2"
