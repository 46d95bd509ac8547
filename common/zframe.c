/*
 * zframe.c: self-checking zstd frames, the unit of the agent's on-disk spool.
 *
 *   offset 0  u32 magic "TMZ1" (the bytes 'T' 'M' 'Z' '1')
 *          4  u32 compressed length  (payload bytes that follow the header)
 *          8  u32 raw length         (<= ZFRAME_MAX_RAW)
 *         12  u32 crc32c of header bytes [0, 12) followed by the payload
 *         16  payload: exactly one zstd frame that declares its content size
 * All integers little-endian.
 *
 * The decoder reads spool files after a crash, so its input may be torn
 * (a partial last frame) or damaged: every field is checked before it is
 * trusted, and the only allocation is the raw length the frame declares,
 * itself bounded by ZFRAME_MAX_RAW and confirmed by the zstd frame header.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "common/common.h"

static const uint8_t zframe_magic[4] = { 'T', 'M', 'Z', '1' };

static void
zframe_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
zframe_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * Compress raw[0..rawlen) at zstd level (0 = zstd's default; clamped to
 * zstd's range) into one frame appended at (*out)[*outlen], growing *out
 * and *outcap with realloc as needed.  *out may start NULL with *outcap 0.
 * Returns 0, or -1 with errno EFBIG (rawlen over ZFRAME_MAX_RAW) or EIO
 * (zstd failed, logged); *outlen is unchanged on failure.
 */
int
zframe_encode(const void *raw, size_t rawlen, int level, uint8_t **out,
    size_t *outlen, size_t *outcap)
{
	size_t		 bound, need, clen;
	uint8_t		*hdr;
	uint32_t	 crc;

	if (rawlen > ZFRAME_MAX_RAW) {
		errno = EFBIG;
		return -1;
	}
	if (level > ZSTD_maxCLevel())
		level = ZSTD_maxCLevel();
	if (level < ZSTD_minCLevel())
		level = ZSTD_minCLevel();
	bound = ZSTD_compressBound(rawlen);
	need = *outlen + ZFRAME_HDR + bound;
	if (need > *outcap) {
		*out = xreallocarray(*out, need, 1);
		*outcap = need;
	}
	hdr = *out + *outlen;
	clen = ZSTD_compress(hdr + ZFRAME_HDR, bound, raw, rawlen, level);
	if (ZSTD_isError(clen)) {
		log_warnx("zframe: zstd compression of %zu bytes failed: %s",
		    rawlen, ZSTD_getErrorName(clen));
		errno = EIO;
		return -1;
	}
	memcpy(hdr, zframe_magic, 4);
	zframe_put32(hdr + 4, (uint32_t)clen);
	zframe_put32(hdr + 8, (uint32_t)rawlen);
	crc = crc32c(0, hdr, 12);
	crc = crc32c(crc, hdr + ZFRAME_HDR, clen);
	zframe_put32(hdr + 12, crc);
	*outlen += ZFRAME_HDR + clen;
	return 0;
}

/*
 * Check and decode the frame at buf[0..len).  Returns ZFRAME_OK with
 * *framelen (bytes consumed), *raw (malloc'd, caller frees; never NULL) and
 * *rawlen set, or another status with the outputs untouched:
 *   ZFRAME_SHORT        fewer bytes than the header or the declared frame
 *   ZFRAME_BAD_MAGIC    not a frame
 *   ZFRAME_BAD_LENGTH   raw length over ZFRAME_MAX_RAW, or a compressed
 *                       length zstd could never produce for that raw length
 *   ZFRAME_BAD_CHECKSUM crc32c mismatch
 *   ZFRAME_BAD_PAYLOAD  not exactly one zstd frame of the declared size
 * The lengths are checked before the checksum (so an absurd length is
 * reported without waiting for bytes that will never come); a damaged but
 * plausible length field reads as SHORT or BAD_CHECKSUM.  The only
 * allocation is the declared raw length, once the checksum is good and the
 * zstd frame header declares that same content size.
 */
enum zframe_status
zframe_decode(const uint8_t *buf, size_t len, size_t *framelen,
    uint8_t **raw, size_t *rawlen)
{
	uint32_t	 clen, rlen, crc;
	unsigned long long fcs;
	const uint8_t	*payload;
	uint8_t		*dst;
	size_t		 got;

	if (len < ZFRAME_HDR)
		return ZFRAME_SHORT;
	if (memcmp(buf, zframe_magic, 4) != 0)
		return ZFRAME_BAD_MAGIC;
	clen = zframe_get32(buf + 4);
	rlen = zframe_get32(buf + 8);
	if (rlen > ZFRAME_MAX_RAW || clen == 0 ||
	    clen > ZSTD_compressBound(rlen))
		return ZFRAME_BAD_LENGTH;
	if (len - ZFRAME_HDR < clen)
		return ZFRAME_SHORT;
	payload = buf + ZFRAME_HDR;
	crc = crc32c(crc32c(0, buf, 12), payload, clen);
	if (crc != zframe_get32(buf + 12))
		return ZFRAME_BAD_CHECKSUM;
	/* Exactly one zstd frame, declaring the size we are about to allocate. */
	if (ZSTD_findFrameCompressedSize(payload, clen) != clen)
		return ZFRAME_BAD_PAYLOAD;
	fcs = ZSTD_getFrameContentSize(payload, clen);
	if (fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs == ZSTD_CONTENTSIZE_ERROR ||
	    fcs != rlen)
		return ZFRAME_BAD_PAYLOAD;
	dst = xmalloc(rlen > 0 ? rlen : 1);
	got = ZSTD_decompress(dst, rlen, payload, clen);
	if (ZSTD_isError(got) || got != rlen) {
		free(dst);
		return ZFRAME_BAD_PAYLOAD;
	}
	*framelen = ZFRAME_HDR + (size_t)clen;
	*raw = dst;
	*rawlen = rlen;
	return ZFRAME_OK;
}

const char *
zframe_status_name(enum zframe_status st)
{
	switch (st) {
	case ZFRAME_OK:
		return "ok";
	case ZFRAME_SHORT:
		return "short (torn) frame";
	case ZFRAME_BAD_MAGIC:
		return "bad magic";
	case ZFRAME_BAD_LENGTH:
		return "bad length";
	case ZFRAME_BAD_CHECKSUM:
		return "bad checksum";
	case ZFRAME_BAD_PAYLOAD:
		return "bad zstd payload";
	}
	return "unknown status";
}
