// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what users type for kernels: kernel ids (--kernel),
 * versions, labels, cache keys, and KTSTR_KERNEL_LIST (parse, format, parse
 * again to the same items).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"

static void kernel_list(const char *s)
{
	struct kt_kernel_list_item *items = NULL, *again = NULL;
	size_t n = 0, n2 = 0;
	char *err = NULL, *text = NULL;

	if (kt_kernel_list_parse(s, &items, &n, &err)) {
		if (!err)
			__builtin_trap();
		free(err);
		return;
	}
	if (!kt_kernel_list_format(items, n, &text, &err)) {
		if (kt_kernel_list_parse(text, &again, &n2, &err) || n2 != n)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (strcmp(items[i].label, again[i].label) ||
			    strcmp(items[i].path, again[i].path))
				__builtin_trap();
		kt_kernel_list_free(again, n2);
		free(text);
	} else {
		free(err);
	}
	kt_kernel_list_free(items, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), *t, *err = NULL;
	struct kt_kid kid = {0};
	struct kt_version v;

	if (!kt_kid_parse(s, &kid, &err))
		kt_kid_free(&kid);
	else
		free(err);
	err = NULL;
	if (!kt_version_parse(s, &v)) {
		if (!kt_version_valid(s) || kt_version_cmp(&v, &v))
			__builtin_trap();
		kt_version_is_prefix(s);
	}
	t = kt_kernel_label_sanitize(s);
	for (const char *c = t; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			__builtin_trap();
	free(t);
	if (kt_cache_key_validate(s, &err))
		free(err);
	t = kt_cache_key_label(s);
	free(t);
	kernel_list(s);
	free(s);
	return 0;
}
