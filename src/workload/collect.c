// SPDX-License-Identifier: GPL-2.0
/*
 * The workload handle's collection: stop the workers, read their JSON
 * reports (untrusted, bounded) under one deadline, record how each ended,
 * kill and reap them.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workload/handle.h"

static void exit_info_from_status(int status, struct kt_exit_info *e)
{
	if (status < 0) {
		e->kind = KT_EXIT_WAIT_FAILED;
		e->value = ECHILD;
	} else if (WIFEXITED(status)) {
		e->kind = KT_EXIT_EXITED;
		e->value = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		e->kind = KT_EXIT_SIGNALED;
		e->value = WTERMSIG(status);
	} else {
		e->kind = KT_EXIT_WAIT_FAILED;
		e->value = 0;
	}
}

/* What the workers sent, per worker. */
struct inbox {
	struct sbuf *bufs;
	bool *eof, *garbage;
	struct kt_exit_info *pre;
};

/* Stop reading worker i's pipe (EOF, error or oversized report). */
static void close_report(struct kt_workload *wl, struct inbox *in, size_t i, size_t *open_cnt)
{
	in->eof[i] = true;
	(*open_cnt)--;
	kh_close_fd(&wl->w[i].report_fd);
}

/* Read every pipe to EOF under one shared deadline. */
static void read_reports(struct kt_workload *wl, struct inbox *in, uint64_t t_end)
{
	struct pollfd *pfds = kt_calloc(wl->n, sizeof(*pfds));
	size_t *map = kt_calloc(wl->n, sizeof(*map)), open_cnt = 0;
	char *chunk = kt_malloc(65536);

	for (size_t i = 0; i < wl->n; i++) {
		sb_init(&in->bufs[i]);
		if (wl->w[i].report_fd >= 0)
			open_cnt++;
		else
			in->eof[i] = true;
	}
	while (open_cnt) {
		uint64_t now = kt_now_ns();
		size_t np = 0;
		int r;

		if (now >= t_end)
			break;
		for (size_t i = 0; i < wl->n; i++) {
			if (in->eof[i])
				continue;
			pfds[np].fd = wl->w[i].report_fd;
			pfds[np].events = POLLIN;
			pfds[np].revents = 0;
			map[np++] = i;
		}
		r = poll(pfds, np, (int)((t_end - now) / 1000000ull) + 1);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t k = 0; r > 0 && k < np; k++) {
			size_t i = map[k];
			ssize_t got;

			if (!pfds[k].revents)
				continue;
			got = read(wl->w[i].report_fd, chunk, 65536);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				close_report(wl, in, i, &open_cnt);
				continue;
			}
			if (in->bufs[i].len + (size_t)got > MAX_REPORT_BYTES) {
				in->garbage[i] = true; /* oversized: stop reading, sentinel */
				close_report(wl, in, i, &open_cnt);
				continue;
			}
			sb_add(&in->bufs[i], chunk, (size_t)got);
		}
	}
	free(chunk);
	free(pfds);
	free(map);
}

/*
 * How worker i ended, recorded before we SIGKILL it (WNOWAIT keeps the
 * zombie, so its pid/pgid cannot be reused before killpg). A worker whose
 * pipe hit EOF is exiting: give it until t_grace to become a zombie.
 */
static void record_exit(struct worker *w, bool eof, uint64_t t_grace, struct kt_exit_info *pre)
{
	siginfo_t si;
	int wrc, werr = 0;

	if (w->reaped) {
		exit_info_from_status(w->status, pre);
		return;
	}
	for (;;) {
		memset(&si, 0, sizeof(si));
		wrc = waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOHANG | WNOWAIT);
		werr = errno;
		if (wrc < 0 && werr == EINTR)
			continue;
		if (wrc < 0 || si.si_pid != 0 || !eof || kt_now_ns() >= t_grace)
			break;
		struct timespec ts = {0, 1000000L};

		nanosleep(&ts, NULL);
	}
	if (wrc < 0) {
		pre->kind = KT_EXIT_WAIT_FAILED;
		pre->value = werr;
	} else if (si.si_pid == 0) {
		pre->kind = KT_EXIT_TIMED_OUT;
	} else if (si.si_code == CLD_EXITED) {
		pre->kind = KT_EXIT_EXITED;
		pre->value = si.si_status;
	} else {
		pre->kind = KT_EXIT_SIGNALED;
		pre->value = si.si_status;
	}
}

/* Worker i's report, or a sentinel saying how it ended. */
static void parse_report(struct kt_workload *wl, struct inbox *in, size_t i,
			 struct kt_worker_report *rep)
{
	bool ok = false;

	if (in->eof[i] && !in->garbage[i] && in->bufs[i].len) {
		char *perr = NULL;

		ok = kt_worker_report_parse(in->bufs[i].s, in->bufs[i].len, rep, &perr) == 0;
		if (!ok)
			kt_debug("workload", "worker %d: %s", (int)wl->w[i].pid,
				 perr ? perr : "bad report");
		free(perr);
	}
	if (!ok) {
		if (in->pre[i].kind == KT_EXIT_NONE)
			in->pre[i].kind = KT_EXIT_TIMED_OUT;
		kt_worker_report_sentinel(rep, wl->w[i].pid, in->pre[i]);
	}
}

int kt_workload_stop_and_collect(struct kt_workload *wl, unsigned deadline_ms,
				 struct kt_worker_report **out, size_t *nout)
{
	struct inbox in;
	struct kt_worker_report *reps;
	uint64_t t_end, t_grace;

	*out = NULL;
	*nout = 0;
	if (wl->collected)
		return -EALREADY;
	wl->collected = true;
	if (!wl->started) {
		kt_workload_start(wl);
		struct timespec ts = {0, 500000000L};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	for (size_t i = 0; i < wl->n; i++)
		if (!wl->w[i].reaped)
			kill(wl->w[i].pid, SIGUSR1);

	in.bufs = kt_calloc(wl->n, sizeof(*in.bufs));
	in.eof = kt_calloc(wl->n, sizeof(*in.eof));
	in.garbage = kt_calloc(wl->n, sizeof(*in.garbage));
	in.pre = kt_calloc(wl->n, sizeof(*in.pre));
	t_end =
	    kt_now_ns() + (uint64_t)(deadline_ms ? deadline_ms : DEFAULT_DEADLINE_MS) * 1000000ull;
	read_reports(wl, &in, t_end);
	/* at least 100 ms for a worker whose pipe hit EOF to exit */
	t_grace = kt_now_ns() + 100000000ull;
	if (t_grace < t_end)
		t_grace = t_end;
	for (size_t i = 0; i < wl->n; i++)
		record_exit(&wl->w[i], in.eof[i], t_grace, &in.pre[i]);
	for (size_t i = 0; i < wl->n; i++)
		kh_kill_worker(&wl->w[i]);
	for (size_t i = 0; i < wl->n; i++) {
		kh_reap_worker(&wl->w[i]);
		kh_close_fd(&wl->w[i].report_fd);
	}

	reps = kt_calloc(wl->n, sizeof(*reps));
	for (size_t i = 0; i < wl->n; i++) {
		parse_report(wl, &in, i, &reps[i]);
		sb_free(&in.bufs[i]);
	}
	free(in.bufs);
	free(in.eof);
	free(in.garbage);
	free(in.pre);
	*out = reps;
	*nout = wl->n;
	return 0;
}
