// SPDX-License-Identifier: GPL-2.0
/* stats: metrics from sidecars, filters, the policy and the compare gate. */
#include "results/results.h"
#include "results/stats.h"
#include "unit.h"
#include "util/util.h"

/* A row: test, kernel, scheduler, passed, total_iterations, worst_gap_ms. */
static void mkrow(struct kt_row *r, const char *test, const char *kernel, const char *sched,
		  bool passed, double iters, double gap)
{
	memset(r, 0, sizeof(*r));
	r->sc.test_name = kt_strdup(test);
	r->sc.topology = kt_strdup("1n1l2c1t");
	r->sc.scheduler = kt_strdup(sched);
	r->sc.work_type = kt_strdup("CpuSpin");
	r->sc.kernel_version = kt_strdup(kernel);
	r->sc.project_commit = kt_strdup("abc1234");
	r->sc.run_source = kt_strdup("local");
	r->sc.passed = passed;
	r->sc.stats = json_pack("{s:f,s:f,s:f,s:f}", "total_iterations", iters, "worst_gap_ms",
				gap, "worst_spread", 2.0, "worst_wake_latency_tail_ratio", 3.0);
	r->path = kt_asprintf("/x/%s", test);
}

static void rows_free(struct kt_row *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kt_sidecar_free(&r[i].sc);
		free(r[i].path);
	}
}

static const struct kt_cmp_row *find(const struct kt_cmp_result *r, const char *test_prefix,
				     const char *metric)
{
	for (size_t i = 0; i < r->n; i++)
		if (kt_startswith(r->rows[i].test, test_prefix) &&
		    !strcmp(r->rows[i].m->name, metric))
			return &r->rows[i];
	return NULL;
}

UNIT_TEST(stats_metric_values)
{
	struct kt_row r;
	double v;

	mkrow(&r, "t", "6.12.1", "eevdf", true, 50, 7);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("total_iterations"), &v) && v == 50);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("worst_gap_ms"), &v) && v == 7);
	/* The tail ratio means nothing under 100 iterations. */
	CHECK(!kt_sidecar_metric(&r.sc, kt_metric_find("worst_wake_latency_tail_ratio"), &v));
	json_object_set_new(r.sc.stats, "total_iterations", json_integer(500));
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("worst_wake_latency_tail_ratio"), &v) &&
	      v == 3.0);
	/* Monitor metrics only with a monitor; not a made-up 0. */
	CHECK(!kt_sidecar_metric(&r.sc, kt_metric_find("max_imbalance_ratio"), &v));
	r.sc.monitor = json_pack("{s:f,s:i,s:b,s:{s:i,s:i}}", "max_imbalance_ratio", 2.5,
				 "max_local_dsq_depth", 9, "stall_detected", 1, "event_deltas",
				 "total_fallback", 4, "total_dispatch_keep_last", 6);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("max_imbalance_ratio"), &v) && v == 2.5);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("max_dsq_depth"), &v) && v == 9);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("stall_count"), &v) && v == 1);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("total_fallback"), &v) && v == 4);
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("total_keep_last"), &v) && v == 6);
	CHECK(!kt_sidecar_metric(&r.sc, kt_metric_find("duration_ms"), &v));
	r.sc.has_duration_ms = true;
	r.sc.duration_ms = 1234;
	CHECK(kt_sidecar_metric(&r.sc, kt_metric_find("duration_ms"), &v) && v == 1234);
	rows_free(&r, 1);
}

UNIT_TEST(stats_filters)
{
	struct kt_filter f = {0};
	struct kt_row r;

	mkrow(&r, "t", "6.12.117", "scx_qmap", true, 1, 1);
	kt_strv_add(&r.sc.active_flags, "llc");
	kt_strv_add(&r.sc.active_flags, "borrow");
	CHECK(kt_filter_match(&f, &r.sc));
	kt_strv_add(&f.v[KT_DIM_KERNEL], "6.12");
	CHECK(kt_filter_match(&f, &r.sc)); /* 6.12 matches 6.12.* */
	kt_strv_free(&f.v[KT_DIM_KERNEL]);
	kt_strv_add(&f.v[KT_DIM_KERNEL], "6.1");
	CHECK(!kt_filter_match(&f, &r.sc));
	kt_strv_add(&f.v[KT_DIM_KERNEL], "6.12.117"); /* OR */
	CHECK(kt_filter_match(&f, &r.sc));
	kt_strv_add(&f.v[KT_DIM_FLAGS], "llc");
	CHECK(kt_filter_match(&f, &r.sc));
	kt_strv_add(&f.v[KT_DIM_FLAGS], "steal"); /* AND */
	CHECK(!kt_filter_match(&f, &r.sc));
	kt_filter_free(&f);
	/* A dirty commit matches its clean value; a null never matches. */
	free(r.sc.project_commit);
	r.sc.project_commit = kt_strdup("abc1234-dirty");
	kt_strv_add(&f.v[KT_DIM_PROJECT_COMMIT], "abc1234");
	CHECK(kt_filter_match(&f, &r.sc));
	kt_filter_free(&f);
	kt_strv_add(&f.v[KT_DIM_KERNEL_COMMIT], "abc1234");
	CHECK(!kt_filter_match(&f, &r.sc));
	kt_filter_free(&f);
	rows_free(&r, 1);
}

UNIT_TEST(stats_policy_parse_and_precedence)
{
	struct kt_policy p = {0};
	const struct kt_metric_def *it = kt_metric_find("total_iterations");
	const struct kt_metric_def *gap = kt_metric_find("worst_gap_ms");
	double abs, rel;
	char *err = NULL;
	json_t *j;

	/* Defaults without a policy. */
	CHECK(kt_policy_thresholds(&p, "t", it, &abs, &rel));
	CHECK(abs == it->abs && rel == it->rel);
	j = json_loads("{\"default_percent\": 40, \"per_metric_percent\": {\"worst_gap_ms\": 5},"
		       " \"per_metric_abs\": {\"total_iterations\": 7},"
		       " \"per_test\": {\"slow\": {\"default_percent\": 90,"
		       " \"per_metric_abs\": {\"total_iterations\": 1000}, \"ignore\": [\"worst_gap_ms\"]}}}",
		       0, NULL);
	CHECK_INT_EQ(kt_policy_parse(j, &p, &err), 0);
	json_decref(j);
	CHECK(kt_policy_thresholds(&p, "t", it, &abs, &rel));
	CHECK(abs == 7 && rel == 0.40);
	CHECK(kt_policy_thresholds(&p, "t", gap, &abs, &rel));
	CHECK(abs == gap->abs && rel == 0.05);
	CHECK(kt_policy_thresholds(&p, "slow", it, &abs, &rel));
	CHECK(abs == 1000 && rel == 0.90);
	CHECK(!kt_policy_thresholds(&p, "slow", gap, &abs, &rel));
	kt_policy_free(&p);
	/* Rejections. */
	static const char *const bad[] = {
		"{\"default_pct\": 1}",
		"{\"per_metric_percent\": {\"no_such_metric\": 1}}",
		"{\"default_percent\": -1}",
		"{\"per_metric_abs\": {\"worst_gap_ms\": \"x\"}}",
		"{\"per_test\": {\"t\": {\"ignore\": [\"nope\"]}}}",
		"{\"per_test\": {\"t\": {\"per_test\": {}}}}",
		"[]",
	};
	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		j = json_loads(bad[i], 0, NULL);
		CHECK(j != NULL);
		err = NULL;
		CHECK(kt_policy_parse(j, &p, &err) < 0);
		CHECK(err != NULL);
		free(err);
		json_decref(j);
	}
}

UNIT_TEST(stats_compare_gate)
{
	struct kt_row a[5], b[6];
	struct kt_row *pa[5], *pb[6];
	struct kt_cmp_opts o = {0};
	struct kt_cmp_result r;
	const struct kt_cmp_row *x;
	char *err = NULL;

	/* A: "fast" twice (averaged), "gap", "small", "broken" and "gone". */
	mkrow(&a[0], "fast", "6.12.1", "eevdf", true, 10000, 50);
	mkrow(&a[1], "fast", "6.12.1", "eevdf", true, 12000, 50);
	mkrow(&a[2], "gap", "6.12.1", "eevdf", true, 5000, 1500);
	mkrow(&a[3], "small", "6.12.1", "eevdf", true, 50, 10);
	mkrow(&a[4], "gone", "6.12.1", "eevdf", true, 50, 10);
	/* B: fast lost 50% of its work; gap's gap shrank 1000 ms; small's iterations halved (below abs). */
	mkrow(&b[0], "fast", "6.12.2", "eevdf", true, 5500, 50);
	mkrow(&b[1], "gap", "6.12.2", "eevdf", true, 5000, 500);
	mkrow(&b[2], "small", "6.12.2", "eevdf", true, 25, 10);
	mkrow(&b[3], "broken", "6.12.2", "eevdf", false, 1, 1);
	mkrow(&b[4], "new", "6.12.2", "eevdf", true, 1, 1);
	mkrow(&b[5], "broken", "6.12.2", "eevdf", true, 1, 1);
	for (int i = 0; i < 5; i++)
		pa[i] = &a[i];
	for (int i = 0; i < 6; i++)
		pb[i] = &b[i];
	/* broken in A too, so the key pairs, but B failed once. */
	free(a[4].sc.test_name);
	a[4].sc.test_name = kt_strdup("broken");
	CHECK_INT_EQ(kt_compare(pa, 5, pb, 6, &o, &r, &err), 0);
	CHECK(r.slicing[KT_DIM_KERNEL]);
	CHECK_INT_EQ(r.n_slicing, 1);
	CHECK_STR_EQ(r.label[0], "6.12.1");
	CHECK_STR_EQ(r.label[1], "6.12.2");
	x = find(&r, "fast/", "total_iterations");
	CHECK(x && x->a == 11000 && x->b == 5500 && x->finding == KT_REGRESSION);
	x = find(&r, "gap/", "worst_gap_ms");
	CHECK(x && x->finding == KT_IMPROVEMENT);
	x = find(&r, "small/", "total_iterations"); /* -50% but |25| < 100 */
	CHECK(x && x->finding == KT_UNCHANGED);
	CHECK_INT_EQ(r.regressions, 1);
	CHECK_INT_EQ(r.improvements, 1);
	CHECK_INT_EQ(r.skipped_failed, 1);
	CHECK_INT_EQ(r.new_in_b, 1);
	CHECK_INT_EQ(r.removed_from_a, 0);
	CHECK(!find(&r, "fast/", "max_imbalance_ratio")); /* not measured: not compared */
	{
		json_t *j = kt_cmp_result_to_json(&r);

		CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(j, "summary"),
								"regressions")),
			     1);
		json_decref(j);
	}
	kt_cmp_result_free(&r);

	/* A policy that forgives fast's loss. */
	{
		struct kt_policy p = {0};
		json_t *j = json_pack("{s:{s:{s:f}}}", "per_test", "fast", "default_percent", 60.0);

		CHECK_INT_EQ(kt_policy_parse(j, &p, &err), 0);
		json_decref(j);
		o.policy = &p;
		CHECK_INT_EQ(kt_compare(pa, 5, pb, 6, &o, &r, &err), 0);
		CHECK_INT_EQ(r.regressions, 0);
		kt_cmp_result_free(&r);
		o.policy = NULL;
		kt_policy_free(&p);
	}
	/* -E keeps only matching keys. */
	o.filter = "gap";
	CHECK_INT_EQ(kt_compare(pa, 5, pb, 6, &o, &r, &err), 0);
	CHECK_INT_EQ(r.regressions, 0);
	CHECK_INT_EQ(r.improvements, 1);
	kt_cmp_result_free(&r);
	o.filter = NULL;
	/* --no-average: A's repeated key is an error. */
	o.no_average = true;
	CHECK(kt_compare(pa, 5, pb, 6, &o, &r, &err) < 0);
	CHECK_STR_CONTAINS(err, "duplicate");
	free(err);
	err = NULL;
	o.no_average = false;
	/* A side compared with itself: nothing changes. */
	CHECK_INT_EQ(kt_compare(pa, 5, pa, 5, &o, &r, &err), 0);
	CHECK_INT_EQ(r.n_slicing, 0);
	CHECK_INT_EQ(r.regressions + r.improvements, 0);
	CHECK(r.unchanged > 0);
	kt_cmp_result_free(&r);
	/* An empty side is an error. */
	CHECK(kt_compare(pa, 0, pb, 6, &o, &r, &err) < 0);
	free(err);
	rows_free(a, 5);
	rows_free(b, 6);
}

UNIT_TEST(stats_run_resolve)
{
	char *root = kt_path_join(unit_tmpdir(), "ktstr"), *run = kt_path_join(root, "6.12.1-abc1234");
	char *err = NULL, *p;

	CHECK_INT_EQ(kt_mkdir_p(run, 0755), 0);
	p = kt_run_resolve(root, "6.12.1-abc1234", &err);
	CHECK_STR_EQ(p, run);
	free(p);
	p = kt_run_resolve(root, run, &err);
	CHECK_STR_EQ(p, run);
	free(p);
	CHECK(kt_run_resolve(root, "6.12.1-abc1235", &err) == NULL);
	CHECK_STR_CONTAINS(err, "did you mean '6.12.1-abc1234'");
	free(err);
	free(root);
	free(run);
}
