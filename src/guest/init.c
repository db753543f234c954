// SPDX-License-Identifier: GPL-2.0
/* PID 1 in the guest: mounts, COM2, mode dispatch, power-off. See guest.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest/guest.h"
#include "topo/topo.h"
#include "util/util.h"

extern const struct kt_guest_mode __start_ktstr_guest_modes[] __attribute__((weak));
extern const struct kt_guest_mode __stop_ktstr_guest_modes[] __attribute__((weak));

static int com2 = -1;

char *kt_guest_cmdline_value(const char *cmdline, const char *key)
{
	size_t kl = strlen(key);
	const char *p = cmdline;

	while (p && *p) {
		const char *end;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		end = p;
		while (*end && *end != ' ' && *end != '\t' && *end != '\n')
			end++;
		if ((size_t)(end - p) > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = (size_t)(end - p) - kl - 1;
			char *v = kt_malloc(n + 1);

			memcpy(v, p + kl + 1, n);
			v[n] = 0;
			return v;
		}
		p = end;
	}
	return NULL;
}

static void com2_write(const char *s, size_t n)
{
	int fd = com2 >= 0 ? com2 : 2;

	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void KT_PRINTF(1, 2) com2_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	com2_write(buf, (size_t)n);
}

static void kmsg(const char *msg)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		dprintf(fd, "ktstr-init: %s\n", msg);
		close(fd);
	}
}

static __attribute__((noreturn)) void power_off(void)
{
	if (com2 >= 0)
		tcdrain(com2);
	sync();
	reboot(RB_POWER_OFF);
	/* not reached unless reboot failed; never exit PID 1 */
	for (;;)
		pause();
}

static __attribute__((noreturn)) void fatal(const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	com2_printf("KTSTR_INIT_ERROR %s\n", buf);
	kmsg(buf);
	power_off();
}

static void on_crash(int sig)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "KTSTR_INIT_ERROR init crashed: signal %d\n", sig);

	if (n > 0)
		com2_write(buf, (size_t)n);
	if (com2 >= 0)
		tcdrain(com2);
	sync();
	reboot(RB_POWER_OFF);
	_exit(1);
}

static void do_mount(const char *src, const char *dst, const char *type, const char *opts,
		     bool required)
{
	kt_mkdir_p(dst, 0755);
	if (mount(src, dst, type, MS_NOSUID, opts) < 0 && errno != EBUSY) {
		if (required)
			fatal("mount %s on %s: %s", type, dst, strerror(errno));
		com2_printf("ktstr-init: warning: mount %s on %s: %s\n", type, dst,
			    strerror(errno));
	}
}

/*
 * The load balancer's counters in /proc/schedstat only count with
 * schedstats on; a failed fairness check shows them (src/check/evidence.c).
 */
static void enable_schedstats(void)
{
	int fd = open("/proc/sys/kernel/sched_schedstats", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		com2_printf("ktstr-init: warning: kernel.sched_schedstats: %s\n", strerror(errno));
	close(fd);
}

static void mounts(void)
{
	do_mount("proc", "/proc", "proc", NULL, true);
	do_mount("sysfs", "/sys", "sysfs", NULL, true);
	do_mount("devtmpfs", "/dev", "devtmpfs", "mode=0755", true);
	do_mount("tmpfs", "/tmp", "tmpfs", "mode=1777", true);
	do_mount("tmpfs", "/dev/shm", "tmpfs", "mode=1777", false);
	do_mount("tmpfs", "/run", "tmpfs", "mode=0755", false);
	do_mount("debugfs", "/sys/kernel/debug", "debugfs", NULL, false);
	do_mount("tracefs", "/sys/kernel/tracing", "tracefs", NULL, false);
	do_mount("bpf", "/sys/fs/bpf", "bpf", "mode=0700", false);
	do_mount("cgroup2", "/sys/fs/cgroup", "cgroup2", NULL, false);
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	kt_mkdir_p("/root", 0700);
	enable_schedstats();
}

/* Directories under root holding at least one executable regular file. */
static void exec_dirs(const char *root, int depth, struct sbuf *path)
{
	DIR *d = opendir(root);
	struct dirent *e;
	bool has_exec = false;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		p = kt_path_join(root, e->d_name);
		if (stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < 6)
				exec_dirs(p, depth + 1, path);
			else if (S_ISREG(st.st_mode) && (st.st_mode & 0111))
				has_exec = true;
		}
		free(p);
	}
	closedir(d);
	if (has_exec)
		sb_addf(path, "%s:", root);
}

static void setup_env(const char *cmdline)
{
	struct sbuf path = SBUF_INIT;
	const char *fw[][2] = {{"KTSTR_TERM", "TERM"}, {"KTSTR_COLORTERM", "COLORTERM"}};

	exec_dirs("/include-files", 0, &path);
	sb_adds(&path, "/bin:/sbin:/usr/bin:/usr/sbin");
	setenv("PATH", sb_str(&path), 1);
	sb_free(&path);
	setenv("HOME", "/root", 1);
	setenv("KTSTR_GUEST_INIT", "1", 1);
	for (size_t i = 0; i < KT_ARRAY_SIZE(fw); i++) {
		char *v = kt_guest_cmdline_value(cmdline, fw[i][0]);

		if (v)
			setenv(fw[i][1], v, 1);
		free(v);
	}
	if (!getenv("TERM"))
		setenv("TERM", "linux", 1);
}

/* The machine must be what was declared (KTSTR_TOPO): a mismatch fails the boot. */
static void check_topology(const char *cmdline)
{
	char *declared = kt_guest_cmdline_value(cmdline, "KTSTR_TOPO"), *err = NULL;

	if (kt_hwtopo_check_declared(NULL, declared, &err))
		fatal("%s", err);
	free(declared);
}

static void set_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		t.c_cflag |= CLOCAL;
		tcsetattr(fd, TCSANOW, &t);
	}
}

static const struct kt_guest_mode *find_mode(const char *name)
{
	/* keep the built-in modes linked */
	const struct kt_guest_mode *volatile anchor = &__kt_guest_mode_shell;

	(void)anchor;
	for (const struct kt_guest_mode *m = __start_ktstr_guest_modes;
	     m < __stop_ktstr_guest_modes; m++)
		if (name && !strcmp(m->name, name))
			return m;
	return NULL;
}

int ktstr_guest_main(int argc, char **argv)
{
	static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	const struct kt_guest_mode *m;
	struct kt_guest_ctx ctx = {0};
	char *cmdline = NULL, *mode = NULL;
	struct sigaction sa;
	int st = 0, null;
	pid_t child, w;

	(void)argc;
	(void)argv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < KT_ARRAY_SIZE(crash_sigs); i++)
		sigaction(crash_sigs[i], &sa, NULL);
	kt_set_label("ktstr-init");

	mounts();
	com2 = open("/dev/ttyS1", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (com2 < 0)
		fatal("open /dev/ttyS1 (COM2): %s", strerror(errno));
	set_raw(com2);
	if (kt_read_file("/proc/cmdline", &cmdline, NULL, 64 * 1024) < 0)
		cmdline = kt_strdup("");
	com2_printf("KTSTR_INIT_STARTED\n");
	if (!kt_exists("/.ktstr_init_ok"))
		fatal("/.ktstr_init_ok missing: the initramfs was not unpacked completely "
		      "(out of memory?)");
	null = open("/dev/null", O_RDWR);
	if (null >= 0)
		dup2(null, 0);
	dup2(com2, 1);
	dup2(com2, 2);
	setenv("KTSTR_LABEL", "ktstr-init", 1);
	setup_env(cmdline);
	check_topology(cmdline);

	mode = kt_guest_cmdline_value(cmdline, "KTSTR_MODE");
	m = find_mode(mode);
	if (!m)
		fatal("unknown guest mode '%s' (KTSTR_MODE on the kernel command line)",
		      mode ? mode : "");
	ctx.mode = m->name;
	ctx.cmdline = cmdline;
	ctx.com2_fd = com2;

	child = fork();
	if (child < 0)
		fatal("fork: %s", strerror(errno));
	if (child == 0) {
		signal(SIGCHLD, SIG_DFL);
		for (size_t i = 0; i < KT_ARRAY_SIZE(crash_sigs); i++)
			signal(crash_sigs[i], SIG_DFL);
		_exit(m->run(&ctx) & 0xff);
	}
	/* reap everything; stop when the mode process is done */
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fatal("waitpid: %s", strerror(errno));
		if (w == child)
			break;
	}
	if (WIFSIGNALED(st))
		fatal("mode '%s' was killed by signal %d", m->name, WTERMSIG(st));
	if (!(m->flags & KT_GUEST_MODE_TTY))
		com2_printf("KTSTR_EXIT=%d\n", WEXITSTATUS(st));
	power_off();
}
