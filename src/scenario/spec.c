// SPDX-License-Identifier: GPL-2.0
/*
 * Pure scenario logic: cpuset specs and partitions, affinity resolution,
 * memory-policy validation, hold validation, work-type override, flags and
 * profiles. No I/O here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scenario.h"

/* CPUs of s as a sorted array; returns count. */
static int to_array(const struct kt_cpuset *s, int *v)
{
	int cpu, n = 0;

	kt_cpuset_for_each(cpu, s)
		v[n++] = cpu;
	return n;
}

static void from_slice(const int *v, int lo, int hi, struct kt_cpuset *out)
{
	kt_cpuset_zero(out);
	for (int i = lo; i < hi; i++)
		kt_cpuset_set(out, v[i]);
}

static void numa_cpus(const struct kt_hwtopo *t, int node, struct kt_cpuset *out)
{
	kt_cpuset_zero(out);
	for (int l = 0; l < t->nr_llcs; l++)
		if (t->llc_node[l] == node)
			kt_cpuset_or(out, out, &t->llcs[l]);
}

int kt_cpuset_spec_validate(const struct kt_cpuset_spec *s, const struct kt_hwtopo *t, char **err)
{
	struct kt_cpuset u, r;
	int len;

	kt_hwtopo_usable(t, &u);
	len = kt_cpuset_count(&u);
	switch (s->kind) {
	case KT_CS_NONE:
		return 0;
	case KT_CS_LLC:
		if (s->index < 0 || s->index >= t->nr_llcs) {
			*err = kt_asprintf("cpuset llc(%d): topology has %d LLC(s)", s->index,
					   t->nr_llcs);
			return -EINVAL;
		}
		return 0;
	case KT_CS_NUMA:
		if (s->index < 0 || s->index >= t->nr_nodes) {
			*err = kt_asprintf("cpuset numa(%d): topology has %d NUMA node(s)", s->index,
					   t->nr_nodes);
			return -EINVAL;
		}
		numa_cpus(t, s->index, &r);
		if (kt_cpuset_empty(&r)) {
			*err = kt_asprintf("cpuset numa(%d): node has no CPUs", s->index);
			return -EINVAL;
		}
		return 0;
	case KT_CS_RANGE:
		if (!isfinite(s->start) || !isfinite(s->end) || s->start < 0 || s->end > 1 ||
		    s->start >= s->end) {
			*err = kt_asprintf("cpuset range(%g, %g): need finite 0 <= start < end <= 1",
					   s->start, s->end);
			return -EINVAL;
		}
		kt_cpuset_spec_resolve(s, t, &r);
		if (kt_cpuset_empty(&r)) {
			*err = kt_asprintf("cpuset range(%g, %g): no CPUs out of %d usable",
					   s->start, s->end, len);
			return -EINVAL;
		}
		return 0;
	case KT_CS_DISJOINT:
	case KT_CS_OVERLAP:
		if (s->of <= 0 || s->index < 0 || s->index >= s->of) {
			*err = kt_asprintf("cpuset %s(%d/%d): need of > 0 and index < of",
					   s->kind == KT_CS_DISJOINT ? "disjoint" : "overlap",
					   s->index, s->of);
			return -EINVAL;
		}
		if (len < s->of) {
			*err = kt_asprintf("cpuset %s(%d/%d): only %d usable CPUs",
					   s->kind == KT_CS_DISJOINT ? "disjoint" : "overlap",
					   s->index, s->of, len);
			return -EINVAL;
		}
		if (s->kind == KT_CS_OVERLAP && !isfinite(s->frac)) {
			*err = kt_asprintf("cpuset overlap(%d/%d): frac is not finite", s->index,
					   s->of);
			return -EINVAL;
		}
		return 0;
	case KT_CS_EXACT:
		if (kt_cpuset_empty(&s->exact) || !kt_cpuset_subset(&s->exact, &t->all)) {
			char buf[256];

			kt_cpuset_format(&s->exact, buf, sizeof(buf));
			*err = kt_asprintf("cpuset exact(%s): must be a non-empty subset of the "
					   "online CPUs",
					   buf);
			return -EINVAL;
		}
		return 0;
	}
	*err = kt_asprintf("cpuset spec: unknown kind %d", (int)s->kind);
	return -EINVAL;
}

void kt_cpuset_spec_resolve(const struct kt_cpuset_spec *s, const struct kt_hwtopo *t,
			    struct kt_cpuset *out)
{
	static __thread int v[KT_MAX_CPUS];
	struct kt_cpuset u;
	int len, i, chunk, ov, lo, hi;
	bool last;

	kt_cpuset_zero(out);
	kt_hwtopo_usable(t, &u);
	len = to_array(&u, v);
	switch (s->kind) {
	case KT_CS_NONE:
		return;
	case KT_CS_LLC:
		if (t->nr_llcs == 0)
			return;
		i = s->index < 0 ? 0 : s->index >= t->nr_llcs ? t->nr_llcs - 1 : s->index;
		*out = t->llcs[i];
		return;
	case KT_CS_NUMA:
		i = s->index < 0 ? 0 : s->index >= t->nr_nodes ? t->nr_nodes - 1 : s->index;
		numa_cpus(t, i, out);
		return;
	case KT_CS_RANGE:
		lo = (int)floor(len * s->start);
		hi = (int)floor(len * s->end);
		if (lo < 0)
			lo = 0;
		if (hi > len)
			hi = len;
		from_slice(v, lo, hi, out);
		return;
	case KT_CS_DISJOINT:
	case KT_CS_OVERLAP:
		if (s->of <= 0 || s->index < 0 || s->index >= s->of)
			return;
		chunk = len / s->of;
		last = s->index == s->of - 1;
		if (s->kind == KT_CS_DISJOINT) {
			lo = s->index * chunk;
			hi = last ? len : (s->index + 1) * chunk;
		} else {
			double f = s->frac < 0 ? 0 : s->frac > 1 ? 1 : s->frac;

			ov = (int)floor(chunk * f);
			lo = s->index == 0 ? 0 : s->index * chunk - ov;
			hi = last ? len : (s->index + 1) * chunk + ov;
			if (hi > len)
				hi = len;
		}
		from_slice(v, lo, hi, out);
		return;
	case KT_CS_EXACT:
		*out = s->exact;
		return;
	}
}

void kt_cpuset_spec_describe(const struct kt_cpuset_spec *s, char *buf, size_t len)
{
	char tmp[200];

	switch (s->kind) {
	case KT_CS_NONE:
		snprintf(buf, len, "none");
		break;
	case KT_CS_LLC:
		snprintf(buf, len, "llc(%d)", s->index);
		break;
	case KT_CS_NUMA:
		snprintf(buf, len, "numa(%d)", s->index);
		break;
	case KT_CS_RANGE:
		snprintf(buf, len, "range(%g, %g)", s->start, s->end);
		break;
	case KT_CS_DISJOINT:
		snprintf(buf, len, "disjoint(%d/%d)", s->index, s->of);
		break;
	case KT_CS_OVERLAP:
		snprintf(buf, len, "overlap(%d/%d, %g)", s->index, s->of, s->frac);
		break;
	case KT_CS_EXACT:
		kt_cpuset_format(&s->exact, tmp, sizeof(tmp));
		snprintf(buf, len, "exact(%s)", tmp);
		break;
	}
}

/* ---- partitions ---------------------------------------------------------------- */

const char *kt_partition_name(enum kt_partition p)
{
	static const char *const names[] = {"None",   "LlcAligned", "SplitHalf", "SplitMisaligned",
					    "Overlap", "Uneven",    "Holdback"};

	return (unsigned)p < KT_ARRAY_SIZE(names) ? names[p] : "?";
}

int kt_partition_sets(enum kt_partition p, double frac, int n, const struct kt_hwtopo *t,
		      struct kt_cpuset *sets)
{
	static __thread int a[KT_MAX_CPUS], u[KT_MAX_CPUS];
	struct kt_cpuset us;
	int na, nu, cut, base, ov, stride, keep, half;

	for (int i = 0; i < n; i++)
		kt_cpuset_zero(&sets[i]);
	if (p == KT_PART_NONE)
		return 0;
	na = to_array(&t->all, a);
	kt_hwtopo_usable(t, &us);
	nu = to_array(&us, u);
	switch (p) {
	case KT_PART_NONE:
		return 0;
	case KT_PART_LLC_ALIGNED:
		if (t->nr_llcs < 2)
			return -ENOSPC;
		for (int i = 0; i < n && i < t->nr_llcs; i++)
			sets[i] = t->llcs[i];
		if (n > 0 && kt_cpuset_count(&sets[n - 1]) > 1)
			kt_cpuset_clear(&sets[n - 1], t->max_cpu);
		break;
	case KT_PART_SPLIT_HALF:
	case KT_PART_SPLIT_MISALIGNED:
	case KT_PART_UNEVEN:
		if (p == KT_PART_SPLIT_HALF)
			cut = nu / 2;
		else if (p == KT_PART_SPLIT_MISALIGNED)
			cut = t->nr_llcs > 1 ? kt_cpuset_count(&t->llcs[0]) / 2 : nu / 2;
		else {
			cut = (int)floor(nu * frac);
			if (cut < 1)
				cut = 1;
		}
		if (cut > nu)
			cut = nu;
		if (n > 0)
			from_slice(u, 0, cut, &sets[0]);
		if (n > 1)
			from_slice(u, cut, nu, &sets[1]);
		break;
	case KT_PART_OVERLAP:
		if (n <= 0)
			return 0;
		base = na / n;
		ov = (int)ceil(base * frac);
		stride = base - ov > 1 ? base - ov : 1;
		for (int i = 0; i < n; i++)
			for (int k = 0; k < base; k++)
				kt_cpuset_set(&sets[i], a[(i * stride + k) % na]);
		break;
	case KT_PART_HOLDBACK:
		keep = na - (int)floor(na * frac);
		half = keep / 2 > 1 ? keep / 2 : 1;
		if (n > 0)
			from_slice(a, 0, half < na ? half : na, &sets[0]);
		if (n > 1 && half < keep)
			from_slice(a, half, keep, &sets[1]);
		break;
	}
	for (int i = 0; i < n; i++)
		if (kt_cpuset_empty(&sets[i]))
			return -ENOSPC;
	return 0;
}

/* ---- affinity ---------------------------------------------------------------------- */

void kt_affinity_resolve(const struct kt_affinity_spec *s, const struct kt_hwtopo *t,
			 const struct kt_cpuset *cpuset, struct kt_affinity *out)
{
	struct kt_cpuset pool;
	bool has_cs = cpuset && !kt_cpuset_empty(cpuset);
	int best = -1, best_n = 0;

	memset(out, 0, sizeof(*out));
	out->kind = KT_AFF_NONE;
	pool = has_cs ? *cpuset : t->all;
	switch (s->kind) {
	case KT_AFFS_INHERIT:
		return;
	case KT_AFFS_RANDOM_SUBSET: {
		int c = kt_cpuset_count(&pool);

		if (c == 0)
			return;
		out->kind = KT_AFF_RANDOM;
		out->set = pool;
		out->count = c / 2 > 1 ? c / 2 : 1;
		return;
	}
	case KT_AFFS_LLC_ALIGNED:
		for (int l = 0; l < t->nr_llcs; l++) {
			struct kt_cpuset x;
			int c;

			kt_cpuset_and(&x, &t->llcs[l], &pool);
			c = kt_cpuset_count(&x);
			if (c > best_n) {
				best_n = c;
				best = l;
			}
		}
		if (best < 0)
			return;
		out->kind = KT_AFF_FIXED;
		kt_cpuset_and(&out->set, &t->llcs[best], &pool);
		return;
	case KT_AFFS_CROSS_CGROUP:
		if (kt_cpuset_empty(&t->all))
			return;
		out->kind = KT_AFF_FIXED;
		out->set = t->all;
		return;
	case KT_AFFS_SINGLE_CPU:
		if (kt_cpuset_empty(&pool))
			return;
		out->kind = KT_AFF_SINGLE_CPU;
		out->cpu = kt_cpuset_first(&pool);
		kt_cpuset_set(&out->set, out->cpu);
		return;
	case KT_AFFS_EXACT:
		if (has_cs)
			kt_cpuset_and(&out->set, &s->exact, cpuset);
		else
			out->set = s->exact;
		if (kt_cpuset_empty(&out->set))
			return;
		out->kind = KT_AFF_FIXED;
		return;
	}
}

/* ---- memory policy -------------------------------------------------------------- */

int kt_mem_policy_validate(const struct kt_mem_policy *mp, const struct kt_hwtopo *t,
			   const struct kt_cpuset *cpuset, char **err)
{
	const uint32_t known = KT_MPOL_F_STATIC_NODES | KT_MPOL_F_RELATIVE_NODES |
			       KT_MPOL_F_NUMA_BALANCING;
	struct kt_cpuset covered, exist;
	char buf[256];

	if (mp->kind == KT_MPOL_DEFAULT || mp->kind == KT_MPOL_LOCAL)
		return 0;
	if (kt_cpuset_empty(&mp->nodes)) {
		*err = kt_asprintf("mempolicy: %s needs at least one node",
				   mp->kind == KT_MPOL_BIND ? "Bind" : "this policy");
		return -EINVAL;
	}
	if (mp->kind == KT_MPOL_PREFERRED && kt_cpuset_count(&mp->nodes) != 1) {
		*err = kt_asprintf("mempolicy: Preferred takes exactly one node");
		return -EINVAL;
	}
	if (!cpuset || kt_cpuset_empty(cpuset))
		return 0;
	if (mp->flags & ~known) {
		*err = kt_asprintf("mempolicy: unknown flag bits 0x%x", mp->flags & ~known);
		return -EINVAL;
	}
	if ((mp->flags & KT_MPOL_F_STATIC_NODES) && (mp->flags & KT_MPOL_F_RELATIVE_NODES)) {
		*err = kt_asprintf("mempolicy: STATIC_NODES and RELATIVE_NODES are exclusive");
		return -EINVAL;
	}
	if (mp->flags & KT_MPOL_F_RELATIVE_NODES)
		return 0;
	if (mp->flags & KT_MPOL_F_STATIC_NODES) {
		kt_cpuset_zero(&exist);
		for (int n = 0; n < t->nr_nodes; n++)
			kt_cpuset_set(&exist, t->node_ids[n]);
		if (!kt_cpuset_subset(&mp->nodes, &exist)) {
			kt_cpuset_format(&mp->nodes, buf, sizeof(buf));
			*err = kt_asprintf("mempolicy: nodes %s do not all exist", buf);
			return -EINVAL;
		}
		return 0;
	}
	kt_hwtopo_nodes_of(t, cpuset, &covered);
	if (!kt_cpuset_subset(&mp->nodes, &covered)) {
		char cbuf[256];

		kt_cpuset_format(&mp->nodes, buf, sizeof(buf));
		kt_cpuset_format(&covered, cbuf, sizeof(cbuf));
		*err = kt_asprintf("mempolicy: nodes %s are not covered by the cpuset's nodes %s",
				   buf, cbuf);
		return -EINVAL;
	}
	return 0;
}

/* ---- holds, work types ------------------------------------------------------------ */

int kt_hold_validate(const struct kt_hold *h, size_t step, char *buf, size_t len)
{
	const char *why = NULL;

	switch (h->kind) {
	case KT_HOLD_FULL:
		break;
	case KT_HOLD_FRAC:
		if (!isfinite(h->frac) || h->frac <= 0)
			why = "Frac must be finite and > 0";
		break;
	case KT_HOLD_FIXED:
		if (h->ms == 0)
			why = "Fixed duration must be > 0";
		break;
	case KT_HOLD_LOOP:
		if (h->ms == 0)
			why = "Loop interval must be > 0";
		break;
	default:
		why = "unknown hold kind";
	}
	if (!why) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	snprintf(buf, len, "step %zu hold validation: %s", step, why);
	return -EINVAL;
}

#define FILL(f)                                                                                  \
	do {                                                                                     \
		if (!w->f)                                                                       \
			w->f = d.f;                                                              \
	} while (0)

void kt_work_fill_defaults(struct kt_work *w)
{
	struct kt_work d;

	kt_work_default(&d, w->type);
	switch (w->type) {
	case KT_WORK_BURSTY:
		FILL(bursty.burst_ms);
		FILL(bursty.sleep_ms);
		break;
	case KT_WORK_PIPE_IO:
		FILL(pipe_io.burst_iters);
		break;
	case KT_WORK_FUTEX_PING_PONG:
		FILL(futex_ping_pong.spin_iters);
		break;
	case KT_WORK_FUTEX_FAN_OUT:
		FILL(futex_fan_out.fan_out);
		FILL(futex_fan_out.spin_iters);
		break;
	case KT_WORK_CACHE_PRESSURE:
		FILL(cache_pressure.size_kb);
		FILL(cache_pressure.stride);
		break;
	case KT_WORK_CACHE_YIELD:
		FILL(cache_yield.size_kb);
		FILL(cache_yield.stride);
		break;
	case KT_WORK_CACHE_PIPE:
		FILL(cache_pipe.size_kb);
		FILL(cache_pipe.burst_iters);
		break;
	case KT_WORK_SEQUENCE:
		if (!w->sequence.n_phases)
			w->sequence = d.sequence;
		break;
	case KT_WORK_AFFINITY_CHURN:
		FILL(affinity_churn.spin_iters);
		break;
	case KT_WORK_POLICY_CHURN:
		FILL(policy_churn.spin_iters);
		break;
	case KT_WORK_FAN_OUT_COMPUTE:
		FILL(fan_out_compute.fan_out);
		FILL(fan_out_compute.cache_footprint_kb);
		FILL(fan_out_compute.operations);
		FILL(fan_out_compute.sleep_usec);
		break;
	case KT_WORK_PAGE_FAULT_CHURN:
		FILL(page_fault_churn.region_kb);
		FILL(page_fault_churn.touches_per_cycle);
		FILL(page_fault_churn.spin_iters);
		break;
	case KT_WORK_MUTEX_CONTENTION:
		FILL(mutex_contention.contenders);
		FILL(mutex_contention.hold_iters);
		FILL(mutex_contention.work_iters);
		break;
	default:
		break;
	}
}

void kt_resolve_work_type(const struct kt_work *base, const struct kt_work *override,
			  bool swappable, unsigned n, struct kt_work *out)
{
	*out = *base;
	if (swappable && override) {
		struct kt_work o = *override;
		unsigned g;

		kt_work_fill_defaults(&o);
		g = kt_work_group_size(&o);
		if (g == 0 || (n > 0 && n % g == 0))
			*out = o;
	}
	kt_work_fill_defaults(out);
}

/* ---- flags and profiles --------------------------------------------------------- */

static const char *const flag_names[KT_NR_FLAGS] = {"llc",   "borrow",     "steal",
						    "rebal", "reject-pin", "no-ctrl"};
/* requires: steal → llc */
static const uint32_t flag_requires[KT_NR_FLAGS] = {0, 0, KT_FLAG_LLC, 0, 0, 0};

const char *kt_flag_name(int bit)
{
	return bit >= 0 && bit < KT_NR_FLAGS ? flag_names[bit] : "?";
}

int kt_flags_parse(const char *s, uint32_t *mask, char **err)
{
	char *dup = kt_strdup(s), *save = NULL, *tok;

	*mask = 0;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		tok = kt_trim(tok);
		if (!*tok)
			continue;
		for (i = 0; i < KT_NR_FLAGS; i++)
			if (!strcmp(tok, flag_names[i]))
				break;
		if (i == KT_NR_FLAGS) {
			*err = kt_asprintf("unknown flag '%s' (allowed: llc, borrow, steal, rebal, "
					   "reject-pin, no-ctrl)",
					   tok);
			free(dup);
			return -EINVAL;
		}
		*mask |= 1u << i;
	}
	free(dup);
	return 0;
}

void kt_profile_name(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;

	if (!mask) {
		snprintf(buf, len, "default");
		return;
	}
	buf[0] = 0;
	for (int i = 0; i < KT_NR_FLAGS; i++)
		if (mask & (1u << i))
			off += snprintf(buf + off, off < len ? len - off : 0, "%s%s",
					off ? "+" : "", flag_names[i]);
}

bool kt_profile_valid(uint32_t p, uint32_t required, uint32_t excluded)
{
	if ((p & required) != required || (p & excluded))
		return false;
	for (int i = 0; i < KT_NR_FLAGS; i++)
		if ((p & (1u << i)) && (p & flag_requires[i]) != flag_requires[i])
			return false;
	return true;
}

size_t kt_profiles(uint32_t required, uint32_t excluded, uint32_t *out, size_t max)
{
	uint32_t optional = ((1u << KT_NR_FLAGS) - 1) & ~required & ~excluded;
	int opt_bits[KT_NR_FLAGS], n_opt = 0;
	size_t n = 0;

	for (int i = 0; i < KT_NR_FLAGS; i++)
		if (optional & (1u << i))
			opt_bits[n_opt++] = i;
	/* Subsets in counting order over the optional flags (declaration order). */
	for (uint32_t sub = 0; sub < (1u << n_opt); sub++) {
		uint32_t p = required;

		for (int k = 0; k < n_opt; k++)
			if (sub & (1u << k))
				p |= 1u << opt_bits[k];
		if (kt_profile_valid(p, required, excluded) && n < max)
			out[n++] = p;
	}
	return n;
}
