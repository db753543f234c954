#!/usr/bin/env bash
# Guest init checks that sysfs shows the declared topology (KTSTR_TOPO):
#  - topo_mismatch (tests/vm/vmtests.c) declares 1n1l2c1t but its scheduler
#    adds maxcpus=1, so the guest sees one CPU: the boot fails with
#    "topology mismatch: ...", the test fails (exit 1), nothing is left behind
#  - the matching case runs in every other VM test (test_shell_topology.sh
#    boots 1,1,1,1, 1n3l3c1t and 2,4,2,2 through the same check)
#  - the shell takes both grammars and rejects an unbuildable topology
#    before booting: 1n64l8c1t is 512 CPUs
set -eu
. "$(dirname "$0")/lib_shell.sh"
use_vmtests
log=$TMP/log

rc=0; timeout -k 5 300 "$bin" --exact ktstr/topo_mismatch >"$log" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$log" >&2; fail "topo_mismatch: exit $rc, want 1"; }
grep -qF "topology mismatch: declared 1n1l2c1t has 2 CPUs, sysfs reports 1 online (0)" "$log" ||
	{ cat "$log" >&2; fail "topo_mismatch: no clear mismatch message"; }
grep -q "^FAIL ktstr/topo_mismatch" "$log" || { cat "$log" >&2; fail "topo_mismatch: no FAIL line"; }
check_no_leftover_qemu

kshell --topology 1n64l8c1t --exec true
[ $rc = 2 ] || { show; fail "1n64l8c1t: exit $rc, want 2"; }
grep -qx "ktstr: error: invalid topology '1n64l8c1t': 512 CPUs, at most 255 supported" "$TMP/err" ||
	{ show; fail "1n64l8c1t: wrong message"; }
echo "ok: sysfs vs declared topology checked in the guest"
