/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host state: the host context that explains performance differences
 * between runs (CPU model, frequency governor, SMT, THP, kernel command
 * line, load, ...). kt_host_context() (src/results/host.c) records it in
 * every sidecar; `ktstr host-state` captures, shows and compares it.
 *
 * A host-state source is a snapshot file written by `host-state capture`
 * ({"host_state_version":1,"captured_at":..,"host":{..}}), a sidecar file,
 * a run directory (the first sidecar with a host context), or a run key
 * under ${KTSTR_TARGET_DIR:-target}/ktstr.
 */
#ifndef KTSTR_REPORT_HOSTSTATE_H
#define KTSTR_REPORT_HOSTSTATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define KT_HOST_STATE_VERSION 1

/*
 * Add what src/results/host.c does not read: cpufreq governor and driver,
 * SMT control and activity, threads per core, turbo/boost, load average,
 * CPU pressure, NUMA balancing, clocksource, isolated and nohz_full CPUs.
 * root prefixes /proc and /sys (NULL or "" = the live system). A value
 * that cannot be read is left out, never invented.
 */
void kt_host_state_extend(json_t *host, const char *root);

/* Keys whose values change from moment to moment (load, pressure). */
int kt_host_state_is_volatile(const char *key);

/* One flattened key ("sched_tunables.sched_rr_timeslice_ms") and its values. */
struct kt_host_diff {
	char *key;
	char *a; /* NULL: absent on that side */
	char *b;
};

/*
 * Flatten both objects (nested objects joined with '.') and list the keys
 * whose values differ, sorted by key. *n_same gets the number of equal keys.
 */
void kt_host_state_diff(const json_t *a, const json_t *b, struct kt_host_diff **out, size_t *n,
			size_t *n_same);
void kt_host_diff_free(struct kt_host_diff *d, size_t n);

/* The flattened context as an object of key -> value string (new reference). */
json_t *kt_host_state_flat(const json_t *host);

/* Print "key: value" lines of a host context (flattened, sorted). */
void kt_host_state_print(FILE *f, const json_t *host);

/* Load the host context of a source (see above). */
int kt_host_state_load(const char *src, json_t **out, char **err);

/* The snapshot document of `host-state capture` for the live host. */
json_t *kt_host_state_snapshot(void);

#endif
