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
