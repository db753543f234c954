// SPDX-License-Identifier: GPL-2.0
/* ktstr topo: this machine's CPU topology as scenarios see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scenario/scenario.h"
#include "util/opt.h"
#include "util/util.h"

static int cmd_topo(int argc, char **argv)
{
	const struct kt_opt opts[] = {KT_OPT_END};
	const struct kt_cmdline cl = {
		"topo", NULL,
		"Print the CPU topology read from sysfs: online CPUs, last-level caches\n"
		"(cache index3 shared_cpu_list) and NUMA nodes, then each LLC's node and CPUs.",
		opts, NULL, 0,
	};
	struct kt_hwtopo t;
	char *err = NULL;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (kt_hwtopo_read(NULL, &t, &err) < 0) {
		kt_err("reading CPU topology: %s", err);
		free(err);
		return 1;
	}
	printf("CPUs:       %d\n", t.nr_cpus);
	printf("LLCs:       %d\n", t.nr_llcs);
	printf("NUMA nodes: %d\n", t.nr_nodes);
	for (int i = 0; i < t.nr_llcs; i++) {
		int cpu, k = 0;

		printf("  LLC %d (node %d): [", i, t.node_ids[t.llc_node[i]]);
		kt_cpuset_for_each(cpu, &t.llcs[i])
			printf("%s%d", k++ ? ", " : "", cpu);
		printf("]\n");
	}
	kt_hwtopo_free(&t);
	return 0;
}

KTSTR_COMMAND(topo, "topo", "show the CPU topology (CPUs, LLCs, NUMA nodes)", cmd_topo, 32);
