// SPDX-License-Identifier: GPL-2.0
/* Gauntlet variants, budget selection and shards (src/runner/gauntlet.h). */
#include <errno.h>

#include "runner/gauntlet.h"
#include "runner/runner.h"
#include "unit.h"
#include "util/util.h"

static int body(struct ktstr_ctx *ctx)
{
	(void)ctx;
	return 0;
}

/* Not registered (no KTSTR_TEST): these only feed the functions under test. */
static const struct ktstr_scheduler g_sched = {
	.name = "g_sched",
	.binary = "scx_g",
	.sched_args = {"-s", "1"},
	.flags = {KTSTR_FLAG("llc", .args = {"--llc"}),
		  KTSTR_FLAG("steal", .args = {"--steal"}, .requires = {"llc"}),
		  KTSTR_FLAG("borrow", .args = {"--borrow", "2"}),
		  KTSTR_FLAG("rebal")},
};

#define G_TEST(id, ...)                                                                          \
	_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Woverride-init\"")      \
	static const struct ktstr_test id = {KTSTR__TEST_DEFAULTS, .name = #id, .fn = body,      \
					     __VA_ARGS__};                                       \
	_Pragma("GCC diagnostic pop")

/* Two optional flags (llc, borrow): steal and rebal excluded. */
G_TEST(two_flags, .scheduler = &g_sched, .excluded_flags = {"steal", "rebal"})
/* llc required, borrow excluded: optional steal (requires llc, met) and rebal. */
G_TEST(req_llc, .scheduler = &g_sched, .required_flags = {"llc"}, .excluded_flags = {"borrow"})
/* All four optional: 16 subsets, steal without llc invalid in 4 of them. */
G_TEST(all_flags, .scheduler = &g_sched)
G_TEST(no_sched)
G_TEST(smt_only, .constraints = {.requires_smt = true})
G_TEST(numa_ok, .constraints = {.max_numa_nodes = 4, .max_cpus = 64})
G_TEST(host_only_t, .host_only = true)

static char **profile_names(const struct ktstr_test *t, size_t *n)
{
	kt_flagmask *m;
	char **v;

	CHECK_INT_EQ(kt_flag_profiles(t, &m, n, NULL, NULL), 0);
	v = kt_calloc(*n + 1, sizeof(*v));
	for (size_t i = 0; i < *n; i++)
		v[i] = kt_flag_profile_name(t->scheduler, m[i]);
	free(m);
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

UNIT_TEST(gauntlet_presets)
{
	size_t n;
	const struct kt_preset *p = kt_presets(&n);
	int smt = 0, numa = 0;

	CHECK_INT_EQ(n, 24);
	for (size_t i = 0; i < n; i++) {
		smt += p[i].threads > 1;
		numa += p[i].numa_nodes > 1;
	}
	CHECK_INT_EQ(smt, 10); /* dropped on aarch64, leaving 14 */
	CHECK_INT_EQ(numa, 5);
	CHECK_INT_EQ(kt_preset_cpus(kt_preset_find("max-cpu")), 252);
	CHECK_INT_EQ(kt_preset_find("max-cpu")->memory_mb, 4096);
	CHECK_INT_EQ(kt_preset_cpus(kt_preset_find("odd-5llc")), 15);
	CHECK(kt_preset_find("nope") == NULL);
}

UNIT_TEST(gauntlet_constraints)
{
	size_t n, ok = 0;
	const struct kt_preset *p = kt_presets(&n);
	char *why = NULL;

	/* Defaults (NUMA 1, LLCs 12, CPUs 192) leave 15 of 24. */
	for (size_t i = 0; i < n; i++) {
		if (kt_preset_allowed(&no_sched, &p[i], &why))
			ok++;
		free(why);
		why = NULL;
	}
	CHECK_INT_EQ(ok, 15);
	CHECK(!kt_preset_allowed(&no_sched, kt_preset_find("numa2-4llc"), &why));
	CHECK_STR_CONTAINS(why, "2 NUMA nodes, above the maximum 1");
	free(why);
	CHECK(!kt_preset_allowed(&no_sched, kt_preset_find("near-max-llc"), &why));
	CHECK_STR_CONTAINS(why, "15 LLCs, above the maximum 12");
	free(why);
	CHECK(!kt_preset_allowed(&smt_only, kt_preset_find("tiny-1llc"), &why));
	CHECK_STR_CONTAINS(why, "requires_smt");
	free(why);
	CHECK(kt_preset_allowed(&smt_only, kt_preset_find("smt-2llc"), &why));
	CHECK(kt_preset_allowed(&numa_ok, kt_preset_find("numa4-8llc"), &why));
	CHECK(!kt_preset_allowed(&numa_ok, kt_preset_find("numa2-8llc"), &why));
	CHECK_STR_CONTAINS(why, "128 CPUs, above the maximum 64");
	free(why);
}

UNIT_TEST(gauntlet_profiles)
{
	size_t n, nrej;
	char **v = profile_names(&two_flags, &n);
	kt_flagmask *m, *rej;

	CHECK_INT_EQ(n, 4);
	CHECK_STR_EQ(v[0], "default");
	CHECK_STR_EQ(v[1], "llc");
	CHECK_STR_EQ(v[2], "borrow");
	CHECK_STR_EQ(v[3], "llc+borrow");
	free_names(v, n);

	v = profile_names(&req_llc, &n);
	CHECK_INT_EQ(n, 4);
	CHECK_STR_EQ(v[0], "llc");
	CHECK_STR_EQ(v[1], "llc+steal");
	CHECK_STR_EQ(v[2], "llc+rebal");
	CHECK_STR_EQ(v[3], "llc+steal+rebal");
	free_names(v, n);

	CHECK_INT_EQ(kt_flag_profiles(&all_flags, &m, &n, &rej, &nrej), 0);
	CHECK_INT_EQ(n, 12);
	CHECK_INT_EQ(nrej, 4);
	for (size_t i = 0; i < nrej; i++) {
		char *w = kt_flag_profile_why_invalid(&g_sched, rej[i]);

		CHECK_STR_EQ(w, "flag 'steal' requires 'llc'");
		free(w);
	}
	free(m);
	free(rej);

	v = profile_names(&no_sched, &n);
	CHECK_INT_EQ(n, 1);
	CHECK_STR_EQ(v[0], "default");
	free_names(v, n);
}

UNIT_TEST(gauntlet_profile_parse)
{
	kt_flagmask m;
	char *err = NULL;

	CHECK_INT_EQ(kt_flag_profile_parse(&two_flags, "llc+borrow", &m, &err), 0);
	CHECK_INT_EQ(m, 1u | 4u);
	CHECK_INT_EQ(kt_flag_profile_parse(&two_flags, "default", &m, &err), 0);
	CHECK_INT_EQ(m, 0);
	CHECK_INT_EQ(kt_flag_profile_parse(&two_flags, "borrow+llc", &m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "is spelled 'llc+borrow'");
	free(err);
	CHECK_INT_EQ(kt_flag_profile_parse(&two_flags, "rebal", &m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "excluded");
	free(err);
	CHECK_INT_EQ(kt_flag_profile_parse(&req_llc, "default", &m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "lacks the required flags llc");
	free(err);
	CHECK_INT_EQ(kt_flag_profile_parse(&all_flags, "steal", &m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "flag 'steal' requires 'llc'");
	free(err);
	CHECK_INT_EQ(kt_flag_profile_parse(&all_flags, "bogus", &m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "unknown flag 'bogus'");
	free(err);
}

UNIT_TEST(gauntlet_names)
{
	struct kt_name_parts np;
	char *s = kt_gauntlet_name("t", "tiny-1llc", "llc+borrow", NULL);

	CHECK_STR_EQ(s, "gauntlet/t/tiny-1llc/llc+borrow");
	free(s);
	s = kt_gauntlet_name("t", "tiny-1llc", "default", "kernel_6_12");
	CHECK_STR_EQ(s, "gauntlet/t/tiny-1llc/default/kernel_6_12");
	CHECK_INT_EQ(kt_name_parse(s, &np), 0);
	CHECK_STR_EQ(np.test, "t");
	CHECK_STR_EQ(np.preset, "tiny-1llc");
	CHECK_STR_EQ(np.profile, "default");
	CHECK_STR_EQ(np.label, "kernel_6_12");
	kt_name_parts_free(&np);
	free(s);
	CHECK_INT_EQ(kt_name_parse("ktstr/abc/kernel_x", &np), 0);
	CHECK_STR_EQ(np.test, "abc");
	CHECK(np.preset == NULL);
	CHECK_STR_EQ(np.label, "kernel_x");
	kt_name_parts_free(&np);
	CHECK_INT_EQ(kt_name_parse("abc", &np), 0);
	CHECK_STR_EQ(np.test, "abc");
	kt_name_parts_free(&np);
	CHECK_INT_EQ(kt_name_parse("gauntlet/t/tiny-1llc", &np), -EINVAL);
	CHECK_INT_EQ(kt_name_parse("gauntlet/t//default", &np), -EINVAL);
	CHECK_INT_EQ(kt_name_parse("gauntlet/t/a/b/c/d", &np), -EINVAL);
	CHECK_INT_EQ(kt_name_parse("ktstr/a/b/c", &np), -EINVAL);
}

static size_t count(const struct kt_entry *e, size_t n, bool want_filtered, const char *sub)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (!!e[i].filtered == want_filtered && (!sub || strstr(e[i].name, sub)))
			c++;
	return c;
}

UNIT_TEST(gauntlet_entries)
{
	const struct ktstr_test *v[] = {&two_flags, &host_only_t};
	struct kt_host_caps tcg1 = {.cpus = 1, .kvm = false}, tcg2 = {.cpus = 2}, kvm8 = {8, true};
	const char *labels[] = {"kernel_a", "kernel_b"};
	struct kt_entry *e;
	size_t n;

	/* Without gauntlet: the base tests only. */
	CHECK_INT_EQ(kt_entries_build(v, 2, false, &tcg2, NULL, 0, true, &e, &n), 0);
	CHECK_INT_EQ(n, 2);
	CHECK_STR_EQ(e[0].name, "ktstr/two_flags");
	CHECK(!e[0].ignored);
	kt_entries_free(e, n);

	/* 2 host CPUs under TCG: at most 16 vCPUs, 7 of the 15 allowed presets. */
	CHECK_INT_EQ(kt_entries_build(v, 2, true, &tcg2, NULL, 0, true, &e, &n), 0);
	CHECK_INT_EQ(count(e, n, false, "gauntlet/"), 7 * 4);
	CHECK_INT_EQ(count(e, n, true, NULL), 17 * 4);
	CHECK_INT_EQ(count(e, n, false, "gauntlet/two_flags/odd-5llc/llc+borrow"), 1);
	CHECK_INT_EQ(count(e, n, false, "host_only_t"), 1); /* no variants */
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].name, "gauntlet/two_flags/medium-4llc/default"))
			CHECK_STR_CONTAINS(e[i].filtered, "host: topology needs 32 vCPUs");
		if (!strcmp(e[i].name, "gauntlet/two_flags/numa2-4llc/borrow"))
			CHECK_STR_CONTAINS(e[i].filtered, "constraint: 2 NUMA nodes");
		if (!strcmp(e[i].name, "gauntlet/two_flags/smt-3llc/llc")) {
			CHECK_STR_EQ(e[i].topo, "1n3l2c2t");
			CHECK_INT_EQ(e[i].cpus, 12);
			CHECK_INT_EQ(e[i].flags, 1);
			CHECK(e[i].ignored);
		}
	}
	kt_entries_free(e, n);

	/* One host CPU: 8 vCPUs at most (tiny-1llc, tiny-2llc, smt-2llc); unfiltered only. */
	CHECK_INT_EQ(kt_entries_build(v, 2, true, &tcg1, NULL, 0, false, &e, &n), 0);
	CHECK_INT_EQ(n, 2 + 3 * 4);
	kt_entries_free(e, n);

	/* KVM with 8 CPUs: one vCPU per CPU (tiny-1llc, tiny-2llc, smt-2llc). */
	CHECK_INT_EQ(kt_entries_build(v, 2, true, &kvm8, NULL, 0, false, &e, &n), 0);
	CHECK_INT_EQ(n, 2 + 3 * 4);
	kt_entries_free(e, n);

	/* Two kernels: every entry of a VM test per label; host_only stays unlabelled. */
	CHECK_INT_EQ(kt_entries_build(v, 2, true, &tcg1, labels, 2, false, &e, &n), 0);
	CHECK_INT_EQ(n, 2 * (1 + 3 * 4) + 1);
	CHECK_STR_EQ(e[0].name, "ktstr/two_flags/kernel_a");
	CHECK_INT_EQ(count(e, n, false, "gauntlet/two_flags/tiny-1llc/default/kernel_b"), 1);
	CHECK_INT_EQ(count(e, n, false, "ktstr/host_only_t"), 1);
	kt_entries_free(e, n);
}

UNIT_TEST(gauntlet_plan_variant)
{
	struct kt_plan p;
	struct kt_topo_spec tp = {1, 3, 2, 2};
	char *err = NULL;

	CHECK_INT_EQ(kt_plan_resolve(&req_llc, &p, &err), 0);
	CHECK_INT_EQ(p.n_flags, 1);
	CHECK_INT_EQ(kt_plan_apply_variant(&p, &tp, 1u | 2u | 8u, 4096, &err), 0);
	CHECK_STR_EQ(p.topo_str, "1n3l2c2t");
	CHECK_INT_EQ(p.memory_mb, 4096);
	CHECK(p.variant);
	CHECK_INT_EQ(p.n_flags, 3);
	CHECK_STR_EQ(p.flags[0], "llc");
	CHECK_STR_EQ(p.flags[1], "steal");
	CHECK_STR_EQ(p.flags[2], "rebal");
	/* sched_args, then each active flag's args in declaration order. */
	CHECK_INT_EQ(p.n_sched_argv, 4);
	CHECK_STR_EQ(p.sched_argv[0], "-s");
	CHECK_STR_EQ(p.sched_argv[2], "--llc");
	CHECK_STR_EQ(p.sched_argv[3], "--steal");
}

static void cand(struct kt_cand *c, const char *name, const char *test, const char *sched,
		 const char *topo, const char *profile, double cost)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->test = test;
	c->sched = sched;
	c->topo = topo;
	c->profile = profile;
	c->cost = cost;
}

/* ktstr test without -j: VMs packed onto the host CPUs by vCPU count. */
UNIT_TEST(job_fits_by_vcpus)
{
	/* the first job always starts, even one larger than the host */
	CHECK(kt_job_fits(0, 0, 8, 2));
	/* two 1-vCPU VMs on 2 CPUs, not a third */
	CHECK(kt_job_fits(1, 1, 1, 2));
	CHECK(!kt_job_fits(2, 2, 1, 2));
	/* a 4-vCPU VM beside a 1-vCPU one on 4 CPUs does not fit, a 3-vCPU one does */
	CHECK(!kt_job_fits(1, 1, 4, 4));
	CHECK(kt_job_fits(1, 1, 3, 4));
	/* an oversized job already running leaves nothing free */
	CHECK(!kt_job_fits(1, 8, 1, 2));
}

UNIT_TEST(gauntlet_budget)
{
	static const char *fl[] = {"llc"};
	struct kt_cand c[6];
	struct kt_budget_report r;
	bool first[6];

	cand(&c[0], "ktstr/a", "a", "eevdf", "1n1l2c1t", "default", 4);
	cand(&c[1], "gauntlet/a/tiny-1llc/default", "a", "eevdf", "tiny-1llc", "default", 4);
	cand(&c[2], "gauntlet/a/odd-5llc/default", "a", "eevdf", "odd-5llc", "default", 30);
	cand(&c[3], "ktstr/b", "b", "qmap", "1n2l2c1t", "default", 6);
	cand(&c[4], "gauntlet/b/tiny-1llc/llc", "b", "qmap", "tiny-1llc", "llc", 6);
	c[4].flags = fl;
	c[4].n_flags = 1;
	cand(&c[5], "gauntlet/b/tiny-2llc/default", "b", "qmap", "tiny-2llc", "default", 6);

	/* Everything fits: all selected. */
	CHECK_INT_EQ(kt_budget_select(c, 6, 1000, 1, &r), 0);
	CHECK_INT_EQ(r.selected, 6);
	CHECK(r.expected_s > 55.9 && r.expected_s < 56.1);

	/* 20 s on one slot: the 30 s variant never fits; coverage per second picks. */
	CHECK_INT_EQ(kt_budget_select(c, 6, 20, 1, &r), 0);
	CHECK(!c[2].selected);
	CHECK(r.expected_s <= 20);
	CHECK_INT_EQ(r.sched_all, 2);
	CHECK_INT_EQ(r.sched_cov, 2);
	CHECK_INT_EQ(r.flag_all, 1);
	CHECK_INT_EQ(r.flag_cov, 1); /* the only flag is worth its cost */
	CHECK(c[4].selected);
	for (int i = 0; i < 6; i++)
		first[i] = c[i].selected;
	/* Deterministic. */
	CHECK_INT_EQ(kt_budget_select(c, 6, 20, 1, &r), 0);
	for (int i = 0; i < 6; i++)
		CHECK_INT_EQ(c[i].selected, first[i]);

	/* Two slots: the wall time is the makespan, longest first (30 | 26). */
	CHECK_INT_EQ(kt_budget_select(c, 6, 30, 2, &r), 0);
	CHECK(r.expected_s > 29.9 && r.expected_s < 30.1);
	CHECK_INT_EQ(r.selected, 6);
	CHECK_INT_EQ(kt_budget_select(c, 6, 29, 2, &r), 0);
	CHECK(!c[2].selected);
	CHECK_INT_EQ(r.selected, 5);
	c[0].selected = c[1].selected = true;
	c[2].selected = c[3].selected = c[4].selected = c[5].selected = false;
	CHECK(kt_makespan(c, 6, 2, false) > 3.9 && kt_makespan(c, 6, 2, false) < 4.1);
	CHECK(kt_makespan(c, 6, 2, true) > 29.9 && kt_makespan(c, 6, 2, true) < 30.1);

	/* Nothing fits. */
	CHECK_INT_EQ(kt_budget_select(c, 6, 1, 2, &r), 0);
	CHECK_INT_EQ(r.selected, 0);
}

UNIT_TEST(gauntlet_budget_parse_and_model)
{
	double v;

	CHECK_INT_EQ(kt_budget_parse("120", &v), 0);
	CHECK(v == 120);
	CHECK_INT_EQ(kt_budget_parse("0.5", &v), 0);
	CHECK_INT_EQ(kt_budget_parse("0", &v), -EINVAL);
	CHECK_INT_EQ(kt_budget_parse("-3", &v), -EINVAL);
	CHECK_INT_EQ(kt_budget_parse("12s", &v), -EINVAL);
	CHECK_INT_EQ(kt_budget_parse("inf", &v), -EINVAL);
	CHECK_INT_EQ(kt_budget_parse("", &v), -EINVAL);
	/* More vCPUs cost more under TCG; fewer host CPUs cost more; KVM is cheaper. */
	CHECK(kt_cost_model(15, 2, false, false, false, 2) > kt_cost_model(4, 2, false, false,
									    false, 2));
	CHECK(kt_cost_model(8, 2, false, false, false, 1) > kt_cost_model(8, 2, false, false,
									   false, 2));
	CHECK(kt_cost_model(8, 2, false, false, true, 8) < kt_cost_model(8, 2, false, false,
									  false, 8));
	CHECK(kt_cost_model(2, 5, false, false, false, 2) > 5);
	CHECK(kt_cost_model(2, 2, false, true, false, 2) > kt_cost_model(2, 2, false, false,
									   false, 2));
}

UNIT_TEST(gauntlet_shards)
{
	enum { N = 200 };
	struct kt_cand c[N];
	char names[N][32];
	bool in[5][N];
	struct kt_shard sh;
	char *err = NULL;

	CHECK_INT_EQ(kt_shard_parse("2/5", &sh, &err), 0);
	CHECK_INT_EQ(sh.k, 2);
	CHECK_INT_EQ(sh.n, 5);
	CHECK_INT_EQ(sh.mode, KT_SHARD_COST);
	CHECK_INT_EQ(kt_shard_parse("hash:1/3", &sh, &err), 0);
	CHECK_INT_EQ(sh.mode, KT_SHARD_HASH);
	CHECK_INT_EQ(kt_shard_parse("0/3", &sh, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "1 <= K <= N");
	free(err);
	CHECK_INT_EQ(kt_shard_parse("4/3", &sh, &err), -EINVAL);
	free(err);
	CHECK_INT_EQ(kt_shard_parse("1-3", &sh, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "expected K/N");
	free(err);
	CHECK_INT_EQ(kt_shard_parse("x:1/3", &sh, &err), -EINVAL);
	free(err);

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "gauntlet/t%d/p/default", i);
		cand(&c[i], names[i], names[i], "eevdf", "p", "default", 3 + (i * 7) % 13);
	}
	for (int mode = 0; mode < 2; mode++) {
		double load[5] = {0};

		for (unsigned k = 1; k <= 5; k++) {
			sh = (struct kt_shard){k, 5, mode ? KT_SHARD_HASH : KT_SHARD_COST};
			kt_shard_assign(c, N, &sh, in[k - 1]);
		}
		/* Every candidate in exactly one shard. */
		for (int i = 0; i < N; i++) {
			int owners = 0;

			for (int k = 0; k < 5; k++)
				if (in[k][i]) {
					owners++;
					load[k] += c[i].cost;
				}
			CHECK_INT_EQ(owners, 1);
		}
		/* By cost: balanced within one test's cost. */
		if (!mode)
			for (int k = 1; k < 5; k++)
				CHECK(load[k] - load[0] < 16 && load[0] - load[k] < 16);
	}
}
