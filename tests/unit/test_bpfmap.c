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
	CHECK_STR_EQ(why, "num_snapshots 4: nothing to capture (name the fields in .temporal "
			  "or the maps in .snapshot_maps)");
	free(why);
	/* whole-map snapshots alone are something to capture */
	t.snapshot_maps[0] = "stats";
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), 0);
	t.num_snapshots = 0;
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "snapshot_maps needs num_snapshots >= 1 (the captures it snapshots the "
			  "maps at)");
	free(why);
	t.num_snapshots = 2;
	t.snapshot_maps[1] = "";
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "snapshot_maps[1]: empty map name");
	free(why);
	memset(t.snapshot_maps, 0, sizeof(t.snapshot_maps));
	t.num_snapshots = 4;
	/* an element pick that does not parse */
	t.temporal[0] = (struct ktstr_temporal)KTSTR_NONDECREASING("stats", "[1");
	CHECK_INT_EQ(kt_bpfmap_validate(&t, 2, &why), -EINVAL);
	CHECK_STR_EQ(why, "temporal[0] (nondecreasing): field '[1': \"[N]\" or \"[N].member\" "
			  "picks element N");
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
	CHECK_INT_EQ(n, 5);
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
			  "scx_qmap.data, other.data, stats, task_map)");
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
	CHECK_INT_EQ(n, 5);
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

/* ---- values through BTF (bpfmap/render.c) -------------------------------------- */

#include <jansson.h>

#include "bpfmap/render.h"

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	json_decref(j);
	return s;
}

UNIT_TEST(bpfmap_render_values)
{
	/*
	 * struct v { int s:5; unsigned int u:3; enum color c; char name[8];
	 *            void *p; union { u32 a; u64 b; } un; u64 big;
	 *            int arr[3]; _Bool ok; struct { u16 x; }; };
	 */
	struct btf *b = btf__new_empty();
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int u64 = btf__add_int(b, "u64", 8, 0);
	int u16 = btf__add_int(b, "u16", 2, 0);
	int ch = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int bl = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	int col = btf__add_enum(b, "color", 4), arr8, arr3, ptr, un, anon, v, big;
	uint8_t d[64] = {0};
	struct kt_render r = {.btf = b, .leaves = 1000};
	char *s;

	btf__add_enum_value(b, "RED", 0);
	btf__add_enum_value(b, "GREEN", 7);
	arr8 = btf__add_array(b, u32, ch, 8);
	arr3 = btf__add_array(b, u32, i32, 3);
	ptr = btf__add_ptr(b, 0);
	un = btf__add_union(b, NULL, 8);
	btf__add_field(b, "a", u32, 0, 0);
	btf__add_field(b, "b", u64, 0, 0);
	anon = btf__add_struct(b, NULL, 2);
	btf__add_field(b, "x", u16, 0, 0);
	v = btf__add_struct(b, "v", 64);
	btf__add_field(b, "s", i32, 0, 5);
	btf__add_field(b, "u", u32, 5, 3);
	btf__add_field(b, "c", col, 32, 0);
	btf__add_field(b, "name", arr8, 64, 0);
	btf__add_field(b, "p", ptr, 128, 0);
	btf__add_field(b, "un", un, 192, 0);
	btf__add_field(b, "big", u64, 256, 0);
	btf__add_field(b, "arr", arr3, 320, 0);
	btf__add_field(b, "ok", bl, 416, 0);
	btf__add_field(b, NULL, anon, 432, 0);
	/* s = -3 (5 bits: 11101), u = 6 (110) */
	d[0] = 0x1d | 6 << 5;
	d[4] = 7;
	memcpy(d + 8, "comm\0xyz", 8);
	d[8 + 2] = 0x80; /* not ASCII */
	d[16] = 0xef, d[17] = 0xbe, d[23] = 0xff;
	d[24] = 1, d[28] = 2;
	memset(d + 32, 0xff, 8);
	d[40] = 1, d[44] = 0xfe, d[45] = 0xff, d[46] = 0xff, d[47] = 0xff, d[48] = 3;
	d[52] = 1;
	d[54] = 0x34, d[55] = 0x12;
	s = dump(kt_render_type(&r, (uint32_t)v, d, sizeof(d)));
	CHECK_STR_EQ(s, "{\"s\":-3,\"u\":6,\"c\":\"GREEN\",\"name\":\"co?m\","
			"\"p\":\"0xff0000000000beef\",\"un\":{\"__raw\":\"0x0100000002000000\","
			"\"a\":1},\"big\":\"18446744073709551615\",\"arr\":[1,-2,3],\"ok\":true,"
			"\"x\":4660}");
	free(s);
	CHECK(!r.truncated);
	/* an enum value without a name, a type id 0 (no BTF): raw */
	d[4] = 5;
	s = dump(kt_render_type(&r, (uint32_t)col, d + 4, 4));
	CHECK_STR_EQ(s, "5");
	free(s);
	s = dump(kt_render_type(&r, 0, d + 4, 4));
	CHECK_STR_EQ(s, "5");
	free(s);
	s = dump(kt_render_type(&r, 0, d, 3));
	CHECK_STR_EQ(s, "\"0xdd0000\"");
	free(s);
	/* bytes cut short: nulls, marked truncated */
	s = dump(kt_render_type(&r, (uint32_t)v, d, 20));
	CHECK_STR_CONTAINS(s, "\"name\":\"co?m\",\"p\":null,");
	free(s);
	CHECK(r.truncated);
	/* a long array: 64 elements, then how many more */
	big = btf__add_array(b, u32, u16, 100);
	{
		uint8_t z[200] = {0};
		json_t *j;

		r.truncated = false;
		j = kt_render_type(&r, (uint32_t)big, z, sizeof(z));
		CHECK_INT_EQ(json_array_size(j), 65);
		CHECK_STR_EQ(json_string_value(json_array_get(j, 64)), "... (36 more)");
		CHECK(r.truncated);
		json_decref(j);
	}
	/* the budget of rendered values runs out: nulls */
	r.leaves = 2;
	r.truncated = false;
	s = dump(kt_render_type(&r, (uint32_t)arr3, d + 40, 12));
	CHECK_STR_EQ(s, "[1,-2,null]");
	free(s);
	CHECK(r.truncated);
	btf__free(b);
}

/* ---- whole-map snapshots on the synthetic image (bpfmap/snap.c) -------------- */

static json_t *snap_of(struct img *x, const char *name, const struct kt_bpf_cpus *c)
{
	struct kt_bpf_map m;
	char *why = NULL;

	if (kt_bpf_map_find(x->gk, &x->m, &x->l, name, &m, &why)) {
		free(why);
		return NULL;
	}
	return kt_bpf_map_snapshot(x->gk, &x->m, &x->l, &m, c, 1000);
}

UNIT_TEST(bpfmap_snapshot_maps)
{
	struct img x;
	struct kt_bpf_cpus cpus;
	struct kt_bpf_map m;
	struct kt_bpf_field f = {.size = 8, .is_int = true};
	uint32_t btf_len;
	uint64_t kva = 0;
	long double v = 0;
	char *why = NULL, *s;

	CHECK_INT_EQ(img_setup(&x, &btf_len), 0);
	CHECK(x.l.has_htab);
	CHECK_INT_EQ(kt_bpf_cpus_read(x.gk, &x.m, &cpus, &why), 0);
	CHECK_INT_EQ(cpus.n, 2);
	/* a global-data array: its variables by name */
	s = dump(snap_of(&x, ".bss", &cpus));
	CHECK_STR_EQ(s, "{\"name\":\"scx_qmap.bss\",\"map_type\":\"array\",\"type\":2,"
			"\"key_size\":4,\"value_size\":24,\"max_entries\":1,"
			"\"value_type\":\".bss\",\"entries\":[{\"key\":0,\"value\":"
			"{\"counter\":42,\"err_cnt\":0,\"neg\":-5,\"pr\":{\"a\":7,\"b\":9}}}]}");
	free(s);
	/* a per-CPU array without BTF (scx_simple's stats): one u64 per CPU */
	s = dump(snap_of(&x, "stats", &cpus));
	CHECK_STR_EQ(s, "{\"name\":\"stats\",\"map_type\":\"percpu_array\",\"type\":6,"
			"\"key_size\":4,\"value_size\":8,\"max_entries\":2,\"entries\":"
			"[{\"key\":0,\"per_cpu\":[10,32]},{\"key\":1,\"per_cpu\":[1,2]}]}");
	free(s);
	s = dump(snap_of(&x, "stats", NULL));
	CHECK_STR_CONTAINS(s, "\"error\":\"the guest's per-CPU offsets are not known\"");
	free(s);
	/* a hash map with BTF: the bucket chain, keys and values decoded */
	s = dump(snap_of(&x, "task_map", &cpus));
	CHECK_STR_EQ(s, "{\"name\":\"task_map\",\"map_type\":\"hash\",\"type\":1,"
			"\"key_size\":4,\"value_size\":8,\"max_entries\":4,"
			"\"key_type\":\"unsigned int\",\"value_type\":\"struct pair\","
			"\"entries\":[{\"key\":5,\"value\":{\"a\":1,\"b\":2}},"
			"{\"key\":9,\"value\":{\"a\":3,\"b\":4}}]}");
	free(s);
	/* the same elements as a per-CPU hash: the value slot holds a per-CPU pointer */
	{
		uint32_t t5 = KT_BPF_MAP_TYPE_PERCPU_HASH;

		memcpy(x.im.ram + IMG_E + x.l.m_type, &t5, 4);
		put64(&x, IMG_ELEMS + x.l.elem_key + 8, IMG_PPTR);
		put64(&x, IMG_ELEMS + 0x100 + x.l.elem_key + 8, IMG_PPTR + 8);
		s = dump(snap_of(&x, "task_map", &cpus));
		CHECK_STR_CONTAINS(s, "\"map_type\":\"percpu_hash\"");
		/* stats' per-CPU u64s read as struct pair {u32 a, b} */
		CHECK_STR_CONTAINS(s, "\"entries\":[{\"key\":5,\"per_cpu\":[{\"a\":10,\"b\":0},"
				      "{\"a\":32,\"b\":0}]},{\"key\":9,\"per_cpu\":[{\"a\":1,"
				      "\"b\":0},{\"a\":2,\"b\":0}]}]}");
		free(s);
	}
	/* "hash" that is no hash table: its buckets cannot be read */
	s = dump(snap_of(&x, "other.data", &cpus));
	CHECK_STR_CONTAINS(s, "\"error\":\"no bucket array (buckets 0x0, n_buckets 0)\"");
	free(s);
	/* a chain that loops: bounded */
	put64(&x, IMG_ELEMS + 0x100 + x.l.elem_node + x.l.node_next, PO + IMG_ELEMS);
	{
		json_t *j = snap_of(&x, "task_map", &cpus);

		CHECK_INT_EQ(json_array_size(json_object_get(j, "entries")), KT_SNAP_MAX_CHAIN);
		CHECK(json_is_true(json_object_get(j, "truncated")));
		json_decref(j);
	}
	/* temporal over a per-CPU element: the sum over the CPUs */
	CHECK_INT_EQ(kt_bpf_map_find(x.gk, &x.m, &x.l, "stats", &m, &why), 0);
	CHECK_INT_EQ(kt_bpf_array_elem(x.gk, &x.m, &x.l, &m, 1, &kva, &why), 0);
	CHECK(kt_bpf_field_read(x.gk, &x.m, kva, &f, &cpus, &v) == NULL);
	CHECK(v == 3.0L);
	CHECK_INT_EQ(kt_bpf_array_elem(x.gk, &x.m, &x.l, &m, 0, &kva, &why), 0);
	CHECK(kt_bpf_field_read(x.gk, &x.m, kva, &f, &cpus, &v) == NULL);
	CHECK(v == 42.0L);
	CHECK_INT_EQ(kt_bpf_array_elem(x.gk, &x.m, &x.l, &m, 2, &kva, &why), -EINVAL);
	CHECK_STR_EQ(why, "BPF map stats has no element 2 (max_entries 2)");
	free(why);
	/* a garbage per-CPU pointer: no data */
	put64(&x, IMG_D + x.l.arr_value, 0x7000000000ull);
	CHECK_INT_EQ(kt_bpf_array_elem(x.gk, &x.m, &x.l, &m, 0, &kva, &why), 0);
	CHECK_STR_EQ(kt_bpf_field_read(x.gk, &x.m, kva, &f, &cpus, &v),
		     "the map's per-CPU value cannot be read");
	s = dump(snap_of(&x, "stats", &cpus));
	CHECK_STR_CONTAINS(s, "{\"key\":0,\"per_cpu\":[null,null]},{\"key\":1,"
			      "\"per_cpu\":[1,2]}],\"error\":\"some of it could not be read\"}");
	free(s);
	img_free(&x);
}

UNIT_TEST(bpfmap_field_path_and_last_maps)
{
	const char *sub = NULL;
	uint32_t idx = 9;
	json_t *bm, *last;
	char *s;

	CHECK_INT_EQ(kt_bpfmap_field_path("nr", &idx, &sub), 0);
	CHECK(idx == 0 && !strcmp(sub, "nr"));
	CHECK_INT_EQ(kt_bpfmap_field_path("[3]", &idx, &sub), 0);
	CHECK(idx == 3 && !strcmp(sub, ""));
	CHECK_INT_EQ(kt_bpfmap_field_path("[12].a.b", &idx, &sub), 0);
	CHECK(idx == 12 && !strcmp(sub, "a.b"));
	CHECK_INT_EQ(kt_bpfmap_field_path("[]", &idx, &sub), -EINVAL);
	CHECK_INT_EQ(kt_bpfmap_field_path("[1]x", &idx, &sub), -EINVAL);
	CHECK_INT_EQ(kt_bpfmap_field_path("[1].", &idx, &sub), -EINVAL);
	CHECK_INT_EQ(kt_bpfmap_field_path("[99999999999]", &idx, &sub), -EINVAL);

	/* the failure dump's maps: the last capture that read each map, or why none */
	bm = json_loads("{\"snapshot_maps\":[\"stats\",\".bss\",\"gone\"],\"captures\":["
			"{\"tag\":\"periodic_000\",\"elapsed_ms\":300,\"maps\":["
			"{\"map\":\"stats\",\"entries\":[{\"key\":0,\"per_cpu\":[1]}]},"
			"{\"map\":\".bss\",\"entries\":[]},"
			"{\"map\":\"gone\",\"error\":\"no BPF map\"}]},"
			"{\"tag\":\"periodic_001\",\"elapsed_ms\":600,\"maps\":["
			"{\"map\":\"stats\",\"entries\":[{\"key\":0,\"per_cpu\":[5]}]},"
			"{\"map\":\".bss\",\"error\":\"guest kernel not found\"},"
			"{\"map\":\"gone\",\"error\":\"still none\"}]}]}",
			0, NULL);
	last = kt_bpfmap_last_maps(bm);
	s = dump(last);
	CHECK_STR_EQ(s, "[{\"map\":\"stats\",\"entries\":[{\"key\":0,\"per_cpu\":[5]}],"
			"\"tag\":\"periodic_001\",\"elapsed_ms\":600},"
			"{\"map\":\".bss\",\"entries\":[],\"tag\":\"periodic_000\","
			"\"elapsed_ms\":300},"
			"{\"map\":\"gone\",\"error\":\"no capture read it; the last said: still "
			"none\"}]");
	free(s);
	json_object_set_new(bm, "captures", json_array());
	s = dump(kt_bpfmap_last_maps(bm));
	CHECK_STR_CONTAINS(s, "{\"map\":\"stats\",\"error\":\"no capture was taken before "
			      "the run ended\"}");
	free(s);
	json_decref(bm);
	s = dump(kt_bpfmap_last_maps(NULL));
	CHECK_STR_EQ(s, "[]");
	free(s);
}
