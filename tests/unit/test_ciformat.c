// SPDX-License-Identifier: GPL-2.0
/*
 * The formats CI reads (JUnit XML, KTAP), the last-run record behind
 * --rerun-failed, and the kernel set of a multi-kernel run with its run
 * dirs. tests/unit/test_ciformat.sh feeds real output to the real
 * consumers (python3-junitparser, the kernel's kunit.py parse).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results/ciformat.h"
#include "runner/multikernel.h"
#include "unit.h"
#include "util/util.h"

static const char fail_out[] =
    "ktstr_test 'b' [sched=eevdf] [topo=1n1l2c1t] failed:\n"
    "  cg_0 starved: worker 3 made no progress for 2.1s\n"
    "--- stats ---\n"
    "FAIL ktstr/b (3.0s)\n";

static const char inc_out[] = "ktstr_test 'd' [sched=eevdf] [topo=1n1l2c1t] inconclusive:\n"
			      "  inconclusive: p99 wake latency: no wake samples\n";

static __attribute__((noinline)) char *render(int (*fn)(FILE *, const struct kt_case *, size_t), const struct kt_case *c,
		    size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r = fn(f, c, n);

	fclose(f);
	CHECK_INT_EQ(r, 0);
	return buf;
}

static int junit_no_ts(FILE *f, const struct kt_case *c, size_t n)
{
	return kt_junit_write(f, c, n, NULL);
}

UNIT_TEST(ciformat_summary)
{
	struct kt_case c = {.binary = "/x/suite", .name = "ktstr/b", .verdict = KT_VERDICT_FAIL,
			    .output = fail_out};
	char *s = kt_case_summary(&c);

	CHECK_STR_EQ(s, "cg_0 starved: worker 3 made no progress for 2.1s");
	free(s);
	c.verdict = KT_VERDICT_INCONCLUSIVE;
	c.output = inc_out;
	s = kt_case_summary(&c);
	CHECK_STR_EQ(s, "inconclusive: p99 wake latency: no wake samples");
	free(s);
	c.verdict = KT_VERDICT_SKIP;
	c.output = "noise\nktstr: SKIP: host too small [topo=2n4l4c2t]\nSKIP ktstr/b (0.0s)\n";
	s = kt_case_summary(&c);
	CHECK_STR_EQ(s, "host too small [topo=2n4l4c2t]");
	free(s);
	/* no report: the first error line, else the verdict */
	c.verdict = KT_VERDICT_FAIL;
	c.output = "x\nktstr: error: exec /bin/t: No such file\n";
	s = kt_case_summary(&c);
	CHECK_STR_EQ(s, "exec /bin/t: No such file");
	free(s);
	c.output = NULL;
	s = kt_case_summary(&c);
	CHECK_STR_EQ(s, "failed");
	free(s);
	/* guest text in a detail is made terminal-safe */
	c.output = "ktstr_test 'b' failed:\n  bad \x1b[31mred\x1b[0m\n";
	s = kt_case_summary(&c);
	CHECK(!strchr(s, '\x1b'));
	CHECK_STR_CONTAINS(s, "bad ");
	free(s);
	c.state = KT_CASE_INTERRUPTED;
	c.secs = 1.25;
	s = kt_case_summary(&c);
	CHECK_STR_EQ(s, "interrupted after 1.2s");
	free(s);
	c.state = KT_CASE_NOT_RUN;
	s = kt_case_summary(&c);
	CHECK_STR_EQ(s, "never ran: the run was interrupted");
	free(s);
}

UNIT_TEST(ciformat_junit)
{
	struct kt_case c[] = {
	    {.binary = "/b/one", .name = "ktstr/a", .verdict = KT_VERDICT_PASS, .secs = 1.5},
	    {.binary = "/b/two", .name = "ktstr/b", .verdict = KT_VERDICT_FAIL, .secs = 3,
	     .output = fail_out},
	    {.binary = "/b/one", .name = "ktstr/c", .verdict = KT_VERDICT_SKIP,
	     .output = "ktstr: SKIP: too <big> & \"odd\"\n"},
	    {.binary = "/b/one", .name = "ktstr/d", .verdict = KT_VERDICT_INCONCLUSIVE,
	     .output = inc_out},
	    {.binary = "/b/two", .name = "ktstr/e", .state = KT_CASE_NOT_RUN},
	};
	char *x = render(junit_no_ts, c, 5);

	CHECK_STR_CONTAINS(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ktstr\" "
			      "tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"2\" time=\"4.500\">\n");
	/* one suite per binary, in order of first appearance, its cases in order */
	CHECK_STR_CONTAINS(x, "  <testsuite name=\"one\" tests=\"3\" failures=\"0\" errors=\"1\" "
			      "skipped=\"1\" time=\"1.500\" disabled=\"0\">\n"
			      "    <testcase name=\"ktstr/a\" classname=\"one\" time=\"1.500\"/>\n"
			      "    <testcase name=\"ktstr/c\"");
	CHECK(strstr(x, "<testsuite name=\"one\"") < strstr(x, "<testsuite name=\"two\""));
	CHECK_STR_CONTAINS(x, "<skipped message=\"too &lt;big&gt; &amp; &quot;odd&quot;\"/>");
	CHECK_STR_CONTAINS(x, "<failure type=\"test failure\" message=\"cg_0 starved: worker 3 made "
			      "no progress for 2.1s\">ktstr_test 'b' [sched=eevdf]");
	CHECK_STR_CONTAINS(x, "--- stats ---\nFAIL ktstr/b (3.0s)\n</failure>\n    </testcase>\n");
	CHECK_STR_CONTAINS(x, "<error type=\"inconclusive\" message=\"inconclusive: p99 wake latency: "
			      "no wake samples\">");
	CHECK_STR_CONTAINS(x, "<testcase name=\"ktstr/e\" classname=\"two\" time=\"0.000\">\n"
			      "      <skipped message=\"never ran: the run was interrupted\"/>");
	CHECK_STR_CONTAINS(x, "</testsuite>\n</testsuites>\n");
	free(x);
}

/* Guest text cannot break the document: markup, controls, bad UTF-8, U+FFFF. */
UNIT_TEST(ciformat_junit_untrusted)
{
	struct kt_case c = {.binary = "/b/t<1>", .name = "ktstr/\"q\"",
			    .verdict = KT_VERDICT_FAIL,
			    .output = "ktstr_test 'q' failed:\n  a]]>b <x/> &amp; \x1b[2J\x01\xff"
				      "\xef\xbf\xbf end\n"};
	char *x = render(junit_no_ts, &c, 1);

	CHECK_STR_CONTAINS(x, "<testsuite name=\"t&lt;1&gt;\"");
	CHECK_STR_CONTAINS(x, "<testcase name=\"ktstr/&quot;q&quot;\"");
	CHECK_STR_CONTAINS(x, "a]]&gt;b &lt;x/&gt; &amp;amp; ");
	CHECK_STR_CONTAINS(x, "\\xef\\xbf\\xbf end");
	for (const unsigned char *p = (const unsigned char *)x; *p; p++) {
		CHECK(*p >= 0x20 || *p == '\n' || *p == '\t');
		CHECK(*p != 0xff);
	}
	free(x);
}

UNIT_TEST(ciformat_ktap)
{
	struct kt_case c[] = {
	    {.binary = "/b/one", .name = "ktstr/a", .verdict = KT_VERDICT_PASS},
	    {.binary = "/b/one", .name = "ktstr/b", .verdict = KT_VERDICT_FAIL,
	     .output = "ktstr_test 'b' failed:\n  boom\n"},
	    {.binary = "/b/two", .name = "ktstr/c#1", .verdict = KT_VERDICT_SKIP,
	     .output = "ktstr: SKIP: small host\n"},
	    {.binary = "/b/two", .name = "ktstr/d", .verdict = KT_VERDICT_INCONCLUSIVE,
	     .output = inc_out},
	    {.binary = "/b/two", .name = "ktstr/e", .state = KT_CASE_INTERRUPTED, .secs = 2},
	    {.binary = "/b/two", .name = "ktstr/f", .verdict = KT_VERDICT_INCONCLUSIVE},
	};
	char *k = render(kt_ktap_write, c, 6);

	CHECK_STR_EQ(k, "KTAP version 1\n"
			"1..2\n"
			"    KTAP version 1\n"
			"    # Subtest: one\n"
			"    1..2\n"
			"    ok 1 ktstr/a\n"
			"    # ktstr_test 'b' failed:\n"
			"    #   boom\n"
			"    not ok 2 ktstr/b\n"
			"not ok 1 one\n"
			"    KTAP version 1\n"
			"    # Subtest: two\n"
			"    1..4\n"
			"    ok 1 ktstr/c_1 # SKIP small host\n"
			"    # ktstr_test 'd' [sched=eevdf] [topo=1n1l2c1t] inconclusive:\n"
			"    #   inconclusive: p99 wake latency: no wake samples\n"
			"    not ok 2 ktstr/d # inconclusive: p99 wake latency: no wake samples\n"
			"    not ok 3 ktstr/e # ERROR interrupted after 2.0s\n"
			"    not ok 4 ktstr/f # inconclusive\n"
			"not ok 2 two\n");
	free(k);
}

/* Lines a KTAP extractor matches anywhere cannot end or restart the document. */
UNIT_TEST(ciformat_ktap_diag_defused)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"KTAP version 1", "KTAP_version 1"},
	    {"[ 1.0] TAP version 13", "[ 1.0] TAP_version 13"},
	    {"Subtest: x", "Subtest - x"},
	    {"Kernel panic - not syncing: VFS: Unable to mount",
	     "Kernel panic - not syncing - VFS - Unable to mount"},
	    {"[ 2.1] reboot: System halted", "[ 2.1] reboot - System halted"},
	    {"List of all partitions:", "List of all partitions -"},
	    {"ok 1 looks like a result", "ok 1 looks like a result"},
	    {"bell\a", "bell\\x07"},
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(v); i++) {
		char *d = kt_ktap_diag_text(v[i].in, strlen(v[i].in));

		CHECK_STR_EQ(d, v[i].out);
		free(d);
	}
}

UNIT_TEST(ciformat_last_run)
{
	struct kt_case c[] = {
	    {.binary = "/b/one", .name = "ktstr/a", .verdict = KT_VERDICT_PASS},
	    {.binary = "/b/one", .name = "ktstr/b/kernel_x", .verdict = KT_VERDICT_FAIL},
	    {.binary = "/b/two", .name = "ktstr/b", .verdict = KT_VERDICT_FAIL},
	    {.binary = "/b/two", .name = "ktstr/c", .verdict = KT_VERDICT_INCONCLUSIVE},
	    {.binary = "/b/two", .name = "ktstr/d", .state = KT_CASE_INTERRUPTED},
	};
	struct kt_strv bins = {0}, names = {0};
	char *err = NULL, *p;

	setenv("KTSTR_TARGET_DIR", unit_tmpdir(), 1);
	unsetenv("KTSTR_SIDECAR_DIR");
	CHECK_INT_EQ(kt_last_run_failed(&bins, &names, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "no earlier run recorded");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_last_run_write(c, 5, &err), 0);
	p = kt_last_run_path();
	CHECK(kt_startswith(p, unit_tmpdir()));
	CHECK(kt_endswith(p, "/ktstr/.last-run.json"));
	/* exactly the failures: not the inconclusive or interrupted ones */
	CHECK_INT_EQ(kt_last_run_failed(&bins, &names, &err), 0);
	CHECK_INT_EQ(names.n, 2);
	CHECK_STR_EQ(names.v[0], "ktstr/b/kernel_x");
	CHECK_STR_EQ(bins.v[0], "/b/one");
	CHECK_STR_EQ(names.v[1], "ktstr/b");
	CHECK_STR_EQ(bins.v[1], "/b/two");
	kt_strv_free(&bins);
	kt_strv_free(&names);
	CHECK_INT_EQ(kt_write_file_atomic(p, "{\"tests\":[{\"name\":\"x\"}]}", 25, 0644), 0);
	CHECK_INT_EQ(kt_last_run_failed(&bins, &names, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "entry 1 lacks binary, name or verdict");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_write_file_atomic(p, "garbage", 7, 0644), 0);
	CHECK_INT_EQ(kt_last_run_failed(&bins, &names, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "not a run record");
	free(err);
	free(p);
	/* KTSTR_SIDECAR_DIR moves it with the sidecars */
	setenv("KTSTR_SIDECAR_DIR", "/some/dir", 1);
	p = kt_last_run_path();
	CHECK_STR_EQ(p, "/some/dir/.last-run.json");
	free(p);
	unsetenv("KTSTR_SIDECAR_DIR");
}

/* A directory that resolves as a kernel (an image, a kernel.release). */
static char *fake_kernel(const char *name, const char *release)
{
	char *d = kt_path_join(unit_tmpdir(), name), *p;

	CHECK_INT_EQ(kt_mkdir_p(d, 0755), 0);
	p = kt_path_join(d, "bzImage");
	CHECK_INT_EQ(kt_write_file_atomic(p, "img", 3, 0644), 0);
	free(p);
	p = kt_path_join(d, "include/config");
	CHECK_INT_EQ(kt_mkdir_p(p, 0755), 0);
	free(p);
	p = kt_path_join(d, "include/config/kernel.release");
	CHECK_INT_EQ(kt_write_file_atomic(p, release, strlen(release), 0644), 0);
	free(p);
	return d;
}

UNIT_TEST(multikernel_env_list)
{
	char *k1 = fake_kernel("k1", "6.12.1"), *env, *err = NULL;
	struct kt_kernel_set s;

	unsetenv("KTSTR_KERNEL_LIST");
	CHECK_INT_EQ(kt_kernel_set_resolve(NULL, 0, &s, &err), 0);
	CHECK_INT_EQ(s.n, 0);
	CHECK(!kt_kernel_set_run_kernel(&s, 0));
	/* two labels on one kernel: two kernels of the run, each its run dir */
	env = kt_asprintf("first=%s;Second.One=%s", k1, k1);
	setenv("KTSTR_KERNEL_LIST", env, 1);
	CHECK_INT_EQ(kt_kernel_set_resolve(NULL, 0, &s, &err), 0);
	CHECK_INT_EQ(s.n, 2);
	CHECK_STR_EQ(s.ks[0].label, "kernel_first");
	CHECK_STR_EQ(s.ks[1].label, "kernel_second_one");
	CHECK_STR_EQ(s.ks[0].version, "6.12.1");
	CHECK_STR_EQ(s.list, env);
	CHECK_STR_EQ(kt_kernel_set_run_kernel(&s, 1), "kernel_second_one");
	kt_kernel_set_free(&s);
	free(env);
	/* one entry: a single kernel, its run dir named by its version */
	env = kt_asprintf("only=%s", k1);
	setenv("KTSTR_KERNEL_LIST", env, 1);
	CHECK_INT_EQ(kt_kernel_set_resolve(NULL, 0, &s, &err), 0);
	CHECK_INT_EQ(s.n, 1);
	CHECK(!s.list);
	CHECK_STR_EQ(kt_kernel_set_run_kernel(&s, 0), "6.12.1");
	kt_kernel_set_free(&s);
	free(env);
	/* labels that become the same name suffix; a path that is no kernel */
	env = kt_asprintf("a-b=%s;A_B=%s", k1, k1);
	setenv("KTSTR_KERNEL_LIST", env, 1);
	CHECK(kt_kernel_set_resolve(NULL, 0, &s, &err) < 0);
	CHECK_STR_CONTAINS(err, "labels 'a-b' and 'A_B' are both kernel_a_b");
	CHECK_INT_EQ(s.n, 0);
	free(err);
	err = NULL;
	free(env);
	setenv("KTSTR_KERNEL_LIST", "x=/nonexistent/kernel", 1);
	CHECK(kt_kernel_set_resolve(NULL, 0, &s, &err) < 0);
	CHECK_STR_CONTAINS(err, "KTSTR_KERNEL_LIST: kernel 'x' (/nonexistent/kernel): ");
	free(err);
	unsetenv("KTSTR_KERNEL_LIST");
	free(k1);
}

/* --kernel ids: resolved (in parallel), the list formatted for the test binaries. */
UNIT_TEST(multikernel_ids)
{
	char *k1 = fake_kernel("ka", "6.12.1"), *k2 = fake_kernel("kb", "6.13.2"), *err = NULL;
	const char *ids[] = {k1, k2, k1};
	struct kt_kernel_set s;
	char *want;

	setenv("KTSTR_KERNEL_LIST", "ignored=/nonexistent", 1);
	CHECK_INT_EQ(kt_kernel_set_resolve(ids, 3, &s, &err), 0);
	CHECK_INT_EQ(s.n, 2); /* the duplicate dropped */
	CHECK(kt_startswith(s.ks[0].label, "kernel_path_ka_"));
	want = kt_asprintf("%s=%s;%s=%s", s.ks[0].label, k1, s.ks[1].label, k2);
	CHECK_STR_EQ(s.list, want);
	CHECK_STR_EQ(kt_kernel_set_run_kernel(&s, 0), s.ks[0].label);
	free(want);
	kt_kernel_set_free(&s);
	unsetenv("KTSTR_KERNEL_LIST");
	free(k1);
	free(k2);
}

/* A labelled sidecar lands in {label}-{commit}, or $KTSTR_SIDECAR_DIR/{label}/. */
UNIT_TEST(multikernel_sidecar_run_dir)
{
	struct kt_sidecar sc = {0};
	char *err = NULL, *path = NULL, *want;

	setenv("KTSTR_TARGET_DIR", unit_tmpdir(), 1);
	setenv("KTSTR_PROJECT_COMMIT", "abc1234", 1);
	unsetenv("KTSTR_SIDECAR_DIR");
	sc.test_name = kt_strdup("t");
	sc.topology = kt_strdup("1n1l1c1t");
	sc.kernel_version = kt_strdup("6.12.1");
	CHECK_INT_EQ(kt_sidecar_write_labelled(&sc, "kernel_a", &path, &err), 0);
	want = kt_asprintf("%s/ktstr/kernel_a-abc1234/", unit_tmpdir());
	CHECK(kt_startswith(path, want));
	free(want);
	free(path);
	CHECK_INT_EQ(kt_sidecar_write_labelled(&sc, NULL, &path, &err), 0);
	want = kt_asprintf("%s/ktstr/6.12.1-abc1234/", unit_tmpdir());
	CHECK(kt_startswith(path, want));
	free(want);
	free(path);
	want = kt_path_join(unit_tmpdir(), "sc");
	setenv("KTSTR_SIDECAR_DIR", want, 1);
	CHECK_INT_EQ(kt_sidecar_write_labelled(&sc, "kernel_b", &path, &err), 0);
	CHECK(kt_startswith(path, want));
	CHECK_STR_CONTAINS(path, "/sc/kernel_b/t-");
	free(path);
	free(want);
	unsetenv("KTSTR_SIDECAR_DIR");
	unsetenv("KTSTR_PROJECT_COMMIT");
	kt_sidecar_free(&sc);
}

/*
 * Streamed KTAP (ktstr test --format ktap): a case is printed once it and
 * every case before it in the document have ended; the whole stream is the
 * document kt_ktap_write prints, whatever order the jobs finished in.
 */
UNIT_TEST(ciformat_ktap_stream)
{
	struct kt_case c[] = {
	    {.binary = "/b/one", .name = "ktstr/a", .state = KT_CASE_NOT_RUN,
	     .verdict = KT_VERDICT_PASS},
	    {.binary = "/b/two", .name = "ktstr/b", .state = KT_CASE_NOT_RUN},
	    {.binary = "/b/one", .name = "ktstr/c", .state = KT_CASE_NOT_RUN,
	     .verdict = KT_VERDICT_PASS},
	};
	char *buf = NULL, *whole;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct kt_ktap *k = kt_ktap_begin(f, c, 3);

	/* the header only: "one" is the first suite and ktstr/a is running */
	c[2].state = KT_CASE_DONE;
	kt_ktap_advance(k, c, false);
	fflush(f);
	CHECK_STR_EQ(buf, "KTAP version 1\n1..2\n");
	/* ktstr/a ends: a and c (suite one) follow, suite two waits for b */
	c[0].state = KT_CASE_DONE;
	kt_ktap_advance(k, c, false);
	fflush(f);
	CHECK_STR_EQ(buf, "KTAP version 1\n1..2\n"
			  "    KTAP version 1\n    # Subtest: one\n    1..2\n"
			  "    ok 1 ktstr/a\n    ok 2 ktstr/c\nok 1 one\n");
	/* the end prints b, never run, as a skip */
	CHECK_INT_EQ(kt_ktap_end(k, c), 0);
	fclose(f);
	whole = render(kt_ktap_write, c, 3);
	CHECK_STR_EQ(buf, whole);
	CHECK_STR_CONTAINS(buf, "    ok 1 ktstr/b # SKIP");
	free(whole);
	free(buf);
}
