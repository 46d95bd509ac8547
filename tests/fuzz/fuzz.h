/*
 * fuzz.h: what every libFuzzer target in tests/fuzz/ shares.  A target is
 * one file, tests/fuzz/fuzz-<thing>.c, defining LLVMFuzzerTestOneInput; it
 * is built only with ./configure --enable-fuzzing CC=clang (doc/fuzzing.md).
 *
 * A target checks properties, not only the absence of crashes: a broken
 * property calls fuzz_fail(), which aborts so libFuzzer saves the input.
 */
#ifndef TALLYMAN_FUZZ_H
#define TALLYMAN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* Rejections are logged at "warn": keep the fuzzer's output (and its speed)
 * for what matters.  FUZZ_LOG=debug shows everything. */
static inline void
fuzz_quiet(void)
{
	enum log_level	 lv = LOG_LEVEL_ERROR;
	const char	*env = getenv("FUZZ_LOG");

	if (env != NULL)
		log_level_parse(env, &lv);
	log_init("fuzz", lv);
}

#define fuzz_fail(...) do {						\
	fprintf(stderr, "fuzz: property broken at %s:%d: ", __FILE__,	\
	    __LINE__);							\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

/* A heap copy of exactly size bytes, no terminator: reading past the end is
 * an ASan report, as it would be past a bounded read of a file. */
static inline char *
fuzz_dup(const uint8_t *data, size_t size)
{
	char	*p = malloc(size > 0 ? size : 1);

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

/* Touch every byte of a string: a missing terminator or a dangling pointer
 * is reported by ASan here, next to the code that produced it. */
static inline size_t
fuzz_touch(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

/* The input as a sequence of chunks (messages, HTTP bodies), each
 * [u16 little-endian length][bytes]; a length past the end takes what is
 * left.  fuzz_next returns 1 and the next chunk while there is input. */
struct fuzz_cursor {
	const uint8_t	*p;
	size_t		 left;
};
static inline int
fuzz_next(struct fuzz_cursor *c, const uint8_t **chunk, size_t *len)
{
	size_t	n;

	if (c->left == 0)
		return 0;
	if (c->left < 2) {
		*chunk = c->p;
		*len = c->left;
		c->p += c->left;
		c->left = 0;
		return 1;
	}
	n = (size_t)c->p[0] | (size_t)c->p[1] << 8;
	c->p += 2;
	c->left -= 2;
	if (n > c->left)
		n = c->left;
	*chunk = c->p;
	*len = n;
	c->p += n;
	c->left -= n;
	return 1;
}

#endif /* TALLYMAN_FUZZ_H */
