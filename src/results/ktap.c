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
 *
 * `ktstr test` streams it (kt_ktap_begin / kt_ktap_advance): a result line
 * is printed as soon as it and every case before it in the document have
 * ended, so a CI log shows results while the run goes on and the numbering
 * stays in order however the parallel jobs finish.
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

struct kt_ktap {
	FILE *f;
	size_t n, pos;  /* cases; next position in order[] to print */
	size_t *order;  /* case indices, grouped by binary in order of first appearance */
	size_t suite;   /* suites opened so far */
	size_t in_suite; /* cases printed in the open suite */
	bool suite_ok;
	int err;
};

/* Cases of one binary in the open suite: from position pos on. */
static size_t suite_len(const struct kt_ktap *k, const struct kt_case *c, size_t pos)
{
	size_t m = 0;

	while (pos + m < k->n &&
	       !strcmp(c[k->order[pos + m]].binary, c[k->order[pos]].binary))
		m++;
	return m;
}

static const char *base_name(const char *bin)
{
	const char *b = strrchr(bin, '/');

	return b ? b + 1 : bin;
}

struct kt_ktap *kt_ktap_begin(FILE *f, const struct kt_case *c, size_t n)
{
	struct kt_ktap *k = kt_calloc(1, sizeof(*k));
	bool *taken = kt_calloc(n ? n : 1, sizeof(*taken));
	size_t nsuites = 0;

	k->f = f;
	k->n = n;
	k->order = kt_calloc(n ? n : 1, sizeof(*k->order));
	for (size_t i = 0, o = 0; i < n; i++) {
		if (taken[i])
			continue;
		nsuites++;
		for (size_t j = i; j < n; j++)
			if (!taken[j] && !strcmp(c[j].binary, c[i].binary)) {
				taken[j] = true;
				k->order[o++] = j;
			}
	}
	free(taken);
	if (fprintf(f, "KTAP version 1\n1..%zu\n", nsuites) < 0 || fflush(f))
		k->err = -EIO;
	return k;
}

void kt_ktap_advance(struct kt_ktap *k, const struct kt_case *c, bool all)
{
	struct sbuf sb = SBUF_INIT;

	while (k->pos < k->n) {
		const struct kt_case *x = &c[k->order[k->pos]];
		const char *base = base_name(x->binary);

		if (!all && x->state == KT_CASE_NOT_RUN)
			break;
		if (!k->in_suite) {
			sb_adds(&sb, INDENT "KTAP version 1\n" INDENT "# Subtest: ");
			add_name(&sb, base);
			sb_addf(&sb, "\n" INDENT "1..%zu\n", suite_len(k, c, k->pos));
			k->suite_ok = true;
			k->suite++;
		}
		k->suite_ok &= add_case(&sb, x, ++k->in_suite);
		k->pos++;
		if (k->pos == k->n || strcmp(c[k->order[k->pos]].binary, x->binary)) {
			sb_addf(&sb, "%s %zu ", k->suite_ok ? "ok" : "not ok", k->suite);
			add_name(&sb, base);
			sb_adds(&sb, "\n");
			k->in_suite = 0;
		}
	}
	if (sb.len && (fwrite(sb_str(&sb), 1, sb.len, k->f) != sb.len || fflush(k->f)))
		k->err = -EIO;
	sb_free(&sb);
}

int kt_ktap_end(struct kt_ktap *k, const struct kt_case *c)
{
	int r;

	kt_ktap_advance(k, c, true);
	r = k->err;
	free(k->order);
	free(k);
	return r;
}

int kt_ktap_write(FILE *f, const struct kt_case *c, size_t n)
{
	return kt_ktap_end(kt_ktap_begin(f, c, n), c);
}
