// SPDX-License-Identifier: GPL-2.0
/* VM engine pure logic: topology, memory sizing, cmdline and QEMU argv. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest.h"
#include "unit.h"
#include "util/util.h"
#include "vm/conlog.h"
#include "vm/vm.h"

UNIT_TEST(vm_accel_parse)
{
	enum kt_accel a;

	CHECK_INT_EQ(kt_accel_parse("auto", &a), 0);
	CHECK_INT_EQ(a, KT_ACCEL_AUTO);
	CHECK_INT_EQ(kt_accel_parse("kvm", &a), 0);
	CHECK_INT_EQ(a, KT_ACCEL_KVM);
	CHECK_INT_EQ(kt_accel_parse("tcg", &a), 0);
	CHECK_INT_EQ(a, KT_ACCEL_TCG);
	CHECK_INT_EQ(kt_accel_parse("hvf", &a), -EINVAL);
	CHECK_STR_EQ(kt_accel_name(KT_ACCEL_TCG), "tcg");
}

UNIT_TEST(vm_memory_estimate)
{
	struct kt_topo_spec t1 = {1, 1, 1, 1}, t16 = {2, 4, 2, 2};
	char *err = NULL;

	/* floor 256 MiB, plus 2x uncompressed + compressed + shm, each rounded up */
	CHECK_INT_EQ(kt_vm_memory_estimate(&t1, 0, 0, 0), 256);
	CHECK_INT_EQ(kt_vm_memory_estimate(&t1, 5 << 20, 2 << 20, 0), 256 + 10 + 2);
	CHECK_INT_EQ(kt_vm_memory_estimate(&t1, (5 << 20) + 1, 1, 16 << 20), 256 + 12 + 1 + 16);
	CHECK_INT_EQ(kt_vm_memory_estimate(&t16, 0, 0, 0), 16 * 64);

	CHECK_INT_EQ(kt_vm_memory_check(127, 0, 0, 0, &err), -EINVAL);
	CHECK_STR_EQ(err, "--memory-mb 127: must be at least 128");
	free(err);
	err = NULL;
	CHECK_INT_EQ(kt_vm_memory_check(128, 0, 0, 0, &err), 0);
	CHECK_INT_EQ(kt_vm_memory_check(128, 100 << 20, 50 << 20, 0, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "too small for this initramfs");
	CHECK_STR_CONTAINS(err, "need at least 346");
	free(err);
}

UNIT_TEST(vm_ram_gpa)
{
	/* all below 4 GiB up to 0xb0000000 */
	CHECK(kt_vm_ram_gpa(512ull << 20, 0) == 0);
	CHECK(kt_vm_ram_gpa(512ull << 20, (512ull << 20) - 4096) == (512ull << 20) - 4096);
	CHECK(kt_vm_ram_gpa(0xa0000000ull, 0x9f000000ull) == 0x9f000000ull);
	/* >= 0xb0000000: 2 GiB low, the rest from 4 GiB */
	CHECK(kt_vm_ram_gpa(4ull << 30, 0x7fffffffull) == 0x7fffffffull);
	CHECK(kt_vm_ram_gpa(4ull << 30, 0x80000000ull) == 0x100000000ull);
	CHECK(kt_vm_ram_gpa(4ull << 30, (4ull << 30) - 4096) == (6ull << 30) - 4096);
}

static struct kt_vm_plan plan(const struct kt_topo_spec *t, int *fds)
{
	struct kt_vm_plan p = {0};

	p.qemu = "qemu-system-x86_64";
	p.kernel = "/k/bzImage";
	p.initrd = "/c/init.cpio.zst";
	p.topo = t;
	p.memory_mb = 1024;
	p.accel = KT_ACCEL_TCG;
	p.mode = "shell";
	p.com1_fd = 5;
	p.com2_fd = 6;
	p.mem_fds = fds;
	return p;
}

static char *join(char **argv)
{
	struct sbuf sb = SBUF_INIT;

	for (char **a = argv; *a; a++)
		sb_addf(&sb, "%s%s", a == argv ? "" : " ", *a);
	return sb_steal(&sb);
}

UNIT_TEST(vm_cmdline)
{
	struct kt_topo_spec t = {2, 4, 2, 2};
	int fds[2] = {7, 8};
	struct kt_vm_plan p = plan(&t, fds);
	const char *extra[] = {"foo=bar", "", "baz", NULL};
	char *c;

	p.cmdline_extra = extra;
	p.term = "xterm-256color";
	p.colorterm = "truecolor";
	p.cols = 120;
	p.rows = 40;
	c = kt_vm_build_cmdline(&p);
	CHECK_STR_CONTAINS(c, "console=ttyS0 ");
	CHECK_STR_CONTAINS(c, " panic=-1 ");
	CHECK(!strstr(c, "nokaslr")); /* KASLR on by default */
	CHECK_STR_CONTAINS(c, " iomem=relaxed ");
	CHECK_STR_CONTAINS(c, " rdinit=/init");
	CHECK_STR_CONTAINS(c, " loglevel=4");
	CHECK_STR_CONTAINS(c, " KTSTR_MODE=shell KTSTR_TOPO=2n4l2c2t KTSTR_ACCEL=tcg ");
	CHECK_STR_CONTAINS(c, " KTSTR_TERM=xterm-256color KTSTR_COLORTERM=truecolor");
	CHECK_STR_CONTAINS(c, " KTSTR_COLS=120 KTSTR_ROWS=40");
	CHECK(kt_endswith(c, " foo=bar baz"));
	CHECK(!strstr(c, "KTSTR_SHM_BASE"));
	CHECK(!strstr(c, "earlyprintk"));
	free(c);

	p.verbose = true;
	p.shm_size = 16 << 20;
	p.shm_offset = 0x3f000000;
	p.term = "bad term";
	p.cols = 0;
	c = kt_vm_build_cmdline(&p);
	CHECK_STR_CONTAINS(c, " earlyprintk=serial,ttyS0 loglevel=7");
	/* ring at the top of 1 GiB of RAM */
	CHECK_STR_CONTAINS(c, " memmap=0x1000000$0x3f000000 KTSTR_SHM_BASE=0x3f000000 "
			      "KTSTR_SHM_SIZE=0x1000000");
	CHECK(!strstr(c, "KTSTR_TERM"));
	CHECK(!strstr(c, "KTSTR_COLS"));
	free(c);

	p.no_kaslr = true; /* .kaslr = false, shell --no-kaslr */
	c = kt_vm_build_cmdline(&p);
	CHECK_STR_CONTAINS(c, " rdinit=/init nokaslr ");
	free(c);
	p.no_kaslr = false;

	p.verbose = false;
	p.dmesg = true;
	p.accel = KT_ACCEL_KVM;
	c = kt_vm_build_cmdline(&p);
	CHECK_STR_CONTAINS(c, " loglevel=7");
	CHECK_STR_CONTAINS(c, " KTSTR_ACCEL=kvm ");
	free(c);
}

UNIT_TEST(vm_argv_numa)
{
	struct kt_topo_spec t = {2, 4, 2, 2};
	int fds[2] = {7, 8};
	struct kt_vm_plan p = plan(&t, fds);
	char **argv = kt_vm_build_argv(&p, "console=ttyS0");
	char *s = join(argv);

	CHECK_STR_EQ(argv[0], "qemu-system-x86_64");
	CHECK_STR_CONTAINS(s, " -M q35 ");
	CHECK_STR_CONTAINS(s, " -accel tcg,thread=single -cpu qemu64,vendor=GenuineIntel ");
	CHECK_STR_CONTAINS(s, " -m 1024M ");
	CHECK_STR_CONTAINS(s, " -smp cpus=16,sockets=4,dies=1,cores=2,threads=2 ");
	CHECK_STR_CONTAINS(s, "memory-backend-file,id=ram0,size=512M,mem-path=/dev/fd/7,share=on");
	CHECK_STR_CONTAINS(s, "memory-backend-file,id=ram1,size=512M,mem-path=/dev/fd/8,share=on");
	CHECK_STR_CONTAINS(s, " -numa node,nodeid=0,memdev=ram0 -numa node,nodeid=1,memdev=ram1 ");
	CHECK_STR_CONTAINS(s, " -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 "
			      "-numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 ");
	CHECK_STR_CONTAINS(s, " -numa dist,src=0,dst=1,val=20 ");
	CHECK_STR_CONTAINS(s, " -numa dist,src=1,dst=1,val=10 ");
	CHECK_STR_CONTAINS(s,
			   " -kernel /k/bzImage -initrd /c/init.cpio.zst -append console=ttyS0 ");
	CHECK_STR_CONTAINS(s, " -nodefaults ");
	CHECK_STR_CONTAINS(s, " -name ktstr,debug-threads=on ");
	CHECK_STR_CONTAINS(s, " -no-reboot ");
	CHECK_STR_CONTAINS(s, " -chardev socket,id=com1,fd=5 -serial chardev:com1 "
			      "-chardev socket,id=com2,fd=6 -serial chardev:com2");
	/* -append keeps the cmdline as one argument */
	for (char **a = argv; *a; a++)
		if (!strcmp(*a, "-append"))
			CHECK_STR_EQ(a[1], "console=ttyS0");
	free(s);
	kt_vm_argv_free(argv);
	/* the plan's threading decision reaches the machine */
	p.tcg_multi = true;
	argv = kt_vm_build_argv(&p, "console=ttyS0");
	s = join(argv);
	CHECK_STR_CONTAINS(s, " -accel tcg,thread=multi -cpu qemu64,vendor=GenuineIntel ");
	free(s);
	kt_vm_argv_free(argv);
}

UNIT_TEST(vm_tcg_threading_decision)
{
	char *why = NULL;

	/* 2+ vCPUs and JUMP_LABEL off: one host thread per vCPU */
	CHECK(kt_tcg_multi_decide(4, 0, "/c/vmlinux (IKCONFIG)", &why));
	CHECK_STR_EQ(why, "thread=multi: 4 vCPUs on their own host threads (CONFIG_JUMP_LABEL off "
			  "in /c/vmlinux (IKCONFIG))");
	free(why);
	/* JUMP_LABEL on: single, naming the config it came from */
	CHECK(!kt_tcg_multi_decide(4, 1, "/tree/.config", &why));
	CHECK_STR_CONTAINS(why, "thread=single: /tree/.config has CONFIG_JUMP_LABEL=y");
	CHECK_STR_CONTAINS(why, "multi-threaded TCG");
	free(why);
	/* config unknown: single, never a guess */
	CHECK(!kt_tcg_multi_decide(8, -2, NULL, &why));
	CHECK_STR_CONTAINS(why, "thread=single: the kernel's config is unknown");
	free(why);
	/* one vCPU has nothing to run in parallel */
	CHECK(!kt_tcg_multi_decide(1, 0, "x", &why));
	CHECK_STR_EQ(why, "thread=single: 1 vCPU");
	free(why);
}

UNIT_TEST(vm_argv_single_node_kvm)
{
	struct kt_topo_spec t = {1, 3, 3, 1};
	int fds[1] = {9};
	struct kt_vm_plan p = plan(&t, fds);
	char **argv;
	char *s;

	p.accel = KT_ACCEL_KVM;
	p.memory_mb = 777;
	p.initrd = NULL;
	argv = kt_vm_build_argv(&p, "x");
	s = join(argv);
	CHECK_STR_CONTAINS(s, " -M q35,memory-backend=ram0 ");
	CHECK_STR_CONTAINS(s, " -accel kvm -cpu host ");
	CHECK_STR_CONTAINS(s, " -smp cpus=9,sockets=3,dies=1,cores=3,threads=1 ");
	CHECK_STR_CONTAINS(s, "id=ram0,size=777M,mem-path=/dev/fd/9");
	CHECK(!strstr(s, "-numa"));
	CHECK(!strstr(s, "-initrd"));
	free(s);
	kt_vm_argv_free(argv);
}

UNIT_TEST(vm_argv_uneven_node_memory)
{
	struct kt_topo_spec t = {3, 3, 1, 1};
	int fds[3] = {3, 4, 5};
	struct kt_vm_plan p = plan(&t, fds);
	char **argv;
	char *s;

	p.memory_mb = 1000; /* 333 + 333 + 334 */
	argv = kt_vm_build_argv(&p, "x");
	s = join(argv);
	CHECK_STR_CONTAINS(s, "id=ram0,size=333M");
	CHECK_STR_CONTAINS(s, "id=ram1,size=333M");
	CHECK_STR_CONTAINS(s, "id=ram2,size=334M");
	free(s);
	kt_vm_argv_free(argv);
}

UNIT_TEST(vm_guest_cmdline_value)
{
	const char *c = "console=ttyS0 KTSTR_MODE=exec KTSTR_TOPO=1,2,2,1 KTSTR_MODEX=no "
			"KTSTR_COLS=80\n";
	char *v;

	v = kt_guest_cmdline_value(c, "KTSTR_MODE");
	CHECK_STR_EQ(v, "exec");
	free(v);
	v = kt_guest_cmdline_value(c, "KTSTR_TOPO");
	CHECK_STR_EQ(v, "1,2,2,1");
	free(v);
	v = kt_guest_cmdline_value(c, "KTSTR_COLS");
	CHECK_STR_EQ(v, "80");
	free(v);
	CHECK(kt_guest_cmdline_value(c, "KTSTR_ROWS") == NULL);
	CHECK(kt_guest_cmdline_value(c, "KTSTR") == NULL);
	CHECK(kt_guest_cmdline_value(NULL, "KTSTR_MODE") == NULL);
}

UNIT_TEST(vm_pick_image)
{
	const char *bz = "/k/bzImage", *vml = "/k/vmlinux";

	/* KASLR needs the decompressor: the bzImage, unless the kernel cannot randomize */
	CHECK(kt_vm_pick_image(bz, vml, true, 1) == bz);
	CHECK(kt_vm_pick_image(bz, vml, true, -ENOENT) == bz);
	CHECK(kt_vm_pick_image(bz, vml, true, 0) == vml);
	/* nokaslr: the faster PVH entry when there is one */
	CHECK(kt_vm_pick_image(bz, vml, false, 1) == vml);
	CHECK(kt_vm_pick_image(bz, NULL, false, 1) == bz);
	CHECK(kt_vm_pick_image(bz, NULL, true, 0) == bz);
	/* only a PVH vmlinux: it boots either way */
	CHECK(kt_vm_pick_image(NULL, vml, true, 1) == vml);
}

UNIT_TEST(vm_check_image)
{
	char *p = kt_path_join(unit_tmpdir(), "img");
	char *err = NULL;
	unsigned char b[0x400] = {0};
	FILE *f;

	f = fopen(p, "wb");
	fputs("garbage\n", f);
	fclose(f);
	CHECK_INT_EQ(kt_vm_check_image(p, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "not a bootable x86 kernel");
	CHECK_STR_CONTAINS(err, p);
	free(err);
	err = NULL;
	CHECK(!kt_vm_image_has_pvh(p));

	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	memcpy(b + 0x202, "HdrS", 4);
	b[0x1f1] = 1; /* setup_sects: the image is (1 + 1) * 512 + syssize * 16 bytes */
	f = fopen(p, "wb");
	fwrite(b, 1, sizeof(b), f);
	fclose(f);
	CHECK_INT_EQ(kt_vm_check_image(p, &err), 0);
	/* syssize 1 paragraph more than the file holds: truncated */
	b[0x1f4] = 1;
	f = fopen(p, "wb");
	fwrite(b, 1, sizeof(b), f);
	fclose(f);
	CHECK_INT_EQ(kt_vm_check_image(p, &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "truncated (1024 bytes, its header says 1040)");
	CHECK_STR_CONTAINS(err, p);
	free(err);
	err = NULL;

	CHECK(kt_vm_check_image("/nonexistent/bzImage", &err) < 0);
	CHECK_STR_CONTAINS(err, "/nonexistent/bzImage");
	free(err);
	err = NULL;
	/* an ELF without the PVH note (our own unit-test binary) */
	CHECK_INT_EQ(kt_vm_check_image("/proc/self/exe", &err), -EINVAL);
	CHECK_STR_CONTAINS(err, "PVH");
	free(err);
	free(p);
}

UNIT_TEST(vm_shm_offset)
{
	uint64_t off, noff;
	int node;

	/* 1 GiB, 1 node, 5 MiB initrd: below top - (6 MiB + 16 MiB) - 16 MiB, 2 MiB aligned */
	CHECK_INT_EQ(kt_vm_shm_offset(1024, 1, 5 << 20, 16 << 20, &off, &node, &noff), 0);
	CHECK(off == (1024ull - 6 - 16 - 16) << 20);
	CHECK_INT_EQ(node, 0);
	CHECK(noff == off);
	CHECK(off % (2 << 20) == 0);
	/* never overlaps the initrd at the top */
	CHECK(off + (16 << 20) <= (1024ull << 20) - (5 << 20) - (1 << 20));

	/* 2 nodes of 512 MiB: the ring is in node 1 */
	CHECK_INT_EQ(kt_vm_shm_offset(1024, 2, 5 << 20, 1 << 20, &off, &node, &noff), 0);
	CHECK_INT_EQ(node, 1);
	CHECK(noff == off - (512ull << 20));

	/* a big initrd pushes the ring into node 0, but never across the boundary */
	CHECK_INT_EQ(kt_vm_shm_offset(1024, 2, 500 << 20, 16 << 20, &off, &node, &noff), 0);
	CHECK_INT_EQ(node, 0);
	CHECK(off + (16 << 20) <= (512ull << 20));

	/* >= 2.75 GiB: low RAM ends at 2 GiB, the ring stays below it */
	CHECK_INT_EQ(kt_vm_shm_offset(4096, 1, 1 << 20, 16 << 20, &off, &node, &noff), 0);
	CHECK(off + (16 << 20) <= (2048ull << 20) - (16 << 20));

	/* too small */
	CHECK_INT_EQ(kt_vm_shm_offset(128, 1, 100 << 20, 16 << 20, &off, &node, &noff), -ENOSPC);
	CHECK_INT_EQ(kt_vm_shm_offset(256, 1, 0, 0, &off, &node, &noff), -ENOSPC);
}

static char *conlog_run(const char *const *chunks, size_t head, size_t tail, size_t *len)
{
	char *path = kt_path_join(unit_tmpdir(), "console.log"), *text = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct kt_conlog l;

	kt_conlog_init(&l, fd, head, tail);
	for (size_t i = 0; chunks[i]; i++)
		kt_conlog_write(&l, chunks[i], strlen(chunks[i]));
	kt_conlog_finish(&l);
	close(fd);
	CHECK_INT_EQ(kt_read_file(path, &text, len, 1 << 20), 0);
	free(path);
	return text;
}

/* A guest flooding its console cannot fill the disk: head, note, tail. */
UNIT_TEST(vm_console_log_bounded)
{
	static const char *const small[] = {"boot\n", "ok\n", NULL};
	static const char *const fits[] = {"0123456789", "abcdefghij", NULL};
	const char *flood[2005];
	char *text;
	size_t len;

	text = conlog_run(small, 16, 8, &len);
	CHECK_STR_EQ(text, "boot\nok\n");
	free(text);
	/* head + tail hold everything: no note */
	text = conlog_run(fits, 12, 8, &len);
	CHECK_STR_EQ(text, "0123456789abcdefghij");
	free(text);
	/* 2000 lines of 14 bytes through a 100-byte head and a 64-byte tail */
	flood[0] = "BOOT HEAD\n";
	for (int i = 1; i <= 2000; i++)
		flood[i] = i == 2000 ? "line 2000 end\n" : "line xxxx mid\n";
	flood[2001] = NULL;
	text = conlog_run(flood, 100, 64, &len);
	CHECK(kt_startswith(text, "BOOT HEAD\nline xxxx mid\n"));
	CHECK_STR_CONTAINS(text, "\n[ktstr: console.log truncated: 27846 bytes left out between "
				 "the first 100 and the last 64 bytes]\n");
	CHECK(len < 100 + 64 + 120);
	CHECK_STR_EQ(text + len - 14, "line 2000 end\n");
	free(text);
}
