/*
 * version-pairs.c: helper of tests/integ/version-oracle.sh.
 *
 *   version-pairs SCHEME KIND SEED COUNT
 *
 * prints COUNT lines "A<TAB>B<TAB>R" where A and B are generated versions
 * (tests/lib/version-gen.c, deterministic for a SEED) and R is our order of
 * them, '<', '=' or '>', from the scheme's compare() in collector/.  The
 * script asks the distro's own tool about the same A and B.
 *
 *   version-pairs SCHEME -
 *
 * reads "A<TAB>B" lines on stdin instead and prints the same three columns
 * (for hand-picked pairs).
 *
 *   version-pairs SCHEME noisy SEED COUNT
 *
 * prints COUNT lines "S<TAB>V": S a version with random characters put in
 * (valid or not), V 1 if our valid() accepts it, else 0.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "tests/lib/version-gen.h"

static char
pairs_symbol(int r)
{
	return r < 0 ? '<' : r > 0 ? '>' : '=';
}

static int
pairs_from_stdin(const struct version_scheme *vs)
{
	char	 line[2 * VGEN_MAX + 8], *tab, *nl;
	int	 rc = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		tab = strchr(line, '\t');
		if (tab == NULL) {
			fprintf(stderr, "version-pairs: no tab in '%s'\n", line);
			rc = 1;
			continue;
		}
		*tab = '\0';
		if (!vs->valid(line, NULL) || !vs->valid(tab + 1, NULL)) {
			fprintf(stderr, "version-pairs: invalid pair '%s' '%s'\n",
			    line, tab + 1);
			rc = 1;
			continue;
		}
		printf("%s\t%s\t%c\n", line, tab + 1,
		    pairs_symbol(vs->compare(line, tab + 1)));
	}
	return rc;
}

/* "noisy" mode: COUNT lines "S<TAB>1" (we accept S) or "S<TAB>0". */
static int
pairs_noisy(const char *scheme, const char *seedstr, const char *countstr)
{
	const struct version_scheme	*vs;
	struct vgen			 g;
	char				 s[VGEN_MAX], *end;
	unsigned long			 count, i;
	uint64_t			 seed;

	if ((vs = version_scheme_find(scheme)) == NULL) {
		fprintf(stderr, "version-pairs: unknown scheme %s\n", scheme);
		return 2;
	}
	errno = 0;
	seed = strtoull(seedstr, &end, 0);
	if (errno != 0 || *end != '\0')
		return 2;
	count = strtoul(countstr, &end, 10);
	if (*end != '\0' || count > 10000000)
		return 2;
	vgen_seed(&g, seed);
	for (i = 0; i < count; i++) {
		if (vgen_noisy(&g, vs, s) == -1)
			return 1;
		printf("%s\t%d\n", s, vs->valid(s, NULL));
	}
	return fflush(stdout) == EOF;
}

int
main(int argc, char **argv)
{
	const struct version_scheme	*vs;
	enum vgen_kind			 kind;
	struct vgen			 g;
	char				 a[VGEN_MAX], b[VGEN_MAX], *end;
	uint64_t			 seed;
	unsigned long			 count, i;

	if (argc == 3 && strcmp(argv[2], "-") == 0) {
		if ((vs = version_scheme_find(argv[1])) == NULL) {
			fprintf(stderr, "version-pairs: unknown scheme %s\n", argv[1]);
			return 2;
		}
		return pairs_from_stdin(vs);
	}
	if (argc == 5 && strcmp(argv[2], "noisy") == 0)
		return pairs_noisy(argv[1], argv[3], argv[4]);
	if (argc != 5) {
		fprintf(stderr, "usage: version-pairs SCHEME KIND SEED COUNT\n"
		    "       version-pairs SCHEME - < pairs\n");
		return 2;
	}
	if ((vs = version_scheme_find(argv[1])) == NULL) {
		fprintf(stderr, "version-pairs: unknown scheme %s\n", argv[1]);
		return 2;
	}
	if (vgen_kind_parse(argv[2], &kind) == -1) {
		fprintf(stderr, "version-pairs: unknown kind %s\n", argv[2]);
		return 2;
	}
	errno = 0;
	seed = strtoull(argv[3], &end, 0);
	if (errno != 0 || *end != '\0') {
		fprintf(stderr, "version-pairs: bad seed %s\n", argv[3]);
		return 2;
	}
	count = strtoul(argv[4], &end, 10);
	if (*end != '\0' || count > 10000000) {
		fprintf(stderr, "version-pairs: bad count %s\n", argv[4]);
		return 2;
	}

	vgen_seed(&g, seed);
	for (i = 0; i < count; i++) {
		if (vgen_pair(&g, vs, kind, a, b) == -1) {
			fprintf(stderr, "version-pairs: generator made no valid "
			    "%s pair\n", vs->name);
			return 1;
		}
		printf("%s\t%s\t%c\n", a, b, pairs_symbol(vs->compare(a, b)));
	}
	if (fflush(stdout) == EOF) {
		perror("version-pairs: stdout");
		return 1;
	}
	return 0;
}
