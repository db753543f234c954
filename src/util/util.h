/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers: messages, strings, files, child processes, cleanup on
 * signals, CRC32, time, and (from the public <ktstr/cpuset.h>) CPU sets.
 * Every other module builds on these.
 */
#ifndef KTSTR_UTIL_H
#define KTSTR_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ktstr/cpuset.h>

#define KT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "0.1.0 (<git describe>)", generated at build time (Makefile). */
extern const char kt_version[];

/* ---- messages ---------------------------------------------------------- */

/* Label used in front of messages ("ktstr" unless changed). */
void kt_set_label(const char *label);
const char *kt_label(void);

/* "ktstr: error: <msg>" on stderr. */
void kt_err(const char *fmt, ...) KT_PRINTF(1, 2);
/* "ktstr: warning: <msg>" on stderr (blue on a TTY). */
void kt_warn(const char *fmt, ...) KT_PRINTF(1, 2);
/* "ktstr: <msg>" on stderr. */
void kt_info(const char *fmt, ...) KT_PRINTF(1, 2);
/* Bold status / green success lines on stderr ("ktstr: " prefixed). */
void kt_status(const char *fmt, ...) KT_PRINTF(1, 2);
void kt_success(const char *fmt, ...) KT_PRINTF(1, 2);

enum kt_level { KT_LOG_OFF, KT_LOG_ERROR, KT_LOG_WARN, KT_LOG_INFO, KT_LOG_DEBUG, KT_LOG_TRACE };

/*
 * Log filter from KTSTR_LOG (else RUST_LOG): "level" or "target=level"
 * entries separated by commas; the longest matching target prefix wins.
 * Default: info.
 */
bool kt_log_enabled(const char *target, enum kt_level level);
void kt_log(const char *target, enum kt_level level, const char *fmt, ...) KT_PRINTF(3, 4);
/* Parse a filter spec; pure, for tests. Returns the level for target. */
enum kt_level kt_log_filter_level(const char *spec, const char *target);
/* Re-read KTSTR_LOG / RUST_LOG (the filter is otherwise cached). */
void kt_log_reload(void);

#define kt_debug(target, ...) kt_log(target, KT_LOG_DEBUG, __VA_ARGS__)

/* ---- growable strings ---------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len;
	size_t cap;
};

#define SBUF_INIT {NULL, 0, 0}
void sb_init(struct sbuf *sb);
void sb_free(struct sbuf *sb);
int sb_add(struct sbuf *sb, const void *data, size_t len);
int sb_adds(struct sbuf *sb, const char *s);
int sb_addf(struct sbuf *sb, const char *fmt, ...) KT_PRINTF(2, 3);
int sb_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
/* Always NUL-terminated (even when empty). Never NULL after a successful add. */
const char *sb_str(struct sbuf *sb);
/* Hand the buffer to the caller (free() it); sb is reset. */
char *sb_steal(struct sbuf *sb);

/*
 * Terminal-safe text from an untrusted source (the guest) for the user's
 * terminal: printable ASCII, '\t', '\n' and well-formed UTF-8 pass; '\r'
 * is dropped; ESC and every other C0 control, DEL, the C1 controls
 * (U+0080..U+009F) and malformed UTF-8 are shown as "\xNN" per byte.
 * Everything the guest says goes through this except the interactive
 * shell's raw relay. kt_term_safe: whole text, malloc'd. The filter is for
 * streams: a UTF-8 sequence split between two feeds is kept for the next;
 * crlf writes "\r\n" for '\n' (for a terminal in raw mode).
 */
struct kt_term_filter {
	unsigned char pend[4];
	unsigned npend, need;
	bool crlf;
};
void kt_term_filter_feed(struct kt_term_filter *f, const void *in, size_t n, struct sbuf *out);
/* Show a sequence left incomplete at the end of the stream. */
void kt_term_filter_flush(struct kt_term_filter *f, struct sbuf *out);
char *kt_term_safe(const char *s, size_t n);

char *kt_strdup(const char *s);  /* aborts on OOM */
void *kt_malloc(size_t n);       /* aborts on OOM */
void *kt_calloc(size_t n, size_t sz);
void *kt_realloc(void *p, size_t n);
char *kt_asprintf(const char *fmt, ...) KT_PRINTF(1, 2);
/*
 * The `char **err` convention: set *err to a new malloc'd message for the
 * caller to free. A previous value is overwritten, not freed (callers may
 * reuse a freed pointer variable). err == NULL: ignored.
 */
void kt_set_err(char **err, const char *fmt, ...) KT_PRINTF(2, 3);
/* Strip leading/trailing whitespace in place; returns s moved past leading. */
char *kt_trim(char *s);
bool kt_startswith(const char *s, const char *prefix);
bool kt_endswith(const char *s, const char *suffix);
/* Strict unsigned parse: digits only (after trimming spaces), no overflow. */
int kt_parse_u64(const char *s, uint64_t *out);
int kt_parse_i64(const char *s, int64_t *out);

/* ---- files --------------------------------------------------------------- */

/* Read a whole file (at most max bytes, 0 = 256 MiB). Result is NUL-terminated. */
int kt_read_file(const char *path, char **out, size_t *len, size_t max);
/* Write via a temporary in the same directory, fsync, rename. */
int kt_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
int kt_mkdir_p(const char *path, mode_t mode);
/* rm -rf; a missing path is success. */
int kt_rm_rf(const char *path);
bool kt_exists(const char *path);
bool kt_is_dir(const char *path);
bool kt_is_file(const char *path);
char *kt_path_join(const char *a, const char *b);
int kt_copy_file(const char *src, const char *dst, mode_t mode);
/* Directory holding the running executable. */
char *kt_self_exe(void);

/* ---- child processes --------------------------------------------------- */

struct kt_run_opts {
	const char *cwd;         /* NULL: inherit */
	const char *log_path;    /* all output appended here when set */
	/* Called for every output line (stdout and stderr merged). */
	void (*on_line)(void *ctx, const char *line);
	void *ctx;
	bool passthrough;        /* copy output to our stderr */
	char *const *env_add;    /* "K=V" entries added to the environment */
	struct sbuf *capture;    /* collect output here when set */
	bool capture_stdout_only;/* capture: ignore stderr */
};

/*
 * Run argv[0] (PATH lookup) in its own process group, registered for
 * cleanup so that Ctrl-C kills it. Returns 0 and the exit status in
 * *status (a signal death is 128+sig), or a negative errno when it could
 * not be started.
 */
int kt_run(char *const argv[], const struct kt_run_opts *opts, int *status);
/*
 * fork() with a pipe from the child to the parent, both ends close-on-exec.
 * The parent gets the child's pid and the read end in *fd; the child gets
 * 0 and the write end in *fd, and is sent pdeath_sig when the parent
 * dies. A negative errno when the pipe or the fork failed.
 */
pid_t kt_fork_piped(int *fd, int pdeath_sig);
/* Convenience: run and capture stdout, trimmed. 0 only if exit status 0. */
int kt_run_capture(char *const argv[], const char *cwd, char **out);

/* ---- cleanup on exit and on signals --------------------------------------- */

/*
 * Install SIGINT/SIGTERM/SIGHUP handlers: they kill registered process
 * groups (SIGKILL), remove registered paths (recursively) and exit with
 * 128+signal. Paths and pids are held in fixed tables; no allocation in
 * the handler.
 */
void kt_cleanup_install(void);
/*
 * Install handler for SIGINT, SIGTERM and SIGHUP (and SIGPIPE when
 * with_pipe); mask_all blocks every signal while it runs.
 */
void kt_stop_signals_install(void (*handler)(int), bool mask_all, bool with_pipe);
int kt_cleanup_add_path(const char *path);
void kt_cleanup_del_path(const char *path);
/* pid > 0: that process; pid < 0: process group -pid. */
int kt_cleanup_add_pid(pid_t pid);
void kt_cleanup_del_pid(pid_t pid);
/* Run the cleanup now (used on normal error exits). */
void kt_cleanup_run(void);
/*
 * on: the first SIGINT/SIGTERM/SIGHUP only sets kt_interrupted(), so the
 * caller can stop its work and report; a second one cleans up and exits
 * as usual.
 */
void kt_cleanup_defer(bool on);
/* Nonzero once a termination signal arrived (signal number). */
int kt_interrupted(void);

/* ---- misc ---------------------------------------------------------------- */

/* CRC32 (IEEE, zlib) of data. */
uint32_t kt_crc32(const void *data, size_t len);
uint32_t kt_crc32_update(uint32_t crc, const void *data, size_t len);
uint64_t kt_now_ns(void);          /* CLOCK_MONOTONIC */
/* "YYYY-MM-DDTHH:MM:SSZ" for t (UTC) into buf (>= 21 bytes). */
void kt_utc_timestamp(time_t t, char *buf, size_t len);
/* Parse that format back; 0 on success. */
int kt_parse_utc_timestamp(const char *s, time_t *out);
bool kt_isatty_stderr(void);
bool kt_isatty_stdout(void);
/* Environment variable, NULL when unset or empty. */
const char *kt_getenv(const char *name);

#endif
