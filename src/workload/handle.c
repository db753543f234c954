// SPDX-License-Identifier: GPL-2.0
/*
 * The workload handle: fork workers, release them, stop them, kill and
 * reap. Collecting their JSON reports is in collect.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workload/handle.h"

static int validate(const struct kt_workload_config *cfg, char **err)
{
	const struct kt_work *w = &cfg->work;
	const char *name = kt_work_type_name(w->type);
	unsigned g;

	if ((unsigned)w->type >= KT_WORK__COUNT) {
		*err = kt_asprintf("invalid work type %d", (int)w->type);
		return -EINVAL;
	}
	if (cfg->num_workers == 0) {
		*err = kt_asprintf("%s: num_workers must be greater than 0", name);
		return -EINVAL;
	}
	if (cfg->num_workers > 4096) {
		*err = kt_asprintf("%s: num_workers %u exceeds the limit of 4096", name, cfg->num_workers);
		return -EINVAL;
	}
	if (w->type == KT_WORK_MUTEX_CONTENTION && w->mutex_contention.contenders == 0) {
		*err = kt_asprintf("MutexContention requires contenders > 0");
		return -EINVAL;
	}
	if ((w->type == KT_WORK_FUTEX_FAN_OUT && w->futex_fan_out.fan_out == 0) ||
	    (w->type == KT_WORK_FAN_OUT_COMPUTE && w->fan_out_compute.fan_out == 0)) {
		*err = kt_asprintf("%s requires fan_out > 0", name);
		return -EINVAL;
	}
	g = kt_work_group_size(w);
	if (g && cfg->num_workers % g) {
		*err = kt_asprintf("%s requires num_workers divisible by %u, got %u", name, g,
			    cfg->num_workers);
		return -EINVAL;
	}
	switch (w->type) {
	case KT_WORK_CACHE_PRESSURE:
	case KT_WORK_CACHE_YIELD:
		if (!w->cache_pressure.size_kb || !w->cache_pressure.stride) {
			*err = kt_asprintf("%s requires size_kb > 0 and stride > 0", name);
			return -EINVAL;
		}
		break;
	case KT_WORK_CACHE_PIPE:
		if (!w->cache_pipe.size_kb) {
			*err = kt_asprintf("CachePipe requires size_kb > 0");
			return -EINVAL;
		}
		break;
	case KT_WORK_PAGE_FAULT_CHURN:
		if (w->page_fault_churn.region_kb < 4) {
			*err = kt_asprintf("PageFaultChurn requires region_kb >= 4");
			return -EINVAL;
		}
		break;
	case KT_WORK_SEQUENCE:
		if (w->sequence.n_phases < 1 || w->sequence.n_phases > KT_MAX_PHASES) {
			*err = kt_asprintf("Sequence requires 1..%d phases, got %u", KT_MAX_PHASES,
				    w->sequence.n_phases);
			return -EINVAL;
		}
		break;
	case KT_WORK_CUSTOM:
		if (!w->custom.fn) {
			*err = kt_asprintf("Custom work '%s' has no function",
				    w->custom.name ? w->custom.name : "");
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	switch (cfg->affinity.kind) {
	case KT_AFF_FIXED:
		if (kt_cpuset_empty(&cfg->affinity.set)) {
			*err = kt_asprintf("%s: fixed affinity with an empty CPU set", name);
			return -EINVAL;
		}
		break;
	case KT_AFF_RANDOM:
		if (kt_cpuset_empty(&cfg->affinity.set) || cfg->affinity.count == 0) {
			*err =
			    kt_asprintf("%s: random affinity needs a non-empty pool and count > 0", name);
			return -EINVAL;
		}
		break;
	case KT_AFF_SINGLE_CPU:
		if (cfg->affinity.cpu < 0 || cfg->affinity.cpu >= KT_MAX_CPUS) {
			*err = kt_asprintf("%s: invalid CPU %d for single-CPU affinity", name,
				    cfg->affinity.cpu);
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Random subset of `count` CPUs of pool (all of it when count >= |pool|). */
static void random_subset(const struct kt_cpuset *pool, unsigned count, uint64_t *rng,
			  struct kt_cpuset *out)
{
	int cpus[KT_MAX_CPUS], n = 0, cpu;

	kt_cpuset_for_each(cpu, pool) cpus[n++] = cpu;
	if (count > (unsigned)n)
		count = (unsigned)n;
	for (unsigned i = 0; i < count; i++) {
		unsigned j = i + (unsigned)(kt_xorshift64(rng) % (uint64_t)(n - i));
		int t = cpus[i];

		cpus[i] = cpus[j];
		cpus[j] = t;
	}
	kt_cpuset_zero(out);
	for (unsigned i = 0; i < count; i++)
		kt_cpuset_set(out, cpus[i]);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void close_range_fallback(unsigned lo, unsigned hi)
{
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (long fd = lo; fd <= (long)hi && fd < max; fd++)
		close((int)fd);
}

/* In the child: close every fd >= 3 except keep[]. */
static void close_all_except(int *keep, int n)
{
	unsigned next = 3;

	qsort(keep, (size_t)n, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++) {
		if (keep[i] < 3 || (unsigned)keep[i] < next)
			continue;
		if ((unsigned)keep[i] > next)
			close_range_fallback(next, (unsigned)keep[i] - 1);
		next = (unsigned)keep[i] + 1;
	}
	close_range_fallback(next, ~0u);
}

static void on_sigusr1(int sig)
{
	(void)sig;
	kt_worker_stop = 1;
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += w;
		len -= (size_t)w;
	}
}

static void child_run(const struct kt_worker_ctx *ctx, pid_t parent, int report_fd, int start_fd)
{
	struct sigaction sa;
	struct kt_worker_report rep;
	sigset_t all;
	int keep[4] = {report_fd, start_fd, ctx->pipe_rd, ctx->pipe_wr};
	uint64_t t_end;
	char c = 0;
	char *json;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	setpgid(0, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL); /* ForkExit reaps its own children */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_sigusr1; /* no SA_RESTART: blocking calls see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	close_all_except(keep, 4);

	/* Wait for the start byte (30 s, then exit 1). A SIGUSR1 that arrives first only
	 * makes the work loop end at once (an empty but valid report). */
	t_end = kt_now_ns() + (uint64_t)START_TIMEOUT_MS * 1000000ull;
	for (;;) {
		uint64_t now = kt_now_ns();
		struct pollfd pfd = {.fd = start_fd, .events = POLLIN};
		int r;

		if (now >= t_end)
			_exit(1);
		r = poll(&pfd, 1, (int)((t_end - now) / 1000000ull) + 1);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			_exit(1);
	}
	while (read(start_fd, &c, 1) < 0 && errno == EINTR)
		;
	if (c != 's')
		_exit(1);
	close(start_fd);

	kt_worker_main(ctx, &rep);
	json = kt_worker_report_to_string(&rep);
	if (!json)
		_exit(1);
	write_all(report_fd, json, strlen(json));
	_exit(0);
}

void kh_kill_worker(struct worker *w)
{
	if (w->pid <= 0 || w->reaped)
		return;
	killpg(w->pid, SIGKILL);
	kill(w->pid, SIGKILL);
}

void kh_reap_worker(struct worker *w)
{
	if (w->pid <= 0 || w->reaped)
		return;
	for (;;) {
		pid_t r = waitpid(w->pid, &w->status, 0);

		if (r == w->pid)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		w->status = -1; /* ECHILD: somebody else reaped it */
		break;
	}
	w->reaped = true;
}

void kh_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Make sure a parent with SIGCHLD ignored (PID 1 style) still gets zombies to reap. */
static void ensure_reapable(void)
{
	struct sigaction sa;

	if (sigaction(SIGCHLD, NULL, &sa) < 0)
		return;
	if (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT)) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &dfl, NULL);
		kt_debug("workload", "SIGCHLD was ignored; restored the default to reap workers");
	}
}

/* Shared memory: the iteration counters and, for grouped work, the group futex regions. */
static int map_shared(struct kt_workload *wl, unsigned ngroups)
{
	wl->iter_len = wl->n * sizeof(uint64_t);
	wl->iter_slots =
	    mmap(NULL, wl->iter_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (wl->iter_slots == MAP_FAILED) {
		wl->iter_slots = NULL;
		return -errno;
	}
	if (ngroups) {
		wl->group_len = (size_t)ngroups * GROUP_STRIDE;
		wl->group_mem = mmap(NULL, wl->group_len, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (wl->group_mem == MAP_FAILED) {
			wl->group_mem = NULL;
			return -errno;
		}
	}
	return 0;
}

static void close_pair_pipes(int (*pp)[2][2], size_t npairs)
{
	for (size_t p = 0; p < npairs; p++)
		for (int a = 0; a < 2; a++)
			for (int b = 0; b < 2; b++)
				kh_close_fd(&pp[p][a][b]);
	free(pp);
}

/* PipeIo/CachePipe: two pipes per pair of workers; NULL with *rc set on failure. */
static int (*open_pair_pipes(size_t npairs, int *rc))[2][2]
{
	int(*pp)[2][2] = kt_calloc(npairs, sizeof(*pp));

	for (size_t p = 0; p < npairs; p++)
		pp[p][0][0] = pp[p][0][1] = pp[p][1][0] = pp[p][1][1] = -1;
	for (size_t p = 0; p < npairs; p++) {
		if (pipe2(pp[p][0], O_CLOEXEC) < 0 || pipe2(pp[p][1], O_CLOEXEC) < 0) {
			*rc = -errno;
			close_pair_pipes(pp, npairs);
			return NULL;
		}
		/* Writers never block on a full pipe (a stopped partner). */
		fcntl(pp[p][0][1], F_SETFL, O_NONBLOCK);
		fcntl(pp[p][1][1], F_SETFL, O_NONBLOCK);
	}
	return pp;
}

/* What worker i gets: its slots, group region, partner pipes and affinity. */
static void fill_ctx(struct kt_workload *wl, size_t i, unsigned g, int (*pp)[2][2], uint64_t *rng,
		     struct kt_worker_ctx *ctx)
{
	const struct kt_workload_config *cfg = &wl->cfg;

	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = &wl->cfg;
	ctx->idx = (unsigned)i;
	ctx->group_idx = g ? (unsigned)(i % g) : 0;
	ctx->group_mem = g ? (char *)wl->group_mem + (i / g) * GROUP_STRIDE : NULL;
	ctx->iter_slot = &wl->iter_slots[i];
	ctx->pipe_rd = ctx->pipe_wr = -1;
	if (pp) {
		size_t p = i / 2;

		/* pipe [0]: first→second, [1]: second→first */
		if (i % 2 == 0) {
			ctx->pipe_wr = pp[p][0][1];
			ctx->pipe_rd = pp[p][1][0];
		} else {
			ctx->pipe_wr = pp[p][1][1];
			ctx->pipe_rd = pp[p][0][0];
		}
	}
	switch (cfg->affinity.kind) {
	case KT_AFF_FIXED:
		ctx->has_affinity = true;
		ctx->affinity = cfg->affinity.set;
		break;
	case KT_AFF_RANDOM:
		ctx->has_affinity = true;
		random_subset(&cfg->affinity.set, cfg->affinity.count, rng, &ctx->affinity);
		break;
	case KT_AFF_SINGLE_CPU:
		ctx->has_affinity = true;
		kt_cpuset_zero(&ctx->affinity);
		kt_cpuset_set(&ctx->affinity, cfg->affinity.cpu);
		break;
	default:
		break;
	}
}

/* Fork worker i with its report pipe and start socket. */
static int fork_worker(struct kt_workload *wl, size_t i, const struct kt_worker_ctx *ctx,
		       pid_t parent)
{
	sigset_t usr1, oldmask;
	int rp[2], sp[2], rc;
	pid_t pid;

	if (pipe2(rp, O_CLOEXEC) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		rc = -errno;
		close(rp[0]);
		close(rp[1]);
		return rc;
	}
	fflush(NULL);
	/* SIGUSR1 stays blocked in the child until its handler is installed. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &oldmask);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (pid < 0) {
		rc = -errno;
		close(rp[0]);
		close(rp[1]);
		close(sp[0]);
		close(sp[1]);
		return rc;
	}
	if (pid == 0) {
		close(rp[0]);
		close(sp[0]);
		child_run(ctx, parent, rp[1], sp[1]);
		_exit(1);
	}
	setpgid(pid, pid); /* also done by the child; whichever runs first */
	close(rp[1]);
	close(sp[1]);
	wl->w[i].pid = pid;
	wl->w[i].report_fd = rp[0];
	wl->w[i].start_fd = sp[0];
	wl->pids[i] = pid;
	return 0;
}

/* Work types spawned by this process (bit per enum kt_work_type), for the sidecar. */
static uint64_t types_used;

uint64_t kt_workload_types_used(void)
{
	return types_used;
}

int kt_workload_spawn(const struct kt_workload_config *cfg, struct kt_workload **out, char **err)
{
	struct kt_workload *wl;
	char *msg = NULL;
	unsigned g, ngroups;
	int(*pair_pipes)[2][2] = NULL;
	size_t npairs = 0;
	uint64_t rng;
	pid_t parent = getpid();
	int rc;

	if (err)
		*err = NULL;
	*out = NULL;
	rc = validate(cfg, &msg);
	if (rc) {
		if (err)
			*err = msg;
		else
			free(msg);
		return rc;
	}
	ensure_reapable();

	wl = kt_calloc(1, sizeof(*wl));
	wl->cfg = *cfg;
	wl->n = cfg->num_workers;
	wl->w = kt_calloc(wl->n, sizeof(*wl->w));
	wl->pids = kt_calloc(wl->n, sizeof(*wl->pids));
	for (size_t i = 0; i < wl->n; i++)
		wl->w[i].report_fd = wl->w[i].start_fd = -1;

	g = kt_work_group_size(&cfg->work);
	ngroups = g ? cfg->num_workers / g : 0;
	rc = map_shared(wl, ngroups);
	if (rc)
		goto fail;
	if (cfg->work.type == KT_WORK_PIPE_IO || cfg->work.type == KT_WORK_CACHE_PIPE) {
		npairs = wl->n / 2;
		pair_pipes = open_pair_pipes(npairs, &rc);
		if (!pair_pipes)
			goto fail;
	}

	rng = ((uint64_t)getpid() << 32) ^ kt_now_ns() ^ 0xa5a5a5a5ull;
	for (size_t i = 0; i < wl->n; i++) {
		struct kt_worker_ctx ctx;

		fill_ctx(wl, i, g, pair_pipes, &rng, &ctx);
		rc = fork_worker(wl, i, &ctx, parent);
		if (rc)
			goto fail;
	}
	close_pair_pipes(pair_pipes, npairs);
	types_used |= 1ull << cfg->work.type;
	*out = wl;
	return 0;

fail:
	if (pair_pipes)
		close_pair_pipes(pair_pipes, npairs);
	if (err)
		*err = kt_asprintf("cannot spawn %s workers: %s", kt_work_type_name(cfg->work.type),
				   strerror(-rc));
	kt_workload_destroy(wl);
	return rc;
}

size_t kt_workload_count(const struct kt_workload *wl)
{
	return wl ? wl->n : 0;
}

const pid_t *kt_workload_pids(const struct kt_workload *wl)
{
	return wl->pids;
}

const struct kt_workload_config *kt_workload_config(const struct kt_workload *wl)
{
	return &wl->cfg;
}

bool kt_workload_started(const struct kt_workload *wl)
{
	return wl->started;
}

int kt_workload_start(struct kt_workload *wl)
{
	if (wl->started)
		return 0;
	wl->started = true;
	for (size_t i = 0; i < wl->n; i++) {
		if (wl->w[i].start_fd < 0)
			continue;
		/* MSG_NOSIGNAL: a worker that already died must not SIGPIPE us. */
		while (send(wl->w[i].start_fd, "s", 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
			;
		kh_close_fd(&wl->w[i].start_fd);
	}
	return 0;
}

uint64_t kt_workload_snapshot_iterations(const struct kt_workload *wl, uint64_t *per_worker)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < wl->n; i++) {
		uint64_t v =
		    wl->iter_slots ? __atomic_load_n(&wl->iter_slots[i], __ATOMIC_RELAXED) : 0;

		if (per_worker)
			per_worker[i] = v;
		sum += v;
	}
	return sum;
}

int kt_workload_set_affinity(struct kt_workload *wl, size_t idx, const struct kt_cpuset *set)
{
	size_t sz = CPU_ALLOC_SIZE(KT_MAX_CPUS);
	cpu_set_t *cs;
	int cpu, rc = 0;

	if (idx >= wl->n || !set || kt_cpuset_empty(set))
		return -EINVAL;
	if (wl->w[idx].reaped)
		return -ESRCH;
	cs = CPU_ALLOC(KT_MAX_CPUS);
	if (!cs)
		return -ENOMEM;
	CPU_ZERO_S(sz, cs);
	kt_cpuset_for_each(cpu, set) CPU_SET_S(cpu, sz, cs);
	if (sched_setaffinity(wl->w[idx].pid, sz, cs) < 0)
		rc = -errno;
	CPU_FREE(cs);
	return rc;
}

void kt_workload_kill(struct kt_workload *wl)
{
	if (!wl)
		return;
	for (size_t i = 0; i < wl->n; i++)
		kh_kill_worker(&wl->w[i]);
	for (size_t i = 0; i < wl->n; i++)
		kh_reap_worker(&wl->w[i]);
}

void kt_workload_destroy(struct kt_workload *wl)
{
	if (!wl)
		return;
	kt_workload_kill(wl);
	for (size_t i = 0; i < wl->n; i++) {
		kh_close_fd(&wl->w[i].report_fd);
		kh_close_fd(&wl->w[i].start_fd);
	}
	if (wl->iter_slots)
		munmap(wl->iter_slots, wl->iter_len);
	if (wl->group_mem)
		munmap(wl->group_mem, wl->group_len);
	free(wl->w);
	free(wl->pids);
	free(wl);
}
