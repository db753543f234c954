// SPDX-License-Identifier: GPL-2.0
/*
 * Tests whose verdicts the VM test scripts check (tests/vm/test_testapi_*.sh):
 * schedulers that misbehave on purpose, a missing scheduler, a topology
 * the host cannot provide, a topology the guest does not see. Built by
 * `make examples` as build/tests/ktstr-vmtests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ktstr.h>

KTSTR_SCHEDULER(scx_qmap, .binary = "scx_qmap");
KTSTR_SCHEDULER(missing, .binary = "/nonexistent/scx_missing");

/*
 * scx_qmap -t 2 stalls every second user thread: the sched_ext watchdog
 * kicks the scheduler out with "runnable task stall"; the scheduler exits
 * and the test fails (expect_err: that is the expected outcome).
 * .watchdog_timeout_s = 2 replaces qmap's own timeout_ms (5 s), so the
 * kernel's message says the task failed to run for less than 5 s.
 */
KTSTR_TEST(qmap_stall, .scheduler = &scx_qmap, .extra_sched_args = {"-t", "2"},
	   .llcs = 1, .cores = 2, .duration_s = 9, .watchdog_timeout_s = 2, .expect_err = true)
{
	return ktstr_run_canned(ctx, "steady");
}

/* scx_qmap -e 100: scx_bpf_error("test triggering error") after 100 enqueues. */
KTSTR_TEST(qmap_bpf_error, .scheduler = &scx_qmap, .extra_sched_args = {"-e", "100"},
	   .llcs = 1, .cores = 2, .duration_s = 3)
{
	return ktstr_run_canned(ctx, "steady");
}

/* A scheduler path that does not exist: fails before any VM boots. */
KTSTR_TEST(missing_scheduler, .scheduler = &missing)
{
	return ktstr_run_canned(ctx, "steady");
}

/* 2 nodes x 4 LLCs x 4 cores x 2 threads = 32 vCPUs: more than this host can emulate. */
KTSTR_TEST(too_big, .topology = "2n4l4c2t")
{
	return ktstr_run_canned(ctx, "steady");
}

/*
 * Three CpuSpin workers on two CPUs with a spread limit of 0.01 %, which
 * no real run meets: the spread check fails on any scheduler, and its
 * report must carry the evidence (where each worker ran, its schedstat,
 * the balancer's counters; tests/vm/test_testapi_failures.sh).
 */
KTSTR_TEST(unfair_evidence, .cores = 2, .duration_s = 2,
	   .assert = {.max_spread_pct = KTSTR_F64(0.01)})
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0", .works = {{.num_workers = 3}}}));
}

/* A quick passing test for the sidecar check. */
KTSTR_TEST(eevdf_quick, .duration_s = 1)
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"}));
}

/* ---- KASLR (tests/vm/test_kaslr.sh) ------------------------------------------ */

/*
 * The guest's own view of where its kernel is: _text from /proc/kallsyms
 * (virtual) and "Kernel code" from /proc/iomem (physical), both real
 * addresses for root, and whether the command line has nokaslr. The
 * script compares them with the slides the host's monitor found in guest
 * RAM (the sidecar's monitor object).
 */
static unsigned long long kaslr_field(const char *path, const char *tail, bool range)
{
	unsigned long long a = 0, b;
	char line[256];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, tail))
			continue;
		if (range ? sscanf(line, " %llx-%llx", &a, &b) == 2
			  : sscanf(line, "%llx", &a) == 1)
			break;
		a = 0;
	}
	if (f)
		fclose(f);
	return a;
}

static int kaslr_report(struct ktstr_ctx *ctx)
{
	unsigned long long text = kaslr_field("/proc/kallsyms", " T _text\n", false);
	unsigned long long code = kaslr_field("/proc/iomem", " : Kernel code\n", true);
	char cmdline[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = 0;
		fclose(f);
	}
	if (!text || !code)
		ktstr_fail(ctx, "guest kaslr view: _text or Kernel code not found");
	printf("guest kaslr view: _text=0x%llx kernel_code=0x%llx nokaslr=%d\n", text, code,
	       strstr(cmdline, "nokaslr") != NULL);
	fflush(stdout);
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"}));
}

/* KASLR on (the default): the bzImage boots, the host finds non-zero slides. */
KTSTR_TEST(kaslr_on, .duration_s = 1)
{
	return kaslr_report(ctx);
}

/* .kaslr = false: nokaslr, the PVH vmlinux, slides 0. */
KTSTR_TEST(kaslr_off, .duration_s = 1, .kaslr = false)
{
	return kaslr_report(ctx);
}

/* ---- end of KASLR ---------------------------------------------------------------- */

/*
 * host_only: runs in the calling process on the machine it is on (cgroup v2
 * needed). On a cgroup v1 host it is a skip; inside a ktstr VM it passes.
 */
KTSTR_TEST(host_cgroups, .host_only = true, .duration_s = 1)
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"}, {.name = "cg_1"}));
}

/*
 * A check that cannot decide: CpuSpin workers never sleep, so a p99 wake
 * latency bound has no samples to judge. Inconclusive (exit 2), never a
 * pass; not_starved is off so nothing else can decide the verdict.
 */
KTSTR_TEST(undecided, .duration_s = 1,
	   .assert = {.not_starved = KTSTR_OFF, .max_p99_wake_latency_ns = KTSTR_U64(1000000000)})
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"}));
}

/* The same, accepted by .allow_inconclusive: PASS (exit 0), the block still shown. */
KTSTR_TEST(undecided_allowed, .duration_s = 1, .allow_inconclusive = true,
	   .assert = {.not_starved = KTSTR_OFF, .max_p99_wake_latency_ns = KTSTR_U64(1000000000)})
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"}));
}

/*
 * maxcpus=1 keeps one of the two declared CPUs offline: guest init finds
 * that sysfs does not match the declared topology and fails the boot with
 * a clear message (tests/vm/test_testapi_topology.sh).
 */
KTSTR_SCHEDULER(qmap_one_cpu, .binary = "scx_qmap", .kargs = {"maxcpus=1"});

KTSTR_TEST(topo_mismatch, .scheduler = &qmap_one_cpu, .llcs = 1, .cores = 2, .duration_s = 1)
{
	return ktstr_run_canned(ctx, "steady");
}

/*
 * The fault matrix (tests/vm/test_faults_vm.sh, docs/fault-matrix.md).
 * Each must fail with its own explanation, in bounded time.
 */

/* The guest's test process (this binary, started by the guest's init) exits mid-test. */
KTSTR_TEST(fault_init_exits, .duration_s = 1)
{
	(void)ctx;
	_exit(3);
}

/* The test body leaks memory until the guest runs out. */
KTSTR_TEST(fault_guest_oom, .duration_s = 1, .memory_mb = 256)
{
	(void)ctx;
	for (;;) {
		char *p = malloc(1 << 20);

		if (!p)
			return -ENOMEM;
		memset(p, 1, 1 << 20);
	}
}

/* A "scheduler" that runs but never attaches to sched_ext. */
KTSTR_SCHEDULER(never_attaches, .binary = "/bin/sleep");
KTSTR_TEST(fault_sched_never_attaches, .scheduler = &never_attaches,
	   .extra_sched_args = {"600"}, .duration_s = 1)
{
	return ktstr_run_canned(ctx, "steady");
}

/* A scheduler that exits with an error before attaching. */
KTSTR_SCHEDULER(exits_at_once, .binary = "/bin/false");
KTSTR_TEST(fault_sched_exits, .scheduler = &exits_at_once, .duration_s = 1)
{
	return ktstr_run_canned(ctx, "steady");
}

/*
 * The timeline of a stall (tests/vm/test_timeline.sh): scx_qmap -t 1500
 * drops every 1500th enqueue of a user thread. Step 0 is quiet (one
 * spinning worker, few enqueues), step 1 wakes threads thousands of times
 * a second, so the 1500th enqueue -- the stall's start -- falls in step 1,
 * and the watchdog (2 s) ejects the scheduler during that step.
 */
KTSTR_TEST(qmap_stall_steps, .scheduler = &scx_qmap, .extra_sched_args = {"-t", "1500"},
	   .llcs = 1, .cores = 2, .duration_s = 6, .watchdog_timeout_s = 2, .expect_err = true)
{
	const struct kt_step steps[] = {
	    {KT_DEFS({.name = "quiet",
		      .works = {{.work.type = KT_WORK_CPU_SPIN, .num_workers = 1}}}),
	     .hold = KT_HOLD_FIXED_V(2000)},
	    {KT_DEFS({.name = "busy",
		      .works = {{.work.type = KT_WORK_FUTEX_PING_PONG, .num_workers = 4}}}),
	     .hold = KT_HOLD_FIXED_V(4000)},
	};

	return ktstr_execute_steps(ctx, steps, sizeof(steps) / sizeof(steps[0]));
}

/*
 * The body's own check fails: a throughput floor no CPU reaches. The
 * sidecar records it as data: failure {kind: body, phase: workload}
 * (tests/vm/test_testapi_failures.sh).
 */
KTSTR_TEST(body_check_fails, .duration_s = 1, .assert = {.min_work_rate = KTSTR_F64(1e18)})
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0"}));
}

/*
 * BPF maps from the host (tests/vm/test_bpfmap.sh). scx_qmap keeps its
 * counters in its .bss map; test_error_cnt there is a fault switch: set
 * to 1, qmap's next enqueue calls scx_bpf_error("test triggering error").
 * The host writes it through guest memory once the guest is ready, and
 * the scheduler, seeing it, kicks itself out: this test fails on purpose.
 */
KTSTR_TEST(qmap_map_write, .scheduler = &scx_qmap, .llcs = 1, .cores = 2, .duration_s = 2,
	   .bpf_map_write = {.map = ".bss", .field = "test_error_cnt", .value = 1})
{
	return ktstr_run_canned(ctx, "steady");
}

/* A field the map does not have: the write fails the test at once, naming what is there. */
KTSTR_TEST(qmap_map_write_nofield, .scheduler = &scx_qmap, .llcs = 1, .cores = 2,
	   .duration_s = 1, .bpf_map_write = {.map = ".bss", .field = "no_such_field", .value = 1})
{
	return ktstr_run_canned(ctx, "steady");
}

/* Periodic captures of qmap's counters: they grow while tasks are scheduled. */
KTSTR_TEST(qmap_snapshots, .scheduler = &scx_qmap, .llcs = 1, .cores = 2, .duration_s = 3,
	   .num_snapshots = 4,
	   .temporal = {KTSTR_NONDECREASING(".bss", "nr_dispatched"),
			KTSTR_STRICTLY_INCREASING(".bss", "nr_enqueued"),
			KTSTR_RATE_WITHIN(".bss", "nr_enqueued", 1, 1e12)})
{
	return ktstr_run_canned(ctx, "steady");
}

/*
 * The same counter cannot stay at 0: a temporal failure, named with its
 * sample; the failure dump holds the last snapshot of qmap's per-CPU
 * cpu_ctx_stor (struct cpu_ctx per CPU, through its BTF).
 */
KTSTR_TEST(qmap_snapshots_fail, .scheduler = &scx_qmap, .llcs = 1, .cores = 2, .duration_s = 2,
	   .num_snapshots = 3, .snapshot_maps = {"cpu_ctx_stor"},
	   .temporal = {KTSTR_CONVERGES_TO(".bss", "nr_enqueued", 0, 0, 0)})
{
	return ktstr_run_canned(ctx, "steady");
}

/*
 * A dump the host asks for (tests/vm/test_timeline.sh): with
 * .max_imbalance_ratio 1.0, three spinning workers on two vCPUs look
 * imbalanced to the monitor, which alerts after 3 samples; the host then
 * sets SHM control byte 12, the guest runs SysRq-D and the scheduler's
 * state arrives as "Debug dump triggered by SysRq-D" lines. The sustained
 * imbalance fails the test afterwards (expected).
 */
KTSTR_TEST(qmap_dump_on_alert, .scheduler = &scx_qmap, .llcs = 1, .cores = 2, .duration_s = 3,
	   .assert = {.max_imbalance_ratio = KT_SOME_F64(1.0)}, .expect_err = true)
{
	return ktstr_execute_defs(ctx, KTSTR_DEFS({.name = "cg_0", .works = {{.num_workers = 3}}}));
}

/* ---- bpfdump: whole-map snapshots (tests/vm/test_bpfmap.sh) ------------------- */

KTSTR_SCHEDULER(scx_simple, .binary = "scx_simple");

/*
 * scx_simple counts dispatches in a per-CPU array without BTF (`stats`,
 * [0] local, [1] global): every capture copies it whole (one u64 per CPU
 * and element) and its .bss through BTF, and the temporal patterns judge
 * each element summed over the CPUs.
 */
KTSTR_TEST(simple_stats_snapshots, .scheduler = &scx_simple, .llcs = 1, .cores = 2,
	   .duration_s = 3, .num_snapshots = 3, .snapshot_maps = {"stats", ".bss"},
	   .temporal = {KTSTR_NONDECREASING("stats", "[0]"),
			KTSTR_NONDECREASING("stats", "[1]")})
{
	return ktstr_run_canned(ctx, "steady");
}

/* ---- calib (#8): who the spread compares ---------------------------------- */

/*
 * Roles in a spread failure (tests/vm/test_testapi_failures.sh): with a
 * 0 % limit both groups fail on any scheduler (two exchange pairs, each
 * judged as one unit, wait nearly alike: 0.0-2.2 % apart over 8 runs on 2
 * vCPUs, once under 0.01 %, the limit this test had), and the guest's evidence
 * must name the fan-out messenger (judged apart from its receivers) and the
 * exchange pairs (each judged as one unit), so worker reports carry both
 * roles from the workers through the guest to the check.
 */
KTSTR_TEST(unfair_roles, .cores = 2, .duration_s = 1,
	   .assert = {.max_spread_pct = KTSTR_F64(0)})
{
	return ktstr_execute_defs(
	    ctx, KTSTR_DEFS({.name = "cg_fan",
			     .works = {{.work.type = KT_WORK_FUTEX_FAN_OUT, .num_workers = 5}}},
			    {.name = "cg_pipe",
			     .works = {{.work.type = KT_WORK_PIPE_IO, .num_workers = 4}}}));
}

/*
 * cgroup_affinity_change gives every worker its own random half of the
 * CPUs midrun: unequal waits there are expected by design, not a failure
 * (tests/vm/test_testapi_failures.sh). The tight limit makes the spread
 * detail certain.
 */
KTSTR_TEST(affinity_change_by_design, .cores = 2, .duration_s = 2,
	   .assert = {.max_spread_pct = KTSTR_F64(0.01)})
{
	return ktstr_run_canned(ctx, "affinity_change");
}
