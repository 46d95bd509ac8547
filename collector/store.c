/*
 * store.c: the store interface (store.h) over its backends.  A backend is
 * one file and one line in store_backends[]; the first whose probe
 * recognises store.path opens it.
 */
#include "config.h"

#include <string.h>

#include "collector/collector.h"
#include "collector/store.h"

static const struct store_backend *const store_backends[] = {
	&store_sqlite,
};

const char *
store_reject_name(unsigned why)
{
	if (why == REJ_KEY_MISMATCH)
		return "key_mismatch";
	if (why == REJ_SEQ_JUMP)
		return "seq_jump";
	return tm_reject_name((enum tm_reject)why);
}

/*
 * Decode a record the store kept as it was received: a split record's
 * parts joined, so up to TM_PARTS_MAX * TM_PART_MAX bytes, not the
 * TM_MSG_MAX bound of one message (tm_decode would refuse it).  Returns 0
 * (free rec with tm_record_free) or -1.
 */
int
store_decode(const void *blob, size_t len, struct tm_record *rec)
{
	msgpack_unpacked	up;
	char			detail[128];
	enum tm_reject		r;

	memset(rec, 0, sizeof *rec);
	if (blob == NULL || len == 0)
		return -1;
	r = tm_unpack(blob, len, (size_t)TM_PARTS_MAX * TM_PART_MAX, &up,
	    detail, sizeof detail);
	if (r == TM_OK)
		r = tm_decode_object(&up.data, rec, detail, sizeof detail);
	msgpack_unpacked_destroy(&up);
	return r == TM_OK ? 0 : -1;
}

struct store *
store_open(const char *path, int readonly, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < TM_NELEM(store_backends); i++) {
		struct store *st;

		if (!store_backends[i]->probe(path))
			continue;
		if ((st = store_backends[i]->open(path, readonly, err,
		    errlen)) != NULL)
			st->be = store_backends[i];
		return st;
	}
	snprintf(err, errlen, "store: %s: no store backend for this path",
	    path);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->be->close(st);
}

int
store_begin(struct store *st)
{
	return st->be->begin(st);
}

int
store_commit(struct store *st)
{
	return st->be->commit(st);
}

void
store_rollback(struct store *st)
{
	st->be->rollback(st);
}

int
store_put_record(struct store *st, const struct tm_record *rec,
    const void *raw, size_t rawlen, uint64_t rx_ns)
{
	return st->be->put_record(st, rec, NULL, raw, rawlen, rx_ns);
}

void
store_prepare(const struct store *st, const struct tm_record *rec,
    struct store_prep *p)
{
	st->be->prepare(rec, p);
}

int
store_put_prepared(struct store *st, const struct tm_record *rec,
    const struct store_prep *p, const void *raw, size_t rawlen,
    uint64_t rx_ns)
{
	return st->be->put_record(st, rec, p, raw, rawlen, rx_ns);
}

int
store_put_host_counts(struct store *st, const char *host,
    const struct store_host_counts *c)
{
	return st->be->put_host_counts(st, host, c);
}

int
store_put_ledger(struct store *st, const struct store_ledger *l)
{
	return st->be->put_ledger(st, l);
}

int
store_put_finding(struct store *st, const struct finding *f)
{
	return st->be->put_finding(st, f);
}

int
store_each_ledger(struct store *st,
    int (*fn)(const struct store_ledger *, void *), void *arg)
{
	return st->be->each_ledger(st, fn, arg);
}

int
store_each_finding(struct store *st, uint64_t since_ns,
    int (*fn)(const struct finding *, void *), void *arg)
{
	return st->be->each_finding(st, since_ns, fn, arg);
}

int
store_replay(struct store *st,
    int (*fn)(const struct tm_record *, uint64_t, void *), void *arg)
{
	return st->be->replay(st, fn, arg);
}

void
store_query_init(struct store_query *q, enum store_what what)
{
	memset(q, 0, sizeof *q);
	q->what = what;
	q->running = -1;
	q->privileged = -1;
	q->limit = STORE_LIMIT_DEFAULT;
	q->now_ns = now_ns();
	q->silent_ns = 90ULL * 1000000000ULL;
}

enum store_qresult
store_query(struct store *st, const struct store_query *q, json_t **out)
{
	*out = NULL;
	return st->be->query(st, q, out);
}

int
store_prune(struct store *st, uint64_t before_ns)
{
	return st->be->prune(st, before_ns);
}

int
store_drop_findings(struct store *st)
{
	return st->be->drop_findings(st);
}

char *
store_findings_path(const char *path)
{
	size_t	 n = strlen(path);
	char	*out;

	if (n > 3 && strcmp(path + n - 3, ".db") == 0)
		xasprintf(&out, "%.*s-findings.db", (int)(n - 3), path);
	else
		xasprintf(&out, "%s-findings.db", path);
	return out;
}
