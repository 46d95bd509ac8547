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
	const char		*config_path;
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

/* seq.c: the host's sequence number, monotonic across restarts. */
struct seq;
struct seq *seq_open(uv_loop_t *loop, const char *dir, bool have_spool_last,
	    uint64_t spool_last);
int	seq_next(struct seq *sq, uint64_t *out);
int	seq_unget(struct seq *sq, uint64_t n);
uint64_t seq_peek(const struct seq *sq);
int	seq_close(struct seq *sq, bool clean);

/* spool.c: the on-disk spool between agent_emit and Kafka. */
struct spool;
struct spool_pos {
	uint64_t segno;
	uint64_t off;
};
/* One frame handed to the sender. */
struct spool_frame {
	uint8_t	*raw;			/* the Kafka payload; caller frees */
	size_t	 rawlen;
	struct spool_pos start, end;
	uint32_t disklen;
	uint64_t seq;
	bool	 record_start;		/* false for parts 2.. of a split record */
};
struct spool_info {
	uint64_t bytes;			/* on disk now */
	uint64_t records;		/* unacknowledged records now */
	uint64_t segments;
	uint64_t cut_frames;		/* damaged frames cut (start-up or read) */
	uint64_t cut_bytes;
	uint64_t dropped;		/* records dropped: spool full or unwritable */
	bool	 has_last_seq;
	uint64_t last_seq;		/* newest sequence number on disk */
};
struct spool *spool_open(uv_loop_t *loop, const char *dir, uint64_t max_bytes,
	    uint64_t sync_interval_ns);
int	spool_append(struct spool *sp, const void *raw, size_t len, uint64_t seq,
	    bool record_start, uint64_t *dropped);
int	spool_peek(struct spool *sp, struct spool_frame *f);
void	spool_advance(struct spool *sp, const struct spool_frame *f);
void	spool_release(struct spool *sp, struct spool_pos end, bool record_start);
void	spool_rewind(struct spool *sp);
void	spool_get_info(const struct spool *sp, struct spool_info *info);
uint64_t spool_max_inflight(const struct spool *sp);
void	spool_close(struct spool *sp);

/* publish.c: the librdkafka producer fed from the spool. */
struct publish;
struct publish_stats {
	uint64_t queue;			/* messages inside librdkafka now */
	uint64_t rtt_us;		/* average broker round trip (statistics) */
	uint64_t errors;		/* error callbacks and failed deliveries */
	uint64_t inflight;
};
struct publish *publish_open(struct agent *a, struct spool *sp);
void	publish_kick(struct publish *p);
void	publish_get_stats(const struct publish *p, struct publish_stats *st);
/* Wait (at most timeout_ms) for what is in flight, then free; calls done. */
void	publish_close(struct publish *p, uint64_t timeout_ms,
	    void (*done)(void *), void *arg);

/* heartbeat.c: the agent's counters as a record on an interval. */
struct heartbeat;
struct heartbeat *heartbeat_start(struct agent *a);
int	heartbeat_emit(struct agent *a);
void	heartbeat_stop(struct heartbeat *hb);
/* output.c: spool and producer figures for the heartbeat. */
void	output_fill_heartbeat(struct agent *a, struct tm_heartbeat *hb);

#endif /* TALLYMAN_AGENT_H */
