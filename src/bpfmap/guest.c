// SPDX-License-Identifier: GPL-2.0
/* The guest's half of the .bpf_map_write handshake (bpfmap.h). */
#include <errno.h>
#include <time.h>

#include "bpfmap/bpfmap.h"
#include "guest/shm.h"
#include "proto/proto.h"
#include "util/util.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int kt_bpfmap_guest_wait(struct kt_shm_guest *ring, char **why)
{
	uint8_t v = 0;

	if (!ring) {
		*why = kt_strdup("bpf_map_write: no SHM ring to hand over to the host");
		return -ENODEV;
	}
	kt_shm_guest_ctrl_set(ring, KT_PROTO_CTRL_TO_HOST, KT_PROTO_SIG_PROBES_READY);
	for (unsigned waited = 0; waited < KT_BPFMAP_GUEST_WAIT_MS; waited += 10) {
		v = kt_shm_guest_ctrl_get(ring, KT_PROTO_CTRL_TO_GUEST);
		if (v == KT_PROTO_SIG_MAP_WRITES_DONE || v == KT_PROTO_SIG_MAP_WRITE_FAILED)
			break;
		sleep_ms(10);
	}
	if (v == KT_PROTO_SIG_MAP_WRITES_DONE) {
		sleep_ms(KT_BPFMAP_SETTLE_MS);
		return 0;
	}
	*why = kt_strdup(v == KT_PROTO_SIG_MAP_WRITE_FAILED
				 ? "bpf_map_write: the host could not write the map"
				 : "bpf_map_write: the host did not write within 10 s");
	return -ETIMEDOUT;
}
