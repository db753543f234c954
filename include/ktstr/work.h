/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Work types and their parameters, scheduling and memory policies of a
 * worker group, and the report each worker sends back (also what a custom
 * work function fills in). Part of the public test API (<ktstr.h>); the
 * worker processes themselves live in src/workload.
 */
#ifndef KTSTR_PUBLIC_WORK_H
#define KTSTR_PUBLIC_WORK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ktstr/cpuset.h>

/* ---- work types ---------------------------------------------------------- */

enum kt_work_type {
	KT_WORK_CPU_SPIN,
	KT_WORK_YIELD_HEAVY,
	KT_WORK_MIXED,
	KT_WORK_IO_SYNC,
	KT_WORK_BURSTY,
	KT_WORK_PIPE_IO,
	KT_WORK_FUTEX_PING_PONG,
	KT_WORK_FUTEX_FAN_OUT,
	KT_WORK_CACHE_PRESSURE,
	KT_WORK_CACHE_YIELD,
	KT_WORK_CACHE_PIPE,
	KT_WORK_SEQUENCE,
	KT_WORK_FORK_EXIT,
	KT_WORK_NICE_SWEEP,
	KT_WORK_AFFINITY_CHURN,
	KT_WORK_POLICY_CHURN,
	KT_WORK_FAN_OUT_COMPUTE,
	KT_WORK_PAGE_FAULT_CHURN,
	KT_WORK_MUTEX_CONTENTION,
	KT_WORK_CUSTOM,
	KT_WORK__COUNT
};

/* Sequence phases. */
enum kt_phase_kind {
	KT_PHASE_SPIN,	/* spin 1024-unit bursts until the duration elapsed */
	KT_PHASE_SLEEP, /* sleep the duration (one wake sample) */
	KT_PHASE_YIELD, /* u+=1; sched_yield until the duration elapsed */
	KT_PHASE_IO,	/* IoSync body until the duration elapsed */
};

struct kt_phase {
	enum kt_phase_kind kind;
	uint64_t dur_ns;
};

#define KT_MAX_PHASES 16

struct kt_worker_report;

/*
 * Custom work: runs until *stop becomes non-zero and fills *rep (which
 * arrives zeroed with tid set). No framework telemetry is added; the
 * report is sent verbatim (completed is forced to true if the function
 * returns 0; a negative return sends completed=false).
 */
typedef int (*kt_custom_fn)(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep);

/*
 * A work type and its parameters. Use kt_work_default() (reference
 * defaults) or kt_work_from_name(), then edit the fields of the variant.
 */
struct kt_work {
	enum kt_work_type type;
	union {
		struct {
			uint64_t burst_ms; /* 50 */
			uint64_t sleep_ms; /* 100 */
		} bursty;
		struct {
			uint64_t burst_iters; /* 1024 */
		} pipe_io;
		struct {
			uint64_t spin_iters; /* 1024 */
		} futex_ping_pong;
		struct {
			uint32_t fan_out;    /* 4 */
			uint64_t spin_iters; /* 1024 */
		} futex_fan_out;
		struct {
			uint64_t size_kb; /* 32 */
			uint64_t stride;  /* 64 */
		} cache_pressure, cache_yield;
		struct {
			uint64_t size_kb;     /* 32 */
			uint64_t burst_iters; /* 1024 */
		} cache_pipe;
		struct {
			unsigned n_phases; /* 1..KT_MAX_PHASES */
			struct kt_phase phases[KT_MAX_PHASES];
		} sequence;
		struct {
			uint64_t spin_iters; /* 1024 */
		} affinity_churn, policy_churn;
		struct {
			uint32_t fan_out;	     /* 4 */
			uint64_t cache_footprint_kb; /* 256 */
			uint32_t operations;	     /* 5 */
			uint64_t sleep_usec;	     /* 100 */
		} fan_out_compute;
		struct {
			uint64_t region_kb;	    /* 4096 */
			uint64_t touches_per_cycle; /* 256 */
			uint64_t spin_iters;	    /* 64 */
		} page_fault_churn;
		struct {
			uint32_t contenders; /* 4 */
			uint64_t hold_iters; /* 256 */
			uint64_t work_iters; /* 1024 */
		} mutex_contention;
		struct {
			const char *name;
			kt_custom_fn fn;
			void *arg;
		} custom;
	};
};

/* PascalCase name of a type ("CpuSpin"). */
const char *kt_work_type_name(enum kt_work_type t);
/* Exact, case-sensitive lookup over all 20 names; -EINVAL when unknown. */
int kt_work_type_from_name(const char *name, enum kt_work_type *out);
/* Reference defaults for t (Sequence: one 100 ms Spin phase; Custom: no fn). */
void kt_work_default(struct kt_work *w, enum kt_work_type t);
/*
 * Construct from a name with defaults. Sequence and Custom cannot be
 * built by name: -EINVAL, like an unknown name.
 */
int kt_work_from_name(const char *name, struct kt_work *out);
/* Names kt_work_from_name() accepts, in enum order (18 entries). */
const char *const *kt_work_all_names(size_t *count);
/* Workers per group for grouped types (PipeIo/FutexPingPong/CachePipe 2,
 * fan-outs fan_out+1, MutexContention contenders); 0 when ungrouped. */
unsigned kt_work_group_size(const struct kt_work *w);

/* ---- scheduling and memory policy -------------------------------------- */

enum kt_sched_kind { KT_SCHED_NORMAL, KT_SCHED_BATCH, KT_SCHED_IDLE, KT_SCHED_FIFO, KT_SCHED_RR };

struct kt_sched_policy {
	enum kt_sched_kind kind;
	int priority; /* FIFO/RR only; clamped to 1..99 */
};

enum kt_mem_policy_kind {
	KT_MPOL_DEFAULT, /* no call */
	KT_MPOL_BIND,
	KT_MPOL_PREFERRED, /* single node: .nodes holds exactly one */
	KT_MPOL_INTERLEAVE,
	KT_MPOL_LOCAL, /* null mask */
	KT_MPOL_PREFERRED_MANY,
	KT_MPOL_WEIGHTED_INTERLEAVE,
};

#define KT_MPOL_F_NONE 0u
#define KT_MPOL_F_STATIC_NODES (1u << 15)
#define KT_MPOL_F_RELATIVE_NODES (1u << 14)
#define KT_MPOL_F_NUMA_BALANCING (1u << 13)

struct kt_mem_policy {
	enum kt_mem_policy_kind kind;
	struct kt_cpuset nodes; /* node numbers (bitset reused as a node set) */
	uint32_t flags;		/* KT_MPOL_F_* */
};

/* ---- worker reports ------------------------------------------------------ */

struct kt_migration {
	uint64_t at_ns;
	int from_cpu;
	int to_cpu;
};

struct kt_numa_pages {
	int node;
	uint64_t pages;
};

enum kt_exit_kind {
	KT_EXIT_NONE,	     /* not a sentinel */
	KT_EXIT_EXITED,	     /* value = exit code */
	KT_EXIT_SIGNALED,    /* value = signal */
	KT_EXIT_TIMED_OUT,   /* still alive at the deadline */
	KT_EXIT_WAIT_FAILED, /* value = errno */
};

struct kt_exit_info {
	enum kt_exit_kind kind;
	int value;
};

#define KT_MAX_WAKE_SAMPLES 100000
/* Migration events kept per worker (migration_count still counts all). */
#define KT_MAX_MIGRATIONS 10000

struct kt_worker_report {
	pid_t tid;
	uint64_t work_units;
	uint64_t cpu_time_ns;
	uint64_t wall_time_ns;
	/*
	 * CLOCK_MONOTONIC when it started work (0 = unknown): migrations'
	 * at_ns and the wall time count from here, so a check can line a
	 * worker's placement up with what was sampled while it ran.
	 */
	uint64_t start_ns;
	uint64_t off_cpu_ns;
	uint64_t migration_count;
	struct kt_cpuset cpus_used;
	/*
	 * The CPUs it was allowed on when it started (affinity within its
	 * cpuset; JSON "allowed_cpus", empty = unknown): workers pinned to
	 * different CPUs have different fair shares, so the spread check
	 * compares only workers allowed on the same CPUs.
	 */
	struct kt_cpuset allowed_cpus;
	struct kt_migration *migrations;
	size_t n_migrations;
	uint64_t max_gap_ms;
	int max_gap_cpu;
	uint64_t max_gap_at_ms;
	/*
	 * Of the longest gap, how long the guest kernel counted the worker as
	 * running (its CPU clock advanced): a gap spent "on CPU" is time its
	 * CPU did not execute at all (a vCPU the host did not run), not time
	 * the scheduler kept it off. A lower bound; 0 for gaps under 50 ms.
	 */
	uint64_t max_gap_on_cpu_ms;
	uint64_t *resume_latencies_ns;
	size_t n_resume_latencies;
	uint64_t wake_sample_total;
	uint64_t iterations;
	uint64_t schedstat_run_delay_ns;
	uint64_t schedstat_run_count;
	uint64_t schedstat_cpu_time_ns;
	bool completed;
	struct kt_numa_pages *numa_pages;
	size_t n_numa_pages;
	uint64_t vmstat_numa_pages_migrated;
	struct kt_exit_info exit_info; /* kind NONE: key omitted */
	bool is_messenger;
	/*
	 * PipeIo, CachePipe, FutexPingPong: the worker's exchange pair, from 1
	 * (the two workers of a pair share it); 0 for other work types.
	 */
	uint32_t exchange_pair;
};

#endif
