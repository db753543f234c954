// SPDX-License-Identifier: GPL-2.0
/*
 * SHM ring, host side: header setup and a drain that treats the whole
 * region as hostile input. Every byte is read once through volatile
 * accesses into host memory before it is interpreted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "vm/shm.h"

const char *kt_shm_type_name(uint32_t type, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned char ch = (unsigned char)(type >> (24 - 8 * i));

		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	buf[4] = 0;
	return buf;
}

/*
 * The pointers are updated by the other side at any time: read them with one
 * aligned atomic load (never torn) when the address allows, which it does
 * for every page-aligned region; byte-wise only for odd test buffers.
 */
uint32_t kt_shm_load_u32(const volatile uint8_t *region, size_t off)
{
	const volatile uint8_t *p = region + off;
	uint32_t v = 0;

	if (((uintptr_t)p & 3) == 0)
		return __atomic_load_n((const volatile uint32_t *)p, __ATOMIC_ACQUIRE);
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t kt_shm_load_u64(const volatile uint8_t *region, size_t off)
{
	const volatile uint8_t *p = region + off;
	uint64_t v = 0;

	if (((uintptr_t)p & 7) == 0)
		return __atomic_load_n((const volatile uint64_t *)p, __ATOMIC_ACQUIRE);
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void store_u32(volatile uint8_t *region, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		region[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void store_u64(volatile uint8_t *region, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		region[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void kt_shm_store_u64(volatile uint8_t *region, size_t off, uint64_t v)
{
	if (((uintptr_t)(region + off) & 7) == 0)
		__atomic_store_n((volatile uint64_t *)(region + off), v, __ATOMIC_RELEASE);
	else
		store_u64(region, off, v);
}

void kt_shm_store_read_ptr(volatile uint8_t *region, uint64_t read_ptr)
{
	/* Payload reads must complete before the guest may reuse the space. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	kt_shm_store_u64(region, KT_SHM_OFF_READ_PTR, read_ptr);
}

uint8_t kt_shm_ctrl_get(const volatile uint8_t *region, unsigned off)
{
	return region[off];
}

void kt_shm_ctrl_set(volatile uint8_t *region, unsigned off, uint8_t value)
{
	region[off] = value;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int kt_shm_init(void *region, size_t size)
{
	volatile uint8_t *r = region;

	if (!region || size <= KT_SHM_HDR_SIZE + KT_SHM_MSG_HDR_SIZE ||
	    size - KT_SHM_HDR_SIZE > KT_SHM_MAX_CAPACITY)
		return -EINVAL;
	for (size_t i = 0; i < KT_SHM_HDR_SIZE; i++)
		r[i] = 0;
	store_u32(r, KT_SHM_OFF_MAGIC, KT_SHM_MAGIC);
	store_u32(r, KT_SHM_OFF_VERSION, KT_SHM_VERSION);
	store_u32(r, KT_SHM_OFF_CAPACITY, (uint32_t)(size - KT_SHM_HDR_SIZE));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return 0;
}

/* Copy n bytes starting at ring position pos (wrapping at cap) into dst. */
static void ring_copy(uint8_t *dst, const volatile uint8_t *data, uint64_t cap, uint64_t pos,
		      uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		dst[i] = data[pos];
		if (++pos == cap)
			pos = 0;
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int kt_shm_drain(const volatile uint8_t *region, size_t region_size, uint64_t *read_ptr,
		 kt_shm_msg_cb cb, void *ctx)
{
	return kt_shm_drain_limited(region, region_size, read_ptr, NULL, cb, ctx);
}

int kt_shm_drain_limited(const volatile uint8_t *region, size_t region_size,
			 uint64_t *read_ptr, kt_shm_limit_fn limit, kt_shm_msg_cb cb, void *ctx)
{
	const volatile uint8_t *data = region + KT_SHM_HDR_SIZE;
	uint64_t cap, wp, rp = *read_ptr, max_len;
	uint8_t *buf = NULL;
	size_t buf_cap = 0;
	int delivered = 0, ret = 0;

	if (!region || region_size < KT_SHM_HDR_SIZE + KT_SHM_MSG_HDR_SIZE)
		return -EPROTO;
	if (kt_shm_load_u32(region, KT_SHM_OFF_MAGIC) != KT_SHM_MAGIC ||
	    kt_shm_load_u32(region, KT_SHM_OFF_VERSION) != KT_SHM_VERSION)
		return -EPROTO;
	cap = kt_shm_load_u32(region, KT_SHM_OFF_CAPACITY);
	if (cap <= KT_SHM_MSG_HDR_SIZE || cap > KT_SHM_MAX_CAPACITY ||
	    cap > region_size - KT_SHM_HDR_SIZE)
		return -EPROTO;
	/* One snapshot of write_ptr bounds the whole drain. */
	wp = kt_shm_load_u64(region, KT_SHM_OFF_WRITE_PTR);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (wp - rp > cap)
		return -EBADMSG;
	max_len = cap - KT_SHM_MSG_HDR_SIZE;
	if (max_len > KT_SHM_MAX_MSG)
		max_len = KT_SHM_MAX_MSG;

	/* Each iteration consumes >= 16 bytes of at most cap: it terminates. */
	while (wp - rp >= KT_SHM_MSG_HDR_SIZE) {
		uint8_t hdr[KT_SHM_MSG_HDR_SIZE];
		uint32_t type, len, crc;
		uint64_t pos = rp % cap;

		ring_copy(hdr, data, cap, pos, sizeof(hdr));
		type = le32(hdr);
		len = le32(hdr + 4);
		crc = le32(hdr + 8);
		if (len > max_len) {
			ret = -EBADMSG;
			break;
		}
		if (wp - rp - KT_SHM_MSG_HDR_SIZE < len) {
			/* Incomplete: the guest published a pointer inside a message. */
			ret = -EBADMSG;
			break;
		}
		if (limit && len > limit(ctx, type)) {
			/* Over the reader's limit: skipped unread. */
			rp += KT_SHM_MSG_HDR_SIZE + (uint64_t)len;
			*read_ptr = rp;
			delivered++;
			if (cb && cb(ctx, type, NULL, len, false))
				break;
			continue;
		}
		if (len > buf_cap) {
			size_t ncap = buf_cap ? buf_cap : 4096;
			uint8_t *nb;

			while (ncap < len)
				ncap *= 2;
			nb = realloc(buf, ncap);
			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
			buf_cap = ncap;
		}
		pos += KT_SHM_MSG_HDR_SIZE;
		if (pos >= cap)
			pos -= cap;
		ring_copy(buf, data, cap, pos, len);
		rp += KT_SHM_MSG_HDR_SIZE + (uint64_t)len;
		*read_ptr = rp;
		delivered++;
		if (cb &&
		    cb(ctx, type, len ? buf : (const uint8_t *)"", len, kt_crc32(buf, len) == crc))
			break;
	}
	free(buf);
	return ret ? ret : delivered;
}
