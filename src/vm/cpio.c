// SPDX-License-Identifier: GPL-2.0
/* In-memory cpio "newc" archive writer (see initramfs.h for the rules). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/initramfs.h"

struct cpio_ent {
	char *path;
	uint32_t mode; /* type | permissions */
	uint64_t size;
	uint64_t hash; /* XXH64 of content (file) or target (symlink) */
};

struct kt_cpio {
	struct sbuf out;
	struct cpio_ent *ents;
	size_t n, cap;
	size_t *table; /* open addressing: index + 1, 0 = empty */
	size_t tcap;
	bool finished;
};

struct kt_cpio *kt_cpio_new(void)
{
	struct kt_cpio *c = kt_calloc(1, sizeof(*c));

	sb_init(&c->out);
	c->tcap = 256;
	c->table = kt_calloc(c->tcap, sizeof(*c->table));
	return c;
}

void kt_cpio_free(struct kt_cpio *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->ents[i].path);
	free(c->ents);
	free(c->table);
	sb_free(&c->out);
	free(c);
}

size_t kt_cpio_count(const struct kt_cpio *c)
{
	return c->n;
}

static uint64_t str_hash(const char *s)
{
	return kt_xxh64(s, strlen(s));
}

static struct cpio_ent *lookup(struct kt_cpio *c, const char *path)
{
	size_t mask = c->tcap - 1;

	for (size_t i = str_hash(path) & mask;; i = (i + 1) & mask) {
		size_t v = c->table[i];

		if (!v)
			return NULL;
		if (!strcmp(c->ents[v - 1].path, path))
			return &c->ents[v - 1];
	}
}

static void table_insert(size_t *table, size_t tcap, const char *path, size_t idx1)
{
	size_t mask = tcap - 1;
	size_t i = str_hash(path) & mask;

	while (table[i])
		i = (i + 1) & mask;
	table[i] = idx1;
}

static void remember(struct kt_cpio *c, const char *path, uint32_t mode, uint64_t size,
		     uint64_t hash)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->ents = kt_realloc(c->ents, c->cap * sizeof(*c->ents));
	}
	if ((c->n + 1) * 2 > c->tcap) {
		size_t ncap = c->tcap * 2;
		size_t *nt = kt_calloc(ncap, sizeof(*nt));

		for (size_t i = 0; i < c->n; i++)
			table_insert(nt, ncap, c->ents[i].path, i + 1);
		free(c->table);
		c->table = nt;
		c->tcap = ncap;
	}
	c->ents[c->n] = (struct cpio_ent){kt_strdup(path), mode, size, hash};
	c->n++;
	table_insert(c->table, c->tcap, path, c->n);
}

/* Raw newc record: header, name, padding, data, padding. */
static void emit(struct sbuf *out, const char *name, uint32_t ino, uint32_t mode, uint32_t nlink,
		 const void *data, uint32_t size)
{
	static const char zeros[4];
	size_t namesize = strlen(name) + 1;

	sb_addf(out, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X", ino, mode, 0u,
		0u, nlink, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
	sb_add(out, name, namesize);
	sb_add(out, zeros, (4 - (110 + namesize) % 4) % 4);
	if (size) {
		sb_add(out, data, size);
		sb_add(out, zeros, (4 - size % 4) % 4);
	}
}

/*
 * Normalise an archive path: strip leading and trailing '/', reject empty
 * names, empty components, "." and "..", and "TRAILER!!!" as the first
 * component (the kernel stops unpacking at that name, which would also be
 * the parent directory's). Returns a malloc'd string or NULL.
 */
static char *norm_path(const char *path)
{
	const char *p = path;
	size_t n;
	char *s;

	if (!p)
		return NULL;
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (!n || n >= PATH_MAX ||
	    (n >= 10 && !memcmp(p, "TRAILER!!!", 10) && (n == 10 || p[10] == '/')))
		return NULL;
	s = kt_malloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	for (char *comp = s;;) {
		char *slash = strchr(comp, '/');
		size_t len = slash ? (size_t)(slash - comp) : strlen(comp);

		if (!len || (len == 1 && comp[0] == '.') ||
		    (len == 2 && comp[0] == '.' && comp[1] == '.')) {
			free(s);
			return NULL;
		}
		if (!slash)
			break;
		comp = slash + 1;
	}
	return s;
}

/* Add every parent directory of the normalised path np. */
static int add_parents(struct kt_cpio *c, const char *np)
{
	char buf[PATH_MAX];
	size_t n = strlen(np);

	memcpy(buf, np, n + 1);
	for (char *p = buf; (p = strchr(p, '/')); p++) {
		struct cpio_ent *e;

		*p = 0;
		e = lookup(c, buf);
		if (!e) {
			emit(&c->out, buf, (uint32_t)c->n + 1, S_IFDIR | 0755, 2, NULL, 0);
			remember(c, buf, S_IFDIR | 0755, 0, 0);
		} else if (!S_ISDIR(e->mode)) {
			return -ENOTDIR;
		}
		*p = '/';
	}
	return 0;
}

/* Common path for every entry type. */
static int add_entry(struct kt_cpio *c, const char *path, uint32_t mode, const void *data,
		     size_t size)
{
	struct cpio_ent *e;
	uint64_t h = 0;
	char *np;
	int r;

	if (c->finished)
		return -EINVAL;
	if (size > UINT32_MAX)
		return -EFBIG;
	np = norm_path(path);
	if (!np)
		return -EINVAL;
	if (!S_ISDIR(mode))
		h = kt_xxh64(data, size);
	e = lookup(c, np);
	if (e) {
		if (S_ISDIR(mode) && S_ISDIR(e->mode))
			r = 0;
		else if (e->mode == mode && e->size == size && e->hash == h)
			r = 0;
		else
			r = -EEXIST;
		free(np);
		return r;
	}
	r = add_parents(c, np);
	if (!r) {
		emit(&c->out, np, (uint32_t)c->n + 1, mode, S_ISDIR(mode) ? 2 : 1, data,
		     (uint32_t)size);
		remember(c, np, mode, size, h);
	}
	free(np);
	return r;
}

int kt_cpio_add_dir(struct kt_cpio *c, const char *path, mode_t mode)
{
	return add_entry(c, path, S_IFDIR | (mode & 07777), NULL, 0);
}

int kt_cpio_add_data(struct kt_cpio *c, const char *path, const void *data, size_t len, mode_t mode)
{
	return add_entry(c, path, S_IFREG | (mode & 07777), data, len);
}

int kt_cpio_add_symlink(struct kt_cpio *c, const char *path, const char *target)
{
	if (!target || !*target)
		return -EINVAL;
	return add_entry(c, path, S_IFLNK | 0777, target, strlen(target));
}

int kt_cpio_add_file(struct kt_cpio *c, const char *path, const char *host_path, mode_t mode)
{
	struct stat st;
	char *data;
	size_t len;
	int r;

	if (stat(host_path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (st.st_size > (off_t)UINT32_MAX)
		return -EFBIG;
	r = kt_read_file(host_path, &data, &len, (size_t)UINT32_MAX);
	if (r)
		return r;
	r = kt_cpio_add_data(c, path, data, len, mode ? mode : (st.st_mode & 07777));
	free(data);
	return r;
}

static int tree_err(char **err, const char *what, int r)
{
	if (err)
		*err = kt_asprintf("%s: %s", what, strerror(-r));
	return r;
}

static int add_tree_rec(struct kt_cpio *c, const char *guest, const char *host, int depth,
			char **err)
{
	struct dirent **names = NULL;
	int n, r = 0;

	if (depth > 64)
		return tree_err(err, host, -ELOOP);
	n = scandir(host, &names, NULL, alphasort);
	if (n < 0)
		return tree_err(err, host, -errno);
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char *hp, *gp;
		struct stat st;

		if (r || !strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		hp = kt_path_join(host, nm);
		gp = *guest ? kt_asprintf("%s/%s", guest, nm) : kt_strdup(nm);
		if (lstat(hp, &st) < 0) {
			r = tree_err(err, hp, -errno);
		} else if (S_ISDIR(st.st_mode)) {
			r = kt_cpio_add_dir(c, gp, st.st_mode & 07777);
			if (r)
				tree_err(err, hp, r);
			else
				r = add_tree_rec(c, gp, hp, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			r = kt_cpio_add_file(c, gp, hp, st.st_mode & 07777);
			if (r)
				tree_err(err, hp, r);
		} else if (S_ISLNK(st.st_mode)) {
			char tgt[PATH_MAX];
			ssize_t tl = readlink(hp, tgt, sizeof(tgt) - 1);

			if (tl < 0) {
				r = tree_err(err, hp, -errno);
			} else {
				tgt[tl] = 0;
				r = kt_cpio_add_symlink(c, gp, tgt);
				if (r)
					tree_err(err, hp, r);
			}
		} else {
			if (err)
				*err =
				    kt_asprintf("%s: not a regular file, directory or symlink", hp);
			r = -EINVAL;
		}
		free(hp);
		free(gp);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int kt_cpio_add_tree(struct kt_cpio *c, const char *guest_dir, const char *host_dir, char **err)
{
	const char *g = guest_dir ? guest_dir : "";
	char *ng = NULL;
	int r;

	while (*g == '/')
		g++;
	if (*g) {
		ng = norm_path(g);
		if (!ng) {
			if (err)
				*err = kt_asprintf("%s: invalid archive path", guest_dir);
			return -EINVAL;
		}
		r = kt_cpio_add_dir(c, ng, 0755);
		if (r) {
			free(ng);
			return tree_err(err, guest_dir, r);
		}
	}
	if (!kt_is_dir(host_dir)) {
		free(ng);
		if (err)
			*err = kt_asprintf("%s: not a directory", host_dir);
		return -ENOTDIR;
	}
	r = add_tree_rec(c, ng ? ng : "", host_dir, 0, err);
	free(ng);
	return r;
}

int kt_cpio_finish(struct kt_cpio *c, const void **data, size_t *len)
{
	if (!c->finished) {
		static const char zeros[512];

		emit(&c->out, "TRAILER!!!", 0, 0, 1, NULL, 0);
		sb_add(&c->out, zeros, (512 - c->out.len % 512) % 512);
		c->finished = true;
	}
	*data = c->out.s;
	*len = c->out.len;
	return 0;
}
