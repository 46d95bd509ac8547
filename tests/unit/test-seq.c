/*
 * test-seq.c: the host's sequence number (agent/seq.c) is monotonic across
 * restarts, continues without a gap after a clean stop or a crash within
 * the same boot, and never reuses a number after a power loss.
 */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

struct fixture {
	char		dir[64];
	uv_loop_t	loop;
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof *fx);

	snprintf(fx->dir, sizeof fx->dir, "/tmp/tm-transport-seq-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 path[128];

	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	snprintf(path, sizeof path, "%s/seq", fx->dir);
	unlink(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static uint64_t
next(struct seq *sq)
{
	uint64_t	n;

	assert_int_equal(seq_next(sq, &n), 0);
	return n;
}

/* Close, letting the loop finish a reservation in progress. */
static void
close_seq(struct fixture *fx, struct seq *sq, bool clean)
{
	while (seq_close(sq, clean) == 1)
		uv_run(&fx->loop, UV_RUN_ONCE);
}

static void
read_state(struct fixture *fx, uint64_t *limit, uint64_t *nxt, char *boot)
{
	char	path[128];
	FILE	*fp;

	snprintf(path, sizeof path, "%s/seq", fx->dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "tallyman-seq 1 limit=%" SCNu64 " next=%"
	    SCNu64 " boot=%63s", limit, nxt, boot), 3);
	fclose(fp);
}

static void
write_state(struct fixture *fx, uint64_t limit, uint64_t nxt, const char *boot)
{
	char	path[128];
	FILE	*fp;

	snprintf(path, sizeof path, "%s/seq", fx->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "tallyman-seq 1 limit=%" PRIu64 " next=%" PRIu64
	    " boot=%s\n", limit, nxt, boot);
	fclose(fp);
}

static void
test_seq_starts_at_one_with_a_durable_reservation_ahead(void **state)
{
	struct fixture	*fx = *state;
	struct seq	*sq = seq_open(&fx->loop, fx->dir, false, 0);
	uint64_t	 limit, nxt;
	char		 boot[64];

	assert_non_null(sq);
	assert_int_equal(next(sq), 1);
	assert_int_equal(next(sq), 2);
	read_state(fx, &limit, &nxt, boot);
	assert_true(limit > 2);
	assert_int_equal(nxt, 0);	/* running: not a clean stop */
	close_seq(fx, sq, true);
}

static void
test_seq_clean_stop_then_restart_continues_without_gap(void **state)
{
	struct fixture	*fx = *state;
	struct seq	*sq = seq_open(&fx->loop, fx->dir, false, 0);
	uint64_t	 i;

	for (i = 1; i <= 5; i++)
		assert_int_equal(next(sq), i);
	close_seq(fx, sq, true);
	/* Even after a reboot (other boot id). */
	{
		uint64_t	limit, nxt;
		char		boot[64];

		read_state(fx, &limit, &nxt, boot);
		assert_int_equal(nxt, 6);
		write_state(fx, limit, nxt, "another-boot");
	}
	sq = seq_open(&fx->loop, fx->dir, false, 0);
	assert_non_null(sq);
	assert_int_equal(next(sq), 6);
	close_seq(fx, sq, true);
}

static void
test_seq_crash_same_boot_continues_after_spool_newest(void **state)
{
	struct fixture	*fx = *state;
	struct seq	*sq = seq_open(&fx->loop, fx->dir, false, 0);
	uint64_t	 i;

	for (i = 1; i <= 10; i++)
		assert_int_equal(next(sq), i);
	close_seq(fx, sq, false);	/* kill -9: no clean stop recorded */
	sq = seq_open(&fx->loop, fx->dir, true, 10);
	assert_non_null(sq);
	assert_int_equal(next(sq), 11);
	close_seq(fx, sq, false);
}

static void
test_seq_power_loss_never_reuses_a_number(void **state)
{
	struct fixture	*fx = *state;
	struct seq	*sq = seq_open(&fx->loop, fx->dir, false, 0);
	uint64_t	 i, n, limit, nxt;
	char		 boot[64];

	/* Far past the first reservation: blocks are reserved ahead. */
	for (i = 1; i <= 20000; i++) {
		assert_int_equal(next(sq), i);
		if (i % 1000 == 0)
			uv_run(&fx->loop, UV_RUN_NOWAIT);
	}
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	close_seq(fx, sq, false);
	read_state(fx, &limit, &nxt, boot);
	assert_true(limit > 20000);
	/* Power loss: other boot, and the spool lost its tail (says 15000). */
	write_state(fx, limit, 0, "another-boot");
	sq = seq_open(&fx->loop, fx->dir, true, 15000);
	assert_non_null(sq);
	n = next(sq);
	assert_true(n > 20000);
	assert_true(n >= limit);
	close_seq(fx, sq, false);
}

static void
test_seq_unreadable_state_continues_above_the_spool(void **state)
{
	struct fixture	*fx = *state;
	struct seq	*sq;
	char		 path[128];
	FILE		*fp;

	snprintf(path, sizeof path, "%s/seq", fx->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("garbage\n", fp);
	fclose(fp);
	sq = seq_open(&fx->loop, fx->dir, true, 500);
	assert_non_null(sq);
	assert_true(next(sq) > 500);
	close_seq(fx, sq, false);
}

static void
test_seq_unget_gives_back_only_the_last_number(void **state)
{
	struct fixture	*fx = *state;
	struct seq	*sq = seq_open(&fx->loop, fx->dir, false, 0);

	assert_int_equal(next(sq), 1);
	assert_int_equal(next(sq), 2);
	assert_int_equal(seq_unget(sq, 1), -1);
	assert_int_equal(seq_unget(sq, 2), 0);
	assert_int_equal(next(sq), 2);
	close_seq(fx, sq, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seq_starts_at_one_with_a_durable_reservation_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_clean_stop_then_restart_continues_without_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_crash_same_boot_continues_after_spool_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_power_loss_never_reuses_a_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_unreadable_state_continues_above_the_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_unget_gives_back_only_the_last_number, setup, teardown),
	};

	log_init("test-seq", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
