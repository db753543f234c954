// SPDX-License-Identifier: GPL-2.0
/* `ktstr kernel build`: source trees (version, git, temp dirs, tarballs). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build.h"
#include "util/util.h"

char *kb_strndup7(const char *s)
{
	char *r = kt_malloc(8);

	snprintf(r, 8, "%.7s", s);
	return r;
}

/* ---- helpers for sources ------------------------------------------------------------ */

int kt_tree_version(const char *tree, char **version)
{
	char *mk = kt_path_join(tree, "Makefile"), *text = NULL, *save = NULL, *l;
	char *v = NULL, *p = NULL, *s = NULL, *x = NULL;
	int r = kt_read_file(mk, &text, NULL, 0);

	free(mk);
	if (r)
		return r;
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char **dst = NULL;

		if (kt_startswith(l, "VERSION"))
			dst = &v;
		else if (kt_startswith(l, "PATCHLEVEL"))
			dst = &p;
		else if (kt_startswith(l, "SUBLEVEL"))
			dst = &s;
		else if (kt_startswith(l, "EXTRAVERSION"))
			dst = &x;
		if (dst && !*dst && strchr(l, '='))
			*dst = kt_trim(strchr(l, '=') + 1);
		if (v && p && s && x)
			break;
	}
	if (!v || !p || !*v || !*p) {
		free(text);
		return -EINVAL;
	}
	if (s && *s && strcmp(s, "0"))
		*version = kt_asprintf("%s.%s.%s%s", v, p, s, x ? x : "");
	else
		*version = kt_asprintf("%s.%s%s", v, p, x ? x : "");
	free(text);
	return 0;
}

char *kb_git_out(const char *dir, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {"git", "-C", (char *)dir, (char *)a1, (char *)a2, (char *)a3, NULL};
	char *out = NULL;

	if (kt_run_capture(argv, NULL, &out))
		return NULL;
	return out;
}

int kb_make_tmpdir(char **out, char **err)
{
	const char *t = kt_getenv("TMPDIR");
	char *tmpl = kt_asprintf("%s/ktstr-build-XXXXXX", t ? t : "/tmp");

	if (!mkdtemp(tmpl)) {
		kt_set_err(err, "cannot create a temporary directory %s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -errno;
	}
	kt_cleanup_add_path(tmpl);
	*out = tmpl;
	return 0;
}

void kb_drop_tmpdir(struct build_ctx *c)
{
	if (!c->tmp)
		return;
	kt_rm_rf(c->tmp);
	kt_cleanup_del_path(c->tmp);
	free(c->tmp);
	c->tmp = NULL;
}

/* Extract a tarball into c->tmp and set c->tree to its single top directory. */
int kb_extract(struct build_ctx *c, const char *tarball, char **err)
{
	char *argv[] = {"tar", "-xf", (char *)tarball, "-C", c->tmp, NULL};
	DIR *d;
	struct dirent *de;
	int r;

	r = kb_run_stage(&c->prog, "extracting source", c->tmp, c->log, argv, err);
	if (r)
		return r;
	d = opendir(c->tmp);
	while (d && (de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = kt_path_join(c->tmp, de->d_name);
		if (kt_is_dir(p) && !c->tree) {
			char *mk = kt_path_join(p, "Kconfig");

			if (kt_exists(mk))
				c->tree = kt_strdup(p);
			free(mk);
		}
		free(p);
	}
	if (d)
		closedir(d);
	if (!c->tree) {
		kt_set_err(err,
			"%s does not contain a kernel source tree (no top directory with a "
			"Kconfig)",
			tarball);
		return -EINVAL;
	}
	kb_progress_done(&c->prog, "source extracted");
	return 0;
}

/* Remember a tarball's version by (path, size, mtime) so a cache hit needs no extraction. */
static char *index_path(const char *root, const char *canon)
{
	return kt_asprintf("%s/.source-index/%08x", root, kt_crc32(canon, strlen(canon)));
}

char *kb_index_lookup(const char *root, const char *canon, const struct stat *st)
{
	char *p = index_path(root, canon), *text = NULL, *v = NULL;
	char pathbuf[PATH_MAX + 1], ver[64];
	long long size, mt, mtn;

	if (kt_read_file(p, &text, NULL, 65536) == 0 &&
	    sscanf(text, "%lld %lld %lld %63s %4096[^\n]", &size, &mt, &mtn, ver, pathbuf) == 5 &&
	    size == (long long)st->st_size && mt == (long long)st->st_mtim.tv_sec &&
	    mtn == (long long)st->st_mtim.tv_nsec && !strcmp(pathbuf, canon) &&
	    kt_version_valid(ver))
		v = kt_strdup(ver);
	free(text);
	free(p);
	return v;
}

void kb_index_store(const char *root, const char *canon, const struct stat *st, const char *ver)
{
	char *p = index_path(root, canon), *dir = kt_path_join(root, ".source-index");
	char *text =
	    kt_asprintf("%lld %lld %lld %s %s\n", (long long)st->st_size,
			(long long)st->st_mtim.tv_sec, (long long)st->st_mtim.tv_nsec, ver, canon);

	kt_mkdir_p(dir, 0755);
	kt_write_file_atomic(p, text, strlen(text), 0644);
	free(text);
	free(dir);
	free(p);
}
