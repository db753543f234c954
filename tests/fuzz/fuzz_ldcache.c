// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the ld.so.cache reader (new format). The first input
 * byte picks which name to look up; the rest is the cache image. A matching
 * entry's path is checked on the host (a regular file that is a compatible
 * ELF), as in a real walk.
 */
#include "../../src/vm/elfdeps.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"libc.so.6", "libm.so.6", "libfuzz.so", ""};
	struct elf_info root = {.cls = ELFCLASS64, .machine = EM_X86_64, .is_elf = true};
	char *cache, *found;

	if (!size)
		return 0;
	/* An exact-size copy: a read past the image is caught. */
	cache = kt_malloc(size - 1 ? size - 1 : 1);
	memcpy(cache, data + 1, size - 1);
	found = ldcache_lookup(cache, size - 1, names[data[0] % 4], &root);
	if (found && found[0] != '/')
		__builtin_trap();
	free(found);
	free(cache);
	return 0;
}
