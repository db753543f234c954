// SPDX-License-Identifier: GPL-2.0
/* Assert: 19 optional checks, defaults, merge, JSON. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

struct kt_assert kt_assert_none(void)
{
	struct kt_assert a;

	memset(&a, 0, sizeof(a));
	return a;
}

struct kt_assert kt_assert_default_checks(void)
{
	struct kt_assert a = kt_assert_none();

	a.not_starved = KT_SOME_BOOL(true);
	a.max_imbalance_ratio = KT_SOME_F64(4.0);
	a.max_local_dsq_depth = KT_SOME_U64(50);
	a.fail_on_stall = KT_SOME_BOOL(true);
	a.sustained_samples = KT_SOME_U64(5);
	a.max_fallback_rate = KT_SOME_F64(200.0);
	a.max_keep_last_rate = KT_SOME_F64(100.0);
	return a;
}

/* Field table: name, offset, kind. */
enum fkind { F_BOOL, F_U64, F_F64 };
struct field {
	const char *name;
	size_t off;
	enum fkind kind;
	bool worker;  /* a worker-level check (vs monitor) */
	uint64_t max; /* F_U64 upper bound */
};

#define FB(n, w)                                                \
	{                                                       \
#n, offsetof(struct kt_assert, n), F_BOOL, w, 0 \
	}
#define FU(n, w, m)                                            \
	{                                                      \
#n, offsetof(struct kt_assert, n), F_U64, w, m \
	}
#define FF(n, w)                                               \
	{                                                      \
#n, offsetof(struct kt_assert, n), F_F64, w, 0 \
	}

static const struct field fields[] = {
    FB(not_starved, true),
    FB(isolation, true),
    FU(max_gap_ms, true, INT64_MAX),
    FF(max_spread_pct, true),
    FF(max_throughput_cv, true),
    FF(min_work_rate, true),
    FU(max_p99_wake_latency_ns, true, INT64_MAX),
    FF(max_wake_latency_cv, true),
    FF(min_iteration_rate, true),
    FF(max_migration_ratio, true),
    FF(max_imbalance_ratio, false),
    FU(max_local_dsq_depth, false, UINT32_MAX),
    FB(fail_on_stall, false),
    FU(sustained_samples, false, INT64_MAX),
    FF(max_fallback_rate, false),
    FF(max_keep_last_rate, false),
    FF(min_page_locality, true),
    FF(max_cross_node_migration_ratio, true),
    FF(max_slow_tier_ratio, true),
};

static bool field_set(const struct kt_assert *a, const struct field *f)
{
	const char *p = (const char *)a + f->off;

	switch (f->kind) {
	case F_BOOL:
		return ((const struct kt_opt_bool *)p)->set;
	case F_U64:
		return ((const struct kt_opt_u64 *)p)->set;
	default:
		return ((const struct kt_opt_f64 *)p)->set;
	}
}

static size_t field_size(const struct field *f)
{
	switch (f->kind) {
	case F_BOOL:
		return sizeof(struct kt_opt_bool);
	case F_U64:
		return sizeof(struct kt_opt_u64);
	default:
		return sizeof(struct kt_opt_f64);
	}
}

struct kt_assert kt_assert_merge(const struct kt_assert *base, const struct kt_assert *over)
{
	struct kt_assert r = *base;

	for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++)
		if (field_set(over, &fields[i]))
			memcpy((char *)&r + fields[i].off, (const char *)over + fields[i].off,
			       field_size(&fields[i]));
	return r;
}

bool kt_assert_has_worker_checks(const struct kt_assert *a)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++)
		if (fields[i].worker && field_set(a, &fields[i]))
			return true;
	return false;
}

json_t *kt_assert_to_json(const struct kt_assert *a)
{
	json_t *o = json_object();

	for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		const char *p = (const char *)a + f->off;

		if (!field_set(a, f))
			continue;
		switch (f->kind) {
		case F_BOOL:
			json_object_set_new(o, f->name,
					    json_boolean(((const struct kt_opt_bool *)p)->v));
			break;
		case F_U64: {
			uint64_t v = ((const struct kt_opt_u64 *)p)->v;

			json_object_set_new(
			    o, f->name, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
			break;
		}
		default:
			json_object_set_new(o, f->name,
					    json_real(((const struct kt_opt_f64 *)p)->v));
		}
	}
	return o;
}

int kt_assert_from_json(const json_t *j, struct kt_assert *out, char **err)
{
	struct kt_assert a = kt_assert_none();

	if (!json_is_object(j)) {
		if (err)
			*err = kt_strdup("assert: not a JSON object");
		return -EINVAL;
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		json_t *v = json_object_get(j, f->name);
		char *p = (char *)&a + f->off;

		if (!v || json_is_null(v))
			continue;
		switch (f->kind) {
		case F_BOOL:
			if (!json_is_boolean(v))
				goto bad;
			*(struct kt_opt_bool *)p = KT_SOME_BOOL(json_is_true(v));
			break;
		case F_U64:
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    (uint64_t)json_integer_value(v) > f->max)
				goto bad;
			*(struct kt_opt_u64 *)p = KT_SOME_U64((uint64_t)json_integer_value(v));
			break;
		default:
			if (!json_is_number(v) || !isfinite(json_number_value(v)))
				goto bad;
			*(struct kt_opt_f64 *)p = KT_SOME_F64(json_number_value(v));
		}
		continue;
	bad:
		if (err)
			*err = kt_asprintf("assert: invalid value for '%s'", f->name);
		return -EINVAL;
	}
	*out = a;
	return 0;
}
