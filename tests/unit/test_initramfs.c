// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "util/util.h"
#include "vm/initramfs.h"

/* A strict newc reader for the tests: fills names/modes/data for each entry. */
struct ent {
	char name[256];
	uint32_t mode, nlink, ino;
	const char *data;
	size_t size;
};

static uint32_t hex8(const char *p)
{
	char b[9];

	memcpy(b, p, 8);
	b[8] = 0;
	return (uint32_t)strtoul(b, NULL, 16);
}

/* Returns the number of entries before TRAILER!!!, or -1 on a format error. */
static int parse_newc(const char *a, size_t len, struct ent *out, int max)
{
	size_t off = 0;
	int n = 0;

	for (;;) {
		uint32_t namesize, size;
		struct ent e;

		if (off + 110 > len || memcmp(a + off, "070701", 6))
			return -1;
		memset(&e, 0, sizeof(e));
		e.ino = hex8(a + off + 6);
		e.mode = hex8(a + off + 14);
		e.nlink = hex8(a + off + 38);
		size = hex8(a + off + 54);
		namesize = hex8(a + off + 94);
		if (!namesize || namesize > sizeof(e.name) || off + 110 + namesize > len)
			return -1;
		memcpy(e.name, a + off + 110, namesize);
		if (e.name[namesize - 1])
			return -1;
		off += 110 + namesize;
		off = (off + 3) & ~(size_t)3;
		if (off + size > len)
			return -1;
		e.data = a + off;
		e.size = size;
		off += size;
		off = (off + 3) & ~(size_t)3;
		if (!strcmp(e.name, "TRAILER!!!")) {
			for (; off < len; off++)
				if (a[off])
					return -1;
			return n;
		}
		if (n >= max)
			return -1;
		out[n++] = e;
	}
}

static int find(struct ent *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return i;
	return -1;
}

UNIT_TEST(cpio_basic_entries)
{
	struct kt_cpio *c = kt_cpio_new();
	struct ent e[32];
	const void *data;
	size_t len;
	int n, i;

	CHECK_INT_EQ(kt_cpio_add_data(c, "/bin/hello.txt", "hello", 5, 0644), 0);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "lib64/ld.so", "/usr/lib/ld.so"), 0);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "tmp", 01777), 0);
	CHECK_INT_EQ(kt_cpio_add_data(c, "empty", "", 0, 0600), 0);
	CHECK_INT_EQ(kt_cpio_count(c), 6);
	CHECK_INT_EQ(kt_cpio_finish(c, &data, &len), 0);
	CHECK_INT_EQ(len % 512, 0);
	n = parse_newc(data, len, e, 32);
	CHECK_INT_EQ(n, 6);
	/* Parents come before their children. */
	CHECK_STR_EQ(e[0].name, "bin");
	CHECK_INT_EQ(e[0].mode, S_IFDIR | 0755);
	CHECK_STR_EQ(e[1].name, "bin/hello.txt");
	CHECK_INT_EQ(e[1].mode, S_IFREG | 0644);
	CHECK_INT_EQ(e[1].size, 5);
	CHECK(!memcmp(e[1].data, "hello", 5));
	CHECK_INT_EQ(e[1].nlink, 1);
	i = find(e, n, "lib64/ld.so");
	CHECK(i > find(e, n, "lib64"));
	CHECK_INT_EQ(e[i].mode, S_IFLNK | 0777);
	CHECK_INT_EQ(e[i].size, strlen("/usr/lib/ld.so"));
	CHECK(!memcmp(e[i].data, "/usr/lib/ld.so", e[i].size));
	CHECK_INT_EQ(e[find(e, n, "tmp")].mode, S_IFDIR | 01777);
	CHECK_INT_EQ(e[find(e, n, "empty")].size, 0);
	/* Distinct inode numbers (the kernel links entries with equal ino and nlink > 1). */
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			CHECK(e[a].ino != e[b].ino);
	/* Finished: no more adds, finish is idempotent. */
	CHECK_INT_EQ(kt_cpio_add_dir(c, "x", 0755), -EINVAL);
	{
		const void *d2;
		size_t l2;

		CHECK_INT_EQ(kt_cpio_finish(c, &d2, &l2), 0);
		CHECK(d2 == data && l2 == len);
	}
	kt_cpio_free(c);
}

UNIT_TEST(cpio_duplicates_and_bad_paths)
{
	struct kt_cpio *c = kt_cpio_new();

	CHECK_INT_EQ(kt_cpio_add_data(c, "a/b", "x", 1, 0644), 0);
	/* Identical re-add is ignored; a different one is an error. */
	CHECK_INT_EQ(kt_cpio_add_data(c, "a/b", "x", 1, 0644), 0);
	CHECK_INT_EQ(kt_cpio_add_data(c, "/a/b", "y", 1, 0644), -EEXIST);
	CHECK_INT_EQ(kt_cpio_add_data(c, "a/b", "x", 1, 0755), -EEXIST);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "a/b", "x"), -EEXIST);
	/* Directory over directory: ignored (also with another mode). */
	CHECK_INT_EQ(kt_cpio_add_dir(c, "a", 0700), 0);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "a/b", 0755), -EEXIST);
	/* A file cannot be a parent. */
	CHECK_INT_EQ(kt_cpio_add_data(c, "a/b/c", "z", 1, 0644), -ENOTDIR);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "l", "t"), 0);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "l", "t"), 0);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "l", "u"), -EEXIST);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "l2", ""), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "/", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "x/../y", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "..", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "x//y", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "./y", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "d/", 0755), 0); /* trailing slash stripped */
	/* The end-of-archive name would make the kernel stop there (found by fuzz_cpio). */
	CHECK_INT_EQ(kt_cpio_add_data(c, "TRAILER!!!", "x", 1, 0644), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_dir(c, "/TRAILER!!!/", 0755), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_symlink(c, "TRAILER!!!", "t"), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_data(c, "TRAILER!!!/a", "x", 1, 0644), -EINVAL);
	CHECK_INT_EQ(kt_cpio_add_data(c, "d/TRAILER!!!", "x", 1, 0644), 0);
	CHECK_INT_EQ(kt_cpio_add_data(c, "TRAILER!!!x", "x", 1, 0644), 0);
	CHECK_INT_EQ(kt_cpio_count(c), 6);
	kt_cpio_free(c);
}

UNIT_TEST(cpio_many_entries)
{
	struct kt_cpio *c = kt_cpio_new();
	static struct ent e[3000];
	const void *data;
	size_t len;
	char p[64];

	for (int i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "d%d/f%d", i % 10, i);
		CHECK_INT_EQ(kt_cpio_add_data(c, p, p, strlen(p), 0644), 0);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "d%d/f%d", i % 10, i);
		CHECK_INT_EQ(kt_cpio_add_data(c, p, p, strlen(p), 0644), 0);
	}
	CHECK_INT_EQ(kt_cpio_count(c), 2010);
	kt_cpio_finish(c, &data, &len);
	CHECK_INT_EQ(parse_newc(data, len, e, 3000), 2010);
	kt_cpio_free(c);
}

static void write_host(const char *path, const char *s, mode_t mode)
{
	CHECK_INT_EQ(kt_write_file_atomic(path, s, strlen(s), mode), 0);
	chmod(path, mode);
}

UNIT_TEST(cpio_add_file_and_tree)
{
	const char *t = unit_tmpdir();
	char *root = kt_path_join(t, "root");
	char *f = kt_asprintf("%s/sub/x.sh", root);
	char *out = kt_path_join(t, "out");
	struct kt_cpio *c = kt_cpio_new();
	struct ent e[32];
	const void *data;
	size_t len;
	char *err = NULL, *cmd;
	int n, i, st;

	CHECK_INT_EQ(kt_mkdir_p(root, 0755), 0);
	CHECK_INT_EQ(kt_mkdir_p(kt_asprintf("%s/sub/deeper", root), 0750), 0);
	write_host(f, "#!/bin/sh\necho hi\n", 0751);
	write_host(kt_asprintf("%s/top.txt", root), "top", 0640);
	CHECK_INT_EQ(symlink("sub/x.sh", kt_asprintf("%s/link", root)), 0);

	CHECK_INT_EQ(kt_cpio_add_file(c, "bin/script", f, 0), 0);
	CHECK_INT_EQ(kt_cpio_add_file(c, "bin/script2", f, 0700), 0);
	CHECK_INT_EQ(kt_cpio_add_file(c, "nope", "/nonexistent/file", 0), -ENOENT);
	CHECK_INT_EQ(kt_cpio_add_file(c, "dir", root, 0), -EISDIR);
	CHECK_INT_EQ(kt_cpio_add_tree(c, "inc", root, &err), 0);
	CHECK(err == NULL);
	kt_cpio_finish(c, &data, &len);
	n = parse_newc(data, len, e, 32);
	CHECK(n > 0);
	i = find(e, n, "bin/script");
	CHECK(i >= 0);
	CHECK_INT_EQ(e[i].mode, S_IFREG | 0751);
	CHECK_INT_EQ(e[i].size, strlen("#!/bin/sh\necho hi\n"));
	CHECK_INT_EQ(e[find(e, n, "bin/script2")].mode, S_IFREG | 0700);
	CHECK_INT_EQ(e[find(e, n, "inc/sub/x.sh")].mode, S_IFREG | 0751);
	CHECK_INT_EQ(e[find(e, n, "inc/top.txt")].mode, S_IFREG | 0640);
	CHECK_INT_EQ(e[find(e, n, "inc/sub/deeper")].mode, S_IFDIR | 0750);
	i = find(e, n, "inc/link");
	CHECK(i >= 0);
	CHECK_INT_EQ(e[i].mode, S_IFLNK | 0777);
	CHECK(!memcmp(e[i].data, "sub/x.sh", 8));

	/* The system cpio tool agrees. */
	CHECK_INT_EQ(kt_write_file_atomic(out, data, len, 0644), 0);
	cmd = kt_asprintf("mkdir -p %s/x && cd %s/x && cpio -id --quiet < %s && "
			  "test \"$(cat inc/sub/x.sh)\" = \"$(printf '#!/bin/sh\\necho hi')\" && "
			  "test -L inc/link && test -x bin/script",
			  t, t, out);
	st = system(cmd);
	CHECK_INT_EQ(st, 0);
	kt_cpio_free(c);
}

UNIT_TEST(cpio_tree_rejects_special_files)
{
	const char *t = unit_tmpdir();
	char *root = kt_path_join(t, "r");
	char *err = NULL;
	struct kt_cpio *c = kt_cpio_new();

	CHECK_INT_EQ(kt_mkdir_p(root, 0755), 0);
	CHECK_INT_EQ(mkfifo(kt_asprintf("%s/fifo", root), 0644), 0);
	CHECK(kt_cpio_add_tree(c, "x", root, &err) < 0);
	CHECK_STR_CONTAINS(err, "fifo");
	CHECK_STR_CONTAINS(err, "not a regular file");
	free(err);
	err = NULL;
	kt_cpio_free(c);

	c = kt_cpio_new();
	unlink(kt_asprintf("%s/fifo", root));
	write_host(kt_asprintf("%s/a..b", root), "x", 0644);
	CHECK(kt_cpio_add_tree(c, "x/../y", root, &err) < 0);
	CHECK_STR_CONTAINS(err, "x/../y");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_cpio_add_tree(c, "x", root, &err), 0);
	CHECK(kt_cpio_add_tree(c, "y", "/nonexistent/dir", &err) < 0);
	CHECK_STR_CONTAINS(err, "/nonexistent/dir");
	free(err);
	kt_cpio_free(c);
}

UNIT_TEST(xxh64_vectors)
{
	CHECK(kt_xxh64("", 0) == 0xEF46DB3751D8E999ull);
	CHECK(kt_xxh64("abc", 3) == 0x44BC2CF5AD770999ull);
}

static bool has_suffix_entry(char **deps, const char *suffix)
{
	for (char **p = deps; *p; p++)
		if (kt_endswith(*p, suffix))
			return true;
	return false;
}

UNIT_TEST(elf_deps_dynamic_ls)
{
	char **deps = NULL;
	char *err = NULL;

	CHECK_INT_EQ(kt_elf_deps("/bin/ls", &deps, &err), 0);
	CHECK(deps && deps[0]);
	CHECK_STR_EQ(deps[0], "/lib64/ld-linux-x86-64.so.2");
	CHECK(has_suffix_entry(deps, "/libc.so.6"));
	CHECK(has_suffix_entry(deps, "/libselinux.so.1"));
	/* Transitive: libpcre2 is needed by libselinux, not by ls. */
	CHECK(has_suffix_entry(deps, "/libpcre2-8.so.0"));
	for (char **p = deps; *p; p++)
		CHECK((*p)[0] == '/');
	kt_elf_deps_free(deps);
}

UNIT_TEST(elf_deps_static_and_errors)
{
	const char *t = unit_tmpdir();
	char *bin = kt_path_join(t, "static");
	char *cmd = kt_asprintf("cd %s && printf 'int main(void){return 0;}\\n' > s.c && "
				"gcc -static -o static s.c",
				t);
	char **deps = NULL;
	char *err = NULL;
	struct kt_cpio *c;

	CHECK_INT_EQ(system(cmd), 0);
	CHECK_INT_EQ(kt_elf_deps(bin, &deps, &err), 0);
	CHECK(deps && !deps[0]);
	kt_elf_deps_free(deps);
	c = kt_cpio_new();
	CHECK_INT_EQ(kt_cpio_add_elf(c, "init", bin, &err), 0);
	CHECK_INT_EQ(kt_cpio_count(c), 1);
	kt_cpio_free(c);

	CHECK_INT_EQ(kt_elf_deps("/etc/passwd", &deps, &err), -ENOEXEC);
	CHECK_STR_CONTAINS(err, "/etc/passwd: not an ELF file");
	free(err);
	CHECK_INT_EQ(kt_elf_deps("/nonexistent/bin", &deps, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "/nonexistent/bin");
	free(err);
}

/* Build a program needing libkttest.so through RUNPATH=$ORIGIN/lib. */
static char *build_prog(const char *t)
{
	char *cmd = kt_asprintf(
	    "cd %s && mkdir -p lib && printf 'int kt_f(void){return 42;}\\n' > f.c && "
	    "printf 'int kt_f(void);\\nint main(void){return kt_f()==42?0:1;}\\n' > m.c && "
	    "gcc -shared -fPIC -o lib/libkttest.so.1 -Wl,-soname,libkttest.so.1 f.c && "
	    "ln -sf libkttest.so.1 lib/libkttest.so && "
	    "gcc -o prog m.c -Llib -lkttest -Wl,--enable-new-dtags,-rpath,'$ORIGIN/lib' && "
	    "./prog",
	    t);

	CHECK_INT_EQ(system(cmd), 0);
	free(cmd);
	return kt_path_join(t, "prog");
}

UNIT_TEST(elf_deps_origin_runpath_and_missing)
{
	const char *t = unit_tmpdir();
	char *prog = build_prog(t);
	char **deps = NULL;
	char *err = NULL, *lib = kt_asprintf("%s/lib/libkttest.so.1", t);
	struct kt_cpio *c;

	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), 0);
	CHECK(has_suffix_entry(deps, "/lib/libkttest.so.1"));
	CHECK(has_suffix_entry(deps, "/libc.so.6"));
	kt_elf_deps_free(deps);
	/* LD_LIBRARY_PATH comes before RUNPATH. */
	CHECK_INT_EQ(kt_mkdir_p(kt_asprintf("%s/other", t), 0755), 0);
	CHECK_INT_EQ(kt_copy_file(lib, kt_asprintf("%s/other/libkttest.so.1", t), 0755), 0);
	setenv("LD_LIBRARY_PATH", kt_asprintf("%s/nothing:%s/other", t, t), 1);
	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), 0);
	CHECK(has_suffix_entry(deps, "/other/libkttest.so.1"));
	kt_elf_deps_free(deps);
	unsetenv("LD_LIBRARY_PATH");
	/* Missing library: the error names the library and the binary. */
	CHECK_INT_EQ(unlink(lib), 0);
	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "libkttest.so.1 not found");
	CHECK_STR_CONTAINS(err, prog);
	free(err);
	err = NULL;
	c = kt_cpio_new();
	CHECK_INT_EQ(kt_cpio_add_elf(c, "bin/prog", prog, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "libkttest.so.1");
	kt_cpio_free(c);
	/* A library of the wrong class is skipped like the loader does. */
	CHECK_INT_EQ(kt_write_file_atomic(lib, "not an elf", 10, 0755), 0);
	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), -ENOENT);
	free(err);
}

/* Extract an archive and run a command chrooted into it (root or user namespace). */
static int run_in_archive(const char *t, const void *data, size_t len, const char *cmdline)
{
	static int seq;
	char *out = kt_asprintf("%s/a%d.cpio", t, seq);
	char *root = kt_asprintf("%s/root%d", t, seq++);
	char *cmd;
	int st;

	CHECK_INT_EQ(kt_write_file_atomic(out, data, len, 0644), 0);
	cmd = kt_asprintf("set -e; mkdir -p %s && cd %s && cpio -id --quiet < %s && "
			  "%s chroot %s %s",
			  root, root, out, geteuid() == 0 ? "" : "unshare -r", root, cmdline);
	st = system(cmd);
	free(cmd);
	free(out);
	free(root);
	return st;
}

UNIT_TEST(elf_pack_runs_in_chroot)
{
	const char *t = unit_tmpdir();
	char *prog = build_prog(t);
	struct kt_cpio *c = kt_cpio_new();
	char *err = NULL;
	const void *data;
	size_t len;
	struct ent e[256];
	int n, i;

	CHECK_INT_EQ(kt_cpio_add_elf(c, "bin/ls", "/bin/ls", &err), 0);
	CHECK(err == NULL);
	/* A second ELF sharing libc: shared libraries are not duplicated. */
	CHECK_INT_EQ(kt_cpio_add_elf(c, "prog", prog, &err), 0);
	CHECK(err == NULL);
	kt_cpio_finish(c, &data, &len);
	n = parse_newc(data, len, e, 256);
	CHECK(n > 0);
	/* The interpreter is reachable at its PT_INTERP path. */
	i = find(e, n, "lib64/ld-linux-x86-64.so.2");
	CHECK(i >= 0);
	if (S_ISLNK(e[i].mode)) {
		char tgt[256];

		memcpy(tgt, e[i].data, e[i].size);
		tgt[e[i].size] = 0;
		CHECK(tgt[0] == '/');
		CHECK(find(e, n, tgt + 1) >= 0);
		CHECK_INT_EQ(e[find(e, n, tgt + 1)].mode, S_IFREG | 0755);
	}
	CHECK_INT_EQ(run_in_archive(t, data, len, "/bin/ls /bin >/dev/null"), 0);
	CHECK_INT_EQ(run_in_archive(t, data, len, "/prog"), 0);
	kt_cpio_free(c);
}

#include <dirent.h>
#include <zstd.h>

static int count_dir(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (kt_endswith(de->d_name, suffix))
			n++;
	closedir(d);
	return n;
}

#include <lz4.h>

/* Decode an image of any format back to the archive (len bytes); true if equal. */
static bool image_decodes_to(enum kt_initramfs_fmt fmt, const char *z, size_t zlen,
			     const void *data, size_t len)
{
	char *back = malloc(len + 1);
	bool ok = false;

	if (fmt == KT_INITRAMFS_NONE) {
		ok = zlen == len && !memcmp(z, data, len);
	} else if (fmt == KT_INITRAMFS_ZSTD) {
		ok = ZSTD_decompress(back, len, z, zlen) == len && !memcmp(back, data, len);
	} else {
		uint32_t magic, n;
		size_t pos = 4, out = 0;

		memcpy(&magic, z, 4);
		ok = zlen >= 4 && magic == 0x184C2102u;
		while (ok && pos < zlen) {
			int d;

			memcpy(&n, z + pos, 4);
			pos += 4;
			d = LZ4_decompress_safe(z + pos, back + out, (int)n, (int)(len - out));
			ok = d > 0 && d <= (8 << 20);
			out += d > 0 ? (size_t)d : 0;
			pos += n;
		}
		ok = ok && pos == zlen && out == len && !memcmp(back, data, len);
	}
	free(back);
	return ok;
}

UNIT_TEST(initramfs_cache_roundtrip_hit_and_repair)
{
	const char *t = unit_tmpdir();
	char *dir = kt_path_join(t, "cache");
	struct kt_cpio *c = kt_cpio_new();
	static const char *const ext[] = {".cpio", ".cpio.lz4", ".cpio.zst"};
	const void *data;
	size_t len;
	char *err = NULL;
	enum kt_initramfs_fmt f;

	setenv("KTSTR_INITRAMFS_CACHE_DIR", dir, 1);
	CHECK_STR_EQ(kt_initramfs_cache_dir(), dir);
	for (int i = 0; i < 200; i++) {
		char p[32];

		snprintf(p, sizeof(p), "d/f%d", i);
		kt_cpio_add_data(c, p, "some repetitive content ", 24, 0644);
	}
	/* A large member: more than one 8 MiB LZ4 chunk. */
	{
		size_t bl = 9u << 20;
		char *big = malloc(bl);

		for (size_t i = 0; i < bl; i++)
			big[i] = (char)((i * 7) ^ (i >> 13));
		kt_cpio_add_data(c, "big", big, bl, 0644);
		free(big);
	}
	kt_cpio_finish(c, &data, &len);
	for (int fi = 0; fi < 3; fi++) {
		enum kt_initramfs_fmt fmt = (enum kt_initramfs_fmt)fi;
		char *path = NULL, *path2 = NULL, *z, name[64];
		size_t zlen;
		struct stat st1, st2;
		struct timespec old[2] = {{1000000, 0}, {1000000, 0}};

		CHECK_INT_EQ(kt_initramfs_cache_get_fmt(data, len, fmt, &path, &err), 0);
		CHECK(path && kt_startswith(path, dir));
		snprintf(name, sizeof(name), "/%016llx%s", (unsigned long long)kt_xxh64(data, len),
			 ext[fi]);
		CHECK(kt_endswith(path, name));
		CHECK_INT_EQ(kt_read_file(path, &z, &zlen, 0), 0);
		CHECK(fmt == KT_INITRAMFS_NONE || zlen < len);
		CHECK(image_decodes_to(fmt, z, zlen, data, len));
		free(z);
		/* Hit: same file (not rewritten), mtime refreshed. */
		CHECK_INT_EQ(utimensat(AT_FDCWD, path, old, 0), 0);
		CHECK_INT_EQ(stat(path, &st1), 0);
		CHECK_INT_EQ(kt_initramfs_cache_get_fmt(data, len, fmt, &path2, &err), 0);
		CHECK_STR_EQ(path2, path);
		CHECK_INT_EQ(stat(path, &st2), 0);
		CHECK_INT_EQ(st1.st_ino, st2.st_ino);
		CHECK(st2.st_mtime > 1000000);
		free(path2);
		/* Damaged images (junk, truncated) are replaced. */
		CHECK_INT_EQ(kt_read_file(path, &z, &zlen, 0), 0);
		CHECK_INT_EQ(kt_write_file_atomic(path, z, zlen - 1, 0644), 0);
		free(z);
		CHECK_INT_EQ(kt_initramfs_cache_get_fmt(data, len, fmt, &path2, &err), 0);
		free(path2);
		CHECK_INT_EQ(kt_read_file(path, &z, &zlen, 0), 0);
		CHECK(image_decodes_to(fmt, z, zlen, data, len));
		free(z);
		CHECK_INT_EQ(kt_write_file_atomic(path, "junk", 4, 0644), 0);
		CHECK_INT_EQ(kt_initramfs_cache_get_fmt(data, len, fmt, &path2, &err), 0);
		free(path2);
		CHECK_INT_EQ(kt_read_file(path, &z, &zlen, 0), 0);
		CHECK(image_decodes_to(fmt, z, zlen, data, len));
		free(z);
		free(path);
	}
	/* Format names and the environment override. */
	CHECK_INT_EQ(kt_initramfs_parse_fmt("lz4", &f), 0);
	CHECK_INT_EQ(f, KT_INITRAMFS_LZ4);
	CHECK_INT_EQ(kt_initramfs_parse_fmt("xz", &f), -EINVAL);
	CHECK_STR_EQ(kt_initramfs_fmt_name(KT_INITRAMFS_ZSTD), "zstd");
	unsetenv("KTSTR_INITRAMFS_COMPRESS");
	CHECK_INT_EQ(kt_initramfs_default_fmt(), KT_INITRAMFS_DEFAULT_FMT);
	setenv("KTSTR_INITRAMFS_COMPRESS", "zstd", 1);
	CHECK_INT_EQ(kt_initramfs_default_fmt(), KT_INITRAMFS_ZSTD);
	{
		char *p = NULL;

		CHECK_INT_EQ(kt_initramfs_cache_get(data, len, &p, &err), 0);
		CHECK(kt_endswith(p, ".cpio.zst"));
		free(p);
	}
	/* Unwritable cache directory: one clear error naming it. */
	{
		char *p = NULL;

		CHECK_INT_EQ(kt_write_file_atomic(kt_path_join(t, "file"), "x", 1, 0644), 0);
		setenv("KTSTR_INITRAMFS_CACHE_DIR", kt_asprintf("%s/file/sub", t), 1);
		CHECK(kt_initramfs_cache_get(data, len, &p, &err) < 0);
		CHECK_STR_CONTAINS(err, "/file/sub");
	}
	kt_cpio_free(c);
}

UNIT_TEST(initramfs_cache_prune_lru)
{
	const char *t = unit_tmpdir();
	char *dir = kt_path_join(t, "cache");
	char *paths[KT_INITRAMFS_CACHE_MAX_ENTRIES + 4];
	char *err = NULL, *stale;
	int n = KT_INITRAMFS_CACHE_MAX_ENTRIES + 4;

	setenv("KTSTR_INITRAMFS_CACHE_DIR", dir, 1);
	unsetenv("KTSTR_INITRAMFS_COMPRESS");
	for (int i = 0; i < n; i++) {
		char buf[32];
		struct timespec ts[2] = {{2000000 + i, 0}, {2000000 + i, 0}};

		snprintf(buf, sizeof(buf), "archive %d", i);
		CHECK_INT_EQ(kt_initramfs_cache_get(buf, strlen(buf), &paths[i], &err), 0);
		/* Distinct, increasing ages without sleeping. */
		CHECK_INT_EQ(utimensat(AT_FDCWD, paths[i], ts, 0), 0);
	}
	/* Entry 0 is used again: it becomes the newest and survives. */
	{
		char *p;

		CHECK_INT_EQ(kt_initramfs_cache_get("archive 0", 9, &p, &err), 0);
		free(p);
	}
	CHECK_INT_EQ(count_dir(dir, ".cpio"), KT_INITRAMFS_CACHE_MAX_ENTRIES);
	CHECK(kt_exists(paths[0]));
	CHECK(!kt_exists(paths[1]));
	CHECK(!kt_exists(paths[4]));
	CHECK(kt_exists(paths[5]));
	CHECK(kt_exists(paths[n - 1]));
	/* Stale temporaries of dead writers are removed, fresh ones kept. */
	stale = kt_asprintf("%s/0000000000000000.cpio.zst.tmp-99999", dir);
	CHECK_INT_EQ(kt_write_file_atomic(stale, "x", 1, 0644), 0);
	{
		struct timespec ts[2] = {{1000, 0}, {1000, 0}};
		char *fresh = kt_asprintf("%s/0000000000000001.cpio.zst.tmp-99998", dir);
		char *p;

		CHECK_INT_EQ(utimensat(AT_FDCWD, stale, ts, 0), 0);
		CHECK_INT_EQ(kt_write_file_atomic(fresh, "x", 1, 0644), 0);
		CHECK_INT_EQ(kt_initramfs_cache_get("archive 0", 9, &p, &err), 0);
		CHECK(!kt_exists(stale));
		CHECK(kt_exists(fresh));
	}
}

UNIT_TEST(initramfs_compose_base_and_suffix)
{
	const char *t = unit_tmpdir();
	struct kt_cpio *b = kt_cpio_new(), *s = kt_cpio_new();
	const void *bd, *sd;
	size_t bl, sl, zl, olen;
	char *path = NULL, *err = NULL, *out = kt_path_join(t, "initrd"), *o, *z;
	unsigned long long fsz;
	static struct ent e[16];
	void *back;

	setenv("KTSTR_INITRAMFS_CACHE_DIR", kt_path_join(t, "c"), 1);
	kt_cpio_add_data(b, "init", "base-binary", 11, 0755);
	kt_cpio_finish(b, &bd, &bl);
	kt_cpio_add_data(s, "args", "--exact\nfoo", 11, 0644);
	kt_cpio_finish(s, &sd, &sl);
	CHECK_INT_EQ(kt_initramfs_cache_get_fmt(bd, bl, KT_INITRAMFS_ZSTD, &path, &err), 0);
	CHECK_INT_EQ(kt_initramfs_compose(path, sd, sl, out, &err), 0);
	CHECK_INT_EQ(kt_read_file(out, &o, &olen, 0), 0);
	CHECK_INT_EQ(kt_read_file(path, &z, &zl, 0), 0);
	/* Layout: the zstd frame, a zero word, zero padding to 4, the plain suffix archive. */
	CHECK(!memcmp(o, z, zl));
	CHECK_INT_EQ(olen, ((zl + 4 + 3) & ~(size_t)3) + sl);
	for (size_t i = zl; i < olen - sl; i++)
		CHECK_INT_EQ(o[i], 0);
	CHECK(!memcmp(o + olen - sl, sd, sl));
	fsz = ZSTD_findFrameCompressedSize(o, olen);
	CHECK_INT_EQ(fsz, zl);
	back = malloc(bl);
	CHECK(ZSTD_decompress(back, bl, o, zl) == bl);
	CHECK_INT_EQ(parse_newc(back, bl, e, 16), 1);
	CHECK_INT_EQ(parse_newc(o + olen - sl, sl, e, 16), 1);
	CHECK_STR_EQ(e[0].name, "args");
	CHECK(kt_initramfs_compose("/nonexistent/base", sd, sl, out, &err) < 0);
	CHECK_STR_CONTAINS(err, "/nonexistent/base");
	kt_cpio_free(b);
	kt_cpio_free(s);
}

/* Write a one-entry new-format ld.so.cache mapping name -> path. */
static void write_ldcache(const char *file, const char *name, const char *path, uint32_t nlibs)
{
	char buf[1024];
	uint32_t key = 48 + 24, val = key + (uint32_t)strlen(name) + 1, flags = 0x0303;
	size_t len = val + strlen(path) + 1;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, "glibc-ld.so.cache1.1", 20);
	memcpy(buf + 20, &nlibs, 4);
	memcpy(buf + 48, &flags, 4);
	memcpy(buf + 52, &key, 4);
	memcpy(buf + 56, &val, 4);
	strcpy(buf + key, name);
	strcpy(buf + val, path);
	CHECK_INT_EQ(kt_write_file_atomic(file, buf, len, 0644), 0);
}

UNIT_TEST(elf_deps_ld_so_cache)
{
	const char *t = unit_tmpdir();
	char *cmd = kt_asprintf(
	    "cd %s && mkdir -p custom && printf 'int kt_f(void){return 42;}\\n' > f.c && "
	    "printf 'int kt_f(void);\\nint main(void){return kt_f()==42?0:1;}\\n' > m.c && "
	    "gcc -shared -fPIC -o custom/libktcache.so.1 -Wl,-soname,libktcache.so.1 f.c && "
	    "ln -sf libktcache.so.1 custom/libktcache.so && gcc -o prog m.c -Lcustom -lktcache",
	    t);
	char *cache = kt_path_join(t, "ld.so.cache");
	char *lib = kt_asprintf("%s/custom/libktcache.so.1", t);
	char *prog = kt_path_join(t, "prog");
	char **deps = NULL, *err = NULL;
	struct kt_cpio *c;
	const void *data;
	size_t len;
	static struct ent e[256];
	int n, i;

	CHECK_INT_EQ(system(cmd), 0);
	/* Not findable without the cache. */
	setenv("KTSTR_LD_SO_CACHE", "/nonexistent", 1);
	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), -ENOENT);
	CHECK_STR_CONTAINS(err, "libktcache.so.1");
	free(err);
	err = NULL;
	/* A hostile cache (nlibs far beyond the file) is ignored, not a crash. */
	write_ldcache(cache, "libktcache.so.1", lib, 0x7fffffff);
	setenv("KTSTR_LD_SO_CACHE", cache, 1);
	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), -ENOENT);
	free(err);
	err = NULL;
	/* The real entry: found, and linked into the guest loader's default directory. */
	cache = kt_path_join(t, "ld.so.cache2"); /* read once per path and process */
	write_ldcache(cache, "libktcache.so.1", lib, 1);
	setenv("KTSTR_LD_SO_CACHE", cache, 1);
	CHECK_INT_EQ(kt_elf_deps(prog, &deps, &err), 0);
	CHECK(deps != NULL);
	if (!deps)
		return;
	CHECK(has_suffix_entry(deps, "/custom/libktcache.so.1"));
	kt_elf_deps_free(deps);
	c = kt_cpio_new();
	CHECK_INT_EQ(kt_cpio_add_elf(c, "prog", prog, &err), 0);
	kt_cpio_finish(c, &data, &len);
	n = parse_newc(data, len, e, 256);
	i = find(e, n, "lib/x86_64-linux-gnu/libktcache.so.1");
	CHECK(i >= 0);
	CHECK_INT_EQ(e[i].mode, S_IFLNK | 0777);
	CHECK_INT_EQ(run_in_archive(t, data, len, "/prog"), 0);
	kt_cpio_free(c);
}

#include <gelf.h>

/* Section count and the size of a named section (-1 when absent) via libelf. */
static long elf_section_size(const void *img, size_t len, const char *want, size_t *nsec)
{
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	long r = -1;

	elf_version(EV_CURRENT);
	e = elf_memory((char *)img, len);
	if (!e || elf_getshdrstrndx(e, &shstrndx) || elf_getshdrnum(e, nsec)) {
		if (e)
			elf_end(e);
		return -2;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *nm;

		if (!gelf_getshdr(scn, &sh))
			break;
		nm = elf_strptr(e, shstrndx, sh.sh_name);
		if (nm && !strcmp(nm, want))
			r = (long)sh.sh_size;
	}
	elf_end(e);
	return r;
}

UNIT_TEST(elf_strip_debug_runs_and_symbolizes)
{
	const char *t = unit_tmpdir();
	char *cmd = kt_asprintf(
	    "cd %s && printf '#include <stdio.h>\\nstatic int helper_fn(int x){return x*2;}\\n"
	    "int main(int c, char **v){(void)v; printf(\"%%%%d\\\\n\", helper_fn(c)); return "
	    "0;}\\n'"
	    " > p.c && gcc -g -O0 -o dyn p.c && gcc -g -O0 -static -o sta p.c",
	    t);
	const char *bins[] = {"dyn", "sta"};

	CHECK_INT_EQ(system(cmd), 0);
	for (int k = 0; k < 2; k++) {
		char *in = kt_path_join(t, bins[k]), *outp = kt_asprintf("%s.s", in);
		char *data, *run;
		void *s;
		size_t len, slen, n1, n2;

		CHECK_INT_EQ(kt_read_file(in, &data, &len, 0), 0);
		CHECK(elf_section_size(data, len, ".debug_info", &n1) > 0);
		CHECK_INT_EQ(kt_elf_strip_debug(data, len, &s, &slen), 0);
		CHECK(slen < len);
		CHECK_INT_EQ(elf_section_size(s, slen, ".debug_info", &n2), 0);
		CHECK_INT_EQ(n1, n2); /* nothing renumbered */
		CHECK(elf_section_size(s, slen, ".symtab", &n2) > 0);
		CHECK_INT_EQ(kt_write_file_atomic(outp, s, slen, 0755), 0);
		run = kt_asprintf(
		    "test \"$(%s a b)\" = 6 && nm %s | grep -q helper_fn && "
		    "readelf -a %s 2>&1 >/dev/null | (! grep -i -q -e warning -e error)",
		    outp, outp, outp);
		CHECK_INT_EQ(system(run), 0);
		/* Idempotent: nothing left to strip gives the same bytes. */
		{
			void *s2;
			size_t l2;

			CHECK_INT_EQ(kt_elf_strip_debug(s, slen, &s2, &l2), 0);
			CHECK(l2 == slen && !memcmp(s2, s, slen));
			free(s2);
		}
		free(s);
		free(data);
	}
}

UNIT_TEST(elf_strip_debug_hostile_input)
{
	char *data;
	size_t len;
	void *s;
	size_t slen;
	uint32_t seed = 12345;

	CHECK_INT_EQ(kt_elf_strip_debug("hello", 5, &s, &slen), -ENOEXEC);
	CHECK_INT_EQ(kt_read_file("/bin/ls", &data, &len, 0), 0);
	/* Truncations and header corruption: never a crash, always a result. */
	for (size_t cut = 4; cut < len; cut = cut * 3 / 2 + 1) {
		int r = kt_elf_strip_debug(data, cut, &s, &slen);

		CHECK(r == 0 || r == -ENOEXEC);
		if (!r)
			free(s);
	}
	for (int i = 0; i < 2000; i++) {
		char *copy = malloc(len);
		size_t off;
		int r;

		memcpy(copy, data, len);
		seed = seed * 1103515245 + 12345;
		off = 4 + (seed >> 8) % 60; /* inside the ELF header */
		if (i & 1) {
			/* or inside the section header table */
			Elf64_Ehdr eh;

			memcpy(&eh, data, sizeof(eh));
			off = eh.e_shoff + (seed >> 8) % (eh.e_shnum * sizeof(Elf64_Shdr));
		}
		copy[off] ^= (char)(1 + (seed >> 20) % 255);
		r = kt_elf_strip_debug(copy, len, &s, &slen);
		CHECK(r == 0);
		if (!r)
			free(s);
		free(copy);
	}
}

/* The ELF header of a hand-made x86-64 executable (tables filled in by the caller). */
static void elf64_header(Elf64_Ehdr *eh)
{
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
}

/*
 * Non-allocated sections that share bytes (here eight notes over one 64 KiB
 * range plus a debug section to strip): packing them one after another
 * would need eight times the input, which once overflowed the output buffer.
 * Such an ELF is now copied unchanged.
 */
UNIT_TEST(elf_strip_debug_overlapping_sections)
{
	enum { NSEC = 11, BLOB = 64 << 10 };
	static const char names[32] = "\0.shstrtab\0.debug_info\0.note.x";
	size_t len = sizeof(Elf64_Ehdr) + sizeof(names) + BLOB + NSEC * sizeof(Elf64_Shdr);
	uint8_t *img = calloc(1, len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + len - NSEC * sizeof(Elf64_Shdr));
	uint64_t blob = sizeof(*eh) + sizeof(names);
	void *out;
	size_t out_len;

	elf64_header(eh);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = NSEC;
	eh->e_shstrndx = 1;
	eh->e_shoff = len - NSEC * sizeof(Elf64_Shdr);
	memcpy(img + sizeof(*eh), names, sizeof(names));
	memset(img + blob, 0xa5, BLOB);
	sh[1] = (Elf64_Shdr){.sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = sizeof(*eh),
			     .sh_size = sizeof(names)};
	sh[2] = (Elf64_Shdr){.sh_name = 11, .sh_type = SHT_PROGBITS, .sh_offset = blob,
			     .sh_size = 16};
	for (int i = 3; i < NSEC; i++)
		sh[i] = (Elf64_Shdr){.sh_name = 23, .sh_type = SHT_NOTE, .sh_offset = blob,
				     .sh_size = BLOB};
	CHECK_INT_EQ(kt_elf_strip_debug(img, len, &out, &out_len), 0);
	CHECK_INT_EQ(out_len, len);
	CHECK(!memcmp(out, img, len));
	free(out);

	/* Disjoint (empty ones at the same offset included): stripped as usual. */
	sh[3].sh_offset = blob + 16;
	sh[3].sh_size = BLOB - 16;
	for (int i = 4; i < NSEC; i++)
		sh[i].sh_size = sh[i].sh_name = 0;
	CHECK_INT_EQ(kt_elf_strip_debug(img, len, &out, &out_len), 0);
	CHECK(out_len < len);
	{
		size_t n;

		CHECK_INT_EQ(elf_section_size(out, out_len, ".debug_info", &n), 0);
		CHECK_INT_EQ(n, NSEC);
		CHECK_INT_EQ(elf_section_size(out, out_len, ".note.x", &n), BLOB - 16);
	}
	free(out);
	free(img);
}

/*
 * A NOBITS section as the section name table, with an offset far outside
 * the file: left unchanged, without forming a pointer from that offset.
 * Found by fuzz_elfstrip (clang's UBSan flags the pointer overflow; gcc's
 * does not, so its input is also in tests/fuzz/corpus/elfstrip).
 */
UNIT_TEST(elf_strip_debug_nobits_name_table)
{
	size_t len = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Shdr);
	uint8_t *img = calloc(1, len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + sizeof(*eh));
	void *out;
	size_t out_len;

	elf64_header(eh);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 2;
	eh->e_shstrndx = 1;
	eh->e_shoff = sizeof(*eh);
	sh[1] = (Elf64_Shdr){.sh_type = SHT_NOBITS, .sh_offset = ~0ull - 0xff, .sh_size = 16};
	CHECK_INT_EQ(kt_elf_strip_debug(img, len, &out, &out_len), 0);
	CHECK(out_len == len && !memcmp(out, img, len));
	free(out);
	free(img);
}

/* Set by the sanitizer runtime in `make asan`: a leak check on demand. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/*
 * Two PT_INTERP headers: the first one counts (as for the kernel's ELF
 * loader), and reading the second no longer leaks the first.
 */
UNIT_TEST(elf_deps_second_pt_interp)
{
	const char *t = unit_tmpdir();
	char *first = kt_path_join(t, "ld-first.so"), *bin = kt_path_join(t, "two-interp");
	char *second = kt_path_join(t, "ld-second.so");
	size_t off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	size_t len = off + strlen(first) + 1 + strlen(second) + 1;
	uint8_t *img = calloc(1, len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	char **deps = NULL, *err = NULL;

	elf64_header(eh);
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){.p_type = PT_INTERP, .p_offset = off, .p_filesz = strlen(first) + 1};
	ph[1] = (Elf64_Phdr){.p_type = PT_INTERP, .p_offset = off + strlen(first) + 1,
			     .p_filesz = strlen(second) + 1};
	strcpy((char *)img + off, first);
	strcpy((char *)img + off + strlen(first) + 1, second);
	CHECK_INT_EQ(kt_write_file_atomic(bin, img, len, 0755), 0);
	CHECK_INT_EQ(kt_write_file_atomic(first, "", 0, 0755), 0);
	CHECK_INT_EQ(kt_write_file_atomic(second, "", 0, 0755), 0);
	CHECK_INT_EQ(kt_elf_deps(bin, &deps, &err), 0);
	CHECK(deps && deps[0] && !deps[1]);
	CHECK_STR_EQ(deps ? deps[0] : NULL, first);
	kt_elf_deps_free(deps);
	free(img);
	free(bin);
	free(first);
	free(second);
	if (__lsan_do_recoverable_leak_check)
		CHECK_INT_EQ(__lsan_do_recoverable_leak_check(), 0);
}
