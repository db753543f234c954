// SPDX-License-Identifier: GPL-2.0
/* Guest kernel config (kernel/ksym.c), the watchdog override (runner/wdog.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "gk_image.h"
#include "runner/wdog.h"
#include "unit.h"
#include "util/util.h"

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

/*
 * Guest memory: a synthetic booted kernel image (gk_image.h) under KASLR
 * slides; wdog finds it through the guest kernel reader. Writes are
 * counted, reads can be made to fail once the kernel is located.
 */
#define RAM (128ull << 20)

struct fake {
	struct gk_img im;
	int64_t ps;
	int writes;
	bool fail_read;
};

static int frd(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct fake *f = ctx;

	if (f->fail_read && len == 8)
		return -EFAULT;
	return gk_img_read(&f->im, gpa, buf, len);
}

static int fwr(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct fake *f = ctx;

	f->writes++;
	return gk_img_write(&f->im, gpa, buf, len);
}

static uint64_t *cell(struct fake *f, const char *sym)
{
	return (uint64_t *)(f->im.ram + gk_img_sym(sym) - KT_GK_START_KERNEL_MAP + f->ps);
}

#define TIMEOUT(f) (*cell(f, "scx_watchdog_timeout"))
#define STAMP(f) (*cell(f, "scx_watchdog_timestamp"))
#define JIFFIES(f) (*cell(f, "jiffies_64"))
#define STATE(f) (*(uint32_t *)cell(f, "scx_ops_enable_state_var"))

/* A guest booted with physical slide ps and virtual slide vs. */
static void fake_boot(struct fake *f, const struct kt_gk *gk, int64_t ps, int64_t vs)
{
	uint64_t percpu_pa[1] = {0x100000};

	f->im = (struct gk_img){calloc(1, RAM), RAM};
	f->ps = ps;
	gk_img_boot(&f->im, gk, ps, vs, 0xffff888000000000ull, false, percpu_pa, 1);
}

static int wdog_img(struct kt_wdog *w, int hz, int secs, char **why)
{
	struct kt_gk *gk = NULL;

	if (gk_img_open(&gk, why))
		return -ENOENT;
	return kt_wdog_init_gk(w, gk, hz, secs, why);
}

static void lifecycle(int64_t ps, int64_t vs)
{
	struct fake f = {0};
	struct kt_gk_mem m = {frd, fwr, &f, RAM};
	struct kt_wdog w;
	char *why = NULL, *d;

	CHECK_INT_EQ(wdog_img(&w, 1000, 2, &why), 0);
	CHECK(w.want == 2000);
	/* before the kernel is in memory: not located, nothing written */
	f.im = (struct gk_img){calloc(1, RAM), RAM};
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "not applied: the guest kernel was not located");
	free(d);
	free(f.im.ram);

	fake_boot(&f, w.gk, ps, vs);
	JIFFIES(&f) = 100000;
	/* no scheduler yet: nothing written */
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	CHECK(kt_gk_phys_slide(w.gk) == ps);
	CHECK(kt_gk_virt_slide(w.gk) == vs);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "no scheduler was enabled");
	free(d);

	/* enable with the default 30 s: overwritten, the check-in stamp kept fresh */
	TIMEOUT(&f) = 30000;
	STAMP(&f) = 100000;
	JIFFIES(&f) = 100050;
	kt_wdog_tick(&w, &m);
	CHECK(TIMEOUT(&f) == 2000);
	CHECK(STAMP(&f) == 100050);
	CHECK(w.refreshing);
	for (int i = 0; i < 100; i++) {
		JIFFIES(&f) += 100;
		kt_wdog_tick(&w, &m);
		CHECK(STAMP(&f) == JIFFIES(&f));
	}
	/* the kernel writes its enable stamp late (racing our first write): still refreshing */
	JIFFIES(&f) += 100;
	STAMP(&f) = 100000;
	kt_wdog_tick(&w, &m);
	CHECK(w.refreshing);
	CHECK(STAMP(&f) == JIFFIES(&f));
	/* the watchdog work runs at enable + 15 s and writes its own stamp */
	JIFFIES(&f) = 115100;
	STAMP(&f) = 115090;
	kt_wdog_tick(&w, &m);
	CHECK(!w.refreshing);
	JIFFIES(&f) += 100;
	kt_wdog_tick(&w, &m);
	CHECK(STAMP(&f) == 115090); /* untouched from now on */
	CHECK(TIMEOUT(&f) == 2000);

	/* a second scheduler (qmap: 5 s) is overridden again */
	TIMEOUT(&f) = 5000;
	kt_wdog_tick(&w, &m);
	CHECK(TIMEOUT(&f) == 2000);
	CHECK_INT_EQ((int)w.enables, 2);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "sched_ext watchdog: 2 s (HZ=1000; the scheduler's own: 30.0 s), "
			      "applied at 2 enables");
	free(d);
	kt_wdog_free(&w);
	free(f.im.ram);
}

UNIT_TEST(wdog_override_lifecycle)
{
	lifecycle(0, 0); /* nokaslr */
}

UNIT_TEST(wdog_override_under_kaslr)
{
	/* the variables are written where the slid kernel has them, nowhere else */
	lifecycle(34ll << 20, 418ll << 20);
	lifecycle(-(6ll << 20), 2ll << 20);
}

/*
 * A KASLR boot: the reader locates the kernel right after the decompressor
 * relocated it, before clear_bss(), when scx_watchdog_timeout (.bss) still
 * holds leftovers of the compressed image. Nothing is read as a timeout
 * until a scheduler is being enabled (scx_ops_enable_state_var, .data):
 * no "implausible" stop, no write, and the later enable is overridden.
 * (Before, test_timeline's qmap_stall_steps ran with qmap's own 5 s about
 * once in ten boots: "failed to run for 5.243s".)
 */
UNIT_TEST(wdog_waits_for_an_enable)
{
	struct fake f = {0};
	struct kt_gk_mem m = {frd, fwr, &f, RAM};
	struct kt_wdog w;
	char *d;

	CHECK_INT_EQ(wdog_img(&w, 1000, 2, NULL), 0);
	fake_boot(&f, w.gk, 34ll << 20, 418ll << 20);
	STATE(&f) = 3; /* SCX_OPS_DISABLED */
	TIMEOUT(&f) = 0x9c3f17a2e5d40b61ull;
	JIFFIES(&f) = 4294667296ull;
	for (int i = 0; i < 5; i++)
		kt_wdog_tick(&w, &m);
	CHECK(!w.broken);
	CHECK_INT_EQ(f.writes, 0);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "no scheduler was enabled");
	free(d);
	/* clear_bss(), then scx_ops_enable(): ENABLING before the timeout is set */
	TIMEOUT(&f) = 0;
	STATE(&f) = 0;
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	TIMEOUT(&f) = 5000;
	kt_wdog_tick(&w, &m);
	CHECK(TIMEOUT(&f) == 2000);
	STATE(&f) = 1; /* SCX_OPS_ENABLED */
	kt_wdog_tick(&w, &m);
	CHECK(TIMEOUT(&f) == 2000);
	d = kt_wdog_describe(&w);
	CHECK_STR_EQ(d, "sched_ext watchdog: 2 s (HZ=1000; the scheduler's own: 5.0 s), applied at "
			"1 enable");
	free(d);
	/* disabled again: a leftover value is left alone */
	STATE(&f) = 3;
	TIMEOUT(&f) = 123;
	f.writes = 0;
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	kt_wdog_free(&w);
	free(f.im.ram);
}

UNIT_TEST(wdog_longer_timeout_needs_no_refresh)
{
	struct fake f = {0};
	struct kt_gk_mem m = {frd, fwr, &f, RAM};
	struct kt_wdog w;

	CHECK_INT_EQ(wdog_img(&w, 250, 60, NULL), 0);
	fake_boot(&f, w.gk, 0, 0);
	TIMEOUT(&f) = 5000;
	STAMP(&f) = 7;
	JIFFIES(&f) = 1000;
	kt_wdog_tick(&w, &m);
	CHECK(TIMEOUT(&f) == 15000);
	CHECK(!w.refreshing);
	CHECK(STAMP(&f) == 7);
	kt_wdog_free(&w);
	free(f.im.ram);
}

UNIT_TEST(wdog_hostile_memory)
{
	struct fake f = {0};
	struct kt_gk_mem m = {frd, fwr, &f, RAM};
	struct kt_wdog w;
	char *why = NULL, *d;

	/* garbage where the timeout should be: stop, write nothing */
	CHECK_INT_EQ(wdog_img(&w, 1000, 4, NULL), 0);
	fake_boot(&f, w.gk, 0, 0);
	TIMEOUT(&f) = ~0ull;
	JIFFIES(&f) = 5;
	kt_wdog_tick(&w, &m);
	kt_wdog_tick(&w, &m);
	CHECK_INT_EQ(f.writes, 0);
	CHECK(w.broken);
	d = kt_wdog_describe(&w);
	CHECK_STR_CONTAINS(d, "implausible scx_watchdog_timeout");
	free(d);
	kt_wdog_free(&w);

	/* unreadable memory once the kernel is located */
	TIMEOUT(&f) = 30000;
	CHECK_INT_EQ(wdog_img(&w, 1000, 4, NULL), 0);
	kt_wdog_tick(&w, &m); /* locates it, overrides */
	CHECK(TIMEOUT(&f) == 4000);
	TIMEOUT(&f) = 30000;
	f.fail_read = true;
	f.writes = 0;
	kt_wdog_tick(&w, &m);
	CHECK(w.broken);
	CHECK_INT_EQ(f.writes, 0);
	kt_wdog_free(&w);
	free(f.im.ram);

	/* a kernel without the symbol (gk_img_syms ends with jiffies_64, scx_watchdog_timeout) */
	{
		struct kt_gk *gk = NULL;
		size_t len = 0;
		void *btf = gk_img_btf(&len);
		size_t n = sizeof(gk_img_syms) / sizeof(gk_img_syms[0]) - 2;

		CHECK(btf != NULL);
		CHECK_INT_EQ(kt_gk_open_parts(btf, len, gk_img_syms, n, gk_img_banner,
					      sizeof(gk_img_banner) - 1, &gk, NULL),
			     0);
		free(btf);
		CHECK_INT_EQ(kt_wdog_init_gk(&w, gk, 1000, 4, &why), -ENOENT);
		CHECK_STR_CONTAINS(why, "no scx_watchdog_timeout symbol");
		free(why);
		why = NULL;
	}
	CHECK_INT_EQ(kt_wdog_init(&w, NULL, 1000, 4, &why), -ENOENT);
	CHECK_STR_CONTAINS(why, "no vmlinux");
	free(why);
	why = NULL;
	CHECK(kt_wdog_init(&w, "/nonexistent/vmlinux", 1000, 4, &why) < 0);
	CHECK_STR_CONTAINS(why, "/nonexistent/vmlinux");
	free(why);
}
