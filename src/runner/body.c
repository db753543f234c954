// SPDX-License-Identifier: GPL-2.0
/*
 * A test's body, run in this process: inside the VM by the guest's run
 * mode (src/guest/run.c), on the host for host_only tests (host.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ktstr.h>

#include "runner.h"
#include "scenario/scenario.h"
#include "util/util.h"

int kt_run_body_local(const struct kt_plan *plan, const char *cg_root, pid_t spid,
		      const struct kt_scn_events *ev, volatile sig_atomic_t *stop,
		      void (*stage)(const char *what), struct kt_assert_result *out)
{
	const struct ktstr_test *t = plan->test;
	struct kt_hwtopo topo = {0};
	struct kt_cgroup_mgr cg = {0};
	struct ktstr_ctx tctx = {0};
	struct kt_ctx sctx = {0};
	char *err = NULL;
	int rc;

	kt_assert_result_clear(out);
	if (kt_hwtopo_read(NULL, &topo, &err)) {
		kt_assert_result_fail(out, KT_DETAIL_OTHER, err);
		free(err);
		return -EIO;
	}
	if (kt_cgmgr_init(&cg, "/sys/fs/cgroup", cg_root, &err)) {
		kt_assert_result_fail(out, KT_DETAIL_OTHER, err);
		free(err);
		kt_hwtopo_free(&topo);
		return -EIO;
	}
	sctx.topo = &topo;
	sctx.cg = &cg;
	sctx.duration_ms = (uint64_t)plan->duration_s * 1000;
	sctx.workers_per_cgroup = (unsigned)plan->workers_per_cgroup;
	sctx.sched_pid = spid;
	sctx.settle_ms = 500;
	sctx.assert = plan->assert;
	sctx.events = ev;
	sctx.stop = stop;

	tctx.name = t->name;
	tctx.topology = plan->topo;
	tctx.cpus = kt_topo_spec_cpus(&plan->topo);
	tctx.duration_s = (unsigned)plan->duration_s;
	tctx.workers_per_cgroup = (unsigned)plan->workers_per_cgroup;
	tctx.sched_pid = spid;
	tctx.assert = &sctx.assert;
	tctx.hwtopo = &topo;
	tctx.scn = &sctx;
	kt_assert_result_pass(&tctx.result);

	if (stage)
		stage("test body running");
	rc = t->fn(&tctx);
	if (stage)
		stage("test body done");
	if (rc < 0 && !kt_assert_result_failed(&tctx.result))
		kt_assert_result_add_failure(&tctx.result, KT_DETAIL_OTHER,
					     "test function returned error: %s", strerror(-rc));
	kt_assert_result_copy(out, &tctx.result);
	kt_assert_result_clear(&tctx.result);
	kt_cgmgr_destroy(&cg);
	kt_cgmgr_free(&cg);
	kt_hwtopo_free(&topo);
	return 0;
}

