// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM as the host sees it during a run (docs/design.md, decision 5): each
 * NUMA node's memfd mapped shared, addressed by guest-physical address
 * (q35 layout: RAM below 4 GiB up to low_top, the rest from 4 GiB).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/internal.h"
#include "vm/shm.h"

uint64_t kt_vm_guest_ram_size(const struct kt_vm_guest *g)
{
	return g->ram;
}

const volatile void *kt_vm_guest_ptr(const struct kt_vm_guest *g, uint64_t gpa, size_t len)
{
	uint64_t off;
	int n;

	if (gpa < g->low_top) {
		off = gpa;
		if (len > g->low_top - gpa)
			return NULL;
	} else if (gpa >= 0x100000000ull && gpa - 0x100000000ull < g->ram - g->low_top) {
		off = gpa - 0x100000000ull + g->low_top;
	} else {
		return NULL;
	}
	if (off + len > g->ram || off + len < off)
		return NULL;
	n = g->per_node ? (int)(off / g->per_node) : 0;
	if (n > g->nodes - 1)
		n = g->nodes - 1;
	off -= g->per_node * (uint64_t)n;
	if (!g->map[n] || off + len > g->map_len[n])
		return NULL;
	return g->map[n] + off;
}

int kt_vm_guest_read(const struct kt_vm_guest *g, uint64_t gpa, void *buf, size_t len)
{
	const volatile uint8_t *p = kt_vm_guest_ptr(g, gpa, len);

	if (!p)
		return -EFAULT;
	if (len == 8) { /* one untorn load, like the SHM ring's pointers */
		uint64_t v = kt_shm_load_u64(p, 0);

		memcpy(buf, &v, 8);
		return 0;
	}
	memcpy(buf, (const void *)p, len);
	return 0;
}

int kt_vm_guest_write(struct kt_vm_guest *g, uint64_t gpa, const void *buf, size_t len)
{
	volatile uint8_t *p = (volatile uint8_t *)kt_vm_guest_ptr(g, gpa, len);

	if (!p)
		return -EFAULT;
	/* An 8-byte value goes in one store, as the guest kernel reads it. */
	if (len == 8) {
		uint64_t v;

		memcpy(&v, buf, 8);
		kt_shm_store_u64(p, 0, v);
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		p[i] = ((const uint8_t *)buf)[i];
	return 0;
}

int kt_vm_guest_shm_ctrl_set(struct kt_vm_guest *g, unsigned off, uint8_t value)
{
	if (!g->shm)
		return -ENODEV;
	if (off < KT_SHM_CTRL_FIRST || off > KT_SHM_CTRL_LAST)
		return -EINVAL;
	kt_shm_ctrl_set((volatile uint8_t *)g->shm, off, value);
	return 0;
}

int kt_vm_guest_shm_ctrl_get(const struct kt_vm_guest *g, unsigned off)
{
	if (!g->shm)
		return -ENODEV;
	if (off < KT_SHM_CTRL_FIRST || off > KT_SHM_CTRL_LAST)
		return -EINVAL;
	return kt_shm_ctrl_get(g->shm, off);
}

int kt_vm_guest_pid(const struct kt_vm_guest *g)
{
	return g->pid;
}

double kt_vm_guest_elapsed(const struct kt_vm_guest *g)
{
	return (double)(kt_now_ns() - g->t0) / 1e9;
}

void kt_vm_guest_unmap(struct kt_vm_guest *g)
{
	for (int i = 0; i < 64; i++) {
		if (g->map[i])
			munmap(g->map[i], g->map_len[i]);
		g->map[i] = NULL;
	}
}

int kt_vm_guest_map(struct kt_vm_guest *g, const int *memfds, unsigned memory_mb, int nodes)
{
	uint64_t lowmem;

	g->ram = (uint64_t)memory_mb * MB;
	lowmem = g->ram >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
	g->low_top = g->ram < lowmem ? g->ram : lowmem;
	g->nodes = nodes;
	g->per_node = (uint64_t)(memory_mb / (unsigned)nodes) * MB;
	for (int i = 0; i < nodes; i++) {
		uint64_t len =
		    i == nodes - 1 ? g->ram - g->per_node * (uint64_t)(nodes - 1) : g->per_node;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			       memfds[i], 0);

		if (m == MAP_FAILED) {
			int e = -errno;

			kt_vm_guest_unmap(g);
			return e;
		}
		g->map[i] = m;
		g->map_len[i] = len;
	}
	return 0;
}

