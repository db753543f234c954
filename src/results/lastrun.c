// SPDX-License-Identifier: GPL-2.0
/*
 * The record of the last `ktstr test` run (src/results/ciformat.h), so that
 * `ktstr test --rerun-failed` runs exactly the tests that failed. Sidecars
 * do not do for this: they name the bare test, not the listed name with its
 * kernel label, and a test whose binary died writes none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "results/ciformat.h"
#include "util/util.h"

#define LAST_RUN_MAX (16u << 20)

char *kt_last_run_path(void)
{
	const char *o = kt_getenv("KTSTR_SIDECAR_DIR");
	char *root = o ? kt_strdup(o) : kt_runs_root();
	char *p = kt_path_join(root, ".last-run.json");

	free(root);
	return p;
}

static const char *case_state_name(const struct kt_case *c)
{
	if (c->state == KT_CASE_NOT_RUN)
		return "NOT_RUN";
	if (c->state == KT_CASE_INTERRUPTED)
		return "INTERRUPTED";
	return kt_verdict_name(c->verdict);
}

int kt_last_run_write(const struct kt_case *c, size_t n, char **err)
{
	json_t *root = json_object(), *tests = json_array();
	char *path = kt_last_run_path(), *dir, *text;
	int r;

	json_object_set_new(root, "version", json_integer(1));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(tests, json_pack("{s:s, s:s, s:s}", "binary", c[i].binary,
						       "name", c[i].name, "verdict",
						       case_state_name(&c[i])));
	json_object_set_new(root, "tests", tests);
	text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	dir = kt_strdup(path);
	*strrchr(dir, '/') = 0;
	r = kt_mkdir_p(dir, 0755);
	if (!r)
		r = kt_write_file_atomic(path, text, strlen(text), 0644);
	if (r)
		kt_set_err(err, "%s: %s", path, strerror(-r));
	free(dir);
	free(text);
	free(path);
	return r;
}

int kt_last_run_failed(struct kt_strv *bins, struct kt_strv *names, char **err)
{
	char *path = kt_last_run_path(), *text = NULL;
	json_error_t je;
	json_t *root, *tests, *t;
	size_t i;
	int r = kt_read_file(path, &text, NULL, LAST_RUN_MAX);

	if (r) {
		kt_set_err(err, "no earlier run recorded (%s: %s)", path, strerror(-r));
		free(path);
		return r == -ENOENT ? -ENOENT : r;
	}
	root = json_loads(text, 0, &je);
	free(text);
	tests = root ? json_object_get(root, "tests") : NULL;
	if (!json_is_array(tests)) {
		kt_set_err(err, "%s: not a run record%s%s", path, root ? "" : ": ",
			   root ? "" : je.text);
		json_decref(root);
		free(path);
		return -EINVAL;
	}
	json_array_foreach(tests, i, t) {
		const char *b = json_string_value(json_object_get(t, "binary"));
		const char *n = json_string_value(json_object_get(t, "name"));
		const char *v = json_string_value(json_object_get(t, "verdict"));

		if (!b || !n || !v) {
			kt_set_err(err, "%s: entry %zu lacks binary, name or verdict", path, i + 1);
			json_decref(root);
			free(path);
			return -EINVAL;
		}
		if (strcmp(v, "FAIL"))
			continue;
		kt_strv_add(bins, b);
		kt_strv_add(names, n);
	}
	json_decref(root);
	free(path);
	return 0;
}
