// SPDX-License-Identifier: GPL-2.0
/* .watchdog_timeout_s applied from the host; see wdog.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "util/util.h"
#include "wdog.h"

int kt_wdog_init_addrs(struct kt_wdog *w, uint64_t timeout_sym, uint64_t stamp_sym,
		       uint64_t jiffies_sym, int hz, int secs, char **why)
{
	memset(w, 0, sizeof(*w));
	if (!timeout_sym || !stamp_sym || !jiffies_sym) {
		kt_set_err(why, "the kernel has no %s symbol (sched_ext before 6.12 or after "
				"the move into struct scx_sched)",
			   !timeout_sym ? "scx_watchdog_timeout"
			   : !stamp_sym ? "scx_watchdog_timestamp"
					: "jiffies_64");
		return -ENOENT;
	}
	if (timeout_sym < KT_KERNEL_TEXT_MAP || stamp_sym < KT_KERNEL_TEXT_MAP ||
	    jiffies_sym < KT_KERNEL_TEXT_MAP) {
		kt_set_err(why, "kernel symbols are not in the kernel text mapping");
		return -EINVAL;
	}
	if (hz <= 0 || secs <= 0) {
		kt_set_err(why, "bad HZ (%d) or timeout (%d s)", hz, secs);
		return -EINVAL;
	}
	w->pa_timeout = timeout_sym - KT_KERNEL_TEXT_MAP;
	w->pa_stamp = stamp_sym - KT_KERNEL_TEXT_MAP;
	w->pa_jiffies = jiffies_sym - KT_KERNEL_TEXT_MAP;
	w->hz = hz;
	w->secs = secs;
	w->want = (uint64_t)secs * (uint64_t)hz;
	return 0;
}

int kt_wdog_init(struct kt_wdog *w, const char *vmlinux, int hz, int secs, char **why)
{
	static const char *const names[] = {"scx_watchdog_timeout", "scx_watchdog_timestamp",
					    "jiffies_64"};
	uint64_t a[3];
	char *err = NULL;
	int r;

	memset(w, 0, sizeof(*w));
	if (!vmlinux) {
		kt_set_err(why, "no vmlinux with symbols for this kernel");
		return -ENOENT;
	}
	r = kt_ksym_lookup(vmlinux, names, 3, a, &err);
	if (!r)
		r = kt_wdog_init_addrs(w, a[0], a[1], a[2], hz, secs, &err);
	if (r) {
		/* ksym errors name the file already */
		kt_set_err(why, "%s%s%s", strstr(err, vmlinux) ? "" : vmlinux,
			   strstr(err, vmlinux) ? "" : ": ", err);
		free(err);
	}
	return r;
}

void kt_wdog_free(struct kt_wdog *w)
{
	free(w->broken_why);
	w->broken_why = NULL;
}

static void stop(struct kt_wdog *w, char *why)
{
	w->broken = true;
	w->refreshing = false;
	free(w->broken_why);
	w->broken_why = why;
}

void kt_wdog_tick(struct kt_wdog *w, const struct kt_wdog_mem *m)
{
	uint64_t cur, j, stamp;

	if (w->broken || !w->want)
		return;
	if (m->read(m->ctx, w->pa_timeout, &cur) || m->read(m->ctx, w->pa_jiffies, &j)) {
		stop(w, kt_asprintf("guest memory at 0x%llx is not readable",
				    (unsigned long long)w->pa_timeout));
		return;
	}
	if (!cur)
		return; /* no scheduler enabled yet */
	if (cur > 86400ull * (uint64_t)w->hz) {
		/* Not a timeout: wrong address (KASLR?), leave the guest alone. */
		stop(w, kt_asprintf("implausible scx_watchdog_timeout %llu; not touched",
				    (unsigned long long)cur));
		return;
	}
	if (cur != w->want) {
		/* A scheduler was enabled with its own timeout (cur). */
		if (!w->enables)
			w->first_old = cur;
		w->enables++;
		if (m->write(m->ctx, w->pa_timeout, w->want)) {
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
		if (w->refreshing && !m->write(m->ctx, w->pa_stamp, j))
			w->written_stamp = j;
		return;
	}
	if (!w->refreshing)
		return;
	if (m->read(m->ctx, w->pa_stamp, &stamp)) {
		w->refreshing = false;
		return;
	}
	/* wrap-safe, as the kernel's time_after_eq() */
	if (stamp != w->written_stamp && (int64_t)(stamp - w->refresh_due) >= 0) {
		w->refreshing = false; /* the watchdog work ran and re-armed with want/2 */
		return;
	}
	if (!m->write(m->ctx, w->pa_stamp, j))
		w->written_stamp = j;
}

char *kt_wdog_describe(const struct kt_wdog *w)
{
	if (w->broken)
		return kt_asprintf("sched_ext watchdog: %d s asked, stopped: %s", w->secs,
				   w->broken_why ? w->broken_why : "?");
	if (!w->enables)
		return kt_asprintf("sched_ext watchdog: %d s asked, no scheduler was enabled",
				   w->secs);
	return kt_asprintf("sched_ext watchdog: %d s (HZ=%d; the scheduler's own: %.1f s), "
			   "applied at %u enable%s",
			   w->secs, w->hz, (double)w->first_old / w->hz, w->enables,
			   w->enables == 1 ? "" : "s");
}
