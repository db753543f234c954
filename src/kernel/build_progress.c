// SPDX-License-Identifier: GPL-2.0
/* `ktstr kernel build`: the progress line and running one build stage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "build.h"
#include "util/util.h"

/* ---- progress ------------------------------------------------------------------- */

void kb_fmt_dur(uint64_t ns, char *buf, size_t len)
{
	unsigned long s = (unsigned long)(ns / 1000000000ull);

	if (s >= 60)
		snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lus", s);
}

static unsigned term_cols(void)
{
	struct winsize ws;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

static void progress_draw(struct progress *p)
{
	char d[32], line[512];
	unsigned cols = term_cols();
	int n;

	kb_fmt_dur(kt_now_ns() - p->stage_t0, d, sizeof(d));
	if (p->objs)
		n = snprintf(line, sizeof(line), "%s: %s [%s] %u objects, CC %s", kt_label(),
			     p->stage, d, p->objs, p->last_cc);
	else
		n = snprintf(line, sizeof(line), "%s: %s [%s]", kt_label(), p->stage, d);
	if (n > 0 && (unsigned)n >= cols)
		line[cols - 1] = 0;
	fprintf(stderr, "\r\x1b[K%s", line);
	fflush(stderr);
	p->line_dirty = true;
}

void kb_progress_stage(struct progress *p, const char *stage)
{
	p->stage = stage;
	p->stage_t0 = kt_now_ns();
	p->last = p->stage_t0;
	p->last_cc[0] = 0;
	if (p->tty)
		progress_draw(p);
	else
		kt_info("%s...", stage);
}

void kb_progress_done(struct progress *p, const char *msg)
{
	char d[32];

	kb_fmt_dur(kt_now_ns() - p->stage_t0, d, sizeof(d));
	if (p->tty && p->line_dirty) {
		fprintf(stderr, "\r\x1b[K");
		p->line_dirty = false;
	}
	kt_info("%s (%s)", msg, d);
}

void kb_progress_abort(struct progress *p)
{
	if (p->tty && p->line_dirty) {
		fprintf(stderr, "\r\x1b[K");
		fflush(stderr);
		p->line_dirty = false;
	}
}

static void on_make_line(void *ctx, const char *line)
{
	struct progress *p = ctx;
	uint64_t now = kt_now_ns();

	/* kbuild quiet output: "  CC      kernel/fork.o" */
	if (!strncmp(line, "  CC ", 5) || !strncmp(line, "  CLANG ", 8) ||
	    !strncmp(line, "  AS ", 5)) {
		const char *s = line + 4;

		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
		p->objs++;
		snprintf(p->last_cc, sizeof(p->last_cc), "%s", s);
	}
	if (p->tty) {
		if (now - p->last >= 200000000ull) {
			p->last = now;
			progress_draw(p);
		}
	} else if (now - p->last >= 30000000000ull) {
		char d[32];

		p->last = now;
		kb_fmt_dur(now - p->stage_t0, d, sizeof(d));
		kt_info("%s: %s elapsed, %u objects compiled", p->stage, d, p->objs);
	}
}

static void print_log_tail(const char *log, int lines)
{
	char *text = NULL;
	size_t len = 0;
	const char *start;
	int n = 0;

	if (kt_read_file(log, &text, &len, 0))
		return;
	start = text + len;
	while (start > text) {
		start--;
		if (*start == '\n' && start != text + len - 1 && ++n >= lines) {
			start++;
			break;
		}
	}
	fprintf(stderr, "---- last %d lines of %s ----\n%s", lines, log, start);
	if (len && text[len - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "----\n");
	free(text);
}

/* Run a command in dir with progress; on failure print the log tail. */
int kb_run_stage(struct progress *p, const char *stage, const char *dir, const char *log,
		     char *const argv[], char **err)
{
	struct kt_run_opts o = {.cwd = dir, .log_path = log, .on_line = on_make_line, .ctx = p};
	struct sbuf cmd = SBUF_INIT;
	int st = 0, r;
	FILE *lf;

	for (char *const *a = argv; *a; a++)
		sb_addf(&cmd, "%s%s", a == argv ? "" : " ", *a);
	lf = fopen(log, "ae");
	if (lf) {
		fprintf(lf, "\n==== %s: %s (in %s)\n", stage, sb_str(&cmd), dir);
		fclose(lf);
	}
	kb_progress_stage(p, stage);
	r = kt_run(argv, &o, &st);
	if (kt_interrupted()) {
		kb_progress_abort(p);
		kt_set_err(err, "interrupted");
		sb_free(&cmd);
		return -EINTR;
	}
	if (r || st) {
		kb_progress_abort(p);
		print_log_tail(log, 40);
		if (r)
			kt_set_err(err, "%s: cannot run %s: %s (log: %s)", stage, argv[0],
				strerror(-r), log);
		else
			kt_set_err(err, "%s failed (exit %d) (log: %s)", sb_str(&cmd), st, log);
		sb_free(&cmd);
		return r ? r : -EIO;
	}
	sb_free(&cmd);
	return 0;
}
