/*
 * schema-samples.c: sample output of the real encoder, for the scripts that
 * check it with independent tools (tests/integ/schema-*.sh).
 *
 *   schema-samples --fields         the field tables as TSV, one field a line:
 *                                   struct key type required max emax check
 *                                   oneof sub doc
 *   schema-samples --json DIR       DIR/KIND-full.json, DIR/KIND-min.json (every
 *                                   member set / required only) and
 *                                   DIR/part.json (a part of a split record):
 *                                   the encoder's bytes converted to JSON
 *   schema-samples --msgpack        the same records as a msgpack stream on
 *                                   stdout, then the parts of a split image
 *       [--newline]                 with a newline byte after each message
 *   schema-samples --segment        the same messages as a spool segment:
 *                                   common/zframe frames, one per message
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "schema/schema.h"
#include "tests/unit/schema-fixtures.h"

static const enum tm_kind kinds[] = {
	TM_KIND_HOST, TM_KIND_HEARTBEAT, TM_KIND_EVENT, TM_KIND_CONTAINER,
	TM_KIND_IMAGE, TM_KIND_DRIFT,
};

static const char *const type_names[] = {
	[TM_F_STR] = "str", [TM_F_U64] = "u64", [TM_F_I64] = "i64",
	[TM_F_BOOL] = "bool", [TM_F_STRLIST] = "strlist",
	[TM_F_KVLIST] = "kvlist", [TM_F_STRUCT] = "struct",
	[TM_F_ARRAY] = "array", [TM_F_KIND] = "kind", [TM_F_BODY] = "body",
};
static const char *const check_names[] = {
	[TM_CHECK_NONE] = "-", [TM_CHECK_NONEMPTY] = "nonempty",
	[TM_CHECK_SHA256] = "sha256", [TM_CHECK_ONEOF] = "oneof",
};

static void
dump_desc(const struct tm_desc *d, const struct tm_desc **seen, size_t *nseen)
{
	size_t	 i, j;

	for (i = 0; i < *nseen; i++) {
		if (seen[i] == d)
			return;
	}
	seen[(*nseen)++] = d;
	for (i = 0; i < d->nfields; i++) {
		const struct tm_field *f = &d->fields[i];
		unsigned max = f->max, emax = f->emax;

		/* The effective bounds, as the codec applies them. */
		if (max == 0 && (f->type == TM_F_STR || f->type == TM_F_KIND))
			max = TM_STR_MAX;
		if (max == 0 && (f->type == TM_F_STRLIST ||
		    f->type == TM_F_KVLIST || f->type == TM_F_ARRAY))
			max = TM_LIST_MAX;
		if (f->type == TM_F_STRLIST && emax == 0)
			emax = TM_STR_MAX;
		if (f->type == TM_F_KVLIST)
			emax = TM_STR_MAX;
		printf("%s\t%s\t%s\t%s\t%u\t%u\t%s\t", d->name, f->key,
		    type_names[f->type], f->required ? "required" : "optional",
		    max, emax, check_names[f->check]);
		for (j = 0; f->oneof != NULL && f->oneof[j] != NULL; j++)
			printf("%s%s", j ? "," : "", f->oneof[j]);
		printf("%s\t%s\t%s\n", j ? "" : "-",
		    f->sub != NULL ? f->sub->name : "-", f->doc);
	}
	for (i = 0; i < d->nfields; i++) {
		if (d->fields[i].sub != NULL)
			dump_desc(d->fields[i].sub, seen, nseen);
	}
}

static void
dump_fields(void)
{
	const struct tm_desc	*seen[64];
	size_t			 nseen = 0, i;

	dump_desc(tm_envelope_desc(), seen, &nseen);
	for (i = 0; i < TM_NELEM(kinds); i++)
		dump_desc(tm_kind_desc(kinds[i]), seen, &nseen);
}

static void
encode_or_die(const struct tm_record *rec, msgpack_sbuffer *sb)
{
	msgpack_sbuffer_init(sb);
	if (tm_encode(rec, sb) == -1)
		fatalx("schema-samples: encode failed");
}

static void
write_json(const char *dir, const char *name, const void *buf, size_t len)
{
	char	 path[4096], detail[256];
	json_t	*j;

	j = tm_msgpack_to_json(buf, len, detail, sizeof(detail));
	if (j == NULL)
		fatalx("schema-samples: %s: %s", name, detail);
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if (json_dump_file(j, path, JSON_INDENT(1) | JSON_SORT_KEYS) == -1)
		fatalx("schema-samples: cannot write %s", path);
	json_decref(j);
}

struct first_part {
	char	*buf;
	size_t	 len;
	FILE	*out;
	int	 newline;
	int	 frames;
};

/* Write one message to out: as it is, or as a spool frame. */
static void
put_message(FILE *out, const void *msg, size_t len, int newline, int frames)
{
	uint8_t	*f = NULL;
	size_t	 flen = 0, fcap = 0;

	if (!frames) {
		fwrite(msg, 1, len, out);
		if (newline)
			fputc('\n', out);
		return;
	}
	if (zframe_encode(msg, len, 3, &f, &flen, &fcap) == -1)
		fatalx("schema-samples: zframe_encode failed");
	fwrite(f, 1, flen, out);
	free(f);
}

static int
part_cb(const void *part, size_t len, void *arg)
{
	struct first_part *fp = arg;

	if (fp->out != NULL)
		put_message(fp->out, part, len, fp->newline, fp->frames);
	else if (fp->buf == NULL) {
		fp->buf = xmalloc(len);
		memcpy(fp->buf, part, len);
		fp->len = len;
	}
	return 0;
}

static void
samples(const char *dir, FILE *out, int newline, int frames)
{
	struct tm_record	 rec;
	msgpack_sbuffer		 sb;
	struct first_part	 fp = { .out = out, .newline = newline,
	    .frames = frames };
	char			 name[64];
	size_t			 i;
	int			 full;

	for (i = 0; i < TM_NELEM(kinds); i++) {
		for (full = 1; full >= 0; full--) {
			fx_record(&rec, kinds[i], full);
			encode_or_die(&rec, &sb);
			snprintf(name, sizeof(name), "%s-%s",
			    tm_kind_name(kinds[i]), full ? "full" : "min");
			if (dir != NULL)
				write_json(dir, name, sb.data, sb.size);
			if (out != NULL)
				put_message(out, sb.data, sb.size, newline,
				    frames);
			msgpack_sbuffer_destroy(&sb);
			tm_record_free(&rec);
		}
	}
	/* A record too large for one message: its parts. */
	fx_big_image(&rec, 12000, 424242);
	encode_or_die(&rec, &sb);
	if (tm_split(sb.data, sb.size, part_cb, &fp) == -1)
		fatalx("schema-samples: split failed");
	if (dir != NULL)
		write_json(dir, "part", fp.buf, fp.len);
	free(fp.buf);
	msgpack_sbuffer_destroy(&sb);
	tm_record_free(&rec);
}

int
main(int argc, char **argv)
{
	log_init("schema-samples", LOG_LEVEL_WARN);
	if (argc == 2 && strcmp(argv[1], "--fields") == 0)
		dump_fields();
	else if (argc == 3 && strcmp(argv[1], "--json") == 0)
		samples(argv[2], NULL, 0, 0);
	else if (argc >= 2 && strcmp(argv[1], "--msgpack") == 0)
		samples(NULL, stdout, argc == 3 && strcmp(argv[2], "--newline") == 0,
		    0);
	else if (argc == 2 && strcmp(argv[1], "--segment") == 0)
		samples(NULL, stdout, 0, 1);
	else {
		fprintf(stderr, "usage: schema-samples --fields | --json DIR | "
		    "--msgpack [--newline] | --segment\n");
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
