// SPDX-License-Identifier: GPL-2.0
/* BPF values as JSON through BTF (render.h). Pure: no I/O. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "bpfmap/render.h"
#include "util/util.h"

#define MAX_HOPS 32 /* typedef / modifier chains */

json_t *kt_render_hex(const uint8_t *p, size_t len)
{
	size_t n = len > KT_RENDER_MAX_HEX ? KT_RENDER_MAX_HEX : len;
	char buf[2 + 2 * KT_RENDER_MAX_HEX + 4];
	size_t k = 0;

	buf[k++] = '0';
	buf[k++] = 'x';
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%02x", p[i]);
	if (n < len)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "...");
	buf[k] = 0;
	return json_string(buf);
}

static bool take(struct kt_render *r)
{
	if (!r->leaves) {
		r->truncated = true;
		return false;
	}
	r->leaves--;
	return true;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t u = 0;

	memcpy(&u, p, n > 8 ? 8 : n); /* little-endian guest and host */
	return u;
}

static json_t *uint_json(uint64_t u)
{
	char buf[24];

	if (u <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)u);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
	return json_string(buf);
}

json_t *kt_render_raw(struct kt_render *r, const uint8_t *p, size_t len)
{
	if (!take(r))
		return json_null();
	if (len == 1 || len == 2 || len == 4 || len == 8)
		return uint_json(le(p, len));
	return kt_render_hex(p, len);
}

/* Follow typedefs, modifiers, vars and tags to the type that has the bytes. */
static const struct btf_type *skip(const struct btf *btf, uint32_t *id)
{
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		const struct btf_type *t = btf__type_by_id(btf, *id);

		if (!t)
			return NULL;
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_VAR:
		case BTF_KIND_TYPE_TAG:
		case BTF_KIND_DECL_TAG:
			*id = t->type;
			break;
		default:
			return t;
		}
	}
	return NULL;
}

/* An integer of `bits` bits at bit `boff` of p (len bytes), sign-extended when asked. */
static json_t *bits_json(const uint8_t *p, size_t len, uint32_t boff, uint32_t bits, bool sgn,
			 bool *oob)
{
	unsigned __int128 w = 0;
	size_t first = boff / 8, last = ((size_t)boff + bits + 7) / 8;
	uint64_t u;

	if (!bits || bits > 64 || last > len || last - first > 9) {
		*oob = true;
		return json_null();
	}
	for (size_t i = last; i > first; i--)
		w = (w << 8) | p[i - 1];
	u = (uint64_t)(w >> (boff % 8));
	if (bits < 64)
		u &= (1ull << bits) - 1;
	if (sgn && bits < 64 && (u >> (bits - 1)) & 1)
		u |= ~0ull << bits;
	return sgn ? json_integer((json_int_t)(int64_t)u) : uint_json(u);
}

static json_t *int_json(struct kt_render *r, const struct btf_type *t, const uint8_t *p, size_t len,
			uint32_t boff, uint32_t bsize)
{
	uint8_t enc = btf_int_encoding(t);
	uint32_t bits = bsize ? bsize : btf_int_bits(t);
	bool oob = false;
	json_t *j;

	boff += btf_int_offset(t);
	if (t->size > len) {
		r->truncated = true;
		return json_null();
	}
	if (t->size == 16 && !bsize && !boff)
		return kt_render_hex(p, 16);
	if (enc & BTF_INT_BOOL && !bsize && !boff)
		return json_boolean(p[0] != 0);
	j = bits_json(p, t->size, boff, bits, enc & BTF_INT_SIGNED, &oob);
	if (oob)
		r->truncated = true;
	return j;
}

static json_t *enum_json(const struct btf *btf, const struct btf_type *t, const uint8_t *p,
			 size_t len)
{
	bool sgn = btf_kflag(t);
	uint64_t u;
	int64_t s;

	if (t->size > len || !t->size || t->size > 8)
		return NULL;
	u = le(p, t->size);
	if (sgn && t->size < 8 && (u >> (t->size * 8 - 1)) & 1)
		u |= ~0ull << (t->size * 8);
	s = (int64_t)u;
	for (uint16_t i = 0; i < btf_vlen(t); i++) {
		uint64_t v;
		uint32_t name;

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;

			v = sgn ? (uint64_t)(int64_t)e->val : (uint64_t)(uint32_t)e->val;
			name = e->name_off;
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;

			v = btf_enum64_value(e);
			name = e->name_off;
		}
		if (t->size < 8 && !sgn)
			v &= (1ull << (t->size * 8)) - 1;
		if (v == u) {
			const char *n = btf__name_by_offset(btf, name);

			if (n && *n)
				return json_string(n);
		}
	}
	return sgn ? json_integer(s) : uint_json(u);
}

static json_t *render(struct kt_render *r, uint32_t id, const uint8_t *p, size_t len,
		      unsigned depth);

/* Printable-ASCII copy of a char array, up to its first NUL. */
static json_t *chars_json(const uint8_t *p, size_t n)
{
	char *s = kt_malloc(n + 1);
	size_t k = 0;
	json_t *j;

	for (; k < n && p[k]; k++)
		s[k] = p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '?';
	s[k] = 0;
	j = json_string(s);
	free(s);
	return j;
}

static bool is_char(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = skip(btf, &id);
	const char *n;

	if (!t || !btf_is_int(t) || t->size != 1)
		return false;
	n = btf__name_by_offset(btf, t->name_off);
	return btf_int_encoding(t) & BTF_INT_CHAR || (n && strstr(n, "char"));
}

static json_t *array_json(struct kt_render *r, const struct btf_type *t, const uint8_t *p,
			  size_t len, unsigned depth)
{
	const struct btf_array *a = btf_array(t);
	long esz = btf__resolve_size(r->btf, a->type);
	json_t *arr;
	uint32_t n = a->nelems, shown;

	if (esz < 0)
		return kt_render_hex(p, len);
	if (esz == 1 && is_char(r->btf, a->type)) {
		if (!take(r))
			return json_null();
		if (n > len) {
			r->truncated = true;
			n = (uint32_t)len;
		}
		return chars_json(p, n);
	}
	arr = json_array();
	shown = n > KT_RENDER_MAX_ELEMS ? KT_RENDER_MAX_ELEMS : n;
	for (uint32_t i = 0; i < shown; i++) {
		size_t off = (size_t)esz * i;

		if (off > len || (size_t)esz > len - off) {
			r->truncated = true;
			json_array_append_new(arr, json_null());
			break;
		}
		json_array_append_new(arr, render(r, a->type, p + off, (size_t)esz, depth + 1));
	}
	if (shown < n) {
		char more[48];

		snprintf(more, sizeof(more), "... (%u more)", n - shown);
		json_array_append_new(arr, json_string(more));
		r->truncated = true;
	}
	return arr;
}

static void members_into(struct kt_render *r, json_t *obj, const struct btf_type *t,
			 const uint8_t *p, size_t len, unsigned depth);

/* One member of struct/union t at index i into obj (anonymous aggregates merged). */
static void member_into(struct kt_render *r, json_t *obj, const struct btf_type *t, uint16_t i,
			const uint8_t *p, size_t len, unsigned depth)
{
	const struct btf_member *m = btf_members(t) + i;
	const char *name = btf__name_by_offset(r->btf, m->name_off);
	uint32_t boff = btf_member_bit_offset(t, i), bsz = btf_member_bitfield_size(t, i);
	uint32_t mid = m->type;
	const struct btf_type *mt = skip(r->btf, &mid);
	size_t off = boff / 8;
	json_t *v;

	if (!mt)
		return;
	if ((!name || !*name) && (btf_is_struct(mt) || btf_is_union(mt))) {
		if (off <= len && mt->size <= len - off)
			members_into(r, obj, mt, p + off, mt->size, depth + 1);
		else
			r->truncated = true;
		return;
	}
	if (!name || !*name)
		return;
	if (bsz || (boff % 8 && btf_is_int(mt))) {
		bool oob = false;
		bool sgn = btf_is_int(mt) ? btf_int_encoding(mt) & BTF_INT_SIGNED
					  : (btf_is_any_enum(mt) && btf_kflag(mt));

		if (!take(r)) {
			v = json_null();
		} else {
			v = bits_json(p, len, boff, bsz ? bsz : 8 * mt->size, sgn, &oob);
			if (oob)
				r->truncated = true;
		}
	} else {
		long sz = btf__resolve_size(r->btf, mid);

		if (sz < 0 || off > len || (size_t)sz > len - off) {
			r->truncated = true;
			v = json_null();
		} else {
			v = render(r, mid, p + off, (size_t)sz, depth + 1);
		}
	}
	json_object_set_new(obj, name, v);
}

static void members_into(struct kt_render *r, json_t *obj, const struct btf_type *t,
			 const uint8_t *p, size_t len, unsigned depth)
{
	if (depth >= KT_RENDER_MAX_DEPTH) {
		r->truncated = true;
		return;
	}
	if (btf_is_union(t)) { /* the first member is the one shown */
		if (btf_vlen(t))
			member_into(r, obj, t, 0, p, len, depth);
		return;
	}
	for (uint16_t i = 0; i < btf_vlen(t); i++)
		member_into(r, obj, t, i, p, len, depth);
}

static json_t *datasec_json(struct kt_render *r, const struct btf_type *t, const uint8_t *p,
			    size_t len, unsigned depth)
{
	const struct btf_var_secinfo *vs = btf_var_secinfos(t);
	json_t *obj = json_object();

	for (uint16_t i = 0; i < btf_vlen(t); i++) {
		const struct btf_type *v = btf__type_by_id(r->btf, vs[i].type);
		const char *n =
		    v && btf_is_var(v) ? btf__name_by_offset(r->btf, v->name_off) : NULL;

		if (!n || !*n)
			continue;
		if (vs[i].offset > len || vs[i].size > len - vs[i].offset) {
			r->truncated = true;
			json_object_set_new(obj, n, json_null());
			continue;
		}
		json_object_set_new(obj, n,
				    render(r, v->type, p + vs[i].offset, vs[i].size, depth + 1));
	}
	return obj;
}

static json_t *render(struct kt_render *r, uint32_t id, const uint8_t *p, size_t len,
		      unsigned depth)
{
	const struct btf_type *t = skip(r->btf, &id);
	json_t *j;

	if (depth >= KT_RENDER_MAX_DEPTH || !t) {
		r->truncated = true;
		return json_null();
	}
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return take(r) ? int_json(r, t, p, len, 0, 0) : json_null();
	case BTF_KIND_PTR:
		if (!take(r))
			return json_null();
		if (len < 8) {
			r->truncated = true;
			return json_null();
		}
		{
			char buf[24];

			snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)le(p, 8));
			return json_string(buf);
		}
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		if (!take(r))
			return json_null();
		j = enum_json(r->btf, t, p, len);
		if (!j) {
			r->truncated = true;
			j = json_null();
		}
		return j;
	case BTF_KIND_FLOAT:
		if (!take(r))
			return json_null();
		if (t->size == 8 && len >= 8) {
			double d;

			memcpy(&d, p, 8);
			return isfinite(d) ? json_real(d) : json_string(isnan(d) ? "nan" : "inf");
		}
		if (t->size == 4 && len >= 4) {
			float f;

			memcpy(&f, p, 4);
			return isfinite(f) ? json_real(f) : json_string(isnan(f) ? "nan" : "inf");
		}
		return kt_render_hex(p, len < t->size ? len : t->size);
	case BTF_KIND_ARRAY:
		return array_json(r, t, p, len, depth);
	case BTF_KIND_STRUCT:
		j = json_object();
		members_into(r, j, t, p, len, depth);
		return j;
	case BTF_KIND_UNION:
		j = json_object();
		json_object_set_new(j, "__raw", kt_render_hex(p, len < t->size ? len : t->size));
		members_into(r, j, t, p, len, depth);
		return j;
	case BTF_KIND_DATASEC:
		return datasec_json(r, t, p, len, depth);
	default:
		return take(r) ? kt_render_hex(p, len) : json_null();
	}
}

json_t *kt_render_type(struct kt_render *r, uint32_t id, const uint8_t *p, size_t len)
{
	if (!r->btf || !id)
		return kt_render_raw(r, p, len);
	return render(r, id, p, len, 0);
}

char *kt_render_type_name(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf ? btf__type_by_id(btf, id) : NULL;
	const char *n, *kind = "";

	if (!t || !id)
		return NULL;
	n = btf__name_by_offset(btf, t->name_off);
	if (btf_is_struct(t))
		kind = "struct ";
	else if (btf_is_union(t))
		kind = "union ";
	else if (btf_is_any_enum(t))
		kind = "enum ";
	if (n && *n)
		return kt_asprintf("%s%s", kind, n);
	return kt_asprintf("<anon %skind %u>", kind, btf_kind(t));
}
