// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "scenario/scenario.h"
#include "unit.h"

static void put(const char *root, const char *rel, const char *content)
{
	char *p = kt_path_join(root, rel), *dir = kt_strdup(p);

	*strrchr(dir, '/') = 0;
	CHECK_INT_EQ(kt_mkdir_p(dir, 0755), 0);
	CHECK_INT_EQ(kt_write_file_atomic(p, content, strlen(content), 0644), 0);
	free(dir);
	free(p);
}

static void set_of(const char *s, struct kt_cpuset *out)
{
	CHECK_INT_EQ(kt_cpuset_parse(s, out), 0);
}

static void check_set(const struct kt_cpuset *s, const char *want, int line)
{
	char buf[256];

	kt_cpuset_format(s, buf, sizeof(buf));
	if (strcmp(buf, want))
		unit_fail(__FILE__, line, "cpuset \"%s\" != \"%s\"", buf, want);
}
#define CHECK_SET(s, want) check_set(s, want, __LINE__)

/* Fake sysfs: 8 CPUs, 2 LLCs (0-3, 4-7), 2 nodes, SMT pairs. */
static const char *fake_sysfs(void)
{
	const char *root = unit_tmpdir();
	char rel[256];

	put(root, "sys/devices/system/cpu/online", "0-7\n");
	for (int c = 0; c < 8; c++) {
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cache/index3/shared_cpu_list",
			 c);
		put(root, rel, c < 4 ? "0-3\n" : "4-7\n");
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cache/index0/shared_cpu_list",
			 c);
		put(root, rel, c % 2 ? "0,1\n" : "0-1\n");
		snprintf(rel, sizeof(rel),
			 "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c);
		snprintf(rel + 200, 56, "%d-%d\n", c & ~1, (c & ~1) + 1);
		put(root, rel, rel + 200);
	}
	put(root, "sys/devices/system/node/node0/cpulist", "0-3\n");
	put(root, "sys/devices/system/node/node1/cpulist", "4-7\n");
	put(root, "sys/devices/system/node/online", "0-1\n");
	return root;
}

UNIT_TEST(scenario_topo_fake_sysfs)
{
	struct kt_hwtopo t;
	struct kt_cpuset u, n;
	char *err = NULL;

	CHECK_INT_EQ(kt_hwtopo_read(fake_sysfs(), &t, &err), 0);
	CHECK_INT_EQ(t.nr_cpus, 8);
	CHECK_INT_EQ(t.nr_llcs, 2);
	CHECK_INT_EQ(t.nr_nodes, 2);
	CHECK_SET(&t.llcs[0], "0-3");
	CHECK_SET(&t.llcs[1], "4-7");
	CHECK_INT_EQ(t.llc_node[1], 1);
	CHECK_SET(&t.nodes[1], "4-7");
	CHECK(t.has_smt);
	CHECK_SET(&t.smt[5], "4-5");
	kt_hwtopo_usable(&t, &u);
	CHECK_SET(&u, "0-6");
	set_of("2-5", &u);
	kt_hwtopo_nodes_of(&t, &u, &n);
	CHECK_SET(&n, "0-1");
	kt_hwtopo_free(&t);
}

/* Guest init's check: the fake tree is 2 nodes x 2 LLCs x 2 cores x 2 threads. */
UNIT_TEST(scenario_topo_check_declared)
{
	const char *root = fake_sysfs();
	char *err = NULL;

	CHECK_INT_EQ(kt_hwtopo_check_declared(root, "2n2l2c2t", &err), 0);
	CHECK_INT_EQ(kt_hwtopo_check_declared(root, "2,2,2,2", &err), 0);
	CHECK_INT_EQ(kt_hwtopo_check_declared(root, "1n2l2c2t", &err), -EINVAL);
	CHECK_STR_EQ(err, "topology mismatch: declared 1n2l2c2t has 1 NUMA nodes, sysfs reports 2");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_hwtopo_check_declared(root, "2n2l4c1t", &err), -EINVAL);
	CHECK_STR_EQ(err, "topology mismatch: declared 2n2l4c1t has 1 threads per core, sysfs "
			  "reports CPU 0 with siblings '0-1'");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_hwtopo_check_declared(root, "2n2l2c", &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "KTSTR_TOPO: invalid topology '2n2l2c'");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_hwtopo_check_declared(root, NULL, &err), -EINVAL);
	CHECK_STR_EQ(err, "KTSTR_TOPO is missing from the kernel command line");
	free(err);
	err = NULL;
	CHECK(kt_hwtopo_check_declared("/nonexistent-ktstr-root", "1n1l1c1t", &err) < 0);
	CHECK_STR_CONTAINS(err, "reading the CPU topology: ");
	free(err);
}

UNIT_TEST(scenario_topo_fallbacks)
{
	const char *root = unit_tmpdir();
	struct kt_hwtopo t;
	char *err = NULL;

	/* No cache, no node dir: one LLC, one node. */
	put(root, "sys/devices/system/cpu/online", "0-2\n");
	CHECK_INT_EQ(kt_hwtopo_read(root, &t, &err), 0);
	CHECK_INT_EQ(t.nr_llcs, 1);
	CHECK_INT_EQ(t.nr_nodes, 1);
	CHECK_SET(&t.llcs[0], "0-2");
	CHECK(!t.has_smt);
	kt_hwtopo_free(&t);

	/* Highest cache index when index3 is missing. */
	put(root, "sys/devices/system/cpu/cpu0/cache/index2/shared_cpu_list", "0\n");
	put(root, "sys/devices/system/cpu/cpu1/cache/index2/shared_cpu_list", "1-2\n");
	put(root, "sys/devices/system/cpu/cpu2/cache/index2/shared_cpu_list", "1-2\n");
	CHECK_INT_EQ(kt_hwtopo_read(root, &t, &err), 0);
	CHECK_INT_EQ(t.nr_llcs, 2);
	CHECK_SET(&t.llcs[1], "1-2");
	kt_hwtopo_free(&t);

	CHECK(kt_hwtopo_read("/nonexistent-ktstr-root", &t, &err) < 0);
	CHECK_STR_CONTAINS(err, "/nonexistent-ktstr-root/sys/devices/system/cpu/online");
	free(err);
}

static void resolve_ok(const struct kt_hwtopo *t, struct kt_cpuset_spec s, const char *want,
		       int line)
{
	struct kt_cpuset out;
	char *err = NULL;

	if (kt_cpuset_spec_validate(&s, t, &err) < 0)
		unit_fail(__FILE__, line, "validate failed: %s", err);
	kt_cpuset_spec_resolve(&s, t, &out);
	check_set(&out, want, line);
}
#define RESOLVE_OK(t, s, want) resolve_ok(t, s, want, __LINE__)

static void invalid(const struct kt_hwtopo *t, struct kt_cpuset_spec s, const char *msg, int line)
{
	char *err = NULL;

	if (kt_cpuset_spec_validate(&s, t, &err) != -EINVAL)
		unit_fail(__FILE__, line, "expected -EINVAL");
	else if (!strstr(err, msg))
		unit_fail(__FILE__, line, "\"%s\" lacks \"%s\"", err, msg);
	free(err);
}
#define INVALID(t, s, msg) invalid(t, s, msg, __LINE__)

UNIT_TEST(scenario_cpuset_specs)
{
	struct kt_hwtopo t, t2;
	struct kt_cpuset out;
	struct kt_cpuset_spec ex = {.kind = KT_CS_EXACT};

	/* 2 nodes x 1 LLC x 4 cores: 8 CPUs, usable 0-6 (len 7). */
	CHECK_INT_EQ(kt_hwtopo_synth(&t, &(struct kt_topo_spec){2, 2, 4, 1}), 0);
	RESOLVE_OK(&t, KT_CPUSET_LLC(1), "4-7");
	RESOLVE_OK(&t, KT_CPUSET_NUMA(0), "0-3");
	RESOLVE_OK(&t, KT_CPUSET_RANGE(0, 0.5), "0-2");   /* U[0..3) */
	RESOLVE_OK(&t, KT_CPUSET_RANGE(0.5, 1), "3-6");   /* U[3..7) */
	RESOLVE_OK(&t, KT_CPUSET_DISJOINT(0, 2), "0-2");
	RESOLVE_OK(&t, KT_CPUSET_DISJOINT(1, 2), "3-6");  /* last takes the rest */
	RESOLVE_OK(&t, KT_CPUSET_DISJOINT(1, 3), "2-3");
	RESOLVE_OK(&t, KT_CPUSET_DISJOINT(2, 3), "4-6");
	RESOLVE_OK(&t, KT_CPUSET_OVERLAP(0, 2, 0.5), "0-3"); /* chunk 3, ov 1 */
	RESOLVE_OK(&t, KT_CPUSET_OVERLAP(1, 2, 0.5), "2-6");
	RESOLVE_OK(&t, KT_CPUSET_OVERLAP(1, 3, 2.0), "0-5"); /* frac clamps to 1: ov 2 */
	set_of("1,7", &ex.exact);
	RESOLVE_OK(&t, ex, "1,7");

	INVALID(&t, KT_CPUSET_LLC(2), "topology has 2 LLC(s)");
	INVALID(&t, KT_CPUSET_NUMA(2), "2 NUMA node(s)");
	INVALID(&t, KT_CPUSET_RANGE(0.5, 0.5), "0 <= start < end <= 1");
	INVALID(&t, KT_CPUSET_RANGE(-0.1, 1), "0 <= start < end <= 1");
	INVALID(&t, KT_CPUSET_RANGE(0, NAN), "finite");
	INVALID(&t, KT_CPUSET_RANGE(0, 0.1), "no CPUs"); /* floor(0.7) = 0 */
	INVALID(&t, KT_CPUSET_DISJOINT(2, 2), "index < of");
	INVALID(&t, KT_CPUSET_DISJOINT(0, 0), "of > 0");
	INVALID(&t, KT_CPUSET_DISJOINT(0, 8), "only 7 usable CPUs");
	INVALID(&t, KT_CPUSET_OVERLAP(0, 2, INFINITY), "not finite");
	set_of("9", &ex.exact);
	INVALID(&t, ex, "subset of the online CPUs");
	kt_cpuset_zero(&ex.exact);
	INVALID(&t, ex, "non-empty");

	/* Resolve clamps out-of-range LLC/NUMA indexes. */
	kt_cpuset_spec_resolve(&KT_CPUSET_LLC(9), &t, &out);
	CHECK_SET(&out, "4-7");
	kt_cpuset_spec_resolve(&KT_CPUSET_NUMA(9), &t, &out);
	CHECK_SET(&out, "4-7");

	/* 2 CPUs: nothing held back. */
	CHECK_INT_EQ(kt_hwtopo_synth(&t2, &(struct kt_topo_spec){1, 1, 2, 1}), 0);
	RESOLVE_OK(&t2, KT_CPUSET_DISJOINT(1, 2), "1");
	kt_hwtopo_free(&t2);
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_partitions)
{
	struct kt_hwtopo t, one, tiny;
	struct kt_cpuset s[3];

	/* 8 CPUs, LLCs 0-3 / 4-7 */
	CHECK_INT_EQ(kt_hwtopo_synth(&t, &(struct kt_topo_spec){1, 2, 4, 1}), 0);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_LLC_ALIGNED, 0, 2, &t, s), 0);
	CHECK_SET(&s[0], "0-3");
	CHECK_SET(&s[1], "4-6"); /* topology's last CPU dropped */
	CHECK_INT_EQ(kt_partition_sets(KT_PART_LLC_ALIGNED, 0, 3, &t, s), -ENOSPC);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_SPLIT_HALF, 0, 2, &t, s), 0);
	CHECK_SET(&s[0], "0-2");
	CHECK_SET(&s[1], "3-6");
	CHECK_INT_EQ(kt_partition_sets(KT_PART_SPLIT_MISALIGNED, 0, 2, &t, s), 0);
	CHECK_SET(&s[0], "0-1"); /* |LLC0|/2 */
	CHECK_SET(&s[1], "2-6");
	CHECK_INT_EQ(kt_partition_sets(KT_PART_OVERLAP, 0.5, 3, &t, s), 0);
	/* base 8/3=2, ov ceil(1)=1, stride 1 */
	CHECK_SET(&s[0], "0-1");
	CHECK_SET(&s[1], "1-2");
	CHECK_SET(&s[2], "2-3");
	CHECK_INT_EQ(kt_partition_sets(KT_PART_OVERLAP, 0.5, 2, &t, s), 0);
	/* base 4, ov 2, stride 2 */
	CHECK_SET(&s[0], "0-3");
	CHECK_SET(&s[1], "2-5");
	CHECK_INT_EQ(kt_partition_sets(KT_PART_UNEVEN, 0.75, 2, &t, s), 0);
	CHECK_SET(&s[0], "0-4"); /* floor(7*.75)=5 */
	CHECK_SET(&s[1], "5-6");
	CHECK_INT_EQ(kt_partition_sets(KT_PART_HOLDBACK, 0.33, 2, &t, s), 0);
	CHECK_SET(&s[0], "0-2"); /* keep 8-2=6 */
	CHECK_SET(&s[1], "3-5");
	CHECK_INT_EQ(kt_partition_sets(KT_PART_NONE, 0, 2, &t, s), 0);
	CHECK(kt_cpuset_empty(&s[0]));

	CHECK_INT_EQ(kt_hwtopo_synth(&one, &(struct kt_topo_spec){1, 1, 4, 1}), 0);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_LLC_ALIGNED, 0, 2, &one, s), -ENOSPC);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_SPLIT_MISALIGNED, 0, 2, &one, s), 0);
	CHECK_SET(&s[0], "0"); /* 1 LLC: len/2 of 3 usable */
	CHECK_SET(&s[1], "1-2");
	CHECK_INT_EQ(kt_hwtopo_synth(&tiny, &(struct kt_topo_spec){1, 1, 1, 1}), 0);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_SPLIT_HALF, 0, 2, &tiny, s), -ENOSPC);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_HOLDBACK, 0.33, 2, &tiny, s), -ENOSPC);
	CHECK_INT_EQ(kt_partition_sets(KT_PART_UNEVEN, 0.1, 2, &tiny, s), -ENOSPC);
	kt_hwtopo_free(&tiny);
	kt_hwtopo_free(&one);
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_affinity_resolve)
{
	struct kt_hwtopo t;
	struct kt_cpuset cs;
	struct kt_affinity a;
	struct kt_affinity_spec s = {0};

	CHECK_INT_EQ(kt_hwtopo_synth(&t, &(struct kt_topo_spec){1, 2, 4, 1}), 0);
	set_of("2-5", &cs);
	kt_affinity_resolve(&s, &t, &cs, &a);
	CHECK_INT_EQ(a.kind, KT_AFF_NONE);
	s.kind = KT_AFFS_RANDOM_SUBSET;
	kt_affinity_resolve(&s, &t, &cs, &a);
	CHECK_INT_EQ(a.kind, KT_AFF_RANDOM);
	CHECK_SET(&a.set, "2-5");
	CHECK_INT_EQ(a.count, 2);
	kt_affinity_resolve(&s, &t, NULL, &a);
	CHECK_SET(&a.set, "0-7");
	CHECK_INT_EQ(a.count, 4);
	s.kind = KT_AFFS_LLC_ALIGNED;
	kt_affinity_resolve(&s, &t, &cs, &a); /* tie: first LLC */
	CHECK_INT_EQ(a.kind, KT_AFF_FIXED);
	CHECK_SET(&a.set, "2-3");
	set_of("3-6", &cs);
	kt_affinity_resolve(&s, &t, &cs, &a);
	CHECK_SET(&a.set, "4-6");
	s.kind = KT_AFFS_CROSS_CGROUP;
	kt_affinity_resolve(&s, &t, &cs, &a);
	CHECK_SET(&a.set, "0-7");
	s.kind = KT_AFFS_SINGLE_CPU;
	kt_affinity_resolve(&s, &t, &cs, &a);
	CHECK_INT_EQ(a.kind, KT_AFF_SINGLE_CPU);
	CHECK_INT_EQ(a.cpu, 3);
	s.kind = KT_AFFS_EXACT;
	set_of("1-3", &s.exact);
	kt_affinity_resolve(&s, &t, &cs, &a);
	CHECK_INT_EQ(a.kind, KT_AFF_FIXED);
	CHECK_SET(&a.set, "3");
	kt_affinity_resolve(&s, &t, NULL, &a);
	CHECK_SET(&a.set, "1-3");
	set_of("0", &s.exact);
	kt_affinity_resolve(&s, &t, &cs, &a); /* empty intersection → none */
	CHECK_INT_EQ(a.kind, KT_AFF_NONE);
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_mem_policy_validate)
{
	struct kt_hwtopo t;
	struct kt_cpuset cs;
	struct kt_mem_policy mp = {.kind = KT_MPOL_BIND};
	char *err = NULL;

	CHECK_INT_EQ(kt_hwtopo_synth(&t, &(struct kt_topo_spec){2, 2, 2, 1}), 0); /* node0 0-1, node1 2-3 */
	set_of("0-1", &cs);
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, NULL, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "at least one node");
	free(err);
	kt_cpuset_set(&mp.nodes, 1);
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, NULL, &err), 0);
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "not covered by the cpuset");
	free(err);
	mp.flags = KT_MPOL_F_RELATIVE_NODES;
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), 0);
	mp.flags = KT_MPOL_F_STATIC_NODES;
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), 0);
	kt_cpuset_set(&mp.nodes, 5);
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "do not all exist");
	free(err);
	mp.flags = KT_MPOL_F_STATIC_NODES | KT_MPOL_F_RELATIVE_NODES;
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), -EINVAL);
	free(err);
	mp.flags = 1;
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "unknown flag bits");
	free(err);
	mp.flags = 0;
	kt_cpuset_zero(&mp.nodes);
	kt_cpuset_set(&mp.nodes, 0);
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), 0);
	mp.kind = KT_MPOL_LOCAL;
	kt_cpuset_zero(&mp.nodes);
	CHECK_INT_EQ(kt_mem_policy_validate(&mp, &t, &cs, &err), 0);
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_hold_validation)
{
	char buf[128];
	struct kt_hold h;

	h = KT_HOLD_FULL_V;
	CHECK_INT_EQ(kt_hold_validate(&h, 0, buf, sizeof(buf)), 0);
	h = KT_HOLD_FRAC_V(0.5);
	CHECK_INT_EQ(kt_hold_validate(&h, 0, buf, sizeof(buf)), 0);
	h = KT_HOLD_FRAC_V(0);
	CHECK_INT_EQ(kt_hold_validate(&h, 3, buf, sizeof(buf)), -EINVAL);
	CHECK_STR_CONTAINS(buf, "step 3 hold validation: ");
	h = KT_HOLD_FRAC_V(-1);
	CHECK_INT_EQ(kt_hold_validate(&h, 0, buf, sizeof(buf)), -EINVAL);
	h = KT_HOLD_FRAC_V(NAN);
	CHECK_INT_EQ(kt_hold_validate(&h, 0, buf, sizeof(buf)), -EINVAL);
	h = KT_HOLD_FIXED_V(0);
	CHECK_INT_EQ(kt_hold_validate(&h, 1, buf, sizeof(buf)), -EINVAL);
	CHECK_STR_EQ(buf, "step 1 hold validation: Fixed duration must be > 0");
	h = KT_HOLD_LOOP_V(0);
	CHECK_INT_EQ(kt_hold_validate(&h, 2, buf, sizeof(buf)), -EINVAL);
	CHECK_STR_EQ(buf, "step 2 hold validation: Loop interval must be > 0");
	h = KT_HOLD_LOOP_V(100);
	CHECK_INT_EQ(kt_hold_validate(&h, 2, buf, sizeof(buf)), 0);
}

UNIT_TEST(scenario_executor_rejects_bad_hold)
{
	struct kt_hwtopo t;
	struct kt_ctx ctx = {0};
	struct kt_step steps[2] = {{.hold = KT_HOLD_FULL_V}, {.hold = KT_HOLD_FIXED_V(0)}};
	struct kt_assert_result r;

	CHECK_INT_EQ(kt_hwtopo_synth(&t, &(struct kt_topo_spec){1, 1, 2, 1}), 0);
	ctx.topo = &t;
	ctx.duration_ms = 10;
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, steps, 2, NULL, &r), -EINVAL);
	CHECK(!r.passed);
	CHECK_INT_EQ(r.n_details, 1);
	CHECK_STR_EQ(r.details[0].message,
		     "step 1 hold validation: Fixed duration must be > 0");
	kt_assert_result_clear(&r);
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_work_type_override)
{
	struct kt_work base, ov, out;

	kt_work_default(&base, KT_WORK_CPU_SPIN);
	kt_work_default(&ov, KT_WORK_MIXED);
	kt_resolve_work_type(&base, &ov, true, 4, &out);
	CHECK_INT_EQ(out.type, KT_WORK_MIXED);
	kt_resolve_work_type(&base, &ov, false, 4, &out);
	CHECK_INT_EQ(out.type, KT_WORK_CPU_SPIN);
	kt_resolve_work_type(&base, NULL, true, 4, &out);
	CHECK_INT_EQ(out.type, KT_WORK_CPU_SPIN);
	kt_work_default(&ov, KT_WORK_PIPE_IO);
	kt_resolve_work_type(&base, &ov, true, 3, &out); /* 3 % 2 != 0 */
	CHECK_INT_EQ(out.type, KT_WORK_CPU_SPIN);
	kt_resolve_work_type(&base, &ov, true, 4, &out);
	CHECK_INT_EQ(out.type, KT_WORK_PIPE_IO);
	kt_work_default(&ov, KT_WORK_FUTEX_FAN_OUT); /* group 5 */
	kt_resolve_work_type(&base, &ov, true, 4, &out);
	CHECK_INT_EQ(out.type, KT_WORK_CPU_SPIN);
	kt_resolve_work_type(&base, &ov, true, 10, &out);
	CHECK_INT_EQ(out.type, KT_WORK_FUTEX_FAN_OUT);

	/* Zero parameters take the defaults, set ones stay. */
	memset(&out, 0, sizeof(out));
	out.type = KT_WORK_BURSTY;
	out.bursty.burst_ms = 500;
	kt_work_fill_defaults(&out);
	CHECK_INT_EQ(out.bursty.burst_ms, 500);
	CHECK_INT_EQ(out.bursty.sleep_ms, 100);
}

UNIT_TEST(scenario_flags_profiles)
{
	uint32_t m, p[64];
	char *err = NULL, name[96];
	size_t n;

	CHECK_INT_EQ(kt_flags_parse("llc,steal", &m, &err), 0);
	CHECK_INT_EQ(m, KT_FLAG_LLC | KT_FLAG_STEAL);
	CHECK_INT_EQ(kt_flags_parse("llc,bogus", &m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "unknown flag 'bogus'");
	free(err);
	kt_profile_name(0, name, sizeof(name));
	CHECK_STR_EQ(name, "default");
	kt_profile_name(KT_FLAG_REJECT_PIN | KT_FLAG_LLC, name, sizeof(name));
	CHECK_STR_EQ(name, "llc+reject-pin");
	n = kt_profiles(0, 0, p, 64);
	CHECK_INT_EQ(n, 48); /* 64 subsets minus 16 with steal but no llc */
	CHECK_INT_EQ(p[0], 0);
	n = kt_profiles(KT_FLAG_LLC | KT_FLAG_STEAL, 0, p, 64);
	CHECK_INT_EQ(n, 16);
	kt_profile_name(p[0], name, sizeof(name));
	CHECK_STR_EQ(name, "llc+steal");
	n = kt_profiles(0, KT_FLAG_REJECT_PIN, p, 64);
	CHECK_INT_EQ(n, 24);
	CHECK(!kt_profile_valid(KT_FLAG_STEAL, 0, 0));
	CHECK(!kt_profile_valid(KT_FLAG_REJECT_PIN, 0, KT_FLAG_REJECT_PIN));
	CHECK(!kt_profile_valid(0, KT_FLAG_BORROW, 0));
	CHECK(kt_profile_valid(KT_FLAG_BORROW | KT_FLAG_LLC, KT_FLAG_BORROW, 0));
}

UNIT_TEST(scenario_catalog_sanity)
{
	size_t n, nc;
	const struct kt_catalog_entry *c = kt_catalog(&n);
	const char *const *cats = kt_catalog_categories();
	const struct kt_canned *can = kt_canned_scenarios(&nc);
	uint32_t p[64];

	CHECK_INT_EQ(n, 81);
	for (size_t i = 0; i < n; i++) {
		bool ok = false;

		CHECK(c[i].name && *c[i].name && c[i].description && *c[i].description);
		CHECK(c[i].run != NULL);
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(c[i].name, c[j].name))
				unit_fail(__FILE__, __LINE__, "duplicate %s", c[i].name);
		for (size_t k = 0; cats[k]; k++)
			if (!strcmp(cats[k], c[i].category))
				ok = true;
		if (!ok)
			unit_fail(__FILE__, __LINE__, "%s: bad category %s", c[i].name,
				  c[i].category);
		CHECK(!(c[i].required_flags & c[i].excluded_flags));
		CHECK(kt_profiles(c[i].required_flags, c[i].excluded_flags, p, 64) > 0);
	}
	CHECK_INT_EQ(nc, 14);
	for (size_t i = 0; i < nc; i++)
		CHECK(kt_canned_find(can[i].name) == &can[i]);
	CHECK(kt_canned_find("nested_task_move") != NULL);
	CHECK(kt_canned_find("nope") == NULL);
}

UNIT_TEST(scenario_cg_write_bounded)
{
	char *fifo = kt_path_join(unit_tmpdir(), "wedged");
	uint64_t t0;

	/* open(O_WRONLY) on a FIFO without a reader blocks: the write must time out. */
	CHECK_INT_EQ(mkfifo(fifo, 0600), 0);
	t0 = kt_now_ns();
	CHECK_INT_EQ(kt_cg_write(fifo, "1"), -ETIMEDOUT);
	CHECK(kt_now_ns() - t0 < 5000000000ull);
	free(fifo);
}

UNIT_TEST(scenario_cg_write_timeout_scales_under_tcg)
{
	unsetenv("KTSTR_ACCEL");
	CHECK_INT_EQ(kt_cg_write_timeout_ms(), 2000);
	setenv("KTSTR_ACCEL", "kvm", 1);
	CHECK_INT_EQ(kt_cg_write_timeout_ms(), 2000);
	setenv("KTSTR_ACCEL", "tcg", 1);
	CHECK_INT_EQ(kt_cg_write_timeout_ms(), 20000);
	unsetenv("KTSTR_ACCEL");
}

UNIT_TEST(scenario_cgmgr_fake_tree)
{
	const char *fs = unit_tmpdir();
	char *root = kt_path_join(fs, "ktstr-1"), *err = NULL, *txt = NULL;
	struct kt_cgroup_mgr m;
	struct kt_cpuset cs, got;
	pid_t pids[2] = {123, 456};
	bool set;

	/* Without cgroup.controllers listing cpuset: refused with the path. */
	CHECK_INT_EQ(kt_cgmgr_init(&m, fs, root, &err), -ENOTSUP);
	CHECK_STR_CONTAINS(err, "not a cgroup v2 mount");
	free(err);
	put(fs, "cgroup.controllers", "cpuset cpu io\n");
	put(fs, "cgroup.subtree_control", "");
	put(fs, "ktstr-1/cgroup.subtree_control", "");
	put(fs, "ktstr-1/g/cpuset.cpus", "");
	put(fs, "ktstr-1/g/cgroup.procs", "");
	CHECK_INT_EQ(kt_cgmgr_init(&m, fs, root, &err), 0);
	CHECK(m.has_cpu);
	CHECK_INT_EQ(kt_read_file(kt_path_join(fs, "cgroup.subtree_control"), &txt, NULL, 0), 0);
	CHECK(kt_startswith(txt, "+cpu"));
	free(txt);
	set_of("1-3", &cs);
	CHECK_INT_EQ(kt_cgmgr_set_cpuset(&m, "g", &cs, &err), 0);
	CHECK_INT_EQ(kt_cgmgr_get_cpuset(&m, "g", &got, &set), 0);
	CHECK(set);
	CHECK_SET(&got, "1-3");
	CHECK_INT_EQ(kt_cgmgr_move(&m, "g", pids, 2, &err), 0);
	CHECK_INT_EQ(kt_read_file(kt_path_join(root, "g/cgroup.procs"), &txt, NULL, 0), 0);
	CHECK_STR_EQ(txt, "456"); /* one pid per write, the last one stays */
	free(txt);
	CHECK_INT_EQ(kt_cgmgr_create(&m, "../evil", &err), -EINVAL);
	free(err);
	kt_cgmgr_free(&m);
	free(root);
}

/* ---- CLI argument handling (runs $KTSTR_BIN) ------------------------------------- */

static int run_bin(const char *args, char **out_text)
{
	const char *bin = getenv("KTSTR_BIN");
	char *cmd;
	FILE *p;
	struct sbuf sb = SBUF_INIT;
	char buf[4096];
	size_t n;
	int st;

	if (!bin)
		bin = "build/ktstr";
	cmd = kt_asprintf("%s %s 2>&1", bin, args);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		sb_add(&sb, buf, n);
	st = pclose(p);
	free(cmd);
	*out_text = sb_steal(&sb);
	if (!*out_text)
		*out_text = kt_strdup("");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

UNIT_TEST(scenario_cli_run_args)
{
	char *o;

	CHECK_INT_EQ(run_bin("run --duration abc", &o), 2);
	CHECK_STR_CONTAINS(o, "ktstr: error: --duration 'abc'");
	free(o);
	CHECK_INT_EQ(run_bin("run --duration 0", &o), 2);
	free(o);
	CHECK_INT_EQ(run_bin("run --workers 0", &o), 2);
	CHECK_STR_CONTAINS(o, "--workers '0'");
	free(o);
	CHECK_INT_EQ(run_bin("run --work-type Sequence", &o), 2);
	CHECK_STR_CONTAINS(o, "--work-type 'Sequence'");
	CHECK_STR_CONTAINS(o, "CpuSpin");
	free(o);
	CHECK_INT_EQ(run_bin("run --work-type cpuspin", &o), 2); /* case-sensitive */
	free(o);
	CHECK_INT_EQ(run_bin("run --flags llc,nope", &o), 2);
	CHECK_STR_CONTAINS(o, "unknown flag 'nope'");
	free(o);
	CHECK_INT_EQ(run_bin("run --bogus", &o), 2);
	free(o);
	CHECK_INT_EQ(run_bin("run extra", &o), 2);
	free(o);
	CHECK_INT_EQ(run_bin("run --filter no_such_scenario_xyz", &o), 1);
	CHECK_STR_CONTAINS(o, "ktstr: error: no scenario matches filter 'no_such_scenario_xyz'");
	free(o);
	/* cgroup_steady has no required flags: not valid under a profile requiring... none; but
	 * cgroup_llc_overflow requires llc+steal, so --flags borrow excludes it. */
	CHECK_INT_EQ(run_bin("run --flags borrow --filter cgroup_llc_overflow", &o), 1);
	CHECK_STR_CONTAINS(o, "under flags 'borrow'");
	free(o);
	CHECK_INT_EQ(run_bin("run --help", &o), 0);
	CHECK_STR_CONTAINS(o, "1 when any scenario failed, else 2 when any was inconclusive");
	CHECK_STR_CONTAINS(o, "--work-type NAME");
	free(o);
}

UNIT_TEST(scenario_cli_list_topo_cleanup)
{
	char *o;
	json_t *j;
	json_error_t je;

	CHECK_INT_EQ(run_bin("list", &o), 0);
	CHECK_STR_CONTAINS(o, "cgroup_steady                  [basic       ] 2 cgroups");
	CHECK_STR_CONTAINS(o, "(profiles: llc+steal, llc+borrow+steal");
	CHECK_STR_CONTAINS(o, "\n81 scenarios\n");
	free(o);
	CHECK_INT_EQ(run_bin("list --filter nested_ --json 2>/dev/null", &o), 0);
	j = json_loads(o, 0, &je);
	CHECK(j && json_is_array(j));
	CHECK_INT_EQ(json_array_size(j), 6);
	CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(j, 0), "category")),
		     "nested");
	CHECK(json_is_array(json_object_get(json_array_get(j, 0), "profiles")));
	json_decref(j);
	free(o);
	CHECK_INT_EQ(run_bin("list --filter zzz", &o), 0);
	CHECK_STR_CONTAINS(o, "\n0 scenarios");
	free(o);
	CHECK_INT_EQ(run_bin("topo", &o), 0);
	CHECK_STR_CONTAINS(o, "CPUs:       ");
	CHECK_STR_CONTAINS(o, "NUMA nodes: ");
	CHECK_STR_CONTAINS(o, "  LLC 0 (node ");
	free(o);
	CHECK_INT_EQ(run_bin("topo extra", &o), 2);
	free(o);
	CHECK_INT_EQ(run_bin("cleanup --parent-cgroup /no/such/ktstr-cg", &o), 1);
	CHECK_STR_CONTAINS(o, "ktstr: error: cgroup path not found: /no/such/ktstr-cg");
	free(o);
	CHECK_INT_EQ(run_bin("cleanup --what", &o), 2);
	free(o);
}

/* ---- executor on the host: ops that need no cgroup ----------------------------------- */

struct ev_log {
	int starts, stims, ends, n_exit;
	int codes[8];
	char names[8][32];
	struct kt_stim last;
};

static void ev_start(void *a)
{
	((struct ev_log *)a)->starts++;
}

static void ev_stim(void *a, const struct kt_stim *s)
{
	((struct ev_log *)a)->stims++;
	((struct ev_log *)a)->last = *s;
}

static void ev_end(void *a, uint32_t ms)
{
	((struct ev_log *)a)->ends++;
}

static void ev_exit(void *a, const char *name, const char *cg, int code)
{
	struct ev_log *l = a;

	if (l->n_exit < 8) {
		snprintf(l->names[l->n_exit], sizeof(l->names[0]), "%s", name);
		l->codes[l->n_exit++] = code;
	}
}

static void host_ctx(struct kt_ctx *ctx, struct kt_hwtopo *t, struct ev_log *log,
		     struct kt_scn_events *ev)
{
	CHECK_INT_EQ(kt_hwtopo_synth(t, &(struct kt_topo_spec){1, 1, 2, 1}), 0);
	kt_ctx_defaults(ctx);
	CHECK_INT_EQ(ctx->duration_ms, 2000);
	CHECK(ctx->assert.not_starved.set && ctx->assert.not_starved.v);
	memset(log, 0, sizeof(*log));
	*ev = (struct kt_scn_events){ev_start, ev_stim, ev_end, ev_exit, log};
	ctx->topo = t;
	ctx->duration_ms = 200;
	ctx->workers_per_cgroup = 1;
	ctx->assert = kt_assert_default_checks();
	ctx->events = ev;
}

UNIT_TEST(scenario_exec_payload_ops)
{
	struct kt_hwtopo t;
	struct kt_ctx ctx;
	struct ev_log log;
	struct kt_scn_events ev;
	struct kt_assert_result r;
	/* Payloads started by the Backdrop live across steps; step-local ones would not. */
	const struct kt_backdrop bd = {
		KT_OPS({.kind = KT_OP_RUN_PAYLOAD, .payload = "sh", .args = {"-c", "exit 3"}},
		       {.kind = KT_OP_RUN_PAYLOAD, .payload = "sleep", .args = {"30"}})};
	const struct kt_step steps[] = {
		{.hold = KT_HOLD_FIXED_V(50)},
		{KT_OPS({.kind = KT_OP_WAIT_PAYLOAD, .payload = "sh"},
			{.kind = KT_OP_KILL_PAYLOAD, .payload = "sleep"}),
		 .hold = KT_HOLD_FIXED_V(10)},
	};
	uint64_t t0 = kt_now_ns();

	host_ctx(&ctx, &t, &log, &ev);
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(kt_scenario_run(&ctx, &bd, steps, 2, NULL, &r), 0);
	if (!r.passed)
		unit_fail(__FILE__, __LINE__, "failed: %s", r.n_details ? r.details[0].message : "?");
	CHECK_INT_EQ(log.starts, 1);
	CHECK_INT_EQ(log.stims, 2);
	CHECK_INT_EQ(log.ends, 1);
	CHECK_INT_EQ(log.last.step_index, 1);
	CHECK_INT_EQ(log.last.op_count, 2);
	CHECK_INT_EQ(log.last.op_kinds, (1u << KT_OP_WAIT_PAYLOAD) | (1u << KT_OP_KILL_PAYLOAD));
	CHECK_INT_EQ(log.n_exit, 2);
	CHECK_STR_EQ(log.names[0], "sh");
	CHECK_INT_EQ(log.codes[0], 3);
	CHECK_STR_EQ(log.names[1], "sleep");
	CHECK_INT_EQ(log.codes[1], 128 + SIGKILL);
	CHECK(kt_now_ns() - t0 < 10000000000ull); /* the sleep was killed, not waited */
	kt_assert_result_clear(&r);
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_exec_op_errors)
{
	struct kt_hwtopo t;
	struct kt_ctx ctx;
	struct ev_log log;
	struct kt_scn_events ev;
	struct kt_assert_result r;
	const struct kt_step wait_none = {
		KT_OPS({.kind = KT_OP_WAIT_PAYLOAD, .payload = "ghost"}), .hold = KT_HOLD_FIXED_V(10)};
	const struct kt_step two = {
		KT_OPS({.kind = KT_OP_RUN_PAYLOAD, .payload = "sleep", .args = {"30"}},
		       {.kind = KT_OP_SET_CPUSET, .cgroup = "nope", .cpus = KT_CPUSET_LLC(0)}),
		.hold = KT_HOLD_FIXED_V(10)};
	const struct kt_backdrop bd = {
		KT_OPS({.kind = KT_OP_STOP_CGROUP, .cgroup = "missing"})};

	host_ctx(&ctx, &t, &log, &ev);
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, &wait_none, 1, NULL, &r), 0);
	CHECK(!r.passed);
	CHECK_STR_EQ(r.details[0].message, "step 0 failed: no running payload named 'ghost'");
	kt_assert_result_clear(&r);

	/* The step fails on the second op; teardown still kills the payload. */
	memset(&log, 0, sizeof(log));
	CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, &two, 1, NULL, &r), 0);
	CHECK(!r.passed);
	CHECK_STR_EQ(r.details[0].message, "step 0 failed: SetCpuset: cgroup 'nope' not found");
	CHECK_INT_EQ(log.n_exit, 1);
	CHECK_INT_EQ(log.codes[0], 128 + SIGKILL);
	kt_assert_result_clear(&r);

	CHECK_INT_EQ(kt_scenario_run(&ctx, &bd, NULL, 0, NULL, &r), 0);
	CHECK(!r.passed);
	CHECK_STR_EQ(r.details[0].message,
		     "Backdrop setup failed: StopCgroup: cgroup 'missing' not found");
	kt_assert_result_clear(&r);

	/* Step-local payloads do not survive into the next step. */
	{
		const struct kt_step st2[] = {
			{KT_OPS({.kind = KT_OP_RUN_PAYLOAD, .payload = "sleep", .args = {"30"}}),
			 .hold = KT_HOLD_FIXED_V(10)},
			{KT_OPS({.kind = KT_OP_WAIT_PAYLOAD, .payload = "sleep"}),
			 .hold = KT_HOLD_FIXED_V(10)},
		};

		memset(&log, 0, sizeof(log));
		CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, st2, 2, NULL, &r), 0);
		CHECK_STR_EQ(r.details[0].message,
			     "step 1 failed: no running payload named 'sleep'");
		CHECK_INT_EQ(log.n_exit, 1);
		CHECK_INT_EQ(log.codes[0], 128 + SIGKILL);
		kt_assert_result_clear(&r);
	}
	kt_hwtopo_free(&t);
}

UNIT_TEST(scenario_exec_spawn_host_and_sched_death)
{
	struct kt_hwtopo t;
	struct kt_ctx ctx;
	struct ev_log log;
	struct kt_scn_events ev;
	struct kt_assert_result r;
	struct kt_op spawn = {.kind = KT_OP_SPAWN_HOST};
	struct kt_step st = {.ops = &spawn, .n_ops = 1, .hold = KT_HOLD_FIXED_V(300)};
	struct kt_step two[2] = {{.hold = KT_HOLD_FIXED_V(10)}, {.hold = KT_HOLD_FIXED_V(10)}};
	pid_t child;

	host_ctx(&ctx, &t, &log, &ev);
	spawn.work.num_workers = 1;
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, &st, 1, NULL, &r), 0);
	if (!r.passed)
		unit_fail(__FILE__, __LINE__, "host worker failed: %s",
			  r.n_details ? r.details[0].message : "?");
	CHECK_INT_EQ(log.last.worker_count, 1);
	CHECK_INT_EQ(r.stats.total_workers, 1);
	CHECK(r.stats.total_iterations > 0);
	kt_assert_result_clear(&r);

	/* A "scheduler" that exits: detected between steps (auto-reaped, no zombie). */
	signal(SIGCHLD, SIG_IGN);
	child = fork();
	if (child == 0)
		_exit(0);
	/* Wait until it is gone (reaped), not a fixed time: a loaded host may be slow. */
	for (int i = 0; i < 1000 && !(kill(child, 0) == -1 && errno == ESRCH); i++)
		usleep(10000);
	ctx.sched_pid = child;
	CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, two, 2, NULL, &r), 0);
	CHECK(!r.passed);
	CHECK(r.n_details > 0);
	if (r.n_details)
		CHECK_STR_CONTAINS(r.details[0].message, "scheduler process died unexpectedly");
	kt_assert_result_clear(&r);
	kt_hwtopo_free(&t);
}

static int failing_factory(const struct kt_ctx *ctx, struct kt_cgroup_def **defs, size_t *n)
{
	return -ENOMEM;
}

UNIT_TEST(scenario_exec_factory_error)
{
	struct kt_hwtopo t;
	struct kt_ctx ctx;
	struct ev_log log;
	struct kt_scn_events ev;
	struct kt_assert_result r;
	const struct kt_step st = {.factory = failing_factory, .hold = KT_HOLD_FIXED_V(10)};

	host_ctx(&ctx, &t, &log, &ev);
	memset(&r, 0, sizeof(r));
	CHECK_INT_EQ(kt_scenario_run(&ctx, NULL, &st, 1, NULL, &r), 0);
	CHECK(!r.passed);
	CHECK_STR_CONTAINS(r.details[0].message, "step 0 failed: cgroup factory failed: ");
	CHECK_INT_EQ(log.stims, 0); /* no STIM for a step whose setup failed */
	CHECK_INT_EQ(log.ends, 1);
	kt_assert_result_clear(&r);
	kt_hwtopo_free(&t);
}
