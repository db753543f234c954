#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `ktstr --version` names the tree it was built from, also after an
# incremental build: the stamp is the generated $(BUILD)/gen/version.c,
# rewritten when `git describe` changes and left alone (no relink) when it
# does not. Run by `make check-unit`, right after the build it checks.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:=build}" "${MAKE:=make}"
bin=${KTSTR_BIN:-$repo/$BUILD/ktstr}

fail() {
	echo "test_version: FAIL: $*" >&2
	exit 1
}

if desc=$(git -C "$repo" describe --always --dirty 2>/dev/null); then
	want="ktstr 0.1.0 ($desc)"
else
	want="ktstr 0.1.0"
fi
got=$("$bin" --version)
[ "$got" = "$want" ] || fail "--version says '$got', the tree is '$want'"

# The rule itself, in a scratch build dir: a new describe rewrites the
# file, the same describe leaves it (and its mtime) alone.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=$tmp/b/gen/version.c
$MAKE -s -C "$repo" BUILD="$tmp/b" GITDESC=aaaaaaa "$gen"
grep -q '"0.1.0 (aaaaaaa)"' "$gen" || fail "generated stamp: $(cat "$gen")"
touch -d '2000-01-01' "$gen"
$MAKE -s -C "$repo" BUILD="$tmp/b" GITDESC=aaaaaaa "$gen"
[ "$(stat -c %Y "$gen")" = "$(date -d 2000-01-01 +%s)" ] ||
	fail "an unchanged describe rewrote $gen (every build would relink)"
$MAKE -s -C "$repo" BUILD="$tmp/b" GITDESC=bbbbbbb "$gen"
grep -q '"0.1.0 (bbbbbbb)"' "$gen" || fail "a new describe did not reach $gen"
echo "test_version: ok ($got)"
