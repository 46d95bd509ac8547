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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpkg_source_on_last_line_is_read_within_the_buffer),
	};

	log_init("test-fuzz-regressions", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
