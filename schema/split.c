/*
 * split.c: records over TM_PART_MAX travel as numbered parts, and are
 * joined again at the collector.
 *
 * A part is an envelope with the record's own v h s t k, no body, and
 *   "p": [index, count]	0 <= index < count, 2 <= count <= TM_PARTS_MAX
 *   "x": bin			bytes [index * TM_PART_MAX, ...) of the
 *				encoded record, at most TM_PART_MAX of them
 * The record's bytes are the concatenation of the chunks in index order.
 *
 * Reassembly keeps incomplete records keyed by (host, seq), bounded in
 * number and bytes; when a bound is passed the oldest incomplete record is
 * dropped and counted (tm_reasm_stats).  Kafka delivers at least once, so a
 * part may come twice: the copy is ignored.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "schema/schema.h"

/* ------------------------------------------------------------------ */
/* Split. */

static void
pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/* The value of key in map o, or NULL. */
static const msgpack_object *
split_get(const msgpack_object *o, const char *key)
{
	size_t		 kl = strlen(key);
	uint32_t	 i;

	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
		    memcmp(k->via.str.ptr, key, kl) == 0)
			return &o->via.map.ptr[i].val;
	}
	return NULL;
}

int
tm_split(const void *msg, size_t len,
    int (*emit)(const void *part, size_t partlen, void *arg), void *arg)
{
	static const char *const hdr[] = { "v", "h", "s", "t", "k" };
	msgpack_unpacked	 up;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	const msgpack_object	*hv[5];
	char			 detail[128];
	size_t			 count, i, j, off, n;
	int			 rc = -1;

	if (len <= TM_PART_MAX)
		return emit(msg, len, arg);
	count = (len + TM_PART_MAX - 1) / TM_PART_MAX;
	if (count > TM_PARTS_MAX) {
		log_warnx("schema: split: record of %zu bytes needs %zu parts, "
		    "over %u", len, count, TM_PARTS_MAX);
		return -1;
	}
	if (tm_unpack(msg, len, SIZE_MAX, &up, detail, sizeof(detail)) != TM_OK ||
	    up.data.type != MSGPACK_OBJECT_MAP) {
		log_warnx("schema: split: not an encoded record: %s", detail);
		msgpack_unpacked_destroy(&up);
		return -1;
	}
	for (j = 0; j < 5; j++) {
		hv[j] = split_get(&up.data, hdr[j]);
		if (hv[j] == NULL || (j == 1 || j == 4 ?
		    hv[j]->type != MSGPACK_OBJECT_STR :
		    hv[j]->type != MSGPACK_OBJECT_POSITIVE_INTEGER)) {
			log_warnx("schema: split: envelope key %s missing or "
			    "of the wrong type", hdr[j]);
			msgpack_unpacked_destroy(&up);
			return -1;
		}
	}
	msgpack_sbuffer_init(&sb);
	for (i = 0, off = 0; i < count; i++, off += n) {
		n = len - off < TM_PART_MAX ? len - off : TM_PART_MAX;
		msgpack_sbuffer_clear(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 7);
		for (j = 0; j < 5; j++) {
			pack_str(&pk, hdr[j], 1);
			msgpack_pack_object(&pk, *hv[j]);
		}
		pack_str(&pk, "p", 1);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint64(&pk, i);
		msgpack_pack_uint64(&pk, count);
		pack_str(&pk, "x", 1);
		msgpack_pack_bin(&pk, n);
		msgpack_pack_bin_body(&pk, (const char *)msg + off, n);
		if (emit(sb.data, sb.size, arg) == -1)
			goto out;
	}
	rc = 0;
out:
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&up);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reassembly. */

struct pending {
	struct pending	*next;
	char		*host;
	uint64_t	 seq;
	enum tm_kind	 kind;
	uint32_t	 count;
	uint32_t	 have;
	size_t		 bytes;
	uint8_t		**chunk;	/* [count], NULL until it arrives */
	size_t		*chunklen;
};

struct tm_reasm {
	struct pending	*head;		/* oldest first */
	size_t		 npending;
	size_t		 bytes;
	size_t		 max_pending;
	size_t		 max_bytes;
	struct tm_reasm_stats st;
	/* The record of the last part stored (tm_reasm_last_part). */
	int		 last_held;
	char		 last_host[TM_STR_SHORT + 1];
	uint64_t	 last_seq;
	bool		 arena;		/* records decoded into arenas */
};

struct tm_reasm *
tm_reasm_new(size_t max_pending, size_t max_bytes)
{
	struct tm_reasm	*ra = xcalloc(1, sizeof(*ra));

	ra->max_pending = max_pending > 0 ? max_pending : 1;
	ra->max_bytes = max_bytes;
	return ra;
}

void
tm_reasm_set_arena(struct tm_reasm *ra, bool on)
{
	ra->arena = on;
}

/* The arena's first block for a record of len bytes: about twice the
 * bytes (the strings, the structs), at most REASM_ARENA_FIRST_MAX (a
 * joined record of many MiB grows its arena by doubling instead). */
#define REASM_ARENA_FIRST_MAX	(4u * 1024 * 1024)

/* Decode a whole record of len bytes, into an arena when ra says so. */
static enum tm_reject
reasm_decode(const struct tm_reasm *ra, const msgpack_object *obj,
    size_t len, struct tm_record *rec, char *detail, size_t detaillen)
{
	size_t first;

	if (!ra->arena)
		return tm_decode_object(obj, rec, detail, detaillen);
	first = len < REASM_ARENA_FIRST_MAX / 2 ? 2 * len + 1024 :
	    REASM_ARENA_FIRST_MAX;
	return tm_decode_object_arena(obj, rec, first, detail, detaillen);
}

static void
pending_free(struct pending *p)
{
	uint32_t	 i;

	for (i = 0; i < p->count; i++)
		free(p->chunk[i]);
	free(p->chunk);
	free(p->chunklen);
	free(p->host);
	free(p);
}

/* Unlink and free p. */
static void
reasm_drop(struct tm_reasm *ra, struct pending *p)
{
	struct pending	**pp;

	for (pp = &ra->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	ra->npending--;
	ra->bytes -= p->bytes;
	pending_free(p);
}

void
tm_reasm_free(struct tm_reasm *ra)
{
	if (ra == NULL)
		return;
	while (ra->head != NULL)
		reasm_drop(ra, ra->head);
	free(ra);
}

void
tm_reasm_stats(const struct tm_reasm *ra, struct tm_reasm_stats *st)
{
	*st = ra->st;
	st->pending = ra->npending;
	st->bytes = ra->bytes;
}

static enum tm_reject TM_ATTR_PRINTF(4, 5)
reasm_fail(char *detail, size_t detaillen, enum tm_reject why,
    const char *fmt, ...)
{
	va_list	 ap;

	if (detail != NULL && detaillen > 0) {
		va_start(ap, fmt);
		vsnprintf(detail, detaillen, fmt, ap);
		va_end(ap);
	}
	return why;
}

/* The header of one part, checked. */
struct part {
	const char	*host;
	size_t		 hostlen;
	uint64_t	 seq;
	enum tm_kind	 kind;
	uint64_t	 index, count;
	const void	*chunk;
	size_t		 chunklen;
};

static enum tm_reject
part_parse(const msgpack_object *o, struct part *pt, char *detail,
    size_t detaillen)
{
	const msgpack_object	*v, *h, *s, *k, *p, *x;

	v = split_get(o, "v");
	if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return reasm_fail(detail, detaillen, v == NULL ?
		    TM_REJ_MISSING_KEY : TM_REJ_WRONG_TYPE, "v: missing or not uint");
	if (v->via.u64 == 0)
		return reasm_fail(detail, detaillen, TM_REJ_BAD_VALUE, "v: version 0");
	if (v->via.u64 > TM_SCHEMA_MAJOR)
		return reasm_fail(detail, detaillen, TM_REJ_NEWER_MAJOR,
		    "v: major %" PRIu64 ", we read %d", v->via.u64, TM_SCHEMA_MAJOR);
	h = split_get(o, "h");
	s = split_get(o, "s");
	k = split_get(o, "k");
	p = split_get(o, "p");
	x = split_get(o, "x");
	if (h == NULL || s == NULL || k == NULL || p == NULL || x == NULL)
		return reasm_fail(detail, detaillen, TM_REJ_MISSING_KEY,
		    "%s: required key missing in a part", h == NULL ? "h" :
		    s == NULL ? "s" : k == NULL ? "k" : p == NULL ? "p" : "x");
	if (h->type != MSGPACK_OBJECT_STR || s->type !=
	    MSGPACK_OBJECT_POSITIVE_INTEGER || k->type != MSGPACK_OBJECT_STR ||
	    x->type != MSGPACK_OBJECT_BIN || p->type != MSGPACK_OBJECT_ARRAY)
		return reasm_fail(detail, detaillen, TM_REJ_WRONG_TYPE,
		    "part header: h k str, s uint, p array, x bin");
	if (h->via.str.size == 0 || h->via.str.size > TM_STR_SHORT ||
	    memchr(h->via.str.ptr, '\0', h->via.str.size) != NULL)
		return reasm_fail(detail, detaillen, TM_REJ_BAD_VALUE,
		    "h: empty, over %u bytes or with a NUL", TM_STR_SHORT);
	pt->kind = tm_kind_from_name(k->via.str.ptr, k->via.str.size);
	if (pt->kind == TM_KIND_NONE)
		return reasm_fail(detail, detaillen, TM_REJ_UNKNOWN_KIND,
		    "k: unknown kind");
	if (p->via.array.size != 2 ||
	    p->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    p->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return reasm_fail(detail, detaillen, TM_REJ_BAD_PART,
		    "p: not [index, count]");
	pt->index = p->via.array.ptr[0].via.u64;
	pt->count = p->via.array.ptr[1].via.u64;
	if (pt->count < 2 || pt->count > TM_PARTS_MAX || pt->index >= pt->count)
		return reasm_fail(detail, detaillen, TM_REJ_BAD_PART,
		    "p: [%" PRIu64 ", %" PRIu64 "] out of range (count 2..%u)",
		    pt->index, pt->count, TM_PARTS_MAX);
	if (x->via.bin.size == 0 || x->via.bin.size > TM_PART_MAX)
		return reasm_fail(detail, detaillen, TM_REJ_BAD_PART,
		    "x: chunk of %u bytes (1..%u)", x->via.bin.size, TM_PART_MAX);
	pt->host = h->via.str.ptr;
	pt->hostlen = h->via.str.size;
	pt->seq = s->via.u64;
	pt->chunk = x->via.bin.ptr;
	pt->chunklen = x->via.bin.size;
	return TM_OK;
}

/*
 * Store one part.  On a complete record, *out gets the joined bytes (caller
 * frees) and the pending entry goes.
 */
static enum tm_reject
reasm_add(struct tm_reasm *ra, const struct part *pt, uint8_t **out,
    size_t *outlen, int *complete, char *detail, size_t detaillen)
{
	struct pending	*p, *last = NULL;
	uint32_t	 i;
	size_t		 off;

	for (p = ra->head; p != NULL; last = p, p = p->next) {
		if (p->seq == pt->seq && strlen(p->host) == pt->hostlen &&
		    memcmp(p->host, pt->host, pt->hostlen) == 0)
			break;
	}
	if (p != NULL && (p->kind != pt->kind || p->count != pt->count)) {
		/* The same record cannot change shape: drop what we had. */
		reasm_drop(ra, p);
		return reasm_fail(detail, detaillen, TM_REJ_BAD_PART,
		    "p: part of %s/%" PRIu64 " disagrees with earlier parts "
		    "(kind or count)", tm_kind_name(pt->kind), pt->seq);
	}
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		p->host = xstrndup(pt->host, pt->hostlen);
		p->seq = pt->seq;
		p->kind = pt->kind;
		p->count = (uint32_t)pt->count;
		p->chunk = xcalloc(p->count, sizeof(*p->chunk));
		p->chunklen = xcalloc(p->count, sizeof(*p->chunklen));
		if (last != NULL)
			last->next = p;
		else
			ra->head = p;
		ra->npending++;
	}
	if (p->chunk[pt->index] != NULL) {
		ra->st.duplicates++;
		return TM_OK;
	}
	p->chunk[pt->index] = xmalloc(pt->chunklen);
	memcpy(p->chunk[pt->index], pt->chunk, pt->chunklen);
	p->chunklen[pt->index] = pt->chunklen;
	p->bytes += pt->chunklen;
	ra->bytes += pt->chunklen;
	p->have++;

	if (p->have == p->count) {
		uint8_t *buf = xmalloc(p->bytes);

		for (i = 0, off = 0; i < p->count; i++) {
			memcpy(buf + off, p->chunk[i], p->chunklen[i]);
			off += p->chunklen[i];
		}
		*out = buf;
		*outlen = off;
		*complete = 1;
		ra->st.completed++;
		reasm_drop(ra, p);
		return TM_OK;
	}
	/* Over a bound: drop the oldest incomplete records, this one last. */
	while (ra->npending > ra->max_pending || ra->bytes > ra->max_bytes) {
		struct pending *victim = ra->head;

		ra->st.evicted++;
		if (victim == p && p->next != NULL) {
			victim = p->next;	/* keep the newest part's record */
		}
		if (victim == p) {
			reasm_drop(ra, p);
			return reasm_fail(detail, detaillen, TM_REJ_TOO_LARGE,
			    "record needs more than the %zu bytes reassembly "
			    "may hold", ra->max_bytes);
		}
		reasm_drop(ra, victim);
	}
	return TM_OK;
}

/* Remember the record whose part was just stored, not yet complete. */
static void
reasm_held(struct tm_reasm *ra, const struct part *pt)
{
	ra->last_held = 1;
	memcpy(ra->last_host, pt->host, pt->hostlen);	/* <= TM_STR_SHORT */
	ra->last_host[pt->hostlen] = '\0';
	ra->last_seq = pt->seq;
}

/* Unpack buf and tell a part from a whole message. */
static enum tm_reject
reasm_open(const void *buf, size_t len, msgpack_unpacked *up, int *is_part,
    char *detail, size_t detaillen)
{
	enum tm_reject	 r;

	r = tm_unpack(buf, len, TM_MSG_MAX, up, detail, detaillen);
	if (r != TM_OK)
		return r;
	if (up->data.type != MSGPACK_OBJECT_MAP)
		return reasm_fail(detail, detaillen, TM_REJ_NOT_MAP,
		    "envelope is not a map");
	*is_part = split_get(&up->data, "p") != NULL;
	return TM_OK;
}

/*
 * Unpack buf and decode it when it is a whole message.  A part is left
 * unpacked in *up (*is_part = 1, TM_OK) for its record to be joined;
 * otherwise *up is released.  Reads nothing of ra but its settings.
 */
static enum tm_reject
reasm_whole(const struct tm_reasm *ra, const void *buf, size_t len,
    msgpack_unpacked *up, struct tm_record *rec, int *is_part, char *detail,
    size_t detaillen)
{
	enum tm_reject r;

	*is_part = 0;
	r = reasm_open(buf, len, up, is_part, detail, detaillen);
	if (r == TM_OK && !*is_part)
		r = reasm_decode(ra, &up->data, len, rec, detail, detaillen);
	if (r != TM_OK || !*is_part)
		msgpack_unpacked_destroy(up);
	return r;
}

enum tm_reject
tm_reasm_whole(const struct tm_reasm *ra, const void *buf, size_t len,
    struct tm_record *rec, int *is_part, char *detail, size_t detaillen)
{
	msgpack_unpacked	up;
	enum tm_reject		r;

	memset(rec, 0, sizeof(*rec));
	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';
	r = reasm_whole(ra, buf, len, &up, rec, is_part, detail, detaillen);
	if (r == TM_OK && *is_part)
		msgpack_unpacked_destroy(&up);
	return r;
}

enum tm_reject
tm_reasm_join(struct tm_reasm *ra, const void *buf, size_t len,
    uint8_t **out, size_t *outlen, int *complete, char *detail,
    size_t detaillen)
{
	msgpack_unpacked up;
	struct part	 pt;
	enum tm_reject	 r;
	int		 is_part = 0;

	*out = NULL;
	*outlen = 0;
	*complete = 0;
	ra->last_held = 0;
	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';
	r = reasm_open(buf, len, &up, &is_part, detail, detaillen);
	if (r == TM_OK && !is_part) {
		*out = xmalloc(len);
		memcpy(*out, buf, len);
		*outlen = len;
		*complete = 1;
	} else if (r == TM_OK) {
		r = part_parse(&up.data, &pt, detail, detaillen);
		if (r == TM_OK)
			r = reasm_add(ra, &pt, out, outlen, complete, detail,
			    detaillen);
	}
	msgpack_unpacked_destroy(&up);
	return r;
}

/*
 * tm_reasm_feed, keeping the bytes: when *complete = 1 and the record came
 * in parts, *joined (caller frees) and *joinedlen hold the joined message;
 * for a whole message *joined is NULL (the record's bytes are buf).
 */
enum tm_reject
tm_reasm_take(struct tm_reasm *ra, const void *buf, size_t len,
    struct tm_record *rec, uint8_t **joined_out, size_t *joinedlen_out,
    int *complete, char *detail, size_t detaillen)
{
	msgpack_unpacked up, whole;
	struct part	 pt;
	enum tm_reject	 r;
	uint8_t		*joined = NULL;
	size_t		 joinedlen = 0;
	int		 is_part = 0;

	memset(rec, 0, sizeof(*rec));
	*complete = 0;
	ra->last_held = 0;
	if (joined_out != NULL) {
		*joined_out = NULL;
		*joinedlen_out = 0;
	}
	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';
	r = reasm_whole(ra, buf, len, &up, rec, &is_part, detail, detaillen);
	if (r != TM_OK || !is_part) {
		*complete = r == TM_OK;
		return r;
	}
	r = part_parse(&up.data, &pt, detail, detaillen);
	if (r == TM_OK)
		r = reasm_add(ra, &pt, &joined, &joinedlen, complete, detail,
		    detaillen);
	if (r == TM_OK && !*complete)
		reasm_held(ra, &pt);
	if (r != TM_OK || !*complete) {
		msgpack_unpacked_destroy(&up);
		*complete = 0;
		return r;
	}
	/* The joined record is bounded by max_bytes, not TM_MSG_MAX. */
	r = tm_unpack(joined, joinedlen, SIZE_MAX, &whole, detail, detaillen);
	if (r == TM_OK)
		r = reasm_decode(ra, &whole.data, joinedlen, rec, detail,
		    detaillen);
	if (r == TM_OK && (rec->seq != pt.seq || rec->kind != pt.kind ||
	    strlen(rec->host_id) != pt.hostlen ||
	    memcmp(rec->host_id, pt.host, pt.hostlen) != 0)) {
		tm_record_free(rec);
		r = reasm_fail(detail, detaillen, TM_REJ_BAD_PART,
		    "joined record's h, s or k differ from its parts'");
	}
	*complete = r == TM_OK;
	msgpack_unpacked_destroy(&whole);
	msgpack_unpacked_destroy(&up);
	if (r == TM_OK && joined_out != NULL) {
		*joined_out = joined;
		*joinedlen_out = joinedlen;
	} else {
		free(joined);
	}
	return r;
}

int
tm_reasm_last_part(const struct tm_reasm *ra, const char **host,
    uint64_t *seq)
{
	if (!ra->last_held)
		return -1;
	*host = ra->last_host;
	*seq = ra->last_seq;
	return 0;
}

enum tm_reject
tm_reasm_feed(struct tm_reasm *ra, const void *buf, size_t len,
    struct tm_record *rec, int *complete, char *detail, size_t detaillen)
{
	return tm_reasm_take(ra, buf, len, rec, NULL, NULL, complete, detail,
	    detaillen);
}
