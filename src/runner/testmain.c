// SPDX-License-Identifier: GPL-2.0
/*
 * The test binary's entry: ktstr_main() and a weak main() calling it.
 *
 *   (PID 1)                 guest init (the binary is the VM's /init)
 *   --list                  "ktstr/NAME: test" per test (validated first)
 *   --exact ktstr/NAME      boot a VM for that test and print its verdict
 *   [FILTER...]             run every test whose name contains a filter
 *                           (no argument: all), one after another
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest.h"
#include "kernel/kernel.h"
#include "runner.h"
#include "util/util.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [--list] [--exact ktstr/NAME] [--no-skip-mode] [-v] [FILTER...]\n"
		"\n"
		"A ktstr test binary. Each test boots a VM with the test's topology, starts its\n"
		"scheduler and runs the test inside it.\n"
		"\n"
		"  --list            list tests as 'ktstr/NAME: test' (after validating them)\n"
		"  --exact NAME      run one test (ktstr/NAME or NAME)\n"
		"  --no-skip-mode    a test the host cannot run fails instead of being skipped\n"
		"                    (also KTSTR_NO_SKIP_MODE)\n"
		"  -v, --verbose     show guest output and diagnostics\n"
		"  FILTER            run the tests whose name contains FILTER (default: all)\n"
		"\n"
		"Exit status: 1 if a test failed, else 2 if one was inconclusive (a check could\n"
		"not tell signal from noise; .allow_inconclusive accepts it), else 0.\n"
		"\n"
		"Run a whole suite in parallel with `ktstr test %s`.\n",
		prog, prog);
}

/* Validate every test; print each problem; return the number of bad tests. */
static int validate_all(void)
{
	size_t n;
	const struct ktstr_test *const *v = kt_registry_tests(&n);
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		struct kt_plan p;
		char *err = NULL;

		if (kt_plan_resolve(v[i], &p, &err)) {
			kt_err("%s", err);
			free(err);
			bad++;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v[j]->name, v[i]->name)) {
				kt_err("ktstr_test '%s': defined twice (%s:%d and %s:%d)",
				       v[i]->name, v[j]->file, v[j]->line, v[i]->file, v[i]->line);
				bad++;
			}
	}
	return bad;
}

static char *list_label(const char *raw)
{
	if (kt_startswith(raw, "kernel_"))
		return kt_strdup(raw);
	return kt_kernel_label_sanitize(raw);
}

static int do_list(void)
{
	size_t n, nk = 0;
	const struct ktstr_test *const *v = kt_registry_tests(&n);
	struct kt_kernel_list_item *items = NULL;
	const char *kl = kt_getenv("KTSTR_KERNEL_LIST");
	char *err = NULL;

	if (validate_all())
		return 1;
	if (kl && kt_kernel_list_parse(kl, &items, &nk, &err)) {
		kt_err("KTSTR_KERNEL_LIST: %s", err);
		free(err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (nk < 2 || v[i]->host_only) {
			printf("ktstr/%s: test\n", v[i]->name);
			continue;
		}
		for (size_t k = 0; k < nk; k++) {
			char *l = list_label(items[k].label);

			printf("ktstr/%s/%s: test\n", v[i]->name, l);
			free(l);
		}
	}
	kt_kernel_list_free(items, nk);
	return 0;
}

static enum kt_verdict run_one(const char *full, struct kt_run_opts_host *o)
{
	char *name = NULL, *label = NULL;
	const struct ktstr_test *t;
	enum kt_verdict rc;

	if (kt_test_parse_full_name(full, &name, &label)) {
		kt_err("invalid test name '%s': expected ktstr/NAME", full);
		return KT_VERDICT_FAIL;
	}
	t = kt_registry_find(name);
	if (!t) {
		kt_err("no test named '%s' in this binary (see --list)", name);
		free(name);
		free(label);
		return KT_VERDICT_FAIL;
	}
	if (label && !kt_getenv("KTSTR_KERNEL_LIST")) {
		kt_err("test name '%s' has a kernel suffix but KTSTR_KERNEL_LIST is not set",
		       full);
		free(name);
		free(label);
		return KT_VERDICT_FAIL;
	}
	o->kernel_label = label;
	rc = kt_run_test_host(t, o);
	o->kernel_label = NULL;
	free(name);
	free(label);
	return rc;
}

/* Anchor the guest "run" mode so that the archive member is linked. */
extern const struct kt_guest_mode __kt_guest_mode_run;
const void *const kt_guest_mode_run_anchor = &__kt_guest_mode_run;

int ktstr_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"list", no_argument, NULL, 'l'},
		{"exact", required_argument, NULL, 'e'},
		{"no-skip-mode", no_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"ignored", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct kt_run_opts_host o = {0};
	const char *exact = NULL;
	bool list = false, ignored = false;
	int c, npass = 0, nfail = 0, ninc = 0, nskip = 0;
	size_t n;
	const struct ktstr_test *const *v;
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	if (getpid() == 1)
		return ktstr_guest_main(argc, argv);
	signal(SIGPIPE, SIG_DFL);
	kt_cleanup_install();
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'e':
			exact = optarg;
			break;
		case 'S':
			o.no_skip = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'i':
			ignored = true;
			break;
		case 'h':
			usage(stdout, prog);
			return 0;
		default:
			usage(stderr, prog);
			return 2;
		}
	}
	if (kt_getenv("KTSTR_NO_SKIP_MODE"))
		o.no_skip = true;
	if (kt_getenv("KTSTR_VERBOSE"))
		o.verbose = true;
	/* Direct mode: KTSTR_CARGO_TEST_MODE, or not started by `ktstr test`. */
	o.direct = kt_getenv("KTSTR_CARGO_TEST_MODE") || !kt_getenv("KTSTR_TEST_RUNNER");
	if (list)
		return ignored ? 0 : do_list();
	if (validate_all())
		return 1;
	/* Exit status: fail 1, inconclusive 2, pass and skip 0. */
	if (exact)
		return kt_verdict_exit_code(run_one(exact, &o));

	v = kt_registry_tests(&n);
	for (size_t i = 0; i < n; i++) {
		bool sel = optind >= argc;

		for (int a = optind; a < argc; a++)
			if (strstr(v[i]->name, argv[a]))
				sel = true;
		if (!sel)
			continue;
		char *full = kt_test_full_name(v[i]->name, NULL);

		switch (run_one(full, &o)) {
		case KT_VERDICT_PASS:
			npass++;
			break;
		case KT_VERDICT_SKIP:
			nskip++;
			break;
		case KT_VERDICT_INCONCLUSIVE:
			ninc++;
			break;
		default:
			nfail++;
		}
		free(full);
	}
	if (npass + nfail + ninc + nskip == 0) {
		kt_err("no test matches");
		return 1;
	}
	printf("%d passed, %d failed, %d skipped, %d inconclusive\n", npass, nfail, nskip, ninc);
	return nfail ? 1 : ninc ? 2 : 0;
}

/* Weak so that a program (or the unit tests) with its own main() wins. */
__attribute__((weak)) int main(int argc, char **argv)
{
	return ktstr_main(argc, argv);
}
