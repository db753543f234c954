// SPDX-License-Identifier: GPL-2.0
/* Test API: registration, validation, plans, names, host fit, verdicts, reports. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/runner.h"
#include "unit.h"
#include "util/util.h"

KTSTR_SCHEDULER(unit_sched, .binary = "scx_unit", .topology = "1n2l2c1t",
		.sched_args = {"-s", "100"}, .sysctls = {"kernel.sched_x=1"},
		.flags = {KTSTR_FLAG("llc", .args = {"--llc"}),
			  KTSTR_FLAG("steal", .args = {"--steal", "1"}, .requires = {"llc"}),
			  KTSTR_FLAG("borrow")},
		.assert = {.max_gap_ms = KTSTR_U64(3000)});

KTSTR_SCHEDULER(unit_eevdf_like);

KTSTR_TEST(unit_defaults)
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_full, .scheduler = &unit_sched, .llcs = 4, .cores = 3, .duration_s = 7,
	   .workers_per_cgroup = 3, .extra_sched_args = {"-v"},
	   .required_flags = {"steal", "llc"}, .excluded_flags = {"borrow"},
	   .assert = {.max_gap_ms = KTSTR_U64(500), .not_starved = KTSTR_OFF})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_zero_duration, .duration_s = 0)
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_unknown_flag, .scheduler = &unit_sched, .required_flags = {"nope"})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_req_and_excl, .scheduler = &unit_sched, .required_flags = {"llc"},
	   .excluded_flags = {"llc"})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_numa_mismatch, .numa_nodes = 2, .llcs = 3)
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_flags_no_sched, .scheduler = &unit_eevdf_like, .required_flags = {"llc"})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_topo_string, .topology = "2n4l2c2t", .threads = 1)
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_topo_commas, .topology = "1,2,4,1")
{
	(void)ctx;
	return 0;
}

/* Each field is fine, but the VM engine cannot build 512 CPUs. */
KTSTR_TEST(unit_topo_too_many_cpus, .llcs = 64, .cores = 8)
{
	(void)ctx;
	return 0;
}

/* 4096^3 CPUs wrapped a 32-bit product to 0 and skipped the constraints. */
KTSTR_TEST(unit_topo_wraps, .topology = "1n4096l4096c4096t", .constraints = {.min_cpus = 2})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_topo_apic, .llcs = 33, .cores = 5)
{
	(void)ctx;
	return 0;
}

/* The string alone would be too big; the fields complete it before validation. */
KTSTR_TEST(unit_topo_fields_fix, .topology = "1n64l8c1t", .cores = 2)
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_topo_override, .topology = "2n4l1c1t", .llcs = 3)
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_constraint_violated, .llcs = 1, .constraints = {.min_llcs = 2})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_constraint_bad, .constraints = {.min_cpus = 8, .max_cpus = 4})
{
	(void)ctx;
	return 0;
}

KTSTR_TEST(unit_zero_llcs, .llcs = 0)
{
	(void)ctx;
	return 0;
}

static int resolve(const char *name, struct kt_plan *p, char **err)
{
	const struct ktstr_test *t = kt_registry_find(name);

	*err = NULL;
	if (!t)
		return -99;
	return kt_plan_resolve(t, p, err);
}

UNIT_TEST(runner_registry_lists_tests_and_scheds)
{
	size_t n, ns;
	const struct ktstr_test *const *v = kt_registry_tests(&n);
	const struct ktstr_scheduler *const *s = kt_registry_scheds(&ns);
	bool has_unit = false;

	for (size_t i = 0; i < ns; i++)
		if (s[i] == &unit_sched)
			has_unit = true;
	CHECK(has_unit);
	bool found = false;

	CHECK(n >= 11);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->name, "unit_full"))
			found = true;
	CHECK(found);
	CHECK(ns >= 2);
	CHECK(kt_registry_find("unit_defaults") != NULL);
	CHECK(kt_registry_find("nonexistent_test") == NULL);
	CHECK_STR_EQ(unit_sched.name, "unit_sched");
}

UNIT_TEST(runner_plan_defaults)
{
	struct kt_plan p;
	char *err;

	CHECK_INT_EQ(resolve("unit_defaults", &p, &err), 0);
	CHECK_STR_EQ(p.topo_str, "1n1l2c1t");
	CHECK_INT_EQ(p.duration_s, 2);
	CHECK_INT_EQ(p.workers_per_cgroup, 2);
	CHECK_INT_EQ(p.memory_mb, 2048);
	CHECK_INT_EQ(p.watchdog_timeout_s, 4);
	CHECK_STR_EQ(p.sched_name, "eevdf");
	CHECK(p.sched == NULL);
	CHECK_INT_EQ(p.n_sched_argv, 0);
	/* Default checks: not_starved on, monitor defaults. */
	CHECK(p.assert.not_starved.set && p.assert.not_starved.v);
	CHECK(p.assert.max_imbalance_ratio.set);
	CHECK(!p.assert.max_gap_ms.set);
}

UNIT_TEST(runner_plan_full)
{
	struct kt_plan p;
	char *err;
	const char *want[] = {"-s", "100", "-v", "--llc", "--steal", "1"};

	CHECK_INT_EQ(resolve("unit_full", &p, &err), 0);
	/* Scheduler topology 1n2l2c1t, test overrides llcs and cores. */
	CHECK_STR_EQ(p.topo_str, "1n4l3c1t");
	CHECK_INT_EQ(p.duration_s, 7);
	CHECK_INT_EQ(p.workers_per_cgroup, 3);
	CHECK_STR_EQ(p.sched_name, "unit_sched");
	/* Active flags in declaration order, whatever the test's order. */
	CHECK_INT_EQ(p.n_flags, 2);
	CHECK_STR_EQ(p.flags[0], "llc");
	CHECK_STR_EQ(p.flags[1], "steal");
	/* argv = sched_args + extra_sched_args + flags' args. */
	CHECK_INT_EQ(p.n_sched_argv, KT_ARRAY_SIZE(want));
	for (size_t i = 0; i < KT_ARRAY_SIZE(want) && i < p.n_sched_argv; i++)
		CHECK_STR_EQ(p.sched_argv[i], want[i]);
	/* Assertions: test over scheduler over defaults. */
	CHECK(p.assert.max_gap_ms.set && p.assert.max_gap_ms.v == 500);
	CHECK(p.assert.not_starved.set && !p.assert.not_starved.v);
	CHECK(p.assert.max_imbalance_ratio.set);
}

static int inline_body(struct ktstr_ctx *ctx)
{
	(void)ctx;
	return 0;
}

UNIT_TEST(runner_plan_scheduler_assert_inherited)
{
	struct ktstr_test t = {
		.name = "inline", .fn = inline_body, .scheduler = &unit_sched,
		.numa_nodes = KTSTR_UNSET, .llcs = KTSTR_UNSET, .cores = KTSTR_UNSET,
		.threads = KTSTR_UNSET, .duration_s = KTSTR_UNSET,
		.workers_per_cgroup = KTSTR_UNSET, .memory_mb = KTSTR_UNSET,
		.watchdog_timeout_s = KTSTR_UNSET,
	};
	struct kt_plan p;
	char *err = NULL;

	CHECK_INT_EQ(kt_plan_resolve(&t, &p, &err), 0);
	CHECK_STR_EQ(p.topo_str, "1n2l2c1t");
	CHECK(p.assert.max_gap_ms.set && p.assert.max_gap_ms.v == 3000);
	CHECK_INT_EQ(p.n_flags, 0);
	CHECK_INT_EQ(p.n_sched_argv, 2);
	/* Bad names are rejected. */
	t.name = "a/b";
	CHECK(kt_plan_resolve(&t, &p, &err) < 0);
	free(err);
	t.name = "";
	CHECK(kt_plan_resolve(&t, &p, &err) < 0);
	free(err);
}

static void expect_reject(const char *name, const char *msg)
{
	struct kt_plan p;
	char *err;

	CHECK(resolve(name, &p, &err) == -EINVAL);
	CHECK(err != NULL);
	if (!err)
		return;
	{
		char *pre = kt_asprintf("ktstr_test '%s': ", name);

		CHECK(kt_startswith(err, pre));
		free(pre);
	}
	CHECK_STR_CONTAINS(err, msg);
	free(err);
}

UNIT_TEST(runner_validation_rejects)
{
	expect_reject("unit_zero_duration", "duration_s must be > 0 (got 0)");
	expect_reject("unit_unknown_flag", "unknown flag 'nope' (scheduler 'unit_sched' declares: "
					   "llc, steal, borrow)");
	expect_reject("unit_req_and_excl", "flag 'llc' is both required and excluded");
	expect_reject("unit_numa_mismatch", "llcs (3) must be a multiple of numa_nodes (2)");
	expect_reject("unit_flags_no_sched", "declares none");
	expect_reject("unit_constraint_violated", "below the test minimum 2");
	expect_reject("unit_constraint_bad", "min_cpus (8) > max_cpus (4)");
	expect_reject("unit_zero_llcs", "llcs must be >= 1 (got 0)");
	expect_reject("unit_topo_too_many_cpus",
		      "ktstr_test 'unit_topo_too_many_cpus': 512 CPUs, at most 255 supported "
		      "(topology 1n64l8c1t)");
	expect_reject("unit_topo_wraps", "ktstr_test 'unit_topo_wraps': llcs must be at most 255 "
					 "(got 4096) (topology 1n4096l4096c4096t)");
	expect_reject("unit_topo_override", "llcs (3) must be a multiple of numa_nodes (2) "
					    "(topology 2n3l1c1t)");
	expect_reject("unit_topo_apic", "APIC ids up to 260, at most 254");
}

UNIT_TEST(runner_topology_strings)
{
	struct kt_plan p;
	char *err = NULL;

	CHECK_INT_EQ(resolve("unit_topo_string", &p, &err), 0);
	CHECK_STR_EQ(p.topo_str, "2n4l2c1t");
	CHECK(p.topo.numa_nodes == 2 && p.topo.llcs == 4 && p.topo.cores == 2 &&
	      p.topo.threads == 1);
	CHECK_INT_EQ(resolve("unit_topo_commas", &p, &err), 0);
	CHECK_STR_EQ(p.topo_str, "1n2l4c1t");
	CHECK_INT_EQ(resolve("unit_topo_fields_fix", &p, &err), 0);
	CHECK_STR_EQ(p.topo_str, "1n64l2c1t");
	CHECK_INT_EQ(kt_topo_spec_cpus(&p.topo), 128);
}

UNIT_TEST(runner_full_names)
{
	char *n, *l, *f;

	f = kt_test_full_name("abc", NULL);
	CHECK_STR_EQ(f, "ktstr/abc");
	free(f);
	f = kt_test_full_name("abc", "kernel_6_12");
	CHECK_STR_EQ(f, "ktstr/abc/kernel_6_12");
	free(f);
	CHECK_INT_EQ(kt_test_parse_full_name("ktstr/abc", &n, &l), 0);
	CHECK_STR_EQ(n, "abc");
	CHECK(l == NULL);
	free(n);
	CHECK_INT_EQ(kt_test_parse_full_name("ktstr/abc/kernel_x", &n, &l), 0);
	CHECK_STR_EQ(n, "abc");
	CHECK_STR_EQ(l, "kernel_x");
	free(n);
	free(l);
	CHECK_INT_EQ(kt_test_parse_full_name("abc", &n, &l), 0);
	CHECK_STR_EQ(n, "abc");
	free(n);
	CHECK(kt_test_parse_full_name("ktstr/", &n, &l) < 0);
	CHECK(kt_test_parse_full_name("ktstr/a/b/c", &n, &l) < 0);
}

UNIT_TEST(runner_host_fit_rule)
{
	char *why = NULL;

	/* KVM: one vCPU per host CPU. */
	CHECK(kt_host_fits(4, true, 4, &why));
	CHECK(!kt_host_fits(5, true, 4, &why));
	CHECK_STR_CONTAINS(why, "KVM");
	free(why);
	/* TCG: min(8 per host CPU, 16). */
	CHECK(kt_host_fits(16, false, 2, &why));
	CHECK(!kt_host_fits(17, false, 2, &why));
	CHECK_STR_CONTAINS(why, "at most 16 under TCG");
	free(why);
	CHECK(kt_host_fits(8, false, 1, &why));
	CHECK(!kt_host_fits(9, false, 1, &why));
	free(why);
	/* Timeouts grow with duration and vCPUs. */
	CHECK(kt_vm_timeout_for(10, 4, false) > kt_vm_timeout_for(2, 4, false));
	CHECK(kt_vm_timeout_for(2, 16, false) > kt_vm_timeout_for(2, 1, false));
	CHECK(kt_vm_timeout_for(2, 2, false) < 60);
}

UNIT_TEST(runner_fingerprint)
{
	char *f = kt_log_fingerprint("starting\nfoo\nEXIT: runnable task stall (x)\n\n=====\n\n");

	CHECK_STR_EQ(f, "EXIT: runnable task stall (x)");
	free(f);
	CHECK(kt_log_fingerprint("") == NULL);
	CHECK(kt_log_fingerprint(NULL) == NULL);
	CHECK(kt_log_fingerprint("\n\n  \n") == NULL);
}

static void plan_for(const char *name, struct kt_plan *p)
{
	char *err;

	CHECK_INT_EQ(resolve(name, p, &err), 0);
}

UNIT_TEST(runner_verdict_pass_fail_report)
{
	struct kt_plan p;
	struct kt_outcome o = {.exit_code = 0, .have_result = true};
	char *rep;

	plan_for("unit_full", &p);
	kt_assert_result_pass(&o.result);
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_PASS);
	CHECK_STR_EQ(rep, "");
	free(rep);

	kt_assert_result_add_failure(&o.result, KT_DETAIL_STUCK, "stuck 2500ms on cpu1 at +300ms");
	o.result.stats.total_workers = 4;
	o.result.stats.worst_gap_ms = 2500;
	o.sched_log = kt_strdup("scx_unit starting\nEXIT: unregistered from user space\n");
	o.sched_dump = kt_strdup("kworker-1 [000] sched_ext_dump: CPU 0 : nr_run=2\n");
	o.console_tail = kt_strdup("line a\nline b\n");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	/* The scheduler is alive: its log's last line is no fingerprint. */
	CHECK(kt_startswith(rep, "ktstr_test 'unit_full'"));
	CHECK_STR_CONTAINS(rep, "ktstr_test 'unit_full' [sched=unit_sched] [topo=1n4l3c1t] failed:\n"
				"  stuck 2500ms on cpu1 at +300ms\n");
	CHECK_STR_CONTAINS(rep, "--- stats ---\n4 workers,");
	CHECK_STR_CONTAINS(rep, "worst_gap=2500ms");
	CHECK_STR_CONTAINS(rep, "--- scheduler log ---\nscx_unit starting\n");
	CHECK_STR_CONTAINS(rep, "--- sched_ext dump ---\nkworker-1 [000] sched_ext_dump: CPU 0");
	/* No diagnostics for a plain check failure without -v ... */
	CHECK(!strstr(rep, "--- diagnostics ---"));
	free(rep);
	/* ... but with a scheduler death. */
	/* Ejected by the kernel, exited at teardown: its EXIT reason leads. */
	free(o.sched_log);
	o.sched_log = kt_strdup("scx_unit starting\nEXIT: runnable task stall (stuck)\n");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK(kt_startswith(rep, "EXIT: runnable task stall (stuck)\n"));
	free(rep);
	o.sched_died = true;
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK(kt_startswith(rep, "EXIT: runnable task stall (stuck)\n"));
	CHECK_STR_CONTAINS(rep, "--- diagnostics ---\ninit stage: unknown\nguest exit code: 0\n");
	CHECK_STR_CONTAINS(rep, "last console lines:\n  line a\n  line b\n");
	free(rep);
	kt_outcome_free(&o);
}

UNIT_TEST(runner_verdict_no_result_timeout_crash_skip)
{
	struct kt_plan p;
	struct kt_outcome o = {.exit_code = -1};
	char *rep;

	plan_for("unit_defaults", &p);
	o.timed_out = true;
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "ktstr_test 'unit_defaults' [sched=eevdf] [topo=1n1l2c1t] failed:");
	CHECK_STR_CONTAINS(rep, "timed out (no result in SHM or COM2)");
	CHECK_STR_CONTAINS(rep, "guest exit code: none");
	free(rep);
	o.timed_out = false;
	o.crashed = true;
	o.crash_line = kt_strdup("Kernel panic - not syncing: oops");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "guest crashed: Kernel panic - not syncing: oops");
	free(rep);
	kt_outcome_free(&o);

	o.exit_code = -1;
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "no test result received from guest");
	free(rep);
	/* the guest's test process exited early; the guest ran out of memory */
	o.exit_code = 3;
	o.oom_line = kt_strdup("Out of memory: Killed process 40 (init) total-vm:1965448kB");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "no test result received from guest: its test process exited "
				"with status 3 before sending one\n");
	CHECK_STR_CONTAINS(rep, "the guest ran out of memory: Out of memory: Killed process 40 "
				"(init) total-vm:1965448kB\n");
	free(rep);
	free(o.oom_line);
	o.oom_line = NULL;
	o.exit_code = -1;

	o.have_result = true;
	kt_assert_result_skip(&o.result, "need >=2 LLCs");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_SKIP);
	CHECK_STR_EQ(rep, "ktstr: SKIP: need >=2 LLCs\n");
	free(rep);
	kt_outcome_free(&o);
}

KTSTR_TEST(unit_expect_err, .expect_err = true)
{
	(void)ctx;
	return 0;
}

UNIT_TEST(runner_verdict_expect_err_inverts)
{
	struct kt_plan p;
	struct kt_outcome o = {.exit_code = 1, .have_result = true};
	char *rep;

	plan_for("unit_expect_err", &p);
	kt_assert_result_fail(&o.result, KT_DETAIL_SCHEDULER_DIED, "scheduler died");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_PASS);
	CHECK_STR_CONTAINS(rep, "failed as expected");
	free(rep);
	kt_assert_result_clear(&o.result);
	kt_assert_result_pass(&o.result);
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "expected test to fail but it passed");
	free(rep);
	/* Infrastructure errors are never "expected". */
	o.infra_error = kt_strdup("kernel: no kernel found");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "kernel: no kernel found");
	free(rep);
	kt_outcome_free(&o);
}

KTSTR_TEST(unit_allow_inc, .allow_inconclusive = true)
{
	(void)ctx;
	return 0;
}

UNIT_TEST(runner_verdict_inconclusive)
{
	struct kt_plan p;
	struct kt_outcome o = {.exit_code = 2, .have_result = true};
	char *rep;

	plan_for("unit_full", &p);
	kt_assert_result_pass(&o.result);
	kt_assert_result_add_inconclusive(&o.result, KT_DETAIL_MIGRATION,
					  "migration ratio: 0 iterations (zero denominator, 0 "
					  "migrations)");
	o.result.stats.total_workers = 4;
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_INCONCLUSIVE);
	CHECK_STR_CONTAINS(rep, "ktstr_test 'unit_full' [sched=unit_sched] [topo=1n4l3c1t] "
				"inconclusive:\n  inconclusive: migration ratio: 0 iterations");
	CHECK_STR_CONTAINS(rep, "--- stats ---\n4 workers,");
	free(rep);
	/* A failure next to it wins, and the report still names the undecided check. */
	kt_assert_result_add_failure(&o.result, KT_DETAIL_STUCK, "stuck 2500ms on cpu1 at +3ms");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "failed:\n  inconclusive: migration ratio: 0 iterations");
	CHECK_STR_CONTAINS(rep, "\n  stuck 2500ms on cpu1 at +3ms\n");
	free(rep);
	kt_assert_result_clear(&o.result);

	/* .allow_inconclusive: a pass, with the block still shown. */
	plan_for("unit_allow_inc", &p);
	kt_assert_result_pass(&o.result);
	kt_assert_result_add_inconclusive(&o.result, KT_DETAIL_UNFAIR, "spread: only 1 of 2");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_PASS);
	CHECK_STR_CONTAINS(rep, "inconclusive (accepted: .allow_inconclusive):\n"
				"  inconclusive: spread: only 1 of 2\n");
	free(rep);
	/* ... but never a failure. */
	kt_assert_result_add_failure(&o.result, KT_DETAIL_STUCK, "stuck");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	free(rep);
	kt_assert_result_clear(&o.result);

	/* expect_err wants a failure: an undecided run is not one. */
	plan_for("unit_expect_err", &p);
	kt_assert_result_pass(&o.result);
	kt_assert_result_add_inconclusive(&o.result, KT_DETAIL_UNFAIR, "spread: only 1 of 2");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "expected test to fail but it was inconclusive\n"
				"  inconclusive: spread: only 1 of 2\n");
	free(rep);
	kt_outcome_free(&o);
}

UNIT_TEST(runner_sched_lookup_order)
{
	const char *d = unit_tmpdir();
	char *sd = kt_path_join(d, "scheds"), *pd = kt_path_join(d, "pathdir");
	char *a = kt_path_join(sd, "scx_fake"), *b = kt_path_join(pd, "scx_fake");
	char *err = NULL, *r;

	kt_mkdir_p(sd, 0755);
	kt_mkdir_p(pd, 0755);
	kt_write_file_atomic(a, "#!/bin/sh\n", 10, 0755);
	kt_write_file_atomic(b, "#!/bin/sh\n", 10, 0755);
	unsetenv("KTSTR_SCHEDULER");
	setenv("PATH", pd, 1);
	/* Not direct: kernel sched dir (PATH ignored). */
	r = kt_sched_lookup("scx_fake", sd, false, &err);
	CHECK_STR_EQ(r, a);
	free(r);
	/* Direct mode: PATH first. */
	r = kt_sched_lookup("scx_fake", sd, true, &err);
	CHECK_STR_EQ(r, b);
	free(r);
	/* KTSTR_SCHEDULER beats the sched dir. */
	setenv("KTSTR_SCHEDULER", b, 1);
	r = kt_sched_lookup("scx_fake", sd, false, &err);
	CHECK_STR_EQ(r, b);
	free(r);
	unsetenv("KTSTR_SCHEDULER");
	/* Missing: a clear message. */
	r = kt_sched_lookup("scx_missing", sd, false, &err);
	CHECK(r == NULL);
	CHECK_STR_CONTAINS(err, "scheduler 'scx_missing' not found");
	CHECK_STR_CONTAINS(err, "KTSTR_SCHEDULER");
	free(err);
	/* A path must exist. */
	r = kt_sched_lookup("/nonexistent/scx_x", NULL, false, &err);
	CHECK(r == NULL);
	CHECK_STR_CONTAINS(err, "scheduler '/nonexistent/scx_x' not found: no such file");
	free(err);
	free(sd);
	free(pd);
	free(a);
	free(b);
}

/* Guest text in a failure report cannot drive the user's terminal. */
UNIT_TEST(runner_report_neutralises_terminal_escapes)
{
	struct kt_plan p;
	struct kt_outcome o = {.exit_code = 0, .have_result = true};
	char *rep;

	plan_for("unit_full", &p);
	kt_assert_result_pass(&o.result);
	kt_assert_result_add_failure(&o.result, KT_DETAIL_STUCK,
				     "stuck \x1b]0;owned\x07 \x1b[2J\x1b[31mred\r\x9b" "6n");
	o.sched_died = true;
	o.sched_log = kt_strdup("EXIT: \x1b[1Agone\n");
	o.console_tail = kt_strdup("tail \xc2\x9b" "1A \xc3\xa9t\xc3\xa9\n");
	o.guest_out = kt_strdup("out \x1bP+q\x1b\\\n");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	for (const char *c = rep; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t')
			unit_fail(__FILE__, __LINE__, "control byte 0x%02x in report", *c);
	CHECK(!strstr(rep, "\xc2\x9b") && !strstr(rep, "\x9b"));
	CHECK_STR_CONTAINS(rep, "stuck \\x1b]0;owned\\x07 \\x1b[2J\\x1b[31mred\\x9b6n\n");
	CHECK_STR_CONTAINS(rep, "EXIT: \\x1b[1Agone\n");
	CHECK_STR_CONTAINS(rep, "tail \\xc2\\x9b1A \xc3\xa9t\xc3\xa9\n");
	CHECK_STR_CONTAINS(rep, "out \\x1bP+q\\x1b\\\n");
	free(rep);
	kt_outcome_free(&o);
}
