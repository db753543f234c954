/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF maps of the scheduler under test, seen from the host (part of the
 * public test API, <ktstr.h>). The host finds a map in the guest kernel by
 * its name (walking the kernel's map_idr through guest memory, with
 * offsets from the kernel's BTF) and reads or writes its value by field
 * name (through the map's own BTF), with no agent in the guest.
 *
 * A host write mid-run (.bpf_map_write) flips a fault switch in a
 * scheduler. scx_qmap's .bss `test_error_cnt` makes its next enqueue call
 * scx_bpf_error("test triggering error"):
 *
 *   KTSTR_TEST(qmap_fault, .scheduler = &scx_qmap, .expect_err = true,
 *              .bpf_map_write = {.map = ".bss", .field = "test_error_cnt", .value = 1})
 *
 * The host waits until the guest's scenario has started (the guest holds
 * the scenario for up to 10 s until the write is done, then 500 ms more
 * so the scheduler acts on it), writes, and tells the guest. A write
 * that cannot be made (no such map or field) fails the test.
 *
 * Periodic captures and temporal assertions over them:
 *
 *   KTSTR_TEST(qmap_progress, .scheduler = &scx_qmap, .duration_s = 4,
 *              .num_snapshots = 4,
 *              .temporal = {KTSTR_NONDECREASING(".bss", "nr_dispatched"),
 *                           KTSTR_RATE_WITHIN(".bss", "nr_enqueued", 1, 1e9)})
 *
 * num_snapshots captures are taken at 0.1 d + (i + 1) * 0.8 d / (N + 1)
 * (d = duration_s, from the guest's scenario start; N <= 64, spaced
 * >= 100 ms), named periodic_000, periodic_001, ... Each reads the fields
 * the .temporal entries name; the host evaluates the patterns after the
 * run and merges their verdicts into the test's. Values are read while
 * the guest runs (not frozen): each field is read with one copy, so a
 * counter is consistent with itself, not with its neighbours.
 *
 * A field of an array map is read from element 0; "[N]" in front picks
 * element N ("[1]", "[1].member"), and "[N]" alone is the whole value,
 * which must then be an integer (a map declared with __uint(value_size,
 * 8) has no BTF: its value is read as an unsigned integer). In a
 * PERCPU_ARRAY map the value is the SUM over the guest's CPUs (the
 * sidecar says "aggregate": "sum over N CPUs"): scx_simple counts in a
 * per-CPU array, so its total of locally dispatched tasks is
 *
 *   KTSTR_NONDECREASING("stats", "[0]")
 *
 * Whole-map snapshots: .snapshot_maps = {"stats", ".bss"} names maps
 * (as above) that every periodic capture also copies whole, every
 * value decoded through the map's BTF into JSON (src/bpfmap/render.h):
 * ARRAY and PERCPU_ARRAY maps element by element (per CPU: one value per
 * CPU), HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH maps by a walk of
 * their buckets. Bounded: at most 256 entries per map, values of at most
 * 64 KiB, and a budget of rendered values per map and capture (1 M
 * shared by all captures and maps, between 256 and 16384 each); what is
 * left out is marked "truncated". They go into the sidecar's
 * bpf_maps.captures, and a failed test's failure dump holds the last
 * capture of each map in "maps" (or why there is none).
 *
 *   KTSTR_TEST(simple_stats, .scheduler = &scx_simple, .num_snapshots = 3,
 *              .snapshot_maps = {"stats"},
 *              .temporal = {KTSTR_NONDECREASING("stats", "[0]")})
 *
 * Verdicts: a pattern with too few usable samples to judge (fewer than
 * two, none after the warm-up, fewer than three before the deadline) is
 * Inconclusive, never a silent pass. A sample whose field could not be
 * read is skipped (and named in a note), never counted as zero.
 */
#ifndef KTSTR_PUBLIC_BPFMAP_H
#define KTSTR_PUBLIC_BPFMAP_H

#include <stddef.h>
#include <stdint.h>

#define KTSTR_MAX_SNAPSHOTS 64 /* .num_snapshots at most */
#define KTSTR_MAX_TEMPORAL 8   /* .temporal entries per test */
#define KTSTR_MAX_SNAPSHOT_MAPS 8 /* .snapshot_maps entries per test */

/*
 * A map is named by its full name or a suffix of it: ".bss" matches
 * "scx_qmap.bss" (libbpf names a program's global-data maps
 * "<object prefix>.bss", ".data", ".rodata"). More than one match is an
 * error. A field is a variable of a global-data map, or a member of the
 * map's value type; "a.b" walks into nested structs.
 */
struct ktstr_bpf_map_write {
	const char *map;   /* NULL: no write */
	const char *field; /* by the map's BTF; NULL: use .offset */
	size_t offset;     /* byte offset into the value of element 0 (no .field) */
	uint64_t value;
	unsigned size;     /* bytes: 1, 2, 4 or 8; 0 = the field's size (4 with .offset) */
};

enum ktstr_temporal_kind {
	KTSTR_TEMPORAL_NONE,
	KTSTR_TEMPORAL_NONDECREASING,	   /* v[i] <= v[i+1] */
	KTSTR_TEMPORAL_STRICTLY_INCREASING, /* v[i] < v[i+1] */
	KTSTR_TEMPORAL_RATE_WITHIN,	   /* lo <= dv/dt (per second) <= hi, each interval */
	KTSTR_TEMPORAL_STEADY_WITHIN,	   /* after warmup_ms, each v within mean*(1 +- tol) */
	KTSTR_TEMPORAL_CONVERGES_TO,	   /* 3 consecutive v in target +- tol by deadline_ms */
};

struct ktstr_temporal {
	enum ktstr_temporal_kind kind;
	const char *map;   /* as in struct ktstr_bpf_map_write */
	const char *field; /* an integer field (signed or unsigned, up to 64 bits) */
	double lo, hi;	   /* RATE_WITHIN, per second */
	double tol;	   /* STEADY_WITHIN: relative (0.1 = 10 %); CONVERGES_TO: absolute */
	double target;	   /* CONVERGES_TO */
	unsigned warmup_ms;   /* STEADY_WITHIN: samples before this are not judged */
	unsigned deadline_ms; /* CONVERGES_TO: 0 = until the last sample */
};

#define KTSTR_NONDECREASING(m, f)                                                                \
	{ .kind = KTSTR_TEMPORAL_NONDECREASING, .map = (m), .field = (f) }
#define KTSTR_STRICTLY_INCREASING(m, f)                                                          \
	{ .kind = KTSTR_TEMPORAL_STRICTLY_INCREASING, .map = (m), .field = (f) }
#define KTSTR_RATE_WITHIN(m, f, lo_, hi_)                                                        \
	{ .kind = KTSTR_TEMPORAL_RATE_WITHIN, .map = (m), .field = (f), .lo = (lo_), .hi = (hi_) }
#define KTSTR_STEADY_WITHIN(m, f, warmup, tol_)                                                  \
	{                                                                                        \
		.kind = KTSTR_TEMPORAL_STEADY_WITHIN, .map = (m), .field = (f),                  \
		.warmup_ms = (warmup), .tol = (tol_)                                             \
	}
#define KTSTR_CONVERGES_TO(m, f, target_, tol_, deadline)                                        \
	{                                                                                        \
		.kind = KTSTR_TEMPORAL_CONVERGES_TO, .map = (m), .field = (f),                   \
		.target = (target_), .tol = (tol_), .deadline_ms = (deadline)                    \
	}

#endif
