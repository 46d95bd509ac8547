/* test-crc32c.c: CRC-32C (common/crc32c.c) against published vectors. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

/* The definition, one bit at a time: an independent reference. */
static uint32_t
crc32c_bitwise(const uint8_t *p, size_t n)
{
	uint32_t	crc = 0xffffffffu;
	int		k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static void
test_check_value_123456789(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
}

/* RFC 3720 (iSCSI) appendix B.4 */
static void
test_rfc3720_vectors(void **state)
{
	uint8_t	buf[32];
	int	i;

	(void)state;
	memset(buf, 0, sizeof buf);
	assert_int_equal(crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof buf);
	assert_int_equal(crc32c(0, buf, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(crc32c(0, buf, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void
test_empty_input_is_zero(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "", 0), 0);
	assert_int_equal(crc32c(0x12345678u, "", 0), 0x12345678u);
}

/* Sliced and unaligned paths agree with the bitwise definition. */
static void
test_matches_bitwise_reference_all_lengths_and_offsets(void **state)
{
	uint8_t	buf[300];
	size_t	off, len;
	unsigned seed = 12345;

	(void)state;
	for (off = 0; off < sizeof buf; off++) {
		seed = seed * 1103515245u + 12345u;
		buf[off] = (uint8_t)(seed >> 16);
	}
	for (off = 0; off < 8; off++)
		for (len = 0; len + off <= sizeof buf; len += 7)
			assert_int_equal(crc32c(0, buf + off, len),
			    crc32c_bitwise(buf + off, len));
}

static void
test_chaining_equals_one_shot(void **state)
{
	const char	*s = "The quick brown fox jumps over the lazy dog";
	size_t		 n = strlen(s), cut;
	uint32_t	 whole = crc32c(0, s, n);

	(void)state;
	for (cut = 0; cut <= n; cut++)
		assert_int_equal(crc32c(crc32c(0, s, cut), s + cut, n - cut),
		    whole);
}

static void
test_single_bit_flip_changes_crc(void **state)
{
	uint8_t		buf[64];
	uint32_t	good;
	size_t		i;
	int		b;

	(void)state;
	memset(buf, 0x5a, sizeof buf);
	good = crc32c(0, buf, sizeof buf);
	for (i = 0; i < sizeof buf; i++)
		for (b = 0; b < 8; b++) {
			buf[i] ^= (uint8_t)(1 << b);
			assert_int_not_equal(crc32c(0, buf, sizeof buf), good);
			buf[i] ^= (uint8_t)(1 << b);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value_123456789),
		cmocka_unit_test(test_rfc3720_vectors),
		cmocka_unit_test(test_empty_input_is_zero),
		cmocka_unit_test(test_matches_bitwise_reference_all_lengths_and_offsets),
		cmocka_unit_test(test_chaining_equals_one_shot),
		cmocka_unit_test(test_single_bit_flip_changes_crc),
	};

	return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
