/*
 * heartbeat.c: the agent's counters as a record, every heartbeat.interval.
 *
 * The heartbeat tells the collector the agent is alive and what it did:
 * events, snapshots, records produced, spooled, acknowledged and dropped,
 * memory and CPU, the spool and Kafka figures.  A drop count that grows is
 * the agent admitting a loss; the collector checks it against the sequence
 * gaps it sees.  One timer; nothing runs between beats.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent/agent.h"

struct heartbeat {
	struct agent	*a;
	uv_timer_t	 timer;
};

/* Resident memory from /proc/self/statm (pages), 0 if unknown. */
static uint64_t
heartbeat_rss(void)
{
	FILE			*fp;
	unsigned long long	 size, resident;
	long			 page = sysconf(_SC_PAGESIZE);
	uint64_t		 rss = 0;

	if ((fp = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	if (fscanf(fp, "%llu %llu", &size, &resident) == 2 && page > 0)
		rss = (uint64_t)resident * (uint64_t)page;
	fclose(fp);
	return rss;
}

static uint64_t
heartbeat_tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000;
}

/*
 * Build a heartbeat from the agent's counters now and emit it.  Returns
 * agent_emit's result.
 */
int
heartbeat_emit(struct agent *a)
{
	struct tm_heartbeat	hb;
	struct rusage		ru;

	memset(&hb, 0, sizeof hb);
	hb.interval_ns = a->cfg.heartbeat_interval;
	hb.uptime_ns = mono_ns() - a->start_mono_ns;
	hb.events = a->stats.events;
	hb.snapshots = a->stats.snapshots;
	hb.containers = a->stats.containers;
	hb.image_scans = a->stats.image_scans;
	hb.image_cache_hits = a->stats.image_cache_hits;
	hb.records = a->stats.records;
	hb.spooled = a->stats.spooled;
	hb.acked = a->stats.acked;
	hb.dropped = a->stats.dropped;
	hb.parse_errors = a->stats.parse_errors;
	hb.rss_bytes = heartbeat_rss();
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		hb.cpu_user_ns = heartbeat_tv_ns(&ru.ru_utime);
		hb.cpu_sys_ns = heartbeat_tv_ns(&ru.ru_stime);
	}
	output_fill_heartbeat(a, &hb);
	return agent_emit(a, TM_KIND_HEARTBEAT, &hb);
}

static void
heartbeat_cb(uv_timer_t *t)
{
	struct heartbeat	*hb = t->data;

	if (heartbeat_emit(hb->a) == -1)
		log_warnx("heartbeat: not emitted");
}

/*
 * Start beating every a->cfg.heartbeat_interval (0 disables: returns NULL).
 * The first beat comes one interval after start.
 */
struct heartbeat *
heartbeat_start(struct agent *a)
{
	struct heartbeat	*hb;
	uint64_t		 ms = a->cfg.heartbeat_interval / 1000000;

	if (ms == 0)
		return NULL;
	hb = xcalloc(1, sizeof *hb);
	hb->a = a;
	uv_timer_init(a->loop, &hb->timer);
	hb->timer.data = hb;
	uv_timer_start(&hb->timer, heartbeat_cb, ms, ms);
	return hb;
}

static void
heartbeat_free_cb(uv_handle_t *h)
{
	free(h->data);
}

void
heartbeat_stop(struct heartbeat *hb)
{
	if (hb == NULL)
		return;
	uv_timer_stop(&hb->timer);
	uv_close((uv_handle_t *)&hb->timer, heartbeat_free_cb);
}
