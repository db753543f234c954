// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "util/util.h"
#include "workload/workload.h"
#include "workload/worker.h"

static void msleep(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* True when no child of ours is left (neither running nor zombie). */
static bool no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static bool gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

UNIT_TEST(workload_type_names)
{
	static const char *const all[] = {
	    "CpuSpin",	   "YieldHeavy",    "Mixed",	      "IoSync",		 "Bursty",
	    "PipeIo",	   "FutexPingPong", "FutexFanOut",    "CachePressure",	 "CacheYield",
	    "CachePipe",   "Sequence",	    "ForkExit",	      "NiceSweep",	 "AffinityChurn",
	    "PolicyChurn", "FanOutCompute", "PageFaultChurn", "MutexContention", "Custom",
	};
	enum kt_work_type t;
	struct kt_work w;
	size_t n;
	const char *const *names;

	CHECK_INT_EQ(KT_ARRAY_SIZE(all), KT_WORK__COUNT);
	for (unsigned i = 0; i < KT_WORK__COUNT; i++) {
		CHECK_STR_EQ(kt_work_type_name((enum kt_work_type)i), all[i]);
		CHECK_INT_EQ(kt_work_type_from_name(all[i], &t), 0);
		CHECK_INT_EQ(t, i);
	}
	/* Case-sensitive, exact. */
	CHECK_INT_EQ(kt_work_type_from_name("cpuspin", &t), -EINVAL);
	CHECK_INT_EQ(kt_work_type_from_name("CpuSpin ", &t), -EINVAL);
	CHECK_INT_EQ(kt_work_from_name("CPUSPIN", &w), -EINVAL);
	/* Sequence and Custom are not constructible by name. */
	CHECK_INT_EQ(kt_work_from_name("Sequence", &w), -EINVAL);
	CHECK_INT_EQ(kt_work_from_name("Custom", &w), -EINVAL);
	names = kt_work_all_names(&n);
	CHECK_INT_EQ(n, 18);
	for (size_t i = 0; i < n; i++) {
		CHECK_INT_EQ(kt_work_from_name(names[i], &w), 0);
		CHECK_STR_EQ(kt_work_type_name(w.type), names[i]);
	}

	/* Defaults and group sizes. */
	CHECK_INT_EQ(kt_work_from_name("Bursty", &w), 0);
	CHECK_INT_EQ(w.bursty.burst_ms, 50);
	CHECK_INT_EQ(w.bursty.sleep_ms, 100);
	CHECK_INT_EQ(kt_work_group_size(&w), 0);
	kt_work_from_name("PipeIo", &w);
	CHECK_INT_EQ(w.pipe_io.burst_iters, 1024);
	CHECK_INT_EQ(kt_work_group_size(&w), 2);
	kt_work_from_name("FutexPingPong", &w);
	CHECK_INT_EQ(kt_work_group_size(&w), 2);
	kt_work_from_name("CachePipe", &w);
	CHECK_INT_EQ(w.cache_pipe.size_kb, 32);
	CHECK_INT_EQ(kt_work_group_size(&w), 2);
	kt_work_from_name("FutexFanOut", &w);
	CHECK_INT_EQ(kt_work_group_size(&w), 5);
	kt_work_from_name("FanOutCompute", &w);
	CHECK_INT_EQ(w.fan_out_compute.cache_footprint_kb, 256);
	CHECK_INT_EQ(w.fan_out_compute.operations, 5);
	CHECK_INT_EQ(w.fan_out_compute.sleep_usec, 100);
	CHECK_INT_EQ(kt_work_group_size(&w), 5);
	kt_work_from_name("MutexContention", &w);
	CHECK_INT_EQ(w.mutex_contention.hold_iters, 256);
	CHECK_INT_EQ(w.mutex_contention.work_iters, 1024);
	CHECK_INT_EQ(kt_work_group_size(&w), 4);
	kt_work_from_name("PageFaultChurn", &w);
	CHECK_INT_EQ(w.page_fault_churn.region_kb, 4096);
	CHECK_INT_EQ(w.page_fault_churn.touches_per_cycle, 256);
	CHECK_INT_EQ(w.page_fault_churn.spin_iters, 64);
	kt_work_from_name("CachePressure", &w);
	CHECK_INT_EQ(w.cache_pressure.size_kb, 32);
	CHECK_INT_EQ(w.cache_pressure.stride, 64);
	CHECK_INT_EQ(kt_work_group_size(&w), 0);
}

UNIT_TEST(workload_config_defaults_and_mempolicy)
{
	struct kt_workload_config c;
	struct kt_mem_policy mp = {.kind = KT_MPOL_DEFAULT};

	kt_workload_config_init(&c);
	CHECK_INT_EQ(c.num_workers, 1);
	CHECK_INT_EQ(c.work.type, KT_WORK_CPU_SPIN);
	CHECK_INT_EQ(c.sched.kind, KT_SCHED_NORMAL);
	CHECK_INT_EQ(c.affinity.kind, KT_AFF_NONE);
	CHECK_INT_EQ(c.mem.kind, KT_MPOL_DEFAULT);
	CHECK_INT_EQ(c.mem.flags, 0);
	CHECK_INT_EQ(kt_mem_policy_mode(&mp), -1);
	mp.kind = KT_MPOL_BIND;
	CHECK_INT_EQ(kt_mem_policy_mode(&mp), 2);
	CHECK(kt_mem_policy_has_nodes(&mp));
	mp.kind = KT_MPOL_LOCAL;
	CHECK_INT_EQ(kt_mem_policy_mode(&mp), 4);
	CHECK(!kt_mem_policy_has_nodes(&mp));
	mp.kind = KT_MPOL_WEIGHTED_INTERLEAVE;
	CHECK_INT_EQ(kt_mem_policy_mode(&mp), 6);
	CHECK_INT_EQ(KT_MPOL_F_STATIC_NODES, 1 << 15);
	CHECK_INT_EQ(KT_MPOL_F_RELATIVE_NODES, 1 << 14);
	CHECK_INT_EQ(KT_MPOL_F_NUMA_BALANCING, 1 << 13);
}

static void fill_report(struct kt_worker_report *r)
{
	memset(r, 0, sizeof(*r));
	r->tid = 4242;
	r->work_units = 123456789012ull;
	r->cpu_time_ns = 900000000;
	r->wall_time_ns = 1000000000;
	r->off_cpu_ns = 100000000;
	r->migration_count = 2;
	kt_cpuset_set(&r->cpus_used, 0);
	kt_cpuset_set(&r->cpus_used, 3);
	r->n_migrations = 2;
	r->migrations = kt_calloc(2, sizeof(*r->migrations));
	r->migrations[0] = (struct kt_migration){.at_ns = 5, .from_cpu = 0, .to_cpu = 3};
	r->migrations[1] = (struct kt_migration){.at_ns = 9, .from_cpu = 3, .to_cpu = 0};
	r->max_gap_ms = 17;
	r->max_gap_cpu = 3;
	r->max_gap_at_ms = 400;
	r->max_gap_on_cpu_ms = 12;
	r->n_resume_latencies = 3;
	r->resume_latencies_ns = kt_calloc(3, sizeof(uint64_t));
	r->resume_latencies_ns[0] = 10;
	r->resume_latencies_ns[1] = 20;
	r->resume_latencies_ns[2] = 30;
	r->wake_sample_total = 7;
	r->iterations = 99;
	r->schedstat_run_delay_ns = 11;
	r->schedstat_run_count = 12;
	r->schedstat_cpu_time_ns = 13;
	r->completed = true;
	r->n_numa_pages = 2;
	r->numa_pages = kt_calloc(2, sizeof(*r->numa_pages));
	r->numa_pages[0] = (struct kt_numa_pages){0, 100};
	r->numa_pages[1] = (struct kt_numa_pages){1, 5};
	r->vmstat_numa_pages_migrated = 3;
	r->is_messenger = true;
	r->exchange_pair = 3;
	r->start_ns = 987654321000ull;
	kt_cpuset_set(&r->allowed_cpus, 1);
	kt_cpuset_set(&r->allowed_cpus, 2);
}

UNIT_TEST(workload_report_json_roundtrip)
{
	struct kt_worker_report a, b, s;
	char *txt, *txt2, *err = NULL;

	fill_report(&a);
	txt = kt_worker_report_to_string(&a);
	CHECK(txt != NULL);
	CHECK_STR_CONTAINS(txt, "\"tid\":4242");
	CHECK_STR_CONTAINS(txt, "\"cpus_used\":[0,3],\"allowed_cpus\":[1,2],");
	CHECK_STR_CONTAINS(txt, "\"migrations\":[{\"at_ns\":5,\"from_cpu\":0,\"to_cpu\":3}");
	CHECK_STR_CONTAINS(txt, "\"numa_pages\":{\"0\":100,\"1\":5}");
	CHECK_STR_CONTAINS(txt, "\"resume_latencies_ns\":[10,20,30]");
	CHECK_STR_CONTAINS(txt, "\"max_gap_at_ms\":400,\"max_gap_on_cpu_ms\":12,");
	CHECK(!strstr(txt, "exit_info"));
	CHECK_INT_EQ(kt_worker_report_parse(txt, strlen(txt), &b, &err), 0);
	CHECK(err == NULL);
	txt2 = kt_worker_report_to_string(&b);
	CHECK_STR_EQ(txt, txt2);
	CHECK_INT_EQ(b.tid, 4242);
	CHECK_INT_EQ(b.work_units, 123456789012ull);
	CHECK(kt_cpuset_equal(&a.cpus_used, &b.cpus_used));
	CHECK(kt_cpuset_equal(&a.allowed_cpus, &b.allowed_cpus));
	CHECK_INT_EQ(b.n_migrations, 2);
	CHECK_INT_EQ(b.migrations[1].from_cpu, 3);
	CHECK_INT_EQ(b.numa_pages[1].node, 1);
	CHECK(b.is_messenger);
	CHECK_STR_CONTAINS(txt, "\"is_messenger\":true,\"exchange_pair\":3,\"start_ns\":987654321000}");
	CHECK_INT_EQ(b.exchange_pair, 3);
	CHECK_INT_EQ(b.start_ns, 987654321000ull);
	CHECK_INT_EQ(b.max_gap_on_cpu_ms, 12);
	free(txt);
	free(txt2);
	kt_worker_report_clear(&b);

	/* Sentinels: numa_pages omitted when empty, exit_info serde-style. */
	kt_worker_report_sentinel(&s, 77, (struct kt_exit_info){KT_EXIT_SIGNALED, 9});
	txt = kt_worker_report_to_string(&s);
	CHECK_STR_CONTAINS(txt, "\"exit_info\":{\"Signaled\":9}");
	CHECK_STR_CONTAINS(txt, "\"completed\":false");
	CHECK(!strstr(txt, "\"numa_pages\""));
	CHECK_INT_EQ(kt_worker_report_parse(txt, strlen(txt), &b, NULL), 0);
	CHECK_INT_EQ(b.exit_info.kind, KT_EXIT_SIGNALED);
	CHECK_INT_EQ(b.exit_info.value, 9);
	free(txt);
	kt_worker_report_clear(&b);
	s.exit_info = (struct kt_exit_info){KT_EXIT_TIMED_OUT, 0};
	txt = kt_worker_report_to_string(&s);
	CHECK_STR_CONTAINS(txt, "\"exit_info\":\"TimedOut\"");
	CHECK_INT_EQ(kt_worker_report_parse(txt, strlen(txt), &b, NULL), 0);
	CHECK_INT_EQ(b.exit_info.kind, KT_EXIT_TIMED_OUT);
	free(txt);

	char buf[32];

	kt_exit_info_format(&(struct kt_exit_info){KT_EXIT_EXITED, 1}, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "Exited(1)");
	kt_exit_info_format(&(struct kt_exit_info){KT_EXIT_WAIT_FAILED, 10}, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "WaitFailed(10)");
	kt_worker_report_clear(&a);
}

UNIT_TEST(workload_report_json_malformed)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[1,2]",
	    "{\"work_units\":5,\"completed\":true}", /* missing tid */
	    "{\"tid\":1,\"work_units\":5}",	     /* missing completed */
	    "{\"tid\":-1,\"work_units\":5,\"completed\":true}",
	    "{\"tid\":1,\"work_units\":\"5\",\"completed\":true}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":1}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"cpus_used\":[5000]}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"cpus_used\":{}}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"migrations\":[{\"at_ns\":1}]}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"resume_latencies_ns\":[-1]}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"numa_pages\":{\"x\":1}}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"exit_info\":{\"Boom\":1}}",
	    "{\"tid\":1,\"work_units\":5,\"completed\":true,\"tid\":2}",
	    "{\"tid\":99999999999,\"work_units\":5,\"completed\":true}",
	    /* more of the gap on CPU than the gap */
	    "{\"tid\":1,\"completed\":true,\"max_gap_ms\":5,\"max_gap_on_cpu_ms\":6}",
	};
	struct kt_worker_report r;

	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		char *err = NULL;

		if (kt_worker_report_parse(bad[i], strlen(bad[i]), &r, &err) != -EINVAL)
			unit_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		CHECK(err != NULL);
		free(err);
	}
	/* Minimal valid report. */
	CHECK_INT_EQ(
	    kt_worker_report_parse("{\"tid\":1,\"work_units\":5,\"completed\":true}", 41, &r, NULL),
	    0);
	CHECK_INT_EQ(r.work_units, 5);

	/* Over-long wake sample array is refused (bounded). */
	struct sbuf sb = SBUF_INIT;

	sb_adds(&sb, "{\"tid\":1,\"work_units\":5,\"completed\":true,\"resume_latencies_ns\":[");
	for (int i = 0; i <= KT_MAX_WAKE_SAMPLES; i++)
		sb_adds(&sb, i ? ",1" : "1");
	sb_adds(&sb, "]}");
	CHECK_INT_EQ(kt_worker_report_parse(sb.s, sb.len, &r, NULL), -EINVAL);
	sb_free(&sb);
}

UNIT_TEST(workload_spawn_validation)
{
	struct kt_workload_config c;
	struct kt_workload *wl = NULL;
	char *err = NULL;

	kt_workload_config_init(&c);
	c.num_workers = 0;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "num_workers must be greater than 0");
	free(err);
	kt_work_from_name("PipeIo", &c.work);
	c.num_workers = 3;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, &err), -EINVAL);
	CHECK_STR_EQ(err, "PipeIo requires num_workers divisible by 2, got 3");
	free(err);
	kt_work_from_name("FutexFanOut", &c.work);
	c.num_workers = 4;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, &err), -EINVAL);
	CHECK_STR_EQ(err, "FutexFanOut requires num_workers divisible by 5, got 4");
	free(err);
	kt_work_default(&c.work, KT_WORK_CUSTOM);
	c.num_workers = 1;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, &err), -EINVAL);
	free(err);
	kt_work_default(&c.work, KT_WORK_CPU_SPIN);
	c.affinity.kind = KT_AFF_FIXED;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, &err), -EINVAL);
	free(err);
	CHECK(wl == NULL);
	CHECK(no_children());
}

UNIT_TEST(workload_cpuspin_collect)
{
	struct kt_workload_config c;
	struct kt_workload *wl;
	struct kt_worker_report *r;
	pid_t pids[2];
	size_t n;
	uint64_t per[2];
	struct kt_cpuset one;

	kt_workload_config_init(&c);
	c.num_workers = 2;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	CHECK_INT_EQ(kt_workload_count(wl), 2);
	memcpy(pids, kt_workload_pids(wl), sizeof(pids));
	CHECK(pids[0] > 0 && pids[1] > 0 && pids[0] != pids[1]);
	/* Each worker leads its own process group. */
	msleep(20);
	CHECK_INT_EQ(getpgid(pids[0]), pids[0]);
	/* Not started yet: no iterations. */
	CHECK_INT_EQ(kt_workload_snapshot_iterations(wl, NULL), 0);
	CHECK_INT_EQ(kt_workload_start(wl), 0);
	CHECK_INT_EQ(kt_workload_start(wl), 0); /* idempotent */
	kt_cpuset_zero(&one);
	kt_cpuset_set(&one, 0);
	CHECK_INT_EQ(kt_workload_set_affinity(wl, 0, &one), 0);
	CHECK_INT_EQ(kt_workload_set_affinity(wl, 2, &one), -EINVAL);
	msleep(300);
	CHECK(kt_workload_snapshot_iterations(wl, per) > 0);
	CHECK(per[0] > 0 && per[1] > 0);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 0, &r, &n), 0);
	CHECK_INT_EQ(n, 2);
	for (size_t i = 0; i < n; i++) {
		CHECK(r[i].completed);
		CHECK_INT_EQ(r[i].tid, pids[i]);
		CHECK(r[i].work_units > 0);
		CHECK(r[i].work_units % 1024 == 0);
		CHECK(r[i].iterations > 0);
		CHECK(r[i].wall_time_ns >= 250000000ull);
		CHECK(r[i].cpu_time_ns > 0);
		CHECK(r[i].cpu_time_ns + r[i].off_cpu_ns == r[i].wall_time_ns ||
		      r[i].off_cpu_ns == 0);
		CHECK(!kt_cpuset_empty(&r[i].cpus_used));
		CHECK_INT_EQ(r[i].exit_info.kind, KT_EXIT_NONE);
	}
	/* Worker 0 was pinned to CPU 0 before doing most of its work. */
	CHECK(kt_cpuset_has(&r[0].cpus_used, 0));
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 0, &r, &n), -EALREADY);
	kt_worker_reports_free(r, 2);
	/* Everything reaped already by collect. */
	CHECK(gone(pids[0]) && gone(pids[1]));
	CHECK(no_children());
	kt_workload_destroy(wl);
	CHECK(no_children());
}

/*
 * A worker stopped (SIGSTOP) for 400 ms has a gap of about that length
 * that its kernel counts as off CPU: the on-CPU part stays small, so the
 * stuck check still blames the gap on scheduling (see check_stuck_*).
 */
UNIT_TEST(workload_gap_on_cpu_part)
{
	struct kt_workload_config c;
	struct kt_workload *wl;
	struct kt_worker_report *r;
	size_t n;
	pid_t pid;

	kt_workload_config_init(&c);
	c.num_workers = 1;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	pid = kt_workload_pids(wl)[0];
	CHECK_INT_EQ(kt_workload_start(wl), 0);
	msleep(100);
	CHECK_INT_EQ(kill(pid, SIGSTOP), 0);
	msleep(400);
	CHECK_INT_EQ(kill(pid, SIGCONT), 0);
	msleep(100);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 0, &r, &n), 0);
	CHECK_INT_EQ(n, 1);
	CHECK(r[0].max_gap_ms >= 350);
	CHECK(r[0].max_gap_on_cpu_ms <= r[0].max_gap_ms);
	CHECK(r[0].max_gap_on_cpu_ms * 2 < r[0].max_gap_ms);
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);
}

static int ignore_stop(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep)
{
	(void)stop;
	(void)arg;
	for (;;)
		pause();
	return 0;
}

static int die_with_3(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep)
{
	_exit(3);
}

static int abort_self(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep)
{
	signal(SIGABRT, SIG_DFL);
	abort();
}

static int count_until_stop(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep)
{
	while (!*stop)
		rep->work_units++;
	rep->iterations = *(int *)arg;
	return 0;
}

UNIT_TEST(workload_sentinels)
{
	struct kt_workload_config c;
	struct kt_workload *wl;
	struct kt_worker_report *r;
	size_t n;
	uint64_t t0;
	int magic = 31337;

	/* Ignores SIGUSR1: killed at the deadline, sentinel TimedOut. */
	kt_workload_config_init(&c);
	kt_work_default(&c.work, KT_WORK_CUSTOM);
	c.work.custom.fn = ignore_stop;
	c.num_workers = 1;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	pid_t pid = kt_workload_pids(wl)[0];

	kt_workload_start(wl);
	msleep(50);
	/* pause() returns on SIGUSR1 but the loop ignores it. */
	t0 = kt_now_ns();
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 300, &r, &n), 0);
	CHECK(kt_now_ns() - t0 < 3000000000ull);
	CHECK_INT_EQ(n, 1);
	CHECK(!r[0].completed);
	CHECK_INT_EQ(r[0].tid, pid);
	CHECK_INT_EQ(r[0].exit_info.kind, KT_EXIT_TIMED_OUT);
	CHECK(gone(pid));
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);

	/* Exits without a report: Exited(3). Aborts: Signaled(6). */
	c.work.custom.fn = die_with_3;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	kt_workload_start(wl);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 2000, &r, &n), 0);
	CHECK(!r[0].completed);
	CHECK_INT_EQ(r[0].exit_info.kind, KT_EXIT_EXITED);
	CHECK_INT_EQ(r[0].exit_info.value, 3);
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);

	c.work.custom.fn = abort_self;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	kt_workload_start(wl);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 2000, &r, &n), 0);
	CHECK(!r[0].completed);
	CHECK_INT_EQ(r[0].exit_info.kind, KT_EXIT_SIGNALED);
	CHECK_INT_EQ(r[0].exit_info.value, SIGABRT);
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);

	/* Custom report is sent verbatim; collect without start starts first. */
	c.work.custom.fn = count_until_stop;
	c.work.custom.arg = &magic;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 2000, &r, &n), 0);
	CHECK(r[0].completed);
	CHECK(r[0].work_units > 0);
	CHECK_INT_EQ(r[0].iterations, 31337);
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);
	CHECK(no_children());
}

UNIT_TEST(workload_destroy_without_collect)
{
	struct kt_workload_config c;
	struct kt_workload *wl;
	pid_t pids[3];

	/* Never started, never collected: destroy kills and reaps. */
	kt_workload_config_init(&c);
	c.num_workers = 3;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	memcpy(pids, kt_workload_pids(wl), sizeof(pids));
	kt_workload_destroy(wl);
	for (int i = 0; i < 3; i++)
		CHECK(gone(pids[i]));
	CHECK(no_children());

	/* Started and running: kill then destroy. */
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	kt_workload_start(wl);
	msleep(30);
	kt_workload_kill(wl);
	kt_workload_kill(wl);
	CHECK(no_children());
	kt_workload_destroy(wl);
}

static int custom_fn(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep)
{
	while (!*stop) {
		rep->work_units++;
		rep->iterations++;
	}
	return 0;
}

/* Every work type, all running at once for a short while, group-sized. */
UNIT_TEST(workload_all_types_run)
{
	struct kt_workload *wl[KT_WORK__COUNT];
	struct kt_workload_config c;
	pid_t io_pid = 0;

	for (unsigned t = 0; t < KT_WORK__COUNT; t++) {
		char *err = NULL;
		unsigned g;

		kt_workload_config_init(&c);
		kt_work_default(&c.work, (enum kt_work_type)t);
		if (t == KT_WORK_SEQUENCE) {
			c.work.sequence.n_phases = 4;
			c.work.sequence.phases[0] = (struct kt_phase){KT_PHASE_SPIN, 20000000};
			c.work.sequence.phases[1] = (struct kt_phase){KT_PHASE_SLEEP, 5000000};
			c.work.sequence.phases[2] = (struct kt_phase){KT_PHASE_YIELD, 10000000};
			c.work.sequence.phases[3] = (struct kt_phase){KT_PHASE_IO, 10000000};
		}
		if (t == KT_WORK_CUSTOM)
			c.work.custom.fn = custom_fn;
		g = kt_work_group_size(&c.work);
		c.num_workers = g ? g : 1;
		if (kt_workload_spawn(&c, &wl[t], &err)) {
			unit_fail(__FILE__, __LINE__, "spawn %s: %s", kt_work_type_name(t), err);
			return;
		}
	}
	for (unsigned t = 0; t < KT_WORK__COUNT; t++)
		kt_workload_start(wl[t]);
	msleep(400);
	for (unsigned t = 0; t < KT_WORK__COUNT; t++) {
		struct kt_worker_report *r;
		size_t n;

		/* Generous deadline: PolicyChurn may sit in SCHED_IDLE on a loaded host. */
		CHECK_INT_EQ(kt_workload_stop_and_collect(wl[t], 10000, &r, &n), 0);
		for (size_t i = 0; i < n; i++) {
			if (!r[i].completed || !r[i].work_units || !r[i].iterations)
				unit_fail(__FILE__, __LINE__,
					  "%s worker %zu: completed=%d exit=%d/%d work_units=%llu "
					  "iterations=%llu",
					  kt_work_type_name(t), i, r[i].completed,
					  (int)r[i].exit_info.kind, r[i].exit_info.value,
					  (unsigned long long)r[i].work_units,
					  (unsigned long long)r[i].iterations);
		}
		/* Types with blocking/waking phases record wake samples. */
		if (t == KT_WORK_IO_SYNC || t == KT_WORK_PIPE_IO || t == KT_WORK_FUTEX_PING_PONG ||
		    t == KT_WORK_CACHE_YIELD || t == KT_WORK_FORK_EXIT)
			CHECK(r[0].wake_sample_total > 0 && r[0].n_resume_latencies > 0);
		if (t == KT_WORK_FUTEX_FAN_OUT || t == KT_WORK_FAN_OUT_COMPUTE) {
			CHECK(r[0].is_messenger);
			CHECK(!r[1].is_messenger);
			CHECK(r[1].wake_sample_total > 0);
		}
		/* Exchange pairs: workers 0,1 are pair 1, workers 2,3 pair 2. */
		if (t == KT_WORK_PIPE_IO || t == KT_WORK_CACHE_PIPE || t == KT_WORK_FUTEX_PING_PONG) {
			CHECK(n >= 2 && r[0].exchange_pair == 1 && r[1].exchange_pair == 1);
			if (n >= 4)
				CHECK(r[2].exchange_pair == 2 && r[3].exchange_pair == 2);
		} else {
			CHECK(!r[0].exchange_pair);
		}
		if (t == KT_WORK_IO_SYNC)
			io_pid = r[0].tid;
		kt_worker_reports_free(r, n);
		kt_workload_destroy(wl[t]);
	}
	CHECK(no_children());
	/* IoSync removed its temp file. */
	char path[64];

	snprintf(path, sizeof(path), "/tmp/ktstr_io_%d", (int)io_pid);
	CHECK(!kt_exists(path));
}

static int huge_report(volatile sig_atomic_t *stop, void *arg, struct kt_worker_report *rep)
{
	size_t n = *(size_t *)arg;

	rep->migrations = kt_calloc(n, sizeof(*rep->migrations));
	for (size_t i = 0; i < n; i++)
		rep->migrations[i] = (struct kt_migration){
		    .at_ns = 1000000000000ull + i, .from_cpu = 1000, .to_cpu = 1001};
	rep->n_migrations = n;
	rep->work_units = 1;
	return 0;
}

/* A report beyond the size bound (or array caps) becomes a sentinel, not a crash. */
UNIT_TEST(workload_oversized_report_is_sentinel)
{
	struct kt_workload_config c;
	struct kt_workload *wl;
	struct kt_worker_report *r;
	size_t n, count = 400000; /* ~21 MB of JSON > 16 MiB cap */

	kt_workload_config_init(&c);
	kt_work_default(&c.work, KT_WORK_CUSTOM);
	c.work.custom.fn = huge_report;
	c.work.custom.arg = &count;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	kt_workload_start(wl);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 5000, &r, &n), 0);
	CHECK(!r[0].completed);
	CHECK_INT_EQ(r[0].work_units, 0);
	CHECK(r[0].exit_info.kind != KT_EXIT_NONE);
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);

	/* Within the byte cap but over the array cap: rejected by the parser. */
	count = KT_MAX_MIGRATIONS + 1;
	CHECK_INT_EQ(kt_workload_spawn(&c, &wl, NULL), 0);
	kt_workload_start(wl);
	CHECK_INT_EQ(kt_workload_stop_and_collect(wl, 5000, &r, &n), 0);
	CHECK(!r[0].completed);
	CHECK_INT_EQ(r[0].exit_info.kind, KT_EXIT_EXITED);
	CHECK_INT_EQ(r[0].exit_info.value, 0);
	kt_worker_reports_free(r, n);
	kt_workload_destroy(wl);
	CHECK(no_children());
}

UNIT_TEST(workload_report_reference_sentinel_shape)
{
	/* The reference's sentinel carries only tid, exit_info and completed. */
	const char *s = "{\"tid\":9,\"exit_info\":{\"Exited\":1},\"completed\":false}";
	struct kt_worker_report r;

	CHECK_INT_EQ(kt_worker_report_parse(s, strlen(s), &r, NULL), 0);
	CHECK_INT_EQ(r.tid, 9);
	CHECK_INT_EQ(r.work_units, 0);
	CHECK(!r.completed);
	CHECK_INT_EQ(r.exit_info.kind, KT_EXIT_EXITED);
	CHECK_INT_EQ(r.exit_info.value, 1);
}

/*
 * Every YieldHeavy unit is a checkpoint (its gap is one yield's wait);
 * other types after 1024 units or 1 ms since the last checkpoint, whatever
 * the units an iteration adds (ForkExit adds 1, PageFaultChurn 320).
 */
UNIT_TEST(workload_checkpoint_due)
{
	CHECK(kt_worker_checkpoint_due(KT_WORK_YIELD_HEAVY, 1, 0));
	CHECK(kt_worker_checkpoint_due(KT_WORK_YIELD_HEAVY, 1023, 0));
	CHECK(!kt_worker_checkpoint_due(KT_WORK_CPU_SPIN, 1023, 999999));
	CHECK(kt_worker_checkpoint_due(KT_WORK_CPU_SPIN, 2048, 0));
	CHECK(kt_worker_checkpoint_due(KT_WORK_PAGE_FAULT_CHURN, 1280, 0)); /* not a multiple */
	CHECK(!kt_worker_checkpoint_due(KT_WORK_IO_SYNC, 16, 100000));
	/* one fork and reap, 5 ms under TCG: a checkpoint, not one in 1024 */
	CHECK(kt_worker_checkpoint_due(KT_WORK_FORK_EXIT, 1, 5000000));
	CHECK(!kt_worker_checkpoint_due(KT_WORK_FORK_EXIT, 1, 200000));
}
