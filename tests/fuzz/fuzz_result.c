// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the test result JSON a guest sends (SHM TEST_RESULT or
 * COM2). Whatever parses must survive a round trip through its own JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_assert_result r = {0}, again = {0};
	char *err = NULL, *text;

	if (kt_assert_result_parse((const char *)data, size, &r, &err)) {
		if (!err)
			__builtin_trap(); /* an error always says why */
		free(err);
		kt_assert_result_clear(&r);
		return 0;
	}
	text = kt_assert_result_to_string(&r);
	if (kt_assert_result_parse(text, strlen(text), &again, &err))
		__builtin_trap();
	if (again.passed != r.passed || again.skipped != r.skipped ||
	    again.n_details != r.n_details)
		__builtin_trap();
	free(text);
	kt_assert_result_clear(&again);
	kt_assert_result_clear(&r);
	return 0;
}
