#!/usr/bin/env bash
# A dynamically linked sched_ext scheduler included with -i runs in the
# guest (its shared libraries are packed from DT_NEEDED).
set -eu
. "$(dirname "$0")/lib_shell.sh"

json=$("$KTSTR_BIN" kernel resolve --json) || fail "cannot resolve the test kernel"
sched_dir=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sched_dir") or "")')
if [ -z "$sched_dir" ] || [ ! -x "$sched_dir/scx_simple" ]; then
	dir=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("dir") or "")')
	sched_dir=$dir/tools/sched_ext/build/bin
fi
[ -x "$sched_dir/scx_simple" ] || fail "no scx_simple for the test kernel (looked in $sched_dir)"
file -L "$sched_dir/scx_simple" | grep -q 'dynamically linked' ||
	fail "$sched_dir/scx_simple is not dynamically linked; the test needs one"

kshell -i "$sched_dir/scx_simple" --exec 'scx_simple --help; echo help-status=$?'
[ $rc = 0 ] || { show; fail "scx_simple --help: exit $rc"; }
grep -q 'help-status=0' "$TMP/out" || { show; fail "scx_simple --help failed in the guest"; }
grep -qi 'usage' "$TMP/out" || { show; fail "no usage text from scx_simple"; }
echo "ok: dynamic scx_simple runs in the guest"
