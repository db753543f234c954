/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM engine's COM2 line reader. Feed it the raw byte stream in any
 * chunking; it keeps bounded state and never trusts the guest: lines are
 * capped at KT_COM2_LINE_MAX bytes (the rest of a longer line is dropped
 * and the line is flagged cut), NUL bytes are ordinary bytes, "\r\n" and
 * "\n" both end lines.
 *
 * It knows only the guest init's lifecycle lines (src/guest/init.c),
 * matched anywhere in a trimmed line so that a garbage prefix left by
 * output without a newline is tolerated:
 *   KTSTR_INIT_STARTED               flag (line contains the marker)
 *   KTSTR_EXIT=<i32>                 the LAST well-formed one wins
 *   KTSTR_EXEC_EXIT=<i32>            the LAST well-formed one wins
 * Integers are strict: optional '-', decimal digits, within int32, nothing
 * after but whitespace. Every other line is handed to the line callback
 * for whoever runs in the guest (e.g. the run protocol, src/proto).
 */
#ifndef KTSTR_VM_COM2_H
#define KTSTR_VM_COM2_H

#include <stdbool.h>
#include <stddef.h>

#define KT_COM2_LINE_MAX (64u << 10)

struct kt_com2;

struct kt_com2 *kt_com2_new(void);
void kt_com2_free(struct kt_com2 *s);
/*
 * Optional: called for every complete line (without the line end, capped at
 * KT_COM2_LINE_MAX, may contain NULs; cut is true when the guest sent more);
 * lifecycle is true for the init's lines listed above.
 */
typedef void (*kt_com2_line_fn)(void *ctx, const char *line, size_t len, bool cut,
				bool lifecycle);
void kt_com2_set_line_cb(struct kt_com2 *s, kt_com2_line_fn cb, void *ctx);
void kt_com2_feed(struct kt_com2 *s, const void *buf, size_t len);
/* End of stream: process a last line without a newline. Further feeds start anew lines. */
void kt_com2_finish(struct kt_com2 *s);

bool kt_com2_init_started(const struct kt_com2 *s);
/* true and *code when a well-formed KTSTR_EXIT= line was seen. */
bool kt_com2_exit_code(const struct kt_com2 *s, int *code);
bool kt_com2_exec_exit_code(const struct kt_com2 *s, int *code);
/* Total bytes fed. */
unsigned long long kt_com2_bytes(const struct kt_com2 *s);

#endif
