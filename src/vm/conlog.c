// SPDX-License-Identifier: GPL-2.0
/* The bounded console log: head on disk, tail in memory. See conlog.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/conlog.h"

void kt_conlog_init(struct kt_conlog *l, int fd, size_t head, size_t tail)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->head = head ? head : KT_CONLOG_HEAD;
	l->tail = tail ? tail : KT_CONLOG_TAIL;
}

static void put(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full disk loses log text, never the run */
		p += w;
		n -= (size_t)w;
	}
}

void kt_conlog_write(struct kt_conlog *l, const void *buf, size_t n)
{
	const char *p = buf;

	if (l->fd < 0)
		return;
	if (l->total < l->head) {
		size_t k = l->head - l->total < n ? (size_t)(l->head - l->total) : n;

		put(l->fd, p, k);
		l->total += k;
		p += k;
		n -= k;
	}
	if (!n)
		return;
	if (!l->ring)
		l->ring = kt_malloc(l->tail);
	l->total += n;
	if (n > l->tail) {
		p += n - l->tail;
		n = l->tail;
	}
	while (n) {
		size_t k = l->tail - l->ring_pos < n ? l->tail - l->ring_pos : n;

		memcpy(l->ring + l->ring_pos, p, k);
		l->ring_pos = (l->ring_pos + k) % l->tail;
		p += k;
		n -= k;
		if (l->ring_len < l->tail)
			l->ring_len = l->ring_len + k < l->tail ? l->ring_len + k : l->tail;
	}
}

void kt_conlog_finish(struct kt_conlog *l)
{
	uint64_t left_out = l->total > l->head + l->ring_len ? l->total - l->head - l->ring_len : 0;
	size_t start = (l->ring_pos + l->tail - l->ring_len) % l->tail;

	if (l->fd >= 0 && left_out) {
		char note[160];
		int k = snprintf(note, sizeof(note),
				 "\n[ktstr: console.log truncated: %llu bytes left out between "
				 "the first %zu and the last %zu bytes]\n",
				 (unsigned long long)left_out, l->head, l->ring_len);

		put(l->fd, note, (size_t)k);
	}
	if (l->fd >= 0 && l->ring_len) {
		size_t first = l->tail - start < l->ring_len ? l->tail - start : l->ring_len;

		put(l->fd, l->ring + start, first);
		put(l->fd, l->ring, l->ring_len - first);
	}
	free(l->ring);
	l->ring = NULL;
	l->ring_len = l->ring_pos = 0;
}
