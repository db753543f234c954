// SPDX-License-Identifier: GPL-2.0
/*
 * Guest mode "run" (inside the VM, as part of PID 1): start the scheduler
 * the host packed into the initramfs, wait for it to attach, watch it,
 * forward the sched_ext dump, run the test body, and send the result.
 *
 * Everything for the host goes through the run protocol (src/proto/proto.h):
 * STGE progress, SLOG the scheduler's log, SCDX when it dies mid-test,
 * SCNA when it never attaches, DUMP sched_ext_dump trace lines,
 * SCST/STIM/SCEN from the scenario and TEST, the result. Each message goes
 * into the SHM ring, or over COM2 when the ring cannot take it.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include <ktstr.h>

#include "bpfmap/bpfmap.h"
#include "guest/guest.h"
#include "guest/shm.h"
#include "proto/proto.h"
#include "runner/record.h"
#include "runner/runner.h"
#include "scenario/scenario.h"
#include "util/util.h"

#define SCHED_LOG "/tmp/sched.log"
#define SCHED_OPS "/sys/kernel/sched_ext/root/ops"
#define DUMP_ENABLE "/sys/kernel/tracing/events/sched_ext/sched_ext_dump/enable"
#define TRACE_PIPE "/sys/kernel/tracing/trace_pipe"
#define TRACE_CLOCK "/sys/kernel/tracing/trace_clock"
#define SYSRQ_TRIGGER "/proc/sysrq-trigger"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kt_shm_guest shm;
static volatile sig_atomic_t stop_flag;

/* COM2 (stdout): whole lines, never interleaved with other output of ours. */
static void com2_write(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&out_lock);
	fwrite(text, 1, len, stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static struct kt_proto_tx tx = {.com2_write = com2_write};

static void msg_send(enum kt_msg_kind kind, const void *data, size_t len)
{
	kt_proto_send(&tx, kind, data, (uint32_t)len);
}

static void msg_send_str(enum kt_msg_kind kind, const char *s)
{
	msg_send(kind, s, strlen(s));
}

static void stage(const char *s)
{
	msg_send_str(KT_MSG_STAGE, s);
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

/* The scheduler's log for the host (the last KT_MSG_SCHED_LOG_MAX bytes); replaces any earlier one. */
static void send_sched_log(void)
{
	char *log = NULL;
	size_t len = 0, off;

	if (kt_read_file(SCHED_LOG, &log, &len, 8u << 20))
		return;
	off = len > KT_MSG_SCHED_LOG_MAX ? len - KT_MSG_SCHED_LOG_MAX : 0;
	msg_send(KT_MSG_SCHED_LOG, log + off, len - off);
	free(log);
}

/* ---- trace_pipe forwarder -------------------------------------------------- */

/*
 * The host asks for a sched_ext dump (it saw a stall building): SysRq-D
 * makes the kernel dump the scheduler's state as sched_ext_dump trace
 * lines, which this thread forwards like the exit dump. The byte is
 * cleared afterwards, which tells the host it was done.
 */
static void dump_request_poll(void)
{
	if (!tx.ring || kt_shm_guest_ctrl_get(&shm, KT_PROTO_CTRL_DUMP) != KT_PROTO_SIG_DUMP)
		return;
	write_str(SYSRQ_TRIGGER, "D");
	kt_shm_guest_ctrl_set(&shm, KT_PROTO_CTRL_DUMP, 0);
}

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

		dump_request_poll();
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || ll == sizeof(line) - 1) {
				line[ll] = 0;
				if (strstr(line, "sched_ext_dump"))
					msg_send(KT_MSG_DUMP, line, ll);
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

			send_sched_log();
			msg_send(KT_MSG_SCHED_EXIT, &st, sizeof(st));
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

/* SCST carries CLOCK_MONOTONIC, the trace clock of the dump lines ("mono"). */
static void ev_start(void *arg)
{
	uint64_t ns = kt_now_ns();

	(void)arg;
	msg_send(KT_MSG_SCENARIO_START, &ns, sizeof(ns));
}

static void ev_stim(void *arg, const struct kt_stim *s)
{
	struct kt_msg_stimulus m = {
		.elapsed_ms = s->elapsed_ms,
		.step_index = s->step_index,
		.op_count = s->op_count,
		.op_kinds = s->op_kinds,
		.cgroup_count = s->cgroup_count,
		.worker_count = s->worker_count,
		.total_iterations = s->total_iterations,
	};

	(void)arg;
	msg_send(KT_MSG_STIMULUS, &m, sizeof(m));
}

static void ev_end(void *arg, uint32_t ms)
{
	(void)arg;
	msg_send(KT_MSG_SCENARIO_END, &ms, sizeof(ms));
}

/* ---- the mode -------------------------------------------------------------------- */

/* Facts for the sidecar that only the guest can measure (src/runner/record.h). */
static void send_facts(void)
{
	json_t *f = kt_run_facts(true);
	char *s = json_dumps(f, JSON_COMPACT);

	if (s)
		msg_send_str(KT_MSG_FACTS, s);
	free(s);
	json_decref(f);
}

static void send_result(const struct kt_assert_result *r)
{
	char *json = kt_assert_result_to_string(r);

	msg_send_str(KT_MSG_TEST_RESULT, json);
	free(json);
}

/*
 * /ktstr/run.json: {"test", "scheduler", "attach_timeout_ms"} and, for a
 * gauntlet variant, "variant": {"topology": "1n2l2c1t", "flags": MASK}
 * (*vtopo stays NULL without it).
 */
static int read_run_config(char **test, char **sched, int *attach_ms, char **vtopo,
			   uint32_t *vflags, char **err)
{
	json_error_t je;
	json_t *j = json_load_file("/ktstr/run.json", 0, &je), *v;
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
	v = json_object_get(j, "variant");
	if (json_is_string(json_object_get(v, "topology"))) {
		*vtopo = kt_strdup(json_string_value(json_object_get(v, "topology")));
		*vflags = (uint32_t)json_integer_value(json_object_get(v, "flags"));
	}
	json_decref(j);
	return 0;
}

/* A gauntlet variant: the plan gets its topology and flags, as on the host. */
static int apply_variant(struct kt_plan *plan, const char *vtopo, uint32_t vflags, char **err)
{
	struct kt_topo_spec tp;

	if (!vtopo)
		return 0;
	if (kt_topo_spec_parse(vtopo, &tp, err))
		return -EINVAL;
	return kt_plan_apply_variant(plan, &tp, vflags, 0, err);
}

/* The process around the test: stdout, signals, mounts, the SHM ring. */
static void setup(void)
{
	char *err = NULL;

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
		tx.ring = &shm;
	} else {
		printf("ktstr: SHM unavailable (%s); results go over COM2 only\n", err);
		free(err);
	}
}

/*
 * Start the scheduler and its monitor thread (*mon_started). On failure
 * *res says why and -1 is returned.
 */
static int sched_launch(const char *sched, const struct kt_plan *plan, int attach_ms,
			struct kt_assert_result *res, pthread_t *mon_thr, bool *mon_started)
{
	char *why = NULL, pid[32];
	int rc;

	stage("starting scheduler");
	rc = sched_start(sched, plan, attach_ms, &why);
	if (rc) {
		send_sched_log();
		if (rc == -2) {
			msg_send_str(KT_MSG_SCHED_NOT_ATTACHED, why);
			kt_assert_result_fail(res, KT_DETAIL_SCHEDULER_DIED, why);
			/* The message the host shows. */
			free(res->details[res->n_details - 1].message);
			res->details[res->n_details - 1].message =
			    kt_asprintf("scheduler '%s' did not attach to sched_ext (%s)",
					plan->sched_name, why);
		} else {
			char *m = kt_asprintf("scheduler '%s': %s", plan->sched_name, why);

			kt_assert_result_fail(res, KT_DETAIL_SCHEDULER_DIED, m);
			free(m);
		}
		free(why);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d", (int)sched_pid);
	setenv("SCHED_PID", pid, 1);
	if (tx.ring)
		kt_shm_guest_ctrl_set(&shm, KT_PROTO_CTRL_TO_HOST, KT_PROTO_SIG_SCHED_STARTED);
	if (pthread_create(mon_thr, NULL, sched_monitor, NULL) == 0)
		*mon_started = true;
	return 0;
}

/*
 * The VM was built from the host's plan (KTSTR_TOPO, which guest init
 * already checked against sysfs); the guest's own resolution must agree.
 */
static int booted_as_declared(const char *cmdline, const struct kt_plan *plan, char **err)
{
	char *v = kt_guest_cmdline_value(cmdline, "KTSTR_TOPO");
	struct kt_topo_spec booted;
	int r = kt_topo_spec_parse(v, &booted, err);

	if (!r && !kt_topo_spec_equal(&booted, &plan->topo)) {
		*err = kt_asprintf("the VM was booted with topology %s but test '%s' declares %s", v,
				   plan->test->name, plan->topo_str);
		r = -EINVAL;
	}
	free(v);
	return r;
}

int kt_guest_run_mode(const struct kt_guest_ctx *gctx)
{
	struct kt_assert_result res = {0};
	struct kt_plan plan;
	struct kt_scn_events ev = {.start = ev_start, .stim = ev_stim, .end = ev_end};
	const struct ktstr_test *t;
	pthread_t tr_thr, mon_thr;
	bool tr_started = false, mon_started = false;
	char *test = NULL, *sched = NULL, *err = NULL, *vtopo = NULL;
	uint32_t vflags = 0;
	int attach_ms = 3000, rc;

	setup();
	if (read_run_config(&test, &sched, &attach_ms, &vtopo, &vflags, &err)) {
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
	if (kt_plan_resolve(t, &plan, &err) || apply_variant(&plan, vtopo, vflags, &err) ||
	    booted_as_declared(gctx->cmdline, &plan, &err)) {
		kt_assert_result_fail(&res, KT_DETAIL_OTHER, err);
		goto send;
	}

	/*
	 * sched_ext dump: tracepoint on, trace_pipe forwarded to the host.
	 * Only with a sched_ext scheduler (enabling a tracepoint patches
	 * kernel text, which costs ~1 s of stop_machine under TCG).
	 */
	if (sched) {
		/* dump lines timed on the scenario's clock (the host's timeline) */
		write_str(TRACE_CLOCK, "mono");
		write_str(DUMP_ENABLE, "1");
		if (pthread_create(&tr_thr, NULL, trace_thread, NULL) == 0)
			tr_started = true;
	}

	if (sched && sched_launch(sched, &plan, attach_ms, &res, &mon_thr, &mon_started))
		goto send;

	if (t->bpf_map_write.map && kt_bpfmap_guest_wait(tx.ring, &err)) {
		/* the host fails the test with its own reason */
		printf("ktstr: %s\n", err);
		free(err);
		err = NULL;
	}
	stage("reading topology");
	rc = kt_run_body_local(&plan, "/sys/fs/cgroup/ktstr", sched ? sched_pid : 0, &ev,
			       &stop_flag, stage, &res);
	if (rc >= 0 && sched && sched_reap() && !kt_assert_result_failed(&res)) {
		char *d = describe_status(sched_status);

		kt_assert_result_add_failure(&res, KT_DETAIL_SCHEDULER_DIED,
					     "scheduler process died unexpectedly (%s)", d);
		free(d);
	}

send:
	send_facts();
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
	rc = kt_verdict_exit_code(kt_assert_result_verdict(&res));
	kt_assert_result_clear(&res);
	free(test);
	free(sched);
	free(vtopo);
	free(err);
	return rc;
}

KTSTR_GUEST_MODE(run, "run", kt_guest_run_mode, 0);
