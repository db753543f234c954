// SPDX-License-Identifier: GPL-2.0
/* CPU topology from sysfs (or a fake tree under a root directory). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

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

void kt_topo_free(struct kt_topo *t)
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
static void finish_llcs(struct kt_topo *t)
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

int kt_topo_read(const char *root, struct kt_topo *t, char **err)
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
		kt_topo_free(t);
	return r;
}

int kt_topo_synth(struct kt_topo *t, int nodes, int llcs, int cores, int threads)
{
	int cpu = 0, per_node;

	memset(t, 0, sizeof(*t));
	if (nodes < 1 || llcs < 1 || cores < 1 || threads < 1 || llcs % nodes ||
	    llcs * cores * threads > KT_MAX_CPUS)
		return -EINVAL;
	per_node = llcs / nodes;
	t->nr_cpus = llcs * cores * threads;
	t->max_cpu = t->nr_cpus - 1;
	t->nr_nodes = nodes;
	t->nr_llcs = llcs;
	t->nodes = kt_calloc(nodes, sizeof(*t->nodes));
	t->node_ids = kt_calloc(nodes, sizeof(int));
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
	for (int n = 0; n < nodes; n++)
		t->node_ids[n] = n;
	finish_llcs(t);
	return 0;
}

void kt_topo_usable(const struct kt_topo *t, struct kt_cpuset *out)
{
	*out = t->all;
	if (t->nr_cpus > 2)
		kt_cpuset_clear(out, t->max_cpu);
}

void kt_topo_nodes_of(const struct kt_topo *t, const struct kt_cpuset *set,
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
