/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run's timeline (host side, pure: no I/O): the scenario's events from
 * the guest (SCST, STIM, SCEN), the sched_ext dump's own events (the exit,
 * when the stalled task stopped running, host-requested dumps), host events
 * and monitor samples, on one time axis: milliseconds from the scenario's
 * start.
 *
 * Clocks:
 *  - steps and the scenario end carry the guest's elapsed_ms (guest
 *    CLOCK_MONOTONIC, exact);
 *  - the SCST message carries the guest's CLOCK_MONOTONIC at the start, and
 *    the guest's trace clock is "mono", so sched_ext_dump lines (their trace
 *    timestamp) land exactly on the same axis;
 *  - host events and monitor samples are timed on the host and placed
 *    relative to when the host received SCST. The host drains the SHM ring
 *    every ~100 ms, so these are late by up to that much relative to the
 *    guest events (the report says so).
 * When no SCST arrived, host times count from the first host event and
 * guest-clock events cannot be placed (they are listed without a time).
 *
 * Everything here comes from the guest: counts are capped, text is cut.
 */
#ifndef KTSTR_RUNNER_TIMELINE_H
#define KTSTR_RUNNER_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/proto.h"
#include "util/util.h"

enum kt_tl_kind {
	KT_TL_SCENARIO_START,
	KT_TL_STEP,	    /* a STIM message */
	KT_TL_SCENARIO_END,
	KT_TL_STALL_BEGIN,  /* derived: exit time minus the watchdog's "failed to run for" */
	KT_TL_SCHED_EXIT,   /* the dump's "triggered exit kind" (text: the reason line) */
	KT_TL_DEBUG_DUMP,   /* "Debug dump triggered by ..." (a requested dump) */
	KT_TL_HOST,	    /* a host event (text), e.g. "dump requested: ..." */
	KT_TL_WAIT_BEGIN,   /* host clock: when a task the monitor saw waiting became runnable */
};

struct kt_tl_event {
	enum kt_tl_kind kind;
	bool host_clock;       /* timed on the host (t = host ns) */
	bool placed;	       /* has a time on the axis */
	int64_t ms;	       /* guest events: ms from scenario start */
	uint64_t host_ns;      /* host events: kt_now_ns() when it happened */
	struct kt_msg_stimulus stim; /* KT_TL_STEP */
	char *text;
};

/*
 * One monitor sample, reduced to what the timeline shows (the monitor
 * keeps the full samples). stuck_cpus: CPUs whose rq clock did not advance
 * since the previous sample while they had runnable tasks (-1: unknown).
 */
struct kt_tl_sample {
	uint64_t host_ns;
	uint32_t n_cpus;
	uint32_t max_nr_running;
	uint32_t max_local_dsq;
	int stuck_cpus;
	int first_stuck_cpu; /* -1: none */
	int64_t max_wait_ms; /* longest runnable wait of a sched_ext task; <= 0: none or unknown */
	int max_wait_cpu;
};

#define KT_TL_MAX_EVENTS 4096
#define KT_TL_MAX_SAMPLES 65536
#define KT_TL_TEXT_MAX 240

struct kt_timeline {
	bool started;		/* SCST seen */
	uint64_t host_start_ns; /* host time SCST was received */
	bool have_guest_start;
	uint64_t guest_start_ns; /* guest CLOCK_MONOTONIC at scenario start */
	uint64_t host_first_ns;	 /* first host event (anchor without SCST) */
	struct kt_tl_event *ev;
	size_t n_ev, cap_ev;
	size_t dropped;		 /* events over KT_TL_MAX_EVENTS */
	struct kt_tl_sample *smp;
	size_t n_smp, cap_smp;
	/* dump parsing state */
	int pending_exit;	 /* -1, or index of an exit event awaiting its reason line */
	char pending_cpu[8];	 /* the anchor line's CPU tag */
};

void kt_timeline_init(struct kt_timeline *tl);
void kt_timeline_free(struct kt_timeline *tl);

/*
 * SCST: payload empty (older guests) or u64 guest CLOCK_MONOTONIC ns.
 * host_ns: when the host received it.
 */
void kt_timeline_scenario_start(struct kt_timeline *tl, uint64_t host_ns, const void *data,
				uint32_t len);
void kt_timeline_stimulus(struct kt_timeline *tl, const struct kt_msg_stimulus *s);
/* SCEN: payload empty or u32 elapsed ms. */
void kt_timeline_scenario_end(struct kt_timeline *tl, const void *data, uint32_t len);
/* One sched_ext_dump trace line ("comm-pid [cpu] flags  secs.usecs: sched_ext_dump: text"). */
void kt_timeline_dump_line(struct kt_timeline *tl, const char *line);
/* A host event (text copied, cut at KT_TL_TEXT_MAX). */
void kt_timeline_host_event(struct kt_timeline *tl, uint64_t host_ns, const char *text);
/*
 * The start of a wait the monitor measured (host time it began, back-dated
 * from the alert by the wait): shown with the step it began in.
 */
void kt_timeline_wait_began(struct kt_timeline *tl, uint64_t host_ns, const char *text);
void kt_timeline_sample(struct kt_timeline *tl, const struct kt_tl_sample *s);

/*
 * The CPU tag of a sched_ext_dump trace line: the last "[digits]" (1-5
 * digits) before the "sched_ext_dump:" marker (anywhere without one);
 * "" when none.
 */
void kt_dump_cpu_tag(const char *line, size_t len, char tag[8]);

/* Has anything to show. */
bool kt_timeline_empty(const struct kt_timeline *tl);

/*
 * The compact `--- timeline ---` body (without the header): one line per
 * event in time order, a monitor summary under each step, the step during
 * which a stall began named on its line. At most about max_lines lines
 * (middle steps are elided, never the ones around a stall or an exit).
 */
void kt_timeline_format(const struct kt_timeline *tl, struct sbuf *out, size_t max_lines);

/*
 * Sidecar `stimulus_events`: [{elapsed_ms, label, op_kind?, detail?,
 * total_iterations?}] for the scenario start, each step and the end.
 */
json_t *kt_timeline_stimulus_json(const struct kt_timeline *tl);
/* Every event and the samples' summary as JSON (the failure dump's timeline), last max events. */
json_t *kt_timeline_events_json(const struct kt_timeline *tl, size_t max);

/* A host time (kt_now_ns) as ms on the axis. */
int64_t kt_timeline_host_ms(const struct kt_timeline *tl, uint64_t host_ns);

/* The step (index into the STIM events' step_index) running at ms, or -1. */
int kt_timeline_step_at(const struct kt_timeline *tl, int64_t ms);

/* "spawn,set_cpuset" for an op_kinds bit set (caller frees; "" when none). */
char *kt_timeline_op_kinds(uint32_t op_kinds);

#endif
