/*
 * osv.c: vulnerability records in the OSV format (ossf/osv-schema), parsed
 * from untrusted JSON into an in-memory database indexed by (ecosystem,
 * package name).  Where records come from (folders, zip archives, URLs) is
 * osv-source.c's business; how a version is matched against a record's
 * ranges is osv-match.c's.
 *
 * Every field is type-checked before use; strings, lists and the number of
 * records are bounded (OSV_* below).  A record that breaks a bound or lacks
 * "id" or "modified" is rejected and counted, never half-loaded.  Withdrawn
 * records are remembered by id only (so findings they caused can be
 * resolved) and never matched.  When the same id comes twice (two feeds),
 * the one with the later "modified" wins.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define OSV_ID_MAX		256	/* id, alias, ecosystem, package name */
#define OSV_TEXT_MAX		4096	/* summary (longer is cut) */
#define OSV_ALIASES_MAX		256
#define OSV_AFFECTED_MAX	4096
#define OSV_RANGES_MAX		256
#define OSV_EVENTS_MAX		1024
#define OSV_VERSIONS_MAX	16384
#define OSV_BINARIES_MAX	4096
#define OSV_SEVERITY_MAX	16

struct osv_index_entry {
	const char		*eco;	/* index key: normalised ecosystem */
	const char		*name;
	struct osv_vuln		*vuln;
	struct osv_affected	*aff;
};

struct osv_db {
	struct osv_vuln		**vulns;	/* live (not withdrawn) */
	size_t			 nvulns, capvulns;
	char			**withdrawn;	/* ids, sorted after finish */
	size_t			 nwithdrawn, capwithdrawn;
	struct osv_index_entry	*index;
	size_t			 nindex;
	struct osv_db_stats	 stats;
	char			 digest[65];	/* over (id, modified), sorted */
	int			 finished;
};

struct osv_db *
osv_db_new(void)
{
	return xcalloc(1, sizeof(struct osv_db));
}

static void
osv_strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
osv_vuln_free(struct osv_vuln *v)
{
	size_t	i, j;

	if (v == NULL)
		return;
	for (i = 0; i < v->naffected; i++) {
		struct osv_affected *a = &v->affected[i];

		free(a->ecosystem);
		free(a->eco_key);
		free(a->name);
		for (j = 0; j < a->nranges; j++) {
			size_t k;

			for (k = 0; k < a->ranges[j].nevents; k++)
				free(a->ranges[j].events[k].version);
			free(a->ranges[j].events);
		}
		free(a->ranges);
		osv_strv_free(a->versions, a->nversions);
		osv_strv_free(a->binaries, a->nbinaries);
	}
	free(v->affected);
	free(v->id);
	free(v->modified);
	free(v->summary);
	free(v->vector);
	free(v->origin);
	osv_strv_free(v->aliases, v->naliases);
	free(v);
}

void
osv_db_free(struct osv_db *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nvulns; i++)
		osv_vuln_free(db->vulns[i]);
	free(db->vulns);
	osv_strv_free(db->withdrawn, db->nwithdrawn);
	free(db->index);
	free(db);
}

/* A string member of obj, or NULL when absent, not a string, empty or
 * longer than max bytes (then *bad is set). */
static const char *
osv_str(json_t *obj, const char *key, size_t max, int *bad)
{
	json_t	*v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

/* A list of strings: every entry a non-empty string of at most max bytes,
 * at most maxn entries.  Returns 0 (*out NULL when absent), -1 if bad. */
static int
osv_strv(json_t *obj, const char *key, size_t max, size_t maxn, char ***out,
    size_t *n)
{
	json_t	*arr = json_object_get(obj, key), *e;
	size_t	 i;

	*out = NULL;
	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > maxn)
		return -1;
	if (json_array_size(arr) == 0)
		return 0;
	*out = xcalloc(json_array_size(arr), sizeof(char *));
	json_array_foreach(arr, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > max ||
		    strlen(json_string_value(e)) != json_string_length(e)) {
			osv_strv_free(*out, *n);
			*out = NULL;
			*n = 0;
			return -1;
		}
		(*out)[(*n)++] = xstrdup(json_string_value(e));
	}
	return 0;
}

/*
 * The index key of an ecosystem string.  Most are used as written
 * ("Debian:12", "Alpine:v3.19", "Ubuntu:22.04:LTS").  Red Hat's carry a CPE
 * naming one product stream ("Red Hat:enterprise_linux:9::appstream"): an
 * installed RHEL 9 is matched against every stream of its major release, so
 * the key keeps the first three fields ("Red Hat:enterprise_linux:9").
 */
static char *
osv_eco_key(const char *eco)
{
	const char	*p;
	int		 colons = 0;

	if (strncmp(eco, "Red Hat:", 8) != 0)
		return xstrdup(eco);
	for (p = eco; *p != '\0'; p++)
		if (*p == ':' && ++colons == 3)
			return xstrndup(eco, (size_t)(p - eco));
	return xstrdup(eco);
}

/* Severity of one OSV "severity" array: the highest computed level. */
static void
osv_severity(json_t *arr, struct osv_vuln *v)
{
	json_t	*e;
	size_t	 i;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, e) {
		const char	*type, *score;
		double		 s;
		enum sev_level	 l;
		int		 bad = 0;

		if (i >= OSV_SEVERITY_MAX || !json_is_object(e))
			break;
		type = osv_str(e, "type", 32, &bad);
		score = osv_str(e, "score", 512, &bad);
		if (type == NULL || score == NULL)
			continue;
		if (strncmp(type, "CVSS_V", 6) == 0) {
			if (cvss_score(score, &s, &l, NULL) == -1) {
				v->bad_severity = 1;
				continue;
			}
			/* A computed v3 score beats v2; v4 gives a vector. */
			if (s >= 0.0 && (v->score < 0.0 ||
			    (strcmp(type, "CVSS_V2") != 0 && v->v2))) {
				v->score = s;
				v->level = l;
				v->v2 = strcmp(type, "CVSS_V2") == 0;
				free(v->vector);
				v->vector = xstrdup(score);
			} else if (v->vector == NULL) {
				v->vector = xstrdup(score);
			}
		} else if (v->score < 0.0 &&
		    (l = sev_level_parse(score)) != SEV_UNKNOWN &&
		    l > v->level) {
			/* "Ubuntu": {"type": "Ubuntu", "score": "medium"} */
			v->level = l;
		}
	}
}

/* A level named in database_specific or ecosystem_specific.severity. */
static void
osv_named_severity(json_t *obj, struct osv_vuln *v)
{
	json_t		*sev;
	enum sev_level	 l;

	if (!json_is_object(obj) || v->score >= 0.0)
		return;
	/* "severity" (GHSA, Alma, Rocky, SUSE), "urgency" (Debian). */
	sev = json_object_get(obj, "severity");
	if (!json_is_string(sev))
		sev = json_object_get(obj, "urgency");
	if (json_is_string(sev) && json_string_length(sev) < 32 &&
	    (l = sev_level_parse(json_string_value(sev))) != SEV_UNKNOWN &&
	    l > v->level)
		v->level = l;
}

static int
osv_parse_range(json_t *r, struct osv_range *out, const char **why)
{
	json_t		*events, *e;
	const char	*type;
	size_t		 i;
	int		 bad = 0;

	memset(out, 0, sizeof *out);
	if (!json_is_object(r)) {
		*why = "range is not an object";
		return -1;
	}
	type = osv_str(r, "type", 32, &bad);
	if (type == NULL) {
		*why = "range without a type";
		return -1;
	}
	if (strcmp(type, "ECOSYSTEM") == 0)
		out->type = OSV_RANGE_ECOSYSTEM;
	else if (strcmp(type, "SEMVER") == 0)
		out->type = OSV_RANGE_SEMVER;
	else
		out->type = OSV_RANGE_OTHER;	/* GIT: commits, not versions */
	events = json_object_get(r, "events");
	if (!json_is_array(events) || json_array_size(events) == 0 ||
	    json_array_size(events) > OSV_EVENTS_MAX) {
		*why = "range events missing, empty or too many";
		return -1;
	}
	if (out->type == OSV_RANGE_OTHER)
		return 0;
	out->events = xcalloc(json_array_size(events), sizeof *out->events);
	json_array_foreach(events, i, e) {
		static const struct {
			const char		*key;
			enum osv_event_kind	 kind;
		} kinds[] = {
			{ "introduced", OSV_EV_INTRODUCED },
			{ "fixed", OSV_EV_FIXED },
			{ "last_affected", OSV_EV_LAST_AFFECTED },
			{ "limit", OSV_EV_LIMIT },
		};
		const char	*ver = NULL;
		size_t		 k, found = 0;

		if (!json_is_object(e) || json_object_size(e) == 0) {
			*why = "event is not an object";
			return -1;
		}
		for (k = 0; k < TM_NELEM(kinds); k++) {
			const char *s = osv_str(e, kinds[k].key,
			    VERSION_MAX_LEN, &bad);

			if (s != NULL) {
				ver = s;
				out->events[out->nevents].kind = kinds[k].kind;
				found++;
			}
		}
		if (bad || found != 1) {
			*why = "event needs exactly one of introduced, fixed, "
			    "last_affected, limit (a non-empty string)";
			return -1;
		}
		out->events[out->nevents++].version = xstrdup(ver);
	}
	return 0;
}

static int
osv_parse_affected(json_t *a, struct osv_affected *out, struct osv_vuln *v,
    const char **why)
{
	json_t		*pkg, *ranges, *r, *es;
	const char	*eco, *name;
	size_t		 i;
	int		 bad = 0;

	memset(out, 0, sizeof *out);
	if (!json_is_object(a)) {
		*why = "affected entry is not an object";
		return -1;
	}
	pkg = json_object_get(a, "package");
	if (pkg == NULL) {
		/* Allowed by the schema (GIT-only records): nothing to match. */
		return 1;
	}
	if (!json_is_object(pkg)) {
		*why = "affected.package is not an object";
		return -1;
	}
	eco = osv_str(pkg, "ecosystem", OSV_ID_MAX, &bad);
	name = osv_str(pkg, "name", OSV_ID_MAX, &bad);
	if (bad || eco == NULL || name == NULL) {
		*why = "affected.package needs ecosystem and name (strings)";
		return -1;
	}
	out->ecosystem = xstrdup(eco);
	out->eco_key = osv_eco_key(eco);
	out->name = xstrdup(name);
	ranges = json_object_get(a, "ranges");
	if (ranges != NULL && !json_is_null(ranges)) {
		if (!json_is_array(ranges) ||
		    json_array_size(ranges) > OSV_RANGES_MAX) {
			*why = "affected.ranges is not an array or too long";
			return -1;
		}
		out->ranges = xcalloc(json_array_size(ranges) + 1,
		    sizeof *out->ranges);
		json_array_foreach(ranges, i, r) {
			if (osv_parse_range(r, &out->ranges[out->nranges],
			    why) == -1) {
				out->nranges++;	/* free what it holds */
				return -1;
			}
			out->nranges++;
		}
	}
	if (osv_strv(a, "versions", VERSION_MAX_LEN, OSV_VERSIONS_MAX,
	    &out->versions, &out->nversions) == -1) {
		*why = "affected.versions is not a bounded list of strings";
		return -1;
	}
	/* SUSE and openSUSE: the binary RPMs built from the source. */
	es = json_object_get(a, "ecosystem_specific");
	if (json_is_object(es)) {
		json_t *bins = json_object_get(es, "binaries");

		if (json_is_array(bins)) {
			json_t	*b;
			size_t	 k;

			out->binaries = xcalloc(json_array_size(bins) + 1,
			    sizeof(char *));
			json_array_foreach(bins, k, b) {
				const char *bn = NULL;

				if (k >= OSV_BINARIES_MAX)
					break;
				/* ["name", ...] or [{"name": "1.2-3"}, ...] */
				if (json_is_string(b))
					bn = json_string_value(b);
				else if (json_is_object(b) &&
				    json_object_size(b) > 0)
					bn = json_object_iter_key(
					    json_object_iter(b));
				if (bn != NULL && *bn != '\0' &&
				    strlen(bn) <= OSV_ID_MAX)
					out->binaries[out->nbinaries++] =
					    xstrdup(bn);
			}
		}
		osv_named_severity(es, v);
	}
	osv_severity(json_object_get(a, "severity"), v);
	osv_named_severity(json_object_get(a, "database_specific"), v);
	return 0;
}

/*
 * Parse one OSV record (a JSON object).  Returns a new vuln (caller frees
 * with the db), or NULL with *why set.  *withdrawn is set for a withdrawn
 * record, which is returned too (with no affected entries).
 */
static struct osv_vuln *
osv_parse_record(json_t *rec, const char *origin, const char **why)
{
	struct osv_vuln	*v;
	json_t		*aff, *a;
	const char	*id, *mod, *summary, *wd;
	size_t		 i;
	int		 bad = 0;

	if (!json_is_object(rec)) {
		*why = "record is not a JSON object";
		return NULL;
	}
	id = osv_str(rec, "id", OSV_ID_MAX, &bad);
	mod = osv_str(rec, "modified", 64, &bad);
	wd = osv_str(rec, "withdrawn", 64, &bad);
	if (bad || id == NULL || mod == NULL) {
		*why = "record needs id and modified (strings)";
		return NULL;
	}
	v = xcalloc(1, sizeof *v);
	v->id = xstrdup(id);
	v->modified = xstrdup(mod);
	v->origin = xstrdup(origin != NULL ? origin : "");
	v->score = -1.0;
	v->level = SEV_UNKNOWN;
	if (wd != NULL) {
		v->withdrawn = 1;
		return v;
	}
	summary = osv_str(rec, "summary", SIZE_MAX, &bad);
	if (summary != NULL)
		v->summary = xstrndup(summary, OSV_TEXT_MAX);
	bad = 0;
	if (osv_strv(rec, "aliases", OSV_ID_MAX, OSV_ALIASES_MAX, &v->aliases,
	    &v->naliases) == -1) {
		*why = "aliases is not a bounded list of strings";
		goto fail;
	}
	osv_severity(json_object_get(rec, "severity"), v);
	aff = json_object_get(rec, "affected");
	if (aff != NULL && !json_is_null(aff)) {
		if (!json_is_array(aff) ||
		    json_array_size(aff) > OSV_AFFECTED_MAX) {
			*why = "affected is not an array or too long";
			goto fail;
		}
		v->affected = xcalloc(json_array_size(aff) + 1,
		    sizeof *v->affected);
		json_array_foreach(aff, i, a) {
			int rc = osv_parse_affected(a,
			    &v->affected[v->naffected], v, why);

			if (rc == -1) {
				v->naffected++;	/* free what it holds */
				goto fail;
			}
			if (rc == 0)
				v->naffected++;
		}
	}
	osv_named_severity(json_object_get(rec, "database_specific"), v);
	return v;
fail:
	osv_vuln_free(v);
	return NULL;
}

static void
osv_db_add_vuln(struct osv_db *db, struct osv_vuln *v)
{
	if (v->withdrawn) {
		if (db->nwithdrawn == db->capwithdrawn) {
			db->capwithdrawn = db->capwithdrawn ?
			    db->capwithdrawn * 2 : 64;
			db->withdrawn = xreallocarray(db->withdrawn,
			    db->capwithdrawn, sizeof(char *));
		}
		db->withdrawn[db->nwithdrawn++] = v->id;
		v->id = NULL;
		osv_vuln_free(v);
		db->stats.withdrawn++;
		return;
	}
	if (db->nvulns == db->capvulns) {
		db->capvulns = db->capvulns ? db->capvulns * 2 : 256;
		db->vulns = xreallocarray(db->vulns, db->capvulns,
		    sizeof *db->vulns);
	}
	db->vulns[db->nvulns++] = v;
}

/*
 * Parse buf (untrusted JSON: one OSV record, or an array of records) and
 * add the records to db.  origin names the source in logs ("feed.zip:
 * DSA-1.json").  Returns the number of records added, or -1 if buf is not
 * JSON or breaks a bound (err says why; the rejection is counted).  Bad
 * records inside an array are counted and skipped.
 */
int
osv_db_parse(struct osv_db *db, const char *buf, size_t len,
    const char *origin, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *e;
	const char	*why = NULL;
	size_t		 i;
	int		 added = 0, single = 0;

	if (db->finished) {
		snprintf(err, errlen, "database already finished");
		return -1;
	}
	if (len > OSV_BODY_MAX) {
		db->stats.rejected++;
		snprintf(err, errlen, "%s: larger than %u bytes", origin,
		    (unsigned)OSV_BODY_MAX);
		return -1;
	}
	root = json_loadb(buf, len, 0, &jerr);
	if (root == NULL) {
		db->stats.rejected++;
		snprintf(err, errlen, "%s: not JSON: line %d: %s", origin,
		    jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_array(root)) {
		json_t *one = json_array();

		single = 1;

		json_array_append_new(one, root);
		root = one;
	}
	json_array_foreach(root, i, e) {
		struct osv_vuln *v;

		if (db->nvulns + db->nwithdrawn >= OSV_RECORDS_MAX) {
			db->stats.rejected++;
			snprintf(err, errlen, "%s: more than %u records",
			    origin, (unsigned)OSV_RECORDS_MAX);
			json_decref(root);
			return -1;
		}
		if ((v = osv_parse_record(e, origin, &why)) == NULL) {
			db->stats.rejected++;
			snprintf(err, errlen, "%s: rejected: %s", origin, why);
			log_debug("osv: %s[%zu]: rejected: %s", origin, i, why);
			continue;
		}
		osv_db_add_vuln(db, v);
		added++;
	}
	json_decref(root);
	db->stats.records += (uint64_t)added;
	/* One record that was refused: the file is refused. */
	return single && added == 0 ? -1 : added;
}

static int
osv_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
osv_vuln_id_cmp(const void *a, const void *b)
{
	const struct osv_vuln *va = *(struct osv_vuln *const *)a;
	const struct osv_vuln *vb = *(struct osv_vuln *const *)b;
	int c = strcmp(va->id, vb->id);

	if (c != 0)
		return c;
	/* Later "modified" first: the one kept. */
	return -strcmp(va->modified, vb->modified);
}

static int
osv_index_cmp(const void *a, const void *b)
{
	const struct osv_index_entry *x = a, *y = b;
	int c = strcmp(x->eco, y->eco);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/*
 * Index db for lookups: of records sharing an id keep the latest
 * "modified"; drop every live copy of an id that some feed withdrew (in OSV
 * a withdrawal is final); sort; and compute the digest over (id, modified)
 * and the withdrawn ids that tells a changed feed from an unchanged one.
 * No record can be added afterwards.
 */
void
osv_db_finish(struct osv_db *db)
{
	struct sha256_ctx	 ctx;
	uint8_t			 d[32];
	size_t			 i, j, n;

	if (db->finished)
		return;
	db->finished = 1;
	if (db->nwithdrawn > 0)
		qsort(db->withdrawn, db->nwithdrawn, sizeof(char *),
		    osv_strp_cmp);
	if (db->nvulns > 0)
		qsort(db->vulns, db->nvulns, sizeof *db->vulns,
		    osv_vuln_id_cmp);
	for (i = j = 0; i < db->nvulns; i++) {
		struct osv_vuln *v = db->vulns[i];

		if ((j > 0 && strcmp(db->vulns[j - 1]->id, v->id) == 0) ||
		    osv_db_is_withdrawn(db, v->id)) {
			if (!(j > 0 && strcmp(db->vulns[j - 1]->id,
			    v->id) == 0))
				db->stats.withdrawn_live++;
			else
				db->stats.duplicates++;
			osv_vuln_free(v);
			continue;
		}
		db->vulns[j++] = v;
	}
	db->nvulns = j;
	for (i = n = 0; i < db->nvulns; i++)
		n += db->vulns[i]->naffected;
	db->index = xcalloc(n + 1, sizeof *db->index);
	for (i = 0; i < db->nvulns; i++) {
		struct osv_vuln *v = db->vulns[i];

		for (j = 0; j < v->naffected; j++) {
			struct osv_index_entry *e = &db->index[db->nindex++];

			e->eco = v->affected[j].eco_key;
			e->name = v->affected[j].name;
			e->vuln = v;
			e->aff = &v->affected[j];
		}
	}
	if (db->nindex > 0)
		qsort(db->index, db->nindex, sizeof *db->index,
		    osv_index_cmp);
	sha256_init(&ctx);
	for (i = 0; i < db->nvulns; i++) {
		sha256_update(&ctx, db->vulns[i]->id,
		    strlen(db->vulns[i]->id) + 1);
		sha256_update(&ctx, db->vulns[i]->modified,
		    strlen(db->vulns[i]->modified) + 1);
	}
	for (i = 0; i < db->nwithdrawn; i++)
		sha256_update(&ctx, db->withdrawn[i],
		    strlen(db->withdrawn[i]) + 1);
	sha256_final(&ctx, d);
	sha256_hex(d, db->digest);
	db->stats.live = db->nvulns;
	db->stats.indexed = db->nindex;
}

/* 1 if id was withdrawn in any loaded feed (after osv_db_finish). */
int
osv_db_is_withdrawn(const struct osv_db *db, const char *id)
{
	return db->nwithdrawn > 0 && bsearch(&id, db->withdrawn,
	    db->nwithdrawn, sizeof(char *), osv_strp_cmp) != NULL;
}

/*
 * Call fn for every affected entry keyed (eco_key, name), in a stable
 * order.  eco_key is the normalised ecosystem (see osv_eco_key: as written,
 * but "Red Hat:PRODUCT:MAJOR" for Red Hat).  fn returns 0 to go on.
 * Returns the number of entries visited.
 */
size_t
osv_db_lookup(const struct osv_db *db, const char *eco_key, const char *name,
    int (*fn)(const struct osv_vuln *, const struct osv_affected *, void *),
    void *arg)
{
	struct osv_index_entry	 key = { .eco = eco_key, .name = name };
	size_t			 lo = 0, hi = db->nindex, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (osv_index_cmp(&db->index[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < db->nindex &&
	    osv_index_cmp(&db->index[lo], &key) == 0; lo++) {
		n++;
		if (fn(db->index[lo].vuln, db->index[lo].aff, arg) != 0)
			break;
	}
	return n;
}

/* A live record by id (binary search), or NULL. */
const struct osv_vuln *
osv_db_find(const struct osv_db *db, const char *id)
{
	size_t	lo = 0, hi = db->nvulns;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = strcmp(db->vulns[mid]->id, id);

		if (c == 0)
			return db->vulns[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
osv_db_digest(const struct osv_db *db)
{
	return db->digest;
}

void
osv_db_stats(const struct osv_db *db, struct osv_db_stats *st)
{
	*st = db->stats;
}

/* Count a record rejected before parsing (a source's bound). */
void
osv_db_count_rejected(struct osv_db *db)
{
	db->stats.rejected++;
}
