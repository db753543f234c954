// SPDX-License-Identifier: GPL-2.0
/*
 * Engine-level VM test (built and run by test_vm_engine.sh): one static
 * binary in both roles, as test binaries are. On the host it boots itself
 * with kt_vm_run; in the guest (PID 1) it runs the guest init, whose mode
 * "engine-test" writes SHM messages, COM2 output and run-protocol messages
 * in their COM2 form (a result, a scheduler log), then returns an exit
 * code. The host checks what arrived through each channel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest.h"
#include "guest/shm.h"
#include "kernel/kernel.h"
#include "proto/proto.h"
#include "util/util.h"
#include "vm/initramfs.h"
#include "vm/shm.h"
#include "vm/vm.h"

#define NMSG 200
/* The engine does not interpret SHM message types: this one is the test's own. */
#define MSG_ENGINE_TEST KT_FOURCC('E', 'N', 'G', 'T')

static void print_msg(enum kt_msg_kind kind, const char *text)
{
	size_t n;
	char *lines = kt_proto_com2_encode(kind, text, strlen(text), &n);

	fwrite(lines, 1, n, stdout);
	free(lines);
}

/* ~150 KiB on the kernel console: more than the host's console.log keeps. */
static void flood_console(void)
{
	FILE *f = fopen("/dev/ttyS0", "w");

	if (!f)
		return;
	for (int i = 0; i < 2000; i++)
		fprintf(f, "ktstr console flood %04d ..................................................\n",
			i);
	fprintf(f, "ktstr console flood done\n");
	fclose(f);
}

static int guest_mode(const struct kt_guest_ctx *ctx)
{
	struct kt_shm_guest g;
	char *err = NULL, buf[64];

	if (kt_shm_guest_open(&g, &err)) {
		printf("engine-test: shm open failed: %s\n", err);
		return 3;
	}
	for (int i = 0; i < NMSG; i++) {
		int n = snprintf(buf, sizeof(buf), "message %d", i);

		if (kt_shm_guest_write(&g, MSG_ENGINE_TEST, buf, (uint32_t)n)) {
			printf("engine-test: shm write %d failed\n", i);
			return 4;
		}
		if (i % 50 == 0)
			usleep(150 * 1000); /* let the host drain live */
	}
	/* control bytes: ask the host, wait for its answer */
	kt_shm_guest_ctrl_set(&g, KT_PROTO_CTRL_TO_HOST, KT_PROTO_SIG_PROBES_READY);
	for (int i = 0; i < 600; i++) {
		if (kt_shm_guest_ctrl_get(&g, KT_PROTO_CTRL_TO_GUEST) ==
		    KT_PROTO_SIG_MAP_WRITES_DONE) {
			printf("engine-test: host answered\n");
			break;
		}
		usleep(50 * 1000);
	}
	kt_shm_guest_close(&g);
	flood_console();
	printf("engine-test: topo=%s\n", getenv("KTSTR_TOPO") ? getenv("KTSTR_TOPO") : "?");
	print_msg(KT_MSG_SCHED_LOG, "sched says hi\n");
	print_msg(KT_MSG_TEST_RESULT, "{\"passed\": true}");
	fflush(stdout);
	(void)ctx;
	return 42;
}
KTSTR_GUEST_MODE(engine_test, "engine-test", guest_mode, 0);

struct seen {
	int msgs, bad, in_order;
	int lines_topo, answered, ticks, mem_ok, mem_bad;
	struct kt_proto_rx *rx;
	char *result, *sched_log;
	int sched_died;
};

static void on_msg(void *ctx, enum kt_msg_kind kind, const void *data, uint32_t len)
{
	struct seen *s = ctx;
	char **dst = kind == KT_MSG_TEST_RESULT ? &s->result
		     : kind == KT_MSG_SCHED_LOG ? &s->sched_log
						: NULL;

	s->sched_died += kind == KT_MSG_SCHED_EXIT;
	if (!dst)
		return;
	free(*dst);
	*dst = kt_malloc(len + 1);
	memcpy(*dst, data, len);
	(*dst)[len] = 0;
}

static int on_tick(void *ctx, struct kt_vm_guest *g)
{
	struct seen *s = ctx;
	uint64_t ram = kt_vm_guest_ram_size(g);
	uint64_t boundary = (ram >> 20) / 2 << 20; /* node 0 has floor(MiB / 2) */
	char buf[16];

	s->ticks++;
	if (kt_vm_guest_shm_ctrl_get(g, KT_PROTO_CTRL_TO_HOST) == KT_PROTO_SIG_PROBES_READY &&
	    kt_vm_guest_shm_ctrl_get(g, KT_PROTO_CTRL_TO_GUEST) != KT_PROTO_SIG_MAP_WRITES_DONE)
		kt_vm_guest_shm_ctrl_set(g, KT_PROTO_CTRL_TO_GUEST, KT_PROTO_SIG_MAP_WRITES_DONE);
	/* RAM of both nodes is reachable; outside RAM and node-crossing ranges are not */
	if (kt_vm_guest_read(g, 0x1000, buf, sizeof(buf)) == 0 &&
	    kt_vm_guest_read(g, ram - 16, buf, sizeof(buf)) == 0 &&
	    kt_vm_guest_read(g, boundary - 8, buf, sizeof(buf)) == -EFAULT &&
	    kt_vm_guest_read(g, boundary, buf, sizeof(buf)) == 0 &&
	    kt_vm_guest_read(g, ram, buf, 1) == -EFAULT && !kt_vm_guest_ptr(g, ~0ull - 4, 8))
		s->mem_ok++;
	else
		s->mem_bad++;
	return 0;
}

static void on_shm(void *ctx, const struct kt_shm_msg_view *m)
{
	struct seen *s = ctx;
	char want[64];

	if (!m->crc_ok || m->type != MSG_ENGINE_TEST) {
		s->bad++;
		return;
	}
	snprintf(want, sizeof(want), "message %d", s->msgs);
	if (m->len == strlen(want) && !memcmp(m->data, want, m->len))
		s->in_order++;
	s->msgs++;
}

static void on_line(void *ctx, const char *line, size_t len, bool cut)
{
	struct seen *s = ctx;

	if (kt_proto_rx_line(s->rx, line, len, cut))
		return;
	if (!strcmp(line, "engine-test: topo=2n2l1c1t"))
		s->lines_topo++;
	else if (!strcmp(line, "engine-test: host answered"))
		s->answered++;
	else
		fprintf(stderr, "guest: %s\n", line);
}

int main(int argc, char **argv)
{
	struct kt_vm_config cfg;
	struct kt_vm_result res;
	struct kt_kernel k = {0};
	struct seen s = {0};
	char *err = NULL, *why;
	int fails = 0;

	if (getpid() == 1)
		return ktstr_guest_main(argc, argv);
	kt_cleanup_install();
	if (kt_kernel_resolve(NULL, &k, &err)) {
		fprintf(stderr, "FAIL: %s\n", err);
		return 1;
	}
	kt_vm_config_init(&cfg);
	cfg.kernel = k.image;
	cfg.vmlinux = k.vmlinux;
	cfg.topo = (struct kt_topo_spec){2, 2, 1, 1};
	cfg.mode = "engine-test";
	cfg.timeout_s = 240;
	cfg.shm_size = 1 << 20;
	cfg.on_shm = on_shm;
	cfg.on_com2_line = on_line;
	cfg.on_tick = on_tick;
	cfg.tick_ms = 50;
	cfg.ctx = &s;
	cfg.keep_files = getenv("VMQ_KEEP") != NULL;
	cfg.console_head = 64 << 10;
	cfg.console_tail = 16 << 10;
	s.rx = kt_proto_rx_new(on_msg, &s);
	if (kt_vm_run(&cfg, &res, &err)) {
		fprintf(stderr, "FAIL: kt_vm_run: %s\n", err);
		return 1;
	}
	why = kt_vm_describe_failure(&res, &cfg);
	if (why) {
		fprintf(stderr, "FAIL: %s\n", why);
		fails++;
	}
#define EXPECT(c, ...)                                         \
	do {                                                   \
		if (!(c)) {                                    \
			fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fprintf(stderr, "\n");                 \
			fails++;                               \
		}                                              \
	} while (0)
	EXPECT(res.init_started, "init did not start");
	EXPECT(res.have_exit && res.exit_code == 42, "exit code %d (have %d), want 42",
	       res.exit_code, res.have_exit);
	EXPECT(s.msgs == NMSG, "%d SHM messages, want %d", s.msgs, NMSG);
	EXPECT(s.in_order == NMSG, "%d SHM messages in order", s.in_order);
	EXPECT(s.bad == 0 && res.shm_bad == 0, "%d bad SHM messages", s.bad);
	EXPECT(res.shm_messages == NMSG, "result counts %u SHM messages", res.shm_messages);
	EXPECT(s.lines_topo == 1, "COM2 line callback saw the topology line %d times",
	       s.lines_topo);
	kt_proto_rx_finish(s.rx);
	EXPECT(!kt_proto_rx_error(s.rx), "protocol: %s", kt_proto_rx_error(s.rx));
	EXPECT(s.result && strstr(s.result, "\"passed\": true"), "result missing: %s",
	       s.result ? s.result : "(null)");
	EXPECT(s.sched_log && strstr(s.sched_log, "sched says hi"), "scheduler log missing");
	EXPECT(!s.sched_died && !res.panicked, "unexpected scheduler death or panic");
	EXPECT(s.answered == 1, "the guest did not see the host's control byte");
	EXPECT(s.ticks > 10 && s.mem_ok == s.ticks && !s.mem_bad,
	       "guest memory access: %d ticks, %d ok, %d bad", s.ticks, s.mem_ok, s.mem_bad);
	EXPECT(res.memory_mb >= 256, "memory %u MiB", res.memory_mb);
	{
		char *log = NULL;
		size_t len = 0;

		kt_read_file(res.console_log, &log, &len, 64 << 20);
		EXPECT(log && len <= (80 << 10) + 200, "console.log is %zu bytes (limit 80 KiB)",
		       len);
		EXPECT(log && strstr(log, "[ktstr: console.log truncated: "),
		       "console.log does not say it was truncated");
		EXPECT(log && len > (16 << 10) &&
			   memmem(log + len - (16 << 10), 16 << 10, "ktstr console flood done", 24),
		       "console.log lost its tail");
		free(log);
	}
	if (fails && res.keep_files)
		fprintf(stderr, "run dir kept: %s\n", res.run_dir);
	if (fails)
		fprintf(stderr, "console tail:\n%s\nCOM2 tail:\n%s\n", res.console_tail,
			res.com2_tail);
	kt_vm_result_free(&res);
	kt_kernel_free(&k);
	kt_proto_rx_free(s.rx);
	free(s.result);
	free(s.sched_log);
	free(why);
	if (!fails)
		printf("ok: engine: SHM ring (%d messages, 2 NUMA nodes), control bytes, guest "
		       "memory, COM2 lines, protocol messages over COM2, bounded console log, exit code\n",
		       NMSG);
	return fails ? 1 : 0;
}
