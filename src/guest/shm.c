// SPDX-License-Identifier: GPL-2.0
/* SHM ring, guest side: discovery through /proc/cmdline and /dev/mem, writer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/util.h"
#include "guest/shm.h"

static int parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (!n || n > 16)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return -EINVAL;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int kt_shm_parse_cmdline(const char *cmdline, uint64_t *base, uint64_t *size)
{
	static const char kb[] = "KTSTR_SHM_BASE=", ks[] = "KTSTR_SHM_SIZE=";
	bool have_b = false, have_s = false;
	const char *p = cmdline;
	uint64_t b = 0, s = 0;

	if (!p)
		return -ENOENT;
	while (*p) {
		const char *tok;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		tok = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		n = (size_t)(p - tok);
		/* Later occurrences override earlier ones, as kernel parameters do. */
		if (n >= sizeof(kb) - 1 && !memcmp(tok, kb, sizeof(kb) - 1)) {
			if (parse_hex(tok + sizeof(kb) - 1, n - (sizeof(kb) - 1), &b))
				return -EINVAL;
			have_b = true;
		} else if (n >= sizeof(ks) - 1 && !memcmp(tok, ks, sizeof(ks) - 1)) {
			if (parse_hex(tok + sizeof(ks) - 1, n - (sizeof(ks) - 1), &s))
				return -EINVAL;
			have_s = true;
		}
	}
	if (!have_b || !have_s)
		return -ENOENT;
	if (!s || b + s < b)
		return -EINVAL;
	*base = b;
	*size = s;
	return 0;
}

static void guest_reset(struct kt_shm_guest *g)
{
	g->region = NULL;
	g->size = 0;
	g->capacity = 0;
	g->map = NULL;
	g->map_len = 0;
	g->fd = -1;
}

/* Check the host-written header against the region size. */
static int check_header(struct kt_shm_guest *g)
{
	uint32_t cap;

	if (kt_shm_load_u32(g->region, KT_SHM_OFF_MAGIC) != KT_SHM_MAGIC ||
	    kt_shm_load_u32(g->region, KT_SHM_OFF_VERSION) != KT_SHM_VERSION)
		return -EPROTO;
	cap = kt_shm_load_u32(g->region, KT_SHM_OFF_CAPACITY);
	if (cap <= KT_SHM_MSG_HDR_SIZE || cap > g->size - KT_SHM_HDR_SIZE)
		return -EPROTO;
	g->capacity = cap;
	return 0;
}

int kt_shm_guest_attach(struct kt_shm_guest *g, void *mem, size_t size)
{
	guest_reset(g);
	if (!mem || size <= KT_SHM_HDR_SIZE + KT_SHM_MSG_HDR_SIZE)
		return -EINVAL;
	g->region = mem;
	g->size = size;
	if (check_header(g)) {
		guest_reset(g);
		return -EINVAL;
	}
	pthread_mutex_init(&g->lock, NULL);
	return 0;
}

int kt_shm_guest_open(struct kt_shm_guest *g, char **err)
{
	uint64_t base, size, off;
	long page = sysconf(_SC_PAGESIZE);
	char *cmdline = NULL;
	void *map;
	int fd, r;

	guest_reset(g);
	r = kt_read_file("/proc/cmdline", &cmdline, NULL, 1 << 20);
	if (r) {
		*err = kt_asprintf("/proc/cmdline: %s", strerror(-r));
		return r;
	}
	r = kt_shm_parse_cmdline(cmdline, &base, &size);
	free(cmdline);
	if (r == -ENOENT) {
		*err = kt_strdup("/proc/cmdline: no KTSTR_SHM_BASE=/KTSTR_SHM_SIZE=");
		return r;
	}
	if (r) {
		*err = kt_strdup("/proc/cmdline: malformed KTSTR_SHM_BASE=/KTSTR_SHM_SIZE=");
		return r;
	}
	if (size <= KT_SHM_HDR_SIZE + KT_SHM_MSG_HDR_SIZE ||
	    size > KT_SHM_MAX_CAPACITY + (uint64_t)KT_SHM_HDR_SIZE) {
		*err = kt_asprintf("KTSTR_SHM_SIZE=%#llx: out of range", (unsigned long long)size);
		return -EINVAL;
	}
	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		*err = kt_asprintf("/dev/mem: %s", strerror(errno));
		return r;
	}
	off = base & ~(uint64_t)(page - 1);
	map = mmap(NULL, (size_t)(size + (base - off)), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)off);
	if (map == MAP_FAILED) {
		r = -errno;
		*err = kt_asprintf("/dev/mem: mmap %#llx+%#llx: %s", (unsigned long long)base,
				   (unsigned long long)size, strerror(errno));
		close(fd);
		return r;
	}
	g->map = map;
	g->map_len = (size_t)(size + (base - off));
	g->fd = fd;
	g->region = (volatile uint8_t *)map + (base - off);
	g->size = (size_t)size;
	if (check_header(g)) {
		*err = kt_asprintf("SHM ring at %#llx: bad header (magic %#x, capacity %u)",
				   (unsigned long long)base,
				   kt_shm_load_u32(g->region, KT_SHM_OFF_MAGIC),
				   kt_shm_load_u32(g->region, KT_SHM_OFF_CAPACITY));
		munmap(map, g->map_len);
		close(fd);
		guest_reset(g);
		return -EPROTO;
	}
	pthread_mutex_init(&g->lock, NULL);
	return 0;
}

void kt_shm_guest_close(struct kt_shm_guest *g)
{
	if (!g->region)
		return;
	if (g->map)
		munmap(g->map, g->map_len);
	if (g->fd >= 0)
		close(g->fd);
	pthread_mutex_destroy(&g->lock);
	guest_reset(g);
}

/* One aligned atomic store (the host must never see a torn pointer). */
static void put_u64(volatile uint8_t *p, uint64_t v)
{
	if (((uintptr_t)p & 7) == 0) {
		__atomic_store_n((volatile uint64_t *)p, v, __ATOMIC_RELEASE);
		return;
	}
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void add_drop(struct kt_shm_guest *g)
{
	uint64_t d = kt_shm_load_u64(g->region, KT_SHM_OFF_DROPS);

	if (d != UINT64_MAX)
		put_u64(g->region + KT_SHM_OFF_DROPS, d + 1);
}

/* Copy n bytes to ring position pos, wrapping at the capacity. */
static void ring_put(struct kt_shm_guest *g, uint64_t pos, const void *src, size_t n)
{
	volatile uint8_t *data = g->region + KT_SHM_HDR_SIZE;
	const uint8_t *s = src;
	size_t first = n;

	if (pos + n > g->capacity)
		first = (size_t)(g->capacity - pos);
	memcpy((uint8_t *)(uintptr_t)(data + pos), s, first);
	if (first < n)
		memcpy((uint8_t *)(uintptr_t)data, s + first, n - first);
}

int kt_shm_guest_write(struct kt_shm_guest *g, uint32_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[KT_SHM_MSG_HDR_SIZE];
	uint64_t wp, rp, used, need, pos;
	uint32_t crc;
	int r = 0;

	if (!g || !g->region)
		return -EINVAL;
	if (len && !payload)
		return -EINVAL;
	crc = kt_crc32(payload, len);
	for (int i = 0; i < 4; i++) {
		hdr[i] = (uint8_t)(type >> (8 * i));
		hdr[4 + i] = (uint8_t)(len >> (8 * i));
		hdr[8 + i] = (uint8_t)(crc >> (8 * i));
		hdr[12 + i] = 0;
	}
	need = KT_SHM_MSG_HDR_SIZE + (uint64_t)len;
	pthread_mutex_lock(&g->lock);
	wp = kt_shm_load_u64(g->region, KT_SHM_OFF_WRITE_PTR);
	rp = kt_shm_load_u64(g->region, KT_SHM_OFF_READ_PTR);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	used = wp - rp;
	if (need > g->capacity) {
		add_drop(g);
		r = -EMSGSIZE;
	} else if (used > g->capacity || used + need > g->capacity) {
		/* Full (or a read_ptr the host never wrote: treat as full). */
		add_drop(g);
		r = -ENOSPC;
	} else {
		pos = wp % g->capacity;
		ring_put(g, pos, hdr, sizeof(hdr));
		pos = (pos + KT_SHM_MSG_HDR_SIZE) % g->capacity;
		if (len)
			ring_put(g, pos, payload, len);
		/* Publish last: the host must never see the pointer before the bytes. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		put_u64(g->region + KT_SHM_OFF_WRITE_PTR, wp + need);
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

uint8_t kt_shm_guest_ctrl_get(struct kt_shm_guest *g, unsigned off)
{
	return g->region ? kt_shm_ctrl_get(g->region, off) : 0;
}

void kt_shm_guest_ctrl_set(struct kt_shm_guest *g, unsigned off, uint8_t value)
{
	if (g->region)
		kt_shm_ctrl_set(g->region, off, value);
}

uint64_t kt_shm_guest_drops(struct kt_shm_guest *g)
{
	return g->region ? kt_shm_load_u64(g->region, KT_SHM_OFF_DROPS) : 0;
}
