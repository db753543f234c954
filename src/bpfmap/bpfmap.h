/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BPF maps of the guest, from the host (<ktstr/bpfmap.h> is what a test
 * declares): the declaration checks, the periodic capture schedule, and
 * the host side of a test run (periodic captures, .bpf_map_write) driven
 * from the VM engine's tick.
 *
 * The handshake for .bpf_map_write (SHM control bytes, src/proto/proto.h):
 *  guest: scheduler attached -> KT_PROTO_CTRL_TO_HOST = PROBES_READY, wait
 *         up to KT_BPFMAP_GUEST_WAIT_MS for KT_PROTO_CTRL_TO_GUEST to be
 *         MAP_WRITES_DONE or MAP_WRITE_FAILED, then (done) sleep
 *         KT_BPFMAP_SETTLE_MS so the scheduler acts on it; then the body;
 *  host:  once it sees PROBES_READY, finds the map and field and writes
 *         (retrying each tick while the map does not exist yet), then sets
 *         MAP_WRITES_DONE; when it cannot, MAP_WRITE_FAILED, and the test
 *         fails with why.
 */
#ifndef KTSTR_BPFMAP_BPFMAP_H
#define KTSTR_BPFMAP_BPFMAP_H

#include <stdbool.h>
#include <stdint.h>

#include <ktstr/bpfmap.h>
#include <ktstr/check.h>
#include <ktstr/test.h>

#define KT_BPFMAP_GUEST_WAIT_MS 10000
#define KT_BPFMAP_SETTLE_MS 500
#define KT_BPFMAP_MIN_SPACING_MS 100

/*
 * Check a test's .num_snapshots, .temporal and .bpf_map_write against its
 * (resolved) duration. 0, or -EINVAL with *why (malloc'd), e.g.
 * "num_snapshots 9 over 1 s puts captures 80 ms apart (at least 100 ms)".
 */
int kt_bpfmap_validate(const struct ktstr_test *t, int duration_s, char **why);

/*
 * A .temporal field: "[N]" or "[N].path" picks element N (*sub: "" or
 * "path"), anything else is element 0's path. -EINVAL when malformed.
 */
int kt_bpfmap_field_path(const char *path, uint32_t *idx, const char **sub);

/*
 * When capture i of n happens, in ms after the scenario start, for a
 * workload of duration_s: 0.1 d + (i + 1) * 0.8 d / (n + 1).
 */
uint64_t kt_bpfmap_boundary_ms(int duration_s, unsigned n, unsigned i);

/* ---- guest side --------------------------------------------------------------- */

struct kt_shm_guest;
/*
 * The handshake above, from the guest (ring NULL: no SHM ring, an error).
 * 0 when the host wrote (after the settle time); else *why (malloc'd).
 */
int kt_bpfmap_guest_wait(struct kt_shm_guest *ring, char **why);

/* ---- host side of a run ----------------------------------------------------- */

struct kt_bpfmap;
struct kt_vm_guest;

/* True when the test asks for anything here (captures or a write). */
bool kt_bpfmap_wanted(const struct ktstr_test *t);
/* Seconds the guest may spend in the write handshake (0 without a write). */
unsigned kt_bpfmap_extra_s(const struct ktstr_test *t);
/*
 * State for one run of t against the kernel whose vmlinux is given (NULL
 * when the test wants nothing). Problems found here (no vmlinux, no BTF)
 * are kept and reported by kt_bpfmap_finish.
 */
struct kt_bpfmap *kt_bpfmap_new(const struct ktstr_test *t, int duration_s, const char *vmlinux);
void kt_bpfmap_free(struct kt_bpfmap *b);
/* The guest's scenario started (its SCENARIO_START message arrived). */
void kt_bpfmap_scenario_start(struct kt_bpfmap *b);
/* One VM engine tick: captures that are due, the write handshake. */
void kt_bpfmap_tick(struct kt_bpfmap *b, struct kt_vm_guest *g);
/*
 * After the run: the temporal verdicts and a failed write go into *r
 * (the guest's result).
 */
void kt_bpfmap_finish(struct kt_bpfmap *b, struct kt_assert_result *r);
/*
 * The sidecar's "bpf_maps" object: {"write": {map, field, value, done,
 * note}, "periodic_target", "periodic_fired", "fields": [{map, map_name,
 * field, aggregate?, samples: [{tag, elapsed_ms, value | error}]}],
 * "snapshot_maps": [names], "captures": [{tag, elapsed_ms, maps:
 * [{map, ...kt_bpf_map_snapshot (maps.h), read_us (host time it took)} |
 * {map, error}]}]}.
 */
struct json_t;
struct json_t *kt_bpfmap_to_json(const struct kt_bpfmap *b);
/*
 * The failure dump's "maps" from a sidecar's bpf_maps object (NULL: none):
 * for each map in snapshot_maps, its last capture that read it (with
 * "tag" and "elapsed_ms" added), else {map, error: why there is none}.
 * A new array; [] when no maps were chosen.
 */
struct json_t *kt_bpfmap_last_maps(const struct json_t *bpf_maps);

#endif
