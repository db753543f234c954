/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommand registry. Each src/cli/<name>.c registers itself with
 * KTSTR_COMMAND; main() finds commands through the linker section, so
 * adding a command touches no shared file.
 */
#ifndef KTSTR_CLI_H
#define KTSTR_CLI_H

struct ktstr_cmd {
	const char *name;
	const char *summary;  /* one line for `ktstr --help` */
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	int order;            /* position in --help (lower first) */
};

#define KTSTR_COMMAND(id, name_, summary_, fn_, order_)                                          \
	static const struct ktstr_cmd __ktstr_cmd_##id                                           \
		__attribute__((used, section("ktstr_cmds"), aligned(8))) = {                     \
			.name = name_, .summary = summary_, .run = fn_, .order = order_}

/* Version string ("0.1.0" plus the git description when built from git). */

#endif
