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
 * The host side never trusts the region: see kt_shm_drain().
 */
#ifndef KTSTR_VM_SHM_H
#define KTSTR_VM_SHM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_SHM_MAGIC 0x53544D52u
#define KT_SHM_VERSION 1u
#define KT_SHM_HDR_SIZE 40u
#define KT_SHM_MSG_HDR_SIZE 16u
/* Largest capacity the host accepts (as the reference: 1 GiB). */
#define KT_SHM_MAX_CAPACITY (1u << 30)
/* Largest payload the host accepts; longer is treated as corruption. */
#define KT_SHM_MAX_PAYLOAD (16u << 20)
/* Default region size used by the test harness. */
#define KT_SHM_DEFAULT_SIZE (16u << 20)

/* Header offsets. */
#define KT_SHM_OFF_MAGIC 0
#define KT_SHM_OFF_VERSION 4
#define KT_SHM_OFF_CAPACITY 8
#define KT_SHM_OFF_WRITE_PTR 16
#define KT_SHM_OFF_READ_PTR 24
#define KT_SHM_OFF_DROPS 32

/* Control bytes (offset = the enum value). */
enum kt_shm_ctrl {
	KT_SHM_CTRL_DUMP = 12,	   /* host writes 'D': guest triggers sysrq-D, writes 0 */
	KT_SHM_CTRL_STALL = 13,	   /* host writes 'S': guest creates /tmp/ktstr_stall, writes 0 */
	KT_SHM_CTRL_TO_GUEST = 14, /* host->guest: 1 = BPF map writes done, 0xDD = shut down */
	KT_SHM_CTRL_TO_HOST = 15,  /* guest->host: 1 = scheduler started, 2 = probes ready */
};

#define KT_SHM_DUMP_REQUEST 'D'
#define KT_SHM_STALL_REQUEST 'S'
#define KT_SHM_SIG_MAP_WRITES_DONE 1
#define KT_SHM_SIG_SHUTDOWN 0xDD
#define KT_SHM_SIG_SCHED_STARTED 1
#define KT_SHM_SIG_PROBES_READY 2

/* Message types: the ASCII tag read big-endian. */
#define KT_FOURCC(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define KT_SHM_MSG_STIMULUS KT_FOURCC('S', 'T', 'I', 'M')	 /* 24 B, struct below */
#define KT_SHM_MSG_SCENARIO_START KT_FOURCC('S', 'C', 'S', 'T')	 /* empty */
#define KT_SHM_MSG_SCENARIO_END KT_FOURCC('S', 'C', 'E', 'N')	 /* empty */
#define KT_SHM_MSG_EXIT KT_FOURCC('E', 'X', 'I', 'T')		 /* i32 exit code, 4 B */
#define KT_SHM_MSG_TEST_RESULT KT_FOURCC('T', 'E', 'S', 'T')	 /* JSON */
#define KT_SHM_MSG_SCHED_EXIT KT_FOURCC('S', 'C', 'D', 'X')	 /* i32 */
#define KT_SHM_MSG_CRASH KT_FOURCC('C', 'R', 'S', 'H')		 /* "PANIC: ..." text */
#define KT_SHM_MSG_PAYLOAD_METRICS KT_FOURCC('P', 'M', 'E', 'T') /* JSON */
#define KT_SHM_MSG_RAW_OUTPUT KT_FOURCC('R', 'A', 'W', 'O')	 /* JSON */

/* STIMULUS payload (24 bytes, packed, little-endian). */
struct kt_shm_stimulus {
	uint32_t elapsed_ms;
	uint16_t step_index;
	uint16_t op_count;
	uint32_t op_kinds;
	uint16_t cgroup_count;
	uint16_t worker_count;
	uint64_t total_iterations;
} __attribute__((packed));

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
 * Deliver every complete message between *read_ptr and the region's
 * write_ptr to cb, advancing *read_ptr past each delivered message. Payloads
 * are copied out of the region before the CRC check, so cb sees stable bytes
 * (valid only during the call). cb returns 0 to continue, non-zero to stop.
 * Pure: reads only [region, region + region_size) and never writes it.
 *
 * Validation: magic, version, 0 < capacity <= min(region_size - 40, 1 GiB),
 * write_ptr - *read_ptr <= capacity (wrapping u64 arithmetic), each length
 * <= min(capacity - 16, KT_SHM_MAX_PAYLOAD) and the message complete. The
 * loop is bounded by capacity / 16 iterations of one snapshot of write_ptr.
 *
 * Returns the number of messages delivered (>= 0); -EPROTO for a bad header
 * (magic/version/capacity/region too small); -EBADMSG when the pointers or a
 * message length are inconsistent (after delivering the messages before it).
 * -ENOMEM if the payload buffer cannot be allocated.
 */
int kt_shm_drain(const volatile uint8_t *region, size_t region_size, uint64_t *read_ptr,
		 kt_shm_msg_cb cb, void *ctx);

/* Header field accessors over an untrusted region (size >= 40 is the caller's job). */
uint64_t kt_shm_load_u64(const volatile uint8_t *region, size_t off);
uint32_t kt_shm_load_u32(const volatile uint8_t *region, size_t off);
/* An aligned 8-byte store in one piece (byte-wise only when unaligned). */
void kt_shm_store_u64(volatile uint8_t *region, size_t off, uint64_t v);
/* Host publishes its read pointer after a drain. */
void kt_shm_store_read_ptr(volatile uint8_t *region, uint64_t read_ptr);
uint8_t kt_shm_ctrl_get(const volatile uint8_t *region, enum kt_shm_ctrl which);
void kt_shm_ctrl_set(volatile uint8_t *region, enum kt_shm_ctrl which, uint8_t value);

/* ---- guest side ----------------------------------------------------------- */

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
uint8_t kt_shm_guest_ctrl_get(struct kt_shm_guest *g, enum kt_shm_ctrl which);
void kt_shm_guest_ctrl_set(struct kt_shm_guest *g, enum kt_shm_ctrl which, uint8_t value);
uint64_t kt_shm_guest_drops(struct kt_shm_guest *g);

#endif
