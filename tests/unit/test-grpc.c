/*
 * test-grpc.c: agent/grpc.c's message framing (5-byte prefix) and the
 * containerd messages of agent/proto/containerd.proto: bytes split
 * anywhere, several messages per chunk, hostile lengths and flags, and
 * wire compatibility with containerd's field numbers (bytes written by
 * hand from the protobuf encoding rules).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <protobuf-c/protobuf-c.h>

#include "agent/agent.h"
#include "agent/proto/containerd.pb-c.h"

struct got {
	char	 msgs[16][64];
	size_t	 lens[16];
	size_t	 n;
	int	 fail_at;	/* return -1 on this message (1-based), 0 never */
};

static int
collect(const uint8_t *msg, size_t len, void *arg)
{
	struct got *g = arg;

	if (g->n >= 16)
		return -1;
	memcpy(g->msgs[g->n], msg, len < 63 ? len : 63);
	g->lens[g->n] = len;
	g->n++;
	return g->fail_at != 0 && (size_t)g->fail_at == g->n ? -1 : 0;
}

static size_t
frame(uint8_t *out, const char *payload, uint8_t flag)
{
	size_t n = strlen(payload);

	out[0] = flag;
	out[1] = (uint8_t)(n >> 24);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	memcpy(out + 5, payload, n);
	return n + 5;
}

static void
test_framer_reassembles_messages_split_at_every_byte(void **state)
{
	uint8_t wire[256];
	size_t len = 0, cut, i;
	struct grpc_framer f;
	struct got g;

	len += frame(wire + len, "first", 0);
	len += frame(wire + len, "", 0);		/* an empty message */
	len += frame(wire + len, "third message", 0);
	for (cut = 1; cut < len; cut++) {
		grpc_framer_init(&f, 1024);
		memset(&g, 0, sizeof(g));
		/* first piece up to cut, then the rest one byte at a time */
		assert_int_equal(grpc_framer_feed(&f, wire, cut, collect, &g), 0);
		for (i = cut; i < len; i++)
			assert_int_equal(grpc_framer_feed(&f, wire + i, 1, collect, &g), 0);
		assert_int_equal(g.n, 3);
		assert_string_equal(g.msgs[0], "first");
		assert_int_equal(g.lens[1], 0);
		assert_string_equal(g.msgs[2], "third message");
		assert_true(grpc_framer_idle(&f));
		grpc_framer_free(&f);
	}
}

static void
test_framer_reports_a_half_read_message(void **state)
{
	uint8_t wire[64];
	size_t len = frame(wire, "truncated", 0);
	struct grpc_framer f;
	struct got g;

	grpc_framer_init(&f, 1024);
	memset(&g, 0, sizeof(g));
	assert_int_equal(grpc_framer_feed(&f, wire, len - 3, collect, &g), 0);
	assert_int_equal(g.n, 0);
	assert_false(grpc_framer_idle(&f));	/* the call would be "truncated" */
	grpc_framer_free(&f);
}

static void
test_framer_refuses_oversized_length_before_buffering(void **state)
{
	uint8_t hdr[5] = { 0, 0x7f, 0xff, 0xff, 0xff };	/* 2 GiB announced */
	struct grpc_framer f;
	struct got g;

	grpc_framer_init(&f, 1024);
	memset(&g, 0, sizeof(g));
	assert_int_equal(grpc_framer_feed(&f, hdr, 5, collect, &g), -1);
	assert_true(f.cap < 4096);	/* nothing allocated for the lie */
	/* once failed, it stays failed */
	assert_int_equal(grpc_framer_feed(&f, "", 0, collect, &g), -1);
	grpc_framer_free(&f);
}

static void
test_framer_refuses_compressed_flag(void **state)
{
	uint8_t wire[64];
	size_t len = frame(wire, "zipped", 1);
	struct grpc_framer f;
	struct got g;

	grpc_framer_init(&f, 1024);
	memset(&g, 0, sizeof(g));
	assert_int_equal(grpc_framer_feed(&f, wire, len, collect, &g), -1);
	assert_int_equal(g.n, 0);
	grpc_framer_free(&f);
}

static void
test_framer_stops_when_the_callback_fails(void **state)
{
	uint8_t wire[128];
	size_t len = 0;
	struct grpc_framer f;
	struct got g;

	len += frame(wire + len, "a", 0);
	len += frame(wire + len, "b", 0);
	len += frame(wire + len, "c", 0);
	grpc_framer_init(&f, 1024);
	memset(&g, 0, sizeof(g));
	g.fail_at = 2;
	assert_int_equal(grpc_framer_feed(&f, wire, len, collect, &g), -1);
	assert_int_equal(g.n, 2);		/* "c" never delivered */
	grpc_framer_free(&f);
}

static void
test_encode_prefixes_length_big_endian(void **state)
{
	Tallyman__Ctrd__GetContainerRequest req = TALLYMAN__CTRD__GET_CONTAINER_REQUEST__INIT;
	uint8_t *buf;
	size_t len;

	req.id = (char *)"abc";
	buf = grpc_frame_encode(&req.base, &len);
	/* field 1, wire type 2: 0x0a, length 3, "abc" */
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "\0\0\0\0\x05\x0a\x03" "abc", 10);
	free(buf);
	buf = grpc_frame_encode(NULL, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "\0\0\0\0\0", 5);
	free(buf);
}

/* An Envelope as containerd sends it: timestamp, namespace, topic, event
 * (Any with a TaskStart inside), encoded by hand. */
static void
test_envelope_decodes_with_containerds_field_numbers(void **state)
{
	static const uint8_t ts[] = { 0x08, 0x80, 0xf6, 0x8d, 0xd8, 0x06,	/* seconds */
	    0x10, 0x05 };							/* nanos 5 */
	static const uint8_t start[] = { 0x0a, 0x02, 'c', '1', 0x10, 0xb9, 0x60 };	/* id, pid 12345 */
	const char *url = "containerd.events.TaskStart";
	uint8_t anyb[128], env[256];
	size_t na = 0, ne = 0;
	Tallyman__Ctrd__Envelope *e;
	Tallyman__Ctrd__TaskStart *t;

	anyb[na++] = 0x0a;
	anyb[na++] = (uint8_t)strlen(url);
	memcpy(anyb + na, url, strlen(url));
	na += strlen(url);
	anyb[na++] = 0x12;
	anyb[na++] = sizeof(start);
	memcpy(anyb + na, start, sizeof(start));
	na += sizeof(start);

	env[ne++] = 0x0a;
	env[ne++] = sizeof(ts);
	memcpy(env + ne, ts, sizeof(ts));
	ne += sizeof(ts);
	env[ne++] = 0x12;
	env[ne++] = 4;
	memcpy(env + ne, "moby", 4);
	ne += 4;
	env[ne++] = 0x1a;
	env[ne++] = 12;
	memcpy(env + ne, "/tasks/start", 12);
	ne += 12;
	env[ne++] = 0x22;
	env[ne++] = (uint8_t)na;
	memcpy(env + ne, anyb, na);
	ne += na;
	/* an unknown field 9 (varint) must be skipped */
	env[ne++] = 0x48;
	env[ne++] = 0x01;

	e = tallyman__ctrd__envelope__unpack(NULL, ne, env);
	assert_non_null(e);
	assert_string_equal(e->namespace_, "moby");
	assert_string_equal(e->topic, "/tasks/start");
	assert_int_equal(e->timestamp->seconds, 1795390208);
	assert_int_equal(e->timestamp->nanos, 5);
	assert_string_equal(e->event->type_url, url);
	t = tallyman__ctrd__task_start__unpack(NULL, e->event->value.len,
	    e->event->value.data);
	assert_non_null(t);
	assert_string_equal(t->container_id, "c1");
	assert_int_equal(t->pid, 12345);
	tallyman__ctrd__task_start__free_unpacked(t, NULL);
	tallyman__ctrd__envelope__free_unpacked(e, NULL);

	/* garbage (a length running past the end) is refused, not trusted */
	env[1] = 0x7f;
	assert_null(tallyman__ctrd__envelope__unpack(NULL, ne, env));
}

static void
test_task_create_carries_rootfs_mounts(void **state)
{
	Tallyman__Ctrd__TaskCreate tc = TALLYMAN__CTRD__TASK_CREATE__INIT, *back;
	Tallyman__Ctrd__Mount m = TALLYMAN__CTRD__MOUNT__INIT, *mp = &m;
	char *opts[] = { (char *)"index=off", (char *)"workdir=/w",
	    (char *)"upperdir=/u", (char *)"lowerdir=/l1:/l2" };
	uint8_t buf[512];
	size_t len;

	m.type = (char *)"overlay";
	m.source = (char *)"overlay";
	m.options = opts;
	m.n_options = 4;
	tc.container_id = (char *)"c2";
	tc.rootfs = &mp;
	tc.n_rootfs = 1;
	tc.pid = 777;
	len = tallyman__ctrd__task_create__pack(&tc, buf);
	/* field 3 (rootfs) is length-delimited: tag 0x1a; pid is field 6 */
	assert_non_null(memchr(buf, 0x1a, len));
	assert_int_equal(buf[len - 3], 0x30);
	back = tallyman__ctrd__task_create__unpack(NULL, len, buf);
	assert_non_null(back);
	assert_int_equal(back->n_rootfs, 1);
	assert_string_equal(back->rootfs[0]->options[3], "lowerdir=/l1:/l2");
	assert_int_equal(back->pid, 777);
	tallyman__ctrd__task_create__free_unpacked(back, NULL);
}

static void
test_grpc_message_is_percent_decoded_and_printable(void **state)
{
	char out[64];
	const char *in = "container%20%22x%22%20not%20found%0A%zz";

	grpc_message_decode(in, strlen(in), out, sizeof(out));
	assert_string_equal(out, "container \"x\" not found?%zz");
	grpc_message_decode("abcdef", 6, out, 4);
	assert_string_equal(out, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framer_reassembles_messages_split_at_every_byte),
		cmocka_unit_test(test_framer_reports_a_half_read_message),
		cmocka_unit_test(test_framer_refuses_oversized_length_before_buffering),
		cmocka_unit_test(test_framer_refuses_compressed_flag),
		cmocka_unit_test(test_framer_stops_when_the_callback_fails),
		cmocka_unit_test(test_encode_prefixes_length_big_endian),
		cmocka_unit_test(test_envelope_decodes_with_containerds_field_numbers),
		cmocka_unit_test(test_task_create_carries_rootfs_mounts),
		cmocka_unit_test(test_grpc_message_is_percent_decoded_and_printable),
	};

	log_init("test-grpc", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
