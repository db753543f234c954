// SPDX-License-Identifier: GPL-2.0
/*
 * What the host needs to know about a guest kernel besides its symbols and
 * BTF (src/monitor/guestkern.h reads those): the one ELF opener of the
 * vmlinux readers, and CONFIG_HZ and other options (the embedded IKCONFIG,
 * inflated with zlib, or a config file beside it).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "kernel.h"
#include "util/util.h"

int kt_elf_open(const char *path, int *fd, Elf **e, char **err)
{
	int r;

	*e = NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		r = -errno;
		kt_set_err(err, "cannot open %s: %s", path, strerror(errno));
		return r;
	}
	elf_version(EV_CURRENT);
	*e = elf_begin(*fd, ELF_C_READ, NULL);
	if (*e && elf_kind(*e) == ELF_K_ELF)
		return 0;
	kt_set_err(err, "%s is not an ELF file", path);
	if (*e)
		elf_end(*e);
	close(*fd);
	*e = NULL;
	*fd = -1;
	return -EINVAL;
}

int kt_config_hz(const char *config_text)
{
	const char *p = config_text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');

		if (!strncmp(p, "CONFIG_HZ=", 10)) {
			char *end;
			long v = strtol(p + 10, &end, 10);

			if (end != p + 10 && (*end == '\n' || !*end) && v >= 24 && v <= 10000)
				return (int)v;
			return -EINVAL;
		}
		p = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* Inflate the gzip stream between "IKCFG_ST" and "IKCFG_ED" in buf. */
static char *ikconfig_from(const unsigned char *buf, size_t len)
{
	static const char st[] = "IKCFG_ST", ed[] = "IKCFG_ED";
	const unsigned char *a = memmem(buf, len, st, sizeof(st) - 1), *b;
	struct sbuf out = SBUF_INIT;
	unsigned char chunk[65536];
	z_stream z = {0};
	int zr;

	if (!a)
		return NULL;
	a += sizeof(st) - 1;
	b = memmem(a, len - (size_t)(a - buf), ed, sizeof(ed) - 1);
	if (!b || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return NULL;
	z.next_in = (unsigned char *)a;
	z.avail_in = (uInt)(b - a);
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END)
			break;
		sb_add(&out, chunk, sizeof(chunk) - z.avail_out);
	} while (zr == Z_OK && out.len < (64u << 20));
	inflateEnd(&z);
	if (zr != Z_STREAM_END) {
		sb_free(&out);
		return NULL;
	}
	return sb_steal(&out);
}

int kt_config_enabled(const char *config_text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = config_text; p && *p;) {
		const char *nl = strchr(p, '\n');

		if (!strncmp(p, name, n) && p[n] == '=')
			return p[n + 1] == 'y' || p[n + 1] == 'm';
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* The IKCONFIG embedded in an ELF vmlinux (malloc'd), or NULL. */
static char *vmlinux_ikconfig(const char *vmlinux)
{
	char *cfg = NULL;
	struct stat st;
	int fd;

	fd = vmlinux ? open(vmlinux, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m != MAP_FAILED) {
			cfg = ikconfig_from(m, (size_t)st.st_size);
			munmap(m, (size_t)st.st_size);
		}
	}
	if (fd >= 0)
		close(fd);
	return cfg;
}

/*
 * Each source of a kernel's configuration in turn, until use() returns
 * >= 0: the IKCONFIG in vmlinux, then dir/config (a cache entry keeps its
 * config so), then dir/.config (a tree). Returns use()'s result, or
 * -ENOENT when no source was usable.
 */
static int each_config(const char *vmlinux, const char *dir, int (*use)(const char *text),
		       char **source)
{
	char *text = vmlinux_ikconfig(vmlinux);
	int v = -ENOENT;

	if (source)
		*source = NULL;
	if (text) {
		v = use(text);
		free(text);
		if (v >= 0 && source)
			*source = kt_asprintf("%s (IKCONFIG)", vmlinux);
	}
	for (int i = 0; v < 0 && dir && i < 2; i++) {
		char *p = kt_path_join(dir, i ? ".config" : "config");

		text = NULL;
		if (kt_read_file(p, &text, NULL, 16 << 20) == 0) {
			v = use(text);
			if (v >= 0 && source)
				*source = kt_strdup(p);
		}
		free(text);
		free(p);
	}
	return v;
}

static int use_hz(const char *text)
{
	int hz = kt_config_hz(text);

	return hz > 0 ? hz : -ENOENT;
}

int kt_kernel_hz(const char *vmlinux, const char *dir, char **source)
{
	return each_config(vmlinux, dir, use_hz, source);
}

static int use_jump_label(const char *text)
{
	return kt_config_enabled(text, "CONFIG_JUMP_LABEL");
}

int kt_kernel_jump_label(const char *vmlinux, const char *dir, char **source)
{
	return each_config(vmlinux, dir, use_jump_label, source);
}

static int use_randomize_base(const char *text)
{
	return kt_config_enabled(text, "CONFIG_RANDOMIZE_BASE");
}

int kt_kernel_randomize_base(const char *vmlinux, const char *dir, char **source)
{
	return each_config(vmlinux, dir, use_randomize_base, source);
}
