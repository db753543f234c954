// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest for test_guest_limits.sh: a test body that, inside the
 * VM, puts a 16 MiB test result into the SHM ring itself, a valid result
 * whose details are "{}," repeated (the JSON shape that costs a parser the
 * most memory per byte), and powers the machine off before the real
 * result can follow. The host must refuse it unread, fail the test with
 * "guest sent an oversized test result", and keep its memory flat.
 * small_result is the baseline.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include <ktstr.h>

#include "guest/shm.h"
#include "proto/proto.h"

KTSTR_TEST(small_result, .duration_s = 1)
{
	return 0;
}

KTSTR_TEST(oversized_result, .duration_s = 1)
{
	struct kt_shm_guest g;
	uint32_t len = (16u << 20) - 4096;
	char *err = NULL, *big;
	size_t n;
	int r;

	if (kt_shm_guest_open(&g, &err)) {
		ktstr_fail(ctx, "no SHM ring: %s", err);
		return 0;
	}
	/* an empty ring has room for it: wait until the host read the rest */
	for (int i = 0; i < 200; i++) {
		if (kt_shm_load_u64(g.region, KT_SHM_OFF_READ_PTR) ==
		    kt_shm_load_u64(g.region, KT_SHM_OFF_WRITE_PTR))
			break;
		usleep(50 * 1000);
	}
	big = malloc(len);
	strcpy(big, "{\"passed\":true,\"details\":[");
	n = strlen(big);
	while (n + 3 + 3 < len) {
		memcpy(big + n, "{},", 3);
		n += 3;
	}
	memcpy(big + n - 1, "]}", 3); /* the last "," ends the array */
	r = kt_shm_guest_write(&g, kt_msg_kinds[KT_MSG_TEST_RESULT].code, big,
			       (uint32_t)strlen(big));
	free(big);
	kt_shm_guest_close(&g);
	if (r) {
		ktstr_fail(ctx, "writing the oversized result: error %d", r);
		return 0;
	}
	/* no real result after it */
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
