// SPDX-License-Identifier: GPL-2.0
/*
 * Example ktstr suite: the kernel's own sched_ext example schedulers
 * (tools/sched_ext: scx_simple, scx_qmap, scx_central, scx_flatcg) and the
 * default scheduler (EEVDF), under several scenarios and topologies.
 *
 *   make examples
 *   ktstr test build/examples/ktstr-examples          # all, in parallel VMs
 *   build/examples/ktstr-examples --exact ktstr/qmap_cpusets   # one, directly
 *
 * Schedulers are found next to the binary, through KTSTR_SCHEDULER, or in
 * the kernel cache entry's scheduler directory (built with the kernel).
 */
#include <ktstr.h>

KTSTR_SCHEDULER(scx_simple, .binary = "scx_simple");
KTSTR_SCHEDULER(scx_qmap, .binary = "scx_qmap", .topology = "1n2l2c1t");
KTSTR_SCHEDULER(scx_central, .binary = "scx_central", .topology = "1n1l4c1t");
KTSTR_SCHEDULER(scx_flatcg, .binary = "scx_flatcg");

/* Baseline: two busy cgroups under EEVDF, no sched_ext scheduler. */
KTSTR_TEST(eevdf_steady, .llcs = 1, .cores = 2)
{
	return ktstr_run_canned(ctx, "steady");
}

/* SMT siblings under EEVDF: mixed spinning and yielding work. */
KTSTR_TEST(eevdf_smt_mixed, .topology = "1n1l2c2t")
{
	return ktstr_execute_defs(
		ctx, KTSTR_DEFS({.name = "spin"},
				{.name = "mixed", .works = {{.work = {.type = KT_WORK_MIXED}}}}));
}

/* scx_simple: one global vtime queue; two equal cgroups must both progress. */
KTSTR_TEST(simple_steady, .scheduler = &scx_simple, .llcs = 1, .cores = 2)
{
	return ktstr_run_canned(ctx, "steady");
}

/* scx_qmap on two LLCs: cgroups pinned to disjoint halves stay there. */
KTSTR_TEST(qmap_cpusets, .scheduler = &scx_qmap,
	   .assert = {.isolation = KTSTR_ON})
{
	return ktstr_execute_defs(ctx,
				  KTSTR_DEFS({.name = "cg_0", .cpuset = KT_CPUSET_DISJOINT(0, 2)},
					     {.name = "cg_1", .cpuset = KT_CPUSET_DISJOINT(1, 2)}));
}

/* scx_qmap: cpusets applied in the middle of the run. */
KTSTR_TEST(qmap_cpuset_apply, .scheduler = &scx_qmap, .duration_s = 3)
{
	return ktstr_run_canned(ctx, "cpuset_apply");
}

/* scx_central: one CPU dispatches for all; bursty + spinning cgroups. */
KTSTR_TEST(central_bursty, .scheduler = &scx_central)
{
	return ktstr_execute_defs(
		ctx, KTSTR_DEFS({.name = "spin"},
				{.name = "bursty", .works = {{.work = {.type = KT_WORK_BURSTY}}}}));
}

/* scx_flatcg: hierarchical weights, nested cgroups. */
KTSTR_TEST(flatcg_nested, .scheduler = &scx_flatcg, .llcs = 1, .cores = 2)
{
	return ktstr_run_canned(ctx, "nested_steady");
}
