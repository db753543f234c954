// SPDX-License-Identifier: GPL-2.0
/* The run protocol's vocabulary and COM2 form, shared by both ends. See proto.h. */
#include <string.h>

#include "proto/proto.h"
#include "util/util.h"
#include "vm/shm.h"

/*
 * Limits: what a real message needs, no more. The host parses a test
 * result as JSON, which costs up to ~80 bytes of memory per input byte
 * for hostile input ("{}," repeated); 512 KiB keeps that near 40 MiB,
 * while a real result (a few hundred bytes per cgroup and per detail
 * line) stays under 64 KiB even for large scenarios.
 */
const struct kt_msg_kind_info kt_msg_kinds[KT_MSG__COUNT] = {
    [KT_MSG_TEST_RESULT] = {KT_FOURCC('T', 'E', 'S', 'T'), "TEST", "test result", 0,
			    KT_MSG_TEST_RESULT_MAX},
    [KT_MSG_SCHED_EXIT] = {KT_FOURCC('S', 'C', 'D', 'X'), "SCDX", "scheduler exit status", 4, 4},
    [KT_MSG_SCHED_NOT_ATTACHED] = {KT_FOURCC('S', 'C', 'N', 'A'), "SCNA",
				   "scheduler attach failure", 0, KT_MSG_LINE_MAX},
    [KT_MSG_SCHED_LOG] = {KT_FOURCC('S', 'L', 'O', 'G'), "SLOG", "scheduler log", 0,
			  KT_MSG_SCHED_LOG_MAX},
    [KT_MSG_DUMP] = {KT_FOURCC('D', 'U', 'M', 'P'), "DUMP", "sched_ext dump line", 0,
		     KT_MSG_LINE_MAX},
    [KT_MSG_STAGE] = {KT_FOURCC('S', 'T', 'G', 'E'), "STGE", "stage", 0, KT_MSG_LINE_MAX},
    [KT_MSG_SCENARIO_START] = {KT_FOURCC('S', 'C', 'S', 'T'), "SCST", "scenario start", 0, 8},
    [KT_MSG_STIMULUS] = {KT_FOURCC('S', 'T', 'I', 'M'), "STIM", "stimulus",
			 sizeof(struct kt_msg_stimulus), sizeof(struct kt_msg_stimulus)},
    [KT_MSG_SCENARIO_END] = {KT_FOURCC('S', 'C', 'E', 'N'), "SCEN", "scenario end", 0, 4},
    [KT_MSG_FACTS] = {KT_FOURCC('F', 'A', 'C', 'T'), "FACT", "run facts", 2, 64u << 10},
};

int kt_msg_kind_of(uint32_t code)
{
	for (int i = 0; i < KT_MSG__COUNT; i++)
		if (kt_msg_kinds[i].code == code)
			return i;
	return -1;
}

uint32_t kt_msg_max_len(uint32_t code)
{
	int k = kt_msg_kind_of(code);

	return k < 0 ? 0 : kt_msg_kinds[k].max_len;
}

static bool plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%';
}

char *kt_proto_com2_encode(enum kt_msg_kind kind, const void *data, size_t len,
			   size_t *out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = data;
	struct sbuf sb = SBUF_INIT;
	size_t off = 0;

	do {
		size_t n = len - off < KT_PROTO_PIECE ? len - off : KT_PROTO_PIECE;
		bool last = off + n == len;

		sb_addf(&sb, "KTSTR_MSG%s %s ", last ? "" : "+", kt_msg_kinds[kind].name);
		for (size_t i = off; i < off + n; i++) {
			char esc[3] = {'%', hex[p[i] >> 4], hex[p[i] & 15]};

			if (plain(p[i]))
				sb_add(&sb, &p[i], 1);
			else
				sb_add(&sb, esc, 3);
		}
		sb_adds(&sb, "\n");
		off += n;
	} while (off < len);
	*out_len = sb.len;
	return sb_steal(&sb);
}
