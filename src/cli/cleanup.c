// SPDX-License-Identifier: GPL-2.0
/* ktstr cleanup: remove cgroups left behind by ktstr runs. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scenario/scenario.h"
#include "util/opt.h"
#include "util/util.h"

#define CGROUP_FS "/sys/fs/cgroup"

/* ktstr-<digits> → pid, else 0; "ktstr" → -1. */
static long dir_pid(const char *name)
{
	const char *p;

	if (!strcmp(name, "ktstr"))
		return -1;
	if (strncmp(name, "ktstr-", 6) || !name[6])
		return 0;
	for (p = name + 6; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return strtol(name + 6, NULL, 10);
}

static bool live_ktstr(long pid)
{
	char path[64], *comm = NULL;
	bool live = false;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (kt_read_file(path, &comm, NULL, 256) == 0) {
		char *c = kt_trim(comm);

		live = !strcmp(c, "ktstr") || !strcmp(c, "cargo-ktstr");
	}
	free(comm);
	return live;
}

static int cmd_cleanup(int argc, char **argv)
{
	const char *parent = NULL;
	const struct kt_opt opts[] = {
		KT_OPT("parent-cgroup", 0, "P", "remove every cgroup below P and keep P", kt_opt_str,
		 &parent),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"cleanup", "[--parent-cgroup P]",
		"Without options: remove " CGROUP_FS "/ktstr and " CGROUP_FS "/ktstr-<pid>\n"
		"cgroups (tasks are moved to the root cgroup first), skipping those whose\n"
		"<pid> is a live ktstr process.\n"
		"With --parent-cgroup P: remove every cgroup below P and keep P (P is a path\n"
		"below " CGROUP_FS ", with or without that prefix).",
		opts, NULL, 0,
	};
	int argi, found = 0, rc = kt_opt_parse(&cl, argc, argv, &argi);
	DIR *d;
	struct dirent *de;

	if (rc != KT_OPT_GO)
		return rc;
	rc = 0;
	if (parent) {
		char *path = kt_startswith(parent, CGROUP_FS "/") || !strcmp(parent, CGROUP_FS)
				     ? kt_strdup(parent)
				     : kt_asprintf(CGROUP_FS "/%s", parent[0] == '/' ? parent + 1
										      : parent);
		int r;

		if (strstr(path, "/..") || !kt_is_dir(path)) {
			kt_err("cgroup path not found: %s", parent);
			free(path);
			return 1;
		}
		r = kt_cgroup_remove_tree(CGROUP_FS, path, true);
		if (r < 0) {
			kt_err("cleaning %s: %s", path, strerror(-r));
			rc = 1;
		} else {
			printf("cleaned up %d cgroup(s) below %s\n", r, path);
		}
		free(path);
		return rc;
	}
	d = opendir(CGROUP_FS);
	if (!d) {
		kt_err("%s: %s", CGROUP_FS, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		long pid = dir_pid(de->d_name);
		char *path;
		int r;

		if (!pid || de->d_type != DT_DIR)
			continue;
		path = kt_path_join(CGROUP_FS, de->d_name);
		found++;
		if (pid > 0 && live_ktstr(pid)) {
			kt_info("skipping %s (live process)", path);
			free(path);
			continue;
		}
		r = kt_cgroup_remove_tree(CGROUP_FS, path, false);
		if (r < 0) {
			kt_err("removing %s: %s", path, strerror(-r));
			rc = 1;
		} else {
			printf("cleaned up %s\n", path);
		}
		free(path);
	}
	closedir(d);
	if (!found)
		printf("no leftover cgroups found\n");
	return rc;
}

KTSTR_COMMAND(cleanup, "cleanup", "remove cgroups left behind by ktstr runs", cmd_cleanup, 33);
