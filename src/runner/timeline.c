// SPDX-License-Identifier: GPL-2.0
/* The run's timeline: events and monitor samples on one time axis. See timeline.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ktstr/scenario.h>

#include "runner/timeline.h"

void kt_timeline_init(struct kt_timeline *tl)
{
	memset(tl, 0, sizeof(*tl));
	tl->pending_exit = -1;
}

void kt_timeline_free(struct kt_timeline *tl)
{
	for (size_t i = 0; i < tl->n_ev; i++)
		free(tl->ev[i].text);
	free(tl->ev);
	free(tl->smp);
	kt_timeline_init(tl);
}

bool kt_timeline_empty(const struct kt_timeline *tl)
{
	return !tl->n_ev && !tl->n_smp;
}

static char *cut_text(const char *s)
{
	size_t n = strnlen(s, KT_TL_TEXT_MAX);
	char *r = kt_malloc(n + 1);

	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

/* A new event, or NULL when the cap is reached. */
static struct kt_tl_event *add(struct kt_timeline *tl, enum kt_tl_kind kind, const char *text)
{
	struct kt_tl_event *e;

	if (tl->n_ev >= KT_TL_MAX_EVENTS) {
		tl->dropped++;
		return NULL;
	}
	if (tl->n_ev == tl->cap_ev) {
		tl->cap_ev = tl->cap_ev ? tl->cap_ev * 2 : 32;
		tl->ev = kt_realloc(tl->ev, tl->cap_ev * sizeof(*tl->ev));
	}
	e = &tl->ev[tl->n_ev++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->text = text ? cut_text(text) : NULL;
	return e;
}

static void note_host_time(struct kt_timeline *tl, uint64_t host_ns)
{
	if (!tl->host_first_ns || host_ns < tl->host_first_ns)
		tl->host_first_ns = host_ns;
}

void kt_timeline_scenario_start(struct kt_timeline *tl, uint64_t host_ns, const void *data,
				uint32_t len)
{
	struct kt_tl_event *e;

	if (tl->started)
		return; /* one scenario per run; a second start is ignored */
	tl->started = true;
	tl->host_start_ns = host_ns;
	note_host_time(tl, host_ns);
	if (len == sizeof(uint64_t)) {
		memcpy(&tl->guest_start_ns, data, sizeof(uint64_t));
		tl->have_guest_start = true;
	}
	e = add(tl, KT_TL_SCENARIO_START, NULL);
	if (e)
		e->placed = true;
}

void kt_timeline_stimulus(struct kt_timeline *tl, const struct kt_msg_stimulus *s)
{
	struct kt_tl_event *e = add(tl, KT_TL_STEP, NULL);

	if (!e)
		return;
	e->stim = *s;
	e->ms = s->elapsed_ms;
	e->placed = true;
}

void kt_timeline_scenario_end(struct kt_timeline *tl, const void *data, uint32_t len)
{
	struct kt_tl_event *e = add(tl, KT_TL_SCENARIO_END, NULL);
	uint32_t ms;

	if (!e || len != sizeof(ms))
		return;
	memcpy(&ms, data, sizeof(ms));
	e->ms = ms;
	e->placed = true;
}

static void host_event(struct kt_timeline *tl, enum kt_tl_kind kind, uint64_t host_ns,
		       const char *text)
{
	struct kt_tl_event *e = add(tl, kind, text);

	note_host_time(tl, host_ns);
	if (!e)
		return;
	e->host_clock = true;
	e->host_ns = host_ns;
	e->placed = true;
}

void kt_timeline_host_event(struct kt_timeline *tl, uint64_t host_ns, const char *text)
{
	host_event(tl, KT_TL_HOST, host_ns, text);
}

void kt_timeline_wait_began(struct kt_timeline *tl, uint64_t host_ns, const char *text)
{
	host_event(tl, KT_TL_WAIT_BEGIN, host_ns, text);
}

void kt_timeline_sample(struct kt_timeline *tl, const struct kt_tl_sample *s)
{
	note_host_time(tl, s->host_ns);
	if (tl->n_smp >= KT_TL_MAX_SAMPLES)
		return;
	if (tl->n_smp == tl->cap_smp) {
		tl->cap_smp = tl->cap_smp ? tl->cap_smp * 2 : 64;
		tl->smp = kt_realloc(tl->smp, tl->cap_smp * sizeof(*tl->smp));
	}
	tl->smp[tl->n_smp++] = *s;
}

/* ---- sched_ext_dump lines ---------------------------------------------------- */

void kt_dump_cpu_tag(const char *line, size_t len, char tag[8])
{
	const char *m = memmem(line, len, "sched_ext_dump:", strlen("sched_ext_dump:"));
	const char *end = m ? m : line + len;

	tag[0] = 0;
	for (const char *p = line; p < end; p++) {
		const char *q = p + 1;

		if (*p != '[')
			continue;
		while (q < end && isdigit((unsigned char)*q) && q - p <= 5)
			q++;
		if (q < end && *q == ']' && q > p + 1 && q - p - 1 <= 5) {
			memcpy(tag, p + 1, (size_t)(q - p - 1));
			tag[q - p - 1] = 0;
		}
	}
}

/*
 * Split a trace line "  comm-pid   [001] d.h..   3.983109: sched_ext_dump: text":
 * *secs the timestamp, cpu the bracketed tag ("" when absent), *text what
 * follows "sched_ext_dump:". false when the line is not one.
 */
static bool parse_dump_line(const char *line, double *secs, bool *have_secs, char cpu[8],
			    const char **text)
{
	const char *m = strstr(line, "sched_ext_dump:"), *colon;

	if (!m)
		return false;
	*text = m + strlen("sched_ext_dump:");
	if (**text == ' ')
		(*text)++;
	*have_secs = false;
	kt_dump_cpu_tag(line, strlen(line), cpu);
	/* the timestamp: "secs.frac:" right before the marker */
	colon = m;
	while (colon > line && colon[-1] == ' ')
		colon--;
	if (colon > line && colon[-1] == ':') {
		const char *end = colon - 1, *start = end;
		char buf[32];

		while (start > line && (isdigit((unsigned char)start[-1]) || start[-1] == '.'))
			start--;
		if (end > start && (size_t)(end - start) < sizeof(buf)) {
			memcpy(buf, start, (size_t)(end - start));
			buf[end - start] = 0;
			if (strchr(buf, '.') && sscanf(buf, "%lf", secs) == 1)
				*have_secs = true;
		}
	}
	return true;
}

/* "... failed to run for 2.522s)" -> 2522 ms, or -1. */
static int64_t failed_to_run_ms(const char *text)
{
	const char *p = strstr(text, "failed to run for ");
	unsigned s, ms;

	if (!p || sscanf(p + strlen("failed to run for "), "%9u.%3us", &s, &ms) != 2)
		return -1;
	return (int64_t)s * 1000 + ms;
}

static void trim_copy(char *dst, size_t cap, const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strnlen(s, cap - 1);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	memcpy(dst, s, n);
	dst[n] = 0;
}

void kt_timeline_dump_line(struct kt_timeline *tl, const char *line)
{
	char cpu[8], body[KT_TL_TEXT_MAX + 1];
	const char *text;
	double secs = 0;
	bool have_secs;
	int64_t ms = 0;
	struct kt_tl_event *e;

	if (!parse_dump_line(line, &secs, &have_secs, cpu, &text))
		return;
	trim_copy(body, sizeof(body), text);
	if (have_secs && tl->have_guest_start)
		ms = (int64_t)(secs * 1000.0 + 0.5) - (int64_t)(tl->guest_start_ns / 1000000ull);
	if (strstr(body, "triggered exit kind")) {
		e = add(tl, KT_TL_SCHED_EXIT, body);
		if (!e)
			return;
		e->ms = ms;
		e->placed = have_secs && tl->have_guest_start;
		tl->pending_exit = (int)(e - tl->ev);
		memcpy(tl->pending_cpu, cpu, sizeof(tl->pending_cpu));
		return;
	}
	if (kt_startswith(body, "Debug dump triggered by")) {
		e = add(tl, KT_TL_DEBUG_DUMP, body);
		if (e) {
			e->ms = ms;
			e->placed = have_secs && tl->have_guest_start;
		}
		return;
	}
	if (tl->pending_exit >= 0 && (size_t)tl->pending_exit < tl->n_ev && body[0] &&
	    !strcmp(cpu, tl->pending_cpu)) {
		/* the reason line: "runnable task stall (init[41] failed to run for 2.522s)" */
		struct kt_tl_event *x = &tl->ev[tl->pending_exit];
		int64_t stall = failed_to_run_ms(body);

		tl->pending_exit = -1;
		free(x->text);
		x->text = cut_text(body);
		if (stall >= 0) {
			bool placed = x->placed;
			int64_t at = x->ms - stall;
			char *t = kt_asprintf("stall began: a task runnable %" PRId64 ".%03" PRId64
					      " s before the exit never ran",
					      stall / 1000, stall % 1000);

			e = add(tl, KT_TL_STALL_BEGIN, t);
			free(t);
			if (e) {
				e->ms = at;
				e->placed = placed;
			}
		}
	}
}

/* ---- time axis ------------------------------------------------------------------ */

static uint64_t host_anchor(const struct kt_timeline *tl)
{
	return tl->started ? tl->host_start_ns : tl->host_first_ns;
}

int64_t kt_timeline_host_ms(const struct kt_timeline *tl, uint64_t ns)
{
	return ((int64_t)ns - (int64_t)host_anchor(tl)) / 1000000;
}

static int64_t event_ms(const struct kt_timeline *tl, const struct kt_tl_event *e)
{
	return e->host_clock ? kt_timeline_host_ms(tl, e->host_ns) : e->ms;
}

/* Kind order at equal times: start, steps, the rest, end. */
static int kind_rank(enum kt_tl_kind k)
{
	switch (k) {
	case KT_TL_SCENARIO_START:
		return 0;
	case KT_TL_STEP:
		return 1;
	case KT_TL_SCENARIO_END:
		return 9;
	default:
		return 5;
	}
}

struct ord {
	int64_t ms;
	int rank;
	size_t idx;
};

static int ord_cmp(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Placed events in time order (unplaced last, in arrival order). *n entries, malloc'd. */
static struct ord *ordered(const struct kt_timeline *tl, size_t *n)
{
	struct ord *o = kt_calloc(tl->n_ev + 1, sizeof(*o));
	size_t k = 0;

	for (size_t i = 0; i < tl->n_ev; i++)
		if (tl->ev[i].placed)
			o[k++] = (struct ord){event_ms(tl, &tl->ev[i]), kind_rank(tl->ev[i].kind), i};
	qsort(o, k, sizeof(*o), ord_cmp);
	for (size_t i = 0; i < tl->n_ev; i++)
		if (!tl->ev[i].placed)
			o[k++] = (struct ord){INT64_MAX, 0, i};
	*n = k;
	return o;
}

int kt_timeline_step_at(const struct kt_timeline *tl, int64_t ms)
{
	int step = -1;
	int64_t best = INT64_MIN;

	for (size_t i = 0; i < tl->n_ev; i++) {
		const struct kt_tl_event *e = &tl->ev[i];

		if (e->kind == KT_TL_STEP && e->ms <= ms && e->ms >= best) {
			best = e->ms;
			step = e->stim.step_index;
		}
	}
	return step;
}

/* End of the step that starts at event idx: the next step's or the scenario end's time. */
static int64_t step_end_ms(const struct kt_timeline *tl, const struct kt_tl_event *s)
{
	int64_t end = INT64_MAX;

	for (size_t i = 0; i < tl->n_ev; i++) {
		const struct kt_tl_event *e = &tl->ev[i];

		if ((e->kind == KT_TL_STEP || e->kind == KT_TL_SCENARIO_END) && e->placed &&
		    e != s && e->ms > s->ms && e->ms < end)
			end = e->ms;
	}
	return end;
}

char *kt_timeline_op_kinds(uint32_t op_kinds)
{
	struct sbuf sb = SBUF_INIT;

	for (unsigned k = 0; k < 32; k++) {
		if (!(op_kinds & (1u << k)))
			continue;
		if (sb.len)
			sb_adds(&sb, ",");
		if (k < KT_OP__COUNT)
			sb_adds(&sb, kt_op_name((enum kt_op_kind)k));
		else
			sb_addf(&sb, "op%u", k);
	}
	return sb_steal(&sb);
}

static void step_text(const struct kt_tl_event *e, struct sbuf *sb)
{
	const struct kt_msg_stimulus *s = &e->stim;

	sb_addf(sb, "step %u: %u cgroup%s, %u worker%s", s->step_index, s->cgroup_count,
		s->cgroup_count == 1 ? "" : "s", s->worker_count, s->worker_count == 1 ? "" : "s");
	if (s->op_count) {
		char *k = kt_timeline_op_kinds(s->op_kinds);

		sb_addf(sb, ", %u op%s (%s)", s->op_count, s->op_count == 1 ? "" : "s", k);
		free(k);
	}
	if (s->total_iterations)
		sb_addf(sb, ", %" PRIu64 " iterations so far", (uint64_t)s->total_iterations);
}

/* The monitor's samples within [from, to) ms, one line; false when none. */
static bool samples_line(const struct kt_timeline *tl, int64_t from, int64_t to,
			 struct sbuf *sb)
{
	size_t n = 0, stuck = 0;
	uint32_t nr = 0, dsq = 0;
	int64_t first_stuck = 0, wait = 0;
	int first_cpu = -1, wait_cpu = -1;

	for (size_t i = 0; i < tl->n_smp; i++) {
		const struct kt_tl_sample *s = &tl->smp[i];
		int64_t t = kt_timeline_host_ms(tl, s->host_ns);

		if (t < from || t >= to)
			continue;
		n++;
		if (s->max_nr_running > nr)
			nr = s->max_nr_running;
		if (s->max_local_dsq > dsq)
			dsq = s->max_local_dsq;
		if (s->max_wait_ms > wait) {
			wait = s->max_wait_ms;
			wait_cpu = s->max_wait_cpu;
		}
		if (s->stuck_cpus > 0) {
			if (!stuck++) {
				first_stuck = t;
				first_cpu = s->first_stuck_cpu;
			}
		}
	}
	if (!n)
		return false;
	sb_addf(sb, "monitor: %zu sample%s, nr_running max %u, local DSQ max %u", n,
		n == 1 ? "" : "s", nr, dsq);
	if (stuck)
		sb_addf(sb, ", rq clock stuck in %zu sample%s (first cpu%d at %+" PRId64 " ms)", stuck,
			stuck == 1 ? "" : "s", first_cpu, first_stuck);
	if (wait > 0)
		sb_addf(sb, ", runnable wait max %" PRId64 " ms (cpu%d)", wait, wait_cpu);
	return true;
}

static void event_line(const struct kt_timeline *tl, const struct kt_tl_event *e,
		       struct sbuf *sb)
{
	switch (e->kind) {
	case KT_TL_SCENARIO_START:
		sb_adds(sb, "scenario start");
		break;
	case KT_TL_STEP:
		step_text(e, sb);
		break;
	case KT_TL_SCENARIO_END:
		sb_adds(sb, "scenario end");
		break;
	case KT_TL_STALL_BEGIN:
	case KT_TL_WAIT_BEGIN: {
		int step = e->placed ? kt_timeline_step_at(tl, event_ms(tl, e)) : -1;

		sb_adds(sb, e->text ? e->text : "stall began");
		if (step >= 0)
			sb_addf(sb, " (during step %d)", step);
		else if (e->placed && tl->started)
			sb_adds(sb, " (before the first step)");
		break;
	}
	case KT_TL_SCHED_EXIT:
		sb_addf(sb, "sched_ext exit: %s", e->text ? e->text : "?");
		break;
	case KT_TL_DEBUG_DUMP:
		sb_addf(sb, "sched_ext dump: %s", e->text ? e->text : "?");
		break;
	case KT_TL_HOST:
		sb_adds(sb, e->text ? e->text : "");
		break;
	}
}

/* Lines worth keeping when eliding: the edges and everything near a failure. */
static bool important(const struct kt_tl_event *e)
{
	return e->kind != KT_TL_STEP;
}

void kt_timeline_format(const struct kt_timeline *tl, struct sbuf *out, size_t max_lines)
{
	size_t n, n_steps = 0, shown_steps = 0, keep_head, keep_tail;
	struct ord *o = ordered(tl, &n);
	bool *keep = kt_calloc(n + 1, sizeof(*keep));
	bool any_host = false;

	if (max_lines < 8)
		max_lines = 8;
	for (size_t i = 0; i < n; i++) {
		const struct kt_tl_event *e = &tl->ev[o[i].idx];

		any_host |= e->host_clock;
		if (e->kind == KT_TL_STEP)
			n_steps++;
	}
	any_host |= tl->n_smp > 0;
	/* Keep every non-step event, the first and last steps, and steps next to important ones. */
	keep_head = max_lines / 4;
	keep_tail = max_lines / 2;
	for (size_t i = 0, si = 0; i < n; i++) {
		const struct kt_tl_event *e = &tl->ev[o[i].idx];

		if (important(e)) {
			keep[i] = true;
			/* the step this happened in */
			for (size_t j = i; j-- > 0;)
				if (tl->ev[o[j].idx].kind == KT_TL_STEP) {
					keep[j] = true;
					break;
				}
			continue;
		}
		if (si < keep_head || si + keep_tail >= n_steps)
			keep[i] = true;
		si++;
	}
	if (tl->started)
		sb_addf(out, "(ms from scenario start; guest clock%s)\n",
			any_host ? ", host events and monitor samples up to ~100 ms late" : "");
	else
		sb_adds(out, "(no scenario start received: ms from the first host event)\n");
	for (size_t i = 0; i < n; i++) {
		const struct kt_tl_event *e = &tl->ev[o[i].idx];

		if (!keep[i]) {
			size_t skipped = 0;

			while (i < n && !keep[i]) {
				skipped++;
				i++;
			}
			sb_addf(out, "%8s  ... %zu step%s not shown\n", "", skipped,
				skipped == 1 ? "" : "s");
			i--;
			continue;
		}
		if (e->placed)
			sb_addf(out, "%8" PRId64 "  ", event_ms(tl, e));
		else
			sb_addf(out, "%8s  ", "?");
		event_line(tl, e, out);
		sb_adds(out, "\n");
		if (e->kind == KT_TL_STEP) {
			struct sbuf m = SBUF_INIT;

			shown_steps++;
			if (samples_line(tl, e->ms, step_end_ms(tl, e), &m))
				sb_addf(out, "%8s    %s\n", "", sb_str(&m));
			sb_free(&m);
		}
	}
	if (!n_steps && tl->n_smp) {
		struct sbuf m = SBUF_INIT;

		if (samples_line(tl, INT64_MIN, INT64_MAX, &m))
			sb_addf(out, "%8s  %s\n", "", sb_str(&m));
		sb_free(&m);
	}
	if (tl->dropped)
		sb_addf(out, "%8s  (%zu later events not recorded: more than %d)\n", "", tl->dropped,
			KT_TL_MAX_EVENTS);
	(void)shown_steps;
	free(keep);
	free(o);
}

/* ---- JSON ---------------------------------------------------------------------- */

static const char *kind_label(enum kt_tl_kind k)
{
	switch (k) {
	case KT_TL_SCENARIO_START:
		return "scenario_start";
	case KT_TL_STEP:
		return "step";
	case KT_TL_SCENARIO_END:
		return "scenario_end";
	case KT_TL_STALL_BEGIN:
		return "stall_began";
	case KT_TL_SCHED_EXIT:
		return "sched_ext_exit";
	case KT_TL_DEBUG_DUMP:
		return "sched_ext_dump";
	case KT_TL_HOST:
		return "host";
	case KT_TL_WAIT_BEGIN:
		return "wait_began";
	}
	return "?";
}

static json_t *event_json(const struct kt_timeline *tl, const struct kt_tl_event *e)
{
	json_t *o = json_object();

	json_object_set_new(o, "elapsed_ms", e->placed ? json_integer(event_ms(tl, e)) : json_null());
	json_object_set_new(o, "label", json_string(kind_label(e->kind)));
	if (e->kind == KT_TL_STEP) {
		struct sbuf d = SBUF_INIT;

		if (e->stim.op_count) {
			char *k = kt_timeline_op_kinds(e->stim.op_kinds);

			json_object_set_new(o, "op_kind", json_string(k));
			free(k);
		}
		step_text(e, &d);
		json_object_set_new(o, "detail", json_string(sb_str(&d)));
		sb_free(&d);
		json_object_set_new(o, "total_iterations",
				    json_integer((json_int_t)(e->stim.total_iterations & INT64_MAX)));
		json_object_set_new(o, "step_index", json_integer(e->stim.step_index));
		json_object_set_new(o, "cgroup_count", json_integer(e->stim.cgroup_count));
		json_object_set_new(o, "worker_count", json_integer(e->stim.worker_count));
	} else if (e->text) {
		json_object_set_new(o, "detail", json_string(e->text));
	}
	if (e->host_clock)
		json_object_set_new(o, "clock", json_string("host"));
	return o;
}

json_t *kt_timeline_stimulus_json(const struct kt_timeline *tl)
{
	json_t *a = json_array();
	size_t n;
	struct ord *o = ordered(tl, &n);

	for (size_t i = 0; i < n; i++) {
		const struct kt_tl_event *e = &tl->ev[o[i].idx];

		if (e->kind == KT_TL_SCENARIO_START || e->kind == KT_TL_STEP ||
		    e->kind == KT_TL_SCENARIO_END)
			json_array_append_new(a, event_json(tl, e));
	}
	free(o);
	return a;
}

json_t *kt_timeline_events_json(const struct kt_timeline *tl, size_t max)
{
	json_t *a = json_array();
	size_t n;
	struct ord *o = ordered(tl, &n);

	for (size_t i = n > max ? n - max : 0; i < n; i++)
		json_array_append_new(a, event_json(tl, &tl->ev[o[i].idx]));
	free(o);
	return a;
}
