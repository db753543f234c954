// SPDX-License-Identifier: GPL-2.0
/* AssertResult: constructors, merge, scenario stats, JSON (untrusted parse). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

#define MAX_DETAILS 4096
#define MAX_CGROUPS 4096
#define MAX_EXT_METRICS 4096
#define MAX_MESSAGE (64u << 10)

static const char *const kind_names[KT_DETAIL__COUNT] = {
    [KT_DETAIL_STARVED] = "Starved",
    [KT_DETAIL_STUCK] = "Stuck",
    [KT_DETAIL_UNFAIR] = "Unfair",
    [KT_DETAIL_ISOLATION] = "Isolation",
    [KT_DETAIL_BENCHMARK] = "Benchmark",
    [KT_DETAIL_MIGRATION] = "Migration",
    [KT_DETAIL_PAGE_LOCALITY] = "PageLocality",
    [KT_DETAIL_CROSS_NODE_MIGRATION] = "CrossNodeMigration",
    [KT_DETAIL_SLOW_TIER] = "SlowTier",
    [KT_DETAIL_MONITOR] = "Monitor",
    [KT_DETAIL_SCHEDULER_DIED] = "SchedulerDied",
    [KT_DETAIL_SKIP] = "Skip",
    [KT_DETAIL_OTHER] = "Other",
    [KT_DETAIL_TEMPORAL] = "Temporal",
};

const char *kt_detail_kind_name(enum kt_detail_kind k)
{
	return (unsigned)k < KT_DETAIL__COUNT ? kind_names[k] : "Other";
}

int kt_detail_kind_from_name(const char *s, enum kt_detail_kind *out)
{
	for (unsigned i = 0; s && i < KT_DETAIL__COUNT; i++) {
		if (!strcmp(s, kind_names[i])) {
			*out = (enum kt_detail_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- verdicts ------------------------------------------------------------ */

const char *kt_verdict_name(enum kt_verdict v)
{
	switch (v) {
	case KT_VERDICT_SKIP:
		return "SKIP";
	case KT_VERDICT_PASS:
		return "PASS";
	case KT_VERDICT_INCONCLUSIVE:
		return "INCONCLUSIVE";
	default:
		return "FAIL";
	}
}

int kt_verdict_exit_code(enum kt_verdict v)
{
	return v == KT_VERDICT_FAIL ? 1 : v == KT_VERDICT_INCONCLUSIVE ? 2 : 0;
}

enum kt_verdict kt_assert_result_verdict(const struct kt_assert_result *r)
{
	if (!r->passed)
		return r->inconclusive ? KT_VERDICT_INCONCLUSIVE : KT_VERDICT_FAIL;
	return r->skipped ? KT_VERDICT_SKIP : KT_VERDICT_PASS;
}

void kt_assert_result_set_verdict(struct kt_assert_result *r, enum kt_verdict v)
{
	r->passed = v == KT_VERDICT_PASS || v == KT_VERDICT_SKIP;
	r->skipped = v == KT_VERDICT_SKIP;
	r->inconclusive = v == KT_VERDICT_INCONCLUSIVE;
}

/* ---- constructors -------------------------------------------------------- */

void kt_assert_result_pass(struct kt_assert_result *r)
{
	memset(r, 0, sizeof(*r));
	r->passed = true;
}

static void add_detail(struct kt_assert_result *r, enum kt_detail_kind kind, const char *msg,
		       bool inconclusive)
{
	r->details = kt_realloc(r->details, (r->n_details + 1) * sizeof(*r->details));
	r->details[r->n_details].kind = kind;
	r->details[r->n_details].message = kt_strdup(msg ? msg : "");
	r->details[r->n_details].inconclusive = inconclusive;
	r->n_details++;
}

void kt_assert_result_add_detail(struct kt_assert_result *r, enum kt_detail_kind kind,
				 const char *msg)
{
	add_detail(r, kind, msg, false);
}

void kt_assert_result_skip(struct kt_assert_result *r, const char *reason)
{
	kt_assert_result_pass(r);
	r->skipped = true;
	kt_assert_result_add_detail(r, KT_DETAIL_SKIP, reason);
}

void kt_assert_result_fail(struct kt_assert_result *r, enum kt_detail_kind kind, const char *msg)
{
	memset(r, 0, sizeof(*r));
	kt_assert_result_add_detail(r, kind, msg);
}

/* Append a formatted detail and raise the verdict to at least v. */
static void add_vdetail(struct kt_assert_result *r, enum kt_detail_kind kind, enum kt_verdict v,
			const char *fmt, va_list ap)
{
	struct sbuf sb = SBUF_INIT;

	sb_vaddf(&sb, fmt, ap);
	add_detail(r, kind, sb_str(&sb), v == KT_VERDICT_INCONCLUSIVE);
	sb_free(&sb);
	kt_assert_result_set_verdict(r, kt_verdict_worst(kt_assert_result_verdict(r), v));
}

void kt_assert_result_add_failure(struct kt_assert_result *r, enum kt_detail_kind kind,
				  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_vdetail(r, kind, KT_VERDICT_FAIL, fmt, ap);
	va_end(ap);
}

size_t kt_assert_result_by_design(struct kt_assert_result *r, unsigned kinds, const char *why)
{
	size_t n = 0, failing = 0, undecided = 0;

	if (kt_assert_result_verdict(r) != KT_VERDICT_FAIL)
		return 0;
	for (size_t i = 0; i < r->n_details; i++) {
		struct kt_detail *d = &r->details[i];
		char *m;

		if (d->inconclusive) {
			undecided++;
			continue;
		}
		if ((unsigned)d->kind >= 32 || !(kinds & (1u << d->kind))) {
			failing++;
			continue;
		}
		m = kt_asprintf("expected by design (%s): %s", why, d->message);
		free(d->message);
		d->message = m;
		n++;
	}
	if (n && !failing)
		kt_assert_result_set_verdict(r, undecided ? KT_VERDICT_INCONCLUSIVE
							  : KT_VERDICT_PASS);
	return n;
}

void kt_assert_result_add_inconclusive(struct kt_assert_result *r, enum kt_detail_kind kind,
				       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_vdetail(r, kind, KT_VERDICT_INCONCLUSIVE, fmt, ap);
	va_end(ap);
}

static void stats_clear(struct kt_scenario_stats *s)
{
	free(s->cgroups);
	for (size_t i = 0; i < s->n_ext_metrics; i++)
		free(s->ext_metrics[i].name);
	free(s->ext_metrics);
	memset(s, 0, sizeof(*s));
}

void kt_assert_result_clear(struct kt_assert_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_details; i++)
		free(r->details[i].message);
	free(r->details);
	stats_clear(&r->stats);
	memset(r, 0, sizeof(*r));
}

/* ---- stats folding ------------------------------------------------------- */

static double lowest_nonzero(double a, double b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

static double maxd(double a, double b)
{
	return a > b ? a : b;
}

/* Fold the scalar totals/worsts of src into dst (cgroups/ext handled by callers). */
static void fold_scalars(struct kt_scenario_stats *d, const struct kt_scenario_stats *s)
{
	d->total_workers += s->total_workers;
	d->total_cpus += s->total_cpus;
	d->total_migrations += s->total_migrations;
	d->total_iterations += s->total_iterations;
	d->worst_spread = maxd(d->worst_spread, s->worst_spread);
	if (s->worst_gap_ms > d->worst_gap_ms) {
		d->worst_gap_ms = s->worst_gap_ms;
		d->worst_gap_cpu = s->worst_gap_cpu;
	}
	d->worst_migration_ratio = maxd(d->worst_migration_ratio, s->worst_migration_ratio);
	d->worst_p99_wake_latency_us =
	    maxd(d->worst_p99_wake_latency_us, s->worst_p99_wake_latency_us);
	d->worst_median_wake_latency_us =
	    maxd(d->worst_median_wake_latency_us, s->worst_median_wake_latency_us);
	d->worst_wake_latency_cv = maxd(d->worst_wake_latency_cv, s->worst_wake_latency_cv);
	d->worst_mean_run_delay_us = maxd(d->worst_mean_run_delay_us, s->worst_mean_run_delay_us);
	d->worst_run_delay_us = maxd(d->worst_run_delay_us, s->worst_run_delay_us);
	d->worst_page_locality = lowest_nonzero(d->worst_page_locality, s->worst_page_locality);
	d->worst_cross_node_migration_ratio =
	    maxd(d->worst_cross_node_migration_ratio, s->worst_cross_node_migration_ratio);
	d->worst_wake_latency_tail_ratio =
	    maxd(d->worst_wake_latency_tail_ratio, s->worst_wake_latency_tail_ratio);
	d->worst_iterations_per_worker =
	    lowest_nonzero(d->worst_iterations_per_worker, s->worst_iterations_per_worker);
}

void kt_scenario_stats_add_cgroup(struct kt_scenario_stats *s, const struct kt_cgroup_stats *cg)
{
	struct kt_scenario_stats one;

	s->cgroups = kt_realloc(s->cgroups, (s->n_cgroups + 1) * sizeof(*s->cgroups));
	s->cgroups[s->n_cgroups++] = *cg;

	memset(&one, 0, sizeof(one));
	one.total_workers = cg->num_workers;
	one.total_cpus = cg->num_cpus;
	one.total_migrations = cg->total_migrations;
	one.total_iterations = cg->total_iterations;
	one.worst_spread = cg->spread;
	one.worst_gap_ms = cg->max_gap_ms;
	one.worst_gap_cpu = cg->max_gap_cpu;
	one.worst_migration_ratio = cg->migration_ratio;
	one.worst_p99_wake_latency_us = cg->p99_wake_latency_us;
	one.worst_median_wake_latency_us = cg->median_wake_latency_us;
	one.worst_wake_latency_cv = cg->wake_latency_cv;
	one.worst_mean_run_delay_us = cg->mean_run_delay_us;
	one.worst_run_delay_us = cg->worst_run_delay_us;
	one.worst_page_locality = cg->page_locality;
	one.worst_cross_node_migration_ratio = cg->cross_node_migration_ratio;
	one.worst_wake_latency_tail_ratio = cg->wake_latency_tail_ratio;
	one.worst_iterations_per_worker = cg->iterations_per_worker;
	fold_scalars(s, &one);
}

void kt_assert_result_merge(struct kt_assert_result *dst, const struct kt_assert_result *src)
{
	struct kt_scenario_stats *d = &dst->stats;
	const struct kt_scenario_stats *s = &src->stats;

	kt_assert_result_set_verdict(dst, kt_verdict_worst(kt_assert_result_verdict(dst),
							   kt_assert_result_verdict(src)));
	for (size_t i = 0; i < src->n_details; i++)
		add_detail(dst, src->details[i].kind, src->details[i].message,
			   src->details[i].inconclusive);
	if (s->n_cgroups) {
		d->cgroups =
		    kt_realloc(d->cgroups, (d->n_cgroups + s->n_cgroups) * sizeof(*d->cgroups));
		memcpy(d->cgroups + d->n_cgroups, s->cgroups, s->n_cgroups * sizeof(*s->cgroups));
		d->n_cgroups += s->n_cgroups;
	}
	if (s->n_ext_metrics) {
		d->ext_metrics = kt_realloc(d->ext_metrics, (d->n_ext_metrics + s->n_ext_metrics) *
								sizeof(*d->ext_metrics));
		for (size_t i = 0; i < s->n_ext_metrics; i++) {
			d->ext_metrics[d->n_ext_metrics].name = kt_strdup(s->ext_metrics[i].name);
			d->ext_metrics[d->n_ext_metrics].value = s->ext_metrics[i].value;
			d->n_ext_metrics++;
		}
	}
	fold_scalars(d, s);
}

void kt_assert_result_copy(struct kt_assert_result *dst, const struct kt_assert_result *src)
{
	/* Merging into the identity element (passed, skipped, empty) copies src. */
	kt_assert_result_pass(dst);
	dst->skipped = true;
	kt_assert_result_merge(dst, src);
	dst->stats.worst_gap_cpu = src->stats.worst_gap_cpu;
}

void kt_scenario_stats_format(const struct kt_scenario_stats *s, struct sbuf *out)
{
	sb_addf(out,
		"%llu workers, %llu cpus, %llu migrations, worst_spread=%.1f%%, worst_gap=%llums\n",
		(unsigned long long)s->total_workers, (unsigned long long)s->total_cpus,
		(unsigned long long)s->total_migrations, s->worst_spread,
		(unsigned long long)s->worst_gap_ms);
	for (size_t i = 0; i < s->n_cgroups; i++) {
		const struct kt_cgroup_stats *c = &s->cgroups[i];

		sb_addf(out,
			"  cg%zu: workers=%llu cpus=%llu spread=%.1f%% gap=%llums migrations=%llu "
			"iter=%llu\n",
			i, (unsigned long long)c->num_workers, (unsigned long long)c->num_cpus,
			c->spread, (unsigned long long)c->max_gap_ms,
			(unsigned long long)c->total_migrations,
			(unsigned long long)c->total_iterations);
	}
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *ju64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *jf(double v)
{
	/* JSON has no NaN/Inf; never emit them. */
	return json_real(isfinite(v) ? v : 0.0);
}

/* Shared description of numeric fields (struct offset, JSON key, integer?). */
struct nfield {
	const char *name;
	size_t off;
	char type; /* 'u' u64, 'i' i64, 'd' double */
};

#define CU(n)                                                \
	{                                                    \
#n, offsetof(struct kt_cgroup_stats, n), 'u' \
	}
#define CI(n)                                                \
	{                                                    \
#n, offsetof(struct kt_cgroup_stats, n), 'i' \
	}
#define CD(n)                                                \
	{                                                    \
#n, offsetof(struct kt_cgroup_stats, n), 'd' \
	}
static const struct nfield cg_fields[] = {
    CU(num_workers),
    CU(num_cpus),
    CD(avg_off_cpu_pct),
    CD(min_off_cpu_pct),
    CD(max_off_cpu_pct),
    CD(spread),
    CD(min_wait_pct),
    CD(max_wait_pct),
    CU(max_gap_ms),
    CI(max_gap_cpu),
    CU(total_migrations),
    CD(migration_ratio),
    CD(p99_wake_latency_us),
    CD(median_wake_latency_us),
    CD(wake_latency_cv),
    CU(total_iterations),
    CD(mean_run_delay_us),
    CD(worst_run_delay_us),
    CD(page_locality),
    CD(cross_node_migration_ratio),
    CD(wake_latency_tail_ratio),
    CD(iterations_per_worker),
};

#define SU(n)                                                  \
	{                                                      \
#n, offsetof(struct kt_scenario_stats, n), 'u' \
	}
#define SI(n)                                                  \
	{                                                      \
#n, offsetof(struct kt_scenario_stats, n), 'i' \
	}
#define SD(n)                                                  \
	{                                                      \
#n, offsetof(struct kt_scenario_stats, n), 'd' \
	}
static const struct nfield sc_fields[] = {
    SU(total_workers),
    SU(total_cpus),
    SU(total_migrations),
    SD(worst_spread),
    SU(worst_gap_ms),
    SI(worst_gap_cpu),
    SD(worst_migration_ratio),
    SD(worst_p99_wake_latency_us),
    SD(worst_median_wake_latency_us),
    SD(worst_wake_latency_cv),
    SU(total_iterations),
    SD(worst_mean_run_delay_us),
    SD(worst_run_delay_us),
    SD(worst_page_locality),
    SD(worst_cross_node_migration_ratio),
    SD(worst_wake_latency_tail_ratio),
    SD(worst_iterations_per_worker),
};

static void put_fields(json_t *o, const void *base, const struct nfield *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)base + f[i].off;

		if (f[i].type == 'u')
			json_object_set_new(o, f[i].name, ju64(*(const uint64_t *)p));
		else if (f[i].type == 'i')
			json_object_set_new(o, f[i].name, json_integer(*(const int64_t *)p));
		else
			json_object_set_new(o, f[i].name, jf(*(const double *)p));
	}
}

static int get_fields(const json_t *o, void *base, const struct nfield *f, size_t n,
		      const char **bad)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(o, f[i].name);
		char *p = (char *)base + f[i].off;

		if (!v || json_is_null(v))
			continue;
		if (f[i].type == 'd') {
			if (!json_is_number(v))
				goto bad;
			*(double *)p = json_number_value(v);
			continue;
		}
		if (!json_is_integer(v))
			goto bad;
		if (f[i].type == 'u') {
			if (json_integer_value(v) < 0)
				goto bad;
			*(uint64_t *)p = (uint64_t)json_integer_value(v);
		} else {
			*(int64_t *)p = json_integer_value(v);
		}
		continue;
	bad:
		*bad = f[i].name;
		return -EINVAL;
	}
	return 0;
}

json_t *kt_assert_result_to_json(const struct kt_assert_result *r)
{
	json_t *o = json_object(), *det = json_array(), *st = json_object(), *cgs = json_array();
	const struct kt_scenario_stats *s = &r->stats;

	json_object_set_new(o, "passed", json_boolean(r->passed));
	json_object_set_new(o, "skipped", json_boolean(r->skipped));
	json_object_set_new(o, "inconclusive", json_boolean(r->inconclusive));
	for (size_t i = 0; i < r->n_details; i++) {
		json_t *d = json_pack("{s:s,s:s}", "kind", kt_detail_kind_name(r->details[i].kind),
				      "message",
				      r->details[i].message ? r->details[i].message : "");

		if (r->details[i].inconclusive)
			json_object_set_new(d, "inconclusive", json_true());
		json_array_append_new(det, d);
	}
	json_object_set_new(o, "details", det);
	for (size_t i = 0; i < s->n_cgroups; i++) {
		json_t *c = json_object();

		put_fields(c, &s->cgroups[i], cg_fields, KT_ARRAY_SIZE(cg_fields));
		json_array_append_new(cgs, c);
	}
	json_object_set_new(st, "cgroups", cgs);
	put_fields(st, s, sc_fields, KT_ARRAY_SIZE(sc_fields));
	if (s->n_ext_metrics) {
		json_t *ext = json_object();

		for (size_t i = 0; i < s->n_ext_metrics; i++)
			json_object_set_new(ext, s->ext_metrics[i].name,
					    jf(s->ext_metrics[i].value));
		json_object_set_new(st, "ext_metrics", ext);
	}
	json_object_set_new(o, "stats", st);
	return o;
}

char *kt_assert_result_to_string(const struct kt_assert_result *r)
{
	json_t *j = kt_assert_result_to_json(r);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(j);
	return s;
}

static int perr(char **err, const char *fmt, const char *what)
{
	if (err) {
		free(*err);
		*err = kt_asprintf(fmt, what);
	}
	return -EINVAL;
}

int kt_assert_result_from_json(const json_t *j, struct kt_assert_result *out, char **err)
{
	struct kt_assert_result r;
	const char *bad = NULL;
	json_t *v, *st;
	int rc = -EINVAL;

	memset(&r, 0, sizeof(r));
	if (!json_is_object(j))
		return perr(err, "assert result: %s is not a JSON object", "top level");
	v = json_object_get(j, "passed");
	if (!json_is_boolean(v))
		return perr(err, "assert result: '%s' missing or not a boolean", "passed");
	r.passed = json_is_true(v);
	v = json_object_get(j, "skipped");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return perr(err, "assert result: '%s' is not a boolean", "skipped");
		r.skipped = json_is_true(v);
	}
	v = json_object_get(j, "inconclusive");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return perr(err, "assert result: '%s' is not a boolean", "inconclusive");
		r.inconclusive = json_is_true(v);
	}
	/* At most one of the three is set (skipped goes with passed). */
	if (r.inconclusive && (r.passed || r.skipped))
		return perr(err, "assert result: '%s' together with passed or skipped",
			    "inconclusive");
	v = json_object_get(j, "details");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *e;

		if (!json_is_array(v) || json_array_size(v) > MAX_DETAILS) {
			perr(err, "assert result: '%s' is not an array of at most 4096 entries",
			     "details");
			goto out;
		}
		json_array_foreach(v, i, e)
		{
			enum kt_detail_kind k = KT_DETAIL_OTHER;
			json_t *kind, *msg, *inc = NULL;

			/* A bare string is accepted as an Other detail. */
			if (json_is_string(e)) {
				kind = NULL;
				msg = e;
			} else if (json_is_object(e)) {
				kind = json_object_get(e, "kind");
				msg = json_object_get(e, "message");
				inc = json_object_get(e, "inconclusive");
			} else {
				perr(err, "assert result: invalid entry in '%s'", "details");
				goto out;
			}
			if (!json_is_string(msg) || json_string_length(msg) > MAX_MESSAGE ||
			    (kind && !json_is_null(kind) &&
			     (!json_is_string(kind) ||
			      kt_detail_kind_from_name(json_string_value(kind), &k) < 0)) ||
			    (inc && !json_is_null(inc) && !json_is_boolean(inc))) {
				perr(err, "assert result: invalid entry in '%s'", "details");
				goto out;
			}
			/* Messages are text: embedded NULs end them. */
			add_detail(&r, k, json_string_value(msg), inc && json_is_true(inc));
		}
	}
	st = json_object_get(j, "stats");
	if (st && !json_is_null(st)) {
		if (!json_is_object(st)) {
			perr(err, "assert result: '%s' is not an object", "stats");
			goto out;
		}
		if (get_fields(st, &r.stats, sc_fields, KT_ARRAY_SIZE(sc_fields), &bad)) {
			perr(err, "assert result: invalid stats field '%s'", bad);
			goto out;
		}
		v = json_object_get(st, "cgroups");
		if (v && !json_is_null(v)) {
			size_t i;
			json_t *e;

			if (!json_is_array(v) || json_array_size(v) > MAX_CGROUPS) {
				perr(err, "assert result: '%s' is not an array of bounded size",
				     "stats.cgroups");
				goto out;
			}
			r.stats.cgroups =
			    kt_calloc(json_array_size(v) + 1, sizeof(*r.stats.cgroups));
			json_array_foreach(v, i, e)
			{
				if (!json_is_object(e) ||
				    get_fields(e, &r.stats.cgroups[i], cg_fields,
					       KT_ARRAY_SIZE(cg_fields), &bad)) {
					perr(err, "assert result: invalid entry in '%s'",
					     "stats.cgroups");
					goto out;
				}
				r.stats.n_cgroups = i + 1;
			}
		}
		v = json_object_get(st, "ext_metrics");
		if (v && !json_is_null(v)) {
			const char *key;
			json_t *e;

			if (!json_is_object(v) || json_object_size(v) > MAX_EXT_METRICS) {
				perr(err, "assert result: '%s' is not an object of bounded size",
				     "stats.ext_metrics");
				goto out;
			}
			r.stats.ext_metrics =
			    kt_calloc(json_object_size(v) + 1, sizeof(*r.stats.ext_metrics));
			json_object_foreach((json_t *)v, key, e)
			{
				if (!json_is_number(e) || strlen(key) > 4096) {
					perr(err, "assert result: invalid entry in '%s'",
					     "stats.ext_metrics");
					goto out;
				}
				r.stats.ext_metrics[r.stats.n_ext_metrics].name = kt_strdup(key);
				r.stats.ext_metrics[r.stats.n_ext_metrics].value =
				    json_number_value(e);
				r.stats.n_ext_metrics++;
			}
		}
	}
	*out = r;
	return 0;
out:
	kt_assert_result_clear(&r);
	return rc;
}

int kt_assert_result_parse(const char *text, size_t len, struct kt_assert_result *out, char **err)
{
	json_error_t jerr;
	json_t *j;
	int rc;

	if (!text || len > (64u << 20))
		return perr(err, "assert result: %s", "input too large");
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		if (err) {
			free(*err);
			*err = kt_asprintf("assert result: invalid JSON: %s", jerr.text);
		}
		return -EINVAL;
	}
	rc = kt_assert_result_from_json(j, out, err);
	json_decref(j);
	return rc;
}
