// SPDX-License-Identifier: GPL-2.0
/* WorkerReport: lifetime helpers and JSON (de)serialisation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload/workload.h"

#define MAX_MIGRATIONS KT_MAX_MIGRATIONS
#define MAX_NUMA_NODES 1024

void kt_worker_report_clear(struct kt_worker_report *r)
{
	if (!r)
		return;
	free(r->migrations);
	free(r->resume_latencies_ns);
	free(r->numa_pages);
	memset(r, 0, sizeof(*r));
}

void kt_worker_reports_free(struct kt_worker_report *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		kt_worker_report_clear(&r[i]);
	free(r);
}

static void *dup_array(const void *p, size_t n, size_t sz)
{
	void *q;

	if (!p || !n)
		return NULL;
	q = kt_malloc(n * sz);
	memcpy(q, p, n * sz);
	return q;
}

void kt_worker_report_copy(struct kt_worker_report *dst, const struct kt_worker_report *src)
{
	*dst = *src;
	dst->migrations = dup_array(src->migrations, src->n_migrations, sizeof(*src->migrations));
	dst->resume_latencies_ns = dup_array(src->resume_latencies_ns, src->n_resume_latencies,
					     sizeof(*src->resume_latencies_ns));
	dst->numa_pages = dup_array(src->numa_pages, src->n_numa_pages, sizeof(*src->numa_pages));
	if (!dst->migrations)
		dst->n_migrations = 0;
	if (!dst->resume_latencies_ns)
		dst->n_resume_latencies = 0;
	if (!dst->numa_pages)
		dst->n_numa_pages = 0;
}

void kt_worker_report_sentinel(struct kt_worker_report *r, pid_t tid, struct kt_exit_info info)
{
	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->completed = false;
	r->exit_info = info;
}

void kt_exit_info_format(const struct kt_exit_info *e, char *buf, size_t len)
{
	switch (e->kind) {
	case KT_EXIT_EXITED:
		snprintf(buf, len, "Exited(%d)", e->value);
		break;
	case KT_EXIT_SIGNALED:
		snprintf(buf, len, "Signaled(%d)", e->value);
		break;
	case KT_EXIT_TIMED_OUT:
		snprintf(buf, len, "TimedOut");
		break;
	case KT_EXIT_WAIT_FAILED:
		snprintf(buf, len, "WaitFailed(%d)", e->value);
		break;
	default:
		snprintf(buf, len, "%s", "");
	}
}

/* ---- serialise ----------------------------------------------------------- */

static json_t *ju64(uint64_t v)
{
	/* JSON integers are signed 64-bit in jansson; saturate. */
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *exit_info_json(const struct kt_exit_info *e)
{
	switch (e->kind) {
	case KT_EXIT_EXITED:
		return json_pack("{s:i}", "Exited", e->value);
	case KT_EXIT_SIGNALED:
		return json_pack("{s:i}", "Signaled", e->value);
	case KT_EXIT_TIMED_OUT:
		return json_string("TimedOut");
	case KT_EXIT_WAIT_FAILED:
		return json_pack("{s:i}", "WaitFailed", e->value);
	default:
		return json_null();
	}
}

json_t *kt_worker_report_to_json(const struct kt_worker_report *r)
{
	json_t *o = json_object(), *a;
	int cpu;

	if (!o)
		return NULL;
	json_object_set_new(o, "tid", json_integer(r->tid));
	json_object_set_new(o, "work_units", ju64(r->work_units));
	json_object_set_new(o, "cpu_time_ns", ju64(r->cpu_time_ns));
	json_object_set_new(o, "wall_time_ns", ju64(r->wall_time_ns));
	json_object_set_new(o, "off_cpu_ns", ju64(r->off_cpu_ns));
	json_object_set_new(o, "migration_count", ju64(r->migration_count));
	a = json_array();
	kt_cpuset_for_each(cpu, &r->cpus_used) json_array_append_new(a, json_integer(cpu));
	json_object_set_new(o, "cpus_used", a);
	a = json_array();
	kt_cpuset_for_each(cpu, &r->allowed_cpus) json_array_append_new(a, json_integer(cpu));
	json_object_set_new(o, "allowed_cpus", a);
	a = json_array();
	for (size_t i = 0; i < r->n_migrations; i++)
		json_array_append_new(
		    a, json_pack("{s:o,s:i,s:i}", "at_ns", ju64(r->migrations[i].at_ns), "from_cpu",
				 r->migrations[i].from_cpu, "to_cpu", r->migrations[i].to_cpu));
	json_object_set_new(o, "migrations", a);
	json_object_set_new(o, "max_gap_ms", ju64(r->max_gap_ms));
	json_object_set_new(o, "max_gap_cpu", json_integer(r->max_gap_cpu));
	json_object_set_new(o, "max_gap_at_ms", ju64(r->max_gap_at_ms));
	json_object_set_new(o, "max_gap_on_cpu_ms", ju64(r->max_gap_on_cpu_ms));
	a = json_array();
	for (size_t i = 0; i < r->n_resume_latencies; i++)
		json_array_append_new(a, ju64(r->resume_latencies_ns[i]));
	json_object_set_new(o, "resume_latencies_ns", a);
	json_object_set_new(o, "wake_sample_total", ju64(r->wake_sample_total));
	json_object_set_new(o, "iterations", ju64(r->iterations));
	json_object_set_new(o, "schedstat_run_delay_ns", ju64(r->schedstat_run_delay_ns));
	json_object_set_new(o, "schedstat_run_count", ju64(r->schedstat_run_count));
	json_object_set_new(o, "schedstat_cpu_time_ns", ju64(r->schedstat_cpu_time_ns));
	json_object_set_new(o, "completed", json_boolean(r->completed));
	if (r->n_numa_pages) {
		json_t *np = json_object();
		char key[16];

		for (size_t i = 0; i < r->n_numa_pages; i++) {
			snprintf(key, sizeof(key), "%d", r->numa_pages[i].node);
			json_object_set_new(np, key, ju64(r->numa_pages[i].pages));
		}
		json_object_set_new(o, "numa_pages", np);
	}
	json_object_set_new(o, "vmstat_numa_pages_migrated", ju64(r->vmstat_numa_pages_migrated));
	if (r->exit_info.kind != KT_EXIT_NONE)
		json_object_set_new(o, "exit_info", exit_info_json(&r->exit_info));
	json_object_set_new(o, "is_messenger", json_boolean(r->is_messenger));
	json_object_set_new(o, "exchange_pair", json_integer(r->exchange_pair));
	json_object_set_new(o, "start_ns", ju64(r->start_ns));
	return o;
}

/*
 * Compact JSON text, written directly (the worker sends this; jansson's
 * object model is ~10x slower for 100k-entry arrays, which matters under TCG).
 * Same keys, order and values as kt_worker_report_to_json().
 */
char *kt_worker_report_to_string(const struct kt_worker_report *r)
{
	struct sbuf sb = SBUF_INIT;
	int cpu;
	bool first = true;

#define U(v) ((unsigned long long)((v) > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : (v)))
	sb_addf(&sb,
		"{\"tid\":%d,\"work_units\":%llu,\"cpu_time_ns\":%llu,\"wall_time_ns\":%llu,"
		"\"off_cpu_ns\":%llu,\"migration_count\":%llu,\"cpus_used\":[",
		(int)r->tid, U(r->work_units), U(r->cpu_time_ns), U(r->wall_time_ns),
		U(r->off_cpu_ns), U(r->migration_count));
	kt_cpuset_for_each(cpu, &r->cpus_used)
	{
		sb_addf(&sb, first ? "%d" : ",%d", cpu);
		first = false;
	}
	sb_adds(&sb, "],\"allowed_cpus\":[");
	first = true;
	kt_cpuset_for_each(cpu, &r->allowed_cpus)
	{
		sb_addf(&sb, first ? "%d" : ",%d", cpu);
		first = false;
	}
	sb_adds(&sb, "],\"migrations\":[");
	for (size_t i = 0; i < r->n_migrations; i++)
		sb_addf(&sb, "%s{\"at_ns\":%llu,\"from_cpu\":%d,\"to_cpu\":%d}", i ? "," : "",
			U(r->migrations[i].at_ns), r->migrations[i].from_cpu,
			r->migrations[i].to_cpu);
	sb_addf(&sb,
		"],\"max_gap_ms\":%llu,\"max_gap_cpu\":%d,\"max_gap_at_ms\":%llu,"
		"\"max_gap_on_cpu_ms\":%llu,\"resume_latencies_ns\":[",
		U(r->max_gap_ms), r->max_gap_cpu, U(r->max_gap_at_ms), U(r->max_gap_on_cpu_ms));
	for (size_t i = 0; i < r->n_resume_latencies; i++)
		sb_addf(&sb, i ? ",%llu" : "%llu", U(r->resume_latencies_ns[i]));
	sb_addf(&sb,
		"],\"wake_sample_total\":%llu,\"iterations\":%llu,\"schedstat_run_delay_ns\":%llu,"
		"\"schedstat_run_count\":%llu,\"schedstat_cpu_time_ns\":%llu,\"completed\":%s",
		U(r->wake_sample_total), U(r->iterations), U(r->schedstat_run_delay_ns),
		U(r->schedstat_run_count), U(r->schedstat_cpu_time_ns),
		r->completed ? "true" : "false");
	if (r->n_numa_pages) {
		sb_adds(&sb, ",\"numa_pages\":{");
		for (size_t i = 0; i < r->n_numa_pages; i++)
			sb_addf(&sb, "%s\"%d\":%llu", i ? "," : "", r->numa_pages[i].node,
				U(r->numa_pages[i].pages));
		sb_adds(&sb, "}");
	}
	sb_addf(&sb, ",\"vmstat_numa_pages_migrated\":%llu", U(r->vmstat_numa_pages_migrated));
	switch (r->exit_info.kind) {
	case KT_EXIT_EXITED:
		sb_addf(&sb, ",\"exit_info\":{\"Exited\":%d}", r->exit_info.value);
		break;
	case KT_EXIT_SIGNALED:
		sb_addf(&sb, ",\"exit_info\":{\"Signaled\":%d}", r->exit_info.value);
		break;
	case KT_EXIT_TIMED_OUT:
		sb_adds(&sb, ",\"exit_info\":\"TimedOut\"");
		break;
	case KT_EXIT_WAIT_FAILED:
		sb_addf(&sb, ",\"exit_info\":{\"WaitFailed\":%d}", r->exit_info.value);
		break;
	default:
		break;
	}
	sb_addf(&sb, ",\"is_messenger\":%s,\"exchange_pair\":%u,\"start_ns\":%llu}",
		r->is_messenger ? "true" : "false", (unsigned)r->exchange_pair, U(r->start_ns));
#undef U
	return sb_steal(&sb);
}

/* ---- parse --------------------------------------------------------------- */

static int fail(char **err, const char *fmt, const char *key)
{
	if (err) {
		free(*err);
		*err = kt_asprintf(fmt, key);
	}
	return -EINVAL;
}

static int get_u64(const json_t *o, const char *key, bool required, uint64_t *out, char **err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, "worker report: missing key '%s'", key);
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(err, "worker report: '%s' is not a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_int(const json_t *v, const char *key, int lo, int hi, int *out, char **err)
{
	json_int_t x;

	if (!v || !json_is_integer(v))
		return fail(err, "worker report: '%s' is not an integer", key);
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return fail(err, "worker report: '%s' out of range", key);
	*out = (int)x;
	return 0;
}

static int get_bool(const json_t *o, const char *key, bool required, bool *out, char **err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, "worker report: missing key '%s'", key);
		*out = false;
		return 0;
	}
	if (!json_is_boolean(v))
		return fail(err, "worker report: '%s' is not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

static int parse_exit_info(const json_t *v, struct kt_exit_info *e, char **err)
{
	static const struct {
		const char *name;
		enum kt_exit_kind kind;
	} kinds[] = {
	    {"Exited", KT_EXIT_EXITED},
	    {"Signaled", KT_EXIT_SIGNALED},
	    {"TimedOut", KT_EXIT_TIMED_OUT},
	    {"WaitFailed", KT_EXIT_WAIT_FAILED},
	};
	const char *name = NULL;
	json_t *val = NULL;

	e->kind = KT_EXIT_NONE;
	e->value = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		name = json_string_value(v);
	} else if (json_is_object(v) && json_object_size(v) == 1) {
		void *it = json_object_iter((json_t *)v);

		name = json_object_iter_key(it);
		val = json_object_iter_value(it);
	} else {
		return fail(err, "worker report: '%s' has an invalid shape", "exit_info");
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(kinds); i++) {
		if (strcmp(name, kinds[i].name))
			continue;
		e->kind = kinds[i].kind;
		if (val && json_is_integer(val)) {
			json_int_t x = json_integer_value(val);

			e->value = x < -1000000 || x > 1000000 ? 0 : (int)x;
		}
		return 0;
	}
	return fail(err, "worker report: unknown exit_info kind in '%s'", "exit_info");
}

int kt_worker_report_from_json(const json_t *j, struct kt_worker_report *out, char **err)
{
	struct kt_worker_report r;
	uint64_t tid, pair = 0;
	json_t *v;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!json_is_object(j))
		return fail(err, "worker report: %s is not a JSON object", "top level");

	rc = get_u64(j, "tid", true, &tid, err);
	if (!rc && tid > (uint64_t)INT32_MAX)
		rc = fail(err, "worker report: '%s' out of range", "tid");
	r.tid = (pid_t)tid;
	rc = rc ?: get_u64(j, "work_units", false, &r.work_units, err);
	rc = rc ?: get_u64(j, "cpu_time_ns", false, &r.cpu_time_ns, err);
	rc = rc ?: get_u64(j, "wall_time_ns", false, &r.wall_time_ns, err);
	rc = rc ?: get_u64(j, "off_cpu_ns", false, &r.off_cpu_ns, err);
	rc = rc ?: get_u64(j, "migration_count", false, &r.migration_count, err);
	rc = rc ?: get_u64(j, "max_gap_ms", false, &r.max_gap_ms, err);
	rc = rc ?: get_u64(j, "max_gap_at_ms", false, &r.max_gap_at_ms, err);
	rc = rc ?: get_u64(j, "max_gap_on_cpu_ms", false, &r.max_gap_on_cpu_ms, err);
	if (!rc && r.max_gap_on_cpu_ms > r.max_gap_ms)
		rc = fail(err, "worker report: '%s' exceeds max_gap_ms", "max_gap_on_cpu_ms");
	rc = rc ?: get_u64(j, "wake_sample_total", false, &r.wake_sample_total, err);
	rc = rc ?: get_u64(j, "iterations", false, &r.iterations, err);
	rc = rc ?: get_u64(j, "schedstat_run_delay_ns", false, &r.schedstat_run_delay_ns, err);
	rc = rc ?: get_u64(j, "schedstat_run_count", false, &r.schedstat_run_count, err);
	rc = rc ?: get_u64(j, "schedstat_cpu_time_ns", false, &r.schedstat_cpu_time_ns, err);
	rc = rc
		 ?: get_u64(j, "vmstat_numa_pages_migrated", false, &r.vmstat_numa_pages_migrated,
			    err);
	rc = rc ?: get_bool(j, "completed", true, &r.completed, err);
	rc = rc ?: get_bool(j, "is_messenger", false, &r.is_messenger, err);
	rc = rc ?: get_u64(j, "exchange_pair", false, &pair, err);
	rc = rc ?: get_u64(j, "start_ns", false, &r.start_ns, err);
	if (!rc && pair > UINT32_MAX)
		rc = fail(err, "worker report: '%s' out of range", "exchange_pair");
	r.exchange_pair = (uint32_t)pair;
	if (rc)
		goto out;

	v = json_object_get(j, "max_gap_cpu");
	if (v && !json_is_null(v) &&
	    get_int(v, "max_gap_cpu", -1, KT_MAX_CPUS - 1, &r.max_gap_cpu, err))
		goto bad;

	v = json_object_get(j, "cpus_used");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *e;

		if (!json_is_array(v))
			goto bad_shape_cpus;
		json_array_foreach(v, i, e)
		{
			int cpu;

			if (get_int(e, "cpus_used", 0, KT_MAX_CPUS - 1, &cpu, err))
				goto bad;
			kt_cpuset_set(&r.cpus_used, cpu);
		}
	}

	v = json_object_get(j, "allowed_cpus");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *e;

		if (!json_is_array(v))
			goto bad_shape_allowed;
		json_array_foreach(v, i, e)
		{
			int cpu;

			if (get_int(e, "allowed_cpus", 0, KT_MAX_CPUS - 1, &cpu, err))
				goto bad;
			kt_cpuset_set(&r.allowed_cpus, cpu);
		}
	}

	v = json_object_get(j, "migrations");
	if (v && !json_is_null(v)) {
		size_t i, n;
		json_t *e;

		if (!json_is_array(v) || (n = json_array_size(v)) > MAX_MIGRATIONS) {
			fail(err, "worker report: '%s' is not an array of bounded size",
			     "migrations");
			goto bad;
		}
		r.migrations = n ? kt_calloc(n, sizeof(*r.migrations)) : NULL;
		json_array_foreach(v, i, e)
		{
			struct kt_migration *m = &r.migrations[i];

			if (!json_is_object(e) || get_u64(e, "at_ns", true, &m->at_ns, err) ||
			    get_int(json_object_get(e, "from_cpu"), "from_cpu", 0, KT_MAX_CPUS - 1,
				    &m->from_cpu, err) ||
			    get_int(json_object_get(e, "to_cpu"), "to_cpu", 0, KT_MAX_CPUS - 1,
				    &m->to_cpu, err)) {
				fail(err, "worker report: invalid entry in '%s'", "migrations");
				goto bad;
			}
			r.n_migrations = i + 1;
		}
	}

	v = json_object_get(j, "resume_latencies_ns");
	if (v && !json_is_null(v)) {
		size_t i, n;
		json_t *e;

		if (!json_is_array(v) || (n = json_array_size(v)) > KT_MAX_WAKE_SAMPLES) {
			fail(err, "worker report: '%s' is not an array of bounded size",
			     "resume_latencies_ns");
			goto bad;
		}
		r.resume_latencies_ns = n ? kt_calloc(n, sizeof(uint64_t)) : NULL;
		json_array_foreach(v, i, e)
		{
			if (!json_is_integer(e) || json_integer_value(e) < 0) {
				fail(err, "worker report: invalid entry in '%s'",
				     "resume_latencies_ns");
				goto bad;
			}
			r.resume_latencies_ns[i] = (uint64_t)json_integer_value(e);
			r.n_resume_latencies = i + 1;
		}
	}

	v = json_object_get(j, "numa_pages");
	if (v && !json_is_null(v)) {
		const char *key;
		json_t *e;
		size_t n;

		if (!json_is_object(v) || (n = json_object_size(v)) > MAX_NUMA_NODES) {
			fail(err, "worker report: '%s' is not an object of bounded size",
			     "numa_pages");
			goto bad;
		}
		r.numa_pages = n ? kt_calloc(n, sizeof(*r.numa_pages)) : NULL;
		json_object_foreach((json_t *)v, key, e)
		{
			uint64_t node;

			if (kt_parse_u64(key, &node) || node >= MAX_NUMA_NODES ||
			    !json_is_integer(e) || json_integer_value(e) < 0) {
				fail(err, "worker report: invalid entry in '%s'", "numa_pages");
				goto bad;
			}
			r.numa_pages[r.n_numa_pages].node = (int)node;
			r.numa_pages[r.n_numa_pages].pages = (uint64_t)json_integer_value(e);
			r.n_numa_pages++;
		}
	}

	if (parse_exit_info(json_object_get(j, "exit_info"), &r.exit_info, err))
		goto bad;
	*out = r;
	return 0;

bad_shape_cpus:
	fail(err, "worker report: '%s' is not an array", "cpus_used");
	goto bad;
bad_shape_allowed:
	fail(err, "worker report: '%s' is not an array", "allowed_cpus");
bad:
	rc = -EINVAL;
out:
	kt_worker_report_clear(&r);
	return rc;
}

int kt_worker_report_parse(const char *text, size_t len, struct kt_worker_report *out, char **err)
{
	json_error_t jerr;
	json_t *j;
	int rc;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		if (err) {
			free(*err);
			*err = kt_asprintf("worker report: invalid JSON: %s", jerr.text);
		}
		return -EINVAL;
	}
	rc = kt_worker_report_from_json(j, out, err);
	json_decref(j);
	return rc;
}
