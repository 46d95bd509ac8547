/*
 * output.c: every record leaves the agent through agent_emit.
 *
 * agent_emit wraps a body in the envelope (host id, next sequence number,
 * send time, kind), encodes it with the schema codec and hands it to the
 * sinks chosen by `output`:
 *   json   one JSON object per line on stdout (tm_record_to_json), for
 *          operators and tests;
 *   kafka  the spool, then librdkafka (spool.c, publish.c): a record over
 *          TM_PART_MAX travels as numbered parts (tm_split), one spool frame
 *          and one Kafka message per part, all with the record's number.
 * Both may be given: "kafka,json".
 *
 * Writing JSON to stdout blocks the loop if the reader is slow; it is the
 * operator's and the tests' view, not the production path.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

#define OUTPUT_DRAIN_MS		10000u
#define OUTPUT_SBUF_KEEP	(256u * 1024)	/* encode buffer kept between records */

struct output {
	struct agent	*a;
	bool		 json;
	bool		 kafka;
	struct seq	*seq;
	struct spool	*spool;
	struct publish	*pub;
	struct heartbeat *hb;
	msgpack_sbuffer	 sbuf;
	bool		 closing;
	uv_timer_t	 close_timer;	/* waits for a seq reservation */
	void		(*done)(struct agent *);
};

/* Copy the body of kind into the record's union.  Returns 0 or -1. */
static int
output_set_body(struct tm_record *rec, enum tm_kind kind, const void *body)
{
	switch (kind) {
	case TM_KIND_HOST:
		memcpy(&rec->body.host, body, sizeof rec->body.host);
		break;
	case TM_KIND_HEARTBEAT:
		memcpy(&rec->body.heartbeat, body, sizeof rec->body.heartbeat);
		break;
	case TM_KIND_EVENT:
		memcpy(&rec->body.event, body, sizeof rec->body.event);
		break;
	case TM_KIND_CONTAINER:
		memcpy(&rec->body.container, body, sizeof rec->body.container);
		break;
	case TM_KIND_IMAGE:
		memcpy(&rec->body.image, body, sizeof rec->body.image);
		break;
	case TM_KIND_DRIFT:
		memcpy(&rec->body.drift, body, sizeof rec->body.drift);
		break;
	default:
		return -1;
	}
	rec->kind = kind;
	return 0;
}

struct output_part {
	struct output	*o;
	uint64_t	 seq;
	unsigned	 n;
	bool		 lost;
};

static int
output_part_cb(const void *part, size_t len, void *arg)
{
	struct output_part	*op = arg;
	struct agent		*a = op->o->a;
	uint64_t		 dropped = 0;
	bool			 first = op->n++ == 0;

	if (spool_append(op->o->spool, part, len, op->seq, first,
	    &dropped) == -1)
		op->lost = true;
	else if (first)
		a->stats.spooled++;
	a->stats.dropped += dropped;
	return 0;
}

static void
output_json(struct output *o, const struct tm_record *rec)
{
	json_t	*j = tm_record_to_json(rec);

	if (j == NULL) {
		log_warnx("output: record %" PRIu64 " has no JSON form", rec->seq);
		return;
	}
	if (json_dumpf(j, stdout, JSON_COMPACT) == -1 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
		/* Nobody reads any more: say so once and stop writing. */
		log_warn("output: stdout: JSON output stopped");
		o->json = false;
	}
	json_decref(j);
}

int
agent_emit(struct agent *a, enum tm_kind kind, const void *body)
{
	struct output		*o = a->out;
	struct tm_record	 rec;
	struct output_part	 op;

	if (o == NULL || o->seq == NULL) {
		log_warnx("output: record emitted with no output open");
		return -1;
	}
	memset(&rec, 0, sizeof rec);
	if (output_set_body(&rec, kind, body) == -1) {
		log_warnx("output: unknown record kind %d", (int)kind);
		return -1;
	}
	rec.version = TM_SCHEMA_MAJOR;
	rec.host_id = a->host_id;
	rec.epoch = seq_epoch(o->seq);
	if (seq_next(o->seq, &rec.seq) == -1) {
		log_warnx("output: no sequence number: record not sent");
		return -1;
	}
	rec.sent_ns = now_ns();
	o->sbuf.size = 0;
	if (tm_encode(&rec, &o->sbuf) == -1) {
		/* A bug in the caller: nothing used the number. */
		seq_unget(o->seq, rec.seq);
		log_warnx("output: %s record not encodable: not sent",
		    tm_kind_name(kind) != NULL ? tm_kind_name(kind) : "?");
		return -1;
	}
	a->stats.records++;
	if (o->json)
		output_json(o, &rec);
	if (o->kafka) {
		memset(&op, 0, sizeof op);
		op.o = o;
		op.seq = rec.seq;
		if (tm_split(o->sbuf.data, o->sbuf.size, output_part_cb,
		    &op) == -1)
			op.lost = true;
		if (op.lost) {
			a->stats.dropped++;
			log_warnx("output: record %" PRIu64 " (%s) could not be "
			    "spooled: dropped", rec.seq, tm_kind_name(kind));
		}
		publish_kick(o->pub);
	}
	/* One large image record must not pin its buffer for good. */
	if (o->sbuf.alloc > OUTPUT_SBUF_KEEP) {
		msgpack_sbuffer_destroy(&o->sbuf);
		msgpack_sbuffer_init(&o->sbuf);
	}
	return 0;
}

/* Parse "kafka", "json" or "kafka,json".  Returns 0 or -1. */
static int
output_parse(struct output *o, const char *spec)
{
	char	**list;
	size_t	  n, i;
	int	  rc = 0;

	list = cfg_list_split(spec != NULL ? spec : "", &n);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i], "json") == 0)
			o->json = true;
		else if (strcmp(list[i], "kafka") == 0)
			o->kafka = true;
		else {
			log_warnx("output: unknown sink \"%s\" (kafka, json)",
			    list[i]);
			rc = -1;
		}
	}
	cfg_list_free(list);
	if (rc == 0 && !o->json && !o->kafka) {
		log_warnx("output: no sink given (kafka, json)");
		rc = -1;
	}
	return rc;
}

/*
 * The host id of every envelope: host.id, else /etc/machine-id, else the
 * host name.  Returns 0 or -1 (none found).
 */
static int
output_host_id(struct agent *a)
{
	FILE	*fp;
	char	 buf[sizeof a->host_id];
	size_t	 n;

	if (a->host_id[0] != '\0')
		return 0;
	if (a->cfg.host_id != NULL && a->cfg.host_id[0] != '\0') {
		snprintf(a->host_id, sizeof a->host_id, "%s", a->cfg.host_id);
		return 0;
	}
	if ((fp = fopen("/etc/machine-id", "re")) != NULL) {
		if (fgets(buf, sizeof buf, fp) != NULL) {
			n = strcspn(buf, " \t\r\n");
			buf[n] = '\0';
			if (n > 0)
				snprintf(a->host_id, sizeof a->host_id, "%s", buf);
		}
		fclose(fp);
		if (a->host_id[0] != '\0')
			return 0;
	}
	if (gethostname(buf, sizeof buf) == 0 && buf[0] != '\0') {
		buf[sizeof buf - 1] = '\0';
		snprintf(a->host_id, sizeof a->host_id, "%s", buf);
		log_warnx("output: no host.id and no /etc/machine-id: using "
		    "the host name %s", a->host_id);
		return 0;
	}
	log_warnx("output: no host id (set host.id)");
	return -1;
}

/*
 * Open the sinks named by spec for agent a (a->host_id filled from host.id
 * or /etc/machine-id if empty): for Kafka the spool in
 * STATE_DIR/spool (recovered: what it holds is sent first) and the
 * producer; the sequence in STATE_DIR; the heartbeat timer.  Returns 0 or
 * -1 (logged; nothing left open).
 */
int
output_open(struct agent *a, const char *spec)
{
	struct output		*o;
	struct spool_info	 si;
	char			*dir = NULL;

	/* A reader of --output json that goes away, or a broker connection
	 * reset, must be an error to handle, not a signal that kills us. */
	signal(SIGPIPE, SIG_IGN);
	o = xcalloc(1, sizeof *o);
	o->a = a;
	msgpack_sbuffer_init(&o->sbuf);
	if (output_parse(o, spec) == -1 || output_host_id(a) == -1)
		goto fail;
	if (o->kafka) {
		if (a->cfg.state_dir == NULL || a->cfg.state_dir[0] == '\0') {
			log_warnx("output: state.dir is required for kafka");
			goto fail;
		}
		if (xasprintf(&dir, "%s/spool", a->cfg.state_dir) == -1)
			goto fail;
		o->spool = spool_open(a->loop, dir, a->cfg.spool_max_bytes,
		    a->cfg.spool_sync_interval);
		if (o->spool == NULL)
			goto fail;
		spool_get_info(o->spool, &si);
		o->seq = seq_open(a->loop, a->cfg.state_dir, si.has_last_seq,
		    si.last_seq);
		if (o->seq == NULL)
			goto fail;
	} else {
		o->seq = NULL;
		if (a->cfg.state_dir != NULL && a->cfg.state_dir[0] != '\0' &&
		    access(a->cfg.state_dir, W_OK) == 0)
			o->seq = seq_open(a->loop, a->cfg.state_dir, false, 0);
		if (o->seq == NULL) {
			log_info("output: sequence kept in memory only "
			    "(state.dir not writable)");
			o->seq = seq_open(a->loop, NULL, false, 0);
		}
	}
	a->out = o;
	if (o->kafka && (o->pub = publish_open(a, o->spool)) == NULL) {
		a->out = NULL;
		goto fail;
	}
	uv_timer_init(a->loop, &o->close_timer);
	o->close_timer.data = o;
	o->hb = heartbeat_start(a);
	free(dir);
	return 0;
fail:
	if (o->seq != NULL)
		while (seq_close(o->seq, false) == 1)
			uv_run(a->loop, UV_RUN_ONCE);
	if (o->spool != NULL)
		spool_close(o->spool);
	msgpack_sbuffer_destroy(&o->sbuf);
	free(dir);
	free(o);
	return -1;
}

void
output_fill_heartbeat(struct agent *a, struct tm_heartbeat *hb)
{
	struct output		*o = a->out;
	struct spool_info	 si;
	struct publish_stats	 ps;

	if (o == NULL)
		return;
	if (o->spool != NULL) {
		spool_get_info(o->spool, &si);
		hb->spool_bytes = si.bytes;
		hb->spool_records = si.records;
	}
	if (o->pub != NULL) {
		publish_get_stats(o->pub, &ps);
		hb->kafka_queue = ps.queue;
		hb->kafka_rtt_us = ps.rtt_us;
		hb->kafka_errors = ps.errors;
	}
}

static void
output_freed(uv_handle_t *h)
{
	struct output	*o = h->data;
	struct agent	*a = o->a;
	void		(*done)(struct agent *) = o->done;

	msgpack_sbuffer_destroy(&o->sbuf);
	free(o);
	a->out = NULL;
	if (done != NULL)
		done(a);
}

/* Last step: the sequence, once no reservation is running. */
static void
output_close_seq(uv_timer_t *t)
{
	struct output	*o = t->data;

	if (seq_close(o->seq, true) == 1) {
		uv_timer_start(&o->close_timer, output_close_seq, 10, 0);
		return;
	}
	o->seq = NULL;
	uv_close((uv_handle_t *)&o->close_timer, output_freed);
}

static void
output_publish_closed(void *arg)
{
	struct output	*o = arg;

	o->pub = NULL;
	if (o->spool != NULL) {
		spool_close(o->spool);
		o->spool = NULL;
	}
	output_close_seq(&o->close_timer);
}

/*
 * SIGTERM drain: a last heartbeat (the final counters), then wait for what
 * is in flight, flush the spool, record a clean stop of the sequence, and
 * call done(a).  Records emitted meanwhile still go to the spool.
 */
void
output_close(struct agent *a, void (*done)(struct agent *))
{
	struct output	*o = a->out;

	if (o == NULL) {
		if (done != NULL)
			done(a);
		return;
	}
	if (o->closing)
		return;
	o->done = done;
	/* No heartbeat configured (the snapshot command): no final one. */
	if (o->hb != NULL && heartbeat_emit(a) == -1)
		log_warnx("output: final heartbeat not emitted");
	heartbeat_stop(o->hb);
	o->hb = NULL;
	o->closing = true;
	if (o->pub != NULL)
		publish_close(o->pub, OUTPUT_DRAIN_MS, output_publish_closed, o);
	else
		output_publish_closed(o);
}
