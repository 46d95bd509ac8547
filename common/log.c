/*
 * log.c: two log families (STYLE.md rule 8).  log_warn and fatal append
 * strerror(errno); log_warnx and fatalx do not.  Callers start each message
 * with their module: "watch-docker: reconnecting in 2s".
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/common.h"

static const char	*log_progname = "tallyman";
static enum log_level	 log_level_now = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level_now = level;
}

void
log_set_level(enum log_level level)
{
	log_level_now = level;
}

enum log_level
log_get_level(void)
{
	return log_level_now;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= TM_NELEM(log_level_names))
		return "?";
	return log_level_names[level];
}

/* Parse "error", "warning" (or "warn"), "info", "debug".  Returns 0 or -1. */
int
log_level_parse(const char *name, enum log_level *out)
{
	size_t	i;

	if (strcasecmp(name, "warn") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	for (i = 0; i < TM_NELEM(log_level_names); i++) {
		if (strcasecmp(name, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Copy src to dst (size dstlen >= 1) with every control character (C0 but
 * tab, and DEL) written as \xNN: messages quote container content (file
 * and process names), and a newline or an escape sequence in it must not
 * forge a log line or reach an operator's terminal.
 */
static void
log_escape(char *dst, size_t dstlen, const char *src)
{
	size_t			 o = 0;
	const unsigned char	*p;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			if (o + 4 >= dstlen)
				break;
			snprintf(dst + o, dstlen - o, "\\x%02x", *p);
			o += 4;
		} else {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)*p;
		}
	}
	dst[o] = '\0';
}

/*
 * Write one line to stderr, control characters escaped (log_escape).
 * with_errno appends ": strerror(errno)" using the errno the caller had
 * (saved before anything here can change it).  One fprintf per line so
 * concurrent threads do not interleave mid-line.
 */
void
log_vemit(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char	raw[2048], msg[4 * sizeof raw];
	int	saved = errno;

	if (level > log_level_now)
		return;
	vsnprintf(raw, sizeof raw, fmt, ap);
	log_escape(msg, sizeof msg, raw);
	if (with_errno)
		fprintf(stderr, "%s: %s: %s: %s\n", log_progname,
		    log_level_name(level), msg, strerror(saved));
	else
		fprintf(stderr, "%s: %s: %s\n", log_progname,
		    log_level_name(level), msg);
	errno = saved;
}

void
log_emit(enum log_level level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(level, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Allow at most rl->burst messages per rl->interval_s seconds.  Returns 1 if
 * the caller may log now.  Suppressed messages are counted; the first message
 * of the next window reports how many were suppressed.
 */
int
log_ratelimit_ok(struct log_ratelimit *rl)
{
	uint64_t	now = mono_ns();
	uint64_t	window = (uint64_t)(rl->interval_s ? rl->interval_s : 1) *
			    1000000000ull;

	if (now - rl->window_start_ns >= window) {
		if (rl->suppressed > 0)
			log_warnx("log: %llu similar messages suppressed",
			    (unsigned long long)rl->suppressed);
		rl->window_start_ns = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < (rl->burst ? rl->burst : 10)) {
		rl->count++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}
