// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: kt_shm_drain over an arbitrary region. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/shm.h"

static volatile uint8_t sink; /* bytes read into it are bounds-checked */

static int cb(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	/* Touch every payload byte so ASan checks the bounds. */
	for (uint32_t i = 0; i < len; i++)
		sink ^= payload[i];
	(void)ctx;
	(void)type;
	(void)crc_ok;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rp;
	uint8_t *region;

	if (size < 8)
		return 0;
	memcpy(&rp, data, 8);
	size -= 8;
	data += 8;
	/* An exact-size heap copy: any read past the end is caught. */
	region = malloc(size ? size : 1);
	memcpy(region, data, size);
	/* Make the magic/version right half of the time to get past the header check. */
	if (size >= 40 && (rp & 1)) {
		uint32_t m = KT_SHM_MAGIC, v = KT_SHM_VERSION;

		memcpy(region, &m, 4);
		memcpy(region + 4, &v, 4);
	}
	for (int i = 0; i < 2; i++)
		if (kt_shm_drain(region, size, &rp, cb, NULL) < 0)
			break;
	free(region);
	return 0;
}
