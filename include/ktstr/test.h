/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr test and scheduler declarations (the registration half of the
 * public API; include <ktstr.h> in test files).
 *
 *   KTSTR_SCHEDULER(qmap, .binary = "scx_qmap", .sched_args = {"-s", "20000"},
 *                   .flags = {KTSTR_FLAG("llc", .args = {"--llc"})});
 *
 *   KTSTR_TEST(qmap_steady, .scheduler = &qmap, .llcs = 2, .cores = 2,
 *              .duration_s = 3)
 *   {
 *           return ktstr_run_canned(ctx, "steady");
 *   }
 *
 * Tests and schedulers are placed in the ELF sections "ktstr_tests" and
 * "ktstr_scheds" (pointer entries), so a test binary needs no list of its
 * tests. Fields left out take their defaults; numeric fields a test does
 * not set are KTSTR_UNSET (-1), so an explicit 0 can be rejected.
 */
#ifndef KTSTR_TEST_H
#define KTSTR_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include <ktstr/bpfmap.h>
#include <ktstr/check.h>

#define KTSTR_MAX_ARGS 32  /* scheduler arguments per list */
#define KTSTR_MAX_FLAGS 16 /* flags per scheduler, flags per required/excluded list */
#define KTSTR_MAX_KV 16    /* sysctls, kargs */
#define KTSTR_UNSET (-1)

struct ktstr_ctx;

/* Placement constraints (0 = none). A test's own topology must satisfy them. */
struct ktstr_constraints {
	int min_numa_nodes, max_numa_nodes;
	int min_llcs, max_llcs;
	int min_cpus, max_cpus;
	bool requires_smt;
};

struct ktstr_flag {
	const char *name;                    /* e.g. "llc", "reject-pin" */
	const char *args[KTSTR_MAX_ARGS];    /* appended to the scheduler's argv when active */
	const char *requires[KTSTR_MAX_FLAGS]; /* names of flags this one needs */
};

#define KTSTR_FLAG(name_, ...) {.name = (name_), __VA_ARGS__}

struct ktstr_scheduler {
	const char *name;   /* from the KTSTR_SCHEDULER id */
	/*
	 * Scheduler binary: NULL = no sched_ext scheduler (EEVDF); a name
	 * ("scx_qmap") is looked up ($KTSTR_SCHEDULER, next to the test
	 * binary, the kernel's scheduler dir; in direct mode $PATH first);
	 * a path (containing '/') is used as is.
	 */
	const char *binary;
	/* Default topology of its tests: "NnLlCcTt" or "N,L,C,T" (NULL: 1n1l2c1t). */
	const char *topology;
	const char *sched_args[KTSTR_MAX_ARGS];
	const char *sysctls[KTSTR_MAX_KV]; /* "kernel.x=v": guest cmdline sysctl.kernel.x=v */
	const char *kargs[KTSTR_MAX_KV];   /* extra guest kernel command-line words */
	struct ktstr_flag flags[KTSTR_MAX_FLAGS];
	struct kt_assert assert;           /* scheduler-level assertion overrides */
	struct ktstr_constraints constraints;
};

/* Declare a scheduler defined in another file. */
#define KTSTR_SCHEDULER_DECLARE(id) extern const struct ktstr_scheduler id

#define KTSTR_SCHEDULER(id, ...)                                                                 \
	const struct ktstr_scheduler id = {.name = #id, __VA_ARGS__};                            \
	static const struct ktstr_scheduler *const __ktstr_sched_ptr_##id                        \
		__attribute__((used, section("ktstr_scheds"))) = &id

struct ktstr_test {
	const char *name;
	int (*fn)(struct ktstr_ctx *ctx);
	const char *file;
	int line;
	/* Topology: string "NnLlCcTt" / "N,L,C,T", then per-field overrides. */
	const char *topology;
	int numa_nodes, llcs, cores, threads;
	const struct ktstr_scheduler *scheduler; /* NULL: EEVDF */
	int duration_s;          /* default 2 */
	int workers_per_cgroup;  /* default 2 */
	int memory_mb;           /* default 2048 (floor; the VM may get more) */
	/*
	 * sched_ext watchdog timeout in seconds, written by the host into the
	 * guest kernel's scx_watchdog_timeout after each scheduler enable
	 * (src/runner/wdog.h). Default 4, applied by default only under KVM;
	 * under TCG only when set here. The kernel's first stall check still
	 * comes half the scheduler's own timeout after the enable.
	 */
	int watchdog_timeout_s;
	const char *extra_sched_args[KTSTR_MAX_ARGS];
	const char *required_flags[KTSTR_MAX_FLAGS];
	const char *excluded_flags[KTSTR_MAX_FLAGS];
	bool expect_err;         /* pass iff the run fails */
	/*
	 * Accept an Inconclusive verdict (a check ran but could not tell
	 * signal from noise: too few samples, a zero denominator) as a pass;
	 * the report still lists the undecided checks.
	 */
	bool allow_inconclusive;
	/*
	 * Run the body on the host under its current scheduler, no VM;
	 * needs cgroup v2 at /sys/fs/cgroup (cgroups go under ktstr-<pid>).
	 */
	bool host_only;
	/*
	 * Boot the guest with KASLR (default true): the bzImage's decompressor
	 * picks random physical and virtual kernel bases, as on the machines
	 * schedulers ship to; the host finds them in guest RAM. false boots
	 * with "nokaslr" (and the faster PVH vmlinux entry when there is one).
	 */
	bool kaslr;
	/*
	 * BPF maps from the host (<ktstr/bpfmap.h>): periodic captures of
	 * the fields .temporal names (0 = off, at most KTSTR_MAX_SNAPSHOTS),
	 * the patterns judged over them, whole-map snapshots of the maps
	 * .snapshot_maps names at the same times, and a host write mid-run.
	 */
	int num_snapshots;
	struct ktstr_temporal temporal[KTSTR_MAX_TEMPORAL];
	const char *snapshot_maps[KTSTR_MAX_SNAPSHOT_MAPS];
	struct ktstr_bpf_map_write bpf_map_write;
	struct ktstr_constraints constraints;
	struct kt_assert assert; /* test-level assertion overrides */
};

/* Assertion override values for .assert = { ... }. */
#define KTSTR_ON KT_SOME_BOOL(true)
#define KTSTR_OFF KT_SOME_BOOL(false)
#define KTSTR_U64(x) KT_SOME_U64(x)
#define KTSTR_F64(x) KT_SOME_F64(x)

#define KTSTR__TEST_DEFAULTS                                                                     \
	.numa_nodes = KTSTR_UNSET, .llcs = KTSTR_UNSET, .cores = KTSTR_UNSET,                    \
	.threads = KTSTR_UNSET, .duration_s = KTSTR_UNSET, .workers_per_cgroup = KTSTR_UNSET,    \
	.memory_mb = KTSTR_UNSET, .watchdog_timeout_s = KTSTR_UNSET, .kaslr = true

#define KTSTR_TEST(id, ...)                                                                      \
	static int __ktstr_body_##id(struct ktstr_ctx *ctx);                                     \
	_Pragma("GCC diagnostic push")                                                          \
	_Pragma("GCC diagnostic ignored \"-Woverride-init\"")                                   \
	static const struct ktstr_test __ktstr_test_##id = {KTSTR__TEST_DEFAULTS,                \
							    .name = #id,                         \
							    .fn = __ktstr_body_##id,             \
							    .file = __FILE__,                    \
							    .line = __LINE__,                    \
							    __VA_ARGS__};                        \
	_Pragma("GCC diagnostic pop")                                                           \
	static const struct ktstr_test *const __ktstr_test_ptr_##id                              \
		__attribute__((used, section("ktstr_tests"))) = &__ktstr_test_##id;              \
	static int __ktstr_body_##id(struct ktstr_ctx *ctx)

/*
 * The test binary's entry point. libktstr.a provides a (weak) main() that
 * calls it, so a file of KTSTR_TESTs linked with -lktstr is a complete
 * test binary; a program with its own main() can call ktstr_main().
 */
int ktstr_main(int argc, char **argv);

#endif
