// SPDX-License-Identifier: GPL-2.0
/* BUG SUMMARY, the dump shown once, and the failure dump document. See failure.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfmap/bpfmap.h"
#include "results/results.h"
#include "runner/failure.h"
#include "util/util.h"

#define DUMP_MARK "sched_ext_dump:"
#define EXIT_ANCHOR "triggered exit kind"
#define DUMP_LINES_MAX 4000

/* A copy without ANSI CSI sequences (ESC [, parameters, a final byte 0x40-0x7e). */
static char *strip_ansi(const char *s)
{
	size_t n = s ? strlen(s) : 0, k = 0;
	char *r = kt_malloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0x1b && i + 1 < n && s[i + 1] == '[') {
			i += 2;
			while (i < n && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
				i++;
			continue;
		}
		r[k++] = s[i];
	}
	r[k] = 0;
	return r;
}

/* Iterate over lines (start and length); false at the end. */
static bool next_line(const char **p, const char **line, size_t *len)
{
	const char *e;

	if (!*p || !**p)
		return false;
	e = strchr(*p, '\n');
	*line = *p;
	*len = e ? (size_t)(e - *p) : strlen(*p);
	*p = e ? e + 1 : *p + *len;
	return true;
}

static char *dup_trimmed(const char *s, size_t n)
{
	char *r;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	r = kt_malloc(n + 1);
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

/* Text of a dump line after the marker (or the whole line when there is none). */
static const char *dump_text(const char *line, size_t len, size_t *n)
{
	const char *m = memmem(line, len, DUMP_MARK, strlen(DUMP_MARK));

	if (!m) {
		*n = len;
		return line;
	}
	m += strlen(DUMP_MARK);
	*n = len - (size_t)(m - line);
	return m;
}

static bool has(const char *line, size_t len, const char *what)
{
	return memmem(line, len, what, strlen(what)) != NULL;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * The exit anchor ("... triggered exit kind N:") and its reason line, from
 * text whose lines may carry the trace prefix. marked: only lines with the
 * sched_ext_dump marker count. Returns the reason line (malloc'd) or NULL;
 * *kind gets N (-1 when unreadable).
 */
static char *exit_reason(const char *text, bool marked, int *kind)
{
	const char *p = text, *l;
	size_t n;
	char tag[8] = "";
	bool found = false;

	*kind = -1;
	while (next_line(&p, &l, &n)) {
		char t[8];
		size_t tn;
		const char *tx;

		if (marked && !has(l, n, DUMP_MARK))
			continue;
		if (has(l, n, EXIT_ANCHOR)) {
			if (found) {
				if (tag[0])
					kt_dump_cpu_tag(l, n, t);
				if (!tag[0] || !strcmp(t, tag))
					return NULL; /* the next same-CPU anchor: stop */
				continue;
			}
			found = true;
			if (marked) /* a plain log's "comm[pid]" is no CPU tag */
				kt_dump_cpu_tag(l, n, tag);
			{
				const char *k = memmem(l, n, EXIT_ANCHOR, strlen(EXIT_ANCHOR));
				char num[16];
				size_t kl = (size_t)(l + n - k) - strlen(EXIT_ANCHOR);

				if (kl >= sizeof(num))
					kl = sizeof(num) - 1;
				memcpy(num, k + strlen(EXIT_ANCHOR), kl);
				num[kl] = 0;
				if (sscanf(num, " %d", kind) != 1)
					*kind = -1;
			}
			continue;
		}
		if (!found)
			continue;
		if (tag[0]) {
			kt_dump_cpu_tag(l, n, t);
			if (strcmp(t, tag))
				continue;
		}
		tx = dump_text(l, n, &tn);
		if (blank(tx, tn))
			continue;
		return dup_trimmed(tx, tn);
	}
	return NULL;
}

char *kt_bug_summary(const char *dump, const char *sched_log, const char *extra)
{
	char *d = strip_ansi(dump), *log = strip_ansi(sched_log), *r;
	int kind;

	r = exit_reason(d, true, &kind);
	if (!r)
		r = exit_reason(log, false, &kind);
	if (!r) {
		const char *p = log, *l;
		size_t n;

		while (next_line(&p, &l, &n))
			if (has(l, n, "scx_bpf_error")) {
				r = dup_trimmed(l, n);
				break;
			}
	}
	if (r && !*r) {
		free(r);
		r = NULL;
	}
	if (!r && extra && *extra)
		r = strip_ansi(extra);
	if (r) /* one line */
		for (char *c = r; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
	free(d);
	free(log);
	return r;
}

const char *kt_monitor_violation(const struct kt_outcome *o)
{
	for (size_t i = 0; o->have_result && i < o->result.n_details; i++)
		if (o->result.details[i].kind == KT_DETAIL_MONITOR &&
		    !o->result.details[i].inconclusive && o->result.details[i].message)
			return o->result.details[i].message;
	return "";
}

/* An 80-column "====" separator. */
static bool separator(const char *l, size_t n)
{
	if (n < 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (l[i] != '=' && l[i] != '\r')
			return false;
	return true;
}

char *kt_sched_log_without_dump(const char *log)
{
	const char *p = log, *l, *start = NULL, *end = NULL;
	size_t n, lines = 0;
	int seps = 0;
	struct sbuf sb = SBUF_INIT;

	if (!log)
		return NULL;
	while (next_line(&p, &l, &n)) {
		if (!start) {
			if (n >= 10 && !strncmp(l, "DEBUG DUMP", 10) && blank(l + 10, n - 10))
				start = l;
			continue;
		}
		lines++;
		if (separator(l, n) && ++seps == 2) {
			end = p;
			break;
		}
	}
	if (!start || seps < 1)
		return NULL;
	if (!end) /* the closing separator was cut off: the dump runs to the end */
		end = log + strlen(log);
	sb_add(&sb, log, (size_t)(start - log));
	sb_addf(&sb, "[sched_ext dump printed by the scheduler: %zu lines, shown once in "
		     "--- sched_ext dump ---]\n",
		lines);
	sb_adds(&sb, end);
	return sb_steal(&sb);
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* JSON strings must be UTF-8: anything else from the guest becomes '?'. */
static json_t *jtext(const char *s, size_t n)
{
	char *c = kt_malloc(n + 1);
	json_t *j;

	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i]
			: s[i] == '\t'					     ? ' '
									     : '?';
	c[n] = 0;
	j = json_string(c);
	free(c);
	return j;
}

static json_t *lines_json(const char *text)
{
	json_t *a = json_array();
	const char *p = text, *l;
	size_t n, k = 0;

	while (next_line(&p, &l, &n) && k++ < DUMP_LINES_MAX) {
		size_t tn;
		const char *t = dump_text(l, n, &tn);

		while (tn && (t[tn - 1] == '\r' || t[tn - 1] == ' '))
			tn--;
		if (t != l && tn && *t == ' ')
			t++, tn--;
		json_array_append_new(a, jtext(t, tn));
	}
	return a;
}

json_t *kt_failure_dump_json(const struct kt_failure_ctx *fc, const struct kt_outcome *o,
			     const struct kt_timeline *tl)
{
	struct kt_sched_exit x;
	bool placeholder = !o->sched_dump || !*o->sched_dump;
	json_t *j = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "schema", "single", "test",
			      jstr(fc->test), "scheduler", jstr(fc->scheduler), "topology",
			      jstr(fc->topology), "kernel", jstr(fc->kernel), "bug_summary",
			      jstr(fc->bug_summary), "failure_stage", jstr(o->init_stage),
			      "details", fc->details ? lines_json(fc->details) : json_array());

	if (kt_sched_exit_parse(o->rec.scx_console, o->sched_log, o->sched_dump,
				o->rec.have_sched_status, o->rec.sched_status, &x))
		json_object_set_new(j, "scheduler_exit", kt_sched_exit_to_json(&x));
	else
		json_object_set_new(j, "scheduler_exit", json_null());
	kt_sched_exit_free(&x);
	json_object_set_new(j, "sched_ext_dump",
			    placeholder ? json_array() : lines_json(o->sched_dump));
	json_object_set_new(j, "timeline_tail",
			    tl ? kt_timeline_events_json(tl, 64) : json_array());
	json_object_set_new(j, "monitor_samples", fc->monitor_samples
							  ? json_deep_copy(fc->monitor_samples)
							  : json_array());
	json_object_set_new(j, "host_dump_requests",
			    fc->host_dumps ? json_deep_copy(fc->host_dumps) : json_array());
	/* the last whole-map snapshot of each map the test chose (.snapshot_maps) */
	json_object_set_new(j, "maps",
			    kt_bpfmap_last_maps(o->rec.sidecar_extra
						    ? json_object_get(o->rec.sidecar_extra,
								      "bpf_maps")
						    : NULL));
	if (placeholder) {
		static const char *const keys[] = {"prog_runtime_stats_unavailable",
						   "per_node_numa_unavailable",
						   "task_enrichments_unavailable",
						   "scx_walker_unavailable", "sdt_alloc_unavailable"};
		char *why = kt_asprintf(
		    "test failed at stage `%s`; no sched_ext dump captured (%s)%s%s",
		    o->init_stage ? o->init_stage : "unknown",
		    !fc->scheduler || !strcmp(fc->scheduler, "eevdf")
			? "no sched_ext scheduler ran"
			: "the scheduler did not exit through sched_ext's error path",
		    fc->bug_summary ? ". BUG SUMMARY: " : "",
		    fc->bug_summary ? fc->bug_summary : "");

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			json_object_set_new(j, keys[i], jtext(why, strlen(why)));
		free(why);
		json_object_set_new(j, "is_placeholder", json_true());
	} else {
		json_object_set_new(j, "is_placeholder", json_false());
	}
	return j;
}
