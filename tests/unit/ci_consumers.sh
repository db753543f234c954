# The real consumers of `ktstr test --junit` and `--format ktap` (sourced by
# tests/unit/test_ciformat.sh and tests/vm/test_ci_formats.sh; not a test):
#   junit_check FILE NAME=RESULT...  python3-junitparser reads FILE; every
#       testcase is listed with its result (pass, failure, skipped, error)
#   ktap_check FILE NAME=STATUS...    the kernel's own KTAP parser
#       (tools/testing/kunit/kunit.py parse, from the kernel source tarball)
#       reads FILE; every test is listed with its status (PASS, FAIL, SKIP)
# Needs KTSTR_BIN (the kunit scripts are unpacked once next to it, in
# build/kunit) and fail() from the caller.
CI_PY=/usr/bin/python3 # Debian's python3, where python3-junitparser lives
CI_KSRC=${KTSTR_KERNEL_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

junit_check() {
	local f=$1
	shift
	"$CI_PY" -c 'import junitparser' 2>/dev/null ||
		fail "python3-junitparser is missing (scripts/install-deps.sh installs it)"
	"$CI_PY" - "$f" "$@" <<'PY' || fail "junitparser does not accept $f as expected"
import sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
want = dict(a.split("=", 1) for a in sys.argv[2:])
got, n = {}, 0
for suite in xml:
    tests = failures = errors = skipped = 0
    for case in suite:
        kinds = {Failure: "failure", Skipped: "skipped", Error: "error"}
        res = [kinds[type(r)] for r in case.result]
        assert len(res) <= 1, (case.name, res)
        got[case.name] = res[0] if res else "pass"
        assert case.classname == suite.name, (case.classname, suite.name)
        if res and res[0] != "skipped":
            assert case.result[0].message, case.name  # the one-line summary
        tests += 1
    # the suite's counts agree with its cases
    assert suite.tests == tests, (suite.name, suite.tests, tests)
    assert suite.failures == sum(1 for c in suite if any(isinstance(r, Failure) for r in c.result))
    assert suite.errors == sum(1 for c in suite if any(isinstance(r, Error) for r in c.result))
    assert suite.skipped == sum(1 for c in suite if any(isinstance(r, Skipped) for r in c.result))
if got != want:
    print("junit: got", sorted(got.items()), "\nwant", sorted(want.items()), file=sys.stderr)
    sys.exit(1)
PY
}

# The kunit scripts, unpacked once per build directory (~12 s: the whole
# tarball is decompressed to reach them).
kunit_py() {
	local dir
	dir=$(cd "$(dirname "$KTSTR_BIN")" && pwd)/kunit
	# kunit.py wants to live in a tools/testing/kunit of a kernel tree
	if [ ! -f "$dir/tools/testing/kunit/kunit.py" ]; then
		[ -f "$CI_KSRC" ] || fail "no $CI_KSRC (package linux-source-6.12) for kunit.py"
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -xJf "$CI_KSRC" -C "$dir.tmp" --strip-components=1 --wildcards \
			'*/tools/testing/kunit/*.py' || fail "cannot unpack kunit.py from $CI_KSRC"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir/tools/testing/kunit/kunit.py"
}

ktap_check() {
	local f=$1 kunit
	shift
	kunit=$(kunit_py)
	# exit status 1 = some test failed; the JSON says what it parsed
	"$CI_PY" "$kunit" parse --json="$f.json" "$f" >"$f.parsed" 2>&1 || true
	grep -q "Testing complete" "$f.parsed" || { cat "$f.parsed" >&2; fail "kunit.py parse: $f"; }
	if grep -q "\[ERROR\]" "$f.parsed"; then
		cat "$f.parsed" >&2
		fail "kunit.py parse reports KTAP errors in $f"
	fi
	"$CI_PY" - "$f.json" "$@" <<'PY' || { cat "$f.parsed" >&2; fail "kunit.py parse: unexpected results for $f"; }
import json, sys
doc = json.load(open(sys.argv[1]))
want = dict(a.split("=", 1) for a in sys.argv[2:])
got = {}
def walk(g):
    for c in g.get("test_cases", []):
        got[c["name"]] = c["status"]
    for s in g.get("sub_groups", []):
        walk(s)
walk(doc)
if got != want:
    print("ktap: got", sorted(got.items()), "\nwant", sorted(want.items()), file=sys.stderr)
    sys.exit(1)
PY
}
