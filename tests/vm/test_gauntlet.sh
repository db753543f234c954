#!/usr/bin/env bash
# Gauntlet variants and shards in VMs:
#  - a variant boots its preset's topology and starts the scheduler with
#    its profile's flags (the test body checks both inside the guest); the
#    sidecar records the variant's topology and flags
#  - two shards of a run write into one run dir and together leave exactly
#    the sidecars of the unsharded run (no pre-clear wipes the other shard)
set -eu
. "$(dirname "$0")/lib_shell.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$KTSTR_BIN")
cat >"$TMP/g.c" <<'C'
#include <ktstr.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

KTSTR_SCHEDULER(scx_qmap, .binary = "scx_qmap", .flags = {KTSTR_FLAG("batch", .args = {"-b", "8"})});

/* The scheduler's argv, NULs turned into spaces ("" if not found). */
static void qmap_cmdline(char *buf, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	buf[0] = 0;
	while (d && (e = readdir(d))) {
		char p[64], comm[32] = "";
		int fd;
		ssize_t n;

		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0 || strncmp(comm, "scx_qmap", 8))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
		fd = open(p, O_RDONLY);
		n = fd < 0 ? 0 : read(fd, buf, len - 1);
		if (fd >= 0)
			close(fd);
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n > 0 ? n : 0] = 0;
		break;
	}
	if (d)
		closedir(d);
}

/* Base: 2 CPUs, no flag. Variant tiny-2llc/batch: 4 CPUs and -b 8. */
KTSTR_TEST(g_qmap, .scheduler = &scx_qmap, .duration_s = 1)
{
	char cmd[512];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int batch;

	(void)ctx;
	qmap_cmdline(cmd, sizeof(cmd));
	batch = strstr(cmd, " -b 8") != NULL;
	printf("g_qmap: %ld cpus, scheduler: %s\n", cpus, cmd);
	return (cpus == 4 && batch) || (cpus == 2 && !batch && cmd[0]) ? 0 : 1;
}

KTSTR_TEST(g_eevdf, .duration_s = 1)
{
	(void)ctx;
	return 0;
}
C
gcc -std=gnu11 -D_GNU_SOURCE -static -I"$root/include" -o "$TMP/g" "$TMP/g.c" "$build/libktstr.a" \
	-ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm || fail "cannot build the test binary"
sel=(--gauntlet --exact ktstr/g_qmap --exact gauntlet/g_qmap/tiny-2llc/batch
	--exact ktstr/g_eevdf --exact gauntlet/g_eevdf/tiny-1llc/default)

# Unsharded.
export KTSTR_TARGET_DIR=$TMP/full
rc=0; "$KTSTR_BIN" test "${sel[@]}" "$TMP/g" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ $rc = 0 ] || { show; fail "unsharded run: exit $rc"; }
grep -q "^4 passed, 0 failed" "$TMP/out" || { show; fail "unsharded run: not 4 passed"; }
grep -q "^PASS gauntlet/g_qmap/tiny-2llc/batch" "$TMP/err" || { show; fail "variant did not pass"; }
full=$(ls "$TMP"/full/ktstr/*/*.ktstr.json | xargs -n1 basename | sort)
[ "$(echo "$full" | grep -c .)" = 4 ] || fail "unsharded: $(echo "$full" | grep -c .) sidecars, want 4"
python3 - "$TMP"/full/ktstr/*/g_qmap-*.ktstr.json <<'PY' || fail "variant sidecar fields"
import json, sys
seen = sorted((json.load(open(p))["topology"], tuple(json.load(open(p))["active_flags"])) for p in sys.argv[1:])
assert seen == [("1n1l2c1t", ()), ("1n2l2c1t", ("batch",))], seen
PY

# Two shards, one after the other, into one run dir.
export KTSTR_TARGET_DIR=$TMP/shards
for k in 1 2; do
	rc=0; "$KTSTR_BIN" test "${sel[@]}" --shard $k/2 "$TMP/g" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ $rc = 0 ] || { show; fail "shard $k/2: exit $rc"; }
	grep -q "^2 passed, 0 failed" "$TMP/out" || { show; fail "shard $k/2: not 2 passed"; }
done
sharded=$(ls "$TMP"/shards/ktstr/*/*.ktstr.json | xargs -n1 basename | sort)
[ "$full" = "$sharded" ] || fail "shards left $sharded, the unsharded run $full"
[ "$(ls -d "$TMP"/shards/ktstr/*/ | wc -l)" = 1 ] || fail "shards used more than one run dir"
check_no_leftover_qemu
echo "gauntlet variant in a VM; two shards = one unsharded run"
