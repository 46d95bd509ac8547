/*
 * config.c: tallyman-collector's configuration table (STYLE.md rule 7).  The
 * table is the documentation: --help and the man page print it.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

/* api.listen: HOST:PORT or [IPV6]:PORT, port 1..65535. */
static int
collector_config_check_listen(const char *value, const char **why)
{
	const char	*colon;
	char		*end;
	long		 port;

	*why = "expected HOST:PORT or [IPV6]:PORT";
	if (value[0] == '[') {
		const char *close = strchr(value, ']');

		if (close == NULL || close == value + 1 || close[1] != ':')
			return -1;
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL || colon == value ||
		    memchr(value, ':', (size_t)(colon - value)) != NULL)
			return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 ||
	    port > 65535) {
		*why = "port must be 1 to 65535";
		return -1;
	}
	return 0;
}

/* findings.webhook: empty (none) or an http:// or https:// URL. */
static int
collector_config_check_webhook(const char *value, const char **why)
{
	if (*value == '\0' || strncmp(value, "http://", 7) == 0 ||
	    strncmp(value, "https://", 8) == 0)
		return 0;
	*why = "expected empty or an http:// or https:// URL";
	return -1;
}

/* api.auth: token or none. */
static int
collector_config_check_auth(const char *value, const char **why)
{
	if (strcmp(value, "token") == 0 || strcmp(value, "none") == 0)
		return 0;
	*why = "expected token or none";
	return -1;
}

#define C(field) offsetof(struct collector_config, field)

const struct cfg_entry collector_config_table[] = {
	{ .key = "log.level", .type = CFG_STRING, .def = "info",
	  .offset = C(log_level), .check = cfg_check_log_level,
	  .help = "log level: error, warning, info or debug" },
	{ .key = "kafka.brokers", .type = CFG_STRING, .def = "localhost:9092",
	  .offset = C(kafka_brokers), .check = cfg_check_nonempty,
	  .help = "Kafka bootstrap servers, host:port[,host:port...]; "
	  "\"embedded\" runs an in-process broker on 127.0.0.1 for a "
	  "single-host trial (not for production)" },
	{ .key = "kafka.topic", .type = CFG_STRING, .def = "tallyman.inventory",
	  .offset = C(kafka_topic), .check = cfg_check_name,
	  .help = "topic the agents produce inventory records to" },
	{ .key = "kafka.group", .type = CFG_STRING, .def = "tallyman-collector",
	  .offset = C(kafka_group), .check = cfg_check_name,
	  .help = "consumer group shared by the collector's replicas" },
	{ .key = "kafka.*", .type = CFG_PASSTHROUGH, .offset = C(kafka),
	  .help = "any other librdkafka property, passed as is, e.g. "
	  "kafka.security.protocol, kafka.ssl.ca.location, "
	  "kafka.ssl.certificate.location, kafka.ssl.key.location, "
	  "kafka.sasl.mechanisms, kafka.sasl.username, kafka.sasl.password" },
	{ .key = "store.path", .type = CFG_STRING,
	  .def = TALLYMAN_STATEDIR "/collector/collector.db",
	  .offset = C(store_path), .check = cfg_check_nonempty,
	  .help = "SQLite database file (WAL mode)" },
	{ .key = "api.listen", .type = CFG_STRING, .def = "127.0.0.1:8750",
	  .offset = C(api_listen), .check = collector_config_check_listen,
	  .help = "address of the HTTP JSON API and web page" },
	{ .key = "api.token_file", .type = CFG_STRING,
	  .def = TALLYMAN_CONFDIR "/api.token",
	  .offset = C(api_token_file), .check = cfg_check_nonempty,
	  .help = "file holding the API's bearer token" },
	{ .key = "api.auth", .type = CFG_STRING, .def = "token",
	  .offset = C(api_auth), .check = collector_config_check_auth,
	  .help = "token: every request but /healthz needs the bearer token; "
	  "none: no token (only allowed when api.listen is a loopback "
	  "address)" },
	{ .key = "store.retention", .type = CFG_DURATION, .def = "30d",
	  .offset = C(store_retention),
	  .help = "removed containers and resolved findings older than this "
	  "are deleted from the store (checked hourly)" },
	{ .key = "feeds.osv", .type = CFG_LIST, .def = "",
	  .offset = C(feeds_osv),
	  .help = "OSV vulnerability feeds, comma-separated: folders of .json "
	  "records, zip archives (OSV's ECOSYSTEM/all.zip), .json files, or "
	  "http(s) URLs of either" },
	{ .key = "feeds.interval", .type = CFG_DURATION, .def = "6h",
	  .offset = C(feeds_interval),
	  .help = "how often the feeds are fetched again" },
	{ .key = "findings.topic", .type = CFG_STRING,
	  .def = "tallyman.findings",
	  .offset = C(findings_topic), .check = cfg_check_name,
	  .help = "topic findings are published to" },
	{ .key = "findings.webhook", .type = CFG_STRING, .def = "",
	  .offset = C(findings_webhook), .check = collector_config_check_webhook,
	  .help = "URL each new finding is POSTed to as JSON; empty: none" },
};
const size_t collector_config_table_len = TM_NELEM(collector_config_table);
