/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the VM engine: the state of one run, shared by its parts.
 *   vm.c               kt_vm_run: check, prepare, start, collect, clean up
 *   watch.c            the loop watching COM1, COM2, the SHM ring, the
 *                      machine process, the terminal and the timeout
 *   guestmem.c         guest RAM access for on_tick (struct kt_vm_guest)
 *   tty.c              the host terminal in raw mode (interactive runs)
 *   initramfs_build.c  the initramfs: cached base + the caller's files
 */
#ifndef KTSTR_VM_INTERNAL_H
#define KTSTR_VM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"
#include "vm/com2.h"
#include "vm/conlog.h"
#include "vm/vm.h"
#include "vm/vmm.h"

#define MB (1024ull * 1024)
#define TAIL_LINE_MAX 512

struct kt_cpio;

struct linebuf {
	char buf[KT_VM_LINE_MAX + 1];
	size_t len;
};

struct tail {
	char lines[KT_VM_TAIL_LINES][TAIL_LINE_MAX];
	unsigned next, count;
};

struct kt_vm_guest {
	uint64_t ram;	   /* bytes */
	uint64_t low_top;  /* RAM below 4 GiB */
	uint64_t per_node; /* bytes per node (the last node gets the rest) */
	int nodes;
	uint8_t *map[64]; /* whole RAM of each node, MAP_SHARED */
	uint64_t map_len[64];
	volatile uint8_t *shm;
	uint64_t t0;
	int pid; /* the machine process */
};

struct run {
	const struct kt_vm_config *cfg;
	struct kt_vm_result *res;
	int com1, com2, logfd;
	struct kt_conlog conlog; /* console.log, bounded */
	struct linebuf l1;
	struct kt_com2 *com2p;
	struct tail t1, t2;
	bool raw_relay; /* interactive and the guest shell is up */
	struct sbuf qerr;
	uint64_t t0, panic_at;
	/* SHM */
	volatile uint8_t *shm;
	size_t shm_size;
	void *shm_map;
	size_t shm_map_len;
	uint64_t shm_rp;
	/* terminal */
	bool tty_raw;
	struct kt_term_filter dmesg_filter; /* --dmesg: the console, terminal-safe */
	struct kt_vm_guest guest;
	uint64_t next_tick;
};

/* watch.c */
/* The COM2 reader's line callback (ctx: the run). */
void kt_vm_com2_line(void *ctx, const char *line, size_t len, bool cut, bool lifecycle);
int kt_vm_watch(struct run *r, struct kt_vmm *vm);
/* After the machine stopped: last SHM messages, unfinished lines. */
void kt_vm_watch_finish(struct run *r);
/* The last max lines of a tail, '\n'-terminated (malloc'd). */
char *kt_vm_tail_str(const struct tail *t, unsigned max);
/* Write all of buf; sock: fd is a socket of the machine (EPIPE, never SIGPIPE). */
void kt_vm_put_all(int fd, const void *buf, size_t n, bool sock);

/* guestmem.c */
int kt_vm_guest_map(struct kt_vm_guest *g, const int *memfds, unsigned memory_mb, int nodes);
void kt_vm_guest_unmap(struct kt_vm_guest *g);

/* tty.c: stdin in raw mode, restored on exit and on termination signals. */
int kt_vm_tty_raw(bool *raw);
void kt_vm_tty_restore(bool *raw);

/* initramfs_build.c */
int kt_vm_build_initramfs(struct kt_cpio *user, const char *out_path, size_t *cpio_len,
			  size_t *initrd_len, char **err);

#endif
