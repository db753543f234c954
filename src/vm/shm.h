/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHM ring: the structured guest->host channel in a reserved region of guest
 * RAM (KTSTR_SHM_BASE / KTSTR_SHM_SIZE on the kernel command line).
 *
 * Layout (little-endian), 40-byte header then the data area:
 *   0  u32 magic "STMR" (0x53544D52)   4 u32 version (1)
 *   8  u32 capacity = size - 40        12..15 u8 control bytes (below)
 *   16 u64 write_ptr (guest-owned)     24 u64 read_ptr (host-owned)
 *   32 u64 drops (messages lost to a full ring)
 * Messages are laid back to back: {u32 type, u32 len, u32 crc32, u32 pad=0}
 * + len payload bytes; byte i of a message starting at pointer p is at
 * data[(p % capacity + i) % capacity]. Pointers are monotonic u64.
 * crc32 is zlib's IEEE CRC over the payload only.
 *
 * The host side never trusts the region: see kt_shm_drain(). The guest's
 * writer is src/guest/shm.c; what the messages mean is the business of
 * whoever runs in the guest (the run protocol: src/proto/proto.h).
 */
#ifndef KTSTR_VM_SHM_H
#define KTSTR_VM_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_SHM_MAGIC 0x53544D52u
#define KT_SHM_VERSION 1u
#define KT_SHM_HDR_SIZE 40u
#define KT_SHM_MSG_HDR_SIZE 16u
/* Largest capacity the host accepts (as the reference: 1 GiB). */
#define KT_SHM_MAX_CAPACITY (1u << 30)
/* Longest message the host accepts; longer is treated as corruption. */
#define KT_SHM_MAX_MSG (16u << 20)

/* Header offsets. */
#define KT_SHM_OFF_MAGIC 0
#define KT_SHM_OFF_VERSION 4
#define KT_SHM_OFF_CAPACITY 8
#define KT_SHM_OFF_WRITE_PTR 16
#define KT_SHM_OFF_READ_PTR 24
#define KT_SHM_OFF_DROPS 32

/* Control bytes: offsets 12..15, free for the ring's users to define. */
#define KT_SHM_CTRL_FIRST 12
#define KT_SHM_CTRL_LAST 15

/* Message types are four-character codes: the ASCII tag read big-endian. */
#define KT_FOURCC(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* "STIM" etc. for a type (buf >= 5 bytes); non-printable bytes become '?'. */
const char *kt_shm_type_name(uint32_t type, char buf[5]);

/* ---- host side ------------------------------------------------------------ */

/*
 * Write a fresh header (magic, version, capacity = size - 40, zero control
 * bytes and pointers). -EINVAL if size <= 40 + 16 or capacity > 1 GiB.
 */
int kt_shm_init(void *region, size_t size);

typedef int (*kt_shm_msg_cb)(void *ctx, uint32_t type, const uint8_t *payload, uint32_t len,
			     bool crc_ok);

/*
 * Optional per-type length limit for a drain: a message longer than
 * limit(ctx, type) is not read; the callback gets it with payload NULL,
 * its announced length and crc_ok false.
 */
typedef uint32_t (*kt_shm_limit_fn)(void *ctx, uint32_t type);

/*
 * Deliver every complete message between *read_ptr and the region's
 * write_ptr to cb, advancing *read_ptr past each delivered message. Payloads
 * are copied out of the region before the CRC check, so cb sees stable bytes
 * (valid only during the call). cb returns 0 to continue, non-zero to stop.
 * Pure: reads only [region, region + region_size) and never writes it.
 *
 * Validation: magic, version, 0 < capacity <= min(region_size - 40, 1 GiB),
 * write_ptr - *read_ptr <= capacity (wrapping u64 arithmetic), each length
 * <= min(capacity - 16, KT_SHM_MAX_MSG) and the message complete. The
 * loop is bounded by capacity / 16 iterations of one snapshot of write_ptr.
 *
 * Returns the number of messages delivered (>= 0); -EPROTO for a bad header
 * (magic/version/capacity/region too small); -EBADMSG when the pointers or a
 * message length are inconsistent (after delivering the messages before it).
 * -ENOMEM if the payload buffer cannot be allocated.
 */
int kt_shm_drain(const volatile uint8_t *region, size_t region_size, uint64_t *read_ptr,
		 kt_shm_msg_cb cb, void *ctx);
/* The same with a length limit per type (see kt_shm_limit_fn); limit may be NULL. */
int kt_shm_drain_limited(const volatile uint8_t *region, size_t region_size,
			 uint64_t *read_ptr, kt_shm_limit_fn limit, kt_shm_msg_cb cb, void *ctx);

/* Header field accessors over an untrusted region (size >= 40 is the caller's job). */
uint64_t kt_shm_load_u64(const volatile uint8_t *region, size_t off);
uint32_t kt_shm_load_u32(const volatile uint8_t *region, size_t off);
/* An aligned 8-byte store in one piece (byte-wise only when unaligned). */
void kt_shm_store_u64(volatile uint8_t *region, size_t off, uint64_t v);
/* Host publishes its read pointer after a drain. */
void kt_shm_store_read_ptr(volatile uint8_t *region, uint64_t read_ptr);
/* Control byte at offset off (KT_SHM_CTRL_FIRST..KT_SHM_CTRL_LAST). */
uint8_t kt_shm_ctrl_get(const volatile uint8_t *region, unsigned off);
void kt_shm_ctrl_set(volatile uint8_t *region, unsigned off, uint8_t value);

#endif
