// SPDX-License-Identifier: GPL-2.0
/* Declared topologies: the one parser, validation and formatter (see topo.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo/topo.h"

#define HINT "expected 'numa_nodes,llcs,cores,threads' (e.g. '1,2,4,1' or '1n2l4c1t')"
#define MAX_DIGITS 9 /* fits an int; anything longer is far beyond every limit */

static const char *const field[4] = {"numa_nodes", "llcs", "cores", "threads"};

static int order(long long n) /* bits needed for 0..n-1 */
{
	int b = 0;

	while ((1LL << b) < n)
		b++;
	return b;
}

/*
 * The checks, on values wide enough that no product below can overflow:
 * each field is bounded before anything is multiplied. *why is the reason
 * alone.
 */
static int check(const long long v[4], char **why)
{
	long long cpus, max_id;
	int tb, cb;

	for (int k = 0; k < 4; k++) {
		if (v[k] < 1) {
			*why = kt_asprintf("%s must be >= 1 (got %lld)", field[k], v[k]);
			return -EINVAL;
		}
		if (v[k] > KT_TOPO_MAX_CPUS) {
			*why = kt_asprintf("%s must be at most %d (got %lld)", field[k],
					   KT_TOPO_MAX_CPUS, v[k]);
			return -EINVAL;
		}
	}
	if (v[1] % v[0]) {
		*why = kt_asprintf("llcs (%lld) must be a multiple of numa_nodes (%lld)", v[1], v[0]);
		return -EINVAL;
	}
	cpus = v[1] * v[2] * v[3]; /* <= 255^3 */
	if (cpus > KT_TOPO_MAX_CPUS) {
		*why = kt_asprintf("%lld CPUs, at most %d supported", cpus, KT_TOPO_MAX_CPUS);
		return -EINVAL;
	}
	/* APIC ids pack socket (= LLC), core and thread in power-of-two fields. */
	tb = order(v[3]);
	cb = order(v[2]);
	max_id = ((v[1] - 1) << (cb + tb)) + ((v[2] - 1) << tb) + (v[3] - 1);
	if (max_id > KT_TOPO_MAX_APIC_ID) {
		*why = kt_asprintf("APIC ids up to %lld, at most %d without x2APIC (use "
				   "power-of-two cores/threads or fewer LLCs)",
				   max_id, KT_TOPO_MAX_APIC_ID);
		return -EINVAL;
	}
	return 0;
}

int kt_topo_spec_check(const struct kt_topo_spec *t, char **why)
{
	long long v[4] = {t->numa_nodes, t->llcs, t->cores, t->threads};

	return check(v, why);
}

static int invalid(const char *name, char *why, char **err)
{
	*err = kt_asprintf("invalid topology '%s': %s", name, why);
	free(why);
	return -EINVAL;
}

int kt_topo_spec_validate(const struct kt_topo_spec *t, char **err)
{
	char name[KT_TOPO_SPEC_STRLEN], *why = NULL;

	if (!kt_topo_spec_check(t, &why))
		return 0;
	kt_topo_spec_format(t, name, sizeof(name));
	return invalid(name, why, err);
}

/* Four unsigned decimals separated by commas, or each followed by n, l, c, t. */
static int split(const char *s, long long v[4])
{
	static const char suffix[4] = {'n', 'l', 'c', 't'};
	bool commas = strchr(s, ',') != NULL;
	const char *p = s;

	for (int k = 0; k < 4; k++) {
		int digits = 0;

		v[k] = 0;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits == MAX_DIGITS)
				return -ERANGE;
			v[k] = v[k] * 10 + (*p - '0');
		}
		if (!digits)
			return -EINVAL;
		if (commas) {
			if (k < 3 && *p++ != ',')
				return -EINVAL;
		} else if (*p++ != suffix[k]) {
			return -EINVAL;
		}
	}
	return *p ? -EINVAL : 0;
}

int kt_topo_spec_scan(const char *s, struct kt_topo_spec *out, char **err)
{
	long long v[4];
	int r;

	if (!s)
		s = "";
	r = split(s, v);
	if (r == -ERANGE)
		return invalid(s, kt_asprintf("a value is too large (each at most %d)",
					      KT_TOPO_MAX_CPUS),
			       err);
	if (r)
		return invalid(s, kt_strdup(HINT), err);
	out->numa_nodes = (int)v[0]; /* MAX_DIGITS: no truncation */
	out->llcs = (int)v[1];
	out->cores = (int)v[2];
	out->threads = (int)v[3];
	return 0;
}

int kt_topo_spec_parse(const char *s, struct kt_topo_spec *out, char **err)
{
	struct kt_topo_spec t;
	char *why = NULL;
	int r = kt_topo_spec_scan(s, &t, err);

	if (r)
		return r;
	if (kt_topo_spec_check(&t, &why))
		return invalid(s, why, err);
	*out = t;
	return 0;
}

int kt_topo_spec_cpus(const struct kt_topo_spec *t)
{
	int a, b;

	if (t->llcs < 1 || t->cores < 1 || t->threads < 1 ||
	    __builtin_mul_overflow(t->llcs, t->cores, &a) ||
	    __builtin_mul_overflow(a, t->threads, &b))
		return -1;
	return b;
}

void kt_topo_spec_format(const struct kt_topo_spec *t, char *buf, size_t len)
{
	snprintf(buf, len, "%dn%dl%dc%dt", t->numa_nodes, t->llcs, t->cores, t->threads);
}

bool kt_topo_spec_equal(const struct kt_topo_spec *a, const struct kt_topo_spec *b)
{
	return a->numa_nodes == b->numa_nodes && a->llcs == b->llcs && a->cores == b->cores &&
	       a->threads == b->threads;
}
