/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ktstr report`: one self-contained HTML file from the sidecars of one or
 * more run directories. The file holds its CSS, its script and the data
 * (a JSON document in <script type="application/json">); its Content
 * Security Policy forbids every network access. The script draws the
 * summary, the per-test verdict table, the failure reports and SVG plots:
 * wall time per test, off-CPU % per cgroup, a compare view of each later
 * run against the first, and per-CPU timelines from monitor samples.
 *
 * Monitor samples are read from the sidecar's monitor object (src/monitor):
 *   "cpu_fields": ["nr_running", "local_dsq_depth", ...],
 *   "samples": [{"t_ms": N (or "elapsed_ms", "t_ns", "elapsed_ns"),
 *                "cpus": [[v, v, ...] per CPU, in cpu_fields order]}, ...]
 * (a CPU may also be an object of named numbers); every per-CPU field
 * becomes a selectable timeline. A sample without time or cpus (invalid)
 * adds no point.
 */
#ifndef KTSTR_REPORT_REPORT_H
#define KTSTR_REPORT_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "util/util.h"

/* Bounds on what one sidecar's monitor samples may contribute. */
#define KT_REPORT_MAX_SAMPLES 20000
#define KT_REPORT_MAX_CPUS 512
#define KT_REPORT_MAX_FIELDS 32

/*
 * The report's data model from run directories (see report.js for its
 * use). Unreadable sidecars are listed in "errors", not fatal. Fails when
 * a directory does not exist or holds no sidecar at all.
 */
int kt_report_data(const char *const *dirs, size_t n, json_t **out, char **err);

/* Per-CPU timeline {"t":[ms..], "fields":{f:[[cpu0..],[cpu1..]]}} of a monitor object, or NULL. */
json_t *kt_report_timeline(const json_t *monitor);

/* The whole HTML document for a data model. */
void kt_report_html(const json_t *data, struct sbuf *out);

/* kt_report_data + kt_report_html + atomic write to path. */
int kt_report_write(const char *const *dirs, size_t n, const char *path, size_t *size,
		    size_t *n_tests, char **err);

/* Embedded assets (src/report/report.css, report.js). */
const char *kt_report_css(size_t *len);
const char *kt_report_js(size_t *len);

#endif
