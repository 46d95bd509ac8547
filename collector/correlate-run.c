/*
 * correlate-run.c: the correlation engine inside `tallyman-collector run`.
 * It owns the engine (correlate.c), the findings feed (findings-feed.c) and
 * two timers on the loop: the feed reload (feeds.osv, every feeds.interval,
 * and at once on SIGHUP) and the tick that finds silent hosts.
 *
 * Feeds load on libuv's thread pool (downloads and parsing block); the
 * finished database is handed to the engine on the loop thread, which
 * re-evaluates the fleet when the feed changed.  One load at a time: a
 * reload asked for while one runs starts when it ends.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collector/collector.h"

#define CR_TICK_MS		5000
#define CR_SHORT_LIVED_NS	(10ULL * 1000000000ULL)
#define CR_RETRIES		3
#define CR_BACKOFF_MS		1000

struct correlate_run {
	uv_loop_t		*loop;
	struct correlate	*cor;
	struct findings_feed	*feed;
	struct osv_feeds	 src;
	uint64_t		 interval_ns;
	uv_timer_t		 reload;
	uv_timer_t		 tick;
	uv_work_t		 work;
	int			 busy;		/* a load runs */
	int			 again;		/* reload asked for meanwhile */
	int			 stopping;
	int			 nclosed;	/* timers closed (2: both) */
	char			*pending;	/* feeds.osv from a SIGHUP */
	uint64_t		 pending_interval;
	struct osv_db		*loaded;
	struct osv_load_stats	 ls;
	struct osv_load_stats	 last;		/* of the last load */
	uint64_t		 loads;
	uint64_t		 last_load_ns;	/* when it ended */
};

static void	cr_load(struct correlate_run *cr);

static void
cr_free_items(struct correlate_run *cr)
{
	if (cr->src.items != NULL)
		cfg_list_free(cr->src.items);
	cr->src.items = NULL;
	cr->src.nitems = 0;
}

/* Folder for downloaded feeds: beside the store (DIR/feeds), created 0700. */
static char *
cr_cache_dir(const char *store_path)
{
	char	*copy = xstrdup(store_path), *dir = NULL;

	xasprintf(&dir, "%s/feeds", dirname(copy));
	free(copy);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		log_warn("correlate: %s", dir);
	return dir;
}

static void
cr_work(uv_work_t *w)
{
	struct correlate_run *cr = w->data;

	cr->loaded = osv_feeds_load(&cr->src, &cr->ls);
}

/* Free cr once both timers are closed and no load runs. */
static void
cr_free(struct correlate_run *cr)
{
	if (cr->nclosed < 2 || cr->busy)
		return;
	cr_free_items(cr);
	free(cr->pending);
	free(cr->src.cache_dir);
	correlate_free(cr->cor);
	free(cr);
}

static void
cr_closed(uv_handle_t *h)
{
	struct correlate_run *cr = h->data;

	cr->nclosed++;
	cr_free(cr);
}

static void	cr_set_items(struct correlate_run *cr, const char *list,
		    uint64_t interval_ns);

static void
cr_after_work(uv_work_t *w, int status)
{
	struct correlate_run	*cr = w->data;
	struct osv_db_stats	 ds;

	cr->busy = 0;
	if (cr->stopping) {
		osv_db_free(cr->loaded);
		cr->loaded = NULL;
		cr_free(cr);
		return;
	}
	cr->loads++;
	cr->last = cr->ls;
	cr->last_load_ns = now_ns();
	osv_db_stats(cr->loaded, &ds);
	log_info("correlate: feeds loaded: %llu advisories (%llu withdrawn, "
	    "%llu rejected) from %llu files; %llu item(s) failed; digest %.12s",
	    (unsigned long long)ds.live, (unsigned long long)ds.withdrawn,
	    (unsigned long long)ds.rejected, (unsigned long long)cr->ls.files,
	    (unsigned long long)cr->ls.failed_items,
	    osv_db_digest(cr->loaded));
	if (cr->ls.failed_items > 0 && correlate_feed(cr->cor) != NULL) {
		/* A feed that failed would resolve every finding it holds:
		 * keep judging by the last complete one. */
		log_warnx("correlate: %llu feed item(s) failed to load; keeping "
		    "the previous feed", (unsigned long long)cr->ls.failed_items);
		osv_db_free(cr->loaded);
	} else
		correlate_set_feed(cr->cor, cr->loaded, now_ns());
	cr->loaded = NULL;
	if (cr->pending != NULL) {
		char *list = cr->pending;

		cr->pending = NULL;
		cr->again = 0;
		cr_set_items(cr, list, cr->pending_interval);	/* loads */
		free(list);
	} else if (cr->again) {
		cr->again = 0;
		cr_load(cr);
	}
}

static void
cr_load(struct correlate_run *cr)
{
	if (cr->stopping)
		return;
	if (cr->busy) {
		cr->again = 1;
		return;
	}
	if (cr->src.nitems == 0)
		return;
	cr->busy = 1;
	cr->work.data = cr;
	if (uv_queue_work(cr->loop, &cr->work, cr_work, cr_after_work) != 0) {
		cr->busy = 0;
		log_warnx("correlate: cannot queue the feed load");
	}
}

static void
cr_reload_cb(uv_timer_t *t)
{
	cr_load(t->data);
}

static void
cr_tick_cb(uv_timer_t *t)
{
	struct correlate_run *cr = t->data;

	correlate_tick(cr->cor, now_ns());
}

/* Use list (feeds.osv) from now on, loading it now and every interval. */
static void
cr_set_items(struct correlate_run *cr, const char *list, uint64_t interval_ns)
{
	uint64_t ms;

	cr_free_items(cr);
	cr->src.items = cfg_list_split(list, &cr->src.nitems);
	cr->interval_ns = interval_ns;
	ms = cr->interval_ns / 1000000ULL;
	if (ms == 0)
		ms = 1000;
	uv_timer_start(&cr->reload, cr_reload_cb, 0, ms);
}

/*
 * Start correlation on loop with cfg (feeds.osv, feeds.interval,
 * findings.topic, findings.webhook, kafka.*).  The first feed load starts
 * at once.  Returns NULL with err set when the findings producer cannot be
 * created.
 */
struct correlate_run *
correlate_run_start(uv_loop_t *loop, const struct collector_config *cfg,
    char *err, size_t errlen)
{
	struct correlate_run	*cr = xcalloc(1, sizeof *cr);
	struct correlate_config	 cc = {
		.short_lived_ns = CR_SHORT_LIVED_NS,
		.silent_intervals = 3,
		.heartbeat_ns = 60ULL * 1000000000ULL,
		.history_max = 200000,
	};

	cr->loop = loop;
	if ((cr->feed = findings_feed_start(loop, cfg, err, errlen)) == NULL) {
		free(cr);
		return NULL;
	}
	cr->cor = correlate_new(&cc);
	correlate_add_sink(cr->cor, findings_feed_sink, cr->feed, 1);
	cr->src.cache_dir = cr_cache_dir(cfg->store_path);
	cr->src.retries = CR_RETRIES;
	cr->src.backoff_ms = CR_BACKOFF_MS;
	uv_timer_init(loop, &cr->reload);
	cr->reload.data = cr;
	uv_timer_init(loop, &cr->tick);
	cr->tick.data = cr;
	uv_timer_start(&cr->tick, cr_tick_cb, CR_TICK_MS, CR_TICK_MS);
	cr_set_items(cr, cfg->feeds_osv, cfg->feeds_interval);
	return cr;
}

/* SIGHUP: take feeds.osv and feeds.interval from cfg and load again now. */
void
correlate_run_reload(struct correlate_run *cr,
    const struct collector_config *cfg)
{
	if (cr->busy) {
		/* The worker reads src: change it only once it is done. */
		free(cr->pending);
		cr->pending = xstrdup(cfg->feeds_osv);
		cr->pending_interval = cfg->feeds_interval;
		return;
	}
	cr_set_items(cr, cfg->feeds_osv, cfg->feeds_interval);
}

/* One record, as stored (the consumer calls this after the store did). */
void
correlate_run_record(struct correlate_run *cr, const struct tm_record *rec,
    uint64_t rx_ns)
{
	correlate_record(cr->cor, rec, rx_ns);
}

struct correlate *
correlate_run_engine(struct correlate_run *cr)
{
	return cr->cor;
}

/* Register another sink (the store's) on the engine. */
int
correlate_run_add_sink(struct correlate_run *cr, correlate_sink_fn fn,
    void *arg, int keeps)
{
	return correlate_add_sink(cr->cor, fn, arg, keeps);
}

void
correlate_run_stats(const struct correlate_run *cr,
    struct correlate_run_stats *st)
{
	memset(st, 0, sizeof *st);
	correlate_stats(cr->cor, &st->engine);
	findings_feed_stats(cr->feed, &st->feed);
	st->loads = cr->loads;
	st->last_load = cr->last;
	st->last_load_ns = cr->last_load_ns;
	if (correlate_feed(cr->cor) != NULL) {
		osv_db_stats(correlate_feed(cr->cor), &st->db);
		snprintf(st->digest, sizeof st->digest, "%s",
		    osv_db_digest(correlate_feed(cr->cor)));
	}
}

/*
 * The correlation's counters in Prometheus' text format, to append to
 * /metrics.  Caller frees; *len is its length.
 */
char *
correlate_run_metrics(const struct correlate_run *cr, size_t *len)
{
	struct correlate_run_stats	 st;
	char				*out = NULL;
	int				 n;

	correlate_run_stats(cr, &st);
	n = xasprintf(&out,
	    "# HELP tallyman_findings_open Findings open now.\n"
	    "# TYPE tallyman_findings_open gauge\n"
	    "tallyman_findings_open %llu\n"
	    "# HELP tallyman_findings_changes_total Findings opened and resolved.\n"
	    "# TYPE tallyman_findings_changes_total counter\n"
	    "tallyman_findings_changes_total{change=\"new\"} %llu\n"
	    "tallyman_findings_changes_total{change=\"resolved\"} %llu\n"
	    "# HELP tallyman_findings_published_total Findings feed messages.\n"
	    "# TYPE tallyman_findings_published_total counter\n"
	    "tallyman_findings_published_total{result=\"delivered\"} %llu\n"
	    "tallyman_findings_published_total{result=\"failed\"} %llu\n"
	    "tallyman_findings_published_total{result=\"webhook_ok\"} %llu\n"
	    "tallyman_findings_published_total{result=\"webhook_error\"} %llu\n"
	    "tallyman_findings_published_total{result=\"webhook_dropped\"} %llu\n"
	    "# HELP tallyman_feed_advisories OSV advisories in the feed in use.\n"
	    "# TYPE tallyman_feed_advisories gauge\n"
	    "tallyman_feed_advisories %llu\n"
	    "# HELP tallyman_feed_loads_total Feed loads finished.\n"
	    "# TYPE tallyman_feed_loads_total counter\n"
	    "tallyman_feed_loads_total %llu\n"
	    "# HELP tallyman_feed_rejected Records or files refused by the last load.\n"
	    "# TYPE tallyman_feed_rejected gauge\n"
	    "tallyman_feed_rejected %llu\n"
	    "# HELP tallyman_reevaluation_seconds The last whole-fleet re-evaluation.\n"
	    "# TYPE tallyman_reevaluation_seconds gauge\n"
	    "tallyman_reevaluation_seconds %.3f\n",
	    (unsigned long long)st.engine.open,
	    (unsigned long long)st.engine.opened,
	    (unsigned long long)st.engine.closed,
	    (unsigned long long)st.feed.delivered,
	    (unsigned long long)st.feed.failed,
	    (unsigned long long)st.feed.hook_ok,
	    (unsigned long long)st.feed.hook_errors,
	    (unsigned long long)st.feed.hook_dropped,
	    (unsigned long long)st.db.live,
	    (unsigned long long)st.loads,
	    (unsigned long long)st.db.rejected,
	    (double)st.engine.last_reeval_ns / 1e9);
	*len = n > 0 ? (size_t)n : 0;
	return out;
}

/* Flush the findings feed, stop the timers; freed once the loop closes
 * them (and a running feed load ended). */
void
correlate_run_stop(struct correlate_run *cr)
{
	if (cr == NULL)
		return;
	cr->stopping = 1;
	findings_feed_stop(cr->feed, 10000);
	uv_timer_stop(&cr->reload);
	uv_timer_stop(&cr->tick);
	uv_close((uv_handle_t *)&cr->reload, cr_closed);
	uv_close((uv_handle_t *)&cr->tick, cr_closed);
}
