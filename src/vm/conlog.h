/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The console log of a run (console.log), bounded: the guest decides how
 * much its console prints, so only the first head bytes go to the file as
 * they arrive and the last tail bytes are kept in memory; at the end the
 * file gets a line saying how much was left out, then the tail.
 */
#ifndef KTSTR_VM_CONLOG_H
#define KTSTR_VM_CONLOG_H

#include <stddef.h>
#include <stdint.h>

#define KT_CONLOG_HEAD (8u << 20)
#define KT_CONLOG_TAIL (2u << 20)

struct kt_conlog {
	int fd;
	size_t head, tail; /* limits */
	uint64_t total;	   /* bytes offered */
	char *ring;	   /* the last bytes past the head (allocated when needed) */
	size_t ring_pos, ring_len;
};

/* Write to fd (not closed here); head/tail 0 = the defaults above. */
void kt_conlog_init(struct kt_conlog *l, int fd, size_t head, size_t tail);
void kt_conlog_write(struct kt_conlog *l, const void *buf, size_t n);
/*
 * Write the note and the tail (when anything was left out, the note is
 * "[ktstr: console.log truncated: N bytes left out between the first H
 * and the last T bytes]") and free the ring.
 */
void kt_conlog_finish(struct kt_conlog *l);

#endif
