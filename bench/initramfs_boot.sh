#!/usr/bin/env bash
# Boot cost of initramfs compression under QEMU TCG: boots the test kernel
# into an /init that powers off at once, with the same archive stored
# uncompressed, lz4 (legacy), gzip and zstd at several levels. Runs QEMU
# with -icount so that guest time counts instructions: the figures are
# deterministic and independent of host load. Prints host compression time,
# guest ms spent unpacking, guest ms from boot to /init and its ratio to the
# uncompressed archive.
#   bench/initramfs_boot.sh [BZIMAGE]      (VARIANTS="none zstd3" to choose)
set -eu
cd "$(dirname "$0")/.."
kernel=${1:-/tmp/kbuild/linux-source-6.12/arch/x86/boot/bzImage}
[ -f "$kernel" ] || { echo "initramfs_boot: kernel $kernel not found" >&2; exit 1; }
make -s build/libktstr.a build/ktstr
out=build/bench
mkdir -p "$out"
gcc -std=gnu11 -D_GNU_SOURCE -O2 -Iinclude -Isrc -o "$out/initramfs_bench" bench/initramfs_bench.c \
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

variants=(${VARIANTS:-none lz4 gzip zstd1 zstd3 zstd19})
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
# Guest virtual time under -icount (instruction-counted, deterministic, and
# immune to host load): ms spent unpacking the initramfs and ms from boot to
# "Run /init". Prints "unpack_ms init_ms".
boot() {
	local log=$out/serial.txt
	rm -f "$log"
	timeout 300 qemu-system-x86_64 -M q35 -accel tcg,thread=single -icount shift=0,sleep=off \
		-m 512 -smp 1 -kernel "$kernel" -initrd "$1" -nographic -no-reboot -nodefaults \
		-serial file:"$log" \
		-append "console=ttyS0 rdinit=/init panic=-1 loglevel=7 printk.time=1 mitigations=off" \
		>/dev/null 2>&1 || { echo "boot failed: $1" >&2; return 1; }
	awk -F'[][]' '
		/Unpacking initramfs/ { u = $2 }
		/Freeing initrd memory/ { f = $2 }
		/Run \/init as init process/ { i = $2 }
		END { if (!u || !f || !i) exit 1; printf "%d %d\n", (f - u) * 1000, i * 1000 }' "$log" ||
		{ echo "no timestamps in $log" >&2; return 1; }
}
base=
printf '%-8s %10s %12s %10s %14s %8s\n' variant size_bytes compress_ms unpack_ms boot_to_init_ms ratio
for v in "${variants[@]}"; do
	cms=$(compress "$v")
	read -r ums ims < <(boot "$out/boot.$v")
	[ -n "$base" ] || base=$ims
	printf '%-8s %10s %12s %10s %14s %8s\n' "$v" "$(stat -c %s "$out/boot.$v")" "$cms" "$ums" \
		"$ims" "$(awk -v a="$ims" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
done
