// SPDX-License-Identifier: GPL-2.0
/* Worker checks over one group's reports, and the group statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

/* ---- statistics ---------------------------------------------------------- */

bool kt_workers_have_schedstat(const struct kt_worker_report *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].schedstat_run_count > 0)
			return true;
	return false;
}

/* The share a worker's fairness is judged by: waited runnable, else off-CPU. */
static double judged_pct(const struct kt_worker_report *r, bool sched)
{
	if (sched)
		return kt_worker_wait_pct(r);
	return (double)r->off_cpu_ns / (double)r->wall_time_ns * 100.0;
}

/*
 * Workers whose fair shares compare: allowed on the same CPUs and in the same
 * role. A fan-out messenger runs nearly all the time while its receivers
 * sleep and are woken, so its share of time spent waiting for a CPU is a
 * different quantity from theirs (scx_simple: messenger 21 %, receivers
 * 39-40 %, fan_out_wake on 4 vCPUs), whatever the scheduler does.
 */
static bool same_class(const struct kt_worker_report *a, const struct kt_worker_report *b)
{
	return a->is_messenger == b->is_messenger &&
	       kt_cpuset_equal(&a->allowed_cpus, &b->allowed_cpus);
}

/*
 * The partner judged together with r[i], or -1. In a PipeIo, CachePipe or
 * FutexPingPong pair one partner's wait for a CPU becomes the other's sleep
 * on the pipe or futex: whichever finishes its burst first sleeps until the
 * other, always runnable, catches up, and a scheduler that favours sleepers
 * keeps that phase. So the pair is the unit: scx_simple on 4 vCPUs split one
 * pair 14 % / 46 % (sleeping 59 % / 23 %) while the two pairs waited 30 % each.
 */
static long partner_of(const struct kt_worker_report *r, size_t n, size_t i)
{
	if (!r[i].exchange_pair)
		return -1;
	for (size_t j = 0; j < n; j++)
		if (j != i && r[j].exchange_pair == r[i].exchange_pair && r[j].wall_time_ns &&
		    same_class(&r[j], &r[i]))
			return (long)j;
	return -1;
}

/* Worker i, or its pair when it has a partner p: the judged share of the unit. */
static double unit_pct(const struct kt_worker_report *r, size_t i, long p, bool sched)
{
	double num, pct;

	if (p < 0)
		return judged_pct(&r[i], sched);
	num = sched ? (double)r[i].schedstat_run_delay_ns + (double)r[p].schedstat_run_delay_ns
		    : (double)r[i].off_cpu_ns + (double)r[p].off_cpu_ns;
	pct = num / ((double)r[i].wall_time_ns + (double)r[p].wall_time_ns) * 100.0;
	return pct > 100.0 ? 100.0 : pct;
}

/* r[i] stands for its unit: it has a wall time and no partner before it. */
static bool unit_head(const struct kt_worker_report *r, size_t n, size_t i)
{
	long p;

	if (!r[i].wall_time_ns)
		return false;
	p = partner_of(r, n, i);
	return p < 0 || (size_t)p > i;
}

/* How many units (workers, or exchange pairs) have a wall time. */
static size_t count_units(const struct kt_worker_report *r, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += unit_head(r, n, i);
	return k;
}

size_t kt_class_spread(const struct kt_worker_report *r, size_t n, const double *val, double *min,
		       double *max)
{
	bool sched = kt_workers_have_schedstat(r, n);
	size_t best = 0;
	bool have = false;

	*min = *max = 0;
	/*
	 * Units (a worker, or an exchange pair) in classes by allowed set and
	 * role; the widest spread of a class of 2+ units wins.
	 */
	for (size_t i = 0; i < n; i++) {
		double lo = 0, hi = 0;
		size_t k = 0;
		bool first_of_class = true;

		if (!unit_head(r, n, i))
			continue;
		for (size_t j = 0; j < i; j++)
			if (unit_head(r, n, j) && same_class(&r[j], &r[i]))
				first_of_class = false;
		if (!first_of_class)
			continue;
		for (size_t j = i; j < n; j++) {
			long q;
			double p;

			if (!unit_head(r, n, j) || !same_class(&r[j], &r[i]))
				continue;
			q = partner_of(r, n, j);
			if (!val)
				p = unit_pct(r, j, q, sched);
			else
				p = q < 0 ? val[j] : (val[j] + val[q]) / 2;
			if (!k || p < lo)
				lo = p;
			if (!k || p > hi)
				hi = p;
			k++;
		}
		if (k >= 2 && (!have || hi - lo > *max - *min)) {
			*min = lo;
			*max = hi;
			have = true;
		}
		if (k > best)
			best = k;
	}
	return best;
}

size_t kt_wait_spread(const struct kt_worker_report *r, size_t n, double *min, double *max)
{
	return kt_class_spread(r, n, NULL, min, max);
}

double kt_worker_wait_pct(const struct kt_worker_report *r)
{
	double pct;

	if (!r->wall_time_ns)
		return 0;
	pct = (double)r->schedstat_run_delay_ns / (double)r->wall_time_ns * 100.0;
	return pct > 100.0 ? 100.0 : pct;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t kt_stat_p99(uint64_t *v, size_t n)
{
	size_t rank;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	/* nearest rank: ceil(0.99 n), computed exactly in integers */
	rank = (n * 99 + 99) / 100;
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

uint64_t kt_stat_median(uint64_t *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

double kt_stat_cv(const double *v, size_t n)
{
	double mean = 0, var = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		mean += v[i];
	mean /= (double)n;
	if (!(mean > 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		var += (v[i] - mean) * (v[i] - mean);
	var /= (double)n;
	return sqrt(var) / mean;
}

/* CV and mean of u64 samples (population). */
static double cv_u64(const uint64_t *v, size_t n, double *mean_out)
{
	double mean = 0, var = 0;

	*mean_out = 0;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		mean += (double)v[i];
	mean /= (double)n;
	*mean_out = mean;
	if (n < 2 || !(mean > 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		var += ((double)v[i] - mean) * ((double)v[i] - mean);
	var /= (double)n;
	return sqrt(var) / mean;
}

static uint64_t *pool_samples(const struct kt_worker_report *r, size_t n, size_t *count)
{
	size_t total = 0, k = 0;
	uint64_t *v;

	for (size_t i = 0; i < n; i++)
		if (r[i].resume_latencies_ns)
			total += r[i].n_resume_latencies;
	*count = total;
	if (!total)
		return NULL;
	v = kt_malloc(total * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		if (!r[i].n_resume_latencies || !r[i].resume_latencies_ns)
			continue;
		memcpy(v + k, r[i].resume_latencies_ns, r[i].n_resume_latencies * sizeof(*v));
		k += r[i].n_resume_latencies;
	}
	return v;
}

/* Pages on/off the expected nodes, summed over reports. */
static void page_counts(const struct kt_worker_report *r, size_t n, const struct kt_cpuset *nodes,
			uint64_t *local, uint64_t *total)
{
	*local = *total = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < r[i].n_numa_pages; k++) {
			*total += r[i].numa_pages[k].pages;
			if (nodes && r[i].numa_pages[k].node >= 0 &&
			    r[i].numa_pages[k].node < KT_MAX_CPUS &&
			    kt_cpuset_has(nodes, r[i].numa_pages[k].node))
				*local += r[i].numa_pages[k].pages;
		}
}

/* System-wide counter: every worker sees (about) the same delta; take the widest. */
static uint64_t numa_migrated(const struct kt_worker_report *r, size_t n)
{
	uint64_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (r[i].vmstat_numa_pages_migrated > m)
			m = r[i].vmstat_numa_pages_migrated;
	return m;
}

static bool have_nodes(const struct kt_check_ctx *ctx)
{
	return ctx && ctx->cpuset && ctx->cpuset_nodes && !kt_cpuset_empty(ctx->cpuset_nodes);
}

void kt_cgroup_stats_compute(const struct kt_worker_report *r, size_t n,
			     const struct kt_check_ctx *ctx, struct kt_cgroup_stats *s)
{
	struct kt_cpuset cpus;
	size_t npct = 0, nsamp, ndelay = 0;
	double sum_pct = 0, sum_delay = 0, mean;
	uint64_t *samp, local, total;

	memset(s, 0, sizeof(*s));
	kt_cpuset_zero(&cpus);
	s->num_workers = n;
	for (size_t i = 0; i < n; i++) {
		kt_cpuset_or(&cpus, &cpus, &r[i].cpus_used);
		if (r[i].wall_time_ns > 0) {
			double pct = (double)r[i].off_cpu_ns / (double)r[i].wall_time_ns * 100.0;
			if (!npct || pct < s->min_off_cpu_pct)
				s->min_off_cpu_pct = pct;
			if (!npct || pct > s->max_off_cpu_pct)
				s->max_off_cpu_pct = pct;
			sum_pct += pct;
			npct++;
		}
		if (i == 0 || r[i].max_gap_ms > s->max_gap_ms) {
			s->max_gap_ms = r[i].max_gap_ms;
			s->max_gap_cpu = r[i].max_gap_cpu;
		}
		s->total_migrations += r[i].migration_count;
		s->total_iterations += r[i].iterations;
		if (r[i].schedstat_run_count > 0) {
			double d = (double)r[i].schedstat_run_delay_ns /
				   (double)r[i].schedstat_run_count / 1000.0;

			sum_delay += d;
			if (d > s->worst_run_delay_us)
				s->worst_run_delay_us = d;
			ndelay++;
		}
	}
	s->num_cpus = (uint64_t)kt_cpuset_count(&cpus);
	if (npct) {
		s->avg_off_cpu_pct = sum_pct / (double)npct;
		kt_wait_spread(r, n, &s->min_wait_pct, &s->max_wait_pct);
		s->spread = s->max_wait_pct - s->min_wait_pct;
	}
	if (ndelay)
		s->mean_run_delay_us = sum_delay / (double)ndelay;
	if (s->total_iterations)
		s->migration_ratio = (double)s->total_migrations / (double)s->total_iterations;
	if (n)
		s->iterations_per_worker = (double)s->total_iterations / (double)n;

	samp = pool_samples(r, n, &nsamp);
	if (nsamp) {
		s->wake_latency_cv = cv_u64(samp, nsamp, &mean);
		s->p99_wake_latency_us = (double)kt_stat_p99(samp, nsamp) / 1000.0;
		s->median_wake_latency_us = (double)kt_stat_median(samp, nsamp) / 1000.0;
		if (s->median_wake_latency_us > 0)
			s->wake_latency_tail_ratio =
			    s->p99_wake_latency_us / s->median_wake_latency_us;
	}
	free(samp);

	page_counts(r, n, have_nodes(ctx) ? ctx->cpuset_nodes : NULL, &local, &total);
	if (total) {
		if (have_nodes(ctx))
			s->page_locality = (double)local / (double)total;
		s->cross_node_migration_ratio = (double)numa_migrated(r, n) / (double)total;
	}
}

/* ---- formatting ---------------------------------------------------------- */

/* Shortest round-trip decimal, like Rust's Display for f64 ("15", "12.5"). */
static void fmt_f64(double v, char *buf, size_t len)
{
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, len, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (strchr(buf, 'e') || strchr(buf, 'E')) {
		/* Rust never uses exponents in Display: fall back to fixed notation. */
		snprintf(buf, len, "%.17f", v);
		char *e = buf + strlen(buf) - 1;

		while (e > buf && *e == '0')
			*e-- = '\0';
		if (*e == '.')
			*e = '\0';
	}
}

/* Rust Debug of a BTreeSet<usize>: "{1, 4, 5}". */
static void fmt_set(const struct kt_cpuset *s, struct sbuf *sb)
{
	int cpu;
	bool first = true;

	sb_adds(sb, "{");
	kt_cpuset_for_each(cpu, s)
	{
		sb_addf(sb, "%s%d", first ? "" : ", ", cpu);
		first = false;
	}
	sb_adds(sb, "}");
}

/* ---- checks -------------------------------------------------------------- */

/*
 * The spread failure with its evidence: per worker where it ran and what
 * the kernel accounted, and what the balancer did on the CPUs the group
 * could use (its cpuset, else the CPUs it was seen on).
 */
static void fail_spread(const struct kt_worker_report *r, size_t n,
			const struct kt_cgroup_stats *st, const struct kt_check_ctx *ctx,
			const char *thr, struct kt_assert_result *out)
{
	struct sbuf sb = SBUF_INIT;
	struct kt_cpuset cpus;

	sb_addf(&sb, "unfair cgroup: spread=%.0f%% (%.0f-%.0f%%) %zu workers on %llu cpus%s",
		st->spread, st->min_wait_pct, st->max_wait_pct, n, (unsigned long long)st->num_cpus,
		thr);
	kt_cpuset_zero(&cpus);
	if (ctx && ctx->cpuset)
		cpus = *ctx->cpuset;
	else
		for (size_t i = 0; i < n; i++)
			kt_cpuset_or(&cpus, &cpus, &r[i].cpus_used);
	kt_spread_why_format(r, n, &cpus, ctx ? ctx->lb_start : NULL, ctx ? ctx->lb_end : NULL,
			     ctx ? ctx->rq : NULL, &sb);
	sb_adds(&sb, kt_workers_have_schedstat(r, n)
			 ? "\n  per worker (spread is over the share of its wall time each waited "
			   "runnable, the kernel's schedstat run_delay, an exchange pair's added; "
			   "off-CPU = wall - CPU time, sleep included):"
			 : "\n  per worker (no schedstat: spread is over the off-CPU share, wall - "
			   "CPU time, sleep included, an exchange pair's added):");
	kt_worker_evidence_format(r, n, &sb);
	if (ctx && ctx->lb_start && ctx->lb_end) {
		sb_adds(&sb, "\n  load balancer on these CPUs over the run (/proc/schedstat):");
		kt_lb_stats_format(ctx->lb_start, ctx->lb_end, &cpus, &sb);
	}
	kt_assert_result_add_failure(out, KT_DETAIL_UNFAIR, "%s", sb_str(&sb));
	sb_free(&sb);
}

static void check_starved_family(const struct kt_worker_report *r, size_t n,
				 const struct kt_check_ctx *ctx, const struct kt_cgroup_stats *st,
				 const struct kt_opt_f64 *spread_ov,
				 const struct kt_opt_u64 *gap_ov, struct kt_assert_result *out)
{
	double limit = spread_ov && spread_ov->set ? spread_ov->v : KT_DEFAULT_SPREAD_LIMIT_PCT;
	uint64_t gap_limit = gap_ov && gap_ov->set ? gap_ov->v : KT_DEFAULT_GAP_LIMIT_MS;
	size_t npct = 0;
	double lo, hi;
	char thr[64];

	for (size_t i = 0; i < n; i++) {
		if (r[i].work_units == 0)
			kt_assert_result_add_failure(
			    out, KT_DETAIL_STARVED, "tid %d starved (0 work units)", (int)r[i].tid);
		if (r[i].wall_time_ns > 0)
			npct++;
	}
	/* Two or more workers but under two with a wall time: no spread to compare. */
	if (n >= 2 && npct < 2)
		kt_assert_result_add_inconclusive(out, KT_DETAIL_UNFAIR,
						  "spread: only %zu of %zu workers measured a wall "
						  "time (need 2)",
						  npct, n);
	/* One exchange pair and nothing else is one unit: like a lone worker, a pass. */
	if (npct >= 2 && count_units(r, n) >= 2 && kt_wait_spread(r, n, &lo, &hi) < 2)
		kt_assert_result_add_inconclusive(out, KT_DETAIL_UNFAIR,
						  "spread: no two of the %zu workers were allowed on "
						  "the same CPUs in the same role (a fan-out messenger "
						  "is judged apart, an exchange pair as one), so no "
						  "two fair shares compare",
						  n);
	if (npct >= 2 && st->spread > limit) {
		thr[0] = '\0';
		if (spread_ov && spread_ov->set) {
			char num[48];

			fmt_f64(spread_ov->v, num, sizeof(num));
			snprintf(thr, sizeof(thr), " (threshold %s%%)", num);
		}
		fail_spread(r, n, st, ctx, thr, out);
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].max_gap_ms <= gap_limit)
			continue;
		thr[0] = '\0';
		if (gap_ov && gap_ov->set)
			snprintf(thr, sizeof(thr), " (threshold %llums)",
				 (unsigned long long)gap_ov->v);
		/*
		 * The kernel counted the worker as running through (nearly) all
		 * of the gap: its CPU executed nothing, which is the host not
		 * running the vCPU, not the scheduler keeping the task off.
		 */
		if (r[i].max_gap_on_cpu_ms * 10 >= r[i].max_gap_ms * 9) {
			kt_assert_result_add_inconclusive(
			    out, KT_DETAIL_STUCK,
			    "stuck %llums on cpu%d at +%llums%s, but the kernel counted the worker "
			    "as running for %llums of it: the vCPU was not executed (host or "
			    "emulator), which no scheduler causes",
			    (unsigned long long)r[i].max_gap_ms, r[i].max_gap_cpu,
			    (unsigned long long)r[i].max_gap_at_ms, thr,
			    (unsigned long long)r[i].max_gap_on_cpu_ms);
			continue;
		}
		kt_assert_result_add_failure(out, KT_DETAIL_STUCK,
					     "stuck %llums on cpu%d at +%llums%s",
					     (unsigned long long)r[i].max_gap_ms, r[i].max_gap_cpu,
					     (unsigned long long)r[i].max_gap_at_ms, thr);
	}
}

static void check_isolation(const struct kt_worker_report *r, size_t n,
			    const struct kt_cpuset *cpuset, struct kt_assert_result *out)
{
	for (size_t i = 0; i < n; i++) {
		struct kt_cpuset bad;
		struct sbuf sb = SBUF_INIT;
		int cpu;

		kt_cpuset_zero(&bad);
		kt_cpuset_for_each(cpu, &r[i].cpus_used) if (!kt_cpuset_has(cpuset, cpu))
		    kt_cpuset_set(&bad, cpu);
		if (kt_cpuset_empty(&bad))
			continue;
		fmt_set(&bad, &sb);
		kt_assert_result_add_failure(out, KT_DETAIL_ISOLATION,
					     "tid %d ran on unexpected CPUs %s", (int)r[i].tid,
					     sb_str(&sb));
		sb_free(&sb);
	}
}

static void check_throughput(const struct kt_assert *a, const struct kt_worker_report *r, size_t n,
			     struct kt_assert_result *out)
{
	double *rates = kt_calloc(n + 1, sizeof(double));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!r[i].cpu_time_ns) {
			/* No CPU time: the rate has a zero denominator. */
			if (a->min_work_rate.set)
				kt_assert_result_add_inconclusive(
				    out, KT_DETAIL_BENCHMARK,
				    "worker %d throughput: no CPU time measured (zero "
				    "denominator)",
				    (int)r[i].tid);
			continue;
		}
		double rate = (double)r[i].work_units / ((double)r[i].cpu_time_ns / 1e9);

		rates[k++] = rate;
		if (a->min_work_rate.set && rate < a->min_work_rate.v)
			kt_assert_result_add_failure(out, KT_DETAIL_BENCHMARK,
						     "worker %d throughput %.0f work/cpu_s below "
						     "floor %.0f",
						     (int)r[i].tid, rate, a->min_work_rate.v);
	}
	if (a->max_throughput_cv.set && n >= 2 && k < 2)
		kt_assert_result_add_inconclusive(out, KT_DETAIL_BENCHMARK,
						  "throughput CV: only %zu of %zu workers measured "
						  "CPU time (need 2)",
						  k, n);
	if (a->max_throughput_cv.set && k >= 2) {
		double mean = 0, cv;

		for (size_t i = 0; i < k; i++)
			mean += rates[i];
		mean /= (double)k;
		cv = kt_stat_cv(rates, k);
		if (!(mean > 0))
			kt_assert_result_add_inconclusive(out, KT_DETAIL_BENCHMARK,
							  "throughput CV: mean rate is 0 (zero "
							  "denominator)");
		else if (cv > a->max_throughput_cv.v)
			kt_assert_result_add_failure(out, KT_DETAIL_BENCHMARK,
						     "throughput CV %.3f exceeds limit %.3f "
						     "(mean=%.0f work/cpu_s)",
						     cv, a->max_throughput_cv.v, mean);
	}
	free(rates);
}

static void check_wake(const struct kt_assert *a, const struct kt_worker_report *r, size_t n,
		       struct kt_assert_result *out)
{
	size_t ns;
	uint64_t *samp;

	if (!n)
		return;
	samp = pool_samples(r, n, &ns);
	if (a->max_wake_latency_cv.set && ns < 2)
		kt_assert_result_add_inconclusive(out, KT_DETAIL_BENCHMARK,
						  "wake latency CV: %zu wake sample(s) (need 2)", ns);
	if (a->max_wake_latency_cv.set && ns >= 2) {
		double mean, cv = cv_u64(samp, ns, &mean);

		if (!(mean > 0))
			kt_assert_result_add_inconclusive(out, KT_DETAIL_BENCHMARK,
							  "wake latency CV: mean latency is 0 (zero "
							  "denominator)");
		else if (cv > a->max_wake_latency_cv.v)
			kt_assert_result_add_failure(out, KT_DETAIL_BENCHMARK,
						     "wake latency CV %.3f exceeds limit %.3f "
						     "(mean=%.0fns)",
						     cv, a->max_wake_latency_cv.v, mean);
	}
	if (a->max_p99_wake_latency_ns.set && !ns)
		kt_assert_result_add_inconclusive(out, KT_DETAIL_BENCHMARK,
						  "p99 wake latency: no wake samples");
	if (a->max_p99_wake_latency_ns.set && ns) {
		uint64_t p = kt_stat_p99(samp, ns);

		if (p > a->max_p99_wake_latency_ns.v)
			kt_assert_result_add_failure(
			    out, KT_DETAIL_BENCHMARK,
			    "p99 wake latency %lluns exceeds limit %lluns "
			    "(%zu samples)",
			    (unsigned long long)p, (unsigned long long)a->max_p99_wake_latency_ns.v,
			    ns);
	}
	free(samp);
	if (a->min_iteration_rate.set) {
		for (size_t i = 0; i < n; i++) {
			if (!r[i].wall_time_ns) {
				kt_assert_result_add_inconclusive(
				    out, KT_DETAIL_BENCHMARK,
				    "worker %d iteration rate: no wall time measured (zero "
				    "denominator)",
				    (int)r[i].tid);
				continue;
			}
			double rate = (double)r[i].iterations / ((double)r[i].wall_time_ns / 1e9);

			if (rate < a->min_iteration_rate.v)
				kt_assert_result_add_failure(
				    out, KT_DETAIL_BENCHMARK,
				    "worker %d iteration rate %.1f/s below "
				    "floor %.1f/s",
				    (int)r[i].tid, rate, a->min_iteration_rate.v);
		}
	}
}

static void check_migration(const struct kt_assert *a, const struct kt_cgroup_stats *st,
			    struct kt_assert_result *out)
{
	if (!a->max_migration_ratio.set)
		return;
	if (!st->total_iterations) {
		kt_assert_result_add_inconclusive(out, KT_DETAIL_MIGRATION,
						  "migration ratio: 0 iterations (zero denominator, "
						  "%llu migrations)",
						  (unsigned long long)st->total_migrations);
		return;
	}
	if (st->migration_ratio > a->max_migration_ratio.v)
		kt_assert_result_add_failure(out, KT_DETAIL_MIGRATION,
					     "migration ratio %.4f exceeds threshold %.4f (%llu "
					     "migrations / %llu iterations)",
					     st->migration_ratio, a->max_migration_ratio.v,
					     (unsigned long long)st->total_migrations,
					     (unsigned long long)st->total_iterations);
}

static void check_numa(const struct kt_assert *a, const struct kt_worker_report *r, size_t n,
		       const struct kt_check_ctx *ctx, struct kt_assert_result *out)
{
	bool any = a->min_page_locality.set || a->max_cross_node_migration_ratio.set ||
		   a->max_slow_tier_ratio.set;
	uint64_t local, total;

	if (!any)
		return;
	page_counts(r, n, have_nodes(ctx) ? ctx->cpuset_nodes : NULL, &local, &total);
	if (!total) {
		kt_assert_result_add_inconclusive(out, KT_DETAIL_PAGE_LOCALITY,
						  "NUMA checks: 0 pages measured (zero denominator)");
		return;
	}
	/*
	 * A group without a cpuset has no expected nodes (the locality checks
	 * do not apply); one with a cpuset whose nodes are unknown cannot be
	 * judged.
	 */
	if ((a->min_page_locality.set || a->max_slow_tier_ratio.set) && ctx && ctx->cpuset &&
	    !have_nodes(ctx))
		kt_assert_result_add_inconclusive(out, KT_DETAIL_PAGE_LOCALITY,
						  "page locality: the nodes of the group's cpuset are "
						  "unknown, so local pages cannot be told from remote");
	if (a->min_page_locality.set && have_nodes(ctx)) {
		double loc = (double)local / (double)total;

		if (loc < a->min_page_locality.v)
			kt_assert_result_add_failure(out, KT_DETAIL_PAGE_LOCALITY,
						     "page locality %.4f below threshold %.4f "
						     "(%llu/%llu pages local)",
						     loc, a->min_page_locality.v,
						     (unsigned long long)local,
						     (unsigned long long)total);
	}
	if (a->max_cross_node_migration_ratio.set) {
		uint64_t m = numa_migrated(r, n);
		double ratio = (double)m / (double)total;

		if (ratio > a->max_cross_node_migration_ratio.v)
			kt_assert_result_add_failure(out, KT_DETAIL_CROSS_NODE_MIGRATION,
						     "cross-node migration ratio %.4f exceeds "
						     "threshold %.4f (%llu/%llu pages migrated)",
						     ratio, a->max_cross_node_migration_ratio.v,
						     (unsigned long long)m,
						     (unsigned long long)total);
	}
	if (a->max_slow_tier_ratio.set && have_nodes(ctx)) {
		uint64_t slow = total - local;
		double ratio = (double)slow / (double)total;

		if (ratio > a->max_slow_tier_ratio.v)
			kt_assert_result_add_failure(out, KT_DETAIL_SLOW_TIER,
						     "slow-tier page ratio %.4f exceeds threshold "
						     "%.4f (%llu/%llu pages on non-CPU nodes)",
						     ratio, a->max_slow_tier_ratio.v,
						     (unsigned long long)slow,
						     (unsigned long long)total);
	}
}

void kt_check_not_starved(const struct kt_worker_report *r, size_t n,
			  const struct kt_check_ctx *ctx, struct kt_assert_result *out)
{
	struct kt_cgroup_stats st;

	kt_assert_result_pass(out);
	kt_cgroup_stats_compute(r, n, ctx, &st);
	kt_scenario_stats_add_cgroup(&out->stats, &st);
	check_starved_family(r, n, ctx, &st, NULL, NULL, out);
}

void kt_check_workers(const struct kt_assert *a, const struct kt_worker_report *r, size_t n,
		      const struct kt_check_ctx *ctx, struct kt_assert_result *out)
{
	struct kt_cgroup_stats st;

	if (!kt_assert_has_worker_checks(a)) {
		kt_check_not_starved(r, n, ctx, out);
		return;
	}
	kt_assert_result_pass(out);
	kt_cgroup_stats_compute(r, n, ctx, &st);
	kt_scenario_stats_add_cgroup(&out->stats, &st);

	if (a->not_starved.set && a->not_starved.v)
		check_starved_family(r, n, ctx, &st, &a->max_spread_pct, &a->max_gap_ms, out);
	if (a->isolation.set && a->isolation.v && ctx && ctx->cpuset)
		check_isolation(r, n, ctx->cpuset, out);
	if (a->max_throughput_cv.set || a->min_work_rate.set)
		check_throughput(a, r, n, out);
	if (a->max_p99_wake_latency_ns.set || a->max_wake_latency_cv.set ||
	    a->min_iteration_rate.set)
		check_wake(a, r, n, out);
	check_migration(a, &st, out);
	check_numa(a, r, n, ctx, out);
}
