/*
 * kafka-conf.c: librdkafka configuration for the collector's two clients,
 * the consumer (consume.c) and the findings producer (findings-feed.c).
 *
 * Every kafka.X key of the configuration file is librdkafka's property X,
 * for both clients (TLS and SASL settings are the same).  Properties that
 * librdkafka documents as the other kind of client's only (a consumer's
 * session.timeout.ms, a producer's linger.ms) are left out of each: they
 * would do nothing there but make librdkafka warn.  Which kind a property
 * belongs to is read from librdkafka itself (rd_kafka_conf_properties_show,
 * its "C/P" column), so the list is always this librdkafka's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "collector/collector.h"

#define KC_NAME_MAX	128

/* Properties of one kind only: name -> kc_consumer or kc_producer. */
static struct strmap	*kc_scope;
static char		*kc_text;
static char		 kc_consumer[] = "C", kc_producer[] = "P";

static void
kc_scope_load(void)
{
	char	*line, *save = NULL;
	size_t	 len = 0;
	FILE	*mem;

	if (kc_scope != NULL)
		return;
	kc_scope = strmap_new();
	if ((mem = open_memstream(&kc_text, &len)) == NULL)
		return;
	rd_kafka_conf_properties_show(mem);
	fclose(mem);
	/* Lines: "name | C/P | range | default | importance | text". */
	for (line = strtok_r(kc_text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char	*bar = strchr(line, '|'), *scope, *end;
		size_t	 n;

		if (bar == NULL)
			continue;
		for (n = (size_t)(bar - line); n > 0 && line[n - 1] == ' '; n--)
			;
		if (n == 0 || n >= KC_NAME_MAX || memchr(line, ' ', n) != NULL)
			continue;
		scope = bar + 1;
		while (*scope == ' ')
			scope++;
		if ((*scope != 'C' && *scope != 'P') ||
		    ((end = strchr(scope, '|')) != NULL &&
		    strspn(scope + 1, " ") != (size_t)(end - scope - 1)))
			continue;
		line[n] = '\0';
		strmap_put(kc_scope, line, *scope == 'C' ? kc_consumer :
		    kc_producer);
	}
}

/* Set key = value on conf; -1 with err "kafka.KEY: reason". */
int
kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
    char *err, size_t errlen)
{
	char e[256];

	if (rd_kafka_conf_set(conf, key, value, e, sizeof e) !=
	    RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka.%s: %s", key, e);
		return -1;
	}
	return 0;
}

/*
 * Apply the kafka.* pass-through keys to conf, for a client of type type,
 * after the client's own defaults (so the operator's values win).
 * Returns 0, or -1 with err naming the key.
 */
int
kafka_conf_passthrough(rd_kafka_conf_t *conf, rd_kafka_type_t type,
    const struct cfg_passthrough *kp, char *err, size_t errlen)
{
	const char	*other = type == RD_KAFKA_PRODUCER ? kc_consumer :
			    kc_producer;
	size_t		 i;

	kc_scope_load();
	for (i = 0; i < kp->n; i++) {
		const char *scope = strmap_get(kc_scope, kp->pairs[i].key);

		if (scope == other)
			continue;	/* the other client's */
		if (kafka_conf_set(conf, kp->pairs[i].key, kp->pairs[i].value,
		    err, errlen) == -1)
			return -1;
	}
	return 0;
}
