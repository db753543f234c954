// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of a test binary: run one test in a VM whose /init is this
 * very binary (mode "run"), collect what comes back through the run
 * protocol (src/proto/proto.h), COM2 output and the console, decide the
 * verdict, print it and write the sidecar.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include <jansson.h>

#include "bpfmap/bpfmap.h"
#include "kernel/kernel.h"
#include "monitor/guestkern.h"
#include "proto/proto.h"
#include "record.h"
#include "results/results.h"
#include "runner.h"
#include "runner/failure.h"
#include "runner/timeline.h"
#include "util/util.h"
#include "vm/initramfs.h"
#include "vm/vm.h"
#include "hostmon.h"
#include "wdog.h"

#define SCHED_LOG_MAX (256u << 10)
#define DUMP_MAX (256u << 10)
#define GUEST_OUT_MAX (64u << 10)
/* consecutive samples before a building stall is noted and a dump requested */
#define KT_ALERT_AFTER 3

/* ---- scheduler lookup ---------------------------------------------------- */

static char *path_lookup(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *res = NULL;

	if (!path)
		return NULL;
	copy = kt_strdup(path);
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = kt_path_join(*d ? d : ".", name);

		if (kt_is_file(p) && access(p, X_OK) == 0) {
			res = p;
			break;
		}
		free(p);
	}
	free(copy);
	return res;
}

static char *exe_dir(void)
{
	char *e = kt_self_exe(), *slash;

	if (!e)
		return NULL;
	slash = strrchr(e, '/');
	if (slash)
		*slash = 0;
	return e;
}

char *kt_sched_lookup(const char *binary, const char *sched_dir, bool direct, char **err)
{
	const char *env = kt_getenv("KTSTR_SCHEDULER");
	char *p, *d;

	if (strchr(binary, '/')) {
		if (kt_is_file(binary) && access(binary, X_OK) == 0)
			return kt_strdup(binary);
		*err = kt_asprintf("scheduler '%s' not found: %s", binary,
				   kt_exists(binary) ? "not an executable file"
						     : "no such file");
		return NULL;
	}
	if (direct && (p = path_lookup(binary)))
		return p;
	if (env) {
		if (kt_is_file(env) && access(env, X_OK) == 0)
			return kt_strdup(env);
		*err = kt_asprintf("scheduler '%s' not found: KTSTR_SCHEDULER=%s is not an "
				   "executable file",
				   binary, env);
		return NULL;
	}
	d = exe_dir();
	if (d) {
		p = kt_path_join(d, binary);
		free(d);
		if (kt_is_file(p) && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	if (sched_dir) {
		p = kt_path_join(sched_dir, binary);
		if (kt_is_file(p) && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	*err = kt_asprintf("scheduler '%s' not found. Set KTSTR_SCHEDULER or place it next to the "
			   "test binary or in the kernel's scheduler directory (%s)%s",
			   binary, sched_dir ? sched_dir : "none for this kernel",
			   direct ? "; $PATH was searched too" : "");
	return NULL;
}

/* ---- collecting the guest's output ---------------------------------------- */

struct collect {
	struct kt_outcome *o;
	struct kt_wdog *wd; /* NULL: no watchdog override */
	struct kt_hostmon *mon; /* NULL: no host monitor */
	struct kt_bpfmap *bm; /* NULL: no BPF map captures or writes */
	struct kt_proto_rx *rx;
	struct sbuf sched_log;
	struct sbuf dump;
	struct sbuf guest_out;
	char *result; /* the TEST message */
	bool verbose;
	uint64_t t0;
	struct kt_timeline tl; /* scenario events, dump events, host events */
	unsigned ncpu;	       /* vCPUs (the monitor's samples) */
	unsigned mon_seen;     /* monitor samples already on the timeline */
	/* a dump the host asks the guest for when the monitor sees a stall building */
	char dump_why[224];    /* "" until wanted */
	uint64_t dump_req_ns, dump_done_ns;
};

static void bounded_add_line(struct sbuf *sb, const char *line, size_t max)
{
	size_t n = strlen(line);

	if (n > KT_VM_LINE_MAX)
		n = KT_VM_LINE_MAX;
	if (sb->len + n + 1 > max) {
		/* Keep the newer half. */
		size_t keep = max / 2, cut = sb->len > keep ? sb->len - keep : 0;
		char *nl = cut ? memchr(sb->s + cut, '\n', sb->len - cut) : NULL;

		if (nl)
			cut = (size_t)(nl + 1 - sb->s);
		memmove(sb->s, sb->s + cut, sb->len - cut);
		sb->len -= cut;
		sb->s[sb->len] = 0;
	}
	sb_add(sb, line, n);
	sb_adds(sb, "\n");
}

static void set_str(char **dst, const char *s, size_t n)
{
	free(*dst);
	*dst = kt_malloc(n + 1);
	memcpy(*dst, s, n);
	(*dst)[n] = 0;
}

/* Verbose mode: a guest line on stderr, control sequences neutralised. */
static void print_guest_line(const struct collect *c, const char *line, bool stage)
{
	char *safe = kt_term_safe(line, strlen(line));

	if (stage)
		fprintf(stderr, "guest: [%.1fs] %s\n", (double)(kt_now_ns() - c->t0) / 1e9, safe);
	else
		fprintf(stderr, "guest: %s\n", safe);
	free(safe);
}

/* A message of the run protocol (from the SHM ring or COM2). */
static void on_msg(void *arg, enum kt_msg_kind kind, const void *data, uint32_t len)
{
	struct collect *c = arg;

	switch (kind) {
	case KT_MSG_TEST_RESULT:
		set_str(&c->result, data, len);
		kt_record_result_arrived(c->o);
		break;
	case KT_MSG_SCHED_EXIT:
		c->o->sched_died = true;
		kt_record_sched_status(c->o, data, len);
		break;
	case KT_MSG_FACTS:
		kt_record_facts(c->o, data, len);
		kt_timeline_host_event(&c->tl, kt_now_ns(), "guest: the scheduler process exited");
		break;
	case KT_MSG_SCHED_NOT_ATTACHED:
		c->o->sched_not_attached = true;
		break;
	case KT_MSG_SCHED_LOG:
		sb_free(&c->sched_log);
		sb_add(&c->sched_log, data, len);
		if (len && ((const char *)data)[len - 1] != '\n')
			sb_adds(&c->sched_log, "\n");
		break;
	case KT_MSG_DUMP: {
		char *line = NULL;

		set_str(&line, data, len);
		bounded_add_line(&c->dump, line, DUMP_MAX);
		kt_timeline_dump_line(&c->tl, line);
		free(line);
		break;
	}
	case KT_MSG_STAGE:
		set_str(&c->o->init_stage, data, len);
		kt_record_stage(c->o, c->o->init_stage);
		if (c->verbose)
			print_guest_line(c, c->o->init_stage, true);
		break;
	case KT_MSG_SCENARIO_START:
		kt_timeline_scenario_start(&c->tl, kt_now_ns(), data, len);
		kt_bpfmap_scenario_start(c->bm);
		break;
	case KT_MSG_STIMULUS: {
		struct kt_msg_stimulus s;

		memcpy(&s, data, sizeof(s)); /* the length is checked by its kind */
		kt_timeline_stimulus(&c->tl, &s);
		break;
	}
	case KT_MSG_SCENARIO_END:
		kt_timeline_scenario_end(&c->tl, data, len);
		break;
	default:
		break;
	}
}

static void on_com2(void *arg, const char *line, size_t len, bool cut)
{
	struct collect *c = arg;
	char *copy = NULL;

	if (kt_proto_rx_line(c->rx, line, len, cut))
		return;
	set_str(&copy, line, len);
	bounded_add_line(&c->guest_out, copy, GUEST_OUT_MAX);
	if (c->verbose)
		print_guest_line(c, copy, false);
	free(copy);
}

/*
 * The end of a run: what the guest's messages and output make of the
 * outcome (its result, or the protocol error that keeps it from being read).
 */
static void collect_finish(struct collect *c, struct kt_outcome *o)
{
	char *err = NULL;

	if (c->sched_log.len)
		o->sched_log = sb_steal(&c->sched_log);
	if (c->dump.len)
		o->sched_dump = sb_steal(&c->dump);
	if (c->guest_out.len)
		o->guest_out = sb_steal(&c->guest_out);
	if (kt_proto_rx_error(c->rx)) {
		/* a guest breaking the protocol fails the run; its result is not read */
		if (!o->infra_error)
			o->infra_error = kt_strdup(kt_proto_rx_error(c->rx));
	} else if (c->result) {
		if (kt_assert_result_parse(c->result, strlen(c->result), &o->result, &err) == 0) {
			o->have_result = true;
		} else {
			free(o->infra_error);
			o->infra_error = kt_asprintf("malformed test result from guest: %s", err);
		}
	}
	free(err);
}

static void on_console(void *arg, const char *line)
{
	struct collect *c = arg;

	if (strstr(line, "sched_ext_dump"))
		bounded_add_line(&c->dump, line, DUMP_MAX);
	kt_record_console_line(c->o, line);
	/* "Out of memory: Killed process N (comm) ..." or "... no killable processes" */
	if (!c->o->oom_line && (strstr(line, "Out of memory:") || strstr(line, "Out of memory and")))
		set_str(&c->o->oom_line, line, strnlen(line, 512));
}

static void on_shm(void *arg, const struct kt_shm_msg_view *m)
{
	struct collect *c = arg;

	kt_proto_rx_shm(c->rx, m->type, m->data, m->len, m->crc_ok);
}

static uint32_t shm_limit(void *arg, uint32_t type)
{
	(void)arg;
	return kt_msg_max_len(type);
}

/* ---- kernel selection ------------------------------------------------------ */

static int resolve_kernel(const char *label, struct kt_kernel *k, char **err)
{
	const char *list = kt_getenv("KTSTR_KERNEL_LIST");
	struct kt_kernel_list_item *items = NULL;
	size_t n = 0;
	int r;

	if (!label)
		return kt_kernel_resolve(NULL, k, err);
	if (!list) {
		*err = kt_asprintf("test names kernel '%s' but KTSTR_KERNEL_LIST is not set", label);
		return -ENOENT;
	}
	r = kt_kernel_list_parse(list, &items, &n, err);
	if (r)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		char *san = kt_kernel_label_sanitize(items[i].label);
		bool match = !strcmp(items[i].label, label) || !strcmp(san, label);

		free(san);
		if (match) {
			r = kt_kernel_resolve(items[i].path, k, err);
			if (!r)
				k->run_label = kt_strdup(label);
			break;
		}
	}
	if (r == -ENOENT && !*err)
		*err = kt_asprintf("kernel '%s' is not in KTSTR_KERNEL_LIST", label);
	kt_kernel_list_free(items, n);
	return r;
}

/* ---- sidecar --------------------------------------------------------------- */

/*
 * For results written before (or without) a VM boot: the kernel only
 * names the sidecar's run dir ({kernel}-{commit}), so a test that fails
 * early, skips or runs host_only lands beside the others. NULL when no
 * kernel resolves (the run dir is then "unknown-{commit}").
 */
static const struct kt_kernel *kernel_for_sidecar(const struct kt_run_opts_host *ho,
						  struct kt_kernel *k)
{
	char *err = NULL;
	int r = resolve_kernel(ho->kernel_label, k, &err);

	free(err);
	return r ? NULL : k;
}

static void write_sidecar(const struct kt_plan *p, const struct kt_kernel *k,
			  const struct kt_outcome *o, enum kt_verdict v, uint64_t wall_ms)
{
	kt_record_sidecar(p, k, o, v, wall_ms);
}

/* ---- failure dump ------------------------------------------------------------ */

/* {sidecar dir}/{test}-{hash:016x}.failure-dump.json (caller frees). */
static char *failure_dump_path(const struct kt_plan *p, const struct kt_kernel *k,
			       const struct kt_outcome *o)
{
	struct kt_sidecar sc;
	bool override;
	char *dir, *name, *path;

	kt_record_build(p, k, o, KT_VERDICT_FAIL, 0, &sc);
	dir = kt_sidecar_dir_labelled(sc.kernel_version, k ? k->run_label : NULL, &override);
	name = kt_asprintf("%s-%016llx.failure-dump.json", sc.test_name,
			   (unsigned long long)kt_sidecar_variant_hash(&sc));
	path = kt_path_join(dir, name);
	free(name);
	free(dir);
	kt_sidecar_free(&sc);
	return path;
}

/* The monitor's last max samples (from its sidecar object): the failure dump's. */
static json_t *monitor_tail(const struct kt_outcome *o, size_t max)
{
	json_t *m = o->rec.sidecar_extra ? json_object_get(o->rec.sidecar_extra, "monitor") : NULL;
	json_t *s = m ? json_object_get(m, "samples") : NULL, *a;
	size_t n = json_array_size(s);

	if (!n)
		return NULL;
	a = json_array();
	for (size_t i = n > max ? n - max : 0; i < n; i++)
		json_array_append(a, json_array_get(s, i));
	return a;
}

/*
 * What the run leaves besides its verdict: the sidecar's stimulus_events,
 * and for a failed run a failure dump next to its sidecar (the report and
 * the sidecar name it); a run that did not fail removes a stale one from
 * an earlier run of the same variant.
 */
static void run_artifacts(const struct kt_plan *p, const struct kt_kernel *k,
			  struct kt_outcome *o)
{
	char *path = failure_dump_path(p, k, o), *dir, *slash, *text, *bs;
	struct sbuf details = SBUF_INIT;
	struct kt_failure_ctx fc = {0};
	json_t *j;
	int r;

	if (o->timeline)
		kt_record_set(o, "stimulus_events", kt_timeline_stimulus_json(o->timeline));
	if (!kt_outcome_failed(o)) {
		if (kt_is_file(path) && unlink(path) < 0)
			kt_warn("stale failure dump %s not removed: %s", path, strerror(errno));
		free(path);
		return;
	}
	bs = kt_bug_summary(o->sched_dump, o->sched_log, kt_monitor_violation(o));
	kt_failure_details(o, &details);
	fc.test = p->test->name;
	fc.scheduler = p->sched_name;
	fc.topology = p->topo_str;
	fc.kernel = k ? k->version : NULL;
	fc.bug_summary = bs;
	fc.details = sb_str(&details);
	fc.host_dumps = o->host_dumps;
	fc.monitor_samples = monitor_tail(o, 50);
	j = kt_failure_dump_json(&fc, o, o->timeline);
	json_decref(fc.monitor_samples);
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	dir = kt_strdup(path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	r = text ? (slash ? kt_mkdir_p(dir, 0755) : 0) : -ENOMEM;
	if (!r)
		r = kt_write_file_atomic(path, text, strlen(text), 0644);
	if (r) {
		kt_warn("failure dump not written: %s: %s", path, strerror(-r));
	} else {
		kt_record_failure_dump(o, path);
	}
	free(path);
	free(dir);
	free(text);
	free(bs);
	sb_free(&details);
}

/* ---- the run -------------------------------------------------------------- */

/* ---- the monitor on the timeline, and host-requested dumps ------------------- */

/* The monitor's newest sample on the timeline (the rq clock test is the raw one). */
static void timeline_samples(struct collect *c)
{
	struct kt_mon *m = kt_hostmon_mon(c->mon);
	unsigned n = m ? kt_mon_n_samples(m) : 0;
	const struct kt_mon_sample *s, *prev;
	struct kt_tl_sample t = {.host_ns = kt_now_ns(), .first_stuck_cpu = -1};

	if (!n || n == c->mon_seen)
		return;
	c->mon_seen = n;
	s = kt_mon_sample_at(m, n - 1);
	prev = n > 1 ? kt_mon_sample_at(m, n - 2) : NULL;
	if (!s || !s->valid || !s->cpu)
		return;
	t.n_cpus = c->ncpu;
	for (unsigned i = 0; i < c->ncpu; i++) {
		const struct kt_mon_cpu *x = &s->cpu[i];

		if (x->nr_running > t.max_nr_running)
			t.max_nr_running = x->nr_running;
		if (x->local_dsq_depth > t.max_local_dsq)
			t.max_local_dsq = x->local_dsq_depth;
		if (x->wait_ms > t.max_wait_ms) {
			t.max_wait_ms = x->wait_ms;
			t.max_wait_cpu = (int)i;
		}
		if (prev && prev->valid && prev->cpu && x->rq_clock &&
		    x->rq_clock == prev->cpu[i].rq_clock &&
		    (x->nr_running || prev->cpu[i].nr_running)) {
			if (!t.stuck_cpus++)
				t.first_stuck_cpu = (int)i;
		}
	}
	kt_timeline_sample(&c->tl, &t);
}

/*
 * The monitor sees a stall, a DSQ or an imbalance building (called from
 * kt_mon_tick, before the sustained threshold or the kernel's watchdog):
 * on the timeline, and one sched_ext dump requested from the guest.
 */
static void on_alert(void *arg, const struct kt_mon_alert *a)
{
	static const char *const what[] = {[KT_MON_ALERT_STALL] = "rq clock not advancing",
					   [KT_MON_ALERT_DSQ] = "local DSQ depth",
					   [KT_MON_ALERT_IMBALANCE] = "runqueue imbalance",
					   [KT_MON_ALERT_WAIT] = "runnable task waiting"};
	struct collect *c = arg;
	char text[200];

	if (a->kind == KT_MON_ALERT_WAIT) {
		uint64_t now = kt_now_ns(), ms = a->value > 0 ? (uint64_t)a->value : 0;
		char *e;

		snprintf(text, sizeof(text),
			 "%s: %s[%d] on cpu%d runnable for %.0f ms without running "
			 "(limit %lld ms, half the sched_ext watchdog timeout)",
			 what[a->kind], a->comm, (int)a->pid, a->cpu, a->value,
			 (long long)a->limit_ms);
		e = kt_asprintf("monitor: %s[%d] on cpu%d became runnable and has not run since",
				a->comm, (int)a->pid, a->cpu);
		kt_timeline_wait_began(&c->tl, now > ms * 1000000 ? now - ms * 1000000 : 0, e);
		free(e);
	} else if (a->kind == KT_MON_ALERT_IMBALANCE)
		snprintf(text, sizeof(text), "%s %.1f for %u samples", what[a->kind], a->value,
			 a->run);
	else
		snprintf(text, sizeof(text), "%s on cpu%d for %u samples (%.0f)", what[a->kind],
			 a->cpu, a->run, a->value);
	{
		char *e = kt_asprintf("monitor: %s", text);

		kt_timeline_host_event(&c->tl, kt_now_ns(), e);
		free(e);
	}
	if (!c->dump_why[0])
		snprintf(c->dump_why, sizeof(c->dump_why), "monitor: %s", text);
}

/* Ask for the dump (SHM control byte), then notice when the guest has run it. */
static void dump_tick(struct collect *c, struct kt_vm_guest *g)
{
	if (c->dump_why[0] && !c->dump_req_ns) {
		if (kt_vm_guest_shm_ctrl_set(g, KT_PROTO_CTRL_DUMP, KT_PROTO_SIG_DUMP) == 0) {
			c->dump_req_ns = kt_now_ns();
			kt_timeline_host_event(&c->tl, c->dump_req_ns,
					       "host: sched_ext dump requested (SysRq-D)");
		}
	} else if (c->dump_req_ns && !c->dump_done_ns &&
		   kt_vm_guest_shm_ctrl_get(g, KT_PROTO_CTRL_DUMP) == 0) {
		c->dump_done_ns = kt_now_ns();
		kt_timeline_host_event(&c->tl, c->dump_done_ns, "guest: SysRq-D done");
	}
}

/* The failure dump's host_dump_requests: [{reason, requested_ms, done_ms}]. */
static json_t *host_dumps_json(const struct collect *c)
{
	if (!c->dump_req_ns)
		return NULL;
	return json_pack("[{s:s,s:I,s:o}]", "reason", c->dump_why, "requested_ms",
			 (json_int_t)kt_timeline_host_ms(&c->tl, c->dump_req_ns), "done_ms",
			 c->dump_done_ns ? json_integer(kt_timeline_host_ms(&c->tl, c->dump_done_ns))
					 : json_null());
}

static int on_tick(void *arg, struct kt_vm_guest *g)
{
	struct collect *c = arg;
	struct kt_gk_mem m = kt_gk_vm_mem(g);

	if (c->wd)
		kt_wdog_tick(c->wd, &m);
	if (c->mon)
		kt_hostmon_tick(c->mon, g);
	kt_bpfmap_tick(c->bm, g);
	if (c->mon) {
		timeline_samples(c);
		dump_tick(c, g);
	}
	return 0;
}

/*
 * Set up the .watchdog_timeout_s override (wdog.h) for a sched_ext run.
 * Applied when the test sets it, and by default (4 s, as the reference)
 * only under KVM: under TCG the guest's clock runs at host speed while the
 * guest runs many times slower, and a host hiccup of a few seconds would
 * read as a stall. Returns true when the override is armed.
 */
static bool watchdog_setup(const struct kt_plan *p, const struct kt_kernel *k, bool kvm,
			   const char *full, struct kt_wdog *wd, char **note)
{
	bool asked = p->test->watchdog_timeout_s != KTSTR_UNSET;
	char *why = NULL;
	int hz;

	if (!p->sched || !p->sched->binary || (!asked && !kvm))
		return false;
	hz = kt_kernel_hz(k->vmlinux, k->dir, NULL);
	if (hz <= 0)
		why = kt_strdup("CONFIG_HZ of the kernel is unknown (no IKCONFIG, no config file)");
	else if (kt_wdog_init(wd, k->vmlinux, hz, p->watchdog_timeout_s, &why) == 0)
		return true;
	*note = kt_asprintf("sched_ext watchdog: %d s not applied: %s", p->watchdog_timeout_s,
			    why);
	if (asked)
		kt_warn("%s: .watchdog_timeout_s=%d cannot be applied: %s", full,
			p->watchdog_timeout_s, why);
	free(why);
	return false;
}

/*
 * Scheduler attach limit: 3 s as the reference on KVM; under TCG the BPF
 * verifier and program load run emulated, several times slower, so the
 * guest waits up to KT_TCG_ATTACH_MS.
 */
#define KT_KVM_ATTACH_MS 3000
#define KT_TCG_ATTACH_MS 30000

static json_t *run_json(const struct kt_plan *p, const char *guest_sched, bool kvm)
{
	json_t *j = json_pack("{s:s,s:s?,s:i}", "test", p->test->name, "scheduler", guest_sched,
			      "attach_timeout_ms", kvm ? KT_KVM_ATTACH_MS : KT_TCG_ATTACH_MS);

	if (j && p->variant) /* a gauntlet variant: the guest's plan follows it */
		json_object_set_new(j, "variant", json_pack("{s:s,s:I}", "topology", p->topo_str,
							    "flags", (json_int_t)p->variant_flags));
	return j;
}

static void print_verdict(const char *full, enum kt_verdict v, double secs, const char *report)
{
	if (report && *report)
		fputs(report, stderr);
	printf("%s %s (%.1fs)\n", kt_verdict_name(v), full, secs);
	fflush(stdout);
}

static enum kt_verdict finish(const struct kt_plan *p, const struct kt_kernel *k,
			      struct kt_outcome *o, const char *full, uint64_t t0, bool verbose)
{
	char *report = NULL;
	enum kt_verdict v;
	uint64_t ms;

	run_artifacts(p, k, o);
	v = kt_verdict_decide(p, o, verbose, &report);
	ms = (kt_now_ns() - t0) / 1000000;

	print_verdict(full, v, (double)ms / 1000.0, report);
	free(report);
	write_sidecar(p, k, o, v, ms);
	return v;
}

static enum kt_verdict skip(const struct kt_plan *p, const struct kt_kernel *k, const char *full,
			    const char *why, bool no_skip, uint64_t t0)
{
	struct kt_outcome o = {.exit_code = -1};
	enum kt_verdict rc;

	if (no_skip) {
		o.infra_error = kt_asprintf("cannot run (no-skip mode): %s", why);
		rc = finish(p, k, &o, full, t0, false);
		kt_outcome_free(&o);
		return rc;
	}
	fprintf(stderr, "ktstr: SKIP: %s\n", why);
	printf("SKIP %s (%.1fs)\n", full, (double)(kt_now_ns() - t0) / 1e9);
	fflush(stdout);
	write_sidecar(p, k, NULL, KT_VERDICT_SKIP, (kt_now_ns() - t0) / 1000000);
	return KT_VERDICT_SKIP;
}

/*
 * host_only: the body runs in this process under the host's current
 * scheduler, cgroups under /sys/fs/cgroup/ktstr-<pid> (cgroup v2 needed).
 */
static enum kt_verdict run_host_only(const struct kt_plan *p, const struct kt_kernel *k,
				     struct kt_outcome *o, const char *full, uint64_t t0,
				     bool verbose, bool no_skip)
{
	struct statfs sf;
	static volatile sig_atomic_t stop;
	char *root;

	/* A host that cannot run it is a skip (a failure in no-skip mode). */
	if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
		return skip(p, k, full,
			    "host_only test needs cgroup v2 mounted at /sys/fs/cgroup; this "
			    "host has cgroup v1 (or none)",
			    no_skip, t0);
	root = kt_asprintf("/sys/fs/cgroup/ktstr-%d", (int)getpid());
	if (kt_run_body_local(p, root, 0, NULL, &stop, NULL, &o->result) == 0 || o->result.n_details)
		o->have_result = true;
	free(root);
	return finish(p, k, o, full, t0, verbose);
}

enum kt_verdict kt_run_test_host(const struct ktstr_test *t, const struct kt_run_opts_host *ho)
{
	uint64_t t0 = kt_now_ns();
	struct kt_plan plan;
	struct kt_kernel k = {0};
	struct kt_outcome o = {.exit_code = -1};
	struct collect c = {.o = &o, .verbose = ho->verbose, .t0 = kt_now_ns()};
	struct kt_vm_config cfg;
	struct kt_vm_result res = {0};
	struct kt_wdog wd = {0};
	enum kt_accel accel;
	char *err = NULL, *why = NULL, *full, *sched_path = NULL, *text, *mon_why = NULL;
	const char *guest_sched = NULL;
	const char **extra = NULL;
	size_t n_extra = 0;
	struct kt_cpio *cpio = NULL;
	json_t *rj;
	enum kt_verdict rc = KT_VERDICT_FAIL;
	int r;

	kt_timeline_init(&c.tl);
	full = ho->variant_name ? kt_strdup(ho->variant_name)
				: kt_test_full_name(t->name, ho->kernel_label);
	if (kt_plan_resolve(t, &plan, &err) ||
	    (ho->variant_topo && kt_plan_apply_variant(&plan, ho->variant_topo, ho->variant_flags,
						       ho->variant_memory_mb, &err))) {
		kt_err("%s", err);
		printf("FAIL %s (0.0s)\n", full);
		free(err);
		free(full);
		return 1;
	}
	if (t->host_only) {
		rc = run_host_only(&plan, kernel_for_sidecar(ho, &k), &o, full, t0, ho->verbose,
				   ho->no_skip);
		goto out;
	}
	/* A scheduler given as a path needs no kernel to be checked. */
	if (plan.sched && plan.sched->binary && strchr(plan.sched->binary, '/')) {
		sched_path = kt_sched_lookup(plan.sched->binary, NULL, ho->direct, &err);
		if (!sched_path) {
			o.sched_fail_reason = err;
			err = NULL;
			rc = finish(&plan, kernel_for_sidecar(ho, &k), &o, full, t0, ho->verbose);
			goto out;
		}
		free(sched_path);
		sched_path = NULL;
	}
	if (kt_accel_resolve(KT_ACCEL_AUTO, &accel, &why, &err)) {
		o.infra_error = kt_asprintf("accelerator: %s", err);
		rc = finish(&plan, NULL, &o, full, t0, ho->verbose);
		goto out;
	}
	free(why);
	why = NULL;
	if (!kt_host_fits(kt_topo_spec_cpus(&plan.topo), accel == KT_ACCEL_KVM,
			  (int)kt_allowed_cpus(), &why)) {
		char *m = kt_asprintf("%s [topo=%s]", why, plan.topo_str);

		rc = skip(&plan, kernel_for_sidecar(ho, &k), full, m, ho->no_skip, t0);
		free(m);
		goto out;
	}

	if (resolve_kernel(ho->kernel_label, &k, &err)) {
		o.infra_error = kt_asprintf("kernel: %s", err ? err : "not found");
		rc = finish(&plan, NULL, &o, full, t0, ho->verbose);
		goto out;
	}
	cpio = kt_cpio_new();
	if (plan.sched && plan.sched->binary) {
		const char *base;

		sched_path = kt_sched_lookup(plan.sched->binary, k.sched_dir, ho->direct, &err);
		if (!sched_path) {
			o.sched_fail_reason = err;
			err = NULL;
			rc = finish(&plan, &k, &o, full, t0, ho->verbose);
			goto out;
		}
		base = strrchr(sched_path, '/') ? strrchr(sched_path, '/') + 1 : sched_path;
		text = kt_asprintf("ktstr/sched/%s", base);
		r = kt_cpio_add_elf(cpio, text, sched_path, &err);
		if (r) {
			o.infra_error = kt_asprintf("pack scheduler %s: %s", sched_path, err);
			free(text);
			rc = finish(&plan, &k, &o, full, t0, ho->verbose);
			goto out;
		}
		guest_sched = text;
	}
	{
		char *gs = guest_sched ? kt_asprintf("/%s", guest_sched) : NULL;

		rj = run_json(&plan, gs, accel == KT_ACCEL_KVM);
		free(gs);
		text = json_dumps(rj, JSON_COMPACT);
		json_decref(rj);
		r = kt_cpio_add_data(cpio, "ktstr/run.json", text, strlen(text), 0644);
		free(text);
		if (r) {
			o.infra_error = kt_asprintf("initramfs: %s", strerror(-r));
			rc = finish(&plan, &k, &o, full, t0, ho->verbose);
			goto out;
		}
	}
	/* Guest kernel command line: sysctls, kargs. */
	extra = kt_calloc(2 * KTSTR_MAX_KV + 2, sizeof(*extra));
	for (size_t i = 0; plan.sched && i < KTSTR_MAX_KV && plan.sched->sysctls[i]; i++)
		extra[n_extra++] = kt_asprintf("sysctl.%s", plan.sched->sysctls[i]);
	for (size_t i = 0; plan.sched && i < KTSTR_MAX_KV && plan.sched->kargs[i]; i++)
		extra[n_extra++] = kt_strdup(plan.sched->kargs[i]);

	kt_vm_config_init(&cfg);
	cfg.kernel = k.image;
	cfg.vmlinux = k.vmlinux;
	cfg.no_kaslr = !t->kaslr;
	cfg.topo = plan.topo;
	{
		unsigned cpus = (unsigned)kt_topo_spec_cpus(&plan.topo);
		unsigned mem = (unsigned)plan.memory_mb;

		if (mem < cpus * 64)
			mem = cpus * 64;
		if (mem < 256)
			mem = 256;
		cfg.memory_mb = mem;
	}
	cfg.accel = accel;
	cfg.accel_quiet = !ho->verbose;
	cfg.timeout_s = kt_vm_timeout_for(plan.duration_s, kt_topo_spec_cpus(&plan.topo),
					  accel == KT_ACCEL_KVM);
	if (plan.sched && plan.sched->binary)
		cfg.timeout_s += (accel == KT_ACCEL_KVM ? KT_KVM_ATTACH_MS : KT_TCG_ATTACH_MS) / 1000;
	cfg.mode = "run";
	cfg.cmdline_extra = extra;
	cfg.initramfs = cpio;
	cfg.dmesg = ho->verbose && kt_getenv("KTSTR_VERBOSE");
	cfg.shm_size = KT_PROTO_SHM_SIZE;
	cfg.on_shm = on_shm;
	cfg.shm_limit = shm_limit;
	cfg.on_com2_line = on_com2;
	cfg.on_console_line = on_console;
	cfg.ctx = &c;
	if (watchdog_setup(&plan, &k, accel == KT_ACCEL_KVM, full, &wd, &o.watchdog_note)) {
		c.wd = &wd;
		cfg.on_tick = on_tick;
	}
	if (kt_hostmon_enabled()) {
		c.mon = kt_hostmon_new(&k, (unsigned)kt_topo_spec_cpus(&plan.topo), &plan.assert,
				       &mon_why);
		cfg.on_tick = on_tick;
		cfg.tick_ms = kt_hostmon_interval_ms();
		c.ncpu = (unsigned)kt_topo_spec_cpus(&plan.topo);
		if (c.mon && kt_hostmon_mon(c.mon)) {
			kt_mon_on_alert(kt_hostmon_mon(c.mon), KT_ALERT_AFTER, on_alert, &c);
			/* a sched_ext run's dump is empty before the scheduler attaches */
			kt_mon_alert_needs_scx(kt_hostmon_mon(c.mon),
					       plan.sched && plan.sched->binary);
		}
	}
	c.bm = kt_bpfmap_new(t, plan.duration_s, k.vmlinux);
	if (c.bm)
		cfg.on_tick = on_tick;
	cfg.timeout_s += kt_bpfmap_extra_s(t);
	c.rx = kt_proto_rx_new(on_msg, &c);
	o.rec.accel = accel == KT_ACCEL_KVM ? "kvm" : "tcg";
	o.timeline = &c.tl;
	r = kt_vm_run(&cfg, &res, &err);
	o.rec.vm_end_ns = kt_now_ns();
	kt_proto_rx_finish(c.rx);
	if (c.wd) {
		free(o.watchdog_note);
		o.watchdog_note = kt_wdog_describe(&wd);
		if (ho->verbose)
			kt_info("%s", o.watchdog_note);
	}
	if (r) {
		o.infra_error = kt_asprintf("vm: %s", err ? err : strerror(-r));
		rc = finish(&plan, &k, &o, full, t0, ho->verbose);
		kt_vm_result_free(&res);
		goto out;
	}
	o.wall_s = res.wall_s;
	/* .kaslr as asked and the image booted (the monitor records the slides) */
	kt_record_set(&o, "boot", json_pack("{s:b,s:s}", "kaslr", t->kaslr, "image",
					    res.pvh ? "vmlinux (PVH)" : "bzImage"));
	o.timed_out = res.timed_out;
	if (res.panicked) {
		o.crashed = true;
		if (!o.crash_line && res.panic_line)
			o.crash_line = kt_strdup(res.panic_line);
	}
	if (o.exit_code < 0 && res.have_exit)
		o.exit_code = res.exit_code;
	if (res.console_tail)
		o.console_tail = kt_strdup(res.console_tail);
	if (!o.init_stage)
		o.init_stage = kt_strdup(res.init_started ? "guest init started" : "before guest init");
	if (res.guest_error && !o.infra_error)
		o.infra_error = kt_asprintf("guest init: %s", res.guest_error);
	if (res.interrupted)
		o.infra_error = kt_strdup("interrupted");
	collect_finish(&c, &o);
	if (kt_hostmon_enabled())
		kt_hostmon_finish(c.mon, mon_why, &o);
	if (o.have_result)
		kt_bpfmap_finish(c.bm, &o.result);
	if (c.bm)
		kt_record_set(&o, "bpf_maps", kt_bpfmap_to_json(c.bm));
	o.host_dumps = host_dumps_json(&c);
	if (o.timed_out && !o.have_result && !o.infra_error) {
		char *d = kt_vm_describe_failure(&res, &cfg);

		if (d) {
			free(o.init_stage);
			o.init_stage = d;
		}
	}
	kt_vm_result_free(&res);
	rc = finish(&plan, &k, &o, full, t0, ho->verbose);
out:
	for (size_t i = 0; i < n_extra; i++)
		free((void *)extra[i]);
	free(extra);
	if (cpio)
		kt_cpio_free(cpio);
	free((void *)guest_sched);
	free(sched_path);
	free(why);
	free(err);
	free(full);
	sb_free(&c.sched_log);
	sb_free(&c.dump);
	sb_free(&c.guest_out);
	free(c.result);
	kt_proto_rx_free(c.rx);
	kt_timeline_free(&c.tl);
	kt_wdog_free(&wd);
	kt_hostmon_free(c.mon);
	free(mon_why);
	kt_bpfmap_free(c.bm);
	kt_outcome_free(&o);
	kt_kernel_free(&k);
	return rc;
}
