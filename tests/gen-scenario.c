/*
 * gen-scenario.c: a test aid (not installed) that produces the records of a
 * scenario written as lines on stdin, encoded with the shared codec
 * (tm_encode, tm_split) and produced to Kafka keyed by host id, each host
 * with its own increasing sequence -- what agents would send, without the
 * containers.  The correlation tests describe fleets with it:
 *
 *   gen-scenario -b BROKERS -t TOPIC [-s FIRST_SEQ] < SCENARIO
 *
 * One record per line (blank lines and # comments skipped):
 *
 *   host HOST [OS-ID VERSION-ID]
 *   heartbeat HOST INTERVAL-S
 *   image HOST KEY OS-ID VERSION-ID ECO/NAME/VERSION[/SOURCE[/SOURCE-VER]]...
 *   container HOST ID IMAGE-KEY STATE [RISK...]
 *   event HOST ID ACTION
 *   drift HOST ID PATH:OCTAL-MODE...
 *
 * RISK: privileged hostnet hostpid hostipc hostuts hostuserns rorootfs nnp
 * health root dsock, mem=BYTES cpus=NANO pids=N seccomp=S apparmor=S
 * restart=S capadd=A[,B] dev=PATH mount=SRC:DST:TYPE[:PROPAGATION]
 * proc=COMM life=MS (started 1 s ago, and for exited: lived MS ms).
 *
 * (Package fields are separated by '/': versions hold ':' for epochs.)
 *
 * Prints "produced N" when every message was acknowledged; exits 1 on a
 * bad line or an undelivered message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/common.h"
#include "schema/schema.h"

#define GS_LINE_MAX	65536
#define GS_WORDS_MAX	4096
#define GS_HOSTS_MAX	1024

struct gs {
	rd_kafka_t		*rk;
	rd_kafka_topic_t	*rkt;
	char			*hosts[GS_HOSTS_MAX];
	uint64_t		 seqs[GS_HOSTS_MAX];
	size_t			 nhosts;
	uint64_t		 first_seq;
	uint64_t		 produced, delivered, failed;
};

static void
gs_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct gs *g = opaque;

	if (m->err)
		g->failed++;
	else
		g->delivered++;
}

static uint64_t
gs_seq(struct gs *g, const char *host)
{
	size_t i;

	for (i = 0; i < g->nhosts; i++)
		if (strcmp(g->hosts[i], host) == 0)
			return ++g->seqs[i];
	if (g->nhosts == GS_HOSTS_MAX)
		fatalx("gen-scenario: too many hosts");
	g->hosts[g->nhosts] = xstrdup(host);
	g->seqs[g->nhosts] = g->first_seq;
	return g->seqs[g->nhosts++];
}

struct gs_emit {
	struct gs	*g;
	const char	*host;
};

static int
gs_emit_part(const void *part, size_t len, void *arg)
{
	struct gs_emit *e = arg;

	while (rd_kafka_produce(e->g->rkt, RD_KAFKA_PARTITION_UA,
	    RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)part, len, e->host,
	    strlen(e->host), NULL) == -1) {
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return -1;
		rd_kafka_poll(e->g->rk, 100);
	}
	e->g->produced++;
	return 0;
}

static int
gs_send(struct gs *g, struct tm_record *rec)
{
	msgpack_sbuffer	 sb;
	struct gs_emit	 e = { g, rec->host_id };
	int		 rc;

	rec->version = TM_SCHEMA_MAJOR;
	rec->seq = gs_seq(g, rec->host_id);
	rec->sent_ns = now_ns();
	msgpack_sbuffer_init(&sb);
	rc = tm_encode(rec, &sb);
	if (rc == 0)
		rc = tm_split(sb.data, sb.size, gs_emit_part, &e);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* w[0..n) -> a record; strings point into w (the line). */
static int
gs_line(struct gs *g, char **w, size_t n)
{
	struct tm_record	 rec;
	struct tm_package	*pk = NULL;
	struct tm_mount		 mnts[16];
	struct tm_process	 procs[16];
	struct tm_drift_file	*files = NULL;
	char			*caps[32], *devs[16];
	size_t			 i;
	int			 rc = -1;

	memset(&rec, 0, sizeof rec);
	if (n < 2)
		return -1;
	rec.host_id = w[1];
	if (strcmp(w[0], "host") == 0) {
		rec.kind = TM_KIND_HOST;
		rec.body.host.hostname = w[1];
		rec.body.host.agent_version = (char *)"gen-scenario";
		if (n >= 4) {
			rec.body.host.os_id = w[2];
			rec.body.host.os_version = w[3];
		}
		rc = gs_send(g, &rec);
	} else if (strcmp(w[0], "heartbeat") == 0 && n == 3) {
		rec.kind = TM_KIND_HEARTBEAT;
		rec.body.heartbeat.interval_ns = strtoull(w[2], NULL, 10) *
		    1000000000ULL;
		rec.body.heartbeat.uptime_ns = 1;
		rc = gs_send(g, &rec);
	} else if (strcmp(w[0], "image") == 0 && n >= 5) {
		rec.kind = TM_KIND_IMAGE;
		rec.body.image.key = w[2];
		rec.body.image.image_id = w[2];
		rec.body.image.os_id = w[3];
		rec.body.image.os_version = w[4];
		pk = xcalloc(n, sizeof *pk);
		for (i = 5; i < n; i++) {
			struct tm_package *p = &pk[i - 5];
			char *f[5] = { NULL }, *save = NULL;
			size_t k = 0;

			for (f[0] = strtok_r(w[i], "/", &save); f[k] && k < 4;)
				f[++k] = strtok_r(NULL, "/", &save);
			if (k < 3)
				goto out;
			p->ecosystem = f[0];
			p->name = f[1];
			p->version = f[2];
			p->source_name = f[3];
			p->source_version = f[4];
		}
		rec.body.image.packages = pk;
		rec.body.image.n_packages = n - 5;
		rc = gs_send(g, &rec);
	} else if (strcmp(w[0], "container") == 0 && n >= 5) {
		struct tm_container	*c = &rec.body.container;
		struct tm_risks		*r = &c->risks;
		uint64_t		 now = now_ns();

		rec.kind = TM_KIND_CONTAINER;
		c->runtime = (char *)"docker";
		c->ns = (char *)"moby";
		c->id = w[2];
		c->name = w[2];
		c->image_key = w[3];
		c->image_id = w[3];
		c->image_ref = w[3];
		c->state = w[4];
		c->trigger = (char *)"start";
		c->started_ns = now - 1000000000ULL;
		for (i = 5; i < n; i++) {
			char *v = strchr(w[i], '=');

			if (v != NULL)
				*v++ = '\0';
			if (strcmp(w[i], "privileged") == 0) r->privileged = true;
			else if (strcmp(w[i], "hostnet") == 0) r->host_net = true;
			else if (strcmp(w[i], "hostpid") == 0) r->host_pid = true;
			else if (strcmp(w[i], "hostipc") == 0) r->host_ipc = true;
			else if (strcmp(w[i], "hostuts") == 0) r->host_uts = true;
			else if (strcmp(w[i], "hostuserns") == 0)
				r->host_userns = true;
			else if (strcmp(w[i], "rorootfs") == 0) r->ro_rootfs = true;
			else if (strcmp(w[i], "nnp") == 0) r->no_new_privs = true;
			else if (strcmp(w[i], "health") == 0) r->healthcheck = true;
			else if (strcmp(w[i], "root") == 0) r->root_user = true;
			else if (strcmp(w[i], "dsock") == 0) r->docker_socket = true;
			else if (v == NULL)
				goto out;
			else if (strcmp(w[i], "mem") == 0)
				r->mem_limit = strtoll(v, NULL, 10);
			else if (strcmp(w[i], "cpus") == 0)
				r->nano_cpus = strtoll(v, NULL, 10);
			else if (strcmp(w[i], "pids") == 0)
				r->pids_limit = strtoll(v, NULL, 10);
			else if (strcmp(w[i], "seccomp") == 0) r->seccomp = v;
			else if (strcmp(w[i], "apparmor") == 0) r->apparmor = v;
			else if (strcmp(w[i], "restart") == 0) r->restart = v;
			else if (strcmp(w[i], "capadd") == 0 &&
			    r->n_cap_add < TM_NELEM(caps))
				caps[r->n_cap_add++] = v;
			else if (strcmp(w[i], "dev") == 0 &&
			    r->n_devices < TM_NELEM(devs))
				devs[r->n_devices++] = v;
			else if (strcmp(w[i], "mount") == 0 &&
			    r->n_mounts < TM_NELEM(mnts)) {
				struct tm_mount *m = &mnts[r->n_mounts++];
				char *save = NULL;

				memset(m, 0, sizeof *m);
				m->source = strtok_r(v, ":", &save);
				m->dest = strtok_r(NULL, ":", &save);
				m->type = strtok_r(NULL, ":", &save);
				m->propagation = strtok_r(NULL, ":", &save);
				if (m->dest == NULL)
					goto out;
			} else if (strcmp(w[i], "proc") == 0 &&
			    c->n_procs < TM_NELEM(procs)) {
				struct tm_process *p = &procs[c->n_procs++];

				memset(p, 0, sizeof *p);
				p->pid = 100 + c->n_procs;
				p->comm = v;
				p->start_ns = c->started_ns;
			} else if (strcmp(w[i], "life") == 0) {
				uint64_t ms = strtoull(v, NULL, 10);

				c->finished_ns = c->started_ns + ms * 1000000ULL;
				c->lifetime_ns = ms * 1000000ULL;
			} else
				goto out;
		}
		r->cap_add = r->n_cap_add ? caps : NULL;
		r->devices = r->n_devices ? devs : NULL;
		r->mounts = r->n_mounts ? mnts : NULL;
		c->procs = c->n_procs ? procs : NULL;
		rc = gs_send(g, &rec);
	} else if (strcmp(w[0], "event") == 0 && n == 4) {
		rec.kind = TM_KIND_EVENT;
		rec.body.event.runtime = (char *)"docker";
		rec.body.event.ns = (char *)"moby";
		rec.body.event.id = w[2];
		rec.body.event.action = w[3];
		rec.body.event.time_ns = now_ns();
		if (strcmp(w[3], "exit") == 0) {
			rec.body.event.has_exit_code = true;
			rec.body.event.exit_code = 0;
		}
		rc = gs_send(g, &rec);
	} else if (strcmp(w[0], "drift") == 0 && n >= 4) {
		rec.kind = TM_KIND_DRIFT;
		rec.body.drift.runtime = (char *)"docker";
		rec.body.drift.ns = (char *)"moby";
		rec.body.drift.id = w[2];
		rec.body.drift.when = (char *)"exec";
		rec.body.drift.time_ns = now_ns();
		files = xcalloc(n, sizeof *files);
		for (i = 3; i < n; i++) {
			char *colon = strrchr(w[i], ':');

			if (colon == NULL)
				goto out;
			*colon = '\0';
			files[i - 3].path = w[i];
			files[i - 3].change = (char *)"added";
			files[i - 3].mode = strtoull(colon + 1, NULL, 8);
		}
		rec.body.drift.files = files;
		rec.body.drift.n_files = n - 3;
		rc = gs_send(g, &rec);
	}
out:
	free(pk);
	free(files);
	return rc;
}

int
main(int argc, char **argv)
{
	struct gs	 g;
	rd_kafka_conf_t	*conf;
	char		 err[512], *line, *w[GS_WORDS_MAX];
	const char	*brokers = NULL, *topic = NULL;
	unsigned	 lineno = 0;
	int		 ch;

	memset(&g, 0, sizeof g);
	log_init("gen-scenario", LOG_LEVEL_WARN);
	while ((ch = getopt(argc, argv, "b:t:s:")) != -1) {
		switch (ch) {
		case 'b': brokers = optarg; break;
		case 't': topic = optarg; break;
		case 's': g.first_seq = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: gen-scenario -b BROKERS -t TOPIC "
			    "[-s FIRST_SEQ] < SCENARIO\n");
			return 2;
		}
	}
	if (brokers == NULL || topic == NULL) {
		fprintf(stderr, "gen-scenario: -b and -t are required\n");
		return 2;
	}
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err,
	    sizeof err) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", err,
	    sizeof err) != RD_KAFKA_CONF_OK)
		fatalx("gen-scenario: %s", err);
	rd_kafka_conf_set_opaque(conf, &g);
	rd_kafka_conf_set_dr_msg_cb(conf, gs_dr);
	if ((g.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
	    sizeof err)) == NULL)
		fatalx("gen-scenario: %s", err);
	g.rkt = rd_kafka_topic_new(g.rk, topic, NULL);
	line = xmalloc(GS_LINE_MAX);
	while (fgets(line, GS_LINE_MAX, stdin) != NULL) {
		char	*save = NULL, *p;
		size_t	 n = 0;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		for (p = strtok_r(line, " \t", &save); p != NULL && n <
		    GS_WORDS_MAX; p = strtok_r(NULL, " \t", &save))
			w[n++] = p;
		if (n == 0 || w[0][0] == '#')
			continue;
		if (gs_line(&g, w, n) == -1) {
			fprintf(stderr, "gen-scenario: line %u: bad record\n",
			    lineno);
			return 1;
		}
	}
	free(line);
	rd_kafka_flush(g.rk, 30000);
	rd_kafka_topic_destroy(g.rkt);
	rd_kafka_destroy(g.rk);
	if (g.failed > 0 || g.delivered != g.produced) {
		fprintf(stderr, "gen-scenario: %llu of %llu not delivered\n",
		    (unsigned long long)(g.produced - g.delivered),
		    (unsigned long long)g.produced);
		return 1;
	}
	printf("produced %llu\n", (unsigned long long)g.produced);
	while (g.nhosts > 0)
		free(g.hosts[--g.nhosts]);
	return 0;
}
