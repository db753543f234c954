// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup v2 manager. Every write goes through kt_cg_write(), which hands
 * the write to a helper thread and waits at most kt_cg_write_timeout_ms(),
 * so a wedged cgroup write cannot hang a run (the thread is then abandoned).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

/*
 * 2 s as the reference on KVM or bare metal. In a TCG guest (the VM engine
 * puts KTSTR_ACCEL=tcg on the kernel command line, which the kernel hands
 * to init's environment) a task migration waits for RCU grace periods on
 * emulated CPUs that share a loaded host; >2 s has been seen there with
 * scx_flatcg, so the limit is ten times longer.
 */
#define CG_WRITE_TIMEOUT_MS 2000
#define CG_WRITE_TIMEOUT_TCG_MS 20000

int kt_cg_write_timeout_ms(void)
{
	const char *a = getenv("KTSTR_ACCEL");

	return a && !strcmp(a, "tcg") ? CG_WRITE_TIMEOUT_TCG_MS : CG_WRITE_TIMEOUT_MS;
}

struct cg_write_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	bool abandoned;
	int result;
	char *path;
	char *data;
};

static void job_free(struct cg_write_job *j)
{
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->path);
	free(j->data);
	free(j);
}

static int write_now(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t w;
	int r = 0;

	if (fd < 0)
		return -errno;
	/* One value per write(); a lone newline clears (a 0-byte write does nothing). */
	if (len == 0)
		w = write(fd, "\n", 1), len = 1;
	else
		w = write(fd, s, len);
	if (w < 0)
		r = -errno;
	else if ((size_t)w != len)
		r = -EIO;
	close(fd);
	return r;
}

static void *write_thread(void *arg)
{
	struct cg_write_job *j = arg;
	int r = write_now(j->path, j->data);
	bool abandoned;

	pthread_mutex_lock(&j->mu);
	j->result = r;
	j->done = true;
	abandoned = j->abandoned;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	if (abandoned)
		job_free(j);
	return NULL;
}

int kt_cg_write(const char *path, const char *s)
{
	struct cg_write_job *j = kt_calloc(1, sizeof(*j));
	int limit_ms = kt_cg_write_timeout_ms();
	struct timespec ts;
	pthread_attr_t attr;
	pthread_t th;
	int r;

	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->path = kt_strdup(path);
	j->data = kt_strdup(s);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&th, &attr, write_thread, j)) {
		pthread_attr_destroy(&attr);
		job_free(j);
		return write_now(path, s); /* no thread: unbounded, but still correct */
	}
	pthread_attr_destroy(&attr);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += limit_ms / 1000;
	ts.tv_nsec += (limit_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
			break;
	if (!j->done) {
		j->abandoned = true;
		pthread_mutex_unlock(&j->mu);
		kt_warn("cgroup write to %s timed out after %d ms", path, limit_ms);
		return -ETIMEDOUT;
	}
	r = j->result;
	pthread_mutex_unlock(&j->mu);
	job_free(j);
	return r;
}

char *kt_cgmgr_path(const struct kt_cgroup_mgr *m, const char *name)
{
	if (!name || !*name)
		return kt_strdup(m->root);
	return kt_path_join(m->root, name);
}

static bool controller_listed(const char *dir, const char *file, const char *ctrl)
{
	char *p = kt_path_join(dir, file), *txt = NULL, *save = NULL, *tok;
	bool found = false;

	if (kt_read_file(p, &txt, NULL, 4096) == 0)
		for (tok = strtok_r(txt, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, ctrl))
				found = true;
	free(txt);
	free(p);
	return found;
}

/* Enable +cpuset (+cpu) in dir's subtree_control (if not yet). */
static int enable_controllers(const struct kt_cgroup_mgr *m, const char *dir, char **err)
{
	char *p = kt_path_join(dir, "cgroup.subtree_control");
	int r = 0;

	if (!controller_listed(dir, "cgroup.subtree_control", "cpuset")) {
		r = kt_cg_write(p, "+cpuset");
		if (r < 0 && err)
			*err = kt_asprintf("%s: writing +cpuset: %s", p, strerror(-r));
	}
	if (r == 0 && m->has_cpu && !controller_listed(dir, "cgroup.subtree_control", "cpu"))
		kt_cg_write(p, "+cpu"); /* optional: ignore failure */
	free(p);
	return r;
}

/*
 * mkdir each component of rel below base in turn, enabling the controllers
 * in each parent first (in base itself only when enable_base).
 */
static int mkdir_each(const struct kt_cgroup_mgr *m, const char *base, const char *rel,
		      bool enable_base, char **err)
{
	char *copy = kt_strdup(rel), *cur = kt_strdup(base), *save = NULL, *tok;
	bool enable = enable_base;
	int r = 0;

	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		char *next;

		if (enable) {
			r = enable_controllers(m, cur, err);
			if (r < 0)
				break;
		}
		enable = true;
		next = kt_path_join(cur, tok);
		free(cur);
		cur = next;
		if (mkdir(cur, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			*err = kt_asprintf("%s: mkdir: %s", cur, strerror(errno));
			break;
		}
	}
	free(copy);
	free(cur);
	return r;
}

int kt_cgmgr_init(struct kt_cgroup_mgr *m, const char *fs, const char *root, char **err)
{
	int r;

	memset(m, 0, sizeof(*m));
	if (!controller_listed(fs, "cgroup.controllers", "cpuset")) {
		*err = kt_asprintf("%s: not a cgroup v2 mount with the cpuset controller", fs);
		return -ENOTSUP;
	}
	if (strncmp(root, fs, strlen(fs)) || (root[strlen(fs)] != '/')) {
		*err = kt_asprintf("%s: not below %s", root, fs);
		return -EINVAL;
	}
	m->fs = kt_strdup(fs);
	m->root = kt_strdup(root);
	m->has_cpu = controller_listed(fs, "cgroup.controllers", "cpu");
	/* Walk from fs down to root: enable controllers, mkdir. */
	r = mkdir_each(m, fs, root + strlen(fs) + 1, true, err);
	if (r == 0)
		r = enable_controllers(m, m->root, err);
	if (r < 0)
		kt_cgmgr_free(m);
	return r;
}

void kt_cgmgr_free(struct kt_cgroup_mgr *m)
{
	free(m->fs);
	free(m->root);
	memset(m, 0, sizeof(*m));
}

int kt_cgmgr_create(struct kt_cgroup_mgr *m, const char *name, char **err)
{
	if (!*name || strstr(name, "..") || name[0] == '/') {
		*err = kt_asprintf("invalid cgroup name '%s'", name);
		return -EINVAL;
	}
	return mkdir_each(m, m->root, name, false, err);
}

int kt_cgmgr_set_cpuset(struct kt_cgroup_mgr *m, const char *name, const struct kt_cpuset *cpus,
			char **err)
{
	char *dir = kt_cgmgr_path(m, name), *p = kt_path_join(dir, "cpuset.cpus");
	char *buf = kt_malloc(8192);
	int r;

	if (cpus)
		kt_cpuset_format(cpus, buf, 8192);
	else
		buf[0] = 0;
	r = kt_cg_write(p, buf);
	if (r == -ENOSPC && !buf[0]) {
		/*
		 * Some kernels refuse an empty cpuset.cpus while tasks are attached;
		 * clearing then means widening to everything the parent has.
		 */
		char *pdir = kt_strdup(dir), *slash = strrchr(pdir, '/'), *eff = NULL, *pp;

		if (slash)
			*slash = 0;
		pp = kt_path_join(pdir, "cpuset.cpus.effective");
		if (kt_read_file(pp, &eff, NULL, 65536) == 0) {
			r = kt_cg_write(p, kt_trim(eff));
			snprintf(buf, 8192, "%s", kt_trim(eff));
		}
		free(eff);
		free(pp);
		free(pdir);
	}
	if (r < 0 && err)
		*err = kt_asprintf("%s: writing '%s': %s", p, buf, strerror(-r));
	free(buf);
	free(p);
	free(dir);
	return r;
}

int kt_cgmgr_get_cpuset(struct kt_cgroup_mgr *m, const char *name, struct kt_cpuset *out,
			bool *set)
{
	char *dir = kt_cgmgr_path(m, name), *p = kt_path_join(dir, "cpuset.cpus"), *txt = NULL;
	int r = kt_read_file(p, &txt, NULL, 65536);

	kt_cpuset_zero(out);
	*set = false;
	if (r == 0) {
		r = kt_cpuset_parse(txt, out);
		*set = r == 0 && !kt_cpuset_empty(out);
	}
	free(txt);
	free(p);
	free(dir);
	return r;
}

int kt_cgmgr_move(struct kt_cgroup_mgr *m, const char *name, const pid_t *pids, size_t n,
		  char **err)
{
	char *dir = kt_cgmgr_path(m, name), *p = kt_path_join(dir, "cgroup.procs");
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%d", (int)pids[i]);
		for (int attempt = 0; attempt < 3; attempt++) {
			r = kt_cg_write(p, buf);
			if (r != -EBUSY)
				break;
			usleep(100 * 1000);
		}
		if (r == -ESRCH)
			r = 0;
		if (r < 0 && err)
			*err = kt_asprintf("%s: moving pid %d: %s", p, (int)pids[i], strerror(-r));
	}
	free(p);
	free(dir);
	return r;
}

/* Move every task of dir to fs root. */
static void drain(const char *fs, const char *dir)
{
	char *p = kt_path_join(dir, "cgroup.procs"), *dst = kt_path_join(fs, "cgroup.procs");
	char *txt = NULL, *save = NULL, *tok;

	for (int round = 0; round < 3; round++) {
		bool any = false;

		free(txt);
		txt = NULL;
		if (kt_read_file(p, &txt, NULL, 1 << 20) < 0)
			break;
		for (tok = strtok_r(txt, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
			any = true;
			kt_cg_write(dst, tok);
		}
		if (!any)
			break;
	}
	free(txt);
	free(p);
	free(dst);
}

/* Remove dir's subtree deepest first. Returns number of dirs removed or -errno. */
static int remove_tree(const char *fs, const char *dir, bool keep_dir, int depth)
{
	DIR *d;
	struct dirent *de;
	int count = 0, r;

	if (depth > 32)
		return -ELOOP;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = kt_path_join(dir, de->d_name);
		r = remove_tree(fs, sub, false, depth + 1);
		if (r > 0)
			count += r;
		free(sub);
	}
	closedir(d);
	if (keep_dir)
		return count;
	drain(fs, dir);
	for (int attempt = 0; attempt < 20; attempt++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return count + 1;
		if (errno != EBUSY)
			break;
		/* Tasks that are exiting still count for a moment. */
		usleep(50 * 1000);
		drain(fs, dir);
	}
	r = -errno;
	kt_warn("rmdir %s: %s", dir, strerror(errno));
	return r;
}

int kt_cgroup_remove_tree(const char *fs, const char *dir, bool keep_dir)
{
	return remove_tree(fs, dir, keep_dir, 0);
}

int kt_cgmgr_remove(struct kt_cgroup_mgr *m, const char *name)
{
	char *dir = kt_cgmgr_path(m, name);
	int r = remove_tree(m->fs, dir, false, 0);

	free(dir);
	return r < 0 ? r : 0;
}

int kt_cgmgr_destroy(struct kt_cgroup_mgr *m)
{
	int r;

	if (!m->root)
		return 0;
	r = remove_tree(m->fs, m->root, false, 0);
	return r < 0 ? r : 0;
}
