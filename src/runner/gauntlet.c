// SPDX-License-Identifier: GPL-2.0
/* Gauntlet variants: presets, flag profiles, names, listing entries (gauntlet.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gauntlet.h"
#include "runner.h"
#include "util/util.h"

/* x86_64 presets: name, NUMA nodes, LLCs, cores per LLC, threads per core. */
static const struct kt_preset presets[KT_NPRESETS] = {
	{"tiny-1llc", 1, 1, 4, 1, 2048},
	{"tiny-2llc", 1, 2, 2, 1, 2048},
	{"odd-3llc", 1, 3, 3, 1, 2048},
	{"odd-5llc", 1, 5, 3, 1, 2048},
	{"odd-7llc", 1, 7, 2, 1, 2048},
	{"smt-2llc", 1, 2, 2, 2, 2048},
	{"smt-3llc", 1, 3, 2, 2, 2048},
	{"medium-4llc", 1, 4, 4, 2, 2048},
	{"medium-8llc", 1, 8, 4, 2, 2048},
	{"large-4llc", 1, 4, 16, 2, 2048},
	{"large-8llc", 1, 8, 8, 2, 2048},
	{"near-max-llc", 1, 15, 8, 2, 2048},
	{"max-cpu", 1, 14, 9, 2, 4096},
	{"medium-4llc-nosmt", 1, 4, 8, 1, 2048},
	{"medium-8llc-nosmt", 1, 8, 8, 1, 2048},
	{"large-4llc-nosmt", 1, 4, 32, 1, 2048},
	{"large-8llc-nosmt", 1, 8, 16, 1, 2048},
	{"near-max-llc-nosmt", 1, 15, 16, 1, 2048},
	{"max-cpu-nosmt", 1, 14, 18, 1, 4096},
	{"numa2-4llc", 2, 4, 4, 1, 2048},
	{"numa2-8llc", 2, 8, 8, 2, 2048},
	{"numa2-8llc-nosmt", 2, 8, 16, 1, 2048},
	{"numa4-8llc", 4, 8, 4, 1, 2048},
	{"numa4-12llc", 4, 12, 8, 2, 2048},
};

const struct kt_preset *kt_presets(size_t *n)
{
	*n = KT_NPRESETS;
	return presets;
}

const struct kt_preset *kt_preset_find(const char *name)
{
	for (size_t i = 0; i < KT_NPRESETS; i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}

int kt_preset_cpus(const struct kt_preset *p)
{
	return p->llcs * p->cores * p->threads;
}

/* ---- constraints ---------------------------------------------------------- */

static int bound(int test, int sched, int dflt)
{
	return test > 0 ? test : sched > 0 ? sched : dflt;
}

bool kt_preset_allowed(const struct ktstr_test *t, const struct kt_preset *p, char **why)
{
	static const struct ktstr_constraints none;
	const struct ktstr_constraints *tc = &t->constraints;
	const struct ktstr_constraints *sc = t->scheduler ? &t->scheduler->constraints : &none;
	struct {
		const char *what;
		int have, min, max;
	} r[] = {
		{"NUMA nodes", p->numa_nodes, bound(tc->min_numa_nodes, sc->min_numa_nodes, 1),
		 bound(tc->max_numa_nodes, sc->max_numa_nodes, 1)},
		{"LLCs", p->llcs, bound(tc->min_llcs, sc->min_llcs, 1),
		 bound(tc->max_llcs, sc->max_llcs, 12)},
		{"CPUs", kt_preset_cpus(p), bound(tc->min_cpus, sc->min_cpus, 1),
		 bound(tc->max_cpus, sc->max_cpus, 192)},
	};

	for (size_t i = 0; i < KT_ARRAY_SIZE(r); i++) {
		if (r[i].have < r[i].min) {
			*why = kt_asprintf("constraint: %d %s, below the minimum %d", r[i].have,
					   r[i].what, r[i].min);
			return false;
		}
		if (r[i].have > r[i].max) {
			*why = kt_asprintf("constraint: %d %s, above the maximum %d%s", r[i].have,
					   r[i].what, r[i].max,
					   i == 0 && r[i].max == 1 ? " (default max_numa_nodes)" :
					   i == 1 && r[i].max == 12 ? " (default max_llcs)" :
					   i == 2 && r[i].max == 192 ? " (default max_cpus)" : "");
			return false;
		}
	}
	if ((tc->requires_smt || sc->requires_smt) && p->threads < 2) {
		*why = kt_strdup("constraint: requires_smt but 1 thread per core");
		return false;
	}
	return true;
}

/* ---- profiles --------------------------------------------------------------- */

static int flag_index(const struct ktstr_scheduler *s, const char *name)
{
	for (int i = 0; s && i < KTSTR_MAX_FLAGS && s->flags[i].name; i++)
		if (!strcmp(s->flags[i].name, name))
			return i;
	return -1;
}

static size_t nflags(const struct ktstr_scheduler *s)
{
	size_t n = 0;

	while (s && n < KTSTR_MAX_FLAGS && s->flags[n].name)
		n++;
	return n;
}

static int list_mask(const struct ktstr_scheduler *s, const char *const *v, kt_flagmask *m)
{
	*m = 0;
	for (size_t i = 0; i < KTSTR_MAX_FLAGS && v[i]; i++) {
		int x = flag_index(s, v[i]);

		if (x < 0)
			return -EINVAL;
		*m |= 1u << x;
	}
	return 0;
}

/* The first unmet `requires` of mask m: flag index in *who, required name returned. */
static const char *unmet(const struct ktstr_scheduler *s, kt_flagmask m, int *who)
{
	for (size_t i = 0; i < nflags(s); i++) {
		if (!(m & (1u << i)))
			continue;
		for (size_t j = 0; j < KTSTR_MAX_FLAGS && s->flags[i].requires[j]; j++) {
			int x = flag_index(s, s->flags[i].requires[j]);

			if (x < 0 || !(m & (1u << x))) {
				*who = (int)i;
				return s->flags[i].requires[j];
			}
		}
	}
	return NULL;
}

int kt_flag_profiles(const struct ktstr_test *t, kt_flagmask **out, size_t *n, kt_flagmask **rejected,
		size_t *nrej)
{
	const struct ktstr_scheduler *s = t->scheduler;
	kt_flagmask req, exc, opt[KTSTR_MAX_FLAGS];
	size_t nopt = 0, cap;
	int who;

	*out = NULL;
	*n = 0;
	if (rejected) {
		*rejected = NULL;
		*nrej = 0;
	}
	if (list_mask(s, t->required_flags, &req) || list_mask(s, t->excluded_flags, &exc))
		return -EINVAL;
	for (size_t i = 0; i < nflags(s); i++)
		if (!((req | exc) & (1u << i)))
			opt[nopt++] = 1u << i;
	cap = (size_t)1 << nopt;
	*out = kt_calloc(cap, sizeof(**out));
	if (rejected)
		*rejected = kt_calloc(cap, sizeof(**rejected));
	for (size_t sub = 0; sub < cap; sub++) {
		kt_flagmask m = req;

		for (size_t b = 0; b < nopt; b++)
			if (sub & ((size_t)1 << b))
				m |= opt[b];
		if (!unmet(s, m, &who))
			(*out)[(*n)++] = m;
		else if (rejected)
			(*rejected)[(*nrej)++] = m;
	}
	return 0;
}

char *kt_flag_profile_name(const struct ktstr_scheduler *s, kt_flagmask m)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < nflags(s); i++)
		if (m & (1u << i))
			sb_addf(&sb, "%s%s", sb.len ? "+" : "", s->flags[i].name);
	if (!sb.len)
		sb_adds(&sb, "default");
	return sb_steal(&sb);
}

char *kt_flag_profile_why_invalid(const struct ktstr_scheduler *s, kt_flagmask m)
{
	int who = -1;
	const char *need = unmet(s, m, &who);

	if (!need)
		return NULL;
	return kt_asprintf("flag '%s' requires '%s'", s->flags[who].name, need);
}

int kt_flag_profile_parse(const struct ktstr_test *t, const char *name, kt_flagmask *m, char **err)
{
	const struct ktstr_scheduler *s = t->scheduler;
	kt_flagmask req = 0, exc = 0;
	char *dup, *save = NULL;
	char *why;

	*m = 0;
	if (list_mask(s, t->required_flags, &req) || list_mask(s, t->excluded_flags, &exc)) {
		*err = kt_strdup("the test names a flag its scheduler does not declare");
		return -EINVAL;
	}
	if (strcmp(name, "default")) {
		dup = kt_strdup(name);
		for (char *f = strtok_r(dup, "+", &save); f; f = strtok_r(NULL, "+", &save)) {
			int x = flag_index(s, f);

			if (x < 0) {
				*err = kt_asprintf("unknown flag '%s' in profile '%s'", f, name);
				free(dup);
				return -EINVAL;
			}
			*m |= 1u << x;
		}
		free(dup);
		/* The canonical spelling only: one name per variant. */
		why = kt_flag_profile_name(s, *m);
		if (strcmp(why, name)) {
			*err = kt_asprintf("profile '%s' is spelled '%s'", name, why);
			free(why);
			return -EINVAL;
		}
		free(why);
	}
	if ((*m & req) != req) {
		why = kt_flag_profile_name(s, req);
		*err = kt_asprintf("profile '%s' lacks the required flags %s", name, why);
		free(why);
		return -EINVAL;
	}
	if (*m & exc) {
		*err = kt_asprintf("profile '%s' has an excluded flag", name);
		return -EINVAL;
	}
	why = kt_flag_profile_why_invalid(s, *m);
	if (why) {
		*err = kt_asprintf("profile '%s': %s", name, why);
		free(why);
		return -EINVAL;
	}
	return 0;
}

/* ---- names ------------------------------------------------------------------- */

static int split(const char *s, char **parts, int max)
{
	int n = 0;
	const char *p = s;

	for (;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (!len || n == max)
			goto bad;
		parts[n] = kt_strdup(p);
		parts[n++][len] = 0;
		if (!e)
			return n;
		p = e + 1;
	}
bad:
	while (n)
		free(parts[--n]);
	return -EINVAL;
}

int kt_name_parse(const char *full, struct kt_name_parts *np)
{
	char *p[4] = {0};
	int n;

	memset(np, 0, sizeof(*np));
	if (kt_startswith(full, "gauntlet/")) {
		n = split(full + 9, p, 4);
		if (n < 3)
			goto bad;
		np->test = p[0];
		np->preset = p[1];
		np->profile = p[2];
		np->label = p[3];
		return 0;
	}
	n = split(kt_startswith(full, "ktstr/") ? full + 6 : full, p, 2);
	if (n < 1)
		return -EINVAL;
	np->test = p[0];
	np->label = p[1];
	return 0;
bad:
	while (n > 0)
		free(p[--n]);
	return -EINVAL;
}

void kt_name_parts_free(struct kt_name_parts *np)
{
	free(np->test);
	free(np->preset);
	free(np->profile);
	free(np->label);
	memset(np, 0, sizeof(*np));
}

char *kt_gauntlet_name(const char *test, const char *preset, const char *profile,
		       const char *label)
{
	if (label)
		return kt_asprintf("gauntlet/%s/%s/%s/%s", test, preset, profile, label);
	return kt_asprintf("gauntlet/%s/%s/%s", test, preset, profile);
}

/* ---- entries -------------------------------------------------------------------- */

static struct kt_entry *grow(struct kt_entry **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = kt_realloc(*v, *cap * sizeof(**v));
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	return &(*v)[(*n)++];
}

static void fill_shape(struct kt_entry *e, const struct kt_topo_spec *tp)
{
	e->numa_nodes = tp->numa_nodes;
	e->llcs = tp->llcs;
	e->threads = tp->threads;
	e->cpus = kt_topo_spec_cpus(tp);
	kt_topo_spec_format(tp, e->topo, sizeof(e->topo));
}

int kt_entries_build(const struct ktstr_test *const *v, size_t n, bool gauntlet,
		     const struct kt_host_caps *host, const char *const *labels, size_t nlabels,
		     bool with_filtered, struct kt_entry **out, size_t *nout)
{
	size_t cap = 0, cnt = 0, nl = nlabels >= 2 ? nlabels : 1;
	struct kt_entry *all = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ktstr_test *t = v[i];
		struct kt_plan p;
		char *err = NULL;
		kt_flagmask *prof = NULL, *rej = NULL, req = 0;
		size_t np = 0, nrej = 0;

		if (kt_plan_resolve(t, &p, &err)) {
			free(err);
			rc = -EINVAL;
			goto fail;
		}
		list_mask(t->scheduler, t->required_flags, &req);
		for (size_t k = 0; k < (t->host_only ? 1 : nl); k++) {
			struct kt_entry *e = grow(&all, &cnt, &cap);
			const char *lb = nlabels >= 2 && !t->host_only ? labels[k] : NULL;

			e->name = kt_test_full_name(t->name, lb);
			e->test = t;
			e->flags = req;
			e->profile = kt_flag_profile_name(t->scheduler, req);
			e->label = lb;
			fill_shape(e, &p.topo);
			e->duration_s = p.duration_s;
			e->workers = p.workers_per_cgroup;
		}
		if (!gauntlet || t->host_only)
			continue;
		if (kt_flag_profiles(t, &prof, &np, with_filtered ? &rej : NULL, &nrej)) {
			rc = -EINVAL;
			goto fail;
		}
		for (size_t pi = 0; pi < KT_NPRESETS; pi++) {
			const struct kt_preset *pr = &presets[pi];
			struct kt_topo_spec tp = {pr->numa_nodes, pr->llcs, pr->cores, pr->threads};
			char *why = NULL;

			/* Either sets why only when it says no. */
			if (kt_preset_allowed(t, pr, &why) &&
			    !kt_host_fits(kt_preset_cpus(pr), host->kvm, host->cpus, &why)) {
				char *w = kt_asprintf("host: %s", why);

				free(why);
				why = w;
			}
			if (why && !with_filtered) {
				free(why);
				continue;
			}
			/* Profiles that break a `requires`: listed on presets that fit. */
			for (size_t q = 0; q < np + (why ? 0 : nrej); q++) {
				kt_flagmask m = q < np ? prof[q] : rej[q - np];
				char *pname = kt_flag_profile_name(t->scheduler, m);

				for (size_t k = 0; k < nl; k++) {
					struct kt_entry *e = grow(&all, &cnt, &cap);

					e->label = nlabels >= 2 ? labels[k] : NULL;
					e->name = kt_gauntlet_name(t->name, pr->name, pname, e->label);
					e->test = t;
					e->preset = pr;
					e->flags = m;
					e->profile = kt_strdup(pname);
					fill_shape(e, &tp);
					e->duration_s = p.duration_s;
					e->workers = p.workers_per_cgroup;
					e->ignored = true;
					if (q >= np) {
						char *r = kt_flag_profile_why_invalid(t->scheduler, m);

						e->filtered = kt_asprintf("profile: %s", r);
						free(r);
					} else if (why) {
						e->filtered = kt_strdup(why);
					}
				}
				free(pname);
			}
			free(why);
		}
		free(prof);
		free(rej);
	}
	*out = all;
	*nout = cnt;
	return 0;
fail:
	kt_entries_free(all, cnt);
	return rc;
}

void kt_entries_free(struct kt_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].profile);
		free(e[i].filtered);
	}
	free(e);
}
