/*
 * test-sha256.c: SHA-256 (common/sha256.c) against the FIPS 180-4 / NIST
 * example vectors, and against sha256sum(1) at the padding boundaries.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

static void
hash_hex(const void *p, size_t n, char hex[65])
{
	struct sha256_ctx	c;
	uint8_t			d[32];

	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_final(&c, d);
	sha256_hex(d, hex);
}

static void
assert_sha(const char *msg, const char *want)
{
	char	hex[65];

	hash_hex(msg, strlen(msg), hex);
	assert_string_equal(hex, want);
}

static void
test_nist_empty_string(void **state)
{
	(void)state;
	assert_sha("",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Nothing at NULL (an empty package list) is the empty message, and no
 * undefined behaviour (UBSan checks it in the sanitizer build). */
static void
test_empty_update_at_null(void **state)
{
	char	hex[65];

	(void)state;
	hash_hex(NULL, 0, hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_nist_abc(void **state)
{
	(void)state;
	assert_sha("abc",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_nist_448_bit_message(void **state)
{
	(void)state;
	assert_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_nist_896_bit_message(void **state)
{
	(void)state;
	assert_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a', fed in uneven pieces to exercise the buffering. */
static void
test_nist_one_million_a(void **state)
{
	struct sha256_ctx	c;
	uint8_t			d[32];
	char			hex[65], chunk[997];
	size_t			left = 1000000, n;

	(void)state;
	memset(chunk, 'a', sizeof chunk);
	sha256_init(&c);
	while (left > 0) {
		n = left < sizeof chunk ? left : sizeof chunk;
		sha256_update(&c, chunk, n);
		left -= n;
	}
	sha256_final(&c, d);
	sha256_hex(d, hex);
	assert_string_equal(hex,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void
test_split_updates_equal_one_shot(void **state)
{
	const char	*s = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklm"
			    "ghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs";
	size_t		 n = strlen(s), cut;
	char		 whole[65], hex[65];
	uint8_t		 d[32];
	struct sha256_ctx c;

	(void)state;
	hash_hex(s, n, whole);
	for (cut = 0; cut <= n; cut++) {
		sha256_init(&c);
		sha256_update(&c, s, cut);
		sha256_update(&c, s + cut, n - cut);
		sha256_final(&c, d);
		sha256_hex(d, hex);
		assert_string_equal(hex, whole);
	}
}

/* Lengths around the 55/56/64-byte padding edges, checked by sha256sum(1). */
static void
test_padding_boundaries_match_sha256sum(void **state)
{
	static const size_t lens[] = { 1, 55, 56, 57, 63, 64, 65, 119, 120,
	    127, 128, 129 };
	char	 path[] = "/tmp/tm-common-shaXXXXXX", cmd[128], out[128];
	char	 buf[129], hex[65];
	size_t	 i, j;
	FILE	*p;
	int	 fd;

	(void)state;
	for (j = 0; j < sizeof buf; j++)
		buf[j] = (char)(j * 7 + 3);
	for (i = 0; i < TM_NELEM(lens); i++) {
		fd = mkstemp(path);
		assert_true(fd != -1);
		assert_int_equal(write(fd, buf, lens[i]), (ssize_t)lens[i]);
		close(fd);
		snprintf(cmd, sizeof cmd, "sha256sum %s", path);
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(out, sizeof out, p));
		pclose(p);
		unlink(path);
		strcpy(path, "/tmp/tm-common-shaXXXXXX");
		hash_hex(buf, lens[i], hex);
		assert_memory_equal(hex, out, 64);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_empty_string),
		cmocka_unit_test(test_empty_update_at_null),
		cmocka_unit_test(test_nist_abc),
		cmocka_unit_test(test_nist_448_bit_message),
		cmocka_unit_test(test_nist_896_bit_message),
		cmocka_unit_test(test_nist_one_million_a),
		cmocka_unit_test(test_split_updates_equal_one_shot),
		cmocka_unit_test(test_padding_boundaries_match_sha256sum),
	};

	return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
