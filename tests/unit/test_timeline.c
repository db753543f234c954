// SPDX-License-Identifier: GPL-2.0
/* The timeline, BUG SUMMARY, the dump shown once, the failure dump document. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <ktstr/scenario.h>

#include "runner/failure.h"
#include "runner/runner.h"
#include "runner/timeline.h"
#include "unit.h"

/* A real exit dump (scx_qmap -t, the watchdog), as the guest forwards it. */
#define L(cpu, ts, text) "    kworker/u8:1-29      [" cpu "] d.h..     " ts ": sched_ext_dump: " text "\n"
static const char dump_exit[] =
    L("000", "5.943269", "kworker/u8:1[29] triggered exit kind 1026:")
    L("000", "5.943346", "  runnable task stall (init[56] failed to run for 2.072s)")
    L("000", "5.943391", "")
    L("000", "5.943405", "Backtrace:")
    L("000", "5.943425", "  scx_watchdog_workfn+0x153/0x1d0");

/* Guest CLOCK_MONOTONIC at scenario start: 1.436 s. */
static const uint64_t guest_start = 1436000000ull;

static void stim(struct kt_timeline *tl, uint32_t ms, uint16_t step, uint16_t workers,
		 uint16_t ops, uint32_t kinds)
{
	struct kt_msg_stimulus s = {.elapsed_ms = ms, .step_index = step, .op_count = ops,
				    .op_kinds = kinds, .cgroup_count = 1,
				    .worker_count = workers, .total_iterations = 77};

	kt_timeline_stimulus(tl, &s);
}

static void feed_dump(struct kt_timeline *tl, const char *dump)
{
	char *copy = kt_strdup(dump), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		kt_timeline_dump_line(tl, l);
	free(copy);
}

static void build(struct kt_timeline *tl)
{
	uint32_t end = 5224;

	kt_timeline_init(tl);
	kt_timeline_scenario_start(tl, 1000000000ull, &guest_start, sizeof(guest_start));
	stim(tl, 24, 0, 1, 0, 0);
	stim(tl, 2126, 1, 4, 1, 1u << KT_OP_SPAWN);
	feed_dump(tl, dump_exit);
	kt_timeline_host_event(tl, 1000000000ull + 5056000000ull, "guest: the scheduler exited");
	kt_timeline_scenario_end(tl, &end, sizeof(end));
}

UNIT_TEST(timeline_stall_in_its_step)
{
	struct kt_timeline tl;
	struct sbuf sb = SBUF_INIT;

	build(&tl);
	/* exit at 5943 ms guest time = 4507 ms into the scenario; 2072 ms earlier: 2435 */
	CHECK_INT_EQ(kt_timeline_step_at(&tl, 2435), 1);
	CHECK_INT_EQ(kt_timeline_step_at(&tl, 2125), 0);
	CHECK_INT_EQ(kt_timeline_step_at(&tl, 10), -1);
	kt_timeline_format(&tl, &sb, 40);
	CHECK_STR_CONTAINS(sb_str(&sb), "       0  scenario start\n"
					"      24  step 0: 1 cgroup, 1 worker, 77 iterations so far\n"
					"    2126  step 1: 1 cgroup, 4 workers, 1 op (Spawn), 77 "
					"iterations so far\n"
					"    2435  stall began: a task runnable 2.072 s before the "
					"exit never ran (during step 1)\n"
					"    4507  sched_ext exit: runnable task stall (init[56] "
					"failed to run for 2.072s)\n"
					"    5056  guest: the scheduler exited\n"
					"    5224  scenario end\n");
	sb_free(&sb);
	kt_timeline_free(&tl);
}

/* The monitor's runnable-wait alert back-dates the wait's start: shown in its step. */
UNIT_TEST(timeline_wait_began_in_its_step)
{
	struct kt_timeline tl;
	struct sbuf sb = SBUF_INIT;
	json_t *j;
	size_t i;
	bool found = false;

	build(&tl);
	kt_timeline_wait_began(&tl, 1000000000ull + 2400000000ull,
			       "monitor: init[56] on cpu1 became runnable and has not run since");
	kt_timeline_host_event(&tl, 1000000000ull + 3500000000ull,
			       "monitor: runnable task waiting: init[56] on cpu1 ...");
	kt_timeline_format(&tl, &sb, 40);
	CHECK_STR_CONTAINS(sb_str(&sb), "    2400  monitor: init[56] on cpu1 became runnable and "
					"has not run since (during step 1)\n"
					"    2435  stall began:");
	CHECK_STR_CONTAINS(sb_str(&sb), "    3500  monitor: runnable task waiting: init[56]");
	j = kt_timeline_events_json(&tl, 100);
	for (i = 0; i < json_array_size(j); i++) {
		json_t *e = json_array_get(j, i);

		if (!strcmp(json_string_value(json_object_get(e, "label")), "wait_began")) {
			CHECK_INT_EQ(json_integer_value(json_object_get(e, "elapsed_ms")), 2400);
			found = true;
		}
	}
	CHECK(found);
	json_decref(j);
	sb_free(&sb);
	kt_timeline_free(&tl);
}

UNIT_TEST(timeline_monitor_samples_per_step)
{
	struct kt_timeline tl;
	struct sbuf sb = SBUF_INIT;
	struct kt_tl_sample s = {.n_cpus = 2, .max_nr_running = 3, .first_stuck_cpu = -1};

	build(&tl);
	for (int i = 0; i < 50; i++) {
		s.host_ns = 1000000000ull + (uint64_t)i * 100000000ull;
		s.max_local_dsq = (uint32_t)i;
		s.stuck_cpus = i >= 30 ? 1 : 0;
		s.first_stuck_cpu = i >= 30 ? 1 : -1;
		s.max_wait_ms = i >= 40 ? 25 * (i - 39) : i == 10 ? -1 : 0;
		s.max_wait_cpu = 1;
		kt_timeline_sample(&tl, &s);
	}
	kt_timeline_format(&tl, &sb, 40);
	/* step 0 (24..2126 ms): samples 1..21, step 1: 22..49 */
	CHECK_STR_CONTAINS(sb_str(&sb), "monitor: 21 samples, nr_running max 3, local DSQ max 21\n");
	CHECK_STR_CONTAINS(sb_str(&sb), "monitor: 28 samples, nr_running max 3, local DSQ max 49, "
					"rq clock stuck in 20 samples (first cpu1 at +3000 ms), "
					"runnable wait max 250 ms (cpu1)\n");
	sb_free(&sb);
	kt_timeline_free(&tl);
}

UNIT_TEST(timeline_elides_middle_steps_keeps_failure)
{
	struct kt_timeline tl;
	struct sbuf sb = SBUF_INIT;
	uint64_t gs = 0;
	const char *out;
	size_t lines = 0;

	kt_timeline_init(&tl);
	kt_timeline_scenario_start(&tl, 1, &gs, sizeof(gs));
	for (int i = 0; i < 500; i++)
		stim(&tl, (uint32_t)i * 10, (uint16_t)i, 2, 0, 0);
	/* an exit at 2.0 s guest time: step 200 */
	kt_timeline_dump_line(&tl, "x-1 [001] d.... 2.000400: sched_ext_dump: x[1] triggered exit "
				   "kind 1025:");
	kt_timeline_dump_line(&tl, "x-1 [000] d.... 2.000600: sched_ext_dump: other cpu line");
	kt_timeline_dump_line(&tl, "x-1 [001] d.... 2.000700: sched_ext_dump:   scx_bpf_error (boom)");
	kt_timeline_format(&tl, &sb, 40);
	out = sb_str(&sb);
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	CHECK(lines < 50);
	CHECK_STR_CONTAINS(out, "    2000  step 200:");
	CHECK_STR_CONTAINS(out, "    2000  sched_ext exit: scx_bpf_error (boom)\n");
	CHECK_STR_CONTAINS(out, "steps not shown\n");
	CHECK_STR_CONTAINS(out, "    4990  step 499:");
	CHECK_STR_CONTAINS(out, "       0  step 0:");
	sb_free(&sb);
	kt_timeline_free(&tl);
}

UNIT_TEST(timeline_without_scenario_start_or_clock)
{
	struct kt_timeline tl;
	struct sbuf sb = SBUF_INIT;

	kt_timeline_init(&tl);
	CHECK(kt_timeline_empty(&tl));
	/* an old guest: SCST without the clock; dump lines cannot be placed */
	kt_timeline_scenario_start(&tl, 5, "", 0);
	feed_dump(&tl, dump_exit);
	kt_timeline_format(&tl, &sb, 40);
	CHECK_STR_CONTAINS(sb_str(&sb), "       ?  sched_ext exit: runnable task stall");
	CHECK_STR_CONTAINS(sb_str(&sb), "       ?  stall began");
	sb_free(&sb);
	kt_timeline_free(&tl);
	/* garbage lines are ignored, huge text is cut */
	kt_timeline_init(&tl);
	kt_timeline_dump_line(&tl, "no marker here");
	kt_timeline_dump_line(&tl, "[99999999999] 1e400: sched_ext_dump: triggered exit kind x");
	kt_timeline_dump_line(&tl, "sched_ext_dump: failed to run for 99999999999999.999s");
	CHECK_INT_EQ(tl.n_ev, 1);
	{
		char big[4096];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		kt_timeline_host_event(&tl, 1, big);
		CHECK_INT_EQ(strlen(tl.ev[1].text), KT_TL_TEXT_MAX);
	}
	for (int i = 0; i < KT_TL_MAX_EVENTS + 10; i++)
		kt_timeline_host_event(&tl, 2, "x");
	CHECK_INT_EQ(tl.n_ev, KT_TL_MAX_EVENTS);
	CHECK_INT_EQ(tl.dropped, 12);
	kt_timeline_free(&tl);
}

UNIT_TEST(timeline_stimulus_json)
{
	struct kt_timeline tl;
	json_t *a;
	char *s;

	build(&tl);
	a = kt_timeline_stimulus_json(&tl);
	s = json_dumps(a, JSON_COMPACT);
	CHECK_STR_EQ(s, "[{\"elapsed_ms\":0,\"label\":\"scenario_start\"},"
			"{\"elapsed_ms\":24,\"label\":\"step\",\"detail\":\"step 0: 1 cgroup, 1 worker, "
			"77 iterations so far\",\"total_iterations\":77,\"step_index\":0,"
			"\"cgroup_count\":1,\"worker_count\":1},"
			"{\"elapsed_ms\":2126,\"label\":\"step\",\"op_kind\":\"Spawn\",\"detail\":"
			"\"step 1: 1 cgroup, 4 workers, 1 op (Spawn), 77 iterations so far\","
			"\"total_iterations\":77,\"step_index\":1,\"cgroup_count\":1,"
			"\"worker_count\":4},"
			"{\"elapsed_ms\":5224,\"label\":\"scenario_end\"}]");
	free(s);
	json_decref(a);
	kt_timeline_free(&tl);
}

UNIT_TEST(bug_summary_extraction)
{
	char *s;

	/* 1. the dump: the reason line from the anchor's CPU */
	s = kt_bug_summary(L("001", "1.0", "x[1] triggered exit kind 1025:")
			   L("000", "1.1", "another CPU's line")
			   L("001", "1.2", "")
			   L("001", "1.3", "  \x1b[1mscx_bpf_error\x1b[0m (test triggering error)"),
			   "log", NULL);
	CHECK_STR_EQ(s, "scx_bpf_error (test triggering error)");
	free(s);
	/* a second anchor on the same CPU stops the search */
	s = kt_bug_summary(L("001", "1.0", "x[1] triggered exit kind 1025:")
			   L("001", "1.1", "y[2] triggered exit kind 1026:")
			   L("001", "1.2", "reason"), NULL, NULL);
	CHECK(s == NULL);
	/* 2. the scheduler's printed copy ("comm[pid]" is no CPU tag) */
	s = kt_bug_summary(NULL,
			   "DEBUG DUMP\n====================\n\nkworker/u8:1[29] triggered exit "
			   "kind 1026:\n  runnable task stall (init[41] failed to run for 2.5s)\n",
			   NULL);
	CHECK_STR_EQ(s, "runnable task stall (init[41] failed to run for 2.5s)");
	free(s);
	/* 3. scx_bpf_error in the log */
	s = kt_bug_summary("", "a\n  scx_bpf_error: boom at line 3  \nb\n", NULL);
	CHECK_STR_EQ(s, "scx_bpf_error: boom at line 3");
	free(s);
	/* 4. the extra text, one line; nothing: NULL */
	s = kt_bug_summary(NULL, NULL, "monitor: rq_clock stall\non cpu1");
	CHECK_STR_EQ(s, "monitor: rq_clock stall on cpu1");
	free(s);
	CHECK(kt_bug_summary(NULL, "all fine\n", NULL) == NULL);
}

UNIT_TEST(sched_log_dump_shown_once)
{
	const char *log = "stats : enq=1\n\nDEBUG DUMP\n"
			  "================================================================\n\n"
			  "kworker[29] triggered exit kind 1026:\n  runnable task stall (x)\n\n"
			  "================================================================\n\n"
			  "EXIT: runnable task stall (x)\n";
	char *s = kt_sched_log_without_dump(log);

	CHECK_STR_EQ(s, "stats : enq=1\n\n[sched_ext dump printed by the scheduler: 6 lines, "
			"shown once in --- sched_ext dump ---]\n\nEXIT: runnable task stall (x)\n");
	free(s);
	CHECK(kt_sched_log_without_dump("no dump here\n") == NULL);
	CHECK(kt_sched_log_without_dump(NULL) == NULL);
	/* cut before the closing line: the dump runs to the end */
	s = kt_sched_log_without_dump("a\nDEBUG DUMP\n==========================\nline\n");
	CHECK_STR_CONTAINS(s, "a\n[sched_ext dump printed by the scheduler: 2 lines");
	free(s);
}

UNIT_TEST(failure_dump_document)
{
	struct kt_outcome o = {.exit_code = 1};
	struct kt_timeline tl;
	struct kt_failure_ctx fc = {.test = "t", .scheduler = "scx_qmap", .topology = "1n1l2c1t",
				    .bug_summary = "runnable task stall (init[56] failed to run "
						   "for 2.072s)",
				    .details = "scheduler died\n"};
	json_t *j;

	build(&tl);
	o.sched_dump = kt_strdup(dump_exit);
	o.init_stage = kt_strdup("stopping scheduler");
	j = kt_failure_dump_json(&fc, &o, &tl);
	CHECK(json_is_false(json_object_get(j, "is_placeholder")));
	CHECK_STR_EQ(json_string_value(json_object_get(j, "schema")), "single");
	CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(j, "scheduler_exit"),
							 "scx_exit_kind")),
		     1026);
	CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "scheduler_exit"),
						       "kind")),
		     "stall");
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(j, "sched_ext_dump"), 0)),
		     "kworker/u8:1[29] triggered exit kind 1026:");
	CHECK_INT_EQ(json_array_size(json_object_get(j, "timeline_tail")), 7);
	CHECK_STR_EQ(json_string_value(json_array_get(json_object_get(j, "details"), 0)),
		     "scheduler died");
	json_decref(j);

	/* no dump: a placeholder that says why */
	free(o.sched_dump);
	o.sched_dump = NULL;
	fc.scheduler = "eevdf";
	j = kt_failure_dump_json(&fc, &o, NULL);
	CHECK(json_is_true(json_object_get(j, "is_placeholder")));
	CHECK_STR_CONTAINS(json_string_value(json_object_get(j, "scx_walker_unavailable")),
			   "test failed at stage `stopping scheduler`; no sched_ext dump captured "
			   "(no sched_ext scheduler ran). BUG SUMMARY: runnable task stall");
	CHECK(json_is_null(json_object_get(j, "scheduler_exit")));
	json_decref(j);
	kt_outcome_free(&o);
	kt_timeline_free(&tl);
}

/* The report: BUG SUMMARY above the header, the timeline, the dump once. */
UNIT_TEST(report_bug_summary_timeline_dump_once)
{
	struct kt_plan p;
	struct kt_outcome o = {.exit_code = 1, .have_result = true, .wall_s = 3};
	struct kt_timeline tl;
	char *err = NULL, *rep;
	const char *bs, *hdr;

	CHECK_INT_EQ(kt_plan_resolve(kt_registry_find("unit_defaults"), &p, &err), 0);
	build(&tl);
	o.timeline = &tl;
	kt_assert_result_pass(&o.result);
	kt_assert_result_add_failure(&o.result, KT_DETAIL_MONITOR,
				     "rq_clock stall on cpu1 for 5 consecutive samples");
	kt_assert_result_add_failure(&o.result, KT_DETAIL_SCHEDULER_DIED, "scheduler died");
	/* no dump: the monitor's violation names the bug */
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	CHECK_STR_CONTAINS(rep, "BUG SUMMARY: rq_clock stall on cpu1 for 5 consecutive samples\n");
	free(rep);
	/* the dump (and the scheduler's printed copy of it) */
	o.sched_dump = kt_strdup(dump_exit);
	o.sched_log = kt_strdup("DEBUG DUMP\n======================\n\nx triggered exit kind 1026:\n"
				"======================\n\nEXIT: runnable task stall (init[56] failed "
				"to run for 2.072s)\n");
	CHECK_INT_EQ(kt_verdict_decide(&p, &o, false, &rep), KT_VERDICT_FAIL);
	bs = strstr(rep, "BUG SUMMARY: runnable task stall (init[56] failed to run for 2.072s)\n");
	hdr = strstr(rep, "ktstr_test 'unit_defaults'");
	CHECK(bs && hdr && bs < hdr);
	CHECK_STR_CONTAINS(rep, "--- timeline ---\n(ms from scenario start;");
	CHECK_STR_CONTAINS(rep, "(during step 1)\n");
	CHECK_STR_CONTAINS(rep, "--- scheduler log ---\n[sched_ext dump printed by the scheduler");
	CHECK_STR_CONTAINS(rep, "--- sched_ext dump ---\n");
	/* the exit anchor appears once: in the dump section */
	CHECK(strstr(rep, "triggered exit kind") > strstr(rep, "--- sched_ext dump ---"));
	CHECK(!strstr(strstr(rep, "triggered exit kind") + 1, "triggered exit kind"));
	free(rep);
	o.timeline = NULL;
	kt_outcome_free(&o);
	kt_timeline_free(&tl);
}
