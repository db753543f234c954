// SPDX-License-Identifier: GPL-2.0
/* Registry of linked tests/schedulers, validation, run plans, host fit, names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfmap/bpfmap.h"
#include "runner.h"
#include "util/util.h"
#include "vm/vm.h"

extern const struct ktstr_test *const __start_ktstr_tests[] __attribute__((weak));
extern const struct ktstr_test *const __stop_ktstr_tests[] __attribute__((weak));
extern const struct ktstr_scheduler *const __start_ktstr_scheds[] __attribute__((weak));
extern const struct ktstr_scheduler *const __stop_ktstr_scheds[] __attribute__((weak));

static int cmp_test(const void *a, const void *b)
{
	const struct ktstr_test *x = *(const struct ktstr_test *const *)a;
	const struct ktstr_test *y = *(const struct ktstr_test *const *)b;
	int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");

	return c ? c : x->line - y->line;
}

/* In declaration order (file, then line), not the section's link order. */
const struct ktstr_test *const *kt_registry_tests(size_t *n)
{
	static const struct ktstr_test **sorted;
	static size_t count;

	if (!sorted) {
		count = __start_ktstr_tests ? (size_t)(__stop_ktstr_tests - __start_ktstr_tests)
					    : 0;
		sorted = kt_calloc(count + 1, sizeof(*sorted));
		for (size_t i = 0; i < count; i++)
			sorted[i] = __start_ktstr_tests[i];
		qsort(sorted, count, sizeof(*sorted), cmp_test);
	}
	*n = count;
	return sorted;
}

const struct ktstr_scheduler *const *kt_registry_scheds(size_t *n)
{
	*n = __start_ktstr_scheds ? (size_t)(__stop_ktstr_scheds - __start_ktstr_scheds) : 0;
	return __start_ktstr_scheds;
}

const struct ktstr_test *kt_registry_find(const char *name)
{
	size_t n;
	const struct ktstr_test *const *v = kt_registry_tests(&n);

	for (size_t i = 0; i < n; i++)
		if (v[i] && v[i]->name && !strcmp(v[i]->name, name))
			return v[i];
	return NULL;
}

/* ---- plan ------------------------------------------------------------------- */

static const struct ktstr_flag *sched_flag(const struct ktstr_scheduler *s, const char *name)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < KTSTR_MAX_FLAGS && s->flags[i].name; i++)
		if (!strcmp(s->flags[i].name, name))
			return &s->flags[i];
	return NULL;
}

static char *flag_list(const struct ktstr_scheduler *s)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; s && i < KTSTR_MAX_FLAGS && s->flags[i].name; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", s->flags[i].name);
	if (!sb.len)
		sb_adds(&sb, "none");
	return sb_steal(&sb);
}

static bool in_list(const char *const *v, size_t max, const char *name)
{
	for (size_t i = 0; i < max && v[i]; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

#define FAIL(...)                                                                                \
	do {                                                                                     \
		char *_m = kt_asprintf(__VA_ARGS__);                                             \
		*err = kt_asprintf("ktstr_test '%s': %s", t->name ? t->name : "", _m);           \
		free(_m);                                                                        \
		return -EINVAL;                                                                  \
	} while (0)

static int check_constraints(const struct ktstr_test *t, const struct ktstr_constraints *c,
			     const struct kt_topo_spec *tp, const char *who, char **err)
{
	int cpus = kt_topo_spec_cpus(tp);
	char name[KT_TOPO_SPEC_STRLEN];
	struct {
		const char *what;
		int min, max, have;
	} r[] = {
		{"numa_nodes", c->min_numa_nodes, c->max_numa_nodes, tp->numa_nodes},
		{"llcs", c->min_llcs, c->max_llcs, tp->llcs},
		{"cpus", c->min_cpus, c->max_cpus, cpus},
	};

	kt_topo_spec_format(tp, name, sizeof(name));
	for (size_t i = 0; i < KT_ARRAY_SIZE(r); i++) {
		if (r[i].min < 0 || r[i].max < 0)
			FAIL("%s constraint on %s is negative", who, r[i].what);
		if (r[i].max && r[i].min > r[i].max)
			FAIL("%s constraint min_%s (%d) > max_%s (%d)", who, r[i].what, r[i].min,
			     r[i].what, r[i].max);
		if (r[i].min && r[i].have < r[i].min)
			FAIL("topology %s has %d %s, below the %s minimum %d", name, r[i].have,
			     r[i].what, who, r[i].min);
		if (r[i].max && r[i].have > r[i].max)
			FAIL("topology %s has %d %s, above the %s maximum %d", name, r[i].have,
			     r[i].what, who, r[i].max);
	}
	if (c->requires_smt && tp->threads < 2)
		FAIL("%s constraints require SMT but the topology has 1 thread per core", who);
	return 0;
}

/* sched_args, extra_sched_args, then each active flag's args. */
static void build_sched_argv(struct kt_plan *p)
{
	const struct ktstr_scheduler *s = p->sched;
	const struct ktstr_test *t = p->test;

	p->n_sched_argv = 0;
	if (!s)
		return;
	for (size_t i = 0; i < KTSTR_MAX_ARGS && s->sched_args[i]; i++)
		p->sched_argv[p->n_sched_argv++] = s->sched_args[i];
	for (size_t i = 0; i < KTSTR_MAX_ARGS && t->extra_sched_args[i]; i++)
		p->sched_argv[p->n_sched_argv++] = t->extra_sched_args[i];
	for (size_t i = 0; i < p->n_flags; i++) {
		const struct ktstr_flag *f = sched_flag(s, p->flags[i]);

		for (size_t j = 0; f && j < KTSTR_MAX_ARGS && f->args[j]; j++)
			p->sched_argv[p->n_sched_argv++] = f->args[j];
	}
}

int kt_plan_resolve(const struct ktstr_test *t, struct kt_plan *p, char **err)
{
	const struct ktstr_scheduler *s = t->scheduler;
	struct kt_topo_spec tp = {1, 1, 2, 1};
	struct kt_assert base;
	int r;

	memset(p, 0, sizeof(*p));
	p->test = t;
	p->sched = s;
	p->sched_name = s ? s->name : "eevdf";
	if (!t->name || !*t->name || strchr(t->name, '/') || strchr(t->name, '\\'))
		FAIL("test name must be non-empty without '/' or '\\'");
	if (!t->fn)
		FAIL("no test function");
	if (s && (!s->name || !*s->name))
		FAIL("scheduler has no name");

	/* Topology: scheduler default, then the test's string, then fields. */
	if (s && s->topology) {
		char *e = NULL;

		if (kt_topo_spec_scan(s->topology, &tp, &e)) {
			char *m = kt_asprintf("scheduler '%s': %s", s->name, e);

			free(e);
			*err = kt_asprintf("ktstr_test '%s': %s", t->name, m);
			free(m);
			return -EINVAL;
		}
	}
	if (t->topology) {
		char *e = NULL;

		if (kt_topo_spec_scan(t->topology, &tp, &e)) {
			*err = kt_asprintf("ktstr_test '%s': %s", t->name, e);
			free(e);
			return -EINVAL;
		}
	}
	if (t->numa_nodes != KTSTR_UNSET)
		tp.numa_nodes = t->numa_nodes;
	if (t->llcs != KTSTR_UNSET)
		tp.llcs = t->llcs;
	if (t->cores != KTSTR_UNSET)
		tp.cores = t->cores;
	if (t->threads != KTSTR_UNSET)
		tp.threads = t->threads;
	kt_topo_spec_format(&tp, p->topo_str, sizeof(p->topo_str));
	{
		char *why = NULL;

		if (kt_topo_spec_check(&tp, &why)) {
			*err = kt_asprintf("ktstr_test '%s': %s (topology %s)", t->name, why,
					   p->topo_str);
			free(why);
			return -EINVAL;
		}
	}
	p->topo = tp;

#define POS_FIELD(f, dflt)                                                                       \
	do {                                                                                     \
		if (t->f == KTSTR_UNSET)                                                         \
			p->f = (dflt);                                                           \
		else if (t->f <= 0)                                                              \
			FAIL(#f " must be > 0 (got %d)", t->f);                                  \
		else                                                                             \
			p->f = t->f;                                                             \
	} while (0)
	POS_FIELD(duration_s, 2);
	POS_FIELD(workers_per_cgroup, 2);
	POS_FIELD(memory_mb, 2048);
	POS_FIELD(watchdog_timeout_s, 4);
#undef POS_FIELD

	if (s) {
		r = check_constraints(t, &s->constraints, &tp, "scheduler", err);
		if (r)
			return r;
	}
	r = check_constraints(t, &t->constraints, &tp, "test", err);
	if (r)
		return r;

	/* Flags. */
	if ((t->required_flags[0] || t->excluded_flags[0]) && !(s && s->flags[0].name))
		FAIL("flags given but scheduler '%s' declares none", p->sched_name);
	for (size_t i = 0; s && i < KTSTR_MAX_FLAGS && s->flags[i].name; i++) {
		const struct ktstr_flag *f = &s->flags[i];

		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->flags[j].name, f->name))
				FAIL("scheduler '%s' declares flag '%s' twice", s->name, f->name);
		for (size_t j = 0; j < KTSTR_MAX_FLAGS && f->requires[j]; j++)
			if (!sched_flag(s, f->requires[j]))
				FAIL("scheduler '%s' flag '%s' requires unknown flag '%s'", s->name,
				     f->name, f->requires[j]);
	}
	for (int pass = 0; pass < 2; pass++) {
		const char *const *v = pass ? t->excluded_flags : t->required_flags;

		for (size_t i = 0; i < KTSTR_MAX_FLAGS && v[i]; i++) {
			if (!sched_flag(s, v[i])) {
				char *l = flag_list(s);
				char *m = kt_asprintf("unknown flag '%s' (scheduler '%s' declares: "
						      "%s)",
						      v[i], p->sched_name, l);

				free(l);
				*err = kt_asprintf("ktstr_test '%s': %s", t->name, m);
				free(m);
				return -EINVAL;
			}
			if (pass == 0 && in_list(t->excluded_flags, KTSTR_MAX_FLAGS, v[i]))
				FAIL("flag '%s' is both required and excluded", v[i]);
		}
	}
	/* Active flags = required flags, in declaration order. */
	for (size_t i = 0; s && i < KTSTR_MAX_FLAGS && s->flags[i].name; i++)
		if (in_list(t->required_flags, KTSTR_MAX_FLAGS, s->flags[i].name))
			p->flags[p->n_flags++] = s->flags[i].name;

	if (!s && t->extra_sched_args[0])
		FAIL("extra_sched_args given but the test has no scheduler");
	build_sched_argv(p);
	if (s)
		for (size_t i = 0; i < KTSTR_MAX_KV && s->sysctls[i]; i++)
			if (!strchr(s->sysctls[i], '=') || s->sysctls[i][0] == '=')
				FAIL("scheduler '%s' sysctl '%s' is not key=value", s->name,
				     s->sysctls[i]);

	/* BPF map captures, temporal assertions, host writes (bpfmap/bpfmap.h). */
	{
		char *why = NULL;

		if (kt_bpfmap_validate(t, p->duration_s, &why)) {
			*err = kt_asprintf("ktstr_test '%s': %s", t->name, why);
			free(why);
			return -EINVAL;
		}
	}

	/* Assertions: defaults ⊕ scheduler ⊕ test. */
	base = kt_assert_default_checks();
	if (s)
		base = kt_assert_merge(&base, &s->assert);
	p->assert = kt_assert_merge(&base, &t->assert);
	return 0;
}
#undef FAIL

int kt_plan_apply_variant(struct kt_plan *p, const struct kt_topo_spec *topo, uint32_t flags,
			  int memory_floor_mb, char **err)
{
	const struct ktstr_scheduler *s = p->sched;
	char *why = NULL;

	if (kt_topo_spec_check(topo, &why)) {
		*err = kt_asprintf("ktstr_test '%s': %s", p->test->name, why);
		free(why);
		return -EINVAL;
	}
	p->topo = *topo;
	kt_topo_spec_format(topo, p->topo_str, sizeof(p->topo_str));
	if (p->memory_mb < memory_floor_mb)
		p->memory_mb = memory_floor_mb;
	p->n_flags = 0;
	for (size_t i = 0; s && i < KTSTR_MAX_FLAGS && s->flags[i].name; i++)
		if (flags & (1u << i))
			p->flags[p->n_flags++] = s->flags[i].name;
	build_sched_argv(p);
	p->variant = true;
	p->variant_flags = flags;
	return 0;
}

/* ---- host fit and timeouts ------------------------------------------------ */

bool kt_host_fits(int cpus, bool kvm, int host_cpus, char **why)
{
	int limit;

	if (host_cpus < 1)
		host_cpus = 1;
	if (kvm) {
		if (cpus <= host_cpus)
			return true;
		*why = kt_asprintf("topology needs %d vCPUs but only %d host CPUs are available "
				   "(KVM: at most one vCPU per host CPU)",
				   cpus, host_cpus);
		return false;
	}
	limit = host_cpus * KT_TCG_MAX_VCPUS_PER_CPU;
	if (limit > KT_TCG_MAX_VCPUS)
		limit = KT_TCG_MAX_VCPUS;
	if (cpus <= limit)
		return true;
	*why = kt_asprintf("topology needs %d vCPUs but this host can emulate at most %d under TCG "
			   "(%d host CPUs; limit min(%d per host CPU, %d))",
			   cpus, limit, host_cpus, KT_TCG_MAX_VCPUS_PER_CPU, KT_TCG_MAX_VCPUS);
	return false;
}

unsigned kt_vm_timeout_for(int duration_s, int cpus, bool kvm)
{
	if (duration_s < 0)
		duration_s = 0;
	if (kvm)
		return 20 + 2 * (unsigned)duration_s + (unsigned)cpus / 4;
	/* TCG: boot ~2 s/vCPU-ish under load, settle + scenario + teardown. */
	return 30 + 3 * (unsigned)duration_s + 2 * (unsigned)cpus;
}

/* ---- names ------------------------------------------------------------------ */

char *kt_test_full_name(const char *name, const char *kernel_label)
{
	if (kernel_label)
		return kt_asprintf("ktstr/%s/%s", name, kernel_label);
	return kt_asprintf("ktstr/%s", name);
}

int kt_test_parse_full_name(const char *full, char **name, char **label)
{
	const char *p = full, *slash;

	*name = *label = NULL;
	if (kt_startswith(p, "ktstr/"))
		p += 6;
	if (!*p)
		return -EINVAL;
	slash = strchr(p, '/');
	if (!slash) {
		*name = kt_strdup(p);
		return 0;
	}
	if (slash == p || !slash[1] || strchr(slash + 1, '/'))
		return -EINVAL;
	*name = kt_strdup(p);
	(*name)[slash - p] = 0;
	*label = kt_strdup(slash + 1);
	return 0;
}
