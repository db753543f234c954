// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP version 1 for `ktstr test --format ktap` (src/results/ciformat.h;
 * the kernel's Documentation/dev-tools/ktap.rst). One subtest per test
 * binary:
 *
 *   KTAP version 1
 *   1..1
 *       KTAP version 1
 *       # Subtest: ktstr-examples
 *       1..3
 *       ok 1 ktstr/simple_steady
 *       # ktstr_test 'pinned' [sched=scx_simple] [topo=1n2l2c1t] failed:
 *       #   ...
 *       not ok 2 ktstr/pinned
 *       ok 3 ktstr/too_big # SKIP topology needs 32 vCPUs ...
 *   not ok 1 ktstr-examples
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "results/ciformat.h"
#include "util/util.h"

#define INDENT "    "

/*
 * Phrases a KTAP extractor looks for anywhere in a line (kunit_parser.py:
 * the version line starts a document, the kernel console's end markers stop
 * it) and their defused forms.
 */
static const char *const defuse[][2] = {
    {"TAP version", "TAP_version"},
    {"List of all partitions:", "List of all partitions -"},
    {"Kernel panic - not syncing: VFS:", "Kernel panic - not syncing - VFS -"},
    {"reboot: System halted", "reboot - System halted"},
};

char *kt_ktap_diag_text(const char *line, size_t len)
{
	char *safe = kt_term_safe(line, len);
	struct sbuf sb = SBUF_INIT;
	const char *p = safe;

	/* "# Subtest: x" would open a subtest. */
	if (kt_startswith(p, "Subtest:")) {
		sb_adds(&sb, "Subtest -");
		p += 8;
	}
	while (*p) {
		size_t i;

		for (i = 0; i < KT_ARRAY_SIZE(defuse); i++)
			if (kt_startswith(p, defuse[i][0]))
				break;
		if (i < KT_ARRAY_SIZE(defuse)) {
			sb_adds(&sb, defuse[i][1]);
			p += strlen(defuse[i][0]);
		} else if (*p == '\n') {
			p++; /* one line */
		} else {
			sb_add(&sb, p, 1);
			p++;
		}
	}
	free(safe);
	sb_str(&sb);
	return sb_steal(&sb);
}

/* A name on a result line: no '#' (it starts the directive), one line. */
static void add_name(struct sbuf *sb, const char *name)
{
	char *safe = kt_term_safe(name, strlen(name));

	for (char *p = safe; *p; p++)
		if (*p == '#' || *p == '\n')
			*p = '_';
	sb_adds(sb, safe);
	free(safe);
}

static void add_diag_lines(struct sbuf *sb, const char *out)
{
	const char *l = out;

	while (l && *l) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char *d = kt_ktap_diag_text(l, n);

		sb_addf(sb, INDENT "#%s%s\n", *d ? " " : "", d);
		free(d);
		l = e ? e + 1 : NULL;
	}
}

/* The result line of one case, with its report as diagnostics before it. */
static bool add_case(struct sbuf *sb, const struct kt_case *c, size_t num)
{
	char *why = kt_case_summary(c);
	char *d = kt_ktap_diag_text(why, strlen(why));
	const char *directive = NULL; /* "# <directive>" after the name, NULL for none */
	bool ok;

	if (c->state == KT_CASE_DONE && c->output &&
	    (c->verdict == KT_VERDICT_FAIL || c->verdict == KT_VERDICT_INCONCLUSIVE))
		add_diag_lines(sb, c->output);
	if (c->state == KT_CASE_NOT_RUN || (c->state == KT_CASE_DONE && c->verdict == KT_VERDICT_SKIP)) {
		ok = true;
		directive = "SKIP ";
	} else if (c->state == KT_CASE_INTERRUPTED) {
		ok = false;
		directive = "ERROR ";
	} else if (c->verdict == KT_VERDICT_INCONCLUSIVE) {
		/* no KTAP directive means "undecided"; it is not ok */
		ok = false;
		directive = kt_startswith(d, "inconclusive") ? "" : "inconclusive: ";
	} else {
		ok = c->verdict == KT_VERDICT_PASS;
	}
	sb_addf(sb, INDENT "%s %zu ", ok ? "ok" : "not ok", num);
	add_name(sb, c->name);
	if (directive)
		sb_addf(sb, " # %s%s", directive, d);
	sb_adds(sb, "\n");
	free(d);
	free(why);
	return ok;
}

int kt_ktap_write(FILE *f, const struct kt_case *c, size_t n)
{
	struct sbuf sb = SBUF_INIT;
	bool *done = kt_calloc(n ? n : 1, sizeof(*done));
	size_t nsuites = 0, suite = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		bool first = true;

		for (size_t j = 0; j < i && first; j++)
			first = strcmp(c[j].binary, c[i].binary) != 0;
		nsuites += first;
	}
	sb_addf(&sb, "KTAP version 1\n1..%zu\n", nsuites);
	for (size_t i = 0; i < n; i++) {
		const char *bin = c[i].binary, *base = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
		size_t num = 0;
		bool ok = true;

		if (done[i])
			continue;
		for (size_t j = i; j < n; j++)
			num += !strcmp(c[j].binary, bin);
		sb_adds(&sb, INDENT "KTAP version 1\n" INDENT "# Subtest: ");
		add_name(&sb, base);
		sb_addf(&sb, "\n" INDENT "1..%zu\n", num);
		num = 0;
		for (size_t j = i; j < n; j++) {
			if (strcmp(c[j].binary, bin))
				continue;
			done[j] = true;
			ok &= add_case(&sb, &c[j], ++num);
		}
		sb_addf(&sb, "%s %zu ", ok ? "ok" : "not ok", ++suite);
		add_name(&sb, base);
		sb_adds(&sb, "\n");
	}
	if (fwrite(sb_str(&sb), 1, sb.len, f) != sb.len || fflush(f))
		r = -EIO;
	sb_free(&sb);
	free(done);
	return r;
}
