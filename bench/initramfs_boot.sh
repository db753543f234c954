#!/usr/bin/env bash
# Boot cost of initramfs compression under QEMU TCG: boots the test kernel
# into an /init that powers off at once, with the same archive stored
# uncompressed, lz4 (legacy), gzip and zstd at several levels. Prints the
# median wall time of N boots each, host compression time, and the ratio
# to the uncompressed boot.
#   bench/initramfs_boot.sh [BZIMAGE] [N]
set -eu
cd "$(dirname "$0")/.."
kernel=${1:-/tmp/kbuild/linux-source-6.12/arch/x86/boot/bzImage}
n=${2:-3}
[ -f "$kernel" ] || { echo "initramfs_boot: kernel $kernel not found" >&2; exit 1; }
make -s build/libktstr.a build/ktstr
out=build/bench
mkdir -p "$out"
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Isrc -o "$out/initramfs_bench" bench/initramfs_bench.c \
	build/libktstr.a -ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm
cat > "$out/poweroff.c" <<'C'
#include <sys/reboot.h>
#include <unistd.h>
int main(void) { sync(); reboot(RB_POWER_OFF); return 0; }
C
gcc -static -O2 -o "$out/poweroff" "$out/poweroff.c"
elfs=("$out/poweroff" build/ktstr /bin/ls)
scx=/tmp/kbuild/linux-source-6.12/tools/sched_ext/build/bin/scx_simple
[ -x "$scx" ] && elfs+=("$scx")
"$out/initramfs_bench" --dump "$out/boot.cpio" "${elfs[@]}"
raw=$out/boot.cpio
echo "archive: $(stat -c %s "$raw") bytes (${elfs[*]})"

variants=(none lz4 gzip zstd1 zstd3 zstd19)
compress() { # variant -> file, prints compression ms
	local v=$1 f=$out/boot.$1 t0 t1
	t0=$(date +%s%N)
	case $v in
	none) cp "$raw" "$f" ;;
	lz4) lz4 -q -l -9 -f "$raw" "$f" ;;
	gzip) gzip -6 -c "$raw" > "$f" ;;
	zstd1) zstd -q -1 -f --no-check "$raw" -o "$f" ;;
	zstd3) zstd -q -3 -f --no-check "$raw" -o "$f" ;;
	zstd19) zstd -q -19 -f --no-check "$raw" -o "$f" ;;
	esac
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
boot() { # file -> wall ms
	local t0 t1
	t0=$(date +%s%N)
	timeout 120 qemu-system-x86_64 -M q35 -accel tcg,thread=single -cpu max -m 512 -smp 1 \
		-kernel "$kernel" -initrd "$1" -nographic -no-reboot -nodefaults -serial null \
		-append "console=ttyS0 rdinit=/init panic=-1 loglevel=0 mitigations=off" \
		>/dev/null 2>&1 || { echo "boot failed: $1" >&2; return 1; }
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
base=
printf '%-8s %10s %12s %12s %8s\n' variant size_bytes compress_ms boot_ms_med ratio
for v in "${variants[@]}"; do
	cms=$(compress "$v")
	times=()
	for _ in $(seq "$n"); do times+=("$(boot "$out/boot.$v")"); done
	med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p")
	[ -n "$base" ] || base=$med
	printf '%-8s %10s %12s %12s %8s\n' "$v" "$(stat -c %s "$out/boot.$v")" "$cms" "$med" \
		"$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
done
