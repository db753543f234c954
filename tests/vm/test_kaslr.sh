#!/usr/bin/env bash
# KASLR (tests/vm/vmtests.c, kaslr_on / kaslr_off):
#  - by default the guest boots the bzImage with KASLR: the guest's own
#    _text (/proc/kallsyms) and "Kernel code" (/proc/iomem) differ from the
#    vmlinux's link addresses, and the host's monitor, which found the
#    slides in guest RAM without the guest's help, recorded exactly those
#    slides in the sidecar; the sidecar's boot object says kaslr/bzImage
#  - .kaslr = false boots the PVH vmlinux with nokaslr: slides 0 both ways
#  - `ktstr test --list -v` marks the nokaslr test; `ktstr shell --no-kaslr`
#    puts nokaslr on the guest's command line, the default does not
# (the watchdog override and BPF map access under KASLR are covered by
# test_testapi_failures.sh and test_bpfmap.sh, which boot with the default)
set -eu
. "$(dirname "$0")/lib_shell.sh"
use_vmtests

vmlinux=$("$KTSTR_BIN" kernel resolve --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vmlinux"])')
link_text=$(nm "$vmlinux" | awk '$3 == "_text" { print $1; exit }')
[ -n "$link_text" ] || fail "no _text in $vmlinux"

for t in kaslr_on kaslr_off; do
	rc=0
	KTSTR_SIDECAR_DIR=$TMP/$t "$bin" --exact "ktstr/$t" -v >"$TMP/$t.log" 2>&1 || rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/$t.log" >&2; fail "$t: exit $rc"; }
	view=$(grep -m1 -o "guest kaslr view: .*" "$TMP/$t.log") ||
		{ cat "$TMP/$t.log" >&2; fail "$t: the guest did not report its view"; }
	python3 - "$TMP/$t" "$t" "$link_text" "$view" <<'PY' || { cat "$TMP/$t.log" >&2; fail "$t: slides"; }
import glob, json, re, sys
d, name, link, view = sys.argv[1], sys.argv[2], int(sys.argv[3], 16), sys.argv[4]
sc = json.load(open(glob.glob(d + "/*.ktstr.json")[0]))
m, boot = sc["monitor"], sc["boot"]
g = dict(re.findall(r"(\w+)=(\w+)", view))
virt = int(g["_text"], 16) - link
phys = int(g["kernel_code"], 16) - (link - 0xffffffff80000000)
host = (m["kaslr_phys_slide"], m["kaslr_virt_slide"])
print(f"{name}: guest phys/virt slide {phys:#x}/{virt:#x}, host {host[0]:#x}/{host[1]:#x}, "
      f"boot {boot}")
if host != (phys, virt):
    sys.exit(f"{name}: the host's slides {host} are not the guest's {(phys, virt)}")
if m["verdict"] != "PASS" or m["summary"]["valid_samples"] < 5:
    sys.exit(f"{name}: monitor {m['verdict']}, {m['summary']['valid_samples']} valid samples")
if name == "kaslr_on":
    if boot != {"kaslr": True, "image": "bzImage"} or g["nokaslr"] != "0":
        sys.exit(f"{name}: not a KASLR boot")
    # both slides 0 happens with probability ~1e-5 (2 MiB slots in 1 GiB x RAM)
    if (phys, virt) == (0, 0):
        sys.exit(f"{name}: the kernel was not relocated")
else:
    if boot != {"kaslr": False, "image": "vmlinux (PVH)"} or g["nokaslr"] != "1":
        sys.exit(f"{name}: not a nokaslr PVH boot")
    if (phys, virt) != (0, 0):
        sys.exit(f"{name}: relocated despite nokaslr")
PY
done

# the listing says which test opts out
"$KTSTR_BIN" test --list -v -E kaslr_ "$bin" >"$TMP/list" 2>&1 || { cat "$TMP/list" >&2; fail "list"; }
grep -q "^ktstr/kaslr_off: runs (.*, nokaslr)$" "$TMP/list" || { cat "$TMP/list" >&2; fail "list -v: no nokaslr"; }
if grep "^ktstr/kaslr_on: " "$TMP/list" | grep -q nokaslr; then fail "list -v: kaslr_on marked nokaslr"; fi

# ktstr shell: KASLR by default, --no-kaslr opts out
kshell --exec 'cat /proc/cmdline'
[ $rc -eq 0 ] || { show; fail "shell: exit $rc"; }
if grep -q nokaslr "$TMP/out"; then show; fail "shell: nokaslr by default"; fi
kshell --no-kaslr --exec 'cat /proc/cmdline'
[ $rc -eq 0 ] && grep -q " nokaslr" "$TMP/out" || { show; fail "shell --no-kaslr: no nokaslr"; }
check_no_leftover_qemu
echo "kaslr: slides found by the host match the guest's; nokaslr opt-out works"
