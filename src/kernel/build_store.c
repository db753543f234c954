// SPDX-License-Identifier: GPL-2.0
/* `ktstr kernel build`: cache hits and storing a built kernel. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "util/util.h"

/* The entry is held by test runs: say by whom (reference wording). */
void kb_entry_locked_err(const struct build_ctx *c, char **err)
{
	char *lf = kt_asprintf("%s/.locks/%s.lock", c->root, c->key);
	char *h = kt_lock_holders(lf);

	kt_set_err(err,
		   "cache entry \"%s\" is locked by active test runs (lockfile %s, holders: %s)",
		   c->key, lf, *h ? h : "unknown");
	free(h);
	free(lf);
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

/* ---- cache lookups ------------------------------------------------------------------ */

bool kb_cache_hit(struct build_ctx *c)
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

int kb_list_schedulers(const char *bindir, char ***names, size_t *n)
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

int kb_store(struct build_ctx *c, char **err)
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
	kb_progress_stage(&c->prog, "storing in the cache");
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
	kb_list_schedulers(bindir, &m.schedulers, &m.n_schedulers);
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
		kb_entry_locked_err(c, err);
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
	kb_progress_abort(&c->prog);
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
		kb_progress_abort(&c->prog);
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
