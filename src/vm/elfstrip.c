// SPDX-License-Identifier: GPL-2.0
/*
 * Drop .debug_*, .zdebug_* and .comment contents from an ELF image without
 * renumbering anything: the removed sections stay in the section table with
 * size 0, the non-allocated sections after the loaded part of the file are
 * packed down, and the section header table moves behind them. Program
 * headers, loaded bytes, .symtab and every index stay as they were.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"
#include "vm/initramfs.h"

#define MAXU(a, b) ((a) > (b) ? (a) : (b))

static bool removable(const char *name, const Elf64_Shdr *sh)
{
	if (!name || (sh->sh_flags & SHF_ALLOC) || sh->sh_type == SHT_NOBITS)
		return false;
	return !strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8) ||
	       !strcmp(name, ".comment");
}

static int copy_unchanged(const void *in, size_t len, void **out, size_t *out_len)
{
	*out = kt_malloc(len ? len : 1);
	memcpy(*out, in, len);
	*out_len = len;
	return 0;
}

struct span {
	uint64_t off, end;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Whether two sections behind the fixed prefix share bytes. Packing copies
 * each of them once, so only disjoint sections keep the output within the
 * input's size (plus alignment and the table); overlapping ones are left as
 * they are.
 */
static bool movable_overlap(const Elf64_Shdr *sh, unsigned n, uint64_t fixed_end)
{
	struct span *v = kt_calloc(n, sizeof(*v));
	unsigned k = 0;
	bool overlap = false;

	for (unsigned i = 1; i < n; i++)
		if (sh[i].sh_type != SHT_NOBITS && sh[i].sh_size && sh[i].sh_offset >= fixed_end)
			v[k++] = (struct span){sh[i].sh_offset, sh[i].sh_offset + sh[i].sh_size};
	qsort(v, k, sizeof(*v), cmp_span);
	for (unsigned i = 1; i < k && !overlap; i++)
		overlap = v[i].off < v[i - 1].end;
	free(v);
	return overlap;
}

/* Validate the headers; fills *sh (malloc'd) and the fixed prefix length. */
static bool parse(const uint8_t *b, size_t len, Elf64_Ehdr *eh, Elf64_Shdr **shp, uint64_t *fixed)
{
	uint64_t fixed_end = sizeof(*eh);
	Elf64_Shdr *sh;

	memcpy(eh, b, sizeof(*eh));
	/* 64-bit little-endian, no extended numbering; anything else stays unchanged. */
	if (b[EI_CLASS] != ELFCLASS64 || b[EI_DATA] != ELFDATA2LSB ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shstrndx == SHN_UNDEF || eh->e_shstrndx >= eh->e_shnum || eh->e_shoff > len ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len - eh->e_shoff)
		return false;
	if (eh->e_phnum && (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
			    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff))
		return false;
	sh = kt_malloc(eh->e_shnum * sizeof(*sh));
	memcpy(sh, b + eh->e_shoff, eh->e_shnum * sizeof(*sh));
	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type != SHT_NOBITS &&
		    (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset))
			goto bad;
	if (eh->e_phnum)
		fixed_end = MAXU(fixed_end, eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, b + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			goto bad;
		fixed_end = MAXU(fixed_end, ph.p_offset + ph.p_filesz);
	}
	/* Allocated sections and anything starting inside the prefix are fixed too. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (unsigned i = 1; i < eh->e_shnum; i++) {
			uint64_t end = sh[i].sh_offset + sh[i].sh_size;

			if (sh[i].sh_type == SHT_NOBITS || end <= fixed_end)
				continue;
			if ((sh[i].sh_flags & SHF_ALLOC) || sh[i].sh_offset < fixed_end) {
				fixed_end = end;
				changed = 1;
			}
		}
	}
	/* The section header table itself must lie behind the fixed prefix. */
	if (eh->e_shoff < fixed_end || movable_overlap(sh, eh->e_shnum, fixed_end))
		goto bad;
	*shp = sh;
	*fixed = fixed_end;
	return true;
bad:
	free(sh);
	return false;
}

int kt_elf_strip_debug(const void *in, size_t len, void **out, size_t *out_len)
{
	const uint8_t *b = in;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	uint64_t fixed_end, pos, shstr_size, *new_off;
	const char *shstr;
	bool *done, any = false;
	uint8_t *o;

	*out = NULL;
	if (len < sizeof(Elf64_Ehdr) || memcmp(b, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (!parse(b, len, &eh, &sh, &fixed_end))
		return copy_unchanged(in, len, out, out_len);
	/* A NOBITS section's offset is unchecked (parse()): no pointer from it. */
	shstr_size = sh[eh.e_shstrndx].sh_size;
	if (sh[eh.e_shstrndx].sh_type == SHT_NOBITS || !shstr_size ||
	    b[sh[eh.e_shstrndx].sh_offset + shstr_size - 1]) {
		free(sh);
		return copy_unchanged(in, len, out, out_len);
	}
	shstr = (const char *)b + sh[eh.e_shstrndx].sh_offset;
	for (unsigned i = 1; i < eh.e_shnum; i++) {
		const char *nm = sh[i].sh_name < shstr_size ? shstr + sh[i].sh_name : NULL;

		if (sh[i].sh_offset >= fixed_end && sh[i].sh_size && removable(nm, &sh[i]))
			any = true;
	}
	if (!any) {
		free(sh);
		return copy_unchanged(in, len, out, out_len);
	}

	/*
	 * Output never grows: the moved sections are disjoint (parse()), so the
	 * kept bytes fit in len, plus at most 4095 bytes of alignment per section
	 * and the section header table.
	 */
	o = kt_calloc(1, len + eh.e_shnum * sizeof(Elf64_Shdr) + 4096 * (size_t)eh.e_shnum);
	new_off = kt_calloc(eh.e_shnum, sizeof(*new_off));
	done = kt_calloc(eh.e_shnum, sizeof(*done));
	memcpy(o, b, fixed_end);
	pos = fixed_end;
	/* Movable sections in file order. */
	for (;;) {
		int next = -1;

		for (unsigned i = 1; i < eh.e_shnum; i++) {
			if (done[i] || sh[i].sh_type == SHT_NOBITS || sh[i].sh_offset < fixed_end)
				continue;
			if (next < 0 || sh[i].sh_offset < sh[next].sh_offset)
				next = (int)i;
		}
		if (next < 0)
			break;
		done[next] = true;
		{
			Elf64_Shdr *s = &sh[next];
			const char *nm = s->sh_name < shstr_size ? shstr + s->sh_name : NULL;
			uint64_t al = s->sh_addralign > 1 ? s->sh_addralign : 1;

			if (al > 4096)
				al = 4096;
			if (removable(nm, s)) {
				new_off[next] = pos;
				s->sh_size = 0;
				continue;
			}
			pos = (pos + al - 1) / al * al;
			memcpy(o + pos, b + s->sh_offset, s->sh_size);
			new_off[next] = pos;
			pos += s->sh_size;
		}
	}
	for (unsigned i = 1; i < eh.e_shnum; i++)
		if (done[i])
			sh[i].sh_offset = new_off[i];
	pos = (pos + 7) & ~7ull;
	eh.e_shoff = pos;
	memcpy(o, &eh, sizeof(eh));
	memcpy(o + pos, sh, eh.e_shnum * sizeof(Elf64_Shdr));
	pos += eh.e_shnum * sizeof(Elf64_Shdr);
	free(sh);
	free(new_off);
	free(done);
	*out = o;
	*out_len = pos;
	return 0;
}

int kt_cpio_add_file_stripped(struct kt_cpio *c, const char *path, const char *host_path,
			      mode_t mode)
{
	struct stat st;
	char *data;
	void *s;
	size_t len, slen;
	int r;

	if (stat(host_path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	r = kt_read_file(host_path, &data, &len, (size_t)UINT32_MAX);
	if (r)
		return r;
	r = kt_elf_strip_debug(data, len, &s, &slen);
	if (r == -ENOEXEC) {
		r = kt_cpio_add_data(c, path, data, len, mode ? mode : (st.st_mode & 07777));
	} else if (!r) {
		r = kt_cpio_add_data(c, path, s, slen, mode ? mode : (st.st_mode & 07777));
		free(s);
	}
	free(data);
	return r;
}
