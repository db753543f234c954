// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "guest/shm.h"
#include "proto/proto.h"
#include "unit.h"
#include "util/util.h"
#include "vm/shm.h"

/* Message types for the ring's own tests: the ring does not interpret them. */
#define T_EXIT KT_FOURCC('E', 'X', 'I', 'T')
#define T_START KT_FOURCC('S', 'C', 'S', 'T')
#define T_END KT_FOURCC('S', 'C', 'E', 'N')
#define T_RESULT KT_FOURCC('T', 'E', 'S', 'T')
#define T_RAW KT_FOURCC('R', 'A', 'W', 'O')
#define T_CRASH KT_FOURCC('C', 'R', 'S', 'H')

struct rec {
	int n;
	uint32_t type[64];
	uint32_t len[64];
	bool crc_ok[64];
	char payload[64][256];
	int stop_after;
};

static int rec_cb(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	struct rec *r = ctx;

	if (r->n < 64) {
		r->type[r->n] = type;
		r->len[r->n] = len;
		r->crc_ok[r->n] = crc_ok;
		memcpy(r->payload[r->n], payload, len < 255 ? len : 255);
		r->payload[r->n][len < 255 ? len : 255] = 0;
	}
	r->n++;
	return r->stop_after && r->n >= r->stop_after;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

UNIT_TEST(shm_header_layout)
{
	uint8_t mem[4096];
	uint32_t v;

	memset(mem, 0xAA, sizeof(mem));
	CHECK_INT_EQ(kt_shm_init(mem, sizeof(mem)), 0);
	CHECK(!memcmp(mem, "RMTS", 4)); /* 0x53544D52 little-endian */
	memcpy(&v, mem + 4, 4);
	CHECK_INT_EQ(v, 1);
	memcpy(&v, mem + 8, 4);
	CHECK_INT_EQ(v, 4096 - 40);
	for (int i = 12; i < 40; i++)
		CHECK_INT_EQ(mem[i], 0);
	CHECK_INT_EQ(kt_shm_init(mem, 40), -EINVAL);
	CHECK_INT_EQ(kt_shm_init(mem, 56), -EINVAL);
	CHECK_INT_EQ(T_EXIT, 0x45584954);
	CHECK_INT_EQ(KT_FOURCC('S', 'T', 'I', 'M'), 0x5354494D);
	CHECK_INT_EQ(T_RAW, 0x5241574F);
	{
		char b[5];

		CHECK_STR_EQ(kt_shm_type_name(T_CRASH, b), "CRSH");
		CHECK_STR_EQ(kt_shm_type_name(0x41000142, b), "A??B");
	}
}

UNIT_TEST(shm_roundtrip_and_control)
{
	static uint8_t mem[8192];
	struct kt_shm_guest g;
	struct rec r = {0};
	uint64_t rp = 0;
	int32_t code = -7;

	kt_shm_init(mem, sizeof(mem));
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, sizeof(mem)), 0);
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_START, NULL, 0), 0);
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_RESULT, "{\"ok\":1}", 8), 0);
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_EXIT, &code, 4), 0);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 3);
	CHECK_INT_EQ(r.n, 3);
	CHECK_INT_EQ(r.type[0], T_START);
	CHECK_INT_EQ(r.len[0], 0);
	CHECK(r.crc_ok[0]);
	CHECK_INT_EQ(r.type[1], T_RESULT);
	CHECK_STR_EQ(r.payload[1], "{\"ok\":1}");
	CHECK(r.crc_ok[1]);
	CHECK_INT_EQ(r.len[2], 4);
	CHECK(!memcmp(r.payload[2], &code, 4));
	CHECK_INT_EQ(rp, 16 * 3 + 8 + 4);
	/* Nothing new: no messages, pointer unchanged. */
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 0);
	CHECK_INT_EQ(rp, 16 * 3 + 8 + 4);
	/* Message header layout: type, len, crc, pad. */
	{
		uint32_t t, l, c, pad;

		memcpy(&t, mem + 40 + 16, 4);
		memcpy(&l, mem + 40 + 20, 4);
		memcpy(&c, mem + 40 + 24, 4);
		memcpy(&pad, mem + 40 + 28, 4);
		CHECK_INT_EQ(t, T_RESULT);
		CHECK_INT_EQ(l, 8);
		CHECK_INT_EQ(c, kt_crc32("{\"ok\":1}", 8));
		CHECK_INT_EQ(pad, 0);
	}
	/* Callback stop. */
	kt_shm_guest_write(&g, T_END, NULL, 0);
	kt_shm_guest_write(&g, T_END, NULL, 0);
	r.n = 0;
	r.stop_after = 1;
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 1);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 1);
	CHECK_INT_EQ(r.n, 2);
	/* Control bytes, both directions. */
	kt_shm_ctrl_set(mem, KT_SHM_CTRL_FIRST, 'D');
	CHECK_INT_EQ(mem[12], 'D');
	CHECK_INT_EQ(kt_shm_guest_ctrl_get(&g, KT_SHM_CTRL_FIRST), 'D');
	kt_shm_guest_ctrl_set(&g, KT_PROTO_CTRL_TO_HOST, KT_PROTO_SIG_PROBES_READY);
	CHECK_INT_EQ(kt_shm_ctrl_get(mem, KT_PROTO_CTRL_TO_HOST), 2);
	CHECK_INT_EQ(mem[15], 2);
	kt_shm_ctrl_set(mem, KT_PROTO_CTRL_TO_GUEST, KT_PROTO_SIG_SHUTDOWN);
	CHECK_INT_EQ(mem[14], 0xDD);
	kt_shm_store_read_ptr(mem, rp);
	CHECK_INT_EQ(kt_shm_load_u64(mem, KT_SHM_OFF_READ_PTR), rp);
	kt_shm_guest_close(&g);
}

UNIT_TEST(shm_wraparound_and_full)
{
	/* Capacity 100: messages straddle the end of the data area. */
	static uint8_t mem[140];
	struct kt_shm_guest g;
	uint64_t rp = 0;
	char msg[32];
	int total = 0;

	kt_shm_init(mem, sizeof(mem));
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, sizeof(mem)), 0);
	for (int round = 0; round < 50; round++) {
		struct rec r = {0};
		int nw = 0;

		for (int i = 0; i < 3; i++) {
			int n = snprintf(msg, sizeof(msg), "m%d-%d", round, i);

			if (kt_shm_guest_write(&g, T_RAW, msg, (uint32_t)n) == 0)
				nw++;
		}
		CHECK(nw >= 2);
		CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), nw);
		kt_shm_store_read_ptr(mem, rp);
		for (int i = 0; i < nw; i++) {
			snprintf(msg, sizeof(msg), "m%d-%d", round, i);
			CHECK_STR_EQ(r.payload[i], msg);
			CHECK(r.crc_ok[i]);
		}
		total += nw;
	}
	CHECK(rp > 5 * 100);
	/* Full ring counts drops; an impossible size is -EMSGSIZE. */
	while (kt_shm_guest_write(&g, T_END, NULL, 0) == 0)
		;
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_END, NULL, 0), -ENOSPC);
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_RAW, msg, 85), -EMSGSIZE);
	CHECK_INT_EQ(kt_shm_guest_drops(&g), 3);
	CHECK_INT_EQ(kt_shm_load_u64(mem, KT_SHM_OFF_DROPS), 3);
	kt_shm_guest_close(&g);
}

UNIT_TEST(shm_bad_crc_reported)
{
	static uint8_t mem[1024];
	struct kt_shm_guest g;
	struct rec r = {0};
	uint64_t rp = 0;

	kt_shm_init(mem, sizeof(mem));
	kt_shm_guest_attach(&g, mem, sizeof(mem));
	kt_shm_guest_write(&g, T_CRASH, "PANIC: boom", 11);
	kt_shm_guest_write(&g, T_CRASH, "PANIC: two", 10);
	mem[40 + 16 + 3] ^= 0x01; /* flip a payload bit of the first message */
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 2);
	CHECK(!r.crc_ok[0]);
	CHECK(r.crc_ok[1]);
	CHECK_STR_EQ(r.payload[1], "PANIC: two");
}

UNIT_TEST(shm_hostile_headers)
{
	static uint8_t mem[1024];
	struct rec r = {0};
	uint64_t rp;

	/* Region too small, bad magic, bad version. */
	kt_shm_init(mem, sizeof(mem));
	rp = 0;
	CHECK_INT_EQ(kt_shm_drain(mem, 50, &rp, rec_cb, &r), -EPROTO);
	mem[0] ^= 1;
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EPROTO);
	mem[0] ^= 1;
	put32(mem + 4, 2);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EPROTO);
	put32(mem + 4, 1);
	/* Capacity larger than the region, zero, or tiny. */
	put32(mem + 8, 1024 - 39);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EPROTO);
	put32(mem + 8, 0xFFFFFFFF);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EPROTO);
	put32(mem + 8, 0);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EPROTO);
	put32(mem + 8, 16);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EPROTO);
	/* A smaller capacity than the region is fine. */
	put32(mem + 8, 500);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 0);
	put32(mem + 8, 1024 - 40);
	/* write_ptr - read_ptr > capacity. */
	put64(mem + 16, 985);
	rp = 0;
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EBADMSG);
	CHECK_INT_EQ(rp, 0);
	/* write_ptr behind read_ptr (wraps to a huge distance). */
	put64(mem + 16, 10);
	rp = 20;
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EBADMSG);
	CHECK_INT_EQ(r.n, 0);
}

UNIT_TEST(shm_hostile_lengths)
{
	static uint8_t mem[1024];
	struct kt_shm_guest g;
	struct rec r = {0};
	uint64_t rp = 0;

	kt_shm_init(mem, sizeof(mem));
	kt_shm_guest_attach(&g, mem, sizeof(mem));
	kt_shm_guest_write(&g, T_START, NULL, 0);
	kt_shm_guest_write(&g, T_RAW, "abcd", 4);
	/* len > capacity in the second message: first delivered, then -EBADMSG. */
	put32(mem + 40 + 16 + 4, 0xFFFFFFF0);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EBADMSG);
	CHECK_INT_EQ(r.n, 1);
	CHECK_INT_EQ(rp, 16);
	/* len = capacity - 15: just over the maximum. */
	put32(mem + 40 + 16 + 4, 1024 - 40 - 15);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EBADMSG);
	/* Truncated: the length says 8 but write_ptr covers only 4 payload bytes. */
	put32(mem + 40 + 16 + 4, 8);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), -EBADMSG);
	CHECK_INT_EQ(rp, 16);
	/* write_ptr inside a message header (fewer than 16 bytes left): nothing to do. */
	put32(mem + 40 + 16 + 4, 4);
	put64(mem + 16, 16 + 10);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 0);
	put64(mem + 16, 16 + 20);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 1);
	CHECK_STR_EQ(r.payload[1], "abcd");
	/* Reader never touches the region. */
	CHECK_INT_EQ(kt_shm_load_u64(mem, KT_SHM_OFF_READ_PTR), 0);
}

UNIT_TEST(shm_pointer_wrap_near_u64_max)
{
	static uint8_t mem[40 + 128];
	struct kt_shm_guest g;
	uint64_t rp = UINT64_MAX - 40;
	char msg[16];

	kt_shm_init(mem, sizeof(mem));
	put64(mem + 16, rp);
	put64(mem + 24, rp);
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, sizeof(mem)), 0);
	for (int i = 0; i < 20; i++) {
		struct rec r = {0};
		int n = snprintf(msg, sizeof(msg), "w%02d", i);

		CHECK_INT_EQ(kt_shm_guest_write(&g, T_RAW, msg, (uint32_t)n), 0);
		CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, rec_cb, &r), 1);
		CHECK_STR_EQ(r.payload[0], msg);
		CHECK(r.crc_ok[0]);
		kt_shm_store_read_ptr(mem, rp);
	}
	CHECK(rp < 1000); /* wrapped past zero */
}

struct thr {
	struct kt_shm_guest *g;
	int id;
};

static void *writer(void *arg)
{
	struct thr *t = arg;
	char msg[32];

	for (int i = 0; i < 200; i++) {
		int n = snprintf(msg, sizeof(msg), "t%d-%d", t->id, i);

		kt_shm_guest_write(t->g, T_RAW, msg, (uint32_t)n);
	}
	return NULL;
}

static int count_cb(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	int *n = ctx;

	if (crc_ok && type == T_RAW && len >= 4 && payload[0] == 't')
		(*n)++;
	else
		*n = -100000;
	return 0;
}

UNIT_TEST(shm_concurrent_writers)
{
	static uint8_t mem[1 << 20];
	struct kt_shm_guest g;
	pthread_t th[4];
	struct thr t[4];
	uint64_t rp = 0;
	int n = 0;

	kt_shm_init(mem, sizeof(mem));
	kt_shm_guest_attach(&g, mem, sizeof(mem));
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){&g, i};
		pthread_create(&th[i], NULL, writer, &t[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_INT_EQ(kt_shm_drain(mem, sizeof(mem), &rp, count_cb, &n), 800);
	CHECK_INT_EQ(n, 800);
	CHECK_INT_EQ(kt_shm_guest_drops(&g), 0);
}

UNIT_TEST(shm_parse_cmdline)
{
	uint64_t b = 0, s = 0;

	CHECK_INT_EQ(kt_shm_parse_cmdline("console=ttyS0 KTSTR_SHM_BASE=0x7f000000 "
					  "KTSTR_SHM_SIZE=0x1000000 quiet\n",
					  &b, &s),
		     0);
	CHECK(b == 0x7f000000ull && s == 0x1000000ull);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_SIZE=1000 KTSTR_SHM_BASE=ABCDEF", &b, &s), 0);
	CHECK(b == 0xABCDEF && s == 0x1000);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_BASE=0X10 KTSTR_SHM_SIZE=0x20 "
					  "KTSTR_SHM_BASE=0x30",
					  &b, &s),
		     0);
	CHECK_INT_EQ(b, 0x30);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_BASE=0x10", &b, &s), -ENOENT);
	CHECK_INT_EQ(kt_shm_parse_cmdline("", &b, &s), -ENOENT);
	CHECK_INT_EQ(kt_shm_parse_cmdline("XKTSTR_SHM_BASE=1 KTSTR_SHM_SIZE=1", &b, &s), -ENOENT);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_BASE=0xg KTSTR_SHM_SIZE=1", &b, &s), -EINVAL);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_BASE= KTSTR_SHM_SIZE=1", &b, &s), -EINVAL);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_BASE=0x KTSTR_SHM_SIZE=1", &b, &s), -EINVAL);
	CHECK_INT_EQ(kt_shm_parse_cmdline("KTSTR_SHM_BASE=1 KTSTR_SHM_SIZE=0", &b, &s), -EINVAL);
	CHECK_INT_EQ(
	    kt_shm_parse_cmdline("KTSTR_SHM_BASE=1 KTSTR_SHM_SIZE=10000000000000000", &b, &s),
	    -EINVAL);
	CHECK_INT_EQ(
	    kt_shm_parse_cmdline("KTSTR_SHM_BASE=ffffffffffffffff KTSTR_SHM_SIZE=2", &b, &s),
	    -EINVAL);
}

UNIT_TEST(shm_attach_rejects_bad_header)
{
	static uint8_t mem[256];
	struct kt_shm_guest g;

	memset(mem, 0, sizeof(mem));
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, sizeof(mem)), -EINVAL);
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_EXIT, "abcd", 4), -EINVAL);
	kt_shm_init(mem, sizeof(mem));
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, 128), -EINVAL); /* capacity > given size */
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, sizeof(mem)), 0);
	kt_shm_guest_close(&g);
}

struct live {
	uint8_t *mem;
	size_t size;
	int done;
	int received, bad, out_of_order;
	uint32_t next;
};

static int live_cb(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	struct live *l = ctx;
	uint32_t seq;

	if (!crc_ok || type != T_RAW || len < 4) {
		l->bad++;
		return 0;
	}
	memcpy(&seq, payload, 4);
	if (seq < l->next)
		l->out_of_order++;
	l->next = seq + 1;
	l->received++;
	return 0;
}

static void *live_reader(void *arg)
{
	struct live *l = arg;
	uint64_t rp = 0;

	for (;;) {
		int done = __atomic_load_n(&l->done, __ATOMIC_ACQUIRE);

		if (kt_shm_drain(l->mem, l->size, &rp, live_cb, l) < 0)
			l->bad++;
		kt_shm_store_read_ptr(l->mem, rp);
		if (done)
			break;
	}
	return NULL;
}

UNIT_TEST(shm_live_reader_and_writer)
{
	/* A small ring so that it fills, wraps and drops while the host reads. */
	static uint8_t mem[40 + 1000] __attribute__((aligned(8)));
	struct live l = {mem, sizeof(mem), 0, 0, 0, 0, 0};
	struct kt_shm_guest g;
	uint8_t payload[64];
	pthread_t th;
	int sent = 0, full = 0;

	kt_shm_init(mem, sizeof(mem));
	CHECK_INT_EQ(kt_shm_guest_attach(&g, mem, sizeof(mem)), 0);
	pthread_create(&th, NULL, live_reader, &l);
	for (uint32_t i = 0; i < 100000; i++) {
		memcpy(payload, &i, 4);
		memset(payload + 4, (int)i, sizeof(payload) - 4);
		if (kt_shm_guest_write(&g, T_RAW, payload, 4 + i % 60) == 0)
			sent++;
		else
			full++;
	}
	__atomic_store_n(&l.done, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	CHECK_INT_EQ(l.bad, 0);
	CHECK_INT_EQ(l.out_of_order, 0);
	CHECK_INT_EQ(l.received, sent);
	CHECK_INT_EQ(kt_shm_guest_drops(&g), full);
}

UNIT_TEST(shm_guest_open_without_cmdline_keys)
{
	struct kt_shm_guest g;
	char *err = NULL, *cmdline = NULL;

	/* The host's own command line has no KTSTR_SHM_* keys. */
	CHECK_INT_EQ(kt_read_file("/proc/cmdline", &cmdline, NULL, 0), 0);
	CHECK(!strstr(cmdline, "KTSTR_SHM_BASE="));
	CHECK_INT_EQ(kt_shm_guest_open(&g, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "KTSTR_SHM_BASE");
	CHECK(g.region == NULL);
	CHECK_INT_EQ(kt_shm_guest_write(&g, T_EXIT, "abcd", 4), -EINVAL);
	kt_shm_guest_close(&g); /* closing a closed ring is harmless */
	free(err);
	free(cmdline);
}
