/*
 * config.c: the declarative configuration table (STYLE.md rule 7).  One
 * table of struct cfg_entry describes every key: its type, its default, where
 * it lives in the caller's struct and one line of help.  The same table fills
 * defaults, parses the file, applies -o overrides, prints --help and prints
 * the effective configuration.
 *
 * File syntax, one setting per line:
 *	# a comment (only at the start of a line; '#' inside a value is kept)
 *	key = value
 *	key = "value with  spaces kept"
 * Leading and trailing blanks around key and value are ignored; a value in
 * double quotes keeps everything between the first and the last quote.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"

#define CFG_LINE_MAX	4096	/* longest accepted line, without newline */
#define CFG_PAIRS_MAX	1024	/* passthrough keys per prefix */
#define CFG_SHOW_MAX	80	/* offending text shown in an error */

/* Where a table entry's value lives inside the caller's struct. */
#define CFG_FIELD(base, e, type) ((type *)(void *)((char *)(base) + (e)->offset))
#define CFG_CFIELD(base, e, type) \
	((const type *)(const void *)((const char *)(base) + (e)->offset))

static const char *const cfg_type_names[] = {
	[CFG_STRING] = "string",
	[CFG_INT] = "integer",
	[CFG_BOOL] = "yes/no",
	[CFG_SIZE] = "size",
	[CFG_DURATION] = "duration",
	[CFG_LIST] = "list",
	[CFG_PASSTHROUGH] = "passthrough",
};

/*
 * Copy text into out as something safe to show on a terminal: non-printable
 * bytes become '?', and anything past CFG_SHOW_MAX is cut with "...".
 */
static void
cfg_show(const char *text, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; text[i] != '\0' && o + 4 < outlen; i++) {
		if (i == CFG_SHOW_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = isprint((unsigned char)text[i]) ? text[i] : '?';
	}
	out[o] = '\0';
}

/*
 * Write "FILE:LINE: reason: text" (or "reason: text" when path is NULL) to
 * err.  text is sanitised with cfg_show.
 */
static void
cfg_error(char *err, size_t errlen, const char *path, unsigned line,
    const char *reason, const char *text)
{
	char	shown[CFG_SHOW_MAX + 8];

	if (err == NULL || errlen == 0)
		return;
	cfg_show(text, shown, sizeof shown);
	if (path != NULL)
		snprintf(err, errlen, "%s:%u: %s: %s", path, line, reason, shown);
	else
		snprintf(err, errlen, "%s: %s", reason, shown);
}

static int
cfg_is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

/* Trim blanks in place at both ends; returns the new start. */
static char *
cfg_trim(char *s)
{
	size_t	n;

	while (cfg_is_blank((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && cfg_is_blank((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Keys are made of [A-Za-z0-9._-]; anything else is a typo or garbage. */
static int
cfg_key_valid(const char *key)
{
	const char	*p;

	if (*key == '\0')
		return 0;
	for (p = key; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' &&
		    *p != '-')
			return 0;
	}
	return 1;
}

/* Parse an unsigned decimal number prefix; *end points past it.  -1 on overflow or no digits. */
static int
cfg_parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t	v = 0;
	const char	*p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

/*
 * Parse a size: a decimal number of bytes with an optional binary suffix K,
 * M, G or T (case-insensitive, optionally followed by "B" or "iB"): "512",
 * "64K", "100M", "2GiB".  Returns 0, or -1 on syntax error or overflow.
 */
int
cfg_parse_size(const char *s, uint64_t *out)
{
	const char	*p;
	uint64_t	 v, mult = 1;

	if (cfg_parse_u64(s, &v, &p) == -1)
		return -1;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1ull << 10;
		break;
	case 'm': case 'M':
		mult = 1ull << 20;
		break;
	case 'g': case 'G':
		mult = 1ull << 30;
		break;
	case 't': case 'T':
		mult = 1ull << 40;
		break;
	case 'b': case 'B':
		if (p[1] != '\0')
			return -1;
		break;
	default:
		return -1;
	}
	if (mult != 1) {
		p++;
		if (strcasecmp(p, "") != 0 && strcasecmp(p, "b") != 0 &&
		    strcasecmp(p, "ib") != 0)
			return -1;
		if (v > UINT64_MAX / mult)
			return -1;
	}
	*out = v * mult;
	return 0;
}

/*
 * Parse a duration: a decimal number with a unit ms, s, m, h or d; a bare
 * number is seconds.  "250ms", "30s", "5m", "6h", "30d", "10".  The result is in
 * nanoseconds.  Returns 0, or -1 on syntax error or overflow.
 */
int
cfg_parse_duration(const char *s, uint64_t *out_ns)
{
	const char	*p;
	uint64_t	 v, mult;

	if (cfg_parse_u64(s, &v, &p) == -1)
		return -1;
	if (*p == '\0' || strcmp(p, "s") == 0)
		mult = 1000000000ull;
	else if (strcmp(p, "ms") == 0)
		mult = 1000000ull;
	else if (strcmp(p, "m") == 0)
		mult = 60ull * 1000000000ull;
	else if (strcmp(p, "h") == 0)
		mult = 3600ull * 1000000000ull;
	else if (strcmp(p, "d") == 0)
		mult = 86400ull * 1000000000ull;
	else
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out_ns = v * mult;
	return 0;
}

static int
cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < TM_NELEM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
cfg_parse_int(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || cfg_is_blank((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* A list is comma-separated items, none of them empty ("a,,b" is a typo). */
static int
cfg_list_valid(const char *s)
{
	const char	*p = s, *comma;

	while (cfg_is_blank((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 1;		/* the empty list */
	for (;;) {
		int	nonblank = 0;

		comma = strchr(p, ',');
		for (; *p != '\0' && p != comma; p++)
			if (!cfg_is_blank((unsigned char)*p))
				nonblank = 1;
		if (!nonblank)
			return 0;
		if (comma == NULL)
			return 1;
		p = comma + 1;
	}
}

/*
 * Split a CFG_LIST value on commas, trimming blanks around each item and
 * skipping empty items.  Returns a NULL-terminated array (never NULL; the
 * caller frees it with cfg_list_free) and the item count in *count if count
 * is not NULL.
 */
char **
cfg_list_split(const char *value, size_t *count)
{
	char	**list;
	char	 *copy, *item, *save = NULL;
	size_t	  n = 0, cap = 1;
	const char *p;

	for (p = value; p != NULL && *p != '\0'; p++)
		if (*p == ',')
			cap++;
	list = xcalloc(cap + 1, sizeof *list);
	if (value != NULL) {
		copy = xstrdup(value);
		for (item = strtok_r(copy, ",", &save); item != NULL;
		    item = strtok_r(NULL, ",", &save)) {
			item = cfg_trim(item);
			if (*item != '\0')
				list[n++] = xstrdup(item);
		}
		free(copy);
	}
	list[n] = NULL;
	if (count != NULL)
		*count = n;
	return list;
}

void
cfg_list_free(char **list)
{
	size_t	i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* The passthrough prefix of a "kafka.*" entry is "kafka." (length without '*'). */
static size_t
cfg_prefix_len(const struct cfg_entry *e)
{
	size_t	n = strlen(e->key);

	return (n > 0 && e->key[n - 1] == '*') ? n - 1 : n;
}

/*
 * Find the entry for key: an exact match on a non-passthrough key first,
 * then a passthrough prefix with something after it.  Returns NULL if none.
 */
static const struct cfg_entry *
cfg_find(const struct cfg_entry *table, size_t n, const char *key)
{
	size_t	i, plen;

	for (i = 0; i < n; i++) {
		if (table[i].type != CFG_PASSTHROUGH &&
		    strcmp(table[i].key, key) == 0)
			return &table[i];
	}
	for (i = 0; i < n; i++) {
		if (table[i].type != CFG_PASSTHROUGH)
			continue;
		plen = cfg_prefix_len(&table[i]);
		if (strncmp(table[i].key, key, plen) == 0 && key[plen] != '\0')
			return &table[i];
	}
	return NULL;
}

/* Find the pair for key (without prefix) in a passthrough; NULL if absent. */
static struct cfg_pair *
cfg_pair_find(struct cfg_passthrough *pt, const char *key)
{
	size_t	i;

	for (i = 0; i < pt->n; i++)
		if (strcmp(pt->pairs[i].key, key) == 0)
			return &pt->pairs[i];
	return NULL;
}

/* Control characters (other than tab) cannot be written back to a file. */
static int
cfg_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s) && *s != '\t')
			return 1;
	return 0;
}

/*
 * Convert value for entry e and store it in base.  key is the full key as
 * written (needed for passthrough entries).  On error returns -1 with the
 * reason written to why; base is unchanged.
 */
static int
cfg_store(const struct cfg_entry *e, void *base, const char *key,
    const char *value, unsigned line, char *why, size_t whylen)
{
	const char	*reason = NULL;
	uint64_t	 u;
	int64_t		 i;
	int		 b;
	char		**sp;
	struct cfg_passthrough *pt;
	struct cfg_pair	*pair;

	if (cfg_has_control(value)) {
		snprintf(why, whylen, "bad value (control character)");
		return -1;
	}
	switch (e->type) {
	case CFG_STRING:
	case CFG_LIST:
		if (e->type == CFG_LIST && !cfg_list_valid(value)) {
			snprintf(why, whylen,
			    "bad value (empty item in comma-separated list)");
			return -1;
		}
		if (e->check != NULL && e->check(value, &reason) == -1) {
			snprintf(why, whylen, "bad value (%s)",
			    reason != NULL ? reason : "rejected");
			return -1;
		}
		sp = CFG_FIELD(base, e, char *);
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	case CFG_INT:
		if (cfg_parse_int(value, &i) == -1) {
			snprintf(why, whylen, "bad value (expected an integer)");
			return -1;
		}
		if (e->min < e->max && (i < e->min || i > e->max)) {
			snprintf(why, whylen,
			    "bad value (out of range %" PRId64 "..%" PRId64 ")",
			    e->min, e->max);
			return -1;
		}
		*CFG_FIELD(base, e, int64_t) = i;
		return 0;
	case CFG_BOOL:
		if (cfg_parse_bool(value, &b) == -1) {
			snprintf(why, whylen, "bad value (expected yes or no)");
			return -1;
		}
		*CFG_FIELD(base, e, int) = b;
		return 0;
	case CFG_SIZE:
		if (cfg_parse_size(value, &u) == -1) {
			snprintf(why, whylen, "bad value (expected a size "
			    "such as 512, 64K, 100M, 2G)");
			return -1;
		}
		*CFG_FIELD(base, e, uint64_t) = u;
		return 0;
	case CFG_DURATION:
		if (cfg_parse_duration(value, &u) == -1) {
			snprintf(why, whylen, "bad value (expected a duration "
			    "such as 250ms, 30s, 5m, 6h)");
			return -1;
		}
		*CFG_FIELD(base, e, uint64_t) = u;
		return 0;
	case CFG_PASSTHROUGH:
		pt = CFG_FIELD(base, e, struct cfg_passthrough);
		key += cfg_prefix_len(e);
		if ((pair = cfg_pair_find(pt, key)) != NULL) {
			free(pair->value);
			pair->value = xstrdup(value);
			pair->line = line;
			return 0;
		}
		if (pt->n >= CFG_PAIRS_MAX) {
			snprintf(why, whylen, "too many keys with this prefix");
			return -1;
		}
		pt->pairs = xreallocarray(pt->pairs, pt->n + 1, sizeof *pt->pairs);
		pt->pairs[pt->n].key = xstrdup(key);
		pt->pairs[pt->n].value = xstrdup(value);
		pt->pairs[pt->n].line = line;
		pt->n++;
		return 0;
	}
	snprintf(why, whylen, "bad table entry type");
	return -1;
}

/*
 * Fill every field described by table with its default.  base must be
 * zero-filled (or cfg_free'd).  Strings and lists are never NULL afterwards:
 * a NULL default is "".  Returns 0, or -1 (logged) if a default does not
 * parse, which is a bug in the table.
 */
int
cfg_defaults(const struct cfg_entry *table, size_t n, void *base)
{
	char		 why[128];
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < n; i++) {
		const struct cfg_entry *e = &table[i];
		const char *def = e->def != NULL ? e->def : "";

		if (e->type == CFG_PASSTHROUGH) {
			struct cfg_passthrough *pt =
			    CFG_FIELD(base, e, struct cfg_passthrough);

			pt->pairs = NULL;
			pt->n = 0;
			continue;
		}
		if ((e->type == CFG_INT || e->type == CFG_SIZE ||
		    e->type == CFG_DURATION || e->type == CFG_BOOL) &&
		    e->def == NULL)
			def = "0";
		if (cfg_store(e, base, e->key, def, 0, why, sizeof why) == -1) {
			log_warnx("config: default of %s: %s: %s", e->key, why,
			    def);
			rc = -1;
		}
	}
	return rc;
}

/*
 * Read one line of at most CFG_LINE_MAX bytes into buf (NUL-terminated,
 * newline removed).  Returns 1 for a line, 0 at end of file, -1 if the line
 * is too long (the rest of it is consumed), -2 if the read failed (errno
 * set) and -3 if the line holds a NUL byte.
 */
static int
cfg_read_line(FILE *fp, char *buf, size_t buflen)
{
	size_t	n = 0;
	int	c, toolong = 0, nul = 0;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (c == '\0')
			nul = 1;
		if (n + 1 < buflen)
			buf[n++] = (char)c;
		else
			toolong = 1;
	}
	buf[n] = '\0';
	if (ferror(fp))
		return -2;
	if (c == EOF && n == 0 && !toolong && !nul)
		return 0;
	if (nul)
		return -3;
	return toolong ? -1 : 1;
}

/*
 * Parse the file at path into base (whose defaults are already filled).
 * Each key may appear once.  On error returns -1 and writes
 * "FILE:LINE: reason: offending text" to err; base then holds what was
 * parsed before the error, and cfg_free must still be called on it.
 */
int
cfg_load_file(const struct cfg_entry *table, size_t n, void *base,
    const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	const struct cfg_entry *e;
	char		*buf, *line, *eq, *key, *value, why[128];
	unsigned	 lineno = 0, *seen;
	struct dup {
		char	 *key;
		unsigned line;
	}		*pseen = NULL;
	size_t		 npseen = 0, i, vlen;
	int		 r, rc = -1;

	if ((fp = fopen(path, "re")) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = xmalloc(CFG_LINE_MAX + 1);
	seen = xcalloc(n, sizeof *seen);
	for (;;) {
		r = cfg_read_line(fp, buf, CFG_LINE_MAX + 1);
		if (r == 0)
			break;
		lineno++;
		if (r == -2) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s:%u: %s", path, lineno,
				    strerror(errno));
			goto out;
		}
		if (r == -3) {
			cfg_error(err, errlen, path, lineno,
			    "NUL byte in line", buf);
			goto out;
		}
		if (r == -1) {
			char reason[64];

			snprintf(reason, sizeof reason,
			    "line too long (over %d bytes)", CFG_LINE_MAX);
			cfg_error(err, errlen, path, lineno, reason,
			    cfg_trim(buf));
			goto out;
		}
		line = cfg_trim(buf);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			cfg_error(err, errlen, path, lineno,
			    "missing '=' (expected key = value)", line);
			goto out;
		}
		*eq = '\0';
		key = cfg_trim(line);
		value = cfg_trim(eq + 1);
		if (*key == '\0') {
			*eq = '=';
			cfg_error(err, errlen, path, lineno, "missing key", line);
			goto out;
		}
		if (!cfg_key_valid(key)) {
			cfg_error(err, errlen, path, lineno, "bad key", key);
			goto out;
		}
		vlen = strlen(value);
		if (vlen > 0 && value[0] == '"') {
			if (vlen < 2 || value[vlen - 1] != '"') {
				cfg_error(err, errlen, path, lineno,
				    "unterminated quote", value);
				goto out;
			}
			value[vlen - 1] = '\0';
			value++;
		}
		if ((e = cfg_find(table, n, key)) == NULL) {
			cfg_error(err, errlen, path, lineno, "unknown key", key);
			goto out;
		}
		if (e->type != CFG_PASSTHROUGH) {
			unsigned *first = &seen[e - table];

			if (*first != 0) {
				char reason[64];

				snprintf(reason, sizeof reason,
				    "duplicate key (first set on line %u)",
				    *first);
				cfg_error(err, errlen, path, lineno, reason, key);
				goto out;
			}
			*first = lineno;
		} else {
			for (i = 0; i < npseen; i++)
				if (strcmp(pseen[i].key, key) == 0)
					break;
			if (i < npseen) {
				char reason[64];

				snprintf(reason, sizeof reason,
				    "duplicate key (first set on line %u)",
				    pseen[i].line);
				cfg_error(err, errlen, path, lineno, reason, key);
				goto out;
			}
			if (npseen >= CFG_PAIRS_MAX * n) {
				cfg_error(err, errlen, path, lineno,
				    "too many keys", key);
				goto out;
			}
			pseen = xreallocarray(pseen, npseen + 1, sizeof *pseen);
			pseen[npseen].key = xstrdup(key);
			pseen[npseen].line = lineno;
			npseen++;
		}
		if (cfg_store(e, base, key, value, lineno, why,
		    sizeof why) == -1) {
			char	shown[CFG_LINE_MAX + 4];

			snprintf(shown, sizeof shown, "%s = %s", key, value);
			cfg_error(err, errlen, path, lineno, why, shown);
			goto out;
		}
	}
	rc = 0;
out:
	for (i = 0; i < npseen; i++)
		free(pseen[i].key);
	free(pseen);
	free(seen);
	free(buf);
	fclose(fp);
	return rc;
}

/*
 * Set one key from a string, as given by -o key=value: the same lookup and
 * conversion as a file line, a later set replacing an earlier one.  On error
 * returns -1 and writes "reason: key=value" to err.
 */
int
cfg_set(const struct cfg_entry *table, size_t n, void *base,
    const char *key, const char *value, char *err, size_t errlen)
{
	const struct cfg_entry *e;
	char		*shown, why[128];

	xasprintf(&shown, "%s=%s", key, value);
	if (!cfg_key_valid(key)) {
		cfg_error(err, errlen, NULL, 0, "bad key", shown);
		free(shown);
		return -1;
	}
	if ((e = cfg_find(table, n, key)) == NULL) {
		cfg_error(err, errlen, NULL, 0, "unknown key", shown);
		free(shown);
		return -1;
	}
	if (cfg_store(e, base, key, value, 0, why, sizeof why) == -1) {
		cfg_error(err, errlen, NULL, 0, why, shown);
		free(shown);
		return -1;
	}
	free(shown);
	return 0;
}

/*
 * Values of keys naming secrets are masked when printed.  A key that names
 * where a secret lives (a file or a location) is a path and is shown.
 */
static int
cfg_is_secret(const char *key)
{
	static const char *const words[] = {
		"password", "secret", "token", "webhook", ".pem",
		"oauthbearer.config",
	};
	size_t	i, n = strlen(key);

	if ((n >= 5 && strcmp(key + n - 5, "_file") == 0) ||
	    (n >= 9 && strcmp(key + n - 9, ".location") == 0))
		return 0;
	for (i = 0; i < TM_NELEM(words); i++)
		if (strstr(key, words[i]) != NULL)
			return 1;
	return 0;
}

/* Print v bytes in the largest binary unit that divides it exactly. */
static void
cfg_format_size(uint64_t v, char *out, size_t outlen)
{
	static const char units[] = "KMGT";
	int	u = -1;

	while (v != 0 && v % 1024 == 0 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, outlen, "%" PRIu64, v);
	else
		snprintf(out, outlen, "%" PRIu64 "%c", v, units[u]);
}

/* Print ns in the largest unit (h, m, s, ms) that divides it exactly. */
static void
cfg_format_duration(uint64_t ns, char *out, size_t outlen)
{
	const uint64_t	ms = 1000000ull, s = 1000 * ms, m = 60 * s, h = 60 * m;

	if (ns != 0 && ns % h == 0)
		snprintf(out, outlen, "%" PRIu64 "h", ns / h);
	else if (ns != 0 && ns % m == 0)
		snprintf(out, outlen, "%" PRIu64 "m", ns / m);
	else if (ns % s == 0)
		snprintf(out, outlen, "%" PRIu64 "s", ns / s);
	else if (ns % ms == 0)
		snprintf(out, outlen, "%" PRIu64 "ms", ns / ms);
	else
		/* Below a millisecond cannot be written back; show it honestly. */
		snprintf(out, outlen, "%" PRIu64 "ns", ns);
}

/* Print a string value so that cfg_load_file reads it back unchanged. */
static void
cfg_print_value(FILE *fp, const char *key, const char *v, int mask)
{
	if (v == NULL)
		v = "";
	if (mask && cfg_is_secret(key) && *v != '\0')
		v = "********";
	fprintf(fp, "%s = \"%s\"\n", key, v);
}

/*
 * Print the configuration in base as a file cfg_load_file accepts, one
 * "key = value" per line in table order, passthrough pairs under their
 * prefix.  Values of secret keys are masked.
 */
void
cfg_print(FILE *fp, const struct cfg_entry *table, size_t n, const void *base)
{
	char	tmp[64];
	size_t	i, j;

	for (i = 0; i < n; i++) {
		const struct cfg_entry *e = &table[i];

		switch (e->type) {
		case CFG_STRING:
		case CFG_LIST:
			cfg_print_value(fp, e->key,
			    *CFG_CFIELD(base, e, char *), 1);
			break;
		case CFG_INT:
			fprintf(fp, "%s = %" PRId64 "\n", e->key,
			    *CFG_CFIELD(base, e, int64_t));
			break;
		case CFG_BOOL:
			fprintf(fp, "%s = %s\n", e->key,
			    *CFG_CFIELD(base, e, int) ? "yes" : "no");
			break;
		case CFG_SIZE:
			cfg_format_size(*CFG_CFIELD(base, e, uint64_t), tmp,
			    sizeof tmp);
			fprintf(fp, "%s = %s\n", e->key, tmp);
			break;
		case CFG_DURATION:
			cfg_format_duration(*CFG_CFIELD(base, e, uint64_t), tmp,
			    sizeof tmp);
			fprintf(fp, "%s = %s\n", e->key, tmp);
			break;
		case CFG_PASSTHROUGH: {
			const struct cfg_passthrough *pt =
			    CFG_CFIELD(base, e, struct cfg_passthrough);

			for (j = 0; j < pt->n; j++) {
				char *full;

				xasprintf(&full, "%.*s%s",
				    (int)cfg_prefix_len(e), e->key,
				    pt->pairs[j].key);
				cfg_print_value(fp, full, pt->pairs[j].value, 1);
				free(full);
			}
			break;
		}
		}
	}
}

/* Print text word-wrapped to width columns, each line indented by indent. */
static void
cfg_print_wrapped(FILE *fp, const char *text, int indent, int width)
{
	const char	*p = text, *word;
	int		 col = 0, len;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (word = p; *p != '\0' && *p != ' '; p++)
			;
		len = (int)(p - word);
		if (col > 0 && col + 1 + len > width) {
			fputc('\n', fp);
			col = 0;
		}
		if (col == 0)
			col = fprintf(fp, "%*s%.*s", indent, "", len, word);
		else
			col += fprintf(fp, " %.*s", len, word);
	}
	fputc('\n', fp);
}

/*
 * Print the table as --help text: each key with its type, default (and
 * bounds), then its help line indented below.
 */
void
cfg_print_help(FILE *fp, const struct cfg_entry *table, size_t n)
{
	size_t	i;

	fprintf(fp, "Configuration keys (file: \"key = value\", "
	    "command line: -o key=value):\n");
	for (i = 0; i < n; i++) {
		const struct cfg_entry *e = &table[i];

		fprintf(fp, "  %-26s %s", e->key, cfg_type_names[e->type]);
		if (e->type == CFG_INT && e->min < e->max)
			fprintf(fp, " %" PRId64 "..%" PRId64, e->min, e->max);
		if (e->type != CFG_PASSTHROUGH) {
			if (e->def != NULL && *e->def != '\0')
				fprintf(fp, ", default %s", e->def);
			else
				fprintf(fp, ", default empty");
		}
		fputc('\n', fp);
		cfg_print_wrapped(fp, e->help != NULL ? e->help : "", 6, 78);
	}
}

/* Free what the table owns inside base and leave the pointers NULL. */
void
cfg_free(const struct cfg_entry *table, size_t n, void *base)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		const struct cfg_entry *e = &table[i];

		if (e->type == CFG_STRING || e->type == CFG_LIST) {
			char **sp = CFG_FIELD(base, e, char *);

			free(*sp);
			*sp = NULL;
		} else if (e->type == CFG_PASSTHROUGH) {
			struct cfg_passthrough *pt =
			    CFG_FIELD(base, e, struct cfg_passthrough);

			for (j = 0; j < pt->n; j++) {
				free(pt->pairs[j].key);
				free(pt->pairs[j].value);
			}
			free(pt->pairs);
			pt->pairs = NULL;
			pt->n = 0;
		}
	}
}

/* A CFG_STRING check for "log.level". */
int
cfg_check_log_level(const char *value, const char **why)
{
	enum log_level	lvl;

	if (log_level_parse(value, &lvl) == 0)
		return 0;
	*why = "expected error, warning, info or debug";
	return -1;
}

/* A CFG_STRING check for values that must not be empty. */
int
cfg_check_nonempty(const char *value, const char **why)
{
	if (*value != '\0')
		return 0;
	*why = "must not be empty";
	return -1;
}

/*
 * A CFG_STRING check for names such as Kafka topics and consumer groups:
 * 1 to 249 of [A-Za-z0-9._-].
 */
int
cfg_check_name(const char *value, const char **why)
{
	size_t	n = strlen(value);

	if (n == 0 || n > 249) {
		*why = "expected 1 to 249 characters";
		return -1;
	}
	for (; *value != '\0'; value++) {
		if (!isalnum((unsigned char)*value) && *value != '.' &&
		    *value != '_' && *value != '-') {
			*why = "expected letters, digits, '.', '_' or '-'";
			return -1;
		}
	}
	return 0;
}
