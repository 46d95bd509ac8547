/*
 * config.c: tallyman-agent's configuration table (STYLE.md rule 7).  The
 * table is the documentation: --help and the man page print it.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "agent/agent.h"

/* output: "kafka", "json" or both, comma-separated. */
static int
agent_config_check_output(const char *value, const char **why)
{
	char		**list;
	const char	 *p;
	size_t		  n, i, commas = 0;
	int		  rc = 0;

	for (p = value; *p != '\0'; p++)
		if (*p == ',')
			commas++;
	list = cfg_list_split(value, &n);
	if (n == 0 || n != commas + 1)	/* no empty items */
		rc = -1;
	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "kafka") != 0 && strcmp(list[i], "json") != 0)
			rc = -1;
	}
	cfg_list_free(list);
	if (rc == -1)
		*why = "expected kafka, json or kafka,json";
	return rc;
}

/* host.id: empty (read /etc/machine-id) or a short printable name. */
static int
agent_config_check_host_id(const char *value, const char **why)
{
	const char	*p;

	if (strlen(value) > 127) {
		*why = "longer than 127 bytes";
		return -1;
	}
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			*why = "expected printable ASCII without spaces";
			return -1;
		}
	}
	return 0;
}

#define A(field) offsetof(struct agent_config, field)

const struct cfg_entry agent_config_table[] = {
	{ .key = "log.level", .type = CFG_STRING, .def = "info",
	  .offset = A(log_level), .check = cfg_check_log_level,
	  .help = "log level: error, warning, info or debug" },
	{ .key = "host.id", .type = CFG_STRING, .def = "",
	  .offset = A(host_id), .check = agent_config_check_host_id,
	  .help = "this host's id in every record; empty: read /etc/machine-id" },
	{ .key = "state.dir", .type = CFG_STRING,
	  .def = TALLYMAN_STATEDIR "/agent",
	  .offset = A(state_dir), .check = cfg_check_nonempty,
	  .help = "folder for the spool, sequence number and image inventory cache" },
	{ .key = "docker.socket", .type = CFG_STRING,
	  .def = "/var/run/docker.sock",
	  .offset = A(docker_socket), .check = cfg_check_nonempty,
	  .help = "Docker Engine API socket (skipped while absent)" },
	{ .key = "containerd.socket", .type = CFG_STRING,
	  .def = "/run/containerd/containerd.sock",
	  .offset = A(containerd_socket), .check = cfg_check_nonempty,
	  .help = "containerd gRPC socket (skipped while absent)" },
	{ .key = "output", .type = CFG_STRING, .def = "kafka",
	  .offset = A(output), .check = agent_config_check_output,
	  .help = "where records go: kafka, json (lines on stdout) or kafka,json" },
	{ .key = "kafka.brokers", .type = CFG_STRING, .def = "localhost:9092",
	  .offset = A(kafka_brokers), .check = cfg_check_nonempty,
	  .help = "Kafka bootstrap servers, host:port[,host:port...] "
	  "(librdkafka bootstrap.servers)" },
	{ .key = "kafka.topic", .type = CFG_STRING, .def = "tallyman.inventory",
	  .offset = A(kafka_topic), .check = cfg_check_name,
	  .help = "topic the inventory records are produced to" },
	{ .key = "kafka.*", .type = CFG_PASSTHROUGH, .offset = A(kafka),
	  .help = "any other librdkafka property, passed as is, e.g. "
	  "kafka.security.protocol, kafka.ssl.ca.location, "
	  "kafka.ssl.certificate.location, kafka.ssl.key.location, "
	  "kafka.sasl.mechanisms, kafka.sasl.username, kafka.sasl.password; "
	  "they override the agent's enable.idempotence=true, "
	  "compression.codec=zstd, linger.ms=5, message.timeout.ms=0" },
	{ .key = "spool.max_bytes", .type = CFG_SIZE, .def = "256M",
	  .offset = A(spool_max_bytes),
	  .help = "on-disk spool bound; when full the oldest records are "
	  "dropped (counted and reported)" },
	{ .key = "spool.sync_interval", .type = CFG_DURATION, .def = "200ms",
	  .offset = A(spool_sync_interval),
	  .help = "how often new spool data is flushed to disk (on the "
	  "thread pool); a power loss loses at most this much" },
	{ .key = "heartbeat.interval", .type = CFG_DURATION, .def = "30s",
	  .offset = A(heartbeat_interval),
	  .help = "interval between heartbeat records (and librdkafka "
	  "statistics); 0: none" },
	{ .key = "inventory.max_file_bytes", .type = CFG_SIZE, .def = "64M",
	  .offset = A(inventory_max_file),
	  .help = "largest package database file read from a container" },
	{ .key = "proc.root", .type = CFG_STRING, .def = "/proc",
	  .offset = A(proc_root), .check = cfg_check_nonempty,
	  .help = "where the host's /proc is mounted" },
};
const size_t agent_config_table_len = TM_NELEM(agent_config_table);
