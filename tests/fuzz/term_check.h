/* SPDX-License-Identifier: GPL-2.0 */
/* For the fuzz targets: text on its way to a terminal carries no controls. */
#ifndef KTSTR_FUZZ_TERM_CHECK_H
#define KTSTR_FUZZ_TERM_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void check_terminal_safe(const char *s)
{
	char *again = kt_term_safe(s, strlen(s));

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			__builtin_trap();
	if (strcmp(again, s)) /* already safe: unchanged by another pass */
		__builtin_trap();
	free(again);
}

#endif
