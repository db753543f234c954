// SPDX-License-Identifier: GPL-2.0
/*
 * kernel.org access through the curl CLI: releases.json and tarball
 * downloads. KTSTR_KERNEL_MIRROR replaces the base URL
 * (https://cdn.kernel.org/pub/linux/kernel): tarballs are fetched from
 * {mirror}/v{maj}.x/linux-{v}.tar.xz and releases.json from
 * {mirror}/releases.json (default https://www.kernel.org/releases.json).
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "util/util.h"

const char *kt_kernel_mirror(void)
{
	const char *m = kt_getenv("KTSTR_KERNEL_MIRROR");

	return m ? m : "https://cdn.kernel.org/pub/linux/kernel";
}

static char *releases_url(void)
{
	const char *m = kt_getenv("KTSTR_KERNEL_MIRROR");

	return m ? kt_asprintf("%s/releases.json", m)
		 : kt_strdup("https://www.kernel.org/releases.json");
}

/*
 * curl URL into file. Returns 0, or -ENOENT for HTTP 404 (err set),
 * -EPROTO for an HTML page, -EIO otherwise.
 */
static int curl_get(const char *url, const char *file, int max_secs, char **err)
{
	char maxt[16];
	char *argv[] = {"curl",
			"-sS",
			"-L",
			"--connect-timeout",
			"15",
			"--max-time",
			maxt,
			"-o",
			(char *)file,
			"-w",
			"%{http_code} %{content_type}",
			(char *)url,
			NULL};
	struct sbuf out = SBUF_INIT;
	struct kt_run_opts o = {.capture = &out, .capture_stdout_only = false};
	int st = 0, r, code = 0;
	char ctype[128] = "";

	snprintf(maxt, sizeof(maxt), "%d", max_secs);
	r = kt_run(argv, &o, &st);
	if (r) {
		kt_set_err(err, "cannot run curl: %s", strerror(-r));
		sb_free(&out);
		return -EIO;
	}
	{
		/* the write-out is the last line of the merged output */
		const char *s = sb_str(&out), *last = strrchr(s, '\n');

		sscanf(last ? last + 1 : s, "%d %127s", &code, ctype);
		if (st) {
			char *msg = kt_strdup(s);
			char *nl = strrchr(msg, '\n');

			if (nl)
				*nl = 0;
			kt_set_err(err, "downloading %s failed: %s", url,
				*kt_trim(msg) && nl ? kt_trim(msg) : "curl error");
			free(msg);
			sb_free(&out);
			unlink(file);
			return -EIO;
		}
	}
	sb_free(&out);
	if (code == 404) {
		unlink(file);
		kt_set_err(err, "%s: HTTP 404 not found", url);
		return -ENOENT;
	}
	if (code != 200) {
		unlink(file);
		kt_set_err(err, "%s: HTTP %d", url, code);
		return -EIO;
	}
	if (strstr(ctype, "text/html")) {
		unlink(file);
		kt_set_err(err, "%s returned an HTML page, not the expected file", url);
		return -EPROTO;
	}
	return 0;
}

static pthread_mutex_t rel_lock = PTHREAD_MUTEX_INITIALIZER;
static char *rel_cache;

int kt_releases_fetch(char **json, char **err)
{
	char tmpl[] = "/tmp/ktstr-releases-XXXXXX";
	char *url, *text = NULL;
	json_t *o;
	int fd, r;

	pthread_mutex_lock(&rel_lock);
	if (rel_cache) {
		*json = kt_strdup(rel_cache);
		pthread_mutex_unlock(&rel_lock);
		return 0;
	}
	fd = mkstemp(tmpl);
	if (fd < 0) {
		r = -errno;
		kt_set_err(err, "cannot create a temporary file: %s", strerror(errno));
		goto out_unlock;
	}
	close(fd);
	kt_cleanup_add_path(tmpl);
	url = releases_url();
	r = curl_get(url, tmpl, 30, err);
	if (!r && (r = kt_read_file(tmpl, &text, NULL, 16 << 20)))
		kt_set_err(err, "cannot read the downloaded %s: %s", url, strerror(-r));
	unlink(tmpl);
	kt_cleanup_del_path(tmpl);
	if (!r) {
		o = json_loads(text, 0, NULL);
		if (!o || !json_is_array(json_object_get(o, "releases"))) {
			kt_set_err(err, "%s is not a kernel.org releases.json", url);
			r = -EPROTO;
		}
		json_decref(o);
	}
	free(url);
	if (!r) {
		rel_cache = text;
		*json = kt_strdup(text);
	} else {
		free(text);
	}
out_unlock:
	pthread_mutex_unlock(&rel_lock);
	return r;
}

/* Each stable/longterm row's version (parsed); returns count. */
static size_t releases_rows(const char *text, char ***vers)
{
	json_t *o = json_loads(text, 0, NULL), *rel, *e;
	size_t i, n = 0;

	*vers = NULL;
	rel = o ? json_object_get(o, "releases") : NULL;
	json_array_foreach(rel, i, e)
	{
		const char *mon = json_string_value(json_object_get(e, "moniker"));
		const char *v = json_string_value(json_object_get(e, "version"));

		if (!mon || !v || (strcmp(mon, "stable") && strcmp(mon, "longterm")))
			continue;
		if (!kt_version_valid(v))
			continue;
		*vers = kt_realloc(*vers, (n + 1) * sizeof(char *));
		(*vers)[n++] = kt_strdup(v);
	}
	json_decref(o);
	return n;
}

bool kt_releases_is_eol(const char *json, const char *version)
{
	json_t *o = json_loads(json, 0, NULL), *rel, *e;
	struct kt_version want, row;
	bool listed = false, any = false;
	size_t i;

	if (kt_version_parse(version, &want)) {
		json_decref(o);
		return false;
	}
	rel = o ? json_object_get(o, "releases") : NULL;
	json_array_foreach(rel, i, e)
	{
		if (kt_version_parse(json_string_value(json_object_get(e, "version")), &row))
			continue;
		any = true;
		if (row.maj == want.maj && row.min == want.min)
			listed = true;
	}
	json_decref(o);
	return any && !listed;
}

static bool matches_prefix(const char *v, const char *prefix)
{
	size_t n = strlen(prefix);

	return !strncmp(v, prefix, n) && (v[n] == '.' || v[n] == 0);
}

int kt_releases_resolve_prefix(const char *json, const char *prefix, char **version, char **err)
{
	char **v;
	size_t n = releases_rows(json, &v);
	struct kt_version best = {0}, cur;
	const char *bs = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!matches_prefix(v[i], prefix) || kt_version_parse(v[i], &cur))
			continue;
		if (!bs || kt_version_cmp(&cur, &best) > 0) {
			best = cur;
			bs = v[i];
		}
	}
	if (bs)
		*version = kt_strdup(bs);
	else
		kt_set_err(err, "no stable or longterm kernel matching %s in releases.json", prefix);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return bs ? 0 : -ENOENT;
}

static int cmp_ver(const void *a, const void *b)
{
	struct kt_version x, y;

	kt_version_parse(*(char *const *)a, &x);
	kt_version_parse(*(char *const *)b, &y);
	return kt_version_cmp(&x, &y);
}

int kt_releases_range(const char *json, const char *a, const char *b, char ***versions, size_t *n,
		      char **err)
{
	char **v, **out = NULL;
	size_t cnt = releases_rows(json, &v), k = 0;
	struct kt_version va, vb, cur;

	if (kt_version_parse(a, &va) || kt_version_parse(b, &vb)) {
		kt_set_err(err, "invalid kernel range %s..%s", a, b);
		for (size_t i = 0; i < cnt; i++)
			free(v[i]);
		free(v);
		return -EINVAL;
	}
	for (size_t i = 0; i < cnt; i++) {
		kt_version_parse(v[i], &cur);
		if (kt_version_cmp(&cur, &va) >= 0 && kt_version_cmp(&cur, &vb) <= 0) {
			out = kt_realloc(out, (k + 1) * sizeof(char *));
			out[k++] = v[i];
		} else {
			free(v[i]);
		}
	}
	free(v);
	if (!k) {
		kt_set_err(err, "kernel range %s..%s matches no stable or longterm release", a, b);
		return -ENOENT;
	}
	qsort(out, k, sizeof(char *), cmp_ver);
	*versions = out;
	*n = k;
	return 0;
}

int kt_kernel_download(const char *version, const char *dir, char **path, char **err)
{
	struct kt_version v;
	char *url, *file, *e2 = NULL;
	char magic[6] = {0};
	FILE *f;
	int r;

	if (kt_version_parse(version, &v)) {
		kt_set_err(err, "invalid kernel version \"%s\"", version);
		return -EINVAL;
	}
	if (v.has_rc) {
		const char *m = kt_getenv("KTSTR_KERNEL_MIRROR");

		url = m ? kt_asprintf("%s/linux-%s.tar.gz", m, version)
			: kt_asprintf("https://git.kernel.org/torvalds/t/linux-%s.tar.gz", version);
		file = kt_asprintf("%s/linux-%s.tar.gz", dir, version);
	} else {
		url = kt_asprintf("%s/v%u.x/linux-%s.tar.xz", kt_kernel_mirror(), v.maj, version);
		file = kt_asprintf("%s/linux-%s.tar.xz", dir, version);
	}
	kt_info("downloading %s", url);
	r = curl_get(url, file, 3600, err);
	if (r == -ENOENT) {
		char *json = NULL, *latest = NULL, *series = kt_asprintf("%u.%u", v.maj, v.min);

		free(*err);
		*err = NULL;
		if (kt_releases_fetch(&json, &e2) == 0 &&
		    kt_releases_resolve_prefix(json, series, &latest, &e2) == 0)
			kt_set_err(err, "version %s not found. latest %s.x: %s", version, series,
				latest);
		else
			kt_set_err(err, "version %s not found (HTTP 404 from %s)", version, url);
		free(e2);
		free(json);
		free(latest);
		free(series);
		goto out;
	}
	if (r)
		goto out;
	f = fopen(file, "re");
	if (!f || fread(magic, 1, 6, f) < 2) {
		if (f)
			fclose(f);
		kt_set_err(err, "%s: downloaded file is empty", url);
		r = -EPROTO;
		unlink(file);
		goto out;
	}
	fclose(f);
	if (magic[0] == '<' || !strncmp(magic, "<!", 2)) {
		kt_set_err(err, "%s returned an HTML page, not a kernel tarball", url);
		r = -EPROTO;
	} else if (!v.has_rc && memcmp(magic,
				       "\xfd"
				       "7zXZ",
				       5)) {
		kt_set_err(err, "%s is not an xz-compressed tarball", url);
		r = -EPROTO;
	} else if (v.has_rc && memcmp(magic, "\x1f\x8b", 2)) {
		kt_set_err(err, "%s is not a gzip-compressed tarball", url);
		r = -EPROTO;
	}
	if (r) {
		unlink(file);
		goto out;
	}
	*path = file;
	file = NULL;
out:
	free(url);
	free(file);
	return r;
}
