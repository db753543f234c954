#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# ktstr stats on synthetic runs (tests/gen_sidecars.py): list, list-metrics,
# list-values, show-host and explain-sidecar (text and --json), and the
# compare gate: a slowed test is a regression (exit 1), a run against itself
# exits 0, a policy can forgive it, filter mode slices on a dimension, and
# bad input is exit 2 with one error line. Run by `make check-unit`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:=build}"
bin=${KTSTR_BIN:-$repo/$BUILD/ktstr}
gen=$repo/tests/gen_sidecars.py
tmp=$(mktemp -d /tmp/ktstr-stats.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
root=$KTSTR_TARGET_DIR/ktstr

fail() {
	echo "test_stats: FAIL: $*" >&2
	exit 1
}

json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' || fail "$1: not JSON"; }

"$bin" stats list 2>"$tmp/err" >"$tmp/out"
grep -q "no runs found" "$tmp/err" || fail "empty root: $(cat "$tmp/err")"

python3 "$gen" "$root/6.12.117-aaaaaaa" 12 --commit aaaaaaa --seed 1 --repeat 2
python3 "$gen" "$root/6.12.117-bbbbbbb" 12 --commit bbbbbbb --seed 2 --repeat 2 \
	--slow t0003=2 --fail t0005
touch -d '1 hour ago' "$root/6.12.117-aaaaaaa"

# list: newest first, counts
"$bin" stats list >"$tmp/out"
sed -n 2p "$tmp/out" | grep -q '^6.12.117-bbbbbbb .* 24 \+22 \+2 \+0' || fail "list: $(cat "$tmp/out")"
sed -n 3p "$tmp/out" | grep -q '^6.12.117-aaaaaaa .* 24 \+24 \+0' || fail "list order: $(cat "$tmp/out")"
"$bin" stats list --json | json_ok "list --json"
"$bin" stats list --json | python3 -c '
import json,sys
r = json.load(sys.stdin)
assert [x["run"] for x in r] == ["6.12.117-bbbbbbb", "6.12.117-aaaaaaa"], r
assert r[0]["failed"] == 2 and r[0]["kernels"] == ["6.12.117"], r[0]' || fail "list --json content"

"$bin" stats list-metrics | grep -q '^total_iterations *higher' || fail "list-metrics"
"$bin" stats list-metrics --json | python3 -c '
import json,sys
m = {x["name"]: x for x in json.load(sys.stdin)}
assert m["worst_gap_ms"]["polarity"] == "lower" and m["worst_gap_ms"]["default_abs"] == 500
assert len(m) >= 19' || fail "list-metrics --json"

"$bin" stats list-values >"$tmp/out"
grep -A2 '^commit:' "$tmp/out" | grep -q '  bbbbbbb' || fail "list-values: $(cat "$tmp/out")"
"$bin" stats list-values --json | python3 -c '
import json,sys
v = json.load(sys.stdin)
assert v["commit"] == ["aaaaaaa", "bbbbbbb"] and v["kernel_commit"] == [None], v' ||
	fail "list-values --json"

"$bin" stats show-host 6.12.117-aaaaaaa | grep -q 'cpu_model *synthetic' || fail "show-host"
"$bin" stats show-host --run 6.12.117-aaaaaaa --json | grep -q '"arch": "x86_64"' ||
	fail "show-host --json"

f=$(ls "$root"/6.12.117-bbbbbbb/t0005-*.ktstr.json | head -1)
"$bin" stats explain-sidecar "$f" >"$tmp/out"
grep -q 'test t0005: FAIL' "$tmp/out" || fail "explain: $(cat "$tmp/out")"
grep -q 'failure: scheduler_error during workload: scx_bpf_error: synthetic' "$tmp/out" ||
	fail "explain failure: $(cat "$tmp/out")"
grep -q 'kernel_commit: synthetic sidecar' "$tmp/out" || fail "explain absent: $(cat "$tmp/out")"
# a KASLR boot: how it booted and the slides the host's monitor found
python3 - "$f" "$tmp/kaslr.ktstr.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["boot"] = {"kaslr": True, "image": "bzImage"}
s["monitor"] = {"kaslr_phys_slide": 0x28400000, "kaslr_virt_slide": 0x27c00000}
json.dump(s, open(sys.argv[2], "w"))
PY
"$bin" stats explain-sidecar "$tmp/kaslr.ktstr.json" >"$tmp/out"
grep -q '^  boot: KASLR on, bzImage; kernel slides found by the host: physical 0x28400000, virtual 0x27c00000$' \
	"$tmp/out" || fail "explain boot: $(cat "$tmp/out")"
"$bin" stats explain-sidecar "$f" | grep -q 'boot:' && fail "explain: boot line without a boot object"
"$bin" stats explain-sidecar --run 6.12.117-bbbbbbb --json | python3 -c '
import json,sys
e = json.load(sys.stdin)
assert e["_walk"]["walked"] == 24 and e["_walk"]["valid"] == 24, e["_walk"]
assert e["fields"]["kernel_commit"]["causes"] == {"synthetic sidecar": 24}, e["fields"]["kernel_commit"]' ||
	fail "explain --json"

# compare: the slowed test regresses (exit 1), the failed one is skipped.
rc=0
"$bin" stats compare 6.12.117-aaaaaaa 6.12.117-bbbbbbb >"$tmp/out" || rc=$?
[ $rc -eq 1 ] || fail "compare slowed: exit $rc: $(cat "$tmp/out")"
grep -q '^slicing dimensions: project-commit' "$tmp/out" || fail "slicing: $(cat "$tmp/out")"
grep -q '^t0003/.* total_iterations .*REGRESSION' "$tmp/out" || fail "regression row: $(cat "$tmp/out")"
grep -q '1 pairing key(s) skipped' "$tmp/out" || fail "skipped failed key: $(cat "$tmp/out")"
if grep 'REGRESSION' "$tmp/out" | grep -v '^t0003/'; then fail "unexpected regressions"; fi
rc=0
"$bin" stats compare --json "$root/6.12.117-aaaaaaa" "$root/6.12.117-bbbbbbb" >"$tmp/out" || rc=$?
[ $rc -eq 1 ] || fail "compare --json exit $rc"
python3 -c '
import json,sys
c = json.load(open(sys.argv[1]))
assert c["slicing"] == ["project-commit"], c["slicing"]
reg = [r for r in c["rows"] if r["verdict"] == "regression"]
assert reg and all(r["test"].startswith("t0003/") for r in reg), reg
assert c["summary"]["skipped_failed"] == 1' "$tmp/out" || fail "compare --json content"

# the same run: exit 0, no findings
"$bin" stats compare 6.12.117-aaaaaaa 6.12.117-aaaaaaa >"$tmp/out" || fail "self compare: $(cat "$tmp/out")"
grep -q 'summary: 0 regressions, 0 improvements' "$tmp/out" || fail "self compare summary"

# a policy forgiving the slowed test's metrics; one that tightens another test
cat >"$tmp/policy.json" <<'EOF'
{"per_test": {"t0003": {"default_percent": 200}}}
EOF
"$bin" stats compare --policy "$tmp/policy.json" 6.12.117-aaaaaaa 6.12.117-bbbbbbb >"$tmp/out" ||
	fail "policy should forgive t0003: $(cat "$tmp/out")"
echo '{"per_metric_percent": {"bogus": 1}}' >"$tmp/bad.json"
rc=0
"$bin" stats compare --policy "$tmp/bad.json" 6.12.117-aaaaaaa 6.12.117-bbbbbbb 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "^ktstr: error: .*unknown metric 'bogus'" "$tmp/err" || fail "bad policy: $rc $(cat "$tmp/err")"

# filter mode: slice the pool on the project commit
rc=0
"$bin" stats compare --a-project-commit aaaaaaa --b-project-commit bbbbbbb -E t0003 >"$tmp/out" || rc=$?
[ $rc -eq 1 ] || fail "filter mode exit $rc: $(cat "$tmp/out")"
rc=0
"$bin" stats compare --kernel 6.12 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q 'identical rows' "$tmp/err" || fail "identical sides: $rc $(cat "$tmp/err")"

# bad runs
rc=0
"$bin" stats compare 6.12.117-aaaaaab 6.12.117-bbbbbbb 2>"$tmp/err" || rc=$?
[ $rc -eq 2 ] && grep -q "did you mean '6.12.117-aaaaaaa'" "$tmp/err" || fail "unknown run: $rc $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "error is not one line: $(cat "$tmp/err")"

echo "test_stats: ok"
