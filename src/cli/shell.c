// SPDX-License-Identifier: GPL-2.0
/*
 * `ktstr shell`: boot a VM with the requested topology and either an
 * interactive busybox shell on the host terminal or one command (--exec)
 * whose output is streamed back and whose exit status becomes ours.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "guest/guest.h"
#include "kernel/kernel.h"
#include "util/util.h"
#include "vm/initramfs.h"
#include "vm/vm.h"

#define EXEC_DEFAULT_TIMEOUT 600

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ktstr shell [options]\n\n"
		"Boot a VM with the given topology and open a busybox shell in it, or run\n"
		"one command with --exec and exit with its status.\n\n"
		"Options:\n"
		"  --kernel ID            kernel to boot (path, version, cache key; default:\n"
		"                         KTSTR_TEST_KERNEL, KTSTR_KERNEL, newest cached)\n"
		"  --topology N,L,C,T     numa_nodes,llcs,cores,threads (default 1,1,1,1)\n"
		"  -i, --include-files P  add file or directory P at /include-files/<name>\n"
		"                         (repeatable; bare names are looked up on PATH;\n"
		"                         ELF shared libraries are added automatically)\n"
		"  --memory-mb N          guest RAM in MiB (>= 128; estimated when absent)\n"
		"  --dmesg                kernel console to stderr (loglevel=7)\n"
		"  --exec CMD             run CMD with sh -c instead of a shell (no TTY)\n"
		"  --accel auto|kvm|tcg   accelerator (default auto)\n"
		"  --timeout SECS         kill the VM after SECS (default: %d with --exec,\n"
		"                         none for an interactive shell)\n"
		"  -h, --help             show this help\n\n"
		"In the interactive shell, `exit` powers the VM off; Ctrl-] kills it.\n"
		"Environment: KTSTR_VERBOSE=1 adds earlyprintk and loglevel=7; KTSTR_QEMU\n"
		"overrides the qemu-system-x86_64 binary.\n",
		EXEC_DEFAULT_TIMEOUT);
}

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

static int parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
	uint64_t v;

	if (kt_parse_u64(s, &v) || v > max) {
		kt_err("%s '%s': expected an integer between 0 and %u", opt, s, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

int cmd_shell(int argc, char **argv)
{
	enum { O_KERNEL = 256, O_TOPO, O_MEM, O_DMESG, O_EXEC, O_ACCEL, O_TIMEOUT };
	static const struct option opts[] = {
	    {"kernel", required_argument, NULL, O_KERNEL},
	    {"topology", required_argument, NULL, O_TOPO},
	    {"include-files", required_argument, NULL, 'i'},
	    {"memory-mb", required_argument, NULL, O_MEM},
	    {"dmesg", no_argument, NULL, O_DMESG},
	    {"exec", required_argument, NULL, O_EXEC},
	    {"accel", required_argument, NULL, O_ACCEL},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *kernel_id = NULL, *exec_cmd = NULL;
	const char **includes = kt_calloc((size_t)argc + 1, sizeof(char *));
	size_t ninc = 0;
	struct kt_vm_config cfg;
	struct kt_vm_result res;
	struct kt_kernel k = {0};
	struct kt_cpio *c = NULL;
	bool timeout_set = false;
	char *err = NULL, *why;
	int o, rc = 1, r;

	kt_vm_config_init(&cfg);
	optind = 1;
	while ((o = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (o) {
		case O_KERNEL:
			kernel_id = optarg;
			break;
		case O_TOPO:
			if (kt_topo_parse(optarg, &cfg.topo, &err)) {
				kt_err("%s", err);
				free(err);
				free(includes);
				return 2;
			}
			break;
		case 'i':
			includes[ninc++] = optarg;
			break;
		case O_MEM:
			if (parse_uint("--memory-mb", optarg, 1u << 20, &cfg.memory_mb)) {
				free(includes);
				return 2;
			}
			if (cfg.memory_mb < 128) {
				kt_err("--memory-mb %u: must be at least 128", cfg.memory_mb);
				free(includes);
				return 2;
			}
			break;
		case O_DMESG:
			cfg.dmesg = true;
			break;
		case O_EXEC:
			exec_cmd = optarg;
			break;
		case O_ACCEL:
			if (kt_accel_parse(optarg, &cfg.accel)) {
				kt_err("--accel '%s': expected auto, kvm or tcg", optarg);
				free(includes);
				return 2;
			}
			break;
		case O_TIMEOUT:
			if (parse_uint("--timeout", optarg, 7 * 24 * 3600, &cfg.timeout_s)) {
				free(includes);
				return 2;
			}
			timeout_set = true;
			break;
		case 'h':
			usage(stdout);
			free(includes);
			return 0;
		default:
			usage(stderr);
			free(includes);
			return 2;
		}
	}
	if (optind < argc) {
		kt_err("unexpected argument '%s' (see `ktstr shell --help`)", argv[optind]);
		free(includes);
		return 2;
	}
	if (!exec_cmd && !isatty(0)) {
		kt_err("stdin must be a terminal for interactive shell mode");
		free(includes);
		return 1;
	}

	c = kt_cpio_new();
	for (size_t i = 0; i < ninc; i++) {
		if (add_include(c, includes[i], &err)) {
			kt_err("%s", err);
			goto out;
		}
	}
	if (exec_cmd) {
		r = kt_cpio_add_data(c, KT_GUEST_EXEC_CMD_FILE, exec_cmd, strlen(exec_cmd), 0644);
		if (r) {
			kt_err("--exec: %s", strerror(-r));
			goto out;
		}
		cfg.mode = "exec";
		if (!timeout_set)
			cfg.timeout_s = EXEC_DEFAULT_TIMEOUT;
	} else {
		cfg.mode = "shell";
		cfg.interactive = true;
	}

	if (kt_kernel_resolve(kernel_id, &k, &err)) {
		kt_err("%s", err);
		goto out;
	}
	cfg.kernel = k.image;
	cfg.vmlinux = k.vmlinux;
	cfg.initramfs = c;

	r = kt_vm_run(&cfg, &res, &err);
	if (r) {
		kt_err("%s", err);
		kt_vm_result_free(&res);
		goto out;
	}
	why = kt_vm_describe_failure(&res, &cfg);
	if (exec_cmd) {
		if (res.have_exec_exit && !res.timed_out) {
			rc = res.exec_exit;
		} else {
			kt_err("%s", why ? why
					 : "guest powered off without reporting the "
					   "command's exit status");
			rc = 1;
		}
	} else {
		if (why) {
			kt_err("%s", why);
			rc = 1;
		} else {
			rc = 0;
		}
	}
	free(why);
	kt_vm_result_free(&res);
out:
	free(err);
	kt_kernel_free(&k);
	if (c)
		kt_cpio_free(c);
	free(includes);
	return rc;
}

KTSTR_COMMAND(shell, "shell", "boot a VM with a topology and open a shell or run a command",
	      cmd_shell, 90);
