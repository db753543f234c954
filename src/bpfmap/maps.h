/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest kernel's BPF maps, read from the host through the guest
 * kernel reader (src/monitor/guestkern.h): the map_idr walk, a map by
 * name, the map's own BTF, and a field's place in an array map's value.
 *
 * map_idr is an IDR, i.e. an xarray of struct bpf_map pointers: the walk
 * follows xa_head through xa_node slots (XA_CHUNK_SIZE from the BTF size
 * of xa_node.slots), skipping value and internal entries other than
 * nodes, bounded in depth and node count. Every offset comes from the
 * vmlinux BTF (bpf_map, bpf_array.value, btf.data/data_size/base_btf,
 * idr, xa_node). Array values: element 0 of a BPF_MAP_TYPE_ARRAY at
 * bpf_array.value (global-data maps are mmapable arrays in vmalloc
 * memory, reached by the reader's page walk).
 *
 * Everything read is untrusted: counts are capped, a garbage pointer is an
 * error ("no data"), never a crash.
 */
#ifndef KTSTR_BPFMAP_MAPS_H
#define KTSTR_BPFMAP_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor/guestkern.h"

#define KT_BPF_MAP_TYPE_HASH 1
#define KT_BPF_MAP_TYPE_ARRAY 2
#define KT_BPF_MAP_TYPE_PERCPU_HASH 5
#define KT_BPF_MAP_TYPE_PERCPU_ARRAY 6
#define KT_BPF_MAP_TYPE_LRU_HASH 9
#define KT_BPF_MAP_TYPE_LRU_PERCPU_HASH 10
#define KT_BPF_MAPS_MAX 4096     /* maps read from map_idr at most */
#define KT_BPF_BTF_MAX (16u << 20) /* the kernel's BTF_MAX_SIZE */

struct kt_bpf_layout {
	uint64_t map_idr; /* link-time address of map_idr (not slid) */
	uint32_t idr_head;
	uint32_t xa_shift, xa_slots, xa_chunk;
	uint32_t m_type, m_key_size, m_value_size, m_max_entries, m_flags, m_btf, m_vtid, m_ktid;
	uint32_t m_name, name_len;
	uint32_t arr_map, arr_value;
	uint32_t btf_data, btf_data_size, btf_base;
	/* hash maps (kernel/bpf/hashtab.c); has_htab false when the BTF lacks them */
	bool has_htab;
	uint32_t htab_map, htab_buckets, htab_n_buckets;
	uint32_t bucket_size, bucket_first; /* struct bucket, its head.first */
	uint32_t node_next;		    /* hlist_nulls_node.next */
	uint32_t elem_node, elem_key;	    /* htab_elem.hash_node, .key */
};

/* Offsets from the vmlinux BTF. -ENOENT with *why when a type or member is missing. */
int kt_bpf_layout_init(const struct kt_gk *gk, struct kt_bpf_layout *l, char **why);

struct kt_bpf_map {
	uint64_t kva; /* struct bpf_map * */
	char name[17];
	uint32_t type, key_size, value_size, max_entries, flags;
	uint64_t btf;	    /* struct btf * (0: none) */
	uint32_t value_tid; /* btf_value_type_id */
	uint32_t key_tid;   /* btf_key_type_id */
};

/*
 * Every map in map_idr, at most max (*n: how many). -EFAULT with *why when
 * map_idr cannot be read; a map that cannot be read is left out.
 */
int kt_bpf_maps_list(const struct kt_gk *gk, const struct kt_gk_mem *m,
		     const struct kt_bpf_layout *l, struct kt_bpf_map *out, size_t max, size_t *n,
		     char **why);
/*
 * The map named `name`, else the one map whose name ends in it. -ENOENT
 * (none; *why lists the maps there are) or -EEXIST (several; *why lists
 * them).
 */
int kt_bpf_map_find(const struct kt_gk *gk, const struct kt_gk_mem *m,
		    const struct kt_bpf_layout *l, const char *name, struct kt_bpf_map *out,
		    char **why);

/* The same choice among maps already listed (v[0..n)). */
int kt_bpf_map_pick(const struct kt_bpf_map *v, size_t n, const char *name,
		    struct kt_bpf_map *out, char **why);

struct btf;
/* The map's BTF, read out of the guest and parsed by libbpf (btf__free it). */
int kt_bpf_map_btf(const struct kt_gk *gk, const struct kt_gk_mem *m,
		   const struct kt_bpf_layout *l, const struct kt_bpf_map *map, struct btf **out,
		   char **why);

struct kt_bpf_field {
	uint32_t off, size; /* within the value */
	bool is_int;	    /* an integer (or enum / bool / char) of 1, 2, 4 or 8 bytes */
	bool is_signed;
};

/*
 * Field `path` of the value type value_tid in btf: a variable of a global
 * data section (".bss" DATASEC), then members ("a.b"); or members of a
 * struct value; "" is the whole value. -ENOENT with *why (naming the fields there are).
 */
int kt_bpf_value_field(const struct btf *btf, uint32_t value_tid, const char *path,
		       struct kt_bpf_field *f, char **why);

/* KVA of element 0's value of an array map; -EINVAL for another map type. */
int kt_bpf_array_value(const struct kt_bpf_layout *l, const struct kt_bpf_map *map,
		       uint64_t *kva, char **why);

/* ---- whole-map snapshots (snap.c) ------------------------------------------- */

#define KT_SNAP_MAX_ENTRIES 256	    /* entries shown per map */
#define KT_SNAP_MAX_BUCKETS 65536   /* hash buckets scanned per map */
#define KT_SNAP_MAX_CHAIN 64	    /* elements followed per hash bucket */
#define KT_SNAP_MAX_VALUE (64u << 10) /* bytes of a value (or key) rendered */
#define KT_SNAP_MAX_CPUS 256

/* The guest's CPUs for per-CPU values: nr_cpu_ids and __per_cpu_offset[]. */
struct kt_bpf_cpus {
	unsigned n;
	uint64_t off[KT_SNAP_MAX_CPUS];
};

/* -EAGAIN (per-CPU areas not set up yet) or -EFAULT with *why. */
int kt_bpf_cpus_read(const struct kt_gk *gk, const struct kt_gk_mem *m, struct kt_bpf_cpus *c,
		     char **why);

/* "array", "percpu_array", "hash", ... or NULL for a type not snapshotted. */
const char *kt_bpf_map_type_name(uint32_t type);
bool kt_bpf_map_is_percpu(uint32_t type);

/*
 * KVA of element idx's value of an ARRAY or PERCPU_ARRAY map; for the
 * per-CPU one the per-CPU pointer (add __per_cpu_offset[cpu]), read from
 * the guest. -EINVAL (another type, idx out of range) or -EFAULT with *why.
 */
int kt_bpf_array_elem(const struct kt_gk *gk, const struct kt_gk_mem *m,
		      const struct kt_bpf_layout *l, const struct kt_bpf_map *map, uint32_t idx,
		      uint64_t *kva, char **why);

/*
 * The whole map as JSON (src/bpfmap/render.h for values), read while the
 * guest runs:
 *  {"name", "map_type": "percpu_array", "type": 6, "key_size",
 *   "value_size", "max_entries", "key_type"?, "value_type"?,
 *   "entries": [{"key": k, "value": v} | {"key": k, "per_cpu": [v, ...]}],
 *   "truncated"?: true, "error"?: why}
 * ARRAY and PERCPU_ARRAY: every element (key = index), HASH,
 * PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH: a walk of the buckets; at most
 * KT_SNAP_MAX_ENTRIES entries and `leaves` rendered values. cpus may be
 * NULL (then per-CPU maps give an error). Never fails: what could not be
 * read is an "error" or a null.
 */
struct json_t;
struct json_t *kt_bpf_map_snapshot(const struct kt_gk *gk, const struct kt_gk_mem *m,
				   const struct kt_bpf_layout *l, const struct kt_bpf_map *map,
				   const struct kt_bpf_cpus *cpus, size_t leaves);

/*
 * The integer field f at kva; with cpus, the sum of its per-CPU copies at
 * kva + cpus->off[c]. NULL, or why it cannot be read.
 */
const char *kt_bpf_field_read(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva,
			      const struct kt_bpf_field *f, const struct kt_bpf_cpus *cpus,
			      long double *v);

/* An integer of size 1/2/4/8 from little-endian bytes, as long double. */
long double kt_bpf_int_value(const void *bytes, uint32_t size, bool is_signed);

#endif
