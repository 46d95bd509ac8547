/*
 * seq.c: the host's record sequence number, monotonic across restarts.
 *
 * Every record carries (host id, sequence).  The collector keys its
 * idempotent writes on that pair and counts gaps, so a number must never be
 * used twice for two different records, and a restart must not skip numbers
 * (a gap reads as a loss).
 *
 * The state file STATE_DIR/seq holds one line:
 *
 *	tallyman-seq 1 limit=L next=N boot=BOOT_ID epoch=E
 *
 * E is the sequence's epoch (the envelope's "e"): chosen at random when
 * the state is made, so a sequence that starts again at 1 because the
 * state was lost (a package purged and installed again) is not taken for
 * replays of the old one.  A file without it (made by an older agent)
 * keeps epoch 0: the sequence it continues is the same.
 *
 * L is a durable reservation: every number handed out is below L, and L is
 * written with fsync+rename before a number at or above the old L is used,
 * so even a power loss cannot make us reuse a number.  Reservations are
 * made SEQ_BLOCK numbers ahead, on the thread pool, so the loop rarely
 * waits for a disk flush.
 *
 * Where to restart:
 *  - same boot (kill -9, crash, restart): the page cache survived, so the
 *    spool's newest frame is the last number used (every record is appended
 *    to the spool before anything else sees it): continue right after it.
 *  - clean shutdown (N > 0, written last with fsync): continue at N.
 *  - otherwise (power loss, reboot after a crash): continue at L.  Numbers
 *    between the last record that survived and L are a real possible loss
 *    and the collector is right to see the gap.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

#define SEQ_BLOCK	8192u
#define SEQ_FILE	"seq"
#define SEQ_BOOT_PATH	"/proc/sys/kernel/random/boot_id"

struct seq {
	uv_loop_t	*loop;
	char		*dir;		/* NULL: memory only */
	char		 boot[64];
	uint64_t	 epoch;		/* 0: none (state from an older agent) */
	uint64_t	 next;		/* next number to hand out */
	uv_mutex_t	 lock;		/* guards durable and the file */
	uint64_t	 durable;	/* limit on disk */
	bool		 pending;	/* a reservation job is queued */
	uv_work_t	 work;
	uint64_t	 work_target;
	int		 work_result;
	bool		 closing;
};

/* Read the boot id into out (empty string if unknown). */
static void
seq_read_boot(char *out, size_t outlen)
{
	FILE	*fp;
	size_t	 n;

	out[0] = '\0';
	if ((fp = fopen(SEQ_BOOT_PATH, "re")) == NULL)
		return;
	if (fgets(out, (int)outlen, fp) == NULL)
		out[0] = '\0';
	fclose(fp);
	n = strcspn(out, " \t\r\n");
	out[n] = '\0';
}

/*
 * Write the state file durably: temp file, fsync, rename, fsync of the
 * folder.  next = 0 means "not a clean shutdown".  Returns 0 or -1 (logged).
 * Runs on the loop or on the thread pool; the caller holds sq->lock.
 */
static int
seq_write(struct seq *sq, uint64_t limit, uint64_t next)
{
	char	 tmp[4096], path[4096], line[256];
	int	 fd, dfd, len;

	snprintf(path, sizeof path, "%s/%s", sq->dir, SEQ_FILE);
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", sq->dir, SEQ_FILE);
	len = snprintf(line, sizeof line,
	    "tallyman-seq 1 limit=%" PRIu64 " next=%" PRIu64 " boot=%s epoch=%"
	    PRIu64 "\n", limit, next, sq->boot[0] != '\0' ? sq->boot : "-",
	    sq->epoch);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		log_warn("seq: %s", tmp);
		return -1;
	}
	if (write(fd, line, (size_t)len) != len || fsync(fd) == -1) {
		log_warn("seq: write %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("seq: rename %s", path);
		unlink(tmp);
		return -1;
	}
	if ((dfd = open(sq->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* A new epoch: random, not 0, below 2^62 (any JSON or SQL reader keeps it). */
static uint64_t
seq_new_epoch(void)
{
	uint64_t e = 0;

	while (e == 0) {
		if (getrandom(&e, sizeof e, 0) != (ssize_t)sizeof e)
			e = now_ns() ^ ((uint64_t)getpid() << 32);
		e &= (1ULL << 62) - 1;
	}
	return e;
}

/*
 * Parse the state file.  Returns 0 with *limit, *clean_next, boot and
 * *epoch (0 when the file has none) filled, 1 if there is no file, -1 if
 * it is unreadable or malformed (logged).
 */
static int
seq_read(struct seq *sq, uint64_t *limit, uint64_t *clean_next, char *boot,
    size_t bootlen, uint64_t *epoch)
{
	char	 path[4096], line[256], b[64];
	FILE	*fp;
	int	 fd, n;

	snprintf(path, sizeof path, "%s/%s", sq->dir, SEQ_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		if (errno == ENOENT)
			return 1;
		log_warn("seq: %s", path);
		return -1;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	*epoch = 0;
	if (fgets(line, sizeof line, fp) == NULL ||
	    (n = sscanf(line, "tallyman-seq 1 limit=%" SCNu64 " next=%" SCNu64
	    " boot=%63s epoch=%" SCNu64, limit, clean_next, b, epoch)) < 3) {
		log_warnx("seq: %s: malformed, ignored", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (n == 3)
		*epoch = 0;
	snprintf(boot, bootlen, "%s", b);
	return 0;
}

/* Thread pool: make target durable unless a larger limit already is. */
static void
seq_work(uv_work_t *req)
{
	struct seq	*sq = req->data;

	uv_mutex_lock(&sq->lock);
	sq->work_result = 0;
	if (sq->work_target > sq->durable) {
		if (seq_write(sq, sq->work_target, 0) == 0)
			sq->durable = sq->work_target;
		else
			sq->work_result = -1;
	}
	uv_mutex_unlock(&sq->lock);
}

static void
seq_after_work(uv_work_t *req, int status)
{
	struct seq	*sq = req->data;

	sq->pending = false;
	if (status != 0 || sq->work_result == -1)
		log_warnx("seq: reservation ahead failed; will retry in line");
}

/*
 * Open the sequence in dir (NULL: memory only, numbers restart at 1).
 * spool_last is the newest sequence number found in the spool, valid when
 * have_spool_last.  Returns the sequence, or NULL if the state cannot be
 * written (logged): handing out numbers that may repeat is worse than not
 * starting.
 */
struct seq *
seq_open(uv_loop_t *loop, const char *dir, bool have_spool_last,
    uint64_t spool_last)
{
	struct seq	*sq;
	uint64_t	 limit = 0, clean_next = 0, next = 1;
	char		 boot[64] = "";
	int		 r;

	sq = xcalloc(1, sizeof *sq);
	sq->loop = loop;
	if (uv_mutex_init(&sq->lock) != 0)
		fatalx("seq: mutex");
	seq_read_boot(sq->boot, sizeof sq->boot);
	if (dir == NULL) {
		sq->epoch = seq_new_epoch();
		sq->next = 1;
		sq->durable = UINT64_MAX;
		return sq;
	}
	sq->dir = xstrdup(dir);
	r = seq_read(sq, &limit, &clean_next, boot, sizeof boot, &sq->epoch);
	if (r == 0) {
		bool	same_boot = sq->boot[0] != '\0' &&
			    strcmp(boot, sq->boot) == 0;

		if (have_spool_last && same_boot)
			next = spool_last + 1;
		else if (clean_next > 0)
			next = clean_next;
		else
			next = limit;
		if (clean_next > next)
			next = clean_next;
		/* Never go below what the spool proves was used. */
		if (have_spool_last && next <= spool_last)
			next = spool_last + 1;
		if (next == 0)
			next = 1;
		log_info("seq: continuing at %" PRIu64 " (%s)", next,
		    have_spool_last && same_boot ? "after the spool's newest record" :
		    clean_next > 0 ? "after a clean shutdown" :
		    "at the durable reservation: records after the last synced one may be lost");
	} else if (r == 1) {
		next = have_spool_last ? spool_last + 1 : 1;
		/* A spool without the file: the epoch is lost with it, so a
		 * new one, even if the spool's records go out first. */
		sq->epoch = seq_new_epoch();
		log_info("seq: new sequence, epoch %" PRIu64 ", starting at %"
		    PRIu64, sq->epoch, next);
	} else {
		/* Unreadable: continue above anything the spool holds, with a
		 * generous skip, rather than risk reuse; a new epoch. */
		next = (have_spool_last ? spool_last + 1 : 1) + SEQ_BLOCK;
		sq->epoch = seq_new_epoch();
		log_warnx("seq: state unreadable, continuing at %" PRIu64
		    " under a new epoch %" PRIu64, next, sq->epoch);
	}
	sq->next = next;
	uv_mutex_lock(&sq->lock);
	r = seq_write(sq, next + SEQ_BLOCK, 0);
	if (r == 0)
		sq->durable = next + SEQ_BLOCK;
	uv_mutex_unlock(&sq->lock);
	if (r == -1) {
		log_warnx("seq: cannot persist the sequence in %s", dir);
		uv_mutex_destroy(&sq->lock);
		free(sq->dir);
		free(sq);
		return NULL;
	}
	return sq;
}

/*
 * Hand out the next number.  Reserves the next block on the thread pool
 * when half of the current one is used; blocks on a synchronous write only
 * if the reservation could not keep up.  Returns 0 or -1 (state not
 * writable: the record must not be sent with a number that could repeat).
 */
int
seq_next(struct seq *sq, uint64_t *out)
{
	uint64_t	durable;

	uv_mutex_lock(&sq->lock);
	durable = sq->durable;
	if (sq->next >= durable) {
		if (seq_write(sq, sq->next + SEQ_BLOCK, 0) == -1) {
			uv_mutex_unlock(&sq->lock);
			return -1;
		}
		sq->durable = durable = sq->next + SEQ_BLOCK;
	}
	uv_mutex_unlock(&sq->lock);
	*out = sq->next++;
	if (sq->dir != NULL && !sq->pending && !sq->closing &&
	    durable - sq->next < SEQ_BLOCK / 2) {
		sq->pending = true;
		sq->work.data = sq;
		sq->work_target = durable + SEQ_BLOCK;
		if (uv_queue_work(sq->loop, &sq->work, seq_work,
		    seq_after_work) != 0)
			sq->pending = false;
	}
	return 0;
}

/* Give back the number just handed out (nothing used it).  Returns 0 or -1. */
int
seq_unget(struct seq *sq, uint64_t n)
{
	if (n + 1 != sq->next)
		return -1;
	sq->next = n;
	return 0;
}

/* The number the next record will get. */
uint64_t
seq_peek(const struct seq *sq)
{
	return sq->next;
}

/* The sequence's epoch (the envelope's "e"; 0: none). */
uint64_t
seq_epoch(const struct seq *sq)
{
	return sq->epoch;
}

/*
 * Close.  clean: every record up to the last one handed out is durable in
 * the spool (or was never meant to be), so record it as the clean restart
 * point.  Waits for a queued reservation (the loop must still run it, so a
 * pending job makes this return 1: call again from a later loop turn).
 * Returns 0 when freed, 1 when it must be called again.
 */
int
seq_close(struct seq *sq, bool clean)
{
	sq->closing = true;
	if (sq->pending)
		return 1;
	if (sq->dir != NULL) {
		uv_mutex_lock(&sq->lock);
		if (seq_write(sq, sq->durable, clean ? sq->next : 0) == -1)
			log_warnx("seq: clean shutdown not recorded");
		uv_mutex_unlock(&sq->lock);
	}
	uv_mutex_destroy(&sq->lock);
	free(sq->dir);
	free(sq);
	return 0;
}
