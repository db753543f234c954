// SPDX-License-Identifier: GPL-2.0
/* Pools of sidecars, the comparable metrics, dimensions and filters. See stats.h. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util/util.h"

/* ---- metrics --------------------------------------------------------------------- */

/* Thresholds: the reference registry's defaults; duration_ms is this implementation's. */
static const struct kt_metric_def metrics[] = {
	{"worst_spread", false, 5.0, 0.25, "%", "stats.worst_spread: largest off-CPU spread"},
	{"worst_gap_ms", false, 500, 0.50, "ms", "stats.worst_gap_ms: longest scheduling gap"},
	{"total_migrations", false, 10, 0.30, "", "stats.total_migrations"},
	{"worst_migration_ratio", false, 0.05, 0.20, "", "stats.worst_migration_ratio"},
	{"max_imbalance_ratio", false, 1.0, 0.25, "x", "monitor.max_imbalance_ratio"},
	{"max_dsq_depth", false, 10, 0.50, "", "monitor.max_local_dsq_depth"},
	{"stall_count", false, 1, 0.50, "",
	 "monitor.stuck_count, else 1 when monitor.stall_detected"},
	{"total_fallback", false, 5, 0.30, "", "monitor.event_deltas.total_fallback"},
	{"total_keep_last", false, 5, 0.30, "", "monitor.event_deltas.total_dispatch_keep_last"},
	{"worst_p99_wake_latency_us", false, 50, 0.25, "us", "stats.worst_p99_wake_latency_us"},
	{"worst_median_wake_latency_us", false, 20, 0.25, "us",
	 "stats.worst_median_wake_latency_us"},
	{"worst_wake_latency_cv", false, 0.10, 0.25, "", "stats.worst_wake_latency_cv"},
	{"total_iterations", true, 100, 0.10, "", "stats.total_iterations: work done"},
	{"worst_mean_run_delay_us", false, 50, 0.25, "us", "stats.worst_mean_run_delay_us"},
	{"worst_run_delay_us", false, 100, 0.50, "us", "stats.worst_run_delay_us"},
	{"worst_wake_latency_tail_ratio", false, 0.5, 0.25, "x",
	 "stats.worst_wake_latency_tail_ratio (absent under 100 iterations)"},
	{"worst_iterations_per_worker", true, 10, 0.10, "", "stats.worst_iterations_per_worker"},
	{"worst_page_locality", true, 0.05, 0.10, "", "stats.worst_page_locality"},
	{"worst_cross_node_migration_ratio", false, 0.05, 0.20, "",
	 "stats.worst_cross_node_migration_ratio"},
	{"duration_ms", false, 1000, 0.20, "ms", "duration_ms: the test's wall time on the host"},
};

const struct kt_metric_def *kt_metrics(size_t *n)
{
	*n = KT_ARRAY_SIZE(metrics);
	return metrics;
}

const struct kt_metric_def *kt_metric_find(const char *name)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(metrics); i++)
		if (!strcmp(metrics[i].name, name))
			return &metrics[i];
	return NULL;
}

static bool num(json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	if (!isfinite(*out))
		*out = 0;
	return true;
}

bool kt_sidecar_metric(const struct kt_sidecar *sc, const struct kt_metric_def *m, double *out)
{
	json_t *mon = sc->monitor;
	const char *n = m->name;

	if (!strcmp(n, "duration_ms")) {
		*out = (double)sc->duration_ms;
		return sc->has_duration_ms;
	}
	if (!strcmp(n, "max_imbalance_ratio"))
		return num(json_object_get(mon, "max_imbalance_ratio"), out);
	if (!strcmp(n, "max_dsq_depth"))
		return num(json_object_get(mon, "max_local_dsq_depth"), out);
	if (!strcmp(n, "stall_count")) {
		json_t *st = json_object_get(mon, "stall_detected");

		if (num(json_object_get(mon, "stuck_count"), out))
			return true;
		if (!json_is_boolean(st))
			return false;
		*out = json_is_true(st) ? 1 : 0;
		return true;
	}
	if (!strcmp(n, "total_fallback"))
		return num(json_object_get(json_object_get(mon, "event_deltas"), "total_fallback"),
			   out);
	if (!strcmp(n, "total_keep_last"))
		return num(json_object_get(json_object_get(mon, "event_deltas"),
					   "total_dispatch_keep_last"),
			   out);
	if (!strcmp(n, "worst_wake_latency_tail_ratio")) {
		double it;

		if (!num(json_object_get(sc->stats, "total_iterations"), &it) || it < 100)
			return false;
	}
	return num(json_object_get(sc->stats, n), out);
}

/* ---- pools ------------------------------------------------------------------------ */

struct load_ctx {
	struct kt_pool *p;
	size_t dir_len;
};

/* The run a file belongs to: its directory's name. */
static char *run_of(const char *path)
{
	const char *end = strrchr(path, '/'), *start;

	if (!end)
		return kt_strdup(".");
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	return kt_asprintf("%.*s", (int)(end - start), start);
}

static int load_one(void *arg, const char *path)
{
	struct load_ctx *c = arg;
	struct kt_pool *p = c->p;
	struct kt_row *r;
	char *err = NULL;

	p->walked++;
	p->rows = kt_realloc(p->rows, (p->n + 1) * sizeof(*p->rows));
	r = &p->rows[p->n];
	memset(r, 0, sizeof(*r));
	if (kt_sidecar_read(path, &r->sc, &err)) {
		kt_strv_add(&p->errors, err);
		free(err);
		return 0;
	}
	r->path = kt_strdup(path);
	r->run = run_of(path);
	p->n++;
	return 0;
}

int kt_pool_load(struct kt_pool *p, const char *dir)
{
	struct load_ctx c = {p, strlen(dir)};
	int r = kt_sidecar_scan(dir, load_one, &c);

	return r < 0 ? r : 0;
}

void kt_pool_free(struct kt_pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		kt_sidecar_free(&p->rows[i].sc);
		free(p->rows[i].path);
		free(p->rows[i].run);
	}
	free(p->rows);
	kt_strv_free(&p->errors);
	memset(p, 0, sizeof(*p));
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row = kt_calloc(lb + 1, sizeof(*row)), r;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j], best = prev + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	r = row[lb];
	free(row);
	return r;
}

/* The closest run directory name under root, or NULL. */
static char *closest_run(const char *root, const char *arg)
{
	struct dirent *e;
	char *best = NULL;
	size_t bd = (size_t)-1, lim = strlen(arg) / 3 > 3 ? strlen(arg) / 3 : 3;
	DIR *d = opendir(root);

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t dist;

		if (e->d_name[0] == '.')
			continue;
		dist = levenshtein(arg, e->d_name);
		if (dist <= lim && dist < bd) {
			free(best);
			best = kt_strdup(e->d_name);
			bd = dist;
		}
	}
	closedir(d);
	return best;
}

char *kt_run_resolve(const char *root, const char *arg, char **err)
{
	char *p, *near;

	if (kt_is_dir(arg))
		return kt_strdup(arg);
	if (!strchr(arg, '/')) {
		p = kt_path_join(root, arg);
		if (kt_is_dir(p))
			return p;
		free(p);
	}
	near = strchr(arg, '/') ? NULL : closest_run(root, arg);
	*err = kt_asprintf("run '%s' not found (neither a directory nor a run under %s)%s%s%s",
			   arg, root, near ? "; did you mean '" : "", near ? near : "",
			   near ? "'?" : "");
	free(near);
	return NULL;
}

/* ---- dimensions and filters ----------------------------------------------------- */

static const char *const dim_names[KT_DIM__COUNT] = {
	"kernel",	  "scheduler",	   "topology",	 "work-type",
	"project-commit", "kernel-commit", "run-source", "flag",
};

const char *kt_dim_name(enum kt_dim d)
{
	return dim_names[d];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *nodirty(const char *c)
{
	char *s;

	if (!c)
		return NULL;
	s = kt_strdup(c);
	if (kt_endswith(s, "-dirty"))
		s[strlen(s) - 6] = 0;
	return s;
}

char *kt_row_dim(const struct kt_sidecar *sc, enum kt_dim d)
{
	switch (d) {
	case KT_DIM_KERNEL:
		return sc->kernel_version ? kt_strdup(sc->kernel_version) : NULL;
	case KT_DIM_SCHEDULER:
		return kt_strdup(sc->scheduler ? sc->scheduler : "eevdf");
	case KT_DIM_TOPOLOGY:
		return sc->topology ? kt_strdup(sc->topology) : NULL;
	case KT_DIM_WORK_TYPE:
		return sc->work_type ? kt_strdup(sc->work_type) : NULL;
	case KT_DIM_PROJECT_COMMIT:
		return nodirty(sc->project_commit);
	case KT_DIM_KERNEL_COMMIT:
		return nodirty(sc->kernel_commit);
	case KT_DIM_RUN_SOURCE:
		return sc->run_source ? kt_strdup(sc->run_source) : NULL;
	case KT_DIM_FLAGS: {
		struct sbuf sb = SBUF_INIT;
		char **v = kt_calloc(sc->active_flags.n + 1, sizeof(*v));

		for (size_t i = 0; i < sc->active_flags.n; i++)
			v[i] = sc->active_flags.v[i];
		qsort(v, sc->active_flags.n, sizeof(*v), cmp_str);
		for (size_t i = 0; i < sc->active_flags.n; i++)
			sb_addf(&sb, "%s%s", i ? "|" : "", v[i]);
		free(v);
		sb_adds(&sb, "");
		return sb_steal(&sb);
	}
	default:
		return NULL;
	}
}

/* --kernel 6.12 matches 6.12 and 6.12.*; anything else must match exactly. */
static bool kernel_match(const char *want, const char *have)
{
	size_t n = strlen(want);
	int dots = 0;

	for (const char *p = want; *p; p++)
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			dots = 99;
	if (dots == 1 && !strncmp(want, have, n) && have[n] == '.')
		return true;
	return !strcmp(want, have);
}

bool kt_filter_match(const struct kt_filter *f, const struct kt_sidecar *sc)
{
	for (int d = 0; d < KT_DIM__COUNT; d++) {
		const struct kt_strv *v = &f->v[d];
		bool ok = false;
		char *val;

		if (!v->n)
			continue;
		if (d == KT_DIM_FLAGS) {
			for (size_t i = 0; i < v->n; i++) {
				bool found = false;

				for (size_t j = 0; j < sc->active_flags.n; j++)
					found |= !strcmp(v->v[i], sc->active_flags.v[j]);
				if (!found)
					return false;
			}
			continue;
		}
		val = kt_row_dim(sc, d);
		for (size_t i = 0; val && i < v->n && !ok; i++) {
			if (d == KT_DIM_KERNEL)
				ok = kernel_match(v->v[i], val);
			else if (d == KT_DIM_PROJECT_COMMIT || d == KT_DIM_KERNEL_COMMIT)
				ok = !strcmp(v->v[i], val) ||
				     (kt_endswith(v->v[i], "-dirty") &&
				      !strncmp(v->v[i], val, strlen(v->v[i]) - 6));
			else
				ok = !strcmp(v->v[i], val);
		}
		free(val);
		if (!ok)
			return false;
	}
	return true;
}

void kt_filter_free(struct kt_filter *f)
{
	for (int d = 0; d < KT_DIM__COUNT; d++)
		kt_strv_free(&f->v[d]);
}
