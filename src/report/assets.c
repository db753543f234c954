// SPDX-License-Identifier: GPL-2.0
/* The report's stylesheet and script, embedded into the binary. */
#include <stddef.h>

#include "report/report.h"

extern const char kt_report_css_start[], kt_report_css_end[];
extern const char kt_report_js_start[], kt_report_js_end[];

__asm__(".section .rodata\n"
	".global kt_report_css_start\n"
	".global kt_report_css_end\n"
	".global kt_report_js_start\n"
	".global kt_report_js_end\n"
	"kt_report_css_start:\n"
	".incbin \"src/report/report.css\"\n"
	"kt_report_css_end:\n"
	".byte 0\n"
	"kt_report_js_start:\n"
	".incbin \"src/report/report.js\"\n"
	"kt_report_js_end:\n"
	".byte 0\n"
	".previous\n");

const char *kt_report_css(size_t *len)
{
	*len = (size_t)(kt_report_css_end - kt_report_css_start);
	return kt_report_css_start;
}

const char *kt_report_js(size_t *len)
{
	*len = (size_t)(kt_report_js_end - kt_report_js_start);
	return kt_report_js_start;
}
