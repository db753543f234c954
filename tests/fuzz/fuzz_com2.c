// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: COM2 as the host reads it during a test run: the
 * engine's line reader with input-driven chunking, its lines fed to the
 * host's collector (the run protocol's reader first, guest output after),
 * then the outcome and report built from them.
 */
#include "host_collect.h"
#include "vm/com2.h"

static void on_line(void *ctx, const char *line, size_t len, bool cut, bool lifecycle)
{
	char *copy;

	if (len > KT_COM2_LINE_MAX)
		__builtin_trap();
	if (lifecycle)
		return;
	/* the engine hands up a NUL-terminated copy (src/vm/watch.c) */
	copy = kt_malloc(len + 1);
	memcpy(copy, line, len);
	copy[len] = 0;
	on_com2(ctx, copy, len, cut);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_com2 *s = kt_com2_new();
	struct collect c;
	struct kt_outcome o;
	size_t off = 0;
	int code;

	collect_begin(&c, &o);
	kt_com2_set_line_cb(s, on_line, &c);
	while (off < size) {
		size_t chunk = 1 + data[off] % 64;

		if (chunk > size - off)
			chunk = size - off;
		kt_com2_feed(s, data + off, chunk);
		off += chunk;
	}
	kt_com2_finish(s);
	kt_com2_exit_code(s, &code);
	kt_com2_exec_exit_code(s, &code);
	if (kt_proto_rx_error(c.rx) && !strstr(kt_proto_rx_error(c.rx), "guest sent a"))
		__builtin_trap();
	collect_end(&c, &o);
	kt_com2_free(s);
	return 0;
}
