// SPDX-License-Identifier: GPL-2.0
/*
 * The step executor: Backdrop, steps (ops then setup, hold), teardown that
 * always runs, worker checks per work group, scheduler liveness. The ops
 * live in exec_ops.c, payload processes in exec_payload.c (see exec.h).
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

#include "exec.h"

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

static double elapsed_s(const struct exec *x)
{
	return (double)(kt_now_ns() - x->start_ns) / 1e9;
}

struct cg_ent *kx_find_cg(struct exec *x, const char *name)
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
int kx_create_cg(struct exec *x, const char *name, char **err)
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
	kt_hwtopo_nodes_of(x->ctx->topo, cs, nodes);
}

/*
 * The queues over time: every CPU's run_delay sampled this often while a
 * step holds, at most this many samples (then every other one goes and the
 * period doubles), so a spread failure can show the queues each worker met
 * where it sat at the time.
 */
#define KX_RQ_EVERY_NS 100000000ull
#define KX_RQ_MAX 2048

/* /proc/schedstat now, parsed; NULL when unreadable (evidence only). */
static struct kt_lb_stats *kx_lb_snapshot(struct exec *x)
{
	struct kt_lb_stats *st = kt_malloc(sizeof(*st));
	char *txt = NULL;

	if (kt_read_file("/proc/schedstat", &txt, NULL, 4 << 20) < 0 ||
	    kt_lb_stats_parse(txt, st) < 0) {
		free(st);
		st = NULL;
	} else {
		st->at_ns = kt_now_ns();
		if (!x->rq.every_ns)
			x->rq.every_ns = KX_RQ_EVERY_NS;
		kt_rq_series_add(&x->rq, st->at_ns, st, KX_RQ_MAX);
	}
	x->rq_next_ns = kt_now_ns() + (x->rq.every_ns ? x->rq.every_ns : KX_RQ_EVERY_NS);
	free(txt);
	return st;
}

static void kx_lb_free(struct kt_lb_stats *st)
{
	if (st)
		kt_lb_stats_free(st);
	free(st);
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

	struct kt_lb_stats *lb_end;

	if (kt_workload_stop_and_collect(h->wl, 0, &reps, &n) < 0) {
		kt_workload_destroy(h->wl);
		h->wl = NULL;
		return;
	}
	lb_end = kx_lb_snapshot(x);
	cc.lb_start = h->lb_start;
	cc.lb_end = lb_end;
	cc.rq = &x->rq;
	if (c && c->has_cpuset) {
		cs = c->cpuset;
		node_set_of(x, &cs, &nodes);
		cc.cpuset = &cs;
		cc.cpuset_nodes = &nodes;
	}
	memset(&r, 0, sizeof(r));
	kt_check_workers(x->checks, reps, n, &cc, &r);
	kx_lb_free(lb_end);
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
	kx_lb_free(h->lb_start);
	free(h->cgroup);
	x->hs[i] = x->hs[--x->n_hs];
}

void kx_kill_payload_at(struct exec *x, size_t i, bool report)
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

bool kx_name_in(const char *name, const char *cg)
{
	size_t l = strlen(cg);

	return !strcmp(name, cg) || (!strncmp(name, cg, l) && name[l] == '/');
}

/* Drop handles and payloads living in cgroup cg (and below). */
void kx_drop_cg_entities(struct exec *x, const char *cg, bool collect)
{
	for (size_t i = x->n_ps; i-- > 0;)
		if (*x->ps[i].cgroup && kx_name_in(x->ps[i].cgroup, cg))
			kx_kill_payload_at(x, i, false);
	for (size_t i = x->n_hs; i-- > 0;)
		if (*x->hs[i].cgroup && kx_name_in(x->hs[i].cgroup, cg))
			drop_handle_at(x, i, collect);
}

void kx_remove_cg_at(struct exec *x, size_t i)
{
	kt_cgmgr_remove(x->ctx->cg, x->cgs[i].name);
	free(x->cgs[i].name);
	memmove(&x->cgs[i], &x->cgs[i + 1], (x->n_cgs - i - 1) * sizeof(*x->cgs));
	x->n_cgs--;
}

/* Spawn one work group into cgroup c (NULL = host). */
int kx_spawn_work(struct exec *x, struct cg_ent *c, const struct kt_cg_work *cw,
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
	x->hs = kt_realloc(x->hs, (x->n_hs + 1) * sizeof(*x->hs));
	h = &x->hs[x->n_hs++];
	h->lb_start = kx_lb_snapshot(x);
	kt_workload_start(wl);
	h->cgroup = kt_strdup(c ? c->name : "");
	h->backdrop = !x->in_step;
	h->wl = wl;
	kt_debug(LOG, "spawned %zu %s worker(s) in '%s'", kt_workload_count(wl),
		 kt_work_type_name(cfg.work.type), h->cgroup);
	return 0;
}

int kx_write_cpuset(struct exec *x, struct cg_ent *c, const struct kt_cpuset_spec *spec,
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

int kx_apply_def(struct exec *x, const struct kt_cgroup_def *d, char **err)
{
	const char *name = d->name ? d->name : "cg_0";
	unsigned nw = d->n_works ? d->n_works : 1;
	struct cg_ent *c;
	int r;

	if (nw > KT_MAX_WORKS) {
		kt_set_err(err, "cgroup '%s': n_works %u exceeds %d", name, nw, KT_MAX_WORKS);
		return -EINVAL;
	}
	r = kx_create_cg(x, name, err);
	if (r < 0)
		return r;
	c = find_any_cg(x, name);
	if (d->cpuset.kind != KT_CS_NONE) {
		r = kx_write_cpuset(x, c, &d->cpuset, err);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < nw; i++) {
		c = find_any_cg(x, name); /* the array may move */
		r = kx_spawn_work(x, c, &d->works[i], d->swappable, err);
		if (r < 0)
			return r;
	}
	return 0;
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
			kx_kill_payload_at(x, i, true);
	/* collect in creation order for stable stats */
	for (size_t i = 0; i < x->n_hs;) {
		if (x->hs[i].backdrop == backdrop) {
			struct handle h = x->hs[i];

			if (collect && h.wl)
				collect_handle(x, &h);
			kt_workload_destroy(h.wl);
			kx_lb_free(h.lb_start);
			free(h.cgroup);
			memmove(&x->hs[i], &x->hs[i + 1], (x->n_hs - i - 1) * sizeof(*x->hs));
			x->n_hs--;
		} else {
			i++;
		}
	}
	for (size_t i = x->n_cgs; i-- > 0;)
		if (x->cgs[i].backdrop == backdrop)
			kx_remove_cg_at(x, i);
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
		/* Sample the queues while any group runs (its evidence if it fails). */
		if (x->n_hs && now >= x->rq_next_ns) {
			kx_lb_free(kx_lb_snapshot(x));
			now = kt_now_ns();
		}
		slice = (end - now) / 1000000ull;
		if (slice > 500)
			slice = 500;
		if (x->n_hs && x->rq_next_ns > now && (x->rq_next_ns - now) / 1000000ull < slice)
			slice = (x->rq_next_ns - now) / 1000000ull;
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
	kt_rq_series_free(&x->rq);
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
			r = kx_apply_def(&x, &bd->defs[i], &err);
		if (r == 0)
			r = kx_apply_ops(&x, bd->ops, bd->n_ops, &err);
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

			r = kx_apply_ops(&x, s->ops, s->n_ops, &err);
			if (r == 0)
				r = kx_apply_defs(&x, s, &err);
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
			r = kx_apply_defs(&x, s, &err);
			if (r == 0)
				emit_stim(&x, i, s);
			while (r == 0 && hs == 0) {
				uint64_t now = kt_now_ns(), left, ms;

				if (now >= x.start_ns + dur_ns)
					break;
				r = kx_apply_ops(&x, s->ops, s->n_ops, &err);
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
	if (rc == 0 && !kt_assert_result_failed(out) && !kt_sched_alive(ctx->sched_pid))
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
