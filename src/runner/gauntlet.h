/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Coverage at scale: gauntlet variants, budget selection, shards.
 *
 * A test expands into variants over the 24 topology presets and its flag
 * profiles (the power set of its scheduler's optional flags, the required
 * flags always on, every `requires` satisfied). A variant is named
 *   gauntlet/{test}/{preset}/{profile}[/{kernel_label}]
 * with profile "default" (no flag) or the active flags joined with '+' in
 * the scheduler's declaration order. Variants are opt-in (listed with
 * --ignored / --include-ignored); a preset outside the test's constraints
 * or beyond what the host can run (kt_host_fits) is filtered, with a reason.
 *
 * Budget: from candidates with an estimated cost, pick greedily the one
 * with the most new coverage (schedulers, presets, flags, profiles, tests,
 * their pairs, the variant itself) per second of cost, as long as the
 * expected wall time (list scheduling on `jobs` slots, longest first)
 * stays within the budget. Deterministic: ties go to the smaller name.
 *
 * Shards: a deterministic partition of a name list, by estimated cost
 * (longest first onto the least loaded shard) or by name hash.
 *
 * Everything here is pure (no I/O) except where stated.
 */
#ifndef KTSTR_RUNNER_GAUNTLET_H
#define KTSTR_RUNNER_GAUNTLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ktstr/test.h>

/* ---- presets ------------------------------------------------------------- */

struct kt_preset {
	const char *name;
	int numa_nodes, llcs, cores, threads; /* cores per LLC, threads per core */
	int memory_mb;                         /* floor for the VM (2048, max-cpu 4096) */
};

#define KT_NPRESETS 24
const struct kt_preset *kt_presets(size_t *n);
const struct kt_preset *kt_preset_find(const char *name);
int kt_preset_cpus(const struct kt_preset *p);

/*
 * The gauntlet's constraints for a test: each bound from the test, else
 * its scheduler, else the default (NUMA nodes 1..1, LLCs 1..12, CPUs
 * 1..192); requires_smt if either asks. Does the preset satisfy them?
 * false: *why (malloc'd) says which bound.
 */
bool kt_preset_allowed(const struct ktstr_test *t, const struct kt_preset *p, char **why);

/* ---- flag profiles ----------------------------------------------------- */

/* Bit i = the scheduler's i-th declared flag. */
typedef uint32_t kt_flagmask;

/*
 * The test's profiles, in subset order (mask of optional flags counting up
 * from 0): *out (malloc'd) gets the valid ones. With `rejected` non-NULL,
 * the subsets dropped for an unmet `requires` are stored there too (and
 * *nrej), for --list --verbose. A test without a scheduler (or whose
 * scheduler declares no flags) has one profile, "default". Returns 0 or
 * -EINVAL (an unknown flag name; the plan validation reports it).
 */
int kt_flag_profiles(const struct ktstr_test *t, kt_flagmask **out, size_t *n, kt_flagmask **rejected,
		size_t *nrej);
/* "default" or "a+b" (malloc'd). */
char *kt_flag_profile_name(const struct ktstr_scheduler *s, kt_flagmask m);
/* Why a rejected mask is invalid: "flag 'x' requires 'y'" (malloc'd). */
char *kt_flag_profile_why_invalid(const struct ktstr_scheduler *s, kt_flagmask m);
/*
 * Profile name -> mask for test t: each flag known, required ones present,
 * excluded ones absent, requires met. 0 or -EINVAL with *err.
 */
int kt_flag_profile_parse(const struct ktstr_test *t, const char *name, kt_flagmask *m, char **err);

/* ---- variant names ------------------------------------------------------ */

/*
 * A full test name split: "ktstr/NAME[/LABEL]" (preset and profile NULL)
 * or "gauntlet/NAME/PRESET/PROFILE[/LABEL]", or a bare NAME. Fields are
 * malloc'd (NULL when absent). -EINVAL on anything else.
 */
struct kt_name_parts {
	char *test, *preset, *profile, *label;
};
int kt_name_parse(const char *full, struct kt_name_parts *np);
void kt_name_parts_free(struct kt_name_parts *np);
/* "gauntlet/{test}/{preset}/{profile}[/{label}]" (malloc'd). */
char *kt_gauntlet_name(const char *test, const char *preset, const char *profile,
		       const char *label);

/* ---- listing entries --------------------------------------------------- */

/* One runnable (or filtered) entry of a test binary's list. */
struct kt_entry {
	char *name;                     /* full name */
	const struct ktstr_test *test;
	const struct kt_preset *preset; /* NULL: the base test */
	kt_flagmask flags;              /* active flags (base: the required ones) */
	char *profile;                  /* "default" / "a+b" */
	const char *label;              /* kernel label or NULL (borrowed) */
	char topo[32];                  /* "1n2l2c1t" */
	int cpus, llcs, numa_nodes, threads, duration_s, workers;
	bool ignored;                   /* not run unless asked (gauntlet variants) */
	char *filtered;                 /* why it cannot run here; NULL = runnable */
};

struct kt_host_caps {
	int cpus;   /* CPUs this process may use */
	bool kvm;   /* the VMs will run under KVM (else TCG) */
};

/*
 * Entries for tests v[0..n): for each test its base entry, then (with
 * gauntlet) every preset x profile variant, each times each kernel label
 * (labels NULL or nlabels < 2: one, unlabelled; host_only tests are never
 * labelled and have no variants). Filtered variants are included with
 * their reason only when with_filtered. Tests must have passed
 * kt_plan_resolve. *out is malloc'd; free with kt_entries_free.
 */
int kt_entries_build(const struct ktstr_test *const *v, size_t n, bool gauntlet,
		     const struct kt_host_caps *host, const char *const *labels, size_t nlabels,
		     bool with_filtered, struct kt_entry **out, size_t *nout);
void kt_entries_free(struct kt_entry *e, size_t n);

/* ---- cost, budget ------------------------------------------------------ */

/* A candidate of a budgeted selection (strings borrowed). */
struct kt_cand {
	const char *name;      /* full name (unique) */
	const char *test;      /* bare test name */
	const char *sched;     /* "eevdf" when none */
	const char *topo;      /* preset name, or the topology string of a base test */
	const char *profile;   /* "default" / "a+b" */
	const char *kernel;    /* label or NULL */
	const char *const *flags; /* active flag names */
	size_t n_flags;
	double cost;           /* estimated seconds */
	bool measured;         /* cost from an earlier sidecar */
	bool selected;         /* out */
};

/*
 * The cost model for a run with no history: boot and teardown grow with
 * the vCPUs (under TCG all of them share the host's CPUs), plus the
 * scenario's duration. Seconds.
 */
double kt_cost_model(int cpus, int duration_s, bool host_only, bool sched_ext, bool kvm,
		     int host_cpus);

/*
 * A budgeted run starts the longest first: idx[0..n) (indices into c)
 * sorted by cost, descending, ties in index order.
 */
void kt_budget_order(const struct kt_cand *c, size_t *idx, size_t n);
/*
 * Whether a job that needs `need` host CPUs (a TCG VM runs one host thread
 * per vCPU under MTTCG) may start now beside `running` jobs that use `used`
 * of the host's `cpus`: the first job always starts (one larger than the
 * host runs alone), the others only while they fit.
 */
bool kt_job_fits(unsigned running, unsigned used, unsigned need, unsigned cpus);

/*
 * Expected wall time of running c[i] with c[i].selected (or all when
 * all_) longest first (kt_budget_order) on `jobs` parallel slots, each
 * job going to the slot that frees first.
 */
double kt_makespan(const struct kt_cand *c, size_t n, unsigned jobs, bool all_);

struct kt_budget_report {
	size_t selected, total;
	double expected_s;            /* makespan of the selection */
	double budget_s;
	/* distinct values covered / present among candidates */
	size_t sched_cov, sched_all, topo_cov, topo_all, flag_cov, flag_all;
	size_t profile_cov, profile_all, test_cov, test_all;
	size_t measured;              /* candidates whose cost came from sidecars */
};

/*
 * Greedy selection (see the top of this file): sets c[i].selected.
 * 0, or -ENOMEM.
 */
int kt_budget_select(struct kt_cand *c, size_t n, double budget_s, unsigned jobs,
		     struct kt_budget_report *rep);

/* KTSTR_BUDGET_SECS-style value: > 0 and finite, else -EINVAL. */
int kt_budget_parse(const char *s, double *out);

/* ---- shards ------------------------------------------------------------ */

enum kt_shard_mode { KT_SHARD_COST, KT_SHARD_HASH };

struct kt_shard {
	unsigned k, n; /* shard k (1-based) of n */
	enum kt_shard_mode mode;
};

/* "K/N", "cost:K/N" or "hash:K/N" with 1 <= K <= N. -EINVAL with *err. */
int kt_shard_parse(const char *s, struct kt_shard *out, char **err);

/*
 * Which of c[0..n) belong to the shard: in[i] = true/false. By cost: the
 * candidates sorted by (cost desc, name), each onto the shard with the
 * least total so far (lowest index on ties); by hash: crc32(name) % n.
 * Every candidate belongs to exactly one of the n shards.
 */
void kt_shard_assign(const struct kt_cand *c, size_t n, const struct kt_shard *sh, bool *in);

#endif
