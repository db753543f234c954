/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The topology a test declares: what the VM is built with. Written as
 * "NnLlCcTt" (e.g. "1n2l4c1t") or "N,L,C,T" (e.g. "1,2,4,1"); parsed,
 * validated and formatted in one place (src/topo/topo.h). What a running
 * machine's sysfs reports is a different type (struct kt_hwtopo).
 */
#ifndef KTSTR_TOPO_H
#define KTSTR_TOPO_H

struct kt_topo_spec {
	int numa_nodes; /* NUMA nodes; llcs is a multiple of it */
	int llcs;       /* last-level caches in total (one VM socket each) */
	int cores;      /* cores per LLC */
	int threads;    /* SMT threads per core */
};

#endif
