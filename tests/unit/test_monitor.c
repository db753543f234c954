// SPDX-License-Identifier: GPL-2.0
/*
 * The guest kernel reader (monitor/guestkern.c) on synthetic guest memory
 * laid out with the real BTF of the test kernel (gk_image.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "gk_image.h"
#include "monitor/guestkern.h"
#include "unit.h"

#define RAM (192ull << 20)

static struct kt_gk *open_img(void)
{
	struct kt_gk *gk = NULL;
	char *err = NULL;

	if (gk_img_open(&gk, &err))
		unit_fail(__FILE__, __LINE__, "%s", err);
	return gk;
}

UNIT_TEST(gk_btf_offsets_from_real_blob)
{
	struct kt_gk *gk = open_img();
	uint32_t off, sz, off2, sz2;

	/* offsets of the 6.12.117 kernel as pahole shows them */
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "nr_running", &off, &sz), 0);
	CHECK_INT_EQ(off, 4);
	CHECK_INT_EQ(sz, 4);
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "clock", &off, &sz), 0);
	CHECK_INT_EQ(sz, 8);
	/* a nested path is the sum of its parts */
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "scx.local_dsq.nr", &off, &sz), 0);
	CHECK_INT_EQ(sz, 4);
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "scx", &off2, &sz2), 0);
	{
		uint32_t a, b, c, d;

		CHECK_INT_EQ(kt_gk_member(gk, "scx_rq", "local_dsq", &a, &b), 0);
		CHECK_INT_EQ(kt_gk_member(gk, "scx_dispatch_q", "nr", &c, &d), 0);
		CHECK_INT_EQ(off, off2 + a + c);
	}
	CHECK_INT_EQ(sz2, kt_gk_type_size(gk, "scx_rq"));
	/* a member inside an anonymous union/struct is found */
	CHECK_INT_EQ(kt_gk_member(gk, "task_struct", "stack", &off, &sz), 0);
	CHECK_INT_EQ(sz, 8);
	/* missing type / member; a path through a scalar */
	CHECK_INT_EQ(kt_gk_member(gk, "no_such_struct", "x", &off, &sz), -ENOENT);
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "no_such_member", &off, &sz), -ENOENT);
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "nr_running.x", &off, &sz), -EINVAL);
	CHECK(kt_gk_sym(gk, "runqueues") == 0x2e680);
	CHECK(kt_gk_sym(gk, "nope") == 0);
	kt_gk_free(gk);
}

/*
 * Boot an image under slides (ps, vs) with 4 CPUs and read every CPU's
 * rq->nr_running and rq->scx.local_dsq.nr through the per-CPU offsets,
 * plus a vmalloc address through the kernel's page tables.
 */
static void boot_and_read(int64_t ps, int64_t vs, uint64_t page_offset, bool l5)
{
	struct gk_img im = {calloc(1, RAM), RAM};
	struct kt_gk_mem m = gk_img_mem(&im);
	struct kt_gk *gk = open_img();
	uint64_t percpu_pa[4] = {0x8000000, 0x8100000, 0x8200000, 0x8300000}, off[4];
	uint32_t o_nr, o_dsq, sz;
	char *why = NULL;

	CHECK(im.ram);
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "nr_running", &o_nr, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "scx.local_dsq.nr", &o_dsq, &sz), 0);
	/* nothing loaded yet: not attached, and no crash */
	CHECK_INT_EQ(kt_gk_attach(gk, &m, &why), -EAGAIN);
	CHECK_STR_CONTAINS(why, "banner");
	free(why);
	why = NULL;
	gk_img_boot(&im, gk, ps, vs, page_offset, l5, percpu_pa, 4);
	for (unsigned c = 0; c < 4; c++) {
		uint32_t nr = 10 + c, dsq = 100 + c;

		memcpy(im.ram + percpu_pa[c] + 0x2e680 + o_nr, &nr, 4);
		memcpy(im.ram + percpu_pa[c] + 0x2e680 + o_dsq, &dsq, 4);
	}
	CHECK_INT_EQ(kt_gk_attach(gk, &m, &why), 0);
	CHECK(kt_gk_attached(gk));
	CHECK_INT_EQ(kt_gk_phys_slide(gk), ps);
	CHECK_INT_EQ(kt_gk_virt_slide(gk), vs);
	CHECK_INT_EQ(kt_gk_refresh(gk, &m), 0);
	CHECK(kt_gk_page_offset(gk) == page_offset);
	/* an image symbol is slid; a zero-based per-CPU one is not */
	CHECK(kt_gk_sym_kva(gk, "phys_base") == 0xffffffff81e34010ull + (uint64_t)vs);
	CHECK(kt_gk_sym_kva(gk, "runqueues") == 0x2e680);
	CHECK_INT_EQ(kt_gk_percpu_offsets(gk, &m, 4, off), 0);
	for (unsigned c = 0; c < 4; c++) {
		uint32_t nr = 0, dsq = 0;
		uint64_t rq = kt_gk_sym_kva(gk, "runqueues") + off[c], pa;

		CHECK_INT_EQ(kt_gk_pa(gk, &m, rq, &pa), 0);
		CHECK(pa == percpu_pa[c] + 0x2e680);
		CHECK_INT_EQ(kt_gk_read(gk, &m, rq + o_nr, &nr, 4), 0);
		CHECK_INT_EQ(kt_gk_read(gk, &m, rq + o_dsq, &dsq, 4), 0);
		CHECK_INT_EQ(nr, 10 + c);
		CHECK_INT_EQ(dsq, 100 + c);
	}
	/* a kernel-image read through the runtime address */
	{
		uint64_t pb = 0;

		CHECK_INT_EQ(kt_gk_read_sym(gk, &m, "phys_base", &pb, 8), 0);
		CHECK(pb == (uint64_t)(ps - vs));
	}
	/*
	 * vmalloc 0xffffc90000003ffc (8 bytes across a page boundary: two
	 * 4 KiB pages at different physical places) through init_top_pgt.
	 */
	{
		uint64_t pgd = 0xffffffff81e2b000ull - KT_GK_START_KERNEL_MAP + (uint64_t)ps;
		uint64_t kva = 0xffffc90000003ffcull, tab = 0x9000000, v = 0;
		uint64_t p4d = tab, pud = tab + 0x1000, pmd = tab + 0x2000, pte = tab + 0x3000;
		uint64_t e, page0 = 0x9100000, page1 = 0x9200000;
		uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};

		if (l5) {
			e = p4d | 3;
			memcpy(im.ram + pgd + ((kva >> 48) & 511) * 8, &e, 8);
			e = pud | 3;
			memcpy(im.ram + p4d + ((kva >> 39) & 511) * 8, &e, 8);
		} else {
			e = pud | 3;
			memcpy(im.ram + pgd + ((kva >> 39) & 511) * 8, &e, 8);
		}
		e = pmd | 3;
		memcpy(im.ram + pud + ((kva >> 30) & 511) * 8, &e, 8);
		e = pte | 3;
		memcpy(im.ram + pmd + ((kva >> 21) & 511) * 8, &e, 8);
		e = page0 | 3;
		memcpy(im.ram + pte + ((kva >> 12) & 511) * 8, &e, 8);
		e = page1 | 3;
		memcpy(im.ram + pte + (((kva >> 12) + 1) & 511) * 8, &e, 8);
		memcpy(im.ram + page0 + 0xffc, want, 4);
		memcpy(im.ram + page1, want + 4, 4);
		CHECK_INT_EQ(kt_gk_read(gk, &m, kva, &v, 8), 0);
		CHECK(!memcmp(&v, want, 8));
		/* the next page is not mapped */
		CHECK_INT_EQ(kt_gk_read(gk, &m, kva + 0x1004, &v, 8), -EFAULT);
		/* a write through the same walk */
		v = 0x1122334455667788ull;
		CHECK_INT_EQ(kt_gk_write(gk, &m, kva, &v, 8), 0);
		CHECK(!memcmp(im.ram + page1, (uint8_t *)&v + 4, 4));
	}
	/* past the end of RAM: no data */
	{
		uint64_t v;

		CHECK_INT_EQ(kt_gk_read(gk, &m, page_offset + RAM - 4, &v, 8), -EFAULT);
	}
	kt_gk_free(gk);
	free(im.ram);
}

UNIT_TEST(gk_nokaslr_4level)
{
	boot_and_read(0, 0, 0xffff888000000000ull, false);
}

UNIT_TEST(gk_kaslr_found_without_guest_help)
{
	/* physical +32 MiB, virtual +96 MiB, randomised 5-level direct map */
	boot_and_read(32ll << 20, 96ll << 20, 0xff11000000000000ull, true);
	/* a load below the link address */
	boot_and_read(-(8ll << 20), 2ll << 20, 0xffff9a4b40000000ull, false);
}

UNIT_TEST(gk_inconsistent_image_not_attached)
{
	struct gk_img im = {calloc(1, RAM), RAM};
	struct kt_gk_mem m = gk_img_mem(&im);
	struct kt_gk *gk = open_img();
	uint64_t percpu_pa[2] = {0x8000000, 0x8000000}, off[2], bad = 12345;
	char *why = NULL;

	gk_img_boot(&im, gk, 0, 0, 0xffff888000000000ull, false, percpu_pa, 2);
	/* phys_base not a 2 MiB multiple: the slide is implausible */
	gk_img_put(&im, gk_img_sym("phys_base"), 0, 0, &bad, 8);
	CHECK_INT_EQ(kt_gk_attach(gk, &m, &why), -EAGAIN);
	CHECK_STR_CONTAINS(why, "implausible virtual slide");
	free(why);
	why = NULL;
	/* a plausible phys_base that init_task.stack contradicts */
	bad = 4ull << 20;
	gk_img_put(&im, gk_img_sym("phys_base"), 0, 0, &bad, 8);
	CHECK_INT_EQ(kt_gk_attach(gk, &m, &why), -EAGAIN);
	CHECK_STR_CONTAINS(why, "init_task.stack");
	free(why);
	why = NULL;
	bad = 0;
	gk_img_put(&im, gk_img_sym("phys_base"), 0, 0, &bad, 8);
	CHECK_INT_EQ(kt_gk_attach(gk, &m, &why), 0);
	/* per-CPU areas not set up yet (every CPU at the boot offset) */
	CHECK_INT_EQ(kt_gk_percpu_offsets(gk, &m, 2, off), -EAGAIN);
	/* page_offset_base not yet valid */
	gk_img_put(&im, gk_img_sym("page_offset_base"), 0, 0, &bad, 8);
	CHECK_INT_EQ(kt_gk_refresh(gk, &m), -EAGAIN);
	CHECK(kt_gk_page_offset(gk) == 0);
	kt_gk_free(gk);
	free(im.ram);
}

UNIT_TEST(gk_open_real_vmlinux_errors)
{
	struct kt_gk *gk = NULL;
	char *err = NULL;

	CHECK(kt_gk_open("/nonexistent/vmlinux", &gk, &err) < 0);
	CHECK_STR_CONTAINS(err, "/nonexistent/vmlinux");
	free(err);
	err = NULL;
	/* an ELF without .BTF (this test binary) */
	CHECK(kt_gk_open("/proc/self/exe", &gk, &err) < 0);
	CHECK_STR_CONTAINS(err, "BTF");
	free(err);
	CHECK(!gk);
}
