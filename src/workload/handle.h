/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the workload handle: shared by handle.c (spawn, start, kill) and collect.c. */
#ifndef KTSTR_WORKLOAD_HANDLE_H
#define KTSTR_WORKLOAD_HANDLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "workload/internal.h"

#define START_TIMEOUT_MS 30000
#define MAX_REPORT_BYTES (16u << 20)
#define DEFAULT_DEADLINE_MS 5000
#define GROUP_STRIDE 64 /* bytes per group futex region (one cache line) */

struct worker {
	pid_t pid;
	int report_fd; /* read end, -1 when closed */
	int start_fd;  /* parent's end of the start socket, -1 when closed */
	bool reaped;
	int status; /* valid when reaped */
};

struct kt_workload {
	struct kt_workload_config cfg;
	size_t n;
	struct worker *w;
	pid_t *pids;
	uint64_t *iter_slots;
	size_t iter_len;
	void *group_mem;
	size_t group_len;
	bool started;
	bool collected;
};

void kh_close_fd(int *fd);
void kh_kill_worker(struct worker *w);
void kh_reap_worker(struct worker *w);

#endif
