/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Worker processes running the work types of <ktstr/work.h>.
 *
 * A workload is a group of forked worker processes that all run the same
 * work type. The life cycle is:
 *
 *   kt_workload_spawn()    fork the workers; they block on a start pipe
 *   kt_workload_pids()     move the PIDs into cgroups, etc.
 *   kt_workload_start()    release them
 *   ...                    kt_workload_snapshot_iterations(), kt_workload_set_affinity()
 *   kt_workload_stop_and_collect()  SIGUSR1, read one JSON report per worker
 *   kt_workload_destroy()  SIGKILL the process groups, reap, free
 *
 * Workers are processes (cgroups act on PIDs). Each worker is the leader
 * of its own process group, dies with its parent (PR_SET_PDEATHSIG) and
 * exits by itself if it is not started within 30 s. Reports come back over
 * a pipe as JSON and are treated as untrusted input: a worker that died,
 * timed out or sent garbage yields a sentinel report (completed=false,
 * exit_info set).
 *
 * Caveats for callers: PR_SET_PDEATHSIG fires when the *thread* that
 * forked exits, so spawn from a thread that outlives the workload. If the
 * process ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT, as a PID 1 might),
 * spawn restores SIG_DFL so workers can be waited for and their exit
 * status reported. Workers reap only their own PIDs (never waitpid(-1)).
 * A handle is not thread-safe.
 */
#ifndef KTSTR_WORKLOAD_H
#define KTSTR_WORKLOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <ktstr/work.h>

#include "util/util.h"

/* ---- resolved affinity, workload config ----------------------------------- */

enum kt_affinity_kind {
	KT_AFF_NONE,	   /* inherit */
	KT_AFF_FIXED,	   /* every worker pinned to .set */
	KT_AFF_RANDOM,	   /* each worker: random .count CPUs out of .set (sampled at spawn) */
	KT_AFF_SINGLE_CPU, /* every worker pinned to .cpu */
};

struct kt_affinity {
	enum kt_affinity_kind kind;
	struct kt_cpuset set; /* FIXED: the mask; RANDOM: the pool */
	unsigned count;	      /* RANDOM: subset size (>= 1) */
	int cpu;	      /* SINGLE_CPU */
};

/* The set-variants (Bind/Preferred/Interleave/PreferredMany/WeightedInterleave). */
bool kt_mem_policy_has_nodes(const struct kt_mem_policy *mp);
/* Kernel mode number (MPOL_*), or -1 for Default. */
int kt_mem_policy_mode(const struct kt_mem_policy *mp);

struct kt_workload_config {
	struct kt_work work;
	struct kt_sched_policy sched;
	unsigned num_workers;
	struct kt_affinity affinity;
	struct kt_mem_policy mem;
};

/* num_workers=1, no affinity, CpuSpin defaults, Normal, Default mempolicy. */
void kt_workload_config_init(struct kt_workload_config *cfg);

/* ---- worker reports (the struct is in <ktstr/work.h>) ---------------------- */

/* Free the arrays inside a report (not the struct itself); zeroes it. */
void kt_worker_report_clear(struct kt_worker_report *r);
void kt_worker_reports_free(struct kt_worker_report *r, size_t n);
/* Deep copy. */
void kt_worker_report_copy(struct kt_worker_report *dst, const struct kt_worker_report *src);
/* Sentinel for a worker without a usable report. */
void kt_worker_report_sentinel(struct kt_worker_report *r, pid_t tid, struct kt_exit_info info);

/* JSON with the reference keys (§4.4). New reference; NULL only on OOM. */
json_t *kt_worker_report_to_json(const struct kt_worker_report *r);
/* Compact JSON text (malloc'd). */
char *kt_worker_report_to_string(const struct kt_worker_report *r);
/*
 * Parse untrusted JSON. Strict about types and ranges, lenient about
 * missing optional keys (numa_pages, exit_info, is_messenger, arrays).
 * Arrays are capped (migrations at KT_MAX_MIGRATIONS, wake samples at
 * KT_MAX_WAKE_SAMPLES, cpus < KT_MAX_CPUS). Returns 0 or -EINVAL with *err (malloc'd) set.
 */
int kt_worker_report_from_json(const json_t *j, struct kt_worker_report *out, char **err);
int kt_worker_report_parse(const char *text, size_t len, struct kt_worker_report *out, char **err);

/* "Exited(1)", "Signaled(9)", "TimedOut", "WaitFailed(10)", "" for none. */
void kt_exit_info_format(const struct kt_exit_info *e, char *buf, size_t len);

/* ---- the workload handle ------------------------------------------------- */

struct kt_workload;

/*
 * Fork cfg->num_workers workers (blocked until kt_workload_start). Errors:
 * -EINVAL (num_workers 0, grouped type with n % group != 0, bad params,
 * Custom without fn) with *err set to a one-line message (malloc'd; may be
 * NULL), or a negative errno from pipe/mmap/fork (workers already forked
 * are killed and reaped).
 */
int kt_workload_spawn(const struct kt_workload_config *cfg, struct kt_workload **out, char **err);
size_t kt_workload_count(const struct kt_workload *wl);
/* Work types this process spawned workers of: bit (1 << enum kt_work_type). */
uint64_t kt_workload_types_used(void);
/* PIDs of the workers in index order (valid until destroy). */
const pid_t *kt_workload_pids(const struct kt_workload *wl);
const struct kt_workload_config *kt_workload_config(const struct kt_workload *wl);
/* Release the workers (idempotent). */
int kt_workload_start(struct kt_workload *wl);
bool kt_workload_started(const struct kt_workload *wl);
/*
 * Current iteration counters from shared memory: sum returned, per-worker
 * values stored into per_worker[0..count) when non-NULL.
 */
uint64_t kt_workload_snapshot_iterations(const struct kt_workload *wl, uint64_t *per_worker);
/* sched_setaffinity of worker idx; -ESRCH if gone, -EINVAL bad idx/empty set. */
int kt_workload_set_affinity(struct kt_workload *wl, size_t idx, const struct kt_cpuset *set);
/*
 * Starts if needed (+500 ms), SIGUSR1 all, reads reports until every pipe
 * hit EOF or deadline_ms elapsed (0 = 5000 ms), SIGKILLs every process
 * group and reaps. Always yields exactly count reports (sentinels for the
 * missing ones) in *out (free with kt_worker_reports_free). Collecting
 * twice returns -EALREADY.
 */
int kt_workload_stop_and_collect(struct kt_workload *wl, unsigned deadline_ms,
				 struct kt_worker_report **out, size_t *n);
/* SIGKILL every worker's process group and reap (no reports). Idempotent. */
void kt_workload_kill(struct kt_workload *wl);
/* Kill (if still running), reap, close pipes, unmap shared memory, free. NULL ok. */
void kt_workload_destroy(struct kt_workload *wl);

#endif
