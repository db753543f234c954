// SPDX-License-Identifier: GPL-2.0
/* Host context recorded in every sidecar: CPU, memory, kernel, tunables. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "report/hoststate.h"
#include "results.h"
#include "util/util.h"

/* Value of the first "key<sep>value" line in a /proc-style text. */
static char *field(const char *text, const char *key, char sep)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l;

		if (strncmp(p, key, kl))
			continue;
		p += kl;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != sep)
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *v = kt_malloc(n + 1);

		memcpy(v, p, n);
		v[n] = 0;
		return v;
	}
	return NULL;
}

static char *read_trim(const char *path)
{
	char *s = NULL;

	if (kt_read_file(path, &s, NULL, 1 << 20))
		return NULL;
	char *t = kt_trim(s);
	memmove(s, t, strlen(t) + 1);
	return s;
}

static void set_str(json_t *o, const char *k, char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
	free(v);
}

static void set_u64_field(json_t *o, const char *k, const char *text, const char *key)
{
	char *v = field(text, key, ':');
	uint64_t n;

	if (v) {
		char *sp = strchr(v, ' ');

		if (sp)
			*sp = 0;
		if (!kt_parse_u64(v, &n))
			json_object_set_new(o, k, json_integer((json_int_t)n));
	}
	free(v);
}

static int count_cpulist(const char *path)
{
	char *s = read_trim(path);
	struct kt_cpuset cs;
	int n = -1;

	if (s && !kt_cpuset_parse(s, &cs))
		n = kt_cpuset_count(&cs);
	free(s);
	return n;
}

/* "always [madvise] never" -> "madvise" */
static char *bracketed(char *s)
{
	char *a, *b;

	if (!s)
		return NULL;
	a = strchr(s, '[');
	b = a ? strchr(a, ']') : NULL;
	if (a && b) {
		*b = 0;
		memmove(s, a + 1, strlen(a + 1) + 1);
	}
	return s;
}

json_t *kt_host_context(void)
{
	json_t *o = json_object(), *tun = json_object();
	struct utsname u;
	char *text = NULL;
	int n;
	DIR *d;

	if (!kt_read_file("/proc/cpuinfo", &text, NULL, 0)) {
		set_str(o, "cpu_model", field(text, "model name", ':'));
		set_str(o, "cpu_vendor", field(text, "vendor_id", ':'));
		free(text);
	}
	if (!kt_read_file("/proc/meminfo", &text, NULL, 0)) {
		set_u64_field(o, "total_memory_kb", text, "MemTotal");
		set_u64_field(o, "hugepages_total", text, "HugePages_Total");
		set_u64_field(o, "hugepages_free", text, "HugePages_Free");
		set_u64_field(o, "hugepages_size_kb", text, "Hugepagesize");
		free(text);
	}
	set_str(o, "thp_enabled", bracketed(read_trim("/sys/kernel/mm/transparent_hugepage/enabled")));
	set_str(o, "thp_defrag", bracketed(read_trim("/sys/kernel/mm/transparent_hugepage/defrag")));
	n = count_cpulist("/sys/devices/system/cpu/online");
	if (n > 0)
		json_object_set_new(o, "online_cpus", json_integer(n));
	n = count_cpulist("/sys/devices/system/node/online");
	if (n > 0)
		json_object_set_new(o, "numa_nodes", json_integer(n));
	if (uname(&u) == 0) {
		json_object_set_new(o, "kernel_name", json_string(u.sysname));
		json_object_set_new(o, "kernel_release", json_string(u.release));
		json_object_set_new(o, "arch", json_string(u.machine));
	}
	set_str(o, "kernel_cmdline", read_trim("/proc/cmdline"));
	d = opendir("/proc/sys/kernel");
	if (d) {
		struct dirent *e;

		while ((e = readdir(d))) {
			if (!kt_startswith(e->d_name, "sched_"))
				continue;
			char *p = kt_asprintf("/proc/sys/kernel/%s", e->d_name);
			char *v = read_trim(p);

			if (v)
				json_object_set_new(tun, e->d_name, json_string(v));
			free(v);
			free(p);
		}
		closedir(d);
	}
	if (json_object_size(tun))
		json_object_set(o, "sched_tunables", tun);
	json_decref(tun);
	kt_host_state_extend(o, NULL);
	return o;
}
