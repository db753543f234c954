/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Temporal assertions over a series of periodic captures (pure logic):
 * nondecreasing, strictly increasing, rate_within, steady_within,
 * converges_to (include/ktstr/bpfmap.h for what a test declares).
 *
 * A series holds one point per capture: its tag (periodic_000, ...), its
 * time since the scenario started, and the value or why it could not be
 * read. Values are long double: exact for every 64-bit integer on x86.
 *
 * Rules shared by every pattern:
 *  - a placeholder point (the capture did not happen) is skipped silently;
 *  - a point whose value could not be read is skipped and named in one
 *    note (a non-failing detail); it never counts as zero, and the
 *    patterns over pairs do not compute anything across it except
 *    nondecreasing/strictly_increasing, which compare its neighbours;
 *  - too few usable points to judge is Inconclusive (docs: never a
 *    silent pass);
 *  - bad parameters (lo > hi, a negative tolerance, NaN) fail the test
 *    with one "caller error" detail.
 * Failures carry KT_DETAIL_TEMPORAL and start with "LABEL (PATTERN): ".
 */
#ifndef KTSTR_BPFMAP_SERIES_H
#define KTSTR_BPFMAP_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ktstr/bpfmap.h>
#include <ktstr/check.h>

struct kt_series_point {
	char tag[24];	    /* "periodic_003" */
	uint64_t elapsed_ms; /* since the scenario started */
	bool placeholder;    /* the capture was not taken */
	char *err;	     /* why the value could not be read; NULL: v is valid */
	long double v;
};

struct kt_series {
	char *label; /* "nr_dispatched" */
	struct kt_series_point *p;
	size_t n;
};

/* Append a point (err: NULL or the reason, copied). */
void kt_series_add(struct kt_series *s, const char *tag, uint64_t elapsed_ms, long double v,
		   const char *err);
void kt_series_add_placeholder(struct kt_series *s, const char *tag, uint64_t elapsed_ms);
void kt_series_free(struct kt_series *s);

/* "nondecreasing", "rate_within", ... */
const char *kt_temporal_name(enum ktstr_temporal_kind k);

/* Evaluate pattern t over s; failures, inconclusive details and notes go into r. */
void kt_temporal_eval(const struct ktstr_temporal *t, const struct kt_series *s,
		      struct kt_assert_result *r);

#endif
