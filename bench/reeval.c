/*
 * reeval.c: how long the correlation engine takes to re-evaluate a whole
 * fleet after a feed change.
 *
 *   bench/reeval [HOSTS [CONTAINERS-PER-HOST [IMAGES [PACKAGES [ADVISORIES]]]]]
 *
 * Builds a simulated fleet through the engine's real entry point
 * (correlate_record with decoded records, as the consumer calls it): HOSTS
 * hosts (default 10000), each running CONTAINERS-PER-HOST containers
 * (default 5) picked from IMAGES Debian 12 images (default 200) of PACKAGES
 * dpkg packages each (default 300; binary names differ from their source
 * names, as libssl3 from openssl).  Each host sends the inventory of every
 * image its containers use, as agents do (the engine keeps inventories per
 * host and image, and matches each distinct package list once).  The feed:
 * ADVISORIES OSV records (default 20000) over 200 x PACKAGES source
 * packages (so an image of 300 packages meets about 100 advisories and is
 * affected by about half), parsed from JSON by osv.c.
 *
 * Prints: time to load the first feed into a fleet with none (first
 * evaluation), then the time to re-evaluate after a changed feed (a tenth
 * of the advisories get a later fix, a twentieth are withdrawn), with the
 * findings opened and resolved, and the resident memory.  Each phase is
 * given in wall time and in the process's CPU time (the figure to compare
 * on a loaded machine).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "collector/collector.h"

struct counts {
	uint64_t	nnew, nresolved, nupdated;
};

static void
count_sink(const struct finding *f, enum finding_change ch, void *arg)
{
	struct counts *c = arg;

	if (ch == FINDING_NEW)
		c->nnew++;
	else if (ch == FINDING_RESOLVED)
		c->nresolved++;
	else
		c->nupdated++;
}

/* Deterministic pseudo-random numbers (xorshift). */
static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/*
 * The feed as one JSON array.  Advisory i is about source package
 * "src-(i % nsrc)", affecting versions before 1.0.F-1, F in 0..9 (or F+1
 * when bumped: a changed record).  withdraw: one in 20 withdrawn.
 */
static char *
make_feed(size_t nadv, size_t nsrc, int changed)
{
	size_t	 cap = nadv * 400 + 16, off = 0, i;
	char	*buf = xmalloc(cap);

	off += (size_t)snprintf(buf + off, cap - off, "[");
	for (i = 0; i < nadv; i++) {
		unsigned fix = (unsigned)((i * 7 + 3) % 10);

		if (changed && i % 20 == 0) {
			off += (size_t)snprintf(buf + off, cap - off,
			    "%s{\"id\":\"BENCH-%zu\",\"modified\":\"2\","
			    "\"withdrawn\":\"2\"}", i ? "," : "", i);
			continue;
		}
		if (changed && i % 10 == 1)
			fix++;
		off += (size_t)snprintf(buf + off, cap - off,
		    "%s{\"id\":\"BENCH-%zu\",\"modified\":\"%d\","
		    "\"aliases\":[\"CVE-2099-%zu\"],\"severity\":[{\"type\":"
		    "\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/"
		    "C:H/I:N/A:N\"}],\"affected\":[{\"package\":{\"ecosystem\":"
		    "\"Debian:12\",\"name\":\"src-%zu\"},\"ranges\":[{\"type\":"
		    "\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
		    "\"1.0.%u-1\"}]}]}]}", i ? "," : "", i,
		    changed && i % 10 == 1 ? 2 : 1, i, i % nsrc, fix);
	}
	snprintf(buf + off, cap - off, "]");
	return buf;
}

static struct osv_db *
parse_feed(const char *json)
{
	struct osv_db	*db = osv_db_new();
	char		 err[256];

	if (osv_db_parse(db, json, strlen(json), "bench", err, sizeof err) < 0)
		fatalx("bench: feed: %s", err);
	osv_db_finish(db);
	return db;
}

static double
ms_since(uint64_t t0)
{
	return (double)(mono_ns() - t0) / 1e6;
}

/*
 * CPU time of the process in ms: on a shared machine the wall time of a
 * phase depends on the others' load, its CPU time much less.
 */
static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	size_t			 hosts = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t			 per = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
	size_t			 nimg = argc > 3 ? strtoul(argv[3], NULL, 10) : 200;
	size_t			 npkg = argc > 4 ? strtoul(argv[4], NULL, 10) : 300;
	size_t			 nadv = argc > 5 ? strtoul(argv[5], NULL, 10) : 20000;
	size_t			 nsrc = npkg * 200, h, i, k;
	struct correlate_config	 cfg = { .short_lived_ns = 0,
	    .history_max = 10000000 };
	struct correlate	*cor;
	struct counts		 cnt = { 0 };
	struct correlate_stats	 st;
	struct tm_package	**imgs;
	size_t			*pick, image_records = 0;
	char			 host[64], ikey[64], cid[72], *feed;
	uint64_t		 t0, now = 1700000000ULL * 1000000000ULL;
	struct rusage		 ru;
	double			 t_load, t_first, t_parse2, t_re;
	double			 c0, c_load, c_first, c_parse2, c_re;
	struct osv_db		*db;

	if (hosts == 0 || per == 0 || nimg == 0 || npkg == 0 || nadv == 0) {
		fprintf(stderr, "usage: reeval [HOSTS [CONTAINERS-PER-HOST "
		    "[IMAGES [PACKAGES [ADVISORIES]]]]]\n");
		return 2;
	}
	log_init("reeval", LOG_LEVEL_WARN);
	cor = correlate_new(&cfg);
	correlate_add_sink(cor, count_sink, &cnt, 0);

	/* Images: package j of image m is built from source "src-X". */
	t0 = mono_ns();
	c0 = cpu_ms();
	imgs = xcalloc(nimg, sizeof *imgs);
	for (i = 0; i < nimg; i++) {
		imgs[i] = xcalloc(npkg, sizeof *imgs[i]);
		for (k = 0; k < npkg; k++) {
			size_t src = rnd(nsrc);
			char *s;

			xasprintf(&s, "lib%zu-%zu", src, k % 3);
			imgs[i][k].name = s;
			xasprintf(&s, "1.0.%u-1", (unsigned)rnd(10));
			imgs[i][k].version = s;
			xasprintf(&s, "src-%zu", src);
			imgs[i][k].source_name = s;
			imgs[i][k].ecosystem = (char *)"dpkg";
		}
	}

	/*
	 * Hosts: each sends the inventory of every image its containers use
	 * (as an agent does, once per image), then its containers (running,
	 * Docker's defaults).
	 */
	pick = xcalloc(per, sizeof *pick);
	for (h = 0; h < hosts; h++) {
		snprintf(host, sizeof host, "host-%05zu", h);
		for (k = 0; k < per; k++)
			pick[k] = (size_t)rnd(nimg);
		for (k = 0; k < per; k++) {
			struct tm_record rec;
			size_t j;

			for (j = 0; j < k && pick[j] != pick[k]; j++)
				;
			if (j < k)
				continue;	/* sent already */
			memset(&rec, 0, sizeof rec);
			snprintf(ikey, sizeof ikey, "sha256:image-%zu", pick[k]);
			rec.host_id = host;
			rec.kind = TM_KIND_IMAGE;
			rec.body.image.key = ikey;
			rec.body.image.os_id = (char *)"debian";
			rec.body.image.os_version = (char *)"12";
			rec.body.image.packages = imgs[pick[k]];
			rec.body.image.n_packages = npkg;
			correlate_record(cor, &rec, now);
			image_records++;
		}
		for (k = 0; k < per; k++) {
			struct tm_record rec;

			memset(&rec, 0, sizeof rec);
			snprintf(cid, sizeof cid, "%064zx", h * per + k);
			snprintf(ikey, sizeof ikey, "sha256:image-%zu", pick[k]);
			rec.host_id = host;
			rec.kind = TM_KIND_CONTAINER;
			rec.body.container.runtime = (char *)"docker";
			rec.body.container.id = cid;
			rec.body.container.image_key = ikey;
			rec.body.container.state = (char *)"running";
			rec.body.container.started_ns = now;
			rec.body.container.risks.mem_limit = 1 << 28;
			rec.body.container.risks.pids_limit = 100;
			correlate_record(cor, &rec, now);
		}
	}
	free(pick);
	for (i = 0; i < nimg; i++) {
		for (k = 0; k < npkg; k++) {
			free(imgs[i][k].name);
			free(imgs[i][k].version);
			free(imgs[i][k].source_name);
		}
		free(imgs[i]);
	}
	free(imgs);
	t_load = ms_since(t0);
	c_load = cpu_ms() - c0;

	/* The first feed: every finding opens. */
	feed = make_feed(nadv, nsrc, 0);
	t0 = mono_ns();
	c0 = cpu_ms();
	db = parse_feed(feed);
	free(feed);
	correlate_set_feed(cor, db, now + 1);
	t_first = ms_since(t0);
	c_first = cpu_ms() - c0;
	correlate_stats(cor, &st);
	printf("fleet: %zu hosts, %zu containers, %zu images x %zu packages; "
	    "%zu advisories over %zu source packages\n", hosts, hosts * per,
	    nimg, npkg, nadv, nsrc);
	printf("fleet built through correlate_record: %.0f ms, cpu %.0f ms "
	    "(%zu image records, one per image per host)\n", t_load, c_load,
	    image_records);
	printf("first feed (parse + evaluate the fleet): %.0f ms, cpu %.0f ms; "
	    "findings open: %llu (vulnerabilities and CIS checks)\n", t_first,
	    c_first, (unsigned long long)st.open);

	/* A changed feed: re-evaluate everything. */
	memset(&cnt, 0, sizeof cnt);
	feed = make_feed(nadv, nsrc, 1);
	t0 = mono_ns();
	c0 = cpu_ms();
	db = parse_feed(feed);
	t_parse2 = ms_since(t0);
	c_parse2 = cpu_ms() - c0;
	free(feed);
	t0 = mono_ns();
	c0 = cpu_ms();
	correlate_set_feed(cor, db, now + 2);
	t_re = ms_since(t0);
	c_re = cpu_ms() - c0;
	correlate_stats(cor, &st);
	getrusage(RUSAGE_SELF, &ru);
	printf("changed feed: parse %.0f ms, cpu %.0f ms; re-evaluation of "
	    "%llu containers on %zu hosts: %.0f ms, cpu %.0f ms (engine's own "
	    "figure %.0f ms)\n", t_parse2, c_parse2,
	    (unsigned long long)st.containers, hosts, t_re, c_re,
	    (double)st.last_reeval_ns / 1e6);
	printf("changes: %llu new, %llu resolved, %llu updated; open now %llu\n",
	    (unsigned long long)cnt.nnew, (unsigned long long)cnt.nresolved,
	    (unsigned long long)cnt.nupdated, (unsigned long long)st.open);
	printf("max resident memory: %ld MiB\n", ru.ru_maxrss / 1024);
	correlate_free(cor);
	return 0;
}
