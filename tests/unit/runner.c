// SPDX-License-Identifier: GPL-2.0
/*
 * Unit-test runner: forks per test, prints "ok"/"FAIL" lines and the
 * closing "N passed, N failed". Arguments are name substrings to select.
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util/util.h"

extern const struct unit_test __start_unit_tests[], __stop_unit_tests[];

static char tmpdir[256];
static int failures;

const char *unit_tmpdir(void)
{
	return tmpdir;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (const struct unit_test *t = __start_unit_tests; t < __stop_unit_tests; t++) {
		uint64_t t0 = kt_now_ns();
		int st = 0;
		pid_t pid;

		if (!selected(t->name, argc, argv))
			continue;
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/ktstr-unit-%d-%s", (int)getpid(), t->name);
		kt_rm_rf(tmpdir);
		kt_mkdir_p(tmpdir, 0755);
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			alarm(60);
			t->fn();
			fflush(NULL);
			_exit(failures ? 1 : 0);
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		kt_rm_rf(tmpdir);
		double ms = (double)(kt_now_ns() - t0) / 1e6;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			passed++;
			printf("ok   %s (%.0f ms)\n", t->name, ms);
		} else {
			failed++;
			if (WIFSIGNALED(st))
				printf("FAIL %s (killed by signal %d%s)\n", t->name, WTERMSIG(st),
				       WTERMSIG(st) == SIGALRM ? ", timeout" : "");
			else
				printf("FAIL %s (%s)\n", t->name, t->file);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
