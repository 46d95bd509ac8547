/*
 * test-log.c: common/log.c writes one line per message, whatever the
 * message quotes: control characters from container content (a file or
 * process name with a newline or an escape sequence) are escaped as \xNN.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* Run fn with stderr sent to a temporary file; return what it wrote. */
static char *
captured(void (*fn)(void))
{
	FILE	*tmp = tmpfile();
	int	 saved = dup(STDERR_FILENO);
	char	*out = calloc(1, 8192);
	size_t	 n;

	assert_non_null(tmp);
	assert_non_null(out);
	fflush(stderr);
	assert_int_not_equal(dup2(fileno(tmp), STDERR_FILENO), -1);
	fn();
	fflush(stderr);
	assert_int_not_equal(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, 8191, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static void
log_hostile_name(void)
{
	log_warnx("rootfs: %s: not a regular file",
	    "/var/lib/dpkg/status.d/evil\nFORGED: info: all good\x1b[2J\x7f\tend");
}

static void
test_log_escapes_control_characters_from_container_names(void **state)
{
	char	*out = captured(log_hostile_name);

	assert_string_equal(out, "test-log: warning: rootfs: "
	    "/var/lib/dpkg/status.d/evil\\x0aFORGED: info: all good\\x1b[2J"
	    "\\x7f\tend: not a regular file\n");
	free(out);
}

static void
log_utf8(void)
{
	log_warnx("name: %s", "caf\xc3\xa9 \xff");
}

static void
test_log_keeps_other_bytes(void **state)
{
	char	*out = captured(log_utf8);

	assert_string_equal(out, "test-log: warning: name: caf\xc3\xa9 \xff\n");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_escapes_control_characters_from_container_names),
		cmocka_unit_test(test_log_keeps_other_bytes),
	};

	log_init("test-log", LOG_LEVEL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
