// SPDX-License-Identifier: GPL-2.0
/* ktstr run: catalog scenarios on this machine, under the active scheduler. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "runner/gauntlet.h"
#include "scenario/scenario.h"
#include "util/opt.h"
#include "util/util.h"

#define CGROUP_FS "/sys/fs/cgroup"

static volatile sig_atomic_t run_stop;

/*
 * First signal: ask the executor to stop; it kills the workers, removes the
 * cgroups and we exit 128+sig. A second signal aborts at once (cgroups may
 * then remain: `ktstr cleanup` removes them).
 */
static void on_stop(int sig)
{
	if (!run_stop) {
		run_stop = sig;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* --work-type's help: the work types, six a line. */
static char *work_type_help(void)
{
	size_t n;
	const char *const *names = kt_work_all_names(&n);
	struct sbuf sb = SBUF_INIT;

	sb_adds(&sb, "replace CpuSpin work of swappable cgroups (case-sensitive):\n");
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%s", names[i], i + 1 < n ? (i % 6 == 5 ? ",\n" : ", ") : "");
	return sb_steal(&sb);
}

struct run_args {
	uint64_t duration_ms, workers;
	const char *filter, *flags_s, *wt_s, *shard_s;
	bool json, dev_escape, have_flags, list;
	struct kt_shard shard; /* n == 0: no --shard */
	uint32_t flags;
	struct kt_work override;
};

struct sel {
	const struct kt_catalog_entry *e;
	uint32_t profile;
	char qname[160];
};

static void print_details(const struct kt_assert_result *r)
{
	for (size_t i = 0; i < r->n_details; i++) {
		const char *m = r->details[i].message ? r->details[i].message : "";
		const char *nl, *tag = r->details[i].inconclusive ? "inconclusive: " : "";

		do {
			nl = strchr(m, '\n');
			printf("  %s%.*s\n", tag, nl ? (int)(nl - m) : (int)strlen(m), m);
			tag = "";
			m = nl ? nl + 1 : NULL;
		} while (m && *m);
	}
}

static int parse_duration(const char *s, uint64_t *ms)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d > 0) || d > 86400)
		return -EINVAL;
	*ms = (uint64_t)(d * 1000 + 0.5);
	return *ms ? 0 : -EINVAL;
}

static int set_duration(const struct kt_opt *o, const char *arg)
{
	if (parse_duration(arg, o->dst) < 0) {
		kt_err("--duration '%s': expected a positive number of seconds", arg);
		return -1;
	}
	return 0;
}

/* --work-type and --flags name things this build knows: check them. */
static int check_args(struct run_args *a)
{
	char *err = NULL;

	if (a->wt_s && kt_work_from_name(a->wt_s, &a->override) < 0) {
		size_t n;
		const char *const *names = kt_work_all_names(&n);
		struct sbuf sb = SBUF_INIT;

		for (size_t i = 0; i < n; i++)
			sb_addf(&sb, "%s%s", i ? ", " : "", names[i]);
		kt_err("--work-type '%s': unknown or not constructible work type (valid: %s)",
		       a->wt_s, sb_str(&sb));
		sb_free(&sb);
		return -1;
	}
	if (a->flags_s) {
		if (kt_flags_parse(a->flags_s, &a->flags, &err) < 0) {
			kt_err("--flags '%s': %s", a->flags_s, err);
			free(err);
			return -1;
		}
		a->have_flags = true;
	}
	if (a->shard_s) {
		/* plain K/N only: the cost:/hash: modes are `ktstr test`'s */
		if (strchr(a->shard_s, ':') || kt_shard_parse(a->shard_s, &a->shard, &err) < 0) {
			kt_err("--shard '%s': expected K/N with 1 <= K <= N", a->shard_s);
			free(err);
			return -1;
		}
	}
	return 0;
}

/* The scenarios to run (each under its profile); NULL after reporting none match. */
static struct sel *select_scenarios(const struct run_args *a, size_t *n_sel)
{
	size_t n_cat;
	const struct kt_catalog_entry *cat = kt_catalog(&n_cat);
	struct sel *sels = kt_calloc(n_cat + 1, sizeof(*sels));

	*n_sel = 0;
	if (a->dev_escape) {
		snprintf(sels[0].qname, sizeof(sels[0].qname), "dev_cpuset_escape");
		*n_sel = 1;
		return sels;
	}
	for (size_t i = 0, matched = 0; i < n_cat; i++) {
		const struct kt_catalog_entry *e = &cat[i];
		uint32_t p = a->have_flags ? a->flags : e->required_flags;
		struct sel *s = &sels[*n_sel];
		char pn[96];

		if (!kt_profile_valid(p, e->required_flags, e->excluded_flags))
			continue;
		kt_profile_name(p, pn, sizeof(pn));
		snprintf(s->qname, sizeof(s->qname), "%s/%s", e->name, pn);
		if (a->filter && !strstr(s->qname, a->filter))
			continue;
		/* --shard K/N: round robin over the matches, so slices mix kinds */
		if (a->shard.n && matched++ % a->shard.n != a->shard.k - 1)
			continue;
		s->e = e;
		s->profile = p;
		(*n_sel)++;
	}
	if (*n_sel)
		return sels;
	if (a->have_flags)
		kt_err("no scenario matches filter '%s' under flags '%s'%s%s",
		       a->filter ? a->filter : "", a->flags_s, a->shard_s ? " in shard " : "",
		       a->shard_s ? a->shard_s : "");
	else
		kt_err("no scenario matches filter '%s'%s%s", a->filter ? a->filter : "",
		       a->shard_s ? " in shard " : "", a->shard_s ? a->shard_s : "");
	free(sels);
	return NULL;
}

struct run_counts {
	size_t pass, failed, skipped, inconclusive;
};

/* One scenario's result: a JSON object into arr, or the text lines. */
static void report_one(const struct sel *s, const struct kt_assert_result *res, double secs,
		       json_t *arr)
{
	if (arr) {
		json_t *o = json_object(), *rj = kt_assert_result_to_json(res);

		json_object_set_new(o, "scenario_name", json_string(s->qname));
		json_object_set_new(o, "passed", json_boolean(res->passed));
		json_object_set_new(o, "skipped", json_boolean(res->skipped));
		json_object_set_new(o, "inconclusive", json_boolean(res->inconclusive));
		json_object_set_new(o, "duration_s", json_real(secs));
		json_object_set(o, "details", json_object_get(rj, "details"));
		json_object_set(o, "stats", json_object_get(rj, "stats"));
		json_decref(rj);
		json_array_append_new(arr, o);
	} else {
		printf("[%s] %s (%.1fs)\n", kt_verdict_name(kt_assert_result_verdict(res)), s->qname,
		       secs);
		print_details(res);
		fflush(stdout);
	}
}

/* Run the selected scenarios in ctx until done or stopped. */
static void run_selected(struct kt_ctx *ctx, const struct sel *sels, size_t n_sel, json_t *arr,
			 struct run_counts *n)
{
	for (size_t i = 0; i < n_sel && !run_stop; i++) {
		struct kt_assert_result res;
		uint64_t t0 = kt_now_ns();
		double secs;
		int r;

		memset(&res, 0, sizeof(res));
		if (sels[i].e)
			r = kt_catalog_run(ctx, sels[i].e, &res);
		else
			r = kt_dev_cpuset_escape(ctx, &res);
		secs = (double)(kt_now_ns() - t0) / 1e9;
		if (r == -EINTR || run_stop) {
			kt_assert_result_clear(&res);
			break;
		}
		switch (kt_assert_result_verdict(&res)) {
		case KT_VERDICT_SKIP:
			n->skipped++;
			break;
		case KT_VERDICT_PASS:
			n->pass++;
			break;
		case KT_VERDICT_INCONCLUSIVE:
			n->inconclusive++;
			break;
		default:
			n->failed++;
		}
		report_one(&sels[i], &res, secs, arr);
		kt_assert_result_clear(&res);
	}
}

static void ctx_init(struct kt_ctx *ctx, struct run_args *a, struct kt_hwtopo *topo,
		     struct kt_cgroup_mgr *cg)
{
	const char *sp;

	memset(ctx, 0, sizeof(*ctx));
	ctx->topo = topo;
	ctx->cg = cg;
	ctx->duration_ms = a->duration_ms;
	ctx->workers_per_cgroup = (unsigned)a->workers;
	ctx->settle_ms = 500;
	ctx->work_type_override = a->wt_s ? &a->override : NULL;
	ctx->assert = kt_assert_default_checks();
	ctx->stop = &run_stop;
	sp = kt_getenv("SCHED_PID");
	if (sp) {
		int64_t v;

		if (kt_parse_i64(sp, &v) == 0 && v > 0 && v < (1ll << 31))
			ctx->sched_pid = (pid_t)v;
		else
			kt_warn("ignoring SCHED_PID='%s': not a pid", sp);
	}
}

/* After the run: the JSON array or the summary line; the exit status. */
static int finish(const struct run_args *a, const struct run_counts *n, json_t *arr)
{
	if (a->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	} else if (n->skipped || n->inconclusive) {
		printf("\n%zu/%zu passed (%zu skipped, %zu inconclusive, %zu failed)\n", n->pass,
		       n->pass + n->failed + n->skipped + n->inconclusive, n->skipped,
		       n->inconclusive, n->failed);
	} else {
		printf("\n%zu/%zu passed\n", n->pass, n->pass + n->failed);
	}
	return n->failed ? 1 : n->inconclusive ? 2 : 0;
}

/* Topology, cgroups and our stop path around the scenarios. */
static int run_scenarios(struct run_args *a, const struct sel *sels, size_t n_sel)
{
	struct run_counts n = {0};
	struct kt_hwtopo topo;
	struct kt_cgroup_mgr cg;
	struct kt_ctx ctx;
	json_t *arr = a->json ? json_array() : NULL;
	char *err = NULL, root[128];
	int rc;

	if (kt_hwtopo_read(NULL, &topo, &err) < 0) {
		kt_err("reading CPU topology: %s", err);
		free(err);
		json_decref(arr);
		return 1;
	}
	snprintf(root, sizeof(root), CGROUP_FS "/ktstr-%d", (int)getpid());
	/* Our own stop path: the executor tears down workers and cgroups, then we exit. */
	kt_stop_signals_install(on_stop, false, false);
	if (kt_cgmgr_init(&cg, CGROUP_FS, root, &err) < 0) {
		kt_err("cgroup setup: %s", err);
		free(err);
		kt_hwtopo_free(&topo);
		json_decref(arr);
		return 1;
	}
	ctx_init(&ctx, a, &topo, &cg);
	run_selected(&ctx, sels, n_sel, arr, &n);
	if (kt_cgmgr_destroy(&cg) < 0)
		kt_warn("could not remove %s (run `ktstr cleanup`)", root);
	kt_cgmgr_free(&cg);
	kt_hwtopo_free(&topo);
	if (run_stop) {
		kt_info("interrupted; workers stopped and %s removed", root);
		fflush(stdout);
		rc = 128 + run_stop;
	} else {
		rc = finish(a, &n, arr);
	}
	json_decref(arr);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct run_args a = {.duration_ms = 20000, .workers = 4};
	const struct kt_opt opts[] = {
		KT_OPT("duration", 0, "SECS", "run time of each scenario (default 20; fractions allowed)",
		 set_duration, &a.duration_ms),
		KT_OPT_RANGE("workers", 0, "N", "workers per cgroup where a scenario does not fix it (default 4)",
		 kt_opt_u64, &a.workers, 1, 4096),
		KT_OPT("filter", 0, "SUB", "only scenarios whose name/profile contains SUB (no match = error)",
		 kt_opt_str, &a.filter),
		{.name = "work-type", .arg = "NAME", .help_fn = work_type_help, .set = kt_opt_str,
		 .dst = &a.wt_s},
		KT_OPT("flags", 0, "a,b", "run under this flag profile (llc, borrow, steal, rebal,\n"
				    "reject-pin, no-ctrl); only scenarios valid for it run.\n"
				    "Default: each scenario once, under its required flags.",
		 kt_opt_str, &a.flags_s),
		KT_OPT("shard", 0, "K/N", "run every Nth of the selected scenarios, from the Kth\n"
				  "(1 <= K <= N); shards 1..N together are the whole selection",
		 kt_opt_str, &a.shard_s),
		KT_OPT("list", 0, NULL, "print the selected scenarios (name/profile), run nothing",
		 kt_opt_flag, &a.list),
		KT_OPT("json", 0, NULL, "print a JSON array of results instead of text", kt_opt_flag,
		 &a.json),
		/* developer self-test, not in --help */
		KT_OPT("dev-escape-cpuset", 0, NULL, NULL, kt_opt_flag, &a.dev_escape),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"run", "[options]",
		"Run the scenario catalog on this machine under whatever scheduler is active.\n"
		"Cgroups live in /sys/fs/cgroup/ktstr-<pid>/ (cgroup v2 with cpuset required) and\n"
		"are removed on exit and on Ctrl-C. The scheduler is watched for death when\n"
		"SCHED_PID is set. Each scenario prints [PASS|FAIL|INCONCLUSIVE|SKIP]\n"
		"name/profile (secs), its details indented, then a summary line. INCONCLUSIVE:\n"
		"a check ran but could not tell signal from noise (too few samples, a zero\n"
		"denominator); its detail says which.",
		opts,
		"Exit status: 1 when any scenario failed, else 2 when any was inconclusive,\n"
		"else 0; also 2 on usage errors (with a message on stderr), 130 on Ctrl-C.",
		0,
	};
	struct sel *sels;
	size_t n_sel;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (check_args(&a))
		return 2;
	sels = select_scenarios(&a, &n_sel);
	if (!sels)
		return 1;
	if (a.list) {
		for (size_t i = 0; i < n_sel; i++)
			printf("%s\n", sels[i].qname);
		free(sels);
		return 0;
	}
	rc = run_scenarios(&a, sels, n_sel);
	free(sels);
	return rc;
}

KTSTR_COMMAND(run, "run", "run the scenario catalog on this machine (active scheduler)",
	      cmd_run, 30);
