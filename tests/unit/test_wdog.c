// SPDX-License-Identifier: GPL-2.0
/* Guest kernel symbols and HZ (kernel/ksym.c), the watchdog override (runner/wdog.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "runner/wdog.h"
#include "unit.h"
#include "util/util.h"

UNIT_TEST(ksym_lookup_own_binary)
{
	const char *names[] = {"kt_ksym_lookup", "main", "no_such_symbol_here"};
	uint64_t a[3] = {1, 1, 1};
	char *err = NULL, *p;

	CHECK_INT_EQ(kt_ksym_lookup("/proc/self/exe", names, 3, a, &err), 0);
	CHECK(a[0] != 0);
	CHECK(a[1] != 0);
	CHECK(a[2] == 0);
	/* not an ELF file, missing file: one clear error naming the path */
	p = kt_path_join(unit_tmpdir(), "notelf");
	CHECK_INT_EQ(kt_write_file_atomic(p, "hello", 5, 0644), 0);
	CHECK(kt_ksym_lookup(p, names, 1, a, &err) < 0);
	CHECK_STR_CONTAINS(err, "is not an ELF file");
	CHECK_STR_CONTAINS(err, p);
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_ksym_lookup("/nonexistent/vmlinux", names, 1, a, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "/nonexistent/vmlinux");
	free(err);
	free(p);
}

UNIT_TEST(kernel_hz_sources)
{
	const char *d = unit_tmpdir();
	char *vml = kt_path_join(d, "vmlinux"), *cmd, *src = NULL, *entry;

	CHECK_INT_EQ(kt_config_hz("CONFIG_A=y\nCONFIG_HZ=300\nCONFIG_B=y\n"), 300);
	CHECK_INT_EQ(kt_config_hz("CONFIG_HZ_300=y\n"), -ENOENT);
	CHECK_INT_EQ(kt_config_hz("CONFIG_HZ=fast\n"), -EINVAL);
	CHECK_INT_EQ(kt_config_hz("CONFIG_HZ=0\n"), -EINVAL);
	CHECK_INT_EQ(kt_config_hz("CONFIG_HZ=1000"), 1000);

	/* IKCONFIG: gzip data between the markers, somewhere in the image */
	cmd = kt_asprintf("{ head -c 5000 /dev/zero; printf IKCFG_ST; "
			  "printf 'CONFIG_X=y\\nCONFIG_HZ=100\\n' | gzip -c; printf IKCFG_ED; "
			  "head -c 100 /dev/zero; } > %s",
			  vml);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_kernel_hz(vml, NULL, &src), 100);
	CHECK_STR_CONTAINS(src, "(IKCONFIG)");
	free(src);
	src = NULL;

	/* no IKCONFIG: the cache entry's config, then a tree's .config */
	entry = kt_path_join(d, "entry");
	kt_mkdir_p(entry, 0755);
	free(cmd);
	cmd = kt_asprintf("printf 'no markers' > %s && printf 'CONFIG_HZ=250\\n' > %s/config", vml,
			  entry);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_kernel_hz(vml, entry, &src), 250);
	CHECK_STR_CONTAINS(src, "/entry/config");
	free(src);
	src = NULL;
	free(cmd);
	cmd = kt_asprintf("rm %s/config && printf 'CONFIG_HZ=1000\\n' > %s/.config", entry, entry);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_kernel_hz(NULL, entry, NULL), 1000);
	/* a corrupt gzip stream is not trusted */
	free(cmd);
	cmd = kt_asprintf("printf 'IKCFG_ST\\037\\213garbageIKCFG_ED' > %s && rm %s/.config", vml,
			  entry);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_kernel_hz(vml, entry, NULL), -ENOENT);
	free(cmd);
	free(entry);
	free(vml);
}

UNIT_TEST(kernel_jump_label_sources)
{
	const char *d = unit_tmpdir();
	char *vml = kt_path_join(d, "vmlinux"), *cmd, *src = NULL;

	CHECK_INT_EQ(kt_config_enabled("CONFIG_A=y\nCONFIG_JUMP_LABEL=y\n", "CONFIG_JUMP_LABEL"), 1);
	CHECK_INT_EQ(kt_config_enabled("# CONFIG_JUMP_LABEL is not set\n", "CONFIG_JUMP_LABEL"), 0);
	CHECK_INT_EQ(kt_config_enabled("CONFIG_JUMP_LABEL_X=y\n", "CONFIG_JUMP_LABEL"), 0);
	CHECK_INT_EQ(kt_config_enabled("CONFIG_HZ=100\n", "CONFIG_JUMP_LABEL"), 0);

	/* IKCONFIG first; a config that does not mention it means off */
	cmd = kt_asprintf("{ printf IKCFG_ST; printf 'CONFIG_JUMP_LABEL=y\\n' | gzip -c; "
			  "printf IKCFG_ED; } > %s",
			  vml);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_kernel_jump_label(vml, NULL, &src), 1);
	CHECK_STR_CONTAINS(src, "(IKCONFIG)");
	free(src);
	free(cmd);
	cmd = kt_asprintf("printf 'none' > %s && printf 'CONFIG_HZ=250\\n' > %s/.config", vml, d);
	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_kernel_jump_label(vml, d, &src), 0);
	CHECK_STR_CONTAINS(src, "/.config");
	free(src);
	/* nothing to read: unknown, not "off" */
	CHECK_INT_EQ(kt_kernel_jump_label(vml, NULL, &src), -ENOENT);
	CHECK(src == NULL);
	free(cmd);
	free(vml);
}

/* Fake guest memory: three u64 cells at the addresses wdog uses. */
struct fake {
	uint64_t timeout, stamp, jiffies;
	int writes;
	bool fail_read;
};

#define SYM_TIMEOUT 0xffffffff834517d8ull
#define SYM_STAMP 0xffffffff82a64520ull
#define SYM_JIFFIES 0xffffffff82a07a00ull

static uint64_t *cell(struct fake *f, uint64_t pa)
{
	if (pa == SYM_TIMEOUT - KT_KERNEL_TEXT_MAP)
		return &f->timeout;
	if (pa == SYM_STAMP - KT_KERNEL_TEXT_MAP)
		return &f->stamp;
	if (pa == SYM_JIFFIES - KT_KERNEL_TEXT_MAP)
		return &f->jiffies;
	return NULL;
}

static int frd(void *ctx, uint64_t pa, uint64_t *v)
{
	struct fake *f = ctx;
	uint64_t *c = cell(f, pa);

	if (!c || f->fail_read)
		return -EFAULT;
	*v = *c;
	return 0;
}

static int fwr(void *ctx, uint64_t pa, uint64_t v)
{
	struct fake *f = ctx;
	uint64_t *c = cell(f, pa);

	if (!c)
		return -EFAULT;
	*c = v;
	f->writes++;
	return 0;
}

UNIT_TEST(wdog_override_lifecycle)
{
	struct fake f = {.jiffies = 100000};
	struct kt_wdog_mem m = {frd, fwr, &f};
	struct kt_wdog w;
	char *why = NULL, *d;

	CHECK_INT_EQ(kt_wdog_init_addrs(&w, SYM_TIMEOUT, SYM_STAMP, SYM_JIFFIES, 1000, 2, &why), 0);
	CHECK(w.want == 2000);
	/* no scheduler yet: nothing written */
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "no scheduler was enabled");
	free(d);

	/* enable with the default 30 s: overwritten, the check-in stamp kept fresh */
	f.timeout = 30000;
	f.stamp = 100000;
	f.jiffies = 100050;
	kt_wdog_tick(&w, &m);
	CHECK(f.timeout == 2000);
	CHECK(f.stamp == 100050);
	CHECK(w.refreshing);
	for (int i = 0; i < 100; i++) {
		f.jiffies += 100;
		kt_wdog_tick(&w, &m);
		CHECK(f.stamp == f.jiffies);
	}
	/* the kernel writes its enable stamp late (racing our first write): still refreshing */
	f.jiffies += 100;
	f.stamp = 100000;
	kt_wdog_tick(&w, &m);
	CHECK(w.refreshing);
	CHECK(f.stamp == f.jiffies);
	/* the watchdog work runs at enable + 15 s and writes its own stamp */
	f.jiffies = 115100;
	f.stamp = 115090;
	kt_wdog_tick(&w, &m);
	CHECK(!w.refreshing);
	f.jiffies += 100;
	kt_wdog_tick(&w, &m);
	CHECK(f.stamp == 115090); /* untouched from now on */
	CHECK(f.timeout == 2000);

	/* a second scheduler (qmap: 5 s) is overridden again */
	f.timeout = 5000;
	kt_wdog_tick(&w, &m);
	CHECK(f.timeout == 2000);
	CHECK_INT_EQ((int)w.enables, 2);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "sched_ext watchdog: 2 s (HZ=1000; the scheduler's own: 30.0 s), "
			      "applied at 2 enables");
	free(d);
	kt_wdog_free(&w);
}

UNIT_TEST(wdog_longer_timeout_needs_no_refresh)
{
	struct fake f = {.timeout = 5000, .stamp = 7, .jiffies = 1000};
	struct kt_wdog_mem m = {frd, fwr, &f};
	struct kt_wdog w;

	CHECK_INT_EQ(kt_wdog_init_addrs(&w, SYM_TIMEOUT, SYM_STAMP, SYM_JIFFIES, 250, 60, NULL), 0);
	kt_wdog_tick(&w, &m);
	CHECK(f.timeout == 15000);
	CHECK(!w.refreshing);
	CHECK(f.stamp == 7);
	kt_wdog_free(&w);
}

UNIT_TEST(wdog_hostile_memory)
{
	struct fake f = {.timeout = ~0ull, .jiffies = 5};
	struct kt_wdog_mem m = {frd, fwr, &f};
	struct kt_wdog w;
	char *why = NULL, *d;

	/* garbage where the timeout should be: stop, write nothing */
	CHECK_INT_EQ(kt_wdog_init_addrs(&w, SYM_TIMEOUT, SYM_STAMP, SYM_JIFFIES, 1000, 4, NULL), 0);
	kt_wdog_tick(&w, &m);
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	CHECK(w.broken);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "implausible scx_watchdog_timeout");
	free(d);
	kt_wdog_free(&w);

	/* unreadable memory */
	f.timeout = 30000;
	f.fail_read = true;
	CHECK_INT_EQ(kt_wdog_init_addrs(&w, SYM_TIMEOUT, SYM_STAMP, SYM_JIFFIES, 1000, 4, NULL), 0);
	kt_wdog_tick(&w, &m);
	CHECK(w.broken);
	CHECK_INT_EQ(f.writes, 0);
	kt_wdog_free(&w);

	/* a kernel without the symbol, or with symbols outside the text map */
	CHECK_INT_EQ(kt_wdog_init_addrs(&w, 0, SYM_STAMP, SYM_JIFFIES, 1000, 4, &why), -ENOENT);
	CHECK_STR_CONTAINS(why, "no scx_watchdog_timeout symbol");
	free(why);
	why = NULL;
	CHECK_INT_EQ(kt_wdog_init_addrs(&w, 0x1000, SYM_STAMP, SYM_JIFFIES, 1000, 4, &why), -EINVAL);
	free(why);
	why = NULL;
	CHECK_INT_EQ(kt_wdog_init(&w, NULL, 1000, 4, &why), -ENOENT);
	CHECK_STR_CONTAINS(why, "no vmlinux");
	free(why);
}
