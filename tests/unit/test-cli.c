/* test-cli.c: the shared command line and configuration loading (common/cli.c). */
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

struct tcfg {
	char	*log_level;
	char	*name;
	uint64_t max;
};

static const struct cfg_entry table[] = {
	{ .key = "log.level", .type = CFG_STRING, .def = "info",
	  .offset = offsetof(struct tcfg, log_level),
	  .check = cfg_check_log_level, .help = "level" },
	{ .key = "name", .type = CFG_STRING, .def = "dflt",
	  .offset = offsetof(struct tcfg, name), .help = "name" },
	{ .key = "max", .type = CFG_SIZE, .def = "1K",
	  .offset = offsetof(struct tcfg, max), .help = "max" },
};

/*
 * Parse a NULL-terminated argument list (copied, as getopt may permute a
 * real argv); returns cli_parse's result.  The copies stay allocated for
 * the pointers o keeps; the test frees them with free_argv.
 */
static char **argv_copy;

static int
parse(struct cli_opts *o, const char *const *args)
{
	int	argc = 0, i;

	while (args[argc] != NULL)
		argc++;
	argv_copy = xcalloc((size_t)argc + 1, sizeof *argv_copy);
	for (i = 0; i < argc; i++)
		argv_copy[i] = xstrdup(args[i]);
	memset(o, 0, sizeof *o);
	return cli_parse("test", argc, argv_copy, o);
}

static void
free_argv(void)
{
	size_t	i;

	for (i = 0; argv_copy[i] != NULL; i++)
		free(argv_copy[i]);
	free(argv_copy);
}

static void
test_options_stop_at_the_subcommand(void **state)
{
	static const char *const argv[] = { "prog", "-c", "/x.conf", "-o",
		    "a=1", "--log-level",
		    "debug", "--check-config", "snapshot", "-o", "b=2", "--json",
		    NULL };
	struct cli_opts o;

	(void)state;
	assert_int_equal(parse(&o, argv), 0);
	assert_string_equal(o.config_path, "/x.conf");
	assert_string_equal(o.log_level, "debug");
	assert_int_equal(o.check_config, 1);
	assert_int_equal(o.noverrides, 1);
	assert_string_equal(o.overrides[0], "a=1");
	assert_int_equal(o.argi, 8);
	assert_string_equal(argv_copy[o.argi], "snapshot");
	cli_free(&o);
	free_argv();
}

static void
test_long_and_short_forms(void **state)
{
	static const char *const argv[] = { "prog", "--config=/y.conf", "-V",
		"-h", NULL };
	struct cli_opts o;

	(void)state;
	assert_int_equal(parse(&o, argv), 0);
	assert_string_equal(o.config_path, "/y.conf");
	assert_int_equal(o.version, 1);
	assert_int_equal(o.help, 1);
	assert_int_equal(o.argi, 4);
	cli_free(&o);
	free_argv();
}

static void
test_usage_errors(void **state)
{
	static const char *const noeq[] = { "prog", "-o", "novalue", NULL };
	static const char *const unknown[] = { "prog", "--frobnicate", NULL };
	static const char *const missing[] = { "prog", "--config", NULL };
	struct cli_opts o;

	(void)state;
	assert_int_equal(parse(&o, noeq), -1);
	cli_free(&o);
	free_argv();
	assert_int_equal(parse(&o, unknown), -1);
	cli_free(&o);
	free_argv();
	assert_int_equal(parse(&o, missing), -1);
	cli_free(&o);
	free_argv();
}

static char *
temp_conf(const char *text)
{
	char	*path = xstrdup("/tmp/tm-common-cliXXXXXX");
	int	 fd = mkstemp(path);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_missing_default_file_means_defaults(void **state)
{
	struct cli_opts	o;
	struct tcfg	c;
	const char	*used = "x";

	(void)state;
	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    "/nonexistent/tallyman/test.conf", &used), 0);
	assert_null(used);
	assert_string_equal(c.name, "dflt");
	cfg_free(table, TM_NELEM(table), &c);
}

static void
test_missing_explicit_file_is_an_error(void **state)
{
	struct cli_opts	o;
	struct tcfg	c;
	const char	*used;

	(void)state;
	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	o.config_path = "/nonexistent/tallyman/test.conf";
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    "/also/missing", &used), -1);
	cfg_free(table, TM_NELEM(table), &c);
}

static void
test_file_then_overrides_then_log_level(void **state)
{
	char		*path = temp_conf("name = fromfile\nmax = 2K\n"
			    "log.level = warning\n");
	const char	*ov[] = { "name=first", "name=second", "max=4K" };
	struct cli_opts	 o;
	struct tcfg	 c;
	const char	*used;

	(void)state;
	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	o.config_path = path;
	o.overrides = ov;
	o.noverrides = 3;
	o.log_level = "error";
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    "/unused", &used), 0);
	assert_string_equal(used, path);
	assert_string_equal(c.name, "second");
	assert_int_equal(c.max, 4096);
	assert_string_equal(c.log_level, "error");
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
	cfg_free(table, TM_NELEM(table), &c);

	/* the file's level applies when no --log-level is given */
	memset(&c, 0, sizeof c);
	o.log_level = NULL;
	o.noverrides = 0;
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    "/unused", &used), 0);
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	cfg_free(table, TM_NELEM(table), &c);
	unlink(path);
	free(path);
}

static void
test_bad_override_and_bad_log_level_fail(void **state)
{
	const char	*ov[] = { "nosuch=1" };
	struct cli_opts	 o;
	struct tcfg	 c;
	const char	*used;

	(void)state;
	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	o.overrides = ov;
	o.noverrides = 1;
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    "/missing", &used), -1);
	cfg_free(table, TM_NELEM(table), &c);
	memset(&c, 0, sizeof c);
	o.noverrides = 0;
	o.log_level = "loud";
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    "/missing", &used), -1);
	cfg_free(table, TM_NELEM(table), &c);
}

static void
test_bad_file_fails(void **state)
{
	char		*path = temp_conf("name = ok\nbogus = 1\n");
	struct cli_opts	 o;
	struct tcfg	 c;
	const char	*used;

	(void)state;
	memset(&o, 0, sizeof o);
	memset(&c, 0, sizeof c);
	/* even as the default path: it exists, so it must be valid */
	assert_int_equal(cli_load_config(&o, table, TM_NELEM(table), &c,
	    path, &used), -1);
	cfg_free(table, TM_NELEM(table), &c);
	unlink(path);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_stop_at_the_subcommand),
		cmocka_unit_test(test_long_and_short_forms),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_missing_default_file_means_defaults),
		cmocka_unit_test(test_missing_explicit_file_is_an_error),
		cmocka_unit_test(test_file_then_overrides_then_log_level),
		cmocka_unit_test(test_bad_override_and_bad_log_level_fail),
		cmocka_unit_test(test_bad_file_fails),
	};

	/* errors are expected: keep stderr quiet unless something breaks */
	log_init("test-cli", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
