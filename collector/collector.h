/*
 * collector.h: what crosses files inside tallyman-collector.  Everything else
 * is static.  Sections are named by the file that defines them.  Store access
 * goes through collector/store.h.
 */
#ifndef TALLYMAN_COLLECTOR_H
#define TALLYMAN_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "common/common.h"
#include "schema/schema.h"

/* config.c */
struct collector_config {
	char	*log_level;
	char	*kafka_brokers;		/* kafka.brokers ("embedded" = in-process mock) */
	char	*kafka_topic;		/* kafka.topic */
	char	*kafka_group;		/* kafka.group */
	struct cfg_passthrough kafka;	/* any other kafka.X */
	char	*store_path;		/* store.path */
	char	*api_listen;		/* api.listen */
	char	*api_token_file;	/* api.token_file */
	char	*feeds_osv;		/* feeds.osv (list) */
	uint64_t feeds_interval;	/* feeds.interval (ns) */
	char	*findings_topic;	/* findings.topic */
	char	*findings_webhook;	/* findings.webhook */
};
extern const struct cfg_entry collector_config_table[];
extern const size_t collector_config_table_len;

/* version.c: version order, one comparer per ecosystem (version-*.c). */
struct version_scheme {
	const char *name;			/* "dpkg", "rpm", "apk" */
	/* 1 if s is a valid version in this scheme, else 0 (with reason). */
	int	(*valid)(const char *s, const char **why);
	/* <0, 0, >0 like strcmp; both must be valid. */
	int	(*compare)(const char *a, const char *b);
};
const struct version_scheme *version_scheme_find(const char *name);
extern const struct version_scheme version_dpkg;
extern const struct version_scheme version_rpm;
extern const struct version_scheme version_apk;
/* Every scheme, in table order (for help text and tests). */
extern const struct version_scheme *const version_schemes[];
extern const size_t version_schemes_len;
/* No scheme accepts a version longer than this (bytes): hostile input. */
#define VERSION_MAX_LEN	4096

/* cmd-compare-versions.c: `compare-versions SCHEME A B`; returns the exit code. */
int	cmd_compare_versions(int argc, char **argv);

#endif /* TALLYMAN_COLLECTOR_H */
