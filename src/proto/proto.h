/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run protocol: what a test binary's guest side (mode "run",
 * src/guest/run.c) tells its host side (src/runner/host.c) during a test.
 * This module owns both ends and the vocabulary; the VM engine (src/vm)
 * only carries the bytes (SHM ring messages and COM2 lines) and knows
 * none of it.
 *
 *   proto.h     vocabulary, transport rule, both ends' interfaces (here)
 *   proto.c     the message table and the COM2 encoding (both sides)
 *   host.c      the host's reader (runs on the host)
 *   guest.c     the guest's writer (runs in the VM)
 *
 * Transport rule: each message is sent exactly once.
 *  - A message goes into the SHM ring (src/vm/shm.h) as one ring message
 *    whose type is its kind's four-character code.
 *  - Only when the ring cannot take it (the guest could not map the ring,
 *    or the ring is full) does the guest send it over COM2 instead, as
 *    lines of at most KT_PROTO_PIECE raw bytes each:
 *	KTSTR_MSG+ NAME <escaped piece>		more pieces follow
 *	KTSTR_MSG NAME <escaped piece>		the last (or only) piece
 *    Escaped: bytes 0x21..0x7e other than '%' stand for themselves, every
 *    other byte is %XX (two uppercase hex digits). A garbage prefix before
 *    "KTSTR_MSG" (output without a newline) is ignored.
 *  - COM2 otherwise carries the guest init's lifecycle lines (the engine's:
 *    KTSTR_INIT_STARTED, KTSTR_EXIT=...) and free-form guest output.
 *
 * Limits: the host checks each message's length against its kind's
 * [min_len, max_len] BEFORE reading it (SHM: before copying it out of
 * guest memory; COM2: while collecting the pieces). A message outside
 * them is not delivered and the run fails with "guest sent an oversized
 * test result (N bytes; the limit is M)" (or "a malformed ..."). Unknown
 * kinds are skipped unread. Messages with a bad CRC are dropped.
 *
 * Adding a message kind: a line in enum kt_msg_kind and in the table in
 * proto.c (code, name, limits); the host's handler (src/runner/host.c)
 * decides what it means.
 */
#ifndef KTSTR_PROTO_PROTO_H
#define KTSTR_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- vocabulary ------------------------------------------------------------ */

enum kt_msg_kind {
	KT_MSG_TEST_RESULT,	   /* "TEST" AssertResult JSON (check/check.h) */
	KT_MSG_SCHED_EXIT,	   /* "SCDX" i32 wait status: scheduler died mid-test */
	KT_MSG_SCHED_NOT_ATTACHED, /* "SCNA" text: why it never attached */
	KT_MSG_SCHED_LOG,	   /* "SLOG" text: the scheduler's output (its tail) */
	KT_MSG_DUMP,		   /* "DUMP" text: one sched_ext_dump trace line */
	KT_MSG_STAGE,		   /* "STGE" text: how far the guest got */
	KT_MSG_SCENARIO_START,	   /* "SCST" u64 guest CLOCK_MONOTONIC ns (or empty) */
	KT_MSG_STIMULUS,	   /* "STIM" struct kt_msg_stimulus */
	KT_MSG_SCENARIO_END,	   /* "SCEN" u32 elapsed ms */
	KT_MSG_FACTS,		   /* "FACT" JSON object: measured facts for the sidecar */
	KT_MSG__COUNT
};

struct kt_msg_kind_info {
	uint32_t code;	  /* SHM message type (KT_FOURCC) */
	const char *name; /* the four letters, also the COM2 name */
	const char *what; /* for messages: "test result" */
	uint32_t min_len, max_len;
};

extern const struct kt_msg_kind_info kt_msg_kinds[KT_MSG__COUNT];

/* The kind of an SHM message type, or -1. */
int kt_msg_kind_of(uint32_t code);
/* Largest length accepted for an SHM message type (0 for unknown types). */
uint32_t kt_msg_max_len(uint32_t code);

/* Longest test result the host accepts (see proto.c for the reasoning). */
#define KT_MSG_TEST_RESULT_MAX (512u << 10)
/* Longest scheduler log: the guest sends the log's last this many bytes. */
#define KT_MSG_SCHED_LOG_MAX (256u << 10)
#define KT_MSG_LINE_MAX 4096u

/* STIMULUS payload (24 bytes, packed, little-endian). */
struct kt_msg_stimulus {
	uint32_t elapsed_ms;
	uint16_t step_index;
	uint16_t op_count;
	uint32_t op_kinds;
	uint16_t cgroup_count;
	uint16_t worker_count;
	uint64_t total_iterations;
} __attribute__((packed));

/* Size of the SHM ring a test run asks the VM engine for. */
#define KT_PROTO_SHM_SIZE (16u << 20)

/* SHM control bytes (offsets in the ring header) and their values. */
#define KT_PROTO_CTRL_DUMP 12     /* host -> guest: a sched_ext dump, please */
#define KT_PROTO_SIG_DUMP 'D'     /* the guest runs SysRq-D, then writes 0 back */
#define KT_PROTO_CTRL_TO_GUEST 14 /* host -> guest */
#define KT_PROTO_CTRL_TO_HOST 15  /* guest -> host */
#define KT_PROTO_SIG_MAP_WRITES_DONE 1 /* to guest: BPF map writes done */
#define KT_PROTO_SIG_MAP_WRITE_FAILED 2 /* to guest: the host could not write (bpfmap.h) */
#define KT_PROTO_SIG_SHUTDOWN 0xDD     /* to guest: shut down */
#define KT_PROTO_SIG_SCHED_STARTED 1   /* to host: the scheduler attached */
#define KT_PROTO_SIG_PROBES_READY 2    /* to host: probes are ready */

/* ---- COM2 form (both sides, pure) ------------------------------------------ */

#define KT_PROTO_PIECE 2048u

/*
 * The COM2 lines of one message (each ending in '\n'), malloc'd, *out_len
 * bytes.
 */
char *kt_proto_com2_encode(enum kt_msg_kind kind, const void *data, size_t len,
			   size_t *out_len);

/* ---- host: the reader -------------------------------------------------------- */

struct kt_proto_rx;

/* A valid message (data valid during the call only). */
typedef void (*kt_proto_msg_fn)(void *ctx, enum kt_msg_kind kind, const void *data,
				uint32_t len);

struct kt_proto_rx *kt_proto_rx_new(kt_proto_msg_fn fn, void *ctx);
void kt_proto_rx_free(struct kt_proto_rx *rx);
/*
 * One SHM message as the engine delivers it; data NULL when it was longer
 * than kt_msg_max_len(type) and left unread.
 */
void kt_proto_rx_shm(struct kt_proto_rx *rx, uint32_t type, const void *data, uint32_t len,
		     bool crc_ok);
/*
 * One COM2 line (without its line end; cut: the guest sent more than the
 * engine keeps). true when it is a protocol line (consumed), false for
 * guest output.
 */
bool kt_proto_rx_line(struct kt_proto_rx *rx, const char *line, size_t len, bool cut);
/* End of the run: a message left unfinished on COM2 is an error. */
void kt_proto_rx_finish(struct kt_proto_rx *rx);
/* The first protocol violation ("guest sent an oversized ..."), or NULL. */
const char *kt_proto_rx_error(const struct kt_proto_rx *rx);

/* ---- guest: the writer ------------------------------------------------------- */

struct kt_shm_guest;

struct kt_proto_tx {
	struct kt_shm_guest *ring; /* NULL: no ring, COM2 only */
	/* Write whole lines to COM2 (len bytes, atomically w.r.t. other output). */
	void (*com2_write)(void *ctx, const char *text, size_t len);
	void *ctx;
};

/*
 * Send one message by the rule above. 0 when it went into the ring, 1 when
 * it went over COM2.
 */
int kt_proto_send(const struct kt_proto_tx *tx, enum kt_msg_kind kind, const void *data,
		  uint32_t len);

#endif
