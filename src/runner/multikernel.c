// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel set of a `ktstr test` run (src/runner/multikernel.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner/multikernel.h"
#include "util/util.h"

void kt_kernel_set_free(struct kt_kernel_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		kt_kernel_free(&s->ks[i]);
	free(s->ks);
	free(s->list);
	memset(s, 0, sizeof(*s));
}

/* KTSTR_KERNEL_LIST: each path resolved, the list's labels kept. */
static int from_env_list(const char *env, struct kt_kernel_set *s, char **err)
{
	struct kt_kernel_list_item *items = NULL;
	size_t n = 0;
	int r = kt_kernel_list_parse(env, &items, &n, err);

	if (r)
		return r;
	s->ks = kt_calloc(n ? n : 1, sizeof(*s->ks));
	for (size_t i = 0; i < n; i++) {
		char *e2 = NULL;

		r = kt_kernel_resolve(items[i].path, &s->ks[i], &e2);
		if (r) {
			kt_set_err(err, "KTSTR_KERNEL_LIST: kernel '%s' (%s): %s", items[i].label,
				   items[i].path, e2 ? e2 : strerror(-r));
			free(e2);
			break;
		}
		s->n++;
		free(s->ks[i].label);
		s->ks[i].label = kt_kernel_list_label(items[i].label);
	}
	/* Two labels that become the same test-name suffix cannot be told apart. */
	for (size_t i = 0; !r && i < s->n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->ks[i].label, s->ks[j].label)) {
				kt_set_err(err, "KTSTR_KERNEL_LIST: labels '%s' and '%s' are both %s",
					   items[j].label, items[i].label, s->ks[i].label);
				r = -EINVAL;
				break;
			}
	if (!r && n >= 2)
		s->list = kt_strdup(env);
	kt_kernel_list_free(items, n);
	return r;
}

int kt_kernel_set_resolve(const char *const *ids, size_t nids, struct kt_kernel_set *s,
			  char **err)
{
	const char *env = kt_getenv("KTSTR_KERNEL_LIST");
	struct kt_kernel_list_item *items;
	int r;

	memset(s, 0, sizeof(*s));
	if (!nids) {
		r = env ? from_env_list(env, s, err) : 0;
		if (r)
			kt_kernel_set_free(s);
		return r;
	}
	r = kt_kernel_resolve_many(ids, nids, &s->ks, &s->n, err);
	if (r || s->n < 2)
		return r;
	items = kt_calloc(s->n, sizeof(*items));
	for (size_t i = 0; i < s->n; i++) {
		items[i].label = s->ks[i].label;
		items[i].path = s->ks[i].dir;
	}
	r = kt_kernel_list_format(items, s->n, &s->list, err);
	free(items);
	if (r)
		kt_kernel_set_free(s);
	return r;
}

const char *kt_kernel_set_run_kernel(const struct kt_kernel_set *s, size_t i)
{
	if (i >= s->n)
		return NULL;
	return s->n >= 2 ? s->ks[i].label : s->ks[i].version;
}
