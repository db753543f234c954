// SPDX-License-Identifier: GPL-2.0
#include "unit.h"
#include "util/util.h"
#include "vm/com2.h"

static void feed_str(struct kt_com2 *s, const char *str)
{
	kt_com2_feed(s, str, strlen(str));
}

/* Feed byte by byte: chunking must not matter. */
static void feed_bytes(struct kt_com2 *s, const char *str)
{
	for (size_t i = 0; str[i]; i++)
		kt_com2_feed(s, &str[i], 1);
}

static const char transcript[] = "KTSTR_INIT_STARTED\r\n"
				 "===SCHED_OUTPUT_START===\n"
				 "scx: started\n"
				 "KTSTR_EXIT=99\n" /* inside a block: content, not protocol */
				 "===SCHED_OUTPUT_END===\n"
				 "KTSTR_PAYLOAD_STARTING\n"
				 "worker noise\n"
				 "===KTSTR_TEST_RESULT_START===\n"
				 "{\"passed\": true,\n"
				 " \"details\": []}\n"
				 "===KTSTR_TEST_RESULT_END===\n"
				 "KTSTR_EXIT=3\n"
				 "KTSTR_EXIT=0\n";

static void check_transcript(struct kt_com2 *s)
{
	const char *r;
	size_t len;
	int code = -1;

	CHECK(kt_com2_init_started(s));
	CHECK(kt_com2_payload_starting(s));
	CHECK(!kt_com2_scheduler_died(s));
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 0);
	CHECK(!kt_com2_exec_exit_code(s, &code));
	r = kt_com2_test_result(s, &len);
	CHECK_STR_EQ(r, "{\"passed\": true,\n \"details\": []}");
	CHECK_INT_EQ(len, strlen(r));
	CHECK(!kt_com2_test_result_truncated(s));
	CHECK_STR_EQ(kt_com2_sched_output(s, &len), "scx: started\nKTSTR_EXIT=99\n");
	CHECK(kt_com2_panic(s) == NULL);
	CHECK_INT_EQ(kt_com2_bytes(s), strlen(transcript));
}

UNIT_TEST(com2_transcript_any_chunking)
{
	struct kt_com2 *s = kt_com2_new();

	feed_str(s, transcript);
	check_transcript(s);
	kt_com2_free(s);
	s = kt_com2_new();
	feed_bytes(s, transcript);
	check_transcript(s);
	kt_com2_free(s);
}

UNIT_TEST(com2_exit_codes_strict_and_last)
{
	struct kt_com2 *s = kt_com2_new();
	int code = 0;

	CHECK(!kt_com2_exit_code(s, &code));
	feed_str(s, "KTSTR_EXIT=7\n");
	feed_str(s, "KTSTR_EXIT=12abc\n"); /* malformed: ignored */
	feed_str(s, "KTSTR_EXIT=\n");
	feed_str(s, "KTSTR_EXIT=+5\n");
	feed_str(s, "KTSTR_EXIT= 5\n");
	feed_str(s, "KTSTR_EXIT=2147483648\n");
	feed_str(s, "KTSTR_EXIT=99999999999999999999\n");
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 7);
	feed_str(s, "KTSTR_EXIT=-2147483648  \n");
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, -2147483648LL);
	/* A garbage prefix from output without a newline. */
	feed_str(s, "partial outputKTSTR_EXIT=4\n");
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 4);
	feed_str(s, "KTSTR_EXEC_EXIT=127\n");
	CHECK(kt_com2_exec_exit_code(s, &code));
	CHECK_INT_EQ(code, 127);
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 4);
	/* Without a final newline the last line counts after finish. */
	feed_str(s, "KTSTR_EXIT=5");
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 4);
	kt_com2_finish(s);
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 5);
	kt_com2_free(s);
}

UNIT_TEST(com2_flags_and_panic)
{
	struct kt_com2 *s = kt_com2_new();
	static const char nul_line[] = "PANIC: bad\0byte\n";

	feed_str(s, "SCHEDULER_NOT_ATTACHED\n");
	CHECK(kt_com2_scheduler_not_attached(s));
	CHECK(!kt_com2_scheduler_died(s));
	feed_str(s, "SCHEDULER_DIED\n");
	CHECK(kt_com2_scheduler_died(s));
	feed_str(s, "PANIC: worker 3 hit assertion\n   at foo.c:12\n");
	kt_com2_feed(s, nul_line, sizeof(nul_line) - 1);
	CHECK_STR_EQ(kt_com2_panic(s), "PANIC: worker 3 hit assertion\nPANIC: bad?byte");
	kt_com2_free(s);
}

UNIT_TEST(com2_hostile_input_bounded)
{
	struct kt_com2 *s = kt_com2_new();
	size_t big = 3u << 20;
	char *junk = malloc(big);
	size_t len;
	int code;

	/* Megabytes without a newline, with NULs, then a valid exit line. */
	for (size_t i = 0; i < big; i++)
		junk[i] = (char)(i * 131);
	for (size_t i = 0; i < big; i++)
		if (junk[i] == '\n')
			junk[i] = 0;
	kt_com2_feed(s, junk, big);
	feed_str(s, "\nKTSTR_EXIT=1\n");
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 1);
	/* A result block larger than the cap is not taken as complete. */
	feed_str(s, "===KTSTR_TEST_RESULT_START===\n");
	for (int i = 0; i < 40; i++) {
		kt_com2_feed(s, junk, 100000);
		feed_str(s, "\n");
	}
	feed_str(s, "===KTSTR_TEST_RESULT_END===\n");
	CHECK(kt_com2_test_result(s, &len) == NULL);
	CHECK(kt_com2_test_result_truncated(s));
	/* A later good block is still found. */
	feed_str(s, "===KTSTR_TEST_RESULT_START===\n{}\n===KTSTR_TEST_RESULT_END===\n");
	CHECK_STR_EQ(kt_com2_test_result(s, &len), "{}");
	/* Scheduler output is capped, flagged, and the stream continues. */
	feed_str(s, "===SCHED_OUTPUT_START===\n");
	for (int i = 0; i < 40; i++) {
		kt_com2_feed(s, junk, 100000);
		feed_str(s, "\n");
	}
	feed_str(s, "===SCHED_OUTPUT_END===\nKTSTR_EXIT=9\n");
	kt_com2_sched_output(s, &len);
	CHECK(len <= KT_COM2_BLOCK_MAX);
	CHECK(kt_com2_sched_output_truncated(s));
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 9);
	/* Panic text is capped too. */
	for (int i = 0; i < 10000; i++)
		feed_str(s, "PANIC: again and again and again\n");
	CHECK(strlen(kt_com2_panic(s)) <= KT_COM2_PANIC_MAX);
	free(junk);
	kt_com2_free(s);
}

UNIT_TEST(com2_unterminated_result)
{
	struct kt_com2 *s = kt_com2_new();
	size_t len;

	feed_str(s, "===KTSTR_TEST_RESULT_START===\n{\"passed\":tr");
	kt_com2_finish(s);
	CHECK(kt_com2_test_result(s, &len) == NULL);
	CHECK(kt_com2_test_result_truncated(s));
	kt_com2_free(s);
	/* Empty block: complete, empty. */
	s = kt_com2_new();
	feed_str(s, "===KTSTR_TEST_RESULT_START===\n===KTSTR_TEST_RESULT_END===\n");
	CHECK_STR_EQ(kt_com2_test_result(s, &len), "");
	CHECK_INT_EQ(len, 0);
	/* End marker glued to the JSON line. */
	feed_str(s, "===KTSTR_TEST_RESULT_START===\n{\"a\":1}===KTSTR_TEST_RESULT_END===\n");
	CHECK_STR_EQ(kt_com2_test_result(s, &len), "{\"a\":1}");
	kt_com2_free(s);
}

struct lines {
	int n, proto;
	char last[64];
};

static void line_cb(void *ctx, const char *line, size_t len, bool protocol)
{
	struct lines *l = ctx;

	l->n++;
	l->proto += protocol;
	snprintf(l->last, sizeof(l->last), "%.*s", (int)len, line);
}

UNIT_TEST(com2_line_callback)
{
	struct kt_com2 *s = kt_com2_new();
	struct lines l = {0};

	kt_com2_set_line_cb(s, line_cb, &l);
	feed_str(s, transcript);
	CHECK_INT_EQ(l.n, 13);
	/* INIT, SCHED start/end, PAYLOAD, RESULT start + 2 JSON lines + end, 2 exits */
	CHECK_INT_EQ(l.proto, 10);
	CHECK_STR_EQ(l.last, "KTSTR_EXIT=0");
	kt_com2_free(s);
}
