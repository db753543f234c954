/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The formats CI systems read, written from the outcomes of one
 * `ktstr test` run:
 *
 *   JUnit XML (--junit PATH), in the convention of nextest and the GitHub
 *   test reporters: <testsuites> with one <testsuite> per test binary and
 *   one <testcase> per test; a failure is <failure message=...>REPORT
 *   </failure>, a skip <skipped message=REASON/>, an inconclusive verdict
 *   <error type="inconclusive" message=...>REPORT</error> (JUnit has no
 *   third outcome, and an inconclusive run is never a silent pass).
 *
 *   KTAP version 1 (--format ktap) on stdout: one subtest per binary
 *   (indented 4 spaces, "# Subtest: BINARY"), "ok N NAME", "not ok N NAME",
 *   "ok N NAME # SKIP reason", the report as "# " diagnostic lines before
 *   the result line. Inconclusive is "not ok N NAME # inconclusive: why"
 *   (no KTAP directive means "could not decide"; "# SKIP" would pass it).
 *
 * Test output is untrusted (it carries guest text): both writers make it
 * valid for their format (UTF-8, no control characters, escaped markup;
 * no line that a KTAP parser would take for a result, plan or marker).
 */
#ifndef KTSTR_RESULTS_CIFORMAT_H
#define KTSTR_RESULTS_CIFORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "check/check.h"
#include "results/results.h"

enum kt_case_state {
	KT_CASE_DONE,        /* ran to a verdict */
	KT_CASE_INTERRUPTED, /* cut short by Ctrl-C / a signal: no verdict */
	KT_CASE_NOT_RUN,     /* the run was interrupted before it started */
};

struct kt_case {
	const char *binary; /* path of the test binary (its basename names the suite) */
	const char *name;   /* full test name, "ktstr/NAME[/KERNEL_LABEL]" */
	enum kt_case_state state;
	enum kt_verdict verdict; /* when state == KT_CASE_DONE */
	double secs;
	const char *output; /* the test's combined stdout+stderr (may be NULL) */
};

/*
 * One line for the case's message attribute / result line: the skip
 * reason, the first detail of the failure report, or a fallback naming
 * the verdict. Malloc'd, single-line, terminal-safe.
 */
char *kt_case_summary(const struct kt_case *c);

/* Write the JUnit XML document for n cases; 0 or -errno (EIO on a write error). */
int kt_junit_write(FILE *f, const struct kt_case *c, size_t n, const char *timestamp);
/* Write it atomically to path; errors as "path: why". */
int kt_junit_write_file(const char *path, const struct kt_case *c, size_t n, char **err);

/* Write the KTAP version 1 document for n cases. */
int kt_ktap_write(FILE *f, const struct kt_case *c, size_t n);
/*
 * The same, streamed: begin prints the header (the plan needs only the
 * binaries); advance prints, in document order, every case up to the first
 * one still KT_CASE_NOT_RUN (all: every case, NOT_RUN as SKIP); end prints
 * the rest and frees. c must hold the same n cases, in the same order, at
 * every call. end returns 0 or -EIO when a write failed.
 */
struct kt_ktap;
struct kt_ktap *kt_ktap_begin(FILE *f, const struct kt_case *c, size_t n);
void kt_ktap_advance(struct kt_ktap *k, const struct kt_case *c, bool all);
int kt_ktap_end(struct kt_ktap *k, const struct kt_case *c);

/*
 * A line of test output as a KTAP diagnostic body: terminal-safe, and with
 * the phrases a KTAP extractor matches anywhere in a line ("TAP version",
 * the kernel console's end markers) defused. Malloc'd.
 */
char *kt_ktap_diag_text(const char *line, size_t len);

/*
 * The record of the last `ktstr test` run, read by --rerun-failed:
 * {"version":1,"tests":[{"binary":PATH,"name":NAME,"verdict":V}]} (V is
 * PASS, FAIL, SKIP, INCONCLUSIVE, INTERRUPTED or NOT_RUN) in
 * ${KTSTR_SIDECAR_DIR:-${KTSTR_TARGET_DIR:-target}/ktstr}/.last-run.json.
 */
char *kt_last_run_path(void);
int kt_last_run_write(const struct kt_case *c, size_t n, char **err);
/*
 * The tests whose verdict was FAIL in the last run, as parallel lists of
 * binary paths and full names. -ENOENT (with *err) when no run is recorded.
 */
int kt_last_run_failed(struct kt_strv *bins, struct kt_strv *names, char **err);

#endif
