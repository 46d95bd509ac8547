/*
 * cmd-run.c: `tallyman-collector run`, the collector itself: one libuv
 * loop that consumes the fleet's inventory from Kafka into the store
 * (consume.c), correlates it (correlate-run.c: feeds, findings, the
 * findings topic and webhook) and serves it (api.c).
 *
 * Start-up, in order: the embedded broker when kafka.brokers = embedded;
 * the store (created and migrated); the correlation, given back the stored
 * findings and the stored fleet (so a restart announces nothing twice and
 * resolves what should have resolved meanwhile); the consumer; the API.
 *
 * Findings' changes reach the store through a queue: written in the next
 * consumer batch's transaction while batches follow one another (one
 * commit instead of two), else in a transaction of their own on an idle
 * handle; RUN_FINDINGS_TX at most per transaction.  A change leaves the
 * queue only once its transaction has committed: a batch rolled back
 * loses none that the feed has already announced.  A batch's transaction
 * runs on the consumer's writer thread while the loop correlates (and so
 * adds to the queue): the queue's array is shared under qmu, and the
 * transaction writes a copy of its first entries (txq).
 *
 * Signals: SIGTERM and SIGINT stop (the consumer leaves its group
 * committing its offsets, queued findings are written, the findings
 * producer is flushed); SIGHUP reads the configuration file again and
 * reloads the feeds (feeds.osv, feeds.interval).
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/store.h"

#define RUN_FINDINGS_TX		65536
#define RUN_HISTORY_NS		(30ULL * 86400ULL * 1000000000ULL)
#define RUN_PRUNE_MS		(3600ULL * 1000ULL)

struct run {
	struct collector	 co;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm, sigint, sighup;
	uv_idle_t		 flush;
	uv_timer_t		 prune;
	uv_mutex_t		 qmu;		/* q, nq, capq */
	struct finding		**q;		/* findings to write */
	size_t			 nq, capq;
	size_t			 nput;		/* of q, in the open transaction */
	struct finding		**txq;		/* q[0..nput), being written */
	size_t			 captxq;
	int			 stopping;
	uint64_t		 written, write_errors;
};

/* ---------------------------------------------------------------------- */
/* Findings to the store */

/*
 * Write the first queued findings (RUN_FINDINGS_TX at most) in the store's
 * open transaction.  Returns how many (r->nput), or -1 when the store
 * failed (the transaction is to be rolled back; the queue is kept).  On
 * the consumer's writer thread, or the loop's; the queue's entries stay
 * until run_findings_committed (on the loop) takes them off.
 */
static int
run_put_findings(struct run *r)
{
	size_t i, n;

	r->nput = 0;
	uv_mutex_lock(&r->qmu);
	n = r->nq < RUN_FINDINGS_TX ? r->nq : RUN_FINDINGS_TX;
	if (n > r->captxq) {
		r->captxq = n;
		r->txq = xreallocarray(r->txq, n, sizeof *r->txq);
	}
	if (n > 0)
		memcpy(r->txq, r->q, n * sizeof *r->q);
	uv_mutex_unlock(&r->qmu);
	for (i = 0; i < n; i++)
		if (store_put_finding(r->co.store, r->txq[i]) == -1)
			return -1;
	r->nput = n;
	return (int)n;
}

/* The findings run_put_findings wrote have committed: off the queue. */
static void
run_findings_committed(struct run *r)
{
	size_t i, n = r->nput;

	if (n == 0)
		return;		/* a batch with no finding (r->q may be NULL) */
	uv_mutex_lock(&r->qmu);
	for (i = 0; i < n; i++)
		finding_free(r->q[i]);
	memmove(r->q, r->q + n, (r->nq - n) * sizeof *r->q);
	r->nq -= n;
	uv_mutex_unlock(&r->qmu);
	r->nput = 0;
	r->written += n;
	r->co.findings_written = r->written;
	r->co.findings_queued = r->nq;
}

/* consume_set_tx: the queue rides in the consumer's batches. */
static int
run_tx_cb(void *arg)
{
	return run_put_findings(arg) == -1 ? -1 : 0;
}

static void
run_committed_cb(void *arg)
{
	run_findings_committed(arg);
}

/* Write queued findings in a transaction of their own. */
static void
run_flush_findings(struct run *r)
{
	struct store	*st = r->co.store;

	if (r->nq == 0)
		return;
	if (store_begin(st) == -1 || run_put_findings(r) == -1 ||
	    store_commit(st) == -1) {
		/* Keep them: the next turn tries again. */
		store_rollback(st);
		r->write_errors++;
		log_warnx("run: %zu finding change(s) not written yet", r->nq);
		return;
	}
	run_findings_committed(r);
}

static void
run_flush_cb(uv_idle_t *h)
{
	struct run *r = h->data;

	/* A batch comes next turn and carries them: one commit, not two. */
	if (consume_busy(r->co.consume))
		return;
	run_flush_findings(r);
	if (r->nq == 0 || r->write_errors > 0)
		uv_idle_stop(&r->flush);
	r->write_errors = 0;
}

static void
run_store_sink(const struct finding *f, enum finding_change ch, void *arg)
{
	struct run *r = arg;

	uv_mutex_lock(&r->qmu);
	if (r->nq == r->capq) {
		r->capq = r->capq ? r->capq * 2 : 1024;
		r->q = xreallocarray(r->q, r->capq, sizeof *r->q);
	}
	r->q[r->nq++] = finding_hold(f);
	r->co.findings_queued = r->nq;
	uv_mutex_unlock(&r->qmu);
	if (!r->stopping)
		uv_idle_start(&r->flush, run_flush_cb);
}

/* ---------------------------------------------------------------------- */
/* Start-up: the stored fleet back into the engine */

static int
run_restore_finding(const struct finding *f, void *arg)
{
	correlate_restore(arg, f);
	return 0;
}

static int
run_replay_record(const struct tm_record *rec, uint64_t rx_ns, void *arg)
{
	correlate_record(arg, rec, rx_ns);
	return 0;
}

static void
run_on_record(const struct tm_record *rec, uint64_t rx_ns, void *arg)
{
	struct run *r = arg;

	correlate_run_record(r->co.cr, rec, rx_ns);
}

/* ---------------------------------------------------------------------- */
/* Signals and timers */

static void
run_stop(struct run *r)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	log_info("run: stopping");
	api_stop(r->co.api);
	r->co.api = NULL;
	consume_stop(r->co.consume);
	r->co.consume = NULL;
	correlate_run_stop(r->co.cr);	/* flushes the findings feed */
	uv_idle_stop(&r->flush);
	uv_close((uv_handle_t *)&r->flush, NULL);
	uv_close((uv_handle_t *)&r->prune, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_close((uv_handle_t *)&r->sighup, NULL);
}

static void
run_signal_cb(uv_signal_t *s, int signum)
{
	struct run *r = s->data;

	if (signum != SIGHUP) {
		run_stop(r);
		return;
	}
	{
		struct collector_config	 fresh;
		const char		*used;

		memset(&fresh, 0, sizeof fresh);
		if (cli_load_config(r->co.opts, collector_config_table,
		    collector_config_table_len, &fresh,
		    TALLYMAN_CONFDIR "/collector.conf", &used) == -1) {
			log_warnx("run: SIGHUP: the configuration has errors; "
			    "keeping the running one");
		} else {
			log_info("run: SIGHUP: reloading the feeds");
			correlate_run_reload(r->co.cr, &fresh);
		}
		cfg_free(collector_config_table, collector_config_table_len,
		    &fresh);
	}
}

static void
run_prune_cb(uv_timer_t *t)
{
	struct run	*r = t->data;
	uint64_t	 now = now_ns(), keep = r->co.cfg->store_retention;

	if (keep == 0 || keep > now)
		return;
	if (store_prune(r->co.store, now - keep) == -1)
		log_warnx("run: pruning the store failed");
}

/* ---------------------------------------------------------------------- */

static int
run_exec(struct collector_config *cfg, const struct cli_opts *opts, int argc,
    char **argv)
{
	struct run	*r;
	char		 err[512];
	int		 rc = 1;

	if (argc != 1) {
		fprintf(stderr, "usage: tallyman-collector [options] run\n");
		return 2;
	}
	r = xcalloc(1, sizeof *r);
	if (uv_mutex_init(&r->qmu) != 0)
		fatalx("run: cannot make the findings queue's lock");
	uv_loop_init(&r->loop);
	r->co.loop = &r->loop;
	r->co.cfg = cfg;
	r->co.opts = opts;
	r->co.started_ns = now_ns();
	r->co.brokers = cfg->kafka_brokers;
	if (strcmp(cfg->kafka_brokers, "embedded") == 0) {
		if ((r->co.embedded = embedded_start(cfg, err, sizeof err)) ==
		    NULL)
			goto out;
		/* Everything else (the findings producer too) uses it. */
		free(cfg->kafka_brokers);
		cfg->kafka_brokers = xstrdup(embedded_bootstrap(r->co.embedded));
		r->co.brokers = cfg->kafka_brokers;
	}
	if ((r->co.store = store_open(cfg->store_path, 0, err, sizeof err)) ==
	    NULL)
		goto out;
	r->co.ledger = ledger_new(LEDGER_JUMP_MAX);
	if ((r->co.cr = correlate_run_start(&r->loop, cfg, err, sizeof err)) ==
	    NULL)
		goto out;
	uv_idle_init(&r->loop, &r->flush);
	r->flush.data = r;
	correlate_run_add_sink(r->co.cr, run_store_sink, r, 1);
	{
		struct correlate	*cor = correlate_run_engine(r->co.cr);
		uint64_t		 t0 = mono_ns(), now = now_ns();

		if (store_each_finding(r->co.store, now > RUN_HISTORY_NS ?
		    now - RUN_HISTORY_NS : 0, run_restore_finding, cor) == -1 ||
		    store_replay(r->co.store, run_replay_record, cor) == -1) {
			snprintf(err, sizeof err, "run: cannot read the stored "
			    "fleet back from %s", cfg->store_path);
			goto out;
		}
		log_info("run: stored fleet and findings read back in %.3f s",
		    (double)(mono_ns() - t0) / 1e9);
	}
	if ((r->co.consume = consume_start(&r->loop, cfg, r->co.brokers,
	    r->co.store, r->co.ledger, run_on_record, r, err, sizeof err)) ==
	    NULL)
		goto out;
	consume_set_tx(r->co.consume, run_tx_cb, run_committed_cb, r);
	if ((r->co.api = api_start(&r->co, err, sizeof err)) == NULL)
		goto out;
	uv_timer_init(&r->loop, &r->prune);
	r->prune.data = r;
	uv_timer_start(&r->prune, run_prune_cb, 60000, RUN_PRUNE_MS);
	uv_signal_init(&r->loop, &r->sigterm);
	uv_signal_init(&r->loop, &r->sigint);
	uv_signal_init(&r->loop, &r->sighup);
	r->sigterm.data = r->sigint.data = r->sighup.data = r;
	uv_signal_start(&r->sigterm, run_signal_cb, SIGTERM);
	uv_signal_start(&r->sigint, run_signal_cb, SIGINT);
	uv_signal_start(&r->sighup, run_signal_cb, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	log_info("run: tallyman-collector %s running (store %s, brokers %s)",
	    PACKAGE_VERSION, cfg->store_path, r->co.brokers);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	rc = 0;
	err[0] = '\0';
out:
	if (rc != 0)
		log_warnx("%s", err);
	if (!r->stopping) {
		/* A start-up failure: release what was started. */
		r->stopping = 1;
		api_stop(r->co.api);
		consume_stop(r->co.consume);
		if (r->co.cr != NULL)
			correlate_run_stop(r->co.cr);
		if (uv_is_active((uv_handle_t *)&r->flush) ||
		    r->flush.loop != NULL)
			uv_close((uv_handle_t *)&r->flush, NULL);
		uv_run(&r->loop, UV_RUN_DEFAULT);
	}
	/* What the engine said while stopping, then the store. */
	while (r->nq > 0 && r->co.store != NULL) {
		size_t before = r->nq;

		run_flush_findings(r);
		if (r->nq == before)
			break;
	}
	if (r->nq > 0)
		log_warnx("run: %zu finding change(s) could not be written", r->nq);
	while (r->nq > 0)
		finding_free(r->q[--r->nq]);
	free(r->q);
	free(r->txq);
	uv_mutex_destroy(&r->qmu);
	ledger_free(r->co.ledger);
	store_close(r->co.store);
	embedded_stop(r->co.embedded);
	if (uv_loop_close(&r->loop) != 0)
		log_warnx("run: the loop still had handles at exit");
	free(r);
	if (rc == 0)
		log_info("run: stopped");
	return rc;
}

const struct collector_cmd collector_cmd_run = {
	.name = "run",
	.usage = "",
	.help = "consume the fleet's inventory, store it, correlate it, serve "
	    "the API (default)",
	.exec = run_exec,
};
