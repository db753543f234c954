#!/usr/bin/env bash
# Run every tests/vm/test_*.sh (each boots VMs through $KTSTR_BIN) and print
# "N passed, N failed". Before the tests, make sure a test kernel is cached:
# `ktstr kernel build --source $KTSTR_KERNEL_SOURCE` (a cache hit takes well
# under a second; an empty cache builds it, ~8-15 min on 2 cores).
# Set KTSTR_KERNEL to test against a specific kernel instead.
# Arguments: optional substrings selecting tests.
set -u
cd "$(dirname "$0")/../.."
export KTSTR_BIN=${KTSTR_BIN:-$PWD/build/ktstr}
src=${KTSTR_KERNEL_SOURCE:-/usr/src/linux-source-6.12.tar.xz}

if [ -z "${KTSTR_KERNEL:-}" ]; then
	echo "vm tests: ensuring a cached kernel built from $src"
	if ! "$KTSTR_BIN" kernel build --source "$src"; then
		echo "vm tests: could not build or find the test kernel" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

logdir=$(mktemp -d /tmp/ktstr-vmtests.XXXXXX)
trap 'rm -rf "$logdir"' EXIT
pass=0 fail=0 failed=()
for t in tests/vm/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		sel=0
		for s in "$@"; do case "$name" in *"$s"*) sel=1 ;; esac; done
		[ $sel = 1 ] || continue
	fi
	start=$(date +%s.%N)
	if bash "$t" >"$logdir/$name.log" 2>&1; then
		pass=$((pass + 1))
		printf 'ok   %s (%.1fs)\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL %s (%.1fs)\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)"
		sed 's/^/    | /' "$logdir/$name.log" | tail -40
		# the script's own verdict lines, which a long log pushes out of the tail
		grep -E '(^|: )FAIL: ' "$logdir/$name.log" | head -5 | sed 's/^/    > /'
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
