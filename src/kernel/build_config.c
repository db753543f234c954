// SPDX-License-Identifier: GPL-2.0
/* `ktstr kernel build`: the ktstr kconfig fragment and configuring a tree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "util/util.h"

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
    "CONFIG_RANDOMIZE_BASE",
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

int kb_configure(struct build_ctx *c, bool fresh, char **err)
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
			if ((r = kb_run_stage(&c->prog, "make allnoconfig", c->tree, c->log, mk_base,
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
		    (r = kb_run_stage(&c->prog, "make olddefconfig", c->tree, c->log, mk_old, err)))
			goto out;
		c->prog.stage_t0 = t0;
		kb_progress_done(&c->prog, "kernel configured");
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
