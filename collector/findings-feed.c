/*
 * findings-feed.c: every new and every resolved finding, as JSON (the API's
 * shape plus "event": "new" | "resolved"), to the findings topic
 * (findings.topic) with librdkafka, and optionally POSTed to
 * findings.webhook with libcurl on the loop (common/curl-uv.c).
 *
 * Once per state change: the engine calls the sink exactly once per change;
 * the producer is idempotent (enable.idempotence), so librdkafka's own
 * retries never write a message twice.  The message key is the finding's id,
 * so the "new" and "resolved" of one finding stay in order on one partition.
 *
 * The JSON and the produce call run on a thread of the feed's own (the
 * encoder, feed_enc_main): a fleet's first snapshots or a feed change make
 * findings by the hundred thousand, and jansson's encoding of each would
 * otherwise hold the loop that stores the records.  The sink hands the
 * encoder a copy of each change, in order, through a bounded queue (the
 * loop waits when it is full, as it waited for librdkafka's queue before);
 * bodies for the webhook come back to the loop in the same order.
 *
 * The webhook gets one POST at a time, in order.  A failed POST (transport
 * error or a status other than 2xx) is tried again after 1 s, 2 s, 4 s ...
 * (at most 60 s between tries, FEED_HOOK_TRIES tries); the queue is bounded
 * (FEED_HOOK_QUEUE_MAX: the oldest is dropped and counted).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>

#include "collector/collector.h"

#define FEED_POLL_MS		100
#define FEED_HOOK_QUEUE_MAX	10000
#define FEED_HOOK_TRIES		8
#define FEED_HOOK_BACKOFF_MS	1000
#define FEED_HOOK_BACKOFF_MAX	60000
#define FEED_HOOK_TIMEOUT_S	10
#define FEED_ENC_QUEUE_MAX	65536	/* changes waiting for the encoder */

/* A change for the encoder: a copy of the finding. */
struct feed_job {
	struct finding	*f;
	int		 resolved;
	struct feed_job	*next;
};

struct feed_hook_msg {
	char			*body;
	size_t			 len;
	unsigned		 tries;
	struct feed_hook_msg	*next;
};

struct findings_feed {
	uv_loop_t		*loop;
	rd_kafka_t		*rk;
	rd_kafka_topic_t	*rkt;
	char			*topic;
	uv_timer_t		 poll;
	/* webhook */
	char			*webhook;
	struct curluv		*cu;
	struct feed_hook_msg	*head, *tail;
	size_t			 queued;
	CURL			*busy;		/* the POST in flight */
	struct curl_slist	*hdrs;
	uv_timer_t		 retry;
	uint64_t		 backoff_ms;
	int			 closing;
	int			 nclosed;	/* of poll, retry and async */
	struct findings_feed_stats st;
	/* The encoder thread; what mu guards is marked (mu). */
	uv_thread_t		 enc;
	int			 enc_started;
	uv_mutex_t		 mu;
	uv_cond_t		 more;		/* jobs queued, or stop */
	uv_cond_t		 room;		/* the queue has room again */
	struct feed_job		*jhead, *jtail;	/* (mu) */
	size_t			 jqueued;	/* (mu) */
	int			 enc_stop;	/* (mu) */
	struct feed_hook_msg	*bhead, *btail;	/* webhook bodies (mu) */
	uint64_t		 enc_published;	/* (mu) */
	uint64_t		 enc_failed;	/* (mu) */
	uv_async_t		 async;		/* bodies are back */
};

static void
feed_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct findings_feed *ff = opaque;

	/* On the loop (its poll timer) or on the encoder (a full queue). */
	uv_mutex_lock(&ff->mu);
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		ff->st.delivered++;
	else
		ff->st.failed++;
	uv_mutex_unlock(&ff->mu);
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	log_warnx("findings-feed: %s: not delivered: %s", ff->topic,
	    rd_kafka_err2str(m->err));
}

static void
feed_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	/* syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug. */
	log_emit(level <= 3 ? LOG_LEVEL_ERROR : level == 4 ? LOG_LEVEL_WARN :
	    level <= 6 ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
	    "findings-feed: librdkafka: %s: %s", fac, buf);
}

static void
feed_poll_cb(uv_timer_t *t)
{
	struct findings_feed *ff = t->data;

	rd_kafka_poll(ff->rk, 0);
}

/* ---------------------------------------------------------------------- */
/* Webhook */

static void	feed_hook_next(struct findings_feed *ff);
static void	feed_enc_main(void *arg);
static void	feed_async_cb(uv_async_t *a);

static void
feed_hook_pop(struct findings_feed *ff)
{
	struct feed_hook_msg *m = ff->head;

	if (m == NULL)
		return;
	ff->head = m->next;
	if (ff->head == NULL)
		ff->tail = NULL;
	ff->queued--;
	free(m->body);
	free(m);
}

static void
feed_hook_retry_cb(uv_timer_t *t)
{
	feed_hook_next(t->data);
}

static void
feed_hook_done(CURL *easy, int result, void *arg)
{
	struct findings_feed	*ff = arg;
	long			 status = 0;

	ff->busy = NULL;
	if (result == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	if (ff->closing || ff->head == NULL)
		return;
	if (result == CURLE_OK && status >= 200 && status < 300) {
		ff->st.hook_ok++;
		ff->backoff_ms = FEED_HOOK_BACKOFF_MS;
		feed_hook_pop(ff);
		feed_hook_next(ff);
		return;
	}
	ff->st.hook_errors++;
	if (++ff->head->tries >= FEED_HOOK_TRIES) {
		log_warnx("findings-feed: webhook: giving up on a finding after "
		    "%u tries (%s)", ff->head->tries, result != CURLE_OK ?
		    curl_easy_strerror((CURLcode)result) : "HTTP error");
		ff->st.hook_dropped++;
		feed_hook_pop(ff);
		feed_hook_next(ff);
		return;
	}
	log_warnx("findings-feed: webhook: %s%ld; again in %llu ms",
	    result != CURLE_OK ? curl_easy_strerror((CURLcode)result) :
	    "HTTP status ", result != CURLE_OK ? 0L : status,
	    (unsigned long long)ff->backoff_ms);
	uv_timer_start(&ff->retry, feed_hook_retry_cb, ff->backoff_ms, 0);
	ff->backoff_ms *= 2;
	if (ff->backoff_ms > FEED_HOOK_BACKOFF_MAX)
		ff->backoff_ms = FEED_HOOK_BACKOFF_MAX;
}

/* Start the POST of the head of the queue unless one is in flight. */
static void
feed_hook_next(struct findings_feed *ff)
{
	CURL	*c;

	if (ff->busy != NULL || ff->head == NULL || ff->closing ||
	    uv_is_active((uv_handle_t *)&ff->retry))
		return;
	if ((c = curl_easy_init()) == NULL)
		fatalx("findings-feed: curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, ff->webhook);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)FEED_HOOK_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, ff->hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, ff->head->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)ff->head->len);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tallyman-collector/"
	    PACKAGE_VERSION);
	if (curluv_add(ff->cu, c, feed_hook_done, ff) == -1) {
		curl_easy_cleanup(c);
		uv_timer_start(&ff->retry, feed_hook_retry_cb, ff->backoff_ms,
		    0);
		return;
	}
	ff->busy = c;
}

static void
feed_hook_push(struct findings_feed *ff, const char *body, size_t len)
{
	struct feed_hook_msg *m;

	if (ff->queued >= FEED_HOOK_QUEUE_MAX) {
		if (ff->busy == NULL) {
			feed_hook_pop(ff);
			ff->st.hook_dropped++;
		} else {
			ff->st.hook_dropped++;
			return;		/* the head is in flight: drop new */
		}
	}
	m = xcalloc(1, sizeof *m);
	m->body = xstrndup(body, len);
	m->len = len;
	if (ff->tail != NULL)
		ff->tail->next = m;
	else
		ff->head = m;
	ff->tail = m;
	ff->queued++;
	feed_hook_next(ff);
}

/* ---------------------------------------------------------------------- */

/*
 * Start the feed on loop: a producer to cfg->findings_topic on
 * cfg->kafka_brokers (with the kafka.* pass-through properties), and the
 * webhook when cfg->findings_webhook is set.  Returns NULL with err set.
 */
struct findings_feed *
findings_feed_start(uv_loop_t *loop, const struct collector_config *cfg,
    char *err, size_t errlen)
{
	struct findings_feed	*ff;
	rd_kafka_conf_t		*conf;
	char			 e[512];

	ff = xcalloc(1, sizeof *ff);
	ff->loop = loop;
	ff->topic = xstrdup(cfg->findings_topic);
	conf = rd_kafka_conf_new();
	if (kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) ==
	    -1 || kafka_conf_set(conf, "linger.ms", "20", err, errlen) == -1 ||
	    kafka_conf_set(conf, "client.id", "tallyman-collector-findings",
	    err, errlen) == -1 ||
	    kafka_conf_passthrough(conf, RD_KAFKA_PRODUCER, &cfg->kafka, err,
	    errlen) == -1 ||
	    kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, err,
	    errlen) == -1)
		goto fail;
	rd_kafka_conf_set_opaque(conf, ff);
	rd_kafka_conf_set_dr_msg_cb(conf, feed_dr_cb);
	rd_kafka_conf_set_log_cb(conf, feed_log_cb);
	if ((ff->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e,
	    sizeof e)) == NULL) {
		snprintf(err, errlen, "findings producer: %s", e);
		goto fail;
	}
	conf = NULL;
	ff->rkt = rd_kafka_topic_new(ff->rk, ff->topic, NULL);
	uv_timer_init(loop, &ff->poll);
	ff->poll.data = ff;
	uv_timer_start(&ff->poll, feed_poll_cb, FEED_POLL_MS, FEED_POLL_MS);
	uv_timer_init(loop, &ff->retry);
	ff->retry.data = ff;
	ff->backoff_ms = FEED_HOOK_BACKOFF_MS;
	if (cfg->findings_webhook != NULL && *cfg->findings_webhook != '\0') {
		ff->webhook = xstrdup(cfg->findings_webhook);
		ff->cu = curluv_new(loop);
		ff->hdrs = curl_slist_append(NULL,
		    "Content-Type: application/json");
	}
	if (uv_mutex_init(&ff->mu) != 0 || uv_cond_init(&ff->more) != 0 ||
	    uv_cond_init(&ff->room) != 0)
		fatalx("findings-feed: cannot make the encoder's locks");
	uv_async_init(loop, &ff->async, feed_async_cb);
	ff->async.data = ff;
	if (uv_thread_create(&ff->enc, feed_enc_main, ff) != 0)
		fatalx("findings-feed: cannot start the encoder thread");
	return ff;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	free(ff->topic);
	free(ff);
	return NULL;
}

/* Encode one change and hand it to the producer (the encoder thread). */
static void
feed_encode(struct findings_feed *ff, const struct feed_job *jb)
{
	const struct finding	*f = jb->f;
	json_t			*j;
	char			*body;
	size_t			 len;
	int			 tries, ok = 0;

	j = finding_to_json(f, jb->resolved ? "resolved" : "new");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL)
		fatalx("findings-feed: out of memory");
	len = strlen(body);
	for (tries = 0; tries < 100; tries++) {
		if (rd_kafka_produce(ff->rkt, RD_KAFKA_PARTITION_UA,
		    RD_KAFKA_MSG_F_COPY, body, len, f->id, strlen(f->id),
		    NULL) == 0) {
			ok = 1;
			break;
		}
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			log_warnx("findings-feed: produce: %s",
			    rd_kafka_err2str(rd_kafka_last_error()));
			break;
		}
		/* The local queue is full: let it drain a little. */
		rd_kafka_poll(ff->rk, 10);
	}
	uv_mutex_lock(&ff->mu);
	if (ok)
		ff->enc_published++;
	else
		ff->enc_failed++;
	if (ff->webhook != NULL) {
		struct feed_hook_msg *m = xcalloc(1, sizeof *m);

		m->body = body;
		m->len = len;
		body = NULL;
		if (ff->btail != NULL)
			ff->btail->next = m;
		else
			ff->bhead = m;
		ff->btail = m;
	}
	uv_mutex_unlock(&ff->mu);
	if (ff->webhook != NULL)
		uv_async_send(&ff->async);
	free(body);
}

/* The encoder: jobs in order until stopped and the queue is empty. */
static void
feed_enc_main(void *arg)
{
	struct findings_feed	*ff = arg;
	struct feed_job		*jb;

	(void)pthread_setname_np(pthread_self(), "tm-findings");	/* top(1) */
	uv_mutex_lock(&ff->mu);
	for (;;) {
		while (ff->jhead == NULL && !ff->enc_stop)
			uv_cond_wait(&ff->more, &ff->mu);
		if ((jb = ff->jhead) == NULL)
			break;		/* stopped, nothing left */
		ff->jhead = jb->next;
		if (ff->jhead == NULL)
			ff->jtail = NULL;
		ff->jqueued--;
		uv_cond_signal(&ff->room);
		uv_mutex_unlock(&ff->mu);
		feed_encode(ff, jb);
		finding_free(jb->f);
		free(jb);
		uv_mutex_lock(&ff->mu);
	}
	uv_mutex_unlock(&ff->mu);
}

/* On the loop: the webhook bodies the encoder made, in order. */
static void
feed_async_cb(uv_async_t *a)
{
	struct findings_feed	*ff = a->data;
	struct feed_hook_msg	*m, *next;

	uv_mutex_lock(&ff->mu);
	m = ff->bhead;
	ff->bhead = ff->btail = NULL;
	uv_mutex_unlock(&ff->mu);
	for (; m != NULL; m = next) {
		next = m->next;
		if (!ff->closing)
			feed_hook_push(ff, m->body, m->len);
		free(m->body);
		free(m);
	}
}

/*
 * The engine's sink, registered as keeping: publish a new or resolved
 * finding (updates are not state changes and are not published).  The
 * encoder holds the engine's copy.
 */
void
findings_feed_sink(const struct finding *f, enum finding_change ch,
    void *arg)
{
	struct findings_feed	*ff = arg;
	struct feed_job		*jb;

	if (ch == FINDING_UPDATED || ff == NULL || ff->closing)
		return;
	jb = xcalloc(1, sizeof *jb);
	jb->f = finding_hold(f);
	jb->resolved = ch != FINDING_NEW;
	uv_mutex_lock(&ff->mu);
	while (ff->jqueued >= FEED_ENC_QUEUE_MAX)
		uv_cond_wait(&ff->room, &ff->mu);
	if (ff->jtail != NULL)
		ff->jtail->next = jb;
	else
		ff->jhead = jb;
	ff->jtail = jb;
	ff->jqueued++;
	uv_cond_signal(&ff->more);
	uv_mutex_unlock(&ff->mu);
}

void
findings_feed_stats(const struct findings_feed *ff,
    struct findings_feed_stats *st)
{
	uv_mutex_lock((uv_mutex_t *)(uintptr_t)&ff->mu);
	*st = ff->st;
	st->published = ff->enc_published;
	st->failed += ff->enc_failed;
	uv_mutex_unlock((uv_mutex_t *)(uintptr_t)&ff->mu);
	st->hook_queued = ff->queued;
	st->kafka_queue = (uint64_t)rd_kafka_outq_len(ff->rk);
}

static void
feed_closed(uv_handle_t *h)
{
	struct findings_feed *ff = h->data;

	/* The handles live in ff: free it after the last one's callback
	 * (libuv calls them in no promised order). */
	if (++ff->nclosed < 3)
		return;
	while (ff->head != NULL)
		feed_hook_pop(ff);
	while (ff->bhead != NULL) {
		struct feed_hook_msg *m = ff->bhead;

		ff->bhead = m->next;
		free(m->body);
		free(m);
	}
	uv_cond_destroy(&ff->room);
	uv_cond_destroy(&ff->more);
	uv_mutex_destroy(&ff->mu);
	curl_slist_free_all(ff->hdrs);
	free(ff->webhook);
	free(ff->topic);
	free(ff);
}

/*
 * Flush what the producer holds (up to timeout_ms: blocking, at shutdown),
 * abort a webhook POST in flight, free everything (the last of it when the
 * loop closes the timers).
 */
void
findings_feed_stop(struct findings_feed *ff, int timeout_ms)
{
	if (ff == NULL)
		return;
	/* The encoder produces what it was given, then ends. */
	uv_mutex_lock(&ff->mu);
	ff->enc_stop = 1;
	uv_cond_signal(&ff->more);
	uv_mutex_unlock(&ff->mu);
	uv_thread_join(&ff->enc);
	ff->closing = 1;
	if (rd_kafka_flush(ff->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warnx("findings-feed: %d finding(s) not delivered at exit",
		    rd_kafka_outq_len(ff->rk));
	rd_kafka_topic_destroy(ff->rkt);
	rd_kafka_destroy(ff->rk);
	if (ff->cu != NULL) {
		if (ff->busy != NULL) {
			curluv_remove(ff->cu, ff->busy);
			curl_easy_cleanup(ff->busy);
			ff->busy = NULL;
		}
		curluv_free(ff->cu);
	}
	uv_timer_stop(&ff->poll);
	uv_timer_stop(&ff->retry);
	uv_close((uv_handle_t *)&ff->poll, feed_closed);
	uv_close((uv_handle_t *)&ff->retry, feed_closed);
	uv_close((uv_handle_t *)&ff->async, feed_closed);
}
