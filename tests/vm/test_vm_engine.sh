#!/usr/bin/env bash
# The VM engine as a library, the way test binaries use it: a static
# program that is both host and guest /init, checking the SHM ring (2 NUMA
# nodes: the ring lives in the last node's RAM), COM2 lines, run-protocol
# messages in their COM2 form, the bounded console.log and the exit code.
set -eu
. "$(dirname "$0")/lib_shell.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${KTSTR_LIB:-$(dirname "$KTSTR_BIN")/libktstr.a}
[ -f "$lib" ] || fail "no $lib (run make)"
gcc -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Werror -I"$root/include" -I"$root/src" -static \
	-o "$TMP/engine-test" "$root/tests/vm/vm_engine_test.c" \
	-Wl,--whole-archive "$lib" -Wl,--no-whole-archive \
	-ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm ||
	fail "cannot build the engine test program"
timeout -k 5 300 "$TMP/engine-test"
check_no_leftover_qemu
