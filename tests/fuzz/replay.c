/*
 * replay.c: a fuzz target's whole seed corpus (tests/fuzz/corpus/<target>/,
 * every crash a fuzzer found included, as crash-*) replayed through the
 * target as cmocka test cases, in every build: the crashes stay fixed and
 * the harnesses keep compiling without clang.  Linked with one target's
 * source (fuzz-<thing>.c) instead of libFuzzer; FUZZ_TARGET names it.
 * A broken property aborts, which cmocka reports as that file's failure.
 */
#include "config.h"

#include <sys/types.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fuzz/fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the fuzz target"
#endif

static void
replay_one(void **state)
{
	const char	*path = *state;
	FILE		*fp;
	uint8_t		*buf = NULL;
	size_t		 len = 0, cap = 0, n;

	assert_non_null(fp = fopen(path, "rb"));
	do {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			assert_non_null(buf = realloc(buf, cap));
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
	free(buf);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	const char		*srcdir = getenv("top_srcdir");
	struct CMUnitTest	*tests = NULL;
	struct dirent		*de;
	char			 dir[4096], **names = NULL, *path;
	size_t			 n = 0, i;
	DIR			*dp;
	int			 argc = 1, rc;
	char			*args[] = { (char *)FUZZ_TARGET, NULL }, **argv = args;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
	    srcdir != NULL ? srcdir : ".", FUZZ_TARGET);
	if ((dp = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: cannot open (top_srcdir?)\n", dir);
		return 1;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), name_cmp);
	tests = calloc(n + 1, sizeof(*tests));
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) == -1)
			abort();
		tests[i].name = names[i];
		tests[i].test_func = replay_one;
		tests[i].initial_state = path;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	rc = _cmocka_run_group_tests(FUZZ_TARGET, tests, n, NULL, NULL);
	for (i = 0; i < n; i++) {
		free(tests[i].initial_state);
		free(names[i]);
	}
	free(tests);
	free(names);
	return rc;
}
