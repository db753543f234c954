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

/* ---- the monitor: sampling the synthetic image, the judge, alerts ---------- */

#include <jansson.h>

#include "check/check.h"
#include "monitor/monitor.h"

static struct kt_mon *new_mon(unsigned ncpu, const struct kt_assert *a)
{
	struct kt_mon_limits lim = kt_mon_limits_from(a);
	char *why = NULL;
	struct kt_mon *mon = kt_mon_new(open_img(), ncpu, &lim, &why);

	if (!mon)
		unit_fail(__FILE__, __LINE__, "%s", why);
	return mon;
}

/* A valid sample: every CPU at nr running, DSQ depth dsq, clock advancing with t. */
static void add(struct kt_mon *mon, unsigned ncpu, uint64_t t, const uint32_t *nr,
		const uint32_t *dsq, const uint64_t *clk, const int64_t *vcpu)
{
	struct kt_mon_cpu cpu[8] = {0};
	struct kt_mon_sample s = {.t_ms = t, .valid = true, .scx_state = -1, .scx_exit_kind = -1,
				  .cpu = cpu};

	for (unsigned c = 0; c < ncpu; c++) {
		cpu[c].nr_running = nr ? nr[c] : 1;
		cpu[c].local_dsq_depth = dsq ? dsq[c] : 0;
		cpu[c].rq_clock = clk ? clk[c] : 1000000 * t + c;
		cpu[c].vcpu_ns = vcpu ? vcpu[c] : -1;
	}
	kt_mon_add(mon, &s);
}

UNIT_TEST(mon_samples_synthetic_image)
{
	struct gk_img im = {calloc(1, RAM), RAM};
	struct kt_gk_mem m = gk_img_mem(&im);
	struct kt_mon *mon = new_mon(2, &(struct kt_assert){0});
	uint64_t percpu_pa[2] = {0x8000000, 0x8100000};
	uint32_t o_nr, o_scx, o_dsq, o_clk, sz;
	const struct kt_mon_sample *s;
	struct kt_assert_result r = {0};
	json_t *j;

	/* before the kernel is there: an invalid sample saying why */
	kt_mon_tick(mon, &m, 0, NULL);
	CHECK_INT_EQ(kt_mon_n_samples(mon), 1);
	CHECK(!kt_mon_sample_at(mon, 0)->valid);
	gk_img_boot(&im, kt_mon_gk(mon), 0, 0, 0xffff888000000000ull, false, percpu_pa, 2);
	CHECK_INT_EQ(kt_gk_member(kt_mon_gk(mon), "rq", "nr_running", &o_nr, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(kt_mon_gk(mon), "rq", "scx.nr_running", &o_scx, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(kt_mon_gk(mon), "rq", "scx.local_dsq.nr", &o_dsq, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(kt_mon_gk(mon), "rq", "clock", &o_clk, &sz), 0);
	for (unsigned t = 1; t <= 6; t++) {
		for (unsigned c = 0; c < 2; c++) {
			uint8_t *rq = im.ram + percpu_pa[c] + 0x2e680;
			uint32_t nr = 2 + c, scx = 1 + c, dsq = c;
			uint64_t clk = 1000000ull * t + c;

			memcpy(rq + o_nr, &nr, 4);
			memcpy(rq + o_scx, &scx, 4);
			memcpy(rq + o_dsq, &dsq, 4);
			memcpy(rq + o_clk, &clk, 8);
		}
		kt_mon_tick(mon, &m, 100 * t, NULL);
	}
	CHECK_INT_EQ(kt_mon_n_samples(mon), 7);
	s = kt_mon_sample_at(mon, 6);
	CHECK(s->valid);
	CHECK_INT_EQ(s->cpu[1].nr_running, 3);
	CHECK_INT_EQ(s->cpu[1].scx_nr_running, 2);
	CHECK_INT_EQ(s->cpu[1].local_dsq_depth, 1);
	CHECK(s->cpu[0].rq_clock == 6000000);
	CHECK(!s->have_events); /* 6.12 has no event counters */
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_PASS);
	CHECK_STR_EQ(kt_mon_verdict_line(mon), "monitor OK");
	CHECK_INT_EQ(r.n_details, 0);
	j = kt_mon_to_json(mon);
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(j, "summary"),
							"valid_samples")),
		     6);
	CHECK_INT_EQ(json_array_size(json_object_get(j, "samples")), 7);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "verdict")), "PASS");
	CHECK(json_is_null(json_object_get(json_object_get(j, "summary"), "event_deltas")));
	json_decref(j);
	{
		char *rep = kt_mon_report(mon);

		CHECK_STR_CONTAINS(rep, "--- monitor ---\nsamples=7 valid=6 max_imbalance=1.50");
		CHECK_STR_CONTAINS(rep, "verdict: monitor OK");
		free(rep);
	}
	kt_mon_free(mon);
	free(im.ram);
}

UNIT_TEST(mon_no_data_is_inconclusive)
{
	struct kt_assert_result r = {0};
	struct kt_mon *mon = new_mon(2, &(struct kt_assert){0});
	struct gk_img im = {calloc(1, 64 << 20), 64 << 20};
	struct kt_gk_mem m = gk_img_mem(&im);

	/* no samples at all */
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_INCONCLUSIVE);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(r.details[0].message, "no monitor samples");
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
	/* only unreadable samples: the reader's reason */
	mon = new_mon(2, &(struct kt_assert){0});
	for (int i = 0; i < 5; i++)
		kt_mon_tick(mon, &m, 100 * i, NULL);
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(r.details[0].message, "no usable monitor data in 5 samples");
	CHECK_STR_CONTAINS(r.details[0].message, "banner");
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
	/* clocks that never move; a DSQ depth over the ceiling */
	mon = new_mon(2, &(struct kt_assert){0});
	for (int i = 0; i < 3; i++)
		add(mon, 2, 100 * i, NULL, NULL, (uint64_t[]){7, 7}, NULL);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(kt_mon_verdict_line(mon), "rq clocks never moved");
	kt_mon_free(mon);
	mon = new_mon(2, &(struct kt_assert){0});
	add(mon, 2, 0, NULL, (uint32_t[]){0, 10001}, NULL, NULL);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(kt_mon_verdict_line(mon), "not yet initialized");
	kt_mon_free(mon);
	free(im.ram);
}

struct alerts {
	int n;
	struct kt_mon_alert last;
};

static void on_alert(void *ctx, const struct kt_mon_alert *a)
{
	struct alerts *al = ctx;

	al->n++;
	al->last = *a;
}

UNIT_TEST(mon_sustained_thresholds)
{
	struct kt_assert a = {.sustained_samples = KT_SOME_U64(3),
			      .max_local_dsq_depth = KT_SOME_U64(10)};
	struct kt_assert_result r = {0};
	struct alerts al = {0};
	struct kt_mon *mon = new_mon(2, &a);

	/* DSQ depth 11 on cpu1 twice, a break, then three times: fails at 3 */
	kt_mon_on_alert(mon, 2, on_alert, &al);
	add(mon, 2, 0, NULL, (uint32_t[]){0, 11}, NULL, NULL);
	add(mon, 2, 100, NULL, (uint32_t[]){0, 11}, NULL, NULL);
	CHECK_INT_EQ(al.n, 1); /* the alert fires at 2, before the violation */
	CHECK_INT_EQ(al.last.kind, KT_MON_ALERT_DSQ);
	CHECK_INT_EQ(al.last.cpu, 1);
	CHECK(kt_mon_alerted(mon));
	add(mon, 2, 200, NULL, (uint32_t[]){0, 5}, NULL, NULL);
	kt_assert_result_pass(&r);
	add(mon, 2, 300, NULL, (uint32_t[]){0, 12}, NULL, NULL);
	add(mon, 2, 400, NULL, (uint32_t[]){0, 13}, NULL, NULL);
	CHECK_INT_EQ(al.n, 1); /* once per kind */
	add(mon, 2, 500, NULL, (uint32_t[]){0, 14}, NULL, NULL);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_FAIL);
	CHECK_INT_EQ(r.n_details, 1);
	CHECK_STR_EQ(r.details[0].message, "local DSQ depth 14 on cpu1 exceeded threshold 10 for "
					   "3 consecutive samples (ending at sample 5)");
	CHECK_STR_EQ(kt_mon_verdict_line(mon), "monitor FAILED: 1 violation(s)");
	kt_assert_result_clear(&r);
	kt_mon_free(mon);

	/* imbalance 6/1 for 3 samples; 2 samples is not enough */
	mon = new_mon(2, &a);
	add(mon, 2, 0, (uint32_t[]){6, 1}, NULL, NULL, NULL);
	add(mon, 2, 100, (uint32_t[]){6, 1}, NULL, NULL, NULL);
	add(mon, 2, 200, (uint32_t[]){1, 1}, NULL, NULL, NULL);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);
	mon = new_mon(2, &a);
	for (int i = 0; i < 3; i++)
		add(mon, 2, 100 * i, (uint32_t[]){6, 0}, NULL, NULL, NULL);
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(r.details[0].message, "imbalance ratio 6.0 exceeded threshold 4.0 for 3 "
					   "consecutive samples (ending at sample 2)");
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
}

UNIT_TEST(mon_stall_and_preemption)
{
	struct kt_assert a = {.sustained_samples = KT_SOME_U64(3)};
	struct kt_assert_result r = {0};
	struct alerts al = {0};
	struct kt_mon *mon = new_mon(2, &a);
	uint64_t t;

	/* cpu0's clock stops at 5000 with a task runnable for 4 samples (3 stuck pairs) */
	kt_mon_on_alert(mon, 1, on_alert, &al);
	add(mon, 2, 0, NULL, NULL, (uint64_t[]){4000, 1}, (int64_t[]){0, 0});
	for (t = 1; t <= 4; t++)
		add(mon, 2, 100 * t, NULL, NULL, (uint64_t[]){5000, 1 + t},
		    (int64_t[]){(int64_t)t * 90000000, (int64_t)t * 90000000});
	CHECK_INT_EQ(al.n, 1);
	CHECK_INT_EQ(al.last.kind, KT_MON_ALERT_STALL);
	CHECK_INT_EQ(al.last.cpu, 0);
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(r.details[0].message, "rq_clock stall on cpu0 for 3 consecutive samples "
					   "(ending at sample 4, clock=5000)");
	{
		json_t *j = kt_mon_to_json(mon);

		CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(j, "summary"),
								"stuck_count")),
			     3);
		json_decref(j);
	}
	kt_assert_result_clear(&r);
	kt_mon_free(mon);

	/* same clocks, but the host did not run the vCPU (1 ms of CPU time per 100 ms) */
	mon = new_mon(2, &a);
	kt_mon_set_hz(mon, 1000);
	add(mon, 2, 0, NULL, NULL, (uint64_t[]){4000, 1}, (int64_t[]){0, 0});
	for (t = 1; t <= 4; t++)
		add(mon, 2, 100 * t, NULL, NULL, (uint64_t[]){5000, 1 + t},
		    (int64_t[]){(int64_t)t * 1000000, (int64_t)t * 90000000});
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);

	/* an idle CPU (nothing runnable) with a stopped clock is not stuck */
	mon = new_mon(2, &a);
	for (t = 0; t <= 4; t++)
		add(mon, 2, 100 * t, (uint32_t[]){0, 1}, NULL, (uint64_t[]){5000, 1 + t}, NULL);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);

	/* fail_on_stall=false: recorded, not a violation */
	a.fail_on_stall = KT_SOME_BOOL(false);
	mon = new_mon(2, &a);
	for (t = 0; t <= 4; t++)
		add(mon, 2, 100 * t, NULL, NULL, (uint64_t[]){5000, 1 + t}, NULL);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);
}

UNIT_TEST(mon_event_rates)
{
	struct kt_assert a = {.sustained_samples = KT_SOME_U64(2)};
	struct kt_assert_result r = {0};
	struct kt_mon *mon = new_mon(1, &a);
	struct kt_mon_cpu cpu[1] = {{.nr_running = 1}};
	struct kt_mon_sample s = {.valid = true, .have_events = true, .cpu = cpu};

	/* keep_last +50 per 100 ms = 500/s > 100/s, for 2 intervals */
	for (int i = 0; i < 3; i++) {
		s.t_ms = 100 * (uint64_t)i;
		cpu[0].rq_clock = 1 + (uint64_t)i;
		s.ev_keep_last = 50 * i;
		s.ev_fallback = i; /* 10/s: fine */
		kt_mon_add(mon, &s);
	}
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_FAIL);
	CHECK_INT_EQ(r.n_details, 1);
	CHECK_STR_EQ(r.details[0].message, "keep_last rate 500.0/s exceeded threshold 100.0/s "
					   "for 2 consecutive intervals (ending at sample 2)");
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
}

/*
 * sched_ext event counters in the 6.18 layout (scx_root -> scx_sched.pcpu
 * -> per-CPU scx_sched_pcpu.event_stats): the real 6.12 BTF has none, so
 * the three structs are added to it with libbpf, as a newer kernel's BTF
 * would have them.
 */
UNIT_TEST(mon_event_counters_6_18_layout)
{
	size_t len = 0;
	void *raw = gk_img_btf(&len);
	struct btf *btf = btf__new(raw, (uint32_t)len);
	int s64, ev, pcpu, sched, ptr;
	const void *out;
	uint32_t out_len;
	struct kt_gk_sym syms[sizeof(gk_img_syms) / sizeof(gk_img_syms[0]) + 1];
	struct kt_gk *gk = NULL;
	struct kt_mon *mon;
	struct kt_mon_limits lim = kt_mon_limits_from(&(struct kt_assert){0});
	struct gk_img im = {calloc(1, RAM), RAM};
	struct kt_gk_mem m = gk_img_mem(&im);
	uint64_t percpu_pa[2] = {0x8000000, 0x8100000}, po = 0xffff888000000000ull;
	uint64_t sched_pa = 0x8800000, pcpu_off = 0x3000, root, p;
	char *why = NULL;

	CHECK(btf);
	s64 = btf__add_int(btf, "kt_s64", 8, BTF_INT_SIGNED);
	ev = btf__add_struct(btf, "scx_event_stats", 24);
	btf__add_field(btf, "SCX_EV_SELECT_CPU_FALLBACK", s64, 0, 0);
	btf__add_field(btf, "SCX_EV_DISPATCH_LOCAL_DSQ_OFFLINE", s64, 64, 0);
	btf__add_field(btf, "SCX_EV_DISPATCH_KEEP_LAST", s64, 128, 0);
	pcpu = btf__add_struct(btf, "scx_sched_pcpu", 40);
	btf__add_field(btf, "pad", s64, 0, 0);
	btf__add_field(btf, "event_stats", ev, 64, 0);
	ptr = btf__add_ptr(btf, pcpu);
	sched = btf__add_struct(btf, "scx_sched", 24);
	btf__add_field(btf, "ops", s64, 0, 0);
	btf__add_field(btf, "pcpu", ptr, 128, 0);
	CHECK(s64 > 0 && ev > 0 && pcpu > 0 && ptr > 0 && sched > 0);
	out = btf__raw_data(btf, &out_len);
	memcpy(syms, gk_img_syms, sizeof(gk_img_syms));
	syms[sizeof(gk_img_syms) / sizeof(gk_img_syms[0])] =
	    (struct kt_gk_sym){"scx_root", 0xffffffff82400000ull};
	CHECK_INT_EQ(kt_gk_open_parts(out, out_len, syms, sizeof(syms) / sizeof(syms[0]),
				      gk_img_banner, sizeof(gk_img_banner) - 1, &gk, &why),
		     0);
	mon = kt_mon_new(gk, 2, &lim, &why);
	CHECK(mon);
	gk_img_boot(&im, gk, 0, 0, po, false, percpu_pa, 2);
	/* a clock that moves, so samples are valid */
	kt_mon_tick(mon, &m, 0, NULL);
	CHECK(kt_mon_sample_at(mon, 0)->valid);
	CHECK(!kt_mon_sample_at(mon, 0)->have_events); /* scx_root NULL: no scheduler */
	root = po + sched_pa;
	gk_img_put(&im, 0xffffffff82400000ull, 0, 0, &root, 8);
	p = pcpu_off; /* a per-CPU pointer: + __per_cpu_offset[c] */
	memcpy(im.ram + sched_pa + 16, &p, 8);
	for (unsigned c = 0; c < 2; c++) {
		int64_t fb = 5 + c, kl = 100 * (c + 1);
		uint64_t at = percpu_pa[c] + pcpu_off + 8;

		memcpy(im.ram + at, &fb, 8);
		memcpy(im.ram + at + 16, &kl, 8);
	}
	kt_mon_tick(mon, &m, 100, NULL);
	CHECK(kt_mon_sample_at(mon, 1)->have_events);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 1)->ev_fallback, 11);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 1)->ev_keep_last, 300);
	kt_mon_free(mon);
	btf__free(btf);
	free(raw);
	free(im.ram);
}

/* ---- runnable wait: rq->scx.runnable_list on the synthetic image ---------------- */

struct rl {
	struct gk_img im;
	struct kt_gk_mem m;
	uint32_t o_head, o_node, o_at, o_pid, o_comm;
	uint64_t po;
};

#define RL_RQ(c) (0x8000000ull + 0x100000ull * (c) + 0x2e680ull)
#define RL_TASK(i) (0x9000000ull + 0x10000ull * (i))

static void rl_put64(struct rl *x, uint64_t pa, uint64_t v)
{
	memcpy(x->im.ram + pa, &v, 8);
}

/* cpu c's runnable_list: the tasks (indexes) in list order; none: an empty list. */
static void rl_list(struct rl *x, unsigned c, const unsigned *task, unsigned n)
{
	uint64_t head = x->po + RL_RQ(c) + x->o_head, prev = head;

	rl_put64(x, RL_RQ(c) + x->o_head, n ? x->po + RL_TASK(task[0]) + x->o_node : head);
	for (unsigned i = 0; i < n; i++) {
		uint64_t node = x->po + RL_TASK(task[i]) + x->o_node;

		rl_put64(x, RL_TASK(task[i]) + x->o_node,
			 i + 1 < n ? x->po + RL_TASK(task[i + 1]) + x->o_node : head);
		rl_put64(x, RL_TASK(task[i]) + x->o_node + 8, prev);
		prev = node;
	}
	rl_put64(x, RL_RQ(c) + x->o_head + 8, prev);
}

static void rl_task(struct rl *x, unsigned i, int32_t pid, const char *comm, uint64_t at)
{
	memcpy(x->im.ram + RL_TASK(i) + x->o_pid, &pid, 4);
	memset(x->im.ram + RL_TASK(i) + x->o_comm, 0, 16);
	memcpy(x->im.ram + RL_TASK(i) + x->o_comm, comm, strlen(comm));
	rl_put64(x, RL_TASK(i) + x->o_at, at);
}

/* One sample at t ms with jiffies j and watchdog timeout wd (jiffies); clocks move. */
static void rl_tick(struct rl *x, struct kt_mon *mon, uint64_t t, uint64_t j, uint64_t wd)
{
	uint32_t o_clk, sz;

	CHECK_INT_EQ(kt_gk_member(kt_mon_gk(mon), "rq", "clock", &o_clk, &sz), 0);
	for (unsigned c = 0; c < 2; c++)
		rl_put64(x, RL_RQ(c) + o_clk, 1000000ull * (t + 1) + c);
	gk_img_put(&x->im, gk_img_sym("jiffies_64"), 0, 0, &j, 8);
	gk_img_put(&x->im, gk_img_sym("scx_watchdog_timeout"), 0, 0, &wd, 8);
	kt_mon_tick(mon, &x->m, t, NULL);
}

static struct kt_mon *rl_new(struct rl *x, const struct kt_assert *a)
{
	struct kt_mon *mon = new_mon(2, a);
	struct kt_gk *gk = kt_mon_gk(mon);
	uint64_t percpu_pa[2] = {0x8000000, 0x8100000};
	uint32_t sz;

	x->im = (struct gk_img){calloc(1, RAM), RAM};
	x->m = gk_img_mem(&x->im);
	x->po = 0xffff888000000000ull;
	CHECK_INT_EQ(kt_gk_member(gk, "rq", "scx.runnable_list", &x->o_head, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(gk, "task_struct", "scx.runnable_node", &x->o_node, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(gk, "task_struct", "scx.runnable_at", &x->o_at, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(gk, "task_struct", "pid", &x->o_pid, &sz), 0);
	CHECK_INT_EQ(kt_gk_member(gk, "task_struct", "comm", &x->o_comm, &sz), 0);
	gk_img_boot(&x->im, gk, 0, 0, x->po, false, percpu_pa, 2);
	kt_mon_set_hz(mon, 250);
	rl_list(x, 0, NULL, 0);
	rl_list(x, 1, NULL, 0);
	return mon;
}

UNIT_TEST(mon_runnable_wait_synthetic_image)
{
	struct kt_assert a = {0};
	struct kt_assert_result r = {0};
	struct alerts al = {0};
	struct rl x;
	struct kt_mon *mon = rl_new(&x, &a);
	const struct kt_mon_sample *s;
	uint64_t j = 1000000, wd = 500; /* 2 s at HZ 250: the limit is 1000 ms */
	json_t *js, *mw;
	char *rep;

	kt_mon_on_alert(mon, 3, on_alert, &al);
	/* no scheduler yet (timeout 0): empty lists wait 0 */
	rl_tick(&x, mon, 0, j, 0);
	s = kt_mon_sample_at(mon, 0);
	CHECK(s->valid);
	CHECK_INT_EQ(s->wd_timeout_ms, 0);
	CHECK_INT_EQ(s->cpu[0].wait_ms, 0);
	CHECK_INT_EQ(s->cpu[1].wait_ms, 0);
	/*
	 * cpu1: a task that just became runnable, then one that has waited
	 * 200 jiffies (800 ms) and sits behind it (a migrated task keeps its
	 * runnable_at): the longest wait is the second one's.
	 */
	rl_task(&x, 1, 41, "worker", j - 10);
	rl_task(&x, 2, 42, "stalled", j - 200);
	rl_list(&x, 1, (unsigned[]){1, 2}, 2);
	rl_tick(&x, mon, 100, j, wd);
	s = kt_mon_sample_at(mon, 1);
	CHECK_INT_EQ(s->wd_timeout_ms, 2000);
	CHECK_INT_EQ(s->cpu[0].wait_ms, 0);
	CHECK_INT_EQ(s->cpu[1].wait_ms, 800);
	CHECK_INT_EQ(s->cpu[1].wait_pid, 42);
	CHECK_STR_EQ(s->cpu[1].wait_comm, "stalled");
	CHECK_INT_EQ(al.n, 0);
	/* it keeps waiting: over 1000 ms from +400 ms; the alert after 3 samples */
	for (unsigned i = 2; i <= 8; i++) {
		j += 25;
		rl_tick(&x, mon, 100 * i, j, wd);
		if (i == 4)
			CHECK_INT_EQ(al.n, 0);
	}
	CHECK_INT_EQ(al.n, 1);
	CHECK_INT_EQ(al.last.kind, KT_MON_ALERT_WAIT);
	CHECK_INT_EQ(al.last.cpu, 1);
	CHECK_INT_EQ(al.last.pid, 42);
	CHECK_STR_EQ(al.last.comm, "stalled");
	CHECK_INT_EQ(al.last.limit_ms, 1000);
	CHECK_INT_EQ(al.last.sample, 6); /* over at samples 4, 5, 6 */
	CHECK_DBL_NEAR(al.last.value, 1300, 0.5);
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_FAIL);
	CHECK_INT_EQ(r.n_details, 1);
	CHECK_STR_EQ(r.details[0].message,
		     "runnable task stalled[42] on cpu1 waited 1500 ms without running, over 1000 "
		     "ms (half the sched_ext watchdog timeout), for 5 consecutive samples (ending "
		     "at sample 8)");
	js = kt_mon_to_json(mon);
	mw = json_object_get(json_object_get(js, "summary"), "max_runnable_wait");
	CHECK_INT_EQ(json_integer_value(json_object_get(mw, "wait_ms")), 1500);
	CHECK_INT_EQ(json_integer_value(json_object_get(mw, "pid")), 42);
	CHECK_STR_EQ(json_string_value(json_object_get(mw, "comm")), "stalled");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(js, "summary"),
							"watchdog_timeout_ms")),
		     2000);
	/* the per-CPU row's 6th field */
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(js, "cpu_fields"), 5)),
		     "runnable_wait_ms");
	CHECK_INT_EQ(json_integer_value(json_array_get(
			 json_array_get(json_object_get(json_array_get(json_object_get(js, "samples"),
									1),
							"cpus"),
					1),
			 5)),
		     800);
	json_decref(js);
	rep = kt_mon_report(mon);
	CHECK_STR_CONTAINS(rep, "runnable wait: max 1500 ms (cpu1 stalled[42] at sample 8)\n");
	CHECK_STR_CONTAINS(rep, "sched_ext watchdog timeout: 2000 ms (runnable wait limit 1000 ms)");
	free(rep);
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
	free(x.im.ram);
}

UNIT_TEST(mon_runnable_wait_healthy_and_garbage)
{
	struct kt_assert a = {.sustained_samples = KT_SOME_U64(2)};
	struct kt_assert_result r = {0};
	struct alerts al = {0};
	struct rl x;
	struct kt_mon *mon = rl_new(&x, &a);
	uint64_t j = 5000, wd = 500;

	/* tasks come and go with short waits: no violation however long it runs */
	kt_mon_on_alert(mon, 1, on_alert, &al);
	for (unsigned i = 0; i < 20; i++) {
		rl_task(&x, 1 + i % 3, 100 + (int)i, "w", j - (i % 5) * 20);
		rl_list(&x, i % 2, (unsigned[]){1 + i % 3}, 1);
		rl_list(&x, 1 - i % 2, NULL, 0);
		rl_tick(&x, mon, 100 * i, j, wd);
		j += 25;
	}
	CHECK_INT_EQ(al.n, 0);
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_PASS);
	CHECK_INT_EQ(r.n_details, 0);
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
	free(x.im.ram);

	/* a long wait while no scheduler is enabled (timeout 0) is no violation */
	mon = rl_new(&x, &a);
	rl_task(&x, 1, 7, "old", 1);
	rl_list(&x, 0, (unsigned[]){1}, 1);
	for (unsigned i = 0; i < 4; i++)
		rl_tick(&x, mon, 100 * i, j + i, 0);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 3)->cpu[0].wait_ms, (int64_t)(j + 3 - 1) * 4);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);
	free(x.im.ram);

	/* torn and garbage lists: the wait is unknown, never a crash or a false wait */
	mon = rl_new(&x, &a);
	rl_task(&x, 1, 7, "a", j - 1);
	rl_task(&x, 2, 8, "b", j - 2);
	/* a node just removed (points to itself) */
	rl_list(&x, 0, (unsigned[]){1, 2}, 2);
	rl_put64(&x, RL_TASK(2) + x.o_node, x.po + RL_TASK(2) + x.o_node);
	rl_tick(&x, mon, 0, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 0)->cpu[0].wait_ms, -1);
	CHECK(kt_mon_sample_at(mon, 0)->valid); /* the rest of the sample stands */
	/* a cycle that never returns to the head: bounded */
	rl_put64(&x, RL_TASK(2) + x.o_node, x.po + RL_TASK(1) + x.o_node);
	rl_tick(&x, mon, 100, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 1)->cpu[0].wait_ms, -1);
	/* a pointer outside guest RAM, a NULL, a misaligned one */
	rl_put64(&x, RL_TASK(2) + x.o_node, x.po + RAM + 0x1000);
	rl_tick(&x, mon, 200, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 2)->cpu[0].wait_ms, -1);
	rl_put64(&x, RL_TASK(2) + x.o_node, 0);
	rl_tick(&x, mon, 300, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 3)->cpu[0].wait_ms, -1);
	rl_put64(&x, RL_TASK(2) + x.o_node, x.po + RL_TASK(1) + x.o_node + 3);
	rl_tick(&x, mon, 400, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 4)->cpu[0].wait_ms, -1);
	/* runnable_at a day in the past or far in the future: garbage */
	rl_list(&x, 0, (unsigned[]){1}, 1);
	rl_task(&x, 1, 7, "a", j - 86401ull * 250);
	rl_tick(&x, mon, 500, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 5)->cpu[0].wait_ms, -1);
	rl_task(&x, 1, 7, "a", j + 1000);
	rl_tick(&x, mon, 600, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 6)->cpu[0].wait_ms, -1);
	/* slightly ahead (a racing update): no wait */
	rl_task(&x, 1, 7, "a\x01", j + 2);
	rl_tick(&x, mon, 700, j, wd);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 7)->cpu[0].wait_ms, 0);
	/* an implausible watchdog timeout is unknown */
	rl_tick(&x, mon, 800, j, ~0ull);
	CHECK_INT_EQ(kt_mon_sample_at(mon, 8)->wd_timeout_ms, -1);
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);
	free(x.im.ram);
}

/* An unknown wait between two over the limit neither breaks nor extends the run. */
UNIT_TEST(mon_runnable_wait_unknown_keeps_run)
{
	struct kt_assert a = {.sustained_samples = KT_SOME_U64(3)};
	struct kt_assert_result r = {0};
	struct kt_mon *mon = new_mon(1, &a);
	int64_t waits[] = {900, -1, 1200, -1, 1300};

	for (unsigned i = 0; i < 5; i++) {
		struct kt_mon_cpu cpu[1] = {{.nr_running = 1, .rq_clock = 1000 * (i + 1),
					     .vcpu_ns = -1, .wait_ms = waits[i], .wait_pid = 9,
					     .wait_comm = "t"}};
		struct kt_mon_sample s = {.t_ms = 100 * i, .valid = true, .scx_state = -1,
					  .scx_exit_kind = -1, .wd_timeout_ms = 1000, .cpu = cpu};

		kt_mon_add(mon, &s);
	}
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_mon_judge(mon, &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(r.details[0].message,
		     "runnable task t[9] on cpu0 waited 1300 ms without running, over 500 ms "
		     "(half the sched_ext watchdog timeout), for 3 consecutive samples (ending at "
		     "sample 4)");
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
	/* fail_on_stall = false: recorded, not a violation */
	a.fail_on_stall = KT_SOME_BOOL(false);
	mon = new_mon(1, &a);
	for (unsigned i = 0; i < 5; i++) {
		struct kt_mon_cpu cpu[1] = {{.nr_running = 1, .rq_clock = 1000 * (i + 1),
					     .vcpu_ns = -1, .wait_ms = 2000}};
		struct kt_mon_sample s = {.t_ms = 100 * i, .valid = true, .scx_state = -1,
					  .scx_exit_kind = -1, .wd_timeout_ms = 1000, .cpu = cpu};

		kt_mon_add(mon, &s);
	}
	CHECK_INT_EQ(kt_mon_judge(mon, NULL), KT_VERDICT_PASS);
	kt_mon_free(mon);
}

/*
 * A run with a sched_ext scheduler alerts only once the scheduler is
 * attached: an imbalance building while it is still loading (SysRq-D would
 * dump nothing) is held back, not spent, and alerts at the first sample
 * after the scheduler attached if it lasts that long.
 */
UNIT_TEST(mon_alert_waits_for_scx)
{
	struct kt_assert a = {.max_imbalance_ratio = KT_SOME_F64(1.0)};
	struct alerts al = {0};
	struct kt_mon *mon = new_mon(2, &a);
	struct kt_mon_cpu cpu[2] = {{.nr_running = 3}, {.nr_running = 0}};
	struct kt_mon_sample s = {.valid = true, .scx_exit_kind = -1, .cpu = cpu};

	kt_mon_on_alert(mon, 3, on_alert, &al);
	kt_mon_alert_needs_scx(mon, true);
	for (int i = 0; i < 5; i++) {
		s.t_ms = 100 * (uint64_t)i;
		s.scx_state = 3; /* SCX_OPS_DISABLED: nothing attached yet */
		cpu[0].rq_clock = cpu[1].rq_clock = 1000000 * s.t_ms;
		kt_mon_add(mon, &s);
	}
	CHECK_INT_EQ(al.n, 0);
	s.t_ms = 500;
	s.scx_state = KT_MON_SCX_ENABLED;
	kt_mon_add(mon, &s);
	CHECK_INT_EQ(al.n, 1);
	CHECK_INT_EQ(al.last.kind, KT_MON_ALERT_IMBALANCE);
	CHECK_INT_EQ(al.last.run, 6);
	kt_mon_free(mon);

	/* without a sched_ext scheduler (EEVDF) the state does not matter */
	al.n = 0;
	mon = new_mon(2, &a);
	kt_mon_on_alert(mon, 3, on_alert, &al);
	for (int i = 0; i < 3; i++) {
		s.t_ms = 100 * (uint64_t)i;
		s.scx_state = 3;
		kt_mon_add(mon, &s);
	}
	CHECK_INT_EQ(al.n, 1);
	kt_mon_free(mon);
}
