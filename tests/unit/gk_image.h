/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A synthetic guest memory image for the guest kernel reader
 * (src/monitor/guestkern.h), laid out with the real BTF of the project's
 * 6.12.117 test kernel (tests/unit/data/vmlinux-6.12.117.btf.zst, the
 * .BTF section of its vmlinux) and that kernel's link-time symbol values.
 * Shared by tests/unit/test_monitor.c and tests/fuzz/fuzz_monitor.c; run
 * from the repository root.
 */
#ifndef KTSTR_TESTS_GK_IMAGE_H
#define KTSTR_TESTS_GK_IMAGE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "monitor/guestkern.h"
#include "util/util.h"

#define GK_IMG_BTF "tests/unit/data/vmlinux-6.12.117.btf.zst"

/* nm vmlinux of the 6.12.117 test kernel (kc438dd00d) */
static const struct kt_gk_sym gk_img_syms[] = {
	{"linux_banner", 0xffffffff8187d7e0ull},
	{"scx_watchdog_timestamp", 0xffffffff81e5cfe0ull},
	{"phys_base", 0xffffffff81e34010ull},
	{"init_task", 0xffffffff81e0a940ull},
	{"init_stack", 0xffffffff81e00000ull},
	{"init_top_pgt", 0xffffffff81e2b000ull},
	{"__pgtable_l5_enabled", 0xffffffff819d1208ull},
	{"page_offset_base", 0xffffffff819d11f8ull},
	{"__per_cpu_offset", 0xffffffff819da0a0ull},
	{"runqueues", 0x2e680ull},
	{"scx_ops_enable_state_var", 0xffffffff81e5cfecull},
	{"scx_exit_kind", 0xffffffff81e5cfe8ull},
	{"scx_ops", 0xffffffff82343680ull},
	{"nr_cpu_ids", 0xffffffff81f6f4b0ull},
	{"jiffies_64", 0xffffffff81e07a00ull},
	{"scx_watchdog_timeout", 0xffffffff823435b8ull},
};

static const char gk_img_banner[] = "Linux version 6.12.117 (ktstr@unit) (gcc) #1 SMP\n";

/* The decompressed BTF blob (malloc'd), NULL when the file is missing. */
static inline void *gk_img_btf(size_t *len)
{
	char *z = NULL;
	size_t zl = 0;
	unsigned long long n;
	void *out;

	if (kt_read_file(GK_IMG_BTF, &z, &zl, 8 << 20))
		return NULL;
	n = ZSTD_getFrameContentSize(z, zl);
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (64u << 20)) {
		free(z);
		return NULL;
	}
	out = malloc(n ? n : 1);
	if (ZSTD_isError(ZSTD_decompress(out, n, z, zl))) {
		free(out);
		out = NULL;
	}
	free(z);
	*len = n;
	return out;
}

static inline int gk_img_open(struct kt_gk **gk, char **err)
{
	size_t len = 0;
	void *btf = gk_img_btf(&len);
	int r;

	if (!btf) {
		kt_set_err(err, "%s: cannot read", GK_IMG_BTF);
		return -ENOENT;
	}
	r = kt_gk_open_parts(btf, len, gk_img_syms, sizeof(gk_img_syms) / sizeof(gk_img_syms[0]),
			     gk_img_banner, sizeof(gk_img_banner) - 1, gk, err);
	free(btf);
	return r;
}

/* Guest RAM: a flat buffer at guest-physical 0, reads bounds-checked. */
struct gk_img {
	uint8_t *ram;
	uint64_t size;
};

static inline int gk_img_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct gk_img *im = ctx;

	if (gpa >= im->size || len > im->size - gpa)
		return -EFAULT;
	memcpy(buf, im->ram + gpa, len);
	return 0;
}

static inline int gk_img_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct gk_img *im = ctx;

	if (gpa >= im->size || len > im->size - gpa)
		return -EFAULT;
	memcpy(im->ram + gpa, buf, len);
	return 0;
}

static inline struct kt_gk_mem gk_img_mem(struct gk_img *im)
{
	return (struct kt_gk_mem){gk_img_read, gk_img_write, im, im->size};
}

/* Store at the physical address of image symbol `sym` under physical slide ps. */
static inline void gk_img_put(struct gk_img *im, uint64_t sym, int64_t ps, uint64_t add,
			      const void *v, size_t len)
{
	uint64_t pa = sym - KT_GK_START_KERNEL_MAP + (uint64_t)ps + add;

	if (pa < im->size && len <= im->size - pa)
		memcpy(im->ram + pa, v, len);
}

static inline uint64_t gk_img_sym(const char *name)
{
	for (size_t i = 0; i < sizeof(gk_img_syms) / sizeof(gk_img_syms[0]); i++)
		if (!strcmp(gk_img_syms[i].name, name))
			return gk_img_syms[i].addr;
	return 0;
}

/*
 * The kernel image as a booted guest has it: banner, phys_base, init_task.stack
 * under slides ps (physical) and vs (virtual), page_offset_base, the 5-level
 * flag, and __per_cpu_offset[c] = page_offset + percpu_pa[c] for ncpu CPUs.
 */
static inline void gk_img_boot(struct gk_img *im, const struct kt_gk *gk, int64_t ps, int64_t vs,
			       uint64_t page_offset, bool l5, const uint64_t *percpu_pa,
			       unsigned ncpu)
{
	uint64_t pb = (uint64_t)(ps - vs), stack = gk_img_sym("init_stack") + (uint64_t)vs;
	uint32_t l5v = l5, off, sz;

	gk_img_put(im, gk_img_sym("linux_banner"), ps, 0, gk_img_banner,
		   sizeof(gk_img_banner) - 1);
	gk_img_put(im, gk_img_sym("phys_base"), ps, 0, &pb, 8);
	if (!kt_gk_member(gk, "task_struct", "stack", &off, &sz))
		gk_img_put(im, gk_img_sym("init_task"), ps, off, &stack, 8);
	gk_img_put(im, gk_img_sym("page_offset_base"), ps, 0, &page_offset, 8);
	gk_img_put(im, gk_img_sym("__pgtable_l5_enabled"), ps, 0, &l5v, 4);
	for (unsigned c = 0; c < ncpu; c++) {
		uint64_t o = page_offset + percpu_pa[c];

		gk_img_put(im, gk_img_sym("__per_cpu_offset"), ps, 8ull * c, &o, 8);
	}
}

#endif
