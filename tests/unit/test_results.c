// SPDX-License-Identifier: GPL-2.0
/* Sidecars: hash, naming, JSON round trip, run-dir protocol, scan. */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results/results.h"
#include "unit.h"
#include "util/util.h"

UNIT_TEST(results_siphash_vectors)
{
	uint8_t key[16], msg[64];
	uint64_t k0 = 0, k1 = 0;

	/* SipHash-2-4 reference vectors (key 00..0f, message 00..len-1). */
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (int i = 0; i < 8; i++) {
		k0 |= (uint64_t)key[i] << (8 * i);
		k1 |= (uint64_t)key[8 + i] << (8 * i);
	}
	CHECK(kt_siphash(2, 4, k0, k1, msg, 0) == 0x726fdb47dd0e0e31ull);
	CHECK(kt_siphash(2, 4, k0, k1, msg, 15) == 0xa129ca6149be45e5ull);
	CHECK(kt_siphash(2, 4, k0, k1, msg, 63) == 0x958a324ceb064572ull);
	/* SipHash-1-3, zero key (Rust's DefaultHasher): "" and "siphash". */
	CHECK(kt_siphash13(0, 0, "", 0) == 0xd1fba762150c532cull);
	CHECK(kt_siphash13(0, 0, "siphash", 7) == 0x8264ceeccb16bcbeull);
}

static void fill(struct kt_sidecar *sc, const char *name)
{
	memset(sc, 0, sizeof(*sc));
	sc->test_name = kt_strdup(name);
	sc->topology = kt_strdup("1n2l2c1t");
	sc->scheduler = kt_strdup("scx_qmap");
	sc->work_type = kt_strdup("CpuSpin");
	sc->passed = true;
	sc->kernel_version = kt_strdup("6.12.48");
	kt_strv_add(&sc->active_flags, "llc");
	kt_strv_add(&sc->sysctls, "sysctl.kernel.b=2");
	kt_strv_add(&sc->sysctls, "sysctl.kernel.a=1");
	kt_strv_add(&sc->kargs, "nosmt");
	sc->stats = json_pack("{s:i,s:f}", "total_workers", 4, "worst_spread", 3.5);
}

UNIT_TEST(results_variant_hash_fields)
{
	struct kt_sidecar a, b;
	uint64_t h;
	char *n;

	fill(&a, "t1");
	fill(&b, "t1");
	h = kt_sidecar_variant_hash(&a);
	CHECK(h == kt_sidecar_variant_hash(&b));
	/* Commits, pass/fail and run source do not feed the hash. */
	b.project_commit = kt_strdup("abcdef1");
	b.passed = false;
	b.run_source = kt_strdup("ci");
	CHECK(h == kt_sidecar_variant_hash(&b));
	/* sysctl order does not matter (sorted). */
	kt_strv_free(&b.sysctls);
	kt_strv_add(&b.sysctls, "sysctl.kernel.a=1");
	kt_strv_add(&b.sysctls, "sysctl.kernel.b=2");
	CHECK(h == kt_sidecar_variant_hash(&b));
	/* Topology, scheduler, flags do. */
	free(b.topology);
	b.topology = kt_strdup("1n1l2c1t");
	CHECK(h != kt_sidecar_variant_hash(&b));
	free(b.topology);
	b.topology = kt_strdup("1n2l2c1t");
	kt_strv_add(&b.active_flags, "borrow");
	CHECK(h != kt_sidecar_variant_hash(&b));
	/* Field boundaries matter: "ab"+"" != "a"+"b". */
	free(b.topology);
	free(b.scheduler);
	b.topology = kt_strdup("x");
	b.scheduler = kt_strdup("yz");
	kt_strv_free(&b.active_flags);
	n = kt_sidecar_file_name(&b);
	free(b.topology);
	free(b.scheduler);
	b.topology = kt_strdup("xy");
	b.scheduler = kt_strdup("z");
	CHECK(strcmp(n, kt_sidecar_file_name(&b)) != 0);
	CHECK(kt_startswith(n, "t1-"));
	CHECK(kt_endswith(n, ".ktstr.json"));
	CHECK_INT_EQ(strlen(n), strlen("t1-") + 16 + strlen(".ktstr.json"));
	free(n);
	kt_sidecar_free(&a);
	kt_sidecar_free(&b);
}

/*
 * A scheduler without sysctls or kargs: empty lists with no array behind
 * them hash without undefined behaviour (`make asan` stops on any), and an
 * empty list differs from a list holding one empty string.
 */
UNIT_TEST(results_variant_hash_empty_lists)
{
	struct kt_sidecar a = {0}, b = {0};
	uint64_t h;

	a.test_name = kt_strdup("t");
	b.test_name = kt_strdup("t");
	CHECK(a.sysctls.v == NULL && a.kargs.v == NULL);
	h = kt_sidecar_variant_hash(&a);
	CHECK(h == kt_sidecar_variant_hash(&b));
	kt_strv_add(&b.kargs, "");
	CHECK(h != kt_sidecar_variant_hash(&b));
	kt_sidecar_free(&a);
	kt_sidecar_free(&b);
}

UNIT_TEST(results_json_roundtrip)
{
	struct kt_sidecar a, b;
	char *err = NULL, *path = NULL;
	json_t *j;

	setenv("KTSTR_SIDECAR_DIR", unit_tmpdir(), 1);
	setenv("KTSTR_CI", "1", 1);
	fill(&a, "round");
	a.host = kt_host_context();
	a.has_cleanup_ms = true;
	a.cleanup_duration_ms = 42;
	CHECK_INT_EQ(kt_sidecar_write(&a, &path, &err), 0);
	CHECK(path && kt_startswith(path, unit_tmpdir()));
	CHECK_INT_EQ(kt_sidecar_read(path, &b, &err), 0);
	CHECK_STR_EQ(b.test_name, "round");
	CHECK_STR_EQ(b.topology, "1n2l2c1t");
	CHECK_STR_EQ(b.scheduler, "scx_qmap");
	CHECK_STR_EQ(b.run_source, "ci");
	CHECK_STR_EQ(b.kernel_version, "6.12.48");
	CHECK(b.scheduler_commit == NULL);
	CHECK(b.monitor == NULL);
	CHECK(b.passed && !b.skipped);
	CHECK(b.has_cleanup_ms && b.cleanup_duration_ms == 42);
	CHECK_INT_EQ(b.active_flags.n, 1);
	CHECK_STR_EQ(b.active_flags.v[0], "llc");
	CHECK_INT_EQ(b.sysctls.n, 2);
	CHECK_INT_EQ(json_integer_value(json_object_get(b.stats, "total_workers")), 4);
	CHECK(json_is_string(json_object_get(b.host, "kernel_release")));
	CHECK(json_integer_value(json_object_get(b.host, "online_cpus")) >= 1);
	CHECK(b.timestamp && strlen(b.timestamp) == 20);
	CHECK(b.run_id && strchr(b.run_id, '-'));
	/* Same variant hash after the round trip: same file name. */
	CHECK(kt_sidecar_variant_hash(&a) == kt_sidecar_variant_hash(&b));
	kt_sidecar_free(&b);

	/* Missing required field -> error naming it; missing option -> fine. */
	j = kt_sidecar_to_json(&a);
	json_object_del(j, "kernel_commit");
	CHECK_INT_EQ(kt_sidecar_from_json(j, &b, &err), 0);
	kt_sidecar_free(&b);
	json_object_del(j, "passed");
	CHECK(kt_sidecar_from_json(j, &b, &err) < 0);
	CHECK_STR_CONTAINS(err, "passed");
	json_decref(j);
	kt_sidecar_free(&a);
	free(path);
}

UNIT_TEST(results_inconclusive_field)
{
	struct kt_sidecar a, b;
	char *err = NULL;
	json_t *j;

	fill(&a, "undecided");
	a.passed = false;
	a.inconclusive = true;
	j = kt_sidecar_to_json(&a);
	CHECK(json_is_true(json_object_get(j, "inconclusive")));
	CHECK(json_is_false(json_object_get(j, "passed")));
	CHECK_INT_EQ(kt_sidecar_from_json(j, &b, &err), 0);
	CHECK(b.inconclusive && !b.passed && !b.skipped);
	kt_sidecar_free(&b);
	/* Older sidecars have no such key: read as false. */
	json_object_del(j, "inconclusive");
	CHECK_INT_EQ(kt_sidecar_from_json(j, &b, &err), 0);
	CHECK(!b.inconclusive);
	kt_sidecar_free(&b);
	/* At most one of passed / inconclusive. */
	json_object_set_new(j, "inconclusive", json_true());
	json_object_set_new(j, "passed", json_true());
	CHECK(kt_sidecar_from_json(j, &b, &err) < 0);
	CHECK_STR_CONTAINS(err, "inconclusive");
	free(err);
	err = NULL;
	json_object_set_new(j, "inconclusive", json_string("yes"));
	CHECK(kt_sidecar_from_json(j, &b, &err) < 0);
	CHECK_STR_CONTAINS(err, "inconclusive");
	free(err);
	json_decref(j);
	kt_sidecar_free(&a);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (kt_endswith(e->d_name, ".ktstr.json"))
			n++;
	closedir(d);
	return n;
}

static bool has_file(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (kt_startswith(e->d_name, prefix) && kt_endswith(e->d_name, ".ktstr.json"))
			found = true;
	closedir(d);
	return found;
}

/*
 * In a child process: wait for a byte on start_fd (if >= 0), write one
 * sidecar, wait for a byte on cont_fd (if >= 0), write the remaining n-1
 * sidecars named prefix0.. ; exit status 0 on success.
 */
static pid_t writer2(const char *prefix, int n, int start_fd, int cont_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		char c;

		if (start_fd >= 0 && read(start_fd, &c, 1) != 1)
			_exit(3);
		for (int i = 0; i < n; i++) {
			struct kt_sidecar sc;
			char name[64], *err = NULL;

			if (i == 1 && cont_fd >= 0 && read(cont_fd, &c, 1) != 1)
				_exit(3);
			snprintf(name, sizeof(name), "%s%d", prefix, i);
			fill(&sc, name);
			if (kt_sidecar_write(&sc, NULL, &err)) {
				fprintf(stderr, "write %s: %s\n", name, err);
				_exit(1);
			}
			kt_sidecar_free(&sc);
		}
		_exit(0);
	}
	return pid;
}

static pid_t writer(const char *prefix, int n, int start_fd)
{
	return writer2(prefix, n, start_fd, -1);
}

static int wait_ok(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *run_dir(void)
{
	char *root = kt_runs_root();
	char *key = kt_run_key("6.12.48", kt_project_commit());
	char *d = kt_path_join(root, key);

	free(root);
	free(key);
	return d;
}

UNIT_TEST(results_run_dir_preclear_between_runs)
{
	char *dir;

	unsetenv("KTSTR_SIDECAR_DIR");
	setenv("KTSTR_TARGET_DIR", unit_tmpdir(), 1);
	dir = run_dir();
	CHECK(kt_startswith(dir, unit_tmpdir()));
	/* Run 1 writes two files; run 2 (a later process) replaces them. */
	CHECK_INT_EQ(wait_ok(writer("old", 2, -1)), 0);
	CHECK_INT_EQ(count_files(dir), 2);
	CHECK_INT_EQ(wait_ok(writer("new", 3, -1)), 0);
	CHECK_INT_EQ(count_files(dir), 3);
	CHECK(!has_file(dir, "old"));
	/* The lock files live under {root}/ktstr/.locks/. */
	{
		char *root = kt_runs_root();
		char *locks = kt_path_join(root, ".locks");

		CHECK(kt_is_dir(locks));
		free(locks);
		free(root);
	}
	free(dir);
}

static void wait_file(const char *dir, const char *prefix)
{
	for (int i = 0; i < 500 && !has_file(dir, prefix); i++)
		usleep(10 * 1000);
}

UNIT_TEST(results_concurrent_writers_lose_nothing)
{
	int sa[2], sb[2], ca[2], cb[2];
	pid_t a, b;
	char *dir;

	unsetenv("KTSTR_SIDECAR_DIR");
	setenv("KTSTR_TARGET_DIR", unit_tmpdir(), 1);
	dir = run_dir();
	CHECK_INT_EQ(wait_ok(writer("stale", 2, -1)), 0);
	CHECK(pipe(sa) == 0 && pipe(sb) == 0 && pipe(ca) == 0 && pipe(cb) == 0);
	a = writer2("a", 25, sa[0], ca[0]);
	b = writer2("b", 25, sb[0], cb[0]);
	/* a writes its first file (pre-clearing the stale run) ... */
	CHECK(write(sa[1], "x", 1) == 1);
	wait_file(dir, "a0-");
	/* ... then b joins while a is alive, and both write at once. */
	CHECK(write(sb[1], "x", 1) == 1);
	wait_file(dir, "b0-");
	CHECK(write(ca[1], "x", 1) == 1 && write(cb[1], "x", 1) == 1);
	CHECK_INT_EQ(wait_ok(a), 0);
	CHECK_INT_EQ(wait_ok(b), 0);
	CHECK_INT_EQ(count_files(dir), 50);
	CHECK(!has_file(dir, "stale"));
	free(dir);
}

UNIT_TEST(results_session_keeps_sequential_children)
{
	int ready[2], hold[2];
	char *dir, c;
	pid_t holder;

	unsetenv("KTSTR_SIDECAR_DIR");
	setenv("KTSTR_TARGET_DIR", unit_tmpdir(), 1);
	dir = run_dir();
	CHECK_INT_EQ(wait_ok(writer("stale", 1, -1)), 0);
	/*
	 * Like `ktstr test`: a session holder (its own process, as the
	 * writers are separate executables in real use) pre-clears and
	 * holds the run; writers then run one after another.
	 */
	CHECK(pipe(ready) == 0 && pipe(hold) == 0);
	holder = fork();
	if (holder == 0) {
		char *err = NULL;

		close(hold[1]);
		if (kt_sidecar_session_begin("6.12.48", &err))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		(void)!read(hold[0], &c, 1); /* until the parent closes */
		_exit(0);
	}
	close(hold[0]);
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK_INT_EQ(count_files(dir), 0);
	CHECK_INT_EQ(wait_ok(writer("first", 1, -1)), 0);
	CHECK_INT_EQ(wait_ok(writer("second", 1, -1)), 0);
	CHECK(has_file(dir, "first"));
	CHECK(has_file(dir, "second"));
	close(hold[1]);
	CHECK_INT_EQ(wait_ok(holder), 0);
	/* The session is over: the next run replaces the results. */
	CHECK_INT_EQ(wait_ok(writer("third", 1, -1)), 0);
	CHECK(!has_file(dir, "first"));
	CHECK(has_file(dir, "third"));
	free(dir);
}

UNIT_TEST(results_sidecar_dir_override_no_preclear)
{
	char *p = kt_path_join(unit_tmpdir(), "keep.ktstr.json");

	setenv("KTSTR_SIDECAR_DIR", unit_tmpdir(), 1);
	CHECK_INT_EQ(kt_write_file_atomic(p, "{}", 2, 0644), 0);
	CHECK_INT_EQ(wait_ok(writer("x", 2, -1)), 0);
	CHECK(kt_exists(p));
	CHECK_INT_EQ(count_files(unit_tmpdir()), 3);
	free(p);
}

static int collect(void *ctx, const char *path)
{
	kt_strv_add(ctx, path);
	return 0;
}

UNIT_TEST(results_scan_depth_and_names)
{
	struct kt_strv got = {0};
	const char *d = unit_tmpdir();
	char *p;

	p = kt_asprintf("%s/run1", d);
	kt_mkdir_p(p, 0755);
	free(p);
	p = kt_asprintf("%s/run1/deep", d);
	kt_mkdir_p(p, 0755);
	free(p);
	p = kt_asprintf("%s/.locks", d);
	kt_mkdir_p(p, 0755);
	free(p);
	const char *files[] = {"a.ktstr.json", "run1/b.ktstr.json", "run1/deep/c.ktstr.json",
			       ".locks/d.ktstr.json", "run1/e.json", "run1/f.ktstr.json.tmp-1"};
	for (size_t i = 0; i < KT_ARRAY_SIZE(files); i++) {
		p = kt_path_join(d, files[i]);
		kt_write_file_atomic(p, "{}", 2, 0644);
		free(p);
	}
	CHECK_INT_EQ(kt_sidecar_scan(d, collect, &got), 2);
	CHECK_INT_EQ(got.n, 2);
	CHECK(kt_endswith(got.v[0], "/a.ktstr.json"));
	CHECK(kt_endswith(got.v[1], "/run1/b.ktstr.json"));
	kt_strv_free(&got);
	CHECK(kt_sidecar_scan("/nonexistent-ktstr", collect, &got) < 0);
}

UNIT_TEST(results_run_source_and_root)
{
	char *r;

	unsetenv("KTSTR_CI");
	CHECK_STR_EQ(kt_run_source(), "local");
	setenv("KTSTR_CI", "", 1);
	CHECK_STR_EQ(kt_run_source(), "local");
	setenv("KTSTR_CI", "yes", 1);
	CHECK_STR_EQ(kt_run_source(), "ci");
	unsetenv("KTSTR_TARGET_DIR");
	r = kt_runs_root();
	CHECK_STR_EQ(r, "target/ktstr");
	free(r);
	r = kt_run_key(NULL, NULL);
	CHECK_STR_EQ(r, "unknown-unknown");
	free(r);
	r = kt_run_key("6.12", "abc/def");
	CHECK_STR_EQ(r, "6.12-abc_def");
	free(r);
}

UNIT_TEST(results_project_commit_from_env)
{
	setenv("KTSTR_PROJECT_COMMIT", "abc1234-dirty", 1);
	CHECK_STR_EQ(kt_project_commit(), "abc1234-dirty");
}

UNIT_TEST(results_project_commit_env_unknown)
{
	char *k;

	setenv("KTSTR_PROJECT_COMMIT", "unknown", 1);
	CHECK(kt_project_commit() == NULL);
	k = kt_run_key("6.12", kt_project_commit());
	CHECK_STR_EQ(k, "6.12-unknown");
	free(k);
}
