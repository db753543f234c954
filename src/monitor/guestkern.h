/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest kernel as the host reads it (docs/design.md, decision 5):
 * types and member offsets from the kernel's BTF (libbpf), addresses from
 * the vmlinux symbol table (libelf), and guest kernel virtual addresses
 * translated to guest-physical ones, every read bounds-checked by the
 * memory backend. No agent in the guest.
 *
 * Translation (x86_64):
 *  - kernel image (text, data, bss; [__START_KERNEL_map, +1 GiB)):
 *    PA = KVA - __START_KERNEL_map + phys_base;
 *  - direct map: PA = KVA - page_offset_base (read from the guest, so a
 *    5-level or randomised layout is followed);
 *  - anything else (vmalloc, modules, BPF memory): a walk of the kernel's
 *    own page tables from init_top_pgt, 4 or 5 levels after
 *    __pgtable_l5_enabled.
 *
 * KASLR, without guest cooperation (kt_gk_attach): the physical slide is
 * found by looking for the vmlinux's own linux_banner bytes in guest RAM
 * at every CONFIG_PHYSICAL_ALIGN (2 MiB) position of the kernel image (the
 * link position first); the virtual slide is then the physical one minus
 * the guest's phys_base variable (which the kernel's startup code sets to
 * load address - link address - virtual slide), and the pair is accepted
 * only when init_task.stack, a pointer the relocation pass rewrites,
 * equals init_stack + virtual slide. With KASLR off both slides are 0 and
 * the same checks pass at the first candidate.
 *
 * Per-CPU data: KVA = symbol's runtime address + __per_cpu_offset[cpu]
 * (x86_64's zero-based per-CPU symbols are not slid; symbols in the image
 * are).
 *
 * Every read goes through struct kt_gk_mem, whose read() must refuse a
 * range outside guest RAM; garbage in guest memory gives an error (no
 * data), never a crash. Not thread-safe: one reader per thread.
 */
#ifndef KTSTR_MONITOR_GUESTKERN_H
#define KTSTR_MONITOR_GUESTKERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

#define KT_GK_START_KERNEL_MAP 0xffffffff80000000ull
#define KT_GK_KERNEL_IMAGE_SIZE (1ull << 30)
#define KT_GK_PHYS_ALIGN (2ull << 20)

/* Guest-physical memory: read/write return 0 or -EFAULT (range not RAM). */
struct kt_gk_mem {
	int (*read)(void *ctx, uint64_t gpa, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
	void *ctx;
	uint64_t ram_size; /* bytes of guest RAM (bounds the KASLR search) */
};

/* Guest memory of a running VM (src/vm): ctx is the struct kt_vm_guest. */
struct kt_vm_guest;
struct kt_gk_mem kt_gk_vm_mem(struct kt_vm_guest *g);

struct kt_gk;

struct kt_gk_sym {
	const char *name;
	uint64_t addr; /* link-time value */
};

/*
 * Load BTF (.BTF), the symbol table and the linux_banner bytes of a
 * vmlinux. -errno with *err ("<path>: no .BTF section" ...) on failure.
 */
int kt_gk_open(const char *vmlinux, struct kt_gk **out, char **err);
/*
 * The same from parts (tests, fuzzing): raw BTF bytes, symbols (copied),
 * the banner bytes expected at symbol linux_banner.
 */
int kt_gk_open_parts(const void *btf_raw, size_t btf_len, const struct kt_gk_sym *syms,
		     size_t n_syms, const void *banner, size_t banner_len, struct kt_gk **out,
		     char **err);
void kt_gk_free(struct kt_gk *gk);

/* ---- the image: BTF and symbols (no guest memory needed) ---------------- */

const struct btf *kt_gk_btf(const struct kt_gk *gk);
/* Link-time value of a symbol (first with a non-zero value), 0 if absent. */
uint64_t kt_gk_sym(const struct kt_gk *gk, const char *name);
/*
 * Byte offset and size of member path ("scx.local_dsq.nr": dots walk into
 * nested structs/unions; anonymous members are searched through) of
 * struct or union `type`. -ENOENT when the type or a member is missing,
 * -EINVAL for a bitfield or a path through a non-aggregate.
 */
int kt_gk_member(const struct kt_gk *gk, const char *type, const char *path, uint32_t *off,
		 uint32_t *size);
/*
 * The same over any BTF (a BPF program's), from type id `id`; *leaf (may
 * be NULL) gets the member's type id.
 */
int kt_btf_member_at(const struct btf *btf, uint32_t id, const char *path, uint32_t *off,
		     uint32_t *size, uint32_t *leaf);
/* Size of struct/union `type`, 0 when unknown. */
uint32_t kt_gk_type_size(const struct kt_gk *gk, const char *type);

/* ---- the running guest --------------------------------------------------- */

/*
 * Find the KASLR slides (see above). 0 when found and verified (then
 * kt_gk_attached()); -EAGAIN when the guest kernel is not (yet) in memory
 * or not yet consistent (retry later); *why says what was missing.
 */
int kt_gk_attach(struct kt_gk *gk, const struct kt_gk_mem *m, char **why);
bool kt_gk_attached(const struct kt_gk *gk);
/* Slides found by kt_gk_attach (0 and 0 without KASLR). */
int64_t kt_gk_phys_slide(const struct kt_gk *gk);
int64_t kt_gk_virt_slide(const struct kt_gk *gk);
/*
 * Re-read page_offset_base and __pgtable_l5_enabled (they are set during
 * early boot). 0 when page_offset_base looks valid (bit 63 set, 1 GiB
 * aligned), else -EAGAIN (the direct map is then not translated).
 */
int kt_gk_refresh(struct kt_gk *gk, const struct kt_gk_mem *m);
uint64_t kt_gk_page_offset(const struct kt_gk *gk); /* 0 until valid */

/* Runtime KVA of a symbol (slid unless a zero-based per-CPU symbol); 0 if absent. */
uint64_t kt_gk_sym_kva(const struct kt_gk *gk, const char *name);
/* Guest-physical address of a kernel virtual address; -EFAULT when unmapped. */
int kt_gk_pa(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, uint64_t *pa);
/* Read / write len bytes at kva (page by page); -EFAULT anywhere unmapped. */
int kt_gk_read(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, void *buf,
	       size_t len);
int kt_gk_write(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva,
		const void *buf, size_t len);
int kt_gk_read_u64(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva,
		   uint64_t *v);
/* Read a symbol's value (len bytes at its runtime address). */
int kt_gk_read_sym(const struct kt_gk *gk, const struct kt_gk_mem *m, const char *name,
		   void *buf, size_t len);
/*
 * __per_cpu_offset[0..n): -EAGAIN while the per-CPU areas are not set up
 * (CPUs share one offset), -EFAULT when unreadable.
 */
int kt_gk_percpu_offsets(const struct kt_gk *gk, const struct kt_gk_mem *m, unsigned n,
			 uint64_t *off);

#endif
