/*
 * inventory-rpm-ndb.c: SUSE's NDB rpm database (Packages.db), read by our
 * own bounded reader: Debian's librpm has no NDB backend.  Each package's
 * header blob is handed to a callback (librpm's headerImport in
 * inventory-rpm.c).
 *
 * The format, as rpm's lib/backend/ndb/rpmpkg.c writes it (all integers
 * little-endian u32):
 *   file header, 32 bytes at 0: "RpmP", version 0, generation,
 *     slot page count, next package index;
 *   slots, 16 bytes each, from byte 32 to slotpages * 4096: "Slot",
 *     package index, block offset, block count (blocks of 16 bytes; an
 *     offset of 0 is a free slot);
 *   at block offset * 16, a blob: "BlbS", package index, time stamp, blob
 *     length, the blob, zero padding to the block count, and a 12-byte tail
 *     ending the last block: adler32 of everything before it, blob length,
 *     "BlbE".
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "agent/agent.h"

#define NDB_MAGIC	0x506d7052u	/* "RpmP" */
#define NDB_SLOT_MAGIC	0x746f6c53u	/* "Slot" */
#define NDB_HEAD_MAGIC	0x53626c42u	/* "BlbS" */
#define NDB_TAIL_MAGIC	0x45626c42u	/* "BlbE" */
#define NDB_PAGE	4096u
#define NDB_SLOT	16u
#define NDB_BLK		16u
#define NDB_HDR		32u
#define NDB_BLOBHEAD	16u
#define NDB_BLOBTAIL	12u
#define NDB_BLOB_MAX	(64u * 1024 * 1024)

static uint32_t
ndb_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Adler-32 (RFC 1950). */
static uint32_t
ndb_adler32(uint32_t adler, const uint8_t *p, size_t n)
{
	uint32_t	a = adler & 0xffff, b = adler >> 16;
	size_t		chunk;

	while (n > 0) {
		chunk = n < 5552 ? n : 5552;
		n -= chunk;
		while (chunk-- > 0) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return b << 16 | a;
}

/*
 * Walk the NDB database buf[0..len) and call cb(blob, bloblen, arg) for
 * every package blob whose framing and checksum are right.  Damaged slots
 * and blobs are skipped and counted in *errors.  Returns the number of blobs
 * handed to cb, or -1 if buf is not an NDB database.
 */
int
inventory_rpm_ndb_blobs(const void *buf, size_t len, inventory_rpm_ndb_cb cb,
    void *arg, uint64_t *errors)
{
	const uint8_t	*b = buf, *sp, *head, *tail;
	uint32_t	 npages, pkgidx, blkoff, blkcnt, bloblen, adl;
	uint64_t	 off, end, slotend;
	int		 count = 0;

	if (len < NDB_HDR || ndb_u32(b) != NDB_MAGIC || ndb_u32(b + 4) != 0) {
		log_warnx("inventory-rpm-ndb: not an NDB database");
		return -1;
	}
	npages = ndb_u32(b + 12);
	if (npages == 0 || (uint64_t)npages * NDB_PAGE > len) {
		log_warnx("inventory-rpm-ndb: %u slot pages in %zu bytes",
		    npages, len);
		return -1;
	}
	slotend = (uint64_t)npages * NDB_PAGE;
	for (off = NDB_HDR; off + NDB_SLOT <= slotend; off += NDB_SLOT) {
		sp = b + off;
		if (ndb_u32(sp) != NDB_SLOT_MAGIC) {
			(*errors)++;
			log_warnx("inventory-rpm-ndb: bad slot at %llu",
			    (unsigned long long)off);
			return count > 0 ? count : -1;
		}
		pkgidx = ndb_u32(sp + 4);
		blkoff = ndb_u32(sp + 8);
		blkcnt = ndb_u32(sp + 12);
		if (blkoff == 0)
			continue;	/* free slot */
		end = ((uint64_t)blkoff + blkcnt) * NDB_BLK;
		if (pkgidx == 0 || (uint64_t)blkoff * NDB_BLK < slotend ||
		    blkcnt * (uint64_t)NDB_BLK < NDB_BLOBHEAD + NDB_BLOBTAIL ||
		    end > len) {
			(*errors)++;
			log_warnx("inventory-rpm-ndb: slot for package %u points "
			    "outside the file", pkgidx);
			continue;
		}
		head = b + (uint64_t)blkoff * NDB_BLK;
		tail = b + end - NDB_BLOBTAIL;
		bloblen = ndb_u32(head + 12);
		if (ndb_u32(head) != NDB_HEAD_MAGIC || ndb_u32(head + 4) != pkgidx ||
		    bloblen > NDB_BLOB_MAX ||
		    (NDB_BLOBHEAD + (uint64_t)bloblen + NDB_BLOBTAIL + NDB_BLK - 1) /
		    NDB_BLK != blkcnt ||
		    ndb_u32(tail + 4) != bloblen || ndb_u32(tail + 8) != NDB_TAIL_MAGIC) {
			(*errors)++;
			log_warnx("inventory-rpm-ndb: package %u: bad blob framing",
			    pkgidx);
			continue;
		}
		adl = ndb_adler32(1, head, (size_t)(tail - head));
		if (adl != ndb_u32(tail)) {
			(*errors)++;
			log_warnx("inventory-rpm-ndb: package %u: checksum mismatch",
			    pkgidx);
			continue;
		}
		if (cb(head + NDB_BLOBHEAD, bloblen, arg) == 0)
			count++;
	}
	return count;
}
