#!/usr/bin/env bash
# .host_only tests run in the calling process on the machine they are on:
#  - on a host whose /sys/fs/cgroup is not cgroup v2 (these build machines):
#    SKIP with the reason, exit 0; a failure in no-skip mode
#  - inside a ktstr VM (cgroup v2): the test binary, run by hand from
#    `ktstr shell`, passes and leaves no ktstr-<pid> cgroup behind
set -eu
. "$(dirname "$0")/lib_shell.sh"
use_vmtests

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	rc=0; "$bin" --exact ktstr/host_cgroups >"$TMP/log" 2>&1 || rc=$?
	[ $rc -eq 0 ] && grep -q "^PASS ktstr/host_cgroups" "$TMP/log" ||
		{ cat "$TMP/log" >&2; fail "host_only on a cgroup v2 host: exit $rc"; }
else
	rc=0; "$bin" --exact ktstr/host_cgroups >"$TMP/log" 2>&1 || rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/log" >&2; fail "host_only on cgroup v1: exit $rc, want 0 (skip)"; }
	grep -q "^ktstr: SKIP: host_only test needs cgroup v2 mounted at /sys/fs/cgroup" "$TMP/log" ||
		{ cat "$TMP/log" >&2; fail "host_only skip reason"; }
	grep -q "^SKIP ktstr/host_cgroups" "$TMP/log" || { cat "$TMP/log" >&2; fail "host_only SKIP line"; }
	rc=0; KTSTR_NO_SKIP_MODE=1 "$bin" --exact ktstr/host_cgroups >"$TMP/log" 2>&1 || rc=$?
	[ $rc -eq 1 ] || { cat "$TMP/log" >&2; fail "host_only no-skip: exit $rc, want 1"; }
fi

# In a VM, where /sys/fs/cgroup is cgroup v2.
kshell -i "$bin" --exec 'cd /tmp && ktstr-vmtests --exact ktstr/host_cgroups; echo "rc=$?"; ls /sys/fs/cgroup'
[ $rc = 0 ] || { show; fail "ktstr shell: exit $rc"; }
grep -q "^PASS ktstr/host_cgroups" "$TMP/out" || { show; fail "host_only test did not pass in the VM"; }
grep -qx "rc=0" "$TMP/out" || { show; fail "host_only test exit status in the VM"; }
if grep -qx "ktstr-[0-9]*" "$TMP/out"; then show; fail "a ktstr-<pid> cgroup was left behind"; fi
check_no_leftover_qemu
echo "host_only: skip on this host, pass in a VM"
