// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
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
	CHECK_INT_EQ(kt_cpio_count(c), 4);
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
