// SPDX-License-Identifier: GPL-2.0
/* The step executor: payloads (RunPayload, WaitPayload, KillPayload). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"

/* ---- payloads ----------------------------------------------------------------------------- */

static struct payload *find_payload(struct exec *x, const char *name, const char *cg,
				    size_t *idx, char **err)
{
	size_t hits = 0, at = 0;

	for (size_t i = 0; i < x->n_ps; i++) {
		if (strcmp(x->ps[i].name, name))
			continue;
		if (cg && strcmp(x->ps[i].cgroup, cg))
			continue;
		hits++;
		at = i;
	}
	if (hits == 1) {
		*idx = at;
		return &x->ps[at];
	}
	if (hits == 0)
		kt_set_err(err, "no running payload named '%s'%s%s", name, cg ? " in cgroup " : "",
			cg ? cg : "");
	else
		kt_set_err(err, "payload '%s' is ambiguous — %zu live copies; name the cgroup", name,
			hits);
	return NULL;
}

int kx_run_payload(struct exec *x, const struct kt_op *op, char **err)
{
	const char *cg = op->cgroup ? op->cgroup : "";
	char *argv[KT_MAX_PAYLOAD_ARGS + 2];
	int sync[2], n = 0;
	pid_t pid;
	size_t dummy;
	char *e = NULL;
	char c = 0;

	if (!op->payload || !*op->payload) {
		kt_set_err(err, "RunPayload: no payload binary given");
		return -EINVAL;
	}
	if (*cg && !kx_find_cg(x, cg)) {
		kt_set_err(err, "RunPayload: cgroup '%s' not found", cg);
		return -ENOENT;
	}
	for (size_t i = 0; i < x->n_ps; i++)
		if (!strcmp(x->ps[i].name, op->payload) && !strcmp(x->ps[i].cgroup, cg)) {
			kt_set_err(err, "payload '%s' is already running in cgroup '%s'", op->payload,
				cg);
			return -EEXIST;
		}
	(void)dummy;
	argv[n++] = (char *)op->payload;
	for (int i = 0; i < KT_MAX_PAYLOAD_ARGS && op->args[i]; i++)
		argv[n++] = (char *)op->args[i];
	argv[n] = NULL;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(sync[0]);
		close(sync[1]);
		return r;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(sync[1]);
		if (read(sync[0], &c, 1) != 1)
			_exit(127);
		if (fd >= 0)
			dup2(fd, 0);
		dup2(2, 1); /* keep our stdout (results) clean */
		execvp(argv[0], argv);
		fprintf(stderr, "ktstr: error: payload %s: exec: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(sync[0]);
	kt_cleanup_add_pid(-pid);
	if (*cg && kt_cgmgr_move(x->ctx->cg, cg, &pid, 1, &e) < 0) {
		kt_set_err(err, "%s", e);
		free(e);
		close(sync[1]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kt_cleanup_del_pid(-pid);
		return -EIO;
	}
	if (write(sync[1], &c, 1) != 1) {
		/* child gone already: reaped by Wait/Kill */
	}
	close(sync[1]);
	x->ps = kt_realloc(x->ps, (x->n_ps + 1) * sizeof(*x->ps));
	x->ps[x->n_ps].name = kt_strdup(op->payload);
	x->ps[x->n_ps].cgroup = kt_strdup(cg);
	x->ps[x->n_ps].backdrop = !x->in_step;
	x->ps[x->n_ps].pid = pid;
	x->n_ps++;
	return 0;
}

int kx_wait_payload(struct exec *x, const struct kt_op *op, bool kill_it, char **err)
{
	size_t i;
	struct payload *p = find_payload(x, op->payload ? op->payload : "", op->cgroup, &i, err);
	int st = 0, code = -1;

	if (!p)
		return -ENOENT;
	if (kill_it) {
		kx_kill_payload_at(x, i, true);
		return 0;
	}
	for (;;) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);

		if (w == p->pid) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (w < 0)
			break;
		if (x->ctx->stop && *x->ctx->stop) {
			kt_set_err(err, "interrupted while waiting for payload '%s'", p->name);
			return -EINTR;
		}
		usleep(20 * 1000);
	}
	kt_debug(LOG, "payload %s exited with %d", p->name, code);
	kt_cleanup_del_pid(-p->pid);
	p->pid = 0;
	if (x->ctx->events && x->ctx->events->payload_exit)
		x->ctx->events->payload_exit(x->ctx->events->arg, p->name, p->cgroup, code);
	free(p->name);
	free(p->cgroup);
	x->ps[i] = x->ps[--x->n_ps];
	return 0;
}
