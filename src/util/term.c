// SPDX-License-Identifier: GPL-2.0
/*
 * Terminal-safe copies of untrusted text (what the guest prints) on its way
 * to the user's terminal: nothing in it can move the cursor, change colours,
 * set the window title or answer back.
 */
#include "util/util.h"

/*
 * Continuation bytes after lead byte c (0: not a lead byte) and the bounds
 * of the first of them (RFC 3629: no overlong forms, surrogates or code
 * points above U+10FFFF; here also no C1 controls).
 */
static unsigned utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		if (c == 0xc2) /* U+0080..U+009F are the C1 controls (0x9b is CSI) */
			*lo = 0xa0;
		return 1;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			*lo = 0xa0;
		else if (c == 0xed)
			*hi = 0x9f;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			*lo = 0x90;
		else if (c == 0xf4)
			*hi = 0x8f;
		return 3;
	}
	return 0;
}

static void add_hex(struct sbuf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_addf(out, "\\x%02x", p[i]);
}

void kt_term_filter_feed(struct kt_term_filter *f, const void *in, size_t n, struct sbuf *out)
{
	const unsigned char *p = in;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i], lo, hi;

		if (f->npend) {
			lo = 0x80;
			hi = 0xbf;
			if (f->npend == 1)
				utf8_lead(f->pend[0], &lo, &hi);
			if (c >= lo && c <= hi) {
				f->pend[f->npend++] = c;
				if (f->npend == f->need + 1u) {
					sb_add(out, f->pend, f->npend);
					f->npend = 0;
				}
				continue;
			}
			/* Malformed: show what came so far, then look at c afresh. */
			add_hex(out, f->pend, f->npend);
			f->npend = 0;
		}
		if (c == '\n') {
			sb_adds(out, f->crlf ? "\r\n" : "\n");
		} else if (c == '\r') {
			/* dropped: line ends are '\n'; a lone '\r' would overwrite a line */
		} else if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
			sb_add(out, &c, 1);
		} else if ((f->need = utf8_lead(c, &lo, &hi))) {
			f->pend[0] = c;
			f->npend = 1;
		} else {
			add_hex(out, &c, 1);
		}
	}
}

void kt_term_filter_flush(struct kt_term_filter *f, struct sbuf *out)
{
	add_hex(out, f->pend, f->npend);
	f->npend = 0;
}

char *kt_term_safe(const char *s, size_t n)
{
	struct kt_term_filter f = {0};
	struct sbuf out = SBUF_INIT;

	kt_term_filter_feed(&f, s, n, &out);
	kt_term_filter_flush(&f, &out);
	sb_str(&out);
	return sb_steal(&out);
}
