// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel cache: root directory, metadata.json, entry listing and
 * corrupt classification, flock-based locks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "util/util.h"

int kt_cache_root(char **out, char **err)
{
	const char *d = kt_getenv("KTSTR_CACHE_DIR"), *x, *h;

	if (d) {
		*out = kt_strdup(d);
		return 0;
	}
	x = kt_getenv("XDG_CACHE_HOME");
	if (x && x[0] == '/') {
		*out = kt_asprintf("%s/ktstr/kernels", x);
		return 0;
	}
	h = kt_getenv("HOME");
	if (!h || h[0] != '/') {
		kt_set_err(err,
			"cannot locate the kernel cache: HOME is %s and neither "
			"KTSTR_CACHE_DIR nor XDG_CACHE_HOME is set",
			h ? "relative" : "unset or empty");
		return -ENOENT;
	}
	*out = kt_asprintf("%s/.cache/ktstr/kernels", h);
	return 0;
}

const char *kt_src_type_name(enum kt_src_type t)
{
	switch (t) {
	case KT_SRC_TARBALL:
		return "tarball";
	case KT_SRC_GIT:
		return "git";
	default:
		return "local";
	}
}

/* ---- metadata.json --------------------------------------------------------------- */

void kt_meta_free(struct kt_cache_meta *m)
{
	free(m->git_hash);
	free(m->git_ref);
	free(m->source_tree_path);
	free(m->arch);
	free(m->image_name);
	free(m->built_at);
	free(m->version);
	free(m->config_hash);
	free(m->ktstr_kconfig_hash);
	for (size_t i = 0; i < m->n_schedulers; i++)
		free(m->schedulers[i]);
	free(m->schedulers);
	memset(m, 0, sizeof(*m));
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *kt_meta_dump(const struct kt_cache_meta *m)
{
	json_t *o = json_object(), *src = json_object(), *sch = json_array();
	char *s;

	json_object_set_new(src, "type", json_string(kt_src_type_name(m->src)));
	if (m->src == KT_SRC_GIT) {
		json_object_set_new(src, "git_hash", jstr_or_null(m->git_hash));
		json_object_set_new(src, "ref", jstr_or_null(m->git_ref));
	} else if (m->src == KT_SRC_LOCAL) {
		json_object_set_new(src, "source_tree_path", jstr_or_null(m->source_tree_path));
		json_object_set_new(src, "git_hash", jstr_or_null(m->git_hash));
	}
	json_object_set_new(o, "version", jstr_or_null(m->version));
	json_object_set_new(o, "source", src);
	json_object_set_new(o, "arch", json_string(m->arch ? m->arch : kt_kernel_arch()));
	json_object_set_new(o, "image_name",
			    json_string(m->image_name ? m->image_name : kt_kernel_image_name()));
	json_object_set_new(o, "config_hash", jstr_or_null(m->config_hash));
	json_object_set_new(o, "built_at", json_string(m->built_at ? m->built_at : ""));
	json_object_set_new(o, "ktstr_kconfig_hash", jstr_or_null(m->ktstr_kconfig_hash));
	json_object_set_new(o, "has_vmlinux", json_boolean(m->has_vmlinux));
	json_object_set_new(o, "vmlinux_stripped", json_boolean(m->vmlinux_stripped));
	if (m->has_src_vmlinux) {
		json_object_set_new(o, "source_vmlinux_size",
				    json_integer((json_int_t)m->source_vmlinux_size));
		json_object_set_new(o, "source_vmlinux_mtime_secs",
				    json_integer((json_int_t)m->source_vmlinux_mtime_secs));
	} else {
		json_object_set_new(o, "source_vmlinux_size", json_null());
		json_object_set_new(o, "source_vmlinux_mtime_secs", json_null());
	}
	for (size_t i = 0; i < m->n_schedulers; i++)
		json_array_append_new(sch, json_string(m->schedulers[i]));
	json_object_set_new(o, "schedulers", sch);
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	{
		char *r = kt_asprintf("%s\n", s);

		free(s);
		return r;
	}
}

/* Optional string: absent or null → NULL; other types → schema drift. */
static int opt_str(json_t *o, const char *k, char **out, char **err)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		kt_set_err(err, "field \"%s\" is not a string", k);
		return -1;
	}
	*out = kt_strdup(json_string_value(v));
	return 0;
}

static int req_str(json_t *o, const char *k, char **out, char **err)
{
	json_t *v = json_object_get(o, k);

	*out = NULL;
	if (!v) {
		kt_set_err(err, "missing required field \"%s\"", k);
		return -1;
	}
	if (!json_is_string(v)) {
		kt_set_err(err, "field \"%s\" is not a string", k);
		return -1;
	}
	*out = kt_strdup(json_string_value(v));
	return 0;
}

static int req_bool(json_t *o, const char *k, bool *out, char **err)
{
	json_t *v = json_object_get(o, k);

	if (!v) {
		kt_set_err(err, "missing required field \"%s\"", k);
		return -1;
	}
	if (!json_is_boolean(v)) {
		kt_set_err(err, "field \"%s\" is not a boolean", k);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int kt_meta_parse(const char *text, struct kt_cache_meta *m, const char **kind, char **err)
{
	json_error_t je;
	json_t *o, *src, *t, *v;
	const char *type;

	memset(m, 0, sizeof(*m));
	*kind = NULL;
	if (!text || !*text) {
		*kind = "truncated";
		kt_set_err(err, "metadata.json is empty");
		return -EINVAL;
	}
	o = json_loads(text, 0, &je);
	if (!o) {
		bool eof = strstr(je.text, "premature end") || strstr(je.text, "unexpected end") ||
			   je.position >= (int)strlen(text);

		*kind = eof ? "truncated" : "parse_error";
		kt_set_err(err, "metadata.json: %s at line %d", je.text, je.line);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		*kind = "malformed";
		kt_set_err(err, "metadata.json is not a JSON object");
		json_decref(o);
		return -EINVAL;
	}
	*kind = "schema_drift";
	src = json_object_get(o, "source");
	if (!src) {
		kt_set_err(err, "missing required field \"source\"");
		goto bad;
	}
	t = json_is_object(src) ? json_object_get(src, "type") : NULL;
	type = t ? json_string_value(t) : NULL;
	if (!type) {
		kt_set_err(err, "field \"source\" has no \"type\"");
		goto bad;
	}
	if (!strcmp(type, "tarball")) {
		m->src = KT_SRC_TARBALL;
	} else if (!strcmp(type, "git")) {
		m->src = KT_SRC_GIT;
		if (opt_str(src, "git_hash", &m->git_hash, err) ||
		    opt_str(src, "ref", &m->git_ref, err))
			goto bad;
	} else if (!strcmp(type, "local")) {
		m->src = KT_SRC_LOCAL;
		if (opt_str(src, "source_tree_path", &m->source_tree_path, err) ||
		    opt_str(src, "git_hash", &m->git_hash, err))
			goto bad;
	} else {
		kt_set_err(err, "unknown source type \"%s\"", type);
		goto bad;
	}
	if (req_str(o, "arch", &m->arch, err) || req_str(o, "image_name", &m->image_name, err) ||
	    req_str(o, "built_at", &m->built_at, err) ||
	    req_bool(o, "has_vmlinux", &m->has_vmlinux, err) ||
	    req_bool(o, "vmlinux_stripped", &m->vmlinux_stripped, err) ||
	    opt_str(o, "version", &m->version, err) ||
	    opt_str(o, "config_hash", &m->config_hash, err) ||
	    opt_str(o, "ktstr_kconfig_hash", &m->ktstr_kconfig_hash, err))
		goto bad;
	{
		time_t tt;

		if (kt_parse_utc_timestamp(m->built_at, &tt)) {
			kt_set_err(err, "field \"built_at\" is not YYYY-MM-DDTHH:MM:SSZ: \"%s\"",
				m->built_at);
			goto bad;
		}
	}
	if (!*m->image_name || strchr(m->image_name, '/') || strstr(m->image_name, "..")) {
		kt_set_err(err, "field \"image_name\" is not a file name: \"%s\"", m->image_name);
		goto bad;
	}
	v = json_object_get(o, "source_vmlinux_size");
	if (v && json_is_integer(v)) {
		json_t *mt = json_object_get(o, "source_vmlinux_mtime_secs");

		m->has_src_vmlinux = true;
		m->source_vmlinux_size = (uint64_t)json_integer_value(v);
		m->source_vmlinux_mtime_secs =
		    mt && json_is_integer(mt) ? json_integer_value(mt) : 0;
	}
	v = json_object_get(o, "schedulers");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *e;

		if (!json_is_array(v)) {
			kt_set_err(err, "field \"schedulers\" is not an array");
			goto bad;
		}
		m->schedulers = kt_calloc(json_array_size(v) + 1, sizeof(char *));
		json_array_foreach(v, i, e)
		{
			const char *s = json_string_value(e);

			if (!s || !*s || strchr(s, '/') || s[0] == '.') {
				kt_set_err(err, "field \"schedulers\" has an invalid name");
				goto bad;
			}
			m->schedulers[m->n_schedulers++] = kt_strdup(s);
		}
	}
	json_decref(o);
	*kind = NULL;
	return 0;
bad:
	json_decref(o);
	kt_meta_free(m);
	return -EINVAL;
}

/* ---- entries ------------------------------------------------------------------------ */

void kt_cache_entry_free(struct kt_cache_entry *e)
{
	free(e->key);
	free(e->path);
	free(e->error);
	free(e->image_path);
	kt_meta_free(&e->meta);
	memset(e, 0, sizeof(*e));
}

void kt_cache_entries_free(struct kt_cache_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kt_cache_entry_free(&e[i]);
	free(e);
}

void kt_cache_entry_load(const char *root, const char *key, struct kt_cache_entry *e)
{
	char *mp, *text = NULL, *err = NULL;
	const char *kind;
	int r;

	memset(e, 0, sizeof(*e));
	e->key = kt_strdup(key);
	e->path = kt_path_join(root, key);
	mp = kt_path_join(e->path, "metadata.json");
	r = kt_read_file(mp, &text, NULL, 1 << 20);
	if (r) {
		e->corrupt = true;
		e->error_kind = r == -ENOENT ? "missing" : "unreadable";
		e->error = r == -ENOENT ? kt_strdup("metadata.json missing")
					: kt_asprintf("metadata.json unreadable: %s", strerror(-r));
		free(mp);
		return;
	}
	free(mp);
	if (kt_meta_parse(text, &e->meta, &kind, &err)) {
		e->corrupt = true;
		e->error_kind = kind ? kind : "unknown";
		e->error = err ? err : kt_strdup("metadata.json invalid");
		free(text);
		return;
	}
	free(text);
	e->image_path = kt_path_join(e->path, e->meta.image_name);
	if (!kt_is_file(e->image_path)) {
		e->corrupt = true;
		e->error_kind = "image_missing";
		e->error = kt_asprintf("image %s missing", e->meta.image_name);
		return;
	}
	if (e->meta.has_vmlinux) {
		char *vp = kt_path_join(e->path, "vmlinux");
		bool ok = kt_is_file(vp);

		free(vp);
		if (!ok) {
			e->corrupt = true;
			e->error_kind = "image_missing";
			e->error = kt_strdup("vmlinux missing (metadata says has_vmlinux)");
			return;
		}
	}
	kt_parse_utc_timestamp(e->meta.built_at, &e->built);
}

static int cmp_entries(const void *a, const void *b)
{
	const struct kt_cache_entry *x = a, *y = b;

	if (x->corrupt != y->corrupt)
		return x->corrupt ? 1 : -1;
	if (x->built != y->built)
		return x->built > y->built ? -1 : 1;
	return strcmp(x->key, y->key);
}

int kt_cache_list(const char *root, struct kt_cache_entry **out, size_t *n)
{
	DIR *d = opendir(root);
	struct dirent *de;
	struct kt_cache_entry *v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *p;
		bool dir;

		if (de->d_name[0] == '.')
			continue; /* ., .., .locks, .tmp-*, .logs */
		p = kt_path_join(root, de->d_name);
		dir = kt_is_dir(p);
		free(p);
		if (!dir)
			continue;
		v = kt_realloc(v, (cnt + 1) * sizeof(*v));
		kt_cache_entry_load(root, de->d_name, &v[cnt++]);
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_entries);
	*out = v;
	*n = cnt;
	return 0;
}

const char *kt_cache_kconfig_status(const struct kt_cache_entry *e)
{
	char cur[16];

	if (!e->meta.ktstr_kconfig_hash)
		return "untracked";
	snprintf(cur, sizeof(cur), "%08x", kt_kconfig_crc());
	return strcmp(cur, e->meta.ktstr_kconfig_hash) ? "stale" : "matches";
}

/* ---- locks ------------------------------------------------------------------------ */

int kt_cache_lock(const char *root, const char *name, bool exclusive, int timeout_ms)
{
	char *dir = kt_path_join(root, ".locks");
	char *path = kt_asprintf("%s/%s.lock", dir, name);
	int fd, op = exclusive ? LOCK_EX : LOCK_SH, r;
	uint64_t deadline = kt_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;

	kt_mkdir_p(dir, 0755);
	free(dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	free(path);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0666);
	if (timeout_ms < 0) {
		while ((r = flock(fd, op)) < 0 && errno == EINTR && !kt_interrupted())
			;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		return fd;
	}
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			close(fd);
			return r;
		}
		if (kt_now_ns() >= deadline || kt_interrupted()) {
			close(fd);
			return -EWOULDBLOCK;
		}
		usleep(100 * 1000);
	}
}

char *kt_lock_holders(const char *lockfile)
{
	struct sbuf sb = SBUF_INIT;
	struct stat st;
	FILE *f;
	char line[512];

	if (stat(lockfile, &st) < 0 || !(f = fopen("/proc/locks", "re")))
		return kt_strdup("");
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long ino;
		int pid;
		char *p = strstr(line, "FLOCK");

		if (!p)
			continue;
		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:00:5678 0 EOF" */
		if (sscanf(p, "FLOCK %*s %*s %d %x:%x:%lu", &pid, &maj, &min, &ino) != 4)
			continue;
		if (ino != st.st_ino || makedev(maj, min) != st.st_dev)
			continue;
		{
			char cp[64], *cmd = NULL;
			size_t len = 0;

			snprintf(cp, sizeof(cp), "/proc/%d/cmdline", pid);
			if (kt_read_file(cp, &cmd, &len, 4096) == 0) {
				for (size_t i = 0; i + 1 < len; i++)
					if (!cmd[i])
						cmd[i] = ' ';
			}
			if (cmd && strlen(cmd) > 100)
				strcpy(cmd + 97, "...");
			sb_addf(&sb, "%s  pid=%d cmd=%s", sb.len ? "\n" : "", pid,
				cmd ? kt_trim(cmd) : "?");
			free(cmd);
		}
	}
	fclose(f);
	sb_str(&sb);
	return sb_steal(&sb);
}
