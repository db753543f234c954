// SPDX-License-Identifier: GPL-2.0
/* Sidecars: encode, decode, name, write (with run-dir locking) and scan. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results.h"
#include "util/util.h"

void kt_strv_add(struct kt_strv *sv, const char *s)
{
	sv->v = kt_realloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
	sv->v[sv->n++] = kt_strdup(s);
	sv->v[sv->n] = NULL;
}

void kt_strv_free(struct kt_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void kt_sidecar_free(struct kt_sidecar *sc)
{
	free(sc->test_name);
	free(sc->topology);
	free(sc->scheduler);
	free(sc->scheduler_commit);
	free(sc->project_commit);
	free(sc->payload);
	json_decref(sc->stats);
	json_decref(sc->monitor);
	json_decref(sc->details);
	free(sc->work_type);
	kt_strv_free(&sc->active_flags);
	kt_strv_free(&sc->sysctls);
	kt_strv_free(&sc->kargs);
	free(sc->kernel_version);
	free(sc->kernel_commit);
	free(sc->timestamp);
	free(sc->run_id);
	json_decref(sc->host);
	free(sc->run_source);
	kt_strv_free(&sc->work_types);
	json_decref(sc->scheduler_exit);
	json_decref(sc->failure);
	free(sc->failure_dump);
	json_decref(sc->absent);
	json_decref(sc->extra);
	json_decref(sc->raw);
	memset(sc, 0, sizeof(*sc));
}

void kt_sidecar_absent(struct kt_sidecar *sc, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (!sc->absent)
		sc->absent = json_object();
	json_object_set_new(sc->absent, field, json_string(m ? m : "unknown"));
	free(m);
}

const char *kt_sidecar_absent_reason(const struct kt_sidecar *sc, const char *field)
{
	return sc->absent ? json_string_value(json_object_get(sc->absent, field)) : NULL;
}

/* Keys the writer produces from struct fields (kt_sidecar_set refuses them). */
static const char *const owned_keys[] = {
	"schema_version", "test_name", "topology", "scheduler", "scheduler_commit",
	"project_commit", "payload", "passed", "skipped", "inconclusive", "stats", "details",
	"work_type", "work_types", "active_flags", "sysctls", "kargs", "kernel_version",
	"kernel_commit", "timestamp", "run_id", "host", "cleanup_duration_ms", "run_source",
	"duration_ms", "scheduler_exit", "failure", "failure_dump", "absent",
};

int kt_sidecar_set(struct kt_sidecar *sc, const char *key, json_t *v)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(owned_keys); i++)
		if (!strcmp(key, owned_keys[i])) {
			json_decref(v);
			return -EEXIST;
		}
	if (!strcmp(key, "monitor")) {
		json_decref(sc->monitor);
		sc->monitor = json_is_null(v) ? (json_decref(v), NULL) : v;
		return 0;
	}
	if (!sc->extra)
		sc->extra = json_object();
	json_object_set_new(sc->extra, key, v);
	return 0;
}

json_t *kt_sidecar_get(const struct kt_sidecar *sc, const char *key)
{
	json_t *v = sc->extra ? json_object_get(sc->extra, key) : NULL;

	if (!v && !strcmp(key, "monitor"))
		v = sc->monitor;
	if (!v && sc->raw)
		v = json_object_get(sc->raw, key);
	return v;
}

/* ---- SipHash-1-3 --------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                 \
	do {                                                                                     \
		v0 += v1;                                                                        \
		v1 = ROTL(v1, 13);                                                               \
		v1 ^= v0;                                                                        \
		v0 = ROTL(v0, 32);                                                               \
		v2 += v3;                                                                        \
		v3 = ROTL(v3, 16);                                                               \
		v3 ^= v2;                                                                        \
		v0 += v3;                                                                        \
		v3 = ROTL(v3, 21);                                                               \
		v3 ^= v0;                                                                        \
		v2 += v1;                                                                        \
		v1 = ROTL(v1, 17);                                                               \
		v1 ^= v2;                                                                        \
		v2 = ROTL(v2, 32);                                                               \
	} while (0)

uint64_t kt_siphash(int c, int d, uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		m = 0;
		for (int k = 0; k < 8; k++)
			m |= (uint64_t)p[i + k] << (8 * k);
		v3 ^= m;
		for (int r = 0; r < c; r++)
			SIPROUND;
		v0 ^= m;
	}
	for (int k = 0; i + k < len; k++)
		b |= (uint64_t)p[i + k] << (8 * k);
	v3 ^= b;
	for (int r = 0; r < c; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t kt_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	return kt_siphash(1, 3, k0, k1, data, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_sorted(struct sbuf *sb, const struct kt_strv *sv)
{
	char **v = kt_calloc(sv->n + 1, sizeof(*v));

	if (sv->n) /* an empty list may have no array: memcpy(v, NULL, 0) is undefined */
		memcpy(v, sv->v, sv->n * sizeof(*v));
	qsort(v, sv->n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < sv->n; i++)
		sb_add(sb, v[i], strlen(v[i]) + 1);
	free(v);
}

uint64_t kt_sidecar_variant_hash(const struct kt_sidecar *sc)
{
	struct sbuf sb = SBUF_INIT;
	uint64_t h;
	const char *s;

#define ADDZ(str) (s = (str) ? (str) : "", sb_add(&sb, s, strlen(s) + 1))
#define ADDB(byte) sb_add(&sb, (const char[]){(char)(byte)}, 1)
	ADDZ(sc->topology);
	ADDZ(sc->scheduler);
	ADDB(0xfc);
	ADDZ(sc->payload);
	ADDZ(""); /* work_type: see results.h */
	ADDB(0xfe);
	for (size_t i = 0; i < sc->active_flags.n; i++)
		ADDZ(sc->active_flags.v[i]);
	ADDB(0xfd);
	add_sorted(&sb, &sc->sysctls);
	ADDB(0xff);
	add_sorted(&sb, &sc->kargs);
#undef ADDZ
#undef ADDB
	h = kt_siphash13(0, 0, sb_str(&sb), sb.len);
	sb_free(&sb);
	return h;
}

char *kt_sidecar_file_name(const struct kt_sidecar *sc)
{
	return kt_asprintf("%s-%016llx.ktstr.json", sc->test_name ? sc->test_name : "unnamed",
			   (unsigned long long)kt_sidecar_variant_hash(sc));
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jstrv(const struct kt_strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/*
 * A slot of the reference format that another module fills through
 * kt_sidecar_set(): its value, or null (the producer records why in
 * `absent`).
 */
static json_t *slot(const struct kt_sidecar *sc, const char *key)
{
	json_t *v = sc->extra ? json_object_get(sc->extra, key) : NULL;

	return v ? json_deep_copy(v) : json_null();
}

static bool is_slot(const char *key)
{
	static const char *const slots[] = {"metrics", "stimulus_events", "verifier_stats",
					    "kvm_stats"};

	for (size_t i = 0; i < KT_ARRAY_SIZE(slots); i++)
		if (!strcmp(key, slots[i]))
			return true;
	return false;
}

json_t *kt_sidecar_to_json(const struct kt_sidecar *sc)
{
	json_t *o = json_object(), *v;
	const char *k;

	json_object_set_new(o, "schema_version", json_integer(KT_SIDECAR_SCHEMA_VERSION));
	json_object_set_new(o, "test_name", json_string(sc->test_name ? sc->test_name : ""));
	json_object_set_new(o, "topology", json_string(sc->topology ? sc->topology : ""));
	json_object_set_new(o, "scheduler", json_string(sc->scheduler ? sc->scheduler : "eevdf"));
	json_object_set_new(o, "scheduler_commit", jstr_or_null(sc->scheduler_commit));
	json_object_set_new(o, "project_commit", jstr_or_null(sc->project_commit));
	json_object_set_new(o, "payload", jstr_or_null(sc->payload));
	json_object_set_new(o, "metrics", slot(sc, "metrics"));
	json_object_set_new(o, "passed", json_boolean(sc->passed));
	json_object_set_new(o, "skipped", json_boolean(sc->skipped));
	json_object_set_new(o, "inconclusive", json_boolean(sc->inconclusive));
	json_object_set_new(o, "stats", sc->stats ? json_deep_copy(sc->stats) : json_object());
	json_object_set_new(o, "monitor", sc->monitor ? json_deep_copy(sc->monitor) : json_null());
	json_object_set_new(o, "stimulus_events", slot(sc, "stimulus_events"));
	json_object_set_new(o, "work_type", jstr_or_null(sc->work_type));
	json_object_set_new(o, "active_flags", jstrv(&sc->active_flags));
	json_object_set_new(o, "verifier_stats", slot(sc, "verifier_stats"));
	json_object_set_new(o, "kvm_stats", slot(sc, "kvm_stats"));
	json_object_set_new(o, "sysctls", jstrv(&sc->sysctls));
	json_object_set_new(o, "kargs", jstrv(&sc->kargs));
	json_object_set_new(o, "kernel_version", jstr_or_null(sc->kernel_version));
	json_object_set_new(o, "kernel_commit", jstr_or_null(sc->kernel_commit));
	json_object_set_new(o, "timestamp", json_string(sc->timestamp ? sc->timestamp : ""));
	json_object_set_new(o, "run_id", json_string(sc->run_id ? sc->run_id : ""));
	json_object_set_new(o, "host", sc->host ? json_deep_copy(sc->host) : json_null());
	json_object_set_new(o, "cleanup_duration_ms",
			    sc->has_cleanup_ms ? json_integer((json_int_t)sc->cleanup_duration_ms)
					       : json_null());
	json_object_set_new(o, "run_source", jstr_or_null(sc->run_source));
	/* Extensions (not in the reference format): */
	json_object_set_new(o, "details", sc->details ? json_deep_copy(sc->details) : json_array());
	json_object_set_new(o, "duration_ms",
			    sc->has_duration_ms ? json_integer((json_int_t)sc->duration_ms)
						: json_null());
	json_object_set_new(o, "work_types", jstrv(&sc->work_types));
	json_object_set_new(o, "scheduler_exit",
			    sc->scheduler_exit ? json_deep_copy(sc->scheduler_exit) : json_null());
	json_object_set_new(o, "failure", sc->failure ? json_deep_copy(sc->failure) : json_null());
	json_object_set_new(o, "failure_dump", jstr_or_null(sc->failure_dump));
	if (sc->extra)
		json_object_foreach(sc->extra, k, v)
			if (!is_slot(k))
				json_object_set(o, k, v);
	json_object_set_new(o, "absent", sc->absent ? json_deep_copy(sc->absent) : json_object());
	return o;
}

static int get_str(json_t *j, const char *key, bool required, char **out, char **err)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required) {
			*err = kt_asprintf("missing field '%s'", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!json_is_string(v)) {
		*err = kt_asprintf("field '%s' is not a string", key);
		return -EINVAL;
	}
	*out = kt_strdup(json_string_value(v));
	return 0;
}

static int get_bool(json_t *j, const char *key, bool *out, char **err)
{
	json_t *v = json_object_get(j, key);

	if (!v || !json_is_boolean(v)) {
		*err = kt_asprintf("%s field '%s'", v ? "non-boolean" : "missing", key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

/* An optional boolean (absent or null: false). */
static int get_bool_opt(json_t *j, const char *key, bool *out, char **err)
{
	json_t *v = json_object_get(j, key);

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	return get_bool(j, key, out, err);
}

static int get_strv(json_t *j, const char *key, bool required, struct kt_strv *out, char **err)
{
	json_t *v = json_object_get(j, key), *e;
	size_t i;

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		*err = kt_asprintf("missing field '%s'", key);
		return -EINVAL;
	}
	if (!json_is_array(v)) {
		*err = kt_asprintf("field '%s' is not an array", key);
		return -EINVAL;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			*err = kt_asprintf("field '%s' has a non-string entry", key);
			return -EINVAL;
		}
		kt_strv_add(out, json_string_value(e));
	}
	return 0;
}

static int get_u64(json_t *j, const char *key, bool *has, uint64_t *out, char **err)
{
	json_t *v = json_object_get(j, key);

	*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*err = kt_asprintf("field '%s' is not a non-negative integer", key);
		return -EINVAL;
	}
	*has = true;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int kt_sidecar_from_json(json_t *j, struct kt_sidecar *sc, char **err)
{
	json_t *v;
	int r;

	memset(sc, 0, sizeof(*sc));
	if (!json_is_object(j)) {
		*err = kt_strdup("sidecar is not a JSON object");
		return -EINVAL;
	}
	v = json_object_get(j, "schema_version");
	if (v && !json_is_integer(v)) {
		*err = kt_strdup("field 'schema_version' is not an integer");
		return -EINVAL;
	}
	sc->schema_version = v ? (int)json_integer_value(v) : 0;
	if (v && (json_integer_value(v) < 0 ||
		  json_integer_value(v) > KT_SIDECAR_SCHEMA_VERSION)) {
		*err = kt_asprintf("schema_version %lld is not understood by this ktstr (it reads "
				   "0 to %d); a newer ktstr wrote it",
				   (long long)json_integer_value(v), KT_SIDECAR_SCHEMA_VERSION);
		return -EPROTO;
	}
	if ((r = get_str(j, "test_name", true, &sc->test_name, err)) ||
	    (r = get_str(j, "topology", true, &sc->topology, err)) ||
	    (r = get_str(j, "scheduler", true, &sc->scheduler, err)) ||
	    (r = get_str(j, "scheduler_commit", false, &sc->scheduler_commit, err)) ||
	    (r = get_str(j, "project_commit", false, &sc->project_commit, err)) ||
	    (r = get_str(j, "payload", false, &sc->payload, err)) ||
	    (r = get_bool(j, "passed", &sc->passed, err)) ||
	    (r = get_bool(j, "skipped", &sc->skipped, err)) ||
	    (r = get_bool_opt(j, "inconclusive", &sc->inconclusive, err)) ||
	    (r = get_str(j, "work_type", sc->schema_version == 0, &sc->work_type, err)) ||
	    (r = get_strv(j, "work_types", false, &sc->work_types, err)) ||
	    (r = get_str(j, "failure_dump", false, &sc->failure_dump, err)) ||
	    (r = get_strv(j, "active_flags", true, &sc->active_flags, err)) ||
	    (r = get_strv(j, "sysctls", true, &sc->sysctls, err)) ||
	    (r = get_strv(j, "kargs", true, &sc->kargs, err)) ||
	    (r = get_str(j, "kernel_version", false, &sc->kernel_version, err)) ||
	    (r = get_str(j, "kernel_commit", false, &sc->kernel_commit, err)) ||
	    (r = get_str(j, "timestamp", true, &sc->timestamp, err)) ||
	    (r = get_str(j, "run_id", true, &sc->run_id, err)) ||
	    (r = get_u64(j, "cleanup_duration_ms", &sc->has_cleanup_ms, &sc->cleanup_duration_ms,
			 err)) ||
	    (r = get_u64(j, "duration_ms", &sc->has_duration_ms, &sc->duration_ms, err)) ||
	    (r = get_str(j, "run_source", false, &sc->run_source, err)))
		goto fail;
	if (sc->inconclusive && sc->passed) {
		*err = kt_strdup("fields 'passed' and 'inconclusive' are both true");
		r = -EINVAL;
		goto fail;
	}
	v = json_object_get(j, "stats");
	if (!v || !json_is_object(v)) {
		*err = kt_strdup(v ? "field 'stats' is not an object" : "missing field 'stats'");
		r = -EINVAL;
		goto fail;
	}
	sc->stats = json_incref(v);
	v = json_object_get(j, "monitor");
	if (v && !json_is_null(v))
		sc->monitor = json_incref(v);
	v = json_object_get(j, "host");
	if (v && !json_is_null(v))
		sc->host = json_incref(v);
	v = json_object_get(j, "details");
	if (v && json_is_array(v))
		sc->details = json_incref(v);
	v = json_object_get(j, "scheduler_exit");
	if (v && json_is_object(v))
		sc->scheduler_exit = json_incref(v);
	v = json_object_get(j, "failure");
	if (v && json_is_object(v))
		sc->failure = json_incref(v);
	v = json_object_get(j, "absent");
	if (v && json_is_object(v))
		sc->absent = json_incref(v);
	sc->raw = json_incref(j);
	return 0;
fail:
	kt_sidecar_free(sc);
	return r;
}

int kt_sidecar_read(const char *path, struct kt_sidecar *out, char **err)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	char *e = NULL;
	int r;

	if (!j) {
		*err = kt_asprintf("%s: invalid JSON at line %d: %s", path, je.line, je.text);
		return -EINVAL;
	}
	r = kt_sidecar_from_json(j, out, &e);
	json_decref(j);
	if (r) {
		*err = kt_asprintf("%s: %s", path, e);
		free(e);
	}
	return r;
}

/* ---- context ------------------------------------------------------------- */

const char *kt_run_source(void)
{
	return kt_getenv("KTSTR_CI") ? "ci" : "local";
}

char *kt_git_commit_of(const char *dir)
{
	char *argv_head[] = {"git", "rev-parse", "--short=7", "HEAD", NULL};
	char *argv_dirty[] = {"git", "status", "--porcelain", "--untracked-files=no", NULL};
	char *head = NULL, *dirty = NULL, *res;

	if (kt_run_capture(argv_head, dir, &head) || !head || !*head) {
		free(head);
		return NULL;
	}
	if (strlen(head) > 7)
		head[7] = 0;
	if (kt_run_capture(argv_dirty, dir, &dirty) == 0 && dirty && *dirty)
		res = kt_asprintf("%s-dirty", head);
	else
		res = kt_strdup(head);
	free(head);
	free(dirty);
	return res;
}

const char *kt_project_commit(void)
{
	static bool done;
	static char *commit;

	if (!done) {
		const char *env = kt_getenv("KTSTR_PROJECT_COMMIT");

		done = true;
		/* Set by `ktstr test` for its children: one run dir per session. */
		if (env) {
			commit = strcmp(env, "unknown") ? kt_strdup(env) : NULL;
			return commit;
		}
		commit = kt_git_commit_of(NULL);
		if (!commit)
			kt_warn("project commit unavailable (not in a git repository); run dirs "
				"use 'unknown'");
	}
	return commit;
}

char *kt_runs_root(void)
{
	const char *t = kt_getenv("KTSTR_TARGET_DIR");

	return kt_path_join(t ? t : "target", "ktstr");
}

char *kt_run_key(const char *kernel_version, const char *project_commit)
{
	char *k = kt_asprintf("%s-%s", kernel_version ? kernel_version : "unknown",
			      project_commit ? project_commit : "unknown");

	/* A key is one path component. */
	for (char *p = k; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	return k;
}

char *kt_sidecar_dir(const char *kernel_version, bool *is_override)
{
	const char *o = kt_getenv("KTSTR_SIDECAR_DIR");
	char *root, *key, *dir;

	if (o) {
		*is_override = true;
		return kt_strdup(o);
	}
	*is_override = false;
	root = kt_runs_root();
	key = kt_run_key(kernel_version, kt_project_commit());
	dir = kt_path_join(root, key);
	free(root);
	free(key);
	return dir;
}

static char *run_id_new(void)
{
	static char start[32];
	static unsigned counter;

	if (!start[0]) {
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(start, sizeof(start), "%Y%m%dT%H%M%SZ", &tm);
	}
	return kt_asprintf("%s-%u", start, counter++);
}

static void fill_defaults(struct kt_sidecar *sc)
{
	char ts[32];

	if (!sc->timestamp) {
		kt_utc_timestamp(time(NULL), ts, sizeof(ts));
		sc->timestamp = kt_strdup(ts);
	}
	if (!sc->run_id)
		sc->run_id = run_id_new();
	if (!sc->run_source)
		sc->run_source = kt_strdup(kt_run_source());
	if (!sc->scheduler)
		sc->scheduler = kt_strdup("eevdf");
}

int kt_sidecar_write_dir(struct kt_sidecar *sc, const char *dir, char **path_out, char **err)
{
	char *name, *path, *text;
	json_t *j;
	int r;

	if (!sc->test_name || !*sc->test_name || strchr(sc->test_name, '/')) {
		*err = kt_asprintf("invalid test name '%s'", sc->test_name ? sc->test_name : "");
		return -EINVAL;
	}
	r = kt_mkdir_p(dir, 0755);
	if (r) {
		*err = kt_asprintf("create %s: %s", dir, strerror(-r));
		return r;
	}
	fill_defaults(sc);
	j = kt_sidecar_to_json(sc);
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text) {
		*err = kt_strdup("encode sidecar: out of memory");
		return -ENOMEM;
	}
	name = kt_sidecar_file_name(sc);
	path = kt_path_join(dir, name);
	free(name);
	{
		size_t n = strlen(text);

		text = kt_realloc(text, n + 2);
		text[n] = '\n';
		text[n + 1] = 0;
		r = kt_write_file_atomic(path, text, n + 1, 0644);
	}
	free(text);
	if (r) {
		*err = kt_asprintf("write %s: %s", path, strerror(-r));
		free(path);
		return r;
	}
	if (path_out)
		*path_out = path;
	else
		free(path);
	return 0;
}

/* ---- run-dir locking and pre-clear --------------------------------------- */

static int open_lock(const char *path, char **err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);

	if (fd < 0) {
		int e = -errno;

		*err = kt_asprintf("open lock file %s: %s", path, strerror(errno));
		return e;
	}
	fchmod(fd, 0666);
	return fd;
}

/* LOCK_EX polling every 100 ms for at most timeout_ms. */
static int lock_ex_timeout(int fd, const char *path, int timeout_ms, char **err)
{
	for (int waited = 0;; waited += 100) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = -errno;

			*err = kt_asprintf("flock %s: %s", path, strerror(errno));
			return e;
		}
		if (waited >= timeout_ms) {
			*err = kt_asprintf("flock LOCK_EX on run-dir lock %s timed out after %ds "
					   "(another ktstr process holds it)",
					   path, timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		usleep(100 * 1000);
	}
}

/* Call fn for each entry of dir except "." and ".." (path = dir/name). */
static void each_entry(const char *dir, int depth,
		       void (*fn)(const char *path, const char *name, int depth, void *ctx),
		       void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = kt_path_join(dir, e->d_name);
		fn(p, e->d_name, depth, ctx);
		free(p);
	}
	closedir(d);
}

static void preclear_one(const char *path, const char *name, int depth, void *ctx)
{
	if (kt_endswith(name, ".ktstr.json") && kt_is_file(path))
		unlink(path);
}

static void preclear(const char *dir)
{
	each_entry(dir, 0, preclear_one, NULL);
}

/* kt_sidecar_session_join: become a writer without pre-clearing. */
static bool session_join;

/* Runs keys this process is an active writer of (fd of the .active lock). */
static struct {
	char *key;
	int fd;
} active[16];

static int active_find(const char *key)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(active); i++)
		if (active[i].key && !strcmp(active[i].key, key))
			return (int)i;
	return -1;
}

/*
 * Become an active writer of run `key` in root (dir = run dir). Called
 * with the run-dir lock held. Pre-clears when no other writer is alive.
 */
static int become_writer(const char *root, const char *key, const char *dir, char **err)
{
	char *ap;
	int fd, slot = -1;

	if (active_find(key) >= 0)
		return 0;
	for (size_t i = 0; i < KT_ARRAY_SIZE(active); i++)
		if (!active[i].key) {
			slot = (int)i;
			break;
		}
	ap = kt_asprintf("%s/.locks/%s.active", root, key);
	fd = open_lock(ap, err);
	free(ap);
	if (fd < 0)
		return fd;
	if (!session_join && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		preclear(dir);
		flock(fd, LOCK_SH);
	} else if (flock(fd, LOCK_SH) < 0) {
		int e = -errno;

		*err = kt_asprintf("flock %s.active: %s", key, strerror(errno));
		close(fd);
		return e;
	}
	if (slot < 0) {
		/* Too many run dirs in one process: keep the lock, forget the slot. */
		return 0;
	}
	active[slot].key = kt_strdup(key);
	active[slot].fd = fd;
	return 0;
}

static int with_run_lock(const char *kernel_version, struct kt_sidecar *sc, char **path_out,
			 char **err)
{
	char *root = kt_runs_root(), *key, *dir, *locks, *lp;
	int fd, r;

	key = kt_run_key(kernel_version, kt_project_commit());
	dir = kt_path_join(root, key);
	locks = kt_path_join(root, ".locks");
	lp = kt_asprintf("%s/%s.lock", locks, key);
	r = kt_mkdir_p(locks, 0755);
	if (!r)
		r = kt_mkdir_p(dir, 0755);
	if (r) {
		*err = kt_asprintf("create %s: %s", dir, strerror(-r));
		goto out;
	}
	fd = open_lock(lp, err);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = lock_ex_timeout(fd, lp, 30000, err);
	if (!r) {
		r = become_writer(root, key, dir, err);
		if (!r && sc)
			r = kt_sidecar_write_dir(sc, dir, path_out, err);
	}
	close(fd); /* releases the flock */
out:
	free(root);
	free(key);
	free(dir);
	free(locks);
	free(lp);
	return r;
}

char *kt_sidecar_dir_labelled(const char *kernel_version, const char *label, bool *is_override)
{
	char *dir = kt_sidecar_dir(label ? label : kernel_version, is_override);

	if (*is_override && label) {
		char *sub = kt_path_join(dir, label);

		free(dir);
		dir = sub;
	}
	return dir;
}

int kt_sidecar_write_labelled(struct kt_sidecar *sc, const char *label, char **path_out,
			      char **err)
{
	const char *run = label ? label : sc->kernel_version;
	bool override;
	char *dir = kt_sidecar_dir_labelled(sc->kernel_version, label, &override);
	int r;

	if (!sc->project_commit && kt_project_commit())
		sc->project_commit = kt_strdup(kt_project_commit());
	if (override)
		r = kt_sidecar_write_dir(sc, dir, path_out, err);
	else
		r = with_run_lock(run, sc, path_out, err);
	free(dir);
	return r;
}

int kt_sidecar_write(struct kt_sidecar *sc, char **path_out, char **err)
{
	return kt_sidecar_write_labelled(sc, NULL, path_out, err);
}

int kt_sidecar_session_begin(const char *kernel_version, char **err)
{
	if (kt_getenv("KTSTR_SIDECAR_DIR"))
		return 0;
	return with_run_lock(kernel_version, NULL, NULL, err);
}

int kt_sidecar_session_join(const char *kernel_version, char **err)
{
	session_join = true;
	return kt_sidecar_session_begin(kernel_version, err);
}

/* ---- scan ------------------------------------------------------------------ */

static bool is_sidecar_name(const char *n)
{
	return kt_endswith(n, ".json") && strstr(n, ".ktstr.") && n[0] != '.';
}

/* Sidecars in dir and its direct subdirectories. */
static void scan_one(const char *path, const char *name, int depth, void *out)
{
	if (name[0] == '.')
		return;
	if (is_sidecar_name(name) && kt_is_file(path))
		kt_strv_add(out, path);
	else if (depth == 0 && kt_is_dir(path))
		each_entry(path, 1, scan_one, out);
}

int kt_sidecar_scan(const char *dir, int (*fn)(void *ctx, const char *path), void *ctx)
{
	struct kt_strv files = {0};
	int r = 0;

	if (!kt_is_dir(dir))
		return -ENOENT;
	each_entry(dir, 0, scan_one, &files);
	if (files.n)
		qsort(files.v, files.n, sizeof(*files.v), cmp_str);
	for (size_t i = 0; i < files.n && !r; i++)
		r = fn(ctx, files.v[i]);
	if (!r)
		r = (int)files.n;
	kt_strv_free(&files);
	return r;
}
