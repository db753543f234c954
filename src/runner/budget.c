// SPDX-License-Identifier: GPL-2.0
/* Budget selection: greedy coverage per estimated second (gauntlet.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gauntlet.h"
#include "util/util.h"

/*
 * Measured on the project's 2-core machine (TCG, q35, the lean sched_ext
 * kernel, two VMs at a time): a 2 s EEVDF test takes 3.7 s on 2 vCPUs,
 * 3.8-4.7 s on 4, 5.0 s on 9, 8.2 s on 14, 9.4 s on 15: about 1 s of
 * boot and teardown plus 0.4 s per vCPU (0.8 s per vCPU per host CPU)
 * on top of the duration. A sched_ext scheduler adds its start and
 * attach. Under KVM vCPUs run in parallel on their own CPUs.
 */
double kt_cost_model(int cpus, int duration_s, bool host_only, bool sched_ext, bool kvm,
		     int host_cpus)
{
	double c;

	if (duration_s < 0)
		duration_s = 0;
	if (host_only)
		return duration_s + 0.5;
	if (host_cpus < 1)
		host_cpus = 1;
	if (kvm)
		c = 0.5 + duration_s + cpus / 16.0;
	else
		c = 1.0 + duration_s + 0.8 * cpus / host_cpus;
	return c + (sched_ext ? 1.5 : 0);
}

static const struct kt_cand *ms_base;

static int cmp_longest(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (ms_base[x].cost != ms_base[y].cost)
		return ms_base[x].cost > ms_base[y].cost ? -1 : 1;
	return (x > y) - (x < y);
}

bool kt_job_fits(unsigned running, unsigned used, unsigned need, unsigned cpus)
{
	if (!running)
		return true;
	return used < cpus && need <= cpus - used;
}

void kt_budget_order(const struct kt_cand *c, size_t *idx, size_t n)
{
	ms_base = c;
	qsort(idx, n, sizeof(*idx), cmp_longest);
}

double kt_makespan(const struct kt_cand *c, size_t n, unsigned jobs, bool all_)
{
	double slot[256] = {0}, mx = 0;
	size_t *idx = kt_calloc(n + 1, sizeof(*idx)), m = 0;

	if (jobs < 1)
		jobs = 1;
	if (jobs > KT_ARRAY_SIZE(slot))
		jobs = KT_ARRAY_SIZE(slot);
	for (size_t i = 0; i < n; i++)
		if (all_ || c[i].selected)
			idx[m++] = i;
	kt_budget_order(c, idx, m);
	for (size_t q = 0; q < m; q++) {
		unsigned best = 0;

		for (unsigned s = 1; s < jobs; s++)
			if (slot[s] < slot[best])
				best = s;
		slot[best] += c[idx[q]].cost;
		if (slot[best] > mx)
			mx = slot[best];
	}
	free(idx);
	return mx;
}

int kt_budget_parse(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- coverage features ---------------------------------------------------- */

enum feat_kind { F_SCHED, F_TOPO, F_FLAG, F_KERNEL, F_PROFILE, F_TEST, F_PAIR, F_VARIANT };
static const int feat_weight[] = {8, 4, 4, 4, 2, 2, 1, 1};

struct feat {
	char *key; /* kind byte + text */
	size_t cand;
	int id;
};

static int cmp_feat(const void *a, const void *b)
{
	const struct feat *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->cand > y->cand) - (x->cand < y->cand);
}

struct fvec {
	struct feat *v;
	size_t n, cap;
};

static void add_feat(struct fvec *fv, size_t cand, enum feat_kind k, const char *a, const char *b)
{
	if (fv->n == fv->cap) {
		fv->cap = fv->cap ? fv->cap * 2 : 256;
		fv->v = kt_realloc(fv->v, fv->cap * sizeof(*fv->v));
	}
	fv->v[fv->n].key = kt_asprintf("%c%s%s%s", 'A' + k, a ? a : "", b ? "/" : "", b ? b : "");
	fv->v[fv->n].cand = cand;
	fv->n++;
}

static int cmp_cand_id(const void *a, const void *b)
{
	const struct feat *x = a, *y = b;

	return (x->cand > y->cand) - (x->cand < y->cand);
}

int kt_budget_select(struct kt_cand *c, size_t n, double budget_s, unsigned jobs,
		     struct kt_budget_report *rep)
{
	struct fvec fv = {0};
	size_t *first = NULL, nid = 0, cnt[8] = {0}, cov[8] = {0};
	int *kind = NULL, *weight = NULL;
	bool *covered = NULL, *dropped = NULL;

	memset(rep, 0, sizeof(*rep));
	rep->total = n;
	rep->budget_s = budget_s;
	for (size_t i = 0; i < n; i++) {
		c[i].selected = false;
		if (c[i].measured)
			rep->measured++;
		add_feat(&fv, i, F_SCHED, c[i].sched, NULL);
		add_feat(&fv, i, F_TOPO, c[i].topo, NULL);
		for (size_t f = 0; f < c[i].n_flags; f++)
			add_feat(&fv, i, F_FLAG, c[i].flags[f], NULL);
		if (c[i].kernel)
			add_feat(&fv, i, F_KERNEL, c[i].kernel, NULL);
		add_feat(&fv, i, F_PROFILE, c[i].sched, c[i].profile);
		add_feat(&fv, i, F_TEST, c[i].test, NULL);
		add_feat(&fv, i, F_PAIR, c[i].test, c[i].topo);
		add_feat(&fv, i, F_PAIR, c[i].test, c[i].profile);
		add_feat(&fv, i, F_VARIANT, c[i].name, NULL);
	}
	/* Intern: equal keys get one id. */
	qsort(fv.v, fv.n, sizeof(*fv.v), cmp_feat);
	kind = kt_calloc(fv.n + 1, sizeof(*kind));
	weight = kt_calloc(fv.n + 1, sizeof(*weight));
	for (size_t i = 0; i < fv.n; i++) {
		if (i == 0 || strcmp(fv.v[i].key, fv.v[i - 1].key)) {
			kind[nid] = fv.v[i].key[0] - 'A';
			weight[nid] = feat_weight[kind[nid]];
			cnt[kind[nid]]++;
			nid++;
		}
		fv.v[i].id = (int)nid - 1;
	}
	/* Back to candidate order: first[i]..first[i+1] are candidate i's features. */
	qsort(fv.v, fv.n, sizeof(*fv.v), cmp_cand_id);
	first = kt_calloc(n + 1, sizeof(*first));
	for (size_t i = 0, f = 0; i <= n; i++) {
		while (f < fv.n && fv.v[f].cand < i)
			f++;
		first[i] = f;
	}
	covered = kt_calloc(nid + 1, sizeof(*covered));
	dropped = kt_calloc(n + 1, sizeof(*dropped));

	for (;;) {
		long best = -1;
		double best_score = 0;

		for (size_t i = 0; i < n; i++) {
			int gain = 0;
			double score;

			if (c[i].selected || dropped[i])
				continue;
			if (c[i].cost > budget_s) {
				dropped[i] = true;
				continue;
			}
			for (size_t f = first[i]; f < first[i + 1]; f++)
				if (!covered[fv.v[f].id])
					gain += weight[fv.v[f].id];
			if (!gain)
				continue;
			score = gain / (c[i].cost > 0.01 ? c[i].cost : 0.01);
			if (best < 0 || score > best_score ||
			    (score == best_score && strcmp(c[i].name, c[best].name) < 0)) {
				best = (long)i;
				best_score = score;
			}
		}
		if (best < 0)
			break;
		c[best].selected = true;
		if (kt_makespan(c, n, jobs, false) > budget_s) {
			/* Does not fit the remaining time (it only shrinks). */
			c[best].selected = false;
			dropped[best] = true;
			continue;
		}
		for (size_t f = first[best]; f < first[best + 1]; f++)
			covered[fv.v[f].id] = true;
	}
	for (size_t i = 0; i < nid; i++)
		if (covered[i])
			cov[kind[i]]++;
	for (size_t i = 0; i < n; i++)
		rep->selected += c[i].selected;
	rep->expected_s = kt_makespan(c, n, jobs, false);
	rep->sched_all = cnt[F_SCHED];
	rep->sched_cov = cov[F_SCHED];
	rep->topo_all = cnt[F_TOPO];
	rep->topo_cov = cov[F_TOPO];
	rep->flag_all = cnt[F_FLAG];
	rep->flag_cov = cov[F_FLAG];
	rep->profile_all = cnt[F_PROFILE];
	rep->profile_cov = cov[F_PROFILE];
	rep->test_all = cnt[F_TEST];
	rep->test_cov = cov[F_TEST];
	for (size_t i = 0; i < fv.n; i++)
		free(fv.v[i].key);
	free(fv.v);
	free(first);
	free(kind);
	free(weight);
	free(covered);
	free(dropped);
	return 0;
}
