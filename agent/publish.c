/*
 * publish.c: the librdkafka producer, fed from the spool.
 *
 * The sender takes frames from the spool in order and hands them to
 * librdkafka (topic kafka.topic, key = host id), keeping at most a window
 * in flight.  A delivery report releases the frame from the spool; a failed
 * one leaves it there: once everything in flight has reported, the sender
 * rewinds to the oldest unreleased frame and sends again, in order, after a
 * back-off.  Duplicates are possible (the collector recognises them by
 * sequence number); losses are not.
 *
 * Defaults (each can be overridden by the matching kafka.X key):
 *   enable.idempotence=true  ordered, no duplicates within one producer;
 *   compression.codec=zstd, linger.ms=5;
 *   message.timeout.ms=0     never give up inside librdkafka: during an
 *                            outage the window simply waits, so a later
 *                            message can never overtake an earlier one;
 *   log.queue=true           librdkafka's logs come through the loop.
 *
 * librdkafka's main queue (delivery reports, logs, errors, statistics) is
 * drained on the loop: rd_kafka_queue_io_event_enable writes a byte to a
 * pipe when the queue becomes non-empty and a uv_poll_t watches it, so
 * nothing polls while nothing happens.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "agent/agent.h"

/* The window inside librdkafka: enough to fill its batches, small enough
 * for the agent's memory budget during an outage (the spool holds the
 * rest on disk). */
#define PUBLISH_WINDOW_MSGS	4096u
#define PUBLISH_WINDOW_RAW	(2u * 1024 * 1024)
#define PUBLISH_BACKOFF_MIN_MS	500u
#define PUBLISH_BACKOFF_MAX_MS	30000u

enum publish_state {
	PUB_INFLIGHT = 0,
	PUB_ACKED,
	PUB_REJECTED,		/* permanent error: dropped, counted */
	PUB_FAILED,		/* retriable: send again */
};

struct publish_entry {
	struct spool_pos end;
	uint32_t	 disklen;
	uint32_t	 rawlen;
	uint64_t	 seq;
	bool		 record_start;
	uint8_t		 state;
};

struct publish {
	struct agent	*a;
	struct spool	*sp;
	rd_kafka_t	*rk;
	rd_kafka_topic_t *rkt;
	rd_kafka_queue_t *mainq;
	int		 pipefd[2];
	uv_poll_t	 poll;
	uv_timer_t	 retry;
	unsigned	 backoff_ms;

	/* The window: a ring of entries, msgno = base + index. */
	struct publish_entry *ring;
	size_t		 cap;
	size_t		 first;		/* ring index of msgno base */
	size_t		 count;
	uint64_t	 base;
	size_t		 inflight;	/* entries still PUB_INFLIGHT */
	uint64_t	 inflight_bytes;	/* on disk */
	uint64_t	 inflight_raw;		/* in librdkafka's memory */
	bool		 failed;	/* a failure in the window: rewind */
	bool		 fatal;		/* idempotence broken: new producer */
	bool		 paused;	/* waiting for the retry timer */

	uint64_t	 errors;
	uint64_t	 rtt_us;
	struct log_ratelimit rl_err;
	struct log_ratelimit rl_log;

	bool		 closing;
	uv_timer_t	 close_timer;
	int		 handles_open;
	void		(*done)(void *);
	void		*done_arg;
};

static void	publish_pump(struct publish *p);
static int	publish_producer_new(struct publish *p);

/* Is this delivery error one that retrying will never fix? */
static bool
publish_permanent(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_MSG:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
		return true;
	default:
		return false;
	}
}

/* librdkafka log levels are syslog's. */
static enum log_level
publish_level(int level)
{
	/* Its LOG_ERR lines are mostly connection trouble it retries; the
	 * error callback reports what matters. */
	if (level <= LOG_CRIT)
		return LOG_LEVEL_ERROR;
	if (level <= LOG_WARNING)
		return LOG_LEVEL_WARN;
	if (level <= LOG_INFO)
		return LOG_LEVEL_INFO;
	return LOG_LEVEL_DEBUG;
}

static void
publish_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	struct publish	*p = rd_kafka_opaque(rk);
	enum log_level	 lv = publish_level(level);

	if (lv <= LOG_LEVEL_WARN && p != NULL && !log_ratelimit_ok(&p->rl_log))
		return;
	log_emit(lv, "publish: librdkafka: %s: %s", fac, buf);
}

static void
publish_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct publish	*p = opaque;
	char		 fbuf[512];

	p->errors++;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fbuf, sizeof fbuf);
		log_emit(LOG_LEVEL_ERROR, "publish: fatal producer error: %s; "
		    "starting a new producer", fbuf);
		p->fatal = true;
		return;
	}
	if (log_ratelimit_ok(&p->rl_err))
		log_emit(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
		    err == RD_KAFKA_RESP_ERR__TRANSPORT ? LOG_LEVEL_WARN :
		    LOG_LEVEL_ERROR, "publish: %s: %s", rd_kafka_err2name(err),
		    reason);
}

/*
 * Statistics JSON (librdkafka STATISTICS.md): the average round trip over
 * the brokers that have one.  Untrusted only in the sense that any field
 * may be missing: every access is type-checked.
 */
static int
publish_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct publish	*p = opaque;
	json_t		*root, *brokers, *b, *rtt, *avg;
	json_error_t	 jerr;
	const char	*name;
	uint64_t	 sum = 0, n = 0;

	root = json_loadb(json, len, 0, &jerr);
	if (root == NULL) {
		log_debug("publish: statistics: %s", jerr.text);
		return 0;
	}
	brokers = json_object_get(root, "brokers");
	if (json_is_object(brokers)) {
		json_object_foreach(brokers, name, b) {
			json_t	*nodeid = json_object_get(b, "nodeid");

			if (json_is_integer(nodeid) &&
			    json_integer_value(nodeid) < 0)
				continue;	/* bootstrap placeholder */
			rtt = json_object_get(b, "rtt");
			avg = json_object_get(rtt, "avg");
			if (json_is_integer(avg) && json_integer_value(avg) > 0) {
				sum += (uint64_t)json_integer_value(avg);
				n++;
			}
		}
	}
	p->rtt_us = n > 0 ? sum / n : 0;
	json_decref(root);
	return 0;	/* librdkafka frees json */
}

/* Drop acknowledged and rejected entries from the front of the window,
 * releasing them in the spool. */
static void
publish_release_front(struct publish *p)
{
	struct publish_entry	*e;

	while (p->count > 0) {
		e = &p->ring[p->first];
		if (e->state != PUB_ACKED && e->state != PUB_REJECTED)
			break;
		/* Counted here, once per record, not per delivery report:
		 * a record sent again after a failure is acknowledged twice. */
		if (e->state == PUB_ACKED && e->record_start)
			p->a->stats.acked++;
		spool_release(p->sp, e->end, e->record_start);
		p->first = (p->first + 1) % p->cap;
		p->count--;
		p->base++;
	}
}

static void
publish_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct publish		*p = opaque;
	uint64_t		 msgno = (uint64_t)(uintptr_t)m->_private;
	struct publish_entry	*e;

	if (msgno < p->base || msgno - p->base >= p->count) {
		log_warnx("publish: delivery report for unknown message %" PRIu64,
		    msgno);
		return;
	}
	e = &p->ring[(p->first + (msgno - p->base)) % p->cap];
	if (e->state != PUB_INFLIGHT)
		return;
	p->inflight--;
	p->inflight_bytes -= e->disklen;
	p->inflight_raw -= e->rawlen;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		e->state = PUB_ACKED;
		p->backoff_ms = 0;
	} else if (publish_permanent(m->err)) {
		e->state = PUB_REJECTED;
		p->errors++;
		if (e->record_start)
			p->a->stats.dropped++;
		log_emit(LOG_LEVEL_ERROR, "publish: record %" PRIu64
		    " rejected for good (%s): dropped", e->seq,
		    rd_kafka_err2str(m->err));
	} else {
		e->state = PUB_FAILED;
		p->failed = true;
		p->errors++;
		if (log_ratelimit_ok(&p->rl_err))
			log_warnx("publish: record %" PRIu64 " not delivered "
			    "(%s); it stays in the spool and is sent again",
			    e->seq, rd_kafka_err2str(m->err));
	}
	if (!p->failed)
		publish_release_front(p);
}

/* Serve librdkafka's main queue until it is empty. */
static void
publish_drain(struct publish *p)
{
	while (p->rk != NULL && rd_kafka_poll(p->rk, 0) > 0)
		;
}

static void
publish_retry_cb(uv_timer_t *t)
{
	struct publish	*p = t->data;

	if (p->rk == NULL && !p->closing && publish_producer_new(p) == -1) {
		uv_timer_start(&p->retry, publish_retry_cb,
		    PUBLISH_BACKOFF_MAX_MS, 0);
		return;
	}
	p->paused = false;
	publish_pump(p);
}

/* After a failure: once nothing is in flight, rewind and retry later. */
static void
publish_recover(struct publish *p)
{
	if (p->inflight > 0)
		return;
	if (p->fatal) {
		p->fatal = false;
		rd_kafka_queue_io_event_enable(p->mainq, -1, NULL, 0);
		rd_kafka_queue_destroy(p->mainq);
		p->mainq = NULL;
		rd_kafka_topic_destroy(p->rkt);
		p->rkt = NULL;
		rd_kafka_destroy(p->rk);
		p->rk = NULL;
		if (publish_producer_new(p) == -1)
			log_emit(LOG_LEVEL_ERROR,
			    "publish: cannot start a new producer; retrying");
		p->failed = true;
	}
	if (!p->failed)
		return;
	/* Entries acknowledged after the failure are sent again too
	 * (duplicates, never gaps): the spool releases only in order. */
	p->failed = false;
	p->count = 0;
	p->first = 0;
	p->inflight_bytes = 0;
	p->inflight_raw = 0;
	spool_rewind(p->sp);
	p->backoff_ms = p->backoff_ms == 0 ? PUBLISH_BACKOFF_MIN_MS :
	    p->backoff_ms * 2;
	if (p->backoff_ms > PUBLISH_BACKOFF_MAX_MS)
		p->backoff_ms = PUBLISH_BACKOFF_MAX_MS;
	p->paused = true;
	uv_timer_start(&p->retry, publish_retry_cb, p->backoff_ms, 0);
}

/*
 * Hand waiting frames to librdkafka while the window has room.  Frames go
 * in spool order; a refused produce puts the frame back and retries later.
 */
static void
publish_pump(struct publish *p)
{
	struct spool_frame	 f;
	struct publish_entry	*e;
	rd_kafka_resp_err_t	 err;
	uint64_t		 max_bytes = spool_max_inflight(p->sp);
	int			 r;

	if (p->closing || p->paused || p->failed || p->fatal || p->rk == NULL)
		return;
	while (p->count < p->cap && p->inflight_bytes < max_bytes &&
	    p->inflight_raw < PUBLISH_WINDOW_RAW) {
		r = spool_peek(p->sp, &f);
		if (r == -1)
			continue;	/* damaged frame skipped; logged */
		if (r == 0)
			break;
		err = rd_kafka_producev(p->rk,
		    RD_KAFKA_V_RKT(p->rkt),
		    RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
		    RD_KAFKA_V_VALUE(f.raw, f.rawlen),
		    RD_KAFKA_V_KEY(p->a->host_id, strlen(p->a->host_id)),
		    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(p->base + p->count)),
		    RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			free(f.raw);
			if (log_ratelimit_ok(&p->rl_err))
				log_warnx("publish: produce: %s; retrying",
				    rd_kafka_err2str(err));
			p->paused = true;
			uv_timer_start(&p->retry, publish_retry_cb,
			    PUBLISH_BACKOFF_MIN_MS, 0);
			break;
		}
		spool_advance(p->sp, &f);
		e = &p->ring[(p->first + p->count) % p->cap];
		e->end = f.end;
		e->disklen = f.disklen;
		e->rawlen = (uint32_t)f.rawlen;
		e->seq = f.seq;
		e->record_start = f.record_start;
		e->state = PUB_INFLIGHT;
		p->count++;
		p->inflight++;
		p->inflight_bytes += f.disklen;
		p->inflight_raw += f.rawlen;
	}
}

static void publish_maybe_closed(struct publish *p);

static void
publish_poll_cb(uv_poll_t *h, int status, int events)
{
	struct publish	*p = h->data;
	char		 buf[256];

	while (read(p->pipefd[0], buf, sizeof buf) > 0)
		;
	publish_drain(p);
	if (p->fatal && p->inflight > 0 && p->rk != NULL) {
		/* A fatal producer reports nothing more on its own. */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE |
		    RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
		publish_drain(p);
	}
	if ((p->failed || p->fatal) && !p->closing)
		publish_recover(p);
	if (p->closing)
		publish_maybe_closed(p);
	else
		publish_pump(p);
}

/* Set a librdkafka property, logging a refusal.  Returns 0 or -1. */
static int
publish_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char	errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) !=
	    RD_KAFKA_CONF_OK) {
		log_warnx("publish: kafka.%s: %s", key, errstr);
		return -1;
	}
	return 0;
}

/*
 * Create the producer and its topic handle, and route its main queue to
 * the pipe.  Returns 0 or -1 (logged).
 */
static int
publish_producer_new(struct publish *p)
{
	struct agent_config	*cfg = &p->a->cfg;
	rd_kafka_conf_t		*conf;
	char			 errstr[512], num[32];
	uint64_t		 stats_ms;
	size_t			 i;

	conf = rd_kafka_conf_new();
	/* Statistics feed the heartbeat: none without one. */
	stats_ms = cfg->heartbeat_interval / 1000000;
	if (stats_ms > 0 && stats_ms < 1000)
		stats_ms = 1000;
	if (stats_ms > 86400000)
		stats_ms = 86400000;
	snprintf(num, sizeof num, "%" PRIu64, stats_ms);
	if (publish_set(conf, "client.id", "tallyman-agent") == -1 ||
	    publish_set(conf, "enable.idempotence", "true") == -1 ||
	    publish_set(conf, "compression.codec", "zstd") == -1 ||
	    publish_set(conf, "linger.ms", "5") == -1 ||
	    publish_set(conf, "message.timeout.ms", "0") == -1 ||
	    publish_set(conf, "log.queue", "true") == -1 ||
	    publish_set(conf, "statistics.interval.ms", num) == -1 ||
	    (cfg->kafka_brokers != NULL && cfg->kafka_brokers[0] != '\0' &&
	    publish_set(conf, "bootstrap.servers", cfg->kafka_brokers) == -1))
		goto fail;
	for (i = 0; i < cfg->kafka.n; i++) {
		if (publish_set(conf, cfg->kafka.pairs[i].key,
		    cfg->kafka.pairs[i].value) == -1)
			goto fail;
	}
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, publish_dr_cb);
	rd_kafka_conf_set_error_cb(conf, publish_error_cb);
	rd_kafka_conf_set_log_cb(conf, publish_log_cb);
	rd_kafka_conf_set_stats_cb(conf, publish_stats_cb);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (p->rk == NULL) {
		log_warnx("publish: producer: %s", errstr);
		rd_kafka_conf_destroy(conf);	/* only freed on success */
		return -1;
	}
	p->mainq = rd_kafka_queue_get_main(p->rk);
	rd_kafka_set_log_queue(p->rk, NULL);
	rd_kafka_queue_io_event_enable(p->mainq, p->pipefd[1], "1", 1);
	p->rkt = rd_kafka_topic_new(p->rk, cfg->kafka_topic, NULL);
	if (p->rkt == NULL) {
		log_warnx("publish: topic %s: %s", cfg->kafka_topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_queue_io_event_enable(p->mainq, -1, NULL, 0);
		rd_kafka_queue_destroy(p->mainq);
		rd_kafka_destroy(p->rk);
		p->rk = NULL;
		p->mainq = NULL;
		return -1;
	}
	/* Anything queued before the pipe was attached. */
	if (write(p->pipefd[1], "1", 1) == -1 && errno != EAGAIN)
		log_warn("publish: pipe");
	return 0;
fail:
	rd_kafka_conf_destroy(conf);
	return -1;
}

/*
 * Start the producer for agent a, sending from spool sp.  Returns the
 * publisher or NULL (bad kafka.* setting or librdkafka refused: logged).
 */
struct publish *
publish_open(struct agent *a, struct spool *sp)
{
	struct publish	*p;
	int		 i;

	if (a->cfg.kafka_topic == NULL || a->cfg.kafka_topic[0] == '\0') {
		log_warnx("publish: kafka.topic is empty");
		return NULL;
	}
	p = xcalloc(1, sizeof *p);
	p->a = a;
	p->sp = sp;
	p->cap = PUBLISH_WINDOW_MSGS;
	p->ring = xcalloc(p->cap, sizeof *p->ring);
	p->rl_err.interval_s = 10;
	p->rl_err.burst = 5;
	p->rl_log.interval_s = 10;
	p->rl_log.burst = 10;
	if (pipe2(p->pipefd, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("publish: pipe");
		free(p->ring);
		free(p);
		return NULL;
	}
	if (publish_producer_new(p) == -1) {
		for (i = 0; i < 2; i++)
			close(p->pipefd[i]);
		free(p->ring);
		free(p);
		return NULL;
	}
	uv_poll_init(a->loop, &p->poll, p->pipefd[0]);
	p->poll.data = p;
	uv_poll_start(&p->poll, UV_READABLE, publish_poll_cb);
	uv_timer_init(a->loop, &p->retry);
	p->retry.data = p;
	uv_timer_init(a->loop, &p->close_timer);
	p->close_timer.data = p;
	log_info("publish: producing to %s on %s", a->cfg.kafka_topic,
	    a->cfg.kafka_brokers != NULL ? a->cfg.kafka_brokers : "(kafka.bootstrap.servers)");
	publish_pump(p);
	return p;
}

/* New records are in the spool. */
void
publish_kick(struct publish *p)
{
	publish_pump(p);
}

/*
 * Tests only: make librdkafka raise a fatal error, as a broken idempotence
 * state would, to exercise the producer's replacement.  Returns 0 or -1.
 */
int
publish_test_fatal(struct publish *p)
{
	if (p->rk == NULL)
		return -1;
	return rd_kafka_test_fatal_error(p->rk,
	    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "tallyman test") ==
	    RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

void
publish_get_stats(const struct publish *p, struct publish_stats *st)
{
	memset(st, 0, sizeof *st);
	if (p == NULL)
		return;
	st->queue = p->rk != NULL ? (uint64_t)rd_kafka_outq_len(p->rk) : 0;
	st->rtt_us = p->rtt_us;
	st->errors = p->errors;
	st->inflight = p->inflight;
}

static void
publish_handle_closed(uv_handle_t *h)
{
	struct publish	*p = h->data;
	void		(*done)(void *) = p->done;
	void		*arg = p->done_arg;

	if (--p->handles_open > 0)
		return;
	close(p->pipefd[0]);
	close(p->pipefd[1]);
	free(p->ring);
	free(p);
	if (done != NULL)
		done(arg);
}

/* Everything reported (or the drain timed out): tear down. */
static void
publish_finish(struct publish *p)
{
	size_t	left = p->inflight;

	if (p->rk != NULL) {
		if (left > 0) {
			log_warnx("publish: %zu messages still in flight at exit; "
			    "they stay in the spool", left);
			rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE |
			    RD_KAFKA_PURGE_F_INFLIGHT);
		}
		rd_kafka_queue_io_event_enable(p->mainq, -1, NULL, 0);
		/* Purged reports must not release anything: the window is
		 * marked failed so nothing moves the spool's head. */
		p->failed = true;
		publish_drain(p);
		rd_kafka_queue_destroy(p->mainq);
		rd_kafka_topic_destroy(p->rkt);
		rd_kafka_destroy(p->rk);
		p->rk = NULL;
	}
	p->handles_open = 4;
	uv_close((uv_handle_t *)&p->poll, publish_handle_closed);
	uv_close((uv_handle_t *)&p->retry, publish_handle_closed);
	uv_close((uv_handle_t *)&p->close_timer, publish_handle_closed);
	/* The fourth reference is ours: drop it now. */
	p->handles_open--;
}

static void
publish_maybe_closed(struct publish *p)
{
	if (p->inflight > 0 || p->handles_open > 0)
		return;
	uv_timer_stop(&p->close_timer);
	publish_finish(p);
}

static void
publish_close_timeout(uv_timer_t *t)
{
	struct publish	*p = t->data;

	if (p->handles_open == 0)
		publish_finish(p);
}

/*
 * Drain: stop sending new frames, wait up to timeout_ms for the delivery
 * reports of what is in flight, then destroy the producer.  Unreported
 * frames stay in the spool for the next start.  Calls done(arg) when freed.
 */
void
publish_close(struct publish *p, uint64_t timeout_ms,
    void (*done)(void *), void *arg)
{
	p->closing = true;
	p->done = done;
	p->done_arg = arg;
	uv_timer_stop(&p->retry);
	if (p->inflight == 0) {
		publish_finish(p);
		return;
	}
	log_info("publish: waiting for %zu messages in flight", p->inflight);
	uv_timer_start(&p->close_timer, publish_close_timeout, timeout_ms, 0);
}
