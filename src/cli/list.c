// SPDX-License-Identifier: GPL-2.0
/* ktstr list: the scenario catalog with categories and flag profiles. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "scenario/scenario.h"
#include "util/opt.h"
#include "util/util.h"

static int cmd_list(int argc, char **argv)
{
	const char *filter = NULL;
	bool json = false;
	const struct kt_opt opts[] = {
		KT_OPT("filter", 0, "SUB", "only scenarios whose name contains SUB", kt_opt_str, &filter),
		KT_OPT("json", 0, NULL, "JSON array of {name,category,description,profiles[]}", kt_opt_flag,
		 &json),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"list", "[--filter SUB] [--json]",
		"List the scenarios `ktstr run` knows: name, category, description and the\n"
		"flag profiles each is valid under (flags: llc, borrow, steal (needs llc),\n"
		"rebal, reject-pin, no-ctrl).",
		opts, NULL, 0,
	};
	size_t n, shown = 0;
	const struct kt_catalog_entry *cat = kt_catalog(&n);
	json_t *arr;
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	arr = json_array();
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
