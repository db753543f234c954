// SPDX-License-Identifier: GPL-2.0
/* The host monitor in a test run; see hostmon.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check/check.h"
#include "hostmon.h"
#include "kernel/kernel.h"
#include "record.h"
#include "util/util.h"
#include "vm/vm.h"

struct kt_hostmon {
	struct kt_mon *mon;
	unsigned ncpu;
	int *fd;	/* /proc/PID/task/TID/schedstat of each vCPU's thread, -1 unknown */
	unsigned looked; /* times the vCPU threads were searched for */
	int64_t *vcpu_ns;
	uint64_t cpu_ns;  /* this thread's CPU time spent in ticks */
	uint64_t t_first, t_last; /* wall of the first and last tick (ns) */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool kt_hostmon_enabled(void)
{
	const char *v = kt_getenv("KTSTR_MONITOR");

	return !v || strcmp(v, "0");
}

unsigned kt_hostmon_interval_ms(void)
{
	const char *v = kt_getenv("KTSTR_MONITOR_INTERVAL_MS");
	char *end;
	long ms;

	if (!v || !*v)
		return KT_MON_DEFAULT_INTERVAL_MS;
	ms = strtol(v, &end, 10);
	if (*end || ms < 10 || ms > 10000) {
		kt_warn("KTSTR_MONITOR_INTERVAL_MS=%s: not a number of ms in 10..10000; using %d",
			v, KT_MON_DEFAULT_INTERVAL_MS);
		return KT_MON_DEFAULT_INTERVAL_MS;
	}
	return (unsigned)ms;
}

struct kt_hostmon *kt_hostmon_new(const struct kt_kernel *k, unsigned ncpu,
				  const struct kt_assert *a, char **why)
{
	struct kt_mon_limits lim = kt_mon_limits_from(a);
	struct kt_hostmon *h;
	struct kt_gk *gk;
	struct kt_mon *mon;
	char *err = NULL;
	int hz;

	if (!k->vmlinux) {
		kt_set_err(why, "no vmlinux with BTF and symbols for kernel %s",
			   k->image ? k->image : "?");
		return NULL;
	}
	if (kt_gk_open(k->vmlinux, &gk, &err)) {
		kt_set_err(why, "%s", err);
		free(err);
		return NULL;
	}
	mon = kt_mon_new(gk, ncpu, &lim, &err);
	if (!mon) {
		kt_set_err(why, "%s: %s", k->vmlinux, err);
		free(err);
		return NULL;
	}
	hz = kt_kernel_hz(k->vmlinux, k->dir, NULL);
	kt_mon_set_hz(mon, hz > 0 ? hz : 250);
	h = kt_calloc(1, sizeof(*h));
	h->mon = mon;
	h->ncpu = ncpu;
	h->fd = kt_malloc(ncpu * sizeof(*h->fd));
	h->vcpu_ns = kt_malloc(ncpu * sizeof(*h->vcpu_ns));
	for (unsigned c = 0; c < ncpu; c++)
		h->fd[c] = -1;
	return h;
}

void kt_hostmon_free(struct kt_hostmon *h)
{
	if (!h)
		return;
	for (unsigned c = 0; c < h->ncpu; c++)
		if (h->fd[c] >= 0 && (c == 0 || h->fd[c] != h->fd[0]))
			close(h->fd[c]);
	free(h->fd);
	free(h->vcpu_ns);
	kt_mon_free(h->mon);
	free(h);
}

struct kt_mon *kt_hostmon_mon(struct kt_hostmon *h)
{
	return h ? h->mon : NULL;
}

/*
 * QEMU names its vCPU threads "CPU n/TCG" (or /KVM); single-threaded TCG
 * runs every vCPU in one "ALL CPUs/TCG" thread, whose time then stands for
 * each of them.
 */
static void find_vcpu_threads(struct kt_hostmon *h, int pid)
{
	char path[64], comm[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[320];
		unsigned n;
		int fd, all;
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/comm", pid, de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		l = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (l <= 0)
			continue;
		comm[l] = 0;
		all = !strncmp(comm, "ALL CPUs/", 9);
		if (!all && (sscanf(comm, "CPU %u/", &n) != 1 || n >= h->ncpu))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", pid, de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (all) {
			for (unsigned c = 0; c < h->ncpu; c++)
				if (h->fd[c] < 0)
					h->fd[c] = fd;
			break;
		}
		if (h->fd[n] >= 0)
			close(h->fd[n]);
		h->fd[n] = fd;
	}
	closedir(d);
}

void kt_hostmon_tick(struct kt_hostmon *h, struct kt_vm_guest *g)
{
	struct kt_gk_mem m = kt_gk_vm_mem(g);
	uint64_t c0 = thread_cpu_ns();

	/* QEMU starts its vCPU threads a little after the process: look until found */
	if (h->looked < 100 && h->fd[h->ncpu - 1] < 0 && kt_vm_guest_pid(g) > 0) {
		h->looked++;
		find_vcpu_threads(h, kt_vm_guest_pid(g));
	}
	for (unsigned c = 0; c < h->ncpu; c++) {
		char buf[96];
		ssize_t l = h->fd[c] >= 0 ? pread(h->fd[c], buf, sizeof(buf) - 1, 0) : -1;

		h->vcpu_ns[c] = -1;
		if (l > 0) {
			buf[l] = 0;
			h->vcpu_ns[c] = strtoll(buf, NULL, 10); /* ns on the CPU */
		}
	}
	kt_mon_tick(h->mon, &m, (uint64_t)(kt_vm_guest_elapsed(g) * 1000.0), h->vcpu_ns);
	h->cpu_ns += thread_cpu_ns() - c0;
	h->t_last = kt_now_ns();
	if (!h->t_first)
		h->t_first = h->t_last;
}

void kt_hostmon_finish(struct kt_hostmon *h, const char *not_run, struct kt_outcome *o)
{
	bool judge = o->have_result && !o->result.skipped;
	json_t *j;

	if (!h) {
		char *line = kt_asprintf("monitor inconclusive: not run: %s",
					 not_run ? not_run : "unknown");

		kt_record_set(o, "monitor",
			      json_pack("{s:s,s:s,s:s,s:[]}", "verdict", "INCONCLUSIVE",
					"verdict_line", line, "inconclusive_reason",
					not_run ? not_run : "unknown", "samples"));
		o->monitor_report = kt_asprintf("--- monitor ---\nverdict: %s\n", line);
		if (judge)
			kt_assert_result_add_inconclusive(&o->result, KT_DETAIL_MONITOR, "%s",
							  line);
		free(line);
		return;
	}
	kt_mon_judge(h->mon, judge ? &o->result : NULL);
	j = kt_mon_to_json(h->mon);
	o->monitor_report = kt_mon_report(h->mon);
	/* what sampling cost the host: CPU time of the ticks over their wall span */
	if (h->t_last > h->t_first) {
		double span = (double)(h->t_last - h->t_first) / 1e9;

		json_object_set_new(j, "interval_ms",
				    json_integer(kt_hostmon_interval_ms()));
		json_object_set_new(j, "host_cpu_ns", json_integer((json_int_t)h->cpu_ns));
		json_object_set_new(j, "sampling_span_s", json_real(span));
		json_object_set_new(j, "host_cpu_fraction",
				    json_real((double)h->cpu_ns / 1e9 / span));
		json_object_set_new(j, "samples_per_s",
				    json_real((kt_mon_n_samples(h->mon) - 1) / span));
		/* vCPUs whose host thread CPU time feeds the preempted rule */
		{
			int n = 0;

			for (unsigned c = 0; c < h->ncpu; c++)
				n += h->fd[c] >= 0;
			json_object_set_new(j, "vcpu_times", json_integer(n));
		}
	}
	kt_record_set(o, "monitor", j);
}
