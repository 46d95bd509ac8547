/*
 * fuzz-config.c: the configuration reader (common/config.c) with the
 * agent's and the collector's real tables, on hostile files and -o values.
 *
 * Input: one flags byte (bit 0: the collector's table, else the agent's),
 * then fuzz_next chunks: the file, then "key=value" overrides for cfg_set.
 * The file is handed to cfg_load_file through a memfd.  Properties:
 *   - every error message names the file ("PATH:LINE: ...");
 *   - what loads prints (cfg_print) as a file that loads again and prints
 *     the same bytes: the printed configuration is faithful.
 */
#define _GNU_SOURCE
#include "config.h"

#include <sys/mman.h>
#include <unistd.h>

#include "agent/agent.h"
#include "collector/collector.h"
#include "tests/fuzz/fuzz.h"

static int	file_fd = -1, print_fd = -1;
static char	file_path[64], print_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if ((file_fd = memfd_create("fuzz-config", 0)) == -1 ||
	    (print_fd = memfd_create("fuzz-config-print", 0)) == -1) {
		perror("memfd_create");
		abort();
	}
	snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
	snprintf(print_path, sizeof(print_path), "/proc/self/fd/%d", print_fd);
	return 0;
}

static void
put(int fd, const void *p, size_t len)
{
	if (ftruncate(fd, 0) == -1 || (len > 0 && pwrite(fd, p, len, 0) !=
	    (ssize_t)len)) {
		perror("fuzz-config: memfd");
		abort();
	}
}

/* cfg_print of base, as a malloc'd string. */
static char *
print(const struct cfg_entry *t, size_t n, const void *base, size_t *len)
{
	char	*out = NULL;
	FILE	*fp = open_memstream(&out, len);

	if (fp == NULL)
		abort();
	cfg_print(fp, t, n, base);
	fclose(fp);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cursor	 c;
	union {
		struct agent_config	a;
		struct collector_config	c;
	}			 cfg, again;
	const struct cfg_entry	*t;
	const uint8_t		*chunk;
	size_t			 n, len, plen, plen2;
	char			 err[512], *p1, *p2, *kv, *eq;
	int			 r;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		t = collector_config_table;
		n = collector_config_table_len;
	} else {
		t = agent_config_table;
		n = agent_config_table_len;
	}
	c.p = data + 1;
	c.left = size - 1;
	if (!fuzz_next(&c, &chunk, &len))
		return 0;
	put(file_fd, chunk, len);
	memset(&cfg, 0, sizeof(cfg));
	if (cfg_defaults(t, n, &cfg) == -1)
		fuzz_fail("the defaults of a real table do not parse");
	err[0] = '\0';
	r = cfg_load_file(t, n, &cfg, file_path, err, sizeof(err));
	if (r == -1 && strncmp(err, file_path, strlen(file_path)) != 0)
		fuzz_fail("error without the file name: \"%s\"", err);
	while (r == 0 && fuzz_next(&c, &chunk, &len)) {
		kv = fuzz_dup(chunk, len);
		kv = realloc(kv, len + 1);
		kv[len] = '\0';
		if ((eq = strchr(kv, '=')) != NULL) {
			*eq = '\0';
			cfg_set(t, n, &cfg, kv, eq + 1, err, sizeof(err));
		}
		free(kv);
	}
	if (r == 0) {
		p1 = print(t, n, &cfg, &plen);
		put(print_fd, p1, plen);
		memset(&again, 0, sizeof(again));
		cfg_defaults(t, n, &again);
		if (cfg_load_file(t, n, &again, print_path, err,
		    sizeof(err)) == -1)
			fuzz_fail("the printed configuration does not load: %s",
			    err);
		p2 = print(t, n, &again, &plen2);
		if (plen != plen2 || memcmp(p1, p2, plen) != 0)
			fuzz_fail("printed twice, the configuration changed:\n"
			    "%s\n---\n%s", p1, p2);
		free(p1);
		free(p2);
		cfg_free(t, n, &again);
	}
	cfg_free(t, n, &cfg);
	return 0;
}
