#!/usr/bin/env bash
# The VM engine as a library, the way test binaries use it: a static
# program that is both host and guest /init, checking the SHM ring (2 NUMA
# nodes: the ring lives in the last node's RAM), COM2 lines, run-protocol
# messages in their COM2 form, the bounded console.log and the exit code.
set -eu
. "$(dirname "$0")/lib_shell.sh"
build_internal_prog vm_engine_test engine-test
timeout -k 5 300 "$TMP/engine-test"
check_no_leftover_qemu
