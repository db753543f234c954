// SPDX-License-Identifier: GPL-2.0
/*
 * Built-in guest modes:
 *  - "shell": busybox sh on COM2 as the controlling terminal (cooked, echo,
 *    TERM/COLORTERM and the window size from the host); the VM powers off
 *    when the shell exits.
 *  - "exec": runs /.ktstr_exec_cmd with `busybox sh -c`, stdin /dev/null,
 *    stdout+stderr streamed to the host over COM2, then reports
 *    KTSTR_EXEC_EXIT=<status> (128+signal when killed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest/guest.h"
#include "util/util.h"

#define BUSYBOX "/bin/busybox"

static int cmdline_int(const char *cmdline, const char *key)
{
	char *v = kt_guest_cmdline_value(cmdline, key);
	uint64_t n = 0;

	if (!v || kt_parse_u64(v, &n) || n > 10000)
		n = 0;
	free(v);
	return (int)n;
}

static int shell_mode(const struct kt_guest_ctx *ctx)
{
	struct termios t;
	struct winsize ws = {0};
	int fd;

	setsid();
	fd = open("/dev/ttyS1", O_RDWR);
	if (fd < 0) {
		dprintf(ctx->com2_fd, "KTSTR_INIT_ERROR shell: open /dev/ttyS1: %s\n",
			strerror(errno));
		return 1;
	}
	ioctl(fd, TIOCSCTTY, 0);
	if (tcgetattr(fd, &t) == 0) {
		t.c_iflag = ICRNL | IXON | IUTF8;
		t.c_oflag = OPOST | ONLCR;
		t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
		t.c_cflag |= CS8 | CREAD | CLOCAL;
		t.c_cc[VINTR] = 3;
		t.c_cc[VQUIT] = 28;
		t.c_cc[VERASE] = 127;
		t.c_cc[VKILL] = 21;
		t.c_cc[VEOF] = 4;
		t.c_cc[VSUSP] = 26;
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(fd, TCSANOW, &t);
	}
	ws.ws_col = (unsigned short)cmdline_int(ctx->cmdline, "KTSTR_COLS");
	ws.ws_row = (unsigned short)cmdline_int(ctx->cmdline, "KTSTR_ROWS");
	if (ws.ws_col && ws.ws_row)
		ioctl(fd, TIOCSWINSZ, &ws);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	if (chdir("/root") < 0 && chdir("/") < 0)
		return 1;
	execl(BUSYBOX, "sh", "-i", (char *)NULL);
	dprintf(2, "ktstr-init: exec %s: %s\n", BUSYBOX, strerror(errno));
	return 127;
}

KTSTR_GUEST_MODE(shell, "shell", shell_mode, KT_GUEST_MODE_TTY);

static int exec_mode(const struct kt_guest_ctx *ctx)
{
	char *cmd = NULL;
	int p[2], st, code;
	char last = '\n';
	pid_t pid;

	if (kt_read_file("/" KT_GUEST_EXEC_CMD_FILE, &cmd, NULL, 1 << 20) < 0) {
		dprintf(ctx->com2_fd, "KTSTR_INIT_ERROR exec: /%s: %s\n", KT_GUEST_EXEC_CMD_FILE,
			strerror(errno));
		return 1;
	}
	if (pipe(p) < 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		setsid();
		execl(BUSYBOX, "sh", "-c", cmd, (char *)NULL);
		dprintf(2, "ktstr-init: exec %s: %s\n", BUSYBOX, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(p[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		last = buf[n - 1];
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(ctx->com2_fd, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += w;
		}
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (last != '\n')
		dprintf(ctx->com2_fd, "\n");
	dprintf(ctx->com2_fd, "KTSTR_EXEC_EXIT=%d\n", code);
	free(cmd);
	return code;
}

KTSTR_GUEST_MODE(exec, "exec", exec_mode, 0);
