/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Scenario definitions: cgroups with cpuset specs and groups of workers,
 * ops that change them while a scenario runs, and steps with their hold
 * times. Part of the public test API (<ktstr.h>); plain structs meant for
 * designated initialisers, zero values mean "default" wherever possible:
 *
 *   KTSTR_DEFS({ .name = "cg_0", .cpuset = KT_CPUSET_DISJOINT(0, 2) },
 *              { .name = "cg_1", .cpuset = KT_CPUSET_DISJOINT(1, 2),
 *                .works = { { .work.type = KT_WORK_MIXED, .num_workers = 4 } } })
 *
 * The executor, the cgroup manager and the catalog live in src/scenario.
 */
#ifndef KTSTR_PUBLIC_SCENARIO_H
#define KTSTR_PUBLIC_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ktstr/cpuset.h>
#include <ktstr/work.h>

/* ---- cpuset specs ------------------------------------------------------------ */

enum kt_cpuset_spec_kind {
	KT_CS_NONE = 0, /* no cpuset */
	KT_CS_LLC,      /* .index: LLC index */
	KT_CS_NUMA,     /* .index: node index */
	KT_CS_RANGE,    /* usable[len*start .. len*end) */
	KT_CS_DISJOINT, /* .index of .of equal chunks of usable */
	KT_CS_OVERLAP,  /* like DISJOINT, widened by chunk*frac on both sides */
	KT_CS_EXACT,    /* .exact */
};

struct kt_cpuset_spec {
	enum kt_cpuset_spec_kind kind;
	int index;
	int of;
	double start, end, frac;
	struct kt_cpuset exact;
};

#define KT_CPUSET_LLC(i) ((struct kt_cpuset_spec){.kind = KT_CS_LLC, .index = (i)})
#define KT_CPUSET_NUMA(n) ((struct kt_cpuset_spec){.kind = KT_CS_NUMA, .index = (n)})
#define KT_CPUSET_RANGE(s, e) ((struct kt_cpuset_spec){.kind = KT_CS_RANGE, .start = (s), .end = (e)})
#define KT_CPUSET_DISJOINT(i, n) ((struct kt_cpuset_spec){.kind = KT_CS_DISJOINT, .index = (i), .of = (n)})
#define KT_CPUSET_OVERLAP(i, n, f)                                                               \
	((struct kt_cpuset_spec){.kind = KT_CS_OVERLAP, .index = (i), .of = (n), .frac = (f)})

/* ---- affinity ------------------------------------------------------------------ */

enum kt_affinity_spec_kind {
	KT_AFFS_INHERIT = 0,
	KT_AFFS_RANDOM_SUBSET,
	KT_AFFS_LLC_ALIGNED,
	KT_AFFS_CROSS_CGROUP,
	KT_AFFS_SINGLE_CPU,
	KT_AFFS_EXACT,
};

struct kt_affinity_spec {
	enum kt_affinity_spec_kind kind;
	struct kt_cpuset exact; /* KT_AFFS_EXACT */
};

/* ---- scenario model ---------------------------------------------------------- */

/* One concurrent group of workers inside a cgroup. */
struct kt_cg_work {
	struct kt_work work;          /* zero parameters = the type's defaults */
	struct kt_sched_policy sched; /* zero = Normal */
	unsigned num_workers;         /* 0 = ctx->workers_per_cgroup */
	struct kt_affinity_spec affinity;
	struct kt_mem_policy mem;
};

#define KT_MAX_WORKS 8

struct kt_cgroup_def {
	const char *name; /* NULL = "cg_0"; nested "a/b" allowed */
	struct kt_cpuset_spec cpuset;
	struct kt_cg_work works[KT_MAX_WORKS];
	unsigned n_works; /* 0 = 1: works[0] (zero = default CpuSpin) */
	bool swappable;   /* --work-type may replace the work type */
};

enum kt_op_kind {
	KT_OP_ADD_CGROUP,    /* .cgroup */
	KT_OP_REMOVE_CGROUP, /* .cgroup */
	KT_OP_SET_CPUSET,    /* .cgroup, .cpus */
	KT_OP_CLEAR_CPUSET,  /* .cgroup */
	KT_OP_SWAP_CPUSETS,  /* .cgroup, .cgroup2 */
	KT_OP_SPAWN,         /* .cgroup, .work */
	KT_OP_STOP_CGROUP,   /* .cgroup */
	KT_OP_SET_AFFINITY,  /* .cgroup, .affinity */
	KT_OP_SPAWN_HOST,    /* .work (stays in the caller's cgroup) */
	KT_OP_MOVE_ALL_TASKS, /* .cgroup (from), .cgroup2 (to) */
	KT_OP_RUN_PAYLOAD,   /* .payload (binary, PATH lookup), .args, optional .cgroup */
	KT_OP_WAIT_PAYLOAD,  /* .payload name, optional .cgroup */
	KT_OP_KILL_PAYLOAD,  /* .payload name, optional .cgroup */
	KT_OP__COUNT
};

const char *kt_op_name(enum kt_op_kind k);

#define KT_MAX_PAYLOAD_ARGS 15

struct kt_op {
	enum kt_op_kind kind;
	const char *cgroup;
	const char *cgroup2;
	struct kt_cpuset_spec cpus;
	struct kt_cg_work work;
	struct kt_affinity_spec affinity;
	const char *payload;
	const char *args[KT_MAX_PAYLOAD_ARGS + 1]; /* NULL-terminated */
};

enum kt_hold_kind {
	KT_HOLD_FULL = 0, /* Frac(1.0) */
	KT_HOLD_FRAC,
	KT_HOLD_FIXED,
	KT_HOLD_LOOP, /* repeat the ops every .ms until the scenario's duration is over */
};

struct kt_hold {
	enum kt_hold_kind kind;
	double frac;
	uint64_t ms; /* FIXED: duration; LOOP: interval */
};

#define KT_HOLD_FRAC_V(f) ((struct kt_hold){.kind = KT_HOLD_FRAC, .frac = (f)})
#define KT_HOLD_FIXED_V(m) ((struct kt_hold){.kind = KT_HOLD_FIXED, .ms = (m)})
#define KT_HOLD_LOOP_V(m) ((struct kt_hold){.kind = KT_HOLD_LOOP, .ms = (m)})
#define KT_HOLD_FULL_V ((struct kt_hold){.kind = KT_HOLD_FULL})

/* The scenario module's run context (internal to libktstr; a factory receives it). */
struct kt_ctx;

struct kt_step {
	const struct kt_cgroup_def *defs;
	size_t n_defs;
	/* Alternative to defs: build them from the context (malloc'd array, freed by the executor). */
	int (*factory)(const struct kt_ctx *ctx, struct kt_cgroup_def **defs, size_t *n);
	const struct kt_op *ops;
	size_t n_ops;
	struct kt_hold hold;
};

/* Entities that persist across all steps. */
struct kt_backdrop {
	const struct kt_cgroup_def *defs;
	size_t n_defs;
	const struct kt_op *ops;
	size_t n_ops;
};

/* Array literal helpers for designated initialisers. */
#define KT_DEFS(...)                                                                             \
	.defs = (const struct kt_cgroup_def[]){__VA_ARGS__},                                     \
	.n_defs = sizeof((const struct kt_cgroup_def[]){__VA_ARGS__}) / sizeof(struct kt_cgroup_def)
#define KT_OPS(...)                                                                              \
	.ops = (const struct kt_op[]){__VA_ARGS__},                                              \
	.n_ops = sizeof((const struct kt_op[]){__VA_ARGS__}) / sizeof(struct kt_op)

#endif
