// SPDX-License-Identifier: GPL-2.0
/*
 * Watching a running machine: COM1 (console log, panic detection), COM2
 * (the init's lifecycle lines, everything else handed up), the SHM ring
 * (messages handed up uninterpreted), the machine's stderr, the terminal,
 * the timeout and on_tick, until the machine is gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/internal.h"
#include "vm/shm.h"

#define SHM_POLL_MS 100
#define PANIC_GRACE_MS 5000
#define QEMU_STDERR_MAX (64 * 1024)

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

static void tail_add(struct tail *t, const char *line)
{
	snprintf(t->lines[t->next], TAIL_LINE_MAX, "%s", line);
	t->next = (t->next + 1) % KT_VM_TAIL_LINES;
	if (t->count < KT_VM_TAIL_LINES)
		t->count++;
}

char *kt_vm_tail_str(const struct tail *t, unsigned max)
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

/* Retrying EINTR, giving up on errors. */
void kt_vm_put_all(int fd, const void *buf, size_t n, bool sock)
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
	kt_vm_put_all(fd, buf, n, false);
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
	kt_conlog_write(&r->conlog, buf, n);
	if (r->cfg->dmesg) {
		struct sbuf sb = SBUF_INIT;

		r->dmesg_filter.crlf = r->tty_raw;
		kt_term_filter_feed(&r->dmesg_filter, buf, n, &sb);
		write_all(2, sb.s, sb.len);
		sb_free(&sb);
	}
	lb_feed(&r->l1, buf, n, console_line, r);
}

/* ---- COM2: guest init output ---------------------------------------------- */

void kt_vm_com2_line(void *ctx, const char *line, size_t len, bool cut, bool lifecycle)
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
			kt_vm_tty_raw(&r->tty_raw);
		}
	}
	if (lifecycle)
		return;
	if (kt_startswith(buf, "KTSTR_INIT_ERROR ")) {
		free(res->guest_error);
		res->guest_error = kt_strdup(buf + strlen("KTSTR_INIT_ERROR "));
		return;
	}
	if (r->cfg->on_com2_line) {
		/* the reader's line is not NUL-terminated */
		char *copy = kt_malloc(len + 1);

		memcpy(copy, line, len);
		copy[len] = 0;
		r->cfg->on_com2_line(r->cfg->ctx, copy, len, cut);
		free(copy);
	} else {
		int fd = r->cfg->interactive ? 2 : 1;
		char *safe = kt_term_safe(line, len);

		write_all(fd, safe, strlen(safe));
		write_all(fd, "\n", 1);
		free(safe);
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
	if (payload && !crc_ok)
		r->res->shm_bad++;
	if (r->cfg->on_shm)
		r->cfg->on_shm(r->cfg->ctx, &m);
	return 0;
}

static uint32_t shm_limit(void *ctx, uint32_t type)
{
	struct run *r = ctx;

	return r->cfg->shm_limit(r->cfg->ctx, type);
}

static void shm_drain(struct run *r)
{
	uint64_t before = r->shm_rp;

	if (!r->shm)
		return;
	kt_shm_drain_limited(r->shm, r->shm_size, &r->shm_rp, r->cfg->shm_limit ? shm_limit : NULL,
			     shm_msg, r);
	if (r->shm_rp != before)
		kt_shm_store_read_ptr((volatile uint8_t *)r->shm, r->shm_rp);
	r->res->shm_drops = kt_shm_load_u64(r->shm, KT_SHM_OFF_DROPS);
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

int kt_vm_watch(struct run *r, struct kt_vmm *vm)
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
		/* wake for the next tick on time (the monitor's sampling interval) */
		if (cfg->on_tick && r->next_tick > now &&
		    (r->next_tick - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((r->next_tick - now) / 1000000) + 1;
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
				kt_vm_put_all(r->com2, buf, (size_t)k, true);
			else if (k == 0 || errno != EINTR)
				stdin_open = false;
		}
		shm_drain(r);
		if (cfg->on_tick && kt_now_ns() >= r->next_tick) {
			uint64_t tick = cfg->tick_ms ? cfg->tick_ms : 100;

			/* a fixed cadence: late ticks do not shift the ones after */
			r->next_tick += tick * 1000000ull;
			if (r->next_tick < kt_now_ns())
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

void kt_vm_watch_finish(struct run *r)
{
	shm_drain(r);
	lb_flush(&r->l1, console_line, r);
	if (!r->raw_relay)
		kt_com2_finish(r->com2p);
}
