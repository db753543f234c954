#!/usr/bin/env bash
# The guest sees the requested topology in its own sysfs: CPU count, L3
# sharing (one LLC per group), SMT siblings and NUMA nodes.
set -eu
. "$(dirname "$0")/lib_shell.sh"

# Prints "cpus N", one "l3 LIST" per CPU, "smt CPU LIST", "node N LIST".
probe='
echo "cpus $(cat /sys/devices/system/cpu/online)"
for c in /sys/devices/system/cpu/cpu[0-9]*; do
	n=${c##*cpu}
	for i in $c/cache/index*; do
		[ "$(cat $i/level)" = 3 ] && echo "l3 $(cat $i/shared_cpu_list)"
	done
	echo "smt $n $(cat $c/topology/thread_siblings_list)"
done
for n in /sys/devices/system/node/node[0-9]*; do
	echo "node ${n##*node} $(cat $n/cpulist)"
done
'

check_topo() {
	local topo=$1 online=$2 l3s=$3 smt0=$4 nodes=$5 got
	kshell --topology "$topo" --exec "$probe"
	[ $rc = 0 ] || { show; fail "--topology $topo: exit $rc"; }
	got=$(sed -n 's/^cpus //p' "$TMP/out")
	[ "$got" = "$online" ] || { show; fail "--topology $topo: online CPUs '$got', want '$online'"; }
	got=$(sed -n 's/^l3 //p' "$TMP/out" | sort -u | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$l3s" ] || { show; fail "--topology $topo: L3 groups '$got', want '$l3s'"; }
	got=$(sed -n 's/^smt 0 //p' "$TMP/out")
	[ "$got" = "$smt0" ] || { show; fail "--topology $topo: cpu0 siblings '$got', want '$smt0'"; }
	got=$(sed -n 's/^node //p' "$TMP/out" | sort | tr '\n' ';' | sed 's/;$//')
	[ "$got" = "$nodes" ] || { show; fail "--topology $topo: nodes '$got', want '$nodes'"; }
	check_no_leftover_qemu
}

check_topo 1,1,1,1 0 "0" "0" "0 0"
check_topo 1n3l3c1t 0-8 "0-2 3-5 6-8" "0" "0 0-8"
check_topo 2,4,2,2 0-15 "0-3 12-15 4-7 8-11" "0-1" "0 0-7;1 8-15"
# every SMT pair of 2,4,2,2 is (2k, 2k+1)
for k in 0 1 2 3 4 5 6 7; do
	a=$((2 * k)) b=$((2 * k + 1))
	grep -qx "smt $a $a-$b" "$TMP/out" || { show; fail "cpu$a siblings are not $a-$b"; }
	grep -qx "smt $b $a-$b" "$TMP/out" || { show; fail "cpu$b siblings are not $a-$b"; }
done
echo "ok: topologies 1,1,1,1 1n3l3c1t 2,4,2,2"
