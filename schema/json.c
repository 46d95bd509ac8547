/*
 * json.c: tallyman records as JSON (jansson), for tallyman-decode and the
 * JSON Schema tests.
 *
 * Two views.  tm_msgpack_to_json shows any msgpack message as it is, unknown
 * keys included.  tm_record_to_json shows a decoded record through the
 * tables (what the collector keeps).  Both write the same JSON for a record
 * our encoder made; test-schema checks that.
 *
 * JSON strings are UTF-8.  Wire strings may hold any byte but NUL (a process
 * name or argument is container content); invalid UTF-8 sequences become
 * U+FFFD, one per bad byte.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "schema/schema.h"

#define CAT(base, off, type)	((const type *)(const void *)((const char *)(base) + (off)))

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t		 n, i;
	uint32_t	 c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;	/* overlong, out of range, surrogate */
	return n;
}

/* A JSON string for s[0..len): as is when valid UTF-8, else repaired. */
static json_t *
json_str(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out;
	size_t			 i, o = 0, n;
	json_t			*j;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq(u + i, len - i)) == 0)
			break;
	}
	if (i >= len)
		return json_stringn(s, len);
	out = xmalloc(len * 3 + 1);	/* each bad byte grows to 3 */
	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq(u + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
		}
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

static char *
base64(const void *buf, size_t len)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*p = buf;
	char			*out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t			 i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = tbl[p[i] >> 2];
		*o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*o++ = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		*o++ = tbl[p[i + 2] & 63];
	}
	if (i < len) {
		*o++ = tbl[p[i] >> 2];
		if (i + 1 < len) {
			*o++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			*o++ = tbl[(p[i + 1] & 15) << 2];
		} else {
			*o++ = tbl[(p[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static json_t *
json_bin(const char *key, const void *buf, size_t len)
{
	char	*b = base64(buf, len);
	json_t	*j = json_pack("{s:s}", key, b);

	free(b);
	return j;
}

static json_t *
obj_to_json(const msgpack_object *o)
{
	json_t	*j, *v;
	uint32_t i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX)	/* beyond json_int_t */
			return json_real((double)o->via.u64);
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(o->via.f64))	/* JSON has no NaN or infinity */
			return json_null();
		return json_real(o->via.f64);
	case MSGPACK_OBJECT_STR:
		return json_str(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		return json_bin("$bin", o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_EXT:
		j = json_bin("$bin", o->via.ext.ptr, o->via.ext.size);
		json_object_set_new(j, "$ext", json_integer(o->via.ext.type));
		return j;
	case MSGPACK_OBJECT_ARRAY:
		j = json_array();
		for (i = 0; i < o->via.array.size; i++)
			json_array_append_new(j, obj_to_json(&o->via.array.ptr[i]));
		return j;
	case MSGPACK_OBJECT_MAP:
		j = json_object();
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			json_t *jk;
			char *ks;

			v = obj_to_json(&o->via.map.ptr[i].val);
			/* JSON keys are strings: other keys as their JSON text. */
			if (k->type == MSGPACK_OBJECT_STR)
				jk = json_str(k->via.str.ptr, k->via.str.size);
			else {
				json_t *kj = obj_to_json(k);

				ks = json_dumps(kj, JSON_COMPACT | JSON_ENCODE_ANY);
				json_decref(kj);
				jk = json_string(ks != NULL ? ks : "?");
				free(ks);
			}
			json_object_setn_new(j, json_string_value(jk),
			    json_string_length(jk), v);
			json_decref(jk);
		}
		return j;
	}
	return json_null();
}

json_t *
tm_msgpack_to_json(const void *buf, size_t len, char *detail, size_t detaillen)
{
	msgpack_unpacked	 up;
	json_t			*j = NULL;

	if (tm_unpack(buf, len, SIZE_MAX, &up, detail, detaillen) == TM_OK)
		j = obj_to_json(&up.data);
	msgpack_unpacked_destroy(&up);
	return j;
}

static json_t	*struct_to_json(const struct tm_desc *, const void *, enum tm_kind);

static json_t *
field_to_json(const struct tm_field *f, const void *base, enum tm_kind kind)
{
	json_t	*j;
	size_t	 i, n;

	switch (f->type) {
	case TM_F_STR: {
		const char *s = *CAT(base, f->off, char *);

		return json_str(s, strlen(s));
	}
	case TM_F_U64:
		return json_integer((json_int_t)*CAT(base, f->off, uint64_t));
	case TM_F_I64:
		return json_integer((json_int_t)*CAT(base, f->off, int64_t));
	case TM_F_BOOL:
		return json_boolean(*CAT(base, f->off, bool));
	case TM_F_STRLIST: {
		char *const *l = *(char *const *const *)(const void *)
		    ((const char *)base + f->off);

		n = *CAT(base, f->count_off, size_t);
		j = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(j, json_str(l[i], strlen(l[i])));
		return j;
	}
	case TM_F_KVLIST: {
		const struct tm_kv *kv = *CAT(base, f->off, struct tm_kv *);

		n = *CAT(base, f->count_off, size_t);
		j = json_object();
		for (i = 0; i < n; i++) {
			json_t *k = json_str(kv[i].k, strlen(kv[i].k));

			json_object_setn_new(j, json_string_value(k),
			    json_string_length(k),
			    json_str(kv[i].v, strlen(kv[i].v)));
			json_decref(k);
		}
		return j;
	}
	case TM_F_STRUCT:
		return struct_to_json(f->sub, CAT(base, f->off, char), kind);
	case TM_F_ARRAY: {
		const char *a = *CAT(base, f->off, char *);

		n = *CAT(base, f->count_off, size_t);
		j = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(j, struct_to_json(f->sub,
			    a + i * f->sub->size, kind));
		return j;
	}
	case TM_F_KIND: {
		const char *name = tm_kind_name(*CAT(base, f->off, enum tm_kind));

		return name != NULL ? json_string(name) : json_null();
	}
	case TM_F_BODY: {
		const struct tm_desc *kd = tm_kind_desc(kind);

		return kd != NULL ? struct_to_json(kd, CAT(base, f->off, char),
		    kind) : json_null();
	}
	}
	return json_null();
}

static json_t *
struct_to_json(const struct tm_desc *desc, const void *base, enum tm_kind kind)
{
	json_t	*j = json_object();
	size_t	 i;

	for (i = 0; i < desc->nfields; i++) {
		const struct tm_field *f = &desc->fields[i];

		if (f->type == TM_F_STR && *CAT(base, f->off, char *) == NULL)
			continue;	/* a required one left NULL: show the gap */
		if (!tm_field_present(f, base))
			continue;
		json_object_set_new(j, f->key, field_to_json(f, base, kind));
	}
	return j;
}

json_t *
tm_record_to_json(const struct tm_record *rec)
{
	struct tm_record r = *rec;

	if (r.version == 0)
		r.version = TM_SCHEMA_MAJOR;	/* as tm_encode writes it */
	return struct_to_json(tm_envelope_desc(), &r, r.kind);
}
