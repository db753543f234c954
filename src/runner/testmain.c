// SPDX-License-Identifier: GPL-2.0
/*
 * The test binary's entry: ktstr_main() and a weak main() calling it.
 *
 *   (PID 1)                 guest init (the binary is the VM's /init)
 *   --list                  "ktstr/NAME: test" per test (validated first);
 *                           with --ignored / --include-ignored the gauntlet
 *                           variants "gauntlet/NAME/PRESET/PROFILE: test"
 *                           (src/runner/gauntlet.h), with -v also the
 *                           filtered ones and why, with --json one JSON
 *                           object per line (for `ktstr test`)
 *   --exact NAME            boot a VM for that test or variant, print its verdict
 *   [FILTER...]             run every test whose name contains a filter
 *                           (no argument: all), one after another
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "gauntlet.h"
#include "guest/guest.h"
#include "kernel/kernel.h"
#include "runner.h"
#include "util/util.h"
#include "vm/vm.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [--list [--json]] [--exact NAME] [--ignored|--include-ignored]\n"
		"       [--no-skip-mode] [-v] [FILTER...]\n"
		"\n"
		"A ktstr test binary. Each test boots a VM with the test's topology, starts its\n"
		"scheduler and runs the test inside it.\n"
		"\n"
		"  --list            list tests as 'ktstr/NAME: test' (after validating them)\n"
		"  --exact NAME      run one test (ktstr/NAME or NAME) or gauntlet variant\n"
		"                    (gauntlet/NAME/PRESET/PROFILE)\n"
		"  --ignored         only the gauntlet variants: each test over the topology\n"
		"                    presets and flag profiles this host can run\n"
		"  --include-ignored the tests and their gauntlet variants (also --gauntlet)\n"
		"  --json            with --list: one JSON object per test or variant\n"
		"  --no-skip-mode    a test the host cannot run fails instead of being skipped\n"
		"                    (also KTSTR_NO_SKIP_MODE)\n"
		"  -v, --verbose     show guest output and diagnostics; with --list, also the\n"
		"                    variants filtered out and why\n"
		"  FILTER            run the tests whose name contains FILTER (default: all)\n"
		"\n"
		"KTSTR_BUDGET_SECS=S: --list keeps the subset with the most coverage (schedulers,\n"
		"presets, flags) whose expected time fits S seconds, and says what it dropped.\n"
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

enum ignored_mode { IGN_EXCLUDE, IGN_ONLY, IGN_INCLUDE };

/* What the VMs will run under: the accelerator auto picks, and the allowed CPUs. */
static void host_caps(struct kt_host_caps *h)
{
	enum kt_accel a = KT_ACCEL_TCG;
	char *why = NULL, *err = NULL;

	if (kt_accel_resolve(KT_ACCEL_AUTO, &a, &why, &err))
		a = KT_ACCEL_TCG;
	free(why);
	free(err);
	h->kvm = a == KT_ACCEL_KVM;
	h->cpus = (int)kt_allowed_cpus();
}

/* Every entry of this binary (see gauntlet.h); labels from KTSTR_KERNEL_LIST. */
static int build_entries(bool gauntlet, bool with_filtered, struct kt_entry **e, size_t *ne,
			 char ***labels, size_t *nl)
{
	size_t n, nk = 0;
	const struct ktstr_test *const *v = kt_registry_tests(&n);
	struct kt_kernel_list_item *items = NULL;
	const char *kl = kt_getenv("KTSTR_KERNEL_LIST");
	struct kt_host_caps h = {0};
	char *err = NULL;
	int r;

	*labels = NULL;
	*nl = 0;
	if (kl && kt_kernel_list_parse(kl, &items, &nk, &err)) {
		kt_err("KTSTR_KERNEL_LIST: %s", err);
		free(err);
		return -EINVAL;
	}
	*labels = kt_calloc(nk + 1, sizeof(**labels));
	for (size_t k = 0; k < nk; k++)
		(*labels)[k] = list_label(items[k].label);
	*nl = nk;
	kt_kernel_list_free(items, nk);
	if (gauntlet)
		host_caps(&h);
	r = kt_entries_build(v, n, gauntlet, &h, (const char *const *)*labels, *nl, with_filtered,
			     e, ne);
	if (r)
		kt_err("cannot expand the tests: %s", strerror(-r));
	return r;
}

static void free_labels(char **labels, size_t nl)
{
	for (size_t i = 0; i < nl; i++)
		free(labels[i]);
	free(labels);
}

static bool shown(const struct kt_entry *e, enum ignored_mode ign)
{
	return ign == IGN_INCLUDE || (ign == IGN_ONLY) == e->ignored;
}

static void print_json(const struct kt_entry *e)
{
	const struct ktstr_scheduler *s = e->test->scheduler;
	json_t *j = json_object(), *fl = json_array();
	char *txt;

	for (size_t i = 0; s && i < KTSTR_MAX_FLAGS && s->flags[i].name; i++)
		if (e->flags & (1u << i))
			json_array_append_new(fl, json_string(s->flags[i].name));
	json_object_set_new(j, "name", json_string(e->name));
	json_object_set_new(j, "test", json_string(e->test->name));
	json_object_set_new(j, "preset", e->preset ? json_string(e->preset->name) : json_null());
	json_object_set_new(j, "profile", json_string(e->profile));
	json_object_set_new(j, "flags", fl);
	json_object_set_new(j, "scheduler", json_string(s ? s->name : "eevdf"));
	json_object_set_new(j, "topology", json_string(e->topo));
	json_object_set_new(j, "cpus", json_integer(e->cpus));
	json_object_set_new(j, "llcs", json_integer(e->llcs));
	json_object_set_new(j, "numa_nodes", json_integer(e->numa_nodes));
	json_object_set_new(j, "threads", json_integer(e->threads));
	json_object_set_new(j, "duration_s", json_integer(e->duration_s));
	json_object_set_new(j, "host_only", json_boolean(e->test->host_only));
	json_object_set_new(j, "kaslr", json_boolean(e->test->kaslr));
	json_object_set_new(j, "ignored", json_boolean(e->ignored));
	json_object_set_new(j, "kernel", e->label ? json_string(e->label) : json_null());
	json_object_set_new(j, "filtered", e->filtered ? json_string(e->filtered) : json_null());
	txt = json_dumps(j, JSON_COMPACT);
	if (txt)
		puts(txt);
	free(txt);
	json_decref(j);
}

/*
 * KTSTR_BUDGET_SECS while listing: keep[i] for the selected entries,
 * the selection's summary on stderr. false when no (valid) budget is set.
 */
static bool list_budget(struct kt_entry *e, size_t n, enum ignored_mode ign, bool *keep)
{
	const char *bs = kt_getenv("KTSTR_BUDGET_SECS");
	struct kt_host_caps h;
	struct kt_cand *c;
	struct kt_budget_report rep;
	const char **flags;
	size_t nc = 0, *map;
	double budget;

	if (!bs)
		return false;
	if (kt_budget_parse(bs, &budget)) {
		kt_info("note: KTSTR_BUDGET_SECS='%s' is not a positive number of seconds; "
			"ignored", bs);
		return false;
	}
	host_caps(&h);
	c = kt_calloc(n + 1, sizeof(*c));
	map = kt_calloc(n + 1, sizeof(*map));
	flags = kt_calloc(n * KTSTR_MAX_FLAGS + 1, sizeof(*flags));
	for (size_t i = 0; i < n; i++) {
		const struct ktstr_scheduler *s = e[i].test->scheduler;
		struct kt_cand *x;

		keep[i] = false;
		if (e[i].filtered || !shown(&e[i], ign))
			continue;
		x = &c[nc];
		map[nc++] = i;
		x->name = e[i].name;
		x->test = e[i].test->name;
		x->sched = s ? s->name : "eevdf";
		x->topo = e[i].preset ? e[i].preset->name : e[i].topo;
		x->profile = e[i].profile;
		x->kernel = e[i].label;
		x->flags = &flags[i * KTSTR_MAX_FLAGS];
		for (size_t f = 0; s && f < KTSTR_MAX_FLAGS && s->flags[f].name; f++)
			if (e[i].flags & (1u << f))
				flags[i * KTSTR_MAX_FLAGS + x->n_flags++] = s->flags[f].name;
		x->cost = kt_cost_model(e[i].cpus, e[i].duration_s, e[i].test->host_only,
					s && s->binary, h.kvm, h.cpus);
	}
	kt_budget_select(c, nc, budget, 1, &rep);
	for (size_t i = 0; i < nc; i++)
		keep[map[i]] = c[i].selected;
	fprintf(stderr, "ktstr budget: %zu/%zu tests, %.0f/%.0fs used, schedulers %zu/%zu, "
			"presets %zu/%zu, flags %zu/%zu covered\n",
		rep.selected, rep.total, rep.expected_s, rep.budget_s, rep.sched_cov,
		rep.sched_all, rep.topo_cov, rep.topo_all, rep.flag_cov, rep.flag_all);
	free(c);
	free(map);
	free(flags);
	return true;
}

static int do_list(enum ignored_mode ign, bool verbose, bool json)
{
	struct kt_entry *e = NULL;
	size_t ne = 0, nl = 0;
	char **labels = NULL;
	bool *keep, budget = false;

	if (validate_all())
		return 1;
	if (build_entries(ign != IGN_EXCLUDE, verbose || json, &e, &ne, &labels, &nl)) {
		free_labels(labels, nl);
		return 1;
	}
	keep = kt_calloc(ne + 1, sizeof(*keep));
	/* `ktstr test` (--json) budgets across all its binaries itself. */
	if (!json)
		budget = list_budget(e, ne, ign, keep);
	for (size_t i = 0; i < ne; i++) {
		if (!shown(&e[i], ign))
			continue;
		if (json)
			print_json(&e[i]);
		else if (e[i].filtered)
			printf("%s: filtered: %s\n", e[i].name, e[i].filtered);
		else if (!budget || keep[i])
			printf("%s: test\n", e[i].name);
		else if (verbose)
			printf("%s: dropped: budget\n", e[i].name);
	}
	free(keep);
	kt_entries_free(e, ne);
	free_labels(labels, nl);
	return 0;
}

static enum kt_verdict run_one(const char *full, struct kt_run_opts_host *o)
{
	struct kt_name_parts np;
	const struct ktstr_test *t;
	const struct kt_preset *pr = NULL;
	struct kt_topo_spec topo;
	enum kt_verdict rc = KT_VERDICT_FAIL;
	char *err = NULL, *why = NULL;

	if (kt_name_parse(full, &np)) {
		kt_err("invalid test name '%s': expected ktstr/NAME or "
		       "gauntlet/NAME/PRESET/PROFILE",
		       full);
		return KT_VERDICT_FAIL;
	}
	t = kt_registry_find(np.test);
	if (!t) {
		kt_err("no test named '%s' in this binary (see --list)", np.test);
		goto out;
	}
	if (np.label && !kt_getenv("KTSTR_KERNEL_LIST")) {
		kt_err("test name '%s' has a kernel suffix but KTSTR_KERNEL_LIST is not set",
		       full);
		goto out;
	}
	if (np.preset) {
		pr = kt_preset_find(np.preset);
		if (!pr) {
			kt_err("%s: no topology preset '%s' (see --list --ignored)", full,
			       np.preset);
			goto out;
		}
		if (t->host_only) {
			kt_err("%s: host_only tests have no gauntlet variants", full);
			goto out;
		}
		if (!kt_preset_allowed(t, pr, &why)) {
			kt_err("%s: not a variant of this test: %s", full, why);
			goto out;
		}
		if (kt_flag_profile_parse(t, np.profile, &o->variant_flags, &err)) {
			kt_err("%s: %s", full, err);
			goto out;
		}
		topo = (struct kt_topo_spec){pr->numa_nodes, pr->llcs, pr->cores, pr->threads};
		o->variant_name = full;
		o->variant_topo = &topo;
		o->variant_memory_mb = pr->memory_mb;
	}
	o->kernel_label = np.label;
	rc = kt_run_test_host(t, o);
	o->kernel_label = NULL;
	o->variant_name = NULL;
	o->variant_topo = NULL;
out:
	free(err);
	free(why);
	kt_name_parts_free(&np);
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
		{"include-ignored", no_argument, NULL, 'I'},
		{"gauntlet", no_argument, NULL, 'I'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct kt_run_opts_host o = {0};
	const char *exact = NULL;
	bool list = false, json = false;
	enum ignored_mode ign = IGN_EXCLUDE;
	struct kt_entry *e = NULL;
	size_t ne = 0, nl = 0;
	char **labels = NULL;
	int c, npass = 0, nfail = 0, ninc = 0, nskip = 0;
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
			ign = IGN_ONLY;
			break;
		case 'I':
			ign = IGN_INCLUDE;
			break;
		case 'j':
			json = true;
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
		return do_list(ign, o.verbose, json);
	if (validate_all())
		return 1;
	/* Exit status: fail 1, inconclusive 2, pass and skip 0. */
	if (exact)
		return kt_verdict_exit_code(run_one(exact, &o));

	if (build_entries(ign != IGN_EXCLUDE, false, &e, &ne, &labels, &nl))
		return 1;
	for (size_t i = 0; i < ne; i++) {
		bool sel = optind >= argc;

		if (!shown(&e[i], ign) || e[i].label)
			continue;
		for (int a = optind; a < argc; a++)
			if (strstr(e[i].name, argv[a]))
				sel = true;
		if (!sel)
			continue;
		switch (run_one(e[i].name, &o)) {
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
	}
	kt_entries_free(e, ne);
	free_labels(labels, nl);
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
