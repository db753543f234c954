// SPDX-License-Identifier: GPL-2.0
/* File helpers: whole-file reads, atomic writes, mkdir -p, rm -rf. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int kt_read_file(const char *path, char **out, size_t *len, size_t max)
{
	struct sbuf sb = SBUF_INIT;
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!max)
		max = 256u << 20;
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			sb_free(&sb);
			return e;
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > max) {
			close(fd);
			sb_free(&sb);
			return -EFBIG;
		}
		sb_add(&sb, buf, (size_t)n);
	}
	close(fd);
	if (len)
		*len = sb.len;
	*out = sb_steal(&sb);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kt_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = kt_asprintf("%s.tmp-%d", path, (int)getpid());
	int fd, r;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	kt_cleanup_add_path(tmp);
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	kt_cleanup_del_path(tmp);
	free(tmp);
	return r;
}

int kt_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	if (!kt_is_dir(buf))
		return -ENOTDIR;
	return 0;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

int kt_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	if (nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

bool kt_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool kt_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool kt_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *kt_path_join(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (b[0] == '/')
		return kt_strdup(b);
	if (n && a[n - 1] == '/')
		return kt_asprintf("%s%s", a, b);
	return kt_asprintf("%s/%s", a, b);
}

int kt_copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[1 << 16];
	int in, out, r = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = write_all(out, buf, (size_t)n);
		if (r)
			break;
	}
	close(in);
	if (close(out) < 0 && !r)
		r = -errno;
	if (r)
		unlink(dst);
	return r;
}

char *kt_self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return kt_strdup(buf);
}
