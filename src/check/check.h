/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions over worker reports, their merge, and the AssertResult that
 * travels from guest to host as JSON.
 *
 * Limits of the not_starved check: this C build uses the reference's
 * RELEASE limits, KT_DEFAULT_SPREAD_LIMIT_PCT = 15 % and
 * KT_DEFAULT_GAP_LIMIT_MS = 2000 ms, always (the reference's debug values
 * 35 % / 3000 ms exist only for unoptimised Rust builds). Assert's
 * max_spread_pct / max_gap_ms replace them.
 */
#ifndef KTSTR_CHECK_H
#define KTSTR_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"
#include "workload/workload.h"

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

/* JSON object with only the set fields; parse is strict about types. */
json_t *kt_assert_to_json(const struct kt_assert *a);
int kt_assert_from_json(const json_t *j, struct kt_assert *out, char **err);

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
static inline enum kt_verdict kt_verdict_worst(enum kt_verdict a, enum kt_verdict b)
{
	return a > b ? a : b;
}
/* Process exit status of a verdict: Fail 1, Inconclusive 2, Pass and Skip 0. */
int kt_verdict_exit_code(enum kt_verdict v);

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
	double spread;
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

/* Constructors (the result is owned by the caller: kt_assert_result_clear). */
void kt_assert_result_pass(struct kt_assert_result *r);
void kt_assert_result_skip(struct kt_assert_result *r, const char *reason);
void kt_assert_result_fail(struct kt_assert_result *r, enum kt_detail_kind kind, const char *msg);
/* Append a failure detail to an existing result (the verdict becomes Fail). */
void kt_assert_result_add_failure(struct kt_assert_result *r, enum kt_detail_kind kind,
				  const char *fmt, ...) KT_PRINTF(3, 4);
/*
 * Append an inconclusive detail: check `kind` ran but its measurement
 * cannot decide. The verdict becomes at least Inconclusive (a Fail stays).
 */
void kt_assert_result_add_inconclusive(struct kt_assert_result *r, enum kt_detail_kind kind,
				       const char *fmt, ...) KT_PRINTF(3, 4);
enum kt_verdict kt_assert_result_verdict(const struct kt_assert_result *r);
/* Set the flags for v (details unchanged). */
void kt_assert_result_set_verdict(struct kt_assert_result *r, enum kt_verdict v);
static inline bool kt_assert_result_failed(const struct kt_assert_result *r)
{
	return kt_assert_result_verdict(r) == KT_VERDICT_FAIL;
}
/* Append a detail without changing passed/skipped. */
void kt_assert_result_add_detail(struct kt_assert_result *r, enum kt_detail_kind kind,
				 const char *msg);
/*
 * dst = dst ⊕ src: the more severe verdict, details appended, counts
 * summed, worst_* max (page_locality and iterations_per_worker: lowest
 * non-zero), cgroups appended, ext_metrics appended. src unchanged.
 */
void kt_assert_result_merge(struct kt_assert_result *dst, const struct kt_assert_result *src);
void kt_assert_result_clear(struct kt_assert_result *r);
void kt_assert_result_copy(struct kt_assert_result *dst, const struct kt_assert_result *src);

/* Fold one cgroup's stats into scenario stats (what merge does per cgroup). */
void kt_scenario_stats_add_cgroup(struct kt_scenario_stats *s, const struct kt_cgroup_stats *cg);

/*
 * The "--- stats ---" body of a failure message (reference §5.5), without
 * the header line:
 *   "{W} workers, {C} cpus, {M} migrations, worst_spread={:.1}%, worst_gap={}ms\n"
 *   "  cg{i}: workers={} cpus={} spread={:.1}% gap={}ms migrations={} iter={}\n" ...
 */
void kt_scenario_stats_format(const struct kt_scenario_stats *s, struct sbuf *out);

json_t *kt_assert_result_to_json(const struct kt_assert_result *r);
char *kt_assert_result_to_string(const struct kt_assert_result *r); /* compact, malloc'd */
/*
 * Parse untrusted JSON (from the guest). Bounded: at most 4096 details,
 * 4096 cgroups, 64 KiB per message; wrong types → -EINVAL with *err.
 * stats may be missing (zeroed). Unknown keys ignored.
 */
int kt_assert_result_from_json(const json_t *j, struct kt_assert_result *out, char **err);
int kt_assert_result_parse(const char *text, size_t len, struct kt_assert_result *out, char **err);

/* ---- worker checks ------------------------------------------------------- */

/*
 * Per-group context: the cpuset the group's cgroup had (NULL = none) and,
 * for the NUMA checks, the nodes covered by that cpuset (NULL = unknown;
 * those checks are then skipped).
 */
struct kt_check_ctx {
	const struct kt_cpuset *cpuset;
	const struct kt_cpuset *cpuset_nodes;
};

/* Pure statistics helpers (exposed for tests and other modules). */
/* Nearest rank p99: sorted[ceil(0.99 n) - 1]; v is sorted in place. 0 for n == 0. */
uint64_t kt_stat_p99(uint64_t *v, size_t n);
/* sorted[n/2]; v sorted in place. 0 for n == 0. */
uint64_t kt_stat_median(uint64_t *v, size_t n);
/* Population CV = stddev/mean; 0 when n < 2 or mean <= 0. */
double kt_stat_cv(const double *v, size_t n);

/*
 * Stats of one group (assert_not_starved's numbers). Never fails.
 */
void kt_cgroup_stats_compute(const struct kt_worker_report *r, size_t n,
			     const struct kt_check_ctx *ctx, struct kt_cgroup_stats *out);

/*
 * Run the worker checks selected by a (already merged with defaults) on
 * one group's reports. Fills *out (pass or failures) and its stats (one
 * cgroup entry). No worker fields set in a → the not_starved fallback.
 */
void kt_check_workers(const struct kt_assert *a, const struct kt_worker_report *r, size_t n,
		      const struct kt_check_ctx *ctx, struct kt_assert_result *out);

/* Only the not_starved family (starved, spread, gap) with the default limits. */
void kt_check_not_starved(const struct kt_worker_report *r, size_t n,
			  const struct kt_check_ctx *ctx, struct kt_assert_result *out);

#endif
