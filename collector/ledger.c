/*
 * ledger.c: each host's sequence ledger, in memory.  Agents number their
 * records per host (monotonic across restarts); Kafka delivers at least
 * once, so the collector sees records again after a rebalance, a restart or
 * an agent's resend.  The ledger decides, per record, whether it is new
 * (above the highest sequence seen), a gap being filled (a number skipped
 * earlier that arrives late), a duplicate (seen already: dropped, so a
 * replay changes nothing), or an implausible jump (rejected: a forged
 * "sequence far in the future" must not make every later record of that
 * host look like a duplicate).
 *
 * Gaps are kept as ranges, at most LEDGER_GAPS_MAX per host; past that the
 * lowest range is forgotten (its numbers stay counted as missing, and would
 * be taken for duplicates if they ever came).
 *
 * Epochs (the envelope's "e"): an agent whose state was lost (a package
 * purged and installed again) starts its sequence again at 1 under a new
 * epoch.  A record of an epoch the host has not used makes it the host's
 * current one: the ledger starts again at that record (no gap counted
 * between two epochs; restarts counts them), and the previous epoch is
 * retired with its highest number, so its records read again later (Kafka's
 * replays) are still recognised: at or below that number they are
 * duplicates, above it late arrivals.  At most LEDGER_RETIRED_MAX retired
 * epochs per host are kept (an agent forging epochs cannot grow them).
 *
 * The store persists each dirty ledger in the same transaction as the records it accepted
 * (consume.c); on a rollback the consumer reloads every ledger from it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/store.h"

struct ledger_host {
	char		*host;
	int		 seen;
	uint64_t	 epoch;		/* the current one */
	uint64_t	 restarts;	/* epochs started after the first */
	struct store_epoch retired[LEDGER_RETIRED_MAX];	/* newest first */
	size_t		 nretired;
	int		 retired_dirty;
	uint64_t	 high;
	uint64_t	 missing;
	uint64_t	 duplicates;
	struct store_gap *gaps;
	size_t		 ngaps, capgaps;
	int		 gaps_dirty;	/* gaps differ from the store's */
	int		 dirty;
	struct ledger_host *next_dirty;
};

struct ledger {
	struct strmap		*hosts;
	struct ledger_host	*dirty;
	uint64_t		 jump_max;
};

struct ledger *
ledger_new(uint64_t jump_max)
{
	struct ledger *lg = xcalloc(1, sizeof *lg);

	lg->hosts = strmap_new();
	lg->jump_max = jump_max;
	return lg;
}

static int
ledger_free_host(const char *k, void *v, void *arg)
{
	struct ledger_host *h = v;

	free(h->gaps);
	free(h->host);
	free(h);
	return 0;
}

/* Forget every host (before a reload from the store). */
void
ledger_clear(struct ledger *lg)
{
	strmap_each(lg->hosts, ledger_free_host, NULL);
	strmap_free(lg->hosts);
	lg->hosts = strmap_new();
	lg->dirty = NULL;
}

void
ledger_free(struct ledger *lg)
{
	if (lg == NULL)
		return;
	strmap_each(lg->hosts, ledger_free_host, NULL);
	strmap_free(lg->hosts);
	free(lg);
}

static struct ledger_host *
ledger_host_get(struct ledger *lg, const char *host)
{
	struct ledger_host *h = strmap_get(lg->hosts, host);

	if (h == NULL) {
		h = xcalloc(1, sizeof *h);
		h->host = xstrdup(host);
		strmap_put(lg->hosts, h->host, h);
	}
	return h;
}

static void
ledger_mark(struct ledger *lg, struct ledger_host *h)
{
	if (h->dirty)
		return;
	h->dirty = 1;
	h->next_dirty = lg->dirty;
	lg->dirty = h;
}

/* Append the range lo..hi (above every other) to h's gaps. */
static void
ledger_gap_push(struct ledger_host *h, uint64_t lo, uint64_t hi)
{
	if (h->ngaps == LEDGER_GAPS_MAX) {
		/* Forget the lowest range: bounded memory per host. */
		memmove(h->gaps, h->gaps + 1, (h->ngaps - 1) * sizeof *h->gaps);
		h->ngaps--;
	}
	if (h->ngaps == h->capgaps) {
		h->capgaps = h->capgaps ? h->capgaps * 2 : 4;
		h->gaps = xreallocarray(h->gaps, h->capgaps, sizeof *h->gaps);
	}
	h->gaps[h->ngaps].lo = lo;
	h->gaps[h->ngaps].hi = hi;
	h->ngaps++;
	h->gaps_dirty = 1;
}

/* Index of the gap holding seq, or -1 (gaps are sorted, disjoint). */
static long
ledger_gap_find(const struct ledger_host *h, uint64_t seq)
{
	size_t lo = 0, hi = h->ngaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->gaps[mid].hi < seq)
			lo = mid + 1;
		else if (h->gaps[mid].lo > seq)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

/* Remove seq from gap i (splitting it when seq is inside). */
static void
ledger_gap_fill(struct ledger_host *h, size_t i, uint64_t seq)
{
	struct store_gap *g = &h->gaps[i];

	h->gaps_dirty = 1;
	if (g->lo == seq && g->hi == seq) {
		memmove(g, g + 1, (h->ngaps - i - 1) * sizeof *g);
		h->ngaps--;
	} else if (g->lo == seq) {
		g->lo++;
	} else if (g->hi == seq) {
		g->hi--;
	} else {
		uint64_t hi = g->hi;

		if (h->ngaps == LEDGER_GAPS_MAX) {
			/* No room to split: keep the upper part only. */
			g->lo = seq + 1;
			return;
		}
		if (h->ngaps == h->capgaps) {
			h->capgaps *= 2;
			h->gaps = xreallocarray(h->gaps, h->capgaps,
			    sizeof *h->gaps);
			g = &h->gaps[i];
		}
		memmove(g + 2, g + 1, (h->ngaps - i - 1) * sizeof *g);
		h->ngaps++;
		g->hi = seq - 1;
		g[1].lo = seq + 1;
		g[1].hi = hi;
	}
}

/* A record of another epoch than the current one: see the file's top. */
static enum ledger_verdict
ledger_other_epoch(struct ledger *lg, struct ledger_host *h, uint64_t epoch,
    uint64_t seq)
{
	size_t i;

	for (i = 0; i < h->nretired; i++) {
		if (h->retired[i].epoch != epoch)
			continue;
		if (seq <= h->retired[i].high) {
			h->duplicates++;
			ledger_mark(lg, h);
			return LEDGER_DUP;
		}
		h->retired[i].high = seq;
		h->retired_dirty = 1;
		ledger_mark(lg, h);
		return LEDGER_NEW;
	}
	/* A new epoch: retire the current one, start again at seq. */
	if (h->nretired == LEDGER_RETIRED_MAX)
		h->nretired--;
	memmove(h->retired + 1, h->retired, h->nretired * sizeof *h->retired);
	h->retired[0].epoch = h->epoch;
	h->retired[0].high = h->high;
	h->nretired++;
	h->retired_dirty = 1;
	h->epoch = epoch;
	h->restarts++;
	h->high = seq;
	if (h->ngaps > 0) {
		h->ngaps = 0;
		h->gaps_dirty = 1;
	}
	ledger_mark(lg, h);
	return LEDGER_NEW;
}

/*
 * Decide on record (host, epoch, seq) and, unless it is refused, account
 * for it (a record of another epoch: ledger_other_epoch):
 * LEDGER_NEW (above the highest: a jump leaves a gap, counted missing),
 * LEDGER_FILL (a missing number arrived), LEDGER_DUP (seen before: drop
 * it), LEDGER_JUMP (more than jump_max above the highest: refuse it, the
 * ledger is unchanged).  The first record of a host starts its ledger at
 * whatever number it has.
 */
enum ledger_verdict
ledger_check(struct ledger *lg, const char *host, uint64_t epoch,
    uint64_t seq)
{
	struct ledger_host	*h = ledger_host_get(lg, host);
	long			 i;

	if (!h->seen) {
		h->seen = 1;
		h->epoch = epoch;
		h->high = seq;
		ledger_mark(lg, h);
		return LEDGER_NEW;
	}
	if (epoch != h->epoch)
		return ledger_other_epoch(lg, h, epoch, seq);
	if (seq > h->high) {
		if (seq - h->high > lg->jump_max)
			return LEDGER_JUMP;
		if (seq > h->high + 1) {
			ledger_gap_push(h, h->high + 1, seq - 1);
			h->missing += seq - h->high - 1;
		}
		h->high = seq;
		ledger_mark(lg, h);
		return LEDGER_NEW;
	}
	if ((i = ledger_gap_find(h, seq)) >= 0) {
		ledger_gap_fill(h, (size_t)i, seq);
		if (h->missing > 0)
			h->missing--;
		ledger_mark(lg, h);
		return LEDGER_FILL;
	}
	h->duplicates++;
	ledger_mark(lg, h);
	return LEDGER_DUP;
}

/* Take a host's ledger as the store kept it (start-up, after a rollback). */
void
ledger_load(struct ledger *lg, const struct store_ledger *sl)
{
	struct ledger_host	*h = ledger_host_get(lg, sl->host);
	size_t			 i;

	h->seen = sl->seen;
	h->epoch = sl->epoch;
	h->restarts = sl->restarts;
	h->nretired = sl->nretired < LEDGER_RETIRED_MAX ? sl->nretired :
	    LEDGER_RETIRED_MAX;
	memcpy(h->retired, sl->retired, h->nretired * sizeof *h->retired);
	h->retired_dirty = 0;
	h->high = sl->high;
	h->missing = sl->missing;
	h->duplicates = sl->duplicates;
	h->ngaps = 0;
	for (i = 0; i < sl->ngaps; i++) {
		if (sl->gaps[i].lo > sl->gaps[i].hi ||
		    (h->ngaps > 0 && sl->gaps[i].lo <= h->gaps[h->ngaps - 1].hi))
			continue;	/* not sorted and disjoint: skip */
		ledger_gap_push(h, sl->gaps[i].lo, sl->gaps[i].hi);
	}
	h->gaps_dirty = 0;	/* as the store has them */
}

static void
ledger_view(const struct ledger_host *h, struct store_ledger *sl)
{
	sl->host = h->host;
	sl->seen = h->seen;
	sl->high = h->high;
	sl->missing = h->missing;
	sl->duplicates = h->duplicates;
	sl->gaps = h->gaps;
	sl->ngaps = h->ngaps;
	sl->gaps_changed = h->gaps_dirty;
	sl->epoch = h->epoch;
	sl->restarts = h->restarts;
	sl->retired = h->retired;
	sl->nretired = h->nretired;
	sl->retired_changed = h->retired_dirty;
}

/*
 * Call fn for every ledger changed since the last call (to write them in
 * the batch's transaction), and mark them clean.  Stops at the first fn
 * that returns -1 (the rest stay dirty) and returns -1.
 */
int
ledger_flush(struct ledger *lg, int (*fn)(const struct store_ledger *, void *),
    void *arg)
{
	struct store_ledger sl;

	while (lg->dirty != NULL) {
		struct ledger_host *h = lg->dirty;

		ledger_view(h, &sl);
		if (fn(&sl, arg) == -1)
			return -1;
		lg->dirty = h->next_dirty;
		h->dirty = 0;
		h->gaps_dirty = 0;
		h->retired_dirty = 0;
		h->next_dirty = NULL;
	}
	return 0;
}

/* The ledger of one host, or -1 when it has none.  Borrowed view. */
int
ledger_get(const struct ledger *lg, const char *host, struct store_ledger *sl)
{
	const struct ledger_host *h = strmap_get(lg->hosts, host);

	if (h == NULL)
		return -1;
	ledger_view(h, sl);
	return 0;
}

struct ledger_sum_ctx {
	uint64_t	missing, duplicates;
};

static int
ledger_sum_one(const char *k, void *v, void *arg)
{
	const struct ledger_host	*h = v;
	struct ledger_sum_ctx		*x = arg;

	x->missing += h->missing;
	x->duplicates += h->duplicates;
	return 0;
}

/* Totals over every host: hosts, missing records, duplicates. */
void
ledger_totals(const struct ledger *lg, uint64_t *hosts, uint64_t *missing,
    uint64_t *duplicates)
{
	struct ledger_sum_ctx x = { 0, 0 };

	strmap_each(lg->hosts, ledger_sum_one, &x);
	*hosts = strmap_count(lg->hosts);
	*missing = x.missing;
	*duplicates = x.duplicates;
}
