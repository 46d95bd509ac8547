/*
 * test-store.c: the collector's SQLite store (collector/store-sqlite.c,
 * store-sqlite-query.c) driven directly with records built in C, each
 * written in its own transaction as the consumer does: container lifecycle
 * merging, idempotent writes, package sets shared between images and
 * hosts, the start-up replay, findings and ledgers read back, gaps and
 * per-host counters over several batches, package lists compared under a
 * known image key and forgotten with a rolled-back batch, updates that
 * set an indexed column only when it changes (a container's image key, an
 * image's package set, a finding updated in place), the migration of
 * per-kind counts, a store newer than the program refused, read-only
 * opening; and api_parse_time, the API's reading of a point in time.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "collector/collector.h"
#include "collector/store.h"

#define SEC	1000000000ULL
#define T0	(1800000000ULL * SEC)	/* 2027-01-15 */

struct fx {
	char		 dir[64];
	char		 path[96];
	struct store	*st;
	uint64_t	 seq;
};

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof *fx);
	char		 err[256];

	snprintf(fx->dir, sizeof fx->dir, "/tmp/tm-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/collector.db", fx->dir);
	fx->st = store_open(fx->path, 0, err, sizeof err);
	assert_non_null(fx->st);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	char		 p[128];

	store_close(fx->st);
	unlink(fx->path);
	snprintf(p, sizeof p, "%s-wal", fx->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", fx->path);
	unlink(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Write rec (encoded as the wire has it) in the open transaction, with
 * what store_prepare made of it when prep is not NULL: the result. */
static int
put_prepared_in_tx(struct fx *fx, struct tm_record *rec,
    const struct store_prep *prep, uint64_t rx)
{
	msgpack_sbuffer	 sb;
	int		 rc;

	rec->version = TM_SCHEMA_MAJOR;
	rec->seq = ++fx->seq;
	rec->sent_ns = rx;
	msgpack_sbuffer_init(&sb);
	assert_int_equal(tm_encode(rec, &sb), 0);
	if (prep != NULL)
		rc = store_put_prepared(fx->st, rec, prep, sb.data, sb.size,
		    rx);
	else
		rc = store_put_record(fx->st, rec, sb.data, sb.size, rx);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static int
put_in_tx(struct fx *fx, struct tm_record *rec, uint64_t rx)
{
	return put_prepared_in_tx(fx, rec, NULL, rx);
}

/* Write rec in a batch of its own. */
static void
put_at(struct fx *fx, struct tm_record *rec, uint64_t rx)
{
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(put_in_tx(fx, rec, rx), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static void
put(struct fx *fx, struct tm_record *rec)
{
	put_at(fx, rec, T0 + 100 * SEC + fx->seq);
}

/* rec: a snapshot of container id of image image_key (may be NULL). */
static void
container_rec(struct tm_record *rec, const char *host, const char *id,
    const char *state, uint64_t started, uint64_t finished,
    const char *image_key)
{
	struct tm_container *c = &rec->body.container;

	memset(rec, 0, sizeof *rec);
	rec->host_id = (char *)host;
	rec->kind = TM_KIND_CONTAINER;
	c->runtime = (char *)"docker";
	c->ns = (char *)"moby";
	c->id = (char *)id;
	c->name = (char *)id;
	c->image_key = (char *)image_key;
	c->state = (char *)state;
	c->started_ns = started;
	c->finished_ns = finished;
	if (finished != 0) {
		c->has_exit_code = true;
		c->exit_code = 7;
	}
}

static void
snapshot_of(struct fx *fx, const char *host, const char *id,
    const char *state, uint64_t started, uint64_t finished,
    const char *image_key)
{
	struct tm_record rec;

	container_rec(&rec, host, id, state, started, finished, image_key);
	put(fx, &rec);
}

static void
snapshot(struct fx *fx, const char *host, const char *id, const char *state,
    uint64_t started, uint64_t finished)
{
	snapshot_of(fx, host, id, state, started, finished, "img-1");
}

static void
event(struct fx *fx, const char *host, const char *id, const char *action,
    uint64_t when, int exit_code)
{
	struct tm_record	 rec;
	struct tm_event		*e = &rec.body.event;

	memset(&rec, 0, sizeof rec);
	rec.host_id = (char *)host;
	rec.kind = TM_KIND_EVENT;
	e->runtime = (char *)"docker";
	e->ns = (char *)"moby";
	e->id = (char *)id;
	e->action = (char *)action;
	e->time_ns = when;
	if (exit_code >= 0) {
		e->has_exit_code = true;
		e->exit_code = exit_code;
	}
	put(fx, &rec);
}

static void
image(struct fx *fx, const char *host, const char *key, size_t npkgs,
    const char *version)
{
	struct tm_record	 rec;
	struct tm_image		*im = &rec.body.image;
	struct tm_package	 pk[8];
	char			 names[8][16];
	size_t			 i;

	assert_true(npkgs <= 8);
	memset(&rec, 0, sizeof rec);
	memset(pk, 0, sizeof pk);
	rec.host_id = (char *)host;
	rec.kind = TM_KIND_IMAGE;
	im->key = (char *)key;
	im->image_id = (char *)key;
	im->os_id = (char *)"debian";
	im->os_version = (char *)"12";
	for (i = 0; i < npkgs; i++) {
		snprintf(names[i], sizeof names[i], "pkg%zu", i);
		pk[i].ecosystem = (char *)"dpkg";
		pk[i].name = names[i];
		pk[i].version = (char *)version;
		pk[i].source_name = i == 0 ? (char *)"openssl" : names[i];
		pk[i].source_version = (char *)version;
	}
	im->packages = pk;
	im->n_packages = npkgs;
	put(fx, &rec);
}

static void
heartbeat(struct fx *fx, const char *host, uint64_t records)
{
	struct tm_record rec;

	memset(&rec, 0, sizeof rec);
	rec.host_id = (char *)host;
	rec.kind = TM_KIND_HEARTBEAT;
	rec.body.heartbeat.interval_ns = 30 * SEC;
	rec.body.heartbeat.uptime_ns = SEC;
	rec.body.heartbeat.records = records;
	put(fx, &rec);
}

/* The API's answer for one container (caller frees). */
static json_t *
container(struct fx *fx, const char *host, const char *id)
{
	struct store_query	 q;
	json_t			*out = NULL;

	store_query_init(&q, STORE_Q_CONTAINER);
	q.id = id;
	q.host = host;
	assert_int_equal(store_query(fx->st, &q, &out), STORE_QOK);
	return out;
}

/* A count of the API's statistics. */
static json_int_t
stat_int(struct fx *fx, const char *key)
{
	struct store_query	 q;
	json_t			*out = NULL;
	json_int_t		 n;

	store_query_init(&q, STORE_Q_STATS);
	assert_int_equal(store_query(fx->st, &q, &out), STORE_QOK);
	n = json_integer_value(json_object_get(out, key));
	json_decref(out);
	return n;
}

static const char *
jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "(null)";
}

static json_int_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static uint64_t
count(struct fx *fx, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	uint64_t	 n = 0;

	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* ---------------------------------------------------------------------- */

static void
test_lifecycle_snapshot_then_exit_and_delete_events(void **state)
{
	struct fx	*fx = *state;
	json_t		*c;

	snapshot(fx, "h1", "c1", "running", T0, 0);
	event(fx, "h1", "c1", "exit", T0 + 5 * SEC, 3);
	c = container(fx, "h1", "c1");
	assert_string_equal(jstr(c, "state"), "exited");
	assert_int_equal(jint(c, "lifetime_ns"), 5 * SEC);
	assert_int_equal(jint(c, "exit_code"), 3);
	json_decref(c);
	event(fx, "h1", "c1", "delete", T0 + 6 * SEC, -1);
	c = container(fx, "h1", "c1");
	assert_string_equal(jstr(c, "state"), "removed");
	assert_int_equal(jint(c, "lifetime_ns"), 5 * SEC);
	assert_string_not_equal(jstr(c, "removed"), "(null)");
	json_decref(c);
}

/* A snapshot taken while it ran, sent after its exit, does not revive it. */
static void
test_lifecycle_late_running_snapshot_keeps_the_exit(void **state)
{
	struct fx	*fx = *state;
	json_t		*c;

	event(fx, "h1", "c2", "start", T0, -1);
	event(fx, "h1", "c2", "exit", T0 + 2 * SEC, 0);
	snapshot(fx, "h1", "c2", "running", T0, 0);
	c = container(fx, "h1", "c2");
	assert_string_equal(jstr(c, "state"), "exited");
	assert_int_equal(jint(c, "lifetime_ns"), 2 * SEC);
	assert_int_equal(jint(c, "exit_code"), 0);
	json_decref(c);
}

/* A start after the exit is a new run: the old end no longer applies. */
static void
test_lifecycle_restart_after_exit_runs_again(void **state)
{
	struct fx	*fx = *state;
	json_t		*c;

	snapshot(fx, "h1", "c3", "running", T0, 0);
	event(fx, "h1", "c3", "exit", T0 + SEC, 1);
	event(fx, "h1", "c3", "start", T0 + 10 * SEC, -1);
	c = container(fx, "h1", "c3");
	assert_string_equal(jstr(c, "state"), "running");
	assert_true(json_is_null(json_object_get(c, "finished")));
	assert_true(json_is_null(json_object_get(c, "exit_code")));
	assert_true(json_is_null(json_object_get(c, "lifetime_ns")));
	json_decref(c);
}

/* Removed stays removed: a late exit event does not bring it back. */
static void
test_lifecycle_removed_stays_removed(void **state)
{
	struct fx	*fx = *state;
	json_t		*c;

	snapshot(fx, "h1", "c4", "running", T0, 0);
	event(fx, "h1", "c4", "delete", T0 + 3 * SEC, -1);
	event(fx, "h1", "c4", "exit", T0 + 2 * SEC, 0);
	snapshot(fx, "h1", "c4", "running", T0, 0);
	c = container(fx, "h1", "c4");
	assert_string_equal(jstr(c, "state"), "removed");
	json_decref(c);
}

/* The same records written again change nothing (a replay past the
 * ledger, e.g. a restored store). */
static void
test_writes_are_idempotent(void **state)
{
	struct fx	*fx = *state;
	json_t		*a, *b;
	uint64_t	 procs;

	snapshot(fx, "h1", "c5", "running", T0, 0);
	image(fx, "h1", "img-1", 3, "1.0");
	heartbeat(fx, "h1", 9);
	a = container(fx, "h1", "c5");
	procs = count(fx, "SELECT count(*) FROM packages");
	fx->seq -= 3;	/* the same sequence numbers, the same arrival */
	snapshot(fx, "h1", "c5", "running", T0, 0);
	image(fx, "h1", "img-1", 3, "1.0");
	heartbeat(fx, "h1", 9);
	b = container(fx, "h1", "c5");
	assert_true(json_equal(a, b));
	assert_int_equal(count(fx, "SELECT count(*) FROM packages"), procs);
	assert_int_equal(count(fx, "SELECT count(*) FROM images"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers"), 1);
	json_decref(a);
	json_decref(b);
}

/* Process lists of a snapshot: its processes and their arguments. */
struct procs {
	struct tm_process	 p[3];
	char			*a10[3], *a11[2];
};

/* rec: a running snapshot of h1's container id with processes 10 ("sh -c
 * ARG10") and 11 ("sleep ARG11"), and 12 ("top") when three, in pr. */
static void
procs_rec(struct tm_record *rec, struct procs *pr, const char *id,
    const char *arg10, const char *arg11, int three)
{
	struct tm_container	*c = &rec->body.container;
	struct tm_process	*p = pr->p;

	memset(rec, 0, sizeof *rec);
	memset(pr, 0, sizeof *pr);
	pr->a10[0] = (char *)"sh";
	pr->a10[1] = (char *)"-c";
	pr->a10[2] = (char *)arg10;
	pr->a11[0] = (char *)"sleep";
	pr->a11[1] = (char *)arg11;
	rec->host_id = (char *)"h1";
	rec->kind = TM_KIND_CONTAINER;
	c->runtime = (char *)"docker";
	c->id = (char *)id;
	c->image_key = (char *)"img-1";
	c->state = (char *)"running";
	c->started_ns = T0;
	p[0].pid = 10;
	p[0].start_ns = T0;
	p[0].comm = (char *)"sh";
	p[0].args = pr->a10;
	p[0].n_args = 3;
	p[1].pid = 11;
	p[1].start_ns = T0 + SEC;
	p[1].comm = (char *)"sleep";
	p[1].args = pr->a11;
	p[1].n_args = 2;
	p[2].pid = 12;
	p[2].start_ns = T0 + 2 * SEC;
	p[2].comm = (char *)"top";
	c->procs = p;
	c->n_procs = three ? 3 : 2;
}

/* A running snapshot of h1's c9 (procs_rec), written. */
static void
snapshot_procs(struct fx *fx, const char *arg10, const char *arg11, int three)
{
	struct tm_record	rec;
	struct procs		pr;

	procs_rec(&rec, &pr, "c9", arg10, arg11, three);
	put(fx, &rec);
}

/* Whether h1's container id has d as its stored process-list digest. */
static int
digest_stored(struct fx *fx, const char *id, const uint8_t d[32])
{
	char	hex[65], sql[256];

	sha256_hex(d, hex);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM containers WHERE "
	    "host_id = 'h1' AND id = '%s' AND lower(hex(procs_digest)) = '%s'",
	    id, hex);
	return count(fx, sql) == 1;
}

/*
 * store_prepare (the consumer's decoder thread) hashes a snapshot's
 * process list as the store does on its own: the same digest stored either
 * way; and the prepared one is the one used, not worked out again (a
 * snapshot whose prepared digest is the stored one does not work out its
 * processes against the stored ones).  Other kinds have nothing prepared.
 */
static void
test_prepared_process_digest(void **state)
{
	struct fx		*fx = *state;
	struct tm_record	 rec;
	struct procs		 pr;
	struct store_prep	 prep, other;

	procs_rec(&rec, &pr, "c9", "x", "5", 1);
	store_prepare(fx->st, &rec, &prep);
	assert_true(prep.has_procs);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(put_prepared_in_tx(fx, &rec, &prep, T0 + SEC), 0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_true(digest_stored(fx, "c9", prep.procs));
	procs_rec(&rec, &pr, "c10", "x", "5", 1);
	put(fx, &rec);				/* worked out by the store */
	assert_true(digest_stored(fx, "c10", prep.procs));
	/* Another list (process 12 gone), another digest. */
	procs_rec(&rec, &pr, "c9", "x", "5", 0);
	store_prepare(fx->st, &rec, &other);
	assert_memory_not_equal(other.procs, prep.procs, sizeof prep.procs);
	/* The prepared digest decides: given c9's stored one, the shorter
	 * list is not worked out (the caller's contract: prep of this
	 * record), so process 12 is not kept beside it. */
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(put_prepared_in_tx(fx, &rec, &prep, T0 + 2 * SEC), 0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id = 'c9' AND procs_past IS NULL AND n_procs = 3"), 1);
	/* Its own digest: worked out, and 12 kept. */
	procs_rec(&rec, &pr, "c10", "x", "5", 0);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(put_prepared_in_tx(fx, &rec, &other, T0 + 2 * SEC),
	    0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id = 'c10' AND procs_past IS NOT NULL AND n_procs = 3"), 1);
	assert_true(digest_stored(fx, "c10", other.procs));
	/* Nothing to prepare for an event. */
	memset(&rec, 0, sizeof rec);
	rec.kind = TM_KIND_EVENT;
	memset(&prep, 0xa5, sizeof prep);
	store_prepare(fx->st, &rec, &prep);
	assert_false(prep.has_procs);
}

struct prep_job {
	const struct store	*st;
	struct tm_record	*recs;
	struct store_prep	*preps;
	size_t			 n;
};

static void *
prep_main(void *arg)
{
	struct prep_job	*j = arg;
	size_t		 i, k;

	for (k = 0; k < 20; k++)
		for (i = 0; i < j->n; i++)
			store_prepare(j->st, &j->recs[i], &j->preps[i]);
	return NULL;
}

/* store_prepare on another thread while the store writes batches (as the
 * consumer's decoder thread runs it): the same digests as the store's. */
static void
test_prepare_beside_writes(void **state)
{
	struct fx		*fx = *state;
	struct tm_record	 recs[40], w;
	struct procs		 prs[40], wp;
	struct store_prep	 preps[40], again;
	struct prep_job		 j = { fx->st, recs, preps, 40 };
	char			 args[40][16], id[32];
	pthread_t		 t;
	size_t			 i, k;

	for (i = 0; i < 40; i++) {
		snprintf(args[i], sizeof args[i], "a%zu", i);
		procs_rec(&recs[i], &prs[i], "c1", args[i], "5", i % 2);
	}
	assert_int_equal(pthread_create(&t, NULL, prep_main, &j), 0);
	for (k = 0; k < 10; k++) {
		assert_int_equal(store_begin(fx->st), 0);
		for (i = 0; i < 20; i++) {
			snprintf(id, sizeof id, "w%zu-%zu", k, i);
			procs_rec(&w, &wp, id, "x", "5", 1);
			assert_int_equal(put_in_tx(fx, &w, T0 + k), 0);
		}
		assert_int_equal(store_commit(fx->st), 0);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	for (i = 0; i < 40; i++) {
		store_prepare(fx->st, &recs[i], &again);
		assert_true(preps[i].has_procs);
		assert_memory_equal(preps[i].procs, again.procs,
		    sizeof again.procs);
	}
	assert_int_equal(count(fx, "SELECT count(*) FROM containers"), 200);
}

/* The API's processes of h1's container id, as "PID:COMM:ARGS" lines, by
 * start. */
static char *
procs_text_of(struct fx *fx, const char *id)
{
	json_t	*c = container(fx, "h1", id), *p;
	char	*out = xstrdup(""), *args, *t;
	size_t	 i;

	json_array_foreach(json_object_get(c, "processes"), i, p) {
		args = json_dumps(json_object_get(p, "args"), JSON_COMPACT);
		assert_true(asprintf(&t, "%s%" JSON_INTEGER_FORMAT ":%s:%s\n",
		    out, json_integer_value(json_object_get(p, "pid")),
		    json_string_value(json_object_get(p, "comm")), args) > 0);
		free(args);
		free(out);
		out = t;
	}
	json_decref(c);
	return out;
}

static char *
procs_text(struct fx *fx)
{
	return procs_text_of(fx, "c9");
}

/*
 * A container's processes over its snapshots: those of the last one, and
 * the earlier ones it no longer lists; a newer reading of a process wins,
 * the fields it lacks taken from the older.  Nothing is stored beside the
 * snapshot while it lists every process seen (the common case).
 */
static void
test_processes_over_snapshots(void **state)
{
	struct fx		*fx = *state;
	struct tm_record	 rec;
	struct procs		 pr;
	char			*t;

	snapshot_procs(fx, "x", "5", 0);
	t = procs_text(fx);
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"5\"]\n");
	free(t);
	snapshot_procs(fx, "x", "5", 0);	/* the same again */
	snapshot_procs(fx, "y", "5", 0);	/* a newer reading of 10 */
	t = procs_text(fx);
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"y\"]\n"
	    "11:sleep:[\"sleep\",\"5\"]\n");
	free(t);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "procs_past IS NULL AND n_procs = 2"), 1);
	snapshot_procs(fx, "x", "5", 1);	/* an exec: 12 */
	snapshot_procs(fx, "x", "6", 0);	/* 12 gone, 11 read anew */
	t = procs_text(fx);
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"6\"]\n12:top:[]\n");
	free(t);
	assert_int_equal(count(fx, "SELECT n_procs FROM containers"), 3);
	/* 11 read again without its name and arguments (a zombie), 10 gone:
	 * the older readings fill in. */
	procs_rec(&rec, &pr, "c9", "x", "6", 0);
	rec.body.container.procs = &pr.p[1];
	rec.body.container.n_procs = 1;
	pr.p[1].comm = NULL;
	pr.p[1].n_args = 0;
	pr.p[1].ppid = 10;
	put(fx, &rec);
	t = procs_text(fx);
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"6\"]\n12:top:[]\n");
	free(t);
	/* The exit: no process listed, every one kept. */
	procs_rec(&rec, &pr, "c9", "x", "6", 0);
	rec.body.container.state = (char *)"exited";
	rec.body.container.n_procs = 0;
	put(fx, &rec);
	t = procs_text(fx);
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"6\"]\n12:top:[]\n");
	free(t);
	assert_int_equal(count(fx, "SELECT n_procs FROM containers"), 3);
	assert_int_equal(stat_int(fx, "processes"), 3);
	/* Another container's count adds up. */
	procs_rec(&rec, &pr, "c9", "x", "5", 0);
	rec.host_id = (char *)"h2";
	put(fx, &rec);
	assert_int_equal(stat_int(fx, "processes"), 3 + 2);
}

/* Two readings the same: every field, strings by value. */
static int
proc_same(const struct tm_process *a, const struct tm_process *b)
{
	size_t i;

	if (a->pid != b->pid || a->start_ns != b->start_ns ||
	    a->ppid != b->ppid || a->uid != b->uid || a->n_args != b->n_args)
		return 0;
	if ((a->comm == NULL) != (b->comm == NULL) ||
	    (a->comm != NULL && strcmp(a->comm, b->comm) != 0) ||
	    (a->exe == NULL) != (b->exe == NULL) ||
	    (a->exe != NULL && strcmp(a->exe, b->exe) != 0) ||
	    (a->sha256 == NULL) != (b->sha256 == NULL) ||
	    (a->sha256 != NULL && strcmp(a->sha256, b->sha256) != 0))
		return 0;
	for (i = 0; i < a->n_args; i++)
		if (strcmp(a->args[i], b->args[i]) != 0)
			return 0;
	return 1;
}

/*
 * What the writer stores beside a snapshot gives the reader what it would
 * have from every reading: for random lists seen (the earlier readings)
 * and cur (the new snapshot), with shared keys, duplicates and missing
 * fields, union(cur, past(seen, cur)) is union(cur, seen), reading for
 * reading; and past holds nothing cur says already.
 */
static void
test_process_past_is_what_the_snapshot_lacks(void **state)
{
	static char	 words[3][2] = { "a", "b", "c" };
	static char	 sleep_[] = "sleep", five[] = "5", sh[] = "sh";
	char		*args1[] = { sleep_, five }, *args2[] = { sh };
	struct tm_process seen[40], cur[40], *past, *want, *got;
	size_t		 nseen, ncur, npast, nwant, ngot, i, round;
	uint32_t	 r = 12345;

	(void)state;
#define RND(n)	((r = r * 1103515245u + 12345u) >> 16) % (n)
	for (round = 0; round < 2000; round++) {
		struct tm_process *lists[2] = { seen, cur };
		size_t		  *ns[2] = { &nseen, &ncur }, l;

		for (l = 0; l < 2; l++) {
			*ns[l] = RND(40);
			for (i = 0; i < *ns[l]; i++) {
				struct tm_process *p = &lists[l][i];

				memset(p, 0, sizeof *p);
				p->pid = 1 + RND(6);	/* keys collide */
				p->start_ns = RND(3);
				p->ppid = RND(3);
				p->comm = RND(3) ? words[RND(3)] : NULL;
				p->exe = RND(2) ? words[RND(3)] : NULL;
				p->sha256 = RND(4) ? NULL : words[RND(3)];
				if (RND(3) == 0) {
					p->args = RND(2) ? args1 : args2;
					p->n_args = p->args == args1 ? 2 : 1;
				}
			}
		}
		past = store_procs_past(seen, nseen, cur, ncur, &npast);
		want = store_procs_union(cur, ncur, seen, nseen, &nwant);
		got = store_procs_union(cur, ncur, past, npast, &ngot);
		assert_int_equal(ngot, nwant);
		for (i = 0; i < ngot; i++)
			assert_true(proc_same(&got[i], &want[i]));
		/* Nothing in past that cur already says. */
		for (i = 0; i < npast; i++) {
			struct tm_process	*u;
			size_t			 nu, k;

			u = store_procs_union(cur, ncur, &past[i], 1, &nu);
			assert_non_null(u);
			for (k = 0; k < nu; k++)
				if (u[k].pid == past[i].pid &&
				    u[k].start_ns == past[i].start_ns)
					break;
			assert_true(k < nu);
			free(u);
		}
		free(past);
		free(want);
		free(got);
	}
#undef RND
}

/* store_procs_union and store_procs_past on lists with duplicates, out of
 * order, and past the bound. */
static void
test_process_lists_merge(void **state)
{
	struct tm_process	 a[4], b[3], *u, *p, *big;
	size_t			 n, i;

	(void)state;
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	/* a: 3@20, 1@10 (twice, the first wins), 2@10 */
	a[0].pid = 3, a[0].start_ns = 20, a[0].comm = (char *)"a3";
	a[1].pid = 1, a[1].start_ns = 10, a[1].comm = (char *)"a1";
	a[2].pid = 1, a[2].start_ns = 10, a[2].comm = (char *)"a1-dup";
	a[3].pid = 2, a[3].start_ns = 10;
	/* b: 2@10 with a name and exe, 4@5, 3@21 (another process) */
	b[0].pid = 2, b[0].start_ns = 10, b[0].comm = (char *)"b2";
	b[0].exe = (char *)"/b2";
	b[1].pid = 4, b[1].start_ns = 5, b[1].comm = (char *)"b4";
	b[2].pid = 3, b[2].start_ns = 21, b[2].comm = (char *)"b3";
	u = store_procs_union(a, 4, b, 3, &n);
	assert_int_equal(n, 5);
	assert_string_equal(u[0].comm, "b4");
	assert_string_equal(u[1].comm, "a1");
	assert_string_equal(u[2].comm, "b2");		/* filled from b */
	assert_string_equal(u[2].exe, "/b2");
	assert_string_equal(u[3].comm, "a3");
	assert_string_equal(u[4].comm, "b3");
	/* What u has that a does not say: 4@5, 2@10 (a lacks its name),
	 * 3@21; not 1@10 nor 3@20. */
	p = store_procs_past(u, n, a, 4, &n);
	assert_int_equal(n, 3);
	assert_int_equal(p[0].pid, 4);
	assert_int_equal(p[1].pid, 2);
	assert_int_equal(p[2].start_ns, 21);
	free(p);
	p = store_procs_past(u, 5, u, 5, &n);
	assert_null(p);
	assert_int_equal(n, 0);
	free(u);
	assert_null(store_procs_union(NULL, 0, NULL, 0, &n));
	assert_int_equal(n, 0);
	/* Past the bound, the first ones (by start) are kept. */
	big = xcalloc(TM_PROCS_MAX + 10, sizeof *big);
	for (i = 0; i < TM_PROCS_MAX + 10; i++) {
		big[i].pid = 1;
		big[i].start_ns = TM_PROCS_MAX + 10 - i;
	}
	p = store_procs_past(big, TM_PROCS_MAX + 10, NULL, 0, &n);
	assert_int_equal(n, TM_PROCS_MAX);
	assert_int_equal(p[0].start_ns, 1);
	assert_int_equal(p[n - 1].start_ns, TM_PROCS_MAX);
	free(p);
	free(big);
}

/* An image without packages (busybox, scratch): an empty package set,
 * stored once, the image known (the sanitizer build checks the empty
 * list's bytes are never read through NULL). */
static void
test_image_without_packages(void **state)
{
	struct fx	*fx = *state;

	image(fx, "h1", "img-empty", 0, "1.0");
	image(fx, "h2", "img-empty", 0, "1.0");
	image(fx, "h1", "img-empty", 0, "1.0");
	assert_int_equal(count(fx, "SELECT count(*) FROM images"), 2);
	assert_int_equal(count(fx, "SELECT count(*) FROM pkgsets"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM packages"), 0);
}

/* One package list, stored once, however many hosts and images have it. */
static void
test_package_sets_are_shared(void **state)
{
	struct fx		*fx = *state;
	struct store_query	 q;
	json_t			*out = NULL, *v;

	image(fx, "h1", "img-a", 4, "1.0");
	image(fx, "h2", "img-a", 4, "1.0");
	image(fx, "h3", "img-b", 4, "1.0");
	assert_int_equal(count(fx, "SELECT count(*) FROM pkgsets"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM packages"), 4);
	image(fx, "h3", "img-c", 4, "1.1");
	assert_int_equal(count(fx, "SELECT count(*) FROM pkgsets"), 2);
	assert_int_equal(count(fx, "SELECT count(*) FROM packages"), 8);
	/* The package search finds both versions, by source name too. */
	store_query_init(&q, STORE_Q_PACKAGES);
	q.name = "openssl";
	q.running = -1;
	assert_int_equal(store_query(fx->st, &q, &out), STORE_QOK);
	v = json_object_get(out, "versions");
	assert_int_equal(json_array_size(v), 2);
	json_decref(out);
}

struct replay_count {
	unsigned kinds[TM_KIND_MAX];
	size_t	 packages;
};

static int
replay_cb(const struct tm_record *rec, uint64_t rx, void *arg)
{
	struct replay_count *rc = arg;

	rc->kinds[rec->kind]++;
	if (rec->kind == TM_KIND_IMAGE)
		rc->packages += rec->body.image.n_packages;
	return 0;
}

/* The start-up replay: heartbeats, images with their packages, the
 * containers not removed (their lifecycle as stored). */
static void
test_replay_gives_back_the_fleet(void **state)
{
	struct fx		*fx = *state;
	struct replay_count	 rc;

	heartbeat(fx, "h1", 1);
	heartbeat(fx, "h2", 1);
	image(fx, "h1", "img-a", 3, "1.0");
	image(fx, "h2", "img-a", 3, "1.0");
	snapshot(fx, "h1", "live", "running", T0, 0);
	snapshot(fx, "h1", "gone", "running", T0, 0);
	event(fx, "h1", "gone", "delete", T0 + SEC, -1);
	snapshot(fx, "h2", "ended", "running", T0, 0);
	event(fx, "h2", "ended", "exit", T0 + SEC, 0);
	memset(&rc, 0, sizeof rc);
	assert_int_equal(store_replay(fx->st, replay_cb, &rc), 0);
	assert_int_equal(rc.kinds[TM_KIND_HEARTBEAT], 2);
	assert_int_equal(rc.kinds[TM_KIND_IMAGE], 2);
	assert_int_equal(rc.packages, 6);
	assert_int_equal(rc.kinds[TM_KIND_CONTAINER], 2);
}

static int
finding_cb(const struct finding *f, void *arg)
{
	json_t *a = arg;

	json_array_append_new(a, finding_to_json(f, NULL));
	return 0;
}

static void
test_findings_round_trip(void **state)
{
	struct fx	*fx = *state;
	struct finding	 a, b;
	json_t		*got = json_array(), *want = json_array();

	memset(&a, 0, sizeof a);
	a.key = "vulnerability|h1|c1|img|libssl|DSA-1";
	a.kind = FINDING_VULN;
	a.level = SEV_HIGH;
	a.score = 7.5;
	a.host = "h1";
	a.container = "c1";
	a.package = "libssl";
	a.installed = "1.0";
	a.fixed = "1.1";
	a.advisory = "DSA-1";
	a.aliases = "CVE-2014-0160";
	a.detail = (char *)"affected";
	a.first_seen_ns = T0;
	a.last_seen_ns = T0 + SEC;
	a.open = 1;
	finding_set_id(&a);
	memset(&b, 0, sizeof b);
	b.key = "misconfiguration|h1|c1|5.5";
	b.kind = FINDING_MISCONFIG;
	b.level = SEV_CRITICAL;
	b.score = -1;
	b.host = "h1";
	b.container = "c1";
	b.check = "5.5";
	b.title = "privileged";
	b.first_seen_ns = T0;
	b.last_seen_ns = T0 + 2 * SEC;
	b.resolved_ns = T0 + 2 * SEC;
	b.reason = "container exited";
	/* An id of the earlier format (16 hex digits) is read back as it
	 * was stored: ids are never worked out again. */
	snprintf(b.id, sizeof b.id, "%s", "0123456789abcdef");
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_put_finding(fx->st, &a), 0);
	assert_int_equal(store_put_finding(fx->st, &b), 0);
	assert_int_equal(store_commit(fx->st), 0);
	json_array_append_new(want, finding_to_json(&a, NULL));
	json_array_append_new(want, finding_to_json(&b, NULL));
	assert_int_equal(store_each_finding(fx->st, T0 + 2 * SEC, finding_cb,
	    got), 0);
	assert_true(json_equal(got, want));
	/* Resolved before `since`: not read back. */
	json_array_clear(got);
	assert_int_equal(store_each_finding(fx->st, T0 + 3 * SEC, finding_cb,
	    got), 0);
	assert_int_equal(json_array_size(got), 1);
	assert_string_equal(jstr(json_array_get(got, 0), "id"), a.id);
	json_decref(got);
	json_decref(want);
}

static int
ledger_cb(const struct store_ledger *l, void *arg)
{
	json_t	*o = json_object(), *g = json_array();
	size_t	 i;

	for (i = 0; i < l->ngaps; i++)
		json_array_append_new(g, json_pack("[I,I]",
		    (json_int_t)l->gaps[i].lo, (json_int_t)l->gaps[i].hi));
	json_object_set_new(o, "high", json_integer((json_int_t)l->high));
	json_object_set_new(o, "missing", json_integer((json_int_t)l->missing));
	json_object_set_new(o, "dups", json_integer((json_int_t)l->duplicates));
	json_object_set_new(o, "gaps", g);
	json_object_set_new(arg, l->host, o);
	return 0;
}

static int
put_ledger_cb(const struct store_ledger *l, void *arg)
{
	return store_put_ledger(arg, l);
}

/* The ledger as the consumer leaves it, and as the next start reads it. */
static void
test_ledger_round_trip(void **state)
{
	struct fx		*fx = *state;
	struct ledger		*lg = ledger_new(LEDGER_JUMP_MAX);
	static const uint64_t	 seqs[] = { 1, 2, 5, 9, 3, 2 };
	json_t			*got = json_object(), *want;
	size_t			 i;

	for (i = 0; i < TM_NELEM(seqs); i++)
		(void)ledger_check(lg, "h1", 0, seqs[i]);
	assert_int_equal(ledger_check(lg, "h1", 0, 9 + LEDGER_JUMP_MAX + 1),
	    LEDGER_JUMP);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(ledger_flush(lg, put_ledger_cb, fx->st), 0);
	assert_int_equal(store_commit(fx->st), 0);
	ledger_free(lg);
	assert_int_equal(store_each_ledger(fx->st, ledger_cb, got), 0);
	want = json_pack("{s:{s:i,s:i,s:i,s:[[i,i],[i,i]]}}", "h1", "high", 9,
	    "missing", 4, "dups", 1, "gaps", 4, 4, 6, 8);
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
}

static int	ledger_load_cb(const struct store_ledger *l, void *arg);

/* Epoch-aware view of the ledger: current epoch, restarts, retired. */
static int
epoch_cb(const struct store_ledger *l, void *arg)
{
	json_t	*o = json_object(), *r = json_array();
	size_t	 i;

	for (i = 0; i < l->nretired; i++)
		json_array_append_new(r, json_pack("[I,I]",
		    (json_int_t)l->retired[i].epoch,
		    (json_int_t)l->retired[i].high));
	json_object_set_new(o, "epoch", json_integer((json_int_t)l->epoch));
	json_object_set_new(o, "high", json_integer((json_int_t)l->high));
	json_object_set_new(o, "restarts", json_integer((json_int_t)l->restarts));
	json_object_set_new(o, "missing", json_integer((json_int_t)l->missing));
	json_object_set_new(o, "dups", json_integer((json_int_t)l->duplicates));
	json_object_set_new(o, "ngaps", json_integer((json_int_t)l->ngaps));
	json_object_set_new(o, "retired", r);
	json_object_set_new(arg, l->host, o);
	return 0;
}

/*
 * An agent purged and installed again starts at 1 under a new epoch: its
 * records are new, not replays of the old epoch's 1..1000; no gap between
 * the epochs; the old epoch's records read again (a Kafka replay) are still
 * duplicates, and the whole survives the store (a restart).
 */
static void
test_ledger_new_epoch_restarts_the_sequence(void **state)
{
	struct fx	*fx = *state;
	struct ledger	*lg = ledger_new(LEDGER_JUMP_MAX);
	json_t		*got = json_object(), *want;
	uint64_t	 s;

	for (s = 1; s <= 1000; s++)
		assert_int_equal(ledger_check(lg, "h1", 7, s), LEDGER_NEW);
	assert_int_equal(ledger_check(lg, "h1", 7, 500), LEDGER_DUP);
	/* Reinstalled: epoch 9 from 1. */
	assert_int_equal(ledger_check(lg, "h1", 9, 1), LEDGER_NEW);
	assert_int_equal(ledger_check(lg, "h1", 9, 2), LEDGER_NEW);
	assert_int_equal(ledger_check(lg, "h1", 9, 2), LEDGER_DUP);
	/* A replay of the old epoch: duplicates, the current one unmoved. */
	assert_int_equal(ledger_check(lg, "h1", 7, 999), LEDGER_DUP);
	assert_int_equal(ledger_check(lg, "h1", 7, 1000), LEDGER_DUP);
	assert_int_equal(ledger_check(lg, "h1", 9, 3), LEDGER_NEW);
	/* A late record of the old epoch above its end: accepted once. */
	assert_int_equal(ledger_check(lg, "h1", 7, 1001), LEDGER_NEW);
	assert_int_equal(ledger_check(lg, "h1", 7, 1001), LEDGER_DUP);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(ledger_flush(lg, put_ledger_cb, fx->st), 0);
	assert_int_equal(store_commit(fx->st), 0);
	ledger_free(lg);
	assert_int_equal(store_each_ledger(fx->st, epoch_cb, got), 0);
	want = json_pack("{s:{s:i,s:i,s:i,s:i,s:i,s:i,s:[[i,i]]}}", "h1",
	    "epoch", 9, "high", 3, "restarts", 1, "missing", 0, "dups", 5,
	    "ngaps", 0, "retired", 7, 1001);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);
		print_message("# got %s\n", g);
		free(g);
	}
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	/* Read back: the same decisions. */
	lg = ledger_new(LEDGER_JUMP_MAX);
	assert_int_equal(store_each_ledger(fx->st, ledger_load_cb, lg), 0);
	assert_int_equal(ledger_check(lg, "h1", 9, 3), LEDGER_DUP);
	assert_int_equal(ledger_check(lg, "h1", 7, 1000), LEDGER_DUP);
	assert_int_equal(ledger_check(lg, "h1", 9, 4), LEDGER_NEW);
	ledger_free(lg);
}

/* Epochs an agent makes up are bounded: LEDGER_RETIRED_MAX kept. */
static void
test_ledger_epochs_are_bounded(void **state)
{
	struct ledger		*lg = ledger_new(LEDGER_JUMP_MAX);
	struct store_ledger	 sl;
	uint64_t		 e;

	(void)state;
	for (e = 1; e <= 100; e++)
		assert_int_equal(ledger_check(lg, "h1", e, 5), LEDGER_NEW);
	assert_int_equal(ledger_get(lg, "h1", &sl), 0);
	assert_int_equal(sl.nretired, LEDGER_RETIRED_MAX);
	assert_int_equal(sl.retired[0].epoch, 99);
	assert_int_equal(sl.epoch, 100);
	assert_int_equal(sl.restarts, 99);
	ledger_free(lg);
}

/* Rejects of a host the store does not know are counted under "", and
 * make no host. */
static void
test_counts_of_unknown_hosts_make_no_host(void **state)
{
	struct fx			*fx = *state;
	struct store_host_counts	 hc;
	struct store_query		 q;
	json_t				*out = NULL;

	memset(&hc, 0, sizeof hc);
	hc.rejects[TM_REJ_MALFORMED] = 5;
	hc.last_rx_ns = T0;
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_put_host_counts(fx->st, "attacker-made", &hc), 0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(count(fx, "SELECT n FROM rejects WHERE host_id = '' "
	    "AND reason = 'malformed'"), 5);
	store_query_init(&q, STORE_Q_HOSTS);
	assert_int_equal(store_query(fx->st, &q, &out), STORE_QOK);
	assert_int_equal(jint(out, "total"), 0);
	json_decref(out);
	store_query_init(&q, STORE_Q_HOST);
	q.id = "attacker-made";
	assert_int_equal(store_query(fx->st, &q, &out), STORE_QNOTFOUND);
}

/* One consumer batch: check each sequence, flush the ledger, commit. */
static void
ledger_batch(struct fx *fx, struct ledger *lg, const uint64_t *seqs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)ledger_check(lg, "h1", 0, seqs[i]);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(ledger_flush(lg, put_ledger_cb, fx->st), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static int
ledger_load_cb(const struct store_ledger *l, void *arg)
{
	ledger_load(arg, l);
	return 0;
}

/* The gaps are written when a batch changes them, and only then: a batch
 * that changes nothing of them leaves them as they were (no rewrite that
 * could lose them), across a restart too. */
static void
test_ledger_gaps_follow_later_batches(void **state)
{
	struct fx		*fx = *state;
	struct ledger		*lg = ledger_new(LEDGER_JUMP_MAX);
	static const uint64_t	 b1[] = { 1, 5 }, b2[] = { 3 }, b3[] = { 6, 7 },
				 b4[] = { 2, 4 };

	ledger_batch(fx, lg, b1, TM_NELEM(b1));
	assert_int_equal(count(fx, "SELECT count(*) FROM seq_gaps"), 1);
	/* A restart: the ledger comes back from the store. */
	ledger_clear(lg);
	assert_int_equal(store_each_ledger(fx->st, ledger_load_cb, lg), 0);
	ledger_batch(fx, lg, b2, TM_NELEM(b2));
	assert_int_equal(count(fx, "SELECT count(*) FROM seq_gaps"), 2);
	assert_int_equal(count(fx, "SELECT count(*) FROM seq_gaps WHERE "
	    "(lo = 2 AND hi = 2) OR (lo = 4 AND hi = 4)"), 2);
	ledger_batch(fx, lg, b3, TM_NELEM(b3));
	assert_int_equal(count(fx, "SELECT count(*) FROM seq_gaps"), 2);
	assert_int_equal(count(fx, "SELECT seq_high FROM hosts WHERE "
	    "host_id = 'h1'"), 7);
	assert_int_equal(count(fx, "SELECT seq_missing FROM hosts WHERE "
	    "host_id = 'h1'"), 2);
	ledger_batch(fx, lg, b4, TM_NELEM(b4));
	assert_int_equal(count(fx, "SELECT count(*) FROM seq_gaps"), 0);
	assert_int_equal(count(fx, "SELECT seq_missing FROM hosts WHERE "
	    "host_id = 'h1'"), 0);
	ledger_free(lg);
}

/* Counters of several batches add up per host and per kind, and the host's
 * last seen time follows its latest record. */
static void
test_host_counters_add_up_over_batches(void **state)
{
	struct fx			*fx = *state;
	struct store_host_counts	 hc;
	struct store_query		 q;
	json_t				*out = NULL, *want;
	int				 b;

	for (b = 0; b < 3; b++) {
		struct tm_record	rec;
		msgpack_sbuffer		sb;

		memset(&rec, 0, sizeof rec);
		rec.version = TM_SCHEMA_MAJOR;
		rec.host_id = (char *)"h1";
		rec.seq = ++fx->seq;
		rec.kind = TM_KIND_HEARTBEAT;
		rec.body.heartbeat.interval_ns = 30 * SEC;
		rec.body.heartbeat.uptime_ns = SEC;
		msgpack_sbuffer_init(&sb);
		assert_int_equal(tm_encode(&rec, &sb), 0);
		memset(&hc, 0, sizeof hc);
		hc.records[TM_KIND_HEARTBEAT] = 1;
		hc.records[TM_KIND_EVENT] = (uint64_t)b;	/* 0 1 2 */
		hc.rejects[TM_REJ_MALFORMED] = 1;
		hc.last_rx_ns = T0 + (uint64_t)b * SEC;
		assert_int_equal(store_begin(fx->st), 0);
		assert_int_equal(store_put_record(fx->st, &rec, sb.data, sb.size,
		    T0 + (uint64_t)b * SEC), 0);
		assert_int_equal(store_put_host_counts(fx->st, "h1", &hc), 0);
		assert_int_equal(store_commit(fx->st), 0);
		msgpack_sbuffer_destroy(&sb);
	}
	store_query_init(&q, STORE_Q_HOST);
	q.id = "h1";
	assert_int_equal(store_query(fx->st, &q, &out), STORE_QOK);
	want = json_pack("{s:i,s:i}", "event", 3, "heartbeat", 3);
	assert_true(json_equal(json_object_get(out, "records_by_kind"), want));
	assert_int_equal(jint(out, "records"), 6);
	assert_int_equal(jint(out, "rejects"), 3);
	json_decref(want);
	json_decref(out);
	assert_int_equal(count(fx, "SELECT n FROM rejects WHERE host_id = 'h1' "
	    "AND reason = 'malformed'"), 3);
	assert_int_equal(count(fx, "SELECT last_seen_ns FROM hosts"),
	    T0 + 2 * SEC);
	assert_int_equal(count(fx, "SELECT first_seen_ns FROM hosts"), T0);
}

/* The same image key with another package list is another package set
 * (the list is compared, not trusted by its key). */
static void
test_package_list_changed_under_a_known_key(void **state)
{
	struct fx *fx = *state;

	image(fx, "h1", "img-a", 4, "1.0");
	image(fx, "h2", "img-a", 4, "1.1");
	image(fx, "h3", "img-a", 3, "1.0");
	image(fx, "h4", "img-a", 4, "1.0");
	assert_int_equal(count(fx, "SELECT count(*) FROM pkgsets"), 3);
	assert_int_equal(count(fx, "SELECT count(DISTINCT pkgset) FROM images"),
	    3);
	assert_int_equal(count(fx, "SELECT count(*) FROM images a JOIN images b "
	    "ON a.host_id = 'h1' AND b.host_id = 'h4' AND a.pkgset = b.pkgset"),
	    1);
	assert_int_equal(count(fx, "SELECT count(*) FROM images i JOIN pkgsets p "
	    "ON p.id = i.pkgset AND p.n = i.n_packages"), 4);
}

/* How many of host's image packages are at version, its image row found
 * through the index images_pkgset. */
static uint64_t
image_packages(struct fx *fx, const char *host, const char *version)
{
	char sql[512];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM images i INDEXED BY "
	    "images_pkgset JOIN packages k ON k.pkgset = i.pkgset WHERE "
	    "i.pkgset IN (SELECT pkgset FROM images WHERE host_id = '%s') AND "
	    "i.host_id = '%s' AND k.version = '%s'", host, host, version);
	return count(fx, sql);
}

/* The same image key of the same host with other packages: the row takes
 * the new package set (written by a statement of its own, run only when
 * the set changed), and its old set stays for the hosts that have it. */
static void
test_package_set_of_a_known_image_changes(void **state)
{
	struct fx *fx = *state;

	image(fx, "h1", "img-a", 4, "1.0");
	image(fx, "h2", "img-a", 4, "1.0");
	image(fx, "h1", "img-a", 4, "1.1");
	image(fx, "h1", "img-a", 4, "1.1");
	assert_int_equal(count(fx, "SELECT count(*) FROM pkgsets"), 2);
	assert_int_equal(image_packages(fx, "h1", "1.1"), 4);
	assert_int_equal(image_packages(fx, "h1", "1.0"), 0);
	assert_int_equal(image_packages(fx, "h2", "1.0"), 4);
}

/* A container's image key: taken from its first snapshot, kept through
 * events and snapshots without one, changed by a snapshot with another
 * (a statement of its own, run only then), and found by the image. */
static void
test_container_image_key_follows_its_snapshots(void **state)
{
	struct fx *fx = *state;

	snapshot_of(fx, "h1", "c1", "running", T0, 0, "img-1");
	event(fx, "h1", "c1", "pause", T0 + SEC, -1);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id = 'c1' AND image_key = 'img-1' AND state = 'paused'"), 1);
	snapshot_of(fx, "h1", "c1", "running", T0, 0, NULL);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id = 'c1' AND image_key = 'img-1'"), 1);
	snapshot_of(fx, "h1", "c1", "running", T0, 0, "img-2");
	snapshot_of(fx, "h1", "c1", "running", T0, 0, "img-2");
	assert_int_equal(count(fx, "SELECT count(*) FROM containers INDEXED BY "
	    "containers_image WHERE image_key = 'img-2'"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers INDEXED BY "
	    "containers_image WHERE image_key = 'img-1'"), 0);
	/* The snapshot's other facts still land with the new key. */
	snapshot_of(fx, "h1", "c1", "exited", T0, T0 + 5 * SEC, "img-3");
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id = 'c1' AND image_key = 'img-3' AND state = 'exited' AND "
	    "exit_code = 7 AND lifetime_ns = 5000000000"), 1);
}

/* A finding written again (resolved) is updated in place: one row, the
 * new facts, and the same rowid (a REPLACE would delete the row and
 * insert it again, rewriting its entry of every index). */
static void
test_finding_written_again_is_updated_in_place(void **state)
{
	struct fx	*fx = *state;
	struct finding	 a, b;
	uint64_t	 rowid;

	memset(&a, 0, sizeof a);
	a.key = "misconfiguration|h1|c1|5.4";
	a.kind = FINDING_MISCONFIG;
	a.level = SEV_HIGH;
	a.score = -1;
	a.host = "h1";
	a.container = "c1";
	a.check = "5.4";
	a.title = "privileged";
	a.first_seen_ns = a.last_seen_ns = T0;
	a.open = 1;
	finding_set_id(&a);
	b = a;
	b.key = "misconfiguration|h1|c1|5.31";
	b.check = "5.31";
	finding_set_id(&b);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_put_finding(fx->st, &a), 0);
	assert_int_equal(store_put_finding(fx->st, &b), 0);
	assert_int_equal(store_commit(fx->st), 0);
	rowid = count(fx, "SELECT rowid FROM findings WHERE check_id = '5.4'");
	a.open = 0;
	a.last_seen_ns = a.resolved_ns = T0 + 9 * SEC;
	a.reason = "container exited";
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_put_finding(fx->st, &a), 0);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM findings"), 2);
	assert_int_equal(count(fx, "SELECT rowid FROM findings WHERE "
	    "check_id = '5.4' AND open = 0 AND reason = 'container exited' "
	    "AND resolved_ns = first_seen_ns + 9000000000"), rowid);
	assert_int_equal(count(fx, "SELECT count(*) FROM findings INDEXED BY "
	    "findings_open WHERE open = 1"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM findings INDEXED BY "
	    "findings_open WHERE open = 0 AND resolved_ns > 0"), 1);
}

/* n container snapshots of host in one transaction: store_commit's result. */
static int
put_batch(struct fx *fx, const char *host, const char *prefix, int n)
{
	struct tm_record	 rec;
	char			 id[64];
	int			 i;

	assert_int_equal(store_begin(fx->st), 0);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%s-%04d", prefix, i);
		container_rec(&rec, host, id, "running", T0, 0, "img-1");
		if (put_in_tx(fx, &rec, T0 + 100 * SEC + fx->seq) == -1)
			return -1;
	}
	return store_commit(fx->st);
}

/* A reader on its own connection, in its own thread, while the writer
 * commits batches of 1000 containers: every count it reads is a whole
 * number of batches, and every read succeeds. */
struct wal_reader {
	const char	*path;
	volatile int	 stop;
	long		 reads, torn, errors;
};

static void *
wal_reader_main(void *arg)
{
	struct wal_reader	*w = arg;
	sqlite3			*db;
	sqlite3_stmt		*s;

	if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "SELECT count(*) FROM "
	    "containers", -1, &s, NULL) != SQLITE_OK) {
		w->errors++;
		sqlite3_close(db);
		return NULL;
	}
	while (!w->stop) {
		int rc = sqlite3_step(s);

		if (rc == SQLITE_ROW) {
			w->reads++;
			if (sqlite3_column_int64(s, 0) % 1000 != 0)
				w->torn++;
		} else if (rc != SQLITE_BUSY)
			w->errors++;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return NULL;
}

/* The writer's WAL frames go out a commit at a time (store-sqlite-vfs.c),
 * and what a commit wrote is there for a reader on another connection. */
static void
test_wal_frames_written_a_commit_at_a_time(void **state)
{
	struct fx		*fx = *state;
	struct sq_vfs_stats	 a, b;
	struct wal_reader	 w = { .path = fx->path };
	pthread_t		 t;
	int			 i;

	assert_non_null(sq_vfs_name());
	assert_int_equal(pthread_create(&t, NULL, wal_reader_main, &w), 0);
	for (i = 0; i < 3; i++) {
		char prefix[16];

		snprintf(prefix, sizeof prefix, "b%d", i);
		sq_vfs_stats(&a);
		assert_int_equal(put_batch(fx, "h1", prefix, 1000), 0);
		sq_vfs_stats(&b);
		print_message("batch %d: %llu writes asked for, %llu made\n", i,
		    (unsigned long long)(b.calls - a.calls),
		    (unsigned long long)(b.writes - a.writes));
		/* Hundreds of frames, two writes each asked for... */
		assert_true(b.calls - a.calls >= 100);
		/* ... and a few made: 120 KiB at a time. */
		assert_true(b.writes - a.writes >= 1);
		assert_true((b.writes - a.writes) * 20 <= b.calls - a.calls);
		assert_int_equal(count(fx, "SELECT count(*) FROM containers"),
		    (uint64_t)(i + 1) * 1000);
	}
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id = 'b2-0999' AND state = 'running'"), 1);
	for (i = 0; i < 5; i++) {
		char prefix[16];

		snprintf(prefix, sizeof prefix, "c%d", i);
		assert_int_equal(put_batch(fx, "h2", prefix, 1000), 0);
	}
	w.stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("reader: %ld reads, %ld torn, %ld errors\n", w.reads,
	    w.torn, w.errors);
	assert_true(w.reads > 0);
	assert_int_equal(w.torn, 0);
	assert_int_equal(w.errors, 0);
}

/* A WAL write that fails fails the commit (the frames held until the
 * commit frame are written then, and their error is the commit's): the
 * batch is not stored, the store goes on. */
static void
test_failed_wal_write_fails_the_commit(void **state)
{
	struct fx		*fx = *state;
	struct rlimit		 old, lim;
	struct sigaction	 sa, osa;

	snapshot(fx, "h1", "c0", "running", T0, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGXFSZ, &sa, &osa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(put_batch(fx, "h1", "lost", 400), -1);
	store_rollback(fx->st);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &osa, NULL), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers"), 1);
	assert_int_equal(put_batch(fx, "h1", "kept", 400), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers"), 401);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "id LIKE 'lost-%'"), 0);
	assert_int_equal(count(fx, "PRAGMA integrity_check = 1"), 0);
}

/* A package set stored in a transaction that was rolled back is stored
 * again by the next one (nothing remembers the lost row). */
static void
test_package_set_of_a_rolled_back_batch_is_stored_again(void **state)
{
	struct fx		*fx = *state;
	struct tm_record	 rec;
	struct tm_package	 pk;
	msgpack_sbuffer		 sb;

	memset(&rec, 0, sizeof rec);
	memset(&pk, 0, sizeof pk);
	rec.version = TM_SCHEMA_MAJOR;
	rec.host_id = (char *)"h1";
	rec.seq = 1;
	rec.kind = TM_KIND_IMAGE;
	rec.body.image.key = (char *)"img-r";
	pk.ecosystem = (char *)"dpkg";
	pk.name = (char *)"bash";
	pk.version = (char *)"5.2.15-2";
	rec.body.image.packages = &pk;
	rec.body.image.n_packages = 1;
	msgpack_sbuffer_init(&sb);
	assert_int_equal(tm_encode(&rec, &sb), 0);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_put_record(fx->st, &rec, sb.data, sb.size, T0), 0);
	store_rollback(fx->st);
	assert_int_equal(count(fx, "SELECT count(*) FROM pkgsets"), 0);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_put_record(fx->st, &rec, sb.data, sb.size, T0), 0);
	assert_int_equal(store_commit(fx->st), 0);
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(count(fx, "SELECT count(*) FROM images i JOIN pkgsets p "
	    "ON p.id = i.pkgset JOIN packages k ON k.pkgset = p.id AND "
	    "k.name = 'bash'"), 1);
}

/* A store of schema 2 (records per kind in host_records, no sequence
 * epochs) keeps its counts when it is migrated to the current schema. */
/* The processes table of schema versions 1 to 7. */
#define PROCESSES_TABLE \
	"CREATE TABLE processes (" \
	"  host_id TEXT NOT NULL, container_id TEXT NOT NULL," \
	"  pid INTEGER NOT NULL, start_ns INTEGER NOT NULL," \
	"  ppid INTEGER, uid INTEGER, gid INTEGER, host_uid INTEGER," \
	"  host_gid INTEGER, comm TEXT, exe TEXT, args TEXT, sha256 TEXT," \
	"  first_seen_ns INTEGER NOT NULL," \
	"  PRIMARY KEY (host_id, container_id, pid, start_ns)) WITHOUT ROWID;"

/*
 * Schema 7 -> 8: an older store's processes rows go into their
 * containers: the API lists the same processes, a newer reading winning,
 * those the last snapshot does not say kept beside it; rows of no
 * container are dropped, and so is the table.
 */
static void
test_migration_folds_processes(void **state)
{
	struct fx		*fx = *state;
	struct tm_record	 rec;
	struct procs		 pr;
	sqlite3			*db;
	char			 err[256], sql[2048], *t;
	const uint64_t		 t0 = T0 / SEC;

	snapshot_procs(fx, "x", "5", 0);	/* c9: 10 and 11 */
	procs_rec(&rec, &pr, "c8", "x", "5", 0);
	put(fx, &rec);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	snprintf(sql, sizeof sql,
	    "ALTER TABLE containers DROP COLUMN procs_past;"
	    "ALTER TABLE containers DROP COLUMN n_procs;"
	    PROCESSES_TABLE
	    "INSERT INTO containers (host_id, id, runtime, state, "
	    "first_seen_ns, last_seen_ns) VALUES ('h1', 'c7', 'containerd', "
	    "'running', 1, 1);"
	    "INSERT INTO processes VALUES "
	    "('h1', 'c9', 10, %" PRIu64 "000000000, NULL, 0, 0, 0, 0, 'sh', "
	    "NULL, '[\"sh\",\"-c\",\"x\"]', NULL, 1),"
	    "('h1', 'c9', 11, %" PRIu64 "000000000, 10, 0, 0, 0, 0, 'sleep', "
	    "NULL, '[\"sleep\",\"4\"]', NULL, 1),"
	    "('h1', 'c9', 12, %" PRIu64 "000000000, 10, 0, 0, 0, 0, 'top', "
	    "'/usr/bin/top', NULL, NULL, 1),"
	    "('h1', 'c8', 10, %" PRIu64 "000000000, NULL, 0, 0, 0, 0, 'sh', "
	    "NULL, '[\"sh\",\"-c\",\"x\"]', NULL, 1),"
	    "('h1', 'c7', 5, 7, 1, 0, 0, 0, 0, 'init', NULL, "
	    "'[\"init\",null]', NULL, 1),"
	    "('h1', 'gone', 1, 1, 1, 0, 0, 0, 0, 'x', NULL, NULL, NULL, 1);"
	    "PRAGMA user_version = 7", t0, t0 + 1, t0 + 2, t0);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_non_null(fx->st = store_open(fx->path, 0, err, sizeof err));
	assert_int_equal(count(fx, "PRAGMA user_version"), 8);
	assert_int_equal(count(fx, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'processes'"), 0);
	t = procs_text(fx);	/* 11's newer reading, 12 kept */
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"5\"]\n12:top:[]\n");
	free(t);
	t = procs_text_of(fx, "c8");	/* no more than its snapshot */
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"5\"]\n");
	free(t);
	t = procs_text_of(fx, "c7");	/* no snapshot: every row kept */
	assert_string_equal(t, "5:init:[\"init\",\"\"]\n");
	free(t);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers WHERE "
	    "procs_past IS NOT NULL"), 2);
	assert_int_equal(stat_int(fx, "processes"), 3 + 2 + 1);
	/* A later snapshot of c9 works on from there: 12 stays. */
	snapshot_procs(fx, "x", "6", 0);
	t = procs_text(fx);
	assert_string_equal(t, "10:sh:[\"sh\",\"-c\",\"x\"]\n"
	    "11:sleep:[\"sleep\",\"6\"]\n12:top:[]\n");
	free(t);
}

static void
test_migration_keeps_records_per_kind(void **state)
{
	struct fx	*fx = *state;
	sqlite3		*db;
	char		 err[256];
	static const char *const kinds[] = { "n_host", "n_heartbeat", "n_event",
	    "n_container", "n_image", "n_drift", "seq_epoch", "seq_restarts" };
	char		 sql[128];
	size_t		 i;

	heartbeat(fx, "h1", 1);
	store_close(fx->st);
	fx->st = NULL;
	/* Back to schema 2, as an older collector left it. */
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	for (i = 0; i < TM_NELEM(kinds); i++) {
		snprintf(sql, sizeof sql, "ALTER TABLE hosts DROP COLUMN %s",
		    kinds[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
	}
	assert_int_equal(sqlite3_exec(db, "DROP TABLE seq_epochs;"
	    "ALTER TABLE containers DROP COLUMN procs_digest;"
	    "ALTER TABLE containers DROP COLUMN procs_past;"
	    "ALTER TABLE containers DROP COLUMN n_procs;"
	    PROCESSES_TABLE
	    "CREATE INDEX processes_sha256 ON processes (sha256);"
	    "CREATE INDEX containers_id ON containers (id);"
	    "CREATE TABLE host_records ("
	    "host_id TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL, "
	    "PRIMARY KEY (host_id, kind)) WITHOUT ROWID;"
	    "INSERT INTO host_records VALUES ('h1', 'heartbeat', 40), "
	    "('h1', 'container', 7), ('h1', 'drift', 2);"
	    "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_non_null(fx->st = store_open(fx->path, 0, err, sizeof err));
	assert_int_equal(count(fx, "PRAGMA user_version"), 8);
	assert_int_equal(count(fx, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('processes_sha256', 'containers_id', 'processes')"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM pragma_table_info("
	    "'containers') WHERE name = 'procs_digest'"), 1);
	assert_int_equal(count(fx, "SELECT n_heartbeat * 10000 + n_container * "
	    "100 + n_drift FROM hosts WHERE host_id = 'h1'"), 400702);
	assert_int_equal(count(fx, "SELECT n_host + n_event + n_image FROM "
	    "hosts"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'host_records'"), 0);
	assert_int_equal(count(fx, "SELECT seq_epoch + seq_restarts FROM hosts "
	    "WHERE host_id = 'h1'"), 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM seq_epochs"), 0);
}

int	store_sqlite_checkpoint_wait(struct store *st, int *log, int *done);

/* The store's checkpointer thread (its own connection) copies the WAL into
 * the database: the writer, on the collector's loop, only appends. */
static void
test_checkpointer_copies_the_wal(void **state)
{
	struct fx	*fx = *state;
	char		 id[32];
	int		 i, log = -1, done = -1;

	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "ctr-%d", i);
		snapshot(fx, "h1", id, "running", T0 + (uint64_t)i * SEC, 0);
	}
	assert_int_equal(store_sqlite_checkpoint_wait(fx->st, &log, &done), 0);
	assert_true(log > 0);
	assert_int_equal(done, log);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers"), 20);
}

/* A store written by a newer program is refused, not misread. */
static void
test_newer_schema_refused(void **state)
{
	struct fx	*fx = *state;
	sqlite3		*db;
	char		 err[256];

	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	assert_null(store_open(fx->path, 0, err, sizeof err));
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "schema version 99 is newer"));
	assert_null(store_open(fx->path, 1, err, sizeof err));
}

/* Read-only (the query side): reads, refuses writes; a file that is no
 * store of ours, or none at all, is refused. */
static void
test_readonly_reads_and_refuses_writes(void **state)
{
	struct fx	*fx = *state;
	struct store	*ro;
	json_t		*c;
	char		 err[256], other[128];
	FILE		*fp;

	snapshot(fx, "h1", "c9", "running", T0, 0);
	ro = store_open(fx->path, 1, err, sizeof err);
	assert_non_null(ro);
	assert_int_equal(store_begin(ro), -1);
	{
		struct fx view = *fx;

		view.st = ro;
		c = container(&view, "h1", "c9");
		assert_string_equal(jstr(c, "state"), "running");
		json_decref(c);
	}
	store_close(ro);
	snprintf(other, sizeof other, "%s/none.db", fx->dir);
	assert_null(store_open(other, 1, err, sizeof err));
	assert_int_equal(access(other, F_OK), -1);	/* not created */
	snprintf(other, sizeof other, "%s/text.db", fx->dir);
	assert_non_null(fp = fopen(other, "w"));
	fputs("not a database\n", fp);
	fclose(fp);
	assert_null(store_open(other, 1, err, sizeof err));
	assert_null(store_open(other, 0, err, sizeof err));
	unlink(other);
}

/* ---------------------------------------------------------------------- */
/* api_parse_time: RFC 3339 or a duration ago. */

/*
 * The store writes string lists (process arguments, image references) as
 * JSON text without jansson's tree: the bytes must be the ones
 * json_dumps(record_json_strlist(...), JSON_COMPACT) writes, for every
 * escape and for valid and invalid UTF-8 (invalid: every non-ASCII byte
 * replaced, as record_json_str does).
 */
static void
check_strlist_text(char *const *list, size_t n)
{
	json_t	*j = record_json_strlist(list, n);
	char	*want = json_dumps(j, JSON_COMPACT);
	char	*got = record_json_strlist_text(list, n);

	assert_non_null(want);
	assert_string_equal(got, want);
	json_decref(j);
	free(want);
	free(got);
}

static void
test_strlist_text_is_what_jansson_writes(void **state)
{
	static const char *const fixed[] = {
		"", "plain", "sh -c \"echo $HOME\"", "back\\slash", "/usr/bin",
		"tab\there", "nl\nand\rcr", "\b\f\x01\x1f\x7f",
		"caf\xc3\xa9", "\xe2\x82\xac euro", "\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf",			/* U+10FFFF */
		"\xc3", "\xc0\xaf", "\xe0\x80\xaf",	/* truncated, overlong */
		"\xed\xa0\x80", "\xf4\x90\x80\x80",	/* surrogate, > U+10FFFF */
		"\xf5\x80\x80\x80", "\x80", "ok \xff then \xc3\xa9",
	};
	static const unsigned char pool[] = {
		'a', 'Z', ' ', '"', '\\', '/', 0x01, 0x08, 0x09, 0x0a, 0x0c,
		0x0d, 0x1f, 0x7f, 0x80, 0xbf, 0xc2, 0xc3, 0xa9, 0xe2, 0x82,
		0xac, 0xed, 0xa0, 0xf0, 0x9f, 0x98, 0xf4, 0x90, 0xff,
	};
	char		*list[4], buf[4][24];
	uint64_t	 r = 0x9e3779b97f4a7c15ULL;
	size_t		 i, k, m, len;

	(void)state;
	for (i = 0; i < TM_NELEM(fixed); i++)
		check_strlist_text((char *const *)&fixed[i], 1);
	check_strlist_text((char *const *)fixed, TM_NELEM(fixed));
	list[0] = NULL;
	list[1] = (char *)"x";
	check_strlist_text(list, 2);
	/* Random strings over the bytes that matter, 1 to 4 per list. */
	for (i = 0; i < 20000; i++) {
		m = 1 + i % 4;
		for (k = 0; k < m; k++) {
			r ^= r >> 12;
			r ^= r << 25;
			r ^= r >> 27;
			len = (size_t)(r % (sizeof buf[k]));
			for (size_t b = 0; b < len; b++) {
				r ^= r >> 12;
				r ^= r << 25;
				r ^= r >> 27;
				buf[k][b] = (char)pool[(r >> 32) % sizeof pool];
			}
			buf[k][len] = '\0';
			list[k] = buf[k];
		}
		check_strlist_text(list, m);
	}
}

static void
test_api_time_rfc3339(void **state)
{
	uint64_t t, now = T0;

	(void)state;
	assert_int_equal(api_parse_time("2027-01-15T08:00:00Z", now, &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(api_parse_time("2027-01-15T08:00:00.5Z", now, &t), 0);
	assert_int_equal(t, T0 + SEC / 2);
	assert_int_equal(api_parse_time("2027-01-15T08:00:00.123456789z", now,
	    &t), 0);
	assert_int_equal(t, T0 + 123456789);
	assert_int_equal(api_parse_time("2027-01-15T08:00:00.1234567891Z",
	    now, &t), 0);
	assert_int_equal(t, T0 + 123456789);	/* past ns: dropped */
	assert_int_equal(api_parse_time("2027-01-15T10:30:00+02:30", now, &t),
	    0);
	assert_int_equal(t, T0);
	assert_int_equal(api_parse_time("2027-01-15T03:00:00-05:00", now, &t),
	    0);
	assert_int_equal(t, T0);
	assert_int_equal(api_parse_time("1970-01-01T00:00:00Z", now, &t), 0);
	assert_int_equal(t, 0);
}

static void
test_api_time_duration_ago(void **state)
{
	uint64_t t;

	(void)state;
	assert_int_equal(api_parse_time("15m", T0, &t), 0);
	assert_int_equal(t, T0 - 15 * 60 * SEC);
	assert_int_equal(api_parse_time("500ms", T0, &t), 0);
	assert_int_equal(t, T0 - SEC / 2);
	assert_int_equal(api_parse_time("2d", T0, &t), 0);
	assert_int_equal(t, T0 - 2 * 86400 * SEC);
	/* A bare number is seconds, as for every duration (doc/api.md). */
	assert_int_equal(api_parse_time("15", T0, &t), 0);
	assert_int_equal(t, T0 - 15 * SEC);
	/* Longer ago than the epoch: the earliest time, not a wrap. */
	assert_int_equal(api_parse_time("100000d", 5 * SEC, &t), 0);
	assert_int_equal(t, 1);
}

static void
test_api_time_refuses_malformed(void **state)
{
	static const char *const bad[] = {
		"", "now", "yesterday", "0s", "0", "-5m", "2027-01-15",
		"2027-01-15T08:00:00", "2027-01-15 08:00:00Z",
		"2027-01-15T08:00:00Zjunk", "2027-13-15T08:00:00Z",
		"2027-01-32T08:00:00Z", "2027-01-15T25:00:00Z",
		"2027-01-15T08:00:00+2:00", "2027-01-15T08:00:00+02",
		"2027-01-15T08:00:00+24:00", "2027-01-15T08:00:00+02:60",
		"2027-01-15T08:00:00+02:00x", "1969-12-31T23:59:59Z",
		"1970-01-01T00:30:00+01:00", "T08:00:00Z",
		"2027-01-15T08:00:00.Z5",
	};
	uint64_t	t;
	size_t		i;

	(void)state;
	for (i = 0; i < TM_NELEM(bad); i++) {
		t = 42;
		if (api_parse_time(bad[i], T0, &t) != -1)
			fail_msg("'%s' accepted as %llu", bad[i],
			    (unsigned long long)t);
	}
}

/*
 * SQLite's memory statistics are off once a store has opened (they took
 * a global mutex on every allocation): the counter SQLite keeps only with
 * them on stays at 0 through writes and queries.
 */
static void
test_sqlite_memory_statistics_off(void **state)
{
	struct fx	*fx = *state;

	heartbeat(fx, "h1", 1);
	snapshot(fx, "h1", "c1", "running", T0, 0);
	assert_int_equal(count(fx, "SELECT count(*) FROM containers"), 1);
	assert_int_equal(sqlite3_memory_used(), 0);
	assert_int_equal(sqlite3_memory_highwater(0), 0);
}

/* The findings store's file, beside the store's (tallyman.conf(5)). */
static void
test_findings_path(void **state)
{
	static const char *const cases[][2] = {
		{ "/var/lib/tallyman/collector/collector.db",
		  "/var/lib/tallyman/collector/collector-findings.db" },
		{ "store.db", "store-findings.db" },
		{ "/srv/fleet", "/srv/fleet-findings.db" },
		{ "/srv/fleet.sqlite", "/srv/fleet.sqlite-findings.db" },
		{ ".db", ".db-findings.db" },
		{ "a.db.db", "a.db-findings.db" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < TM_NELEM(cases); i++) {
		char *p = store_findings_path(cases[i][0]);

		assert_string_equal(p, cases[i][1]);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings_path),
		cmocka_unit_test_setup_teardown(
		    test_sqlite_memory_statistics_off, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lifecycle_snapshot_then_exit_and_delete_events,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lifecycle_late_running_snapshot_keeps_the_exit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lifecycle_restart_after_exit_runs_again,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lifecycle_removed_stays_removed, setup, teardown),
		cmocka_unit_test(test_process_lists_merge),
		cmocka_unit_test(test_process_past_is_what_the_snapshot_lacks),
		cmocka_unit_test_setup_teardown(
		    test_processes_over_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_prepared_process_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_prepare_beside_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_are_idempotent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_without_packages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_sets_are_shared,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_gives_back_the_fleet,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_findings_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_new_epoch_restarts_the_sequence,
		    setup, teardown),
		cmocka_unit_test(test_ledger_epochs_are_bounded),
		cmocka_unit_test_setup_teardown(
		    test_counts_of_unknown_hosts_make_no_host, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ledger_gaps_follow_later_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_host_counters_add_up_over_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_package_list_changed_under_a_known_key, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_package_set_of_a_rolled_back_batch_is_stored_again,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_package_set_of_a_known_image_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_container_image_key_follows_its_snapshots, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_finding_written_again_is_updated_in_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_wal_frames_written_a_commit_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_wal_write_fails_the_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_migration_keeps_records_per_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_migration_folds_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpointer_copies_the_wal,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_readonly_reads_and_refuses_writes, setup, teardown),
		cmocka_unit_test(test_strlist_text_is_what_jansson_writes),
		cmocka_unit_test(test_api_time_rfc3339),
		cmocka_unit_test(test_api_time_duration_ago),
		cmocka_unit_test(test_api_time_refuses_malformed),
	};

	log_init("test-store", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
