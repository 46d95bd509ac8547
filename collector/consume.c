/*
 * consume.c: the fleet's inventory from Kafka into the store, on the
 * collector's loop.
 *
 * A librdkafka high-level consumer in the group kafka.group reads
 * kafka.topic; replicas sharing the group split its partitions.  The
 * consumer queue wakes the loop through a pipe (rd_kafka_queue_io_event_
 * enable) watched by uv_poll: no thread of ours, no polling while idle.
 *
 * Per batch (at most CONSUME_BATCH messages, one transaction):
 *   - every message is untrusted: decoded and validated by the schema
 *     codec, whole messages by the decoder thread (below), parts of split
 *     records joined on the loop, in order; its host id checked against
 *     the message key (an agent keys its records by its host id), its
 *     sequence checked against the host's ledger: new and late records are
 *     written, duplicates dropped, refused ones counted per host and
 *     reason and logged (rate-limited) -- a bad message never stops the
 *     ones around it;
 *   - the ledgers and per-host counters are written in the same
 *     transaction;
 *   - only after the commit are the offsets stored, for librdkafka to
 *     commit (enable.auto.offset.store=false, auto commit of stored
 *     offsets, and on every rebalance and at close): at least once, and
 *     the ledger makes the replay of a crash change nothing;
 *   - then each accepted record goes to the correlation (on_record).
 * A batch whose transaction fails is rolled back, the ledgers reloaded
 * from the store, and its messages are read again: consumption pauses on
 * the store's failure instead of losing records.
 *
 * Three threads per batch:
 *   - the decoder thread (tm-decode) decodes the whole messages of the
 *     batch taken ahead (tm_reasm_whole: pure, no state) and prepares
 *     their writes (store_prepare: a snapshot's process list hashed);
 *   - the loop checks the batch (parts joined, host ids, ledgers, counts:
 *     in the order of the messages), hands its transaction to the writer
 *     thread, takes the next batch from the queue for the decoder, gives
 *     the correlation the records of the batch before (committed: their
 *     correlation waits for this moment when another batch follows), then
 *     waits for the commit and stores the offsets;
 *   - the writer thread (tm-store) runs the transaction: the records, the
 *     hosts' counters and ledgers, the commit.
 * So the SQL of one batch overlaps the correlation of the one before and
 * the decoding of the one after.  The store is the writer's only while a
 * transaction runs, and the loop waits for that to end before anything
 * else touches the store or the ledgers: the API runs between batches,
 * and a rebalance (in the middle of a batch: taking the
 * next one can run it) first waits for the commit and stores its offsets,
 * so that a revocation commits them.  A failed transaction is rolled back
 * on the writer; the loop reads that batch again, and the one taken
 * ahead.  A batch taken after a pause, or the first, is decoded on the
 * loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "collector/collector.h"
#include "collector/store.h"

#define CONSUME_BATCH		500
#define CONSUME_SAFETY_MS	1000	/* poll anyway: a lost wake-up costs 1 s */
#define CONSUME_RETRY_MS	2000	/* after a failed store batch */
#define CONSUME_REASM_PENDING	1024
#define CONSUME_REASM_BYTES	(256u * 1024 * 1024)
#define CONSUME_KEY_MAX		TM_STR_SHORT
#define CONSUME_PARTS_MAX	4096	/* partitions tracked for split records */
#define CONSUME_HELD_MAX	64	/* split records held per partition */
#define CONSUME_HELD_MSGS	10000	/* messages a split record may hold */

/* What became of one message of a batch. */
struct consume_rec {
	struct tm_record	 rec;
	uint8_t			*joined;	/* owned, or NULL: bytes in msg */
	const void		*raw;
	size_t			 rawlen;
	struct store_prep	 prep;		/* store_prepare'd when decoded */
	enum tm_reject		 why;		/* decoding a whole message */
	int			 is_part;	/* left to tm_reasm_take */
	int			 stored;	/* to write: correlated after */
	char			 detail[256];	/* why it was refused */
};

/* A batch: its messages, and what became of each (recs[i] of msgs[i]). */
struct consume_batch {
	rd_kafka_message_t	*msgs[CONSUME_BATCH];
	struct consume_rec	 recs[CONSUME_BATCH];
	size_t			 n;
	uint64_t		 rx;		/* when the loop took it */
	uint64_t		 late;		/* records into a sequence gap */
	int			 offsets_stored;	/* by a rebalance */
};
/* Batch blocks in use at once: one decoded ahead, one whose transaction
 * runs, one committed and left for the correlation. */
#define CONSUME_POOL		3

/*
 * A split record in progress: the offset of its first part, which the
 * partition's committed offset must not pass (a restart reads its parts
 * again).  Given up after CONSUME_HELD_MSGS more messages on the
 * partition (a record whose last part never comes, or that reassembly
 * dropped).
 */
struct consume_held {
	char		*host;
	uint64_t	 seq;
	int64_t		 offset;
	uint64_t	 msgno;		/* the partition's message count then */
};

/* A partition's split records in progress (parts of several hosts'
 * records interleave on a partition). */
struct consume_part {
	char			*topic;
	int32_t			 partition;
	struct consume_held	 held[CONSUME_HELD_MAX];
	size_t			 nheld;
	uint64_t		 msgs;		/* messages read */
};

struct consume {
	uv_loop_t		*loop;
	rd_kafka_t		*rk;
	rd_kafka_queue_t	*queue;
	int			 pipefd[2];
	uv_poll_t		 poll;
	uv_timer_t		 safety;
	uv_idle_t		 more;		/* a full batch: go on next turn */
	struct store		*store;
	struct ledger		*ledger;
	struct tm_reasm		*reasm;
	consume_record_fn	 on_record;
	void			*arg;
	struct strmap		*counts;	/* host -> store_host_counts (batch) */
	/* Kept from batch to batch: a fresh block each time made malloc
	 * consolidate its free lists over and over. */
	struct consume_batch	*pool[CONSUME_POOL];	/* free blocks */
	size_t			 npool;
	struct consume_batch	*next;		/* decoded ahead, when ahead */
	int			 ahead;		/* next is the decoder's, or decoded */
	struct consume_batch	*prev;		/* committed, not yet correlated */
	/* The writer thread: wr_job is the batch whose transaction it runs
	 * (wr_busy) or ran (wr_rc: 0 committed, -1 rolled back), until the
	 * loop has dealt with the result. */
	uv_thread_t		 wr;
	uv_mutex_t		 wr_mu;
	uv_cond_t		 wr_cv;
	struct consume_batch	*wr_job;
	int			 wr_rc;
	bool			 wr_busy;
	bool			 wr_on;		/* the thread runs */
	bool			 wr_quit;
	/* The decoder thread: job is the batch it decodes, NULL when done. */
	uv_thread_t		 dec;
	uv_mutex_t		 dec_mu;
	uv_cond_t		 dec_cv;
	struct consume_batch	*dec_job;
	bool			 dec_on;	/* the thread runs */
	bool			 dec_quit;
	struct consume_part	*parts;
	size_t			 nparts;
	int			 stopping;
	int			 nclosed;
	int			 paused;	/* store failed: retry later */
	struct log_ratelimit	 rl;
	struct consume_stats	 st;
	char			*group;
};

static void	consume_run(struct consume *c);
static void	consume_parts_clear(struct consume *c);
static void	consume_safety_cb(uv_timer_t *t);
static void	consume_wr_settle(struct consume *c);

/* ---------------------------------------------------------------------- */
/* librdkafka callbacks */

static void
consume_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
	log_emit(level <= 3 ? LOG_LEVEL_ERROR : level == 4 ? LOG_LEVEL_WARN :
	    level <= 6 ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
	    "consume: librdkafka: %s: %s", fac, buf);
}

static void
consume_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct consume *c = opaque;

	c->st.kafka_errors++;
	if (log_ratelimit_ok(&c->rl))
		log_warnx("consume: kafka: %s: %s",
		    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* Statistics (statistics.interval.ms): the group's lag, summed. */
static int
consume_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct consume	*c = opaque;
	json_t		*root, *topics, *t, *parts, *p;
	const char	*tk, *pk;
	int64_t		 lag = 0;

	if ((root = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	topics = json_object_get(root, "topics");
	json_object_foreach(topics, tk, t) {
		parts = json_object_get(t, "partitions");
		json_object_foreach(parts, pk, p) {
			json_int_t l = json_integer_value(
			    json_object_get(p, "consumer_lag"));

			if (strcmp(pk, "-1") != 0 && l > 0)
				lag += l;
		}
	}
	c->st.lag = (uint64_t)lag;
	json_decref(root);
	return 0;
}

static int
consume_reload_ledger(const struct store_ledger *sl, void *arg)
{
	ledger_load(arg, sl);
	return 0;
}

/* Take every host's ledger from the store (another replica may have
 * written some since: partitions move between replicas). */
static int
consume_ledgers(struct consume *c)
{
	ledger_clear(c->ledger);
	return store_each_ledger(c->store, consume_reload_ledger, c->ledger);
}

static void
consume_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct consume	*c = opaque;
	int		 coop = strcmp(rd_kafka_rebalance_protocol(rk),
			    "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;

	consume_wr_settle(c);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (consume_ledgers(c) == -1)
			log_warnx("consume: cannot reload the ledgers");
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		c->st.partitions += (uint64_t)parts->cnt;
		c->st.rebalances++;
		log_info("consume: %d partition(s) of %s assigned (%llu now)",
		    parts->cnt, c->group, (unsigned long long)c->st.partitions);
	} else {
		if (coop)
			e = rd_kafka_incremental_unassign(rk, parts);
		else
			rd_kafka_assign(rk, NULL);
		c->st.partitions = coop && c->st.partitions >=
		    (uint64_t)parts->cnt ? c->st.partitions -
		    (uint64_t)parts->cnt : 0;
		consume_parts_clear(c);	/* read again from the commit */
		log_info("consume: %d partition(s) revoked (%s)", parts->cnt,
		    rd_kafka_err2str(err));
	}
	if (e != NULL) {
		log_warnx("consume: rebalance: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

/* ---------------------------------------------------------------------- */
/* Split records in progress, per partition */

static void
consume_held_drop(struct consume_part *pt, size_t i)
{
	free(pt->held[i].host);
	memmove(&pt->held[i], &pt->held[i + 1],
	    (pt->nheld - i - 1) * sizeof *pt->held);
	pt->nheld--;
}

/* Forget every partition's split records (their parts are read again). */
static void
consume_parts_clear(struct consume *c)
{
	size_t i;

	for (i = 0; i < c->nparts; i++) {
		while (c->parts[i].nheld > 0)
			consume_held_drop(&c->parts[i], 0);
		free(c->parts[i].topic);
	}
	c->nparts = 0;
}

/* A part of (host, seq) at offset was held: remember its first one. */
static void
consume_held_add(struct consume_part *pt, const char *host, uint64_t seq,
    int64_t offset)
{
	size_t i;

	for (i = 0; i < pt->nheld; i++)
		if (pt->held[i].seq == seq && strcmp(pt->held[i].host, host) == 0)
			return;
	if (pt->nheld == CONSUME_HELD_MAX)
		consume_held_drop(pt, 0);	/* the oldest */
	pt->held[pt->nheld].host = xstrdup(host);
	pt->held[pt->nheld].seq = seq;
	pt->held[pt->nheld].offset = offset;
	pt->held[pt->nheld].msgno = pt->msgs;
	pt->nheld++;
}

/* (host, seq) completed: it no longer holds the partition back. */
static void
consume_held_done(struct consume_part *pt, const char *host, uint64_t seq)
{
	size_t i;

	for (i = 0; i < pt->nheld; i++)
		if (pt->held[i].seq == seq && strcmp(pt->held[i].host, host) == 0) {
			consume_held_drop(pt, i);
			return;
		}
}

/* The first offset the partition must be read from again, or -1. */
static int64_t
consume_held_from(struct consume_part *pt)
{
	int64_t	from = -1;
	size_t	i;

	for (i = 0; i < pt->nheld; ) {
		if (pt->msgs - pt->held[i].msgno > CONSUME_HELD_MSGS) {
			consume_held_drop(pt, i);	/* never completed */
			continue;
		}
		if (from == -1 || pt->held[i].offset < from)
			from = pt->held[i].offset;
		i++;
	}
	return from;
}

static struct consume_part *
consume_part_get(struct consume *c, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < c->nparts; i++)
		if (c->parts[i].partition == partition &&
		    strcmp(c->parts[i].topic, topic) == 0)
			return &c->parts[i];
	if (c->nparts == CONSUME_PARTS_MAX)
		return NULL;
	c->parts = xreallocarray(c->parts, c->nparts + 1, sizeof *c->parts);
	c->parts[c->nparts].topic = xstrdup(topic);
	c->parts[c->nparts].partition = partition;
	c->parts[c->nparts].nheld = 0;
	c->parts[c->nparts].msgs = 0;
	return &c->parts[c->nparts++];
}

/* ---------------------------------------------------------------------- */
/* A batch */

static struct store_host_counts *
consume_counts(struct consume *c, const char *host)
{
	struct store_host_counts *hc = strmap_get(c->counts, host);

	if (hc == NULL) {
		char *k = xstrdup(host);

		hc = xcalloc(1, sizeof *hc);
		strmap_put(c->counts, k, hc);
	}
	return hc;
}

/*
 * The message key as a host id when it could be one (printable, bounded),
 * else "" -- rejects are counted under it.
 */
static void
consume_key(const rd_kafka_message_t *m, char *out, size_t outlen)
{
	const unsigned char	*k = m->key;
	size_t			 i;

	out[0] = '\0';
	if (k == NULL || m->key_len == 0 || m->key_len >= outlen)
		return;
	for (i = 0; i < m->key_len; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return;
	memcpy(out, k, m->key_len);
	out[m->key_len] = '\0';
}

static void
consume_reject(struct consume *c, const char *host, unsigned why,
    const rd_kafka_message_t *m, const char *detail, uint64_t rx)
{
	struct store_host_counts *hc = consume_counts(c, host);

	hc->rejects[why]++;
	hc->last_rx_ns = rx;
	c->st.rejects[why]++;
	if (log_ratelimit_ok(&c->rl))
		log_warnx("consume: %s [%d] offset %lld (key \"%s\"): refused: "
		    "%s%s%s", rd_kafka_topic_name(m->rkt), (int)m->partition,
		    (long long)m->offset, host, store_reject_name(why),
		    detail != NULL && *detail ? ": " : "",
		    detail != NULL ? detail : "");
}

struct consume_put_ctx {
	struct consume	*c;
	int		 failed;
};

static int
consume_put_counts(const char *host, void *v, void *arg)
{
	struct consume_put_ctx *x = arg;

	if (store_put_host_counts(x->c->store, host, v) == -1)
		x->failed = 1;
	return x->failed;
}

static int
consume_put_ledger(const struct store_ledger *l, void *arg)
{
	return store_put_ledger(arg, l);
}

static int
consume_free_counts(const char *k, void *v, void *arg)
{
	free((char *)(uintptr_t)k);
	free(v);
	return 0;
}

static void
consume_counts_clear(struct consume *c)
{
	strmap_each(c->counts, consume_free_counts, NULL);
	strmap_free(c->counts);
	c->counts = strmap_new();
}

/*
 * Decode the whole messages of a batch, and prepare their writes
 * (store_prepare); parts are left to consume_check.  On the decoder thread,
 * or on the loop.  Writes nothing but b.
 */
static void
consume_decode(const struct tm_reasm *ra, const struct store *st,
    struct consume_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		const rd_kafka_message_t	*m = b->msgs[i];
		struct consume_rec		*r = &b->recs[i];

		memset(r, 0, sizeof *r);
		if (m->err)
			continue;
		r->why = tm_reasm_whole(ra, m->payload, m->len, &r->rec,
		    &r->is_part, r->detail, sizeof r->detail);
		if (r->why == TM_OK && !r->is_part)
			store_prepare(st, &r->rec, &r->prep);
	}
}

/* Each record of the batch, and its messages, freed. */
static void
consume_batch_free(struct consume_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		tm_record_free(&b->recs[i].rec);
		free(b->recs[i].joined);
		b->recs[i].joined = NULL;
		rd_kafka_message_destroy(b->msgs[i]);
	}
	b->n = 0;
}

/* A batch block from the pool (or a new one), empty. */
static struct consume_batch *
consume_batch_get(struct consume *c)
{
	struct consume_batch *b;

	b = c->npool > 0 ? c->pool[--c->npool] : xcalloc(1, sizeof *b);
	b->n = 0;
	b->late = 0;
	b->offsets_stored = 0;
	return b;
}

/* b's records and messages freed, and the block back to the pool. */
static void
consume_batch_put(struct consume *c, struct consume_batch *b)
{
	consume_batch_free(b);
	if (c->npool < CONSUME_POOL)
		c->pool[c->npool++] = b;
	else
		free(b);
}

static void
consume_dec_main(void *arg)
{
	struct consume		*c = arg;
	struct consume_batch	*b;

	(void)pthread_setname_np(pthread_self(), "tm-decode");	/* top(1) */
	uv_mutex_lock(&c->dec_mu);
	for (;;) {
		while (c->dec_job == NULL && !c->dec_quit)
			uv_cond_wait(&c->dec_cv, &c->dec_mu);
		if (c->dec_job == NULL)
			break;			/* quit, nothing left */
		b = c->dec_job;
		uv_mutex_unlock(&c->dec_mu);
		consume_decode(c->reasm, c->store, b);
		uv_mutex_lock(&c->dec_mu);
		c->dec_job = NULL;
		uv_cond_broadcast(&c->dec_cv);
	}
	uv_mutex_unlock(&c->dec_mu);
}

/* The batch decoded ahead, once the decoder thread is done with it: the
 * caller's now. */
static struct consume_batch *
consume_dec_wait(struct consume *c)
{
	struct consume_batch *b;

	uv_mutex_lock(&c->dec_mu);
	while (c->dec_job != NULL)
		uv_cond_wait(&c->dec_cv, &c->dec_mu);
	uv_mutex_unlock(&c->dec_mu);
	c->ahead = 0;
	b = c->next;
	c->next = NULL;
	return b;
}

/*
 * Take the next batch from the queue for the decoder thread, when there
 * is one and the thread runs.  May run the rebalance callback.
 */
static void
consume_ahead(struct consume *c)
{
	struct consume_batch	*b;
	ssize_t			 n;

	if (!c->dec_on || c->stopping || c->ahead)
		return;
	b = consume_batch_get(c);
	n = rd_kafka_consume_batch_queue(c->queue, 0, b->msgs, CONSUME_BATCH);
	if (n <= 0) {
		consume_batch_put(c, b);
		return;
	}
	b->n = (size_t)n;
	c->next = b;
	c->ahead = 1;
	c->st.ahead++;
	uv_mutex_lock(&c->dec_mu);
	c->dec_job = b;
	uv_cond_broadcast(&c->dec_cv);
	uv_mutex_unlock(&c->dec_mu);
}

/*
 * Check one message of a batch, decoded already unless it is a part.
 * r->stored = 1 for a record to write (and to correlate after the
 * commit).
 */
static void
consume_check(struct consume *c, struct consume_batch *b, size_t i)
{
	rd_kafka_message_t	*m = b->msgs[i];
	struct consume_rec	*r = &b->recs[i];
	struct consume_part	*pt;
	struct store_host_counts *hc;
	char			 key[CONSUME_KEY_MAX + 1];
	char			*detail = r->detail;
	const size_t		 detaillen = sizeof r->detail;
	enum tm_reject		 why = r->why;
	enum ledger_verdict	 v;
	int			 complete = why == TM_OK;

	c->st.messages++;
	c->st.bytes += m->len;
	consume_key(m, key, sizeof key);
	if (r->is_part)
		why = tm_reasm_take(c->reasm, m->payload, m->len, &r->rec,
		    &r->joined, &r->rawlen, &complete, detail, detaillen);
	pt = consume_part_get(c, rd_kafka_topic_name(m->rkt), m->partition);
	if (pt != NULL)
		pt->msgs++;
	if (why != TM_OK) {
		consume_reject(c, key, why, m, detail, b->rx);
		return;
	}
	if (!complete) {
		const char	*ph;
		uint64_t	 ps;

		/* A part: the offset of its record's first one is where a
		 * restart must read from, whatever other records come
		 * between its parts. */
		c->st.parts++;
		if (pt != NULL && tm_reasm_last_part(c->reasm, &ph, &ps) == 0)
			consume_held_add(pt, ph, ps, m->offset);
		return;
	}
	if (pt != NULL && r->joined != NULL)
		consume_held_done(pt, r->rec.host_id, r->rec.seq);
	if (r->joined != NULL) {
		r->raw = r->joined;
	} else {
		r->raw = m->payload;
		r->rawlen = m->len;
	}
	if (strcmp(key, r->rec.host_id) != 0) {
		snprintf(detail, detaillen, "host id \"%.64s\" in a message "
		    "keyed \"%.64s\"", r->rec.host_id, key);
		consume_reject(c, key, REJ_KEY_MISMATCH, m, detail, b->rx);
		goto drop;
	}
	v = ledger_check(c->ledger, r->rec.host_id, r->rec.epoch, r->rec.seq);
	if (v == LEDGER_JUMP) {
		snprintf(detail, detaillen, "sequence %llu",
		    (unsigned long long)r->rec.seq);
		consume_reject(c, key, REJ_SEQ_JUMP, m, detail, b->rx);
		goto drop;
	}
	if (v == LEDGER_DUP) {
		consume_counts(c, key)->duplicates++;
		c->st.duplicates++;
		goto drop;
	}
	hc = consume_counts(c, key);
	hc->records[r->rec.kind]++;
	hc->last_rx_ns = b->rx;
	if (v == LEDGER_FILL)
		b->late++;
	r->stored = 1;
	return;
drop:
	tm_record_free(&r->rec);
	free(r->joined);
	r->joined = NULL;
}

/*
 * The transaction of a checked batch: its records, the hosts' counters
 * and ledgers.  On the writer thread (or the loop when
 * there is none).  0: committed; -1: the store failed, rolled back.
 */
static int
consume_write(struct consume *c, struct consume_batch *b)
{
	struct consume_put_ctx	 x = { c, 0 };
	size_t			 i;

	if (store_begin(c->store) == -1)
		goto fail;
	for (i = 0; i < b->n; i++) {
		struct consume_rec *r = &b->recs[i];

		if (r->stored && store_put_prepared(c->store, &r->rec, &r->prep,
		    r->raw, r->rawlen, b->rx) == -1)
			goto fail;
	}
	strmap_each(c->counts, consume_put_counts, &x);
	if (x.failed || ledger_flush(c->ledger, consume_put_ledger,
	    c->store) == -1)
		goto fail;
	if (store_commit(c->store) == -1)
		goto fail;
	return 0;
fail:
	store_rollback(c->store);
	return -1;
}

static void
consume_wr_main(void *arg)
{
	struct consume		*c = arg;
	struct consume_batch	*b;
	int			 rc;

	(void)pthread_setname_np(pthread_self(), "tm-store");	/* top(1) */
	uv_mutex_lock(&c->wr_mu);
	for (;;) {
		while (!c->wr_busy && !c->wr_quit)
			uv_cond_wait(&c->wr_cv, &c->wr_mu);
		if (!c->wr_busy)
			break;			/* quit, nothing left */
		b = c->wr_job;
		uv_mutex_unlock(&c->wr_mu);
		rc = consume_write(c, b);
		uv_mutex_lock(&c->wr_mu);
		c->wr_rc = rc;
		c->wr_busy = false;
		uv_cond_broadcast(&c->wr_cv);
	}
	uv_mutex_unlock(&c->wr_mu);
}

/* Hand b's transaction to the writer thread (or run it here). */
static void
consume_wr_start(struct consume *c, struct consume_batch *b)
{
	c->wr_job = b;
	if (!c->wr_on) {
		c->wr_rc = consume_write(c, b);
		return;
	}
	uv_mutex_lock(&c->wr_mu);
	c->wr_busy = true;
	uv_cond_broadcast(&c->wr_cv);
	uv_mutex_unlock(&c->wr_mu);
}

/* Wait for the transaction of c->wr_job to end: 0 committed, -1 not. */
static int
consume_wr_wait(struct consume *c)
{
	uv_mutex_lock(&c->wr_mu);
	while (c->wr_busy)
		uv_cond_wait(&c->wr_cv, &c->wr_mu);
	uv_mutex_unlock(&c->wr_mu);
	return c->wr_rc;
}

/* Store the offsets after the batch, holding back split records. */
static void
consume_store_offsets(struct consume *c, rd_kafka_message_t **msgs, size_t n)
{
	rd_kafka_topic_partition_list_t	*l;
	rd_kafka_resp_err_t		 err;
	size_t				 i;

	l = rd_kafka_topic_partition_list_new((int)(n < 16 ? n : 16));
	for (i = 0; i < n; i++) {
		rd_kafka_message_t		*m = msgs[i];
		rd_kafka_topic_partition_t	*tp;
		struct consume_part		*pt;
		int64_t				 next = m->offset + 1;
		int64_t				 held;

		if (m->err)
			continue;
		pt = consume_part_get(c, rd_kafka_topic_name(m->rkt),
		    m->partition);
		if (pt != NULL && (held = consume_held_from(pt)) != -1 &&
		    held < next)
			next = held;
		tp = rd_kafka_topic_partition_list_find(l,
		    rd_kafka_topic_name(m->rkt), m->partition);
		if (tp == NULL)
			tp = rd_kafka_topic_partition_list_add(l,
			    rd_kafka_topic_name(m->rkt), m->partition);
		tp->offset = next;
	}
	if (l->cnt > 0 && (err = rd_kafka_offsets_store(c->rk, l)) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR && log_ratelimit_ok(&c->rl))
		log_warnx("consume: storing offsets: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * The transaction in flight, if any, ended (the store and the ledgers are
 * the loop's again); when it committed, its offsets stored now.  For the
 * rebalance callback, which taking a batch from the queue may run in the
 * middle of one.
 */
static void
consume_wr_settle(struct consume *c)
{
	struct consume_batch *b = c->wr_job;

	if (b == NULL || consume_wr_wait(c) == -1 || b->offsets_stored)
		return;
	consume_store_offsets(c, b->msgs, b->n);
	b->offsets_stored = 1;
}

/* The correlation of a committed batch's records; the block freed. */
static void
consume_correlate(struct consume *c, struct consume_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->recs[i].stored && c->on_record != NULL)
			c->on_record(&b->recs[i].rec, b->rx, c->arg);
	consume_batch_put(c, b);
}

/* Seek each partition of b back to its first message in b. */
static void
consume_seek_back(struct consume_batch *b)
{
	size_t i;

	for (i = b->n; i-- > 0;) {
		rd_kafka_message_t *m = b->msgs[i];

		if (!m->err)
			rd_kafka_seek(m->rkt, m->partition, m->offset, 1000);
	}
}

/*
 * Process one batch: the one decoded ahead, or one taken from the queue
 * now.  Returns the number of messages taken (0: the queue is empty), or
 * -1 when the store failed.
 */
static ssize_t
consume_batch(struct consume *c)
{
	struct consume_batch	*b;
	size_t			 i, n;
	uint64_t		 t0;
	int			 failed;

	if (c->ahead) {
		b = consume_dec_wait(c);
	} else {
		ssize_t got;

		b = consume_batch_get(c);
		got = rd_kafka_consume_batch_queue(c->queue, 0, b->msgs,
		    CONSUME_BATCH);
		if (got <= 0) {
			consume_batch_put(c, b);
			return 0;
		}
		b->n = (size_t)got;
		consume_decode(c->reasm, c->store, b);
	}
	n = b->n;
	t0 = mono_ns();
	b->rx = now_ns();
	for (i = 0; i < n; i++) {
		rd_kafka_message_t *m = b->msgs[i];

		if (!m->err) {
			consume_check(c, b, i);
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			c->st.kafka_errors++;
			if (log_ratelimit_ok(&c->rl))
				log_warnx("consume: %s",
				    rd_kafka_message_errstr(m));
		}
	}
	consume_wr_start(c, b);
	/* Meanwhile: the next batch to the decoder, and the batch before
	 * to the correlation. */
	consume_ahead(c);
	if (c->prev != NULL) {
		uint64_t tc = mono_ns();

		consume_correlate(c, c->prev);
		c->prev = NULL;
		t0 += mono_ns() - tc;	/* store_ns: the batch's own time */
	}
	failed = consume_wr_wait(c) == -1;
	c->wr_job = NULL;
	consume_counts_clear(c);
	if (failed) {
		/* Read the batch again later, and the one taken ahead: seek
		 * each partition back to its first message (b's come last,
		 * and are the earlier). */
		struct consume_batch *nb = c->ahead ? consume_dec_wait(c) :
		    NULL;

		c->st.store_errors++;
		log_warnx("consume: the store failed; the batch of %zu "
		    "message(s) is read again in %d ms, with the %zu taken "
		    "ahead", n, CONSUME_RETRY_MS, nb != NULL ? nb->n : 0);
		if (consume_ledgers(c) == -1)
			log_warnx("consume: cannot reload the ledgers");
		if (nb != NULL) {
			consume_seek_back(nb);
			consume_batch_put(c, nb);
		}
		consume_seek_back(b);
		consume_parts_clear(c);
		consume_batch_put(c, b);
		return -1;
	}
	if (!b->offsets_stored)
		consume_store_offsets(c, b->msgs, n);
	for (i = 0; i < n; i++)
		if (b->recs[i].stored)
			c->st.records[b->recs[i].rec.kind]++;
	c->st.late += b->late;
	c->st.batches++;
	c->st.store_ns += mono_ns() - t0;
	c->st.last_batch_ns = b->rx;
	/* Another batch follows: correlate this one meanwhile. */
	if (c->ahead)
		c->prev = b;
	else
		consume_correlate(c, b);
	return (ssize_t)n;
}

static void
consume_more_cb(uv_idle_t *h)
{
	struct consume *c = h->data;

	uv_idle_stop(&c->more);
	consume_run(c);
}

/* Process one batch; come back next loop turn if the queue had more. */
static void
consume_run(struct consume *c)
{
	ssize_t n;

	if (c->stopping || c->paused)
		return;
	n = consume_batch(c);
	if (n == -1) {
		/* The safety timer resumes: after CONSUME_RETRY_MS. */
		c->paused = 1;
		uv_timer_start(&c->safety, consume_safety_cb, CONSUME_RETRY_MS,
		    CONSUME_SAFETY_MS);
		return;
	}
	if (n == CONSUME_BATCH || c->ahead)
		uv_idle_start(&c->more, consume_more_cb);
}

static void
consume_readable_cb(uv_poll_t *p, int status, int events)
{
	struct consume	*c = p->data;
	char		 buf[256];

	while (read(c->pipefd[0], buf, sizeof buf) > 0)
		;
	consume_run(c);
}

static void
consume_safety_cb(uv_timer_t *t)
{
	struct consume *c = t->data;

	c->paused = 0;
	consume_run(c);
}

/* ---------------------------------------------------------------------- */

/*
 * Start consuming cfg->kafka_topic as a member of cfg->kafka_group from
 * brokers (cfg->kafka_brokers, or the embedded cluster's address), writing
 * to st with the ledgers lg (loaded here from st).  on_record(rec, rx_ns,
 * arg) is called for each record accepted, after its batch committed.
 * Returns NULL with err set.
 */
struct consume *
consume_start(uv_loop_t *loop, const struct collector_config *cfg,
    const char *brokers, struct store *st, struct ledger *lg,
    consume_record_fn on_record, void *arg, char *err, size_t errlen)
{
	struct consume			*c = xcalloc(1, sizeof *c);
	rd_kafka_conf_t			*conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t	*topics;
	rd_kafka_resp_err_t		 kerr;
	char				 e[512];
	size_t				 i;
	static const char *const defaults[][2] = {
		{ "enable.auto.commit", "true" },
		{ "enable.auto.offset.store", "false" },
		{ "auto.commit.interval.ms", "1000" },
		{ "auto.offset.reset", "earliest" },
		{ "enable.partition.eof", "false" },
		{ "fetch.wait.max.ms", "100" },
		{ "statistics.interval.ms", "5000" },
		/* A replica killed without leaving its group holds its
		 * partitions this long (librdkafka's default is 45 s). */
		{ "session.timeout.ms", "10000" },
	};

	c->loop = loop;
	c->store = st;
	c->ledger = lg;
	c->on_record = on_record;
	c->arg = arg;
	c->counts = strmap_new();
	c->pipefd[0] = c->pipefd[1] = -1;
	c->rl.interval_s = 10;
	c->rl.burst = 20;
	c->group = xstrdup(cfg->kafka_group);
	if (uv_mutex_init(&c->dec_mu) != 0 || uv_cond_init(&c->dec_cv) != 0 ||
	    uv_mutex_init(&c->wr_mu) != 0 || uv_cond_init(&c->wr_cv) != 0)
		fatalx("consume: cannot make the threads' locks");
	c->reasm = tm_reasm_new(CONSUME_REASM_PENDING, CONSUME_REASM_BYTES);
	/* The records are only read (store, correlation): each in one arena
	 * instead of hundreds of small allocations. */
	tm_reasm_set_arena(c->reasm, true);
	if (consume_ledgers(c) == -1) {
		snprintf(err, errlen, "consume: cannot read the ledgers from "
		    "the store");
		goto fail;
	}
	for (i = 0; i < TM_NELEM(defaults); i++)
		if (kafka_conf_set(conf, defaults[i][0], defaults[i][1], err,
		    errlen) == -1)
			goto fail;
	if (kafka_conf_set(conf, "bootstrap.servers", brokers, err, errlen) ==
	    -1 || kafka_conf_set(conf, "group.id", cfg->kafka_group, err,
	    errlen) == -1 || kafka_conf_set(conf, "client.id",
	    "tallyman-collector", err, errlen) == -1)
		goto fail;
	if (kafka_conf_passthrough(conf, RD_KAFKA_CONSUMER, &cfg->kafka, err,
	    errlen) == -1)
		goto fail;
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_log_cb(conf, consume_log_cb);
	rd_kafka_conf_set_error_cb(conf, consume_error_cb);
	rd_kafka_conf_set_stats_cb(conf, consume_stats_cb);
	rd_kafka_conf_set_rebalance_cb(conf, consume_rebalance_cb);
	if ((c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e)) ==
	    NULL) {
		snprintf(err, errlen, "consume: %s", e);
		goto fail;	/* conf is still ours on failure */
	}
	conf = NULL;
	rd_kafka_poll_set_consumer(c->rk);
	c->queue = rd_kafka_queue_get_consumer(c->rk);
	if (pipe2(c->pipefd, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "consume: pipe: %s", strerror(errno));
		goto fail;
	}
	rd_kafka_queue_io_event_enable(c->queue, c->pipefd[1], "1", 1);
	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, cfg->kafka_topic,
	    RD_KAFKA_PARTITION_UA);
	kerr = rd_kafka_subscribe(c->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "consume: subscribe to %s: %s",
		    cfg->kafka_topic, rd_kafka_err2str(kerr));
		goto fail;
	}
	if (uv_thread_create(&c->dec, consume_dec_main, c) == 0)
		c->dec_on = true;
	else
		log_warnx("consume: no decoder thread: records are decoded "
		    "on the loop");
	if (uv_thread_create(&c->wr, consume_wr_main, c) == 0)
		c->wr_on = true;
	else
		log_warnx("consume: no writer thread: records are written "
		    "on the loop");
	uv_poll_init(loop, &c->poll, c->pipefd[0]);
	c->poll.data = c;
	uv_poll_start(&c->poll, UV_READABLE, consume_readable_cb);
	uv_timer_init(loop, &c->safety);
	c->safety.data = c;
	uv_timer_start(&c->safety, consume_safety_cb, CONSUME_SAFETY_MS,
	    CONSUME_SAFETY_MS);
	uv_idle_init(loop, &c->more);
	c->more.data = c;
	log_info("consume: group %s reading %s from %s", cfg->kafka_group,
	    cfg->kafka_topic, brokers);
	return c;
fail:
	if (conf != NULL)
		rd_kafka_conf_destroy(conf);
	if (c->queue != NULL)
		rd_kafka_queue_destroy(c->queue);
	if (c->rk != NULL)
		rd_kafka_destroy(c->rk);
	if (c->pipefd[0] != -1) {
		close(c->pipefd[0]);
		close(c->pipefd[1]);
	}
	tm_reasm_free(c->reasm);
	strmap_free(c->counts);
	uv_cond_destroy(&c->dec_cv);
	uv_mutex_destroy(&c->dec_mu);
	uv_cond_destroy(&c->wr_cv);
	uv_mutex_destroy(&c->wr_mu);
	free(c->group);
	free(c);
	return NULL;
}

void
consume_stats(const struct consume *c, struct consume_stats *st)
{
	*st = c->st;
}

static void
consume_closed(uv_handle_t *h)
{
	struct consume *c = h->data;

	if (++c->nclosed < 3)
		return;
	close(c->pipefd[0]);
	close(c->pipefd[1]);
	consume_parts_clear(c);
	free(c->parts);
	consume_counts_clear(c);
	strmap_free(c->counts);
	tm_reasm_free(c->reasm);
	while (c->npool > 0)
		free(c->pool[--c->npool]);
	uv_cond_destroy(&c->dec_cv);
	uv_mutex_destroy(&c->dec_mu);
	uv_cond_destroy(&c->wr_cv);
	uv_mutex_destroy(&c->wr_mu);
	free(c->group);
	free(c);
}

/* Tell a thread of ours to quit (it finishes its job first), and join it. */
static void
consume_thread_stop(uv_thread_t *t, uv_mutex_t *mu, uv_cond_t *cv, bool *quit,
    bool *on)
{
	if (!*on)
		return;
	uv_mutex_lock(mu);
	*quit = true;
	uv_cond_broadcast(cv);
	uv_mutex_unlock(mu);
	uv_thread_join(t);
	*on = false;
}

/*
 * Leave the group (committing the stored offsets) and stop.  Blocks while
 * librdkafka closes the consumer (bounded by its session timeout).  The
 * structure is freed once the loop has closed its handles.
 */
void
consume_stop(struct consume *c)
{
	rd_kafka_resp_err_t err;

	if (c == NULL)
		return;
	c->stopping = 1;
	/* The last batch committed, if its correlation was left for the
	 * next: now. */
	if (c->prev != NULL) {
		consume_correlate(c, c->prev);
		c->prev = NULL;
	}
	/* A batch taken ahead is dropped: its offsets were not stored, so
	 * it is read again (by this group's next member). */
	if (c->ahead) {
		struct consume_batch *b = consume_dec_wait(c);

		log_info("consume: %zu message(s) taken ahead left to be read "
		    "again", b->n);
		consume_batch_put(c, b);
	}
	consume_thread_stop(&c->wr, &c->wr_mu, &c->wr_cv, &c->wr_quit,
	    &c->wr_on);
	consume_thread_stop(&c->dec, &c->dec_mu, &c->dec_cv, &c->dec_quit,
	    &c->dec_on);
	uv_poll_stop(&c->poll);
	rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
	if ((err = rd_kafka_consumer_close(c->rk)) != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warnx("consume: close: %s", rd_kafka_err2str(err));
	rd_kafka_queue_destroy(c->queue);
	rd_kafka_destroy(c->rk);
	uv_close((uv_handle_t *)&c->poll, consume_closed);
	uv_close((uv_handle_t *)&c->safety, consume_closed);
	uv_close((uv_handle_t *)&c->more, consume_closed);
}
