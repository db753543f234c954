// SPDX-License-Identifier: GPL-2.0
/*
 * Pure parts of a VM run: memory sizing, the guest-physical layout of RAM,
 * the kernel command line, and kernel image checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"
#include "vm/vm.h"

#define MB (1024ull * 1024)

static unsigned ceil_mb(uint64_t bytes)
{
	return (unsigned)((bytes + MB - 1) / MB);
}

/* Room the initramfs needs: archive copy + unpacked files + compressed image. */
static unsigned initramfs_mb(size_t cpio_len, size_t initrd_len, size_t shm_size)
{
	return 2 * ceil_mb(cpio_len) + ceil_mb(initrd_len) + ceil_mb(shm_size);
}

unsigned kt_vm_memory_estimate(const struct kt_topo_spec *t, size_t cpio_len, size_t initrd_len,
			       size_t shm_size)
{
	unsigned base = (unsigned)kt_topo_spec_cpus(t) * 64;

	if (base < 256)
		base = 256;
	return base + initramfs_mb(cpio_len, initrd_len, shm_size);
}

#define MEM_MIN_MB 128
#define MEM_KERNEL_MB 96 /* kernel, page tables and a shell's working set */
#define MEM_MAX_MB (1024u * 1024)

int kt_vm_memory_check(unsigned memory_mb, size_t cpio_len, size_t initrd_len, size_t shm_size,
		       char **err)
{
	unsigned need = MEM_KERNEL_MB + initramfs_mb(cpio_len, initrd_len, shm_size);

	if (memory_mb < MEM_MIN_MB) {
		*err = kt_asprintf("--memory-mb %u: must be at least %u", memory_mb, MEM_MIN_MB);
		return -EINVAL;
	}
	if (memory_mb > MEM_MAX_MB) {
		*err = kt_asprintf("--memory-mb %u: more than %u MiB is not supported", memory_mb,
				   MEM_MAX_MB);
		return -EINVAL;
	}
	if (memory_mb < need) {
		*err = kt_asprintf("--memory-mb %u: too small for this initramfs (%u MiB "
				   "uncompressed, %u MiB compressed%s); need at least %u",
				   memory_mb, ceil_mb(cpio_len), ceil_mb(initrd_len),
				   shm_size ? " plus the SHM ring" : "", need);
		return -EINVAL;
	}
	return 0;
}

/*
 * q35 (QEMU pc_q35_init): with at least 0xb0000000 bytes of RAM the first
 * 2 GiB stay below 4 GiB and the rest moves to 4 GiB; otherwise all RAM up
 * to 0xb0000000 is below 4 GiB.
 */
uint64_t kt_vm_ram_gpa(uint64_t ram_size, uint64_t off)
{
	uint64_t lowmem = ram_size >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
	uint64_t below = ram_size < lowmem ? ram_size : lowmem;

	if (off < below)
		return off;
	return 0x100000000ull + (off - below);
}

#define SHM_ALIGN (2 * MB)
#define SHM_INITRD_MARGIN (16 * MB) /* firmware tables (ACPI) above the initrd */
#define SHM_MIN_OFFSET (96 * MB)    /* kernel image from 16 MiB */

int kt_vm_shm_offset(unsigned memory_mb, int nodes, size_t initrd_len, size_t shm_size,
		     uint64_t *off, int *node, uint64_t *node_off)
{
	uint64_t ram = (uint64_t)memory_mb * MB;
	uint64_t lowmem = ram >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
	uint64_t low_top = ram < lowmem ? ram : lowmem;
	uint64_t reserve = (initrd_len + SHM_ALIGN - 1) / SHM_ALIGN * SHM_ALIGN + SHM_INITRD_MARGIN;
	uint64_t per = (uint64_t)(memory_mb / (unsigned)nodes) * MB, o, start, end;
	int n;

	if (!shm_size || nodes < 1 || low_top < reserve + shm_size + SHM_MIN_OFFSET)
		return -ENOSPC;
	o = (low_top - reserve - shm_size) / SHM_ALIGN * SHM_ALIGN;
	n = per ? (int)(o / per) : 0;
	if (n > nodes - 1)
		n = nodes - 1;
	start = per * (uint64_t)n;
	end = n == nodes - 1 ? ram : start + per;
	if (o + shm_size > end) {
		if (end - start < shm_size)
			return -ENOSPC;
		o = (end - shm_size) / SHM_ALIGN * SHM_ALIGN;
		if (o < start)
			return -ENOSPC;
	}
	if (o < SHM_MIN_OFFSET)
		return -ENOSPC;
	*off = o;
	*node = n;
	*node_off = o - start;
	return 0;
}

/* A value forwarded on the command line must be one plain word. */
static bool plain_word(const char *s)
{
	if (!s || !*s || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s == '"' || *s == '\'' || *s == '\\' || *s >= 0x7f)
			return false;
	return true;
}

char *kt_vm_build_cmdline(const struct kt_vm_plan *p)
{
	struct sbuf sb = SBUF_INIT;
	char topo[KT_TOPO_SPEC_STRLEN];

	sb_adds(&sb, "console=ttyS0 nomodules mitigations=off no_timer_check "
		     "random.trust_cpu=on swiotlb=noforce i8042.noaux i8042.nomux i8042.nopnp "
		     "i8042.dumbkbd reboot=k panic=-1 iomem=relaxed lockdown=none "
		     "sysctl.kernel.unprivileged_bpf_disabled=0 sysctl.kernel.sched_schedstats=1 "
		     "numa_balancing=0 rdinit=/init");
	if (p->no_kaslr)
		sb_adds(&sb, " nokaslr");
	if (p->verbose)
		sb_adds(&sb, " earlyprintk=serial,ttyS0 loglevel=7");
	else if (p->dmesg)
		sb_adds(&sb, " loglevel=7");
	else
		sb_adds(&sb, " loglevel=4");
	if (p->shm_size) {
		uint64_t ram = (uint64_t)p->memory_mb * MB;
		uint64_t base = kt_vm_ram_gpa(ram, p->shm_offset);

		sb_addf(&sb, " memmap=0x%zx$0x%llx KTSTR_SHM_BASE=0x%llx KTSTR_SHM_SIZE=0x%zx",
			p->shm_size, (unsigned long long)base, (unsigned long long)base,
			p->shm_size);
	}
	if (p->mode && plain_word(p->mode))
		sb_addf(&sb, " KTSTR_MODE=%s", p->mode);
	/* Guest init checks that sysfs matches it (kt_hwtopo_check). */
	kt_topo_spec_format(p->topo, topo, sizeof(topo));
	sb_addf(&sb, " KTSTR_TOPO=%s", topo);
	/* Lets guest-side timeouts scale with emulation speed (kt_guest_slow()). */
	sb_addf(&sb, " KTSTR_ACCEL=%s", p->accel == KT_ACCEL_KVM ? "kvm" : "tcg");
	if (plain_word(p->term))
		sb_addf(&sb, " KTSTR_TERM=%s", p->term);
	if (plain_word(p->colorterm))
		sb_addf(&sb, " KTSTR_COLORTERM=%s", p->colorterm);
	if (p->cols > 0 && p->rows > 0)
		sb_addf(&sb, " KTSTR_COLS=%d KTSTR_ROWS=%d", p->cols, p->rows);
	if (p->verbose)
		sb_adds(&sb, " KTSTR_VERBOSE=1");
	for (const char *const *e = p->cmdline_extra; e && *e; e++)
		if (**e)
			sb_addf(&sb, " %s", *e);
	return sb_steal(&sb);
}

/* ---- kernel images --------------------------------------------------------- */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* ELF with a Xen PHYS32_ENTRY note and loadable segments present in the file. */
static bool elf_pvh(int fd)
{
	Elf *e;
	size_t n = 0;
	bool note = false, loads = false, ok = true;
	off_t fsize = lseek(fd, 0, SEEK_END);

	if (elf_version(EV_CURRENT) == EV_NONE)
		return false;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return false;
	if (elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64 || elf_getphdrnum(e, &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && ph.p_memsz) {
			loads = true;
			if (ph.p_filesz == 0 || ph.p_offset + ph.p_filesz > (uint64_t)fsize)
				ok = false;
		}
		if (ph.p_type == PT_NOTE && ph.p_filesz && ph.p_filesz < (1u << 20)) {
			Elf_Data *d =
			    elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
			size_t off = 0, noff, doff;
			GElf_Nhdr nh;

			while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
				if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
				    !memcmp((char *)d->d_buf + noff, "Xen", 4))
					note = true;
			}
		}
	}
out:
	elf_end(e);
	return note && loads && ok;
}

const char *kt_vm_pick_image(const char *kernel, const char *vmlinux_pvh, bool kaslr,
			     int randomize_base)
{
	if (kernel && kaslr && randomize_base != 0)
		return kernel;
	return vmlinux_pvh ? vmlinux_pvh : kernel;
}

bool kt_vm_image_has_pvh(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool r;

	if (fd < 0)
		return false;
	r = elf_pvh(fd);
	close(fd);
	return r;
}

int kt_vm_check_image(const char *path, char **err)
{
	unsigned char hdr[0x210];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		*err = kt_asprintf("kernel image %s: %s", path, strerror(e));
		return -e;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n >= 4 && !memcmp(hdr, "\177ELF", 4)) {
		bool ok = elf_pvh(fd);

		close(fd);
		if (ok)
			return 0;
		*err = kt_asprintf("kernel image %s: ELF without a PVH entry note (need a "
				   "bzImage or a vmlinux built with CONFIG_PVH=y)",
				   path);
		return -EINVAL;
	}
	if (n == (ssize_t)sizeof(hdr) && !memcmp(hdr + 0x202, "HdrS", 4) && hdr[0x1fe] == 0x55 &&
	    hdr[0x1ff] == 0xaa) {
		/* The boot protocol's sizes: setup_sects (0 means 4) and syssize. */
		uint32_t syssize = (uint32_t)hdr[0x1f4] | (uint32_t)hdr[0x1f5] << 8 |
				   (uint32_t)hdr[0x1f6] << 16 | (uint32_t)hdr[0x1f7] << 24;
		uint64_t want = ((uint64_t)(hdr[0x1f1] ? hdr[0x1f1] : 4) + 1) * 512 +
				(uint64_t)syssize * 16;
		off_t size = lseek(fd, 0, SEEK_END);

		close(fd);
		if (size >= 0 && (uint64_t)size < want) {
			*err = kt_asprintf("kernel image %s: truncated (%lld bytes, its header "
					   "says %llu)",
					   path, (long long)size, (unsigned long long)want);
			return -EINVAL;
		}
		return 0;
	}
	close(fd);
	*err = kt_asprintf("kernel image %s: not a bootable x86 kernel (no bzImage header, "
			   "not a PVH vmlinux)",
			   path);
	return -EINVAL;
}
