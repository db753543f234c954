#!/usr/bin/env bash
# Boot overhead of ktstr: wall time of `ktstr shell --exec true` against a
# bare qemu-system-x86_64 boot of the same kernel with a minimal busybox
# initramfs whose /init is `poweroff -f`, both to power-off, single-threaded
# TCG, 1 vCPU. Prints the medians and the ratio ktstr/bare (goal <= 1.10).
# ktstr boots with --no-kaslr here (nokaslr, the PVH entry), as the bare
# boots do; bench/kaslr_boot.sh measures what KASLR (bzImage) costs.
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
	"$KTSTR_BIN" shell --accel auto --no-kaslr --exec true </dev/null
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# timeit FN NAME: appends wall seconds to $tmp/NAME.t and CPU seconds (user+sys
# of the whole process tree, i.e. mostly the emulator) to $tmp/NAME.c. CPU
# time is far less sensitive to other load on the machine than wall time.
timeit() {
	local out
	TIMEFORMAT='%R %U %S'
	out=$( { time "$1" >/dev/null 2>&1; } 2>&1 ) || { echo "bench: $1 failed" >&2; exit 1; }
	set -- "$1" "$2" $out
	echo "$3" >>"$tmp/$2.t"
	echo "$4 + $5" | bc >>"$tmp/$2.c"
}

kt >/dev/null 2>&1 || { echo "bench: ktstr shell --exec true failed:" >&2; kt >&2; exit 1; }
bare || { echo "bench: bare boot failed" >&2; exit 1; }
for i in $(seq 1 "$runs"); do # interleaved so load changes hit all
	timeit bare bare
	[ -z "$pvh" ] || timeit bare_pvh pvh
	timeit kt kt
done
r() { echo "scale=3; $1 / $2" | bc; }
b=$(median <"$tmp/bare.t") bc_=$(median <"$tmp/bare.c")
k=$(median <"$tmp/kt.t") kc=$(median <"$tmp/kt.c")
echo "kernel: $image${pvh:+ (ktstr boots $pvh via PVH)}"
echo "medians of $runs runs        wall s   cpu s"
printf 'bare qemu, bzImage        %7.2f %7.2f\n' "$b" "$bc_"
if [ -n "$pvh" ]; then
	p=$(median <"$tmp/pvh.t") pc=$(median <"$tmp/pvh.c")
	printf 'bare qemu, same PVH image %7.2f %7.2f\n' "$p" "$pc"
fi
printf 'ktstr shell --exec true   %7.2f %7.2f\n' "$k" "$kc"
echo "ratio ktstr/bare bzImage:   wall $(r "$k" "$b")  cpu $(r "$kc" "$bc_")  (goal <= 1.10)"
[ -z "$pvh" ] || echo "ratio ktstr/bare same PVH:  wall $(r "$k" "$p")  cpu $(r "$kc" "$pc")"
