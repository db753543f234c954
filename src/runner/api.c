// SPDX-License-Identifier: GPL-2.0
/* Scenario helpers for test bodies: thin wrappers over the scenario module. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ktstr.h>

#include "check/check.h"
#include "scenario/scenario.h"
#include "util/util.h"

/* Fold one scenario result into the test's accumulated result. */
static void absorb(struct ktstr_ctx *ctx, struct kt_assert_result *r)
{
	if (ctx->n_results++ == 0) {
		kt_assert_result_clear(&ctx->result);
		kt_assert_result_copy(&ctx->result, r);
	} else {
		kt_assert_result_merge(&ctx->result, r);
	}
	kt_assert_result_clear(r);
}

static int finish(struct ktstr_ctx *ctx, int rc, struct kt_assert_result *r, const char *what)
{
	/* -EINVAL etc.: the description was wrong; out already says why when filled. */
	if (rc < 0 && !kt_assert_result_failed(r))
		kt_assert_result_add_failure(r, KT_DETAIL_OTHER, "%s: %s", what, strerror(-rc));
	absorb(ctx, r);
	return rc;
}

int ktstr_execute_scenario(struct ktstr_ctx *ctx, const struct kt_backdrop *bd,
			   const struct kt_step *steps, size_t n, const struct kt_assert *checks)
{
	struct kt_assert_result r = {0};
	int rc = kt_scenario_run(ctx->scn, bd, steps, n, checks, &r);

	return finish(ctx, rc, &r, "scenario");
}

int ktstr_execute_steps(struct ktstr_ctx *ctx, const struct kt_step *steps, size_t n)
{
	return ktstr_execute_scenario(ctx, NULL, steps, n, NULL);
}

int ktstr_execute_defs(struct ktstr_ctx *ctx, const struct kt_cgroup_def *defs, size_t n)
{
	struct kt_assert_result r = {0};
	int rc = kt_scenario_run_defs(ctx->scn, defs, n, &r);

	return finish(ctx, rc, &r, "scenario");
}

int ktstr_run_canned(struct ktstr_ctx *ctx, const char *name)
{
	const struct kt_canned *c = kt_canned_find(name);
	struct kt_assert_result r = {0};
	int rc;

	if (!c) {
		ktstr_fail(ctx, "unknown canned scenario '%s'", name);
		return -ENOENT;
	}
	rc = c->run(ctx->scn, &r);
	return finish(ctx, rc, &r, name);
}

int ktstr_run_catalog(struct ktstr_ctx *ctx, const char *name)
{
	size_t n;
	const struct kt_catalog_entry *e = kt_catalog(&n);
	struct kt_assert_result r = {0};

	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].name, name))
			continue;
		return finish(ctx, kt_catalog_run(ctx->scn, &e[i], &r), &r, name);
	}
	ktstr_fail(ctx, "unknown catalog scenario '%s'", name);
	return -ENOENT;
}

/* A failure (skip == false) or skip with a printf-style message. */
static void absorb_msg(struct ktstr_ctx *ctx, bool skip, const char *fmt, va_list ap)
{
	struct kt_assert_result r = {0};
	char *m;

	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	if (skip)
		kt_assert_result_skip(&r, m ? m : fmt);
	else
		kt_assert_result_fail(&r, KT_DETAIL_OTHER, m ? m : fmt);
	free(m);
	absorb(ctx, &r);
}

void ktstr_fail(struct ktstr_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	absorb_msg(ctx, false, fmt, ap);
	va_end(ap);
}

void ktstr_skip(struct ktstr_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	absorb_msg(ctx, true, fmt, ap);
	va_end(ap);
}

bool ktstr_sched_alive(const struct ktstr_ctx *ctx)
{
	return kt_sched_alive(ctx->sched_pid);
}
