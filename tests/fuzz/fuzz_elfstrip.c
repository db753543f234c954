// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: kt_elf_strip_debug on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/initramfs.h"

static volatile uint8_t sink; /* bytes read into it are bounds-checked */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *out;
	size_t len;
	uint8_t *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (kt_elf_strip_debug(copy, size, &out, &len) == 0) {
		for (size_t i = 0; i < len; i++)
			sink ^= ((uint8_t *)out)[i];
		free(out);
	}
	free(copy);
	return 0;
}
