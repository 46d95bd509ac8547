/*
 * fuzz-version.c: one version order of the collector (collector/version-*.c),
 * chosen at build time (-DFUZZ_SCHEME="dpkg", "rpm" or "apk": three
 * targets from this file).  Versions come from container package databases
 * and advisory feeds: hostile.
 *
 * The input is three strings a, b, c (fuzz_next chunks, cut at a NUL).
 * Properties: valid() never crashes and always gives a reason when it
 * refuses; on valid strings compare() is a total order:
 *   - reflexive:      compare(a, a) == 0;
 *   - antisymmetric:  sign(compare(a, b)) == -sign(compare(b, a));
 *   - transitive:     a <= b and b <= c imply a <= c, strictly when
 *                     either step is strict (and the same downwards);
 *   - equal substitutes: a == b implies sign(compare(a, c)) ==
 *                     sign(compare(b, c)).
 */
#include "config.h"

#include "collector/collector.h"
#include "tests/fuzz/fuzz.h"

#ifndef FUZZ_SCHEME
#error "FUZZ_SCHEME must name a version scheme"
#endif

static const struct version_scheme *scheme;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if ((scheme = version_scheme_find(FUZZ_SCHEME)) == NULL) {
		fprintf(stderr, "fuzz-version: no scheme %s\n", FUZZ_SCHEME);
		abort();
	}
	return 0;
}

static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

static int
cmp(const char *a, const char *b)
{
	return sign(scheme->compare(a, b));
}

static int
valid(const char *s)
{
	const char	*why = NULL;
	int		 ok = scheme->valid(s, &why);

	if (ok != 0 && ok != 1)
		fuzz_fail("%s valid() returned %d", scheme->name, ok);
	if (!ok && why == NULL)
		fuzz_fail("%s refused \"%s\" without a reason", scheme->name, s);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cursor	 c = { data, size };
	const uint8_t		*chunk;
	char			*v[3];
	size_t			 len, n = 0, i;
	int			 ok[3], ab, ba, bc, ac;

	while (n < 3 && fuzz_next(&c, &chunk, &len)) {
		v[n] = malloc(len + 1);
		if (v[n] == NULL)
			abort();
		memcpy(v[n], chunk, len);
		v[n][len] = '\0';
		ok[n] = valid(v[n]);
		n++;
	}
	for (i = 0; i < n; i++)
		if (ok[i] && cmp(v[i], v[i]) != 0)
			fuzz_fail("%s: compare(\"%s\", itself) != 0", scheme->name,
			    v[i]);
	if (n >= 2 && ok[0] && ok[1]) {
		ab = cmp(v[0], v[1]);
		ba = cmp(v[1], v[0]);
		if (ab != -ba)
			fuzz_fail("%s: compare(\"%s\", \"%s\") = %d but reversed %d",
			    scheme->name, v[0], v[1], ab, ba);
	}
	if (n == 3 && ok[0] && ok[1] && ok[2]) {
		ab = cmp(v[0], v[1]);
		bc = cmp(v[1], v[2]);
		ac = cmp(v[0], v[2]);
		if (ab <= 0 && bc <= 0 && !(ac <= 0 && (ac < 0 || (ab == 0 &&
		    bc == 0))))
			fuzz_fail("%s: \"%s\" %d \"%s\" %d \"%s\" but a vs c %d",
			    scheme->name, v[0], ab, v[1], bc, v[2], ac);
		if (ab >= 0 && bc >= 0 && !(ac >= 0 && (ac > 0 || (ab == 0 &&
		    bc == 0))))
			fuzz_fail("%s: \"%s\" %d \"%s\" %d \"%s\" but a vs c %d",
			    scheme->name, v[0], ab, v[1], bc, v[2], ac);
		if (ab == 0 && cmp(v[0], v[2]) != cmp(v[1], v[2]))
			fuzz_fail("%s: \"%s\" == \"%s\" but they compare "
			    "differently with \"%s\"", scheme->name, v[0], v[1],
			    v[2]);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	return 0;
}
