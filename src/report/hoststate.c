// SPDX-License-Identifier: GPL-2.0
/* Host state: capture beyond src/results/host.c, flatten, diff, load. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/hoststate.h"
#include "results/results.h"
#include "util/util.h"

static char *read_at(const char *root, const char *path)
{
	char *p = kt_asprintf("%s%s", root ? root : "", path), *s = NULL;

	if (kt_read_file(p, &s, NULL, 1 << 16)) {
		free(p);
		return NULL;
	}
	free(p);
	char *t = kt_trim(s);

	memmove(s, t, strlen(t) + 1);
	if (!*s) {
		free(s);
		return NULL;
	}
	return s;
}

static void put_str(json_t *o, const char *k, char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
	free(v);
}

static void put_bool01(json_t *o, const char *k, char *v)
{
	if (v && (!strcmp(v, "0") || !strcmp(v, "1")))
		json_object_set_new(o, k, json_boolean(v[0] == '1'));
	free(v);
}

struct gov {
	char *name;
	int n;
};

/* "performance" when every CPU agrees, else "performance x6, powersave x2". */
static void put_governor(json_t *o, const char *root)
{
	char *dpath = kt_asprintf("%s/sys/devices/system/cpu", root ? root : "");
	DIR *d = opendir(dpath);
	struct gov g[16];
	size_t ng = 0;
	struct dirent *e;
	struct sbuf sb = SBUF_INIT;

	free(dpath);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p, *v;
		size_t i;

		if (strncmp(e->d_name, "cpu", 3) || !isdigit((unsigned char)e->d_name[3]))
			continue;
		p = kt_asprintf("/sys/devices/system/cpu/%s/cpufreq/scaling_governor", e->d_name);
		v = read_at(root, p);
		free(p);
		if (!v)
			continue;
		for (i = 0; i < ng && strcmp(g[i].name, v); i++)
			;
		if (i < ng) {
			g[i].n++;
			free(v);
		} else if (ng < KT_ARRAY_SIZE(g)) {
			g[ng].name = v;
			g[ng++].n = 1;
		} else {
			free(v);
		}
	}
	closedir(d);
	for (size_t i = 0; i < ng; i++) {
		if (ng == 1)
			sb_adds(&sb, g[i].name);
		else
			sb_addf(&sb, "%s%s x%d", i ? ", " : "", g[i].name, g[i].n);
		free(g[i].name);
	}
	if (ng)
		json_object_set_new(o, "cpu_governor", json_string(sb_str(&sb)));
	sb_free(&sb);
}

static void put_real(json_t *o, const char *k, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!errno && end != s)
		json_object_set_new(o, k, json_real(v));
}

/* "0.52 0.58 0.59 2/345 12345" */
static void put_loadavg(json_t *o, const char *root)
{
	char *s = read_at(root, "/proc/loadavg");
	unsigned run, total;
	double l1, l5, l15;

	if (s && sscanf(s, "%lf %lf %lf %u/%u", &l1, &l5, &l15, &run, &total) == 5) {
		json_object_set_new(o, "load_1m", json_real(l1));
		json_object_set_new(o, "load_5m", json_real(l5));
		json_object_set_new(o, "load_15m", json_real(l15));
		json_object_set_new(o, "procs_running", json_integer(run));
		json_object_set_new(o, "procs_total", json_integer(total));
	}
	free(s);
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=123" */
static void put_pressure(json_t *o, const char *root)
{
	char *s = read_at(root, "/proc/pressure/cpu"), *p;

	if (s && kt_startswith(s, "some ") && (p = strstr(s, "avg10=")))
		put_real(o, "cpu_pressure_some_avg10", p + 6);
	if (s && (p = strstr(s, "avg60=")))
		put_real(o, "cpu_pressure_some_avg60", p + 6);
	free(s);
}

void kt_host_state_extend(json_t *o, const char *root)
{
	struct kt_cpuset cs;
	char *v;

	if (root && !*root)
		root = NULL;
	put_governor(o, root);
	put_str(o, "cpufreq_driver",
		read_at(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_driver"));
	put_bool01(o, "cpu_boost", read_at(root, "/sys/devices/system/cpu/cpufreq/boost"));
	put_bool01(o, "intel_no_turbo",
		   read_at(root, "/sys/devices/system/cpu/intel_pstate/no_turbo"));
	put_str(o, "smt_control", read_at(root, "/sys/devices/system/cpu/smt/control"));
	put_bool01(o, "smt_active", read_at(root, "/sys/devices/system/cpu/smt/active"));
	v = read_at(root, "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list");
	if (v && !kt_cpuset_parse(v, &cs) && kt_cpuset_count(&cs) > 0)
		json_object_set_new(o, "threads_per_core", json_integer(kt_cpuset_count(&cs)));
	free(v);
	v = read_at(root, "/sys/devices/system/cpu/isolated");
	put_str(o, "isolated_cpus", v);
	v = read_at(root, "/sys/devices/system/cpu/nohz_full");
	if (v && strcmp(v, "(null)"))
		put_str(o, "nohz_full_cpus", v);
	else
		free(v);
	put_str(o, "numa_balancing", read_at(root, "/proc/sys/kernel/numa_balancing"));
	put_str(o, "clocksource",
		read_at(root, "/sys/devices/system/clocksource/clocksource0/current_clocksource"));
	put_loadavg(o, root);
	put_pressure(o, root);
}

int kt_host_state_is_volatile(const char *key)
{
	static const char *const vol[] = {
		"load_1m",	"load_5m",	   "load_15m", "procs_running", "procs_total",
		"cpu_pressure_some_avg10", "cpu_pressure_some_avg60", "hugepages_free",
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(vol); i++)
		if (!strcmp(key, vol[i]))
			return 1;
	return 0;
}

struct kv {
	char *k;
	char *v;
};

struct kvs {
	struct kv *v;
	size_t n, cap;
};

static char *value_str(const json_t *v)
{
	if (json_is_string(v))
		return kt_strdup(json_string_value(v));
	if (json_is_real(v))
		return kt_asprintf("%.2f", json_real_value(v));
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static void flatten(const json_t *o, const char *prefix, struct kvs *out)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v) {
		char *key = prefix ? kt_asprintf("%s.%s", prefix, k) : kt_strdup(k);

		if (json_is_object(v)) {
			flatten(v, key, out);
			free(key);
			continue;
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 32;
			out->v = kt_realloc(out->v, out->cap * sizeof(*out->v));
		}
		out->v[out->n].k = key;
		out->v[out->n++].v = value_str(v);
	}
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

static void flat_sorted(const json_t *o, struct kvs *out)
{
	memset(out, 0, sizeof(*out));
	if (json_is_object(o))
		flatten(o, NULL, out);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_kv);
}

static void kvs_free(struct kvs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].k);
		free(s->v[i].v);
	}
	free(s->v);
}

void kt_host_state_diff(const json_t *a, const json_t *b, struct kt_host_diff **out, size_t *n,
			size_t *n_same)
{
	struct kvs fa, fb;
	size_t i = 0, j = 0, cap = 0;

	flat_sorted(a, &fa);
	flat_sorted(b, &fb);
	*out = NULL;
	*n = 0;
	*n_same = 0;
	while (i < fa.n || j < fb.n) {
		int c = i == fa.n ? 1 : j == fb.n ? -1 : strcmp(fa.v[i].k, fb.v[j].k);
		struct kt_host_diff d = {0};

		if (!c && !strcmp(fa.v[i].v, fb.v[j].v)) {
			(*n_same)++;
			i++;
			j++;
			continue;
		}
		d.key = kt_strdup(c <= 0 ? fa.v[i].k : fb.v[j].k);
		if (c <= 0)
			d.a = kt_strdup(fa.v[i++].v);
		if (c >= 0)
			d.b = kt_strdup(fb.v[j++].v);
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = kt_realloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = d;
	}
	kvs_free(&fa);
	kvs_free(&fb);
}

void kt_host_diff_free(struct kt_host_diff *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].key);
		free(d[i].a);
		free(d[i].b);
	}
	free(d);
}

json_t *kt_host_state_flat(const json_t *host)
{
	json_t *o = json_object();
	struct kvs s;

	flat_sorted(host, &s);
	for (size_t i = 0; i < s.n; i++)
		json_object_set_new(o, s.v[i].k, json_string(s.v[i].v));
	kvs_free(&s);
	return o;
}

void kt_host_state_print(FILE *f, const json_t *host)
{
	struct kvs s;
	int w = 0;

	flat_sorted(host, &s);
	for (size_t i = 0; i < s.n; i++)
		if ((int)strlen(s.v[i].k) > w)
			w = (int)strlen(s.v[i].k);
	for (size_t i = 0; i < s.n; i++)
		fprintf(f, "%-*s  %s\n", w, s.v[i].k, s.v[i].v);
	kvs_free(&s);
}

json_t *kt_host_state_snapshot(void)
{
	char ts[32];

	kt_utc_timestamp(time(NULL), ts, sizeof(ts));
	return json_pack("{s:i,s:s,s:o}", "host_state_version", KT_HOST_STATE_VERSION,
			 "captured_at", ts, "host", kt_host_context());
}

struct first_host {
	json_t *host;
	char *err;
};

static int first_host_cb(void *ctx, const char *path)
{
	struct first_host *fh = ctx;
	struct kt_sidecar sc;
	char *err = NULL;

	if (kt_sidecar_read(path, &sc, &err)) {
		if (!fh->err)
			fh->err = kt_asprintf("%s: %s", path, err);
		free(err);
		return 0;
	}
	if (json_is_object(sc.host) && json_object_size(sc.host)) {
		fh->host = json_incref(sc.host);
		kt_sidecar_free(&sc);
		return 1;
	}
	kt_sidecar_free(&sc);
	return 0;
}

static int load_dir(const char *dir, json_t **out, char **err)
{
	struct first_host fh = {0};
	int r = kt_sidecar_scan(dir, first_host_cb, &fh);

	if (r < 0) {
		kt_set_err(err, "%s: %s", dir, strerror(-r));
	} else if (r == 0) {
		kt_set_err(err, "%s: no sidecar files", dir);
		r = -ENOENT;
	} else if (!fh.host) {
		kt_set_err(err, "%s: no sidecar carries a host context%s%s%s", dir,
			   fh.err ? " (first unreadable: " : "", fh.err ? fh.err : "",
			   fh.err ? ")" : "");
		r = -ENOENT;
	} else {
		*out = fh.host;
		r = 0;
	}
	free(fh.err);
	return r;
}

static int load_file(const char *path, json_t **out, char **err)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je), *v, *h;
	struct kt_sidecar sc;
	char *e = NULL;

	if (!j) {
		kt_set_err(err, "%s: %s (line %d)", path, je.text, je.line);
		return -EINVAL;
	}
	v = json_object_get(j, "host_state_version");
	if (v) {
		h = json_object_get(j, "host");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > KT_HOST_STATE_VERSION) {
			kt_set_err(err, "%s: host_state_version %s not understood (this ktstr reads 1)",
				   path, json_is_integer(v) ? "newer" : "invalid");
			json_decref(j);
			return -EINVAL;
		}
		if (!json_is_object(h)) {
			kt_set_err(err, "%s: no \"host\" object", path);
			json_decref(j);
			return -EINVAL;
		}
		*out = json_incref(h);
		json_decref(j);
		return 0;
	}
	if (kt_sidecar_from_json(j, &sc, &e)) {
		kt_set_err(err, "%s: neither a host-state snapshot nor a sidecar (%s)", path, e);
		free(e);
		json_decref(j);
		return -EINVAL;
	}
	json_decref(j);
	if (!json_is_object(sc.host) || !json_object_size(sc.host)) {
		kt_set_err(err, "%s: the sidecar has no host context", path);
		kt_sidecar_free(&sc);
		return -ENOENT;
	}
	*out = json_incref(sc.host);
	kt_sidecar_free(&sc);
	return 0;
}

int kt_host_state_load(const char *src, json_t **out, char **err)
{
	char *root, *dir;
	int r;

	*out = NULL;
	if (kt_is_file(src))
		return load_file(src, out, err);
	if (kt_is_dir(src))
		return load_dir(src, out, err);
	root = kt_runs_root();
	dir = strchr(src, '/') ? NULL : kt_path_join(root, src);
	if (dir && kt_is_dir(dir)) {
		r = load_dir(dir, out, err);
	} else {
		kt_set_err(err, "%s: no such file, directory or run under %s", src, root);
		r = -ENOENT;
	}
	free(dir);
	free(root);
	return r;
}
