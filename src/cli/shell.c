// SPDX-License-Identifier: GPL-2.0
/*
 * `ktstr shell`: boot a VM with the requested topology and either an
 * interactive busybox shell on the host terminal or one command (--exec)
 * whose output is streamed back and whose exit status becomes ours.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "guest/guest.h"
#include "kernel/kernel.h"
#include "util/opt.h"
#include "util/util.h"
#include "vm/initramfs.h"
#include "vm/vm.h"

#define EXEC_DEFAULT_TIMEOUT 600
#define STR_(x) #x
#define STR(x) STR_(x)

/* Find a bare name on PATH; NULL when not found. */
static char *path_lookup(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *r = NULL;

	if (!path)
		return NULL;
	copy = kt_strdup(path);
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = kt_path_join(*d ? d : ".", name);

		if (access(p, F_OK) == 0) {
			r = p;
			break;
		}
		free(p);
	}
	free(copy);
	return r;
}

static bool is_elf(const char *path)
{
	char m[4];
	FILE *f = fopen(path, "rb");
	bool r;

	if (!f)
		return false;
	r = fread(m, 1, 4, f) == 4 && !memcmp(m, "\177ELF", 4);
	fclose(f);
	return r;
}

static int add_include(struct kt_cpio *c, const char *arg, char **err)
{
	char *host = NULL, *tmp, *guest;
	const char *name;
	struct stat st;
	int r;

	if (!strchr(arg, '/') && access(arg, F_OK) != 0)
		host = path_lookup(arg);
	if (!host)
		host = kt_strdup(arg);
	if (stat(host, &st) < 0) {
		*err = kt_asprintf("include file %s: %s", arg, strerror(errno));
		free(host);
		return -ENOENT;
	}
	tmp = kt_strdup(host);
	name = basename(tmp);
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "/")) {
		*err = kt_asprintf("include file %s: cannot derive a name", arg);
		free(tmp);
		free(host);
		return -EINVAL;
	}
	guest = kt_asprintf("include-files/%s", name);
	if (S_ISDIR(st.st_mode)) {
		r = kt_cpio_add_tree(c, guest, host, err);
	} else if (S_ISREG(st.st_mode)) {
		if (is_elf(host)) {
			r = kt_cpio_add_elf(c, guest, host, err);
		} else {
			r = kt_cpio_add_file(c, guest, host, 0);
			if (r)
				*err = kt_asprintf("include file %s: %s", arg,
						   r == -EEXIST ? "a different file with the same "
								  "name was already included"
								: strerror(-r));
		}
	} else {
		*err = kt_asprintf("include file %s: not a regular file or directory", arg);
		r = -EINVAL;
	}
	if (r && !*err)
		*err = kt_asprintf("include file %s: %s", arg, strerror(-r));
	free(guest);
	free(tmp);
	free(host);
	return r;
}

struct shell_args {
	struct kt_vm_config cfg;
	const char *kernel_id, *exec_cmd;
	struct kt_optv includes;
	bool timeout_set;
};

static int set_topology(const struct kt_opt *o, const char *arg)
{
	struct shell_args *a = o->dst;
	char *err = NULL;

	if (kt_topo_spec_parse(arg, &a->cfg.topo, &err)) {
		kt_err("%s", err);
		free(err);
		return -1;
	}
	return 0;
}

static int set_memory(const struct kt_opt *o, const char *arg)
{
	struct shell_args *a = o->dst;
	uint64_t v;

	if (kt_parse_u64(arg, &v) || v > (1u << 20)) {
		kt_err("--memory-mb '%s': expected an integer between 0 and %u", arg, 1u << 20);
		return -1;
	}
	if (v < 128) {
		kt_err("--memory-mb %u: must be at least 128", (unsigned)v);
		return -1;
	}
	a->cfg.memory_mb = (unsigned)v;
	return 0;
}

static int set_accel(const struct kt_opt *o, const char *arg)
{
	struct shell_args *a = o->dst;

	if (kt_accel_parse(arg, &a->cfg.accel)) {
		kt_err("--accel '%s': expected auto, kvm or tcg", arg);
		return -1;
	}
	return 0;
}

static int set_timeout(const struct kt_opt *o, const char *arg)
{
	struct shell_args *a = o->dst;
	uint64_t v;

	if (kt_parse_u64(arg, &v) || v > 7 * 24 * 3600) {
		kt_err("--timeout '%s': expected an integer between 0 and %u", arg, 7 * 24 * 3600);
		return -1;
	}
	a->cfg.timeout_s = (unsigned)v;
	a->timeout_set = true;
	return 0;
}

/* The initramfs extras: --include-files and the --exec command. */
static struct kt_cpio *shell_cpio(struct shell_args *a)
{
	struct kt_cpio *c = kt_cpio_new();
	char *err = NULL;
	int r;

	for (size_t i = 0; i < a->includes.n; i++) {
		if (add_include(c, a->includes.v[i], &err)) {
			kt_err("%s", err);
			free(err);
			kt_cpio_free(c);
			return NULL;
		}
	}
	if (a->exec_cmd) {
		r = kt_cpio_add_data(c, KT_GUEST_EXEC_CMD_FILE, a->exec_cmd, strlen(a->exec_cmd),
				     0644);
		if (r) {
			kt_err("--exec: %s", strerror(-r));
			kt_cpio_free(c);
			return NULL;
		}
	}
	return c;
}

/* Our exit status from the VM's result. */
static int shell_status(const struct shell_args *a, struct kt_vm_result *res)
{
	char *why = kt_vm_describe_failure(res, &a->cfg);
	int rc;

	if (why) { /* it quotes the guest's last lines */
		char *safe = kt_term_safe(why, strlen(why));

		free(why);
		why = safe;
	}
	if (a->exec_cmd && res->have_exec_exit && !res->timed_out) {
		rc = res->exec_exit;
	} else if (a->exec_cmd) {
		kt_err("%s", why ? why : "guest powered off without reporting the command's exit status");
		rc = 1;
	} else {
		if (why)
			kt_err("%s", why);
		rc = why ? 1 : 0;
	}
	free(why);
	return rc;
}

static int shell_boot(struct shell_args *a)
{
	struct kt_vm_result res;
	struct kt_kernel k = {0};
	struct kt_cpio *c;
	char *err = NULL;
	int rc = 1;

	c = shell_cpio(a);
	if (!c)
		return 1;
	if (a->exec_cmd) {
		a->cfg.mode = "exec";
		if (!a->timeout_set)
			a->cfg.timeout_s = EXEC_DEFAULT_TIMEOUT;
	} else {
		a->cfg.mode = "shell";
		a->cfg.interactive = true;
	}
	if (kt_kernel_resolve(a->kernel_id, &k, &err)) {
		kt_err("%s", err);
		goto out;
	}
	a->cfg.kernel = k.image;
	a->cfg.vmlinux = k.vmlinux;
	a->cfg.initramfs = c;
	if (kt_vm_run(&a->cfg, &res, &err))
		kt_err("%s", err);
	else
		rc = shell_status(a, &res);
	kt_vm_result_free(&res);
out:
	free(err);
	kt_kernel_free(&k);
	kt_cpio_free(c);
	return rc;
}

int cmd_shell(int argc, char **argv)
{
	struct shell_args a = {0};
	const struct kt_opt opts[] = {
		KT_OPT("kernel", 0, "ID", "kernel to boot (path, version, cache key; default:\n"
				    "KTSTR_TEST_KERNEL, KTSTR_KERNEL, newest cached)",
		 kt_opt_str, &a.kernel_id),
		KT_OPT("topology", 0, "N,L,C,T",
		       "numa_nodes,llcs,cores,threads, or NnLlCcTt (default 1,1,1,1)", set_topology,
		       &a),
		KT_OPT("include-files", 'i', "P", "add file or directory P at /include-files/<name>\n"
					    "(repeatable; bare names are looked up on PATH;\n"
					    "ELF shared libraries are added automatically)",
		 kt_opt_list, &a.includes),
		KT_OPT("memory-mb", 0, "N", "guest RAM in MiB (>= 128; estimated when absent)",
		 set_memory, &a),
		KT_OPT("dmesg", 0, NULL, "kernel console to stderr (loglevel=7)", kt_opt_flag,
		 &a.cfg.dmesg),
		KT_OPT("exec", 0, "CMD", "run CMD with sh -c instead of a shell (no TTY)", kt_opt_str,
		 &a.exec_cmd),
		KT_OPT("accel", 0, "auto|kvm|tcg", "accelerator (default auto)", set_accel, &a),
		KT_OPT("no-kaslr", 0, NULL, "boot with nokaslr (and the faster PVH vmlinux entry)",
		 kt_opt_flag, &a.cfg.no_kaslr),
		KT_OPT("timeout", 0, "SECS", "kill the VM after SECS (default: " STR(EXEC_DEFAULT_TIMEOUT)
				       " with --exec,\nnone for an interactive shell)",
		 set_timeout, &a),
		KT_OPT_END,
	};
	const struct kt_cmdline cl = {
		"shell", "[options]",
		"Boot a VM with the given topology and open a busybox shell in it, or run\n"
		"one command with --exec and exit with its status.",
		opts,
		"In the interactive shell, `exit` powers the VM off; Ctrl-] kills it.\n"
		"Environment: KTSTR_VERBOSE=1 adds earlyprintk and loglevel=7; KTSTR_QEMU\n"
		"overrides the qemu-system-x86_64 binary.",
		0,
	};
	int argi, rc;

	kt_vm_config_init(&a.cfg);
	rc = kt_opt_parse(&cl, argc, argv, &argi);
	if (rc != KT_OPT_GO)
		return rc;
	if (!a.exec_cmd && !isatty(0)) {
		kt_err("stdin must be a terminal for interactive shell mode");
		rc = 1;
	} else {
		rc = shell_boot(&a);
	}
	kt_opt_release(opts);
	return rc;
}

KTSTR_COMMAND(shell, "shell", "boot a VM with a topology and open a shell or run a command",
	      cmd_shell, 90);
