#!/usr/bin/env bash
# A dynamically linked sched_ext scheduler included with -i runs in the
# guest (its shared libraries are packed from DT_NEEDED) and attaches.
set -eu
. "$(dirname "$0")/lib_shell.sh"

json=$("$KTSTR_BIN" kernel resolve --json) || fail "cannot resolve the test kernel"
sched_dir=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sched_dir") or "")')
if [ -z "$sched_dir" ] || [ ! -x "$sched_dir/scx_simple" ]; then
	dir=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("dir") or "")')
	sched_dir=$dir/tools/sched_ext/build/bin
fi
[ -x "$sched_dir/scx_simple" ] || fail "no scx_simple for the test kernel (looked in $sched_dir)"
readelf -l "$sched_dir/scx_simple" | grep -q 'Requesting program interpreter' ||
	fail "$sched_dir/scx_simple is not dynamically linked; the test needs one"

kshell -i "$sched_dir/scx_simple" --exec '
scx_simple -h; echo help-status=$?
scx_simple >/tmp/sched.log 2>&1 &
pid=$!
for i in $(seq 1 60); do
	[ "$(cat /sys/kernel/sched_ext/state)" = enabled ] && { echo sched-enabled; break; }
	sleep 0.5
done
echo "ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)"
kill -INT $pid; wait $pid
echo "after=$(cat /sys/kernel/sched_ext/state)"'
[ $rc = 0 ] || { show; fail "scx_simple run: exit $rc"; }
grep -q 'help-status=0' "$TMP/out" || { show; fail "scx_simple -h failed in the guest"; }
grep -q 'Usage: scx_simple' "$TMP/out" || { show; fail "no usage text from scx_simple"; }
grep -qx 'sched-enabled' "$TMP/out" || { show; fail "scx_simple did not enable sched_ext"; }
grep -qx 'ops=simple' "$TMP/out" || { show; fail "sched_ext root ops is not simple"; }
grep -qx 'after=disabled' "$TMP/out" || { show; fail "sched_ext not disabled after scx_simple exited"; }
check_no_leftover_qemu
echo "ok: dynamic scx_simple runs in the guest and attaches"
