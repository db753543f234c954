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
#include <lz4.h>
#include <zstd.h>

#include "util/util.h"
#include "vm/initramfs.h"

/*
 * zstd level 3: measured by bench/initramfs.sh and bench/initramfs_boot.sh
 * on a 6 MiB archive, level 3 compresses faster than level 1 here (smaller
 * output, 150-220 ms vs 140-450 ms under load) and the guest spends the same
 * ~250 ms unpacking any zstd level, so a higher level buys nothing.
 */
#define KT_INITRAMFS_ZSTD_LEVEL 3
/* LZ4 legacy frame: magic, then per <= 8 MiB chunk a u32 size and a raw block. */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_CHUNK (8u << 20)
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

int kt_initramfs_compress_lz4(const void *data, size_t len, void **out, size_t *out_len)
{
	size_t nchunks = (len + LZ4_LEGACY_CHUNK - 1) / LZ4_LEGACY_CHUNK;
	size_t cap = 4 + nchunks * (4 + (size_t)LZ4_compressBound(LZ4_LEGACY_CHUNK)) + 4;
	const char *p = data;
	uint8_t *buf = kt_malloc(cap);
	size_t pos = 4;
	uint32_t magic = LZ4_LEGACY_MAGIC;

	memcpy(buf, &magic, 4);
	for (size_t off = 0; off < len; off += LZ4_LEGACY_CHUNK) {
		int in = (int)(len - off < LZ4_LEGACY_CHUNK ? len - off : LZ4_LEGACY_CHUNK);
		int n =
		    LZ4_compress_default(p + off, (char *)buf + pos + 4, in, (int)(cap - pos - 4));
		uint32_t n32 = (uint32_t)n;

		if (n <= 0) {
			free(buf);
			return -EIO;
		}
		memcpy(buf + pos, &n32, 4);
		pos += 4 + (size_t)n;
	}
	*out = buf;
	*out_len = pos;
	return 0;
}

static const char *const fmt_names[] = {"none", "lz4", "zstd"};
static const char *const fmt_ext[] = {".cpio", ".cpio.lz4", ".cpio.zst"};

int kt_initramfs_parse_fmt(const char *s, enum kt_initramfs_fmt *out)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(fmt_names); i++) {
		if (s && !strcmp(s, fmt_names[i])) {
			*out = (enum kt_initramfs_fmt)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *kt_initramfs_fmt_name(enum kt_initramfs_fmt fmt)
{
	return (unsigned)fmt < KT_ARRAY_SIZE(fmt_names) ? fmt_names[fmt] : "?";
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

/*
 * Does path hold an intact image of len bytes of content? none: the size and
 * cpio magic; zstd: the frame header's content size and a block chain that
 * ends at the end of the file; lz4: the chunk chain ends exactly at the end
 * of the file with the expected number of chunks. (Truncation and junk are
 * caught; writes are atomic, so damage inside a block is not expected.)
 */
static bool valid_image(const char *path, enum kt_initramfs_fmt fmt, size_t len)
{
	unsigned char hdr[18]; /* ZSTD_FRAMEHEADERSIZE_MAX */
	bool ok = false;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0)
		goto out;
	if (fmt == KT_INITRAMFS_NONE) {
		ok = (size_t)st.st_size == len && pread(fd, hdr, 6, 0) == 6 &&
		     !memcmp(hdr, "070701", 6);
	} else if (fmt == KT_INITRAMFS_ZSTD) {
		char *img;
		size_t ilen;

		n = pread(fd, hdr, sizeof(hdr), 0);
		if (n < 4 || ZSTD_getFrameContentSize(hdr, (size_t)n) != (unsigned long long)len)
			goto out;
		/* The block headers must chain to exactly the end of the file. */
		if (kt_read_file(path, &img, &ilen, (size_t)st.st_size + 1))
			goto out;
		ok = ZSTD_findFrameCompressedSize(img, ilen) == ilen;
		free(img);
	} else {
		uint32_t w;
		off_t pos = 4;
		size_t chunks = 0, want = (len + LZ4_LEGACY_CHUNK - 1) / LZ4_LEGACY_CHUNK;

		if (pread(fd, &w, 4, 0) != 4 || w != LZ4_LEGACY_MAGIC)
			goto out;
		while (pos < st.st_size && chunks <= want) {
			if (pread(fd, &w, 4, pos) != 4)
				goto out;
			pos += 4 + (off_t)w;
			chunks++;
		}
		ok = pos == st.st_size && chunks == want;
	}
out:
	close(fd);
	return ok;
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
		if (strstr(de->d_name, ".tmp-")) {
			if (now - st.st_mtime > STALE_TMP_SECONDS)
				unlink(p);
			free(p);
			continue;
		}
		if (!kt_endswith(de->d_name, ".cpio") && !kt_endswith(de->d_name, ".cpio.zst") &&
		    !kt_endswith(de->d_name, ".cpio.lz4")) {
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

enum kt_initramfs_fmt kt_initramfs_default_fmt(void)
{
	enum kt_initramfs_fmt f;
	const char *e = kt_getenv("KTSTR_INITRAMFS_COMPRESS");

	if (e && !kt_initramfs_parse_fmt(e, &f))
		return f;
	return KT_INITRAMFS_DEFAULT_FMT;
}

int kt_initramfs_cache_get_fmt(const void *cpio, size_t len, enum kt_initramfs_fmt fmt,
			       char **out_path, char **err)
{
	char *dir = kt_initramfs_cache_dir();
	uint64_t h = kt_xxh64(cpio, len);
	char name[64];
	char *path;
	void *z = NULL;
	size_t zlen;
	int r;

	*out_path = NULL;
	if ((unsigned)fmt >= KT_ARRAY_SIZE(fmt_names)) {
		*err = kt_asprintf("initramfs: unknown compression format %d", (int)fmt);
		free(dir);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%016llx%s", (unsigned long long)h, fmt_ext[fmt]);
	path = kt_path_join(dir, name);
	if (valid_image(path, fmt, len)) {
		/* Refresh the LRU position. */
		utimensat(AT_FDCWD, path, NULL, 0);
		goto done;
	}
	r = kt_mkdir_p(dir, 0755);
	if (r) {
		*err = kt_asprintf("initramfs cache %s: %s", dir, strerror(-r));
		goto fail;
	}
	if (fmt == KT_INITRAMFS_ZSTD)
		r = kt_initramfs_compress(cpio, len, &z, &zlen);
	else if (fmt == KT_INITRAMFS_LZ4)
		r = kt_initramfs_compress_lz4(cpio, len, &z, &zlen);
	if (r) {
		*err = kt_asprintf("initramfs: %s compression of %zu bytes failed", fmt_names[fmt],
				   len);
		goto fail;
	}
	r = fmt == KT_INITRAMFS_NONE ? kt_write_file_atomic(path, cpio, len, 0644)
				     : kt_write_file_atomic(path, z, zlen, 0644);
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

int kt_initramfs_cache_get(const void *cpio, size_t len, char **out_path, char **err)
{
	return kt_initramfs_cache_get_fmt(cpio, len, kt_initramfs_default_fmt(), out_path, err);
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
	/*
	 * A zero word ends an LZ4 legacy stream (the kernel's unlz4 would read
	 * the suffix as another chunk); the kernel skips zero bytes between
	 * segments, and cpio headers start 4-byte aligned.
	 */
	sb_add(&sb, zeros, 4);
	sb_add(&sb, zeros, (4 - sb.len % 4) % 4);
	if (suffix_len)
		sb_add(&sb, suffix, suffix_len);
	r = kt_write_file_atomic(out_path, sb.s, sb.len, 0644);
	if (r)
		*err = kt_asprintf("%s: %s", out_path, strerror(-r));
	sb_free(&sb);
	return r;
}
