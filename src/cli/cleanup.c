// SPDX-License-Identifier: GPL-2.0
/* ktstr cleanup: remove cgroups left behind by ktstr runs. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scenario/scenario.h"
#include "util/util.h"

#define CGROUP_FS "/sys/fs/cgroup"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ktstr cleanup [--parent-cgroup P]\n\n"
		   "Without options: remove " CGROUP_FS "/ktstr and " CGROUP_FS "/ktstr-<pid>\n"
		   "cgroups (tasks are moved to the root cgroup first), skipping those whose\n"
		   "<pid> is a live ktstr process.\n"
		   "With --parent-cgroup P: remove every cgroup below P and keep P (P is a path\n"
		   "below " CGROUP_FS ", with or without that prefix).\n");
}

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
	static const struct option opts[] = {
		{"parent-cgroup", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *parent = NULL;
	int c, found = 0, rc = 0;
	DIR *d;
	struct dirent *de;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			parent = optarg;
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
		kt_err("unexpected argument '%s' (see `ktstr cleanup --help`)", argv[optind]);
		return 2;
	}
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
