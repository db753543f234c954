// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of a test's BPF map features during a run (bpfmap.h):
 * periodic captures of the fields the .temporal entries name (per-CPU
 * array fields summed over the CPUs) and whole-map snapshots of the maps
 * .snapshot_maps names, and the .bpf_map_write handshake, all driven
 * from the VM engine's tick with the guest kernel reader
 * (src/monitor/guestkern.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <jansson.h>

#include "bpfmap/bpfmap.h"
#include "bpfmap/maps.h"
#include "bpfmap/series.h"
#include "check/check.h"
#include "monitor/guestkern.h"
#include "proto/proto.h"
#include "util/util.h"
#include "vm/vm.h"

/* The host gives up on a write this long after the guest is ready (it waits 10 s). */
#define WRITE_GIVE_UP_MS (KT_BPFMAP_GUEST_WAIT_MS - 1000)
/* Rendered values shared by every snapshot of a run, and the bounds for one. */
#define SNAP_RUN_LEAVES (1u << 20)
#define SNAP_MIN_LEAVES 256u
#define SNAP_MAX_LEAVES 16384u

/* A field of a map, resolved once (lazily, while the guest runs). */
struct field {
	const char *map, *path;
	bool resolved;
	bool permanent; /* err will not go away by retrying */
	char *err;	/* the last reason it could not be resolved */
	char map_name[17];
	uint64_t kva;  /* of the field (per-CPU: + __per_cpu_offset[cpu]) */
	bool percpu;   /* summed over the CPUs */
	unsigned ncpu; /* CPUs in the last sum */
	struct kt_bpf_field f;
};

/* One periodic capture's whole-map snapshots. */
struct snapcap {
	char tag[24];
	uint64_t elapsed_ms;
	json_t *maps;
};

enum wstate { W_NONE, W_WAIT, W_DONE, W_FAILED };

struct kt_bpfmap {
	const struct ktstr_test *t;
	int duration_s;
	char *setup_err; /* nothing can be read (no vmlinux, no BTF layout) */
	struct kt_gk *gk;
	struct kt_bpf_layout lay;
	char *attach_why;
	/* captures */
	bool started;
	uint64_t start_ns;
	unsigned n_snap, fired;
	struct field cap[KTSTR_MAX_TEMPORAL];
	struct kt_series series[KTSTR_MAX_TEMPORAL];
	size_t n_maps, leaves; /* .snapshot_maps, rendered values per map and capture */
	struct snapcap *caps;
	/* the write */
	enum wstate ws;
	struct field wf;
	uint64_t ready_ns;
	char *wnote; /* what was written */
};

struct kt_bpfmap *kt_bpfmap_new(const struct ktstr_test *t, int duration_s, const char *vmlinux)
{
	struct kt_bpfmap *b;
	char *err = NULL;

	if (!kt_bpfmap_wanted(t))
		return NULL;
	b = kt_calloc(1, sizeof(*b));
	b->t = t;
	b->duration_s = duration_s;
	b->n_snap = (unsigned)(t->num_snapshots > 0 ? t->num_snapshots : 0);
	for (size_t i = 0; i < KTSTR_MAX_TEMPORAL; i++) {
		const struct ktstr_temporal *e = &t->temporal[i];

		if (e->kind == KTSTR_TEMPORAL_NONE)
			continue;
		b->cap[i].map = e->map;
		b->cap[i].path = e->field;
		b->series[i].label = kt_strdup(e->field);
	}
	for (size_t i = 0; i < KTSTR_MAX_SNAPSHOT_MAPS; i++)
		b->n_maps += t->snapshot_maps[i] != NULL;
	if (b->n_maps && b->n_snap) {
		b->leaves = SNAP_RUN_LEAVES / (b->n_maps * b->n_snap);
		b->leaves = b->leaves < SNAP_MIN_LEAVES	  ? SNAP_MIN_LEAVES
			    : b->leaves > SNAP_MAX_LEAVES ? SNAP_MAX_LEAVES
							  : b->leaves;
		b->caps = kt_calloc(b->n_snap, sizeof(*b->caps));
	}
	if (t->bpf_map_write.map) {
		b->ws = W_WAIT;
		b->wf.map = t->bpf_map_write.map;
		b->wf.path = t->bpf_map_write.field;
	}
	if (!vmlinux) {
		b->setup_err = kt_strdup("the kernel has no vmlinux (symbols and BTF) to find BPF "
					 "maps with");
	} else if (kt_gk_open(vmlinux, &b->gk, &err)) {
		b->setup_err = err;
	} else if (kt_bpf_layout_init(b->gk, &b->lay, &err)) {
		b->setup_err = kt_asprintf("%s: %s", vmlinux, err);
		free(err);
	}
	return b;
}

void kt_bpfmap_free(struct kt_bpfmap *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < KTSTR_MAX_TEMPORAL; i++) {
		free(b->cap[i].err);
		kt_series_free(&b->series[i]);
	}
	for (size_t i = 0; b->caps && i < b->n_snap; i++)
		json_decref(b->caps[i].maps);
	free(b->caps);
	free(b->wf.err);
	free(b->wnote);
	free(b->setup_err);
	free(b->attach_why);
	kt_gk_free(b->gk);
	free(b);
}

void kt_bpfmap_scenario_start(struct kt_bpfmap *b)
{
	if (b && !b->started) {
		b->started = true;
		b->start_ns = kt_now_ns();
	}
}

static void set_err(struct field *f, bool permanent, char *why)
{
	free(f->err);
	f->err = why;
	f->permanent = permanent;
}

/* The field of an element whose map has no value BTF: only the whole value. */
static int whole_value(const struct kt_bpf_map *map, const char *sub, struct kt_bpf_field *f,
		       char **why)
{
	if (*sub) {
		*why = kt_asprintf("BPF map %s has no BTF for its value; name the element alone "
				   "(\"[N]\")",
				   map->name);
		return -ENOENT;
	}
	memset(f, 0, sizeof(*f));
	f->size = map->value_size;
	f->is_int = f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8;
	return 0;
}

/* Find f's map and field (once). 0 when f->kva is usable. */
static int resolve(struct kt_bpfmap *b, const struct kt_gk_mem *m, struct field *f)
{
	struct kt_bpf_map map;
	struct btf *btf = NULL;
	const char *sub = NULL;
	uint32_t idx = 0;
	uint64_t val;
	char *why = NULL;
	int r;

	if (f->resolved)
		return 0;
	if (f->permanent)
		return -EINVAL;
	r = kt_bpf_map_find(b->gk, m, &b->lay, f->map, &map, &why);
	if (r) {
		/* not there yet (-ENOENT) may change; several matches will not */
		set_err(f, r == -EEXIST, why);
		return r;
	}
	snprintf(f->map_name, sizeof(f->map_name), "%s", map.name);
	if (f->path && kt_bpfmap_field_path(f->path, &idx, &sub)) {
		set_err(f, true, kt_asprintf("field '%s' is malformed", f->path));
		return -EINVAL;
	}
	if (f == &b->wf && map.type != KT_BPF_MAP_TYPE_ARRAY) {
		r = kt_bpf_array_value(&b->lay, &map, &val, &why); /* says why not */
		set_err(f, true, r ? why : kt_strdup("not an array map"));
		return -EINVAL;
	}
	r = kt_bpf_array_elem(b->gk, m, &b->lay, &map, idx, &val, &why);
	if (r) {
		set_err(f, r != -EFAULT, why);
		return r;
	}
	if (!f->path) { /* a raw offset (writes only) */
		const struct ktstr_bpf_map_write *w = &b->t->bpf_map_write;
		uint32_t size = w->size ? w->size : 4;

		if (w->offset > map.value_size || size > map.value_size - w->offset) {
			set_err(f, true,
				kt_asprintf("offset %zu + %u bytes is outside BPF map %s's %u-byte "
					    "value",
					    w->offset, size, map.name, map.value_size));
			return -EINVAL;
		}
		f->f.off = (uint32_t)w->offset;
		f->f.size = size;
		f->f.is_int = true;
	} else {
		if (!map.btf || !map.value_tid) {
			r = whole_value(&map, sub, &f->f, &why);
		} else {
			r = kt_bpf_map_btf(b->gk, m, &b->lay, &map, &btf, &why);
			if (!r)
				r = kt_bpf_value_field(btf, map.value_tid, sub, &f->f, &why);
		}
		btf__free(btf);
		if (r) {
			char *m2 = kt_asprintf("BPF map %s: %s", map.name, why);

			free(why);
			set_err(f, r != -EFAULT, m2);
			return r;
		}
		if (f->f.off > map.value_size || f->f.size > map.value_size - f->f.off) {
			set_err(f, true,
				kt_asprintf("BPF map %s: field %s lies outside its %u-byte value",
					    map.name, f->path, map.value_size));
			return -EINVAL;
		}
	}
	f->kva = val + f->f.off;
	f->percpu = map.type == KT_BPF_MAP_TYPE_PERCPU_ARRAY;
	f->resolved = true;
	return 0;
}

/* The reader is usable once the guest kernel is found in memory. */
static bool attached(struct kt_bpfmap *b, const struct kt_gk_mem *m)
{
	char *why = NULL;

	if (b->setup_err)
		return false;
	if (kt_gk_attached(b->gk))
		return true;
	if (kt_gk_attach(b->gk, m, &why) == 0) {
		kt_gk_refresh(b->gk, m);
		return true;
	}
	free(b->attach_why);
	b->attach_why = why;
	return false;
}

/* Capture idx's whole-map snapshots of the chosen maps. */
static void snapshot(struct kt_bpfmap *b, const struct kt_gk_mem *m, bool ok, unsigned idx,
		     const char *tag, uint64_t ms, const struct kt_bpf_cpus *cpus)
{
	struct snapcap *c = &b->caps[idx];
	struct kt_bpf_map *v = NULL;
	size_t n = 0;
	char *lwhy = NULL;
	int lr = -EFAULT;

	snprintf(c->tag, sizeof(c->tag), "%s", tag);
	c->elapsed_ms = ms;
	c->maps = json_array();
	if (ok) {
		v = kt_calloc(KT_BPF_MAPS_MAX, sizeof(*v));
		lr = kt_bpf_maps_list(b->gk, m, &b->lay, v, KT_BPF_MAPS_MAX, &n, &lwhy);
	}
	for (size_t i = 0; i < KTSTR_MAX_SNAPSHOT_MAPS; i++) {
		const char *name = b->t->snapshot_maps[i];
		struct kt_bpf_map map;
		char *why = NULL;
		json_t *j;

		if (!name)
			continue;
		if (!ok) {
			j = json_pack("{s:s}", "error", b->setup_err ? b->setup_err
							: b->attach_why ? b->attach_why
									: "guest kernel not found");
		} else if (lr) {
			j = json_pack("{s:s}", "error", lwhy);
		} else if (kt_bpf_map_pick(v, n, name, &map, &why)) {
			j = json_pack("{s:s}", "error", why);
		} else {
			uint64_t t0 = kt_now_ns();

			j = kt_bpf_map_snapshot(b->gk, m, &b->lay, &map, cpus, b->leaves);
			json_object_set_new(j, "read_us",
					    json_integer((json_int_t)((kt_now_ns() - t0) / 1000)));
		}
		free(why);
		json_array_append_new(c->maps, json_pack("{s:s}", "map", name));
		json_object_update(json_array_get(c->maps, json_array_size(c->maps) - 1), j);
		json_decref(j);
	}
	free(lwhy);
	free(v);
}

static void capture(struct kt_bpfmap *b, const struct kt_gk_mem *m, unsigned idx)
{
	uint64_t ms = (kt_now_ns() - b->start_ns) / 1000000;
	char tag[24];
	bool ok = attached(b, m);
	struct kt_bpf_cpus cpus;
	char *cpus_why = NULL;
	bool cpus_ok = false;

	snprintf(tag, sizeof(tag), "periodic_%03u", idx);
	if (ok) {
		kt_gk_refresh(b->gk, m);
		cpus_ok = kt_bpf_cpus_read(b->gk, m, &cpus, &cpus_why) == 0;
	}
	for (size_t i = 0; i < KTSTR_MAX_TEMPORAL; i++) {
		struct field *f = &b->cap[i];

		if (!f->map)
			continue;
		if (!ok) {
			kt_series_add(&b->series[i], tag, ms, 0,
				      b->setup_err ? b->setup_err
						   : (b->attach_why ? b->attach_why
								    : "guest kernel not found"));
		} else if (resolve(b, m, f)) {
			kt_series_add(&b->series[i], tag, ms, 0, f->err);
		} else if (!f->f.is_int) {
			char *e = kt_asprintf("%s.%s is not an integer of 1, 2, 4 or 8 bytes",
					      f->map_name, f->path);

			kt_series_add(&b->series[i], tag, ms, 0, e);
			free(e);
		} else if (f->percpu && !cpus_ok) {
			kt_series_add(&b->series[i], tag, ms, 0, cpus_why);
		} else {
			long double v = 0;
			const char *e = kt_bpf_field_read(b->gk, m, f->kva, &f->f,
							  f->percpu ? &cpus : NULL, &v);

			if (!e && f->percpu)
				f->ncpu = cpus.n;
			kt_series_add(&b->series[i], tag, ms, v, e);
		}
	}
	if (b->caps)
		snapshot(b, m, ok, idx, tag, ms, cpus_ok ? &cpus : NULL);
	b->fired++;
	free(cpus_why);
}

static void write_fail(struct kt_bpfmap *b, struct kt_vm_guest *g)
{
	b->ws = W_FAILED;
	kt_vm_guest_shm_ctrl_set(g, KT_PROTO_CTRL_TO_GUEST, KT_PROTO_SIG_MAP_WRITE_FAILED);
}

static void do_write(struct kt_bpfmap *b, struct kt_vm_guest *g, const struct kt_gk_mem *m)
{
	const struct ktstr_bpf_map_write *w = &b->t->bpf_map_write;
	uint64_t now = kt_now_ns();
	uint8_t old[8] = {0}, v[8];
	uint32_t size;
	char ov[48], where[96];

	if (kt_vm_guest_shm_ctrl_get(g, KT_PROTO_CTRL_TO_HOST) != KT_PROTO_SIG_PROBES_READY)
		return;
	if (!b->ready_ns)
		b->ready_ns = now;
	if (b->setup_err) {
		write_fail(b, g);
		return;
	}
	if (!attached(b, m) || resolve(b, m, &b->wf)) {
		if (b->wf.permanent || now - b->ready_ns > WRITE_GIVE_UP_MS * 1000000ull)
			write_fail(b, g);
		return;
	}
	size = w->size ? w->size : b->wf.f.size;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		set_err(&b->wf, true,
			kt_asprintf("field %s is %u bytes; give .size (1, 2, 4 or 8)", b->wf.path,
				    b->wf.f.size));
		write_fail(b, g);
		return;
	}
	if (size > b->wf.f.size) {
		set_err(&b->wf, true,
			kt_asprintf("%u bytes do not fit field %s (%u bytes)", size, b->wf.path,
				    b->wf.f.size));
		write_fail(b, g);
		return;
	}
	memcpy(v, &w->value, sizeof(v)); /* little-endian: the low `size` bytes */
	if (kt_gk_read(b->gk, m, b->wf.kva, old, size) ||
	    kt_gk_write(b->gk, m, b->wf.kva, v, size)) {
		set_err(&b->wf, true, kt_strdup("the map's value cannot be written"));
		write_fail(b, g);
		return;
	}
	snprintf(ov, sizeof(ov), "%.0Lf", kt_bpf_int_value(old, size, false));
	if (b->wf.path)
		snprintf(where, sizeof(where), "field %s", b->wf.path);
	else
		snprintf(where, sizeof(where), "offset %zu", w->offset);
	b->wnote = kt_asprintf("bpf_map_write: host wrote %llu to %s %s (%u bytes, was %s) "
			       "%.1fs after boot",
			       (unsigned long long)w->value, b->wf.map_name, where, size, ov,
			       kt_vm_guest_elapsed(g));
	b->ws = W_DONE;
	kt_vm_guest_shm_ctrl_set(g, KT_PROTO_CTRL_TO_GUEST, KT_PROTO_SIG_MAP_WRITES_DONE);
}

void kt_bpfmap_tick(struct kt_bpfmap *b, struct kt_vm_guest *g)
{
	struct kt_gk_mem m;

	if (!b)
		return;
	m = kt_gk_vm_mem(g);
	if (b->ws == W_WAIT)
		do_write(b, g, &m);
	if (b->started && b->fired < b->n_snap) {
		uint64_t ms = (kt_now_ns() - b->start_ns) / 1000000;

		/* one capture per tick, each with its own time */
		if (ms >= kt_bpfmap_boundary_ms(b->duration_s, b->n_snap, b->fired))
			capture(b, &m, b->fired);
	}
}

void kt_bpfmap_finish(struct kt_bpfmap *b, struct kt_assert_result *r)
{
	if (!b)
		return;
	if (b->ws == W_DONE) {
		kt_assert_result_add_detail(r, KT_DETAIL_OTHER, b->wnote);
	} else if (b->ws != W_NONE) {
		const char *why = b->setup_err   ? b->setup_err
				  : b->wf.err    ? b->wf.err
				  : b->ready_ns  ? (b->attach_why ? b->attach_why
								 : "guest kernel not found in memory")
						 : "the guest never got past starting its scheduler";

		kt_assert_result_add_failure(r, KT_DETAIL_OTHER, "bpf_map_write to %s%s%s failed: %s",
					     b->t->bpf_map_write.map,
					     b->t->bpf_map_write.field ? " field " : "",
					     b->t->bpf_map_write.field ? b->t->bpf_map_write.field
								       : "",
					     why);
	}
	if (!b->n_snap)
		return;
	if (b->fired < b->n_snap) {
		char *m = kt_asprintf("num_snapshots: %u of %u captures taken (the run ended "
				      "before the others were due)",
				      b->fired, b->n_snap);

		kt_assert_result_add_detail(r, KT_DETAIL_TEMPORAL, m);
		free(m);
	}
	for (size_t i = 0; i < KTSTR_MAX_TEMPORAL; i++)
		if (b->cap[i].map)
			kt_temporal_eval(&b->t->temporal[i], &b->series[i], r);
}

static json_t *value_json(long double v)
{
	if (v == (long double)(long long)v)
		return json_integer((long long)v);
	return json_real((double)v);
}

json_t *kt_bpfmap_to_json(const struct kt_bpfmap *b)
{
	json_t *j = json_object(), *fields;

	if (b->ws != W_NONE) {
		const struct ktstr_bpf_map_write *w = &b->t->bpf_map_write;

		json_object_set_new(j, "write",
				    json_pack("{s:s,s:s?,s:I,s:b,s:s?}", "map", w->map, "field",
					      w->field, "value", (json_int_t)w->value, "done",
					      b->ws == W_DONE, "note",
					      b->ws == W_DONE ? b->wnote : b->wf.err));
	}
	if (!b->n_snap)
		return j;
	json_object_set_new(j, "periodic_target", json_integer(b->n_snap));
	json_object_set_new(j, "periodic_fired", json_integer(b->fired));
	fields = json_array();
	for (size_t i = 0; i < KTSTR_MAX_TEMPORAL; i++) {
		const struct kt_series *s = &b->series[i];
		json_t *pts = json_array();

		if (!b->cap[i].map)
			continue;
		for (size_t k = 0; k < s->n; k++) {
			const struct kt_series_point *p = &s->p[k];
			json_t *o = json_pack("{s:s,s:I}", "tag", p->tag, "elapsed_ms",
					      (json_int_t)p->elapsed_ms);

			if (p->err)
				json_object_set_new(o, "error", json_string(p->err));
			else
				json_object_set_new(o, "value", value_json(p->v));
			json_array_append_new(pts, o);
		}
		pts = json_pack("{s:s,s:s?,s:s,s:o}", "map", b->cap[i].map, "map_name",
				b->cap[i].map_name[0] ? b->cap[i].map_name : NULL, "field",
				b->cap[i].path, "samples", pts);
		if (b->cap[i].percpu)
			json_object_set_new(pts, "aggregate",
					    json_sprintf("sum over %u CPUs", b->cap[i].ncpu));
		json_array_append_new(fields, pts);
	}
	json_object_set_new(j, "fields", fields);
	if (b->caps) {
		json_t *names = json_array(), *caps = json_array();

		for (size_t i = 0; i < KTSTR_MAX_SNAPSHOT_MAPS; i++)
			if (b->t->snapshot_maps[i])
				json_array_append_new(names, json_string(b->t->snapshot_maps[i]));
		for (unsigned i = 0; i < b->fired; i++)
			json_array_append_new(caps,
					      json_pack("{s:s,s:I,s:O}", "tag", b->caps[i].tag,
							"elapsed_ms",
							(json_int_t)b->caps[i].elapsed_ms, "maps",
							b->caps[i].maps));
		json_object_set_new(j, "snapshot_maps", names);
		json_object_set_new(j, "captures", caps);
	}
	return j;
}

json_t *kt_bpfmap_last_maps(const json_t *bpf_maps)
{
	const json_t *names = json_object_get(bpf_maps, "snapshot_maps");
	const json_t *caps = json_object_get(bpf_maps, "captures");
	json_t *out = json_array();
	size_t i;
	json_t *name;

	json_array_foreach(names, i, name) {
		const json_t *last_err = NULL, *hit = NULL, *hit_cap = NULL;

		for (size_t c = json_array_size(caps); c-- > 0 && !hit;) {
			const json_t *cap = json_array_get(caps, c), *mj;
			size_t k;

			json_array_foreach(json_object_get(cap, "maps"), k, mj) {
				if (!json_equal(json_object_get(mj, "map"), name))
					continue;
				if (json_object_get(mj, "entries")) {
					hit = mj;
					hit_cap = cap;
				} else if (!last_err) {
					last_err = mj;
				}
				break;
			}
		}
		if (hit) {
			json_t *o = json_deep_copy(hit);

			json_object_set(o, "tag", json_object_get(hit_cap, "tag"));
			json_object_set(o, "elapsed_ms", json_object_get(hit_cap, "elapsed_ms"));
			json_array_append_new(out, o);
		} else {
			const char *e = json_string_value(json_object_get(last_err, "error"));

			json_array_append_new(
			    out, e ? json_pack("{s:O,s:s+}", "map", name, "error",
					       "no capture read it; the last said: ", e)
				   : json_pack("{s:O,s:s}", "map", name, "error",
					       "no capture was taken before the run ended"));
		}
	}
	return out;
}
