// SPDX-License-Identifier: GPL-2.0
/*
 * Compressed initramfs images, cached by the XXH64 of their uncompressed
 * content so that an unchanged archive is compressed once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "util/util.h"
#include "vm/initramfs.h"

/*
 * zstd level 3 (the library default). bench/initramfs.sh measures levels
 * against each other; see the notes in the commit history / report: level 3
 * costs little more compression time than level 1 and gives a smaller image,
 * and the guest's decompression time is dominated by output size, not level.
 */
#define KT_INITRAMFS_ZSTD_LEVEL 3
/* Temporary files of writers that died are removed after this long. */
#define STALE_TMP_SECONDS 3600

int kt_initramfs_compress(const void *data, size_t len, void **out, size_t *out_len)
{
	size_t bound = ZSTD_compressBound(len);
	ZSTD_CCtx *cctx;
	void *buf;
	size_t n;

	if (ZSTD_isError(bound))
		return -EFBIG;
	cctx = ZSTD_createCCtx();
	if (!cctx)
		return -ENOMEM;
	buf = kt_malloc(bound);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, KT_INITRAMFS_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
	/* The kernel's decompressor would verify a checksum at emulated speed: skip it. */
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
	n = ZSTD_compress2(cctx, buf, bound, data, len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

char *kt_initramfs_cache_dir(void)
{
	const char *d = kt_getenv("KTSTR_INITRAMFS_CACHE_DIR");
	const char *x = kt_getenv("XDG_CACHE_HOME");
	const char *h = kt_getenv("HOME");

	if (d)
		return kt_strdup(d);
	if (x)
		return kt_asprintf("%s/ktstr/initramfs", x);
	return kt_asprintf("%s/.cache/ktstr/initramfs", h ? h : "/tmp");
}

/* Does path hold a zstd frame announcing len bytes of content? */
static bool valid_image(const char *path, size_t len)
{
	unsigned char hdr[18]; /* ZSTD_FRAMEHEADERSIZE_MAX */
	unsigned long long cs;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (n < 4)
		return false;
	cs = ZSTD_getFrameContentSize(hdr, (size_t)n);
	return cs == (unsigned long long)len;
}

struct cache_file {
	char *path;
	time_t mtime;
	off_t size;
};

static int by_mtime_desc(const void *a, const void *b)
{
	const struct cache_file *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(x->path, y->path);
}

/*
 * Keep the newest entries within the limits; keep always stays. Stale
 * temporaries of dead writers go too. Errors are ignored: pruning is
 * best effort.
 */
static void prune(const char *dir, const char *keep, size_t max_entries,
		  unsigned long long max_bytes)
{
	struct cache_file *files = NULL;
	size_t n = 0, cap = 0, kept = 0; /* kept: entries other than keep */
	unsigned long long bytes = 0;
	time_t now = time(NULL);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = kt_path_join(dir, de->d_name);
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (strstr(de->d_name, ".cpio.zst.tmp-")) {
			if (now - st.st_mtime > STALE_TMP_SECONDS)
				unlink(p);
			free(p);
			continue;
		}
		if (!kt_endswith(de->d_name, ".cpio.zst")) {
			free(p);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			files = kt_realloc(files, cap * sizeof(*files));
		}
		files[n++] = (struct cache_file){p, st.st_mtime, st.st_size};
	}
	closedir(d);
	qsort(files, n, sizeof(*files), by_mtime_desc);
	/* The kept image counts against both limits first. */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i].path, keep))
			bytes = (unsigned long long)files[i].size;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(files[i].path, keep)) {
			if (kept + 1 < max_entries &&
			    bytes + (unsigned long long)files[i].size <= max_bytes) {
				kept++;
				bytes += (unsigned long long)files[i].size;
			} else {
				unlink(files[i].path);
			}
		}
		free(files[i].path);
	}
	free(files);
}

int kt_initramfs_cache_get(const void *cpio, size_t len, char **out_path, char **err)
{
	char *dir = kt_initramfs_cache_dir();
	uint64_t h = kt_xxh64(cpio, len);
	char name[64];
	char *path;
	void *z;
	size_t zlen;
	int r;

	*out_path = NULL;
	snprintf(name, sizeof(name), "%016llx.cpio.zst", (unsigned long long)h);
	path = kt_path_join(dir, name);
	if (valid_image(path, len)) {
		/* Refresh the LRU position. */
		utimensat(AT_FDCWD, path, NULL, 0);
		goto done;
	}
	r = kt_mkdir_p(dir, 0755);
	if (r) {
		*err = kt_asprintf("initramfs cache %s: %s", dir, strerror(-r));
		goto fail;
	}
	r = kt_initramfs_compress(cpio, len, &z, &zlen);
	if (r) {
		*err = kt_asprintf("initramfs: zstd compression of %zu bytes failed", len);
		goto fail;
	}
	r = kt_write_file_atomic(path, z, zlen, 0644);
	free(z);
	if (r) {
		*err = kt_asprintf("initramfs cache %s: %s", path, strerror(-r));
		goto fail;
	}
done:
	prune(dir, path, KT_INITRAMFS_CACHE_MAX_ENTRIES, KT_INITRAMFS_CACHE_MAX_BYTES);
	free(dir);
	*out_path = path;
	return 0;
fail:
	free(dir);
	free(path);
	return r;
}

int kt_initramfs_compose(const char *base_path, const void *suffix, size_t suffix_len,
			 const char *out_path, char **err)
{
	static const char zeros[4];
	struct sbuf sb = SBUF_INIT;
	char *base;
	size_t blen;
	int r;

	r = kt_read_file(base_path, &base, &blen, 0);
	if (r) {
		*err = kt_asprintf("%s: %s", base_path, strerror(-r));
		return r;
	}
	sb_add(&sb, base, blen);
	free(base);
	/* cpio headers start 4-byte aligned; the kernel skips zero padding. */
	sb_add(&sb, zeros, (4 - sb.len % 4) % 4);
	if (suffix_len)
		sb_add(&sb, suffix, suffix_len);
	r = kt_write_file_atomic(out_path, sb.s, sb.len, 0644);
	if (r)
		*err = kt_asprintf("%s: %s", out_path, strerror(-r));
	sb_free(&sb);
	return r;
}
