/*
 * store.h: the collector's store, behind one interface.  SQLite (WAL mode,
 * store-sqlite.c) is the embedded default; a second implementation (e.g.
 * PostgreSQL for several replicas on several machines) is one more file and
 * one more line in store.c's table, without touching the consumer, the API
 * or the correlation.
 *
 * The model (doc/api.md shows it as JSON):
 *   hosts       host facts, agent version, last heartbeat and its counters,
 *               records, rejects, per-host sequence ledger (highest sequence
 *               seen and the gaps below it), first seen, last seen
 *   containers  one row per (host, container id): identity, image, full
 *               lifecycle (created, started, exited, removed, exit code,
 *               OOM, lifetime), Kubernetes pod, configuration risks, the
 *               last snapshot as the agent sent it
 *               and the processes of earlier snapshots it no longer lists
 *               (store-procs.c): with it, every process ever seen in the
 *               container
 *   images      one row per (host, image key): id, references, OS, scan
 *               figures, and its package set
 *   pkgsets     package lists, stored once per distinct list (the fleet's
 *   packages    hosts share images: a package set is shared by them all)
 *   drift       files changed in containers' writable layers
 *   findings    every finding and its changes (correlate.c decides them)
 *   rejects     rejected messages per host and reason
 *
 * Threading: one struct store is used from one thread at a time: the
 * loop's, or the consumer's writer thread while it runs a batch's
 * transaction (the loop waits for that before it uses the store again).
 * Writers: all writes of a consumer batch happen between store_begin and
 * store_commit, so that a crash leaves either all or none of them; the
 * caller commits Kafka offsets only after store_commit returned 0.
 *
 * Errors: functions return 0 or -1 and log what failed ("store: ...").
 */
#ifndef TALLYMAN_STORE_H
#define TALLYMAN_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "collector/collector.h"

struct store;

/* An epoch of a host's sequence that is no longer its current one. */
struct store_epoch {
	uint64_t epoch;
	uint64_t high;			/* highest sequence accepted in it */
};
/* A host's sequence ledger as stored (ledger.c keeps it in memory). */
struct store_gap {
	uint64_t lo, hi;		/* missing: lo..hi inclusive */
};
struct store_ledger {
	const char	*host;
	int		 seen;		/* 0: no record accepted yet */
	uint64_t	 high;		/* highest sequence accepted */
	uint64_t	 missing;	/* sequence numbers never received */
	uint64_t	 duplicates;	/* records received again (replays) */
	const struct store_gap *gaps;	/* open gaps, ascending */
	size_t		 ngaps;
	int		 gaps_changed;	/* since read from or written to the
					   store: write them again */
	uint64_t	 epoch;		/* the current epoch (envelope "e") */
	uint64_t	 restarts;	/* epochs begun after the first */
	const struct store_epoch *retired;	/* newest first */
	size_t		 nretired;
	int		 retired_changed;	/* write them again */
};

/* Per-batch counters of one host (added to its row at commit). */
struct store_host_counts {
	uint64_t records[TM_KIND_MAX];	/* accepted, per kind */
	uint64_t duplicates;		/* dropped: seen before */
	uint64_t rejects[REJ_MAX];	/* refused, per reason */
	uint64_t last_rx_ns;
};

/* What a query asks for: filled from an API request or the query tool. */
enum store_what {
	STORE_Q_HOSTS,		/* list */
	STORE_Q_HOST,		/* one: id */
	STORE_Q_CONTAINERS,	/* list */
	STORE_Q_CONTAINER,	/* one: id (and host when ids collide) */
	STORE_Q_IMAGES,		/* list */
	STORE_Q_IMAGE,		/* one: id (key), host optional */
	STORE_Q_PACKAGES,	/* package search: name required */
	STORE_Q_STATS,		/* totals for the summary and /metrics */
};
#define STORE_LIMIT_DEFAULT	100
#define STORE_LIMIT_MAX		1000
struct store_query {
	enum store_what	 what;
	const char	*id;		/* ONE queries */
	const char	*host;		/* host id */
	const char	*image;		/* image key, id or reference */
	const char	*ns;		/* containerd namespace */
	const char	*pod;		/* Kubernetes pod name */
	const char	*pod_ns;	/* Kubernetes pod namespace */
	const char	*name;		/* container name; package name */
	const char	*version;	/* package version */
	const char	*ecosystem;	/* package ecosystem: dpkg rpm apk */
	int		 running;	/* -1 any, 0 not running, 1 running */
	int		 privileged;	/* -1 any, 1 privileged only */
	uint64_t	 lifetime_lt_ns;	/* 0: no filter */
	uint64_t	 since_ns;	/* alive at or after (0: no filter) */
	uint64_t	 until_ns;	/* alive at or before (0: no filter) */
	unsigned	 limit;		/* 1..STORE_LIMIT_MAX */
	uint64_t	 cursor;	/* opaque, from the last page's "next" */
	uint64_t	 now_ns;	/* the query's clock (silent hosts) */
	uint64_t	 silent_ns;	/* a host is silent after this long */
};
enum store_qresult {
	STORE_QOK = 0,
	STORE_QNOTFOUND,	/* ONE query: no such id */
	STORE_QAMBIGUOUS,	/* ONE query: the id is on several hosts */
	STORE_QERROR,		/* the store failed (logged) */
};

/*
 * What a backend works out from a record alone, before the record's batch
 * (store_prepare): the consumer has it done on its decoder thread, off the
 * loop that writes.
 */
struct store_prep {
	bool		 has_procs;
	uint8_t		 procs[32];	/* a snapshot's process list, hashed */
};

struct store_backend {
	const char	*name;		/* "sqlite" */
	/* Whether path names a store of this kind (the first match wins). */
	int		(*probe)(const char *path);
	struct store	*(*open)(const char *path, int readonly, char *err,
			    size_t errlen);
	void		(*close)(struct store *st);
	int		(*begin)(struct store *st);
	int		(*commit)(struct store *st);
	void		(*rollback)(struct store *st);
	/* Pure: may run on another thread while the store writes. */
	void		(*prepare)(const struct tm_record *rec,
			    struct store_prep *p);
	int		(*put_record)(struct store *st,
			    const struct tm_record *rec,
			    const struct store_prep *p, const void *raw,
			    size_t rawlen, uint64_t rx_ns);
	int		(*put_host_counts)(struct store *st, const char *host,
			    const struct store_host_counts *c);
	int		(*put_ledger)(struct store *st,
			    const struct store_ledger *l);
	int		(*put_finding)(struct store *st,
			    const struct finding *f);
	int		(*each_ledger)(struct store *st,
			    int (*fn)(const struct store_ledger *, void *),
			    void *arg);
	int		(*each_finding)(struct store *st, uint64_t since_ns,
			    int (*fn)(const struct finding *, void *),
			    void *arg);
	int		(*replay)(struct store *st,
			    int (*fn)(const struct tm_record *, uint64_t,
			    void *), void *arg);
	enum store_qresult (*query)(struct store *st,
			    const struct store_query *q, json_t **out);
	int		(*prune)(struct store *st, uint64_t before_ns);
	int		(*drop_findings)(struct store *st);
};

/* Every store has this first: store.c dispatches through it. */
struct store {
	const struct store_backend *be;
	char		*path;
	uint64_t	 commits;		/* transactions committed */
	uint64_t	 commit_ns_total;	/* time spent committing */
	uint64_t	 errors;		/* failed statements */
};

/* store.c */
extern const struct store_backend store_sqlite;
/*
 * Open the store at path with the first backend that recognises it
 * (SQLite: any file path).  readonly: for the query tool; no migration is
 * run and no write is allowed.  Creates and migrates the schema otherwise.
 * Returns NULL with err set ("store: FILE: reason").
 */
struct store	*store_open(const char *path, int readonly, char *err,
		    size_t errlen);
void	store_close(struct store *st);
int	store_begin(struct store *st);
int	store_commit(struct store *st);
void	store_rollback(struct store *st);
/*
 * Apply one accepted record (the caller checked its sequence): host facts,
 * heartbeat, container lifecycle event, snapshot (with its processes),
 * image (with its packages), drift.  raw/rawlen: the message as received
 * (the whole record, parts joined); a container snapshot is kept as it
 * came, for the API and for replays.  Only inside a batch.
 */
int	store_put_record(struct store *st, const struct tm_record *rec,
	    const void *raw, size_t rawlen, uint64_t rx_ns);
/*
 * The part of store_put_record that needs nothing of the store but its
 * kind: reads only st's backend, so it may run on another thread while st
 * writes.  p is then given to store_put_prepared with the same record.
 */
void	store_prepare(const struct store *st, const struct tm_record *rec,
	    struct store_prep *p);
int	store_put_prepared(struct store *st, const struct tm_record *rec,
	    const struct store_prep *p, const void *raw, size_t rawlen,
	    uint64_t rx_ns);
int	store_put_host_counts(struct store *st, const char *host,
	    const struct store_host_counts *c);
int	store_put_ledger(struct store *st, const struct store_ledger *l);
/* A finding's new state (insert or replace by id); inside a batch. */
int	store_put_finding(struct store *st, const struct finding *f);
/* At start-up: every host's ledger. */
int	store_each_ledger(struct store *st,
	    int (*fn)(const struct store_ledger *, void *), void *arg);
/* At start-up: open findings, and those resolved at or after since_ns. */
int	store_each_finding(struct store *st, uint64_t since_ns,
	    int (*fn)(const struct finding *, void *), void *arg);
/*
 * At start-up: the stored fleet as records, for the correlation engine:
 * per host its facts and last heartbeat, its images (with packages), its
 * containers not removed (last snapshot with the lifecycle since), drift.
 */
int	store_replay(struct store *st,
	    int (*fn)(const struct tm_record *, uint64_t rx_ns, void *),
	    void *arg);
/* A stored message (snapshot, heartbeat) back into rec: 0 or -1. */
int	store_decode(const void *blob, size_t len, struct tm_record *rec);
/* Answer q; *out (caller owns) is the JSON answer when STORE_QOK. */
enum store_qresult store_query(struct store *st, const struct store_query *q,
	    json_t **out);
void	store_query_init(struct store_query *q, enum store_what what);
/* Forget removed containers and resolved findings older than before_ns. */
int	store_prune(struct store *st, uint64_t before_ns);
/* Delete every finding (moved to the findings store). */
int	store_drop_findings(struct store *st);
/*
 * The findings store of the store at path, another store of the same kind
 * beside it: "DIR/NAME.db" -> "DIR/NAME-findings.db", any other path ->
 * "PATH-findings.db".  The collector writes findings there, on a thread
 * of their own (SQLite takes one writer per file); its other tables stay
 * empty, as does the main store's findings table.  Caller frees.
 */
char	*store_findings_path(const char *path);

/*
 * store-procs.c: a container's processes over its snapshots.  Both return
 * a new array of shallow copies (free only the array), sorted by start
 * time and pid, each process once, and its size in *n (NULL when 0).
 *
 * store_procs_union: the processes of either list; where both have one,
 * newer's reading, its absent fields taken from older's.
 * store_procs_past: what seen has that cur does not say: its processes
 * that cur lacks or reads with a field missing (at most TM_PROCS_MAX, the
 * first ones).  store_procs_union(cur, past) then gives seen's processes
 * and cur's.
 * store_procs_beside: what to store beside snapshot rec, given every
 * earlier reading seen: store_procs_past(seen, rec's processes), encoded
 * into out (a container record with rec's envelope and identity, and those
 * processes; nothing when there are none), how many there are (*n_kept),
 * and how many processes rec and they make together (*n_all).  -1: they
 * could not be encoded (out is then empty or partial).
 */
struct tm_process *store_procs_union(const struct tm_process *newer,
	    size_t nnewer, const struct tm_process *older, size_t nolder,
	    size_t *n);
struct tm_process *store_procs_past(const struct tm_process *seen,
	    size_t nseen, const struct tm_process *cur, size_t ncur, size_t *n);
int	store_procs_beside(const struct tm_record *rec,
	    const struct tm_process *seen, size_t nseen, msgpack_sbuffer *out,
	    uint64_t *n_all, size_t *n_kept);

/* store-sqlite-vfs.c: the writer's WAL writes, a commit at a time. */
struct sq_vfs_stats {
	uint64_t	 calls;		/* writes SQLite asked for */
	uint64_t	 writes;	/* writes made */
	uint64_t	 bytes;
};
/* The VFS's name (registered on the first call), or NULL if the default
 * VFS cannot be wrapped. */
const char	*sq_vfs_name(void);
void		 sq_vfs_stats(struct sq_vfs_stats *out);

/* ledger.c: each host's sequence ledger in memory (see the file). */
#define LEDGER_GAPS_MAX		1024		/* gap ranges kept per host */
#define LEDGER_JUMP_MAX		(1ULL << 32)	/* a larger step is refused */
#define LEDGER_RETIRED_MAX	4		/* retired epochs kept per host */
enum ledger_verdict {
	LEDGER_NEW,		/* above the highest: accept */
	LEDGER_FILL,		/* a missing number: accept */
	LEDGER_DUP,		/* seen before: drop */
	LEDGER_JUMP,		/* implausibly far ahead: refuse */
};
struct ledger;
struct ledger	*ledger_new(uint64_t jump_max);
void	ledger_free(struct ledger *lg);
void	ledger_clear(struct ledger *lg);
enum ledger_verdict ledger_check(struct ledger *lg, const char *host,
	    uint64_t epoch, uint64_t seq);
void	ledger_load(struct ledger *lg, const struct store_ledger *sl);
int	ledger_flush(struct ledger *lg,
	    int (*fn)(const struct store_ledger *, void *), void *arg);
int	ledger_get(const struct ledger *lg, const char *host,
	    struct store_ledger *sl);
void	ledger_totals(const struct ledger *lg, uint64_t *hosts,
	    uint64_t *missing, uint64_t *duplicates);

/* record-json.c: records' parts as the API shows them (long key names). */
json_t	*record_json_str(const char *s);	/* bad UTF-8 replaced */
json_t	*record_json_risks(const struct tm_risks *r);
json_t	*record_json_process(const struct tm_process *p);
json_t	*record_json_heartbeat(const struct tm_heartbeat *hb);
json_t	*record_json_time(uint64_t ns);		/* RFC 3339, null for 0 */
json_t	*record_json_strlist(char *const *list, size_t n);
char	*record_json_strlist_text(char *const *list, size_t n);
json_t	*record_json_labels(const struct tm_kv *kv, size_t n);

#endif /* TALLYMAN_STORE_H */
