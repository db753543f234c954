/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside a forked worker: the per-worker state and the helpers shared by
 * the frame (worker.c) and the work types' loop bodies (worker_body.c).
 */
#ifndef KTSTR_WORKLOAD_WORKER_H
#define KTSTR_WORKLOAD_WORKER_H

#include <limits.h>
#include <sched.h>

#include "workload/internal.h"

#define CHECKPOINT_UNITS 1024
#define CHECKPOINT_NS 1000000ull
/* After an iteration: measure the gap and the CPU now? (worker.c) */
bool kt_worker_checkpoint_due(enum kt_work_type type, uint64_t units_since, uint64_t ns_since);
#define MAX_MIGRATIONS KT_MAX_MIGRATIONS
#define FUTEX_WAIT_NS 100000000ull

/* ---- per-worker state ---------------------------------------------------- */

struct wstate {
	const struct kt_worker_ctx *ctx;
	struct kt_worker_report *rep;
	uint64_t start;
	uint64_t last_iter_time; /* the last checkpoint (or reset_gap) */
	uint64_t ckpt_units;     /* work_units at the last checkpoint */
	uint64_t max_gap_ns;
	uint64_t cpu_sample_t, cpu_sample_c; /* wall and thread CPU clock at a sample */
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

static inline uint64_t now_ns(void)
{
	return kt_now_ns();
}

static inline void spin_burst(struct wstate *st, uint64_t n)
{
	uint64_t u = st->rep->work_units;

	for (uint64_t i = 0; i < n; i++) {
		u++;
		cpu_relax();
	}
	st->rep->work_units = u;
}

/* The thread's CPU clock is sampled at most this often (a syscall each). */
#define CPU_SAMPLE_NS 10000000ull

static inline uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sample the thread's CPU clock at wall time now if the last is old. */
static inline void cpu_sample(struct wstate *st, uint64_t now)
{
	if (now - st->cpu_sample_t < CPU_SAMPLE_NS)
		return;
	st->cpu_sample_t = now;
	st->cpu_sample_c = thread_cpu_ns();
}

static inline void reset_gap(struct wstate *st)
{
	st->last_iter_time = now_ns();
	cpu_sample(st, st->last_iter_time);
}

static inline uint32_t load32(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* worker.c */
long kw_futex_wait(uint32_t *addr, uint32_t val, uint64_t timeout_ns);
long kw_futex_wake(uint32_t *addr, int n);
void kw_get_affinity_set(struct kt_cpuset *out);
void kw_set_affinity_set(const struct kt_cpuset *set);
void kw_sleep_ns(uint64_t ns);
void kw_sleep_sampled(struct wstate *st, uint64_t ns);
void kw_wake_sample(struct wstate *st, uint64_t ns);
void kw_yield_sampled(struct wstate *st);
/* worker_body.c: one iteration of the work type; its setup and teardown. */
void kw_body(struct wstate *st);
void kw_setup_type(struct wstate *st);
void kw_teardown_type(struct wstate *st);

#endif
