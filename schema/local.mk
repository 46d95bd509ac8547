# schema/: the wire format's spec and its C codec, linked by both programs.
noinst_LIBRARIES += schema/libschema.a
schema_libschema_a_SOURCES = \
	schema/schema.h \
	schema/fields.c \
	schema/codec.c
schema_libschema_a_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
# The codec logs through common/ (log_warnx) and allocates with xmalloc:
# link $(COMMON_LIBS) after $(SCHEMA_LIBS).
SCHEMA_LIBS = schema/libschema.a $(MSGPACK_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += schema/README.md

# Tests of schema/ (cmocka, TAP).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-schema
TESTS += tests/unit/test-schema
tests_unit_test_schema_SOURCES = tests/unit/test-schema.c \
	tests/unit/schema-fixtures.c tests/unit/schema-fixtures.h
tests_unit_test_schema_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_schema_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)
endif
