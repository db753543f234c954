// SPDX-License-Identifier: GPL-2.0
/*
 * worker_main: the frame around every work type (policy setup, gap and
 * migration tracking, telemetry). The 20 loop bodies are in worker_body.c.
 * Runs in a forked child; single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workload/worker.h"

volatile sig_atomic_t kt_worker_stop;


void kw_wake_sample(struct wstate *st, uint64_t ns)
{
	struct kt_worker_report *r = st->rep;

	r->wake_sample_total++;
	if (r->n_resume_latencies < KT_MAX_WAKE_SAMPLES) {
		r->resume_latencies_ns[r->n_resume_latencies++] = ns;
		return;
	}
	uint64_t j = kt_xorshift64(&st->rng) % r->wake_sample_total;

	if (j < KT_MAX_WAKE_SAMPLES)
		r->resume_latencies_ns[j] = ns;
}

void kw_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	/* An interrupting SIGUSR1 ends the sleep early (stop). */
	nanosleep(&ts, NULL);
}

/* Sleep and record the overshoot (actual - requested) as a wake sample. */
void kw_sleep_sampled(struct wstate *st, uint64_t ns)
{
	uint64_t t0 = now_ns(), el;

	kw_sleep_ns(ns);
	el = now_ns() - t0;
	if (!kt_worker_stop)
		kw_wake_sample(st, el > ns ? el - ns : 0);
}

void kw_yield_sampled(struct wstate *st)
{
	uint64_t t0 = now_ns();

	sched_yield();
	kw_wake_sample(st, now_ns() - t0);
}

long kw_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000ull),
			      .tv_nsec = (long)(timeout_ns % 1000000000ull)};

	return syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

long kw_futex_wake(uint32_t *addr, int n)
{
	return syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* ---- telemetry ----------------------------------------------------------- */

struct schedstat {
	uint64_t cpu_ns, run_delay_ns, pcount;
};

static void read_schedstat(struct schedstat *s)
{
	char *txt = NULL;
	unsigned long long a = 0, b = 0, c = 0;

	memset(s, 0, sizeof(*s));
	if (kt_read_file("/proc/self/schedstat", &txt, NULL, 4096) < 0)
		return;
	if (sscanf(txt, "%llu %llu %llu", &a, &b, &c) == 3) {
		s->cpu_ns = a;
		s->run_delay_ns = b;
		s->pcount = c;
	}
	free(txt);
}

static uint64_t read_vmstat_numa_migrated(void)
{
	char *txt = NULL, *p;
	unsigned long long v = 0;

	if (kt_read_file("/proc/vmstat", &txt, NULL, 1 << 20) < 0)
		return 0;
	p = strstr(txt, "\nnuma_pages_migrated ");
	if (p)
		sscanf(p + 1, "numa_pages_migrated %llu", &v);
	free(txt);
	return v;
}

static void read_numa_pages(struct kt_worker_report *r)
{
	enum { MAXN = 1024 };
	uint64_t *pages;
	char *txt = NULL, *p;
	int maxnode = -1;

	if (kt_read_file("/proc/self/numa_maps", &txt, NULL, 16 << 20) < 0)
		return;
	pages = kt_calloc(MAXN, sizeof(*pages));
	for (p = txt; (p = strstr(p, " N")); p += 2) {
		char *end;
		unsigned long node = strtoul(p + 2, &end, 10);
		unsigned long long n;

		if (end == p + 2 || *end != '=' || node >= MAXN)
			continue;
		n = strtoull(end + 1, NULL, 10);
		pages[node] += n;
		if ((int)node > maxnode)
			maxnode = (int)node;
	}
	free(txt);
	for (int i = 0; i <= maxnode; i++)
		if (pages[i])
			r->n_numa_pages++;
	if (r->n_numa_pages) {
		size_t k = 0;

		r->numa_pages = kt_calloc(r->n_numa_pages, sizeof(*r->numa_pages));
		for (int i = 0; i <= maxnode; i++) {
			if (!pages[i])
				continue;
			r->numa_pages[k].node = i;
			r->numa_pages[k].pages = pages[i];
			k++;
		}
	}
	free(pages);
}

/* Gaps from this long on get their on-CPU part measured. */
#define GAP_PROBE_NS 50000000ull

/*
 * How much of a gap ending now the thread was on CPU by the kernel's
 * account, as a lower bound: all off-CPU time since the last sample
 * (taken at most CPU_SAMPLE_NS before the gap began) is put in the gap.
 * Takes a new sample.
 */
static uint64_t gap_on_cpu_ns(struct wstate *st, uint64_t now, uint64_t gap)
{
	uint64_t c = thread_cpu_ns(), window = now - st->cpu_sample_t;
	uint64_t ran = c - st->cpu_sample_c, off = window > ran ? window - ran : 0;

	st->cpu_sample_t = now;
	st->cpu_sample_c = c;
	return gap > off ? gap - off : 0;
}

/* Checkpoint: gap and migration tracking. */
static void checkpoint(struct wstate *st)
{
	struct kt_worker_report *r = st->rep;
	uint64_t now = now_ns(), gap = now - st->last_iter_time;
	int cpu;

	if (gap > st->max_gap_ns) {
		st->max_gap_ns = gap;
		r->max_gap_ms = gap / 1000000ull;
		r->max_gap_cpu = st->last_cpu;
		r->max_gap_at_ms = (now - st->start) / 1000000ull;
		r->max_gap_on_cpu_ms =
		    gap >= GAP_PROBE_NS ? gap_on_cpu_ns(st, now, gap) / 1000000ull : 0;
		if (r->max_gap_on_cpu_ms > r->max_gap_ms)
			r->max_gap_on_cpu_ms = r->max_gap_ms;
	}
	cpu_sample(st, now);
	st->last_iter_time = now;
	st->ckpt_units = r->work_units;
	cpu = sched_getcpu();
	if (cpu >= 0 && cpu < KT_MAX_CPUS && cpu != st->last_cpu) {
		r->migration_count++;
		kt_cpuset_set(&r->cpus_used, cpu);
		if (r->n_migrations < MAX_MIGRATIONS) {
			if (r->n_migrations == st->mig_cap) {
				st->mig_cap = st->mig_cap ? st->mig_cap * 2 : 64;
				r->migrations =
				    kt_realloc(r->migrations, st->mig_cap * sizeof(*r->migrations));
			}
			r->migrations[r->n_migrations].at_ns = now - st->start;
			r->migrations[r->n_migrations].from_cpu = st->last_cpu;
			r->migrations[r->n_migrations].to_cpu = cpu;
			r->n_migrations++;
		}
		st->last_cpu = cpu;
	}
}

/*
 * The gap is the time between checkpoints, so a checkpoint must follow
 * every stretch of progress. Counting units alone does not do that: a
 * YieldHeavy, ForkExit or PolicyChurn iteration is one unit (a yield, a
 * fork and reap), and 1024 of them take seconds of a worker that never
 * stopped progressing (ForkExit under TCG: 1024 forks in 5.7 s read as
 * "stuck 6184ms" at 20 s, and at 5 s no checkpoint at all, so no gap was
 * measured); bodies that add 256 or 320 units an iteration met an exact
 * multiple of 1024 only every few iterations. So: after every YieldHeavy
 * unit, and after any iteration that ends CHECKPOINT_UNITS units or
 * CHECKPOINT_NS after the last checkpoint.
 */
bool kt_worker_checkpoint_due(enum kt_work_type type, uint64_t units_since, uint64_t ns_since)
{
	return type == KT_WORK_YIELD_HEAVY || units_since >= CHECKPOINT_UNITS ||
	       ns_since >= CHECKPOINT_NS;
}

/* ---- policy setup -------------------------------------------------------- */

static void apply_sched_policy(const struct kt_sched_policy *sp)
{
	struct sched_param p = {0};
	int pol;

	switch (sp->kind) {
	case KT_SCHED_BATCH:
		pol = SCHED_BATCH;
		break;
	case KT_SCHED_IDLE:
		pol = SCHED_IDLE;
		break;
	case KT_SCHED_FIFO:
		pol = SCHED_FIFO;
		p.sched_priority = sp->priority < 1 ? 1 : sp->priority > 99 ? 99 : sp->priority;
		break;
	case KT_SCHED_RR:
		pol = SCHED_RR;
		p.sched_priority = sp->priority < 1 ? 1 : sp->priority > 99 ? 99 : sp->priority;
		break;
	default:
		return;
	}
	sched_setscheduler(0, pol, &p); /* errors ignored, as in the reference */
}

static void apply_mem_policy(const struct kt_mem_policy *mp)
{
	int mode = kt_mem_policy_mode(mp);
	unsigned long mask[KT_MAX_CPUS / (8 * sizeof(unsigned long))];
	int node, max_node = -1;

	if (mode < 0)
		return;
	memset(mask, 0, sizeof(mask));
	if (kt_mem_policy_has_nodes(mp)) {
		kt_cpuset_for_each(node, &mp->nodes)
		{
			mask[node / (8 * sizeof(unsigned long))] |=
			    1ul << (node % (8 * sizeof(unsigned long)));
			max_node = node;
		}
		syscall(SYS_set_mempolicy, mode | (int)mp->flags, mask,
			(unsigned long)(max_node + 2));
	} else {
		syscall(SYS_set_mempolicy, mode | (int)mp->flags, NULL, 0ul);
	}
}

void kw_set_affinity_set(const struct kt_cpuset *set)
{
	cpu_set_t *cs = CPU_ALLOC(KT_MAX_CPUS);
	size_t sz = CPU_ALLOC_SIZE(KT_MAX_CPUS);
	int cpu;

	if (!cs)
		return;
	CPU_ZERO_S(sz, cs);
	kt_cpuset_for_each(cpu, set) CPU_SET_S(cpu, sz, cs);
	sched_setaffinity(0, sz, cs);
	CPU_FREE(cs);
}

void kw_get_affinity_set(struct kt_cpuset *out)
{
	cpu_set_t *cs = CPU_ALLOC(KT_MAX_CPUS);
	size_t sz = CPU_ALLOC_SIZE(KT_MAX_CPUS);

	kt_cpuset_zero(out);
	if (!cs)
		return;
	if (sched_getaffinity(0, sz, cs) == 0)
		for (int c = 0; c < KT_MAX_CPUS; c++)
			if (CPU_ISSET_S(c, sz, cs))
				kt_cpuset_set(out, c);
	CPU_FREE(cs);
}

/* ---- bodies -------------------------------------------------------------- */

void kt_worker_main(const struct kt_worker_ctx *ctx, struct kt_worker_report *rep)
{
	const struct kt_workload_config *cfg = ctx->cfg;
	struct schedstat ss0, ss1;
	struct timespec cts;
	uint64_t vm0, vm1, wall;
	struct wstate st;
	int cpu;

	memset(rep, 0, sizeof(*rep));
	rep->tid = getpid();
	rep->is_messenger =
	    kt_work_group_size(&cfg->work) > 0 && ctx->group_idx == 0 &&
	    (cfg->work.type == KT_WORK_FUTEX_FAN_OUT || cfg->work.type == KT_WORK_FAN_OUT_COMPUTE);
	if (cfg->work.type == KT_WORK_PIPE_IO || cfg->work.type == KT_WORK_CACHE_PIPE ||
	    cfg->work.type == KT_WORK_FUTEX_PING_PONG)
		rep->exchange_pair = ctx->idx / 2 + 1;

	if (ctx->has_affinity)
		kw_set_affinity_set(&ctx->affinity);
	apply_sched_policy(&cfg->sched);
	apply_mem_policy(&cfg->mem);

	if (cfg->work.type == KT_WORK_CUSTOM) {
		int rc = cfg->work.custom.fn
			     ? cfg->work.custom.fn(&kt_worker_stop, cfg->work.custom.arg, rep)
			     : -EINVAL;

		rep->tid = getpid();
		rep->completed = rc == 0;
		return;
	}

	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	st.rep = rep;
	st.io_fd = -1;
	st.rng = ((uint64_t)getpid() << 32) ^ now_ns() ^ 0x9e3779b97f4a7c15ull;
	st.pf_seed = (uint64_t)getpid() | 1;
	rep->resume_latencies_ns = kt_calloc(KT_MAX_WAKE_SAMPLES, sizeof(uint64_t));
	kw_setup_type(&st);

	st.start = now_ns();
	rep->start_ns = st.start;
	st.last_iter_time = st.start;
	st.cpu_sample_t = st.start;
	st.cpu_sample_c = thread_cpu_ns();
	kw_get_affinity_set(&rep->allowed_cpus);
	cpu = sched_getcpu();
	st.last_cpu = cpu;
	if (cpu >= 0 && cpu < KT_MAX_CPUS)
		kt_cpuset_set(&rep->cpus_used, cpu);
	rep->max_gap_cpu = cpu < 0 ? 0 : cpu;
	vm0 = read_vmstat_numa_migrated();
	read_schedstat(&ss0);

	while (!kt_worker_stop) {
		kw_body(&st);
		rep->iterations++;
		__atomic_store_n(ctx->iter_slot, rep->iterations, __ATOMIC_RELAXED);
		if (kt_worker_checkpoint_due(cfg->work.type, rep->work_units - st.ckpt_units,
					     now_ns() - st.last_iter_time))
			checkpoint(&st);
	}

	kw_teardown_type(&st);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cts);
	rep->cpu_time_ns = (uint64_t)cts.tv_sec * 1000000000ull + (uint64_t)cts.tv_nsec;
	wall = now_ns() - st.start;
	rep->wall_time_ns = wall;
	rep->off_cpu_ns = wall > rep->cpu_time_ns ? wall - rep->cpu_time_ns : 0;
	read_schedstat(&ss1);
	rep->schedstat_cpu_time_ns = ss1.cpu_ns - ss0.cpu_ns;
	rep->schedstat_run_delay_ns = ss1.run_delay_ns - ss0.run_delay_ns;
	rep->schedstat_run_count = ss1.pcount - ss0.pcount;
	vm1 = read_vmstat_numa_migrated();
	rep->vmstat_numa_pages_migrated = vm1 > vm0 ? vm1 - vm0 : 0;
	read_numa_pages(rep);
	rep->completed = true;
	if (!rep->n_resume_latencies) {
		free(rep->resume_latencies_ns);
		rep->resume_latencies_ns = NULL;
	}
}
