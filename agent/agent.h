/*
 * agent.h: what crosses files inside tallyman-agent.  Everything else is
 * static.  Sections are named by the file that defines them.
 */
#ifndef TALLYMAN_AGENT_H
#define TALLYMAN_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "common/common.h"
#include "schema/schema.h"

/* config.c: the agent's configuration table. */
struct agent_config {
	char	*log_level;
	char	*host_id;		/* host.id: default /etc/machine-id */
	char	*state_dir;		/* state.dir */
	char	*docker_socket;		/* docker.socket */
	char	*containerd_socket;	/* containerd.socket */
	char	*output;		/* output: kafka, json or kafka,json */
	char	*kafka_brokers;		/* kafka.brokers */
	char	*kafka_topic;		/* kafka.topic */
	struct cfg_passthrough kafka;	/* any other kafka.X */
	uint64_t spool_max_bytes;	/* spool.max_bytes */
	uint64_t spool_sync_interval;	/* spool.sync_interval (ns) */
	uint64_t heartbeat_interval;	/* heartbeat.interval (ns) */
	uint64_t inventory_max_file;	/* inventory.max_file_bytes */
	char	*proc_root;		/* proc.root: /proc (tests may change it) */
};
extern const struct cfg_entry agent_config_table[];
extern const size_t agent_config_table_len;

/* Counters reported in the heartbeat (and by `run` on exit). */
struct agent_stats {
	uint64_t events;
	uint64_t snapshots;
	uint64_t containers;
	uint64_t image_scans;
	uint64_t image_cache_hits;
	uint64_t records;
	uint64_t spooled;
	uint64_t acked;
	uint64_t dropped;
	uint64_t parse_errors;
	uint64_t drift_records;
};

struct output;
struct watchers;
struct containers;
struct inventory_cache;

/* The agent: one per process, passed everywhere (no mutable globals). */
struct agent {
	uv_loop_t		*loop;
	struct agent_config	 cfg;
	const char		*config_path;	/* file read, or NULL (defaults) */
	const struct cli_opts	*opts;		/* -c/-o again on SIGHUP reload */
	char			 host_id[128];
	uint64_t		 start_mono_ns;
	struct agent_stats	 stats;
	struct curluv		*curl;
	struct output		*out;
	struct watchers		*watchers;
	struct containers	*containers;
	struct inventory_cache	*icache;
	uv_signal_t		 sig_term, sig_int, sig_hup;
	bool			 stopping;
};

/*
 * main.c: subcommands, in the style of tmux's cmd_table.  A command is one
 * file, agent/cmd-<name>.c, defining `const struct agent_cmd
 * agent_cmd_<name>` (declared here), plus one line in main.c's agent_cmds[].
 */
struct agent_cmd {
	const char	*name;		/* "snapshot" */
	const char	*usage;		/* its arguments, for --help: "[--json]" */
	const char	*help;		/* one line for --help */
	/*
	 * Run with a->cfg loaded (and freed by main afterwards), a->opts and
	 * a->config_path set, logging configured, everything else zero.
	 * argv[0] is the command's name.  Returns the exit status: 0, 1 on
	 * failure, 2 on a usage error.
	 */
	int		(*exec)(struct agent *a, int argc, char **argv);
	unsigned	 issue;		/* exec NULL: the issue that builds it */
};

/* output.c: every record leaves the agent through agent_emit. */
/*
 * Wrap body (of kind) in an envelope with this host's id, the next sequence
 * number and the send time, and hand it to every configured sink (Kafka via
 * the spool, JSON lines on stdout).  body is only read.  Returns 0 or -1.
 */
int	agent_emit(struct agent *a, enum tm_kind kind, const void *body);
int	output_open(struct agent *a, const char *spec);
/* Flush and close the sinks (SIGTERM drain).  Calls done when finished. */
void	output_close(struct agent *a, void (*done)(struct agent *));

#endif /* TALLYMAN_AGENT_H */
