/*
 * fuzz-spool.c: the spool's own reading of its folder (agent/spool.c) on
 * damaged segments and head files: start-up recovery (spool_recover_seg,
 * spool_read_frame, spool_peek_env, spool_read_head) and the sender's reads
 * (spool_peek).  fuzz-zframe covers the frame codec alone; this is the code
 * around it, that decides what is cut, what is sent again and from where.
 *
 * A folder is made from the input, in /dev/shm (else TMPDIR or /tmp):
 *   byte 0: flags; bit 0: the first fuzz_next chunk is DIR/head; bit 1:
 *           frame mode (below); bit 2: release what is read
 *   raw mode: every chunk is one segment file, the bytes as they are;
 *   frame mode: every chunk is [op][payload...]: the payload is framed with
 *           zframe_encode and appended to the current segment; op bit 0
 *           starts a new segment first, bit 1 flips the frame's byte at
 *           op >> 2, bit 2 with bit 1 cuts the frame there instead.
 * Segment numbers go 1, 2, 3... (frame mode, or raw mode without gaps).
 *
 * Properties:
 *   - spool_open succeeds on any content (damage is cut, never fatal);
 *   - after recovery every frame reads back: spool_peek never fails, each
 *     frame ends after it starts and holds an envelope of at most
 *     TM_MSG_MAX bytes; the record starts read equal the records the spool
 *     counted as unacknowledged, and releasing them all leaves none;
 *   - a record appended after that comes back next, byte for byte, and a
 *     reopened spool knows its sequence number as the newest on disk.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include <msgpack.h>

#include "agent/agent.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_SPOOL_MAX		(4u * 1024 * 1024)
#define FUZZ_SPOOL_STEPS	100000

static uv_loop_t	 fuzz_loop;
static char		 fuzz_dir[256];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void	fuzz_spool_clean(void);

/* At exit: the folder goes (libFuzzer and the replay end with exit()). */
static void
fuzz_spool_rmdir(void)
{
	fuzz_spool_clean();
	(void)rmdir(fuzz_dir);
}

static void
fuzz_spool_setup(void)
{
	const char	*base = "/dev/shm";
	struct stat	 st;

	if (fuzz_dir[0] != '\0')
		return;
	if (stat(base, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    access(base, W_OK) == -1)
		base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/tm-fuzz-spool-%ld", base,
	    (long)getpid());
	if (mkdir(fuzz_dir, 0700) == -1 && errno != EEXIST)
		fuzz_fail("mkdir %s: %s", fuzz_dir, strerror(errno));
	if (uv_loop_init(&fuzz_loop) != 0)
		fuzz_fail("uv_loop_init");
	atexit(fuzz_spool_rmdir);
}

/* Empty the folder (the spool keeps no sub-folders). */
static void
fuzz_spool_clean(void)
{
	DIR		*d = opendir(fuzz_dir);
	struct dirent	*de;
	char		 path[512];

	if (d == NULL)
		fuzz_fail("opendir %s: %s", fuzz_dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", fuzz_dir, de->d_name);
		if (unlink(path) == -1)
			fuzz_fail("unlink %s: %s", path, strerror(errno));
	}
	closedir(d);
}

static void
fuzz_spool_write(const char *name, const void *p, size_t len, bool append)
{
	char	path[512];
	int	fd;

	snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
	    (append ? O_APPEND : O_TRUNC), 0600);
	if (fd == -1 || (len > 0 && write(fd, p, len) != (ssize_t)len))
		fuzz_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

static void
fuzz_spool_seg_name(uint64_t no, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64 ".seg", no);
}

/* Frame mode: each chunk's payload framed, damaged as its op says. */
static void
fuzz_spool_frames(struct fuzz_cursor *c)
{
	const uint8_t	*chunk;
	uint8_t		*out = NULL;
	size_t		 len, outlen, outcap = 0, at;
	uint64_t	 segno = 1;
	char		 name[64];
	uint8_t		 op;

	fuzz_spool_seg_name(segno, name, sizeof name);
	fuzz_spool_write(name, NULL, 0, false);
	while (fuzz_next(c, &chunk, &len)) {
		if (len == 0)
			continue;
		op = chunk[0];
		if (op & 1) {
			fuzz_spool_seg_name(++segno, name, sizeof name);
			fuzz_spool_write(name, NULL, 0, false);
		}
		outlen = 0;
		if (zframe_encode(chunk + 1, len - 1, 1, &out, &outlen,
		    &outcap) == -1)
			fuzz_fail("zframe_encode refused %zu bytes", len - 1);
		if (op & 2) {
			at = (size_t)(op >> 3) % outlen;
			if (op & 4)
				outlen = at;
			else
				out[at] ^= 0x5a;
		}
		fuzz_spool_write(name, out, outlen, true);
	}
	free(out);
}

/* An envelope as the spool sees it: "s" and a little padding. */
static void
fuzz_spool_msg(msgpack_sbuffer *sb, uint64_t seq)
{
	msgpack_packer	pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "s", 1);
	msgpack_pack_uint64(&pk, seq);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_str_with_body(&pk, "fuzz", 4);
}

static bool
fuzz_spool_pos_lt(struct spool_pos a, struct spool_pos b)
{
	return a.segno < b.segno || (a.segno == b.segno && a.off < b.off);
}

static void
fuzz_spool_close(struct spool *sp)
{
	spool_close(sp);
	uv_run(&fuzz_loop, UV_RUN_DEFAULT);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cursor	 c;
	struct spool		*sp;
	struct spool_info	 si;
	struct spool_frame	 f;
	msgpack_sbuffer		 sb;
	const uint8_t		*chunk;
	size_t			 len, steps = 0;
	uint64_t		 starts = 0, segno = 1, next_seq, dropped;
	char			 name[64];
	uint8_t			 flags;
	int			 rc;

	if (size < 1)
		return 0;
	fuzz_spool_setup();
	fuzz_spool_clean();
	flags = data[0];
	c.p = data + 1;
	c.left = size - 1;
	if ((flags & 1) && fuzz_next(&c, &chunk, &len))
		fuzz_spool_write("head", chunk, len, false);
	if (flags & 2)
		fuzz_spool_frames(&c);
	else
		while (fuzz_next(&c, &chunk, &len)) {
			fuzz_spool_seg_name(segno++, name, sizeof name);
			fuzz_spool_write(name, chunk, len, false);
		}

	sp = spool_open(&fuzz_loop, fuzz_dir, FUZZ_SPOOL_MAX, 1000000);
	if (sp == NULL)
		fuzz_fail("spool_open failed on a writable folder");
	spool_get_info(sp, &si);
	next_seq = si.has_last_seq ? si.last_seq + 1 : 1;
	while ((rc = spool_peek(sp, &f)) != 0) {
		if (rc == -1)
			fuzz_fail("a frame recovery kept does not read back");
		if (++steps > FUZZ_SPOOL_STEPS)
			fuzz_fail("more than %d frames from a small input",
			    FUZZ_SPOOL_STEPS);
		if (f.rawlen > TM_MSG_MAX || f.raw == NULL)
			fuzz_fail("frame of %zu bytes", f.rawlen);
		if (!fuzz_spool_pos_lt(f.start, f.end))
			fuzz_fail("frame ends before it starts");
		if (f.record_start)
			starts++;
		spool_advance(sp, &f);
		if (flags & 4)
			spool_release(sp, f.end, f.record_start);
		free(f.raw);
	}
	if (starts != si.records)
		fuzz_fail("read %" PRIu64 " record starts, spool counted %"
		    PRIu64, starts, si.records);
	if (flags & 4) {
		spool_get_info(sp, &si);
		if (si.records != 0)
			fuzz_fail("%" PRIu64 " records left after releasing all",
			    si.records);
	}

	/* What is appended now comes next, and is the newest on reopening. */
	msgpack_sbuffer_init(&sb);
	fuzz_spool_msg(&sb, next_seq);
	if (spool_append(sp, sb.data, sb.size, next_seq, true, &dropped) == -1)
		fuzz_fail("spool_append failed");
	if (spool_peek(sp, &f) != 1)
		fuzz_fail("the record just appended does not come back");
	if (f.rawlen != sb.size || memcmp(f.raw, sb.data, sb.size) != 0 ||
	    f.seq != next_seq || !f.record_start)
		fuzz_fail("the record just appended came back changed");
	spool_advance(sp, &f);
	free(f.raw);
	msgpack_sbuffer_destroy(&sb);
	fuzz_spool_close(sp);

	sp = spool_open(&fuzz_loop, fuzz_dir, FUZZ_SPOOL_MAX, 1000000);
	if (sp == NULL)
		fuzz_fail("spool_open failed on the folder it wrote");
	spool_get_info(sp, &si);
	if (!si.has_last_seq || si.last_seq != next_seq)
		fuzz_fail("reopened: newest sequence %" PRIu64 " (%d), appended %"
		    PRIu64, si.last_seq, (int)si.has_last_seq, next_seq);
	fuzz_spool_close(sp);
	return 0;
}
