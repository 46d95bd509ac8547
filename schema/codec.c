/*
 * codec.c: the generic, table-driven encoder and decoder of tallyman
 * records (tables in fields.c).
 *
 * Decoding is of untrusted bytes.  Before msgpack-c sees them, tm_scan walks
 * them with a bounded cursor: every claimed length or element count is
 * checked against the bytes left, nesting is limited to TM_DEPTH_MAX, and a
 * message must be exactly one object.  msgpack-c therefore never allocates
 * for elements that are not there.  The decoder then checks type, size and
 * value of every object it uses and rejects with a named reason and a path
 * ("b.procs[3].pid: wrong type (str)").  Unknown keys are skipped.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "schema/schema.h"

/* ------------------------------------------------------------------ */
/* Bounded walk of raw msgpack bytes. */

struct scan {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 need_more;	/* ran out of bytes (vs invalid bytes) */
};

/* Read an n-byte big-endian unsigned length at s->p. */
static int
scan_len(struct scan *s, size_t n, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if ((size_t)(s->end - s->p) < n) {
		s->need_more = 1;
		return -1;
	}
	for (i = 0; i < n; i++)
		v = (v << 8) | s->p[i];
	s->p += n;
	*out = v;
	return 0;
}

/* Skip n payload bytes, if they are there. */
static int
scan_skip(struct scan *s, uint64_t n)
{
	if ((uint64_t)(s->end - s->p) < n) {
		s->need_more = 1;
		return -1;
	}
	s->p += n;
	return 0;
}

/*
 * Walk one object at s->p.  depth is the nesting of the enclosing container
 * (0 at the top).  Returns TM_OK, TM_REJ_MALFORMED or TM_REJ_TOO_DEEP.
 */
static enum tm_reject
scan_obj(struct scan *s, unsigned depth)
{
	uint64_t	 n = 0, i;
	uint8_t		 b;
	int		 is_map = 0;
	enum tm_reject	 r;

	if (s->p >= s->end) {
		s->need_more = 1;
		return TM_REJ_MALFORMED;
	}
	b = *s->p++;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return TM_OK;
	if (b >= 0xa0 && b <= 0xbf)
		return scan_skip(s, b & 0x1f) == -1 ? TM_REJ_MALFORMED : TM_OK;
	if (b >= 0x80 && b <= 0x8f) {
		n = b & 0x0f;
		is_map = 1;
		goto container;
	}
	if (b >= 0x90 && b <= 0x9f) {
		n = b & 0x0f;
		goto container;
	}
	switch (b) {
	case 0xcc: case 0xd0:
		return scan_skip(s, 1) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xcd: case 0xd1:
		return scan_skip(s, 2) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xca: case 0xce: case 0xd2:
		return scan_skip(s, 4) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xcb: case 0xcf: case 0xd3:
		return scan_skip(s, 8) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		/* fixext 1 2 4 8 16: type byte + data */
		return scan_skip(s, 1 + (1u << (b - 0xd4))) == -1 ?
		    TM_REJ_MALFORMED : TM_OK;
	case 0xc4: case 0xd9:		/* bin8 str8 */
		if (scan_len(s, 1, &n) == -1)
			return TM_REJ_MALFORMED;
		return scan_skip(s, n) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xc5: case 0xda:		/* bin16 str16 */
		if (scan_len(s, 2, &n) == -1)
			return TM_REJ_MALFORMED;
		return scan_skip(s, n) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xc6: case 0xdb:		/* bin32 str32 */
		if (scan_len(s, 4, &n) == -1)
			return TM_REJ_MALFORMED;
		return scan_skip(s, n) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xc7:			/* ext8: len, type, data */
		if (scan_len(s, 1, &n) == -1)
			return TM_REJ_MALFORMED;
		return scan_skip(s, n + 1) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xc8:
		if (scan_len(s, 2, &n) == -1)
			return TM_REJ_MALFORMED;
		return scan_skip(s, n + 1) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xc9:
		if (scan_len(s, 4, &n) == -1)
			return TM_REJ_MALFORMED;
		return scan_skip(s, n + 1) == -1 ? TM_REJ_MALFORMED : TM_OK;
	case 0xdc:
		if (scan_len(s, 2, &n) == -1)
			return TM_REJ_MALFORMED;
		goto container;
	case 0xdd:
		if (scan_len(s, 4, &n) == -1)
			return TM_REJ_MALFORMED;
		goto container;
	case 0xde:
		if (scan_len(s, 2, &n) == -1)
			return TM_REJ_MALFORMED;
		is_map = 1;
		goto container;
	case 0xdf:
		if (scan_len(s, 4, &n) == -1)
			return TM_REJ_MALFORMED;
		is_map = 1;
		goto container;
	default:			/* 0xc1: never used */
		return TM_REJ_MALFORMED;
	}

container:
	if (depth + 1 > TM_DEPTH_MAX)
		return TM_REJ_TOO_DEEP;
	if (is_map)
		n *= 2;
	/* Every element takes at least one byte: a count beyond the bytes
	 * left cannot be honest (or, in a stream, is not complete yet). */
	if (n > (uint64_t)(s->end - s->p)) {
		s->need_more = 1;
		return TM_REJ_MALFORMED;
	}
	for (i = 0; i < n; i++) {
		if ((r = scan_obj(s, depth + 1)) != TM_OK)
			return r;
	}
	return TM_OK;
}

enum tm_reject
tm_scan(const void *buf, size_t len, size_t *objlen, int *need_more)
{
	struct scan	 s = { .p = buf, .end = (const uint8_t *)buf + len };
	enum tm_reject	 r;

	*objlen = 0;
	*need_more = 0;
	if (buf == NULL || len == 0) {
		*need_more = 1;
		return TM_REJ_MALFORMED;
	}
	r = scan_obj(&s, 0);
	if (r == TM_OK)
		*objlen = (size_t)(s.p - (const uint8_t *)buf);
	else if (r == TM_REJ_MALFORMED)
		*need_more = s.need_more;
	return r;
}

/* Write "fmt..." into detail, if there is room for it. */
static void TM_ATTR_PRINTF(3, 4)
set_detail(char *detail, size_t detaillen, const char *fmt, ...)
{
	va_list	 ap;

	if (detail == NULL || detaillen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, detaillen, fmt, ap);
	va_end(ap);
}

enum tm_reject
tm_unpack(const void *buf, size_t len, size_t max, msgpack_unpacked *out,
    char *detail, size_t detaillen)
{
	size_t			 objlen, off = 0;
	int			 need_more;
	enum tm_reject		 r;
	msgpack_unpack_return	 ur;

	msgpack_unpacked_init(out);
	if (len > max) {
		set_detail(detail, detaillen, "message of %zu bytes, over %zu",
		    len, max);
		return TM_REJ_TOO_LARGE;
	}
	r = tm_scan(buf, len, &objlen, &need_more);
	if (r == TM_REJ_TOO_DEEP) {
		set_detail(detail, detaillen, "nesting deeper than %u",
		    TM_DEPTH_MAX);
		return r;
	}
	if (r != TM_OK) {
		set_detail(detail, detaillen, "%s", need_more ?
		    "truncated (a length or count runs past the end)" :
		    "not msgpack (invalid type byte)");
		return r;
	}
	if (objlen != len) {
		set_detail(detail, detaillen, "%zu trailing bytes after the message",
		    len - objlen);
		return TM_REJ_MALFORMED;
	}
	ur = msgpack_unpack_next(out, buf, len, &off);
	if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
		set_detail(detail, detaillen, "msgpack-c refused it (%d)", (int)ur);
		return ur == MSGPACK_UNPACK_NOMEM_ERROR ? TM_REJ_TOO_LARGE :
		    TM_REJ_MALFORMED;
	}
	return TM_OK;
}

/* ------------------------------------------------------------------ */
/* Paths for messages: "b.procs[3].pid".  Kept as a stack of keys and
 * indexes, rendered only when a message needs it (the decoder walks every
 * field of every record). */

#define PATH_FRAMES	48	/* keys and indexes; TM_DEPTH_MAX bounds both */

struct path {
	struct {
		const char	*key;	/* NULL: an index */
		size_t		 len;	/* key length, or the index */
	}	 fr[PATH_FRAMES];
	size_t	 n;			/* frames pushed (may exceed PATH_FRAMES) */
	char	 buf[256];		/* path_render's */
};

static size_t
path_push(struct path *p, const char *key, size_t len)
{
	size_t saved = p->n;

	if (p->n < PATH_FRAMES) {
		p->fr[p->n].key = key;
		p->fr[p->n].len = len;
	}
	p->n++;
	return saved;
}

/* Append ".key" and return the previous depth (for path_restore). */
static size_t
path_key(struct path *p, const char *key, size_t keylen)
{
	return path_push(p, key, keylen);
}

static size_t
path_index(struct path *p, size_t i)
{
	return path_push(p, NULL, i);
}

static void
path_restore(struct path *p, size_t n)
{
	p->n = n;
}

/* The path as text ("" at the top), printable bytes only. */
static const char *
path_render(struct path *p)
{
	size_t	 len = 0, f, i;
	int	 n;

	p->buf[0] = '\0';
	for (f = 0; f < p->n && f < PATH_FRAMES; f++) {
		if (p->fr[f].key == NULL) {
			n = snprintf(p->buf + len, sizeof(p->buf) - len, "[%zu]",
			    p->fr[f].len);
			if (n < 0 || (size_t)n >= sizeof(p->buf) - len)
				break;
			len += (size_t)n;
			continue;
		}
		if (len > 0 && len + 1 < sizeof(p->buf))
			p->buf[len++] = '.';
		for (i = 0; i < p->fr[f].len && i < 64 &&
		    len + 1 < sizeof(p->buf); i++) {
			unsigned char c = (unsigned char)p->fr[f].key[i];

			p->buf[len++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		p->buf[len] = '\0';
	}
	return p->buf;
}

/* ------------------------------------------------------------------ */
/* Field access helpers, shared by encode, decode, free and JSON. */

#define AT(base, off, type)	((type *)(void *)((char *)(base) + (off)))
#define CAT(base, off, type)	((const type *)(const void *)((const char *)(base) + (off)))

static const char *
obj_type_name(msgpack_object_type t)
{
	switch (t) {
	case MSGPACK_OBJECT_NIL:		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:		return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:	return "uint";
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:	return "int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:		return "float";
	case MSGPACK_OBJECT_STR:		return "str";
	case MSGPACK_OBJECT_ARRAY:		return "array";
	case MSGPACK_OBJECT_MAP:		return "map";
	case MSGPACK_OBJECT_BIN:		return "bin";
	case MSGPACK_OBJECT_EXT:		return "ext";
	}
	return "?";
}

/* The kind stored in a struct that has a TM_F_KIND field (the envelope). */
static enum tm_kind
struct_kind(const struct tm_desc *desc, const void *base)
{
	size_t	 i;

	for (i = 0; i < desc->nfields; i++) {
		if (desc->fields[i].type == TM_F_KIND)
			return *CAT(base, desc->fields[i].off, enum tm_kind);
	}
	return TM_KIND_NONE;
}

/*
 * Check a string's value against f's rules (bound excluded).  Returns NULL
 * when it is acceptable, else what is wrong with it.
 */
static const char *
check_value(const struct tm_field *f, const char *s, size_t len)
{
	size_t	 i;

	if (memchr(s, '\0', len) != NULL)
		return "contains a NUL byte";
	switch (f->check) {
	case TM_CHECK_NONE:
		return NULL;
	case TM_CHECK_NONEMPTY:
		return len == 0 ? "empty" : NULL;
	case TM_CHECK_SHA256:
		if (len != 64)
			return "not a SHA-256 (64 lowercase hex digits)";
		for (i = 0; i < len; i++) {
			if (!((s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'f')))
				return "not a SHA-256 (64 lowercase hex digits)";
		}
		return NULL;
	case TM_CHECK_ONEOF:
		for (i = 0; f->oneof != NULL && f->oneof[i] != NULL; i++) {
			if (strlen(f->oneof[i]) == len &&
			    memcmp(f->oneof[i], s, len) == 0)
				return NULL;
		}
		return "not one of the allowed values";
	}
	return "unknown check";
}

static uint32_t
str_bound(const struct tm_field *f)
{
	if (f->type == TM_F_STRLIST)
		return f->emax != 0 ? f->emax : TM_STR_MAX;
	return f->max != 0 ? f->max : TM_STR_MAX;
}

static uint32_t
list_bound(const struct tm_field *f)
{
	return f->max != 0 ? f->max : TM_LIST_MAX;
}

static int	struct_present(const struct tm_desc *desc, const void *base);

/*
 * Whether field f of the struct at base is emitted: strings when set, lists
 * when not empty, integers when required or non-zero (or their has_ flag is
 * set), booleans when true, sub-structs when any member is.  Absent means
 * NULL/0/false/empty to the decoder, so nothing is lost.
 */
bool
tm_field_present(const struct tm_field *f, const void *base)
{
	switch (f->type) {
	case TM_F_STR:
		return *CAT(base, f->off, char *) != NULL;
	case TM_F_U64:
		return f->required || *CAT(base, f->off, uint64_t) != 0;
	case TM_F_I64:
		if (f->has_off != 0)
			return *CAT(base, f->has_off - 1, bool);
		return f->required || *CAT(base, f->off, int64_t) != 0;
	case TM_F_BOOL:
		return *CAT(base, f->off, bool);
	case TM_F_STRLIST:
	case TM_F_KVLIST:
	case TM_F_ARRAY:
		return *CAT(base, f->count_off, size_t) != 0;
	case TM_F_STRUCT:
		return f->required ||
		    struct_present(f->sub, CAT(base, f->off, char));
	case TM_F_KIND:
	case TM_F_BODY:
		return true;
	}
	return false;
}

static int
struct_present(const struct tm_desc *desc, const void *base)
{
	size_t	 i;

	for (i = 0; i < desc->nfields; i++) {
		if (tm_field_present(&desc->fields[i], base))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Arenas: a decoded record's members in a few blocks. */

struct tm_arena {
	struct tm_arena	*next;
	size_t		 used, cap;
	max_align_t	 data[];
};

#define ARENA_ALIGN	_Alignof(max_align_t)

/* n bytes from *ap, a new block (first bytes at least) when it is full. */
static void *
arena_alloc(struct tm_arena **ap, size_t n, size_t first)
{
	struct tm_arena	*a = *ap;
	size_t		 need, cap;
	void		*p;

	if (n > SIZE_MAX / 2)
		fatalx("schema: arena: %zu bytes", n);
	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (a == NULL || a->cap - a->used < need) {
		cap = a == NULL ? first : a->cap * 2;
		if (cap < need)
			cap = need;
		a = xmalloc(sizeof(*a) + cap);
		a->next = *ap;
		a->used = 0;
		a->cap = cap;
		*ap = a;
	}
	p = (char *)a->data + a->used;
	a->used += need;
	return p;
}

static void
arena_free(struct tm_arena *a)
{
	struct tm_arena *next;

	for (; a != NULL; a = next) {
		next = a->next;
		free(a);
	}
}

/* ------------------------------------------------------------------ */
/* Free. */

void
tm_struct_free(const struct tm_desc *desc, void *base)
{
	size_t	 i, j, n;

	if (desc == NULL || base == NULL)
		return;
	for (i = 0; i < desc->nfields; i++) {
		const struct tm_field *f = &desc->fields[i];

		switch (f->type) {
		case TM_F_STR:
			free(*AT(base, f->off, char *));
			*AT(base, f->off, char *) = NULL;
			break;
		case TM_F_STRLIST: {
			char **l = *AT(base, f->off, char **);

			n = *AT(base, f->count_off, size_t);
			for (j = 0; l != NULL && j < n; j++)
				free(l[j]);
			free(l);
			*AT(base, f->off, char **) = NULL;
			*AT(base, f->count_off, size_t) = 0;
			break;
		}
		case TM_F_KVLIST: {
			struct tm_kv *kv = *AT(base, f->off, struct tm_kv *);

			n = *AT(base, f->count_off, size_t);
			for (j = 0; kv != NULL && j < n; j++) {
				free(kv[j].k);
				free(kv[j].v);
			}
			free(kv);
			*AT(base, f->off, struct tm_kv *) = NULL;
			*AT(base, f->count_off, size_t) = 0;
			break;
		}
		case TM_F_STRUCT:
			tm_struct_free(f->sub, AT(base, f->off, char));
			break;
		case TM_F_ARRAY: {
			char *a = *AT(base, f->off, char *);

			n = *AT(base, f->count_off, size_t);
			for (j = 0; a != NULL && j < n; j++)
				tm_struct_free(f->sub, a + j * f->sub->size);
			free(a);
			*AT(base, f->off, char *) = NULL;
			*AT(base, f->count_off, size_t) = 0;
			break;
		}
		case TM_F_BODY:
			tm_struct_free(tm_kind_desc(struct_kind(desc, base)),
			    AT(base, f->off, char));
			break;
		case TM_F_U64:
		case TM_F_I64:
		case TM_F_BOOL:
		case TM_F_KIND:
			break;
		}
	}
}

void
tm_record_free(struct tm_record *rec)
{
	if (rec == NULL)
		return;
	if (rec->arena != NULL)
		arena_free(rec->arena);
	else
		tm_struct_free(tm_envelope_desc(), rec);
	memset(rec, 0, sizeof(*rec));
}

/* ------------------------------------------------------------------ */
/* Encode. */

struct enc {
	msgpack_packer	 pk;
	struct path	 path;
};

static int TM_ATTR_PRINTF(2, 3)
enc_fail(struct enc *e, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("schema: encode: %s: %s", path_render(&e->path), msg);
	return -1;
}

static int
enc_str(struct enc *e, const struct tm_field *f, const char *s)
{
	size_t		 len = strlen(s);
	const char	*bad;

	if (len > str_bound(f))
		return enc_fail(e, "string of %zu bytes, over %u", len,
		    str_bound(f));
	if ((bad = check_value(f, s, len)) != NULL)
		return enc_fail(e, "%s", bad);
	msgpack_pack_str(&e->pk, len);
	msgpack_pack_str_body(&e->pk, s, len);
	return 0;
}

static int	enc_struct(struct enc *, const struct tm_desc *, const void *);

static int
enc_field(struct enc *e, const struct tm_desc *desc, const struct tm_field *f,
    const void *base)
{
	size_t	 i, n;
	uint64_t u;

	switch (f->type) {
	case TM_F_STR:
		return enc_str(e, f, *CAT(base, f->off, char *));
	case TM_F_U64:
		u = *CAT(base, f->off, uint64_t);
		if (u > INT64_MAX)
			return enc_fail(e, "%" PRIu64 " above 2^63-1", u);
		return msgpack_pack_uint64(&e->pk, u);
	case TM_F_I64:
		return msgpack_pack_int64(&e->pk, *CAT(base, f->off, int64_t));
	case TM_F_BOOL:
		return *CAT(base, f->off, bool) ? msgpack_pack_true(&e->pk) :
		    msgpack_pack_false(&e->pk);
	case TM_F_STRLIST: {
		const char **l = *CAT(base, f->off, char **);

		n = *CAT(base, f->count_off, size_t);
		if (n > list_bound(f))
			return enc_fail(e, "%zu entries, over %u", n, list_bound(f));
		if (l == NULL)
			return enc_fail(e, "count %zu but no list", n);
		msgpack_pack_array(&e->pk, n);
		for (i = 0; i < n; i++) {
			size_t saved = path_index(&e->path, i);

			if (l[i] == NULL)
				return enc_fail(e, "NULL entry");
			if (enc_str(e, f, l[i]) == -1)
				return -1;
			path_restore(&e->path, saved);
		}
		return 0;
	}
	case TM_F_KVLIST: {
		const struct tm_kv *kv = *CAT(base, f->off, struct tm_kv *);

		n = *CAT(base, f->count_off, size_t);
		if (n > list_bound(f))
			return enc_fail(e, "%zu entries, over %u", n, list_bound(f));
		if (kv == NULL)
			return enc_fail(e, "count %zu but no list", n);
		msgpack_pack_map(&e->pk, n);
		for (i = 0; i < n; i++) {
			size_t kl, vl;

			if (kv[i].k == NULL || kv[i].v == NULL)
				return enc_fail(e, "entry %zu: NULL key or value", i);
			kl = strlen(kv[i].k);
			vl = strlen(kv[i].v);
			if (kl > TM_STR_MAX || vl > TM_STR_MAX)
				return enc_fail(e, "entry %zu: over %u bytes", i,
				    TM_STR_MAX);
			msgpack_pack_str(&e->pk, kl);
			msgpack_pack_str_body(&e->pk, kv[i].k, kl);
			msgpack_pack_str(&e->pk, vl);
			msgpack_pack_str_body(&e->pk, kv[i].v, vl);
		}
		return 0;
	}
	case TM_F_STRUCT:
		return enc_struct(e, f->sub, CAT(base, f->off, char));
	case TM_F_ARRAY: {
		const char *a = *CAT(base, f->off, char *);

		n = *CAT(base, f->count_off, size_t);
		if (n > list_bound(f))
			return enc_fail(e, "%zu entries, over %u", n, list_bound(f));
		if (a == NULL)
			return enc_fail(e, "count %zu but no array", n);
		msgpack_pack_array(&e->pk, n);
		for (i = 0; i < n; i++) {
			size_t saved = path_index(&e->path, i);

			if (enc_struct(e, f->sub, a + i * f->sub->size) == -1)
				return -1;
			path_restore(&e->path, saved);
		}
		return 0;
	}
	case TM_F_KIND: {
		const char *name = tm_kind_name(*CAT(base, f->off, enum tm_kind));

		if (name == NULL)
			return enc_fail(e, "no such kind %d",
			    (int)*CAT(base, f->off, enum tm_kind));
		msgpack_pack_str(&e->pk, strlen(name));
		return msgpack_pack_str_body(&e->pk, name, strlen(name));
	}
	case TM_F_BODY: {
		const struct tm_desc *kd = tm_kind_desc(struct_kind(desc, base));

		if (kd == NULL)
			return enc_fail(e, "no such kind");
		return enc_struct(e, kd, CAT(base, f->off, char));
	}
	}
	return enc_fail(e, "unknown field type");
}

static int
enc_struct(struct enc *e, const struct tm_desc *desc, const void *base)
{
	size_t	 i, n = 0;

	for (i = 0; i < desc->nfields; i++) {
		const struct tm_field *f = &desc->fields[i];

		if (tm_field_present(f, base))
			n++;
		else if (f->required) {
			size_t saved = path_key(&e->path, f->key, strlen(f->key));
			int r = enc_fail(e, "required field not set");

			path_restore(&e->path, saved);
			return r;
		}
	}
	msgpack_pack_map(&e->pk, n);
	for (i = 0; i < desc->nfields; i++) {
		const struct tm_field *f = &desc->fields[i];
		size_t saved;

		if (!tm_field_present(f, base))
			continue;
		saved = path_key(&e->path, f->key, strlen(f->key));
		msgpack_pack_str(&e->pk, strlen(f->key));
		msgpack_pack_str_body(&e->pk, f->key, strlen(f->key));
		if (enc_field(e, desc, f, base) == -1)
			return -1;
		path_restore(&e->path, saved);
	}
	return 0;
}

int
tm_encode(const struct tm_record *rec, msgpack_sbuffer *out)
{
	struct enc		 e;
	struct tm_record	 r = *rec;
	size_t			 start = out->size;

	memset(&e, 0, sizeof(e));
	msgpack_packer_init(&e.pk, out, msgpack_sbuffer_write);
	if (r.version == 0)
		r.version = TM_SCHEMA_MAJOR;
	if (enc_struct(&e, tm_envelope_desc(), &r) == -1) {
		out->size = start;	/* nothing half-written is left */
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decode. */

struct dec {
	struct path	 path;
	enum tm_reject	 why;
	char		*detail;
	size_t		 detaillen;
	struct tm_record *rec;		/* its arena, when first > 0 */
	size_t		 first;		/* the arena's first block; 0: malloc */
};

/* Memory for a decoded member: n elements of size bytes, zeroed. */
static void *
dec_alloc(struct dec *d, size_t n, size_t size)
{
	void *p;

	if (d->first == 0)
		return xcalloc(n, size);
	if (size != 0 && n > SIZE_MAX / size)
		fatalx("schema: decode: %zu x %zu bytes", n, size);
	p = arena_alloc(&d->rec->arena, n * size, d->first);
	memset(p, 0, n * size);
	return p;
}

static int TM_ATTR_PRINTF(3, 4)
dec_fail(struct dec *d, enum tm_reject why, const char *fmt, ...)
{
	char	 msg[192];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->why = why;
	if (d->path.n > 0)
		set_detail(d->detail, d->detaillen, "%s: %s",
		    path_render(&d->path), msg);
	else
		set_detail(d->detail, d->detaillen, "%s", msg);
	return -1;
}

static int
dec_wrong_type(struct dec *d, const msgpack_object *o, const char *want)
{
	return dec_fail(d, TM_REJ_WRONG_TYPE, "wrong type (%s, want %s)",
	    obj_type_name(o->type), want);
}

/* Copy a checked string: out is NUL-terminated and owned by the caller. */
static int
dec_str(struct dec *d, const struct tm_field *f, const msgpack_object *o,
    char **out)
{
	const char	*bad;
	uint32_t	 len;

	if (o->type != MSGPACK_OBJECT_STR)
		return dec_wrong_type(d, o, "str");
	len = o->via.str.size;
	if (len > str_bound(f))
		return dec_fail(d, TM_REJ_STRING_TOO_LONG,
		    "string of %u bytes, over %u", len, str_bound(f));
	if ((bad = check_value(f, o->via.str.ptr, len)) != NULL)
		return dec_fail(d, TM_REJ_BAD_VALUE, "%s", bad);
	*out = d->first == 0 ? xmalloc((size_t)len + 1) :
	    arena_alloc(&d->rec->arena, (size_t)len + 1, d->first);
	memcpy(*out, o->via.str.ptr, len);
	(*out)[len] = '\0';
	return 0;
}

static int
dec_u64(struct dec *d, const msgpack_object *o, uint64_t *out)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return dec_fail(d, TM_REJ_BAD_VALUE, "negative (%" PRId64 ")",
		    o->via.i64);
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return dec_wrong_type(d, o, "uint");
	if (o->via.u64 > INT64_MAX)
		return dec_fail(d, TM_REJ_BAD_VALUE, "%" PRIu64 " above 2^63-1",
		    o->via.u64);
	*out = o->via.u64;
	return 0;
}

static int
dec_i64(struct dec *d, const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*out = o->via.i64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return dec_wrong_type(d, o, "int");
	if (o->via.u64 > INT64_MAX)
		return dec_fail(d, TM_REJ_BAD_VALUE, "%" PRIu64 " above 2^63-1",
		    o->via.u64);
	*out = (int64_t)o->via.u64;
	return 0;
}

static int	dec_struct(struct dec *, const struct tm_desc *, void *,
		    const msgpack_object *);

static int
dec_field(struct dec *d, const struct tm_desc *desc, const struct tm_field *f,
    void *base, const msgpack_object *o)
{
	uint32_t	 i, n;
	size_t		 saved;

	switch (f->type) {
	case TM_F_STR:
		return dec_str(d, f, o, AT(base, f->off, char *));
	case TM_F_U64:
		return dec_u64(d, o, AT(base, f->off, uint64_t));
	case TM_F_I64:
		if (dec_i64(d, o, AT(base, f->off, int64_t)) == -1)
			return -1;
		if (f->has_off != 0)
			*AT(base, f->has_off - 1, bool) = true;
		return 0;
	case TM_F_BOOL:
		if (o->type != MSGPACK_OBJECT_BOOLEAN)
			return dec_wrong_type(d, o, "bool");
		*AT(base, f->off, bool) = o->via.boolean;
		return 0;
	case TM_F_STRLIST: {
		char **l;

		if (o->type != MSGPACK_OBJECT_ARRAY)
			return dec_wrong_type(d, o, "array");
		n = o->via.array.size;
		if (n > list_bound(f))
			return dec_fail(d, TM_REJ_ARRAY_TOO_LONG,
			    "%u entries, over %u", n, list_bound(f));
		if (n == 0)
			return 0;
		for (i = 0; i < n; i++) {
			if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR) {
				path_index(&d->path, i);
				return dec_wrong_type(d, &o->via.array.ptr[i], "str");
			}
		}
		l = dec_alloc(d, n, sizeof(*l));
		*AT(base, f->off, char **) = l;
		*AT(base, f->count_off, size_t) = n;
		for (i = 0; i < n; i++) {
			saved = path_index(&d->path, i);
			if (dec_str(d, f, &o->via.array.ptr[i], &l[i]) == -1)
				return -1;
			path_restore(&d->path, saved);
		}
		return 0;
	}
	case TM_F_KVLIST: {
		struct tm_kv	*kv;
		const struct tm_field kf = { .key = "", .type = TM_F_STR,
		    .max = TM_STR_MAX };

		if (o->type != MSGPACK_OBJECT_MAP)
			return dec_wrong_type(d, o, "map");
		n = o->via.map.size;
		if (n > list_bound(f))
			return dec_fail(d, TM_REJ_ARRAY_TOO_LONG,
			    "%u entries, over %u", n, list_bound(f));
		if (n == 0)
			return 0;
		kv = dec_alloc(d, n, sizeof(*kv));
		*AT(base, f->off, struct tm_kv *) = kv;
		*AT(base, f->count_off, size_t) = n;
		for (i = 0; i < n; i++) {
			const msgpack_object_kv *p = &o->via.map.ptr[i];

			saved = path_index(&d->path, i);
			if (dec_str(d, &kf, &p->key, &kv[i].k) == -1 ||
			    dec_str(d, &kf, &p->val, &kv[i].v) == -1)
				return -1;
			path_restore(&d->path, saved);
		}
		return 0;
	}
	case TM_F_STRUCT:
		if (o->type != MSGPACK_OBJECT_MAP)
			return dec_wrong_type(d, o, "map");
		return dec_struct(d, f->sub, AT(base, f->off, char), o);
	case TM_F_ARRAY: {
		char *a;

		if (o->type != MSGPACK_OBJECT_ARRAY)
			return dec_wrong_type(d, o, "array");
		n = o->via.array.size;
		if (n > list_bound(f))
			return dec_fail(d, TM_REJ_ARRAY_TOO_LONG,
			    "%u entries, over %u", n, list_bound(f));
		if (n == 0)
			return 0;
		/* Check every element's type before allocating for them. */
		for (i = 0; i < n; i++) {
			if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
				path_index(&d->path, i);
				return dec_wrong_type(d, &o->via.array.ptr[i], "map");
			}
		}
		a = dec_alloc(d, n, f->sub->size);
		*AT(base, f->off, char *) = a;
		*AT(base, f->count_off, size_t) = n;
		for (i = 0; i < n; i++) {
			saved = path_index(&d->path, i);
			if (dec_struct(d, f->sub, a + (size_t)i * f->sub->size,
			    &o->via.array.ptr[i]) == -1)
				return -1;
			path_restore(&d->path, saved);
		}
		return 0;
	}
	case TM_F_KIND: {
		enum tm_kind k;

		if (o->type != MSGPACK_OBJECT_STR)
			return dec_wrong_type(d, o, "str");
		k = tm_kind_from_name(o->via.str.ptr, o->via.str.size);
		if (k == TM_KIND_NONE)
			return dec_fail(d, TM_REJ_UNKNOWN_KIND, "unknown kind");
		*AT(base, f->off, enum tm_kind) = k;
		return 0;
	}
	case TM_F_BODY: {
		const struct tm_desc *kd = tm_kind_desc(struct_kind(desc, base));

		if (o->type != MSGPACK_OBJECT_MAP)
			return dec_fail(d, TM_REJ_NOT_MAP, "body is not a map (%s)",
			    obj_type_name(o->type));
		if (kd == NULL)	/* the envelope's pre-check sets the kind */
			return dec_fail(d, TM_REJ_UNKNOWN_KIND, "kind not known");
		return dec_struct(d, kd, AT(base, f->off, char), o);
	}
	}
	return dec_fail(d, TM_REJ_MALFORMED, "unknown field type");
}

/*
 * Decode the map o into the struct at base (zeroed by the caller).  Partly
 * filled members on failure are freed by the caller's tm_struct_free.
 */
static int
dec_struct(struct dec *d, const struct tm_desc *desc, void *base,
    const msgpack_object *o)
{
	uint64_t	 seen = 0;
	uint32_t	 i;
	size_t		 j = 0, k, next = 0, saved;

	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv	*kv = &o->via.map.ptr[i];
		const struct tm_field	*f = NULL;
		const char		*key = kv->key.via.str.ptr;
		uint32_t		 klen = kv->key.via.str.size;

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return dec_fail(d, TM_REJ_WRONG_TYPE,
			    "a key is not a string (%s)",
			    obj_type_name(kv->key.type));
		/* Encoders write the fields in the table's order: look from
		 * the one after the last found. */
		for (k = 0; klen > 0 && k < desc->nfields; k++) {
			const char *fk;

			j = next + k < desc->nfields ? next + k :
			    next + k - desc->nfields;
			fk = desc->fields[j].key;
			if (fk[0] == key[0] && strlen(fk) == klen &&
			    memcmp(fk, key, klen) == 0) {
				f = &desc->fields[j];
				next = j + 1;
				break;
			}
		}
		if (f == NULL)
			continue;	/* unknown key: forward compatible */
		saved = path_key(&d->path, f->key, strlen(f->key));
		if (seen & (UINT64_C(1) << j))
			return dec_fail(d, TM_REJ_BAD_VALUE, "duplicate key");
		seen |= UINT64_C(1) << j;
		if (dec_field(d, desc, f, base, &kv->val) == -1)
			return -1;
		path_restore(&d->path, saved);
	}
	for (j = 0; j < desc->nfields; j++) {
		if (desc->fields[j].required && !(seen & (UINT64_C(1) << j))) {
			path_key(&d->path, desc->fields[j].key,
			    strlen(desc->fields[j].key));
			return dec_fail(d, TM_REJ_MISSING_KEY,
			    "required key missing");
		}
	}
	return 0;
}

/* The value of key in map o, or NULL. */
static const msgpack_object *
map_get(const msgpack_object *o, const char *key)
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

static enum tm_reject
decode_object(const msgpack_object *obj, struct tm_record *rec,
    size_t first_block, char *detail, size_t detaillen)
{
	struct dec		 d;
	const msgpack_object	*v, *k;
	enum tm_kind		 kind;

	memset(rec, 0, sizeof(*rec));
	memset(&d, 0, sizeof(d));
	d.detail = detail;
	d.detaillen = detaillen;
	d.rec = rec;
	d.first = first_block;
	set_detail(detail, detaillen, "%s", "");

	if (obj->type != MSGPACK_OBJECT_MAP) {
		dec_fail(&d, TM_REJ_NOT_MAP, "envelope is not a map (%s)",
		    obj_type_name(obj->type));
		return d.why;
	}
	/* The version first: a newer major may have changed anything else. */
	path_key(&d.path, "v", 1);
	if ((v = map_get(obj, "v")) == NULL) {
		dec_fail(&d, TM_REJ_MISSING_KEY, "required key missing");
		return d.why;
	}
	if (dec_u64(&d, v, &rec->version) == -1)
		goto fail;
	if (rec->version == 0) {
		dec_fail(&d, TM_REJ_BAD_VALUE, "version 0");
		goto fail;
	}
	if (rec->version > TM_SCHEMA_MAJOR) {
		dec_fail(&d, TM_REJ_NEWER_MAJOR, "major %" PRIu64 ", we read %d",
		    rec->version, TM_SCHEMA_MAJOR);
		goto fail;
	}
	path_restore(&d.path, 0);
	if (map_get(obj, "p") != NULL) {
		dec_fail(&d, TM_REJ_BAD_PART,
		    "p: a part of a split record (reassemble it first)");
		goto fail;
	}
	path_key(&d.path, "k", 1);
	if ((k = map_get(obj, "k")) == NULL) {
		dec_fail(&d, TM_REJ_MISSING_KEY, "required key missing");
		goto fail;
	}
	if (k->type != MSGPACK_OBJECT_STR) {
		dec_wrong_type(&d, k, "str");
		goto fail;
	}
	kind = tm_kind_from_name(k->via.str.ptr, k->via.str.size);
	if (kind == TM_KIND_NONE) {
		dec_fail(&d, TM_REJ_UNKNOWN_KIND, "unknown kind \"%.*s\"",
		    (int)(k->via.str.size > 32 ? 32 : k->via.str.size),
		    k->via.str.ptr);
		goto fail;
	}
	path_restore(&d.path, 0);
	rec->kind = kind;
	rec->version = 0;
	if (dec_struct(&d, tm_envelope_desc(), rec, obj) == -1)
		goto fail;
	return TM_OK;
fail:
	tm_record_free(rec);
	return d.why;
}

enum tm_reject
tm_decode_object(const msgpack_object *obj, struct tm_record *rec,
    char *detail, size_t detaillen)
{
	return decode_object(obj, rec, 0, detail, detaillen);
}

enum tm_reject
tm_decode_object_arena(const msgpack_object *obj, struct tm_record *rec,
    size_t first_block, char *detail, size_t detaillen)
{
	return decode_object(obj, rec, first_block > 0 ? first_block : 1024,
	    detail, detaillen);
}

enum tm_reject
tm_decode(const void *buf, size_t len, struct tm_record *rec, char *detail,
    size_t detaillen)
{
	msgpack_unpacked	 up;
	enum tm_reject		 r;

	memset(rec, 0, sizeof(*rec));
	set_detail(detail, detaillen, "%s", "");
	r = tm_unpack(buf, len, TM_MSG_MAX, &up, detail, detaillen);
	if (r == TM_OK)
		r = tm_decode_object(&up.data, rec, detail, detaillen);
	msgpack_unpacked_destroy(&up);
	return r;
}
