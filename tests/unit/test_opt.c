// SPDX-License-Identifier: GPL-2.0
/* The declarative command-line parser (src/util/opt.c). */
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"
#include "util/opt.h"
#include "util/util.h"

struct demo {
	bool json;
	const char *name;
	struct kt_optv inc;
	uint64_t n;
	unsigned jobs;
	int custom_calls;
	char *buf; /* the argv strings of the last parse */
};

static int set_fail(const struct kt_opt *o, const char *arg)
{
	struct demo *d = o->dst;

	d->custom_calls++;
	kt_err("--%s '%s': no good", o->name, arg);
	return -1;
}

/* Parse args (space separated) with the demo table; stdout and stderr into *out / *err. */
static int parse(const char *args, struct demo *d, int *argi, char **out, char **err)
{
	const struct kt_opt opts[] = {
	    KT_OPT("json", 0, NULL, "print JSON", kt_opt_flag, &d->json),
	    KT_OPT("name", 'n', "NAME", "a name\nsecond line", kt_opt_str, &d->name),
	    KT_OPT("include", 'i', "P", "repeatable", kt_opt_list, &d->inc),
	    KT_OPT_RANGE("count", 0, "N", "1 to 10", kt_opt_u64, &d->n, 1, 10),
	    KT_OPT_RANGE("jobs", 'j', "N", "2 to 4", kt_opt_uint, &d->jobs, 2, 4),
	    KT_OPT("bad", 0, "X", "always refused", set_fail, d),
	    KT_OPT("secret", 0, NULL, NULL, kt_opt_flag, &d->json),
	    KT_OPT_END,
	};
	const struct kt_cmdline cl = {"demo", "[options] [ARG]", "Demo command.",
				      opts,   "Notes here.",	 1};
	char *argv[32], *copy = kt_asprintf("demo %s", args), *save = NULL;
	char *po = kt_path_join(unit_tmpdir(), "out"), *pe = kt_path_join(unit_tmpdir(), "err");
	int argc = 0, so = dup(1), se = dup(2), fo, fe, st;

	for (char *t = strtok_r(copy, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	fflush(NULL);
	fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fo, 1);
	dup2(fe, 2);
	st = kt_opt_parse(&cl, argc, argv, argi);
	fflush(NULL);
	dup2(so, 1);
	dup2(se, 2);
	close(fo);
	close(fe);
	close(so);
	close(se);
	CHECK_INT_EQ(kt_read_file(po, out, NULL, 0), 0);
	CHECK_INT_EQ(kt_read_file(pe, err, NULL, 0), 0);
	free(po);
	free(pe);
	free(d->buf);
	d->buf = copy; /* stored option values point into it */
	return st;
}

UNIT_TEST(opt_parse_values)
{
	struct demo d = {0};
	char *out, *err;
	int argi;

	CHECK_INT_EQ(
	    parse("--json -n x -i a --include=b -ic --count 3 -j4 pos", &d, &argi, &out, &err),
	    KT_OPT_GO);
	CHECK(d.json);
	CHECK_STR_EQ(d.name, "x");
	CHECK_INT_EQ(d.inc.n, 3);
	CHECK_STR_EQ(d.inc.v[0], "a");
	CHECK_STR_EQ(d.inc.v[1], "b");
	CHECK_STR_EQ(d.inc.v[2], "c");
	CHECK(d.inc.v[3] == NULL);
	CHECK_INT_EQ(d.n, 3);
	CHECK_INT_EQ(d.jobs, 4);
	CHECK_INT_EQ(argi, 11);
	CHECK_STR_EQ(out, "");
	CHECK_STR_EQ(err, "");
	kt_opt_release((const struct kt_opt[]){KT_OPT("include", 'i', "P", "", kt_opt_list, &d.inc),
					       KT_OPT_END});
	CHECK(d.inc.v == NULL && d.inc.n == 0);
	free(out);
	free(err);
	/* unambiguous abbreviations and "--" work as with getopt_long */
	free(d.buf);
	memset(&d, 0, sizeof(d));
	CHECK_INT_EQ(parse("--js --cou 10 -- --json", &d, &argi, &out, &err), KT_OPT_GO);
	CHECK(d.json);
	CHECK_INT_EQ(d.n, 10);
	CHECK_INT_EQ(argi, 5);
	free(out);
	free(err);
	free(d.buf);
}

UNIT_TEST(opt_parse_errors)
{
	struct demo d = {0};
	char *out, *err;
	int argi;

	/* unknown option: one error line, exit status 2, lists released */
	CHECK_INT_EQ(parse("-i a --bogus", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err,
		     "ktstr: error: demo: unknown option '--bogus' (see `ktstr demo --help`)\n");
	CHECK_STR_EQ(out, "");
	CHECK(d.inc.v == NULL && d.inc.n == 0);
	free(out);
	free(err);
	CHECK_INT_EQ(parse("-x", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err, "ktstr: error: demo: unknown option '-x' (see `ktstr demo --help`)\n");
	free(out);
	free(err);
	CHECK_INT_EQ(parse("--bogus=1", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err,
		     "ktstr: error: demo: unknown option '--bogus' (see `ktstr demo --help`)\n");
	free(out);
	free(err);
	/* missing argument, long and short */
	CHECK_INT_EQ(parse("--name", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err, "ktstr: error: demo: missing argument for option '--name' "
			  "(see `ktstr demo --help`)\n");
	free(out);
	free(err);
	CHECK_INT_EQ(parse("-n", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err, "ktstr: error: demo: missing argument for option '-n' "
			  "(see `ktstr demo --help`)\n");
	free(out);
	free(err);
	/* an argument to a flag */
	CHECK_INT_EQ(parse("--json=1", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err, "ktstr: error: demo: no argument allowed for option '--json' "
			  "(see `ktstr demo --help`)\n");
	free(out);
	free(err);
	/* bounds */
	CHECK_INT_EQ(parse("--count 11", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err, "ktstr: error: --count '11': expected an integer in 1..10\n");
	free(out);
	free(err);
	CHECK_INT_EQ(parse("-j 1", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err, "ktstr: error: --jobs '1': expected an integer in 2..4\n");
	free(out);
	free(err);
	CHECK_INT_EQ(parse("--count 2x", &d, &argi, &out, &err), 2);
	free(out);
	free(err);
	/* a setter's refusal: its own line, status 2 */
	CHECK_INT_EQ(parse("--bad v", &d, &argi, &out, &err), 2);
	CHECK_INT_EQ(d.custom_calls, 1);
	CHECK_STR_EQ(err, "ktstr: error: --bad 'v': no good\n");
	free(out);
	free(err);
	/* too many positional arguments */
	CHECK_INT_EQ(parse("a b", &d, &argi, &out, &err), 2);
	CHECK_STR_EQ(err,
		     "ktstr: error: demo: unexpected argument 'b' (see `ktstr demo --help`)\n");
	free(out);
	free(err);
}

UNIT_TEST(opt_help)
{
	struct demo d = {0};
	char *out, *err;
	int argi;

	CHECK_INT_EQ(parse("-i a --help --bogus", &d, &argi, &out, &err), 0);
	CHECK(d.inc.v == NULL); /* released: the command does not go on */
	CHECK_STR_EQ(err, "");
	CHECK_STR_EQ(out, "Usage: ktstr demo [options] [ARG]\n"
			  "\n"
			  "Demo command.\n"
			  "\n"
			  "Options:\n"
			  "  --json           print JSON\n"
			  "  -n, --name NAME  a name\n"
			  "                   second line\n"
			  "  -i, --include P  repeatable\n"
			  "  --count N        1 to 10\n"
			  "  -j, --jobs N     2 to 4\n"
			  "  --bad X          always refused\n"
			  "  -h, --help       show this help\n"
			  "\n"
			  "Notes here.\n");
	free(out);
	free(err);
	CHECK_INT_EQ(parse("-h", &d, &argi, &out, &err), 0);
	CHECK_STR_CONTAINS(out, "Usage: ktstr demo");
	free(out);
	free(err);
}
