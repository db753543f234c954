#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every `--help` text (ktstr, each command it lists, each `kernel`
# subcommand) exits 0 and speaks about this tool only: no mention of the
# Rust original or its tooling (environment-variable names such as
# KTSTR_CARGO_TEST_MODE and RUST_LOG are allowed). Run by `make check-unit`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:=build}"
bin=${KTSTR_BIN:-$repo/$BUILD/ktstr}

fail() {
	echo "test_help: FAIL: $*" >&2
	exit 1
}

# Command names: the first word of indented "  name   description" lines.
names() {
	sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'
}

check() {
	local out
	out=$("$bin" "$@" --help 2>&1) || fail "ktstr $* --help exited $?"
	[ -n "$out" ] || fail "ktstr $* --help printed nothing"
	# Drop environment-variable names, then look for the Rust project's words.
	if sed 's/[A-Z0-9_]*\(CARGO\|RUST\|NEXTEST\)[A-Z0-9_]*//g' <<<"$out" |
		grep -n -i 'rust\|cargo\|nextest' >&2; then
		fail "ktstr $* --help mentions the Rust original (above)"
	fi
	printf '%s\n' "$out"
}

n=0
for c in $(check | names); do
	check "$c" >/dev/null
	n=$((n + 1))
done
[ "$n" -ge 7 ] || fail "found only $n commands in ktstr --help"
k=0
for s in $(check kernel | names); do
	check kernel "$s" >/dev/null
	k=$((k + 1))
done
[ "$k" -ge 4 ] || fail "found only $k kernel subcommands in ktstr kernel --help"
st=0
for s in $(check stats | names); do
	check stats "$s" >/dev/null
	st=$((st + 1))
done
[ "$st" -ge 6 ] || fail "found only $st stats subcommands in ktstr stats --help"
echo "test_help: ok (ktstr, $n commands, $k kernel subcommands, $st stats subcommands)"
