/*
 * fuzz-decode.c: the wire decoder (schema/codec.c, schema/split.c) on
 * hostile messages, as the collector receives them from Kafka.
 *
 * The input is a sequence of messages (fuzz_next chunks).  The first is
 * decoded with tm_decode; every one is fed to one reassembler
 * (tm_reasm_feed), as a partition's messages are.  Properties:
 *   - a rejection leaves the record empty and names a known reason;
 *   - a decoded record re-encodes (tm_encode accepts what tm_decode
 *     accepted), decodes again, and encodes to the very same bytes
 *     (the decoder keeps everything the encoder writes);
 *   - tm_record_to_json works on every decoded record;
 *   - the reassembler's held bytes stay within its bound;
 *   - a second reassembler fed as the collector's consumer feeds one --
 *     decoding into arenas (tm_reasm_set_arena), each message first
 *     through tm_reasm_whole (the consumer's decoder thread), a part then
 *     through the reassembler -- gives the same verdicts and the very
 *     same records.
 */
#include "config.h"

#include "schema/schema.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_REASM_PENDING	4
#define FUZZ_REASM_BYTES	(2u * 1024 * 1024)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int
record_empty(const struct tm_record *r)
{
	static const struct tm_record zero;

	return memcmp(r, &zero, sizeof(zero)) == 0;
}

/* rec was accepted: it must survive encode -> decode -> encode unchanged. */
static void
check_round_trip(const struct tm_record *rec)
{
	msgpack_sbuffer	 a, b;
	struct tm_record back;
	enum tm_reject	 why;
	char		 detail[256];
	json_t		*j;

	if ((j = tm_record_to_json(rec)) == NULL)
		fuzz_fail("tm_record_to_json failed on a decoded record");
	json_decref(j);
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	if (tm_encode(rec, &a) == -1)
		fuzz_fail("a decoded %s record does not encode",
		    tm_kind_name(rec->kind));
	memset(&back, 0, sizeof(back));
	why = tm_decode(a.data, a.size, &back, detail, sizeof(detail));
	if (why != TM_OK) {
		/* too_large is fair: tm_encode does not split. */
		if (why != TM_REJ_TOO_LARGE)
			fuzz_fail("re-encoded %s record rejected: %s: %s",
			    tm_kind_name(rec->kind), tm_reject_name(why), detail);
	} else {
		if (tm_encode(&back, &b) == -1)
			fuzz_fail("second encode failed");
		if (a.size != b.size || memcmp(a.data, b.data, a.size) != 0)
			fuzz_fail("encode(decode(encode(r))) differs from encode(r)"
			    " (%zu vs %zu bytes)", a.size, b.size);
		tm_record_free(&back);
	}
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
}

/* a (malloc) and b (arena) came from the same message: the same record. */
static void
check_same_record(const struct tm_record *a, const struct tm_record *b)
{
	msgpack_sbuffer	 ea, eb;
	int		 ra, rb;

	if (a->arena != NULL || b->arena == NULL)
		fuzz_fail("arena decoding: the records' arenas are wrong");
	msgpack_sbuffer_init(&ea);
	msgpack_sbuffer_init(&eb);
	ra = tm_encode(a, &ea);
	rb = tm_encode(b, &eb);
	if (ra != rb || ea.size != eb.size ||
	    (ea.size > 0 && memcmp(ea.data, eb.data, ea.size) != 0))
		fuzz_fail("a record decoded into an arena differs from the "
		    "same record decoded with malloc");
	msgpack_sbuffer_destroy(&ea);
	msgpack_sbuffer_destroy(&eb);
}

static void
check_reject(enum tm_reject why, const struct tm_record *rec)
{
	if (why <= TM_OK || why >= TM_REJ_MAX || tm_reject_name(why) == NULL)
		fuzz_fail("unknown reject reason %d", (int)why);
	if (!record_empty(rec))
		fuzz_fail("rejected (%s) but the record is not empty",
		    tm_reject_name(why));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cursor	 c = { data, size };
	struct tm_reasm		*ra, *rb;
	struct tm_reasm_stats	 st;
	struct tm_record	 rec, recb;
	const uint8_t		*msg;
	char			*copy, detail[256], detailb[256];
	enum tm_reject		 why, whyb;
	size_t			 len;
	int			 first = 1, complete, completeb, is_part;

	ra = tm_reasm_new(FUZZ_REASM_PENDING, FUZZ_REASM_BYTES);
	rb = tm_reasm_new(FUZZ_REASM_PENDING, FUZZ_REASM_BYTES);
	tm_reasm_set_arena(rb, true);
	while (fuzz_next(&c, &msg, &len)) {
		copy = fuzz_dup(msg, len);
		if (first) {
			memset(&rec, 0, sizeof(rec));
			why = tm_decode(copy, len, &rec, detail, sizeof(detail));
			if (why == TM_OK) {
				check_round_trip(&rec);
				tm_record_free(&rec);
			} else
				check_reject(why, &rec);
			first = 0;
		}
		memset(&rec, 0, sizeof(rec));
		complete = 0;
		why = tm_reasm_feed(ra, copy, len, &rec, &complete, detail,
		    sizeof(detail));
		completeb = 0;
		whyb = tm_reasm_whole(rb, copy, len, &recb, &is_part, detailb,
		    sizeof(detailb));
		if (whyb == TM_OK && is_part)
			whyb = tm_reasm_feed(rb, copy, len, &recb, &completeb,
			    detailb, sizeof(detailb));
		else
			completeb = whyb == TM_OK;
		if (whyb != why || completeb != complete ||
		    strcmp(detailb, detail) != 0)
			fuzz_fail("arena decoding: %s (%s), complete %d; malloc: "
			    "%s (%s), complete %d", tm_reject_name(whyb), detailb,
			    completeb, tm_reject_name(why), detail, complete);
		if (why == TM_OK && complete) {
			check_round_trip(&rec);
			check_same_record(&rec, &recb);
			tm_record_free(&rec);
			tm_record_free(&recb);
		} else if (why != TM_OK) {
			check_reject(why, &rec);
			check_reject(whyb, &recb);
		}
		free(copy);
		tm_reasm_stats(ra, &st);
		if (st.pending > FUZZ_REASM_PENDING || st.bytes > FUZZ_REASM_BYTES)
			fuzz_fail("reassembler holds %zu records, %zu bytes",
			    st.pending, st.bytes);
	}
	tm_reasm_free(ra);
	tm_reasm_free(rb);
	return 0;
}
