// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the COM2 parser with input-driven chunking. */
#include <stdint.h>
#include <string.h>

#include "vm/com2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_com2 *s = kt_com2_new();
	size_t len, off = 0;
	const char *r;
	int code;

	while (off < size) {
		size_t chunk = 1 + data[off] % 64;

		if (chunk > size - off)
			chunk = size - off;
		kt_com2_feed(s, data + off, chunk);
		off += chunk;
	}
	kt_com2_finish(s);
	r = kt_com2_test_result(s, &len);
	if (r && strlen(r) > len)
		__builtin_trap();
	r = kt_com2_sched_output(s, &len);
	if (strlen(r) > len)
		__builtin_trap();
	kt_com2_exit_code(s, &code);
	kt_com2_exec_exit_code(s, &code);
	r = kt_com2_panic(s);
	if (r && strlen(r) > KT_COM2_PANIC_MAX)
		__builtin_trap();
	kt_com2_free(s);
	return 0;
}
