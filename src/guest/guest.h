/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest side: the ktstr executable running as /init (PID 1) in the VM.
 * Everything that runs in the VM lives in src/guest/:
 *   init.c   PID 1: mounts, COM2, mode dispatch, power-off (this header)
 *   modes.c  the "shell" and "exec" modes
 *   run.c    the "run" mode of test binaries (the guest end of a test run)
 *   shm.c    the SHM ring writer (shm.h)
 * plus the run protocol's guest end, kept with its host end in
 * src/proto/guest.c.
 *
 * ktstr_guest_main() mounts the pseudo filesystems (proc, sysfs, devtmpfs,
 * tmpfs on /tmp /dev/shm /run, debugfs, tracefs, bpffs, cgroup2 on
 * /sys/fs/cgroup), checks /.ktstr_init_ok, opens COM2 (/dev/ttyS1), writes
 * KTSTR_INIT_STARTED there, points stdout/stderr at it, sets PATH
 * (directories under /include-files holding executables, then /bin /sbin
 * /usr/bin /usr/sbin), checks that sysfs shows the declared topology
 * (KTSTR_TOPO, kt_hwtopo_check_declared), and runs the mode named by
 * KTSTR_MODE= on the kernel command line in a child process. When the mode returns, init writes
 * KTSTR_EXIT=<code> (not for terminal modes), drains COM2, syncs and powers
 * off. A mode that crashes, an unknown mode or a failing setup step is
 * reported as "KTSTR_INIT_ERROR <message>" on COM2 and the VM is powered
 * off; init itself never exits (that would panic the kernel).
 *
 * Modes register through a linker section, so a new mode needs no edit
 * here:
 *	static int run_mode(const struct kt_guest_ctx *ctx) { ...; return code; }
 *	KTSTR_GUEST_MODE(run, "run", run_mode, 0);
 * NOTE: the ktstr binary links libktstr.a, which only pulls in objects that
 * something references. A mode in a file nobody references must be
 * anchored: reference any symbol of that file from code that is linked.
 */
#ifndef KTSTR_GUEST_GUEST_H
#define KTSTR_GUEST_GUEST_H

#include <stdbool.h>

struct kt_guest_ctx {
	const char *mode;
	const char *cmdline; /* /proc/cmdline */
	int com2_fd;	     /* COM2 (also fds 1 and 2 for non-terminal modes) */
};

/* The mode uses COM2 as an interactive terminal (no KTSTR_EXIT line, cooked tty). */
#define KT_GUEST_MODE_TTY 0x1

struct kt_guest_mode {
	const char *name;
	int (*run)(const struct kt_guest_ctx *ctx); /* exit code */
	unsigned flags;
};

#define KTSTR_GUEST_MODE(id, name_, fn_, flags_)                                \
	const struct kt_guest_mode __kt_guest_mode_##id                         \
	    __attribute__((used, section("ktstr_guest_modes"), aligned(8))) = { \
		.name = name_, .run = fn_, .flags = flags_}

/* Entry point when getpid() == 1. Never returns. */
int ktstr_guest_main(int argc, char **argv);

/*
 * Value of KEY=value on a kernel command line (malloc'd), NULL when absent.
 * Pure; cmdline may be NULL.
 */
char *kt_guest_cmdline_value(const char *cmdline, const char *key);

/* Initramfs path of the command run by the "exec" mode. */
#define KT_GUEST_EXEC_CMD_FILE ".ktstr_exec_cmd"

/* Referenced by init.c so that the built-in modes are linked. */
extern const struct kt_guest_mode __kt_guest_mode_shell;

#endif
