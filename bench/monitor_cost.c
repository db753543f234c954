// SPDX-License-Identifier: GPL-2.0
/* The workload of bench/monitor_cost.sh: EEVDF, 8 vCPUs, the steady scenario. */
#include <ktstr.h>

KTSTR_TEST(monitor_cost_8cpu, .topology = "1n2l4c1t", .duration_s = 10)
{
	return ktstr_run_canned(ctx, "steady");
}
