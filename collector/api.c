/*
 * api.c: the collector's HTTP JSON API (doc/api.md), with libmicrohttpd
 * driven by the collector's loop: MHD's epoll descriptor is watched by
 * uv_poll and its timeouts by a uv_timer, so requests are served on the
 * loop thread, between consumer batches, with no lock and no thread of
 * ours.
 *
 * Security: it binds api.listen (127.0.0.1:8750 by default); every request
 * but /healthz needs "Authorization: Bearer TOKEN", TOKEN being the
 * content of api.token_file (which others must not read nor its group
 * write; created with a random token, 0600, when missing).  api.auth = none
 * turns the check off, and is refused unless api.listen is a loopback
 * address.  Requests are untrusted: only GET and HEAD, bounded
 * parameters, unknown parameters refused, every error a JSON body with a
 * reason, never a crash.
 *
 * Routes are one table (api_routes[]); a handler fills the reply.  The
 * web page (collector/web/, embedded by collector/web/embed.sh) is served
 * at / and /ui/: static files, no token, a strict Content-Security-Policy
 * (its own script only); it asks for the token and reads this API.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "collector/collector.h"
#include "collector/store.h"

#define API_ARGS_MAX		32
#define API_VALUE_MAX		1024
#define API_ID_MAX		512
#define API_TOKEN_MAX		512
#define API_CONN_LIMIT		128
#define API_PER_IP_LIMIT	32
#define API_CONN_TIMEOUT_S	30

struct api_arg {
	const char	*key;
	const char	*value;
	int		 used;
};

struct api_req {
	struct api		*api;
	struct MHD_Connection	*conn;
	const char		*id;		/* path parameter, or NULL */
	struct api_arg		 args[API_ARGS_MAX];
	int			 nargs;
	int			 too_many;
	const char		*bad_arg;	/* over API_VALUE_MAX */
	/* The reply. */
	unsigned		 status;
	json_t			*body;		/* JSON body, or NULL */
	char			*text;		/* or a text body (owned) */
	size_t			 textlen;
	const char		*ctype;
};

struct api_route {
	const char	*path;		/* "/api/v1/hosts" */
	int		 with_id;	/* path + "/" + ID */
	int		 open;		/* no token needed */
	void		(*fn)(struct api_req *r);
};

struct api {
	struct collector	*co;
	struct MHD_Daemon	*mhd;
	uv_poll_t		 poll;
	uv_timer_t		 timer;
	int			 nclosed;
	char			*token;		/* NULL: api.auth = none */
	uint64_t		 requests[6];	/* by status class: 1xx..5xx */
	uint64_t		 unauthorized;
	char			 listen[128];
};

/* ---------------------------------------------------------------------- */
/* Replies */

static void
api_error(struct api_req *r, unsigned status, const char *error,
    const char *fmt, ...)
{
	char	reason[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	json_decref(r->body);
	r->status = status;
	r->body = json_object();
	json_object_set_new(r->body, "error", json_string(error));
	json_object_set_new(r->body, "reason", record_json_str(reason));
}

static void
api_ok(struct api_req *r, json_t *body)
{
	r->status = MHD_HTTP_OK;
	r->body = body;
}

/* ---------------------------------------------------------------------- */
/* Parameters */

static enum MHD_Result
api_arg_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct api_req *r = cls;

	if (r->nargs == API_ARGS_MAX) {
		r->too_many = 1;
		return MHD_NO;
	}
	if ((value != NULL && strlen(value) > API_VALUE_MAX) ||
	    strlen(key) > API_VALUE_MAX) {
		r->bad_arg = key;
		return MHD_NO;
	}
	r->args[r->nargs].key = key;
	r->args[r->nargs].value = value != NULL ? value : "";
	r->nargs++;
	return MHD_YES;
}

/* The value of parameter key (the last one given), or NULL. */
static const char *
api_arg(struct api_req *r, const char *key)
{
	const char	*v = NULL;
	int		 i;

	for (i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].key, key) == 0) {
			r->args[i].used = 1;
			v = r->args[i].value;
		}
	return v;
}

/* After a handler read its parameters: any other is an error (typos
 * would otherwise silently widen a query). */
static int
api_args_unknown(struct api_req *r)
{
	int i;

	for (i = 0; i < r->nargs; i++)
		if (!r->args[i].used) {
			api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
			    "unknown parameter '%.64s'", r->args[i].key);
			return 1;
		}
	return 0;
}

static int
api_bool(struct api_req *r, const char *key, int *out)
{
	const char *v = api_arg(r, key);

	if (v == NULL)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "no") == 0)
		*out = 0;
	else if (strcmp(v, "any") == 0)
		*out = -1;
	else {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "%s: expected true, false or any, not '%.64s'", key, v);
		return -1;
	}
	return 0;
}

static int
api_uint(struct api_req *r, const char *key, uint64_t min, uint64_t max,
    uint64_t *out)
{
	const char		*v = api_arg(r, key);
	char			*end;
	unsigned long long	 n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < min ||
	    n > max) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "%s: expected a number from %llu to %llu, not '%.64s'", key,
		    (unsigned long long)min, (unsigned long long)max, v);
		return -1;
	}
	*out = n;
	return 0;
}

static int
api_duration(struct api_req *r, const char *key, uint64_t *out)
{
	const char *v = api_arg(r, key);

	if (v == NULL)
		return 0;
	if (cfg_parse_duration(v, out) == -1 || *out == 0) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "%s: expected a duration such as 500ms, 10s, 5m, 2h, not "
		    "'%.64s'", key, v);
		return -1;
	}
	return 0;
}

/*
 * A point in time: RFC 3339 ("2026-12-06T10:00:00Z", fraction and offset
 * allowed), or a duration meaning that long ago ("15m").
 */
int
api_parse_time(const char *v, uint64_t now, uint64_t *out)
{
	struct tm	 tm;
	const char	*p;
	char		*end;
	uint64_t	 frac = 0, scale = 1000000000ULL, d;
	long		 off = 0;
	time_t		 t;

	if (cfg_parse_duration(v, &d) == 0 && d != 0) {
		*out = d < now ? now - d : 1;
		return 0;
	}
	memset(&tm, 0, sizeof tm);
	if ((p = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		long hh = strtol(p + 1, &end, 10), mm;

		if (end != p + 3 || *end != ':')
			return -1;
		mm = strtol(end + 1, &end, 10);
		if (end != p + 6 || hh > 23 || mm > 59)
			return -1;
		off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p = end;
	} else {
		return -1;
	}
	if (*p != '\0' || (t = timegm(&tm)) == (time_t)-1 || t - off < 0)
		return -1;
	*out = (uint64_t)(t - off) * 1000000000ULL + frac;
	return 0;
}

static int
api_time(struct api_req *r, const char *key, uint64_t *out)
{
	const char *v = api_arg(r, key);

	if (v == NULL)
		return 0;
	if (api_parse_time(v, now_ns(), out) == -1) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "%s: expected an RFC 3339 time (2026-12-06T10:00:00Z) or "
		    "a duration ago (15m), not '%.64s'", key, v);
		return -1;
	}
	return 0;
}

/* limit and cursor, shared by every list. */
static int
api_page(struct api_req *r, unsigned *limit, uint64_t *cursor)
{
	uint64_t l = *limit;

	if (api_uint(r, "limit", 1, STORE_LIMIT_MAX, &l) == -1 ||
	    api_uint(r, "cursor", 0, UINT32_MAX, cursor) == -1)
		return -1;
	*limit = (unsigned)l;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Handlers */

static void
api_store_reply(struct api_req *r, const struct store_query *q,
    const char *what)
{
	json_t			*out = NULL;
	enum store_qresult	 res;

	res = store_query(r->api->co->store, q, &out);
	switch (res) {
	case STORE_QOK:
		api_ok(r, out);
		return;
	case STORE_QNOTFOUND:
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no %s '%.128s'",
		    what, q->id != NULL ? q->id : "");
		break;
	case STORE_QAMBIGUOUS:
		api_error(r, MHD_HTTP_CONFLICT, "ambiguous", "'%.128s' names "
		    "several %ss: give the full id, or host=", q->id, what);
		if (out != NULL)
			json_object_set(r->body, "candidates",
			    json_object_get(out, "candidates"));
		break;
	case STORE_QERROR:
		api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error",
		    "the store failed (see the collector's log)");
		break;
	}
	json_decref(out);
}

/* host, image, namespace, pod, pod_namespace, name, running, privileged,
 * lifetime_lt, since, until: the container filters. */
static int
api_ctr_filters(struct api_req *r, struct store_query *q)
{
	q->host = api_arg(r, "host");
	q->image = api_arg(r, "image");
	q->ns = api_arg(r, "namespace");
	q->pod = api_arg(r, "pod");
	q->pod_ns = api_arg(r, "pod_namespace");
	if (api_bool(r, "running", &q->running) == -1 ||
	    api_bool(r, "privileged", &q->privileged) == -1 ||
	    api_duration(r, "lifetime_lt", &q->lifetime_lt_ns) == -1 ||
	    api_time(r, "since", &q->since_ns) == -1 ||
	    api_time(r, "until", &q->until_ns) == -1)
		return -1;
	if (q->since_ns != 0 && q->until_ns != 0 && q->since_ns > q->until_ns) {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "since is after until");
		return -1;
	}
	return 0;
}

static void
api_hosts(struct api_req *r)
{
	struct store_query q;

	store_query_init(&q, r->id != NULL ? STORE_Q_HOST : STORE_Q_HOSTS);
	q.id = r->id;
	if (r->id == NULL && api_page(r, &q.limit, &q.cursor) == -1)
		return;
	if (api_args_unknown(r))
		return;
	api_store_reply(r, &q, "host");
}

static void
api_containers(struct api_req *r)
{
	struct store_query q;

	store_query_init(&q, r->id != NULL ? STORE_Q_CONTAINER :
	    STORE_Q_CONTAINERS);
	q.id = r->id;
	if (r->id != NULL) {
		q.host = api_arg(r, "host");
	} else {
		q.name = api_arg(r, "name");
		if (api_ctr_filters(r, &q) == -1 ||
		    api_page(r, &q.limit, &q.cursor) == -1)
			return;
	}
	if (api_args_unknown(r))
		return;
	api_store_reply(r, &q, "container");
	if (r->id != NULL && r->status == MHD_HTTP_OK) {
		/* Its open findings, from the engine. */
		struct findings_filter	 f;
		json_t			*fj;

		findings_filter_init(&f);
		f.container = json_string_value(json_object_get(r->body, "id"));
		f.host = json_string_value(json_object_get(r->body, "host"));
		f.limit = FINDINGS_LIMIT_MAX;
		fj = findings_query(correlate_run_engine(r->api->co->cr), &f);
		json_object_set(r->body, "findings",
		    json_object_get(fj, "findings"));
		json_decref(fj);
	}
}

static void
api_images(struct api_req *r)
{
	struct store_query q;

	store_query_init(&q, r->id != NULL ? STORE_Q_IMAGE : STORE_Q_IMAGES);
	q.id = r->id;
	q.host = api_arg(r, "host");
	if (r->id == NULL && api_page(r, &q.limit, &q.cursor) == -1)
		return;
	if (api_args_unknown(r))
		return;
	api_store_reply(r, &q, "image");
}

static void
api_packages(struct api_req *r)
{
	struct store_query q;

	store_query_init(&q, STORE_Q_PACKAGES);
	q.name = api_arg(r, "name");
	q.version = api_arg(r, "version");
	q.ecosystem = api_arg(r, "ecosystem");
	if (api_ctr_filters(r, &q) == -1 || api_args_unknown(r))
		return;
	if (q.name == NULL || *q.name == '\0') {
		api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "name is required (a binary or source package name)");
		return;
	}
	/* By default: what runs now; a window or running=any widens it. */
	if (api_arg(r, "running") == NULL && q.since_ns == 0 &&
	    q.until_ns == 0)
		q.running = 1;
	api_store_reply(r, &q, "package");
}

static void
api_findings(struct api_req *r)
{
	struct findings_filter	f;
	char			why[256];
	int			i;

	findings_filter_init(&f);
	for (i = 0; i < r->nargs; i++) {
		if (findings_filter_set(&f, r->args[i].key, r->args[i].value,
		    why, sizeof why) == -1) {
			api_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", "%s",
			    why);
			return;
		}
		r->args[i].used = 1;
	}
	api_ok(r, findings_query(correlate_run_engine(r->api->co->cr), &f));
}

static void
api_vulnerability(struct api_req *r)
{
	json_t *out;

	if (api_args_unknown(r))
		return;
	out = findings_blast_radius(correlate_run_engine(r->api->co->cr),
	    r->id);
	if (out == NULL) {
		api_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no advisory or "
		    "finding knows '%.128s'", r->id);
		return;
	}
	api_ok(r, out);
}

static void
api_stats(struct api_req *r)
{
	struct store_query		 q;
	struct correlate_run_stats	 cs;
	json_t				*out = NULL;

	if (api_args_unknown(r))
		return;
	store_query_init(&q, STORE_Q_STATS);
	if (store_query(r->api->co->store, &q, &out) != STORE_QOK) {
		api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error",
		    "the store failed (see the collector's log)");
		return;
	}
	if (r->api->co->fstore != NULL) {
		/* Findings are in their own store, the findings writer
		 * thread's: counted while it does not write. */
		json_t			*fo = NULL;
		enum store_qresult	 res;

		uv_mutex_lock(&r->api->co->findings_mu);
		res = store_query(r->api->co->fstore, &q, &fo);
		uv_mutex_unlock(&r->api->co->findings_mu);
		if (res != STORE_QOK) {
			json_decref(out);
			api_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "store_error", "the findings store failed (see the "
			    "collector's log)");
			return;
		}
		json_object_set(out, "findings_stored",
		    json_object_get(fo, "findings_stored"));
		json_decref(fo);
	}
	correlate_run_stats(r->api->co->cr, &cs);
	json_object_set_new(out, "findings_open",
	    json_integer((json_int_t)cs.engine.open));
	json_object_set_new(out, "advisories",
	    json_integer((json_int_t)cs.db.live));
	api_ok(r, out);
}

static void
api_healthz(struct api_req *r)
{
	struct consume_stats	 cs;
	json_t			*o, *k;
	uint64_t		 hosts, missing, dups;

	if (api_args_unknown(r))
		return;
	consume_stats(r->api->co->consume, &cs);
	ledger_totals(r->api->co->ledger, &hosts, &missing, &dups);
	o = json_object();
	json_object_set_new(o, "status", json_string(cs.store_errors > 0 &&
	    cs.last_batch_ns == 0 ? "degraded" : "ok"));
	json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(o, "uptime_s", json_integer((json_int_t)
	    ((now_ns() - r->api->co->started_ns) / 1000000000ULL)));
	k = json_object();
	json_object_set_new(k, "brokers", json_string(r->api->co->brokers));
	json_object_set_new(k, "embedded",
	    json_boolean(r->api->co->embedded != NULL));
	json_object_set_new(k, "partitions_assigned",
	    json_integer((json_int_t)cs.partitions));
	json_object_set_new(k, "lag", json_integer((json_int_t)cs.lag));
	json_object_set_new(o, "kafka", k);
	json_object_set_new(o, "hosts", json_integer((json_int_t)hosts));
	json_object_set_new(o, "last_batch", record_json_time(cs.last_batch_ns));
	api_ok(r, o);
}

/* Append a formatted line to the text reply. */
static void
api_text(struct api_req *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*line = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("api: out of memory");
	r->text = xreallocarray(r->text, r->textlen + (size_t)n + 1, 1);
	memcpy(r->text + r->textlen, line, (size_t)n + 1);
	r->textlen += (size_t)n;
	free(line);
}

static void
api_metrics(struct api_req *r)
{
	struct collector	*co = r->api->co;
	struct consume_stats	 cs;
	struct store		*st = co->store;
	uint64_t		 hosts, missing, dups;
	uint64_t		 fst_commits = 0, fst_commit_ns = 0, fst_errors = 0;
	char			*cor;
	size_t			 corlen, i;

	if (api_args_unknown(r))
		return;
	consume_stats(co->consume, &cs);
	if (co->fstore != NULL) {
		/* The findings writer thread's store: counters only. */
		fst_commits = __atomic_load_n(&co->fstore->commits,
		    __ATOMIC_RELAXED);
		fst_commit_ns = __atomic_load_n(&co->fstore->commit_ns_total,
		    __ATOMIC_RELAXED);
		fst_errors = __atomic_load_n(&co->fstore->errors,
		    __ATOMIC_RELAXED);
	}
	ledger_totals(co->ledger, &hosts, &missing, &dups);
	api_text(r, "# HELP tallyman_records_total Records accepted and "
	    "stored, by kind.\n# TYPE tallyman_records_total counter\n");
	for (i = 1; i < TM_KIND_MAX; i++)
		api_text(r, "tallyman_records_total{kind=\"%s\"} %llu\n",
		    tm_kind_name((enum tm_kind)i),
		    (unsigned long long)cs.records[i]);
	api_text(r, "# HELP tallyman_rejects_total Messages refused, by "
	    "reason.\n# TYPE tallyman_rejects_total counter\n");
	for (i = 1; i < REJ_MAX; i++)
		api_text(r, "tallyman_rejects_total{reason=\"%s\"} %llu\n",
		    store_reject_name((unsigned)i),
		    (unsigned long long)cs.rejects[i]);
	api_text(r,
	    "# HELP tallyman_messages_total Kafka messages read.\n"
	    "# TYPE tallyman_messages_total counter\n"
	    "tallyman_messages_total %llu\n"
	    "# HELP tallyman_message_bytes_total Their payload bytes.\n"
	    "# TYPE tallyman_message_bytes_total counter\n"
	    "tallyman_message_bytes_total %llu\n"
	    "# HELP tallyman_duplicates_total Records dropped as seen before.\n"
	    "# TYPE tallyman_duplicates_total counter\n"
	    "tallyman_duplicates_total %llu\n"
	    "# HELP tallyman_sequence_missing Records never received, over "
	    "every host's sequence.\n"
	    "# TYPE tallyman_sequence_missing gauge\n"
	    "tallyman_sequence_missing %llu\n"
	    "# HELP tallyman_hosts Hosts known.\n"
	    "# TYPE tallyman_hosts gauge\n"
	    "tallyman_hosts %llu\n"
	    "# HELP tallyman_consumer_lag Messages the group is behind.\n"
	    "# TYPE tallyman_consumer_lag gauge\n"
	    "tallyman_consumer_lag %llu\n"
	    "# HELP tallyman_partitions_assigned Partitions this replica "
	    "consumes.\n"
	    "# TYPE tallyman_partitions_assigned gauge\n"
	    "tallyman_partitions_assigned %llu\n"
	    "# HELP tallyman_kafka_errors_total Errors reported by librdkafka.\n"
	    "# TYPE tallyman_kafka_errors_total counter\n"
	    "tallyman_kafka_errors_total %llu\n"
	    "# HELP tallyman_store_batches_total Batches committed.\n"
	    "# TYPE tallyman_store_batches_total counter\n"
	    "tallyman_store_batches_total %llu\n"
	    "# HELP tallyman_store_batch_seconds_total Time spent in them "
	    "(checks, writes, commit).\n"
	    "# TYPE tallyman_store_batch_seconds_total counter\n"
	    "tallyman_store_batch_seconds_total %.6f\n"
	    "# HELP tallyman_batches_decoded_ahead_total Batches decoded by "
	    "the decoder thread while the loop correlated the batch before.\n"
	    "# TYPE tallyman_batches_decoded_ahead_total counter\n"
	    "tallyman_batches_decoded_ahead_total %llu\n"
	    "# HELP tallyman_store_commit_seconds_total Time spent committing "
	    "transactions.\n"
	    "# TYPE tallyman_store_commit_seconds_total counter\n"
	    "tallyman_store_commit_seconds_total %.6f\n"
	    "# HELP tallyman_store_commits_total Transactions committed.\n"
	    "# TYPE tallyman_store_commits_total counter\n"
	    "tallyman_store_commits_total %llu\n"
	    "# HELP tallyman_store_errors_total Failed statements and batches "
	    "rolled back.\n"
	    "# TYPE tallyman_store_errors_total counter\n"
	    "tallyman_store_errors_total %llu\n"
	    "# HELP tallyman_findings_written_total Finding changes written "
	    "to the store.\n"
	    "# TYPE tallyman_findings_written_total counter\n"
	    "tallyman_findings_written_total %llu\n"
	    "# HELP tallyman_findings_unwritten Finding changes waiting to be "
	    "written to the store.\n"
	    "# TYPE tallyman_findings_unwritten gauge\n"
	    "tallyman_findings_unwritten %llu\n"
	    "# HELP tallyman_api_requests_total API requests, by status class.\n"
	    "# TYPE tallyman_api_requests_total counter\n",
	    (unsigned long long)cs.messages, (unsigned long long)cs.bytes,
	    (unsigned long long)cs.duplicates, (unsigned long long)missing,
	    (unsigned long long)hosts, (unsigned long long)cs.lag,
	    (unsigned long long)cs.partitions,
	    (unsigned long long)cs.kafka_errors,
	    (unsigned long long)cs.batches, (double)cs.store_ns / 1e9,
	    (unsigned long long)cs.ahead,
	    (double)(st->commit_ns_total + fst_commit_ns) / 1e9,
	    (unsigned long long)(st->commits + fst_commits),
	    (unsigned long long)(st->errors + fst_errors + cs.store_errors),
	    (unsigned long long)__atomic_load_n(&co->findings_written,
	    __ATOMIC_RELAXED),
	    (unsigned long long)__atomic_load_n(&co->findings_queued,
	    __ATOMIC_RELAXED));
	for (i = 1; i <= 5; i++)
		api_text(r, "tallyman_api_requests_total{code=\"%zuxx\"} %llu\n",
		    i, (unsigned long long)r->api->requests[i]);
	cor = correlate_run_metrics(co->cr, &corlen);
	if (cor != NULL)
		api_text(r, "%s", cor);
	free(cor);
	r->status = MHD_HTTP_OK;
	r->ctype = "text/plain; version=0.0.4; charset=utf-8";
}

static const struct api_route api_routes[] = {
	{ "/healthz", 0, 1, api_healthz },
	{ "/metrics", 0, 0, api_metrics },
	{ "/api/v1/stats", 0, 0, api_stats },
	{ "/api/v1/hosts", 0, 0, api_hosts },
	{ "/api/v1/hosts", 1, 0, api_hosts },
	{ "/api/v1/containers", 0, 0, api_containers },
	{ "/api/v1/containers", 1, 0, api_containers },
	{ "/api/v1/images", 0, 0, api_images },
	{ "/api/v1/images", 1, 0, api_images },
	{ "/api/v1/packages", 0, 0, api_packages },
	{ "/api/v1/findings", 0, 0, api_findings },
	{ "/api/v1/vulnerabilities", 1, 0, api_vulnerability },
};

/* ---------------------------------------------------------------------- */
/* Dispatch */

static const struct api_route *
api_route(const char *url, const char **id)
{
	size_t i;

	*id = NULL;
	for (i = 0; i < TM_NELEM(api_routes); i++) {
		const struct api_route	*rt = &api_routes[i];
		size_t			 n = strlen(rt->path);

		if (strncmp(url, rt->path, n) != 0)
			continue;
		if (!rt->with_id && (url[n] == '\0' ||
		    (url[n] == '/' && url[n + 1] == '\0')))
			return rt;
		if (rt->with_id && url[n] == '/' && url[n + 1] != '\0' &&
		    strchr(url + n + 1, '/') == NULL) {
			*id = url + n + 1;
			return rt;
		}
	}
	return NULL;
}

/* Constant time in the length of the expected token. */
static int
api_token_ok(const char *expected, const char *given)
{
	size_t		i, n = strlen(expected), g = strlen(given);
	unsigned char	d = n != g;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(expected[i] ^ given[i < g ? i : 0]);
	return d == 0;
}

static int
api_authorized(struct api *a, struct MHD_Connection *conn)
{
	const char *h;

	if (a->token == NULL)
		return 1;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	return api_token_ok(a->token, h);
}

/* What every answer carries: the page's code only, nothing framed. */
static void
api_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "connect-src 'self'; img-src 'self'; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'");
}

/*
 * The web page's files (web-assets.c): public, like any login page; the
 * data it shows comes from the API, with the token the user gives.
 */
static const struct web_asset *
api_web_asset(const char *url)
{
	size_t i;

	for (i = 0; i < web_assets_len; i++)
		if (strcmp(web_assets[i].url, url) == 0)
			return &web_assets[i];
	return NULL;
}

static enum MHD_Result
api_send_asset(struct api *a, struct MHD_Connection *conn,
    const struct web_asset *w)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			 type[64];

	resp = MHD_create_response_from_buffer(w->len, (void *)(uintptr_t)w->data,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	snprintf(type, sizeof type, "%s; charset=utf-8", w->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	api_headers(resp);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	a->requests[2]++;
	return ret;
}

static enum MHD_Result
api_send(struct api_req *r)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			*buf;
	size_t			 len;

	if (r->body != NULL) {
		buf = json_dumps(r->body, JSON_COMPACT);
		if (buf == NULL) {
			buf = xstrdup("{\"error\":\"internal\",\"reason\":"
			    "\"the answer could not be encoded\"}");
			r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		}
		len = strlen(buf);
		r->ctype = "application/json";
	} else {
		buf = r->text != NULL ? r->text : xstrdup("");
		len = r->textlen;
		r->text = NULL;
	}
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    r->ctype != NULL ? r->ctype : "text/plain");
	if (r->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"tallyman\"");
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	api_headers(resp);
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	if (r->status / 100 >= 1 && r->status / 100 <= 5)
		r->api->requests[r->status / 100]++;
	return ret;
}

static enum MHD_Result
api_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api		*a = cls;
	struct api_req		 r;
	const struct api_route	*rt;
	enum MHD_Result		 ret;

	memset(&r, 0, sizeof r);
	r.api = a;
	r.conn = conn;
	if (*con_cls != NULL) {
		/* A body we did not ask for: swallow it (the reply is sent). */
		*upload_data_size = 0;
		return MHD_YES;
	}
	*con_cls = a;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		api_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
		    "only GET and HEAD");
	} else if (api_web_asset(url) != NULL) {
		return api_send_asset(a, conn, api_web_asset(url));
	} else if ((rt = api_route(url, &r.id)) == NULL) {
		api_error(&r, MHD_HTTP_NOT_FOUND, "not_found", "no such path: "
		    "%.128s (see doc/api.md)", url);
	} else if (!rt->open && !api_authorized(a, conn)) {
		a->unauthorized++;
		api_error(&r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
		    "a valid 'Authorization: Bearer TOKEN' header is required "
		    "(the token is in api.token_file)");
	} else if (r.id != NULL && strlen(r.id) > API_ID_MAX) {
		api_error(&r, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "identifier longer than %d bytes", API_ID_MAX);
	} else {
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
		    api_arg_cb, &r);
		if (r.too_many)
			api_error(&r, MHD_HTTP_BAD_REQUEST, "bad_request",
			    "more than %d parameters", API_ARGS_MAX);
		else if (r.bad_arg != NULL)
			api_error(&r, MHD_HTTP_BAD_REQUEST, "bad_request",
			    "parameter '%.64s' longer than %d bytes", r.bad_arg,
			    API_VALUE_MAX);
		else
			rt->fn(&r);
		if (r.status == 0)
			api_error(&r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "internal", "no answer");
	}
	ret = api_send(&r);
	json_decref(r.body);
	free(r.text);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* The loop */

static void	api_schedule(struct api *a);

static void
api_run(struct api *a)
{
	MHD_run(a->mhd);
	api_schedule(a);
}

static void
api_poll_cb(uv_poll_t *p, int status, int events)
{
	api_run(p->data);
}

static void
api_timer_cb(uv_timer_t *t)
{
	api_run(t->data);
}

/* MHD's next timeout (idle connections) on our timer. */
static void
api_schedule(struct api *a)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(a->mhd, &ms) == MHD_YES)
		uv_timer_start(&a->timer, api_timer_cb, ms, 0);
	else
		uv_timer_stop(&a->timer);
}

/* ---------------------------------------------------------------------- */
/* Start and stop */

/* Whether the address is loopback (127.0.0.0/8, ::1). */
static int
api_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

/*
 * Read the token from path (0600-like: no group or other access), or make
 * one when the file does not exist.  Returns the token or NULL (err set).
 */
static char *
api_token_load(const char *path, char *err, size_t errlen)
{
	struct stat	 sb;
	unsigned char	 rnd[32];
	char		*buf = NULL, hex[65];
	size_t		 len, i;
	int		 fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT) {
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
			snprintf(err, errlen, "api: getrandom: %s",
			    strerror(errno));
			return NULL;
		}
		for (i = 0; i < sizeof rnd; i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd == -1 || write(fd, hex, 64) != 64 ||
		    write(fd, "\n", 1) != 1) {
			snprintf(err, errlen, "api: api.token_file %s: cannot "
			    "create it: %s", path, strerror(errno));
			if (fd != -1)
				close(fd);
			return NULL;
		}
		close(fd);
		log_info("api: no token file: made one with a random token in "
		    "%s", path);
		return xstrdup(hex);
	}
	if (fd == -1) {
		snprintf(err, errlen, "api: api.token_file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 027) != 0) {
		snprintf(err, errlen, "api: api.token_file %s: must be a "
		    "regular file that others cannot read and its group cannot "
		    "write (chmod 600, or 640 for a group of readers)", path);
		close(fd);
		return NULL;
	}
	if (safe_read_fd(fd, API_TOKEN_MAX, &buf, &len) == -1) {
		snprintf(err, errlen, "api: api.token_file %s: %s", path,
		    errno == EFBIG ? "larger than 512 bytes" : strerror(errno));
		close(fd);
		return NULL;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (len < 16 || strchr(buf, '\n') != NULL) {
		snprintf(err, errlen, "api: api.token_file %s: the token must "
		    "be one line of at least 16 characters", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Resolve api.listen into ss. */
static int
api_resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *sl,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[128], *colon;
	const char	*port;
	int		 rc;

	snprintf(host, sizeof host, "%s", listen);
	if (host[0] == '[') {
		char *close = strchr(host, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		*close = '\0';
		port = close + 2;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else {
		if ((colon = strrchr(host, ':')) == NULL)
			goto bad;
		*colon = '\0';
		port = colon + 1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "api: api.listen %s: %s", listen,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen, "api: api.listen %s: expected HOST:PORT", listen);
	return -1;
}

static int
api_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * libmicrohttpd's unescaping (%HH) for paths and parameters, except that
 * %00 stays as it is: a decoded NUL would silently cut an id or a value
 * ("good-a%00evil" answering for "good-a").  Returns the new length.
 */
static size_t
api_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char	*r = s, *w = s;
	int	 hi, lo;

	while (*r != '\0') {
		if (r[0] == '%' && (hi = api_hexval(r[1])) != -1 &&
		    (lo = api_hexval(r[2])) != -1 && (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("api: libmicrohttpd: %s", buf);
}

struct api *
api_start(struct collector *co, char *err, size_t errlen)
{
	const struct collector_config	*cfg = co->cfg;
	struct api			*a = xcalloc(1, sizeof *a);
	struct sockaddr_storage		 ss;
	socklen_t			 sl;
	const union MHD_DaemonInfo	*info;
	unsigned			 flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	a->co = co;
	snprintf(a->listen, sizeof a->listen, "%s", cfg->api_listen);
	if (api_resolve(cfg->api_listen, &ss, &sl, err, errlen) == -1)
		goto fail;
	if (strcmp(cfg->api_auth, "none") == 0) {
		if (!api_loopback((struct sockaddr *)&ss)) {
			snprintf(err, errlen, "api: api.auth = none is only "
			    "allowed on a loopback api.listen, not %s",
			    cfg->api_listen);
			goto fail;
		}
		log_warnx("api: api.auth = none: the API takes requests "
		    "without a token on %s", cfg->api_listen);
	} else if ((a->token = api_token_load(cfg->api_token_file, err,
	    errlen)) == NULL) {
		goto fail;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, api_access_cb, a,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, api_unescape, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)API_PER_IP_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONN_TIMEOUT_S,
	    MHD_OPTION_END);
	if (a->mhd == NULL) {
		snprintf(err, errlen, "api: cannot listen on %s: %s",
		    cfg->api_listen, strerror(errno));
		goto fail;
	}
	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	uv_poll_init(co->loop, &a->poll, info->epoll_fd);
	a->poll.data = a;
	uv_poll_start(&a->poll, UV_READABLE, api_poll_cb);
	uv_timer_init(co->loop, &a->timer);
	a->timer.data = a;
	api_schedule(a);
	log_info("api: listening on http://%s/ (%s)", cfg->api_listen,
	    a->token != NULL ? "bearer token required" : "no token");
	return a;
fail:
	free(a->token);
	free(a);
	return NULL;
}

static void
api_closed(uv_handle_t *h)
{
	struct api *a = h->data;

	if (++a->nclosed < 2)
		return;
	MHD_stop_daemon(a->mhd);
	free(a->token);
	free(a);
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	uv_poll_stop(&a->poll);
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->poll, api_closed);
	uv_close((uv_handle_t *)&a->timer, api_closed);
}
