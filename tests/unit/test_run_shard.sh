#!/usr/bin/env bash
# `ktstr run --list` prints the selected scenarios and runs nothing (no cgroups
# needed); `--shard K/N` takes every Nth of them from the Kth, so shards 1..N
# together are exactly the selection, each scenario once, in catalog order
# within a shard. Bad shards are usage errors (exit 2) naming the value.
set -eu
: "${KTSTR_BIN:?}"
tmp=$(mktemp -d /tmp/ktstr-runshard.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$KTSTR_BIN" run --list >"$tmp/all" || fail "run --list: exit $?"
n=$(wc -l <"$tmp/all")
[ "$n" -ge 10 ] || fail "run --list printed $n scenarios"
grep -qx 'cgroup_steady/default' "$tmp/all" || fail "cgroup_steady/default not listed"
[ ! -d /sys/fs/cgroup/ktstr-$$ ] || fail "--list created cgroups"
for k in 1 2 3; do
	"$KTSTR_BIN" run --list --shard $k/3 >"$tmp/s$k" || fail "shard $k/3: exit $?"
	# the Kth, (K+N)th, ... line of the whole list
	awk -v k=$k 'NR % 3 == k % 3' "$tmp/all" | cmp -s - "$tmp/s$k" ||
		fail "shard $k/3 is not every 3rd scenario from the ${k}th"
done
sort "$tmp/s1" "$tmp/s2" "$tmp/s3" >"$tmp/u"
sort "$tmp/all" | cmp -s - "$tmp/u" || fail "shards 1..3 are not the whole list exactly once"
# --filter applies first: the shard slices the matches
"$KTSTR_BIN" run --list --filter cgroup_cpuset >"$tmp/f"
"$KTSTR_BIN" run --list --filter cgroup_cpuset --shard 2/2 >"$tmp/f2"
awk 'NR % 2 == 0' "$tmp/f" | cmp -s - "$tmp/f2" || fail "--shard does not slice --filter's matches"
for bad in 0/3 4/3 3 hash:1/2 1/0 x/2; do
	rc=0
	"$KTSTR_BIN" run --list --shard "$bad" >/dev/null 2>"$tmp/err" || rc=$?
	[ $rc = 2 ] || fail "--shard $bad: exit $rc, want 2"
	grep -qx "ktstr: error: --shard '$bad': expected K/N with 1 <= K <= N" "$tmp/err" ||
		fail "--shard $bad: message: $(cat "$tmp/err")"
done
# a name that matches itself only: its one-scenario selection has no shard 2
one=$(while read -r l; do [ "$(grep -cF -- "$l" "$tmp/all")" = 1 ] && { echo "$l"; break; }; done <"$tmp/all")
[ -n "$one" ] || fail "no scenario name is unique as a substring"
rc=0
"$KTSTR_BIN" run --list --filter "$one" --shard 2/2 >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 1 ] && grep -q "in shard 2/2" "$tmp/err" || fail "empty shard: exit $rc, $(cat "$tmp/err")"
echo "ok: run --list and --shard K/N ($n scenarios)"
