// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel resolution: explicit ids (--kernel) and the implicit chain used
 * when none is given. See kernel.h.
 */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kernel.h"
#include "util/util.h"

/* Builds (with their downloads) run one at a time: each uses every CPU. */
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

static int locked_build(const struct kt_build_opts *o, char **dir, char **key, char **err)
{
	int r;

	pthread_mutex_lock(&build_lock);
	r = kt_kernel_build(o, dir, key, err);
	pthread_mutex_unlock(&build_lock);
	return r;
}

void kt_kernel_free(struct kt_kernel *k)
{
	if (!k)
		return;
	free(k->image);
	free(k->vmlinux);
	free(k->dir);
	free(k->key);
	free(k->version);
	free(k->label);
	free(k->sched_dir);
	free(k->run_label);
	memset(k, 0, sizeof(*k));
}

static char *existing(const char *dir, const char *rel, bool want_dir)
{
	char *p = kt_path_join(dir, rel);

	if (want_dir ? kt_is_dir(p) : kt_is_file(p))
		return p;
	free(p);
	return NULL;
}

static void from_entry(const struct kt_cache_entry *e, struct kt_kernel *out)
{
	memset(out, 0, sizeof(*out));
	out->image = kt_strdup(e->image_path);
	out->vmlinux = e->meta.has_vmlinux ? existing(e->path, "vmlinux", false) : NULL;
	out->dir = kt_strdup(e->path);
	out->key = kt_strdup(e->key);
	out->version = e->meta.version ? kt_strdup(e->meta.version) : NULL;
	{
		char *raw =
		    e->meta.version ? kt_strdup(e->meta.version) : kt_cache_key_label(e->key);

		out->label = kt_kernel_label_sanitize(raw);
		free(raw);
	}
	out->sched_dir = existing(e->path, "sched", true);
}

/* Load a cache entry by key; 0, -ENOENT (missing) or -EINVAL (corrupt, err set). */
static int load_key(const char *root, const char *key, struct kt_kernel *out, char **err)
{
	struct kt_cache_entry e;
	char *p = kt_path_join(root, key);
	bool ex = kt_is_dir(p);
	int r = 0;

	free(p);
	if (!ex)
		return -ENOENT;
	kt_cache_entry_load(root, key, &e);
	if (e.corrupt) {
		kt_set_err(err,
			"cache entry %s is corrupt: %s. Run `ktstr kernel clean "
			"--corrupt-only` and rebuild it",
			e.path, e.error);
		r = -EINVAL;
	} else {
		from_entry(&e, out);
	}
	kt_cache_entry_free(&e);
	return r;
}

static char *path_label(const char *canon)
{
	char *copy = kt_strdup(canon), *raw, *l;

	raw =
	    kt_asprintf("path_%s_%06x", basename(copy), kt_crc32(canon, strlen(canon)) & 0xffffffu);
	l = kt_kernel_label_sanitize(raw);
	free(raw);
	free(copy);
	return l;
}

static char *tree_release(const char *tree)
{
	char *p = kt_path_join(tree, "include/config/kernel.release"), *text = NULL, *v = NULL;

	if (kt_read_file(p, &text, NULL, 4096) == 0 && *kt_trim(text))
		v = kt_strdup(kt_trim(text));
	free(text);
	free(p);
	return v;
}

/* A path: an image file, a cache entry dir, a built tree, or a dir holding bzImage. */
static int from_path(const char *path, struct kt_kernel *out, char **err)
{
	char *canon = realpath(path, NULL), *img = NULL, *tree = NULL;
	bool in_tree = false;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!canon) {
		kt_set_err(err, "kernel path %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (kt_is_file(canon)) {
		char *d = kt_strdup(canon), *dn = kt_strdup(dirname(d));
		const char *tp = kt_kernel_image_tree_path();

		img = kt_strdup(canon);
		/* .../arch/x86/boot/bzImage → the tree is three levels above boot/ */
		if (kt_endswith(canon, tp) && strlen(canon) > strlen(tp) + 1) {
			tree = kt_strdup(canon);
			tree[strlen(canon) - strlen(tp) - 1] = 0;
			in_tree = true;
		} else {
			char *meta = kt_path_join(dn, "metadata.json");
			bool entry = kt_exists(meta);

			free(meta);
			if (entry) {
				/* the image of a cache entry: resolve the entry */
				char *d2 = kt_strdup(dn);

				free(img);
				r = load_key(dirname(d2), basename(dn), out, err);
				free(d2);
				free(d);
				free(dn);
				if (!r && strcmp(out->image, canon)) {
					kt_set_err(err, "%s is not the image of cache entry %s", canon,
						out->dir);
					kt_kernel_free(out);
					r = -EINVAL;
				}
				free(canon);
				return r;
			}
			tree = kt_strdup(dn);
		}
		free(d);
		free(dn);
	} else if (kt_is_dir(canon)) {
		char *meta = kt_path_join(canon, "metadata.json");
		bool is_entry = kt_exists(meta);

		free(meta);
		if (is_entry) {
			char *d1 = kt_strdup(canon), *d2 = kt_strdup(canon);

			r = load_key(dirname(d1), basename(d2), out, err);
			free(d1);
			free(d2);
			free(canon);
			return r == -ENOENT ? -ENOENT : r;
		}
		tree = kt_strdup(canon);
		img = existing(canon, kt_kernel_image_tree_path(), false);
		if (!img)
			img = existing(canon, kt_kernel_image_name(), false);
		if (!img) {
			char *mk = kt_path_join(canon, "Makefile"),
			     *kc = kt_path_join(canon, "Kconfig");
			bool src = kt_exists(mk) && kt_exists(kc);

			kt_set_err(err, "no kernel image in %s (tried %s, %s)%s%s%s", canon,
				kt_kernel_image_tree_path(), kt_kernel_image_name(),
				src ? "; build it with `ktstr kernel build --source " : "",
				src ? canon : "", src ? "`" : "");
			free(mk);
			free(kc);
			free(tree);
			free(canon);
			return -ENOENT;
		}
	} else {
		kt_set_err(err, "kernel path %s is neither a file nor a directory", canon);
		free(canon);
		return -EINVAL;
	}
	out->image = img;
	out->vmlinux = existing(tree, "vmlinux", false);
	out->dir = kt_strdup(tree);
	out->version = tree_release(tree);
	out->label = path_label(in_tree || kt_is_dir(canon) ? tree : canon);
	out->sched_dir = existing(tree, "tools/sched_ext/build/bin", true);
	if (!out->sched_dir)
		out->sched_dir = existing(tree, "sched", true);
	free(tree);
	free(canon);
	return 0;
}

/* Newest cache entry whose version matches a prefix ("6.12"). */
static int newest_matching(const char *root, const char *prefix, struct kt_kernel *out)
{
	struct kt_cache_entry *e;
	size_t n, pl = strlen(prefix);
	int r = -ENOENT;

	if (kt_cache_list(root, &e, &n))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		const char *v = e[i].meta.version;

		if (e[i].corrupt || !v || strncmp(v, prefix, pl) || (v[pl] && v[pl] != '.'))
			continue;
		if (strcmp(kt_cache_kconfig_status(&e[i]), "matches"))
			continue;
		from_entry(&e[i], out);
		r = 0;
		break;
	}
	kt_cache_entries_free(e, n);
	return r;
}

static int resolve_explicit(const char *id, struct kt_kernel *out, char **err)
{
	struct kt_kid k;
	char *root = NULL, *key = NULL, *dir = NULL, *bkey = NULL;
	int r;

	if ((r = kt_kid_parse(id, &k, err)))
		return r;
	if (k.type == KT_KID_PATH) {
		r = from_path(k.a, out, err);
		goto out;
	}
	if (k.type == KT_KID_RANGE) {
		kt_set_err(err,
			"kernel range %s..%s names several kernels; it is accepted only where "
			"several --kernel values are",
			k.a, k.b);
		r = -EINVAL;
		goto out;
	}
	if ((r = kt_cache_root(&root, err)))
		goto out;
	if (k.type == KT_KID_CACHEKEY) {
		if ((r = kt_cache_key_validate(k.a, err)))
			goto out;
		r = load_key(root, k.a, out, err);
		if (r == -ENOENT)
			kt_set_err(err,
				"cache key %s not found. Run `ktstr kernel list` to see the "
				"cached kernels",
				k.a);
		goto out;
	}
	if (k.type == KT_KID_VERSION) {
		char *ver = NULL;

		if (kt_version_is_prefix(k.a)) {
			char *json = NULL, *e2 = NULL;

			if (kt_releases_fetch(&json, &e2) ||
			    kt_releases_resolve_prefix(json, k.a, &ver, &e2)) {
				free(json);
				/* offline: the newest cached kernel of that series will do */
				if (newest_matching(root, k.a, out) == 0) {
					free(e2);
					r = 0;
					goto out;
				}
				kt_set_err(err, "kernel %s: %s", k.a, e2);
				free(e2);
				r = -ENOENT;
				goto out;
			}
			free(json);
		} else {
			ver = kt_strdup(k.a);
		}
		key = kt_cache_key_tarball(ver);
		r = load_key(root, key, out, err);
		if (r == -ENOENT) {
			struct kt_build_opts o = {
			    .src = KT_BUILD_VERSION, .version = ver, .quiet_hit = true};

			kt_info("kernel %s is not cached; downloading and building it", ver);
			r = locked_build(&o, &dir, &bkey, err);
			if (!r)
				r = load_key(root, key, out, err);
		}
		free(ver);
		goto out;
	}
	/* git */
	{
		struct kt_build_opts o = {
		    .src = KT_BUILD_GIT, .git_url = k.a, .git_ref = k.b, .quiet_hit = true};

		r = locked_build(&o, &dir, &bkey, err);
		if (!r && bkey)
			r = load_key(root, bkey, out, err);
		else if (!r)
			r = from_path(dir, out, err);
		if (!r) {
			char *raw, *copy = kt_strdup(k.a), *b, *o2;
			size_t l;

			b = basename(copy);
			l = strlen(b);
			if (l > 4 && !strcmp(b + l - 4, ".git"))
				b[l - 4] = 0;
			{
				char *u = kt_strdup(k.a), *slash;

				/* owner: the path component before the repo name */
				l = strlen(u);
				while (l && u[l - 1] == '/')
					u[--l] = 0;
				slash = strrchr(u, '/');
				if (slash)
					*slash = 0;
				slash = strrchr(u, '/');
				o2 = kt_strdup(slash ? slash + 1 : u);
				if (strchr(o2, ':'))
					memmove(o2, strchr(o2, ':') + 1, strlen(strchr(o2, ':')));
				free(u);
			}
			raw = kt_asprintf("git_%s_%s_%s", o2, b, k.b);
			free(out->label);
			out->label = kt_kernel_label_sanitize(raw);
			free(raw);
			free(o2);
			free(copy);
		}
	}
out:
	free(root);
	free(key);
	free(dir);
	free(bkey);
	kt_kid_free(&k);
	return r;
}

/* ---- implicit chain ------------------------------------------------------------------ */

static int from_env_kernel(const char *raw, struct kt_kernel *out, char **err)
{
	char *v = kt_strdup(raw), *t = kt_trim(v), *root = NULL, *key = NULL;
	struct kt_kid k;
	int r;

	if ((r = kt_kid_parse(t, &k, err))) {
		char *e = *err;

		*err = kt_asprintf("KTSTR_KERNEL=%s: %s", t, e);
		free(e);
		free(v);
		return r;
	}
	switch (k.type) {
	case KT_KID_PATH: {
		char *canon = realpath(k.a, NULL);

		if (!canon) {
			kt_set_err(err, "KTSTR_KERNEL=%s: %s", t, strerror(errno));
			r = -ENOENT;
		} else {
			r = from_path(canon, out, err);
			if (r) {
				char *e = *err;

				*err = kt_asprintf("KTSTR_KERNEL=%s: %s", t, e);
				free(e);
			}
		}
		free(canon);
		break;
	}
	case KT_KID_VERSION:
	case KT_KID_CACHEKEY:
		if ((r = kt_cache_root(&root, err)))
			break;
		if (k.type == KT_KID_VERSION && kt_version_is_prefix(k.a)) {
			r = newest_matching(root, k.a, out);
			if (r)
				kt_set_err(err,
					"KTSTR_KERNEL=%s: no cached kernel of the %s series in %s. "
					"Run `ktstr kernel build %s`",
					t, k.a, root, k.a);
			break;
		}
		if (k.type == KT_KID_CACHEKEY && (r = kt_cache_key_validate(k.a, err))) {
			char *e = *err;

			*err = kt_asprintf("KTSTR_KERNEL=%s: %s", t, e);
			free(e);
			break;
		}
		key = k.type == KT_KID_VERSION ? kt_cache_key_tarball(k.a) : kt_strdup(k.a);
		r = load_key(root, key, out, err);
		if (r == -ENOENT) {
			if (k.type == KT_KID_VERSION)
				kt_set_err(err,
					"KTSTR_KERNEL=%s: kernel %s is not in the cache %s (key "
					"%s). Run `ktstr kernel build %s`",
					t, k.a, root, key, k.a);
			else
				kt_set_err(err,
					"KTSTR_KERNEL=%s: cache key %s not found. Run `ktstr "
					"kernel list` to see the cached kernels",
					t, k.a);
		}
		break;
	default:
		kt_set_err(err,
			"KTSTR_KERNEL=%s: a %s cannot be used here; give a path, a version or "
			"a cache key",
			t, kt_kid_type_name(k.type));
		r = -EINVAL;
	}
	free(root);
	free(key);
	kt_kid_free(&k);
	free(v);
	return r;
}

static int resolve_implicit(struct kt_kernel *out, char **err)
{
	struct sbuf tried = SBUF_INIT;
	const char *tk = kt_getenv("KTSTR_TEST_KERNEL"), *kk = kt_getenv("KTSTR_KERNEL");
	char *root = NULL, *e2 = NULL;
	struct utsname u;
	int r;

	if (tk) {
		if (!kt_is_file(tk)) {
			kt_set_err(err, "KTSTR_TEST_KERNEL=%s: not a kernel image file", tk);
			return -ENOENT;
		}
		return from_path(tk, out, err);
	}
	if (kk && strspn(kk, " \t\r\n") < strlen(kk))
		return from_env_kernel(kk, out, err);

	/* newest valid cache entry with the current kconfig */
	if (kt_cache_root(&root, &e2) == 0) {
		struct kt_cache_entry *e;
		size_t n;

		if (kt_cache_list(root, &e, &n) == 0) {
			for (size_t i = 0; i < n; i++) {
				if (e[i].corrupt ||
				    strcmp(kt_cache_kconfig_status(&e[i]), "matches"))
					continue;
				from_entry(&e[i], out);
				kt_cache_entries_free(e, n);
				free(root);
				sb_free(&tried);
				return 0;
			}
			kt_cache_entries_free(e, n);
		}
		sb_addf(&tried, "cache %s (no valid entry)", root);
	} else {
		sb_addf(&tried, "cache (%s)", e2);
	}
	free(e2);
	free(root);

	{
		char rel[300] = "";
		const char *dirs[3] = {"./linux", "../linux", rel};

		if (uname(&u) == 0)
			snprintf(rel, sizeof(rel), "/lib/modules/%s/build", u.release);
		for (size_t i = 0; i < 3; i++) {
			char *img;

			if (!dirs[i][0])
				continue;
			sb_addf(&tried, ", %s", dirs[i]);
			img = existing(dirs[i], kt_kernel_image_tree_path(), false);
			if (!img)
				continue;
			free(img);
			e2 = NULL;
			r = from_path(dirs[i], out, &e2);
			free(e2);
			if (!r) {
				sb_free(&tried);
				return 0;
			}
		}
		if (rel[0]) {
			char *cands[3];

			cands[0] = kt_asprintf("/lib/modules/%s/vmlinuz", u.release);
			cands[1] = kt_asprintf("/boot/vmlinuz-%s", u.release);
			cands[2] = kt_strdup("/boot/vmlinuz");
			for (size_t i = 0; i < 3; i++) {
				bool ok = kt_is_file(cands[i]);

				sb_addf(&tried, ", %s", cands[i]);
				if (ok) {
					e2 = NULL;
					r = from_path(cands[i], out, &e2);
					free(e2);
					if (!r) {
						for (size_t j = 0; j < 3; j++)
							free(cands[j]);
						sb_free(&tried);
						return 0;
					}
				}
			}
			for (size_t j = 0; j < 3; j++)
				free(cands[j]);
		}
		{
			glob_t g;

			sb_adds(&tried, ", /boot/vmlinuz-*");
			if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0) {
				/* glob sorts; take the last (highest) one */
				for (size_t i = g.gl_pathc; i > 0; i--) {
					e2 = NULL;
					r = from_path(g.gl_pathv[i - 1], out, &e2);
					free(e2);
					if (!r) {
						globfree(&g);
						sb_free(&tried);
						return 0;
					}
				}
				globfree(&g);
			}
		}
	}
	kt_set_err(
	    err,
	    "no kernel found (tried KTSTR_TEST_KERNEL and KTSTR_KERNEL (both unset), %s). Build "
	    "one with `ktstr kernel build --source DIR|TARBALL` or `ktstr kernel build "
	    "VERSION`, or set KTSTR_KERNEL",
	    sb_str(&tried));
	sb_free(&tried);
	return -ENOENT;
}

int kt_kernel_resolve(const char *id, struct kt_kernel *out, char **err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (err)
		*err = NULL;
	if (id)
		r = resolve_explicit(id, out, err);
	else
		r = resolve_implicit(out, err);
	if (r)
		kt_kernel_free(out);
	return r;
}

/* ---- several kernels ------------------------------------------------------------------ */

struct many {
	char **ids;
	size_t n;
	struct kt_kernel *res;
	char **errs;
	size_t next;
	bool failed;
	pthread_mutex_t lock;
};

static void *many_worker(void *arg)
{
	struct many *m = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&m->lock);
		if (m->failed || m->next >= m->n) {
			pthread_mutex_unlock(&m->lock);
			return NULL;
		}
		i = m->next++;
		pthread_mutex_unlock(&m->lock);
		if (kt_kernel_resolve(m->ids[i], &m->res[i], &m->errs[i])) {
			pthread_mutex_lock(&m->lock);
			m->failed = true;
			pthread_mutex_unlock(&m->lock);
			if (!m->errs[i])
				m->errs[i] = kt_asprintf("cannot resolve kernel %s", m->ids[i]);
		}
	}
}

int kt_kernel_resolve_many(const char *const *ids, size_t n, struct kt_kernel **out, size_t *nout,
			   char **err)
{
	struct many m = {.lock = PTHREAD_MUTEX_INITIALIZER};
	unsigned width;
	pthread_t *th;
	size_t nth, k = 0;
	int r = 0;

	*out = NULL;
	*nout = 0;
	if (err)
		*err = NULL;
	/* parse everything before any I/O; expand ranges */
	for (size_t i = 0; i < n; i++) {
		struct kt_kid kid;
		char *e2 = NULL;

		if (kt_kid_parse(ids[i], &kid, &e2)) {
			kt_set_err(err, "--kernel %s: %s", ids[i], e2);
			free(e2);
			r = -EINVAL;
			goto out;
		}
		if (kid.type == KT_KID_CACHEKEY && kt_cache_key_validate(kid.a, &e2)) {
			kt_set_err(err, "--kernel %s: %s", ids[i], e2);
			free(e2);
			kt_kid_free(&kid);
			r = -EINVAL;
			goto out;
		}
		if (kid.type == KT_KID_RANGE) {
			char *json = NULL, **v = NULL;
			size_t nv = 0;

			kt_info("expanding kernel range %s..%s", kid.a, kid.b);
			if (kt_releases_fetch(&json, &e2) ||
			    kt_releases_range(json, kid.a, kid.b, &v, &nv, &e2)) {
				kt_set_err(err, "--kernel %s: %s", ids[i], e2);
				free(e2);
				free(json);
				kt_kid_free(&kid);
				r = -ENOENT;
				goto out;
			}
			{
				struct sbuf sb = SBUF_INIT;

				for (size_t j = 0; j < nv; j++)
					sb_addf(&sb, "%s%s", j ? ", " : "", v[j]);
				kt_info("range expanded to %zu kernel(s): %s", nv, sb_str(&sb));
				sb_free(&sb);
			}
			m.ids = kt_realloc(m.ids, (m.n + nv) * sizeof(char *));
			for (size_t j = 0; j < nv; j++)
				m.ids[m.n++] = v[j];
			free(v);
			free(json);
		} else {
			bool dup = false;

			for (size_t j = 0; j < m.n; j++)
				dup |= !strcmp(m.ids[j], ids[i]);
			if (!dup) {
				m.ids = kt_realloc(m.ids, (m.n + 1) * sizeof(char *));
				m.ids[m.n++] = kt_strdup(ids[i]);
			}
		}
		kt_kid_free(&kid);
	}
	if (!m.n)
		goto out;
	m.res = kt_calloc(m.n, sizeof(*m.res));
	m.errs = kt_calloc(m.n, sizeof(char *));
	width = kt_kernel_parallelism();
	nth = width < m.n ? width : m.n;
	if (m.n > 1)
		kt_info("resolving %zu kernels, %zu at a time (KTSTR_KERNEL_PARALLELISM=%u)", m.n, nth,
			width);
	th = kt_calloc(nth, sizeof(*th));
	for (size_t i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, many_worker, &m))
			th[i] = 0;
	for (size_t i = 0; i < nth; i++)
		if (th[i])
			pthread_join(th[i], NULL);
	if (!nth || !th[0])
		many_worker(&m);
	free(th);
	for (size_t i = 0; i < m.n; i++)
		if (m.errs[i]) {
			kt_set_err(err, "%s", m.errs[i]);
			r = -ENOENT;
			goto out;
		}
	/* drop duplicate (label, dir) pairs; colliding labels are an error */
	*out = kt_calloc(m.n, sizeof(**out));
	for (size_t i = 0; i < m.n; i++) {
		bool dup = false;

		if (!m.res[i].label)
			continue;
		for (size_t j = 0; j < k; j++) {
			if (strcmp((*out)[j].label, m.res[i].label))
				continue;
			if (!strcmp((*out)[j].dir, m.res[i].dir)) {
				dup = true;
				break;
			}
			kt_set_err(err, "kernels %s and %s have the same label %s", (*out)[j].dir,
				m.res[i].dir, m.res[i].label);
			r = -EINVAL;
			goto out;
		}
		if (dup) {
			kt_kernel_free(&m.res[i]);
			continue;
		}
		(*out)[k++] = m.res[i];
		memset(&m.res[i], 0, sizeof(m.res[i]));
	}
	*nout = k;
out:
	if (r && *out) {
		for (size_t i = 0; i < k; i++)
			kt_kernel_free(&(*out)[i]);
		free(*out);
		*out = NULL;
	}
	for (size_t i = 0; i < m.n; i++) {
		free(m.ids[i]);
		if (m.res)
			kt_kernel_free(&m.res[i]);
		if (m.errs)
			free(m.errs[i]);
	}
	free(m.ids);
	free(m.res);
	free(m.errs);
	return r;
}

int kt_kernel_lock_shared(const struct kt_kernel *k, char **err)
{
	char *d, *root;
	int fd;

	if (!k->key || !k->dir)
		return -1;
	d = kt_strdup(k->dir);
	root = kt_strdup(dirname(d));
	fd = kt_cache_lock(root, k->key, false, 10000);
	if (fd < 0) {
		char *lf = kt_asprintf("%s/.locks/%s.lock", root, k->key);
		char *h = kt_lock_holders(lf);

		kt_set_err(err, "cannot lock cache entry %s (lockfile %s) within 10 s: %s%s%s", k->key,
			lf, strerror(-fd), *h ? "; holders:\n" : "", h);
		free(h);
		free(lf);
		fd = fd == -1 ? -EIO : fd;
	}
	free(d);
	free(root);
	return fd;
}
