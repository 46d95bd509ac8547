/*
 * agent-produce.c: a test aid (not installed) that drives the agent's real
 * output stack -- agent_emit, sequence, spool, producer, heartbeat -- with
 * synthetic but schema-valid records at a steady rate, independent of
 * Docker and containerd.  The integration tests and bench/produce.sh use it
 * where they need "records flowing" without containers.
 *
 *   agent-produce [-c FILE] [-o KEY=VALUE]... [-r RATE] [-n COUNT] [-x]
 *                 [-m MIX] [-q]
 *
 *   -c FILE   agent configuration file (the agent's own table)
 *   -o K=V    set one key (after the file): output, kafka.brokers, ...
 *   -r RATE   records per second (default 100; 0 = as fast as the spool
 *             takes them, in batches per loop turn)
 *   -n COUNT  stop producing after COUNT records (default: until SIGTERM;
 *             0: produce nothing, only send what the spool holds)
 *   -x        exit (drain, as on SIGTERM) once COUNT records were produced
 *             and the spool holds nothing unacknowledged
 *   -m MIX    record kinds, e.g. "container,event,image" (default
 *             container,event): each record cycles through the list
 *             (up to 32 kinds: repeat one to make it more frequent)
 *   -P N      packages per image record (default 400)
 *
 * SIGTERM and SIGINT drain like the agent (output_close) and exit 0.  On
 * exit it prints the counters to stderr as "agent-produce: records=N
 * spooled=N acked=N dropped=N".
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

#define PRODUCE_BATCH_MAX	1000

struct produce {
	struct agent	 a;
	uint64_t	 rate;
	uint64_t	 count;		/* UINT64_MAX = no limit */
	uint64_t	 made;
	bool		 exit_when_done;
	enum tm_kind	 mix[32];
	size_t		 nmix;
	size_t		 npkgs;
	uv_timer_t	 timer;
	uv_timer_t	 watch;		/* -x: waits for acknowledgements */
	uint64_t	 start_ns;
};

/* A container snapshot with what a real one carries. */
static int
produce_container(struct produce *pr, uint64_t i)
{
	struct tm_container	 c;
	struct tm_process	 procs[6];
	struct tm_mount		 mnts[3];
	struct tm_kv		 labels[8];
	char			 id[65], name[64], lk[8][48], lv[8][64];
	char			*cmd[] = { (char *)"/usr/sbin/nginx", (char *)"-g", (char *)"daemon off;" };
	char			*args[6][3];
	char			*capadd[] = { (char *)"NET_ADMIN" };
	size_t			 k;

	memset(&c, 0, sizeof c);
	snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64
	    "%016" PRIx64, i, i * 7919, i * 104729, i ^ (uint64_t)0x5a5a5a5a);
	snprintf(name, sizeof name, "web-%" PRIu64, i);
	c.runtime = (char *)"docker";
	c.ns = (char *)"moby";
	c.id = id;
	c.name = name;
	c.image_ref = (char *)"registry.example.com/team/nginx:1.25.3";
	c.image_id = (char *)"sha256:4f4c9a1a2b7d0e8f63c5b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f70";
	c.image_digest = (char *)"registry.example.com/team/nginx@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
	c.image_key = c.image_id;
	c.cmd = cmd;
	c.n_cmd = 3;
	c.user = (char *)"101:101";
	c.state = (char *)"running";
	c.trigger = (char *)"start";
	c.created_ns = now_ns() - 2000000000ull;
	c.started_ns = now_ns() - 1000000000ull;
	c.pid = 10000 + i % 50000;
	for (k = 0; k < 8; k++) {
		snprintf(lk[k], sizeof lk[k], "com.example.label-%zu", k);
		snprintf(lv[k], sizeof lv[k], "value-%zu-%" PRIu64, k, i);
		labels[k].k = lk[k];
		labels[k].v = lv[k];
	}
	c.labels = labels;
	c.n_labels = 8;
	c.risks.cap_add = capadd;
	c.risks.n_cap_add = 1;
	memset(mnts, 0, sizeof mnts);
	mnts[0].source = (char *)"/srv/www";
	mnts[0].dest = (char *)"/usr/share/nginx/html";
	mnts[0].type = (char *)"bind";
	mnts[0].ro = true;
	mnts[0].propagation = (char *)"rprivate";
	mnts[1].source = (char *)"/var/lib/docker/volumes/cache/_data";
	mnts[1].dest = (char *)"/var/cache/nginx";
	mnts[1].type = (char *)"volume";
	mnts[2].dest = (char *)"/tmp";
	mnts[2].type = (char *)"tmpfs";
	c.risks.mounts = mnts;
	c.risks.n_mounts = 3;
	c.risks.seccomp = (char *)"default";
	c.risks.apparmor = (char *)"docker-default";
	c.risks.mem_limit = 268435456;
	c.risks.pids_limit = 512;
	c.risks.restart = (char *)"unless-stopped";
	memset(procs, 0, sizeof procs);
	for (k = 0; k < 6; k++) {
		procs[k].pid = c.pid + k;
		procs[k].ppid = k == 0 ? 1 : c.pid;
		procs[k].uid = k == 0 ? 0 : 101;
		procs[k].gid = procs[k].uid;
		procs[k].host_uid = procs[k].uid;
		procs[k].host_gid = procs[k].gid;
		procs[k].comm = (char *)"nginx";
		procs[k].exe = (char *)"/usr/sbin/nginx";
		args[k][0] = (char *)"nginx:";
		args[k][1] = k == 0 ? (char *)"master" : (char *)"worker";
		args[k][2] = (char *)"process";
		procs[k].args = args[k];
		procs[k].n_args = 3;
		procs[k].start_ns = c.started_ns + k * 1000000ull;
		procs[k].sha256 = (char *)"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	}
	c.procs = procs;
	c.n_procs = 6;
	return agent_emit(&pr->a, TM_KIND_CONTAINER, &c);
}

static int
produce_event(struct produce *pr, uint64_t i)
{
	struct tm_event	e;
	char		id[65];
	static const char *const acts[] = { (char *)"create", (char *)"start", (char *)"exit", (char *)"delete" };

	memset(&e, 0, sizeof e);
	snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64
	    "%016" PRIx64, i / 4, i * 31, i * 131, i ^ (uint64_t)0xa5a5);
	e.runtime = (char *)"containerd";
	e.ns = (char *)"default";
	e.id = id;
	e.action = (char *)acts[i % 4];
	e.time_ns = now_ns();
	e.image = (char *)"docker.io/library/busybox:1.36";
	e.pid = 20000 + i % 10000;
	if (i % 4 == 2) {
		e.has_exit_code = true;
		e.exit_code = 0;
	}
	return agent_emit(&pr->a, TM_KIND_EVENT, &e);
}

/* An image inventory the size of a small Debian image. */
static int
produce_image(struct produce *pr, uint64_t i)
{
	struct tm_image		 im;
	struct tm_package	*pk;
	char			 key[80], (*names)[48], (*vers)[32];
	char			*refs[] = { (char *)"docker.io/library/debian:12" };
	size_t			 k, n = pr->npkgs;
	int			 rc;

	memset(&im, 0, sizeof im);
	pk = xcalloc(n ? n : 1, sizeof *pk);
	names = xcalloc(n ? n : 1, sizeof *names);
	vers = xcalloc(n ? n : 1, sizeof *vers);
	snprintf(key, sizeof key, "sha256:%016" PRIx64 "%048" PRIx64, i, i * 3);
	im.key = key;
	im.image_id = key;
	im.refs = refs;
	im.n_refs = 1;
	im.os_id = (char *)"debian";
	im.os_version = (char *)"12";
	im.os_codename = (char *)"bookworm";
	im.os_pretty = (char *)"Debian GNU/Linux 12 (bookworm)";
	for (k = 0; k < n; k++) {
		snprintf(names[k], sizeof names[k], "lib%s%zu-%zu",
		    k % 3 == 0 ? "ssl" : k % 3 == 1 ? "gcc-s" : "systemd", k, k % 7);
		snprintf(vers[k], sizeof vers[k], "%zu.%zu.%zu-%zu+deb12u%zu",
		    k % 5 + 1, k % 17, k % 29, k % 4 + 1, k % 3);
		pk[k].ecosystem = (char *)"dpkg";
		pk[k].name = names[k];
		pk[k].version = vers[k];
		pk[k].arch = (char *)"amd64";
		pk[k].source_name = names[k];
		pk[k].source_version = vers[k];
	}
	im.packages = pk;
	im.n_packages = n;
	im.scan_ns = 12000000;
	rc = agent_emit(&pr->a, TM_KIND_IMAGE, &im);
	free(pk);
	free(names);
	free(vers);
	return rc;
}

static int
produce_one(struct produce *pr)
{
	uint64_t	i = pr->made++;

	switch (pr->mix[i % pr->nmix]) {
	case TM_KIND_IMAGE:
		return produce_image(pr, i);
	case TM_KIND_EVENT:
		return produce_event(pr, i);
	default:
		return produce_container(pr, i);
	}
}

static void
produce_done(struct agent *a)
{
	uv_stop(a->loop);
}

static void
produce_stop(struct produce *pr)
{
	uv_timer_stop(&pr->timer);
	uv_timer_stop(&pr->watch);
	output_close(&pr->a, produce_done);
}

/* -x: every record produced is acknowledged or dropped. */
static void
produce_watch_cb(uv_timer_t *t)
{
	struct produce		*pr = t->data;
	struct tm_heartbeat	 hb;

	memset(&hb, 0, sizeof hb);
	output_fill_heartbeat(&pr->a, &hb);
	if (pr->made >= pr->count && hb.spool_records == 0)
		produce_stop(pr);
}

/*
 * Emit what the rate allows since the start (so timer jitter does not
 * lower the rate), at most PRODUCE_BATCH_MAX per turn.
 */
static void
produce_tick(uv_timer_t *t)
{
	struct produce	*pr = t->data;
	uint64_t	 due, n = 0;

	if (pr->rate == 0)
		due = pr->made + PRODUCE_BATCH_MAX;
	else
		due = (mono_ns() - pr->start_ns) / 1000 * pr->rate / 1000000 + 1;
	while (pr->made < due && n < PRODUCE_BATCH_MAX &&
	    pr->made < pr->count) {
		if (produce_one(pr) == -1)
			log_warnx("agent-produce: record %" PRIu64 " not emitted",
			    pr->made - 1);
		n++;
	}
	if (pr->made >= pr->count) {
		uv_timer_stop(&pr->timer);
		log_info("agent-produce: %" PRIu64 " records produced", pr->made);
	}
}

static void
produce_signal(uv_signal_t *s, int signum)
{
	struct produce	*pr = s->data;

	log_info("agent-produce: signal %d: draining", signum);
	uv_signal_stop(&pr->a.sig_term);
	uv_signal_stop(&pr->a.sig_int);
	produce_stop(pr);
}

static int
produce_mix(struct produce *pr, const char *spec)
{
	char	**list;
	size_t	  n, i;
	enum tm_kind k;

	list = cfg_list_split(spec, &n);
	pr->nmix = 0;
	for (i = 0; i < n && pr->nmix < TM_NELEM(pr->mix); i++) {
		k = tm_kind_from_name(list[i], strlen(list[i]));
		if (k != TM_KIND_CONTAINER && k != TM_KIND_EVENT &&
		    k != TM_KIND_IMAGE) {
			cfg_list_free(list);
			return -1;
		}
		pr->mix[pr->nmix++] = k;
	}
	cfg_list_free(list);
	return pr->nmix > 0 ? 0 : -1;
}

static void
produce_close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int
main(int argc, char **argv)
{
	static struct produce	 pr;
	struct agent		*a = &pr.a;
	char			 err[512], *eq;
	const char		*cfgfile = NULL;
	enum log_level		 lv = LOG_LEVEL_INFO;
	int			 ch;
	char			**sets = NULL;
	size_t			 nsets = 0, i;

	log_init("agent-produce", lv);
	pr.rate = 100;
	pr.count = UINT64_MAX;
	pr.npkgs = 400;
	produce_mix(&pr, "container,event");
	while ((ch = getopt(argc, argv, "c:o:r:n:xm:P:q")) != -1) {
		switch (ch) {
		case 'c':
			cfgfile = optarg;
			break;
		case 'o':
			sets = xreallocarray(sets, nsets + 1, sizeof *sets);
			sets[nsets++] = optarg;
			break;
		case 'r':
			pr.rate = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			pr.count = strtoull(optarg, NULL, 10);
			break;
		case 'x':
			pr.exit_when_done = true;
			break;
		case 'm':
			if (produce_mix(&pr, optarg) == -1)
				fatalx("agent-produce: bad mix %s", optarg);
			break;
		case 'P':
			pr.npkgs = strtoull(optarg, NULL, 10);
			break;
		case 'q':
			lv = LOG_LEVEL_WARN;
			break;
		default:
			fprintf(stderr, "usage: agent-produce [-c FILE] "
			    "[-o KEY=VALUE]... [-r RATE] [-n COUNT] [-x] "
			    "[-m MIX] [-P N] [-q]\n");
			return 2;
		}
	}
	log_set_level(lv);
	if (cfg_defaults(agent_config_table, agent_config_table_len, &a->cfg) == -1)
		fatalx("agent-produce: bad defaults");
	if (cfgfile != NULL && cfg_load_file(agent_config_table,
	    agent_config_table_len, &a->cfg, cfgfile, err, sizeof err) == -1)
		fatalx("agent-produce: %s", err);
	for (i = 0; i < nsets; i++) {
		char	*kv = xstrdup(sets[i]);

		if ((eq = strchr(kv, '=')) == NULL)
			fatalx("agent-produce: -o %s: KEY=VALUE expected", kv);
		*eq = '\0';
		if (cfg_set(agent_config_table, agent_config_table_len, &a->cfg,
		    kv, eq + 1, err, sizeof err) == -1)
			fatalx("agent-produce: -o %s", err);
		free(kv);
	}
	free(sets);
	a->loop = uv_default_loop();
	a->start_mono_ns = mono_ns();
	if (output_open(a, a->cfg.output) == -1)
		fatalx("agent-produce: output");
	uv_signal_init(a->loop, &a->sig_term);
	uv_signal_init(a->loop, &a->sig_int);
	a->sig_term.data = a->sig_int.data = &pr;
	uv_signal_start(&a->sig_term, produce_signal, SIGTERM);
	uv_signal_start(&a->sig_int, produce_signal, SIGINT);
	uv_timer_init(a->loop, &pr.timer);
	uv_timer_init(a->loop, &pr.watch);
	pr.timer.data = pr.watch.data = &pr;
	pr.start_ns = mono_ns();
	uv_timer_start(&pr.timer, produce_tick, 0,
	    pr.rate == 0 || pr.rate >= 1000 ? 1 : 1000 / pr.rate);
	if (pr.exit_when_done)
		uv_timer_start(&pr.watch, produce_watch_cb, 50, 50);
	uv_run(a->loop, UV_RUN_DEFAULT);
	fprintf(stderr, "agent-produce: records=%" PRIu64 " spooled=%" PRIu64
	    " acked=%" PRIu64 " dropped=%" PRIu64 "\n", a->stats.records,
	    a->stats.spooled, a->stats.acked, a->stats.dropped);
	uv_walk(a->loop, produce_close_walk, NULL);
	uv_run(a->loop, UV_RUN_DEFAULT);
	uv_loop_close(a->loop);
	cfg_free(agent_config_table, agent_config_table_len, &a->cfg);
	return 0;
}
