// SPDX-License-Identifier: GPL-2.0
/* The run protocol's guest end (runs in the VM): one message, one transport. */
#include <stdlib.h>

#include "guest/shm.h"
#include "proto/proto.h"

int kt_proto_send(const struct kt_proto_tx *tx, enum kt_msg_kind kind, const void *data,
		  uint32_t len)
{
	size_t n;
	char *text;

	if (tx->ring && kt_shm_guest_write(tx->ring, kt_msg_kinds[kind].code, data, len) == 0)
		return 0;
	text = kt_proto_com2_encode(kind, data, len, &n);
	tx->com2_write(tx->ctx, text, n);
	free(text);
	return 1;
}
