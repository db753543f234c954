// SPDX-License-Identifier: GPL-2.0
/* The host monitor: sampling and the sustained-samples judge; see monitor.h. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "monitor.h"
#include "util/util.h"

#define MAX_SAMPLES 36000 /* an hour at 100 ms */
#define NO_OFF UINT32_MAX
/* runnable_list entries walked per CPU and sample; a longer list is "unknown" */
#define MAX_RUNNABLE 2048

struct tracker {
	unsigned run, worst_run, worst_at;
	double worst_value;
	bool alerted;
};

struct kt_mon {
	struct kt_gk *gk;
	unsigned ncpu;
	struct kt_mon_limits lim;
	int64_t preempt_ns; /* (1e9/HZ) * 10 */
	int hz;
	/* layout */
	uint64_t runqueues;
	uint32_t o_nr, o_clock, o_scx_nr, o_dsq, o_flags;
	/* sched_ext event counters (6.15+), per CPU: one of three layouts */
	enum { EV_NONE, EV_PERCPU_SYM, EV_ROOT_CPU, EV_ROOT_PCPU } ev;
	uint32_t o_ev_fallback, o_ev_keep_last; /* in struct scx_event_stats */
	uint32_t o_root_ptr, o_pcpu_stats;	/* scx_sched.{event_stats_cpu|pcpu}, pcpu.event_stats */
	uint64_t ev_base;			/* EV_PERCPU_SYM: the per-CPU symbol */
	/* runnable wait: rq->scx.runnable_list of task_struct.scx.runnable_node */
	bool wait_ok;
	const char *wait_absent;
	uint32_t o_rq_runnable, o_t_node, o_t_at, o_t_pid, o_t_comm;
	/* the watchdog timeout: a symbol (6.12-7.0) or scx_root->watchdog_timeout */
	enum { WD_NONE, WD_SYM, WD_ROOT } wd;
	uint32_t o_root_wd;
	/* samples */
	struct kt_mon_sample *s;
	unsigned n, cap;
	uint64_t dropped;
	char *no_data; /* why the last sample was not valid */
	uint64_t *off;
	/* alerts */
	unsigned alert_after;
	bool alert_scx_only; /* kt_mon_alert_needs_scx */
	kt_mon_alert_fn alert_fn;
	void *alert_ctx;
	bool alerted;
	struct tracker live_imb, *live_dsq, *live_stall, *live_wait;
	int last_valid; /* index of the previous valid sample, -1 none */
	/* judgement */
	bool judged;
	enum kt_verdict verdict;
	char *line;
	char *inconclusive_why;
	unsigned violations, valid, stuck_count;
	double max_imb, sum_imb, sum_nr, sum_dsq;
	unsigned n_imb, n_cpu_readings, max_dsq;
	/* the longest runnable wait seen (valid samples) */
	int64_t max_wait_ms, max_wait_limit_ms;
	unsigned max_wait_cpu, max_wait_at;
	int32_t max_wait_pid;
	char max_wait_comm[16];
	int64_t last_wd_ms; /* the newest known watchdog timeout (ms), 0 none */
};

struct kt_mon_limits kt_mon_limits_from(const struct kt_assert *a)
{
	struct kt_mon_limits l = {
	    .max_imbalance_ratio = a->max_imbalance_ratio.set ? a->max_imbalance_ratio.v : 4.0,
	    .max_local_dsq_depth =
		a->max_local_dsq_depth.set ? (uint32_t)a->max_local_dsq_depth.v : 50,
	    .fail_on_stall = a->fail_on_stall.set ? a->fail_on_stall.v : true,
	    .sustained_samples = a->sustained_samples.set ? (unsigned)a->sustained_samples.v : 5,
	    .max_fallback_rate = a->max_fallback_rate.set ? a->max_fallback_rate.v : 200.0,
	    .max_keep_last_rate = a->max_keep_last_rate.set ? a->max_keep_last_rate.v : 100.0,
	};

	if (!l.sustained_samples)
		l.sustained_samples = 1;
	return l;
}

static int need(struct kt_gk *gk, const char *type, const char *path, uint32_t size,
		uint32_t *off, char **why)
{
	uint32_t sz;

	if (kt_gk_member(gk, type, path, off, &sz) || sz != size) {
		kt_set_err(why, "the kernel's BTF has no %u-byte struct %s.%s", size, type, path);
		return -ENOENT;
	}
	return 0;
}

/* The runnable_list layout and where the watchdog timeout lives, if anywhere. */
static void find_wait(struct kt_mon *mon)
{
	struct kt_gk *gk = mon->gk;
	uint32_t sz;

	if (kt_gk_sym(gk, "scx_watchdog_timeout"))
		mon->wd = WD_SYM;
	else if (kt_gk_sym(gk, "scx_root") &&
		 !kt_gk_member(gk, "scx_sched", "watchdog_timeout", &mon->o_root_wd, &sz) &&
		 sz == 8)
		mon->wd = WD_ROOT;
	if (!kt_gk_sym(gk, "jiffies_64")) {
		mon->wait_absent = "the kernel has no jiffies_64 symbol";
		return;
	}
	if (kt_gk_member(gk, "rq", "scx.runnable_list", &mon->o_rq_runnable, &sz) || sz != 16 ||
	    kt_gk_member(gk, "task_struct", "scx.runnable_node", &mon->o_t_node, &sz) ||
	    sz != 16 || kt_gk_member(gk, "task_struct", "scx.runnable_at", &mon->o_t_at, &sz) ||
	    sz != 8 || kt_gk_member(gk, "task_struct", "pid", &mon->o_t_pid, &sz) || sz != 4 ||
	    kt_gk_member(gk, "task_struct", "comm", &mon->o_t_comm, &sz) || sz != 16) {
		mon->wait_absent = "the kernel's BTF has no rq.scx.runnable_list / "
				   "task_struct.scx.runnable_{node,at}";
		return;
	}
	mon->wait_ok = true;
}

/* Which layout of sched_ext event counters this kernel has, if any. */
static void find_events(struct kt_mon *mon)
{
	struct kt_gk *gk = mon->gk;
	uint32_t sz;

	if (kt_gk_member(gk, "scx_event_stats", "SCX_EV_SELECT_CPU_FALLBACK", &mon->o_ev_fallback,
			 &sz) ||
	    sz != 8 ||
	    kt_gk_member(gk, "scx_event_stats", "SCX_EV_DISPATCH_KEEP_LAST",
			 &mon->o_ev_keep_last, &sz) ||
	    sz != 8)
		return;
	if (kt_gk_sym(gk, "scx_root")) {
		if (!kt_gk_member(gk, "scx_sched", "pcpu", &mon->o_root_ptr, &sz) && sz == 8 &&
		    !kt_gk_member(gk, "scx_sched_pcpu", "event_stats", &mon->o_pcpu_stats, &sz))
			mon->ev = EV_ROOT_PCPU;
		else if (!kt_gk_member(gk, "scx_sched", "event_stats_cpu", &mon->o_root_ptr,
				       &sz) &&
			 sz == 8)
			mon->ev = EV_ROOT_CPU;
	} else if ((mon->ev_base = kt_gk_sym(gk, "event_stats_cpu"))) {
		mon->ev = EV_PERCPU_SYM;
	}
}

struct kt_mon *kt_mon_new(struct kt_gk *gk, unsigned ncpu, const struct kt_mon_limits *lim,
			  char **why)
{
	struct kt_mon *mon = kt_calloc(1, sizeof(*mon));

	mon->gk = gk;
	mon->ncpu = ncpu;
	mon->lim = *lim;
	mon->last_valid = -1;
	mon->preempt_ns = 40000000;
	mon->hz = 250;
	mon->runqueues = kt_gk_sym_kva(gk, "runqueues");
	if (!ncpu || ncpu > 4096) {
		kt_set_err(why, "bad CPU count %u", ncpu);
		goto fail;
	}
	if (!mon->runqueues || !kt_gk_sym(gk, "__per_cpu_offset")) {
		kt_set_err(why, "the kernel has no runqueues/__per_cpu_offset symbol");
		goto fail;
	}
	if (need(gk, "rq", "nr_running", 4, &mon->o_nr, why) ||
	    need(gk, "rq", "clock", 8, &mon->o_clock, why) ||
	    need(gk, "rq", "scx.nr_running", 4, &mon->o_scx_nr, why) ||
	    need(gk, "rq", "scx.local_dsq.nr", 4, &mon->o_dsq, why) ||
	    need(gk, "rq", "scx.flags", 4, &mon->o_flags, why))
		goto fail;
	find_events(mon);
	find_wait(mon);
	mon->off = kt_calloc(ncpu, sizeof(*mon->off));
	mon->live_dsq = kt_calloc(ncpu, sizeof(*mon->live_dsq));
	mon->live_stall = kt_calloc(ncpu, sizeof(*mon->live_stall));
	mon->live_wait = kt_calloc(ncpu, sizeof(*mon->live_wait));
	return mon;
fail:
	free(mon);
	kt_gk_free(gk);
	return NULL;
}

void kt_mon_free(struct kt_mon *mon)
{
	if (!mon)
		return;
	for (unsigned i = 0; i < mon->n; i++)
		free(mon->s[i].cpu);
	free(mon->s);
	free(mon->off);
	free(mon->live_dsq);
	free(mon->live_stall);
	free(mon->live_wait);
	free(mon->no_data);
	free(mon->line);
	free(mon->inconclusive_why);
	kt_gk_free(mon->gk);
	free(mon);
}

struct kt_gk *kt_mon_gk(struct kt_mon *mon)
{
	return mon->gk;
}

void kt_mon_on_alert(struct kt_mon *mon, unsigned after, kt_mon_alert_fn fn, void *ctx)
{
	mon->alert_after = after ? after : 1;
	mon->alert_fn = fn;
	mon->alert_ctx = ctx;
}

void kt_mon_alert_needs_scx(struct kt_mon *mon, bool on)
{
	mon->alert_scx_only = on;
}

bool kt_mon_alerted(const struct kt_mon *mon)
{
	return mon->alerted;
}

unsigned kt_mon_n_samples(const struct kt_mon *mon)
{
	return mon->n;
}

const struct kt_mon_sample *kt_mon_sample_at(const struct kt_mon *mon, unsigned i)
{
	return i < mon->n ? &mon->s[i] : NULL;
}

/* ---- the stuck predicate and imbalance (one definition for live and judge) ---- */

void kt_mon_set_hz(struct kt_mon *mon, int hz)
{
	if (hz > 0 && hz <= 100000) {
		mon->preempt_ns = 10000000000ll / hz;
		mon->hz = hz;
	}
}

/*
 * The wait is a violation when it is over half the watchdog timeout the
 * guest runs with (unknown, or no scheduler enabled yet: none).
 */
static bool wait_over(const struct kt_mon_sample *s, const struct kt_mon_cpu *x)
{
	return s->wd_timeout_ms > 0 && x->wait_ms >= 0 && x->wait_ms * 2 > s->wd_timeout_ms;
}

static bool cpu_stuck(const struct kt_mon *mon, const struct kt_mon_cpu *prev,
		      const struct kt_mon_cpu *cur)
{
	if (!cur->rq_clock || cur->rq_clock != prev->rq_clock)
		return false;
	if (!prev->nr_running && !cur->nr_running)
		return false; /* idle in both */
	/* the host did not run the vCPU: preempted, not stuck (unknown: not preempted) */
	if (prev->vcpu_ns >= 0 && cur->vcpu_ns >= 0 && cur->vcpu_ns - prev->vcpu_ns < mon->preempt_ns)
		return false;
	return true;
}

static double imbalance(const struct kt_mon_sample *s, unsigned ncpu)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (unsigned c = 0; c < ncpu; c++) {
		if (s->cpu[c].nr_running < lo)
			lo = s->cpu[c].nr_running;
		if (s->cpu[c].nr_running > hi)
			hi = s->cpu[c].nr_running;
	}
	if (!ncpu)
		return 1.0;
	if (!hi)
		return 0.0;
	return (double)hi / (double)(lo ? lo : 1);
}

/* One step of a sustained tracker; returns the run length. */
static unsigned track(struct tracker *t, bool violated, double value, unsigned at)
{
	if (!violated) {
		t->run = 0;
		return 0;
	}
	t->run++;
	if (t->run > t->worst_run) {
		t->worst_run = t->run;
		t->worst_value = value;
		t->worst_at = at;
	}
	return t->run;
}

static void alert(struct kt_mon *mon, struct tracker *t, enum kt_mon_alert_kind kind, int cpu,
		  unsigned at, double value)
{
	struct kt_mon_alert a = {kind, cpu, t->run, at, mon->s[at].t_ms, value, .pid = -1};

	if (!mon->alert_fn || t->alerted || t->run < mon->alert_after)
		return;
	/* held back, not spent, while no sched_ext scheduler is attached */
	if (mon->alert_scx_only && mon->s[at].scx_state >= 0 &&
	    mon->s[at].scx_state != KT_MON_SCX_ENABLED)
		return;
	if (kind == KT_MON_ALERT_WAIT) {
		const struct kt_mon_cpu *x = &mon->s[at].cpu[cpu];

		a.pid = x->wait_pid;
		memcpy(a.comm, x->wait_comm, sizeof(a.comm));
		a.comm[sizeof(a.comm) - 1] = 0;
		a.limit_ms = mon->s[at].wd_timeout_ms / 2;
	}
	t->alerted = true;
	mon->alerted = true;
	mon->alert_fn(mon->alert_ctx, &a);
}

/* Live trackers for alerts: fed with each new valid sample. */
static void live(struct kt_mon *mon, unsigned at)
{
	const struct kt_mon_sample *s = &mon->s[at], *p;
	double imb = imbalance(s, mon->ncpu);

	track(&mon->live_imb, imb > mon->lim.max_imbalance_ratio, imb, at);
	alert(mon, &mon->live_imb, KT_MON_ALERT_IMBALANCE, -1, at, imb);
	for (unsigned c = 0; c < mon->ncpu; c++) {
		uint32_t d = s->cpu[c].local_dsq_depth;

		track(&mon->live_dsq[c], d > mon->lim.max_local_dsq_depth, d, at);
		alert(mon, &mon->live_dsq[c], KT_MON_ALERT_DSQ, (int)c, at, d);
		/* an unknown wait neither extends nor breaks a run */
		if (s->cpu[c].wait_ms < 0)
			continue;
		track(&mon->live_wait[c], wait_over(s, &s->cpu[c]), (double)s->cpu[c].wait_ms, at);
		alert(mon, &mon->live_wait[c], KT_MON_ALERT_WAIT, (int)c, at,
		      (double)s->cpu[c].wait_ms);
	}
	if (mon->last_valid < 0 || (unsigned)mon->last_valid != at - 1)
		return;
	p = &mon->s[at - 1];
	for (unsigned c = 0; c < mon->ncpu; c++) {
		track(&mon->live_stall[c], cpu_stuck(mon, &p->cpu[c], &s->cpu[c]),
		      (double)s->cpu[c].rq_clock, at);
		alert(mon, &mon->live_stall[c], KT_MON_ALERT_STALL, (int)c, at,
		      (double)s->cpu[c].rq_clock);
	}
}

void kt_mon_add(struct kt_mon *mon, const struct kt_mon_sample *s)
{
	struct kt_mon_sample *d;

	if (mon->n >= MAX_SAMPLES) {
		mon->dropped++;
		return;
	}
	if (mon->n == mon->cap) {
		mon->cap = mon->cap ? mon->cap * 2 : 256;
		mon->s = kt_realloc(mon->s, mon->cap * sizeof(*mon->s));
	}
	d = &mon->s[mon->n];
	*d = *s;
	d->cpu = kt_malloc(mon->ncpu * sizeof(*d->cpu));
	memcpy(d->cpu, s->cpu, mon->ncpu * sizeof(*d->cpu));
	mon->n++;
	if (d->valid) {
		live(mon, mon->n - 1);
		mon->last_valid = (int)mon->n - 1;
	}
}

/* ---- reading a sample ----------------------------------------------------------- */

static void no_data(struct kt_mon *mon, char *why)
{
	free(mon->no_data);
	mon->no_data = why;
}

static int rd32(struct kt_mon *mon, const struct kt_gk_mem *m, uint64_t kva, uint32_t *v)
{
	return kt_gk_read(mon->gk, m, kva, v, 4);
}

static void read_events(struct kt_mon *mon, const struct kt_gk_mem *m, struct kt_mon_sample *s)
{
	uint64_t base = 0;
	int64_t fb = 0, kl = 0;

	if (mon->ev == EV_NONE)
		return;
	if (mon->ev == EV_PERCPU_SYM) {
		base = kt_gk_sym_kva(mon->gk, "event_stats_cpu");
	} else {
		uint64_t root = 0;

		/* scx_root: NULL while no scheduler is attached */
		if (kt_gk_read_sym(mon->gk, m, "scx_root", &root, 8) || !root ||
		    kt_gk_read_u64(mon->gk, m, root + mon->o_root_ptr, &base) || !base)
			return;
		if (mon->ev == EV_ROOT_PCPU)
			base += mon->o_pcpu_stats;
	}
	for (unsigned c = 0; c < mon->ncpu; c++) {
		int64_t a, b;

		if (kt_gk_read(mon->gk, m, base + mon->off[c] + mon->o_ev_fallback, &a, 8) ||
		    kt_gk_read(mon->gk, m, base + mon->off[c] + mon->o_ev_keep_last, &b, 8))
			return;
		fb += a;
		kl += b;
	}
	s->have_events = true;
	s->ev_fallback = fb;
	s->ev_keep_last = kl;
}

/* The guest's sched_ext watchdog timeout in jiffies (0: no scheduler enabled yet). */
static int read_wd(struct kt_mon *mon, const struct kt_gk_mem *m, uint64_t *j)
{
	uint64_t root = 0;

	*j = 0;
	if (mon->wd == WD_SYM)
		return kt_gk_read_sym(mon->gk, m, "scx_watchdog_timeout", j, 8);
	if (mon->wd != WD_ROOT)
		return -ENOENT;
	if (kt_gk_read_sym(mon->gk, m, "scx_root", &root, 8))
		return -EFAULT;
	return root ? kt_gk_read_u64(mon->gk, m, root + mon->o_root_wd, j) : 0;
}

/*
 * The longest wait on CPU c's rq->scx.runnable_list at jiffies `now`,
 * with its task. The list changes under us: a node that points to itself
 * (just removed), a pointer that does not translate, a list longer than
 * MAX_RUNNABLE or a runnable_at more than a second in the future or over
 * a day old is a torn or garbage read: the wait is unknown (-1).
 */
static void read_wait(struct kt_mon *mon, const struct kt_gk_mem *m, uint64_t rq, uint64_t now,
		      struct kt_mon_cpu *x)
{
	uint64_t head = rq + mon->o_rq_runnable, node, next, at, best_task = 0;
	int64_t best = -1, hz = mon->hz;
	unsigned n = 0;

	x->wait_ms = -1;
	x->wait_pid = -1;
	if (kt_gk_read_u64(mon->gk, m, head, &node))
		return;
	while (node != head) {
		int64_t d;

		if (++n > MAX_RUNNABLE || !node || node % 8 || node < mon->o_t_node ||
		    kt_gk_read_u64(mon->gk, m, node - mon->o_t_node + mon->o_t_at, &at) ||
		    kt_gk_read_u64(mon->gk, m, node, &next) || next == node)
			return;
		d = (int64_t)(now - at);
		if (d < -hz || d > 86400 * hz)
			return;
		if (d > best) {
			best = d;
			best_task = node - mon->o_t_node;
		}
		node = next;
	}
	if (best_task) {
		if (kt_gk_read(mon->gk, m, best_task + mon->o_t_pid, &x->wait_pid, 4) ||
		    kt_gk_read(mon->gk, m, best_task + mon->o_t_comm, x->wait_comm,
			       sizeof(x->wait_comm))) {
			x->wait_pid = -1;
			return;
		}
		x->wait_comm[sizeof(x->wait_comm) - 1] = 0;
		for (char *p = x->wait_comm; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	x->wait_ms = best > 0 ? best * 1000 / hz : 0;
}

void kt_mon_tick(struct kt_mon *mon, const struct kt_gk_mem *m, uint64_t t_ms,
		 const int64_t *vcpu_ns)
{
	struct kt_mon_sample s = {.t_ms = t_ms, .scx_state = -1, .scx_exit_kind = -1,
				  .wd_timeout_ms = -1};
	struct kt_mon_cpu *cpu = kt_calloc(mon->ncpu, sizeof(*cpu));
	uint64_t jiffies = 0, wd;
	bool have_jiffies;
	char *why = NULL;
	int r;

	s.cpu = cpu;
	for (unsigned c = 0; c < mon->ncpu; c++) {
		cpu[c].vcpu_ns = vcpu_ns ? vcpu_ns[c] : -1;
		cpu[c].wait_ms = -1;
		cpu[c].wait_pid = -1;
	}
	if (!kt_gk_attached(mon->gk) && kt_gk_attach(mon->gk, m, &why)) {
		no_data(mon, why);
		goto out;
	}
	if (kt_gk_refresh(mon->gk, m)) {
		no_data(mon, kt_strdup("page_offset_base not valid yet"));
		goto out;
	}
	r = kt_gk_percpu_offsets(mon->gk, m, mon->ncpu, mon->off);
	if (r) {
		no_data(mon, kt_strdup(r == -EAGAIN ? "per-CPU areas not set up yet"
						    : "__per_cpu_offset not readable"));
		goto out;
	}
	have_jiffies = mon->wait_ok && !kt_gk_read_sym(mon->gk, m, "jiffies_64", &jiffies, 8);
	if (!read_wd(mon, m, &wd))
		s.wd_timeout_ms = wd > 86400ull * (uint64_t)mon->hz ? -1
								     : (int64_t)(wd * 1000 / mon->hz);
	for (unsigned c = 0; c < mon->ncpu; c++) {
		uint64_t rq = mon->runqueues + mon->off[c];

		if (rd32(mon, m, rq + mon->o_nr, &cpu[c].nr_running) ||
		    kt_gk_read_u64(mon->gk, m, rq + mon->o_clock, &cpu[c].rq_clock) ||
		    rd32(mon, m, rq + mon->o_scx_nr, &cpu[c].scx_nr_running) ||
		    rd32(mon, m, rq + mon->o_dsq, &cpu[c].local_dsq_depth) ||
		    rd32(mon, m, rq + mon->o_flags, &cpu[c].scx_flags)) {
			no_data(mon, kt_asprintf("cpu%u's runqueue at 0x%llx is not readable", c,
						 (unsigned long long)rq));
			goto out;
		}
		if (have_jiffies)
			read_wait(mon, m, rq, jiffies, &cpu[c]);
	}
	s.valid = true;
	{
		int32_t v;

		if (!kt_gk_read_sym(mon->gk, m, "scx_ops_enable_state_var", &v, 4))
			s.scx_state = v;
		if (!kt_gk_read_sym(mon->gk, m, "scx_exit_kind", &v, 4))
			s.scx_exit_kind = v;
	}
	read_events(mon, m, &s);
out:
	kt_mon_add(mon, &s);
	free(cpu);
}

/* ---- the judge --------------------------------------------------------------------- */

static void violation(struct kt_mon *mon, struct kt_assert_result *r, char *msg)
{
	mon->violations++;
	if (r)
		kt_assert_result_add_failure(r, KT_DETAIL_MONITOR, "%s", msg);
	free(msg);
}

static enum kt_verdict inconclusive(struct kt_mon *mon, struct kt_assert_result *r, char *why)
{
	mon->inconclusive_why = why;
	mon->verdict = KT_VERDICT_INCONCLUSIVE;
	mon->line = kt_asprintf("monitor inconclusive: %s", why);
	if (r)
		kt_assert_result_add_inconclusive(r, KT_DETAIL_MONITOR, "%s", mon->line);
	return mon->verdict;
}

/* Validity gate: no valid sample, an impossible DSQ depth, clocks that never moved. */
static char *gate(struct kt_mon *mon)
{
	bool moved = false;
	uint64_t first = 0;
	unsigned readings = 0;

	if (!mon->n)
		return kt_strdup("no monitor samples");
	for (unsigned i = 0; i < mon->n; i++) {
		const struct kt_mon_sample *s = &mon->s[i];

		if (!s->valid)
			continue;
		mon->valid++;
		for (unsigned c = 0; c < mon->ncpu; c++) {
			if (s->cpu[c].local_dsq_depth > KT_MON_DSQ_CEILING)
				return kt_asprintf("monitor data not yet initialized (local DSQ "
						   "depth %u on cpu%u at sample %u)",
						   s->cpu[c].local_dsq_depth, c, i);
			if (!readings++)
				first = s->cpu[c].rq_clock;
			else if (s->cpu[c].rq_clock != first)
				moved = true;
		}
	}
	if (!mon->valid)
		return kt_asprintf("no usable monitor data in %u samples: %s", mon->n,
				   mon->no_data ? mon->no_data : "unknown");
	if (readings > 1 && !moved)
		return kt_strdup("monitor data not yet initialized (rq clocks never moved)");
	return NULL;
}

static void rate_check(struct kt_mon *mon, struct kt_assert_result *r, bool keep_last)
{
	struct tracker t = {0};
	double lim = keep_last ? mon->lim.max_keep_last_rate : mon->lim.max_fallback_rate;
	const struct kt_mon_sample *p = NULL;

	for (unsigned i = 0; i < mon->n; i++) {
		const struct kt_mon_sample *s = &mon->s[i];
		double dt, rate;

		if (!s->valid)
			continue;
		if (!p || !p->have_events || !s->have_events || s->t_ms <= p->t_ms) {
			track(&t, false, 0, i); /* missing counters or Δt <= 0: no violation */
			p = s;
			continue;
		}
		dt = (double)(s->t_ms - p->t_ms) / 1000.0;
		rate = (double)((keep_last ? s->ev_keep_last - p->ev_keep_last
					   : s->ev_fallback - p->ev_fallback)) /
		       dt;
		track(&t, rate > lim, rate, i);
		p = s;
	}
	if (t.worst_run >= mon->lim.sustained_samples)
		violation(mon, r,
			  kt_asprintf("%s rate %.1f/s exceeded threshold %.1f/s for %u consecutive "
				      "intervals (ending at sample %u)",
				      keep_last ? "keep_last" : "fallback", t.worst_value, lim,
				      t.worst_run, t.worst_at));
}

/* The longest wait of a valid sample, for the summary. */
static void note_wait(struct kt_mon *mon, unsigned i)
{
	const struct kt_mon_sample *s = &mon->s[i];

	if (s->wd_timeout_ms > 0)
		mon->last_wd_ms = s->wd_timeout_ms;
	for (unsigned c = 0; c < mon->ncpu; c++) {
		const struct kt_mon_cpu *x = &s->cpu[c];

		if (x->wait_ms <= mon->max_wait_ms)
			continue;
		mon->max_wait_ms = x->wait_ms;
		mon->max_wait_limit_ms = s->wd_timeout_ms > 0 ? s->wd_timeout_ms / 2 : 0;
		mon->max_wait_cpu = c;
		mon->max_wait_at = i;
		mon->max_wait_pid = x->wait_pid;
		memcpy(mon->max_wait_comm, x->wait_comm, sizeof(mon->max_wait_comm));
		mon->max_wait_comm[sizeof(mon->max_wait_comm) - 1] = 0;
	}
}

enum kt_verdict kt_mon_judge(struct kt_mon *mon, struct kt_assert_result *r)
{
	struct tracker imb = {0}, *dsq, *stall, *wait;
	/* per CPU: the task and limit of the worst wait run */
	struct {
		int32_t pid;
		char comm[16];
		int64_t limit;
	} *who;
	unsigned ss = mon->lim.sustained_samples;
	int prev = -1;
	char *why;

	if (mon->judged) {
		/* once: details were handed out already */
		return mon->verdict;
	}
	mon->judged = true;
	why = gate(mon);
	if (why)
		return inconclusive(mon, r, why);
	dsq = kt_calloc(mon->ncpu, sizeof(*dsq));
	stall = kt_calloc(mon->ncpu, sizeof(*stall));
	wait = kt_calloc(mon->ncpu, sizeof(*wait));
	who = kt_calloc(mon->ncpu, sizeof(*who));
	mon->max_imb = 1.0;
	for (unsigned i = 0; i < mon->n; i++) {
		const struct kt_mon_sample *s = &mon->s[i];
		double v;

		if (!s->valid) {
			/* a gap in the data breaks a run */
			track(&imb, false, 0, i);
			for (unsigned c = 0; c < mon->ncpu; c++) {
				track(&dsq[c], false, 0, i);
				track(&stall[c], false, 0, i);
				track(&wait[c], false, 0, i);
			}
			prev = -1;
			continue;
		}
		note_wait(mon, i);
		v = imbalance(s, mon->ncpu);
		track(&imb, v > mon->lim.max_imbalance_ratio, v, i);
		if (v > mon->max_imb)
			mon->max_imb = v;
		mon->sum_imb += v;
		mon->n_imb++;
		for (unsigned c = 0; c < mon->ncpu; c++) {
			const struct kt_mon_cpu *x = &s->cpu[c];

			track(&dsq[c], x->local_dsq_depth > mon->lim.max_local_dsq_depth,
			      x->local_dsq_depth, i);
			if (x->local_dsq_depth > mon->max_dsq)
				mon->max_dsq = x->local_dsq_depth;
			mon->sum_nr += x->nr_running;
			mon->sum_dsq += x->local_dsq_depth;
			mon->n_cpu_readings++;
			if (prev >= 0) {
				bool st = cpu_stuck(mon, &mon->s[prev].cpu[c], x);

				mon->stuck_count += st;
				track(&stall[c], st, (double)x->rq_clock, i);
			}
			/* an unknown wait neither extends nor breaks a run */
			if (x->wait_ms >= 0) {
				unsigned worst = wait[c].worst_run;

				track(&wait[c], wait_over(s, x), (double)x->wait_ms, i);
				if (wait[c].worst_run > worst) {
					who[c].pid = x->wait_pid;
					memcpy(who[c].comm, x->wait_comm, sizeof(who[c].comm));
					who[c].comm[sizeof(who[c].comm) - 1] = 0;
					who[c].limit = s->wd_timeout_ms / 2;
				}
			}
		}
		prev = (int)i;
	}
	if (imb.worst_run >= ss)
		violation(mon, r,
			  kt_asprintf("imbalance ratio %.1f exceeded threshold %.1f for %u "
				      "consecutive samples (ending at sample %u)",
				      imb.worst_value, mon->lim.max_imbalance_ratio, imb.worst_run,
				      imb.worst_at));
	for (unsigned c = 0; c < mon->ncpu; c++) {
		if (dsq[c].worst_run >= ss)
			violation(mon, r,
				  kt_asprintf("local DSQ depth %.0f on cpu%u exceeded threshold %u "
					      "for %u consecutive samples (ending at sample %u)",
					      dsq[c].worst_value, c, mon->lim.max_local_dsq_depth,
					      dsq[c].worst_run, dsq[c].worst_at));
		if (mon->lim.fail_on_stall && stall[c].worst_run >= ss)
			violation(mon, r,
				  kt_asprintf("rq_clock stall on cpu%u for %u consecutive samples "
					      "(ending at sample %u, clock=%.0f)",
					      c, stall[c].worst_run, stall[c].worst_at,
					      stall[c].worst_value));
		if (mon->lim.fail_on_stall && wait[c].worst_run >= ss)
			violation(mon, r,
				  kt_asprintf("runnable task %s[%d] on cpu%u waited %.0f ms without "
					      "running, over %lld ms (half the sched_ext watchdog "
					      "timeout), for %u consecutive samples (ending at "
					      "sample %u)",
					      who[c].comm, (int)who[c].pid, c, wait[c].worst_value,
					      (long long)who[c].limit, wait[c].worst_run,
					      wait[c].worst_at));
	}
	rate_check(mon, r, false);
	rate_check(mon, r, true);
	free(dsq);
	free(stall);
	free(wait);
	free(who);
	mon->verdict = mon->violations ? KT_VERDICT_FAIL : KT_VERDICT_PASS;
	mon->line = mon->violations ? kt_asprintf("monitor FAILED: %u violation(s)", mon->violations)
				    : kt_strdup("monitor OK");
	return mon->verdict;
}

const char *kt_mon_verdict_line(const struct kt_mon *mon)
{
	return mon->line ? mon->line : "monitor not judged";
}

/* ---- output ------------------------------------------------------------------------ */

/* Event counter deltas (last - first valid sample that has them, clamped at 0). */
static bool event_deltas(const struct kt_mon *mon, int64_t *fb, int64_t *kl, double *secs)
{
	const struct kt_mon_sample *a = NULL, *b = NULL;

	for (unsigned i = 0; i < mon->n; i++) {
		if (!mon->s[i].valid || !mon->s[i].have_events)
			continue;
		if (!a)
			a = &mon->s[i];
		b = &mon->s[i];
	}
	if (!a || a == b)
		return false;
	*fb = b->ev_fallback > a->ev_fallback ? b->ev_fallback - a->ev_fallback : 0;
	*kl = b->ev_keep_last > a->ev_keep_last ? b->ev_keep_last - a->ev_keep_last : 0;
	*secs = (double)(b->t_ms - a->t_ms) / 1000.0;
	return true;
}

static const char *events_absent(const struct kt_mon *mon)
{
	return mon->ev == EV_NONE ? "this kernel has no sched_ext event counters"
				  : "no scheduler was attached while sampling";
}

json_t *kt_mon_to_json(const struct kt_mon *mon)
{
	json_t *o = json_object(), *sum = json_object(), *lim = json_object();
	json_t *samples = json_array();
	int64_t fb, kl;
	double secs;

	json_object_set_new(o, "verdict",
			    json_string(kt_verdict_name(mon->judged ? mon->verdict
								    : KT_VERDICT_INCONCLUSIVE)));
	json_object_set_new(o, "verdict_line", json_string(kt_mon_verdict_line(mon)));
	json_object_set_new(o, "num_cpus", json_integer(mon->ncpu));
	json_object_set_new(o, "kaslr_phys_slide", json_integer(kt_gk_phys_slide(mon->gk)));
	json_object_set_new(o, "kaslr_virt_slide", json_integer(kt_gk_virt_slide(mon->gk)));
	json_object_set_new(o, "page_offset",
			    json_sprintf("0x%llx", (unsigned long long)kt_gk_page_offset(mon->gk)));
	json_object_set_new(lim, "max_imbalance_ratio", json_real(mon->lim.max_imbalance_ratio));
	json_object_set_new(lim, "max_local_dsq_depth", json_integer(mon->lim.max_local_dsq_depth));
	json_object_set_new(lim, "fail_on_stall", json_boolean(mon->lim.fail_on_stall));
	json_object_set_new(lim, "sustained_samples", json_integer(mon->lim.sustained_samples));
	json_object_set_new(lim, "max_fallback_rate", json_real(mon->lim.max_fallback_rate));
	json_object_set_new(lim, "max_keep_last_rate", json_real(mon->lim.max_keep_last_rate));
	json_object_set_new(o, "limits", lim);
	json_object_set_new(sum, "total_samples", json_integer(mon->n));
	json_object_set_new(sum, "valid_samples", json_integer(mon->valid));
	json_object_set_new(sum, "dropped_samples", json_integer((json_int_t)mon->dropped));
	json_object_set_new(sum, "max_imbalance_ratio", json_real(mon->n_imb ? mon->max_imb : 1.0));
	json_object_set_new(sum, "avg_imbalance_ratio",
			    json_real(mon->n_imb ? mon->sum_imb / mon->n_imb : 0.0));
	json_object_set_new(sum, "max_local_dsq_depth", json_integer(mon->max_dsq));
	json_object_set_new(sum, "avg_nr_running",
			    json_real(mon->n_cpu_readings ? mon->sum_nr / mon->n_cpu_readings : 0));
	json_object_set_new(
	    sum, "avg_local_dsq_depth",
	    json_real(mon->n_cpu_readings ? mon->sum_dsq / mon->n_cpu_readings : 0));
	json_object_set_new(sum, "stuck_count", json_integer(mon->stuck_count));
	if (mon->max_wait_ms > 0)
		json_object_set_new(
		    sum, "max_runnable_wait",
		    json_pack("{s:I,s:i,s:i,s:s,s:I,s:I,s:i}", "wait_ms",
			      (json_int_t)mon->max_wait_ms, "cpu", (int)mon->max_wait_cpu, "pid",
			      (int)mon->max_wait_pid, "comm", mon->max_wait_comm, "t_ms",
			      (json_int_t)mon->s[mon->max_wait_at].t_ms, "limit_ms",
			      (json_int_t)mon->max_wait_limit_ms, "sample", (int)mon->max_wait_at));
	else
		json_object_set_new(sum, "max_runnable_wait", json_null());
	if (!mon->wait_ok)
		json_object_set_new(sum, "runnable_wait_absent", json_string(mon->wait_absent));
	json_object_set_new(sum, "watchdog_timeout_ms",
			    mon->last_wd_ms > 0 ? json_integer(mon->last_wd_ms) : json_null());
	if (event_deltas(mon, &fb, &kl, &secs)) {
		json_object_set_new(sum, "event_deltas",
				    json_pack("{s:I,s:I,s:f,s:f}", "select_cpu_fallback",
					      (json_int_t)fb, "dispatch_keep_last", (json_int_t)kl,
					      "fallback_rate", secs > 0 ? fb / secs : 0.0,
					      "keep_last_rate", secs > 0 ? kl / secs : 0.0));
	} else {
		json_object_set_new(sum, "event_deltas", json_null());
		json_object_set_new(sum, "event_deltas_absent", json_string(events_absent(mon)));
	}
	json_object_set_new(o, "summary", sum);
	if (mon->inconclusive_why)
		json_object_set_new(o, "inconclusive_reason", json_string(mon->inconclusive_why));
	json_object_set_new(o, "cpu_fields",
			    json_pack("[s,s,s,s,s,s]", "nr_running", "scx_nr_running",
				      "local_dsq_depth", "rq_clock", "scx_flags", "runnable_wait_ms"));
	for (unsigned i = 0; i < mon->n; i++) {
		const struct kt_mon_sample *s = &mon->s[i];
		json_t *js = json_object(), *cpus;

		json_object_set_new(js, "t_ms", json_integer((json_int_t)s->t_ms));
		json_object_set_new(js, "valid", json_boolean(s->valid));
		if (s->valid) {
			cpus = json_array();
			for (unsigned c = 0; c < mon->ncpu; c++)
				json_array_append_new(
				    cpus, json_pack("[i,i,i,I,i,o]", (int)s->cpu[c].nr_running,
						    (int)s->cpu[c].scx_nr_running,
						    (int)s->cpu[c].local_dsq_depth,
						    (json_int_t)s->cpu[c].rq_clock,
						    (int)s->cpu[c].scx_flags,
						    s->cpu[c].wait_ms >= 0
							? json_integer(s->cpu[c].wait_ms)
							: json_null()));
			json_object_set_new(js, "cpus", cpus);
			if (s->wd_timeout_ms >= 0)
				json_object_set_new(js, "watchdog_timeout_ms",
						    json_integer(s->wd_timeout_ms));
			if (s->scx_state >= 0)
				json_object_set_new(js, "scx_state", json_integer(s->scx_state));
			if (s->scx_exit_kind >= 0)
				json_object_set_new(js, "scx_exit_kind",
						    json_integer(s->scx_exit_kind));
			if (s->have_events) {
				json_object_set_new(js, "ev_select_cpu_fallback",
						    json_integer(s->ev_fallback));
				json_object_set_new(js, "ev_dispatch_keep_last",
						    json_integer(s->ev_keep_last));
			}
		}
		json_array_append_new(samples, js);
	}
	json_object_set_new(o, "samples", samples);
	return o;
}

char *kt_mon_report(const struct kt_mon *mon)
{
	struct sbuf sb = SBUF_INIT;
	int64_t fb, kl;
	double secs;

	sb_adds(&sb, "--- monitor ---\n");
	sb_addf(&sb, "samples=%u valid=%u max_imbalance=%.2f max_dsq_depth=%u stuck=%u\n", mon->n,
		mon->valid, mon->n_imb ? mon->max_imb : 1.0, mon->max_dsq, mon->stuck_count);
	if (mon->n_cpu_readings)
		sb_addf(&sb, "avg: imbalance=%.2f nr_running/cpu=%.1f dsq/cpu=%.1f\n",
			mon->n_imb ? mon->sum_imb / mon->n_imb : 0.0,
			mon->sum_nr / mon->n_cpu_readings, mon->sum_dsq / mon->n_cpu_readings);
	if (event_deltas(mon, &fb, &kl, &secs))
		sb_addf(&sb, "events: fallback=%lld (%.1f/s) keep_last=%lld (%.1f/s)\n",
			(long long)fb, secs > 0 ? fb / secs : 0.0, (long long)kl,
			secs > 0 ? kl / secs : 0.0);
	else
		sb_addf(&sb, "events: none (%s)\n", events_absent(mon));
	if (!mon->wait_ok)
		sb_addf(&sb, "runnable wait: none (%s)\n", mon->wait_absent);
	else if (mon->max_wait_ms > 0)
		sb_addf(&sb, "runnable wait: max %lld ms (cpu%u %s[%d] at sample %u)\n",
			(long long)mon->max_wait_ms, mon->max_wait_cpu, mon->max_wait_comm,
			(int)mon->max_wait_pid, mon->max_wait_at);
	if (mon->last_wd_ms > 0)
		sb_addf(&sb, "sched_ext watchdog timeout: %lld ms (runnable wait limit %lld ms)\n",
			(long long)mon->last_wd_ms, (long long)mon->last_wd_ms / 2);
	sb_addf(&sb, "verdict: %s\n", kt_mon_verdict_line(mon));
	return sb_steal(&sb);
}
