// SPDX-License-Identifier: GPL-2.0
/* ktstr run: catalog scenarios on this machine, under the active scheduler. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "scenario/scenario.h"
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

static void usage(FILE *f)
{
	size_t n;
	const char *const *names = kt_work_all_names(&n);

	fprintf(f,
		"Usage: ktstr run [options]\n\n"
		"Run the scenario catalog on this machine under whatever scheduler is active.\n"
		"Cgroups live in /sys/fs/cgroup/ktstr-<pid>/ (cgroup v2 with cpuset required) and\n"
		"are removed on exit and on Ctrl-C. The scheduler is watched for death when\n"
		"SCHED_PID is set. Each scenario prints [PASS|FAIL|SKIP] name/profile (secs),\n"
		"its details indented, then a summary line.\n\n"
		"Options:\n"
		"  --duration SECS    run time of each scenario (default 20; fractions allowed)\n"
		"  --workers N        workers per cgroup where a scenario does not fix it (default 4)\n"
		"  --filter SUB       only scenarios whose name/profile contains SUB (no match = error)\n"
		"  --work-type NAME   replace CpuSpin work of swappable cgroups (case-sensitive):\n"
		"                     ");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", names[i], i + 1 < n ? (i % 6 == 5 ? ",\n                     " : ", ") : "\n");
	fprintf(f,
		"  --flags a,b        run under this flag profile (llc, borrow, steal, rebal,\n"
		"                     reject-pin, no-ctrl); only scenarios valid for it run.\n"
		"                     Default: each scenario once, under its required flags.\n"
		"  --json             print a JSON array of results instead of text\n"
		"  -h, --help         show this help\n\n"
		"Exit status: 0 when no scenario failed, 1 when any failed (unlike the Rust\n"
		"ktstr, which exits 0 either way), 2 on usage errors, 130 on Ctrl-C.\n");
}

struct sel {
	const struct kt_catalog_entry *e;
	uint32_t profile;
	char qname[160];
};

static void print_details(const struct kt_assert_result *r)
{
	for (size_t i = 0; i < r->n_details; i++) {
		const char *m = r->details[i].message ? r->details[i].message : "";
		const char *nl;

		do {
			nl = strchr(m, '\n');
			printf("  %.*s\n", nl ? (int)(nl - m) : (int)strlen(m), m);
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

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"duration", required_argument, NULL, 'd'},
		{"workers", required_argument, NULL, 'w'},
		{"filter", required_argument, NULL, 'f'},
		{"work-type", required_argument, NULL, 't'},
		{"flags", required_argument, NULL, 'F'},
		{"json", no_argument, NULL, 'j'},
		{"dev-escape-cpuset", no_argument, NULL, 'E'}, /* developer self-test, not in --help */
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t duration_ms = 20000, workers = 4;
	const char *filter = NULL, *flags_s = NULL, *wt_s = NULL;
	bool json = false, dev_escape = false, have_flags = false;
	uint32_t flags = 0;
	struct kt_work override;
	struct kt_topo topo;
	struct kt_cgroup_mgr cg;
	struct kt_ctx ctx;
	struct sel *sels;
	size_t n_cat, n_sel = 0, pass = 0, failed = 0, skipped = 0;
	const struct kt_catalog_entry *cat = kt_catalog(&n_cat);
	json_t *arr = NULL;
	char *err = NULL, root[128];
	struct sigaction sa;
	const char *sp;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_duration(optarg, &duration_ms) < 0) {
				kt_err("--duration '%s': expected a positive number of seconds", optarg);
				return 2;
			}
			break;
		case 'w':
			if (kt_parse_u64(optarg, &workers) < 0 || workers == 0 || workers > 4096) {
				kt_err("--workers '%s': expected an integer in 1..4096", optarg);
				return 2;
			}
			break;
		case 'f':
			filter = optarg;
			break;
		case 't':
			wt_s = optarg;
			break;
		case 'F':
			flags_s = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'E':
			dev_escape = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		kt_err("unexpected argument '%s' (see `ktstr run --help`)", argv[optind]);
		return 2;
	}
	if (wt_s && kt_work_from_name(wt_s, &override) < 0) {
		size_t n;
		const char *const *names = kt_work_all_names(&n);
		struct sbuf sb = SBUF_INIT;

		for (size_t i = 0; i < n; i++)
			sb_addf(&sb, "%s%s", i ? ", " : "", names[i]);
		kt_err("--work-type '%s': unknown or not constructible work type (valid: %s)", wt_s,
		       sb_str(&sb));
		sb_free(&sb);
		return 2;
	}
	if (flags_s) {
		if (kt_flags_parse(flags_s, &flags, &err) < 0) {
			kt_err("--flags '%s': %s", flags_s, err);
			free(err);
			return 2;
		}
		have_flags = true;
	}

	/* Select scenarios. */
	sels = kt_calloc(n_cat + 1, sizeof(*sels));
	if (dev_escape) {
		snprintf(sels[0].qname, sizeof(sels[0].qname), "dev_cpuset_escape");
		n_sel = 1;
	} else {
		for (size_t i = 0; i < n_cat; i++) {
			const struct kt_catalog_entry *e = &cat[i];
			uint32_t p = have_flags ? flags : e->required_flags;
			char pn[96];

			if (!kt_profile_valid(p, e->required_flags, e->excluded_flags))
				continue;
			kt_profile_name(p, pn, sizeof(pn));
			snprintf(sels[n_sel].qname, sizeof(sels[n_sel].qname), "%s/%s", e->name, pn);
			if (filter && !strstr(sels[n_sel].qname, filter))
				continue;
			sels[n_sel].e = e;
			sels[n_sel].profile = p;
			n_sel++;
		}
	}
	if (n_sel == 0) {
		if (have_flags)
			kt_err("no scenario matches filter '%s' under flags '%s'",
			       filter ? filter : "", flags_s);
		else
			kt_err("no scenario matches filter '%s'", filter ? filter : "");
		free(sels);
		return 1;
	}

	if (kt_topo_read(NULL, &topo, &err) < 0) {
		kt_err("reading CPU topology: %s", err);
		free(err);
		free(sels);
		return 1;
	}
	snprintf(root, sizeof(root), CGROUP_FS "/ktstr-%d", (int)getpid());

	/* Our own stop path: the executor tears down workers and cgroups, then we exit. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (kt_cgmgr_init(&cg, CGROUP_FS, root, &err) < 0) {
		kt_err("cgroup setup: %s", err);
		free(err);
		kt_topo_free(&topo);
		free(sels);
		return 1;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.topo = &topo;
	ctx.cg = &cg;
	ctx.duration_ms = duration_ms;
	ctx.workers_per_cgroup = (unsigned)workers;
	ctx.settle_ms = 500;
	ctx.work_type_override = wt_s ? &override : NULL;
	ctx.assert = kt_assert_default_checks();
	ctx.stop = &run_stop;
	sp = kt_getenv("SCHED_PID");
	if (sp) {
		int64_t v;

		if (kt_parse_i64(sp, &v) == 0 && v > 0 && v < (1ll << 31))
			ctx.sched_pid = (pid_t)v;
		else
			kt_warn("ignoring SCHED_PID='%s': not a pid", sp);
	}
	if (json)
		arr = json_array();

	for (size_t i = 0; i < n_sel && !run_stop; i++) {
		struct kt_assert_result res;
		uint64_t t0 = kt_now_ns();
		double secs;
		int r;

		memset(&res, 0, sizeof(res));
		if (sels[i].e)
			r = kt_catalog_run(&ctx, sels[i].e, &res);
		else
			r = kt_dev_cpuset_escape(&ctx, &res);
		secs = (double)(kt_now_ns() - t0) / 1e9;
		if (r == -EINTR || run_stop) {
			kt_assert_result_clear(&res);
			break;
		}
		if (res.skipped)
			skipped++;
		else if (res.passed)
			pass++;
		else
			failed++;
		if (json) {
			json_t *o = json_object(), *rj = kt_assert_result_to_json(&res);

			json_object_set_new(o, "scenario_name", json_string(sels[i].qname));
			json_object_set_new(o, "passed", json_boolean(res.passed));
			json_object_set_new(o, "skipped", json_boolean(res.skipped));
			json_object_set_new(o, "duration_s", json_real(secs));
			json_object_set(o, "details", json_object_get(rj, "details"));
			json_object_set(o, "stats", json_object_get(rj, "stats"));
			json_decref(rj);
			json_array_append_new(arr, o);
		} else {
			printf("[%s] %s (%.1fs)\n",
			       res.skipped ? "SKIP" : res.passed ? "PASS" : "FAIL", sels[i].qname,
			       secs);
			print_details(&res);
			fflush(stdout);
		}
		kt_assert_result_clear(&res);
	}

	if (kt_cgmgr_destroy(&cg) < 0)
		kt_warn("could not remove %s (run `ktstr cleanup`)", root);
	kt_cgmgr_free(&cg);
	kt_topo_free(&topo);
	free(sels);
	if (run_stop) {
		json_decref(arr);
		kt_info("interrupted; workers stopped and %s removed", root);
		fflush(stdout);
		return 128 + run_stop;
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(arr);
	} else {
		size_t total = pass + failed + skipped;

		if (skipped)
			printf("\n%zu/%zu passed (%zu skipped, %zu failed)\n", pass, total, skipped,
			       failed);
		else
			printf("\n%zu/%zu passed\n", pass, total);
	}
	if (failed)
		rc = 1;
	return rc;
}

KTSTR_COMMAND(run, "run", "run the scenario catalog on this machine (active scheduler)",
	      cmd_run, 30);
