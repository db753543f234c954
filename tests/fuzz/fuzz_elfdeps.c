// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the ELF reader of the shared-library closure
 * (PT_INTERP, DT_NEEDED, DT_RPATH/DT_RUNPATH through libelf) and the
 * expansion of $ORIGIN/$LIB/$PLATFORM in the search paths it finds. The
 * static functions are reached by including the module.
 */
#include <stdio.h>
#include <sys/mman.h>

#include "../../src/vm/elfdeps.c"

static void expand_list(const char *list, const struct elf_info *in)
{
	char *copy, *save = NULL;

	if (!list)
		return;
	copy = kt_strdup(list);
	for (char *d = strtok_r(copy, ":;", &save); d; d = strtok_r(NULL, ":;", &save))
		free(expand(d, "/origin", in));
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct elf_info in;
	const char *why;

	if (fd < 0) {
		fd = memfd_create("fuzz-elf", 0);
		if (fd < 0)
			__builtin_trap();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		__builtin_trap();
	if (read_elf(path, &in, &why)) {
		if (!why)
			__builtin_trap();
		return 0;
	}
	if (in.interp && in.interp[0] != '/')
		__builtin_trap();
	expand_list(in.rpath, &in);
	expand_list(in.runpath, &in);
	info_free(&in);
	return 0;
}
