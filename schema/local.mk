# schema/: the wire format's spec and its C codec, linked by both programs.
noinst_LIBRARIES += schema/libschema.a
schema_libschema_a_SOURCES = \
	schema/schema.h \
	schema/fields.c \
	schema/codec.c \
	schema/json.c \
	schema/split.c
schema_libschema_a_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
# The codec logs through common/ (log_warnx) and allocates with xmalloc:
# link $(COMMON_LIBS) after $(SCHEMA_LIBS).
SCHEMA_LIBS = schema/libschema.a $(MSGPACK_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += schema/README.md

# tallyman-decode: wire records (a kcat stream or a spool segment) as JSON.
bin_PROGRAMS += schema/tallyman-decode
schema_tallyman_decode_SOURCES = schema/decode.c
schema_tallyman_decode_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
schema_tallyman_decode_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS)

# Tests of schema/ (cmocka, TAP).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-schema
TESTS += tests/unit/test-schema
tests_unit_test_schema_SOURCES = tests/unit/test-schema.c \
	tests/unit/schema-fixtures.c tests/unit/schema-fixtures.h
tests_unit_test_schema_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_schema_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)
endif

# Encoder samples and the field tables, for the scripts that check them with
# independent tools (python3-jsonschema, python3-msgpack).
check_PROGRAMS += tests/unit/schema-samples
tests_unit_schema_samples_SOURCES = tests/unit/schema-samples.c \
	tests/unit/schema-fixtures.c tests/unit/schema-fixtures.h
tests_unit_schema_samples_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_schema_samples_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS)

# The spec in its three forms, and the scripts that check them.
dist_noinst_DATA += \
	schema/envelope.schema.json \
	schema/host.schema.json \
	schema/heartbeat.schema.json \
	schema/event.schema.json \
	schema/container.schema.json \
	schema/image.schema.json \
	schema/drift.schema.json
TESTS += tests/integ/schema-jsonschema.sh
EXTRA_DIST += tests/integ/schema-jsonschema.sh
TESTS += tests/integ/schema-consistency.sh tests/integ/schema-decode.sh
EXTRA_DIST += tests/integ/schema-consistency.sh tests/integ/schema-decode.sh
