/*
 * collector.h: what crosses files inside tallyman-collector.  Everything else
 * is static.  Sections are named by the file that defines them.  Store access
 * goes through collector/store.h.
 */
#ifndef TALLYMAN_COLLECTOR_H
#define TALLYMAN_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
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
	char	*api_auth;		/* api.auth: token | none */
	uint64_t store_retention;	/* store.retention (ns) */
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

/*
 * Correlation (issue 7): vulnerability feeds in the OSV format, matched per
 * ecosystem; CIS Docker checks; findings and their feed.
 */

/* cvss.c: severity from a CVSS vector. */
enum sev_level {
	SEV_UNKNOWN = 0,
	SEV_NONE,
	SEV_LOW,
	SEV_MEDIUM,
	SEV_HIGH,
	SEV_CRITICAL,
};
const char *sev_level_name(enum sev_level level);
enum sev_level sev_level_parse(const char *s);
enum sev_level cvss_level(double score);
int	cvss_score(const char *vector, double *score, enum sev_level *level,
	    const char **why);

/* osv.c: OSV records in memory, indexed by (ecosystem, package name). */
#define OSV_RECORD_MAX		(8u * 1024 * 1024)	/* bytes of one JSON file */
#define OSV_RECORDS_MAX		2000000u		/* records in one database */
enum osv_event_kind {
	OSV_EV_INTRODUCED,
	OSV_EV_FIXED,
	OSV_EV_LAST_AFFECTED,
	OSV_EV_LIMIT,
};
struct osv_event {
	enum osv_event_kind kind;
	char	*version;
};
enum osv_range_type {
	OSV_RANGE_ECOSYSTEM,
	OSV_RANGE_SEMVER,
	OSV_RANGE_OTHER,	/* GIT: not evaluated */
};
struct osv_range {
	enum osv_range_type type;
	struct osv_event *events;
	size_t	 nevents;
};
struct osv_affected {
	char	*ecosystem;	/* as written: "Red Hat:enterprise_linux:9::appstream" */
	char	*eco_key;	/* index key: "Red Hat:enterprise_linux:9" */
	char	*name;
	struct osv_range *ranges;
	size_t	 nranges;
	char	**versions;	/* explicit affected versions */
	size_t	 nversions;
	char	**binaries;	/* SUSE: ecosystem_specific.binaries */
	size_t	 nbinaries;
};
struct osv_vuln {
	char	*id;
	char	*modified;
	char	*summary;
	char	**aliases;
	size_t	 naliases;
	char	*vector;	/* CVSS vector the score came from, or NULL */
	double	 score;		/* base score, -1 when none */
	enum sev_level level;
	int	 v2;		/* score is CVSS v2 */
	int	 withdrawn;
	int	 bad_severity;	/* a CVSS vector did not parse */
	struct osv_affected *affected;
	size_t	 naffected;
	char	*origin;	/* the feed and file it came from */
};
struct osv_db_stats {
	uint64_t records;	/* parsed (live and withdrawn) */
	uint64_t withdrawn;	/* withdrawn records seen */
	uint64_t withdrawn_live;	/* live copies dropped: withdrawn elsewhere */
	uint64_t rejected;	/* files or records refused */
	uint64_t duplicates;	/* older copies of an id dropped */
	uint64_t live;		/* records kept */
	uint64_t indexed;	/* (ecosystem, name) entries */
};
struct osv_db;
struct osv_db *osv_db_new(void);
void	osv_db_free(struct osv_db *db);
int	osv_db_parse(struct osv_db *db, const char *buf, size_t len,
	    const char *origin, char *err, size_t errlen);
void	osv_db_finish(struct osv_db *db);
int	osv_db_is_withdrawn(const struct osv_db *db, const char *id);
size_t	osv_db_lookup(const struct osv_db *db, const char *eco_key,
	    const char *name,
	    int (*fn)(const struct osv_vuln *, const struct osv_affected *, void *),
	    void *arg);
const struct osv_vuln *osv_db_find(const struct osv_db *db, const char *id);
const char *osv_db_digest(const struct osv_db *db);
void	osv_db_stats(const struct osv_db *db, struct osv_db_stats *st);
void	osv_db_count_rejected(struct osv_db *db);

/* osv-source.c: folders, zip archives, files and URLs of OSV records. */
#define OSV_BODY_MAX	(256u * 1024 * 1024)	/* one JSON file or body */
struct osv_feeds {
	char	**items;	/* feeds.osv, split */
	size_t	 nitems;
	char	*cache_dir;	/* downloads kept here (ETag, Last-Modified) */
	unsigned retries;	/* tries after the first */
	uint64_t backoff_ms;	/* first wait; doubles each time */
};
struct osv_load_stats {
	uint64_t files;		/* JSON files parsed */
	uint64_t bad_files;	/* files refused (not JSON, too big, bad record) */
	uint64_t downloads;	/* HTTP requests made */
	uint64_t not_modified;	/* 304 answers */
	uint64_t failed_urls;	/* URLs that failed every try */
	uint64_t failed_items;	/* feeds.osv items that failed (any kind) */
	uint64_t downloaded_bytes;
};
int	osv_load_dir(struct osv_db *db, struct osv_load_stats *ls, const char *path);
int	osv_load_zip(struct osv_db *db, struct osv_load_stats *ls, const char *path);
int	osv_load_path(struct osv_db *db, struct osv_load_stats *ls, const char *path);
int	osv_load_url(struct osv_db *db, struct osv_load_stats *ls,
	    const struct osv_feeds *f, const char *url);
struct osv_db *osv_feeds_load(const struct osv_feeds *f, struct osv_load_stats *ls);

/* ecosystem.c: os-release -> OSV ecosystem and how it keys packages. */
enum eco_key_by {
	ECO_KEY_SOURCE,		/* source package (Debian, Ubuntu, Alpine origin) */
	ECO_KEY_BINARY,
	ECO_KEY_EITHER,		/* binary name, then source name (Red Hat) */
};
struct eco_target;
struct ecosystem_def {
	const char	*os_id;		/* os-release ID: "debian" */
	const char	*osv;		/* OSV ecosystem: "Debian" */
	const char	*pkg;		/* package ecosystem: "dpkg" */
	enum eco_key_by	 key;
	int		(*release)(const char *name, const char *version_id,
			    const char *pretty, struct eco_target *t);
};
struct eco_target {
	char	eco[160];		/* "Debian:12" */
	char	unscoped[64];		/* "Debian" also matches, or "" */
	char	pro[64];		/* "Ubuntu:Pro:22.04:LTS" for ESM, or "" */
	const struct ecosystem_def *def;
	const struct version_scheme *scheme;
};
int	ecosystem_map(const char *os_id, const char *version_id,
	    const char *pretty, struct eco_target *t);

/* osv-match.c */
struct osv_match {
	const struct osv_vuln *vuln;
	const struct osv_affected *aff;
	const char	*fixed;		/* first fixed version above, or NULL */
	const char	*name;		/* the name matched (source or binary) */
	const char	*version;	/* the version compared */
};
int	osv_affected_contains(const struct osv_affected *a,
	    const struct version_scheme *vs, const char *v, const char **fixed);
int	osv_match_package(const struct osv_db *db, const struct eco_target *t,
	    const struct tm_package *p,
	    int (*fn)(const struct osv_match *, void *), void *arg);

/* cis.c: CIS Docker Benchmark v1.6.0 container checks, one table line each. */
struct cis_check {
	const char	*id;		/* "5.5" */
	const char	*title;		/* the benchmark's title */
	enum sev_level	 level;
	/* 1 if c fails the check (detail says why), else 0. */
	int		(*fails)(const struct tm_container *c, char *detail,
			    size_t detaillen);
};
extern const struct cis_check cis_checks[];
extern const size_t cis_checks_len;
const struct cis_check *cis_check_find(const char *id);

/* strmap.c: string -> pointer map, and a string intern pool. */
struct strmap;
struct strmap *strmap_new(void);
void	strmap_free(struct strmap *m);
size_t	strmap_count(const struct strmap *m);
void	*strmap_get(const struct strmap *m, const char *key);
void	*strmap_put(struct strmap *m, const char *key, void *value);
void	*strmap_del(struct strmap *m, const char *key);
void	strmap_each(const struct strmap *m,
	    int (*fn)(const char *key, void *value, void *arg), void *arg);
struct strpool;
struct strpool *strpool_new(void);
void	strpool_free(struct strpool *p);
const char *strpool_get(struct strpool *p, const char *s);
size_t	strpool_count(const struct strpool *p);

/* findings.c: one finding, its identity, its JSON form. */
enum finding_kind {
	FINDING_VULN = 0,	/* "vulnerability" */
	FINDING_MISCONFIG,	/* "misconfiguration" */
	FINDING_DRIFT,		/* "drift" */
	FINDING_SHORT_LIVED,	/* "short-lived" (informational) */
	FINDING_HOST_SILENT,	/* "host-silent" */
	FINDING_KIND_MAX
};
enum finding_change {
	FINDING_NEW,		/* opened (published) */
	FINDING_RESOLVED,	/* resolved (published) */
	FINDING_UPDATED,	/* fixed version, severity or detail changed */
};
/* Strings are interned (the engine's pool) except detail. */
struct finding {
	const char	*key;		/* identity: kind|host|container|... */
	char		 id[33];	/* hex: first seen, sha256(key, first seen) */
	enum finding_kind kind;
	enum sev_level	 level;
	double		 score;		/* CVSS base score, -1 when none */
	const char	*host;
	const char	*container;	/* container id */
	const char	*container_name;
	const char	*image;		/* image key */
	const char	*image_ref;
	const char	*package;	/* binary package */
	const char	*source;	/* the name the advisory keys (source) */
	const char	*installed;
	const char	*fixed;		/* NULL: no fix known */
	const char	*advisory;	/* OSV id */
	const char	*aliases;	/* comma-separated (CVE ids) */
	const char	*check;		/* CIS id "5.5" */
	const char	*title;
	char		*detail;
	uint64_t	 first_seen_ns;
	uint64_t	 last_seen_ns;
	uint64_t	 resolved_ns;	/* 0 while open */
	const char	*reason;	/* why it was resolved */
	int		 open;
	uint64_t	 mark;		/* evaluation generation (engine) */
};
const char *finding_kind_name(enum finding_kind kind);
int	finding_kind_parse(const char *name, enum finding_kind *out);
void	finding_set_id(struct finding *f);
/* JSON of f (caller owns); with event "new"/"resolved" for the feed. */
json_t	*finding_to_json(const struct finding *f, const char *event);
void	finding_time(uint64_t ns, char *buf, size_t len);	/* RFC 3339 */
struct finding *finding_dup(const struct finding *f);
struct finding *finding_hold(const struct finding *copy);
void	finding_free(struct finding *f);

/* correlate.c: the fleet as the correlation engine sees it, and findings. */
struct correlate_config {
	uint64_t short_lived_ns;	/* exited sooner than this: short-lived */
	unsigned silent_intervals;	/* heartbeats missed before host-silent */
	uint64_t heartbeat_ns;		/* assumed interval before the first */
	size_t	 history_max;		/* resolved findings kept in memory */
};
struct correlate_stats {
	uint64_t hosts, containers, containers_live;
	uint64_t images;		/* (host, image) inventories */
	uint64_t inventories;		/* distinct ones (matched once each) */
	uint64_t open, resolved;	/* findings now */
	uint64_t opened, closed;	/* changes since start */
	uint64_t evaluations;		/* container evaluations */
	uint64_t feed_changes;		/* whole-fleet re-evaluations */
	uint64_t bad_versions;		/* packages whose version is invalid */
	uint64_t unmapped_images;	/* OS not covered by an OSV ecosystem */
	uint64_t last_reeval_ns;	/* time the last re-evaluation took */
};
struct correlate;
/* A sink registered as keeping (correlate_add_sink's keeps) is given a
 * copy (finding_dup's, shared by every such sink) to hold with
 * finding_hold; any other gets the engine's finding for the call only. */
typedef void (*correlate_sink_fn)(const struct finding *f,
	    enum finding_change change, void *arg);
struct correlate *correlate_new(const struct correlate_config *cfg);
void	correlate_free(struct correlate *cor);
int	correlate_add_sink(struct correlate *cor, correlate_sink_fn fn, void *arg,
	    int keeps);
void	correlate_set_feed(struct correlate *cor, struct osv_db *db, uint64_t now_ns);
const struct osv_db *correlate_feed(const struct correlate *cor);
void	correlate_record(struct correlate *cor, const struct tm_record *rec,
	    uint64_t rx_ns);
void	correlate_tick(struct correlate *cor, uint64_t now_ns);
void	correlate_reevaluate(struct correlate *cor, uint64_t now_ns);
void	correlate_reevaluate_image(struct correlate *cor, const char *host,
	    const char *image, uint64_t now_ns);
void	correlate_restore(struct correlate *cor, const struct finding *f);
void	correlate_each_finding(struct correlate *cor,
	    int (*fn)(const struct finding *f, void *arg), void *arg);
void	correlate_stats(const struct correlate *cor, struct correlate_stats *st);

/* findings-feed.c: new and resolved findings to Kafka and a webhook. */
struct findings_feed_stats {
	uint64_t published;	/* handed to the producer */
	uint64_t delivered;	/* acknowledged by the brokers */
	uint64_t failed;	/* not delivered */
	uint64_t kafka_queue;	/* in the producer's queue now */
	uint64_t hook_ok, hook_errors, hook_dropped, hook_queued;
};
struct findings_feed;
struct findings_feed *findings_feed_start(uv_loop_t *loop,
	    const struct collector_config *cfg, char *err, size_t errlen);
void	findings_feed_sink(const struct finding *f, enum finding_change ch,
	    void *arg);
void	findings_feed_stats(const struct findings_feed *ff,
	    struct findings_feed_stats *st);
void	findings_feed_stop(struct findings_feed *ff, int timeout_ms);

/* correlate-run.c: the engine, the feed and their timers in `run`. */
struct correlate_run_stats {
	struct correlate_stats engine;
	struct findings_feed_stats feed;
	struct osv_db_stats db;
	struct osv_load_stats last_load;
	uint64_t loads;
	uint64_t last_load_ns;
	char	 digest[65];
};
struct correlate_run;
struct correlate_run *correlate_run_start(uv_loop_t *loop,
	    const struct collector_config *cfg, char *err, size_t errlen);
void	correlate_run_reload(struct correlate_run *cr,
	    const struct collector_config *cfg);
void	correlate_run_record(struct correlate_run *cr,
	    const struct tm_record *rec, uint64_t rx_ns);
struct correlate *correlate_run_engine(struct correlate_run *cr);
int	correlate_run_add_sink(struct correlate_run *cr, correlate_sink_fn fn,
	    void *arg, int keeps);
void	correlate_run_stats(const struct correlate_run *cr,
	    struct correlate_run_stats *st);
void	correlate_run_stop(struct correlate_run *cr);
char	*correlate_run_metrics(const struct correlate_run *cr, size_t *len);

/* cmd-feeds.c: `feeds`: load feeds.osv once, print counts (and matches). */
extern const struct collector_cmd collector_cmd_feeds;

/* findings-query.c: /api/v1/findings and /api/v1/vulnerabilities/{id}. */
#define FINDINGS_LIMIT_DEFAULT	100
#define FINDINGS_LIMIT_MAX	1000
struct findings_filter {
	unsigned	 kinds;		/* bit per enum finding_kind; 0 = any */
	unsigned	 levels;	/* bit per enum sev_level; 0 = any */
	unsigned	 min_level;	/* enum sev_level; 0 = any */
	const char	*host, *image, *container, *advisory, *check;
	int		 state;		/* 1 open (default), 0 resolved, -1 all */
	unsigned	 limit;
	uint64_t	 cursor;
};
void	findings_filter_init(struct findings_filter *f);
int	findings_filter_set(struct findings_filter *f, const char *key,
	    const char *value, char *why, size_t whylen);
int	findings_filter_match(const struct findings_filter *f,
	    const struct finding *x);
json_t	*findings_query(struct correlate *cor, const struct findings_filter *f);
json_t	*findings_blast_radius(struct correlate *cor, const char *id);

/*
 * Why a message was refused: the schema's reasons (enum tm_reject), then
 * the collector's own.  Names (store_reject_name, store.c) are metric
 * labels and API keys.
 */
#define REJ_KEY_MISMATCH	TM_REJ_MAX	/* "key_mismatch": host id != message key */
#define REJ_SEQ_JUMP		(TM_REJ_MAX + 1)	/* "seq_jump": implausibly far ahead */
#define REJ_MAX			(TM_REJ_MAX + 2)
const char *store_reject_name(unsigned why);

/* consume.c: the inventory topic into the store (consumer group). */
struct store;
struct ledger;
typedef void (*consume_record_fn)(const struct tm_record *rec,
	    uint64_t rx_ns, void *arg);
struct consume_stats {
	uint64_t messages;		/* messages read */
	uint64_t bytes;			/* their payload bytes */
	uint64_t records[TM_KIND_MAX];	/* accepted and stored, per kind */
	uint64_t duplicates;		/* dropped: seen before (replays) */
	uint64_t late;			/* accepted into a sequence gap */
	uint64_t parts;			/* parts of split records held */
	uint64_t rejects[REJ_MAX];	/* refused, per reason */
	uint64_t kafka_errors;
	uint64_t store_errors;		/* batches rolled back */
	uint64_t batches;		/* batches committed */
	uint64_t store_ns;		/* time in those batches */
	uint64_t ahead;			/* batches decoded ahead */
	uint64_t last_batch_ns;		/* wall clock of the last one */
	uint64_t partitions;		/* assigned now */
	uint64_t rebalances;
	uint64_t lag;			/* messages behind (statistics) */
};
struct consume;
struct consume *consume_start(uv_loop_t *loop,
	    const struct collector_config *cfg, const char *brokers,
	    struct store *st, struct ledger *lg, consume_record_fn on_record,
	    void *arg, char *err, size_t errlen);
void	consume_stats(const struct consume *c, struct consume_stats *st);
void	consume_stop(struct consume *c);

/* kafka-conf.c: librdkafka settings of the consumer and the findings
 * producer (each takes the kafka.* keys that are not the other's only). */
int	kafka_conf_set(rd_kafka_conf_t *conf, const char *key,
	    const char *value, char *err, size_t errlen);
int	kafka_conf_passthrough(rd_kafka_conf_t *conf, rd_kafka_type_t type,
	    const struct cfg_passthrough *kp, char *err, size_t errlen);

/* embedded.c: kafka.brokers = embedded (single-host trial). */
struct embedded;
struct embedded *embedded_start(const struct collector_config *cfg,
	    char *err, size_t errlen);
const char *embedded_bootstrap(const struct embedded *em);
void	embedded_stop(struct embedded *em);

/* cmd-run.c: the running collector, handed to the parts that serve it. */
struct api;
struct collector {
	uv_loop_t		*loop;
	struct collector_config	*cfg;
	const struct cli_opts	*opts;
	const char		*brokers;	/* effective bootstrap servers */
	struct store		*store;
	struct store		*fstore;	/* findings (cmd-run.c) */
	uv_mutex_t		 findings_mu;	/* held while fstore is used */
	struct ledger		*ledger;
	struct correlate_run	*cr;
	struct consume		*consume;
	struct api		*api;
	struct embedded		*embedded;
	uint64_t		 started_ns;
	/* Set by the findings writer thread: read with __atomic_load_n. */
	uint64_t		 findings_written;	/* changes in the store */
	uint64_t		 findings_queued;	/* changes not yet */
};
extern const struct collector_cmd collector_cmd_run;

/* api.c: the HTTP JSON API (doc/api.md). */
struct api *api_start(struct collector *co, char *err, size_t errlen);
void	api_stop(struct api *a);
int	api_parse_time(const char *v, uint64_t now, uint64_t *out);

/*
 * web-assets.c, generated from collector/web/ by collector/web/embed.sh:
 * the web page's files, served by api.c at their url.
 */
struct web_asset {
	const char		*url;		/* "/", "/ui/app.js" */
	const char		*type;		/* "text/html" */
	const unsigned char	*data;
	size_t			 len;
};
extern const struct web_asset web_assets[];
extern const size_t web_assets_len;

/* cmd-query.c: `query WHAT`: the API, as tables for operators. */
extern const struct collector_cmd collector_cmd_query;

#endif /* TALLYMAN_COLLECTOR_H */
