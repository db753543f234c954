// SPDX-License-Identifier: GPL-2.0
/* The VM engine's COM2 line reader: lifecycle lines, bounds, chunking. */
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
				 "scx: started\n"
				 "worker noise KTSTR_EXIT=99x\n" /* malformed: output */
				 "KTSTR_MSG TEST {\"passed\":%20true}\n"
				 "KTSTR_EXIT=3\n"
				 "KTSTR_EXIT=0\n";

struct lines {
	int n, lifecycle;
	char all[1024];
};

static void line_cb(void *ctx, const char *line, size_t len, bool cut, bool lifecycle)
{
	struct lines *l = ctx;
	size_t at = strlen(l->all);

	CHECK(!cut);
	l->n++;
	l->lifecycle += lifecycle;
	if (!lifecycle)
		snprintf(l->all + at, sizeof(l->all) - at, "%.*s|", (int)len, line);
}

static void check_transcript(struct kt_com2 *s, const struct lines *l)
{
	int code = -1;

	CHECK(kt_com2_init_started(s));
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 0);
	CHECK(!kt_com2_exec_exit_code(s, &code));
	CHECK_INT_EQ(kt_com2_bytes(s), strlen(transcript));
	/* INIT and two exits are the engine's; the rest is handed up, intact */
	CHECK_INT_EQ(l->n, 6);
	CHECK_INT_EQ(l->lifecycle, 3);
	CHECK_STR_EQ(l->all, "scx: started|worker noise KTSTR_EXIT=99x|"
			     "KTSTR_MSG TEST {\"passed\":%20true}|");
}

UNIT_TEST(com2_transcript_any_chunking)
{
	struct kt_com2 *s = kt_com2_new();
	struct lines l = {0};

	kt_com2_set_line_cb(s, line_cb, &l);
	feed_str(s, transcript);
	check_transcript(s, &l);
	kt_com2_free(s);
	memset(&l, 0, sizeof(l));
	s = kt_com2_new();
	kt_com2_set_line_cb(s, line_cb, &l);
	feed_bytes(s, transcript);
	check_transcript(s, &l);
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

struct cutlines {
	int n, cut;
	size_t last_len;
};

static void cut_cb(void *ctx, const char *line, size_t len, bool cut, bool lifecycle)
{
	struct cutlines *l = ctx;

	(void)line;
	(void)lifecycle;
	l->n++;
	l->cut += cut;
	l->last_len = len;
}

UNIT_TEST(com2_hostile_input_bounded)
{
	struct kt_com2 *s = kt_com2_new();
	struct cutlines l = {0};
	static const char nul_line[] = "bad\0byte\n";
	size_t big = 3u << 20;
	char *junk = malloc(big);
	int code;

	kt_com2_set_line_cb(s, cut_cb, &l);
	/* Megabytes without a newline, with NULs, then a valid exit line. */
	for (size_t i = 0; i < big; i++)
		junk[i] = (char)(i * 131);
	for (size_t i = 0; i < big; i++)
		if (junk[i] == '\n')
			junk[i] = 0;
	kt_com2_feed(s, junk, big);
	feed_str(s, "\n");
	CHECK_INT_EQ(l.n, 1);
	CHECK_INT_EQ(l.cut, 1);
	CHECK_INT_EQ(l.last_len, KT_COM2_LINE_MAX);
	feed_str(s, "KTSTR_EXIT=1\n");
	CHECK(kt_com2_exit_code(s, &code));
	CHECK_INT_EQ(code, 1);
	/* NUL bytes are ordinary bytes of a line */
	kt_com2_feed(s, nul_line, sizeof(nul_line) - 1);
	CHECK_INT_EQ(l.last_len, 8);
	CHECK_INT_EQ(l.cut, 1);
	free(junk);
	kt_com2_free(s);
}
