/*
 * decode.c: tallyman-decode, records on standard input as JSON lines, so an
 * operator can see what is on the topic or in a spool segment.
 *
 *   kcat -C -b BROKER -t tallyman.inventory -f '%s\n' | tallyman-decode
 *   tallyman-decode --validate < /var/lib/tallyman/agent/spool/0000000000000003
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "schema/schema.h"

#define DECODE_READ	65536
#define DECODE_MAX	ZFRAME_MAX_RAW	/* largest message we buffer */

static const char decode_usage[] =
"Usage: tallyman-decode [--validate] [--reassemble] < INPUT\n"
"\n"
"Read tallyman wire records from standard input and print each as one JSON\n"
"object per line on standard output.\n"
"\n"
"Input (recognised by its first bytes):\n"
"  msgpack stream   messages back to back, optionally separated by newline\n"
"                   bytes, as `kcat -C -f '%s\\n'` or `kcat -C -f '%s'` print\n"
"                   them.  Newlines are skipped only where a message starts.\n"
"  spool segment    a file of the agent's spool (state.dir/spool/*): zstd\n"
"                   frames starting with \"TMZ1\", one message each.\n"
"\n"
"Output:\n"
"  By default every message is shown as it is on the wire, unknown keys\n"
"  included: keys as in schema/README.md, binaries as {\"$bin\": BASE64},\n"
"  extension types as {\"$ext\": TYPE, \"$bin\": BASE64}, invalid UTF-8 bytes\n"
"  as U+FFFD.  Parts of a split record appear as they are (\"p\", \"x\").\n"
"  Damaged input is reported in line as\n"
"      {\"error\": WHAT, \"detail\": TEXT, \"offset\": BYTE}\n"
"  and reading goes on after the next newline byte (a stream) or stops (a\n"
"  damaged spool frame; frames before it are shown).\n"
"\n"
"Options:\n"
"  --validate     decode every record as the collector does (type and size\n"
"                 checks, required keys, bounds) and print it as decoded:\n"
"                 unknown keys are dropped.  A rejected record prints\n"
"                     {\"rejected\": REASON, \"detail\": TEXT, \"offset\": BYTE}\n"
"                 with REASON one of malformed, too_large, too_deep, not_map,\n"
"                 wrong_type, missing_key, string_too_long, array_too_long,\n"
"                 unknown_kind, newer_major, bad_value, bad_part.\n"
"  --reassemble   join the parts of split records (over 512 KiB) and print\n"
"                 the whole record once its last part has arrived.  Records\n"
"                 still missing parts at the end are reported as an error.\n"
"  -h, --help     print this help and exit\n"
"  -V, --version  print the version and exit\n"
"\n"
"Exit status: 0 when every message was read and (with --validate) accepted;\n"
"1 when input was damaged, a record was rejected or left incomplete; 2 on a\n"
"usage or read error.\n";

struct decode {
	int		 validate;
	int		 reassemble;
	struct tm_reasm	*ra;
	uint64_t	 messages;
	uint64_t	 problems;
};

static void
decode_print(json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(j);
	fflush(stdout);
}

/* Report damaged input or a rejection in line: {"error"|"rejected": ...}. */
static void
decode_report(struct decode *d, const char *what, const char *name,
    const char *detail, uint64_t offset)
{
	d->problems++;
	decode_print(json_pack("{s:s, s:s, s:I}", what, name, "detail",
	    detail != NULL ? detail : "", "offset", (json_int_t)offset));
}

/* One complete message (or part) at absolute offset. */
static void
decode_message(struct decode *d, const uint8_t *msg, size_t len, uint64_t offset)
{
	struct tm_record rec;
	char		 detail[512];
	enum tm_reject	 r;
	uint8_t		*joined = NULL;
	size_t		 joinedlen = 0;
	int		 complete = 1;
	json_t		*j;

	d->messages++;
	if (d->validate) {
		if (d->reassemble)
			r = tm_reasm_feed(d->ra, msg, len, &rec, &complete,
			    detail, sizeof(detail));
		else
			r = tm_decode(msg, len, &rec, detail, sizeof(detail));
		if (r != TM_OK) {
			decode_report(d, "rejected", tm_reject_name(r), detail,
			    offset);
			return;
		}
		if (complete) {
			decode_print(tm_record_to_json(&rec));
			tm_record_free(&rec);
		}
		return;
	}
	if (d->reassemble) {
		r = tm_reasm_join(d->ra, msg, len, &joined, &joinedlen,
		    &complete, detail, sizeof(detail));
		if (r != TM_OK) {
			decode_report(d, "error", tm_reject_name(r), detail, offset);
			return;
		}
		if (!complete)
			return;
		msg = joined;
		len = joinedlen;
	}
	if ((j = tm_msgpack_to_json(msg, len, detail, sizeof(detail))) == NULL)
		decode_report(d, "error", "malformed", detail, offset);
	else
		decode_print(j);
	free(joined);
}

/*
 * Decode the messages in buf[0..len) (absolute offset base).  With final,
 * the buffer is all there is; otherwise stop at an incomplete message.
 * Returns the bytes consumed.
 */
static size_t
decode_stream(struct decode *d, const uint8_t *buf, size_t len, uint64_t base,
    int final)
{
	size_t		 pos = 0, objlen;
	int		 need_more;
	enum tm_reject	 r;
	const uint8_t	*nl;

	while (pos < len) {
		if (buf[pos] == '\n') {		/* a separator, not a message */
			pos++;
			continue;
		}
		r = tm_scan(buf + pos, len - pos, &objlen, &need_more);
		if (r == TM_OK) {
			decode_message(d, buf + pos, objlen, base + pos);
			pos += objlen;
			continue;
		}
		if (r == TM_REJ_MALFORMED && need_more && !final &&
		    len - pos < DECODE_MAX)
			break;			/* read more */
		decode_report(d, "error", tm_reject_name(r),
		    r == TM_REJ_TOO_DEEP ? "nesting too deep" :
		    need_more ? (len - pos >= DECODE_MAX ?
		    "message larger than 64 MiB" : "truncated message at the end") :
		    "not msgpack (invalid type byte)", base + pos);
		/* Resynchronise after the next newline, if there is one. */
		nl = memchr(buf + pos, '\n', len - pos);
		pos = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	return pos;
}

/*
 * Decode spool frames in buf[0..len).  Returns the bytes consumed, or
 * (size_t)-1 when a damaged frame stops the segment.
 */
static size_t
decode_frames(struct decode *d, const uint8_t *buf, size_t len, uint64_t base,
    int final)
{
	size_t			 pos = 0, framelen, rawlen;
	uint8_t			*raw;
	enum zframe_status	 st;
	char			 detail[128];

	while (pos < len) {
		st = zframe_decode(buf + pos, len - pos, &framelen, &raw, &rawlen);
		if (st == ZFRAME_OK) {
			decode_stream(d, raw, rawlen, base + pos, 1);
			free(raw);
			pos += framelen;
			continue;
		}
		if (st == ZFRAME_SHORT && !final)
			break;
		snprintf(detail, sizeof(detail), "spool frame: %s%s",
		    zframe_status_name(st), st == ZFRAME_SHORT ?
		    " (the segment ends inside a frame)" : "");
		decode_report(d, "error", "bad_frame", detail, base + pos);
		return (size_t)-1;
	}
	return pos;
}

/* Read standard input to the end, decoding as it comes.  Returns 0 or -1. */
static int
decode_input(struct decode *d, int fd)
{
	uint8_t		*buf = NULL;
	size_t		 len = 0, cap = 0, used;
	uint64_t	 base = 0;
	ssize_t		 n;
	int		 eof = 0, frames = -1;	/* -1: not known yet */

	while (!eof || len > 0) {
		if (!eof) {
			if (cap - len < DECODE_READ) {
				cap = cap == 0 ? 4 * DECODE_READ : cap * 2;
				buf = xreallocarray(buf, 1, cap);
			}
			n = read(fd, buf + len, cap - len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				log_warn("decode: read");
				free(buf);
				return -1;
			}
			if (n == 0)
				eof = 1;
			len += (size_t)n;
		}
		if (frames == -1) {
			if (len < 4 && !eof)
				continue;
			frames = len >= 4 && memcmp(buf, "TMZ1", 4) == 0;
		}
		used = frames ? decode_frames(d, buf, len, base, eof) :
		    decode_stream(d, buf, len, base, eof);
		if (used == (size_t)-1)
			break;		/* a damaged frame ends the segment */
		memmove(buf, buf + used, len - used);
		len -= used;
		base += used;
		if (eof)
			break;
		/* Keep what is incomplete, bounded: a message over DECODE_MAX
		 * was reported by decode_stream; frames are ZFRAME_MAX_RAW. */
		if (len > DECODE_MAX + ZFRAME_HDR + 1024) {
			decode_report(d, "error", "too_large",
			    "more than 64 MiB without a complete message", base);
			break;
		}
	}
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "validate", no_argument, NULL, 'v' },
		{ "reassemble", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct decode		 d;
	struct tm_reasm_stats	 st;
	char			 detail[128];
	int			 ch, rc;

	memset(&d, 0, sizeof(d));
	log_init("tallyman-decode", LOG_LEVEL_WARN);
	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			d.validate = 1;
			break;
		case 'r':
			d.reassemble = 1;
			break;
		case 'h':
			fputs(decode_usage, stdout);
			return 0;
		case 'V':
			printf("tallyman-decode %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs(decode_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tallyman-decode: reads standard input only "
		    "(unexpected argument \"%s\")\n", argv[optind]);
		return 2;
	}
	/* Bounds: 64 records being joined, up to the largest split record. */
	if (d.reassemble)
		d.ra = tm_reasm_new(64, (size_t)TM_PARTS_MAX * TM_PART_MAX);
	rc = decode_input(&d, STDIN_FILENO);
	if (d.ra != NULL) {
		tm_reasm_stats(d.ra, &st);
		if (st.pending > 0 || st.evicted > 0) {
			snprintf(detail, sizeof(detail), "%zu split records still "
			    "missing parts at the end, %" PRIu64 " dropped "
			    "(bounds)", st.pending, st.evicted);
			decode_report(&d, "error", "incomplete", detail, 0);
		}
		tm_reasm_free(d.ra);
	}
	if (rc == -1)
		return 2;
	return d.problems > 0 ? 1 : 0;
}
