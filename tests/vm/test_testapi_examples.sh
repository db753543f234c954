#!/usr/bin/env bash
# The example suite (examples/ktstr-examples.c: scx_simple, scx_qmap,
# scx_central, scx_flatcg and EEVDF under several scenarios/topologies)
# passes under `ktstr test`, and every test leaves a sidecar that parses back.
# scx_flatcg included: the kernel cache builds tools/sched_ext with clang >= 15
# (with clang 14 its __kptr stash fails BPF verification).
set -eu
: "${KTSTR_BIN:?}"
build=$(dirname "$KTSTR_BIN")
suite=$build/examples/ktstr-examples
[ -x "$suite" ] || { echo "missing $suite (run make examples)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ktstr-vm-examples.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KTSTR_TARGET_DIR=$tmp/target
n=$("$suite" --list | grep -c ': test$')
start=$(date +%s.%N)
rc=0; "$KTSTR_BIN" test -j 2 "$suite" >"$tmp/out" 2>"$tmp/err" || rc=$?
end=$(date +%s.%N)
cat "$tmp/out"
if [ $rc -ne 0 ]; then
	cat "$tmp/err" >&2
	echo "example suite failed" >&2
	exit 1
fi
grep -q "^$n passed, 0 failed, 0 skipped, 0 inconclusive" "$tmp/out" || {
	cat "$tmp/err" >&2; echo "expected $n passed" >&2; exit 1; }
grep -q "ktstr: results: $n sidecars in $KTSTR_TARGET_DIR/ktstr/" "$tmp/err" || {
	cat "$tmp/err" >&2; echo "expected $n readable sidecars" >&2; exit 1; }
files=$(find "$KTSTR_TARGET_DIR/ktstr" -name '*.ktstr.json' | wc -l)
[ "$files" -eq "$n" ] || { echo "expected $n sidecar files, found $files" >&2; exit 1; }
grep -l '"scheduler": "scx_qmap"' "$KTSTR_TARGET_DIR"/ktstr/*/qmap_cpusets-*.ktstr.json >/dev/null
grep -h "^PASS " "$tmp/err" || true
printf 'example suite: %d tests, wall %.1fs\n' "$n" "$(echo "$end - $start" | bc)"
