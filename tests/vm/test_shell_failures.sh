#!/usr/bin/env bash
# A guest kernel panic and a hung guest each end the run with a clear
# report; bad inputs are one clear error without booting.
set -eu
. "$(dirname "$0")/lib_shell.sh"

# panic via sysrq
kshell --timeout 120 --exec 'echo c > /proc/sysrq-trigger; sleep 100'
[ $rc != 0 ] || { show; fail "a panicking guest exited 0"; }
grep -q 'ktstr: error: guest kernel panicked: .*Kernel panic - not syncing' "$TMP/err" ||
	{ show; fail "no panic report"; }
grep -q 'sysrq' "$TMP/err" || { show; fail "panic report lacks the console lines"; }
check_nothing_left_behind

# hung guest: host timeout
start=$(date +%s)
kshell --timeout 20 --exec 'sleep 1000'
end=$(date +%s)
[ $rc != 0 ] || { show; fail "a hung guest exited 0"; }
grep -q 'ktstr: error: guest timed out after 20 s and was killed (init started: yes)' "$TMP/err" ||
	{ show; fail "no timeout report"; }
[ $((end - start)) -lt 60 ] || fail "timeout 20 s took $((end - start)) s"
check_nothing_left_behind

# bad inputs: one error line each, no VM
echo garbage >"$TMP/garbage"
kshell --kernel "$TMP/garbage" --exec true
[ $rc != 0 ] || fail "garbage kernel accepted"
grep -q "ktstr: error: .*$TMP/garbage" "$TMP/err" || { show; fail "garbage kernel: unclear error"; }
[ "$(wc -l <"$TMP/err")" = 1 ] || { show; fail "garbage kernel: more than one line"; }
check_nothing_left_behind

kshell --topology 1,2,3 --exec true
[ $rc = 2 ] || { show; fail "bad topology: exit $rc"; }
grep -qx "ktstr: error: invalid topology '1,2,3': expected 'numa_nodes,llcs,cores,threads' (e.g. '1,2,4,1' or '1n2l4c1t')" "$TMP/err" ||
	{ show; fail "bad topology: wrong message"; }

kshell -i "$TMP/does-not-exist" --exec true
[ $rc != 0 ] || fail "missing include file accepted"
grep -q "ktstr: error: include file $TMP/does-not-exist: No such file or directory" "$TMP/err" ||
	{ show; fail "missing include: wrong message"; }

kshell --memory-mb 100 --exec true
[ $rc != 0 ] || fail "--memory-mb 100 accepted"
grep -q "ktstr: error: --memory-mb 100: must be at least 128" "$TMP/err" || { show; fail "memory: wrong message"; }

head -c 200M /dev/zero >"$TMP/big"
kshell --memory-mb 256 -i "$TMP/big" --exec true
[ $rc != 0 ] || fail "impossible memory accepted"
grep -q "ktstr: error: --memory-mb 256: too small for this initramfs" "$TMP/err" ||
	{ show; fail "impossible memory: wrong message"; }

kshell
[ $rc != 0 ] || fail "interactive shell without a terminal accepted"
grep -qx "ktstr: error: stdin must be a terminal for interactive shell mode" "$TMP/err" ||
	{ show; fail "no-tty: wrong message"; }
echo "ok: panic, timeout and input errors"

# SIGTERM while the guest runs: QEMU is killed, the run directory removed.
mkdir -p "$TMP/tmpdir"
TMPDIR=$TMP/tmpdir "$KTSTR_BIN" shell --exec 'echo guest-ready; sleep 1000' </dev/null \
	>"$TMP/out" 2>"$TMP/err" &
pid=$!
for i in $(seq 1 120); do
	grep -q guest-ready "$TMP/out" && break
	sleep 1
done
grep -q guest-ready "$TMP/out" || { kill -KILL $pid; show; fail "guest never got ready"; }
[ -n "$(ls "$TMP/tmpdir")" ] || fail "no run directory under TMPDIR while running"
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ $rc = 143 ] || { show; fail "SIGTERM: exit $rc, want 143"; }
check_no_leftover_qemu
[ -z "$(ls "$TMP/tmpdir")" ] || fail "SIGTERM left files: $(ls "$TMP/tmpdir")"
echo "ok: SIGTERM cleans up"

# stdout closed under ktstr (`| head`): it dies of SIGPIPE, but cleans up first.
set +e
TMPDIR=$TMP/tmpdir "$KTSTR_BIN" shell \
	--exec 'i=0; while [ $i -lt 100000 ]; do echo line-$i; i=$((i+1)); done; sleep 60' \
	</dev/null 2>"$TMP/err" | head -n 3 >"$TMP/out"
rc=${PIPESTATUS[0]}
set -e
[ $rc = 141 ] || { show; fail "SIGPIPE: exit $rc, want 141"; }
[ "$(cat "$TMP/out")" = "line-0
line-1
line-2" ] || { show; fail "SIGPIPE: unexpected output"; }
check_no_leftover_qemu
[ -z "$(ls "$TMP/tmpdir")" ] || fail "SIGPIPE left files: $(ls "$TMP/tmpdir")"
echo "ok: a closed stdout cleans up"
