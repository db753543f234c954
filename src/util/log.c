// SPDX-License-Identifier: GPL-2.0
/* Messages on stderr and the KTSTR_LOG / RUST_LOG filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char *label = "ktstr";
static char *filter_spec;
static bool filter_loaded;

void kt_set_label(const char *l)
{
	label = l;
}

const char *kt_label(void)
{
	return label;
}

static void vmsg(const char *color, const char *kind, const char *fmt, va_list ap)
{
	char buf[8192];
	bool tty = color && kt_isatty_stderr();

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s%s: %s%s%s\n", tty ? color : "", label, kind ? kind : "", buf,
		tty ? "\x1b[0m" : "");
	fflush(stderr);
}

void kt_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(NULL, "error: ", fmt, ap);
	va_end(ap);
}

void kt_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("\x1b[34m", "warning: ", fmt, ap);
	va_end(ap);
}

void kt_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(NULL, NULL, fmt, ap);
	va_end(ap);
}

void kt_status(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("\x1b[1m", NULL, fmt, ap);
	va_end(ap);
}

void kt_success(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("\x1b[32m", NULL, fmt, ap);
	va_end(ap);
}

static int parse_level(const char *s, size_t n, enum kt_level *out)
{
	static const struct {
		const char *name;
		enum kt_level level;
	} names[] = {
		{"off", KT_LOG_OFF},     {"error", KT_LOG_ERROR}, {"warn", KT_LOG_WARN},
		{"info", KT_LOG_INFO},   {"debug", KT_LOG_DEBUG}, {"trace", KT_LOG_TRACE},
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(names); i++) {
		if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

enum kt_level kt_log_filter_level(const char *spec, const char *target)
{
	enum kt_level def = KT_LOG_INFO, best = KT_LOG_INFO;
	size_t best_len = 0;
	bool have_best = false;
	const char *p = spec;

	if (!spec || !*spec)
		return KT_LOG_INFO;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		enum kt_level lv;

		while (n && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		eq = memchr(p, '=', n);
		if (!eq) {
			if (n && parse_level(p, n, &lv) == 0)
				def = lv;
		} else {
			size_t tlen = (size_t)(eq - p);

			if (parse_level(eq + 1, n - tlen - 1, &lv) == 0 && target &&
			    strncmp(target, p, tlen) == 0 &&
			    (target[tlen] == 0 || target[tlen] == ':' || target[tlen] == '/' ||
			     target[tlen] == '.') &&
			    (!have_best || tlen > best_len)) {
				best = lv;
				best_len = tlen;
				have_best = true;
			}
		}
		p = end ? end + 1 : p + n;
		if (!end)
			break;
	}
	return have_best ? best : def;
}

void kt_log_reload(void)
{
	const char *s = kt_getenv("KTSTR_LOG");

	if (!s)
		s = kt_getenv("RUST_LOG");
	free(filter_spec);
	filter_spec = s ? kt_strdup(s) : NULL;
	filter_loaded = true;
}

bool kt_log_enabled(const char *target, enum kt_level level)
{
	if (!filter_loaded)
		kt_log_reload();
	return level != KT_LOG_OFF && level <= kt_log_filter_level(filter_spec, target);
}

void kt_log(const char *target, enum kt_level level, const char *fmt, ...)
{
	static const char *const names[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
	char buf[8192];
	va_list ap;

	if (!kt_log_enabled(target, level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s %s: %s\n", label, names[level], target, buf);
}
