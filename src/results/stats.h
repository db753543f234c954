/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading many sidecars: pools of runs, the comparable metrics, and the
 * regression gate behind `ktstr stats compare`. Pure logic over parsed
 * sidecars (results.h is the one parser); only the pool loaders touch
 * the file system.
 *
 * Compare (a pool split into side A and side B):
 *  1. Slicing dimensions: those of kernel, scheduler, topology, work_type,
 *     project_commit, kernel_commit, run_source, flags whose sorted,
 *     distinct values differ between A and B.
 *  2. Pairing key: test name, then the value of every other dimension
 *     (commits without "-dirty", flags joined with '|').
 *  3. Rows with the same key on one side are averaged (arithmetic mean
 *     over rows that passed and were not skipped), unless no_average.
 *  4. Per paired key and metric (a metric missing on either side is not
 *     compared): delta = b - a, rel = |delta / a| (0 when a ~ 0);
 *     significant iff |delta| >= abs threshold AND rel >= rel threshold;
 *     a significant delta against the metric's direction is a
 *     regression, otherwise an improvement.
 */
#ifndef KTSTR_RESULTS_STATS_H
#define KTSTR_RESULTS_STATS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "results.h"

/* ---- metrics --------------------------------------------------------------------- */

struct kt_metric_def {
	const char *name;
	bool higher_better;
	double abs;        /* default absolute threshold, in the metric's unit */
	double rel;        /* default relative threshold, a fraction */
	const char *unit;  /* "" when none */
	const char *what;  /* one line: where the value comes from */
};

const struct kt_metric_def *kt_metrics(size_t *n);
const struct kt_metric_def *kt_metric_find(const char *name);
/* The metric's value in a sidecar; false when the sidecar does not carry it. */
bool kt_sidecar_metric(const struct kt_sidecar *sc, const struct kt_metric_def *m, double *out);

/* ---- pools ---------------------------------------------------------------------- */

struct kt_row {
	struct kt_sidecar sc;
	char *path;
	char *run; /* the run directory's name */
};

struct kt_pool {
	struct kt_row *rows;
	size_t n;
	size_t walked;          /* sidecar files seen */
	struct kt_strv errors;  /* "path: why" of files that did not parse */
};

/*
 * Add every sidecar in dir (and one level of subdirectories) to the pool.
 * Files that do not parse land in pool->errors. -ENOENT when dir is not a
 * directory.
 */
int kt_pool_load(struct kt_pool *p, const char *dir);
void kt_pool_free(struct kt_pool *p);

/*
 * A run argument: an existing directory, else a run directory's name
 * under root. *err says what exists instead (the closest name).
 */
char *kt_run_resolve(const char *root, const char *arg, char **err);

/* ---- dimensions and filters ------------------------------------------------------ */

enum kt_dim {
	KT_DIM_KERNEL,
	KT_DIM_SCHEDULER,
	KT_DIM_TOPOLOGY,
	KT_DIM_WORK_TYPE,
	KT_DIM_PROJECT_COMMIT,
	KT_DIM_KERNEL_COMMIT,
	KT_DIM_RUN_SOURCE,
	KT_DIM_FLAGS,
	KT_DIM__COUNT
};

/* "kernel", "scheduler", ... (the option names: --kernel, --a-kernel). */
const char *kt_dim_name(enum kt_dim d);
/* A row's value of a dimension (malloc'd; NULL when unknown). Flags: sorted, '|'-joined. */
char *kt_row_dim(const struct kt_sidecar *sc, enum kt_dim d);

/* Filters: per dimension, the accepted values (OR); flags: all must be active (AND). */
struct kt_filter {
	struct kt_strv v[KT_DIM__COUNT];
};
bool kt_filter_match(const struct kt_filter *f, const struct kt_sidecar *sc);
void kt_filter_free(struct kt_filter *f);

/* ---- policy ------------------------------------------------------------------------ */

/*
 * Thresholds. A JSON file:
 *   {"default_percent": N, "per_metric_percent": {"m": N},
 *    "per_metric_abs": {"m": X},
 *    "per_test": {"test": {"default_percent": N, "per_metric_percent": {..},
 *                          "per_metric_abs": {..}, "ignore": ["m", ...]}}}
 * Relative threshold of (test, metric): per_test[test].per_metric_percent[m],
 * per_test[test].default_percent, per_metric_percent[m], default_percent,
 * then the metric's default. Absolute: per_test[test].per_metric_abs[m],
 * per_metric_abs[m], then the default. Unknown keys, unknown metrics,
 * negative or non-numeric values are rejected.
 */
struct kt_policy {
	json_t *j; /* the validated document, NULL: defaults only */
};

int kt_policy_parse(json_t *j, struct kt_policy *out, char **err);
int kt_policy_load(const char *path, struct kt_policy *out, char **err);
/* --threshold PCT: the same as {"default_percent": PCT}. */
void kt_policy_percent(struct kt_policy *out, double pct);
void kt_policy_free(struct kt_policy *p);
/* Thresholds for (test, metric); false when the policy ignores it for that test. */
bool kt_policy_thresholds(const struct kt_policy *p, const char *test,
			  const struct kt_metric_def *m, double *abs, double *rel);

/* ---- compare ---------------------------------------------------------------------- */

enum kt_finding { KT_UNCHANGED, KT_IMPROVEMENT, KT_REGRESSION };

struct kt_cmp_row {
	char *test;   /* the pairing key's parts joined with '/' */
	const struct kt_metric_def *m;
	double a, b, delta, rel;
	double abs_thr, rel_thr;
	enum kt_finding finding;
};

struct kt_cmp_opts {
	const char *filter;     /* -E: substring of "test topology scheduler work_type flags" */
	bool no_average;
	const struct kt_policy *policy;
	bool all_dims_pair;     /* pair on every dimension even when it differs */
};

struct kt_cmp_result {
	bool slicing[KT_DIM__COUNT];
	size_t n_slicing;
	char *label[2];         /* the sides' labels (values of the slicing dimensions) */
	size_t rows_in[2];      /* sidecars on each side */
	size_t groups[2];       /* pairing keys on each side */
	struct kt_cmp_row *rows;
	size_t n;               /* every compared (key, metric), in key then registry order */
	size_t regressions, improvements, unchanged;
	size_t skipped_failed;  /* keys where either side failed or skipped */
	size_t new_in_b, removed_from_a;
	struct kt_strv pass_counts; /* "key: A=p/t B=p/t" */
};

/*
 * Compare side a against side b (rows from any pools; borrowed). -EINVAL
 * with *err for duplicate keys under no_average or an empty side.
 */
int kt_compare(struct kt_row *const *a, size_t na, struct kt_row *const *b, size_t nb,
	       const struct kt_cmp_opts *o, struct kt_cmp_result *out, char **err);
void kt_cmp_result_free(struct kt_cmp_result *r);
json_t *kt_cmp_result_to_json(const struct kt_cmp_result *r);

#endif
