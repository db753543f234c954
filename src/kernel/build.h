/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside `ktstr kernel build` (kernel/build*.c): the build context and
 * the pieces the pipeline (build.c) shares with
 *   build_progress.c  the progress line and running a build stage,
 *   build_config.c    the kconfig fragment and `configure`,
 *   build_source.c    source trees: version, git, temp dirs, tarballs,
 *   build_store.c     cache hits and storing a built kernel.
 */
#ifndef KTSTR_KERNEL_BUILD_H
#define KTSTR_KERNEL_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "kernel.h"

struct progress {
	const char *stage;
	uint64_t t0, stage_t0, last;
	unsigned objs;
	char last_cc[200];
	bool tty;
	bool line_dirty;
};

struct build_ctx {
	const struct kt_build_opts *o;
	char *root;
	char *key;  /* NULL: not cacheable */
	char *tree; /* source tree being built */
	char *tmp;  /* temporary dir (tarball/git) or NULL */
	char *log;
	char *version;
	unsigned jobs;
	enum kt_src_type src;
	char *git_hash;
	char *git_ref;
	char *canon; /* local: canonical path */
	bool dirty;
	struct progress prog;
};

/* build_progress.c */
void kb_fmt_dur(uint64_t ns, char *buf, size_t len);
void kb_progress_stage(struct progress *p, const char *stage);
void kb_progress_done(struct progress *p, const char *msg);
void kb_progress_abort(struct progress *p);
/* Run a command in dir with progress; on failure print the log tail. */
int kb_run_stage(struct progress *p, const char *stage, const char *dir, const char *log,
		 char *const argv[], char **err);

/* build_config.c: allnoconfig + fragment (fresh), or merge into the tree's .config. */
int kb_configure(struct build_ctx *c, bool fresh, char **err);

/* build_source.c */
/* The first 7 characters of a hash. */
char *kb_strndup7(const char *s);
char *kb_git_out(const char *dir, const char *a1, const char *a2, const char *a3);
int kb_make_tmpdir(char **out, char **err);
void kb_drop_tmpdir(struct build_ctx *c);
/* Extract a tarball into c->tmp and set c->tree to its single top directory. */
int kb_extract(struct build_ctx *c, const char *tarball, char **err);
/* A tarball's version remembered by (path, size, mtime): a cache hit needs no extraction. */
char *kb_index_lookup(const char *root, const char *canon, const struct stat *st);
void kb_index_store(const char *root, const char *canon, const struct stat *st, const char *ver);

/* build_store.c */
/* The entry is held by test runs: say by whom. */
void kb_entry_locked_err(const struct build_ctx *c, char **err);
bool kb_cache_hit(struct build_ctx *c);
int kb_list_schedulers(const char *bindir, char ***names, size_t *n);
/* Copy the built kernel into the cache and publish it atomically. */
int kb_store(struct build_ctx *c, char **err);

#endif
