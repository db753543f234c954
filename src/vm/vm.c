// SPDX-License-Identifier: GPL-2.0
/*
 * The VM engine: prepare initramfs, memory, channels and command line, start
 * the machine through a backend (vmm.h), watch it (watch.c) until the guest
 * powers off or the run is stopped, and report what happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "vm/initramfs.h"
#include "vm/internal.h"
#include "vm/shm.h"

void kt_vm_config_init(struct kt_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->topo = (struct kt_topo_spec){1, 1, 1, 1};
	cfg->accel = KT_ACCEL_AUTO;
}

/* ---- the run ---------------------------------------------------------------- */

static int setup_shm(struct run *r, const int *memfds, struct kt_vm_plan *p, size_t initrd_len,
		     char **err)
{
	uint64_t node_off;
	int node;
	void *m;

	if (kt_vm_shm_offset(p->memory_mb, p->topo->numa_nodes, initrd_len, p->shm_size,
			     &p->shm_offset, &node, &node_off)) {
		*err = kt_asprintf("--memory-mb %u: too small for the initramfs and a %zu KiB SHM "
				   "ring",
				   p->memory_mb, p->shm_size >> 10);
		return -ENOSPC;
	}
	m = mmap(NULL, p->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfds[node],
		 (off_t)node_off);
	if (m == MAP_FAILED) {
		*err = kt_asprintf("mapping the SHM ring from guest RAM: %s", strerror(errno));
		return -errno;
	}
	if (kt_shm_init(m, p->shm_size)) {
		munmap(m, p->shm_size);
		*err = kt_asprintf("SHM ring size %zu: invalid", p->shm_size);
		return -EINVAL;
	}
	r->shm = m;
	r->shm_map = m;
	r->shm_map_len = p->shm_size;
	r->shm_size = p->shm_size;
	return 0;
}

/* What kt_vm_run sets up and must take down again. */
struct boot {
	struct kt_vm_plan plan;
	struct kt_vmm vm;
	struct kt_cpio *own; /* initramfs made here when the caller gave none */
	size_t cpio_len, initrd_size;
	char *initrd_path, *cmdline, *argv_log, *why;
	int memfds[64];
	int sv1[2], sv2[2]; /* COM1, COM2: [0] ours, [1] the machine's */
};

static int check_config(const struct kt_vm_config *cfg, char **err)
{
	int rc;

	if (!cfg->kernel) {
		*err = kt_strdup("no kernel image given");
		return -EINVAL;
	}
	if ((rc = kt_topo_spec_validate(&cfg->topo, err)))
		return rc;
	if (cfg->topo.numa_nodes > 64) {
		*err = kt_asprintf("%d NUMA nodes: at most 64 supported", cfg->topo.numa_nodes);
		return -EINVAL;
	}
	if (cfg->shm_size % 4096) {
		*err = kt_asprintf("SHM size %zu: not a multiple of 4096", cfg->shm_size);
		return -EINVAL;
	}
	if (cfg->interactive && !isatty(0)) {
		*err = kt_strdup("stdin must be a terminal for interactive shell mode");
		return -ENOTTY;
	}
	return kt_vm_check_image(cfg->kernel, err);
}

/* The run directory (console log, machine argv, initrd) and the initramfs in it. */
static int prepare_files(const struct kt_vm_config *cfg, struct kt_vm_result *res,
			 struct boot *b, char **err)
{
	char *tmpl = kt_asprintf("%s/ktstr-vm.XXXXXX",
				 kt_getenv("TMPDIR") ? kt_getenv("TMPDIR") : "/tmp");
	struct kt_cpio *c = cfg->initramfs;

	if (!mkdtemp(tmpl)) {
		int rc = -errno;

		*err = kt_asprintf("creating run directory %s: %s", tmpl, strerror(errno));
		free(tmpl);
		return rc;
	}
	res->run_dir = tmpl;
	res->keep_files = cfg->keep_files;
	if (!cfg->keep_files)
		kt_cleanup_add_path(res->run_dir);
	if (!c)
		c = b->own = kt_cpio_new();
	b->initrd_path = kt_path_join(res->run_dir, "initrd");
	b->argv_log = kt_path_join(res->run_dir, "qemu.argv");
	res->console_log = kt_path_join(res->run_dir, "console.log");
	return kt_vm_build_initramfs(c, b->initrd_path, &b->cpio_len, &b->initrd_size, err);
}

/* Guest RAM size, then the RAM itself: one shared memfd per node. */
static int prepare_memory(const struct kt_vm_config *cfg, struct kt_vm_result *res,
			  struct boot *b, char **err)
{
	int nodes = cfg->topo.numa_nodes, rc;

	if (cfg->memory_mb) {
		rc = kt_vm_memory_check(cfg->memory_mb, b->cpio_len, b->initrd_size,
					cfg->shm_size, err);
		if (rc)
			return rc;
		res->memory_mb = cfg->memory_mb;
	} else {
		res->memory_mb =
		    kt_vm_memory_estimate(&cfg->topo, b->cpio_len, b->initrd_size, cfg->shm_size);
	}
	if (res->memory_mb < (unsigned)nodes * 64) {
		*err = kt_asprintf("--memory-mb %u: too small for %d NUMA nodes (64 MiB each)",
				   res->memory_mb, nodes);
		return -EINVAL;
	}
	for (int i = 0; i < nodes; i++) {
		unsigned per = res->memory_mb / (unsigned)nodes;
		unsigned mb = i == nodes - 1 ? res->memory_mb - per * (unsigned)(nodes - 1) : per;
		char name[32];

		snprintf(name, sizeof(name), "ktstr-ram%d", i);
		b->memfds[i] = memfd_create(name, MFD_CLOEXEC);
		if (b->memfds[i] < 0 || ftruncate(b->memfds[i], (off_t)mb * (off_t)MB) < 0) {
			rc = -errno;
			*err = kt_asprintf("guest RAM (%u MiB): %s", mb, strerror(errno));
			return rc;
		}
	}
	return 0;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The console log and the two serial lines. */
static int open_channels(struct run *r, struct boot *b, char **err)
{
	int rc;

	r->logfd = open(r->res->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (r->logfd < 0) {
		rc = -errno;
		*err = kt_asprintf("%s: %s", r->res->console_log, strerror(errno));
		return rc;
	}
	kt_conlog_init(&r->conlog, r->logfd, r->cfg->console_head, r->cfg->console_tail);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b->sv1) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b->sv2) < 0) {
		rc = -errno;
		*err = kt_asprintf("socketpair: %s", strerror(errno));
		return rc;
	}
	r->com1 = b->sv1[0];
	r->com2 = b->sv2[0];
	nonblock(r->com1);
	nonblock(r->com2);
	return 0;
}

static bool env_is(const char *name, const char *v1, const char *v2)
{
	const char *v = kt_getenv(name);

	return v && (!strcmp(v, v1) || (v2 && !strcmp(v, v2)));
}

/* The directory of the kernel's files (a cache entry keeps its config there), or NULL. */
static char *kernel_dir(const struct kt_vm_config *cfg)
{
	char *dir = kt_strdup(cfg->vmlinux ? cfg->vmlinux : cfg->kernel), *slash;

	slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		return NULL;
	}
	*slash = 0;
	return dir;
}

/*
 * TCG threading for this guest (kt_tcg_multi_decide): CONFIG_JUMP_LABEL
 * read from the kernel as the watchdog reads HZ (IKCONFIG in vmlinux, a
 * config beside the image). Returns the one-line reason (malloc'd).
 */
static char *tcg_threading(const struct kt_vm_config *cfg, struct boot *b)
{
	char *dir = kernel_dir(cfg), *src, *why;
	int jl;

	jl = kt_kernel_jump_label(cfg->vmlinux, dir, &src);
	b->plan.tcg_multi = kt_tcg_multi_decide(kt_topo_spec_cpus(&cfg->topo), jl, src, &why);
	free(src);
	free(dir);
	return why;
}

/* kt_vm_pick_image for this config. */
static const char *boot_image(const struct kt_vm_config *cfg)
{
	const char *pvh = cfg->vmlinux && kt_vm_image_has_pvh(cfg->vmlinux) ? cfg->vmlinux : NULL;
	int rb = -ENOENT;

	if (pvh && !cfg->no_kaslr) {
		char *dir = kernel_dir(cfg);

		rb = kt_kernel_randomize_base(cfg->vmlinux, dir, NULL);
		free(dir);
	}
	return kt_vm_pick_image(cfg->kernel, pvh, !cfg->no_kaslr, rb);
}

static void fill_plan(const struct kt_vm_config *cfg, const struct kt_vm_result *res,
		      struct boot *b, const char *image, enum kt_accel accel)
{
	struct kt_vm_plan *p = &b->plan;
	struct winsize ws;

	p->qemu = kt_getenv("KTSTR_QEMU");
	p->kernel = image;
	p->initrd = b->initrd_path;
	p->topo = &cfg->topo;
	p->memory_mb = res->memory_mb;
	p->accel = accel;
	p->mode = cfg->mode;
	p->shm_size = cfg->shm_size;
	p->verbose = env_is("KTSTR_VERBOSE", "1", NULL) || env_is("RUST_BACKTRACE", "1", "full");
	p->dmesg = cfg->dmesg;
	if (cfg->interactive) {
		p->term = kt_getenv("TERM");
		p->colorterm = kt_getenv("COLORTERM");
		if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
			p->cols = ws.ws_col;
			p->rows = ws.ws_row;
		}
	}
	p->cmdline_extra = cfg->cmdline_extra;
	p->no_kaslr = cfg->no_kaslr;
	p->com1_fd = b->sv1[1];
	p->com2_fd = b->sv2[1];
	p->mem_fds = b->memfds;
}

/* Start the machine and watch it until it is gone. */
static int boot_and_watch(struct run *r, struct boot *b, char **err)
{
	const struct kt_vm_config *cfg = r->cfg;
	struct kt_vm_result *res = r->res;
	uint64_t t_call = kt_now_ns();
	int rc, status, code;

	if (cfg->shm_size) {
		rc = setup_shm(r, b->memfds, &b->plan, b->initrd_size, err);
		if (rc)
			return rc;
	}
	b->cmdline = kt_vm_build_cmdline(&b->plan);
	if (cfg->on_tick) {
		rc = kt_vm_guest_map(&r->guest, b->memfds, res->memory_mb, cfg->topo.numa_nodes);
		if (rc) {
			*err = kt_asprintf("mapping guest RAM: %s", strerror(-rc));
			return rc;
		}
		r->guest.shm = r->shm;
	}
	r->t0 = kt_now_ns();
	r->guest.t0 = r->t0;
	r->next_tick = r->t0;
	rc = kt_vmm_qemu.start(&b->vm, &b->plan, b->cmdline, b->argv_log, err);
	close(b->sv1[1]);
	close(b->sv2[1]);
	b->sv1[1] = b->sv2[1] = -1;
	if (rc)
		return rc;
	r->guest.pid = b->vm.pid;
	kt_debug("vm", "machine started %.3f s after kt_vm_run was called",
		 (double)(r->t0 - t_call) / 1e9);
	status = kt_vm_watch(r, &b->vm);
	kt_vm_tty_restore(&r->tty_raw);
	res->qemu_status = status;
	res->wall_s = (double)(kt_now_ns() - r->t0) / 1e9;
	kt_debug("vm", "init started at %.3f s, machine stopped at %.3f s (status %d)", res->init_s,
		 res->wall_s, status);
	kt_vm_watch_finish(r);
	if (kt_com2_exit_code(r->com2p, &code)) {
		res->have_exit = true;
		res->exit_code = code;
	}
	if (kt_com2_exec_exit_code(r->com2p, &code)) {
		res->have_exec_exit = true;
		res->exec_exit = code;
	}
	res->interrupted = res->interrupted || kt_interrupted() != 0;
	return 0;
}

static void take_down(struct run *r, struct boot *b)
{
	struct kt_vm_result *res = r->res;

	if (b->vm.pid > 0)
		b->vm.be->kill(&b->vm);
	if (b->vm.stderr_fd >= 0)
		close(b->vm.stderr_fd);
	kt_vm_tty_restore(&r->tty_raw);
	res->console_tail = kt_vm_tail_str(&r->t1, KT_VM_TAIL_LINES);
	res->com2_tail = kt_vm_tail_str(&r->t2, KT_VM_TAIL_LINES);
	res->qemu_stderr = kt_strdup(r->qerr.len ? sb_str(&r->qerr) : "");
	sb_free(&r->qerr);
	kt_com2_free(r->com2p);
	if (r->shm_map)
		munmap(r->shm_map, r->shm_map_len);
	kt_vm_guest_unmap(&r->guest);
	for (int i = 0; i < 64; i++)
		if (b->memfds[i] >= 0)
			close(b->memfds[i]);
	for (int i = 0; i < 2; i++) {
		if (b->sv1[i] >= 0)
			close(b->sv1[i]);
		if (b->sv2[i] >= 0)
			close(b->sv2[i]);
	}
	if (r->logfd >= 0) {
		kt_conlog_finish(&r->conlog);
		close(r->logfd);
	}
	if (b->own)
		kt_cpio_free(b->own);
	free(b->initrd_path);
	free(b->why);
	free(b->cmdline);
	free(b->argv_log);
}

int kt_vm_run(const struct kt_vm_config *cfg, struct kt_vm_result *res, char **err)
{
	struct run r = {0};
	struct boot b = {.vm = {.pid = 0, .pidfd = -1, .stderr_fd = -1},
			 .sv1 = {-1, -1},
			 .sv2 = {-1, -1}};
	const char *image = cfg->kernel;
	enum kt_accel accel;
	int rc;

	memset(res, 0, sizeof(*res));
	*err = NULL;
	for (int i = 0; i < 64; i++)
		b.memfds[i] = -1;
	rc = check_config(cfg, err);
	if (rc)
		return rc;
	image = boot_image(cfg);
	res->pvh = image != cfg->kernel || kt_vm_image_has_pvh(image);
	r.cfg = cfg;
	r.res = res;
	r.com1 = r.com2 = r.logfd = r.conlog.fd = -1;
	r.com2p = kt_com2_new();
	kt_com2_set_line_cb(r.com2p, kt_vm_com2_line, &r);

	rc = prepare_files(cfg, res, &b, err);
	if (!rc)
		rc = prepare_memory(cfg, res, &b, err);
	if (!rc)
		rc = kt_accel_resolve(cfg->accel, &accel, &b.why, err);
	if (!rc) {
		char *twhy = accel == KT_ACCEL_TCG ? tcg_threading(cfg, &b) : NULL;

		res->accel = accel;
		if (!cfg->accel_quiet)
			kt_info("accel: %s (%s)%s%s", kt_accel_name(accel), b.why, twhy ? "; " : "",
				twhy ? twhy : "");
		free(twhy);
		rc = open_channels(&r, &b, err);
	}
	if (!rc) {
		fill_plan(cfg, res, &b, image, accel);
		rc = boot_and_watch(&r, &b, err);
	}
	take_down(&r, &b);
	return rc;
}

void kt_vm_result_free(struct kt_vm_result *res)
{
	if (res->run_dir && !res->keep_files) {
		kt_rm_rf(res->run_dir);
		kt_cleanup_del_path(res->run_dir);
	}
	free(res->run_dir);
	free(res->panic_line);
	free(res->guest_error);
	free(res->console_log);
	free(res->console_tail);
	free(res->com2_tail);
	free(res->qemu_stderr);
	memset(res, 0, sizeof(*res));
}

/* Last n lines of a tail string, indented, for one-line-ish reports. */
static void add_last_lines(struct sbuf *sb, const char *text, int n)
{
	const char *p = text + strlen(text);
	int seen = 0;

	while (p > text && seen <= n) {
		p--;
		if (*p == '\n')
			seen++;
	}
	if (*p == '\n')
		p++;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		sb_addf(sb, "\n    %.*s", (int)len, p);
		p += len + (nl ? 1 : 0);
	}
}

char *kt_vm_describe_failure(const struct kt_vm_result *res, const struct kt_vm_config *cfg)
{
	struct sbuf sb = SBUF_INIT;

	if (res->timed_out)
		sb_addf(&sb, "guest timed out after %u s and was killed (init started: %s)",
			cfg->timeout_s, res->init_started ? "yes" : "no");
	else if (res->panicked)
		sb_addf(&sb, "guest kernel panicked: %s", res->panic_line);
	else if (res->guest_error)
		sb_addf(&sb, "guest init failed: %s", res->guest_error);
	else if (!res->init_started)
		sb_addf(&sb, "guest stopped before init started (machine exit status %d)",
			res->qemu_status);
	else if (res->stopped_by_host)
		sb_adds(&sb, "stopped by the host monitor");
	else if (res->interrupted)
		sb_adds(&sb, "stopped by the user (Ctrl-])");
	else
		return NULL;
	if (res->qemu_stderr && *res->qemu_stderr) {
		sb_adds(&sb, "\n  machine said:");
		add_last_lines(&sb, res->qemu_stderr, 5);
	}
	if (!res->panicked && res->com2_tail && *res->com2_tail) {
		sb_adds(&sb, "\n  last guest output lines:");
		add_last_lines(&sb, res->com2_tail, 5);
	}
	if (res->console_tail && *res->console_tail) {
		sb_adds(&sb, "\n  last console lines:");
		add_last_lines(&sb, res->console_tail, res->panicked ? 25 : 10);
	} else {
		sb_adds(&sb, "\n  (the kernel console was empty; --dmesg shows all of it)");
	}
	return sb_steal(&sb);
}
