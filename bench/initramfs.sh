#!/usr/bin/env bash
# Initramfs benchmark: pack ELFs with their libraries, compare zstd levels,
# and print the cold/warm ratio of the compressed-image cache.
#   bench/initramfs.sh [ELF...]   (default: build/ktstr and /bin/ls, plus
#                                  scx_simple from the test kernel tree if built)
set -eu
cd "$(dirname "$0")/.."
make -s build/libktstr.a
out=build/bench
mkdir -p "$out"
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -o "$out/initramfs_bench" bench/initramfs_bench.c \
	build/libktstr.a -ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm
elfs=("$@")
if [ ${#elfs[@]} -eq 0 ]; then
	make -s build/ktstr
	elfs=(build/ktstr /bin/ls)
	scx=/tmp/kbuild/linux-source-6.12/tools/sched_ext/build/bin/scx_simple
	[ -x "$scx" ] && elfs+=("$scx")
fi
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
"$out/initramfs_bench" "$cache" "${elfs[@]}"
