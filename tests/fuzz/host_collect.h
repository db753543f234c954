/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the guest-input targets: the host's collectors of a test run
 * (src/runner/host.c, included for its static functions), then what the
 * host makes of them: the outcome, the verdict and the failure report,
 * which must be terminal-safe whatever the guest sent.
 */
#ifndef KTSTR_FUZZ_HOST_COLLECT_H
#define KTSTR_FUZZ_HOST_COLLECT_H

#include "../../src/runner/host.c"
#include "term_check.h"

/* The reader delivers only messages within their kind's limits. */
static void on_msg_checked(void *arg, enum kt_msg_kind kind, const void *data, uint32_t len)
{
	if (kind < 0 || kind >= KT_MSG__COUNT || len > kt_msg_kinds[kind].max_len ||
	    len < kt_msg_kinds[kind].min_len)
		__builtin_trap();
	on_msg(arg, kind, data, len);
}

static void collect_begin(struct collect *c, struct kt_outcome *o)
{
	memset(c, 0, sizeof(*c));
	memset(o, 0, sizeof(*o));
	o->exit_code = -1;
	c->o = o;
	kt_timeline_init(&c->tl); /* as kt_run_test_host does */
	c->rx = kt_proto_rx_new(on_msg_checked, c);
}

static void collect_end(struct collect *c, struct kt_outcome *o)
{
	static const struct ktstr_test test = {.name = "fuzz"};
	struct kt_plan plan = {.test = &test, .sched_name = "eevdf", .topo_str = "1n1l1c1t"};
	char *report = NULL;

	kt_proto_rx_finish(c->rx);
	collect_finish(c, o);
	kt_verdict_decide(&plan, o, true, &report);
	check_terminal_safe(report);
	free(report);
	sb_free(&c->sched_log);
	sb_free(&c->dump);
	sb_free(&c->guest_out);
	free(c->result);
	kt_proto_rx_free(c->rx);
	kt_timeline_free(&c->tl);
	kt_outcome_free(o);
}

#endif
