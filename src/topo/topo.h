/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU topology, two kinds that must not be confused:
 *
 *  - struct kt_topo_spec (include/ktstr/topo.h): a DECLARED topology, the
 *    shape of the VM a test or `ktstr shell --topology` asks for. One parser
 *    (both grammars), one validation with the VM engine's real limits, one
 *    formatter. Used by the CLI, the test API and plan, the VM engine (QEMU
 *    -smp/-numa and KTSTR_TOPO on the kernel command line) and the guest.
 *
 *  - struct kt_hwtopo: what a running machine's sysfs REPORTS (online
 *    CPUs, LLC groups, NUMA nodes, SMT siblings). Scenarios place cgroups
 *    and workers with it.
 *
 * kt_hwtopo_check() ties them: guest init compares sysfs with the declared
 * KTSTR_TOPO and fails the boot on a mismatch.
 */
#ifndef KTSTR_TOPO_TOPO_H
#define KTSTR_TOPO_TOPO_H

#include <stddef.h>

#include <ktstr/topo.h>
#include "util/util.h"

/* ---- declared topology ---------------------------------------------------- */

/*
 * The VM engine's limits: QEMU builds xAPIC ids from power-of-two
 * socket/core/thread fields, and ids must stay below the broadcast id 255.
 */
#define KT_TOPO_MAX_CPUS 255
#define KT_TOPO_MAX_APIC_ID 254

/* Room for any formatted spec, including invalid ones (4 x "-2147483648" + 4). */
#define KT_TOPO_SPEC_STRLEN 48

/*
 * Parse "NnLlCcTt" or "N,L,C,T" (four decimal integers, nothing else) and
 * validate it. On failure -EINVAL with *err (malloc'd) naming the string:
 * "invalid topology '1,2,3': expected ..." or "invalid topology 'S': <why>".
 */
int kt_topo_spec_parse(const char *s, struct kt_topo_spec *out, char **err);
/*
 * The syntax alone, for a topology that is completed before it is
 * validated (the test API: a string, then per-field overrides).
 */
int kt_topo_spec_scan(const char *s, struct kt_topo_spec *out, char **err);
/*
 * The one validation: each field >= 1 and <= KT_TOPO_MAX_CPUS, llcs a
 * multiple of numa_nodes, at most KT_TOPO_MAX_CPUS CPUs, APIC ids at most
 * KT_TOPO_MAX_APIC_ID. Arithmetic cannot overflow. -EINVAL with *why the
 * reason alone (e.g. "512 CPUs, at most 255 supported").
 */
int kt_topo_spec_check(const struct kt_topo_spec *t, char **why);
/* kt_topo_spec_check with *err "invalid topology '<formatted>': <why>". */
int kt_topo_spec_validate(const struct kt_topo_spec *t, char **err);
/* llcs * cores * threads; -1 when a field is < 1 or the product overflows int. */
int kt_topo_spec_cpus(const struct kt_topo_spec *t);
/* "{n}n{l}l{c}c{t}t", the canonical form (len >= KT_TOPO_SPEC_STRLEN never truncates). */
void kt_topo_spec_format(const struct kt_topo_spec *t, char *buf, size_t len);
bool kt_topo_spec_equal(const struct kt_topo_spec *a, const struct kt_topo_spec *b);

/* ---- what sysfs reports ------------------------------------------------------ */

struct kt_hwtopo {
	struct kt_cpuset all; /* online CPUs */
	int nr_cpus;
	int nr_llcs;
	struct kt_cpuset *llcs; /* [nr_llcs], ordered by lowest CPU */
	int *llc_node;          /* [nr_llcs]: NUMA node index of the LLC's first CPU */
	int nr_nodes;
	struct kt_cpuset *nodes; /* [nr_nodes]: online CPUs of each node (index order) */
	int *node_ids;           /* [nr_nodes]: kernel node number */
	int max_cpu;             /* highest online CPU */
	struct kt_cpuset *smt;   /* [max_cpu + 1]: SMT siblings of each CPU (itself included) */
	bool has_smt;            /* some core has >1 thread */
};

/*
 * Read the topology from <root>/sys/devices/system/{cpu,node} (root "" or
 * NULL = the real sysfs). LLC = cache/index3/shared_cpu_list (falling back
 * to the highest cache index, then to one LLC of all CPUs); NUMA nodes from
 * node<N>/cpulist (none: one node 0 with every CPU); SMT siblings from
 * topology/thread_siblings_list. Returns 0 or -errno with *err set.
 */
int kt_hwtopo_read(const char *root, struct kt_hwtopo *t, char **err);
/*
 * What a VM built from spec reports (CPUs numbered LLC-major, then core,
 * then thread; LLCs spread evenly over nodes). -EINVAL when spec is invalid.
 */
int kt_hwtopo_synth(struct kt_hwtopo *t, const struct kt_topo_spec *spec);
void kt_hwtopo_free(struct kt_hwtopo *t);
/* Sorted online CPUs minus the last one when there are more than 2. */
void kt_hwtopo_usable(const struct kt_hwtopo *t, struct kt_cpuset *out);
/* Kernel NUMA node numbers whose CPUs intersect set. */
void kt_hwtopo_nodes_of(const struct kt_hwtopo *t, const struct kt_cpuset *set,
			struct kt_cpuset *node_ids);

/*
 * Does what sysfs reports match the declared topology? Compares online
 * CPUs, NUMA nodes and their CPUs, LLCs and their CPUs, and SMT siblings.
 * 0, or -EINVAL with *err "topology mismatch: declared S, but <what sysfs
 * says>" naming the first difference.
 */
int kt_hwtopo_check(const struct kt_hwtopo *hw, const struct kt_topo_spec *want, char **err);
/*
 * The guest's check: parse declared (KTSTR_TOPO from the kernel command
 * line; NULL is an error, the VM engine always writes it), read sysfs under
 * root (NULL = the real one) and kt_hwtopo_check() it. 0 or -errno with *err.
 */
int kt_hwtopo_check_declared(const char *root, const char *declared, char **err);

#endif
