// SPDX-License-Identifier: GPL-2.0
/* The initramfs of a run: this executable, busybox and the caller's files. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/initramfs.h"
#include "vm/internal.h"

static char **busybox_applets; /* "usr/bin/awk" style paths, NULL-terminated */

static pthread_once_t applets_once = PTHREAD_ONCE_INIT;

static void load_applets_once(void)
{
	char *argv[] = {"/bin/busybox", "--list-full", NULL};
	char *out = NULL, *save = NULL;
	size_t n = 0, cap = 0;

	if (kt_run_capture(argv, NULL, &out)) {
		busybox_applets = kt_calloc(1, sizeof(char *));
		return;
	}
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = kt_trim(l);
		if (!*l || strstr(l, "..") || !strcmp(l, "bin/busybox"))
			continue;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 512;
			busybox_applets = kt_realloc(busybox_applets, cap * sizeof(char *));
		}
		busybox_applets[n++] = kt_strdup(l);
	}
	if (!busybox_applets)
		busybox_applets = kt_calloc(1, sizeof(char *));
	busybox_applets[n] = NULL;
	free(out);
}

static void load_applets(void)
{
	pthread_once(&applets_once, load_applets_once);
}

/*
 * The initramfs is a cached, compressed base (this executable as /init and
 * /bin/ktstr, busybox and its applets) followed by the caller's files as a
 * plain cpio suffix ending in /.ktstr_init_ok, so a new payload never
 * recompresses the base.
 */
int kt_vm_build_initramfs(struct kt_cpio *user, const char *out_path, size_t *cpio_len,
			  size_t *initrd_len, char **err)
{
	struct kt_cpio *base = kt_cpio_new();
	const void *bdata, *sdata;
	size_t blen, slen;
	char *base_path = NULL;
	int r, fd;

	/* a dynamically linked build (e.g. make asan) brings its libraries */
	r = kt_cpio_add_elf_flags(base, "init", "/proc/self/exe", KT_ELF_STRIP_DEBUG, err);
	if (r) {
		char *e = *err;

		*err = kt_asprintf("initramfs: adding /init from /proc/self/exe: %s",
				   e ? e : strerror(-r));
		free(e);
		goto out;
	}
	kt_cpio_add_symlink(base, "bin/ktstr", "/init");
	if (kt_is_file("/bin/busybox")) {
		r = kt_cpio_add_file(base, "bin/busybox", "/bin/busybox", 0755);
		if (r) {
			*err = kt_asprintf("initramfs: adding /bin/busybox: %s", strerror(-r));
			goto out;
		}
		load_applets();
		for (char **a = busybox_applets; *a; a++)
			kt_cpio_add_symlink(base, *a, "/bin/busybox");
	}
	r = kt_cpio_finish(base, &bdata, &blen);
	if (r) {
		*err = kt_asprintf("initramfs: %s", strerror(-r));
		goto out;
	}
	r = kt_initramfs_cache_get(bdata, blen, &base_path, err);
	if (r)
		goto out;
	r = kt_cpio_add_data(user, ".ktstr_init_ok", "", 0, 0644);
	if (!r)
		r = kt_cpio_finish(user, &sdata, &slen);
	if (r) {
		*err = kt_asprintf("initramfs: %s", strerror(-r));
		goto out;
	}
	r = kt_initramfs_compose(base_path, sdata, slen, out_path, err);
	if (r)
		goto out;
	*cpio_len = blen + slen;
	fd = open(out_path, O_RDONLY | O_CLOEXEC);
	*initrd_len = 0;
	if (fd >= 0) {
		off_t sz = lseek(fd, 0, SEEK_END);

		*initrd_len = sz > 0 ? (size_t)sz : 0;
		close(fd);
	}
out:
	free(base_path);
	kt_cpio_free(base);
	return r;
}

