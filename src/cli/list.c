// SPDX-License-Identifier: GPL-2.0
/* ktstr list: the scenario catalog with categories and flag profiles. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "scenario/scenario.h"
#include "util/util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ktstr list [--filter SUB] [--json]\n\n"
		   "List the scenarios `ktstr run` knows: name, category, description and the\n"
		   "flag profiles each is valid under (flags: llc, borrow, steal (needs llc),\n"
		   "rebal, reject-pin, no-ctrl).\n\n"
		   "Options:\n"
		   "  --filter SUB  only scenarios whose name contains SUB\n"
		   "  --json        JSON array of {name,category,description,profiles[]}\n"
		   "  -h, --help    show this help\n");
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"filter", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *filter = NULL;
	bool json = false;
	size_t n, shown = 0;
	const struct kt_catalog_entry *cat = kt_catalog(&n);
	json_t *arr = json_array();
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			filter = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			json_decref(arr);
			return 0;
		default:
			usage(stderr);
			json_decref(arr);
			return 2;
		}
	}
	if (optind < argc) {
		kt_err("unexpected argument '%s' (see `ktstr list --help`)", argv[optind]);
		json_decref(arr);
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kt_catalog_entry *e = &cat[i];
		uint32_t profs[1u << KT_NR_FLAGS];
		size_t np = kt_profiles(e->required_flags, e->excluded_flags, profs,
					KT_ARRAY_SIZE(profs));
		struct sbuf sb = SBUF_INIT;
		json_t *pj = json_array();

		if (filter && !strstr(e->name, filter)) {
			json_decref(pj);
			continue;
		}
		for (size_t k = 0; k < np; k++) {
			char pn[96];

			kt_profile_name(profs[k], pn, sizeof(pn));
			sb_addf(&sb, "%s%s", k ? ", " : "", pn);
			json_array_append_new(pj, json_string(pn));
		}
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "name", json_string(e->name));
			json_object_set_new(o, "category", json_string(e->category));
			json_object_set_new(o, "description", json_string(e->description));
			json_object_set_new(o, "profiles", pj);
			json_array_append_new(arr, o);
		} else {
			printf("%-30s [%-12s] %s (profiles: %s)\n", e->name, e->category,
			       e->description, sb_str(&sb));
			json_decref(pj);
		}
		sb_free(&sb);
		shown++;
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("\n%zu scenarios\n", shown);
	}
	json_decref(arr);
	return 0;
}

KTSTR_COMMAND(list, "list", "list the scenario catalog", cmd_list, 31);
