/*
 * common.h: the few helpers both tallyman programs need.  Nothing here knows
 * about the agent, the collector or the wire format.
 */
#ifndef TALLYMAN_COMMON_H
#define TALLYMAN_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define TM_ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TM_ATTR_NORETURN __attribute__((noreturn))
#define TM_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* log.c */
enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};
/*
 * Messages go to stderr as "PROG: LEVEL: module: text" (the caller writes the
 * module prefix).  log_warn/fatal append strerror(errno); the x variants do
 * not.  fatal/fatalx exit(1): only for impossible states and allocation
 * failure.
 */
void	log_init(const char *progname, enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
int	log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
void	log_warn(const char *fmt, ...) TM_ATTR_PRINTF(1, 2);
void	log_warnx(const char *fmt, ...) TM_ATTR_PRINTF(1, 2);
void	log_info(const char *fmt, ...) TM_ATTR_PRINTF(1, 2);
void	log_debug(const char *fmt, ...) TM_ATTR_PRINTF(1, 2);
void	log_emit(enum log_level level, const char *fmt, ...) TM_ATTR_PRINTF(2, 3);
void	log_vemit(enum log_level level, int with_errno, const char *fmt, va_list ap)
	    TM_ATTR_PRINTF(3, 0);
void	fatal(const char *fmt, ...) TM_ATTR_PRINTF(1, 2) TM_ATTR_NORETURN;
void	fatalx(const char *fmt, ...) TM_ATTR_PRINTF(1, 2) TM_ATTR_NORETURN;
/* Rate limit: at most burst messages per interval per limiter; returns 1 to log. */
struct log_ratelimit {
	uint64_t window_start_ns;
	unsigned interval_s;
	unsigned burst;
	unsigned count;
	uint64_t suppressed;
};
int	log_ratelimit_ok(struct log_ratelimit *rl);

/* xmalloc.c: allocation failure is fatal. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *p, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
int	xasprintf(char **ret, const char *fmt, ...) TM_ATTR_PRINTF(2, 3);
uint64_t now_ns(void);		/* CLOCK_REALTIME in ns */
uint64_t mono_ns(void);		/* CLOCK_MONOTONIC in ns */

/* config.c: the declarative configuration table (STYLE.md rule 7). */
enum cfg_type {
	CFG_STRING,	/* char * (owned by the struct, freed by cfg_free) */
	CFG_INT,	/* int64_t */
	CFG_BOOL,	/* int: yes/no/true/false/on/off/1/0 */
	CFG_SIZE,	/* uint64_t bytes: 512, 64K, 100M, 2G (binary units) */
	CFG_DURATION,	/* uint64_t ns: 250ms, 30s, 5m, 1h, 7d; a bare number is s */
	CFG_LIST,	/* char * holding a comma-separated list, as written */
	CFG_PASSTHROUGH	/* key ends in ".*": unknown keys with that prefix
			   are collected in struct cfg_passthrough at .offset */
};
struct cfg_entry {
	const char	*key;		/* "kafka.brokers", or "kafka.*" */
	enum cfg_type	 type;
	const char	*def;		/* default as it would be written, or NULL */
	size_t		 offset;	/* offsetof() into the caller's struct */
	const char	*help;		/* one line for --help and the man page */
	int64_t		 min, max;	/* CFG_INT bounds when min < max */
	/*
	 * Optional extra check for CFG_STRING and CFG_LIST values: returns 0 if
	 * value is acceptable, else -1 with *why set to a static reason
	 * ("expected error, warning, info or debug").
	 */
	int		(*check)(const char *value, const char **why);
};
struct cfg_pair {
	char	*key;			/* without the prefix: "security.protocol" */
	char	*value;
	unsigned line;
};
struct cfg_passthrough {
	struct cfg_pair *pairs;
	size_t	 n;
};
/*
 * Fill every field with its default; base must be zero-filled.  Strings and
 * lists are never NULL afterwards (a NULL default is "").  Returns 0, or -1
 * (logged) if a default does not parse: a bug in the table.
 * Order at start-up: cfg_defaults, cfg_load_file, then each -o with cfg_set.
 */
int	cfg_defaults(const struct cfg_entry *table, size_t n, void *base);
/*
 * Parse a "key = value" file (# comments at the start of a line, blank lines,
 * optional double quotes, lines up to 4096 bytes) into base.  A key may be set
 * once per file.  On error returns -1 and writes "FILE:LINE: reason: text" to
 * err (reasons: unknown key, bad key, bad value (...), duplicate key, line
 * too long, missing '=', unterminated quote); base must still be cfg_free'd.
 */
int	cfg_load_file(const struct cfg_entry *table, size_t n, void *base,
	    const char *path, char *err, size_t errlen);
/* Set one key from a string (for -o key=value); errors as "reason: key=value". */
int	cfg_set(const struct cfg_entry *table, size_t n, void *base,
	    const char *key, const char *value, char *err, size_t errlen);
/* Print the table as --help text: key, default, help. */
void	cfg_print_help(FILE *fp, const struct cfg_entry *table, size_t n);
/*
 * Print the effective configuration as a file cfg_load_file accepts.  Values
 * are masked for keys containing "password", "secret", "token", "webhook",
 * ".pem" or "oauthbearer.config", unless the key ends in "_file" or
 * ".location" (a path to a secret, not the secret).
 */
void	cfg_print(FILE *fp, const struct cfg_entry *table, size_t n, const void *base);
/* Free the strings and passthrough pairs the table owns inside base. */
void	cfg_free(const struct cfg_entry *table, size_t n, void *base);
/*
 * Split a CFG_LIST value into a NULL-terminated array of trimmed, non-empty
 * items (never NULL; caller frees with cfg_list_free).
 */
char	**cfg_list_split(const char *value, size_t *count);
void	cfg_list_free(char **list);
int	cfg_parse_size(const char *s, uint64_t *out);
int	cfg_parse_duration(const char *s, uint64_t *out_ns);
/* Ready-made .check functions. */
int	cfg_check_log_level(const char *value, const char **why);
int	cfg_check_nonempty(const char *value, const char **why);
int	cfg_check_name(const char *value, const char **why);	/* [A-Za-z0-9._-]{1,249} */

/* cli.c: options both programs share (-c/--config, -o, --log-level,
 * --check-config, -h, -V); options stop at the subcommand. */
struct cli_opts {
	const char	*config_path;	/* --config FILE, or NULL */
	const char	*log_level;	/* --log-level, or NULL */
	const char	**overrides;	/* "key=value" from -o, into argv */
	size_t		 noverrides;
	int		 check_config;
	int		 help;
	int		 version;
	int		 argi;		/* argv index of the subcommand */
};
/* Parse argv into o (zeroed by the caller).  -1: usage error, printed. */
int	cli_parse(const char *prog, int argc, char **argv, struct cli_opts *o);
void	cli_free(struct cli_opts *o);
/*
 * Defaults, then the file (o->config_path, else default_path, which may be
 * missing), then each -o, then --log-level; sets the log level from
 * "log.level".  *used is the file read or NULL.  Returns 0, or -1 with the
 * error logged as "config: FILE:LINE: reason: text".  cfg_free base after.
 */
int	cli_load_config(const struct cli_opts *o, const struct cfg_entry *table,
	    size_t n, void *base, const char *default_path, const char **used);
void	cli_print_options(FILE *fp, const char *default_path);

/* safefile.c: access to files inside an untrusted root (a container). */
/*
 * Open ROOT (a host path we trust, e.g. "/proc/123/root" or a layer folder)
 * as an O_PATH directory descriptor, checking that the kernel has openat2
 * (Linux >= 5.6; else -1 with errno ENOSYS, logged once).  Returns the fd or -1.
 */
int	safe_root_open(const char *root);
/* The same, root relative to dirfd (openat semantics). */
int	safe_root_openat(int dirfd, const char *root);
/*
 * Open PATH relative to rootfd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), so that ".." and absolute
 * symlinks stay inside the root and mounts inside it are not entered (EXDEV).
 * Read-only: O_RDONLY with optional O_DIRECTORY, O_NOFOLLOW or O_PATH; write
 * flags fail with EPERM.  O_NOCTTY, O_CLOEXEC and O_NONBLOCK are always
 * added.  Unless O_PATH is given, only a regular file or a directory is ever
 * opened (checked on an O_PATH descriptor first): a FIFO, device or socket
 * fails with EINVAL without being opened.  Returns the fd or -1 with errno.
 */
int	safe_openat(int rootfd, const char *path, int flags);
/*
 * Read the regular file PATH inside rootfd, at most max bytes (the read is
 * bounded, whatever st_size says).  A directory fails with EISDIR, any other
 * non-regular file (FIFO, device, socket, symlink) with EINVAL, a file larger
 * than max with EFBIG.  On success *buf (NUL-terminated, caller frees) and
 * *len are set.  Returns 0 or -1 with errno set.
 */
int	safe_read_file(int rootfd, const char *path, size_t max, char **buf, size_t *len);
/* The same, for an fd the caller opened (must be a regular file). */
int	safe_read_fd(int fd, size_t max, char **buf, size_t *len);
/*
 * Copy the regular file PATH inside rootfd to dstpath on the host (created
 * or truncated, mode 0600, not through a symlink), at most max bytes, with
 * the errors of safe_read_file; dstpath is removed on failure.  Returns 0/-1.
 */
int	safe_copy_out(int rootfd, const char *path, const char *dstpath, uint64_t max);

/* crc32c.c */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* zframe.c: zstd frames with a length and a checksum, for the spool. */
/*
 * Frame layout (little-endian):
 *   u32 magic "TMZ1" | u32 compressed length | u32 raw length |
 *   u32 crc32c(header[0..12) + payload) | payload (one zstd frame)
 */
#define ZFRAME_HDR	16
#define ZFRAME_MAX_RAW	(64u * 1024 * 1024)
enum zframe_status {
	ZFRAME_OK = 0,
	ZFRAME_SHORT,		/* not enough bytes: a torn tail */
	ZFRAME_BAD_MAGIC,
	ZFRAME_BAD_LENGTH,
	ZFRAME_BAD_CHECKSUM,
	ZFRAME_BAD_PAYLOAD,	/* zstd refused it, or raw length mismatch */
};
/* Compress raw into a new frame appended to *out (grown with realloc). */
int	zframe_encode(const void *raw, size_t rawlen, int level,
	    uint8_t **out, size_t *outlen, size_t *outcap);
/*
 * Check and decode one frame at buf[0..len).  On ZFRAME_OK, *framelen is the
 * bytes consumed and *raw (caller frees) / *rawlen the payload.
 */
enum zframe_status zframe_decode(const uint8_t *buf, size_t len,
	    size_t *framelen, uint8_t **raw, size_t *rawlen);
const char *zframe_status_name(enum zframe_status st);

/* sha256.c: SHA-256 (own implementation, FIPS 180-4). */
struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	uint8_t  buf[64];
	size_t   used;
};
void	sha256_init(struct sha256_ctx *c);
void	sha256_update(struct sha256_ctx *c, const void *p, size_t n);
void	sha256_final(struct sha256_ctx *c, uint8_t out[32]);
void	sha256_hex(const uint8_t digest[32], char out[65]);

/* curl-uv.c: libcurl's multi interface driven by a libuv loop. */
struct curluv;
typedef struct uv_loop_s uv_loop_t;
typedef void CURL;
/* done(easy, result, arg): called once per transfer; the callee owns easy. */
typedef void (*curluv_done_cb)(CURL *easy, int result, void *arg);
struct curluv *curluv_new(uv_loop_t *loop);
/* Start a transfer; the multi handle drives it.  Returns 0 or -1.
 * curl-uv owns the easy handle's CURLOPT_PRIVATE.  Safe from callbacks. */
int	curluv_add(struct curluv *cu, CURL *easy, curluv_done_cb done, void *arg);
/* Abort a transfer early (done is not called); caller still owns easy. */
void	curluv_remove(struct curluv *cu, CURL *easy);
/* Abort a transfer early; done(easy, CURLE_ABORTED_BY_CALLBACK) runs on a
 * later loop turn.  Safe anywhere, including inside libcurl callbacks. */
void	curluv_cancel(struct curluv *cu, CURL *easy);
/* Abort everything, release uv handles (asynchronously, via uv_close). */
void	curluv_free(struct curluv *cu);

#endif /* TALLYMAN_COMMON_H */
