/*
 * osv-match.c: is an installed package affected by an OSV record?  The
 * evaluation follows osv-schema's "Evaluation" section: the events of an
 * ECOSYSTEM range are sorted in the ecosystem's own version order
 * (introduced "0" first), then walked: introduced <= v makes v vulnerable,
 * fixed <= v or last_affected < v makes it safe again.  An explicit
 * "versions" entry equal to v also makes it vulnerable.  SEMVER and GIT
 * ranges are not used for OS packages (their versions are not the distro's).
 *
 * Which name and version are compared is the ecosystem's rule (ecosystem.c):
 * Debian, Ubuntu, Alpine and most RPM distributions key advisories by the
 * source package, so a binary package (libssl1.0.0) is matched through its
 * source (openssl) and the source version.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

struct osv_sort_ctx {
	const struct version_scheme	*vs;
	const struct osv_range		*r;
};

static int
osv_event_is_zero(const struct osv_event *e)
{
	return e->kind == OSV_EV_INTRODUCED && strcmp(e->version, "0") == 0;
}

static int
osv_event_cmp(const void *a, const void *b, void *arg)
{
	const struct osv_sort_ctx *c = arg;
	const struct osv_event *x = &c->r->events[*(const size_t *)a];
	const struct osv_event *y = &c->r->events[*(const size_t *)b];
	int	zx = osv_event_is_zero(x), zy = osv_event_is_zero(y), d;

	if (zx || zy)
		return zy - zx;
	d = c->vs->compare(x->version, y->version);
	if (d != 0)
		return d;
	/* Stable for equal versions: keep the record's order. */
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/*
 * Evaluate one range for version v (valid in vs).  Returns 1 (affected,
 * *fixed = the first fix above v or NULL), 0 (not affected), or -1 when an
 * event's version is not valid in vs (the range cannot be evaluated).
 */
static int
osv_range_affects(const struct osv_range *r, const struct version_scheme *vs,
    const char *v, const char **fixed)
{
	struct osv_sort_ctx	 ctx = { vs, r };
	size_t			 stackbuf[32], *order, i;
	int			 vulnerable = 0, rc;

	*fixed = NULL;
	if (r->nevents == 0)
		return 0;
	for (i = 0; i < r->nevents; i++) {
		const struct osv_event *e = &r->events[i];

		if (e->kind == OSV_EV_LIMIT)
			continue;
		if (!osv_event_is_zero(e) && !vs->valid(e->version, NULL))
			return -1;
	}
	order = r->nevents <= TM_NELEM(stackbuf) ? stackbuf :
	    xcalloc(r->nevents, sizeof *order);
	for (i = 0; i < r->nevents; i++)
		order[i] = i;
	qsort_r(order, r->nevents, sizeof *order, osv_event_cmp, &ctx);
	for (i = 0; i < r->nevents; i++) {
		const struct osv_event *e = &r->events[order[i]];

		switch (e->kind) {
		case OSV_EV_INTRODUCED:
			if (osv_event_is_zero(e) ||
			    vs->compare(v, e->version) >= 0)
				vulnerable = 1;
			break;
		case OSV_EV_FIXED:
			if (vs->compare(v, e->version) >= 0)
				vulnerable = 0;
			break;
		case OSV_EV_LAST_AFFECTED:
			if (vs->compare(v, e->version) > 0)
				vulnerable = 0;
			break;
		case OSV_EV_LIMIT:
			break;
		}
	}
	if (vulnerable) {
		for (i = 0; i < r->nevents; i++) {
			const struct osv_event *e = &r->events[order[i]];

			if (e->kind == OSV_EV_FIXED &&
			    vs->compare(v, e->version) < 0) {
				*fixed = e->version;
				break;
			}
		}
	}
	rc = vulnerable;
	if (order != stackbuf)
		free(order);
	return rc;
}

/*
 * Whether version v (valid in vs) is affected by entry a: by one of its
 * ECOSYSTEM ranges or its explicit versions.  Returns 1 (with *fixed the
 * version that fixes it, or NULL when none is known), 0, or -1 when no range
 * could be evaluated and no explicit version matched (bad record versions).
 */
int
osv_affected_contains(const struct osv_affected *a,
    const struct version_scheme *vs, const char *v, const char **fixed)
{
	size_t	i;
	int	evaluated = 0, bad = 0;

	*fixed = NULL;
	for (i = 0; i < a->nranges; i++) {
		const char	*f;
		int		 rc;

		if (a->ranges[i].type != OSV_RANGE_ECOSYSTEM)
			continue;
		rc = osv_range_affects(&a->ranges[i], vs, v, &f);
		if (rc == -1) {
			bad = 1;
			continue;
		}
		evaluated = 1;
		if (rc == 1) {
			*fixed = f;
			return 1;
		}
	}
	for (i = 0; i < a->nversions; i++)
		if (strcmp(a->versions[i], v) == 0 ||
		    (vs->valid(a->versions[i], NULL) &&
		    vs->compare(a->versions[i], v) == 0))
			return 1;
	return bad && !evaluated && a->nversions == 0 ? -1 : 0;
}

#define OSV_MATCH_SEEN_MAX	256

struct osv_match_walk {
	const struct eco_target	*t;
	const struct version_scheme *vs;
	const char		*name;		/* the name looked up */
	const char		*version;	/* the version compared */
	int			(*fn)(const struct osv_match *, void *);
	void			*arg;
	const struct osv_vuln	*seen[OSV_MATCH_SEEN_MAX];
	size_t			 nseen;
	size_t			 matched;
	size_t			 bad;
	int			 stop;
};

static int
osv_match_one(const struct osv_vuln *v, const struct osv_affected *a,
    void *arg)
{
	struct osv_match_walk	*w = arg;
	struct osv_match	 m;
	const char		*fixed;
	size_t			 i;
	int			 rc;

	for (i = 0; i < w->nseen; i++)
		if (w->seen[i] == v)
			return 0;	/* one finding per advisory */
	rc = osv_affected_contains(a, w->vs, w->version, &fixed);
	if (rc == -1)
		w->bad++;
	if (rc != 1)
		return 0;
	if (w->nseen < OSV_MATCH_SEEN_MAX)
		w->seen[w->nseen++] = v;
	memset(&m, 0, sizeof m);
	m.vuln = v;
	m.aff = a;
	m.fixed = fixed;
	m.name = w->name;
	m.version = w->version;
	w->matched++;
	if (w->fn(&m, w->arg) != 0) {
		w->stop = 1;
		return 1;
	}
	return 0;
}

static void
osv_match_key(const struct osv_db *db, struct osv_match_walk *w,
    const char *name, const char *version)
{
	const struct eco_target *t = w->t;

	if (w->stop || name == NULL || version == NULL ||
	    !w->vs->valid(version, NULL))
		return;
	w->name = name;
	w->version = version;
	osv_db_lookup(db, t->eco, name, osv_match_one, w);
	if (t->unscoped[0] != '\0' && !w->stop)
		osv_db_lookup(db, t->unscoped, name, osv_match_one, w);
	/* Ubuntu Pro's fixes concern only packages from ESM ("+esm"). */
	if (t->pro[0] != '\0' && strstr(version, "esm") != NULL && !w->stop)
		osv_db_lookup(db, t->pro, name, osv_match_one, w);
}

/*
 * Call fn once per advisory of db that affects package p of an image whose
 * OS maps to t.  The package must belong to t's package ecosystem (dpkg for
 * Debian, ...); otherwise nothing matches.  fn returns non-zero to stop.
 * Returns the number of matches, or -1 when the package's own version is not
 * valid in the ecosystem's order (a rejected, counted input).
 */
int
osv_match_package(const struct osv_db *db, const struct eco_target *t,
    const struct tm_package *p,
    int (*fn)(const struct osv_match *, void *), void *arg)
{
	struct osv_match_walk	 w;
	const char		*sname, *sver;

	if (t->def == NULL || t->scheme == NULL || p->ecosystem == NULL ||
	    p->name == NULL || p->version == NULL ||
	    strcmp(p->ecosystem, t->def->pkg) != 0)
		return 0;
	if (!t->scheme->valid(p->version, NULL))
		return -1;
	memset(&w, 0, sizeof w);
	w.t = t;
	w.vs = t->scheme;
	w.fn = fn;
	w.arg = arg;
	sname = p->source_name != NULL && *p->source_name != '\0' ?
	    p->source_name : p->name;
	sver = p->source_version != NULL && *p->source_version != '\0' &&
	    t->scheme->valid(p->source_version, NULL) ?
	    p->source_version : p->version;
	switch (t->def->key) {
	case ECO_KEY_SOURCE:
		osv_match_key(db, &w, sname, sver);
		break;
	case ECO_KEY_BINARY:
		osv_match_key(db, &w, p->name, p->version);
		break;
	case ECO_KEY_EITHER:
		osv_match_key(db, &w, p->name, p->version);
		if (strcmp(sname, p->name) != 0)
			osv_match_key(db, &w, sname, sver);
		break;
	}
	return (int)w.matched;
}
