#!/usr/bin/env bash
# The interactive shell under tmux: type a command, read its output, `exit`
# ends ktstr with status 0 and the terminal is usable afterwards.
set -eu
. "$(dirname "$0")/lib_shell.sh"
command -v tmux >/dev/null || fail "tmux is required"

sock="$TMP/tmux.sock"
T() { tmux -S "$sock" "$@"; }
trap 'T kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
T new-session -d -x 120 -y 40 -s kt \
	"env KTSTR_VMTEST_TAG=$KTSTR_VMTEST_TAG $KTSTR_BIN shell --topology 1,2,1,1; echo ktstr-status=\$?; stty -a | grep -o -- '-\?icanon' | head -1; sleep 600"

wait_for() { # pattern seconds
	local i
	for i in $(seq 1 "$2"); do
		T capture-pane -p -t kt -S -200 >"$TMP/pane" 2>/dev/null || true
		grep -q -- "$1" "$TMP/pane" && return 0
		sleep 1
	done
	cat "$TMP/pane" >&2
	fail "timed out waiting for '$1' in the tmux pane"
}

wait_for 'root #' 180
T send-keys -t kt 'echo "sum=$((40+2)) cols=$(stty size) n=$(nproc)"' Enter
wait_for 'sum=42 cols=40 120 n=2' 60
T send-keys -t kt 'exit' Enter
wait_for 'ktstr-status=' 60
grep -q 'ktstr-status=0' "$TMP/pane" || { cat "$TMP/pane" >&2; fail "exit did not end ktstr with status 0"; }
# the terminal is back in canonical mode
sleep 1
T capture-pane -p -t kt -S -200 >"$TMP/pane"
grep -qx 'icanon' "$TMP/pane" || { cat "$TMP/pane" >&2; fail "terminal left in raw mode"; }
check_no_leftover_qemu

# Ctrl-] kills a guest that does not answer; ktstr fails and the terminal is restored
T kill-session -t kt
T new-session -d -x 120 -y 40 -s kt2 \
	"env KTSTR_VMTEST_TAG=$KTSTR_VMTEST_TAG $KTSTR_BIN shell; echo ktstr-status=\$?; stty -a | grep -o -- '-\?icanon' | head -1; sleep 600"
T() { tmux -S "$sock" "$@"; }
wait_for_kt2() {
	local i
	for i in $(seq 1 "$2"); do
		T capture-pane -p -t kt2 -S -200 >"$TMP/pane" 2>/dev/null || true
		grep -q -- "$1" "$TMP/pane" && return 0
		sleep 1
	done
	cat "$TMP/pane" >&2
	fail "timed out waiting for '$1' in the tmux pane"
}
wait_for_kt2 'root #' 180
T send-keys -t kt2 'sleep 1000' Enter
sleep 2
T send-keys -t kt2 C-]
wait_for_kt2 'ktstr-status=' 60
grep -q 'ktstr-status=1' "$TMP/pane" || { cat "$TMP/pane" >&2; fail "Ctrl-] did not end ktstr with status 1"; }
grep -q 'stopped by the user' "$TMP/pane" || { cat "$TMP/pane" >&2; fail "no Ctrl-] report"; }
sleep 1
T capture-pane -p -t kt2 -S -200 >"$TMP/pane"
grep -qx 'icanon' "$TMP/pane" || { cat "$TMP/pane" >&2; fail "terminal left in raw mode after Ctrl-]"; }
check_no_leftover_qemu
echo "ok: interactive shell under tmux"
