// SPDX-License-Identifier: GPL-2.0
/* Kernel ids, cache keys, metadata, resolution order, KTSTR_KERNEL_LIST, CPU cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/kernel.h"
#include "unit.h"
#include "util/util.h"

/* ---- helpers -------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	CHECK_INT_EQ(kt_write_file_atomic(path, text, strlen(text), 0644), 0);
}

static char *meta_json(const char *version, const char *built_at, const char *kc)
{
	struct kt_cache_meta m = {0};
	char *s;

	m.src = KT_SRC_TARBALL;
	m.arch = kt_strdup(kt_kernel_arch());
	m.image_name = kt_strdup("bzImage");
	m.built_at = kt_strdup(built_at);
	m.version = version ? kt_strdup(version) : NULL;
	m.ktstr_kconfig_hash = kc ? kt_strdup(kc) : NULL;
	m.has_vmlinux = false;
	s = kt_meta_dump(&m);
	kt_meta_free(&m);
	return s;
}

static char *cur_kc(void)
{
	return kt_asprintf("%08x", kt_kconfig_crc());
}

/* A valid entry {root}/{key} with bzImage and metadata.json. */
static char *fake_entry(const char *root, const char *key, const char *version,
			const char *built_at, const char *kc)
{
	char *dir = kt_path_join(root, key), *p, *j;

	CHECK_INT_EQ(kt_mkdir_p(dir, 0755), 0);
	p = kt_path_join(dir, "bzImage");
	write_file(p, "image");
	free(p);
	p = kt_path_join(dir, "metadata.json");
	j = meta_json(version, built_at, kc);
	write_file(p, j);
	free(j);
	free(p);
	return dir;
}

/* Run a shell command; returns its exit status, output (stdout+stderr) in *out. */
static int sh(char **out, const char *fmt, ...) KT_PRINTF(2, 3);
static int sh(char **out, const char *fmt, ...)
{
	struct sbuf cmd = SBUF_INIT, o = SBUF_INIT;
	va_list ap;
	FILE *f;
	char buf[4096];
	size_t n;
	int st;

	va_start(ap, fmt);
	sb_vaddf(&cmd, fmt, ap);
	va_end(ap);
	sb_adds(&cmd, " 2>&1");
	fflush(NULL);
	f = popen(sb_str(&cmd), "r");
	CHECK(f != NULL);
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&o, buf, n);
	st = f ? pclose(f) : -1;
	sb_free(&cmd);
	sb_str(&o);
	if (out)
		*out = sb_steal(&o);
	else
		sb_free(&o);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *bin(void)
{
	const char *b = getenv("KTSTR_BIN");

	if (!b)
		unit_fail(__FILE__, __LINE__, "KTSTR_BIN is not set (run through make check-unit)");
	return b ? b : "false";
}

/* ---- ids -------------------------------------------------------------------------- */

UNIT_TEST(kernel_id_parse)
{
	struct kt_kid k;
	char *err = NULL;

	CHECK_INT_EQ(kt_kid_parse("git+https://x.org/a/linux.git#v6.14", &k, &err), 0);
	CHECK_INT_EQ(k.type, KT_KID_GIT);
	CHECK_STR_EQ(k.a, "https://x.org/a/linux.git");
	CHECK_STR_EQ(k.b, "v6.14");
	kt_kid_free(&k);
	/* split at the last '#' */
	CHECK_INT_EQ(kt_kid_parse("git+file:///r#x#main", &k, &err), 0);
	CHECK_STR_EQ(k.a, "file:///r#x");
	CHECK_STR_EQ(k.b, "main");
	kt_kid_free(&k);
	/* empty ref: not git; contains '/': a path */
	CHECK_INT_EQ(kt_kid_parse("git+https://x/y#", &k, &err), 0);
	CHECK_INT_EQ(k.type, KT_KID_PATH);
	kt_kid_free(&k);

	CHECK_INT_EQ(kt_kid_parse("6.10..6.12.3", &k, &err), 0);
	CHECK_INT_EQ(k.type, KT_KID_RANGE);
	CHECK_STR_EQ(k.a, "6.10");
	CHECK_STR_EQ(k.b, "6.12.3");
	kt_kid_free(&k);
	CHECK(kt_kid_parse("6.12..6.10", &k, &err) < 0);
	CHECK_STR_CONTAINS(err, "inverted");
	free(err);
	err = NULL;
	CHECK(kt_kid_parse("6.12-rc1..6.12", &k, &err) == 0 && k.type == KT_KID_RANGE);
	kt_kid_free(&k);

	const char *paths[] = {"../linux", "./x", "~/linux", "/boot/vmlinuz", "a/b", ".hidden"};
	for (size_t i = 0; i < KT_ARRAY_SIZE(paths); i++) {
		CHECK_INT_EQ(kt_kid_parse(paths[i], &k, &err), 0);
		CHECK_INT_EQ(k.type, KT_KID_PATH);
		kt_kid_free(&k);
	}
	setenv("HOME", "/home/u", 1);
	CHECK_INT_EQ(kt_kid_parse("~/linux", &k, &err), 0);
	CHECK_STR_EQ(k.a, "/home/u/linux");
	kt_kid_free(&k);

	const char *vers[] = {"6.12", "6.12.3", "6.14-rc2", "6.14.1-rc3", " 6.1 "};
	for (size_t i = 0; i < KT_ARRAY_SIZE(vers); i++) {
		CHECK_INT_EQ(kt_kid_parse(vers[i], &k, &err), 0);
		CHECK_INT_EQ(k.type, KT_KID_VERSION);
		kt_kid_free(&k);
	}
	const char *keys[] = {"v6.14",	 "6",  "1.2.3.4", "6.12.3-tarball-x86_64-kc1234abcd",
			      "garbage", "6.x"};
	for (size_t i = 0; i < KT_ARRAY_SIZE(keys); i++) {
		CHECK_INT_EQ(kt_kid_parse(keys[i], &k, &err), 0);
		CHECK_INT_EQ(k.type, KT_KID_CACHEKEY);
		kt_kid_free(&k);
	}
	CHECK(kt_kid_parse("  ", &k, &err) < 0);
	free(err);
}

UNIT_TEST(kernel_versions)
{
	struct kt_version a, b;

	CHECK(kt_version_valid("6.12"));
	CHECK(!kt_version_valid("6"));
	CHECK(!kt_version_valid("v6.1"));
	CHECK(!kt_version_valid("6.1.2.3"));
	CHECK(!kt_version_valid("6.1-rc"));
	CHECK(kt_version_is_prefix("6"));
	CHECK(kt_version_is_prefix("6.12"));
	CHECK(!kt_version_is_prefix("6.12.1"));
	CHECK(!kt_version_is_prefix("6.12-rc1"));
	kt_version_parse("6.12-rc3", &a);
	kt_version_parse("6.12", &b);
	CHECK(kt_version_cmp(&a, &b) < 0); /* rc before the release */
	kt_version_parse("6.12.1", &a);
	CHECK(kt_version_cmp(&a, &b) > 0);
	kt_version_parse("6.9.9", &a);
	kt_version_parse("6.10", &b);
	CHECK(kt_version_cmp(&a, &b) < 0);
}

UNIT_TEST(kernel_labels)
{
	char *l;

	l = kt_kernel_label_sanitize("6.14.2");
	CHECK_STR_EQ(l, "kernel_6_14_2");
	free(l);
	l = kt_kernel_label_sanitize("Git_Owner--Repo/main_");
	CHECK_STR_EQ(l, "kernel_git_owner_repo_main");
	free(l);
	l = kt_cache_key_label("6.12.3-tarball-x86_64-kc0badbeef");
	CHECK_STR_EQ(l, "6.12.3");
	free(l);
	l = kt_cache_key_label("main-git-abcdef1-x86_64-kc0badbeef");
	CHECK_STR_EQ(l, "main");
	free(l);
	l = kt_cache_key_label("local-abcdef1-x86_64-kc0badbeef");
	CHECK_STR_EQ(l, "local_abcdef");
	free(l);
	l = kt_cache_key_label("local-unknown-12345678-x86_64-kc0badbeef");
	CHECK_STR_EQ(l, "local_unknown");
	free(l);
}

UNIT_TEST(kernel_cache_keys)
{
	char *k, *exp, *err = NULL;
	size_t len;
	const char *frag = kt_kconfig_fragment(&len);
	uint32_t kc = kt_kconfig_crc();

	/* the fragment is embedded and kc is its CRC32 */
	CHECK(len > 100);
	CHECK(strstr(frag, "CONFIG_SCHED_CLASS_EXT=y") != NULL);
	CHECK_INT_EQ(kc, kt_kconfig_crc_of(frag, len));
	/* "##" notes do not feed the key; anything else does */
	{
		static const char with[] = "A=y\n## why\nB=y\n", tail[] = "A=y\nB=y\n## tail",
				  hash[] = "A=y\n# why\nB=y\n", bare[] = "A=y\nB=y\n";

		CHECK_INT_EQ(kt_kconfig_crc_of(with, strlen(with)), kt_crc32(bare, strlen(bare)));
		CHECK_INT_EQ(kt_kconfig_crc_of(tail, strlen(tail)), kt_crc32(bare, strlen(bare)));
		CHECK(kt_kconfig_crc_of(hash, strlen(hash)) != kt_crc32(bare, strlen(bare)));
	}
	/* JUMP_LABEL stays off: multi-threaded TCG depends on it (src/vm/accel.c) */
	CHECK(!strstr(frag, "CONFIG_JUMP_LABEL=y"));
	CHECK(strstr(frag, "## CONFIG_JUMP_LABEL stays off on purpose") != NULL);
	{
		char *disk = NULL;
		size_t dl = 0;

		if (kt_read_file("src/kernel/ktstr.kconfig", &disk, &dl, 0) == 0) {
			CHECK_INT_EQ(dl, len);
			CHECK(!memcmp(disk, frag, len));
		}
		free(disk);
	}
	k = kt_cache_key_tarball("6.12.3");
	exp = kt_asprintf("6.12.3-tarball-%s-kc%08x", kt_kernel_arch(), kc);
	CHECK_STR_EQ(k, exp);
	free(k);
	free(exp);
	k = kt_cache_key_git("feature/x", "0123456789abc");
	exp = kt_asprintf("feature_x-git-0123456-%s-kc%08x", kt_kernel_arch(), kc);
	CHECK_STR_EQ(k, exp);
	CHECK_INT_EQ(kt_cache_key_validate(k, &err), 0);
	free(k);
	free(exp);
	k = kt_cache_key_local("abcdef1", false, 0);
	exp = kt_asprintf("local-abcdef1-%s-kc%08x", kt_kernel_arch(), kc);
	CHECK_STR_EQ(k, exp);
	free(k);
	free(exp);
	k = kt_cache_key_local("abcdef1", true, 0xdeadbeef);
	exp = kt_asprintf("local-abcdef1-%s-cfgdeadbeef-kc%08x", kt_kernel_arch(), kc);
	CHECK_STR_EQ(k, exp);
	free(k);
	free(exp);
	k = kt_cache_key_local_unknown("/src/linux");
	CHECK(kt_startswith(k, "local-unknown-"));
	free(k);

	const char *bad[] = {"", "a/b", "a\\b", "a..b", ".tmp-x", ".locks"};
	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		CHECK(kt_cache_key_validate(bad[i], &err) < 0);
		CHECK_STR_CONTAINS(err, "invalid cache key");
		free(err);
		err = NULL;
	}
	CHECK_INT_EQ(kt_cache_key_validate("6.12.3-tarball-x86_64-kc00000000", &err), 0);
}

UNIT_TEST(kernel_meta_roundtrip)
{
	struct kt_cache_meta m = {0}, m2;
	const char *kind;
	char *s, *err = NULL;

	m.src = KT_SRC_LOCAL;
	m.source_tree_path = kt_strdup("/src/linux");
	m.git_hash = kt_strdup("abcdef1");
	m.arch = kt_strdup("x86_64");
	m.image_name = kt_strdup("bzImage");
	m.built_at = kt_strdup("2026-01-02T03:04:05Z");
	m.has_vmlinux = true;
	m.vmlinux_stripped = true;
	m.config_hash = kt_strdup("0badf00d");
	m.ktstr_kconfig_hash = kt_strdup("12345678");
	m.has_src_vmlinux = true;
	m.source_vmlinux_size = 123456789012ull;
	m.source_vmlinux_mtime_secs = 1700000000;
	m.schedulers = kt_calloc(2, sizeof(char *));
	m.schedulers[0] = kt_strdup("scx_simple");
	m.schedulers[1] = kt_strdup("scx_qmap");
	m.n_schedulers = 2;
	s = kt_meta_dump(&m);
	CHECK_INT_EQ(kt_meta_parse(s, &m2, &kind, &err), 0);
	CHECK_INT_EQ(m2.src, KT_SRC_LOCAL);
	CHECK_STR_EQ(m2.source_tree_path, "/src/linux");
	CHECK_STR_EQ(m2.git_hash, "abcdef1");
	CHECK_STR_EQ(m2.built_at, "2026-01-02T03:04:05Z");
	CHECK(m2.has_vmlinux && m2.vmlinux_stripped);
	CHECK(m2.version == NULL);
	CHECK_STR_EQ(m2.config_hash, "0badf00d");
	CHECK(m2.has_src_vmlinux);
	CHECK_INT_EQ(m2.source_vmlinux_size, 123456789012ull);
	CHECK_INT_EQ(m2.source_vmlinux_mtime_secs, 1700000000);
	CHECK_INT_EQ(m2.n_schedulers, 2);
	CHECK_STR_EQ(m2.schedulers[1], "scx_qmap");
	CHECK_STR_CONTAINS(s, "\"type\": \"local\"");
	kt_meta_free(&m2);
	free(s);
	/* git source with nulls */
	kt_meta_free(&m);
	m.src = KT_SRC_GIT;
	m.git_ref = kt_strdup("main");
	m.arch = kt_strdup("x86_64");
	m.image_name = kt_strdup("bzImage");
	m.built_at = kt_strdup("2026-01-02T03:04:05Z");
	s = kt_meta_dump(&m);
	CHECK_INT_EQ(kt_meta_parse(s, &m2, &kind, &err), 0);
	CHECK_INT_EQ(m2.src, KT_SRC_GIT);
	CHECK_STR_EQ(m2.git_ref, "main");
	CHECK(m2.git_hash == NULL && m2.ktstr_kconfig_hash == NULL && !m2.has_src_vmlinux);
	kt_meta_free(&m2);
	kt_meta_free(&m);
	free(s);
}

UNIT_TEST(kernel_meta_corrupt_kinds)
{
	struct kt_cache_meta m;
	const char *kind;
	char *err = NULL, *good = meta_json("6.12.3", "2026-01-02T03:04:05Z", "12345678");
	struct {
		const char *text, *kind;
	} cases[] = {
	    {"", "truncated"},
	    {"{\"source\": {\"type\": \"tarb", "truncated"},
	    {"{,}", "parse_error"},
	    {"[1,2]", "malformed"},
	    {"{\"source\":{\"type\":\"tarball\"},\"arch\":\"x86_64\",\"image_name\":\"bzImage\","
	     "\"has_vmlinux\":true,\"vmlinux_stripped\":true}",
	     "schema_drift"}, /* no built_at */
	    {"{\"source\":{\"type\":\"svn\"},\"arch\":\"x86_64\",\"image_name\":\"bzImage\","
	     "\"built_at\":\"2026-01-02T03:04:05Z\",\"has_vmlinux\":true,\"vmlinux_stripped\":"
	     "true}",
	     "schema_drift"},
	    {"{\"source\":{\"type\":\"tarball\"},\"arch\":\"x86_64\",\"image_name\":\"../x\","
	     "\"built_at\":\"2026-01-02T03:04:05Z\",\"has_vmlinux\":true,\"vmlinux_stripped\":"
	     "true}",
	     "schema_drift"},
	    {"{\"source\":{\"type\":\"tarball\"},\"arch\":\"x86_64\",\"image_name\":\"bzImage\","
	     "\"built_at\":\"yesterday\",\"has_vmlinux\":true,\"vmlinux_stripped\":true}",
	     "schema_drift"},
	};

	CHECK_INT_EQ(kt_meta_parse(good, &m, &kind, &err), 0);
	kt_meta_free(&m);
	for (size_t i = 0; i < KT_ARRAY_SIZE(cases); i++) {
		err = NULL;
		if (kt_meta_parse(cases[i].text, &m, &kind, &err) == 0) {
			unit_fail(__FILE__, __LINE__, "case %zu parsed", i);
			continue;
		}
		CHECK_STR_EQ(kind, cases[i].kind);
		CHECK(err != NULL && *err);
		free(err);
	}
	free(good);
}

UNIT_TEST(kernel_cache_list_classifies)
{
	const char *root = unit_tmpdir();
	char *kc = cur_kc(), *d, *p;
	struct kt_cache_entry *e;
	size_t n;

	free(fake_entry(root, "old", "6.1.1", "2020-01-01T00:00:00Z", kc));
	free(fake_entry(root, "new", "6.12.1", "2026-01-01T00:00:00Z", kc));
	d = fake_entry(root, "noimage", "6.2.1", "2026-01-01T00:00:00Z", kc);
	p = kt_path_join(d, "bzImage");
	unlink(p);
	free(p);
	free(d);
	kt_mkdir_p("/tmp", 0755);
	p = kt_asprintf("%s/nometa", root);
	kt_mkdir_p(p, 0755);
	free(p);
	p = kt_asprintf("%s/badjson", root);
	kt_mkdir_p(p, 0755);
	free(p);
	p = kt_asprintf("%s/badjson/metadata.json", root);
	write_file(p, "{not json");
	free(p);
	p = kt_asprintf("%s/.tmp-x-1", root);
	kt_mkdir_p(p, 0755); /* staging: ignored */
	free(p);
	CHECK_INT_EQ(kt_cache_list(root, &e, &n), 0);
	CHECK_INT_EQ(n, 5);
	CHECK_STR_EQ(e[0].key, "new");
	CHECK_STR_EQ(e[1].key, "old");
	CHECK(!e[0].corrupt && !e[1].corrupt);
	for (size_t i = 2; i < n; i++) {
		CHECK(e[i].corrupt);
		if (!strcmp(e[i].key, "noimage"))
			CHECK_STR_EQ(e[i].error_kind, "image_missing");
		else if (!strcmp(e[i].key, "nometa"))
			CHECK_STR_EQ(e[i].error_kind, "missing");
		else
			CHECK_STR_EQ(e[i].error_kind, "parse_error");
	}
	CHECK_STR_EQ(kt_cache_kconfig_status(&e[0]), "matches");
	kt_cache_entries_free(e, n);
	free(kc);
}

/* ---- resolution ------------------------------------------------------------------- */

UNIT_TEST(kernel_resolve_order)
{
	char *root = kt_path_join(unit_tmpdir(), "cache"), *kc = cur_kc(), *err = NULL;
	char *work = kt_path_join(unit_tmpdir(), "work"), *p;
	struct kt_kernel k;

	unsetenv("KTSTR_TEST_KERNEL");
	unsetenv("KTSTR_KERNEL");
	setenv("KTSTR_CACHE_DIR", root, 1);
	kt_mkdir_p(work, 0755);
	CHECK_INT_EQ(chdir(work), 0);

	/* stale kconfig entries are skipped; newest valid wins */
	free(fake_entry(root, "6.12.1-tarball-x86_64-kc00000000", "6.12.1", "2026-06-01T00:00:00Z",
			"00000000"));
	free(
	    fake_entry(root, kt_cache_key_tarball("6.10.1"), "6.10.1", "2025-01-01T00:00:00Z", kc));
	free(
	    fake_entry(root, kt_cache_key_tarball("6.11.1"), "6.11.1", "2025-06-01T00:00:00Z", kc));
	CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
	CHECK_STR_EQ(k.version, "6.11.1");
	CHECK_STR_EQ(k.label, "kernel_6_11_1");
	CHECK(k.vmlinux == NULL);
	CHECK(k.key && kt_startswith(k.key, "6.11.1-tarball-"));
	kt_kernel_free(&k);

	/* KTSTR_KERNEL=version: exact key, no prefix magic */
	setenv("KTSTR_KERNEL", "6.10.1", 1);
	CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
	CHECK_STR_EQ(k.version, "6.10.1");
	kt_kernel_free(&k);
	setenv("KTSTR_KERNEL", "6.10.2", 1);
	CHECK(kt_kernel_resolve(NULL, &k, &err) < 0);
	CHECK_STR_CONTAINS(err, "KTSTR_KERNEL=6.10.2: kernel 6.10.2 is not in the cache");
	free(err);
	err = NULL;
	/* cache key */
	p = kt_cache_key_tarball("6.10.1");
	setenv("KTSTR_KERNEL", p, 1);
	CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
	CHECK_STR_EQ(k.key, p);
	kt_kernel_free(&k);
	free(p);
	setenv("KTSTR_KERNEL", "garbage", 1);
	CHECK(kt_kernel_resolve(NULL, &k, &err) < 0);
	CHECK_STR_CONTAINS(err, "cache key garbage not found. Run `ktstr kernel list`");
	free(err);
	err = NULL;
	setenv("KTSTR_KERNEL", "git+file:///x#main", 1);
	CHECK(kt_kernel_resolve(NULL, &k, &err) < 0);
	CHECK_STR_CONTAINS(err, "cannot be used here");
	free(err);
	err = NULL;
	/* a path without an image */
	p = kt_path_join(work, "src");
	kt_mkdir_p(p, 0755);
	setenv("KTSTR_KERNEL", p, 1);
	CHECK(kt_kernel_resolve(NULL, &k, &err) < 0);
	CHECK_STR_CONTAINS(err, "no kernel image in");
	free(err);
	err = NULL;
	/* a built tree: image, vmlinux and schedulers found inside */
	{
		char *b = kt_path_join(p, "arch/x86/boot"), *f;

		kt_mkdir_p(b, 0755);
		f = kt_path_join(b, "bzImage");
		write_file(f, "img");
		free(f);
		f = kt_path_join(p, "vmlinux");
		write_file(f, "elf");
		free(f);
		f = kt_path_join(p, "tools/sched_ext/build/bin");
		kt_mkdir_p(f, 0755);
		free(f);
		f = kt_path_join(p, "include/config");
		kt_mkdir_p(f, 0755);
		free(f);
		f = kt_path_join(p, "include/config/kernel.release");
		write_file(f, "6.12.9-test\n");
		free(f);
		free(b);
	}
	CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
	CHECK_STR_CONTAINS(k.image, "/src/arch/x86/boot/bzImage");
	CHECK_STR_CONTAINS(k.vmlinux, "/src/vmlinux");
	CHECK_STR_CONTAINS(k.sched_dir, "/src/tools/sched_ext/build/bin");
	CHECK_STR_EQ(k.version, "6.12.9-test");
	CHECK(kt_startswith(k.label, "kernel_path_src_"));
	CHECK(k.key == NULL);
	kt_kernel_free(&k);
	/* the image file itself */
	{
		char *img = kt_path_join(p, "arch/x86/boot/bzImage");

		CHECK_INT_EQ(kt_kernel_resolve(img, &k, &err), 0);
		CHECK_STR_CONTAINS(k.vmlinux, "/src/vmlinux");
		CHECK(kt_startswith(k.label, "kernel_path_src_"));
		kt_kernel_free(&k);
		/* KTSTR_TEST_KERNEL beats KTSTR_KERNEL */
		setenv("KTSTR_KERNEL", "garbage", 1);
		setenv("KTSTR_TEST_KERNEL", img, 1);
		CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
		CHECK_STR_CONTAINS(k.image, "/src/arch/x86/boot/bzImage");
		kt_kernel_free(&k);
		unsetenv("KTSTR_TEST_KERNEL");
		free(img);
	}
	/* ./linux comes after the cache */
	unsetenv("KTSTR_KERNEL");
	CHECK_INT_EQ(rename(p, "linux"), 0);
	CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
	CHECK(k.key != NULL);
	kt_kernel_free(&k);
	setenv("KTSTR_CACHE_DIR", "/nonexistent-ktstr-cache", 1);
	CHECK_INT_EQ(kt_kernel_resolve(NULL, &k, &err), 0);
	CHECK_STR_CONTAINS(k.image, "/work/linux/arch/x86/boot/bzImage");
	kt_kernel_free(&k);
	/* nothing at all */
	CHECK_INT_EQ(chdir("/"), 0);
	if (!kt_is_file("/boot/vmlinuz") && !kt_exists("/linux")) {
		CHECK(kt_kernel_resolve(NULL, &k, &err) < 0);
		CHECK_STR_CONTAINS(err, "no kernel found (tried");
		CHECK_STR_CONTAINS(err, "./linux, ../linux");
		free(err);
		err = NULL;
	}
	/* explicit ids */
	setenv("KTSTR_CACHE_DIR", root, 1);
	CHECK(kt_kernel_resolve("nokey", &k, &err) < 0);
	CHECK_STR_CONTAINS(err, "cache key nokey not found");
	free(err);
	err = NULL;
	CHECK(kt_kernel_resolve("6.1..6.2", &k, &err) < 0);
	free(err);
	err = NULL;
	CHECK(kt_kernel_resolve("a..b/../x", &k, &err) < 0); /* path that does not exist */
	free(err);
	err = NULL;
	p = kt_cache_key_tarball("6.11.1");
	CHECK_INT_EQ(kt_kernel_resolve(p, &k, &err), 0);
	CHECK_STR_EQ(k.version, "6.11.1");
	kt_kernel_free(&k);
	/* the entry's dir or image file as a path: still the entry */
	{
		char *d = kt_path_join(root, p), *img = kt_path_join(d, "bzImage");

		CHECK_INT_EQ(kt_kernel_resolve(d, &k, &err), 0);
		CHECK_STR_EQ(k.key, p);
		kt_kernel_free(&k);
		CHECK_INT_EQ(kt_kernel_resolve(img, &k, &err), 0);
		CHECK_STR_EQ(k.key, p);
		CHECK_STR_EQ(k.label, "kernel_6_11_1");
		kt_kernel_free(&k);
		free(img);
		free(d);
	}
	/* a corrupt entry is an error, not a miss */
	{
		char *d = kt_path_join(root, p), *m = kt_path_join(d, "metadata.json");

		write_file(m, "{");
		CHECK(kt_kernel_resolve(p, &k, &err) < 0);
		CHECK_STR_CONTAINS(err, "is corrupt");
		free(err);
		err = NULL;
		free(m);
		free(d);
	}
	free(p);
	free(root);
	free(work);
	free(kc);
}

UNIT_TEST(kernel_resolve_many)
{
	char *root = kt_path_join(unit_tmpdir(), "cache"), *kc = cur_kc(), *err = NULL;
	char *k1 = kt_cache_key_tarball("6.10.1"), *k2 = kt_cache_key_tarball("6.11.1");
	struct kt_kernel *ks;
	size_t n;

	setenv("KTSTR_CACHE_DIR", root, 1);
	setenv("KTSTR_KERNEL_PARALLELISM", "2", 1);
	free(fake_entry(root, k1, "6.10.1", "2025-01-01T00:00:00Z", kc));
	free(fake_entry(root, k2, "6.11.1", "2025-06-01T00:00:00Z", kc));
	{
		const char *ids[] = {k1, k2, k1};

		CHECK_INT_EQ(kt_kernel_resolve_many(ids, 3, &ks, &n, &err), 0);
		CHECK_INT_EQ(n, 2);
		CHECK_STR_EQ(ks[0].label, "kernel_6_10_1");
		CHECK_STR_EQ(ks[1].label, "kernel_6_11_1");
		for (size_t i = 0; i < n; i++)
			kt_kernel_free(&ks[i]);
		free(ks);
	}
	{
		const char *ids[] = {k1, "missing-key"};

		CHECK(kt_kernel_resolve_many(ids, 2, &ks, &n, &err) < 0);
		CHECK_STR_CONTAINS(err, "cache key missing-key not found");
		CHECK(ks == NULL);
		free(err);
		err = NULL;
	}
	{
		const char *ids[] = {k1, "bad/../key"};

		CHECK(kt_kernel_resolve_many(ids, 2, &ks, &n, &err) < 0);
		free(err);
	}
	free(k1);
	free(k2);
	free(kc);
	free(root);
}

UNIT_TEST(kernel_parallelism_env)
{
	unsigned cpus = kt_allowed_cpus();

	setenv("KTSTR_KERNEL_PARALLELISM", " 3 ", 1);
	CHECK_INT_EQ(kt_kernel_parallelism(), 3);
	setenv("KTSTR_KERNEL_PARALLELISM", "0", 1);
	CHECK_INT_EQ(kt_kernel_parallelism(), cpus);
	setenv("KTSTR_KERNEL_PARALLELISM", "abc", 1);
	CHECK_INT_EQ(kt_kernel_parallelism(), cpus);
	setenv("KTSTR_KERNEL_PARALLELISM", "-2", 1);
	CHECK_INT_EQ(kt_kernel_parallelism(), cpus);
	unsetenv("KTSTR_KERNEL_PARALLELISM");
	CHECK_INT_EQ(kt_kernel_parallelism(), cpus);
}

/* ---- KTSTR_KERNEL_LIST and the CPU cap --------------------------------------------- */

UNIT_TEST(kernel_list_env_parse)
{
	struct kt_kernel_list_item *it;
	size_t n;
	char *err = NULL, *s;

	CHECK_INT_EQ(kt_kernel_list_parse("a=/k/a;b=/k/b:x", &it, &n, &err), 0);
	CHECK_INT_EQ(n, 2);
	CHECK_STR_EQ(it[0].label, "a");
	CHECK_STR_EQ(it[1].path, "/k/b:x");
	CHECK_INT_EQ(kt_kernel_list_format(it, n, &s, &err), 0);
	CHECK_STR_EQ(s, "a=/k/a;b=/k/b:x");
	free(s);
	kt_kernel_list_free(it, n);
	CHECK_INT_EQ(kt_kernel_list_parse("", &it, &n, &err), 0);
	CHECK_INT_EQ(n, 0);
	CHECK_INT_EQ(kt_kernel_list_parse("a=/x;", &it, &n, &err), 0);
	CHECK_INT_EQ(n, 1);
	kt_kernel_list_free(it, n);

	struct {
		const char *in, *msg;
	} bad[] = {
	    {"=/x", "empty label"},
	    {"a/x", "has no '='"},
	    {"a=/x;a=/y", "duplicate label \"a\""},
	    {"a=/x;;b=/y", "entry 2 is empty"},
	    {"a=b=/y", "more than one '='"},
	    {"a=", "empty path"},
	};
	for (size_t i = 0; i < KT_ARRAY_SIZE(bad); i++) {
		err = NULL;
		CHECK(kt_kernel_list_parse(bad[i].in, &it, &n, &err) < 0);
		CHECK_STR_CONTAINS(err, bad[i].msg);
		CHECK_STR_CONTAINS(err, "KTSTR_KERNEL_LIST");
		free(err);
	}
	{
		struct kt_kernel_list_item x[] = {{"a;b", "/x"}}, y[] = {{"a=b", "/x"}},
					   z[] = {{"a", "/x;y"}};

		CHECK(kt_kernel_list_format(x, 1, &s, &err) < 0);
		free(err);
		CHECK(kt_kernel_list_format(y, 1, &s, &err) < 0);
		free(err);
		CHECK(kt_kernel_list_format(z, 1, &s, &err) < 0);
		free(err);
	}
}

UNIT_TEST(kernel_cpu_cap)
{
	unsigned j = 0;
	char *err = NULL;

	unsetenv("KTSTR_CPU_CAP");
	unsetenv("KTSTR_BYPASS_LLC_LOCKS");
	CHECK_INT_EQ(kt_cpu_cap_resolve(NULL, 8, &j, &err), 0);
	CHECK_INT_EQ(j, 8);
	CHECK_INT_EQ(kt_cpu_cap_resolve("3", 8, &j, &err), 0);
	CHECK_INT_EQ(j, 3);
	CHECK(kt_cpu_cap_resolve("0", 8, &j, &err) < 0);
	CHECK_STR_EQ(err, "--cpu-cap must be ≥ 1 CPU (got 0)");
	free(err);
	CHECK(kt_cpu_cap_resolve("9", 8, &j, &err) < 0);
	CHECK_STR_CONTAINS(err, "exceeds");
	free(err);
	setenv("KTSTR_CPU_CAP", "x", 1);
	CHECK(kt_cpu_cap_resolve(NULL, 8, &j, &err) < 0);
	CHECK_STR_EQ(err, "KTSTR_CPU_CAP is not a valid integer: \"x\"");
	free(err);
	/* the flag wins over the env */
	CHECK_INT_EQ(kt_cpu_cap_resolve("2", 8, &j, &err), 0);
	CHECK_INT_EQ(j, 2);
	setenv("KTSTR_CPU_CAP", "0", 1);
	CHECK(kt_cpu_cap_resolve(NULL, 8, &j, &err) < 0);
	CHECK_STR_EQ(err, "--cpu-cap must be ≥ 1 CPU (got 0)");
	free(err);
	setenv("KTSTR_CPU_CAP", "", 1);
	CHECK_INT_EQ(kt_cpu_cap_resolve(NULL, 8, &j, &err), 0);
	CHECK_INT_EQ(j, 8);
	setenv("KTSTR_CPU_CAP", "4", 1);
	CHECK_INT_EQ(kt_cpu_cap_resolve(NULL, 8, &j, &err), 0);
	CHECK_INT_EQ(j, 4);
	setenv("KTSTR_BYPASS_LLC_LOCKS", "1", 1);
	CHECK(kt_cpu_cap_resolve(NULL, 8, &j, &err) < 0);
	CHECK_STR_CONTAINS(err, "resource contract");
	free(err);
}

/* ---- CLI: ktstr kernel list / clean / build / resolve ------------------------------ */

/*
 * A stand-in for the kernel's make: configures, "compiles" and produces
 * an ELF vmlinux with .BTF and .symtab, and the sched_ext binaries.
 * FAKE_FAIL=1 fails the vmlinux step; FAKE_DROP=CONFIG_X drops an option;
 * FAKE_SLEEP=N stalls the compile step.
 */
static const char fake_make[] =
    "#!/bin/sh\n"
    "for a in \"$@\"; do\n"
    "  case \"$a\" in\n"
    "  allnoconfig) echo 'CONFIG_FOO=y' > .config ;;\n"
    "  olddefconfig) [ -n \"$FAKE_DROP\" ] && sed -i \"/^$FAKE_DROP=/d\" .config; true ;;\n"
    "  mrproper) rm -f .config ;;\n"
    "  compile_commands.json) echo '[]' > compile_commands.json ;;\n"
    "  bzImage) mkdir -p arch/x86/boot; echo '  CC      kernel/sched/ext.o';"
    " if [ -n \"$FAKE_SLEEP\" ]; then echo '  CC      kernel/slow.o'; sleep $FAKE_SLEEP; fi;"
    " printf bzimage > arch/x86/boot/bzImage ;;\n"
    "  vmlinux) if [ -n \"$FAKE_FAIL\" ]; then echo 'kernel/x.c:1: error: boom'; exit 2; fi;"
    " cp \"$FAKE_VMLINUX\" vmlinux ;;\n"
    "  esac\n"
    "done\n"
    "case \"$*\" in *tools/sched_ext*) mkdir -p tools/sched_ext/build/bin;"
    " for s in scx_simple scx_qmap; do printf '#!/bin/sh\\n' > tools/sched_ext/build/bin/$s;"
    " chmod +x tools/sched_ext/build/bin/$s; done ;; esac\n"
    "exit 0\n";

/* Set up tmp/bin/make, an ELF vmlinux, a source tree and its tarball. */
static void fake_kernel_env(const char *tmp)
{
	char *out = NULL;
	char *binp = kt_asprintf("%s/bin/make", tmp);
	char *path = kt_asprintf("%s/bin:%s", tmp, getenv("PATH"));

	kt_mkdir_p(kt_asprintf("%s/bin", tmp), 0755);
	write_file(binp, fake_make);
	chmod(binp, 0755);
	setenv("PATH", path, 1);
	CHECK_INT_EQ(sh(&out,
			"cd %s && printf btf > btf && objcopy --add-section .BTF=btf %s "
			"vmlinux.elf && mkdir -p tb/linux-source-9.8 && cd tb/linux-source-9.8 "
			"&& printf 'VERSION = 9\\nPATCHLEVEL = 8\\nSUBLEVEL = 7\\n"
			"EXTRAVERSION =\\n' > Makefile && touch Kconfig && cd .. && "
			"tar -cJf ../linux-source-9.8.tar.xz linux-source-9.8",
			tmp, bin()),
		     0);
	if (out && *out)
		fprintf(stderr, "%s", out);
	free(out);
	setenv("FAKE_VMLINUX", kt_asprintf("%s/vmlinux.elf", tmp), 1);
	setenv("KTSTR_CACHE_DIR", kt_asprintf("%s/cache", tmp), 1);
	kt_mkdir_p(kt_asprintf("%s/tmpdir", tmp), 0755);
	setenv("TMPDIR", kt_asprintf("%s/tmpdir", tmp), 1);
	unsetenv("KTSTR_CPU_CAP");
	unsetenv("KTSTR_KERNEL");
	unsetenv("KTSTR_TEST_KERNEL");
	free(binp);
	free(path);
}

/* No staging dir in the cache and no build dir in TMPDIR. */
static bool no_tmp_left(const char *root)
{
	char *out = NULL;
	bool ok;

	sh(&out, "ls -a %s | grep '^\\.tmp-'; ls -A %s", root, getenv("TMPDIR"));
	ok = !out || !*out;
	if (!ok)
		fprintf(stderr, "    left behind: %s\n", out);
	free(out);
	return ok;
}

UNIT_TEST(kernel_cli_build_tarball_fake_make)
{
	const char *tmp = unit_tmpdir();
	char *out = NULL, *key = kt_cache_key_tarball("9.8.7");
	char *root = kt_asprintf("%s/cache", tmp), *meta;

	fake_kernel_env(tmp);
	CHECK_INT_EQ(
	    sh(&out, "%s kernel build --source %s/linux-source-9.8.tar.xz </dev/null", bin(), tmp),
	    0);
	CHECK_STR_CONTAINS(out, "Kernel cached: ");
	CHECK_STR_CONTAINS(out, "kernel configured");
	CHECK(!strstr(out, "compile_commands")); /* extracted trees are removed anyway */
	free(out);
	meta = kt_asprintf("%s/%s/metadata.json", root, key);
	CHECK(kt_is_file(meta));
	CHECK_INT_EQ(sh(&out, "cat %s", meta), 0);
	CHECK_STR_CONTAINS(out, "\"version\": \"9.8.7\"");
	CHECK_STR_CONTAINS(out, "\"scx_simple\"");
	free(out);
	CHECK(no_tmp_left(root));
	/* the stored vmlinux keeps .BTF and .symtab and lost .debug_* */
	CHECK_INT_EQ(sh(&out, "readelf -S %s/%s/vmlinux", root, key), 0);
	CHECK_STR_CONTAINS(out, ".BTF");
	CHECK_STR_CONTAINS(out, ".symtab");
	CHECK(!strstr(out, ".debug_info"));
	free(out);
	/* second build: a cache hit */
	CHECK_INT_EQ(sh(&out, "%s kernel build --source %s/linux-source-9.8.tar.xz", bin(), tmp),
		     0);
	CHECK_STR_CONTAINS(out, "cached kernel found: ");
	CHECK_STR_CONTAINS(out, "use --force to rebuild");
	CHECK(!strstr(out, "extracting"));
	free(out);
	/* the entry resolves with its schedulers */
	CHECK_INT_EQ(sh(&out, "%s kernel resolve 9.8.7", bin()), 0);
	CHECK_STR_CONTAINS(out, "label:     kernel_9_8_7");
	CHECK_STR_CONTAINS(out, "/sched\n");
	free(out);
	/* --force with a failing make: error with the log, old entry untouched */
	setenv("FAKE_FAIL", "1", 1);
	CHECK_INT_EQ(
	    sh(&out, "%s kernel build --force --source %s/linux-source-9.8.tar.xz", bin(), tmp), 1);
	CHECK_STR_CONTAINS(out, "kernel/x.c:1: error: boom");
	CHECK_STR_CONTAINS(out, "ktstr: error: kernel build: make -j");
	CHECK_STR_CONTAINS(out, "failed (exit 2) (log: ");
	free(out);
	unsetenv("FAKE_FAIL");
	CHECK(kt_is_file(meta));
	CHECK(no_tmp_left(root));
	/* a config without a critical option is refused */
	setenv("FAKE_DROP", "CONFIG_PVH", 1);
	CHECK_INT_EQ(
	    sh(&out, "%s kernel build --force --source %s/linux-source-9.8.tar.xz", bin(), tmp), 1);
	CHECK_STR_CONTAINS(out, "critical config options are missing");
	CHECK_STR_CONTAINS(out, "CONFIG_PVH=y");
	free(out);
	unsetenv("FAKE_DROP");
	/* cpu cap errors */
	CHECK_INT_EQ(
	    sh(&out, "%s kernel build --cpu-cap 0 --source %s/linux-source-9.8.tar.xz", bin(), tmp),
	    1);
	CHECK_STR_CONTAINS(out, "--cpu-cap must be ≥ 1 CPU (got 0)");
	free(out);
	CHECK_INT_EQ(sh(&out, "KTSTR_CPU_CAP=x %s kernel build --source %s/linux-source-9.8.tar.xz",
			bin(), tmp),
		     1);
	CHECK_STR_CONTAINS(out, "KTSTR_CPU_CAP is not a valid integer: \"x\"");
	free(out);
	/* usage errors */
	CHECK_INT_EQ(sh(&out, "%s kernel build --git /x", bin()), 2);
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel build 6.1 --source /x", bin()), 2);
	free(out);
	free(meta);
	free(root);
	free(key);
}

UNIT_TEST(kernel_cli_build_local_and_git)
{
	const char *tmp = unit_tmpdir();
	char *out = NULL, *root = kt_asprintf("%s/cache", tmp), *hash = NULL;

	fake_kernel_env(tmp);
	/* a non-git tree builds in place and is never stored */
	CHECK_INT_EQ(sh(&out,
			"cp -a %s/tb/linux-source-9.8 %s/plain && %s kernel build --source "
			"%s/plain",
			tmp, tmp, bin(), tmp),
		     0);
	CHECK_STR_CONTAINS(out, "kernel built at ");
	CHECK_STR_CONTAINS(out, "skipping cache");
	CHECK_STR_CONTAINS(out, "compile_commands.json generated");
	CHECK(!strstr(out, "merging the ktstr fragment"));
	free(out);
	CHECK_INT_EQ(sh(&out, "grep -c '^# CONFIG_BLOCK is not set$' %s/plain/.config", tmp), 0);
	free(out);
	/* an existing .config keeps its owner's machine shape; ktstr adds its needs */
	CHECK_INT_EQ(sh(&out,
			"cp -a %s/tb/linux-source-9.8 %s/own && printf 'CONFIG_BLOCK=y\\nCONFIG_HZ_250=y\\n' "
			"> %s/own/.config && %s kernel build --source %s/own",
			tmp, tmp, tmp, bin(), tmp),
		     0);
	CHECK_STR_CONTAINS(out, "merging the ktstr fragment into the existing");
	free(out);
	CHECK_INT_EQ(sh(&out, "cat %s/own/.config", tmp), 0);
	CHECK_STR_CONTAINS(out, "CONFIG_BLOCK=y\n");
	CHECK_STR_CONTAINS(out, "CONFIG_SCHED_CLASS_EXT=y\n");
	CHECK(!strstr(out, "# CONFIG_BLOCK is not set"));
	CHECK(!strstr(out, "CONFIG_HZ_1000"));
	free(out);
	/* a tree the user keeps gets compile_commands.json */
	out = kt_asprintf("%s/plain/compile_commands.json", tmp);
	CHECK(kt_is_file(out));
	free(out);
	CHECK_INT_EQ(sh(&out, "ls %s | grep -c local || true", root), 0);
	CHECK_STR_EQ(out, "0\n");
	free(out);
	/* a clean git tree is stored under local-{hash7} */
	CHECK_INT_EQ(sh(&out,
			"cp -a %s/tb/linux-source-9.8 %s/repo && cd %s/repo && git init -q "
			"-b main && printf '.config\\n*.o\\nvmlinux\\narch/\\ntools/\\n' > "
			".gitignore && git add -A && git -c user.email=t@t -c user.name=t "
			"commit -qm init",
			tmp, tmp, tmp),
		     0);
	free(out);
	CHECK_INT_EQ(sh(&hash, "git -C %s/repo rev-parse --short=7 HEAD | tr -d '\\n'", tmp), 0);
	CHECK_INT_EQ(sh(&out, "%s kernel build --source %s/repo", bin(), tmp), 0);
	CHECK_STR_CONTAINS(out, "Kernel cached: local-");
	CHECK_STR_CONTAINS(out, hash);
	free(out);
	/* again: the .config the build left behind does not defeat the cache */
	CHECK_INT_EQ(sh(&out, "%s kernel build --source %s/repo", bin(), tmp), 0);
	CHECK_STR_CONTAINS(out, "cached kernel found: ");
	free(out);
	/* a hand-edited .config is a different kernel */
	CHECK_INT_EQ(sh(&out,
			"echo CONFIG_EXTRA=y >> %s/repo/.config && %s kernel build --source "
			"%s/repo",
			tmp, bin(), tmp),
		     0);
	CHECK_STR_CONTAINS(out, "-cfg");
	CHECK_STR_CONTAINS(out, "Kernel cached: local-");
	free(out);
	/* a dirty tree builds but is not stored */
	CHECK_INT_EQ(sh(&out, "echo '# x' >> %s/repo/Kconfig && %s kernel build --source %s/repo",
			tmp, bin(), tmp),
		     0);
	CHECK_STR_CONTAINS(out, "uncommitted changes");
	CHECK(!strstr(out, "Kernel cached"));
	free(out);
	CHECK_INT_EQ(sh(&out, "cd %s/repo && git checkout -q Kconfig", tmp), 0);
	free(out);
	/* git clone through file:// */
	CHECK_INT_EQ(sh(&out, "%s kernel build --git file://%s/repo --ref main", bin(), tmp), 0);
	CHECK_STR_CONTAINS(out, "Kernel cached: main-git-");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel list --json", bin()), 0);
	CHECK_STR_CONTAINS(out, "\"type\": \"git\"");
	CHECK_STR_CONTAINS(out, "\"ref\": \"main\"");
	CHECK_STR_CONTAINS(out, "\"type\": \"local\"");
	free(out);
	/* and through a --kernel style id */
	CHECK_INT_EQ(sh(&out, "%s kernel resolve git+file://%s/repo#main", bin(), tmp), 0);
	CHECK_STR_CONTAINS(out, "key:       main-git-");
	free(out);
	CHECK(no_tmp_left(root));
	free(hash);
	free(root);
}

UNIT_TEST(kernel_cli_list_clean)
{
	const char *tmp = unit_tmpdir();
	char *root = kt_asprintf("%s/cache", tmp), *kc = cur_kc(), *out = NULL, *p;

	setenv("KTSTR_CACHE_DIR", root, 1);
	CHECK_INT_EQ(sh(&out, "%s kernel list", bin()), 0);
	CHECK_STR_CONTAINS(out, "no cached kernels. Run `kernel build`");
	free(out);
	free(fake_entry(root, "6.1.1-tarball-x86_64-kc00000000", "6.1.1", "2024-01-01T00:00:00Z",
			"00000000"));
	free(fake_entry(root, "a-new", "6.12.1", "2026-01-01T00:00:00Z", kc));
	free(fake_entry(root, "b-old", "6.11.1", "2025-01-01T00:00:00Z", kc));
	p = kt_asprintf("%s/broken", root);
	kt_mkdir_p(p, 0755);
	free(p);
	p = kt_asprintf("%s/trunc", root);
	kt_mkdir_p(p, 0755);
	free(p);
	p = kt_asprintf("%s/trunc/metadata.json", root);
	write_file(p, "{\"source\":");
	free(p);
	CHECK_INT_EQ(sh(&out, "%s kernel list", bin()), 0);
	CHECK_STR_CONTAINS(out, "  KEY ");
	CHECK_STR_CONTAINS(out, "(corrupt: metadata.json missing)");
	CHECK_STR_CONTAINS(out, "(stale kconfig)");
	CHECK_STR_CONTAINS(out, "2 corrupt entries. Run `ktstr kernel clean --corrupt-only`");
	CHECK(strstr(out, "a-new") < strstr(out, "b-old"));
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel list --json 2>/dev/null", bin()), 0);
	CHECK_STR_CONTAINS(out, "\"error_kind\": \"missing\"");
	CHECK_STR_CONTAINS(out, "\"error_kind\": \"truncated\"");
	CHECK_STR_CONTAINS(out, "\"kconfig_status\": \"stale\"");
	CHECK_STR_CONTAINS(out, "\"current_ktstr_kconfig_hash\": ");
	free(out);
	/* no terminal, no --force */
	CHECK_INT_EQ(sh(&out, "%s kernel clean </dev/null", bin()), 1);
	CHECK_STR_CONTAINS(out, "confirmation requires a terminal. Use --force to skip.");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel clean --corrupt-only --force", bin()), 0);
	CHECK_STR_CONTAINS(out, "removed 2 cached kernel(s).");
	free(out);
	CHECK(!kt_exists(kt_asprintf("%s/broken", root)));
	CHECK(kt_exists(kt_asprintf("%s/b-old", root)));
	CHECK_INT_EQ(sh(&out, "%s kernel clean --corrupt-only --force", bin()), 0);
	CHECK_STR_CONTAINS(out, "nothing to clean");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel clean --keep 1 --force", bin()), 0);
	CHECK_STR_CONTAINS(out, "removed 2 cached kernel(s).");
	free(out);
	CHECK(kt_exists(kt_asprintf("%s/a-new", root)));
	CHECK(!kt_exists(kt_asprintf("%s/b-old", root)));
	CHECK_INT_EQ(sh(&out, "%s kernel clean --force", bin()), 0);
	CHECK(!kt_exists(kt_asprintf("%s/a-new", root)));
	free(out);
	free(kc);
	free(root);
}

UNIT_TEST(kernel_fragment_lean_only_lines)
{
	char *full = kt_kconfig_fragment_lines(true), *part = kt_kconfig_fragment_lines(false);
	size_t nf = 0, np = 0;

	CHECK(kt_kconfig_line_lean_only("# CONFIG_BLOCK is not set"));
	CHECK(kt_kconfig_line_lean_only("CONFIG_HZ_1000=y"));
	CHECK(kt_kconfig_line_lean_only("CONFIG_NR_CPUS=512"));
	/* a tree of its own keeps its KASLR choice */
	CHECK(kt_kconfig_line_lean_only("CONFIG_RANDOMIZE_BASE=y"));
	CHECK(kt_kconfig_line_lean_only("CONFIG_RELOCATABLE=y"));
	CHECK(!kt_kconfig_line_lean_only("CONFIG_SCHED_CLASS_EXT=y"));
	CHECK(!kt_kconfig_line_lean_only("# CONFIG_STRICT_DEVMEM is not set"));
	CHECK(!kt_kconfig_line_lean_only("CONFIG_BLOCKX=y"));
	CHECK(!kt_kconfig_line_lean_only("# --- machine ---"));
	/* the whole fragment creates a lean machine; the part merged into an
	 * existing .config only adds what ktstr needs */
	CHECK_STR_CONTAINS(full, "# CONFIG_BLOCK is not set\n");
	CHECK_STR_CONTAINS(full, "CONFIG_EXPERT=y\n");
	CHECK(!strstr(part, "CONFIG_BLOCK"));
	CHECK(!strstr(part, "CONFIG_EXPERT"));
	CHECK(!strstr(part, "CONFIG_HZ_1000"));
	CHECK_STR_CONTAINS(part, "CONFIG_SCHED_CLASS_EXT=y\n");
	CHECK_STR_CONTAINS(part, "CONFIG_DEBUG_INFO_BTF=y\n");
	CHECK_STR_CONTAINS(part, "# CONFIG_STRICT_DEVMEM is not set\n");
	CHECK(!strstr(full, "# ---")); /* comments are not option lines */
	for (const char *p = full; (p = strchr(p, '\n')); p++)
		nf++;
	for (const char *p = part; (p = strchr(p, '\n')); p++)
		np++;
	/* every lean-only option is in the fragment (the list has 16) */
	CHECK_INT_EQ((int)(nf - np), 16);
	free(full);
	free(part);
}

UNIT_TEST(kernel_releases_eol)
{
	const char *rel = "{\"releases\":[{\"moniker\":\"mainline\",\"version\":\"6.13-rc2\"},"
			  "{\"moniker\":\"stable\",\"version\":\"6.12.5\"},"
			  "{\"moniker\":\"longterm\",\"version\":\"6.6.66\"},"
			  "{\"moniker\":\"linux-next\",\"version\":\"next-20241213\"}]}";

	CHECK(!kt_releases_is_eol(rel, "6.12.117"));
	CHECK(!kt_releases_is_eol(rel, "6.6.1"));
	CHECK(!kt_releases_is_eol(rel, "6.13"));
	CHECK(kt_releases_is_eol(rel, "6.11.9"));
	CHECK(kt_releases_is_eol(rel, "5.4.280"));
	CHECK(!kt_releases_is_eol(rel, "garbage"));
	CHECK(!kt_releases_is_eol(rel, NULL));
	CHECK(!kt_releases_is_eol("not json", "6.11.9"));
	CHECK(!kt_releases_is_eol("{\"releases\":[]}", "6.11.9"));
}

UNIT_TEST(kernel_cli_download_loopback)
{
	const char *tmp = unit_tmpdir();
	char *out = NULL, *port = NULL;
	char *key = kt_cache_key_tarball("9.8.6");

	fake_kernel_env(tmp);
	/* a mirror: v9.x/linux-9.8.6.tar.xz (tree says 9.8.6), an HTML "tarball", releases.json */
	CHECK_INT_EQ(sh(&out,
			"cd %s && mkdir -p www/v9.x && sed -i 's/SUBLEVEL = 7/SUBLEVEL = 6/' "
			"tb/linux-source-9.8/Makefile && mv tb/linux-source-9.8 tb/linux-9.8.6 && "
			"tar -cJf www/v9.x/linux-9.8.6.tar.xz -C tb linux-9.8.6 && "
			"echo '<html><body>captive portal</body></html>' > "
			"www/v9.x/linux-9.8.5.tar.xz && "
			"echo '{\"releases\":[{\"moniker\":\"stable\",\"version\":\"9.8.6\"},"
			"{\"moniker\":\"mainline\",\"version\":\"9.9-rc1\"}]}' > "
			"www/releases.json",
			tmp),
		     0);
	free(out);
	CHECK_INT_EQ(sh(NULL,
			"cd %s && (python3 -u -m http.server 0 --bind 127.0.0.1 --directory "
			"www > http.log 2>&1 & echo $! > http.pid)",
			tmp),
		     0);
	for (int i = 0; i < 100; i++) {
		free(port);
		port = NULL;
		sh(&port,
		   "sed -n 's/.*port \\([0-9]*\\).*/\\1/p' %s/http.log | head -1 | tr -d '\\n'",
		   tmp);
		if (port && *port)
			break;
		usleep(50000);
	}
	CHECK(port && *port);
	setenv("KTSTR_KERNEL_MIRROR", kt_asprintf("http://127.0.0.1:%s", port), 1);
	CHECK_INT_EQ(sh(&out, "%s kernel build 9.8.6", bin()), 0);
	CHECK_STR_CONTAINS(out, "downloading http://127.0.0.1:");
	CHECK_STR_CONTAINS(out, "Kernel cached: ");
	CHECK_STR_CONTAINS(out, key);
	free(out);
	/* a prefix resolves through releases.json; already cached */
	CHECK_INT_EQ(sh(&out, "%s kernel build 9.8", bin()), 0);
	CHECK_STR_CONTAINS(out, "9.8 resolves to 9.8.6");
	CHECK_STR_CONTAINS(out, "cached kernel found");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel build 9.8.4", bin()), 1);
	CHECK_STR_CONTAINS(out, "version 9.8.4 not found. latest 9.8.x: 9.8.6");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel build 9.8.5", bin()), 1);
	CHECK_STR_CONTAINS(out, "returned an HTML page, not a kernel tarball");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel list --range 9.8..9.9 2>/dev/null", bin()), 0);
	CHECK_STR_EQ(out, "9.8.6\n"); /* mainline rows are not stable/longterm */
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel list --range 9.9..9.8", bin()), 2);
	free(out);
	/* explicit --kernel VERSION resolution downloads/builds too: here a hit */
	CHECK_INT_EQ(sh(&out, "%s kernel resolve 9.8.6", bin()), 0);
	CHECK_STR_CONTAINS(out, "label:     kernel_9_8_6");
	free(out);
	/* EOL tags: 9.8 is a listed series, then kernel.org drops it */
	CHECK_INT_EQ(sh(&out, "%s kernel list", bin()), 0);
	CHECK_STR_CONTAINS(out, "9.8.6");
	CHECK(!strstr(out, "(EOL)"));
	free(out);
	CHECK_INT_EQ(sh(NULL,
			"echo '{\"releases\":[{\"moniker\":\"mainline\",\"version\":"
			"\"9.9-rc1\"}]}' > %s/www/releases.json",
			tmp),
		     0);
	CHECK_INT_EQ(sh(&out, "%s kernel list", bin()), 0);
	CHECK_STR_CONTAINS(out, " (EOL)\n");
	CHECK_STR_CONTAINS(out, "EOL: 1 entry of a kernel series kernel.org no longer lists");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel list --json 2>/dev/null", bin()), 0);
	CHECK_STR_CONTAINS(out, "\"eol\": true");
	CHECK_STR_CONTAINS(out, "\"active_prefixes_fetch_error\": null");
	free(out);
	sh(NULL, "kill $(cat %s/http.pid)", tmp);
	/* no releases.json: EOL tags are off and the JSON says why */
	CHECK_INT_EQ(sh(&out, "%s kernel list --json 2>/dev/null", bin()), 0);
	CHECK_STR_CONTAINS(out, "\"eol\": false");
	CHECK(!strstr(out, "\"active_prefixes_fetch_error\": null"));
	free(out);
	CHECK(no_tmp_left(kt_asprintf("%s/cache", tmp)));
	free(port);
	free(key);
}

UNIT_TEST(kernel_cli_build_interrupted_leaves_nothing)
{
	const char *tmp = unit_tmpdir();
	char *out = NULL, *root = kt_asprintf("%s/cache", tmp);

	fake_kernel_env(tmp);
	setenv("FAKE_SLEEP", "30", 1);
	CHECK_INT_EQ(sh(NULL,
			"cd %s && (%s kernel build --source %s/linux-source-9.8.tar.xz "
			"> build.out 2>&1 & echo $! > build.pid)",
			tmp, bin(), tmp),
		     0);
	for (int i = 0; i < 200; i++) {
		free(out);
		out = NULL;
		sh(&out, "cat %s/build.out", tmp);
		if (out && strstr(out, "building kernel"))
			break;
		usleep(50000);
	}
	CHECK_STR_CONTAINS(out, "building kernel");
	free(out);
	usleep(200000);
	CHECK_INT_EQ(sh(&out,
			"pid=$(cat %s/build.pid); kill -INT $pid; "
			"for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; "
			"done; kill -0 $pid 2>/dev/null && echo still running; "
			"pgrep -f 'sleep 30' -P $pid; true",
			tmp),
		     0);
	CHECK_STR_EQ(out, "");
	free(out);
	CHECK(no_tmp_left(root));
	CHECK_INT_EQ(sh(&out, "%s kernel list", bin()), 0);
	CHECK_STR_CONTAINS(out, "no cached kernels");
	free(out);
	free(root);
}

UNIT_TEST(kernel_entry_lock_blocks_force_and_clean)
{
	const char *tmp = unit_tmpdir();
	char *out = NULL, *root = kt_asprintf("%s/cache", tmp), *err = NULL;
	struct kt_kernel k;
	int fd;

	fake_kernel_env(tmp);
	CHECK_INT_EQ(sh(&out, "%s kernel build --source %s/linux-source-9.8.tar.xz", bin(), tmp),
		     0);
	free(out);
	CHECK_INT_EQ(kt_kernel_resolve("9.8.7", &k, &err), 0);
	fd = kt_kernel_lock_shared(&k, &err);
	CHECK(fd >= 0);
	/* a second shared holder is fine */
	{
		int fd2 = kt_kernel_lock_shared(&k, &err);

		CHECK(fd2 >= 0);
		close(fd2);
	}
	CHECK_INT_EQ(
	    sh(&out, "%s kernel build --force --source %s/linux-source-9.8.tar.xz", bin(), tmp), 1);
	CHECK_STR_CONTAINS(out, "is locked by active test runs");
	CHECK_STR_CONTAINS(out, "pid=");
	free(out);
	CHECK_INT_EQ(sh(&out, "%s kernel clean --force", bin()), 1);
	CHECK_STR_CONTAINS(out, "in use by a running test");
	free(out);
	CHECK(kt_is_file(k.image));
	close(fd);
	CHECK_INT_EQ(
	    sh(&out, "%s kernel build --force --source %s/linux-source-9.8.tar.xz", bin(), tmp), 0);
	CHECK_STR_CONTAINS(out, "Kernel cached");
	free(out);
	/* not a cache entry: nothing to lock */
	{
		struct kt_kernel t = {0};

		CHECK_INT_EQ(kt_kernel_lock_shared(&t, &err), -1);
	}
	kt_kernel_free(&k);
	free(root);
}

UNIT_TEST(kernel_sched_ext_clang_prefers_newest_versioned)
{
	char dir[512], clang[64], strip[64];
	const char *names[] = {"clang-15", "clang-16"};

	snprintf(dir, sizeof(dir), "%s/bin", unit_tmpdir());
	kt_mkdir_p(dir, 0755);
	setenv("PATH", dir, 1);
	kt_sched_ext_clang(clang, sizeof(clang), strip, sizeof(strip));
	CHECK_STR_EQ(clang, "CLANG=clang");
	CHECK_STR_EQ(strip, "LLVM_STRIP=llvm-strip");
	for (size_t i = 0; i < 2; i++) {
		char *p = kt_asprintf("%s/%s", dir, names[i]);

		kt_write_file_atomic(p, "#!/bin/sh\n", 10, 0755);
		free(p);
	}
	kt_sched_ext_clang(clang, sizeof(clang), strip, sizeof(strip));
	CHECK_STR_EQ(clang, "CLANG=clang-16");
	CHECK_STR_EQ(strip, "LLVM_STRIP=llvm-strip-16");
}
