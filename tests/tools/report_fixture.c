// SPDX-License-Identifier: GPL-2.0
/*
 * Synthetic sidecars for the report tests (tests/unit/test_report.sh) and
 * bench/report_size.sh, written with the real sidecar writer:
 *
 *   report-fixture DIR N [SLOW_PCT] [SAMPLES]
 *
 * N tests named t000.. with verdicts in a fixed pattern (every 10th from
 * the 7th fails, from the 8th skips, every 20th from the 9th is
 * inconclusive, the rest pass), 2-3 cgroups of off-CPU statistics each,
 * wall times stretched by SLOW_PCT percent, and SAMPLES monitor samples
 * of 4 CPUs on every 5th test. A failure's message carries markup that
 * must show as text.
 */
#include <stdio.h>
#include <stdlib.h>

#include "results/results.h"
#include "util/util.h"

static json_t *cgroups(unsigned i)
{
	json_t *a = json_array();

	for (unsigned c = 0; c < 2 + i % 2; c++) {
		double lo = 5 + (i * 7 + c * 13) % 40, hi = lo + 5 + (i + c) % 30;

		json_array_append_new(a, json_pack("{s:i,s:i,s:f,s:f,s:f,s:f,s:i}", "num_workers",
						   2 + c, "num_cpus", 2, "min_off_cpu_pct", lo,
						   "avg_off_cpu_pct", (lo + hi) / 2,
						   "max_off_cpu_pct", hi, "spread", hi - lo,
						   "max_gap_ms", 10 + i % 50));
	}
	return a;
}

/* The shape src/monitor writes: positional per-CPU rows named by cpu_fields. */
static json_t *monitor(unsigned i, unsigned nsamples)
{
	json_t *s = json_array();

	for (unsigned k = 0; k < nsamples; k++) {
		json_t *cpus;

		if (k == 3) { /* an invalid sample carries no CPUs */
			json_array_append_new(s, json_pack("{s:i,s:b}", "t_ms", k * 100, "valid", 0));
			continue;
		}
		cpus = json_array();
		for (unsigned c = 0; c < 4; c++)
			json_array_append_new(cpus, json_pack("[i,i,I]", (k + c + i) % 4,
							      (k * (c + 1)) % 7,
							      (json_int_t)k * 100000000 + c));
		json_array_append_new(s, json_pack("{s:i,s:b,s:o}", "t_ms", k * 100, "valid", 1,
						   "cpus", cpus));
	}
	return json_pack("{s:{s:i,s:f,s:i},s:[s,s,s],s:o}", "summary", "total_samples", nsamples,
			 "max_imbalance_ratio", 2.0, "stuck_count", 0, "cpu_fields", "nr_running",
			 "local_dsq_depth", "rq_clock", "samples", s);
}

int main(int argc, char **argv)
{
	unsigned n, slow = 0, nsamples = 0;
	json_t *host;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR N [SLOW_PCT] [SAMPLES]\n", argv[0]);
		return 2;
	}
	n = (unsigned)atoi(argv[2]);
	if (argc > 3)
		slow = (unsigned)atoi(argv[3]);
	if (argc > 4)
		nsamples = (unsigned)atoi(argv[4]);
	host = kt_host_context();
	for (unsigned i = 0; i < n; i++) {
		struct kt_sidecar sc = {0};
		char *err = NULL, name[32];

		snprintf(name, sizeof(name), "t%03u", i);
		sc.test_name = kt_strdup(name);
		sc.topology = kt_strdup(i % 3 ? "1n1l2c1t" : "1n2l2c1t");
		sc.scheduler = kt_strdup(i % 2 ? "scx_simple" : "eevdf");
		sc.kernel_version = kt_strdup("6.12.117");
		sc.project_commit = kt_strdup("abc1234");
		if (i % 4 == 1)
			kt_strv_add(&sc.active_flags, "llc");
		sc.host = json_incref(host);
		sc.has_duration_ms = true;
		sc.duration_ms = (1500 + (i * 37) % 900) * (100 + slow) / 100;
		if (i % 10 == 8) {
			sc.passed = true;
			sc.skipped = true;
			sc.work_type = kt_strdup("skipped");
			sc.details = json_pack("[{s:s,s:s}]", "kind", "Skip", "message",
					       "topology needs 32 vCPUs");
		} else {
			sc.work_type = kt_strdup("CpuSpin");
			sc.stats = json_pack("{s:o,s:i,s:f,s:i,s:i}", "cgroups", cgroups(i),
					     "total_workers", 5, "worst_spread", 10.0 + i % 7,
					     "worst_gap_ms", 20 + i % 50, "total_iterations",
					     100000 * (100 - (int)slow) / 100 + i);
			if (i % 10 == 7) {
				sc.failure = json_pack("{s:s,s:s,s:s}", "kind", "scheduler_error", "phase",
						       "workload", "message", "scx_bpf_error: test error");
				sc.scheduler_exit = json_pack("{s:s,s:s}", "kind", "error", "reason",
							      "scx_bpf_error (test error)");
				sc.failure_dump = kt_strdup("/tmp/ktstr-dump.json");
				sc.details = json_pack(
					"[{s:s,s:s}]", "kind", "Starved",
					"message", "cg_1 worker 3 made no progress for 1200 ms "
						   "</script><script>document.title='pwned'</script>");
			} else if (i % 20 == 9) {
				sc.passed = false;
				sc.inconclusive = true;
				sc.details = json_pack("[{s:s,s:s,s:b}]", "kind", "Latency",
						       "message", "p99 wake latency: no samples",
						       "inconclusive", 1);
			} else {
				sc.passed = true;
			}
		}
		if (nsamples && i % 5 == 0)
			sc.monitor = monitor(i, nsamples);
		if (kt_sidecar_write_dir(&sc, argv[1], NULL, &err)) {
			fprintf(stderr, "report-fixture: %s\n", err);
			return 1;
		}
		kt_sidecar_free(&sc);
	}
	json_decref(host);
	return 0;
}
