/*
 * version-dpkg.c: the Debian version order, [epoch:]upstream[-revision], as
 * deb-version(5) and Debian Policy 5.6.12 define it and dpkg implements it.
 *
 * Order: the epoch compares as a number (missing = 0), then the upstream
 * version, then the revision (missing = "", which equals "0").  Upstream and
 * revision alternate non-digit and digit runs.  Non-digit runs compare char
 * by char: '~' sorts before everything, even the end of the string; then the
 * end (and a digit); then letters, in ASCII order; then every other char, in
 * ASCII order.  Digit runs compare as numbers of any length (leading zeros
 * ignored, no integer conversion, so no overflow).
 *
 * What we accept (valid), and how it differs from dpkg's own parser:
 *  - epoch: one or more ASCII digits, value <= INT_MAX (dpkg: the same, but
 *    via strtol, which also lets a sign through; we do not);
 *  - upstream: non-empty; letters, digits and ". + ~ - :" only ('-' only
 *    when a revision follows, ':' only after an epoch, which follows from
 *    splitting at the first ':' and the last '-');
 *  - revision: non-empty when a '-' is present; letters, digits, ". + ~";
 *  - an upstream version that does not start with a digit is ACCEPTED: dpkg
 *    only warns about it, compares it the same way, and keeps such packages
 *    in its status database (lax parser), so real images contain them;
 *  - any other character is REJECTED, although dpkg only warns: such a string
 *    is not a Debian version and we would rather count it than guess.
 *    Whitespace is rejected too (dpkg trims leading and trailing blanks);
 *  - at most VERSION_MAX_LEN bytes.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "collector/collector.h"

struct dpkg_version {
	unsigned long	 epoch;
	const char	*up;		/* upstream version, not NUL-terminated */
	size_t		 uplen;
	const char	*rev;		/* revision ("" when absent) */
	size_t		 revlen;
};

static int
dpkg_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
dpkg_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Split s into its three parts and check every rule above.  On success fills
 * v (pointing into s) and returns 0; otherwise returns -1 and sets *why to a
 * static reason.
 */
static int
dpkg_split(const char *s, struct dpkg_version *v, const char **why)
{
	const char	*colon, *rest, *hyphen, *p;
	size_t		 len, restlen, i;

	len = strnlen(s, VERSION_MAX_LEN + 1);
	if (len == 0) {
		*why = "version is empty";
		return -1;
	}
	if (len > VERSION_MAX_LEN) {
		*why = "version is too long";
		return -1;
	}

	v->epoch = 0;
	rest = s;
	colon = memchr(s, ':', len);
	if (colon != NULL) {
		if (colon == s) {
			*why = "epoch is empty";
			return -1;
		}
		for (p = s; p < colon; p++) {
			if (!dpkg_isdigit((unsigned char)*p)) {
				*why = "epoch is not a number";
				return -1;
			}
			v->epoch = v->epoch * 10 + (unsigned long)(*p - '0');
			if (v->epoch > INT_MAX) {
				*why = "epoch is too big";
				return -1;
			}
		}
		rest = colon + 1;
		if (*rest == '\0') {
			*why = "nothing after the epoch";
			return -1;
		}
	}
	restlen = len - (size_t)(rest - s);

	hyphen = NULL;
	for (i = restlen; i > 0; i--) {
		if (rest[i - 1] == '-') {
			hyphen = rest + i - 1;
			break;
		}
	}
	v->up = rest;
	if (hyphen != NULL) {
		v->uplen = (size_t)(hyphen - rest);
		v->rev = hyphen + 1;
		v->revlen = restlen - v->uplen - 1;
		if (v->revlen == 0) {
			*why = "revision is empty";
			return -1;
		}
	} else {
		v->uplen = restlen;
		v->rev = "";
		v->revlen = 0;
	}
	if (v->uplen == 0) {
		*why = "upstream version is empty";
		return -1;
	}

	for (i = 0; i < v->uplen; i++) {
		int c = (unsigned char)v->up[i];

		if (!dpkg_isdigit(c) && !dpkg_isalpha(c) &&
		    strchr(".+~-:", c) == NULL) {
			*why = "invalid character in upstream version";
			return -1;
		}
	}
	for (i = 0; i < v->revlen; i++) {
		int c = (unsigned char)v->rev[i];

		if (!dpkg_isdigit(c) && !dpkg_isalpha(c) &&
		    strchr(".+~", c) == NULL) {
			*why = "invalid character in revision";
			return -1;
		}
	}
	return 0;
}

/* 1 if s is a valid Debian version (see the rules at the top), else 0 with *why. */
static int
dpkg_valid(const char *s, const char **why)
{
	struct dpkg_version	 v;
	const char		*dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL) {
		*why = "version is missing";
		return 0;
	}
	return dpkg_split(s, &v, why) == 0;
}

/*
 * The weight of one char of a non-digit run; c is -1 at the end of the part.
 * A digit weighs what the end weighs: a non-digit run that stops where the
 * other goes on is "shorter", unless what goes on is a '~'.
 */
static int
dpkg_weight(int c)
{
	if (c == -1 || dpkg_isdigit(c))
		return 0;
	if (dpkg_isalpha(c))
		return c;
	if (c == '~')
		return -1;
	return c + 256;
}

/* Compare one part (upstream or revision) of two versions: -1, 0 or 1. */
static int
dpkg_part_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i = 0, j = 0, ai, bj, na, nb;
	int	wa, wb, d;

	while (i < alen || j < blen) {
		/* The non-digit run, char by char. */
		while ((i < alen && !dpkg_isdigit((unsigned char)a[i])) ||
		    (j < blen && !dpkg_isdigit((unsigned char)b[j]))) {
			wa = dpkg_weight(i < alen ? (unsigned char)a[i] : -1);
			wb = dpkg_weight(j < blen ? (unsigned char)b[j] : -1);
			if (wa != wb)
				return wa < wb ? -1 : 1;
			/* Equal weights here mean the same non-digit char. */
			i++;
			j++;
		}

		/* The digit run, as a number of any length. */
		while (i < alen && a[i] == '0')
			i++;
		while (j < blen && b[j] == '0')
			j++;
		for (ai = i; ai < alen && dpkg_isdigit((unsigned char)a[ai]); ai++)
			;
		for (bj = j; bj < blen && dpkg_isdigit((unsigned char)b[bj]); bj++)
			;
		na = ai - i;
		nb = bj - j;
		if (na != nb)
			return na < nb ? -1 : 1;
		if (na > 0) {
			d = memcmp(a + i, b + j, na);
			if (d != 0)
				return d < 0 ? -1 : 1;
		}
		i = ai;
		j = bj;
	}
	return 0;
}

/*
 * Order two Debian versions: <0, 0 or >0.  Both should be valid; an invalid
 * one sorts before every valid one, and two invalid ones compare as bytes, so
 * that the order stays total and never reads out of bounds.
 */
static int
dpkg_compare(const char *a, const char *b)
{
	struct dpkg_version	 va, vb;
	const char		*why;
	int			 oka, okb, r;

	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	oka = dpkg_split(a, &va, &why) == 0;
	okb = dpkg_split(b, &vb, &why) == 0;
	if (!oka || !okb) {
		if (oka != okb)
			return oka ? 1 : -1;
		r = strcmp(a, b);
		return r < 0 ? -1 : r > 0;
	}

	if (va.epoch != vb.epoch)
		return va.epoch < vb.epoch ? -1 : 1;
	r = dpkg_part_cmp(va.up, va.uplen, vb.up, vb.uplen);
	if (r != 0)
		return r;
	return dpkg_part_cmp(va.rev, va.revlen, vb.rev, vb.revlen);
}

const struct version_scheme version_dpkg = {
	.name = "dpkg",
	.valid = dpkg_valid,
	.compare = dpkg_compare,
};
