/*
 * spool.c: the on-disk spool between agent_emit and Kafka.
 *
 * Every message is appended here before librdkafka sees it and released
 * only when Kafka acknowledged it, so a broker outage, a crash or a restart
 * loses nothing.  The spool is a folder of segment files named by a
 * 16-hex-digit number; a segment is nothing but common/zframe frames back to
 * back, one frame per Kafka message payload, so `tallyman-decode` reads a
 * segment as it is.
 *
 * Three positions order everything:
 *   head    the oldest frame not yet released (acknowledged);
 *   cursor  the next frame not yet handed to the sender;
 *   end     the end of the newest segment, where appends go.
 * [head, cursor) is in flight inside librdkafka; [cursor, end) waits.
 *
 * Durability: write(2) per frame (survives kill -9 in the page cache),
 * fdatasync batched on spool.sync_interval on the thread pool (survives a
 * power loss up to the last sync).  At start-up every frame is checked
 * (length, crc32c, zstd, envelope) and a torn or corrupt tail is cut, with a
 * count.
 *
 * Bound: when an append would exceed spool.max_bytes the oldest segment
 * that holds nothing in flight is deleted and its records are counted as
 * dropped (logged; the heartbeat reports the count and the collector sees
 * the sequence gap).  Segments end only at record boundaries, so a dropped
 * segment never leaves half of a split record behind.  Frames in flight are
 * never dropped: librdkafka may still deliver them, and the loss count
 * must equal the gap the collector sees.
 *
 * Blocking I/O on the loop: write(2) of one frame into the page cache, and
 * pread(2) of one frame when the sender catches up with a backlog (a file
 * written recently, normally cached).  Flushes to disk (the slow part) run
 * on the thread pool.  Start-up recovery reads everything before the loop
 * serves anything.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include "agent/agent.h"

#define SPOOL_SEG_MIN		(64u * 1024)
#define SPOOL_SEG_MAX		(8u * 1024 * 1024)
#define SPOOL_CACHE_MAX		(1u * 1024 * 1024)
#define SPOOL_ZLEVEL		3
#define SPOOL_SUFFIX		".seg"
#define SPOOL_HEAD		"head"	/* "SEGNO OFFSET": released before it */

struct spool_seg {
	uint64_t	no;
	uint64_t	size;		/* valid bytes on disk */
	uint64_t	records;	/* record starts in this segment */
	uint64_t	released;	/* of which released */
	uint64_t	first_seq;
	uint64_t	last_seq;
};

/* A frame appended while the sender was caught up: kept decoded in memory
 * so the sender need not read back what was just written. */
struct spool_cached {
	struct spool_pos start;
	struct spool_pos end;
	uint8_t		*raw;		/* NULL once handed out */
	size_t		 rawlen;
	uint32_t	 disklen;
	uint64_t	 seq;
	bool		 record_start;
};

/* A flush job on the thread pool: owns its descriptors. */
struct spool_job {
	uv_work_t	 work;
	int		 fd;		/* fdatasync then close, or -1 */
	int		 dfd;		/* fsync then close, or -1 */
	char		*dir;		/* with head[]: write DIR/head */
	char		 head[64];
	uint64_t	 tmpno;
};

struct spool {
	uv_loop_t	*loop;
	char		*dir;
	uint64_t	 max_bytes;
	uint64_t	 seg_max;
	uint64_t	 sync_ms;

	struct spool_seg *segs;		/* oldest first; the last is written */
	size_t		 nsegs;
	size_t		 capsegs;
	int		 wfd;
	uint64_t	 bytes;

	struct spool_pos head;
	struct spool_pos cursor;

	int		 rfd;
	uint64_t	 rfd_segno;
	int		 lockfd;	/* DIR/lock, flock'ed while open */

	struct spool_cached *cache;
	size_t		 ncache;
	size_t		 capcache;
	size_t		 cache_first;
	uint64_t	 cache_bytes;

	uv_timer_t	 timer;
	bool		 timer_armed;
	bool		 dirty;		/* written since the last flush */
	bool		 dir_dirty;	/* segment created since the last flush */
	bool		 head_dirty;	/* head moved since DIR/head was written */
	uint64_t	 head_writes;

	uint8_t		*frame;
	size_t		 framecap;

	struct spool_info info;		/* counters: cut, dropped, last_seq */
	struct log_ratelimit rl;
};

static int	spool_seg_create(struct spool *sp, uint64_t no);

/* Index of segment no, or nsegs if there is none. */
static size_t
spool_seg_index(const struct spool *sp, uint64_t no)
{
	size_t	lo = 0, hi = sp->nsegs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sp->segs[mid].no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sp->nsegs && sp->segs[lo].no == no ? lo : sp->nsegs;
}

static void
spool_seg_path(const struct spool *sp, uint64_t no, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%016" PRIx64 SPOOL_SUFFIX, sp->dir, no);
}

static int
spool_pos_eq(struct spool_pos a, struct spool_pos b)
{
	return a.segno == b.segno && a.off == b.off;
}

/*
 * Normalise a position: the end of a segment that is not the newest is the
 * start of the next one; a position in a segment that no longer exists
 * (dropped, or released) moves to the next existing segment's start.
 */
static struct spool_pos
spool_norm(const struct spool *sp, struct spool_pos p)
{
	size_t	i;

	if (sp->nsegs == 0)
		return p;
	i = spool_seg_index(sp, p.segno);
	if (i == sp->nsegs) {
		for (i = 0; i < sp->nsegs; i++) {
			if (sp->segs[i].no > p.segno) {
				p.segno = sp->segs[i].no;
				p.off = 0;
				return p;
			}
		}
		p.segno = sp->segs[sp->nsegs - 1].no;
		p.off = sp->segs[sp->nsegs - 1].size;
		return p;
	}
	while (i + 1 < sp->nsegs && p.off >= sp->segs[i].size) {
		i++;
		p.segno = sp->segs[i].no;
		p.off = 0;
	}
	return p;
}

/*
 * Read the envelope keys the spool needs from a raw message: the sequence
 * number ("s") and whether it begins a record (no "p", or part index 0).
 * raw is untrusted (it comes back from disk).  Returns 0 or -1.
 */
static int
spool_peek_env(const void *raw, size_t len, uint64_t *seq, bool *record_start)
{
	msgpack_unpacked	 u;
	msgpack_object_map	*m;
	size_t			 i;
	int			 have_seq = 0, rc = -1;

	*record_start = true;
	/* The bounded gate first: a count that lies would have msgpack-c
	 * allocate for it (fuzz-spool). */
	if (tm_unpack(raw, len, TM_MSG_MAX, &u, NULL, 0) != TM_OK ||
	    u.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	m = &u.data.via.map;
	for (i = 0; i < m->size; i++) {
		msgpack_object	*k = &m->ptr[i].key, *v = &m->ptr[i].val;

		if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != 1)
			continue;
		if (k->via.str.ptr[0] == 's') {
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				goto out;
			*seq = v->via.u64;
			have_seq = 1;
		} else if (k->via.str.ptr[0] == 'p') {
			if (v->type != MSGPACK_OBJECT_ARRAY ||
			    v->via.array.size < 1 ||
			    v->via.array.ptr[0].type !=
			    MSGPACK_OBJECT_POSITIVE_INTEGER)
				goto out;
			*record_start = v->via.array.ptr[0].via.u64 == 0;
		}
	}
	rc = have_seq ? 0 : -1;
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/*
 * Read and check the frame at off in fd (file size fsize).  On success
 * returns ZFRAME_OK with *raw (caller frees), *rawlen and *disklen.
 */
static enum zframe_status
spool_read_frame(struct spool *sp, int fd, uint64_t off, uint64_t fsize,
    uint8_t **raw, size_t *rawlen, size_t *disklen)
{
	uint8_t			 hdr[ZFRAME_HDR];
	uint32_t		 clen;
	size_t			 total, used;
	ssize_t			 n;
	enum zframe_status	 st;

	if (fsize - off < ZFRAME_HDR)
		return ZFRAME_SHORT;
	n = pread(fd, hdr, sizeof hdr, (off_t)off);
	if (n != (ssize_t)sizeof hdr)
		return ZFRAME_SHORT;
	clen = (uint32_t)hdr[4] | (uint32_t)hdr[5] << 8 |
	    (uint32_t)hdr[6] << 16 | (uint32_t)hdr[7] << 24;
	if (clen > ZFRAME_MAX_RAW)
		return ZFRAME_BAD_LENGTH;
	total = ZFRAME_HDR + (size_t)clen;
	if (fsize - off < total) {
		/* Decide between a torn tail and garbage by the header. */
		st = zframe_decode(hdr, sizeof hdr, &used, raw, rawlen);
		return st == ZFRAME_SHORT ? ZFRAME_SHORT : st;
	}
	if (total > sp->framecap) {
		sp->frame = xreallocarray(sp->frame, 1, total);
		sp->framecap = total;
	}
	n = pread(fd, sp->frame, total, (off_t)off);
	if (n != (ssize_t)total)
		return ZFRAME_SHORT;
	st = zframe_decode(sp->frame, total, &used, raw, rawlen);
	if (st == ZFRAME_OK)
		*disklen = used;
	return st;
}

/*
 * Check one segment file at start-up: walk its frames, note sequence
 * numbers and record starts, and cut it at the first damaged frame.  If
 * head_off is a frame boundary in it, *head_ok is set and seg->released
 * counts the records before it.  Returns 0 (the segment is usable,
 * possibly emptied) or -1 (unreadable).
 */
static int
spool_recover_seg(struct spool *sp, struct spool_seg *seg, uint64_t head_off,
    bool *head_ok)
{
	char			 path[4096];
	struct stat		 st;
	uint64_t		 off = 0, seq = 0;
	uint8_t			*raw;
	size_t			 rawlen, disklen;
	enum zframe_status	 zs;
	bool			 rstart, have = false;
	int			 fd;

	spool_seg_path(sp, seg->no, path, sizeof path);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warn("spool: %s", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	while (off < (uint64_t)st.st_size) {
		if (off == head_off) {
			*head_ok = true;
			seg->released = seg->records;
		}
		raw = NULL;
		zs = spool_read_frame(sp, fd, off, (uint64_t)st.st_size, &raw,
		    &rawlen, &disklen);
		if (zs == ZFRAME_OK && (rawlen > TM_MSG_MAX ||
		    spool_peek_env(raw, rawlen, &seq, &rstart) == -1))
			zs = ZFRAME_BAD_PAYLOAD;
		free(raw);
		if (zs != ZFRAME_OK) {
			log_warnx("spool: %s: damaged frame at offset %" PRIu64
			    " (%s): cutting %" PRIu64 " bytes", path, off,
			    zframe_status_name(zs), (uint64_t)st.st_size - off);
			sp->info.cut_frames++;
			sp->info.cut_bytes += (uint64_t)st.st_size - off;
			if (ftruncate(fd, (off_t)off) == -1 || fsync(fd) == -1)
				log_warn("spool: cut %s", path);
			break;
		}
		if (rstart)
			seg->records++;
		if (!have)
			seg->first_seq = seq;
		seg->last_seq = seq;
		have = true;
		off += disklen;
	}
	close(fd);
	seg->size = off;
	if (off == head_off) {
		*head_ok = true;
		seg->released = seg->records;
	}
	if (have) {
		sp->info.has_last_seq = true;
		sp->info.last_seq = seg->last_seq;
	}
	return 0;
}

/* Read DIR/head (what was released before the last stop), if any. */
static void
spool_read_head(struct spool *sp, struct spool_pos *head)
{
	char	path[4096], line[128];
	FILE	*fp;

	head->segno = head->off = 0;
	snprintf(path, sizeof path, "%s/" SPOOL_HEAD, sp->dir);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	if (fgets(line, sizeof line, fp) == NULL || sscanf(line, "%" SCNu64
	    " %" SCNu64, &head->segno, &head->off) != 2)
		head->segno = head->off = 0;
	fclose(fp);
}

static int
spool_cmp_seg(const void *a, const void *b)
{
	const struct spool_seg *x = a, *y = b;

	return x->no < y->no ? -1 : x->no > y->no;
}

static int
spool_mkdirs(const char *dir)
{
	char	*p, *tmp;

	tmp = xstrdup(dir);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST) {
			log_warn("spool: mkdir %s", tmp);
			free(tmp);
			return -1;
		}
		*p = '/';
	}
	free(tmp);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("spool: mkdir %s", dir);
		return -1;
	}
	return 0;
}

/*
 * One agent per spool: two writers would interleave frames and release
 * each other's records.  The lock goes with the process (kill -9 too).
 * Returns 0 or -1 (logged).
 */
static int
spool_lock(struct spool *sp)
{
	char	path[4096];

	snprintf(path, sizeof path, "%s/lock", sp->dir);
	sp->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sp->lockfd == -1) {
		log_warn("spool: %s", path);
		return -1;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			log_warnx("spool: %s is in use by another agent", sp->dir);
		else
			log_warn("spool: lock %s", path);
		close(sp->lockfd);
		sp->lockfd = -1;
		return -1;
	}
	return 0;
}

/* List the segment files in sp->dir into sp->segs, sorted.  Returns 0/-1. */
static int
spool_scan(struct spool *sp)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	 no;
	char		 tail[8];
	char		 path[4096];

	if ((d = opendir(sp->dir)) == NULL) {
		log_warn("spool: %s", sp->dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 16 + strlen(SPOOL_SUFFIX) ||
		    sscanf(de->d_name, "%16" SCNx64 "%7s", &no, tail) != 2 ||
		    strcmp(tail, SPOOL_SUFFIX) != 0) {
			if (strstr(de->d_name, ".tmp") != NULL) {
				snprintf(path, sizeof path, "%s/%s", sp->dir,
				    de->d_name);
				(void)unlink(path);
			}
			continue;
		}
		if (sp->nsegs == sp->capsegs) {
			sp->capsegs = sp->capsegs ? sp->capsegs * 2 : 16;
			sp->segs = xreallocarray(sp->segs, sp->capsegs,
			    sizeof *sp->segs);
		}
		memset(&sp->segs[sp->nsegs], 0, sizeof sp->segs[0]);
		sp->segs[sp->nsegs++].no = no;
	}
	closedir(d);
	if (sp->nsegs > 1)
		qsort(sp->segs, sp->nsegs, sizeof *sp->segs, spool_cmp_seg);
	return 0;
}

static void
spool_remove_seg_at(struct spool *sp, size_t i)
{
	char	path[4096];

	spool_seg_path(sp, sp->segs[i].no, path, sizeof path);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("spool: unlink %s", path);
	if (sp->rfd != -1 && sp->rfd_segno == sp->segs[i].no) {
		close(sp->rfd);
		sp->rfd = -1;
	}
	sp->bytes -= sp->segs[i].size;
	memmove(&sp->segs[i], &sp->segs[i + 1],
	    (sp->nsegs - i - 1) * sizeof *sp->segs);
	sp->nsegs--;
}

static void
spool_job_work(uv_work_t *req)
{
	struct spool_job	*job = req->data;

	if (job->fd != -1) {
		if (fdatasync(job->fd) == -1)
			log_warn("spool: fdatasync");
		close(job->fd);
	}
	if (job->dfd != -1) {
		(void)fsync(job->dfd);
		close(job->dfd);
	}
	if (job->dir != NULL) {
		char	tmp[4096], path[4096];
		size_t	len = strlen(job->head);
		int	fd;

		/* No fsync: a head file that lags only means duplicates. */
		snprintf(tmp, sizeof tmp, "%s/head.%" PRIu64 ".tmp", job->dir,
		    job->tmpno);
		snprintf(path, sizeof path, "%s/" SPOOL_HEAD, job->dir);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd != -1) {
			if (write(fd, job->head, len) != (ssize_t)len ||
			    close(fd) == -1 || rename(tmp, path) == -1) {
				log_warn("spool: %s", path);
				(void)unlink(tmp);
			}
		}
	}
}

static void
spool_job_done(uv_work_t *req, int status)
{
	struct spool_job	*job = req->data;

	free(job->dir);
	free(job);
}

/*
 * Queue a flush of fd (owned by the job from now on; -1 for none), with the
 * folder too when a segment was created.  Falls back to flushing here if
 * the thread pool refuses.
 */
static void
spool_flush_async(struct spool *sp, int fd)
{
	struct spool_job	*job;

	job = xcalloc(1, sizeof *job);
	job->work.data = job;
	job->fd = fd;
	job->dfd = -1;
	if (sp->dir_dirty) {
		job->dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		sp->dir_dirty = false;
	}
	if (sp->head_dirty) {
		struct spool_pos h = spool_norm(sp, sp->head);

		job->dir = xstrdup(sp->dir);
		job->tmpno = sp->head_writes++;
		snprintf(job->head, sizeof job->head, "%" PRIu64 " %" PRIu64
		    "\n", h.segno, h.off);
		sp->head_dirty = false;
	}
	if (uv_queue_work(sp->loop, &job->work, spool_job_work,
	    spool_job_done) != 0) {
		spool_job_work(&job->work);
		spool_job_done(&job->work, 0);
	}
}

static void
spool_timer_cb(uv_timer_t *t)
{
	struct spool	*sp = t->data;
	int		 fd;

	sp->timer_armed = false;
	fd = -1;
	if (sp->dirty && sp->wfd != -1) {
		sp->dirty = false;
		if ((fd = dup(sp->wfd)) == -1)
			log_warn("spool: dup");
	}
	if (fd != -1 || sp->head_dirty)
		spool_flush_async(sp, fd);
}

static void
spool_arm(struct spool *sp)
{
	if (!sp->timer_armed) {
		sp->timer_armed = true;
		uv_timer_start(&sp->timer, spool_timer_cb, sp->sync_ms, 0);
	}
}

static void
spool_mark_dirty(struct spool *sp)
{
	sp->dirty = true;
	if (!sp->timer_armed) {
		sp->timer_armed = true;
		uv_timer_start(&sp->timer, spool_timer_cb, sp->sync_ms, 0);
	}
}

/* Create segment no as the newest (write) segment.  Returns 0 or -1. */
static int
spool_seg_create(struct spool *sp, uint64_t no)
{
	char	path[4096];
	int	fd;

	spool_seg_path(sp, no, path, sizeof path);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		log_warn("spool: create %s", path);
		return -1;
	}
	if (sp->nsegs == sp->capsegs) {
		sp->capsegs = sp->capsegs ? sp->capsegs * 2 : 16;
		sp->segs = xreallocarray(sp->segs, sp->capsegs, sizeof *sp->segs);
	}
	memset(&sp->segs[sp->nsegs], 0, sizeof sp->segs[0]);
	sp->segs[sp->nsegs++].no = no;
	sp->wfd = fd;
	sp->dir_dirty = true;
	return 0;
}

/* Start a new write segment; the old one is flushed on the thread pool. */
static int
spool_rotate(struct spool *sp)
{
	uint64_t	no = sp->segs[sp->nsegs - 1].no + 1;
	int		old = sp->wfd;

	sp->wfd = -1;
	if (spool_seg_create(sp, no) == -1) {
		sp->wfd = old;
		return -1;
	}
	if (old != -1)
		spool_flush_async(sp, old);
	spool_mark_dirty(sp);
	return 0;
}

static void
spool_cache_clear(struct spool *sp)
{
	size_t	i;

	for (i = sp->cache_first; i < sp->ncache; i++)
		free(sp->cache[i].raw);
	sp->ncache = sp->cache_first = 0;
	sp->cache_bytes = 0;
}

/*
 * Open (creating it if needed) the spool in dir and recover it: damaged
 * tails cut and counted, everything unacknowledged queued to be sent again
 * in order.  Returns the spool or NULL (logged).
 */
struct spool *
spool_open(uv_loop_t *loop, const char *dir, uint64_t max_bytes,
    uint64_t sync_interval_ns)
{
	struct spool	*sp;
	struct spool_pos head = { 0, 0 };
	bool		 head_ok = false;
	size_t		 i;

	sp = xcalloc(1, sizeof *sp);
	sp->loop = loop;
	sp->dir = xstrdup(dir);
	sp->max_bytes = max_bytes;
	sp->seg_max = max_bytes / 16;
	if (sp->seg_max < SPOOL_SEG_MIN)
		sp->seg_max = SPOOL_SEG_MIN;
	if (sp->seg_max > SPOOL_SEG_MAX)
		sp->seg_max = SPOOL_SEG_MAX;
	sp->sync_ms = sync_interval_ns / 1000000;
	sp->wfd = sp->rfd = sp->lockfd = -1;
	sp->rl.interval_s = 10;
	sp->rl.burst = 5;
	if (spool_mkdirs(dir) == -1 || spool_lock(sp) == -1 ||
	    spool_scan(sp) == -1)
		goto fail;
	spool_read_head(sp, &head);
	for (i = 0; i < sp->nsegs; i++) {
		if (spool_recover_seg(sp, &sp->segs[i], sp->segs[i].no ==
		    head.segno ? head.off : UINT64_MAX, &head_ok) == -1)
			goto fail;
		sp->bytes += sp->segs[i].size;
		sp->info.records += sp->segs[i].records;
	}
	/* What was acknowledged before the last stop is not sent again:
	 * older segments go, and the head segment starts at the head. */
	if (head_ok) {
		while (sp->nsegs > 0 && sp->segs[0].no < head.segno) {
			sp->info.records -= sp->segs[0].records;
			spool_remove_seg_at(sp, 0);
		}
		sp->info.records -= sp->segs[0].released;
	} else {
		head.segno = 0;
		for (i = 0; i < sp->nsegs; i++)
			sp->segs[i].released = 0;
	}
	/* Empty segments other than the newest carry nothing. */
	for (i = 0; i + 1 < sp->nsegs; ) {
		if (sp->segs[i].size == 0)
			spool_remove_seg_at(sp, i);
		else
			i++;
	}
	if (sp->nsegs > 0 && sp->segs[sp->nsegs - 1].size < sp->seg_max) {
		char	path[4096];

		spool_seg_path(sp, sp->segs[sp->nsegs - 1].no, path, sizeof path);
		sp->wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (sp->wfd == -1) {
			log_warn("spool: %s", path);
			goto fail;
		}
	} else if (spool_seg_create(sp, sp->nsegs > 0 ?
	    sp->segs[sp->nsegs - 1].no + 1 : 1) == -1)
		goto fail;
	if (head_ok && sp->segs[0].no == head.segno)
		sp->head = spool_norm(sp, head);
	else {
		sp->head.segno = sp->segs[0].no;
		sp->head.off = 0;
	}
	sp->cursor = sp->head;
	if (uv_timer_init(loop, &sp->timer) != 0)
		goto fail;
	sp->timer.data = sp;
	if (sp->info.records > 0 || sp->info.cut_frames > 0)
		log_info("spool: %s: %" PRIu64 " unacknowledged records in %zu "
		    "segments (%" PRIu64 " bytes) to send again; %" PRIu64
		    " damaged frames cut", dir, sp->info.records, sp->nsegs,
		    sp->bytes, sp->info.cut_frames);
	return sp;
fail:
	if (sp->wfd != -1)
		close(sp->wfd);
	if (sp->lockfd != -1)
		close(sp->lockfd);
	free(sp->segs);
	free(sp->dir);
	free(sp);
	return NULL;
}

/*
 * Delete the oldest segment holding nothing in flight.  Returns the number
 * of records lost, or -1 if every segment holds frames in flight.
 */
static int64_t
spool_drop_oldest(struct spool *sp)
{
	struct spool_pos head = spool_norm(sp, sp->head);
	struct spool_pos cur = spool_norm(sp, sp->cursor);
	struct spool_seg seg;
	size_t		 i;
	uint64_t	 lost;
	bool		 was_head = false;

	if (spool_pos_eq(head, cur)) {
		i = spool_seg_index(sp, cur.segno);
		was_head = true;
	} else
		i = spool_seg_index(sp, cur.segno) + 1;
	if (i >= sp->nsegs)
		return -1;
	seg = sp->segs[i];
	/* The newest segment may hold only the frames being appended now:
	 * nothing to gain from dropping an empty one. */
	if (seg.size == 0)
		return -1;
	lost = seg.records - (was_head ? seg.released : 0);
	if (log_ratelimit_ok(&sp->rl))
		log_warnx("spool: full (%" PRIu64 " of %" PRIu64 " bytes): "
		    "dropped segment %" PRIu64 " with %" PRIu64 " records "
		    "(sequence %" PRIu64 "..%" PRIu64 ")", sp->bytes,
		    sp->max_bytes, seg.no, lost, seg.first_seq, seg.last_seq);
	spool_cache_clear(sp);
	if (i == sp->nsegs - 1) {
		close(sp->wfd);
		sp->wfd = -1;
		spool_remove_seg_at(sp, i);
		if (spool_seg_create(sp, seg.no + 1) == -1)
			return -1;
	} else
		spool_remove_seg_at(sp, i);
	if (was_head) {
		sp->head = spool_norm(sp, (struct spool_pos){ seg.no, seg.size });
		sp->cursor = sp->head;
		sp->head_dirty = true;
		spool_arm(sp);
	}
	sp->info.dropped += lost;
	sp->info.records -= lost;
	return (int64_t)lost;
}

/* Write all of buf to fd.  Returns 0 or -1 with errno. */
static int
spool_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Append one message (raw, the exact Kafka payload) with its sequence
 * number; record_start is false for the second and later parts of a split
 * record.  Older records dropped to make room are added to *dropped.
 * Returns 0, or -1 if the message could not be stored: then it counts as
 * dropped too (in *dropped) and is logged.
 */
int
spool_append(struct spool *sp, const void *raw, size_t len, uint64_t seq,
    bool record_start, uint64_t *dropped)
{
	struct spool_seg	*w;
	struct spool_pos	 start;
	size_t			 flen = 0;
	int64_t			 lost;

	if (zframe_encode(raw, len, SPOOL_ZLEVEL, &sp->frame, &flen,
	    &sp->framecap) == -1)
		goto lose;
	while (sp->bytes + flen > sp->max_bytes) {
		if ((lost = spool_drop_oldest(sp)) == -1) {
			log_warnx("spool: full and everything in flight: "
			    "record %" PRIu64 " dropped", seq);
			goto lose;
		}
		*dropped += (uint64_t)lost;
	}
	if (sp->wfd == -1)
		goto lose;
	w = &sp->segs[sp->nsegs - 1];
	if (record_start && w->size > 0 && w->size + flen > sp->seg_max) {
		if (spool_rotate(sp) == -1)
			goto lose;
		w = &sp->segs[sp->nsegs - 1];
	}
	start.segno = w->no;
	start.off = w->size;
	if (spool_write_all(sp->wfd, sp->frame, flen) == -1) {
		log_warn("spool: append to segment %" PRIu64, w->no);
		/* Leave no torn frame behind a good one. */
		if (ftruncate(sp->wfd, (off_t)w->size) == -1)
			log_warn("spool: truncate segment %" PRIu64, w->no);
		goto lose;
	}
	if (w->size == 0)
		w->first_seq = seq;
	w->size += flen;
	w->last_seq = seq;
	sp->bytes += flen;
	if (record_start) {
		w->records++;
		sp->info.records++;
	}
	sp->info.has_last_seq = true;
	sp->info.last_seq = seq;
	spool_mark_dirty(sp);

	/* Keep a decoded copy if the sender is waiting right here. */
	if (sp->cache_bytes + len <= SPOOL_CACHE_MAX) {
		struct spool_pos want = sp->ncache > sp->cache_first ?
		    spool_norm(sp, sp->cache[sp->ncache - 1].end) :
		    spool_norm(sp, sp->cursor);

		if (spool_pos_eq(want, start)) {
			struct spool_cached	*c;

			if (sp->cache_first > 0 && sp->cache_first == sp->ncache)
				sp->ncache = sp->cache_first = 0;
			if (sp->ncache == sp->capcache) {
				sp->capcache = sp->capcache ? sp->capcache * 2 : 64;
				sp->cache = xreallocarray(sp->cache,
				    sp->capcache, sizeof *sp->cache);
			}
			c = &sp->cache[sp->ncache++];
			c->start = start;
			c->end.segno = start.segno;
			c->end.off = start.off + flen;
			c->raw = xmalloc(len ? len : 1);
			memcpy(c->raw, raw, len);
			c->rawlen = len;
			c->disklen = (uint32_t)flen;
			c->seq = seq;
			c->record_start = record_start;
			sp->cache_bytes += len;
		}
	}
	return 0;
lose:
	(*dropped)++;
	sp->info.dropped++;
	return -1;
}

/*
 * The next frame to send, without moving the cursor (spool_advance does).
 * Returns 1 with *f filled (f->raw is the caller's to free), 0 if nothing
 * waits, -1 on a read error (logged; the damaged rest of that segment is
 * skipped and counted, try again).
 */
int
spool_peek(struct spool *sp, struct spool_frame *f)
{
	struct spool_pos	 cur;
	struct spool_seg	*seg;
	enum zframe_status	 zs;
	size_t			 i, disklen;
	uint8_t			*raw = NULL;
	size_t			 rawlen;

	cur = sp->cursor = spool_norm(sp, sp->cursor);
	/* Cached frames behind the cursor are stale. */
	while (sp->cache_first < sp->ncache) {
		struct spool_cached *c = &sp->cache[sp->cache_first];

		if (c->start.segno > cur.segno || (c->start.segno == cur.segno &&
		    c->start.off >= cur.off))
			break;
		free(c->raw);
		sp->cache_bytes -= c->rawlen;
		sp->cache_first++;
	}
	if (sp->cache_first < sp->ncache) {
		struct spool_cached *c = &sp->cache[sp->cache_first];

		if (spool_pos_eq(c->start, cur) && c->raw != NULL) {
			f->raw = c->raw;
			f->rawlen = c->rawlen;
			f->start = c->start;
			f->end = c->end;
			f->disklen = c->disklen;
			f->seq = c->seq;
			f->record_start = c->record_start;
			c->raw = NULL;
			return 1;
		}
	}
	i = spool_seg_index(sp, cur.segno);
	if (i == sp->nsegs)
		return 0;
	seg = &sp->segs[i];
	if (cur.off >= seg->size)
		return 0;
	if (sp->rfd == -1 || sp->rfd_segno != seg->no) {
		char	path[4096];

		if (sp->rfd != -1)
			close(sp->rfd);
		spool_seg_path(sp, seg->no, path, sizeof path);
		sp->rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (sp->rfd == -1) {
			/* Gone or unreadable: count it and go on, the sender
			 * must not spin on it. */
			log_warn("spool: %s: skipping the rest of the segment",
			    path);
			goto skip;
		}
		sp->rfd_segno = seg->no;
	}
	zs = spool_read_frame(sp, sp->rfd, cur.off, seg->size, &raw, &rawlen,
	    &disklen);
	if (zs == ZFRAME_OK && spool_peek_env(raw, rawlen, &f->seq,
	    &f->record_start) == -1)
		zs = ZFRAME_BAD_PAYLOAD;
	if (zs != ZFRAME_OK) {
		free(raw);
		log_warnx("spool: segment %" PRIu64 " offset %" PRIu64
		    ": %s; skipping the rest of the segment", seg->no, cur.off,
		    zframe_status_name(zs));
skip:
		sp->info.cut_frames++;
		sp->info.cut_bytes += seg->size - cur.off;
		if (i + 1 < sp->nsegs) {
			sp->cursor.segno = sp->segs[i + 1].no;
			sp->cursor.off = 0;
		} else
			sp->cursor.off = seg->size;
		return -1;
	}
	f->raw = raw;
	f->rawlen = rawlen;
	f->start = cur;
	f->end.segno = cur.segno;
	f->end.off = cur.off + disklen;
	f->disklen = (uint32_t)disklen;
	return 1;
}

/* The sender took f: move the cursor past it. */
void
spool_advance(struct spool *sp, const struct spool_frame *f)
{
	sp->cursor = f->end;
	if (sp->cache_first < sp->ncache &&
	    spool_pos_eq(sp->cache[sp->cache_first].start, f->start)) {
		free(sp->cache[sp->cache_first].raw);
		sp->cache_bytes -= sp->cache[sp->cache_first].rawlen;
		sp->cache_first++;
	}
}

/*
 * Release everything up to end (the end of a frame Kafka acknowledged, in
 * order).  record_start: that frame began a record.  Segments wholly
 * released are deleted, except the newest (it keeps the last sequence
 * number on disk for the next start).
 */
void
spool_release(struct spool *sp, struct spool_pos end, bool record_start)
{
	size_t	i = spool_seg_index(sp, end.segno);

	if (i == sp->nsegs)
		return;		/* dropped meanwhile (cannot happen in flight) */
	if (record_start) {
		sp->segs[i].released++;
		if (sp->info.records > 0)
			sp->info.records--;
	}
	sp->head = end;
	sp->head_dirty = true;
	spool_arm(sp);
	while (sp->nsegs > 1) {
		struct spool_pos h = spool_norm(sp, sp->head);

		if (h.segno == sp->segs[0].no)
			break;
		spool_remove_seg_at(sp, 0);
	}
}

/* Forget what is in flight: send again from the oldest unreleased frame. */
void
spool_rewind(struct spool *sp)
{
	sp->cursor = sp->head;
	spool_cache_clear(sp);
}

void
spool_get_info(const struct spool *sp, struct spool_info *info)
{
	*info = sp->info;
	info->bytes = sp->bytes;
	info->segments = sp->nsegs;
}

/* Disk bytes the sender may keep in flight: the rest stays droppable. */
uint64_t
spool_max_inflight(const struct spool *sp)
{
	return sp->max_bytes / 4;
}

static void
spool_free_cb(uv_handle_t *h)
{
	struct spool	*sp = h->data;

	spool_cache_clear(sp);
	free(sp->cache);
	free(sp->frame);
	free(sp->segs);
	free(sp->dir);
	free(sp);
}

/*
 * Flush everything to disk now (blocking: for shutdown) and free the spool
 * once the loop has closed its timer.
 */
void
spool_close(struct spool *sp)
{
	int	dfd;

	uv_timer_stop(&sp->timer);
	if (sp->head_dirty) {
		struct spool_job	job;
		struct spool_pos	h = spool_norm(sp, sp->head);

		memset(&job, 0, sizeof job);
		job.fd = job.dfd = -1;
		job.dir = sp->dir;
		job.tmpno = sp->head_writes++;
		snprintf(job.head, sizeof job.head, "%" PRIu64 " %" PRIu64 "\n",
		    h.segno, h.off);
		job.work.data = &job;
		spool_job_work(&job.work);
		sp->head_dirty = false;
	}
	if (sp->wfd != -1) {
		if (fdatasync(sp->wfd) == -1)
			log_warn("spool: fdatasync");
		close(sp->wfd);
		sp->wfd = -1;
	}
	if ((dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (sp->rfd != -1)
		close(sp->rfd);
	if (sp->lockfd != -1)
		close(sp->lockfd);
	uv_close((uv_handle_t *)&sp->timer, spool_free_cb);
}
