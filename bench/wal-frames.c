/*
 * wal-frames.c: what writing a commit's WAL frames costs on this machine,
 * the way SQLite 3.40 writes them (two pwrites per frame: its 24-byte
 * header, then the 4 KiB page) against writes of 120 KiB, as the store's
 * VFS makes them (collector/store-sqlite-vfs.c; SQLite's unix VFS takes
 * at most 128 KiB - 1 per write).  bench/RESULTS.md, collector ingest.
 *
 *   bench/wal-frames [DIR] [FRAMES] [COMMITS]
 *
 * DIR (default /tmp) holds a scratch file, removed at the end; FRAMES per
 * commit (default 1200: the store's average at 10 000 hosts), COMMITS
 * (default 50).  Prints microseconds per frame for each way, and their
 * ratio.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HDR	24
#define PAGE	4096
#define CHUNK	(120 * 1024)	/* store-sqlite-vfs.c's SQV_BUF_MAX */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
put(int fd, const void *p, size_t n, off_t off)
{
	if (pwrite(fd, p, n, off) != (ssize_t)n) {
		fprintf(stderr, "wal-frames: pwrite: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char	*dir = argc > 1 ? argv[1] : "/tmp";
	long		 frames = argc > 2 ? strtol(argv[2], NULL, 10) : 1200;
	long		 commits = argc > 3 ? strtol(argv[3], NULL, 10) : 50;
	char		 path[4096];
	unsigned char	*buf;
	double		 t, split, chunked;
	long		 c, i, total;
	int		 fd, rc = 1;

	if (frames < 1 || frames > 100000 || commits < 1 || commits > 100000) {
		fprintf(stderr, "usage: wal-frames [DIR] [FRAMES 1-100000] "
		    "[COMMITS 1-100000]\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/wal-frames-XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1) {
		fprintf(stderr, "wal-frames: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if ((buf = malloc((size_t)frames * (HDR + PAGE))) == NULL)
		goto out;
	for (i = 0; i < frames * (HDR + PAGE); i++)
		buf[i] = (unsigned char)(i * 131);
	t = now();
	for (c = 0; c < commits; c++)
		for (i = 0; i < frames; i++) {
			off_t off = (off_t)i * (HDR + PAGE);

			if (put(fd, buf + off, HDR, off) == -1 ||
			    put(fd, buf + off + HDR, PAGE, off + HDR) == -1)
				goto out;
		}
	split = (now() - t) / (double)(frames * commits) * 1e6;
	total = frames * (HDR + PAGE);
	t = now();
	for (c = 0; c < commits; c++)
		for (i = 0; i < total; i += CHUNK)
			if (put(fd, buf + i, (size_t)(total - i < CHUNK ?
			    total - i : CHUNK), (off_t)i) == -1)
				goto out;
	chunked = (now() - t) / (double)(frames * commits) * 1e6;
	printf("wal-frames: %ld commits of %ld frames of %d bytes\n", commits,
	    frames, HDR + PAGE);
	printf("wal-frames: two pwrites per frame: %.2f us per frame, "
	    "%.2f ms per commit\n", split, split * (double)frames / 1000);
	printf("wal-frames: pwrites of %d KiB: %.2f us per frame, "
	    "%.2f ms per commit\n", CHUNK / 1024, chunked,
	    chunked * (double)frames / 1000);
	printf("wal-frames: ratio %.1f\n", split / chunked);
	rc = 0;
out:
	free(buf);
	close(fd);
	unlink(path);
	return rc;
}
