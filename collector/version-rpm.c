/*
 * version-rpm.c: the RPM version order, [epoch:]version[-release], as rpm's
 * own rpmvercmp() and EVR comparison (rpm.vercmp in rpm's Lua) define it.
 *
 * Order: the epoch as a number (missing = 0), then the version, then the
 * release.  A missing release sorts before any release ("1.0" < "1.0-0"),
 * as rpm 4.18's EVR comparison does.  Within a version or release string:
 *  - anything but ASCII letters, digits, '~' and '^' only separates segments
 *    ("1.0" = "1_0"; "1..0" = "1.0");
 *  - '~' sorts before everything, even the end ("1.0~rc1" < "1.0");
 *  - '^' sorts after the end but before anything else ("1.0" < "1.0^git1"
 *    < "1.0.1");
 *  - a segment is a run of digits or a run of letters; digits beat letters;
 *    digit runs compare as numbers of any length (leading zeros ignored, no
 *    integer conversion), letter runs as bytes ("Z" < "a");
 *  - when every segment matched, the string with segments left wins.
 *
 * What we accept (valid): an optional epoch of one or more digits followed
 * by ':'; a non-empty version; an optional '-' and a non-empty release.
 * Version and release hold ASCII letters, digits and ". _ + ~ ^" only, the
 * characters rpmbuild allows in Version and Release (we also allow "..",
 * which rpmbuild refuses but which orders well).  So one '-' at most and one
 * ':' at most.  rpm itself parses a wider language (empty epoch, '-' inside
 * the version, any byte as a separator); such strings are rejected here.
 * At most VERSION_MAX_LEN bytes.
 */
#include "config.h"

#include <string.h>

#include "collector/collector.h"

struct rpm_evr {
	const char	*e;		/* epoch digits ("0" when absent) */
	size_t		 elen;
	const char	*v;		/* version */
	size_t		 vlen;
	const char	*r;		/* release, or NULL when absent */
	size_t		 rlen;
};

static int
rpm_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
rpm_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
rpm_isalnum(int c)
{
	return rpm_isdigit(c) || rpm_isalpha(c);
}

/* 1 if c may appear in a version or release. */
static int
rpm_isverchar(int c)
{
	return rpm_isalnum(c) || (c != '\0' && strchr("._+~^", c) != NULL);
}

/*
 * Split s into epoch, version and release and check the rules above.  On
 * success fills evr (pointing into s) and returns 0; otherwise returns -1
 * with a static reason in *why.
 */
static int
rpm_split(const char *s, struct rpm_evr *evr, const char **why)
{
	const char	*p, *rest, *hyphen;
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

	evr->e = "0";
	evr->elen = 1;
	rest = s;
	p = memchr(s, ':', len);
	if (p != NULL) {
		if (p == s) {
			*why = "epoch is empty";
			return -1;
		}
		for (i = 0; s + i < p; i++) {
			if (!rpm_isdigit((unsigned char)s[i])) {
				*why = "epoch is not a number";
				return -1;
			}
		}
		evr->e = s;
		evr->elen = (size_t)(p - s);
		rest = p + 1;
	}
	restlen = len - (size_t)(rest - s);

	hyphen = memchr(rest, '-', restlen);
	evr->v = rest;
	if (hyphen != NULL) {
		evr->vlen = (size_t)(hyphen - rest);
		evr->r = hyphen + 1;
		evr->rlen = restlen - evr->vlen - 1;
		if (evr->rlen == 0) {
			*why = "release is empty";
			return -1;
		}
	} else {
		evr->vlen = restlen;
		evr->r = NULL;
		evr->rlen = 0;
	}
	if (evr->vlen == 0) {
		*why = "version part is empty";
		return -1;
	}
	for (i = 0; i < evr->vlen; i++) {
		if (!rpm_isverchar((unsigned char)evr->v[i])) {
			*why = evr->v[i] == ':' ? "more than one ':'" :
			    "invalid character in version";
			return -1;
		}
	}
	for (i = 0; i < evr->rlen; i++) {
		if (!rpm_isverchar((unsigned char)evr->r[i])) {
			*why = evr->r[i] == '-' ? "more than one '-'" :
			    evr->r[i] == ':' ? "more than one ':'" :
			    "invalid character in release";
			return -1;
		}
	}
	return 0;
}

/* 1 if s is a valid RPM [epoch:]version[-release], else 0 with *why. */
static int
rpm_valid(const char *s, const char **why)
{
	struct rpm_evr	 evr;
	const char	*dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL) {
		*why = "version is missing";
		return 0;
	}
	return rpm_split(s, &evr, why) == 0;
}

/*
 * rpmvercmp over two counted strings: -1, 0 or 1.  Separators are skipped,
 * '~' and '^' are handled as described at the top, then one digit or letter
 * segment of each side is compared at a time.
 */
static int
rpm_segment_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i = 0, j = 0, si, sj, la, lb;
	int	ca, cb, isnum, d;

	while (i < alen || j < blen) {
		while (i < alen && !rpm_isalnum((unsigned char)a[i]) &&
		    a[i] != '~' && a[i] != '^')
			i++;
		while (j < blen && !rpm_isalnum((unsigned char)b[j]) &&
		    b[j] != '~' && b[j] != '^')
			j++;
		ca = i < alen ? (unsigned char)a[i] : '\0';
		cb = j < blen ? (unsigned char)b[j] : '\0';

		if (ca == '~' || cb == '~') {
			if (ca != '~')
				return 1;
			if (cb != '~')
				return -1;
			i++;
			j++;
			continue;
		}
		if (ca == '^' || cb == '^') {
			/* The side that ended is the base version: older. */
			if (ca == '\0')
				return -1;
			if (cb == '\0')
				return 1;
			if (ca != '^')
				return 1;
			if (cb != '^')
				return -1;
			i++;
			j++;
			continue;
		}
		if (ca == '\0' || cb == '\0')
			break;

		si = i;
		sj = j;
		isnum = rpm_isdigit(ca);
		if (isnum) {
			while (i < alen && rpm_isdigit((unsigned char)a[i]))
				i++;
			while (j < blen && rpm_isdigit((unsigned char)b[j]))
				j++;
		} else {
			while (i < alen && rpm_isalpha((unsigned char)a[i]))
				i++;
			while (j < blen && rpm_isalpha((unsigned char)b[j]))
				j++;
		}
		/* Different kinds of segment: digits are newer than letters. */
		if (j == sj)
			return isnum ? 1 : -1;

		if (isnum) {
			while (si < i && a[si] == '0')
				si++;
			while (sj < j && b[sj] == '0')
				sj++;
		}
		la = i - si;
		lb = j - sj;
		if (isnum && la != lb)
			return la < lb ? -1 : 1;
		d = memcmp(a + si, b + sj, la < lb ? la : lb);
		if (d != 0)
			return d < 0 ? -1 : 1;
		if (la != lb)
			return la < lb ? -1 : 1;
	}

	if (i >= alen && j >= blen)
		return 0;
	return i >= alen ? -1 : 1;
}

/*
 * Order two RPM EVRs: <0, 0 or >0.  Both should be valid; an invalid one
 * sorts before every valid one and two invalid ones compare as bytes, so the
 * order stays total and nothing is read out of bounds.
 */
static int
rpm_compare(const char *a, const char *b)
{
	struct rpm_evr	 ea, eb;
	const char	*why;
	int		 oka, okb, r;

	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	oka = rpm_split(a, &ea, &why) == 0;
	okb = rpm_split(b, &eb, &why) == 0;
	if (!oka || !okb) {
		if (oka != okb)
			return oka ? 1 : -1;
		r = strcmp(a, b);
		return r < 0 ? -1 : r > 0;
	}

	r = rpm_segment_cmp(ea.e, ea.elen, eb.e, eb.elen);
	if (r != 0)
		return r;
	r = rpm_segment_cmp(ea.v, ea.vlen, eb.v, eb.vlen);
	if (r != 0)
		return r;
	if (ea.r == NULL || eb.r == NULL)
		return (ea.r != NULL) - (eb.r != NULL);
	return rpm_segment_cmp(ea.r, ea.rlen, eb.r, eb.rlen);
}

const struct version_scheme version_rpm = {
	.name = "rpm",
	.valid = rpm_valid,
	.compare = rpm_compare,
};
