// SPDX-License-Identifier: GPL-2.0
/* Verdicts and failure reports (pure: no I/O). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include <jansson.h>

#include "runner.h"
#include "runner/failure.h"
#include "runner/timeline.h"
#include "util/util.h"

#define TIMELINE_LINES 40

void kt_outcome_free(struct kt_outcome *o)
{
	kt_assert_result_clear(&o->result);
	free(o->crash_line);
	free(o->sched_fail_reason);
	free(o->sched_log);
	free(o->sched_dump);
	free(o->console_tail);
	free(o->guest_out);
	free(o->init_stage);
	free(o->infra_error);
	free(o->watchdog_note);
	free(o->oom_line);
	kt_record_free(&o->rec);
	json_decref(o->host_dumps);
	free(o->monitor_report);
	memset(o, 0, sizeof(*o));
}

char *kt_log_fingerprint(const char *log)
{
	const char *end, *start;

	if (!log)
		return NULL;
	end = log + strlen(log);
	while (end > log) {
		while (end > log && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
			end--;
		if (end == log)
			return NULL;
		start = end;
		while (start > log && start[-1] != '\n')
			start--;
		/* Skip separator-only lines ("=====", "-----"). */
		bool sep = true;

		for (const char *c = start; c < end; c++)
			if (*c != '=' && *c != '-' && *c != ' ' && *c != '\t')
				sep = false;
		if (!sep) {
			char *r = kt_malloc((size_t)(end - start) + 1);

			memcpy(r, start, (size_t)(end - start));
			r[end - start] = 0;
			return r;
		}
		end = start;
	}
	return NULL;
}

/* Last n lines of text. */
static const char *tail_lines(const char *text, int n)
{
	const char *p;
	int seen = 0;

	if (!text)
		return "";
	p = text + strlen(text);
	while (p > text && (p[-1] == '\n'))
		p--;
	while (p > text) {
		if (p[-1] == '\n' && ++seen == n)
			break;
		p--;
	}
	return p;
}

static void add_indented(struct sbuf *sb, const char *text, const char *indent)
{
	const char *l = text;

	while (l && *l) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);

		sb_adds(sb, indent);
		sb_add(sb, l, n);
		sb_adds(sb, "\n");
		l = e ? e + 1 : NULL;
	}
}

static void add_stats(struct sbuf *sb, const struct kt_scenario_stats *s)
{
	sb_adds(sb, "--- stats ---\n");
	kt_scenario_stats_format(s, sb);
}

/* The result's details, one per line; undecided checks say so. */
static void result_details(const struct kt_assert_result *r, struct sbuf *d)
{
	for (size_t i = 0; i < r->n_details; i++)
		sb_addf(d, "%s%s\n", r->details[i].inconclusive ? "inconclusive: " : "",
			r->details[i].message);
}

/* The same, indented into a report block. */
static void add_result_details(struct sbuf *sb, const struct kt_assert_result *r)
{
	struct sbuf d = SBUF_INIT;

	result_details(r, &d);
	add_indented(sb, sb_str(&d), "  ");
	sb_free(&d);
}

/* The failure details of an outcome (what went wrong, one per line). */
void kt_failure_details(const struct kt_outcome *o, struct sbuf *d)
{
	if (o->infra_error)
		sb_addf(d, "%s\n", o->infra_error);
	if (o->sched_fail_reason)
		sb_addf(d, "%s\n", o->sched_fail_reason);
	if (o->have_result) {
		result_details(&o->result, d);
		if (!o->result.passed && !o->result.n_details)
			sb_adds(d, "test failed without details\n");
	}
	if (o->crashed)
		sb_addf(d, "guest crashed: %s\n", o->crash_line ? o->crash_line : "kernel panic");
	else if (o->timed_out && !o->have_result)
		sb_adds(d, "timed out (no result in SHM or COM2)\n");
	else if (!o->have_result && !o->infra_error && !o->sched_fail_reason && o->exit_code > 0)
		sb_addf(d, "no test result received from guest: its test process exited with "
			   "status %d before sending one\n",
			o->exit_code);
	else if (!o->have_result && !o->infra_error && !o->sched_fail_reason)
		sb_adds(d, "no test result received from guest (no AssertResult arrived via SHM "
			   "or COM2; check kernel log and scheduler exit status)\n");
	if (o->oom_line)
		sb_addf(d, "the guest ran out of memory: %s\n", o->oom_line);
	if (o->sched_died && !strstr(sb_str(d), "scheduler"))
		sb_adds(d, "scheduler process died unexpectedly\n");
}

bool kt_outcome_failed(const struct kt_outcome *o)
{
	if (o->infra_error || o->sched_fail_reason || o->crashed || !o->have_result)
		return true;
	if (o->timed_out && !o->result.passed)
		return true;
	return kt_assert_result_failed(&o->result);
}

/*
 * An Inconclusive result: the block names every undecided check, then
 * the stats. Accepted as a pass under .allow_inconclusive (still shown).
 */
static enum kt_verdict inconclusive(const struct kt_plan *p, const struct kt_outcome *o,
				    char **report)
{
	struct sbuf sb = SBUF_INIT;
	bool allow = p->test->allow_inconclusive;

	sb_addf(&sb, "ktstr_test '%s' [sched=%s] [topo=%s] inconclusive%s:\n", p->test->name,
		p->sched_name, p->topo_str, allow ? " (accepted: .allow_inconclusive)" : "");
	add_result_details(&sb, &o->result);
	if (o->result.stats.n_cgroups || o->result.stats.total_workers)
		add_stats(&sb, &o->result.stats);
	if (o->monitor_report)
		sb_adds(&sb, o->monitor_report);
	*report = sb_steal(&sb);
	return allow ? KT_VERDICT_PASS : KT_VERDICT_INCONCLUSIVE;
}

static enum kt_verdict decide(const struct kt_plan *p, const struct kt_outcome *o, bool verbose,
			      char **report)
{
	struct sbuf sb = SBUF_INIT, d = SBUF_INIT;
	bool failed = kt_outcome_failed(o);
	/* Infrastructure errors (no kernel, no scheduler binary) never count as expected. */
	bool expect_err = p->test->expect_err && !o->infra_error && !o->sched_fail_reason;
	bool sched_death = o->sched_died || o->sched_not_attached;
	char *fp, *bs;

	*report = NULL;
	if (!failed && o->result.skipped) {
		const char *why = o->result.n_details ? o->result.details[0].message : "skipped";

		*report = kt_asprintf("ktstr: SKIP: %s\n", why);
		return KT_VERDICT_SKIP;
	}
	for (size_t i = 0; o->have_result && i < o->result.n_details; i++)
		if (o->result.details[i].kind == KT_DETAIL_SCHEDULER_DIED)
			sched_death = true;
	if (!failed) {
		bool inc = kt_assert_result_verdict(&o->result) == KT_VERDICT_INCONCLUSIVE;

		/* expect_err wants a failure: an undecided run is not one. */
		if (expect_err) {
			sb_addf(&sb, "ktstr_test '%s' [sched=%s] [topo=%s] failed:\n  expected test "
				     "to fail but it %s\n",
				p->test->name, p->sched_name, p->topo_str,
				inc ? "was inconclusive" : "passed");
			if (inc)
				add_result_details(&sb, &o->result);
			if (o->have_result)
				add_stats(&sb, &o->result.stats);
			*report = sb_steal(&sb);
			return KT_VERDICT_FAIL;
		}
		if (inc)
			return inconclusive(p, o, report);
		*report = kt_strdup("");
		return KT_VERDICT_PASS;
	}

	kt_failure_details(o, &d);
	/*
	 * The scheduler's last words lead the report when it failed: it died,
	 * or the kernel ejected it (its log ends in an "EXIT: <reason>" other
	 * than the normal "unregistered from user space" at teardown).
	 */
	fp = kt_log_fingerprint(o->sched_log);
	if (fp && !sched_death && !o->sched_fail_reason &&
	    !(kt_startswith(fp, "EXIT:") && !strstr(fp, "unregistered from user space"))) {
		free(fp);
		fp = NULL;
	}
	if (fp) {
		sb_addf(&sb, "%s\n", fp);
		free(fp);
	}
	bs = kt_bug_summary(o->sched_dump, o->sched_log, kt_monitor_violation(o));
	if (bs)
		sb_addf(&sb, "BUG SUMMARY: %s\n", bs);
	free(bs);
	sb_addf(&sb, "ktstr_test '%s' [sched=%s] [topo=%s] %s:\n", p->test->name, p->sched_name,
		p->topo_str, expect_err ? "failed as expected" : "failed");
	add_indented(&sb, sb_str(&d), "  ");
	if (o->rec.failure_dump)
		sb_addf(&sb, "failure dump: %s\n", o->rec.failure_dump);
	if (o->have_result && (o->result.stats.n_cgroups || o->result.stats.total_workers))
		add_stats(&sb, &o->result.stats);
	if (o->monitor_report)
		sb_adds(&sb, o->monitor_report);
	/* Diagnostics describe a VM run; none for errors before any VM booted. */
	if ((sched_death || verbose || o->timed_out || o->crashed || !o->have_result) &&
	    !(o->infra_error && o->wall_s <= 0) && !(o->sched_fail_reason && o->wall_s <= 0)) {
		sb_adds(&sb, "--- diagnostics ---\n");
		sb_addf(&sb, "init stage: %s\n", o->init_stage ? o->init_stage : "unknown");
		if (o->exit_code >= 0)
			sb_addf(&sb, "guest exit code: %d\n", o->exit_code);
		else
			sb_adds(&sb, "guest exit code: none (guest did not report KTSTR_EXIT)\n");
		if (o->wall_s > 0)
			sb_addf(&sb, "vm wall time: %.1fs\n", o->wall_s);
		if (o->watchdog_note)
			sb_addf(&sb, "%s\n", o->watchdog_note);
		if (o->guest_out && *o->guest_out) {
			sb_adds(&sb, "last guest output:\n");
			add_indented(&sb, tail_lines(o->guest_out, 20), "  ");
		}
		if (o->console_tail && *o->console_tail) {
			sb_adds(&sb, "last console lines:\n");
			add_indented(&sb, tail_lines(o->console_tail, 20), "  ");
		}
	}
	if (o->timeline && !kt_timeline_empty(o->timeline)) {
		sb_adds(&sb, "--- timeline ---\n");
		kt_timeline_format(o->timeline, &sb, TIMELINE_LINES);
	}
	if (o->sched_log && *o->sched_log) {
		/* The dump is shown once: in its own section when it came as trace lines. */
		char *log = o->sched_dump && *o->sched_dump ? kt_sched_log_without_dump(o->sched_log)
							    : NULL;

		sb_adds(&sb, "--- scheduler log ---\n");
		add_indented(&sb, tail_lines(log ? log : o->sched_log, 200), "");
		free(log);
	}
	if (o->sched_dump && *o->sched_dump) {
		sb_adds(&sb, "--- sched_ext dump ---\n");
		add_indented(&sb, tail_lines(o->sched_dump, 200), "");
	}
	sb_free(&d);
	*report = sb_steal(&sb);
	return expect_err ? KT_VERDICT_PASS : KT_VERDICT_FAIL;
}

/* The report quotes the guest (its result, logs, console): made terminal-safe. */
enum kt_verdict kt_verdict_decide(const struct kt_plan *p, const struct kt_outcome *o,
				  bool verbose, char **report)
{
	enum kt_verdict v = decide(p, o, verbose, report);
	char *safe = kt_term_safe(*report, strlen(*report));

	free(*report);
	*report = safe;
	return v;
}
