# Helpers for the `ktstr shell` VM tests (sourced; not a test itself).
# KTSTR_BIN: the ktstr binary. The kernel comes from the implicit chain
# (KTSTR_TEST_KERNEL, KTSTR_KERNEL, newest cached kernel).
: "${KTSTR_BIN:?KTSTR_BIN must point at the ktstr binary}"
# Each test gets a tag in the environment; QEMU inherits it, so leftovers
# of this test (and only of this test) can be found afterwards.
# RUST_BACKTRACE=1 would turn on the verbose (slow) guest console.
unset RUST_BACKTRACE KTSTR_VERBOSE
export KTSTR_VMTEST_TAG="vmtest-$$-$RANDOM"
TMP=$(mktemp -d /tmp/ktstr-vmtest.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# ktstr's temporaries (run directories ktstr-vm.*, build trees ktstr-build-*)
# go to a TMPDIR of this test's own, so that what is left there is ours.
export TMPDIR=$TMP/tmpdir
mkdir "$TMPDIR"
KT_CGROUPS_BEFORE=$(find /sys/fs/cgroup -maxdepth 2 -name 'ktstr*' 2>/dev/null | sort)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Run `ktstr shell ARGS...` with stdin from /dev/null; stdout to $TMP/out,
# stderr to $TMP/err, exit status in $rc. A hard outer limit keeps a broken
# engine from hanging the test run.
kshell() {
	set +e
	timeout -k 5 300 "$KTSTR_BIN" shell "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	set -e
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		cat "$TMP/err" >&2
		fail "ktstr shell $* did not end by itself (outer timeout)"
	fi
}

show() {
	echo "--- stdout" >&2; cat "$TMP/out" >&2
	echo "--- stderr" >&2; cat "$TMP/err" >&2
}

# No machine process of this test may outlive ktstr.
check_no_leftover_qemu() {
	local p
	for p in /proc/[0-9]*; do
		if tr "\0" "\n" 2>/dev/null <"$p/environ" | grep -qx "KTSTR_VMTEST_TAG=$KTSTR_VMTEST_TAG"; then
			case "$(cat "$p/comm" 2>/dev/null)" in
			qemu*) fail "leftover QEMU process $(basename "$p") after ktstr exited" ;;
			esac
		fi
	done
}

# The test binary built from tests/vm/vmtests.c (make examples) in $bin,
# its results under $TMP.
use_vmtests() {
	bin=$(dirname "$KTSTR_BIN")/tests/ktstr-vmtests
	[ -x "$bin" ] || fail "missing $bin (run make examples)"
	export KTSTR_TARGET_DIR=$TMP/target
}

# Build a static program from tests/vm/SRC.c against the internal library
# (it uses src/ headers, unlike a test suite) into $TMP/OUT.
build_internal_prog() {
	local src=$1 out=$2 root lib
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	lib=${KTSTR_LIB:-$(dirname "$KTSTR_BIN")/libktstr.a}
	[ -f "$lib" ] || fail "no $lib (run make)"
	gcc -std=gnu11 -D_GNU_SOURCE -O1 -Wall -Werror -I"$root/include" -I"$root/src" -static \
		-o "$TMP/$out" "$root/tests/vm/$src.c" \
		-Wl,--whole-archive "$lib" -Wl,--no-whole-archive \
		-ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm ||
		fail "cannot build tests/vm/$src.c"
}

# A fault must leave nothing behind: no process this test started through
# ktstr (QEMU, test binaries, make, sleep... anything tagged but this
# script's own shells and the probes below), nothing in TMPDIR, no new
# ktstr cgroup on the host, and in each DIR given (a kernel cache, a
# sidecar directory) no temporary (.tmp-*, *.tmp-*) and no half-built
# directory.
check_nothing_left_behind() {
	local p comm d left cg
	check_no_leftover_qemu
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		if tr "\0" "\n" 2>/dev/null <"$p/environ" | grep -qx "KTSTR_VMTEST_TAG=$KTSTR_VMTEST_TAG"; then
			comm=$(cat "$p/comm" 2>/dev/null) || continue
			case "$comm" in
			bash | tr | grep | cat | find | sort | timeout | tmux*) ;;
			*) fail "leftover process $(basename "$p") ($comm) after ktstr exited" ;;
			esac
		fi
	done
	left=$(ls -A "$TMPDIR")
	[ -z "$left" ] || fail "left in TMPDIR: $left"
	cg=$(find /sys/fs/cgroup -maxdepth 2 -name 'ktstr*' 2>/dev/null | sort)
	[ "$cg" = "$KT_CGROUPS_BEFORE" ] || fail "cgroups left behind: $(comm -13 <(echo "$KT_CGROUPS_BEFORE") <(echo "$cg"))"
	for d in "$@"; do
		left=$(find "$d" \( -name '.tmp-*' -o -name '*.tmp-*' -o -name 'ktstr-build-*' \) 2>/dev/null || true)
		[ -z "$left" ] || fail "temporaries left in $d: $left"
	done
}

# interrupt_when PATTERN FILE LIMIT CMD...: run CMD in a session of its own
# (stdin /dev/null, stdout $TMP/out, stderr $TMP/err); as soon as PATTERN
# shows in FILE, send SIGINT to its whole process group, the way a
# terminal's Ctrl-C does. Fails when PATTERN does not show within LIMIT
# seconds or CMD is still running 30 s after the interrupt. $rc: its exit
# status.
interrupt_when() {
	local pat=$1 file=$2 limit=$3 pid i
	shift 3
	setsid "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for i in $(seq $((limit * 20))); do
		grep -q -- "$pat" "$file" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q -- "$pat" "$file" 2>/dev/null; then
		kill -KILL -- -$pid 2>/dev/null || true
		show
		fail "'$pat' did not show in $file within $limit s"
	fi
	kill -INT -- -$pid
	for i in $(seq 600); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL -- -$pid 2>/dev/null || true
		show
		fail "$1 still running 30 s after Ctrl-C"
	fi
	set +e
	wait $pid
	rc=$?
	set -e
}
