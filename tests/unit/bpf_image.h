/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A guest memory image with BPF maps for bpfmap/maps.c, on top of the
 * guest kernel image of gk_image.h (the real 6.12.117 BTF): map_idr ->
 * xarray nodes -> five maps: an array with a BPF object's own BTF
 * (DATASEC ".bss" {u64 counter; u32 err_cnt; s16 neg; struct pair {u32 a,
 * b} pr;}) and element 0 = {42, 0, -5, {7, 9}}; an array without BTF; a
 * map of type hash that is no hash table (garbage); "stats", a per-CPU
 * array without BTF of two u64 ({10, 32} and {1, 2} on the guest's two
 * CPUs, as scx_simple's); "task_map", a hash with BTF (u32 -> struct
 * pair) holding 5 -> {1, 2} and 9 -> {3, 4} in one bucket chain of 4
 * buckets. Shared by
 * tests/unit/test_bpfmap.c and tests/fuzz/fuzz_bpfmap.c; run from the
 * repository root.
 */
#ifndef KTSTR_TESTS_BPF_IMAGE_H
#define KTSTR_TESTS_BPF_IMAGE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "bpfmap/maps.h"
#include "gk_image.h"

#define IMG_RAM (64ull << 20)
#define PO 0xffff888000000000ull /* page_offset_base (direct map) */
/* Guest-physical places of the structures (all reached through the direct map). */
#define IMG_ROOT 0x3000000ull /* xa_node, shift 6 */
#define IMG_N0 0x3001000ull   /* xa_node, shift 0: A, B */
#define IMG_N1 0x3002000ull   /* xa_node, shift 0: C */
#define IMG_A 0x3100000ull    /* bpf_array "scx_qmap.bss" */
#define IMG_B 0x3101000ull    /* bpf_array "scx_qmap.data" */
#define IMG_C 0x3102000ull    /* "other.data" (a hash map) */
#define IMG_D 0x3103000ull    /* bpf_array "stats" (per-CPU) */
#define IMG_E 0x3104000ull    /* bpf_htab "task_map" */
#define IMG_BUCKETS 0x3105000ull /* its 4 buckets */
#define IMG_ELEMS 0x3106000ull   /* its 2 htab_elems, 0x100 apart */
#define IMG_PCPU0 0x3f00000ull   /* per-CPU areas of CPU 0 and 1 */
#define IMG_PCPU1 0x3f80000ull
#define IMG_PPTR 0x100ull	   /* the per-CPU pointer of stats[0] (stats[1]: + 8) */
#define IMG_NR_CPU_IDS 0xffffffff81f6f4b0ull
/* type ids of prog_btf */
#define IMG_T_U32 2
#define IMG_T_PAIR 4
#define IMG_BTF 0x3200000ull  /* struct btf of A */
#define IMG_BLOB 0x3300000ull /* A's BTF bytes */
#define IMG_MAP_IDR 0xffffffff81ef6500ull

/* A BPF object's BTF: DATASEC ".bss" {u64 counter; u32 err_cnt; s16 neg; struct pair pr;} */
static inline void *prog_btf(uint32_t *len, int *sec)
{
	struct btf *b = btf__new_empty();
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int s16 = btf__add_int(b, "short", 2, BTF_INT_SIGNED);
	int pair = btf__add_struct(b, "pair", 8), v[4];
	const void *raw;
	void *copy;

	btf__add_field(b, "a", u32, 0, 0);
	btf__add_field(b, "b", u32, 32, 0);
	v[0] = btf__add_var(b, "counter", BTF_VAR_GLOBAL_ALLOCATED, u64);
	v[1] = btf__add_var(b, "err_cnt", BTF_VAR_GLOBAL_ALLOCATED, u32);
	v[2] = btf__add_var(b, "neg", BTF_VAR_GLOBAL_ALLOCATED, s16);
	v[3] = btf__add_var(b, "pr", BTF_VAR_GLOBAL_ALLOCATED, pair);
	*sec = btf__add_datasec(b, ".bss", 24);
	btf__add_datasec_var_info(b, v[0], 0, 8);
	btf__add_datasec_var_info(b, v[1], 8, 4);
	btf__add_datasec_var_info(b, v[2], 12, 2);
	btf__add_datasec_var_info(b, v[3], 16, 8);
	raw = btf__raw_data(b, len);
	copy = kt_malloc(*len);
	memcpy(copy, raw, *len);
	btf__free(b);
	return copy;
}

struct img {
	struct gk_img im;
	struct kt_gk_mem m;
	struct kt_gk *gk;
	struct kt_bpf_layout l;
};

/* Write a bpf_map (inside a bpf_array or bpf_htab, both at offset 0) at pa. */
static inline void put_map_ex(struct img *x, uint64_t pa, const char *name, uint32_t type,
			      uint32_t key_size, uint32_t value_size, uint32_t max_entries,
			      uint64_t btf_kva, uint32_t ktid, uint32_t vtid)
{
	const struct kt_bpf_layout *l = &x->l;
	uint64_t m = pa + l->arr_map;

	memcpy(x->im.ram + m + l->m_type, &type, 4);
	memcpy(x->im.ram + m + l->m_key_size, &key_size, 4);
	memcpy(x->im.ram + m + l->m_value_size, &value_size, 4);
	memcpy(x->im.ram + m + l->m_max_entries, &max_entries, 4);
	memcpy(x->im.ram + m + l->m_ktid, &ktid, 4);
	memcpy(x->im.ram + m + l->m_btf, &btf_kva, 8);
	memcpy(x->im.ram + m + l->m_vtid, &vtid, 4);
	memcpy(x->im.ram + m + l->m_name, name, strlen(name) + 1);
}

static inline void put_map(struct img *x, uint64_t pa, const char *name, uint32_t type,
			   uint32_t value_size, uint64_t btf_kva, uint32_t vtid)
{
	put_map_ex(x, pa, name, type, 4, value_size, 1, btf_kva, 0, vtid);
}

static inline void put64(struct img *x, uint64_t pa, uint64_t v)
{
	memcpy(x->im.ram + pa, &v, 8);
}

/* "stats" (per-CPU array, no BTF) and "task_map" (hash, BTF) as the header says. */
static inline void img_more_maps(struct img *x)
{
	const struct kt_bpf_layout *l = &x->l;
	uint64_t val = IMG_D + l->arr_value, nulls;
	uint32_t nb = 4, key;

	put_map_ex(x, IMG_D, "stats", KT_BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2, 0, 0, 0);
	put64(x, val, IMG_PPTR);
	put64(x, val + 8, IMG_PPTR + 8);
	put64(x, IMG_PCPU0 + IMG_PPTR, 10);
	put64(x, IMG_PCPU1 + IMG_PPTR, 32);
	put64(x, IMG_PCPU0 + IMG_PPTR + 8, 1);
	put64(x, IMG_PCPU1 + IMG_PPTR + 8, 2);

	put_map_ex(x, IMG_E, "task_map", KT_BPF_MAP_TYPE_HASH, 4, 8, 4, PO + IMG_BTF, IMG_T_U32,
		   IMG_T_PAIR);
	put64(x, IMG_E + l->htab_buckets, PO + IMG_BUCKETS);
	memcpy(x->im.ram + IMG_E + l->htab_n_buckets, &nb, 4);
	for (uint64_t b = 0; b < nb; b++) /* empty: the nulls marker (b << 1) | 1 */
		put64(x, IMG_BUCKETS + b * l->bucket_size + l->bucket_first, (b << 1) | 1);
	put64(x, IMG_BUCKETS + 1 * l->bucket_size + l->bucket_first,
	      PO + IMG_ELEMS + l->elem_node);
	put64(x, IMG_ELEMS + l->elem_node + l->node_next, PO + IMG_ELEMS + 0x100 + l->elem_node);
	nulls = (1 << 1) | 1;
	put64(x, IMG_ELEMS + 0x100 + l->elem_node + l->node_next, nulls);
	key = 5;
	memcpy(x->im.ram + IMG_ELEMS + l->elem_key, &key, 4);
	put64(x, IMG_ELEMS + l->elem_key + 8, 1ull | 2ull << 32);
	key = 9;
	memcpy(x->im.ram + IMG_ELEMS + 0x100 + l->elem_key, &key, 4);
	put64(x, IMG_ELEMS + 0x100 + l->elem_key + 8, 3ull | 4ull << 32);
}

static inline void slot(struct img *x, uint64_t node_pa, unsigned i, uint64_t e)
{
	memcpy(x->im.ram + node_pa + x->l.xa_slots + 8ull * i, &e, 8);
}

/*
 * map_idr -> node (shift 6) -> {node0: A, B, a value entry, a sibling; node1: C}.
 * A "scx_qmap.bss" (array, BTF), B "scx_qmap.data" (array), C "other.data" (hash).
 */
static inline int img_setup(struct img *x, uint32_t *btf_len)
{
	struct kt_gk_sym syms[sizeof(gk_img_syms) / sizeof(gk_img_syms[0]) + 1];
	uint64_t percpu[2] = {IMG_PCPU0, IMG_PCPU1}, root = IMG_ROOT, n0 = IMG_N0, n1 = IMG_N1;
	uint32_t ncpu = 2;
	uint64_t head, A = IMG_A, B = IMG_B, C = IMG_C, btf = IMG_BTF;
	uint64_t data = IMG_BLOB, blob_kva = PO + data;
	uint32_t sec_u = 0;
	int sec = 0;
	void *blob = prog_btf(btf_len, &sec);
	char *err = NULL;
	uint8_t shift = 6;
	int r = -EINVAL;

	memcpy(syms, gk_img_syms, sizeof(gk_img_syms));
	syms[sizeof(syms) / sizeof(syms[0]) - 1] = (struct kt_gk_sym){"map_idr", IMG_MAP_IDR};
	x->im.ram = calloc(1, IMG_RAM);
	x->im.size = IMG_RAM;
	x->m = gk_img_mem(&x->im);
	{
		size_t len = 0;
		void *vb = gk_img_btf(&len);

		if (!vb)
			return -ENOENT;
		r = kt_gk_open_parts(vb, len, syms, sizeof(syms) / sizeof(syms[0]), gk_img_banner,
				     sizeof(gk_img_banner) - 1, &x->gk, &err);
		free(vb);
		if (r)
			goto out;
	}
	r = kt_bpf_layout_init(x->gk, &x->l, &err);
	if (r)
		goto out;
	gk_img_boot(&x->im, x->gk, 0, 0, PO, false, percpu, 2);
	gk_img_put(&x->im, IMG_NR_CPU_IDS, 0, 0, &ncpu, 4);
	r = kt_gk_attach(x->gk, &x->m, &err);
	if (!r)
		r = kt_gk_refresh(x->gk, &x->m);
	if (r)
		goto out;

	sec_u = (uint32_t)sec;
	put_map(x, A, "scx_qmap.bss", KT_BPF_MAP_TYPE_ARRAY, 24, PO + btf, sec_u);
	put_map(x, B, "scx_qmap.data", KT_BPF_MAP_TYPE_ARRAY, 8, 0, 0);
	put_map(x, C, "other.data", 1, 8, 0, 0);
	{
		uint32_t o, sz;

		if (kt_gk_member(x->gk, "btf", "data", &o, &sz))
			goto out;
		memcpy(x->im.ram + btf + o, &blob_kva, 8);
		if (kt_gk_member(x->gk, "btf", "data_size", &o, &sz))
			goto out;
		memcpy(x->im.ram + btf + o, btf_len, 4);
		memcpy(x->im.ram + data, blob, *btf_len);
	}
	/* element 0 of A: counter 42, err_cnt 0, neg -5, pr {7, 9} */
	{
		uint64_t c = 42;
		int16_t neg = -5;
		uint32_t pr[2] = {7, 9};

		memcpy(x->im.ram + A + x->l.arr_value, &c, 8);
		memcpy(x->im.ram + A + x->l.arr_value + 12, &neg, 2);
		memcpy(x->im.ram + A + x->l.arr_value + 16, pr, 8);
	}
	memcpy(x->im.ram + root + x->l.xa_shift, &shift, 1);
	slot(x, root, 0, PO + n0 + 2);
	slot(x, root, 1, PO + n1 + 2);
	slot(x, n0, 1, PO + A);
	slot(x, n0, 2, PO + B);
	slot(x, n0, 3, (77 << 1) | 1);	/* a value entry */
	slot(x, n0, 4, (1 << 2) | 2);	/* a sibling entry */
	slot(x, n1, 0, PO + C);
	slot(x, n1, 1, PO + IMG_D);
	slot(x, n1, 2, PO + IMG_E);
	img_more_maps(x);
	head = PO + root + 2;
	gk_img_put(&x->im, IMG_MAP_IDR, 0, x->l.idr_head, &head, 8);
	r = 0;
out:
	free(blob);
	free(err);
	return r;
}

static inline void img_free(struct img *x)
{
	kt_gk_free(x->gk);
	free(x->im.ram);
}

#endif
