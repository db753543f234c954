/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Result sidecars: one JSON file per test run, named
 * {test}-{variant_hash:016x}.ktstr.json, under
 *   ${KTSTR_SIDECAR_DIR}                                  (as-is), or
 *   ${KTSTR_TARGET_DIR:-target}/ktstr/{kernel}-{commit}/  (the "run dir").
 *
 * Writing into a run dir takes LOCK_EX on {root}/.locks/{run}.lock (100 ms
 * polls, 30 s limit). The first write of a process pre-clears the run dir
 * (removes *.ktstr.json directly in it) unless another writer process of
 * the same run is still alive: every writer keeps LOCK_SH on
 * {root}/.locks/{run}.active for its lifetime, and pre-clear happens only
 * when LOCK_EX on that file succeeds. So results of an earlier run of the
 * same (kernel, commit) are replaced, while concurrent writers (parallel
 * test processes, or `ktstr test` holding the session) never wipe each
 * other's files. KTSTR_SIDECAR_DIR: no pre-clear, no lock.
 *
 * Variant hash: SipHash-1-3 with key (0,0) over the byte stream
 *   topology \0 scheduler \0 0xfc payload \0 work_type \0 0xfe
 *   {flag \0}... 0xfd {sorted sysctl \0}... 0xff {sorted karg \0}...
 * (commits, host and run_source do not feed it). The work_type slot is
 * always empty here: the sidecar records the work types a run actually
 * spawned (none for a run that failed before its scenario, "skipped" for
 * a skip), and a test's file name must not change with its outcome.
 */
#ifndef KTSTR_RESULTS_H
#define KTSTR_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kt_strv {
	char **v;
	size_t n;
};

void kt_strv_add(struct kt_strv *sv, const char *s);
void kt_strv_free(struct kt_strv *sv);

/*
 * Sidecar schema version. Writers put it in "schema_version"; readers
 * refuse a larger one (a newer ktstr wrote it) and read a missing one as
 * 0 (written before versioning). Bump it when a field changes meaning.
 */
#define KT_SIDECAR_SCHEMA_VERSION 1

/*
 * One test run's record. Every field is measured or absent; an absent
 * field that could have had a value says why in `absent` (field name ->
 * reason), see kt_sidecar_absent(). Modules other than the runner add
 * their own top-level keys through kt_sidecar_set() (kept in `extra`).
 */
struct kt_sidecar {
	int schema_version;     /* read: the file's; write: always KT_SIDECAR_SCHEMA_VERSION */
	char *test_name;        /* bare test name */
	char *topology;         /* "{n}n{l}l{c}c{t}t" */
	char *scheduler;        /* "eevdf" when no sched_ext scheduler */
	char *scheduler_commit; /* git commit of the scheduler's source, NULL = unknown */
	char *project_commit;   /* "abcdef1[-dirty]" or NULL */
	char *payload;          /* NULL */
	/* At most one of passed / inconclusive; skipped goes with passed; none = Fail. */
	bool passed;
	bool skipped;
	bool inconclusive;      /* optional when read (older sidecars lack it) */
	json_t *stats;          /* ScenarioStats JSON (owned), NULL = {} */
	json_t *monitor;        /* NULL = null */
	json_t *details;        /* [{kind,message}] (owned), NULL = [] (extension) */
	char *work_type;        /* the work type used ("A+B" when several), "skipped" for skips */
	struct kt_strv work_types; /* every work type the scenario spawned (extension) */
	struct kt_strv active_flags;
	struct kt_strv sysctls; /* "sysctl.k=v" */
	struct kt_strv kargs;
	char *kernel_version;   /* NULL = unknown */
	char *kernel_commit;    /* NULL = unknown */
	char *timestamp;        /* YYYY-MM-DDTHH:MM:SSZ; filled by the writer if NULL */
	char *run_id;           /* filled by the writer if NULL */
	json_t *host;           /* host context (owned); NULL = null */
	bool has_cleanup_ms;
	uint64_t cleanup_duration_ms;
	char *run_source;       /* "ci" / "local" (writer fills if NULL) */
	bool has_duration_ms;   /* extension: test wall time on the host */
	uint64_t duration_ms;
	/*
	 * Extension: the scheduler's exit, NULL when it did not exit (or
	 * there was none): {kind, reason, message, source, status}, see
	 * struct kt_sched_exit.
	 */
	json_t *scheduler_exit;
	/*
	 * Extension: why the run failed, NULL when it did not:
	 * {kind, phase, message, stage}. kind: scheduler_error,
	 * scheduler_stall, scheduler_crash, scheduler_missing,
	 * scheduler_not_attached, body, guest_crash, guest_oom, timeout,
	 * infra; phase: before_attach, workload, teardown.
	 */
	json_t *failure;
	char *failure_dump;     /* path of the failure dump file, NULL = none written */
	json_t *absent;         /* {field: reason} (owned), NULL = {} */
	json_t *extra;          /* other modules' top-level keys (owned), NULL = none */
	json_t *raw;            /* read: the whole document (owned), for keys not parsed here */
};

/* Record why `field` has no value (replaces an earlier reason). */
void kt_sidecar_absent(struct kt_sidecar *sc, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The recorded reason for an absent field, or NULL. */
const char *kt_sidecar_absent_reason(const struct kt_sidecar *sc, const char *field);
/*
 * Add a top-level key written after the built-in ones (steals v). Keys
 * the writer owns (test_name, stats, ...) are refused with -EEXIST.
 */
int kt_sidecar_set(struct kt_sidecar *sc, const char *key, json_t *v);
/* A key of the document as read (or as set with kt_sidecar_set), or NULL. */
json_t *kt_sidecar_get(const struct kt_sidecar *sc, const char *key);

void kt_sidecar_free(struct kt_sidecar *sc);

/* The variant hash described above. */
uint64_t kt_sidecar_variant_hash(const struct kt_sidecar *sc);
/* SipHash-c-d (c compression, d finalization rounds), key (k0,k1). */
uint64_t kt_siphash(int c, int d, uint64_t k0, uint64_t k1, const void *data, size_t len);
/* SipHash-1-3, key (k0,k1), over data. */
uint64_t kt_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);
/* "{test}-{hash:016x}.ktstr.json" (caller frees). */
char *kt_sidecar_file_name(const struct kt_sidecar *sc);

/* JSON encode/decode. Decoding fails (with *err) on a missing required field. */
json_t *kt_sidecar_to_json(const struct kt_sidecar *sc);
int kt_sidecar_from_json(json_t *j, struct kt_sidecar *out, char **err);
int kt_sidecar_read(const char *path, struct kt_sidecar *out, char **err);

/* ---- the scheduler's exit ---------------------------------------------------- */

/*
 * How a sched_ext scheduler ended, read from what the guest showed:
 * the kernel's console lines ("sched_ext: BPF scheduler "X" disabled
 * (REASON)" and "sched_ext: X: MSG"), the scheduler's own "EXIT: REASON
 * (MSG)" line (user_exit_info.h), the sched_ext dump ("triggered exit kind
 * N:" then "  REASON (MSG)") and the process's wait status.
 *   kind  "error"  scx_bpf_error() or a kernel-detected runtime error
 *         "stall"  the sched_ext watchdog saw a runnable task stall
 *         "crash"  the process died by a signal, or exited non-zero with no
 *                  sched_ext exit record
 *         "normal" unregistered (from user space, BPF, the kernel, sysrq-S)
 *                  or a zero exit status
 */
struct kt_sched_exit {
	const char *kind;  /* NULL: nothing known */
	char *reason;      /* the kernel's reason text ("scx_bpf_error", ...), or NULL */
	char *message;     /* the exit message, or NULL */
	const char *source; /* "console", "scheduler log", "dump", "wait status" */
	int exit_kind;     /* SCX_EXIT_* number from the dump, -1 unknown */
	bool have_status;
	int status;        /* wait status when have_status */
};

/*
 * Fill *out from the texts (any may be NULL). Returns true when anything
 * was found. Pure: no I/O.
 */
bool kt_sched_exit_parse(const char *console, const char *sched_log, const char *dump,
			 bool have_status, int status, struct kt_sched_exit *out);
void kt_sched_exit_free(struct kt_sched_exit *e);
/* {kind, reason?, message?, source, scx_exit_kind?, exit_status?, signal?} */
json_t *kt_sched_exit_to_json(const struct kt_sched_exit *e);

/* "ci" when KTSTR_CI is non-empty, else "local". */
const char *kt_run_source(void);
/*
 * Project HEAD of the cwd's git repo: 7 hex + "-dirty", NULL when unknown.
 * Cached. KTSTR_PROJECT_COMMIT (set by `ktstr test` for its children;
 * "unknown" = none) takes precedence, so one session uses one run dir.
 */
const char *kt_project_commit(void);
/* Same for an arbitrary tree (NULL when not a git tree). Caller frees. */
char *kt_git_commit_of(const char *dir);
/* Host context object (cpu_model, total_memory_kb, kernel_release, ...). */
json_t *kt_host_context(void);

/* ${KTSTR_TARGET_DIR:-target}/ktstr (caller frees). */
char *kt_runs_root(void);
/* Run key "{kernel|unknown}-{commit|unknown}" (caller frees). */
char *kt_run_key(const char *kernel_version, const char *project_commit);

/*
 * Where sidecars for this kernel go: KTSTR_SIDECAR_DIR or the run dir.
 * *is_override tells which. Caller frees.
 */
char *kt_sidecar_dir(const char *kernel_version, bool *is_override);

/*
 * Write sc into its directory following the protocol above. Fills
 * timestamp/run_id/run_source/project_commit when NULL. *path_out (optional)
 * gets the written path. Errors come back as a message.
 */
int kt_sidecar_write(struct kt_sidecar *sc, char **path_out, char **err);
/*
 * The same for one kernel of a multi-kernel run: run dir
 * {kernel_label}-{commit} (or $KTSTR_SIDECAR_DIR/{kernel_label}/), so that
 * two kernels of one version keep apart. label NULL: kt_sidecar_write.
 */
int kt_sidecar_write_labelled(struct kt_sidecar *sc, const char *label, char **path_out,
			      char **err);
/* The directory kt_sidecar_write_labelled writes into (caller frees). */
char *kt_sidecar_dir_labelled(const char *kernel_version, const char *label, bool *is_override);
/* Write into an explicit directory with no lock and no pre-clear. */
int kt_sidecar_write_dir(struct kt_sidecar *sc, const char *dir, char **path_out, char **err);

/*
 * Begin a session for run dir of kernel_version: pre-clear (when no other
 * writer is alive) and hold the writer lock until the process exits, so
 * that child processes writing into the same run dir never pre-clear.
 * No-op with KTSTR_SIDECAR_DIR.
 */
int kt_sidecar_session_begin(const char *kernel_version, char **err);
/*
 * The same without any pre-clear in this process (a shard of a run: the
 * other shards' sidecars in the run dir stay; the caller replaces its own).
 */
int kt_sidecar_session_join(const char *kernel_version, char **err);

/*
 * Call fn for every sidecar file (extension .json, name containing
 * ".ktstr.") directly in dir and one level of subdirectories, sorted by
 * path. Returns the number of files visited or a negative errno.
 */
int kt_sidecar_scan(const char *dir, int (*fn)(void *ctx, const char *path), void *ctx);

#endif
