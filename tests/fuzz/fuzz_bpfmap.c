// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the BPF map walk (bpfmap/maps.c) over guest memory
 * the guest controls. The image of tests/unit/bpf_image.h (map_idr, its
 * xarray nodes, three maps, an array's BTF and value) is built once; each
 * input overwrites parts of it, then every lookup a test run makes is
 * done: the walk, a map by suffix, its BTF, fields, the value, and the
 * whole-map snapshot of each (BTF rendering, the per-CPU array, the hash
 * bucket walk). The input is a list of patches {u8 window, u16 offset,
 * u8 length, bytes}; window 9 is the map_idr head itself, 10..13 the
 * per-CPU array, the hash map, its buckets and its elements. Any outcome
 * but a crash, a sanitizer report or a hang is fine.
 */
#include <jansson.h>

#include "../unit/bpf_image.h"

static const uint64_t windows[] = {IMG_ROOT, IMG_N0, IMG_N1,	    IMG_A,	 IMG_B,
				   IMG_C,    IMG_BTF, IMG_BLOB, IMG_A + 0x100, 0 /* head */,
				   IMG_D,    IMG_E,   IMG_BUCKETS, IMG_ELEMS};
#define N_WINDOWS (sizeof(windows) / sizeof(windows[0]))
#define REGION (IMG_BLOB + 0x20000 - IMG_ROOT)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct img x;
	static uint8_t *pristine;
	static uint32_t btf_len;
	static const char *const names[] = {".bss", ".data", "other.data", "x", "stats",
					    "task_map"};
	static struct kt_bpf_cpus cpus;
	static const char *const fields[] = {"counter", "pr.b", "neg", "nope", "pr"};
	struct kt_bpf_map maps[8], m;
	char *why = NULL;
	size_t n, i = 0;

	if (!pristine) {
		if (img_setup(&x, &btf_len) || kt_bpf_cpus_read(x.gk, &x.m, &cpus, &why))
			abort(); /* run from the repository root */
		pristine = malloc(REGION);
		memcpy(pristine, x.im.ram + IMG_ROOT, REGION);
	}
	memcpy(x.im.ram + IMG_ROOT, pristine, REGION);
	while (i + 4 <= size) {
		unsigned w = data[i] % N_WINDOWS, len = data[i + 3];
		uint16_t off;

		memcpy(&off, data + i + 1, 2);
		i += 4;
		if (len > size - i)
			len = (unsigned)(size - i);
		if (w == 9) {
			uint64_t head = 0;

			memcpy(&head, data + i, len < 8 ? len : 8);
			gk_img_put(&x.im, IMG_MAP_IDR, 0, x.l.idr_head, &head, 8);
		} else {
			memcpy(x.im.ram + windows[w] + off, data + i, len);
		}
		i += len;
	}
	(void)kt_bpf_maps_list(x.gk, &x.m, &x.l, maps, 8, &n, &why);
	free(why);
	why = NULL;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct btf *btf = NULL;
		uint64_t val, v;

		if (kt_bpf_map_find(x.gk, &x.m, &x.l, names[k], &m, &why) == 0) {
			struct kt_bpf_field whole = {.size = 8, .is_int = true};
			long double sum;

			json_decref(kt_bpf_map_snapshot(x.gk, &x.m, &x.l, &m, &cpus, 2000));
			if (kt_bpf_array_elem(x.gk, &x.m, &x.l, &m, 1, &val, &why) == 0)
				(void)kt_bpf_field_read(x.gk, &x.m, val, &whole,
							kt_bpf_map_is_percpu(m.type) ? &cpus
										     : NULL,
							&sum);
			free(why);
			why = NULL;
			if (kt_bpf_map_btf(x.gk, &x.m, &x.l, &m, &btf, &why) == 0) {
				for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
					struct kt_bpf_field fd;

					if (kt_bpf_value_field(btf, m.value_tid, fields[f], &fd,
							       &why) == 0 &&
					    fd.is_int &&
					    kt_bpf_array_value(&x.l, &m, &val, &why) == 0 &&
					    kt_gk_read(x.gk, &x.m, val + fd.off, &v, fd.size) == 0)
						(void)kt_bpf_int_value(&v, fd.size, fd.is_signed);
					free(why);
					why = NULL;
				}
				btf__free(btf);
			}
		}
		free(why);
		why = NULL;
	}
	gk_img_put(&x.im, IMG_MAP_IDR, 0, x.l.idr_head, &(uint64_t){PO + IMG_ROOT + 2}, 8);
	return 0;
}
