// SPDX-License-Identifier: GPL-2.0
/*
 * Cleanup of child processes and temporary paths on normal exit and on
 * SIGINT/SIGTERM/SIGHUP/SIGPIPE. The signal path uses only async-signal-safe
 * calls: fixed tables, kill(2), and a getdents64-based recursive removal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_PATHS 64
#define MAX_PIDS 64

static char paths[MAX_PATHS][PATH_MAX];
static volatile sig_atomic_t path_used[MAX_PATHS];
static volatile pid_t pids[MAX_PIDS];
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t defer_first;
static bool installed;
static pid_t owner; /* only the installing process cleans up, never a fork */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Remove entry name inside dirfd, recursing into directories. Signal-safe. */
static void rm_at(int dirfd, const char *name, int depth)
{
	char buf[4096];
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	if (depth > 64)
		return;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		long off = 0;
		bool any = false;

		if (n <= 0)
			break;
		while (off < n) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			rm_at(fd, d->d_name, depth + 1);
			any = true;
		}
		if (any)
			lseek(fd, 0, SEEK_SET);
		if (!any)
			break;
	}
	close(fd);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Has registered process (group) p ended? Reaps it when it is our child. */
static bool gone(pid_t p)
{
	if (p > 0 && waitpid(p, NULL, WNOHANG) == p)
		return true;
	if (p < 0)
		waitpid(-p, NULL, WNOHANG); /* the group's leader */
	return kill(p, 0) < 0 && errno == ESRCH;
}

/*
 * SIGTERM first, so that make and the compilers it runs remove their
 * temporaries (gcc's in $TMPDIR); SIGKILL what is left after TERM_GRACE_MS.
 */
#define TERM_GRACE_MS 2000

static void do_cleanup(void)
{
	int saved = errno;
	bool any = false;

	if (getpid() != owner)
		return;
	for (int i = 0; i < MAX_PIDS; i++) {
		pid_t p = pids[i];

		if (p) {
			kill(p, SIGTERM);
			any = true;
		}
	}
	for (int ms = 0; any && ms < TERM_GRACE_MS; ms += 10) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		any = false;
		for (int i = 0; i < MAX_PIDS; i++) {
			pid_t p = pids[i];

			if (p && gone(p))
				pids[i] = 0;
			else if (p)
				any = true;
		}
		if (any)
			nanosleep(&ts, NULL);
	}
	for (int i = 0; i < MAX_PIDS; i++) {
		pid_t p = pids[i];

		if (p)
			kill(p, SIGKILL);
	}
	for (int i = 0; i < MAX_PIDS; i++) {
		pid_t p = pids[i];

		if (p > 0)
			waitpid(p, NULL, 0);
		else if (p < 0)
			waitpid(p, NULL, WNOHANG);
		pids[i] = 0;
	}
	for (int i = 0; i < MAX_PATHS; i++) {
		if (!path_used[i])
			continue;
		rm_at(AT_FDCWD, paths[i], 0);
		path_used[i] = 0;
	}
	errno = saved;
}

static void on_signal(int sig)
{
	/* Deferred: the first SIGINT/SIGTERM/SIGHUP is only recorded. */
	if (defer_first && !got_signal && sig != SIGPIPE && getpid() == owner) {
		got_signal = sig;
		return;
	}
	got_signal = sig;
	if (getpid() != owner) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	do_cleanup();
	signal(sig, SIG_DFL);
	/* Exit with 128+sig like a shell would report it. */
	_exit(128 + sig);
}

void kt_stop_signals_install(void (*handler)(int), bool mask_all, bool with_pipe)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	if (mask_all)
		sigfillset(&sa.sa_mask);
	else
		sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (with_pipe)
		sigaction(SIGPIPE, &sa, NULL);
}

void kt_cleanup_install(void)
{
	if (installed)
		return;
	installed = true;
	owner = getpid();
	/* stdout closed under us (`ktstr ... | head`): clean up, then die of it (SIGPIPE). */
	kt_stop_signals_install(on_signal, true, true);
	atexit(kt_cleanup_run);
}

static void block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

int kt_cleanup_add_path(const char *path)
{
	sigset_t old;
	char abs[PATH_MAX];
	int r = -ENOSPC;

	if (path[0] != '/') {
		if (!getcwd(abs, sizeof(abs)) || strlen(abs) + strlen(path) + 2 > sizeof(abs))
			return -ENAMETOOLONG;
		strcat(abs, "/");
		strcat(abs, path);
	} else {
		if (strlen(path) >= sizeof(abs))
			return -ENAMETOOLONG;
		strcpy(abs, path);
	}
	block(&old);
	for (int i = 0; i < MAX_PATHS; i++) {
		if (!path_used[i]) {
			strcpy(paths[i], abs);
			path_used[i] = 1;
			r = 0;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

void kt_cleanup_del_path(const char *path)
{
	sigset_t old;
	char abs[PATH_MAX];

	if (path[0] != '/') {
		if (!getcwd(abs, sizeof(abs)) || strlen(abs) + strlen(path) + 2 > sizeof(abs))
			return;
		strcat(abs, "/");
		strcat(abs, path);
	} else {
		snprintf(abs, sizeof(abs), "%s", path);
	}
	block(&old);
	for (int i = 0; i < MAX_PATHS; i++) {
		if (path_used[i] && !strcmp(paths[i], abs)) {
			path_used[i] = 0;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int kt_cleanup_add_pid(pid_t pid)
{
	sigset_t old;
	int r = -ENOSPC;

	block(&old);
	for (int i = 0; i < MAX_PIDS; i++) {
		if (!pids[i]) {
			pids[i] = pid;
			r = 0;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

void kt_cleanup_del_pid(pid_t pid)
{
	sigset_t old;

	block(&old);
	for (int i = 0; i < MAX_PIDS; i++) {
		if (pids[i] == pid) {
			pids[i] = 0;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void kt_cleanup_run(void)
{
	sigset_t old;

	block(&old);
	do_cleanup();
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void kt_cleanup_defer(bool on)
{
	defer_first = on;
}

int kt_interrupted(void)
{
	return got_signal;
}
