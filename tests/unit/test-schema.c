/*
 * test-schema.c: the wire codec (schema/): round trips of every kind, one
 * rejection per reason, forward compatibility, hostile bytes, JSON, and
 * splitting and reassembly of large records.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "schema/schema.h"
#include "tests/unit/schema-fixtures.h"

static const enum tm_kind all_kinds[] = {
	TM_KIND_HOST, TM_KIND_HEARTBEAT, TM_KIND_EVENT, TM_KIND_CONTAINER,
	TM_KIND_IMAGE, TM_KIND_DRIFT,
};

/* ------------------------------------------------------------------ */
/* Helpers. */

/* Encode a fixture; the caller destroys *sb. */
static void
encode_fixture(enum tm_kind kind, int full, msgpack_sbuffer *sb)
{
	struct tm_record rec;

	fx_record(&rec, kind, full);
	msgpack_sbuffer_init(sb);
	assert_int_equal(tm_encode(&rec, sb), 0);
	tm_record_free(&rec);
}

static const msgpack_object *
map_get(const msgpack_object *o, const char *key)
{
	uint32_t i;

	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
		    memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
			return &o->via.map.ptr[i].val;
	}
	return NULL;
}

static void
assert_str_obj(const msgpack_object *o, const char *want, const char *key)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size != strlen(want) ||
	    memcmp(o->via.str.ptr, want, strlen(want)) != 0)
		fail_msg("%s: not the string \"%s\"", key, want);
}

/*
 * Check the wire map o against a fixture struct: each key the table lists
 * carries the value the fixture gave the member schema.h names for that key
 * (values derive from the key), and no other key is there.  full: whether
 * the fixture filled every member (array element 0) or only required ones.
 */
static void
check_wire(const struct tm_desc *desc, const msgpack_object *o, int full,
    enum tm_kind kind)
{
	size_t	 i, npresent = 0;
	char	 buf[128];

	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
	for (i = 0; i < desc->nfields; i++) {
		const struct tm_field *f = &desc->fields[i];
		const msgpack_object *v = map_get(o, f->key);
		int expect = full || f->required;

		if (!expect) {
			if (v != NULL)
				fail_msg("%s.%s: present in a required-only record",
				    desc->name, f->key);
			continue;
		}
		if (v == NULL)
			fail_msg("%s.%s: missing", desc->name, f->key);
		npresent++;
		switch (f->type) {
		case TM_F_STR:
			assert_str_obj(v, fx_str_const(f->key, buf, sizeof(buf)),
			    f->key);
			break;
		case TM_F_U64:
			assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
			if (strcmp(desc->name, "envelope") == 0 &&
			    strcmp(f->key, "v") == 0)
				assert_int_equal(v->via.u64, TM_SCHEMA_MAJOR);
			else if (v->via.u64 != fx_u64(f->key))
				fail_msg("%s.%s: %llu, want %llu", desc->name,
				    f->key, (unsigned long long)v->via.u64,
				    (unsigned long long)fx_u64(f->key));
			break;
		case TM_F_I64:
			assert_int_equal(v->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
			assert_int_equal(v->via.i64, fx_i64(f->key));
			break;
		case TM_F_BOOL:
			assert_int_equal(v->type, MSGPACK_OBJECT_BOOLEAN);
			assert_true(v->via.boolean);
			break;
		case TM_F_STRLIST:
			assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
			assert_int_equal(v->via.array.size, 2);
			snprintf(buf, sizeof(buf), "%s-0", f->key);
			assert_str_obj(&v->via.array.ptr[0], buf, f->key);
			snprintf(buf, sizeof(buf), "%s-1", f->key);
			assert_str_obj(&v->via.array.ptr[1], buf, f->key);
			break;
		case TM_F_KVLIST:
			assert_int_equal(v->type, MSGPACK_OBJECT_MAP);
			assert_int_equal(v->via.map.size, 2);
			assert_str_obj(&v->via.map.ptr[1].key, "labels-k1", f->key);
			assert_str_obj(&v->via.map.ptr[1].val, "labels-v1", f->key);
			break;
		case TM_F_STRUCT:
			check_wire(f->sub, v, 1, kind);
			break;
		case TM_F_ARRAY:
			assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
			assert_int_equal(v->via.array.size, 2);
			check_wire(f->sub, &v->via.array.ptr[0], 1, kind);
			check_wire(f->sub, &v->via.array.ptr[1], 0, kind);
			break;
		case TM_F_KIND:
			assert_str_obj(v, tm_kind_name(kind), f->key);
			break;
		case TM_F_BODY:
			check_wire(tm_kind_desc(kind), v, full, kind);
			break;
		}
	}
	assert_int_equal(o->via.map.size, npresent);
}

/* ------------------------------------------------------------------ */
/* Tables. */

static void
check_desc(const struct tm_desc *d)
{
	size_t	 i, j;

	assert_non_null(d->name);
	assert_true(d->nfields > 0 && d->nfields <= 64);	/* seen bitmap */
	for (i = 0; i < d->nfields; i++) {
		const struct tm_field *f = &d->fields[i];

		assert_non_null(f->key);
		assert_non_null(f->doc);
		for (j = i + 1; j < d->nfields; j++) {
			if (strcmp(f->key, d->fields[j].key) == 0)
				fail_msg("%s: key %s twice", d->name, f->key);
		}
		if (f->type == TM_F_STRUCT || f->type == TM_F_ARRAY) {
			assert_non_null(f->sub);
			check_desc(f->sub);
		}
		if (f->check == TM_CHECK_ONEOF)
			assert_non_null(f->oneof);
		if (f->type == TM_F_STR)
			assert_true(f->max > 0);
	}
}

static void
test_tables_have_unique_keys_and_bounds(void **state)
{
	size_t	 i;

	(void)state;
	check_desc(tm_envelope_desc());
	for (i = 0; i < TM_NELEM(all_kinds); i++) {
		const struct tm_desc *d = tm_kind_desc(all_kinds[i]);

		assert_non_null(d);
		check_desc(d);
		assert_string_equal(d->name, tm_kind_name(all_kinds[i]));
		assert_int_equal(tm_kind_from_name(d->name, strlen(d->name)),
		    all_kinds[i]);
	}
	assert_null(tm_kind_desc(TM_KIND_NONE));
	assert_null(tm_kind_desc(TM_KIND_MAX));
	assert_int_equal(tm_kind_from_name("contain", 7), TM_KIND_NONE);
	assert_int_equal(tm_kind_from_name("containerx", 10), TM_KIND_NONE);
	assert_string_equal(tm_reject_name(TM_REJ_WRONG_TYPE), "wrong_type");
	assert_string_equal(tm_reject_name(TM_REJ_BAD_PART), "bad_part");
	for (i = 0; i < TM_REJ_MAX; i++)
		assert_string_not_equal(tm_reject_name((enum tm_reject)i), "unknown");
}

/* ------------------------------------------------------------------ */
/* Round trips. */

/*
 * Encode a fixture, check the wire key by key, decode it, and re-encode the
 * decoded record: the bytes must be identical.
 */
static void
roundtrip(enum tm_kind kind, int full)
{
	msgpack_sbuffer		 sb, sb2;
	msgpack_unpacked	 up;
	struct tm_record	 rec;
	char			 detail[256];
	size_t			 off = 0;

	encode_fixture(kind, full, &sb);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	check_wire(tm_envelope_desc(), &up.data, full, kind);
	msgpack_unpacked_destroy(&up);

	if (tm_decode(sb.data, sb.size, &rec, detail, sizeof(detail)) != TM_OK)
		fail_msg("decode: %s", detail);
	assert_int_equal(rec.kind, kind);
	assert_int_equal(rec.version, TM_SCHEMA_MAJOR);
	assert_string_equal(rec.host_id, "h-v");
	assert_int_equal(rec.seq, fx_u64("s"));
	msgpack_sbuffer_init(&sb2);
	assert_int_equal(tm_encode(&rec, &sb2), 0);
	assert_int_equal(sb.size, sb2.size);
	assert_memory_equal(sb.data, sb2.data, sb.size);
	tm_record_free(&rec);
	msgpack_sbuffer_destroy(&sb2);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_roundtrip_every_kind_all_fields(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < TM_NELEM(all_kinds); i++)
		roundtrip(all_kinds[i], 1);
}

static void
test_roundtrip_every_kind_required_fields_only(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < TM_NELEM(all_kinds); i++)
		roundtrip(all_kinds[i], 0);
}

static void
test_decoded_members_match_schema_h(void **state)
{
	struct tm_record	 rec;
	msgpack_sbuffer		 sb;
	struct tm_container	*c;
	char			 detail[256];

	(void)state;
	encode_fixture(TM_KIND_CONTAINER, 1, &sb);
	assert_int_equal(tm_decode(sb.data, sb.size, &rec, detail,
	    sizeof(detail)), TM_OK);
	c = &rec.body.container;
	/* A few members checked by name, independent of the tables. */
	assert_string_equal(c->image_digest, "idig-v");
	assert_string_equal(c->k8s_container, "kctr-v");
	assert_int_equal(c->lifetime_ns, fx_u64("life"));
	assert_true(c->has_exit_code);
	assert_int_equal(c->exit_code, fx_i64("exit"));
	assert_int_equal(c->n_procs, 2);
	assert_int_equal(c->procs[0].host_gid, fx_u64("hgid"));
	assert_string_equal(c->procs[0].args[1], "args-1");
	assert_int_equal(c->procs[1].n_args, 0);
	assert_int_equal(c->risks.n_mounts, 2);
	assert_string_equal(c->risks.mounts[0].propagation, "prop-v");
	assert_true(c->risks.docker_socket);
	assert_int_equal(c->risks.pids_limit, fx_i64("pidlim"));
	assert_string_equal(c->labels[1].v, "labels-v1");
	tm_record_free(&rec);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_encode_refuses_missing_required_and_bounds(void **state)
{
	struct tm_record rec;
	msgpack_sbuffer	 sb;
	char		*saved;
	char		 big[TM_STR_SHORT + 2];

	(void)state;
	log_init("test-schema", LOG_LEVEL_ERROR);
	msgpack_sbuffer_init(&sb);
	fx_record(&rec, TM_KIND_CONTAINER, 1);
	saved = rec.body.container.id;
	rec.body.container.id = NULL;
	assert_int_equal(tm_encode(&rec, &sb), -1);
	assert_int_equal(sb.size, 0);	/* nothing half-written */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rec.body.container.id = big;
	assert_int_equal(tm_encode(&rec, &sb), -1);
	rec.body.container.id = saved;
	free(rec.body.container.state);
	rec.body.container.state = xstrdup("sleeping");	/* not in the set */
	assert_int_equal(tm_encode(&rec, &sb), -1);
	free(rec.body.container.state);
	rec.body.container.state = xstrdup("exited");
	rec.body.container.procs[0].pid = UINT64_MAX;
	assert_int_equal(tm_encode(&rec, &sb), -1);
	rec.body.container.procs[0].pid = 1;
	assert_int_equal(tm_encode(&rec, &sb), 0);
	tm_record_free(&rec);
	msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------------ */
/* Mutations of a valid message, for the rejection tests. */

struct mut {
	msgpack_unpacked up;
	void		*allocs[16];
	size_t		 nallocs;
};

static void *
mut_alloc(struct mut *m, size_t n)
{
	void *p = xcalloc(1, n);

	assert_true(m->nallocs < TM_NELEM(m->allocs));
	m->allocs[m->nallocs++] = p;
	return p;
}

static void
mut_start(struct mut *m, enum tm_kind kind, int full, msgpack_sbuffer *sb)
{
	size_t	 off = 0;

	memset(m, 0, sizeof(*m));
	encode_fixture(kind, full, sb);
	msgpack_unpacked_init(&m->up);
	assert_int_equal(msgpack_unpack_next(&m->up, sb->data, sb->size, &off),
	    MSGPACK_UNPACK_SUCCESS);
}

/* The object at "b.procs.1.pid" (numbers index arrays). */
static msgpack_object *
mut_at(struct mut *m, const char *path)
{
	msgpack_object	*o = &m->up.data;
	char		 seg[64];
	const char	*p = path;

	while (*p != '\0') {
		size_t n = strcspn(p, ".");
		uint32_t i;

		assert_true(n < sizeof(seg));
		memcpy(seg, p, n);
		seg[n] = '\0';
		p += n + (p[n] == '.');
		if (seg[0] >= '0' && seg[0] <= '9') {
			assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
			assert_true((uint32_t)atoi(seg) < o->via.array.size);
			o = &o->via.array.ptr[atoi(seg)];
			continue;
		}
		assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
		for (i = 0; i < o->via.map.size; i++) {
			msgpack_object *k = &o->via.map.ptr[i].key;

			if (k->via.str.size == strlen(seg) &&
			    memcmp(k->via.str.ptr, seg, strlen(seg)) == 0)
				break;
		}
		if (i == o->via.map.size)
			fail_msg("no %s in %s", seg, path);
		o = &o->via.map.ptr[i].val;
	}
	return o;
}

/* The key object of the last segment of path (to rename a key). */
static msgpack_object *
mut_key(struct mut *m, const char *mapath, const char *key)
{
	msgpack_object	*o = mapath[0] ? mut_at(m, mapath) : &m->up.data;
	uint32_t	 i;

	for (i = 0; i < o->via.map.size; i++) {
		msgpack_object *k = &o->via.map.ptr[i].key;

		if (k->via.str.size == strlen(key) &&
		    memcmp(k->via.str.ptr, key, strlen(key)) == 0)
			return k;
	}
	fail_msg("no key %s in %s", key, mapath);
	return NULL;
}

/* Add key = val to the map at mapath ("" = envelope). */
static void
mut_add(struct mut *m, const char *mapath, const char *key, msgpack_object val)
{
	msgpack_object		*o = mapath[0] ? mut_at(m, mapath) : &m->up.data;
	msgpack_object_kv	*kv;
	uint32_t		 n = o->via.map.size;

	kv = mut_alloc(m, (n + 1) * sizeof(*kv));
	memcpy(kv, o->via.map.ptr, n * sizeof(*kv));
	kv[n].key.type = MSGPACK_OBJECT_STR;
	kv[n].key.via.str.ptr = key;
	kv[n].key.via.str.size = (uint32_t)strlen(key);
	kv[n].val = val;
	o->via.map.ptr = kv;
	o->via.map.size = n + 1;
}

static msgpack_object
obj_str(const char *s, size_t len)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR };

	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)len;
	return o;
}

static msgpack_object
obj_int(int64_t v)
{
	msgpack_object o;

	if (v < 0) {
		o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o.via.i64 = v;
	} else {
		o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o.via.u64 = (uint64_t)v;
	}
	return o;
}

/* Pack the mutated message, decode it, and check reason and detail. */
static void
mut_expect(struct mut *m, msgpack_sbuffer *orig, enum tm_reject want,
    const char *detail_has)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct tm_record rec;
	char		 detail[256];
	enum tm_reject	 r;
	size_t		 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, m->up.data);
	r = tm_decode(sb.data, sb.size, &rec, detail, sizeof(detail));
	if (r != want)
		fail_msg("got %s (%s), want %s", tm_reject_name(r), detail,
		    tm_reject_name(want));
	if (detail_has != NULL && strstr(detail, detail_has) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", detail, detail_has);
	if (want != TM_OK) {
		/* A rejected record is left empty. */
		assert_null(rec.host_id);
		assert_int_equal(rec.kind, TM_KIND_NONE);
	}
	tm_record_free(&rec);
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&m->up);
	for (i = 0; i < m->nallocs; i++)
		free(m->allocs[i]);
	msgpack_sbuffer_destroy(orig);
}

static void
expect_bytes(const void *buf, size_t len, enum tm_reject want, const char *has)
{
	struct tm_record rec;
	char		 detail[256];
	enum tm_reject	 r;

	r = tm_decode(buf, len, &rec, detail, sizeof(detail));
	if (r != want)
		fail_msg("got %s (%s), want %s", tm_reject_name(r), detail,
		    tm_reject_name(want));
	if (has != NULL && strstr(detail, has) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", detail, has);
	tm_record_free(&rec);
}

/* ------------------------------------------------------------------ */
/* One rejection per reason. */

static void
test_reject_malformed_truncated_trailing_invalid(void **state)
{
	msgpack_sbuffer	 sb;
	char		*buf;
	size_t		 i;

	(void)state;
	encode_fixture(TM_KIND_CONTAINER, 1, &sb);
	/* Every proper prefix is truncated. */
	for (i = 0; i < sb.size; i++)
		expect_bytes(sb.data, i, TM_REJ_MALFORMED, NULL);
	buf = xmalloc(sb.size + 1);
	memcpy(buf, sb.data, sb.size);
	buf[sb.size] = '\xc0';
	expect_bytes(buf, sb.size + 1, TM_REJ_MALFORMED, "trailing");
	free(buf);
	expect_bytes("\x81\xc1\xc0", 3, TM_REJ_MALFORMED, "invalid");
	msgpack_sbuffer_destroy(&sb);
}

static void
test_reject_too_large(void **state)
{
	char	*buf;

	(void)state;
	buf = xcalloc(1, TM_MSG_MAX + 1);
	expect_bytes(buf, TM_MSG_MAX + 1, TM_REJ_TOO_LARGE, NULL);
	free(buf);
}

static void
test_reject_too_deep(void **state)
{
	uint8_t	 buf[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(buf) - 1; i++)
		buf[i] = 0x91;		/* [[[[...]]]] */
	buf[i] = 0xc0;
	expect_bytes(buf, sizeof(buf), TM_REJ_TOO_DEEP, NULL);
	/* TM_DEPTH_MAX levels are fine to the scanner (then: not a map). */
	for (i = 0; i < TM_DEPTH_MAX; i++)
		buf[i] = 0x91;
	buf[i] = 0xc0;
	expect_bytes(buf, TM_DEPTH_MAX + 1, TM_REJ_NOT_MAP, NULL);
}

static void
test_reject_not_map_envelope_and_body(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;

	(void)state;
	expect_bytes("\x92\x01\x02", 3, TM_REJ_NOT_MAP, "envelope");
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "b") = obj_str("x", 1);
	mut_expect(&m, &sb, TM_REJ_NOT_MAP, "b: body is not a map");
}

static void
test_reject_wrong_type_names_path(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;

	(void)state;
	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	*mut_at(&m, "b.procs.1.pid") = obj_str("12", 2);
	mut_expect(&m, &sb, TM_REJ_WRONG_TYPE, "b.procs[1].pid: wrong type (str");

	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	*mut_at(&m, "b.risk.priv") = obj_int(1);
	mut_expect(&m, &sb, TM_REJ_WRONG_TYPE, "b.risk.priv: wrong type (uint");

	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	*mut_at(&m, "b.cmd.0") = obj_int(7);
	mut_expect(&m, &sb, TM_REJ_WRONG_TYPE, "b.cmd[0]");
}

static void
test_reject_missing_key(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;

	(void)state;
	mut_start(&m, TM_KIND_DRIFT, 1, &sb);
	mut_key(&m, "b.files.0", "chg")->via.str.ptr = "CHG";
	mut_expect(&m, &sb, TM_REJ_MISSING_KEY, "b.files[0].chg");

	mut_start(&m, TM_KIND_EVENT, 0, &sb);
	mut_key(&m, "", "s")->via.str.ptr = "S";
	mut_expect(&m, &sb, TM_REJ_MISSING_KEY, "s: required key missing");
}

static void
test_reject_string_too_long(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;
	char		 big[TM_STR_SHORT + 1];

	(void)state;
	memset(big, 'x', sizeof(big));
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "b.hn") = obj_str(big, sizeof(big));
	mut_expect(&m, &sb, TM_REJ_STRING_TOO_LONG, "b.hn: string of 257 bytes");
	/* Exactly at the bound is fine. */
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "b.hn") = obj_str(big, sizeof(big) - 1);
	mut_expect(&m, &sb, TM_OK, NULL);
}

static void
test_reject_array_too_long(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;
	msgpack_object	*a;
	uint32_t	 i;

	(void)state;
	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	a = mut_at(&m, "b.risk.capadd");
	a->via.array.ptr = mut_alloc(&m, 257 * sizeof(msgpack_object));
	for (i = 0; i < 257; i++)
		a->via.array.ptr[i] = obj_str("CAP_X", 5);
	a->via.array.size = 257;
	mut_expect(&m, &sb, TM_REJ_ARRAY_TOO_LONG, "b.risk.capadd: 257 entries");
}

static void
test_reject_unknown_kind(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;

	(void)state;
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "k") = obj_str("hostess", 7);
	mut_expect(&m, &sb, TM_REJ_UNKNOWN_KIND, "hostess");
}

static void
test_reject_newer_major_before_anything_else(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;

	(void)state;
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "v") = obj_int(TM_SCHEMA_MAJOR + 1);
	*mut_at(&m, "b") = obj_int(3);	/* would be not_map under major 1 */
	mut_expect(&m, &sb, TM_REJ_NEWER_MAJOR, "v: major 2");
}

static void
test_reject_bad_values(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;
	static const char upper[] =
	    "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

	(void)state;
	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	*mut_at(&m, "b.procs.0.sha256") = obj_str(upper, 64);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "b.procs[0].sha256: not a SHA-256");

	mut_start(&m, TM_KIND_DRIFT, 1, &sb);
	*mut_at(&m, "b.files.0.sha256") = obj_str("abc", 3);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "b.files[0].sha256");

	mut_start(&m, TM_KIND_EVENT, 1, &sb);
	*mut_at(&m, "b.pid") = obj_int(-5);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "b.pid: negative");

	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	*mut_at(&m, "b.state") = obj_str("zombie", 6);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "b.state: not one of");

	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	*mut_at(&m, "b.name") = obj_str("a\0b", 3);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "b.name: contains a NUL");

	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "h") = obj_str("", 0);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "h: empty");

	mut_start(&m, TM_KIND_HOST, 1, &sb);
	*mut_at(&m, "v") = obj_int(0);
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "v: version 0");

	mut_start(&m, TM_KIND_HOST, 1, &sb);
	mut_at(&m, "b.ncpu")->via.u64 = UINT64_MAX;
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "above 2^63-1");

	/* A known key twice. */
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	mut_add(&m, "b", "ncpu", obj_int(3));
	mut_expect(&m, &sb, TM_REJ_BAD_VALUE, "b.ncpu: duplicate key");
}

static void
test_reject_bad_part_given_to_decode(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;

	(void)state;
	mut_start(&m, TM_KIND_HOST, 1, &sb);
	mut_add(&m, "", "p", obj_int(0));
	mut_expect(&m, &sb, TM_REJ_BAD_PART, "split");
}

static void
test_unknown_keys_skipped_everywhere(void **state)
{
	struct mut	 m;
	msgpack_sbuffer	 sb;
	msgpack_object	 nested;

	(void)state;
	mut_start(&m, TM_KIND_CONTAINER, 1, &sb);
	nested = *mut_at(&m, "b.risk");		/* a whole map as a value */
	mut_add(&m, "", "zz", obj_str("future", 6));
	mut_add(&m, "b", "newkey", nested);
	mut_add(&m, "b.procs.0", "cgroup", obj_int(-1));
	mut_add(&m, "b.risk.mnt.1", "x", obj_int(5));
	mut_expect(&m, &sb, TM_OK, NULL);
}

/* ------------------------------------------------------------------ */
/* Hostile input. */

static void
test_hostile_claimed_lengths_rejected_without_allocation(void **state)
{
	(void)state;
	/* array32 of 2^31 - 1 elements, in 5 bytes */
	expect_bytes("\xdd\x7f\xff\xff\xff", 5, TM_REJ_MALFORMED, "truncated");
	/* map32 of 2^32 - 1 pairs */
	expect_bytes("\xdf\xff\xff\xff\xff\xc0", 6, TM_REJ_MALFORMED, "truncated");
	/* a 100 MiB str32 */
	expect_bytes("\xdb\x06\x40\x00\x00xx", 7, TM_REJ_MALFORMED, "truncated");
	/* bin32 and ext32 */
	expect_bytes("\xc6\xff\xff\xff\xff", 5, TM_REJ_MALFORMED, NULL);
	expect_bytes("\xc9\xff\xff\xff\xff\x01", 6, TM_REJ_MALFORMED, NULL);
	/* A valid-looking envelope whose body claims 65535 processes. */
	expect_bytes("\x82\xa1v\x01\xa1\x62\xde\xff\xff", 9, TM_REJ_MALFORMED, NULL);
	expect_bytes("", 0, TM_REJ_MALFORMED, NULL);
}

static void
test_hostile_random_bytes_fixed_seed(void **state)
{
	uint8_t		 buf[512];
	unsigned	 seed = 20240601, i, j, ok = 0;

	(void)state;
	srand(seed);
	for (i = 0; i < 50000; i++) {
		size_t len = (size_t)rand() % sizeof(buf);

		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		/* Bias toward plausible openings: a map, then anything. */
		if (len > 0 && (i & 1))
			buf[0] = 0x80 | (buf[0] & 0x0f);
		{
			struct tm_record rec;
			char detail[128];

			if (tm_decode(buf, len, &rec, detail, sizeof(detail)) == TM_OK)
				ok++;
			tm_record_free(&rec);
		}
	}
	assert_int_equal(ok, 0);
}

static void
test_hostile_mutated_valid_messages_never_crash(void **state)
{
	size_t		 k, i;
	unsigned	 ok = 0, rejected = 0;

	(void)state;
	srand(7);
	for (k = 0; k < TM_NELEM(all_kinds); k++) {
		msgpack_sbuffer sb;

		encode_fixture(all_kinds[k], 1, &sb);
		for (i = 0; i < 3000; i++) {
			char *buf = xmalloc(sb.size);
			struct tm_record rec;
			char detail[128];
			int flips = 1 + rand() % 4, f;

			memcpy(buf, sb.data, sb.size);
			for (f = 0; f < flips; f++)
				buf[(size_t)rand() % sb.size] = (char)rand();
			if (tm_decode(buf, sb.size, &rec, detail,
			    sizeof(detail)) == TM_OK) {
				msgpack_sbuffer sb2;

				/* Whatever decodes re-encodes. */
				msgpack_sbuffer_init(&sb2);
				assert_int_equal(tm_encode(&rec, &sb2), 0);
				msgpack_sbuffer_destroy(&sb2);
				ok++;
			} else
				rejected++;
			tm_record_free(&rec);
			free(buf);
		}
		msgpack_sbuffer_destroy(&sb);
	}
	assert_true(ok > 0 && rejected > 0);
}

/* ------------------------------------------------------------------ */
/* JSON. */

static void
test_json_views_agree_for_every_kind(void **state)
{
	size_t	 i;
	int	 full;

	(void)state;
	for (full = 0; full <= 1; full++) {
		for (i = 0; i < TM_NELEM(all_kinds); i++) {
			msgpack_sbuffer sb;
			struct tm_record rec;
			json_t *raw, *dec;
			char detail[256];

			encode_fixture(all_kinds[i], full, &sb);
			raw = tm_msgpack_to_json(sb.data, sb.size, detail,
			    sizeof(detail));
			assert_non_null(raw);
			assert_int_equal(tm_decode(sb.data, sb.size, &rec, detail,
			    sizeof(detail)), TM_OK);
			dec = tm_record_to_json(&rec);
			if (!json_equal(raw, dec)) {
				char *a = json_dumps(raw, JSON_SORT_KEYS);
				char *b = json_dumps(dec, JSON_SORT_KEYS);

				fail_msg("raw %s\ndecoded %s", a, b);
			}
			assert_string_equal(json_string_value(json_object_get(raw,
			    "k")), tm_kind_name(all_kinds[i]));
			json_decref(raw);
			json_decref(dec);
			tm_record_free(&rec);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

static void
test_json_faithful_for_bin_ext_keys_and_bad_utf8(void **state)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	json_t		*j;
	char		*text;
	char		 detail[128];

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	msgpack_pack_str_with_body(&pk, "bin", 3);
	msgpack_pack_bin_with_body(&pk, "\x00\xffM", 3);
	msgpack_pack_str_with_body(&pk, "ext", 3);
	msgpack_pack_ext_with_body(&pk, "ab", 2, 5);
	msgpack_pack_int(&pk, 7);			/* a non-string key */
	msgpack_pack_str_with_body(&pk, "seven", 5);
	msgpack_pack_str_with_body(&pk, "bad", 3);
	msgpack_pack_str_with_body(&pk, "a\xff\xc3(b", 5);
	msgpack_pack_str_with_body(&pk, "neg", 3);
	msgpack_pack_int64(&pk, -3);
	msgpack_pack_str_with_body(&pk, "f", 1);
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_str_with_body(&pk, "u", 1);
	msgpack_pack_str_with_body(&pk, "h\xc3\xa9", 3);
	j = tm_msgpack_to_json(sb.data, sb.size, detail, sizeof(detail));
	assert_non_null(j);
	text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_string_equal(text, "{\"7\":\"seven\",\"bad\":\"a\\uFFFD\\uFFFD(b\","
	    "\"bin\":{\"$bin\":\"AP9N\"},\"ext\":{\"$bin\":\"YWI=\",\"$ext\":5},"
	    "\"f\":1.5,\"neg\":-3,\"u\":\"h\\u00E9\"}");
	free(text);
	json_decref(j);
	/* Not msgpack: NULL with a reason. */
	assert_null(tm_msgpack_to_json("\xc1", 1, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "not msgpack"));
	msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------------ */
/* Split and reassembly. */

struct parts {
	char	*buf[TM_PARTS_MAX];
	size_t	 len[TM_PARTS_MAX];
	size_t	 n;
};

static int
collect(const void *part, size_t len, void *arg)
{
	struct parts *ps = arg;

	assert_true(len <= TM_MSG_MAX);
	ps->buf[ps->n] = xmalloc(len);
	memcpy(ps->buf[ps->n], part, len);
	ps->len[ps->n++] = len;
	return 0;
}

static void
parts_free(struct parts *ps)
{
	size_t	 i;

	for (i = 0; i < ps->n; i++)
		free(ps->buf[i]);
	ps->n = 0;
}

/* Split a big image record of sequence seq into ps; *sb keeps the whole. */
static void
split_big(struct parts *ps, msgpack_sbuffer *sb, uint64_t seq)
{
	struct tm_record rec;

	fx_big_image(&rec, 40000, seq);
	msgpack_sbuffer_init(sb);
	assert_int_equal(tm_encode(&rec, sb), 0);
	tm_record_free(&rec);
	memset(ps, 0, sizeof(*ps));
	assert_int_equal(tm_split(sb->data, sb->size, collect, ps), 0);
}

static enum tm_reject
feed(struct tm_reasm *ra, struct parts *ps, size_t i, struct tm_record *rec,
    int *complete)
{
	char	 detail[256];

	return tm_reasm_feed(ra, ps->buf[i], ps->len[i], rec, complete, detail,
	    sizeof(detail));
}

static void
test_split_small_record_goes_whole(void **state)
{
	struct parts	 ps = { .n = 0 };
	msgpack_sbuffer	 sb;
	struct tm_reasm	*ra = tm_reasm_new(4, 8u << 20);
	struct tm_record rec;
	int		 complete;

	(void)state;
	encode_fixture(TM_KIND_CONTAINER, 1, &sb);
	assert_int_equal(tm_split(sb.data, sb.size, collect, &ps), 0);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.len[0], sb.size);
	assert_memory_equal(ps.buf[0], sb.data, sb.size);
	assert_int_equal(feed(ra, &ps, 0, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(rec.kind, TM_KIND_CONTAINER);
	tm_record_free(&rec);
	tm_reasm_free(ra);
	parts_free(&ps);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_split_big_image_reassembled_out_of_order_with_duplicate(void **state)
{
	struct parts	 ps;
	msgpack_sbuffer	 sb, sb2;
	struct tm_reasm	*ra = tm_reasm_new(8, 16u << 20);
	struct tm_reasm_stats st;
	struct tm_record rec;
	size_t		 order[TM_PARTS_MAX], i;
	int		 complete;
	char		 detail[128];

	(void)state;
	split_big(&ps, &sb, 77);
	assert_true(sb.size > 2u * 1024 * 1024);
	assert_int_equal(ps.n, (sb.size + TM_PART_MAX - 1) / TM_PART_MAX);
	/* A part alone is not a record. */
	assert_int_equal(tm_decode(ps.buf[0], ps.len[0], &rec, detail,
	    sizeof(detail)), TM_REJ_BAD_PART);
	/* Reverse order, with part 1 fed twice. */
	for (i = 0; i < ps.n; i++)
		order[i] = ps.n - 1 - i;
	for (i = 0; i + 1 < ps.n; i++) {
		assert_int_equal(feed(ra, &ps, order[i], &rec, &complete), TM_OK);
		assert_int_equal(complete, 0);
		if (order[i] == 1) {
			assert_int_equal(feed(ra, &ps, 1, &rec, &complete), TM_OK);
			assert_int_equal(complete, 0);
		}
	}
	assert_int_equal(feed(ra, &ps, order[ps.n - 1], &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(rec.seq, 77);
	assert_int_equal(rec.body.image.n_packages, 40000);
	assert_string_equal(rec.body.image.packages[39999].name,
	    "package-number-39999");
	msgpack_sbuffer_init(&sb2);
	assert_int_equal(tm_encode(&rec, &sb2), 0);
	assert_int_equal(sb2.size, sb.size);
	assert_memory_equal(sb2.data, sb.data, sb.size);
	tm_reasm_stats(ra, &st);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.bytes, 0);
	tm_record_free(&rec);
	msgpack_sbuffer_destroy(&sb2);
	msgpack_sbuffer_destroy(&sb);
	parts_free(&ps);
	tm_reasm_free(ra);
}

/* Records decoded into arenas (the consumer's) are the same records:
 * every kind, full and minimal, whole and split, by tm_reasm_feed and by
 * tm_reasm_whole (the consumer's decoder thread); a refused one leaves
 * nothing behind (the sanitizer build checks leaks). */
static void
test_reasm_arena_records_equal_malloc_ones(void **state)
{
	struct tm_reasm	*ra = tm_reasm_new(8, 16u << 20);
	struct tm_record rec, ref;
	struct parts	 ps;
	msgpack_sbuffer	 sb;
	json_t		*a, *b;
	char		 detail[256];
	size_t		 i;
	int		 kind, full, complete, whole, is_part;
	static const uint8_t bad[] = { 0x82, 0xa1, 'v', 0x01, 0xa1, 'k' };

	(void)state;
	tm_reasm_set_arena(ra, true);
	for (kind = TM_KIND_NONE + 1; kind < TM_KIND_MAX; kind++)
		for (full = 0; full <= 1; full++) {
			encode_fixture((enum tm_kind)kind, full, &sb);
			assert_int_equal(tm_decode(sb.data, sb.size, &ref,
			    detail, sizeof(detail)), TM_OK);
			for (whole = 0; whole <= 1; whole++) {
				complete = is_part = -1;
				if (whole)
					assert_int_equal(tm_reasm_whole(ra,
					    sb.data, sb.size, &rec, &is_part,
					    detail, sizeof(detail)), TM_OK);
				else
					assert_int_equal(tm_reasm_feed(ra,
					    sb.data, sb.size, &rec, &complete,
					    detail, sizeof(detail)), TM_OK);
				assert_int_equal(whole ? is_part : complete,
				    !whole);
				assert_non_null(rec.arena);
				assert_null(ref.arena);
				a = tm_record_to_json(&rec);
				b = tm_record_to_json(&ref);
				assert_true(json_equal(a, b));
				json_decref(a);
				json_decref(b);
				tm_record_free(&rec);
				assert_null(rec.arena);
			}
			tm_record_free(&ref);
			msgpack_sbuffer_destroy(&sb);
		}
	split_big(&ps, &sb, 5);
	for (i = 0; i < ps.n; i++)
		assert_int_equal(feed(ra, &ps, i, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_non_null(rec.arena);
	assert_int_equal(rec.body.image.n_packages, 40000);
	assert_string_equal(rec.body.image.packages[39999].name,
	    "package-number-39999");
	tm_record_free(&rec);
	parts_free(&ps);
	msgpack_sbuffer_destroy(&sb);
	/* Truncated: refused, nothing kept. */
	assert_int_not_equal(tm_reasm_feed(ra, bad, sizeof(bad), &rec,
	    &complete, detail, sizeof(detail)), TM_OK);
	assert_null(rec.arena);
	/* Refused half-way (strings already in the arena): freed. */
	{
		msgpack_packer pk;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 6);
		msgpack_pack_str_with_body(&pk, "v", 1);
		msgpack_pack_uint64(&pk, 1);
		msgpack_pack_str_with_body(&pk, "h", 1);
		msgpack_pack_str_with_body(&pk, "host-1", 6);
		msgpack_pack_str_with_body(&pk, "s", 1);
		msgpack_pack_uint64(&pk, 9);
		msgpack_pack_str_with_body(&pk, "t", 1);
		msgpack_pack_uint64(&pk, 9);
		msgpack_pack_str_with_body(&pk, "k", 1);
		msgpack_pack_str_with_body(&pk, "container", 9);
		msgpack_pack_str_with_body(&pk, "b", 1);
		msgpack_pack_map(&pk, 3);
		msgpack_pack_str_with_body(&pk, "rt", 2);
		msgpack_pack_str_with_body(&pk, "docker", 6);
		msgpack_pack_str_with_body(&pk, "id", 2);
		msgpack_pack_str_with_body(&pk, "c1", 2);
		msgpack_pack_str_with_body(&pk, "procs", 5);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str_with_body(&pk, "pid", 3);
		msgpack_pack_str_with_body(&pk, "one", 3);
	}
	assert_int_equal(tm_reasm_feed(ra, sb.data, sb.size, &rec, &complete,
	    detail, sizeof(detail)), TM_REJ_WRONG_TYPE);
	assert_string_equal(detail, "b.procs[0].pid: wrong type (str, want uint)");
	assert_null(rec.arena);
	msgpack_sbuffer_destroy(&sb);
	tm_reasm_free(ra);
}

/*
 * tm_reasm_whole, the consumer's decoder thread's step, on what is not a
 * whole record (whole ones: test_reasm_arena_records_equal_malloc_ones): a
 * part is only named, nothing of it kept, and still joins through
 * tm_reasm_take; a refusal has tm_reasm_feed's reason and detail.
 */
static void
test_reasm_whole_names_parts_and_refuses_alike(void **state)
{
	struct tm_reasm	*ra = tm_reasm_new(8, 16u << 20);
	struct tm_reasm_stats st;
	struct tm_record rec, ref;
	struct parts	 ps;
	msgpack_sbuffer	 sb;
	char		 detail[256], want[256];
	size_t		 i;
	int		 complete, is_part;
	static const uint8_t bad[] = { 0x82, 0xa1, 'v', 0x01, 0xa1, 'k' };

	(void)state;
	tm_reasm_set_arena(ra, true);
	/* Parts: named, not kept; the same parts then join as before. */
	split_big(&ps, &sb, 6);
	for (i = 0; i < ps.n; i++) {
		is_part = 0;
		assert_int_equal(tm_reasm_whole(ra, ps.buf[i], ps.len[i], &rec,
		    &is_part, detail, sizeof(detail)), TM_OK);
		assert_int_equal(is_part, 1);
		assert_int_equal(rec.kind, TM_KIND_NONE);
		assert_null(rec.arena);
	}
	tm_reasm_stats(ra, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.bytes, 0);
	for (i = 0; i < ps.n; i++)
		assert_int_equal(feed(ra, &ps, i, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(rec.seq, 6);
	assert_int_equal(rec.body.image.n_packages, 40000);
	tm_record_free(&rec);
	parts_free(&ps);
	msgpack_sbuffer_destroy(&sb);
	/* Refused: the same reason and detail as tm_reasm_feed gives. */
	assert_int_not_equal(tm_reasm_feed(ra, bad, sizeof(bad), &ref,
	    &complete, want, sizeof(want)), TM_OK);
	assert_int_equal(tm_reasm_whole(ra, bad, sizeof(bad), &rec, &is_part,
	    detail, sizeof(detail)), tm_reasm_feed(ra, bad, sizeof(bad), &ref,
	    &complete, want, sizeof(want)));
	assert_string_equal(detail, want);
	assert_int_equal(is_part, 0);
	assert_null(rec.arena);
	tm_reasm_free(ra);
}

struct whole_job {
	const struct tm_reasm	*ra;
	msgpack_sbuffer		*msgs;
	size_t			 n;
	size_t			 ok;		/* decoded as expected */
};

static void *
whole_thread(void *arg)
{
	struct whole_job	*j = arg;
	struct tm_record	 rec;
	char			 detail[256];
	size_t			 i;
	int			 is_part;

	for (i = 0; i < j->n; i++) {
		if (tm_reasm_whole(j->ra, j->msgs[i].data, j->msgs[i].size,
		    &rec, &is_part, detail, sizeof(detail)) == TM_OK &&
		    !is_part && rec.seq == i + 1 && rec.arena != NULL)
			j->ok++;
		tm_record_free(&rec);
	}
	return NULL;
}

/* The decoder thread beside the loop: whole messages decoded on one thread
 * while parts join through tm_reasm_take on another, on one reassembler. */
static void
test_reasm_whole_beside_take(void **state)
{
	struct tm_reasm		*ra = tm_reasm_new(8, 16u << 20);
	struct whole_job	 j;
	struct tm_record	 rec;
	struct parts		 ps;
	msgpack_sbuffer		 sb, msgs[200];
	pthread_t		 t;
	size_t			 i, k, joined = 0;
	int			 complete;

	(void)state;
	tm_reasm_set_arena(ra, true);
	for (i = 0; i < TM_NELEM(msgs); i++) {
		struct tm_record r;

		fx_big_image(&r, 50, i + 1);
		msgpack_sbuffer_init(&msgs[i]);
		assert_int_equal(tm_encode(&r, &msgs[i]), 0);
		tm_record_free(&r);
	}
	j.ra = ra;
	j.msgs = msgs;
	j.n = TM_NELEM(msgs);
	j.ok = 0;
	assert_int_equal(pthread_create(&t, NULL, whole_thread, &j), 0);
	for (k = 0; k < 3; k++) {
		split_big(&ps, &sb, 1000 + k);
		for (i = 0; i < ps.n; i++)
			assert_int_equal(feed(ra, &ps, i, &rec, &complete),
			    TM_OK);
		if (complete && rec.seq == 1000 + k &&
		    rec.body.image.n_packages == 40000)
			joined++;
		tm_record_free(&rec);
		parts_free(&ps);
		msgpack_sbuffer_destroy(&sb);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ok, TM_NELEM(msgs));
	assert_int_equal(joined, 3);
	for (i = 0; i < TM_NELEM(msgs); i++)
		msgpack_sbuffer_destroy(&msgs[i]);
	tm_reasm_free(ra);
}

static void
test_reasm_missing_part_stays_pending(void **state)
{
	struct parts	 a, b;
	msgpack_sbuffer	 sa, sbb;
	struct tm_reasm	*ra = tm_reasm_new(8, 16u << 20);
	struct tm_reasm_stats st;
	struct tm_record rec;
	size_t		 i;
	int		 complete;

	(void)state;
	split_big(&a, &sa, 1);
	split_big(&b, &sbb, 2);
	for (i = 1; i < a.n; i++) {		/* a's part 0 never comes */
		assert_int_equal(feed(ra, &a, i, &rec, &complete), TM_OK);
		assert_int_equal(complete, 0);
	}
	for (i = 0; i < b.n; i++)
		assert_int_equal(feed(ra, &b, i, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(rec.seq, 2);
	tm_record_free(&rec);
	tm_reasm_stats(ra, &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.bytes, sa.size - TM_PART_MAX);
	assert_int_equal(st.evicted, 0);
	/* The late part completes it. */
	assert_int_equal(feed(ra, &a, 0, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(rec.seq, 1);
	tm_record_free(&rec);
	parts_free(&a);
	parts_free(&b);
	msgpack_sbuffer_destroy(&sa);
	msgpack_sbuffer_destroy(&sbb);
	tm_reasm_free(ra);
}

/* tm_reasm_last_part names the record of a part held, and only then. */
static void
test_reasm_last_part_names_the_held_record(void **state)
{
	struct parts	 a, b;
	msgpack_sbuffer	 sa, sbb;
	struct tm_reasm	*ra = tm_reasm_new(8, 16u << 20);
	struct tm_record rec;
	const char	*host;
	char		 held[TM_STR_SHORT + 1];
	uint64_t	 seq;
	int		 complete;

	(void)state;
	split_big(&a, &sa, 5);
	split_big(&b, &sbb, 9);
	assert_int_equal(tm_reasm_last_part(ra, &host, &seq), -1);
	assert_int_equal(feed(ra, &a, 0, &rec, &complete), TM_OK);
	assert_int_equal(complete, 0);
	assert_int_equal(tm_reasm_last_part(ra, &host, &seq), 0);
	snprintf(held, sizeof(held), "%s", host);
	assert_int_equal(seq, 5);
	assert_int_equal(feed(ra, &b, 0, &rec, &complete), TM_OK);
	assert_int_equal(tm_reasm_last_part(ra, &host, &seq), 0);
	assert_int_equal(seq, 9);
	/* A part completing its record, or a whole message: none held. */
	for (size_t i = 1; i < b.n; i++)
		assert_int_equal(feed(ra, &b, i, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_string_equal(held, rec.host_id);
	tm_record_free(&rec);
	assert_int_equal(tm_reasm_last_part(ra, &host, &seq), -1);
	parts_free(&a);
	parts_free(&b);
	msgpack_sbuffer_destroy(&sa);
	msgpack_sbuffer_destroy(&sbb);
	tm_reasm_free(ra);
}

static void
test_reasm_bounds_evict_oldest(void **state)
{
	struct parts	 p[3];
	msgpack_sbuffer	 sb[3];
	struct tm_reasm	*ra = tm_reasm_new(2, 64u << 20);
	struct tm_reasm_stats st;
	struct tm_record rec;
	size_t		 i;
	int		 complete;
	char		 detail[256];

	(void)state;
	for (i = 0; i < 3; i++) {
		split_big(&p[i], &sb[i], 10 + i);
		assert_int_equal(feed(ra, &p[i], 0, &rec, &complete), TM_OK);
	}
	tm_reasm_stats(ra, &st);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.evicted, 1);
	/* Record 10 was the oldest: its other parts no longer complete it. */
	for (i = 1; i < p[0].n; i++) {
		assert_int_equal(feed(ra, &p[0], i, &rec, &complete), TM_OK);
		assert_int_equal(complete, 0);
	}
	/* Record 12, the newest, still completes. */
	for (i = 1; i < p[2].n; i++)
		assert_int_equal(feed(ra, &p[2], i, &rec, &complete), TM_OK);
	assert_int_equal(complete, 1);
	assert_int_equal(rec.seq, 12);
	tm_record_free(&rec);
	tm_reasm_free(ra);

	/* A byte bound below one record: that record is refused. */
	ra = tm_reasm_new(8, 2u * TM_PART_MAX);
	assert_int_equal(feed(ra, &p[1], 0, &rec, &complete), TM_OK);
	assert_int_equal(feed(ra, &p[1], 1, &rec, &complete), TM_OK);
	assert_int_equal(tm_reasm_feed(ra, p[1].buf[2], p[1].len[2], &rec,
	    &complete, detail, sizeof(detail)), TM_REJ_TOO_LARGE);
	tm_reasm_stats(ra, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.bytes, 0);
	tm_reasm_free(ra);
	for (i = 0; i < 3; i++) {
		parts_free(&p[i]);
		msgpack_sbuffer_destroy(&sb[i]);
	}
}

/* A part with p = [index, count] and a chunk of n bytes. */
static void
make_part(msgpack_sbuffer *sb, uint64_t seq, const char *kind, uint64_t index,
    uint64_t count, size_t n)
{
	msgpack_packer	 pk;
	char		 chunk[16] = "chunkchunkchunk";

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_str_with_body(&pk, "h", 1);
	msgpack_pack_str_with_body(&pk, "host", 4);
	msgpack_pack_str_with_body(&pk, "s", 1);
	msgpack_pack_uint64(&pk, seq);
	msgpack_pack_str_with_body(&pk, "t", 1);
	msgpack_pack_uint64(&pk, 5);
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_str_with_body(&pk, kind, strlen(kind));
	msgpack_pack_str_with_body(&pk, "p", 1);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, index);
	msgpack_pack_uint64(&pk, count);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_bin_with_body(&pk, chunk, n);
}

static void
expect_part(struct tm_reasm *ra, msgpack_sbuffer *sb, enum tm_reject want)
{
	struct tm_record rec;
	char		 detail[256];
	int		 complete;
	enum tm_reject	 r;

	r = tm_reasm_feed(ra, sb->data, sb->size, &rec, &complete, detail,
	    sizeof(detail));
	if (r != want)
		fail_msg("got %s (%s), want %s", tm_reject_name(r), detail,
		    tm_reject_name(want));
	tm_record_free(&rec);
}

static void
test_reasm_rejects_inconsistent_parts(void **state)
{
	struct tm_reasm	*ra = tm_reasm_new(8, 1u << 20);
	msgpack_sbuffer	 sb;
	struct tm_reasm_stats st;

	(void)state;
	msgpack_sbuffer_init(&sb);
	make_part(&sb, 1, "image", 3, 3, 4);		/* index == count */
	expect_part(ra, &sb, TM_REJ_BAD_PART);
	make_part(&sb, 1, "image", 0, TM_PARTS_MAX + 1, 4);
	expect_part(ra, &sb, TM_REJ_BAD_PART);
	make_part(&sb, 1, "image", 0, 1, 4);		/* one part is no split */
	expect_part(ra, &sb, TM_REJ_BAD_PART);
	make_part(&sb, 1, "image", 0, 2, 0);		/* empty chunk */
	expect_part(ra, &sb, TM_REJ_BAD_PART);
	make_part(&sb, 1, "imago", 0, 2, 4);
	expect_part(ra, &sb, TM_REJ_UNKNOWN_KIND);
	make_part(&sb, 2, "image", 0, 3, 4);
	expect_part(ra, &sb, TM_OK);
	make_part(&sb, 2, "image", 1, 4, 4);		/* count changed */
	expect_part(ra, &sb, TM_REJ_BAD_PART);
	make_part(&sb, 3, "image", 0, 2, 4);		/* joins to garbage */
	expect_part(ra, &sb, TM_OK);
	make_part(&sb, 3, "image", 1, 2, 4);
	expect_part(ra, &sb, TM_REJ_MALFORMED);
	tm_reasm_stats(ra, &st);
	assert_int_equal(st.pending, 0);
	msgpack_sbuffer_destroy(&sb);
	tm_reasm_free(ra);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_have_unique_keys_and_bounds),
		cmocka_unit_test(test_roundtrip_every_kind_all_fields),
		cmocka_unit_test(test_roundtrip_every_kind_required_fields_only),
		cmocka_unit_test(test_decoded_members_match_schema_h),
		cmocka_unit_test(test_encode_refuses_missing_required_and_bounds),
		cmocka_unit_test(test_reject_malformed_truncated_trailing_invalid),
		cmocka_unit_test(test_reject_too_large),
		cmocka_unit_test(test_reject_too_deep),
		cmocka_unit_test(test_reject_not_map_envelope_and_body),
		cmocka_unit_test(test_reject_wrong_type_names_path),
		cmocka_unit_test(test_reject_missing_key),
		cmocka_unit_test(test_reject_string_too_long),
		cmocka_unit_test(test_reject_array_too_long),
		cmocka_unit_test(test_reject_unknown_kind),
		cmocka_unit_test(test_reject_newer_major_before_anything_else),
		cmocka_unit_test(test_reject_bad_values),
		cmocka_unit_test(test_reject_bad_part_given_to_decode),
		cmocka_unit_test(test_unknown_keys_skipped_everywhere),
		cmocka_unit_test(test_hostile_claimed_lengths_rejected_without_allocation),
		cmocka_unit_test(test_hostile_random_bytes_fixed_seed),
		cmocka_unit_test(test_hostile_mutated_valid_messages_never_crash),
		cmocka_unit_test(test_json_views_agree_for_every_kind),
		cmocka_unit_test(test_json_faithful_for_bin_ext_keys_and_bad_utf8),
		cmocka_unit_test(test_split_small_record_goes_whole),
		cmocka_unit_test(test_split_big_image_reassembled_out_of_order_with_duplicate),
		cmocka_unit_test(test_reasm_arena_records_equal_malloc_ones),
		cmocka_unit_test(test_reasm_whole_names_parts_and_refuses_alike),
		cmocka_unit_test(test_reasm_whole_beside_take),
		cmocka_unit_test(test_reasm_missing_part_stays_pending),
		cmocka_unit_test(test_reasm_last_part_names_the_held_record),
		cmocka_unit_test(test_reasm_bounds_evict_oldest),
		cmocka_unit_test(test_reasm_rejects_inconsistent_parts),
	};

	log_init("test-schema", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
