// SPDX-License-Identifier: GPL-2.0
/* `ktstr host-state capture|show|compare`: the host context of runs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report/hoststate.h"
#include "results/results.h"
#include "util/opt.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ktstr host-state <capture|show|compare> [options]\n\n"
		   "  capture  write this host's state (CPU, governor, SMT, THP, cmdline, load...)\n"
		   "  show     print the host state of this host or of a snapshot, sidecar or run\n"
		   "  compare  list what differs between two host states\n\n"
		   "A SOURCE is a snapshot file written by `capture`, a sidecar file, a run\n"
		   "directory, or a run key under ${KTSTR_TARGET_DIR:-target}/ktstr.\n"
		   "Run `ktstr host-state <sub> --help` for options.\n");
}

static int cmd_capture(int argc, char **argv)
{
	const char *out = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("output", 'o', "PATH", "write the snapshot here (default: stdout)",
		       kt_opt_str, &out),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"host-state capture", "[-o PATH]",
		"Capture this host's state as JSON: CPU model and vendor, memory, huge pages,\n"
		"THP, online CPUs, NUMA nodes, kernel release and command line, sched_*\n"
		"sysctls, cpufreq governor and driver, boost, SMT control and activity,\n"
		"isolated/nohz_full CPUs, NUMA balancing, clocksource, load average and CPU\n"
		"pressure. Values that cannot be read are left out.",
		opts, NULL, 0,
	};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	json_t *snap;
	char *text;

	if (rc != KT_OPT_GO)
		return rc;
	snap = kt_host_state_snapshot();
	text = json_dumps(snap, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(snap);
	if (!out) {
		printf("%s\n", text);
		free(text);
		return 0;
	}
	size_t len = strlen(text);

	text = kt_realloc(text, len + 2);
	text[len++] = '\n';
	rc = kt_write_file_atomic(out, text, len, 0644);
	free(text);
	if (rc) {
		kt_err("host-state capture: write %s: %s", out, strerror(-rc));
		return 1;
	}
	fprintf(stderr, "ktstr: wrote host-state snapshot to %s\n", out);
	return 0;
}

static int load(const char *cmd, const char *src, json_t **h)
{
	char *err = NULL;

	if (kt_host_state_load(src, h, &err)) {
		kt_err("%s: %s", cmd, err);
		free(err);
		return -1;
	}
	return 0;
}

static int cmd_show(int argc, char **argv)
{
	bool json = false;
	const struct kt_opt opts[] = {
		KT_OPT("json", 0, NULL, "print the host context as JSON", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"host-state show", "[--json] [SOURCE]",
		"Print a host context: this host's (no SOURCE), or the one recorded in a\n"
		"snapshot, a sidecar or a run (its first sidecar with a host context).",
		opts, NULL, 1,
	};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	json_t *h;

	if (rc != KT_OPT_GO)
		return rc;
	if (argi < argc) {
		if (load("host-state show", argv[argi], &h))
			return 1;
	} else {
		h = kt_host_context();
	}
	if (json) {
		char *t = json_dumps(h, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", t);
		free(t);
	} else {
		kt_host_state_print(stdout, h);
	}
	json_decref(h);
	return 0;
}

static void print_val(const char *v, int w)
{
	printf("  %-*s", w, v ? v : "(absent)");
}

static int cmd_compare(int argc, char **argv)
{
	bool json = false;
	const struct kt_opt opts[] = {
		KT_OPT("json", 0, NULL, "print the differences as JSON", kt_opt_flag, &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"host-state compare", "[--json] BASE CAND",
		"List the host-context keys whose values differ between BASE and CAND\n"
		"(each a SOURCE: snapshot, sidecar, run directory or run key). Configuration\n"
		"differences come first; load and pressure, which change from moment to\n"
		"moment, are listed apart. Exit 0 either way.",
		opts, NULL, 2,
	};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);
	struct kt_host_diff *d;
	size_t n, same, nvol = 0;
	json_t *a, *b;
	int w = 4, wa = 4;

	if (rc != KT_OPT_GO)
		return rc;
	if (argc - argi != 2) {
		kt_err("host-state compare: need BASE and CAND (see --help)");
		return 2;
	}
	if (load("host-state compare", argv[argi], &a))
		return 1;
	if (load("host-state compare", argv[argi + 1], &b)) {
		json_decref(a);
		return 1;
	}
	kt_host_state_diff(a, b, &d, &n, &same);
	json_decref(a);
	json_decref(b);
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(
				arr, json_pack("{s:s,s:s?,s:s?,s:b}", "key", d[i].key, "base", d[i].a,
					       "cand", d[i].b, "volatile",
					       kt_host_state_is_volatile(d[i].key)));
		json_t *o = json_pack("{s:o,s:i}", "differences", arr, "unchanged", (json_int_t)same);
		char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", t);
		free(t);
		json_decref(o);
		kt_host_diff_free(d, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if ((int)strlen(d[i].key) > w)
			w = (int)strlen(d[i].key);
		if (d[i].a && (int)strlen(d[i].a) > wa && strlen(d[i].a) < 40)
			wa = (int)strlen(d[i].a);
		nvol += kt_host_state_is_volatile(d[i].key);
	}
	printf("host-state compare: %s -> %s\n", argv[argi], argv[argi + 1]);
	if (n == nvol) {
		printf("configuration: identical (%zu keys)\n", same);
	} else {
		printf("configuration differences (%zu):\n", n - nvol);
		printf("  %-*s  %-*s  %s\n", w, "key", wa, "base", "cand");
		for (size_t i = 0; i < n; i++) {
			if (kt_host_state_is_volatile(d[i].key))
				continue;
			printf("  %-*s", w, d[i].key);
			print_val(d[i].a, wa);
			print_val(d[i].b, 0);
			printf("\n");
		}
	}
	if (nvol) {
		printf("load (changes from moment to moment):\n");
		for (size_t i = 0; i < n; i++) {
			if (!kt_host_state_is_volatile(d[i].key))
				continue;
			printf("  %-*s", w, d[i].key);
			print_val(d[i].a, wa);
			print_val(d[i].b, 0);
			printf("\n");
		}
	}
	printf("unchanged: %zu keys\n", same);
	kt_host_diff_free(d, n);
	return 0;
}

static int cmd_host_state(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "capture"))
		return cmd_capture(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "compare"))
		return cmd_compare(argc - 1, argv + 1);
	kt_err("host-state: unknown subcommand '%s' (capture, show, compare)", argv[1]);
	return 2;
}

KTSTR_COMMAND(host_state, "host-state", "capture, show and compare the host context of runs",
	      cmd_host_state, 70);
