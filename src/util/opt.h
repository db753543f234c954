/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarative command lines. A command describes its options once, in a
 * table of struct kt_opt, and one struct kt_cmdline; kt_opt_parse() runs
 * getopt_long from it, prints --help from it, reports an unknown option,
 * a missing argument or a surplus positional argument as one line
 * "ktstr: error: <cmd>: ..." and releases what the setters collected
 * when the command is not to go on.
 *
 *	bool json = false;
 *	const struct kt_opt opts[] = {
 *		KT_OPT("json", 0, NULL, "print JSON", kt_opt_flag, &json),
 *		KT_OPT_END,
 *	};
 *	const struct kt_cmdline cl = {"list", "[--json]", "List things.", opts, NULL, 0};
 *	int argi, st = kt_opt_parse(&cl, argc, argv, &argi);
 *
 *	if (st != KT_OPT_GO)
 *		return st;   (0 after --help, 2 after a usage error)
 */
#ifndef KTSTR_UTIL_OPT_H
#define KTSTR_UTIL_OPT_H

#include <stdint.h>
#include <stdio.h>

struct kt_opt;

/* Store (and check) an option's argument; 0, or -1 after a kt_err() line. */
typedef int (*kt_opt_set_fn)(const struct kt_opt *o, const char *arg);

struct kt_opt {
	const char *name;	/* long name without "--"; NULL ends the table */
	int key;		/* short option letter, 0 for none */
	const char *arg;	/* argument name shown in --help; NULL: takes no argument */
	const char *help;	/* --help text, lines split at '\n'; NULL: not listed */
	kt_opt_set_fn set;	/* what the option does */
	void *dst;		/* where set stores */
	uint64_t min, max;	/* bounds for kt_opt_u64 / kt_opt_uint */
	char *(*help_fn)(void); /* --help text built when printed (malloc'd); wins over help */
};

#define KT_OPT(name_, key_, arg_, help_, set_, dst_)                                             \
	{.name = name_, .key = key_, .arg = arg_, .help = help_, .set = set_, .dst = dst_}
#define KT_OPT_RANGE(name_, key_, arg_, help_, set_, dst_, min_, max_)                             \
	{.name = name_, .key = key_, .arg = arg_, .help = help_, .set = set_, .dst = dst_,         \
	 .min = min_, .max = max_}
#define KT_OPT_END {.name = NULL}

/* Repeatable string option: the arguments in order (pointers into argv). */
struct kt_optv {
	const char **v;
	size_t n;
};

struct kt_cmdline {
	const char *cmd;      /* "shell", "kernel build": messages and "Usage: ktstr <cmd>" */
	const char *synopsis; /* rest of the usage line ("[options] BINARY...") */
	const char *about;    /* paragraph(s) after the usage line */
	const struct kt_opt *opts;
	const char *notes;    /* paragraph(s) after the option list; NULL for none */
	int max_args;         /* positional arguments allowed; -1: any number */
};

/* kt_opt_parse(): the command goes on (any other value is its exit status). */
#define KT_OPT_GO (-1)

/*
 * Parse argv (argv[0] is the command's name) against cl. -h/--help is
 * always there. Returns KT_OPT_GO with *argi at the first positional
 * argument, 0 after printing --help to stdout, or 2 after a usage error.
 * On any return but KT_OPT_GO the kt_optv lists are already released.
 */
int kt_opt_parse(const struct kt_cmdline *cl, int argc, char **argv, int *argi);
/* The --help text. */
void kt_opt_help(const struct kt_cmdline *cl, FILE *f);
/* Release what the setters of opts allocated (the kt_optv arrays). */
void kt_opt_release(const struct kt_opt *opts);

/* Setters. */
int kt_opt_flag(const struct kt_opt *o, const char *arg); /* bool *dst = true */
int kt_opt_str(const struct kt_opt *o, const char *arg);  /* const char **dst = arg */
int kt_opt_list(const struct kt_opt *o, const char *arg); /* struct kt_optv *dst += arg */
int kt_opt_u64(const struct kt_opt *o, const char *arg);  /* uint64_t *dst, min..max */
int kt_opt_uint(const struct kt_opt *o, const char *arg); /* unsigned *dst, min..max */

#endif
