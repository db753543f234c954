// SPDX-License-Identifier: GPL-2.0
/*
 * `ktstr kernel build`: get a source tree (local dir, tarball, kernel.org
 * download, shallow git clone), configure it with the ktstr fragment,
 * build bzImage + vmlinux + the tools/sched_ext schedulers, validate the
 * config, and store the result atomically in the cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "util/util.h"

static char *kt_strndup7(const char *s)
{
	char *r = kt_malloc(8);

	snprintf(r, 8, "%.7s", s);
	return r;
}

/* ---- progress ------------------------------------------------------------------- */

struct progress {
	const char *stage;
	uint64_t t0, stage_t0, last;
	unsigned objs;
	char last_cc[200];
	bool tty;
	bool line_dirty;
};

static void fmt_dur(uint64_t ns, char *buf, size_t len)
{
	unsigned long s = (unsigned long)(ns / 1000000000ull);

	if (s >= 60)
		snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lus", s);
}

static unsigned term_cols(void)
{
	struct winsize ws;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

static void progress_draw(struct progress *p)
{
	char d[32], line[512];
	unsigned cols = term_cols();
	int n;

	fmt_dur(kt_now_ns() - p->stage_t0, d, sizeof(d));
	if (p->objs)
		n = snprintf(line, sizeof(line), "%s: %s [%s] %u objects, CC %s", kt_label(),
			     p->stage, d, p->objs, p->last_cc);
	else
		n = snprintf(line, sizeof(line), "%s: %s [%s]", kt_label(), p->stage, d);
	if (n > 0 && (unsigned)n >= cols)
		line[cols - 1] = 0;
	fprintf(stderr, "\r\x1b[K%s", line);
	fflush(stderr);
	p->line_dirty = true;
}

static void progress_stage(struct progress *p, const char *stage)
{
	p->stage = stage;
	p->stage_t0 = kt_now_ns();
	p->last = p->stage_t0;
	p->last_cc[0] = 0;
	if (p->tty)
		progress_draw(p);
	else
		kt_info("%s...", stage);
}

static void progress_done(struct progress *p, const char *msg)
{
	char d[32];

	fmt_dur(kt_now_ns() - p->stage_t0, d, sizeof(d));
	if (p->tty && p->line_dirty) {
		fprintf(stderr, "\r\x1b[K");
		p->line_dirty = false;
	}
	kt_info("%s (%s)", msg, d);
}

static void progress_abort(struct progress *p)
{
	if (p->tty && p->line_dirty) {
		fprintf(stderr, "\r\x1b[K");
		fflush(stderr);
		p->line_dirty = false;
	}
}

static void on_make_line(void *ctx, const char *line)
{
	struct progress *p = ctx;
	uint64_t now = kt_now_ns();

	/* kbuild quiet output: "  CC      kernel/fork.o" */
	if (!strncmp(line, "  CC ", 5) || !strncmp(line, "  CLANG ", 8) ||
	    !strncmp(line, "  AS ", 5)) {
		const char *s = line + 4;

		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
		p->objs++;
		snprintf(p->last_cc, sizeof(p->last_cc), "%s", s);
	}
	if (p->tty) {
		if (now - p->last >= 200000000ull) {
			p->last = now;
			progress_draw(p);
		}
	} else if (now - p->last >= 30000000000ull) {
		char d[32];

		p->last = now;
		fmt_dur(now - p->stage_t0, d, sizeof(d));
		kt_info("%s: %s elapsed, %u objects compiled", p->stage, d, p->objs);
	}
}

static void print_log_tail(const char *log, int lines)
{
	char *text = NULL;
	size_t len = 0;
	const char *start;
	int n = 0;

	if (kt_read_file(log, &text, &len, 0))
		return;
	start = text + len;
	while (start > text) {
		start--;
		if (*start == '\n' && start != text + len - 1 && ++n >= lines) {
			start++;
			break;
		}
	}
	fprintf(stderr, "---- last %d lines of %s ----\n%s", lines, log, start);
	if (len && text[len - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "----\n");
	free(text);
}

/* Run a command in dir with progress; on failure print the log tail. */
static int run_stage(struct progress *p, const char *stage, const char *dir, const char *log,
		     char *const argv[], char **err)
{
	struct kt_run_opts o = {.cwd = dir, .log_path = log, .on_line = on_make_line, .ctx = p};
	struct sbuf cmd = SBUF_INIT;
	int st = 0, r;
	FILE *lf;

	for (char *const *a = argv; *a; a++)
		sb_addf(&cmd, "%s%s", a == argv ? "" : " ", *a);
	lf = fopen(log, "ae");
	if (lf) {
		fprintf(lf, "\n==== %s: %s (in %s)\n", stage, sb_str(&cmd), dir);
		fclose(lf);
	}
	progress_stage(p, stage);
	r = kt_run(argv, &o, &st);
	if (kt_interrupted()) {
		progress_abort(p);
		kt_set_err(err, "interrupted");
		sb_free(&cmd);
		return -EINTR;
	}
	if (r || st) {
		progress_abort(p);
		print_log_tail(log, 40);
		if (r)
			kt_set_err(err, "%s: cannot run %s: %s (log: %s)", stage, argv[0],
				strerror(-r), log);
		else
			kt_set_err(err, "%s failed (exit %d) (log: %s)", sb_str(&cmd), st, log);
		sb_free(&cmd);
		return r ? r : -EIO;
	}
	sb_free(&cmd);
	return 0;
}

/* ---- config ----------------------------------------------------------------------- */

static const char *const required_y[] = {
    "CONFIG_SCHED_CLASS_EXT",
    "CONFIG_DEBUG_INFO_BTF",
    "CONFIG_BPF_SYSCALL",
    "CONFIG_FTRACE",
    "CONFIG_KPROBE_EVENTS",
    "CONFIG_BPF_EVENTS",
    "CONFIG_DEVMEM",
    "CONFIG_SERIAL_8250_CONSOLE",
    "CONFIG_PVH",
    "CONFIG_NUMA",
    "CONFIG_CPUSETS",
    "CONFIG_SCHEDSTATS",
};
static const char *const required_unset[] = {"CONFIG_STRICT_DEVMEM"};

static bool config_has_line(const char *cfg, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = cfg; (p = strstr(p, line)); p += n)
		if ((p == cfg || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return true;
	return false;
}

/* Empty string when all critical options are right, else the list. */
static char *config_missing(const char *cfg)
{
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < KT_ARRAY_SIZE(required_y); i++) {
		char *l = kt_asprintf("%s=y", required_y[i]);

		if (!config_has_line(cfg, l))
			sb_addf(&sb, "%s%s", sb.len ? ", " : "", l);
		free(l);
	}
	for (size_t i = 0; i < KT_ARRAY_SIZE(required_unset); i++) {
		char *l = kt_asprintf("%s=y", required_unset[i]);

		if (config_has_line(cfg, l))
			sb_addf(&sb, "%s%s must not be set", sb.len ? ", " : "", required_unset[i]);
		free(l);
	}
	sb_str(&sb);
	return sb_steal(&sb);
}

/*
 * Fragment options that shape the machine rather than enable what ktstr
 * needs. They are applied only when ktstr creates the configuration (make
 * allnoconfig + the fragment); merged into a tree's existing .config they
 * would override its owner's choices (block layer, VT, modules, HZ...), so
 * there only the other lines are added.
 */
static const char *const lean_only[] = {
    "CONFIG_NR_CPUS",	  "CONFIG_NO_HZ_IDLE", "CONFIG_HIGH_RES_TIMERS",
    "CONFIG_HZ_1000",	  "CONFIG_PREEMPT_VOLUNTARY", "CONFIG_CPU_IDLE",
    "CONFIG_RELOCATABLE", "CONFIG_MODULES",    "CONFIG_UNWINDER_ORC",
    "CONFIG_EXPERT",	  "CONFIG_BLOCK",      "CONFIG_VT",
    "CONFIG_INPUT",	  "CONFIG_ETHTOOL_NETLINK", "CONFIG_TRANSPARENT_HUGEPAGE_MADVISE",
};

/* The option a fragment line sets ("CONFIG_X=..." or "# CONFIG_X is not set"), or NULL. */
static char *line_option(const char *l)
{
	const char *a = l, *e;

	if (l[0] == '#') {
		if (!strstr(l, " is not set"))
			return NULL;
		a = l + 1;
		while (*a == ' ')
			a++;
	}
	if (strncmp(a, "CONFIG_", 7))
		return NULL;
	for (e = a; *e && *e != '=' && *e != ' '; e++)
		;
	return kt_asprintf("%.*s", (int)(e - a), a);
}

static bool option_lean_only(const char *opt)
{
	for (size_t i = 0; opt && i < KT_ARRAY_SIZE(lean_only); i++)
		if (!strcmp(opt, lean_only[i]))
			return true;
	return false;
}

bool kt_kconfig_line_lean_only(const char *line)
{
	char *o = line_option(line);
	bool lean = option_lean_only(o);

	free(o);
	return lean;
}

/*
 * The fragment's option lines (comments dropped), one per line; with
 * full == false without the lean-only ones.
 */
char *kt_kconfig_fragment_lines(bool full)
{
	size_t len;
	const char *frag = kt_kconfig_fragment(&len);
	char *copy = kt_malloc(len + 1), *save = NULL, *l, *o;
	struct sbuf sb = SBUF_INIT;

	memcpy(copy, frag, len);
	copy[len] = 0;
	for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = kt_trim(l);
		o = line_option(l);
		if (o && (full || !option_lean_only(o)))
			sb_addf(&sb, "%s\n", l);
		free(o);
	}
	free(copy);
	sb_str(&sb);
	return sb_steal(&sb);
}

/* Every fragment option line (of the part that applies) present in cfg? */
static bool fragment_applied(const char *cfg, bool full)
{
	char *lines = kt_kconfig_fragment_lines(full), *save = NULL, *l;
	bool ok = true;

	for (l = strtok_r(lines, "\n", &save); l && ok; l = strtok_r(NULL, "\n", &save))
		ok = config_has_line(cfg, l);
	free(lines);
	return ok;
}

static int append_fragment(const char *tree, bool full, char **err)
{
	char *path = kt_path_join(tree, ".config");
	char *lines = kt_kconfig_fragment_lines(full);
	size_t len = strlen(lines);
	FILE *f = fopen(path, "ae");

	if (!f || fputs("\n", f) < 0 || fwrite(lines, 1, len, f) != len || fclose(f)) {
		kt_set_err(err, "cannot append the kconfig fragment to %s: %s", path, strerror(errno));
		free(lines);
		free(path);
		return -EIO;
	}
	free(lines);
	free(path);
	return 0;
}

struct build_ctx {
	const struct kt_build_opts *o;
	char *root;
	char *key;  /* NULL: not cacheable */
	char *tree; /* source tree being built */
	char *tmp;  /* temporary dir (tarball/git) or NULL */
	char *log;
	char *version;
	unsigned jobs;
	enum kt_src_type src;
	char *git_hash;
	char *git_ref;
	char *canon; /* local: canonical path */
	bool dirty;
	struct progress prog;
};

/* The entry is held by test runs: say by whom (reference wording). */
static void entry_locked_err(const struct build_ctx *c, char **err)
{
	char *lf = kt_asprintf("%s/.locks/%s.lock", c->root, c->key);
	char *h = kt_lock_holders(lf);

	kt_set_err(err,
		   "cache entry \"%s\" is locked by active test runs (lockfile %s, holders: %s)",
		   c->key, lf, *h ? h : "unknown");
	free(h);
	free(lf);
}

static int configure(struct build_ctx *c, bool fresh, char **err)
{
	char *cfgp = kt_path_join(c->tree, ".config"), *cfg = NULL, *missing;
	char *mk_base[] = {"make", "allnoconfig", NULL};
	char *mk_old[] = {"make", "olddefconfig", NULL};
	uint64_t t0 = kt_now_ns();
	int r = 0;

	if (!fresh && kt_read_file(cfgp, &cfg, NULL, 0) == 0 &&
	    config_has_line(cfg, "CONFIG_SCHED_CLASS_EXT=y") && fragment_applied(cfg, false)) {
		kt_info("using the existing %s (fragment already applied)", cfgp);
	} else {
		bool created = fresh || !kt_exists(cfgp);

		if (created) {
			/* The fragment is the whole configuration (see ktstr.kconfig). */
			if ((r = run_stage(&c->prog, "make allnoconfig", c->tree, c->log, mk_base,
					   err)))
				goto out;
		}
		free(cfg);
		cfg = NULL;
		if (!created)
			kt_info("merging the ktstr fragment into the existing %s (machine-shape "
				"options such as the block layer, VT and HZ are left as they are)",
				cfgp);
		if ((r = append_fragment(c->tree, created, err)) ||
		    (r = run_stage(&c->prog, "make olddefconfig", c->tree, c->log, mk_old, err)))
			goto out;
		c->prog.stage_t0 = t0;
		progress_done(&c->prog, "kernel configured");
	}
	free(cfg);
	cfg = NULL;
	if ((r = kt_read_file(cfgp, &cfg, NULL, 0))) {
		kt_set_err(err, "cannot read %s: %s", cfgp, strerror(-r));
		goto out;
	}
	missing = config_missing(cfg);
	if (*missing) {
		kt_set_err(err,
			"critical config options are missing in %s: %s (is pahole/clang "
			"installed? see %s)",
			cfgp, missing, c->log);
		r = -EINVAL;
	}
	free(missing);
out:
	free(cfg);
	free(cfgp);
	return r;
}

/* ---- vmlinux stripping ------------------------------------------------------------ */

/* 0 when path is an ELF with non-empty .BTF and .symtab sections. */
static int elf_check_btf(const char *path, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -ENOENT;
	bool btf = false, symtab = false;
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (fd < 0) {
		kt_set_err(err, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx)) {
		kt_set_err(err, "%s is not an ELF file", path);
		r = -EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".BTF") && sh.sh_size > 0)
			btf = true;
		if (!strcmp(name, ".symtab") && sh.sh_size > 0)
			symtab = true;
	}
	if (btf && symtab)
		r = 0;
	else
		kt_set_err(err, "%s has no %s section", path, btf ? ".symtab" : ".BTF");
out:
	if (e)
		elf_end(e);
	close(fd);
	return r;
}

/* ---- helpers for sources ------------------------------------------------------------ */

int kt_tree_version(const char *tree, char **version)
{
	char *mk = kt_path_join(tree, "Makefile"), *text = NULL, *save = NULL, *l;
	char *v = NULL, *p = NULL, *s = NULL, *x = NULL;
	int r = kt_read_file(mk, &text, NULL, 0);

	free(mk);
	if (r)
		return r;
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char **dst = NULL;

		if (kt_startswith(l, "VERSION"))
			dst = &v;
		else if (kt_startswith(l, "PATCHLEVEL"))
			dst = &p;
		else if (kt_startswith(l, "SUBLEVEL"))
			dst = &s;
		else if (kt_startswith(l, "EXTRAVERSION"))
			dst = &x;
		if (dst && !*dst && strchr(l, '='))
			*dst = kt_trim(strchr(l, '=') + 1);
		if (v && p && s && x)
			break;
	}
	if (!v || !p || !*v || !*p) {
		free(text);
		return -EINVAL;
	}
	if (s && *s && strcmp(s, "0"))
		*version = kt_asprintf("%s.%s.%s%s", v, p, s, x ? x : "");
	else
		*version = kt_asprintf("%s.%s%s", v, p, x ? x : "");
	free(text);
	return 0;
}

static char *git_out(const char *dir, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {"git", "-C", (char *)dir, (char *)a1, (char *)a2, (char *)a3, NULL};
	char *out = NULL;

	if (kt_run_capture(argv, NULL, &out))
		return NULL;
	return out;
}

static int make_tmpdir(char **out, char **err)
{
	const char *t = kt_getenv("TMPDIR");
	char *tmpl = kt_asprintf("%s/ktstr-build-XXXXXX", t ? t : "/tmp");

	if (!mkdtemp(tmpl)) {
		kt_set_err(err, "cannot create a temporary directory %s: %s", tmpl, strerror(errno));
		free(tmpl);
		return -errno;
	}
	kt_cleanup_add_path(tmpl);
	*out = tmpl;
	return 0;
}

static void drop_tmpdir(struct build_ctx *c)
{
	if (!c->tmp)
		return;
	kt_rm_rf(c->tmp);
	kt_cleanup_del_path(c->tmp);
	free(c->tmp);
	c->tmp = NULL;
}

/* Extract a tarball into c->tmp and set c->tree to its single top directory. */
static int extract(struct build_ctx *c, const char *tarball, char **err)
{
	char *argv[] = {"tar", "-xf", (char *)tarball, "-C", c->tmp, NULL};
	DIR *d;
	struct dirent *de;
	int r;

	r = run_stage(&c->prog, "extracting source", c->tmp, c->log, argv, err);
	if (r)
		return r;
	d = opendir(c->tmp);
	while (d && (de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = kt_path_join(c->tmp, de->d_name);
		if (kt_is_dir(p) && !c->tree) {
			char *mk = kt_path_join(p, "Kconfig");

			if (kt_exists(mk))
				c->tree = kt_strdup(p);
			free(mk);
		}
		free(p);
	}
	if (d)
		closedir(d);
	if (!c->tree) {
		kt_set_err(err,
			"%s does not contain a kernel source tree (no top directory with a "
			"Kconfig)",
			tarball);
		return -EINVAL;
	}
	progress_done(&c->prog, "source extracted");
	return 0;
}

/* Remember a tarball's version by (path, size, mtime) so a cache hit needs no extraction. */
static char *index_path(const char *root, const char *canon)
{
	return kt_asprintf("%s/.source-index/%08x", root, kt_crc32(canon, strlen(canon)));
}

static char *index_lookup(const char *root, const char *canon, const struct stat *st)
{
	char *p = index_path(root, canon), *text = NULL, *v = NULL;
	char pathbuf[PATH_MAX + 1], ver[64];
	long long size, mt, mtn;

	if (kt_read_file(p, &text, NULL, 65536) == 0 &&
	    sscanf(text, "%lld %lld %lld %63s %4096[^\n]", &size, &mt, &mtn, ver, pathbuf) == 5 &&
	    size == (long long)st->st_size && mt == (long long)st->st_mtim.tv_sec &&
	    mtn == (long long)st->st_mtim.tv_nsec && !strcmp(pathbuf, canon) &&
	    kt_version_valid(ver))
		v = kt_strdup(ver);
	free(text);
	free(p);
	return v;
}

static void index_store(const char *root, const char *canon, const struct stat *st, const char *ver)
{
	char *p = index_path(root, canon), *dir = kt_path_join(root, ".source-index");
	char *text =
	    kt_asprintf("%lld %lld %lld %s %s\n", (long long)st->st_size,
			(long long)st->st_mtim.tv_sec, (long long)st->st_mtim.tv_nsec, ver, canon);

	kt_mkdir_p(dir, 0755);
	kt_write_file_atomic(p, text, strlen(text), 0644);
	free(text);
	free(dir);
	free(p);
}

/* ---- cache lookups ------------------------------------------------------------------ */

static bool cache_hit(struct build_ctx *c)
{
	struct kt_cache_entry e;
	bool hit;

	if (c->o->force || !c->key)
		return false;
	kt_cache_entry_load(c->root, c->key, &e);
	hit = !e.corrupt;
	if (hit && !c->o->quiet_hit) {
		kt_info("cached kernel found: %s", e.path);
		kt_info("use --force to rebuild");
	}
	kt_cache_entry_free(&e);
	return hit;
}

/* ---- store ------------------------------------------------------------------------- */

static int list_schedulers(const char *bindir, char ***names, size_t *n)
{
	DIR *d = opendir(bindir);
	struct dirent *de;

	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *p;

		if (!kt_startswith(de->d_name, "scx_"))
			continue;
		p = kt_path_join(bindir, de->d_name);
		if (kt_is_file(p) && access(p, X_OK) == 0) {
			*names = kt_realloc(*names, (*n + 1) * sizeof(char *));
			(*names)[(*n)++] = kt_strdup(de->d_name);
		}
		free(p);
	}
	closedir(d);
	/* stable order */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && strcmp((*names)[j - 1], (*names)[j]) > 0; j--) {
			char *t = (*names)[j];

			(*names)[j] = (*names)[j - 1];
			(*names)[j - 1] = t;
		}
	return 0;
}

static int store(struct build_ctx *c, char **err)
{
	char *stage = kt_asprintf("%s/.tmp-%s-%d", c->root, c->key, (int)getpid());
	char *entry = kt_path_join(c->root, c->key);
	char *img = kt_path_join(c->tree, kt_kernel_image_tree_path());
	char *vml = kt_path_join(c->tree, "vmlinux");
	char *cfgp = kt_path_join(c->tree, ".config");
	char *bindir = kt_path_join(c->tree, "tools/sched_ext/build/bin");
	char *p = NULL, *cfg = NULL, *json = NULL;
	struct kt_cache_meta m = {0};
	char ts[32], kc[16], ch[16];
	struct stat st;
	int r, lockfd = -1;

	kt_rm_rf(stage);
	if ((r = kt_mkdir_p(stage, 0755))) {
		kt_set_err(err, "cannot create %s: %s", stage, strerror(-r));
		goto out;
	}
	kt_cleanup_add_path(stage);
	progress_stage(&c->prog, "storing in the cache");
	p = kt_path_join(stage, kt_kernel_image_name());
	if ((r = kt_copy_file(img, p, 0644))) {
		kt_set_err(err, "cannot copy %s to %s: %s", img, p, strerror(-r));
		goto out;
	}
	free(p);
	p = kt_path_join(stage, "vmlinux");
	{
		char *argv[] = {"objcopy", "--strip-debug", vml, p, NULL};
		int status = 0;

		r = kt_run(argv, &(struct kt_run_opts){.log_path = c->log}, &status);
		if (r || status) {
			kt_set_err(err, "objcopy --strip-debug %s failed (log: %s)", vml, c->log);
			r = r ? r : -EIO;
			goto out;
		}
	}
	if ((r = elf_check_btf(p, err)))
		goto out;
	m.has_vmlinux = m.vmlinux_stripped = true;
	free(p);
	p = kt_path_join(stage, "config");
	if ((r = kt_read_file(cfgp, &cfg, NULL, 0)) ||
	    (r = kt_write_file_atomic(p, cfg, strlen(cfg), 0644))) {
		kt_set_err(err, "cannot copy %s: %s", cfgp, strerror(-r));
		goto out;
	}
	snprintf(ch, sizeof(ch), "%08x", kt_crc32(cfg, strlen(cfg)));
	list_schedulers(bindir, &m.schedulers, &m.n_schedulers);
	if (m.n_schedulers) {
		free(p);
		p = kt_path_join(stage, "sched");
		kt_mkdir_p(p, 0755);
		for (size_t i = 0; i < m.n_schedulers; i++) {
			char *s = kt_path_join(bindir, m.schedulers[i]);
			char *d = kt_path_join(p, m.schedulers[i]);

			r = kt_copy_file(s, d, 0755);
			free(s);
			free(d);
			if (r) {
				kt_set_err(err, "cannot copy scheduler %s: %s", m.schedulers[i],
					strerror(-r));
				goto out;
			}
		}
	}
	m.src = c->src;
	m.git_hash = c->git_hash ? kt_strdup(c->git_hash) : NULL;
	m.git_ref = c->git_ref ? kt_strdup(c->git_ref) : NULL;
	m.source_tree_path = c->src == KT_SRC_LOCAL && c->canon ? kt_strdup(c->canon) : NULL;
	m.arch = kt_strdup(kt_kernel_arch());
	m.image_name = kt_strdup(kt_kernel_image_name());
	kt_utc_timestamp(time(NULL), ts, sizeof(ts));
	m.built_at = kt_strdup(ts);
	m.version = c->src == KT_SRC_TARBALL && c->version ? kt_strdup(c->version) : NULL;
	m.config_hash = kt_strdup(ch);
	snprintf(kc, sizeof(kc), "%08x", kt_kconfig_crc());
	m.ktstr_kconfig_hash = kt_strdup(kc);
	if (c->src == KT_SRC_LOCAL && stat(vml, &st) == 0) {
		m.has_src_vmlinux = true;
		m.source_vmlinux_size = (uint64_t)st.st_size;
		m.source_vmlinux_mtime_secs = (int64_t)st.st_mtime;
	}
	json = kt_meta_dump(&m);
	free(p);
	p = kt_path_join(stage, "metadata.json");
	if ((r = kt_write_file_atomic(p, json, strlen(json), 0644))) {
		kt_set_err(err, "cannot write %s: %s", p, strerror(-r));
		goto out;
	}
	/* Publish: exclusive lock on the entry, then rename (or exchange). */
	lockfd = kt_cache_lock(c->root, c->key, true, 60000);
	if (lockfd < 0) {
		entry_locked_err(c, err);
		r = lockfd;
		goto out;
	}
	if (kt_exists(entry)) {
		if (renameat2(AT_FDCWD, stage, AT_FDCWD, entry, RENAME_EXCHANGE) < 0) {
			r = -errno;
			kt_set_err(err, "cannot replace %s: %s", entry, strerror(errno));
			goto out;
		}
		kt_rm_rf(stage); /* now the old entry */
	} else if (rename(stage, entry) < 0) {
		r = -errno;
		kt_set_err(err, "cannot rename %s to %s: %s", stage, entry, strerror(errno));
		goto out;
	}
	kt_cleanup_del_path(stage);
	progress_abort(&c->prog);
	kt_success("✓ Kernel cached: %s", c->key);
	{
		char *ip = kt_path_join(entry, kt_kernel_image_name());

		kt_info("image: %s", ip);
		free(ip);
	}
	if (!m.n_schedulers)
		kt_warn("no sched_ext schedulers were stored with %s", c->key);
	r = 0;
out:
	if (r) {
		progress_abort(&c->prog);
		kt_rm_rf(stage);
		kt_cleanup_del_path(stage);
	}
	if (lockfd >= 0)
		close(lockfd);
	kt_meta_free(&m);
	free(json);
	free(cfg);
	free(p);
	free(bindir);
	free(cfgp);
	free(vml);
	free(img);
	free(entry);
	free(stage);
	return r;
}

/* ---- the pipeline ---------------------------------------------------------------- */

/*
 * The BPF compiler for tools/sched_ext: the newest versioned clang on PATH
 * (clang-20 .. clang-15), else plain clang. Measured with 6.12: scx_flatcg
 * built by clang 14 fails BPF verification ("R1 has no valid kptr": no
 * btf_type_tag support), built by clang 16 it loads and attaches.
 */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs = kt_strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	bool found = false;

	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *full = kt_asprintf("%s/%s", d, name);

		found = access(full, X_OK) == 0;
		free(full);
	}
	free(dirs);
	return found;
}

void kt_sched_ext_clang(char *clang, size_t clen, char *strip, size_t slen)
{
	for (int v = 20; v >= 15; v--) {
		char name[32];

		snprintf(name, sizeof(name), "clang-%d", v);
		if (!on_path(name))
			continue;
		snprintf(clang, clen, "CLANG=clang-%d", v);
		snprintf(strip, slen, "LLVM_STRIP=llvm-strip-%d", v);
		return;
	}
	snprintf(clang, clen, "CLANG=clang");
	snprintf(strip, slen, "LLVM_STRIP=llvm-strip");
}


static int compile(struct build_ctx *c, char **err)
{
	char jobs[32];
	char *mk[] = {"make",	 jobs, "KCFLAGS=-Wno-error", (char *)kt_kernel_image_name(),
		      "vmlinux", NULL};
	char clang[64], strip[64];
	char *sx[] = {"make", jobs, "-C", "tools/sched_ext", clang, strip, NULL};
	char *bindir;
	int r;

	kt_sched_ext_clang(clang, sizeof(clang), strip, sizeof(strip));

	snprintf(jobs, sizeof(jobs), "-j%u", c->jobs);
	kt_info("building with %s (log: %s)", jobs, c->log);
	c->prog.objs = 0;
	if ((r = run_stage(&c->prog, "building kernel", c->tree, c->log, mk, err)))
		return r;
	progress_done(&c->prog, "kernel built");
	c->prog.objs = 0;
	r = run_stage(&c->prog, "building tools/sched_ext schedulers", c->tree, c->log, sx, err);
	if (r == -EINTR)
		return r;
	bindir = kt_path_join(c->tree, "tools/sched_ext/build/bin");
	if (r) {
		kt_warn("%s; the kernel is kept without schedulers", *err);
		free(*err);
		*err = NULL;
	} else {
		char **names;
		size_t n;

		list_schedulers(bindir, &names, &n);
		progress_done(&c->prog, "schedulers built");
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	free(bindir);
	/*
	 * A tree the user keeps gets compile_commands.json for clangd and
	 * friends (the kernel's own generator over the .cmd files). Not for
	 * extracted or cloned trees, which are removed after the build.
	 */
	if (c->src == KT_SRC_LOCAL && !c->tmp) {
		char *cc[] = {"make", "compile_commands.json", NULL};

		r = run_stage(&c->prog, "generating compile_commands.json", c->tree, c->log, cc,
			      err);
		if (r == -EINTR)
			return r;
		if (r) {
			kt_warn("%s; continuing without it", *err);
			free(*err);
			*err = NULL;
		} else {
			progress_done(&c->prog, "compile_commands.json generated");
		}
	}
	return 0;
}

static int open_log(struct build_ctx *c, const char *name)
{
	char *dir = kt_path_join(c->root, ".logs");
	int fd;

	kt_mkdir_p(dir, 0755);
	free(c->log);
	c->log = kt_asprintf("%s/%s.log", dir, name);
	free(dir);
	fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int key_lock(struct build_ctx *c, int *fd)
{
	char *name = kt_asprintf("build-%s", c->key);

	*fd = kt_cache_lock(c->root, name, true, 0);
	if (*fd == -EWOULDBLOCK) {
		kt_info("waiting for another build of %s to finish", c->key);
		*fd = kt_cache_lock(c->root, name, true, -1);
	}
	free(name);
	return *fd < 0 ? *fd : 0;
}

static int force_check(struct build_ctx *c, char **err)
{
	int fd;
	char *entry = kt_path_join(c->root, c->key);
	bool exists = kt_exists(entry);

	free(entry);
	if (!c->o->force || !exists)
		return 0;
	fd = kt_cache_lock(c->root, c->key, true, 0);
	if (fd < 0) {
		entry_locked_err(c, err);
		return -EBUSY;
	}
	close(fd);
	return 0;
}

static int build_fresh_tree(struct build_ctx *c, char **dir, char **err)
{
	int r;

	if (c->o->clean)
		kt_info("--clean: a %s build always starts from a fresh tree",
			kt_src_type_name(c->src));
	if ((r = configure(c, true, err)) || (r = compile(c, err)) || (r = store(c, err)))
		return r;
	*dir = kt_path_join(c->root, c->key);
	return 0;
}

/*
 * Once the key is known for a freshly extracted or cloned tree: take the
 * build lock, return 1 on a cache hit, otherwise check --force against test
 * locks and build + store.
 */
static int build_keyed_tree(struct build_ctx *c, char **dir, char **err)
{
	int r, lk;

	if ((r = key_lock(c, &lk)))
		return r;
	if (cache_hit(c)) {
		*dir = kt_path_join(c->root, c->key);
		r = 1;
	} else if (!(r = force_check(c, err))) {
		r = build_fresh_tree(c, dir, err);
	}
	close(lk);
	return r;
}

static int build_tarball(struct build_ctx *c, const char *tarball, bool downloaded, char **dir,
			 char **err)
{
	char *canon = NULL;
	struct stat st;
	int r;

	if (!downloaded) {
		canon = realpath(tarball, NULL);
		if (!canon || stat(canon, &st) < 0 || !S_ISREG(st.st_mode)) {
			kt_set_err(err, "--source %s: %s", tarball,
				canon ? "not a regular file" : strerror(errno));
			free(canon);
			return -ENOENT;
		}
		free(c->version);
		c->version = index_lookup(c->root, canon, &st);
		if (c->version) {
			c->key = kt_cache_key_tarball(c->version);
			if (cache_hit(c)) {
				*dir = kt_path_join(c->root, c->key);
				free(canon);
				return 1;
			}
		}
	}
	if (!c->key)
		open_log(c, "extract");
	else
		open_log(c, c->key);
	if ((r = make_tmpdir(&c->tmp, err)) || (r = extract(c, canon ? canon : tarball, err)))
		goto out;
	if (downloaded)
		unlink(tarball);
	if (!c->version) {
		if (kt_tree_version(c->tree, &c->version) || !kt_version_valid(c->version)) {
			kt_set_err(err, "cannot read a kernel version from %s/Makefile", c->tree);
			r = -EINVAL;
			goto out;
		}
		index_store(c->root, canon, &st, c->version);
		c->key = kt_cache_key_tarball(c->version);
		open_log(c, c->key);
	}
	kt_info("kernel %s, cache key %s", c->version, c->key);
	r = build_keyed_tree(c, dir, err);
out:
	drop_tmpdir(c);
	free(canon);
	return r;
}

static int build_version(struct build_ctx *c, char **dir, char **err)
{
	char *tarball = NULL;
	int r;

	if (kt_version_is_prefix(c->o->version)) {
		char *json = NULL;

		if ((r = kt_releases_fetch(&json, err)) ||
		    (r = kt_releases_resolve_prefix(json, c->o->version, &c->version, err))) {
			free(json);
			return r;
		}
		free(json);
		kt_info("%s resolves to %s", c->o->version, c->version);
	} else if (kt_version_valid(c->o->version)) {
		c->version = kt_strdup(c->o->version);
	} else {
		kt_set_err(err, "invalid kernel version \"%s\" (expected MAJ.MIN[.PATCH][-rcN])",
			c->o->version);
		return -EINVAL;
	}
	c->key = kt_cache_key_tarball(c->version);
	if (cache_hit(c)) {
		*dir = kt_path_join(c->root, c->key);
		return 1;
	}
	open_log(c, c->key);
	if ((r = make_tmpdir(&c->tmp, err)))
		return r;
	progress_stage(&c->prog, "downloading kernel");
	r = kt_kernel_download(c->version, c->tmp, &tarball, err);
	if (r) {
		progress_abort(&c->prog);
		drop_tmpdir(c);
		return r;
	}
	progress_done(&c->prog, "downloaded");
	/* build_tarball makes its own temp dir: keep the download in ours. */
	{
		char *keep = c->tmp;

		c->tmp = NULL;
		r = build_tarball(c, tarball, true, dir, err);
		kt_rm_rf(keep);
		kt_cleanup_del_path(keep);
		free(keep);
	}
	free(tarball);
	return r;
}

static int build_git(struct build_ctx *c, char **dir, char **err)
{
	char *argv_init[] = {"git", "init", "-q", NULL, NULL};
	char *argv_fetch[] = {
	    "git", "fetch", "-q", "--depth", "1", (char *)c->o->git_url, (char *)c->o->git_ref,
	    NULL};
	char *argv_co[] = {"git", "checkout", "-q", "FETCH_HEAD", NULL};
	char *head;
	int r;

	if ((r = make_tmpdir(&c->tmp, err)))
		return r;
	open_log(c, "git-clone");
	c->tree = kt_path_join(c->tmp, "linux");
	argv_init[3] = c->tree;
	if ((r = run_stage(&c->prog, "git init", c->tmp, c->log, argv_init, err)) ||
	    (r = run_stage(&c->prog, "cloning (shallow)", c->tree, c->log, argv_fetch, err)) ||
	    (r = run_stage(&c->prog, "git checkout", c->tree, c->log, argv_co, err)))
		goto out;
	head = git_out(c->tree, "rev-parse", "HEAD", NULL);
	if (!head || strlen(head) < 7) {
		kt_set_err(err, "cannot read HEAD of the clone of %s", c->o->git_url);
		free(head);
		r = -EIO;
		goto out;
	}
	progress_done(&c->prog, "cloned");
	c->git_hash = kt_strndup7(head);
	free(head);
	c->git_ref = kt_strdup(c->o->git_ref);
	c->key = kt_cache_key_git(c->o->git_ref, c->git_hash);
	if ((r = kt_cache_key_validate(c->key, err)))
		goto out;
	open_log(c, c->key);
	r = build_keyed_tree(c, dir, err);
out:
	drop_tmpdir(c);
	return r;
}

static int build_local(struct build_ctx *c, char **dir, char **err)
{
	char *mk, *kc, *top = NULL, *cfgp = NULL, *cfg = NULL, *status = NULL;
	char *argv_st[] = {"git",
			   "-C",
			   NULL,
			   "status",
			   "--porcelain",
			   "--untracked-files=no",
			   "--ignore-submodules",
			   NULL};
	char *argv_mrp[] = {"make", "mrproper", NULL};
	bool git = false;
	int r = 0, lk = -1, srclk = -1;

	c->canon = realpath(c->o->path, NULL);
	if (!c->canon || !kt_is_dir(c->canon)) {
		kt_set_err(err, "--source %s: %s", c->o->path,
			c->canon ? "not a directory" : strerror(errno));
		return -ENOENT;
	}
	mk = kt_path_join(c->canon, "Makefile");
	kc = kt_path_join(c->canon, "Kconfig");
	if (!kt_exists(mk) || !kt_exists(kc)) {
		kt_set_err(err, "--source %s: not a kernel source tree (no Makefile and Kconfig)",
			c->o->path);
		free(mk);
		free(kc);
		return -EINVAL;
	}
	free(mk);
	free(kc);
	c->tree = kt_strdup(c->canon);
	kt_tree_version(c->tree, &c->version);
	top = git_out(c->tree, "rev-parse", "--show-toplevel", NULL);
	if (top) {
		char *tc = realpath(top, NULL);

		git = tc && !strcmp(tc, c->canon);
		free(tc);
	}
	if (git) {
		char *head = git_out(c->tree, "rev-parse", "HEAD", NULL);

		argv_st[2] = c->tree;
		if (!head || strlen(head) < 7 || kt_run_capture(argv_st, NULL, &status)) {
			git = false;
		} else {
			c->git_hash = kt_strndup7(head);
			c->dirty = *status != 0;
		}
		free(head);
	}
	cfgp = kt_path_join(c->tree, ".config");
	if (git && !c->dirty) {
		bool has_cfg = !c->o->clean && kt_read_file(cfgp, &cfg, NULL, 0) == 0;

		c->key = kt_cache_key_local(c->git_hash, has_cfg,
					    has_cfg ? kt_crc32(cfg, strlen(cfg)) : 0);
		if (has_cfg && !c->o->force) {
			/*
			 * The .config our own earlier build left behind is the one
			 * stored with the plain key: that entry is a hit too.
			 */
			char *plain = kt_cache_key_local(c->git_hash, false, 0), ch[16];
			struct kt_cache_entry e;

			snprintf(ch, sizeof(ch), "%08x", kt_crc32(cfg, strlen(cfg)));
			kt_cache_entry_load(c->root, plain, &e);
			if (!e.corrupt && e.meta.config_hash && !strcmp(e.meta.config_hash, ch)) {
				free(c->key);
				c->key = plain;
				plain = NULL;
			}
			kt_cache_entry_free(&e);
			free(plain);
		}
		if (cache_hit(c)) {
			*dir = kt_path_join(c->root, c->key);
			r = 1;
			goto out;
		}
	}
	c->src = KT_SRC_LOCAL;
	{
		char *name = kt_asprintf("source-%08x", kt_crc32(c->canon, strlen(c->canon)));

		srclk = kt_cache_lock(c->root, name, true, 0);
		free(name);
		if (srclk < 0) {
			kt_set_err(err, "source tree %s is being built by another ktstr process",
				c->canon);
			r = -EBUSY;
			goto out;
		}
	}
	if (c->key) {
		if ((r = key_lock(c, &lk)))
			goto out;
		if ((r = force_check(c, err)))
			goto out;
		open_log(c, c->key);
	} else {
		char *ln = kt_asprintf("local-%08x", kt_crc32(c->canon, strlen(c->canon)));

		open_log(c, ln);
		free(ln);
	}
	if (c->o->clean &&
	    (r = run_stage(&c->prog, "make mrproper", c->tree, c->log, argv_mrp, err)))
		goto out;
	if ((r = configure(c, false, err)) || (r = compile(c, err)))
		goto out;
	if (!c->key) {
		char *img = kt_path_join(c->tree, kt_kernel_image_tree_path());

		kt_info("kernel built at %s", img);
		if (git)
			kt_info("skipping cache — working tree has uncommitted changes; commit or "
				"stash to enable caching");
		else
			kt_info("skipping cache — %s is not a git repository, so its contents "
				"cannot be identified",
				c->canon);
		free(img);
		*dir = kt_strdup(c->tree);
		r = 0;
		goto out;
	}
	/* re-check: the tree must still be the commit we keyed on */
	{
		char *head = git_out(c->tree, "rev-parse", "HEAD", NULL);
		char *st2 = NULL;
		bool same = head && !strncmp(head, c->git_hash, 7) &&
			    kt_run_capture(argv_st, NULL, &st2) == 0 && !*st2;

		free(head);
		free(st2);
		if (!same) {
			kt_info("source tree changed during build; skipping cache store");
			*dir = kt_strdup(c->tree);
			free(c->key);
			c->key = NULL;
			r = 0;
			goto out;
		}
	}
	if ((r = store(c, err)))
		goto out;
	*dir = kt_path_join(c->root, c->key);
out:
	if (lk >= 0)
		close(lk);
	if (srclk >= 0)
		close(srclk);
	free(top);
	free(cfgp);
	free(cfg);
	free(status);
	return r;
}

int kt_kernel_build(const struct kt_build_opts *o, char **dir, char **key, char **err)
{
	struct build_ctx c = {.o = o};
	int r;

	*dir = NULL;
	if (key)
		*key = NULL;
	if ((r = kt_cache_root(&c.root, err)))
		return r;
	if ((r = kt_cpu_cap_resolve(o->cpu_cap, 0, &c.jobs, err)))
		goto out;
	c.prog.tty = kt_isatty_stderr();
	c.prog.t0 = kt_now_ns();
	if ((r = kt_mkdir_p(c.root, 0755))) {
		kt_set_err(err, "cannot create the kernel cache %s: %s", c.root, strerror(-r));
		goto out;
	}
	switch (o->src) {
	case KT_BUILD_LOCAL:
		r = build_local(&c, dir, err);
		break;
	case KT_BUILD_TARBALL:
		c.src = KT_SRC_TARBALL;
		r = build_tarball(&c, o->path, false, dir, err);
		break;
	case KT_BUILD_VERSION:
		c.src = KT_SRC_TARBALL;
		r = build_version(&c, dir, err);
		break;
	case KT_BUILD_GIT:
		c.src = KT_SRC_GIT;
		r = build_git(&c, dir, err);
		break;
	}
	if (r == 1)
		r = 0; /* cache hit */
	else if (!r) {
		char d[32];

		fmt_dur(kt_now_ns() - c.prog.t0, d, sizeof(d));
		kt_info("done in %s", d);
	}
	if (!r && key && c.key && !kt_startswith(*dir, c.tree ? c.tree : "\x01"))
		*key = kt_strdup(c.key);
out:
	drop_tmpdir(&c);
	free(c.root);
	free(c.key);
	free(c.tree);
	free(c.log);
	free(c.version);
	free(c.git_hash);
	free(c.git_ref);
	free(c.canon);
	return r;
}
