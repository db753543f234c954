// SPDX-License-Identifier: GPL-2.0
/* `ktstr kernel build|list|clean`: the kernel cache from the command line. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kernel/kernel.h"
#include "util/opt.h"
#include "util/util.h"

static void usage_kernel(FILE *f)
{
	fprintf(f, "Usage: ktstr kernel <build|list|clean> [options]\n\n"
		   "  build   build a kernel with the ktstr config and cache it\n"
		   "  list    list cached kernels\n"
		   "  clean   remove cached kernels\n"
		   "  resolve show which kernel an id (or the implicit chain) picks\n\n"
		   "Run `ktstr kernel <sub> --help` for options.\n");
}

/* Build each kernel.org release of the range id in turn; the exit status. */
static int build_range(struct kt_build_opts *o, struct kt_kid *id)
{
	char *json = NULL, **vers = NULL, *dir = NULL, *key = NULL, *err = NULL;
	size_t n = 0, failed = 0;
	struct sbuf fl = SBUF_INIT;

	kt_info("expanding kernel range %s..%s", id->a, id->b);
	if (kt_releases_fetch(&json, &err) ||
	    kt_releases_range(json, id->a, id->b, &vers, &n, &err)) {
		kt_err("kernel build: %s", err);
		free(err);
		free(json);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		o->src = KT_BUILD_VERSION;
		o->version = vers[i];
		kt_info("[%zu/%zu] kernel build %s", i + 1, n, vers[i]);
		if (kt_kernel_build(o, &dir, &key, &err)) {
			kt_err("kernel build %s: %s", vers[i], err);
			free(err);
			err = NULL;
			sb_addf(&fl, "%s%s", failed ? "," : "", vers[i]);
			failed++;
		}
		free(dir);
		free(key);
		dir = key = NULL;
		if (kt_interrupted())
			break;
	}
	if (failed)
		kt_err("kernel build range %s..%s: %zu/%zu version(s) failed: %s", id->a, id->b,
		       failed, n, sb_str(&fl));
	for (size_t i = 0; i < n; i++)
		free(vers[i]);
	free(vers);
	free(json);
	sb_free(&fl);
	return failed ? 1 : 0;
}

/* Which source the options name; 0, or the exit status after a usage error. */
static int build_source(struct kt_build_opts *o, const char *source)
{
	int nsrc = !!source + !!o->git_url + !!o->version;

	if (nsrc > 1) {
		kt_err("kernel build: VERSION, --source and --git are mutually exclusive");
		return 2;
	}
	if (o->git_ref && !o->git_url) {
		kt_err("kernel build: --ref needs --git");
		return 2;
	}
	if (o->git_url && !o->git_ref) {
		kt_err("kernel build: --git %s needs --ref REF", o->git_url);
		return 2;
	}
	if (!nsrc) {
		kt_err("kernel build: give a VERSION, --source DIR|TARBALL or --git URL --ref REF");
		return 2;
	}
	if (source) {
		o->path = source;
		o->src = kt_is_dir(source) ? KT_BUILD_LOCAL : KT_BUILD_TARBALL;
		if (!kt_exists(source)) {
			kt_err("kernel build: --source %s: no such file or directory", source);
			return 1;
		}
	} else if (o->git_url) {
		o->src = KT_BUILD_GIT;
	} else {
		o->src = KT_BUILD_VERSION;
	}
	return 0;
}

static int cmd_build(int argc, char **argv)
{
	struct kt_build_opts o = {0};
	const char *source = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("source", 0, "DIR|FILE", "a kernel source tree (built in place; an existing .config\n"
					  "keeps its machine shape, only what ktstr needs is merged\n"
					  "in; compile_commands.json is generated), or a source\n"
					  "tarball (e.g. /usr/src/linux-source-6.12.tar.xz)",
		 kt_opt_str, &source),
		KT_OPT("git", 0, "URL", "shallow-clone URL (needs --ref)", kt_opt_str, &o.git_url),
		KT_OPT("ref", 0, "REF", "branch, tag or commit for --git", kt_opt_str, &o.git_ref),
		KT_OPT("force", 0, NULL, "rebuild even when the cache has the kernel", kt_opt_flag, &o.force),
		KT_OPT("clean", 0, NULL, "`make mrproper` first (local trees)", kt_opt_flag, &o.clean),
		KT_OPT("cpu-cap", 0, "N", "make -jN (default: KTSTR_CPU_CAP, else every allowed CPU)",
		 kt_opt_str, &o.cpu_cap),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"kernel build",
		"[VERSION | --source DIR|TARBALL | --git URL --ref REF]\n"
		"                          [--force] [--clean] [--cpu-cap N]",
		"Configure (allnoconfig + the ktstr fragment: a lean QEMU guest), build bzImage,\n"
		"vmlinux and the tools/sched_ext schedulers, and store them in the cache.\n\n"
		"  VERSION  kernel.org release (6.12.3) or series (6.12: newest)",
		opts,
		"Environment: KTSTR_CACHE_DIR (cache root), KTSTR_KERNEL_MIRROR (download base\n"
		"URL, default https://cdn.kernel.org/pub/linux/kernel), KTSTR_CPU_CAP.",
		1,
	};
	char *dir = NULL, *key = NULL, *err = NULL;
	struct kt_kid id;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (argi < argc)
		o.version = argv[argi];
	rc = build_source(&o, source);
	if (rc)
		return rc;
	if (o.src == KT_BUILD_VERSION) {
		if (kt_kid_parse(o.version, &id, &err) == 0 && id.type == KT_KID_RANGE) {
			/* a range builds each release in turn */
			rc = build_range(&o, &id);
			kt_kid_free(&id);
			return rc;
		}
		free(err);
		err = NULL;
		if (id.a)
			kt_kid_free(&id);
	}
	if (kt_kernel_build(&o, &dir, &key, &err)) {
		kt_err("kernel build: %s", err ? err : "failed");
		free(err);
		return 1;
	}
	free(dir);
	free(key);
	return 0;
}

/* ---- list ---------------------------------------------------------------------- */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int list_range(const char *range, bool json)
{
	struct kt_kid id;
	char *err = NULL, *rel = NULL, **v = NULL;
	size_t n = 0;

	if (kt_kid_parse(range, &id, &err) || id.type != KT_KID_RANGE) {
		kt_err("kernel list: --range %s: expected A..B with two versions (e.g. 6.10..6.12)",
		       range);
		free(err);
		if (!err)
			kt_kid_free(&id);
		return 2;
	}
	if (kt_releases_fetch(&rel, &err) || kt_releases_range(rel, id.a, id.b, &v, &n, &err)) {
		kt_err("kernel list: --range %s: %s", range, err);
		free(err);
		free(rel);
		kt_kid_free(&id);
		return 1;
	}
	if (json) {
		json_t *o = json_object(), *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(v[i]));
		json_object_set_new(o, "range", json_string(range));
		json_object_set_new(o, "start", json_string(id.a));
		json_object_set_new(o, "end", json_string(id.b));
		json_object_set_new(o, "versions", a);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(rel);
	kt_kid_free(&id);
	return 0;
}

/* Tags of the cache entries, counted for the closing notes. */
struct list_tags {
	size_t corrupt, stale, untracked, eol;
	char kc[16];  /* current kconfig hash */
	char *rel;    /* kernel.org releases.json, NULL when not fetched */
	char *rel_err;
};

static bool entry_eol(const struct list_tags *t, const struct kt_cache_entry *e)
{
	return !e->corrupt && t->rel && kt_releases_is_eol(t->rel, e->meta.version);
}

static void count_tags(struct list_tags *t, const struct kt_cache_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *ks = e[i].corrupt ? NULL : kt_cache_kconfig_status(&e[i]);

		t->eol += entry_eol(t, &e[i]);
		if (e[i].corrupt)
			t->corrupt++;
		else if (!strcmp(ks, "stale"))
			t->stale++;
		else if (!strcmp(ks, "untracked"))
			t->untracked++;
	}
}

static json_t *entry_json(const struct list_tags *t, const struct kt_cache_entry *e)
{
	const struct kt_cache_meta *m = &e->meta;
	json_t *x = json_object(), *src, *sch;

	json_object_set_new(x, "key", json_string(e->key));
	json_object_set_new(x, "path", json_string(e->path));
	if (e->corrupt) {
		json_object_set_new(x, "error", json_string(e->error));
		json_object_set_new(x, "error_kind", json_string(e->error_kind));
		return x;
	}
	src = json_object();
	sch = json_array();
	json_object_set_new(src, "type", json_string(kt_src_type_name(m->src)));
	if (m->src != KT_SRC_TARBALL)
		json_object_set_new(src, "git_hash", jstr(m->git_hash));
	if (m->src == KT_SRC_GIT)
		json_object_set_new(src, "ref", jstr(m->git_ref));
	if (m->src == KT_SRC_LOCAL)
		json_object_set_new(src, "source_tree_path", jstr(m->source_tree_path));
	for (size_t k = 0; k < m->n_schedulers; k++)
		json_array_append_new(sch, json_string(m->schedulers[k]));
	json_object_set_new(x, "version", jstr(m->version));
	json_object_set_new(x, "source", src);
	json_object_set_new(x, "arch", json_string(m->arch));
	json_object_set_new(x, "built_at", json_string(m->built_at));
	json_object_set_new(x, "ktstr_kconfig_hash", jstr(m->ktstr_kconfig_hash));
	json_object_set_new(x, "kconfig_status", json_string(kt_cache_kconfig_status(e)));
	json_object_set_new(x, "eol", json_boolean(entry_eol(t, e)));
	json_object_set_new(x, "config_hash", jstr(m->config_hash));
	json_object_set_new(x, "image_name", json_string(m->image_name));
	json_object_set_new(x, "image_path", json_string(e->image_path));
	json_object_set_new(x, "has_vmlinux", json_boolean(m->has_vmlinux));
	json_object_set_new(x, "vmlinux_stripped", json_boolean(m->vmlinux_stripped));
	json_object_set_new(x, "schedulers", sch);
	return x;
}

static void list_json(const struct list_tags *t, const struct kt_cache_entry *e, size_t n)
{
	json_t *o = json_object(), *arr = json_array();

	json_object_set_new(o, "current_ktstr_kconfig_hash", json_string(t->kc));
	json_object_set_new(o, "active_prefixes_fetch_error",
			    t->rel_err ? json_string(t->rel_err) : json_null());
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, entry_json(t, &e[i]));
	json_object_set_new(o, "entries", arr);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

static void list_text(const struct list_tags *t, const struct kt_cache_entry *e, size_t n)
{
	if (!n) {
		printf("no cached kernels. Run `kernel build` to download and build a kernel.\n");
		return;
	}
	printf("  %-48s %-12s %-8s %-7s BUILT\n", "KEY", "VERSION", "SOURCE", "ARCH");
	for (size_t i = 0; i < n; i++) {
		const struct kt_cache_meta *m = &e[i].meta;
		const char *ks;

		if (e[i].corrupt) {
			printf("  %-48s (corrupt: %s)\n", e[i].key, e[i].error);
			continue;
		}
		ks = kt_cache_kconfig_status(&e[i]);
		printf("  %-48s %-12s %-8s %-7s %s%s%s\n", e[i].key, m->version ? m->version : "-",
		       kt_src_type_name(m->src), m->arch, m->built_at,
		       !strcmp(ks, "stale")	  ? " (stale kconfig)"
		       : !strcmp(ks, "untracked") ? " (untracked kconfig)"
						  : "",
		       entry_eol(t, &e[i]) ? " (EOL)" : "");
	}
}

/* The closing notes on stderr: EOL, untracked, stale and corrupt entries. */
static void list_notes(const struct list_tags *t, size_t n)
{
	if (t->eol)
		kt_info("EOL: %zu entr%s of a kernel series kernel.org no longer lists", t->eol,
			t->eol == 1 ? "y" : "ies");
	else if (t->rel_err && n)
		kt_debug("kernel", "EOL tags off: %s", t->rel_err);
	if (t->untracked)
		kt_info("untracked kconfig: %zu entr%s without a recorded kconfig hash", t->untracked,
			t->untracked == 1 ? "y" : "ies");
	if (t->stale)
		kt_info("stale kconfig: %zu entr%s built with a different ktstr.kconfig "
			"(current %s); they are not used implicitly. Rebuild with `ktstr kernel "
			"build`.",
			t->stale, t->stale == 1 ? "y" : "ies", t->kc);
	if (t->corrupt)
		kt_info("%zu corrupt entr%s. Run `ktstr kernel clean --corrupt-only` to remove.",
			t->corrupt, t->corrupt == 1 ? "y" : "ies");
}

static int cmd_list(int argc, char **argv)
{
	const char *range = NULL;
	bool json = false;
	const struct kt_opt opts[] = {
		KT_OPT("json", 0, NULL, "print JSON", kt_opt_flag, &json),
		KT_OPT("range", 0, "A..B", "only preview the kernel.org releases a range expands to\n"
				     "(needs the network; the cache is not touched)",
		 kt_opt_str, &range),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"kernel list", "[--json] [--range A..B]",
		"List cached kernels (newest first). Corrupt entries show their reason;\n"
		"entries built with another kconfig fragment are tagged (stale kconfig),\n"
		"entries of a series kernel.org no longer lists (EOL; needs the network,\n"
		"KTSTR_KERNEL_MIRROR replaces kernel.org).",
		opts, NULL, 0,
	};
	struct list_tags t = {0};
	struct kt_cache_entry *e;
	size_t n;
	char *root, *err = NULL;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (range)
		return list_range(range, json);
	if (kt_cache_root(&root, &err)) {
		kt_err("kernel list: %s", err);
		free(err);
		return 1;
	}
	if (kt_cache_list(root, &e, &n)) {
		kt_err("kernel list: cannot read %s: %s", root, strerror(errno));
		free(root);
		return 1;
	}
	snprintf(t.kc, sizeof(t.kc), "%08x", kt_kconfig_crc());
	kt_info("cache: %s", root);
	/* EOL tags need kernel.org's releases.json; without it they are off. */
	for (size_t i = 0; i < n && !t.rel && !t.rel_err; i++)
		if (!e[i].corrupt && e[i].meta.version && kt_releases_fetch(&t.rel, &t.rel_err) &&
		    !t.rel_err)
			t.rel_err = kt_strdup("unknown error");
	if (json)
		list_json(&t, e, n);
	else
		list_text(&t, e, n);
	count_tags(&t, e, n);
	list_notes(&t, n);
	kt_cache_entries_free(e, n);
	free(root);
	free(t.rel);
	free(t.rel_err);
	return 0;
}

/* ---- clean --------------------------------------------------------------------- */

/* Ask on the terminal before removing; true to go ahead, *rc set when not. */
static bool confirm_clean(const struct kt_cache_entry *e, size_t n, const bool *rm, size_t nrm,
			  int *rc)
{
	char line[64];

	if (!isatty(0)) {
		kt_err("confirmation requires a terminal. Use --force to skip.");
		*rc = 1;
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (rm[i])
			fprintf(stderr, "  %s%s\n", e[i].key, e[i].corrupt ? " (corrupt)" : "");
	fprintf(stderr, "remove %zu entr%s? [y/N] ", nrm, nrm == 1 ? "y" : "ies");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y') ||
	    (line[1] != '\n' && line[1] != 0)) {
		printf("aborted\n");
		return false;
	}
	return true;
}

/* Remove the marked entries that no test run holds locked; the exit status. */
static int remove_entries(const char *root, const struct kt_cache_entry *e, size_t n,
			  const bool *rm)
{
	size_t removed = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		int fd;

		if (!rm[i])
			continue;
		fd = kt_cache_lock(root, e[i].key, true, 0);
		if (fd < 0) {
			kt_warn("skipping %s: in use by a running test (locked)", e[i].key);
			rc = 1;
			continue;
		}
		if (kt_rm_rf(e[i].path)) {
			kt_warn("cannot remove %s: %s", e[i].path, strerror(errno));
			rc = 1;
		} else {
			removed++;
		}
		close(fd);
	}
	printf("removed %zu cached kernel(s).\n", removed);
	return rc;
}

struct keep {
	uint64_t n;
	bool set;
};

static int set_keep(const struct kt_opt *o, const char *arg)
{
	struct keep *k = o->dst;

	if (kt_parse_u64(arg, &k->n)) {
		kt_err("kernel clean: --keep must be a number (got \"%s\")", arg);
		return -1;
	}
	k->set = true;
	return 0;
}

static int cmd_clean(int argc, char **argv)
{
	struct keep keep = {0};
	bool corrupt_only = false, force = false, *rm;
	const struct kt_opt opts[] = {
		KT_OPT("keep", 0, "N", "keep the N newest valid entries", set_keep, &keep),
		KT_OPT("corrupt-only", 0, NULL, "remove only corrupt entries", kt_opt_flag, &corrupt_only),
		KT_OPT("force", 0, NULL, "do not ask for confirmation", kt_opt_flag, &force),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"kernel clean", "[--keep N | --corrupt-only] [--force]",
		"Remove cached kernels. Corrupt entries are always removed.", opts, NULL, 0,
	};
	struct kt_cache_entry *e;
	size_t n, nrm = 0, valid_seen = 0;
	char *root, *err = NULL;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (keep.set && corrupt_only) {
		kt_err("kernel clean: --keep and --corrupt-only are mutually exclusive");
		return 2;
	}
	if (kt_cache_root(&root, &err)) {
		kt_err("kernel clean: %s", err);
		free(err);
		return 1;
	}
	if (kt_cache_list(root, &e, &n)) {
		kt_err("kernel clean: cannot read %s: %s", root, strerror(errno));
		free(root);
		return 1;
	}
	rm = kt_calloc(n + 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		if (e[i].corrupt)
			rm[i] = true;
		else if (corrupt_only)
			rm[i] = false;
		else if (keep.set)
			rm[i] = valid_seen++ >= keep.n; /* valid entries are sorted newest first */
		else
			rm[i] = true;
		nrm += rm[i];
	}
	rc = 0;
	if (!nrm)
		printf("nothing to clean\n");
	else if (force || confirm_clean(e, n, rm, nrm, &rc))
		rc = remove_entries(root, e, n, rm);
	free(rm);
	kt_cache_entries_free(e, n);
	free(root);
	return rc;
}

/* ---- resolve -------------------------------------------------------------------- */

static int cmd_resolve(int argc, char **argv)
{
	bool json = false;
	const struct kt_opt opts[] = {
		KT_OPT("json", 0, NULL, "print JSON", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"kernel resolve", "[ID] [--json]",
		"Show which kernel an id (path, image file, version, cache key,\n"
		"git+URL#REF) resolves to; without ID, the implicit chain:\n"
		"KTSTR_TEST_KERNEL, KTSTR_KERNEL, the newest valid cache entry,\n"
		"./linux, ../linux, /lib/modules/$(uname -r)/build, /boot/vmlinuz-*.",
		opts, NULL, 1,
	};
	struct kt_kernel k;
	char *err = NULL;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (kt_kernel_resolve(argi < argc ? argv[argi] : NULL, &k, &err)) {
		kt_err("%s", err ? err : "cannot resolve the kernel");
		free(err);
		return 1;
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "label", jstr(k.label));
		json_object_set_new(o, "image", jstr(k.image));
		json_object_set_new(o, "vmlinux", jstr(k.vmlinux));
		json_object_set_new(o, "dir", jstr(k.dir));
		json_object_set_new(o, "key", jstr(k.key));
		json_object_set_new(o, "version", jstr(k.version));
		json_object_set_new(o, "sched_dir", jstr(k.sched_dir));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		printf("label:     %s\nimage:     %s\nvmlinux:   %s\ndir:       %s\n"
		       "key:       %s\nversion:   %s\nsched_dir: %s\n",
		       k.label, k.image, k.vmlinux ? k.vmlinux : "-", k.dir, k.key ? k.key : "-",
		       k.version ? k.version : "-", k.sched_dir ? k.sched_dir : "-");
	}
	kt_kernel_free(&k);
	return 0;
}

static int cmd_kernel(int argc, char **argv)
{
	if (argc < 2) {
		usage_kernel(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage_kernel(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "clean"))
		return cmd_clean(argc - 1, argv + 1);
	if (!strcmp(argv[1], "resolve"))
		return cmd_resolve(argc - 1, argv + 1);
	kt_err("kernel: unknown subcommand '%s' (build, list, clean, resolve)", argv[1]);
	return 2;
}

KTSTR_COMMAND(kernel, "kernel", "build, list, clean and resolve cached kernels", cmd_kernel, 50);
