# schema/: the wire format's spec and its C codec, linked by both programs.
noinst_LIBRARIES += schema/libschema.a
schema_libschema_a_SOURCES = \
	schema/schema.h
schema_libschema_a_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
SCHEMA_LIBS = schema/libschema.a $(MSGPACK_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += schema/README.md
