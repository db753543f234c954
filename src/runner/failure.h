/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a failed run leaves behind (pure: no I/O): the one-line BUG SUMMARY,
 * the scheduler's log without the copy of the sched_ext dump it printed
 * (the report shows the dump once), and the machine-readable failure dump
 * ({test}-{hash:016x}.failure-dump.json next to the sidecar; written by
 * src/runner/host.c via tmp+rename).
 */
#ifndef KTSTR_RUNNER_FAILURE_H
#define KTSTR_RUNNER_FAILURE_H

#include <stdbool.h>

#include <jansson.h>

#include "runner/runner.h"
#include "runner/timeline.h"

/*
 * BUG SUMMARY text, or NULL when nothing names the bug. In order:
 *  1. the sched_ext dump (trace lines): the first line with "triggered
 *     exit kind", then the first later line from the same CPU ("[001]")
 *     that is not itself such a line: its text after "sched_ext_dump:";
 *  2. the same in the scheduler's log (its printed copy of the dump);
 *  3. the first scheduler-log line containing "scx_bpf_error";
 *  4. extra (a monitor verdict, may be NULL).
 * ANSI escape sequences are stripped first. malloc'd, one line.
 */
char *kt_bug_summary(const char *dump, const char *sched_log, const char *extra);

/* The first monitor violation among the result's details ("" none), for kt_bug_summary's extra. */
const char *kt_monitor_violation(const struct kt_outcome *o);

/*
 * The scheduler log with its printed copy of the dump ("DEBUG DUMP",
 * a ==== line, the dump, a ==== line) replaced by one line pointing to
 * the `--- sched_ext dump ---` section. NULL when the log holds no such
 * block (use the log as is).
 */
char *kt_sched_log_without_dump(const char *log);

/* The run's identity for the dump. */
struct kt_failure_ctx {
	const char *test, *scheduler, *topology;
	const char *kernel;	   /* may be NULL */
	const char *bug_summary;   /* may be NULL */
	const char *details;	   /* the failure's detail lines, may be NULL */
	json_t *monitor_samples;   /* borrowed, may be NULL: samples around the failure */
	json_t *host_dumps;	   /* borrowed, may be NULL: host-requested dumps */
};

/*
 * The failure dump document:
 *  {"schema":"single", "is_placeholder":bool, "test", "scheduler",
 *   "topology", "kernel", "bug_summary", "failure_stage", "details":[...],
 *   "scheduler_exit": kt_sched_exit_to_json (results.h) | null,
 *   "sched_ext_dump": [text lines], "timeline_tail": [...events...],
 *   "monitor_samples": [...], "host_dump_requests": [...],
 *   "maps": [the last snapshot of each .snapshot_maps map, or why none]
 *   (kt_bpfmap_last_maps, src/bpfmap/bpfmap.h),
 *   "*_unavailable": why (placeholders)}
 * A placeholder (no sched_ext dump was captured: the scheduler never
 * attached, or no scheduler ran, or its exit path did not fire) says why in
 * "scx_walker_unavailable" and the other *_unavailable fields.
 */
json_t *kt_failure_dump_json(const struct kt_failure_ctx *fc, const struct kt_outcome *o,
			     const struct kt_timeline *tl);

#endif
