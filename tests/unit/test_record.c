// SPDX-License-Identifier: GPL-2.0
/*
 * Sidecar honesty: every field comes from what the run measured (each
 * check below changes an input and sees the field follow), the
 * scheduler's exit is parsed from the guest's texts, and the failure
 * reason of each kind of failure is data.
 */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "results/results.h"
#include "runner/record.h"
#include "unit.h"
#include "util/util.h"

/* ---- the scheduler's exit -------------------------------------------------------- */

UNIT_TEST(record_sched_exit_console_error)
{
	const char *con = "[    5.1] sched_ext: BPF scheduler \"qmap\" disabled (scx_bpf_error)\n"
			  "[    5.1] sched_ext: qmap: bad dsq 0x1234 (from dispatch)\n"
			  "[    5.1]   scx_bpf_error_bstr+0x6f/0x90\n";
	struct kt_sched_exit e;

	CHECK(kt_sched_exit_parse(con, NULL, NULL, false, 0, &e));
	CHECK_STR_EQ(e.kind, "error");
	CHECK_STR_EQ(e.reason, "scx_bpf_error");
	CHECK_STR_EQ(e.message, "bad dsq 0x1234 (from dispatch)");
	CHECK_STR_EQ(e.source, "console");
	kt_sched_exit_free(&e);
}

UNIT_TEST(record_sched_exit_log_stall_and_dump_kind)
{
	const char *log = "local=1 global=2\nEXIT: runnable task stall (kworker/0:1[12] failed "
			  "to run for 5.004s)\n";
	const char *dump = "  <idle>-0 [001] ..  7.1: sched_ext_dump: kworker/u4:0[9] triggered "
			   "exit kind 1026:\n"
			   "  <idle>-0 [001] ..  7.1: sched_ext_dump:   runnable task stall (x)\n";
	struct kt_sched_exit e;
	json_t *j;

	CHECK(kt_sched_exit_parse(NULL, log, dump, false, 0, &e));
	CHECK_STR_EQ(e.kind, "stall");
	CHECK_STR_EQ(e.message, "kworker/0:1[12] failed to run for 5.004s");
	CHECK_STR_EQ(e.source, "scheduler log");
	CHECK_INT_EQ(e.exit_kind, 1026);
	j = kt_sched_exit_to_json(&e);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "scx_exit_kind")), 1026);
	json_decref(j);
	kt_sched_exit_free(&e);
	/* The dump alone gives the kind too. */
	CHECK(kt_sched_exit_parse(NULL, "no exit line\n", dump, false, 0, &e));
	CHECK_STR_EQ(e.kind, "stall");
	CHECK_STR_EQ(e.source, "dump");
	CHECK_STR_EQ(e.message, "x");
	kt_sched_exit_free(&e);
}

UNIT_TEST(record_sched_exit_status_and_normal)
{
	struct kt_sched_exit e;

	/* SIGSEGV (wait status = signal number), no sched_ext record: a crash. */
	CHECK(kt_sched_exit_parse("", "starting\n", NULL, true, 11, &e));
	CHECK_STR_EQ(e.kind, "crash");
	CHECK_STR_EQ(e.source, "wait status");
	CHECK_STR_CONTAINS(e.message, "signal 11");
	kt_sched_exit_free(&e);
	CHECK(kt_sched_exit_parse(NULL, NULL, NULL, true, 3 << 8, &e));
	CHECK_STR_EQ(e.kind, "crash");
	CHECK_STR_EQ(e.message, "exit status 3");
	kt_sched_exit_free(&e);
	CHECK(kt_sched_exit_parse(NULL, "EXIT: unregistered from user space\n", NULL, true, 0, &e));
	CHECK_STR_EQ(e.kind, "normal");
	CHECK(e.message == NULL);
	kt_sched_exit_free(&e);
	/* Nothing known: nothing claimed. */
	CHECK(!kt_sched_exit_parse("EXIT: made up\n", "EXIT: made up (x)\n", "", false, 0, &e));
	CHECK(e.kind == NULL);
}

/* ---- building the sidecar ------------------------------------------------------ */

static int unit_body(struct ktstr_ctx *ctx)
{
	(void)ctx;
	return 0;
}

#define UNSET_FIELDS                                                                             \
	.numa_nodes = KTSTR_UNSET, .llcs = KTSTR_UNSET, .cores = KTSTR_UNSET,                    \
	.threads = KTSTR_UNSET, .duration_s = KTSTR_UNSET, .workers_per_cgroup = KTSTR_UNSET,    \
	.memory_mb = KTSTR_UNSET, .watchdog_timeout_s = KTSTR_UNSET

/* A git repository with one commit in the scratch dir; its short HEAD in *head. */
static char *make_repo(const char *name, char **head)
{
	char *dir = kt_path_join(unit_tmpdir(), name), *cmd, *out = NULL;
	char *argv[] = {"git", "rev-parse", "--short=7", "HEAD", NULL};

	cmd = kt_asprintf("git init -q %s && cd %s && git -c user.name=u -c user.email=u@x "
			  "commit -q --allow-empty -m init",
			  dir, dir);
	CHECK_INT_EQ(system(cmd), 0);
	free(cmd);
	CHECK_INT_EQ(kt_run_capture(argv, dir, &out), 0);
	*head = kt_strdup(kt_trim(out));
	free(out);
	return dir;
}

static json_t *build_json(const struct kt_plan *p, const struct kt_kernel *k,
			  const struct kt_outcome *o, enum kt_verdict v, uint64_t wall,
			  struct kt_sidecar *sc)
{
	kt_record_build(p, k, o, v, wall, sc);
	return kt_sidecar_to_json(sc);
}

static const char *jstr(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);

	return json_string_value(b ? json_object_get(v, b) : v);
}

UNIT_TEST(record_fields_follow_the_run)
{
	char *khead, *shead, *kdir = make_repo("linux", &khead), *sdir = make_repo("sched", &shead);
	char *spath = kt_path_join(sdir, "scx_mine");
	struct ktstr_scheduler sched = {.name = "mine", .binary = spath,
					.sysctls = {"kernel.foo=1"}, .kargs = {"nosmt"}};
	struct ktstr_test t = {.name = "honest", .fn = unit_body, .topology = "1n1l2c1t",
			       UNSET_FIELDS};
	struct kt_kernel k = {.dir = kdir, .version = "6.99.1"};
	struct kt_outcome o = {.exit_code = -1};
	struct kt_sidecar sc, back;
	struct kt_plan p;
	char *err = NULL, *text;
	json_t *j;
	uint64_t t0;

	CHECK_INT_EQ(kt_write_file_atomic(spath, "#!/bin/sh\n", 10, 0755), 0);
	setenv("KTSTR_PROJECT_COMMIT", "feed123", 1);
	unsetenv("KTSTR_CI");

	/* EEVDF, no kernel, skipped. */
	CHECK_INT_EQ(kt_plan_resolve(&t, &p, &err), 0);
	j = build_json(&p, NULL, NULL, KT_VERDICT_SKIP, 17, &sc);
	CHECK_STR_EQ(jstr(j, "test_name", NULL), "honest");
	CHECK_STR_EQ(jstr(j, "topology", NULL), "1n1l2c1t");
	CHECK_STR_EQ(jstr(j, "scheduler", NULL), "eevdf");
	CHECK_STR_EQ(jstr(j, "work_type", NULL), "skipped");
	CHECK(json_is_true(json_object_get(j, "skipped")));
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "duration_ms")), 17);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "schema_version")),
		     KT_SIDECAR_SCHEMA_VERSION);
	CHECK_STR_EQ(jstr(j, "project_commit", NULL), "feed123");
	CHECK(json_is_null(json_object_get(j, "kernel_version")));
	CHECK_STR_CONTAINS(jstr(j, "absent", "kernel_version"), "no kernel");
	CHECK_STR_CONTAINS(jstr(j, "absent", "scheduler_commit"), "EEVDF");
	CHECK_STR_CONTAINS(jstr(j, "absent", "kvm_stats"), "no VM");
	CHECK_STR_CONTAINS(jstr(j, "absent", "verifier_stats"), "no sched_ext scheduler");
	CHECK(json_is_null(json_object_get(j, "failure")));
	json_decref(j);
	kt_sidecar_free(&sc);

	/* A scheduler in a git tree, a kernel source tree in git, a pass under TCG. */
	t.scheduler = &sched;
	t.host_only = false;
	CHECK_INT_EQ(kt_plan_resolve(&t, &p, &err), 0);
	o.have_result = true;
	kt_assert_result_pass(&o.result);
	{
		const char *facts = "{\"work_types\":[\"YieldHeavy\",\"Bursty\",\"Bogus\",7],"
				    "\"verifier_stats\":[{\"name\":\"mine_enqueue\","
				    "\"verified_insns\":321},{\"name\":7},{\"name\":\"x\","
				    "\"verified_insns\":-1}],\"junk\":1}";

		kt_record_facts(&o, facts, (uint32_t)strlen(facts));
	}
	t0 = kt_now_ns();
	o.rec.result_ns = t0;
	o.rec.vm_end_ns = t0 + 250 * 1000000ull;
	o.rec.progress = KT_PROGRESS_ATTACHED | KT_PROGRESS_BODY | KT_PROGRESS_RESULT;
	o.rec.accel = "tcg";
	o.sched_log = kt_strdup("EXIT: unregistered from user space\n");
	kt_record_set(&o, "stimulus_events", json_pack("[{s:i}]", "elapsed_ms", 5));
	setenv("KTSTR_CI", "yes", 1);
	j = build_json(&p, &k, &o, KT_VERDICT_PASS, 4321, &sc);
	CHECK_STR_EQ(jstr(j, "scheduler", NULL), "mine");
	CHECK_INT_EQ(json_array_size(json_object_get(j, "verifier_stats")), 1);
	CHECK_INT_EQ(json_integer_value(json_object_get(
			     json_array_get(json_object_get(j, "verifier_stats"), 0), "verified_insns")),
		     321);
	CHECK(json_object_get(j, "junk") == NULL);
	CHECK_STR_EQ(jstr(j, "work_type", NULL), "YieldHeavy+Bursty");
	CHECK_INT_EQ(json_array_size(json_object_get(j, "work_types")), 2);
	CHECK_STR_EQ(jstr(j, "kernel_version", NULL), "6.99.1");
	CHECK_STR_EQ(jstr(j, "kernel_commit", NULL), khead);
	CHECK_STR_EQ(jstr(j, "scheduler_commit", NULL), shead);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "cleanup_duration_ms")), 250);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "duration_ms")), 4321);
	CHECK_STR_EQ(jstr(j, "scheduler_exit", "kind"), "normal");
	CHECK_STR_EQ(jstr(j, "scheduler_exit", "reason"), "unregistered from user space");
	CHECK_STR_CONTAINS(jstr(j, "absent", "kvm_stats"), "TCG");
	CHECK_INT_EQ(json_integer_value(json_object_get(
			     json_array_get(json_object_get(j, "stimulus_events"), 0), "elapsed_ms")),
		     5);
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(j, "sysctls"), 0)),
		     "sysctl.kernel.foo=1");
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(j, "kargs"), 0)), "nosmt");
	CHECK(json_is_true(json_object_get(j, "passed")));
	CHECK(!json_is_true(json_object_get(j, "skipped")));
	CHECK_STR_EQ(jstr(j, "host", "arch"), "x86_64");
	CHECK(jstr(j, "absent", "stimulus_events") == NULL);
	/* Written and read back through the one reader. */
	setenv("KTSTR_SIDECAR_DIR", unit_tmpdir(), 1);
	CHECK_INT_EQ(kt_sidecar_write(&sc, &text, &err), 0);
	CHECK_INT_EQ(kt_sidecar_read(text, &back, &err), 0);
	CHECK_STR_EQ(back.run_source, "ci");
	CHECK_STR_EQ(back.work_type, "YieldHeavy+Bursty");
	CHECK_INT_EQ(back.work_types.n, 2);
	CHECK_STR_EQ(back.kernel_commit, khead);
	CHECK_INT_EQ(back.schema_version, KT_SIDECAR_SCHEMA_VERSION);
	CHECK(kt_sidecar_get(&back, "stimulus_events") != NULL);
	CHECK_STR_CONTAINS(kt_sidecar_absent_reason(&back, "kvm_stats"), "TCG");
	{
		time_t now = time(NULL);
		struct tm tm;
		char y[8];

		gmtime_r(&now, &tm);
		strftime(y, sizeof(y), "%Y-", &tm);
		CHECK(kt_startswith(back.timestamp, y));
	}
	kt_sidecar_free(&back);
	free(text);
	json_decref(j);
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);
	free(khead);
	free(shead);
	free(kdir);
	free(sdir);
	free(spath);
}

/* A kernel from the cache: its metadata says whether there is a commit. */
UNIT_TEST(record_kernel_commit_from_cache_metadata)
{
	struct ktstr_test t = {.name = "c", .fn = unit_body, UNSET_FIELDS};
	char *dir = kt_path_join(unit_tmpdir(), "entry"), *mp = kt_path_join(dir, "metadata.json");
	const char *meta_git = "{\"version\":null,\"source\":{\"type\":\"git\",\"git_hash\":"
			       "\"0123456789abcdef\",\"ref\":\"main\"},\"arch\":\"x86_64\","
			       "\"image_name\":\"bzImage\",\"built_at\":\"2026-01-01T00:00:00Z\","
			       "\"has_vmlinux\":true,\"vmlinux_stripped\":true}";
	const char *meta_tar = "{\"version\":\"6.1.1\",\"source\":{\"type\":\"tarball\"},"
			       "\"arch\":\"x86_64\",\"image_name\":\"bzImage\",\"built_at\":"
			       "\"2026-01-01T00:00:00Z\",\"has_vmlinux\":true,\"vmlinux_stripped\":"
			       "true}";
	struct kt_kernel k = {.dir = dir, .key = "somekey"};
	struct kt_sidecar sc;
	struct kt_plan p;
	char *err = NULL;

	CHECK_INT_EQ(kt_mkdir_p(dir, 0755), 0);
	CHECK_INT_EQ(kt_plan_resolve(&t, &p, &err), 0);
	CHECK_INT_EQ(kt_write_file_atomic(mp, meta_git, strlen(meta_git), 0644), 0);
	kt_record_build(&p, &k, NULL, KT_VERDICT_SKIP, 1, &sc);
	CHECK_STR_EQ(sc.kernel_commit, "0123456");
	kt_sidecar_free(&sc);
	CHECK_INT_EQ(kt_write_file_atomic(mp, meta_tar, strlen(meta_tar), 0644), 0);
	kt_record_build(&p, &k, NULL, KT_VERDICT_SKIP, 1, &sc);
	CHECK(sc.kernel_commit == NULL);
	CHECK_STR_CONTAINS(kt_sidecar_absent_reason(&sc, "kernel_commit"), "tarball");
	kt_sidecar_free(&sc);
	free(dir);
	free(mp);
}

/* The failure reason of each kind of failure is data: kind and phase. */
UNIT_TEST(record_failure_kinds)
{
	static const struct ktstr_scheduler sched = {.name = "s", .binary = "/nonexistent/scx_s"};
	struct ktstr_test t = {.name = "f", .fn = unit_body, .scheduler = &sched, UNSET_FIELDS};
	struct kt_outcome o;
	struct kt_sidecar sc;
	struct kt_plan p;
	char *err = NULL;

	CHECK_INT_EQ(kt_plan_resolve(&t, &p, &err), 0);
#define FAILS(kind_, phase_)                                                                     \
	do {                                                                                     \
		kt_record_build(&p, NULL, &o, KT_VERDICT_FAIL, 1, &sc);                          \
		CHECK_STR_EQ(json_string_value(json_object_get(sc.failure, "kind")), kind_);     \
		CHECK_STR_EQ(json_string_value(json_object_get(sc.failure, "phase")), phase_);   \
	} while (0)

	/* Missing scheduler. */
	memset(&o, 0, sizeof(o));
	o.sched_fail_reason = kt_strdup("scheduler 'scx_s' not found: no such file");
	FAILS("scheduler_missing", "before_attach");
	CHECK_STR_CONTAINS(json_string_value(json_object_get(sc.failure, "message")), "not found");
	CHECK_STR_CONTAINS(kt_sidecar_absent_reason(&sc, "failure_dump"), "no failure dump");
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);

	/* Never attached. */
	o.sched_not_attached = true;
	o.rec.vm_end_ns = 1;
	kt_assert_result_fail(&o.result, KT_DETAIL_SCHEDULER_DIED, "did not attach (timeout)");
	o.have_result = true;
	FAILS("scheduler_not_attached", "before_attach");
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);

	/* scx_bpf_error during the workload, dump path recorded. */
	o.sched_died = true;
	o.rec.vm_end_ns = 1;
	o.rec.progress = KT_PROGRESS_ATTACHED | KT_PROGRESS_BODY;
	kt_record_console_line(&o, "sched_ext: BPF scheduler \"s\" disabled (scx_bpf_error)");
	kt_record_console_line(&o, "sched_ext: s: invalid CPU 99");
	kt_record_failure_dump(&o, "/tmp/x.failure-dump.json");
	FAILS("scheduler_error", "workload");
	CHECK_STR_EQ(json_string_value(json_object_get(sc.failure, "message")),
		     "scx_bpf_error: invalid CPU 99");
	CHECK_STR_EQ(sc.failure_dump, "/tmp/x.failure-dump.json");
	CHECK_STR_EQ(json_string_value(json_object_get(sc.scheduler_exit, "kind")), "error");
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);

	/* A stall. */
	o.sched_died = true;
	o.rec.vm_end_ns = 1;
	o.rec.progress = KT_PROGRESS_ATTACHED | KT_PROGRESS_BODY;
	o.sched_log = kt_strdup("EXIT: runnable task stall (t[1] failed to run for 6s)\n");
	FAILS("scheduler_stall", "workload");
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);

	/* The body's own check failed. */
	o.rec.vm_end_ns = 1;
	o.rec.progress = KT_PROGRESS_ATTACHED | KT_PROGRESS_BODY | KT_PROGRESS_RESULT;
	o.have_result = true;
	kt_assert_result_fail(&o.result, KT_DETAIL_STUCK, "cg_0 worker 3 stuck 2500 ms");
	FAILS("body", "workload");
	CHECK_STR_EQ(json_string_value(json_object_get(sc.failure, "message")),
		     "Stuck: cg_0 worker 3 stuck 2500 ms");
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);

	/* The body passed, then the guest crashed while tearing down. */
	o.rec.vm_end_ns = 1;
	o.rec.progress = KT_PROGRESS_ATTACHED | KT_PROGRESS_BODY | KT_PROGRESS_RESULT |
			 KT_PROGRESS_TEARDOWN;
	o.have_result = true;
	kt_assert_result_pass(&o.result);
	o.crashed = true;
	o.crash_line = kt_strdup("Kernel panic - not syncing: x");
	FAILS("guest_crash", "teardown");
	kt_sidecar_free(&sc);
	kt_outcome_free(&o);
#undef FAILS
}

UNIT_TEST(record_reader_refuses_newer_schema)
{
	json_t *j = json_pack("{s:i,s:s,s:s,s:s,s:b,s:b,s:{},s:[],s:[],s:[],s:s,s:s}",
			      "schema_version", KT_SIDECAR_SCHEMA_VERSION + 1, "test_name", "t",
			      "topology", "1n1l1c1t", "scheduler", "eevdf", "passed", 1,
			      "skipped", 0, "stats", "active_flags", "sysctls", "kargs",
			      "timestamp", "2026-01-01T00:00:00Z", "run_id", "r-0");
	struct kt_sidecar sc;
	char *err = NULL;

	CHECK(kt_sidecar_from_json(j, &sc, &err) < 0);
	CHECK_STR_CONTAINS(err, "newer ktstr");
	free(err);
	err = NULL;
	/* The current version reads; work_type may be absent from version 1 on. */
	json_object_set_new(j, "schema_version", json_integer(KT_SIDECAR_SCHEMA_VERSION));
	CHECK_INT_EQ(kt_sidecar_from_json(j, &sc, &err), 0);
	CHECK(sc.work_type == NULL);
	kt_sidecar_free(&sc);
	/* Version 0 (no field) needs work_type, as before versioning. */
	json_object_del(j, "schema_version");
	CHECK(kt_sidecar_from_json(j, &sc, &err) < 0);
	free(err);
	json_decref(j);
}
