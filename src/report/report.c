// SPDX-License-Identifier: GPL-2.0
/* `ktstr report`: sidecars of run directories -> one self-contained HTML file. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "report/hoststate.h"
#include "report/report.h"
#include "results/results.h"
#include "util/util.h"

/* Top-level sidecar keys the report shows in their own place. */
static const char *const shown_keys[] = {
	"test_name", "topology",     "scheduler",   "payload",	"metrics",   "passed",
	"skipped",   "inconclusive", "stats",	    "monitor",	"work_type", "active_flags",
	"kernel_version", "timestamp", "run_id",    "host",	"run_source", "details",
	"duration_ms", "project_commit", "schema_version", "failure", "scheduler_exit",
	"failure_dump", "absent",
};

static bool is_shown(const char *k)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(shown_keys); i++)
		if (!strcmp(k, shown_keys[i]))
			return true;
	return false;
}

static bool is_empty(const json_t *v)
{
	return !v || json_is_null(v) || json_is_false(v) ||
	       (json_is_array(v) && !json_array_size(v)) ||
	       (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_string(v) && !json_string_length(v));
}

static const char *verdict(const struct kt_sidecar *sc)
{
	if (sc->skipped)
		return "skip";
	if (sc->inconclusive)
		return "inconclusive";
	return sc->passed ? "pass" : "fail";
}

static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : 0.0;
}

static json_t *cgroups_of(const json_t *stats)
{
	json_t *out = json_array(), *c;
	size_t i;

	json_array_foreach(json_object_get(stats, "cgroups"), i, c) {
		const json_t *nm = json_object_get(c, "name");
		char *name;

		if (!json_is_object(c) || i >= 256)
			break;
		name = json_is_string(nm) ? kt_strdup(json_string_value(nm)) : kt_asprintf("cg %zu", i);
		json_array_append_new(out, json_pack("{s:s,s:I,s:f,s:f,s:f}", "name", name, "workers",
						     (json_int_t)num(c, "num_workers"), "min",
						     num(c, "min_off_cpu_pct"), "avg",
						     num(c, "avg_off_cpu_pct"), "max",
						     num(c, "max_off_cpu_pct")));
		free(name);
	}
	return out;
}

/* The scalar numbers of the stats object (what compare can pair). */
static json_t *metrics_of(const json_t *stats)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)stats, k, v) {
		if (json_is_number(v))
			json_object_set_new(out, k, json_real(json_number_value(v)));
	}
	v = json_object_get(stats, "ext_metrics");
	if (json_is_object(v)) {
		json_t *e;

		json_object_foreach(v, k, e) {
			if (json_is_number(e))
				json_object_set_new(out, k, json_real(json_number_value(e)));
		}
	}
	return out;
}

static bool sample_time_ms(const json_t *s, double *t)
{
	static const char *const ms[] = {"t_ms", "elapsed_ms"}, *const ns[] = {"t_ns", "elapsed_ns"};

	for (size_t i = 0; i < 2; i++) {
		if (json_is_number(json_object_get(s, ms[i]))) {
			*t = json_number_value(json_object_get(s, ms[i]));
			return true;
		}
		if (json_is_number(json_object_get(s, ns[i]))) {
			*t = json_number_value(json_object_get(s, ns[i])) / 1e6;
			return true;
		}
	}
	return false;
}

/* CPU c's value of field k: a named member, or position i of cpu_fields. */
static json_t *cpu_value(const json_t *cpu, const json_t *cpu_fields, const char *k)
{
	size_t i;
	json_t *f;

	if (json_is_object(cpu))
		return json_object_get(cpu, k);
	if (!json_is_array(cpu))
		return NULL;
	json_array_foreach(cpu_fields, i, f)
		if (json_is_string(f) && !strcmp(json_string_value(f), k))
			return json_array_get(cpu, i);
	return NULL;
}

/* Field names: cpu_fields (array form), else the numeric members seen. */
static json_t *timeline_fields(const json_t *samples, const json_t *cpu_fields, size_t nsamp,
			       size_t *ncpu)
{
	json_t *fields = json_object(), *f;
	size_t i;

	json_array_foreach(cpu_fields, i, f) {
		if (json_is_string(f) && json_object_size(fields) < KT_REPORT_MAX_FIELDS)
			json_object_set_new(fields, json_string_value(f), json_array());
	}
	for (i = 0; i < nsamp; i++) {
		json_t *cpus = json_object_get(json_array_get(samples, i), "cpus"), *c, *v;
		const char *k;
		size_t ci;

		if (!json_is_array(cpus))
			continue;
		if (json_array_size(cpus) > *ncpu)
			*ncpu = json_array_size(cpus);
		json_array_foreach(cpus, ci, c) {
			if (ci >= KT_REPORT_MAX_CPUS || !json_is_object(c))
				break;
			json_object_foreach(c, k, v) {
				if (json_is_number(v) && !json_object_get(fields, k) &&
				    json_object_size(fields) < KT_REPORT_MAX_FIELDS && strcmp(k, "cpu"))
					json_object_set_new(fields, k, json_array());
			}
		}
	}
	if (*ncpu > KT_REPORT_MAX_CPUS)
		*ncpu = KT_REPORT_MAX_CPUS;
	return fields;
}

json_t *kt_report_timeline(const json_t *monitor)
{
	const json_t *samples = json_object_get(monitor, "samples");
	const json_t *cpu_fields = json_object_get(monitor, "cpu_fields");
	json_t *t = json_array(), *fields, *arr;
	size_t i, ncpu = 0, nsamp = json_array_size(samples);
	const char *k;

	if (nsamp > KT_REPORT_MAX_SAMPLES)
		nsamp = KT_REPORT_MAX_SAMPLES;
	fields = timeline_fields(samples, cpu_fields, nsamp, &ncpu);
	if (!ncpu || !json_object_size(fields))
		goto none;
	json_object_foreach(fields, k, arr)
		for (size_t c = 0; c < ncpu; c++)
			json_array_append_new(arr, json_array());
	for (i = 0; i < nsamp; i++) {
		const json_t *s = json_array_get(samples, i), *cpus = json_object_get(s, "cpus");
		double ms;

		/* No time, or an invalid sample (no cpus): no point; never invented. */
		if (!sample_time_ms(s, &ms) || !json_is_array(cpus))
			continue;
		json_array_append_new(t, json_real(ms));
		json_object_foreach(fields, k, arr) {
			for (size_t c = 0; c < ncpu; c++) {
				json_t *v = cpu_value(json_array_get(cpus, c), cpu_fields, k);

				json_array_append_new(json_array_get(arr, c),
						      json_is_number(v) ? json_real(json_number_value(v))
									: json_null());
			}
		}
	}
	if (!json_array_size(t))
		goto none;
	return json_pack("{s:o,s:o}", "t", t, "fields", fields);
none:
	json_decref(t);
	json_decref(fields);
	return NULL;
}

static json_t *jstr_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *test_entry(const struct kt_sidecar *sc, size_t run)
{
	const char *v = verdict(sc);
	json_t *o = json_object(), *flags = json_array(), *details = json_array(), *d;
	char *key = kt_asprintf("%s/%016llx", sc->test_name,
				(unsigned long long)kt_sidecar_variant_hash(sc));
	size_t i;

	for (i = 0; i < sc->active_flags.n; i++)
		json_array_append_new(flags, json_string(sc->active_flags.v[i]));
	json_array_foreach(sc->details, i, d) {
		json_t *kind = json_object_get(d, "kind"), *msg = json_object_get(d, "message");

		json_array_append_new(details,
				      json_pack("{s:s,s:s}", "kind",
						json_is_string(kind) ? json_string_value(kind) : "?",
						"message",
						json_is_string(msg) ? json_string_value(msg) : ""));
	}
	json_object_set_new(o, "run", json_integer((json_int_t)run));
	json_object_set_new(o, "name", json_string(sc->test_name));
	json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "topology", json_string(sc->topology ? sc->topology : ""));
	json_object_set_new(o, "scheduler", json_string(sc->scheduler ? sc->scheduler : "eevdf"));
	json_object_set_new(o, "work_type", json_string(sc->work_type ? sc->work_type : ""));
	json_object_set_new(o, "flags", flags);
	json_object_set_new(o, "verdict", json_string(v));
	json_object_set_new(o, "duration_ms", sc->has_duration_ms
						      ? json_integer((json_int_t)sc->duration_ms)
						      : json_null());
	json_object_set_new(o, "details", details);
	json_object_set_new(o, "cgroups", cgroups_of(sc->stats));
	json_object_set_new(o, "metrics", metrics_of(sc->stats));
	json_object_set_new(o, "timeline",
			    kt_report_timeline(sc->monitor) ?: json_null());
	if (json_is_object(sc->monitor)) {
		json_t *m = json_deep_copy(sc->monitor);

		json_object_del(m, "samples");
		json_object_set_new(o, "monitor", m);
	} else {
		json_object_set_new(o, "monitor", json_null());
	}
	json_object_set_new(o, "failure", json_is_object(sc->failure) ? json_incref(sc->failure)
								    : json_null());
	json_object_set_new(o, "scheduler_exit", json_is_object(sc->scheduler_exit)
							 ? json_incref(sc->scheduler_exit)
							 : json_null());
	json_object_set_new(o, "failure_dump", jstr_null(sc->failure_dump));
	/* For failures: why fields are absent, and every other non-empty field. */
	json_t *extra = json_object();

	if (strcmp(v, "pass") && strcmp(v, "skip")) {
		const char *k;
		json_t *x;

		json_object_foreach(sc->raw, k, x) {
			if (!is_shown(k) && !is_empty(x))
				json_object_set(extra, k, x);
		}
		if (json_is_object(sc->absent))
			json_object_set_new(o, "absent", json_incref(sc->absent));
	}
	json_object_set_new(o, "extra", extra);
	free(key);
	return o;
}

struct collect {
	json_t *tests, *errors;
	size_t run, n;
	struct kt_sidecar first; /* first readable sidecar (run-level fields) */
	bool have_first;
	json_t *host;
	char *ts_first, *ts_last;
};

static int collect_cb(void *ctx, const char *path)
{
	struct collect *c = ctx;
	struct kt_sidecar sc;
	char *err = NULL;

	c->n++;
	if (kt_sidecar_read(path, &sc, &err)) {
		json_array_append_new(c->errors, json_pack("{s:s,s:s}", "path", path, "error", err));
		free(err);
		return 0;
	}
	json_array_append_new(c->tests, test_entry(&sc, c->run));
	if (!c->host && json_is_object(sc.host) && json_object_size(sc.host))
		c->host = json_incref(sc.host);
	if (sc.timestamp && *sc.timestamp) {
		if (!c->ts_first || strcmp(sc.timestamp, c->ts_first) < 0) {
			free(c->ts_first);
			c->ts_first = kt_strdup(sc.timestamp);
		}
		if (!c->ts_last || strcmp(sc.timestamp, c->ts_last) > 0) {
			free(c->ts_last);
			c->ts_last = kt_strdup(sc.timestamp);
		}
	}
	if (!c->have_first) {
		c->first = sc;
		c->have_first = true;
	} else {
		kt_sidecar_free(&sc);
	}
	return 0;
}

int kt_report_data(const char *const *dirs, size_t n, json_t **out, char **err)
{
	json_t *runs = json_array(), *tests = json_array(), *errors = json_array();
	json_t *host0 = NULL;
	char ts[32];
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		struct collect c = {.tests = tests, .errors = errors, .run = i};
		const char *base = strrchr(dirs[i], '/');
		char *label = kt_strdup(base && base[1] ? base + 1 : dirs[i]);
		int r = kt_sidecar_scan(dirs[i], collect_cb, &c);

		/* "dir/" -> "dir" */
		if (!*label || (base && !base[1])) {
			char *t = kt_strdup(dirs[i]);

			while (strlen(t) > 1 && t[strlen(t) - 1] == '/')
				t[strlen(t) - 1] = 0;
			free(label);
			base = strrchr(t, '/');
			label = kt_strdup(base ? base + 1 : t);
			free(t);
		}
		if (r < 0) {
			kt_set_err(err, "%s: %s", dirs[i], strerror(-r));
			rc = r;
		} else if (!c.n) {
			kt_set_err(err, "%s: no sidecar files (*.ktstr.json)", dirs[i]);
			rc = -ENOENT;
		} else {
			json_t *run = json_object();

			json_object_set_new(run, "label", json_string(label));
			json_object_set_new(run, "dir", json_string(dirs[i]));
			json_object_set_new(run, "kernel",
					    jstr_null(c.have_first ? c.first.kernel_version : NULL));
			json_object_set_new(run, "project_commit",
					    jstr_null(c.have_first ? c.first.project_commit : NULL));
			json_object_set_new(run, "first", jstr_null(c.ts_first));
			json_object_set_new(run, "last", jstr_null(c.ts_last));
			json_object_set_new(run, "host", kt_host_state_flat(c.host));
			if (i == 0) {
				host0 = json_incref(c.host);
			} else {
				struct kt_host_diff *d;
				size_t nd, same;
				json_t *arr = json_array();

				kt_host_state_diff(host0, c.host, &d, &nd, &same);
				for (size_t k = 0; k < nd; k++)
					json_array_append_new(
						arr, json_pack("{s:s,s:s?,s:s?,s:b}", "key", d[k].key,
							       "a", d[k].a, "b", d[k].b, "volatile",
							       kt_host_state_is_volatile(d[k].key)));
				kt_host_diff_free(d, nd);
				json_object_set_new(run, "host_diff", arr);
			}
			json_array_append_new(runs, run);
		}
		if (c.have_first)
			kt_sidecar_free(&c.first);
		json_decref(c.host);
		free(c.ts_first);
		free(c.ts_last);
		free(label);
	}
	json_decref(host0);
	if (rc) {
		json_decref(runs);
		json_decref(tests);
		json_decref(errors);
		return rc;
	}
	kt_utc_timestamp(time(NULL), ts, sizeof(ts));
	*out = json_pack("{s:s,s:s,s:o,s:o,s:o}", "generated_at", ts, "ktstr_version",
			 kt_version, "runs", runs, "tests", tests, "errors", errors);
	return 0;
}

void kt_report_html(const json_t *data, struct sbuf *out)
{
	char *j = json_dumps(data, JSON_COMPACT | JSON_ESCAPE_SLASH);
	size_t css_len, js_len;
	const char *css = kt_report_css(&css_len), *js = kt_report_js(&js_len);

	sb_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		     "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width\">\n"
		     "<title>ktstr report</title>\n<style>\n");
	sb_add(out, css, css_len);
	sb_adds(out, "</style>\n</head>\n<body>\n<h1>ktstr report</h1>\n"
		     "<p class=\"meta\" id=\"generated\"></p>\n<nav>"
		     "<a href=\"#summary\">summary</a><a href=\"#tests\">tests</a>"
		     "<a href=\"#failures\">failures</a><a href=\"#walltime\">wall time</a>"
		     "<a href=\"#offcpu\">off-CPU</a><a href=\"#compare\">compare</a>"
		     "<a href=\"#timelines\">timelines</a><a href=\"#host\">host</a></nav>\n"
		     "<noscript><p>This report draws its tables and plots with JavaScript; "
		     "the data is in the ktstr-data element of this file.</p></noscript>\n"
		     "<main id=\"report\"></main>\n"
		     "<script id=\"ktstr-data\" type=\"application/json\">");
	/* '<' as \u003c: nothing in the data can end or re-open a script element. */
	for (const char *p = j; *p; p++) {
		const char *lt = strchr(p, '<');

		if (!lt) {
			sb_adds(out, p);
			break;
		}
		sb_add(out, p, (size_t)(lt - p));
		sb_adds(out, "\\u003c");
		p = lt;
	}
	sb_adds(out, "</script>\n<script>\n");
	sb_add(out, js, js_len);
	sb_adds(out, "</script>\n</body>\n</html>\n");
	free(j);
}

int kt_report_write(const char *const *dirs, size_t n, const char *path, size_t *size,
		    size_t *n_tests, char **err)
{
	struct sbuf sb = SBUF_INIT;
	json_t *data;
	int r = kt_report_data(dirs, n, &data, err);

	if (r)
		return r;
	kt_report_html(data, &sb);
	if (n_tests)
		*n_tests = json_array_size(json_object_get(data, "tests"));
	json_decref(data);
	r = kt_write_file_atomic(path, sb_str(&sb), sb.len, 0644);
	if (r)
		kt_set_err(err, "write %s: %s", path, strerror(-r));
	else if (size)
		*size = sb.len;
	sb_free(&sb);
	return r;
}
