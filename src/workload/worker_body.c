// SPDX-License-Identifier: GPL-2.0
/*
 * The work types' loop bodies (one call of body() is one iteration) and
 * their setup and teardown. Runs in the forked worker; see worker.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workload/worker.h"

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
				kw_wake_sample(st, now_ns() - t0);
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
	kw_futex_wake(word, 1);
	t0 = now_ns();
	while (!kt_worker_stop) {
		uint32_t v = load32(word);

		if (v == mine) {
			kw_wake_sample(st, now_ns() - t0);
			break;
		}
		kw_futex_wait(word, v, FUTEX_WAIT_NS);
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
		kw_futex_wake(gen, (int)w->futex_fan_out.fan_out);
		spin_burst(st, 256);
		return;
	}
	uint64_t t0 = now_ns();

	while (!kt_worker_stop) {
		uint32_t v = load32(gen);

		if (v != st->last_gen) {
			st->last_gen = v;
			kw_wake_sample(st, now_ns() - t0);
			break;
		}
		kw_futex_wait(gen, v, FUTEX_WAIT_NS);
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
		kw_futex_wake(gen32, (int)w->fan_out_compute.fan_out);
		spin_burst(st, 256);
		return;
	}
	while (!kt_worker_stop) {
		uint32_t v = load32(gen32);

		if (v != st->last_gen) {
			uint64_t stamp = __atomic_load_n(&region[1], __ATOMIC_ACQUIRE),
				 now = now_ns();

			st->last_gen = v;
			kw_wake_sample(st, now > stamp ? now - stamp : 0);
			break;
		}
		kw_futex_wait(gen32, v, FUTEX_WAIT_NS);
	}
	if (kt_worker_stop)
		return;
	kw_sleep_ns(w->fan_out_compute.sleep_usec * 1000ull);
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

		kw_futex_wait(lock, 1, FUTEX_WAIT_NS);
		kw_wake_sample(st, now_ns() - t0);
	}
	spin_burst(st, w->mutex_contention.hold_iters);
	store32(lock, 0);
	kw_futex_wake(lock, 1);
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
		kw_wake_sample(st, now_ns() - t0);
	}
	st->rep->work_units++;
}

static void nice_sweep(struct wstate *st)
{
	int range = 20 - st->nice_min;
	int nice = st->nice_min + (int)(st->rep->iterations % (uint64_t)range);

	spin_burst(st, 512);
	setpriority(PRIO_PROCESS, 0, nice);
	kw_yield_sampled(st);
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
		kw_set_affinity_set(&one);
	}
	kw_yield_sampled(st);
}

static void policy_churn(struct wstate *st)
{
	static const int cycle[] = {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR};
	int n = st->rt_permitted ? 5 : 3;
	int pol = cycle[st->policy_step++ % n];
	struct sched_param p = {.sched_priority = (pol == SCHED_FIFO || pol == SCHED_RR) ? 1 : 0};

	spin_burst(st, st->ctx->cfg->work.policy_churn.spin_iters);
	sched_setscheduler(0, pol, &p);
	kw_yield_sampled(st);
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
			kw_sleep_sampled(st, ph->dur_ns);
			reset_gap(st);
			break;
		case KT_PHASE_YIELD:
			do {
				st->rep->work_units++;
				kw_yield_sampled(st);
			} while (!kt_worker_stop && now_ns() < end);
			break;
		case KT_PHASE_IO:
			do {
				io_body(st);
				kw_sleep_ns(100000);
			} while (!kt_worker_stop && now_ns() < end);
			reset_gap(st);
			break;
		}
	}
}

void kw_body(struct wstate *st)
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
		kw_sleep_sampled(st, 100000);
		reset_gap(st);
		break;
	case KT_WORK_BURSTY: {
		uint64_t end = now_ns() + w->bursty.burst_ms * 1000000ull;

		do
			spin_burst(st, 1024);
		while (!kt_worker_stop && now_ns() < end);
		if (!kt_worker_stop)
			kw_sleep_sampled(st, w->bursty.sleep_ms * 1000000ull);
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
		kw_yield_sampled(st);
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

void kw_setup_type(struct wstate *st)
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
		kw_get_affinity_set(&st->start_mask);
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

void kw_teardown_type(struct wstate *st)
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
