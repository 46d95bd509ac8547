/*
 * store-sqlite.c: the store in one SQLite file, in WAL mode (store.h).
 *
 * Schema: versioned with PRAGMA user_version; sq_migrations[i] takes a
 * store from version i to i + 1, each in its own transaction, at open.  A
 * store newer than this program is refused (it would be misread).
 *
 * Writes come in batches (one transaction per consumer batch) through
 * prepared statements kept for the store's life.  Package lists are stored
 * once per distinct list (pkgsets, keyed by the SHA-256 of the list): the
 * fleet's hosts run the same images, and a 10 000-host fleet would
 * otherwise store each image's packages 10 000 times.
 *
 * Checkpoints (copying the WAL into the database file, and its fsync) run
 * on a thread of the store's own with its own connection (sq_ckpt_main):
 * the writer, on the collector's loop, only appends to the WAL, through
 * the VFS of store-sqlite-vfs.c (a commit's frames in writes of 120 KiB,
 * not two system calls per page).  Should that thread fall behind, the
 * writer checkpoints itself past SQ_WAL_MAX frames, so the WAL stays
 * bounded.
 *
 * Numbers: the wire carries unsigned 64-bit integers, SQLite signed ones:
 * values above INT64_MAX are stored as INT64_MAX (times past 2262).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collector/collector.h"
#include "collector/store.h"

#define SQ_BUSY_MS	10000

/* hosts has one n_KIND column per record kind (SQ_HOST_BATCH). */
_Static_assert(TM_KIND_MAX == 7, "a record kind without its hosts column");
#define SQ_CACHE_KIB	65536

static const char *const sq_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE hosts ("
	"  host_id TEXT PRIMARY KEY,"
	"  hostname TEXT, os_id TEXT, os_version TEXT, os_pretty TEXT,"
	"  kernel TEXT, arch TEXT, agent_version TEXT, docker_version TEXT,"
	"  containerd_version TEXT, boot_ns INTEGER, ncpu INTEGER,"
	"  mem_bytes INTEGER, facts_ns INTEGER,"
	"  first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,"
	"  hb_ns INTEGER, hb_interval_ns INTEGER, heartbeat BLOB,"
	"  seq_seen INTEGER NOT NULL DEFAULT 0,"
	"  seq_high INTEGER NOT NULL DEFAULT 0,"
	"  seq_missing INTEGER NOT NULL DEFAULT 0,"
	"  seq_duplicates INTEGER NOT NULL DEFAULT 0,"
	"  records INTEGER NOT NULL DEFAULT 0,"
	"  rejects INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE host_records ("
	"  host_id TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, kind)) WITHOUT ROWID;"
	"CREATE TABLE rejects ("
	"  host_id TEXT NOT NULL, reason TEXT NOT NULL, n INTEGER NOT NULL,"
	"  last_ns INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, reason)) WITHOUT ROWID;"
	"CREATE TABLE seq_gaps ("
	"  host_id TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, lo)) WITHOUT ROWID;"
	"CREATE TABLE containers ("
	"  host_id TEXT NOT NULL, id TEXT NOT NULL,"
	"  runtime TEXT, ns TEXT, name TEXT, image_ref TEXT, image_id TEXT,"
	"  image_digest TEXT, image_key TEXT, user TEXT,"
	"  state TEXT NOT NULL, created_ns INTEGER, started_ns INTEGER,"
	"  finished_ns INTEGER, removed_ns INTEGER, lifetime_ns INTEGER,"
	"  exit_code INTEGER, oom INTEGER NOT NULL DEFAULT 0, pid INTEGER,"
	"  pod_name TEXT, pod_ns TEXT, k8s_container TEXT,"
	"  privileged INTEGER NOT NULL DEFAULT 0,"
	"  procs_missed INTEGER NOT NULL DEFAULT 0,"
	"  snapshot BLOB, snapshot_ns INTEGER,"
	"  first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, id));"
	"CREATE INDEX containers_id ON containers (id);"
	"CREATE INDEX containers_image ON containers (image_key);"
	"CREATE INDEX containers_seen ON containers (first_seen_ns);"
	"CREATE TABLE processes ("
	"  host_id TEXT NOT NULL, container_id TEXT NOT NULL,"
	"  pid INTEGER NOT NULL, start_ns INTEGER NOT NULL,"
	"  ppid INTEGER, uid INTEGER, gid INTEGER, host_uid INTEGER,"
	"  host_gid INTEGER, comm TEXT, exe TEXT, args TEXT, sha256 TEXT,"
	"  first_seen_ns INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, container_id, pid, start_ns)) WITHOUT ROWID;"
	"CREATE INDEX processes_sha256 ON processes (sha256);"
	"CREATE TABLE pkgsets ("
	"  id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE,"
	"  n INTEGER NOT NULL);"
	"CREATE TABLE packages ("
	"  pkgset INTEGER NOT NULL, ecosystem TEXT NOT NULL,"
	"  name TEXT NOT NULL, version TEXT NOT NULL, epoch INTEGER,"
	"  arch TEXT, source_name TEXT, source_version TEXT, vendor TEXT,"
	"  modularity TEXT);"
	"CREATE INDEX packages_pkgset ON packages (pkgset);"
	"CREATE INDEX packages_name ON packages (name);"
	"CREATE INDEX packages_source ON packages (source_name);"
	"CREATE TABLE images ("
	"  host_id TEXT NOT NULL, key TEXT NOT NULL, image_id TEXT,"
	"  refs TEXT, os_id TEXT, os_version TEXT, os_codename TEXT,"
	"  os_pretty TEXT, pkgset INTEGER, n_packages INTEGER,"
	"  scan_ns INTEGER, errors INTEGER, notes TEXT,"
	"  first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, key));"
	"CREATE INDEX images_key ON images (key);"
	"CREATE INDEX images_pkgset ON images (pkgset);"
	"CREATE TABLE drift ("
	"  host_id TEXT NOT NULL, container_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL, when_ TEXT NOT NULL, time_ns INTEGER,"
	"  path TEXT NOT NULL, change TEXT NOT NULL, size INTEGER,"
	"  mode INTEGER, sha256 TEXT, rx_ns INTEGER NOT NULL);"
	"CREATE INDEX drift_container ON drift (host_id, container_id);"
	"CREATE TABLE findings ("
	"  id TEXT PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL,"
	"  severity TEXT NOT NULL, score REAL, host_id TEXT,"
	"  container_id TEXT, container_name TEXT, image TEXT, image_ref TEXT,"
	"  package TEXT, source TEXT, installed TEXT, fixed TEXT,"
	"  advisory TEXT, aliases TEXT, check_id TEXT, title TEXT,"
	"  detail TEXT, first_seen_ns INTEGER NOT NULL,"
	"  last_seen_ns INTEGER NOT NULL, resolved_ns INTEGER,"
	"  reason TEXT, open INTEGER NOT NULL);"
	"CREATE INDEX findings_open ON findings (open, resolved_ns);",
	/* 1 -> 2: when a container's first snapshot arrived (latency). */
	"ALTER TABLE containers ADD COLUMN first_snapshot_ns INTEGER;",
	/* 2 -> 3: records per kind are columns of hosts (one statement per
	 * host and batch instead of one per host, kind and batch). */
	"ALTER TABLE hosts ADD COLUMN n_host INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN n_heartbeat INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN n_event INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN n_container INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN n_image INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN n_drift INTEGER NOT NULL DEFAULT 0;"
	"UPDATE hosts SET"
	"  n_host = coalesce((SELECT n FROM host_records r WHERE"
	"    r.host_id = hosts.host_id AND r.kind = 'host'), 0),"
	"  n_heartbeat = coalesce((SELECT n FROM host_records r WHERE"
	"    r.host_id = hosts.host_id AND r.kind = 'heartbeat'), 0),"
	"  n_event = coalesce((SELECT n FROM host_records r WHERE"
	"    r.host_id = hosts.host_id AND r.kind = 'event'), 0),"
	"  n_container = coalesce((SELECT n FROM host_records r WHERE"
	"    r.host_id = hosts.host_id AND r.kind = 'container'), 0),"
	"  n_image = coalesce((SELECT n FROM host_records r WHERE"
	"    r.host_id = hosts.host_id AND r.kind = 'image'), 0),"
	"  n_drift = coalesce((SELECT n FROM host_records r WHERE"
	"    r.host_id = hosts.host_id AND r.kind = 'drift'), 0);"
	"DROP TABLE host_records;",
	/* 3 -> 4: sequence epochs (schema 1.1's "e"): the host's current
	 * epoch, how many it began, and its retired ones. */
	"ALTER TABLE hosts ADD COLUMN seq_epoch INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN seq_restarts INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE seq_epochs ("
	"  host_id TEXT NOT NULL, epoch INTEGER NOT NULL, high INTEGER NOT NULL,"
	"  ord INTEGER NOT NULL,"	/* 0: the most recently retired */
	"  PRIMARY KEY (host_id, epoch)) WITHOUT ROWID;",
	/* 4 -> 5: no query looks processes up by sha256, and the index cost
	 * every new process a write on a page of its own (ingest). */
	"DROP INDEX IF EXISTS processes_sha256;",
	/* 5 -> 6: the SHA-256 of the container's last process list as
	 * written (sq_procs_digest): the same list again is not rewritten. */
	"ALTER TABLE containers ADD COLUMN procs_digest BLOB;",
	/* 6 -> 7: no query looks containers up by id alone (the API's
	 * lookup by id, prefix or name scans), and the index cost every new
	 * container a write on a random page of its own (about 10 % of the
	 * pages an ingest writes). */
	"DROP INDEX IF EXISTS containers_id;",
	/* 7 -> 8: a container's processes are read from its last snapshot,
	 * and the processes of earlier ones that it no longer lists from
	 * procs_past (store-procs.c); n_procs counts them all.  The
	 * processes table wrote each process a second time, one row each: a
	 * third of the pages an ingest wrote.  sq_procs_fold moves its rows
	 * and drops it. */
	"ALTER TABLE containers ADD COLUMN procs_past BLOB;"
	"ALTER TABLE containers ADD COLUMN n_procs INTEGER NOT NULL DEFAULT 0;",
};
#define SQ_VERSION	((int)TM_NELEM(sq_migrations))

/* Prepared statements, made on first use and kept. */
enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_HOST_BATCH,
	SQ_HOST_FACTS,
	SQ_HOST_HB,
	SQ_HOST_REJECT,
	SQ_HOST_EXISTS,
	SQ_GAPS_DELETE,
	SQ_EPOCHS_DELETE,
	SQ_EPOCH_INSERT,
	SQ_GAP_INSERT,
	SQ_CTR_GET,
	SQ_CTR_PUT,
	SQ_CTR_IMAGE,
	SQ_CTR_PAST,
	SQ_PKGSET_GET,
	SQ_PKGSET_PUT,
	SQ_PKG_PUT,
	SQ_IMAGE_PUT,
	SQ_IMAGE_PKGSET,
	SQ_DRIFT_PUT,
	SQ_FINDING_PUT,
	SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	/* A host's counters and ledger, once per host and batch (sq_commit).
	 * The kind columns are in enum tm_kind's order. */
	[SQ_HOST_BATCH] =
	    "INSERT INTO hosts (host_id, first_seen_ns, last_seen_ns, records, "
	    "rejects, n_host, n_heartbeat, n_event, n_container, n_image, "
	    "n_drift, seq_seen, seq_high, seq_missing, seq_duplicates, "
	    "seq_epoch, seq_restarts) VALUES "
	    "(?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, coalesce(?11, 0), "
	    "coalesce(?12, 0), coalesce(?13, 0), coalesce(?14, 0), "
	    "coalesce(?15, 0), coalesce(?16, 0)) "
	    "ON CONFLICT (host_id) DO UPDATE SET "
	    "last_seen_ns = max(last_seen_ns, ?2), records = records + ?3, "
	    "rejects = rejects + ?4, n_host = n_host + ?5, "
	    "n_heartbeat = n_heartbeat + ?6, n_event = n_event + ?7, "
	    "n_container = n_container + ?8, n_image = n_image + ?9, "
	    "n_drift = n_drift + ?10, seq_seen = coalesce(?11, seq_seen), "
	    "seq_high = coalesce(?12, seq_high), "
	    "seq_missing = coalesce(?13, seq_missing), "
	    "seq_duplicates = coalesce(?14, seq_duplicates), "
	    "seq_epoch = coalesce(?15, seq_epoch), "
	    "seq_restarts = coalesce(?16, seq_restarts)",
	[SQ_HOST_FACTS] =
	    "INSERT INTO hosts (host_id, hostname, os_id, os_version, os_pretty, "
	    "kernel, arch, agent_version, docker_version, containerd_version, "
	    "boot_ns, ncpu, mem_bytes, facts_ns, first_seen_ns, last_seen_ns) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	    "?14, ?14) ON CONFLICT (host_id) DO UPDATE SET hostname = ?2, "
	    "os_id = ?3, os_version = ?4, os_pretty = ?5, kernel = ?6, "
	    "arch = ?7, agent_version = ?8, docker_version = ?9, "
	    "containerd_version = ?10, boot_ns = ?11, ncpu = ?12, "
	    "mem_bytes = ?13, facts_ns = ?14",
	[SQ_HOST_HB] =
	    "INSERT INTO hosts (host_id, hb_ns, hb_interval_ns, heartbeat, "
	    "first_seen_ns, last_seen_ns) VALUES (?1, ?2, ?3, ?4, ?2, ?2) "
	    "ON CONFLICT (host_id) DO UPDATE SET hb_ns = ?2, "
	    "hb_interval_ns = ?3, heartbeat = ?4",
	[SQ_HOST_REJECT] =
	    "INSERT INTO rejects (host_id, reason, n, last_ns) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (host_id, reason) DO UPDATE "
	    "SET n = n + ?3, last_ns = ?4",
	[SQ_HOST_EXISTS] = "SELECT 1 FROM hosts WHERE host_id = ?1",
	[SQ_GAPS_DELETE] = "DELETE FROM seq_gaps WHERE host_id = ?1",
	[SQ_EPOCHS_DELETE] = "DELETE FROM seq_epochs WHERE host_id = ?1",
	[SQ_EPOCH_INSERT] =
	    "INSERT OR REPLACE INTO seq_epochs (host_id, epoch, high, ord) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[SQ_GAP_INSERT] =
	    "INSERT OR REPLACE INTO seq_gaps (host_id, lo, hi) VALUES (?1, ?2, ?3)",
	[SQ_CTR_GET] =
	    "SELECT state, created_ns, started_ns, finished_ns, removed_ns, "
	    "lifetime_ns, exit_code, oom, procs_digest, image_key "
	    "FROM containers WHERE host_id = ?1 AND id = ?2",
	/*
	 * An update sets no column of an index unless it changed: SQLite
	 * rewrites the index entry of every indexed column an UPDATE sets,
	 * even to the same value, and each such entry is a page of the
	 * index written at commit (ingest).  So containers.image_key
	 * (containers_image) and images.pkgset (images_pkgset) have
	 * statements of their own, run when the value changes.
	 */
	[SQ_CTR_PUT] =
	    "INSERT INTO containers (host_id, id, runtime, ns, name, image_ref, "
	    "image_id, image_digest, image_key, user, state, created_ns, "
	    "started_ns, finished_ns, removed_ns, lifetime_ns, exit_code, oom, "
	    "pid, pod_name, pod_ns, k8s_container, privileged, procs_missed, "
	    "snapshot, snapshot_ns, first_snapshot_ns, first_seen_ns, "
	    "last_seen_ns, procs_digest, procs_past, n_procs) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	    "?16, ?17, ?18, ?19, ?20, ?21, ?22, coalesce(?23, 0), "
	    "coalesce(?24, 0), ?25, ?26, ?26, ?27, ?27, ?28, ?30, "
	    "coalesce(?31, 0)) "
	    "ON CONFLICT (host_id, id) DO UPDATE SET "
	    "runtime = coalesce(?3, runtime), ns = coalesce(?4, ns), "
	    "name = coalesce(?5, name), image_ref = coalesce(?6, image_ref), "
	    "image_id = coalesce(?7, image_id), "
	    "image_digest = coalesce(?8, image_digest), "
	    "user = coalesce(?10, user), "
	    "state = ?11, created_ns = ?12, started_ns = ?13, "
	    "finished_ns = ?14, removed_ns = ?15, lifetime_ns = ?16, "
	    "exit_code = ?17, oom = ?18, pid = coalesce(?19, pid), "
	    "pod_name = coalesce(?20, pod_name), "
	    "pod_ns = coalesce(?21, pod_ns), "
	    "k8s_container = coalesce(?22, k8s_container), "
	    "privileged = coalesce(?23, privileged), "
	    "procs_missed = coalesce(?24, procs_missed), "
	    "snapshot = coalesce(?25, snapshot), "
	    "snapshot_ns = coalesce(?26, snapshot_ns), "
	    "first_snapshot_ns = coalesce(first_snapshot_ns, ?26), "
	    "last_seen_ns = max(last_seen_ns, ?27), "
	    "procs_digest = coalesce(?28, procs_digest), "
	    /* ?29: the processes changed (sq_procs_next) */
	    "procs_past = CASE WHEN ?29 THEN ?30 ELSE procs_past END, "
	    "n_procs = CASE WHEN ?29 THEN ?31 ELSE n_procs END",
	[SQ_CTR_IMAGE] =
	    "UPDATE containers SET image_key = ?3 WHERE host_id = ?1 AND id = ?2",
	[SQ_CTR_PAST] =
	    "SELECT snapshot, procs_past FROM containers WHERE host_id = ?1 "
	    "AND id = ?2",
	[SQ_PKGSET_GET] = "SELECT id FROM pkgsets WHERE digest = ?1",
	[SQ_PKGSET_PUT] = "INSERT INTO pkgsets (digest, n) VALUES (?1, ?2)",
	[SQ_PKG_PUT] =
	    "INSERT INTO packages (pkgset, ecosystem, name, version, epoch, "
	    "arch, source_name, source_version, vendor, modularity) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQ_IMAGE_PUT] =
	    "INSERT INTO images (host_id, key, image_id, refs, os_id, "
	    "os_version, os_codename, os_pretty, pkgset, n_packages, scan_ns, "
	    "errors, notes, first_seen_ns, last_seen_ns) VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14) "
	    "ON CONFLICT (host_id, key) DO UPDATE SET image_id = ?3, "
	    "refs = ?4, os_id = ?5, os_version = ?6, os_codename = ?7, "
	    "os_pretty = ?8, n_packages = ?10, scan_ns = ?11, "
	    "errors = ?12, notes = ?13, last_seen_ns = ?14",
	[SQ_IMAGE_PKGSET] =
	    "UPDATE images SET pkgset = ?3 WHERE host_id = ?1 AND key = ?2 "
	    "AND pkgset IS NOT ?3",
	[SQ_DRIFT_PUT] =
	    "INSERT INTO drift (host_id, container_id, seq, when_, time_ns, "
	    "path, change, size, mode, sha256, rx_ns) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[SQ_FINDING_PUT] =
	    /* An update in place: a REPLACE would delete the row and
	     * insert it again, rewriting its entry of every index. */
	    "INSERT INTO findings (id, key, kind, severity, score, "
	    "host_id, container_id, container_name, image, image_ref, package, "
	    "source, installed, fixed, advisory, aliases, check_id, title, "
	    "detail, first_seen_ns, last_seen_ns, resolved_ns, reason, open) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24) "
	    "ON CONFLICT (id) DO UPDATE SET key = ?2, kind = ?3, "
	    "severity = ?4, score = ?5, host_id = ?6, container_id = ?7, "
	    "container_name = ?8, image = ?9, image_ref = ?10, package = ?11, "
	    "source = ?12, installed = ?13, fixed = ?14, advisory = ?15, "
	    "aliases = ?16, check_id = ?17, title = ?18, detail = ?19, "
	    "first_seen_ns = ?20, last_seen_ns = ?21, resolved_ns = ?22, "
	    "reason = ?23, open = ?24",
};

/*
 * A host's counters and ledger in the transaction, written with one
 * statement at commit (SQ_HOST_BATCH): the records of a batch come from
 * hundreds of hosts, a few each.
 */
struct sq_pend {
	uint64_t	 rx_ns;		/* last record's arrival, 0: none */
	uint64_t	 records[TM_KIND_MAX];
	uint64_t	 rejects;
	int		 ledger;	/* the ledger below is to be written */
	int		 seen;
	uint64_t	 high, missing, duplicates, epoch, restarts;
};

/* A package list stored already (sq_pkgset): its bytes, by image key. */
struct sq_pkc {
	char		*key;		/* the map's key (owned) */
	sqlite3_int64	 id;
	size_t		 len;
	uint8_t		 bytes[];
};
/* The checkpointer thread and its connection. */
struct sq_ckpt {
	uv_thread_t	 thread;
	uv_mutex_t	 mu;
	uv_cond_t	 cv;
	int		 want;		/* a checkpoint is asked for */
	int		 stop;
	uint64_t	 runs;		/* checkpoints done */
	int		 last_log, last_done;	/* frames: the last one's */
	sqlite3		*db;
	const char	*path;
};
#define SQ_CKPT_FRAMES	8192	/* 32 MiB: fewer WAL restarts (each syncs) */
#define SQ_WAL_MAX	65536	/* frames (256 MiB of 4 KiB pages) */

#define SQ_PKC_MAX	4096			/* entries */
#define SQ_PKC_BYTES	(64u * 1024 * 1024)	/* their bytes */

struct sq {
	struct store	 base;		/* first: store.c casts */
	sqlite3		*db;
	sqlite3_stmt	*st[SQ_NSTMT];
	int		 readonly;
	int		 in_tx;
	uint64_t	 tx_start_ns;
	struct strmap	*pend;		/* host -> sq_pend (keys owned) */
	int		 pend_failed;
	struct strmap	*pkc;		/* image key -> sq_pkc (keys owned) */
	size_t		 pkc_bytes;
	uint8_t		*pkbuf;		/* a package list's bytes (scratch) */
	size_t		 pkcap;
	struct sq_ckpt	*ckpt;		/* NULL: SQLite checkpoints itself */
};

static struct sq *
sq_of(struct store *st)
{
	return (struct sq *)st;
}

static void
sq_error(struct sq *q, const char *what)
{
	q->base.errors++;
	log_warnx("store: %s: %s: %s", q->base.path, what,
	    sqlite3_errmsg(q->db));
}

/* The prepared statement s, reset and unbound, or NULL (logged). */
static sqlite3_stmt *
sq_stmt(struct sq *q, enum sq_stmt s)
{
	if (q->st[s] == NULL) {
		if (sqlite3_prepare_v3(q->db, sq_sql[s], -1,
		    SQLITE_PREPARE_PERSISTENT, &q->st[s], NULL) != SQLITE_OK) {
			sq_error(q, sq_sql[s]);
			q->st[s] = NULL;
			return NULL;
		}
	} else {
		sqlite3_reset(q->st[s]);
		sqlite3_clear_bindings(q->st[s]);
	}
	return q->st[s];
}

/* Step a write statement to its end: 0 or -1 (logged). */
static int
sq_done(struct sq *q, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		sq_error(q, sqlite3_sql(s));
		return -1;
	}
	return 0;
}

static void
sq_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void
sq_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, v > (uint64_t)INT64_MAX ? INT64_MAX :
	    (sqlite3_int64)v);
}

/* A non-zero value, else NULL (unknown). */
static void
sq_nz(sqlite3_stmt *s, int i, uint64_t v)
{
	if (v != 0)
		sq_u64(s, i, v);
}

static uint64_t
sq_col_u64(sqlite3_stmt *s, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(s, i);

	return v < 0 ? 0 : (uint64_t)v;
}

/* Column i as a new string (NULL for SQL NULL). */
static char *
sq_col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t != NULL ? xstrdup((const char *)t) : NULL;
}

/* Run a statement with no result, outside the cache. */
static int
sq_exec(struct sq *q, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		q->base.errors++;
		log_warnx("store: %s: %s", q->base.path,
		    msg != NULL ? msg : sqlite3_errmsg(q->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Maps whose keys and values are both owned (a value may point to its key
 * but does not free it). */
static int
sq_free_entry(const char *k, void *v, void *arg)
{
	free((char *)(uintptr_t)k);
	free(v);
	return 0;
}

/* Empty a map whose keys and values are owned; NULL stays NULL. */
static struct strmap *
sq_map_reset(struct strmap *m)
{
	if (m == NULL)
		return strmap_new();
	if (strmap_count(m) == 0)
		return m;
	strmap_each(m, sq_free_entry, NULL);
	strmap_free(m);
	return strmap_new();
}

static void
sq_map_free(struct strmap *m)
{
	if (m == NULL)
		return;
	strmap_each(m, sq_free_entry, NULL);
	strmap_free(m);
}

/* ---------------------------------------------------------------------- */
/* Open, migrate, close */

static int
sq_probe(const char *path)
{
	/* Any path that is not a URL is a SQLite file. */
	return strstr(path, "://") == NULL;
}

static int
sq_user_version(struct sq *q, int *v)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Schema 7 -> 8: the rows of processes, one container's at a time. */
struct sq_fold {
	struct tm_process	*p;
	size_t			 n, cap;
	char			*host, *id;
	size_t			 containers, kept;
};

static void
sq_fold_clear(struct sq_fold *f)
{
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		struct tm_process *p = &f->p[i];

		free(p->comm);
		free(p->exe);
		free(p->sha256);
		for (j = 0; j < p->n_args; j++)
			free(p->args[j]);
		free(p->args);
	}
	f->n = 0;
	free(f->host);
	free(f->id);
	f->host = f->id = NULL;
}

/* A processes row's args (a JSON array of strings, record-json.c). */
static void
sq_fold_args(struct tm_process *p, const char *text)
{
	json_t	*a;
	size_t	 i;

	if (text == NULL || (a = json_loads(text, 0, NULL)) == NULL)
		return;
	if (json_is_array(a) && json_array_size(a) > 0) {
		p->args = xcalloc(json_array_size(a), sizeof *p->args);
		for (i = 0; i < json_array_size(a); i++) {
			const char *v = json_string_value(json_array_get(a, i));

			p->args[p->n_args++] = xstrdup(v != NULL ? v : "");
		}
	}
	json_decref(a);
}

/*
 * The processes rows of container f->host/f->id into its procs_past and
 * n_procs: what its snapshot does not say (the rows hold every process of
 * every snapshot).  A container whose snapshot cannot be read keeps all
 * of them, under the identity its row has.
 */
static int
sq_fold_flush(struct sq *q, struct sq_fold *f, sqlite3_stmt *get,
    sqlite3_stmt *put)
{
	struct tm_record	 snap, self;
	const struct tm_record	*rec = &snap;
	size_t			 nkeep;
	uint64_t		 nall;
	msgpack_sbuffer		 sb;
	int			 rc, ok = 0;

	memset(&snap, 0, sizeof snap);
	memset(&self, 0, sizeof self);
	sqlite3_bind_text(get, 1, f->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(get, 2, f->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(get)) != SQLITE_ROW) {
		sqlite3_reset(get);
		return rc == SQLITE_DONE ? 0 : -1;	/* no container: gone */
	}
	if (store_decode(sqlite3_column_blob(get, 0),
	    (size_t)sqlite3_column_bytes(get, 0), &snap) == -1 ||
	    snap.kind != TM_KIND_CONTAINER) {
		tm_record_free(&snap);
		self.host_id = f->host;
		self.kind = TM_KIND_CONTAINER;
		self.body.container.id = f->id;
		self.body.container.runtime = (char *)(uintptr_t)
		    sqlite3_column_text(get, 1);
		self.body.container.state = (char *)(uintptr_t)
		    sqlite3_column_text(get, 2);
		if (self.body.container.runtime == NULL)
			self.body.container.runtime = (char *)(uintptr_t)"unknown";
		rec = &self;
	}
	msgpack_sbuffer_init(&sb);
	if (store_procs_beside(rec, f->p, f->n, &sb, &nall, &nkeep) == -1) {
		sb.size = 0;
		log_warnx("store: %s: container %s of host %s: %zu earlier "
		    "processes could not be kept", q->base.path, f->id,
		    f->host, nkeep);
	}
	sqlite3_reset(put);
	sqlite3_bind_text(put, 1, f->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(put, 2, f->id, -1, SQLITE_STATIC);
	if (sb.size > 0)
		sqlite3_bind_blob(put, 3, sb.data, (int)sb.size, SQLITE_STATIC);
	else
		sqlite3_bind_null(put, 3);
	sq_u64(put, 4, nall);
	if (sqlite3_step(put) != SQLITE_DONE)
		ok = -1;
	sqlite3_reset(put);
	sqlite3_reset(get);
	f->containers++;
	f->kept += sb.size > 0 ? nkeep : 0;
	msgpack_sbuffer_destroy(&sb);
	tm_record_free(&snap);
	return ok;
}

/* Schema 7 -> 8: the processes table into the containers' procs_past. */
static int
sq_procs_fold(struct sq *q)
{
	sqlite3_stmt	*rows = NULL, *get = NULL, *put = NULL;
	struct sq_fold	 f;
	int		 rc = -1, step;

	memset(&f, 0, sizeof f);
	if (sqlite3_prepare_v2(q->db, "SELECT host_id, container_id, pid, "
	    "start_ns, ppid, uid, gid, host_uid, host_gid, comm, exe, args, "
	    "sha256 FROM processes ORDER BY host_id, container_id", -1, &rows,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "SELECT snapshot, runtime, state FROM "
	    "containers WHERE host_id = ?1 AND id = ?2", -1, &get,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "UPDATE containers SET procs_past = ?3, "
	    "n_procs = ?4 WHERE host_id = ?1 AND id = ?2", -1, &put,
	    NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
		const char		*host, *id;
		struct tm_process	*p;

		host = (const char *)sqlite3_column_text(rows, 0);
		id = (const char *)sqlite3_column_text(rows, 1);
		if (host == NULL || id == NULL)
			continue;
		if (f.host != NULL && (strcmp(f.host, host) != 0 ||
		    strcmp(f.id, id) != 0)) {
			if (sq_fold_flush(q, &f, get, put) == -1)
				goto out;
			sq_fold_clear(&f);
		}
		if (f.host == NULL) {
			f.host = xstrdup(host);
			f.id = xstrdup(id);
		}
		if (f.n == f.cap) {
			f.cap = f.cap ? f.cap * 2 : 16;
			f.p = xreallocarray(f.p, f.cap, sizeof *f.p);
		}
		p = &f.p[f.n++];
		memset(p, 0, sizeof *p);
		p->pid = sq_col_u64(rows, 2);
		p->start_ns = sq_col_u64(rows, 3);
		p->ppid = sq_col_u64(rows, 4);
		p->uid = sq_col_u64(rows, 5);
		p->gid = sq_col_u64(rows, 6);
		p->host_uid = sq_col_u64(rows, 7);
		p->host_gid = sq_col_u64(rows, 8);
		p->comm = sq_col_str(rows, 9);
		p->exe = sq_col_str(rows, 10);
		sq_fold_args(p, (const char *)sqlite3_column_text(rows, 11));
		p->sha256 = sq_col_str(rows, 12);
	}
	if (step != SQLITE_DONE ||
	    (f.host != NULL && sq_fold_flush(q, &f, get, put) == -1))
		goto out;
	rc = 0;
out:
	if (rc == -1)
		log_warnx("store: %s: processes: %s", q->base.path,
		    sqlite3_errmsg(q->db));
	sqlite3_finalize(rows);
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	sq_fold_clear(&f);
	free(f.p);
	if (rc == 0 && f.containers > 0)
		log_info("store: %s: the processes of %zu containers are read "
		    "from their snapshots now; %zu earlier processes kept "
		    "beside them", q->base.path, f.containers, f.kept);
	return rc == 0 ? sq_exec(q, "DROP TABLE processes") : -1;
}

/* Code run after the SQL of a migration, by the version it makes. */
static int (*const sq_migration_code[SQ_VERSION + 1])(struct sq *) = {
	[8] = sq_procs_fold,
};

static int
sq_migrate(struct sq *q, char *err, size_t errlen)
{
	int	v;
	char	sql[64];

	if (sq_exec(q, "BEGIN IMMEDIATE") == -1 ||
	    sq_user_version(q, &v) == -1) {
		snprintf(err, errlen, "store: %s: cannot read its schema "
		    "version: %s", q->base.path, sqlite3_errmsg(q->db));
		sq_exec(q, "ROLLBACK");
		return -1;
	}
	if (v > SQ_VERSION) {
		snprintf(err, errlen, "store: %s: schema version %d is newer "
		    "than this program's %d: use a newer tallyman-collector",
		    q->base.path, v, SQ_VERSION);
		sq_exec(q, "ROLLBACK");
		return -1;
	}
	for (; v < SQ_VERSION; v++) {
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (sq_exec(q, sq_migrations[v]) == -1 ||
		    (sq_migration_code[v + 1] != NULL &&
		    sq_migration_code[v + 1](q) == -1) ||
		    sq_exec(q, sql) == -1) {
			snprintf(err, errlen, "store: %s: migration to schema "
			    "version %d failed: %s", q->base.path, v + 1,
			    sqlite3_errmsg(q->db));
			sq_exec(q, "ROLLBACK");
			return -1;
		}
		log_info("store: %s: schema version %d", q->base.path, v + 1);
	}
	return sq_exec(q, "COMMIT");
}

static void	sq_close(struct store *st);

static void
sq_ckpt_main(void *arg)
{
	struct sq_ckpt	*ck = arg;
	int		 rc, logn, done;

	(void)pthread_setname_np(pthread_self(), "tm-checkpoint");	/* top(1) */
	uv_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->want && !ck->stop)
			uv_cond_wait(&ck->cv, &ck->mu);
		if (ck->stop)
			break;
		ck->want = 0;
		uv_mutex_unlock(&ck->mu);
		/* PASSIVE: copies what no reader still needs, never blocks
		 * the writer; the WAL starts over once all of it is in. */
		rc = sqlite3_wal_checkpoint_v2(ck->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &logn, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("store: %s: checkpoint: %s", ck->path,
			    sqlite3_errmsg(ck->db));
		uv_mutex_lock(&ck->mu);
		ck->runs++;
		ck->last_log = logn;
		ck->last_done = done;
		uv_cond_broadcast(&ck->cv);
	}
	uv_mutex_unlock(&ck->mu);
}

/* After each commit (sqlite3_wal_hook): nframes are in the WAL. */
static int
sq_wal_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
	struct sq	*q = arg;
	struct sq_ckpt	*ck = q->ckpt;

	if (nframes >= SQ_WAL_MAX) {
		/* The thread is behind: bound the WAL here. */
		(void)sqlite3_wal_checkpoint_v2(db, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	if (nframes >= SQ_CKPT_FRAMES) {
		uv_mutex_lock(&ck->mu);
		ck->want = 1;
		uv_cond_broadcast(&ck->cv);
		uv_mutex_unlock(&ck->mu);
	}
	return SQLITE_OK;
}

/* Start the checkpointer of a writable store: 0, or -1 (SQLite's own
 * checkpoints stay on). */
static int
sq_ckpt_start(struct sq *q)
{
	struct sq_ckpt *ck = xcalloc(1, sizeof *ck);

	ck->path = q->base.path;
	if (sqlite3_open_v2(q->base.path, &ck->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("store: %s: checkpointer: %s", q->base.path,
		    ck->db != NULL ? sqlite3_errmsg(ck->db) : "cannot open");
		sqlite3_close(ck->db);
		free(ck);
		return -1;
	}
	sqlite3_busy_timeout(ck->db, SQ_BUSY_MS);
	/* A connection opens the WAL on its first read: until then its
	 * checkpoints do nothing at all (SQLite answers them with -1 frames)
	 * and the writer was left to checkpoint 256 MiB at a time itself. */
	if (sqlite3_exec(ck->db, "SELECT count(*) FROM sqlite_schema", NULL,
	    NULL, NULL) != SQLITE_OK) {
		log_warnx("store: %s: checkpointer: %s", q->base.path,
		    sqlite3_errmsg(ck->db));
		sqlite3_close(ck->db);
		free(ck);
		return -1;
	}
	if (uv_mutex_init(&ck->mu) != 0) {
		sqlite3_close(ck->db);
		free(ck);
		return -1;
	}
	if (uv_cond_init(&ck->cv) != 0) {
		uv_mutex_destroy(&ck->mu);
		sqlite3_close(ck->db);
		free(ck);
		return -1;
	}
	if (uv_thread_create(&ck->thread, sq_ckpt_main, ck) != 0) {
		uv_cond_destroy(&ck->cv);
		uv_mutex_destroy(&ck->mu);
		sqlite3_close(ck->db);
		free(ck);
		return -1;
	}
	q->ckpt = ck;
	sqlite3_wal_autocheckpoint(q->db, 0);
	sqlite3_wal_hook(q->db, sq_wal_hook, q);
	return 0;
}

static void
sq_ckpt_stop(struct sq *q)
{
	struct sq_ckpt *ck = q->ckpt;

	if (ck == NULL)
		return;
	sqlite3_wal_hook(q->db, NULL, NULL);
	uv_mutex_lock(&ck->mu);
	ck->stop = 1;
	uv_cond_broadcast(&ck->cv);
	uv_mutex_unlock(&ck->mu);
	uv_thread_join(&ck->thread);
	uv_cond_destroy(&ck->cv);
	uv_mutex_destroy(&ck->mu);
	sqlite3_close(ck->db);
	free(ck);
	q->ckpt = NULL;
}

/*
 * SQLite keeps memory statistics under a global mutex taken on every
 * allocation and free (about 2 % of the collector's loop at ingest,
 * bench/RESULTS.md); nothing here reads them.  sqlite3_config must come
 * before SQLite initialises, so before the first store opens; should
 * something have initialised it already, the call fails and the
 * statistics stay on, which changes nothing else.
 */
static uv_once_t	sq_once = UV_ONCE_INIT;

static void
sq_global(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static struct store *
sq_open(const char *path, int readonly, char *err, size_t errlen)
{
	struct sq	*q = xcalloc(1, sizeof *q);
	struct stat	 sb;
	int		 flags, existed, fd, v;
	char		 pragma[128];

	uv_once(&sq_once, sq_global);
	q->base.path = xstrdup(path);
	q->readonly = readonly;
	existed = stat(path, &sb) == 0;
	if (!existed && !readonly) {
		/* Made here, 0600: the fleet's inventory is sensitive.
		 * SQLite gives its -wal and -shm files the same mode. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd == -1 && errno != EEXIST) {
			snprintf(err, errlen, "store: %s: %s", path,
			    strerror(errno));
			sq_close(&q->base);
			return NULL;
		}
		if (fd != -1)
			close(fd);
	}
	flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	/* The writer's WAL frames are written a commit at a time
	 * (store-sqlite-vfs.c). */
	if (sqlite3_open_v2(path, &q->db, flags, readonly ? NULL :
	    sq_vfs_name()) != SQLITE_OK) {
		snprintf(err, errlen, "store: %s: %s", path, q->db != NULL ?
		    sqlite3_errmsg(q->db) : "cannot open");
		sq_close(&q->base);
		return NULL;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, SQ_BUSY_MS);
	snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%d",
	    SQ_CACHE_KIB);
	if ((!readonly && sq_exec(q, "PRAGMA journal_mode = WAL") == -1) ||
	    sq_exec(q, "PRAGMA synchronous = NORMAL") == -1 ||
	    sq_exec(q, "PRAGMA temp_store = MEMORY") == -1 ||
	    sq_exec(q, pragma) == -1) {
		snprintf(err, errlen, "store: %s: %s", path,
		    sqlite3_errmsg(q->db));
		sq_close(&q->base);
		return NULL;
	}
	if (readonly) {
		if (sq_user_version(q, &v) == -1 || v != SQ_VERSION) {
			snprintf(err, errlen, "store: %s: not a tallyman store "
			    "of schema version %d", path, SQ_VERSION);
			sq_close(&q->base);
			return NULL;
		}
	} else if (sq_migrate(q, err, errlen) == -1) {
		sq_close(&q->base);
		return NULL;
	}
	if (!readonly && sq_ckpt_start(q) == -1)
		log_warnx("store: %s: checkpoints stay on the writer",
		    q->base.path);
	return &q->base;
}

static void
sq_close(struct store *st)
{
	struct sq	*q = sq_of(st);
	size_t		 i;

	if (q->in_tx)
		sq_exec(q, "ROLLBACK");
	sq_ckpt_stop(q);
	for (i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(q->st[i]);
	if (q->db != NULL && !q->readonly)
		sqlite3_exec(q->db, "PRAGMA optimize", NULL, NULL, NULL);
	sqlite3_close(q->db);
	sq_map_free(q->pend);
	sq_map_free(q->pkc);
	free(q->pkbuf);
	free(q->base.path);
	free(q);
}

/* ---------------------------------------------------------------------- */
/* Transactions */

static int
sq_begin(struct store *st)
{
	struct sq	*q = sq_of(st);
	sqlite3_stmt	*s;

	if (q->readonly || q->in_tx || (s = sq_stmt(q, SQ_BEGIN)) == NULL ||
	    sq_done(q, s) == -1)
		return -1;
	q->in_tx = 1;
	q->tx_start_ns = mono_ns();
	q->pend = sq_map_reset(q->pend);
	return 0;
}

static int	sq_pend_write(const char *host, void *v, void *arg);

static int
sq_commit(struct store *st)
{
	struct sq	*q = sq_of(st);
	sqlite3_stmt	*s;
	uint64_t	 t0 = mono_ns();

	if (!q->in_tx)
		return -1;
	if (q->pend != NULL) {
		q->pend_failed = 0;
		strmap_each(q->pend, sq_pend_write, q);
		if (q->pend_failed)
			return -1;
	}
	q->pend = sq_map_reset(q->pend);
	if ((s = sq_stmt(q, SQ_COMMIT)) == NULL || sq_done(q, s) == -1)
		return -1;
	q->in_tx = 0;
	q->base.commits++;
	q->base.commit_ns_total += mono_ns() - t0;
	return 0;
}

static void
sq_rollback(struct store *st)
{
	struct sq	*q = sq_of(st);
	sqlite3_stmt	*s;

	if (!q->in_tx)
		return;
	if ((s = sq_stmt(q, SQ_ROLLBACK)) != NULL)
		(void)sq_done(q, s);
	q->in_tx = 0;
	q->pend = sq_map_reset(q->pend);
	/* Package sets stored in the transaction are gone. */
	q->pkc = sq_map_reset(q->pkc);
	q->pkc_bytes = 0;
}

/* ---------------------------------------------------------------------- */
/* Writes */

/* The pending changes of host in the transaction (made empty if none). */
static struct sq_pend *
sq_pend_get(struct sq *q, const char *host)
{
	struct sq_pend *p = strmap_get(q->pend, host);

	if (p == NULL) {
		p = xcalloc(1, sizeof *p);
		strmap_put(q->pend, xstrdup(host), p);
	}
	return p;
}

/* Write one host's changes of the transaction (strmap_each; stops with
 * q->pend_failed set). */
static int
sq_pend_write(const char *host, void *v, void *arg)
{
	struct sq	*q = arg;
	struct sq_pend	*p = v;
	sqlite3_stmt	*s = sq_stmt(q, SQ_HOST_BATCH);
	uint64_t	 records = 0;
	int		 i;

	if (s == NULL)
		return q->pend_failed = 1;
	sq_text(s, 1, host);
	sq_u64(s, 2, p->rx_ns);
	for (i = TM_KIND_NONE + 1; i < TM_KIND_MAX; i++) {
		records += p->records[i];
		sq_u64(s, 5 + i - 1, p->records[i]);
	}
	sq_u64(s, 3, records);
	sq_u64(s, 4, p->rejects);
	if (p->ledger) {
		sqlite3_bind_int(s, 11, p->seen);
		sq_u64(s, 12, p->high);
		sq_u64(s, 13, p->missing);
		sq_u64(s, 14, p->duplicates);
		sq_u64(s, 15, p->epoch);
		sq_u64(s, 16, p->restarts);
	}
	if (sq_done(q, s) == -1)
		q->pend_failed = 1;
	return q->pend_failed;
}

static int
sq_put_host(struct sq *q, const struct tm_record *rec, uint64_t rx_ns)
{
	const struct tm_host	*h = &rec->body.host;
	sqlite3_stmt		*s = sq_stmt(q, SQ_HOST_FACTS);

	if (s == NULL)
		return -1;
	sq_text(s, 1, rec->host_id);
	sq_text(s, 2, h->hostname);
	sq_text(s, 3, h->os_id);
	sq_text(s, 4, h->os_version);
	sq_text(s, 5, h->os_pretty);
	sq_text(s, 6, h->kernel);
	sq_text(s, 7, h->arch);
	sq_text(s, 8, h->agent_version);
	sq_text(s, 9, h->docker_version);
	sq_text(s, 10, h->containerd_version);
	sq_nz(s, 11, h->boot_ns);
	sq_nz(s, 12, h->ncpu);
	sq_nz(s, 13, h->mem_bytes);
	sq_u64(s, 14, rx_ns);
	return sq_done(q, s);
}

static int
sq_put_heartbeat(struct sq *q, const struct tm_record *rec, const void *raw,
    size_t rawlen, uint64_t rx_ns)
{
	sqlite3_stmt *s = sq_stmt(q, SQ_HOST_HB);

	if (s == NULL)
		return -1;
	sq_text(s, 1, rec->host_id);
	sq_u64(s, 2, rx_ns);
	sq_u64(s, 3, rec->body.heartbeat.interval_ns);
	sqlite3_bind_blob(s, 4, raw, (int)rawlen, SQLITE_STATIC);
	return sq_done(q, s);
}

/* A container's lifecycle as stored. */
struct sq_life {
	int		 found;
	char		 state[16];
	uint64_t	 created, started, finished, removed, lifetime;
	int		 has_exit;
	int64_t		 exit_code;
	int		 oom;
	int		 has_procs;	/* procs: the stored procs_digest */
	uint8_t		 procs[32];
	int		 image_stale;	/* a stored image_key to change */
};

/* The stored lifecycle of container id (l->found: 0 if none), and whether
 * its stored image key differs from image_key (if not NULL). */
static int
sq_life_get(struct sq *q, const char *host, const char *id,
    const char *image_key, struct sq_life *l)
{
	sqlite3_stmt	*s = sq_stmt(q, SQ_CTR_GET);
	int		 rc;

	memset(l, 0, sizeof *l);
	if (s == NULL)
		return -1;
	sq_text(s, 1, host);
	sq_text(s, 2, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *st = sqlite3_column_text(s, 0);

		l->found = 1;
		snprintf(l->state, sizeof l->state, "%s",
		    st != NULL ? (const char *)st : "");
		l->created = sq_col_u64(s, 1);
		l->started = sq_col_u64(s, 2);
		l->finished = sq_col_u64(s, 3);
		l->removed = sq_col_u64(s, 4);
		l->lifetime = sq_col_u64(s, 5);
		l->has_exit = sqlite3_column_type(s, 6) != SQLITE_NULL;
		l->exit_code = sqlite3_column_int64(s, 6);
		l->oom = sqlite3_column_int(s, 7);
		if (sqlite3_column_bytes(s, 8) == (int)sizeof l->procs) {
			memcpy(l->procs, sqlite3_column_blob(s, 8),
			    sizeof l->procs);
			l->has_procs = 1;
		}
		if (image_key != NULL) {
			const unsigned char *k = sqlite3_column_text(s, 9);

			l->image_stale = k == NULL ||
			    strcmp((const char *)k, image_key) != 0;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_error(q, "containers");
		return -1;
	}
	return 0;
}

static int
sq_state_live(const char *state)
{
	return strcmp(state, "created") == 0 || strcmp(state, "running") == 0 ||
	    strcmp(state, "paused") == 0;
}

/*
 * Merge a state change into l.  The agent sends records in order, but a
 * snapshot taken while the container ran can be sent after its exit was:
 * a live state older than the stored end of the run does not bring the
 * container back to life.  A new run (started after that end) does.
 */
static void
sq_life_state(struct sq_life *l, const char *state, uint64_t started)
{
	if (sq_state_live(state) && l->found && !sq_state_live(l->state) &&
	    l->finished != 0 && (started == 0 || started <= l->finished))
		return;
	if (sq_state_live(state) && started != 0 && started > l->finished &&
	    l->finished != 0) {
		/* A restart: the previous run's end no longer applies. */
		l->finished = 0;
		l->lifetime = 0;
		l->has_exit = 0;
		l->oom = 0;
	}
	if (strcmp(l->state, "removed") == 0 && strcmp(state, "removed") != 0 &&
	    !(sq_state_live(state) && started > l->removed))
		return;		/* stays removed unless a later run shows */
	snprintf(l->state, sizeof l->state, "%s", state);
}

static void
sq_life_lifetime(struct sq_life *l)
{
	if (l->finished != 0 && l->started != 0 && l->finished >= l->started &&
	    l->lifetime == 0)
		l->lifetime = l->finished - l->started;
}

/* Bind the lifecycle columns (11..18) and write the container row. */
static int
sq_ctr_write(struct sq *q, sqlite3_stmt *s, const struct sq_life *l)
{
	sq_text(s, 11, l->state);
	sq_nz(s, 12, l->created);
	sq_nz(s, 13, l->started);
	sq_nz(s, 14, l->finished);
	sq_nz(s, 15, l->removed);
	sq_nz(s, 16, l->lifetime);
	if (l->has_exit)
		sqlite3_bind_int64(s, 17, l->exit_code);
	sqlite3_bind_int(s, 18, l->oom);
	return sq_done(q, s);
}

/*
 * The SHA-256 of c's process list, every field of every process: the same
 * list again changes nothing of the container's processes, so a snapshot
 * whose digest is the stored one skips sq_procs_next.  Numbers in
 * host order: another machine's digests only cost one rewrite.  Each field
 * NUL-terminated (\1 marks an absent one).  Reads only c: the consumer's
 * decoder thread runs it (sq_prepare).
 */
static void
sq_procs_digest(const struct tm_container *c, uint8_t d[32])
{
	struct sha256_ctx	 ctx;
	size_t			 i, j;

	sha256_init(&ctx);
	for (i = 0; i < c->n_procs; i++) {
		const struct tm_process *p = &c->procs[i];
		const uint64_t n[] = { p->pid, p->start_ns, p->ppid, p->uid,
		    p->gid, p->host_uid, p->host_gid, p->n_args };
		const char *f[] = { p->comm, p->exe, p->sha256 };

		sha256_update(&ctx, n, sizeof n);
		for (j = 0; j < TM_NELEM(f); j++) {
			if (f[j] != NULL)
				sha256_update(&ctx, f[j], strlen(f[j]) + 1);
			else
				sha256_update(&ctx, "\1", 2);
		}
		for (j = 0; j < p->n_args; j++)
			sha256_update(&ctx, p->args[j], strlen(p->args[j]) + 1);
	}
	sha256_final(&ctx, d);
}

/*
 * The processes of container rec (a snapshot whose list differs from the
 * stored one) against those stored (store-procs.c): the earlier ones it no
 * longer says in *past (encoded, empty when none), and how many there are
 * in all in *n.  found: the container has a row.
 */
static int
sq_procs_next(struct sq *q, const struct tm_record *rec, int found,
    msgpack_sbuffer *past, uint64_t *n)
{
	const struct tm_container	*c = &rec->body.container;
	struct tm_record		 old, oldpast;
	struct tm_process		*seen = NULL;
	size_t				 nseen = 0, nkeep;
	sqlite3_stmt			*s;
	int				 rc = 0;

	memset(&old, 0, sizeof old);
	memset(&oldpast, 0, sizeof oldpast);
	if (found) {
		if ((s = sq_stmt(q, SQ_CTR_PAST)) == NULL)
			return -1;
		sq_text(s, 1, rec->host_id);
		sq_text(s, 2, c->id);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			/* Each decoded, or nothing (it was checked on its
			 * way in: that is not expected). */
			if (store_decode(sqlite3_column_blob(s, 0),
			    (size_t)sqlite3_column_bytes(s, 0), &old) == 0 &&
			    old.kind != TM_KIND_CONTAINER)
				tm_record_free(&old);
			if (store_decode(sqlite3_column_blob(s, 1),
			    (size_t)sqlite3_column_bytes(s, 1), &oldpast) == 0 &&
			    oldpast.kind != TM_KIND_CONTAINER)
				tm_record_free(&oldpast);
		}
		sqlite3_reset(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			sq_error(q, "containers");
			return -1;
		}
		rc = 0;
		seen = store_procs_union(old.body.container.procs,
		    old.body.container.n_procs, oldpast.body.container.procs,
		    oldpast.body.container.n_procs, &nseen);
	}
	if (store_procs_beside(rec, seen, nseen, past, n, &nkeep) == -1) {
		q->base.errors++;
		rc = -1;
	}
	free(seen);
	tm_record_free(&oldpast);
	tm_record_free(&old);
	return rc;
}

static void
sq_prepare(const struct tm_record *rec, struct store_prep *p)
{
	memset(p, 0, sizeof *p);
	if (rec->kind == TM_KIND_CONTAINER) {
		sq_procs_digest(&rec->body.container, p->procs);
		p->has_procs = true;
	}
}

static int
sq_put_container(struct sq *q, const struct tm_record *rec,
    const struct store_prep *prep, const void *raw, size_t rawlen,
    uint64_t rx_ns)
{
	const struct tm_container	*c = &rec->body.container;
	struct sq_life			 l;
	sqlite3_stmt			*s;
	msgpack_sbuffer			 past, self;
	uint64_t			 nprocs = 0;
	uint8_t				 procs[32];
	int				 changed, rc = -1;

	if (sq_life_get(q, rec->host_id, c->id, c->image_key, &l) == -1)
		return -1;
	if (prep != NULL && prep->has_procs)
		memcpy(procs, prep->procs, sizeof procs);
	else
		sq_procs_digest(c, procs);
	msgpack_sbuffer_init(&past);
	msgpack_sbuffer_init(&self);
	if (raw == NULL || rawlen == 0) {
		/* The processes are read back from the snapshot's bytes. */
		if (tm_encode(rec, &self) == -1) {
			q->base.errors++;
			goto out;
		}
		raw = self.data;
		rawlen = self.size;
	}
	changed = !l.has_procs || memcmp(l.procs, procs, sizeof procs) != 0;
	if (changed && sq_procs_next(q, rec, l.found, &past, &nprocs) == -1)
		goto out;
	if (c->created_ns)
		l.created = c->created_ns;
	sq_life_state(&l, c->state, c->started_ns);
	if (strcmp(l.state, c->state) == 0) {
		/* The snapshot's facts are current: take them. */
		if (c->started_ns)
			l.started = c->started_ns;
		if (c->finished_ns)
			l.finished = c->finished_ns;
		if (c->lifetime_ns)
			l.lifetime = c->lifetime_ns;
		if (c->has_exit_code) {
			l.has_exit = 1;
			l.exit_code = c->exit_code;
		}
		if (c->oom)
			l.oom = 1;
		if (strcmp(c->state, "removed") == 0 && l.removed == 0)
			l.removed = rx_ns;
	}
	sq_life_lifetime(&l);
	if ((s = sq_stmt(q, SQ_CTR_PUT)) == NULL)
		goto out;
	sq_text(s, 1, rec->host_id);
	sq_text(s, 2, c->id);
	sq_text(s, 3, c->runtime);
	sq_text(s, 4, c->ns);
	sq_text(s, 5, c->name);
	sq_text(s, 6, c->image_ref);
	sq_text(s, 7, c->image_id);
	sq_text(s, 8, c->image_digest);
	sq_text(s, 9, c->image_key);
	sq_text(s, 10, c->user);
	sq_nz(s, 19, c->pid);
	sq_text(s, 20, c->pod_name);
	sq_text(s, 21, c->pod_ns);
	sq_text(s, 22, c->k8s_container);
	sqlite3_bind_int(s, 23, c->risks.privileged);
	sqlite3_bind_int(s, 24, c->procs_missed);
	sqlite3_bind_blob(s, 25, raw, (int)rawlen, SQLITE_STATIC);
	sq_u64(s, 26, rx_ns);
	sq_u64(s, 27, rx_ns);
	sqlite3_bind_blob(s, 28, procs, sizeof procs, SQLITE_STATIC);
	if (changed) {
		sqlite3_bind_int(s, 29, 1);
		if (past.size > 0)
			sqlite3_bind_blob(s, 30, past.data, (int)past.size,
			    SQLITE_STATIC);
		sq_u64(s, 31, nprocs);
	}
	if (sq_ctr_write(q, s, &l) == -1)
		goto out;
	if (l.image_stale) {
		if ((s = sq_stmt(q, SQ_CTR_IMAGE)) == NULL)
			goto out;
		sq_text(s, 1, rec->host_id);
		sq_text(s, 2, c->id);
		sq_text(s, 3, c->image_key);
		if (sq_done(q, s) == -1)
			goto out;
	}
	rc = 0;
out:
	msgpack_sbuffer_destroy(&self);
	msgpack_sbuffer_destroy(&past);
	return rc;
}

static int
sq_put_event(struct sq *q, const struct tm_record *rec, uint64_t rx_ns)
{
	const struct tm_event	*ev = &rec->body.event;
	struct sq_life		 l;
	const char		*state = NULL;
	sqlite3_stmt		*s;

	if (strcmp(ev->action, "create") == 0)
		state = "created";
	else if (strcmp(ev->action, "start") == 0 ||
	    strcmp(ev->action, "unpause") == 0)
		state = "running";
	else if (strcmp(ev->action, "pause") == 0)
		state = "paused";
	else if (strcmp(ev->action, "exit") == 0)
		state = "exited";
	else if (strcmp(ev->action, "delete") == 0)
		state = "removed";
	if (sq_life_get(q, rec->host_id, ev->id, NULL, &l) == -1)
		return -1;
	if (strcmp(ev->action, "oom") == 0) {
		if (!l.found)
			return 0;	/* nothing to mark yet */
		l.oom = 1;
	} else if (state == NULL) {
		if (!l.found)
			return 0;	/* exec: the snapshot carries it */
		state = l.state;
	}
	if (strcmp(ev->action, "create") == 0 && l.created == 0)
		l.created = ev->time_ns;
	if (state != NULL) {
		uint64_t started = strcmp(state, "running") == 0 &&
		    strcmp(ev->action, "start") == 0 ? ev->time_ns : 0;

		if (!l.found)
			snprintf(l.state, sizeof l.state, "%s", state);
		else
			sq_life_state(&l, state, started);
		if (strcmp(l.state, state) == 0) {
			if (started > l.started)
				l.started = started;
			if (strcmp(state, "exited") == 0) {
				if (l.finished == 0 || ev->time_ns < l.finished)
					l.finished = ev->time_ns;
				if (ev->has_exit_code) {
					l.has_exit = 1;
					l.exit_code = ev->exit_code;
				}
			}
			if (strcmp(state, "removed") == 0 && l.removed == 0)
				l.removed = ev->time_ns;
		}
	}
	sq_life_lifetime(&l);
	if ((s = sq_stmt(q, SQ_CTR_PUT)) == NULL)
		return -1;
	sq_text(s, 1, rec->host_id);
	sq_text(s, 2, ev->id);
	sq_text(s, 3, ev->runtime);
	sq_text(s, 4, ev->ns);
	sq_text(s, 5, ev->name);
	sq_text(s, 6, ev->image);
	sq_nz(s, 19, ev->pid);
	sq_u64(s, 27, rx_ns);
	return sq_ctr_write(q, s, &l);
}

/* Append n bytes to the scratch buffer at *off. */
static void
sq_pkbuf_add(struct sq *q, size_t *off, const void *p, size_t n)
{
	if (q->pkcap - *off < n) {
		while (q->pkcap - *off < n)
			q->pkcap = q->pkcap ? q->pkcap * 2 : 65536;
		q->pkbuf = xreallocarray(q->pkbuf, q->pkcap, 1);
	}
	memcpy(q->pkbuf + *off, p, n);
	*off += n;
}

/*
 * A package list as bytes, into q->pkbuf (returns the length): each field
 * NUL-terminated (\1 marks an absent one), then "HAS:EPOCH".  Their SHA-256
 * is the identity of a pkgset.
 */
static size_t
sq_pkgset_bytes(struct sq *q, const struct tm_image *im)
{
	size_t i, j, off = 0;

	/* Never NULL, even for an empty list: it is memcmp'd and hashed. */
	if (q->pkbuf == NULL) {
		q->pkcap = 65536;
		q->pkbuf = xmalloc(q->pkcap);
	}
	for (i = 0; i < im->n_packages; i++) {
		const struct tm_package *p = &im->packages[i];
		const char *f[] = { p->ecosystem, p->name, p->version, p->arch,
		    p->source_name, p->source_version, p->vendor,
		    p->modularity };
		char	epoch[32];
		int	n;

		for (j = 0; j < TM_NELEM(f); j++) {
			if (f[j] != NULL)
				sq_pkbuf_add(q, &off, f[j], strlen(f[j]) + 1);
			else
				sq_pkbuf_add(q, &off, "\1", 2);
		}
		if (!p->has_epoch)
			sq_pkbuf_add(q, &off, "0:0", 4);
		else {
			n = snprintf(epoch, sizeof epoch, "1:%" PRId64,
			    p->epoch);
			sq_pkbuf_add(q, &off, epoch, (size_t)n + 1);
		}
	}
	return off;
}

/* Remember that the package list in q->pkbuf[0..len) of image key is
 * pkgset id (sq_pkgset asks first). */
static void
sq_pkc_put(struct sq *q, const char *key, size_t len, sqlite3_int64 id)
{
	struct sq_pkc	*e, *old;

	if (len > SQ_PKC_BYTES / 16)
		return;
	if ((old = strmap_del(q->pkc, key)) != NULL) {
		q->pkc_bytes -= old->len;
		free(old->key);
		free(old);
	}
	if (strmap_count(q->pkc) >= SQ_PKC_MAX ||
	    q->pkc_bytes + len > SQ_PKC_BYTES) {
		q->pkc = sq_map_reset(q->pkc);
		q->pkc_bytes = 0;
	}
	e = xmalloc(sizeof *e + len);
	e->key = xstrdup(key);
	e->id = id;
	e->len = len;
	memcpy(e->bytes, q->pkbuf, len);
	strmap_put(q->pkc, e->key, e);
	q->pkc_bytes += len;
}

/*
 * The pkgset of im's packages, stored if new: its rowid, or -1.  The
 * fleet's hosts send the same images' lists again and again: a list equal
 * to the last one seen under the same image key is known without hashing
 * it or asking the store.
 */
static sqlite3_int64
sq_pkgset(struct sq *q, const struct tm_image *im)
{
	sqlite3_stmt		*s;
	sqlite3_int64		 id;
	struct sha256_ctx	 c;
	const struct sq_pkc	*e;
	uint8_t			 d[32];
	char			 digest[65];
	size_t			 i, len;
	int			 rc;

	if (q->pkc == NULL)
		q->pkc = strmap_new();
	len = sq_pkgset_bytes(q, im);
	if ((e = strmap_get(q->pkc, im->key)) != NULL && e->len == len &&
	    memcmp(e->bytes, q->pkbuf, len) == 0)
		return e->id;
	sha256_init(&c);
	sha256_update(&c, q->pkbuf, len);
	sha256_final(&c, d);
	sha256_hex(d, digest);
	if ((s = sq_stmt(q, SQ_PKGSET_GET)) == NULL)
		return -1;
	sq_text(s, 1, digest);
	rc = sqlite3_step(s);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc == SQLITE_ROW) {
		sq_pkc_put(q, im->key, len, id);
		return id;
	}
	if (rc != SQLITE_DONE) {
		sq_error(q, "pkgsets");
		return -1;
	}
	if ((s = sq_stmt(q, SQ_PKGSET_PUT)) == NULL)
		return -1;
	sq_text(s, 1, digest);
	sq_u64(s, 2, im->n_packages);
	if (sq_done(q, s) == -1)
		return -1;
	id = sqlite3_last_insert_rowid(q->db);
	for (i = 0; i < im->n_packages; i++) {
		const struct tm_package *p = &im->packages[i];

		if ((s = sq_stmt(q, SQ_PKG_PUT)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, id);
		sq_text(s, 2, p->ecosystem);
		sq_text(s, 3, p->name);
		sq_text(s, 4, p->version);
		if (p->has_epoch)
			sqlite3_bind_int64(s, 5, p->epoch);
		sq_text(s, 6, p->arch);
		sq_text(s, 7, p->source_name);
		sq_text(s, 8, p->source_version);
		sq_text(s, 9, p->vendor);
		sq_text(s, 10, p->modularity);
		if (sq_done(q, s) == -1)
			return -1;
	}
	sq_pkc_put(q, im->key, len, id);
	return id;
}

static int
sq_put_image(struct sq *q, const struct tm_record *rec, uint64_t rx_ns)
{
	const struct tm_image	*im = &rec->body.image;
	sqlite3_stmt		*s;
	sqlite3_int64		 set;
	char			*refs, *notes = NULL;
	int			 rc;

	if ((set = sq_pkgset(q, im)) == -1)
		return -1;
	if ((s = sq_stmt(q, SQ_IMAGE_PUT)) == NULL)
		return -1;
	refs = record_json_strlist_text(im->refs, im->n_refs);
	if (im->n_notes > 0)
		notes = record_json_strlist_text(im->notes, im->n_notes);
	sq_text(s, 1, rec->host_id);
	sq_text(s, 2, im->key);
	sq_text(s, 3, im->image_id);
	sq_text(s, 4, refs);
	sq_text(s, 5, im->os_id);
	sq_text(s, 6, im->os_version);
	sq_text(s, 7, im->os_codename);
	sq_text(s, 8, im->os_pretty);
	sqlite3_bind_int64(s, 9, set);
	sq_u64(s, 10, im->n_packages);
	sq_u64(s, 11, im->scan_ns);
	sq_u64(s, 12, im->errors);
	sq_text(s, 13, notes);
	sq_u64(s, 14, rx_ns);
	rc = sq_done(q, s);
	free(refs);
	free(notes);
	if (rc == -1 || (s = sq_stmt(q, SQ_IMAGE_PKGSET)) == NULL)
		return -1;
	/* Writes nothing when the image's packages are the stored ones. */
	sq_text(s, 1, rec->host_id);
	sq_text(s, 2, im->key);
	sqlite3_bind_int64(s, 3, set);
	return sq_done(q, s);
}

static int
sq_put_drift(struct sq *q, const struct tm_record *rec, uint64_t rx_ns)
{
	const struct tm_drift	*d = &rec->body.drift;
	sqlite3_stmt		*s;
	size_t			 i;

	for (i = 0; i < d->n_files; i++) {
		const struct tm_drift_file *f = &d->files[i];

		if ((s = sq_stmt(q, SQ_DRIFT_PUT)) == NULL)
			return -1;
		sq_text(s, 1, rec->host_id);
		sq_text(s, 2, d->id);
		sq_u64(s, 3, rec->seq);
		sq_text(s, 4, d->when);
		sq_nz(s, 5, d->time_ns);
		sq_text(s, 6, f->path);
		sq_text(s, 7, f->change);
		sq_u64(s, 8, f->size);
		sq_u64(s, 9, f->mode);
		sq_text(s, 10, f->sha256);
		sq_u64(s, 11, rx_ns);
		if (sq_done(q, s) == -1)
			return -1;
	}
	return 0;
}

static int
sq_put_record(struct store *st, const struct tm_record *rec,
    const struct store_prep *prep, const void *raw, size_t rawlen,
    uint64_t rx_ns)
{
	struct sq	*q = sq_of(st);
	struct sq_pend	*p;

	if (!q->in_tx)
		return -1;
	p = sq_pend_get(q, rec->host_id);
	if (rx_ns > p->rx_ns)
		p->rx_ns = rx_ns;
	switch (rec->kind) {
	case TM_KIND_HOST:
		return sq_put_host(q, rec, rx_ns);
	case TM_KIND_HEARTBEAT:
		return sq_put_heartbeat(q, rec, raw, rawlen, rx_ns);
	case TM_KIND_EVENT:
		return sq_put_event(q, rec, rx_ns);
	case TM_KIND_CONTAINER:
		return sq_put_container(q, rec, prep, raw, rawlen, rx_ns);
	case TM_KIND_IMAGE:
		return sq_put_image(q, rec, rx_ns);
	case TM_KIND_DRIFT:
		return sq_put_drift(q, rec, rx_ns);
	default:
		return 0;
	}
}

static int
sq_host_exists(struct sq *q, const char *host)
{
	sqlite3_stmt	*s = sq_stmt(q, SQ_HOST_EXISTS);
	int		 rc;

	if (s == NULL)
		return 0;
	sq_text(s, 1, host);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW;
}

/*
 * Add a batch's counters to a host.  Rejects of a host the store does not
 * know (any key an attacker makes up) are counted under "" instead, so they
 * cannot grow the tables.
 */
static int
sq_put_host_counts(struct store *st, const char *host,
    const struct store_host_counts *c)
{
	struct sq	*q = sq_of(st);
	struct sq_pend	*p;
	sqlite3_stmt	*s;
	const char	*who;
	unsigned	 i;

	if (!q->in_tx)
		return -1;
	/* A host with records in the batch is written at commit; one
	 * without is counted only if the store knows it already. */
	if ((p = strmap_get(q->pend, host)) == NULL && *host != '\0' &&
	    sq_host_exists(q, host))
		p = sq_pend_get(q, host);
	who = p != NULL ? host : "";
	for (i = 0; i < REJ_MAX; i++) {
		if (c->rejects[i] == 0)
			continue;
		if (p != NULL)
			p->rejects += c->rejects[i];
		if ((s = sq_stmt(q, SQ_HOST_REJECT)) == NULL)
			return -1;
		sq_text(s, 1, who);
		sq_text(s, 2, store_reject_name(i));
		sq_u64(s, 3, c->rejects[i]);
		sq_u64(s, 4, c->last_rx_ns);
		if (sq_done(q, s) == -1)
			return -1;
	}
	if (p != NULL)
		for (i = 0; i < TM_KIND_MAX; i++)
			p->records[i] += c->records[i];
	return 0;
}

static int
sq_put_ledger(struct store *st, const struct store_ledger *l)
{
	struct sq	*q = sq_of(st);
	struct sq_pend	*p;
	sqlite3_stmt	*s;
	size_t		 i;

	if (!q->in_tx)
		return -1;
	p = sq_pend_get(q, l->host);
	p->ledger = 1;
	p->seen = l->seen;
	p->high = l->high;
	p->missing = l->missing;
	p->duplicates = l->duplicates;
	p->epoch = l->epoch;
	p->restarts = l->restarts;
	if (l->retired_changed) {
		if ((s = sq_stmt(q, SQ_EPOCHS_DELETE)) == NULL)
			return -1;
		sq_text(s, 1, l->host);
		if (sq_done(q, s) == -1)
			return -1;
		for (i = 0; i < l->nretired; i++) {
			if ((s = sq_stmt(q, SQ_EPOCH_INSERT)) == NULL)
				return -1;
			sq_text(s, 1, l->host);
			sq_u64(s, 2, l->retired[i].epoch);
			sq_u64(s, 3, l->retired[i].high);
			sq_u64(s, 4, i);
			if (sq_done(q, s) == -1)
				return -1;
		}
	}
	if (!l->gaps_changed)
		return 0;
	if ((s = sq_stmt(q, SQ_GAPS_DELETE)) == NULL)
		return -1;
	sq_text(s, 1, l->host);
	if (sq_done(q, s) == -1)
		return -1;
	for (i = 0; i < l->ngaps; i++) {
		if ((s = sq_stmt(q, SQ_GAP_INSERT)) == NULL)
			return -1;
		sq_text(s, 1, l->host);
		sq_u64(s, 2, l->gaps[i].lo);
		sq_u64(s, 3, l->gaps[i].hi);
		if (sq_done(q, s) == -1)
			return -1;
	}
	return 0;
}

static int
sq_put_finding(struct store *st, const struct finding *f)
{
	struct sq	*q = sq_of(st);
	sqlite3_stmt	*s;

	if (!q->in_tx || (s = sq_stmt(q, SQ_FINDING_PUT)) == NULL)
		return -1;
	sq_text(s, 1, f->id);
	sq_text(s, 2, f->key);
	sq_text(s, 3, finding_kind_name(f->kind));
	sq_text(s, 4, sev_level_name(f->level));
	if (f->score >= 0.0)
		sqlite3_bind_double(s, 5, f->score);
	sq_text(s, 6, f->host);
	sq_text(s, 7, f->container);
	sq_text(s, 8, f->container_name);
	sq_text(s, 9, f->image);
	sq_text(s, 10, f->image_ref);
	sq_text(s, 11, f->package);
	sq_text(s, 12, f->source);
	sq_text(s, 13, f->installed);
	sq_text(s, 14, f->fixed);
	sq_text(s, 15, f->advisory);
	sq_text(s, 16, f->aliases);
	sq_text(s, 17, f->check);
	sq_text(s, 18, f->title);
	sq_text(s, 19, f->detail);
	sq_u64(s, 20, f->first_seen_ns);
	sq_u64(s, 21, f->last_seen_ns);
	sq_nz(s, 22, f->resolved_ns);
	sq_text(s, 23, f->reason);
	sqlite3_bind_int(s, 24, f->open);
	return sq_done(q, s);
}

/* ---------------------------------------------------------------------- */
/* Reading back at start-up */

static int
sq_each_ledger(struct store *st,
    int (*fn)(const struct store_ledger *, void *), void *arg)
{
	struct sq		*q = sq_of(st);
	sqlite3_stmt		*h = NULL, *g = NULL, *e = NULL;
	struct store_gap	*gaps = NULL;
	struct store_epoch	 retired[LEDGER_RETIRED_MAX];
	size_t			 ngaps, cap = 0, nretired;
	int			 rc = 0;

	if (sqlite3_prepare_v2(q->db, "SELECT host_id, seq_seen, seq_high, "
	    "seq_missing, seq_duplicates, seq_epoch, seq_restarts FROM hosts",
	    -1, &h, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "SELECT lo, hi FROM seq_gaps WHERE "
	    "host_id = ?1 ORDER BY lo", -1, &g, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(q->db, "SELECT epoch, high FROM seq_epochs WHERE "
	    "host_id = ?1 ORDER BY ord", -1, &e, NULL) != SQLITE_OK) {
		sq_error(q, "hosts");
		sqlite3_finalize(h);
		sqlite3_finalize(g);
		return -1;
	}
	while (rc == 0 && sqlite3_step(h) == SQLITE_ROW) {
		struct store_ledger l;

		memset(&l, 0, sizeof l);
		l.host = (const char *)sqlite3_column_text(h, 0);
		l.seen = sqlite3_column_int(h, 1);
		l.high = sq_col_u64(h, 2);
		l.missing = sq_col_u64(h, 3);
		l.duplicates = sq_col_u64(h, 4);
		l.epoch = sq_col_u64(h, 5);
		l.restarts = sq_col_u64(h, 6);
		if (l.host == NULL)
			continue;
		sqlite3_reset(e);
		sqlite3_bind_text(e, 1, l.host, -1, SQLITE_STATIC);
		nretired = 0;
		while (sqlite3_step(e) == SQLITE_ROW &&
		    nretired < LEDGER_RETIRED_MAX) {
			retired[nretired].epoch = sq_col_u64(e, 0);
			retired[nretired].high = sq_col_u64(e, 1);
			nretired++;
		}
		l.retired = retired;
		l.nretired = nretired;
		sqlite3_reset(g);
		sqlite3_bind_text(g, 1, l.host, -1, SQLITE_STATIC);
		ngaps = 0;
		while (sqlite3_step(g) == SQLITE_ROW && ngaps < LEDGER_GAPS_MAX) {
			if (ngaps == cap) {
				cap = cap ? cap * 2 : 16;
				gaps = xreallocarray(gaps, cap, sizeof *gaps);
			}
			gaps[ngaps].lo = sq_col_u64(g, 0);
			gaps[ngaps].hi = sq_col_u64(g, 1);
			ngaps++;
		}
		l.gaps = gaps;
		l.ngaps = ngaps;
		rc = fn(&l, arg);
	}
	free(gaps);
	sqlite3_finalize(h);
	sqlite3_finalize(g);
	sqlite3_finalize(e);
	return rc;
}

static const char *
sq_intern(char **slot, sqlite3_stmt *s, int i)
{
	*slot = sq_col_str(s, i);
	return *slot;
}

static int
sq_each_finding(struct store *st, uint64_t since_ns,
    int (*fn)(const struct finding *, void *), void *arg)
{
	struct sq	*q = sq_of(st);
	sqlite3_stmt	*s;
	int		 rc = 0;

	if (sqlite3_prepare_v2(q->db, "SELECT id, key, kind, severity, score, "
	    "host_id, container_id, container_name, image, image_ref, package, "
	    "source, installed, fixed, advisory, aliases, check_id, title, "
	    "detail, first_seen_ns, last_seen_ns, resolved_ns, reason, open "
	    "FROM findings WHERE open = 1 OR resolved_ns >= ?1 "
	    "ORDER BY first_seen_ns", -1, &s, NULL) != SQLITE_OK) {
		sq_error(q, "findings");
		return -1;
	}
	sq_u64(s, 1, since_ns);
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct finding	 f;
		char		*str[20];
		const char	*kind, *sev;
		size_t		 i, k = 0;

		memset(&f, 0, sizeof f);
		memset(str, 0, sizeof str);
		snprintf(f.id, sizeof f.id, "%s",
		    sqlite3_column_text(s, 0) != NULL ?
		    (const char *)sqlite3_column_text(s, 0) : "");
		f.key = sq_intern(&str[k++], s, 1);
		kind = (const char *)sqlite3_column_text(s, 2);
		sev = (const char *)sqlite3_column_text(s, 3);
		if (f.key == NULL || kind == NULL ||
		    finding_kind_parse(kind, &f.kind) == -1) {
			for (i = 0; i < k; i++)
				free(str[i]);
			continue;	/* not ours: skip */
		}
		f.level = sev != NULL ? sev_level_parse(sev) : SEV_UNKNOWN;
		f.score = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1.0 :
		    sqlite3_column_double(s, 4);
		f.host = sq_intern(&str[k++], s, 5);
		f.container = sq_intern(&str[k++], s, 6);
		f.container_name = sq_intern(&str[k++], s, 7);
		f.image = sq_intern(&str[k++], s, 8);
		f.image_ref = sq_intern(&str[k++], s, 9);
		f.package = sq_intern(&str[k++], s, 10);
		f.source = sq_intern(&str[k++], s, 11);
		f.installed = sq_intern(&str[k++], s, 12);
		f.fixed = sq_intern(&str[k++], s, 13);
		f.advisory = sq_intern(&str[k++], s, 14);
		f.aliases = sq_intern(&str[k++], s, 15);
		f.check = sq_intern(&str[k++], s, 16);
		f.title = sq_intern(&str[k++], s, 17);
		f.detail = str[k] = sq_col_str(s, 18);
		k++;
		f.first_seen_ns = sq_col_u64(s, 19);
		f.last_seen_ns = sq_col_u64(s, 20);
		f.resolved_ns = sq_col_u64(s, 21);
		f.reason = sq_intern(&str[k++], s, 22);
		f.open = sqlite3_column_int(s, 23);
		rc = fn(&f, arg);
		for (i = 0; i < k; i++)
			free(str[i]);
	}
	sqlite3_finalize(s);
	return rc;
}

/* Decode a stored message (a snapshot or a heartbeat) into rec. */
static int
sq_decode(const void *blob, int len, struct tm_record *rec)
{
	if (len <= 0)
		return -1;
	return store_decode(blob, (size_t)len, rec);
}

static int
sq_replay_hosts(struct sq *q, int (*fn)(const struct tm_record *, uint64_t,
    void *), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc = 0;

	if (sqlite3_prepare_v2(q->db, "SELECT heartbeat, hb_ns FROM hosts "
	    "WHERE heartbeat IS NOT NULL", -1, &s, NULL) != SQLITE_OK) {
		sq_error(q, "hosts");
		return -1;
	}
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct tm_record rec;

		if (sq_decode(sqlite3_column_blob(s, 0),
		    sqlite3_column_bytes(s, 0), &rec) == -1)
			continue;
		rc = fn(&rec, sq_col_u64(s, 1), arg);
		tm_record_free(&rec);
	}
	sqlite3_finalize(s);
	return rc;
}

static int
sq_replay_images(struct sq *q, int (*fn)(const struct tm_record *, uint64_t,
    void *), void *arg)
{
	sqlite3_stmt	*s, *p;
	int		 rc = 0;

	if (sqlite3_prepare_v2(q->db, "SELECT host_id, key, image_id, os_id, "
	    "os_version, os_codename, os_pretty, pkgset, last_seen_ns, refs "
	    "FROM images", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(q->db, "SELECT ecosystem, name, version, epoch, "
	    "arch, source_name, source_version, vendor, modularity FROM "
	    "packages WHERE pkgset = ?1 ORDER BY rowid", -1, &p, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(s);
		goto fail;
	}
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct tm_record	 rec;
		struct tm_image		*im = &rec.body.image;
		size_t			 cap = 0;
		json_t			*refs;

		memset(&rec, 0, sizeof rec);
		rec.version = TM_SCHEMA_MAJOR;
		rec.kind = TM_KIND_IMAGE;
		rec.host_id = sq_col_str(s, 0);
		im->key = sq_col_str(s, 1);
		im->image_id = sq_col_str(s, 2);
		im->os_id = sq_col_str(s, 3);
		im->os_version = sq_col_str(s, 4);
		im->os_codename = sq_col_str(s, 5);
		im->os_pretty = sq_col_str(s, 6);
		refs = sqlite3_column_text(s, 9) != NULL ? json_loads(
		    (const char *)sqlite3_column_text(s, 9), 0, NULL) : NULL;
		if (json_is_array(refs) && json_array_size(refs) > 0 &&
		    json_is_string(json_array_get(refs, 0))) {
			im->refs = xcalloc(1, sizeof *im->refs);
			im->refs[0] = xstrdup(json_string_value(
			    json_array_get(refs, 0)));
			im->n_refs = 1;
		}
		json_decref(refs);
		sqlite3_reset(p);
		sqlite3_bind_int64(p, 1, sqlite3_column_int64(s, 7));
		while (sqlite3_step(p) == SQLITE_ROW &&
		    im->n_packages < TM_PACKAGES_MAX) {
			struct tm_package *k;

			if (im->n_packages == cap) {
				cap = cap ? cap * 2 : 64;
				im->packages = xreallocarray(im->packages, cap,
				    sizeof *im->packages);
			}
			k = &im->packages[im->n_packages++];
			memset(k, 0, sizeof *k);
			k->ecosystem = sq_col_str(p, 0);
			k->name = sq_col_str(p, 1);
			k->version = sq_col_str(p, 2);
			k->has_epoch = sqlite3_column_type(p, 3) != SQLITE_NULL;
			k->epoch = sqlite3_column_int64(p, 3);
			k->arch = sq_col_str(p, 4);
			k->source_name = sq_col_str(p, 5);
			k->source_version = sq_col_str(p, 6);
			k->vendor = sq_col_str(p, 7);
			k->modularity = sq_col_str(p, 8);
		}
		if (rec.host_id != NULL && im->key != NULL)
			rc = fn(&rec, sq_col_u64(s, 8), arg);
		tm_record_free(&rec);
	}
	sqlite3_finalize(s);
	sqlite3_finalize(p);
	return rc;
fail:
	sq_error(q, "images");
	return -1;
}

static int
sq_replay_containers(struct sq *q, int (*fn)(const struct tm_record *,
    uint64_t, void *), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc = 0;

	if (sqlite3_prepare_v2(q->db, "SELECT snapshot, last_seen_ns, state, "
	    "started_ns, finished_ns, lifetime_ns, exit_code FROM containers "
	    "WHERE state != 'removed' AND snapshot IS NOT NULL", -1, &s, NULL) !=
	    SQLITE_OK) {
		sq_error(q, "containers");
		return -1;
	}
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct tm_record	 rec;
		struct tm_container	*c = &rec.body.container;
		const char		*state;

		if (sq_decode(sqlite3_column_blob(s, 0),
		    sqlite3_column_bytes(s, 0), &rec) == -1)
			continue;
		if (rec.kind != TM_KIND_CONTAINER) {
			tm_record_free(&rec);
			continue;
		}
		/* The lifecycle since the snapshot (events) wins. */
		state = (const char *)sqlite3_column_text(s, 2);
		if (state != NULL && strcmp(state, c->state) != 0) {
			free(c->state);
			c->state = xstrdup(state);
		}
		c->started_ns = sq_col_u64(s, 3);
		c->finished_ns = sq_col_u64(s, 4);
		c->lifetime_ns = sq_col_u64(s, 5);
		c->has_exit_code = sqlite3_column_type(s, 6) != SQLITE_NULL;
		c->exit_code = sqlite3_column_int64(s, 6);
		rc = fn(&rec, sq_col_u64(s, 1), arg);
		tm_record_free(&rec);
	}
	sqlite3_finalize(s);
	return rc;
}

static int
sq_replay_drift(struct sq *q, int (*fn)(const struct tm_record *, uint64_t,
    void *), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc = 0;

	/* Only executables matter to the engine; of live containers. */
	if (sqlite3_prepare_v2(q->db, "SELECT d.host_id, d.container_id, "
	    "d.path, d.change, d.mode, d.rx_ns FROM drift d JOIN containers c "
	    "ON c.host_id = d.host_id AND c.id = d.container_id "
	    "WHERE c.state != 'removed' AND d.change != 'deleted' "
	    "AND (d.mode & 73) != 0 ORDER BY d.rowid", -1, &s, NULL) !=
	    SQLITE_OK) {
		sq_error(q, "drift");
		return -1;
	}
	while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
		struct tm_record	 rec;
		struct tm_drift		*d = &rec.body.drift;
		struct tm_drift_file	 f;

		memset(&rec, 0, sizeof rec);
		memset(&f, 0, sizeof f);
		rec.version = TM_SCHEMA_MAJOR;
		rec.kind = TM_KIND_DRIFT;
		rec.host_id = sq_col_str(s, 0);
		d->id = sq_col_str(s, 1);
		d->runtime = xstrdup("");
		d->when = xstrdup("exec");
		f.path = sq_col_str(s, 2);
		f.change = sq_col_str(s, 3);
		f.mode = sq_col_u64(s, 4);
		d->files = xcalloc(1, sizeof *d->files);
		d->files[0] = f;
		d->n_files = 1;
		if (rec.host_id != NULL && d->id != NULL && f.path != NULL &&
		    f.change != NULL)
			rc = fn(&rec, sq_col_u64(s, 5), arg);
		tm_record_free(&rec);
	}
	sqlite3_finalize(s);
	return rc;
}

static int
sq_replay(struct store *st, int (*fn)(const struct tm_record *, uint64_t,
    void *), void *arg)
{
	struct sq *q = sq_of(st);

	if (sq_replay_hosts(q, fn, arg) == -1 ||
	    sq_replay_images(q, fn, arg) == -1 ||
	    sq_replay_containers(q, fn, arg) == -1 ||
	    sq_replay_drift(q, fn, arg) == -1)
		return -1;
	return 0;
}

static int
sq_drop_findings(struct store *st)
{
	return sq_exec(sq_of(st), "DELETE FROM findings");
}

static int
sq_prune(struct store *st, uint64_t before_ns)
{
	struct sq	*q = sq_of(st);
	char		 sql[512];
	int64_t		 b = before_ns > (uint64_t)INT64_MAX ? INT64_MAX :
			    (int64_t)before_ns;

	snprintf(sql, sizeof sql,
	    "DELETE FROM drift WHERE (host_id, container_id) IN (SELECT "
	    "host_id, id FROM containers WHERE state = 'removed' AND "
	    "last_seen_ns < %" PRId64 ");"
	    "DELETE FROM containers WHERE state = 'removed' AND "
	    "last_seen_ns < %" PRId64 ";"
	    "DELETE FROM findings WHERE open = 0 AND resolved_ns < %" PRId64 ";",
	    b, b, b);
	return sq_exec(q, sql);
}

/* The query side lives in store-sqlite-query.c. */
enum store_qresult store_sqlite_query(struct store *st,
    const struct store_query *qy, json_t **out);

/* The SQLite handle of a store of this backend (for the query file). */
sqlite3 *store_sqlite_db(struct store *st);
sqlite3 *
store_sqlite_db(struct store *st)
{
	return sq_of(st)->db;
}

/*
 * For tests: ask the checkpointer for a checkpoint now and wait until it
 * has run one.  *log and *done: its frames in the WAL and copied into the
 * database (-1 and -1: it could not checkpoint).  Returns 0, or -1 when
 * the store has no checkpointer (read-only).
 */
int	store_sqlite_checkpoint_wait(struct store *st, int *log, int *done);
int
store_sqlite_checkpoint_wait(struct store *st, int *log, int *done)
{
	struct sq_ckpt	*ck = sq_of(st)->ckpt;
	uint64_t	 target;

	if (ck == NULL)
		return -1;
	uv_mutex_lock(&ck->mu);
	target = ck->runs + 1;
	ck->want = 1;
	uv_cond_broadcast(&ck->cv);
	while (ck->runs < target && !ck->stop)
		uv_cond_wait(&ck->cv, &ck->mu);
	*log = ck->last_log;
	*done = ck->last_done;
	uv_mutex_unlock(&ck->mu);
	return 0;
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.probe = sq_probe,
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.prepare = sq_prepare,
	.put_record = sq_put_record,
	.put_host_counts = sq_put_host_counts,
	.put_ledger = sq_put_ledger,
	.put_finding = sq_put_finding,
	.each_ledger = sq_each_ledger,
	.each_finding = sq_each_finding,
	.replay = sq_replay,
	.query = store_sqlite_query,
	.prune = sq_prune,
	.drop_findings = sq_drop_findings,
};
