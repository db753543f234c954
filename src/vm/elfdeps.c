// SPDX-License-Identifier: GPL-2.0
/*
 * Shared-library closure of an ELF executable (libelf): PT_INTERP plus a
 * breadth-first walk over DT_NEEDED with glibc's search order, and packing
 * of the result into a cpio archive.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/initramfs.h"

static const char *const default_dirs[] = {
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
};

static const char *const standard_interps[] = {
    "/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux.so.2",       "/lib/ld-linux-aarch64.so.1",
    "/lib/ld-linux-armhf.so.3",	   "/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1",
    "/libexec/ld-elf.so.1",
};

struct elf_info {
	int cls; /* ELFCLASS32/64 */
	int machine;
	bool is_elf;
	char *interp;  /* PT_INTERP or NULL */
	char **needed; /* NULL-terminated */
	char *rpath, *runpath;
};

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_add(struct strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = kt_realloc(s->v, s->cap * sizeof(char *));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

/* An empty but NULL-terminated vector. */
static void strv_empty(struct strv *s)
{
	s->cap = 16;
	s->n = 0;
	s->v = kt_calloc(s->cap, sizeof(char *));
}

static bool strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], str))
			return true;
	return false;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void info_free(struct elf_info *in)
{
	free(in->interp);
	if (in->needed)
		for (char **p = in->needed; *p; p++)
			free(*p);
	free(in->needed);
	free(in->rpath);
	free(in->runpath);
	memset(in, 0, sizeof(*in));
}

/*
 * Read what we need from an ELF file. Returns 0 with in->is_elf false for a
 * non-ELF file, a negative errno if the file cannot be opened, or -EINVAL
 * (with *why) for a malformed ELF.
 */
static int read_elf(const char *path, struct elf_info *in, const char **why)
{
	struct strv needed = {0};
	GElf_Ehdr eh;
	size_t phnum, raw_len;
	Elf_Scn *scn = NULL;
	char *raw;
	Elf *e;
	int fd, r = 0;

	memset(in, 0, sizeof(*in));
	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		if (e)
			elf_end(e);
		close(fd);
		return 0;
	}
	in->is_elf = true;
	in->cls = gelf_getclass(e);
	in->machine = eh.e_machine;
	raw = elf_rawfile(e, &raw_len);
	if (elf_getphdrnum(e, &phnum) == 0) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;

			/* The first PT_INTERP is the one the kernel loads. */
			if (in->interp || !gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_INTERP)
				continue;
			if (!raw || ph.p_offset >= raw_len || ph.p_filesz == 0 ||
			    ph.p_filesz > raw_len - ph.p_offset || ph.p_filesz > PATH_MAX) {
				*why = "bad PT_INTERP";
				r = -EINVAL;
				goto out;
			}
			in->interp = kt_malloc(ph.p_filesz + 1);
			memcpy(in->interp, raw + ph.p_offset, ph.p_filesz);
			in->interp[ph.p_filesz] = 0;
			if (in->interp[0] != '/') {
				*why = "PT_INTERP is not an absolute path";
				r = -EINVAL;
				goto out;
			}
		}
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		for (size_t i = 0; sh.sh_entsize && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH &&
			    dyn.d_tag != DT_RUNPATH)
				continue;
			s = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (!s) {
				*why = "bad dynamic string";
				r = -EINVAL;
				goto out;
			}
			if (dyn.d_tag == DT_NEEDED)
				strv_add(&needed, kt_strdup(s));
			else if (dyn.d_tag == DT_RPATH && !in->rpath)
				in->rpath = kt_strdup(s);
			else if (dyn.d_tag == DT_RUNPATH && !in->runpath)
				in->runpath = kt_strdup(s);
		}
	}
out:
	if (!needed.v)
		strv_empty(&needed);
	in->needed = needed.v;
	if (r)
		info_free(in);
	elf_end(e);
	close(fd);
	return r;
}

/* Expand $ORIGIN/${ORIGIN}, $LIB and $PLATFORM in one search-path entry. */
static char *expand(const char *dir, const char *origin, const struct elf_info *root)
{
	static const struct {
		const char *a, *b;
		int which;
	} tok[] = {
	    {"$ORIGIN", "${ORIGIN}", 0}, {"$LIB", "${LIB}", 1}, {"$PLATFORM", "${PLATFORM}", 2}};
	struct sbuf sb = SBUF_INIT;
	const char *p = dir;

	while (*p) {
		bool hit = false;

		for (size_t i = 0; i < KT_ARRAY_SIZE(tok) && *p == '$'; i++) {
			const char *t = NULL;

			if (kt_startswith(p, tok[i].b))
				t = tok[i].b;
			else if (kt_startswith(p, tok[i].a) &&
				 !((p[strlen(tok[i].a)] >= 'A' && p[strlen(tok[i].a)] <= 'Z') ||
				   p[strlen(tok[i].a)] == '_'))
				t = tok[i].a;
			if (!t)
				continue;
			if (tok[i].which == 0)
				sb_adds(&sb, origin);
			else if (tok[i].which == 1)
				sb_adds(&sb, root->cls == ELFCLASS64 ? "lib64" : "lib");
			else
				sb_adds(&sb, root->machine == EM_AARCH64 ? "aarch64"
					     : root->machine == EM_386	 ? "i686"
									 : "x86_64");
			p += strlen(t);
			hit = true;
			break;
		}
		if (!hit)
			sb_add(&sb, p++, 1);
	}
	sb_adds(&sb, "");
	return sb_steal(&sb);
}

/* Is path an ELF of the root's class and machine? */
static bool compatible(const char *path, const struct elf_info *root)
{
	struct elf_info in;
	const char *why;
	bool ok;

	if (!kt_is_file(path) || read_elf(path, &in, &why))
		return false;
	ok = in.is_elf && in.cls == root->cls && in.machine == root->machine;
	info_free(&in);
	return ok;
}

static char *dir_of(const char *path);

/* State of one closure walk. */
struct walk {
	const struct elf_info *root;
	const char *root_origin;
	/* Directory of the root ELF inside the guest, or NULL when unknown. */
	const char *guest_origin;
	/* Out: guest path where the root's $ORIGIN lookups expect the library. */
	char *alias;
};

/*
 * Search a ':'-separated list. When from_root is set and an entry uses
 * $ORIGIN, also record where the guest will look (w->alias).
 */
static char *search_list(const char *list, const char *name, const char *origin, struct walk *w,
			 bool from_root)
{
	char *copy, *save = NULL, *res = NULL;

	if (!list || !*list)
		return NULL;
	copy = kt_strdup(list);
	for (char *d = strtok_r(copy, ":;", &save); d && !res; d = strtok_r(NULL, ":;", &save)) {
		char *ed = expand(d, origin, w->root);
		char *cand = kt_path_join(*ed ? ed : ".", name);

		if (compatible(cand, w->root)) {
			res = cand;
			if (from_root && w->guest_origin && strstr(d, "ORIGIN")) {
				char *gd = expand(d, w->guest_origin, w->root);

				w->alias = kt_path_join(gd, name);
				free(gd);
			}
		} else {
			free(cand);
		}
		free(ed);
	}
	free(copy);
	return res;
}

static bool is_standard_interp(const char *interp)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(standard_interps); i++)
		if (!strcmp(interp, standard_interps[i]))
			return true;
	return false;
}

/*
 * Look name up in an ld.so.cache image (new format "glibc-ld.so.cache1.1":
 * 48-byte header with nlibs at +20, 24-byte entries with key at +4 and
 * value at +8, string offsets from the start of the file). Returns the first
 * compatible path, or NULL. Every offset is bounds-checked.
 */
static char *ldcache_lookup(const char *cache, size_t len, const char *name,
			    const struct elf_info *root)
{
	static const char magic[] = "glibc-ld.so.cache1.1";
	uint32_t nlibs;

	if (len < 48 || memcmp(cache, magic, sizeof(magic) - 1))
		return NULL;
	memcpy(&nlibs, cache + 20, 4);
	if (nlibs > (len - 48) / 24)
		return NULL;
	for (uint32_t i = 0; i < nlibs; i++) {
		const char *ent = cache + 48 + (size_t)i * 24;
		uint32_t key, val;

		memcpy(&key, ent + 4, 4);
		memcpy(&val, ent + 8, 4);
		if (key >= len || val >= len || !memchr(cache + key, 0, len - key) ||
		    !memchr(cache + val, 0, len - val))
			continue;
		if (strcmp(cache + key, name) || cache[val] != '/')
			continue;
		if (compatible(cache + val, root))
			return kt_strdup(cache + val);
	}
	return NULL;
}

static char *ldcache_find(const char *name, const struct elf_info *root)
{
	static char *cache, *loaded;
	static size_t len;
	const char *path = kt_getenv("KTSTR_LD_SO_CACHE");

	if (!path)
		path = "/etc/ld.so.cache";
	/* Read once per process (per path): a closure walk looks up many names. */
	if (!loaded || strcmp(loaded, path)) {
		free(loaded);
		free(cache);
		loaded = kt_strdup(path);
		if (kt_read_file(path, &cache, &len, 64u << 20))
			cache = NULL;
	}
	return cache ? ldcache_lookup(cache, len, name, root) : NULL;
}

static bool in_default_dir(const char *path)
{
	char *d = dir_of(path);
	bool r = false;

	for (size_t i = 0; i < KT_ARRAY_SIZE(default_dirs) && !r; i++)
		r = !strcmp(d, default_dirs[i]);
	free(d);
	return r;
}

/* Find library name needed by obj (whose directory is origin). */
static char *find_lib(const char *name, const struct elf_info *obj, bool is_root,
		      const char *origin, struct walk *w)
{
	const struct elf_info *root = w->root;
	char *res = NULL;

	if (strchr(name, '/'))
		return compatible(name, root) ? kt_strdup(name) : NULL;
	if (!obj->runpath) {
		res = search_list(obj->rpath, name, origin, w, is_root);
		/* glibc also uses the executable's DT_RPATH for its dependencies. */
		if (!res && !is_root && !root->runpath)
			res = search_list(root->rpath, name, w->root_origin, w, true);
	}
	if (!res)
		res = search_list(getenv("LD_LIBRARY_PATH"), name, origin, w, false);
	if (!res)
		res = search_list(obj->runpath, name, origin, w, is_root);
	if (!res && root->interp && !is_standard_interp(root->interp)) {
		char *d = kt_strdup(root->interp);
		char *dir = dirname(d);
		char *l = kt_asprintf("%s:%s/../lib:%s/../lib64", dir, dir, dir);

		res = search_list(l, name, origin, w, false);
		free(l);
		free(d);
	}
	if (!res) {
		res = ldcache_find(name, root);
		/*
		 * The guest has no ld.so.cache: a library from a directory only the
		 * cache knows about is also linked into the loader's default directory.
		 */
		if (res && !in_default_dir(res) && !w->alias)
			w->alias = kt_asprintf("/lib/%s/%s",
					       root->machine == EM_AARCH64 ? "aarch64-linux-gnu"
									   : "x86_64-linux-gnu",
					       name);
	}
	for (size_t i = 0; !res && i < KT_ARRAY_SIZE(default_dirs); i++) {
		char *cand = kt_path_join(default_dirs[i], name);

		if (compatible(cand, root))
			res = cand;
		else
			free(cand);
	}
	return res;
}

static char *dir_of(const char *path)
{
	char *d = kt_strdup(path);
	char *r = kt_strdup(dirname(d));

	free(d);
	return r;
}

/*
 * The closure walk. out: host paths (interpreter first). aliases (parallel
 * to out, "" for none): guest paths where the root's $ORIGIN entries expect
 * a library when the root is packed at guest_path.
 */
static int elf_deps_ex(const char *host_path, const char *guest_path, char ***paths,
		       char ***alias_paths, char **err)
{
	struct strv out = {0}, seen = {0}, queue = {0}, aliases = {0};
	struct walk w = {0};
	struct elf_info root;
	const char *why;
	char *root_origin, *real;
	int r;

	*paths = NULL;
	r = read_elf(host_path, &root, &why);
	if (r) {
		*err = why ? kt_asprintf("%s: %s", host_path, why)
			   : kt_asprintf("%s: %s", host_path, strerror(-r));
		return r;
	}
	if (!root.is_elf) {
		*err = kt_asprintf("%s: not an ELF file", host_path);
		return -ENOEXEC;
	}
	strv_empty(&out);
	strv_empty(&aliases);
	real = realpath(host_path, NULL);
	root_origin = dir_of(real ? real : host_path);
	free(real);
	w.root = &root;
	w.root_origin = root_origin;
	if (guest_path) {
		char *gp = kt_asprintf("/%s", guest_path + (guest_path[0] == '/'));

		w.guest_origin = dir_of(gp);
		free(gp);
	}
	if (root.interp) {
		if (!kt_is_file(root.interp)) {
			*err = kt_asprintf("%s: interpreter %s not found", host_path, root.interp);
			r = -ENOENT;
			goto fail;
		}
		strv_add(&out, kt_strdup(root.interp));
		strv_add(&aliases, kt_strdup(""));
	}
	/* Queue entries: the object path; its needed names are resolved in BFS order. */
	strv_add(&queue, kt_strdup(host_path));
	for (size_t qi = 0; qi < queue.n; qi++) {
		struct elf_info obj;
		char *origin;

		if (qi == 0) {
			obj = root; /* shallow: not freed here */
			origin = kt_strdup(root_origin);
		} else {
			r = read_elf(queue.v[qi], &obj, &why);
			if (r) {
				*err = kt_asprintf("%s: %s", queue.v[qi], why ? why : strerror(-r));
				goto fail;
			}
			origin = dir_of(queue.v[qi]);
		}
		for (char **n = obj.needed; n && *n && !r; n++) {
			char *found;

			if (strv_has(&seen, *n))
				continue;
			strv_add(&seen, kt_strdup(*n));
			w.alias = NULL;
			found = find_lib(*n, &obj, qi == 0, origin, &w);
			if (!found) {
				*err = kt_asprintf("%s: shared library %s not found (needed by %s)",
						   host_path, *n, queue.v[qi]);
				r = -ENOENT;
				break;
			}
			/* The interpreter may itself be needed (e.g. ld-linux as DT_NEEDED). */
			if (!strv_has(&out, found)) {
				strv_add(&out, kt_strdup(found));
				strv_add(&aliases, w.alias ? w.alias : kt_strdup(""));
				strv_add(&queue, kt_strdup(found));
			} else {
				free(w.alias);
			}
			free(found);
		}
		if (qi != 0)
			info_free(&obj);
		free(origin);
		if (r)
			goto fail;
	}
	*paths = out.v;
	out.v = NULL;
	out.n = 0;
	if (alias_paths) {
		*alias_paths = aliases.v;
		aliases.v = NULL;
		aliases.n = 0;
	}
	r = 0;
fail:
	strv_free(&out);
	strv_free(&aliases);
	free((char *)w.guest_origin);
	strv_free(&seen);
	strv_free(&queue);
	free(root_origin);
	info_free(&root);
	return r;
}

int kt_elf_deps(const char *host_path, char ***paths, char **err)
{
	return elf_deps_ex(host_path, NULL, paths, NULL, err);
}

void kt_elf_deps_free(char **paths)
{
	if (!paths)
		return;
	for (char **p = paths; *p; p++)
		free(*p);
	free(paths);
}

/* Pack one library/interpreter: canonical file + alias symlink. */
static int add_dep(struct kt_cpio *c, const char *found, const char *bin, char **err)
{
	char *canon = realpath(found, NULL);
	char *target;
	int r;

	if (!canon) {
		r = -errno;
		*err = kt_asprintf("%s: %s (needed by %s)", found, strerror(errno), bin);
		return r;
	}
	r = kt_cpio_add_file(c, canon, canon, 0755);
	if (r) {
		*err = kt_asprintf("%s: cannot add to initramfs: %s (needed by %s)", canon,
				   strerror(-r), bin);
		free(canon);
		return r;
	}
	if (strcmp(found, canon)) {
		target = kt_asprintf("/%s", canon + 1);
		r = kt_cpio_add_symlink(c, found, target);
		if (r)
			*err = kt_asprintf("%s: cannot add symlink to %s: %s (needed by %s)", found,
					   canon, strerror(-r), bin);
		free(target);
	}
	free(canon);
	return r;
}

/* Symlink at the guest's $ORIGIN-relative location, unless that is the path itself. */
static int add_alias(struct kt_cpio *c, const char *alias, const char *found, const char *bin,
		     char **err)
{
	char *canon = realpath(found, NULL);
	int r = 0;

	if (!canon)
		return 0; /* add_dep already succeeded, so this cannot happen */
	if (strcmp(alias, canon) && strcmp(alias, found)) {
		r = kt_cpio_add_symlink(c, alias, canon);
		if (r)
			*err = kt_asprintf("%s: cannot add symlink to %s: %s (needed by %s)", alias,
					   canon, strerror(-r), bin);
	}
	free(canon);
	return r;
}

int kt_cpio_add_elf(struct kt_cpio *c, const char *path, const char *host_path, char **err)
{
	return kt_cpio_add_elf_flags(c, path, host_path, 0, err);
}

int kt_cpio_add_elf_flags(struct kt_cpio *c, const char *path, const char *host_path,
			  unsigned flags, char **err)
{
	char **deps, **aliases;
	int r;

	r = elf_deps_ex(host_path, path, &deps, &aliases, err);
	if (r)
		return r;
	if (flags & KT_ELF_STRIP_DEBUG)
		r = kt_cpio_add_file_stripped(c, path, host_path, 0);
	else
		r = kt_cpio_add_file(c, path, host_path, 0);
	if (r) {
		*err = kt_asprintf("%s: cannot add to initramfs as %s: %s", host_path, path,
				   strerror(-r));
	}
	for (size_t i = 0; !r && deps[i]; i++) {
		r = add_dep(c, deps[i], host_path, err);
		if (!r && aliases[i][0])
			r = add_alias(c, aliases[i], deps[i], host_path, err);
	}
	kt_elf_deps_free(deps);
	kt_elf_deps_free(aliases);
	return r;
}
