// SPDX-License-Identifier: GPL-2.0
/*
 * Initramfs benchmark (built by bench/initramfs.sh against build/libktstr.a).
 *   initramfs_bench CACHE_DIR ELF...
 * Packs every ELF with its shared libraries, then reports: archive size,
 * pack time, zstd levels (time, size, native decompression time), and the
 * cache: cold kt_initramfs_cache_get (compress + write) vs warm (hash +
 * header check) and their ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "util/util.h"
#include "vm/initramfs.h"

static double ms_since(uint64_t t0)
{
	return (double)(kt_now_ns() - t0) / 1e6;
}

int main(int argc, char **argv)
{
	static const int levels[] = {1, 3, 6, 9, 19};
	struct kt_cpio *c = kt_cpio_new();
	const void *data;
	size_t len;
	char *err = NULL, *path = NULL;
	uint64_t t0;
	double cold, warm = 1e9;

	if (argc >= 4 && !strcmp(argv[1], "--dump")) {
		/* --dump OUT ELF...: write the uncompressed archive (first ELF = init). */
		for (int i = 3; i < argc; i++) {
			char name[64];

			snprintf(name, sizeof(name), "bin/elf%d", i - 3);
			if (kt_cpio_add_elf(c, i == 3 ? "init" : name, argv[i], &err)) {
				fprintf(stderr, "ktstr: error: %s\n", err);
				return 1;
			}
		}
		kt_cpio_finish(c, &data, &len);
		return kt_write_file_atomic(argv[2], data, len, 0644) ? 1 : 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: %s CACHE_DIR ELF...\n       %s --dump OUT ELF...\n",
			argv[0], argv[0]);
		return 2;
	}
	t0 = kt_now_ns();
	for (int i = 2; i < argc; i++) {
		char name[64];

		snprintf(name, sizeof(name), "bin/elf%d", i - 2);
		if (kt_cpio_add_elf(c, i == 2 ? "init" : name, argv[i], &err)) {
			fprintf(stderr, "ktstr: error: %s\n", err);
			return 1;
		}
	}
	kt_cpio_finish(c, &data, &len);
	printf("archive: %zu entries, %.1f MiB, packed in %.1f ms\n", kt_cpio_count(c),
	       (double)len / (1 << 20), ms_since(t0));
	t0 = kt_now_ns();
	(void)kt_xxh64(data, len);
	printf("xxh64: %.2f ms\n", ms_since(t0));
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		size_t bound = ZSTD_compressBound(len), n;
		void *z = malloc(bound), *back = malloc(len);
		double ct, dt;

		t0 = kt_now_ns();
		n = ZSTD_compress(z, bound, data, len, levels[i]);
		ct = ms_since(t0);
		t0 = kt_now_ns();
		ZSTD_decompress(back, len, z, n);
		dt = ms_since(t0);
		printf("zstd -%-2d: %7.1f ms  %6.2f MiB (%.1f%%)  native decompress %.1f ms\n",
		       levels[i], ct, (double)n / (1 << 20), 100.0 * (double)n / (double)len, dt);
		free(z);
		free(back);
	}
	setenv("KTSTR_INITRAMFS_CACHE_DIR", argv[1], 1);
	t0 = kt_now_ns();
	if (kt_initramfs_cache_get(data, len, &path, &err)) {
		fprintf(stderr, "ktstr: error: %s\n", err);
		return 1;
	}
	cold = ms_since(t0);
	free(path);
	for (int i = 0; i < 5; i++) {
		double w;

		t0 = kt_now_ns();
		kt_initramfs_cache_get(data, len, &path, &err);
		w = ms_since(t0);
		if (w < warm)
			warm = w;
		free(path);
	}
	printf("cache (%s) cold (compress+write): %.1f ms, warm (hash+check): %.2f ms, "
	       "ratio cold/warm: %.0fx\n",
	       kt_initramfs_fmt_name(kt_initramfs_default_fmt()), cold, warm, cold / warm);
	kt_cpio_free(c);
	return 0;
}
