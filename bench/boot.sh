#!/usr/bin/env bash
# Boot overhead of ktstr: wall time of `ktstr shell --exec true` against a
# bare qemu-system-x86_64 boot of the same kernel with a minimal busybox
# initramfs whose /init is `poweroff -f`, both to power-off, single-threaded
# TCG, 1 vCPU. Prints the medians and the ratio ktstr/bare (goal <= 1.10).
#
# Usage: bench/boot.sh [RUNS]   (default 5; KTSTR_BIN, kernel via the
# implicit chain or KTSTR_KERNEL like every other command)
set -eu
cd "$(dirname "$0")/.."
KTSTR_BIN=${KTSTR_BIN:-$PWD/build/ktstr}
runs=${1:-5}
unset RUST_BACKTRACE KTSTR_VERBOSE

json=$("$KTSTR_BIN" kernel resolve --json)
image=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])')
vmlinux=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("vmlinux") or "")')
[ -f "$image" ] || { echo "bench: no kernel image ($image)" >&2; exit 1; }
# ktstr boots the vmlinux through PVH when it has the note; measure the bare
# boot of that too so both ratios are visible.
pvh=
if [ -n "$vmlinux" ] && [ -f "$vmlinux" ] && readelf -n "$vmlinux" 2>/dev/null | grep -q 'Xen.*0x00000012\|PHYS32_ENTRY\|Unknown note type: (0x00000012)'; then
	pvh=$vmlinux
fi

tmp=$(mktemp -d /tmp/ktstr-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/bin" "$tmp/root/dev"
cp /bin/busybox "$tmp/root/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox poweroff -f\n' >"$tmp/root/init"
chmod +x "$tmp/root/init"
(cd "$tmp/root" && find . | cpio -o -H newc --quiet | zstd -q -19 >"$tmp/initrd.zst")

# the same base command line ktstr uses, so the ratio is ktstr's own cost
append="console=ttyS0 nomodules mitigations=off no_timer_check random.trust_cpu=on \
swiotlb=noforce i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd reboot=k panic=-1 nokaslr \
loglevel=4 rdinit=/init"
bare_boot() {
	qemu-system-x86_64 -M q35 -accel tcg,thread=single -m 256M -smp 1 \
		-kernel "$1" -initrd "$tmp/initrd.zst" -append "$append" \
		-display none -nodefaults -no-user-config -no-reboot \
		-serial "file:$tmp/bare.log" </dev/null >/dev/null 2>&1
}
bare() { bare_boot "$image"; }
bare_pvh() { bare_boot "$pvh"; }
kt() {
	"$KTSTR_BIN" shell --accel auto --exec true </dev/null >/dev/null 2>"$tmp/kt.err"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
timeit() { # fn -> seconds
	local s e
	s=$(date +%s.%N)
	"$1" || { echo "bench: $1 failed" >&2; cat "$tmp/kt.err" >&2 2>/dev/null; exit 1; }
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}

kt >/dev/null # warm the initramfs cache and the page cache
bare
: >"$tmp/bare.t"
: >"$tmp/pvh.t"
: >"$tmp/kt.t"
for i in $(seq 1 "$runs"); do # interleaved so load changes hit all
	timeit bare >>"$tmp/bare.t"
	[ -z "$pvh" ] || timeit bare_pvh >>"$tmp/pvh.t"
	timeit kt >>"$tmp/kt.t"
done
b=$(median <"$tmp/bare.t")
k=$(median <"$tmp/kt.t")
echo "kernel:             $image${pvh:+ (ktstr boots $pvh via PVH)}"
echo "bare qemu bzImage:  median ${b}s  ($(tr '\n' ' ' <"$tmp/bare.t"))"
if [ -n "$pvh" ]; then
	p=$(median <"$tmp/pvh.t")
	echo "bare qemu PVH:      median ${p}s  ($(tr '\n' ' ' <"$tmp/pvh.t"))"
fi
echo "ktstr shell --exec: median ${k}s  ($(tr '\n' ' ' <"$tmp/kt.t"))"
echo "ratio ktstr/bare (bzImage): $(echo "scale=3; $k / $b" | bc)  (goal <= 1.10)"
[ -z "$pvh" ] || echo "ratio ktstr/bare (same PVH image): $(echo "scale=3; $k / $p" | bc)"
