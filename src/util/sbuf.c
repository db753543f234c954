// SPDX-License-Identifier: GPL-2.0
/* Growable strings and small string helpers. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void oom(void)
{
	fputs("ktstr: error: out of memory\n", stderr);
	abort();
}

void *kt_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *kt_calloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		oom();
	return p;
}

void *kt_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *kt_strdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		oom();
	return d;
}

char *kt_asprintf(const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sb_steal(&sb);
}

void kt_set_err(char **err, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	*err = sb_steal(&sb);
}

void sb_init(struct sbuf *sb)
{
	sb->s = NULL;
	sb->len = sb->cap = 0;
}

void sb_free(struct sbuf *sb)
{
	free(sb->s);
	sb_init(sb);
}

static void sb_grow(struct sbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return;
	if (need < sb->len) /* overflow */
		oom();
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	sb->s = kt_realloc(sb->s, cap);
	sb->cap = cap;
}

int sb_add(struct sbuf *sb, const void *data, size_t len)
{
	sb_grow(sb, len);
	if (len)
		memcpy(sb->s + sb->len, data, len);
	sb->len += len;
	sb->s[sb->len] = 0;
	return 0;
}

int sb_adds(struct sbuf *sb, const char *s)
{
	return sb_add(sb, s, strlen(s));
}

int sb_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	sb_grow(sb, (size_t)n);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sb_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = sb_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

const char *sb_str(struct sbuf *sb)
{
	if (!sb->s)
		sb_grow(sb, 0), sb->s[0] = 0;
	return sb->s;
}

char *sb_steal(struct sbuf *sb)
{
	char *s;

	sb_str(sb);
	s = sb->s;
	sb_init(sb);
	return s;
}

char *kt_trim(char *s)
{
	size_t n;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

bool kt_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool kt_endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int kt_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*s)) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		s++;
	}
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*out = v;
	return 0;
}

int kt_parse_i64(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v;
	int r;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	r = kt_parse_u64(s, &v);
	if (r)
		return r;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}
