// SPDX-License-Identifier: GPL-2.0
/* BPF maps from the host: temporal assertions (bpfmap/series.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfmap/series.h"
#include "check/check.h"
#include "unit.h"
#include "util/util.h"

/* A series "x" from values at 100 ms steps (NAN = could not be read). */
static void mk(struct kt_series *s, const double *v, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->label = kt_strdup("x");
	for (size_t i = 0; i < n; i++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "periodic_%03u", (unsigned)i);
		if (isnan(v[i]))
			kt_series_add(s, tag, 100 * (i + 1), 0, "map gone");
		else
			kt_series_add(s, tag, 100 * (i + 1), v[i], NULL);
	}
}

/* Verdict of pattern t over v (result starts as a pass), details kept in *r. */
static enum kt_verdict run(const struct ktstr_temporal *t, const double *v, size_t n,
			   struct kt_assert_result *r)
{
	struct kt_series s;

	memset(r, 0, sizeof(*r));
	kt_assert_result_pass(r);
	mk(&s, v, n);
	kt_temporal_eval(t, &s, r);
	kt_series_free(&s);
	return kt_assert_result_verdict(r);
}

static const char *msg(const struct kt_assert_result *r, size_t i)
{
	return i < r->n_details ? r->details[i].message : "(no detail)";
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

UNIT_TEST(temporal_nondecreasing)
{
	struct ktstr_temporal t = KTSTR_NONDECREASING(".bss", "x");
	struct ktstr_temporal st = KTSTR_STRICTLY_INCREASING(".bss", "x");
	struct kt_assert_result r;
	double up[] = {1, 2, 2, 5};
	double down[] = {1, 200, 100, 300};
	double gap[] = {1, NAN, 0.5, 3};
	double one[] = {7};
	struct kt_series s = {.label = kt_strdup("x")};

	CHECK_INT_EQ(run(&t, up, N(up), &r), KT_VERDICT_PASS);
	CHECK_INT_EQ(r.n_details, 0);
	kt_assert_result_clear(&r);
	/* equal neighbours break strictly increasing only */
	CHECK_INT_EQ(run(&st, up, N(up), &r), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(msg(&r, 0), "x (strictly_increasing): no increase at sample "
				       "periodic_002 (+300ms): value 2 after prior value 2 at "
				       "sample periodic_001 (+200ms)");
	kt_assert_result_clear(&r);

	CHECK_INT_EQ(run(&t, down, N(down), &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(msg(&r, 0), "x (nondecreasing): regression at sample periodic_002 (+300ms): "
				 "value 100 after prior value 200 at sample periodic_001 (+200ms)");
	CHECK_INT_EQ(r.details[0].kind, KT_DETAIL_TEMPORAL);
	kt_assert_result_clear(&r);

	/* an unreadable sample: a note, and its neighbours are still compared */
	CHECK_INT_EQ(run(&t, gap, N(gap), &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(msg(&r, 0), "x (nondecreasing): skipped 1 sample(s) that could not be read: "
				 "periodic_001(+200ms): map gone");
	CHECK_STR_CONTAINS(msg(&r, 1), "regression at sample periodic_002 (+300ms): value 0.5 "
				       "after prior value 1 at sample periodic_000");
	kt_assert_result_clear(&r);

	/* fewer than two usable samples: cannot judge */
	CHECK_INT_EQ(run(&t, one, N(one), &r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_EQ(msg(&r, 0), "x (nondecreasing): 1 usable sample(s), need 2 to judge");
	CHECK(r.details[0].inconclusive);
	kt_assert_result_clear(&r);

	/* 64-bit counters compare exactly (long double; a double would round both to 2^64) */
	kt_assert_result_pass(&r);
	kt_series_add(&s, "periodic_000", 100, (long double)(UINT64_MAX - 1), NULL);
	kt_series_add(&s, "periodic_001", 200, (long double)UINT64_MAX, NULL);
	kt_temporal_eval(&st, &s, &r);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_PASS);
	kt_series_free(&s);
	kt_assert_result_clear(&r);
}

UNIT_TEST(temporal_placeholders_never_count)
{
	struct ktstr_temporal t = KTSTR_NONDECREASING(".bss", "x");
	struct kt_assert_result r = {0};
	struct kt_series s = {.label = kt_strdup("x")};

	kt_assert_result_pass(&r);
	kt_series_add(&s, "periodic_000", 100, 5, NULL);
	kt_series_add_placeholder(&s, "periodic_001", 200); /* would be a 0 "regression" */
	kt_series_add(&s, "periodic_002", 300, 6, NULL);
	kt_temporal_eval(&t, &s, &r);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_PASS);
	CHECK_INT_EQ(r.n_details, 0);
	kt_series_free(&s);
	kt_assert_result_clear(&r);
}

UNIT_TEST(temporal_rate_within)
{
	struct ktstr_temporal t = KTSTR_RATE_WITHIN(".bss", "x", 10, 20);
	struct ktstr_temporal bad = KTSTR_RATE_WITHIN(".bss", "x", 5, 1);
	struct kt_assert_result r;
	double ok[] = {0, 1, 2.5, 4}; /* 10, 15, 15 per second */
	double fast[] = {0, 1, 4, 5, 9};
	double gaps[] = {0, NAN, 5, NAN};
	struct kt_series s = {.label = kt_strdup("x")};

	CHECK_INT_EQ(run(&t, ok, N(ok), &r), KT_VERDICT_PASS);
	kt_assert_result_clear(&r);
	CHECK_INT_EQ(run(&t, fast, N(fast), &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(msg(&r, 0), "x (rate_within): rate 30/s between sample periodic_001 "
				 "(+200ms) and periodic_002 (+300ms) is outside [10, 20]/s");
	CHECK_STR_EQ(msg(&r, 1), "x (rate_within): 2 of 4 intervals outside [10, 20]/s");
	kt_assert_result_clear(&r);
	/* no rate is computed across an unreadable sample: nothing left to judge */
	CHECK_INT_EQ(run(&t, gaps, N(gaps), &r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(msg(&r, 0), "skipped 2 sample(s)");
	CHECK_STR_CONTAINS(msg(&r, 1), "need 1 to judge");
	kt_assert_result_clear(&r);
	/* caller error */
	CHECK_INT_EQ(run(&bad, ok, N(ok), &r), KT_VERDICT_FAIL);
	CHECK_STR_EQ(msg(&r, 0), "x (rate_within): caller error: bounds [5, 1] are not an interval");
	kt_assert_result_clear(&r);
	/* two samples at the same time: that pair is undecided, named */
	memset(&r, 0, sizeof(r));
	kt_assert_result_pass(&r);
	kt_series_add(&s, "periodic_000", 100, 0, NULL);
	kt_series_add(&s, "periodic_001", 100, 1, NULL);
	kt_series_add(&s, "periodic_002", 200, 2.5, NULL);
	kt_temporal_eval(&t, &s, &r);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_EQ(msg(&r, 0), "x (rate_within): samples periodic_000 and periodic_001 have no "
				 "time between them (+100ms, +100ms): no rate");
	kt_series_free(&s);
	kt_assert_result_clear(&r);
}

UNIT_TEST(temporal_steady_within)
{
	/* warm-up 250 ms: samples at 300.. ms are judged */
	struct ktstr_temporal t = KTSTR_STEADY_WITHIN(".bss", "x", 250, 0.1);
	struct ktstr_temporal neg = KTSTR_STEADY_WITHIN(".bss", "x", 0, -1);
	struct kt_assert_result r;
	double ok[] = {0, 1000, 100, 104, 96, 100};
	double out[] = {100, 100, 100, 100, 130};
	double warm[] = {1, 2, 3};

	CHECK_INT_EQ(run(&t, ok, N(ok), &r), KT_VERDICT_PASS);
	kt_assert_result_clear(&r);
	CHECK_INT_EQ(run(&t, out, N(out), &r), KT_VERDICT_FAIL);
	/* mean of 100,100,130 = 110: band [99, 121] */
	CHECK_STR_EQ(msg(&r, 0), "x (steady_within): sample periodic_004 (+500ms) value 130 is "
				 "outside [99, 121] (mean 110 +- 10% after 250ms)");
	kt_assert_result_clear(&r);
	CHECK_INT_EQ(run(&t, warm, N(warm), &r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_EQ(msg(&r, 0), "x (steady_within): 1 usable sample(s) after the 250ms warm-up, "
				 "need 2 to judge");
	kt_assert_result_clear(&r);
	CHECK_INT_EQ(run(&neg, ok, N(ok), &r), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(msg(&r, 0), "caller error");
	kt_assert_result_clear(&r);
}

UNIT_TEST(temporal_converges_to)
{
	struct ktstr_temporal t = KTSTR_CONVERGES_TO(".bss", "x", 100, 5, 0);
	struct ktstr_temporal dl = KTSTR_CONVERGES_TO(".bss", "x", 100, 5, 500);
	struct kt_assert_result r;
	double ok[] = {10, 50, 97, 101, 104, 80};
	double broken[] = {10, 99, 100, NAN, 101, 50};
	double late[] = {10, 20, 30, 40, 50, 100, 100, 100};
	double few[] = {100, NAN, 100};

	CHECK_INT_EQ(run(&t, ok, N(ok), &r), KT_VERDICT_PASS);
	kt_assert_result_clear(&r);
	/* an unreadable sample breaks a run in progress */
	CHECK_INT_EQ(run(&t, broken, N(broken), &r), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(msg(&r, 0), "skipped 1 sample(s)");
	CHECK_STR_EQ(msg(&r, 1), "x (converges_to): no 3 consecutive samples within 100 +- 5 by "
				 "the last sample (last value 50 at sample periodic_005 (+600ms))");
	kt_assert_result_clear(&r);
	/* converging after the deadline is a failure */
	CHECK_INT_EQ(run(&t, late, N(late), &r), KT_VERDICT_PASS);
	kt_assert_result_clear(&r);
	CHECK_INT_EQ(run(&dl, late, N(late), &r), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(msg(&r, 0), "by +500ms (last value 50 at sample periodic_004 (+500ms))");
	kt_assert_result_clear(&r);
	CHECK_INT_EQ(run(&t, few, N(few), &r), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(msg(&r, 1), "2 usable sample(s) by the last sample, need 3 to judge");
	kt_assert_result_clear(&r);
}

/* ---- declarations (bpfmap/validate.c) ----------------------------------------- */

#include "bpfmap/bpfmap.h"

UNIT_TEST(bpfmap_validate_declarations)
{
	struct ktstr_test t = {.name = "t"};
	char *why = NULL;

	/* nothing asked: fine */
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), 0);
	CHECK(!kt_bpfmap_wanted(&t));

	t.num_snapshots = 4;
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "num_snapshots 4: nothing to capture (name the fields in .temporal)");
	free(why);
	t.temporal[0] = (struct ktstr_temporal)KTSTR_NONDECREASING(".bss", "nr_dispatched");
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), 0);
	CHECK(kt_bpfmap_wanted(&t));
	/* spacing: 0.8 * 1000 ms / 9 = 88 ms */
	t.num_snapshots = 8;
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 1, &why), -EINVAL);
	CHECK_STR_EQ(why, "num_snapshots 8 over 1 s puts captures 88 ms apart (at least 100 ms)");
	free(why);
	t.num_snapshots = 65;
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 100, &why), -EINVAL);
	CHECK_STR_CONTAINS(why, "num_snapshots 65: must be 0..64");
	free(why);
	t.num_snapshots = 1;
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_CONTAINS(why, "temporal assertions need num_snapshots >= 2");
	free(why);
	t.num_snapshots = 3;
	t.temporal[1] = (struct ktstr_temporal)KTSTR_RATE_WITHIN(".bss", "x", 3, 1);
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "temporal[1] (rate_within x): bounds [3, 1] are not an interval");
	free(why);
	t.temporal[1] = (struct ktstr_temporal){.kind = KTSTR_TEMPORAL_STEADY_WITHIN, .map = ".bss"};
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "temporal[1] (steady_within): needs .map and .field");
	free(why);
	memset(&t.temporal[1], 0, sizeof(t.temporal[1]));

	t.bpf_map_write = (struct ktstr_bpf_map_write){.map = ".bss", .field = "x", .size = 3};
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "bpf_map_write: size 3 (1, 2, 4 or 8)");
	free(why);
	t.bpf_map_write.size = 0;
	t.host_only = true;
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "num_snapshots needs a VM (the test is host_only)");
	free(why);
}

UNIT_TEST(bpfmap_capture_schedule)
{
	/* d = 10 s, N = 3: +3, +5, +7 s (10 % .. 90 % of the workload) */
	CHECK_INT_EQ(kt_bpfmap_boundary_ms(10, 3, 0), 3000);
	CHECK_INT_EQ(kt_bpfmap_boundary_ms(10, 3, 1), 5000);
	CHECK_INT_EQ(kt_bpfmap_boundary_ms(10, 3, 2), 7000);
	CHECK_INT_EQ(kt_bpfmap_boundary_ms(2, 3, 2), 1400);
	CHECK_INT_EQ(kt_bpfmap_boundary_ms(3, 1, 0), 1500);
}

/* ---- the map walk on a synthetic guest image (bpfmap/maps.c) --------------------- */

#include <bpf/btf.h>

#include "bpf_image.h"
#include "bpfmap/maps.h"

UNIT_TEST(bpfmap_walk_find_and_read)
{
	struct img x;
	struct kt_bpf_map maps[8], m;
	struct kt_bpf_field f;
	struct btf *btf = NULL;
	uint32_t btf_len;
	uint64_t val, v = 0;
	size_t n = 0;
	char *why = NULL;
	int16_t s = 0;

	CHECK_INT_EQ(img_setup(&x, &btf_len), 0);
	CHECK_INT_EQ(x.l.xa_chunk, 64);
	CHECK_INT_EQ(kt_bpf_maps_list(x.gk, &x.m, &x.l, maps, 8, &n, &why), 0);
	CHECK_INT_EQ(n, 3);
	CHECK_STR_EQ(maps[0].name, "scx_qmap.bss");
	CHECK_STR_EQ(maps[1].name, "scx_qmap.data");
	CHECK_STR_EQ(maps[2].name, "other.data");
	CHECK_INT_EQ(maps[0].value_size, 24);
	CHECK_INT_EQ(maps[2].type, 1);

	/* by suffix, exactly, ambiguous, missing */
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, ".bss", &m, &why), 0);
	CHECK_STR_EQ(m.name, "scx_qmap.bss");
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, "other.data", &m, &why), 0);
	CHECK_INT_EQ(m.type, 1);
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, ".data", &m, &why), -EEXIST);
	CHECK_STR_EQ(why, "several BPF maps end in '.data': scx_qmap.data, other.data");
	free(why);
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, ".rodata", &m, &why), -ENOENT);
	CHECK_STR_EQ(why, "no BPF map named or ending in '.rodata' (maps: scx_qmap.bss, "
			  "scx_qmap.data, other.data)");
	free(why);

	/* the map's own BTF, read out of the guest */
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, ".bss", &m, &why), 0);
	CHECK_INT_EQ(kt_bpf_map_btf(x.gk, &x.m, &x.l, &m, &btf, &why), 0);
	CHECK_INT_EQ(kt_bpf_value_field(btf, m.value_tid, "counter", &f, &why), 0);
	CHECK(f.off == 0 && f.size == 8 && f.is_int && !f.is_signed);
	CHECK_INT_EQ(kt_bpf_value_field(btf, m.value_tid, "neg", &f, &why), 0);
	CHECK(f.off == 12 && f.size == 2 && f.is_int && f.is_signed);
	CHECK_INT_EQ(kt_bpf_value_field(btf, m.value_tid, "pr.b", &f, &why), 0);
	CHECK(f.off == 20 && f.size == 4 && f.is_int);
	CHECK_INT_EQ(kt_bpf_value_field(btf, m.value_tid, "pr", &f, &why), 0);
	CHECK(f.off == 16 && f.size == 8 && !f.is_int);
	CHECK_INT_EQ(kt_bpf_value_field(btf, m.value_tid, "nope", &f, &why), -ENOENT);
	CHECK_STR_EQ(why, "no field 'nope' in the map's value (variables: counter, err_cnt, "
			  "neg, pr)");
	free(why);
	btf__free(btf);

	/* values */
	CHECK_INT_EQ(kt_bpf_array_value(&x.l, &m, &val, &why), 0);
	CHECK_INT_EQ(kt_gk_read(x.gk, &x.m, val, &v, 8), 0);
	CHECK_INT_EQ(v, 42);
	CHECK_INT_EQ(kt_gk_read(x.gk, &x.m, val + 12, &s, 2), 0);
	CHECK(kt_bpf_int_value(&s, 2, true) == -5.0L);
	CHECK(kt_bpf_int_value(&s, 2, false) == 65531.0L);
	/* a hash map's values are not read as an array */
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, "other.data", &m, &why), 0);
	CHECK_INT_EQ(kt_bpf_array_value(&x.l, &m, &val, &why), -EINVAL);
	CHECK_STR_CONTAINS(why, "BPF map other.data is of type 1");
	free(why);
	/* no BTF */
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, "scx_qmap.data", &m, &why), 0);
	CHECK_INT_EQ(kt_bpf_map_btf(x.gk, &x.m, &x.l, &m, &btf, &why), -ENOENT);
	CHECK_STR_EQ(why, "BPF map scx_qmap.data has no BTF for its value");
	free(why);
	img_free(&x);
}

/* Garbage in guest memory: no data, never a crash or a hang. */
UNIT_TEST(bpfmap_walk_garbage)
{
	struct img x;
	struct kt_bpf_map maps[8], m;
	struct btf *btf = NULL;
	uint32_t btf_len, big = 1u << 30;
	uint64_t root = IMG_ROOT, head, off_btf = IMG_BTF;
	size_t n = 9;
	char *why = NULL;
	uint32_t o, sz;

	CHECK_INT_EQ(img_setup(&x, &btf_len), 0);
	/* a node whose slot points back at itself: bounded by depth */
	slot(&x, root, 5, PO + root + 2);
	CHECK_INT_EQ(kt_bpf_maps_list(x.gk, &x.m, &x.l, maps, 8, &n, &why), 0);
	CHECK_INT_EQ(n, 3);
	/* the root node outside guest RAM: no maps, no crash */
	head = PO + IMG_RAM + 0x1000 + 2;
	gk_img_put(&x.im, IMG_MAP_IDR, 0, x.l.idr_head, &head, 8);
	CHECK_INT_EQ(kt_bpf_maps_list(x.gk, &x.m, &x.l, maps, 8, &n, &why), 0);
	CHECK_INT_EQ(n, 0);
	head = PO + root + 2;
	gk_img_put(&x.im, IMG_MAP_IDR, 0, x.l.idr_head, &head, 8);
	/* random bytes over the map's BTF blob: does not parse */
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, ".bss", &m, &why), 0);
	srand(1);
	for (uint32_t i = 24; i < btf_len; i++)
		x.im.ram[IMG_BLOB + i] = (uint8_t)rand();
	CHECK(kt_bpf_map_btf(x.gk, &x.m, &x.l, &m, &btf, &why) < 0);
	free(why);
	why = NULL;
	/* an implausible BTF size */
	CHECK_INT_EQ(kt_gk_member(x.gk, "btf", "data_size", &o, &sz), 0);
	memcpy(x.im.ram + off_btf + o, &big, 4);
	CHECK_INT_EQ(kt_bpf_map_btf(x.gk, &x.m, &x.l, &m, &btf, &why), -EFAULT);
	CHECK_STR_EQ(why, "BPF map scx_qmap.bss: implausible BTF size 1073741824");
	free(why);
	img_free(&x);
}
