/*
 * mock-kafka.c: run librdkafka's mock cluster as a stand-alone process so
 * that the tests (and the single-host quick start) have something that speaks
 * the Kafka wire protocol on 127.0.0.1.  Other processes (the agent, the
 * collector, kcat) connect to the bootstrap address it prints.
 *
 * Control: SIGTERM/SIGINT stop it cleanly; SIGUSR1 takes every broker down
 * (connections are closed and refused), SIGUSR2 brings them back.  With -s
 * FILE, the state after each change is written to FILE as "GEN up|down" so a
 * test can wait until a change has taken effect (tests/lib/harness.sh does).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MOCK_KAFKA_MAX_BROKERS		16
#define MOCK_KAFKA_MAX_TOPICS		64
#define MOCK_KAFKA_MAX_PARTITIONS	1024
#define MOCK_KAFKA_MAX_TOPIC_LEN	249	/* Kafka's own limit */

struct mock_kafka_topic {
	char	*name;
	int	 partitions;
};

struct mock_kafka {
	int			 brokers;
	struct mock_kafka_topic	 topics[MOCK_KAFKA_MAX_TOPICS];
	int			 ntopics;
	const char		*addr_file;
	const char		*state_file;
	rd_kafka_t		*rk;
	rd_kafka_mock_cluster_t	*mcluster;
	unsigned long		 generation;
};

static void
mock_kafka_usage(FILE *fp)
{
	fprintf(fp,
"usage: mock-kafka [-b BROKERS] [-t TOPIC[:PARTITIONS]]... [-f FILE] [-s FILE]\n"
"\n"
"Start librdkafka's mock Kafka cluster on 127.0.0.1 (random ports), print its\n"
"bootstrap address as one line on stdout, and serve until SIGTERM or SIGINT.\n"
"\n"
"  -b BROKERS             number of brokers, 1..%d (default 1)\n"
"  -t TOPIC[:PARTITIONS]  create TOPIC with PARTITIONS partitions (default 1,\n"
"                         at most %d); repeatable, at most %d topics\n"
"  -f FILE                also write the bootstrap address to FILE (written to\n"
"                         FILE.tmp and renamed, so readers never see half)\n"
"  -s FILE                write the broker state to FILE as \"GEN up|down\"\n"
"                         after start (GEN 0) and after every change\n"
"  -h                     this help\n"
"\n"
"Signals:\n"
"  SIGTERM, SIGINT        destroy the cluster and exit 0\n"
"  SIGUSR1                set every broker down: connections are closed and\n"
"                         new ones refused (rd_kafka_mock_broker_set_down)\n"
"  SIGUSR2                set every broker up again (rd_kafka_mock_broker_set_up)\n",
	    MOCK_KAFKA_MAX_BROKERS, MOCK_KAFKA_MAX_PARTITIONS,
	    MOCK_KAFKA_MAX_TOPICS);
}

/*
 * Parse a decimal in [min, max] from s.  Returns 0 and sets *out, or -1.
 */
static int
mock_kafka_parse_int(const char *s, int min, int max, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Parse "TOPIC[:PARTITIONS]" into the next free topic slot.  The name is
 * copied (owned by mk, freed by mock_kafka_free).  Returns 0 or -1 with a
 * message on stderr.
 */
static int
mock_kafka_add_topic(struct mock_kafka *mk, const char *arg)
{
	struct mock_kafka_topic	*t;
	const char		*colon;
	size_t			 len;
	int			 partitions = 1;

	if (mk->ntopics >= MOCK_KAFKA_MAX_TOPICS) {
		fprintf(stderr, "mock-kafka: more than %d topics\n",
		    MOCK_KAFKA_MAX_TOPICS);
		return -1;
	}
	colon = strrchr(arg, ':');
	len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	if (len == 0 || len > MOCK_KAFKA_MAX_TOPIC_LEN) {
		fprintf(stderr, "mock-kafka: bad topic name in \"%s\"\n", arg);
		return -1;
	}
	if (colon != NULL && mock_kafka_parse_int(colon + 1, 1,
	    MOCK_KAFKA_MAX_PARTITIONS, &partitions) == -1) {
		fprintf(stderr, "mock-kafka: bad partition count in \"%s\" "
		    "(1..%d)\n", arg, MOCK_KAFKA_MAX_PARTITIONS);
		return -1;
	}
	t = &mk->topics[mk->ntopics];
	t->name = strndup(arg, len);
	if (t->name == NULL) {
		fprintf(stderr, "mock-kafka: out of memory\n");
		return -1;
	}
	t->partitions = partitions;
	mk->ntopics++;
	return 0;
}

/*
 * Write text to path through path.tmp and rename(2), so a reader polling for
 * path sees either nothing or the whole content.  Returns 0 or -1.
 */
static int
mock_kafka_write_file(const char *path, const char *text)
{
	char	 tmp[PATH_MAX];
	FILE	*fp;
	int	 n;

	n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		fprintf(stderr, "mock-kafka: %s: path too long\n", path);
		return -1;
	}
	if ((fp = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "mock-kafka: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fputs(text, fp) == EOF || fclose(fp) == EOF) {
		fprintf(stderr, "mock-kafka: %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "mock-kafka: rename %s: %s\n", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Record the brokers' state in the -s file, if any.  Returns 0 or -1. */
static int
mock_kafka_write_state(struct mock_kafka *mk, const char *state)
{
	char	line[64];

	if (mk->state_file == NULL)
		return 0;
	snprintf(line, sizeof line, "%lu %s\n", mk->generation, state);
	return mock_kafka_write_file(mk->state_file, line);
}

/*
 * Set every broker up (up != 0) or down.  Returns 0, or -1 if librdkafka
 * refused any broker.
 */
static int
mock_kafka_set_brokers(struct mock_kafka *mk, int up)
{
	rd_kafka_resp_err_t	err;
	int32_t			id;
	int			rc = 0;

	for (id = 1; id <= mk->brokers; id++) {
		err = up ? rd_kafka_mock_broker_set_up(mk->mcluster, id) :
		    rd_kafka_mock_broker_set_down(mk->mcluster, id);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "mock-kafka: broker %d %s: %s\n", id,
			    up ? "up" : "down", rd_kafka_err2str(err));
			rc = -1;
		}
	}
	mk->generation++;
	fprintf(stderr, "mock-kafka: all %d broker(s) %s\n", mk->brokers,
	    up ? "up" : "down");
	if (mock_kafka_write_state(mk, up ? "up" : "down") == -1)
		rc = -1;
	return rc;
}

/*
 * Create the handle that owns the cluster, the cluster and its topics.
 * Returns 0 or -1 with a message on stderr.
 */
static int
mock_kafka_start(struct mock_kafka *mk)
{
	rd_kafka_conf_t		*conf;
	rd_kafka_resp_err_t	 err;
	char			 errstr[512];
	int			 i, rf;

	conf = rd_kafka_conf_new();
	/* The handle only carries the cluster: keep it quiet and local. */
	if (rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "3", errstr,
	    sizeof errstr) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "mock-kafka: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	mk->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (mk->rk == NULL) {
		fprintf(stderr, "mock-kafka: rd_kafka_new: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	mk->mcluster = rd_kafka_mock_cluster_new(mk->rk, mk->brokers);
	if (mk->mcluster == NULL) {
		fprintf(stderr, "mock-kafka: cannot create the mock cluster\n");
		return -1;
	}
	rf = mk->brokers < 3 ? mk->brokers : 3;
	for (i = 0; i < mk->ntopics; i++) {
		err = rd_kafka_mock_topic_create(mk->mcluster,
		    mk->topics[i].name, mk->topics[i].partitions, rf);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "mock-kafka: topic %s: %s\n",
			    mk->topics[i].name, rd_kafka_err2str(err));
			return -1;
		}
	}
	return 0;
}

static void
mock_kafka_free(struct mock_kafka *mk)
{
	int	i;

	if (mk->mcluster != NULL)
		rd_kafka_mock_cluster_destroy(mk->mcluster);
	if (mk->rk != NULL)
		rd_kafka_destroy(mk->rk);
	for (i = 0; i < mk->ntopics; i++)
		free(mk->topics[i].name);
}

/*
 * Wait for signals until SIGTERM or SIGINT.  The signals were blocked before
 * librdkafka started its threads, so they inherit the mask and only this
 * sigwaitinfo() ever sees them.  Returns 0, or -1 if a broker change failed.
 */
static int
mock_kafka_serve(struct mock_kafka *mk, const sigset_t *set)
{
	siginfo_t	info;
	int		sig, rc = 0;

	for (;;) {
		sig = sigwaitinfo(set, &info);
		if (sig == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "mock-kafka: sigwaitinfo: %s\n",
			    strerror(errno));
			return -1;
		}
		switch (sig) {
		case SIGUSR1:
			if (mock_kafka_set_brokers(mk, 0) == -1)
				rc = -1;
			break;
		case SIGUSR2:
			if (mock_kafka_set_brokers(mk, 1) == -1)
				rc = -1;
			break;
		default:
			fprintf(stderr, "mock-kafka: %s, stopping\n",
			    strsignal(sig));
			return rc;
		}
	}
}

int
main(int argc, char **argv)
{
	struct mock_kafka	 mk;
	sigset_t		 set;
	char			 line[1024];
	const char		*boot;
	int			 ch, rc = 1;

	memset(&mk, 0, sizeof mk);
	mk.brokers = 1;
	while ((ch = getopt(argc, argv, "b:t:f:s:h")) != -1) {
		switch (ch) {
		case 'b':
			if (mock_kafka_parse_int(optarg, 1,
			    MOCK_KAFKA_MAX_BROKERS, &mk.brokers) == -1) {
				fprintf(stderr, "mock-kafka: -b wants 1..%d\n",
				    MOCK_KAFKA_MAX_BROKERS);
				goto out;
			}
			break;
		case 't':
			if (mock_kafka_add_topic(&mk, optarg) == -1)
				goto out;
			break;
		case 'f':
			mk.addr_file = optarg;
			break;
		case 's':
			mk.state_file = optarg;
			break;
		case 'h':
			mock_kafka_usage(stdout);
			rc = 0;
			goto out;
		default:
			mock_kafka_usage(stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind != argc) {
		mock_kafka_usage(stderr);
		rc = 2;
		goto out;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		fprintf(stderr, "mock-kafka: sigprocmask: %s\n", strerror(errno));
		goto out;
	}
	/* A reader that went away must not kill the cluster. */
	signal(SIGPIPE, SIG_IGN);

	if (mock_kafka_start(&mk) == -1)
		goto out;
	boot = rd_kafka_mock_cluster_bootstraps(mk.mcluster);
	if (boot == NULL || *boot == '\0' ||
	    (size_t)snprintf(line, sizeof line, "%s\n", boot) >= sizeof line) {
		fprintf(stderr, "mock-kafka: no usable bootstrap address\n");
		goto out;
	}
	if (mock_kafka_write_state(&mk, "up") == -1)
		goto out;
	if (mk.addr_file != NULL && mock_kafka_write_file(mk.addr_file,
	    line) == -1)
		goto out;
	fputs(line, stdout);
	fflush(stdout);
	fprintf(stderr, "mock-kafka: %d broker(s), %d topic(s) at %s\n",
	    mk.brokers, mk.ntopics, boot);

	rc = mock_kafka_serve(&mk, &set) == -1 ? 1 : 0;
out:
	mock_kafka_free(&mk);
	return rc;
}
