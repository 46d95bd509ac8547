/*
 * findings-query.c: what /api/v1/findings and /api/v1/vulnerabilities/{id}
 * answer, computed from the engine's findings (open ones, and the resolved
 * ones it keeps: correlate_config.history_max).  The HTTP layer (api.c)
 * parses nothing itself: it hands each query parameter to
 * findings_filter_set() and prints the JSON returned here.  doc/api.md
 * documents both shapes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define FQ_VALUE_MAX	512
#define FQ_BLAST_MAX	10000	/* entries per list in a blast radius */

void
findings_filter_init(struct findings_filter *f)
{
	memset(f, 0, sizeof *f);
	f->state = 1;		/* open */
	f->limit = FINDINGS_LIMIT_DEFAULT;
}

/* Split "a,b,c" of level names into a bit set.  -1 on an unknown name. */
static int
fq_levels(const char *v, unsigned *set)
{
	char	*copy = xstrdup(v), *p, *save = NULL;
	int	 rc = 0;

	*set = 0;
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		unsigned l;

		for (l = SEV_UNKNOWN; l <= SEV_CRITICAL; l++)
			if (strcmp(p, sev_level_name((enum sev_level)l)) == 0)
				break;
		if (l > SEV_CRITICAL) {
			rc = -1;
			break;
		}
		*set |= 1u << l;
	}
	free(copy);
	return rc == 0 && *set != 0 ? 0 : -1;
}

/*
 * Apply one query parameter to f.  Keys: kind, severity (a level or a
 * comma-separated list), min_severity, host, image (key or reference),
 * container (id or name), advisory (OSV id or alias), check, state (open,
 * resolved, all), limit (1..FINDINGS_LIMIT_MAX), cursor.  Values are
 * borrowed (they must outlive f).  Returns 0, or -1 with a reason for the
 * user in why.
 */
int
findings_filter_set(struct findings_filter *f, const char *key,
    const char *value, char *why, size_t whylen)
{
	char	*end;

	if (value == NULL || strlen(value) > FQ_VALUE_MAX) {
		snprintf(why, whylen, "%s: missing or longer than %d bytes",
		    key, FQ_VALUE_MAX);
		return -1;
	}
	if (strcmp(key, "kind") == 0) {
		enum finding_kind k;

		if (finding_kind_parse(value, &k) == -1) {
			snprintf(why, whylen, "kind: expected vulnerability, "
			    "misconfiguration, drift, short-lived or "
			    "host-silent");
			return -1;
		}
		f->kinds |= 1u << k;
	} else if (strcmp(key, "severity") == 0) {
		if (fq_levels(value, &f->levels) == -1) {
			snprintf(why, whylen, "severity: expected critical, "
			    "high, medium, low, none or unknown (or a "
			    "comma-separated list)");
			return -1;
		}
	} else if (strcmp(key, "min_severity") == 0) {
		unsigned set;

		if (fq_levels(value, &set) == -1 || (set & (set - 1)) != 0) {
			snprintf(why, whylen, "min_severity: expected one "
			    "level");
			return -1;
		}
		f->min_level = (unsigned)__builtin_ctz(set);
	} else if (strcmp(key, "host") == 0) {
		f->host = value;
	} else if (strcmp(key, "image") == 0) {
		f->image = value;
	} else if (strcmp(key, "container") == 0) {
		f->container = value;
	} else if (strcmp(key, "advisory") == 0) {
		f->advisory = value;
	} else if (strcmp(key, "check") == 0) {
		f->check = value;
	} else if (strcmp(key, "state") == 0) {
		if (strcmp(value, "open") == 0)
			f->state = 1;
		else if (strcmp(value, "resolved") == 0)
			f->state = 0;
		else if (strcmp(value, "all") == 0)
			f->state = -1;
		else {
			snprintf(why, whylen, "state: expected open, resolved "
			    "or all");
			return -1;
		}
	} else if (strcmp(key, "limit") == 0) {
		unsigned long n = strtoul(value, &end, 10);

		if (*value < '0' || *value > '9' || *end != '\0' || n == 0 ||
		    n > FINDINGS_LIMIT_MAX) {
			snprintf(why, whylen, "limit: expected 1 to %d",
			    FINDINGS_LIMIT_MAX);
			return -1;
		}
		f->limit = (unsigned)n;
	} else if (strcmp(key, "cursor") == 0) {
		unsigned long long n = strtoull(value, &end, 10);

		if (*value < '0' || *value > '9' || *end != '\0') {
			snprintf(why, whylen, "cursor: not one this API gave");
			return -1;
		}
		f->cursor = n;
	} else {
		snprintf(why, whylen, "unknown parameter '%.64s'", key);
		return -1;
	}
	return 0;
}

/* 1 if the comma-separated list has item. */
static int
fq_in_list(const char *list, const char *item)
{
	size_t n = strlen(item);

	while (list != NULL && *list != '\0') {
		size_t len = strcspn(list, ",");

		if (len == n && strncmp(list, item, n) == 0)
			return 1;
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}

static int
fq_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* 1 if finding x passes filter f. */
int
findings_filter_match(const struct findings_filter *f, const struct finding *x)
{
	if (f->state != -1 && x->open != f->state)
		return 0;
	if (f->kinds && !(f->kinds & (1u << x->kind)))
		return 0;
	if (f->levels && !(f->levels & (1u << x->level)))
		return 0;
	if (f->min_level && (unsigned)x->level < f->min_level)
		return 0;
	if (f->host && !fq_eq(x->host, f->host))
		return 0;
	if (f->image && !fq_eq(x->image, f->image) &&
	    !fq_eq(x->image_ref, f->image))
		return 0;
	if (f->container && !fq_eq(x->container, f->container) &&
	    !fq_eq(x->container_name, f->container))
		return 0;
	if (f->advisory && !fq_eq(x->advisory, f->advisory) &&
	    !fq_in_list(x->aliases, f->advisory))
		return 0;
	if (f->check && !fq_eq(x->check, f->check))
		return 0;
	return 1;
}

struct fq_list {
	const struct findings_filter	*f;
	const struct finding		**all;
	size_t				 n, cap;
};

static int
fq_collect(const struct finding *x, void *arg)
{
	struct fq_list *l = arg;

	if (!findings_filter_match(l->f, x))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->all = xreallocarray(l->all, l->cap, sizeof *l->all);
	}
	l->all[l->n++] = x;
	return 0;
}

/*
 * The findings that pass f, newest first, one page:
 *   {"findings": [...], "total": N, "next": "CURSOR" | null}
 * ("total" counts every match; pass "next" back as cursor for the next
 * page).  Caller owns the result.
 */
json_t *
findings_query(struct correlate *cor, const struct findings_filter *f)
{
	struct fq_list	 l = { f, NULL, 0, 0 };
	json_t		*out = json_object(), *arr = json_array();
	size_t		 i, start, shown = 0;

	correlate_each_finding(cor, fq_collect, &l);
	start = f->cursor < l.n ? (size_t)f->cursor : l.n;
	for (i = start; i < l.n && shown < f->limit; i++, shown++)
		json_array_append_new(arr,
		    finding_to_json(l.all[l.n - 1 - i], NULL));
	json_object_set_new(out, "findings", arr);
	json_object_set_new(out, "total", json_integer((json_int_t)l.n));
	if (i < l.n) {
		char next[32];

		snprintf(next, sizeof next, "%zu", i);
		json_object_set_new(out, "next", json_string(next));
	} else
		json_object_set_new(out, "next", json_null());
	free(l.all);
	return out;
}

struct fq_blast {
	const char	*id;
	json_t		*now_hosts, *now_ctrs, *now_imgs;
	json_t		*old_hosts, *old_ctrs, *old_imgs;
	struct strmap	*seen;		/* "n|host", "o|image", ... */
	struct strpool	*keys;
	size_t		 nfindings;
	int		 truncated;
	const struct finding *any;	/* for the advisory's own facts */
};

/* Append s to arr once (per tag): the set of hosts or images. */
static void
fq_once(struct fq_blast *b, json_t *arr, const char *tag, const char *s)
{
	char	*k = NULL;

	if (s == NULL)
		return;
	xasprintf(&k, "%s|%s", tag, s);
	if (strmap_get(b->seen, k) == NULL) {
		const char *kk = strpool_get(b->keys, k);

		strmap_put(b->seen, kk, (void *)(uintptr_t)kk);
		if (json_array_size(arr) < FQ_BLAST_MAX)
			json_array_append_new(arr, json_string(s));
		else
			b->truncated = 1;
	}
	free(k);
}

static int
fq_blast_collect(const struct finding *x, void *arg)
{
	struct fq_blast	*b = arg;
	json_t		*c, *list;

	if (x->kind != FINDING_VULN || (!fq_eq(x->advisory, b->id) &&
	    !fq_in_list(x->aliases, b->id)))
		return 0;
	b->nfindings++;
	if (b->any == NULL || x->open)
		b->any = x;
	list = x->open ? b->now_ctrs : b->old_ctrs;
	if (json_array_size(list) >= FQ_BLAST_MAX) {
		b->truncated = 1;
	} else {
		c = json_object();
		json_object_set_new(c, "host", json_string(x->host ? x->host :
		    ""));
		if (x->container != NULL)
			json_object_set_new(c, "container",
			    json_string(x->container));
		if (x->container_name != NULL)
			json_object_set_new(c, "container_name",
			    json_string(x->container_name));
		if (x->image != NULL)
			json_object_set_new(c, "image", json_string(x->image));
		if (x->image_ref != NULL)
			json_object_set_new(c, "image_ref",
			    json_string(x->image_ref));
		json_object_set_new(c, "package", json_string(x->package ?
		    x->package : ""));
		json_object_set_new(c, "installed_version",
		    json_string(x->installed ? x->installed : ""));
		json_object_set_new(c, "fixed_version", x->fixed ?
		    json_string(x->fixed) : json_null());
		json_object_set_new(c, "finding", json_string(x->id));
		{
			char ts[40];

			finding_time(x->first_seen_ns, ts, sizeof ts);
			json_object_set_new(c, "first_seen", json_string(ts));
			if (!x->open) {
				finding_time(x->resolved_ns, ts, sizeof ts);
				json_object_set_new(c, "resolved_at",
				    json_string(ts));
				json_object_set_new(c, "resolved_reason",
				    json_string(x->reason ? x->reason : ""));
			}
		}
		json_array_append_new(list, c);
	}
	if (x->open) {
		fq_once(b, b->now_hosts, "n", x->host);
		fq_once(b, b->now_imgs, "N", x->image);
	} else {
		fq_once(b, b->old_hosts, "o", x->host);
		fq_once(b, b->old_imgs, "O", x->image);
	}
	return 0;
}

static json_t *
fq_group(json_t *hosts, json_t *ctrs, json_t *imgs)
{
	json_t *o = json_object();

	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "containers", ctrs);
	json_object_set_new(o, "images", imgs);
	return o;
}

/*
 * The blast radius of advisory id (an OSV id or one of its aliases, e.g. a
 * CVE): the hosts, containers and images affected now (open findings) and
 * earlier (resolved ones kept in history), with the advisory's facts from
 * the feed.  Returns NULL when neither the feed nor any finding knows id
 * (the API answers 404).  Caller owns the result.
 */
json_t *
findings_blast_radius(struct correlate *cor, const char *id)
{
	struct fq_blast		 b;
	const struct osv_db	*db = correlate_feed(cor);
	const struct osv_vuln	*v = db != NULL ? osv_db_find(db, id) : NULL;
	json_t			*out;

	memset(&b, 0, sizeof b);
	b.id = id;
	b.now_hosts = json_array();
	b.now_ctrs = json_array();
	b.now_imgs = json_array();
	b.old_hosts = json_array();
	b.old_ctrs = json_array();
	b.old_imgs = json_array();
	b.seen = strmap_new();
	b.keys = strpool_new();
	correlate_each_finding(cor, fq_blast_collect, &b);
	if (v == NULL && b.nfindings == 0 &&
	    !(db != NULL && osv_db_is_withdrawn(db, id))) {
		json_decref(b.now_hosts);
		json_decref(b.now_ctrs);
		json_decref(b.now_imgs);
		json_decref(b.old_hosts);
		json_decref(b.old_ctrs);
		json_decref(b.old_imgs);
		strmap_free(b.seen);
		strpool_free(b.keys);
		return NULL;
	}
	out = json_object();
	json_object_set_new(out, "id", json_string(v != NULL ? v->id :
	    b.any != NULL && b.any->advisory ? b.any->advisory : id));
	if (v != NULL) {
		json_t	*al = json_array();
		size_t	 i;

		for (i = 0; i < v->naliases; i++)
			json_array_append_new(al, json_string(v->aliases[i]));
		json_object_set_new(out, "aliases", al);
		if (v->summary != NULL)
			json_object_set_new(out, "summary",
			    json_string(v->summary));
		json_object_set_new(out, "severity",
		    json_string(sev_level_name(v->level)));
		if (v->score >= 0.0)
			json_object_set_new(out, "score", json_real(v->score));
		if (v->vector != NULL)
			json_object_set_new(out, "vector",
			    json_string(v->vector));
		json_object_set_new(out, "modified", json_string(v->modified));
	} else if (b.any != NULL) {
		json_object_set_new(out, "severity",
		    json_string(sev_level_name(b.any->level)));
	}
	json_object_set_new(out, "in_feed", json_boolean(v != NULL));
	json_object_set_new(out, "withdrawn", json_boolean(db != NULL &&
	    osv_db_is_withdrawn(db, v != NULL ? v->id : id)));
	json_object_set_new(out, "now", fq_group(b.now_hosts, b.now_ctrs,
	    b.now_imgs));
	json_object_set_new(out, "earlier", fq_group(b.old_hosts, b.old_ctrs,
	    b.old_imgs));
	json_object_set_new(out, "truncated", json_boolean(b.truncated));
	strmap_free(b.seen);
	strpool_free(b.keys);
	return out;
}
