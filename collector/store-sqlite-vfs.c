/*
 * store-sqlite-vfs.c: the store writer's WAL writes, one system call per
 * commit instead of two per page.
 *
 * SQLite writes each frame of a commit to the WAL with two pwrites (its
 * 24-byte header, then the page): 2 400 system calls for a commit of
 * 1 200 pages, about a quarter of the collector's main thread at 10 000
 * hosts (bench/RESULTS.md, bench/wal-frames).  This VFS wraps the default
 * one; for WAL files only, it appends consecutive writes to a buffer and
 * writes the buffer at once:
 *   - when the buffer holds the whole commit frame: the frame whose header
 *     has a non-zero "database size after commit" (the WAL format, SQLite's
 *     fileformat2 document, section 4.1).  That write returns the buffer's
 *     result, so a failed write fails the commit, and every frame of a
 *     commit is in the file before SQLite publishes the commit to readers
 *     (after its last write, in the WAL index);
 *   - before any other call on the file (read, sync, truncate, size,
 *     file-control, lock, close), and before a write that does not follow
 *     the buffer;
 *   - when it would grow past SQV_BUF_MAX (120 KiB: the frames of a
 *     commit then go out in that many bytes at a time, earlier ones
 *     first).
 * The frame size comes from the WAL header (its page size), read from the
 * file if the buffer did not see it written; if it cannot be read, writes
 * go straight through.  Other files (the database, the journal) are the
 * default VFS's own.
 *
 * Used by the store's writer connection only; readers and the
 * checkpointer write no frames.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "collector/store.h"

#define SQV_NAME	"tallyman-wal"
/* The unix VFS writes at most 0x1ffff bytes per call (it masks the size:
 * a larger write comes back short, as a full disk): the buffer stays
 * under that. */
#define SQV_BUF_MAX	(120u * 1024)
#define SQV_WAL_HDR	32	/* the WAL header */
#define SQV_FRAME_HDR	24	/* each frame's header */

struct sqv_file {
	sqlite3_file	 base;		/* pMethods: sqv_io */
	unsigned char	*buf;		/* SQV_BUF_MAX bytes, once needed */
	size_t		 len;
	sqlite3_int64	 off;		/* the file offset of buf[0] */
	sqlite3_int64	 commit_end;	/* the commit frame's end, or 0 */
	unsigned	 page;		/* 0: not known yet */
	int		 through;	/* the page size is unknowable: no buffer */
#ifdef TM_WAL_PAGELOG
	const char	*name;		/* SQLite's, valid until xClose */
#endif
	/* the default VFS's file follows */
};

static sqlite3_vfs		*sqv_orig;
static sqlite3_vfs		 sqv_vfs;
static pthread_once_t		 sqv_once = PTHREAD_ONCE_INIT;
static int			 sqv_ok;
static struct sq_vfs_stats	 sqv_stats;	/* atomic counters */

static sqlite3_file *
sqv_real(struct sqv_file *f)
{
	return (sqlite3_file *)(void *)(f + 1);
}

static uint32_t
sqv_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* The WAL header's page size (65536 is stored as 1), or 0. */
static unsigned
sqv_page_size(const unsigned char *hdr)
{
	uint32_t p = sqv_be32(hdr + 8);

	if (p == 1)
		p = 65536;
	if (p < 512 || p > 65536 || (p & (p - 1)) != 0)
		return 0;
	return p;
}

static void
sqv_count(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* Write what n bytes at o say of the frames: a commit frame's end. */
static void
sqv_done(struct sqv_file *f, sqlite3_int64 end)
{
	if (f->commit_end != 0 && end >= f->commit_end)
		f->commit_end = 0;
}

static int
sqv_flush(struct sqv_file *f)
{
	sqlite3_file	*r = sqv_real(f);
	sqlite3_int64	 end = f->off + (sqlite3_int64)f->len;
	int		 rc;

	if (f->len == 0)
		return SQLITE_OK;
	rc = r->pMethods->xWrite(r, f->buf, (int)f->len, f->off);
	sqv_count(&sqv_stats.writes, 1);
	sqv_count(&sqv_stats.bytes, f->len);
	f->len = 0;
	sqv_done(f, end);
	return rc;
}

/* Straight to the file, after the buffer (as SQLite asked: its writes
 * are smaller than SQV_BUF_MAX). */
static int
sqv_through(struct sqv_file *f, const void *data, int n, sqlite3_int64 o)
{
	sqlite3_file	*r = sqv_real(f);
	int		 rc;

	if ((rc = sqv_flush(f)) != SQLITE_OK)
		return rc;
	rc = r->pMethods->xWrite(r, data, n, o);
	sqv_count(&sqv_stats.writes, 1);
	sqv_count(&sqv_stats.bytes, n > 0 ? (uint64_t)n : 0);
	sqv_done(f, o + n);
	return rc;
}

/* The page size, from the WAL header being written or in the file. */
static void
sqv_learn_page(struct sqv_file *f, const unsigned char *data, int n,
    sqlite3_int64 o)
{
	sqlite3_file	*r = sqv_real(f);
	unsigned char	 hdr[SQV_WAL_HDR];

	if (f->page != 0 || f->through)
		return;
	if (o == 0 && n >= SQV_WAL_HDR)
		f->page = sqv_page_size(data);
	else if (r->pMethods->xRead(r, hdr, sizeof hdr, 0) == SQLITE_OK)
		f->page = sqv_page_size(hdr);
	if (f->page == 0)
		f->through = 1;
}

/*
 * A write as SQLite makes them: the WAL header; a frame's header; a
 * frame's page; or whole frames.  Only those are buffered, so that the
 * header of every buffered frame is seen whole.
 */
static int
sqv_expected(const struct sqv_file *f, int n, sqlite3_int64 o)
{
	sqlite3_int64	fsz = SQV_FRAME_HDR + (sqlite3_int64)f->page, at;

	if (o == 0)
		return n == SQV_WAL_HDR;
	if (o < SQV_WAL_HDR || n <= 0)
		return 0;
	at = (o - SQV_WAL_HDR) % fsz;
	if (at == 0)
		return n == SQV_FRAME_HDR || n % fsz == 0;
	return at == SQV_FRAME_HDR && n == (int)f->page;
}

/* The frame headers in [o, o + n) of data: a commit frame's end. */
static void
sqv_scan(struct sqv_file *f, const unsigned char *data, int n,
    sqlite3_int64 o)
{
	sqlite3_int64	 fsz = SQV_FRAME_HDR + (sqlite3_int64)f->page;
	sqlite3_int64	 h;

	if (o < SQV_WAL_HDR || (o - SQV_WAL_HDR) % fsz != 0)
		return;
	for (h = o; h + SQV_FRAME_HDR <= o + n; h += fsz)
		if (sqv_be32(data + (h - o) + 4) != 0)
			f->commit_end = h + fsz;
}

#ifdef TM_WAL_PAGELOG
/*
 * For bench/wal-pages.sh only (a build configured with
 * CPPFLAGS=-DTM_WAL_PAGELOG): the WAL's name and the page number of every
 * frame written, one per line, to the file $TM_WAL_PAGELOG names (which
 * pages, so which tables and indexes, the commits write).
 */
static FILE		*sqv_log;
static pthread_once_t	 sqv_log_once = PTHREAD_ONCE_INIT;

static void
sqv_log_open(void)
{
	const char *path = getenv("TM_WAL_PAGELOG");

	sqv_log = path != NULL ? fopen(path, "we") : NULL;
}

/* Several stores' writers log at once: one fprintf per line (stdio locks
 * the stream). */
static void
sqv_pagelog(const struct sqv_file *f, const unsigned char *data, int n,
    sqlite3_int64 o)
{
	FILE		*log;
	sqlite3_int64	 fsz = SQV_FRAME_HDR + (sqlite3_int64)f->page, h;

	(void)pthread_once(&sqv_log_once, sqv_log_open);
	log = sqv_log;
	if (log == NULL || f->page == 0 || o < SQV_WAL_HDR ||
	    (o - SQV_WAL_HDR) % fsz != 0)
		return;
	for (h = 0; h + SQV_FRAME_HDR <= n; h += fsz)
		fprintf(log, "%s %" PRIu32 "\n", f->name,
		    sqv_be32(data + h));
}
#else
#define sqv_pagelog(f, data, n, o)	do { } while (0)
#endif

static int
sqv_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 o)
{
	struct sqv_file	*f = (struct sqv_file *)file;
	int		 rc;

	sqv_count(&sqv_stats.calls, 1);
	sqv_learn_page(f, data, n, o);
	sqv_pagelog(f, data, n, o);
	if (f->through || !sqv_expected(f, n, o))
		return sqv_through(f, data, n, o);
	if (f->len > 0 && o != f->off + (sqlite3_int64)f->len &&
	    (rc = sqv_flush(f)) != SQLITE_OK)
		return rc;
	if ((size_t)n > SQV_BUF_MAX)
		return sqv_through(f, data, n, o);
	if (f->len + (size_t)n > SQV_BUF_MAX &&
	    (rc = sqv_flush(f)) != SQLITE_OK)
		return rc;
	sqv_scan(f, data, n, o);
	if (f->buf == NULL && (f->buf = malloc(SQV_BUF_MAX)) == NULL)
		return sqv_through(f, data, n, o);
	if (f->len == 0)
		f->off = o;
	memcpy(f->buf + f->len, data, (size_t)n);
	f->len += (size_t)n;
	if (f->commit_end != 0 &&
	    f->off + (sqlite3_int64)f->len >= f->commit_end)
		return sqv_flush(f);
	return SQLITE_OK;
}

/* Every other call: the buffer first, then the default VFS's file. */
static int
sqv_close(sqlite3_file *file)
{
	struct sqv_file	*f = (struct sqv_file *)file;
	sqlite3_file	*r = sqv_real(f);
	int		 rc = sqv_flush(f), rc2;

	rc2 = r->pMethods->xClose(r);
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

#define SQV_FWD(call)							\
	struct sqv_file	*f = (struct sqv_file *)file;			\
	sqlite3_file	*r = sqv_real(f);				\
	int		 rc;						\
									\
	if ((rc = sqv_flush(f)) != SQLITE_OK)				\
		return rc;						\
	return r->pMethods->call

static int
sqv_read(sqlite3_file *file, void *data, int n, sqlite3_int64 o)
{
	SQV_FWD(xRead)(r, data, n, o);
}

static int
sqv_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	SQV_FWD(xTruncate)(r, size);
}

static int
sqv_sync(sqlite3_file *file, int flags)
{
	SQV_FWD(xSync)(r, flags);
}

static int
sqv_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	SQV_FWD(xFileSize)(r, size);
}

static int
sqv_lock(sqlite3_file *file, int lock)
{
	SQV_FWD(xLock)(r, lock);
}

static int
sqv_unlock(sqlite3_file *file, int lock)
{
	SQV_FWD(xUnlock)(r, lock);
}

static int
sqv_check_reserved(sqlite3_file *file, int *out)
{
	SQV_FWD(xCheckReservedLock)(r, out);
}

static int
sqv_file_control(sqlite3_file *file, int op, void *arg)
{
	SQV_FWD(xFileControl)(r, op, arg);
}

#undef SQV_FWD

static int
sqv_sector_size(sqlite3_file *file)
{
	sqlite3_file *r = sqv_real((struct sqv_file *)file);

	return r->pMethods->xSectorSize(r);
}

static int
sqv_device(sqlite3_file *file)
{
	sqlite3_file *r = sqv_real((struct sqv_file *)file);

	return r->pMethods->xDeviceCharacteristics(r);
}

/* Version 1: a WAL file has no shared memory and is not memory-mapped. */
static const sqlite3_io_methods sqv_io = {
	.iVersion = 1,
	.xClose = sqv_close,
	.xRead = sqv_read,
	.xWrite = sqv_write,
	.xTruncate = sqv_truncate,
	.xSync = sqv_sync,
	.xFileSize = sqv_file_size,
	.xLock = sqv_lock,
	.xUnlock = sqv_unlock,
	.xCheckReservedLock = sqv_check_reserved,
	.xFileControl = sqv_file_control,
	.xSectorSize = sqv_sector_size,
	.xDeviceCharacteristics = sqv_device,
};

static int
sqv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
    int *out_flags)
{
	struct sqv_file	*f = (struct sqv_file *)file;
	int		 rc;

	(void)vfs;
	if ((flags & SQLITE_OPEN_WAL) == 0)
		return sqv_orig->xOpen(sqv_orig, name, file, flags, out_flags);
	memset(f, 0, sizeof *f);
	rc = sqv_orig->xOpen(sqv_orig, name, sqv_real(f), flags, out_flags);
	if (rc != SQLITE_OK || sqv_real(f)->pMethods == NULL)
		return rc;
	f->base.pMethods = &sqv_io;
#ifdef TM_WAL_PAGELOG
	f->name = name;
#endif
	return SQLITE_OK;
}

#define SQV_PASS(ret, fn, params, args)					\
	static ret							\
	sqv_##fn params							\
	{								\
		(void)vfs;						\
		return sqv_orig->fn args;				\
	}

SQV_PASS(int, xDelete, (sqlite3_vfs *vfs, const char *p, int sync),
    (sqv_orig, p, sync))
SQV_PASS(int, xAccess, (sqlite3_vfs *vfs, const char *p, int fl, int *out),
    (sqv_orig, p, fl, out))
SQV_PASS(int, xFullPathname, (sqlite3_vfs *vfs, const char *p, int n,
    char *out), (sqv_orig, p, n, out))
SQV_PASS(void *, xDlOpen, (sqlite3_vfs *vfs, const char *p), (sqv_orig, p))
SQV_PASS(int, xRandomness, (sqlite3_vfs *vfs, int n, char *out),
    (sqv_orig, n, out))
SQV_PASS(int, xSleep, (sqlite3_vfs *vfs, int us), (sqv_orig, us))
SQV_PASS(int, xCurrentTime, (sqlite3_vfs *vfs, double *t), (sqv_orig, t))
SQV_PASS(int, xGetLastError, (sqlite3_vfs *vfs, int n, char *out),
    (sqv_orig, n, out))
SQV_PASS(int, xCurrentTimeInt64, (sqlite3_vfs *vfs, sqlite3_int64 *t),
    (sqv_orig, t))

#undef SQV_PASS

static void
sqv_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	sqv_orig->xDlError(sqv_orig, n, out);
}

static void (*sqv_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return sqv_orig->xDlSym(sqv_orig, h, sym);
}

static void
sqv_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	sqv_orig->xDlClose(sqv_orig, h);
}

static void
sqv_register(void)
{
	if ((sqv_orig = sqlite3_vfs_find(NULL)) == NULL ||
	    sqv_orig->iVersion < 2 || sqv_orig->xCurrentTimeInt64 == NULL)
		return;
	sqv_vfs.iVersion = 2;
	sqv_vfs.szOsFile = (int)sizeof(struct sqv_file) + sqv_orig->szOsFile;
	sqv_vfs.mxPathname = sqv_orig->mxPathname;
	sqv_vfs.zName = SQV_NAME;
	sqv_vfs.xOpen = sqv_open;
	sqv_vfs.xDelete = sqv_xDelete;
	sqv_vfs.xAccess = sqv_xAccess;
	sqv_vfs.xFullPathname = sqv_xFullPathname;
	sqv_vfs.xDlOpen = sqv_xDlOpen;
	sqv_vfs.xDlError = sqv_dlerror;
	sqv_vfs.xDlSym = sqv_dlsym;
	sqv_vfs.xDlClose = sqv_dlclose;
	sqv_vfs.xRandomness = sqv_xRandomness;
	sqv_vfs.xSleep = sqv_xSleep;
	sqv_vfs.xCurrentTime = sqv_xCurrentTime;
	sqv_vfs.xGetLastError = sqv_xGetLastError;
	sqv_vfs.xCurrentTimeInt64 = sqv_xCurrentTimeInt64;
	sqv_ok = sqlite3_vfs_register(&sqv_vfs, 0) == SQLITE_OK;
}

const char *
sq_vfs_name(void)
{
	pthread_once(&sqv_once, sqv_register);
	return sqv_ok ? SQV_NAME : NULL;
}

void
sq_vfs_stats(struct sq_vfs_stats *out)
{
	out->calls = __atomic_load_n(&sqv_stats.calls, __ATOMIC_RELAXED);
	out->writes = __atomic_load_n(&sqv_stats.writes, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&sqv_stats.bytes, __ATOMIC_RELAXED);
}
