// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the cpio writer's path rules. The input is a list of
 * operations (dir, file, symlink) with their paths; whatever the writer
 * accepts, the finished archive must be well-formed newc where every name
 * is relative and normal (no "", ".", "..", no leading '/'), appears once,
 * and comes after the directories above it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vm/initramfs.h"

#define MAX_OPS_ENTRIES 256

static unsigned long field(const char *h, int i)
{
	char buf[9];

	memcpy(buf, h + 6 + 8 * i, 8);
	buf[8] = 0;
	return strtoul(buf, NULL, 16);
}

static bool normal(const char *name)
{
	const char *c = name;

	if (!*name || *name == '/')
		return false;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);

		if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

static void check_archive(const char *a, size_t len, size_t count)
{
	const char **names = calloc(count + 1, sizeof(*names));
	bool *isdir = calloc(count + 1, sizeof(*isdir));
	size_t off = 0, n = 0;

	if (len % 512)
		__builtin_trap();
	for (;;) {
		unsigned long mode, fsize, nsize;
		const char *name;

		if (len - off < 110 || memcmp(a + off, "070701", 6))
			__builtin_trap();
		mode = field(a + off, 1);
		fsize = field(a + off, 6);
		nsize = field(a + off, 11);
		if (!nsize || nsize > 4096 || len - off - 110 < nsize)
			__builtin_trap();
		name = a + off + 110;
		if (name[nsize - 1] || strlen(name) != nsize - 1)
			__builtin_trap();
		off = (off + 110 + nsize + 3) & ~3ul;
		if (!strcmp(name, "TRAILER!!!"))
			break;
		if (n == count || !normal(name) || len - off < fsize)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (!strcmp(names[i], name))
				__builtin_trap();
		/* The parent is an earlier directory (and so, in turn, are its parents). */
		if (strrchr(name, '/')) {
			size_t pl = (size_t)(strrchr(name, '/') - name), i;

			for (i = 0; i < n; i++)
				if (strlen(names[i]) == pl && !memcmp(names[i], name, pl))
					break;
			if (i == n || !isdir[i])
				__builtin_trap();
		}
		names[n] = name;
		isdir[n++] = S_ISDIR(mode);
		off = (off + fsize + 3) & ~3ul;
	}
	if (n != count)
		__builtin_trap();
	free(names);
	free(isdir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_cpio *c = kt_cpio_new();
	const uint8_t *p = data, *end = data + size;
	const void *arch;
	size_t alen;

	while (p < end && kt_cpio_count(c) < MAX_OPS_ENTRIES) {
		uint8_t op = *p++;
		const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
		size_t plen = nul ? (size_t)(nul - p) : (size_t)(end - p);
		char *path = strndup((const char *)p, plen);
		size_t dlen;
		int r;

		p += plen + (nul ? 1 : 0);
		dlen = p < end ? *p++ % 64 : 0;
		if (dlen > (size_t)(end - p))
			dlen = (size_t)(end - p);
		switch (op % 3) {
		case 0:
			r = kt_cpio_add_dir(c, path, op & 0777);
			break;
		case 1:
			r = kt_cpio_add_data(c, path, p, dlen, 0644);
			break;
		default: {
			char *target = strndup((const char *)p, dlen);

			r = kt_cpio_add_symlink(c, path, target);
			free(target);
			break;
		}
		}
		if (r && r != -EINVAL && r != -EEXIST && r != -ENOTDIR)
			__builtin_trap();
		p += dlen;
		free(path);
	}
	if (kt_cpio_finish(c, &arch, &alen))
		__builtin_trap();
	check_archive(arch, alen, kt_cpio_count(c));
	kt_cpio_free(c);
	return 0;
}
