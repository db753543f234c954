// SPDX-License-Identifier: GPL-2.0
/* Host state: reading a synthetic /proc + /sys tree, diff, load from sources. */
#include <sys/stat.h>

#include "report/hoststate.h"
#include "report/report.h"
#include "results/results.h"
#include "unit.h"
#include "util/util.h"

static void put(const char *root, const char *rel, const char *text)
{
	char *p = kt_asprintf("%s%s", root, rel), *d = kt_strdup(p);

	*strrchr(d, '/') = 0;
	CHECK(kt_mkdir_p(d, 0755) == 0);
	CHECK(kt_write_file_atomic(p, text, strlen(text), 0644) == 0);
	free(p);
	free(d);
}

UNIT_TEST(hoststate_extend_synthetic_tree)
{
	const char *r = unit_tmpdir();
	json_t *o = json_object();

	put(r, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n");
	put(r, "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
	put(r, "/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "powersave\n");
	put(r, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_driver", "intel_pstate\n");
	put(r, "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "0,2\n");
	put(r, "/sys/devices/system/cpu/smt/control", "on\n");
	put(r, "/sys/devices/system/cpu/smt/active", "1\n");
	put(r, "/sys/devices/system/cpu/intel_pstate/no_turbo", "0\n");
	put(r, "/sys/devices/system/cpu/isolated", "\n");
	put(r, "/sys/devices/system/cpu/nohz_full", "(null)\n");
	put(r, "/proc/loadavg", "0.52 1.58 2.59 3/345 12345\n");
	put(r, "/proc/pressure/cpu",
	    "some avg10=12.50 avg60=3.00 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00\n");
	put(r, "/proc/sys/kernel/numa_balancing", "1\n");
	kt_host_state_extend(o, r);
	const char *g = json_string_value(json_object_get(o, "cpu_governor"));

	/* readdir order: either governor may come first. */
	CHECK(g && (!strcmp(g, "performance x2, powersave x1") ||
		    !strcmp(g, "powersave x1, performance x2")));
	CHECK_STR_EQ(json_string_value(json_object_get(o, "cpufreq_driver")), "intel_pstate");
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "threads_per_core")), 2);
	CHECK_STR_EQ(json_string_value(json_object_get(o, "smt_control")), "on");
	CHECK(json_is_true(json_object_get(o, "smt_active")));
	CHECK(json_is_false(json_object_get(o, "intel_no_turbo")));
	CHECK(!json_object_get(o, "isolated_cpus")); /* empty: left out */
	CHECK(!json_object_get(o, "nohz_full_cpus"));
	CHECK(!json_object_get(o, "cpu_boost")); /* file missing: left out */
	CHECK(!json_object_get(o, "clocksource"));
	CHECK(json_real_value(json_object_get(o, "load_1m")) == 0.52);
	CHECK(json_real_value(json_object_get(o, "load_15m")) == 2.59);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "procs_running")), 3);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "procs_total")), 345);
	CHECK(json_real_value(json_object_get(o, "cpu_pressure_some_avg10")) == 12.5);
	CHECK(json_real_value(json_object_get(o, "cpu_pressure_some_avg60")) == 3.0);
	CHECK_STR_EQ(json_string_value(json_object_get(o, "numa_balancing")), "1");
	json_decref(o);

	/* A uniform governor is one word; garbage load average is left out. */
	o = json_object();
	put(r, "/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "performance\n");
	put(r, "/proc/loadavg", "garbage\n");
	kt_host_state_extend(o, r);
	CHECK_STR_EQ(json_string_value(json_object_get(o, "cpu_governor")), "performance");
	CHECK(!json_object_get(o, "load_1m"));
	json_decref(o);
}

UNIT_TEST(hoststate_live_host_has_load)
{
	json_t *h = kt_host_context();

	/* Every Linux host has /proc/loadavg; the sidecar's context carries it. */
	CHECK(json_is_real(json_object_get(h, "load_1m")));
	CHECK(json_is_integer(json_object_get(h, "procs_total")));
	CHECK(json_is_string(json_object_get(h, "kernel_release")));
	json_decref(h);
}

UNIT_TEST(hoststate_diff)
{
	json_t *a = json_pack("{s:s,s:i,s:f,s:{s:s,s:s},s:s}", "cpu_model", "X", "online_cpus", 8,
			      "load_1m", 0.5, "sched_tunables", "a", "1", "b", "2", "only_a", "q");
	json_t *b = json_pack("{s:s,s:i,s:f,s:{s:s,s:s},s:b}", "cpu_model", "X", "online_cpus", 4,
			      "load_1m", 0.5, "sched_tunables", "a", "1", "b", "3", "only_b", 1);
	struct kt_host_diff *d;
	size_t n, same;

	kt_host_state_diff(a, b, &d, &n, &same);
	CHECK_INT_EQ(n, 4);
	CHECK_INT_EQ(same, 3); /* cpu_model, load_1m, sched_tunables.a */
	CHECK_STR_EQ(d[0].key, "online_cpus");
	CHECK_STR_EQ(d[0].a, "8");
	CHECK_STR_EQ(d[0].b, "4");
	CHECK_STR_EQ(d[1].key, "only_a");
	CHECK(d[1].b == NULL);
	CHECK_STR_EQ(d[2].key, "only_b");
	CHECK(d[2].a == NULL);
	CHECK_STR_EQ(d[2].b, "true");
	CHECK_STR_EQ(d[3].key, "sched_tunables.b");
	CHECK(kt_host_state_is_volatile("load_1m"));
	CHECK(!kt_host_state_is_volatile("cpu_model"));
	kt_host_diff_free(d, n);
	json_decref(a);
	json_decref(b);
}

UNIT_TEST(hoststate_load_sources)
{
	const char *t = unit_tmpdir();
	char *dir = kt_path_join(t, "run"), *snap = kt_path_join(t, "snap.json");
	char *newer = kt_path_join(t, "newer.json"), *err = NULL, *path = NULL;
	struct kt_sidecar sc = {0};
	json_t *h = NULL, *s;

	sc.test_name = kt_strdup("t");
	sc.topology = kt_strdup("1n1l1c1t");
	sc.host = json_pack("{s:s}", "cpu_model", "FromSidecar");
	CHECK(kt_sidecar_write_dir(&sc, dir, &path, &err) == 0);
	CHECK(kt_host_state_load(dir, &h, &err) == 0);
	CHECK_STR_EQ(json_string_value(json_object_get(h, "cpu_model")), "FromSidecar");
	json_decref(h);
	CHECK(kt_host_state_load(path, &h, &err) == 0);
	CHECK_STR_EQ(json_string_value(json_object_get(h, "cpu_model")), "FromSidecar");
	json_decref(h);

	s = kt_host_state_snapshot();
	CHECK(json_dump_file(s, snap, 0) == 0);
	CHECK(kt_host_state_load(snap, &h, &err) == 0);
	CHECK(json_is_string(json_object_get(h, "kernel_release")));
	json_decref(h);
	/* A newer snapshot format is refused, not misread. */
	json_object_set_new(s, "host_state_version", json_integer(KT_HOST_STATE_VERSION + 1));
	CHECK(json_dump_file(s, newer, 0) == 0);
	CHECK(kt_host_state_load(newer, &h, &err) < 0);
	CHECK_STR_CONTAINS(err, "host_state_version newer not understood");
	free(err);
	err = NULL;
	CHECK(kt_host_state_load("/nonexistent/x", &h, &err) < 0);
	CHECK_STR_CONTAINS(err, "/nonexistent/x: no such file");
	free(err);
	json_decref(s);
	kt_sidecar_free(&sc);
	free(dir);
	free(snap);
	free(newer);
	free(path);
}

UNIT_TEST(report_timeline_from_samples)
{
	json_t *s = json_pack("[{s:i,s:[{s:i,s:i},{s:i}]},{s:i,s:[{s:i}]},{s:[{s:i}]},"
			      "{s:i,s:[{s:i,s:s}]}]",
			      "t_ms", 0, "cpus", "nr_running", 1, "local_dsq_depth", 3,
			      "nr_running", 2, "elapsed_ns", 100000000, "cpus", "nr_running", 4,
			      "cpus", "nr_running", 9, /* no time: dropped, never invented */
			      "t_ms", 300, "cpus", "nr_running", 5, "local_dsq_depth", "x");
	json_t *m = json_pack("{s:O}", "samples", s);
	json_t *t = kt_report_timeline(m), *nr, *dsq;

	CHECK(t != NULL);
	CHECK_INT_EQ(json_array_size(json_object_get(t, "t")), 3);
	CHECK(json_real_value(json_array_get(json_object_get(t, "t"), 1)) == 100.0);
	nr = json_object_get(json_object_get(t, "fields"), "nr_running");
	dsq = json_object_get(json_object_get(t, "fields"), "local_dsq_depth");
	CHECK_INT_EQ(json_array_size(nr), 2); /* two CPUs */
	CHECK(json_real_value(json_array_get(json_array_get(nr, 0), 1)) == 4.0);
	CHECK(json_is_null(json_array_get(json_array_get(nr, 1), 1))); /* cpu1 missing */
	CHECK(json_real_value(json_array_get(json_array_get(nr, 1), 0)) == 2.0);
	CHECK(json_is_null(json_array_get(json_array_get(dsq, 0), 2))); /* a string */
	json_decref(t);
	json_decref(s);
	json_decref(m);
	CHECK(kt_report_timeline(NULL) == NULL);
	m = json_pack("{s:[{s:i}]}", "samples", "t_ms", 1);
	CHECK(kt_report_timeline(m) == NULL); /* no cpus */
	json_decref(m);

	/* The monitor's own form: positional CPUs named by cpu_fields; invalid samples skipped. */
	m = json_pack("{s:[s,s],s:[{s:i,s:[[i,i],[i,i]]},{s:i,s:b},{s:i,s:[[i,i],[i]]}]}",
		      "cpu_fields", "nr_running", "rq_clock", "samples", "t_ms", 0, "cpus", 1, 10,
		      2, 20, "t_ms", 100, "valid", 0, "t_ms", 200, "cpus", 3, 30, 4);
	t = kt_report_timeline(m);
	CHECK(t != NULL);
	CHECK_INT_EQ(json_array_size(json_object_get(t, "t")), 2);
	nr = json_object_get(json_object_get(t, "fields"), "nr_running");
	CHECK(json_real_value(json_array_get(json_array_get(nr, 1), 1)) == 4.0);
	nr = json_object_get(json_object_get(t, "fields"), "rq_clock");
	CHECK(json_real_value(json_array_get(json_array_get(nr, 0), 1)) == 30.0);
	CHECK(json_is_null(json_array_get(json_array_get(nr, 1), 1))); /* short row */
	json_decref(t);
	json_decref(m);
}

UNIT_TEST(report_html_embeds_data_safely)
{
	struct sbuf sb = SBUF_INIT;
	json_t *d = json_pack("{s:s,s:[s]}", "x", "</script><!--<script>", "y", "a<b");

	kt_report_html(d, &sb);
	/* Exactly two script elements end: the data and the code. */
	const char *p = sb_str(&sb);
	int n = 0;

	while ((p = strstr(p, "</script>"))) {
		n++;
		p++;
	}
	CHECK_INT_EQ(n, 2);
	CHECK_STR_CONTAINS(sb_str(&sb), "\\u003c\\/script>\\u003c!--\\u003cscript>");
	CHECK_STR_CONTAINS(sb_str(&sb), "default-src 'none'");
	sb_free(&sb);
	json_decref(d);
}
