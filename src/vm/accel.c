// SPDX-License-Identifier: GPL-2.0
/*
 * Accelerator choice. KVM is used by "auto" only when /dev/kvm opens and a
 * speed probe shows hardware speed: a forked child creates a one-page
 * real-mode guest that counts a register down (dec/jnz) under KVM_RUN with
 * an interval timer, and reports how many iterations per second it ran.
 * Hardware runs this loop at ~1e9/s; a nested or emulated /dev/kvm that
 * traps or single-steps is orders of magnitude slower. The parent bounds
 * the whole probe with a poll timeout, so a stuck KVM_RUN cannot hang us.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm.h"

#define PROBE_LOOPS 50000000u /* 25-50 ms on hardware: the loop usually ends */
#define PROBE_RUN_MS 25	      /* KVM_RUN budget before the timer stops it */
#define PROBE_TOTAL_MS 1000   /* hard limit for the whole child */
#define PROBE_GOOD_RATE 100e6 /* iterations/s counted as hardware speed */
#define NATIVE_RATE 2e9	      /* for the "Nx slow" figure */

struct probe_out {
	int err; /* 0 or positive errno of the failing step */
	char step[32];
	double rate; /* iterations per second */
	double secs;
	unsigned long long iters;
	int finished; /* reached hlt */
};

static void on_alarm(int sig)
{
	(void)sig;
}

static void probe_child(int wfd)
{
	/* mov ecx, PROBE_LOOPS; l: dec ecx; jnz l; hlt (16-bit real mode) */
	unsigned char code[] = {0x66, 0xb9, 0, 0, 0, 0, 0x66, 0x49, 0x75, 0xfc, 0xf4};
	struct probe_out o = {0};
	struct kvm_userspace_memory_region reg;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct sigaction sa;
	struct itimerval it;
	struct kvm_run *run;
	int kvm, vm, cpu, sz;
	void *mem;
	uint64_t t0, t1;
	int r;

	memcpy(code + 2, &(uint32_t){PROBE_LOOPS}, 4);
#define STEP(name, expr)                                              \
	do {                                                          \
		if ((expr) < 0) {                                     \
			o.err = errno;                                \
			snprintf(o.step, sizeof(o.step), "%s", name); \
			goto out;                                     \
		}                                                     \
	} while (0)
	STEP("open /dev/kvm", kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC));
	STEP("KVM_CREATE_VM", vm = ioctl(kvm, KVM_CREATE_VM, 0));
	mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	STEP("mmap", mem == MAP_FAILED ? -1 : 0);
	memcpy((char *)mem + 0x1000, code, sizeof(code));
	memset(&reg, 0, sizeof(reg));
	reg.memory_size = 0x2000;
	reg.userspace_addr = (uintptr_t)mem;
	STEP("KVM_SET_USER_MEMORY_REGION", ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg));
	STEP("KVM_CREATE_VCPU", cpu = ioctl(vm, KVM_CREATE_VCPU, 0));
	STEP("KVM_GET_VCPU_MMAP_SIZE", sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	STEP("mmap vcpu", run == MAP_FAILED ? -1 : 0);
	STEP("KVM_GET_SREGS", ioctl(cpu, KVM_GET_SREGS, &sregs));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	STEP("KVM_SET_SREGS", ioctl(cpu, KVM_SET_SREGS, &sregs));
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x1000;
	regs.rflags = 2;
	STEP("KVM_SET_REGS", ioctl(cpu, KVM_SET_REGS, &regs));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = PROBE_RUN_MS * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = kt_now_ns();
	for (;;) {
		r = ioctl(cpu, KVM_RUN, 0);
		if (r < 0 && errno == EINTR)
			break;
		STEP("KVM_RUN", r);
		if (run->exit_reason == KVM_EXIT_HLT) {
			o.finished = 1;
			break;
		}
		if (run->exit_reason != KVM_EXIT_INTR) {
			o.err = EIO;
			snprintf(o.step, sizeof(o.step), "exit reason %u", run->exit_reason);
			goto out;
		}
		if ((kt_now_ns() - t0) / 1000000 >= PROBE_RUN_MS)
			break;
	}
	t1 = kt_now_ns();
	STEP("KVM_GET_REGS", ioctl(cpu, KVM_GET_REGS, &regs));
	o.iters = o.finished ? PROBE_LOOPS : PROBE_LOOPS - (uint32_t)regs.rcx;
	o.secs = (double)(t1 - t0) / 1e9;
	o.rate = o.secs > 0 ? (double)o.iters / o.secs : 0;
out:
	if (write(wfd, &o, sizeof(o)) != sizeof(o))
		_exit(1);
	_exit(0);
#undef STEP
}

static int run_probe(struct probe_out *o)
{
	int fd, st;
	pid_t pid = kt_fork_piped(&fd, SIGKILL);
	struct pollfd pfd;
	ssize_t n = -1;

	if (pid < 0)
		return pid;
	if (pid == 0)
		probe_child(fd);
	kt_cleanup_add_pid(pid);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, PROBE_TOTAL_MS) == 1)
		n = read(fd, o, sizeof(*o));
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	kt_cleanup_del_pid(pid);
	if (n != (ssize_t)sizeof(*o))
		return -ETIMEDOUT;
	return 0;
}

/*
 * The auto decision is cached per host boot (/proc/sys/kernel/random/boot_id)
 * in <cache>/ktstr/accel-probe, so repeated runs skip the probe. The file is
 * "boot_id\nkvm|tcg\nreason\n"; anything else is ignored.
 */
static char *probe_cache_path(void)
{
	const char *x = kt_getenv("XDG_CACHE_HOME"), *h = kt_getenv("HOME");

	if (x)
		return kt_asprintf("%s/ktstr/accel-probe", x);
	if (h)
		return kt_asprintf("%s/.cache/ktstr/accel-probe", h);
	return NULL;
}

static char *boot_id(void)
{
	char *b = NULL;

	if (kt_read_file("/proc/sys/kernel/random/boot_id", &b, NULL, 128) < 0)
		return NULL;
	kt_trim(b);
	return b;
}

static bool probe_cache_load(enum kt_accel *out, char **why)
{
	char *path = probe_cache_path(), *bid = boot_id(), *data = NULL, *save = NULL;
	char *l1, *l2, *l3;
	bool ok = false;

	if (!path || !bid || kt_read_file(path, &data, NULL, 4096) < 0)
		goto out;
	l1 = strtok_r(data, "\n", &save);
	l2 = strtok_r(NULL, "\n", &save);
	l3 = strtok_r(NULL, "\n", &save);
	if (!l1 || !l2 || !l3 || strcmp(kt_trim(l1), kt_trim(bid)))
		goto out;
	if (!strcmp(l2, "kvm"))
		*out = KT_ACCEL_KVM;
	else if (!strcmp(l2, "tcg"))
		*out = KT_ACCEL_TCG;
	else
		goto out;
	*why = kt_asprintf("%s; cached for this boot in %s", l3, path);
	ok = true;
out:
	free(path);
	free(bid);
	free(data);
	return ok;
}

static void probe_cache_store(enum kt_accel a, const char *why)
{
	char *path = probe_cache_path(), *bid = boot_id(), *dir, *data, *slash;

	if (path && bid) {
		dir = kt_strdup(path);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		kt_mkdir_p(dir, 0755);
		data = kt_asprintf("%s\n%s\n%s\n", bid, kt_accel_name(a), why);
		kt_write_file_atomic(path, data, strlen(data), 0644);
		free(data);
		free(dir);
	}
	free(path);
	free(bid);
}

bool kt_tcg_multi_decide(int vcpus, int jump_label, const char *config_src, char **why)
{
	const char *src = config_src ? config_src : "the kernel config";

	if (vcpus < 2) {
		*why = kt_strdup("thread=single: 1 vCPU");
		return false;
	}
	if (jump_label < 0) {
		*why = kt_strdup("thread=single: the kernel's config is unknown (no IKCONFIG in "
				 "vmlinux, no config beside it), so CONFIG_JUMP_LABEL may be on");
		return false;
	}
	if (jump_label) {
		*why = kt_asprintf("thread=single: %s has CONFIG_JUMP_LABEL=y (static-key text "
				   "patching at sched_ext enable oopses under multi-threaded TCG)",
				   src);
		return false;
	}
	*why = kt_asprintf("thread=multi: %d vCPUs on their own host threads (CONFIG_JUMP_LABEL "
			   "off in %s)",
			   vcpus, src);
	return true;
}

static pthread_mutex_t auto_lock = PTHREAD_MUTEX_INITIALIZER;
static bool auto_done;
static enum kt_accel auto_result;
static char *auto_why;

int kt_accel_resolve(enum kt_accel want, enum kt_accel *out, char **why, char **err)
{
	struct probe_out o;
	int fd, r;

	if (want == KT_ACCEL_TCG) {
		*out = KT_ACCEL_TCG;
		*why = kt_strdup("requested with --accel tcg");
		return 0;
	}
	if (want == KT_ACCEL_KVM) {
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			*err =
			    kt_asprintf("--accel kvm: cannot open /dev/kvm: %s", strerror(errno));
			return -errno;
		}
		close(fd);
		*out = KT_ACCEL_KVM;
		*why = kt_strdup("requested with --accel kvm");
		return 0;
	}
	pthread_mutex_lock(&auto_lock);
	if (auto_done) {
		*out = auto_result;
		*why = kt_strdup(auto_why);
		pthread_mutex_unlock(&auto_lock);
		return 0;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		auto_result = KT_ACCEL_TCG;
		auto_why = kt_asprintf("/dev/kvm: %s", strerror(errno));
	} else if (probe_cache_load(&auto_result, &auto_why)) {
		close(fd);
	} else {
		close(fd);
		r = run_probe(&o);
		if (r == -ETIMEDOUT) {
			auto_result = KT_ACCEL_TCG;
			auto_why = kt_asprintf("/dev/kvm present but the speed probe did not "
					       "finish within %d ms",
					       PROBE_TOTAL_MS);
		} else if (r < 0) {
			auto_result = KT_ACCEL_TCG;
			auto_why = kt_asprintf("/dev/kvm present but the probe could not run: %s",
					       strerror(-r));
		} else if (o.err) {
			auto_result = KT_ACCEL_TCG;
			auto_why = kt_asprintf("/dev/kvm present but unusable: %s: %s", o.step,
					       strerror(o.err));
		} else if (o.rate < PROBE_GOOD_RATE) {
			auto_result = KT_ACCEL_TCG;
			auto_why =
			    kt_asprintf("/dev/kvm present but runs %.0fx slow: probe loop "
					"%.1f M iterations/s (%llu in %.0f ms), hardware "
					"does ~%.0f M/s",
					NATIVE_RATE / (o.rate > 1 ? o.rate : 1), o.rate / 1e6,
					o.iters, o.secs * 1e3, NATIVE_RATE / 1e6);
		} else {
			auto_result = KT_ACCEL_KVM;
			auto_why = kt_asprintf("/dev/kvm runs at hardware speed (probe %.0f M "
					       "iterations/s)",
					       o.rate / 1e6);
		}
		if (r == 0 && !o.err)
			probe_cache_store(auto_result, auto_why);
	}
	auto_done = true;
	*out = auto_result;
	*why = kt_strdup(auto_why);
	pthread_mutex_unlock(&auto_lock);
	return 0;
}

int kt_accel_parse(const char *s, enum kt_accel *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "auto"))
		*out = KT_ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = KT_ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*out = KT_ACCEL_TCG;
	else
		return -EINVAL;
	return 0;
}

const char *kt_accel_name(enum kt_accel a)
{
	switch (a) {
	case KT_ACCEL_KVM:
		return "kvm";
	case KT_ACCEL_TCG:
		return "tcg";
	default:
		return "auto";
	}
}
