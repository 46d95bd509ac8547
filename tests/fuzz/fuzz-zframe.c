/*
 * fuzz-zframe.c: the spool's frame reader (common/zframe.c) on damaged
 * segments: torn tails, flipped bits, lengths that lie, zstd payloads that
 * lie about their size.
 *
 * The first input byte is flags; the rest is a segment, read frame by frame
 * as the spool's recovery does (a bad frame: resynchronise one byte on).
 * With flag 1 the harness rewrites each candidate frame's crc32c before
 * decoding it, so that mutations reach the length and zstd checks behind
 * the checksum instead of dying at it.  Properties:
 *   - a decoded frame lies inside the input and its payload has the
 *     declared length, at most ZFRAME_MAX_RAW;
 *   - the payload re-encodes to a frame that decodes to the same bytes.
 */
#include "config.h"

#include "tests/fuzz/fuzz.h"

#define FUZZ_STEPS	4096

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Make the checksum of the frame at p right, when its length fits. */
static void
fix_crc(uint8_t *p, size_t left)
{
	uint32_t	clen;

	if (left < ZFRAME_HDR || memcmp(p, "TMZ1", 4) != 0)
		return;
	clen = get32(p + 4);
	if (clen > left - ZFRAME_HDR)
		return;
	put32(p + 12, crc32c(crc32c(0, p, 12), p + ZFRAME_HDR, clen));
}

static void
check_round_trip(const uint8_t *raw, size_t rawlen)
{
	uint8_t		*out = NULL, *back = NULL;
	size_t		 outlen = 0, outcap = 0, framelen, backlen;

	if (zframe_encode(raw, rawlen, 1, &out, &outlen, &outcap) == -1)
		fuzz_fail("zframe_encode refused %zu bytes it had decoded",
		    rawlen);
	if (zframe_decode(out, outlen, &framelen, &back, &backlen) != ZFRAME_OK)
		fuzz_fail("a fresh frame does not decode");
	if (framelen != outlen || backlen != rawlen ||
	    (rawlen > 0 && memcmp(back, raw, rawlen) != 0))
		fuzz_fail("round trip changed the payload");
	free(out);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum zframe_status	 st;
	uint8_t			*seg, *raw;
	size_t			 len, off = 0, framelen, rawlen;
	int			 fix, steps = 0;

	if (size < 1)
		return 0;
	fix = data[0] & 1;
	len = size - 1;
	seg = (uint8_t *)fuzz_dup(data + 1, len);
	while (off < len && steps++ < FUZZ_STEPS) {
		if (fix)
			fix_crc(seg + off, len - off);
		st = zframe_decode(seg + off, len - off, &framelen, &raw, &rawlen);
		if (zframe_status_name(st) == NULL)
			fuzz_fail("status %d has no name", (int)st);
		if (st == ZFRAME_SHORT)
			break;			/* a torn tail ends the segment */
		if (st != ZFRAME_OK) {
			off++;
			continue;
		}
		if (framelen < ZFRAME_HDR || framelen > len - off)
			fuzz_fail("frame of %zu bytes at %zu in %zu", framelen,
			    off, len);
		if (rawlen > ZFRAME_MAX_RAW || rawlen != get32(seg + off + 8))
			fuzz_fail("payload of %zu bytes, header says %u", rawlen,
			    get32(seg + off + 8));
		if (rawlen <= 65536)
			check_round_trip(raw, rawlen);
		free(raw);
		off += framelen;
	}
	free(seg);
	return 0;
}
