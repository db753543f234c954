// SPDX-License-Identifier: GPL-2.0
/* The kconfig fragment, embedded into the binary (see ktstr.kconfig). */
#include <stddef.h>

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

uint32_t kt_kconfig_crc(void)
{
	size_t len;
	const char *s = kt_kconfig_fragment(&len);

	return kt_crc32(s, len);
}
