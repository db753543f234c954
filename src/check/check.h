/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions over worker reports, their merge, and the AssertResult that
 * travels from guest to host as JSON. The types (struct kt_assert, struct
 * kt_assert_result, enum kt_verdict, ...) are public, in <ktstr/check.h>.
 *
 * The not_starved limits (KT_DEFAULT_SPREAD_LIMIT_PCT = 15 %,
 * KT_DEFAULT_GAP_LIMIT_MS = 2000 ms) are the reference's release limits,
 * always; its debug-build values (35 % / 3000 ms) are not used.
 */
#ifndef KTSTR_CHECK_H
#define KTSTR_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <ktstr/check.h>

#include "util/util.h"
#include "workload/workload.h"

/* ---- Assert (JSON) ------------------------------------------------------ */

/* JSON object with only the set fields; parse is strict about types. */
json_t *kt_assert_to_json(const struct kt_assert *a);
int kt_assert_from_json(const json_t *j, struct kt_assert *out, char **err);

/* ---- verdicts (enum kt_verdict is in <ktstr/check.h>) ------------------- */

static inline enum kt_verdict kt_verdict_worst(enum kt_verdict a, enum kt_verdict b)
{
	return a > b ? a : b;
}
/* Process exit status of a verdict: Fail 1, Inconclusive 2, Pass and Skip 0. */
int kt_verdict_exit_code(enum kt_verdict v);

/* ---- results -------------------------------------------------------------- */

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
/*
 * Declare the failures of the detail kinds in the mask `kinds` (bit
 * 1 << kind) expected by design, for the reason `why` (a scenario whose
 * check the scheduler class cannot meet by construction): their messages
 * become "expected by design (why): ..." and, when no other failure is
 * left, the verdict drops to Pass (Inconclusive if an inconclusive detail
 * remains). A result that did not fail is unchanged. Returns how many
 * details were declared.
 */
size_t kt_assert_result_by_design(struct kt_assert_result *r, unsigned kinds, const char *why);
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
struct kt_lb_stats;
struct kt_rq_series;
struct kt_check_ctx {
	const struct kt_cpuset *cpuset;
	const struct kt_cpuset *cpuset_nodes;
	/*
	 * /proc/schedstat when the group started and when it was collected
	 * (NULL = unknown): a failed spread check shows what the load
	 * balancer did on the group's CPUs in between.
	 */
	const struct kt_lb_stats *lb_start, *lb_end;
	/*
	 * Each CPU's run_delay sampled while the group ran (NULL = none): the
	 * queues a worker met on its CPUs at the time, not only on average.
	 */
	const struct kt_rq_series *rq;
};

/* Pure statistics helpers (exposed for tests and other modules). */
/* Some worker has schedstat numbers (pcount > 0): the kernel accounts run_delay. */
bool kt_workers_have_schedstat(const struct kt_worker_report *r, size_t n);
/*
 * The spread's ends (*min, *max): per class of units (a worker, or an
 * exchange pair judged as one) allowed on the same CPUs and in the same role
 * (a fan-out messenger apart), the judged shares (waited runnable with
 * schedstat, else off-CPU); the class with the widest spread among those of
 * 2+ units. Returns the size of the largest class (under 2: nothing to compare).
 */
size_t kt_wait_spread(const struct kt_worker_report *r, size_t n, double *min, double *max);
/*
 * The same spread over any per-worker value (val[i], percent; an exchange
 * pair's is the mean of its two): how the placement or the queues a group
 * saw would split its workers, compared class by class as the check does.
 */
size_t kt_class_spread(const struct kt_worker_report *r, size_t n, const double *val, double *min,
		       double *max);
/* Share of its wall time a worker waited runnable (run_delay / wall, percent, <= 100). */
double kt_worker_wait_pct(const struct kt_worker_report *r);
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

/* ---- evidence for a failed fairness check (evidence.c) ------------------- */

#define KT_LB_MAX_DOMAINS 8

/* One sched domain of one CPU: load-balance counters, the three idle types summed. */
struct kt_lb_domain {
	int level;
	struct kt_cpuset span;
	uint64_t lb_count, lb_balanced, lb_failed, lb_gained, lb_nobusyg;
	uint64_t alb_count, alb_pushed;
};

struct kt_lb_cpu {
	int cpu;
	uint64_t sched_goidle, run_delay_ns, pcount;
	int n_domains;
	struct kt_lb_domain domains[KT_LB_MAX_DOMAINS];
};

/* /proc/schedstat (versions 15-17). */
struct kt_lb_stats {
	int version;
	uint64_t at_ns; /* CLOCK_MONOTONIC when read (0 = unknown): queue lengths from run_delay */
	size_t n_cpus;
	struct kt_lb_cpu *cpus;
};

/*
 * Every CPU's run_delay (tasks' summed wait in its queue) sampled over
 * time: between two samples, the wait added over the time passed is how
 * many tasks waited there on average.
 */
struct kt_rq_series {
	size_t n, cap;
	int n_cpus;          /* CPUs 0..n_cpus-1 in each sample */
	uint64_t *at_ns;     /* CLOCK_MONOTONIC of each sample */
	uint64_t *run_delay; /* n x n_cpus; UINT64_MAX = not in that sample */
	uint64_t every_ns;   /* the sampling period now (doubles when thinned) */
};

/* Append st taken at at_ns (ignored unless later than the last sample); thins past max. */
void kt_rq_series_add(struct kt_rq_series *s, uint64_t at_ns, const struct kt_lb_stats *st,
		      size_t max);
void kt_rq_series_free(struct kt_rq_series *s);

/* Parse /proc/schedstat text: 0, -EINVAL (malformed) or -EPROTONOSUPPORT (version). */
int kt_lb_stats_parse(const char *text, struct kt_lb_stats *out);
void kt_lb_stats_free(struct kt_lb_stats *st);
/*
 * What the balancer did between snapshots a and b on each CPU of cpus
 * and on the CPUs sharing their lowest domain, one indented line per CPU
 * appended to sb.
 */
void kt_lb_stats_format(const struct kt_lb_stats *a, const struct kt_lb_stats *b,
			const struct kt_cpuset *cpus, struct sbuf *sb);
/*
 * One indented line per worker: off-CPU share, the kernel's schedstat
 * (ran, waited runnable, times on a CPU), migrations, and where it ran
 * over the run (segments and the share per CPU).
 */
void kt_worker_evidence_format(const struct kt_worker_report *r, size_t n, struct sbuf *sb);
/*
 * One line summing up a spread failure: for each CPU of cpus (and any
 * other a worker settled on) how many workers spent at least half the
 * run there, what they waited and the CPU's average queue, whether that
 * placement was even (at most one worker apart per CPU), the spread the
 * placement alone and the queues alone make (always-runnable workers
 * only; the queues at the time from rq when given), and, with both
 * /proc/schedstat snapshots, how often the load balancer ran on those
 * CPUs, found them balanced and pulled a task.
 */
void kt_spread_why_format(const struct kt_worker_report *r, size_t n,
			  const struct kt_cpuset *cpus, const struct kt_lb_stats *a,
			  const struct kt_lb_stats *b, const struct kt_rq_series *rq,
			  struct sbuf *sb);

#endif
