/*
 * cvss.c: severity of an advisory from its CVSS vector.  The base score of a
 * CVSS v3.0 or v3.1 vector is computed as FIRST's specification defines it
 * (section 7.1 of v3.1: the base metric equations, the weights of section
 * 7.4 and the Roundup of Appendix A; v3.0 rounds up to one decimal).  CVSS
 * v2 base scores follow the v2 guide (section 3.2.1).  A CVSS v4 vector has
 * no closed formula (its score comes from FIRST's lookup table of
 * macro-vectors): it is recognised and validated, but gives no score; the
 * caller falls back to a level named by the record (database_specific).
 *
 * Vectors are untrusted strings from a feed: every metric is checked, a
 * metric given twice or a missing base metric is an error.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "collector/collector.h"

#define CVSS_VECTOR_MAX	512

static const char *const sev_level_names[] = {
	[SEV_UNKNOWN] = "unknown",
	[SEV_NONE] = "none",
	[SEV_LOW] = "low",
	[SEV_MEDIUM] = "medium",
	[SEV_HIGH] = "high",
	[SEV_CRITICAL] = "critical",
};

/* The level's name ("high"); "unknown" for anything out of range. */
const char *
sev_level_name(enum sev_level level)
{
	if ((unsigned)level >= TM_NELEM(sev_level_names))
		return "unknown";
	return sev_level_names[level];
}

/*
 * Parse a level name as feeds and users write it, case-insensitively:
 * "critical", "high", "important" (Red Hat, SUSE), "medium", "moderate",
 * "low", "negligible", "none".  Returns SEV_UNKNOWN when not recognised.
 */
enum sev_level
sev_level_parse(const char *s)
{
	static const struct {
		const char	*name;
		enum sev_level	 level;
	} names[] = {
		{ "critical", SEV_CRITICAL },
		{ "high", SEV_HIGH },
		{ "important", SEV_HIGH },
		{ "medium", SEV_MEDIUM },
		{ "moderate", SEV_MEDIUM },
		{ "low", SEV_LOW },
		{ "negligible", SEV_LOW },
		{ "unimportant", SEV_LOW },
		{ "none", SEV_NONE },
	};
	size_t	i;

	if (s == NULL)
		return SEV_UNKNOWN;
	for (i = 0; i < TM_NELEM(names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].level;
	return SEV_UNKNOWN;
}

/* Qualitative rating of a v3/v4 score (v3.1 section 5). */
enum sev_level
cvss_level(double score)
{
	if (score <= 0.0)
		return SEV_NONE;
	if (score < 4.0)
		return SEV_LOW;
	if (score < 7.0)
		return SEV_MEDIUM;
	if (score < 9.0)
		return SEV_HIGH;
	return SEV_CRITICAL;
}

/* v2 has three levels (NVD's ranges): low < 4.0 <= medium < 7.0 <= high. */
static enum sev_level
cvss_v2_level(double score)
{
	if (score < 4.0)
		return SEV_LOW;
	if (score < 7.0)
		return SEV_MEDIUM;
	return SEV_HIGH;
}

/* One metric: its name and the weight of each allowed value. */
struct cvss_metric {
	const char	*name;
	const char	*values;	/* one letter per value */
	double		 weight[5];
	int		 base;		/* 1: a base metric, required */
};

/*
 * Split "K:V/K:V/..." after the version prefix and look up each pair in
 * metrics[].  idx[i] receives the index of the value of metrics[i] in
 * metrics[i].values, or -1 if absent.  Unknown metric names are accepted
 * when allow_other (temporal and environmental metrics are not part of the
 * base score) if their value is one or more letters or digits.  Returns 0,
 * or -1 on a malformed vector, a duplicate or an unknown value.
 */
static int
cvss_split(const char *p, const struct cvss_metric *metrics, size_t n,
    int *idx, const char **why)
{
	size_t	i;

	for (i = 0; i < n; i++)
		idx[i] = -1;
	if (*p == '\0') {
		*why = "no metrics";
		return -1;
	}
	while (*p != '\0') {
		const char	*colon, *end;
		size_t		 klen, vlen;

		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL || colon == p || colon + 1 == end) {
			*why = "metric is not NAME:VALUE";
			return -1;
		}
		klen = (size_t)(colon - p);
		vlen = (size_t)(end - colon - 1);
		for (i = 0; i < n; i++)
			if (strlen(metrics[i].name) == klen &&
			    memcmp(metrics[i].name, p, klen) == 0)
				break;
		if (i == n) {
			const char *c;

			/* Temporal/environmental: checked for shape only. */
			for (c = p; c < end; c++)
				if (!((*c >= 'A' && *c <= 'Z') ||
				    (*c >= 'a' && *c <= 'z') ||
				    (*c >= '0' && *c <= '9') || *c == ':')) {
					*why = "bad character in metric";
					return -1;
				}
		} else {
			const char *v;

			if (idx[i] != -1) {
				*why = "metric given twice";
				return -1;
			}
			if (vlen != 1 || colon[1] == '\0' ||
			    (v = strchr(metrics[i].values, colon[1])) == NULL) {
				*why = "unknown metric value";
				return -1;
			}
			idx[i] = (int)(v - metrics[i].values);
		}
		p = *end == '/' ? end + 1 : end;
		if (*p == '\0' && end[0] == '/') {
			*why = "trailing '/'";
			return -1;
		}
	}
	for (i = 0; i < n; i++)
		if (metrics[i].base && idx[i] == -1) {
			*why = "a base metric is missing";
			return -1;
		}
	return 0;
}

/* v3.1 Appendix A: the smallest one-decimal number >= x, computed on
 * integers so that floating point noise cannot push 4.0 to 4.1. */
static double
cvss_roundup31(double x)
{
	int64_t	i = (int64_t)llround(x * 100000.0);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

/* v3.0's round up: ceil to one decimal. */
static double
cvss_roundup30(double x)
{
	return ceil(x * 10.0) / 10.0;
}

enum { V3_AV, V3_AC, V3_PR, V3_UI, V3_S, V3_C, V3_I, V3_A, V3_N };

static const struct cvss_metric cvss_v3_metrics[V3_N] = {
	[V3_AV] = { "AV", "NALP", { 0.85, 0.62, 0.55, 0.2 }, 1 },
	[V3_AC] = { "AC", "LH", { 0.77, 0.44 }, 1 },
	/* PR: weights for S:U; S:C raises L and H (below). */
	[V3_PR] = { "PR", "NLH", { 0.85, 0.62, 0.27 }, 1 },
	[V3_UI] = { "UI", "NR", { 0.85, 0.62 }, 1 },
	[V3_S] = { "S", "UC", { 0, 1 }, 1 },
	[V3_C] = { "C", "HLN", { 0.56, 0.22, 0 }, 1 },
	[V3_I] = { "I", "HLN", { 0.56, 0.22, 0 }, 1 },
	[V3_A] = { "A", "HLN", { 0.56, 0.22, 0 }, 1 },
};

static int
cvss_v3_score(const char *p, int minor, double *score, const char **why)
{
	int	idx[V3_N];
	double	iss, impact, expl, pr, base;
	int	changed;

	if (cvss_split(p, cvss_v3_metrics, V3_N, idx, why) == -1)
		return -1;
	changed = idx[V3_S] == 1;
	pr = cvss_v3_metrics[V3_PR].weight[idx[V3_PR]];
	if (changed && idx[V3_PR] == 1)
		pr = 0.68;
	else if (changed && idx[V3_PR] == 2)
		pr = 0.5;
	iss = 1.0 - (1.0 - cvss_v3_metrics[V3_C].weight[idx[V3_C]]) *
	    (1.0 - cvss_v3_metrics[V3_I].weight[idx[V3_I]]) *
	    (1.0 - cvss_v3_metrics[V3_A].weight[idx[V3_A]]);
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	expl = 8.22 * cvss_v3_metrics[V3_AV].weight[idx[V3_AV]] *
	    cvss_v3_metrics[V3_AC].weight[idx[V3_AC]] * pr *
	    cvss_v3_metrics[V3_UI].weight[idx[V3_UI]];
	if (impact <= 0.0) {
		*score = 0.0;
		return 0;
	}
	base = changed ? 1.08 * (impact + expl) : impact + expl;
	if (base > 10.0)
		base = 10.0;
	*score = minor == 0 ? cvss_roundup30(base) : cvss_roundup31(base);
	return 0;
}

enum { V2_AV, V2_AC, V2_AU, V2_C, V2_I, V2_A, V2_N };

static const struct cvss_metric cvss_v2_metrics[V2_N] = {
	[V2_AV] = { "AV", "LAN", { 0.395, 0.646, 1.0 }, 1 },
	[V2_AC] = { "AC", "HML", { 0.35, 0.61, 0.71 }, 1 },
	[V2_AU] = { "Au", "MSN", { 0.45, 0.56, 0.704 }, 1 },
	[V2_C] = { "C", "NPC", { 0, 0.275, 0.660 }, 1 },
	[V2_I] = { "I", "NPC", { 0, 0.275, 0.660 }, 1 },
	[V2_A] = { "A", "NPC", { 0, 0.275, 0.660 }, 1 },
};

static int
cvss_v2_score(const char *p, double *score, const char **why)
{
	int	idx[V2_N];
	double	impact, expl, base;

	if (cvss_split(p, cvss_v2_metrics, V2_N, idx, why) == -1)
		return -1;
	impact = 10.41 * (1.0 -
	    (1.0 - cvss_v2_metrics[V2_C].weight[idx[V2_C]]) *
	    (1.0 - cvss_v2_metrics[V2_I].weight[idx[V2_I]]) *
	    (1.0 - cvss_v2_metrics[V2_A].weight[idx[V2_A]]));
	expl = 20.0 * cvss_v2_metrics[V2_AV].weight[idx[V2_AV]] *
	    cvss_v2_metrics[V2_AC].weight[idx[V2_AC]] *
	    cvss_v2_metrics[V2_AU].weight[idx[V2_AU]];
	if (impact == 0.0) {
		*score = 0.0;
		return 0;
	}
	base = (0.6 * impact + 0.4 * expl - 1.5) * 1.176;
	/* Round to one decimal, half up, on integers (see roundup31). */
	*score = (double)((int64_t)llround(base * 100000.0 + 5000.0) /
	    10000) / 10.0;
	return 0;
}

/* v4: the base metrics, for validation only. */
static const struct cvss_metric cvss_v4_metrics[] = {
	{ "AV", "NALP", { 0 }, 1 }, { "AC", "LH", { 0 }, 1 },
	{ "AT", "NP", { 0 }, 1 }, { "PR", "NLH", { 0 }, 1 },
	{ "UI", "NPA", { 0 }, 1 }, { "VC", "HLN", { 0 }, 1 },
	{ "VI", "HLN", { 0 }, 1 }, { "VA", "HLN", { 0 }, 1 },
	{ "SC", "HLN", { 0 }, 1 }, { "SI", "HLN", { 0 }, 1 },
	{ "SA", "HLN", { 0 }, 1 },
};

/*
 * Score a CVSS vector: "CVSS:3.1/AV:N/...", "CVSS:3.0/...", a v2 vector
 * ("AV:N/AC:L/Au:N/C:P/I:P/A:P", optionally prefixed "CVSS:2.0/") or
 * "CVSS:4.0/...".  On success returns 0 and sets *score (0.0 .. 10.0;
 * -1.0 for v4, which has no formula here) and *level (SEV_UNKNOWN for v4).
 * Returns -1 with *why set on a malformed or unsupported vector.
 */
int
cvss_score(const char *vector, double *score, enum sev_level *level,
    const char **why)
{
	const char	*dummy;
	size_t		 len;

	if (why == NULL)
		why = &dummy;
	*score = -1.0;
	*level = SEV_UNKNOWN;
	if (vector == NULL || (len = strlen(vector)) == 0) {
		*why = "empty vector";
		return -1;
	}
	if (len > CVSS_VECTOR_MAX) {
		*why = "vector too long";
		return -1;
	}
	if (strncmp(vector, "CVSS:3.1/", 9) == 0 ||
	    strncmp(vector, "CVSS:3.0/", 9) == 0) {
		if (cvss_v3_score(vector + 9, vector[7] == '1' ? 1 : 0, score,
		    why) == -1)
			return -1;
		*level = cvss_level(*score);
		return 0;
	}
	if (strncmp(vector, "CVSS:4.0/", 9) == 0) {
		int idx[TM_NELEM(cvss_v4_metrics)];

		if (cvss_split(vector + 9, cvss_v4_metrics,
		    TM_NELEM(cvss_v4_metrics), idx, why) == -1)
			return -1;
		return 0;
	}
	if (strncmp(vector, "CVSS:2.0/", 9) == 0)
		vector += 9;
	else if (strncmp(vector, "CVSS:", 5) == 0) {
		*why = "unsupported CVSS version";
		return -1;
	}
	if (cvss_v2_score(vector, score, why) == -1)
		return -1;
	*level = cvss_v2_level(*score);
	return 0;
}
