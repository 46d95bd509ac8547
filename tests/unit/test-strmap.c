/*
 * test-strmap.c: the engine's string map against a plain array as the
 * reference, through many random puts, gets and deletes (backward-shift
 * deletion must never lose an entry that probed past the deleted slot), and
 * the intern pool.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/collector.h"

#define KEYS	2000

static void
test_strmap_agrees_with_a_reference_through_random_operations(void **state)
{
	struct strmap	*m = strmap_new();
	char		*keys[KEYS];
	int		 present[KEYS] = { 0 };
	size_t		 i, n = 0, round;
	unsigned	 seed = 12345;

	for (i = 0; i < KEYS; i++)
		xasprintf(&keys[i], "key-%zu", i * 7919);
	for (round = 0; round < 200000; round++) {
		size_t	k;
		int	op;

		seed = seed * 1103515245 + 12345;
		k = (seed >> 8) % KEYS;
		op = (int)((seed >> 20) % 3);
		if (op == 0) {
			void *old = strmap_put(m, keys[k], keys[k]);

			assert_true(present[k] ? old == keys[k] : old == NULL);
			if (!present[k])
				n++;
			present[k] = 1;
		} else if (op == 1) {
			void *old = strmap_del(m, keys[k]);

			assert_true(present[k] ? old == keys[k] : old == NULL);
			if (present[k])
				n--;
			present[k] = 0;
		} else {
			void *v = strmap_get(m, keys[k]);

			assert_true(present[k] ? v == keys[k] : v == NULL);
		}
		assert_int_equal(strmap_count(m), n);
	}
	for (i = 0; i < KEYS; i++) {
		void *v = strmap_get(m, keys[i]);

		assert_true(present[i] ? v == keys[i] : v == NULL);
		free(keys[i]);
	}
	strmap_free(m);
}

static int
count_cb(const char *k, void *v, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

static void
test_strpool_keeps_one_copy_per_string(void **state)
{
	struct strpool	*p = strpool_new();
	char		 buf[16];
	const char	*a, *b;
	size_t		 n = 0;

	snprintf(buf, sizeof buf, "openssl");
	a = strpool_get(p, buf);
	snprintf(buf, sizeof buf, "zlib");
	b = strpool_get(p, buf);
	assert_ptr_equal(strpool_get(p, "openssl"), a);
	assert_ptr_not_equal(a, b);
	assert_string_equal(b, "zlib");
	assert_null(strpool_get(p, NULL));
	assert_int_equal(strpool_count(p), 2);
	strpool_free(p);
	{
		struct strmap *m = strmap_new();

		strmap_put(m, "x", m);
		strmap_put(m, "y", m);
		strmap_each(m, count_cb, &n);
		strmap_free(m);
	}
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strmap_agrees_with_a_reference_through_random_operations),
		cmocka_unit_test(test_strpool_keeps_one_copy_per_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
