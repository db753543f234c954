// SPDX-License-Identifier: GPL-2.0
/* What sysfs reports about CPUs (or a fake tree under a root directory); see topo.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo.h"

static int read_cpulist(const char *path, struct kt_cpuset *out)
{
	char *txt = NULL;
	int r = kt_read_file(path, &txt, NULL, 65536);

	if (r < 0)
		return r;
	r = kt_cpuset_parse(txt, out);
	free(txt);
	return r;
}

void kt_hwtopo_free(struct kt_hwtopo *t)
{
	free(t->llcs);
	free(t->llc_node);
	free(t->nodes);
	free(t->node_ids);
	free(t->smt);
	memset(t, 0, sizeof(*t));
}

/* Find the set in v[0..n) equal to s; -1 if none. */
static int find_set(const struct kt_cpuset *v, int n, const struct kt_cpuset *s)
{
	for (int i = 0; i < n; i++)
		if (kt_cpuset_equal(&v[i], s))
			return i;
	return -1;
}

static int cmp_first(const void *a, const void *b)
{
	return kt_cpuset_first(a) - kt_cpuset_first(b);
}

/* LLC sets: node indexes and sorting, shared by read and synth. */
static void finish_llcs(struct kt_hwtopo *t)
{
	qsort(t->llcs, t->nr_llcs, sizeof(*t->llcs), cmp_first);
	t->llc_node = kt_calloc(t->nr_llcs ? t->nr_llcs : 1, sizeof(int));
	for (int i = 0; i < t->nr_llcs; i++) {
		int c = kt_cpuset_first(&t->llcs[i]);

		for (int n = 0; n < t->nr_nodes; n++)
			if (kt_cpuset_has(&t->nodes[n], c))
				t->llc_node[i] = n;
	}
	t->has_smt = false;
	for (int c = 0; c <= t->max_cpu; c++)
		if (kt_cpuset_count(&t->smt[c]) > 1)
			t->has_smt = true;
}

/* Cache index to use for LLC: index3, else the highest indexN present. */
static char *llc_path(const char *cpudir, int cpu)
{
	char *p = kt_asprintf("%s/cpu%d/cache/index3/shared_cpu_list", cpudir, cpu);
	char *dir;
	DIR *d;
	struct dirent *de;
	int best = -1;

	if (kt_exists(p))
		return p;
	free(p);
	dir = kt_asprintf("%s/cpu%d/cache", cpudir, cpu);
	d = opendir(dir);
	if (d) {
		while ((de = readdir(d))) {
			int i;

			if (sscanf(de->d_name, "index%d", &i) == 1 && i > best)
				best = i;
		}
		closedir(d);
	}
	free(dir);
	if (best < 0)
		return NULL;
	return kt_asprintf("%s/cpu%d/cache/index%d/shared_cpu_list", cpudir, cpu, best);
}

int kt_hwtopo_read(const char *root, struct kt_hwtopo *t, char **err)
{
	char *cpudir, *nodedir, *p;
	int cpu, r;
	DIR *d;

	memset(t, 0, sizeof(*t));
	if (!root)
		root = "";
	cpudir = kt_asprintf("%s/sys/devices/system/cpu", root);
	nodedir = kt_asprintf("%s/sys/devices/system/node", root);
	p = kt_asprintf("%s/online", cpudir);
	r = read_cpulist(p, &t->all);
	if (r < 0 || kt_cpuset_empty(&t->all)) {
		*err = kt_asprintf("%s: %s", p, r < 0 ? strerror(-r) : "no online CPUs");
		free(p);
		r = r < 0 ? r : -ENOENT;
		goto out;
	}
	free(p);
	t->nr_cpus = kt_cpuset_count(&t->all);
	t->max_cpu = 0;
	kt_cpuset_for_each(cpu, &t->all)
		t->max_cpu = cpu;

	/* NUMA nodes (index order = node number order). */
	d = opendir(nodedir);
	if (d) {
		struct dirent *de;
		int ids[KT_MAX_CPUS], n = 0;

		while ((de = readdir(d))) {
			int id;
			char tail;

			if (sscanf(de->d_name, "node%d%c", &id, &tail) == 1 && id >= 0 &&
			    n < KT_MAX_CPUS)
				ids[n++] = id;
		}
		closedir(d);
		/* insertion sort */
		for (int i = 1; i < n; i++)
			for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
				int x = ids[j];

				ids[j] = ids[j - 1];
				ids[j - 1] = x;
			}
		t->nodes = kt_calloc(n ? n : 1, sizeof(*t->nodes));
		t->node_ids = kt_calloc(n ? n : 1, sizeof(int));
		for (int i = 0; i < n; i++) {
			struct kt_cpuset s;

			p = kt_asprintf("%s/node%d/cpulist", nodedir, ids[i]);
			r = read_cpulist(p, &s);
			if (r < 0) {
				*err = kt_asprintf("%s: %s", p, strerror(-r));
				free(p);
				goto out;
			}
			free(p);
			kt_cpuset_and(&s, &s, &t->all);
			/* Memory-only nodes keep their index but hold no CPUs. */
			t->node_ids[t->nr_nodes] = ids[i];
			t->nodes[t->nr_nodes++] = s;
		}
	}
	if (t->nr_nodes == 0) {
		free(t->nodes);
		free(t->node_ids);
		t->nodes = kt_calloc(1, sizeof(*t->nodes));
		t->node_ids = kt_calloc(1, sizeof(int));
		t->nodes[0] = t->all;
		t->nr_nodes = 1;
	}

	/* LLCs and SMT siblings. */
	t->llcs = kt_calloc(t->nr_cpus, sizeof(*t->llcs));
	t->smt = kt_calloc(t->max_cpu + 1, sizeof(*t->smt));
	kt_cpuset_for_each(cpu, &t->all)
	{
		struct kt_cpuset s;
		char *lp = llc_path(cpudir, cpu);

		if (!lp || read_cpulist(lp, &s) < 0)
			s = t->all;
		free(lp);
		kt_cpuset_and(&s, &s, &t->all);
		kt_cpuset_set(&s, cpu);
		if (find_set(t->llcs, t->nr_llcs, &s) < 0) {
			/* A CPU already in another LLC (inconsistent sysfs): keep the first. */
			bool dup = false;

			for (int i = 0; i < t->nr_llcs; i++)
				if (kt_cpuset_has(&t->llcs[i], cpu))
					dup = true;
			if (!dup)
				t->llcs[t->nr_llcs++] = s;
		}
		p = kt_asprintf("%s/cpu%d/topology/thread_siblings_list", cpudir, cpu);
		if (read_cpulist(p, &t->smt[cpu]) < 0)
			kt_cpuset_zero(&t->smt[cpu]);
		free(p);
		kt_cpuset_and(&t->smt[cpu], &t->smt[cpu], &t->all);
		kt_cpuset_set(&t->smt[cpu], cpu);
	}
	finish_llcs(t);
	r = 0;
out:
	free(cpudir);
	free(nodedir);
	if (r < 0)
		kt_hwtopo_free(t);
	return r;
}

int kt_hwtopo_synth(struct kt_hwtopo *t, const struct kt_topo_spec *spec)
{
	int cpu = 0, per_node, llcs = spec->llcs, cores = spec->cores, threads = spec->threads;
	char *err = NULL;

	memset(t, 0, sizeof(*t));
	if (kt_topo_spec_validate(spec, &err)) {
		free(err);
		return -EINVAL;
	}
	per_node = llcs / spec->numa_nodes;
	t->nr_cpus = kt_topo_spec_cpus(spec);
	t->max_cpu = t->nr_cpus - 1;
	t->nr_nodes = spec->numa_nodes;
	t->nr_llcs = llcs;
	t->nodes = kt_calloc(t->nr_nodes, sizeof(*t->nodes));
	t->node_ids = kt_calloc(t->nr_nodes, sizeof(int));
	t->llcs = kt_calloc(llcs, sizeof(*t->llcs));
	t->smt = kt_calloc(t->nr_cpus, sizeof(*t->smt));
	for (int l = 0; l < llcs; l++) {
		for (int c = 0; c < cores; c++) {
			int first = cpu;

			for (int th = 0; th < threads; th++, cpu++) {
				kt_cpuset_set(&t->all, cpu);
				kt_cpuset_set(&t->llcs[l], cpu);
				kt_cpuset_set(&t->nodes[l / per_node], cpu);
			}
			for (int a = first; a < cpu; a++)
				for (int b = first; b < cpu; b++)
					kt_cpuset_set(&t->smt[a], b);
		}
	}
	for (int n = 0; n < t->nr_nodes; n++)
		t->node_ids[n] = n;
	finish_llcs(t);
	return 0;
}

void kt_hwtopo_usable(const struct kt_hwtopo *t, struct kt_cpuset *out)
{
	*out = t->all;
	if (t->nr_cpus > 2)
		kt_cpuset_clear(out, t->max_cpu);
}

void kt_hwtopo_nodes_of(const struct kt_hwtopo *t, const struct kt_cpuset *set,
		      struct kt_cpuset *node_ids)
{
	kt_cpuset_zero(node_ids);
	for (int n = 0; n < t->nr_nodes; n++) {
		struct kt_cpuset x;

		kt_cpuset_and(&x, &t->nodes[n], set);
		if (!kt_cpuset_empty(&x))
			kt_cpuset_set(node_ids, t->node_ids[n]);
	}
}

/* Fills *err with the first difference between hw and want; 0 when none. */
static int mismatch(const struct kt_hwtopo *hw, const struct kt_topo_spec *want, char **err)
{
	int cpus = kt_topo_spec_cpus(want);
	int per_llc = want->cores * want->threads;
	int per_node = cpus / want->numa_nodes;
	char set[256];
	int cpu;

	if (hw->nr_cpus != cpus) {
		kt_cpuset_format(&hw->all, set, sizeof(set));
		*err = kt_asprintf("%d CPUs, sysfs reports %d online (%s)", cpus, hw->nr_cpus, set);
		return -EINVAL;
	}
	if (hw->nr_nodes != want->numa_nodes) {
		*err = kt_asprintf("%d NUMA nodes, sysfs reports %d", want->numa_nodes,
				   hw->nr_nodes);
		return -EINVAL;
	}
	for (int n = 0; n < hw->nr_nodes; n++) {
		if (kt_cpuset_count(&hw->nodes[n]) != per_node) {
			kt_cpuset_format(&hw->nodes[n], set, sizeof(set));
			*err = kt_asprintf("%d CPUs per NUMA node, sysfs reports node %d with CPUs "
					   "'%s'",
					   per_node, hw->node_ids[n], set);
			return -EINVAL;
		}
	}
	if (hw->nr_llcs != want->llcs) {
		*err = kt_asprintf("%d LLCs, sysfs reports %d", want->llcs, hw->nr_llcs);
		return -EINVAL;
	}
	for (int l = 0; l < hw->nr_llcs; l++) {
		if (kt_cpuset_count(&hw->llcs[l]) != per_llc) {
			kt_cpuset_format(&hw->llcs[l], set, sizeof(set));
			*err = kt_asprintf("%d CPUs per LLC, sysfs reports an LLC with CPUs '%s'",
					   per_llc, set);
			return -EINVAL;
		}
	}
	kt_cpuset_for_each(cpu, &hw->all)
	{
		if (kt_cpuset_count(&hw->smt[cpu]) != want->threads) {
			kt_cpuset_format(&hw->smt[cpu], set, sizeof(set));
			*err = kt_asprintf("%d threads per core, sysfs reports CPU %d with siblings "
					   "'%s'",
					   want->threads, cpu, set);
			return -EINVAL;
		}
	}
	return 0;
}

int kt_hwtopo_check(const struct kt_hwtopo *hw, const struct kt_topo_spec *want, char **err)
{
	char name[KT_TOPO_SPEC_STRLEN], *why = NULL;
	int r = kt_topo_spec_validate(want, err);

	if (r)
		return r;
	r = mismatch(hw, want, &why);
	if (r) {
		kt_topo_spec_format(want, name, sizeof(name));
		*err = kt_asprintf("topology mismatch: declared %s has %s", name, why);
		free(why);
	}
	return r;
}

int kt_hwtopo_check_declared(const char *root, const char *declared, char **err)
{
	struct kt_topo_spec want;
	struct kt_hwtopo hw;
	char *e = NULL;
	int r;

	if (!declared) {
		*err = kt_strdup("KTSTR_TOPO is missing from the kernel command line");
		return -EINVAL;
	}
	r = kt_topo_spec_parse(declared, &want, &e);
	if (r) {
		*err = kt_asprintf("KTSTR_TOPO: %s", e);
		free(e);
		return r;
	}
	r = kt_hwtopo_read(root, &hw, &e);
	if (r) {
		*err = kt_asprintf("reading the CPU topology: %s", e);
		free(e);
		return r;
	}
	r = kt_hwtopo_check(&hw, &want, err);
	kt_hwtopo_free(&hw);
	return r;
}
