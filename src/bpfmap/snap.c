// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-map snapshots from guest memory (maps.h): array elements at
 * bpf_array.value + idx * round_up(value_size, 8) (kernel/bpf/arraymap.c),
 * per-CPU array elements through bpf_array.pptrs[idx] + __per_cpu_offset,
 * hash maps by a walk of bpf_htab.buckets: each bucket's hlist_nulls chain
 * (a "nulls" end marker has bit 0 set) of struct htab_elem, the key at
 * htab_elem.key and the value (or, per-CPU, the per-CPU pointer) after it
 * at round_up(key_size, 8) (kernel/bpf/hashtab.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <jansson.h>

#include "bpfmap/maps.h"
#include "bpfmap/render.h"
#include "util/util.h"

#define ROUND8(x) (((uint64_t)(x) + 7) & ~7ull)
#define BUCKET_CHUNK 256 /* buckets read at once */

int kt_bpf_cpus_read(const struct kt_gk *gk, const struct kt_gk_mem *m, struct kt_bpf_cpus *c,
		     char **why)
{
	uint32_t n = 0;
	int r;

	c->n = 0;
	if (kt_gk_read_sym(gk, m, "nr_cpu_ids", &n, sizeof(n))) {
		*why = kt_strdup("nr_cpu_ids cannot be read");
		return -EFAULT;
	}
	if (n < 1 || n > KT_SNAP_MAX_CPUS) {
		*why = kt_asprintf("implausible nr_cpu_ids %u", n);
		return -EFAULT;
	}
	r = kt_gk_percpu_offsets(gk, m, n, c->off);
	if (r) {
		*why = kt_strdup(r == -EAGAIN ? "per-CPU areas not set up yet"
					      : "__per_cpu_offset cannot be read");
		return r;
	}
	c->n = n;
	return 0;
}

const char *kt_bpf_map_type_name(uint32_t type)
{
	switch (type) {
	case KT_BPF_MAP_TYPE_HASH:
		return "hash";
	case KT_BPF_MAP_TYPE_ARRAY:
		return "array";
	case KT_BPF_MAP_TYPE_PERCPU_HASH:
		return "percpu_hash";
	case KT_BPF_MAP_TYPE_PERCPU_ARRAY:
		return "percpu_array";
	case KT_BPF_MAP_TYPE_LRU_HASH:
		return "lru_hash";
	case KT_BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return "lru_percpu_hash";
	default:
		return NULL;
	}
}

bool kt_bpf_map_is_percpu(uint32_t type)
{
	return type == KT_BPF_MAP_TYPE_PERCPU_ARRAY || type == KT_BPF_MAP_TYPE_PERCPU_HASH ||
	       type == KT_BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_hash(uint32_t type)
{
	return type == KT_BPF_MAP_TYPE_HASH || type == KT_BPF_MAP_TYPE_PERCPU_HASH ||
	       type == KT_BPF_MAP_TYPE_LRU_HASH || type == KT_BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

int kt_bpf_array_elem(const struct kt_gk *gk, const struct kt_gk_mem *m,
		      const struct kt_bpf_layout *l, const struct kt_bpf_map *map, uint32_t idx,
		      uint64_t *kva, char **why)
{
	uint64_t base = map->kva - l->arr_map + l->arr_value;

	if (map->type != KT_BPF_MAP_TYPE_ARRAY && map->type != KT_BPF_MAP_TYPE_PERCPU_ARRAY) {
		*why = kt_asprintf("BPF map %s is of type %u, not an array", map->name, map->type);
		return -EINVAL;
	}
	if (idx >= map->max_entries || !map->value_size) {
		*why = kt_asprintf("BPF map %s has no element %u (max_entries %u)", map->name, idx,
				   map->max_entries);
		return -EINVAL;
	}
	if (map->type == KT_BPF_MAP_TYPE_ARRAY) {
		*kva = base + (uint64_t)idx * ROUND8(map->value_size);
		return 0;
	}
	if (kt_gk_read_u64(gk, m, base + 8ull * idx, kva)) {
		*why = kt_asprintf("BPF map %s: the per-CPU pointer of element %u cannot be read",
				   map->name, idx);
		return -EFAULT;
	}
	return 0;
}

const char *kt_bpf_field_read(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva,
			      const struct kt_bpf_field *f, const struct kt_bpf_cpus *cpus,
			      long double *v)
{
	uint8_t bytes[8];

	*v = 0;
	if (f->size > sizeof(bytes))
		return "not an integer of 1, 2, 4 or 8 bytes";
	if (!cpus) {
		if (kt_gk_read(gk, m, kva, bytes, f->size))
			return "the map's value cannot be read";
		*v = kt_bpf_int_value(bytes, f->size, f->is_signed);
		return NULL;
	}
	for (unsigned c = 0; c < cpus->n; c++) {
		if (kt_gk_read(gk, m, kva + cpus->off[c], bytes, f->size)) {
			*v = 0;
			return "the map's per-CPU value cannot be read";
		}
		*v += kt_bpf_int_value(bytes, f->size, f->is_signed);
	}
	return NULL;
}

struct snap {
	const struct kt_gk *gk;
	const struct kt_gk_mem *m;
	const struct kt_bpf_map *map;
	const struct kt_bpf_cpus *cpus;
	struct kt_render r;
	uint8_t *buf; /* KT_SNAP_MAX_VALUE bytes */
	uint32_t vlen, klen;
	json_t *entries;
	bool unreadable; /* some value could not be read */
};

/* The value at kva (or per CPU at kva + off[cpu]) into e as "value" / "per_cpu". */
static void put_value(struct snap *s, json_t *e, uint64_t kva)
{
	uint32_t tid = s->map->value_tid;

	if (!kt_bpf_map_is_percpu(s->map->type)) {
		if (kt_gk_read(s->gk, s->m, kva, s->buf, s->vlen)) {
			s->unreadable = true;
			json_object_set_new(e, "value", json_null());
		} else {
			json_object_set_new(e, "value",
					    kt_render_type(&s->r, tid, s->buf, s->vlen));
		}
		return;
	}
	{
		json_t *pc = json_array();

		for (unsigned c = 0; c < s->cpus->n; c++) {
			if (kt_gk_read(s->gk, s->m, kva + s->cpus->off[c], s->buf, s->vlen)) {
				s->unreadable = true;
				json_array_append_new(pc, json_null());
			} else {
				json_array_append_new(pc,
						      kt_render_type(&s->r, tid, s->buf, s->vlen));
			}
		}
		json_object_set_new(e, "per_cpu", pc);
	}
}

static bool full(struct snap *s)
{
	if (json_array_size(s->entries) >= KT_SNAP_MAX_ENTRIES || !s->r.leaves) {
		s->r.truncated = true;
		return true;
	}
	return false;
}

static void snap_array(struct snap *s, const struct kt_bpf_layout *l)
{
	for (uint32_t i = 0; i < s->map->max_entries && !full(s); i++) {
		uint64_t kva;
		char *why = NULL;
		json_t *e;

		if (kt_bpf_array_elem(s->gk, s->m, l, s->map, i, &kva, &why)) {
			free(why);
			s->unreadable = true;
			continue;
		}
		e = json_pack("{s:I}", "key", (json_int_t)i);
		put_value(s, e, kva);
		json_array_append_new(s->entries, e);
	}
}

static int snap_hash(struct snap *s, const struct kt_bpf_layout *l, char **why)
{
	uint64_t htab = s->map->kva - l->htab_map, buckets;
	uint32_t nb = 0, ks = s->map->key_size;
	uint8_t *chunk;

	if (!l->has_htab) {
		*why = kt_strdup("the kernel's BTF has no bpf_htab layout");
		return -ENOENT;
	}
	if (!ks || ks > KT_SNAP_MAX_VALUE) {
		*why = kt_asprintf("implausible key size %u", ks);
		return -EFAULT;
	}
	if (kt_gk_read_u64(s->gk, s->m, htab + l->htab_buckets, &buckets) ||
	    kt_gk_read(s->gk, s->m, htab + l->htab_n_buckets, &nb, sizeof(nb))) {
		*why = kt_strdup("its bucket array cannot be read");
		return -EFAULT;
	}
	if (!buckets || !nb) {
		*why = kt_asprintf("no bucket array (buckets 0x%llx, n_buckets %u)",
				   (unsigned long long)buckets, nb);
		return -EFAULT;
	}
	if (nb > KT_SNAP_MAX_BUCKETS) {
		s->r.truncated = true;
		nb = KT_SNAP_MAX_BUCKETS;
	}
	chunk = kt_malloc((size_t)BUCKET_CHUNK * l->bucket_size);
	for (uint32_t b0 = 0; b0 < nb && !full(s); b0 += BUCKET_CHUNK) {
		uint32_t n = nb - b0 < BUCKET_CHUNK ? nb - b0 : BUCKET_CHUNK;

		if (kt_gk_read(s->gk, s->m, buckets + (uint64_t)b0 * l->bucket_size, chunk,
			       (size_t)n * l->bucket_size)) {
			s->unreadable = true;
			continue;
		}
		for (uint32_t b = 0; b < n && !full(s); b++) {
			uint64_t e;

			memcpy(&e, chunk + (size_t)b * l->bucket_size + l->bucket_first, 8);
			for (unsigned hop = 0; e && !(e & 1) && !full(s); hop++) {
				uint64_t kva = e - l->elem_node, val, next;
				json_t *ent;

				if (hop == KT_SNAP_MAX_CHAIN) {
					s->r.truncated = true;
					break;
				}
				if (kt_gk_read(s->gk, s->m, kva + l->elem_key, s->buf, s->klen) ||
				    kt_gk_read_u64(s->gk, s->m, e + l->node_next, &next)) {
					s->unreadable = true;
					break;
				}
				ent = json_object();
				json_object_set_new(
				    ent, "key",
				    kt_render_type(&s->r, s->map->key_tid, s->buf, s->klen));
				val = kva + l->elem_key + ROUND8(ks);
				if (kt_bpf_map_is_percpu(s->map->type) &&
				    kt_gk_read_u64(s->gk, s->m, val, &val)) {
					s->unreadable = true;
					json_decref(ent);
					break;
				}
				put_value(s, ent, val);
				json_array_append_new(s->entries, ent);
				e = next;
			}
		}
	}
	free(chunk);
	return 0;
}

json_t *kt_bpf_map_snapshot(const struct kt_gk *gk, const struct kt_gk_mem *m,
			    const struct kt_bpf_layout *l, const struct kt_bpf_map *map,
			    const struct kt_bpf_cpus *cpus, size_t leaves)
{
	const char *tn = kt_bpf_map_type_name(map->type);
	struct snap s = {.gk = gk, .m = m, .map = map, .cpus = cpus};
	struct btf *btf = NULL;
	char *why = NULL, *n;
	json_t *j =
	    json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I}", "name", map->name, "map_type", tn, "type",
		      (json_int_t)map->type, "key_size", (json_int_t)map->key_size, "value_size",
		      (json_int_t)map->value_size, "max_entries", (json_int_t)map->max_entries);

	if (!tn) {
		json_object_set_new(j, "error",
				    json_sprintf("map type %u is not snapshotted (array, "
						 "percpu_array and the hash types are)",
						 map->type));
		return j;
	}
	if (kt_bpf_map_is_percpu(map->type) && (!cpus || !cpus->n)) {
		json_object_set_new(j, "error",
				    json_string("the guest's per-CPU offsets are "
						"not known"));
		return j;
	}
	if (!map->value_size || map->value_size > KT_SNAP_MAX_VALUE) {
		json_object_set_new(j, "error",
				    json_sprintf("value of %u bytes not shown "
						 "(1..%u)",
						 map->value_size, KT_SNAP_MAX_VALUE));
		return j;
	}
	if (map->btf && (map->value_tid || map->key_tid)) {
		if (kt_bpf_map_btf(gk, m, l, map, &btf, &why)) {
			json_object_set_new(j, "error", json_string(why));
			free(why);
			return j;
		}
		n = kt_render_type_name(btf, map->key_tid);
		if (n)
			json_object_set_new(j, "key_type", json_string(n));
		free(n);
		n = kt_render_type_name(btf, map->value_tid);
		if (n)
			json_object_set_new(j, "value_type", json_string(n));
		free(n);
	}
	s.r.btf = btf;
	s.r.leaves = leaves;
	s.vlen = map->value_size;
	s.klen = map->key_size > KT_SNAP_MAX_VALUE ? KT_SNAP_MAX_VALUE : map->key_size;
	s.buf = kt_malloc(KT_SNAP_MAX_VALUE);
	s.entries = json_array();
	if (is_hash(map->type)) {
		if (snap_hash(&s, l, &why)) {
			json_object_set_new(j, "error", json_string(why));
			free(why);
		}
	} else {
		snap_array(&s, l);
	}
	json_object_set_new(j, "entries", s.entries);
	if (s.r.truncated)
		json_object_set_new(j, "truncated", json_true());
	if (s.unreadable && !json_object_get(j, "error"))
		json_object_set_new(j, "error", json_string("some of it could not be read"));
	free(s.buf);
	btf__free(btf);
	return j;
}
