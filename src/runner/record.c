// SPDX-License-Identifier: GPL-2.0
/* A run's sidecar from what the run measured. See record.h. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ktstr/work.h>

#include "record.h"
#include "util/util.h"
#include "workload/workload.h"

/* ---- hooks ------------------------------------------------------------------ */

#define FACTS_MAX_WORK_TYPES 64
#define FACTS_MAX_PROGS 512

void kt_record_result_arrived(struct kt_outcome *o)
{
	o->rec.result_ns = kt_now_ns();
	o->rec.progress |= KT_PROGRESS_RESULT;
}

/* The guest's FACT object, checked: only known keys of the right shape are kept. */
void kt_record_facts(struct kt_outcome *o, const void *data, uint32_t len)
{
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL), *wt, *vs, *e, *keep;
	size_t i;

	if (!j || !json_is_object(j)) {
		json_decref(j);
		return;
	}
	keep = json_object();
	wt = json_object_get(j, "work_types");
	if (json_is_array(wt) && json_array_size(wt) <= FACTS_MAX_WORK_TYPES) {
		json_t *ok = json_array();

		json_array_foreach(wt, i, e) {
			enum kt_work_type t;

			if (json_is_string(e) && !kt_work_type_from_name(json_string_value(e), &t))
				json_array_append_new(ok, json_string(kt_work_type_name(t)));
		}
		json_object_set_new(keep, "work_types", ok);
	}
	vs = json_object_get(j, "verifier_stats");
	if (json_is_array(vs) && json_array_size(vs) <= FACTS_MAX_PROGS) {
		json_t *ok = json_array();

		json_array_foreach(vs, i, e) {
			json_t *name = json_object_get(e, "name"), *n = json_object_get(e, "verified_insns");

			if (json_is_string(name) && strlen(json_string_value(name)) < 64 &&
			    json_is_integer(n) && json_integer_value(n) >= 0)
				json_array_append_new(ok, json_pack("{s:O,s:O}", "name", name,
								    "verified_insns", n));
		}
		json_object_set_new(keep, "verifier_stats", ok);
	}
	json_decref(j);
	json_decref(o->rec.facts);
	o->rec.facts = keep;
}

void kt_record_sched_status(struct kt_outcome *o, const void *data, uint32_t len)
{
	int32_t st;

	if (len != sizeof(st))
		return;
	memcpy(&st, data, sizeof(st));
	o->rec.have_sched_status = true;
	o->rec.sched_status = st;
}

void kt_record_stage(struct kt_outcome *o, const char *stage)
{
	if (!stage)
		return;
	if (kt_startswith(stage, "scheduler attached") || !strcmp(stage, "reading topology"))
		o->rec.progress |= KT_PROGRESS_ATTACHED;
	if (!strcmp(stage, "test body running"))
		o->rec.progress |= KT_PROGRESS_ATTACHED | KT_PROGRESS_BODY;
	if (!strcmp(stage, "stopping scheduler"))
		o->rec.progress |= KT_PROGRESS_TEARDOWN;
}

void kt_record_console_line(struct kt_outcome *o, const char *line)
{
	struct kt_run_record *r = &o->rec;
	size_t n;

	if (!strstr(line, "sched_ext: "))
		return;
	n = strnlen(line, 1024);
	if (r->scx_console_len + n + 2 > KT_RECORD_SCX_CONSOLE_MAX)
		return; /* the first lines tell the exit; later ones are its backtrace */
	r->scx_console = kt_realloc(r->scx_console, r->scx_console_len + n + 2);
	memcpy(r->scx_console + r->scx_console_len, line, n);
	r->scx_console_len += n;
	r->scx_console[r->scx_console_len++] = '\n';
	r->scx_console[r->scx_console_len] = 0;
}

void kt_record_set(struct kt_outcome *o, const char *key, json_t *v)
{
	if (!o->rec.sidecar_extra)
		o->rec.sidecar_extra = json_object();
	json_object_set_new(o->rec.sidecar_extra, key, v);
}

void kt_record_failure_dump(struct kt_outcome *o, const char *path)
{
	free(o->rec.failure_dump);
	o->rec.failure_dump = path ? kt_strdup(path) : NULL;
}

void kt_record_free(struct kt_run_record *r)
{
	json_decref(r->facts);
	free(r->scx_console);
	free(r->failure_dump);
	json_decref(r->sidecar_extra);
	memset(r, 0, sizeof(*r));
}

/*
 * Verifier statistics of the BPF programs loaded now: [{name,
 * verified_insns, type}], NULL when none is loaded (or bpf() is not
 * available). Walks program ids with bpf(2) directly: the guest side is a
 * static binary and needs nothing from libbpf for this.
 */
static json_t *bpf_verifier_stats(void)
{
	json_t *a = json_array();
	__u32 id = 0;

	for (int n = 0; n < 4096; n++) {
		union bpf_attr at;
		struct bpf_prog_info info;
		int fd;

		memset(&at, 0, sizeof(at));
		at.start_id = id;
		if (syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &at, sizeof(at)) < 0)
			break;
		id = at.next_id;
		memset(&at, 0, sizeof(at));
		at.prog_id = id;
		fd = (int)syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &at, sizeof(at));
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&at, 0, sizeof(at));
		at.info.bpf_fd = (__u32)fd;
		at.info.info_len = sizeof(info);
		at.info.info = (__u64)(unsigned long)&info;
		if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &at, sizeof(at)) == 0)
			json_array_append_new(a, json_pack("{s:s%,s:i}", "name", info.name,
							   strnlen(info.name, sizeof(info.name)),
							   "verified_insns",
							   (json_int_t)info.verified_insns));
		close(fd);
	}
	if (!json_array_size(a)) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *kt_run_facts(bool bpf)
{
	uint64_t used = kt_workload_types_used();
	json_t *wt = json_array(), *f, *vs = bpf ? bpf_verifier_stats() : NULL;

	for (unsigned i = 0; i < KT_WORK__COUNT; i++)
		if (used & (1ull << i))
			json_array_append_new(wt, json_string(kt_work_type_name(i)));
	f = json_pack("{s:o}", "work_types", wt);
	if (vs)
		json_object_set_new(f, "verifier_stats", vs);
	return f;
}

/* ---- commits ---------------------------------------------------------------- */

/*
 * The kernel's commit: a cache entry's metadata (git and local builds
 * record it), or the git HEAD of a source tree. NULL with *why otherwise.
 */
static char *kernel_commit(const struct kt_kernel *k, char **why)
{
	char *text = NULL, *path, *c = NULL, *err = NULL;
	struct kt_cache_meta m;
	const char *kind;

	if (!k) {
		*why = kt_strdup("no kernel was resolved for this run");
		return NULL;
	}
	if (!k->key) {
		c = k->dir ? kt_git_commit_of(k->dir) : NULL;
		if (!c)
			*why = kt_asprintf("kernel directory %s is not a git tree",
					   k->dir ? k->dir : "(none)");
		return c;
	}
	path = kt_path_join(k->dir, "metadata.json");
	if (kt_read_file(path, &text, NULL, 1 << 20) || kt_meta_parse(text, &m, &kind, &err)) {
		*why = kt_asprintf("cache entry %s: %s unreadable", k->key, path);
		free(path);
		free(text);
		free(err);
		return NULL;
	}
	free(path);
	free(text);
	if (m.git_hash && *m.git_hash)
		c = kt_asprintf("%.7s", m.git_hash);
	else if (m.src == KT_SRC_TARBALL)
		*why = kt_asprintf("kernel %s was built from a release tarball, which has no git "
				   "commit",
				   k->key);
	else
		*why = kt_asprintf("cache entry %s records no git commit", k->key);
	kt_meta_free(&m);
	return c;
}

/*
 * The scheduler's commit: one built with the kernel (its sched_dir) has
 * the kernel's; a binary elsewhere has its directory's git HEAD.
 */
static char *scheduler_commit(const struct kt_plan *p, const struct kt_kernel *k,
			      const char *kcommit, const char *kwhy, char **why)
{
	char *path, *err = NULL, *dir, *c;

	if (!p->sched || !p->sched->binary) {
		*why = kt_strdup("no sched_ext scheduler: the kernel's default (EEVDF) ran");
		return NULL;
	}
	path = kt_sched_lookup(p->sched->binary, k ? k->sched_dir : NULL, false, &err);
	if (!path) {
		*why = kt_asprintf("scheduler binary not found: %s", err);
		free(err);
		return NULL;
	}
	dir = kt_strdup(path);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = 0;
	if (k && k->sched_dir && !strcmp(dir, k->sched_dir)) {
		free(dir);
		free(path);
		if (!kcommit)
			*why = kt_asprintf("built with the kernel, whose commit is unknown (%s)",
					   kwhy);
		return kcommit ? kt_strdup(kcommit) : NULL;
	}
	c = kt_git_commit_of(dir);
	if (!c)
		*why = kt_asprintf("scheduler binary %s is not in a git tree", path);
	free(dir);
	free(path);
	return c;
}

/* ---- failure ---------------------------------------------------------------- */

static const char *exit_failure_kind(const char *exit_kind)
{
	if (!exit_kind)
		return NULL;
	if (!strcmp(exit_kind, "error"))
		return "scheduler_error";
	if (!strcmp(exit_kind, "stall"))
		return "scheduler_stall";
	if (!strcmp(exit_kind, "crash"))
		return "scheduler_crash";
	return NULL;
}

/* The first failing detail of the result, or NULL. */
static const struct kt_detail *first_failure(const struct kt_outcome *o, bool sched_died)
{
	if (!o->have_result)
		return NULL;
	for (size_t i = 0; i < o->result.n_details; i++) {
		const struct kt_detail *d = &o->result.details[i];

		if (d->kind == KT_DETAIL_SKIP || d->inconclusive)
			continue;
		if (sched_died != (d->kind == KT_DETAIL_SCHEDULER_DIED))
			continue;
		return d;
	}
	return NULL;
}

static const char *phase_of(const struct kt_outcome *o)
{
	unsigned pr = o->rec.progress;

	if (o->have_result && !kt_assert_result_failed(&o->result) && (pr & KT_PROGRESS_RESULT))
		return "teardown"; /* the body passed; what failed came after */
	if (pr & KT_PROGRESS_BODY)
		return "workload";
	if (o->have_result && (pr & KT_PROGRESS_ATTACHED))
		return "workload";
	return "before_attach";
}

/* {kind, phase, message, stage} of a failed run. */
static json_t *failure_of(const struct kt_outcome *o, const struct kt_sched_exit *ex)
{
	const char *kind = NULL, *phase = phase_of(o);
	const struct kt_detail *d;
	char *msg = NULL;
	json_t *f;

	if (o->sched_fail_reason) {
		kind = "scheduler_missing";
		phase = "before_attach";
		msg = kt_strdup(o->sched_fail_reason);
	} else if (o->sched_not_attached) {
		kind = "scheduler_not_attached";
		phase = "before_attach";
		d = first_failure(o, true);
		msg = kt_strdup(d ? d->message : "the scheduler did not attach");
	} else if ((o->sched_died || first_failure(o, true)) &&
		   (exit_failure_kind(ex->kind) || !ex->kind)) {
		kind = exit_failure_kind(ex->kind) ? exit_failure_kind(ex->kind)
						   : "scheduler_crash";
		if (ex->reason && ex->message)
			msg = kt_asprintf("%s: %s", ex->reason, ex->message);
		else if (ex->reason || ex->message)
			msg = kt_strdup(ex->reason ? ex->reason : ex->message);
		else if ((d = first_failure(o, true)))
			msg = kt_strdup(d->message);
		else
			msg = kt_strdup("the scheduler died");
		if (!(o->rec.progress & KT_PROGRESS_ATTACHED))
			phase = "before_attach";
	} else if (o->crashed) {
		kind = "guest_crash";
		msg = kt_strdup(o->crash_line ? o->crash_line : "guest kernel crashed");
	} else if (o->rec.facts == NULL && o->oom_line) {
		kind = "guest_oom";
		msg = kt_strdup(o->oom_line);
	} else if (o->infra_error) {
		kind = "infra";
		msg = kt_strdup(o->infra_error);
	} else if (o->timed_out && !o->have_result) {
		kind = "timeout";
		msg = kt_strdup("the VM did not finish in time");
	} else if ((d = first_failure(o, false))) {
		kind = "body";
		msg = kt_asprintf("%s: %s", kt_detail_kind_name(d->kind), d->message);
	} else if (o->oom_line) {
		kind = "guest_oom";
		msg = kt_strdup(o->oom_line);
	} else {
		kind = "body";
		if (o->have_result)
			phase = "workload";
		msg = kt_strdup(o->have_result ? "the test passed but was expected to fail (expect_err)"
					       : "the guest sent no test result");
	}
	f = json_pack("{s:s,s:s,s:s}", "kind", kind, "phase", phase, "message", msg);
	if (o->init_stage)
		json_object_set_new(f, "stage", json_string(o->init_stage));
	free(msg);
	return f;
}

/* ---- the sidecar --------------------------------------------------------------- */

static void set_work_types(struct kt_sidecar *sc, const struct kt_plan *p,
			   const struct kt_outcome *o, enum kt_verdict v)
{
	json_t *facts = o ? o->rec.facts : NULL, *local = NULL, *wt, *e;
	struct sbuf sb = SBUF_INIT;
	size_t i;

	if (!facts && o && p->test->host_only)
		facts = local = kt_run_facts(false);
	wt = facts ? json_object_get(facts, "work_types") : NULL;
	json_array_foreach(wt, i, e)
		kt_strv_add(&sc->work_types, json_string_value(e));
	json_decref(local);
	if (v == KT_VERDICT_SKIP) {
		sc->work_type = kt_strdup("skipped");
		return;
	}
	for (i = 0; i < sc->work_types.n; i++)
		sb_addf(&sb, "%s%s", i ? "+" : "", sc->work_types.v[i]);
	if (sb.len) {
		sc->work_type = sb_steal(&sb);
		return;
	}
	sb_free(&sb);
	if (!facts)
		kt_sidecar_absent(sc, "work_type",
				  o ? "the guest reported no facts (it ended before the scenario "
				      "ran)"
				    : "the test did not run");
	else
		kt_sidecar_absent(sc, "work_type", "the scenario spawned no workers");
}

static void set_cleanup(struct kt_sidecar *sc, const struct kt_plan *p,
			const struct kt_outcome *o)
{
	if (o && o->rec.result_ns && o->rec.vm_end_ns >= o->rec.result_ns) {
		sc->has_cleanup_ms = true;
		sc->cleanup_duration_ms = (o->rec.vm_end_ns - o->rec.result_ns) / 1000000;
	} else if (p->test->host_only) {
		kt_sidecar_absent(sc, "cleanup_duration_ms",
				  "host_only test: no VM to tear down (cgroup removal is part "
				  "of the body)");
	} else if (!o || !o->rec.vm_end_ns) {
		kt_sidecar_absent(sc, "cleanup_duration_ms", "no VM was booted");
	} else {
		kt_sidecar_absent(sc, "cleanup_duration_ms",
				  "the guest sent no test result, so teardown has no start");
	}
}

static void set_exit(struct kt_sidecar *sc, const struct kt_plan *p,
		     const struct kt_outcome *o, struct kt_sched_exit *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->exit_kind = -1;
	if (!p->sched || !p->sched->binary) {
		kt_sidecar_absent(sc, "scheduler_exit", "no sched_ext scheduler ran");
		return;
	}
	if (!o || !o->rec.vm_end_ns) {
		kt_sidecar_absent(sc, "scheduler_exit", "no VM was booted");
		return;
	}
	if (kt_sched_exit_parse(o->rec.scx_console, o->sched_log, o->sched_dump,
				o->rec.have_sched_status, o->rec.sched_status, ex))
		sc->scheduler_exit = kt_sched_exit_to_json(ex);
	else
		kt_sidecar_absent(sc, "scheduler_exit",
				  o->sched_log ? "the scheduler's log has no EXIT line and the "
						 "console no sched_ext exit"
					       : "no scheduler log came back from the guest");
}

static void set_slots(struct kt_sidecar *sc, const struct kt_plan *p, const struct kt_outcome *o)
{
	json_t *extra = o ? o->rec.sidecar_extra : NULL, *v;
	const char *key;

	json_object_foreach(extra, key, v)
		kt_sidecar_set(sc, key, json_incref(v));
	/* Payload metrics: a test without a payload has none. */
	if (!kt_sidecar_get(sc, "metrics"))
		kt_sidecar_set(sc, "metrics", json_array());
	kt_sidecar_absent(sc, "payload", "the test declares no payload");
	if (!kt_sidecar_get(sc, "monitor"))
		kt_sidecar_absent(sc, "monitor", "no host monitor summary was recorded for this run");
	if (!kt_sidecar_get(sc, "stimulus_events"))
		kt_sidecar_absent(sc, "stimulus_events", "no scenario events were recorded");
	if (!kt_sidecar_get(sc, "verifier_stats") && o && o->rec.facts &&
	    json_object_get(o->rec.facts, "verifier_stats"))
		kt_sidecar_set(sc, "verifier_stats",
			       json_deep_copy(json_object_get(o->rec.facts, "verifier_stats")));
	if (!kt_sidecar_get(sc, "verifier_stats"))
		kt_sidecar_absent(sc, "verifier_stats", "%s",
				  !p->sched || !p->sched->binary
				      ? "no sched_ext scheduler: no BPF programs to verify"
				  : !o || !o->rec.facts
				      ? "the guest reported no facts"
				      : p->test->host_only
					    ? "host_only test: the host's BPF programs are not the "
					      "test's"
					    : "no BPF program was loaded when the guest reported");
	if (!kt_sidecar_get(sc, "kvm_stats"))
		kt_sidecar_absent(sc, "kvm_stats",
				  !o || !o->rec.accel ? "no VM was booted"
				  : !strcmp(o->rec.accel, "kvm")
				      ? "KVM statistics are not collected by this ktstr"
				      : "the VM ran under TCG, which has no KVM statistics");
}

void kt_record_build(const struct kt_plan *p, const struct kt_kernel *k,
		     const struct kt_outcome *o, enum kt_verdict v, uint64_t wall_ms,
		     struct kt_sidecar *sc)
{
	const struct ktstr_scheduler *s = p->sched;
	struct kt_sched_exit ex;
	char *why = NULL, *swhy = NULL;

	memset(sc, 0, sizeof(*sc));
	sc->test_name = kt_strdup(p->test->name);
	sc->topology = kt_strdup(p->topo_str);
	sc->scheduler = kt_strdup(p->sched_name);
	sc->passed = v == KT_VERDICT_PASS || v == KT_VERDICT_SKIP;
	sc->skipped = v == KT_VERDICT_SKIP;
	sc->inconclusive = v == KT_VERDICT_INCONCLUSIVE;
	if (o && o->have_result) {
		json_t *j = kt_assert_result_to_json(&o->result);

		sc->stats = json_incref(json_object_get(j, "stats"));
		sc->details = json_incref(json_object_get(j, "details"));
		json_decref(j);
	} else {
		kt_sidecar_absent(sc, "stats", "%s",
				  v == KT_VERDICT_SKIP ? "skipped: nothing was measured"
						       : "no test result came back");
	}
	set_work_types(sc, p, o, v);
	for (size_t i = 0; i < p->n_flags; i++)
		kt_strv_add(&sc->active_flags, p->flags[i]);
	for (size_t i = 0; s && i < KTSTR_MAX_KV && s->sysctls[i]; i++) {
		char *x = kt_asprintf("sysctl.%s", s->sysctls[i]);

		kt_strv_add(&sc->sysctls, x);
		free(x);
	}
	for (size_t i = 0; s && i < KTSTR_MAX_KV && s->kargs[i]; i++)
		kt_strv_add(&sc->kargs, s->kargs[i]);
	if (k && k->version)
		sc->kernel_version = kt_strdup(k->version);
	else
		kt_sidecar_absent(sc, "kernel_version", "%s",
				  k ? "the kernel's version is unknown (no metadata, no "
				      "kernel.release)"
				    : "no kernel was resolved for this run");
	sc->kernel_commit = kernel_commit(k, &why);
	if (!sc->kernel_commit)
		kt_sidecar_absent(sc, "kernel_commit", "%s", why);
	sc->scheduler_commit = scheduler_commit(p, k, sc->kernel_commit, why, &swhy);
	if (!sc->scheduler_commit)
		kt_sidecar_absent(sc, "scheduler_commit", "%s", swhy);
	free(why);
	free(swhy);
	if (kt_project_commit())
		sc->project_commit = kt_strdup(kt_project_commit());
	else
		kt_sidecar_absent(sc, "project_commit",
				  "the working directory is not in a git repository and "
				  "KTSTR_PROJECT_COMMIT is unset");
	sc->host = kt_host_context();
	sc->has_duration_ms = true;
	sc->duration_ms = wall_ms;
	set_cleanup(sc, p, o);
	set_exit(sc, p, o, &ex);
	if (v == KT_VERDICT_FAIL) {
		static const struct kt_outcome none = {.exit_code = -1};

		sc->failure = failure_of(o ? o : &none, &ex);
		if (o && o->rec.failure_dump)
			sc->failure_dump = kt_strdup(o->rec.failure_dump);
		else
			kt_sidecar_absent(sc, "failure_dump", "no failure dump was written for this run");
	} else if (o && o->rec.failure_dump) {
		/* an expected failure (expect_err) leaves its dump too */
		sc->failure_dump = kt_strdup(o->rec.failure_dump);
	}
	kt_sched_exit_free(&ex);
	set_slots(sc, p, o);
}

void kt_record_sidecar(const struct kt_plan *p, const struct kt_kernel *k,
		       const struct kt_outcome *o, enum kt_verdict v, uint64_t wall_ms)
{
	struct kt_sidecar sc;
	char *err = NULL, *path = NULL;

	kt_record_build(p, k, o, v, wall_ms, &sc);
	if (kt_sidecar_write_labelled(&sc, k ? k->run_label : NULL, &path, &err)) {
		kt_warn("sidecar not written: %s", err);
		free(err);
	} else {
		kt_debug("ktstr::sidecar", "wrote %s", path);
	}
	free(path);
	kt_sidecar_free(&sc);
}
