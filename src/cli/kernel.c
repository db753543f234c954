// SPDX-License-Identifier: GPL-2.0
/* `ktstr kernel build|list|clean`: the kernel cache from the command line. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "kernel/kernel.h"
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

static void usage_build(FILE *f)
{
	fprintf(f,
		"Usage: ktstr kernel build [VERSION | --source DIR|TARBALL | --git URL --ref REF]\n"
		"                          [--force] [--clean] [--cpu-cap N]\n\n"
		"Configure (allnoconfig + the ktstr fragment: a lean QEMU guest), build bzImage,\n"
		"vmlinux and the tools/sched_ext schedulers, and store them in the cache.\n\n"
		"  VERSION           kernel.org release (6.12.3) or series (6.12: newest)\n"
		"  --source DIR      a kernel source tree (built in place; an existing .config\n"
		"                    keeps its machine shape, only what ktstr needs is merged\n"
		"                    in; compile_commands.json is generated)\n"
		"  --source FILE     a source tarball (e.g. /usr/src/linux-source-6.12.tar.xz)\n"
		"  --git URL         shallow-clone URL (needs --ref)\n"
		"  --ref REF         branch, tag or commit for --git\n"
		"  --force           rebuild even when the cache has the kernel\n"
		"  --clean           `make mrproper` first (local trees)\n"
		"  --cpu-cap N       make -jN (default: KTSTR_CPU_CAP, else every allowed CPU)\n\n"
		"Environment: KTSTR_CACHE_DIR (cache root), KTSTR_KERNEL_MIRROR (download base\n"
		"URL, default https://cdn.kernel.org/pub/linux/kernel), KTSTR_CPU_CAP.\n");
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"source", required_argument, NULL, 's'}, {"git", required_argument, NULL, 'g'},
	    {"ref", required_argument, NULL, 'r'},    {"force", no_argument, NULL, 'f'},
	    {"clean", no_argument, NULL, 'c'},	      {"cpu-cap", required_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0}};
	struct kt_build_opts o = {0};
	const char *source = NULL;
	char *dir = NULL, *key = NULL, *err = NULL;
	int c, nsrc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			source = optarg;
			break;
		case 'g':
			o.git_url = optarg;
			break;
		case 'r':
			o.git_ref = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'c':
			o.clean = true;
			break;
		case 'j':
			o.cpu_cap = optarg;
			break;
		case 'h':
			usage_build(stdout);
			return 0;
		default:
			usage_build(stderr);
			return 2;
		}
	}
	if (optind < argc - 1) {
		kt_err("kernel build: unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	if (optind < argc)
		o.version = argv[optind];
	nsrc = !!source + !!o.git_url + !!o.version;
	if (nsrc > 1) {
		kt_err("kernel build: VERSION, --source and --git are mutually exclusive");
		return 2;
	}
	if (o.git_ref && !o.git_url) {
		kt_err("kernel build: --ref needs --git");
		return 2;
	}
	if (o.git_url && !o.git_ref) {
		kt_err("kernel build: --git %s needs --ref REF", o.git_url);
		return 2;
	}
	if (!nsrc) {
		kt_err("kernel build: give a VERSION, --source DIR|TARBALL or --git URL --ref REF");
		return 2;
	}
	if (source) {
		o.path = source;
		o.src = kt_is_dir(source) ? KT_BUILD_LOCAL : KT_BUILD_TARBALL;
		if (!kt_exists(source)) {
			kt_err("kernel build: --source %s: no such file or directory", source);
			return 1;
		}
	} else if (o.git_url) {
		o.src = KT_BUILD_GIT;
	} else {
		struct kt_kid id;

		if (kt_kid_parse(o.version, &id, &err) == 0 && id.type == KT_KID_RANGE) {
			/* a range builds each release in turn */
			char *json = NULL, **vers = NULL;
			size_t n = 0, failed = 0;
			struct sbuf fl = SBUF_INIT;

			kt_info("expanding kernel range %s..%s", id.a, id.b);
			if (kt_releases_fetch(&json, &err) ||
			    kt_releases_range(json, id.a, id.b, &vers, &n, &err)) {
				kt_err("kernel build: %s", err);
				free(err);
				free(json);
				kt_kid_free(&id);
				return 1;
			}
			for (size_t i = 0; i < n; i++) {
				o.src = KT_BUILD_VERSION;
				o.version = vers[i];
				kt_info("[%zu/%zu] kernel build %s", i + 1, n, vers[i]);
				if (kt_kernel_build(&o, &dir, &key, &err)) {
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
				kt_err("kernel build range %s..%s: %zu/%zu version(s) failed: %s",
				       id.a, id.b, failed, n, sb_str(&fl));
			for (size_t i = 0; i < n; i++)
				free(vers[i]);
			free(vers);
			free(json);
			sb_free(&fl);
			kt_kid_free(&id);
			return failed ? 1 : 0;
		}
		free(err);
		err = NULL;
		if (id.a)
			kt_kid_free(&id);
		o.src = KT_BUILD_VERSION;
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

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"range", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct kt_cache_entry *e;
	size_t n, corrupt = 0, stale = 0, untracked = 0, eol = 0;
	char *root, *err = NULL, kc[16], *rel = NULL, *rel_err = NULL;
	const char *range = NULL;
	bool json = false, is_eol;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			range = optarg;
			break;
		case 'h':
			printf(
			    "Usage: ktstr kernel list [--json] [--range A..B]\n\nList cached "
			    "kernels (newest first). Corrupt entries show their reason;\nentries "
			    "built with another kconfig fragment are tagged (stale kconfig),\n"
			    "entries of a series kernel.org no longer lists (EOL; needs the "
			    "network,\nKTSTR_KERNEL_MIRROR replaces kernel.org).\n"
			    "--range A..B only previews the kernel.org releases a range expands "
			    "to\n(needs the network; the cache is not touched).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		kt_err("kernel list: unexpected argument '%s'", argv[optind]);
		return 2;
	}
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
	snprintf(kc, sizeof(kc), "%08x", kt_kconfig_crc());
	kt_info("cache: %s", root);
	/* EOL tags need kernel.org's releases.json; without it they are off. */
	for (size_t i = 0; i < n && !rel && !rel_err; i++)
		if (!e[i].corrupt && e[i].meta.version && kt_releases_fetch(&rel, &rel_err) && !rel_err)
			rel_err = kt_strdup("unknown error");
	if (json) {
		json_t *o = json_object(), *arr = json_array();

		json_object_set_new(o, "current_ktstr_kconfig_hash", json_string(kc));
		json_object_set_new(o, "active_prefixes_fetch_error",
				    rel_err ? json_string(rel_err) : json_null());
		for (size_t i = 0; i < n; i++) {
			json_t *x = json_object();

			json_object_set_new(x, "key", json_string(e[i].key));
			json_object_set_new(x, "path", json_string(e[i].path));
			if (e[i].corrupt) {
				json_object_set_new(x, "error", json_string(e[i].error));
				json_object_set_new(x, "error_kind", json_string(e[i].error_kind));
			} else {
				const struct kt_cache_meta *m = &e[i].meta;
				json_t *src = json_object(), *sch = json_array();

				json_object_set_new(src, "type",
						    json_string(kt_src_type_name(m->src)));
				if (m->src != KT_SRC_TARBALL)
					json_object_set_new(src, "git_hash", jstr(m->git_hash));
				if (m->src == KT_SRC_GIT)
					json_object_set_new(src, "ref", jstr(m->git_ref));
				if (m->src == KT_SRC_LOCAL)
					json_object_set_new(src, "source_tree_path",
							    jstr(m->source_tree_path));
				for (size_t k = 0; k < m->n_schedulers; k++)
					json_array_append_new(sch, json_string(m->schedulers[k]));
				json_object_set_new(x, "version", jstr(m->version));
				json_object_set_new(x, "source", src);
				json_object_set_new(x, "arch", json_string(m->arch));
				json_object_set_new(x, "built_at", json_string(m->built_at));
				json_object_set_new(x, "ktstr_kconfig_hash",
						    jstr(m->ktstr_kconfig_hash));
				json_object_set_new(x, "kconfig_status",
						    json_string(kt_cache_kconfig_status(&e[i])));
				json_object_set_new(x, "eol",
						    json_boolean(rel && kt_releases_is_eol(rel, m->version)));
				json_object_set_new(x, "config_hash", jstr(m->config_hash));
				json_object_set_new(x, "image_name", json_string(m->image_name));
				json_object_set_new(x, "image_path", json_string(e[i].image_path));
				json_object_set_new(x, "has_vmlinux", json_boolean(m->has_vmlinux));
				json_object_set_new(x, "vmlinux_stripped",
						    json_boolean(m->vmlinux_stripped));
				json_object_set_new(x, "schedulers", sch);
			}
			json_array_append_new(arr, x);
		}
		json_object_set_new(o, "entries", arr);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else if (!n) {
		printf("no cached kernels. Run `kernel build` to download and build a kernel.\n");
	} else {
		printf("  %-48s %-12s %-8s %-7s BUILT\n", "KEY", "VERSION", "SOURCE", "ARCH");
		for (size_t i = 0; i < n; i++) {
			const struct kt_cache_meta *m = &e[i].meta;
			const char *ks;

			if (e[i].corrupt) {
				printf("  %-48s (corrupt: %s)\n", e[i].key, e[i].error);
				corrupt++;
				continue;
			}
			ks = kt_cache_kconfig_status(&e[i]);
			if (!strcmp(ks, "stale"))
				stale++;
			if (!strcmp(ks, "untracked"))
				untracked++;
			is_eol = rel && kt_releases_is_eol(rel, m->version);
			eol += is_eol;
			printf("  %-48s %-12s %-8s %-7s %s%s%s\n", e[i].key,
			       m->version ? m->version : "-", kt_src_type_name(m->src), m->arch,
			       m->built_at,
			       !strcmp(ks, "stale")	  ? " (stale kconfig)"
			       : !strcmp(ks, "untracked") ? " (untracked kconfig)"
							  : "",
			       is_eol ? " (EOL)" : "");
		}
	}
	for (size_t i = 0; json && i < n; i++) {
		if (!e[i].corrupt && rel && kt_releases_is_eol(rel, e[i].meta.version))
			eol++;
		if (e[i].corrupt)
			corrupt++;
		else if (!strcmp(kt_cache_kconfig_status(&e[i]), "stale"))
			stale++;
		else if (!strcmp(kt_cache_kconfig_status(&e[i]), "untracked"))
			untracked++;
	}
	if (eol)
		kt_info("EOL: %zu entr%s of a kernel series kernel.org no longer lists", eol,
			eol == 1 ? "y" : "ies");
	else if (rel_err && n)
		kt_debug("kernel", "EOL tags off: %s", rel_err);
	if (untracked)
		kt_info("untracked kconfig: %zu entr%s without a recorded kconfig hash", untracked,
			untracked == 1 ? "y" : "ies");
	if (stale)
		kt_info("stale kconfig: %zu entr%s built with a different ktstr.kconfig "
			"(current %s); they are not used implicitly. Rebuild with `ktstr kernel "
			"build`.",
			stale, stale == 1 ? "y" : "ies", kc);
	if (corrupt)
		kt_info("%zu corrupt entr%s. Run `ktstr kernel clean --corrupt-only` to remove.",
			corrupt, corrupt == 1 ? "y" : "ies");
	kt_cache_entries_free(e, n);
	free(root);
	free(rel);
	free(rel_err);
	return 0;
}

/* ---- clean --------------------------------------------------------------------- */

static int cmd_clean(int argc, char **argv)
{
	static const struct option opts[] = {{"keep", required_argument, NULL, 'k'},
					     {"corrupt-only", no_argument, NULL, 'c'},
					     {"force", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct kt_cache_entry *e;
	size_t n, nrm = 0, removed = 0, valid_seen = 0;
	uint64_t keep = 0;
	bool has_keep = false, corrupt_only = false, force = false, *rm;
	char *root, *err = NULL;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (kt_parse_u64(optarg, &keep)) {
				kt_err("kernel clean: --keep must be a number (got \"%s\")",
				       optarg);
				return 2;
			}
			has_keep = true;
			break;
		case 'c':
			corrupt_only = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			printf("Usage: ktstr kernel clean [--keep N | --corrupt-only] [--force]\n\n"
			       "Remove cached kernels. Corrupt entries are always removed.\n"
			       "  --keep N        keep the N newest valid entries\n"
			       "  --corrupt-only  remove only corrupt entries\n"
			       "  --force         do not ask for confirmation\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		kt_err("kernel clean: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (has_keep && corrupt_only) {
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
		else if (has_keep)
			rm[i] = valid_seen++ >= keep; /* valid entries are sorted newest first */
		else
			rm[i] = true;
		nrm += rm[i];
	}
	if (!nrm) {
		printf("nothing to clean\n");
		goto out;
	}
	if (!force) {
		char line[64];

		if (!isatty(0)) {
			kt_err("confirmation requires a terminal. Use --force to skip.");
			rc = 1;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (rm[i])
				fprintf(stderr, "  %s%s\n", e[i].key,
					e[i].corrupt ? " (corrupt)" : "");
		fprintf(stderr, "remove %zu entr%s? [y/N] ", nrm, nrm == 1 ? "y" : "ies");
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y') ||
		    (line[1] != '\n' && line[1] != 0)) {
			printf("aborted\n");
			goto out;
		}
	}
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
out:
	free(rm);
	kt_cache_entries_free(e, n);
	free(root);
	return rc;
}

/* ---- resolve -------------------------------------------------------------------- */

static int cmd_resolve(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct kt_kernel k;
	char *err = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("Usage: ktstr kernel resolve [ID] [--json]\n\n"
			       "Show which kernel an id (path, image file, version, cache key,\n"
			       "git+URL#REF) resolves to; without ID, the implicit chain:\n"
			       "KTSTR_TEST_KERNEL, KTSTR_KERNEL, the newest valid cache entry,\n"
			       "./linux, ../linux, /lib/modules/$(uname -r)/build, "
			       "/boot/vmlinuz-*.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind > 1) {
		kt_err("kernel resolve: unexpected argument '%s'", argv[optind + 1]);
		return 2;
	}
	if (kt_kernel_resolve(optind < argc ? argv[optind] : NULL, &k, &err)) {
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
