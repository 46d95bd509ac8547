/*
 * test-publish.c: the producer (agent/publish.c) fed from the spool,
 * against librdkafka's mock cluster in this process: every spooled frame
 * is delivered in order and released; during an outage nothing is released
 * and everything goes once the broker is back; a drain that times out
 * leaves the unacknowledged frames in the spool for the next start.
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "agent/agent.h"

#define TOPIC	"tallyman.inventory"

struct fixture {
	char			 dir[64];
	struct agent		 a;
	uv_loop_t		 loop;
	rd_kafka_t		*mrk;		/* hosts the mock cluster */
	rd_kafka_mock_cluster_t	*mc;
	char			 brokers[256];
	char			 topic[32];
	struct spool		*sp;
	struct publish		*pub;
	bool			 closed;
	uv_timer_t		 deadline;
	bool			 expired;
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof *fx);
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	char		 err[256];

	snprintf(fx->dir, sizeof fx->dir, "/tmp/tm-transport-pub-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
	fx->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	assert_non_null(fx->mrk);
	fx->mc = rd_kafka_mock_cluster_new(fx->mrk, 1);
	assert_non_null(fx->mc);
	assert_int_equal(rd_kafka_mock_topic_create(fx->mc, TOPIC, 1, 1), 0);
	snprintf(fx->brokers, sizeof fx->brokers, "%s",
	    rd_kafka_mock_cluster_bootstraps(fx->mc));
	snprintf(fx->topic, sizeof fx->topic, "%s", TOPIC);
	fx->a.loop = &fx->loop;
	fx->a.cfg.kafka_brokers = fx->brokers;
	fx->a.cfg.kafka_topic = fx->topic;
	fx->a.cfg.heartbeat_interval = 1000000000ull;
	snprintf(fx->a.host_id, sizeof fx->a.host_id, "test-host");
	fx->sp = spool_open(&fx->loop, fx->dir, 64u << 20, 10000000);
	assert_non_null(fx->sp);
	uv_timer_init(&fx->loop, &fx->deadline);
	fx->deadline.data = fx;
	*state = fx;
	return 0;
}

static void
rm_dir(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	char		 path[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	if (fx->sp != NULL)
		spool_close(fx->sp);
	uv_close((uv_handle_t *)&fx->deadline, NULL);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	rd_kafka_mock_cluster_destroy(fx->mc);
	rd_kafka_destroy(fx->mrk);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

static void
append(struct fixture *fx, uint64_t first, uint64_t n)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	uint64_t	i, d = 0;

	msgpack_sbuffer_init(&sb);
	for (i = first; i < first + n; i++) {
		sb.size = 0;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "s", 1);
		msgpack_pack_uint64(&pk, i);
		msgpack_pack_str_with_body(&pk, "x", 1);
		msgpack_pack_str_with_body(&pk, "payload-payload-payload", 23);
		assert_int_equal(spool_append(fx->sp, sb.data, sb.size, i, true,
		    &d), 0);
	}
	msgpack_sbuffer_destroy(&sb);
	publish_kick(fx->pub);
}

static void
deadline_cb(uv_timer_t *t)
{
	struct fixture	*fx = t->data;

	fx->expired = true;
}

/* Run the loop until acked reaches want or ms pass.  Returns acked. */
static uint64_t
run_until_acked(struct fixture *fx, uint64_t want, uint64_t ms)
{
	fx->expired = false;
	uv_timer_start(&fx->deadline, deadline_cb, ms, 0);
	while (fx->a.stats.acked < want && !fx->expired)
		uv_run(&fx->loop, UV_RUN_ONCE);
	uv_timer_stop(&fx->deadline);
	return fx->a.stats.acked;
}

/* Sequence numbers on the topic, in order, read with a real consumer. */
static size_t
consume_seqs(struct fixture *fx, uint64_t *out, size_t max)
{
	rd_kafka_conf_t			*conf = rd_kafka_conf_new();
	rd_kafka_t			*c;
	rd_kafka_topic_partition_list_t	*tp;
	rd_kafka_message_t		*m;
	char				 err[256];
	size_t				 n = 0;
	int				 idle = 0;

	rd_kafka_conf_set(conf, "bootstrap.servers", fx->brokers, err, sizeof err);
	rd_kafka_conf_set(conf, "group.id", "test-publish", err, sizeof err);
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
	c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
	assert_non_null(c);
	tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, TOPIC, 0)->offset =
	    RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(c, tp), 0);
	rd_kafka_topic_partition_list_destroy(tp);
	while (idle < 20 && n < max) {
		m = rd_kafka_consumer_poll(c, 100);
		if (m == NULL) {
			idle++;
			continue;
		}
		if (m->err == 0) {
			msgpack_unpacked	u;
			size_t			off = 0;

			msgpack_unpacked_init(&u);
			assert_int_equal(msgpack_unpack_next(&u, m->payload,
			    m->len, &off), MSGPACK_UNPACK_SUCCESS);
			assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
			out[n++] = u.data.via.map.ptr[0].val.via.u64;
			assert_int_equal(m->key_len, strlen("test-host"));
			assert_memory_equal(m->key, "test-host", m->key_len);
			msgpack_unpacked_destroy(&u);
			idle = 0;
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	return n;
}

static void
closed_cb(void *arg)
{
	struct fixture	*fx = arg;

	fx->closed = true;
}

static void
close_pub(struct fixture *fx, uint64_t timeout_ms)
{
	publish_close(fx->pub, timeout_ms, closed_cb, fx);
	while (!fx->closed)
		uv_run(&fx->loop, UV_RUN_ONCE);
	fx->pub = NULL;
}

static void
test_publish_delivers_every_frame_in_order_and_releases_it(void **state)
{
	struct fixture		*fx = *state;
	struct spool_info	 si;
	uint64_t		 seqs[2000];
	size_t			 n, i;

	fx->pub = publish_open(&fx->a, fx->sp);
	assert_non_null(fx->pub);
	append(fx, 1, 1000);
	assert_int_equal(run_until_acked(fx, 1000, 60000), 1000);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 0);
	close_pub(fx, 1000);
	n = consume_seqs(fx, seqs, TM_NELEM(seqs));
	assert_int_equal(n, 1000);
	for (i = 0; i < n; i++)
		assert_int_equal(seqs[i], i + 1);
}

static void
test_publish_outage_holds_everything_then_delivers_it(void **state)
{
	struct fixture		*fx = *state;
	struct spool_info	 si;
	uint64_t		 seqs[2000];
	size_t			 n, i;

	fx->pub = publish_open(&fx->a, fx->sp);
	assert_non_null(fx->pub);
	append(fx, 1, 100);
	assert_int_equal(run_until_acked(fx, 100, 60000), 100);
	assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, -1), 0);
	append(fx, 101, 400);
	assert_int_equal(run_until_acked(fx, 500, 3000), 100);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 400);
	assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, -1), 0);
	assert_int_equal(run_until_acked(fx, 500, 120000), 500);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 0);
	close_pub(fx, 1000);
	n = consume_seqs(fx, seqs, TM_NELEM(seqs));
	assert_int_equal(n, 500);
	for (i = 0; i < n; i++)
		assert_int_equal(seqs[i], i + 1);
}

static void
test_publish_drain_timeout_leaves_frames_in_the_spool(void **state)
{
	struct fixture		*fx = *state;
	struct spool_info	 si;

	fx->pub = publish_open(&fx->a, fx->sp);
	assert_non_null(fx->pub);
	assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, -1), 0);
	append(fx, 1, 50);
	assert_int_equal(run_until_acked(fx, 50, 1000), 0);
	close_pub(fx, 500);
	spool_close(fx->sp);
	fx->sp = spool_open(&fx->loop, fx->dir, 64u << 20, 10000000);
	assert_non_null(fx->sp);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 50);
	assert_int_equal(si.last_seq, 50);
	/* The next start sends them. */
	assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, -1), 0);
	fx->closed = false;
	fx->pub = publish_open(&fx->a, fx->sp);
	assert_non_null(fx->pub);
	assert_int_equal(run_until_acked(fx, 50, 120000), 50);
	close_pub(fx, 1000);
}

static void
test_publish_timed_out_messages_are_sent_again_from_the_spool(void **state)
{
	struct fixture		*fx = *state;
	char			 key[] = "message.timeout.ms", value[] = "1500";
	struct cfg_pair		 pair = { .key = key, .value = value };
	struct spool_info	 si;
	uint64_t		 seqs[4000];
	bool			 seen[301];
	size_t			 n, i;

	fx->a.cfg.kafka.pairs = &pair;
	fx->a.cfg.kafka.n = 1;
	fx->pub = publish_open(&fx->a, fx->sp);
	assert_non_null(fx->pub);
	assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, -1), 0);
	append(fx, 1, 300);
	/* Every message times out inside librdkafka: still in the spool. */
	assert_int_equal(run_until_acked(fx, 300, 4000), 0);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 300);
	assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, -1), 0);
	assert_int_equal(run_until_acked(fx, 300, 120000), 300);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 0);
	close_pub(fx, 1000);
	fx->a.cfg.kafka.pairs = NULL;
	fx->a.cfg.kafka.n = 0;
	n = consume_seqs(fx, seqs, TM_NELEM(seqs));
	memset(seen, 0, sizeof seen);
	for (i = 0; i < n; i++) {
		assert_true(seqs[i] >= 1 && seqs[i] <= 300);
		seen[seqs[i]] = true;
	}
	for (i = 1; i <= 300; i++)
		assert_true(seen[i]);
}

static void
test_publish_fatal_producer_error_gets_a_new_producer_and_loses_nothing(void **state)
{
	struct fixture		*fx = *state;
	struct spool_info	 si;
	uint64_t		 seqs[4000];
	bool			 seen[1001];
	size_t			 n, i;

	fx->pub = publish_open(&fx->a, fx->sp);
	assert_non_null(fx->pub);
	append(fx, 1, 200);
	assert_int_equal(run_until_acked(fx, 200, 60000), 200);
	assert_int_equal(rd_kafka_mock_broker_set_down(fx->mc, -1), 0);
	append(fx, 201, 300);
	assert_int_equal(run_until_acked(fx, 500, 1000), 200);
	assert_int_equal(publish_test_fatal(fx->pub), 0);
	assert_int_equal(rd_kafka_mock_broker_set_up(fx->mc, -1), 0);
	append(fx, 501, 500);
	assert_int_equal(run_until_acked(fx, 1000, 120000), 1000);
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.records, 0);
	close_pub(fx, 1000);
	n = consume_seqs(fx, seqs, TM_NELEM(seqs));
	memset(seen, 0, sizeof seen);
	for (i = 0; i < n; i++) {
		assert_true(seqs[i] >= 1 && seqs[i] <= 1000);
		seen[seqs[i]] = true;
	}
	for (i = 1; i <= 1000; i++)
		assert_true(seen[i]);
}

static void
test_publish_refuses_an_unknown_kafka_property(void **state)
{
	struct fixture		*fx = *state;
	char			 key[] = "no.such.property", value[] = "1";
	struct cfg_pair		 pair = { .key = key, .value = value };

	fx->a.cfg.kafka.pairs = &pair;
	fx->a.cfg.kafka.n = 1;
	assert_null(publish_open(&fx->a, fx->sp));
	fx->a.cfg.kafka.pairs = NULL;
	fx->a.cfg.kafka.n = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_publish_delivers_every_frame_in_order_and_releases_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_outage_holds_everything_then_delivers_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_drain_timeout_leaves_frames_in_the_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_timed_out_messages_are_sent_again_from_the_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_fatal_producer_error_gets_a_new_producer_and_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_refuses_an_unknown_kafka_property, setup, teardown),
	};

	log_init("test-publish", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
