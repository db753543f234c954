// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the host monitor reading garbage guest memory. Guest
 * RAM (192 MiB) is the input repeated; when the first byte is odd, the
 * kernel image's anchors (banner, phys_base, init_task.stack) are laid
 * over it for a slide taken from the input, so the reader attaches and
 * every later pointer (page_offset_base, __per_cpu_offset, page tables,
 * runqueues) is garbage. When the second bit is set too, page_offset_base,
 * __per_cpu_offset, jiffies_64 and scx_watchdog_timeout are laid over as a
 * booted guest has them, so each CPU's runqueue -- and the runnable_list
 * the monitor walks from it (nodes, runnable_at, pid, comm) -- is input
 * bytes reached through the direct map. The monitor samples it, judges and serialises:
 * any outcome is fine except a crash, a sanitizer report or a hang.
 */
#include <jansson.h>

#include "../unit/gk_image.h"
#include "check/check.h"
#include "monitor/monitor.h"

#define RAM (192ull << 20)

struct over {
	uint64_t pa;
	uint8_t b[64];
	size_t len;
};

struct fmem {
	const uint8_t *data;
	size_t n;
	struct over ov[8];
	int n_ov;
};

static int fread_(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct fmem *f = ctx;
	uint8_t *o = buf;

	if (gpa >= RAM || len > RAM - gpa)
		return -EFAULT;
	for (size_t i = 0; i < len; i++) {
		uint64_t a = gpa + i;

		o[i] = f->data[a % f->n];
		for (int k = 0; k < f->n_ov; k++)
			if (a >= f->ov[k].pa && a - f->ov[k].pa < f->ov[k].len)
				o[i] = f->ov[k].b[a - f->ov[k].pa];
	}
	return 0;
}

static int fwrite_(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	return gpa >= RAM || len > RAM - gpa ? -EFAULT : 0;
}

static void overlay(struct fmem *f, uint64_t sym, int64_t ps, uint64_t add, const void *v,
		    size_t len)
{
	struct over *o = &f->ov[f->n_ov++];

	o->pa = sym - KT_GK_START_KERNEL_MAP + (uint64_t)ps + add;
	o->len = len;
	memcpy(o->b, v, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kt_gk *proto;
	static void *btf;
	static size_t btf_len;
	struct fmem f = {data, size, .n_ov = 0};
	struct kt_gk_mem m = {fread_, fwrite_, &f, RAM};
	struct kt_mon_limits lim = kt_mon_limits_from(&(struct kt_assert){0});
	struct kt_assert_result r = {0};
	struct kt_gk *gk = NULL;
	struct kt_mon *mon;
	unsigned ncpu;
	char *why = NULL;

	if (size < 4)
		return 0;
	if (!btf) {
		btf = gk_img_btf(&btf_len);
		if (!btf || gk_img_open(&proto, &why))
			abort(); /* run from the repository root */
	}
	if (kt_gk_open_parts(btf, btf_len, gk_img_syms,
			     sizeof(gk_img_syms) / sizeof(gk_img_syms[0]), gk_img_banner,
			     sizeof(gk_img_banner) - 1, &gk, &why))
		abort();
	if (data[0] & 1) {
		int64_t ps = (int64_t)(data[1] % 32) * (int64_t)KT_GK_PHYS_ALIGN;
		int64_t vs = (int64_t)(data[2] % 32) * (int64_t)KT_GK_PHYS_ALIGN;
		uint64_t pb = (uint64_t)(ps - vs), st = gk_img_sym("init_stack") + (uint64_t)vs;
		uint32_t off, sz;

		overlay(&f, gk_img_sym("linux_banner"), ps, 0, gk_img_banner,
			sizeof(gk_img_banner) - 1);
		overlay(&f, gk_img_sym("phys_base"), ps, 0, &pb, 8);
		if (!kt_gk_member(proto, "task_struct", "stack", &off, &sz))
			overlay(&f, gk_img_sym("init_task"), ps, off, &st, 8);
	}
	ncpu = 1 + data[3] % 8;
	if ((data[0] & 3) == 3) {
		int64_t ps = (int64_t)(data[1] % 32) * (int64_t)KT_GK_PHYS_ALIGN;
		uint64_t po = 0xffff888000000000ull, pc[8], j = 1000000, wd = data[0] >> 2;

		/* per-CPU areas 64 KiB apart, somewhere in the input's repetition */
		for (unsigned c = 0; c < ncpu; c++)
			pc[c] = po + 0x4000000ull + (uint64_t)data[2] * 4096 + 0x10000ull * c;
		overlay(&f, gk_img_sym("page_offset_base"), ps, 0, &po, 8);
		overlay(&f, gk_img_sym("__per_cpu_offset"), ps, 0, pc, 8ull * ncpu);
		overlay(&f, gk_img_sym("jiffies_64"), ps, 0, &j, 8);
		overlay(&f, gk_img_sym("scx_watchdog_timeout"), ps, 0, &wd, 8);
	}
	mon = kt_mon_new(gk, ncpu, &lim, &why);
	if (!mon)
		abort(); /* the real BTF has the layout */
	for (unsigned i = 0; i < 8; i++) {
		kt_mon_tick(mon, &m, 100ull * i, NULL);
		if (size > 16) /* moving garbage: the next tick sees other bytes */
			f.data = data + (i % 4), f.n = size - (i % 4);
	}
	/* direct reads of input-chosen addresses */
	for (size_t i = 4; i + 8 <= size && i < 4 + 8 * 16; i += 8) {
		uint64_t kva, v;

		memcpy(&kva, data + i, 8);
		(void)kt_gk_read(kt_mon_gk(mon), &m, kva, &v, 8);
	}
	kt_mon_judge(mon, &r);
	json_decref(kt_mon_to_json(mon));
	free(kt_mon_report(mon));
	kt_assert_result_clear(&r);
	kt_mon_free(mon);
	free(why);
	return 0;
}
