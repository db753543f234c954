// SPDX-License-Identifier: GPL-2.0
/* The VM engine's COM2 line reader (host side, pure, bounded). See com2.h. */
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "vm/com2.h"

#define M_INIT "KTSTR_INIT_STARTED"
#define M_EXIT "KTSTR_EXIT="
#define M_EXEC_EXIT "KTSTR_EXEC_EXIT="

struct kt_com2 {
	char *line;
	size_t line_len;
	bool line_overflow;
	unsigned long long bytes;

	bool init_started;
	bool have_exit, have_exec_exit;
	int exit_code, exec_exit_code;

	kt_com2_line_fn cb;
	void *ctx;
};

struct kt_com2 *kt_com2_new(void)
{
	struct kt_com2 *s = kt_calloc(1, sizeof(*s));

	s->line = kt_malloc(KT_COM2_LINE_MAX);
	return s;
}

void kt_com2_free(struct kt_com2 *s)
{
	if (!s)
		return;
	free(s->line);
	free(s);
}

void kt_com2_set_line_cb(struct kt_com2 *s, kt_com2_line_fn cb, void *ctx)
{
	s->cb = cb;
	s->ctx = ctx;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
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

static void handle_line(struct kt_com2 *s, const char *raw, size_t raw_len, bool overflow)
{
	const char *p = raw;
	size_t n = raw_len;
	bool lifecycle = false;
	int v;

	/* Trimmed view for marker matching. */
	while (n && is_space(p[n - 1]))
		n--;
	while (n && is_space(*p)) {
		p++;
		n--;
	}
	if (take_int(p, n, M_EXEC_EXIT, &v)) {
		lifecycle = true;
		s->have_exec_exit = true;
		s->exec_exit_code = v;
	} else if (take_int(p, n, M_EXIT, &v)) {
		lifecycle = true;
		s->have_exit = true;
		s->exit_code = v;
	} else if (memmem(p, n, M_INIT, strlen(M_INIT))) {
		lifecycle = s->init_started = true;
	}
	if (s->cb)
		s->cb(s->ctx, raw, raw_len, overflow, lifecycle);
}

/* The pending line is complete: hand it on (without a trailing CR) and start the next. */
static void end_line(struct kt_com2 *s)
{
	size_t l = s->line_len;

	if (l && s->line[l - 1] == '\r')
		l--;
	handle_line(s, s->line, l, s->line_overflow);
	s->line_len = 0;
	s->line_overflow = false;
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
		end_line(s);
		p = nl + 1;
		len -= chunk + 1;
	}
}

void kt_com2_finish(struct kt_com2 *s)
{
	if (s->line_len || s->line_overflow)
		end_line(s);
}

bool kt_com2_init_started(const struct kt_com2 *s)
{
	return s->init_started;
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

unsigned long long kt_com2_bytes(const struct kt_com2 *s)
{
	return s->bytes;
}
