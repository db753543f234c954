/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a test checks and what it finds: the layered assertion config
 * (struct kt_assert, set per test, per scheduler and by default) and the
 * verdict with its details and statistics (struct kt_assert_result). Part
 * of the public test API (<ktstr.h>); the checks themselves live in
 * src/check.
 *
 * Limits of the not_starved check: KT_DEFAULT_SPREAD_LIMIT_PCT (15 %) and
 * KT_DEFAULT_GAP_LIMIT_MS (2000 ms), always; an assert's max_spread_pct /
 * max_gap_ms replace them.
 */
#ifndef KTSTR_PUBLIC_CHECK_H
#define KTSTR_PUBLIC_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_DEFAULT_SPREAD_LIMIT_PCT 15.0
#define KT_DEFAULT_GAP_LIMIT_MS 2000

/* ---- Assert -------------------------------------------------------------- */

/* Optional values: .set == false means "not specified at this layer". */
struct kt_opt_bool {
	bool set;
	bool v;
};
struct kt_opt_u64 {
	bool set;
	uint64_t v;
};
struct kt_opt_f64 {
	bool set;
	double v;
};

#define KT_SOME_BOOL(x) ((struct kt_opt_bool){.set = true, .v = (x)})
#define KT_SOME_U64(x) ((struct kt_opt_u64){.set = true, .v = (x)})
#define KT_SOME_F64(x) ((struct kt_opt_f64){.set = true, .v = (x)})

struct kt_assert {
	struct kt_opt_bool not_starved;
	struct kt_opt_bool isolation;
	struct kt_opt_u64 max_gap_ms;
	struct kt_opt_f64 max_spread_pct;
	struct kt_opt_f64 max_throughput_cv;
	struct kt_opt_f64 min_work_rate;
	struct kt_opt_u64 max_p99_wake_latency_ns;
	struct kt_opt_f64 max_wake_latency_cv;
	struct kt_opt_f64 min_iteration_rate;
	struct kt_opt_f64 max_migration_ratio;
	struct kt_opt_f64 max_imbalance_ratio;
	struct kt_opt_u64 max_local_dsq_depth; /* u32 range */
	struct kt_opt_bool fail_on_stall;
	struct kt_opt_u64 sustained_samples;
	struct kt_opt_f64 max_fallback_rate;
	struct kt_opt_f64 max_keep_last_rate;
	struct kt_opt_f64 min_page_locality;
	struct kt_opt_f64 max_cross_node_migration_ratio;
	struct kt_opt_f64 max_slow_tier_ratio;
};

/* All unset (NO_OVERRIDES). A zero-initialised struct kt_assert is the same. */
struct kt_assert kt_assert_none(void);
/*
 * not_starved=true, max_imbalance_ratio=4.0, max_local_dsq_depth=50,
 * fail_on_stall=true, sustained_samples=5, max_fallback_rate=200.0,
 * max_keep_last_rate=100.0.
 */
struct kt_assert kt_assert_default_checks(void);
/* Per field: over's value if set, else base's (a layer can switch a check off). */
struct kt_assert kt_assert_merge(const struct kt_assert *base, const struct kt_assert *over);
/* True when any worker-level field (everything but the monitor ones) is set. */
bool kt_assert_has_worker_checks(const struct kt_assert *a);

/* ---- verdicts ------------------------------------------------------------ */

/*
 * The four outcomes, in order of severity; a merge keeps the most severe:
 * Fail > Inconclusive > Pass > Skip (empty or all-skip is Skip).
 *   Skip          a precondition was not met; nothing was measured
 *   Pass          measured, every bound met
 *   Inconclusive  ran, but a measurement could not tell signal from noise
 *                 (too few samples, a zero denominator, ...); never a pass
 *   Fail          a bound was broken
 */
enum kt_verdict { KT_VERDICT_SKIP, KT_VERDICT_PASS, KT_VERDICT_INCONCLUSIVE, KT_VERDICT_FAIL };

/* "SKIP", "PASS", "INCONCLUSIVE", "FAIL". */
const char *kt_verdict_name(enum kt_verdict v);

/* ---- results ------------------------------------------------------------- */

enum kt_detail_kind {
	KT_DETAIL_STARVED,
	KT_DETAIL_STUCK,
	KT_DETAIL_UNFAIR,
	KT_DETAIL_ISOLATION,
	KT_DETAIL_BENCHMARK,
	KT_DETAIL_MIGRATION,
	KT_DETAIL_PAGE_LOCALITY,
	KT_DETAIL_CROSS_NODE_MIGRATION,
	KT_DETAIL_SLOW_TIER,
	KT_DETAIL_MONITOR,
	KT_DETAIL_SCHEDULER_DIED,
	KT_DETAIL_SKIP,
	KT_DETAIL_OTHER,
	KT_DETAIL_TEMPORAL, /* a temporal assertion over BPF map captures (<ktstr/bpfmap.h>) */
	KT_DETAIL__COUNT
};

/* "Starved", "Stuck", ... (PascalCase, as serialised). */
const char *kt_detail_kind_name(enum kt_detail_kind k);
int kt_detail_kind_from_name(const char *s, enum kt_detail_kind *out);

struct kt_detail {
	enum kt_detail_kind kind; /* the check that produced it */
	char *message;
	bool inconclusive;        /* the check could not decide (JSON "inconclusive") */
};

struct kt_cgroup_stats {
	uint64_t num_workers;
	uint64_t num_cpus;
	double avg_off_cpu_pct;
	double min_off_cpu_pct;
	double max_off_cpu_pct;
	/*
	 * max - min over the workers of the share of wall time each waited
	 * runnable (schedstat run_delay): what the scheduler kept it off a
	 * CPU, without the time it chose to sleep. Off-CPU shares when no
	 * worker has schedstat.
	 */
	double spread;
	double min_wait_pct, max_wait_pct; /* the ends of that spread */
	uint64_t max_gap_ms;
	int64_t max_gap_cpu;
	uint64_t total_migrations;
	double migration_ratio;
	double p99_wake_latency_us;
	double median_wake_latency_us;
	double wake_latency_cv;
	uint64_t total_iterations;
	double mean_run_delay_us;
	double worst_run_delay_us;
	double page_locality;
	double cross_node_migration_ratio;
	double wake_latency_tail_ratio;
	double iterations_per_worker;
};

struct kt_ext_metric {
	char *name;
	double value;
};

struct kt_scenario_stats {
	struct kt_cgroup_stats *cgroups;
	size_t n_cgroups;
	uint64_t total_workers;
	uint64_t total_cpus;
	uint64_t total_migrations;
	double worst_spread;
	uint64_t worst_gap_ms;
	int64_t worst_gap_cpu;
	double worst_migration_ratio;
	double worst_p99_wake_latency_us;
	double worst_median_wake_latency_us;
	double worst_wake_latency_cv;
	uint64_t total_iterations;
	double worst_mean_run_delay_us;
	double worst_run_delay_us;
	double worst_page_locality; /* lowest non-zero */
	double worst_cross_node_migration_ratio;
	double worst_wake_latency_tail_ratio;
	double worst_iterations_per_worker; /* lowest non-zero */
	struct kt_ext_metric *ext_metrics;  /* omitted from JSON when empty */
	size_t n_ext_metrics;
};

/*
 * The verdict is carried by three flags (as serialised):
 *   Skip: passed && skipped;  Pass: passed && !skipped;
 *   Inconclusive: !passed && inconclusive;  Fail: !passed && !inconclusive.
 * Read it with kt_assert_result_verdict().
 */
struct kt_assert_result {
	bool passed;
	bool skipped;
	bool inconclusive;
	struct kt_detail *details;
	size_t n_details;
	struct kt_scenario_stats stats;
};

/* The verdict a result's flags carry. */
enum kt_verdict kt_assert_result_verdict(const struct kt_assert_result *r);

#endif
