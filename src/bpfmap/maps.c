// SPDX-License-Identifier: GPL-2.0
/* The guest kernel's BPF maps through the guest kernel reader (maps.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "bpfmap/maps.h"
#include "util/util.h"

#define XA_MAX_DEPTH 12	  /* 64-bit indices, 6 bits per level */
#define XA_MAX_NODES 8192 /* garbage bound */
#define LIST_NAMES 16	  /* names listed in an error */

static int member(const struct kt_gk *gk, const char *type, const char *path, uint32_t *off,
		  uint32_t *size, char **why)
{
	uint32_t sz;
	int r = kt_gk_member(gk, type, path, off, size ? size : &sz);

	if (r)
		*why = kt_asprintf("kernel BTF has no %s.%s", type, path);
	return r;
}

int kt_bpf_layout_init(const struct kt_gk *gk, struct kt_bpf_layout *l, char **why)
{
	uint32_t sz;

	memset(l, 0, sizeof(*l));
	/* link-time: the runtime address follows the KASLR slide (kt_gk_sym_kva at use) */
	l->map_idr = kt_gk_sym(gk, "map_idr");
	if (!l->map_idr) {
		*why = kt_strdup("vmlinux has no symbol map_idr");
		return -ENOENT;
	}
	if (member(gk, "idr", "idr_rt.xa_head", &l->idr_head, NULL, why) ||
	    member(gk, "xa_node", "shift", &l->xa_shift, NULL, why) ||
	    member(gk, "xa_node", "slots", &l->xa_slots, &sz, why) ||
	    member(gk, "bpf_map", "map_type", &l->m_type, NULL, why) ||
	    member(gk, "bpf_map", "key_size", &l->m_key_size, NULL, why) ||
	    member(gk, "bpf_map", "value_size", &l->m_value_size, NULL, why) ||
	    member(gk, "bpf_map", "max_entries", &l->m_max_entries, NULL, why) ||
	    member(gk, "bpf_map", "map_flags", &l->m_flags, NULL, why) ||
	    member(gk, "bpf_map", "btf", &l->m_btf, NULL, why) ||
	    member(gk, "bpf_map", "btf_value_type_id", &l->m_vtid, NULL, why) ||
	    member(gk, "bpf_map", "btf_key_type_id", &l->m_ktid, NULL, why) ||
	    member(gk, "bpf_map", "name", &l->m_name, &l->name_len, why) ||
	    member(gk, "bpf_array", "map", &l->arr_map, NULL, why) ||
	    member(gk, "bpf_array", "value", &l->arr_value, NULL, why) ||
	    member(gk, "btf", "data", &l->btf_data, NULL, why) ||
	    member(gk, "btf", "data_size", &l->btf_data_size, NULL, why) ||
	    member(gk, "btf", "base_btf", &l->btf_base, NULL, why))
		return -ENOENT;
	l->xa_chunk = sz / 8;
	/* hash maps: optional (a kernel whose BTF lacks them just cannot show them) */
	l->has_htab = !kt_gk_member(gk, "bpf_htab", "map", &l->htab_map, &sz) &&
		      !kt_gk_member(gk, "bpf_htab", "buckets", &l->htab_buckets, &sz) &&
		      !kt_gk_member(gk, "bpf_htab", "n_buckets", &l->htab_n_buckets, &sz) &&
		      !kt_gk_member(gk, "bucket", "head.first", &l->bucket_first, &sz) &&
		      !kt_gk_member(gk, "hlist_nulls_node", "next", &l->node_next, &sz) &&
		      !kt_gk_member(gk, "htab_elem", "hash_node", &l->elem_node, &sz) &&
		      !kt_gk_member(gk, "htab_elem", "key", &l->elem_key, &sz);
	l->bucket_size = kt_gk_type_size(gk, "bucket");
	if (l->bucket_size < 8 || l->bucket_size > 256)
		l->has_htab = false;
	if (l->xa_chunk < 2 || l->xa_chunk > 256 || l->name_len < 1 || l->name_len > 64) {
		*why = kt_asprintf("kernel BTF: implausible xa_node.slots (%u bytes) or "
				   "bpf_map.name (%u bytes)",
				   sz, l->name_len);
		return -EINVAL;
	}
	return 0;
}

static int rd32(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, uint32_t *v)
{
	return kt_gk_read(gk, m, kva, v, sizeof(*v));
}

static int read_map(const struct kt_gk *gk, const struct kt_gk_mem *m,
		    const struct kt_bpf_layout *l, uint64_t kva, struct kt_bpf_map *out)
{
	char name[64];

	memset(out, 0, sizeof(*out));
	out->kva = kva;
	if (rd32(gk, m, kva + l->m_type, &out->type) ||
	    rd32(gk, m, kva + l->m_key_size, &out->key_size) ||
	    rd32(gk, m, kva + l->m_value_size, &out->value_size) ||
	    rd32(gk, m, kva + l->m_max_entries, &out->max_entries) ||
	    rd32(gk, m, kva + l->m_flags, &out->flags) ||
	    rd32(gk, m, kva + l->m_vtid, &out->value_tid) ||
	    rd32(gk, m, kva + l->m_ktid, &out->key_tid) ||
	    kt_gk_read_u64(gk, m, kva + l->m_btf, &out->btf) ||
	    kt_gk_read(gk, m, kva + l->m_name, name, l->name_len))
		return -EFAULT;
	for (size_t i = 0; i < l->name_len && i < sizeof(out->name) - 1 && name[i]; i++)
		out->name[i] = (name[i] > 0x20 && name[i] < 0x7f) ? name[i] : '?';
	return 0;
}

/* xarray entries (include/linux/xarray.h): pointers have the low bits 00. */
static bool xa_is_node(uint64_t e)
{
	return (e & 3) == 2 && e > 4096;
}

static bool xa_is_pointer(uint64_t e)
{
	return e && (e & 3) == 0;
}

/* A map met twice (garbage: a node reachable twice) is listed once. */
static bool seen(const struct kt_bpf_map *v, size_t n, uint64_t kva)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kva == kva)
			return true;
	return false;
}

int kt_bpf_maps_list(const struct kt_gk *gk, const struct kt_gk_mem *m,
		     const struct kt_bpf_layout *l, struct kt_bpf_map *out, size_t max, size_t *n,
		     char **why)
{
	struct {
		uint64_t node;
		unsigned depth;
	} *stack;
	size_t sp = 0, nodes = 0;
	uint64_t head, *slots;
	int r = 0;

	*n = 0;
	if (kt_gk_read_u64(gk, m, kt_gk_sym_kva(gk, "map_idr") + l->idr_head, &head)) {
		*why = kt_strdup("map_idr cannot be read");
		return -EFAULT;
	}
	if (xa_is_pointer(head)) {
		if (max && read_map(gk, m, l, head, &out[0]) == 0)
			*n = 1;
		return 0;
	}
	if (!xa_is_node(head))
		return 0; /* empty */
	stack = kt_calloc(XA_MAX_DEPTH * l->xa_chunk + 1, sizeof(*stack));
	slots = kt_calloc(l->xa_chunk, sizeof(*slots));
	stack[sp].node = head - 2;
	stack[sp++].depth = 0;
	while (sp && *n < max) {
		uint64_t node = stack[--sp].node;
		unsigned depth = stack[sp].depth;

		if (++nodes > XA_MAX_NODES) {
			*why = kt_strdup("map_idr: more xarray nodes than a sane kernel has");
			r = -EFAULT;
			break;
		}
		if (kt_gk_read(gk, m, node + l->xa_slots, slots, l->xa_chunk * sizeof(*slots)))
			continue; /* an unreadable node: its maps are left out */
		/* child nodes pushed in reverse, so that maps come out in id order */
		for (size_t i = l->xa_chunk; i-- > 0;) {
			uint64_t e = slots[i];

			if (xa_is_node(e) && depth + 1 < XA_MAX_DEPTH) {
				stack[sp].node = e - 2;
				stack[sp++].depth = depth + 1;
			}
		}
		/* leaves (struct bpf_map pointers) in slot order */
		for (size_t i = 0; i < l->xa_chunk && *n < max; i++)
			if (xa_is_pointer(slots[i]) && !seen(out, *n, slots[i]) &&
			    read_map(gk, m, l, slots[i], &out[*n]) == 0)
				(*n)++;
	}
	free(stack);
	free(slots);
	return r;
}

static void list_names(struct sbuf *sb, const struct kt_bpf_map *v, size_t n, const char *want)
{
	size_t shown = 0;

	for (size_t i = 0; i < n; i++) {
		if (want && !kt_endswith(v[i].name, want))
			continue;
		if (shown++ == LIST_NAMES) {
			sb_adds(sb, ", ...");
			break;
		}
		sb_addf(sb, "%s%s", shown > 1 ? ", " : "", v[i].name);
	}
	if (!shown)
		sb_adds(sb, "none");
}

int kt_bpf_map_pick(const struct kt_bpf_map *v, size_t n, const char *name,
		    struct kt_bpf_map *out, char **why)
{
	struct sbuf sb = SBUF_INIT;
	size_t hits = 0, hit = 0;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].name, name)) {
			*out = v[i];
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (kt_endswith(v[i].name, name)) {
			hits++;
			hit = i;
		}
	}
	if (hits == 1) {
		*out = v[hit];
		return 0;
	}
	list_names(&sb, v, n, hits ? name : NULL);
	*why = hits ? kt_asprintf("several BPF maps end in '%s': %s", name, sb_str(&sb))
		    : kt_asprintf("no BPF map named or ending in '%s' (maps: %s)", name,
				  sb_str(&sb));
	sb_free(&sb);
	return hits ? -EEXIST : -ENOENT;
}

int kt_bpf_map_find(const struct kt_gk *gk, const struct kt_gk_mem *m,
		    const struct kt_bpf_layout *l, const char *name, struct kt_bpf_map *out,
		    char **why)
{
	struct kt_bpf_map *v = kt_calloc(KT_BPF_MAPS_MAX, sizeof(*v));
	size_t n = 0;
	int r = kt_bpf_maps_list(gk, m, l, v, KT_BPF_MAPS_MAX, &n, why);

	if (!r)
		r = kt_bpf_map_pick(v, n, name, out, why);
	free(v);
	return r;
}

int kt_bpf_map_btf(const struct kt_gk *gk, const struct kt_gk_mem *m,
		   const struct kt_bpf_layout *l, const struct kt_bpf_map *map, struct btf **out,
		   char **why)
{
	uint64_t data, base;
	uint32_t size;
	struct btf *b;
	void *buf;

	if (!map->btf || (!map->value_tid && !map->key_tid)) {
		*why = kt_asprintf("BPF map %s has no BTF for its value", map->name);
		return -ENOENT;
	}
	if (kt_gk_read_u64(gk, m, map->btf + l->btf_data, &data) ||
	    rd32(gk, m, map->btf + l->btf_data_size, &size) ||
	    kt_gk_read_u64(gk, m, map->btf + l->btf_base, &base)) {
		*why = kt_asprintf("BPF map %s: its BTF cannot be read", map->name);
		return -EFAULT;
	}
	if (base) {
		/* split BTF (a module's); a BPF object's own BTF stands alone */
		*why = kt_asprintf("BPF map %s: its BTF is split BTF, not supported", map->name);
		return -EINVAL;
	}
	if (size < 24 || size > KT_BPF_BTF_MAX) {
		*why = kt_asprintf("BPF map %s: implausible BTF size %u", map->name, size);
		return -EFAULT;
	}
	buf = kt_malloc(size);
	if (kt_gk_read(gk, m, data, buf, size)) {
		free(buf);
		*why = kt_asprintf("BPF map %s: its BTF data (%u bytes) cannot be read", map->name,
				   size);
		return -EFAULT;
	}
	b = btf__new(buf, size);
	free(buf);
	if (!b || (unsigned long)b >= (unsigned long)-4095L) {
		*why = kt_asprintf("BPF map %s: its BTF does not parse", map->name);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

static void list_members(struct sbuf *sb, const struct btf *btf, const struct btf_type *t)
{
	uint16_t n = btf_vlen(t);

	for (uint16_t i = 0; i < n && i <= LIST_NAMES; i++) {
		const char *name;

		if (i == LIST_NAMES) {
			sb_adds(sb, ", ...");
			break;
		}
		if (btf_is_datasec(t)) {
			const struct btf_type *v = btf__type_by_id(btf, btf_var_secinfos(t)[i].type);

			name = v ? btf__name_by_offset(btf, v->name_off) : NULL;
		} else {
			name = btf__name_by_offset(btf, btf_members(t)[i].name_off);
		}
		sb_addf(sb, "%s%s", i ? ", " : "", name && *name ? name : "(anonymous)");
	}
}

/* Integer-like leaf type: its signedness; false for anything else. */
static bool int_like(const struct btf *btf, uint32_t id, uint32_t size, bool *is_signed)
{
	int rid = btf__resolve_type(btf, id);
	const struct btf_type *t = rid < 0 ? NULL : btf__type_by_id(btf, (uint32_t)rid);

	if (!t || (size != 1 && size != 2 && size != 4 && size != 8))
		return false;
	if (btf_is_int(t)) {
		*is_signed = btf_int_encoding(t) & BTF_INT_SIGNED;
		return btf_int_offset(t) == 0 && btf_int_bits(t) == size * 8;
	}
	if (btf_is_enum(t) || btf_is_enum64(t)) {
		*is_signed = btf_kflag(t);
		return true;
	}
	return false;
}

int kt_bpf_value_field(const struct btf *btf, uint32_t value_tid, const char *path,
		       struct kt_bpf_field *f, char **why)
{
	int rid = btf__resolve_type(btf, value_tid);
	const struct btf_type *t = rid < 0 ? NULL : btf__type_by_id(btf, (uint32_t)rid);
	const char *dot = strchr(path, '.'), *rest = dot ? dot + 1 : NULL;
	size_t len = dot ? (size_t)(dot - path) : strlen(path);
	uint32_t leaf = 0, off = 0, size = 0;
	struct sbuf sb = SBUF_INIT;
	int r = -ENOENT;

	memset(f, 0, sizeof(*f));
	if (!t) {
		*why = kt_asprintf("value type %u is not in the map's BTF", value_tid);
		return -ENOENT;
	}
	if (!*path) { /* the whole value */
		long sz = btf__resolve_size(btf, value_tid);

		if (sz <= 0 || sz > KT_BPF_BTF_MAX) {
			*why = kt_asprintf("value type %u has no size", value_tid);
			return -ENOENT;
		}
		f->size = (uint32_t)sz;
		f->is_int = int_like(btf, value_tid, f->size, &f->is_signed);
		return 0;
	}
	if (btf_is_datasec(t)) {
		const struct btf_var_secinfo *vs = btf_var_secinfos(t);

		for (uint16_t i = 0; i < btf_vlen(t); i++) {
			const struct btf_type *v = btf__type_by_id(btf, vs[i].type);
			const char *n = v ? btf__name_by_offset(btf, v->name_off) : NULL;

			if (!v || !btf_is_var(v) || !n || strlen(n) != len || strncmp(n, path, len))
				continue;
			off = vs[i].offset;
			size = vs[i].size;
			leaf = v->type;
			r = 0;
			if (rest) {
				uint32_t o2;

				r = kt_btf_member_at(btf, v->type, rest, &o2, &size, &leaf);
				off += o2;
			}
			break;
		}
	} else if (btf_is_struct(t) || btf_is_union(t)) {
		r = kt_btf_member_at(btf, (uint32_t)rid, path, &off, &size, &leaf);
	}
	if (r) {
		list_members(&sb, btf, t);
		*why = kt_asprintf("no field '%s' in the map's value (%s: %s)", path,
				   btf_is_datasec(t) ? "variables" : "members", sb_str(&sb));
		sb_free(&sb);
		return -ENOENT;
	}
	f->off = off;
	f->size = size;
	f->is_int = int_like(btf, leaf, size, &f->is_signed);
	return 0;
}

int kt_bpf_array_value(const struct kt_bpf_layout *l, const struct kt_bpf_map *map,
		       uint64_t *kva, char **why)
{
	if (map->type != KT_BPF_MAP_TYPE_ARRAY) {
		*why = kt_asprintf("BPF map %s is of type %u; values are read from array maps "
				   "(type %d) only",
				   map->name, map->type, KT_BPF_MAP_TYPE_ARRAY);
		return -EINVAL;
	}
	if (!map->max_entries || !map->value_size) {
		*why = kt_asprintf("BPF map %s has no elements", map->name);
		return -EINVAL;
	}
	*kva = map->kva - l->arr_map + l->arr_value;
	return 0;
}

long double kt_bpf_int_value(const void *bytes, uint32_t size, bool is_signed)
{
	uint64_t u = 0;

	memcpy(&u, bytes, size > 8 ? 8 : size); /* little-endian guest and host */
	if (is_signed && size < 8 && (u >> (size * 8 - 1)) & 1)
		u |= ~0ull << (size * 8);
	return is_signed ? (long double)(int64_t)u : (long double)u;
}
