/* test-agent-config.c: tallyman-agent's configuration table (agent/config.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

#define T agent_config_table
#define N agent_config_table_len

static int
set(struct agent_config *c, const char *key, const char *value)
{
	char	err[256];

	return cfg_set(T, N, c, key, value, err, sizeof err);
}

static void
test_defaults_are_the_documented_ones(void **state)
{
	struct agent_config c;

	(void)state;
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.host_id, "");
	assert_string_equal(c.state_dir, TALLYMAN_STATEDIR "/agent");
	assert_string_equal(c.docker_socket, "/var/run/docker.sock");
	assert_string_equal(c.containerd_socket,
	    "/run/containerd/containerd.sock");
	assert_string_equal(c.output, "kafka");
	assert_string_equal(c.kafka_brokers, "localhost:9092");
	assert_string_equal(c.kafka_topic, "tallyman.inventory");
	assert_int_equal(c.kafka.n, 0);
	assert_int_equal(c.spool_max_bytes, 256ull << 20);
	assert_int_equal(c.spool_sync_interval, 200ull * 1000000);
	assert_int_equal(c.heartbeat_interval, 30ull * 1000000000);
	assert_int_equal(c.inventory_max_file, 64ull << 20);
	assert_string_equal(c.proc_root, "/proc");
	cfg_free(T, N, &c);
}

static void
test_every_key_has_help(void **state)
{
	static const char *const keys[] = { "log.level", "host.id",
	    "state.dir", "docker.socket", "containerd.socket", "output",
	    "kafka.brokers", "kafka.topic", "kafka.*", "spool.max_bytes",
	    "spool.sync_interval", "heartbeat.interval",
	    "inventory.max_file_bytes", "proc.root" };
	size_t	i, j;

	(void)state;
	assert_int_equal(N, TM_NELEM(keys));
	for (i = 0; i < TM_NELEM(keys); i++) {
		for (j = 0; j < N; j++)
			if (strcmp(T[j].key, keys[i]) == 0)
				break;
		assert_true(j < N);
		assert_non_null(T[j].help);
		assert_true(strlen(T[j].help) > 10);
	}
}

static void
test_kafka_help_names_the_common_properties(void **state)
{
	static const char *const props[] = { "security.protocol",
	    "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
	    "sasl.mechanisms", "sasl.username", "sasl.password" };
	char	*text = NULL;
	size_t	 len = 0, i;
	FILE	*mem = open_memstream(&text, &len);

	(void)state;
	cfg_print_help(mem, T, N);
	fclose(mem);
	for (i = 0; i < TM_NELEM(props); i++)
		assert_non_null(strstr(text, props[i]));
	free(text);
}

static void
test_output_accepts_kafka_json_or_both(void **state)
{
	struct agent_config c;

	(void)state;
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_int_equal(set(&c, "output", "json"), 0);
	assert_int_equal(set(&c, "output", "kafka,json"), 0);
	assert_int_equal(set(&c, "output", "json, kafka"), 0);
	assert_int_equal(set(&c, "output", "xml"), -1);
	assert_int_equal(set(&c, "output", ""), -1);
	assert_int_equal(set(&c, "output", "kafka,,json"), -1);
	assert_string_equal(c.output, "json, kafka");
	cfg_free(T, N, &c);
}

static void
test_value_checks(void **state)
{
	struct agent_config c;
	char	long_id[200];

	(void)state;
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_int_equal(set(&c, "log.level", "debug"), 0);
	assert_int_equal(set(&c, "log.level", "loud"), -1);
	assert_int_equal(set(&c, "host.id", "web-01.example"), 0);
	assert_int_equal(set(&c, "host.id", "two words"), -1);
	memset(long_id, 'h', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_int_equal(set(&c, "host.id", long_id), -1);
	assert_int_equal(set(&c, "kafka.topic", "bad topic"), -1);
	assert_int_equal(set(&c, "kafka.topic", ""), -1);
	assert_int_equal(set(&c, "kafka.brokers", ""), -1);
	assert_int_equal(set(&c, "spool.max_bytes", "1G"), 0);
	assert_int_equal(c.spool_max_bytes, 1ull << 30);
	assert_int_equal(set(&c, "heartbeat.interval", "often"), -1);
	assert_int_equal(set(&c, "proc.root", ""), -1);
	cfg_free(T, N, &c);
}

/* A file as an operator would write it, with TLS/SASL passthrough. */
static void
test_operator_file_loads_and_masks_password(void **state)
{
	static const char text[] =
	    "# /etc/tallyman/agent.conf\n"
	    "host.id = node-7\n"
	    "kafka.brokers = k1:9093,k2:9093\n"
	    "kafka.security.protocol = SASL_SSL\n"
	    "kafka.ssl.ca.location = /etc/tallyman/ca.pem\n"
	    "kafka.sasl.mechanisms = SCRAM-SHA-512\n"
	    "kafka.sasl.username = agent\n"
	    "kafka.sasl.password = \"s3cr3t pass\"\n"
	    "spool.max_bytes = 1G\n"
	    "heartbeat.interval = 1m\n";
	struct agent_config c;
	char	 path[] = "/tmp/tm-common-agentcfgXXXXXX", err[256];
	char	*out = NULL;
	size_t	 len = 0;
	FILE	*mem;
	int	 fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, sizeof text - 1),
	    (ssize_t)(sizeof text - 1));
	close(fd);
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_int_equal(cfg_load_file(T, N, &c, path, err, sizeof err), 0);
	unlink(path);
	assert_string_equal(c.host_id, "node-7");
	assert_int_equal(c.kafka.n, 5);
	assert_string_equal(c.kafka.pairs[4].key, "sasl.password");
	assert_string_equal(c.kafka.pairs[4].value, "s3cr3t pass");
	assert_int_equal(c.heartbeat_interval, 60ull * 1000000000);
	mem = open_memstream(&out, &len);
	cfg_print(mem, T, N, &c);
	fclose(mem);
	assert_null(strstr(out, "s3cr3t"));
	assert_non_null(strstr(out, "kafka.sasl.username = \"agent\""));
	free(out);
	cfg_free(T, N, &c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_the_documented_ones),
		cmocka_unit_test(test_every_key_has_help),
		cmocka_unit_test(test_kafka_help_names_the_common_properties),
		cmocka_unit_test(test_output_accepts_kafka_json_or_both),
		cmocka_unit_test(test_value_checks),
		cmocka_unit_test(test_operator_file_loads_and_masks_password),
	};

	log_init("test-agent-config", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests_name("agent-config", tests, NULL, NULL);
}
