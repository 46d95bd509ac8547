/* test-config.c: the declarative configuration table (common/config.c). */
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
	char	*name;
	char	*mode;
	char	*empty;
	int64_t	 workers;
	int64_t	 offset;
	int	 verbose;
	uint64_t max_bytes;
	uint64_t interval;
	char	*peers;
	struct cfg_passthrough kafka;
	char	*db_password;
	char	*token_file;
	char	*brokers;
};

static int
mode_check(const char *v, const char **why)
{
	if (strcmp(v, "fast") == 0 || strcmp(v, "slow") == 0)
		return 0;
	*why = "expected fast or slow";
	return -1;
}

static const struct cfg_entry ttable[] = {
	{ .key = "name", .type = CFG_STRING, .def = "tally",
	  .offset = offsetof(struct tcfg, name), .help = "a name" },
	{ .key = "mode", .type = CFG_STRING, .def = "fast",
	  .offset = offsetof(struct tcfg, mode), .help = "fast or slow",
	  .check = mode_check },
	{ .key = "empty", .type = CFG_STRING, .def = NULL,
	  .offset = offsetof(struct tcfg, empty), .help = "empty default" },
	{ .key = "workers", .type = CFG_INT, .def = "4",
	  .offset = offsetof(struct tcfg, workers), .help = "threads",
	  .min = 1, .max = 64 },
	{ .key = "offset", .type = CFG_INT, .def = "-5",
	  .offset = offsetof(struct tcfg, offset), .help = "unbounded" },
	{ .key = "verbose", .type = CFG_BOOL, .def = "no",
	  .offset = offsetof(struct tcfg, verbose), .help = "chatty" },
	{ .key = "spool.max_bytes", .type = CFG_SIZE, .def = "256M",
	  .offset = offsetof(struct tcfg, max_bytes), .help = "bound" },
	{ .key = "sync.interval", .type = CFG_DURATION, .def = "200ms",
	  .offset = offsetof(struct tcfg, interval), .help = "sync" },
	{ .key = "peers", .type = CFG_LIST, .def = "a,b",
	  .offset = offsetof(struct tcfg, peers), .help = "peers" },
	{ .key = "kafka.brokers", .type = CFG_STRING, .def = "localhost:9092",
	  .offset = offsetof(struct tcfg, brokers),
	  .help = "explicit key under the passthrough prefix" },
	{ .key = "kafka.*", .type = CFG_PASSTHROUGH,
	  .offset = offsetof(struct tcfg, kafka), .help = "librdkafka" },
	{ .key = "db.password", .type = CFG_STRING, .def = "",
	  .offset = offsetof(struct tcfg, db_password), .help = "secret" },
	{ .key = "api.token_file", .type = CFG_STRING, .def = "/etc/t",
	  .offset = offsetof(struct tcfg, token_file), .help = "path" },
};

static const struct cfg_entry *const table = ttable;
#define NT TM_NELEM(ttable)

struct fixture {
	struct tcfg	 c;
	char		 path[64];
	char		 err[512];
};

static int
setup(void **state)
{
	struct fixture	*f = xcalloc(1, sizeof *f);

	assert_int_equal(cfg_defaults(table, NT, &f->c), 0);
	snprintf(f->path, sizeof f->path, "/tmp/tm-common-cfgXXXXXX");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	cfg_free(table, NT, &f->c);
	if (strstr(f->path, "XXXXXX") == NULL)
		unlink(f->path);
	free(f);
	return 0;
}

/* Write text to a new temp file in f->path (replacing an earlier one). */
static void
write_file(struct fixture *f, const char *text, size_t len)
{
	int	fd;

	if (strstr(f->path, "XXXXXX") == NULL)
		unlink(f->path);
	snprintf(f->path, sizeof f->path, "/tmp/tm-common-cfgXXXXXX");
	fd = mkstemp(f->path);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Load text as a config file; returns cfg_load_file's result. */
static int
load(struct fixture *f, const char *text)
{
	write_file(f, text, strlen(text));
	f->err[0] = '\0';
	return cfg_load_file(table, NT, &f->c, f->path, f->err, sizeof f->err);
}

/* The error must be exactly "PATH:LINE: rest". */
static void
assert_err(struct fixture *f, unsigned line, const char *rest)
{
	char	want[512];

	snprintf(want, sizeof want, "%s:%u: %s", f->path, line, rest);
	assert_string_equal(f->err, want);
}

static void
test_defaults_fill_every_type(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->c.mode, "fast");
	assert_non_null(f->c.empty);
	assert_string_equal(f->c.empty, "");
	assert_int_equal(f->c.workers, 4);
	assert_int_equal(f->c.offset, -5);
	assert_int_equal(f->c.verbose, 0);
	assert_int_equal(f->c.max_bytes, 256ull << 20);
	assert_int_equal(f->c.interval, 200000000ull);
	assert_string_equal(f->c.peers, "a,b");
	assert_int_equal(f->c.kafka.n, 0);
	assert_string_equal(f->c.token_file, "/etc/t");
}

static void
test_bad_default_is_reported(void **state)
{
	static const struct cfg_entry bad[] = {
		{ .key = "x", .type = CFG_SIZE, .def = "12Q",
		  .offset = 0, .help = "broken" },
	};
	uint64_t	v = 0;

	(void)state;
	assert_int_equal(cfg_defaults(bad, 1, &v), -1);
}

static void
test_file_syntax_comments_blanks_quotes_trailing_space(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f,
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment\n"
	    "name=plain\n"
	    "empty   =   \"  kept spaces  \"   \n"
	    "mode = slow\r\n"
	    "db.password = \"p#ss=word\"\n"
	    "peers = x, y ,z\n"
	    "workers = 64"), 0);	/* no final newline */
	assert_string_equal(f->c.name, "plain");
	assert_string_equal(f->c.empty, "  kept spaces  ");
	assert_string_equal(f->c.mode, "slow");
	assert_string_equal(f->c.db_password, "p#ss=word");
	assert_string_equal(f->c.peers, "x, y ,z");
	assert_int_equal(f->c.workers, 64);
	/* untouched keys keep their defaults */
	assert_int_equal(f->c.interval, 200000000ull);
}

static void
test_quotes_empty_value_and_inner_quote(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "name = \"\"\nempty = a \"quoted\" word\n"), 0);
	assert_string_equal(f->c.name, "");
	assert_string_equal(f->c.empty, "a \"quoted\" word");
}

static void
test_int_bounds_and_syntax(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_set(table, NT, &f->c, "workers", "1", f->err,
	    sizeof f->err), 0);
	assert_int_equal(f->c.workers, 1);
	assert_int_equal(cfg_set(table, NT, &f->c, "workers", "0", f->err,
	    sizeof f->err), -1);
	assert_string_equal(f->err, "bad value (out of range 1..64): workers=0");
	assert_int_equal(cfg_set(table, NT, &f->c, "workers", "65", f->err,
	    sizeof f->err), -1);
	assert_int_equal(cfg_set(table, NT, &f->c, "workers", "4x", f->err,
	    sizeof f->err), -1);
	assert_string_equal(f->err,
	    "bad value (expected an integer): workers=4x");
	assert_int_equal(cfg_set(table, NT, &f->c, "workers", "", f->err,
	    sizeof f->err), -1);
	assert_int_equal(f->c.workers, 1);	/* failures change nothing */
	assert_int_equal(cfg_set(table, NT, &f->c, "offset",
	    "-9223372036854775808", f->err, sizeof f->err), 0);
	assert_true(f->c.offset == INT64_MIN);
	assert_int_equal(cfg_set(table, NT, &f->c, "offset",
	    "9223372036854775808", f->err, sizeof f->err), -1);
}

static void
test_bool_spellings(void **state)
{
	struct fixture *f = *state;
	static const char *const yes[] = { "yes", "TRUE", "on", "1" };
	static const char *const no[] = { "no", "False", "OFF", "0" };
	size_t	i;

	for (i = 0; i < TM_NELEM(yes); i++) {
		assert_int_equal(cfg_set(table, NT, &f->c, "verbose", yes[i],
		    f->err, sizeof f->err), 0);
		assert_int_equal(f->c.verbose, 1);
		assert_int_equal(cfg_set(table, NT, &f->c, "verbose", no[i],
		    f->err, sizeof f->err), 0);
		assert_int_equal(f->c.verbose, 0);
	}
	assert_int_equal(cfg_set(table, NT, &f->c, "verbose", "maybe",
	    f->err, sizeof f->err), -1);
	assert_string_equal(f->err,
	    "bad value (expected yes or no): verbose=maybe");
}

static void
test_size_suffixes(void **state)
{
	uint64_t	v;

	(void)state;
	assert_int_equal(cfg_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(cfg_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cfg_parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cfg_parse_size("100M", &v), 0);
	assert_int_equal(v, 100ull << 20);
	assert_int_equal(cfg_parse_size("2G", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(cfg_parse_size("3GiB", &v), 0);
	assert_int_equal(v, 3ull << 30);
	assert_int_equal(cfg_parse_size("1T", &v), 0);
	assert_int_equal(v, 1ull << 40);
	assert_int_equal(cfg_parse_size("7B", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cfg_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	/* rejected: no digits, unknown or doubled unit, blanks, sign, overflow */
	assert_int_equal(cfg_parse_size("", &v), -1);
	assert_int_equal(cfg_parse_size("M", &v), -1);
	assert_int_equal(cfg_parse_size("10X", &v), -1);
	assert_int_equal(cfg_parse_size("10MM", &v), -1);
	assert_int_equal(cfg_parse_size("10 M", &v), -1);
	assert_int_equal(cfg_parse_size("-1", &v), -1);
	assert_int_equal(cfg_parse_size("1.5G", &v), -1);
	assert_int_equal(cfg_parse_size("16777216T", &v), -1);
	assert_int_equal(cfg_parse_size("18446744073709551616", &v), -1);
	assert_int_equal(cfg_parse_size("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void
test_duration_units(void **state)
{
	uint64_t	v;

	(void)state;
	assert_int_equal(cfg_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250000000ull);
	assert_int_equal(cfg_parse_duration("30s", &v), 0);
	assert_int_equal(v, 30000000000ull);
	assert_int_equal(cfg_parse_duration("30", &v), 0);
	assert_int_equal(v, 30000000000ull);
	assert_int_equal(cfg_parse_duration("5m", &v), 0);
	assert_int_equal(v, 300000000000ull);
	assert_int_equal(cfg_parse_duration("6h", &v), 0);
	assert_int_equal(v, 6ull * 3600 * 1000000000ull);
	assert_int_equal(cfg_parse_duration("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cfg_parse_duration("", &v), -1);
	assert_int_equal(cfg_parse_duration("s", &v), -1);
	assert_int_equal(cfg_parse_duration("2d", &v), 0);
	assert_int_equal(v, 2ull * 86400 * 1000000000ull);
	assert_int_equal(cfg_parse_duration("5w", &v), -1);
	assert_int_equal(cfg_parse_duration("5 s", &v), -1);
	assert_int_equal(cfg_parse_duration("1.5s", &v), -1);
	assert_int_equal(cfg_parse_duration("5H", &v), -1);
	/* 2^64 ns is about 584 years: more hours than that overflow */
	assert_int_equal(cfg_parse_duration("5124096h", &v), -1);
	assert_int_equal(cfg_parse_duration("5124095h", &v), 0);
}

static void
test_list_items_and_split(void **state)
{
	struct fixture *f = *state;
	char	**l;
	size_t	 n;

	assert_int_equal(cfg_set(table, NT, &f->c, "peers", "", f->err,
	    sizeof f->err), 0);
	l = cfg_list_split(f->c.peers, &n);
	assert_int_equal(n, 0);
	assert_null(l[0]);
	cfg_list_free(l);

	assert_int_equal(load(f, "peers = \" one ,two,  three \"\n"), 0);
	l = cfg_list_split(f->c.peers, &n);
	assert_int_equal(n, 3);
	assert_string_equal(l[0], "one");
	assert_string_equal(l[1], "two");
	assert_string_equal(l[2], "three");
	assert_null(l[3]);
	cfg_list_free(l);

	assert_int_equal(cfg_set(table, NT, &f->c, "peers", "a,,b", f->err,
	    sizeof f->err), -1);
	assert_string_equal(f->err,
	    "bad value (empty item in comma-separated list): peers=a,,b");
	assert_int_equal(cfg_set(table, NT, &f->c, "peers", "a, ", f->err,
	    sizeof f->err), -1);
	assert_string_equal(f->c.peers, " one ,two,  three ");
}

static void
test_string_check_callback(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "mode = medium\n"), -1);
	assert_err(f, 1, "bad value (expected fast or slow): mode = medium");
	assert_string_equal(f->c.mode, "fast");
}

static void
test_passthrough_collects_unknown_prefixed_keys(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f,
	    "kafka.security.protocol = SASL_SSL\n"
	    "kafka.brokers = b1:9092\n"
	    "kafka.sasl.password = \"hunter2\"\n"), 0);
	assert_int_equal(f->c.kafka.n, 2);
	assert_string_equal(f->c.kafka.pairs[0].key, "security.protocol");
	assert_string_equal(f->c.kafka.pairs[0].value, "SASL_SSL");
	assert_int_equal(f->c.kafka.pairs[0].line, 1);
	assert_string_equal(f->c.kafka.pairs[1].key, "sasl.password");
	assert_string_equal(f->c.kafka.pairs[1].value, "hunter2");
	assert_int_equal(f->c.kafka.pairs[1].line, 3);
	/* the explicit key won over the prefix */
	assert_string_equal(f->c.brokers, "b1:9092");
	/* -o replaces a pair rather than adding a second one */
	assert_int_equal(cfg_set(table, NT, &f->c, "kafka.security.protocol",
	    "SSL", f->err, sizeof f->err), 0);
	assert_int_equal(f->c.kafka.n, 2);
	assert_string_equal(f->c.kafka.pairs[0].value, "SSL");
	assert_int_equal(f->c.kafka.pairs[0].line, 0);
}

static void
test_passthrough_prefix_alone_is_unknown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "kafka. = x\n"), -1);
	assert_err(f, 1, "unknown key: kafka.");
	assert_int_equal(f->c.kafka.n, 0);
}

static void
test_error_unknown_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "# c\nname = x\nnmae = y\n"), -1);
	assert_err(f, 3, "unknown key: nmae");
}

static void
test_error_bad_value_names_key_and_value(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "\n\nspool.max_bytes = 12 parsecs\n"), -1);
	assert_err(f, 3, "bad value (expected a size such as 512, 64K, 100M, "
	    "2G): spool.max_bytes = 12 parsecs");
}

static void
test_error_bad_duration(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "sync.interval = 3 weeks\n"), -1);
	assert_err(f, 1, "bad value (expected a duration such as 250ms, 30s, "
	    "5m, 6h): sync.interval = 3 weeks");
}

static void
test_error_duplicate_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "workers = 2\nname = a\nworkers = 3\n"), -1);
	assert_err(f, 3, "duplicate key (first set on line 1): workers");
}

static void
test_error_duplicate_passthrough_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "kafka.acks = 1\nkafka.acks = all\n"), -1);
	assert_err(f, 2, "duplicate key (first set on line 1): kafka.acks");
}

static void
test_error_missing_equals(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "name x\n"), -1);
	assert_err(f, 1, "missing '=' (expected key = value): name x");
}

static void
test_error_missing_and_bad_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "= x\n"), -1);
	assert_err(f, 1, "missing key: = x");
	assert_int_equal(load(f, "na me = x\n"), -1);
	assert_err(f, 1, "bad key: na me");
}

static void
test_error_unterminated_quote(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "name = \"abc\n"), -1);
	assert_err(f, 1, "unterminated quote: \"abc");
}

static void
test_error_line_too_long_is_cut(void **state)
{
	struct fixture *f = *state;
	char	*text = xmalloc(6000);
	char	 want[200];

	memset(text, 'a', 5000);
	memcpy(text, "name = ", 7);
	strcpy(text + 5000, "\nworkers = 2\n");
	assert_int_equal(load(f, text), -1);
	/* the offending text is shown, cut at 80 bytes */
	snprintf(want, sizeof want,
	    "line too long (over 4096 bytes): name = %.*s...", 73,
	    text + 7);
	assert_err(f, 1, want);
	free(text);
}

static void
test_line_of_exactly_the_limit_is_accepted(void **state)
{
	struct fixture *f = *state;
	char	*text = xmalloc(4200);

	memcpy(text, "name = ", 7);
	memset(text + 7, 'b', 4096 - 7);
	strcpy(text + 4096, "\n");
	assert_int_equal(load(f, text), 0);
	assert_int_equal(strlen(f->c.name), 4096 - 7);
	free(text);
}

static void
test_error_nul_byte_and_control_characters(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "name = a\0b\n";

	write_file(f, text, sizeof text - 1);
	assert_int_equal(cfg_load_file(table, NT, &f->c, f->path, f->err,
	    sizeof f->err), -1);
	assert_err(f, 1, "NUL byte in line: name = a");
	/* terminal escapes are not echoed back */
	assert_int_equal(cfg_set(table, NT, &f->c, "name", "x\033[2J", f->err,
	    sizeof f->err), -1);
	assert_string_equal(f->err, "bad value (control character): name=x?[2J");
}

static void
test_error_missing_file(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_load_file(table, NT, &f->c,
	    "/nonexistent/tallyman.conf", f->err, sizeof f->err), -1);
	assert_string_equal(f->err,
	    "/nonexistent/tallyman.conf: No such file or directory");
}

static void
test_set_unknown_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_set(table, NT, &f->c, "nope", "1", f->err,
	    sizeof f->err), -1);
	assert_string_equal(f->err, "unknown key: nope=1");
}

/* Print the effective config, then load that output back: same values. */
static void
test_print_round_trips_and_masks_secrets(void **state)
{
	struct fixture *f = *state;
	struct tcfg	back;
	char		pathback[] = "/tmp/tm-common-cfgXXXXXX";
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*mem;
	int		 fd;

	assert_int_equal(load(f,
	    "empty = \" sp \"\n"
	    "workers = 7\n"
	    "verbose = on\n"
	    "spool.max_bytes = 3072\n"
	    "sync.interval = 90s\n"
	    "peers = p1,p2\n"
	    "kafka.ssl.ca.location = /etc/ca.pem\n"
	    "kafka.sasl.password = hunter2\n"
	    "db.password = s3cret\n"), 0);
	mem = open_memstream(&text, &len);
	cfg_print(mem, table, NT, &f->c);
	fclose(mem);
	assert_non_null(strstr(text, "spool.max_bytes = 3K\n"));
	assert_non_null(strstr(text, "sync.interval = 90s\n"));
	assert_non_null(strstr(text, "verbose = yes\n"));
	assert_non_null(strstr(text, "kafka.ssl.ca.location = \"/etc/ca.pem\"\n"));
	assert_non_null(strstr(text, "kafka.sasl.password = \"********\"\n"));
	assert_non_null(strstr(text, "db.password = \"********\"\n"));
	assert_non_null(strstr(text, "api.token_file = \"/etc/t\"\n"));
	assert_null(strstr(text, "hunter2"));
	assert_null(strstr(text, "s3cret"));

	memset(&back, 0, sizeof back);
	assert_int_equal(cfg_defaults(table, NT, &back), 0);
	fd = mkstemp(pathback);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_int_equal(cfg_load_file(table, NT, &back, pathback, f->err,
	    sizeof f->err), 0);
	unlink(pathback);
	assert_string_equal(back.empty, " sp ");
	assert_int_equal(back.workers, 7);
	assert_int_equal(back.verbose, 1);
	assert_int_equal(back.max_bytes, 3072);
	assert_int_equal(back.interval, 90000000000ull);
	assert_string_equal(back.peers, "p1,p2");
	assert_int_equal(back.kafka.n, 2);
	assert_string_equal(back.kafka.pairs[0].value, "/etc/ca.pem");
	cfg_free(table, NT, &back);
	free(text);
}

static void
test_help_lists_every_key_with_default(void **state)
{
	char	*text = NULL;
	size_t	 len = 0, i;
	FILE	*mem;

	(void)state;
	mem = open_memstream(&text, &len);
	cfg_print_help(mem, table, NT);
	fclose(mem);
	for (i = 0; i < NT; i++)
		assert_non_null(strstr(text, ttable[i].key));
	assert_non_null(strstr(text, "integer 1..64, default 4"));
	assert_non_null(strstr(text, "size, default 256M"));
	assert_non_null(strstr(text, "duration, default 200ms"));
	assert_non_null(strstr(text, "default empty"));
	assert_non_null(strstr(text, "librdkafka"));
	free(text);
}

static void
test_free_clears_pointers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "kafka.acks = all\n"), 0);
	cfg_free(table, NT, &f->c);
	assert_null(f->c.name);
	assert_null(f->c.peers);
	assert_null(f->c.kafka.pairs);
	assert_int_equal(f->c.kafka.n, 0);
	cfg_free(table, NT, &f->c);	/* twice is harmless */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults_fill_every_type),
		T(test_bad_default_is_reported),
		T(test_file_syntax_comments_blanks_quotes_trailing_space),
		T(test_quotes_empty_value_and_inner_quote),
		T(test_int_bounds_and_syntax),
		T(test_bool_spellings),
		T(test_size_suffixes),
		T(test_duration_units),
		T(test_list_items_and_split),
		T(test_string_check_callback),
		T(test_passthrough_collects_unknown_prefixed_keys),
		T(test_passthrough_prefix_alone_is_unknown),
		T(test_error_unknown_key),
		T(test_error_bad_value_names_key_and_value),
		T(test_error_bad_duration),
		T(test_error_duplicate_key),
		T(test_error_duplicate_passthrough_key),
		T(test_error_missing_equals),
		T(test_error_missing_and_bad_key),
		T(test_error_unterminated_quote),
		T(test_error_line_too_long_is_cut),
		T(test_line_of_exactly_the_limit_is_accepted),
		T(test_error_nul_byte_and_control_characters),
		T(test_error_missing_file),
		T(test_set_unknown_key),
		T(test_print_round_trips_and_masks_secrets),
		T(test_help_lists_every_key_with_default),
		T(test_free_clears_pointers),
	};

	log_init("test-config", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
