/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the step executor: its state, shared by exec.c (state, steps,
 * teardown, kt_scenario_run), exec_ops.c (ops and cgroup definitions)
 * and exec_payload.c (payload processes).
 */
#ifndef KTSTR_SCENARIO_EXEC_H
#define KTSTR_SCENARIO_EXEC_H

#include "scenario.h"

#define LOG "scenario"

struct cg_ent {
	char *name;
	bool backdrop;
	bool implicit; /* an ancestor created for a nested name */
	bool has_cpuset;
	struct kt_cpuset cpuset;
};

struct handle {
	char *cgroup; /* "" = host */
	bool backdrop;
	struct kt_workload *wl;
	struct kt_lb_stats *lb_start; /* /proc/schedstat at start (NULL = unreadable) */
};

struct payload {
	char *name;
	char *cgroup; /* "" = caller's cgroup */
	bool backdrop;
	pid_t pid;
};

struct exec {
	const struct kt_ctx *ctx;
	const struct kt_assert *checks;
	struct kt_assert_result *out;
	uint64_t start_ns;
	bool in_step; /* applying step entities (else Backdrop) */
	struct cg_ent *cgs;
	size_t n_cgs;
	struct handle *hs;
	size_t n_hs;
	struct payload *ps;
	size_t n_ps;
	unsigned rng;
	struct kt_rq_series rq; /* every CPU's run_delay over the run (evidence) */
	uint64_t rq_next_ns;    /* when hold_sleep samples it next */
};

int kx_apply_def(struct exec *x, const struct kt_cgroup_def *d, char **err);
int kx_create_cg(struct exec *x, const char *name, char **err);
void kx_drop_cg_entities(struct exec *x, const char *cg, bool collect);
struct cg_ent *kx_find_cg(struct exec *x, const char *name);
void kx_kill_payload_at(struct exec *x, size_t i, bool report);
bool kx_name_in(const char *name, const char *cg);
void kx_remove_cg_at(struct exec *x, size_t i);
int kx_spawn_work(struct exec *x, struct cg_ent *c, const struct kt_cg_work *cw,
		  bool swappable, char **err);
int kx_write_cpuset(struct exec *x, struct cg_ent *c, const struct kt_cpuset_spec *spec,
		    char **err);
int kx_run_payload(struct exec *x, const struct kt_op *op, char **err);
int kx_wait_payload(struct exec *x, const struct kt_op *op, bool kill_it, char **err);
int kx_apply_defs(struct exec *x, const struct kt_step *s, char **err);
int kx_apply_ops(struct exec *x, const struct kt_op *ops, size_t n, char **err);

#endif
