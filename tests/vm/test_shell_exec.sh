#!/usr/bin/env bash
# --exec: output streamed to stdout, exit status passed through, a missing
# command fails with the guest shell's message; include files land on PATH.
set -eu
. "$(dirname "$0")/lib_shell.sh"

kshell --exec 'echo hello-from-guest; echo to-stderr >&2; printf no-newline; exit 7'
[ $rc = 7 ] || { show; fail "exit 7 gave status $rc"; }
grep -qx hello-from-guest "$TMP/out" || { show; fail "guest stdout not streamed"; }
grep -qx to-stderr "$TMP/out" || { show; fail "guest stderr not streamed"; }
grep -q '^no-newline$' "$TMP/out" || { show; fail "output without a final newline lost"; }
if grep -q KTSTR_ "$TMP/out"; then show; fail "protocol lines leaked into the output"; fi
grep -q 'ktstr: accel: ' "$TMP/err" || { show; fail "no accel line on stderr"; }
check_no_leftover_qemu

kshell --exec 'no-such-command-xyz --flag'
[ $rc != 0 ] || { show; fail "a missing command exited 0"; }
grep -q 'no-such-command-xyz: not found' "$TMP/out" "$TMP/err" ||
	{ show; fail "no 'not found' message from the guest"; }

# include a script and a data file; the script's directory is on PATH
mkdir -p "$TMP/inc/tools"
printf '#!/bin/sh\necho "tool ran with $1"\n' >"$TMP/inc/tools/mytool"
chmod +x "$TMP/inc/tools/mytool"
echo payload-data >"$TMP/data.txt"
kshell --dmesg -i "$TMP/inc/tools" -i "$TMP/data.txt" \
	--exec 'mytool arg1 && cat /include-files/data.txt && test -x /bin/ktstr && ktstr --version &&
		printf "esc-\033[31mred\n" && printf "kmsg-\033]0;title\007\n" >/dev/kmsg'
[ $rc = 0 ] || { show; fail "include files: exit $rc"; }
grep -qx 'tool ran with arg1' "$TMP/out" || { show; fail "included tool not on PATH"; }
grep -qx 'payload-data' "$TMP/out" || { show; fail "included file missing"; }
grep -q '^ktstr ' "$TMP/out" || { show; fail "/bin/ktstr does not run in the guest"; }
grep -q 'Linux version' "$TMP/err" || { show; fail "--dmesg: kernel console not on stderr"; }
if grep -q 'Linux version' "$TMP/out"; then show; fail "--dmesg: console leaked into stdout"; fi
# terminal escapes from the guest arrive neutralised, in its output and on the console
grep -qF 'esc-\x1b[31mred' "$TMP/out" || { show; fail "guest output escape not shown as \\x1b"; }
grep -qF 'kmsg-\x1b]0;title\x07' "$TMP/err" || { show; fail "--dmesg escape not shown as \\x1b"; }
if grep -q "$(printf '\033')" "$TMP/out" "$TMP/err"; then show; fail "an ESC byte reached the terminal"; fi
check_no_leftover_qemu
echo "ok: exec status, output, missing command, include files, escapes neutralised"
