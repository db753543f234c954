// SPDX-License-Identifier: GPL-2.0
/*
 * The step executor: Backdrop, steps (ops then setup, hold), teardown that
 * always runs, worker checks per work group, scheduler liveness.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define LOG "scenario"

const char *kt_op_name(enum kt_op_kind k)
{
	static const char *const names[KT_OP__COUNT] = {
		"AddCgroup", "RemoveCgroup", "SetCpuset",    "ClearCpuset", "SwapCpusets",
		"Spawn",     "StopCgroup",   "SetAffinity",  "SpawnHost",   "MoveAllTasks",
		"RunPayload", "WaitPayload", "KillPayload",
	};

	return (unsigned)k < KT_OP__COUNT ? names[k] : "?";
}

void kt_ctx_defaults(struct kt_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->duration_ms = 2000;
	ctx->workers_per_cgroup = 2;
	ctx->settle_ms = 500;
	ctx->assert = kt_assert_default_checks();
}

bool kt_sched_alive(pid_t pid)
{
	if (pid <= 0)
		return true;
	return kill(pid, 0) == 0;
}

bool kt_ctx_sleep(const struct kt_ctx *ctx, uint64_t ms)
{
	uint64_t end = kt_now_ns() + ms * 1000000ull;

	for (;;) {
		uint64_t now = kt_now_ns(), left;
		struct timespec ts;

		if (ctx->stop && *ctx->stop)
			return true;
		if (now >= end)
			return false;
		left = (end - now) / 1000000ull;
		if (left > 50)
			left = 50;
		if (left == 0)
			left = 1;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

/* ---- executor state ---------------------------------------------------------------- */

struct cg_ent {
	char *name;
	bool backdrop;
	bool implicit; /* an ancestor created for a nested name */
	bool has_cpuset;
	struct kt_cpuset cpuset;
};

struct handle {
	char *cgroup; /* "" = host */
	bool backdrop;
	struct kt_workload *wl;
};

struct payload {
	char *name;
	char *cgroup; /* "" = caller's cgroup */
	bool backdrop;
	pid_t pid;
};

struct exec {
	const struct kt_ctx *ctx;
	const struct kt_assert *checks;
	struct kt_assert_result *out;
	uint64_t start_ns;
	bool in_step; /* applying step entities (else Backdrop) */
	struct cg_ent *cgs;
	size_t n_cgs;
	struct handle *hs;
	size_t n_hs;
	struct payload *ps;
	size_t n_ps;
	unsigned rng;
};

static double elapsed_s(const struct exec *x)
{
	return (double)(kt_now_ns() - x->start_ns) / 1e9;
}

static struct cg_ent *find_cg(struct exec *x, const char *name)
{
	/* step-local first, then Backdrop */
	for (size_t i = 0; i < x->n_cgs; i++)
		if (!x->cgs[i].backdrop && !x->cgs[i].implicit && !strcmp(x->cgs[i].name, name))
			return &x->cgs[i];
	for (size_t i = 0; i < x->n_cgs; i++)
		if (x->cgs[i].backdrop && !x->cgs[i].implicit && !strcmp(x->cgs[i].name, name))
			return &x->cgs[i];
	return NULL;
}

static struct cg_ent *find_any_cg(struct exec *x, const char *name)
{
	for (size_t i = 0; i < x->n_cgs; i++)
		if (!strcmp(x->cgs[i].name, name))
			return &x->cgs[i];
	return NULL;
}

static struct cg_ent *add_cg(struct exec *x, const char *name, bool implicit)
{
	struct cg_ent *c;

	x->cgs = kt_realloc(x->cgs, (x->n_cgs + 1) * sizeof(*x->cgs));
	c = &x->cgs[x->n_cgs++];
	memset(c, 0, sizeof(*c));
	c->name = kt_strdup(name);
	c->backdrop = !x->in_step;
	c->implicit = implicit;
	return c;
}

/* Create a (possibly nested) cgroup, tracking ancestors it had to create. */
static int create_cg(struct exec *x, const char *name, char **err)
{
	char *dup = kt_strdup(name);
	int r;

	if (find_any_cg(x, name) && !find_any_cg(x, name)->implicit) {
		kt_set_err(err, "cgroup '%s' already exists", name);
		free(dup);
		return -EEXIST;
	}
	/* Ancestors that do not exist yet become implicit entries. */
	for (char *s = strchr(dup, '/'); s; s = strchr(s + 1, '/')) {
		char *path;

		*s = 0;
		path = kt_cgmgr_path(x->ctx->cg, dup);
		if (!kt_exists(path) && !find_any_cg(x, dup))
			add_cg(x, dup, true);
		free(path);
		*s = '/';
	}
	free(dup);
	r = kt_cgmgr_create(x->ctx->cg, name, err);
	if (r < 0)
		return r;
	if (find_any_cg(x, name)) /* was an implicit ancestor: now explicit */
		find_any_cg(x, name)->implicit = false;
	else
		add_cg(x, name, false);
	return 0;
}

static void node_set_of(struct exec *x, const struct kt_cpuset *cs, struct kt_cpuset *nodes)
{
	kt_topo_nodes_of(x->ctx->topo, cs, nodes);
}

/* Collect one handle and fold its checks into the result. */
static void collect_handle(struct exec *x, struct handle *h)
{
	struct kt_worker_report *reps = NULL;
	size_t n = 0;
	struct kt_assert_result r;
	struct kt_check_ctx cc = {0};
	struct kt_cpuset cs, nodes;
	struct cg_ent *c = *h->cgroup ? find_any_cg(x, h->cgroup) : NULL;

	if (kt_workload_stop_and_collect(h->wl, 0, &reps, &n) < 0) {
		kt_workload_destroy(h->wl);
		h->wl = NULL;
		return;
	}
	if (c && c->has_cpuset) {
		cs = c->cpuset;
		node_set_of(x, &cs, &nodes);
		cc.cpuset = &cs;
		cc.cpuset_nodes = &nodes;
	}
	memset(&r, 0, sizeof(r));
	kt_check_workers(x->checks, reps, n, &cc, &r);
	kt_assert_result_merge(x->out, &r);
	kt_assert_result_clear(&r);
	kt_worker_reports_free(reps, n);
	kt_workload_destroy(h->wl);
	h->wl = NULL;
}

static void drop_handle_at(struct exec *x, size_t i, bool collect)
{
	struct handle *h = &x->hs[i];

	if (collect && h->wl)
		collect_handle(x, h);
	kt_workload_destroy(h->wl);
	free(h->cgroup);
	x->hs[i] = x->hs[--x->n_hs];
}

static void kill_payload_at(struct exec *x, size_t i, bool report)
{
	struct payload *p = &x->ps[i];
	int st = 0, code = -1;

	if (p->pid > 0) {
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		if (waitpid(p->pid, &st, 0) == p->pid)
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		kt_cleanup_del_pid(-p->pid);
	}
	if (report && x->ctx->events && x->ctx->events->payload_exit)
		x->ctx->events->payload_exit(x->ctx->events->arg, p->name, p->cgroup, code);
	free(p->name);
	free(p->cgroup);
	x->ps[i] = x->ps[--x->n_ps];
}

static bool name_in(const char *name, const char *cg)
{
	size_t l = strlen(cg);

	return !strcmp(name, cg) || (!strncmp(name, cg, l) && name[l] == '/');
}

/* Drop handles and payloads living in cgroup cg (and below). */
static void drop_cg_entities(struct exec *x, const char *cg, bool collect)
{
	for (size_t i = x->n_ps; i-- > 0;)
		if (*x->ps[i].cgroup && name_in(x->ps[i].cgroup, cg))
			kill_payload_at(x, i, false);
	for (size_t i = x->n_hs; i-- > 0;)
		if (*x->hs[i].cgroup && name_in(x->hs[i].cgroup, cg))
			drop_handle_at(x, i, collect);
}

static void remove_cg_at(struct exec *x, size_t i)
{
	kt_cgmgr_remove(x->ctx->cg, x->cgs[i].name);
	free(x->cgs[i].name);
	memmove(&x->cgs[i], &x->cgs[i + 1], (x->n_cgs - i - 1) * sizeof(*x->cgs));
	x->n_cgs--;
}

/* Spawn one work group into cgroup c (NULL = host). */
static int spawn_work(struct exec *x, struct cg_ent *c, const struct kt_cg_work *cw,
		      bool swappable, char **err)
{
	const struct kt_ctx *ctx = x->ctx;
	struct kt_workload_config cfg;
	struct kt_workload *wl = NULL;
	const struct kt_cpuset *cs = c && c->has_cpuset ? &c->cpuset : NULL;
	struct handle *h;
	char *e = NULL;
	int r;

	r = kt_mem_policy_validate(&cw->mem, ctx->topo, cs, &e);
	if (r < 0) {
		kt_set_err(err, "%s", e);
		free(e);
		return r;
	}
	kt_workload_config_init(&cfg);
	cfg.num_workers = cw->num_workers ? cw->num_workers : ctx->workers_per_cgroup;
	kt_resolve_work_type(&cw->work, ctx->work_type_override, swappable, cfg.num_workers,
			     &cfg.work);
	cfg.sched = cw->sched;
	cfg.mem = cw->mem;
	kt_affinity_resolve(&cw->affinity, ctx->topo, cs, &cfg.affinity);
	r = kt_workload_spawn(&cfg, &wl, &e);
	if (r < 0) {
		kt_set_err(err, "spawning %u %s worker(s)%s%s: %s", cfg.num_workers,
			kt_work_type_name(cfg.work.type), c ? " in " : "", c ? c->name : "",
			e ? e : strerror(-r));
		free(e);
		return r;
	}
	if (c) {
		r = kt_cgmgr_move(ctx->cg, c->name, kt_workload_pids(wl), kt_workload_count(wl),
				  &e);
		if (r < 0) {
			kt_set_err(err, "%s", e);
			free(e);
			kt_workload_destroy(wl);
			return r;
		}
	}
	kt_workload_start(wl);
	x->hs = kt_realloc(x->hs, (x->n_hs + 1) * sizeof(*x->hs));
	h = &x->hs[x->n_hs++];
	h->cgroup = kt_strdup(c ? c->name : "");
	h->backdrop = !x->in_step;
	h->wl = wl;
	kt_debug(LOG, "spawned %zu %s worker(s) in '%s'", kt_workload_count(wl),
		 kt_work_type_name(cfg.work.type), h->cgroup);
	return 0;
}

static int write_cpuset(struct exec *x, struct cg_ent *c, const struct kt_cpuset_spec *spec,
			char **err)
{
	struct kt_cpuset cs;
	char *e = NULL;
	int r = kt_cpuset_spec_validate(spec, x->ctx->topo, &e);

	if (r < 0) {
		kt_set_err(err, "cgroup '%s': %s", c->name, e);
		free(e);
		return r;
	}
	kt_cpuset_spec_resolve(spec, x->ctx->topo, &cs);
	r = kt_cgmgr_set_cpuset(x->ctx->cg, c->name, &cs, &e);
	if (r < 0) {
		kt_set_err(err, "%s", e);
		free(e);
		return r;
	}
	c->has_cpuset = true;
	c->cpuset = cs;
	return 0;
}

static int apply_def(struct exec *x, const struct kt_cgroup_def *d, char **err)
{
	const char *name = d->name ? d->name : "cg_0";
	unsigned nw = d->n_works ? d->n_works : 1;
	struct cg_ent *c;
	int r;

	if (nw > KT_MAX_WORKS) {
		kt_set_err(err, "cgroup '%s': n_works %u exceeds %d", name, nw, KT_MAX_WORKS);
		return -EINVAL;
	}
	r = create_cg(x, name, err);
	if (r < 0)
		return r;
	c = find_any_cg(x, name);
	if (d->cpuset.kind != KT_CS_NONE) {
		r = write_cpuset(x, c, &d->cpuset, err);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < nw; i++) {
		c = find_any_cg(x, name); /* the array may move */
		r = spawn_work(x, c, &d->works[i], d->swappable, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- payloads ----------------------------------------------------------------------------- */

static struct payload *find_payload(struct exec *x, const char *name, const char *cg,
				    size_t *idx, char **err)
{
	size_t hits = 0, at = 0;

	for (size_t i = 0; i < x->n_ps; i++) {
		if (strcmp(x->ps[i].name, name))
			continue;
		if (cg && strcmp(x->ps[i].cgroup, cg))
			continue;
		hits++;
		at = i;
	}
	if (hits == 1) {
		*idx = at;
		return &x->ps[at];
	}
	if (hits == 0)
		kt_set_err(err, "no running payload named '%s'%s%s", name, cg ? " in cgroup " : "",
			cg ? cg : "");
	else
		kt_set_err(err, "payload '%s' is ambiguous — %zu live copies; name the cgroup", name,
			hits);
	return NULL;
}

static int run_payload(struct exec *x, const struct kt_op *op, char **err)
{
	const char *cg = op->cgroup ? op->cgroup : "";
	char *argv[KT_MAX_PAYLOAD_ARGS + 2];
	int sync[2], n = 0;
	pid_t pid;
	size_t dummy;
	char *e = NULL;
	char c = 0;

	if (!op->payload || !*op->payload) {
		kt_set_err(err, "RunPayload: no payload binary given");
		return -EINVAL;
	}
	if (*cg && !find_cg(x, cg)) {
		kt_set_err(err, "RunPayload: cgroup '%s' not found", cg);
		return -ENOENT;
	}
	for (size_t i = 0; i < x->n_ps; i++)
		if (!strcmp(x->ps[i].name, op->payload) && !strcmp(x->ps[i].cgroup, cg)) {
			kt_set_err(err, "payload '%s' is already running in cgroup '%s'", op->payload,
				cg);
			return -EEXIST;
		}
	(void)dummy;
	argv[n++] = (char *)op->payload;
	for (int i = 0; i < KT_MAX_PAYLOAD_ARGS && op->args[i]; i++)
		argv[n++] = (char *)op->args[i];
	argv[n] = NULL;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(sync[0]);
		close(sync[1]);
		return r;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(sync[1]);
		if (read(sync[0], &c, 1) != 1)
			_exit(127);
		if (fd >= 0)
			dup2(fd, 0);
		dup2(2, 1); /* keep our stdout (results) clean */
		execvp(argv[0], argv);
		fprintf(stderr, "ktstr: error: payload %s: exec: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(sync[0]);
	kt_cleanup_add_pid(-pid);
	if (*cg && kt_cgmgr_move(x->ctx->cg, cg, &pid, 1, &e) < 0) {
		kt_set_err(err, "%s", e);
		free(e);
		close(sync[1]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kt_cleanup_del_pid(-pid);
		return -EIO;
	}
	if (write(sync[1], &c, 1) != 1) {
		/* child gone already: reaped by Wait/Kill */
	}
	close(sync[1]);
	x->ps = kt_realloc(x->ps, (x->n_ps + 1) * sizeof(*x->ps));
	x->ps[x->n_ps].name = kt_strdup(op->payload);
	x->ps[x->n_ps].cgroup = kt_strdup(cg);
	x->ps[x->n_ps].backdrop = !x->in_step;
	x->ps[x->n_ps].pid = pid;
	x->n_ps++;
	return 0;
}

static int wait_payload(struct exec *x, const struct kt_op *op, bool kill_it, char **err)
{
	size_t i;
	struct payload *p = find_payload(x, op->payload ? op->payload : "", op->cgroup, &i, err);
	int st = 0, code = -1;

	if (!p)
		return -ENOENT;
	if (kill_it) {
		kill_payload_at(x, i, true);
		return 0;
	}
	for (;;) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);

		if (w == p->pid) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (w < 0)
			break;
		if (x->ctx->stop && *x->ctx->stop) {
			kt_set_err(err, "interrupted while waiting for payload '%s'", p->name);
			return -EINTR;
		}
		usleep(20 * 1000);
	}
	kt_debug(LOG, "payload %s exited with %d", p->name, code);
	kt_cleanup_del_pid(-p->pid);
	p->pid = 0;
	if (x->ctx->events && x->ctx->events->payload_exit)
		x->ctx->events->payload_exit(x->ctx->events->arg, p->name, p->cgroup, code);
	free(p->name);
	free(p->cgroup);
	x->ps[i] = x->ps[--x->n_ps];
	return 0;
}

/* ---- ops --------------------------------------------------------------------------------- */

static void random_subset(unsigned *rng, const struct kt_cpuset *pool, unsigned count,
			  struct kt_cpuset *out)
{
	int v[KT_MAX_CPUS], n = 0, cpu;

	kt_cpuset_for_each(cpu, pool)
		v[n++] = cpu;
	kt_cpuset_zero(out);
	for (unsigned k = 0; k < count && n > 0; k++) {
		int j = (int)(rand_r(rng) % (unsigned)n);

		kt_cpuset_set(out, v[j]);
		v[j] = v[--n];
	}
}

static struct cg_ent *need_cg(struct exec *x, const char *name, const char *op, char **err)
{
	struct cg_ent *c = name ? find_cg(x, name) : NULL;

	if (!c)
		kt_set_err(err, "%s: cgroup '%s' not found", op, name ? name : "(null)");
	return c;
}

static int apply_op(struct exec *x, const struct kt_op *op, char **err)
{
	const char *nm = kt_op_name(op->kind);
	struct cg_ent *c, *c2;
	char *e = NULL;
	int r = 0;

	switch (op->kind) {
	case KT_OP_ADD_CGROUP:
		if (!op->cgroup) {
			kt_set_err(err, "AddCgroup: no cgroup name");
			return -EINVAL;
		}
		return create_cg(x, op->cgroup, err);
	case KT_OP_REMOVE_CGROUP:
	case KT_OP_STOP_CGROUP:
		c = need_cg(x, op->cgroup, nm, err);
		if (!c)
			return -ENOENT;
		if (x->in_step && c->backdrop) {
			kt_set_err(err, "%s: cgroup '%s' belongs to the Backdrop", nm, c->name);
			return -EPERM;
		}
		drop_cg_entities(x, c->name, false);
		if (op->kind == KT_OP_REMOVE_CGROUP) {
			char *name = kt_strdup(c->name);

			/* children first (deepest = longest names last in the array order) */
			for (size_t i = x->n_cgs; i-- > 0;)
				if (name_in(x->cgs[i].name, name))
					remove_cg_at(x, i);
			free(name);
		}
		return 0;
	case KT_OP_SET_CPUSET:
		c = need_cg(x, op->cgroup, nm, err);
		return c ? write_cpuset(x, c, &op->cpus, err) : -ENOENT;
	case KT_OP_CLEAR_CPUSET:
		c = need_cg(x, op->cgroup, nm, err);
		if (!c)
			return -ENOENT;
		r = kt_cgmgr_set_cpuset(x->ctx->cg, c->name, NULL, &e);
		if (r < 0) {
			kt_set_err(err, "%s", e);
			free(e);
			return r;
		}
		c->has_cpuset = false;
		return 0;
	case KT_OP_SWAP_CPUSETS: {
		struct kt_cpuset a, b;
		bool sa, sb;

		c = need_cg(x, op->cgroup, nm, err);
		c2 = c ? need_cg(x, op->cgroup2, nm, err) : NULL;
		if (!c || !c2)
			return -ENOENT;
		if (kt_cgmgr_get_cpuset(x->ctx->cg, c->name, &a, &sa) < 0 ||
		    kt_cgmgr_get_cpuset(x->ctx->cg, c2->name, &b, &sb) < 0) {
			kt_set_err(err, "SwapCpusets: cannot read cpuset.cpus of '%s' or '%s'", c->name,
				c2->name);
			return -EIO;
		}
		r = kt_cgmgr_set_cpuset(x->ctx->cg, c->name, sb ? &b : NULL, &e);
		if (r == 0)
			r = kt_cgmgr_set_cpuset(x->ctx->cg, c2->name, sa ? &a : NULL, &e);
		if (r < 0) {
			kt_set_err(err, "%s", e);
			free(e);
			return r;
		}
		c->has_cpuset = sb;
		c->cpuset = b;
		c2->has_cpuset = sa;
		c2->cpuset = a;
		return 0;
	}
	case KT_OP_SPAWN:
		c = need_cg(x, op->cgroup, nm, err);
		return c ? spawn_work(x, c, &op->work, false, err) : -ENOENT;
	case KT_OP_SPAWN_HOST:
		return spawn_work(x, NULL, &op->work, false, err);
	case KT_OP_SET_AFFINITY: {
		struct kt_affinity aff;

		c = need_cg(x, op->cgroup, nm, err);
		if (!c)
			return -ENOENT;
		kt_affinity_resolve(&op->affinity, x->ctx->topo, c->has_cpuset ? &c->cpuset : NULL,
				    &aff);
		if (aff.kind == KT_AFF_NONE)
			return 0;
		for (size_t i = 0; i < x->n_hs; i++) {
			struct handle *h = &x->hs[i];

			if (strcmp(h->cgroup, c->name) || !h->wl)
				continue;
			for (size_t w = 0; w < kt_workload_count(h->wl); w++) {
				struct kt_cpuset s = aff.set;

				if (aff.kind == KT_AFF_RANDOM)
					random_subset(&x->rng, &aff.set, aff.count, &s);
				kt_workload_set_affinity(h->wl, w, &s); /* errors ignored */
			}
		}
		return 0;
	}
	case KT_OP_MOVE_ALL_TASKS: {
		char *todir, *p, *txt = NULL, *save = NULL, *tok;

		c = need_cg(x, op->cgroup, nm, err);
		c2 = c ? need_cg(x, op->cgroup2, nm, err) : NULL;
		if (!c || !c2)
			return -ENOENT;
		if (c->backdrop && !c2->backdrop && x->in_step) {
			kt_set_err(err, "MoveAllTasks: cannot move Backdrop cgroup '%s' tasks into "
				     "step-local '%s'",
				c->name, c2->name);
			return -EPERM;
		}
		todir = kt_cgmgr_path(x->ctx->cg, c2->name);
		p = kt_path_join(todir, "cgroup.subtree_control");
		if (kt_read_file(p, &txt, NULL, 4096) == 0)
			for (tok = strtok_r(txt, " \n", &save); tok;
			     tok = strtok_r(NULL, " \n", &save)) {
				char *w = kt_asprintf("-%s", tok);

				kt_cg_write(p, w);
				free(w);
			}
		free(txt);
		free(p);
		free(todir);
		for (size_t i = 0; i < x->n_hs; i++) {
			struct handle *h = &x->hs[i];

			if (strcmp(h->cgroup, c->name) || !h->wl)
				continue;
			r = kt_cgmgr_move(x->ctx->cg, c2->name, kt_workload_pids(h->wl),
					  kt_workload_count(h->wl), &e);
			if (r < 0) {
				kt_set_err(err, "%s", e);
				free(e);
				return r;
			}
			free(h->cgroup);
			h->cgroup = kt_strdup(c2->name);
		}
		return 0;
	}
	case KT_OP_RUN_PAYLOAD:
		return run_payload(x, op, err);
	case KT_OP_WAIT_PAYLOAD:
		return wait_payload(x, op, false, err);
	case KT_OP_KILL_PAYLOAD:
		return wait_payload(x, op, true, err);
	case KT_OP__COUNT:
		break;
	}
	kt_set_err(err, "unknown op kind %d", (int)op->kind);
	return -EINVAL;
}

static int apply_ops(struct exec *x, const struct kt_op *ops, size_t n, char **err)
{
	for (size_t i = 0; i < n; i++) {
		int r = apply_op(x, &ops[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_defs(struct exec *x, const struct kt_step *s, char **err)
{
	struct kt_cgroup_def *built = NULL;
	const struct kt_cgroup_def *defs = s->defs;
	size_t n = s->n_defs;
	int r = 0;

	if (s->factory) {
		r = s->factory(x->ctx, &built, &n);
		if (r < 0) {
			kt_set_err(err, "cgroup factory failed: %s", strerror(-r));
			return r;
		}
		defs = built;
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = apply_def(x, &defs[i], err);
	free(built);
	return r;
}

static void emit_stim(struct exec *x, size_t step, const struct kt_step *s)
{
	struct kt_stim st = {0};
	uint64_t workers = 0, iters = 0;

	if (!x->ctx->events || !x->ctx->events->stim)
		return;
	st.elapsed_ms = (uint32_t)((kt_now_ns() - x->start_ns) / 1000000ull);
	st.step_index = (uint16_t)step;
	st.op_count = (uint16_t)s->n_ops;
	for (size_t i = 0; i < s->n_ops; i++)
		if ((unsigned)s->ops[i].kind < 32)
			st.op_kinds |= 1u << s->ops[i].kind;
	for (size_t i = 0; i < x->n_cgs; i++)
		if (!x->cgs[i].implicit)
			st.cgroup_count++;
	for (size_t i = 0; i < x->n_hs; i++)
		if (x->hs[i].wl) {
			workers += kt_workload_count(x->hs[i].wl);
			iters += kt_workload_snapshot_iterations(x->hs[i].wl, NULL);
		}
	st.worker_count = workers > 0xffff ? 0xffff : (uint16_t)workers;
	st.total_iterations = iters;
	x->ctx->events->stim(x->ctx->events->arg, &st);
}

/* Teardown of the step-local (or, with all, every) entity. */
static void teardown(struct exec *x, bool backdrop, bool collect)
{
	for (size_t i = x->n_ps; i-- > 0;)
		if (x->ps[i].backdrop == backdrop)
			kill_payload_at(x, i, true);
	/* collect in creation order for stable stats */
	for (size_t i = 0; i < x->n_hs;) {
		if (x->hs[i].backdrop == backdrop) {
			struct handle h = x->hs[i];

			if (collect && h.wl)
				collect_handle(x, &h);
			kt_workload_destroy(h.wl);
			free(h.cgroup);
			memmove(&x->hs[i], &x->hs[i + 1], (x->n_hs - i - 1) * sizeof(*x->hs));
			x->n_hs--;
		} else {
			i++;
		}
	}
	for (size_t i = x->n_cgs; i-- > 0;)
		if (x->cgs[i].backdrop == backdrop)
			remove_cg_at(x, i);
}

/* Sleep with liveness polling. Returns 1 interrupted, 2 scheduler died, 0 done. */
static int hold_sleep(struct exec *x, uint64_t ms)
{
	uint64_t end = kt_now_ns() + ms * 1000000ull;

	for (;;) {
		uint64_t now = kt_now_ns(), slice;

		if (x->ctx->stop && *x->ctx->stop)
			return 1;
		if (!kt_sched_alive(x->ctx->sched_pid))
			return 2;
		if (now >= end)
			return 0;
		slice = (end - now) / 1000000ull;
		if (slice > 500)
			slice = 500;
		if (kt_ctx_sleep(x->ctx, slice ? slice : 1))
			return 1;
	}
}

static void fail(struct exec *x, enum kt_detail_kind k, const char *fmt, ...) KT_PRINTF(3, 4);
static void fail(struct exec *x, enum kt_detail_kind k, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	kt_assert_result_add_failure(x->out, k, "%s", sb_str(&sb));
	sb_free(&sb);
}

static void free_exec(struct exec *x)
{
	teardown(x, false, false);
	teardown(x, true, false);
	free(x->cgs);
	free(x->hs);
	free(x->ps);
}

int kt_scenario_run(const struct kt_ctx *ctx, const struct kt_backdrop *bd,
		    const struct kt_step *steps, size_t n_steps, const struct kt_assert *checks,
		    struct kt_assert_result *out)
{
	struct exec x = {0};
	char msg[256], *err = NULL;
	int rc = 0, hs;
	uint64_t dur_ns = ctx->duration_ms * 1000000ull;

	kt_assert_result_pass(out);
	for (size_t i = 0; i < n_steps; i++)
		if (kt_hold_validate(&steps[i].hold, i, msg, sizeof(msg)) < 0) {
			kt_assert_result_add_failure(out, KT_DETAIL_OTHER, "%s", msg);
			return -EINVAL;
		}
	x.ctx = ctx;
	x.checks = checks ? checks : &ctx->assert;
	x.out = out;
	x.rng = (unsigned)getpid() ^ (unsigned)kt_now_ns();
	x.start_ns = kt_now_ns();
	if (ctx->events && ctx->events->start)
		ctx->events->start(ctx->events->arg);

	/* Backdrop */
	if (bd) {
		int r = 0;

		for (size_t i = 0; i < bd->n_defs && r == 0; i++)
			r = apply_def(&x, &bd->defs[i], &err);
		if (r == 0)
			r = apply_ops(&x, bd->ops, bd->n_ops, &err);
		if (r < 0) {
			fail(&x, KT_DETAIL_OTHER, "Backdrop setup failed: %s",
			     err ? err : strerror(-r));
			goto end;
		}
	}
	x.in_step = true;
	for (size_t i = 0; i < n_steps; i++) {
		const struct kt_step *s = &steps[i];
		int r = 0;

		if (i > 0 && !kt_sched_alive(ctx->sched_pid)) {
			fail(&x, KT_DETAIL_SCHEDULER_DIED,
			     "scheduler process died unexpectedly after completing step %zu of %zu "
			     "(%.1fs into test)",
			     i, n_steps, elapsed_s(&x));
			break;
		}
		hs = 0;
		if (s->hold.kind != KT_HOLD_LOOP) {
			uint64_t ms;

			r = apply_ops(&x, s->ops, s->n_ops, &err);
			if (r == 0)
				r = apply_defs(&x, s, &err);
			if (r == 0) {
				emit_stim(&x, i, s);
				if (s->hold.kind == KT_HOLD_FIXED)
					ms = s->hold.ms;
				else
					ms = (uint64_t)llround((double)ctx->duration_ms *
							       (s->hold.kind == KT_HOLD_FULL
									? 1.0
									: s->hold.frac));
				hs = hold_sleep(&x, ms);
			}
		} else {
			r = apply_defs(&x, s, &err);
			if (r == 0)
				emit_stim(&x, i, s);
			while (r == 0 && hs == 0) {
				uint64_t now = kt_now_ns(), left, ms;

				if (now >= x.start_ns + dur_ns)
					break;
				r = apply_ops(&x, s->ops, s->n_ops, &err);
				if (r < 0)
					break;
				left = (x.start_ns + dur_ns - kt_now_ns()) / 1000000ull;
				if (kt_now_ns() >= x.start_ns + dur_ns)
					left = 0;
				ms = s->hold.ms < left ? s->hold.ms : left;
				hs = hold_sleep(&x, ms);
			}
		}
		if (r < 0)
			fail(&x, KT_DETAIL_OTHER, "step %zu failed: %s", i,
			     err ? err : strerror(-r));
		if (hs == 2)
			fail(&x, KT_DETAIL_SCHEDULER_DIED,
			     "scheduler process died unexpectedly during workload (%.1fs into test)",
			     elapsed_s(&x));
		if (hs == 1) {
			fail(&x, KT_DETAIL_OTHER, "interrupted (%.1fs into test)", elapsed_s(&x));
			rc = -EINTR;
		}
		/* Step teardown always runs; an interrupt skips the (slow) collection. */
		teardown(&x, false, hs != 1);
		if (r < 0 || hs)
			break;
	}
	x.in_step = false;
end:
	if (ctx->events && ctx->events->end)
		ctx->events->end(ctx->events->arg,
				 (uint32_t)((kt_now_ns() - x.start_ns) / 1000000ull));
	if (rc == 0 && out->passed && !kt_sched_alive(ctx->sched_pid))
		fail(&x, KT_DETAIL_SCHEDULER_DIED,
		     "scheduler process died unexpectedly (detected after all %zu steps "
		     "completed, %.1fs elapsed)",
		     n_steps, elapsed_s(&x));
	if (rc == 0 && ctx->stop && *ctx->stop)
		rc = -EINTR;
	teardown(&x, true, rc == 0);
	free_exec(&x);
	free(err);
	return rc;
}

int kt_scenario_run_defs(const struct kt_ctx *ctx, const struct kt_cgroup_def *defs, size_t n,
			 struct kt_assert_result *out)
{
	struct kt_step s = {.defs = defs, .n_defs = n, .hold = KT_HOLD_FULL_V};

	return kt_scenario_run(ctx, NULL, &s, 1, NULL, out);
}
