// SPDX-License-Identifier: GPL-2.0
/* Child processes with merged, line-split output and cleanup on signals. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static void emit_lines(const struct kt_run_opts *o, struct sbuf *pending, bool flush)
{
	char *start = pending->s, *nl;
	size_t consumed = 0;

	if (!pending->len)
		return;
	while ((nl = memchr(start, '\n', pending->len - consumed))) {
		*nl = 0;
		if (o && o->on_line)
			o->on_line(o->ctx, start);
		consumed += (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	if (flush && consumed < pending->len) {
		if (o && o->on_line)
			o->on_line(o->ctx, start);
		consumed = pending->len;
	}
	memmove(pending->s, pending->s + consumed, pending->len - consumed);
	pending->len -= consumed;
	pending->s[pending->len] = 0;
}

pid_t kt_fork_piped(int *fd, int pdeath_sig)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, pdeath_sig);
		if (getppid() == 1) /* the parent is already gone */
			_exit(1);
		*fd = p[1];
		return 0;
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

int kt_run(char *const argv[], const struct kt_run_opts *o, int *status)
{
	int outp[2], errp[2] = {-1, -1}, logfd = -1, st = 0;
	bool split = o && o->capture && o->capture_stdout_only;
	struct sbuf pending = SBUF_INIT;
	pid_t pid;

	if (o && o->log_path) {
		logfd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (logfd < 0)
			return -errno;
	}
	if (pipe2(outp, O_CLOEXEC) < 0 || (split && pipe2(errp, O_CLOEXEC) < 0)) {
		int e = -errno;
		if (logfd >= 0)
			close(logfd);
		return e;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(outp[0]);
		close(outp[1]);
		if (logfd >= 0)
			close(logfd);
		return e;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(outp[1], 1);
		dup2(split ? errp[1] : outp[1], 2);
		if (o && o->cwd && chdir(o->cwd) < 0) {
			dprintf(2, "cannot chdir to %s: %s\n", o->cwd, strerror(errno));
			_exit(127);
		}
		if (o && o->env_add)
			for (char *const *e = o->env_add; *e; e++)
				putenv(*e);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	kt_cleanup_add_pid(-pid);
	close(outp[1]);
	if (split)
		close(errp[1]);

	struct pollfd pfd[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
	int nfds = split ? 2 : 1, open_fds = nfds;
	while (open_fds) {
		char buf[16384];

		if (poll(pfd, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < nfds; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (logfd >= 0 && write(logfd, buf, (size_t)n) < 0) {
				/* a full log disk must not stop the child; keep going */
			}
			if (o && o->passthrough && write(2, buf, (size_t)n) < 0) {
			}
			if (o && o->capture && (i == 0 || !split))
				sb_add(o->capture, buf, (size_t)n);
			if (o && o->on_line && i == 0) {
				sb_add(&pending, buf, (size_t)n);
				emit_lines(o, &pending, false);
			}
		}
	}
	emit_lines(o, &pending, true);
	sb_free(&pending);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	kt_cleanup_del_pid(-pid);
	/* Make sure nothing of the group outlives the run. */
	kill(-pid, SIGKILL);
	if (logfd >= 0)
		close(logfd);
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int kt_run_capture(char *const argv[], const char *cwd, char **out)
{
	struct sbuf sb = SBUF_INIT;
	struct kt_run_opts o = {.cwd = cwd, .capture = &sb, .capture_stdout_only = true};
	int st, r = kt_run(argv, &o, &st);

	if (r || st) {
		sb_free(&sb);
		return r ? r : -ECHILD;
	}
	char *s = sb_steal(&sb);
	char *t = kt_trim(s);
	memmove(s, t, strlen(t) + 1);
	*out = s;
	return 0;
}
