/*
 * test-spool.c: the agent's on-disk spool (agent/spool.c): append, send in
 * order, release, recover after a restart, cut a torn or corrupt tail,
 * drop the oldest when full (never what is in flight), rewind.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

struct fixture {
	char		 dir[64];
	uv_loop_t	 loop;
};

/* A message as the spool sees it: an envelope map with "s" (and "p" for
 * a part) and a padding string of pad bytes; random pads do not compress. */
static void
make_msg(msgpack_sbuffer *sb, uint64_t seq, int part, int nparts, size_t pad,
    bool random)
{
	msgpack_packer	pk;
	char		*buf = malloc(pad + 1);
	size_t		 i;

	for (i = 0; i < pad; i++)
		buf[i] = random ? (char)(rand() & 0xff) : (char)('a' + i % 26);
	sb->size = 0;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, part >= 0 ? 3 : 2);
	msgpack_pack_str_with_body(&pk, "s", 1);
	msgpack_pack_uint64(&pk, seq);
	if (part >= 0) {
		msgpack_pack_str_with_body(&pk, "p", 1);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_int(&pk, part);
		msgpack_pack_int(&pk, nparts);
	}
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_bin_with_body(&pk, buf, pad);
	free(buf);
}

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof *fx);

	snprintf(fx->dir, sizeof fx->dir, "/tmp/tm-transport-spool-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	*state = fx;
	return 0;
}

static void
rm_dir(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	char		 path[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	rm_dir(fx->dir);
	free(fx);
	return 0;
}

static struct spool *
sp_open(struct fixture *fx, uint64_t max)
{
	struct spool	*sp = spool_open(&fx->loop, fx->dir, max, 1000000);

	assert_non_null(sp);
	return sp;
}

static void
sp_close(struct fixture *fx, struct spool *sp)
{
	spool_close(sp);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
}

static void
append_n(struct spool *sp, uint64_t first, uint64_t n, size_t pad, bool random,
    uint64_t *dropped)
{
	msgpack_sbuffer	sb;
	uint64_t	d = 0, i;

	msgpack_sbuffer_init(&sb);
	for (i = first; i < first + n; i++) {
		make_msg(&sb, i, -1, 0, pad, random);
		assert_int_equal(spool_append(sp, sb.data, sb.size, i, true, &d), 0);
	}
	msgpack_sbuffer_destroy(&sb);
	if (dropped != NULL)
		*dropped = d;
	else
		assert_int_equal(d, 0);
}

/* Take the next frame and move past it; returns its sequence or 0. */
static uint64_t
take(struct spool *sp, struct spool_frame *out)
{
	struct spool_frame	f;

	if (spool_peek(sp, &f) != 1)
		return 0;
	spool_advance(sp, &f);
	free(f.raw);
	f.raw = NULL;
	if (out != NULL)
		*out = f;
	return f.seq;
}

static size_t
count_segments(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	size_t		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".seg") != NULL)
			n++;
	closedir(d);
	return n;
}

/* The newest segment file's path. */
static void
last_segment(const char *dir, char *out, size_t outlen)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	char		 best[256] = "";

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".seg") != NULL &&
		    strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", de->d_name);
	closedir(d);
	assert_true(best[0] != '\0');
	snprintf(out, outlen, "%s/%s", dir, best);
}

static void
test_spool_frames_come_back_in_order_with_their_payload(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_frame	 f;
	msgpack_sbuffer		 sb;
	uint64_t		 i;

	append_n(sp, 1, 50, 100, false, NULL);
	msgpack_sbuffer_init(&sb);
	for (i = 1; i <= 50; i++) {
		assert_int_equal(spool_peek(sp, &f), 1);
		assert_int_equal(f.seq, i);
		assert_true(f.record_start);
		make_msg(&sb, i, -1, 0, 100, false);
		assert_int_equal(f.rawlen, sb.size);
		assert_memory_equal(f.raw, sb.data, sb.size);
		spool_advance(sp, &f);
		free(f.raw);
	}
	assert_int_equal(spool_peek(sp, &f), 0);
	msgpack_sbuffer_destroy(&sb);
	sp_close(fx, sp);
}

static void
test_spool_release_deletes_acknowledged_segments(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);	/* 64 KiB segments */
	struct spool_frame	 f;
	struct spool_info	 si;
	uint64_t		 i;

	append_n(sp, 1, 200, 2000, true, NULL);
	assert_true(count_segments(fx->dir) > 3);
	for (i = 1; i <= 200; i++) {
		assert_int_equal(take(sp, &f), i);
		spool_release(sp, f.end, f.record_start);
	}
	spool_get_info(sp, &si);
	assert_int_equal(si.records, 0);
	/* The newest segment stays: it holds the last sequence number. */
	assert_int_equal(count_segments(fx->dir), 1);
	assert_int_equal(si.segments, 1);
	sp_close(fx, sp);
}

static void
test_spool_restart_sends_unacknowledged_again_in_order(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_frame	 f;
	struct spool_info	 si;
	uint64_t		 i, s, prev;

	append_n(sp, 1, 300, 1000, true, NULL);
	for (i = 1; i <= 120; i++) {
		assert_int_equal(take(sp, &f), i);
		spool_release(sp, f.end, f.record_start);
	}
	/* 121..150 in flight, never acknowledged: the process dies. */
	for (i = 121; i <= 150; i++)
		assert_int_equal(take(sp, NULL), i);
	sp_close(fx, sp);

	sp = sp_open(fx, 1 << 20);
	spool_get_info(sp, &si);
	assert_true(si.has_last_seq);
	assert_int_equal(si.last_seq, 300);
	assert_int_equal(si.cut_frames, 0);
	/* What was acknowledged is not sent again; the rest is, in order. */
	assert_int_equal(si.records, 180);
	s = take(sp, NULL);
	assert_int_equal(s, 121);
	prev = s;
	while ((s = take(sp, NULL)) != 0) {
		assert_int_equal(s, prev + 1);
		prev = s;
	}
	assert_int_equal(prev, 300);
	sp_close(fx, sp);
}

static void
test_spool_restart_without_head_file_sends_from_the_oldest_segment(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_frame	 f;
	char			 path[128];
	uint64_t		 i, s, prev;

	append_n(sp, 1, 50, 1000, true, NULL);
	for (i = 1; i <= 20; i++) {
		assert_int_equal(take(sp, &f), i);
		spool_release(sp, f.end, f.record_start);
	}
	sp_close(fx, sp);
	/* A lost head file only costs duplicates, never a gap. */
	snprintf(path, sizeof path, "%s/head", fx->dir);
	assert_int_equal(unlink(path), 0);
	sp = sp_open(fx, 1 << 20);
	assert_int_equal(take(sp, NULL), 1);
	prev = 1;
	while ((s = take(sp, NULL)) != 0) {
		assert_int_equal(s, prev + 1);
		prev = s;
	}
	assert_int_equal(prev, 50);
	sp_close(fx, sp);
}

static void
test_spool_segment_vanished_under_the_sender_is_skipped_and_counted(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_frame	 f;
	struct spool_info	 si;
	char			 path[256];
	uint64_t		 s;
	int			 r;

	append_n(sp, 1, 100, 2000, true, NULL);	/* several 64 KiB segments */
	assert_true(count_segments(fx->dir) > 2);
	snprintf(path, sizeof path, "%s/%016x.seg", fx->dir, 1);
	assert_int_equal(unlink(path), 0);
	spool_rewind(sp);	/* read from disk, not from the append cache */
	r = spool_peek(sp, &f);
	assert_int_equal(r, -1);
	spool_get_info(sp, &si);
	assert_int_equal(si.cut_frames, 1);
	s = take(sp, NULL);
	assert_true(s > 1 && s < 100);
	sp_close(fx, sp);
}

static void
test_spool_second_opener_is_refused(void **state)
{
	struct fixture	*fx = *state;
	struct spool	*sp = sp_open(fx, 1 << 20);

	assert_null(spool_open(&fx->loop, fx->dir, 1 << 20, 1000000));
	sp_close(fx, sp);
	sp = sp_open(fx, 1 << 20);
	sp_close(fx, sp);
}

static void
cut_test(struct fixture *fx, bool torn)
{
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_info	 si;
	struct stat		 st;
	char			 path[256];
	uint64_t		 i;
	int			 fd;

	append_n(sp, 1, 20, 300, true, NULL);
	sp_close(fx, sp);
	last_segment(fx->dir, path, sizeof path);
	assert_int_equal(stat(path, &st), 0);
	if (torn)
		assert_int_equal(truncate(path, st.st_size - 7), 0);
	else {
		unsigned char	b;

		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &b, 1, st.st_size - 10), 1);
		b ^= 0x40;
		assert_int_equal(pwrite(fd, &b, 1, st.st_size - 10), 1);
		close(fd);
	}

	sp = sp_open(fx, 1 << 20);
	spool_get_info(sp, &si);
	assert_int_equal(si.cut_frames, 1);
	assert_true(si.cut_bytes > 0);
	assert_int_equal(si.records, 19);
	assert_int_equal(si.last_seq, 19);
	for (i = 1; i <= 19; i++)
		assert_int_equal(take(sp, NULL), i);
	assert_int_equal(take(sp, NULL), 0);
	/* Appends go on after the cut, not after the garbage. */
	append_n(sp, 20, 1, 300, true, NULL);
	assert_int_equal(take(sp, NULL), 20);
	sp_close(fx, sp);
	sp = sp_open(fx, 1 << 20);
	spool_get_info(sp, &si);
	assert_int_equal(si.cut_frames, 0);
	assert_int_equal(si.records, 20);
	sp_close(fx, sp);
}

static void
test_spool_torn_last_frame_is_cut_and_counted(void **state)
{
	cut_test(*state, true);
}

static void
test_spool_corrupt_last_frame_is_cut_and_counted(void **state)
{
	cut_test(*state, false);
}

static void
test_spool_full_drops_oldest_waiting_never_in_flight(void **state)
{
	struct fixture		*fx = *state;
	uint64_t		 max = 512 * 1024;	/* 64 KiB segments */
	struct spool		*sp = sp_open(fx, max);
	struct spool_frame	 inflight[10];
	struct spool_info	 si;
	uint64_t		 dropped = 0, d, i, s, prev, seen = 0, gap = 0;

	append_n(sp, 1, 10, 4000, true, NULL);
	for (i = 0; i < 10; i++)
		assert_int_equal(take(sp, &inflight[i]), i + 1);
	/* An outage: 1000 records of 4 KB do not fit in 512 KiB. */
	for (i = 11; i <= 1010; i++) {
		append_n(sp, i, 1, 4000, true, &d);
		dropped += d;
	}
	spool_get_info(sp, &si);
	assert_true(dropped > 0);
	assert_int_equal(si.dropped, dropped);
	assert_true(si.bytes <= max);
	/* The brokers come back: what was in flight is acknowledged. */
	for (i = 0; i < 10; i++)
		spool_release(sp, inflight[i].end, true);
	/* The rest arrives in order; the gap is exactly the drop count. */
	prev = 10;
	while ((s = take(sp, NULL)) != 0) {
		assert_true(s > prev);
		gap += s - prev - 1;
		prev = s;
		seen++;
	}
	assert_int_equal(prev, 1010);
	assert_int_equal(gap, dropped);
	assert_int_equal(seen + dropped, 1000);
	sp_close(fx, sp);
}

static void
test_spool_rewind_sends_again_from_oldest_unreleased(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_frame	 f;
	uint64_t		 i;

	append_n(sp, 1, 30, 500, false, NULL);
	for (i = 1; i <= 10; i++) {
		assert_int_equal(take(sp, &f), i);
		spool_release(sp, f.end, true);
	}
	for (i = 11; i <= 20; i++)
		assert_int_equal(take(sp, NULL), i);
	spool_rewind(sp);
	for (i = 11; i <= 30; i++)
		assert_int_equal(take(sp, NULL), i);
	assert_int_equal(take(sp, NULL), 0);
	sp_close(fx, sp);
}

static void
test_spool_split_record_counts_once_and_is_not_cut_by_rotation(void **state)
{
	struct fixture		*fx = *state;
	struct spool		*sp = sp_open(fx, 1 << 20);
	struct spool_info	 si;
	struct spool_frame	 f;
	msgpack_sbuffer		 sb;
	uint64_t		 d = 0;
	int			 p;

	msgpack_sbuffer_init(&sb);
	for (p = 0; p < 3; p++) {
		make_msg(&sb, 7, p, 3, 40000, true);
		assert_int_equal(spool_append(sp, sb.data, sb.size, 7, p == 0,
		    &d), 0);
	}
	msgpack_sbuffer_destroy(&sb);
	spool_get_info(sp, &si);
	assert_int_equal(si.records, 1);
	/* 120 KB of parts in one segment although segments are 64 KiB. */
	assert_int_equal(count_segments(fx->dir), 1);
	for (p = 0; p < 3; p++) {
		assert_int_equal(spool_peek(sp, &f), 1);
		assert_int_equal(f.seq, 7);
		assert_int_equal(f.record_start, p == 0);
		spool_advance(sp, &f);
		free(f.raw);
	}
	sp_close(fx, sp);
	sp = sp_open(fx, 1 << 20);
	spool_get_info(sp, &si);
	assert_int_equal(si.records, 1);
	assert_int_equal(si.last_seq, 7);
	sp_close(fx, sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spool_frames_come_back_in_order_with_their_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_release_deletes_acknowledged_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_restart_sends_unacknowledged_again_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_restart_without_head_file_sends_from_the_oldest_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_segment_vanished_under_the_sender_is_skipped_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_second_opener_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_torn_last_frame_is_cut_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_corrupt_last_frame_is_cut_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_full_drops_oldest_waiting_never_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_rewind_sends_again_from_oldest_unreleased, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_split_record_counts_once_and_is_not_cut_by_rotation, setup, teardown),
	};

	log_init("test-spool", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
