// SPDX-License-Identifier: GPL-2.0
/*
 * JUnit XML for `ktstr test --junit PATH` (src/results/ciformat.h).
 * Shape as nextest writes it:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <testsuites name="ktstr" tests= failures= errors= skipped= time= timestamp=>
 *     <testsuite name="BINARY" tests= disabled="0" errors= failures= skipped= time=>
 *       <testcase name="ktstr/x" classname="BINARY" time="1.234">
 *         <failure type="test failure" message="first detail">report</failure>
 *       </testcase>
 *   ...
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "results/ciformat.h"
#include "util/util.h"

/* ---- the one-line summary ---------------------------------------------------- */

/* Next line of s (NULL at the end); *len gets its length without '\n'. */
static const char *next_line(const char **s, size_t *len)
{
	const char *l = *s, *e;

	if (!l || !*l)
		return NULL;
	e = strchr(l, '\n');
	*len = e ? (size_t)(e - l) : strlen(l);
	*s = e ? e + 1 : NULL;
	return l;
}

static bool ends_with_n(const char *l, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	return n >= sl && !memcmp(l + n - sl, suffix, sl);
}

static char *one_line(const char *l, size_t n)
{
	char *raw, *safe;

	while (n && (*l == ' ' || *l == '\t'))
		l++, n--;
	while (n && (l[n - 1] == ' ' || l[n - 1] == '\r'))
		n--;
	raw = kt_malloc(n + 1);
	memcpy(raw, l, n);
	raw[n] = 0;
	safe = kt_term_safe(raw, n);
	free(raw);
	return safe;
}

/*
 * The skip reason ("ktstr: SKIP: why"), or the first detail under the
 * report header ("ktstr_test 'x' [...] failed:" / "inconclusive:"), or
 * the first error line.
 */
static char *summary_from_output(const char *out, enum kt_verdict v)
{
	const char *s = out, *l, *err_line = NULL;
	size_t n, err_n = 0;
	bool header = false;

	while ((l = next_line(&s, &n))) {
		if (v == KT_VERDICT_SKIP && n > 13 && !memcmp(l, "ktstr: SKIP: ", 13))
			return one_line(l + 13, n - 13);
		if (header && n && l[0] == ' ')
			return one_line(l, n);
		header = n > 12 && !memcmp(l, "ktstr_test '", 12) &&
			 (ends_with_n(l, n, " failed:") || ends_with_n(l, n, " inconclusive:"));
		if (!err_line && n > 14 && !memcmp(l, "ktstr: error: ", 14)) {
			err_line = l + 14;
			err_n = n - 14;
		}
	}
	return err_line ? one_line(err_line, err_n) : NULL;
}

char *kt_case_summary(const struct kt_case *c)
{
	char *s;

	if (c->state == KT_CASE_NOT_RUN)
		return kt_strdup("never ran: the run was interrupted");
	if (c->state == KT_CASE_INTERRUPTED)
		return kt_asprintf("interrupted after %.1fs", c->secs);
	if (c->verdict == KT_VERDICT_PASS)
		return kt_strdup("passed");
	s = c->output ? summary_from_output(c->output, c->verdict) : NULL;
	if (s && *s)
		return s;
	free(s);
	switch (c->verdict) {
	case KT_VERDICT_SKIP:
		return kt_strdup("skipped");
	case KT_VERDICT_INCONCLUSIVE:
		return kt_strdup("inconclusive");
	default:
		return kt_strdup("failed");
	}
}

/* ---- XML --------------------------------------------------------------------- */

/*
 * Untrusted text as XML character data or an attribute value: terminal-safe
 * first (valid UTF-8, controls shown as \xNN), then the two code points
 * XML 1.0 forbids that UTF-8 allows (U+FFFE, U+FFFF), then markup escaped.
 */
static void xml_text(struct sbuf *sb, const char *s, bool attr)
{
	char *safe = kt_term_safe(s, strlen(s));

	for (const char *p = safe; *p; p++) {
		if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbf &&
		    ((unsigned char)p[2] == 0xbe || (unsigned char)p[2] == 0xbf)) {
			sb_addf(sb, "\\xef\\xbf\\x%02x", (unsigned char)p[2]);
			p += 2;
			continue;
		}
		switch (*p) {
		case '&':
			sb_adds(sb, "&amp;");
			break;
		case '<':
			sb_adds(sb, "&lt;");
			break;
		case '>':
			sb_adds(sb, "&gt;");
			break;
		case '"':
			sb_adds(sb, attr ? "&quot;" : "\"");
			break;
		case '\n':
			sb_adds(sb, attr ? "&#10;" : "\n");
			break;
		case '\t':
			sb_adds(sb, attr ? "&#9;" : "\t");
			break;
		default:
			sb_add(sb, p, 1);
		}
	}
	free(safe);
}

static const char *suite_name(const char *binary)
{
	const char *b = strrchr(binary, '/');

	return b ? b + 1 : binary;
}

struct tally {
	size_t tests, failures, errors, skipped;
	double secs;
};

static void tally_add(struct tally *t, const struct kt_case *c)
{
	t->tests++;
	t->secs += c->secs;
	if (c->state == KT_CASE_NOT_RUN)
		t->skipped++;
	else if (c->state == KT_CASE_INTERRUPTED)
		t->errors++;
	else if (c->verdict == KT_VERDICT_FAIL)
		t->failures++;
	else if (c->verdict == KT_VERDICT_INCONCLUSIVE)
		t->errors++;
	else if (c->verdict == KT_VERDICT_SKIP)
		t->skipped++;
}

static void add_counts(struct sbuf *sb, const struct tally *t)
{
	sb_addf(sb, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"",
		t->tests, t->failures, t->errors, t->skipped, t->secs);
}

static void add_case(struct sbuf *sb, const struct kt_case *c)
{
	const char *elem = NULL, *type = NULL;
	char *msg;

	sb_adds(sb, "    <testcase name=\"");
	xml_text(sb, c->name, true);
	sb_adds(sb, "\" classname=\"");
	xml_text(sb, suite_name(c->binary), true);
	sb_addf(sb, "\" time=\"%.3f\"", c->secs);
	if (c->state == KT_CASE_NOT_RUN) {
		elem = "skipped";
	} else if (c->state == KT_CASE_INTERRUPTED) {
		elem = "error";
		type = "interrupted";
	} else if (c->verdict == KT_VERDICT_FAIL) {
		elem = "failure";
		type = "test failure";
	} else if (c->verdict == KT_VERDICT_INCONCLUSIVE) {
		elem = "error";
		type = "inconclusive";
	} else if (c->verdict == KT_VERDICT_SKIP) {
		elem = "skipped";
	}
	if (!elem) {
		sb_adds(sb, "/>\n");
		return;
	}
	msg = kt_case_summary(c);
	sb_addf(sb, ">\n      <%s", elem);
	if (type)
		sb_addf(sb, " type=\"%s\"", type);
	sb_adds(sb, " message=\"");
	xml_text(sb, msg, true);
	sb_adds(sb, "\"");
	free(msg);
	/* A skip's reason is its message; a failure's body is its report. */
	if (!strcmp(elem, "skipped") || !c->output || !*c->output) {
		sb_adds(sb, "/>\n");
	} else {
		sb_adds(sb, ">");
		xml_text(sb, c->output, false);
		sb_addf(sb, "</%s>\n", elem);
	}
	sb_adds(sb, "    </testcase>\n");
}

int kt_junit_write(FILE *f, const struct kt_case *c, size_t n, const char *timestamp)
{
	struct sbuf sb = SBUF_INIT;
	struct tally all = {0};
	bool *done = kt_calloc(n ? n : 1, sizeof(*done));
	int r = 0;

	for (size_t i = 0; i < n; i++)
		tally_add(&all, &c[i]);
	sb_adds(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ktstr\"");
	add_counts(&sb, &all);
	if (timestamp)
		sb_addf(&sb, " timestamp=\"%s\"", timestamp);
	sb_adds(&sb, ">\n");
	/* One suite per binary, in order of first appearance. */
	for (size_t i = 0; i < n; i++) {
		struct tally t = {0};

		if (done[i])
			continue;
		for (size_t j = i; j < n; j++)
			if (!strcmp(c[j].binary, c[i].binary))
				tally_add(&t, &c[j]);
		sb_adds(&sb, "  <testsuite name=\"");
		xml_text(&sb, suite_name(c[i].binary), true);
		sb_adds(&sb, "\"");
		add_counts(&sb, &t);
		sb_adds(&sb, " disabled=\"0\">\n");
		for (size_t j = i; j < n; j++) {
			if (strcmp(c[j].binary, c[i].binary))
				continue;
			done[j] = true;
			add_case(&sb, &c[j]);
		}
		sb_adds(&sb, "  </testsuite>\n");
	}
	sb_adds(&sb, "</testsuites>\n");
	if (fwrite(sb_str(&sb), 1, sb.len, f) != sb.len)
		r = -EIO;
	sb_free(&sb);
	free(done);
	return r;
}

int kt_junit_write_file(const char *path, const struct kt_case *c, size_t n, char **err)
{
	char *buf = NULL, ts[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f) {
		kt_set_err(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	kt_utc_timestamp(time(NULL), ts, sizeof(ts));
	r = kt_junit_write(f, c, n, ts);
	if (fclose(f) && !r)
		r = -EIO;
	if (!r)
		r = kt_write_file_atomic(path, buf, len, 0644);
	if (r)
		kt_set_err(err, "%s: %s", path, strerror(-r));
	free(buf);
	return r;
}
