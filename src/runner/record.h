/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A run's sidecar, built from what the run measured (results/results.h
 * is the format and its reader). Every field is measured or absent with
 * a reason in the sidecar's `absent` object.
 *
 * Hooks for the host's collectors (src/runner/host.c), each one line:
 *   kt_record_result_arrived() the TEST message arrived
 *   kt_record_facts()        a FACT message from the guest
 *   kt_record_sched_status() an SCDX message (the scheduler's wait status)
 *   kt_record_stage()        an STGE message (how far the guest got)
 *   kt_record_console_line() every guest console line
 * plus rec.vm_end_ns / rec.accel set where they happen.
 *
 * Other modules add sidecar keys for a run with kt_record_set() (e.g.
 * "stimulus_events") and name a failure dump with
 * kt_record_failure_dump(); both go into the sidecar written by
 * kt_record_sidecar().
 */
#ifndef KTSTR_RUNNER_RECORD_H
#define KTSTR_RUNNER_RECORD_H

#include <stdint.h>

#include <jansson.h>

#include "kernel/kernel.h"
#include "results/results.h"
#include "runner.h"

/* Progress bits (struct kt_run_record.progress). */
#define KT_PROGRESS_ATTACHED 1u /* the scheduler attached (or there was none to attach) */
#define KT_PROGRESS_BODY 2u     /* the test body started */
#define KT_PROGRESS_RESULT 4u   /* the guest sent its result */
#define KT_PROGRESS_TEARDOWN 8u /* the guest began stopping the scheduler */

/* Longest console excerpt kept for the scheduler's exit. */
#define KT_RECORD_SCX_CONSOLE_MAX (16u << 10)

void kt_record_result_arrived(struct kt_outcome *o);
void kt_record_facts(struct kt_outcome *o, const void *data, uint32_t len);
void kt_record_sched_status(struct kt_outcome *o, const void *data, uint32_t len);
void kt_record_stage(struct kt_outcome *o, const char *stage);
void kt_record_console_line(struct kt_outcome *o, const char *line);
/* Add a sidecar key for this run (steals v). */
void kt_record_set(struct kt_outcome *o, const char *key, json_t *v);
void kt_record_failure_dump(struct kt_outcome *o, const char *path);
void kt_record_free(struct kt_run_record *r);

/*
 * Facts this process can measure about the scenario it ran: {"work_types":
 * [names], "verifier_stats": [{name, verified_insns}] (with bpf, when BPF
 * programs are loaded)}. The guest sends it as FACT; host_only tests use
 * the work types directly.
 */
json_t *kt_run_facts(bool bpf);

/*
 * Build the sidecar (no I/O but the git lookups of the kernel and
 * scheduler trees and the host context). k may be NULL (no kernel
 * resolved).
 */
void kt_record_build(const struct kt_plan *p, const struct kt_kernel *k,
		     const struct kt_outcome *o, enum kt_verdict v, uint64_t wall_ms,
		     struct kt_sidecar *sc);
/* Build and write it (a warning when it cannot be written). o may be NULL. */
void kt_record_sidecar(const struct kt_plan *p, const struct kt_kernel *k,
		       const struct kt_outcome *o, enum kt_verdict v, uint64_t wall_ms);

#endif
