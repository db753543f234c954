// SPDX-License-Identifier: GPL-2.0
/* ktstr: dispatch to subcommands registered in the ktstr_cmds section. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "guest/guest.h"
#include "util/util.h"

extern const struct ktstr_cmd __start_ktstr_cmds[] __attribute__((weak));
extern const struct ktstr_cmd __stop_ktstr_cmds[] __attribute__((weak));

static int cmp_cmd(const void *a, const void *b)
{
	const struct ktstr_cmd *x = *(const struct ktstr_cmd *const *)a;
	const struct ktstr_cmd *y = *(const struct ktstr_cmd *const *)b;

	if (x->order != y->order)
		return x->order - y->order;
	return strcmp(x->name, y->name);
}

static void usage(FILE *f)
{
	size_t n = (size_t)(__stop_ktstr_cmds - __start_ktstr_cmds);
	const struct ktstr_cmd **v = kt_calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = &__start_ktstr_cmds[i];
	qsort(v, n, sizeof(*v), cmp_cmd);
	fprintf(f, "ktstr %s: test harness for Linux process schedulers\n\n"
		   "Usage: ktstr <command> [options]\n\nCommands:\n",
		kt_version);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-14s %s\n", v[i]->name, v[i]->summary);
	fprintf(f, "\nRun `ktstr <command> --help` for a command's options.\n"
		   "Options:\n  -h, --help     show this help\n  -V, --version  show the version\n");
	free(v);
}

static const struct ktstr_cmd *find_cmd(const char *name)
{
	for (const struct ktstr_cmd *c = __start_ktstr_cmds; c < __stop_ktstr_cmds; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct ktstr_cmd *c;

	if (getpid() == 1)
		return ktstr_guest_main(argc, argv);
	signal(SIGPIPE, SIG_DFL);
	kt_cleanup_install();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("ktstr %s\n", kt_version);
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		c = find_cmd(argv[2]);
		if (!c) {
			kt_err("unknown command '%s' (see `ktstr --help`)", argv[2]);
			return 2;
		}
		char *hargv[] = {argv[2], "--help", NULL};
		return c->run(2, hargv);
	}
	c = find_cmd(argv[1]);
	if (!c) {
		kt_err("unknown command '%s' (see `ktstr --help`)", argv[1]);
		return 2;
	}
	return c->run(argc - 1, argv + 1);
}
