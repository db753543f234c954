/* SPDX-License-Identifier: GPL-2.0 */
/*
 * .watchdog_timeout_s: the host shortens the guest kernel's sched_ext
 * watchdog by writing guest memory (docs/design.md, decision 5), as the
 * reference does for kernels before 7.1.
 *
 * On 6.12 the timeout is the kernel-private `scx_watchdog_timeout`
 * (jiffies), set from the scheduler's ops.timeout_ms (30 s when unset) each
 * time a scheduler is enabled; there is no sysfs or sysctl knob. The host
 * polls it (every VM tick, 100 ms): a value other than the one asked for
 * means a scheduler was just enabled, and it is overwritten.
 *
 * One catch: enabling queues the watchdog work with the *old* period
 * (old/2), while the per-tick "watchdog failed to check in" test compares
 * `scx_watchdog_timestamp` with the *new* timeout. Until the work has run
 * once (it then re-arms itself with new/2), the host keeps the timestamp
 * fresh, so a shorter timeout cannot raise a false "failed to check in"
 * error. The first stall check therefore still happens old/2 after the
 * enable (15 s for schedulers without timeout_ms); from then on stalls are
 * caught within the new timeout plus half of it.
 *
 * The value is read only while a scheduler is being enabled or is enabled
 * (`scx_ops_enable_state_var`, in .data): the timeout is in .bss, which on a
 * KASLR boot holds leftovers of the compressed image until clear_bss(),
 * after the reader can already locate the kernel.
 *
 * Addresses: through the one guest kernel reader (src/monitor/guestkern.h):
 * the symbols' runtime addresses follow the KASLR slides it finds in guest
 * RAM, so the override works with and without KASLR.
 */
#ifndef KTSTR_RUNNER_WDOG_H
#define KTSTR_RUNNER_WDOG_H

#include <stdbool.h>
#include <stdint.h>

struct kt_gk;
struct kt_gk_mem;

struct kt_wdog {
	struct kt_gk *gk; /* owned */
	uint64_t kva_timeout, kva_stamp, kva_jiffies, kva_state; /* runtime, 0 until attached */
	uint64_t want; /* jiffies */
	int hz;
	int secs;
	/* state */
	bool refreshing;   /* keeping scx_watchdog_timestamp fresh */
	uint64_t written_stamp;
	uint64_t refresh_due; /* jiffies from which the kernel's own check-in counts */
	unsigned enables;  /* scheduler enables seen and overridden */
	uint64_t first_old; /* the scheduler's own timeout at the first enable */
	bool broken;       /* implausible memory contents: stopped touching it */
	char *broken_why;
	char *attach_why;  /* why the guest kernel is not located (yet) */
};

/*
 * Prepare an override of secs seconds for the kernel whose symbols and BTF
 * are in vmlinux and whose CONFIG_HZ is hz. Returns 0, or -ENOENT with
 * *why set when the kernel has no scx_watchdog_timeout (not a 6.12-style
 * kernel) or no usable symbol table.
 */
int kt_wdog_init(struct kt_wdog *w, const char *vmlinux, int hz, int secs, char **why);
/* Same from an opened reader, which w then owns (freed on error too). */
int kt_wdog_init_gk(struct kt_wdog *w, struct kt_gk *gk, int hz, int secs, char **why);
void kt_wdog_free(struct kt_wdog *w);

/*
 * One poll: locate the guest kernel (until found), detect an enable,
 * overwrite, keep the timestamp fresh.
 */
void kt_wdog_tick(struct kt_wdog *w, const struct kt_gk_mem *m);

/* One line for reports ("sched_ext watchdog: ..."), malloc'd. */
char *kt_wdog_describe(const struct kt_wdog *w);

#endif
