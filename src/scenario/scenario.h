/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Scenarios: topology, cpuset specs, cgroups, steps and ops, the executor,
 * and the catalog of canned scenarios. The definitions a test writes
 * (struct kt_cgroup_def, kt_op, kt_step, ...) are public, in
 * <ktstr/scenario.h>; this header adds what runs them.
 *
 * Everything a scenario needs travels in a struct kt_ctx; there is no
 * hidden global state:
 *
 *   static const struct kt_cgroup_def defs[] = {
 *           { .name = "cg_0", .cpuset = KT_CPUSET_DISJOINT(0, 2) },
 *           { .name = "cg_1", .cpuset = KT_CPUSET_DISJOINT(1, 2),
 *             .works = { { .work.type = KT_WORK_MIXED, .num_workers = 4 } } },
 *   };
 *   struct kt_step step = { KT_DEFS(defs[0], defs[1]), .hold = KT_HOLD_FULL_V };
 *   kt_scenario_run(ctx, NULL, &step, 1, NULL, &result);
 */
#ifndef KTSTR_SCENARIO_H
#define KTSTR_SCENARIO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ktstr/scenario.h>

#include "check/check.h"
#include "topo/topo.h"
#include "util/util.h"
#include "workload/workload.h"

/* ---- cpuset specs ------------------------------------------------------------ */

/* Check a spec against a topology; -EINVAL with *err ("..."). */
int kt_cpuset_spec_validate(const struct kt_cpuset_spec *s, const struct kt_hwtopo *t, char **err);
/* Resolve (after validate). Out-of-range LLC/NUMA indexes clamp. */
void kt_cpuset_spec_resolve(const struct kt_cpuset_spec *s, const struct kt_hwtopo *t,
			    struct kt_cpuset *out);
/* "llc(0)", "disjoint(1/2)", ... for messages. */
void kt_cpuset_spec_describe(const struct kt_cpuset_spec *s, char *buf, size_t len);

/* Partitions used by the catalog (cgroups cg_0..cg_{n-1}). */
enum kt_partition {
	KT_PART_NONE = 0,
	KT_PART_LLC_ALIGNED,
	KT_PART_SPLIT_HALF,
	KT_PART_SPLIT_MISALIGNED,
	KT_PART_OVERLAP, /* frac */
	KT_PART_UNEVEN,  /* frac */
	KT_PART_HOLDBACK, /* frac */
};

/*
 * Fill sets[0..n) for the partition. Returns 0, or -ENOSPC when a set
 * would be empty ("not enough CPUs/LLCs": the scenario is skipped).
 * KT_PART_NONE: all sets empty (no cpusets), returns 0.
 * SplitHalf/SplitMisaligned/Uneven/Holdback always produce 2 sets (n must be 2).
 */
int kt_partition_sets(enum kt_partition p, double frac, int n, const struct kt_hwtopo *t,
		      struct kt_cpuset *sets);
const char *kt_partition_name(enum kt_partition p);

/* ---- affinity and memory policy ---------------------------------------------- */

/*
 * Resolve against the cgroup's cpuset (NULL or empty = none; pool = all
 * CPUs then). An empty result gives KT_AFF_NONE.
 */
void kt_affinity_resolve(const struct kt_affinity_spec *s, const struct kt_hwtopo *t,
			 const struct kt_cpuset *cpuset, struct kt_affinity *out);

/* §3.8 checks of a memory policy against a cgroup cpuset (NULL = none). */
int kt_mem_policy_validate(const struct kt_mem_policy *mp, const struct kt_hwtopo *t,
			   const struct kt_cpuset *cpuset, char **err);

/* ---- cgroup manager ---------------------------------------------------------- */

/*
 * A cgroup v2 subtree at .root (absolute path). Every write is bounded by
 * a 2 s timeout (a helper thread does the write; a wedged write returns
 * -ETIMEDOUT). Names are relative to root and may be nested ("a/b").
 */
struct kt_cgroup_mgr {
	char *fs;   /* cgroup2 mount ("/sys/fs/cgroup") */
	char *root; /* fs + "/ktstr-<pid>" etc. */
	bool has_cpu; /* the cpu controller is available */
};

int kt_cgmgr_init(struct kt_cgroup_mgr *m, const char *fs, const char *root, char **err);
/* Remove every child (deepest first, tasks drained to fs root) and root itself. */
int kt_cgmgr_destroy(struct kt_cgroup_mgr *m);
void kt_cgmgr_free(struct kt_cgroup_mgr *m);
char *kt_cgmgr_path(const struct kt_cgroup_mgr *m, const char *name);
/* mkdir -p name under root, enabling +cpuset (+cpu) in every ancestor. */
int kt_cgmgr_create(struct kt_cgroup_mgr *m, const char *name, char **err);
/* cpus == NULL or empty: clear (write ""). cpuset.mems is left empty (= the parent's). */
int kt_cgmgr_set_cpuset(struct kt_cgroup_mgr *m, const char *name, const struct kt_cpuset *cpus,
			char **err);
/* cpuset.cpus as written (empty: *set=false). */
int kt_cgmgr_get_cpuset(struct kt_cgroup_mgr *m, const char *name, struct kt_cpuset *out,
			bool *set);
/* Move pids (ESRCH skipped, EBUSY retried 3x 100 ms apart). */
int kt_cgmgr_move(struct kt_cgroup_mgr *m, const char *name, const pid_t *pids, size_t n,
		  char **err);
/* Drain tasks (to the fs root), remove children deepest first, rmdir. ENOENT = ok. */
int kt_cgmgr_remove(struct kt_cgroup_mgr *m, const char *name);
/* Remove everything below dir (absolute), keeping dir. Returns count removed or -errno. */
int kt_cgroup_remove_tree(const char *fs, const char *dir, bool keep_dir);
/* Bounded write of s to path (see kt_cg_write_timeout_ms). */
int kt_cg_write(const char *path, const char *s);
/* Limit kt_cg_write() waits: 2000 ms, 20000 ms when KTSTR_ACCEL=tcg. */
int kt_cg_write_timeout_ms(void);

/* ---- scenario model (types in <ktstr/scenario.h>) --------------------------- */

/* Returns "" if valid, else writes "step {i} hold validation: ..." into buf and returns -EINVAL. */
int kt_hold_validate(const struct kt_hold *h, size_t step, char *buf, size_t len);

/* ---- events (forwarded over the SHM ring by the test runner) ------------------ */

struct kt_stim {
	uint32_t elapsed_ms;
	uint16_t step_index;
	uint16_t op_count;
	uint32_t op_kinds; /* bit = enum kt_op_kind */
	uint16_t cgroup_count;
	uint16_t worker_count;
	uint64_t total_iterations;
};

struct kt_scn_events {
	void (*start)(void *arg);                           /* SCST */
	void (*stim)(void *arg, const struct kt_stim *s);   /* STIM, after each step's setup */
	void (*end)(void *arg, uint32_t elapsed_ms);        /* SCEN */
	/* A payload finished (WaitPayload/KillPayload): exit code or 128+signal. */
	void (*payload_exit)(void *arg, const char *name, const char *cgroup, int code);
	void *arg;
};

/* ---- context ------------------------------------------------------------------- */

struct kt_ctx {
	const struct kt_hwtopo *topo;
	struct kt_cgroup_mgr *cg;
	uint64_t duration_ms;
	unsigned workers_per_cgroup;
	pid_t sched_pid;   /* <= 0: no scheduler to watch */
	uint64_t settle_ms; /* 500 */
	const struct kt_work *work_type_override; /* NULL: none */
	struct kt_assert assert;                  /* merged defaults */
	const struct kt_scn_events *events;       /* NULL: none */
	volatile sig_atomic_t *stop;              /* non-zero: interrupt (teardown still runs) */
};

/* Reference defaults: duration 2 s, 2 workers per cgroup, settle 500 ms,
 * assert = kt_assert_default_checks(); topo/cg/events/stop left NULL. */
void kt_ctx_defaults(struct kt_ctx *ctx);
/* kill(pid,0): true when alive (EPERM counts as dead; pid <= 0 → true). */
bool kt_sched_alive(pid_t pid);
/* Sleep ms, in slices, returning early (true) when *ctx->stop is set. */
bool kt_ctx_sleep(const struct kt_ctx *ctx, uint64_t ms);

/*
 * Run backdrop + steps with checks (NULL = ctx->assert). Fills *out (always
 * initialised). Returns 0, or -EINVAL when the description itself is wrong
 * (hold validation), -EINTR when interrupted (out then says so).
 */
int kt_scenario_run(const struct kt_ctx *ctx, const struct kt_backdrop *bd,
		    const struct kt_step *steps, size_t n_steps, const struct kt_assert *checks,
		    struct kt_assert_result *out);
/* One step of defs with a full hold. */
int kt_scenario_run_defs(const struct kt_ctx *ctx, const struct kt_cgroup_def *defs, size_t n,
			 struct kt_assert_result *out);

/*
 * The work a group runs: override iff swappable, override present, and
 * (ungrouped override or n % group == 0).
 */
void kt_resolve_work_type(const struct kt_work *base, const struct kt_work *override,
			  bool swappable, unsigned n, struct kt_work *out);
/* Fill zero parameters of w with the type's defaults. */
void kt_work_fill_defaults(struct kt_work *w);

/* ---- scheduler flags and profiles ----------------------------------------------- */

/* The built-in catalog flags: llc, borrow, steal (requires llc), rebal, reject-pin, no-ctrl. */
#define KT_FLAG_LLC (1u << 0)
#define KT_FLAG_BORROW (1u << 1)
#define KT_FLAG_STEAL (1u << 2)
#define KT_FLAG_REBAL (1u << 3)
#define KT_FLAG_REJECT_PIN (1u << 4)
#define KT_FLAG_NO_CTRL (1u << 5)
#define KT_NR_FLAGS 6

const char *kt_flag_name(int bit);
/* "a,b" → mask; -EINVAL with *err naming the unknown flag. */
int kt_flags_parse(const char *s, uint32_t *mask, char **err);
/* "a+b" or "default". */
void kt_profile_name(uint32_t mask, char *buf, size_t len);
/* Every valid profile (required ∪ subset of optional, requires satisfied), declaration order. */
size_t kt_profiles(uint32_t required, uint32_t excluded, uint32_t *out, size_t max);
bool kt_profile_valid(uint32_t profile, uint32_t required, uint32_t excluded);

/* ---- catalog --------------------------------------------------------------------- */

struct kt_catalog_entry {
	const char *name;
	const char *category;
	const char *description;
	uint32_t required_flags;
	uint32_t excluded_flags;
	/* Fills *out (pass/fail/skip); returns like kt_scenario_run. */
	int (*run)(const struct kt_ctx *ctx, const struct kt_catalog_entry *e,
		   struct kt_assert_result *out);
	const void *data; /* entry-specific parameters */
};

const struct kt_catalog_entry *kt_catalog(size_t *n);
/* Valid category names, NULL-terminated. */
const char *const *kt_catalog_categories(void);
int kt_catalog_run(const struct kt_ctx *ctx, const struct kt_catalog_entry *e,
		   struct kt_assert_result *out);

/* The 14 canned scenarios (steady, steady_llc, ...). */
struct kt_canned {
	const char *name;
	int (*run)(const struct kt_ctx *ctx, struct kt_assert_result *out);
};
const struct kt_canned *kt_canned_scenarios(size_t *n);
const struct kt_canned *kt_canned_find(const char *name);

/*
 * Developer self-test of the isolation check: workers start in cg_0 with
 * cpuset disjoint(0/2), then leave the cgroup and pin themselves to the
 * other half. Expected to FAIL with "tid N ran on unexpected CPUs {..}".
 */
int kt_dev_cpuset_escape(const struct kt_ctx *ctx, struct kt_assert_result *out);

#endif
