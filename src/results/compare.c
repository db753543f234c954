// SPDX-License-Identifier: GPL-2.0
/* The regression gate: thresholds (policy) and the A/B comparison. See stats.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util/util.h"

/* ---- policy ------------------------------------------------------------------------ */

/* {"metric": non-negative number, ...} with known metrics only. */
static int check_metric_map(json_t *m, const char *where, char **err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(m)) {
		*err = kt_asprintf("%s: not an object", where);
		return -EINVAL;
	}
	json_object_foreach(m, k, v) {
		if (!kt_metric_find(k)) {
			*err = kt_asprintf("%s: unknown metric '%s' (see `ktstr stats list-metrics`)",
					   where, k);
			return -EINVAL;
		}
		if (!json_is_number(v) || json_number_value(v) < 0 ||
		    !isfinite(json_number_value(v))) {
			*err = kt_asprintf("%s.%s: not a non-negative number", where, k);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_level(json_t *o, const char *where, bool top, char **err)
{
	const char *k;
	json_t *v;
	int r;

	if (!json_is_object(o)) {
		*err = kt_asprintf("%s: not an object", where);
		return -EINVAL;
	}
	json_object_foreach(o, k, v) {
		char *w = kt_asprintf("%s%s%s", where, *where ? "." : "", k);

		r = 0;
		if (!strcmp(k, "default_percent")) {
			if (!json_is_number(v) || json_number_value(v) < 0) {
				*err = kt_asprintf("%s: not a non-negative number", w);
				r = -EINVAL;
			}
		} else if (!strcmp(k, "per_metric_percent") || !strcmp(k, "per_metric_abs")) {
			r = check_metric_map(v, w, err);
		} else if (!top && !strcmp(k, "ignore")) {
			size_t i;
			json_t *e;

			if (!json_is_array(v)) {
				*err = kt_asprintf("%s: not an array of metric names", w);
				r = -EINVAL;
			}
			json_array_foreach(v, i, e)
				if (!r && (!json_is_string(e) || !kt_metric_find(json_string_value(e)))) {
					*err = kt_asprintf("%s: unknown metric %s", w,
							   json_is_string(e) ? json_string_value(e)
									     : "(not a string)");
					r = -EINVAL;
				}
		} else if (top && !strcmp(k, "per_test")) {
			const char *t;
			json_t *tv;

			if (!json_is_object(v)) {
				*err = kt_asprintf("%s: not an object", w);
				r = -EINVAL;
			}
			json_object_foreach(v, t, tv) {
				char *tw = kt_asprintf("per_test.%s", t);

				if (!r)
					r = check_level(tv, tw, false, err);
				free(tw);
			}
		} else {
			*err = kt_asprintf("%s: unknown field", w);
			r = -EINVAL;
		}
		free(w);
		if (r)
			return r;
	}
	return 0;
}

int kt_policy_parse(json_t *j, struct kt_policy *out, char **err)
{
	int r = check_level(j, "", true, err);

	out->j = r ? NULL : json_incref(j);
	return r;
}

int kt_policy_load(const char *path, struct kt_policy *out, char **err)
{
	json_error_t je;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	char *e = NULL;
	int r;

	if (!j) {
		*err = kt_asprintf("policy %s: line %d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	r = kt_policy_parse(j, out, &e);
	json_decref(j);
	if (r) {
		*err = kt_asprintf("policy %s: %s", path, e);
		free(e);
	}
	return r;
}

void kt_policy_percent(struct kt_policy *out, double pct)
{
	out->j = json_pack("{s:f}", "default_percent", pct);
}

void kt_policy_free(struct kt_policy *p)
{
	json_decref(p->j);
	p->j = NULL;
}

static bool get_num(json_t *o, const char *k1, const char *k2, double *out)
{
	json_t *v = json_object_get(o, k1);

	if (k2)
		v = json_object_get(v, k2);
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

bool kt_policy_thresholds(const struct kt_policy *p, const char *test,
			  const struct kt_metric_def *m, double *abs, double *rel)
{
	json_t *pt = p && p->j ? json_object_get(json_object_get(p->j, "per_test"), test) : NULL;
	json_t *top = p ? p->j : NULL, *ign = json_object_get(pt, "ignore"), *e;
	double pct;
	size_t i;

	json_array_foreach(ign, i, e)
		if (!strcmp(json_string_value(e), m->name))
			return false;
	*abs = m->abs;
	*rel = m->rel;
	if (!get_num(pt, "per_metric_abs", m->name, abs))
		get_num(top, "per_metric_abs", m->name, abs);
	if (get_num(pt, "per_metric_percent", m->name, &pct) ||
	    get_num(pt, "default_percent", NULL, &pct) ||
	    get_num(top, "per_metric_percent", m->name, &pct) ||
	    get_num(top, "default_percent", NULL, &pct))
		*rel = pct / 100.0;
	return true;
}

/* ---- compare ---------------------------------------------------------------------- */

struct group {
	char *key;     /* pairing key, '\x1f'-separated */
	char *display; /* non-empty parts joined with '/' */
	const char *test;
	size_t total, passed, failed, skipped;
	double *sum;   /* per metric, over passed rows that carry it */
	size_t *cnt;
};

struct side {
	struct group *g;
	size_t n;
};

static void side_free(struct side *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->g[i].key);
		free(s->g[i].display);
		free(s->g[i].sum);
		free(s->g[i].cnt);
	}
	free(s->g);
}

static struct group *side_find(const struct side *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->g[i].key, key))
			return &s->g[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted distinct values of dimension d over rows ("" for unknown). */
static void dim_values(struct kt_row *const *rows, size_t n, enum kt_dim d, struct kt_strv *out)
{
	struct kt_strv all = {0};

	for (size_t i = 0; i < n; i++) {
		char *v = kt_row_dim(&rows[i]->sc, d);

		kt_strv_add(&all, v ? v : "");
		free(v);
	}
	if (all.n)
		qsort(all.v, all.n, sizeof(*all.v), cmp_str);
	for (size_t i = 0; i < all.n; i++)
		if (!i || strcmp(all.v[i], all.v[i - 1]))
			kt_strv_add(out, all.v[i]);
	kt_strv_free(&all);
}

static bool strv_equal(const struct kt_strv *a, const struct kt_strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

static char *label_of(const struct kt_strv vals[KT_DIM__COUNT], const bool *slicing,
		      const char *bare)
{
	struct sbuf sb = SBUF_INIT;
	bool any = false;

	for (int d = 0; d < KT_DIM__COUNT; d++) {
		if (!slicing[d])
			continue;
		if (any)
			sb_adds(&sb, ":");
		any = true;
		if (!vals[d].n || vals[d].n > 3) {
			sb_adds(&sb, bare);
			continue;
		}
		for (size_t i = 0; i < vals[d].n; i++)
			sb_addf(&sb, "%s%s", i ? "|" : "", *vals[d].v[i] ? vals[d].v[i] : "unknown");
	}
	if (!any)
		sb_adds(&sb, bare);
	return sb_steal(&sb);
}

static bool filter_pass(const struct kt_sidecar *sc, const char *filter)
{
	struct sbuf sb = SBUF_INIT;
	bool ok;

	if (!filter || !*filter)
		return true;
	sb_addf(&sb, "%s %s %s %s ", sc->test_name, sc->topology ? sc->topology : "",
		sc->scheduler ? sc->scheduler : "", sc->work_type ? sc->work_type : "");
	for (size_t i = 0; i < sc->active_flags.n; i++)
		sb_addf(&sb, "%s%s", i ? "," : "", sc->active_flags.v[i]);
	ok = strstr(sb_str(&sb), filter) != NULL;
	sb_free(&sb);
	return ok;
}

static int build_side(struct kt_row *const *rows, size_t n, const bool *slicing,
		      const struct kt_cmp_opts *o, struct side *s, char **err)
{
	size_t nm;
	const struct kt_metric_def *m = kt_metrics(&nm);

	for (size_t i = 0; i < n; i++) {
		const struct kt_sidecar *sc = &rows[i]->sc;
		struct sbuf key = SBUF_INIT, disp = SBUF_INIT;
		struct group *g;

		if (!filter_pass(sc, o->filter))
			continue;
		sb_adds(&key, sc->test_name);
		sb_adds(&disp, sc->test_name);
		for (int d = 0; d < KT_DIM__COUNT; d++) {
			char *v;

			if (slicing[d])
				continue;
			v = kt_row_dim(sc, d);
			sb_addf(&key, "\x1f%s", v ? v : "");
			if (v && *v)
				sb_addf(&disp, "/%s", v);
			free(v);
		}
		g = side_find(s, sb_str(&key));
		if (g && o->no_average) {
			*err = kt_asprintf("duplicate pairing keys with --no-average: %s (%s)",
					   sb_str(&disp), rows[i]->path ? rows[i]->path : "");
			sb_free(&key);
			sb_free(&disp);
			return -EINVAL;
		}
		if (!g) {
			s->g = kt_realloc(s->g, (s->n + 1) * sizeof(*s->g));
			g = &s->g[s->n++];
			memset(g, 0, sizeof(*g));
			g->key = sb_steal(&key);
			g->display = sb_steal(&disp);
			g->test = sc->test_name;
			g->sum = kt_calloc(nm, sizeof(*g->sum));
			g->cnt = kt_calloc(nm, sizeof(*g->cnt));
		} else {
			sb_free(&key);
			sb_free(&disp);
		}
		g->total++;
		if (sc->skipped) {
			g->skipped++;
			continue;
		}
		if (!sc->passed) {
			g->failed++;
			continue;
		}
		g->passed++;
		for (size_t k = 0; k < nm; k++) {
			double v;

			if (kt_sidecar_metric(sc, &m[k], &v)) {
				g->sum[k] += v;
				g->cnt[k]++;
			}
		}
	}
	return 0;
}

static bool group_ok(const struct group *g)
{
	return !g->failed && !g->skipped && g->passed;
}

static int cmp_group(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

int kt_compare(struct kt_row *const *a, size_t na, struct kt_row *const *b, size_t nb,
	       const struct kt_cmp_opts *o, struct kt_cmp_result *out, char **err)
{
	struct kt_strv va[KT_DIM__COUNT] = {0}, vb[KT_DIM__COUNT] = {0};
	struct side sa = {0}, sb = {0};
	size_t nm;
	const struct kt_metric_def *m = kt_metrics(&nm);
	int r;

	memset(out, 0, sizeof(*out));
	if (!na || !nb) {
		*err = kt_asprintf("side %s has no sidecars", !na ? "A" : "B");
		return -EINVAL;
	}
	for (int d = 0; d < KT_DIM__COUNT; d++) {
		dim_values(a, na, d, &va[d]);
		dim_values(b, nb, d, &vb[d]);
		out->slicing[d] = !strv_equal(&va[d], &vb[d]);
		out->n_slicing += out->slicing[d];
	}
	out->label[0] = label_of(va, out->slicing, "A");
	out->label[1] = label_of(vb, out->slicing, "B");
	out->rows_in[0] = na;
	out->rows_in[1] = nb;
	r = build_side(a, na, out->slicing, o, &sa, err);
	if (!r)
		r = build_side(b, nb, out->slicing, o, &sb, err);
	if (r)
		goto done;
	if (sb.n)
		qsort(sb.g, sb.n, sizeof(*sb.g), cmp_group);
	out->groups[0] = sa.n;
	out->groups[1] = sb.n;
	for (size_t i = 0; i < sb.n; i++) {
		struct group *gb = &sb.g[i], *ga = side_find(&sa, gb->key);

		kt_strv_add(&out->pass_counts, "");
		free(out->pass_counts.v[out->pass_counts.n - 1]);
		out->pass_counts.v[out->pass_counts.n - 1] =
			ga ? kt_asprintf("%s: A=%zu/%zu B=%zu/%zu", gb->display, ga->passed,
					 ga->total, gb->passed, gb->total)
			   : kt_asprintf("%s: A=- B=%zu/%zu", gb->display, gb->passed, gb->total);
		if (!ga) {
			out->new_in_b++;
			continue;
		}
		if (!group_ok(ga) || !group_ok(gb)) {
			out->skipped_failed++;
			continue;
		}
		for (size_t k = 0; k < nm; k++) {
			struct kt_cmp_row row = {0};
			double abs_t, rel_t;

			if (!ga->cnt[k] || !gb->cnt[k])
				continue; /* not measured on both sides */
			row.a = ga->sum[k] / (double)ga->cnt[k];
			row.b = gb->sum[k] / (double)gb->cnt[k];
			if (fabs(row.a) < 1e-9 && fabs(row.b) < 1e-9)
				continue;
			if (!kt_policy_thresholds(o->policy, gb->test, &m[k], &abs_t, &rel_t))
				continue;
			row.m = &m[k];
			row.delta = row.b - row.a;
			row.rel = fabs(row.a) < 1e-9 ? 0 : fabs(row.delta / row.a);
			row.abs_thr = abs_t;
			row.rel_thr = rel_t;
			if (fabs(row.delta) >= abs_t && row.rel >= rel_t) {
				bool worse = m[k].higher_better ? row.delta < 0 : row.delta > 0;

				row.finding = worse ? KT_REGRESSION : KT_IMPROVEMENT;
				if (worse)
					out->regressions++;
				else
					out->improvements++;
			} else {
				out->unchanged++;
			}
			row.test = kt_strdup(gb->display);
			out->rows = kt_realloc(out->rows, (out->n + 1) * sizeof(*out->rows));
			out->rows[out->n++] = row;
		}
	}
	for (size_t i = 0; i < sa.n; i++)
		if (!side_find(&sb, sa.g[i].key)) {
			out->removed_from_a++;
			kt_strv_add(&out->pass_counts, "");
			free(out->pass_counts.v[out->pass_counts.n - 1]);
			out->pass_counts.v[out->pass_counts.n - 1] =
				kt_asprintf("%s: A=%zu/%zu B=-", sa.g[i].display, sa.g[i].passed,
					    sa.g[i].total);
		}
done:
	for (int d = 0; d < KT_DIM__COUNT; d++) {
		kt_strv_free(&va[d]);
		kt_strv_free(&vb[d]);
	}
	side_free(&sa);
	side_free(&sb);
	if (r)
		kt_cmp_result_free(out);
	return r;
}

void kt_cmp_result_free(struct kt_cmp_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->rows[i].test);
	free(r->rows);
	free(r->label[0]);
	free(r->label[1]);
	kt_strv_free(&r->pass_counts);
	memset(r, 0, sizeof(*r));
}

static const char *finding_name(enum kt_finding f)
{
	return f == KT_REGRESSION ? "regression" : f == KT_IMPROVEMENT ? "improvement" : "unchanged";
}

json_t *kt_cmp_result_to_json(const struct kt_cmp_result *r)
{
	json_t *o = json_object(), *sl = json_array(), *pair = json_array(), *rows = json_array();

	json_array_append_new(pair, json_string("test"));
	for (int d = 0; d < KT_DIM__COUNT; d++)
		json_array_append_new(r->slicing[d] ? sl : pair, json_string(kt_dim_name(d)));
	for (size_t i = 0; i < r->n; i++) {
		const struct kt_cmp_row *x = &r->rows[i];

		json_array_append_new(
			rows, json_pack("{s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:s,s:s}", "test", x->test,
					"metric", x->m->name, "a", x->a, "b", x->b, "delta",
					x->delta, "rel", x->rel, "abs_threshold", x->abs_thr,
					"rel_threshold", x->rel_thr, "verdict",
					finding_name(x->finding), "better",
					x->m->higher_better ? "higher" : "lower"));
	}
	json_object_set_new(o, "slicing", sl);
	json_object_set_new(o, "pairing", pair);
	json_object_set_new(o, "a", json_pack("{s:s,s:i,s:i}", "label", r->label[0], "sidecars",
					      (json_int_t)r->rows_in[0], "keys",
					      (json_int_t)r->groups[0]));
	json_object_set_new(o, "b", json_pack("{s:s,s:i,s:i}", "label", r->label[1], "sidecars",
					      (json_int_t)r->rows_in[1], "keys",
					      (json_int_t)r->groups[1]));
	json_object_set_new(o, "rows", rows);
	json_object_set_new(o, "summary",
			    json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "regressions",
				      (json_int_t)r->regressions, "improvements",
				      (json_int_t)r->improvements, "unchanged",
				      (json_int_t)r->unchanged, "skipped_failed",
				      (json_int_t)r->skipped_failed, "new_in_b",
				      (json_int_t)r->new_in_b, "removed_from_a",
				      (json_int_t)r->removed_from_a));
	return o;
}
