/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr public test API.
 *
 * A test file:
 *
 *   #include <ktstr.h>
 *
 *   KTSTR_SCHEDULER(scx_qmap, .binary = "scx_qmap");
 *
 *   KTSTR_TEST(qmap_two_cgroups, .scheduler = &scx_qmap, .llcs = 2, .cores = 2,
 *              .duration_s = 3)
 *   {
 *           return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"},
 *                                                     {.name = "cg_1"}));
 *   }
 *
 * built with `cc -static t.c $(pkg-config --cflags --libs --static ktstr)`
 * is a complete test binary: `./t --list`, `./t --exact ktstr/qmap_two_cgroups`,
 * `ktstr test ./t`.
 *
 * The body runs inside the VM (as part of PID 1) with the scheduler already
 * attached. It returns 0, or a negative errno for an error (which fails
 * the test). Results of the scenario helpers accumulate in the context:
 * several scenarios in one body are merged (all must pass).
 */
#ifndef KTSTR_H
#define KTSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ktstr/check.h>    /* struct kt_assert, struct kt_assert_result */
#include <ktstr/cpuset.h>   /* struct kt_cpuset and its helpers */
#include <ktstr/scenario.h> /* cgroup defs, ops, steps, cpuset specs */
#include <ktstr/test.h>     /* KTSTR_TEST, KTSTR_SCHEDULER */
#include <ktstr/topo.h>     /* struct kt_topo_spec */
#include <ktstr/work.h>     /* work types, worker reports */

struct kt_hwtopo; /* what the machine's sysfs reports (internal to libktstr) */
struct kt_ctx;    /* the scenario module's context (internal to libktstr) */

struct ktstr_ctx {
	const char *name;          /* the test's name */
	struct kt_topo_spec topology;   /* the VM topology the test declared (resolved) */
	int cpus;                       /* its CPU count */
	unsigned duration_s;
	unsigned workers_per_cgroup;
	pid_t sched_pid;           /* 0 when no sched_ext scheduler (EEVDF) */
	const struct kt_assert *assert; /* merged: defaults ⊕ scheduler ⊕ test */
	const struct kt_hwtopo *hwtopo; /* what sysfs reports (in the VM: matches topology) */
	const struct kt_ctx *scn;       /* the scenario module's context */
	struct kt_assert_result result; /* accumulated verdict */
	unsigned n_results;             /* scenario results merged into it */
};

/* Array + count for the helpers below: KTSTR_DEFS({...}, {...}). */
#define KTSTR_DEFS(...)                                                                          \
	(const struct kt_cgroup_def[]){__VA_ARGS__},                                             \
		sizeof((const struct kt_cgroup_def[]){__VA_ARGS__}) / sizeof(struct kt_cgroup_def)
#define KTSTR_STEPS(...)                                                                         \
	(const struct kt_step[]){__VA_ARGS__},                                                   \
		sizeof((const struct kt_step[]){__VA_ARGS__}) / sizeof(struct kt_step)

/* One step holding defs for the whole duration. */
int ktstr_execute_defs(struct ktstr_ctx *ctx, const struct kt_cgroup_def *defs, size_t n);
/* Steps in order (no backdrop), checks = ctx->assert. */
int ktstr_execute_steps(struct ktstr_ctx *ctx, const struct kt_step *steps, size_t n);
/* Full form: backdrop (NULL = none), steps, checks (NULL = ctx->assert). */
int ktstr_execute_scenario(struct ktstr_ctx *ctx, const struct kt_backdrop *bd,
			   const struct kt_step *steps, size_t n, const struct kt_assert *checks);
/* A canned scenario by name: steady, steady_llc, oversubscribed, cpuset_apply, ... */
int ktstr_run_canned(struct ktstr_ctx *ctx, const char *name);
/* A catalog scenario by name (cgroup_steady, ...). */
int ktstr_run_catalog(struct ktstr_ctx *ctx, const char *name);

/* Record a failure / a skip in the context's result. */
void ktstr_fail(struct ktstr_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ktstr_skip(struct ktstr_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Is the scheduler still running? (true without a scheduler) */
bool ktstr_sched_alive(const struct ktstr_ctx *ctx);

#endif
