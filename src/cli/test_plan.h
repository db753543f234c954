/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `ktstr test` runs: the tests and gauntlet variants its binaries
 * list (`BIN --list --json [--include-ignored]`), narrowed by -E/--exact,
 * a shard and a time budget, with cost estimates from earlier sidecars or
 * the model (src/runner/gauntlet.h). Kept apart from test.c, which runs
 * the jobs.
 */
#ifndef KTSTR_CLI_TEST_PLAN_H
#define KTSTR_CLI_TEST_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "runner/gauntlet.h"
#include "util/opt.h"

struct tp_item {
	char *bin;          /* realpath of the test binary */
	char *name;         /* full name */
	char *test, *sched, *topo, *preset, *profile, *kernel; /* preset/kernel may be NULL */
	char **flags;
	size_t n_flags;
	int cpus, duration_s;
	bool host_only, ignored;
	bool nokaslr; /* the test sets .kaslr = false */
	char *filtered;     /* the binary cannot run it here (reason) */
	const char *drop;   /* not run: "filter", "shard", "budget" (NULL = runs) */
	double cost;        /* estimated seconds */
	bool measured;      /* cost from an earlier sidecar */
};

struct tp_list {
	struct tp_item *v;
	size_t n;
};

/* Append the entries of one binary. 0, or -1 after an error line. */
int tp_list_binary(struct tp_list *l, const char *bin, bool gauntlet);
void tp_list_free(struct tp_list *l);

struct tp_select {
	const struct kt_optv *filters; /* -E substrings (any) */
	const struct kt_optv *exact;   /* --exact names (any) */
	const char *shard;             /* "K/N" or NULL */
	const char *budget;            /* seconds or NULL (then KTSTR_BUDGET_SECS) */
	double elapsed_s;              /* already spent by this run (listing) */
	unsigned jobs;
	bool verbose;
	double budget_s;               /* out: the budget in force, 0 = none */
};

/*
 * Estimate costs (sidecars under the runs root, else the model), then
 * apply filters, shard and budget, marking item->drop. Prints the budget's
 * selection (what runs, what was dropped, expected wall time, coverage)
 * to stderr; o->budget_s gets the budget in force. 0, or -1 after an
 * error line (a bad --shard or --budget).
 */
int tp_select(struct tp_list *l, struct tp_select *o);

/* `ktstr test --list`: what would run, one per line (with -v also the rest and why). */
void tp_print(const struct tp_list *l, bool verbose);

/*
 * A shard joins a run dir other shards write into: instead of the
 * pre-clear, remove only earlier sidecars of the items this shard runs
 * (same test, topology, scheduler and flags) from dir.
 */
void tp_remove_stale(const struct tp_list *l, const char *dir);

#endif
