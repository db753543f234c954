// SPDX-License-Identifier: GPL-2.0
/*
 * The VM engine: prepare initramfs, memory, channels and command line, start
 * the machine through a backend (vmm.h), then watch COM1, COM2, the SHM ring
 * and the machine process until the guest powers off or the run is stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/com2.h"
#include "vm/initramfs.h"
#include "vm/shm.h"
#include "vm/vm.h"
#include "vm/vmm.h"

#define MB (1024ull * 1024)
#define TAIL_LINE_MAX 512
#define SHM_POLL_MS 100
#define PANIC_GRACE_MS 5000
#define QEMU_STDERR_MAX (64 * 1024)

void kt_vm_config_init(struct kt_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->topo = (struct kt_vm_topo){1, 1, 1, 1};
	cfg->accel = KT_ACCEL_AUTO;
}

/* ---- bounded line handling -------------------------------------------------- */

struct linebuf {
	char buf[KT_VM_LINE_MAX + 1];
	size_t len;
};

typedef void (*line_fn)(void *ctx, char *line);

/* Split data into lines; lines longer than KT_VM_LINE_MAX are cut. */
static void lb_feed(struct linebuf *lb, const char *data, size_t n, line_fn fn, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n' || lb->len == KT_VM_LINE_MAX) {
			if (lb->len && lb->buf[lb->len - 1] == '\r')
				lb->len--;
			lb->buf[lb->len] = 0;
			fn(ctx, lb->buf);
			lb->len = 0;
			if (c == '\n')
				continue;
		}
		lb->buf[lb->len++] = c;
	}
}

static void lb_flush(struct linebuf *lb, line_fn fn, void *ctx)
{
	if (!lb->len)
		return;
	lb->buf[lb->len] = 0;
	fn(ctx, lb->buf);
	lb->len = 0;
}

struct tail {
	char lines[KT_VM_TAIL_LINES][TAIL_LINE_MAX];
	unsigned next, count;
};

static void tail_add(struct tail *t, const char *line)
{
	snprintf(t->lines[t->next], TAIL_LINE_MAX, "%s", line);
	t->next = (t->next + 1) % KT_VM_TAIL_LINES;
	if (t->count < KT_VM_TAIL_LINES)
		t->count++;
}

static char *tail_str(const struct tail *t, unsigned max)
{
	struct sbuf sb = SBUF_INIT;
	unsigned n = t->count < max ? t->count : max;

	sb_adds(&sb, "");
	for (unsigned i = 0; i < n; i++) {
		unsigned idx = (t->next + KT_VM_TAIL_LINES - n + i) % KT_VM_TAIL_LINES;

		sb_addf(&sb, "%s\n", t->lines[idx]);
	}
	return sb_steal(&sb);
}

/* ---- run state ------------------------------------------------------------ */

struct kt_vm_guest {
	uint64_t ram;	   /* bytes */
	uint64_t low_top;  /* RAM below 4 GiB */
	uint64_t per_node; /* bytes per node (the last node gets the rest) */
	int nodes;
	uint8_t *map[64]; /* whole RAM of each node, MAP_SHARED */
	uint64_t map_len[64];
	volatile uint8_t *shm;
	uint64_t t0;
};

struct run {
	const struct kt_vm_config *cfg;
	struct kt_vm_result *res;
	int com1, com2, logfd;
	struct linebuf l1;
	struct kt_com2 *com2p;
	struct tail t1, t2;
	bool raw_relay; /* interactive and the guest shell is up */
	struct sbuf qerr;
	uint64_t t0, panic_at;
	/* SHM */
	volatile uint8_t *shm;
	size_t shm_size;
	void *shm_map;
	size_t shm_map_len;
	uint64_t shm_rp;
	bool shm_exit;
	/* terminal */
	bool tty_raw;
	struct kt_vm_guest guest;
	uint64_t next_tick;
};

uint64_t kt_vm_guest_ram_size(const struct kt_vm_guest *g)
{
	return g->ram;
}

const volatile void *kt_vm_guest_ptr(const struct kt_vm_guest *g, uint64_t gpa, size_t len)
{
	uint64_t off;
	int n;

	if (gpa < g->low_top) {
		off = gpa;
		if (len > g->low_top - gpa)
			return NULL;
	} else if (gpa >= 0x100000000ull && gpa - 0x100000000ull < g->ram - g->low_top) {
		off = gpa - 0x100000000ull + g->low_top;
	} else {
		return NULL;
	}
	if (off + len > g->ram || off + len < off)
		return NULL;
	n = g->per_node ? (int)(off / g->per_node) : 0;
	if (n > g->nodes - 1)
		n = g->nodes - 1;
	off -= g->per_node * (uint64_t)n;
	if (!g->map[n] || off + len > g->map_len[n])
		return NULL;
	return g->map[n] + off;
}

int kt_vm_guest_read(const struct kt_vm_guest *g, uint64_t gpa, void *buf, size_t len)
{
	const volatile uint8_t *p = kt_vm_guest_ptr(g, gpa, len);

	if (!p)
		return -EFAULT;
	if (len == 8) { /* one untorn load, like the SHM ring's pointers */
		uint64_t v = kt_shm_load_u64(p, 0);

		memcpy(buf, &v, 8);
		return 0;
	}
	memcpy(buf, (const void *)p, len);
	return 0;
}

int kt_vm_guest_write(struct kt_vm_guest *g, uint64_t gpa, const void *buf, size_t len)
{
	volatile uint8_t *p = (volatile uint8_t *)kt_vm_guest_ptr(g, gpa, len);

	if (!p)
		return -EFAULT;
	/* An 8-byte value goes in one store, as the guest kernel reads it. */
	if (len == 8) {
		uint64_t v;

		memcpy(&v, buf, 8);
		kt_shm_store_u64(p, 0, v);
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		p[i] = ((const uint8_t *)buf)[i];
	return 0;
}

int kt_vm_guest_shm_ctrl_set(struct kt_vm_guest *g, unsigned off, uint8_t value)
{
	if (!g->shm)
		return -ENODEV;
	if (off < 12 || off > 15)
		return -EINVAL;
	kt_shm_ctrl_set((volatile uint8_t *)g->shm, (enum kt_shm_ctrl)off, value);
	return 0;
}

int kt_vm_guest_shm_ctrl_get(const struct kt_vm_guest *g, unsigned off)
{
	if (!g->shm)
		return -ENODEV;
	if (off < 12 || off > 15)
		return -EINVAL;
	return kt_shm_ctrl_get(g->shm, (enum kt_shm_ctrl)off);
}

double kt_vm_guest_elapsed(const struct kt_vm_guest *g)
{
	return (double)(kt_now_ns() - g->t0) / 1e9;
}

static void guest_unmap(struct kt_vm_guest *g)
{
	for (int i = 0; i < 64; i++) {
		if (g->map[i])
			munmap(g->map[i], g->map_len[i]);
		g->map[i] = NULL;
	}
}

static int guest_map(struct kt_vm_guest *g, const int *memfds, unsigned memory_mb, int nodes)
{
	uint64_t lowmem;

	g->ram = (uint64_t)memory_mb * MB;
	lowmem = g->ram >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
	g->low_top = g->ram < lowmem ? g->ram : lowmem;
	g->nodes = nodes;
	g->per_node = (uint64_t)(memory_mb / (unsigned)nodes) * MB;
	for (int i = 0; i < nodes; i++) {
		uint64_t len =
		    i == nodes - 1 ? g->ram - g->per_node * (uint64_t)(nodes - 1) : g->per_node;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			       memfds[i], 0);

		if (m == MAP_FAILED) {
			int e = -errno;

			guest_unmap(g);
			return e;
		}
		g->map[i] = m;
		g->map_len[i] = len;
	}
	return 0;
}

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;
static struct sigaction prev_sa[3];
static const int term_sigs[3] = {SIGINT, SIGTERM, SIGHUP};

static void restore_tty(void)
{
	if (tio_saved) {
		tcsetattr(0, TCSANOW, &saved_tio);
		tio_saved = 0;
	}
}

static void on_term_signal(int sig)
{
	restore_tty();
	for (int i = 0; i < 3; i++) {
		if (term_sigs[i] != sig)
			continue;
		if (prev_sa[i].sa_handler != SIG_DFL && prev_sa[i].sa_handler != SIG_IGN &&
		    !(prev_sa[i].sa_flags & SA_SIGINFO)) {
			prev_sa[i].sa_handler(sig);
			return;
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int enter_raw(struct run *r)
{
	struct termios t;
	struct sigaction sa;

	if (tcgetattr(0, &saved_tio) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_signal;
	sigfillset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(term_sigs[i], &sa, &prev_sa[i]);
	tio_saved = 1;
	t = saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(0, TCSANOW, &t) < 0)
		return -errno;
	r->tty_raw = true;
	return 0;
}

static void leave_raw(struct run *r)
{
	if (!r->tty_raw)
		return;
	restore_tty();
	for (int i = 0; i < 3; i++)
		sigaction(term_sigs[i], &prev_sa[i], NULL);
	r->tty_raw = false;
}

/*
 * Write all of buf (retrying EINTR, giving up on errors). sock: fd is one of
 * the machine's sockets, where a dead machine must be an EPIPE, never a
 * SIGPIPE.
 */
static void put_all(int fd, const void *buf, size_t n, bool sock)
{
	const char *p = buf;

	while (n) {
		ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void write_all(int fd, const void *buf, size_t n)
{
	put_all(fd, buf, n, false);
}

/* ---- COM1: console ------------------------------------------------------------ */

static void console_line(void *ctx, char *line)
{
	struct run *r = ctx;

	tail_add(&r->t1, line);
	if (!r->res->panicked && strstr(line, "Kernel panic - not syncing")) {
		r->res->panicked = true;
		r->res->panic_line = kt_strdup(line);
		r->panic_at = kt_now_ns();
	}
	if (r->cfg->on_console_line)
		r->cfg->on_console_line(r->cfg->ctx, line);
}

static void console_data(struct run *r, const char *buf, size_t n)
{
	if (r->logfd >= 0)
		write_all(r->logfd, buf, n);
	if (r->cfg->dmesg) {
		if (r->tty_raw) {
			for (size_t i = 0; i < n; i++) {
				if (buf[i] == '\n')
					write_all(2, "\r", 1);
				write_all(2, buf + i, 1);
			}
		} else {
			write_all(2, buf, n);
		}
	}
	lb_feed(&r->l1, buf, n, console_line, r);
}

/* ---- COM2: guest init output and protocol ----------------------------------- */

static void com2_line(void *ctx, const char *line, size_t len, bool protocol)
{
	struct run *r = ctx;
	struct kt_vm_result *res = r->res;
	char buf[TAIL_LINE_MAX];

	snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), line);
	tail_add(&r->t2, buf);
	if (!res->init_started && kt_com2_init_started(r->com2p)) {
		res->init_s = (double)(kt_now_ns() - r->t0) / 1e9;
		res->init_started = true;
		if (r->cfg->interactive && !r->raw_relay) {
			r->raw_relay = true;
			enter_raw(r);
		}
	}
	if (protocol)
		return;
	if (kt_startswith(buf, "KTSTR_INIT_ERROR ")) {
		free(res->guest_error);
		res->guest_error = kt_strdup(buf + strlen("KTSTR_INIT_ERROR "));
		return;
	}
	if (r->cfg->on_com2_line) {
		/* the parser's line is not NUL-terminated */
		char *copy = kt_malloc(len + 1);

		memcpy(copy, line, len);
		copy[len] = 0;
		r->cfg->on_com2_line(r->cfg->ctx, copy);
		free(copy);
	} else {
		int fd = r->cfg->interactive ? 2 : 1;

		write_all(fd, line, len);
		write_all(fd, "\n", 1);
	}
}

static void com2_data(struct run *r, const char *buf, size_t n)
{
	if (r->raw_relay) {
		write_all(1, buf, n);
		return;
	}
	if (!r->cfg->interactive) {
		kt_com2_feed(r->com2p, buf, n);
		return;
	}
	/* byte-wise until the shell is up: the rest is terminal output */
	for (size_t i = 0; i < n; i++) {
		kt_com2_feed(r->com2p, buf + i, 1);
		if (r->raw_relay) {
			if (i + 1 < n)
				write_all(1, buf + i + 1, n - i - 1);
			return;
		}
	}
}

/* ---- SHM ------------------------------------------------------------------- */

static int shm_msg(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	struct run *r = ctx;
	struct kt_shm_msg_view m = {type, payload, len, crc_ok};

	r->res->shm_messages++;
	if (!crc_ok)
		r->res->shm_bad++;
	if (crc_ok && type == KT_SHM_MSG_EXIT && len == 4) {
		int32_t code;

		memcpy(&code, payload, 4);
		r->res->have_exit = true;
		r->res->exit_code = code;
		r->shm_exit = true;
	}
	if (r->cfg->on_shm)
		r->cfg->on_shm(r->cfg->ctx, &m);
	return 0;
}

static void shm_drain(struct run *r)
{
	uint64_t before = r->shm_rp;

	if (!r->shm)
		return;
	kt_shm_drain(r->shm, r->shm_size, &r->shm_rp, shm_msg, r);
	if (r->shm_rp != before)
		kt_shm_store_read_ptr((volatile uint8_t *)r->shm, r->shm_rp);
	r->res->shm_drops = kt_shm_load_u64(r->shm, KT_SHM_OFF_DROPS);
}

/* ---- initramfs ----------------------------------------------------------- */

static char **busybox_applets; /* "usr/bin/awk" style paths, NULL-terminated */

static pthread_once_t applets_once = PTHREAD_ONCE_INIT;

static void load_applets_once(void)
{
	char *argv[] = {"/bin/busybox", "--list-full", NULL};
	char *out = NULL, *save = NULL;
	size_t n = 0, cap = 0;

	if (kt_run_capture(argv, NULL, &out)) {
		busybox_applets = kt_calloc(1, sizeof(char *));
		return;
	}
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = kt_trim(l);
		if (!*l || strstr(l, "..") || !strcmp(l, "bin/busybox"))
			continue;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 512;
			busybox_applets = kt_realloc(busybox_applets, cap * sizeof(char *));
		}
		busybox_applets[n++] = kt_strdup(l);
	}
	if (!busybox_applets)
		busybox_applets = kt_calloc(1, sizeof(char *));
	busybox_applets[n] = NULL;
	free(out);
}

static void load_applets(void)
{
	pthread_once(&applets_once, load_applets_once);
}

/*
 * The initramfs is a cached, compressed base (this executable as /init and
 * /bin/ktstr, busybox and its applets) followed by the caller's files as a
 * plain cpio suffix ending in /.ktstr_init_ok, so a new payload never
 * recompresses the base.
 */
static int build_initramfs(struct kt_cpio *user, const char *out_path, size_t *cpio_len,
			   size_t *initrd_len, char **err)
{
	struct kt_cpio *base = kt_cpio_new();
	const void *bdata, *sdata;
	size_t blen, slen;
	char *base_path = NULL;
	int r, fd;

	/* a dynamically linked build (e.g. make asan) brings its libraries */
	r = kt_cpio_add_elf_flags(base, "init", "/proc/self/exe", KT_ELF_STRIP_DEBUG, err);
	if (r) {
		char *e = *err;

		*err = kt_asprintf("initramfs: adding /init from /proc/self/exe: %s",
				   e ? e : strerror(-r));
		free(e);
		goto out;
	}
	kt_cpio_add_symlink(base, "bin/ktstr", "/init");
	if (kt_is_file("/bin/busybox")) {
		r = kt_cpio_add_file(base, "bin/busybox", "/bin/busybox", 0755);
		if (r) {
			*err = kt_asprintf("initramfs: adding /bin/busybox: %s", strerror(-r));
			goto out;
		}
		load_applets();
		for (char **a = busybox_applets; *a; a++)
			kt_cpio_add_symlink(base, *a, "/bin/busybox");
	}
	r = kt_cpio_finish(base, &bdata, &blen);
	if (r) {
		*err = kt_asprintf("initramfs: %s", strerror(-r));
		goto out;
	}
	r = kt_initramfs_cache_get(bdata, blen, &base_path, err);
	if (r)
		goto out;
	r = kt_cpio_add_data(user, ".ktstr_init_ok", "", 0, 0644);
	if (!r)
		r = kt_cpio_finish(user, &sdata, &slen);
	if (r) {
		*err = kt_asprintf("initramfs: %s", strerror(-r));
		goto out;
	}
	r = kt_initramfs_compose(base_path, sdata, slen, out_path, err);
	if (r)
		goto out;
	*cpio_len = blen + slen;
	fd = open(out_path, O_RDONLY | O_CLOEXEC);
	*initrd_len = 0;
	if (fd >= 0) {
		off_t sz = lseek(fd, 0, SEEK_END);

		*initrd_len = sz > 0 ? (size_t)sz : 0;
		close(fd);
	}
out:
	free(base_path);
	kt_cpio_free(base);
	return r;
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

static void read_qemu_stderr(struct kt_vmm *vm, struct run *r)
{
	char buf[4096];

	if (vm->stderr_fd < 0)
		return;
	for (;;) {
		ssize_t n = read(vm->stderr_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			close(vm->stderr_fd);
			vm->stderr_fd = -1;
		}
		if (n <= 0)
			return;
		if (r->qerr.len < QEMU_STDERR_MAX)
			sb_add(&r->qerr, buf, (size_t)n);
	}
}

/*
 * Read what is available on a channel; false at EOF/error (and, with
 * final, also when nothing is left to read).
 */
static bool pump(struct run *r, int fd, bool com1, bool final)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return !final;
	if (n <= 0)
		return false;
	if (com1)
		console_data(r, buf, (size_t)n);
	else
		com2_data(r, buf, (size_t)n);
	return true;
}

static int loop(struct run *r, struct kt_vmm *vm)
{
	const struct kt_vm_config *cfg = r->cfg;
	uint64_t deadline = cfg->timeout_s ? r->t0 + (uint64_t)cfg->timeout_s * 1000000000ull : 0;
	bool com1_open = true, com2_open = true, stdin_open = cfg->interactive;
	int status = 0;

	for (;;) {
		struct pollfd pfd[5];
		int n = 0, i_c1 = -1, i_c2 = -1, i_in = -1, i_err = -1, i_pid = -1;
		int timeout = r->shm || cfg->on_tick ? SHM_POLL_MS : 1000;
		uint64_t now = kt_now_ns();

		if (deadline) {
			if (now >= deadline) {
				r->res->timed_out = true;
				vm->be->kill(vm);
				status = 137;
				break;
			}
			if ((deadline - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((deadline - now) / 1000000) + 1;
		}
		if (r->panic_at && now - r->panic_at > PANIC_GRACE_MS * 1000000ull) {
			vm->be->kill(vm);
			status = 137;
			break;
		}
		if (com1_open) {
			i_c1 = n;
			pfd[n++] = (struct pollfd){r->com1, POLLIN, 0};
		}
		if (com2_open) {
			i_c2 = n;
			pfd[n++] = (struct pollfd){r->com2, POLLIN, 0};
		}
		if (stdin_open && r->raw_relay) {
			i_in = n;
			pfd[n++] = (struct pollfd){0, POLLIN, 0};
		}
		if (vm->stderr_fd >= 0) {
			i_err = n;
			pfd[n++] = (struct pollfd){vm->stderr_fd, POLLIN, 0};
		}
		if (vm->pidfd >= 0) {
			i_pid = n;
			pfd[n++] = (struct pollfd){vm->pidfd, POLLIN, 0};
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (i_c1 >= 0 && pfd[i_c1].revents)
			com1_open = pump(r, r->com1, true, false);
		if (i_c2 >= 0 && pfd[i_c2].revents)
			com2_open = pump(r, r->com2, false, false);
		if (i_err >= 0 && pfd[i_err].revents)
			read_qemu_stderr(vm, r);
		if (i_in >= 0 && pfd[i_in].revents) {
			char buf[1024];
			ssize_t k = read(0, buf, sizeof(buf));

			if (k > 0 && memchr(buf, KT_VM_ESCAPE, (size_t)k)) {
				/* the user's way out of a stuck guest */
				r->res->interrupted = true;
				vm->be->kill(vm);
				status = 137;
				break;
			}
			if (k > 0)
				put_all(r->com2, buf, (size_t)k, true);
			else if (k == 0 || errno != EINTR)
				stdin_open = false;
		}
		shm_drain(r);
		if (cfg->on_tick && kt_now_ns() >= r->next_tick) {
			uint64_t tick = cfg->tick_ms ? cfg->tick_ms : 100;

			r->next_tick = kt_now_ns() + tick * 1000000ull;
			if (cfg->on_tick(cfg->ctx, &r->guest)) {
				r->res->stopped_by_host = true;
				vm->be->kill(vm);
				status = 137;
				break;
			}
		}
		if ((i_pid >= 0 && pfd[i_pid].revents) || vm->pidfd < 0 ||
		    (!com1_open && !com2_open)) {
			if (vm->be->reap(vm, &status))
				break;
		}
	}
	/* The machine is gone: take what is left in the channels. */
	while (com1_open && pump(r, r->com1, true, true))
		;
	while (com2_open && pump(r, r->com2, false, true))
		;
	read_qemu_stderr(vm, r);
	return status;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int kt_vm_run(const struct kt_vm_config *cfg, struct kt_vm_result *res, char **err)
{
	struct run r = {0};
	struct kt_vm_plan p = {0};
	struct kt_vmm vm = {.pid = 0, .pidfd = -1, .stderr_fd = -1};
	struct kt_cpio *own = NULL, *c = cfg->initramfs;
	size_t cpio_len = 0, initrd_size = 0;
	char *initrd_path = NULL, *why = NULL, *cmdline = NULL, *argv_log = NULL;
	const char *image = cfg->kernel;
	int memfds[64], nodes = cfg->topo.numa_nodes, sv1[2] = {-1, -1}, sv2[2] = {-1, -1};
	enum kt_accel accel;
	struct winsize ws;
	char *tmpl = NULL;
	int rc, status;

	uint64_t t_call = kt_now_ns();

	memset(res, 0, sizeof(*res));
	*err = NULL;
	for (int i = 0; i < 64; i++)
		memfds[i] = -1;
	r.cfg = cfg;
	r.res = res;
	r.com1 = r.com2 = r.logfd = -1;
	r.com2p = kt_com2_new();
	kt_com2_set_line_cb(r.com2p, com2_line, &r);

	if (!cfg->kernel) {
		*err = kt_strdup("no kernel image given");
		return -EINVAL;
	}
	if ((rc = kt_topo_validate(&cfg->topo, err)))
		return rc;
	if (nodes > 64) {
		*err = kt_asprintf("%d NUMA nodes: at most 64 supported", nodes);
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
	if ((rc = kt_vm_check_image(cfg->kernel, err)))
		return rc;
	if (cfg->vmlinux && kt_vm_image_has_pvh(cfg->vmlinux))
		image = cfg->vmlinux;

	/* run directory (console log, machine argv, initrd) */
	tmpl =
	    kt_asprintf("%s/ktstr-vm.XXXXXX", kt_getenv("TMPDIR") ? kt_getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpl)) {
		rc = -errno;
		*err = kt_asprintf("creating run directory %s: %s", tmpl, strerror(errno));
		goto out;
	}
	res->run_dir = kt_strdup(tmpl);
	res->keep_files = cfg->keep_files;
	if (!cfg->keep_files)
		kt_cleanup_add_path(res->run_dir);

	/* initramfs */
	if (!c)
		c = own = kt_cpio_new();
	initrd_path = kt_path_join(res->run_dir, "initrd");
	rc = build_initramfs(c, initrd_path, &cpio_len, &initrd_size, err);
	if (rc)
		goto out;

	/* memory */
	if (cfg->memory_mb) {
		rc = kt_vm_memory_check(cfg->memory_mb, cpio_len, initrd_size, cfg->shm_size, err);
		if (rc)
			goto out;
		res->memory_mb = cfg->memory_mb;
	} else {
		res->memory_mb =
		    kt_vm_memory_estimate(&cfg->topo, cpio_len, initrd_size, cfg->shm_size);
	}
	if (res->memory_mb < (unsigned)nodes * 64) {
		*err = kt_asprintf("--memory-mb %u: too small for %d NUMA nodes (64 MiB each)",
				   res->memory_mb, nodes);
		rc = -EINVAL;
		goto out;
	}

	/* accelerator */
	rc = kt_accel_resolve(cfg->accel, &accel, &why, err);
	if (rc)
		goto out;
	res->accel = accel;
	if (!cfg->accel_quiet)
		kt_info("accel: %s (%s)", kt_accel_name(accel), why);

	res->console_log = kt_path_join(res->run_dir, "console.log");
	r.logfd = open(res->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (r.logfd < 0) {
		rc = -errno;
		*err = kt_asprintf("%s: %s", res->console_log, strerror(errno));
		goto out;
	}
	argv_log = kt_path_join(res->run_dir, "qemu.argv");

	/* guest RAM: one shared memfd per node */
	for (int i = 0; i < nodes; i++) {
		unsigned per = res->memory_mb / (unsigned)nodes;
		unsigned mb = i == nodes - 1 ? res->memory_mb - per * (unsigned)(nodes - 1) : per;
		char name[32];

		snprintf(name, sizeof(name), "ktstr-ram%d", i);
		memfds[i] = memfd_create(name, MFD_CLOEXEC);
		if (memfds[i] < 0 || ftruncate(memfds[i], (off_t)mb * (off_t)MB) < 0) {
			rc = -errno;
			*err = kt_asprintf("guest RAM (%u MiB): %s", mb, strerror(errno));
			goto out;
		}
	}

	/* channels */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv1) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2) < 0) {
		rc = -errno;
		*err = kt_asprintf("socketpair: %s", strerror(errno));
		goto out;
	}
	r.com1 = sv1[0];
	r.com2 = sv2[0];
	nonblock(r.com1);
	nonblock(r.com2);

	p.qemu = kt_getenv("KTSTR_QEMU");
	p.kernel = image;
	p.initrd = initrd_path;
	p.topo = &cfg->topo;
	p.memory_mb = res->memory_mb;
	p.accel = accel;
	p.mode = cfg->mode;
	p.shm_size = cfg->shm_size;
	p.verbose = (kt_getenv("KTSTR_VERBOSE") && !strcmp(kt_getenv("KTSTR_VERBOSE"), "1")) ||
		    (kt_getenv("RUST_BACKTRACE") && (!strcmp(kt_getenv("RUST_BACKTRACE"), "1") ||
						     !strcmp(kt_getenv("RUST_BACKTRACE"), "full")));
	p.dmesg = cfg->dmesg;
	if (cfg->interactive) {
		p.term = kt_getenv("TERM");
		p.colorterm = kt_getenv("COLORTERM");
		if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
			p.cols = ws.ws_col;
			p.rows = ws.ws_row;
		}
	}
	p.cmdline_extra = cfg->cmdline_extra;
	p.com1_fd = sv1[1];
	p.com2_fd = sv2[1];
	p.mem_fds = memfds;
	if (cfg->shm_size) {
		rc = setup_shm(&r, memfds, &p, initrd_size, err);
		if (rc)
			goto out;
	}
	cmdline = kt_vm_build_cmdline(&p);
	if (cfg->on_tick) {
		rc = guest_map(&r.guest, memfds, res->memory_mb, nodes);
		if (rc) {
			*err = kt_asprintf("mapping guest RAM: %s", strerror(-rc));
			goto out;
		}
		r.guest.shm = r.shm;
	}

	r.t0 = kt_now_ns();
	r.guest.t0 = r.t0;
	r.next_tick = r.t0;
	rc = kt_vmm_qemu.start(&vm, &p, cmdline, argv_log, err);
	close(sv1[1]);
	close(sv2[1]);
	sv1[1] = sv2[1] = -1;
	if (rc)
		goto out;
	kt_debug("vm", "machine started %.3f s after kt_vm_run was called",
		 (double)(r.t0 - t_call) / 1e9);
	status = loop(&r, &vm);
	leave_raw(&r);
	res->qemu_status = status;
	res->wall_s = (double)(kt_now_ns() - r.t0) / 1e9;
	kt_debug("vm", "init started at %.3f s, machine stopped at %.3f s (status %d)", res->init_s,
		 res->wall_s, status);
	shm_drain(&r);
	lb_flush(&r.l1, console_line, &r);
	if (!r.raw_relay)
		kt_com2_finish(r.com2p);
	{
		int code;
		const char *json;
		size_t jl;

		if (!r.shm_exit && kt_com2_exit_code(r.com2p, &code)) {
			res->have_exit = true;
			res->exit_code = code;
		}
		if (kt_com2_exec_exit_code(r.com2p, &code)) {
			res->have_exec_exit = true;
			res->exec_exit = code;
		}
		json = kt_com2_test_result(r.com2p, &jl);
		if (json)
			res->result_json = kt_strdup(json);
		json = kt_com2_sched_output(r.com2p, &jl);
		if (json && *json)
			res->sched_output = kt_strdup(json);
		json = kt_com2_panic(r.com2p);
		if (json)
			res->guest_panic = kt_strdup(json);
		res->payload_starting = kt_com2_payload_starting(r.com2p);
		res->scheduler_died = kt_com2_scheduler_died(r.com2p);
		res->scheduler_not_attached = kt_com2_scheduler_not_attached(r.com2p);
	}
	res->interrupted = res->interrupted || kt_interrupted() != 0;
	rc = 0;
out:
	if (vm.pid > 0)
		vm.be->kill(&vm);
	if (vm.stderr_fd >= 0)
		close(vm.stderr_fd);
	leave_raw(&r);
	res->console_tail = tail_str(&r.t1, KT_VM_TAIL_LINES);
	res->com2_tail = tail_str(&r.t2, KT_VM_TAIL_LINES);
	res->qemu_stderr = kt_strdup(r.qerr.len ? sb_str(&r.qerr) : "");
	sb_free(&r.qerr);
	kt_com2_free(r.com2p);
	if (r.shm_map)
		munmap(r.shm_map, r.shm_map_len);
	guest_unmap(&r.guest);
	for (int i = 0; i < 64; i++)
		if (memfds[i] >= 0)
			close(memfds[i]);
	for (int i = 0; i < 2; i++) {
		if (sv1[i] >= 0)
			close(sv1[i]);
		if (sv2[i] >= 0)
			close(sv2[i]);
	}
	if (r.logfd >= 0)
		close(r.logfd);
	if (own)
		kt_cpio_free(own);
	free(initrd_path);
	free(why);
	free(cmdline);
	free(argv_log);
	free(tmpl);
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
	free(res->result_json);
	free(res->sched_output);
	free(res->guest_panic);
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
