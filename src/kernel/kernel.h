/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernels: id parsing, the kernel cache, `ktstr kernel build` and the
 * resolution chain every command uses to find the kernel it boots.
 */
#ifndef KTSTR_KERNEL_H
#define KTSTR_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <libelf.h>
#include <stdint.h>
#include <time.h>

/* ---- guest kernel facts the host needs (ksym.c) -------------------------- */

/*
 * Open path as an ELF file for reading: *fd and *e for the caller to
 * elf_end() and close(). Returns 0, or -errno with *err naming the path
 * (cannot open, not an ELF file); nothing is left open on error.
 */
int kt_elf_open(const char *path, int *fd, Elf **e, char **err);

/* CONFIG_HZ=N from config text: N, -ENOENT when absent, -EINVAL when malformed. */
int kt_config_hz(const char *config_text);
/*
 * CONFIG_HZ of a kernel: the IKCONFIG embedded in vmlinux, else dir/config
 * (a cache entry) or dir/.config (a tree). Returns HZ or -ENOENT; *source
 * (optional, malloc'd) says where it came from.
 */
int kt_kernel_hz(const char *vmlinux, const char *dir, char **source);
/* 1 when config text has NAME=y (or =m), else 0 ("is not set" or absent). */
int kt_config_enabled(const char *config_text, const char *name);
/*
 * CONFIG_JUMP_LABEL of a kernel, from the same sources as kt_kernel_hz:
 * 1 on, 0 off, -ENOENT when no configuration was found.
 */
int kt_kernel_jump_label(const char *vmlinux, const char *dir, char **source);
/* The same for CONFIG_RANDOMIZE_BASE (KASLR): 1 on, 0 off, -ENOENT unknown. */
int kt_kernel_randomize_base(const char *vmlinux, const char *dir, char **source);

/* ---- resolution (the API other modules use) ------------------------------ */

struct kt_kernel {
	char *image;	 /* bootable image (bzImage) */
	char *vmlinux;	 /* ELF with symbols + BTF, NULL if none */
	char *dir;	 /* cache entry dir, source tree or image dir */
	char *key;	 /* cache key, NULL when not from the cache */
	char *version;	 /* e.g. "6.12.57", NULL when unknown */
	char *label;	 /* sanitized, e.g. "kernel_6_12_57" */
	char *sched_dir; /* dir holding scx_* binaries, NULL if none */
	/*
	 * Multi-kernel runs: the KTSTR_KERNEL_LIST label a test name chose
	 * this kernel by; it names the sidecars' run dir. NULL otherwise.
	 */
	char *run_label;
};

/*
 * Resolve a kernel id (reference §3.1: path, image file, version, cache
 * key, git+URL#REF) or, with id == NULL, the implicit chain:
 * KTSTR_TEST_KERNEL, KTSTR_KERNEL, the newest valid cache entry, ./linux,
 * ../linux, /lib/modules/$(uname -r)/build, /boot/vmlinuz-*.
 * An explicit version or git id that is not cached is downloaded/cloned,
 * built and stored. Returns 0, or a negative errno with *err set to a
 * one-line message (free it).
 */
int kt_kernel_resolve(const char *id, struct kt_kernel *out, char **err);
void kt_kernel_free(struct kt_kernel *k);

/*
 * Resolve several ids (ranges A..B expand to several kernels) on
 * KTSTR_KERNEL_PARALLELISM threads (default: CPU count). Duplicates are
 * dropped; colliding labels are an error; the first error aborts.
 * *out is a malloc'ed array of *nout kernels (kt_kernel_free each, then free).
 */
int kt_kernel_resolve_many(const char *const *ids, size_t n, struct kt_kernel **out, size_t *nout,
			   char **err);
/* Width of the resolve_many pool: KTSTR_KERNEL_PARALLELISM or the CPU count. */
unsigned kt_kernel_parallelism(void);

/*
 * Shared lock on a cache entry while it is in use (boot); blocks up to
 * 10 s. Returns an fd to close() when done, -1 when k is not a cache
 * entry (nothing to lock), or a negative errno (< -1) with *err set.
 */
int kt_kernel_lock_shared(const struct kt_kernel *k, char **err);

/* ---- KTSTR_KERNEL_LIST ----------------------------------------------------- */

struct kt_kernel_list_item {
	char *label;
	char *path;
};

/* Parse "label=path;label=path". Empty string: zero items. */
int kt_kernel_list_parse(const char *s, struct kt_kernel_list_item **out, size_t *n, char **err);
void kt_kernel_list_free(struct kt_kernel_list_item *items, size_t n);
/* Format the wire form; rejects ';' or '=' in a label and ';' in a path. */
int kt_kernel_list_format(const struct kt_kernel_list_item *items, size_t n, char **out,
			  char **err);

/* ---- kernel ids ------------------------------------------------------------ */

enum kt_kid_type { KT_KID_GIT, KT_KID_RANGE, KT_KID_PATH, KT_KID_VERSION, KT_KID_CACHEKEY };

struct kt_kid {
	enum kt_kid_type type;
	char *a; /* git: URL, range: start, path, version, cache key */
	char *b; /* git: ref, range: end */
};

int kt_kid_parse(const char *s, struct kt_kid *out, char **err);
void kt_kid_free(struct kt_kid *k);
const char *kt_kid_type_name(enum kt_kid_type t);

struct kt_version {
	unsigned maj, min;
	unsigned long patch; /* 0 when absent */
	bool has_patch;
	unsigned long rc; /* 0 when absent */
	bool has_rc;
};

/* MAJ.MIN[.PATCH][-rcN], digits only. */
int kt_version_parse(const char *s, struct kt_version *v);
bool kt_version_valid(const char *s);
/* A prefix (no patch, no rc) needs releases.json to resolve. */
bool kt_version_is_prefix(const char *s);
int kt_version_cmp(const struct kt_version *a, const struct kt_version *b);

/* "kernel_" + lowercase, runs of non-[a-z0-9] become '_', trailing '_' dropped. */
char *kt_kernel_label_sanitize(const char *raw);
/* A KTSTR_KERNEL_LIST label as test names carry it: sanitized unless it starts with "kernel_". */
char *kt_kernel_list_label(const char *raw);
/* Raw (unsanitized) label of a cache key: the part before -tarball-/-git-. */
char *kt_cache_key_label(const char *key);

/* ---- kconfig fragment and cache keys ---------------------------------------- */

const char *kt_kconfig_fragment(size_t *len);
/* CRC32 of a fragment without its "##" note lines (they never change a key). */
uint32_t kt_kconfig_crc_of(const char *text, size_t len);
/* kc of the cache keys: kt_kconfig_crc_of the embedded fragment. */
uint32_t kt_kconfig_crc(void);
/* Does this fragment line set a machine-shape option (build_config.c: lean_only)? */
bool kt_kconfig_line_lean_only(const char *line);
/* The fragment's option lines; full == false leaves out the lean-only ones. */
char *kt_kconfig_fragment_lines(bool full);
/* "x86_64" / "aarch64" */
const char *kt_kernel_arch(void);
/* "bzImage" / "Image" and the in-tree path of it. */
const char *kt_kernel_image_name(void);
const char *kt_kernel_image_tree_path(void);

char *kt_cache_key_tarball(const char *version);
char *kt_cache_key_git(const char *ref, const char *hash7);
/* cfg_crc_valid: a .config existed before the build. */
char *kt_cache_key_local(const char *hash7, bool cfg_crc_valid, uint32_t cfg_crc);
char *kt_cache_key_local_unknown(const char *canonical_path);
/* 0 or -EINVAL with *err: empty, '/', '\\', "..", NUL, ".tmp-" prefix. */
int kt_cache_key_validate(const char *key, char **err);

/* ---- the cache ------------------------------------------------------------------ */

/* KTSTR_CACHE_DIR, else $XDG_CACHE_HOME/ktstr/kernels, else $HOME/.cache/ktstr/kernels. */
int kt_cache_root(char **out, char **err);

enum kt_src_type { KT_SRC_TARBALL, KT_SRC_GIT, KT_SRC_LOCAL };

struct kt_cache_meta {
	enum kt_src_type src;
	char *git_hash;		/* git, local */
	char *git_ref;		/* git */
	char *source_tree_path; /* local */
	char *arch;
	char *image_name;
	char *built_at;
	bool has_vmlinux;
	bool vmlinux_stripped;
	char *version;		  /* NULL: null */
	char *config_hash;	  /* NULL: null */
	char *ktstr_kconfig_hash; /* NULL: null */
	bool has_src_vmlinux;	  /* source_vmlinux_size/mtime present */
	uint64_t source_vmlinux_size;
	int64_t source_vmlinux_mtime_secs;
	char **schedulers;
	size_t n_schedulers;
};

/* Parse metadata.json text. On error *kind is one of the error_kind names. */
int kt_meta_parse(const char *text, struct kt_cache_meta *m, const char **kind, char **err);
char *kt_meta_dump(const struct kt_cache_meta *m); /* pretty JSON, malloc'ed */
void kt_meta_free(struct kt_cache_meta *m);
const char *kt_src_type_name(enum kt_src_type t);

struct kt_cache_entry {
	char *key;
	char *path;
	bool corrupt;
	char *error;		/* corrupt: reason */
	const char *error_kind; /* missing|unreadable|schema_drift|malformed|truncated|
				   parse_error|image_missing|unknown */
	struct kt_cache_meta meta;
	char *image_path;
	time_t built;
};

/* Load one entry dir (key = basename); corrupt entries are returned too. */
void kt_cache_entry_load(const char *root, const char *key, struct kt_cache_entry *e);
/* All entries, valid ones sorted newest first, corrupt ones last. */
int kt_cache_list(const char *root, struct kt_cache_entry **out, size_t *n);
void kt_cache_entries_free(struct kt_cache_entry *e, size_t n);
void kt_cache_entry_free(struct kt_cache_entry *e);
/* "matches", "stale" or "untracked" relative to the embedded fragment. */
const char *kt_cache_kconfig_status(const struct kt_cache_entry *e);

/*
 * flock helpers on {root}/.locks/{name}.lock. timeout_ms < 0: block,
 * 0: non-blocking. Return an fd, or -EWOULDBLOCK/-errno.
 */
int kt_cache_lock(const char *root, const char *name, bool exclusive, int timeout_ms);
/* "pid=P cmd=C" of the holders of a lock file (from /proc/locks), malloc'ed. */
char *kt_lock_holders(const char *lockfile);

/* ---- building ------------------------------------------------------------------ */

enum kt_build_src { KT_BUILD_LOCAL, KT_BUILD_TARBALL, KT_BUILD_VERSION, KT_BUILD_GIT };

struct kt_build_opts {
	enum kt_build_src src;
	const char *path;    /* local tree or tarball */
	const char *version; /* KT_BUILD_VERSION (a prefix resolves via releases.json) */
	const char *git_url;
	const char *git_ref;
	bool force;
	bool clean;
	const char *cpu_cap; /* --cpu-cap value, NULL when not given */
	bool quiet_hit;	     /* resolution: no "use --force" hint */
};

/*
 * Build (or find in the cache) a kernel. On success *dir is the cache
 * entry dir (or the source tree for uncacheable local builds) and *key
 * the cache key (NULL when not stored).
 */
int kt_kernel_build(const struct kt_build_opts *o, char **dir, char **key, char **err);

/*
 * make -j width: cap_flag (--cpu-cap), else KTSTR_CPU_CAP, else all
 * CPUs in sched_getaffinity. allowed = that CPU count (0: query).
 */
int kt_cpu_cap_resolve(const char *cap_flag, unsigned allowed, unsigned *jobs, char **err);
unsigned kt_allowed_cpus(void);

/*
 * make variables selecting the BPF compiler for tools/sched_ext: the newest
 * clang-NN (20..15) on PATH, else clang ("CLANG=clang-16", "LLVM_STRIP=...").
 */
void kt_sched_ext_clang(char *clang, size_t clen, char *strip, size_t slen);

/* ---- downloads (kernel.org or KTSTR_KERNEL_MIRROR) ------------------------------ */

/* Base URL for tarballs and releases.json. */
const char *kt_kernel_mirror(void);
/* Fetch releases.json (once per process). */
int kt_releases_fetch(char **json, char **err);
/* Highest stable/longterm release matching a prefix ("6.12" or "6"). */
int kt_releases_resolve_prefix(const char *json, const char *prefix, char **version, char **err);
/*
 * End of life: true when version's series (MAJOR.MINOR) has no row of any
 * kind (stable, longterm, mainline) in releases.json. False for versions
 * that do not parse.
 */
bool kt_releases_is_eol(const char *json, const char *version);
/* Stable/longterm versions in [a, b], ascending. */
int kt_releases_range(const char *json, const char *a, const char *b, char ***versions, size_t *n,
		      char **err);
/* Download linux-{version}.tar.xz into dir; *path is the file. */
int kt_kernel_download(const char *version, const char *dir, char **path, char **err);

/* Version of a source tree from its Makefile (VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION]). */
int kt_tree_version(const char *tree, char **version);

#endif
