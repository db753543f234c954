// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler's exit, from the guest's console, the scheduler's log,
 * the sched_ext dump and the wait status (results.h, struct
 * kt_sched_exit). The texts are the guest's: every line is bounded and
 * nothing is trusted to be well formed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "results.h"
#include "util/util.h"

#define LINE_MAX_KEEP 1024

/* The kernel's reasons (kernel/sched/ext.c, scx_exit_reason()) and their kinds. */
static const struct {
	const char *reason;
	const char *kind;
} reasons[] = {
	{"unregistered from user space", "normal"},
	{"unregistered from BPF", "normal"},
	{"unregistered from the main kernel", "normal"},
	{"disabled by sysrq-S", "normal"},
	{"runtime error", "error"},
	{"scx_bpf_error", "error"},
	{"runnable task stall", "stall"},
};

static const char *kind_of_reason(const char *r, size_t n)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(reasons); i++)
		if (strlen(reasons[i].reason) == n && !strncmp(r, reasons[i].reason, n))
			return reasons[i].kind;
	return NULL;
}

/* SCX_EXIT_* numbers (include/linux/sched/ext.h). */
static const char *kind_of_number(long k)
{
	if (k >= 1024)
		return k == 1026 ? "stall" : "error";
	if (k >= 1)
		return "normal";
	return NULL;
}

/* Copy of [s, s+n) without trailing blanks/CR, at most LINE_MAX_KEEP bytes. */
static char *dup_trim(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n > LINE_MAX_KEEP)
		n = LINE_MAX_KEEP;
	char *d = kt_malloc(n + 1);

	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* Next line of *p (advances *p); NULL at the end. *len without the '\n'. */
static const char *next_line(const char **p, size_t *len)
{
	const char *s = *p, *nl;

	if (!s || !*s)
		return NULL;
	nl = strchr(s, '\n');
	*len = nl ? (size_t)(nl - s) : strlen(s);
	*p = nl ? nl + 1 : s + *len;
	return s;
}

static const char *memfind(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(s + i, needle, k))
			return s + i;
	return NULL;
}

/*
 * "REASON (MSG)" or "REASON": split at the first " (" whose text before it
 * is a known reason (messages may contain parentheses themselves).
 */
static bool split_reason(const char *s, size_t n, struct kt_sched_exit *e)
{
	for (size_t i = 0; i < KT_ARRAY_SIZE(reasons); i++) {
		size_t rl = strlen(reasons[i].reason);

		if (n < rl || strncmp(s, reasons[i].reason, rl))
			continue;
		if (n > rl && s[rl] != ' ')
			continue;
		e->kind = reasons[i].kind;
		e->reason = kt_strdup(reasons[i].reason);
		if (n > rl + 2 && s[rl + 1] == '(') {
			size_t m = n - rl - 2;

			if (m && s[rl + 2 + m - 1] == ')')
				m--;
			if (m)
				e->message = dup_trim(s + rl + 2, m);
		}
		return true;
	}
	return false;
}

/* Console: `sched_ext: BPF scheduler "X" disabled (REASON)` [+ `sched_ext: X: MSG`]. */
static bool from_console(const char *text, struct kt_sched_exit *e)
{
	const char *p = text, *l, *q, *name = NULL;
	size_t n, name_len = 0;
	bool found = false;

	while ((l = next_line(&p, &n))) {
		if ((q = memfind(l, n, "sched_ext: BPF scheduler \""))) {
			const char *nm = q + strlen("sched_ext: BPF scheduler \"");
			const char *end = memchr(nm, '"', n - (size_t)(nm - l));
			const char *d = end ? memfind(end, n - (size_t)(end - l), "disabled (") : NULL;
			const char *rs, *re;

			if (!d)
				continue;
			rs = d + strlen("disabled (");
			re = memchr(rs, ')', n - (size_t)(rs - l));
			if (!re || !kind_of_reason(rs, (size_t)(re - rs)))
				continue;
			free(e->reason);
			free(e->message);
			e->message = NULL;
			e->reason = dup_trim(rs, (size_t)(re - rs));
			e->kind = kind_of_reason(rs, (size_t)(re - rs));
			e->source = "console";
			name = nm;
			name_len = (size_t)(end - nm);
			found = true;
			continue;
		}
		/* The message line follows: "sched_ext: NAME: MSG". */
		if (found && name && !e->message && (q = memfind(l, n, "sched_ext: "))) {
			const char *m = q + strlen("sched_ext: ");
			size_t rest = n - (size_t)(m - l);

			if (rest > name_len + 2 && !strncmp(m, name, name_len) && m[name_len] == ':' &&
			    m[name_len + 1] == ' ')
				e->message = dup_trim(m + name_len + 2, rest - name_len - 2);
		}
	}
	return found;
}

/* The scheduler's "EXIT: REASON (MSG)" (the last one). */
static bool from_sched_log(const char *text, struct kt_sched_exit *e)
{
	const char *p = text, *l, *last = NULL;
	size_t n, last_n = 0;

	while ((l = next_line(&p, &n)))
		if (n > 6 && !strncmp(l, "EXIT: ", 6)) {
			last = l + 6;
			last_n = n - 6;
		}
	while (last_n && (last[last_n - 1] == '\r' || last[last_n - 1] == ' '))
		last_n--;
	if (!last || !split_reason(last, last_n, e))
		return false;
	e->source = "scheduler log";
	return true;
}

/* Dump: "... triggered exit kind N:" then "  REASON (MSG)". */
static bool from_dump(const char *text, struct kt_sched_exit *e)
{
	const char *p = text, *l, *q;
	size_t n;

	while ((l = next_line(&p, &n))) {
		if (!(q = memfind(l, n, "triggered exit kind ")))
			continue;
		e->exit_kind = (int)strtol(q + strlen("triggered exit kind "), NULL, 10);
		/* The next line with text after "sched_ext_dump: " is the reason. */
		while ((l = next_line(&p, &n))) {
			const char *t = memfind(l, n, "sched_ext_dump: ");
			size_t tn;

			t = t ? t + strlen("sched_ext_dump: ") : l;
			tn = n - (size_t)(t - l);
			while (tn && (*t == ' ' || *t == '\t')) {
				t++;
				tn--;
			}
			if (!tn)
				continue;
			if (!split_reason(t, tn, e))
				e->kind = kind_of_number(e->exit_kind);
			break;
		}
		if (!e->kind)
			e->kind = kind_of_number(e->exit_kind);
		if (e->kind)
			e->source = "dump";
		return e->kind != NULL;
	}
	return false;
}

static void reset(struct kt_sched_exit *e)
{
	kt_sched_exit_free(e);
	e->exit_kind = -1;
}

bool kt_sched_exit_parse(const char *console, const char *sched_log, const char *dump,
			 bool have_status, int status, struct kt_sched_exit *out)
{
	struct kt_sched_exit d = {0};

	memset(out, 0, sizeof(*out));
	reset(out);
	/*
	 * The scheduler's own line carries the message whole; the console
	 * is next (it has the message on the line after); the dump last.
	 */
	if (!(sched_log && from_sched_log(sched_log, out))) {
		reset(out);
		if (!(console && from_console(console, out))) {
			reset(out);
			if (dump && !from_dump(dump, out))
				reset(out);
		}
	}
	/* The SCX_EXIT_* number, when the dump has it. */
	reset(&d);
	if (out->exit_kind < 0 && dump && from_dump(dump, &d))
		out->exit_kind = d.exit_kind;
	kt_sched_exit_free(&d);
	out->have_status = have_status;
	out->status = status;
	if (!out->kind && have_status) {
		/* No sched_ext exit record: the process's end says it all. */
		if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status)))
			out->kind = "crash";
		else
			out->kind = "normal";
		out->source = "wait status";
		if (WIFSIGNALED(status))
			out->message = kt_asprintf("killed by signal %d (%s)", WTERMSIG(status),
						   strsignal(WTERMSIG(status)));
		else if (WIFEXITED(status))
			out->message = kt_asprintf("exit status %d", WEXITSTATUS(status));
	}
	return out->kind != NULL;
}

void kt_sched_exit_free(struct kt_sched_exit *e)
{
	free(e->reason);
	free(e->message);
	e->reason = e->message = NULL;
	e->kind = e->source = NULL;
}

json_t *kt_sched_exit_to_json(const struct kt_sched_exit *e)
{
	json_t *o = json_object();

	json_object_set_new(o, "kind", json_string(e->kind ? e->kind : "unknown"));
	if (e->reason)
		json_object_set_new(o, "reason", json_string(e->reason));
	if (e->message)
		json_object_set_new(o, "message", json_string(e->message));
	if (e->source)
		json_object_set_new(o, "source", json_string(e->source));
	if (e->exit_kind >= 0)
		json_object_set_new(o, "scx_exit_kind", json_integer(e->exit_kind));
	if (e->have_status && WIFEXITED(e->status))
		json_object_set_new(o, "exit_status", json_integer(WEXITSTATUS(e->status)));
	if (e->have_status && WIFSIGNALED(e->status))
		json_object_set_new(o, "signal", json_integer(WTERMSIG(e->status)));
	return o;
}
