/*
 * version-gen.c: deterministic version strings for the version order tests.
 *
 * A version is built as pieces (small strings such as ".12", "~rc1",
 * "+deb7u4") in three sections: epoch, main part (upstream / version) and
 * revision (release).  A "near" pair edits one piece of the first version,
 * which is where orders disagree in practice: tildes, carets, letters
 * against digits, leading zeros, a revision added or dropped.  Every string
 * handed out is checked with the scheme's own valid(); the oracle test then
 * asks the distro's tool about it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tests/lib/version-gen.h"

#define VGEN_PIECES	12
#define VGEN_PIECE	72
#define VGEN_TRIES	200

struct vgen_version {
	char	epoch[24];		/* "" when absent */
	char	main[VGEN_PIECES][VGEN_PIECE];
	int	nmain;
	char	rev[VGEN_PIECES][VGEN_PIECE];
	int	nrev;			/* 0: no revision */
};

enum vgen_scheme { VGEN_DPKG, VGEN_RPM, VGEN_APK };

void
vgen_seed(struct vgen *g, uint64_t seed)
{
	g->state = seed;
}

uint64_t
vgen_next(struct vgen *g)
{
	uint64_t z;

	z = (g->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

unsigned
vgen_below(struct vgen *g, unsigned n)
{
	return (unsigned)(vgen_next(g) % n);
}

/* 1 with probability pct/100. */
static int
vgen_chance(struct vgen *g, unsigned pct)
{
	return vgen_below(g, 100) < pct;
}

static const char *
vgen_pick(struct vgen *g, const char *const *list, size_t n)
{
	return list[vgen_below(g, (unsigned)n)];
}

/* Append printf-style text to a piece (truncating, never overflowing). */
static void
vgen_cat(char *piece, const char *text)
{
	size_t used = strlen(piece);

	snprintf(piece + used, VGEN_PIECE - used, "%s", text);
}

/* Append a number: usually small, sometimes with leading zeros or long. */
static void
vgen_number(struct vgen *g, enum vgen_kind kind, char *piece)
{
	char		 buf[VGEN_PIECE];
	unsigned	 n, i, len;

	if (kind == VGEN_LONG_DIGITS && vgen_chance(g, 60)) {
		len = 20 + vgen_below(g, 41);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		for (i = 0; i < len; i++)
			buf[i] = (char)('0' + vgen_below(g, 10));
		if (buf[0] == '0' && vgen_chance(g, 70))
			buf[0] = '1';
		buf[len] = '\0';
	} else if (vgen_chance(g, 8)) {
		snprintf(buf, sizeof(buf), "0%u", vgen_below(g, 30));
	} else if (vgen_chance(g, 10)) {
		snprintf(buf, sizeof(buf), "%u", vgen_below(g, 100000));
	} else {
		n = vgen_below(g, 14);
		snprintf(buf, sizeof(buf), "%u", n);
	}
	vgen_cat(piece, buf);
}

/* Append 1 to 3 letters from a small alphabet, so that they collide. */
static void
vgen_letters(struct vgen *g, char *piece, int upper_ok)
{
	static const char *const words[] = {
		"a", "b", "c", "e", "p", "rc", "alpha", "beta", "pre", "git",
		"dfsg", "ds", "really", "nmu", "build", "z", "aa", "ab",
	};
	char	buf[2];

	if (upper_ok && vgen_chance(g, 8)) {
		buf[0] = (char)('A' + vgen_below(g, 26));
		buf[1] = '\0';
		vgen_cat(piece, buf);
		return;
	}
	vgen_cat(piece, vgen_pick(g, words, TM_NELEM(words)));
}

/* ---- dpkg ---------------------------------------------------------- */

static void
vgen_dpkg_main_piece(struct vgen *g, enum vgen_kind kind, int has_epoch,
    int has_rev, char *p)
{
	p[0] = '\0';
	switch (vgen_below(g, 17)) {
	case 0: case 1: case 2:
		vgen_cat(p, "."); vgen_number(g, kind, p); break;
	case 3:
		vgen_cat(p, "+"); vgen_number(g, kind, p); break;
	case 4:
		vgen_cat(p, "~"); vgen_number(g, kind, p); break;
	case 5:
		vgen_letters(g, p, 1); break;
	case 6:
		vgen_cat(p, "~"); vgen_letters(g, p, 1);
		if (vgen_chance(g, 60))
			vgen_number(g, kind, p);
		break;
	case 7:
		vgen_cat(p, "+"); vgen_letters(g, p, 1);
		if (vgen_chance(g, 50))
			vgen_number(g, kind, p);
		break;
	case 8:
		vgen_cat(p, "."); vgen_letters(g, p, 1); break;
	case 9:
		vgen_cat(p, "~"); break;
	case 10:
		vgen_cat(p, "~~"); break;
	case 11:
		vgen_cat(p, vgen_chance(g, 50) ? "+" : "."); break;
	case 12:
		vgen_cat(p, has_rev ? "-" : "."); vgen_number(g, kind, p); break;
	case 13:
		vgen_cat(p, has_epoch ? ":" : "+"); vgen_number(g, kind, p); break;
	case 14:
		vgen_letters(g, p, 1); vgen_number(g, kind, p); break;
	case 15:
		vgen_cat(p, "."); vgen_number(g, VGEN_LONG_DIGITS, p); break;
	default:
		vgen_cat(p, "~"); vgen_cat(p, vgen_chance(g, 50) ? "+" : "."); break;
	}
}

static void
vgen_dpkg_rev_piece(struct vgen *g, enum vgen_kind kind, int first, char *p)
{
	p[0] = '\0';
	if (first) {
		if (vgen_chance(g, 85))
			vgen_number(g, kind, p);
		else
			vgen_letters(g, p, 1);
		return;
	}
	switch (vgen_below(g, 11)) {
	case 0: case 1:
		vgen_cat(p, "."); vgen_number(g, kind, p); break;
	case 2:
		vgen_cat(p, "+"); vgen_number(g, kind, p); break;
	case 3:
		vgen_cat(p, "~"); vgen_number(g, kind, p); break;
	case 4:
		vgen_cat(p, vgen_chance(g, 70) ? "+deb" : "~deb");
		vgen_number(g, kind, p); vgen_cat(p, "u"); vgen_number(g, kind, p);
		break;
	case 5:
		vgen_cat(p, "ubuntu"); vgen_number(g, kind, p);
		if (vgen_chance(g, 50)) {
			vgen_cat(p, "."); vgen_number(g, kind, p);
		}
		break;
	case 6:
		vgen_cat(p, "~bpo"); vgen_number(g, kind, p);
		vgen_cat(p, "+"); vgen_number(g, kind, p);
		break;
	case 7:
		vgen_cat(p, "+b"); vgen_number(g, kind, p); break;
	case 8:
		vgen_cat(p, "~"); break;
	case 9:
		vgen_letters(g, p, 1); break;
	default:
		vgen_cat(p, "."); vgen_letters(g, p, 1); break;
	}
}

static void
vgen_dpkg(struct vgen *g, enum vgen_kind kind, struct vgen_version *v)
{
	int	i, n;

	memset(v, 0, sizeof(*v));
	if (vgen_chance(g, 30))
		snprintf(v->epoch, sizeof(v->epoch), "%s%u",
		    vgen_chance(g, 5) ? "0" : "", vgen_below(g, 4));
	v->nrev = vgen_chance(g, kind == VGEN_BACKPORT ? 100 : 65) ?
	    1 + (int)vgen_below(g, 3) : 0;

	if (vgen_chance(g, 93))
		vgen_number(g, kind, v->main[0]);
	else
		vgen_letters(g, v->main[0], 1);
	n = 1 + (int)vgen_below(g, kind == VGEN_BACKPORT ? 3 : 5);
	for (i = 1; i < n; i++) {
		if (kind == VGEN_BACKPORT) {
			v->main[i][0] = '\0';
			vgen_cat(v->main[i], ".");
			vgen_number(g, kind, v->main[i]);
			if (i == n - 1 && vgen_chance(g, 40))
				vgen_letters(g, v->main[i], 0);
		} else
			vgen_dpkg_main_piece(g, kind, v->epoch[0] != '\0',
			    v->nrev > 0, v->main[i]);
	}
	v->nmain = n;
	for (i = 0; i < v->nrev; i++)
		vgen_dpkg_rev_piece(g, kind, i == 0, v->rev[i]);
}

/* ---- rpm ----------------------------------------------------------- */

static void
vgen_rpm_piece(struct vgen *g, enum vgen_kind kind, int release, char *p)
{
	static const char *const dist[] = {
		".el", ".fc", ".module+el", ".amzn", ".mga", ".suse", "_",
	};

	p[0] = '\0';
	switch (vgen_below(g, release ? 18 : 16)) {
	case 0: case 1: case 2:
		vgen_cat(p, "."); vgen_number(g, kind, p); break;
	case 3:
		vgen_cat(p, "_"); vgen_number(g, kind, p); break;
	case 4:
		vgen_cat(p, "+"); vgen_number(g, kind, p); break;
	case 5:
		vgen_cat(p, "~"); vgen_number(g, kind, p); break;
	case 6:
		vgen_cat(p, "~"); vgen_letters(g, p, 1);
		if (vgen_chance(g, 60))
			vgen_number(g, kind, p);
		break;
	case 7:
		vgen_cat(p, "^"); vgen_letters(g, p, 1);
		if (vgen_chance(g, 60))
			vgen_number(g, kind, p);
		break;
	case 8:
		vgen_cat(p, "^"); vgen_number(g, kind, p); break;
	case 9:
		vgen_cat(p, vgen_chance(g, 50) ? "^" : "~"); break;
	case 10:
		vgen_letters(g, p, 1); break;
	case 11:
		vgen_cat(p, "."); vgen_letters(g, p, 1); break;
	case 12:
		vgen_cat(p, vgen_chance(g, 50) ? ".." : "._"); vgen_number(g, kind, p);
		break;
	case 13:
		vgen_letters(g, p, 1); vgen_number(g, kind, p); break;
	case 14:
		vgen_cat(p, "."); vgen_number(g, VGEN_LONG_DIGITS, p); break;
	case 15:
		vgen_cat(p, vgen_chance(g, 50) ? "+" : "_"); break;
	default:
		vgen_cat(p, vgen_pick(g, dist, TM_NELEM(dist)));
		vgen_number(g, kind, p);
		if (vgen_chance(g, 40)) {
			vgen_cat(p, "_"); vgen_number(g, kind, p);
		}
		break;
	}
}

static void
vgen_rpm(struct vgen *g, enum vgen_kind kind, struct vgen_version *v)
{
	int	i, n;

	memset(v, 0, sizeof(*v));
	if (vgen_chance(g, 30))
		snprintf(v->epoch, sizeof(v->epoch), "%s%u",
		    vgen_chance(g, 5) ? "0" : "", vgen_below(g, 4));
	if (vgen_chance(g, 92))
		vgen_number(g, kind, v->main[0]);
	else
		vgen_letters(g, v->main[0], 1);
	n = 1 + (int)vgen_below(g, 5);
	for (i = 1; i < n; i++) {
		if (kind == VGEN_BACKPORT) {
			vgen_cat(v->main[i], ".");
			vgen_number(g, kind, v->main[i]);
		} else
			vgen_rpm_piece(g, kind, 0, v->main[i]);
	}
	v->nmain = n;

	v->nrev = vgen_chance(g, kind == VGEN_BACKPORT ? 100 : 75) ?
	    1 + (int)vgen_below(g, 3) : 0;
	for (i = 0; i < v->nrev; i++) {
		if (i == 0)
			vgen_number(g, kind, v->rev[0]);
		else
			vgen_rpm_piece(g, kind, 1, v->rev[i]);
	}
}

/* ---- apk ----------------------------------------------------------- */

static void
vgen_apk_piece(struct vgen *g, enum vgen_kind kind, char *p)
{
	static const char *const suffixes[] = {
		"_alpha", "_beta", "_pre", "_rc", "_cvs", "_svn", "_git", "_hg",
		"_p",
	};
	static const char hex[] = "0123456789abcdef";
	char		 h[2];
	unsigned	 i, len;

	p[0] = '\0';
	switch (vgen_below(g, 6)) {
	case 0: case 1:
		vgen_cat(p, "."); vgen_number(g, kind, p); break;
	case 2:
		h[0] = (char)('a' + vgen_below(g, 26));
		h[1] = '\0';
		vgen_cat(p, h);
		break;
	case 3: case 4:
		vgen_cat(p, vgen_pick(g, suffixes, TM_NELEM(suffixes)));
		if (vgen_chance(g, 60))
			vgen_number(g, kind, p);
		break;
	default:
		vgen_cat(p, "~");
		len = 1 + vgen_below(g, 8);
		for (i = 0; i < len; i++) {
			h[0] = hex[vgen_below(g, 16)];
			h[1] = '\0';
			vgen_cat(p, h);
		}
		break;
	}
}

static void
vgen_apk(struct vgen *g, enum vgen_kind kind, struct vgen_version *v)
{
	int	i, n;

	memset(v, 0, sizeof(*v));
	vgen_number(g, kind, v->main[0]);
	n = 1 + (int)vgen_below(g, 5);
	for (i = 1; i < n; i++) {
		if (kind == VGEN_BACKPORT || vgen_chance(g, 40)) {
			vgen_cat(v->main[i], ".");
			vgen_number(g, kind, v->main[i]);
		} else
			vgen_apk_piece(g, kind, v->main[i]);
	}
	v->nmain = n;
	if (vgen_chance(g, kind == VGEN_BACKPORT ? 100 : 60)) {
		v->nrev = 1;
		vgen_number(g, kind, v->rev[0]);
	}
}

/* ---- rendering, edits, pairs --------------------------------------- */

static void
vgen_render(enum vgen_scheme sc, const struct vgen_version *v, char *out)
{
	size_t	used = 0;
	int	i, r;

#define VGEN_PUT(s) do {						\
	r = snprintf(out + used, VGEN_MAX - used, "%s", (s));		\
	if (r > 0)							\
		used += (size_t)r < VGEN_MAX - used ? (size_t)r :	\
		    VGEN_MAX - used - 1;				\
} while (0)

	out[0] = '\0';
	if (sc != VGEN_APK && v->epoch[0] != '\0') {
		VGEN_PUT(v->epoch);
		VGEN_PUT(":");
	}
	for (i = 0; i < v->nmain; i++)
		VGEN_PUT(v->main[i]);
	if (v->nrev > 0)
		VGEN_PUT(sc == VGEN_APK ? "-r" : "-");
	for (i = 0; i < v->nrev; i++)
		VGEN_PUT(v->rev[i]);
#undef VGEN_PUT
}

static void
vgen_make(struct vgen *g, enum vgen_scheme sc, enum vgen_kind kind,
    struct vgen_version *v)
{
	switch (sc) {
	case VGEN_DPKG:
		vgen_dpkg(g, kind, v);
		break;
	case VGEN_RPM:
		vgen_rpm(g, kind, v);
		break;
	default:
		vgen_apk(g, kind, v);
		break;
	}
}

/* A fresh piece for position i of a section, in the scheme's style. */
static void
vgen_new_piece(struct vgen *g, enum vgen_scheme sc, enum vgen_kind kind,
    const struct vgen_version *v, int rev, int i, char *p)
{
	p[0] = '\0';
	if (i == 0) {
		vgen_number(g, kind, p);
		return;
	}
	switch (sc) {
	case VGEN_DPKG:
		if (rev)
			vgen_dpkg_rev_piece(g, kind, 0, p);
		else
			vgen_dpkg_main_piece(g, kind, v->epoch[0] != '\0',
			    v->nrev > 0, p);
		break;
	case VGEN_RPM:
		vgen_rpm_piece(g, kind, rev, p);
		break;
	default:
		vgen_apk_piece(g, kind, p);
		break;
	}
}

/* Change one digit of a piece, add or drop a leading zero, or add a digit. */
static void
vgen_tweak_digits(struct vgen *g, char *p)
{
	size_t	len = strlen(p), i, k, idx[VGEN_PIECE], n = 0;
	char	c;

	for (i = 0; i < len; i++)
		if (p[i] >= '0' && p[i] <= '9')
			idx[n++] = i;
	if (n == 0) {
		if (len + 1 < VGEN_PIECE) {
			p[len] = (char)('0' + vgen_below(g, 10));
			p[len + 1] = '\0';
		}
		return;
	}
	k = idx[vgen_below(g, (unsigned)n)];
	switch (vgen_below(g, 4)) {
	case 0:
		c = p[k];
		p[k] = (char)(c == '9' ? '8' : c + 1);
		break;
	case 1:
		c = p[k];
		p[k] = (char)(c == '0' ? '1' : c - 1);
		break;
	case 2:
		/* A leading zero: equal as a number in dpkg and rpm. */
		if (len + 1 < VGEN_PIECE) {
			memmove(p + k + 1, p + k, len - k + 1);
			p[k] = '0';
		}
		break;
	default:
		if (len + 1 < VGEN_PIECE) {
			memmove(p + k + 1, p + k, len - k + 1);
			p[k] = (char)('0' + vgen_below(g, 10));
		}
		break;
	}
}

/* One small edit of v, in place. */
static void
vgen_edit(struct vgen *g, enum vgen_scheme sc, enum vgen_kind kind,
    struct vgen_version *v)
{
	char	(*sec)[VGEN_PIECE];
	int	*n, rev, i, j;

	switch (vgen_below(g, 20)) {
	case 0:
		/* The epoch. */
		if (sc == VGEN_APK)
			break;
		if (v->epoch[0] == '\0' || vgen_chance(g, 50))
			snprintf(v->epoch, sizeof(v->epoch), "%u",
			    vgen_below(g, 3));
		else
			v->epoch[0] = '\0';
		return;
	case 1:
		/* The revision appears or goes. */
		if (v->nrev > 0) {
			v->nrev = 0;
		} else {
			v->nrev = 1;
			vgen_number(g, kind, v->rev[0]);
		}
		return;
	case 2:
		return;		/* the same version */
	default:
		break;
	}

	rev = v->nrev > 0 && vgen_chance(g, kind == VGEN_BACKPORT ? 70 : 35);
	sec = rev ? v->rev : v->main;
	n = rev ? &v->nrev : &v->nmain;
	i = (int)vgen_below(g, (unsigned)*n);
	switch (vgen_below(g, kind == VGEN_LONG_DIGITS ? 4 : 7)) {
	case 0: case 1: case 2: case 3:
		vgen_tweak_digits(g, sec[i]);
		break;
	case 4:
		if (i > 0)
			vgen_new_piece(g, sc, kind, v, rev, i, sec[i]);
		break;
	case 5:
		/* Insert a piece after i (append when i is the last). */
		if (*n < VGEN_PIECES) {
			for (j = *n; j > i + 1; j--)
				memcpy(sec[j], sec[j - 1], VGEN_PIECE);
			vgen_new_piece(g, sc, kind, v, rev, i + 1, sec[i + 1]);
			(*n)++;
		}
		break;
	default:
		/* Drop a piece (never the first). */
		if (i > 0) {
			for (j = i; j < *n - 1; j++)
				memcpy(sec[j], sec[j + 1], VGEN_PIECE);
			(*n)--;
		}
		break;
	}
}

static int
vgen_scheme_of(const struct version_scheme *vs, enum vgen_scheme *sc)
{
	if (strcmp(vs->name, "dpkg") == 0)
		*sc = VGEN_DPKG;
	else if (strcmp(vs->name, "rpm") == 0)
		*sc = VGEN_RPM;
	else if (strcmp(vs->name, "apk") == 0)
		*sc = VGEN_APK;
	else
		return -1;
	return 0;
}

int
vgen_one(struct vgen *g, const struct version_scheme *vs,
    enum vgen_kind kind, char *out)
{
	struct vgen_version	v;
	enum vgen_scheme	sc;
	int			try;

	if (vgen_scheme_of(vs, &sc) == -1)
		return -1;
	for (try = 0; try < VGEN_TRIES; try++) {
		vgen_make(g, sc, kind, &v);
		vgen_render(sc, &v, out);
		if (vs->valid(out, NULL))
			return 0;
	}
	return -1;
}

int
vgen_pair(struct vgen *g, const struct version_scheme *vs,
    enum vgen_kind kind, char *a, char *b)
{
	struct vgen_version	va, vb;
	enum vgen_scheme	sc;
	int			try, edits, k;

	if (vgen_scheme_of(vs, &sc) == -1)
		return -1;
	for (try = 0; try < VGEN_TRIES; try++) {
		vgen_make(g, sc, kind, &va);
		vgen_render(sc, &va, a);
		if (!vs->valid(a, NULL))
			continue;
		if (kind == VGEN_RANDOM) {
			vgen_make(g, sc, kind, &vb);
		} else {
			vb = va;
			edits = 1 + (vgen_chance(g, 25) ? 1 : 0);
			for (k = 0; k < edits; k++)
				vgen_edit(g, sc, kind, &vb);
		}
		vgen_render(sc, &vb, b);
		if (vs->valid(b, NULL))
			return 0;
	}
	return -1;
}

int
vgen_triple(struct vgen *g, const struct version_scheme *vs,
    enum vgen_kind kind, char *a, char *b, char *c)
{
	struct vgen_version	v;
	enum vgen_scheme	sc;
	int			try;

	if (vgen_scheme_of(vs, &sc) == -1)
		return -1;
	for (try = 0; try < VGEN_TRIES; try++) {
		vgen_make(g, sc, kind, &v);
		vgen_render(sc, &v, a);
		if (!vs->valid(a, NULL))
			continue;
		vgen_edit(g, sc, kind, &v);
		vgen_render(sc, &v, b);
		if (!vs->valid(b, NULL))
			continue;
		vgen_edit(g, sc, kind, &v);
		vgen_render(sc, &v, c);
		if (vs->valid(c, NULL))
			return 0;
	}
	return -1;
}

int
vgen_noisy(struct vgen *g, const struct version_scheme *vs, char *out)
{
	static const char noise[] = ":-.~+_^!#@$%&/|<>()[]{};,=*aZ09";
	size_t	len, k;
	int	edits, e;

	if (vgen_one(g, vs, VGEN_NEAR, out) == -1)
		return -1;
	edits = 1 + (int)vgen_below(g, 3);
	for (e = 0; e < edits; e++) {
		len = strlen(out);
		k = vgen_below(g, (unsigned)len + 1);
		switch (vgen_below(g, 3)) {
		case 0:
			/* Insert. */
			if (len + 2 < VGEN_MAX) {
				memmove(out + k + 1, out + k, len - k + 1);
				out[k] = noise[vgen_below(g, sizeof(noise) - 1)];
			}
			break;
		case 1:
			/* Replace. */
			if (k < len)
				out[k] = noise[vgen_below(g, sizeof(noise) - 1)];
			break;
		default:
			/* Cut the tail after a separator: "1.0-", "1:". */
			if (k > 0 && k < len)
				out[k] = '\0';
			break;
		}
	}
	return 0;
}

int
vgen_kind_parse(const char *name, enum vgen_kind *out)
{
	static const struct {
		const char	*name;
		enum vgen_kind	 kind;
	} kinds[] = {
		{ "near", VGEN_NEAR },
		{ "random", VGEN_RANDOM },
		{ "long", VGEN_LONG_DIGITS },
		{ "backport", VGEN_BACKPORT },
	};
	size_t	i;

	for (i = 0; i < TM_NELEM(kinds); i++) {
		if (strcmp(kinds[i].name, name) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	return -1;
}

static int
vgen_sign(int r)
{
	return r < 0 ? -1 : r > 0;
}

/* One violation report, at most 10 per run. */
static void
vgen_report(FILE *fp, unsigned long *bad, const char *what, const char *x,
    const char *y, const char *z)
{
	if (++*bad <= 10 && fp != NULL)
		fprintf(fp, "# order violation (%s): '%s' '%s' '%s'\n",
		    what, x, y, z);
}

unsigned long
vgen_check_order(const struct version_scheme *vs, uint64_t seed,
    unsigned long count, FILE *report)
{
	static const int perm[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		{ 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	static const enum vgen_kind kinds[] = {
		VGEN_NEAR, VGEN_RANDOM, VGEN_LONG_DIGITS, VGEN_BACKPORT,
	};
	struct vgen	 g;
	char		 s[3][VGEN_MAX];
	const char	*x, *y, *z;
	unsigned long	 i, bad = 0;
	int		 p, xy, yx, yz, xz;

	vgen_seed(&g, seed);
	for (i = 0; i < count; i++) {
		if (vgen_triple(&g, vs, kinds[i % TM_NELEM(kinds)], s[0], s[1],
		    s[2]) == -1) {
			vgen_report(report, &bad, "generator failed", "", "", "");
			continue;
		}
		for (p = 0; p < 6; p++) {
			x = s[perm[p][0]];
			y = s[perm[p][1]];
			z = s[perm[p][2]];
			if (vs->compare(x, x) != 0)
				vgen_report(report, &bad, "x != x", x, x, x);
			xy = vgen_sign(vs->compare(x, y));
			yx = vgen_sign(vs->compare(y, x));
			yz = vgen_sign(vs->compare(y, z));
			xz = vgen_sign(vs->compare(x, z));
			if (xy != -yx)
				vgen_report(report, &bad, "antisymmetry", x, y, "");
			if (xy <= 0 && yz <= 0 && xz > 0)
				vgen_report(report, &bad, "x<=y<=z but x>z", x, y, z);
			if (xy < 0 && yz <= 0 && xz >= 0)
				vgen_report(report, &bad, "x<y<=z but x>=z", x, y, z);
			if (xy == 0 && xz != yz)
				vgen_report(report, &bad, "x=y but x,y differ to z", x, y, z);
		}
	}
	return bad;
}
