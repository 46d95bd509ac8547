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

/*
 * main.c: subcommands, in the style of tmux's cmd_table.  A command is one
 * file, collector/cmd-<name>.c, defining `const struct collector_cmd
 * collector_cmd_<name>` (declared here), plus one line in main.c's
 * collector_cmds[].
 */
struct collector_cmd {
	const char	*name;		/* "query" */
	const char	*usage;		/* its arguments, for --help */
	const char	*help;		/* one line for --help */
	/*
	 * Run with cfg loaded (main frees it afterwards) and logging
	 * configured; opts are the command line's -c/-o, for a SIGHUP reload
	 * (cli_load_config into a new struct).  argv[0] is the command's name.
	 * Returns the exit status: 0, 1 on failure, 2 on a usage error.
	 */
	int		(*exec)(struct collector_config *cfg,
			    const struct cli_opts *opts, int argc, char **argv);
	unsigned	 issue;		/* exec NULL: the issue that builds it */
};

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
