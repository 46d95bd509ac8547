/*
 * embedded.c: `kafka.brokers = embedded`: a Kafka-protocol broker inside
 * the collector, for a single-host trial (the quick start).  It is
 * librdkafka's mock cluster (rdkafka_mock.h): it listens on 127.0.0.1 on a
 * port of its choosing, speaks the Kafka protocol to any client (the
 * agent, kcat), keeps everything in memory and forgets it at exit.  Not
 * for production: point kafka.brokers at a real cluster there.
 *
 * The address is logged and written to the file kafka.bootstrap beside
 * store.path, for the agent's kafka.brokers (scripts/quickstart.sh).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "collector/collector.h"

#define EMBEDDED_PARTITIONS	3

struct embedded {
	rd_kafka_t		*rk;
	rd_kafka_mock_cluster_t	*mc;
	char			*bootstrap;
	char			*file;
};

/* Write text to path through path.tmp and a rename: readers never see half. */
static int
embedded_write(const char *path, const char *text)
{
	char	*tmp = NULL;
	int	 fd, rc = -1;
	size_t	 len = strlen(text);

	xasprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd != -1 && write(fd, text, len) == (ssize_t)len &&
	    write(fd, "\n", 1) == 1 && close(fd) == 0) {
		fd = -1;
		rc = rename(tmp, path);
	}
	if (fd != -1)
		close(fd);
	if (rc == -1) {
		log_warn("embedded: %s", path);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/*
 * Start the embedded cluster with the topics the collector uses
 * (cfg->kafka_topic and cfg->findings_topic).  Returns NULL with err set.
 */
struct embedded *
embedded_start(const struct collector_config *cfg, char *err, size_t errlen)
{
	struct embedded	*em = xcalloc(1, sizeof *em);
	rd_kafka_conf_t	*conf = rd_kafka_conf_new();
	char		 e[256], *copy;

	/* The cluster lives in a client handle of its own; quiet. */
	if (rd_kafka_conf_set(conf, "log_level", "3", e, sizeof e) !=
	    RD_KAFKA_CONF_OK ||
	    (em->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e)) ==
	    NULL) {
		snprintf(err, errlen, "embedded: %s", e);
		rd_kafka_conf_destroy(conf);
		free(em);
		return NULL;
	}
	if ((em->mc = rd_kafka_mock_cluster_new(em->rk, 1)) == NULL) {
		snprintf(err, errlen, "embedded: cannot start the mock cluster");
		rd_kafka_destroy(em->rk);
		free(em);
		return NULL;
	}
	if (rd_kafka_mock_topic_create(em->mc, cfg->kafka_topic,
	    EMBEDDED_PARTITIONS, 1) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_mock_topic_create(em->mc, cfg->findings_topic,
	    EMBEDDED_PARTITIONS, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "embedded: cannot create the topics");
		embedded_stop(em);
		return NULL;
	}
	em->bootstrap = xstrdup(rd_kafka_mock_cluster_bootstraps(em->mc));
	copy = xstrdup(cfg->store_path);
	xasprintf(&em->file, "%s/kafka.bootstrap", dirname(copy));
	free(copy);
	(void)embedded_write(em->file, em->bootstrap);
	log_info("embedded: Kafka-protocol broker for a single-host trial on "
	    "%s (in memory, not for production; address in %s)",
	    em->bootstrap, em->file);
	return em;
}

const char *
embedded_bootstrap(const struct embedded *em)
{
	return em->bootstrap;
}

void
embedded_stop(struct embedded *em)
{
	if (em == NULL)
		return;
	if (em->file != NULL)
		unlink(em->file);
	if (em->mc != NULL)
		rd_kafka_mock_cluster_destroy(em->mc);
	rd_kafka_destroy(em->rk);
	free(em->bootstrap);
	free(em->file);
	free(em);
}
