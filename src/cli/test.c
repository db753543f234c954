// SPDX-License-Identifier: GPL-2.0
/*
 * ktstr test: run the tests of test binaries (their --list / --exact) in
 * parallel VMs, with a live progress line on a TTY and a closing
 * "N passed, N failed, N skipped, N inconclusive". Exit 1 if any test failed,
 * else 2 if any was inconclusive.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/check.h"
#include "cli.h"
#include "kernel/kernel.h"
#include "results/ciformat.h"
#include "results/results.h"
#include "runner/multikernel.h"
#include "test_plan.h"
#include "util/opt.h"
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
	enum kt_verdict verdict;
	bool interrupted; /* ended by our interruption, no verdict */
	double secs;
	double est;       /* estimated seconds (test_plan.h) */
	unsigned need;    /* host CPUs it keeps busy: its vCPUs, 1 for host-only */
	bool over_budget; /* never started: the budget was used up */
};

static int start_job(struct job *j, char **env_add)
{
	int fd;
	/*
	 * Same process group: a terminal Ctrl-C reaches the test binary,
	 * which stops its own VM. If we die any other way it gets SIGTERM
	 * and does the same.
	 */
	pid_t pid = kt_fork_piped(&fd, SIGTERM);

	if (pid < 0)
		return pid;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (char **e = env_add; e && *e; e++)
			putenv(*e);
		execl(j->bin, j->bin, "--exact", j->name, (char *)NULL);
		fprintf(stderr, "ktstr: error: exec %s: %s\n", j->bin, strerror(errno));
		_exit(127);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->fd = fd;
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

/* Is l the child's own verdict line "WORD NAME (...)" for this test? */
static bool own_line(const char *l, const char *word, const char *name)
{
	size_t w = strlen(word), n = strlen(name);

	return !strncmp(l, word, w) && l[w] == ' ' && !strncmp(l + w + 1, name, n) &&
	       (l[w + 1 + n] == ' ' || l[w + 1 + n] == '\n' || !l[w + 1 + n]);
}

/*
 * Verdict from the child's exit status (0 pass or skip, 2 inconclusive,
 * else fail) and its "SKIP|INCONCLUSIVE ktstr/..." line.
 */
static enum kt_verdict job_verdict(struct job *j, int status)
{
	const char *s = sb_str(&j->out);
	bool skip = false, inc = false;

	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (own_line(l, "SKIP", j->name))
			skip = true;
		if (own_line(l, "INCONCLUSIVE", j->name))
			inc = true;
	}
	if (status == 2 && inc)
		return KT_VERDICT_INCONCLUSIVE;
	if (status != 0)
		return KT_VERDICT_FAIL;
	return skip ? KT_VERDICT_SKIP : KT_VERDICT_PASS;
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

		bool own = own_line(l, "PASS", j->name) || own_line(l, "FAIL", j->name) ||
			   own_line(l, "SKIP", j->name) || own_line(l, "INCONCLUSIVE", j->name);

		if (!own)
			fwrite(l, 1, n, stderr);
		if (!e)
			fputc('\n', stderr);
		l = e ? e + 1 : NULL;
	}
}

/*
 * A passing test's output is not shown, but its warnings are: a result that
 * could not be recorded ("sidecar not written: ...") must not go unnoticed.
 */
static void echo_warnings(struct job *j)
{
	const char *l = sb_str(&j->out);

	while (l && *l) {
		const char *e = strchr(l, '\n');
		int n = e ? (int)(e - l) : (int)strlen(l);

		if (kt_startswith(l, "ktstr: warning: "))
			fprintf(stderr, "%.*s\n", n, l);
		l = e ? e + 1 : NULL;
	}
}

static char *progress_last(void);

static void progress_reset(void)
{
	progress_last()[0] = 0;
}

static void progress(bool tty, size_t done, size_t total, int np, int nf, int ns, int ni,
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
						strchr(jobs[i].name, '/') + 1);
	snprintf(line, sizeof(line), "[%zu/%zu] %d passed, %d failed, %d skipped, %d inconclusive%s%s",
		 done, total, np, nf, ns, ni, len ? "  running: " : "", run);
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

/* One `ktstr test` run: its options, jobs and tallies. */
struct session {
	struct kt_optv kernels, filters, exact;
	unsigned jmax;              /* -j N: VMs at a time (0: pack by vCPUs) */
	unsigned host_cpus, used;   /* without -j: CPUs to fill, CPUs in use */
	bool no_skip, verbose, tty;
	struct kt_kernel_set kset;
	bool gauntlet, list;        /* --gauntlet, --list */
	const char *shard, *budget; /* --shard K/N, --budget SECS */
	struct tp_list plan;        /* every test and variant listed, and what runs */
	double budget_s;            /* budget in force (0: none), from t0 */
	uint64_t t0;
	int nover;                  /* jobs not started: over budget */
	char *run_version;
	bool have_run;
	const char *junit, *format; /* --junit PATH, --format text|ktap */
	FILE *ktap;                 /* stdout when --format ktap (fd 1 goes to stderr) */
	struct kt_ktap *kt;         /* the KTAP stream, once begun */
	struct kt_case *cases;      /* job_cases() */
	bool rerun;                 /* --rerun-failed */
	struct kt_strv rerun_bins, rerun_names;
	char *env_add[12];
	int nenv;
	int nput; /* env_add[0..nput) belong to environ (putenv) */
	struct job *jobs;
	size_t njobs, done;
	int np, nf, ns, ni, nint;
};

/* Resolve the kernels (--kernel or KTSTR_KERNEL_LIST) once and hand them to the test binaries. */
static int resolve_kernels(struct session *s)
{
	char *err = NULL;

	if (kt_kernel_set_resolve((const char *const *)s->kernels.v, s->kernels.n, &s->kset,
				  &err)) {
		kt_err("%s", err);
		free(err);
		return -1;
	}
	if (!s->kset.n)
		return 0;
	for (size_t i = 0; i < s->kset.n; i++)
		kt_info("resolved kernel \"%s\" (%s)", s->kset.ks[i].label, s->kset.ks[i].dir);
	s->env_add[s->nenv++] = kt_asprintf("KTSTR_KERNEL=%s", s->kset.ks[0].dir);
	if (s->kset.list) {
		s->env_add[s->nenv++] = kt_asprintf("KTSTR_KERNEL_LIST=%s", s->kset.list);
		kt_info("fanning tests across %zu kernels", s->kset.n);
	} else {
		unsetenv("KTSTR_KERNEL_LIST"); /* one --kernel replaces an inherited list */
	}
	for (int i = 0; i < s->nenv; i++)
		putenv(s->env_add[i]); /* --list must see KTSTR_KERNEL_LIST too */
	s->nput = s->nenv;
	return 0;
}

/*
 * Become a writer of one run dir: pre-clear it, or join it without the
 * pre-clear: a rerun (--rerun-failed) keeps the last run's other sidecars
 * and replaces the re-run ones; a shard shares the dir with the other
 * shards and removes only its own tests' earlier sidecars.
 */
static void begin_run_dir(struct session *s, const char *version)
{
	bool join = s->shard || s->rerun;
	char *err = NULL;

	if ((join ? kt_sidecar_session_join : kt_sidecar_session_begin)(version, &err)) {
		kt_warn("sidecars: %s", err);
		free(err);
	} else if (s->shard) {
		bool override;
		char *dir = kt_sidecar_dir(version, &override);

		if (!override)
			tp_remove_stale(&s->plan, dir);
		free(dir);
	}
}

/* The sidecar session (begin_run_dir) for each run dir of this run. */
static void begin_sidecars(struct session *s)
{
	struct kt_kernel k = {0};
	const char *version;
	char *err = NULL;

	if (s->kset.n > 1) {
		/* one run dir per kernel label */
		s->have_run = true;
		for (size_t i = 0; i < s->kset.n; i++)
			begin_run_dir(s, kt_kernel_set_run_kernel(&s->kset, i));
		return;
	}
	if (s->kset.n) {
		version = s->kset.ks[0].version;
	} else if (kt_kernel_resolve(NULL, &k, &err) == 0) {
		version = k.version;
	} else {
		free(err);
		return;
	}
	s->have_run = true;
	s->run_version = version ? kt_strdup(version) : NULL;
	begin_run_dir(s, version);
	kt_kernel_free(&k);
}

/* --rerun-failed: only what failed in the last run (kt_last_run_failed). */
static bool rerun_wanted(const struct session *s, const char *bin, const char *name)
{
	for (size_t i = 0; s->rerun && i < s->rerun_names.n; i++)
		if (!strcmp(s->rerun_names.v[i], name) && !strcmp(s->rerun_bins.v[i], bin))
			return true;
	return !s->rerun;
}

/* A budgeted run starts the longest first, as its expected wall time assumes. */
static void order_longest_first(struct session *s)
{
	struct kt_cand *c = kt_calloc(s->njobs + 1, sizeof(*c));
	size_t *idx = kt_calloc(s->njobs + 1, sizeof(*idx));
	struct job *v = kt_calloc(s->njobs + 1, sizeof(*v));

	for (size_t i = 0; i < s->njobs; i++) {
		c[i].cost = s->jobs[i].est;
		idx[i] = i;
	}
	kt_budget_order(c, idx, s->njobs);
	for (size_t i = 0; i < s->njobs; i++)
		v[i] = s->jobs[idx[i]];
	memcpy(s->jobs, v, s->njobs * sizeof(*v));
	free(v);
	free(idx);
	free(c);
}

/* List every binary, select (filters, shard, budget); one job per test that runs. */
/*
 * Without -j, VMs are packed by vCPU count (may_start); the budget's
 * makespan model takes that as host CPUs / the mean vCPUs of the listed
 * tests parallel slots.
 */
static unsigned pack_slots(const struct session *s)
{
	double sum = 0;
	size_t n = 0;
	unsigned slots;

	for (size_t i = 0; i < s->plan.n; i++) {
		const struct tp_item *it = &s->plan.v[i];

		sum += it->host_only || it->cpus < 1 ? 1 : it->cpus;
		n++;
	}
	slots = n ? (unsigned)(s->host_cpus * n / sum + 0.5) : s->host_cpus;
	return slots ? slots : 1;
}

static int collect_jobs(struct session *s, int nbin, char **bins, uint64_t t0)
{
	struct tp_select sel = {.filters = &s->filters, .exact = &s->exact, .shard = s->shard,
				.budget = s->budget, .jobs = s->jmax, .verbose = s->verbose};
	bool gauntlet = s->gauntlet;

	/* Rerunning a failed variant lists the variants. */
	for (size_t i = 0; s->rerun && i < s->rerun_names.n; i++)
		gauntlet |= kt_startswith(s->rerun_names.v[i], "gauntlet/");

	for (int b = 0; b < nbin; b++) {
		char *bin = realpath(bins[b], NULL);
		int r;

		if (!bin) {
			kt_err("test binary %s: %s", bins[b], strerror(errno));
			return -1;
		}
		r = tp_list_binary(&s->plan, bin, gauntlet);
		free(bin);
		if (r)
			return -1;
	}
	for (size_t i = 0; i < s->plan.n; i++)
		if (!rerun_wanted(s, s->plan.v[i].bin, s->plan.v[i].name))
			s->plan.v[i].drop = "not failed in the last run";
	sel.elapsed_s = (double)(kt_now_ns() - t0) / 1e9;
	if (!sel.jobs)
		sel.jobs = pack_slots(s);
	if (tp_select(&s->plan, &sel))
		return -1;
	s->budget_s = sel.budget_s;
	for (size_t i = 0; i < s->plan.n; i++) {
		const struct tp_item *it = &s->plan.v[i];
		struct job *j;

		if (it->drop || it->filtered)
			continue;
		s->jobs = kt_realloc(s->jobs, (s->njobs + 1) * sizeof(*s->jobs));
		j = &s->jobs[s->njobs++];
		memset(j, 0, sizeof(*j));
		j->bin = kt_strdup(it->bin);
		j->name = kt_strdup(it->name);
		j->fd = -1;
		j->est = it->cost;
		j->need = it->host_only || it->cpus < 1 ? 1 : (unsigned)it->cpus;
	}
	if (s->budget_s > 0)
		order_longest_first(s);
	return 0;
}

static void count_verdict(struct session *s, enum kt_verdict verdict)
{
	s->done++;
	if (verdict == KT_VERDICT_PASS)
		s->np++;
	else if (verdict == KT_VERDICT_FAIL)
		s->nf++;
	else if (verdict == KT_VERDICT_INCONCLUSIVE)
		s->ni++;
	else
		s->ns++;
}

/* A running job whose process ended: its verdict and output. */
static void finish_job(struct session *s, struct job *j, int st)
{
	read_job(j);
	close(j->fd);
	j->state = 2;
	s->used -= j->need;
	j->secs = (double)(kt_now_ns() - j->t0) / 1e9;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (kt_interrupted() && st > 128) {
		/* it died of the interruption: reported with it */
		j->interrupted = true;
		s->nint++;
		return;
	}
	j->verdict = job_verdict(j, st);
	count_verdict(s, j->verdict);
	if (s->tty) {
		fprintf(stderr, "\r\x1b[K");
		progress_reset();
	}
	if (j->verdict != KT_VERDICT_PASS || s->verbose)
		echo_output(j);
	else
		echo_warnings(j);
	fprintf(stderr, "%s %s (%.1fs)\n", kt_verdict_name(j->verdict), j->name, j->secs);
}

/* Wait up to 100 ms for output of the running jobs; reap those that ended. */
static int poll_jobs(struct session *s)
{
	struct pollfd pf[256];
	size_t map[256], npf = 0;
	int ended = 0;

	for (size_t i = 0; i < s->njobs && npf < 256; i++)
		if (s->jobs[i].state == 1) {
			/* A closed pipe polls as ready forever: poll -1 instead. */
			pf[npf].fd = s->jobs[i].eof ? -1 : s->jobs[i].fd;
			pf[npf].events = POLLIN;
			map[npf++] = i;
		}
	if (npf)
		poll(pf, npf, 100);
	for (size_t q = 0; q < npf; q++) {
		struct job *j = &s->jobs[map[q]];
		int st;

		read_job(j);
		if (waitpid(j->pid, &st, WNOHANG) != j->pid)
			continue;
		finish_job(s, j, st);
		ended++;
	}
	return ended;
}

/*
 * Interrupted: pass the signal on to the running test binaries (a terminal's
 * Ctrl-C has reached them already; `kill` of ktstr alone has not), give
 * them STOP_GRACE_MS to stop their VMs and clean up, then SIGKILL. A test
 * that still ends with its own verdict keeps it.
 */
#define STOP_GRACE_MS 10000

static void stop_jobs(struct session *s, unsigned running)
{
	uint64_t deadline = kt_now_ns() + STOP_GRACE_MS * 1000000ull;
	bool killed = false;

	if (running)
		kt_info("interrupted: stopping %u running test%s (interrupt again to force)",
			running, running == 1 ? "" : "s");
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jobs[i].state == 1)
			kill(s->jobs[i].pid, kt_interrupted());
	while (running) {
		if (!killed && kt_now_ns() >= deadline) {
			for (size_t i = 0; i < s->njobs; i++)
				if (s->jobs[i].state == 1)
					kill(s->jobs[i].pid, SIGKILL);
			killed = true;
		}
		running -= (unsigned)poll_jobs(s);
	}
}

/* After an interruption: what ran, what was cut short, what never started. */
static void report_interrupted(const struct session *s, uint64_t t0)
{
	int sig = kt_interrupted();

	printf("interrupted by SIG%s after %.1fs: %d passed, %d failed, %d skipped, "
	       "%d inconclusive, %d interrupted, %zu never ran\n",
	       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", (double)(kt_now_ns() - t0) / 1e9,
	       s->np, s->nf, s->ns, s->ni, s->nint, s->njobs - s->done - (size_t)s->nint);
	for (size_t i = 0; i < s->njobs; i++) {
		const struct job *j = &s->jobs[i];

		if (j->state == 2 && j->interrupted)
			printf("  interrupted: %s (after %.1fs)\n", j->name, j->secs);
		else if (j->state == 2 && (j->verdict == KT_VERDICT_FAIL ||
					   j->verdict == KT_VERDICT_INCONCLUSIVE))
			printf("  %s: %s\n",
			       j->verdict == KT_VERDICT_FAIL ? "failed" : "inconclusive", j->name);
	}
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jobs[i].state != 2)
			printf("  never ran: %s\n", s->jobs[i].name);
}

static void ktap_stream(struct session *s);

/*
 * Whether the next job may start: -j N allows N at a time; without it the
 * host's CPUs are filled by vCPU count (two 4-vCPU VMs on a 2-core host
 * would each get half the CPU time their guests' clocks assume).
 */
static bool may_start(const struct session *s, unsigned running, const struct job *j)
{
	if (s->jmax)
		return running < s->jmax;
	return kt_job_fits(running, s->used, j->need, s->host_cpus);
}

/* Run every job as may_start() allows; false when interrupted. */
static bool run_jobs(struct session *s)
{
	size_t next = 0;
	unsigned running = 0;

	/* The first Ctrl-C stops the run and reports; a second one exits at once. */
	kt_cleanup_defer(true);
	while (s->done < s->njobs && !kt_interrupted()) {
		while (next < s->njobs && may_start(s, running, &s->jobs[next])) {
			struct job *j = &s->jobs[next];
			int r;

			/* Budget: a test expected to end past it is not started. */
			if (s->budget_s > 0 &&
			    (double)(kt_now_ns() - s->t0) / 1e9 + j->est > s->budget_s) {
				j->state = 2;
				j->over_budget = true;
				s->done++;
				s->nover++;
				next++;
				continue;
			}
			r = start_job(j, s->env_add);

			if (r) {
				kt_err("start %s: %s", s->jobs[next].name, strerror(-r));
				s->jobs[next].state = 2;
				s->jobs[next].verdict = KT_VERDICT_FAIL;
				count_verdict(s, KT_VERDICT_FAIL);
			} else {
				running++;
				s->used += j->need;
			}
			next++;
		}
		ktap_stream(s);
		progress(s->tty, s->done, s->njobs, s->np, s->nf, s->ns, s->ni, s->jobs, s->njobs);
		running -= (unsigned)poll_jobs(s);
	}
	if (s->tty)
		fprintf(stderr, "\r\x1b[K");
	if (kt_interrupted())
		stop_jobs(s, running);
	kt_cleanup_defer(false);
	return !kt_interrupted();
}

/* The jobs as the CI formats and the last-run record see them (s->cases). */
static struct kt_case *job_cases(struct session *s)
{
	if (!s->cases)
		s->cases = kt_calloc(s->njobs ? s->njobs : 1, sizeof(*s->cases));
	for (size_t i = 0; i < s->njobs; i++) {
		const struct job *j = &s->jobs[i];

		s->cases[i] = (struct kt_case){
		    .binary = j->bin,
		    .name = j->name,
		    .state = j->state != 2 ? KT_CASE_NOT_RUN
			     : j->interrupted ? KT_CASE_INTERRUPTED
					      : KT_CASE_DONE,
		    .verdict = j->verdict,
		    .secs = j->secs,
		    .output = sb_str(&s->jobs[i].out),
		};
	}
	return s->cases;
}

/* --format ktap: print the results that are complete in document order. */
static void ktap_stream(struct session *s)
{
	if (!s->ktap)
		return;
	if (!s->kt)
		s->kt = kt_ktap_begin(s->ktap, job_cases(s), s->njobs);
	kt_ktap_advance(s->kt, job_cases(s), false);
}

static void write_outputs(struct session *s)
{
	struct kt_case *c = job_cases(s);
	char *err = NULL;

	if (kt_last_run_write(c, s->njobs, &err)) {
		kt_warn("--rerun-failed will not know this run: %s", err);
		free(err);
		err = NULL;
	}
	if (s->junit && kt_junit_write_file(s->junit, c, s->njobs, &err)) {
		kt_err("--junit %s", err);
		free(err);
	}
	if (s->ktap) {
		if (!s->kt)
			s->kt = kt_ktap_begin(s->ktap, c, s->njobs);
		if (kt_ktap_end(s->kt, c))
			kt_err("--format ktap: writing to stdout: %s", strerror(EIO));
		s->kt = NULL;
	}
	free(s->cases);
	s->cases = NULL;
}

/* --rerun-failed: the failed tests of the last run; their binaries when none are given. */
static int load_rerun(struct session *s, int *nbin, char ***bins)
{
	char *err = NULL;
	size_t n = 0;

	if (kt_last_run_failed(&s->rerun_bins, &s->rerun_names, &err)) {
		kt_err("--rerun-failed: %s", err);
		free(err);
		return -1;
	}
	kt_info("--rerun-failed: %zu test%s failed in the last run", s->rerun_names.n,
		s->rerun_names.n == 1 ? "" : "s");
	if (*nbin)
		return 0;
	*bins = kt_calloc(s->rerun_bins.n + 1, sizeof(**bins));
	for (size_t i = 0; i < s->rerun_bins.n; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen |= !strcmp((*bins)[j], s->rerun_bins.v[i]);
		if (!seen)
			(*bins)[n++] = s->rerun_bins.v[i];
	}
	*nbin = (int)n;
	return 0;
}

/* Everything after option parsing; the exit status. */
static int test_session(struct session *s, int nbin, char **bins)
{
	uint64_t t0 = kt_now_ns();
	char **rerun_bins = NULL;
	int rc;

	s->t0 = t0;
	s->host_cpus = kt_allowed_cpus() > 0 ? (unsigned)kt_allowed_cpus() : 1;
	if (s->rerun && load_rerun(s, &nbin, &rerun_bins))
		return 1;
	if (s->rerun && !s->rerun_names.n) {
		printf("nothing failed in the last run\n");
		free(rerun_bins);
		return 0;
	}
	if (!nbin) {
		kt_err("no test binary given (usage: ktstr test [options] BINARY...)");
		free(rerun_bins);
		return 2;
	}
	rc = resolve_kernels(s) ? 1 : collect_jobs(s, nbin, rerun_bins ? rerun_bins : bins, t0);
	free(rerun_bins);
	if (rc)
		return 1;
	if (s->list) {
		tp_print(&s->plan, s->verbose);
		return 0;
	}
	if (!s->njobs) {
		kt_err("no tests matched%s",
		       s->rerun ? " the failed tests of the last run"
		       : s->filters.n || s->exact.n ? " the filter"
		       : s->shard ? " in this shard" : "");
		return 1;
	}
	begin_sidecars(s);
	s->env_add[s->nenv++] = kt_strdup("KTSTR_TEST_RUNNER=1");
	/* One project commit for the whole session (HEAD may move meanwhile). */
	s->env_add[s->nenv++] = kt_asprintf("KTSTR_PROJECT_COMMIT=%s",
					    kt_project_commit() ? kt_project_commit() : "unknown");
	if (s->no_skip)
		s->env_add[s->nenv++] = kt_strdup("KTSTR_NO_SKIP_MODE=1");
	if (s->jmax > s->njobs)
		s->jmax = (unsigned)s->njobs;
	if (s->jmax)
		kt_info("running %zu test%s, %u at a time", s->njobs, s->njobs == 1 ? "" : "s",
			s->jmax);
	else
		kt_info("running %zu test%s, as many at a time as fit %u host CPU%s by vCPU count",
			s->njobs, s->njobs == 1 ? "" : "s", s->host_cpus,
			s->host_cpus == 1 ? "" : "s");
	if (!run_jobs(s)) {
		report_interrupted(s, t0);
		write_outputs(s);
		return 128 + kt_interrupted();
	}
	write_outputs(s);
	printf("%d passed, %d failed, %d skipped, %d inconclusive (%.1fs)\n", s->np, s->nf, s->ns,
	       s->ni, (double)(kt_now_ns() - t0) / 1e9);
	if (s->nover) {
		printf("  %d not started: the %.0fs budget was used up by slower tests:\n",
		       s->nover, s->budget_s);
		for (size_t i = 0; i < s->njobs; i++)
			if (s->jobs[i].over_budget)
				printf("  not started: %s (est %.0fs)\n", s->jobs[i].name,
				       s->jobs[i].est);
	}
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jobs[i].verdict == KT_VERDICT_FAIL ||
		    s->jobs[i].verdict == KT_VERDICT_INCONCLUSIVE)
			printf("  %s: %s\n",
			       s->jobs[i].verdict == KT_VERDICT_FAIL ? "failed" : "inconclusive",
			       s->jobs[i].name);
	for (size_t i = 0; i < s->kset.n && s->kset.n > 1; i++)
		if (!kt_getenv("KTSTR_SIDECAR_DIR") || !i)
			report_sidecars(kt_kernel_set_run_kernel(&s->kset, i));
	if (s->have_run && s->kset.n < 2)
		report_sidecars(s->run_version);
	return s->nf ? 1 : s->ni ? 2 : 0;
}

static void session_free(struct session *s)
{
	free(s->run_version);
	for (size_t i = 0; i < s->njobs; i++) {
		free(s->jobs[i].bin);
		free(s->jobs[i].name);
		sb_free(&s->jobs[i].out);
	}
	free(s->jobs);
	for (int i = s->nput; i < s->nenv; i++)
		free(s->env_add[i]);
	kt_kernel_set_free(&s->kset);
	kt_strv_free(&s->rerun_bins);
	kt_strv_free(&s->rerun_names);
	tp_list_free(&s->plan);
}

static int cmd_test(int argc, char **argv)
{
	struct session s = {.tty = kt_isatty_stderr()};
	const struct kt_opt opts[] = {
		KT_OPT("kernel", 0, "ID", "kernel to test on (path, version, cache key; repeatable: with\n"
				    "two or more every test runs once per kernel). Default: the\n"
				    "implicit chain (KTSTR_TEST_KERNEL, KTSTR_KERNEL, newest cache\n"
				    "entry, ...)",
		 kt_opt_list, &s.kernels),
		KT_OPT("filter", 'E', "SUB", "only tests whose name contains SUB (repeatable: any matches)",
		 kt_opt_list, &s.filters),
		KT_OPT("exact", 0, "NAME", "only the test or variant named NAME (repeatable)",
		 kt_opt_list, &s.exact),
		KT_OPT("gauntlet", 0, NULL, "also run the gauntlet variants: every test over the\n"
				    "topology presets and flag profiles this host can run\n"
				    "(gauntlet/TEST/PRESET/PROFILE)",
		 kt_opt_flag, &s.gauntlet),
		KT_OPT("budget", 0, "SECS", "run the subset with the most coverage (schedulers,\n"
				    "presets, flags) expected to finish in SECS seconds of wall\n"
				    "time (also KTSTR_BUDGET_SECS); prints what runs and what not",
		 kt_opt_str, &s.budget),
		KT_OPT("shard", 0, "K/N", "run shard K of N: a deterministic partition balanced by\n"
				  "estimated cost (hash:K/N: by name hash); shards share a run\n"
				  "dir without wiping each other's sidecars",
		 kt_opt_str, &s.shard),
		KT_OPT("list", 0, NULL, "print what would run, one test per line, and boot nothing\n"
				 "(-v: also what is filtered or dropped, and why)",
		 kt_opt_flag, &s.list),
		KT_OPT_RANGE("jobs", 'j', "N", "N VMs at a time (default: start VMs while their vCPUs\n"
				   "fit the allowed host CPUs, since a TCG VM runs one host\n"
				   "thread per vCPU; a VM larger than the host runs alone)",
		 kt_opt_uint, &s.jmax, 1, 256),
		KT_OPT("no-skip-mode", 0, NULL, "tests the host cannot run fail instead of being skipped",
		 kt_opt_flag, &s.no_skip),
		KT_OPT("verbose", 'v', NULL, "print every test's output, not only failures'", kt_opt_flag,
		 &s.verbose),
		KT_OPT("junit", 0, "PATH", "also write the results as JUnit XML to PATH (one testsuite\n"
				  "per binary, one testcase per test)",
		 kt_opt_str, &s.junit),
		KT_OPT("format", 0, "FMT", "text (default) or ktap: KTAP version 1 on stdout, the\n"
				  "summary on stderr",
		 kt_opt_str, &s.format),
		KT_OPT("rerun-failed", 0, NULL, "run only the tests that failed in the last run (BINARY\n"
					"defaults to the binaries they came from)",
		 kt_opt_flag, &s.rerun),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"test", "[--kernel ID]... [-E FILTER] [--exact NAME] [--gauntlet] [--budget S]\n"
			"       [--shard K/N] [--list] [-j N] [--junit PATH] [--format ktap]\n"
			"       [--rerun-failed] BINARY...",
		"Run the ktstr tests of each test BINARY (built from KTSTR_TESTs and linked with\n"
		"libktstr), each test in its own VM, several at a time.",
		opts,
		"Results also go to sidecars under ${KTSTR_TARGET_DIR:-target}/ktstr/ (with two or\n"
		"more kernels, --kernel or KTSTR_KERNEL_LIST=label=path;..., one run dir per\n"
		"kernel label), and the run's verdicts to .last-run.json there (--rerun-failed).\n"
		"JUnit and KTAP report an inconclusive test as an error / 'not ok', never a pass.\n"
		"Exit status: 1 if a test failed, else 2 if one was inconclusive (a check could\n"
		"not tell signal from noise), else 0.\n"
		"Ctrl-C stops the running tests and lists what passed, failed, was interrupted\n"
		"and never ran (exit 128+signal); a second Ctrl-C stops at once.",
		-1,
	};
	int argi, rc = kt_opt_parse(&cl, argc, argv, &argi);

	if (rc != KT_OPT_GO)
		return rc;
	if (s.format && strcmp(s.format, "text") && strcmp(s.format, "ktap")) {
		kt_err("--format %s: expected text or ktap", s.format);
		rc = 2;
	} else if (argi >= argc && !s.rerun) {
		kt_err("no test binary given (usage: ktstr test [options] BINARY...)");
		rc = 2;
	} else {
		if (s.format && !strcmp(s.format, "ktap")) {
			/* stdout carries only KTAP; everything else printed goes to stderr */
			fflush(stdout);
			s.ktap = fdopen(dup(STDOUT_FILENO), "w");
			if (!s.ktap)
				kt_err("--format ktap: stdout: %s", strerror(errno));
			dup2(STDERR_FILENO, STDOUT_FILENO);
		}
		rc = s.format && !strcmp(s.format, "ktap") && !s.ktap
			     ? 1
			     : test_session(&s, argc - argi, argv + argi);
		if (s.ktap && fclose(s.ktap) && rc == 0)
			rc = 1;
	}
	session_free(&s);
	kt_opt_release(opts);
	return rc;
}

KTSTR_COMMAND(test, "test", "run test binaries' ktstr tests in parallel VMs", cmd_test, 20);
