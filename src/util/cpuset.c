// SPDX-License-Identifier: GPL-2.0
/* Fixed-size CPU sets and the kernel's cpulist text format. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void kt_cpuset_zero(struct kt_cpuset *s)
{
	memset(s, 0, sizeof(*s));
}

void kt_cpuset_set(struct kt_cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < KT_MAX_CPUS)
		s->bits[cpu / 64] |= 1ull << (cpu % 64);
}

void kt_cpuset_clear(struct kt_cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < KT_MAX_CPUS)
		s->bits[cpu / 64] &= ~(1ull << (cpu % 64));
}

bool kt_cpuset_has(const struct kt_cpuset *s, int cpu)
{
	return cpu >= 0 && cpu < KT_MAX_CPUS && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int kt_cpuset_count(const struct kt_cpuset *s)
{
	int n = 0;

	for (size_t i = 0; i < KT_ARRAY_SIZE(s->bits); i++)
		n += __builtin_popcountll(s->bits[i]);
	return n;
}

bool kt_cpuset_empty(const struct kt_cpuset *s)
{
	return kt_cpuset_first(s) < 0;
}

bool kt_cpuset_equal(const struct kt_cpuset *a, const struct kt_cpuset *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

bool kt_cpuset_subset(const struct kt_cpuset *a, const struct kt_cpuset *b)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(a->bits); i++)
		if (a->bits[i] & ~b->bits[i])
			return false;
	return true;
}

void kt_cpuset_and(struct kt_cpuset *d, const struct kt_cpuset *a, const struct kt_cpuset *b)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(d->bits); i++)
		d->bits[i] = a->bits[i] & b->bits[i];
}

void kt_cpuset_or(struct kt_cpuset *d, const struct kt_cpuset *a, const struct kt_cpuset *b)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(d->bits); i++)
		d->bits[i] = a->bits[i] | b->bits[i];
}

int kt_cpuset_next(const struct kt_cpuset *s, int after)
{
	int cpu = after + 1;

	if (cpu < 0)
		cpu = 0;
	while (cpu < KT_MAX_CPUS) {
		uint64_t w = s->bits[cpu / 64] >> (cpu % 64);

		if (w)
			return cpu + __builtin_ctzll(w);
		cpu = (cpu / 64 + 1) * 64;
	}
	return -1;
}

int kt_cpuset_first(const struct kt_cpuset *s)
{
	return kt_cpuset_next(s, -1);
}

static int parse_num(const char **p, int *out)
{
	long v = 0;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		if (v >= KT_MAX_CPUS)
			return -ERANGE;
		(*p)++;
	}
	*out = (int)v;
	return 0;
}

int kt_cpuset_parse(const char *str, struct kt_cpuset *out)
{
	const char *p = str;

	kt_cpuset_zero(out);
	while (isspace((unsigned char)*p))
		p++;
	while (*p && !isspace((unsigned char)*p)) {
		int a, b;

		int r = parse_num(&p, &a);

		if (r)
			return r;
		b = a;
		if (*p == '-') {
			p++;
			r = parse_num(&p, &b);
			if (r)
				return r;
			if (b < a)
				return -EINVAL;
		}
		for (int c = a; c <= b; c++)
			kt_cpuset_set(out, c);
		if (*p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
		} else if (*p && !isspace((unsigned char)*p)) {
			return -EINVAL;
		}
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p ? -EINVAL : 0;
}

void kt_cpuset_format(const struct kt_cpuset *s, char *buf, size_t len)
{
	size_t off = 0;
	int cpu = kt_cpuset_first(s);

	if (len)
		buf[0] = 0;
	while (cpu >= 0) {
		int end = cpu, n;

		while (kt_cpuset_has(s, end + 1))
			end++;
		if (end == cpu)
			n = snprintf(buf + off, len > off ? len - off : 0, "%s%d", off ? "," : "", cpu);
		else
			n = snprintf(buf + off, len > off ? len - off : 0, "%s%d-%d", off ? "," : "",
				     cpu, end);
		if (n < 0 || off + (size_t)n >= len)
			return;
		off += (size_t)n;
		cpu = kt_cpuset_next(s, end);
	}
}
