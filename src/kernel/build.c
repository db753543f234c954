// SPDX-License-Identifier: GPL-2.0
/*
 * `ktstr kernel build`: get a source tree (local dir, tarball, kernel.org
 * download, shallow git clone), configure it with the ktstr fragment,
 * build bzImage + vmlinux + the tools/sched_ext schedulers, validate the
 * config, and store the result atomically in the cache. This file is the
 * pipeline per kind of source; build.h lists the other build_*.c files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "util/util.h"

/*
 * The BPF compiler for tools/sched_ext: the newest versioned clang on PATH
 * (clang-20 .. clang-15), else plain clang. Measured with 6.12: scx_flatcg
 * built by clang 14 fails BPF verification ("R1 has no valid kptr": no
 * btf_type_tag support), built by clang 16 it loads and attaches.
 */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs = kt_strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	bool found = false;

	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *full = kt_asprintf("%s/%s", d, name);

		found = access(full, X_OK) == 0;
		free(full);
	}
	free(dirs);
	return found;
}

void kt_sched_ext_clang(char *clang, size_t clen, char *strip, size_t slen)
{
	for (int v = 20; v >= 15; v--) {
		char name[32];

		snprintf(name, sizeof(name), "clang-%d", v);
		if (!on_path(name))
			continue;
		snprintf(clang, clen, "CLANG=clang-%d", v);
		snprintf(strip, slen, "LLVM_STRIP=llvm-strip-%d", v);
		return;
	}
	snprintf(clang, clen, "CLANG=clang");
	snprintf(strip, slen, "LLVM_STRIP=llvm-strip");
}


static int compile(struct build_ctx *c, char **err)
{
	char jobs[32];
	char *mk[] = {"make",	 jobs, "KCFLAGS=-Wno-error", (char *)kt_kernel_image_name(),
		      "vmlinux", NULL};
	char clang[64], strip[64];
	char *sx[] = {"make", jobs, "-C", "tools/sched_ext", clang, strip, NULL};
	char *bindir;
	int r;

	kt_sched_ext_clang(clang, sizeof(clang), strip, sizeof(strip));

	snprintf(jobs, sizeof(jobs), "-j%u", c->jobs);
	kt_info("building with %s (log: %s)", jobs, c->log);
	c->prog.objs = 0;
	if ((r = kb_run_stage(&c->prog, "building kernel", c->tree, c->log, mk, err)))
		return r;
	kb_progress_done(&c->prog, "kernel built");
	c->prog.objs = 0;
	r = kb_run_stage(&c->prog, "building tools/sched_ext schedulers", c->tree, c->log, sx, err);
	if (r == -EINTR)
		return r;
	bindir = kt_path_join(c->tree, "tools/sched_ext/build/bin");
	if (r) {
		kt_warn("%s; the kernel is kept without schedulers", *err);
		free(*err);
		*err = NULL;
	} else {
		char **names;
		size_t n;

		kb_list_schedulers(bindir, &names, &n);
		kb_progress_done(&c->prog, "schedulers built");
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	free(bindir);
	/*
	 * A tree the user keeps gets compile_commands.json for clangd and
	 * friends (the kernel's own generator over the .cmd files). Not for
	 * extracted or cloned trees, which are removed after the build.
	 */
	if (c->src == KT_SRC_LOCAL && !c->tmp) {
		char *cc[] = {"make", "compile_commands.json", NULL};

		r = kb_run_stage(&c->prog, "generating compile_commands.json", c->tree, c->log, cc,
			      err);
		if (r == -EINTR)
			return r;
		if (r) {
			kt_warn("%s; continuing without it", *err);
			free(*err);
			*err = NULL;
		} else {
			kb_progress_done(&c->prog, "compile_commands.json generated");
		}
	}
	return 0;
}

static int open_log(struct build_ctx *c, const char *name)
{
	char *dir = kt_path_join(c->root, ".logs");
	int fd;

	kt_mkdir_p(dir, 0755);
	free(c->log);
	c->log = kt_asprintf("%s/%s.log", dir, name);
	free(dir);
	fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int key_lock(struct build_ctx *c, int *fd)
{
	char *name = kt_asprintf("build-%s", c->key);

	*fd = kt_cache_lock(c->root, name, true, 0);
	if (*fd == -EWOULDBLOCK) {
		kt_info("waiting for another build of %s to finish", c->key);
		*fd = kt_cache_lock(c->root, name, true, -1);
	}
	free(name);
	return *fd < 0 ? *fd : 0;
}

static int force_check(struct build_ctx *c, char **err)
{
	int fd;
	char *entry = kt_path_join(c->root, c->key);
	bool exists = kt_exists(entry);

	free(entry);
	if (!c->o->force || !exists)
		return 0;
	fd = kt_cache_lock(c->root, c->key, true, 0);
	if (fd < 0) {
		kb_entry_locked_err(c, err);
		return -EBUSY;
	}
	close(fd);
	return 0;
}

static int build_fresh_tree(struct build_ctx *c, char **dir, char **err)
{
	int r;

	if (c->o->clean)
		kt_info("--clean: a %s build always starts from a fresh tree",
			kt_src_type_name(c->src));
	if ((r = kb_configure(c, true, err)) || (r = compile(c, err)) || (r = kb_store(c, err)))
		return r;
	*dir = kt_path_join(c->root, c->key);
	return 0;
}

/*
 * Once the key is known for a freshly extracted or cloned tree: take the
 * build lock, return 1 on a cache hit, otherwise check --force against test
 * locks and build + store.
 */
static int build_keyed_tree(struct build_ctx *c, char **dir, char **err)
{
	int r, lk;

	if ((r = key_lock(c, &lk)))
		return r;
	if (kb_cache_hit(c)) {
		*dir = kt_path_join(c->root, c->key);
		r = 1;
	} else if (!(r = force_check(c, err))) {
		r = build_fresh_tree(c, dir, err);
	}
	close(lk);
	return r;
}

static int build_tarball(struct build_ctx *c, const char *tarball, bool downloaded, char **dir,
			 char **err)
{
	char *canon = NULL;
	struct stat st;
	int r;

	if (!downloaded) {
		canon = realpath(tarball, NULL);
		if (!canon || stat(canon, &st) < 0 || !S_ISREG(st.st_mode)) {
			kt_set_err(err, "--source %s: %s", tarball,
				canon ? "not a regular file" : strerror(errno));
			free(canon);
			return -ENOENT;
		}
		free(c->version);
		c->version = kb_index_lookup(c->root, canon, &st);
		if (c->version) {
			c->key = kt_cache_key_tarball(c->version);
			if (kb_cache_hit(c)) {
				*dir = kt_path_join(c->root, c->key);
				free(canon);
				return 1;
			}
		}
	}
	if (!c->key)
		open_log(c, "extract");
	else
		open_log(c, c->key);
	if ((r = kb_make_tmpdir(&c->tmp, err)) || (r = kb_extract(c, canon ? canon : tarball, err)))
		goto out;
	if (downloaded)
		unlink(tarball);
	if (!c->version) {
		if (kt_tree_version(c->tree, &c->version) || !kt_version_valid(c->version)) {
			kt_set_err(err, "cannot read a kernel version from %s/Makefile", c->tree);
			r = -EINVAL;
			goto out;
		}
		kb_index_store(c->root, canon, &st, c->version);
		c->key = kt_cache_key_tarball(c->version);
		open_log(c, c->key);
	}
	kt_info("kernel %s, cache key %s", c->version, c->key);
	r = build_keyed_tree(c, dir, err);
out:
	kb_drop_tmpdir(c);
	free(canon);
	return r;
}

static int build_version(struct build_ctx *c, char **dir, char **err)
{
	char *tarball = NULL;
	int r;

	if (kt_version_is_prefix(c->o->version)) {
		char *json = NULL;

		if ((r = kt_releases_fetch(&json, err)) ||
		    (r = kt_releases_resolve_prefix(json, c->o->version, &c->version, err))) {
			free(json);
			return r;
		}
		free(json);
		kt_info("%s resolves to %s", c->o->version, c->version);
	} else if (kt_version_valid(c->o->version)) {
		c->version = kt_strdup(c->o->version);
	} else {
		kt_set_err(err, "invalid kernel version \"%s\" (expected MAJ.MIN[.PATCH][-rcN])",
			c->o->version);
		return -EINVAL;
	}
	c->key = kt_cache_key_tarball(c->version);
	if (kb_cache_hit(c)) {
		*dir = kt_path_join(c->root, c->key);
		return 1;
	}
	open_log(c, c->key);
	if ((r = kb_make_tmpdir(&c->tmp, err)))
		return r;
	kb_progress_stage(&c->prog, "downloading kernel");
	r = kt_kernel_download(c->version, c->tmp, &tarball, err);
	if (r) {
		kb_progress_abort(&c->prog);
		kb_drop_tmpdir(c);
		return r;
	}
	kb_progress_done(&c->prog, "downloaded");
	/* build_tarball makes its own temp dir: keep the download in ours. */
	{
		char *keep = c->tmp;

		c->tmp = NULL;
		r = build_tarball(c, tarball, true, dir, err);
		kt_rm_rf(keep);
		kt_cleanup_del_path(keep);
		free(keep);
	}
	free(tarball);
	return r;
}

static int build_git(struct build_ctx *c, char **dir, char **err)
{
	char *argv_init[] = {"git", "init", "-q", NULL, NULL};
	char *argv_fetch[] = {
	    "git", "fetch", "-q", "--depth", "1", (char *)c->o->git_url, (char *)c->o->git_ref,
	    NULL};
	char *argv_co[] = {"git", "checkout", "-q", "FETCH_HEAD", NULL};
	char *head;
	int r;

	if ((r = kb_make_tmpdir(&c->tmp, err)))
		return r;
	open_log(c, "git-clone");
	c->tree = kt_path_join(c->tmp, "linux");
	argv_init[3] = c->tree;
	if ((r = kb_run_stage(&c->prog, "git init", c->tmp, c->log, argv_init, err)) ||
	    (r = kb_run_stage(&c->prog, "cloning (shallow)", c->tree, c->log, argv_fetch, err)) ||
	    (r = kb_run_stage(&c->prog, "git checkout", c->tree, c->log, argv_co, err)))
		goto out;
	head = kb_git_out(c->tree, "rev-parse", "HEAD", NULL);
	if (!head || strlen(head) < 7) {
		kt_set_err(err, "cannot read HEAD of the clone of %s", c->o->git_url);
		free(head);
		r = -EIO;
		goto out;
	}
	kb_progress_done(&c->prog, "cloned");
	c->git_hash = kb_strndup7(head);
	free(head);
	c->git_ref = kt_strdup(c->o->git_ref);
	c->key = kt_cache_key_git(c->o->git_ref, c->git_hash);
	if ((r = kt_cache_key_validate(c->key, err)))
		goto out;
	open_log(c, c->key);
	r = build_keyed_tree(c, dir, err);
out:
	kb_drop_tmpdir(c);
	return r;
}

static int build_local(struct build_ctx *c, char **dir, char **err)
{
	char *mk, *kc, *top = NULL, *cfgp = NULL, *cfg = NULL, *status = NULL;
	char *argv_st[] = {"git",
			   "-C",
			   NULL,
			   "status",
			   "--porcelain",
			   "--untracked-files=no",
			   "--ignore-submodules",
			   NULL};
	char *argv_mrp[] = {"make", "mrproper", NULL};
	bool git = false;
	int r = 0, lk = -1, srclk = -1;

	c->canon = realpath(c->o->path, NULL);
	if (!c->canon || !kt_is_dir(c->canon)) {
		kt_set_err(err, "--source %s: %s", c->o->path,
			c->canon ? "not a directory" : strerror(errno));
		return -ENOENT;
	}
	mk = kt_path_join(c->canon, "Makefile");
	kc = kt_path_join(c->canon, "Kconfig");
	if (!kt_exists(mk) || !kt_exists(kc)) {
		kt_set_err(err, "--source %s: not a kernel source tree (no Makefile and Kconfig)",
			c->o->path);
		free(mk);
		free(kc);
		return -EINVAL;
	}
	free(mk);
	free(kc);
	c->tree = kt_strdup(c->canon);
	kt_tree_version(c->tree, &c->version);
	top = kb_git_out(c->tree, "rev-parse", "--show-toplevel", NULL);
	if (top) {
		char *tc = realpath(top, NULL);

		git = tc && !strcmp(tc, c->canon);
		free(tc);
	}
	if (git) {
		char *head = kb_git_out(c->tree, "rev-parse", "HEAD", NULL);

		argv_st[2] = c->tree;
		if (!head || strlen(head) < 7 || kt_run_capture(argv_st, NULL, &status)) {
			git = false;
		} else {
			c->git_hash = kb_strndup7(head);
			c->dirty = *status != 0;
		}
		free(head);
	}
	cfgp = kt_path_join(c->tree, ".config");
	if (git && !c->dirty) {
		bool has_cfg = !c->o->clean && kt_read_file(cfgp, &cfg, NULL, 0) == 0;

		c->key = kt_cache_key_local(c->git_hash, has_cfg,
					    has_cfg ? kt_crc32(cfg, strlen(cfg)) : 0);
		if (has_cfg && !c->o->force) {
			/*
			 * The .config our own earlier build left behind is the one
			 * stored with the plain key: that entry is a hit too.
			 */
			char *plain = kt_cache_key_local(c->git_hash, false, 0), ch[16];
			struct kt_cache_entry e;

			snprintf(ch, sizeof(ch), "%08x", kt_crc32(cfg, strlen(cfg)));
			kt_cache_entry_load(c->root, plain, &e);
			if (!e.corrupt && e.meta.config_hash && !strcmp(e.meta.config_hash, ch)) {
				free(c->key);
				c->key = plain;
				plain = NULL;
			}
			kt_cache_entry_free(&e);
			free(plain);
		}
		if (kb_cache_hit(c)) {
			*dir = kt_path_join(c->root, c->key);
			r = 1;
			goto out;
		}
	}
	c->src = KT_SRC_LOCAL;
	{
		char *name = kt_asprintf("source-%08x", kt_crc32(c->canon, strlen(c->canon)));

		srclk = kt_cache_lock(c->root, name, true, 0);
		free(name);
		if (srclk < 0) {
			kt_set_err(err, "source tree %s is being built by another ktstr process",
				c->canon);
			r = -EBUSY;
			goto out;
		}
	}
	if (c->key) {
		if ((r = key_lock(c, &lk)))
			goto out;
		if ((r = force_check(c, err)))
			goto out;
		open_log(c, c->key);
	} else {
		char *ln = kt_asprintf("local-%08x", kt_crc32(c->canon, strlen(c->canon)));

		open_log(c, ln);
		free(ln);
	}
	if (c->o->clean &&
	    (r = kb_run_stage(&c->prog, "make mrproper", c->tree, c->log, argv_mrp, err)))
		goto out;
	if ((r = kb_configure(c, false, err)) || (r = compile(c, err)))
		goto out;
	if (!c->key) {
		char *img = kt_path_join(c->tree, kt_kernel_image_tree_path());

		kt_info("kernel built at %s", img);
		if (git)
			kt_info("skipping cache — working tree has uncommitted changes; commit or "
				"stash to enable caching");
		else
			kt_info("skipping cache — %s is not a git repository, so its contents "
				"cannot be identified",
				c->canon);
		free(img);
		*dir = kt_strdup(c->tree);
		r = 0;
		goto out;
	}
	/* re-check: the tree must still be the commit we keyed on */
	{
		char *head = kb_git_out(c->tree, "rev-parse", "HEAD", NULL);
		char *st2 = NULL;
		bool same = head && !strncmp(head, c->git_hash, 7) &&
			    kt_run_capture(argv_st, NULL, &st2) == 0 && !*st2;

		free(head);
		free(st2);
		if (!same) {
			kt_info("source tree changed during build; skipping cache store");
			*dir = kt_strdup(c->tree);
			free(c->key);
			c->key = NULL;
			r = 0;
			goto out;
		}
	}
	if ((r = kb_store(c, err)))
		goto out;
	*dir = kt_path_join(c->root, c->key);
out:
	if (lk >= 0)
		close(lk);
	if (srclk >= 0)
		close(srclk);
	free(top);
	free(cfgp);
	free(cfg);
	free(status);
	return r;
}

int kt_kernel_build(const struct kt_build_opts *o, char **dir, char **key, char **err)
{
	struct build_ctx c = {.o = o};
	int r;

	*dir = NULL;
	if (key)
		*key = NULL;
	if ((r = kt_cache_root(&c.root, err)))
		return r;
	if ((r = kt_cpu_cap_resolve(o->cpu_cap, 0, &c.jobs, err)))
		goto out;
	c.prog.tty = kt_isatty_stderr();
	c.prog.t0 = kt_now_ns();
	if ((r = kt_mkdir_p(c.root, 0755))) {
		kt_set_err(err, "cannot create the kernel cache %s: %s", c.root, strerror(-r));
		goto out;
	}
	switch (o->src) {
	case KT_BUILD_LOCAL:
		r = build_local(&c, dir, err);
		break;
	case KT_BUILD_TARBALL:
		c.src = KT_SRC_TARBALL;
		r = build_tarball(&c, o->path, false, dir, err);
		break;
	case KT_BUILD_VERSION:
		c.src = KT_SRC_TARBALL;
		r = build_version(&c, dir, err);
		break;
	case KT_BUILD_GIT:
		c.src = KT_SRC_GIT;
		r = build_git(&c, dir, err);
		break;
	}
	if (r == 1)
		r = 0; /* cache hit */
	else if (!r) {
		char d[32];

		kb_fmt_dur(kt_now_ns() - c.prog.t0, d, sizeof(d));
		kt_info("done in %s", d);
	}
	if (!r && key && c.key && !kt_startswith(*dir, c.tree ? c.tree : "\x01"))
		*key = kt_strdup(c.key);
out:
	kb_drop_tmpdir(&c);
	free(c.root);
	free(c.key);
	free(c.tree);
	free(c.log);
	free(c.version);
	free(c.git_hash);
	free(c.git_ref);
	free(c.canon);
	return r;
}
