// SPDX-License-Identifier: GPL-2.0
/*
 * Guest mode "run" (inside the VM, as part of PID 1): start the scheduler
 * the host packed into the initramfs, wait for it to attach, watch it,
 * forward the sched_ext dump, run the test body, and send the result.
 *
 * COM2 lines written here (the host parses them, see host.c):
 *   KTSTR_STAGE: <what>             progress, for diagnostics
 *   KTSTR_PAYLOAD_STARTING          the test body starts
 *   KTSTR_SCHED_LOG_BEGIN, KTSTR_SCHED_LOG: <line>...   scheduler log
 *   KTSTR_SCHED_EXITED: <status>    the scheduler exited during the test
 *   KTSTR_SCHED_NOT_ATTACHED: <why> it never showed up in sched_ext sysfs
 * (not the reference's SCHED_OUTPUT block / SCHEDULER_DIED lines: the VM
 * engine's COM2 parser consumes those as protocol and does not pass them on)
 *   <trace lines containing "sched_ext_dump">
 *   ===KTSTR_TEST_RESULT_START=== <AssertResult JSON> ===KTSTR_TEST_RESULT_END===
 * SHM: SCST/STIM/SCEN from the scenario, SCDX (i32 wait status) on
 * scheduler death, TEST (the JSON).
 *
 * Watchdog: .watchdog_timeout_s is applied by the host, which writes the
 * kernel's scx_watchdog_timeout through guest memory (src/runner/wdog.h);
 * the guest takes no part in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "ktstr.h"
#include "guest/guest.h"
#include "runner.h"
#include "util/util.h"
#include "vm/shm.h"

#define SCHED_LOG "/tmp/sched.log"
#define SCHED_OPS "/sys/kernel/sched_ext/root/ops"
#define DUMP_ENABLE "/sys/kernel/tracing/events/sched_ext/sched_ext_dump/enable"
#define TRACE_PIPE "/sys/kernel/tracing/trace_pipe"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kt_shm_guest shm;
static bool shm_ok;
static volatile sig_atomic_t stop_flag;

static void out_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_line(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static bool in_guest; /* protocol lines only inside the VM */

static void stage(const char *s)
{
	if (in_guest)
		out_line("KTSTR_STAGE: %s", s);
}

static void shm_send(uint32_t type, const void *data, uint32_t len)
{
	if (shm_ok)
		kt_shm_guest_write(&shm, type, data, len);
}

static void write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)!write(fd, s, strlen(s));
	close(fd);
}

static void ensure_mount(const char *src, const char *dir, const char *type)
{
	kt_mkdir_p(dir, 0755);
	if (mount(src, dir, type, 0, NULL) < 0 && errno != EBUSY)
		kt_debug("ktstr::guest", "mount %s on %s: %s", type, dir, strerror(errno));
}

/*
 * Scheduler log for the host: KTSTR_SCHED_LOG_BEGIN, then every line as
 * "KTSTR_SCHED_LOG: <line>" (a per-line prefix survives interleaving
 * with the trace forwarder's output). The last 256 KiB at most.
 */
static void send_sched_log(void)
{
	char *log = NULL, *p;
	size_t len = 0;

	if (kt_read_file(SCHED_LOG, &log, &len, 8u << 20))
		return;
	p = len > (256u << 10) ? log + len - (256u << 10) : log;
	pthread_mutex_lock(&out_lock);
	fputs("KTSTR_SCHED_LOG_BEGIN\n", stdout);
	while (*p) {
		char *e = strchr(p, '\n');

		if (e)
			*e = 0;
		fprintf(stdout, "KTSTR_SCHED_LOG: %s\n", p);
		if (!e)
			break;
		p = e + 1;
	}
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	free(log);
}

/* ---- trace_pipe forwarder -------------------------------------------------- */

static void *trace_thread(void *arg)
{
	int fd = open(TRACE_PIPE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char buf[8192], line[4096];
	size_t ll = 0;

	(void)arg;
	if (fd < 0)
		return NULL;
	while (!stop_flag) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || ll == sizeof(line) - 1) {
				line[ll] = 0;
				if (strstr(line, "sched_ext_dump"))
					out_line("%s", line);
				ll = 0;
			} else {
				line[ll++] = buf[i];
			}
		}
	}
	close(fd);
	return NULL;
}

/* ---- scheduler ---------------------------------------------------------- */

static pid_t sched_pid;
static volatile int sched_status = -1; /* wait status once reaped */
static pthread_mutex_t sched_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reap the scheduler if it exited; true when it is gone. */
static bool sched_reap(void)
{
	bool gone;

	pthread_mutex_lock(&sched_lock);
	if (sched_pid > 0 && sched_status < 0) {
		int st;
		pid_t r = waitpid(sched_pid, &st, WNOHANG);

		if (r == sched_pid || (r < 0 && errno == ECHILD))
			sched_status = r == sched_pid ? st : 0;
	}
	gone = sched_status >= 0;
	pthread_mutex_unlock(&sched_lock);
	return gone;
}

static char *describe_status(int st)
{
	if (WIFEXITED(st))
		return kt_asprintf("exit status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return kt_asprintf("killed by signal %d", WTERMSIG(st));
	return kt_asprintf("status 0x%x", st);
}

static void *sched_monitor(void *arg)
{
	(void)arg;
	while (!stop_flag) {
		if (sched_reap()) {
			int32_t st = sched_status;

			shm_send(KT_SHM_MSG_SCHED_EXIT, &st, sizeof(st));
			char *d = describe_status(st);

			send_sched_log();
			out_line("KTSTR_SCHED_EXITED: %s", d);
			free(d);
			return NULL;
		}
		usleep(100 * 1000);
	}
	return NULL;
}

/*
 * Start the scheduler and wait until sched_ext shows it attached.
 * Returns 0, or fills *why and returns -1.
 */
static int sched_start(const char *path, const struct kt_plan *p, int attach_ms, char **why)
{
	uint64_t t0 = kt_now_ns();
	char *argv[KT_PLAN_MAX_ARGV + 2];
	size_t n = 0;
	pid_t pid;

	argv[n++] = (char *)path;
	for (size_t i = 0; i < p->n_sched_argv; i++)
		argv[n++] = (char *)p->sched_argv[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0) {
		*why = kt_asprintf("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(SCHED_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		execv(path, argv);
		fprintf(stderr, "failed to spawn %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	sched_pid = pid;
	/* Attach: /sys/kernel/sched_ext/root/ops non-empty within attach_ms. */
	for (int i = 0; i <= attach_ms / 50; i++) {
		char *ops = NULL;

		if (sched_reap()) {
			char *d = describe_status(sched_status);

			*why = kt_asprintf("scheduler exited during startup (%s)", d);
			free(d);
			return -1;
		}
		if (kt_read_file(SCHED_OPS, &ops, NULL, 4096) == 0) {
			bool attached = *kt_trim(ops) != 0;

			if (attached) {
				char m[64];

				snprintf(m, sizeof(m), "scheduler attached after %llu ms",
					 (unsigned long long)((kt_now_ns() - t0) / 1000000));
				stage(m);
			}
			free(ops);
			if (attached)
				return 0;
		}
		usleep(50 * 1000);
	}
	*why = kt_exists("/sys/kernel/sched_ext")
		       ? kt_asprintf("timeout after %d.%d s", attach_ms / 1000, attach_ms % 1000 / 100)
		       : kt_strdup("sched_ext sysfs absent");
	return -2;
}

static void sched_stop(void)
{
	if (sched_pid <= 0 || sched_reap())
		return;
	kill(sched_pid, SIGINT);
	for (int i = 0; i < 40 && !sched_reap(); i++)
		usleep(50 * 1000);
	if (!sched_reap()) {
		kill(-sched_pid, SIGKILL);
		kill(sched_pid, SIGKILL);
		for (int i = 0; i < 40 && !sched_reap(); i++)
			usleep(50 * 1000);
	}
}

/* ---- scenario events -> SHM -------------------------------------------------- */

static void ev_start(void *arg)
{
	(void)arg;
	shm_send(KT_SHM_MSG_SCENARIO_START, "", 0);
}

static void ev_stim(void *arg, const struct kt_stim *s)
{
	struct kt_shm_stimulus m = {
		.elapsed_ms = s->elapsed_ms,
		.step_index = s->step_index,
		.op_count = s->op_count,
		.op_kinds = s->op_kinds,
		.cgroup_count = s->cgroup_count,
		.worker_count = s->worker_count,
		.total_iterations = s->total_iterations,
	};

	(void)arg;
	shm_send(KT_SHM_MSG_STIMULUS, &m, sizeof(m));
}

static void ev_end(void *arg, uint32_t ms)
{
	(void)arg;
	shm_send(KT_SHM_MSG_SCENARIO_END, &ms, sizeof(ms));
}

/* ---- the test body ----------------------------------------------------------- */

int kt_run_body_local(const struct kt_plan *plan, const char *cg_root, pid_t spid,
		      const struct kt_scn_events *ev, volatile sig_atomic_t *stop,
		      struct kt_assert_result *out)
{
	const struct ktstr_test *t = plan->test;
	struct kt_topo topo = {0};
	struct kt_cgroup_mgr cg = {0};
	struct ktstr_ctx tctx = {0};
	struct kt_ctx sctx = {0};
	char *err = NULL;
	int rc;

	kt_assert_result_clear(out);
	if (kt_topo_read(NULL, &topo, &err)) {
		kt_assert_result_fail(out, KT_DETAIL_OTHER, err);
		free(err);
		return -EIO;
	}
	if (kt_cgmgr_init(&cg, "/sys/fs/cgroup", cg_root, &err)) {
		kt_assert_result_fail(out, KT_DETAIL_OTHER, err);
		free(err);
		kt_topo_free(&topo);
		return -EIO;
	}
	sctx.topo = &topo;
	sctx.cg = &cg;
	sctx.duration_ms = (uint64_t)plan->duration_s * 1000;
	sctx.workers_per_cgroup = (unsigned)plan->workers_per_cgroup;
	sctx.sched_pid = spid;
	sctx.settle_ms = 500;
	sctx.assert = plan->assert;
	sctx.events = ev;
	sctx.stop = stop;

	tctx.name = t->name;
	tctx.numa_nodes = plan->topo.numa_nodes;
	tctx.llcs = plan->topo.llcs;
	tctx.cores = plan->topo.cores;
	tctx.threads = plan->topo.threads;
	tctx.cpus = kt_rtopo_cpus(&plan->topo);
	tctx.duration_s = (unsigned)plan->duration_s;
	tctx.workers_per_cgroup = (unsigned)plan->workers_per_cgroup;
	tctx.sched_pid = spid;
	tctx.assert = &sctx.assert;
	tctx.topo = &topo;
	tctx.scn = &sctx;
	kt_assert_result_pass(&tctx.result);

	if (in_guest)
		out_line("KTSTR_PAYLOAD_STARTING");
	stage("test body running");
	rc = t->fn(&tctx);
	stage("test body done");
	if (rc < 0 && tctx.result.passed)
		kt_assert_result_add_failure(&tctx.result, KT_DETAIL_OTHER,
					     "test function returned error: %s", strerror(-rc));
	kt_assert_result_copy(out, &tctx.result);
	kt_assert_result_clear(&tctx.result);
	kt_cgmgr_destroy(&cg);
	kt_cgmgr_free(&cg);
	kt_topo_free(&topo);
	return 0;
}

/* ---- the mode -------------------------------------------------------------------- */

static void send_result(const struct kt_assert_result *r)
{
	char *json = kt_assert_result_to_string(r);

	shm_send(KT_SHM_MSG_TEST_RESULT, json, (uint32_t)strlen(json));
	pthread_mutex_lock(&out_lock);
	printf("===KTSTR_TEST_RESULT_START===\n%s\n===KTSTR_TEST_RESULT_END===\n", json);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	free(json);
}

static int read_run_config(char **test, char **sched, int *attach_ms, char **err)
{
	json_error_t je;
	json_t *j = json_load_file("/ktstr/run.json", 0, &je);
	const char *t = NULL, *s = NULL;

	if (!j) {
		*err = kt_asprintf("/ktstr/run.json: %s", je.text);
		return -EINVAL;
	}
	t = json_string_value(json_object_get(j, "test"));
	s = json_string_value(json_object_get(j, "scheduler")); /* null: none */
	*attach_ms = (int)json_integer_value(json_object_get(j, "attach_timeout_ms"));
	if (*attach_ms <= 0 || *attach_ms > 600000)
		*attach_ms = 3000;
	if (!t) {
		*err = kt_strdup("/ktstr/run.json: no test name");
		json_decref(j);
		return -EINVAL;
	}
	*test = kt_strdup(t);
	*sched = s ? kt_strdup(s) : NULL;
	json_decref(j);
	return 0;
}

int kt_guest_run_mode(const struct kt_guest_ctx *gctx)
{
	struct kt_assert_result res = {0};
	struct kt_plan plan;
	struct kt_scn_events ev = {.start = ev_start, .stim = ev_stim, .end = ev_end};
	const struct ktstr_test *t;
	pthread_t tr_thr, mon_thr;
	bool tr_started = false, mon_started = false;
	char *test = NULL, *sched = NULL, *err = NULL, *why = NULL;
	int attach_ms = 3000, rc;

	(void)gctx;
	in_guest = true;
	/*
	 * jansson seeds its hash tables from /dev/urandom on first use, which
	 * in a fresh guest waits for the crng (~1 s under TCG); hash-flooding
	 * resistance is moot for our own JSON, so seed from the clock.
	 */
	json_object_seed((size_t)kt_now_ns() | 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	stage("run mode");
	ensure_mount("none", "/tmp", "tmpfs");
	ensure_mount("none", "/sys/kernel/tracing", "tracefs");
	ensure_mount("none", "/sys/kernel/debug", "debugfs");
	ensure_mount("none", "/sys/fs/cgroup", "cgroup2");
	if (kt_shm_guest_open(&shm, &err) == 0) {
		shm_ok = true;
	} else {
		out_line("ktstr: SHM unavailable (%s); results go over COM2 only", err);
		free(err);
		err = NULL;
	}
	if (read_run_config(&test, &sched, &attach_ms, &err)) {
		kt_assert_result_fail(&res, KT_DETAIL_OTHER, err);
		goto send;
	}
	t = kt_registry_find(test);
	if (!t) {
		char *m = kt_asprintf("test '%s' is not in this binary", test);

		kt_assert_result_fail(&res, KT_DETAIL_OTHER, m);
		free(m);
		goto send;
	}
	if (kt_plan_resolve(t, &plan, &err)) {
		kt_assert_result_fail(&res, KT_DETAIL_OTHER, err);
		goto send;
	}

	/*
	 * sched_ext dump: tracepoint on, trace_pipe forwarded to the host.
	 * Only with a sched_ext scheduler (enabling a tracepoint patches
	 * kernel text, which costs ~1 s of stop_machine under TCG).
	 */
	if (sched) {
		write_str(DUMP_ENABLE, "1");
		if (pthread_create(&tr_thr, NULL, trace_thread, NULL) == 0)
			tr_started = true;
	}

	if (sched) {
		stage("starting scheduler");
		rc = sched_start(sched, &plan, attach_ms, &why);
		if (rc) {
			send_sched_log();
			if (rc == -2) {
				out_line("KTSTR_SCHED_NOT_ATTACHED: %s", why);
				kt_assert_result_fail(&res, KT_DETAIL_SCHEDULER_DIED, why);
				/* The message the host shows. */
				free(res.details[res.n_details - 1].message);
				res.details[res.n_details - 1].message =
					kt_asprintf("scheduler '%s' did not attach to sched_ext "
						    "(%s)",
						    plan.sched_name, why);
			} else {
				char *m = kt_asprintf("scheduler '%s': %s", plan.sched_name, why);

				kt_assert_result_fail(&res, KT_DETAIL_SCHEDULER_DIED, m);
				free(m);
			}
			goto send;
		}
		{
			char pid[32];

			snprintf(pid, sizeof(pid), "%d", (int)sched_pid);
			setenv("SCHED_PID", pid, 1);
		}
		if (shm_ok)
			kt_shm_guest_ctrl_set(&shm, KT_SHM_CTRL_TO_HOST, KT_SHM_SIG_SCHED_STARTED);
		if (pthread_create(&mon_thr, NULL, sched_monitor, NULL) == 0)
			mon_started = true;
	}

	stage("reading topology");
	rc = kt_run_body_local(&plan, "/sys/fs/cgroup/ktstr", sched ? sched_pid : 0, &ev,
			       &stop_flag, &res);
	if (rc >= 0 && sched && sched_reap() && res.passed) {
		char *d = describe_status(sched_status);

		kt_assert_result_add_failure(&res, KT_DETAIL_SCHEDULER_DIED,
					     "scheduler process died unexpectedly (%s)", d);
		free(d);
	}

send:
	stage("sending result");
	send_result(&res);
	if (sched && sched_pid > 0) {
		bool was_dead = sched_reap();

		stage("stopping scheduler");
		stop_flag = 1;
		if (mon_started)
			pthread_join(mon_thr, NULL);
		sched_stop();
		if (!was_dead)
			send_sched_log();
	}
	stop_flag = 1;
	if (sched)
		write_str(DUMP_ENABLE, "0");
	if (tr_started)
		pthread_join(tr_thr, NULL);
	rc = res.passed ? 0 : 1;
	kt_assert_result_clear(&res);
	if (shm_ok) {
		int32_t code = rc;

		shm_send(KT_SHM_MSG_EXIT, &code, sizeof(code));
	}
	free(test);
	free(sched);
	free(err);
	free(why);
	return rc;
}

KTSTR_GUEST_MODE(run, "run", kt_guest_run_mode, 0);
