/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test runner: the registry of KTSTR_TESTs/KTSTR_SCHEDULERs linked into a
 * binary, validation and resolution of a test into a run plan, the test
 * binary's host side (--list / --exact: boot a VM with itself as /init),
 * the guest "run" mode, verdicts and reports.
 *
 * Nothing here includes the scenario module, so host-side code can use
 * the VM headers freely.
 */
#ifndef KTSTR_RUNNER_H
#define KTSTR_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ktstr/test.h>

#include "check/check.h"
#include "topo/topo.h"

/* ---- registry ---------------------------------------------------------------- */

/* Tests / schedulers linked into this binary, in link order. */
const struct ktstr_test *const *kt_registry_tests(size_t *n);
const struct ktstr_scheduler *const *kt_registry_scheds(size_t *n);
const struct ktstr_test *kt_registry_find(const char *name);

/* ---- plan ------------------------------------------------------------------- */

#define KT_PLAN_MAX_ARGV (KTSTR_MAX_ARGS * (2 + KTSTR_MAX_FLAGS))

struct kt_plan {
	const struct ktstr_test *test;
	const struct ktstr_scheduler *sched; /* NULL: EEVDF */
	const char *sched_name;              /* "eevdf" when none */
	struct kt_topo_spec topo;            /* validated (kt_topo_spec_validate) */
	char topo_str[KT_TOPO_SPEC_STRLEN];  /* "1n2l4c1t" */
	int duration_s;
	int workers_per_cgroup;
	int memory_mb;
	int watchdog_timeout_s;
	/* Active flags (the test's required_flags, in scheduler declaration order). */
	const char *flags[KTSTR_MAX_FLAGS];
	size_t n_flags;
	/* sched_args + extra_sched_args + each active flag's args. */
	const char *sched_argv[KT_PLAN_MAX_ARGV];
	size_t n_sched_argv;
	struct kt_assert assert; /* default_checks ⊕ scheduler ⊕ test */
	bool variant;            /* a gauntlet variant (kt_plan_apply_variant) */
	uint32_t variant_flags;  /* its flags: bit i = the scheduler's i-th flag */
};

/*
 * Validate and resolve a test (what --list does for every test): name
 * non-empty without '/'; durations/workers/memory/watchdog > 0 when set;
 * topology (scheduler string, test string, then fields) valid by
 * kt_topo_spec_check, the VM engine's limits, so a topology that cannot
 * boot fails here and not at boot; constraints sane
 * (max 0 = none is fine, min > max rejected) and satisfied by the
 * topology; flags known to the scheduler, not both required and excluded,
 * and their `requires` declared. *err: "ktstr_test 'NAME': <why>".
 */
int kt_plan_resolve(const struct ktstr_test *t, struct kt_plan *p, char **err);

/*
 * Turn a resolved plan into a gauntlet variant's: the preset topology
 * (VM memory at least memory_floor_mb) and the active flags of `flags`
 * (bit i = the scheduler's i-th declared flag), scheduler argv rebuilt.
 */
int kt_plan_apply_variant(struct kt_plan *p, const struct kt_topo_spec *topo, uint32_t flags,
			  int memory_floor_mb, char **err);

/* ---- host fit (skip rule) ------------------------------------------------ */

/*
 * Can this host run a VM with `cpus` vCPUs? KVM: no more vCPUs than
 * host CPUs the process may use. TCG (all vCPUs share the host CPUs: on
 * one host thread, or one each under MTTCG): at most KT_TCG_MAX_VCPUS_PER_CPU
 * vCPUs per allowed host CPU and never more than KT_TCG_MAX_VCPUS, since
 * beyond that guest timer interrupts, RCU and the sched_ext watchdog see
 * vCPUs stalled for whole host time slices and report stalls that are
 * not the scheduler's. Returns true when it fits; otherwise *why says
 * why (malloc'd).
 */
#define KT_TCG_MAX_VCPUS_PER_CPU 8
#define KT_TCG_MAX_VCPUS 16
bool kt_host_fits(int cpus, bool kvm, int host_cpus, char **why);

/*
 * Host-side limit for a test VM: boot + scheduler attach + the scenario
 * (duration, scaled for TCG's slowdown with many vCPUs) + teardown.
 */
unsigned kt_vm_timeout_for(int duration_s, int cpus, bool kvm);

/* ---- names ------------------------------------------------------------------- */

/* "ktstr/{name}" or "ktstr/{name}/{label}". Caller frees. */
char *kt_test_full_name(const char *name, const char *kernel_label);
/*
 * Split a full name: accepts "ktstr/NAME", "ktstr/NAME/LABEL" or a bare
 * NAME. *name and *label (NULL when absent) are malloc'd.
 */
int kt_test_parse_full_name(const char *full, char **name, char **label);

/* ---- verdict and report ------------------------------------------------------ */

/*
 * What a run's sidecar needs beyond the verdict (src/runner/record.h fills
 * and frees it; the host's collectors feed it through its hooks).
 */
struct kt_run_record {
	json_t *facts;          /* the guest's FACT message (validated object), or NULL */
	bool have_sched_status; /* the scheduler died mid-test with this wait status */
	int sched_status;
	char *scx_console;      /* guest console lines with "sched_ext: " (bounded) */
	size_t scx_console_len;
	uint64_t result_ns;     /* when the test result arrived (0: never) */
	uint64_t vm_end_ns;     /* when the VM was gone (0: no VM) */
	unsigned progress;      /* KT_PROGRESS_* bits the guest reached */
	const char *accel;      /* "kvm" / "tcg", NULL: no VM */
	char *failure_dump;     /* path of the failure dump written for this run */
	json_t *sidecar_extra;  /* other modules' sidecar keys (kt_sidecar_set), or NULL */
};

/* What came back from a run (host side). */
struct kt_timeline;
struct json_t;
struct kt_outcome {
	struct kt_run_record rec;
	bool have_result;        /* an AssertResult arrived */
	struct kt_assert_result result;
	bool timed_out;
	bool crashed;            /* kernel panic / guest crash */
	char *crash_line;
	bool sched_died;
	bool sched_not_attached;
	char *sched_fail_reason; /* "scheduler 'x' not found ..." etc. */
	int exit_code;           /* KTSTR_EXIT, -1 unknown */
	char *sched_log;         /* scheduler output (may be NULL) */
	char *sched_dump;        /* sched_ext dump lines from the console (may be NULL) */
	char *console_tail;
	char *guest_out;         /* other guest output on COM2 (tail) */
	char *init_stage;        /* how far the guest got */
	char *infra_error;       /* VM could not run at all */
	char *watchdog_note;     /* what became of the sched_ext watchdog override */
	char *oom_line;          /* the guest kernel's first "Out of memory" console line */
	char *monitor_report;    /* its `--- monitor ---` block, or NULL */
	double wall_s;
	const struct kt_timeline *timeline; /* borrowed (runner/timeline.h); NULL: no VM */
	struct json_t *host_dumps; /* dumps the host asked the guest for (owned), NULL */
};

void kt_outcome_free(struct kt_outcome *o);
/* The run itself failed (before expect_err inverts it). */
bool kt_outcome_failed(const struct kt_outcome *o);
/* What went wrong, one line per failure (appended to d). */
struct sbuf;
void kt_failure_details(const struct kt_outcome *o, struct sbuf *d);

/*
 * Decide the verdict (expect_err inverts pass/fail; skips stay skips) and
 * build the report text (empty for a plain pass): the failure block
 *   <the scheduler's last log line, when it failed>
 *   BUG SUMMARY: <what went wrong, runner/failure.h>
 *   ktstr_test 'NAME' [sched=S] [topo=1n2l4c1t] failed:
 *     detail...
 *   failure dump: PATH
 *   --- stats --- / --- diagnostics --- / --- timeline --- /
 *   --- scheduler log --- (its copy of the dump cut out) / --- sched_ext dump ---
 * Guest text in it is terminal-safe (kt_term_safe). *report is malloc'd.
 */
enum kt_verdict kt_verdict_decide(const struct kt_plan *p, const struct kt_outcome *o,
				  bool verbose, char **report);

/* The last non-empty line of a scheduler log (the failure fingerprint), malloc'd or NULL. */
char *kt_log_fingerprint(const char *log);

/* ---- running ----------------------------------------------------------------- */

struct kt_run_opts_host {
	const char *kernel_label; /* from the full name, NULL = default kernel */
	/* A gauntlet variant (NULL: the test as declared): its full name, topology, flags. */
	const char *variant_name;
	const struct kt_topo_spec *variant_topo;
	uint32_t variant_flags;
	int variant_memory_mb;
	bool no_skip;             /* KTSTR_NO_SKIP_MODE / --no-skip-mode */
	bool direct;              /* KTSTR_CARGO_TEST_MODE or no runner */
	bool verbose;
};

/* Host: run one test (VM or host_only); prints and returns the verdict. */
enum kt_verdict kt_run_test_host(const struct ktstr_test *t, const struct kt_run_opts_host *o);

/* The guest's side, mode "run" (inside the VM), is src/guest/run.c. */

/*
 * Run a test's body here (guest, or host for host_only): topology from
 * sysfs, cgroups under cg_root (cgroup v2 at /sys/fs/cgroup), scenario
 * events to ev (may be NULL), progress to stage (may be NULL: "test body
 * running" / "test body done"). *out gets the merged result. Returns 0, or
 * a negative errno when the environment is unusable (out says why).
 */
#include <signal.h>
#include <sys/types.h>
struct kt_scn_events;
int kt_run_body_local(const struct kt_plan *plan, const char *cg_root, pid_t sched_pid,
		      const struct kt_scn_events *ev, volatile sig_atomic_t *stop,
		      void (*stage)(const char *what), struct kt_assert_result *out);

/* Scheduler lookup on the host (see struct ktstr_scheduler.binary). *err on failure. */
char *kt_sched_lookup(const char *binary, const char *sched_dir, bool direct, char **err);

#endif
