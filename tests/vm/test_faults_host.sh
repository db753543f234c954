#!/usr/bin/env bash
# The fault matrix, the faults that need no VM boot (docs/fault-matrix.md).
# Each must end by itself with a one-line explanation and leave nothing
# behind (check_nothing_left_behind):
#  - Ctrl-C while a kernel builds, while its cache entry is being written, and
#    early in a real tarball build (extracting): no entry, no staging directory;
#  - the disk filling up while a cache entry is written (small tmpfs);
#  - the disk full while a sidecar is written: a warning naming the file,
#    also under `ktstr test`;
#  - a missing or non-executable QEMU (KTSTR_QEMU and PATH);
#  - the disk full while the initramfs cache entry is written;
#  - Ctrl-C during `ktstr test`: which tests passed, were interrupted, never ran.
# Kernel builds use a fake git "kernel tree" whose make targets take no time
# and a cache of this test's own (KTSTR_CACHE_DIR); the shared cache is not
# touched. Needs root (tmpfs mounts).
set -eu
. "$(dirname "$0")/lib_shell.sh"
build=$(dirname "$KTSTR_BIN")
[ "$(id -u)" = 0 ] || fail "needs root to mount a small tmpfs"
trap 'umount "$TMP/full" 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir "$TMP/full"
mount -t tmpfs -o size=512k ktstr-full "$TMP/full"

# ---- kernel builds -------------------------------------------------------
# A git tree with the kernel's make targets: bzImage sleeps FAKE_BUILD_SLEEP
# seconds and writes FAKE_IMAGE_KB KiB; vmlinux is an ELF with .symtab and
# .BTF (what the cache requires of it).
tree=$TMP/tree
mkdir "$tree"
cat >"$tree/Makefile" <<'MK'
VERSION = 6
PATCHLEVEL = 99
SUBLEVEL = 0
EXTRAVERSION = -fake
allnoconfig:
	: >.config
olddefconfig:
	@true
bzImage:
	sleep $${FAKE_BUILD_SLEEP:-0}
	mkdir -p arch/x86/boot
	head -c $${FAKE_IMAGE_KB:-64}K /dev/urandom >arch/x86/boot/bzImage
vmlinux:
	printf 'int main(void) { return 0; }\n' >fake.c
	cc -o vmlinux fake.c
	head -c 256 /dev/urandom >fake.btf
	/usr/bin/objcopy --add-section .BTF=fake.btf vmlinux
compile_commands.json:
	echo '[]' >$@
.PHONY: allnoconfig olddefconfig bzImage vmlinux
MK
mkdir -p "$tree/tools/sched_ext"
printf 'all:\n\tmkdir -p build/bin && cp /bin/true build/bin/scx_fake\n' >"$tree/tools/sched_ext/Makefile"
echo 'mainmenu "fake"' >"$tree/Kconfig"
printf '.config\nvmlinux\nfake.*\narch/\nbuild/\ncompile_commands.json\n' >"$tree/.gitignore"
git -C "$tree" init -q
git -C "$tree" add -A
git -C "$tree" -c user.name=t -c user.email=t@t commit -qm fake
# objcopy --strip-debug (the cache store's first step after copying the
# image) waits FAKE_STORE_SLEEP seconds: a window inside the store.
mkdir "$TMP/bin"
cat >"$TMP/bin/objcopy" <<'SH'
#!/bin/sh
[ "$1" = --strip-debug ] && [ -n "${FAKE_STORE_SLEEP:-}" ] && { echo storing >"$FAKE_STORE_MARK"; sleep "$FAKE_STORE_SLEEP"; }
exec /usr/bin/objcopy "$@"
SH
chmod +x "$TMP/bin/objcopy"

# entries DIR: the cache entries in DIR (hidden .logs/.locks are not entries)
entries() { find "$1" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' 2>/dev/null; }

# The fake build works and is cached (else the faults below prove nothing).
cache=$TMP/cache
KTSTR_CACHE_DIR=$cache "$KTSTR_BIN" kernel build --source "$tree" </dev/null >"$TMP/out" 2>"$TMP/err" ||
	{ show; fail "fake kernel build failed"; }
[ -f "$cache/$(entries "$cache")/bzImage" ] || { show; fail "fake kernel not cached"; }
check_nothing_left_behind "$cache"
rm -rf "$cache" "$tree/.config"

# Ctrl-C while make runs.
export KTSTR_CACHE_DIR=$cache
FAKE_BUILD_SLEEP=60 interrupt_when 'building kernel' "$TMP/err" 30 \
	"$KTSTR_BIN" kernel build --source "$tree"
[ $rc = 130 ] || { show; fail "Ctrl-C during make: exit $rc, want 130"; }
[ -z "$(entries "$cache")" ] || fail "Ctrl-C during make left a cache entry: $(entries "$cache")"
check_nothing_left_behind "$cache"

# Ctrl-C while the entry is being written (image already copied to staging).
FAKE_STORE_SLEEP=60 FAKE_STORE_MARK=$TMP/mark PATH=$TMP/bin:$PATH \
	interrupt_when storing "$TMP/mark" 30 "$KTSTR_BIN" kernel build --source "$tree"
[ $rc = 130 ] || { show; fail "Ctrl-C during the store: exit $rc, want 130"; }
[ -z "$(entries "$cache")" ] || fail "Ctrl-C during the store left a cache entry: $(entries "$cache")"
check_nothing_left_behind "$cache"
echo "ok: Ctrl-C during a kernel build and during its store leaves no entry"

# Disk full while the entry is written: the image is bigger than the cache's disk.
set +e
KTSTR_CACHE_DIR=$TMP/full/cache FAKE_IMAGE_KB=2048 "$KTSTR_BIN" kernel build --source "$tree" \
	</dev/null >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
[ $rc != 0 ] || { show; fail "a full disk while storing exited 0"; }
grep -q "^ktstr: error: kernel build: cannot copy .*bzImage.*: No space left on device$" "$TMP/err" ||
	{ show; fail "disk full during the store: no clear error"; }
[ -z "$(entries "$TMP/full/cache")" ] || fail "disk full left a cache entry: $(entries "$TMP/full/cache")"
check_nothing_left_behind "$TMP/full/cache"
rm -rf "$TMP/full/cache"
echo "ok: a full disk while storing a kernel is one clear error, no entry"

# A real build (the Debian tarball), interrupted while it extracts.
src=${KTSTR_KERNEL_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
[ -f "$src" ] || fail "no kernel source tarball $src (scripts/install-deps.sh installs it)"
interrupt_when 'extracting source' "$TMP/err" 60 "$KTSTR_BIN" kernel build --source "$src"
[ $rc = 130 ] || { show; fail "Ctrl-C during extraction: exit $rc, want 130"; }
[ -z "$(entries "$cache")" ] || fail "Ctrl-C during extraction left a cache entry"
check_nothing_left_behind "$cache"
unset KTSTR_CACHE_DIR
echo "ok: Ctrl-C early in a real kernel build leaves nothing"

# ---- sidecars on a full disk -------------------------------------------------
head -c 1M /dev/zero >"$TMP/full/fill" 2>/dev/null || true
export KTSTR_SIDECAR_DIR=$TMP/full/sidecars
bin=$build/tests/ktstr-vmtests
rc=0
"$bin" --exact ktstr/too_big </dev/null >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 0 ] || { show; fail "sidecar on a full disk: exit $rc, want 0 (the test skips)"; }
grep -q "^ktstr: warning: sidecar not written: write $KTSTR_SIDECAR_DIR/too_big-[0-9a-f]*\.ktstr\.json: No space left on device$" \
	"$TMP/err" || { show; fail "sidecar on a full disk: no warning naming the file"; }
check_nothing_left_behind "$KTSTR_SIDECAR_DIR"
[ -z "$(ls -A "$KTSTR_SIDECAR_DIR")" ] || fail "a partial sidecar was left: $(ls -A "$KTSTR_SIDECAR_DIR")"
unset KTSTR_SIDECAR_DIR
rm -f "$TMP/full/fill"
echo "ok: a full disk while writing a sidecar is a warning naming the file, nothing partial"

# ---- the emulator ------------------------------------------------------------
# A file with a bzImage header passes the kernel check; the machine is never
# reached, so no real kernel is needed.
python3 -c "
b = bytearray(0x210 + 4096); b[0x1fe:0x200] = b'\x55\xaa'; b[0x202:0x206] = b'HdrS'
open('$TMP/bzImage', 'wb').write(b)"
printf '#!/bin/sh\nexit 0\n' >"$TMP/noexec-qemu"
chmod 644 "$TMP/noexec-qemu"
mkdir "$TMP/emptypath" "$TMP/noexecpath"
cp "$TMP/noexec-qemu" "$TMP/noexecpath/qemu-system-x86_64"
qemu_case() { # what expected-error-regex env...
	local what=$1 want=$2
	shift 2
	set +e
	env "$@" "$KTSTR_BIN" shell --kernel "$TMP/bzImage" --exec true </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	set -e
	[ $rc != 0 ] || { show; fail "$what: exit 0"; }
	grep -q "^ktstr: error: $want$" "$TMP/err" || { show; fail "$what: unclear error"; }
	[ "$(grep -c '^ktstr: error' "$TMP/err")" = 1 ] || { show; fail "$what: more than one error"; }
	check_nothing_left_behind
}
qemu_case "missing KTSTR_QEMU" "cannot run $TMP/none (KTSTR_QEMU): No such file or directory" \
	KTSTR_QEMU="$TMP/none"
qemu_case "non-executable KTSTR_QEMU" "cannot run $TMP/noexec-qemu (KTSTR_QEMU): Permission denied" \
	KTSTR_QEMU="$TMP/noexec-qemu"
qemu_case "no QEMU on PATH" \
	"cannot run qemu-system-x86_64 (install qemu-system-x86, or set KTSTR_QEMU to the emulator's path): No such file or directory" \
	PATH="$TMP/emptypath"
qemu_case "non-executable QEMU on PATH" \
	"cannot run qemu-system-x86_64 (install qemu-system-x86, or set KTSTR_QEMU to the emulator's path): Permission denied" \
	PATH="$TMP/noexecpath"
echo "ok: a missing or non-executable QEMU is one clear error"

# The initramfs cache on a full disk: one clear error before any boot, no
# partial image in the cache.
head -c 1M /dev/zero >"$TMP/full/fill" 2>/dev/null || true
qemu_case "initramfs cache on a full disk" \
	"initramfs cache $TMP/full/initramfs/[0-9a-f]*\.cpio[.a-z0-9]*: No space left on device" \
	KTSTR_INITRAMFS_CACHE_DIR="$TMP/full/initramfs"
check_nothing_left_behind "$TMP/full/initramfs"
[ -z "$(ls -A "$TMP/full/initramfs")" ] || fail "partial initramfs image left: $(ls -A "$TMP/full/initramfs")"
rm -f "$TMP/full/fill"
echo "ok: a full disk while writing an initramfs cache entry is one clear error, nothing partial"

# ---- Ctrl-C during `ktstr test` ---------------------------------------------
# A stand-in test binary (ktstr test only needs --list and --exact): a passes
# at once, the others run until interrupted.
cat >"$TMP/suite" <<'SH'
#!/bin/sh
case "$1" in
--list) printf 'ktstr/a: test\nktstr/b: test\nktstr/c: test\nktstr/d: test\n' ;;
--exact) [ "$2" = ktstr/a ] && { echo "PASS ktstr/a (0.0s)"; exit 0; }
	echo "started $2" >>"$SUITE_LOG"; exec sleep 60 ;;
esac
SH
chmod +x "$TMP/suite"
export SUITE_LOG=$TMP/suite.log KTSTR_TARGET_DIR=$TMP/target
interrupt_when "started ktstr/b" "$SUITE_LOG" 30 "$KTSTR_BIN" test -j 1 "$TMP/suite"
[ $rc = 130 ] || { show; fail "Ctrl-C during ktstr test: exit $rc, want 130"; }
grep -q "^interrupted by SIGINT after [0-9.]*s: 1 passed, 0 failed, 0 skipped, 0 inconclusive, 1 interrupted, 2 never ran$" \
	"$TMP/out" || { show; fail "no interruption summary"; }
grep -q "^  interrupted: ktstr/b (after [0-9.]*s)$" "$TMP/out" || { show; fail "interrupted test not named"; }
grep -qx "  never ran: ktstr/c" "$TMP/out" && grep -qx "  never ran: ktstr/d" "$TMP/out" ||
	{ show; fail "tests that never ran not named"; }
check_nothing_left_behind
# `kill` of ktstr alone (not its group): the signal is passed on.
: >"$SUITE_LOG"
"$KTSTR_BIN" test -j 2 "$TMP/suite" </dev/null >"$TMP/out" 2>"$TMP/err" &
pid=$!
for i in $(seq 600); do [ "$(grep -c started "$SUITE_LOG")" = 2 ] && break; sleep 0.05; done
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc = 143 ] || { show; fail "SIGTERM to ktstr test: exit $rc, want 143"; }
grep -q "^interrupted by SIGTERM after [0-9.]*s: 1 passed, 0 failed, 0 skipped, 0 inconclusive, 2 interrupted, 1 never ran$" \
	"$TMP/out" || { show; fail "SIGTERM: no interruption summary"; }
check_nothing_left_behind
echo "ok: Ctrl-C during ktstr test names the interrupted and never-run tests"
