// SPDX-License-Identifier: GPL-2.0
/* .watchdog_timeout_s applied from the host; see wdog.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/guestkern.h"
#include "util/util.h"
#include "wdog.h"

int kt_wdog_init_gk(struct kt_wdog *w, struct kt_gk *gk, int hz, int secs, char **why)
{
	static const char *const names[] = {"scx_watchdog_timeout", "scx_watchdog_timestamp",
					    "jiffies_64", "scx_ops_enable_state_var"};

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t s = kt_gk_sym(gk, names[i]);

		if (!s) {
			kt_set_err(why, "the kernel has no %s symbol (sched_ext before 6.12 or "
					"after the move into struct scx_sched)",
				   names[i]);
			kt_gk_free(gk);
			return -ENOENT;
		}
		if (s < KT_GK_START_KERNEL_MAP) {
			kt_set_err(why, "%s is not in the kernel image", names[i]);
			kt_gk_free(gk);
			return -EINVAL;
		}
	}
	if (hz <= 0 || secs <= 0) {
		kt_set_err(why, "bad HZ (%d) or timeout (%d s)", hz, secs);
		kt_gk_free(gk);
		return -EINVAL;
	}
	w->gk = gk;
	w->hz = hz;
	w->secs = secs;
	w->want = (uint64_t)secs * (uint64_t)hz;
	return 0;
}

int kt_wdog_init(struct kt_wdog *w, const char *vmlinux, int hz, int secs, char **why)
{
	struct kt_gk *gk;
	char *err = NULL;
	int r;

	memset(w, 0, sizeof(*w));
	if (!vmlinux) {
		kt_set_err(why, "no vmlinux with symbols for this kernel");
		return -ENOENT;
	}
	r = kt_gk_open(vmlinux, &gk, why); /* its errors name the file */
	if (r)
		return r;
	r = kt_wdog_init_gk(w, gk, hz, secs, &err);
	if (r) {
		kt_set_err(why, "%s: %s", vmlinux, err);
		free(err);
	}
	return r;
}

void kt_wdog_free(struct kt_wdog *w)
{
	kt_gk_free(w->gk);
	w->gk = NULL;
	free(w->broken_why);
	w->broken_why = NULL;
	free(w->attach_why);
	w->attach_why = NULL;
}

/* Find the guest kernel (KASLR slides) once; false while it is not there yet. */
static bool located(struct kt_wdog *w, const struct kt_gk_mem *m)
{
	char *why = NULL;

	if (w->kva_timeout)
		return true;
	if (kt_gk_attach(w->gk, m, &why)) {
		free(w->attach_why);
		w->attach_why = why;
		return false;
	}
	free(w->attach_why);
	w->attach_why = NULL;
	w->kva_timeout = kt_gk_sym_kva(w->gk, "scx_watchdog_timeout");
	w->kva_stamp = kt_gk_sym_kva(w->gk, "scx_watchdog_timestamp");
	w->kva_jiffies = kt_gk_sym_kva(w->gk, "jiffies_64");
	w->kva_state = kt_gk_sym_kva(w->gk, "scx_ops_enable_state_var");
	return true;
}

static int wr(struct kt_wdog *w, const struct kt_gk_mem *m, uint64_t kva, uint64_t v)
{
	return kt_gk_write(w->gk, m, kva, &v, sizeof(v));
}

static void stop(struct kt_wdog *w, char *why)
{
	w->broken = true;
	w->refreshing = false;
	free(w->broken_why);
	w->broken_why = why;
}

/* 6.12's enum scx_ops_enable_state: SCX_OPS_ENABLING, SCX_OPS_ENABLED, ... */
#define KT_SCX_OPS_ENABLED 1

void kt_wdog_tick(struct kt_wdog *w, const struct kt_gk_mem *m)
{
	uint64_t cur, j, stamp;
	uint32_t state;

	if (w->broken || !w->want || !located(w, m))
		return;
	/*
	 * scx_watchdog_timeout is in .bss: between the decompressor's jump
	 * into a KASLR kernel and clear_bss() it holds leftovers of the
	 * compressed image, and the reader can already locate the kernel
	 * then. Only a scheduler being enabled (or enabled) makes the value
	 * the kernel's: the enable state lives in .data, valid from the
	 * start.
	 */
	if (kt_gk_read(w->gk, m, w->kva_state, &state, sizeof(state))) {
		stop(w, kt_asprintf("guest memory at 0x%llx is not readable",
				    (unsigned long long)w->kva_state));
		return;
	}
	if (state > KT_SCX_OPS_ENABLED)
		return; /* no scheduler (being) enabled */
	if (kt_gk_read_u64(w->gk, m, w->kva_timeout, &cur) ||
	    kt_gk_read_u64(w->gk, m, w->kva_jiffies, &j)) {
		stop(w, kt_asprintf("guest memory at 0x%llx is not readable",
				    (unsigned long long)w->kva_timeout));
		return;
	}
	if (!cur)
		return; /* no scheduler enabled yet */
	if (cur > 86400ull * (uint64_t)w->hz) {
		/* Not a timeout: wrong address or a hostile guest: leave it alone. */
		stop(w, kt_asprintf("implausible scx_watchdog_timeout %llu; not touched",
				    (unsigned long long)cur));
		return;
	}
	if (cur != w->want) {
		/* A scheduler was enabled with its own timeout (cur). */
		if (!w->enables)
			w->first_old = cur;
		w->enables++;
		if (wr(w, m, w->kva_timeout, w->want)) {
			stop(w, kt_strdup("guest memory not writable"));
			return;
		}
		/*
		 * Shorter than the period the watchdog work was queued with
		 * (cur/2): keep the check-in timestamp fresh until the work has
		 * run, i.e. until the kernel writes a timestamp no earlier than
		 * its first due time (half a second of slack for our late view
		 * of the enable).
		 */
		w->refreshing = w->want < cur;
		w->refresh_due = j + cur / 2 - (uint64_t)w->hz / 2;
		if (w->refreshing && !wr(w, m, w->kva_stamp, j))
			w->written_stamp = j;
		return;
	}
	if (!w->refreshing)
		return;
	if (kt_gk_read_u64(w->gk, m, w->kva_stamp, &stamp)) {
		w->refreshing = false;
		return;
	}
	/* wrap-safe, as the kernel's time_after_eq() */
	if (stamp != w->written_stamp && (int64_t)(stamp - w->refresh_due) >= 0) {
		w->refreshing = false; /* the watchdog work ran and re-armed with want/2 */
		return;
	}
	if (!wr(w, m, w->kva_stamp, j))
		w->written_stamp = j;
}

char *kt_wdog_describe(const struct kt_wdog *w)
{
	if (w->broken)
		return kt_asprintf("sched_ext watchdog: %d s asked, stopped: %s", w->secs,
				   w->broken_why ? w->broken_why : "?");
	if (!w->kva_timeout)
		return kt_asprintf("sched_ext watchdog: %d s asked, not applied: the guest "
				   "kernel was not located in guest memory (%s)",
				   w->secs, w->attach_why ? w->attach_why : "never looked");
	if (!w->enables)
		return kt_asprintf("sched_ext watchdog: %d s asked, no scheduler was enabled",
				   w->secs);
	return kt_asprintf("sched_ext watchdog: %d s (HZ=%d; the scheduler's own: %.1f s), "
			   "applied at %u enable%s",
			   w->secs, w->hz, (double)w->first_old / w->hz, w->enables,
			   w->enables == 1 ? "" : "s");
}
