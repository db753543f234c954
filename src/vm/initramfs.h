/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Initramfs construction: an in-memory cpio "newc" writer, ELF shared-library
 * closure (DT_NEEDED + PT_INTERP, via libelf), debug stripping, and a
 * content-addressed cache of archive images (plain, LZ4 legacy or zstd: all
 * formats the guest kernel unpacks).
 *
 * Archive rules (kt_cpio_*):
 *  - Paths are relative ("init", "bin/sh"); a leading '/' is stripped, ".",
 *    "..", empty components and "//" are rejected (-EINVAL), and so is
 *    "TRAILER!!!" as the first component (the end-of-archive name, as the
 *    entry or its parent directory it would hide what follows).
 *  - Parent directories are added automatically (mode 0755) before an entry.
 *  - Adding a path again: a directory over a directory is ignored (the first
 *    mode wins); a file or symlink identical to the existing one (same type,
 *    mode and content/target) is ignored; anything else is -EEXIST.
 *  - Headers follow the kernel's newc format: ino = entry index + 1, nlink 1
 *    (2 for directories), uid/gid/mtime/dev 0, check 0, name and data padded
 *    to 4 bytes.
 *  - After kt_cpio_finish() further adds fail with -EINVAL.
 * Functions return 0 or a negative errno; those taking char **err also set
 * *err to a malloc'd one-line message ("<what>: <why>") on failure.
 */
#ifndef KTSTR_VM_INITRAMFS_H
#define KTSTR_VM_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kt_cpio;

struct kt_cpio *kt_cpio_new(void);
void kt_cpio_free(struct kt_cpio *c);

/* Directory (and its parents). mode: permission bits (S_IFDIR is implied). */
int kt_cpio_add_dir(struct kt_cpio *c, const char *path, mode_t mode);
/* Regular file with the given content. mode: permission bits. */
int kt_cpio_add_data(struct kt_cpio *c, const char *path, const void *data, size_t len,
		     mode_t mode);
/*
 * Regular file read from host_path (symlinks followed; must be a regular
 * file). mode 0 = the host file's permission bits.
 */
int kt_cpio_add_file(struct kt_cpio *c, const char *path, const char *host_path, mode_t mode);
/* Symbolic link path -> target (target stored verbatim). */
int kt_cpio_add_symlink(struct kt_cpio *c, const char *path, const char *target);
/*
 * Recursively add host_dir's contents under guest_dir ("" = archive root):
 * directories, regular files (host mode) and symlinks (verbatim). Special
 * files (devices, FIFOs, sockets) are rejected, as is a guest_dir with a ".."
 * component (every archive path is checked the same way).
 */
int kt_cpio_add_tree(struct kt_cpio *c, const char *guest_dir, const char *host_dir, char **err);
/*
 * Add the ELF host_path at path (host mode) plus everything it needs to run:
 * PT_INTERP and the DT_NEEDED closure (see kt_elf_deps()). Libraries are
 * stored at their canonical host path; other host paths they were found
 * under become symlinks to "/<canonical>". Libraries already added by an
 * earlier call are not added again. A static ELF adds only itself. A
 * library that cannot be found is an error naming it and the binary.
 */
int kt_cpio_add_elf(struct kt_cpio *c, const char *path, const char *host_path, char **err);
/* kt_cpio_add_elf_flags() flags. */
#define KT_ELF_STRIP_DEBUG 1u /* store the ELF itself through kt_elf_strip_debug() */
int kt_cpio_add_elf_flags(struct kt_cpio *c, const char *path, const char *host_path,
			  unsigned flags, char **err);
/* kt_cpio_add_file() through kt_elf_strip_debug() (non-ELF files unchanged). */
int kt_cpio_add_file_stripped(struct kt_cpio *c, const char *path, const char *host_path,
			      mode_t mode);
/*
 * Copy of an ELF image without the contents of .debug_*, .zdebug_* and
 * .comment (those sections remain with size 0; nothing is renumbered, the
 * loaded bytes, program headers and .symtab are untouched, so it runs and
 * symbolizes as before). 64-bit little-endian ELFs whose debug sections lie
 * behind the loaded part are stripped; any other ELF is copied unchanged.
 * -ENOEXEC if in is not an ELF. *out: malloc'd.
 */
int kt_elf_strip_debug(const void *in, size_t len, void **out, size_t *out_len);

/*
 * Append "TRAILER!!!" and pad the archive to a multiple of 512 bytes.
 * *data stays valid until kt_cpio_free(). Calling it again returns the
 * same archive.
 */
int kt_cpio_finish(struct kt_cpio *c, const void **data, size_t *len);
/* Number of entries added so far (trailer excluded). */
size_t kt_cpio_count(const struct kt_cpio *c);

/*
 * Shared-library closure of an ELF: fills *paths with a NULL-terminated,
 * malloc'd array of absolute host paths (the interpreter first, then
 * libraries in BFS order, each as found - possibly through a symlink).
 * A static ELF gives an empty array. Search order per library (glibc's):
 *  1. DT_RPATH (only when DT_RUNPATH is absent), 2. LD_LIBRARY_PATH,
 *  3. DT_RUNPATH, 4. for a non-standard PT_INTERP its directory and
 *  ../lib, ../lib64, 5. /etc/ld.so.cache (new format "glibc-ld.so.cache1.1";
 *  KTSTR_LD_SO_CACHE overrides the path, for tests), 6. default dirs
 *  /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib64, /usr/lib64,
 *  /lib, /usr/lib, /usr/local/lib, /usr/local/lib64 (and the aarch64
 *  multiarch dirs). $ORIGIN, ${ORIGIN}, $LIB and $PLATFORM are expanded.
 * A candidate must be an ELF of the same class and machine.
 * In the archive (kt_cpio_add_elf), because the guest has no ld.so.cache and
 * the ELF may sit at another path than on the host, a library found through
 * the root's $ORIGIN also gets a symlink where the guest's $ORIGIN points,
 * and one found only through ld.so.cache a symlink in /lib/<multiarch>/.
 */
int kt_elf_deps(const char *host_path, char ***paths, char **err);
void kt_elf_deps_free(char **paths);

/*
 * Content-addressed cache of initramfs images. The key is the XXH64 (seed 0)
 * of the uncompressed archive; the image is stored as <dir>/<016x hash><ext>
 * where <dir> is $KTSTR_INITRAMFS_CACHE_DIR, else $XDG_CACHE_HOME/ktstr/
 * initramfs, else ~/.cache/ktstr/initramfs, and <ext> is ".cpio" (stored
 * uncompressed), ".cpio.lz4" (LZ4 legacy frame: magic 0x184C2102, then per
 * <= 8 MiB chunk a u32 size and a raw block; what the kernel's RD_LZ4 reads)
 * or ".cpio.zst" (one zstd frame with the content size, level 3, no checksum).
 * A hit (an intact image: size / frame content size / chunk chain checked)
 * only refreshes the file's mtime; a miss compresses and writes atomically.
 * Afterwards the directory is pruned to the newest
 * KT_INITRAMFS_CACHE_MAX_ENTRIES images within KT_INITRAMFS_CACHE_MAX_BYTES
 * (the image just returned always stays), and temporaries of writers that
 * died more than an hour ago are removed.
 *
 * Format choice (bench/initramfs_boot.sh, 6 MiB archive, guest time under
 * -icount so host load does not matter): time from boot to /init was
 * none 2080 ms, lz4 2096 ms (+0.8%), zstd-1/3 2160 ms (+3.8%), gzip 2192 ms,
 * zstd-19 2175 ms; the kernel spent 22 ms unpacking the plain archive, 49 ms
 * lz4, ~250 ms zstd at any level. Under TCG the guest's decompressor is the
 * cost and QEMU loads a plain file for free, so the default is "none"; set
 * KTSTR_INITRAMFS_COMPRESS=none|lz4|zstd to choose (e.g. zstd to save disk).
 * *out_path: malloc'd path of the image, suitable for -initrd.
 */
enum kt_initramfs_fmt { KT_INITRAMFS_NONE, KT_INITRAMFS_LZ4, KT_INITRAMFS_ZSTD };
#define KT_INITRAMFS_DEFAULT_FMT KT_INITRAMFS_NONE
#define KT_INITRAMFS_CACHE_MAX_ENTRIES 16
#define KT_INITRAMFS_CACHE_MAX_BYTES (1024ull << 20)
int kt_initramfs_cache_get(const void *cpio, size_t len, char **out_path, char **err);
int kt_initramfs_cache_get_fmt(const void *cpio, size_t len, enum kt_initramfs_fmt fmt,
			       char **out_path, char **err);
/* KTSTR_INITRAMFS_COMPRESS when valid, else KT_INITRAMFS_DEFAULT_FMT. */
enum kt_initramfs_fmt kt_initramfs_default_fmt(void);
/* "none", "lz4", "zstd" <-> enum; parse returns -EINVAL for anything else. */
int kt_initramfs_parse_fmt(const char *s, enum kt_initramfs_fmt *out);
const char *kt_initramfs_fmt_name(enum kt_initramfs_fmt fmt);

/*
 * Write out_path = the (possibly compressed) image at base_path followed by an
 * uncompressed cpio (suffix, e.g. per-run arguments; finished with
 * kt_cpio_finish). The kernel unpacks concatenated segments in order, so a
 * cached base plus a small per-run suffix boots without recompressing the
 * base. suffix may be NULL/0 (plain copy). out_path is written atomically.
 */
int kt_initramfs_compose(const char *base_path, const void *suffix, size_t suffix_len,
			 const char *out_path, char **err);
/* The cache directory as described above (malloc'd). */
char *kt_initramfs_cache_dir(void);

/* zstd-compress data at the level used by the cache (malloc'd result). */
int kt_initramfs_compress(const void *data, size_t len, void **out, size_t *out_len);
/* LZ4 legacy frame as described above (malloc'd result). */
int kt_initramfs_compress_lz4(const void *data, size_t len, void **out, size_t *out_len);
/* XXH64 with seed 0. */
uint64_t kt_xxh64(const void *data, size_t len);

#endif
