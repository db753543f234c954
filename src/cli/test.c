// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr test: run the tests of test binaries (their --list / --exact) in
 * parallel VMs, with a live progress line on a TTY and a closing
 * "N passed, N failed, N skipped". Exit 1 if any test failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "kernel/kernel.h"
#include "results/results.h"
#include "util/util.h"

#define OUT_MAX (1u << 20)

struct job {
	char *bin;
	char *name; /* full name, "ktstr/x" */
	pid_t pid;
	int fd;     /* merged stdout+stderr of the child */
	struct sbuf out;
	uint64_t t0;
	int state;  /* 0 pending, 1 running, 2 done */
	bool eof;   /* output pipe closed */
	int verdict; /* 0 pass, 1 fail, 2 skip */
	double secs;
};

static void help(FILE *f)
{
	fprintf(f,
		"Usage: ktstr test [--kernel ID]... [-E FILTER] [-j N] [--no-skip-mode] "
		"BINARY...\n"
		"\n"
		"Run the ktstr tests of each test BINARY (built from KTSTR_TESTs and linked with\n"
		"libktstr), each test in its own VM, several at a time.\n"
		"\n"
		"  --kernel ID       kernel to test on (path, version, cache key; repeatable: with\n"
		"                    two or more every test runs once per kernel). Default: the\n"
		"                    implicit chain (KTSTR_TEST_KERNEL, KTSTR_KERNEL, newest cache\n"
		"                    entry, ...)\n"
		"  -E, --filter SUB  only tests whose name contains SUB (repeatable: any matches)\n"
		"  -j, --jobs N      VMs at a time (default: allowed host CPUs; each TCG VM uses\n"
		"                    one host thread)\n"
		"  --no-skip-mode    tests the host cannot run fail instead of being skipped\n"
		"  -v, --verbose     print every test's output, not only failures'\n"
		"\n"
		"Results also go to sidecars under ${KTSTR_TARGET_DIR:-target}/ktstr/.\n");
}

/* Run `bin --list`, collect "NAME: test" lines. */
static int list_tests(const char *bin, struct kt_strv *names, char **err)
{
	char *argv[] = {(char *)bin, "--list", NULL};
	struct sbuf cap = SBUF_INIT;
	struct kt_run_opts o = {.capture = &cap};
	int st = 0, r = kt_run(argv, &o, &st);
	char *save = NULL, *s;

	if (r) {
		*err = kt_asprintf("%s: cannot run: %s", bin, strerror(-r));
		sb_free(&cap);
		return r;
	}
	if (st) {
		/* Its validation errors, then ours. */
		fputs(sb_str(&cap), stderr);
		*err = kt_asprintf("%s --list failed (exit status %d): invalid test definitions",
				   bin, st);
		sb_free(&cap);
		return -EINVAL;
	}
	s = sb_steal(&cap);
	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *e = strstr(l, ": test");

		if (!e || e[6] || !kt_startswith(l, "ktstr/"))
			continue;
		*e = 0;
		kt_strv_add(names, l);
	}
	free(s);
	return 0;
}

static int start_job(struct job *j, char **env_add)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/*
		 * Same process group: a terminal Ctrl-C reaches the test
		 * binary, which stops its own VM. If we die any other way it
		 * gets SIGTERM and does the same.
		 */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		for (char **e = env_add; e && *e; e++)
			putenv(*e);
		execl(j->bin, j->bin, "--exact", j->name, (char *)NULL);
		fprintf(stderr, "ktstr: error: exec %s: %s\n", j->bin, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->fd = p[0];
	j->t0 = kt_now_ns();
	j->state = 1;
	return 0;
}

static void read_job(struct job *j)
{
	char buf[8192];

	while (!j->eof) {
		ssize_t n = read(j->fd, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			j->eof = true;
		if (n <= 0)
			return;
		if (j->out.len < OUT_MAX)
			sb_add(&j->out, buf, (size_t)n);
	}
}

/* Verdict from the child's last "PASS|FAIL|SKIP ktstr/..." line and exit status. */
static int job_verdict(struct job *j, int status)
{
	const char *s = sb_str(&j->out);
	const char *skip = NULL;

	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (kt_startswith(l, "SKIP ktstr/"))
			skip = l;
	if (status != 0)
		return 1;
	return skip ? 2 : 0;
}

static char *progress_last(void)
{
	static char last[512];

	return last;
}

/* The child's output without its own verdict line (we print ours). */
static void echo_output(struct job *j)
{
	const char *l = sb_str(&j->out);

	while (l && *l) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) + 1 : strlen(l);

		if (!((kt_startswith(l, "PASS ktstr/") || kt_startswith(l, "FAIL ktstr/") ||
		       kt_startswith(l, "SKIP ktstr/")) &&
		      !strncmp(l + 5, j->name, strlen(j->name))))
			fwrite(l, 1, n, stderr);
		if (!e)
			fputc('\n', stderr);
		l = e ? e + 1 : NULL;
	}
}

static char *progress_last(void);

static void progress_reset(void)
{
	progress_last()[0] = 0;
}

static void progress(bool tty, size_t done, size_t total, int np, int nf, int ns,
		     const struct job *jobs, size_t n)
{
	char *last = progress_last();
	char run[160] = "", line[512];
	size_t len = 0;

	if (!tty)
		return;
	for (size_t i = 0; i < n && len < sizeof(run) - 40; i++)
		if (jobs[i].state == 1)
			len += (size_t)snprintf(run + len, sizeof(run) - len, "%s%s", len ? ", " : "",
						jobs[i].name + 6);
	snprintf(line, sizeof(line), "[%zu/%zu] %d passed, %d failed, %d skipped%s%s", done, total,
		 np, nf, ns, len ? "  running: " : "", run);
	if (!strcmp(line, last))
		return; /* redraw only on change */
	snprintf(last, 512, "%s", line);
	fprintf(stderr, "\r\x1b[K%s", line);
	fflush(stderr);
}

struct sc_count {
	int ok, bad;
};

static int count_sidecar(void *arg, const char *path)
{
	struct sc_count *c = arg;
	struct kt_sidecar sc;
	char *err = NULL;

	if (kt_sidecar_read(path, &sc, &err)) {
		kt_warn("%s", err);
		free(err);
		c->bad++;
		return 0;
	}
	kt_sidecar_free(&sc);
	c->ok++;
	return 0;
}

/* "results: N sidecars in DIR" (read back, so a broken one is reported). */
static void report_sidecars(const char *version)
{
	bool override;
	char *dir = kt_sidecar_dir(version, &override);
	struct sc_count c = {0};

	if (kt_sidecar_scan(dir, count_sidecar, &c) >= 0)
		fprintf(stderr, "ktstr: results: %d sidecar%s in %s%s\n", c.ok, c.ok == 1 ? "" : "s",
			dir, c.bad ? " (some unreadable)" : "");
	free(dir);
}

static int cmd_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'},
		{"filter", required_argument, NULL, 'E'},
		{"jobs", required_argument, NULL, 'j'},
		{"no-skip-mode", no_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct kt_strv kernels = {0}, filters = {0};
	struct kt_kernel *ks = NULL;
	char *run_version = NULL;
	bool have_run = false;
	size_t nk = 0, njobs = 0, done = 0;
	struct job *jobs = NULL;
	char *env_add[12] = {0}, *err = NULL;
	int c, jmax = 0, np = 0, nf = 0, ns = 0, rc = 1, nenv = 0;
	bool no_skip = false, verbose = false, tty = kt_isatty_stderr();
	uint64_t t0 = kt_now_ns();

	optind = 1;
	while ((c = getopt_long(argc, argv, "E:j:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kt_strv_add(&kernels, optarg);
			break;
		case 'E':
			kt_strv_add(&filters, optarg);
			break;
		case 'j': {
			uint64_t v;

			if (kt_parse_u64(optarg, &v) || v < 1 || v > 256) {
				kt_err("invalid --jobs '%s': expected a number from 1 to 256",
				       optarg);
				return 2;
			}
			jmax = (int)v;
			break;
		}
		case 'S':
			no_skip = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		kt_err("no test binary given (usage: ktstr test [options] BINARY...)");
		return 2;
	}
	if (!jmax)
		jmax = (int)kt_allowed_cpus() ? (int)kt_allowed_cpus() : 1;

	/* Kernels: resolve once here, hand them to the test binaries. */
	if (kernels.n) {
		if (kt_kernel_resolve_many((const char *const *)kernels.v, kernels.n, &ks, &nk,
					   &err)) {
			kt_err("%s", err);
			goto out;
		}
		for (size_t i = 0; i < nk; i++)
			kt_info("resolved kernel \"%s\" (%s)", ks[i].label ? ks[i].label : "?",
				ks[i].dir);
		env_add[nenv++] = kt_asprintf("KTSTR_KERNEL=%s", ks[0].dir);
		if (nk > 1) {
			struct kt_kernel_list_item *items = kt_calloc(nk, sizeof(*items));
			char *list = NULL;

			for (size_t i = 0; i < nk; i++) {
				items[i].label = ks[i].label;
				items[i].path = ks[i].dir;
			}
			if (kt_kernel_list_format(items, nk, &list, &err)) {
				free(items);
				kt_err("%s", err);
				goto out;
			}
			free(items);
			env_add[nenv++] = kt_asprintf("KTSTR_KERNEL_LIST=%s", list);
			free(list);
			kt_info("fanning tests across %zu kernels", nk);
		}
		for (int i = 0; i < nenv; i++)
			putenv(env_add[i]); /* --list must see KTSTR_KERNEL_LIST too */
	}
	/* The sidecar session: pre-clear once, keep sibling results. */
	{
		struct kt_kernel k = {0};

		if (nk) {
			have_run = true;
			run_version = ks[0].version ? kt_strdup(ks[0].version) : NULL;
			if (kt_sidecar_session_begin(ks[0].version, &err)) {
				kt_warn("sidecars: %s", err);
				free(err);
				err = NULL;
			}
		} else if (kt_kernel_resolve(NULL, &k, &err) == 0) {
			have_run = true;
			run_version = k.version ? kt_strdup(k.version) : NULL;
			if (kt_sidecar_session_begin(k.version, &err)) {
				kt_warn("sidecars: %s", err);
				free(err);
			}
			err = NULL;
			kt_kernel_free(&k);
		} else {
			free(err);
			err = NULL;
		}
	}
	env_add[nenv++] = kt_strdup("KTSTR_TEST_RUNNER=1");
	/* One project commit for the whole session (HEAD may move meanwhile). */
	env_add[nenv++] = kt_asprintf("KTSTR_PROJECT_COMMIT=%s",
				      kt_project_commit() ? kt_project_commit() : "unknown");
	if (no_skip)
		env_add[nenv++] = kt_strdup("KTSTR_NO_SKIP_MODE=1");

	for (int b = optind; b < argc; b++) {
		struct kt_strv names = {0};
		char *bin = realpath(argv[b], NULL);

		if (!bin) {
			kt_err("test binary %s: %s", argv[b], strerror(errno));
			goto out;
		}
		if (list_tests(bin, &names, &err)) {
			kt_err("%s", err);
			free(bin);
			kt_strv_free(&names);
			goto out;
		}
		for (size_t i = 0; i < names.n; i++) {
			bool sel = !filters.n;

			for (size_t f = 0; f < filters.n; f++)
				if (strstr(names.v[i], filters.v[f]))
					sel = true;
			if (!sel)
				continue;
			jobs = kt_realloc(jobs, (njobs + 1) * sizeof(*jobs));
			memset(&jobs[njobs], 0, sizeof(*jobs));
			jobs[njobs].bin = kt_strdup(bin);
			jobs[njobs].name = kt_strdup(names.v[i]);
			jobs[njobs].fd = -1;
			njobs++;
		}
		kt_strv_free(&names);
		free(bin);
	}
	if (!njobs) {
		kt_err("no tests matched%s", filters.n ? " the filter" : "");
		goto out;
	}
	if (jmax > (int)njobs)
		jmax = (int)njobs;
	kt_info("running %zu test%s, %d at a time", njobs, njobs == 1 ? "" : "s", jmax);

	{
		size_t next = 0;
		int running = 0;

		while (done < njobs && !kt_interrupted()) {
			struct pollfd pf[256];
			size_t map[256], npf = 0;

			while (running < jmax && next < njobs) {
				int r = start_job(&jobs[next], env_add);

				if (r) {
					kt_err("start %s: %s", jobs[next].name, strerror(-r));
					jobs[next].state = 2;
					jobs[next].verdict = 1;
					nf++;
					done++;
				} else {
					running++;
				}
				next++;
			}
			progress(tty, done, njobs, np, nf, ns, jobs, njobs);
			for (size_t i = 0; i < njobs && npf < 256; i++)
				if (jobs[i].state == 1) {
					/* A closed pipe polls as ready forever: poll -1 instead. */
					pf[npf].fd = jobs[i].eof ? -1 : jobs[i].fd;
					pf[npf].events = POLLIN;
					map[npf++] = i;
				}
			if (npf)
				poll(pf, npf, 100);
			for (size_t q = 0; q < npf; q++) {
				struct job *j = &jobs[map[q]];
				int st;

				read_job(j);
				if (waitpid(j->pid, &st, WNOHANG) != j->pid)
					continue;
				read_job(j);
				close(j->fd);
				j->state = 2;
				j->secs = (double)(kt_now_ns() - j->t0) / 1e9;
				st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				j->verdict = job_verdict(j, st);
				running--;
				done++;
				if (j->verdict == 0)
					np++;
				else if (j->verdict == 1)
					nf++;
				else
					ns++;
				if (tty) {
					fprintf(stderr, "\r\x1b[K");
					progress_reset();
				}
				if (j->verdict != 0 || verbose)
					echo_output(j);
				fprintf(stderr, "%s %s (%.1fs)\n",
					j->verdict == 0 ? "PASS" : j->verdict == 1 ? "FAIL" : "SKIP",
					j->name, j->secs);
			}
		}
		if (tty)
			fprintf(stderr, "\r\x1b[K");
		if (kt_interrupted())
			goto out;
	}
	printf("%d passed, %d failed, %d skipped (%.1fs)\n", np, nf, ns,
	       (double)(kt_now_ns() - t0) / 1e9);
	for (size_t i = 0; i < njobs; i++)
		if (jobs[i].verdict == 1)
			printf("  failed: %s\n", jobs[i].name);
	if (have_run)
		report_sidecars(run_version);
	rc = nf ? 1 : 0;
out:
	free(run_version);
	for (size_t i = 0; i < njobs; i++) {
		free(jobs[i].bin);
		free(jobs[i].name);
		sb_free(&jobs[i].out);
	}
	free(jobs);
	for (size_t i = 0; i < nk; i++)
		kt_kernel_free(&ks[i]);
	free(ks);
	kt_strv_free(&kernels);
	kt_strv_free(&filters);
	free(err);
	return rc;
}

KTSTR_COMMAND(test, "test", "run test binaries' ktstr tests in parallel VMs", cmd_test, 20);
