/*
 * rpmdb-fixture.c: turn an rpm database made by Debian's rpm (sqlite
 * backend) into the other two on-disk forms, for the inventory tests.  The
 * header blobs are rpm's own, taken from the sqlite Packages table (hnum,
 * blob); only the container format around them is written here.
 *
 *   rpmdb-fixture dbload SQLITE   print db_load(1) input for a Berkeley DB
 *                                 hash "Packages": key = package number as a
 *                                 host-order u32, value = header blob; key 0
 *                                 holds the next free number, as rpm's BDB
 *                                 backend kept it
 *   rpmdb-fixture ndb-hostile - OUT  the same framing around hostile blobs
 *   rpmdb-fixture ndb SQLITE OUT  write an NDB Packages.db (the layout of
 *                                 rpm's lib/backend/ndb/rpmpkg.c: 32-byte
 *                                 header, 16-byte slots in 4 KiB slot pages,
 *                                 16-byte blocks, blobs framed by "BlbS"
 *                                 head and adler32 + "BlbE" tail)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define TM_NHOSTILE	6

struct blob {
	uint32_t	 hnum;
	unsigned char	*p;
	uint32_t	 len;
};

static struct blob *
load(const char *path, size_t *n)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	struct blob	*b = NULL;
	size_t		 cap = 0;

	*n = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum",
	    -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "rpmdb-fixture: %s: %s\n", path, sqlite3_errmsg(db));
		exit(1);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			b = realloc(b, cap * sizeof(*b));
		}
		b[*n].hnum = (uint32_t)sqlite3_column_int64(st, 0);
		b[*n].len = (uint32_t)sqlite3_column_bytes(st, 1);
		b[*n].p = malloc(b[*n].len);
		memcpy(b[*n].p, sqlite3_column_blob(st, 1), b[*n].len);
		(*n)++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return b;
}

/*
 * Correctly framed NDB blobs whose content is hostile for librpm: an index
 * count of 16 million, a data length past the blob, index entries pointing
 * outside the data, random bytes, an empty blob.
 */
static struct blob *
hostile(size_t *n)
{
	static const uint32_t heads[][4] = {	/* il, dl, then one entry */
		{ 0x00ffffff, 16, 0, 0 },
		{ 1, 0x7fffffff, 0, 0 },
		{ 1, 16, 1000, 6 },		/* tag 1000 (name), type 6 */
	};
	struct blob	*b;
	size_t		 i, k;
	uint32_t	 seed = 12345;

	*n = TM_NHOSTILE;
	b = calloc(*n, sizeof(*b));
	for (i = 0; i < *n; i++) {
		b[i].hnum = (uint32_t)i + 1;
		b[i].len = i == *n - 1 ? 0 : 96;
		b[i].p = calloc(1, 96);
		if (i < 3) {
			for (k = 0; k < 4; k++) {
				uint32_t v = heads[i][k];
				b[i].p[k * 4] = v >> 24;
				b[i].p[k * 4 + 1] = v >> 16;
				b[i].p[k * 4 + 2] = v >> 8;
				b[i].p[k * 4 + 3] = v;
			}
			if (i == 2) {	/* offset 0x7ffffff0, count 1 */
				b[i].p[16] = 0x7f; b[i].p[17] = 0xff;
				b[i].p[18] = 0xff; b[i].p[19] = 0xf0;
				b[i].p[23] = 1;
			}
		} else if (b[i].len > 0) {
			for (k = 0; k < b[i].len; k++) {
				seed = seed * 1103515245 + 12345;
				b[i].p[k] = seed >> 16;
			}
		}
	}
	return b;
}

static void
hexline(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	putchar(' ');
	for (i = 0; i < len; i++)
		printf("%02x", c[i]);
	putchar('\n');
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static void
unload(struct blob *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(b[i].p);
	free(b);
}

static uint32_t
adler32(uint32_t adler, const unsigned char *p, size_t n)
{
	uint32_t a = adler & 0xffff, b = adler >> 16;

	while (n-- > 0) {
		a = (a + *p++) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

int
main(int argc, char **argv)
{
	struct blob	*b;
	size_t		 n, i;
	uint32_t	 next = 1;

	if (argc == 3 && strcmp(argv[1], "dbload") == 0) {
		b = load(argv[2], &n);
		printf("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=4096\n"
		    "HEADER=END\n");
		for (i = 0; i < n; i++) {
			hexline(&b[i].hnum, 4);
			hexline(b[i].p, b[i].len);
			if (b[i].hnum >= next)
				next = b[i].hnum + 1;
		}
		i = 0;
		hexline(&i, 4);
		hexline(&next, 4);
		printf("DATA=END\n");
		unload(b, n);
		return 0;
	}
	if (argc == 4 && (strcmp(argv[1], "ndb") == 0 ||
	    strcmp(argv[1], "ndb-hostile") == 0)) {
		unsigned char	*f;
		size_t		 npages, size, off, slot;
		FILE		*fp;

		if (strcmp(argv[1], "ndb") == 0)
			b = load(argv[2], &n);
		else
			b = hostile(&n);
		npages = (n + 2) / 256 + 1;
		size = npages * 4096;
		for (i = 0; i < n; i++)
			size += (16 + b[i].len + 12 + 15) / 16 * 16;
		f = calloc(1, size);
		put32(f, 0x506d7052);		/* "RpmP" */
		put32(f + 4, 0);
		put32(f + 8, 1);
		put32(f + 12, (uint32_t)npages);
		for (off = 32; off < npages * 4096; off += 16)
			put32(f + off, 0x746f6c53);	/* "Slot" */
		off = npages * 4096;
		for (i = 0, slot = 32; i < n; i++, slot += 16) {
			uint32_t blkcnt = (16 + b[i].len + 12 + 15) / 16;
			unsigned char *h = f + off, *t = h + blkcnt * 16 - 12;

			put32(f + slot + 4, b[i].hnum);
			put32(f + slot + 8, (uint32_t)(off / 16));
			put32(f + slot + 12, blkcnt);
			put32(h, 0x53626c42);		/* "BlbS" */
			put32(h + 4, b[i].hnum);
			put32(h + 8, 1700000000);
			put32(h + 12, b[i].len);
			memcpy(h + 16, b[i].p, b[i].len);
			put32(t, adler32(1, h, (size_t)(t - h)));
			put32(t + 4, b[i].len);
			put32(t + 8, 0x45626c42);	/* "BlbE" */
			off += blkcnt * 16;
			if (b[i].hnum >= next)
				next = b[i].hnum + 1;
		}
		put32(f + 16, next);
		if ((fp = fopen(argv[3], "wb")) == NULL ||
		    fwrite(f, 1, size, fp) != size || fclose(fp) != 0) {
			perror(argv[3]);
			return 1;
		}
		free(f);
		unload(b, n);
		return 0;
	}
	fprintf(stderr, "usage: rpmdb-fixture dbload SQLITE | ndb SQLITE OUT\n");
	return 2;
}
