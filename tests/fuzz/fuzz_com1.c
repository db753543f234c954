// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: COM1 (the guest's console) as the engine reads it:
 * console.log bounded to its head and tail, lines split and cut, the
 * panic line and the console tail kept, each line handed up; and the
 * --dmesg filter on the same bytes, whose output must be terminal-safe.
 * The static functions are reached by including the module.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include "../../src/vm/watch.c"
#include "term_check.h"

enum { HEAD = 4096, TAIL = 1024 };

static void on_console(void *ctx, const char *line)
{
	if (strlen(line) > KT_VM_LINE_MAX)
		__builtin_trap();
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct kt_vm_config cfg;
	struct kt_vm_result res = {0};
	struct run *r = kt_calloc(1, sizeof(*r));
	struct kt_term_filter f = {.crlf = size && (data[0] & 1)};
	struct sbuf out = SBUF_INIT;
	struct stat st;
	char *tail;
	size_t off = 0;

	if (fd < 0 && (fd = memfd_create("fuzz-console", 0)) < 0)
		__builtin_trap();
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET))
		__builtin_trap();
	kt_vm_config_init(&cfg);
	cfg.on_console_line = on_console;
	r->cfg = &cfg;
	r->res = &res;
	kt_conlog_init(&r->conlog, fd, HEAD, TAIL);
	while (off < size) {
		size_t chunk = 1 + data[off] % 97;

		if (chunk > size - off)
			chunk = size - off;
		console_data(r, (const char *)data + off, chunk);
		kt_term_filter_feed(&f, data + off, chunk, &out);
		off += chunk;
	}
	lb_flush(&r->l1, console_line, r);
	kt_conlog_finish(&r->conlog);
	/* The file holds at most the head, a one-line note and the tail. */
	if (fstat(fd, &st) || (size_t)st.st_size > HEAD + TAIL + 256 ||
	    (size <= HEAD + TAIL && (size_t)st.st_size != size))
		__builtin_trap();
	tail = kt_vm_tail_str(&r->t1, KT_VM_TAIL_LINES);
	free(tail);
	kt_term_filter_flush(&f, &out);
	if (f.crlf) { /* "\r\n" for a raw terminal: nothing else carries a '\r' */
		size_t k = 0;

		for (size_t i = 0; i < out.len; i++) {
			if (out.s[i] == '\r' && (i + 1 == out.len || out.s[i + 1] != '\n'))
				__builtin_trap();
			if (out.s[i] != '\r')
				out.s[k++] = out.s[i];
		}
		out.len = k;
		if (out.s)
			out.s[k] = 0;
	}
	check_terminal_safe(sb_str(&out));
	sb_free(&out);
	kt_vm_result_free(&res);
	free(r);
	return 0;
}
