// SPDX-License-Identifier: GPL-2.0
/*
 * The run protocol's host end: takes SHM messages and COM2 lines from the
 * VM engine, checks each message's length against its kind before reading
 * it, and hands valid messages to the runner. Never trusts the guest.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "util/util.h"

#define MARK "KTSTR_MSG"

struct kt_proto_rx {
	kt_proto_msg_fn fn;
	void *ctx;
	char *error;
	/* COM2 message being collected */
	int pend_kind; /* -1: none */
	struct sbuf pend;
	unsigned long long pend_len; /* decoded bytes, also past the limit */
};

struct kt_proto_rx *kt_proto_rx_new(kt_proto_msg_fn fn, void *ctx)
{
	struct kt_proto_rx *rx = kt_calloc(1, sizeof(*rx));

	rx->fn = fn;
	rx->ctx = ctx;
	rx->pend_kind = -1;
	return rx;
}

void kt_proto_rx_free(struct kt_proto_rx *rx)
{
	if (!rx)
		return;
	sb_free(&rx->pend);
	free(rx->error);
	free(rx);
}

const char *kt_proto_rx_error(const struct kt_proto_rx *rx)
{
	return rx->error;
}

static void fail(struct kt_proto_rx *rx, const char *fmt, ...) KT_PRINTF(2, 3);
static void fail(struct kt_proto_rx *rx, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	if (rx->error)
		return; /* the first violation is the one to report */
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	rx->error = sb_steal(&sb);
}

/* Check a complete message's length; deliver it when it is within limits. */
static void deliver(struct kt_proto_rx *rx, int kind, const void *data,
		    unsigned long long len, const char *via)
{
	const struct kt_msg_kind_info *k = &kt_msg_kinds[kind];

	if (len > k->max_len) {
		fail(rx, "guest sent an oversized %s (%llu bytes%s; the limit is %u)", k->what, len,
		     via, k->max_len);
		return;
	}
	if (len < k->min_len || !data) {
		fail(rx, "guest sent a malformed %s (%llu bytes%s; expected at least %u)", k->what,
		     len, via, k->min_len);
		return;
	}
	rx->fn(rx->ctx, (enum kt_msg_kind)kind, len ? data : "", (uint32_t)len);
}

void kt_proto_rx_shm(struct kt_proto_rx *rx, uint32_t type, const void *data, uint32_t len,
		     bool crc_ok)
{
	int kind = kt_msg_kind_of(type);

	if (kind < 0)
		return; /* not ours: skipped unread */
	if (data && !crc_ok)
		return; /* damaged in the ring: dropped, as the engine counts it */
	deliver(rx, kind, data, len, "");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void drop_pending(struct kt_proto_rx *rx)
{
	rx->pend_kind = -1;
	rx->pend_len = 0;
	sb_free(&rx->pend);
}

/* Decode one piece into the pending message (kept only within the limit). */
static bool add_piece(struct kt_proto_rx *rx, const char *p, size_t n)
{
	uint32_t max = kt_msg_kinds[rx->pend_kind].max_len;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '%') {
			int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(p[i + 2]) : -1;

			if (i + 2 >= n || hi < 0 || lo < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f) {
			return false;
		}
		if (++rx->pend_len <= max)
			sb_add(&rx->pend, &c, 1);
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool kt_proto_rx_line(struct kt_proto_rx *rx, const char *line, size_t len, bool cut)
{
	const char *p = memmem(line, len, MARK, strlen(MARK)), *end = line + len, *name;
	bool more;
	int kind = -1;

	if (!p)
		return false;
	p += strlen(MARK);
	more = p < end && *p == '+';
	if (more)
		p++;
	if (p >= end || *p != ' ')
		return false; /* "KTSTR_MSGS..." is someone's output */
	name = ++p;
	while (p < end && *p != ' ')
		p++;
	for (int i = 0; i < KT_MSG__COUNT; i++)
		if ((size_t)(p - name) == strlen(kt_msg_kinds[i].name) &&
		    !memcmp(name, kt_msg_kinds[i].name, (size_t)(p - name)))
			kind = i;
	if (kind < 0)
		return true; /* not a kind we know: skipped */
	if (p < end)
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if (rx->pend_kind >= 0 && rx->pend_kind != kind) {
		fail(rx, "guest sent a malformed %s (cut off on COM2)",
		     kt_msg_kinds[rx->pend_kind].what);
		drop_pending(rx);
	}
	rx->pend_kind = kind;
	if (cut || !add_piece(rx, p, (size_t)(end - p))) {
		fail(rx, "guest sent a malformed %s (bad line on COM2)", kt_msg_kinds[kind].what);
		drop_pending(rx);
		return true;
	}
	if (!more) {
		deliver(rx, kind, rx->pend.s ? rx->pend.s : "", rx->pend_len, " on COM2");
		drop_pending(rx);
	}
	return true;
}

void kt_proto_rx_finish(struct kt_proto_rx *rx)
{
	if (rx->pend_kind >= 0) {
		fail(rx, "guest sent a malformed %s (cut off on COM2)",
		     kt_msg_kinds[rx->pend_kind].what);
		drop_pending(rx);
	}
}
