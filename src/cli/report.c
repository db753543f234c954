// SPDX-License-Identifier: GPL-2.0
/* `ktstr report [RUN_DIR...] -o FILE`: one self-contained HTML report. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "report/report.h"
#include "results/results.h"
#include "results/stats.h"
#include "util/opt.h"
#include "util/util.h"

/* The most recently modified run directory under root, NULL if none. */
static char *newest_run(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char *best = NULL;
	struct timespec bt = {0};

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		struct stat st;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		p = kt_path_join(root, e->d_name);
		if (!stat(p, &st) && S_ISDIR(st.st_mode) &&
		    (!best || st.st_mtim.tv_sec > bt.tv_sec ||
		     (st.st_mtim.tv_sec == bt.tv_sec && st.st_mtim.tv_nsec > bt.tv_nsec))) {
			free(best);
			best = p;
			bt = st.st_mtim;
		} else {
			free(p);
		}
	}
	closedir(d);
	return best;
}

static int cmd_report(int argc, char **argv)
{
	const char *out = "report.html";
	const struct kt_opt opts[] = {
		KT_OPT("output", 'o', "PATH", "write the report here (default: report.html)",
		       kt_opt_str, &out),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"report", "[-o PATH] [RUN_DIR|RUN_KEY...]",
		"Write one self-contained HTML file (its style, script and data inline; no\n"
		"network access) from the sidecars of one or more runs: a summary, every\n"
		"test's verdict, the failure reports, and plots of wall time per test,\n"
		"off-CPU time per cgroup, per-CPU timelines of monitor samples (when the\n"
		"sidecars carry them) and, with two or more runs, a compare view of each\n"
		"later run against the first, host context differences included.\n"
		"A RUN_KEY names a directory under ${KTSTR_TARGET_DIR:-target}/ktstr. With\n"
		"no run given: KTSTR_SIDECAR_DIR if set, else the newest run directory.",
		opts, NULL, -1,
	};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	char *root = kt_runs_root(), *err = NULL;
	struct kt_strv dirs = {0};
	size_t size = 0, ntests = 0;

	if (rc != KT_OPT_GO) {
		free(root);
		return rc;
	}
	for (int i = argi; i < argc; i++) {
		char *p = kt_run_resolve(root, argv[i], &err);

		if (!p) {
			kt_err("report: %s", err);
			free(err);
			rc = 1;
			goto out;
		}
		kt_strv_add(&dirs, p);
		free(p);
	}
	if (!dirs.n) {
		const char *o = kt_getenv("KTSTR_SIDECAR_DIR");
		char *newest = o ? kt_strdup(o) : newest_run(root);

		if (!newest) {
			kt_err("report: no run given and no run directory under %s", root);
			rc = 1;
			goto out;
		}
		kt_strv_add(&dirs, newest);
		free(newest);
	}
	if (kt_report_write((const char *const *)dirs.v, dirs.n, out, &size, &ntests, &err)) {
		kt_err("report: %s", err);
		free(err);
		rc = 1;
		goto out;
	}
	fprintf(stderr, "ktstr: wrote %s (%zu test results from %zu run%s, %zu bytes)\n", out,
		ntests, dirs.n, dirs.n == 1 ? "" : "s", size);
	rc = 0;
out:
	kt_strv_free(&dirs);
	free(root);
	return rc;
}

KTSTR_COMMAND(report, "report", "write a self-contained HTML report of one or more runs",
	      cmd_report, 65);
