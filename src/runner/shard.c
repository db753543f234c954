// SPDX-License-Identifier: GPL-2.0
/* Shards: a deterministic partition of the tests to run (gauntlet.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gauntlet.h"
#include "util/util.h"

int kt_shard_parse(const char *s, struct kt_shard *out, char **err)
{
	const char *p = s;
	char *end;
	unsigned long k, n;

	out->mode = KT_SHARD_COST;
	if (kt_startswith(p, "hash:")) {
		out->mode = KT_SHARD_HASH;
		p += 5;
	} else if (kt_startswith(p, "cost:")) {
		p += 5;
	}
	errno = 0;
	k = strtoul(p, &end, 10);
	if (errno || end == p || *end != '/' || *p == '-' || *p == '+')
		goto bad;
	p = end + 1;
	n = strtoul(p, &end, 10);
	if (errno || end == p || *end || *p == '-' || *p == '+')
		goto bad;
	if (n < 1 || n > 100000 || k < 1 || k > n) {
		*err = kt_asprintf("shard '%s': need 1 <= K <= N (N at most 100000)", s);
		return -EINVAL;
	}
	out->k = (unsigned)k;
	out->n = (unsigned)n;
	return 0;
bad:
	*err = kt_asprintf("shard '%s': expected K/N, cost:K/N or hash:K/N", s);
	return -EINVAL;
}

static const struct kt_cand *sort_base;

static int cmp_cost(const void *a, const void *b)
{
	const struct kt_cand *x = &sort_base[*(const size_t *)a];
	const struct kt_cand *y = &sort_base[*(const size_t *)b];

	if (x->cost != y->cost)
		return x->cost > y->cost ? -1 : 1;
	return strcmp(x->name, y->name);
}

void kt_shard_assign(const struct kt_cand *c, size_t n, const struct kt_shard *sh, bool *in)
{
	size_t *idx;
	double *load;

	if (sh->mode == KT_SHARD_HASH) {
		for (size_t i = 0; i < n; i++)
			in[i] = kt_crc32(c[i].name, strlen(c[i].name)) % sh->n == sh->k - 1;
		return;
	}
	idx = kt_calloc(n + 1, sizeof(*idx));
	load = kt_calloc(sh->n, sizeof(*load));
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_base = c;
	qsort(idx, n, sizeof(*idx), cmp_cost);
	for (size_t i = 0; i < n; i++) {
		unsigned best = 0;

		for (unsigned s = 1; s < sh->n; s++)
			if (load[s] < load[best])
				best = s;
		load[best] += c[idx[i]].cost;
		in[idx[i]] = best == sh->k - 1;
	}
	free(idx);
	free(load);
}
