/*
 * version-gen.h: deterministic generator of version strings for the version
 * order tests (property tests in tests/unit/test-version-*.c and the oracle
 * test tests/integ/version-oracle.sh).  Same seed, same strings, everywhere.
 */
#ifndef TALLYMAN_VERSION_GEN_H
#define TALLYMAN_VERSION_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collector/collector.h"

#define VGEN_MAX	512	/* longest string generated, NUL included */

/* splitmix64: small, fast and good enough to spread test cases. */
struct vgen {
	uint64_t	state;
};

/* How the second version of a pair relates to the first. */
enum vgen_kind {
	VGEN_NEAR,		/* B is A with one small edit */
	VGEN_RANDOM,		/* A and B drawn independently */
	VGEN_LONG_DIGITS,	/* digit runs of 20 to 60 digits */
	VGEN_BACKPORT,		/* distro-style revisions: +deb7u4, ~bpo, .el8_9 */
};

void		vgen_seed(struct vgen *g, uint64_t seed);
uint64_t	vgen_next(struct vgen *g);
/* A number in [0, n); n > 0. */
unsigned	vgen_below(struct vgen *g, unsigned n);
/*
 * Write one pair of versions valid in scheme vs (by vs->valid) into a and b
 * (each VGEN_MAX bytes).  Returns 0, or -1 if no valid pair came out after
 * many tries (a generator bug).
 */
int		vgen_pair(struct vgen *g, const struct version_scheme *vs,
		    enum vgen_kind kind, char *a, char *b);
/* Three versions, each near the one before (b edits a, c edits b). */
int		vgen_triple(struct vgen *g, const struct version_scheme *vs,
		    enum vgen_kind kind, char *a, char *b, char *c);
/* One valid version into out (VGEN_MAX bytes); 0 or -1 as above. */
int		vgen_one(struct vgen *g, const struct version_scheme *vs,
		    enum vgen_kind kind, char *out);
/*
 * Check on count generated triples that compare() is a total preorder:
 * compare(x, x) = 0, antisymmetric, transitive for < and =, for every
 * ordering of each triple.  Returns the number of violations; the first few
 * are printed to report unless it is NULL.
 */
unsigned long	vgen_check_order(const struct version_scheme *vs, uint64_t seed,
		    unsigned long count, FILE *report);
/*
 * A version with one to three random characters inserted or replaced, or a
 * part cut off: valid or not, never empty, never holding a quote, a
 * backslash, whitespace or a control character (so that a shell script can
 * single-quote it).  For checking valid() against the distro's parser.
 */
int		vgen_noisy(struct vgen *g, const struct version_scheme *vs,
		    char *out);
/* Parse "near", "random", "long", "backport"; -1 if unknown. */
int		vgen_kind_parse(const char *name, enum vgen_kind *out);

#endif /* TALLYMAN_VERSION_GEN_H */
