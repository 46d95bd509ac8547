/*
 * version-apk.c: the Alpine (apk-tools) version order.
 *
 * Grammar, as apk-tools 3 validates it:
 *
 *   digits { "." digits } [ letter ] { "_" suffix [ digits ] }
 *       [ "~" hexdigits ] [ "-r" digits ]
 *
 * letter is one of a-z; suffix one of alpha beta pre rc (pre-releases) or
 * cvs svn git hg p (post-releases); hexdigits are 0-9a-f (a commit hash).
 *
 * Order: the two strings are cut into tokens (first number, further number,
 * letter, suffix, suffix number, commit hash, revision) and compared token by
 * token while both sides have a token of the same kind:
 *  - the first number, suffix numbers and the revision compare as numbers;
 *  - a further number ("1.02") compares as a number unless either side starts
 *    with '0', in which case both compare as strings ("1.02" < "1.1",
 *    "8.2.0" < "8.2.001");
 *  - letters by ASCII; suffixes alpha < beta < pre < rc < cvs < svn < git <
 *    hg < p; commit hashes as strings.
 * When the kinds differ, or one side ended, the side whose next token is a
 * pre-release suffix is older ("1.0_rc1" < "1.0"); otherwise the side that
 * goes on with the "earlier" kind of token (in the order listed in the
 * grammar, end last) is newer ("1.0" < "1.0.1" < ... , "1.0a" < "1.0.1",
 * "1.0" < "1.0_p1" < "1.0-r1").
 *
 * Numbers of any length compare exactly (leading zeros ignored where they
 * are numeric, no integer conversion).  apk-tools 3 converts them to a
 * 64-bit integer that wraps after 20 digits, and apk-tools 2 refuses numbers
 * of 18 digits or more; no real package has such a number.  apk-tools 2 also
 * orders "further numbers" with leading zeros differently in some cases and
 * has no commit hash; we follow apk-tools 3, the current release.
 *
 * compare() follows apk-tools for invalid strings too: tokens are compared
 * until one side has an invalid token, and an invalid tail sorts before
 * everything.  valid() accepts exactly the grammar, at most VERSION_MAX_LEN
 * bytes.
 */
#include "config.h"

#include <string.h>

#include "collector/collector.h"

/* Token kinds, in the order that decides "kind differs" cases. */
enum apk_token {
	APK_TOK_FIRST_NUMBER,
	APK_TOK_NUMBER,
	APK_TOK_LETTER,
	APK_TOK_SUFFIX,
	APK_TOK_SUFFIX_NUMBER,
	APK_TOK_HASH,
	APK_TOK_REVISION,
	APK_TOK_END,
	APK_TOK_INVALID,
};

/* Suffixes in their order; APK_SUFFIX_NONE (no suffix) sits between. */
enum apk_suffix {
	APK_SUFFIX_ALPHA,
	APK_SUFFIX_BETA,
	APK_SUFFIX_PRE,
	APK_SUFFIX_RC,
	APK_SUFFIX_NONE,
	APK_SUFFIX_CVS,
	APK_SUFFIX_SVN,
	APK_SUFFIX_GIT,
	APK_SUFFIX_HG,
	APK_SUFFIX_P,
	APK_SUFFIX_UNKNOWN,
};

static const struct {
	const char	*name;
	enum apk_suffix	 value;
} apk_suffixes[] = {
	{ "alpha", APK_SUFFIX_ALPHA },
	{ "beta", APK_SUFFIX_BETA },
	{ "pre", APK_SUFFIX_PRE },
	{ "rc", APK_SUFFIX_RC },
	{ "cvs", APK_SUFFIX_CVS },
	{ "svn", APK_SUFFIX_SVN },
	{ "git", APK_SUFFIX_GIT },
	{ "hg", APK_SUFFIX_HG },
	{ "p", APK_SUFFIX_P },
};

/* A cursor over one version string and the token it stands on. */
struct apk_lexer {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	enum apk_token	 tok;
	enum apk_suffix	 suffix;	/* when tok is APK_TOK_SUFFIX */
	const char	*val;		/* the token's text */
	size_t		 vlen;
	const char	*why;		/* when tok is APK_TOK_INVALID */
};

static int
apk_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
apk_islower(int c)
{
	return c >= 'a' && c <= 'z';
}

static int
apk_ishex(int c)
{
	return apk_isdigit(c) || (c >= 'a' && c <= 'f');
}

static void
apk_invalid(struct apk_lexer *lx, const char *why)
{
	lx->tok = APK_TOK_INVALID;
	lx->why = why;
}

/* Take the run of chars accepted by pred at the cursor as the token's text. */
static void
apk_take(struct apk_lexer *lx, int (*pred)(int))
{
	lx->val = lx->s + lx->pos;
	while (lx->pos < lx->len && pred((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	lx->vlen = (size_t)(lx->s + lx->pos - lx->val);
}

static enum apk_suffix
apk_suffix_lookup(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < TM_NELEM(apk_suffixes); i++) {
		if (strlen(apk_suffixes[i].name) == len &&
		    memcmp(apk_suffixes[i].name, name, len) == 0)
			return apk_suffixes[i].value;
	}
	return APK_SUFFIX_UNKNOWN;
}

/* Start lexing s[0..len): the first token must be a number. */
static void
apk_first(struct apk_lexer *lx, const char *s, size_t len)
{
	lx->s = s;
	lx->len = len;
	lx->pos = 0;
	lx->why = NULL;
	lx->tok = APK_TOK_FIRST_NUMBER;
	apk_take(lx, apk_isdigit);
	if (lx->vlen == 0)
		apk_invalid(lx, len == 0 ? "version is empty" :
		    "version does not start with a digit");
}

/*
 * Move to the next token.  Which token may follow which is the grammar at
 * the top: each kind may only be followed by kinds further down the list
 * (numbers by numbers, suffixes by suffixes), and a wrong one is INVALID.
 */
static void
apk_next(struct apk_lexer *lx)
{
	enum apk_token	prev = lx->tok;
	int		c;

	if (lx->pos >= lx->len) {
		lx->tok = APK_TOK_END;
		return;
	}
	c = (unsigned char)lx->s[lx->pos];

	if (apk_islower(c)) {
		if (prev > APK_TOK_NUMBER) {
			apk_invalid(lx, "a letter may only follow a number");
			return;
		}
		lx->tok = APK_TOK_LETTER;
		lx->val = lx->s + lx->pos;
		lx->vlen = 1;
		lx->pos++;
	} else if (c == '.' || apk_isdigit(c)) {
		if (c == '.') {
			if (prev > APK_TOK_NUMBER) {
				apk_invalid(lx, "'.' may only follow a number");
				return;
			}
			lx->pos++;
			lx->tok = APK_TOK_NUMBER;
		} else if (prev == APK_TOK_SUFFIX) {
			lx->tok = APK_TOK_SUFFIX_NUMBER;
		} else {
			apk_invalid(lx, "misplaced digit");
			return;
		}
		apk_take(lx, apk_isdigit);
		if (lx->vlen == 0)
			apk_invalid(lx, "'.' is not followed by a number");
	} else if (c == '_') {
		if (prev > APK_TOK_SUFFIX_NUMBER) {
			apk_invalid(lx, "misplaced suffix");
			return;
		}
		lx->pos++;
		apk_take(lx, apk_islower);
		lx->suffix = apk_suffix_lookup(lx->val, lx->vlen);
		if (lx->suffix == APK_SUFFIX_UNKNOWN) {
			apk_invalid(lx, "unknown suffix");
			return;
		}
		lx->tok = APK_TOK_SUFFIX;
	} else if (c == '~') {
		if (prev >= APK_TOK_HASH) {
			apk_invalid(lx, "misplaced commit hash");
			return;
		}
		lx->pos++;
		apk_take(lx, apk_ishex);
		if (lx->vlen == 0) {
			apk_invalid(lx, "'~' is not followed by a hex commit hash");
			return;
		}
		lx->tok = APK_TOK_HASH;
	} else if (c == '-') {
		if (prev >= APK_TOK_REVISION) {
			apk_invalid(lx, "more than one revision");
			return;
		}
		if (lx->pos + 1 >= lx->len || lx->s[lx->pos + 1] != 'r') {
			apk_invalid(lx, "'-' is not followed by 'r'");
			return;
		}
		lx->pos += 2;
		lx->tok = APK_TOK_REVISION;
		apk_take(lx, apk_isdigit);
		if (lx->vlen == 0)
			apk_invalid(lx, "'-r' is not followed by a number");
	} else
		apk_invalid(lx, "invalid character");
}

/* 1 if s is a valid apk version (the grammar at the top), else 0 with *why. */
static int
apk_valid(const char *s, const char **why)
{
	struct apk_lexer	 lx;
	const char		*dummy;
	size_t			 len;

	if (why == NULL)
		why = &dummy;
	if (s == NULL) {
		*why = "version is missing";
		return 0;
	}
	len = strnlen(s, VERSION_MAX_LEN + 1);
	if (len > VERSION_MAX_LEN) {
		*why = "version is too long";
		return 0;
	}
	for (apk_first(&lx, s, len); lx.tok < APK_TOK_END; apk_next(&lx))
		;
	if (lx.tok == APK_TOK_INVALID) {
		*why = lx.why;
		return 0;
	}
	return 1;
}

/* Compare digit strings as numbers of any length: -1, 0 or 1. */
static int
apk_number_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	d;

	while (alen > 0 && *a == '0') {
		a++;
		alen--;
	}
	while (blen > 0 && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	d = memcmp(a, b, alen);
	return d < 0 ? -1 : d > 0;
}

/* Compare as byte strings, a prefix first: -1, 0 or 1. */
static int
apk_string_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	d;

	d = memcmp(a, b, alen < blen ? alen : blen);
	if (d != 0)
		return d < 0 ? -1 : 1;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

/* Compare two tokens of the same kind: -1, 0 or 1. */
static int
apk_token_cmp(const struct apk_lexer *a, const struct apk_lexer *b)
{
	switch (a->tok) {
	case APK_TOK_NUMBER:
		if (a->val[0] == '0' || b->val[0] == '0')
			return apk_string_cmp(a->val, a->vlen, b->val, b->vlen);
		return apk_number_cmp(a->val, a->vlen, b->val, b->vlen);
	case APK_TOK_FIRST_NUMBER:
	case APK_TOK_SUFFIX_NUMBER:
	case APK_TOK_REVISION:
		return apk_number_cmp(a->val, a->vlen, b->val, b->vlen);
	case APK_TOK_SUFFIX:
		if (a->suffix != b->suffix)
			return a->suffix < b->suffix ? -1 : 1;
		return 0;
	case APK_TOK_LETTER:
	case APK_TOK_HASH:
	default:
		return apk_string_cmp(a->val, a->vlen, b->val, b->vlen);
	}
}

/*
 * Order two apk versions: <0, 0 or >0.  Any strings are accepted (NULL as
 * ""); for invalid ones the order is apk-tools' (see the top).
 */
static int
apk_compare(const char *a, const char *b)
{
	struct apk_lexer	la, lb;
	int			r;

	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	apk_first(&la, a, strnlen(a, VERSION_MAX_LEN + 1));
	apk_first(&lb, b, strnlen(b, VERSION_MAX_LEN + 1));
	while (la.tok == lb.tok && la.tok < APK_TOK_END) {
		r = apk_token_cmp(&la, &lb);
		if (r != 0)
			return r;
		apk_next(&la);
		apk_next(&lb);
	}

	if (la.tok == lb.tok)
		return 0;
	if (la.tok == APK_TOK_SUFFIX && la.suffix < APK_SUFFIX_NONE)
		return -1;
	if (lb.tok == APK_TOK_SUFFIX && lb.suffix < APK_SUFFIX_NONE)
		return 1;
	return la.tok > lb.tok ? -1 : 1;
}

const struct version_scheme version_apk = {
	.name = "apk",
	.valid = apk_valid,
	.compare = apk_compare,
};
