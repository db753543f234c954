// SPDX-License-Identifier: GPL-2.0
/* The kconfig fragment, embedded into the binary (see ktstr.kconfig). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "util/util.h"

extern const char kt_kconfig_start[], kt_kconfig_end[];

__asm__(".section .rodata\n"
	".global kt_kconfig_start\n"
	".global kt_kconfig_end\n"
	"kt_kconfig_start:\n"
	".incbin \"src/kernel/ktstr.kconfig\"\n"
	"kt_kconfig_end:\n"
	".byte 0\n"
	".previous\n");

const char *kt_kconfig_fragment(size_t *len)
{
	if (len)
		*len = (size_t)(kt_kconfig_end - kt_kconfig_start);
	return kt_kconfig_start;
}

uint32_t kt_kconfig_crc_of(const char *text, size_t len)
{
	char *kept = kt_malloc(len + 1);
	size_t n = 0;
	uint32_t crc;

	/* Every line but the "##" notes, newline included. */
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) + 1 : len - i;

		if (!(l >= 2 && text[i] == '#' && text[i + 1] == '#')) {
			memcpy(kept + n, text + i, l);
			n += l;
		}
		i += l;
	}
	crc = kt_crc32(kept, n);
	free(kept);
	return crc;
}

uint32_t kt_kconfig_crc(void)
{
	size_t len;
	const char *s = kt_kconfig_fragment(&len);

	return kt_kconfig_crc_of(s, len);
}
