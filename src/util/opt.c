// SPDX-License-Identifier: GPL-2.0
/* Declarative command lines: getopt_long, --help and usage errors from one table. */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "util.h"

#define KEY_BASE 256 /* getopt_long value of a long-only option: KEY_BASE + index */

static const struct kt_opt help_opt = {.name = "help", .key = 'h', .help = "show this help"};

static size_t count_opts(const struct kt_opt *opts)
{
	size_t n = 0;

	while (opts && opts[n].name)
		n++;
	return n;
}

/* "-i, --include-files P" or "--kernel ID". */
static char *left_column(const struct kt_opt *o)
{
	const char *sp = o->arg ? " " : "", *a = o->arg ? o->arg : "";

	if (o->key)
		return kt_asprintf("-%c, --%s%s%s", o->key, o->name, sp, a);
	return kt_asprintf("--%s%s%s", o->name, sp, a);
}

static void print_opt(FILE *f, const struct kt_opt *o, int width)
{
	char *left = left_column(o);
	char *built = o->help_fn ? o->help_fn() : NULL;
	const char *h = built ? built : o->help;
	bool first = true;

	do {
		const char *nl = strchr(h, '\n');
		int len = nl ? (int)(nl - h) : (int)strlen(h);

		fprintf(f, "  %-*s%.*s\n", width, first ? left : "", len, h);
		first = false;
		h = nl ? nl + 1 : NULL;
	} while (h && *h);
	free(built);
	free(left);
}

void kt_opt_help(const struct kt_cmdline *cl, FILE *f)
{
	size_t n = count_opts(cl->opts);
	int width = 0;

	fprintf(f, "Usage: ktstr %s%s%s\n", cl->cmd, cl->synopsis ? " " : "",
		cl->synopsis ? cl->synopsis : "");
	if (cl->about)
		fprintf(f, "\n%s\n", cl->about);
	for (size_t i = 0; i <= n; i++) {
		const struct kt_opt *o = i < n ? &cl->opts[i] : &help_opt;
		int w = (o->key ? 4 : 0) + 2 + (int)strlen(o->name) +
			(o->arg ? 1 + (int)strlen(o->arg) : 0);

		if ((o->help || o->help_fn) && w + 2 > width)
			width = w + 2;
	}
	fprintf(f, "\nOptions:\n");
	for (size_t i = 0; i < n; i++)
		if (cl->opts[i].help || cl->opts[i].help_fn)
			print_opt(f, &cl->opts[i], width);
	print_opt(f, &help_opt, width);
	if (cl->notes)
		fprintf(f, "\n%s\n", cl->notes);
}

void kt_opt_release(const struct kt_opt *opts)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		if (opts[i].set == kt_opt_list) {
			struct kt_optv *l = opts[i].dst;

			free(l->v);
			l->v = NULL;
			l->n = 0;
		}
	}
}

/* The option as the user wrote it: "--name" (without "=value") or "-c". */
static char *spelled(char **argv, int argc)
{
	const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : NULL;

	if (a && kt_startswith(a, "--"))
		return kt_asprintf("%.*s", (int)strcspn(a, "="), a);
	if (optopt > 0 && optopt < KEY_BASE)
		return kt_asprintf("-%c", optopt);
	return kt_strdup(a ? a : "?");
}

/* "--name" of an option that takes no argument (getopt's '?' for "--name=x"). */
static bool takes_none(const struct kt_cmdline *cl, const char *s)
{
	if (!kt_startswith(s, "--"))
		return false;
	if (!strcmp(s + 2, help_opt.name))
		return true;
	for (size_t i = 0; i < count_opts(cl->opts); i++)
		if (!cl->opts[i].arg && !strcmp(s + 2, cl->opts[i].name))
			return true;
	return false;
}

/* One getopt_long pass; KT_OPT_GO, or the exit status. */
static int run_getopt(const struct kt_cmdline *cl, int argc, char **argv, const struct option *lo,
		      const char *so)
{
	size_t n = count_opts(cl->opts);
	int c;

	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct kt_opt *o = NULL;
		char *s;

		if (c == '?' || c == ':') {
			s = spelled(argv, argc);
			kt_err("%s: %s '%s' (see `ktstr %s --help`)", cl->cmd,
			       c == ':'		   ? "missing argument for option"
			       : takes_none(cl, s) ? "no argument allowed for option"
						   : "unknown option",
			       s, cl->cmd);
			free(s);
			return 2;
		}
		if (c == 'h') {
			kt_opt_help(cl, stdout);
			return 0;
		}
		if (c >= KEY_BASE && (size_t)(c - KEY_BASE) < n)
			o = &cl->opts[c - KEY_BASE];
		for (size_t i = 0; !o && i < n; i++)
			if (cl->opts[i].key == c)
				o = &cl->opts[i];
		if (!o || o->set(o, optarg))
			return 2;
	}
	if (cl->max_args >= 0 && argc - optind > cl->max_args) {
		kt_err("%s: unexpected argument '%s' (see `ktstr %s --help`)", cl->cmd,
		       argv[optind + cl->max_args], cl->cmd);
		return 2;
	}
	return KT_OPT_GO;
}

int kt_opt_parse(const struct kt_cmdline *cl, int argc, char **argv, int *argi)
{
	size_t n = count_opts(cl->opts);
	struct option *lo = kt_calloc(n + 2, sizeof(*lo));
	char *so = kt_calloc(2 * n + 4, 1), *p = so;
	int st;

	*p++ = ':'; /* a missing argument returns ':', not '?' */
	for (size_t i = 0; i < n; i++) {
		const struct kt_opt *o = &cl->opts[i];

		lo[i].name = o->name;
		lo[i].has_arg = o->arg ? required_argument : no_argument;
		lo[i].val = o->key ? o->key : KEY_BASE + (int)i;
		if (o->key) {
			*p++ = (char)o->key;
			if (o->arg)
				*p++ = ':';
		}
	}
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	*p = 'h';
	opterr = 0;
	optind = 0; /* full reinitialisation: commands may parse more than once */
	st = run_getopt(cl, argc, argv, lo, so);
	*argi = optind;
	free(lo);
	free(so);
	if (st != KT_OPT_GO)
		kt_opt_release(cl->opts);
	return st;
}

int kt_opt_flag(const struct kt_opt *o, const char *arg)
{
	*(bool *)o->dst = true;
	return 0;
}

int kt_opt_str(const struct kt_opt *o, const char *arg)
{
	*(const char **)o->dst = arg;
	return 0;
}

int kt_opt_list(const struct kt_opt *o, const char *arg)
{
	struct kt_optv *l = o->dst;

	l->v = kt_realloc(l->v, (l->n + 2) * sizeof(*l->v));
	l->v[l->n++] = arg;
	l->v[l->n] = NULL;
	return 0;
}

static int parse_bounded(const struct kt_opt *o, const char *arg, uint64_t *v)
{
	if (kt_parse_u64(arg, v) == 0 && *v >= o->min && *v <= o->max)
		return 0;
	if (o->max == UINT64_MAX)
		kt_err("--%s '%s': expected an integer of at least %llu", o->name, arg,
		       (unsigned long long)o->min);
	else
		kt_err("--%s '%s': expected an integer in %llu..%llu", o->name, arg,
		       (unsigned long long)o->min, (unsigned long long)o->max);
	return -1;
}

int kt_opt_u64(const struct kt_opt *o, const char *arg)
{
	return parse_bounded(o, arg, (uint64_t *)o->dst);
}

int kt_opt_uint(const struct kt_opt *o, const char *arg)
{
	uint64_t v;

	if (o->max > 0xffffffffu) {
		kt_err("--%s: option table bound %llu does not fit an unsigned", o->name,
		       (unsigned long long)o->max);
		return -1;
	}
	if (parse_bounded(o, arg, &v))
		return -1;
	*(unsigned *)o->dst = (unsigned)v;
	return 0;
}
