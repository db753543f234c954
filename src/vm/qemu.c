// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU backend: build the qemu-system-x86_64 argv for a plan (pure) and run
 * it as a child that dies with us (PR_SET_PDEATHSIG, own process group,
 * registered for cleanup).
 *
 * Machine: q35 (ACPI SRAT/SLIT for NUMA). One socket per LLC, so the guest
 * sees CPUID cache leaves with L3 shared by exactly one LLC's CPUs;
 * cores/threads inside a socket give core_id and SMT siblings. Guest RAM is
 * one memory-backend-file per NUMA node on an inherited memfd
 * (mem-path=/dev/fd/N, share=on), which the engine maps to read guest
 * memory. Under TCG the CPU model is qemu64 with the Intel vendor (SMT
 * siblings through CPUID leaf 0xB). COM1/COM2 are ISA serial ports on inherited connected sockets
 * (chardev socket fd=N). TCG threading is the plan's (kt_tcg_multi_decide:
 * thread=multi for 2+ vCPUs unless the kernel has CONFIG_JUMP_LABEL on).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vmm.h"

struct argv_b {
	char **v;
	size_t n, cap;
};

static void add(struct argv_b *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = kt_realloc(a->v, a->cap * sizeof(char *));
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

#define ADD(a, ...) add(a, kt_asprintf(__VA_ARGS__))

char **kt_vm_build_argv(const struct kt_vm_plan *p, const char *cmdline)
{
	struct argv_b a = {0};
	const struct kt_topo_spec *t = p->topo;
	int cpus = kt_topo_spec_cpus(t), nodes = t->numa_nodes;
	unsigned per_node = p->memory_mb / (unsigned)nodes;

	add(&a, kt_strdup(p->qemu ? p->qemu : "qemu-system-x86_64"));
	ADD(&a, "-M");
	if (nodes == 1)
		ADD(&a, "q35,memory-backend=ram0");
	else
		ADD(&a, "q35");
	ADD(&a, "-accel");
	if (p->accel == KT_ACCEL_KVM) {
		ADD(&a, "kvm");
		ADD(&a, "-cpu");
		ADD(&a, "host");
	} else {
		ADD(&a, p->tcg_multi ? "tcg,thread=multi" : "tcg,thread=single");
		/*
		 * qemu64 reports an AMD vendor without topoext, so the guest
		 * kernel would see every SMT thread as a core; with the
		 * Intel vendor it reads leaf 0xB and gets the siblings right.
		 */
		ADD(&a, "-cpu");
		ADD(&a, "qemu64,vendor=GenuineIntel");
	}
	ADD(&a, "-m");
	ADD(&a, "%uM", p->memory_mb);
	ADD(&a, "-smp");
	ADD(&a, "cpus=%d,sockets=%d,dies=1,cores=%d,threads=%d", cpus, t->llcs, t->cores,
	    t->threads);
	for (int i = 0; i < nodes; i++) {
		unsigned mb =
		    i == nodes - 1 ? p->memory_mb - per_node * (unsigned)(nodes - 1) : per_node;

		ADD(&a, "-object");
		ADD(&a,
		    "memory-backend-file,id=ram%d,size=%uM,mem-path=/dev/fd/%d,share=on,"
		    "prealloc=off",
		    i, mb, p->mem_fds ? p->mem_fds[i] : -1);
	}
	if (nodes > 1) {
		int llc_per_node = t->llcs / nodes;

		for (int i = 0; i < nodes; i++) {
			ADD(&a, "-numa");
			ADD(&a, "node,nodeid=%d,memdev=ram%d", i, i);
		}
		for (int s = 0; s < t->llcs; s++) {
			ADD(&a, "-numa");
			ADD(&a, "cpu,node-id=%d,socket-id=%d", s / llc_per_node, s);
		}
		for (int i = 0; i < nodes; i++)
			for (int j = 0; j < nodes; j++) {
				ADD(&a, "-numa");
				ADD(&a, "dist,src=%d,dst=%d,val=%d", i, j, i == j ? 10 : 20);
			}
	}
	ADD(&a, "-kernel");
	ADD(&a, "%s", p->kernel);
	if (p->initrd) {
		ADD(&a, "-initrd");
		ADD(&a, "%s", p->initrd);
	}
	ADD(&a, "-append");
	ADD(&a, "%s", cmdline);
	ADD(&a, "-display");
	ADD(&a, "none");
	ADD(&a, "-nodefaults");
	/* vCPU threads named "CPU n/TCG": the host monitor reads their CPU time */
	ADD(&a, "-name");
	ADD(&a, "ktstr,debug-threads=on");
	ADD(&a, "-no-user-config");
	ADD(&a, "-no-reboot");
	ADD(&a, "-chardev");
	ADD(&a, "socket,id=com1,fd=%d", p->com1_fd);
	ADD(&a, "-serial");
	ADD(&a, "chardev:com1");
	ADD(&a, "-chardev");
	ADD(&a, "socket,id=com2,fd=%d", p->com2_fd);
	ADD(&a, "-serial");
	ADD(&a, "chardev:com2");
	return a.v;
}

void kt_vm_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static int clear_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

static int qemu_start(struct kt_vmm *vm, const struct kt_vm_plan *p, const char *cmdline,
		      const char *argv_log, char **err)
{
	char **argv = kt_vm_build_argv(p, cmdline);
	int errp[2], execp[2];
	pid_t parent = getpid(), pid;
	ssize_t n;
	int e;

	if (argv_log) {
		struct sbuf sb = SBUF_INIT;

		for (char **s = argv; *s; s++)
			sb_addf(&sb, "%s%s", s == argv ? "" : " ", *s);
		sb_adds(&sb, "\n");
		kt_write_file_atomic(argv_log, sb.s, sb.len, 0644);
		sb_free(&sb);
	}
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(execp, O_CLOEXEC) < 0) {
		*err = kt_asprintf("pipe: %s", strerror(errno));
		kt_vm_argv_free(argv);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		e = errno;
		*err = kt_asprintf("fork: %s", strerror(e));
		kt_vm_argv_free(argv);
		return -e;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
		signal(SIGINT, SIG_IGN); /* the terminal's ^C belongs to ktstr */
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		dup2(errp[1], 2);
		clear_cloexec(p->com1_fd);
		clear_cloexec(p->com2_fd);
		for (int i = 0; p->mem_fds && i < p->topo->numa_nodes; i++)
			clear_cloexec(p->mem_fds[i]);
		execvp(argv[0], argv);
		e = errno;
		if (write(execp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	setpgid(pid, pid);
	kt_cleanup_add_pid(pid);
	close(errp[1]);
	close(execp[1]);
	n = read(execp[0], &e, sizeof(e));
	close(execp[0]);
	if (n == (ssize_t)sizeof(e)) {
		*err = kt_asprintf("cannot run %s%s: %s", argv[0],
				   p->qemu ? " (KTSTR_QEMU)"
				   : strchr(argv[0], '/') ? ""
				   : " (install qemu-system-x86, or set KTSTR_QEMU to the emulator's path)",
				   strerror(e));
		waitpid(pid, NULL, 0);
		kt_cleanup_del_pid(pid);
		close(errp[0]);
		kt_vm_argv_free(argv);
		return -e;
	}
	kt_vm_argv_free(argv);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	vm->pid = pid;
	vm->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	vm->stderr_fd = errp[0];
	vm->be = &kt_vmm_qemu;
	return 0;
}

static int qemu_reap(struct kt_vmm *vm, int *status)
{
	int st;
	pid_t r;

	if (vm->pid <= 0)
		return 1;
	r = waitpid(vm->pid, &st, WNOHANG);
	if (r == 0)
		return 0;
	if (r == vm->pid)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	else
		*status = 255;
	kt_cleanup_del_pid(vm->pid);
	vm->pid = 0;
	if (vm->pidfd >= 0) {
		close(vm->pidfd);
		vm->pidfd = -1;
	}
	return 1;
}

static void qemu_kill(struct kt_vmm *vm)
{
	int st;

	if (vm->pid <= 0)
		return;
	kill(vm->pid, SIGKILL);
	while (waitpid(vm->pid, &st, 0) < 0 && errno == EINTR)
		;
	kt_cleanup_del_pid(vm->pid);
	vm->pid = 0;
	if (vm->pidfd >= 0) {
		close(vm->pidfd);
		vm->pidfd = -1;
	}
}

const struct kt_vmm_backend kt_vmm_qemu = {
    .name = "qemu",
    .start = qemu_start,
    .reap = qemu_reap,
    .kill = qemu_kill,
};
