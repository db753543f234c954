/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Machine backend interface (internal to src/vm). The engine (vm.c) owns
 * guest RAM (one memfd per NUMA node, so the host can map it), the channel
 * sockets, the initramfs and the command line; a backend only turns a
 * kt_vm_plan into a running machine. QEMU is the one backend today; a
 * native KVM backend would implement the same four calls.
 */
#ifndef KTSTR_VM_VMM_H
#define KTSTR_VM_VMM_H

#include <sys/types.h>

#include "vm/vm.h"

struct kt_vmm {
	pid_t pid;     /* machine process */
	int pidfd;     /* readable when it exited (-1 if unsupported) */
	int stderr_fd; /* its diagnostics (non-blocking, -1 when closed) */
	const struct kt_vmm_backend *be;
};

struct kt_vmm_backend {
	const char *name;
	/* Start the machine for plan; inherit the plan's fds. */
	int (*start)(struct kt_vmm *vm, const struct kt_vm_plan *p, const char *cmdline,
		     const char *argv_log, char **err);
	/*
	 * Non-blocking reap: 1 and *status (exit code or 128+signal) when the
	 * machine is gone, 0 while it runs.
	 */
	int (*reap)(struct kt_vmm *vm, int *status);
	/* Kill the machine and reap it. */
	void (*kill)(struct kt_vmm *vm);
};

extern const struct kt_vmm_backend kt_vmm_qemu;

#endif
