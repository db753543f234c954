// SPDX-License-Identifier: GPL-2.0
/* The guest kernel's memory read from the host; see guestkern.h. */
#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestkern.h"
#include "kernel/kernel.h"
#include "util/util.h"
#include "vm/vm.h"

#define BANNER_MAX 128
#define PTE_ADDR_MASK 0x000ffffffffff000ull
#define PTE_PRESENT 1ull
#define PTE_PS (1ull << 7)

struct sym {
	const char *name; /* into names */
	uint64_t addr;
	size_t idx; /* order in the symbol table: the first one wins */
};

struct kt_gk {
	struct btf *btf;
	struct sym *syms;
	size_t n_syms;
	char *names;
	uint8_t banner[BANNER_MAX];
	size_t banner_len;
	/* cached link-time symbols */
	uint64_t s_banner, s_phys_base, s_init_task, s_init_stack, s_init_top_pgt, s_l5,
	    s_page_offset_base, s_per_cpu_offset;
	uint32_t task_stack_off; /* task_struct.stack, 0 = unknown */
	/* runtime state */
	bool attached;
	int64_t phys_slide, virt_slide;
	uint64_t phys_base; /* the guest's phys_base variable */
	uint64_t page_offset;
	bool l5;
};

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

uint64_t kt_gk_sym(const struct kt_gk *gk, const char *name)
{
	size_t lo = 0, hi = gk->n_syms;

	/* lower bound: the first entry with this name is the first in the table */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(gk->syms[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < gk->n_syms && !strcmp(gk->syms[lo].name, name))
		return gk->syms[lo].addr;
	return 0;
}

/* Common finish of both constructors: sort symbols, cache what attach needs. */
static int finish_open(struct kt_gk *gk, char **err)
{
	uint32_t sz;

	qsort(gk->syms, gk->n_syms, sizeof(*gk->syms), sym_cmp);
	gk->s_banner = kt_gk_sym(gk, "linux_banner");
	gk->s_phys_base = kt_gk_sym(gk, "phys_base");
	gk->s_init_task = kt_gk_sym(gk, "init_task");
	gk->s_init_stack = kt_gk_sym(gk, "init_stack");
	gk->s_init_top_pgt = kt_gk_sym(gk, "init_top_pgt");
	if (!gk->s_init_top_pgt)
		gk->s_init_top_pgt = kt_gk_sym(gk, "swapper_pg_dir");
	gk->s_l5 = kt_gk_sym(gk, "__pgtable_l5_enabled");
	gk->s_page_offset_base = kt_gk_sym(gk, "page_offset_base");
	gk->s_per_cpu_offset = kt_gk_sym(gk, "__per_cpu_offset");
	if (kt_gk_member(gk, "task_struct", "stack", &gk->task_stack_off, &sz) || sz != 8)
		gk->task_stack_off = 0;
	if (!gk->s_banner || !gk->s_phys_base || !gk->banner_len) {
		kt_set_err(err, "no linux_banner/phys_base symbol: cannot locate the kernel in "
				"guest memory");
		return -ENOENT;
	}
	return 0;
}

int kt_gk_open_parts(const void *btf_raw, size_t btf_len, const struct kt_gk_sym *syms,
		     size_t n_syms, const void *banner, size_t banner_len, struct kt_gk **out,
		     char **err)
{
	struct kt_gk *gk = kt_calloc(1, sizeof(*gk));
	size_t names = 0, pos = 0;
	int r;

	*out = NULL;
	gk->btf = btf__new(btf_raw, (uint32_t)btf_len);
	if (!gk->btf) {
		r = -errno ? -errno : -EINVAL;
		kt_set_err(err, "BTF: %s", strerror(-r));
		kt_gk_free(gk);
		return r;
	}
	for (size_t i = 0; i < n_syms; i++)
		names += strlen(syms[i].name) + 1;
	gk->names = kt_malloc(names ? names : 1);
	gk->syms = kt_calloc(n_syms ? n_syms : 1, sizeof(*gk->syms));
	for (size_t i = 0; i < n_syms; i++) {
		size_t l = strlen(syms[i].name) + 1;

		if (!syms[i].addr)
			continue;
		memcpy(gk->names + pos, syms[i].name, l);
		gk->syms[gk->n_syms++] = (struct sym){gk->names + pos, syms[i].addr, i};
		pos += l;
	}
	gk->banner_len = banner_len < BANNER_MAX ? banner_len : BANNER_MAX;
	memcpy(gk->banner, banner, gk->banner_len);
	r = finish_open(gk, err);
	if (r) {
		kt_gk_free(gk);
		return r;
	}
	*out = gk;
	return 0;
}

/* Symbols, .BTF and the banner from the ELF file. */
static int load_elf(struct kt_gk *gk, Elf *e, const char *path, char **err)
{
	Elf_Scn *scn = NULL, *symscn = NULL;
	GElf_Shdr sh, symsh = {0};
	Elf_Data *d;
	size_t shstrndx, count, strsz;

	if (elf_getshdrstrndx(e, &shstrndx))
		return kt_set_err(err, "%s: not an ELF file", path), -EINVAL;
	while ((scn = elf_nextscn(e, scn))) {
		const char *nm;

		if (!gelf_getshdr(scn, &sh))
			continue;
		nm = elf_strptr(e, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB && sh.sh_entsize) {
			symscn = scn;
			symsh = sh;
		} else if (nm && !strcmp(nm, ".BTF") && !gk->btf) {
			d = elf_getdata(scn, NULL);
			if (d && d->d_buf && d->d_size)
				gk->btf = btf__new(d->d_buf, (uint32_t)d->d_size);
		}
	}
	if (!gk->btf)
		return kt_set_err(err, "%s: no usable .BTF section", path), -ENOENT;
	if (!symscn || !(d = elf_getdata(symscn, NULL)))
		return kt_set_err(err, "%s has no symbol table", path), -ENOENT;
	{
		Elf_Scn *ss = elf_getscn(e, symsh.sh_link);
		Elf_Data *sd = ss ? elf_getdata(ss, NULL) : NULL;

		if (!sd || !sd->d_buf || !sd->d_size)
			return kt_set_err(err, "%s: no symbol names", path), -ENOENT;
		strsz = sd->d_size;
		gk->names = kt_malloc(strsz + 1);
		memcpy(gk->names, sd->d_buf, strsz);
		gk->names[strsz] = 0;
	}
	count = d->d_size / symsh.sh_entsize;
	gk->syms = kt_calloc(count ? count : 1, sizeof(*gk->syms));
	for (size_t j = 0; j < count; j++) {
		GElf_Sym s;

		if (!gelf_getsym(d, (int)j, &s) || !s.st_value || !s.st_name || s.st_name >= strsz)
			continue;
		if (!gk->names[s.st_name])
			continue;
		gk->syms[gk->n_syms++] = (struct sym){gk->names + s.st_name, s.st_value, j};
	}
	qsort(gk->syms, gk->n_syms, sizeof(*gk->syms), sym_cmp);
	/* The banner: bytes at linux_banner in the section that holds it. */
	{
		uint64_t a = kt_gk_sym(gk, "linux_banner");

		scn = NULL;
		while (a && (scn = elf_nextscn(e, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
			    a < sh.sh_addr || a - sh.sh_addr >= sh.sh_size)
				continue;
			d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf || a - sh.sh_addr >= d->d_size)
				break;
			gk->banner_len = d->d_size - (a - sh.sh_addr);
			if (gk->banner_len > BANNER_MAX)
				gk->banner_len = BANNER_MAX;
			memcpy(gk->banner, (const char *)d->d_buf + (a - sh.sh_addr),
			       gk->banner_len);
			break;
		}
	}
	return 0;
}

int kt_gk_open(const char *vmlinux, struct kt_gk **out, char **err)
{
	struct kt_gk *gk;
	Elf *e;
	int fd, r;

	*out = NULL;
	r = kt_elf_open(vmlinux, &fd, &e, err);
	if (r)
		return r;
	gk = kt_calloc(1, sizeof(*gk));
	r = load_elf(gk, e, vmlinux, err);
	if (!r) {
		char *why = NULL;

		r = finish_open(gk, &why);
		if (r)
			kt_set_err(err, "%s: %s", vmlinux, why);
		free(why);
	}
	elf_end(e);
	close(fd);
	if (r) {
		kt_gk_free(gk);
		return r;
	}
	*out = gk;
	return 0;
}

void kt_gk_free(struct kt_gk *gk)
{
	if (!gk)
		return;
	btf__free(gk->btf);
	free(gk->syms);
	free(gk->names);
	free(gk);
}

const struct btf *kt_gk_btf(const struct kt_gk *gk)
{
	return gk->btf;
}

/* ---- BTF ------------------------------------------------------------------- */

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	for (int i = 0; t && i < 32; i++) {
		if (!btf_is_typedef(t) && !btf_is_const(t) && !btf_is_volatile(t) &&
		    !btf_is_restrict(t) && !btf_is_type_tag(t))
			return t;
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return NULL;
}

static int find_aggregate(const struct btf *btf, const char *name, uint32_t *id)
{
	int r = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);

	if (r < 0)
		r = btf__find_by_name_kind(btf, name, BTF_KIND_UNION);
	if (r < 0)
		return -ENOENT;
	*id = (uint32_t)r;
	return 0;
}

/* Member `name` of aggregate `t`, searching anonymous members; bit offset added to *bits. */
static int find_member(const struct btf *btf, const struct btf_type *t, const char *name,
		       size_t name_len, uint64_t *bits, uint32_t *type_id, int depth)
{
	const struct btf_member *m = btf_members(t);
	uint16_t vlen = btf_vlen(t);

	if (depth > 16)
		return -ENOENT;
	for (uint16_t i = 0; i < vlen; i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		uint32_t off = btf_member_bit_offset(t, i);

		if (mn && *mn) {
			if (strlen(mn) != name_len || strncmp(mn, name, name_len))
				continue;
			if (btf_member_bitfield_size(t, i))
				return -EINVAL;
			*bits += off;
			*type_id = m->type;
			return 0;
		} else {
			uint32_t id = m->type;
			const struct btf_type *a = skip_mods(btf, &id);
			uint64_t b = *bits + off;

			if (!a || (!btf_is_struct(a) && !btf_is_union(a)))
				continue;
			if (!find_member(btf, a, name, name_len, &b, type_id, depth + 1)) {
				*bits = b;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int kt_btf_member_at(const struct btf *btf, uint32_t id, const char *path, uint32_t *off,
		     uint32_t *size, uint32_t *leaf)
{
	uint64_t bits = 0;
	const char *p = path;
	int r;

	for (;;) {
		const struct btf_type *t = skip_mods(btf, &id);
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
			return -EINVAL;
		r = find_member(btf, t, p, l, &bits, &id, 0);
		if (r)
			return r;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (bits % 8)
		return -EINVAL;
	{
		int64_t s = btf__resolve_size(btf, id);

		if (s < 0)
			return -EINVAL;
		*size = (uint32_t)s;
	}
	*off = (uint32_t)(bits / 8);
	if (leaf)
		*leaf = id;
	return 0;
}

int kt_gk_member(const struct kt_gk *gk, const char *type, const char *path, uint32_t *off,
		 uint32_t *size)
{
	uint32_t id;

	if (find_aggregate(gk->btf, type, &id))
		return -ENOENT;
	return kt_btf_member_at(gk->btf, id, path, off, size, NULL);
}

uint32_t kt_gk_type_size(const struct kt_gk *gk, const char *type)
{
	uint32_t id;
	int64_t s;

	if (find_aggregate(gk->btf, type, &id))
		return 0;
	s = btf__resolve_size(gk->btf, id);
	return s > 0 ? (uint32_t)s : 0;
}

/* ---- the running guest ------------------------------------------------------ */

/* Physical address of an image symbol with a given physical slide. */
static uint64_t image_pa(uint64_t sym, int64_t phys_slide)
{
	return sym - KT_GK_START_KERNEL_MAP + (uint64_t)phys_slide;
}

static bool banner_at(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t pa)
{
	uint8_t buf[BANNER_MAX];

	if (m->read(m->ctx, pa, buf, gk->banner_len))
		return false;
	return !memcmp(buf, gk->banner, gk->banner_len);
}

/* Given a physical slide whose banner matched: derive and verify the virtual one. */
static int try_slide(struct kt_gk *gk, const struct kt_gk_mem *m, int64_t ps, char **why)
{
	uint64_t pb, stack;
	int64_t vs;

	if (m->read(m->ctx, image_pa(gk->s_phys_base, ps), &pb, 8)) {
		kt_set_err(why, "phys_base not readable");
		return -EAGAIN;
	}
	vs = ps - (int64_t)pb;
	if (vs % (int64_t)KT_GK_PHYS_ALIGN || vs < -(int64_t)KT_GK_KERNEL_IMAGE_SIZE ||
	    vs >= (int64_t)KT_GK_KERNEL_IMAGE_SIZE) {
		kt_set_err(why, "implausible virtual slide %lld (phys_base 0x%llx)", (long long)vs,
			   (unsigned long long)pb);
		return -EAGAIN;
	}
	if (gk->s_init_task && gk->s_init_stack && gk->task_stack_off) {
		if (m->read(m->ctx, image_pa(gk->s_init_task, ps) + gk->task_stack_off, &stack,
			    8)) {
			kt_set_err(why, "init_task not readable");
			return -EAGAIN;
		}
		if (stack != gk->s_init_stack + (uint64_t)vs) {
			kt_set_err(why,
				   "init_task.stack 0x%llx is not init_stack 0x%llx + slide %lld",
				   (unsigned long long)stack, (unsigned long long)gk->s_init_stack,
				   (long long)vs);
			return -EAGAIN;
		}
	}
	gk->phys_slide = ps;
	gk->virt_slide = vs;
	gk->phys_base = pb;
	gk->attached = true;
	return 0;
}

int kt_gk_attach(struct kt_gk *gk, const struct kt_gk_mem *m, char **why)
{
	uint64_t link_pa = gk->s_banner - KT_GK_START_KERNEL_MAP;
	/* every 2 MiB-aligned image position in guest RAM (q35: low RAM, then from 4 GiB) */
	uint64_t top = m->ram_size + (m->ram_size > 0x80000000ull ? 0x100000000ull : 0);
	char *last = NULL;
	int r;

	if (gk->attached)
		return 0;
	if (gk->s_banner < KT_GK_START_KERNEL_MAP) {
		kt_set_err(why, "linux_banner is not in the kernel image");
		return -EINVAL;
	}
	/* KASLR off (or the same position): the link address first. */
	if (banner_at(gk, m, link_pa)) {
		r = try_slide(gk, m, 0, &last);
		if (!r) {
			free(last);
			return 0;
		}
	}
	for (uint64_t cand = link_pa % KT_GK_PHYS_ALIGN; cand + gk->banner_len <= top;
	     cand += KT_GK_PHYS_ALIGN) {
		int64_t ps = (int64_t)(cand - link_pa);

		if (!ps || !banner_at(gk, m, cand))
			continue;
		free(last);
		last = NULL;
		r = try_slide(gk, m, ps, &last);
		if (!r) {
			free(last);
			return 0;
		}
	}
	if (last) {
		kt_set_err(why, "kernel image found but not consistent: %s", last);
		free(last);
	} else {
		kt_set_err(why, "the kernel's banner is nowhere in guest RAM (not loaded yet?)");
	}
	return -EAGAIN;
}

bool kt_gk_attached(const struct kt_gk *gk)
{
	return gk->attached;
}

int64_t kt_gk_phys_slide(const struct kt_gk *gk)
{
	return gk->phys_slide;
}

int64_t kt_gk_virt_slide(const struct kt_gk *gk)
{
	return gk->virt_slide;
}

uint64_t kt_gk_page_offset(const struct kt_gk *gk)
{
	return gk->page_offset;
}

uint64_t kt_gk_sym_kva(const struct kt_gk *gk, const char *name)
{
	uint64_t s = kt_gk_sym(gk, name);

	if (!s)
		return 0;
	/* zero-based per-CPU symbols (x86_64 before 6.15) are offsets, not slid */
	return s >= KT_GK_START_KERNEL_MAP ? s + (uint64_t)gk->virt_slide : s;
}

static int image_read(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t sym, void *buf,
		      size_t len)
{
	if (!gk->attached || !sym)
		return -EFAULT;
	return m->read(m->ctx, image_pa(sym, gk->phys_slide), buf, len);
}

int kt_gk_refresh(struct kt_gk *gk, const struct kt_gk_mem *m)
{
	uint64_t po = 0;
	uint32_t l5 = 0;

	if (!gk->attached)
		return -EAGAIN;
	if (gk->s_l5 && !image_read(gk, m, gk->s_l5, &l5, 4))
		gk->l5 = l5 != 0;
	if (!gk->s_page_offset_base) {
		/* a kernel without a dynamic layout: the fixed 4-level base */
		gk->page_offset = 0xffff888000000000ull;
		return 0;
	}
	if (image_read(gk, m, gk->s_page_offset_base, &po, 8) || !(po >> 63) ||
	    po % (1ull << 30)) {
		gk->page_offset = 0;
		return -EAGAIN;
	}
	gk->page_offset = po;
	return 0;
}

/* Page-table walk from init_top_pgt. */
static int walk(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, uint64_t *pa)
{
	uint64_t table, e;
	int levels = gk->l5 ? 5 : 4;

	if (!gk->s_init_top_pgt)
		return -EFAULT;
	table = image_pa(gk->s_init_top_pgt, gk->phys_slide);
	for (int l = levels; l >= 1; l--) {
		int shift = 12 + 9 * (l - 1);
		uint64_t idx = (kva >> shift) & 0x1ff;

		if (m->read(m->ctx, table + idx * 8, &e, 8) || !(e & PTE_PRESENT))
			return -EFAULT;
		if ((l == 3 || l == 2) && (e & PTE_PS)) {
			uint64_t size = 1ull << shift;

			*pa = (e & PTE_ADDR_MASK & ~(size - 1)) + (kva & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR_MASK;
	}
	*pa = table + (kva & 0xfff);
	return 0;
}

int kt_gk_pa(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, uint64_t *pa)
{
	if (!gk->attached)
		return -EFAULT;
	if (kva >= KT_GK_START_KERNEL_MAP && kva - KT_GK_START_KERNEL_MAP < KT_GK_KERNEL_IMAGE_SIZE) {
		*pa = kva - KT_GK_START_KERNEL_MAP + gk->phys_base;
		return 0;
	}
	if (gk->page_offset && kva >= gk->page_offset) {
		uint64_t p = kva - gk->page_offset;
		/* the direct map covers RAM (q35: below 4 GiB, then from 4 GiB) */
		uint64_t top = m->ram_size + (m->ram_size > 0x80000000ull ? 0x100000000ull : 0);

		if (p < top) {
			*pa = p;
			return 0;
		}
	}
	return walk(gk, m, kva, pa);
}

static int rw(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, void *buf,
	      size_t len, bool wr)
{
	uint8_t *b = buf;

	if (kva + len < kva)
		return -EFAULT;
	while (len) {
		size_t chunk = 4096 - (kva & 4095);
		uint64_t pa;
		int r;

		if (chunk > len)
			chunk = len;
		if (kt_gk_pa(gk, m, kva, &pa))
			return -EFAULT;
		r = wr ? (m->write ? m->write(m->ctx, pa, b, chunk) : -EPERM)
		       : m->read(m->ctx, pa, b, chunk);
		if (r)
			return r;
		b += chunk;
		kva += chunk;
		len -= chunk;
	}
	return 0;
}

int kt_gk_read(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva, void *buf,
	       size_t len)
{
	return rw(gk, m, kva, buf, len, false);
}

int kt_gk_write(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva,
		const void *buf, size_t len)
{
	return rw(gk, m, kva, (void *)buf, len, true);
}

int kt_gk_read_u64(const struct kt_gk *gk, const struct kt_gk_mem *m, uint64_t kva,
		   uint64_t *v)
{
	return kt_gk_read(gk, m, kva, v, 8);
}

int kt_gk_read_sym(const struct kt_gk *gk, const struct kt_gk_mem *m, const char *name,
		   void *buf, size_t len)
{
	uint64_t kva = kt_gk_sym_kva(gk, name);

	if (!kva)
		return -ENOENT;
	return kt_gk_read(gk, m, kva, buf, len);
}

int kt_gk_percpu_offsets(const struct kt_gk *gk, const struct kt_gk_mem *m, unsigned n,
			 uint64_t *off)
{
	if (!gk->s_per_cpu_offset)
		return -ENOENT;
	if (!n)
		return 0;
	if (image_read(gk, m, gk->s_per_cpu_offset, off, (size_t)n * 8))
		return -EFAULT;
	/* before setup_per_cpu_areas every CPU has the boot offset */
	for (unsigned i = 1; i < n; i++)
		if (off[i] == off[0])
			return -EAGAIN;
	return 0;
}

/* ---- a running VM's memory ------------------------------------------------------ */

static int vm_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return kt_vm_guest_read(ctx, gpa, buf, len);
}

static int vm_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	return kt_vm_guest_write(ctx, gpa, buf, len);
}

struct kt_gk_mem kt_gk_vm_mem(struct kt_vm_guest *g)
{
	return (struct kt_gk_mem){vm_read, vm_write, g, kt_vm_guest_ram_size(g)};
}
