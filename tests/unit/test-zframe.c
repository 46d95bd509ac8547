/*
 * test-zframe.c: spool frames (common/zframe.c): round trips, and decoding
 * of torn, bit-flipped and forged input.  malloc is wrapped (--wrap=malloc)
 * to prove the decoder never allocates more than the declared raw length.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "common/common.h"

/* Largest single malloc request made by code linked into this program. */
static size_t	max_alloc;
void	*__real_malloc(size_t n);
void	*__wrap_malloc(size_t n);

void *
__wrap_malloc(size_t n)
{
	if (n > max_alloc)
		max_alloc = n;
	return __real_malloc(n);
}

static void
fill_random(uint8_t *p, size_t n, unsigned seed)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Rewrite a forged frame's checksum so that the deeper checks are reached. */
static void
reseal(uint8_t *frame, size_t clen)
{
	put32(frame + 12, crc32c(crc32c(0, frame, 12), frame + ZFRAME_HDR, clen));
}

/* Build a forged frame around payload with the given header lengths. */
static uint8_t *
forge(const void *payload, size_t plen, uint32_t clen, uint32_t rawlen)
{
	uint8_t	*f = xcalloc(1, ZFRAME_HDR + plen);

	memcpy(f, "TMZ1", 4);
	put32(f + 4, clen);
	put32(f + 8, rawlen);
	memcpy(f + ZFRAME_HDR, payload, plen);
	reseal(f, plen < clen ? plen : clen);
	return f;
}

static enum zframe_status
decode(const uint8_t *buf, size_t len)
{
	size_t			 fl = 0, rl = 0;
	uint8_t			*raw = NULL;
	enum zframe_status	 st;

	st = zframe_decode(buf, len, &fl, &raw, &rl);
	if (st != ZFRAME_OK)
		assert_null(raw);
	free(raw);
	return st;
}

static void
round_trip(size_t n, int level, int compressible)
{
	uint8_t	*in = xmalloc(n + 1), *out = NULL, *raw = NULL;
	size_t	 outlen = 0, cap = 0, fl, rl;

	if (compressible)
		memset(in, 'q', n);
	else
		fill_random(in, n, (unsigned)n);
	assert_int_equal(zframe_encode(in, n, level, &out, &outlen, &cap), 0);
	assert_true(outlen > ZFRAME_HDR && outlen <= cap);
	assert_memory_equal(out, "TMZ1", 4);
	assert_int_equal(zframe_decode(out, outlen, &fl, &raw, &rl), ZFRAME_OK);
	assert_int_equal(fl, outlen);
	assert_int_equal(rl, n);
	if (n > 0)
		assert_memory_equal(raw, in, n);
	free(raw);
	free(out);
	free(in);
}

static void
test_round_trip_sizes_and_levels(void **state)
{
	(void)state;
	round_trip(0, 0, 0);
	round_trip(1, 0, 0);
	round_trip(100, 1, 1);
	round_trip(4096, 3, 0);
	round_trip(1 << 20, 19, 1);
	round_trip(300000, -5, 0);
	round_trip(1000, 999, 0);	/* clamped to zstd's maximum */
}

static void
test_round_trip_largest_frame(void **state)
{
	uint8_t	*in = xcalloc(1, ZFRAME_MAX_RAW), *out = NULL, *raw = NULL;
	size_t	 outlen = 0, cap = 0, fl, rl;

	(void)state;
	in[ZFRAME_MAX_RAW - 1] = 1;
	assert_int_equal(zframe_encode(in, ZFRAME_MAX_RAW, 1, &out, &outlen,
	    &cap), 0);
	assert_int_equal(zframe_decode(out, outlen, &fl, &raw, &rl), ZFRAME_OK);
	assert_int_equal(rl, ZFRAME_MAX_RAW);
	assert_int_equal(raw[ZFRAME_MAX_RAW - 1], 1);
	free(raw);
	free(out);
	free(in);
}

static void
test_encode_refuses_oversized_input(void **state)
{
	uint8_t	 byte = 0, *out = NULL;
	size_t	 outlen = 0, cap = 0;

	(void)state;
	/* the length is checked before anything is read */
	assert_int_equal(zframe_encode(&byte, (size_t)ZFRAME_MAX_RAW + 1, 3,
	    &out, &outlen, &cap), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(outlen, 0);
	assert_null(out);
}

static void
test_frames_append_and_decode_in_sequence(void **state)
{
	uint8_t	*out = NULL, *raw;
	size_t	 outlen = 0, cap = 0, off = 0, fl, rl;
	char	 msg[32];
	int	 i;

	(void)state;
	for (i = 0; i < 50; i++) {
		snprintf(msg, sizeof msg, "record %d", i);
		assert_int_equal(zframe_encode(msg, strlen(msg), 3, &out,
		    &outlen, &cap), 0);
	}
	for (i = 0; i < 50; i++) {
		assert_int_equal(zframe_decode(out + off, outlen - off, &fl,
		    &raw, &rl), ZFRAME_OK);
		snprintf(msg, sizeof msg, "record %d", i);
		assert_int_equal(rl, strlen(msg));
		assert_memory_equal(raw, msg, rl);
		free(raw);
		off += fl;
	}
	assert_int_equal(off, outlen);
	assert_int_equal(decode(out + off, 0), ZFRAME_SHORT);
	free(out);
}

/* Every strict prefix of a frame is a torn tail: SHORT, never OK. */
static void
test_every_torn_tail_is_short(void **state)
{
	uint8_t	 in[2000], *out = NULL;
	size_t	 outlen = 0, cap = 0, cut;

	(void)state;
	fill_random(in, sizeof in, 7);
	assert_int_equal(zframe_encode(in, sizeof in, 3, &out, &outlen, &cap), 0);
	for (cut = 0; cut < outlen; cut++)
		assert_int_equal(decode(out, cut), ZFRAME_SHORT);
	assert_int_equal(decode(out, outlen), ZFRAME_OK);
	free(out);
}

/* Flip every bit of a frame in turn: never OK, never a crash. */
static void
test_every_bit_flip_is_detected(void **state)
{
	uint8_t			 in[300], *out = NULL;
	size_t			 outlen = 0, cap = 0, i;
	enum zframe_status	 st;
	int			 b;

	(void)state;
	memset(in, 'z', 200);
	fill_random(in + 200, 100, 3);
	assert_int_equal(zframe_encode(in, sizeof in, 3, &out, &outlen, &cap), 0);
	for (i = 0; i < outlen; i++) {
		for (b = 0; b < 8; b++) {
			out[i] ^= (uint8_t)(1 << b);
			st = decode(out, outlen);
			if (i < 4)
				assert_int_equal(st, ZFRAME_BAD_MAGIC);
			else if (i >= 12)
				assert_int_equal(st, ZFRAME_BAD_CHECKSUM);
			else
				assert_true(st == ZFRAME_SHORT ||
				    st == ZFRAME_BAD_LENGTH ||
				    st == ZFRAME_BAD_CHECKSUM);
			out[i] ^= (uint8_t)(1 << b);
		}
	}
	assert_int_equal(decode(out, outlen), ZFRAME_OK);
	free(out);
}

static void
test_wrong_magic(void **state)
{
	static const uint8_t junk[32] = "TMZ2 not a frame at all.........";

	(void)state;
	assert_int_equal(decode(junk, sizeof junk), ZFRAME_BAD_MAGIC);
	assert_int_equal(decode((const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0", 16), ZFRAME_BAD_MAGIC);
}

static void
test_raw_length_over_bound_is_bad_length(void **state)
{
	uint8_t	*f = forge("x", 1, 1, ZFRAME_MAX_RAW + 1u);

	(void)state;
	max_alloc = 0;
	assert_int_equal(decode(f, ZFRAME_HDR + 1), ZFRAME_BAD_LENGTH);
	assert_true(max_alloc == 0);
	free(f);
}

static void
test_absurd_compressed_length_is_bad_length(void **state)
{
	uint8_t	 pad[64] = { 0 }, *f;

	(void)state;
	/* zero bytes of payload: no zstd frame is that small */
	f = forge(pad, 0, 0, 10);
	assert_int_equal(decode(f, ZFRAME_HDR), ZFRAME_BAD_LENGTH);
	free(f);
	/* 4 GiB of payload for 10 raw bytes: more than zstd could ever emit */
	f = forge(pad, sizeof pad, 0xffffffffu, 10);
	assert_int_equal(decode(f, ZFRAME_HDR + sizeof pad), ZFRAME_BAD_LENGTH);
	free(f);
	f = forge(pad, sizeof pad, (uint32_t)ZSTD_compressBound(10) + 1, 10);
	assert_int_equal(decode(f, ZFRAME_HDR + sizeof pad), ZFRAME_BAD_LENGTH);
	free(f);
}

static void
test_garbage_payload_with_good_checksum_is_bad_payload(void **state)
{
	uint8_t	 junk[40], *f;

	(void)state;
	fill_random(junk, sizeof junk, 99);
	f = forge(junk, sizeof junk, sizeof junk, 100);
	assert_int_equal(decode(f, ZFRAME_HDR + sizeof junk), ZFRAME_BAD_PAYLOAD);
	free(f);
}

/*
 * A frame claiming 64 MiB whose zstd header says 100 bytes: refused before
 * anything is allocated for it.  A good frame allocates exactly its size.
 */
static void
test_decode_allocates_at_most_the_raw_length(void **state)
{
	uint8_t	 in[100], z[256], *f;
	size_t	 zlen;

	(void)state;
	fill_random(in, sizeof in, 5);
	zlen = ZSTD_compress(z, sizeof z, in, sizeof in, 3);
	assert_false(ZSTD_isError(zlen));

	f = forge(z, zlen, (uint32_t)zlen, ZFRAME_MAX_RAW);
	max_alloc = 0;
	assert_int_equal(decode(f, ZFRAME_HDR + zlen), ZFRAME_BAD_PAYLOAD);
	assert_true(max_alloc < 4096);
	free(f);

	f = forge(z, zlen, (uint32_t)zlen, sizeof in);
	max_alloc = 0;
	assert_int_equal(decode(f, ZFRAME_HDR + zlen), ZFRAME_OK);
	assert_int_equal(max_alloc, sizeof in);
	free(f);
}

static void
test_payload_without_content_size_is_bad_payload(void **state)
{
	uint8_t		 in[100], z[256], *f;
	size_t		 zlen;
	ZSTD_CCtx	*cc = ZSTD_createCCtx();

	(void)state;
	memset(in, 'c', sizeof in);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	zlen = ZSTD_compress2(cc, z, sizeof z, in, sizeof in);
	assert_false(ZSTD_isError(zlen));
	ZSTD_freeCCtx(cc);
	f = forge(z, zlen, (uint32_t)zlen, sizeof in);
	assert_int_equal(decode(f, ZFRAME_HDR + zlen), ZFRAME_BAD_PAYLOAD);
	free(f);
}

static void
test_two_zstd_frames_or_a_cut_one_are_bad_payload(void **state)
{
	uint8_t	 in[50], z[512], *f;
	size_t	 zlen;

	(void)state;
	memset(in, 'd', sizeof in);
	zlen = ZSTD_compress(z, 256, in, sizeof in, 3);
	assert_false(ZSTD_isError(zlen));
	memcpy(z + zlen, z, zlen);
	f = forge(z, 2 * zlen, (uint32_t)(2 * zlen), sizeof in);
	assert_int_equal(decode(f, ZFRAME_HDR + 2 * zlen), ZFRAME_BAD_PAYLOAD);
	free(f);
	f = forge(z, zlen - 1, (uint32_t)(zlen - 1), sizeof in);
	assert_int_equal(decode(f, ZFRAME_HDR + zlen - 1), ZFRAME_BAD_PAYLOAD);
	free(f);
}

static void
test_trailing_bytes_are_left_for_the_next_frame(void **state)
{
	uint8_t	*out = NULL, *raw;
	size_t	 outlen = 0, cap = 0, fl, rl, first;

	(void)state;
	assert_int_equal(zframe_encode("abc", 3, 3, &out, &outlen, &cap), 0);
	first = outlen;
	out = xreallocarray(out, outlen + 5, 1);
	memcpy(out + outlen, "TMZ1x", 5);
	assert_int_equal(zframe_decode(out, outlen + 5, &fl, &raw, &rl),
	    ZFRAME_OK);
	assert_int_equal(fl, first);
	free(raw);
	assert_int_equal(decode(out + first, 5), ZFRAME_SHORT);
	free(out);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(zframe_status_name(ZFRAME_OK), "ok");
	assert_string_equal(zframe_status_name(ZFRAME_BAD_CHECKSUM),
	    "bad checksum");
	assert_string_equal(zframe_status_name((enum zframe_status)42),
	    "unknown status");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_sizes_and_levels),
		cmocka_unit_test(test_round_trip_largest_frame),
		cmocka_unit_test(test_encode_refuses_oversized_input),
		cmocka_unit_test(test_frames_append_and_decode_in_sequence),
		cmocka_unit_test(test_every_torn_tail_is_short),
		cmocka_unit_test(test_every_bit_flip_is_detected),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_raw_length_over_bound_is_bad_length),
		cmocka_unit_test(test_absurd_compressed_length_is_bad_length),
		cmocka_unit_test(test_garbage_payload_with_good_checksum_is_bad_payload),
		cmocka_unit_test(test_decode_allocates_at_most_the_raw_length),
		cmocka_unit_test(test_payload_without_content_size_is_bad_payload),
		cmocka_unit_test(test_two_zstd_frames_or_a_cut_one_are_bad_payload),
		cmocka_unit_test(test_trailing_bytes_are_left_for_the_next_frame),
		cmocka_unit_test(test_status_names),
	};

	log_init("test-zframe", LOG_LEVEL_WARN);
	return cmocka_run_group_tests_name("zframe", tests, NULL, NULL);
}
