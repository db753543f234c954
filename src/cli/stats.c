// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr stats: list runs, what can be compared, a run's host context, one
 * sidecar in words, and the regression gate `stats compare`. All reading
 * goes through the one sidecar parser (results/results.h) and
 * results/stats.h.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "report/hoststate.h"
#include "results/results.h"
#include "results/stats.h"
#include "util/opt.h"
#include "util/util.h"

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

static char *root_or(const char *dir)
{
	return dir ? kt_strdup(dir) : kt_runs_root();
}

/* Add s to sv unless it is there. */
static void add_unique(struct kt_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return;
	kt_strv_add(sv, s);
}

static char *joined(const struct kt_strv *sv, const char *sep, const char *none)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < sv->n; i++)
		sb_addf(&sb, "%s%s", i ? sep : "", sv->v[i]);
	if (!sv->n)
		sb_adds(&sb, none);
	return sb_steal(&sb);
}

static json_t *jstrv(const struct kt_strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* ---- list ------------------------------------------------------------------------ */

struct run_info {
	char *name;
	time_t mtime;
	size_t tests, pass, fail, skip, inconclusive, corrupt;
	char *date;
	struct kt_strv kernels, commits, scheds;
	char *arch;
};

static int cmp_run(const void *a, const void *b)
{
	const struct run_info *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void run_info_fill(struct run_info *ri, const char *dir)
{
	struct kt_pool p = {0};

	kt_pool_load(&p, dir);
	ri->tests = p.n;
	ri->corrupt = p.errors.n;
	for (size_t i = 0; i < p.n; i++) {
		const struct kt_sidecar *sc = &p.rows[i].sc;
		const char *arch = json_string_value(json_object_get(sc->host, "arch"));

		if (sc->skipped)
			ri->skip++;
		else if (sc->passed)
			ri->pass++;
		else if (sc->inconclusive)
			ri->inconclusive++;
		else
			ri->fail++;
		if (sc->timestamp && *sc->timestamp &&
		    (!ri->date || strcmp(sc->timestamp, ri->date) < 0)) {
			free(ri->date);
			ri->date = kt_strdup(sc->timestamp);
		}
		add_unique(&ri->kernels, sc->kernel_version ? sc->kernel_version : "unknown");
		add_unique(&ri->commits, sc->project_commit ? sc->project_commit : "unknown");
		add_unique(&ri->scheds, sc->scheduler ? sc->scheduler : "eevdf");
		if (!ri->arch && arch)
			ri->arch = kt_strdup(arch);
	}
	kt_pool_free(&p);
}

static void run_info_free(struct run_info *ri)
{
	free(ri->name);
	free(ri->date);
	free(ri->arch);
	kt_strv_free(&ri->kernels);
	kt_strv_free(&ri->commits);
	kt_strv_free(&ri->scheds);
}

static int cmd_list(int argc, char **argv)
{
	bool json = false;
	const char *dir = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("dir", 0, "ROOT", "runs root (default ${KTSTR_TARGET_DIR:-target}/ktstr)",
		       kt_opt_str, &dir),
		KT_OPT("json", 0, NULL, "print a JSON array", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"stats list", "[--dir ROOT] [--json]",
		"List the runs (one directory of sidecars each) under the runs root, newest\n"
		"first: tests, how many passed / failed / were skipped or inconclusive, the\n"
		"earliest timestamp, kernels, project commits, schedulers and host arch.",
		opts, NULL, 0,
	};
	struct run_info *runs = NULL;
	size_t n = 0;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	char *root;
	struct dirent *e;
	DIR *d;

	if (rc != KT_OPT_GO)
		return rc;
	root = root_or(dir);
	d = opendir(root);
	while (d && (e = readdir(d))) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		p = kt_path_join(root, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			runs = kt_realloc(runs, (n + 1) * sizeof(*runs));
			memset(&runs[n], 0, sizeof(*runs));
			runs[n].name = kt_strdup(e->d_name);
			runs[n].mtime = st.st_mtime;
			run_info_fill(&runs[n], p);
			n++;
		}
		free(p);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(runs, n, sizeof(*runs), cmp_run);
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++) {
			struct run_info *r = &runs[i];

			char *p = kt_path_join(root, r->name);

			json_array_append_new(
				a, json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:s?,s:o,s:o,s:o,s:s?}",
					     "run", r->name, "path", p, "tests",
					     (json_int_t)r->tests, "passed", (json_int_t)r->pass,
					     "failed", (json_int_t)r->fail, "skipped",
					     (json_int_t)r->skip, "inconclusive",
					     (json_int_t)r->inconclusive, "corrupt",
					     (json_int_t)r->corrupt, "date", r->date, "kernels",
					     jstrv(&r->kernels), "commits", jstrv(&r->commits),
					     "schedulers", jstrv(&r->scheds), "arch", r->arch));
			free(p);
		}
		print_json(a);
	} else if (!n) {
		fprintf(stderr, "ktstr: no runs found at %s (run `ktstr test` first, or pass "
				"--dir)\n",
			root);
	} else {
		printf("%-36s %5s %4s %4s %4s %4s  %-20s %-12s %-14s %-8s %s\n", "RUN", "TESTS",
		       "PASS", "FAIL", "SKIP", "INC", "DATE", "KERNEL", "COMMIT", "ARCH",
		       "SCHEDULERS");
		for (size_t i = 0; i < n; i++) {
			struct run_info *r = &runs[i];
			char *k = joined(&r->kernels, ",", "-"), *c = joined(&r->commits, ",", "-");
			char *s = joined(&r->scheds, ",", "-");

			printf("%-36s %5zu %4zu %4zu %4zu %4zu  %-20s %-12s %-14s %-8s %s\n",
			       r->name, r->tests, r->pass, r->fail, r->skip, r->inconclusive,
			       r->date ? r->date : "-", k, c, r->arch ? r->arch : "-", s);
			free(k);
			free(c);
			free(s);
		}
	}
	for (size_t i = 0; i < n; i++)
		run_info_free(&runs[i]);
	free(runs);
	free(root);
	return 0;
}

/* ---- list-metrics ------------------------------------------------------------------ */

static int cmd_list_metrics(int argc, char **argv)
{
	bool json = false;
	const struct kt_opt opts[] = {
		KT_OPT("json", 0, NULL, "print a JSON array", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"stats list-metrics", "[--json]",
		"The metrics `stats compare` gates on: direction (which way is better), the\n"
		"default absolute and relative thresholds (a change must pass both to count),\n"
		"the unit and where the value comes from in a sidecar.",
		opts, NULL, 0,
	};
	size_t n;
	const struct kt_metric_def *m = kt_metrics(&n);
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(
				a, json_pack("{s:s,s:s,s:f,s:f,s:s,s:s}", "name", m[i].name,
					     "polarity", m[i].higher_better ? "higher" : "lower",
					     "default_abs", m[i].abs, "default_rel", m[i].rel,
					     "display_unit", m[i].unit, "source", m[i].what));
		print_json(a);
		return 0;
	}
	printf("%-34s %-8s %11s %11s %-5s %s\n", "NAME", "POLARITY", "DEFAULT_ABS", "DEFAULT_REL",
	       "UNIT", "SOURCE");
	for (size_t i = 0; i < n; i++)
		printf("%-34s %-8s %11g %11g %-5s %s\n", m[i].name,
		       m[i].higher_better ? "higher" : "lower", m[i].abs, m[i].rel,
		       *m[i].unit ? m[i].unit : "-", m[i].what);
	return 0;
}

/* ---- list-values ------------------------------------------------------------------- */

static const char *const value_blocks[KT_DIM__COUNT] = {
	"kernel", "scheduler", "topology", "work_type", "commit", "kernel_commit", "source",
	"flags",
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_list_values(int argc, char **argv)
{
	bool json = false;
	const char *dir = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("dir", 0, "DIR", "pool of sidecars (default: every run under the root)",
		       kt_opt_str, &dir),
		KT_OPT("json", 0, NULL, "print a JSON object", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"stats list-values", "[--dir DIR] [--json]",
		"The values each compare dimension takes in the pool: kernel, scheduler,\n"
		"topology, work_type, commit (project), kernel_commit, source (run source)\n"
		"and flags. These are what --kernel, --a-scheduler, ... of `stats compare`\n"
		"select on. Unknown values print as 'unknown' (null in JSON).",
		opts, NULL, 0,
	};
	struct kt_strv vals[KT_DIM__COUNT] = {0};
	struct kt_pool p = {0};
	bool has_null[KT_DIM__COUNT] = {0};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	char *root;
	json_t *o;

	if (rc != KT_OPT_GO)
		return rc;
	root = root_or(dir);
	if (kt_pool_load(&p, root) < 0 && dir) {
		kt_err("stats list-values: %s: not a directory", root);
		free(root);
		return 1;
	}
	for (size_t i = 0; i < p.n; i++)
		for (int d = 0; d < KT_DIM__COUNT; d++) {
			if (d == KT_DIM_FLAGS) {
				for (size_t f = 0; f < p.rows[i].sc.active_flags.n; f++)
					add_unique(&vals[d], p.rows[i].sc.active_flags.v[f]);
				continue;
			}
			char *v = kt_row_dim(&p.rows[i].sc, d);

			if (v)
				add_unique(&vals[d], v);
			else
				has_null[d] = true;
			free(v);
		}
	o = json_object();
	for (int d = 0; d < KT_DIM__COUNT; d++) {
		json_t *a = json_array();

		if (vals[d].n)
			qsort(vals[d].v, vals[d].n, sizeof(*vals[d].v), cmp_str);
		if (has_null[d])
			json_array_append_new(a, json_null());
		for (size_t i = 0; i < vals[d].n; i++)
			json_array_append_new(a, json_string(vals[d].v[i]));
		json_object_set_new(o, value_blocks[d], a);
	}
	if (json) {
		print_json(o);
	} else {
		for (int d = 0; d < KT_DIM__COUNT; d++) {
			json_t *a = json_object_get(o, value_blocks[d]), *v;
			size_t i;

			printf("%s:\n", value_blocks[d]);
			if (!p.n)
				printf("  (no sidecars in pool)\n");
			json_array_foreach(a, i, v)
				printf("  %s\n", json_is_null(v) ? "unknown" : json_string_value(v));
			printf("\n");
		}
		json_decref(o);
	}
	for (int d = 0; d < KT_DIM__COUNT; d++)
		kt_strv_free(&vals[d]);
	kt_pool_free(&p);
	free(root);
	return 0;
}

/* ---- show-host --------------------------------------------------------------------- */

/* The run directory named by --run / a positional argument (error printed). */
static char *run_dir(const char *cmd, const char *run, const char *dir)
{
	char *root = root_or(dir), *err = NULL, *p;

	if (!run) {
		kt_err("%s: name a run (--run RUN or a run directory; see `ktstr stats list`)", cmd);
		free(root);
		return NULL;
	}
	p = kt_run_resolve(root, run, &err);
	if (!p) {
		kt_err("%s: %s", cmd, err);
		free(err);
	}
	free(root);
	return p;
}

static int cmd_show_host(int argc, char **argv)
{
	bool json = false;
	const char *run = NULL, *dir = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("run", 0, "RUN", "run id (directory name) or run directory", kt_opt_str,
		       &run),
		KT_OPT("dir", 0, "ROOT", "runs root to find RUN in", kt_opt_str, &dir),
		KT_OPT("json", 0, NULL, "print the host object as JSON", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"stats show-host", "[--run] RUN [--dir ROOT] [--json]",
		"The host context a run recorded (CPU model, memory, transparent hugepages,\n"
		"NUMA nodes, kernel release and command line, sched_* tunables), from its\n"
		"first sidecar that carries one.",
		opts, NULL, 1,
	};
	struct kt_pool p = {0};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	char *rd;
	json_t *host = NULL;

	if (rc != KT_OPT_GO)
		return rc;
	if (argi < argc)
		run = argv[argi];
	rd = run_dir("stats show-host", run, dir);
	if (!rd)
		return 1;
	kt_pool_load(&p, rd);
	for (size_t i = 0; i < p.n && !host; i++)
		if (p.rows[i].sc.host && json_object_size(p.rows[i].sc.host))
			host = p.rows[i].sc.host;
	if (!p.n || !host) {
		kt_err("stats show-host: run '%s' %s", run,
		       p.n ? "has sidecars, but none carries a host context" : "has no sidecars");
		kt_pool_free(&p);
		free(rd);
		return 1;
	}
	if (json) {
		print_json(json_incref(host));
	} else {
		printf("host of run %s:\n", run);
		kt_host_state_print(stdout, host); /* as `ktstr host-state show` */
	}
	kt_pool_free(&p);
	free(rd);
	return 0;
}

/* ---- explain-sidecar ------------------------------------------------------------- */

/* Fields whose absence explain-sidecar reports (and how to act on it). */
static const struct {
	const char *field;
	const char *fix; /* NULL: nothing to do (expected) */
} checked[] = {
	{"scheduler_commit", "build the scheduler from a git tree (or a kernel built from git)"},
	{"payload", NULL},
	{"project_commit", "run from a git checkout, or set KTSTR_PROJECT_COMMIT"},
	{"monitor", NULL},
	{"kvm_stats", NULL},
	{"verifier_stats", NULL},
	{"stimulus_events", NULL},
	{"kernel_version", "use a cached kernel (`ktstr kernel build`) or a tree with "
			   "include/config/kernel.release"},
	{"kernel_commit", "build the kernel from git (`ktstr kernel build --git URL --ref R` or "
			  "--source of a clean git tree)"},
	{"host", NULL},
	{"cleanup_duration_ms", NULL},
	{"run_source", NULL},
	{"work_type", NULL},
	{"scheduler_exit", NULL},
	{"stats", NULL},
};

static bool field_absent(const struct kt_sidecar *sc, const char *f)
{
	json_t *v = sc->raw ? json_object_get(sc->raw, f) : NULL;

	return !v || json_is_null(v);
}

static const char *verdict_of(const struct kt_sidecar *sc)
{
	return sc->skipped ? "SKIP" : sc->passed ? "PASS" : sc->inconclusive ? "INCONCLUSIVE" : "FAIL";
}

/* One sidecar in words. */
static void explain_words(const struct kt_sidecar *sc, const char *path, struct sbuf *o)
{
	json_t *f = sc->failure, *x = sc->scheduler_exit, *v;
	const char *k;

	sb_addf(o, "%s\n", path);
	sb_addf(o, "  test %s: %s", sc->test_name, verdict_of(sc));
	if (sc->has_duration_ms)
		sb_addf(o, " in %.1f s", (double)sc->duration_ms / 1000.0);
	sb_addf(o, ", scheduler %s on topology %s", sc->scheduler, sc->topology);
	if (sc->active_flags.n) {
		char *fl = joined(&sc->active_flags, ",", "");

		sb_addf(o, " with flags %s", fl);
		free(fl);
	}
	sb_addf(o, "\n  kernel %s (commit %s), project commit %s, run source %s, at %s\n",
		sc->kernel_version ? sc->kernel_version : "unknown",
		sc->kernel_commit ? sc->kernel_commit : "unknown",
		sc->project_commit ? sc->project_commit : "unknown",
		sc->run_source ? sc->run_source : "unknown", sc->timestamp);
	v = kt_sidecar_get(sc, "boot");
	if (json_is_object(v)) {
		json_t *ps = sc->monitor ? json_object_get(sc->monitor, "kaslr_phys_slide") : NULL;
		json_t *vs = sc->monitor ? json_object_get(sc->monitor, "kaslr_virt_slide") : NULL;

		sb_addf(o, "  boot: %s, %s",
			json_is_false(json_object_get(v, "kaslr")) ? "nokaslr" : "KASLR on",
			json_string_value(json_object_get(v, "image")) ?: "unknown image");
		if (json_is_integer(ps) && json_is_integer(vs))
			sb_addf(o, "; kernel slides found by the host: physical %#llx, virtual %#llx",
				(unsigned long long)json_integer_value(ps),
				(unsigned long long)json_integer_value(vs));
		sb_adds(o, "\n");
	}
	if (sc->work_type)
		sb_addf(o, "  work: %s\n", sc->work_type);
	if (json_object_size(sc->stats))
		sb_addf(o, "  measured: %lld workers on %lld CPUs, %lld iterations, worst spread "
			   "%.1f%%, worst gap %lld ms, %lld migrations\n",
			(long long)json_integer_value(json_object_get(sc->stats, "total_workers")),
			(long long)json_integer_value(json_object_get(sc->stats, "total_cpus")),
			(long long)json_integer_value(json_object_get(sc->stats, "total_iterations")),
			json_number_value(json_object_get(sc->stats, "worst_spread")),
			(long long)json_integer_value(json_object_get(sc->stats, "worst_gap_ms")),
			(long long)json_integer_value(json_object_get(sc->stats, "total_migrations")));
	if (x) {
		sb_addf(o, "  scheduler exit: %s",
			json_string_value(json_object_get(x, "kind")));
		if ((k = json_string_value(json_object_get(x, "reason"))))
			sb_addf(o, " (%s)", k);
		if ((k = json_string_value(json_object_get(x, "message"))))
			sb_addf(o, ": %s", k);
		if ((k = json_string_value(json_object_get(x, "source"))))
			sb_addf(o, " [from the %s]", k);
		sb_adds(o, "\n");
	}
	if (f) {
		sb_addf(o, "  failure: %s during %s: %s\n",
			json_string_value(json_object_get(f, "kind")),
			json_string_value(json_object_get(f, "phase")),
			json_string_value(json_object_get(f, "message")));
		if ((k = json_string_value(json_object_get(f, "stage"))))
			sb_addf(o, "  last guest stage: %s\n", k);
	}
	if (sc->failure_dump)
		sb_addf(o, "  failure dump: %s\n", sc->failure_dump);
	if (sc->has_cleanup_ms)
		sb_addf(o, "  teardown took %llu ms\n", (unsigned long long)sc->cleanup_duration_ms);
	if (sc->absent && json_object_size(sc->absent)) {
		sb_addf(o, "  not recorded (%zu):\n", json_object_size(sc->absent));
		json_object_foreach(sc->absent, k, v)
			sb_addf(o, "    %s: %s\n", k, json_string_value(v));
	}
}

static int cmd_explain(int argc, char **argv)
{
	bool json = false;
	const char *run = NULL, *dir = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("run", 0, "RUN", "explain every sidecar of a run (id or directory)",
		       kt_opt_str, &run),
		KT_OPT("dir", 0, "ROOT", "runs root to find RUN in", kt_opt_str, &dir),
		KT_OPT("json", 0, NULL, "print a JSON summary per field", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"stats explain-sidecar", "[FILE | --run RUN] [--dir ROOT] [--json]",
		"Say in words what a sidecar records: the verdict, what ran where, what was\n"
		"measured, how the scheduler exited, why the test failed (kind and phase),\n"
		"and every field left empty with the reason the run recorded for it. With\n"
		"--run, every sidecar of the run, then per field how many sidecars lack it\n"
		"and why. Exit 0 even when sidecars are corrupt (they are listed); 1 when\n"
		"there is nothing to read.",
		opts, NULL, 1,
	};
	struct kt_pool p = {0};
	struct sbuf out = SBUF_INIT;
	json_t *fields, *walk, *errs, *expl;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	char *rd = NULL;

	if (rc != KT_OPT_GO)
		return rc;
	if (argi < argc && kt_is_file(argv[argi])) {
		struct kt_sidecar sc;
		char *err = NULL;

		p.walked = 1;
		if (kt_sidecar_read(argv[argi], &sc, &err)) {
			kt_strv_add(&p.errors, err);
			free(err);
		} else {
			p.rows = kt_calloc(1, sizeof(*p.rows));
			p.rows[0].sc = sc;
			p.rows[0].path = kt_strdup(argv[argi]);
			p.n = 1;
		}
	} else {
		if (argi < argc)
			run = argv[argi];
		rd = run_dir("stats explain-sidecar", run, dir);
		if (!rd)
			return 1;
		kt_pool_load(&p, rd);
		if (!p.walked) {
			kt_err("stats explain-sidecar: run '%s' has no sidecar files (%s)", run, rd);
			free(rd);
			return 1;
		}
	}
	fields = json_object();
	for (size_t c = 0; c < KT_ARRAY_SIZE(checked); c++) {
		json_t *causes = json_object();
		size_t none = 0;

		for (size_t i = 0; i < p.n; i++) {
			const struct kt_sidecar *sc = &p.rows[i].sc;
			const char *why;
			json_t *cnt;

			if (!field_absent(sc, checked[c].field) &&
			    strcmp(checked[c].field, "stats"))
				continue;
			if (!strcmp(checked[c].field, "stats") && json_object_size(sc->stats))
				continue;
			none++;
			why = kt_sidecar_absent_reason(sc, checked[c].field);
			if (!why)
				why = sc->schema_version ? "no reason recorded"
							 : "written before sidecars recorded reasons";
			cnt = json_object_get(causes, why);
			json_object_set_new(causes, why,
					    json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
		}
		json_object_set_new(fields, checked[c].field,
				    json_pack("{s:i,s:i,s:s,s:o,s:s?}", "none_count",
					      (json_int_t)none, "some_count", (json_int_t)(p.n - none),
					      "classification",
					      checked[c].fix ? "actionable" : "expected", "causes",
					      causes, "fix", checked[c].fix));
	}
	errs = json_array();
	for (size_t i = 0; i < p.errors.n; i++)
		json_array_append_new(errs, json_pack("{s:s}", "error", p.errors.v[i]));
	walk = json_pack("{s:i,s:i,s:o}", "walked", (json_int_t)p.walked, "valid",
			 (json_int_t)p.n, "errors", errs);
	if (json) {
		expl = json_array();
		for (size_t i = 0; i < p.n; i++) {
			const struct kt_sidecar *sc = &p.rows[i].sc;

			json_array_append_new(
				expl, json_pack("{s:s,s:s,s:s,s:O?,s:O?,s:O}", "path", p.rows[i].path,
						"test", sc->test_name, "verdict", verdict_of(sc),
						"failure", sc->failure, "scheduler_exit",
						sc->scheduler_exit, "absent",
						sc->absent ? sc->absent : json_object()));
		}
		print_json(json_pack("{s:s,s:i,s:o,s:o,s:o}", "_schema_version", "1",
				     "sidecar_schema_version", KT_SIDECAR_SCHEMA_VERSION, "_walk",
				     walk, "fields", fields, "sidecars", expl));
	} else {
		const char *k;
		json_t *v;

		sb_addf(&out, "walked %zu sidecar file(s), parsed %zu valid\n\n", p.walked, p.n);
		for (size_t i = 0; i < p.n; i++) {
			explain_words(&p.rows[i].sc, p.rows[i].path, &out);
			sb_adds(&out, "\n");
		}
		if (p.n > 1) {
			sb_adds(&out, "fields left empty, over all sidecars:\n");
			json_object_foreach(fields, k, v) {
				const char *why;
				json_t *n;

				if (!json_integer_value(json_object_get(v, "none_count")))
					continue;
				sb_addf(&out, "  %s: empty in %lld of %zu (%s)\n", k,
					(long long)json_integer_value(json_object_get(v, "none_count")),
					p.n, json_string_value(json_object_get(v, "classification")));
				json_object_foreach(json_object_get(v, "causes"), why, n)
					sb_addf(&out, "    %lldx %s\n", (long long)json_integer_value(n),
						why);
				if ((why = json_string_value(json_object_get(v, "fix"))))
					sb_addf(&out, "    fix: %s\n", why);
			}
		}
		if (p.errors.n) {
			sb_addf(&out, "corrupt sidecars (%zu):\n", p.errors.n);
			for (size_t i = 0; i < p.errors.n; i++)
				sb_addf(&out, "  %s\n", p.errors.v[i]);
		}
		fputs(sb_str(&out), stdout);
		json_decref(fields);
		json_decref(walk);
	}
	sb_free(&out);
	kt_pool_free(&p);
	free(rd);
	return 0;
}

/* ---- compare ------------------------------------------------------------------------ */

static void load_side(const char *root, struct kt_pool *pool, const struct kt_filter *f,
		      struct kt_row ***rows, size_t *n)
{
	(void)root;
	*rows = NULL;
	*n = 0;
	for (size_t i = 0; i < pool->n; i++)
		if (kt_filter_match(f, &pool->rows[i].sc)) {
			*rows = kt_realloc(*rows, (*n + 1) * sizeof(**rows));
			(*rows)[(*n)++] = &pool->rows[i];
		}
}

static void print_table(const struct kt_cmp_result *r, bool all)
{
	size_t wt = 4, wm = 6, wa = strlen(r->label[0]), wb = strlen(r->label[1]);
	bool color = kt_isatty_stdout();
	char a[64], b[64], d[64];

	for (size_t i = 0; i < r->n; i++) {
		if (!all && r->rows[i].finding == KT_UNCHANGED)
			continue;
		if (strlen(r->rows[i].test) > wt)
			wt = strlen(r->rows[i].test);
		if (strlen(r->rows[i].m->name) > wm)
			wm = strlen(r->rows[i].m->name);
		snprintf(a, sizeof(a), "%.2f", r->rows[i].a);
		snprintf(b, sizeof(b), "%.2f", r->rows[i].b);
		if (strlen(a) > wa)
			wa = strlen(a);
		if (strlen(b) > wb)
			wb = strlen(b);
	}
	if (!r->regressions && !r->improvements && !all)
		return;
	printf("\n%-*s  %-*s  %*s  %*s  %12s  %s\n", (int)wt, "TEST", (int)wm, "METRIC", (int)wa,
	       r->label[0], (int)wb, r->label[1], "DELTA", "VERDICT");
	for (int pass = 0; pass < 3; pass++) {
		enum kt_finding want = pass == 0 ? KT_REGRESSION
				       : pass == 1 ? KT_IMPROVEMENT
						   : KT_UNCHANGED;

		if (want == KT_UNCHANGED && !all)
			break;
		for (size_t i = 0; i < r->n; i++) {
			const struct kt_cmp_row *x = &r->rows[i];

			if (x->finding != want)
				continue;
			snprintf(a, sizeof(a), "%.2f", x->a);
			snprintf(b, sizeof(b), "%.2f", x->b);
			snprintf(d, sizeof(d), "%+.2f%s", x->delta, x->m->unit);
			printf("%-*s  %-*s  %*s  %*s  %12s  %s%s%s\n", (int)wt, x->test, (int)wm,
			       x->m->name, (int)wa, a, (int)wb, b, d,
			       color && want == KT_REGRESSION	? "\x1b[31m"
			       : color && want == KT_IMPROVEMENT ? "\x1b[32m"
								 : "",
			       want == KT_REGRESSION   ? "REGRESSION"
			       : want == KT_IMPROVEMENT ? "improvement"
							: "unchanged",
			       color && want != KT_UNCHANGED ? "\x1b[0m" : "");
		}
	}
}

#define DIM_OPTS(prefix, arr, helpfmt)                                                            \
	KT_OPT(prefix "kernel", 0, "VER", helpfmt, kt_opt_list, &arr[KT_DIM_KERNEL]),             \
	KT_OPT(prefix "scheduler", 0, "NAME", NULL, kt_opt_list, &arr[KT_DIM_SCHEDULER]),        \
	KT_OPT(prefix "topology", 0, "TOPO", NULL, kt_opt_list, &arr[KT_DIM_TOPOLOGY]),          \
	KT_OPT(prefix "work-type", 0, "TYPE", NULL, kt_opt_list, &arr[KT_DIM_WORK_TYPE]),        \
	KT_OPT(prefix "project-commit", 0, "C", NULL, kt_opt_list, &arr[KT_DIM_PROJECT_COMMIT]), \
	KT_OPT(prefix "kernel-commit", 0, "C", NULL, kt_opt_list, &arr[KT_DIM_KERNEL_COMMIT]),   \
	KT_OPT(prefix "run-source", 0, "SRC", NULL, kt_opt_list, &arr[KT_DIM_RUN_SOURCE]),       \
	KT_OPT(prefix "flag", 0, "FLAG", NULL, kt_opt_list, &arr[KT_DIM_FLAGS])

/* Side filter: the per-side values replace the shared ones, per dimension. */
static void side_filter(const struct kt_optv *shared, const struct kt_optv *side,
			struct kt_filter *f)
{
	for (int d = 0; d < KT_DIM__COUNT; d++) {
		const struct kt_optv *src = side[d].n ? &side[d] : &shared[d];

		for (size_t i = 0; i < src->n; i++)
			kt_strv_add(&f->v[d], src->v[i]);
	}
}

static int cmd_compare(int argc, char **argv)
{
	struct kt_optv sh[KT_DIM__COUNT] = {0}, sa[KT_DIM__COUNT] = {0}, sbv[KT_DIM__COUNT] = {0};
	bool json = false, no_average = false, all = false;
	const char *dir = NULL, *filter = NULL, *policy_path = NULL, *threshold = NULL;
	const struct kt_opt opts[] = {
		DIM_OPTS("", sh,
			 "shared filters, repeatable (OR within one): --kernel --scheduler\n"
			 "--topology --work-type --project-commit --kernel-commit --run-source;\n"
			 "--flag (AND: every listed flag active). --kernel 6.12 also matches 6.12.*"),
		DIM_OPTS("a-", sa, "side A's filters (--a-kernel ...), replacing the shared one"),
		DIM_OPTS("b-", sbv, "side B's filters (--b-kernel ...), replacing the shared one"),
		KT_OPT("filter", 'E', "SUB",
		       "only keys whose \"test topology scheduler work_type flags\" contains SUB",
		       kt_opt_str, &filter),
		KT_OPT("threshold", 0, "PCT", "relative threshold for every metric, in percent",
		       kt_opt_str, &threshold),
		KT_OPT("policy", 0, "FILE", "thresholds per metric and per test (JSON, see below)",
		       kt_opt_str, &policy_path),
		KT_OPT("dir", 0, "DIR", "pool for filter mode (default: the runs root)", kt_opt_str,
		       &dir),
		KT_OPT("no-average", 0, NULL, "do not average repeated keys (they are an error)",
		       kt_opt_flag, &no_average),
		KT_OPT("all", 0, NULL, "list unchanged metrics in the table too", kt_opt_flag, &all),
		KT_OPT("json", 0, NULL, "print the comparison as JSON", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"stats compare",
		"[A B] [filters] [--a-X V] [--b-X V] [-E SUB] [--threshold PCT | --policy FILE]",
		"The regression gate. A and B are runs (a run directory or a run id from\n"
		"`ktstr stats list`); without them, sides A and B are the rows of the pool\n"
		"(every run, or --dir) that the --a-X and --b-X filters select.\n"
		"Dimensions whose values differ between the sides are the slicing\n"
		"dimensions; tests pair on their name and every other dimension (kernel,\n"
		"scheduler, topology, work type, project and kernel commit, run source,\n"
		"flags). Repeated runs of a key are averaged over the rows that passed.\n"
		"A metric changes when |B - A| reaches its absolute threshold AND |B - A| / A\n"
		"its relative one; against its direction it is a regression, else an\n"
		"improvement (`ktstr stats list-metrics` shows the defaults).",
		opts,
		"Policy file: {\"default_percent\": N, \"per_metric_percent\": {\"METRIC\": N},\n"
		"\"per_metric_abs\": {\"METRIC\": X}, \"per_test\": {\"TEST\": {\"default_percent\": N,\n"
		"\"per_metric_percent\": {...}, \"per_metric_abs\": {...}, \"ignore\": [\"METRIC\"]}}}.\n"
		"Unknown fields or metrics and negative values are errors.\n\n"
		"Exit status: 0 no regression, 1 at least one regression, 2 usage or input\n"
		"error.",
		2,
	};
	struct kt_filter fa = {0}, fb = {0};
	struct kt_pool pa = {0}, pb = {0};
	struct kt_policy pol = {0};
	struct kt_row **ra = NULL, **rb = NULL;
	struct kt_cmp_result res;
	struct kt_cmp_opts co = {0};
	char *err = NULL, *root = NULL, *da = NULL, *db = NULL;
	size_t na = 0, nb = 0;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	bool positional;

	if (rc != KT_OPT_GO)
		return rc;
	positional = argi < argc;
	rc = 2;
	if (positional && argc - argi != 2) {
		kt_err("stats compare: give two runs (A B), or none and --a-X/--b-X filters");
		goto out;
	}
	if (threshold && policy_path) {
		kt_err("stats compare: --threshold and --policy exclude each other");
		goto out;
	}
	if (threshold) {
		char *end;
		double pct = strtod(threshold, &end);

		if (*end || end == threshold || pct < 0 || !isfinite(pct)) {
			kt_err("stats compare: --threshold %s: not a non-negative percentage",
			       threshold);
			goto out;
		}
		kt_policy_percent(&pol, pct);
	}
	if (policy_path && kt_policy_load(policy_path, &pol, &err)) {
		kt_err("stats compare: %s", err);
		goto out;
	}
	side_filter(sh, sa, &fa);
	side_filter(sh, sbv, &fb);
	root = root_or(dir);
	if (positional) {
		da = kt_run_resolve(root, argv[argi], &err);
		if (da)
			db = kt_run_resolve(root, argv[argi + 1], &err);
		if (!da || !db) {
			kt_err("stats compare: %s", err);
			goto out;
		}
		kt_pool_load(&pa, da);
		kt_pool_load(&pb, db);
		load_side(root, &pa, &fa, &ra, &na);
		load_side(root, &pb, &fb, &rb, &nb);
	} else {
		if (kt_pool_load(&pa, root) < 0) {
			kt_err("stats compare: %s: not a directory", root);
			goto out;
		}
		load_side(root, &pa, &fa, &ra, &na);
		load_side(root, &pa, &fb, &rb, &nb);
	}
	for (size_t i = 0; i < pa.errors.n; i++)
		kt_warn("stats compare: skipped %s", pa.errors.v[i]);
	for (size_t i = 0; i < pb.errors.n; i++)
		kt_warn("stats compare: skipped %s", pb.errors.v[i]);
	co.filter = filter;
	co.no_average = no_average;
	co.policy = &pol;
	if (kt_compare(ra, na, rb, nb, &co, &res, &err)) {
		kt_err("stats compare: %s", err);
		goto out;
	}
	if (!positional && !res.n_slicing) {
		kt_err("stats compare: A and B select identical rows. Give at least one per-side "
		       "filter (e.g. --a-kernel 6.14 --b-kernel 6.15) or two runs");
		kt_cmp_result_free(&res);
		goto out;
	}
	if (positional && !res.n_slicing) {
		/* Same configuration on both sides: name the sides by their runs. */
		free(res.label[0]);
		free(res.label[1]);
		res.label[0] = kt_strdup(argv[argi]);
		res.label[1] = kt_strdup(argv[argi + 1]);
	}
	if (res.n_slicing > 1)
		kt_warn("stats compare: slicing on %zu dimensions; the result folds several axes "
			"into one A/B contrast",
			res.n_slicing);
	if (json) {
		print_json(kt_cmp_result_to_json(&res));
	} else {
		struct sbuf s = SBUF_INIT;

		for (int d = 0; d < KT_DIM__COUNT; d++)
			if (res.slicing[d])
				sb_addf(&s, "%s%s", s.len ? ", " : "", kt_dim_name(d));
		printf("slicing dimensions: %s\n", s.len ? sb_str(&s) : "none");
		sb_free(&s);
		sb_adds(&s, "test");
		for (int d = 0; d < KT_DIM__COUNT; d++)
			if (!res.slicing[d])
				sb_addf(&s, ", %s", kt_dim_name(d));
		printf("pairing on: %s\n", sb_str(&s));
		sb_free(&s);
		if (!no_average)
			printf("averaged across %zu sidecars (%s) and %zu sidecars (%s)\n",
			       res.rows_in[0], res.label[0], res.rows_in[1], res.label[1]);
		print_table(&res, all);
		printf("\nsummary: %zu regressions, %zu improvements, %zu unchanged\n",
		       res.regressions, res.improvements, res.unchanged);
		if (res.skipped_failed)
			printf("  %zu pairing key(s) skipped because one or both sides failed or "
			       "skipped\n",
			       res.skipped_failed);
		if (res.new_in_b)
			printf("  %zu key(s) new in '%s' (no match in '%s')\n", res.new_in_b,
			       res.label[1], res.label[0]);
		if (res.removed_from_a)
			printf("  %zu key(s) of '%s' missing from '%s'\n", res.removed_from_a,
			       res.label[0], res.label[1]);
		printf("\nper-key pass counts (passed/total):\n");
		for (size_t i = 0; i < res.pass_counts.n; i++)
			printf("  %s\n", res.pass_counts.v[i]);
	}
	rc = res.regressions ? 1 : 0;
	kt_cmp_result_free(&res);
out:
	free(err);
	free(root);
	free(da);
	free(db);
	free(ra);
	free(rb);
	kt_filter_free(&fa);
	kt_filter_free(&fb);
	kt_pool_free(&pa);
	kt_pool_free(&pb);
	kt_policy_free(&pol);
	kt_opt_release(opts);
	return rc;
}

/* ---- the command ------------------------------------------------------------------- */

static void usage_stats(FILE *f)
{
	fprintf(f, "Usage: ktstr stats <subcommand> [options]\n\n"
		   "Read the sidecars of earlier runs.\n\n"
		   "Subcommands:\n"
		   "  list             the runs: tests, pass/fail counts, date, kernels, commits\n"
		   "  list-metrics     the metrics compare gates on, with their thresholds\n"
		   "  list-values      the values of each compare dimension in the pool\n"
		   "  show-host        the host context a run recorded\n"
		   "  explain-sidecar  a sidecar (or a run's) in words, with why fields are empty\n"
		   "  compare          the regression gate between two runs or two slices\n\n"
		   "Each takes --help and --json.\n");
}

static int cmd_stats(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{"list", cmd_list},
		{"list-metrics", cmd_list_metrics},
		{"list-values", cmd_list_values},
		{"show-host", cmd_show_host},
		{"explain-sidecar", cmd_explain},
		{"compare", cmd_compare},
	};

	if (argc < 2) {
		usage_stats(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage_stats(stdout);
		return 0;
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	kt_err("stats: unknown subcommand '%s' (list, list-metrics, list-values, show-host, "
	       "explain-sidecar, compare)",
	       argv[1]);
	return 2;
}

KTSTR_COMMAND(stats, "stats", "list, explain and compare the sidecars of earlier runs", cmd_stats,
	      40);
