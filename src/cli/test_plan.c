// SPDX-License-Identifier: GPL-2.0
/* What `ktstr test` runs: listing, costs, filters, shard, budget (test_plan.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "results/results.h"
#include "test_plan.h"
#include "util/util.h"
#include "vm/vm.h"

static char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? kt_strdup(s) : NULL;
}

static int parse_item(struct tp_item *it, const char *bin, const char *line)
{
	json_t *j = json_loads(line, 0, NULL), *fl;

	if (!j || !json_is_object(j))
		goto bad;
	memset(it, 0, sizeof(*it));
	it->name = jstr(j, "name");
	it->test = jstr(j, "test");
	it->sched = jstr(j, "scheduler");
	it->topo = jstr(j, "topology");
	it->profile = jstr(j, "profile");
	if (!it->name || !it->test || !it->sched || !it->topo || !it->profile)
		goto bad_item;
	it->bin = kt_strdup(bin);
	it->preset = jstr(j, "preset");
	it->kernel = jstr(j, "kernel");
	it->filtered = jstr(j, "filtered");
	it->cpus = (int)json_integer_value(json_object_get(j, "cpus"));
	it->duration_s = (int)json_integer_value(json_object_get(j, "duration_s"));
	it->host_only = json_is_true(json_object_get(j, "host_only"));
	it->ignored = json_is_true(json_object_get(j, "ignored"));
	it->nokaslr = json_is_false(json_object_get(j, "kaslr"));
	fl = json_object_get(j, "flags");
	it->flags = kt_calloc(json_array_size(fl) + 1, sizeof(*it->flags));
	for (size_t i = 0; i < json_array_size(fl); i++) {
		const char *f = json_string_value(json_array_get(fl, i));

		if (f)
			it->flags[it->n_flags++] = kt_strdup(f);
	}
	json_decref(j);
	return 0;
bad_item:
	free(it->name);
	free(it->test);
	free(it->sched);
	free(it->topo);
	free(it->profile);
bad:
	json_decref(j);
	return -EINVAL;
}

static void item_free(struct tp_item *it)
{
	free(it->bin);
	free(it->name);
	free(it->test);
	free(it->sched);
	free(it->topo);
	free(it->preset);
	free(it->profile);
	free(it->kernel);
	free(it->filtered);
	for (size_t i = 0; i < it->n_flags; i++)
		free(it->flags[i]);
	free(it->flags);
}

void tp_list_free(struct tp_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		item_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void add_item(struct tp_list *l, const struct tp_item *it)
{
	l->v = kt_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = *it;
}

/*
 * A binary that ignores --json lists "NAME: test" lines: an entry with
 * what the name tells (costs from the model for a 2-vCPU, 2 s test).
 */
static int plain_item(struct tp_item *it, const char *bin, const char *ln)
{
	const char *e = strstr(ln, ": test");
	struct kt_name_parts np;
	char *name;

	if (!e || e[6] || !(kt_startswith(ln, "ktstr/") || kt_startswith(ln, "gauntlet/")))
		return -EINVAL;
	name = kt_strdup(ln);
	name[e - ln] = 0;
	if (kt_name_parse(name, &np)) {
		free(name);
		return -EINVAL;
	}
	memset(it, 0, sizeof(*it));
	it->bin = kt_strdup(bin);
	it->name = name;
	it->test = kt_strdup(np.test);
	it->sched = kt_strdup("unknown");
	it->topo = kt_strdup("unknown");
	it->preset = np.preset ? kt_strdup(np.preset) : NULL;
	it->profile = kt_strdup(np.profile ? np.profile : "default");
	it->kernel = np.label ? kt_strdup(np.label) : NULL;
	it->flags = kt_calloc(1, sizeof(*it->flags));
	it->cpus = 2;
	it->duration_s = 2;
	it->ignored = np.preset != NULL;
	kt_name_parts_free(&np);
	return 0;
}

int tp_list_binary(struct tp_list *l, const char *bin, bool gauntlet)
{
	char *argv[] = {(char *)bin, "--list", "--json", gauntlet ? "--include-ignored" : NULL,
			NULL};
	struct sbuf cap = SBUF_INIT;
	struct kt_run_opts o = {.capture = &cap};
	int st = 0, r = kt_run(argv, &o, &st);
	char *save = NULL, *s;

	if (r) {
		kt_err("%s: cannot run: %s", bin, strerror(-r));
		sb_free(&cap);
		return -1;
	}
	if (st) {
		/* Its validation errors, then ours. */
		fputs(sb_str(&cap), stderr);
		kt_err("%s --list failed (exit status %d): invalid test definitions", bin, st);
		sb_free(&cap);
		return -1;
	}
	s = sb_steal(&cap);
	for (char *ln = strtok_r(s, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		struct tp_item it;

		if (ln[0] != '{') {
			if (plain_item(&it, bin, ln) == 0) {
				add_item(l, &it);
				continue;
			}
			if (kt_startswith(ln, "ktstr: "))
				fprintf(stderr, "%s\n", ln); /* its notes and warnings */
			continue;
		}
		if (parse_item(&it, bin, ln)) {
			kt_err("%s --list --json: unreadable line: %.80s", bin, ln);
			free(s);
			return -1;
		}
		add_item(l, &it);
	}
	free(s);
	return 0;
}

/* ---- costs --------------------------------------------------------------------- */

static char *item_key(const char *test, const char *topo, const char *sched, char *const *flags,
		      size_t nf)
{
	struct sbuf sb = SBUF_INIT;

	sb_addf(&sb, "%s|%s|%s|", test, topo, sched);
	for (size_t i = 0; i < nf; i++)
		sb_addf(&sb, "%s%s", i ? "," : "", flags[i]);
	return sb_steal(&sb);
}

struct hist {
	struct tp_list *l;
	char **keys;    /* per item */
	char **stamp;   /* newest timestamp seen per item */
	double *secs;
};

static int hist_one(void *ctx, const char *path)
{
	struct hist *h = ctx;
	struct kt_sidecar sc;
	char *err = NULL, *key;

	if (kt_sidecar_read(path, &sc, &err)) {
		free(err);
		return 0;
	}
	if (sc.skipped || !sc.has_duration_ms || !sc.test_name || !sc.topology || !sc.scheduler)
		goto out;
	key = item_key(sc.test_name, sc.topology, sc.scheduler, sc.active_flags.v,
		       sc.active_flags.n);
	for (size_t i = 0; i < h->l->n; i++) {
		const char *ts = sc.timestamp ? sc.timestamp : "";

		if (strcmp(h->keys[i], key))
			continue;
		if (h->stamp[i] && strcmp(ts, h->stamp[i]) <= 0)
			continue;
		free(h->stamp[i]);
		h->stamp[i] = kt_strdup(ts);
		h->secs[i] = (double)sc.duration_ms / 1000.0;
	}
	free(key);
out:
	kt_sidecar_free(&sc);
	return 0;
}

/* Costs: the newest earlier sidecar of the same configuration, else the model. */
static void estimate(struct tp_list *l)
{
	struct hist h = {.l = l};
	enum kt_accel a = KT_ACCEL_TCG;
	char *why = NULL, *err = NULL, *root;
	bool override;
	int cpus = (int)kt_allowed_cpus();

	if (kt_accel_resolve(KT_ACCEL_AUTO, &a, &why, &err))
		a = KT_ACCEL_TCG;
	free(why);
	free(err);
	h.keys = kt_calloc(l->n + 1, sizeof(*h.keys));
	h.stamp = kt_calloc(l->n + 1, sizeof(*h.stamp));
	h.secs = kt_calloc(l->n + 1, sizeof(*h.secs));
	for (size_t i = 0; i < l->n; i++)
		h.keys[i] = item_key(l->v[i].test, l->v[i].topo, l->v[i].sched, l->v[i].flags,
				     l->v[i].n_flags);
	root = kt_runs_root();
	kt_sidecar_scan(root, hist_one, &h);
	free(root);
	root = kt_sidecar_dir(NULL, &override);
	if (override)
		kt_sidecar_scan(root, hist_one, &h);
	free(root);
	for (size_t i = 0; i < l->n; i++) {
		struct tp_item *it = &l->v[i];

		it->measured = h.stamp[i] != NULL;
		it->cost = it->measured ? h.secs[i]
					: kt_cost_model(it->cpus, it->duration_s, it->host_only,
							strcmp(it->sched, "eevdf") != 0,
							a == KT_ACCEL_KVM, cpus);
		free(h.keys[i]);
		free(h.stamp[i]);
	}
	free(h.keys);
	free(h.stamp);
	free(h.secs);
}

/* ---- selection ----------------------------------------------------------------- */

static bool any_sub(const struct kt_optv *v, const char *name)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (strstr(name, v->v[i]))
			return true;
	return false;
}

static bool any_eq(const struct kt_optv *v, const char *name)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (!strcmp(name, v->v[i]))
			return true;
	return false;
}

/* Candidates for the items still in (no drop, not filtered): map[i] = item index. */
static struct kt_cand *cands(struct tp_list *l, size_t **map, size_t *nc, bool model_cost)
{
	struct kt_cand *c = kt_calloc(l->n + 1, sizeof(*c));

	*map = kt_calloc(l->n + 1, sizeof(**map));
	*nc = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct tp_item *it = &l->v[i];
		struct kt_cand *x;

		if (it->drop || it->filtered)
			continue;
		x = &c[*nc];
		(*map)[(*nc)++] = i;
		x->name = it->name;
		x->test = it->test;
		x->sched = it->sched;
		x->topo = it->preset ? it->preset : it->topo;
		x->profile = it->profile;
		x->kernel = it->kernel;
		x->flags = (const char *const *)it->flags;
		x->n_flags = it->n_flags;
		/* Shards use the model only: every machine must compute the same partition. */
		x->cost = model_cost ? kt_cost_model(it->cpus, it->duration_s, it->host_only,
						     strcmp(it->sched, "eevdf") != 0, false, 1)
				     : it->cost;
		x->measured = it->measured;
	}
	return c;
}

/*
 * The shard's unit is a sidecar identity (test, topology, scheduler,
 * flags): the same configuration on several kernels, or a base test and
 * a variant that equal it, land in one shard, so a shard replacing its
 * own sidecars never removes another shard's.
 */
static int apply_shard(struct tp_list *l, const char *spec)
{
	struct kt_shard sh;
	struct kt_cand *c, *g;
	size_t *map, nc, ng = 0, *grp, mine = 0;
	char **keys;
	bool *in;
	char *err = NULL;

	if (kt_shard_parse(spec, &sh, &err)) {
		kt_err("--shard: %s", err);
		free(err);
		return -1;
	}
	c = cands(l, &map, &nc, true);
	keys = kt_calloc(nc + 1, sizeof(*keys));
	grp = kt_calloc(nc + 1, sizeof(*grp));
	g = kt_calloc(nc + 1, sizeof(*g));
	for (size_t i = 0; i < nc; i++) {
		const struct tp_item *it = &l->v[map[i]];
		size_t k;

		keys[i] = item_key(it->test, it->topo, it->sched, it->flags, it->n_flags);
		for (k = 0; k < ng; k++)
			if (!strcmp(g[k].name, keys[i]))
				break;
		if (k == ng)
			g[ng++].name = keys[i];
		g[k].cost += c[i].cost;
		grp[i] = k;
	}
	in = kt_calloc(ng + 1, sizeof(*in));
	kt_shard_assign(g, ng, &sh, in);
	for (size_t i = 0; i < nc; i++) {
		if (in[grp[i]])
			mine++;
		else
			l->v[map[i]].drop = "shard";
	}
	kt_info("shard %u/%u (%s): %zu of %zu tests", sh.k, sh.n,
		sh.mode == KT_SHARD_HASH ? "by name hash" : "balanced by estimated cost", mine,
		nc);
	for (size_t i = 0; i < nc; i++)
		free(keys[i]);
	free(keys);
	free(grp);
	free(g);
	free(in);
	free(c);
	free(map);
	return 0;
}

static int apply_budget(struct tp_list *l, const char *spec, const struct tp_select *o)
{
	struct kt_budget_report rep;
	struct kt_cand *c;
	size_t *map, nc, shown = 0;
	double budget, avail;

	if (kt_budget_parse(spec, &budget)) {
		kt_err("budget '%s': not a positive number of seconds", spec);
		return -1;
	}
	c = cands(l, &map, &nc, false);
	/* The time already spent (listing the binaries) counts against it. */
	avail = budget - o->elapsed_s;
	kt_budget_select(c, nc, avail > 0 ? avail : 0, o->jobs, &rep);
	for (size_t i = 0; i < nc; i++)
		if (!c[i].selected)
			l->v[map[i]].drop = "budget";
	kt_info("budget %.0fs: running %zu of %zu tests, expected wall %.0fs at -j%u "
		"(+%.0fs spent listing; costs: %zu from earlier sidecars, %zu modelled)",
		budget, rep.selected, rep.total, rep.expected_s, o->jobs, o->elapsed_s,
		rep.measured, rep.total - rep.measured);
	kt_info("budget coverage: schedulers %zu/%zu, presets/topologies %zu/%zu, flags %zu/%zu, "
		"profiles %zu/%zu, tests %zu/%zu",
		rep.sched_cov, rep.sched_all, rep.topo_cov, rep.topo_all, rep.flag_cov,
		rep.flag_all, rep.profile_cov, rep.profile_all, rep.test_cov, rep.test_all);
	for (size_t i = 0; i < nc; i++)
		if (c[i].selected)
			fprintf(stderr, "  run   %s (est %.0fs%s)\n", c[i].name, c[i].cost,
				c[i].measured ? ", measured" : "");
	for (size_t i = 0; i < nc; i++) {
		if (c[i].selected)
			continue;
		if (!o->verbose && shown == 20) {
			fprintf(stderr, "  ... and %zu more dropped (-v lists them)\n",
				rep.total - rep.selected - shown);
			break;
		}
		fprintf(stderr, "  drop  %s (est %.0fs%s)\n", c[i].name, c[i].cost,
			c[i].measured ? ", measured" : "");
		shown++;
	}
	free(c);
	free(map);
	return 0;
}

int tp_select(struct tp_list *l, struct tp_select *o)
{
	const char *budget = o->budget;

	for (size_t i = 0; i < l->n; i++) {
		struct tp_item *it = &l->v[i];
		bool f = o->filters && o->filters->n, e = o->exact && o->exact->n;

		if ((f || e) && !(any_sub(o->filters, it->name) || any_eq(o->exact, it->name)))
			it->drop = "filter";
	}
	estimate(l);
	if (o->shard && apply_shard(l, o->shard))
		return -1;
	if (!budget) {
		budget = kt_getenv("KTSTR_BUDGET_SECS");
		if (budget && kt_budget_parse(budget, &(double){0})) {
			kt_info("note: KTSTR_BUDGET_SECS='%s' is not a positive number of "
				"seconds; ignored",
				budget);
			budget = NULL;
		}
	}
	if (budget && apply_budget(l, budget, o))
		return -1;
	if (budget)
		kt_budget_parse(budget, &o->budget_s);
	return 0;
}

void tp_print(const struct tp_list *l, bool verbose)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct tp_item *it = &l->v[i];

		if (!verbose) {
			if (!it->drop && !it->filtered)
				printf("%s\n", it->name);
			continue;
		}
		if (it->drop && !strcmp(it->drop, "filter"))
			continue; /* not asked for */
		if (it->filtered)
			printf("%s: filtered: %s\n", it->name, it->filtered);
		else if (it->drop)
			printf("%s: dropped: %s\n", it->name, it->drop);
		else
			printf("%s: runs (%s, est %.0fs%s%s)\n", it->name, it->bin, it->cost,
			       it->measured ? ", measured" : "", it->nokaslr ? ", nokaslr" : "");
	}
}

/* ---- shards and the run dir --------------------------------------------------- */

struct stale {
	const struct tp_list *l;
	char **keys;
	int removed;
};

static int stale_one(void *ctx, const char *path)
{
	struct stale *st = ctx;
	struct kt_sidecar sc;
	char *err = NULL, *key;

	if (kt_sidecar_read(path, &sc, &err)) {
		free(err);
		return 0;
	}
	if (sc.test_name && sc.topology && sc.scheduler) {
		key = item_key(sc.test_name, sc.topology, sc.scheduler, sc.active_flags.v,
			       sc.active_flags.n);
		for (size_t i = 0; i < st->l->n; i++)
			if (st->keys[i] && !strcmp(st->keys[i], key)) {
				if (unlink(path) == 0)
					st->removed++;
				break;
			}
		free(key);
	}
	kt_sidecar_free(&sc);
	return 0;
}

void tp_remove_stale(const struct tp_list *l, const char *dir)
{
	struct stale st = {.l = l};

	st.keys = kt_calloc(l->n + 1, sizeof(*st.keys));
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].drop && !l->v[i].filtered)
			st.keys[i] = item_key(l->v[i].test, l->v[i].topo, l->v[i].sched,
					      l->v[i].flags, l->v[i].n_flags);
	kt_sidecar_scan(dir, stale_one, &st);
	if (st.removed)
		kt_info("shard: replaced %d earlier sidecar%s of its tests in %s", st.removed,
			st.removed == 1 ? "" : "s", dir);
	for (size_t i = 0; i < l->n; i++)
		free(st.keys[i]);
	free(st.keys);
}
