// SPDX-License-Identifier: GPL-2.0
/*
 * Evidence for a failed fairness check: where each worker ran over the
 * run (from its migration record), what the guest kernel accounted for it
 * (schedstat), and what the load balancer saw on the CPUs the group could
 * use (/proc/schedstat, counters over the group's lifetime). The aim is a
 * failure a reader believes without rerunning it. Pure: the caller reads
 * /proc/schedstat.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

/* ---- /proc/schedstat ------------------------------------------------------- */

/* Per-idle-type load-balance fields: 8 up to version 16, 11 from 17 on. */
static int lb_fields_per_type(int version)
{
	return version >= 17 ? 11 : 8;
}

/* Index of lb_gained within one idle type's fields. */
static int lb_gained_idx(int version)
{
	return version >= 17 ? 7 : 4;
}

static int parse_mask(const char *s, struct kt_cpuset *out)
{
	size_t len = strlen(s);
	int bit = 0;

	kt_cpuset_zero(out);
	for (size_t i = len; i-- > 0;) {
		char c = s[i];
		int v;

		if (c == ',')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -EINVAL;
		for (int b = 0; b < 4; b++, bit++)
			if (v & (1 << b)) {
				if (bit >= KT_MAX_CPUS)
					return -EINVAL;
				kt_cpuset_set(out, bit);
			}
	}
	return 0;
}

/* Up to max unsigned numbers from s; returns how many. */
static int parse_nums(const char *s, uint64_t *v, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;
		unsigned long long x;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		x = strtoull(s, &end, 10);
		v[n++] = x;
		s = end;
	}
	return n;
}

static void add_cpu(struct kt_lb_stats *st, int cpu, const uint64_t *v, int nv)
{
	struct kt_lb_cpu *c;

	st->cpus = kt_realloc(st->cpus, (st->n_cpus + 1) * sizeof(*st->cpus));
	c = &st->cpus[st->n_cpus++];
	memset(c, 0, sizeof(*c));
	c->cpu = cpu;
	/* yld_count, 0, sched_count, sched_goidle, ttwu_count, ttwu_local, rq_cpu_time, run_delay,
	 * pcount */
	if (nv >= 9) {
		c->sched_goidle = v[3];
		c->run_delay_ns = v[7];
		c->pcount = v[8];
	}
}

static int add_domain(struct kt_lb_stats *st, int level, const char *rest)
{
	uint64_t v[64];
	char mask[160];
	const char *sp = strchr(rest, ' ');
	int per = lb_fields_per_type(st->version), nv;
	struct kt_lb_domain *d;
	struct kt_lb_cpu *c;

	if (!st->n_cpus || !sp || (size_t)(sp - rest) >= sizeof(mask))
		return -EINVAL;
	memcpy(mask, rest, (size_t)(sp - rest));
	mask[sp - rest] = '\0';
	nv = parse_nums(sp, v, 64);
	if (nv < 3 * per + 3)
		return -EINVAL;
	c = &st->cpus[st->n_cpus - 1];
	if (c->n_domains >= KT_LB_MAX_DOMAINS)
		return 0;
	d = &c->domains[c->n_domains++];
	memset(d, 0, sizeof(*d));
	d->level = level;
	if (parse_mask(mask, &d->span) < 0)
		return -EINVAL;
	/* The three idle types (busy, idle, newly idle) summed. */
	for (int t = 0; t < 3; t++) {
		const uint64_t *f = v + t * per;

		d->lb_count += f[0];
		d->lb_balanced += f[1];
		d->lb_failed += f[2];
		d->lb_gained += f[lb_gained_idx(st->version)];
		d->lb_nobusyg += f[per - 1];
	}
	d->alb_count = v[3 * per];
	d->alb_pushed = v[3 * per + 2];
	return 0;
}

int kt_lb_stats_parse(const char *text, struct kt_lb_stats *out)
{
	const char *p = text;
	int r = 0;

	memset(out, 0, sizeof(*out));
	while (p && *p && r == 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[1024];
		uint64_t v[16];
		int id;

		if (len >= sizeof(line)) {
			r = -EINVAL;
			break;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : NULL;
		if (sscanf(line, "version %d", &out->version) == 1)
			continue;
		if (!strncmp(line, "cpu", 3) && sscanf(line + 3, "%d", &id) == 1 && id >= 0 &&
		    id < KT_MAX_CPUS) {
			const char *sp = strchr(line, ' ');
			int nv = sp ? parse_nums(sp, v, 16) : 0;

			if (nv < 0)
				r = -EINVAL;
			else
				add_cpu(out, id, v, nv);
			continue;
		}
		if (!strncmp(line, "domain", 6) && sscanf(line + 6, "%d", &id) == 1 && id >= 0) {
			const char *sp = strchr(line, ' ');

			r = sp ? add_domain(out, id, sp + 1) : -EINVAL;
			continue;
		}
	}
	if (!r && (out->version < 15 || out->version > 17))
		r = -EPROTONOSUPPORT;
	if (r)
		kt_lb_stats_free(out);
	return r;
}

void kt_lb_stats_free(struct kt_lb_stats *st)
{
	free(st->cpus);
	memset(st, 0, sizeof(*st));
}

void kt_rq_series_add(struct kt_rq_series *s, uint64_t at_ns, const struct kt_lb_stats *st,
		      size_t max)
{
	uint64_t *row;

	if (!st || (s->n && at_ns <= s->at_ns[s->n - 1]))
		return;
	if (!s->n) {
		s->n_cpus = 0;
		for (size_t i = 0; i < st->n_cpus; i++)
			if (st->cpus[i].cpu + 1 > s->n_cpus)
				s->n_cpus = st->cpus[i].cpu + 1;
	}
	if (!s->n_cpus)
		return;
	if (max < 2)
		max = 2;
	if (s->n >= max) {
		/* Keep every other sample: the period doubles, the memory stays bounded. */
		size_t k = 0;

		for (size_t i = 0; i < s->n; i += 2, k++) {
			s->at_ns[k] = s->at_ns[i];
			memmove(s->run_delay + k * (size_t)s->n_cpus,
				s->run_delay + i * (size_t)s->n_cpus,
				(size_t)s->n_cpus * sizeof(uint64_t));
		}
		s->n = k;
		s->every_ns *= 2;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->at_ns = kt_realloc(s->at_ns, s->cap * sizeof(uint64_t));
		s->run_delay = kt_realloc(s->run_delay, s->cap * (size_t)s->n_cpus * sizeof(uint64_t));
	}
	s->at_ns[s->n] = at_ns;
	row = s->run_delay + s->n * (size_t)s->n_cpus;
	for (int c = 0; c < s->n_cpus; c++)
		row[c] = UINT64_MAX;
	for (size_t i = 0; i < st->n_cpus; i++)
		if (st->cpus[i].cpu < s->n_cpus)
			row[st->cpus[i].cpu] = st->cpus[i].run_delay_ns;
	s->n++;
}

void kt_rq_series_free(struct kt_rq_series *s)
{
	free(s->at_ns);
	free(s->run_delay);
	memset(s, 0, sizeof(*s));
}

static const struct kt_lb_cpu *find_cpu(const struct kt_lb_stats *st, int cpu)
{
	for (size_t i = 0; i < st->n_cpus; i++)
		if (st->cpus[i].cpu == cpu)
			return &st->cpus[i];
	return NULL;
}

static uint64_t dlt(uint64_t a, uint64_t b)
{
	return b > a ? b - a : 0;
}

static void fmt_secs(struct sbuf *sb, uint64_t ns)
{
	sb_addf(sb, "%.2fs", (double)ns / 1e9);
}

void kt_lb_stats_format(const struct kt_lb_stats *a, const struct kt_lb_stats *b,
			const struct kt_cpuset *cpus, struct sbuf *sb)
{
	struct kt_cpuset all = *cpus;
	int cpu;

	/*
	 * The CPUs sharing the lowest domain with the group's CPUs too: an
	 * idle sibling outside the cpuset is often the one that balances for
	 * the whole group.
	 */
	kt_cpuset_for_each(cpu, cpus)
	{
		const struct kt_lb_cpu *y = find_cpu(b, cpu);

		if (y && y->n_domains)
			kt_cpuset_or(&all, &all, &y->domains[0].span);
	}
	kt_cpuset_for_each(cpu, &all)
	{
		const struct kt_lb_cpu *x = find_cpu(a, cpu), *y = find_cpu(b, cpu);

		if (!x || !y)
			continue;
		sb_addf(sb, "\n    cpu%d%s: tasks waited ", cpu,
			kt_cpuset_has(cpus, cpu) ? "" : " (not the group's)");
		fmt_secs(sb, dlt(x->run_delay_ns, y->run_delay_ns));
		sb_addf(sb, " in its queue, went idle %llu times",
			(unsigned long long)dlt(x->sched_goidle, y->sched_goidle));
		for (int k = 0; k < y->n_domains && k < x->n_domains; k++) {
			const struct kt_lb_domain *p = &x->domains[k], *q = &y->domains[k];
			char span[128];

			kt_cpuset_format(&q->span, span, sizeof(span));
			sb_addf(sb,
				"; balancing over {%s}: %llu runs, %llu found it balanced, "
				"%llu failed to move, %llu tasks pulled",
				span, (unsigned long long)dlt(p->lb_count, q->lb_count),
				(unsigned long long)dlt(p->lb_balanced, q->lb_balanced),
				(unsigned long long)dlt(p->lb_failed, q->lb_failed),
				(unsigned long long)dlt(p->lb_gained, q->lb_gained));
			if (dlt(p->alb_count, q->alb_count))
				sb_addf(sb, ", %llu active pushes",
					(unsigned long long)dlt(p->alb_pushed, q->alb_pushed));
		}
	}
}

/* ---- per worker ---------------------------------------------------------- */

#define MAX_SEGMENTS 6

/*
 * Each stretch [t0, t1) of one worker's run on one CPU, in order, from its
 * migration record (times from the worker's start, clamped to its wall
 * time); the first migration's from_cpu is where it started.
 */
typedef void (*stretch_fn)(int cpu, uint64_t t0, uint64_t t1, void *arg);

static void for_each_stretch(const struct kt_worker_report *r, stretch_fn fn, void *arg)
{
	uint64_t end = r->wall_time_ns, at = 0;
	int cur = -1;

	if (r->n_migrations)
		cur = r->migrations[0].from_cpu;
	else if (kt_cpuset_count(&r->cpus_used) == 1)
		cur = kt_cpuset_first(&r->cpus_used);
	for (size_t i = 0; i <= r->n_migrations; i++) {
		uint64_t t = i < r->n_migrations ? r->migrations[i].at_ns : end;

		if (t > end)
			t = end;
		if (t < at)
			t = at;
		if (cur >= 0 && cur < KT_MAX_CPUS)
			fn(cur, at, t, arg);
		at = t;
		if (i < r->n_migrations)
			cur = r->migrations[i].to_cpu;
	}
}

struct walk {
	uint64_t *per_cpu;
	struct kt_cpuset *seen;
	struct sbuf *segs;
	int nseg;
};

static void walk_stretch(int cpu, uint64_t t0, uint64_t t1, void *arg)
{
	struct walk *w = arg;

	w->per_cpu[cpu] += t1 - t0;
	kt_cpuset_set(w->seen, cpu);
	if (w->segs && w->nseg < MAX_SEGMENTS && t1 > t0)
		sb_addf(w->segs, "%s cpu%d %.1f-%.1fs", w->nseg ? "," : "", cpu, (double)t0 / 1e9,
			(double)t1 / 1e9);
	else if (w->segs && w->nseg == MAX_SEGMENTS)
		sb_adds(w->segs, ", ...");
	if (t1 > t0)
		w->nseg++;
}

/*
 * One worker's placement: time per CPU (per_cpu, indexed by CPU), the
 * CPUs seen, and, when segs is given, the first segments appended as
 * " cpuN a-bs". Returns the number of non-empty segments.
 */
static int placement_walk(const struct kt_worker_report *r, uint64_t *per_cpu,
			  struct kt_cpuset *seen, struct sbuf *segs)
{
	struct walk w = {per_cpu, seen, segs, 0};

	memset(per_cpu, 0, sizeof(uint64_t) * KT_MAX_CPUS);
	kt_cpuset_zero(seen);
	for_each_stretch(r, walk_stretch, &w);
	return w.nseg;
}

/* Where one worker ran: time per CPU and the first segments, from its migrations. */
static void format_placement(const struct kt_worker_report *r, struct sbuf *sb)
{
	uint64_t per_cpu[KT_MAX_CPUS];
	struct kt_cpuset seen;
	int cpu, nseg;

	sb_adds(sb, "; ran on");
	nseg = placement_walk(r, per_cpu, &seen, sb);
	if (!nseg) {
		sb_adds(sb, " (no placement record)");
		return;
	}
	if (kt_cpuset_count(&seen) > 1 && r->wall_time_ns) {
		sb_adds(sb, " (");
		nseg = 0;
		kt_cpuset_for_each(cpu, &seen)
		    sb_addf(sb, "%scpu%d %.0f%%", nseg++ ? ", " : "", cpu,
			    (double)per_cpu[cpu] * 100.0 / (double)r->wall_time_ns);
		sb_adds(sb, ")");
	}
	if (r->n_migrations >= KT_MAX_MIGRATIONS)
		sb_adds(sb, " (migration record full: later moves not shown)");
}

void kt_worker_evidence_format(const struct kt_worker_report *r, size_t n, struct sbuf *sb)
{
	for (size_t i = 0; i < n; i++) {
		const struct kt_worker_report *w = &r[i];
		double off =
		    w->wall_time_ns ? (double)w->off_cpu_ns * 100.0 / (double)w->wall_time_ns : 0;

		sb_addf(sb, "\n    tid %d%s", (int)w->tid, w->is_messenger ? " (messenger)" : "");
		if (w->exchange_pair)
			sb_addf(sb, " (pair %u)", (unsigned)w->exchange_pair);
		sb_addf(sb, ": off-CPU %.0f%% of ", off);
		fmt_secs(sb, w->wall_time_ns);
		sb_adds(sb, "; kernel: ran ");
		fmt_secs(sb, w->schedstat_cpu_time_ns);
		sb_adds(sb, ", waited runnable ");
		fmt_secs(sb, w->schedstat_run_delay_ns);
		sb_addf(sb, " (%.0f%%), %llu times on a CPU, %llu migrations", kt_worker_wait_pct(w),
			(unsigned long long)w->schedstat_run_count,
			(unsigned long long)w->migration_count);
		format_placement(w, sb);
	}
}

/* ---- the summary line ---------------------------------------------------- */

/* A worker settled on a CPU when it spent at least half its wall time there. */
#define SETTLED_PCT 50.0
/* CPUs named in the summary before "and N more". */
#define WHY_MAX_CPUS 16

struct why_cpu {
	unsigned n;
	double wmin, wmax;
};

/* The balancer's runs, balanced verdicts and pulls on the CPUs of cpus, all domains. */
static void lb_sum(const struct kt_lb_stats *a, const struct kt_lb_stats *b,
		   const struct kt_cpuset *cpus, uint64_t *runs, uint64_t *bal, uint64_t *pulled)
{
	int cpu;

	*runs = *bal = *pulled = 0;
	kt_cpuset_for_each(cpu, cpus)
	{
		const struct kt_lb_cpu *x = find_cpu(a, cpu), *y = find_cpu(b, cpu);

		if (!x || !y)
			continue;
		for (int k = 0; k < y->n_domains && k < x->n_domains; k++) {
			*runs += dlt(x->domains[k].lb_count, y->domains[k].lb_count);
			*bal += dlt(x->domains[k].lb_balanced, y->domains[k].lb_balanced);
			*pulled += dlt(x->domains[k].lb_gained, y->domains[k].lb_gained);
		}
	}
}

/*
 * A worker's runnable share (ran + waited, of its wall time) above which
 * it counts as always runnable: only then does the share of a CPU it
 * waited follow from how many it shared that CPU with.
 */
#define BUSY_PCT 90.0

/* Every worker always runnable, with a complete placement record. */
static bool all_busy(const struct kt_worker_report *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct kt_worker_report *w = &r[i];

		if (!w->wall_time_ns || !w->schedstat_run_count ||
		    w->n_migrations >= KT_MAX_MIGRATIONS ||
		    (double)(w->schedstat_cpu_time_ns + w->schedstat_run_delay_ns) * 100.0 <
			BUSY_PCT * (double)w->wall_time_ns)
			return false;
	}
	return n > 0;
}

/* One end of a stretch: worker w arrives on (+1) or leaves (-1) cpu at t. */
struct pl_ev {
	uint64_t t;
	int cpu, delta;
	size_t w;
};

struct pl_collect {
	struct pl_ev *ev;
	size_t n, cap, w;
};

static void pl_add(struct pl_collect *c, uint64_t t, int cpu, int delta)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->ev = kt_realloc(c->ev, c->cap * sizeof(*c->ev));
	}
	c->ev[c->n++] = (struct pl_ev){t, cpu, delta, c->w};
}

static void pl_stretch(int cpu, uint64_t t0, uint64_t t1, void *arg)
{
	if (t1 > t0) {
		pl_add(arg, t0, cpu, 1);
		pl_add(arg, t1, cpu, -1);
	}
}

/* By time; at the same time a departure first, so a worker's stretches never overlap. */
static int pl_cmp(const void *a, const void *b)
{
	const struct pl_ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->delta - y->delta;
}

/* What the group's own placement implies, for the why line. */
struct pl_model {
	double *wait; /* per worker: percent of its wall time spent sharing a CPU */
	uint64_t uneven_ns;      /* time with occupied CPUs 2+ workers apart */
	uint64_t long_t0, long_t1; /* the longest such stretch without a move */
	int long_k[KT_MAX_CPUS];   /* workers per CPU during it */
};

/*
 * Sweep every worker's stretches in time order, counting the group's
 * workers per CPU. A worker on a CPU with k of them, each always
 * runnable and the CPU shared evenly, waits (k-1)/k of that stretch.
 */
static void placement_model(const struct kt_worker_report *r, size_t n, struct pl_model *m)
{
	struct pl_collect c = {0};
	double *pend = kt_calloc(n, sizeof(double));
	double *acc = kt_calloc(KT_MAX_CPUS, sizeof(double));
	int *k = kt_calloc(KT_MAX_CPUS, sizeof(int));
	int used[KT_MAX_CPUS], n_used = 0;
	struct kt_cpuset seen;
	uint64_t prev = 0;

	m->wait = kt_calloc(n, sizeof(double));
	m->uneven_ns = m->long_t0 = m->long_t1 = 0;
	for (size_t i = 0; i < n; i++) {
		c.w = i;
		for_each_stretch(&r[i], pl_stretch, &c);
	}
	if (c.n)
		qsort(c.ev, c.n, sizeof(*c.ev), pl_cmp);
	kt_cpuset_zero(&seen);
	for (size_t e = 0; e < c.n; e++)
		if (!kt_cpuset_has(&seen, c.ev[e].cpu)) {
			kt_cpuset_set(&seen, c.ev[e].cpu);
			used[n_used++] = c.ev[e].cpu;
		}
	for (size_t e = 0; e < c.n; e++) {
		const struct pl_ev *v = &c.ev[e];

		if (v->t > prev) {
			uint64_t len = v->t - prev;
			int lo = 0, hi = 0;
			bool any = false;

			for (int j = 0; j < n_used; j++) {
				int kk = k[used[j]];

				if (!kk)
					continue;
				acc[used[j]] += (double)len * (double)(kk - 1) / (double)kk;
				lo = !any || kk < lo ? kk : lo;
				hi = !any || kk > hi ? kk : hi;
				any = true;
			}
			if (any && hi - lo >= 2) {
				m->uneven_ns += len;
				if (len > m->long_t1 - m->long_t0) {
					m->long_t0 = prev;
					m->long_t1 = v->t;
					memcpy(m->long_k, k, sizeof(m->long_k));
				}
			}
			prev = v->t;
		}
		if (v->delta > 0) {
			pend[v->w] = acc[v->cpu];
			k[v->cpu]++;
		} else {
			m->wait[v->w] += acc[v->cpu] - pend[v->w];
			k[v->cpu]--;
		}
	}
	for (size_t i = 0; i < n; i++)
		m->wait[i] = r[i].wall_time_ns ? m->wait[i] * 100.0 / (double)r[i].wall_time_ns : 0;
	free(c.ev);
	free(pend);
	free(acc);
	free(k);
}

/* Tasks of any group waiting on cpu on average between the snapshots (-1 = unknown). */
static double queue_len(const struct kt_lb_stats *a, const struct kt_lb_stats *b, int cpu,
			uint64_t window_ns)
{
	const struct kt_lb_cpu *x = find_cpu(a, cpu), *y = find_cpu(b, cpu);

	if (!x || !y || !window_ns)
		return -1;
	return (double)dlt(x->run_delay_ns, y->run_delay_ns) / (double)window_ns;
}

/* What a stretch of one worker meets in the sampled queues. */
struct qs_walk {
	const struct kt_rq_series *s;
	const struct kt_lb_stats *a, *b; /* the whole-window average where not sampled */
	uint64_t base, window;
	double wait_ns;
	bool ok;
};

/* A worker waits q/(1+q) of the time it sits on a CPU where q tasks wait on average. */
static double share_of(double q)
{
	return q / (1 + q);
}

static void qs_stretch(int cpu, uint64_t t0, uint64_t t1, void *arg)
{
	struct qs_walk *w = arg;
	const struct kt_rq_series *s = w->s;
	uint64_t a = w->base + t0, b = w->base + t1;
	size_t lo = 0, hi = s->n - 1;

	if (!w->ok || b <= a)
		return;
	/* The first interval [at[j], at[j+1]) ending after a. */
	while (lo + 1 < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->at_ns[mid] <= a)
			lo = mid;
		else
			hi = mid;
	}
	while (a < b) {
		uint64_t from = s->at_ns[lo], to = s->at_ns[lo + 1], end;
		const uint64_t *x = s->run_delay + lo * (size_t)s->n_cpus;
		const uint64_t *y = x + s->n_cpus;
		double q;

		if (a < s->at_ns[0] || a >= s->at_ns[s->n - 1]) {
			/* Outside the samples: the whole window's average. */
			end = a < s->at_ns[0] ? (b < s->at_ns[0] ? b : s->at_ns[0]) : b;
			q = w->a && w->b ? queue_len(w->a, w->b, cpu, w->window) : -1;
		} else {
			while (lo + 2 < s->n && to <= a) {
				lo++;
				from = s->at_ns[lo];
				to = s->at_ns[lo + 1];
				x = s->run_delay + lo * (size_t)s->n_cpus;
				y = x + s->n_cpus;
			}
			end = b < to ? b : to;
			q = cpu < s->n_cpus && x[cpu] != UINT64_MAX && y[cpu] != UINT64_MAX && to > from
				? (double)dlt(x[cpu], y[cpu]) / (double)(to - from)
				: -1;
		}
		if (q < 0) {
			w->ok = false;
			return;
		}
		w->wait_ns += (double)(end - a) * share_of(q);
		a = end;
	}
}

/*
 * Per worker, the percent of its wall time it would wait given the queue
 * on each CPU it sat on while it sat there (rq samples, the whole window's
 * average outside them). False when a worker has no start time or a
 * queue is unknown.
 */
static bool sampled_queue_waits(const struct kt_worker_report *r, size_t n,
				const struct kt_rq_series *rq, const struct kt_lb_stats *a,
				const struct kt_lb_stats *b, uint64_t window, double *out)
{
	if (!rq || rq->n < 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct qs_walk w = {rq, a, b, r[i].start_ns, window, 0, true};

		if (!r[i].start_ns || !r[i].wall_time_ns)
			return false;
		for_each_stretch(&r[i], qs_stretch, &w);
		if (!w.ok)
			return false;
		out[i] = w.wait_ns * 100.0 / (double)r[i].wall_time_ns;
	}
	return true;
}

void kt_spread_why_format(const struct kt_worker_report *r, size_t n,
			  const struct kt_cpuset *cpus, const struct kt_lb_stats *a,
			  const struct kt_lb_stats *b, const struct kt_rq_series *rq,
			  struct sbuf *sb)
{
	struct why_cpu at[KT_MAX_CPUS];
	uint64_t per_cpu[KT_MAX_CPUS], window = 0;
	double *qwait = kt_calloc(n ? n : 1, sizeof(double));
	double *swait = kt_calloc(n ? n : 1, sizeof(double));
	struct kt_cpuset seen, set = *cpus;
	size_t moving = 0;
	unsigned lo = ~0u, hi = 0;
	int cpu, shown = 0, more = 0;
	bool busy = all_busy(r, n), queues = a && b, qknown = queues && busy;
	double slo, shi;

	/* The window the queues are averaged over: between the snapshots, else the longest run. */
	for (size_t i = 0; i < n; i++)
		window = r[i].wall_time_ns > window ? r[i].wall_time_ns : window;
	if (queues && a->at_ns && b->at_ns > a->at_ns)
		window = b->at_ns - a->at_ns;
	memset(at, 0, sizeof(at));
	for (size_t i = 0; i < n; i++) {
		double w = kt_worker_wait_pct(&r[i]);
		int best = -1;

		placement_walk(&r[i], per_cpu, &seen, NULL);
		kt_cpuset_for_each(cpu, &seen)
		{
			if (best < 0 || per_cpu[cpu] > per_cpu[best])
				best = cpu;
			if (qknown) {
				double q = queue_len(a, b, cpu, window);

				if (q < 0)
					qknown = false;
				else
					qwait[i] += (double)per_cpu[cpu] * 100.0 /
						    (double)r[i].wall_time_ns * share_of(q);
			}
		}
		if (best < 0 || !r[i].wall_time_ns ||
		    (double)per_cpu[best] * 100.0 / (double)r[i].wall_time_ns < SETTLED_PCT) {
			moving++;
			continue;
		}
		if (!at[best].n || w < at[best].wmin)
			at[best].wmin = w;
		if (!at[best].n || w > at[best].wmax)
			at[best].wmax = w;
		at[best].n++;
		kt_cpuset_set(&set, best);
	}
	sb_adds(sb, "\n  why: for most of the run");
	kt_cpuset_for_each(cpu, &set)
	{
		const struct why_cpu *c = &at[cpu];
		double q = queues ? queue_len(a, b, cpu, window) : -1;

		lo = c->n < lo ? c->n : lo;
		hi = c->n > hi ? c->n : hi;
		if (shown == WHY_MAX_CPUS) {
			more++;
			continue;
		}
		sb_addf(sb, "%s cpu%d ", shown++ ? "," : "", cpu);
		if (!c->n)
			sb_adds(sb, "held none of them");
		else if (c->wmin == c->wmax || (int)(c->wmin + 0.5) == (int)(c->wmax + 0.5))
			sb_addf(sb, "held %u (waited %.0f%%", c->n, c->wmax);
		else
			sb_addf(sb, "held %u (waited %.0f-%.0f%%", c->n, c->wmin, c->wmax);
		if (q >= 0)
			sb_addf(sb, "%squeue %.1f)", c->n ? ", " : " (", q);
		else if (c->n)
			sb_adds(sb, ")");
	}
	if (more)
		sb_addf(sb, " and %d more CPUs", more);
	if (queues && shown)
		sb_adds(sb, "; queue: tasks of any group waiting on that CPU, on average");
	if (moving)
		sb_addf(sb, "; %zu moved between CPUs", moving);
	if (shown && lo == hi)
		sb_addf(sb, "; even: %u per CPU", lo);
	else if (shown)
		sb_addf(sb, "; %s: %u to %u per CPU", hi - lo >= 2 ? "uneven" : "even", lo, hi);
	if (busy) {
		struct pl_model m;

		placement_model(r, n, &m);
		if (kt_class_spread(r, n, m.wait, &slo, &shi) >= 2) {
			sb_addf(sb,
				"; sharing each CPU evenly among the group's workers on it, this "
				"placement alone makes a spread of %.0f%%",
				shi - slo);
			if (!m.uneven_ns) {
				sb_adds(sb, " (never 2 or more apart)");
			} else {
				bool first = true;

				double pct = (double)m.uneven_ns * 100.0 / (double)window;

				/* Rounding must not print "0% of the run" or a "1.5-1.5s" stretch. */
				if (pct < 1)
					sb_adds(sb, " (2 or more apart for under 1% of the run");
				else
					sb_addf(sb, " (2 or more apart for %.0f%% of the run", pct);
				if (m.long_t1 - m.long_t0 < 100000000ull)
					sb_addf(sb, ", longest under 0.1 s, at %.1fs:",
						(double)m.long_t0 / 1e9);
				else
					sb_addf(sb, ", longest %.1f-%.1fs:", (double)m.long_t0 / 1e9,
						(double)m.long_t1 / 1e9);
				for (int c = 0; c < KT_MAX_CPUS; c++)
					if (m.long_k[c]) {
						sb_addf(sb, "%s cpu%d held %d", first ? "" : ",", c,
							m.long_k[c]);
						first = false;
					}
				sb_adds(sb, ")");
			}
		}
		free(m.wait);
	}
	if (busy && sampled_queue_waits(r, n, rq, a, b, window, swait)) {
		if (kt_class_spread(r, n, swait, &slo, &shi) >= 2)
			sb_addf(sb,
				"; waiting as the queues on their CPUs at the time imply (sampled "
				"every %.1f s) makes a spread of %.0f%%",
				(double)rq->every_ns / 1e9, shi - slo);
	} else if (qknown && kt_class_spread(r, n, qwait, &slo, &shi) >= 2) {
		sb_addf(sb, "; waiting as those queues imply makes a spread of %.0f%%", shi - slo);
	}
	free(qwait);
	free(swait);
	if (a && b) {
		uint64_t runs, bal, pulled;

		lb_sum(a, b, cpus, &runs, &bal, &pulled);
		if (runs)
			sb_addf(sb,
				"; the load balancer ran %llu times on these CPUs, found them "
				"balanced %llu times and pulled %llu tasks",
				(unsigned long long)runs, (unsigned long long)bal,
				(unsigned long long)pulled);
		else
			sb_adds(sb, "; the fair-class load balancer did not run on these CPUs");
	}
}
