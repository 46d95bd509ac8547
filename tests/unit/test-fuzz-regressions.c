/*
 * test-fuzz-regressions.c: each input a fuzzer (tests/fuzz/) found to break
 * something, replayed against the fixed code.  The inputs are also in the
 * fuzz corpus (tests/fuzz/corpus/<target>/crash-*), where every fuzzing run
 * starts from them; here they run in every build, sanitized or not.
 *
 * Buffers are placed so that their last byte touches an inaccessible page:
 * a read past the end faults even without AddressSanitizer.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdio.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

struct guarded {
	void	*map;
	size_t	 maplen;
	char	*p;		/* len bytes, the last one before the guard page */
};

/* Copy len bytes (no terminator) right before a PROT_NONE page. */
static char *
guarded_copy(struct guarded *g, const void *data, size_t len)
{
	size_t	pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t	pages = (len + pg - 1) / pg + 1;

	g->maplen = pages * pg;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect((char *)g->map + (pages - 1) * pg, pg,
	    PROT_NONE), 0);
	g->p = (char *)g->map + (pages - 1) * pg - len;
	memcpy(g->p, data, len);
	return g->p;
}

static void
guarded_free(struct guarded *g)
{
	munmap(g->map, g->maplen);
}

static const struct tm_package *
find_pkg(const struct tm_image *img, const char *name)
{
	size_t	i;

	for (i = 0; i < img->n_packages; i++)
		if (strcmp(img->packages[i].name, name) == 0)
			return &img->packages[i];
	return NULL;
}

/*
 * fuzz-dpkg, corpus crash-source-past-the-end: a Source field on the last
 * line of a buffer without a newline.  The source name was measured with
 * strcspn, which needs a NUL: it read past the end of the buffer.
 */
static void
test_dpkg_source_on_last_line_is_read_within_the_buffer(void **state)
{
	static const char text[] =
	    "Package: libfoo\n"
	    "Status: install ok installed\n"
	    "Version: 1.2-3\n"
	    "Source: foo";			/* no newline, no NUL */
	struct tm_image		 img;
	struct inventory_scan	 s;
	struct guarded		 g;
	const struct tm_package	*p;
	char			*buf;

	buf = guarded_copy(&g, text, sizeof(text) - 1);
	memset(&img, 0, sizeof(img));
	memset(&s, 0, sizeof(s));
	s.img = &img;
	s.max_file = INVENTORY_MAX_FILE;
	assert_int_equal(inventory_dpkg_parse(&s, buf, sizeof(text) - 1,
	    "status", 0), 0);
	assert_non_null(p = find_pkg(&img, "libfoo"));
	assert_string_equal(p->source_name, "foo");
	assert_string_equal(p->source_version, "1.2-3");
	inventory_image_free(&img);
	guarded_free(&g);
}

/*
 * fuzz-docker and fuzz-containerd: a creation time in year 9999 (Docker's
 * RFC 3339 text, containerd's Timestamp seconds) overflowed the 64-bit
 * nanoseconds; the record then held a time the schema refuses (over
 * 2^63 - 1), so the container's records could never be encoded.  Times
 * past 2262 are now unknown (0), like times before 1970.
 */
static void
test_docker_time_beyond_int64_nanoseconds_is_unknown(void **state)
{
	uint64_t	ns = 1;

	assert_int_equal(inspect_docker_time("9999-12-31T23:59:59.999999999Z",
	    &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(inspect_docker_time("2262-04-12T00:00:00Z", &ns), 0);
	assert_int_equal(ns, 0);
	/* the last representable second still is */
	assert_int_equal(inspect_docker_time("2262-04-11T23:47:15Z", &ns), 0);
	assert_true(ns > 0 && ns <= (uint64_t)INT64_MAX);
	assert_int_equal(inspect_docker_time("2024-01-02T03:04:05.5Z", &ns), 0);
	assert_int_equal(ns, 1704164645500000000ull);
}

/*
 * fuzz-spool, corpus crash-envelope-count-lies: a frame whose checksum and
 * zstd are sound but whose envelope claims 2^30 map entries in 8 bytes.
 * The spool read it with msgpack_unpack_next, which allocates for the
 * claimed count first (16 GiB here; an out-of-memory abort under ASan)
 * instead of tm_unpack's bounded pre-scan.  Recovery cuts it, counted.
 */
static void
test_spool_envelope_with_a_lying_count_is_cut_without_allocating(void **state)
{
	static const uint8_t env[] = {
		0xdf, 0x40, 0x00, 0x00, 0x00,	/* map32, 2^30 entries */
		0xa1, 's', 0x01
	};
	char			 dir[] = "/tmp/tm-fuzzreg-spool-XXXXXX", path[256];
	uint8_t			*frame = NULL;
	size_t			 len = 0, cap = 0;
	struct spool		*sp;
	struct spool_info	 si;
	uv_loop_t		 loop;
	FILE			*fp;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(zframe_encode(env, sizeof(env), 1, &frame, &len, &cap), 0);
	snprintf(path, sizeof(path), "%s/0000000000000001.seg", dir);
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(frame, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	free(frame);

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_non_null(sp = spool_open(&loop, dir, 1 << 20, 1000000));
	spool_get_info(sp, &si);
	assert_int_equal(si.cut_frames, 1);
	assert_int_equal(si.records, 0);
	assert_false(si.has_last_seq);
	spool_close(sp);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);

	unlink(path);
	snprintf(path, sizeof(path), "%s/head", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpkg_source_on_last_line_is_read_within_the_buffer),
		cmocka_unit_test(test_docker_time_beyond_int64_nanoseconds_is_unknown),
		cmocka_unit_test(test_spool_envelope_with_a_lying_count_is_cut_without_allocating),
	};

	log_init("test-fuzz-regressions", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
