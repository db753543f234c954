// SPDX-License-Identifier: GPL-2.0
/*
 * worker_main: the frame around every work type (policy setup, gap and
 * migration tracking, telemetry) and the 20 loop bodies. Runs in a forked
 * child; single-threaded.
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

#include "workload/internal.h"

volatile sig_atomic_t kt_worker_stop;

#define CHECKPOINT_UNITS 1024
#define MAX_MIGRATIONS KT_MAX_MIGRATIONS
#define FUTEX_WAIT_NS 100000000ull

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static uint64_t now_ns(void)
{
	return kt_now_ns();
}

/* ---- per-worker state ---------------------------------------------------- */

struct wstate {
	const struct kt_worker_ctx *ctx;
	struct kt_worker_report *rep;
	uint64_t start;
	uint64_t last_iter_time;
	uint64_t max_gap_ns;
	int last_cpu;
	uint64_t rng;
	size_t mig_cap;
	/* type-specific */
	int io_fd;
	char io_path[PATH_MAX];
	uint8_t *buf;
	size_t buf_len;
	size_t buf_idx;
	uint64_t *mat;
	size_t mat_n;
	uint32_t last_gen;
	int nice_min;
	bool rt_permitted;
	struct kt_cpuset start_mask;
	int policy_step;
	uint64_t pf_seed;
};

static void spin_burst(struct wstate *st, uint64_t n)
{
	uint64_t u = st->rep->work_units;

	for (uint64_t i = 0; i < n; i++) {
		u++;
		cpu_relax();
	}
	st->rep->work_units = u;
}

static void reset_gap(struct wstate *st)
{
	st->last_iter_time = now_ns();
}

static void wake_sample(struct wstate *st, uint64_t ns)
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

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	/* An interrupting SIGUSR1 ends the sleep early (stop). */
	nanosleep(&ts, NULL);
}

/* Sleep and record the overshoot (actual - requested) as a wake sample. */
static void sleep_sampled(struct wstate *st, uint64_t ns)
{
	uint64_t t0 = now_ns(), el;

	sleep_ns(ns);
	el = now_ns() - t0;
	if (!kt_worker_stop)
		wake_sample(st, el > ns ? el - ns : 0);
}

static void yield_sampled(struct wstate *st)
{
	uint64_t t0 = now_ns();

	sched_yield();
	wake_sample(st, now_ns() - t0);
}

static long futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000ull),
			      .tv_nsec = (long)(timeout_ns % 1000000000ull)};

	return syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

static long futex_wake(uint32_t *addr, int n)
{
	return syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

static uint32_t load32(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
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
	}
	st->last_iter_time = now;
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

static void set_affinity_set(const struct kt_cpuset *set)
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

static void get_affinity_set(struct kt_cpuset *out)
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

static void io_body(struct wstate *st)
{
	static const char zeros[4096];

	if (st->io_fd < 0)
		return;
	if (ftruncate(st->io_fd, 0) < 0 || lseek(st->io_fd, 0, SEEK_SET) < 0)
		return;
	for (int i = 0; i < 16; i++) {
		if (write(st->io_fd, zeros, sizeof(zeros)) < 0)
			break;
		st->rep->work_units++;
	}
}

static void io_open(struct wstate *st)
{
	const char *tmp = kt_getenv("TMPDIR");

	snprintf(st->io_path, sizeof(st->io_path), "%s/ktstr_io_%d", tmp ? tmp : "/tmp",
		 (int)getpid());
	st->io_fd = open(st->io_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* idx = (idx + stride) % len, volatile RMW, u += 1 each. */
static void cache_rmw(struct wstate *st, uint64_t count, uint64_t stride)
{
	volatile uint8_t *b = st->buf;
	size_t idx = st->buf_idx, len = st->buf_len;

	if (!b || !len)
		return;
	for (uint64_t i = 0; i < count; i++) {
		b[idx] = (uint8_t)(b[idx] + 1);
		idx = (idx + stride) % len;
		st->rep->work_units++;
	}
	st->buf_idx = idx;
}

/* Write 1 byte to the partner and wait (poll 100 ms slices) for its byte. */
static void pipe_exchange(struct wstate *st)
{
	const struct kt_worker_ctx *c = st->ctx;
	uint64_t t0;
	char b = 'x';

	if (c->pipe_rd < 0 || c->pipe_wr < 0)
		return;
	if (write(c->pipe_wr, &b, 1) < 0 && errno == EPIPE) {
		/* Partner gone: nothing left to exchange with. */
		kt_worker_stop = 1;
		return;
	}
	t0 = now_ns();
	while (!kt_worker_stop) {
		struct pollfd pfd = {.fd = c->pipe_rd, .events = POLLIN};
		int n = poll(&pfd, 1, 100);

		if (n > 0) {
			ssize_t r = read(c->pipe_rd, &b, 1);

			if (r == 1) {
				wake_sample(st, now_ns() - t0);
				break;
			}
			if (r == 0) { /* partner closed */
				kt_worker_stop = 1;
				break;
			}
		}
	}
	reset_gap(st);
}

static void futex_ping_pong(struct wstate *st)
{
	uint32_t *word = st->ctx->group_mem;
	uint32_t mine = st->ctx->group_idx, partner = mine ^ 1;
	uint64_t t0;

	spin_burst(st, st->ctx->cfg->work.futex_ping_pong.spin_iters);
	store32(word, partner);
	futex_wake(word, 1);
	t0 = now_ns();
	while (!kt_worker_stop) {
		uint32_t v = load32(word);

		if (v == mine) {
			wake_sample(st, now_ns() - t0);
			break;
		}
		futex_wait(word, v, FUTEX_WAIT_NS);
	}
	reset_gap(st);
}

static void futex_fan_out(struct wstate *st)
{
	uint32_t *gen = st->ctx->group_mem;
	const struct kt_work *w = &st->ctx->cfg->work;

	spin_burst(st, w->futex_fan_out.spin_iters);
	if (st->ctx->group_idx == 0) {
		__atomic_fetch_add(gen, 1, __ATOMIC_RELEASE);
		futex_wake(gen, (int)w->futex_fan_out.fan_out);
		spin_burst(st, 256);
		return;
	}
	uint64_t t0 = now_ns();

	while (!kt_worker_stop) {
		uint32_t v = load32(gen);

		if (v != st->last_gen) {
			st->last_gen = v;
			wake_sample(st, now_ns() - t0);
			break;
		}
		futex_wait(gen, v, FUTEX_WAIT_NS);
	}
	reset_gap(st);
}

static void matmul(struct wstate *st)
{
	size_t n = st->mat_n;
	uint64_t *a = st->mat, *b = a + n * n, *c = b + n * n;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			uint64_t s = 0;

			for (size_t k = 0; k < n; k++)
				s += a[i * n + k] * b[k * n + j];
			c[i * n + j] = s;
		}
	/* Feed the result back so the work cannot be optimised away. */
	a[0] ^= c[n * n - 1];
}

static void fan_out_compute(struct wstate *st)
{
	uint64_t *region = st->ctx->group_mem;
	uint32_t *gen32 = (uint32_t *)&region[0]; /* low half of the u64 generation */
	const struct kt_work *w = &st->ctx->cfg->work;

	if (st->ctx->group_idx == 0) {
		__atomic_store_n(&region[1], now_ns(), __ATOMIC_RELEASE);
		__atomic_fetch_add(&region[0], 1, __ATOMIC_RELEASE);
		futex_wake(gen32, (int)w->fan_out_compute.fan_out);
		spin_burst(st, 256);
		return;
	}
	while (!kt_worker_stop) {
		uint32_t v = load32(gen32);

		if (v != st->last_gen) {
			uint64_t stamp = __atomic_load_n(&region[1], __ATOMIC_ACQUIRE),
				 now = now_ns();

			st->last_gen = v;
			wake_sample(st, now > stamp ? now - stamp : 0);
			break;
		}
		futex_wait(gen32, v, FUTEX_WAIT_NS);
	}
	if (kt_worker_stop)
		return;
	sleep_ns(w->fan_out_compute.sleep_usec * 1000ull);
	for (uint32_t i = 0; i < w->fan_out_compute.operations && !kt_worker_stop; i++) {
		if (st->mat_n)
			matmul(st);
		st->rep->work_units++;
	}
	reset_gap(st);
}

static void mutex_contention(struct wstate *st)
{
	uint32_t *lock = st->ctx->group_mem;
	const struct kt_work *w = &st->ctx->cfg->work;

	spin_burst(st, w->mutex_contention.work_iters);
	for (;;) {
		uint32_t exp = 0;

		if (__atomic_compare_exchange_n(lock, &exp, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		if (kt_worker_stop)
			goto out;
		uint64_t t0 = now_ns();

		futex_wait(lock, 1, FUTEX_WAIT_NS);
		wake_sample(st, now_ns() - t0);
	}
	spin_burst(st, w->mutex_contention.hold_iters);
	store32(lock, 0);
	futex_wake(lock, 1);
out:
	reset_gap(st);
}

static void page_fault_churn(struct wstate *st)
{
	const struct kt_work *w = &st->ctx->cfg->work;
	size_t pages = st->buf_len / 4096;

	if (st->buf && pages) {
		for (uint64_t i = 0; i < w->page_fault_churn.touches_per_cycle; i++) {
			size_t pg = (size_t)(kt_xorshift64(&st->pf_seed) % pages);

			((volatile uint8_t *)st->buf)[pg * 4096] = 1;
			st->rep->work_units++;
		}
		madvise(st->buf, st->buf_len, MADV_DONTNEED);
	}
	spin_burst(st, w->page_fault_churn.spin_iters);
}

static void fork_exit(struct wstate *st)
{
	uint64_t t0;
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		t0 = now_ns();
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		wake_sample(st, now_ns() - t0);
	}
	st->rep->work_units++;
}

static void nice_sweep(struct wstate *st)
{
	int range = 20 - st->nice_min;
	int nice = st->nice_min + (int)(st->rep->iterations % (uint64_t)range);

	spin_burst(st, 512);
	setpriority(PRIO_PROCESS, 0, nice);
	yield_sampled(st);
}

static void affinity_churn(struct wstate *st)
{
	int n = kt_cpuset_count(&st->start_mask), pick, cpu, k = 0;
	struct kt_cpuset one;

	spin_burst(st, st->ctx->cfg->work.affinity_churn.spin_iters);
	if (n > 0) {
		pick = (int)(kt_xorshift64(&st->rng) % (uint64_t)n);
		kt_cpuset_for_each(cpu, &st->start_mask)
		{
			if (k++ == pick)
				break;
		}
		kt_cpuset_zero(&one);
		kt_cpuset_set(&one, cpu);
		set_affinity_set(&one);
	}
	yield_sampled(st);
}

static void policy_churn(struct wstate *st)
{
	static const int cycle[] = {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR};
	int n = st->rt_permitted ? 5 : 3;
	int pol = cycle[st->policy_step++ % n];
	struct sched_param p = {.sched_priority = (pol == SCHED_FIFO || pol == SCHED_RR) ? 1 : 0};

	spin_burst(st, st->ctx->cfg->work.policy_churn.spin_iters);
	sched_setscheduler(0, pol, &p);
	yield_sampled(st);
}

static void sequence_body(struct wstate *st)
{
	const struct kt_work *w = &st->ctx->cfg->work;

	for (unsigned i = 0; i < w->sequence.n_phases && !kt_worker_stop; i++) {
		const struct kt_phase *ph = &w->sequence.phases[i];
		uint64_t end = now_ns() + ph->dur_ns;

		switch (ph->kind) {
		case KT_PHASE_SPIN:
			do
				spin_burst(st, 1024);
			while (!kt_worker_stop && now_ns() < end);
			break;
		case KT_PHASE_SLEEP:
			sleep_sampled(st, ph->dur_ns);
			reset_gap(st);
			break;
		case KT_PHASE_YIELD:
			do {
				st->rep->work_units++;
				yield_sampled(st);
			} while (!kt_worker_stop && now_ns() < end);
			break;
		case KT_PHASE_IO:
			do {
				io_body(st);
				sleep_ns(100000);
			} while (!kt_worker_stop && now_ns() < end);
			reset_gap(st);
			break;
		}
	}
}

static void body(struct wstate *st)
{
	const struct kt_work *w = &st->ctx->cfg->work;

	switch (w->type) {
	case KT_WORK_CPU_SPIN:
		spin_burst(st, 1024);
		break;
	case KT_WORK_YIELD_HEAVY:
		st->rep->work_units++;
		sched_yield();
		break;
	case KT_WORK_MIXED:
		spin_burst(st, 1024);
		sched_yield();
		break;
	case KT_WORK_IO_SYNC:
		io_body(st);
		sleep_sampled(st, 100000);
		reset_gap(st);
		break;
	case KT_WORK_BURSTY: {
		uint64_t end = now_ns() + w->bursty.burst_ms * 1000000ull;

		do
			spin_burst(st, 1024);
		while (!kt_worker_stop && now_ns() < end);
		if (!kt_worker_stop)
			sleep_sampled(st, w->bursty.sleep_ms * 1000000ull);
		break;
	}
	case KT_WORK_PIPE_IO:
		spin_burst(st, w->pipe_io.burst_iters);
		pipe_exchange(st);
		break;
	case KT_WORK_FUTEX_PING_PONG:
		futex_ping_pong(st);
		break;
	case KT_WORK_FUTEX_FAN_OUT:
		futex_fan_out(st);
		break;
	case KT_WORK_CACHE_PRESSURE:
		cache_rmw(st, 1024, w->cache_pressure.stride);
		break;
	case KT_WORK_CACHE_YIELD:
		cache_rmw(st, 1024, w->cache_yield.stride);
		yield_sampled(st);
		break;
	case KT_WORK_CACHE_PIPE:
		cache_rmw(st, w->cache_pipe.burst_iters, 64);
		pipe_exchange(st);
		break;
	case KT_WORK_SEQUENCE:
		sequence_body(st);
		break;
	case KT_WORK_FORK_EXIT:
		fork_exit(st);
		break;
	case KT_WORK_NICE_SWEEP:
		nice_sweep(st);
		break;
	case KT_WORK_AFFINITY_CHURN:
		affinity_churn(st);
		break;
	case KT_WORK_POLICY_CHURN:
		policy_churn(st);
		break;
	case KT_WORK_FAN_OUT_COMPUTE:
		fan_out_compute(st);
		break;
	case KT_WORK_PAGE_FAULT_CHURN:
		page_fault_churn(st);
		break;
	case KT_WORK_MUTEX_CONTENTION:
		mutex_contention(st);
		break;
	case KT_WORK_CUSTOM:
	case KT_WORK__COUNT:
		break;
	}
}

static uint8_t *map_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void setup_type(struct wstate *st)
{
	const struct kt_work *w = &st->ctx->cfg->work;
	size_t kb = 0;

	switch (w->type) {
	case KT_WORK_IO_SYNC:
		io_open(st);
		break;
	case KT_WORK_SEQUENCE:
		for (unsigned i = 0; i < w->sequence.n_phases; i++)
			if (w->sequence.phases[i].kind == KT_PHASE_IO && st->io_fd < 0)
				io_open(st);
		break;
	case KT_WORK_CACHE_PRESSURE:
		kb = w->cache_pressure.size_kb;
		break;
	case KT_WORK_CACHE_YIELD:
		kb = w->cache_yield.size_kb;
		break;
	case KT_WORK_CACHE_PIPE:
		kb = w->cache_pipe.size_kb;
		break;
	case KT_WORK_PAGE_FAULT_CHURN:
		kb = w->page_fault_churn.region_kb;
		break;
	case KT_WORK_FAN_OUT_COMPUTE: {
		double n =
		    floor(sqrt((double)w->fan_out_compute.cache_footprint_kb * 1024.0 / 3.0 / 8.0));

		st->mat_n = n > 0 ? (size_t)n : 0;
		if (st->mat_n && st->ctx->group_idx != 0) {
			st->mat = kt_calloc(3 * st->mat_n * st->mat_n, sizeof(uint64_t));
			for (size_t i = 0; i < 2 * st->mat_n * st->mat_n; i++)
				st->mat[i] = kt_xorshift64(&st->rng);
		}
		if (!st->mat)
			st->mat_n = 0;
		st->last_gen = load32((uint32_t *)st->ctx->group_mem);
		break;
	}
	case KT_WORK_FUTEX_FAN_OUT:
		st->last_gen = load32((uint32_t *)st->ctx->group_mem);
		break;
	case KT_WORK_NICE_SWEEP:
		st->nice_min = setpriority(PRIO_PROCESS, 0, -20) == 0 ? -20 : 0;
		setpriority(PRIO_PROCESS, 0, 0);
		break;
	case KT_WORK_AFFINITY_CHURN:
		get_affinity_set(&st->start_mask);
		break;
	case KT_WORK_POLICY_CHURN: {
		struct sched_param p = {.sched_priority = 1};
		struct sched_param z = {0};

		st->rt_permitted = sched_setscheduler(0, SCHED_FIFO, &p) == 0;
		sched_setscheduler(0, SCHED_OTHER, &z);
		break;
	}
	default:
		break;
	}
	if (kb) {
		st->buf_len = (size_t)kb * 1024;
		st->buf = map_buffer(st->buf_len);
		if (!st->buf)
			st->buf_len = 0;
		if (st->buf && w->type == KT_WORK_PAGE_FAULT_CHURN)
			madvise(st->buf, st->buf_len, MADV_NOHUGEPAGE);
	}
}

static void teardown_type(struct wstate *st)
{
	const struct kt_work *w = &st->ctx->cfg->work;

	if (w->type == KT_WORK_NICE_SWEEP)
		setpriority(PRIO_PROCESS, 0, 0);
	if (w->type == KT_WORK_POLICY_CHURN) {
		struct sched_param z = {0};

		sched_setscheduler(0, SCHED_OTHER, &z);
	}
	if (st->io_fd >= 0) {
		close(st->io_fd);
		unlink(st->io_path);
		st->io_fd = -1;
	}
	if (st->buf)
		munmap(st->buf, st->buf_len);
	st->buf = NULL;
	free(st->mat);
	st->mat = NULL;
}

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

	if (ctx->has_affinity)
		set_affinity_set(&ctx->affinity);
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
	setup_type(&st);

	st.start = now_ns();
	st.last_iter_time = st.start;
	cpu = sched_getcpu();
	st.last_cpu = cpu;
	if (cpu >= 0 && cpu < KT_MAX_CPUS)
		kt_cpuset_set(&rep->cpus_used, cpu);
	rep->max_gap_cpu = cpu < 0 ? 0 : cpu;
	vm0 = read_vmstat_numa_migrated();
	read_schedstat(&ss0);

	while (!kt_worker_stop) {
		body(&st);
		rep->iterations++;
		__atomic_store_n(ctx->iter_slot, rep->iterations, __ATOMIC_RELAXED);
		if (rep->work_units % CHECKPOINT_UNITS == 0)
			checkpoint(&st);
	}

	teardown_type(&st);
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
