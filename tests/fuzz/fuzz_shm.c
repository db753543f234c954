// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the SHM ring as the host reads it during a test run:
 * kt_shm_drain_limited over an arbitrary region with the run protocol's
 * per-kind limits, each message handed to the protocol reader and the
 * host's collectors, then the outcome and report built from them. The
 * first 8 input bytes are the host's read pointer.
 */
#include "host_collect.h"
#include "vm/shm.h"

static volatile uint8_t sink; /* bytes read into it are bounds-checked */

/* What the engine does with a drained message (src/vm/watch.c). */
static int deliver(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len, bool crc_ok)
{
	struct kt_shm_msg_view m = {type, payload, len, crc_ok};

	for (uint32_t i = 0; payload && i < len; i++)
		sink ^= payload[i];
	on_shm(ctx, &m);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collect c;
	struct kt_outcome o;
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
	collect_begin(&c, &o);
	for (int i = 0; i < 2; i++)
		if (kt_shm_drain_limited(region, size, &rp, shm_limit, deliver, &c) < 0)
			break;
	collect_end(&c, &o);
	free(region);
	return 0;
}
