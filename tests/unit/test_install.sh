#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The installed tree stands alone: `make install PREFIX=<tmp>` ships the
# binary, libktstr.a, the public headers and ktstr.pc, and the example suite
# builds against it with nothing but
# `pkg-config --cflags --libs --static ktstr` (no -Isrc, no library list),
# then lists its tests. Run by `make check-unit` (MAKE, BUILD, CC, CFLAGS and
# LDSTATIC come from the Makefile; run by hand from the repository root).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${MAKE:=make}" "${BUILD:=build}" "${CC:=cc}" "${CFLAGS:=-O2 -g}"
LDSTATIC=${LDSTATIC--static}

fail() {
	echo "test_install: FAIL: $*" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ktstr-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

$MAKE -C "$repo" --no-print-directory -s install PREFIX="$prefix" BUILD="$BUILD" \
	>"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install"; }

# What is installed: exactly the binary, the library, the public headers, ktstr.pc.
[ -x "$prefix/bin/ktstr" ] || fail "bin/ktstr not installed"
"$prefix/bin/ktstr" --version >/dev/null || fail "installed bin/ktstr --version"
(cd "$prefix" && find . -type f | sort) >"$tmp/files"
(cd "$repo" && printf './bin/ktstr\n./lib/libktstr.a\n./lib/pkgconfig/ktstr.pc\n' &&
	printf './%s\n' include/ktstr.h include/ktstr/*.h) | sort >"$tmp/want"
diff -u "$tmp/want" "$tmp/files" >&2 || fail "installed files differ from the list above"
if grep -l 'jansson\|#include "' "$prefix"/include/ktstr.h "$prefix"/include/ktstr/*.h >&2; then
	fail "a public header includes jansson or a quoted (internal) header"
fi

# Build the example suite from a copy, with only what pkg-config says.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
flags=$(pkg-config --cflags --libs --static ktstr) || fail "pkg-config ktstr"
case " $flags " in
*" -I$prefix/include "*) ;;
*) fail "pkg-config --cflags does not name $prefix/include: $flags" ;;
esac
cp "$repo/examples/ktstr-examples.c" "$tmp/suite.c"
# shellcheck disable=SC2086 # word splitting of the flag lists is intended
(cd "$tmp" && $CC $CFLAGS $LDSTATIC -MMD -MF suite.d -o suite suite.c $flags) ||
	fail "building examples/ktstr-examples.c against the installed tree: $flags"
# Every ktstr header the compiler read came from the installed tree.
tr ' \\' '\n\n' <"$tmp/suite.d" | grep 'ktstr' | grep -v "^suite\|^$prefix/include/" >&2 &&
	fail "headers read from outside $prefix/include (above)"

# The built binary works: its --list names exactly the suite's tests.
"$tmp/suite" --list >"$tmp/list" || fail "suite --list exited $?"
sed -n 's/^KTSTR_TEST(\([A-Za-z0-9_]*\),.*/ktstr\/\1: test/p' "$tmp/suite.c" | sort >"$tmp/want"
sort "$tmp/list" | diff -u "$tmp/want" - >&2 || fail "suite --list differs from the suite's KTSTR_TESTs"
[ -s "$tmp/want" ] || fail "no KTSTR_TEST found in examples/ktstr-examples.c"
"$tmp/suite" --help >"$tmp/help" 2>&1 || fail "suite --help exited $?"
sed 's/[A-Z0-9_]*\(CARGO\|RUST\|NEXTEST\)[A-Z0-9_]*//g' "$tmp/help" | grep -i 'rust\|cargo\|nextest' >&2 &&
	fail "the test binary's --help mentions the Rust original (above)"
echo "test_install: ok ($(wc -l <"$tmp/want") tests listed by the suite built from $prefix)"
