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

int kt_workload_stop_and_collect(struct kt_workload *wl, unsigned deadline_ms,
				 struct kt_worker_report **out, size_t *nout)
{
	struct sbuf *bufs;
	bool *eof, *garbage;
	struct kt_exit_info *pre;
	struct kt_worker_report *reps;
	uint64_t t_end;
	size_t open_cnt = 0;

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

	bufs = kt_calloc(wl->n, sizeof(*bufs));
	eof = kt_calloc(wl->n, sizeof(*eof));
	garbage = kt_calloc(wl->n, sizeof(*garbage));
	pre = kt_calloc(wl->n, sizeof(*pre));
	for (size_t i = 0; i < wl->n; i++) {
		sb_init(&bufs[i]);
		if (wl->w[i].report_fd >= 0)
			open_cnt++;
		else
			eof[i] = true;
	}

	/* Read every pipe to EOF under one shared deadline. */
	t_end =
	    kt_now_ns() + (uint64_t)(deadline_ms ? deadline_ms : DEFAULT_DEADLINE_MS) * 1000000ull;
	struct pollfd *pfds = kt_calloc(wl->n, sizeof(*pfds));
	size_t *map = kt_calloc(wl->n, sizeof(*map));
	char *chunk = kt_malloc(65536);

	while (open_cnt) {
		uint64_t now = kt_now_ns();
		size_t np = 0;
		int r;

		if (now >= t_end)
			break;
		for (size_t i = 0; i < wl->n; i++) {
			if (eof[i])
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
				eof[i] = true;
				open_cnt--;
				kh_close_fd(&wl->w[i].report_fd);
				continue;
			}
			if (bufs[i].len + (size_t)got > MAX_REPORT_BYTES) {
				garbage[i] = true; /* oversized: stop reading, sentinel */
				eof[i] = true;
				open_cnt--;
				kh_close_fd(&wl->w[i].report_fd);
				continue;
			}
			sb_add(&bufs[i], chunk, (size_t)got);
		}
	}
	free(chunk);
	free(pfds);
	free(map);

	/* Record how each worker ended before we SIGKILL it (WNOWAIT keeps the zombie,
	 * so its pid/pgid cannot be reused before killpg). A worker whose pipe hit EOF
	 * is exiting: give it until the deadline (at least 100 ms) to become a zombie. */
	uint64_t t_grace = kt_now_ns() + 100000000ull;

	if (t_grace < t_end)
		t_grace = t_end;
	for (size_t i = 0; i < wl->n; i++) {
		siginfo_t si;

		if (wl->w[i].reaped) {
			exit_info_from_status(wl->w[i].status, &pre[i]);
			continue;
		}
		int wrc, werr = 0;

		for (;;) {
			memset(&si, 0, sizeof(si));
			wrc = waitid(P_PID, (id_t)wl->w[i].pid, &si, WEXITED | WNOHANG | WNOWAIT);
			werr = errno;
			if (wrc < 0 && werr == EINTR)
				continue;
			if (wrc < 0 || si.si_pid != 0 || !eof[i] || kt_now_ns() >= t_grace)
				break;
			struct timespec ts = {0, 1000000L};

			nanosleep(&ts, NULL);
		}
		if (wrc < 0) {
			pre[i].kind = KT_EXIT_WAIT_FAILED;
			pre[i].value = werr;
		} else if (si.si_pid == 0) {
			pre[i].kind = KT_EXIT_TIMED_OUT;
		} else if (si.si_code == CLD_EXITED) {
			pre[i].kind = KT_EXIT_EXITED;
			pre[i].value = si.si_status;
		} else {
			pre[i].kind = KT_EXIT_SIGNALED;
			pre[i].value = si.si_status;
		}
	}
	for (size_t i = 0; i < wl->n; i++)
		kh_kill_worker(&wl->w[i]);
	for (size_t i = 0; i < wl->n; i++) {
		kh_reap_worker(&wl->w[i]);
		kh_close_fd(&wl->w[i].report_fd);
	}

	reps = kt_calloc(wl->n, sizeof(*reps));
	for (size_t i = 0; i < wl->n; i++) {
		bool ok = false;

		if (eof[i] && !garbage[i] && bufs[i].len) {
			char *perr = NULL;

			ok = kt_worker_report_parse(bufs[i].s, bufs[i].len, &reps[i], &perr) == 0;
			if (!ok)
				kt_debug("workload", "worker %d: %s", (int)wl->w[i].pid,
					 perr ? perr : "bad report");
			free(perr);
		}
		if (!ok) {
			if (pre[i].kind == KT_EXIT_NONE)
				pre[i].kind = KT_EXIT_TIMED_OUT;
			kt_worker_report_sentinel(&reps[i], wl->w[i].pid, pre[i]);
		}
		sb_free(&bufs[i]);
	}
	free(bufs);
	free(eof);
	free(garbage);
	free(pre);
	*out = reps;
	*nout = wl->n;
	return 0;
}
