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
 * Findings have a store of their own (store_findings_path: beside the
 * main one), with its own writer: their changes go through a queue to a
 * thread (tm-fwrite) that writes them in transactions of its own,
 * RUN_FINDINGS_TX at most each, in parallel with the consumer's writer
 * (SQLite takes one writer per file).  A change leaves the queue only
 * once its transaction has committed: a transaction that fails loses none
 * that the feed has already announced.  A store whose findings were kept
 * in the main file (before) has them moved at start-up.
 *
 * Signals: SIGTERM and SIGINT stop (the consumer leaves its group
 * committing its offsets, queued findings are written, the findings
 * producer is flushed); SIGHUP reads the configuration file again and
 * reloads the feeds (feeds.osv, feeds.interval).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/store.h"

#define RUN_FINDINGS_TX		65536
#define RUN_FINDINGS_RETRY_MS	1000ULL
#define RUN_HISTORY_NS		(30ULL * 86400ULL * 1000000000ULL)
#define RUN_PRUNE_MS		(3600ULL * 1000ULL)

struct run {
	struct collector	 co;
	uv_loop_t		 loop;
	uv_signal_t		 sigterm, sigint, sighup;
	uv_timer_t		 prune;
	/* The findings queue and its writer thread (run_fw_main). */
	uv_mutex_t		 qmu;		/* guards the fields below */
	uv_cond_t		 qcv;		/* the thread: work, or quit */
	struct finding		**q;		/* changes to write, in order */
	size_t			 nq, capq;
	uint64_t		 prune_before;	/* 0, or prune findings so */
	int			 fw_quit;
	/* The thread's own. */
	uv_thread_t		 fw;
	int			 fw_on;
	struct finding		**txq;		/* q's first, being written */
	size_t			 captxq;
	int			 stopping;
};

/* ---------------------------------------------------------------------- */
/* Findings to the store */

/*
 * The findings writer thread (tm-fwrite): writes the first queued changes
 * (RUN_FINDINGS_TX at most) to the findings store in a transaction, takes
 * them off the queue once it has committed, and goes on while there are
 * more; after a failure it waits RUN_FINDINGS_RETRY_MS.  Also prunes the
 * findings store when the loop asks.  It holds co.findings_mu while it
 * uses the store (the API's statistics take it too).  At quit it writes
 * what is queued first (giving up after a failure).  Runs on the loop's
 * thread instead when the thread never started (run_fw_stop).
 */
static void
run_fw_main(void *arg)
{
	struct run	*r = arg;
	struct store	*fs = r->co.fstore;
	size_t		 i, n;
	int		 failed;

	(void)pthread_setname_np(pthread_self(), "tm-fwrite");	/* top(1) */
	uv_mutex_lock(&r->qmu);
	for (;;) {
		while (r->nq == 0 && r->prune_before == 0 && !r->fw_quit)
			uv_cond_wait(&r->qcv, &r->qmu);
		if (r->prune_before != 0) {
			uint64_t before = r->prune_before;

			r->prune_before = 0;
			uv_mutex_unlock(&r->qmu);
			uv_mutex_lock(&r->co.findings_mu);
			if (store_prune(fs, before) == -1)
				log_warnx("run: pruning the findings store "
				    "failed");
			uv_mutex_unlock(&r->co.findings_mu);
			uv_mutex_lock(&r->qmu);
			continue;
		}
		if (r->nq == 0)
			break;			/* quit, nothing left */
		n = r->nq < RUN_FINDINGS_TX ? r->nq : RUN_FINDINGS_TX;
		if (n > r->captxq) {
			r->captxq = n;
			r->txq = xreallocarray(r->txq, n, sizeof *r->txq);
		}
		memcpy(r->txq, r->q, n * sizeof *r->q);
		uv_mutex_unlock(&r->qmu);
		uv_mutex_lock(&r->co.findings_mu);
		failed = store_begin(fs) == -1;
		for (i = 0; i < n && !failed; i++)
			failed = store_put_finding(fs, r->txq[i]) == -1;
		if (!failed)
			failed = store_commit(fs) == -1;
		if (failed)
			store_rollback(fs);
		uv_mutex_unlock(&r->co.findings_mu);
		uv_mutex_lock(&r->qmu);
		if (failed) {
			/* Keep them: try again later (once more at quit). */
			log_warnx("run: %zu finding change(s) not written yet",
			    r->nq);
			if (r->fw_quit)
				break;
			(void)uv_cond_timedwait(&r->qcv, &r->qmu,
			    RUN_FINDINGS_RETRY_MS * 1000000ULL);
			continue;
		}
		for (i = 0; i < n; i++)
			finding_free(r->q[i]);
		memmove(r->q, r->q + n, (r->nq - n) * sizeof *r->q);
		r->nq -= n;
		__atomic_store_n(&r->co.findings_written,
		    r->co.findings_written + n, __ATOMIC_RELAXED);
		__atomic_store_n(&r->co.findings_queued, r->nq,
		    __ATOMIC_RELAXED);
	}
	uv_mutex_unlock(&r->qmu);
}

/* A change from the engine (on the loop): queued for the thread. */
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
	__atomic_store_n(&r->co.findings_queued, r->nq, __ATOMIC_RELAXED);
	/* The thread waits only on an empty queue: a feed's millions of
	 * changes wake it once, not once each. */
	if (r->nq == 1)
		uv_cond_signal(&r->qcv);
	uv_mutex_unlock(&r->qmu);
}

/* Start the thread: 0, or -1 with err set. */
static int
run_fw_start(struct run *r, char *err, size_t errlen)
{
	if (uv_thread_create(&r->fw, run_fw_main, r) != 0) {
		snprintf(err, errlen, "run: cannot start the findings writer "
		    "thread");
		return -1;
	}
	r->fw_on = 1;
	return 0;
}

/* Write what is queued, then stop the thread; what could not be written
 * is logged and dropped. */
static void
run_fw_stop(struct run *r)
{
	if (!r->fw_on && r->nq > 0 && r->co.fstore != NULL) {
		/* Not started (start-up failed): write them here. */
		r->fw_quit = 1;
		run_fw_main(r);
	}
	if (r->fw_on) {
		uv_mutex_lock(&r->qmu);
		r->fw_quit = 1;
		uv_cond_signal(&r->qcv);
		uv_mutex_unlock(&r->qmu);
		uv_thread_join(&r->fw);
		r->fw_on = 0;
	}
	if (r->nq > 0)
		log_warnx("run: %zu finding change(s) could not be written",
		    r->nq);
	while (r->nq > 0)
		finding_free(r->q[--r->nq]);
}

/*
 * Findings kept in the main store (before they had a file of their own):
 * into the findings store, then off the main one.
 */
struct run_move {
	struct store	*to;
	uint64_t	 n;
};

static int
run_move_finding(const struct finding *f, void *arg)
{
	struct run_move *mv = arg;

	mv->n++;
	return store_put_finding(mv->to, f);
}

static int
run_move_findings(struct run *r, char *err, size_t errlen)
{
	struct store	*st = r->co.store, *fs = r->co.fstore;
	struct run_move	 mv = { fs, 0 };

	if (store_begin(fs) == -1 ||
	    store_each_finding(st, 0, run_move_finding, &mv) == -1 ||
	    store_commit(fs) == -1) {
		store_rollback(fs);
		snprintf(err, errlen, "run: cannot move the findings of %s to "
		    "%s", st->path, fs->path);
		return -1;
	}
	if (mv.n == 0)
		return 0;
	/* A crash here leaves them in both: moved again at the next start
	 * (the same ids: replaced, not doubled). */
	if (store_drop_findings(st) == -1) {
		snprintf(err, errlen, "run: cannot remove the findings moved "
		    "from %s", st->path);
		return -1;
	}
	log_info("run: %llu finding(s) moved from %s to %s",
	    (unsigned long long)mv.n, st->path, fs->path);
	return 0;
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
	/* The findings store is the thread's. */
	uv_mutex_lock(&r->qmu);
	r->prune_before = now - keep;
	uv_cond_signal(&r->qcv);
	uv_mutex_unlock(&r->qmu);
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
	if (uv_mutex_init(&r->qmu) != 0 || uv_cond_init(&r->qcv) != 0 ||
	    uv_mutex_init(&r->co.findings_mu) != 0)
		fatalx("run: cannot make the findings queue's locks");
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
	{
		char *fpath = store_findings_path(cfg->store_path);

		r->co.fstore = store_open(fpath, 0, err, sizeof err);
		free(fpath);
		if (r->co.fstore == NULL || run_move_findings(r, err,
		    sizeof err) == -1)
			goto out;
	}
	r->co.ledger = ledger_new(LEDGER_JUMP_MAX);
	if ((r->co.cr = correlate_run_start(&r->loop, cfg, err, sizeof err)) ==
	    NULL)
		goto out;
	correlate_run_add_sink(r->co.cr, run_store_sink, r, 1);
	{
		struct correlate	*cor = correlate_run_engine(r->co.cr);
		uint64_t		 t0 = mono_ns(), now = now_ns();

		if (store_each_finding(r->co.fstore, now > RUN_HISTORY_NS ?
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
	if (run_fw_start(r, err, sizeof err) == -1)
		goto out;
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
		uv_run(&r->loop, UV_RUN_DEFAULT);
	}
	/* What the engine said while stopping, then the stores. */
	run_fw_stop(r);
	free(r->q);
	free(r->txq);
	uv_cond_destroy(&r->qcv);
	uv_mutex_destroy(&r->qmu);
	uv_mutex_destroy(&r->co.findings_mu);
	ledger_free(r->co.ledger);
	store_close(r->co.fstore);
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
