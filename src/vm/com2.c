// SPDX-License-Identifier: GPL-2.0
/* COM2 text protocol parser (host side, pure, bounded). */
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "vm/com2.h"

#define M_INIT "KTSTR_INIT_STARTED"
#define M_PAYLOAD "KTSTR_PAYLOAD_STARTING"
#define M_DIED "SCHEDULER_DIED"
#define M_NOT_ATTACHED "SCHEDULER_NOT_ATTACHED"
#define M_EXIT "KTSTR_EXIT="
#define M_EXEC_EXIT "KTSTR_EXEC_EXIT="
#define M_PANIC "PANIC:"
#define M_RES_START "===KTSTR_TEST_RESULT_START==="
#define M_RES_END "===KTSTR_TEST_RESULT_END==="
#define M_SCHED_START "===SCHED_OUTPUT_START==="
#define M_SCHED_END "===SCHED_OUTPUT_END==="

enum block { B_NONE, B_RESULT, B_SCHED };

struct kt_com2 {
	char *line;
	size_t line_len;
	bool line_overflow;
	unsigned long long bytes;

	bool init_started, payload_starting, sched_died, sched_not_attached;
	bool have_exit, have_exec_exit;
	int exit_code, exec_exit_code;

	enum block block;
	struct sbuf cur; /* result block being read */
	bool cur_truncated;
	bool cur_has_line;
	struct sbuf result; /* last complete result */
	bool have_result;
	bool result_truncated;
	struct sbuf sched;
	bool sched_truncated;
	struct sbuf panic;

	void (*cb)(void *ctx, const char *line, size_t len, bool protocol);
	void *ctx;
};

struct kt_com2 *kt_com2_new(void)
{
	struct kt_com2 *s = kt_calloc(1, sizeof(*s));

	s->line = kt_malloc(KT_COM2_LINE_MAX);
	sb_init(&s->cur);
	sb_init(&s->result);
	sb_init(&s->sched);
	sb_init(&s->panic);
	return s;
}

void kt_com2_free(struct kt_com2 *s)
{
	if (!s)
		return;
	free(s->line);
	sb_free(&s->cur);
	sb_free(&s->result);
	sb_free(&s->sched);
	sb_free(&s->panic);
	free(s);
}

void kt_com2_set_line_cb(struct kt_com2 *s,
			 void (*cb)(void *ctx, const char *line, size_t len, bool protocol),
			 void *ctx)
{
	s->cb = cb;
	s->ctx = ctx;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Does [p, p+n) end with the literal m? */
static bool ends_with(const char *p, size_t n, const char *m)
{
	size_t ml = strlen(m);

	return n >= ml && !memcmp(p + n - ml, m, ml);
}

static const char *find_last(const char *p, size_t n, const char *m)
{
	size_t ml = strlen(m);
	const char *last = NULL;

	for (const char *q = p; (size_t)(q - p) + ml <= n;) {
		const char *hit = memmem(q, n - (size_t)(q - p), m, ml);

		if (!hit)
			break;
		last = hit;
		q = hit + 1;
	}
	return last;
}

/* Strict int32: [-]digits, no sign '+', no leading spaces, no trailing junk. */
static bool parse_i32(const char *p, size_t n, int *out)
{
	bool neg = false;
	long long v = 0;

	if (n && *p == '-') {
		neg = true;
		p++;
		n--;
	}
	if (!n || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int)v;
	return true;
}

static bool take_int(const char *p, size_t n, const char *marker, int *out)
{
	const char *hit = find_last(p, n, marker);
	size_t ml = strlen(marker);

	if (!hit)
		return false;
	return parse_i32(hit + ml, n - (size_t)(hit - p) - ml, out);
}

/* Append a line to a capped block; returns false when it did not fit. */
static bool block_add(struct sbuf *sb, bool *has_line, const char *p, size_t n)
{
	size_t need = n + (*has_line ? 1 : 0);

	if (sb->len + need > KT_COM2_BLOCK_MAX)
		return false;
	if (*has_line)
		sb_add(sb, "\n", 1);
	sb_add(sb, p, n);
	*has_line = true;
	return true;
}

static void handle_line(struct kt_com2 *s, const char *raw, size_t raw_len, bool overflow)
{
	const char *p = raw;
	size_t n = raw_len;
	bool proto = false;
	int v;

	/* Trimmed view for marker matching. */
	while (n && is_space(p[n - 1]))
		n--;
	while (n && is_space(*p)) {
		p++;
		n--;
	}

	if (s->block == B_RESULT) {
		proto = true;
		if (ends_with(p, n, M_RES_END)) {
			size_t pre = n - strlen(M_RES_END);

			if (pre && !block_add(&s->cur, &s->cur_has_line, p, pre))
				s->cur_truncated = true;
			if (!s->cur_truncated) {
				sb_free(&s->result);
				sb_add(&s->result, s->cur.s ? s->cur.s : "", s->cur.len);
				sb_str(&s->result);
				s->have_result = true;
			} else {
				s->result_truncated = true;
			}
			s->block = B_NONE;
		} else if (overflow || !block_add(&s->cur, &s->cur_has_line, raw, raw_len)) {
			s->cur_truncated = true;
		}
		goto out;
	}
	if (s->block == B_SCHED) {
		const char *cp = raw;
		size_t cl = raw_len;

		if (ends_with(p, n, M_SCHED_END)) {
			proto = true;
			s->block = B_NONE;
			cp = p;
			cl = n - strlen(M_SCHED_END);
			if (!cl)
				goto out;
		}
		/* Each line is stored with its '\n'. */
		if (overflow || s->sched.len + cl + 1 > KT_COM2_BLOCK_MAX) {
			s->sched_truncated = true;
		} else {
			sb_add(&s->sched, cp, cl);
			sb_add(&s->sched, "\n", 1);
		}
		goto out;
	}

	if (ends_with(p, n, M_RES_START)) {
		proto = true;
		s->block = B_RESULT;
		sb_free(&s->cur);
		s->cur_truncated = false;
		s->cur_has_line = false;
	} else if (ends_with(p, n, M_SCHED_START)) {
		proto = true;
		s->block = B_SCHED;
	} else if (take_int(p, n, M_EXEC_EXIT, &v)) {
		proto = true;
		s->have_exec_exit = true;
		s->exec_exit_code = v;
	} else if (take_int(p, n, M_EXIT, &v)) {
		proto = true;
		s->have_exit = true;
		s->exit_code = v;
	} else {
		const char *hit;

		if (memmem(p, n, M_INIT, strlen(M_INIT)))
			proto = s->init_started = true;
		if (memmem(p, n, M_PAYLOAD, strlen(M_PAYLOAD)))
			proto = s->payload_starting = true;
		if (memmem(p, n, M_NOT_ATTACHED, strlen(M_NOT_ATTACHED)))
			proto = s->sched_not_attached = true;
		if (memmem(p, n, M_DIED, strlen(M_DIED)))
			proto = s->sched_died = true;
		hit = memmem(p, n, M_PANIC, strlen(M_PANIC));
		if (hit) {
			size_t hl = n - (size_t)(hit - p);

			proto = true;
			if (s->panic.len + hl + 1 <= KT_COM2_PANIC_MAX) {
				if (s->panic.len)
					sb_add(&s->panic, "\n", 1);
				/* Keep it a C string: NULs become '?'. */
				for (size_t i = 0; i < hl; i++)
					sb_add(&s->panic, hit[i] ? &hit[i] : "?", 1);
			}
		}
	}
out:
	if (s->cb)
		s->cb(s->ctx, raw, raw_len, proto);
}

void kt_com2_feed(struct kt_com2 *s, const void *buf, size_t len)
{
	const char *p = buf;

	s->bytes += len;
	while (len) {
		const char *nl = memchr(p, '\n', len);
		size_t chunk = nl ? (size_t)(nl - p) : len;
		size_t room = KT_COM2_LINE_MAX - s->line_len;

		if (chunk > room) {
			s->line_overflow = true;
			memcpy(s->line + s->line_len, p, room);
			s->line_len += room;
		} else {
			memcpy(s->line + s->line_len, p, chunk);
			s->line_len += chunk;
		}
		if (!nl)
			break;
		{
			size_t l = s->line_len;

			if (l && s->line[l - 1] == '\r')
				l--;
			handle_line(s, s->line, l, s->line_overflow);
		}
		s->line_len = 0;
		s->line_overflow = false;
		p = nl + 1;
		len -= chunk + 1;
	}
}

void kt_com2_finish(struct kt_com2 *s)
{
	if (s->line_len || s->line_overflow) {
		size_t l = s->line_len;

		if (l && s->line[l - 1] == '\r')
			l--;
		handle_line(s, s->line, l, s->line_overflow);
	}
	s->line_len = 0;
	s->line_overflow = false;
	if (s->block == B_RESULT) {
		s->result_truncated = true;
		s->block = B_NONE;
	}
}

bool kt_com2_init_started(const struct kt_com2 *s)
{
	return s->init_started;
}

bool kt_com2_payload_starting(const struct kt_com2 *s)
{
	return s->payload_starting;
}

bool kt_com2_scheduler_died(const struct kt_com2 *s)
{
	return s->sched_died;
}

bool kt_com2_scheduler_not_attached(const struct kt_com2 *s)
{
	return s->sched_not_attached;
}

bool kt_com2_exit_code(const struct kt_com2 *s, int *code)
{
	if (s->have_exit && code)
		*code = s->exit_code;
	return s->have_exit;
}

bool kt_com2_exec_exit_code(const struct kt_com2 *s, int *code)
{
	if (s->have_exec_exit && code)
		*code = s->exec_exit_code;
	return s->have_exec_exit;
}

const char *kt_com2_test_result(const struct kt_com2 *s, size_t *len)
{
	if (!s->have_result)
		return NULL;
	if (len)
		*len = s->result.len;
	return s->result.s ? s->result.s : "";
}

bool kt_com2_test_result_truncated(const struct kt_com2 *s)
{
	return s->result_truncated || (s->block == B_RESULT && s->cur_truncated);
}

const char *kt_com2_sched_output(const struct kt_com2 *s, size_t *len)
{
	if (len)
		*len = s->sched.len;
	return s->sched.s ? s->sched.s : "";
}

bool kt_com2_sched_output_truncated(const struct kt_com2 *s)
{
	return s->sched_truncated;
}

const char *kt_com2_panic(const struct kt_com2 *s)
{
	return s->panic.len ? s->panic.s : NULL;
}

unsigned long long kt_com2_bytes(const struct kt_com2 *s)
{
	return s->bytes;
}
