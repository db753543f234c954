/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between the workload handle (parent side) and worker_main (child side). */
#ifndef KTSTR_WORKLOAD_INTERNAL_H
#define KTSTR_WORKLOAD_INTERNAL_H

#include "workload/workload.h"

/* What one forked worker needs; filled by the parent before fork. */
struct kt_worker_ctx {
	const struct kt_workload_config *cfg;
	unsigned idx;	     /* index in the workload */
	unsigned group_idx;  /* index inside its group (0 = first/messenger) */
	void *group_mem;     /* shared futex region of the group (NULL if ungrouped) */
	uint64_t *iter_slot; /* shared iteration counter (atomic stores) */
	int pipe_rd;	     /* PipeIo/CachePipe: read end from the partner, else -1 */
	int pipe_wr;	     /* write end to the partner, else -1 */
	bool has_affinity;
	struct kt_cpuset affinity;
};

extern volatile sig_atomic_t kt_worker_stop;

/* xorshift64: the workers' and the handle's cheap PRNG (state must not be 0). */
static inline uint64_t kt_xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Run the work loop until kt_worker_stop; fills *rep (caller clears). */
void kt_worker_main(const struct kt_worker_ctx *ctx, struct kt_worker_report *rep);

#endif
