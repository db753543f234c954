/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A BPF map's value (or key) bytes as JSON through the map's own BTF
 * (pure: no guest memory, fuzzed with garbage BTF and bytes).
 *
 *  - integers: JSON integers (signed or unsigned as the BTF says; an
 *    unsigned value above INT64_MAX as a decimal string; 16-byte ints as
 *    hex), bool as true/false, bitfields extracted;
 *  - char arrays: a string up to the first NUL (non-ASCII bytes as '?');
 *  - enums: the enumerator's name, else the number;
 *  - pointers: "0x..." hex strings;
 *  - floats: numbers (non-finite ones as strings);
 *  - structs: objects in member order; an anonymous struct member's
 *    members are merged into its parent (as C reads them);
 *  - unions: {"__raw": hex of the union's bytes, <first member>: value}
 *    (an anonymous union member merges its first member only);
 *  - arrays: JSON arrays of at most KT_RENDER_MAX_ELEMS elements, then one
 *    "... (N more)" string;
 *  - global-data sections (DATASEC): an object of their variables;
 *  - anything else, or a type the BTF cannot resolve: a hex string.
 *
 * Bounded: nesting depth KT_RENDER_MAX_DEPTH, and a budget of rendered
 * leaves per call sequence; what lies beyond the bytes given, the depth
 * or the budget is null and sets ->truncated.
 */
#ifndef KTSTR_BPFMAP_RENDER_H
#define KTSTR_BPFMAP_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KT_RENDER_MAX_DEPTH 16
#define KT_RENDER_MAX_ELEMS 64
#define KT_RENDER_MAX_HEX 64 /* bytes shown in a hex string */

struct btf;

struct kt_render {
	const struct btf *btf; /* NULL: every value is raw (see kt_render_raw) */
	size_t leaves;	       /* budget left */
	bool truncated;	       /* something was left out */
};

/* Type id `id` over len bytes at p. */
json_t *kt_render_type(struct kt_render *r, uint32_t id, const uint8_t *p, size_t len);
/*
 * Bytes with no BTF type: an unsigned integer when len is 1, 2, 4 or 8,
 * else a hex string.
 */
json_t *kt_render_raw(struct kt_render *r, const uint8_t *p, size_t len);
/* "0x" and up to KT_RENDER_MAX_HEX bytes as hex ("..." after when cut). */
json_t *kt_render_hex(const uint8_t *p, size_t len);
/* Name of a type id ("struct cpu_ctx", "u64", "<anon struct>"), NULL when absent. */
char *kt_render_type_name(const struct btf *btf, uint32_t id);

#endif
