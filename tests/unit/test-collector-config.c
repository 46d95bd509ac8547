/* test-collector-config.c: tallyman-collector's configuration table (collector/config.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/collector.h"

#define T collector_config_table
#define N collector_config_table_len

static int
set(struct collector_config *c, const char *key, const char *value)
{
	char	err[256];

	return cfg_set(T, N, c, key, value, err, sizeof err);
}

static void
test_defaults_are_the_documented_ones(void **state)
{
	struct collector_config c;

	(void)state;
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.kafka_brokers, "localhost:9092");
	assert_string_equal(c.kafka_topic, "tallyman.inventory");
	assert_string_equal(c.kafka_group, "tallyman-collector");
	assert_int_equal(c.kafka.n, 0);
	assert_string_equal(c.store_path, TALLYMAN_STATEDIR "/collector/collector.db");
	assert_string_equal(c.api_listen, "127.0.0.1:8750");
	assert_string_equal(c.api_token_file, TALLYMAN_CONFDIR "/api.token");
	assert_string_equal(c.feeds_osv, "");
	assert_int_equal(c.feeds_interval, 6ull * 3600 * 1000000000);
	assert_string_equal(c.findings_topic, "tallyman.findings");
	assert_string_equal(c.findings_webhook, "");
	cfg_free(T, N, &c);
}

static void
test_every_key_has_help(void **state)
{
	static const char *const keys[] = { "log.level", "kafka.brokers",
	    "kafka.topic", "kafka.group", "kafka.*", "store.path",
	    "api.listen", "api.token_file", "api.auth", "store.retention",
	    "feeds.osv", "feeds.interval",
	    "findings.topic", "findings.webhook" };
	size_t	i, j;

	(void)state;
	assert_int_equal(N, TM_NELEM(keys));
	for (i = 0; i < TM_NELEM(keys); i++) {
		for (j = 0; j < N; j++)
			if (strcmp(T[j].key, keys[i]) == 0)
				break;
		assert_true(j < N);
		assert_true(strlen(T[j].help) > 10);
	}
}

static void
test_embedded_broker_is_documented(void **state)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*mem = open_memstream(&text, &len);

	(void)state;
	cfg_print_help(mem, T, N);
	fclose(mem);
	assert_non_null(strstr(text, "\"embedded\""));
	assert_non_null(strstr(text, "sasl.password"));
	free(text);
}

static void
test_api_listen_forms(void **state)
{
	struct collector_config c;

	(void)state;
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_int_equal(set(&c, "api.listen", "0.0.0.0:80"), 0);
	assert_int_equal(set(&c, "api.listen", "[::1]:8750"), 0);
	assert_int_equal(set(&c, "api.listen", "collector.example:65535"), 0);
	assert_int_equal(set(&c, "api.listen", "localhost"), -1);
	assert_int_equal(set(&c, "api.listen", ":8750"), -1);
	assert_int_equal(set(&c, "api.listen", "h:0"), -1);
	assert_int_equal(set(&c, "api.listen", "h:65536"), -1);
	assert_int_equal(set(&c, "api.listen", "h:80x"), -1);
	assert_int_equal(set(&c, "api.listen", "::1:80"), -1);
	assert_int_equal(set(&c, "api.listen", "[]:80"), -1);
	assert_int_equal(set(&c, "api.listen", "[::1]80"), -1);
	assert_string_equal(c.api_listen, "collector.example:65535");
	cfg_free(T, N, &c);
}

static void
test_value_checks(void **state)
{
	struct collector_config c;
	char	**feeds;
	size_t	  n;

	(void)state;
	memset(&c, 0, sizeof c);
	assert_int_equal(cfg_defaults(T, N, &c), 0);
	assert_int_equal(set(&c, "findings.webhook",
	    "https://hooks.example/abc"), 0);
	assert_int_equal(set(&c, "findings.webhook", "ftp://x"), -1);
	assert_int_equal(set(&c, "findings.webhook", ""), 0);
	assert_int_equal(set(&c, "kafka.group", "my group"), -1);
	assert_int_equal(set(&c, "findings.topic", ""), -1);
	assert_int_equal(set(&c, "kafka.brokers", "embedded"), 0);
	assert_int_equal(set(&c, "feeds.osv",
	    "/var/lib/osv/debian.zip, https://osv.example/all.zip"), 0);
	feeds = cfg_list_split(c.feeds_osv, &n);
	assert_int_equal(n, 2);
	assert_string_equal(feeds[1], "https://osv.example/all.zip");
	cfg_list_free(feeds);
	assert_int_equal(set(&c, "feeds.interval", "30m"), 0);
	assert_int_equal(c.feeds_interval, 1800ull * 1000000000);
	cfg_free(T, N, &c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_the_documented_ones),
		cmocka_unit_test(test_every_key_has_help),
		cmocka_unit_test(test_embedded_broker_is_documented),
		cmocka_unit_test(test_api_listen_forms),
		cmocka_unit_test(test_value_checks),
	};

	log_init("test-collector-config", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests_name("collector-config", tests, NULL, NULL);
}
