/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host monitor (src/monitor) in a test run: set up from the test's
 * kernel and merged assert, fed from the VM engine's on_tick with the
 * guest's memory and the host CPU time of each vCPU thread, and folded
 * into the outcome when the VM stopped (monitor verdict into the result,
 * the sidecar's `monitor` object, the `--- monitor ---` report block).
 *
 * KTSTR_MONITOR=0 turns it off (the benchmark's baseline);
 * KTSTR_MONITOR_INTERVAL_MS sets the sampling interval (10..10000,
 * default 100).
 */
#ifndef KTSTR_RUNNER_HOSTMON_H
#define KTSTR_RUNNER_HOSTMON_H

#include <stdbool.h>

#include "monitor/monitor.h"
#include "runner.h"

struct kt_vm_guest;
struct kt_kernel;
struct kt_hostmon;

/* False when KTSTR_MONITOR=0. */
bool kt_hostmon_enabled(void);
/* The sampling interval in ms (KTSTR_MONITOR_INTERVAL_MS, else 100). */
unsigned kt_hostmon_interval_ms(void);

/*
 * A monitor for a VM of ncpu vCPUs booting kernel k, judged against the
 * plan's assert. NULL with *why (malloc'd) when the kernel cannot be read
 * (no vmlinux, no BTF, missing runqueue layout).
 */
struct kt_hostmon *kt_hostmon_new(const struct kt_kernel *k, unsigned ncpu,
				  const struct kt_assert *a, char **why);
void kt_hostmon_free(struct kt_hostmon *h);
struct kt_mon *kt_hostmon_mon(struct kt_hostmon *h);

/* One sample (call from on_tick). */
void kt_hostmon_tick(struct kt_hostmon *h, struct kt_vm_guest *g);

/*
 * After the VM stopped: judge (the verdict joins o->result when the guest
 * sent one), fill o->monitor and o->monitor_report. h may be NULL with
 * not_run saying why (then the monitor is Inconclusive for the result).
 */
void kt_hostmon_finish(struct kt_hostmon *h, const char *not_run, struct kt_outcome *o);

#endif
