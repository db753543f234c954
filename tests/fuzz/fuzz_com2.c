// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the engine's COM2 line reader with input-driven
 * chunking, its lines fed to the run protocol's reader as the host does.
 */
#include <stdint.h>
#include <string.h>

#include "proto/proto.h"
#include "vm/com2.h"

static volatile uint8_t sink; /* bytes read into it are bounds-checked */

static void on_msg(void *ctx, enum kt_msg_kind kind, const void *data, uint32_t len)
{
	/* Touch every byte so ASan checks the bounds; the limits must hold. */
	for (uint32_t i = 0; i < len; i++)
		sink ^= ((const uint8_t *)data)[i];
	if (len > kt_msg_kinds[kind].max_len || len < kt_msg_kinds[kind].min_len)
		__builtin_trap();
	(void)ctx;
}

static void on_line(void *ctx, const char *line, size_t len, bool cut, bool lifecycle)
{
	if (len > KT_COM2_LINE_MAX)
		__builtin_trap();
	if (!lifecycle)
		kt_proto_rx_line(ctx, line, len, cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_com2 *s = kt_com2_new();
	struct kt_proto_rx *rx = kt_proto_rx_new(on_msg, NULL);
	size_t off = 0;
	int code;

	kt_com2_set_line_cb(s, on_line, rx);
	while (off < size) {
		size_t chunk = 1 + data[off] % 64;

		if (chunk > size - off)
			chunk = size - off;
		kt_com2_feed(s, data + off, chunk);
		off += chunk;
	}
	kt_com2_finish(s);
	kt_proto_rx_finish(rx);
	kt_com2_exit_code(s, &code);
	kt_com2_exec_exit_code(s, &code);
	if (kt_proto_rx_error(rx) && !strstr(kt_proto_rx_error(rx), "guest sent a"))
		__builtin_trap();
	kt_proto_rx_free(rx);
	kt_com2_free(s);
	return 0;
}
