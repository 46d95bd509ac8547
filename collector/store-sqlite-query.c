/*
 * store-sqlite-query.c: the read side of the SQLite store: what the API's
 * fleet endpoints and the query tool answer (store_query in store.h; the
 * JSON shapes are in doc/api.md).  Every value a client gives is bound as a
 * parameter, never pasted into SQL; every list is bounded (limit, and
 * SQ_ROWS_MAX rows read for one answer).
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "collector/collector.h"
#include "collector/store.h"

#define SQ_SQL_MAX	4096
#define SQ_BINDS_MAX	32
#define SQ_ROWS_MAX	100000	/* rows read for one package search */
#define SQ_LIST_MAX	10000	/* entries in one nested list */

sqlite3 *store_sqlite_db(struct store *st);
enum store_qresult store_sqlite_query(struct store *st,
    const struct store_query *qy, json_t **out);

/* A statement built from pieces, with its parameters. */
struct sqb {
	char		 sql[SQ_SQL_MAX];
	size_t		 len;
	int		 overflow;
	struct {
		int		 is_int;
		const char	*s;
		sqlite3_int64	 i;
	}		 b[SQ_BINDS_MAX];
	int		 nb;
};

static void
sqb_add(struct sqb *q, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (q->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(q->sql + q->len, sizeof q->sql - q->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof q->sql - q->len)
		q->overflow = 1;
	else
		q->len += (size_t)n;
}

/* The next parameter's number, binding a string. */
static int
sqb_str(struct sqb *q, const char *s)
{
	if (q->nb == SQ_BINDS_MAX) {
		q->overflow = 1;
		return SQ_BINDS_MAX;
	}
	q->b[q->nb].is_int = 0;
	q->b[q->nb].s = s;
	return ++q->nb;
}

static int
sqb_int(struct sqb *q, uint64_t v)
{
	if (q->nb == SQ_BINDS_MAX) {
		q->overflow = 1;
		return SQ_BINDS_MAX;
	}
	q->b[q->nb].is_int = 1;
	q->b[q->nb].i = v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
	return ++q->nb;
}

static sqlite3_stmt *
sqb_prepare(sqlite3 *db, struct sqb *q)
{
	sqlite3_stmt	*s;
	int		 i;

	if (q->overflow) {
		log_warnx("store: query too long");
		return NULL;
	}
	if (sqlite3_prepare_v2(db, q->sql, (int)q->len, &s, NULL) != SQLITE_OK) {
		log_warnx("store: query: %s: %s", sqlite3_errmsg(db), q->sql);
		return NULL;
	}
	for (i = 0; i < q->nb; i++) {
		if (q->b[i].is_int)
			sqlite3_bind_int64(s, i + 1, q->b[i].i);
		else
			sqlite3_bind_text(s, i + 1, q->b[i].s, -1,
			    SQLITE_STATIC);
	}
	return s;
}

static sqlite3_stmt *
sq_prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_warnx("store: query: %s", sqlite3_errmsg(db));
		return NULL;
	}
	return s;
}

/* ---------------------------------------------------------------------- */
/* Columns to JSON */

static uint64_t
col_u64(sqlite3_stmt *s, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(s, i);

	return v < 0 ? 0 : (uint64_t)v;
}

static json_t *
col_str(sqlite3_stmt *s, int i)
{
	/* Stored strings came from agents: not necessarily UTF-8. */
	return record_json_str((const char *)sqlite3_column_text(s, i));
}

static void
jstr(json_t *o, const char *k, sqlite3_stmt *s, int i)
{
	json_object_set_new(o, k, col_str(s, i));
}

static void
jtime(json_t *o, const char *k, sqlite3_stmt *s, int i)
{
	json_object_set_new(o, k, record_json_time(col_u64(s, i)));
}

static void
jint(json_t *o, const char *k, sqlite3_stmt *s, int i)
{
	json_object_set_new(o, k, sqlite3_column_type(s, i) == SQLITE_NULL ?
	    json_null() : json_integer(sqlite3_column_int64(s, i)));
}

/*
 * A 64-bit identifier (a sequence epoch, up to 2^62) as a decimal string,
 * which JavaScript's numbers (2^53) would round; null when 0 (none sent).
 */
static void
jid64(json_t *o, const char *k, sqlite3_stmt *s, int i)
{
	if (sqlite3_column_int64(s, i) == 0)
		json_object_set_new(o, k, json_null());
	else
		jstr(o, k, s, i);
}

static void
jbool(json_t *o, const char *k, sqlite3_stmt *s, int i)
{
	json_object_set_new(o, k, json_boolean(sqlite3_column_int(s, i)));
}

/* A JSON text column (a list) as JSON, [] when absent or broken. */
static json_t *
col_json(sqlite3_stmt *s, int i)
{
	const unsigned char	*t = sqlite3_column_text(s, i);
	json_t			*j;

	if (t == NULL || (j = json_loads((const char *)t, 0, NULL)) == NULL)
		return json_array();
	return j;
}

static json_t *
page(json_t *list_obj, const char *name, json_t *items, uint64_t total,
    const struct store_query *q)
{
	char next[32];

	json_object_set_new(list_obj, name, items);
	json_object_set_new(list_obj, "total", json_integer((json_int_t)total));
	if (q->cursor + json_array_size(items) < total) {
		snprintf(next, sizeof next, "%llu", (unsigned long long)
		    (q->cursor + json_array_size(items)));
		json_object_set_new(list_obj, "next", json_string(next));
	} else {
		json_object_set_new(list_obj, "next", json_null());
	}
	return list_obj;
}

static uint64_t
count_of(sqlite3 *db, struct sqb *q)
{
	sqlite3_stmt	*s = sqb_prepare(db, q);
	uint64_t	 n = 0;

	if (s == NULL)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = col_u64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* ---------------------------------------------------------------------- */
/* Hosts */

#define HOST_COLS \
	"h.host_id, h.hostname, h.os_id, h.os_version, h.os_pretty, " \
	"h.kernel, h.arch, h.agent_version, h.docker_version, " \
	"h.containerd_version, h.first_seen_ns, h.last_seen_ns, h.hb_ns, " \
	"h.hb_interval_ns, h.seq_high, h.seq_missing, h.seq_duplicates, " \
	"h.records, h.rejects, h.facts_ns, h.boot_ns, h.ncpu, h.mem_bytes, " \
	"(SELECT count(*) FROM containers c WHERE c.host_id = h.host_id " \
	"AND c.state IN ('running', 'paused')), " \
	"(SELECT count(*) FROM containers c WHERE c.host_id = h.host_id), " \
	"h.heartbeat, h.seq_seen, h.seq_epoch, h.seq_restarts"

static json_t *
host_row(sqlite3_stmt *s, const struct store_query *q)
{
	json_t		*o = json_object(), *seq = json_object();
	uint64_t	 hb = col_u64(s, 12), ival = col_u64(s, 13);
	uint64_t	 last = col_u64(s, 11), silent_at;

	jstr(o, "id", s, 0);
	jstr(o, "hostname", s, 1);
	jstr(o, "os_id", s, 2);
	jstr(o, "os_version", s, 3);
	jstr(o, "os_pretty", s, 4);
	jstr(o, "kernel", s, 5);
	jstr(o, "arch", s, 6);
	jstr(o, "agent_version", s, 7);
	jstr(o, "docker_version", s, 8);
	jstr(o, "containerd_version", s, 9);
	jint(o, "ncpu", s, 21);
	jint(o, "mem_bytes", s, 22);
	jtime(o, "boot", s, 20);
	jtime(o, "first_seen", s, 10);
	jtime(o, "last_seen", s, 11);
	jtime(o, "last_heartbeat", s, 12);
	jint(o, "heartbeat_interval_ns", s, 13);
	/* Silent: three heartbeat intervals without one (or, before the
	 * first heartbeat, silent_ns without any record). */
	silent_at = hb != 0 && ival != 0 ? hb + 3 * ival : last + q->silent_ns;
	json_object_set_new(o, "silent", json_boolean(silent_at < q->now_ns));
	json_object_set_new(o, "silent_since", silent_at < q->now_ns ?
	    record_json_time(hb != 0 ? hb : last) : json_null());
	if (sqlite3_column_int(s, 26))
		jint(seq, "high", s, 14);
	else
		json_object_set_new(seq, "high", json_null());
	jint(seq, "missing", s, 15);
	jint(seq, "duplicates", s, 16);
	jid64(seq, "epoch", s, 27);
	jint(seq, "restarts", s, 28);
	json_object_set_new(o, "sequence", seq);
	jint(o, "records", s, 17);
	jint(o, "rejects", s, 18);
	jint(o, "containers_running", s, 23);
	jint(o, "containers", s, 24);
	return o;
}

static enum store_qresult
q_hosts(sqlite3 *db, const struct store_query *q, json_t **out)
{
	struct sqb	 b, c;
	sqlite3_stmt	*s;
	json_t		*items = json_array();

	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	sqb_add(&b, "SELECT " HOST_COLS " FROM hosts h WHERE h.host_id != ''");
	sqb_add(&c, "SELECT count(*) FROM hosts h WHERE h.host_id != ''");
	if (q->host != NULL) {
		sqb_add(&b, " AND h.host_id = ?%d", sqb_str(&b, q->host));
		sqb_add(&c, " AND h.host_id = ?%d", sqb_str(&c, q->host));
	}
	sqb_add(&b, " ORDER BY h.host_id LIMIT ?%d OFFSET ?%d",
	    sqb_int(&b, q->limit), sqb_int(&b, q->cursor));
	if ((s = sqb_prepare(db, &b)) == NULL) {
		json_decref(items);
		return STORE_QERROR;
	}
	while (sqlite3_step(s) == SQLITE_ROW)
		json_array_append_new(items, host_row(s, q));
	sqlite3_finalize(s);
	*out = page(json_object(), "hosts", items, count_of(db, &c), q);
	return STORE_QOK;
}

static enum store_qresult
q_host(sqlite3 *db, const struct store_query *q, json_t **out)
{
	sqlite3_stmt	*s, *t;
	json_t		*o, *kinds, *rej, *gaps;

	if ((s = sq_prep(db, "SELECT " HOST_COLS " FROM hosts h "
	    "WHERE h.host_id = ?1 AND h.host_id != ''")) == NULL)
		return STORE_QERROR;
	sqlite3_bind_text(s, 1, q->id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return STORE_QNOTFOUND;
	}
	o = host_row(s, q);
	if (sqlite3_column_type(s, 25) == SQLITE_BLOB) {
		struct tm_record rec;

		if (store_decode(sqlite3_column_blob(s, 25),
		    (size_t)sqlite3_column_bytes(s, 25), &rec) == 0) {
			if (rec.kind == TM_KIND_HEARTBEAT)
				json_object_set_new(o, "heartbeat",
				    record_json_heartbeat(&rec.body.heartbeat));
			tm_record_free(&rec);
		}
	}
	sqlite3_finalize(s);
	kinds = json_object();
	/* The columns are in enum tm_kind's order. */
	if ((t = sq_prep(db, "SELECT n_host, n_heartbeat, n_event, "
	    "n_container, n_image, n_drift FROM hosts WHERE host_id = ?1")) !=
	    NULL) {
		sqlite3_bind_text(t, 1, q->id, -1, SQLITE_STATIC);
		if (sqlite3_step(t) == SQLITE_ROW) {
			int	k, m, n = 0, order[TM_KIND_MAX];

			/* By name, as the API has always listed them. */
			for (k = TM_KIND_NONE + 1; k < TM_KIND_MAX; k++) {
				for (m = n; m > 0 && strcmp(tm_kind_name(
				    (enum tm_kind)order[m - 1]),
				    tm_kind_name((enum tm_kind)k)) > 0; m--)
					order[m] = order[m - 1];
				order[m] = k;
				n++;
			}
			for (m = 0; m < n; m++)
				if (sqlite3_column_int64(t, order[m] - 1) > 0)
					json_object_set_new(kinds,
					    tm_kind_name((enum tm_kind)order[m]),
					    json_integer(sqlite3_column_int64(t,
					    order[m] - 1)));
		}
		sqlite3_finalize(t);
	}
	json_object_set_new(o, "records_by_kind", kinds);
	rej = json_object();
	if ((t = sq_prep(db, "SELECT reason, n FROM rejects WHERE "
	    "host_id = ?1 ORDER BY reason")) != NULL) {
		sqlite3_bind_text(t, 1, q->id, -1, SQLITE_STATIC);
		while (sqlite3_step(t) == SQLITE_ROW)
			json_object_set_new(rej,
			    (const char *)sqlite3_column_text(t, 0),
			    json_integer(sqlite3_column_int64(t, 1)));
		sqlite3_finalize(t);
	}
	json_object_set_new(o, "rejects_by_reason", rej);
	gaps = json_array();
	if ((t = sq_prep(db, "SELECT lo, hi FROM seq_gaps WHERE host_id = ?1 "
	    "ORDER BY lo LIMIT 1024")) != NULL) {
		sqlite3_bind_text(t, 1, q->id, -1, SQLITE_STATIC);
		while (sqlite3_step(t) == SQLITE_ROW) {
			json_t *g = json_object();

			jint(g, "from", t, 0);
			jint(g, "to", t, 1);
			json_array_append_new(gaps, g);
		}
		sqlite3_finalize(t);
	}
	json_object_set_new(json_object_get(o, "sequence"), "gaps", gaps);
	gaps = json_array();
	if ((t = sq_prep(db, "SELECT epoch, high FROM seq_epochs WHERE "
	    "host_id = ?1 ORDER BY ord")) != NULL) {
		sqlite3_bind_text(t, 1, q->id, -1, SQLITE_STATIC);
		while (sqlite3_step(t) == SQLITE_ROW) {
			json_t *g = json_object();

			jid64(g, "epoch", t, 0);
			jint(g, "high", t, 1);
			json_array_append_new(gaps, g);
		}
		sqlite3_finalize(t);
	}
	json_object_set_new(json_object_get(o, "sequence"), "retired_epochs",
	    gaps);
	*out = o;
	return STORE_QOK;
}

/* ---------------------------------------------------------------------- */
/* Containers */

#define CTR_COLS \
	"c.host_id, c.id, c.runtime, c.ns, c.name, c.image_ref, c.image_id, " \
	"c.image_key, c.state, c.created_ns, c.started_ns, c.finished_ns, " \
	"c.removed_ns, c.lifetime_ns, c.exit_code, c.oom, c.pid, c.pod_name, " \
	"c.pod_ns, c.k8s_container, c.privileged, c.first_seen_ns, " \
	"c.last_seen_ns, c.image_digest, c.user, c.procs_missed, c.snapshot, " \
	"c.snapshot IS NOT NULL, c.snapshot_ns, c.first_snapshot_ns"

static json_t *
ctr_row(sqlite3_stmt *s)
{
	json_t *o = json_object();

	jstr(o, "host", s, 0);
	jstr(o, "id", s, 1);
	jstr(o, "runtime", s, 2);
	jstr(o, "namespace", s, 3);
	jstr(o, "name", s, 4);
	jstr(o, "image_ref", s, 5);
	jstr(o, "image_id", s, 6);
	jstr(o, "image", s, 7);
	jstr(o, "state", s, 8);
	jtime(o, "created", s, 9);
	jtime(o, "started", s, 10);
	jtime(o, "finished", s, 11);
	jtime(o, "removed", s, 12);
	jint(o, "lifetime_ns", s, 13);
	jint(o, "exit_code", s, 14);
	jbool(o, "oom", s, 15);
	jint(o, "pid", s, 16);
	jstr(o, "pod", s, 17);
	jstr(o, "pod_namespace", s, 18);
	jstr(o, "k8s_container", s, 19);
	jbool(o, "privileged", s, 20);
	jtime(o, "first_seen", s, 21);
	jtime(o, "last_seen", s, 22);
	jbool(o, "snapshot", s, 27);
	jtime(o, "snapshot_received", s, 28);
	jtime(o, "first_snapshot_received", s, 29);
	return o;
}

/* The WHERE clauses of a container list (on alias c) into b. */
static void
ctr_where(struct sqb *b, const struct store_query *q)
{
	if (q->host != NULL)
		sqb_add(b, " AND c.host_id = ?%d", sqb_str(b, q->host));
	if (q->image != NULL) {
		int n = sqb_str(b, q->image);

		sqb_add(b, " AND (c.image_key = ?%d OR c.image_id = ?%d OR "
		    "c.image_ref = ?%d OR c.image_digest = ?%d)", n, n, n, n);
	}
	if (q->ns != NULL)
		sqb_add(b, " AND c.ns = ?%d", sqb_str(b, q->ns));
	if (q->pod != NULL)
		sqb_add(b, " AND c.pod_name = ?%d", sqb_str(b, q->pod));
	if (q->pod_ns != NULL)
		sqb_add(b, " AND c.pod_ns = ?%d", sqb_str(b, q->pod_ns));
	if (q->name != NULL)
		sqb_add(b, " AND c.name = ?%d", sqb_str(b, q->name));
	if (q->running == 1)
		sqb_add(b, " AND c.state IN ('running', 'paused')");
	else if (q->running == 0)
		sqb_add(b, " AND c.state NOT IN ('running', 'paused')");
	if (q->privileged == 1)
		sqb_add(b, " AND c.privileged = 1");
	if (q->lifetime_lt_ns != 0)
		sqb_add(b, " AND c.lifetime_ns IS NOT NULL AND "
		    "c.lifetime_ns < ?%d", sqb_int(b, q->lifetime_lt_ns));
	if (q->since_ns != 0)
		sqb_add(b, " AND coalesce(c.finished_ns, c.removed_ns, "
		    "9223372036854775807) >= ?%d", sqb_int(b, q->since_ns));
	if (q->until_ns != 0)
		sqb_add(b, " AND coalesce(c.started_ns, c.created_ns, "
		    "c.first_seen_ns) <= ?%d", sqb_int(b, q->until_ns));
}

static enum store_qresult
q_containers(sqlite3 *db, const struct store_query *q, json_t **out)
{
	struct sqb	 b, c;
	sqlite3_stmt	*s;
	json_t		*items = json_array();

	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	sqb_add(&b, "SELECT " CTR_COLS " FROM containers c WHERE 1");
	ctr_where(&b, q);
	sqb_add(&b, " ORDER BY c.first_seen_ns DESC, c.host_id, c.id "
	    "LIMIT ?%d OFFSET ?%d", sqb_int(&b, q->limit),
	    sqb_int(&b, q->cursor));
	sqb_add(&c, "SELECT count(*) FROM containers c WHERE 1");
	ctr_where(&c, q);
	if ((s = sqb_prepare(db, &b)) == NULL) {
		json_decref(items);
		return STORE_QERROR;
	}
	while (sqlite3_step(s) == SQLITE_ROW)
		json_array_append_new(items, ctr_row(s));
	sqlite3_finalize(s);
	*out = page(json_object(), "containers", items, count_of(db, &c), q);
	return STORE_QOK;
}

/* Packages of pkgset id, as a JSON list. */
static json_t *
pkgset_json(sqlite3 *db, sqlite3_int64 set)
{
	sqlite3_stmt	*s;
	json_t		*a = json_array();

	if ((s = sq_prep(db, "SELECT ecosystem, name, version, epoch, arch, "
	    "source_name, source_version, vendor, modularity FROM packages "
	    "WHERE pkgset = ?1 ORDER BY ecosystem, name, version")) == NULL)
		return a;
	sqlite3_bind_int64(s, 1, set);
	while (sqlite3_step(s) == SQLITE_ROW) {
		json_t *p = json_object();

		jstr(p, "ecosystem", s, 0);
		jstr(p, "name", s, 1);
		jstr(p, "version", s, 2);
		jint(p, "epoch", s, 3);
		jstr(p, "arch", s, 4);
		jstr(p, "source_name", s, 5);
		jstr(p, "source_version", s, 6);
		jstr(p, "vendor", s, 7);
		jstr(p, "modularity", s, 8);
		json_array_append_new(a, p);
	}
	sqlite3_finalize(s);
	return a;
}

/*
 * The processes of container host/id: those of its last snapshot snap
 * (NULL: none) and the earlier ones it no longer lists (procs_past,
 * store-procs.c), by start time, the first 10 000.
 */
static json_t *
ctr_procs(sqlite3 *db, const char *host, const char *id,
    const struct tm_record *snap)
{
	struct tm_record	 past;
	struct tm_process	*all;
	sqlite3_stmt		*s;
	size_t			 n, i;
	json_t			*a = json_array();

	memset(&past, 0, sizeof past);
	if ((s = sq_prep(db, "SELECT procs_past FROM containers WHERE "
	    "host_id = ?1 AND id = ?2")) != NULL) {
		sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW &&
		    store_decode(sqlite3_column_blob(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0), &past) == 0 &&
		    past.kind != TM_KIND_CONTAINER)
			tm_record_free(&past);
		sqlite3_finalize(s);
	}
	all = store_procs_union(snap != NULL ? snap->body.container.procs :
	    NULL, snap != NULL ? snap->body.container.n_procs : 0,
	    past.body.container.procs, past.body.container.n_procs, &n);
	for (i = 0; i < n && i < 10000; i++)
		json_array_append_new(a, record_json_process(&all[i]));
	free(all);
	tm_record_free(&past);
	return a;
}

/* The container's details: snapshot, processes, image, drift. */
static void
ctr_details(sqlite3 *db, sqlite3_stmt *row, json_t *o)
{
	sqlite3_stmt	*s;
	const char	*host = (const char *)sqlite3_column_text(row, 0);
	const char	*id = (const char *)sqlite3_column_text(row, 1);
	const char	*ikey = (const char *)sqlite3_column_text(row, 7);
	struct tm_record rec;
	json_t		*drift = json_array();

	jstr(o, "image_digest", row, 23);
	jstr(o, "user", row, 24);
	jbool(o, "processes_missed", row, 25);
	if (store_decode(sqlite3_column_blob(row, 26),
	    (size_t)sqlite3_column_bytes(row, 26), &rec) == 0 &&
	    rec.kind == TM_KIND_CONTAINER) {
		const struct tm_container *c = &rec.body.container;

		json_object_set_new(o, "command",
		    record_json_strlist(c->cmd, c->n_cmd));
		json_object_set_new(o, "labels",
		    record_json_labels(c->labels, c->n_labels));
		json_object_set_new(o, "risks", record_json_risks(&c->risks));
		json_object_set_new(o, "snapshot_trigger", c->trigger ?
		    json_string(c->trigger) : json_null());
		json_object_set_new(o, "processes",
		    ctr_procs(db, host, id, &rec));
	} else
		json_object_set_new(o, "processes",
		    ctr_procs(db, host, id, NULL));
	tm_record_free(&rec);
	json_object_set_new(o, "image_inventory", json_null());
	if (ikey != NULL && (s = sq_prep(db, "SELECT os_id, os_version, "
	    "os_pretty, n_packages, pkgset FROM images WHERE host_id = ?1 AND "
	    "key = ?2")) != NULL) {
		sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, ikey, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			json_t *im = json_object();

			jstr(im, "os_id", s, 0);
			jstr(im, "os_version", s, 1);
			jstr(im, "os_pretty", s, 2);
			jint(im, "n_packages", s, 3);
			json_object_set_new(im, "packages",
			    pkgset_json(db, sqlite3_column_int64(s, 4)));
			json_object_set_new(o, "image_inventory", im);
		}
		sqlite3_finalize(s);
	}
	if ((s = sq_prep(db, "SELECT when_, time_ns, path, change, size, mode, "
	    "sha256 FROM drift WHERE host_id = ?1 AND container_id = ?2 "
	    "ORDER BY rowid LIMIT 10000")) != NULL) {
		sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
		while (sqlite3_step(s) == SQLITE_ROW) {
			json_t *d = json_object();

			jstr(d, "when", s, 0);
			jtime(d, "time", s, 1);
			jstr(d, "path", s, 2);
			jstr(d, "change", s, 3);
			jint(d, "size", s, 4);
			jint(d, "mode", s, 5);
			jstr(d, "sha256", s, 6);
			json_array_append_new(drift, d);
		}
		sqlite3_finalize(s);
	}
	json_object_set_new(o, "drift", drift);
}

static enum store_qresult
q_container(sqlite3 *db, const struct store_query *q, json_t **out)
{
	struct sqb	 b;
	sqlite3_stmt	*s;
	json_t		*first = NULL, *all = json_array();
	int		 n, rows = 0;

	memset(&b, 0, sizeof b);
	n = sqb_str(&b, q->id);
	/* An id, a unique prefix of at least 6 characters, or a name. */
	sqb_add(&b, "SELECT " CTR_COLS " FROM containers c WHERE (c.id = ?%d "
	    "OR (length(?%d) >= 6 AND substr(c.id, 1, length(?%d)) = ?%d) OR "
	    "c.name = ?%d)", n, n, n, n, n);
	if (q->host != NULL)
		sqb_add(&b, " AND c.host_id = ?%d", sqb_str(&b, q->host));
	sqb_add(&b, " ORDER BY c.id = ?%d DESC, c.last_seen_ns DESC LIMIT 50",
	    n);
	if ((s = sqb_prepare(db, &b)) == NULL) {
		json_decref(all);
		return STORE_QERROR;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		json_t *o = ctr_row(s);

		if (rows++ == 0) {
			ctr_details(db, s, o);
			first = json_incref(o);
		}
		json_array_append_new(all, o);
	}
	sqlite3_finalize(s);
	if (rows == 0) {
		json_decref(all);
		return STORE_QNOTFOUND;
	}
	if (rows > 1) {
		json_t *o = json_object();

		json_decref(first);
		json_object_set_new(o, "candidates", all);
		*out = o;
		return STORE_QAMBIGUOUS;
	}
	json_decref(all);
	*out = first;
	return STORE_QOK;
}

/* ---------------------------------------------------------------------- */
/* Images */

static enum store_qresult
q_images(sqlite3 *db, const struct store_query *q, json_t **out)
{
	struct sqb	 b, c;
	sqlite3_stmt	*s;
	json_t		*items = json_array();
	int		 h = 0;

	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	if (q->host != NULL)
		h = sqb_str(&b, q->host);
	/* One entry per image key; facts of the host that sent it last. */
	sqb_add(&b, "SELECT i.key, i.image_id, i.refs, i.os_id, i.os_version, "
	    "i.os_pretty, i.n_packages, max(i.last_seen_ns), min(i.first_seen_ns), "
	    "count(DISTINCT i.host_id), "
	    "(SELECT count(*) FROM containers c WHERE c.image_key = i.key AND "
	    "c.state IN ('running', 'paused')%s), "
	    "count(DISTINCT i.pkgset) FROM images i",
	    h ? " AND c.host_id = ?1" : "");
	if (h)
		sqb_add(&b, " WHERE i.host_id = ?1");
	sqb_add(&b, " GROUP BY i.key ORDER BY i.key LIMIT ?%d OFFSET ?%d",
	    sqb_int(&b, q->limit), sqb_int(&b, q->cursor));
	sqb_add(&c, "SELECT count(DISTINCT key) FROM images");
	if (q->host != NULL)
		sqb_add(&c, " WHERE host_id = ?%d", sqb_str(&c, q->host));
	if ((s = sqb_prepare(db, &b)) == NULL) {
		json_decref(items);
		return STORE_QERROR;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		json_t *o = json_object();

		jstr(o, "key", s, 0);
		jstr(o, "image_id", s, 1);
		json_object_set_new(o, "refs", col_json(s, 2));
		jstr(o, "os_id", s, 3);
		jstr(o, "os_version", s, 4);
		jstr(o, "os_pretty", s, 5);
		jint(o, "n_packages", s, 6);
		jtime(o, "last_seen", s, 7);
		jtime(o, "first_seen", s, 8);
		jint(o, "hosts", s, 9);
		jint(o, "containers_running", s, 10);
		/* Hosts disagreeing on an image's packages: worth a look. */
		jint(o, "package_sets", s, 11);
		json_array_append_new(items, o);
	}
	sqlite3_finalize(s);
	*out = page(json_object(), "images", items, count_of(db, &c), q);
	return STORE_QOK;
}

static enum store_qresult
q_image(sqlite3 *db, const struct store_query *q, json_t **out)
{
	struct sqb	 b;
	sqlite3_stmt	*s;
	json_t		*o = NULL, *hosts = json_array();
	sqlite3_int64	 set = -1;
	int		 n;

	memset(&b, 0, sizeof b);
	n = sqb_str(&b, q->id);
	sqb_add(&b, "SELECT key, image_id, refs, os_id, os_version, "
	    "os_codename, os_pretty, n_packages, pkgset, scan_ns, errors, notes, "
	    "host_id, first_seen_ns, last_seen_ns FROM images WHERE (key = ?%d "
	    "OR image_id = ?%d OR (length(?%d) >= 6 AND substr(key, 1, "
	    "length(?%d)) = ?%d) OR EXISTS (SELECT 1 FROM json_each(images.refs) "
	    "WHERE value = ?%d))", n, n, n, n, n, n);
	if (q->host != NULL)
		sqb_add(&b, " AND host_id = ?%d", sqb_str(&b, q->host));
	sqb_add(&b, " ORDER BY key = ?%d DESC, last_seen_ns DESC LIMIT %d", n,
	    SQ_LIST_MAX);
	if ((s = sqb_prepare(db, &b)) == NULL) {
		json_decref(hosts);
		return STORE_QERROR;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *key = sqlite3_column_text(s, 0);

		if (o == NULL) {
			o = json_object();
			jstr(o, "key", s, 0);
			jstr(o, "image_id", s, 1);
			json_object_set_new(o, "refs", col_json(s, 2));
			jstr(o, "os_id", s, 3);
			jstr(o, "os_version", s, 4);
			jstr(o, "os_codename", s, 5);
			jstr(o, "os_pretty", s, 6);
			jint(o, "n_packages", s, 7);
			set = sqlite3_column_int64(s, 8);
			jint(o, "scan_ns", s, 9);
			jint(o, "scan_errors", s, 10);
			json_object_set_new(o, "notes", col_json(s, 11));
		} else {
			json_t	*k = col_str(s, 0);
			int	 same = key != NULL &&
				    json_equal(json_object_get(o, "key"), k);

			json_decref(k);
			if (!same)
				continue;	/* another image matched too */
		}
		{
			json_t *h = json_object();

			jstr(h, "host", s, 12);
			jtime(h, "first_seen", s, 13);
			jtime(h, "last_seen", s, 14);
			json_object_set_new(h, "same_packages", json_boolean(
			    sqlite3_column_int64(s, 8) == set));
			json_array_append_new(hosts, h);
		}
	}
	sqlite3_finalize(s);
	if (o == NULL) {
		json_decref(hosts);
		return STORE_QNOTFOUND;
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "packages", pkgset_json(db, set));
	*out = o;
	return STORE_QOK;
}

/* ---------------------------------------------------------------------- */
/* Package search */

/* Append s to the array a unless it holds it already (bounded). */
static void
add_once(json_t *a, json_t *s)
{
	size_t i;

	if (json_is_null(s) || json_array_size(a) >= SQ_LIST_MAX) {
		json_decref(s);
		return;
	}
	for (i = 0; i < json_array_size(a); i++)
		if (json_equal(json_array_get(a, i), s)) {
			json_decref(s);
			return;
		}
	json_array_append_new(a, s);
}

static enum store_qresult
q_packages(sqlite3 *db, const struct store_query *q, json_t **out)
{
	struct sqb	 b;
	sqlite3_stmt	*s;
	json_t		*versions = json_array(), *cur = NULL;
	size_t		 rows = 0;
	int		 n, truncated = 0;
	char		 cur_eco[64] = "", cur_ver[TM_STR_SHORT + 1] = "";

	memset(&b, 0, sizeof b);
	n = sqb_str(&b, q->name);
	sqb_add(&b, "SELECT p.ecosystem, p.version, p.name, p.source_name, "
	    "p.source_version, i.key, i.host_id, i.refs, c.id, c.name, c.state, "
	    "c.started_ns, c.finished_ns FROM packages p "
	    "JOIN images i ON i.pkgset = p.pkgset "
	    "LEFT JOIN containers c ON c.host_id = i.host_id AND "
	    "c.image_key = i.key");
	/* The container filters go into the join: images stay listed. */
	{
		struct store_query cq = *q;

		cq.name = NULL;
		cq.image = NULL;
		ctr_where(&b, &cq);
	}
	sqb_add(&b, " WHERE (p.name = ?%d OR p.source_name = ?%d)", n, n);
	if (q->version != NULL)
		sqb_add(&b, " AND p.version = ?%d", sqb_str(&b, q->version));
	if (q->host != NULL)
		sqb_add(&b, " AND i.host_id = ?%d", sqb_str(&b, q->host));
	if (q->ecosystem != NULL)
		sqb_add(&b, " AND p.ecosystem = ?%d", sqb_str(&b, q->ecosystem));
	if (q->image != NULL) {
		int m = sqb_str(&b, q->image);

		sqb_add(&b, " AND (i.key = ?%d OR i.image_id = ?%d)", m, m);
	}
	sqb_add(&b, " ORDER BY p.ecosystem, p.version, i.key, i.host_id "
	    "LIMIT %d", SQ_ROWS_MAX + 1);
	if ((s = sqb_prepare(db, &b)) == NULL) {
		json_decref(versions);
		return STORE_QERROR;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *eco = (const char *)sqlite3_column_text(s, 0);
		const char *ver = (const char *)sqlite3_column_text(s, 1);

		if (++rows > SQ_ROWS_MAX) {
			truncated = 1;
			break;
		}
		if (eco == NULL || ver == NULL)
			continue;
		if (cur == NULL || strcmp(eco, cur_eco) != 0 ||
		    strcmp(ver, cur_ver) != 0) {
			cur = json_object();
			json_object_set_new(cur, "ecosystem", json_string(eco));
			json_object_set_new(cur, "version", col_str(s, 1));
			json_object_set_new(cur, "packages", json_array());
			json_object_set_new(cur, "sources", json_array());
			json_object_set_new(cur, "images", json_array());
			json_object_set_new(cur, "hosts", json_array());
			json_object_set_new(cur, "containers", json_array());
			json_array_append_new(versions, cur);
			snprintf(cur_eco, sizeof cur_eco, "%s", eco);
			snprintf(cur_ver, sizeof cur_ver, "%s", ver);
		}
		add_once(json_object_get(cur, "packages"), col_str(s, 2));
		{
			json_t *src = json_object();

			jstr(src, "name", s, 3);
			jstr(src, "version", s, 4);
			add_once(json_object_get(cur, "sources"), src);
		}
		{
			json_t *im = json_object(), *refs = col_json(s, 7);

			jstr(im, "key", s, 5);
			json_object_set_new(im, "ref", json_array_size(refs) ?
			    json_incref(json_array_get(refs, 0)) : json_null());
			json_decref(refs);
			add_once(json_object_get(cur, "images"), im);
		}
		if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
			json_t *c = json_object();

			add_once(json_object_get(cur, "hosts"), col_str(s, 6));
			jstr(c, "host", s, 6);
			jstr(c, "id", s, 8);
			jstr(c, "name", s, 9);
			jstr(c, "state", s, 10);
			jtime(c, "started", s, 11);
			jtime(c, "finished", s, 12);
			add_once(json_object_get(cur, "containers"), c);
		}
	}
	sqlite3_finalize(s);
	*out = json_object();
	json_object_set_new(*out, "name", record_json_str(q->name));
	json_object_set_new(*out, "versions", versions);
	json_object_set_new(*out, "truncated", json_boolean(truncated));
	return STORE_QOK;
}

/* ---------------------------------------------------------------------- */

static enum store_qresult
q_stats(sqlite3 *db, const struct store_query *q, json_t **out)
{
	static const struct {
		const char *key, *sql;
	} counts[] = {
		{ "hosts", "SELECT count(*) FROM hosts WHERE host_id != ''" },
		{ "containers", "SELECT count(*) FROM containers" },
		{ "containers_running", "SELECT count(*) FROM containers "
		  "WHERE state IN ('running', 'paused')" },
		{ "images", "SELECT count(DISTINCT key) FROM images" },
		{ "packages", "SELECT count(*) FROM (SELECT DISTINCT ecosystem, "
		  "name, version FROM packages p JOIN (SELECT DISTINCT pkgset "
		  "FROM images) i ON i.pkgset = p.pkgset)" },
		{ "package_sets", "SELECT count(*) FROM pkgsets" },
		{ "processes", "SELECT coalesce(sum(n_procs), 0) FROM "
		  "containers" },
		{ "drift_files", "SELECT count(*) FROM drift" },
		{ "findings_stored", "SELECT count(*) FROM findings" },
		{ "rejects", "SELECT coalesce(sum(n), 0) FROM rejects" },
	};
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < TM_NELEM(counts); i++) {
		sqlite3_stmt *s = sq_prep(db, counts[i].sql);

		if (s == NULL) {
			json_decref(o);
			return STORE_QERROR;
		}
		if (sqlite3_step(s) == SQLITE_ROW)
			json_object_set_new(o, counts[i].key,
			    json_integer(sqlite3_column_int64(s, 0)));
		sqlite3_finalize(s);
	}
	*out = o;
	return STORE_QOK;
}

enum store_qresult
store_sqlite_query(struct store *st, const struct store_query *q,
    json_t **out)
{
	sqlite3 *db = store_sqlite_db(st);

	switch (q->what) {
	case STORE_Q_HOSTS:
		return q_hosts(db, q, out);
	case STORE_Q_HOST:
		return q->id != NULL ? q_host(db, q, out) : STORE_QNOTFOUND;
	case STORE_Q_CONTAINERS:
		return q_containers(db, q, out);
	case STORE_Q_CONTAINER:
		return q->id != NULL ? q_container(db, q, out) : STORE_QNOTFOUND;
	case STORE_Q_IMAGES:
		return q_images(db, q, out);
	case STORE_Q_IMAGE:
		return q->id != NULL ? q_image(db, q, out) : STORE_QNOTFOUND;
	case STORE_Q_PACKAGES:
		return q->name != NULL ? q_packages(db, q, out) : STORE_QERROR;
	case STORE_Q_STATS:
		return q_stats(db, q, out);
	}
	return STORE_QERROR;
}
