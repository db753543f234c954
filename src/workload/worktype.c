// SPDX-License-Identifier: GPL-2.0
/* Work type names, defaults, group sizes and config defaults. */
#include <errno.h>
#include <string.h>

#include "workload/workload.h"

static const char *const type_names[KT_WORK__COUNT] = {
    [KT_WORK_CPU_SPIN] = "CpuSpin",
    [KT_WORK_YIELD_HEAVY] = "YieldHeavy",
    [KT_WORK_MIXED] = "Mixed",
    [KT_WORK_IO_SYNC] = "IoSync",
    [KT_WORK_BURSTY] = "Bursty",
    [KT_WORK_PIPE_IO] = "PipeIo",
    [KT_WORK_FUTEX_PING_PONG] = "FutexPingPong",
    [KT_WORK_FUTEX_FAN_OUT] = "FutexFanOut",
    [KT_WORK_CACHE_PRESSURE] = "CachePressure",
    [KT_WORK_CACHE_YIELD] = "CacheYield",
    [KT_WORK_CACHE_PIPE] = "CachePipe",
    [KT_WORK_SEQUENCE] = "Sequence",
    [KT_WORK_FORK_EXIT] = "ForkExit",
    [KT_WORK_NICE_SWEEP] = "NiceSweep",
    [KT_WORK_AFFINITY_CHURN] = "AffinityChurn",
    [KT_WORK_POLICY_CHURN] = "PolicyChurn",
    [KT_WORK_FAN_OUT_COMPUTE] = "FanOutCompute",
    [KT_WORK_PAGE_FAULT_CHURN] = "PageFaultChurn",
    [KT_WORK_MUTEX_CONTENTION] = "MutexContention",
    [KT_WORK_CUSTOM] = "Custom",
};

static const char *const constructible_names[] = {
    "CpuSpin",	     "YieldHeavy",     "Mixed",		  "IoSync",	   "Bursty",
    "PipeIo",	     "FutexPingPong",  "FutexFanOut",	  "CachePressure", "CacheYield",
    "CachePipe",     "ForkExit",       "NiceSweep",	  "AffinityChurn", "PolicyChurn",
    "FanOutCompute", "PageFaultChurn", "MutexContention",
};

const char *kt_work_type_name(enum kt_work_type t)
{
	if ((unsigned)t >= KT_WORK__COUNT)
		return "Unknown";
	return type_names[t];
}

int kt_work_type_from_name(const char *name, enum kt_work_type *out)
{
	if (!name)
		return -EINVAL;
	for (unsigned i = 0; i < KT_WORK__COUNT; i++) {
		if (!strcmp(name, type_names[i])) {
			*out = (enum kt_work_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

void kt_work_default(struct kt_work *w, enum kt_work_type t)
{
	memset(w, 0, sizeof(*w));
	w->type = t;
	switch (t) {
	case KT_WORK_BURSTY:
		w->bursty.burst_ms = 50;
		w->bursty.sleep_ms = 100;
		break;
	case KT_WORK_PIPE_IO:
		w->pipe_io.burst_iters = 1024;
		break;
	case KT_WORK_FUTEX_PING_PONG:
		w->futex_ping_pong.spin_iters = 1024;
		break;
	case KT_WORK_FUTEX_FAN_OUT:
		w->futex_fan_out.fan_out = 4;
		w->futex_fan_out.spin_iters = 1024;
		break;
	case KT_WORK_CACHE_PRESSURE:
		w->cache_pressure.size_kb = 32;
		w->cache_pressure.stride = 64;
		break;
	case KT_WORK_CACHE_YIELD:
		w->cache_yield.size_kb = 32;
		w->cache_yield.stride = 64;
		break;
	case KT_WORK_CACHE_PIPE:
		w->cache_pipe.size_kb = 32;
		w->cache_pipe.burst_iters = 1024;
		break;
	case KT_WORK_SEQUENCE:
		w->sequence.n_phases = 1;
		w->sequence.phases[0].kind = KT_PHASE_SPIN;
		w->sequence.phases[0].dur_ns = 100000000ull;
		break;
	case KT_WORK_AFFINITY_CHURN:
		w->affinity_churn.spin_iters = 1024;
		break;
	case KT_WORK_POLICY_CHURN:
		w->policy_churn.spin_iters = 1024;
		break;
	case KT_WORK_FAN_OUT_COMPUTE:
		w->fan_out_compute.fan_out = 4;
		w->fan_out_compute.cache_footprint_kb = 256;
		w->fan_out_compute.operations = 5;
		w->fan_out_compute.sleep_usec = 100;
		break;
	case KT_WORK_PAGE_FAULT_CHURN:
		w->page_fault_churn.region_kb = 4096;
		w->page_fault_churn.touches_per_cycle = 256;
		w->page_fault_churn.spin_iters = 64;
		break;
	case KT_WORK_MUTEX_CONTENTION:
		w->mutex_contention.contenders = 4;
		w->mutex_contention.hold_iters = 256;
		w->mutex_contention.work_iters = 1024;
		break;
	case KT_WORK_CUSTOM:
		w->custom.name = "custom";
		break;
	default:
		break;
	}
}

int kt_work_from_name(const char *name, struct kt_work *out)
{
	enum kt_work_type t;

	if (kt_work_type_from_name(name, &t) < 0 || t == KT_WORK_SEQUENCE || t == KT_WORK_CUSTOM)
		return -EINVAL;
	kt_work_default(out, t);
	return 0;
}

const char *const *kt_work_all_names(size_t *count)
{
	if (count)
		*count = KT_ARRAY_SIZE(constructible_names);
	return constructible_names;
}

unsigned kt_work_group_size(const struct kt_work *w)
{
	switch (w->type) {
	case KT_WORK_PIPE_IO:
	case KT_WORK_FUTEX_PING_PONG:
	case KT_WORK_CACHE_PIPE:
		return 2;
	case KT_WORK_FUTEX_FAN_OUT:
		return w->futex_fan_out.fan_out + 1;
	case KT_WORK_FAN_OUT_COMPUTE:
		return w->fan_out_compute.fan_out + 1;
	case KT_WORK_MUTEX_CONTENTION:
		return w->mutex_contention.contenders;
	default:
		return 0;
	}
}

bool kt_mem_policy_has_nodes(const struct kt_mem_policy *mp)
{
	switch (mp->kind) {
	case KT_MPOL_BIND:
	case KT_MPOL_PREFERRED:
	case KT_MPOL_INTERLEAVE:
	case KT_MPOL_PREFERRED_MANY:
	case KT_MPOL_WEIGHTED_INTERLEAVE:
		return true;
	default:
		return false;
	}
}

int kt_mem_policy_mode(const struct kt_mem_policy *mp)
{
	switch (mp->kind) {
	case KT_MPOL_BIND:
		return 2; /* MPOL_BIND */
	case KT_MPOL_PREFERRED:
		return 1; /* MPOL_PREFERRED */
	case KT_MPOL_INTERLEAVE:
		return 3; /* MPOL_INTERLEAVE */
	case KT_MPOL_LOCAL:
		return 4; /* MPOL_LOCAL */
	case KT_MPOL_PREFERRED_MANY:
		return 5; /* MPOL_PREFERRED_MANY */
	case KT_MPOL_WEIGHTED_INTERLEAVE:
		return 6; /* MPOL_WEIGHTED_INTERLEAVE */
	default:
		return -1;
	}
}

void kt_workload_config_init(struct kt_workload_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	kt_work_default(&cfg->work, KT_WORK_CPU_SPIN);
	cfg->sched.kind = KT_SCHED_NORMAL;
	cfg->num_workers = 1;
	cfg->affinity.kind = KT_AFF_NONE;
	cfg->mem.kind = KT_MPOL_DEFAULT;
}
