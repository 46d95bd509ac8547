/*
 * ndb.h: a writer of rpm NDB databases for the fuzz targets (the layout is
 * described at the top of agent/inventory-rpm-ndb.c): fuzz-rpm-header wraps
 * its input as one package blob, and fuzz-rpm-ndb repairs the checksums of
 * mutated databases so that mutations reach the checks behind them.
 */
#ifndef TALLYMAN_FUZZ_NDB_H
#define TALLYMAN_FUZZ_NDB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t
ndb_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
ndb_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Adler-32 (RFC 1950), written from the RFC. */
static inline uint32_t
ndb_adler(const uint8_t *p, size_t n)
{
	uint32_t	a = 1, b = 0;

	while (n-- > 0) {
		a = (a + *p++) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

/* A one-page database holding blob as package 1.  Caller frees; *len set. */
static inline uint8_t *
ndb_wrap(const uint8_t *blob, size_t bloblen, size_t *len)
{
	size_t	 blocks = (16 + bloblen + 12 + 15) / 16, off = 4096;
	uint8_t	*db, *h, *t;

	*len = off + blocks * 16;
	if ((db = calloc(1, *len)) == NULL)
		abort();
	memcpy(db, "RpmP", 4);
	ndb_put32(db + 8, 1);			/* generation */
	ndb_put32(db + 12, 1);			/* slot pages */
	ndb_put32(db + 16, 2);			/* next package index */
	memcpy(db + 32, "Slot", 4);
	ndb_put32(db + 36, 1);
	ndb_put32(db + 40, (uint32_t)(off / 16));
	ndb_put32(db + 44, (uint32_t)blocks);
	for (size_t s = 48; s + 16 <= off; s += 16)
		memcpy(db + s, "Slot", 4);	/* free slots */
	h = db + off;
	memcpy(h, "BlbS", 4);
	ndb_put32(h + 4, 1);
	ndb_put32(h + 12, (uint32_t)bloblen);
	if (bloblen > 0)
		memcpy(h + 16, blob, bloblen);
	t = db + *len - 12;
	ndb_put32(t, ndb_adler(h, (size_t)(t - h)));
	ndb_put32(t + 4, (uint32_t)bloblen);
	memcpy(t + 8, "BlbE", 4);
	return db;
}

/* Rewrite the tail checksum of every slot's blob whose framing fits. */
static inline void
ndb_fix_checksums(uint8_t *db, size_t len)
{
	uint64_t	npages, off, blkoff, blkcnt, end;
	uint8_t		*t;

	if (len < 32 || memcmp(db, "RpmP", 4) != 0)
		return;
	npages = ndb_get32(db + 12);
	for (off = 32; off + 16 <= npages * 4096 && off + 16 <= len; off += 16) {
		blkoff = ndb_get32(db + off + 8);
		blkcnt = ndb_get32(db + off + 12);
		end = (blkoff + blkcnt) * 16;
		if (blkoff == 0 || blkcnt * 16 < 28 || end > len)
			continue;
		t = db + end - 12;
		ndb_put32(t, ndb_adler(db + blkoff * 16,
		    (size_t)(t - (db + blkoff * 16))));
	}
}

#endif /* TALLYMAN_FUZZ_NDB_H */
