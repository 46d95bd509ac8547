/*
 * fleet-gen.c: a simulated fleet's inventory, produced to Kafka as fast as
 * librdkafka takes it, for the collector's ingest benchmark
 * (bench/ingest.sh).  Every record is what an agent sends: encoded with the
 * shared codec (tm_encode, tm_split), one envelope per message, keyed by
 * host id, each host with its own increasing sequence from 1.
 *
 *   fleet-gen -b BROKERS [-t TOPIC] [-n HOSTS] [-m MINUTES] [-i IMAGES]
 *             [-j JOBS-PER-HOUR] [-e EXECS-PER-HOUR] [-S SEED] [-q]
 *   fleet-gen -F FILE [-c] [-A ADVISORIES] [-i IMAGES] [-S SEED]
 *
 * The first form produces; it prints one line per record kind and a total
 * ("fleet-gen: total N records ..."), the numbers bench/ingest.sh waits
 * for.  The second writes an OSV feed (one JSON array) about the source
 * packages of the same fleet (same -i and -S): about half of the
 * advisories an image meets affect it; -c writes the changed feed (one in
 * ten gets a later fix, one in twenty is withdrawn), for the re-evaluation
 * figure.
 *
 * The mix: the first MINUTES (default 15) after the agents of HOSTS hosts
 * (default 10 000) started, which is when a fleet sends the most -- the
 * case of a collector catching up after an outage or a roll-out.  In ticks
 * of 30 s (the agent's default heartbeat.interval), interleaved across
 * hosts as their partitions would hold them:
 *
 *   - host facts, once per host at its start;
 *   - one heartbeat per tick;
 *   - 3 to 12 long-running containers found at start (snapshot why=list),
 *     from 2 to 6 images of the fleet's catalog of IMAGES (default 40),
 *     picked with a skew (a fleet runs few distinct images, some of them
 *     everywhere): the image inventory goes once per image per host, as the
 *     agent's cache sends it, with 100 to 400 dpkg packages (Debian 12; a
 *     base of about 90 packages in every image, the rest from a universe
 *     of 4000 source packages with 1 to 3 binaries each);
 *   - jobs (JOBS-PER-HOUR per host, default 24): events create, start,
 *     snapshot why=start, then 0 to 2 min later exit and its snapshot, and
 *     delete for most; one in ten lives under 100 ms (events and one exit
 *     snapshot, processes missed);
 *   - execs into a long-running container (EXECS-PER-HOUR per host,
 *     default 6): an exec event and snapshot, and for two in five a drift
 *     record of 1 to 3 files added in the writable layer.
 *
 * Snapshots carry realistic risks (seccomp and AppArmor defaults, a few
 * privileged, host network or Docker socket mounts, limits set on most,
 * capability sets) and 3 to 10 processes with command lines and
 * executable hashes; Docker hosts and Kubernetes (containerd) hosts are
 * 60:40.  With the defaults a host sends about 80 records in the window:
 * heartbeats about 35 %, events 30 %, snapshots 25 %, images 6 %.
 *
 * Everything is drawn from a seeded generator: the same options give the
 * same records (but for send and receive times).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/common.h"
#include "schema/schema.h"

#define FG_TICK_NS	(30ULL * 1000000000ULL)
#define FG_NSRC		4000	/* source packages in the universe */
#define FG_BASE_SRC	45	/* sources of the base image (every image) */
#define FG_LONG_MAX	12	/* long-running containers per host */
#define FG_HOST_IMG_MAX	6
#define FG_JOBS_MAX	16	/* jobs running at once per host */
#define FG_PROCS_MAX	11	/* 10 and an exec'd shell */
#define FG_ARGS_MAX	4

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t
fg_rnd64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint64_t
fg_rnd(uint64_t *s, uint64_t n)
{
	return n ? fg_rnd64(s) % n : 0;
}

/* 1 with probability pct percent. */
static int
fg_pct(uint64_t *s, unsigned pct)
{
	return fg_rnd(s, 100) < pct;
}

/* ---------------------------------------------------------------------- */
/* The package universe and the image catalog */

struct fg_src {
	char		 name[24];
	char		 ver[40];
	unsigned	 epoch, major, minor, patch, rev;
	int		 nbin;
	size_t		 bin0;		/* first binary in fg.bins */
};

struct fg_bin {
	char		 name[40];
	const char	*arch;
	size_t		 src;
};

struct fg_image {
	char		 key[72];
	char		 ref[96];
	char		*refs[1];
	const struct fg_profile *prof;
	struct tm_package *pkgs;
	size_t		 npkgs;
};

/* What runs in containers of an image. */
struct fg_profile {
	const char	*app;		/* image name */
	const char	*comm[3];	/* main, worker, helper */
	const char	*exe[3];
	const char	*args[3][FG_ARGS_MAX];
	unsigned	 uid;
	char		 sha[3][65];
};

static struct fg_profile fg_profiles[] = {
	{ "nginx", { "nginx", "nginx", "sh" },
	  { "/usr/sbin/nginx", "/usr/sbin/nginx", "/bin/sh" },
	  { { "nginx: master process", "/usr/sbin/nginx", "-g",
	      "daemon off;" }, { "nginx: worker process" },
	    { "/bin/sh", "-c", "/docker-entrypoint.sh" } }, 101, { "" } },
	{ "api-java", { "java", "java", "tini" },
	  { "/opt/java/openjdk/bin/java", "/opt/java/openjdk/bin/java",
	    "/usr/bin/tini" },
	  { { "java", "-Xmx1g", "-jar", "/app/service.jar" },
	    { "java", "-XX:+UseG1GC", "-jar", "/app/worker.jar" },
	    { "/usr/bin/tini", "--", "/app/run.sh" } }, 1000, { "" } },
	{ "web-python", { "gunicorn", "gunicorn", "python3" },
	  { "/usr/local/bin/python3.11", "/usr/local/bin/python3.11",
	    "/usr/local/bin/python3.11" },
	  { { "/usr/local/bin/gunicorn", "-w", "4", "app:app" },
	    { "gunicorn: worker [app:app]" },
	    { "python3", "/app/manage.py", "rqworker" } }, 1000, { "" } },
	{ "frontend-node", { "node", "node", "npm" },
	  { "/usr/local/bin/node", "/usr/local/bin/node", "/usr/local/bin/node" },
	  { { "node", "/app/server.js" }, { "node", "/app/worker.js" },
	    { "npm", "run", "start" } }, 1000, { "" } },
	{ "postgres", { "postgres", "postgres", "bash" },
	  { "/usr/lib/postgresql/15/bin/postgres",
	    "/usr/lib/postgresql/15/bin/postgres", "/bin/bash" },
	  { { "postgres", "-c", "config_file=/etc/postgresql/postgresql.conf" },
	    { "postgres: checkpointer" },
	    { "bash", "/usr/local/bin/docker-entrypoint.sh", "postgres" } },
	  999, { "" } },
	{ "redis", { "redis-server", "redis-server", "sh" },
	  { "/usr/local/bin/redis-server", "/usr/local/bin/redis-server",
	    "/bin/sh" },
	  { { "redis-server *:6379" }, { "redis-server *:6379" },
	    { "/bin/sh", "-c", "redis-cli ping" } }, 999, { "" } },
	{ "envoy", { "envoy", "envoy", "pilot-agent" },
	  { "/usr/local/bin/envoy", "/usr/local/bin/envoy",
	    "/usr/local/bin/pilot-agent" },
	  { { "envoy", "-c", "/etc/envoy/envoy.yaml" },
	    { "envoy", "--concurrency", "2" },
	    { "pilot-agent", "proxy", "sidecar" } }, 1337, { "" } },
	{ "batch-go", { "batch", "batch", "sh" },
	  { "/usr/local/bin/batch", "/usr/local/bin/batch", "/bin/sh" },
	  { { "/usr/local/bin/batch", "--queue", "reports" },
	    { "/usr/local/bin/batch", "--worker" },
	    { "/bin/sh", "-c", "batch --once" } }, 0, { "" } },
};

static const char *const fg_syl[] = {
	"ac", "al", "ar", "ba", "be", "bi", "ca", "co", "da", "de", "el", "en",
	"fa", "fi", "ga", "gi", "ha", "in", "ja", "ka", "la", "li", "lo", "ma",
	"me", "mi", "mo", "na", "ne", "no", "or", "pa", "pe", "pi", "ra", "re",
	"ri", "ro", "sa", "se", "si", "so", "ta", "te", "ti", "to", "un", "va",
	"ve", "xi", "ze",
};
#define FG_NSYL	51	/* 51^3 names: more than FG_NSRC */

static const char *const fg_caps_default[] = {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW",
	"SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE",
	"SYS_CHROOT", "KILL", "AUDIT_WRITE",
};

struct fg_universe {
	struct fg_src	*srcs;
	struct fg_bin	*bins;
	size_t		 nbins;
	struct fg_image	*imgs;
	size_t		 nimgs;
};

static void
fg_universe_make(struct fg_universe *u, size_t nimgs, uint64_t seed)
{
	uint64_t	 r = seed ^ 0x9e3779b97f4a7c15ULL;
	size_t		 i, k, cap = FG_NSRC * 3;
	unsigned char	*used;

	u->srcs = xcalloc(FG_NSRC, sizeof *u->srcs);
	u->bins = xcalloc(cap, sizeof *u->bins);
	u->nbins = 0;
	for (i = 0; i < FG_NSRC; i++) {
		struct fg_src	*s = &u->srcs[i];
		size_t		 j = (i * 7919 + 13) % (FG_NSYL * FG_NSYL * FG_NSYL);

		snprintf(s->name, sizeof s->name, "%s%s%s", fg_syl[j % FG_NSYL],
		    fg_syl[j / FG_NSYL % FG_NSYL],
		    fg_syl[j / (FG_NSYL * FG_NSYL)]);
		s->epoch = fg_pct(&r, 8) ? 1 : 0;
		s->major = 1 + (unsigned)fg_rnd(&r, 9);
		s->minor = (unsigned)fg_rnd(&r, 21);
		s->patch = (unsigned)fg_rnd(&r, 31);
		s->rev = 1 + (unsigned)fg_rnd(&r, 5);
		if (fg_pct(&r, 30))
			snprintf(s->ver, sizeof s->ver, "%s%u.%u.%u-%u+deb12u%u",
			    s->epoch ? "1:" : "", s->major, s->minor, s->patch,
			    s->rev, 1 + (unsigned)fg_rnd(&r, 4));
		else
			snprintf(s->ver, sizeof s->ver, "%s%u.%u.%u-%u",
			    s->epoch ? "1:" : "", s->major, s->minor, s->patch,
			    s->rev);
		s->nbin = 1 + (int)fg_rnd(&r, 3);
		s->bin0 = u->nbins;
		for (k = 0; k < (size_t)s->nbin; k++) {
			struct fg_bin *b = &u->bins[u->nbins++];

			b->src = i;
			b->arch = "amd64";
			if (k == 0)
				snprintf(b->name, sizeof b->name, "%s", s->name);
			else if (k == 1)
				snprintf(b->name, sizeof b->name, "lib%s%u",
				    s->name, s->major);
			else {
				snprintf(b->name, sizeof b->name, "%s-common",
				    s->name);
				b->arch = "all";
			}
		}
	}
	u->nimgs = nimgs;
	u->imgs = xcalloc(nimgs, sizeof *u->imgs);
	used = xcalloc(u->nbins, 1);
	for (i = 0; i < nimgs; i++) {
		struct fg_image		*im = &u->imgs[i];
		size_t			 want = 100 + fg_rnd(&r, 301), base, n = 0;
		uint8_t			 d[32];
		struct sha256_ctx	 c;

		im->prof = &fg_profiles[i % TM_NELEM(fg_profiles)];
		sha256_init(&c);
		sha256_update(&c, &i, sizeof i);
		sha256_update(&c, &seed, sizeof seed);
		sha256_final(&c, d);
		memcpy(im->key, "sha256:", 7);
		sha256_hex(d, im->key + 7);
		snprintf(im->ref, sizeof im->ref,
		    "registry.example.com/team/%s-%zu:1.%u.%u", im->prof->app,
		    i / TM_NELEM(fg_profiles), (unsigned)fg_rnd(&r, 30),
		    (unsigned)fg_rnd(&r, 10));
		im->refs[0] = im->ref;
		memset(used, 0, u->nbins);
		base = u->srcs[FG_BASE_SRC].bin0;	/* binaries of the base */
		im->pkgs = xcalloc(want > base ? want : base, sizeof *im->pkgs);
		for (k = 0; k < base; k++)
			used[k] = 1;
		while (base + n < want) {
			k = base + fg_rnd(&r, u->nbins - base);
			if (!used[k]) {
				used[k] = 1;
				n++;
			}
		}
		/* In name order, as dpkg's status file has them. */
		for (k = 0; k < u->nbins; k++) {
			struct tm_package	*p;
			const struct fg_bin	*b = &u->bins[k];
			const struct fg_src	*s = &u->srcs[b->src];

			if (!used[k])
				continue;
			p = &im->pkgs[im->npkgs++];
			p->ecosystem = (char *)"dpkg";
			p->name = (char *)b->name;
			p->version = (char *)s->ver;
			p->arch = (char *)b->arch;
			p->source_name = (char *)s->name;
			p->source_version = (char *)s->ver;
		}
	}
	free(used);
	for (i = 0; i < TM_NELEM(fg_profiles); i++)
		for (k = 0; k < 3; k++) {
			struct sha256_ctx	c;
			uint8_t			d[32];

			sha256_init(&c);
			sha256_update(&c, fg_profiles[i].exe[k],
			    strlen(fg_profiles[i].exe[k]));
			sha256_update(&c, &i, sizeof i);
			sha256_final(&c, d);
			sha256_hex(d, fg_profiles[i].sha[k]);
		}
}

static void
fg_universe_free(struct fg_universe *u)
{
	size_t i;

	for (i = 0; i < u->nimgs; i++)
		free(u->imgs[i].pkgs);
	free(u->imgs);
	free(u->bins);
	free(u->srcs);
}

/* ---------------------------------------------------------------------- */
/* The OSV feed about the universe's source packages */

/*
 * Advisory i is about source (i * 2654435761) % FG_NSRC; it affects the
 * installed version when its fix is the next Debian revision (half of
 * them), and does not when the fix is the installed revision.  changed: one
 * in ten gets a later fix (affecting), one in twenty is withdrawn.
 */
static int
fg_feed(const struct fg_universe *u, const char *path, size_t nadv,
    int changed)
{
	FILE	*fp;
	size_t	 i;
	char	 tmp[4096];

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("fleet-gen: %s", tmp);
		return -1;
	}
	fputc('[', fp);
	for (i = 0; i < nadv; i++) {
		const struct fg_src *s = &u->srcs[(i * 2654435761ULL) % FG_NSRC];
		unsigned rev = s->rev + (i % 2 == 0 ? 1 : 0);
		const char *sev = i % 3 == 0 ? "C:H/I:H/A:H" : i % 3 == 1 ?
		    "C:L/I:N/A:N" : "C:H/I:N/A:N";

		if (i > 0)
			fputc(',', fp);
		if (changed && i % 20 == 0) {
			fprintf(fp, "{\"id\":\"FLEET-%zu\",\"modified\":"
			    "\"2025-01-02T00:00:00Z\",\"withdrawn\":"
			    "\"2025-01-02T00:00:00Z\"}", i);
			continue;
		}
		if (changed && i % 10 == 1)
			rev = s->rev + 2;
		fprintf(fp, "{\"id\":\"FLEET-%zu\",\"modified\":\"%s\","
		    "\"aliases\":[\"CVE-2099-%zu\"],\"summary\":\"%s: a flaw "
		    "in %s\",\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
		    "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/%s\"}],\"affected\":"
		    "[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"%s\"},"
		    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{"
		    "\"introduced\":\"0\"},{\"fixed\":\"%s%u.%u.%u-%u\"}]}]}]}",
		    i, changed && i % 10 == 1 ? "2025-01-02T00:00:00Z" :
		    "2025-01-01T00:00:00Z", 10000 + i, s->name, s->name, sev,
		    s->name, s->epoch ? "1:" : "", s->major, s->minor, s->patch,
		    rev);
	}
	fputs("]\n", fp);
	if (fclose(fp) != 0 || rename(tmp, path) == -1) {
		log_warn("fleet-gen: %s", path);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Hosts */

struct fg_ctr {
	char		 id[65];
	char		 name[64];
	size_t		 img;
	uint64_t	 created_ns, started_ns;
	uint64_t	 pid;
	unsigned	 nprocs;
	unsigned	 execs;
	uint64_t	 ends_tick;	/* jobs: when it exits */
	int		 short_lived;
	/* risks, drawn once per container */
	bool		 priv, hnet, hpid, dsock, ro, nnp, health, root;
	bool		 caps;
	const char	*capadd;
	const char	*seccomp;
	int64_t		 mem, cpus, pids;
	const char	*restart;
	unsigned	 nmounts;
};

struct fg_host {
	char		 id[40];
	char		 name[64];
	uint64_t	 seq;
	uint64_t	 rnd;
	int		 k8s;
	size_t		 img[FG_HOST_IMG_MAX];
	size_t		 nimg;
	uint64_t	 img_sent;	/* bit per img[] */
	struct fg_ctr	 lng[FG_LONG_MAX];
	size_t		 nlong;
	struct fg_ctr	 jobs[FG_JOBS_MAX];
	size_t		 njobs;
	uint64_t	 nctr;		/* containers made */
	uint64_t	 records, events, snaps, scans;
	uint64_t	 boot_ns;
};

struct fg {
	rd_kafka_t		*rk;
	rd_kafka_topic_t	*rkt;
	struct fg_universe	 u;
	struct fg_host		*hosts;
	size_t			 nhosts;
	uint64_t		 t0;
	unsigned		 jobs_ph, execs_ph;
	msgpack_sbuffer		 sb;
	uint64_t		 n[TM_KIND_MAX], bytes[TM_KIND_MAX];
	uint64_t		 produced, delivered, failed;
	int			 quiet;
};

static void
fg_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct fg *g = opaque;

	if (m->err)
		g->failed++;
	else
		g->delivered++;
}

static int
fg_emit_part(const void *part, size_t len, void *arg)
{
	struct fg	*g = ((void **)arg)[0];
	const char	*key = ((void **)arg)[1];

	while (rd_kafka_produce(g->rkt, RD_KAFKA_PARTITION_UA,
	    RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)part, len, key,
	    strlen(key), NULL) == -1) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return -1;
		rd_kafka_poll(g->rk, 10);
	}
	g->produced++;
	return 0;
}

/* Envelope, encode, split, produce: what the agent's output does. */
static void
fg_send(struct fg *g, struct fg_host *h, struct tm_record *rec, uint64_t t)
{
	void *arg[2] = { g, h->id };

	rec->version = TM_SCHEMA_MAJOR;
	rec->host_id = h->id;
	rec->seq = ++h->seq;
	rec->sent_ns = t;
	g->sb.size = 0;
	if (tm_encode(rec, &g->sb) == -1)
		fatalx("fleet-gen: a %s record does not encode",
		    tm_kind_name(rec->kind));
	if (tm_split(g->sb.data, g->sb.size, fg_emit_part, arg) == -1)
		fatalx("fleet-gen: produce: %s",
		    rd_kafka_err2str(rd_kafka_last_error()));
	g->n[rec->kind]++;
	g->bytes[rec->kind] += g->sb.size;
	h->records++;
	rd_kafka_poll(g->rk, 0);
}

static void
fg_host_facts(struct fg *g, struct fg_host *h, uint64_t t)
{
	struct tm_record	 rec;
	struct tm_host		*f = &rec.body.host;
	int			 ubuntu = fg_pct(&h->rnd, 30);

	memset(&rec, 0, sizeof rec);
	rec.kind = TM_KIND_HOST;
	f->hostname = h->name;
	f->os_id = ubuntu ? (char *)"ubuntu" : (char *)"debian";
	f->os_version = ubuntu ? (char *)"22.04" : (char *)"12";
	f->os_pretty = ubuntu ? (char *)"Ubuntu 22.04.4 LTS" :
	    (char *)"Debian GNU/Linux 12 (bookworm)";
	f->kernel = ubuntu ? (char *)"5.15.0-105-generic" :
	    (char *)"6.1.0-18-amd64";
	f->arch = fg_pct(&h->rnd, 10) ? (char *)"aarch64" : (char *)"x86_64";
	f->agent_version = (char *)PACKAGE_VERSION;
	if (!h->k8s)
		f->docker_version = (char *)"24.0.7";
	f->containerd_version = (char *)"1.6.20";
	f->boot_ns = h->boot_ns;
	f->ncpu = 8ULL << fg_rnd(&h->rnd, 4);
	f->mem_bytes = f->ncpu * 4ULL * 1024 * 1024 * 1024;
	fg_send(g, h, &rec, t);
}

static void
fg_heartbeat(struct fg *g, struct fg_host *h, uint64_t t)
{
	struct tm_record	 rec;
	struct tm_heartbeat	*b = &rec.body.heartbeat;

	memset(&rec, 0, sizeof rec);
	rec.kind = TM_KIND_HEARTBEAT;
	b->interval_ns = FG_TICK_NS;
	b->uptime_ns = t - (g->t0 - 1000000000ULL);
	b->events = h->events;
	b->snapshots = h->snaps;
	b->containers = h->nlong + h->njobs;
	b->image_scans = h->scans;
	b->image_cache_hits = h->snaps > h->scans ? h->snaps - h->scans : 0;
	b->records = h->records + 1;
	b->spooled = h->records + 1;
	b->acked = h->records;
	b->spool_bytes = 65536 + 512 * fg_rnd(&h->rnd, 64);
	b->spool_records = 1;
	b->rss_bytes = (12ULL << 20) + (fg_rnd(&h->rnd, 4096) << 10);
	b->cpu_user_ns = b->uptime_ns / 2000;
	b->cpu_sys_ns = b->uptime_ns / 4000;
	b->kafka_rtt_us = 300 + fg_rnd(&h->rnd, 2000);
	fg_send(g, h, &rec, t);
}

static void
fg_image(struct fg *g, struct fg_host *h, size_t slot, uint64_t t)
{
	struct tm_record	 rec;
	struct tm_image		*im = &rec.body.image;
	struct fg_image		*fi = &g->u.imgs[h->img[slot]];

	if (h->img_sent & (1ULL << slot))
		return;
	h->img_sent |= 1ULL << slot;
	h->scans++;
	memset(&rec, 0, sizeof rec);
	rec.kind = TM_KIND_IMAGE;
	im->key = fi->key;
	im->image_id = fi->key;
	im->refs = fi->refs;
	im->n_refs = 1;
	im->os_id = (char *)"debian";
	im->os_version = (char *)"12";
	im->os_codename = (char *)"bookworm";
	im->os_pretty = (char *)"Debian GNU/Linux 12 (bookworm)";
	im->packages = fi->pkgs;
	im->n_packages = fi->npkgs;
	im->scan_ns = 1000000 + fi->npkgs * 8000 + fg_rnd(&h->rnd, 500000);
	fg_send(g, h, &rec, t);
}

/* A new container of host slot img, its risks drawn. */
static void
fg_ctr_new(struct fg_host *h, struct fg_ctr *c, size_t slot, uint64_t t,
    const char *kind)
{
	uint64_t	 n = h->nctr++;

	memset(c, 0, sizeof *c);
	c->img = slot;
	snprintf(c->id, sizeof c->id, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64
	    "%016" PRIx64, fg_rnd64(&h->rnd), fg_rnd64(&h->rnd),
	    fg_rnd64(&h->rnd), n);
	snprintf(c->name, sizeof c->name, "%s-%s-%" PRIu64, kind,
	    h->k8s ? "pod" : "svc", n);
	c->created_ns = t - 200000000ULL;
	c->started_ns = t - 100000000ULL;
	c->pid = 2000 + fg_rnd(&h->rnd, 4000000);
	c->nprocs = 3 + (unsigned)fg_rnd(&h->rnd, 8);
	c->priv = fg_pct(&h->rnd, 2);
	c->hnet = fg_pct(&h->rnd, 5);
	c->hpid = fg_pct(&h->rnd, 2);
	c->dsock = fg_pct(&h->rnd, 3);
	c->ro = fg_pct(&h->rnd, 10);
	c->nnp = fg_pct(&h->rnd, 15);
	c->health = fg_pct(&h->rnd, 40);
	c->root = fg_pct(&h->rnd, 60);
	c->caps = fg_pct(&h->rnd, 50);
	c->capadd = fg_pct(&h->rnd, 8) ? "NET_ADMIN" :
	    fg_pct(&h->rnd, 1) ? "SYS_ADMIN" : NULL;
	c->seccomp = fg_pct(&h->rnd, 95) ? "default" : "unconfined";
	c->mem = fg_pct(&h->rnd, 70) ? (int64_t)(256ULL << 20) <<
	    fg_rnd(&h->rnd, 5) : 0;
	c->cpus = fg_pct(&h->rnd, 50) ? 500000000LL *
	    (int64_t)(1 + fg_rnd(&h->rnd, 4)) : 0;
	c->pids = fg_pct(&h->rnd, 30) ? 512 : 0;
	c->restart = h->k8s ? NULL : fg_pct(&h->rnd, 50) ? "unless-stopped" :
	    fg_pct(&h->rnd, 60) ? "always" : "no";
	c->nmounts = 1 + (unsigned)fg_rnd(&h->rnd, 4);
}

/* A snapshot of c: why = list start exit exec. */
static void
fg_snapshot(struct fg *g, struct fg_host *h, struct fg_ctr *c,
    const char *why, const char *state, uint64_t t, int exit_code)
{
	struct tm_record	 rec;
	struct tm_container	*s = &rec.body.container;
	struct tm_risks		*r = &s->risks;
	struct fg_image		*fi = &g->u.imgs[h->img[c->img]];
	const struct fg_profile	*p = fi->prof;
	struct tm_process	 procs[FG_PROCS_MAX];
	struct tm_mount		 mnts[5];
	struct tm_kv		 labels[10];
	char			*cmd[FG_ARGS_MAX], *capadd[1];
	char			 lv[10][80], dig[128], user[16];
	size_t			 i, k, nl = 0;

	memset(&rec, 0, sizeof rec);
	rec.kind = TM_KIND_CONTAINER;
	h->snaps++;
	s->runtime = h->k8s ? (char *)"containerd" : (char *)"docker";
	s->ns = h->k8s ? (char *)"k8s.io" : (char *)"moby";
	s->id = c->id;
	s->name = c->name;
	s->image_ref = fi->ref;
	s->image_id = fi->key;
	snprintf(dig, sizeof dig, "registry.example.com/team/%s@%s", p->app,
	    fi->key);
	s->image_digest = dig;
	s->image_key = fi->key;
	for (k = 0; k < FG_ARGS_MAX && p->args[0][k] != NULL; k++)
		cmd[k] = (char *)p->args[0][k];
	s->cmd = cmd;
	s->n_cmd = k;
	if (!c->root) {
		snprintf(user, sizeof user, "%u:%u", p->uid, p->uid);
		s->user = user;
	}
	s->state = (char *)state;
	s->trigger = (char *)why;
	s->created_ns = c->created_ns;
	s->started_ns = c->started_ns;
	s->pid = c->pid;
	if (strcmp(state, "exited") == 0) {
		s->finished_ns = c->short_lived ? c->started_ns + 40000000ULL :
		    t - 50000000ULL;
		s->lifetime_ns = s->finished_ns - c->started_ns;
		s->has_exit_code = true;
		s->exit_code = exit_code;
		s->oom = exit_code == 137;
	}
	/* Labels: compose or Kubernetes, and the image's. */
	if (h->k8s) {
		static const char *const lk[] = { "io.kubernetes.pod.name",
		    "io.kubernetes.pod.namespace", "io.kubernetes.container.name",
		    "io.kubernetes.pod.uid", "io.cri-containerd.kind",
		    "app.kubernetes.io/name" };

		for (i = 0; i < TM_NELEM(lk); i++)
			labels[nl++].k = (char *)lk[i];
		snprintf(lv[0], sizeof lv[0], "%s-%.10s", p->app, c->id);
		snprintf(lv[1], sizeof lv[1], "team-%zu", h->img[c->img] % 7);
		snprintf(lv[2], sizeof lv[2], "%s", p->app);
		snprintf(lv[3], sizeof lv[3], "%.8s-%.4s-%.4s-%.4s-%.12s",
		    c->id, c->id + 8, c->id + 12, c->id + 16, c->id + 20);
		snprintf(lv[4], sizeof lv[4], "container");
		snprintf(lv[5], sizeof lv[5], "%s", p->app);
		s->pod_name = lv[0];
		s->pod_ns = lv[1];
		s->k8s_container = lv[2];
	} else {
		static const char *const lk[] = { "com.docker.compose.project",
		    "com.docker.compose.service",
		    "com.docker.compose.container-number",
		    "com.docker.compose.version",
		    "com.docker.compose.config-hash" };

		for (i = 0; i < TM_NELEM(lk); i++)
			labels[nl++].k = (char *)lk[i];
		snprintf(lv[0], sizeof lv[0], "stack-%zu", h->img[0] % 5);
		snprintf(lv[1], sizeof lv[1], "%s", p->app);
		snprintf(lv[2], sizeof lv[2], "%u", 1 + (unsigned)(c->pid % 3));
		snprintf(lv[3], sizeof lv[3], "2.24.6");
		snprintf(lv[4], sizeof lv[4], "%.64s", fi->key + 7);
	}
	labels[nl].k = (char *)"org.opencontainers.image.version";
	snprintf(lv[nl], sizeof lv[nl], "%s", strrchr(fi->ref, ':') + 1);
	nl++;
	labels[nl].k = (char *)"maintainer";
	snprintf(lv[nl], sizeof lv[nl], "platform-team@example.com");
	nl++;
	for (i = 0; i < nl; i++)
		labels[i].v = lv[i];
	s->labels = labels;
	s->n_labels = nl;
	/* Risks. */
	r->privileged = c->priv;
	if (c->capadd != NULL) {
		capadd[0] = (char *)c->capadd;
		r->cap_add = capadd;
		r->n_cap_add = 1;
	}
	if (c->caps) {
		r->caps = (char **)(uintptr_t)fg_caps_default;
		r->n_caps = TM_NELEM(fg_caps_default);
	}
	r->host_net = c->hnet;
	r->host_pid = c->hpid;
	memset(mnts, 0, sizeof mnts);
	for (i = 0; i < c->nmounts && i < 4; i++) {
		struct tm_mount *m = &mnts[i];

		if (i == 0) {
			m->dest = (char *)"/tmp";
			m->type = (char *)"tmpfs";
		} else if (i == 1) {
			m->source = (char *)"/var/lib/docker/volumes/data/_data";
			m->dest = (char *)"/var/lib/app";
			m->type = (char *)"volume";
		} else if (i == 2) {
			m->source = (char *)"/etc/app/config";
			m->dest = (char *)"/etc/app";
			m->type = (char *)"bind";
			m->ro = true;
			m->propagation = (char *)"rprivate";
		} else {
			m->source = (char *)"/var/log/app";
			m->dest = (char *)"/var/log/app";
			m->type = (char *)"bind";
			m->propagation = (char *)"rprivate";
		}
	}
	if (c->dsock) {
		mnts[i].source = (char *)"/var/run/docker.sock";
		mnts[i].dest = (char *)"/var/run/docker.sock";
		mnts[i].type = (char *)"bind";
		mnts[i].propagation = (char *)"rprivate";
		mnts[i].sensitive = true;
		i++;
	}
	r->mounts = mnts;
	r->n_mounts = i;
	r->ro_rootfs = c->ro;
	r->seccomp = (char *)c->seccomp;
	r->apparmor = h->k8s ? (char *)"cri-containerd.apparmor.d" :
	    (char *)"docker-default";
	r->no_new_privs = c->nnp;
	r->mem_limit = c->mem;
	r->nano_cpus = c->cpus;
	r->pids_limit = c->pids;
	r->restart = (char *)c->restart;
	r->healthcheck = c->health;
	r->root_user = c->root;
	r->docker_socket = c->dsock;
	/* Processes: the main one, workers, helpers (and execs). */
	memset(procs, 0, sizeof procs);
	if (c->short_lived) {
		s->procs_missed = true;
	} else {
		size_t np = c->nprocs + (c->execs > 0);

		for (i = 0; i < np && i < FG_PROCS_MAX; i++) {
			struct tm_process	*q = &procs[i];
			unsigned		 role = i == 0 ? 0 :
			    i + 1 == np && c->execs > 0 ? 2 : 1;

			q->pid = c->pid + i * 3;
			q->ppid = i == 0 ? c->pid - 1 : c->pid;
			q->uid = c->root ? 0 : p->uid;
			q->gid = q->uid;
			q->host_uid = q->uid;
			q->host_gid = q->gid;
			q->comm = (char *)p->comm[role];
			q->exe = (char *)p->exe[role];
			for (k = 0; k < FG_ARGS_MAX && p->args[role][k]; k++)
				;
			q->args = (char **)(uintptr_t)p->args[role];
			q->n_args = k;
			q->start_ns = c->started_ns + i * 1000000ULL;
			q->sha256 = (char *)p->sha[role];
		}
		s->procs = procs;
		s->n_procs = i;
	}
	fg_send(g, h, &rec, t);
}

static void
fg_event(struct fg *g, struct fg_host *h, struct fg_ctr *c,
    const char *action, uint64_t t, int exit_code)
{
	struct tm_record	 rec;
	struct tm_event		*e = &rec.body.event;
	char			 exec_id[72];

	memset(&rec, 0, sizeof rec);
	rec.kind = TM_KIND_EVENT;
	h->events++;
	e->runtime = h->k8s ? (char *)"containerd" : (char *)"docker";
	e->ns = h->k8s ? (char *)"k8s.io" : (char *)"moby";
	e->id = c->id;
	e->action = (char *)action;
	e->time_ns = t;
	e->name = c->name;
	e->image = g->u.imgs[h->img[c->img]].ref;
	if (strcmp(action, "exit") == 0) {
		e->has_exit_code = true;
		e->exit_code = exit_code;
		e->pid = c->pid;
	} else if (strcmp(action, "start") == 0) {
		e->pid = c->pid;
	} else if (strcmp(action, "exec") == 0) {
		snprintf(exec_id, sizeof exec_id, "%.32s%08x", c->id + 32,
		    c->execs);
		e->exec_id = exec_id;
		e->pid = c->pid + 100 + c->execs;
	}
	fg_send(g, h, &rec, t);
}

static void
fg_drift(struct fg *g, struct fg_host *h, struct fg_ctr *c, uint64_t t)
{
	static const char *const paths[] = { "/tmp/debug.sh",
	    "/usr/local/bin/curl", "/root/.bash_history", "/tmp/tool",
	    "/var/tmp/x" };
	struct tm_record	 rec;
	struct tm_drift		*d = &rec.body.drift;
	struct tm_drift_file	 files[3];
	char			 sha[3][65];
	size_t			 i, n = 1 + fg_rnd(&h->rnd, 3);

	memset(&rec, 0, sizeof rec);
	memset(files, 0, sizeof files);
	rec.kind = TM_KIND_DRIFT;
	d->runtime = h->k8s ? (char *)"containerd" : (char *)"docker";
	d->ns = h->k8s ? (char *)"k8s.io" : (char *)"moby";
	d->id = c->id;
	d->image_key = g->u.imgs[h->img[c->img]].key;
	d->when = (char *)"exec";
	d->time_ns = t;
	for (i = 0; i < n; i++) {
		const char *pth = paths[fg_rnd(&h->rnd, TM_NELEM(paths))];

		files[i].path = (char *)pth;
		files[i].change = (char *)"added";
		files[i].size = 100 + fg_rnd(&h->rnd, 200000);
		files[i].mode = strstr(pth, "history") ? 0100600 : 0100755;
		snprintf(sha[i], sizeof sha[i], "%016" PRIx64 "%016" PRIx64
		    "%016" PRIx64 "%016" PRIx64, fg_rnd64(&h->rnd),
		    fg_rnd64(&h->rnd), fg_rnd64(&h->rnd), fg_rnd64(&h->rnd));
		files[i].sha256 = sha[i];
	}
	d->files = files;
	d->n_files = n;
	fg_send(g, h, &rec, t);
}

/* A host starts: facts, its images, the containers it already runs. */
static void
fg_host_start(struct fg *g, struct fg_host *h)
{
	uint64_t	 t = g->t0 + fg_rnd(&h->rnd, FG_TICK_NS);
	size_t		 i, k;

	h->boot_ns = g->t0 - 86400ULL * 1000000000ULL * (1 + fg_rnd(&h->rnd, 60));
	h->nimg = 2 + fg_rnd(&h->rnd, FG_HOST_IMG_MAX - 1);
	for (i = 0; i < h->nimg; i++) {
		/* Skewed: low catalog numbers run everywhere. */
		double	 u = (double)fg_rnd(&h->rnd, 1000000) / 1e6;
		size_t	 pick = (size_t)(u * u * (double)g->u.nimgs);

		for (k = 0; k < i && h->img[k] != pick; k++)
			;
		if (k < i)
			pick = fg_rnd(&h->rnd, g->u.nimgs);	/* once more */
		h->img[i] = pick;
	}
	fg_host_facts(g, h, t);
	h->nlong = 3 + fg_rnd(&h->rnd, FG_LONG_MAX - 2);
	for (i = 0; i < h->nlong; i++) {
		struct fg_ctr *c = &h->lng[i];

		fg_ctr_new(h, c, i < h->nimg ? i : fg_rnd(&h->rnd, h->nimg),
		    t - 3600ULL * 1000000000ULL, "app");
		fg_image(g, h, c->img, t + i * 1000000ULL);
		fg_snapshot(g, h, c, "list", "running", t + i * 1000000ULL, 0);
	}
}

/* One tick of a host after its start: heartbeat, jobs, execs. */
static void
fg_host_tick(struct fg *g, struct fg_host *h, uint64_t tick)
{
	uint64_t	 t = g->t0 + tick * FG_TICK_NS + fg_rnd(&h->rnd,
			    FG_TICK_NS / 2);
	size_t		 i;

	fg_heartbeat(g, h, t);
	/* Jobs that end now. */
	for (i = 0; i < h->njobs;) {
		struct fg_ctr	*c = &h->jobs[i];
		int		 code = fg_pct(&h->rnd, 94) ? 0 :
				    fg_pct(&h->rnd, 80) ? 1 : 137;

		if (c->ends_tick > tick) {
			i++;
			continue;
		}
		t += 1000000ULL;
		fg_event(g, h, c, "exit", t, code);
		fg_snapshot(g, h, c, "exit", "exited", t + 2000000ULL, code);
		if (fg_pct(&h->rnd, 70))
			fg_event(g, h, c, "delete", t + 5000000ULL, 0);
		h->jobs[i] = h->jobs[--h->njobs];
	}
	/* A new job, now and then. */
	if (fg_rnd(&h->rnd, 120) < g->jobs_ph && h->njobs < FG_JOBS_MAX) {
		struct fg_ctr	*c = &h->jobs[h->njobs];
		size_t		 slot = fg_rnd(&h->rnd, h->nimg);

		t += 1000000ULL;
		fg_ctr_new(h, c, slot, t, "job");
		c->created_ns = t;
		c->started_ns = t + 30000000ULL;
		fg_image(g, h, slot, t);
		fg_event(g, h, c, "create", t, 0);
		fg_event(g, h, c, "start", c->started_ns, 0);
		if (fg_pct(&h->rnd, 10)) {
			/* Lived under 100 ms: gone before its snapshot. */
			c->short_lived = 1;
			fg_event(g, h, c, "exit", c->started_ns + 40000000ULL, 0);
			fg_snapshot(g, h, c, "exit", "exited",
			    c->started_ns + 41000000ULL, 0);
			fg_event(g, h, c, "delete", c->started_ns + 45000000ULL,
			    0);
		} else {
			fg_snapshot(g, h, c, "start", "running",
			    c->started_ns + 20000000ULL, 0);
			c->ends_tick = tick + fg_rnd(&h->rnd, 5);
			h->njobs++;
		}
	}
	/* An exec into a long-running container, now and then. */
	if (fg_rnd(&h->rnd, 120) < g->execs_ph && h->nlong > 0) {
		struct fg_ctr *c = &h->lng[fg_rnd(&h->rnd, h->nlong)];

		t += 1000000ULL;
		fg_event(g, h, c, "exec", t, 0);
		c->execs++;
		fg_snapshot(g, h, c, "exec", "running", t + 10000000ULL, 0);
		if (fg_pct(&h->rnd, 40))
			fg_drift(g, h, c, t + 12000000ULL);
	}
}

static void
fg_usage(void)
{
	fprintf(stderr,
"usage: fleet-gen -b BROKERS [-t TOPIC] [-n HOSTS] [-m MINUTES] [-i IMAGES]\n"
"                 [-j JOBS-PER-HOUR] [-e EXECS-PER-HOUR] [-S SEED] [-q]\n"
"       fleet-gen -F FILE [-c] [-A ADVISORIES] [-i IMAGES] [-S SEED]\n");
}

int
main(int argc, char **argv)
{
	struct fg	 g;
	rd_kafka_conf_t	*conf;
	const char	*brokers = NULL, *topic = "tallyman.inventory";
	const char	*feed = NULL;
	char		 err[512];
	uint64_t	 seed = 1, minutes = 15, t0, tick, ticks, total = 0;
	uint64_t	 bytes = 0;
	size_t		 i, nimgs = 40, nadv = 2000;
	int		 ch, changed = 0;
	double		 s;

	memset(&g, 0, sizeof g);
	g.nhosts = 10000;
	g.jobs_ph = 24;
	g.execs_ph = 6;
	log_init("fleet-gen", LOG_LEVEL_WARN);
	while ((ch = getopt(argc, argv, "A:b:cF:e:i:j:m:n:qS:t:")) != -1) {
		switch (ch) {
		case 'A': nadv = strtoul(optarg, NULL, 10); break;
		case 'b': brokers = optarg; break;
		case 'c': changed = 1; break;
		case 'F': feed = optarg; break;
		case 'e': g.execs_ph = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'i': nimgs = strtoul(optarg, NULL, 10); break;
		case 'j': g.jobs_ph = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': minutes = strtoull(optarg, NULL, 10); break;
		case 'n': g.nhosts = strtoul(optarg, NULL, 10); break;
		case 'q': g.quiet = 1; break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 't': topic = optarg; break;
		default:
			fg_usage();
			return 2;
		}
	}
	if ((brokers == NULL) == (feed == NULL) || nimgs == 0 ||
	    g.nhosts == 0 || minutes == 0 || g.jobs_ph > 120 ||
	    g.execs_ph > 120 || optind != argc) {
		fg_usage();
		return 2;
	}
	fg_universe_make(&g.u, nimgs, seed);
	if (feed != NULL) {
		int rc = fg_feed(&g.u, feed, nadv, changed);

		fg_universe_free(&g.u);
		return rc == 0 ? 0 : 1;
	}

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err,
	    sizeof err) != RD_KAFKA_CONF_OK ||
	    /* As the agent's producer: idempotent, zstd. */
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", err,
	    sizeof err) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "compression.codec", "zstd", err,
	    sizeof err) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "linger.ms", "20", err,
	    sizeof err) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000",
	    err, sizeof err) != RD_KAFKA_CONF_OK)
		fatalx("fleet-gen: %s", err);
	rd_kafka_conf_set_opaque(conf, &g);
	rd_kafka_conf_set_dr_msg_cb(conf, fg_dr);
	if ((g.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
	    sizeof err)) == NULL)
		fatalx("fleet-gen: %s", err);
	g.rkt = rd_kafka_topic_new(g.rk, topic, NULL);
	msgpack_sbuffer_init(&g.sb);

	ticks = minutes * 2;
	g.t0 = now_ns() - ticks * FG_TICK_NS;
	g.hosts = xcalloc(g.nhosts, sizeof *g.hosts);
	for (i = 0; i < g.nhosts; i++) {
		struct fg_host *h = &g.hosts[i];

		snprintf(h->id, sizeof h->id, "host-%06zu", i);
		snprintf(h->name, sizeof h->name, "node-%06zu.dc%zu.example.internal",
		    i, i % 3);
		h->rnd = seed * 0x100000001b3ULL + i * 0x9e3779b97f4a7c15ULL + 1;
		h->k8s = fg_pct(&h->rnd, 40);
	}
	t0 = mono_ns();
	for (i = 0; i < g.nhosts; i++)
		fg_host_start(&g, &g.hosts[i]);
	for (tick = 1; tick < ticks; tick++)
		for (i = 0; i < g.nhosts; i++)
			fg_host_tick(&g, &g.hosts[i], tick);
	while (rd_kafka_outq_len(g.rk) > 0)
		rd_kafka_poll(g.rk, 100);
	s = (double)(mono_ns() - t0) / 1e9;

	for (i = 1; i < TM_KIND_MAX; i++) {
		total += g.n[i];
		bytes += g.bytes[i];
	}
	for (i = 1; i < TM_KIND_MAX && !g.quiet; i++)
		printf("fleet-gen: %-9s %9" PRIu64 " records %5.1f %%, %7.0f "
		    "bytes/record\n", tm_kind_name((enum tm_kind)i), g.n[i],
		    total ? 100.0 * (double)g.n[i] / (double)total : 0.0,
		    g.n[i] ? (double)g.bytes[i] / (double)g.n[i] : 0.0);
	printf("fleet-gen: total %" PRIu64 " records (%" PRIu64 " messages) "
	    "from %zu hosts, %.1f MB msgpack, produced in %.2f s: %.0f "
	    "records/s\n", total, g.produced, g.nhosts, (double)bytes / 1e6,
	    s, (double)total / s);
	msgpack_sbuffer_destroy(&g.sb);
	rd_kafka_topic_destroy(g.rkt);
	rd_kafka_destroy(g.rk);
	free(g.hosts);
	fg_universe_free(&g.u);
	if (g.failed > 0 || g.delivered != g.produced) {
		fprintf(stderr, "fleet-gen: %" PRIu64 " of %" PRIu64 " messages "
		    "not delivered\n", g.produced - g.delivered, g.produced);
		return 1;
	}
	return 0;
}
