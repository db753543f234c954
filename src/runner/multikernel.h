/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernels of one `ktstr test` run. `--kernel ID` (repeatable; resolved
 * in parallel, KTSTR_KERNEL_PARALLELISM wide) or, without it,
 * KTSTR_KERNEL_LIST=label=path;... from the environment (its labels kept).
 * With two or more kernels every test runs once per kernel: the test
 * binaries get KTSTR_KERNEL_LIST and list "ktstr/NAME/KERNEL_LABEL", and
 * each kernel's sidecars go to their own run dir {KERNEL_LABEL}-{commit}.
 */
#ifndef KTSTR_RUNNER_MULTIKERNEL_H
#define KTSTR_RUNNER_MULTIKERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/kernel.h"

struct kt_kernel_set {
	struct kt_kernel *ks; /* ks[i].label: the label tests name it by */
	size_t n;
	char *list; /* KTSTR_KERNEL_LIST wire form when n >= 2, else NULL */
};

/*
 * Resolve ids[0..nids) or, when nids == 0, KTSTR_KERNEL_LIST (unset or
 * empty: an empty set, the test binaries use the implicit chain). Returns 0
 * or a negative errno with *err set.
 */
int kt_kernel_set_resolve(const char *const *ids, size_t nids, struct kt_kernel_set *s,
			  char **err);
void kt_kernel_set_free(struct kt_kernel_set *s);

/* What names kernel i's run dir: its label in a multi-kernel set, else its version. */
const char *kt_kernel_set_run_kernel(const struct kt_kernel_set *s, size_t i);

#endif
