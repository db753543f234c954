// SPDX-License-Identifier: GPL-2.0
/* What a test declares about BPF maps: checks and the capture schedule (pure). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bpfmap/bpfmap.h"
#include "bpfmap/series.h"
#include "util/util.h"

bool kt_bpfmap_wanted(const struct ktstr_test *t)
{
	return t->num_snapshots > 0 || t->bpf_map_write.map;
}

unsigned kt_bpfmap_extra_s(const struct ktstr_test *t)
{
	return t->bpf_map_write.map ? (KT_BPFMAP_GUEST_WAIT_MS + KT_BPFMAP_SETTLE_MS) / 1000 + 1
				    : 0;
}

uint64_t kt_bpfmap_boundary_ms(int duration_s, unsigned n, unsigned i)
{
	uint64_t d = (uint64_t)(duration_s > 0 ? duration_s : 0) * 1000;

	return d / 10 + (uint64_t)(i + 1) * (d * 8 / 10) / (n + 1);
}

int kt_bpfmap_field_path(const char *path, uint32_t *idx, const char **sub)
{
	unsigned long v;
	char *end;

	*idx = 0;
	*sub = path;
	if (path[0] != '[')
		return 0;
	if (path[1] < '0' || path[1] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(path + 1, &end, 10);
	if (errno || v > UINT32_MAX || *end != ']' || (end[1] && end[1] != '.') ||
	    (end[1] == '.' && !end[2]))
		return -EINVAL;
	*idx = (uint32_t)v;
	*sub = end[1] ? end + 2 : end + 1;
	return 0;
}

static int check_temporal(const struct ktstr_temporal *e, size_t i, char **why)
{
	const char *k = kt_temporal_name(e->kind);

	if (!strcmp(k, "unknown")) {
		*why = kt_asprintf("temporal[%zu]: unknown pattern %d", i, (int)e->kind);
		return -EINVAL;
	}
	if (!e->map || !*e->map || !e->field || !*e->field) {
		*why = kt_asprintf("temporal[%zu] (%s): needs .map and .field", i, k);
		return -EINVAL;
	}
	{
		uint32_t idx;
		const char *sub;

		if (kt_bpfmap_field_path(e->field, &idx, &sub)) {
			*why = kt_asprintf("temporal[%zu] (%s): field '%s': \"[N]\" or "
					   "\"[N].member\" picks element N",
					   i, k, e->field);
			return -EINVAL;
		}
	}
	switch (e->kind) {
	case KTSTR_TEMPORAL_RATE_WITHIN:
		if (isnan(e->lo) || isnan(e->hi) || e->lo > e->hi) {
			*why = kt_asprintf("temporal[%zu] (%s %s): bounds [%g, %g] are not an "
					   "interval",
					   i, k, e->field, e->lo, e->hi);
			return -EINVAL;
		}
		break;
	case KTSTR_TEMPORAL_STEADY_WITHIN:
	case KTSTR_TEMPORAL_CONVERGES_TO:
		if (isnan(e->tol) || e->tol < 0 || isnan(e->target)) {
			*why = kt_asprintf("temporal[%zu] (%s %s): tolerance %g must be >= 0", i, k,
					   e->field, e->tol);
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	return 0;
}

int kt_bpfmap_validate(const struct ktstr_test *t, int duration_s, char **why)
{
	const struct ktstr_bpf_map_write *w = &t->bpf_map_write;
	int n = t->num_snapshots;
	size_t n_temporal = 0, n_maps = 0;

	for (size_t i = 0; i < KTSTR_MAX_TEMPORAL; i++) {
		if (t->temporal[i].kind == KTSTR_TEMPORAL_NONE && !t->temporal[i].map)
			continue;
		if (check_temporal(&t->temporal[i], i, why))
			return -EINVAL;
		n_temporal++;
	}
	if (n < 0 || n > KTSTR_MAX_SNAPSHOTS) {
		*why = kt_asprintf("num_snapshots %d: must be 0..%d", n, KTSTR_MAX_SNAPSHOTS);
		return -EINVAL;
	}
	if (n_temporal && n < 2) {
		*why = kt_asprintf("temporal assertions need num_snapshots >= 2 (have %d)", n);
		return -EINVAL;
	}
	for (size_t i = 0; i < KTSTR_MAX_SNAPSHOT_MAPS; i++) {
		if (!t->snapshot_maps[i])
			continue;
		if (!*t->snapshot_maps[i]) {
			*why = kt_asprintf("snapshot_maps[%zu]: empty map name", i);
			return -EINVAL;
		}
		n_maps++;
	}
	if (n_maps && n < 1) {
		*why = kt_strdup("snapshot_maps needs num_snapshots >= 1 (the captures it "
				 "snapshots the maps at)");
		return -EINVAL;
	}
	if (n && !n_temporal && !n_maps) {
		*why = kt_asprintf("num_snapshots %d: nothing to capture (name the fields in "
				   ".temporal or the maps in .snapshot_maps)",
				   n);
		return -EINVAL;
	}
	if (n) {
		uint64_t d = (uint64_t)(duration_s > 0 ? duration_s : 0) * 1000;
		uint64_t gap = d * 8 / 10 / (uint64_t)(n + 1);

		if (gap < KT_BPFMAP_MIN_SPACING_MS) {
			*why = kt_asprintf("num_snapshots %d over %d s puts captures %llu ms apart "
					   "(at least %d ms)",
					   n, duration_s, (unsigned long long)gap,
					   KT_BPFMAP_MIN_SPACING_MS);
			return -EINVAL;
		}
	}
	if (w->map) {
		if (!*w->map) {
			*why = kt_strdup("bpf_map_write: empty map name");
			return -EINVAL;
		}
		if (w->size != 0 && w->size != 1 && w->size != 2 && w->size != 4 && w->size != 8) {
			*why = kt_asprintf("bpf_map_write: size %u (1, 2, 4 or 8)", w->size);
			return -EINVAL;
		}
		if (w->field && !*w->field) {
			*why = kt_strdup("bpf_map_write: empty field name");
			return -EINVAL;
		}
	}
	if (t->host_only && kt_bpfmap_wanted(t)) {
		*why = kt_asprintf("%s needs a VM (the test is host_only)",
				   n ? "num_snapshots" : "bpf_map_write");
		return -EINVAL;
	}
	return 0;
}
