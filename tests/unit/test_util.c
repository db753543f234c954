// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util/util.h"

UNIT_TEST(util_cpuset_parse_format)
{
	struct kt_cpuset s;
	char buf[128];

	CHECK_INT_EQ(kt_cpuset_parse("0-3,5,8-9\n", &s), 0);
	CHECK_INT_EQ(kt_cpuset_count(&s), 7);
	CHECK(kt_cpuset_has(&s, 5));
	CHECK(!kt_cpuset_has(&s, 4));
	kt_cpuset_format(&s, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "0-3,5,8-9");
	CHECK_INT_EQ(kt_cpuset_parse("", &s), 0);
	CHECK(kt_cpuset_empty(&s));
	kt_cpuset_format(&s, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "");
	CHECK(kt_cpuset_parse("3-1", &s) < 0);
	CHECK(kt_cpuset_parse("1,", &s) < 0);
	CHECK(kt_cpuset_parse("a", &s) < 0);
	CHECK(kt_cpuset_parse("1-", &s) < 0);
	CHECK(kt_cpuset_parse("99999", &s) < 0);
	CHECK_INT_EQ(kt_cpuset_parse("1023", &s), 0);
	CHECK_INT_EQ(kt_cpuset_first(&s), 1023);
}

UNIT_TEST(util_cpuset_ops)
{
	struct kt_cpuset a, b, c;
	int cpu, n = 0;

	kt_cpuset_parse("0-7", &a);
	kt_cpuset_parse("4-11", &b);
	kt_cpuset_and(&c, &a, &b);
	CHECK_INT_EQ(kt_cpuset_count(&c), 4);
	CHECK(kt_cpuset_subset(&c, &a));
	CHECK(!kt_cpuset_subset(&a, &b));
	kt_cpuset_or(&c, &a, &b);
	CHECK_INT_EQ(kt_cpuset_count(&c), 12);
	kt_cpuset_for_each(cpu, &b) n += cpu;
	CHECK_INT_EQ(n, 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11);
}

UNIT_TEST(util_parse_numbers)
{
	uint64_t u;
	int64_t i;

	CHECK_INT_EQ(kt_parse_u64(" 42 ", &u), 0);
	CHECK_INT_EQ(u, 42);
	CHECK(kt_parse_u64("", &u) < 0);
	CHECK(kt_parse_u64("4x", &u) < 0);
	CHECK(kt_parse_u64("-1", &u) < 0);
	CHECK(kt_parse_u64("18446744073709551616", &u) < 0);
	CHECK_INT_EQ(kt_parse_i64("-9", &i), 0);
	CHECK_INT_EQ(i, -9);
}

UNIT_TEST(util_sbuf_and_strings)
{
	struct sbuf sb = SBUF_INIT;
	char s[] = "  hi there \n";

	CHECK_STR_EQ(sb_str(&sb), "");
	sb_addf(&sb, "%d-%s", 7, "x");
	sb_adds(&sb, "yz");
	CHECK_STR_EQ(sb_str(&sb), "7-xyz");
	CHECK_INT_EQ(sb.len, 5);
	sb_free(&sb);
	CHECK_STR_EQ(kt_trim(s), "hi there");
	CHECK(kt_startswith("abc", "ab"));
	CHECK(kt_endswith("abc", "bc"));
	CHECK(!kt_endswith("c", "bc"));
}

UNIT_TEST(util_crc32_known_value)
{
	/* The standard check value of CRC-32/IEEE. */
	CHECK_INT_EQ(kt_crc32("123456789", 9), 0xCBF43926u);
	CHECK_INT_EQ(kt_crc32("", 0), 0);
}

UNIT_TEST(util_log_filter)
{
	CHECK_INT_EQ(kt_log_filter_level(NULL, "x"), KT_LOG_INFO);
	CHECK_INT_EQ(kt_log_filter_level("debug", "x"), KT_LOG_DEBUG);
	CHECK_INT_EQ(kt_log_filter_level("warn,ktstr::flock=debug", "ktstr::flock"), KT_LOG_DEBUG);
	CHECK_INT_EQ(kt_log_filter_level("warn,ktstr::flock=debug", "ktstr::vm"), KT_LOG_WARN);
	CHECK_INT_EQ(kt_log_filter_level("vm=trace,vm::shm=off", "vm::shm"), KT_LOG_OFF);
	CHECK_INT_EQ(kt_log_filter_level("vm=trace,vm::shm=off", "vm"), KT_LOG_TRACE);
	CHECK_INT_EQ(kt_log_filter_level("bogus", "vm"), KT_LOG_INFO);
}

UNIT_TEST(util_files_atomic_and_rm)
{
	char *p = kt_path_join(unit_tmpdir(), "a/b/c");
	char *f = kt_path_join(p, "file");
	char *data;
	size_t len;

	CHECK_INT_EQ(kt_mkdir_p(p, 0755), 0);
	CHECK(kt_is_dir(p));
	CHECK_INT_EQ(kt_write_file_atomic(f, "hello", 5, 0644), 0);
	CHECK_INT_EQ(kt_read_file(f, &data, &len, 0), 0);
	CHECK_INT_EQ(len, 5);
	CHECK_STR_EQ(data, "hello");
	CHECK(kt_read_file(f, &data, &len, 3) == -EFBIG);
	char *top = kt_path_join(unit_tmpdir(), "a");
	CHECK_INT_EQ(kt_rm_rf(top), 0);
	CHECK(!kt_exists(top));
	CHECK_INT_EQ(kt_rm_rf(top), 0);
}

UNIT_TEST(util_run_lines_and_status)
{
	struct sbuf cap = SBUF_INIT;
	struct kt_run_opts o = {.capture = &cap};
	char *argv[] = {"sh", "-c", "echo one; echo two >&2; exit 3", NULL};
	int st = -1;
	char *out = NULL;
	char *argv2[] = {"sh", "-c", "echo '  x  '", NULL};
	char *argv3[] = {"/nonexistent/cmd", NULL};

	CHECK_INT_EQ(kt_run(argv, &o, &st), 0);
	CHECK_INT_EQ(st, 3);
	CHECK_STR_CONTAINS(sb_str(&cap), "one");
	CHECK_STR_CONTAINS(sb_str(&cap), "two");
	CHECK_INT_EQ(kt_run_capture(argv2, NULL, &out), 0);
	CHECK_STR_EQ(out, "x");
	CHECK_INT_EQ(kt_run(argv3, &o, &st), 0);
	CHECK_INT_EQ(st, 127);
}

UNIT_TEST(util_timestamp_roundtrip)
{
	char buf[32];
	time_t t;

	kt_utc_timestamp(1700000000, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "2023-11-14T22:13:20Z");
	CHECK_INT_EQ(kt_parse_utc_timestamp(buf, &t), 0);
	CHECK_INT_EQ(t, 1700000000);
	CHECK(kt_parse_utc_timestamp("2023-11-14 22:13:20", &t) < 0);
}

UNIT_TEST(util_term_safe)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain text\twith tab\n", "plain text\twith tab\n"},
		{"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
		{"title \x1b]0;x\x07", "title \\x1b]0;x\\x07"},
		{"crlf\r\nover\rwrite", "crlf\noverwrite"},
		{"bs\b del\x7f nul-free \x01\x1f", "bs\\x08 del\\x7f nul-free \\x01\\x1f"},
		/* UTF-8: kept when well-formed and not a C1 control. */
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
		{"\xc2\xa0nbsp", "\xc2\xa0nbsp"},
		{"c1 \xc2\x9b" "2J \xc2\x85", "c1 \\xc2\\x9b2J \\xc2\\x85"},
		{"raw \x9b" "2J", "raw \\x9b2J"},
		{"overlong \xc0\xaf \xe0\x80\xaf", "overlong \\xc0\\xaf \\xe0\\x80\\xaf"},
		{"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
		{"big \xf4\x90\x80\x80 \xf5", "big \\xf4\\x90\\x80\\x80 \\xf5"},
		{"cut \xe2\x82", "cut \\xe2\\x82"},
		{"cut \xe2\x82\x1b[0m", "cut \\xe2\\x82\\x1b[0m"},
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(cases); i++) {
		char *s = kt_term_safe(cases[i].in, strlen(cases[i].in));

		CHECK_STR_EQ(s, cases[i].out);
		free(s);
	}
	{
		/* A stream split inside a UTF-8 sequence; crlf for a raw terminal. */
		struct kt_term_filter f = {.crlf = true};
		struct sbuf sb = SBUF_INIT;
		const char *in = "a\xe2\x82\xac\n\x1b[H\xf0\x9f\x98\x80z\xe2";

		for (size_t i = 0; in[i]; i++)
			kt_term_filter_feed(&f, in + i, 1, &sb);
		kt_term_filter_flush(&f, &sb);
		CHECK_STR_EQ(sb_str(&sb), "a\xe2\x82\xac\r\n\\x1b[H\xf0\x9f\x98\x80z\\xe2");
		sb_free(&sb);
	}
	{
		char *s = kt_term_safe("a\0b", 3);

		CHECK_STR_EQ(s, "a\\x00b");
		free(s);
	}
}

/*
 * kt_cleanup_defer: the first SIGINT is only recorded (registered paths
 * stay); the second cleans up and exits 130 as without deferral.
 */
UNIT_TEST(util_cleanup_defer_first_signal)
{
	char *path = kt_path_join(unit_tmpdir(), "registered");
	char *alive = kt_path_join(unit_tmpdir(), "survived-first");
	pid_t pid;
	int st;

	CHECK_INT_EQ(kt_write_file_atomic(path, "x", 1, 0644), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		kt_cleanup_install();
		kt_cleanup_add_path(path);
		kt_cleanup_defer(true);
		raise(SIGINT);
		if (kt_interrupted() != SIGINT || !kt_exists(path))
			_exit(3);
		kt_write_file_atomic(alive, "y", 1, 0644);
		raise(SIGINT);
		_exit(4); /* not reached: the second signal exits */
	}
	CHECK_INT_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_INT_EQ(WEXITSTATUS(st), 130);
	CHECK(kt_exists(alive));
	CHECK(!kt_exists(path));
	free(alive);
	free(path);
}
