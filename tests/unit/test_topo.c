// SPDX-License-Identifier: GPL-2.0
/* Declared topologies: both grammars, the limits, overflow; sysfs vs declared. */
#include <errno.h>
#include <stdlib.h>

#include "topo/topo.h"
#include "unit.h"

static void parse_ok(const char *s, int n, int l, int c, int t, int cpus, int line)
{
	struct kt_topo_spec sp = {0};
	char *err = NULL;

	if (kt_topo_spec_parse(s, &sp, &err)) {
		unit_fail(__FILE__, line, "'%s' rejected: %s", s, err);
		free(err);
		return;
	}
	if (sp.numa_nodes != n || sp.llcs != l || sp.cores != c || sp.threads != t)
		unit_fail(__FILE__, line, "'%s' parsed as %d,%d,%d,%d", s, sp.numa_nodes, sp.llcs,
			  sp.cores, sp.threads);
	if (kt_topo_spec_cpus(&sp) != cpus)
		unit_fail(__FILE__, line, "'%s': %d CPUs, want %d", s, kt_topo_spec_cpus(&sp), cpus);
}
#define PARSE_OK(s, n, l, c, t, cpus) parse_ok(s, n, l, c, t, cpus, __LINE__)

/* Rejected with a message naming the string and containing why. */
static void parse_bad(const char *s, const char *why, int line)
{
	struct kt_topo_spec sp = {7, 7, 7, 7};
	char *err = NULL, *want = kt_asprintf("invalid topology '%s': ", s);

	if (kt_topo_spec_parse(s, &sp, &err) != -EINVAL || !err)
		unit_fail(__FILE__, line, "'%s' accepted", s);
	else if (strncmp(err, want, strlen(want)) || !strstr(err, why))
		unit_fail(__FILE__, line, "'%s': message \"%s\", want \"%s...%s\"", s, err, want, why);
	if (sp.numa_nodes != 7 || sp.llcs != 7 || sp.cores != 7 || sp.threads != 7)
		unit_fail(__FILE__, line, "'%s': output written on failure", s);
	free(want);
	free(err);
}
#define PARSE_BAD(s, why) parse_bad(s, why, __LINE__)

UNIT_TEST(topo_spec_both_grammars)
{
	PARSE_OK("2,4,2,2", 2, 4, 2, 2, 16);
	PARSE_OK("2n4l2c2t", 2, 4, 2, 2, 16);
	PARSE_OK("1,1,1,1", 1, 1, 1, 1, 1);
	PARSE_OK("1n1l1c1t", 1, 1, 1, 1, 1);
	PARSE_OK("1,3,3,1", 1, 3, 3, 1, 9);
	PARSE_OK("1n2l4c1t", 1, 2, 4, 1, 8);
	PARSE_OK("01n02l04c01t", 1, 2, 4, 1, 8);
	PARSE_OK("1,63,3,1", 1, 63, 3, 1, 189);
	PARSE_OK("1,31,4,2", 1, 31, 4, 2, 248); /* APIC ids up to 247 */
	PARSE_OK("1n1l255c1t", 1, 1, 255, 1, 255);
	PARSE_OK("5n255l1c1t", 5, 255, 1, 1, 255);
}

UNIT_TEST(topo_spec_syntax)
{
	const char *bad[] = {"",	  "1",	       "1,2,3",	     "1,2,3,4,5", "a,b,c,d",
			     "1,,1,1",	  "1,1,1,1,",  " 1,1,1,1",   "1,1,1,1 ",  "-1,1,1,1",
			     "+1,1,1,1",  "1,1,1,1x",  "1.5,1,1,1",  "1n2l4c",    "1n2l4c1tx",
			     "1n2l4c1",	  "1l2n4c1t",  "1N2L4C1T",   "1n2l,4c1t", "1n2,4,1",
			     "n1l1c1t",	  "1,1,1,0x1", "1n1l1c1t1n", "0x1,1,1,1"};
	struct kt_topo_spec sp;
	char *err = NULL;

	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++)
		PARSE_BAD(bad[i], "expected 'numa_nodes,llcs,cores,threads'");
	CHECK_INT_EQ(kt_topo_spec_parse(NULL, &sp, &err), -EINVAL);
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_topo_spec_parse("1,2,3", &sp, &err), -EINVAL);
	CHECK_STR_EQ(err, "invalid topology '1,2,3': expected 'numa_nodes,llcs,cores,threads' "
			  "(e.g. '1,2,4,1' or '1n2l4c1t')");
	free(err);
}

UNIT_TEST(topo_spec_limits)
{
	/* each field */
	PARSE_BAD("0,1,1,1", "numa_nodes must be >= 1 (got 0)");
	PARSE_BAD("0n1l1c1t", "numa_nodes must be >= 1 (got 0)");
	PARSE_BAD("1n0l1c1t", "llcs must be >= 1 (got 0)");
	PARSE_BAD("1,1,0,1", "cores must be >= 1 (got 0)");
	PARSE_BAD("1,1,1,0", "threads must be >= 1 (got 0)");
	PARSE_BAD("1,1,256,1", "cores must be at most 255 (got 256)");
	PARSE_BAD("1,1,1,256", "threads must be at most 255 (got 256)");
	PARSE_BAD("256n256l1c1t", "numa_nodes must be at most 255 (got 256)");
	/* structure */
	PARSE_BAD("2,3,1,1", "llcs (3) must be a multiple of numa_nodes (2)");
	PARSE_BAD("4n2l1c1t", "llcs (2) must be a multiple of numa_nodes (4)");
	/* the VM engine's 255 CPUs */
	PARSE_BAD("1,16,16,2", "512 CPUs, at most 255 supported");
	PARSE_BAD("1n64l8c1t", "512 CPUs, at most 255 supported");
	PARSE_BAD("1,1,128,2", "256 CPUs, at most 255 supported");
	/* 165 CPUs, but 5 cores take a 3-bit field: APIC ids reach 260 */
	PARSE_BAD("1,33,5,1", "APIC ids up to 260, at most 254");
	/* 255 CPUs as 1 LLC of 85 cores x 3 threads: ids up to (84 << 2) + 2 = 338 */
	PARSE_BAD("1n1l85c3t", "APIC ids up to 338, at most 254");
}

UNIT_TEST(topo_spec_overflow)
{
	struct kt_topo_spec sp;
	char *err = NULL;

	/* 4096^3 = 2^36 wraps a 32-bit product to 0 */
	PARSE_BAD("1n4096l4096c4096t", "llcs must be at most 255 (got 4096)");
	PARSE_BAD("1,65536,65536,1", "llcs must be at most 255 (got 65536)");
	PARSE_BAD("1,999999999,1,1", "llcs must be at most 255 (got 999999999)");
	PARSE_BAD("1,2147483647,1,1", "a value is too large");
	PARSE_BAD("1,99999999999999999999,1,1", "a value is too large");
	PARSE_BAD("1n1l1c4294967297t", "a value is too large");
	/* a spec built in code is bounded the same way */
	sp = (struct kt_topo_spec){1, 4096, 4096, 4096};
	CHECK_INT_EQ(kt_topo_spec_validate(&sp, &err), -EINVAL);
	CHECK_STR_EQ(err, "invalid topology '1n4096l4096c4096t': llcs must be at most 255 (got 4096)");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_topo_spec_cpus(&sp), -1);
	sp = (struct kt_topo_spec){1, 65536, 65536, 1};
	CHECK_INT_EQ(kt_topo_spec_cpus(&sp), -1);
	sp = (struct kt_topo_spec){-1, 2147483647, 2147483647, -2147483647 - 1};
	CHECK_INT_EQ(kt_topo_spec_validate(&sp, &err), -EINVAL);
	CHECK_STR_EQ(err, "invalid topology '-1n2147483647l2147483647c-2147483648t': numa_nodes "
			  "must be >= 1 (got -1)");
	free(err);
	CHECK_INT_EQ(kt_topo_spec_cpus(&sp), -1);
	sp = (struct kt_topo_spec){1, 2, 0, 1};
	CHECK_INT_EQ(kt_topo_spec_cpus(&sp), -1);
}

UNIT_TEST(topo_spec_scan)
{
	struct kt_topo_spec sp;
	char *err = NULL;

	/* syntax only: values are checked once the spec is complete */
	CHECK_INT_EQ(kt_topo_spec_scan("1n4096l4096c4096t", &sp, &err), 0);
	CHECK(sp.numa_nodes == 1 && sp.llcs == 4096 && sp.cores == 4096 && sp.threads == 4096);
	CHECK_INT_EQ(kt_topo_spec_scan("0,3,1,1", &sp, &err), 0);
	CHECK_INT_EQ(kt_topo_spec_check(&sp, &err), -EINVAL);
	CHECK_STR_EQ(err, "numa_nodes must be >= 1 (got 0)");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_topo_spec_scan("999999999,1,1,1", &sp, &err), 0);
	CHECK_INT_EQ(sp.numa_nodes, 999999999);
	CHECK_INT_EQ(kt_topo_spec_scan("1000000000,1,1,1", &sp, &err), -EINVAL);
	CHECK_STR_EQ(err, "invalid topology '1000000000,1,1,1': a value is too large (each at "
			  "most 255)");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_topo_spec_scan("1n2l4c", &sp, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "invalid topology '1n2l4c': expected");
	free(err);
}

UNIT_TEST(topo_spec_format)
{
	struct kt_topo_spec a = {2, 4, 2, 2}, b;
	char buf[KT_TOPO_SPEC_STRLEN], *err = NULL;

	kt_topo_spec_format(&a, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "2n4l2c2t");
	/* the canonical form parses back to the same spec */
	CHECK_INT_EQ(kt_topo_spec_parse(buf, &b, &err), 0);
	CHECK(kt_topo_spec_equal(&a, &b));
	b.threads = 1;
	CHECK(!kt_topo_spec_equal(&a, &b));
	CHECK_INT_EQ(kt_topo_spec_validate(&a, &err), 0);
}

static void check_ok(const struct kt_topo_spec *hw_spec, int line)
{
	struct kt_hwtopo hw;
	char *err = NULL;

	if (kt_hwtopo_synth(&hw, hw_spec)) {
		unit_fail(__FILE__, line, "synth failed");
		return;
	}
	if (kt_hwtopo_check(&hw, hw_spec, &err)) {
		unit_fail(__FILE__, line, "mismatch: %s", err);
		free(err);
	}
	kt_hwtopo_free(&hw);
}

static void check_bad(const struct kt_topo_spec *hw_spec, const struct kt_topo_spec *want,
		      const char *msg, int line)
{
	struct kt_hwtopo hw;
	char *err = NULL;

	if (kt_hwtopo_synth(&hw, hw_spec)) {
		unit_fail(__FILE__, line, "synth failed");
		return;
	}
	if (kt_hwtopo_check(&hw, want, &err) != -EINVAL)
		unit_fail(__FILE__, line, "no mismatch found");
	else if (strcmp(err, msg))
		unit_fail(__FILE__, line, "message \"%s\", want \"%s\"", err, msg);
	free(err);
	kt_hwtopo_free(&hw);
}
#define SPEC(...) (&(struct kt_topo_spec){__VA_ARGS__})

UNIT_TEST(topo_hwtopo_check)
{
	check_ok(SPEC(1, 1, 1, 1), __LINE__);
	check_ok(SPEC(2, 4, 2, 2), __LINE__);
	check_ok(SPEC(1, 3, 3, 1), __LINE__);
	check_bad(SPEC(1, 1, 1, 1), SPEC(1, 1, 2, 1),
		  "topology mismatch: declared 1n1l2c1t has 2 CPUs, sysfs reports 1 online (0)",
		  __LINE__);
	check_bad(SPEC(1, 2, 2, 1), SPEC(2, 2, 2, 1),
		  "topology mismatch: declared 2n2l2c1t has 2 NUMA nodes, sysfs reports 1",
		  __LINE__);
	check_bad(SPEC(1, 1, 4, 1), SPEC(1, 2, 2, 1),
		  "topology mismatch: declared 1n2l2c1t has 2 LLCs, sysfs reports 1", __LINE__);
	check_bad(SPEC(1, 2, 2, 1), SPEC(1, 2, 1, 2),
		  "topology mismatch: declared 1n2l1c2t has 2 threads per core, sysfs reports "
		  "CPU 0 with siblings '0'",
		  __LINE__);
	check_bad(SPEC(1, 1, 2, 2), SPEC(1, 1, 4, 1),
		  "topology mismatch: declared 1n1l4c1t has 1 threads per core, sysfs reports "
		  "CPU 0 with siblings '0-1'",
		  __LINE__);
	/* an invalid declaration is reported as such, not compared */
	check_bad(SPEC(1, 1, 1, 1), SPEC(1, 1, 0, 1),
		  "invalid topology '1n1l0c1t': cores must be >= 1 (got 0)", __LINE__);
}

UNIT_TEST(topo_hwtopo_synth_bounds)
{
	struct kt_hwtopo hw;

	CHECK_INT_EQ(kt_hwtopo_synth(&hw, SPEC(1, 4096, 4096, 4096)), -EINVAL);
	CHECK_INT_EQ(kt_hwtopo_synth(&hw, SPEC(2, 3, 1, 1)), -EINVAL);
	CHECK_INT_EQ(kt_hwtopo_synth(&hw, SPEC(1, 1, 1, 0)), -EINVAL);
	CHECK_INT_EQ(kt_hwtopo_synth(&hw, SPEC(2, 4, 2, 2)), 0);
	CHECK_INT_EQ(hw.nr_cpus, 16);
	CHECK_INT_EQ(hw.nr_llcs, 4);
	CHECK_INT_EQ(hw.nr_nodes, 2);
	kt_hwtopo_free(&hw);
}
