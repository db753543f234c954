/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM engine: boot a kernel with a given CPU topology and an initramfs
 * whose /init is the running ktstr executable, watch the guest through its
 * channels, enforce a timeout and report what happened.
 *
 * Channels (docs/design.md, decision 4):
 *  - COM1 (guest ttyS0): the kernel console. Kept in a log file, scanned for
 *    panics, copied to stderr with cfg.dmesg.
 *  - COM2 (guest ttyS1): guest init's stdout/stderr. The engine reads only
 *    the init's lifecycle lines (KTSTR_INIT_STARTED, KTSTR_EXIT=N,
 *    KTSTR_EXEC_EXIT=N, KTSTR_INIT_ERROR ...: vm/com2.h) and hands every
 *    other line up (cfg.on_com2_line). In interactive mode it is also the
 *    shell's terminal: after KTSTR_INIT_STARTED the engine relays it raw
 *    to/from the host terminal.
 *  - SHM ring: cfg.shm_size bytes at the top of guest RAM, reserved from the
 *    guest kernel (memmap=) and announced as KTSTR_SHM_BASE/KTSTR_SHM_SIZE on
 *    the kernel command line. Guest RAM is a shared memfd, so the host reads
 *    the ring while the VM runs and once more after it stopped, and hands
 *    each message up (cfg.on_shm) without interpreting it.
 *
 * Typical use:
 *	struct kt_vm_config cfg;
 *	struct kt_vm_result res;
 *	kt_vm_config_init(&cfg);
 *	cfg.kernel = "/path/bzImage";
 *	cfg.mode = "run";
 *	cfg.initramfs = kt_cpio_new();	   // add payload files; the engine adds
 *	kt_cpio_add_data(cfg.initramfs, ...);  // init, bin/ktstr, busybox
 *	if (kt_vm_run(&cfg, &res, &err)) { kt_err("%s", err); ... }
 *	... res.exit_code, res.timed_out, res.panicked ...
 *	kt_vm_result_free(&res);
 *
 * Everything read from the guest is bounded: lines are cut at
 * KT_VM_LINE_MAX, tails are fixed-size, the SHM ring is drained through a
 * bounds-checked parser.
 */
#ifndef KTSTR_VM_VM_H
#define KTSTR_VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topo/topo.h"

struct kt_cpio;

/* ---- acceleration ------------------------------------------------------------ */

enum kt_accel { KT_ACCEL_AUTO, KT_ACCEL_KVM, KT_ACCEL_TCG };

/* "auto" | "kvm" | "tcg"; -EINVAL otherwise. */
int kt_accel_parse(const char *s, enum kt_accel *out);
const char *kt_accel_name(enum kt_accel a);
/*
 * Decide the accelerator. KT_ACCEL_AUTO picks KVM only when /dev/kvm opens
 * and a speed probe (a counted guest loop under KVM_RUN in a child process,
 * bounded to well under a second) runs at hardware speed; otherwise TCG.
 * KT_ACCEL_KVM fails when /dev/kvm cannot be opened. *why (malloc'd) is the
 * reason, e.g. "/dev/kvm present but runs 1000x slow: probe ...". The
 * auto result is computed once per process.
 */
int kt_accel_resolve(enum kt_accel want, enum kt_accel *out, char **why, char **err);
/*
 * TCG threading of a guest (pure). Multi-threaded TCG (one host thread
 * per vCPU) for 2+ vCPUs: with one thread, all vCPUs run round-robin in
 * ~100 ms turns while guest time follows the host clock, so workers see
 * gaps and "stuck" CPUs that are the emulator's. Single-threaded when
 * the kernel has CONFIG_JUMP_LABEL on (static-key text patching at
 * sched_ext enable oopsed guests under MTTCG, 2 of 2 runs) or its config
 * is unknown. jump_label: 1 on, 0 off, < 0 unknown; config_src names
 * where it was read (may be NULL). Returns true for thread=multi; *why
 * (malloc'd) is a one-line reason for the accel message.
 */
bool kt_tcg_multi_decide(int vcpus, int jump_label, const char *config_src, char **why);

/* ---- configuration ----------------------------------------------------------- */

/*
 * A running guest, handed to the on_tick callback: direct access to guest
 * RAM (docs/design.md, decision 5: the host monitor reads guest kernel memory
 * through the shared RAM file) and to the SHM ring's control bytes.
 */
struct kt_vm_guest;

/* Guest RAM size in bytes. */
uint64_t kt_vm_guest_ram_size(const struct kt_vm_guest *g);
/*
 * Pointer to len bytes of guest RAM at guest-physical address gpa, NULL
 * when the range is not RAM or crosses a NUMA node's RAM. The guest writes
 * it concurrently: copy before use. Valid during the callback.
 */
const volatile void *kt_vm_guest_ptr(const struct kt_vm_guest *g, uint64_t gpa, size_t len);
/* Copy len bytes at gpa into buf; -EFAULT when the range is not RAM. */
int kt_vm_guest_read(const struct kt_vm_guest *g, uint64_t gpa, void *buf, size_t len);
/* Write len bytes at gpa (the guest sees them at once); -EFAULT when not RAM. */
int kt_vm_guest_write(struct kt_vm_guest *g, uint64_t gpa, const void *buf, size_t len);
/* Set / read an SHM control byte (offset 12..15 of the ring); -ENODEV without a ring. */
int kt_vm_guest_shm_ctrl_set(struct kt_vm_guest *g, unsigned off, uint8_t value);
int kt_vm_guest_shm_ctrl_get(const struct kt_vm_guest *g, unsigned off);
/* Process id of the machine (QEMU; its vCPU threads are "CPU n/TCG" or "CPU n/KVM"). */
int kt_vm_guest_pid(const struct kt_vm_guest *g);
/* Seconds since the machine started. */
double kt_vm_guest_elapsed(const struct kt_vm_guest *g);

struct kt_shm_msg_view {
	uint32_t type;	  /* fourcc as stored (e.g. 0x54455354 "TEST") */
	const void *data; /* payload, valid during the callback only; NULL when */
	uint32_t len;	  /* longer than cfg.shm_limit allows (then not read) */
	bool crc_ok;
};

struct kt_vm_config {
	/*
	 * Kernel to boot: a bzImage, or an uncompressed vmlinux with the PVH
	 * entry note. When vmlinux is also given and bootable through PVH
	 * (faster under TCG), it is used instead of kernel, unless KASLR is
	 * on and the kernel has CONFIG_RANDOMIZE_BASE (kt_vm_pick_image).
	 */
	const char *kernel;
	const char *vmlinux;
	bool no_kaslr; /* boot with "nokaslr" (default: KASLR on) */
	struct kt_topo_spec topo;	  /* default 1n1l1c1t; validated by kt_vm_run */
	unsigned memory_mb;		  /* 0 = estimate (kt_vm_memory_estimate) */
	enum kt_accel accel;		  /* default auto */
	bool accel_quiet;		  /* do not print the "ktstr: accel: ..." line */
	unsigned timeout_s;		  /* host-side limit on the whole run; 0 = none */
	const char *mode;		  /* KTSTR_MODE for the guest ("shell", "exec", "run") */
	const char *const *cmdline_extra; /* NULL-terminated words appended to the cmdline */
	/*
	 * Files for the guest. The engine adds /init (the running static
	 * executable), /bin/ktstr (-> /init), /bin/busybox with its applets
	 * and /.ktstr_init_ok, then finishes the archive. NULL = nothing
	 * extra. The engine does not free it.
	 */
	struct kt_cpio *initramfs;
	/*
	 * Interactive: the host terminal (stdin/stdout) is put in raw mode and
	 * relayed to COM2 once the guest reports KTSTR_INIT_STARTED. Needs
	 * stdin to be a terminal. Ctrl-] (KT_VM_ESCAPE) on the host kills
	 * the VM.
	 */
	bool interactive;
	bool dmesg;	 /* kernel console also to stderr, loglevel=7 */
	/*
	 * console.log keeps the first console_head and the last console_tail
	 * bytes, with a note on what was left out between (0: 8 MiB, 2 MiB).
	 */
	size_t console_head, console_tail;
	size_t shm_size; /* SHM ring size (multiple of 4096; 0 = none) */
	/* Called for each SHM message (live and after the VM stopped). */
	void (*on_shm)(void *ctx, const struct kt_shm_msg_view *msg);
	/*
	 * Optional: the longest SHM message of a type that is read out of
	 * guest memory; longer ones reach on_shm with data NULL.
	 */
	uint32_t (*shm_limit)(void *ctx, uint32_t type);
	/*
	 * Called for each COM2 line that is not an init lifecycle line,
	 * without the newline: len bytes (NUL-terminated, may contain NULs),
	 * cut when the guest sent more than KT_COM2_LINE_MAX. When NULL (and
	 * not interactive) such lines are written to stdout.
	 */
	void (*on_com2_line)(void *ctx, const char *line, size_t len, bool cut);
	/* Called for every COM1 (console) line. */
	void (*on_console_line)(void *ctx, const char *line);
	/*
	 * Called about every tick_ms (default 100) while the machine runs,
	 * with access to guest memory. A non-zero return stops the VM
	 * (killed; res.stopped_by_host set).
	 */
	int (*on_tick)(void *ctx, struct kt_vm_guest *g);
	unsigned tick_ms;
	void *ctx;
	/* Keep the run directory (console log, argv) after kt_vm_result_free. */
	bool keep_files;
};

void kt_vm_config_init(struct kt_vm_config *cfg);

/* ---- result ------------------------------------------------------------------- */

#define KT_VM_LINE_MAX 4096
#define KT_VM_ESCAPE 0x1d /* Ctrl-] */
#define KT_VM_TAIL_LINES 40

struct kt_vm_result {
	bool init_started;    /* KTSTR_INIT_STARTED seen on COM2 */
	bool timed_out;	      /* killed by the host-side timeout */
	bool panicked;	      /* "Kernel panic" seen on the console */
	bool interrupted;     /* stopped by SIGINT/SIGTERM or Ctrl-] */
	bool stopped_by_host; /* on_tick asked to stop */
	bool have_exit;	      /* KTSTR_EXIT=N (last one wins) */
	int exit_code;
	bool have_exec_exit; /* KTSTR_EXEC_EXIT=N */
	int exec_exit;
	int qemu_status;    /* exit status of the machine process (128+sig) */
	char *panic_line;   /* first panic line, or NULL */
	char *guest_error;  /* last "KTSTR_INIT_ERROR ..." line from guest init */
	char *console_log;  /* path of the COM1 log (removed by result_free unless keep_files) */
	char *console_tail; /* last KT_VM_TAIL_LINES console lines */
	char *com2_tail;    /* last KT_VM_TAIL_LINES COM2 lines */
	char *qemu_stderr;  /* what the machine process printed (bounded) */
	unsigned shm_messages;	     /* SHM messages delivered */
	unsigned shm_bad;	     /* SHM messages with a bad CRC */
	uint64_t shm_drops;	     /* guest-reported drops */
	double wall_s;		     /* VM start to stop */
	double init_s;		     /* VM start to KTSTR_INIT_STARTED (0 when not seen) */
	enum kt_accel accel;	     /* the accelerator used */
	bool pvh;		     /* booted the vmlinux through PVH (else the bzImage) */
	unsigned memory_mb;	     /* guest RAM used */
	char *run_dir;		     /* temp directory of this run (console.log, qemu.argv) */
	bool keep_files;	     /* copied from the config: result_free keeps run_dir */
};

/*
 * Boot and run the VM until the guest powers off, the timeout passes, the
 * machine dies or a termination signal arrives. Returns 0 when the VM ran
 * (inspect *res for the outcome), or a negative errno with *err set when it
 * could not be started (bad kernel, impossible memory, missing QEMU ...).
 * *res must be freed with kt_vm_result_free in both cases.
 *
 * Several VMs may run at once from different threads (non-interactive
 * ones: the terminal belongs to one run). Each run has its own directory
 * ($TMPDIR or /tmp, ktstr-vm.XXXXXX), removed on exit and on SIGINT/SIGTERM
 * through kt_cleanup; the machine process is killed with us
 * (PR_SET_PDEATHSIG, which follows the calling thread: kt_vm_run blocks in
 * that thread until the machine is gone) and by kt_cleanup.
 *
 * Kernel: see kt_vm_pick_image. The machine is always q35: microvm boots
 * faster but has no SRAT, so NUMA topologies would be lost.
 */
int kt_vm_run(const struct kt_vm_config *cfg, struct kt_vm_result *res, char **err);
void kt_vm_result_free(struct kt_vm_result *res);
/*
 * One-line summary of an abnormal end ("guest timed out after 20 s (init
 * started: yes); last console lines: ..."), malloc'd; NULL for a clean
 * power-off.
 */
char *kt_vm_describe_failure(const struct kt_vm_result *res, const struct kt_vm_config *cfg);

/* ---- pure helpers (exposed for the test runner and unit tests) ------------ */

/*
 * Guest RAM for a run: max(cpus*64, 256) MiB plus room for the initramfs
 * (twice its uncompressed size: archive copy + unpacked files, plus the
 * compressed image) and the SHM ring. Sizes in bytes.
 */
unsigned kt_vm_memory_estimate(const struct kt_topo_spec *t, size_t cpio_len, size_t initrd_len,
			       size_t shm_size);
/*
 * Check an explicit memory_mb against the same needs; 0 when it fits,
 * else -EINVAL with *err such as "--memory-mb 100: must be at least 128".
 */
int kt_vm_memory_check(unsigned memory_mb, size_t cpio_len, size_t initrd_len, size_t shm_size,
		       char **err);

/*
 * Where the SHM ring goes in guest RAM: QEMU loads the initrd at the top of
 * the RAM below 4 GiB (under the firmware's ACPI area) and the firmware
 * copies it there at boot, so the ring sits below that, 2 MiB aligned,
 * inside one NUMA node's RAM and above the kernel image. *off is the
 * offset into guest RAM (equal to the guest-physical address there),
 * *node and *node_off the node whose RAM holds it and the offset into it.
 * -ENOSPC when the RAM is too small.
 */
int kt_vm_shm_offset(unsigned memory_mb, int nodes, size_t initrd_len, size_t shm_size,
		     uint64_t *off, int *node, uint64_t *node_off);

/* Guest-physical address of byte offset off of guest RAM (q35 layout). */
uint64_t kt_vm_ram_gpa(uint64_t ram_size, uint64_t off);

/* Inputs of the pure builders below. */
struct kt_vm_plan {
	const char *qemu;   /* "qemu-system-x86_64" or a path */
	const char *kernel; /* image actually booted */
	const char *initrd; /* compressed initramfs path */
	const struct kt_topo_spec *topo;
	unsigned memory_mb;
	enum kt_accel accel; /* KVM or TCG (resolved) */
	bool tcg_multi;      /* TCG: thread=multi (kt_tcg_multi_decide) */
	bool no_kaslr;       /* "nokaslr" on the command line */
	const char *mode;
	size_t shm_size;
	uint64_t shm_offset;	      /* from kt_vm_shm_offset */
	bool verbose;		      /* KTSTR_VERBOSE=1: earlyprintk, loglevel=7 */
	bool dmesg;		      /* loglevel=7 */
	const char *term, *colorterm; /* forwarded terminal (NULL = none) */
	int cols, rows;		      /* 0 = unknown */
	const char *const *cmdline_extra;
	/* fds inherited by the machine process */
	int com1_fd, com2_fd;
	const int *mem_fds; /* one per NUMA node */
};

/* Kernel command line for plan (malloc'd). */
char *kt_vm_build_cmdline(const struct kt_vm_plan *p);
/*
 * argv for the machine process (NULL-terminated, malloc'd strings in a
 * malloc'd array; free with kt_vm_argv_free). cmdline: from
 * kt_vm_build_cmdline.
 */
char **kt_vm_build_argv(const struct kt_vm_plan *p, const char *cmdline);
void kt_vm_argv_free(char **argv);

/*
 * The image to boot. KASLR is done by the bzImage's decompressor, so with
 * kaslr on the bzImage (kernel) boots unless the kernel is known to have
 * no CONFIG_RANDOMIZE_BASE (randomize_base == 0; -ENOENT = unknown);
 * otherwise a PVH-capable vmlinux (vmlinux_pvh, NULL when there is none)
 * is preferred because it skips the decompressor (faster under TCG,
 * docs/design.md decision 2).
 */
const char *kt_vm_pick_image(const char *kernel, const char *vmlinux_pvh, bool kaslr,
			     int randomize_base);
/* True when path is an ELF vmlinux with the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY). */
bool kt_vm_image_has_pvh(const char *path);
/*
 * Check that path looks like a bootable x86 kernel (bzImage "HdrS" header
 * or an ELF with the PVH note); -EINVAL with *err naming the file otherwise.
 */
int kt_vm_check_image(const char *path, char **err);

#endif
