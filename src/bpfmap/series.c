// SPDX-License-Identifier: GPL-2.0
/* Temporal assertions over periodic captures (series.h). Pure: no I/O. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfmap/series.h"
#include "check/check.h"
#include "util/util.h"

#define CONVERGE_RUN 3 /* consecutive samples in the band */

void kt_series_add(struct kt_series *s, const char *tag, uint64_t elapsed_ms, long double v,
		   const char *err)
{
	struct kt_series_point *p;

	s->p = kt_realloc(s->p, (s->n + 1) * sizeof(*s->p));
	p = &s->p[s->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	p->elapsed_ms = elapsed_ms;
	p->v = v;
	p->err = err ? kt_strdup(err) : NULL;
}

void kt_series_add_placeholder(struct kt_series *s, const char *tag, uint64_t elapsed_ms)
{
	kt_series_add(s, tag, elapsed_ms, 0, NULL);
	s->p[s->n - 1].placeholder = true;
}

void kt_series_free(struct kt_series *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->p[i].err);
	free(s->p);
	free(s->label);
	memset(s, 0, sizeof(*s));
}

const char *kt_temporal_name(enum ktstr_temporal_kind k)
{
	switch (k) {
	case KTSTR_TEMPORAL_NONDECREASING:
		return "nondecreasing";
	case KTSTR_TEMPORAL_STRICTLY_INCREASING:
		return "strictly_increasing";
	case KTSTR_TEMPORAL_RATE_WITHIN:
		return "rate_within";
	case KTSTR_TEMPORAL_STEADY_WITHIN:
		return "steady_within";
	case KTSTR_TEMPORAL_CONVERGES_TO:
		return "converges_to";
	default:
		return "unknown";
	}
}

/* A value as text: integers exactly, others with 6 significant digits. */
static const char *num(char *buf, size_t len, long double v)
{
	if (isfinite(v) && v == floorl(v) && fabsl(v) < 1e20L)
		snprintf(buf, len, "%.0Lf", v);
	else
		snprintf(buf, len, "%.6Lg", v);
	return buf;
}

static bool usable(const struct kt_series_point *p)
{
	return !p->placeholder && !p->err;
}

/* One note naming the points that could not be read (nothing when none). */
static void note_gaps(const struct kt_series *s, const char *pattern, size_t from, size_t to,
		      struct kt_assert_result *r)
{
	struct sbuf sb = SBUF_INIT;
	size_t n = 0;

	for (size_t i = from; i < to; i++) {
		const struct kt_series_point *p = &s->p[i];

		if (p->placeholder || !p->err)
			continue;
		if (n < 4)
			sb_addf(&sb, "%s%s(+%llums): %s", n ? "; " : "", p->tag,
				(unsigned long long)p->elapsed_ms, p->err);
		n++;
	}
	if (n) {
		char *m = kt_asprintf("%s (%s): skipped %zu sample(s) that could not be read: %s%s",
				      s->label, pattern, n, sb_str(&sb), n > 4 ? "; ..." : "");

		kt_assert_result_add_detail(r, KT_DETAIL_TEMPORAL, m);
		free(m);
	}
	sb_free(&sb);
}

static size_t count_usable(const struct kt_series *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += usable(&s->p[i]);
	return n;
}

static void too_few(const struct kt_series *s, const char *pattern, size_t have, size_t need,
		    const char *what, struct kt_assert_result *r)
{
	kt_assert_result_add_inconclusive(r, KT_DETAIL_TEMPORAL,
					  "%s (%s): %zu usable sample(s)%s, need %zu to judge",
					  s->label, pattern, have, what, need);
}

static void eval_monotonic(const struct kt_series *s, bool strict, struct kt_assert_result *r)
{
	const char *pat = strict ? "strictly_increasing" : "nondecreasing";
	const struct kt_series_point *prev = NULL, *first_bad = NULL, *first_prev = NULL;
	size_t bad = 0;
	char a[48], b[48], more[48] = "";

	note_gaps(s, pat, 0, s->n, r);
	if (count_usable(s) < 2) {
		too_few(s, pat, count_usable(s), 2, "", r);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct kt_series_point *p = &s->p[i];

		if (!usable(p))
			continue;
		if (prev && (strict ? !(p->v > prev->v) : !(p->v >= prev->v))) {
			if (!bad++) {
				first_bad = p;
				first_prev = prev;
			}
		}
		prev = p;
	}
	if (!bad)
		return;
	if (bad > 1)
		snprintf(more, sizeof(more), " (%zu violations in all)", bad);
	kt_assert_result_add_failure(
	    r, KT_DETAIL_TEMPORAL,
	    "%s (%s): %s at sample %s (+%llums): value %s after prior value %s at sample %s "
	    "(+%llums)%s",
	    s->label, pat, strict ? "no increase" : "regression", first_bad->tag,
	    (unsigned long long)first_bad->elapsed_ms, num(a, sizeof(a), first_bad->v),
	    num(b, sizeof(b), first_prev->v), first_prev->tag,
	    (unsigned long long)first_prev->elapsed_ms,
	    more);
}

static void eval_rate(const struct kt_series *s, double lo, double hi,
		      struct kt_assert_result *r)
{
	const char *pat = "rate_within";
	size_t rates = 0, bad = 0;
	char a[48];

	if (isnan(lo) || isnan(hi) || lo > hi) {
		kt_assert_result_add_failure(r, KT_DETAIL_TEMPORAL,
					     "%s (%s): caller error: bounds [%g, %g] are not an "
					     "interval",
					     s->label, pat, lo, hi);
		return;
	}
	note_gaps(s, pat, 0, s->n, r);
	for (size_t i = 1; i < s->n; i++) {
		const struct kt_series_point *p0 = &s->p[i - 1], *p1 = &s->p[i];
		long double rate;

		/* no rate across a point that could not be read */
		if (!usable(p0) || !usable(p1))
			continue;
		if (p1->elapsed_ms <= p0->elapsed_ms) {
			kt_assert_result_add_inconclusive(
			    r, KT_DETAIL_TEMPORAL,
			    "%s (%s): samples %s and %s have no time between them (+%llums, "
			    "+%llums): no rate",
			    s->label, pat, p0->tag, p1->tag, (unsigned long long)p0->elapsed_ms,
			    (unsigned long long)p1->elapsed_ms);
			continue;
		}
		rate = (p1->v - p0->v) * 1000.0L / (long double)(p1->elapsed_ms - p0->elapsed_ms);
		if (!isfinite(rate)) {
			kt_assert_result_add_inconclusive(r, KT_DETAIL_TEMPORAL,
							  "%s (%s): rate between %s and %s is not a "
							  "finite number",
							  s->label, pat, p0->tag, p1->tag);
			continue;
		}
		rates++;
		if (rate < lo || rate > hi) {
			if (!bad++)
				kt_assert_result_add_failure(
				    r, KT_DETAIL_TEMPORAL,
				    "%s (%s): rate %s/s between sample %s (+%llums) and %s "
				    "(+%llums) is outside [%g, %g]/s",
				    s->label, pat, num(a, sizeof(a), rate), p0->tag,
				    (unsigned long long)p0->elapsed_ms, p1->tag,
				    (unsigned long long)p1->elapsed_ms, lo, hi);
		}
	}
	if (bad > 1) {
		char *m = kt_asprintf("%s (%s): %zu of %zu intervals outside [%g, %g]/s", s->label,
				      pat, bad, rates, lo, hi);

		kt_assert_result_add_detail(r, KT_DETAIL_TEMPORAL, m);
		free(m);
	}
	if (!rates && kt_assert_result_verdict(r) != KT_VERDICT_FAIL)
		too_few(s, pat, 0, 1, " pairs of adjacent readable samples (intervals)", r);
}

static void eval_steady(const struct kt_series *s, unsigned warmup_ms, double tol,
			struct kt_assert_result *r)
{
	const char *pat = "steady_within";
	long double sum = 0, mean, b0, b1, lo, hi;
	size_t n = 0, bad = 0;
	const struct kt_series_point *first = NULL;
	char a[48], c[48], d[48], e[48], more[64] = "";

	if (isnan(tol) || tol < 0) {
		kt_assert_result_add_failure(r, KT_DETAIL_TEMPORAL,
					     "%s (%s): caller error: tolerance %g is negative",
					     s->label, pat, tol);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (usable(&s->p[i]) && s->p[i].elapsed_ms >= warmup_ms) {
			sum += s->p[i].v;
			n++;
		}
	}
	note_gaps(s, pat, 0, s->n, r);
	if (n < 2) {
		snprintf(more, sizeof(more), " after the %ums warm-up", warmup_ms);
		too_few(s, pat, n, 2, more, r);
		return;
	}
	mean = sum / (long double)n;
	b0 = mean * (1.0L - tol);
	b1 = mean * (1.0L + tol);
	lo = b0 < b1 ? b0 : b1;
	hi = b0 < b1 ? b1 : b0;
	for (size_t i = 0; i < s->n; i++) {
		const struct kt_series_point *p = &s->p[i];

		if (!usable(p) || p->elapsed_ms < warmup_ms)
			continue;
		if (p->v < lo || p->v > hi) {
			if (!bad++)
				first = p;
		}
	}
	if (!bad)
		return;
	if (bad > 1)
		snprintf(more, sizeof(more), " (%zu of %zu samples outside)", bad, n);
	kt_assert_result_add_failure(
	    r, KT_DETAIL_TEMPORAL,
	    "%s (%s): sample %s (+%llums) value %s is outside [%s, %s] (mean %s +- %g%% after "
	    "%ums)%s",
	    s->label, pat, first->tag, (unsigned long long)first->elapsed_ms,
	    num(a, sizeof(a), first->v), num(c, sizeof(c), lo), num(d, sizeof(d), hi),
	    num(e, sizeof(e), mean), tol * 100.0, warmup_ms,
	    more);
}

static void eval_converges(const struct kt_series *s, double target, double tol,
			   unsigned deadline_ms, struct kt_assert_result *r)
{
	const char *pat = "converges_to";
	size_t n = 0, run = 0, end = s->n;
	const struct kt_series_point *last = NULL;
	char a[48], dl[48] = "the last sample", by[64];

	if (isnan(tol) || tol < 0 || isnan(target)) {
		kt_assert_result_add_failure(r, KT_DETAIL_TEMPORAL,
					     "%s (%s): caller error: target %g tolerance %g",
					     s->label, pat, target, tol);
		return;
	}
	if (deadline_ms) {
		snprintf(dl, sizeof(dl), "+%ums", deadline_ms);
		for (end = 0; end < s->n && s->p[end].elapsed_ms <= deadline_ms; end++)
			;
	}
	note_gaps(s, pat, 0, end, r);
	for (size_t i = 0; i < end; i++) {
		const struct kt_series_point *p = &s->p[i];

		if (p->placeholder)
			continue;
		if (p->err) {
			run = 0; /* an unreadable sample breaks a run */
			continue;
		}
		n++;
		last = p;
		if (fabsl(p->v - (long double)target) <= (long double)tol) {
			if (++run >= CONVERGE_RUN)
				return;
		} else {
			run = 0;
		}
	}
	if (n < CONVERGE_RUN) {
		snprintf(by, sizeof(by), " by %s", dl);
		too_few(s, pat, n, CONVERGE_RUN, by, r);
		return;
	}
	kt_assert_result_add_failure(r, KT_DETAIL_TEMPORAL,
				     "%s (%s): no %d consecutive samples within %g +- %g by %s "
				     "(last value %s at sample %s (+%llums))",
				     s->label, pat, CONVERGE_RUN, target, tol, dl,
				     num(a, sizeof(a), last->v), last->tag,
				     (unsigned long long)last->elapsed_ms);
}

void kt_temporal_eval(const struct ktstr_temporal *t, const struct kt_series *s,
		      struct kt_assert_result *r)
{
	switch (t->kind) {
	case KTSTR_TEMPORAL_NONDECREASING:
	case KTSTR_TEMPORAL_STRICTLY_INCREASING:
		eval_monotonic(s, t->kind == KTSTR_TEMPORAL_STRICTLY_INCREASING, r);
		break;
	case KTSTR_TEMPORAL_RATE_WITHIN:
		eval_rate(s, t->lo, t->hi, r);
		break;
	case KTSTR_TEMPORAL_STEADY_WITHIN:
		eval_steady(s, t->warmup_ms, t->tol, r);
		break;
	case KTSTR_TEMPORAL_CONVERGES_TO:
		eval_converges(s, t->target, t->tol, t->deadline_ms, r);
		break;
	default:
		kt_assert_result_add_failure(r, KT_DETAIL_TEMPORAL,
					     "%s: caller error: unknown temporal pattern %d",
					     s->label, (int)t->kind);
		break;
	}
}
