// SPDX-License-Identifier: GPL-2.0
/* Topology strings "numa_nodes,llcs,cores,threads" and accelerator names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "vm/vm.h"

#define TOPO_HINT "expected 'numa_nodes,llcs,cores,threads' (e.g. '1,2,4,1')"

static int order(int n) /* bits needed for 0..n-1 */
{
	int b = 0;

	while ((1 << b) < n)
		b++;
	return b;
}

int kt_topo_validate(const struct kt_vm_topo *t, char **err)
{
	char buf[64];
	long cpus;

	kt_topo_format(t, buf, sizeof(buf));
	if (t->numa_nodes < 1 || t->llcs < 1 || t->cores < 1 || t->threads < 1) {
		*err = kt_asprintf("invalid topology '%s': " TOPO_HINT, buf);
		return -EINVAL;
	}
	if (t->llcs % t->numa_nodes) {
		*err = kt_asprintf("invalid topology '%s': llcs (%d) must be a multiple of "
				   "numa_nodes (%d)",
				   buf, t->llcs, t->numa_nodes);
		return -EINVAL;
	}
	cpus = (long)t->llcs * t->cores * t->threads;
	if (t->llcs > KT_TOPO_MAX_CPUS || t->cores > KT_TOPO_MAX_CPUS ||
	    t->threads > KT_TOPO_MAX_CPUS || cpus > KT_TOPO_MAX_CPUS) {
		*err = kt_asprintf("invalid topology '%s': %ld CPUs, at most %d supported", buf,
				   (long)t->llcs * t->cores * t->threads, KT_TOPO_MAX_CPUS);
		return -EINVAL;
	}
	/* APIC ids pack socket/core/thread in power-of-two fields (no x2APIC) */
	{
		int tb = order(t->threads), cb = order(t->cores);
		long max_id = ((long)(t->llcs - 1) << (cb + tb)) + ((long)(t->cores - 1) << tb) +
			      (t->threads - 1);

		if (max_id > 254) {
			*err = kt_asprintf("invalid topology '%s': APIC ids up to %ld, at most 254 "
					   "without x2APIC (use power-of-two cores/threads or "
					   "fewer LLCs)",
					   buf, max_id);
			return -EINVAL;
		}
	}
	return 0;
}

int kt_topo_split(const char *s, bool suffixes, long max, int v[4])
{
	static const char suffix[4] = {'n', 'l', 'c', 't'};
	bool commas = !suffixes || strchr(s, ',');
	const char *p = s;

	for (int k = 0; k < 4; k++) {
		char *end;
		long x;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		x = strtol(p, &end, 10);
		if (errno || x < 1 || x > max)
			return -EINVAL;
		v[k] = (int)x;
		p = end;
		if (commas) {
			if (k < 3 && *p++ != ',')
				return -EINVAL;
		} else if (*p++ != suffix[k]) {
			return -EINVAL;
		}
	}
	return *p ? -EINVAL : 0;
}

int kt_topo_parse(const char *s, struct kt_vm_topo *out, char **err)
{
	int v[4];

	if (!s)
		s = "";
	if (kt_topo_split(s, false, 100000, v)) {
		*err = kt_asprintf("invalid topology '%s': " TOPO_HINT, s);
		return -EINVAL;
	}
	out->numa_nodes = v[0];
	out->llcs = v[1];
	out->cores = v[2];
	out->threads = v[3];
	return kt_topo_validate(out, err);
}

int kt_topo_cpus(const struct kt_vm_topo *t)
{
	return t->llcs * t->cores * t->threads;
}

void kt_topo_format(const struct kt_vm_topo *t, char *buf, size_t len)
{
	snprintf(buf, len, "%d,%d,%d,%d", t->numa_nodes, t->llcs, t->cores, t->threads);
}

int kt_accel_parse(const char *s, enum kt_accel *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		*out = KT_ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = KT_ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*out = KT_ACCEL_TCG;
	else
		return -EINVAL;
	return 0;
}

const char *kt_accel_name(enum kt_accel a)
{
	switch (a) {
	case KT_ACCEL_KVM:
		return "kvm";
	case KT_ACCEL_TCG:
		return "tcg";
	default:
		return "auto";
	}
}
