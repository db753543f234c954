/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side parser of the guest's COM2 text protocol. Feed it the raw byte
 * stream in any chunking; it keeps bounded state and never trusts the guest:
 * lines are capped at KT_COM2_LINE_MAX bytes (the rest of a longer line is
 * dropped), captured blocks at KT_COM2_BLOCK_MAX, NUL bytes are ordinary
 * bytes, "\r\n" and "\n" both end lines.
 *
 * Recognised (on lines outside a block; a garbage prefix left by output
 * without a newline is tolerated because markers are matched at the END of
 * the trimmed line, or for KTSTR_EXIT=/KTSTR_EXEC_EXIT= at their last
 * occurrence):
 *   KTSTR_INIT_STARTED, KTSTR_PAYLOAD_STARTING, SCHEDULER_DIED,
 *   SCHEDULER_NOT_ATTACHED           flags (line contains the marker)
 *   KTSTR_EXIT=<i32>                 the LAST well-formed one wins
 *   KTSTR_EXEC_EXIT=<i32>            the LAST well-formed one wins
 *   PANIC: ...                       every such line, from "PANIC:" on
 *   ===KTSTR_TEST_RESULT_START=== / ===KTSTR_TEST_RESULT_END===
 *                                    the text between (the last complete block)
 *   ===SCHED_OUTPUT_START=== / ===SCHED_OUTPUT_END===
 *                                    the text between (all blocks, concatenated)
 * Inside a block only its END marker is recognised. Integers are strict:
 * optional '-', decimal digits, within int32, nothing after but whitespace.
 */
#ifndef KTSTR_VM_COM2_H
#define KTSTR_VM_COM2_H

#include <stdbool.h>
#include <stddef.h>

#define KT_COM2_LINE_MAX (64u << 10)
#define KT_COM2_BLOCK_MAX (1u << 20)
#define KT_COM2_PANIC_MAX (64u << 10)

struct kt_com2;

struct kt_com2 *kt_com2_new(void);
void kt_com2_free(struct kt_com2 *s);
/*
 * Optional: called for every complete line (without the line end, capped at
 * KT_COM2_LINE_MAX, may contain NULs); protocol is true for marker lines and
 * lines inside a TEST_RESULT block.
 */
void kt_com2_set_line_cb(struct kt_com2 *s,
			 void (*cb)(void *ctx, const char *line, size_t len, bool protocol),
			 void *ctx);
void kt_com2_feed(struct kt_com2 *s, const void *buf, size_t len);
/* End of stream: process a last line without a newline. Further feeds start anew lines. */
void kt_com2_finish(struct kt_com2 *s);

bool kt_com2_init_started(const struct kt_com2 *s);
bool kt_com2_payload_starting(const struct kt_com2 *s);
bool kt_com2_scheduler_died(const struct kt_com2 *s);
bool kt_com2_scheduler_not_attached(const struct kt_com2 *s);
/* true and *code when a well-formed KTSTR_EXIT= line was seen. */
bool kt_com2_exit_code(const struct kt_com2 *s, int *code);
bool kt_com2_exec_exit_code(const struct kt_com2 *s, int *code);
/*
 * The last complete test-result block (lines joined with '\n', no trailing
 * newline; NUL-terminated, *len excludes the NUL), or NULL when there is
 * none. A block longer than KT_COM2_BLOCK_MAX is not complete.
 */
const char *kt_com2_test_result(const struct kt_com2 *s, size_t *len);
/* A result block was cut off (over the cap, or the stream ended inside it). */
bool kt_com2_test_result_truncated(const struct kt_com2 *s);
/* Scheduler output blocks ("" when none), capped at KT_COM2_BLOCK_MAX. */
const char *kt_com2_sched_output(const struct kt_com2 *s, size_t *len);
bool kt_com2_sched_output_truncated(const struct kt_com2 *s);
/* PANIC: lines joined with '\n', or NULL when none. */
const char *kt_com2_panic(const struct kt_com2 *s);
/* Total bytes fed. */
unsigned long long kt_com2_bytes(const struct kt_com2 *s);

#endif
