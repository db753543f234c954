/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU sets: a fixed-size bitmap of CPU numbers (also used as a set of NUMA
 * node numbers), with the kernel's cpulist text format ("0-3,5,8-9").
 * Part of the public test API (<ktstr.h>).
 */
#ifndef KTSTR_PUBLIC_CPUSET_H
#define KTSTR_PUBLIC_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_MAX_CPUS 1024

struct kt_cpuset {
	uint64_t bits[KT_MAX_CPUS / 64];
};

void kt_cpuset_zero(struct kt_cpuset *s);
void kt_cpuset_set(struct kt_cpuset *s, int cpu);
void kt_cpuset_clear(struct kt_cpuset *s, int cpu);
bool kt_cpuset_has(const struct kt_cpuset *s, int cpu);
int kt_cpuset_count(const struct kt_cpuset *s);
bool kt_cpuset_empty(const struct kt_cpuset *s);
bool kt_cpuset_equal(const struct kt_cpuset *a, const struct kt_cpuset *b);
bool kt_cpuset_subset(const struct kt_cpuset *a, const struct kt_cpuset *b); /* a ⊆ b */
void kt_cpuset_and(struct kt_cpuset *dst, const struct kt_cpuset *a, const struct kt_cpuset *b);
void kt_cpuset_or(struct kt_cpuset *dst, const struct kt_cpuset *a, const struct kt_cpuset *b);
/* Lowest / next set CPU, -1 when none. */
int kt_cpuset_first(const struct kt_cpuset *s);
int kt_cpuset_next(const struct kt_cpuset *s, int after);
#define kt_cpuset_for_each(cpu, s)                                                               \
	for ((cpu) = kt_cpuset_first(s); (cpu) >= 0; (cpu) = kt_cpuset_next(s, cpu))
/* Parse "0-3,5,8-9" (kernel cpulist format; whitespace/newline tolerated; "" = empty). */
int kt_cpuset_parse(const char *str, struct kt_cpuset *out);
/* Format as a cpulist ("0-3,5"); empty set gives "". */
void kt_cpuset_format(const struct kt_cpuset *s, char *buf, size_t len);

#endif
