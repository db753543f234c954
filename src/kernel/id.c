// SPDX-License-Identifier: GPL-2.0
/*
 * Pure logic: kernel ids, versions, labels, cache keys, KTSTR_KERNEL_LIST
 * and the CPU cap. No I/O except the environment and sched_getaffinity.
 */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "util/util.h"

static char *kt_strndup_(const char *s, size_t n)
{
	char *r = kt_malloc(n + 1);

	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

const char *kt_kernel_arch(void)
{
#if defined(__aarch64__)
	return "aarch64";
#else
	return "x86_64";
#endif
}

const char *kt_kernel_image_name(void)
{
#if defined(__aarch64__)
	return "Image";
#else
	return "bzImage";
#endif
}

const char *kt_kernel_image_tree_path(void)
{
#if defined(__aarch64__)
	return "arch/arm64/boot/Image";
#else
	return "arch/x86/boot/bzImage";
#endif
}

/* ---- versions ---------------------------------------------------------------- */

static int parse_num(const char **p, unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		if (v > 100000000ul)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

int kt_version_parse(const char *s, struct kt_version *v)
{
	unsigned long a, b;

	memset(v, 0, sizeof(*v));
	if (!s || parse_num(&s, &a) || *s != '.')
		return -EINVAL;
	s++;
	if (parse_num(&s, &b))
		return -EINVAL;
	v->maj = (unsigned)a;
	v->min = (unsigned)b;
	if (*s == '.') {
		s++;
		if (parse_num(&s, &v->patch))
			return -EINVAL;
		v->has_patch = true;
	}
	if (!strncmp(s, "-rc", 3)) {
		s += 3;
		if (parse_num(&s, &v->rc))
			return -EINVAL;
		v->has_rc = true;
	}
	return *s ? -EINVAL : 0;
}

bool kt_version_valid(const char *s)
{
	struct kt_version v;

	return kt_version_parse(s, &v) == 0;
}

bool kt_version_is_prefix(const char *s)
{
	struct kt_version v;

	if (s && *s && strspn(s, "0123456789") == strlen(s))
		return true; /* "6" */
	return kt_version_parse(s, &v) == 0 && !v.has_patch && !v.has_rc;
}

int kt_version_cmp(const struct kt_version *a, const struct kt_version *b)
{
	unsigned long arc = a->has_rc ? a->rc : (unsigned long)-1;
	unsigned long brc = b->has_rc ? b->rc : (unsigned long)-1;

	if (a->maj != b->maj)
		return a->maj < b->maj ? -1 : 1;
	if (a->min != b->min)
		return a->min < b->min ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	if (arc != brc)
		return arc < brc ? -1 : 1;
	return 0;
}

/* ---- ids --------------------------------------------------------------------- */

const char *kt_kid_type_name(enum kt_kid_type t)
{
	switch (t) {
	case KT_KID_GIT:
		return "git";
	case KT_KID_RANGE:
		return "range";
	case KT_KID_PATH:
		return "path";
	case KT_KID_VERSION:
		return "version";
	default:
		return "cache key";
	}
}

void kt_kid_free(struct kt_kid *k)
{
	free(k->a);
	free(k->b);
	k->a = k->b = NULL;
}

int kt_kid_parse(const char *in, struct kt_kid *out, char **err)
{
	char *s, *hash, *dots;

	memset(out, 0, sizeof(*out));
	if (!in) {
		kt_set_err(err, "empty kernel id");
		return -EINVAL;
	}
	{
		char *tmp = kt_strdup(in);

		s = kt_strdup(kt_trim(tmp));
		free(tmp);
	}
	if (!*s) {
		free(s);
		kt_set_err(err, "empty kernel id");
		return -EINVAL;
	}
	if (kt_startswith(s, "git+") && (hash = strrchr(s, '#')) && hash > s + 4 && hash[1]) {
		out->type = KT_KID_GIT;
		out->a = kt_strndup_(s + 4, (size_t)(hash - (s + 4)));
		out->b = kt_strdup(hash + 1);
		free(s);
		return 0;
	}
	if ((dots = strstr(s, ".."))) {
		char *a = kt_strndup_(s, (size_t)(dots - s));

		if (kt_version_valid(a) && kt_version_valid(dots + 2)) {
			struct kt_version va, vb;

			kt_version_parse(a, &va);
			kt_version_parse(dots + 2, &vb);
			if (kt_version_cmp(&va, &vb) > 0) {
				kt_set_err(err, "kernel range %s is inverted (%s > %s)", s, a,
					dots + 2);
				free(a);
				free(s);
				return -EINVAL;
			}
			out->type = KT_KID_RANGE;
			out->a = a;
			out->b = kt_strdup(dots + 2);
			free(s);
			return 0;
		}
		free(a);
	}
	if (strchr(s, '/') || s[0] == '.' || s[0] == '~') {
		out->type = KT_KID_PATH;
		if (s[0] == '~' && (s[1] == '/' || !s[1]) && kt_getenv("HOME")) {
			out->a = kt_asprintf("%s%s", getenv("HOME"), s + 1);
			free(s);
		} else {
			out->a = s;
		}
		return 0;
	}
	if (kt_version_valid(s)) {
		out->type = KT_KID_VERSION;
		out->a = s;
		return 0;
	}
	out->type = KT_KID_CACHEKEY;
	out->a = s;
	return 0;
}

/* ---- labels --------------------------------------------------------------------- */

char *kt_kernel_label_sanitize(const char *raw)
{
	struct sbuf sb = SBUF_INIT;
	bool us = false;

	sb_adds(&sb, "kernel_");
	for (const char *p = raw ? raw : ""; *p; p++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*p);

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			sb_add(&sb, &c, 1);
			us = false;
		} else if (!us) {
			sb_adds(&sb, "_");
			us = true;
		}
	}
	while (sb.len && sb.s[sb.len - 1] == '_')
		sb.s[--sb.len] = 0;
	return sb_steal(&sb);
}

char *kt_cache_key_label(const char *key)
{
	const char *p;

	if (kt_startswith(key, "local-unknown-"))
		return kt_strdup("local_unknown");
	if (kt_startswith(key, "local-")) {
		char h[7] = {0};

		strncpy(h, key + 6, 6);
		if (strchr(h, '-'))
			*strchr(h, '-') = 0;
		return kt_asprintf("local_%s", h);
	}
	if ((p = strstr(key, "-tarball-")) || (p = strstr(key, "-git-")))
		return kt_strndup_(key, (size_t)(p - key));
	return kt_strdup(key);
}

/* ---- cache keys --------------------------------------------------------------- */

char *kt_cache_key_tarball(const char *version)
{
	return kt_asprintf("%s-tarball-%s-kc%08x", version, kt_kernel_arch(), kt_kconfig_crc());
}

char *kt_cache_key_git(const char *ref, const char *hash7)
{
	char *r = kt_strdup(ref), *k;

	for (char *p = r; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	k = kt_asprintf("%s-git-%.7s-%s-kc%08x", r, hash7, kt_kernel_arch(), kt_kconfig_crc());
	free(r);
	return k;
}

char *kt_cache_key_local(const char *hash7, bool cfg_crc_valid, uint32_t cfg_crc)
{
	if (cfg_crc_valid)
		return kt_asprintf("local-%.7s-%s-cfg%08x-kc%08x", hash7, kt_kernel_arch(), cfg_crc,
				   kt_kconfig_crc());
	return kt_asprintf("local-%.7s-%s-kc%08x", hash7, kt_kernel_arch(), kt_kconfig_crc());
}

char *kt_cache_key_local_unknown(const char *canonical_path)
{
	return kt_asprintf("local-unknown-%08x-%s-kc%08x",
			   kt_crc32(canonical_path, strlen(canonical_path)), kt_kernel_arch(),
			   kt_kconfig_crc());
}

int kt_cache_key_validate(const char *key, char **err)
{
	const char *why = NULL;

	if (!key || !*key)
		why = "empty";
	else if (strchr(key, '/'))
		why = "contains '/'";
	else if (strchr(key, '\\'))
		why = "contains '\\'";
	else if (strstr(key, ".."))
		why = "contains '..'";
	else if (kt_startswith(key, ".tmp-"))
		why = "starts with '.tmp-'";
	else if (key[0] == '.')
		why = "starts with '.'";
	else
		for (const char *p = key; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				why = "contains a control character";
				break;
			}
	if (why) {
		kt_set_err(err, "invalid cache key \"%s\": %s", key ? key : "", why);
		return -EINVAL;
	}
	return 0;
}

/* ---- KTSTR_KERNEL_LIST ------------------------------------------------------------ */

char *kt_kernel_list_label(const char *raw)
{
	if (kt_startswith(raw, "kernel_"))
		return kt_strdup(raw);
	return kt_kernel_label_sanitize(raw);
}

void kt_kernel_list_free(struct kt_kernel_list_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].label);
		free(items[i].path);
	}
	free(items);
}

int kt_kernel_list_parse(const char *s, struct kt_kernel_list_item **out, size_t *n, char **err)
{
	struct kt_kernel_list_item *v = NULL;
	size_t cnt = 0, idx = 0;
	char *copy, *tok;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (!s)
		return 0;
	copy = kt_strdup(s);
	if (!*kt_trim(copy)) {
		free(copy);
		return 0;
	}
	free(copy);
	copy = kt_strdup(s);
	/* strtok_r would skip empty entries; split by hand */
	for (char *p = copy;; idx++) {
		char *semi = strchr(p, ';'), *eq, *label, *path;

		if (semi)
			*semi = 0;
		tok = kt_trim(p);
		if (!*tok) {
			if (!semi && idx > 0)
				break; /* one trailing ';' is tolerated */
			kt_set_err(err, "KTSTR_KERNEL_LIST: entry %zu is empty (expected label=path)",
				idx + 1);
			r = -EINVAL;
			goto out;
		}
		eq = strchr(tok, '=');
		if (!eq) {
			kt_set_err(err,
				"KTSTR_KERNEL_LIST: entry %zu \"%s\" has no '=' (expected "
				"label=path)",
				idx + 1, tok);
			r = -EINVAL;
			goto out;
		}
		*eq = 0;
		label = kt_trim(tok);
		path = kt_trim(eq + 1);
		if (!*label) {
			kt_set_err(err, "KTSTR_KERNEL_LIST: entry %zu has an empty label", idx + 1);
			r = -EINVAL;
			goto out;
		}
		if (strchr(path, '=')) {
			kt_set_err(err, "KTSTR_KERNEL_LIST: entry %zu \"%s=%s\" has more than one '='",
				idx + 1, label, path);
			r = -EINVAL;
			goto out;
		}
		if (!*path) {
			kt_set_err(err, "KTSTR_KERNEL_LIST: label \"%s\" has an empty path", label);
			r = -EINVAL;
			goto out;
		}
		for (size_t i = 0; i < cnt; i++)
			if (!strcmp(v[i].label, label)) {
				kt_set_err(err, "KTSTR_KERNEL_LIST: duplicate label \"%s\"", label);
				r = -EINVAL;
				goto out;
			}
		v = kt_realloc(v, (cnt + 1) * sizeof(*v));
		v[cnt].label = kt_strdup(label);
		v[cnt].path = kt_strdup(path);
		cnt++;
		if (!semi)
			break;
		p = semi + 1;
	}
out:
	free(copy);
	if (r) {
		kt_kernel_list_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int kt_kernel_list_format(const struct kt_kernel_list_item *items, size_t n, char **out, char **err)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		const char *l = items[i].label, *p = items[i].path;

		if (!l || !*l || strpbrk(l, ";=")) {
			kt_set_err(err,
				"kernel label \"%s\" cannot be used in KTSTR_KERNEL_LIST "
				"(empty or contains ';' or '=')",
				l ? l : "");
			sb_free(&sb);
			return -EINVAL;
		}
		if (!p || !*p || strchr(p, ';')) {
			kt_set_err(err,
				"kernel path \"%s\" cannot be used in KTSTR_KERNEL_LIST "
				"(empty or contains ';')",
				p ? p : "");
			sb_free(&sb);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(items[j].label, l)) {
				kt_set_err(err, "duplicate kernel label \"%s\"", l);
				sb_free(&sb);
				return -EINVAL;
			}
		sb_addf(&sb, "%s%s=%s", i ? ";" : "", l, p);
	}
	sb_str(&sb);
	*out = sb_steal(&sb);
	return 0;
}

/* ---- CPU cap ---------------------------------------------------------------------- */

unsigned kt_allowed_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

int kt_cpu_cap_resolve(const char *cap_flag, unsigned allowed, unsigned *jobs, char **err)
{
	const char *env = kt_getenv("KTSTR_CPU_CAP");
	uint64_t v;

	if (!allowed)
		allowed = kt_allowed_cpus();
	if (cap_flag) {
		if (kt_parse_u64(cap_flag, &v)) {
			kt_set_err(err, "--cpu-cap is not a valid integer: \"%s\"", cap_flag);
			return -EINVAL;
		}
		if (v == 0) {
			kt_set_err(err, "--cpu-cap must be ≥ 1 CPU (got 0)");
			return -EINVAL;
		}
	} else if (env) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", env);
		if (!*kt_trim(buf)) {
			*jobs = allowed;
			return 0;
		}
		if (kt_parse_u64(buf, &v)) {
			kt_set_err(err, "KTSTR_CPU_CAP is not a valid integer: \"%s\"", env);
			return -EINVAL;
		}
		if (v == 0) {
			kt_set_err(err, "--cpu-cap must be ≥ 1 CPU (got 0)");
			return -EINVAL;
		}
	} else {
		*jobs = allowed;
		return 0;
	}
	if (kt_getenv("KTSTR_BYPASS_LLC_LOCKS")) {
		kt_set_err(err, "--cpu-cap/KTSTR_CPU_CAP conflicts with KTSTR_BYPASS_LLC_LOCKS: the "
			     "cap is a resource contract that bypassing the locks cannot honour");
		return -EINVAL;
	}
	if (v > allowed) {
		kt_set_err(err, "--cpu-cap %llu exceeds the %u CPU(s) this process may use",
			(unsigned long long)v, allowed);
		return -EINVAL;
	}
	*jobs = (unsigned)v;
	return 0;
}

unsigned kt_kernel_parallelism(void)
{
	const char *e = getenv("KTSTR_KERNEL_PARALLELISM");
	uint64_t v;

	if (e && kt_parse_u64(e, &v) == 0 && v > 0 && v <= 1024)
		return (unsigned)v;
	return kt_allowed_cpus();
}
