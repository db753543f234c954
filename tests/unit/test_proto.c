// SPDX-License-Identifier: GPL-2.0
/* The run protocol: vocabulary, COM2 form, the host's reader and its limits, the guest's writer. */
#include <errno.h>
#include <stdio.h>

#include "guest/shm.h"
#include "proto/proto.h"
#include "unit.h"
#include "util/util.h"
#include "vm/shm.h"

struct got {
	int n;
	enum kt_msg_kind kind[16];
	uint32_t len[16];
	char *data[16];
};

static void got_fn(void *ctx, enum kt_msg_kind kind, const void *data, uint32_t len)
{
	struct got *g = ctx;

	if (g->n < 16) {
		g->kind[g->n] = kind;
		g->len[g->n] = len;
		g->data[g->n] = kt_malloc(len + 1);
		memcpy(g->data[g->n], data, len);
		g->data[g->n][len] = 0;
	}
	g->n++;
}

/* Feed COM2 text line by line, as the engine hands it up. */
static int feed_lines(struct kt_proto_rx *rx, const char *text, size_t n)
{
	int proto = 0;

	while (n) {
		const char *nl = memchr(text, '\n', n);
		size_t l = nl ? (size_t)(nl - text) : n;

		proto += kt_proto_rx_line(rx, text, l, false);
		n -= l + (nl ? 1 : 0);
		text += l + (nl ? 1 : 0);
	}
	return proto;
}

UNIT_TEST(proto_vocabulary)
{
	for (int i = 0; i < KT_MSG__COUNT; i++) {
		char b[5];

		CHECK(kt_msg_kinds[i].name && kt_msg_kinds[i].what);
		CHECK_STR_EQ(kt_shm_type_name(kt_msg_kinds[i].code, b), kt_msg_kinds[i].name);
		CHECK_INT_EQ(kt_msg_kind_of(kt_msg_kinds[i].code), i);
		CHECK(kt_msg_kinds[i].min_len <= kt_msg_kinds[i].max_len);
		CHECK_INT_EQ(kt_msg_max_len(kt_msg_kinds[i].code), kt_msg_kinds[i].max_len);
	}
	CHECK_INT_EQ(kt_msg_kinds[KT_MSG_TEST_RESULT].code, 0x54455354);
	CHECK_INT_EQ(kt_msg_kinds[KT_MSG_SCHED_EXIT].code, KT_FOURCC('S', 'C', 'D', 'X'));
	CHECK_INT_EQ(sizeof(struct kt_msg_stimulus), 24);
	CHECK_INT_EQ(kt_msg_kind_of(KT_FOURCC('E', 'X', 'I', 'T')), -1);
	CHECK_INT_EQ(kt_msg_max_len(KT_FOURCC('R', 'A', 'W', 'O')), 0);
}

UNIT_TEST(proto_com2_roundtrip)
{
	struct got g = {0};
	struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &g);
	unsigned char bin[5000];
	const char *json = "{\"passed\": true,\n \"details\": [\"100% ok\"]}";
	size_t n;
	char *text;

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7);
	/* several pieces, every byte value */
	text = kt_proto_com2_encode(KT_MSG_SCHED_LOG, bin, sizeof(bin), &n);
	CHECK(!memchr(text, '\0', n));
	CHECK_INT_EQ(feed_lines(rx, text, n), 3);
	free(text);
	CHECK_INT_EQ(g.n, 1);
	CHECK_INT_EQ(g.kind[0], KT_MSG_SCHED_LOG);
	CHECK_INT_EQ(g.len[0], sizeof(bin));
	CHECK(!memcmp(g.data[0], bin, sizeof(bin)));
	/* one piece, with a garbage prefix from output without a newline */
	text = kt_proto_com2_encode(KT_MSG_TEST_RESULT, json, strlen(json), &n);
	CHECK_STR_EQ(text, "KTSTR_MSG TEST {\"passed\":%20true,%0A%20\"details\":%20[\"100%25%20ok\"]}\n");
	CHECK(kt_proto_rx_line(rx, "partial", 7, false) == false);
	{
		char *line = kt_asprintf("partial%.*s", (int)n - 1, text);

		CHECK(kt_proto_rx_line(rx, line, strlen(line), false));
		free(line);
	}
	free(text);
	CHECK_INT_EQ(g.n, 2);
	CHECK_STR_EQ(g.data[1], json);
	/* empty messages have one line */
	text = kt_proto_com2_encode(KT_MSG_SCENARIO_START, "", 0, &n);
	CHECK_STR_EQ(text, "KTSTR_MSG SCST \n");
	CHECK_INT_EQ(feed_lines(rx, text, n), 1);
	free(text);
	CHECK_INT_EQ(g.n, 3);
	CHECK_INT_EQ(g.len[2], 0);
	/* output that only looks similar, and unknown kinds */
	CHECK(!kt_proto_rx_line(rx, "KTSTR_MSGX TEST a", 17, false));
	CHECK(kt_proto_rx_line(rx, "KTSTR_MSG NEWK abc", 18, false));
	kt_proto_rx_finish(rx);
	CHECK_INT_EQ(g.n, 3);
	CHECK(kt_proto_rx_error(rx) == NULL);
	for (int i = 0; i < g.n; i++)
		free(g.data[i]);
	kt_proto_rx_free(rx);
}

UNIT_TEST(proto_com2_malformed)
{
	static const char *const bad[] = {
	    "KTSTR_MSG TEST %4",	     /* short escape */
	    "KTSTR_MSG TEST %zz",	     /* not hex */
	    "KTSTR_MSG TEST a b",	     /* raw space */
	    "KTSTR_MSG SCDX %01%00%00",	     /* SCDX is 4 bytes */
	    "KTSTR_MSG+ SLOG ab\nKTSTR_MSG TEST {}", /* interleaved */
	    "KTSTR_MSG+ SLOG ab",	     /* never finished */
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		struct got g = {0};
		struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &g);

		feed_lines(rx, bad[i], strlen(bad[i]));
		kt_proto_rx_finish(rx);
		CHECK_STR_CONTAINS(kt_proto_rx_error(rx), "guest sent a malformed ");
		/* only the well-formed TEST after the interleaving gets through */
		CHECK_INT_EQ(g.n, i == 4 ? 1 : 0);
		for (int k = 0; k < g.n; k++)
			free(g.data[k]);
		kt_proto_rx_free(rx);
	}
	{
		struct got g = {0};
		struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &g);

		/* a line the engine had to cut */
		CHECK(kt_proto_rx_line(rx, "KTSTR_MSG STGE x", 16, true));
		CHECK_STR_CONTAINS(kt_proto_rx_error(rx), "guest sent a malformed stage");
		CHECK_INT_EQ(g.n, 0);
		kt_proto_rx_free(rx);
	}
}

/* VmHWM (peak resident set) of this process in KiB. */
static long peak_kib(void)
{
	char *st = NULL, *p;
	long v = -1;

	if (kt_read_file("/proc/self/status", &st, NULL, 1 << 20))
		return -1;
	p = strstr(st, "VmHWM:");
	if (p)
		v = strtol(p + 6, NULL, 10);
	free(st);
	return v;
}

static int to_rx(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	kt_proto_rx_shm(ctx, type, payload, len, crc_ok);
	return 0;
}

static uint32_t limit(void *ctx, uint32_t type)
{
	(void)ctx;
	return kt_msg_max_len(type);
}

/*
 * The memory-amplification finding: a guest filling the ring with a 16 MiB
 * test result of "{}," is refused before a byte of it is copied or parsed.
 */
UNIT_TEST(proto_oversized_shm_refused_unread)
{
	size_t size = 17u << 20, len = 16u << 20;
	uint8_t *mem = malloc(size);
	char *big = malloc(len);
	struct kt_shm_guest g;
	struct got got = {0};
	struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &got);
	const char *json = "{\"passed\":true}";
	uint64_t rp = 0;
	long before;

	for (size_t i = 0; i < len; i++)
		big[i] = "{},"[i % 3];
	kt_shm_init(mem, size);
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, size), 0);
	CHECK_INT_EQ(kt_shm_guest_write(&g, kt_msg_kinds[KT_MSG_TEST_RESULT].code, big, len), 0);
	CHECK_INT_EQ(kt_shm_guest_write(&g, KT_FOURCC('R', 'A', 'W', 'O'), big, 1 << 20), -ENOSPC);
	free(big);
	before = peak_kib();
	CHECK_INT_EQ(kt_shm_drain_limited(mem, size, &rp, limit, to_rx, rx), 1);
	CHECK(peak_kib() - before < 1024);
	CHECK_INT_EQ(got.n, 0);
	CHECK_STR_EQ(kt_proto_rx_error(rx), "guest sent an oversized test result (16777216 bytes; "
					   "the limit is 524288)");
	/* the ring goes on: the next message is read */
	kt_shm_store_read_ptr(mem, rp);
	CHECK_INT_EQ(kt_shm_guest_write(&g, kt_msg_kinds[KT_MSG_TEST_RESULT].code, json,
					(uint32_t)strlen(json)),
		     0);
	CHECK_INT_EQ(kt_shm_drain_limited(mem, size, &rp, limit, to_rx, rx), 1);
	CHECK_INT_EQ(got.n, 1);
	CHECK_STR_EQ(got.data[0], json);
	/* the first violation stays the one reported */
	CHECK_STR_CONTAINS(kt_proto_rx_error(rx), "16777216 bytes");
	free(got.data[0]);
	kt_proto_rx_free(rx);
	kt_shm_guest_close(&g);
	free(mem);
}

UNIT_TEST(proto_oversized_com2_bounded)
{
	size_t len = 16u << 20, n;
	char *big = malloc(len), *text;
	struct got g = {0};
	struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &g);
	long before;

	for (size_t i = 0; i < len; i++)
		big[i] = "{},"[i % 3];
	text = kt_proto_com2_encode(KT_MSG_TEST_RESULT, big, len, &n);
	free(big);
	before = peak_kib();
	feed_lines(rx, text, n);
	kt_proto_rx_finish(rx);
	/* at most the limit is kept while the pieces arrive (slack for ASan) */
	CHECK(peak_kib() - before < 8192);
	CHECK_INT_EQ(g.n, 0);
	CHECK_STR_EQ(kt_proto_rx_error(rx), "guest sent an oversized test result (16777216 bytes "
					    "on COM2; the limit is 524288)");
	free(text);
	kt_proto_rx_free(rx);
}

UNIT_TEST(proto_shm_checks)
{
	struct got g = {0};
	struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &g);
	int32_t st = 9;

	/* unknown types and damaged messages are dropped without a word */
	kt_proto_rx_shm(rx, KT_FOURCC('R', 'A', 'W', 'O'), "x", 1, true);
	kt_proto_rx_shm(rx, KT_FOURCC('R', 'A', 'W', 'O'), NULL, 1 << 20, false);
	kt_proto_rx_shm(rx, kt_msg_kinds[KT_MSG_SCHED_EXIT].code, &st, 4, false);
	CHECK_INT_EQ(g.n, 0);
	CHECK(kt_proto_rx_error(rx) == NULL);
	kt_proto_rx_shm(rx, kt_msg_kinds[KT_MSG_SCHED_EXIT].code, &st, 4, true);
	CHECK_INT_EQ(g.n, 1);
	CHECK_INT_EQ(g.kind[0], KT_MSG_SCHED_EXIT);
	free(g.data[0]);
	/* fixed-size kinds: too short is malformed, too long oversized */
	kt_proto_rx_shm(rx, kt_msg_kinds[KT_MSG_STIMULUS].code, "abc", 3, true);
	CHECK_STR_EQ(kt_proto_rx_error(rx),
		     "guest sent a malformed stimulus (3 bytes; expected at least 24)");
	kt_proto_rx_free(rx);
	rx = kt_proto_rx_new(got_fn, &g);
	kt_proto_rx_shm(rx, kt_msg_kinds[KT_MSG_SCHED_EXIT].code, "12345", 5, true);
	CHECK_STR_CONTAINS(kt_proto_rx_error(rx), "oversized scheduler exit status (5 bytes");
	CHECK_INT_EQ(g.n, 1);
	kt_proto_rx_free(rx);
}

struct sink {
	struct sbuf sb;
	int writes;
};

static void sink_write(void *ctx, const char *text, size_t len)
{
	struct sink *s = ctx;

	sb_add(&s->sb, text, len);
	s->writes++;
}

UNIT_TEST(proto_guest_send_one_transport)
{
	static uint8_t mem[4096];
	struct kt_shm_guest ring;
	struct sink s = {SBUF_INIT, 0};
	struct kt_proto_tx tx = {.com2_write = sink_write, .ctx = &s};
	struct got g = {0};
	struct kt_proto_rx *rx = kt_proto_rx_new(got_fn, &g);
	char big[3000];
	uint64_t rp = 0;

	memset(big, 'x', sizeof(big));
	/* no ring: COM2 */
	CHECK_INT_EQ(kt_proto_send(&tx, KT_MSG_STAGE, "booting", 7), 1);
	CHECK_STR_EQ(sb_str(&s.sb), "KTSTR_MSG STGE booting\n");
	/* a ring: only the ring */
	kt_shm_init(mem, sizeof(mem));
	CHECK_INT_EQ(kt_shm_guest_attach(&ring, mem, sizeof(mem)), 0);
	tx.ring = &ring;
	CHECK_INT_EQ(kt_proto_send(&tx, KT_MSG_TEST_RESULT, "{}", 2), 0);
	CHECK_INT_EQ(s.writes, 1);
	CHECK_INT_EQ(kt_proto_send(&tx, KT_MSG_SCHED_LOG, big, sizeof(big)), 0);
	/* the ring cannot take it (full): COM2, in one write */
	CHECK_INT_EQ(kt_proto_send(&tx, KT_MSG_SCHED_LOG, big, sizeof(big)), 1);
	CHECK_INT_EQ(s.writes, 2);
	CHECK_INT_EQ(kt_shm_drain_limited(mem, sizeof(mem), &rp, limit, to_rx, rx), 2);
	feed_lines(rx, s.sb.s, s.sb.len);
	CHECK_INT_EQ(g.n, 4);
	CHECK_INT_EQ(g.kind[0], KT_MSG_TEST_RESULT);
	CHECK_INT_EQ(g.kind[1], KT_MSG_SCHED_LOG);
	CHECK_INT_EQ(g.kind[2], KT_MSG_STAGE);
	CHECK_INT_EQ(g.kind[3], KT_MSG_SCHED_LOG);
	CHECK_INT_EQ(g.len[3], sizeof(big));
	CHECK(kt_proto_rx_error(rx) == NULL);
	for (int i = 0; i < g.n; i++)
		free(g.data[i]);
	sb_free(&s.sb);
	kt_proto_rx_free(rx);
	kt_shm_guest_close(&ring);
}
