// SPDX-License-Identifier: GPL-2.0
/* The step executor: ops and cgroup definitions applied to the executor state. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

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
	struct cg_ent *c = name ? kx_find_cg(x, name) : NULL;

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
		return kx_create_cg(x, op->cgroup, err);
	case KT_OP_REMOVE_CGROUP:
	case KT_OP_STOP_CGROUP:
		c = need_cg(x, op->cgroup, nm, err);
		if (!c)
			return -ENOENT;
		if (x->in_step && c->backdrop) {
			kt_set_err(err, "%s: cgroup '%s' belongs to the Backdrop", nm, c->name);
			return -EPERM;
		}
		kx_drop_cg_entities(x, c->name, false);
		if (op->kind == KT_OP_REMOVE_CGROUP) {
			char *name = kt_strdup(c->name);

			/* children first (deepest = longest names last in the array order) */
			for (size_t i = x->n_cgs; i-- > 0;)
				if (kx_name_in(x->cgs[i].name, name))
					kx_remove_cg_at(x, i);
			free(name);
		}
		return 0;
	case KT_OP_SET_CPUSET:
		c = need_cg(x, op->cgroup, nm, err);
		return c ? kx_write_cpuset(x, c, &op->cpus, err) : -ENOENT;
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
		return c ? kx_spawn_work(x, c, &op->work, false, err) : -ENOENT;
	case KT_OP_SPAWN_HOST:
		return kx_spawn_work(x, NULL, &op->work, false, err);
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
		return kx_run_payload(x, op, err);
	case KT_OP_WAIT_PAYLOAD:
		return kx_wait_payload(x, op, false, err);
	case KT_OP_KILL_PAYLOAD:
		return kx_wait_payload(x, op, true, err);
	case KT_OP__COUNT:
		break;
	}
	kt_set_err(err, "unknown op kind %d", (int)op->kind);
	return -EINVAL;
}

int kx_apply_ops(struct exec *x, const struct kt_op *ops, size_t n, char **err)
{
	for (size_t i = 0; i < n; i++) {
		int r = apply_op(x, &ops[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}

int kx_apply_defs(struct exec *x, const struct kt_step *s, char **err)
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
		r = kx_apply_def(x, &defs[i], err);
	free(built);
	return r;
}
