/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host monitor: samples every vCPU's runqueue from guest memory at a
 * fixed interval (guestkern.h does the reading) and judges the series
 * against the six monitor thresholds of struct kt_assert with the
 * sustained-samples rule. No agent runs in the guest.
 *
 * Per sample and CPU: rq->nr_running, rq->scx.nr_running, the local DSQ
 * depth (rq->scx.local_dsq.nr), rq->clock and rq->scx.flags; per sample
 * the sched_ext enable state and exit kind; per CPU, how long the oldest
 * runnable sched_ext task has waited without running (below). sched_ext
 * event counters
 * (SCX_EV_*, kernels 6.15+) are read where the kernel's BTF has them;
 * without them the two rate thresholds cannot be judged and the summary
 * says so.
 *
 * Usage (src/runner/host.c): kt_mon_new() before the VM starts,
 * kt_mon_tick() from the VM engine's on_tick (the engine's watch thread,
 * one host thread per VM, every kt_mon_interval_ms()), kt_mon_judge() and
 * kt_mon_to_json() after the VM stopped.
 *
 * Runnable wait: a scheduler can lose a task without stopping its CPU --
 * scx_qmap -t N drops every Nth enqueue, so the task counts in
 * nr_running but sits on no DSQ while the CPU keeps ticking, and neither
 * the rq clock nor the DSQ depth moves. The kernel's watchdog sees it from
 * rq->scx.runnable_list: every runnable sched_ext task that is not
 * running, with p->scx.runnable_at (jiffies) set when it became runnable
 * (and kept across a dequeue/enqueue, e.g. a migration; the list is in
 * insertion order, not strictly by age), and it fails the scheduler when
 * jiffies passes runnable_at + scx_watchdog_timeout. The monitor walks
 * the same list (bounded; a torn or implausible list is "unknown") and
 * keeps, per CPU, the longest wait and its task (pid, comm). A wait over
 * half the effective watchdog timeout (scx_watchdog_timeout as the guest
 * has it, i.e. after .watchdog_timeout_s) is a violation under the
 * sustained-samples rule and fail_on_stall, and an alert before the
 * kernel's verdict.
 *
 * Stall building (for the timeline / failure dump): kt_mon_on_alert()
 * registers a callback that kt_mon_tick() calls synchronously, at most
 * once per kind and run, as soon as a stall, DSQ-depth or imbalance run
 * reaches `after` consecutive samples -- before the sustained threshold
 * fails the test and, for a stall, before the kernel's own watchdog.
 * kt_mon_alerted() is the same as a flag.
 */
#ifndef KTSTR_MONITOR_MONITOR_H
#define KTSTR_MONITOR_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include <ktstr/check.h>

#include "guestkern.h"

struct json_t;
struct kt_mon;

#define KT_MON_DEFAULT_INTERVAL_MS 100
/* a DSQ deeper than this is not a real reading (uninitialised memory) */
#define KT_MON_DSQ_CEILING 10000

struct kt_mon_cpu {
	uint32_t nr_running;
	uint32_t scx_nr_running;
	uint32_t local_dsq_depth;
	uint32_t scx_flags;
	uint64_t rq_clock;
	int64_t vcpu_ns; /* host CPU time of the vCPU's thread; -1 unknown */
	/* the longest-waiting runnable sched_ext task: ms (0: none; -1 unknown) */
	int64_t wait_ms;
	int32_t wait_pid;
	char wait_comm[16];
};

/* scx_ops_enable_state_var (6.12) / scx_enable_state_var: SCX_ENABLED */
#define KT_MON_SCX_ENABLED 1

struct kt_mon_sample {
	uint64_t t_ms;	       /* since the monitor started (VM start) */
	bool valid;	       /* every CPU was read */
	int scx_state;	       /* scx_ops_enable_state_var; -1 unknown */
	int scx_exit_kind;     /* scx_exit_kind; -1 unknown */
	bool have_events;      /* sched_ext event counters read */
	int64_t ev_fallback;   /* Σ SCX_EV_SELECT_CPU_FALLBACK over CPUs */
	int64_t ev_keep_last;  /* Σ SCX_EV_DISPATCH_KEEP_LAST over CPUs */
	/* the guest's sched_ext watchdog timeout in ms: 0 none enabled yet, -1 unknown */
	int64_t wd_timeout_ms;
	struct kt_mon_cpu *cpu; /* ncpu entries */
};

/* The six thresholds, resolved (defaults filled in). */
struct kt_mon_limits {
	double max_imbalance_ratio;
	uint32_t max_local_dsq_depth;
	bool fail_on_stall;
	unsigned sustained_samples;
	double max_fallback_rate;
	double max_keep_last_rate;
};

/* The assert's monitor fields, unset ones at their defaults (4.0, 50, true, 5, 200, 100). */
struct kt_mon_limits kt_mon_limits_from(const struct kt_assert *a);

enum kt_mon_alert_kind {
	KT_MON_ALERT_STALL,
	KT_MON_ALERT_DSQ,
	KT_MON_ALERT_IMBALANCE,
	KT_MON_ALERT_WAIT, /* a runnable task waited over half the watchdog timeout */
};

struct kt_mon_alert {
	enum kt_mon_alert_kind kind;
	int cpu;	 /* -1 for imbalance */
	unsigned run;	 /* consecutive samples so far */
	unsigned sample; /* index of the sample that triggered it */
	uint64_t t_ms;
	double value;	 /* stuck rq_clock, DSQ depth, imbalance ratio or wait (ms) */
	/* KT_MON_ALERT_WAIT: the task, and the limit (half the watchdog timeout, ms) */
	int32_t pid;
	char comm[16];
	int64_t limit_ms;
};

typedef void (*kt_mon_alert_fn)(void *ctx, const struct kt_mon_alert *a);

/*
 * A monitor of ncpu vCPUs for the kernel gk (owned by the monitor from
 * now on). *why and NULL when the kernel's BTF lacks the runqueue layout.
 */
struct kt_mon *kt_mon_new(struct kt_gk *gk, unsigned ncpu, const struct kt_mon_limits *lim,
			  char **why);
void kt_mon_free(struct kt_mon *mon);
struct kt_gk *kt_mon_gk(struct kt_mon *mon);
void kt_mon_on_alert(struct kt_mon *mon, unsigned after, kt_mon_alert_fn fn, void *ctx);
/*
 * Alerts only from samples where the guest's sched_ext scheduler is
 * attached (scx_state KT_MON_SCX_ENABLED, or unknown): for a run with a
 * sched_ext scheduler, whose dump (SysRq-D) is empty before it attaches.
 * A run that builds up earlier alerts at the first sample after it attached.
 */
void kt_mon_alert_needs_scx(struct kt_mon *mon, bool on);
bool kt_mon_alerted(const struct kt_mon *mon);

/*
 * Take one sample at t_ms (attaching the reader first if needed). An
 * unreadable guest gives an invalid sample, never an error. vcpu_ns: the
 * host CPU time of each vCPU's thread (NULL or -1 entries: unknown).
 */
void kt_mon_tick(struct kt_mon *mon, const struct kt_gk_mem *m, uint64_t t_ms,
		 const int64_t *vcpu_ns);
/*
 * The guest's CONFIG_HZ, for the preempted rule of the stuck predicate (a
 * CPU whose vCPU thread ran less than 10 guest ticks of host CPU time
 * between two samples was preempted by the host, not stuck) and to turn
 * jiffies into ms (default 250).
 */
void kt_mon_set_hz(struct kt_mon *mon, int hz);

/* Add a sample as read (tests; the pure judge below works on these). */
void kt_mon_add(struct kt_mon *mon, const struct kt_mon_sample *s);
unsigned kt_mon_n_samples(const struct kt_mon *mon);
const struct kt_mon_sample *kt_mon_sample_at(const struct kt_mon *mon, unsigned i);

/*
 * Judge the series: Pass when no threshold was broken for
 * sustained_samples in a row, Fail with one detail per violation
 * (KT_DETAIL_MONITOR), Inconclusive when there is no usable data ("no
 * monitor samples", "monitor data not yet initialized", the reader's
 * reason). Details are appended to r (which may be NULL).
 */
enum kt_verdict kt_mon_judge(struct kt_mon *mon, struct kt_assert_result *r);

/* One line: "monitor OK" / "monitor FAILED: N violation(s)" / "monitor inconclusive: why". */
const char *kt_mon_verdict_line(const struct kt_mon *mon);

/*
 * The sidecar's `monitor` object: summary, verdict, limits and the
 * samples (after kt_mon_judge).
 */
struct json_t *kt_mon_to_json(const struct kt_mon *mon);
/* The `--- monitor ---` report block (malloc'd). */
char *kt_mon_report(const struct kt_mon *mon);

#endif
