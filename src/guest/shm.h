/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest side of the SHM ring (layout: src/vm/shm.h): find the region the
 * host announced on the kernel command line, map it through /dev/mem and
 * append messages. Runs inside the VM only.
 */
#ifndef KTSTR_GUEST_SHM_H
#define KTSTR_GUEST_SHM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/shm.h"

struct kt_shm_guest {
	volatile uint8_t *region; /* header start */
	size_t size;		  /* region size (header + data) */
	uint32_t capacity;
	void *map; /* mmap base (NULL when attached to caller memory) */
	size_t map_len;
	int fd; /* /dev/mem, -1 when attached */
	pthread_mutex_t lock;
};

/*
 * Parse KTSTR_SHM_BASE= and KTSTR_SHM_SIZE= (hex, optional 0x/0X) from a
 * kernel command line. 0 on success; -ENOENT if either key is absent,
 * -EINVAL if a value is malformed, zero-sized or base + size overflows.
 */
int kt_shm_parse_cmdline(const char *cmdline, uint64_t *base, uint64_t *size);

/*
 * Read /proc/cmdline, open /dev/mem O_RDWR|O_SYNC and mmap the region
 * MAP_SHARED (page-aligned). Checks the header magic/capacity written by the
 * host. On failure g is left closed and *err says why.
 */
int kt_shm_guest_open(struct kt_shm_guest *g, char **err);
/*
 * Use caller memory (tests, or a region the caller mapped) as the ring. The
 * header must already be valid (kt_shm_init). -EINVAL otherwise.
 */
int kt_shm_guest_attach(struct kt_shm_guest *g, void *mem, size_t size);
void kt_shm_guest_close(struct kt_shm_guest *g);
/*
 * Append one message (thread-safe). Writes header and payload, then
 * publishes write_ptr with a release store. 0 on success; -ENOSPC when the
 * ring is full (drops is incremented), -EMSGSIZE if the message can never
 * fit, -EINVAL if g is not open.
 */
int kt_shm_guest_write(struct kt_shm_guest *g, uint32_t type, const void *payload, uint32_t len);
uint8_t kt_shm_guest_ctrl_get(struct kt_shm_guest *g, unsigned off);
void kt_shm_guest_ctrl_set(struct kt_shm_guest *g, unsigned off, uint8_t value);
uint64_t kt_shm_guest_drops(struct kt_shm_guest *g);

#endif
