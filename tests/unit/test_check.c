// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>

#include "check/check.h"
#include "unit.h"
#include "util/util.h"

/* A completed report: wall 1 s, off-CPU off_pct %, work units wu, on cpu. */
static struct kt_worker_report mk(pid_t tid, uint64_t wu, double off_pct, int cpu)
{
	struct kt_worker_report r;

	memset(&r, 0, sizeof(r));
	r.tid = tid;
	r.work_units = wu;
	r.wall_time_ns = 1000000000ull;
	r.off_cpu_ns = (uint64_t)(off_pct * 1e7);
	r.cpu_time_ns = r.wall_time_ns - r.off_cpu_ns;
	r.iterations = wu / 1024 + 1;
	r.completed = true;
	r.max_gap_cpu = cpu;
	kt_cpuset_set(&r.cpus_used, cpu);
	return r;
}

/* A worker the kernel accounted: runs times on a CPU, waited wait_pct of its second. */
static struct kt_worker_report mk_wait(pid_t tid, double off_pct, int cpu, uint64_t runs,
				       double wait_pct)
{
	struct kt_worker_report r = mk(tid, 1024, off_pct, cpu);

	r.schedstat_run_count = runs;
	r.schedstat_run_delay_ns = (uint64_t)(wait_pct * 1e7);
	return r;
}

static void set_samples(struct kt_worker_report *r, const uint64_t *v, size_t n)
{
	r->resume_latencies_ns = kt_calloc(n, sizeof(uint64_t));
	memcpy(r->resume_latencies_ns, v, n * sizeof(uint64_t));
	r->n_resume_latencies = n;
	r->wake_sample_total = n;
}

static void set_pages(struct kt_worker_report *r, int n0, uint64_t p0, int n1, uint64_t p1)
{
	r->numa_pages = kt_calloc(2, sizeof(*r->numa_pages));
	r->numa_pages[0] = (struct kt_numa_pages){n0, p0};
	r->numa_pages[1] = (struct kt_numa_pages){n1, p1};
	r->n_numa_pages = 2;
}

static void expect_pass(struct kt_assert_result *res)
{
	CHECK(res->passed);
	for (size_t i = 0; i < res->n_details; i++)
		unit_fail(__FILE__, __LINE__, "unexpected detail: %s", res->details[i].message);
}

/* A detail's first line (the evidence follows on the next lines). */
static const char *headline(const char *msg)
{
	static char buf[512];
	size_t n = strcspn(msg, "\n");

	snprintf(buf, sizeof(buf), "%.*s", (int)n, msg);
	return buf;
}

static void expect_one(struct kt_assert_result *res, enum kt_detail_kind k, const char *msg)
{
	CHECK(!res->passed);
	CHECK_INT_EQ(res->n_details, 1);
	if (res->n_details >= 1) {
		CHECK_INT_EQ(res->details[0].kind, k);
		CHECK_STR_EQ(headline(res->details[0].message), msg);
	}
}

UNIT_TEST(check_assert_defaults_merge)
{
	struct kt_assert d = kt_assert_default_checks(), n = kt_assert_none(), m, o;

	CHECK(d.not_starved.set && d.not_starved.v);
	CHECK(d.max_imbalance_ratio.set && d.max_imbalance_ratio.v == 4.0);
	CHECK(d.max_local_dsq_depth.set && d.max_local_dsq_depth.v == 50);
	CHECK(d.fail_on_stall.set && d.fail_on_stall.v);
	CHECK(d.sustained_samples.set && d.sustained_samples.v == 5);
	CHECK(d.max_fallback_rate.set && d.max_fallback_rate.v == 200.0);
	CHECK(d.max_keep_last_rate.set && d.max_keep_last_rate.v == 100.0);
	CHECK(!d.isolation.set && !d.max_gap_ms.set && !d.max_spread_pct.set);
	CHECK(!n.not_starved.set && !n.max_imbalance_ratio.set);
	CHECK(kt_assert_has_worker_checks(&d));
	CHECK(!kt_assert_has_worker_checks(&n));

	/* Monitor-only fields are not worker checks. */
	o = kt_assert_none();
	o.max_imbalance_ratio = KT_SOME_F64(2.0);
	CHECK(!kt_assert_has_worker_checks(&o));

	/* Unset keeps, set replaces, a layer can switch a check off. */
	o = kt_assert_none();
	o.not_starved = KT_SOME_BOOL(false);
	o.max_gap_ms = KT_SOME_U64(500);
	m = kt_assert_merge(&d, &o);
	CHECK(m.not_starved.set && !m.not_starved.v);
	CHECK(m.max_gap_ms.set && m.max_gap_ms.v == 500);
	CHECK(m.max_imbalance_ratio.set && m.max_imbalance_ratio.v == 4.0);
	m = kt_assert_merge(&m, &n);
	CHECK(m.not_starved.set && !m.not_starved.v);
	o = kt_assert_none();
	o.max_imbalance_ratio = KT_SOME_F64(8.0);
	m = kt_assert_merge(&m, &o);
	CHECK(m.max_imbalance_ratio.v == 8.0);
	CHECK(m.max_gap_ms.v == 500);
}

UNIT_TEST(check_assert_json)
{
	struct kt_assert a = kt_assert_default_checks(), b;
	json_t *j;
	char *s, *err = NULL;

	a.max_gap_ms = KT_SOME_U64(750);
	a.max_spread_pct = KT_SOME_F64(12.5);
	j = kt_assert_to_json(&a);
	s = json_dumps(j, JSON_COMPACT);
	CHECK_STR_CONTAINS(s, "\"not_starved\":true");
	CHECK_STR_CONTAINS(s, "\"max_gap_ms\":750");
	CHECK(!strstr(s, "isolation"));
	CHECK_INT_EQ(kt_assert_from_json(j, &b, &err), 0);
	CHECK(!memcmp(&a, &b, sizeof(a)) || (b.max_spread_pct.v == 12.5 && b.max_gap_ms.v == 750 &&
					     b.not_starved.v && !b.isolation.set));
	free(s);
	json_decref(j);

	j = json_loads("{\"max_gap_ms\":-1}", 0, NULL);
	CHECK_INT_EQ(kt_assert_from_json(j, &b, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "max_gap_ms");
	free(err);
	err = NULL;
	json_decref(j);
	j = json_loads("{\"max_local_dsq_depth\":5000000000}", 0, NULL);
	CHECK_INT_EQ(kt_assert_from_json(j, &b, &err), -EINVAL);
	free(err);
	err = NULL;
	json_decref(j);
	j = json_loads("{\"not_starved\":1}", 0, NULL);
	CHECK_INT_EQ(kt_assert_from_json(j, &b, &err), -EINVAL);
	free(err);
	json_decref(j);
}

UNIT_TEST(check_stats_math)
{
	uint64_t v[200];
	double d[4] = {2, 4, 0, 0};

	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)(100 - i); /* unsorted 100..1 */
	CHECK_INT_EQ(kt_stat_p99(v, 100), 99);
	for (int i = 0; i < 200; i++)
		v[i] = (uint64_t)(i + 1);
	CHECK_INT_EQ(kt_stat_p99(v, 200), 198);
	for (int i = 0; i < 10; i++)
		v[i] = (uint64_t)(i + 1);
	CHECK_INT_EQ(kt_stat_p99(v, 10), 10);
	v[0] = 42;
	CHECK_INT_EQ(kt_stat_p99(v, 1), 42);
	CHECK_INT_EQ(kt_stat_p99(v, 0), 0);
	v[0] = 4, v[1] = 1, v[2] = 3, v[3] = 2;
	CHECK_INT_EQ(kt_stat_median(v, 4), 3);
	CHECK_INT_EQ(kt_stat_median(v, 3), 2);
	CHECK_DBL_NEAR(kt_stat_cv(d, 2), 1.0 / 3.0, 1e-12);
	CHECK_DBL_NEAR(kt_stat_cv(d, 1), 0, 0);
	d[0] = d[1] = d[2] = 5;
	CHECK_DBL_NEAR(kt_stat_cv(d, 3), 0, 1e-12);
	d[0] = d[1] = 0;
	CHECK_DBL_NEAR(kt_stat_cv(d, 2), 0, 0);
}

UNIT_TEST(check_cgroup_stats)
{
	struct kt_worker_report r[3];
	struct kt_cgroup_stats s;
	struct kt_cpuset cs, nodes;
	struct kt_check_ctx ctx = {.cpuset = &cs, .cpuset_nodes = &nodes};
	uint64_t a[] = {1000, 2000, 3000, 4000}, b[] = {5000, 6000};

	r[0] = mk(1, 4096, 10, 0);
	r[1] = mk(2, 4096, 20, 1);
	r[2] = mk(3, 4096, 60, 1);
	r[0].max_gap_ms = 40;
	r[1].max_gap_ms = 90;
	r[1].max_gap_cpu = 7;
	r[0].migration_count = 3;
	r[0].iterations = 100;
	r[1].iterations = 100;
	r[2].iterations = 100;
	r[0].schedstat_run_delay_ns = 4000000;
	r[0].schedstat_run_count = 1000; /* 4 us */
	r[1].schedstat_run_delay_ns = 8000000;
	r[1].schedstat_run_count = 1000; /* 8 us */
	set_samples(&r[0], a, 4);
	set_samples(&r[1], b, 2);
	set_pages(&r[0], 0, 75, 1, 25);
	r[0].vmstat_numa_pages_migrated = 10;
	kt_cpuset_parse("0-3", &cs);
	kt_cpuset_parse("0", &nodes);
	kt_cgroup_stats_compute(r, 3, &ctx, &s);
	CHECK_INT_EQ(s.num_workers, 3);
	CHECK_INT_EQ(s.num_cpus, 2);
	CHECK_DBL_NEAR(s.avg_off_cpu_pct, 30, 1e-9);
	CHECK_DBL_NEAR(s.min_off_cpu_pct, 10, 1e-9);
	CHECK_DBL_NEAR(s.max_off_cpu_pct, 60, 1e-9);
	/* With schedstat the spread is over the waited-runnable shares: 0.4, 0.8, 0 %. */
	CHECK_DBL_NEAR(s.spread, 0.8, 1e-9);
	CHECK_DBL_NEAR(s.min_wait_pct, 0, 1e-9);
	CHECK_DBL_NEAR(s.max_wait_pct, 0.8, 1e-9);
	CHECK_INT_EQ(s.max_gap_ms, 90);
	CHECK_INT_EQ(s.max_gap_cpu, 7);
	CHECK_INT_EQ(s.total_migrations, 3);
	CHECK_INT_EQ(s.total_iterations, 300);
	CHECK_DBL_NEAR(s.migration_ratio, 0.01, 1e-12);
	/* pooled 1000..6000: p99 = sorted[ceil(5.94)-1] = 6000, median sorted[3] = 4000 */
	CHECK_DBL_NEAR(s.p99_wake_latency_us, 6.0, 1e-9);
	CHECK_DBL_NEAR(s.median_wake_latency_us, 4.0, 1e-9);
	CHECK_DBL_NEAR(s.wake_latency_tail_ratio, 1.5, 1e-9);
	CHECK_DBL_NEAR(s.wake_latency_cv, 1707.825127659933 / 3500.0, 1e-9);
	CHECK_DBL_NEAR(s.mean_run_delay_us, 6.0, 1e-9);
	CHECK_DBL_NEAR(s.worst_run_delay_us, 8.0, 1e-9);
	CHECK_DBL_NEAR(s.page_locality, 0.75, 1e-12);
	CHECK_DBL_NEAR(s.cross_node_migration_ratio, 0.1, 1e-12);
	CHECK_DBL_NEAR(s.iterations_per_worker, 100, 1e-12);
	for (int i = 0; i < 3; i++)
		kt_worker_report_clear(&r[i]);
}

UNIT_TEST(check_not_starved_messages)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_default_checks();
	struct kt_assert_result res;

	/* Starved worker. */
	r[0] = mk(12, 0, 10, 0);
	r[1] = mk(13, 1024, 10, 1);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_STARVED, "tid 12 starved (0 work units)");
	CHECK_INT_EQ(res.stats.n_cgroups, 1);
	CHECK_INT_EQ(res.stats.total_workers, 2);
	kt_assert_result_clear(&res);

	/* Spread 30 > 15 (release default). */
	r[0] = mk(12, 1024, 10, 0);
	r[1] = mk(13, 1024, 40, 1);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_UNFAIR,
		   "unfair cgroup: spread=30% (10-40%) 2 workers on 2 cpus");
	CHECK_DBL_NEAR(res.stats.worst_spread, 30, 1e-9);
	kt_assert_result_clear(&res);
	/* 14% is within the default. */
	r[1] = mk(13, 1024, 24, 1);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	/* Override replaces the limit and shows it. */
	r[1] = mk(13, 1024, 40, 1);
	a.max_spread_pct = KT_SOME_F64(20);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_UNFAIR,
		   "unfair cgroup: spread=30% (10-40%) 2 workers on 2 cpus (threshold 20%)");
	kt_assert_result_clear(&res);
	a.max_spread_pct = KT_SOME_F64(12.5);
	kt_check_workers(&a, r, 2, NULL, &res);
	CHECK_STR_CONTAINS(res.details[0].message, "(threshold 12.5%)");
	kt_assert_result_clear(&res);
	a.max_spread_pct = KT_SOME_F64(35);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	/* A single worker never fails spread. */
	a = kt_assert_default_checks();
	kt_check_workers(&a, &r[1], 1, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);

	/* Gap: 2500 > 2000 default. */
	r[0] = mk(12, 1024, 10, 0);
	r[1] = mk(13, 1024, 10, 1);
	r[1].max_gap_ms = 2500;
	r[1].max_gap_cpu = 3;
	r[1].max_gap_at_ms = 1200;
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_STUCK, "stuck 2500ms on cpu3 at +1200ms");
	CHECK_INT_EQ(res.stats.worst_gap_ms, 2500);
	CHECK_INT_EQ(res.stats.worst_gap_cpu, 3);
	kt_assert_result_clear(&res);
	r[1].max_gap_ms = 2000; /* not strictly greater */
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	a.max_gap_ms = KT_SOME_U64(1000);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_STUCK, "stuck 2000ms on cpu3 at +1200ms (threshold 1000ms)");
	kt_assert_result_clear(&res);

	/* not_starved off: overrides ignored, starvation not checked. */
	a.not_starved = KT_SOME_BOOL(false);
	a.max_spread_pct = KT_SOME_F64(1);
	r[0].work_units = 0;
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);

	/* No worker fields at all: fallback to not_starved with defaults. */
	a = kt_assert_none();
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_STARVED, "tid 12 starved (0 work units)");
	kt_assert_result_clear(&res);
	kt_check_not_starved(r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_STARVED, "tid 12 starved (0 work units)");
	kt_assert_result_clear(&res);
}

UNIT_TEST(check_isolation_message)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_default_checks();
	struct kt_assert_result res;
	struct kt_cpuset cs;
	struct kt_check_ctx ctx = {.cpuset = &cs};

	kt_cpuset_parse("0-3", &cs);
	r[0] = mk(7, 1024, 10, 0);
	kt_cpuset_set(&r[0].cpus_used, 5);
	kt_cpuset_set(&r[0].cpus_used, 9);
	r[1] = mk(8, 1024, 10, 2);
	/* Not requested: no check. */
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	a.isolation = KT_SOME_BOOL(true);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_one(&res, KT_DETAIL_ISOLATION, "tid 7 ran on unexpected CPUs {5, 9}");
	kt_assert_result_clear(&res);
	/* No cpuset: nothing to check against. */
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
}

UNIT_TEST(check_throughput_messages)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_none();
	struct kt_assert_result res;

	/* cpu 0.9 s each; rates 1000 and 3000 work/cpu_s -> CV 0.5, mean 2000 */
	r[0] = mk(1, 900, 10, 0);
	r[1] = mk(2, 2700, 10, 1);
	a.max_throughput_cv = KT_SOME_F64(0.25);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_BENCHMARK,
		   "throughput CV 0.500 exceeds limit 0.250 (mean=2000 work/cpu_s)");
	kt_assert_result_clear(&res);
	a.max_throughput_cv = KT_SOME_F64(0.6);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	a = kt_assert_none();
	a.min_work_rate = KT_SOME_F64(1500);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_BENCHMARK,
		   "worker 1 throughput 1000 work/cpu_s below floor 1500");
	kt_assert_result_clear(&res);
}

UNIT_TEST(check_wake_messages)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_none();
	struct kt_assert_result res;
	uint64_t s0[50], s1[50];

	for (int i = 0; i < 50; i++) {
		s0[i] = 1000;
		s1[i] = 1000;
	}
	s1[49] = 101000; /* one outlier in 100: p99 = sorted[98] = 1000 */
	r[0] = mk(1, 1024, 10, 0);
	r[1] = mk(2, 1024, 10, 1);
	set_samples(&r[0], s0, 50);
	set_samples(&r[1], s1, 50);
	a.max_p99_wake_latency_ns = KT_SOME_U64(5000);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	r[1].resume_latencies_ns[48] = 90000; /* now sorted[98] = 90000 */
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_BENCHMARK,
		   "p99 wake latency 90000ns exceeds limit 5000ns (100 samples)");
	kt_assert_result_clear(&res);

	a = kt_assert_none();
	a.max_wake_latency_cv = KT_SOME_F64(0.5);
	kt_check_workers(&a, r, 2, NULL, &res);
	CHECK(!res.passed);
	CHECK_INT_EQ(res.n_details, 1);
	CHECK_STR_CONTAINS(res.details[0].message, "wake latency CV ");
	CHECK_STR_CONTAINS(res.details[0].message, " exceeds limit 0.500 (mean=2890ns)");
	kt_assert_result_clear(&res);

	/* Iteration rate: mk() gives wu/1024+1 = 2 iterations in 1 s. */
	a = kt_assert_none();
	a.min_iteration_rate = KT_SOME_F64(2.5);
	kt_check_workers(&a, r, 2, NULL, &res);
	CHECK_INT_EQ(res.n_details, 2);
	CHECK_STR_EQ(res.details[0].message, "worker 1 iteration rate 2.0/s below floor 2.5/s");
	kt_assert_result_clear(&res);
	a.min_iteration_rate = KT_SOME_F64(1.5);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	/* No reports: wake checks skip. */
	a.max_p99_wake_latency_ns = KT_SOME_U64(1);
	kt_check_workers(&a, r, 0, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	kt_worker_report_clear(&r[0]);
	kt_worker_report_clear(&r[1]);
}

UNIT_TEST(check_migration_numa_messages)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_none();
	struct kt_assert_result res;
	struct kt_cpuset cs, nodes;
	struct kt_check_ctx ctx = {.cpuset = &cs, .cpuset_nodes = &nodes};

	r[0] = mk(1, 1024, 10, 0);
	r[1] = mk(2, 1024, 10, 1);
	r[0].iterations = 1000;
	r[1].iterations = 1000;
	r[0].migration_count = 150;
	r[1].migration_count = 50;
	a.max_migration_ratio = KT_SOME_F64(0.05);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_one(
	    &res, KT_DETAIL_MIGRATION,
	    "migration ratio 0.1000 exceeds threshold 0.0500 (200 migrations / 2000 iterations)");
	kt_assert_result_clear(&res);

	kt_cpuset_parse("0-3", &cs);
	kt_cpuset_parse("0", &nodes);
	set_pages(&r[0], 0, 60, 1, 40);
	set_pages(&r[1], 0, 60, 1, 40);
	r[0].vmstat_numa_pages_migrated = 20;
	r[1].vmstat_numa_pages_migrated = 30;
	a = kt_assert_none();
	a.min_page_locality = KT_SOME_F64(0.9);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_one(&res, KT_DETAIL_PAGE_LOCALITY,
		   "page locality 0.6000 below threshold 0.9000 (120/200 pages local)");
	kt_assert_result_clear(&res);
	/* Without a cpuset the locality check does not apply. */
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);

	a = kt_assert_none();
	a.max_cross_node_migration_ratio = KT_SOME_F64(0.1);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_one(&res, KT_DETAIL_CROSS_NODE_MIGRATION,
		   "cross-node migration ratio 0.1500 exceeds threshold 0.1000 (30/200 pages "
		   "migrated)");
	kt_assert_result_clear(&res);

	a = kt_assert_none();
	a.max_slow_tier_ratio = KT_SOME_F64(0.25);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_one(&res, KT_DETAIL_SLOW_TIER,
		   "slow-tier page ratio 0.4000 exceeds threshold 0.2500 (80/200 pages on non-CPU "
		   "nodes)");
	kt_assert_result_clear(&res);
	a.max_slow_tier_ratio = KT_SOME_F64(0.5);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	kt_worker_report_clear(&r[0]);
	kt_worker_report_clear(&r[1]);
}

UNIT_TEST(check_result_merge)
{
	struct kt_assert_result a, b, c;
	struct kt_cgroup_stats cg;

	kt_assert_result_pass(&a);
	kt_assert_result_fail(&b, KT_DETAIL_OTHER, "boom");
	kt_assert_result_merge(&a, &b);
	CHECK(!a.passed);
	CHECK(!a.skipped);
	CHECK_INT_EQ(a.n_details, 1);
	CHECK_STR_EQ(a.details[0].message, "boom");
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);

	kt_assert_result_skip(&a, "not enough CPUs");
	kt_assert_result_skip(&b, "no LLCs");
	CHECK(a.passed && a.skipped);
	CHECK_INT_EQ(a.details[0].kind, KT_DETAIL_SKIP);
	kt_assert_result_merge(&a, &b);
	CHECK(a.passed && a.skipped);
	CHECK_INT_EQ(a.n_details, 2);
	kt_assert_result_pass(&c);
	kt_assert_result_merge(&a, &c);
	CHECK(a.passed && !a.skipped);
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);
	kt_assert_result_clear(&c);

	/* Stats: counts summed, worst max, locality/iter-per-worker lowest non-zero. */
	kt_assert_result_pass(&a);
	kt_assert_result_pass(&b);
	memset(&cg, 0, sizeof(cg));
	cg.num_workers = 2;
	cg.num_cpus = 4;
	cg.total_migrations = 5;
	cg.total_iterations = 100;
	cg.spread = 10;
	cg.max_gap_ms = 50;
	cg.max_gap_cpu = 1;
	cg.page_locality = 0.9;
	cg.iterations_per_worker = 50;
	cg.p99_wake_latency_us = 7;
	kt_scenario_stats_add_cgroup(&a.stats, &cg);
	cg.num_workers = 3;
	cg.spread = 20;
	cg.max_gap_ms = 80;
	cg.max_gap_cpu = 6;
	cg.page_locality = 0; /* unknown: ignored */
	cg.iterations_per_worker = 20;
	cg.p99_wake_latency_us = 3;
	kt_scenario_stats_add_cgroup(&b.stats, &cg);
	cg.page_locality = 0.5;
	cg.iterations_per_worker = 0;
	kt_scenario_stats_add_cgroup(&b.stats, &cg);
	kt_assert_result_merge(&a, &b);
	CHECK_INT_EQ(a.stats.n_cgroups, 3);
	CHECK_INT_EQ(a.stats.total_workers, 8);
	CHECK_INT_EQ(a.stats.total_cpus, 12);
	CHECK_INT_EQ(a.stats.total_migrations, 15);
	CHECK_INT_EQ(a.stats.total_iterations, 300);
	CHECK_DBL_NEAR(a.stats.worst_spread, 20, 0);
	CHECK_INT_EQ(a.stats.worst_gap_ms, 80);
	CHECK_INT_EQ(a.stats.worst_gap_cpu, 6);
	CHECK_DBL_NEAR(a.stats.worst_page_locality, 0.5, 0);
	CHECK_DBL_NEAR(a.stats.worst_iterations_per_worker, 20, 0);
	CHECK_DBL_NEAR(a.stats.worst_p99_wake_latency_us, 7, 0);
	kt_assert_result_copy(&c, &a);
	CHECK_INT_EQ(c.stats.total_workers, 8);
	CHECK_INT_EQ(c.stats.worst_gap_cpu, 6);
	CHECK(c.passed && !c.skipped);
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);
	kt_assert_result_clear(&c);
}

UNIT_TEST(check_result_json)
{
	struct kt_assert_result a, b;
	struct kt_cgroup_stats cg;
	char *s, *s2, *err = NULL;

	kt_assert_result_pass(&a);
	kt_assert_result_add_failure(&a, KT_DETAIL_STUCK, "stuck %dms on cpu%d at +%dms", 2500, 1,
				     30);
	kt_assert_result_add_detail(&a, KT_DETAIL_MONITOR, "quote \" and \n newline");
	memset(&cg, 0, sizeof(cg));
	cg.num_workers = 4;
	cg.spread = 12.25;
	cg.max_gap_ms = 2500;
	cg.max_gap_cpu = 1;
	kt_scenario_stats_add_cgroup(&a.stats, &cg);
	a.stats.ext_metrics = kt_calloc(1, sizeof(*a.stats.ext_metrics));
	a.stats.ext_metrics[0].name = kt_strdup("bogo_ops");
	a.stats.ext_metrics[0].value = 1.5;
	a.stats.n_ext_metrics = 1;
	s = kt_assert_result_to_string(&a);
	CHECK_STR_CONTAINS(s, "\"passed\":false,\"skipped\":false,\"inconclusive\":false,"
			      "\"details\":[{\"kind\":\"Stuck\","
			      "\"message\":\"stuck 2500ms on cpu1 at +30ms\"}");
	CHECK_STR_CONTAINS(s, "\"worst_gap_ms\":2500");
	CHECK_STR_CONTAINS(s, "\"ext_metrics\":{\"bogo_ops\":1.5}");
	CHECK_INT_EQ(kt_assert_result_parse(s, strlen(s), &b, &err), 0);
	s2 = kt_assert_result_to_string(&b);
	CHECK_STR_EQ(s, s2);
	CHECK_INT_EQ(b.n_details, 2);
	CHECK_STR_EQ(b.details[1].message, "quote \" and \n newline");
	CHECK_INT_EQ(b.stats.cgroups[0].num_workers, 4);
	free(s);
	free(s2);
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);

	/* Skip result, no ext_metrics key when empty. */
	kt_assert_result_skip(&a, "need >=2 LLCs");
	s = kt_assert_result_to_string(&a);
	CHECK(!strstr(s, "ext_metrics"));
	CHECK_INT_EQ(kt_assert_result_parse(s, strlen(s), &b, NULL), 0);
	CHECK(b.passed && b.skipped);
	CHECK_INT_EQ(b.details[0].kind, KT_DETAIL_SKIP);
	free(s);
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);

	/* Minimal and lenient forms. */
	CHECK_INT_EQ(kt_assert_result_parse("{\"passed\":true}", 15, &b, NULL), 0);
	CHECK(b.passed && !b.skipped && b.n_details == 0);
	kt_assert_result_clear(&b);
	const char *bare = "{\"passed\":false,\"details\":[\"plain error\"]}";

	CHECK_INT_EQ(kt_assert_result_parse(bare, strlen(bare), &b, NULL), 0);
	CHECK_INT_EQ(b.details[0].kind, KT_DETAIL_OTHER);
	kt_assert_result_clear(&b);
}

UNIT_TEST(check_result_json_malformed)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "null",
	    "[]",
	    "{}",
	    "{\"passed\":\"yes\"}",
	    "{\"passed\":true,\"skipped\":1}",
	    "{\"passed\":true,\"details\":{}}",
	    "{\"passed\":true,\"details\":[{\"kind\":\"Nope\",\"message\":\"x\"}]}",
	    "{\"passed\":true,\"details\":[{\"kind\":\"Stuck\"}]}",
	    "{\"passed\":true,\"details\":[5]}",
	    "{\"passed\":true,\"stats\":[]}",
	    "{\"passed\":true,\"stats\":{\"total_workers\":-1}}",
	    "{\"passed\":true,\"stats\":{\"worst_spread\":\"x\"}}",
	    "{\"passed\":true,\"stats\":{\"cgroups\":[{\"num_workers\":1.5}]}}",
	    "{\"passed\":true,\"stats\":{\"cgroups\":[7]}}",
	    "{\"passed\":true,\"stats\":{\"ext_metrics\":{\"a\":\"b\"}}}",
	    "{\"passed\":true,\"passed\":false}",
	};
	struct kt_assert_result r;

	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		char *err = NULL;

		if (kt_assert_result_parse(bad[i], strlen(bad[i]), &r, &err) != -EINVAL)
			unit_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		CHECK(err != NULL);
		free(err);
	}
	/* Too many details is refused (bounded). */
	struct sbuf sb = SBUF_INIT;

	sb_adds(&sb, "{\"passed\":false,\"details\":[");
	for (int i = 0; i < 5000; i++)
		sb_adds(&sb, i ? ",\"x\"" : "\"x\"");
	sb_adds(&sb, "]}");
	CHECK_INT_EQ(kt_assert_result_parse(sb.s, sb.len, &r, NULL), -EINVAL);
	sb_free(&sb);
	/* Deep nesting does not crash. */
	sb_init(&sb);
	sb_adds(&sb, "{\"passed\":true,\"x\":");
	for (int i = 0; i < 100000; i++)
		sb_adds(&sb, "[");
	CHECK_INT_EQ(kt_assert_result_parse(sb.s, sb.len, &r, NULL), -EINVAL);
	sb_free(&sb);
}

UNIT_TEST(check_stats_format)
{
	struct kt_scenario_stats s;
	struct kt_cgroup_stats cg;
	struct sbuf sb = SBUF_INIT;

	memset(&s, 0, sizeof(s));
	memset(&cg, 0, sizeof(cg));
	cg.num_workers = 2;
	cg.num_cpus = 4;
	cg.spread = 12.34;
	cg.max_gap_ms = 50;
	cg.total_migrations = 7;
	cg.total_iterations = 900;
	kt_scenario_stats_add_cgroup(&s, &cg);
	cg.spread = 3;
	cg.max_gap_ms = 20;
	kt_scenario_stats_add_cgroup(&s, &cg);
	kt_scenario_stats_format(&s, &sb);
	CHECK_STR_EQ(sb_str(&sb),
		     "4 workers, 8 cpus, 14 migrations, worst_spread=12.3%, worst_gap=50ms\n"
		     "  cg0: workers=2 cpus=4 spread=12.3% gap=50ms migrations=7 iter=900\n"
		     "  cg1: workers=2 cpus=4 spread=3.0% gap=20ms migrations=7 iter=900\n");
	sb_free(&sb);
	free(s.cgroups);
}

/* ---- Inconclusive ------------------------------------------------------- */

static enum kt_verdict mkv(struct kt_assert_result *r, enum kt_verdict v)
{
	kt_assert_result_pass(r);
	if (v == KT_VERDICT_SKIP)
		kt_assert_result_skip(r, "skip");
	else if (v == KT_VERDICT_INCONCLUSIVE)
		kt_assert_result_add_inconclusive(r, KT_DETAIL_UNFAIR, "undecided");
	else if (v == KT_VERDICT_FAIL)
		kt_assert_result_add_failure(r, KT_DETAIL_STUCK, "stuck");
	return v;
}

UNIT_TEST(check_verdict_ranking_and_exit_codes)
{
	static const enum kt_verdict all[] = {KT_VERDICT_SKIP, KT_VERDICT_PASS,
					      KT_VERDICT_INCONCLUSIVE, KT_VERDICT_FAIL};

	/* Fail > Inconclusive > Pass > Skip, whatever the order of the merge. */
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			struct kt_assert_result a, b;
			enum kt_verdict want = all[i > j ? i : j];

			CHECK_INT_EQ(kt_verdict_worst(all[i], all[j]), want);
			mkv(&a, all[i]);
			mkv(&b, all[j]);
			CHECK_INT_EQ(kt_assert_result_verdict(&a), all[i]);
			kt_assert_result_merge(&a, &b);
			CHECK_INT_EQ(kt_assert_result_verdict(&a), want);
			/* The flags agree with the verdict: at most one of the three. */
			CHECK(!(a.passed && a.inconclusive));
			CHECK(!(a.skipped && !a.passed));
			kt_assert_result_clear(&a);
			kt_assert_result_clear(&b);
		}
	CHECK_STR_EQ(kt_verdict_name(KT_VERDICT_INCONCLUSIVE), "INCONCLUSIVE");
	CHECK_STR_EQ(kt_verdict_name(KT_VERDICT_FAIL), "FAIL");
	CHECK_STR_EQ(kt_verdict_name(KT_VERDICT_PASS), "PASS");
	CHECK_STR_EQ(kt_verdict_name(KT_VERDICT_SKIP), "SKIP");
	CHECK_INT_EQ(kt_verdict_exit_code(KT_VERDICT_FAIL), 1);
	CHECK_INT_EQ(kt_verdict_exit_code(KT_VERDICT_INCONCLUSIVE), 2);
	CHECK_INT_EQ(kt_verdict_exit_code(KT_VERDICT_PASS), 0);
	CHECK_INT_EQ(kt_verdict_exit_code(KT_VERDICT_SKIP), 0);
}

UNIT_TEST(check_inconclusive_details_and_copy)
{
	struct kt_assert_result a, b;

	/* An inconclusive detail never lowers a Fail, a failure overrides it. */
	kt_assert_result_pass(&a);
	kt_assert_result_add_failure(&a, KT_DETAIL_STUCK, "stuck");
	kt_assert_result_add_inconclusive(&a, KT_DETAIL_MIGRATION, "m: %d iterations", 0);
	CHECK_INT_EQ(kt_assert_result_verdict(&a), KT_VERDICT_FAIL);
	CHECK(!a.details[0].inconclusive);
	CHECK(a.details[1].inconclusive);
	CHECK_STR_EQ(a.details[1].message, "m: 0 iterations");
	kt_assert_result_clear(&a);
	kt_assert_result_skip(&a, "no LLCs");
	kt_assert_result_add_inconclusive(&a, KT_DETAIL_UNFAIR, "x");
	CHECK_INT_EQ(kt_assert_result_verdict(&a), KT_VERDICT_INCONCLUSIVE);
	kt_assert_result_add_failure(&a, KT_DETAIL_STUCK, "y");
	CHECK_INT_EQ(kt_assert_result_verdict(&a), KT_VERDICT_FAIL);
	kt_assert_result_clear(&a);
	/* copy keeps the verdict and the flag of each detail */
	mkv(&a, KT_VERDICT_INCONCLUSIVE);
	kt_assert_result_copy(&b, &a);
	CHECK_INT_EQ(kt_assert_result_verdict(&b), KT_VERDICT_INCONCLUSIVE);
	CHECK_INT_EQ(b.n_details, 1);
	CHECK(b.details[0].inconclusive);
	CHECK(kt_assert_result_failed(&b) == false);
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);
}

UNIT_TEST(check_inconclusive_json)
{
	struct kt_assert_result a, b;
	char *s, *err = NULL;
	static const char *const bad[] = {
	    "{\"passed\":true,\"inconclusive\":true}",
	    "{\"passed\":true,\"skipped\":true,\"inconclusive\":true}",
	    "{\"passed\":false,\"inconclusive\":1}",
	    "{\"passed\":false,\"details\":[{\"kind\":\"Unfair\",\"message\":\"m\","
	    "\"inconclusive\":\"yes\"}]}",
	};

	mkv(&a, KT_VERDICT_INCONCLUSIVE);
	kt_assert_result_add_detail(&a, KT_DETAIL_OTHER, "note");
	s = kt_assert_result_to_string(&a);
	CHECK_STR_CONTAINS(s, "\"passed\":false,\"skipped\":false,\"inconclusive\":true");
	CHECK_STR_CONTAINS(s, "{\"kind\":\"Unfair\",\"message\":\"undecided\",\"inconclusive\":true}");
	CHECK_STR_CONTAINS(s, "{\"kind\":\"Other\",\"message\":\"note\"}");
	CHECK_INT_EQ(kt_assert_result_parse(s, strlen(s), &b, &err), 0);
	CHECK_INT_EQ(kt_assert_result_verdict(&b), KT_VERDICT_INCONCLUSIVE);
	CHECK(b.details[0].inconclusive && !b.details[1].inconclusive);
	free(s);
	kt_assert_result_clear(&a);
	kt_assert_result_clear(&b);
	/* An older result without the key parses as before. */
	CHECK_INT_EQ(kt_assert_result_parse("{\"passed\":false}", 16, &b, &err), 0);
	CHECK_INT_EQ(kt_assert_result_verdict(&b), KT_VERDICT_FAIL);
	kt_assert_result_clear(&b);
	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		CHECK_INT_EQ(kt_assert_result_parse(bad[i], strlen(bad[i]), &b, &err), -EINVAL);
		CHECK(err != NULL);
		free(err);
		err = NULL;
	}
}

/* One inconclusive detail of kind k whose message contains msg, verdict Inconclusive. */
static void expect_inconclusive(struct kt_assert_result *res, enum kt_detail_kind k,
				const char *msg)
{
	CHECK_INT_EQ(kt_assert_result_verdict(res), KT_VERDICT_INCONCLUSIVE);
	CHECK_INT_EQ(res->n_details, 1);
	if (res->n_details >= 1) {
		CHECK(res->details[0].inconclusive);
		CHECK_INT_EQ(res->details[0].kind, k);
		CHECK_STR_EQ(res->details[0].message, msg);
	}
	kt_assert_result_clear(res);
}

UNIT_TEST(check_inconclusive_spread_and_throughput)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_none();
	struct kt_assert_result res;

	/* Two workers did work, but only one has a wall time: no spread. */
	r[0] = mk(1, 1024, 10, 0);
	r[1] = mk(2, 1024, 10, 1);
	r[1].wall_time_ns = 0;
	kt_check_not_starved(r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_UNFAIR,
			    "spread: only 1 of 2 workers measured a wall time (need 2)");
	/* One worker alone has no spread to measure: a pass, not undecided. */
	kt_check_not_starved(r, 1, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	r[1].wall_time_ns = 1000000000ull;

	/* A rate with no CPU time has a zero denominator. */
	a.min_work_rate = KT_SOME_F64(1);
	r[1].cpu_time_ns = 0;
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_BENCHMARK,
			    "worker 2 throughput: no CPU time measured (zero denominator)");
	a = kt_assert_none();
	a.max_throughput_cv = KT_SOME_F64(0.5);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_BENCHMARK,
			    "throughput CV: only 1 of 2 workers measured CPU time (need 2)");
	/* With both measured it decides again (equal rates: CV 0 passes). */
	r[1].cpu_time_ns = r[0].cpu_time_ns;
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	/* A real failure elsewhere still fails. */
	r[1].cpu_time_ns = 0;
	r[1].work_units = 0;
	a.not_starved = KT_SOME_BOOL(true);
	kt_check_workers(&a, r, 2, NULL, &res);
	CHECK_INT_EQ(kt_assert_result_verdict(&res), KT_VERDICT_FAIL);
	kt_assert_result_clear(&res);
}

UNIT_TEST(check_inconclusive_wake_iterations_migration_numa)
{
	struct kt_worker_report r[2];
	struct kt_assert a = kt_assert_none();
	struct kt_assert_result res;
	struct kt_cpuset cs, nodes;
	struct kt_check_ctx ctx = {.cpuset = &cs, .cpuset_nodes = &nodes};
	static const uint64_t one[] = {1000};

	r[0] = mk(1, 1024, 10, 0);
	r[1] = mk(2, 1024, 10, 1);
	a.max_wake_latency_cv = KT_SOME_F64(1);
	set_samples(&r[0], one, 1);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_BENCHMARK,
			    "wake latency CV: 1 wake sample(s) (need 2)");
	a = kt_assert_none();
	a.max_p99_wake_latency_ns = KT_SOME_U64(5000);
	kt_check_workers(&a, r + 1, 1, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_BENCHMARK, "p99 wake latency: no wake samples");
	kt_check_workers(&a, r, 1, NULL, &res); /* one sample, 1000 ns: decided */
	expect_pass(&res);
	kt_assert_result_clear(&res);

	a = kt_assert_none();
	a.min_iteration_rate = KT_SOME_F64(1);
	r[1].wall_time_ns = 0;
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_BENCHMARK,
			    "worker 2 iteration rate: no wall time measured (zero denominator)");
	r[1].wall_time_ns = 1000000000ull;

	a = kt_assert_none();
	a.max_migration_ratio = KT_SOME_F64(0.1);
	r[0].iterations = r[1].iterations = 0;
	r[0].migration_count = 3;
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_MIGRATION,
			    "migration ratio: 0 iterations (zero denominator, 3 migrations)");

	/* NUMA checks: no pages at all, then a cpuset whose nodes are unknown. */
	a = kt_assert_none();
	a.max_cross_node_migration_ratio = KT_SOME_F64(0.1);
	kt_check_workers(&a, r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_PAGE_LOCALITY,
			    "NUMA checks: 0 pages measured (zero denominator)");
	set_pages(&r[0], 0, 60, 1, 40);
	kt_cpuset_parse("0-1", &cs);
	kt_cpuset_zero(&nodes);
	a = kt_assert_none();
	a.min_page_locality = KT_SOME_F64(0.5);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_inconclusive(&res, KT_DETAIL_PAGE_LOCALITY,
			    "page locality: the nodes of the group's cpuset are unknown, so local "
			    "pages cannot be told from remote");
	kt_cpuset_parse("0", &nodes);
	kt_check_workers(&a, r, 2, &ctx, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	kt_worker_report_clear(&r[0]);
	kt_worker_report_clear(&r[1]);
}

UNIT_TEST(check_stuck_on_cpu_gap_is_inconclusive)
{
	struct kt_worker_report r[2];
	struct kt_assert_result res;

	r[0] = mk(1, 1024, 10, 0);
	r[1] = mk(2, 1024, 10, 1);
	/* 2500 ms gap, the kernel counted 2400 ms of it as running: not the scheduler */
	r[1].max_gap_ms = 2500;
	r[1].max_gap_at_ms = 300;
	r[1].max_gap_on_cpu_ms = 2400;
	kt_check_not_starved(r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_STUCK,
			    "stuck 2500ms on cpu1 at +300ms, but the kernel counted the worker as "
			    "running for 2400ms of it: the vCPU was not executed (host or emulator), "
			    "which no scheduler causes");
	/* Half of it off CPU: the scheduler's doing, a failure. */
	r[1].max_gap_on_cpu_ms = 1250;
	kt_check_not_starved(r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_STUCK, "stuck 2500ms on cpu1 at +300ms");
	kt_assert_result_clear(&res);
	/* Under the limit nothing is said either way. */
	r[1].max_gap_ms = 1500;
	r[1].max_gap_on_cpu_ms = 1500;
	kt_check_not_starved(r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
}

/* /proc/schedstat of a 4-CPU guest (version 16), before and after. */
static const char *ss_before =
    "version 16\ntimestamp 4294667948\n"
    "cpu0 0 0 21 6 21 6 717413350 48226625 243\n"
    "domain0 3 0 0 0 0 0 0 0 0 7 7 0 0 0 0 0 7 1 1 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 1 0 0\n"
    "domain1 f 0 0 0 0 0 0 0 0 5 5 0 0 0 0 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 14 1 0\n"
    "cpu1 0 0 8 4 1 0 209529152 206654009 61\n"
    "domain0 3 0 0 0 0 0 0 0 0 22 21 1 1 0 0 0 21 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0\n"
    "domain1 f 0 0 0 0 0 0 0 0 12 12 0 0 0 0 0 11 1 1 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0\n";
static const char *ss_after =
    "version 16\ntimestamp 4294683104\n"
    "cpu0 0 0 671227 74 193 113 12103555637 30573116957 1863\n"
    "domain0 3 71 71 0 177 0 0 0 69 39 39 0 11 0 0 0 29 28 28 0 25 0 0 0 4 0 0 0 0 0 0 0 0 0 11 0 "
    "0\n"
    "domain1 f 77 67 3 1449 8 0 0 59 156 138 9 6379 11 0 0 137 27 21 5 3137 1 0 0 21 5 1 2 0 0 0 0 "
    "0 0 69 5 0\n"
    "cpu1 0 0 645 31 100 52 12867598826 6977931386 536\n"
    "domain0 3 35 35 0 3321 0 0 0 17 47 46 1 13 0 0 0 40 4 4 0 4 0 0 0 2 0 0 0 0 0 0 0 0 0 10 0 0\n"
    "domain1 f 78 78 0 0 0 0 0 0 124 123 0 160 1 0 0 111 8 8 0 0 0 0 0 8 0 0 0 0 0 0 0 0 0 38 1 "
    "0\n";

UNIT_TEST(check_lb_stats_parse_and_format)
{
	struct kt_lb_stats a, b;
	struct kt_cpuset cpus;
	struct sbuf sb = SBUF_INIT;

	CHECK_INT_EQ(kt_lb_stats_parse(ss_before, &a), 0);
	CHECK_INT_EQ(kt_lb_stats_parse(ss_after, &b), 0);
	CHECK_INT_EQ(b.version, 16);
	CHECK_INT_EQ(b.n_cpus, 2);
	CHECK_INT_EQ(b.cpus[0].n_domains, 2);
	/* three idle types summed: 77 + 156 + 27 runs, 67 + 138 + 21 balanced */
	CHECK_INT_EQ(b.cpus[0].domains[1].lb_count, 260);
	CHECK_INT_EQ(b.cpus[0].domains[1].lb_balanced, 226);
	CHECK_INT_EQ(b.cpus[0].domains[1].lb_gained, 20);
	CHECK_INT_EQ(b.cpus[0].domains[1].alb_count, 5);
	CHECK_INT_EQ(b.cpus[0].domains[1].alb_pushed, 2);
	CHECK_INT_EQ(kt_cpuset_count(&b.cpus[0].domains[1].span), 4);
	/* Only CPU 1 is the group's; CPU 0 shares its lowest domain. */
	kt_cpuset_zero(&cpus);
	kt_cpuset_set(&cpus, 1);
	kt_lb_stats_format(&a, &b, &cpus, &sb);
	CHECK_STR_CONTAINS(sb_str(&sb),
			   "\n    cpu0 (not the group's): tasks waited 30.52s in its "
			   "queue, went idle 68 times; balancing over {0-1}: 130 runs");
	CHECK_STR_CONTAINS(
	    sb_str(&sb), "\n    cpu1: tasks waited 6.77s in its queue, went idle 27 times; "
			 "balancing over {0-1}: 64 runs, 64 found it balanced, 0 failed to move, "
			 "0 tasks pulled; balancing over {0-3}: 197 runs, 196 found it balanced, 0 "
			 "failed to move, 1 tasks pulled");
	sb_free(&sb);
	kt_lb_stats_free(&a);
	kt_lb_stats_free(&b);
	/* Malformed and unknown versions are refused. */
	CHECK_INT_EQ(kt_lb_stats_parse("version 16\ncpu0 0 0 1\ndomain0 zz 1 2\n", &a), -EINVAL);
	CHECK_INT_EQ(kt_lb_stats_parse("version 14\ncpu0 1 2 3 4 5 6 7 8 9\n", &a),
		     -EPROTONOSUPPORT);
	CHECK_INT_EQ(kt_lb_stats_parse("version 16\ndomain0 3 1 2 3\n", &a), -EINVAL);
}

UNIT_TEST(check_spread_failure_shows_evidence)
{
	struct kt_worker_report r[2];
	struct kt_assert_result res;
	struct kt_migration mig[2] = {{.at_ns = 500000000ull, .from_cpu = 1, .to_cpu = 2},
				      {.at_ns = 750000000ull, .from_cpu = 2, .to_cpu = 1}};
	struct kt_lb_stats a, b;
	struct kt_cpuset cs;
	struct kt_check_ctx cc = {.cpuset = &cs};

	r[0] = mk(12, 1024, 5, 1);
	r[1] = mk(13, 1024, 66, 1);
	r[1].schedstat_cpu_time_ns = 340000000ull;
	r[1].schedstat_run_delay_ns = 660000000ull;
	r[1].schedstat_run_count = 80;
	r[1].migrations = mig;
	r[1].n_migrations = 2;
	r[1].migration_count = 2;
	kt_cpuset_set(&r[1].cpus_used, 2);
	kt_cpuset_zero(&cs);
	kt_cpuset_set(&cs, 1);
	kt_cpuset_set(&cs, 2);
	CHECK_INT_EQ(kt_lb_stats_parse(ss_before, &a), 0);
	CHECK_INT_EQ(kt_lb_stats_parse(ss_after, &b), 0);
	cc.lb_start = &a;
	cc.lb_end = &b;
	kt_check_not_starved(r, 2, &cc, &res);
	expect_one(&res, KT_DETAIL_UNFAIR, "unfair cgroup: spread=66% (0-66%) 2 workers on 2 cpus");
	CHECK_STR_CONTAINS(res.details[0].message, "each waited runnable, the kernel's schedstat");
	CHECK_STR_CONTAINS(res.details[0].message,
			   "\n    tid 12: off-CPU 5% of 1.00s; kernel: ran 0.00s, waited runnable "
			   "0.00s (0%), 0 times on a CPU, 0 migrations; ran on cpu1 0.0-1.0s");
	CHECK_STR_CONTAINS(res.details[0].message,
			   "\n    tid 13: off-CPU 66% of 1.00s; kernel: ran 0.34s, waited runnable "
			   "0.66s (66%), 80 times on a CPU, 2 migrations; ran on cpu1 0.0-0.5s, cpu2 "
			   "0.5-0.8s, cpu1 0.8-1.0s (cpu1 75%, cpu2 25%)");
	CHECK_STR_CONTAINS(
	    res.details[0].message,
	    "\n  load balancer on these CPUs over the run (/proc/schedstat):\n    cpu0 "
	    "(not the group's): tasks waited");
	CHECK_STR_CONTAINS(res.details[0].message, "\n    cpu1: tasks waited 6.77s");
	/* The summary comes right after the headline. */
	CHECK_STR_CONTAINS(res.details[0].message,
			   "2 workers on 2 cpus\n  why: for most of the run cpu1 held 2 (waited "
			   "0-66%, queue 6.8), cpu2 held none of them; queue: tasks of any group "
			   "waiting on that CPU, on average; uneven: 0 to 2 per CPU; the load "
			   "balancer ran 261 times on these CPUs, found them balanced 260 times and "
			   "pulled 1 tasks\n  per worker");
	kt_assert_result_clear(&res);
	/* Without snapshots the per-worker part is still there. */
	cc.lb_start = NULL;
	kt_check_not_starved(r, 2, &cc, &res);
	CHECK(!strstr(res.details[0].message, "load balancer"));
	CHECK_STR_CONTAINS(res.details[0].message, "tid 13: off-CPU 66%");
	kt_assert_result_clear(&res);
	kt_lb_stats_free(&a);
	kt_lb_stats_free(&b);
}

/*
 * The why line of a spread failure: workers per CPU they settled on (at
 * least half the run), even or uneven, and the balancer's view
 * (cgroup_partial_cpus_steady under EEVDF: 1 worker alone on cpu1, 3 on
 * cpu2, the balancer finding it balanced).
 */
UNIT_TEST(check_spread_why_line)
{
	static const double wait[5] = {3, 65, 66, 66, 20};
	struct kt_migration mig[2] = {{.at_ns = 300000000ull, .from_cpu = 1, .to_cpu = 2},
				      {.at_ns = 600000000ull, .from_cpu = 2, .to_cpu = 3}};
	struct kt_worker_report r[5];
	struct kt_lb_stats a, b;
	struct kt_cpuset cs;
	struct sbuf sb = SBUF_INIT;

	for (int i = 0; i < 5; i++)
		r[i] = mk_wait(40 + i, 50, i ? 2 : 1, 100, wait[i]);
	kt_cpuset_parse("1-2", &cs);
	kt_spread_why_format(r, 4, &cs, NULL, NULL, NULL, &sb);
	CHECK_STR_EQ(sb_str(&sb), "\n  why: for most of the run cpu1 held 1 (waited 3%), cpu2 held "
				  "3 (waited 65-66%); uneven: 1 to 3 per CPU");
	sb_free(&sb);
	/* A worker with no CPU for half its run moved; 2 and 2 is even. */
	r[1].cpus_used = r[0].cpus_used;
	r[4].migrations = mig;
	r[4].n_migrations = 2;
	kt_spread_why_format(r, 5, &cs, NULL, NULL, NULL, &sb);
	CHECK_STR_EQ(sb_str(&sb), "\n  why: for most of the run cpu1 held 2 (waited 3-65%), cpu2 "
				  "held 2 (waited 66%); 1 moved between CPUs; even: 2 per CPU");
	sb_free(&sb);
	/* Snapshots where the balancer never ran on the group's CPUs (sched_ext). */
	CHECK_INT_EQ(kt_lb_stats_parse(ss_before, &a), 0);
	kt_cpuset_parse("1", &cs);
	kt_spread_why_format(r, 2, &cs, &a, &a, NULL, &sb);
	CHECK_STR_EQ(sb_str(&sb), "\n  why: for most of the run cpu1 held 2 (waited 3-65%, queue "
				  "0.0); queue: tasks of any group waiting on that CPU, on average; "
				  "even: 2 per CPU; the fair-class load balancer did not run on these "
				  "CPUs");
	sb_free(&sb);
	kt_lb_stats_free(&a);
	(void)b;
}

/* An always-runnable worker: ran and waited wait_pct of a wall of secs seconds. */
static struct kt_worker_report mk_busy(pid_t tid, int cpu, double secs, double wait_pct)
{
	struct kt_worker_report r = mk(tid, 1024, wait_pct, cpu);

	r.wall_time_ns = (uint64_t)(secs * 1e9);
	r.schedstat_run_count = 100;
	r.schedstat_run_delay_ns = (uint64_t)(secs * wait_pct * 1e7);
	r.schedstat_cpu_time_ns = r.wall_time_ns - r.schedstat_run_delay_ns;
	return r;
}

/*
 * What the placement alone implies (cgroup_cpuset_swap_disjoint under
 * EEVDF, 4 vCPUs: 4 workers on cpu0, then 1 on cpu1 and 3 on cpu2 for
 * the middle third, then cpu0 again; measured 50 % and 72 %).
 */
UNIT_TEST(check_spread_why_placement_model)
{
	struct kt_migration m0[2] = {{1000000000ull, 0, 1}, {2000000000ull, 1, 0}};
	struct kt_migration m1[3][2] = {{{1000000000ull, 0, 2}, {2000000000ull, 2, 0}},
					{{1000000000ull, 0, 2}, {2000000000ull, 2, 0}},
					{{1000000000ull, 0, 2}, {2000000000ull, 2, 0}}};
	struct kt_worker_report r[4];
	struct kt_cpuset cs;
	struct sbuf sb = SBUF_INIT;

	r[0] = mk_busy(50, 0, 3, 50);
	r[0].migrations = m0;
	r[0].n_migrations = 2;
	for (int i = 1; i < 4; i++) {
		r[i] = mk_busy(50 + i, 0, 3, 72);
		r[i].migrations = m1[i - 1];
		r[i].n_migrations = 2;
	}
	kt_cpuset_parse("0-2", &cs);
	kt_spread_why_format(r, 4, &cs, NULL, NULL, NULL, &sb);
	CHECK_STR_EQ(sb_str(&sb),
		     "\n  why: for most of the run cpu0 held 4 (waited 50-72%), cpu1 held none of "
		     "them, cpu2 held none of them; uneven: 0 to 4 per CPU; sharing each CPU "
		     "evenly among the group's workers on it, this placement alone makes a "
		     "spread of 22% (2 or more apart for 33% of the run, longest 1.0-2.0s: cpu1 "
		     "held 1, cpu2 held 3)");
	sb_free(&sb);
	/* One worker not always runnable: nothing follows from the placement. */
	r[2].schedstat_cpu_time_ns /= 2;
	kt_spread_why_format(r, 4, &cs, NULL, NULL, NULL, &sb);
	CHECK(!strstr(sb_str(&sb), "placement alone"));
	sb_free(&sb);
	/* A full migration record: the rest of the run is unknown. */
	r[2].schedstat_cpu_time_ns *= 2;
	kt_spread_why_format(r, 4, &cs, NULL, NULL, NULL, &sb);
	CHECK_STR_CONTAINS(sb_str(&sb), "placement alone makes a spread of 22%");
	sb_free(&sb);
	struct kt_migration *full = kt_calloc(KT_MAX_MIGRATIONS, sizeof(*full));

	memcpy(full, m1[2], sizeof(m1[2]));
	for (size_t i = 2; i < KT_MAX_MIGRATIONS; i++)
		full[i] = (struct kt_migration){2000000000ull, 0, 0};
	r[3].migrations = full;
	r[3].n_migrations = KT_MAX_MIGRATIONS;
	kt_spread_why_format(r, 4, &cs, NULL, NULL, NULL, &sb);
	CHECK(!strstr(sb_str(&sb), "placement alone"));
	sb_free(&sb);
	free(full);
}

/*
 * Two workers share cpu0 while cpu1 and cpu2 hold one each; the one on
 * cpu2 visits cpu0 only briefly (3 against 1): the stretch is reported as
 * under 1 % of the run and under 0.1 s long, not "0% of the run" or
 * "1.5-1.5s".
 */
UNIT_TEST(check_spread_why_placement_brief)
{
	struct kt_migration m3[2] = {{1500000000ull, 2, 0}, {1520000000ull, 0, 2}};
	struct kt_worker_report r[4];
	struct kt_cpuset cs;
	struct sbuf sb = SBUF_INIT;

	for (int secs = 3; secs <= 30; secs += 27) {
		r[0] = mk_busy(70, 1, secs, 1);
		r[1] = mk_busy(71, 0, secs, 50);
		r[2] = mk_busy(72, 0, secs, 50);
		r[3] = mk_busy(73, 2, secs, 1);
		r[3].migrations = m3;
		r[3].n_migrations = 2;
		kt_cpuset_parse("0-2", &cs);
		kt_spread_why_format(r, 4, &cs, NULL, NULL, NULL, &sb);
		if (secs == 3)
			CHECK_STR_CONTAINS(sb_str(&sb),
					   "placement alone makes a spread of 50% (2 or more apart "
					   "for under 1% of the run, longest under 0.1 s, at 1.5s: "
					   "cpu0 held 3, cpu1 held 1)");
		else /* 0.2 s of 30 s: still under 1 %, and the stretch as it is */
			CHECK_STR_CONTAINS(sb_str(&sb), "(2 or more apart for under 1% of the run, "
							"longest 10.0-10.2s: cpu0 held 3, cpu1 "
							"held 1)");
		sb_free(&sb);
		m3[0].at_ns = 10000000000ull;
		m3[1].at_ns = 10200000000ull;
	}
}

/*
 * One worker per CPU, but the CPUs' queues (other groups' tasks) differ:
 * the queue estimate from /proc/schedstat's per-CPU run_delay explains the
 * spread the placement alone does not (cgroup_cpuset_apply_midrun).
 */
UNIT_TEST(check_spread_why_queues)
{
	static const char before[] = "version 16\ncpu0 0 0 0 0 0 0 0 1000000000 10\n"
				     "cpu1 0 0 0 0 0 0 0 1000000000 10\n";
	static const char after[] = "version 16\ncpu0 0 0 0 0 0 0 0 3000000000 10\n"
				    "cpu1 0 0 0 0 0 0 0 1000000000 10\n";
	struct kt_worker_report r[2] = {mk_busy(60, 0, 1, 66), mk_busy(61, 1, 1, 1)};
	struct kt_lb_stats a, b;
	struct kt_cpuset cs;
	struct sbuf sb = SBUF_INIT;

	CHECK_INT_EQ(kt_lb_stats_parse(before, &a), 0);
	CHECK_INT_EQ(kt_lb_stats_parse(after, &b), 0);
	a.at_ns = 5000000000ull;
	b.at_ns = 6000000000ull;
	kt_cpuset_parse("0-1", &cs);
	kt_spread_why_format(r, 2, &cs, &a, &b, NULL, &sb);
	CHECK_STR_EQ(sb_str(&sb),
		     "\n  why: for most of the run cpu0 held 1 (waited 66%, queue 2.0), cpu1 held 1 "
		     "(waited 1%, queue 0.0); queue: tasks of any group waiting on that CPU, on "
		     "average; even: 1 per CPU; sharing each CPU evenly among the group's workers "
		     "on it, this placement alone makes a spread of 0% (never 2 or more apart); "
		     "waiting as those queues imply makes a spread of 67%; the fair-class load "
		     "balancer did not run on these CPUs");
	sb_free(&sb);
	/* The window is the snapshots' when known: over 2 s the queue on cpu0 is 1.0. */
	b.at_ns = 7000000000ull;
	kt_spread_why_format(r, 2, &cs, &a, &b, NULL, &sb);
	CHECK_STR_CONTAINS(sb_str(&sb), "cpu0 held 1 (waited 66%, queue 1.0)");
	CHECK_STR_CONTAINS(sb_str(&sb), "waiting as those queues imply makes a spread of 50%");
	sb_free(&sb);
	kt_lb_stats_free(&a);
	kt_lb_stats_free(&b);
}

/* /proc/schedstat with cpu0 and cpu1 at run_delay d0 and d1 (ns). */
static void rq_stats(struct kt_lb_stats *st, uint64_t d0, uint64_t d1)
{
	char txt[256];

	snprintf(txt, sizeof(txt),
		 "version 16\ncpu0 0 0 0 0 0 0 0 %llu 10\ncpu1 0 0 0 0 0 0 0 %llu 10\n",
		 (unsigned long long)d0, (unsigned long long)d1);
	CHECK_INT_EQ(kt_lb_stats_parse(txt, st), 0);
}

/*
 * The queues at the time, not on average: two queues of 2 that trade CPUs
 * halfway while two workers trade CPUs too, one always meeting the queue
 * and one never. Both CPUs average 1 waiting, so the average explains
 * nothing; the samples explain all of it.
 */
UNIT_TEST(check_spread_why_sampled_queues)
{
	struct kt_migration ma = {1000000000ull, 0, 1}, mb = {1000000000ull, 1, 0};
	struct kt_worker_report r[2] = {mk_busy(70, 0, 2, 66), mk_busy(71, 1, 2, 1)};
	struct kt_lb_stats a, b, mid;
	struct kt_rq_series rq = {.every_ns = 100000000ull};
	struct kt_cpuset cs;
	struct sbuf sb = SBUF_INIT;

	r[0].migrations = &ma;
	r[1].migrations = &mb;
	r[0].n_migrations = r[1].n_migrations = 1;
	r[0].start_ns = r[1].start_ns = 10000000000ull;
	rq_stats(&a, 0, 0);
	rq_stats(&mid, 2000000000ull, 0);
	rq_stats(&b, 2000000000ull, 2000000000ull);
	a.at_ns = 10000000000ull;
	b.at_ns = 12000000000ull;
	kt_rq_series_add(&rq, a.at_ns, &a, 64);
	kt_rq_series_add(&rq, 11000000000ull, &mid, 64);
	kt_rq_series_add(&rq, b.at_ns, &b, 64);
	kt_rq_series_add(&rq, 11500000000ull, &mid, 64); /* not later: ignored */
	CHECK_INT_EQ(rq.n, 3);
	kt_cpuset_parse("0-1", &cs);
	kt_spread_why_format(r, 2, &cs, &a, &b, &rq, &sb);
	CHECK_STR_CONTAINS(sb_str(&sb), "this placement alone makes a spread of 0% (never 2 or more "
					"apart); waiting as the queues on their CPUs at the time "
					"imply (sampled every 0.1 s) makes a spread of 67%");
	sb_free(&sb);
	/* Without samples: the averages, which explain nothing here. */
	kt_spread_why_format(r, 2, &cs, &a, &b, NULL, &sb);
	CHECK_STR_CONTAINS(sb_str(&sb), "waiting as those queues imply makes a spread of 0%");
	sb_free(&sb);
	/* A worker without a start time cannot be lined up with the samples. */
	r[1].start_ns = 0;
	kt_spread_why_format(r, 2, &cs, &a, &b, &rq, &sb);
	CHECK_STR_CONTAINS(sb_str(&sb), "waiting as those queues imply makes a spread of 0%");
	sb_free(&sb);
	/* Past max samples, every other one goes and the period doubles. */
	for (int i = 0; i < 3; i++)
		kt_rq_series_add(&rq, 13000000000ull + (uint64_t)i * 1000000000ull, &b, 4);
	CHECK_INT_EQ(rq.n, 4);
	CHECK_INT_EQ(rq.every_ns, 200000000ull);
	CHECK_INT_EQ(rq.at_ns[1], 12000000000ull);
	CHECK_INT_EQ(rq.at_ns[3], 15000000000ull);
	kt_rq_series_free(&rq);
	kt_lb_stats_free(&a);
	kt_lb_stats_free(&b);
	kt_lb_stats_free(&mid);
}

UNIT_TEST(check_result_by_design)
{
	struct kt_assert_result r;
	const unsigned unfair = 1u << KT_DETAIL_UNFAIR;

	/* Only spread failures: declared, the verdict drops to Pass. */
	kt_assert_result_pass(&r);
	kt_assert_result_add_failure(&r, KT_DETAIL_UNFAIR, "unfair cgroup: spread=40%%");
	CHECK_INT_EQ(kt_assert_result_by_design(&r, unfair, "a FIFO hog"), 1);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_PASS);
	CHECK_STR_EQ(r.details[0].message, "expected by design (a FIFO hog): unfair cgroup: spread=40%");
	kt_assert_result_clear(&r);
	/* Another failure stays a failure; the spread detail is still labelled. */
	kt_assert_result_pass(&r);
	kt_assert_result_add_failure(&r, KT_DETAIL_UNFAIR, "unfair cgroup: spread=40%%");
	kt_assert_result_add_failure(&r, KT_DETAIL_STARVED, "tid 3 starved (0 work units)");
	CHECK_INT_EQ(kt_assert_result_by_design(&r, unfair, "x"), 1);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_FAIL);
	kt_assert_result_clear(&r);
	/* An inconclusive detail left over: Inconclusive, not Pass. */
	kt_assert_result_pass(&r);
	kt_assert_result_add_inconclusive(&r, KT_DETAIL_STUCK, "stuck but the vCPU was not run");
	kt_assert_result_add_failure(&r, KT_DETAIL_UNFAIR, "unfair cgroup: spread=40%%");
	CHECK_INT_EQ(kt_assert_result_by_design(&r, unfair, "x"), 1);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_INCONCLUSIVE);
	kt_assert_result_clear(&r);
	/* A passing result is left alone. */
	kt_assert_result_pass(&r);
	CHECK_INT_EQ(kt_assert_result_by_design(&r, unfair, "x"), 0);
	CHECK_INT_EQ(kt_assert_result_verdict(&r), KT_VERDICT_PASS);
	kt_assert_result_clear(&r);
}

/*
 * Workers that sleep by design (a messenger and its receivers, bursty or
 * I/O work): their off-CPU shares differ by the sleep, their waits for a
 * CPU do not. The spread is over the waits.
 */
UNIT_TEST(check_spread_ignores_chosen_sleep)
{
	struct kt_worker_report r[2];
	struct kt_assert_result res;

	r[0] = mk(1, 1024, 36, 0); /* the messenger: spins */
	r[1] = mk(2, 1024, 77, 1); /* a receiver: sleeps most of the time */
	r[0].schedstat_run_delay_ns = 350000000ull;
	r[0].schedstat_run_count = 1500;
	r[1].schedstat_run_delay_ns = 330000000ull;
	r[1].schedstat_run_count = 1300;
	kt_check_not_starved(r, 2, NULL, &res);
	expect_pass(&res);
	CHECK_DBL_NEAR(res.stats.cgroups[0].spread, 2, 1e-9);
	kt_assert_result_clear(&res);
	/* The same waits apart: a failure whatever the sleep. */
	r[1].schedstat_run_delay_ns = 700000000ull;
	kt_check_not_starved(r, 2, NULL, &res);
	expect_one(&res, KT_DETAIL_UNFAIR, "unfair cgroup: spread=35% (35-70%) 2 workers on 2 cpus");
	kt_assert_result_clear(&res);
}

/* Two workers that are no two units of one class: the spread cannot compare. */
#define NO_TWO_UNITS                                                                       \
	"spread: no two of the 2 workers were allowed on the same CPUs in the same role (a "   \
	"fan-out messenger is judged apart, an exchange pair as one), so no two fair shares " \
	"compare"

/* The one detail of res (a failure), "" after a CHECK failure when there is none. */
static const char *one_detail(const struct kt_assert_result *res)
{
	CHECK_INT_EQ(res->n_details, 1);
	return res->n_details ? res->details[0].message : "";
}

/*
 * Workers pinned to different CPUs (random single-CPU affinities) have
 * different fair shares by construction: only workers allowed on the same
 * CPUs are compared.
 */
UNIT_TEST(check_spread_compares_same_affinity_only)
{
	struct kt_worker_report r[4];
	struct kt_assert_result res;

	for (int i = 0; i < 4; i++) {
		r[i] = mk(10 + i, 1024, i ? 67 : 0, i ? 2 : 1);
		r[i].schedstat_run_count = 100;
		r[i].schedstat_run_delay_ns = i ? 670000000ull : 0;
		kt_cpuset_set(&r[i].allowed_cpus, i ? 2 : 1);
	}
	kt_check_not_starved(r, 4, NULL, &res);
	expect_pass(&res);
	CHECK_DBL_NEAR(res.stats.cgroups[0].spread, 0, 1e-9);
	kt_assert_result_clear(&res);
	/* The same four allowed on both CPUs: 3+1 is unfair. */
	for (int i = 0; i < 4; i++)
		kt_cpuset_set(&r[i].allowed_cpus, 1), kt_cpuset_set(&r[i].allowed_cpus, 2);
	kt_check_not_starved(r, 4, NULL, &res);
	expect_one(&res, KT_DETAIL_UNFAIR, "unfair cgroup: spread=67% (0-67%) 4 workers on 2 cpus");
	kt_assert_result_clear(&res);
	/* Two workers, each on its own CPU: nothing to compare. */
	kt_cpuset_zero(&r[1].allowed_cpus);
	kt_cpuset_set(&r[1].allowed_cpus, 2);
	kt_check_not_starved(r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_UNFAIR,
			    NO_TWO_UNITS);
}

/*
 * A fan-out messenger is judged apart from its receivers: it is runnable
 * nearly all the time while they sleep and are woken, so its waited share
 * measures something else (scx_simple, fan_out_wake: 21 % against 39-40 %).
 * Two messengers still compare with each other, and unfair receivers fail.
 */
UNIT_TEST(check_spread_messenger_apart)
{
	static const double wait[5] = {21, 40, 39, 40, 39};
	struct kt_worker_report r[5];
	struct kt_assert_result res;
	const char *msg;

	for (int i = 0; i < 5; i++) {
		r[i] = mk_wait(20 + i, i ? 97 : 21, i % 4, 100, wait[i]);
		r[i].is_messenger = !i;
		kt_cpuset_parse("0-3", &r[i].allowed_cpus);
	}
	kt_check_not_starved(r, 5, NULL, &res);
	expect_pass(&res);
	CHECK_DBL_NEAR(res.stats.cgroups[0].spread, 1, 1e-9);
	kt_assert_result_clear(&res);
	/* Receivers apart from each other: a failure, the messenger named. */
	r[1].schedstat_run_delay_ns = 100000000ull;
	kt_check_not_starved(r, 5, NULL, &res);
	msg = one_detail(&res);
	CHECK(kt_startswith(msg, "unfair cgroup: spread=30% (10-40%) 5 workers on 4 cpus"));
	CHECK(strstr(msg, "\n    tid 20 (messenger): off-CPU 21% of 1.00s") != NULL);
	CHECK(strstr(msg, "\n    tid 21: off-CPU 97%") != NULL);
	kt_assert_result_clear(&res);
	/* A messenger and one receiver: no two in one role. */
	kt_check_not_starved(r, 2, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_UNFAIR,
			    NO_TWO_UNITS);
	kt_assert_result_clear(&res);
	/* Two messengers compare: 21 % against 60 % fails. */
	r[1] = r[0];
	r[1].tid = 21;
	r[1].schedstat_run_delay_ns = 600000000ull;
	kt_check_not_starved(r, 2, NULL, &res);
	CHECK_INT_EQ(res.n_details, 1);
	kt_assert_result_clear(&res);
}

/*
 * An exchange pair (PipeIo, CachePipe, FutexPingPong) is judged as one: one
 * partner's wait for a CPU is the other's sleep on the pipe (scx_simple,
 * cache_pipe_io_compute_imbalance on 4 vCPUs: one pair 14 % / 46 %, the other
 * 28 % / 32 %; both pairs 30 %). Pairs apart from each other still fail.
 */
UNIT_TEST(check_spread_exchange_pair_as_one)
{
	static const double wait[4] = {14, 46, 28, 32};
	struct kt_worker_report r[4];
	struct kt_assert_result res;
	const char *msg;

	for (int i = 0; i < 4; i++) {
		r[i] = mk_wait(30 + i, 70, i, 1000, wait[i]);
		r[i].exchange_pair = (uint32_t)(i / 2 + 1);
		kt_cpuset_parse("0-3", &r[i].allowed_cpus);
	}
	kt_check_not_starved(r, 4, NULL, &res);
	expect_pass(&res);
	CHECK_DBL_NEAR(res.stats.cgroups[0].spread, 0, 1e-9);
	CHECK_DBL_NEAR(res.stats.cgroups[0].min_wait_pct, 30, 1e-9);
	kt_assert_result_clear(&res);
	/* Pair 2 waits 60 % against pair 1's 30 %: unfair, the pairs named. */
	r[2].schedstat_run_delay_ns = 500000000ull;
	r[3].schedstat_run_delay_ns = 700000000ull;
	kt_check_not_starved(r, 4, NULL, &res);
	msg = one_detail(&res);
	CHECK(kt_startswith(msg, "unfair cgroup: spread=30% (30-60%) 4 workers on 4 cpus"));
	CHECK(strstr(msg, "\n    tid 30 (pair 1): off-CPU 70% of 1.00s") != NULL);
	CHECK(strstr(msg, "\n    tid 33 (pair 2): off-CPU 70%") != NULL);
	kt_assert_result_clear(&res);
	/* One pair alone is one unit, like a lone worker: nothing to compare, a pass. */
	kt_check_not_starved(r, 2, NULL, &res);
	expect_pass(&res);
	kt_assert_result_clear(&res);
	/* A pair and a worker on another CPU: two units in no common class. */
	r[2].exchange_pair = 0;
	kt_cpuset_zero(&r[2].allowed_cpus);
	kt_cpuset_set(&r[2].allowed_cpus, 2);
	kt_check_not_starved(r, 3, NULL, &res);
	expect_inconclusive(&res, KT_DETAIL_UNFAIR,
			    "spread: no two of the 3 workers were allowed on the same CPUs in the same "
			    "role (a fan-out messenger is judged apart, an exchange pair as one), so no "
			    "two fair shares compare");
	kt_assert_result_clear(&res);
	kt_cpuset_parse("0-3", &r[2].allowed_cpus);
	r[2].exchange_pair = 2;
	/* Partners on different CPUs are judged one by one (no pair unit). */
	kt_cpuset_zero(&r[1].allowed_cpus);
	kt_cpuset_set(&r[1].allowed_cpus, 1);
	r[2].schedstat_run_delay_ns = r[3].schedstat_run_delay_ns = 300000000ull;
	kt_check_not_starved(r, 4, NULL, &res);
	/* units: 30 alone (14 %), 31 alone on cpu1, pair 2 (30 %): spread 16 % */
	msg = one_detail(&res);
	CHECK(kt_startswith(msg, "unfair cgroup: spread=16% (14-30%)"));
	kt_assert_result_clear(&res);
}
