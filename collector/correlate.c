/*
 * correlate.c: the correlation engine.  It keeps the fleet as correlation
 * needs it -- hosts (last heartbeat), images as each host reported them (OS
 * and packages, and which advisories of the current feed affect them),
 * containers (state, failed CIS checks, drifted executables) -- and the
 * findings, each with first seen, last seen and resolved at.
 *
 * Every host is judged by what it reported itself: a container is matched
 * against the inventory its own host sent for its image, never another
 * host's (an agent that lies about a popular image hides nothing anywhere
 * else).  Identical inventories are shared and matched once (cor_inv), so
 * a fleet of hosts running the same images costs what one host does.
 *
 * Inputs are decoded records in arrival order (correlate_record), the feed
 * (correlate_set_feed: a changed feed re-evaluates every image and every
 * container) and the clock (correlate_tick: silent hosts).  Outputs go to
 * sinks, called exactly once per state change of a finding (FINDING_NEW,
 * FINDING_RESOLVED) and when a finding's facts change (FINDING_UPDATED):
 * the store persists them, the findings feed publishes new and resolved.
 *
 * Rules:
 *  - vulnerability, misconfiguration and drift findings belong to a live
 *    container (created, running, paused).  They resolve when it exits or is
 *    removed, when the advisory is withdrawn or no longer matches, or when
 *    the configuration no longer fails the check;
 *  - a container first seen already exited (it lived too briefly to be
 *    seen running) gets only the short-lived finding, when it lived less
 *    than short_lived_ns; that one resolves when the container is removed;
 *  - a host without a heartbeat for silent_intervals of its heartbeat
 *    interval is silent until the next heartbeat.
 *
 * Strings in findings and in the model are interned (strpool): the feed can
 * be swapped and containers freed while findings keep their text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define COR_SINKS_MAX		4
#define COR_DRIFT_SAMPLES	8
#define COR_DRIFT_SEEN_MAX	1024	/* paths remembered per container */
#define COR_DETAIL_MAX		512
#define COR_KEY_MAX		4096	/* > 3 x host + container + advisory + package */
#define COR_INV_SCAN		16	/* lists of one image key compared */

struct cor_host {
	const char	*id;
	uint64_t	 last_rx_ns;
	uint64_t	 last_hb_ns;
	uint64_t	 hb_interval_ns;
	struct cor_finding *silent;
	struct cor_container **ctrs;	/* its containers (in the model) */
	size_t		 nctrs, capctrs;
};

struct cor_pkg {
	const char	*eco, *name, *version, *sname, *sver;
};

struct cor_hit {
	const char	*advisory, *aliases, *title;
	const char	*package, *source, *installed, *fixed;
	enum sev_level	 level;
	double		 score;
};

/*
 * One distinct inventory of an image: an ecosystem and a package list,
 * matched against the feed once however many hosts report it.  Hosts share
 * it only when their lists are identical (compared field by field), so no
 * host's report changes what another host's image is judged by.  The
 * inventories reported for one image key form a list (cor->invs).
 */
struct cor_inv {
	const char		*image;		/* the image key */
	struct cor_inv		*next;		/* same key, another list */
	struct eco_target	 t;
	int			 mapped;
	struct cor_pkg		*pkgs;
	size_t			 npkgs;
	struct cor_hit		*hits;
	size_t			 nhits, caphits;
	char			 digest[65];	/* feed the hits are for */
	size_t			 refs;		/* cor_images using it */
};

/* An image as one host reported it. */
struct cor_image {
	char			*key;		/* host and image (owned) */
	const char		*image;		/* the image key */
	const char		*ref;
	struct cor_inv		*inv;
};

struct cor_check_hit {
	const struct cis_check	*check;
	const char		*detail;	/* interned */
};

struct cor_container {
	char			*key;		/* cor_key(host, id) (owned) */
	struct cor_host		*host;
	size_t			 hidx;		/* index in host->ctrs */
	char			*id, *name;	/* owned */
	const char		*image_key, *image_ref, *state;
	int			 live;
	int			 snapshot;	/* risks known */
	uint64_t		 started_ns, finished_ns, lifetime_ns;
	struct cor_check_hit	*checks;
	size_t			 nchecks;
	char			*drift[COR_DRIFT_SAMPLES];	/* owned */
	size_t			 ndrift;
	struct strmap		*drift_seen;	/* exec paths (owned keys) */
	uint64_t		 drift_execs;	/* distinct exec paths seen */
	struct cor_finding	**findings;	/* open ones it owns */
	size_t			 nfindings, capfindings;
};

struct cor_finding {
	struct finding		 f;		/* first: cast both ways */
	/* Owned, not interned: one per finding or container, they would
	 * grow the pool for ever as containers come and go. */
	char			*key, *container, *container_name;
	struct cor_container	*owner;
	struct cor_host		*hown;
};

/* Open findings restored from the store before their container reported. */
struct cor_orphans {
	char			*key;
	struct cor_finding	**list;
	size_t			 n;
};

struct cor_sink {
	correlate_sink_fn	 fn;
	void			*arg;
	int			 keeps;		/* given a copy to hold */
};

struct correlate {
	struct correlate_config	 cfg;
	struct strpool		*pool;
	struct strmap		*hosts;		/* id -> cor_host */
	struct strmap		*images;	/* cor_key(host, image) -> cor_image */
	struct strmap		*invs;		/* image key -> cor_inv list */
	struct strmap		*containers;	/* cor_key(host, id) -> cor_container */
	struct strmap		*open;		/* key -> cor_finding (open) */
	struct strmap		*orphans;	/* cor_key(host, id) -> cor_orphans */
	struct cor_finding	**all;		/* open and resolved, by age */
	size_t			 nall, capall;
	struct osv_db		*db;
	struct cor_sink		 sinks[COR_SINKS_MAX];
	size_t			 nsinks;
	size_t			 nkeeping;	/* sinks that keep copies */
	uint64_t		 gen;
	struct correlate_stats	 st;
};

struct correlate *
correlate_new(const struct correlate_config *cfg)
{
	struct correlate *cor = xcalloc(1, sizeof *cor);

	cor->cfg = *cfg;
	if (cor->cfg.silent_intervals == 0)
		cor->cfg.silent_intervals = 3;
	if (cor->cfg.heartbeat_ns == 0)
		cor->cfg.heartbeat_ns = 60ULL * 1000000000ULL;
	if (cor->cfg.history_max == 0)
		cor->cfg.history_max = 100000;
	cor->pool = strpool_new();
	cor->hosts = strmap_new();
	cor->images = strmap_new();
	cor->invs = strmap_new();
	cor->containers = strmap_new();
	cor->open = strmap_new();
	cor->orphans = strmap_new();
	return cor;
}

static int
cor_free_host(const char *k, void *v, void *arg)
{
	struct cor_host *h = v;

	free(h->ctrs);
	free(h);
	return 0;
}

static void
cor_inv_free(struct cor_inv *inv)
{
	free(inv->pkgs);
	free(inv->hits);
	free(inv);
}

static int
cor_free_inv(const char *k, void *v, void *arg)
{
	struct cor_inv *inv = v, *next;

	for (; inv != NULL; inv = next) {
		next = inv->next;
		cor_inv_free(inv);
	}
	return 0;
}

static int
cor_free_image(const char *k, void *v, void *arg)
{
	struct cor_image *im = v;

	free(im->key);
	free(im);
	return 0;
}

static int
cor_free_orphans(const char *k, void *v, void *arg)
{
	struct cor_orphans *o = v;

	free(o->key);
	free(o->list);
	free(o);
	return 0;
}

static void
cor_finding_free(struct cor_finding *cf)
{
	free(cf->f.detail);
	free(cf->key);
	free(cf->container);
	free(cf->container_name);
	free(cf);
}

static int
cor_free_key(const char *k, void *v, void *arg)
{
	free(v);
	return 0;
}

static void
cor_container_free(struct cor_container *c)
{
	size_t i;

	for (i = 0; i < c->ndrift; i++)
		free(c->drift[i]);
	if (c->drift_seen != NULL) {
		strmap_each(c->drift_seen, cor_free_key, NULL);
		strmap_free(c->drift_seen);
	}
	free(c->key);
	free(c->id);
	free(c->name);
	free(c->checks);
	free(c->findings);
	free(c);
}

static int
cor_free_container(const char *k, void *v, void *arg)
{
	cor_container_free(v);
	return 0;
}

void
correlate_free(struct correlate *cor)
{
	size_t	i;

	if (cor == NULL)
		return;
	strmap_each(cor->hosts, cor_free_host, NULL);
	strmap_each(cor->images, cor_free_image, NULL);
	strmap_each(cor->invs, cor_free_inv, NULL);
	strmap_each(cor->containers, cor_free_container, NULL);
	strmap_free(cor->hosts);
	strmap_free(cor->images);
	strmap_free(cor->invs);
	strmap_free(cor->containers);
	strmap_free(cor->open);
	strmap_each(cor->orphans, cor_free_orphans, NULL);
	strmap_free(cor->orphans);
	for (i = 0; i < cor->nall; i++)
		cor_finding_free(cor->all[i]);
	free(cor->all);
	osv_db_free(cor->db);
	strpool_free(cor->pool);
	free(cor);
}

/*
 * Register a sink; returns 0, or -1 when COR_SINKS_MAX are registered.
 * A sink that keeps changes past the call (keeps: the store's queue, the
 * findings topic's encoder) is given one copy shared by all such sinks,
 * to hold with finding_hold: one copy per change instead of one per sink.
 */
int
correlate_add_sink(struct correlate *cor, correlate_sink_fn fn, void *arg,
    int keeps)
{
	if (cor->nsinks == COR_SINKS_MAX)
		return -1;
	cor->sinks[cor->nsinks].fn = fn;
	cor->sinks[cor->nsinks].arg = arg;
	cor->sinks[cor->nsinks].keeps = keeps != 0;
	cor->nkeeping += keeps != 0;
	cor->nsinks++;
	return 0;
}

static void
cor_emit(struct correlate *cor, const struct finding *f,
    enum finding_change ch)
{
	struct finding	*copy = cor->nkeeping > 0 ? finding_dup(f) : NULL;
	size_t		 i;

	for (i = 0; i < cor->nsinks; i++)
		cor->sinks[i].fn(cor->sinks[i].keeps ? copy : f, ch,
		    cor->sinks[i].arg);
	if (copy != NULL)
		finding_free(copy);	/* the sinks hold what they keep */
}

static const char *
cor_str(struct correlate *cor, const char *s)
{
	return strpool_get(cor->pool, s);
}

/*
 * The model's key for something of host's named id (a container, an
 * image): "HOST/ID" with '%' and '/' in HOST written %25 and %2F, so the
 * first '/' always ends the host.  Host ids and container ids are any
 * strings an agent sends: "a" + "b/c" and "a/b" + "c" must not meet, or one
 * host could reach another's containers.  Both are bounded by the schema
 * (256 bytes), so buf (COR_KEY_MAX) always holds the key.
 */
static void
cor_key(char *buf, size_t len, const char *host, const char *id)
{
	size_t	o = 0;

	for (; *host != '\0' && o + 4 < len; host++) {
		if (*host == '/' || *host == '%')
			o += (size_t)snprintf(buf + o, len - o, "%%%02X",
			    (unsigned char)*host);
		else
			buf[o++] = *host;
	}
	snprintf(buf + o, len - o, "/%s", id);
}

/* ---------------------------------------------------------------------- */
/* Findings */

static void
cor_own(struct cor_container *c, struct cor_finding *cf)
{
	if (c->nfindings == c->capfindings) {
		c->capfindings = c->capfindings ? c->capfindings * 2 : 8;
		c->findings = xreallocarray(c->findings, c->capfindings,
		    sizeof *c->findings);
	}
	c->findings[c->nfindings++] = cf;
	cf->owner = c;
}

static void
cor_disown(struct cor_finding *cf)
{
	struct cor_container	*c = cf->owner;
	size_t			 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nfindings; i++)
		if (c->findings[i] == cf) {
			c->findings[i] = c->findings[--c->nfindings];
			break;
		}
	cf->owner = NULL;
}

/* Drop the oldest resolved findings once more than history_max are kept. */
static void
cor_prune(struct correlate *cor)
{
	size_t	i, j, drop;

	if (cor->st.resolved <= cor->cfg.history_max)
		return;
	drop = cor->st.resolved - cor->cfg.history_max * 3 / 4;
	for (i = j = 0; i < cor->nall; i++) {
		struct cor_finding *cf = cor->all[i];

		if (drop > 0 && !cf->f.open) {
			cor_finding_free(cf);
			drop--;
			cor->st.resolved--;
			continue;
		}
		cor->all[j++] = cf;
	}
	cor->nall = j;
}

static void
cor_resolve(struct correlate *cor, struct cor_finding *cf, const char *reason,
    uint64_t now)
{
	struct finding *f = &cf->f;

	if (!f->open)
		return;
	f->open = 0;
	f->resolved_ns = now;
	f->reason = cor_str(cor, reason);
	strmap_del(cor->open, f->key);
	cor_disown(cf);
	if (cf->hown != NULL && cf->hown->silent == cf)
		cf->hown->silent = NULL;
	cor->st.open--;
	cor->st.resolved++;
	cor->st.closed++;
	cor_emit(cor, f, FINDING_RESOLVED);
	cor_prune(cor);
}

static struct cor_finding *
cor_add(struct correlate *cor, struct cor_finding *cf)
{
	if (cor->nall == cor->capall) {
		cor->capall = cor->capall ? cor->capall * 2 : 1024;
		cor->all = xreallocarray(cor->all, cor->capall,
		    sizeof *cor->all);
	}
	cor->all[cor->nall++] = cf;
	strmap_put(cor->open, cf->f.key, cf);
	cor->st.open++;
	return cf;
}

/* What an upsert sets: the facts of one finding. */
struct cor_facts {
	enum finding_kind kind;
	enum sev_level	 level;
	double		 score;
	const char	*package, *source, *installed, *fixed;
	const char	*advisory, *aliases, *check, *title;
	const char	*detail;
};

static int
cor_streq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Open the finding with this key, or refresh it (last seen, mark) if open.
 * A change of severity, fixed version or detail is an UPDATED change.
 */
static struct cor_finding *
cor_upsert(struct correlate *cor, const char *key, struct cor_container *c,
    struct cor_host *h, const struct cor_facts *x, uint64_t now)
{
	struct cor_finding	*cf = strmap_get(cor->open, key);
	struct finding		*f;

	if (cf != NULL) {
		int changed = 0;

		f = &cf->f;
		f->mark = cor->gen;
		f->last_seen_ns = now;
		if (c != NULL && cf->owner == NULL)
			cor_own(c, cf);		/* restored from the store */
		if (f->level != x->level || f->score != x->score) {
			f->level = x->level;
			f->score = x->score;
			changed = 1;
		}
		if (!cor_streq(f->fixed, x->fixed)) {
			f->fixed = cor_str(cor, x->fixed);
			changed = 1;
		}
		if (!cor_streq(f->detail, x->detail)) {
			free(f->detail);
			f->detail = x->detail ? xstrdup(x->detail) : NULL;
			changed = 1;
		}
		if (changed)
			cor_emit(cor, f, FINDING_UPDATED);
		return cf;
	}
	cf = xcalloc(1, sizeof *cf);
	f = &cf->f;
	f->key = cf->key = xstrdup(key);
	f->kind = x->kind;
	f->level = x->level;
	f->score = x->score;
	f->host = h != NULL ? h->id : NULL;
	if (c != NULL) {
		f->container = cf->container = xstrdup(c->id);
		f->container_name = cf->container_name = c->name ?
		    xstrdup(c->name) : NULL;
		f->image = c->image_key;
		f->image_ref = c->image_ref;
	}
	f->package = cor_str(cor, x->package);
	f->source = cor_str(cor, x->source);
	f->installed = cor_str(cor, x->installed);
	f->fixed = cor_str(cor, x->fixed);
	f->advisory = cor_str(cor, x->advisory);
	f->aliases = cor_str(cor, x->aliases);
	f->check = cor_str(cor, x->check);
	f->title = cor_str(cor, x->title);
	f->detail = x->detail ? xstrdup(x->detail) : NULL;
	f->first_seen_ns = f->last_seen_ns = now;
	f->open = 1;
	f->mark = cor->gen;
	finding_set_id(f);
	cf->hown = h;
	if (c != NULL)
		cor_own(c, cf);
	cor_add(cor, cf);
	cor->st.opened++;
	cor_emit(cor, f, FINDING_NEW);
	return cf;
}

/* ---------------------------------------------------------------------- */
/* Images and the feed */

struct cor_hit_ctx {
	struct correlate	*cor;
	struct cor_inv		*im;
	const struct cor_pkg	*pkg;
};

static int
cor_hit_add(const struct osv_match *m, void *arg)
{
	struct cor_hit_ctx	*x = arg;
	struct cor_inv		*im = x->im;
	struct cor_hit		*h;
	char			 aliases[2048];
	size_t			 i, off = 0;

	if (im->nhits == im->caphits) {
		im->caphits = im->caphits ? im->caphits * 2 : 16;
		im->hits = xreallocarray(im->hits, im->caphits,
		    sizeof *im->hits);
	}
	h = &im->hits[im->nhits++];
	memset(h, 0, sizeof *h);
	aliases[0] = '\0';
	for (i = 0; i < m->vuln->naliases && off < sizeof aliases; i++)
		off += (size_t)snprintf(aliases + off, sizeof aliases - off,
		    "%s%s", i ? "," : "", m->vuln->aliases[i]);
	if (off >= sizeof aliases)
		aliases[sizeof aliases - 1] = '\0';
	h->advisory = cor_str(x->cor, m->vuln->id);
	h->aliases = m->vuln->naliases ? cor_str(x->cor, aliases) : NULL;
	h->title = cor_str(x->cor, m->vuln->summary);
	h->package = x->pkg->name;
	h->source = cor_str(x->cor, m->name);
	h->installed = cor_str(x->cor, m->version);
	h->fixed = cor_str(x->cor, m->fixed);
	h->level = m->vuln->level;
	h->score = m->vuln->score;
	return 0;
}

/* Recompute which advisories of the current feed affect inventory im. */
static void
cor_inv_match(struct correlate *cor, struct cor_inv *im)
{
	struct cor_hit_ctx	 x = { cor, im, NULL };
	size_t			 i;

	im->nhits = 0;
	snprintf(im->digest, sizeof im->digest, "%s",
	    cor->db ? osv_db_digest(cor->db) : "");
	if (cor->db == NULL || !im->mapped)
		return;
	for (i = 0; i < im->npkgs; i++) {
		struct tm_package	 p;
		const struct cor_pkg	*cp = &im->pkgs[i];

		memset(&p, 0, sizeof p);
		p.ecosystem = (char *)(uintptr_t)cp->eco;
		p.name = (char *)(uintptr_t)cp->name;
		p.version = (char *)(uintptr_t)cp->version;
		p.source_name = (char *)(uintptr_t)cp->sname;
		p.source_version = (char *)(uintptr_t)cp->sver;
		x.pkg = cp;
		if (osv_match_package(cor->db, &im->t, &p, cor_hit_add,
		    &x) == -1)
			cor->st.bad_versions++;
	}
}

/* The inventory host reported for image key, matched against the current
 * feed; NULL when that host sent none. */
static struct cor_inv *
cor_inv_get(struct correlate *cor, const struct cor_host *h, const char *key)
{
	struct cor_image	*im;
	struct cor_inv		*inv;
	char			 k[COR_KEY_MAX];

	if (key == NULL)
		return NULL;
	cor_key(k, sizeof k, h->id, key);
	if ((im = strmap_get(cor->images, k)) == NULL)
		return NULL;
	inv = im->inv;
	if (strcmp(inv->digest, cor->db ? osv_db_digest(cor->db) : "") != 0)
		cor_inv_match(cor, inv);
	return inv;
}

/* ---------------------------------------------------------------------- */
/* Containers */

static struct cor_host *
cor_host_get(struct correlate *cor, const char *id, uint64_t now)
{
	struct cor_host *h = strmap_get(cor->hosts, id);

	if (h == NULL) {
		h = xcalloc(1, sizeof *h);
		h->id = cor_str(cor, id);
		strmap_put(cor->hosts, h->id, h);
		cor->st.hosts++;
	}
	if (now > h->last_rx_ns)
		h->last_rx_ns = now;
	return h;
}

static int
cor_state_live(const char *state)
{
	return state != NULL && (strcmp(state, "running") == 0 ||
	    strcmp(state, "created") == 0 || strcmp(state, "paused") == 0);
}

static const char *
cor_gone_reason(const struct cor_container *c)
{
	if (c->state != NULL && strcmp(c->state, "removed") == 0)
		return "container removed";
	return "container exited";
}

/*
 * Evaluate container c: open or refresh every finding it warrants now,
 * resolve those it no longer does.
 */
static void
cor_eval_container(struct correlate *cor, struct cor_container *c,
    uint64_t now)
{
	struct cor_facts	 x;
	struct cor_inv		*im;
	char			 key[COR_KEY_MAX];
	size_t			 i;

	cor->gen++;
	cor->st.evaluations++;
	if (c->live && (im = cor_inv_get(cor, c->host, c->image_key)) != NULL) {
		for (i = 0; i < im->nhits; i++) {
			const struct cor_hit *h = &im->hits[i];

			memset(&x, 0, sizeof x);
			x.kind = FINDING_VULN;
			x.level = h->level;
			x.score = h->score;
			x.package = h->package;
			x.source = h->source;
			x.installed = h->installed;
			x.fixed = h->fixed;
			x.advisory = h->advisory;
			x.aliases = h->aliases;
			x.title = h->title;
			snprintf(key, sizeof key, "vulnerability|%s|%s|%s",
			    c->key, h->advisory, h->package);
			cor_upsert(cor, key, c, c->host, &x, now);
		}
	}
	if (c->live) {
		for (i = 0; i < c->nchecks; i++) {
			const struct cor_check_hit *ch = &c->checks[i];

			memset(&x, 0, sizeof x);
			x.kind = FINDING_MISCONFIG;
			x.level = ch->check->level;
			x.score = -1.0;
			x.check = ch->check->id;
			x.title = ch->check->title;
			x.detail = ch->detail;
			snprintf(key, sizeof key, "misconfiguration|%s|%s",
			    c->key, ch->check->id);
			cor_upsert(cor, key, c, c->host, &x, now);
		}
	}
	if (c->live && c->drift_execs > 0) {
		char	detail[COR_DETAIL_MAX];
		size_t	off;

		off = (size_t)snprintf(detail, sizeof detail,
		    "%llu executable(s) written after start:",
		    (unsigned long long)c->drift_execs);
		for (i = 0; i < c->ndrift && off < sizeof detail; i++)
			off += (size_t)snprintf(detail + off,
			    sizeof detail - off, " %s", c->drift[i]);
		memset(&x, 0, sizeof x);
		x.kind = FINDING_DRIFT;
		x.level = SEV_HIGH;
		x.score = -1.0;
		x.title = "Executables written to the container after start";
		x.detail = detail;
		snprintf(key, sizeof key, "drift|%s", c->key);
		cor_upsert(cor, key, c, c->host, &x, now);
	}
	/* Sweep: what was not refreshed just now is resolved. */
	for (i = c->nfindings; i-- > 0;) {
		struct cor_finding	*cf = c->findings[i];
		const char		*why;

		if (i >= c->nfindings || cf->f.mark == cor->gen ||
		    cf->f.kind == FINDING_SHORT_LIVED)
			continue;
		/* No feed loaded yet (start-up): what the store gave back
		 * stays until there is a feed to judge it by. */
		if (c->live && cf->f.kind == FINDING_VULN && cor->db == NULL)
			continue;
		if (!c->live)
			why = cor_gone_reason(c);
		else if (cf->f.kind == FINDING_VULN && cor->db != NULL &&
		    osv_db_is_withdrawn(cor->db, cf->f.advisory))
			why = "advisory withdrawn";
		else if (cf->f.kind == FINDING_VULN && (cor->db == NULL ||
		    osv_db_find(cor->db, cf->f.advisory) == NULL))
			why = "advisory no longer in the feed";
		else if (cf->f.kind == FINDING_VULN)
			why = "package not affected";
		else if (cf->f.kind == FINDING_MISCONFIG)
			why = "check passes";
		else
			why = "no longer observed";
		cor_resolve(cor, cf, why, now);
	}
}

/* The short-lived finding of a container seen exited after a brief life. */
static void
cor_short_lived(struct correlate *cor, struct cor_container *c, uint64_t now)
{
	struct cor_facts	x;
	char			key[COR_KEY_MAX], detail[128];
	uint64_t		life = c->lifetime_ns;

	if (life == 0 && c->finished_ns > c->started_ns && c->started_ns > 0)
		life = c->finished_ns - c->started_ns;
	if (cor->cfg.short_lived_ns == 0 || c->started_ns == 0 ||
	    life >= cor->cfg.short_lived_ns)
		return;
	snprintf(detail, sizeof detail, "lived %llu ms",
	    (unsigned long long)(life / 1000000ULL));
	memset(&x, 0, sizeof x);
	x.kind = FINDING_SHORT_LIVED;
	x.level = SEV_NONE;
	x.score = -1.0;
	x.title = "Short-lived container";
	x.detail = detail;
	snprintf(key, sizeof key, "short-lived|%s", c->key);
	cor_upsert(cor, key, c, c->host, &x, now);
}

static struct cor_container *
cor_container_get(struct correlate *cor, struct cor_host *h, const char *id)
{
	struct cor_container	*c;
	char			 key[COR_KEY_MAX];

	cor_key(key, sizeof key, h->id, id);
	if ((c = strmap_get(cor->containers, key)) != NULL)
		return c;
	c = xcalloc(1, sizeof *c);
	c->key = xstrdup(key);
	c->host = h;
	c->id = xstrdup(id);
	strmap_put(cor->containers, c->key, c);
	if (h->nctrs == h->capctrs) {
		h->capctrs = h->capctrs ? h->capctrs * 2 : 8;
		h->ctrs = xreallocarray(h->ctrs, h->capctrs, sizeof *h->ctrs);
	}
	c->hidx = h->nctrs;
	h->ctrs[h->nctrs++] = c;
	cor->st.containers++;
	/* Findings restored from the store for it: its own again. */
	{
		struct cor_orphans *o = strmap_del(cor->orphans, c->key);

		if (o != NULL) {
			size_t i;

			for (i = 0; i < o->n; i++)
				if (o->list[i]->f.open)
					cor_own(c, o->list[i]);
			cor_free_orphans(NULL, o, NULL);
		}
	}
	return c;
}

/* A removed container leaves the model (its findings stay in history). */
static void
cor_container_drop(struct correlate *cor, struct cor_container *c, uint64_t now)
{
	size_t	i;

	for (i = c->nfindings; i-- > 0;)
		if (i < c->nfindings)
			cor_resolve(cor, c->findings[i], "container removed",
			    now);
	strmap_del(cor->containers, c->key);
	c->host->ctrs[c->hidx] = c->host->ctrs[--c->host->nctrs];
	c->host->ctrs[c->hidx]->hidx = c->hidx;
	if (c->live)
		cor->st.containers_live--;
	cor->st.containers--;
	cor_container_free(c);
}

static void
cor_set_state(struct correlate *cor, struct cor_container *c,
    const char *state)
{
	int live = cor_state_live(state);

	if (live && !c->live)
		cor->st.containers_live++;
	else if (!live && c->live)
		cor->st.containers_live--;
	c->live = live;
	c->state = cor_str(cor, state);
}

static void
cor_on_container(struct correlate *cor, struct cor_host *h,
    const struct tm_container *tc, uint64_t now)
{
	struct cor_container	*c = cor_container_get(cor, h, tc->id);
	size_t			 i;

	if (tc->name != NULL && !cor_streq(c->name, tc->name)) {
		free(c->name);
		c->name = xstrdup(tc->name);
	}
	if (tc->image_key != NULL || tc->image_id != NULL)
		c->image_key = cor_str(cor, tc->image_key ? tc->image_key :
		    tc->image_id);
	if (tc->image_ref != NULL)
		c->image_ref = cor_str(cor, tc->image_ref);
	if (tc->started_ns)
		c->started_ns = tc->started_ns;
	if (tc->finished_ns)
		c->finished_ns = tc->finished_ns;
	if (tc->lifetime_ns)
		c->lifetime_ns = tc->lifetime_ns;
	cor_set_state(cor, c, tc->state);
	c->snapshot = 1;
	free(c->checks);
	c->checks = NULL;
	c->nchecks = 0;
	if (c->live) {
		c->checks = xcalloc(cis_checks_len, sizeof *c->checks);
		for (i = 0; i < cis_checks_len; i++) {
			char d[256];

			d[0] = '\0';
			if (cis_checks[i].fails(tc, d, sizeof d)) {
				c->checks[c->nchecks].check = &cis_checks[i];
				c->checks[c->nchecks].detail = cor_str(cor, d);
				c->nchecks++;
			}
		}
	}
	if (strcmp(tc->state, "removed") == 0) {
		cor_container_drop(cor, c, now);
		return;
	}
	if (!c->live)
		cor_short_lived(cor, c, now);
	cor_eval_container(cor, c, now);
}

static void
cor_on_event(struct correlate *cor, struct cor_host *h,
    const struct tm_event *ev, uint64_t now)
{
	struct cor_container	*c;
	const char		*state = NULL;

	if (strcmp(ev->action, "start") == 0 ||
	    strcmp(ev->action, "unpause") == 0)
		state = "running";
	else if (strcmp(ev->action, "create") == 0)
		state = "created";
	else if (strcmp(ev->action, "pause") == 0)
		state = "paused";
	else if (strcmp(ev->action, "exit") == 0 ||
	    strcmp(ev->action, "oom") == 0)
		state = "exited";
	else if (strcmp(ev->action, "delete") == 0)
		state = "removed";
	if (state == NULL)
		return;		/* exec: nothing changes here */
	{
		char key[COR_KEY_MAX];

		cor_key(key, sizeof key, h->id, ev->id);
		c = strmap_get(cor->containers, key);
	}
	if (c == NULL && strcmp(state, "removed") == 0)
		return;
	if (c == NULL)
		c = cor_container_get(cor, h, ev->id);
	if (ev->name != NULL && !cor_streq(c->name, ev->name)) {
		free(c->name);
		c->name = xstrdup(ev->name);
	}
	if (strcmp(state, "running") == 0 && c->started_ns == 0)
		c->started_ns = ev->time_ns;
	if (strcmp(state, "exited") == 0)
		c->finished_ns = ev->time_ns;
	if (strcmp(state, "removed") == 0) {
		c->state = cor_str(cor, "removed");
		cor_container_drop(cor, c, now);
		return;
	}
	cor_set_state(cor, c, state);
	if (!c->live)
		cor_short_lived(cor, c, now);
	cor_eval_container(cor, c, now);
}

static int
cor_is_exec(const struct tm_drift_file *f)
{
	/* Permission bits, and the file type when the agent sends it. */
	if (f->mode & 0170000 && (f->mode & 0170000) != 0100000)
		return 0;
	return (f->mode & 0111) != 0 && f->change != NULL &&
	    strcmp(f->change, "deleted") != 0;
}

static void
cor_on_drift(struct correlate *cor, struct cor_host *h,
    const struct tm_drift *d, uint64_t now)
{
	struct cor_container	*c;
	char			 key[COR_KEY_MAX];
	size_t			 i;
	int			 added = 0;

	cor_key(key, sizeof key, h->id, d->id);
	if ((c = strmap_get(cor->containers, key)) == NULL)
		c = cor_container_get(cor, h, d->id);
	for (i = 0; i < d->n_files; i++) {
		const char	*path = d->files[i].path;
		char		*copy;

		if (path == NULL || !cor_is_exec(&d->files[i]))
			continue;
		if (c->drift_seen == NULL)
			c->drift_seen = strmap_new();
		if (strmap_get(c->drift_seen, path) != NULL)
			continue;	/* seen in an earlier drift record */
		/* Past the bound every exec path counts: an overcount beats
		 * memory a hostile container could make us spend. */
		if (strmap_count(c->drift_seen) < COR_DRIFT_SEEN_MAX) {
			copy = xstrdup(path);
			strmap_put(c->drift_seen, copy, copy);
		}
		if (c->ndrift < COR_DRIFT_SAMPLES)
			c->drift[c->ndrift++] = xstrdup(path);
		c->drift_execs++;
		added = 1;
	}
	if (added)
		cor_eval_container(cor, c, now);
}

/* 1 if inventory inv holds exactly ti's packages (what matching reads). */
static int
cor_inv_same(const struct cor_inv *inv, const struct tm_image *ti)
{
	size_t	i;

	if (inv->npkgs != ti->n_packages)
		return 0;
	for (i = 0; i < inv->npkgs; i++) {
		const struct cor_pkg	*a = &inv->pkgs[i];
		const struct tm_package	*b = &ti->packages[i];

		if (!cor_streq(a->name, b->name) ||
		    !cor_streq(a->version, b->version) ||
		    !cor_streq(a->sname, b->source_name) ||
		    !cor_streq(a->sver, b->source_version) ||
		    !cor_streq(a->eco, b->ecosystem))
			return 0;
	}
	return 1;
}

/*
 * The inventory for ti (its ecosystem and package list): one already made
 * for the same image key and the same list, else a new one, matched against
 * the feed.  One more reference on it either way.  Only the first
 * COR_INV_SCAN lists of a key are compared (the one found moves to the
 * front): many hosts reporting different lists cost memory, not time.
 */
static struct cor_inv *
cor_inv_ref(struct correlate *cor, const struct tm_image *ti)
{
	struct cor_inv		*head, *inv, *prev = NULL;
	struct eco_target	 t;
	int			 mapped, n = 0;
	size_t			 i;

	mapped = ecosystem_map(ti->os_id, ti->os_version, ti->os_pretty,
	    &t) == 0;
	head = strmap_get(cor->invs, ti->key);
	for (inv = head; inv != NULL && n < COR_INV_SCAN;
	    prev = inv, inv = inv->next, n++) {
		if (inv->mapped != mapped || (mapped &&
		    (strcmp(inv->t.eco, t.eco) != 0 ||
		    strcmp(inv->t.unscoped, t.unscoped) != 0 ||
		    strcmp(inv->t.pro, t.pro) != 0 ||
		    inv->t.def != t.def || inv->t.scheme != t.scheme)) ||
		    !cor_inv_same(inv, ti))
			continue;
		if (prev != NULL) {
			prev->next = inv->next;
			inv->next = head;
			strmap_put(cor->invs, inv->image, inv);
		}
		inv->refs++;
		return inv;
	}
	inv = xcalloc(1, sizeof *inv);
	inv->image = cor_str(cor, ti->key);
	if (mapped) {
		inv->t = t;
		inv->mapped = 1;
	}
	inv->pkgs = xcalloc(ti->n_packages + 1, sizeof *inv->pkgs);
	for (i = 0; i < ti->n_packages; i++) {
		const struct tm_package *p = &ti->packages[i];

		inv->pkgs[i].eco = cor_str(cor, p->ecosystem);
		inv->pkgs[i].name = cor_str(cor, p->name);
		inv->pkgs[i].version = cor_str(cor, p->version);
		inv->pkgs[i].sname = cor_str(cor, p->source_name);
		inv->pkgs[i].sver = cor_str(cor, p->source_version);
	}
	inv->npkgs = ti->n_packages;
	inv->refs = 1;
	inv->next = head;
	strmap_put(cor->invs, inv->image, inv);
	cor->st.inventories++;
	cor_inv_match(cor, inv);
	return inv;
}

/* One reference less on inv; the last frees it. */
static void
cor_inv_unref(struct correlate *cor, struct cor_inv *inv)
{
	struct cor_inv *head, *p;

	if (inv == NULL || --inv->refs > 0)
		return;
	head = strmap_get(cor->invs, inv->image);
	if (head == inv) {
		if (inv->next != NULL)
			strmap_put(cor->invs, inv->image, inv->next);
		else
			strmap_del(cor->invs, inv->image);
	} else {
		for (p = head; p != NULL && p->next != inv; p = p->next)
			;
		if (p != NULL)
			p->next = inv->next;
	}
	cor->st.inventories--;
	cor_inv_free(inv);
}

/*
 * An image inventory from host h.  It is h's view of that image only: the
 * containers of h that use it are judged by it, no other host's.  A host
 * that reports a different list for an image it reported before (a new
 * agent, a rebuilt cache) replaces its own view.
 */
static void
cor_on_image(struct correlate *cor, struct cor_host *h,
    const struct tm_image *ti, uint64_t now)
{
	struct cor_image	*im;
	struct cor_inv		*inv;
	char			 key[COR_KEY_MAX];

	if (ti->key == NULL)
		return;
	cor_key(key, sizeof key, h->id, ti->key);
	inv = cor_inv_ref(cor, ti);
	if ((im = strmap_get(cor->images, key)) != NULL) {
		if (im->inv == inv) {
			cor_inv_unref(cor, inv);	/* the same again */
			return;
		}
		cor_inv_unref(cor, im->inv);
	} else {
		im = xcalloc(1, sizeof *im);
		im->key = xstrdup(key);
		im->image = cor_str(cor, ti->key);
		strmap_put(cor->images, im->key, im);
		cor->st.images++;
		if (!inv->mapped && ti->os_id != NULL)
			cor->st.unmapped_images++;
	}
	if (ti->n_refs > 0)
		im->ref = cor_str(cor, ti->refs[0]);
	im->inv = inv;
	/* Containers that arrived before their image: evaluate them now. */
	correlate_reevaluate_image(cor, h->id, ti->key, now);
}

/* ---------------------------------------------------------------------- */
/* Entry points */

struct cor_each_ctx {
	struct cor_container	**list;
	size_t			 n, cap;
};

static int
cor_collect(const char *k, void *v, void *arg)
{
	struct cor_each_ctx	*x = arg;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->list = xreallocarray(x->list, x->cap, sizeof *x->list);
	}
	x->list[x->n++] = v;
	return 0;
}

/*
 * Evaluate the containers of host that use image (every container of the
 * fleet when host is NULL).
 */
void
correlate_reevaluate_image(struct correlate *cor, const char *host,
    const char *image, uint64_t now)
{
	struct cor_each_ctx	 x = { NULL, 0, 0 };
	struct cor_host		*h;
	size_t			 i;

	if (host == NULL) {
		/* Collect first: evaluation must not run inside strmap_each. */
		strmap_each(cor->containers, cor_collect, &x);
	} else if ((h = strmap_get(cor->hosts, host)) != NULL) {
		for (i = 0; i < h->nctrs; i++)
			if (h->ctrs[i]->image_key != NULL && image != NULL &&
			    strcmp(h->ctrs[i]->image_key, image) == 0)
				cor_collect(NULL, h->ctrs[i], &x);
	}
	for (i = 0; i < x.n; i++)
		cor_eval_container(cor, x.list[i], now);
	free(x.list);
}

static int
cor_rematch(const char *k, void *v, void *arg)
{
	struct cor_inv *inv;

	for (inv = v; inv != NULL; inv = inv->next)
		cor_inv_match(arg, inv);
	return 0;
}

/* Re-evaluate the whole fleet against the current feed. */
void
correlate_reevaluate(struct correlate *cor, uint64_t now)
{
	uint64_t t0 = mono_ns();

	strmap_each(cor->invs, cor_rematch, cor);
	correlate_reevaluate_image(cor, NULL, NULL, now);
	cor->st.feed_changes++;
	cor->st.last_reeval_ns = mono_ns() - t0;
}

/*
 * Install db (the engine owns it from now on) as the feed.  If its digest
 * differs from the current feed's, the whole fleet is re-evaluated: findings
 * open for new advisories and resolve for withdrawn or changed ones.  An
 * identical feed is freed and changes nothing.
 */
void
correlate_set_feed(struct correlate *cor, struct osv_db *db, uint64_t now)
{
	if (cor->db != NULL &&
	    strcmp(osv_db_digest(cor->db), osv_db_digest(db)) == 0) {
		osv_db_free(db);
		return;
	}
	osv_db_free(cor->db);
	cor->db = db;
	correlate_reevaluate(cor, now);
}

const struct osv_db *
correlate_feed(const struct correlate *cor)
{
	return cor->db;
}

/* Apply one decoded record received at rx_ns (the collector's clock). */
void
correlate_record(struct correlate *cor, const struct tm_record *rec,
    uint64_t rx_ns)
{
	struct cor_host *h;

	if (rec->host_id == NULL)
		return;
	h = cor_host_get(cor, rec->host_id, rx_ns);
	switch (rec->kind) {
	case TM_KIND_HEARTBEAT:
		h->last_hb_ns = rx_ns;
		if (rec->body.heartbeat.interval_ns > 0)
			h->hb_interval_ns = rec->body.heartbeat.interval_ns;
		if (h->silent != NULL)
			cor_resolve(cor, h->silent, "heartbeat received",
			    rx_ns);
		break;
	case TM_KIND_CONTAINER:
		cor_on_container(cor, h, &rec->body.container, rx_ns);
		break;
	case TM_KIND_EVENT:
		cor_on_event(cor, h, &rec->body.event, rx_ns);
		break;
	case TM_KIND_IMAGE:
		cor_on_image(cor, h, &rec->body.image, rx_ns);
		break;
	case TM_KIND_DRIFT:
		cor_on_drift(cor, h, &rec->body.drift, rx_ns);
		break;
	default:
		break;
	}
}

struct cor_tick_ctx {
	struct correlate	*cor;
	uint64_t		 now;
	struct cor_host		**silent;
	size_t			 n, cap;
};

static int
cor_tick_host(const char *k, void *v, void *arg)
{
	struct cor_tick_ctx	*x = arg;
	struct cor_host		*h = v;
	uint64_t		 ival, last;

	ival = h->hb_interval_ns ? h->hb_interval_ns : x->cor->cfg.heartbeat_ns;
	last = h->last_hb_ns ? h->last_hb_ns : h->last_rx_ns;
	if (h->silent != NULL ||
	    x->now <= last + (uint64_t)x->cor->cfg.silent_intervals * ival)
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		x->silent = xreallocarray(x->silent, x->cap, sizeof *x->silent);
	}
	x->silent[x->n++] = h;
	return 0;
}

/* Open host-silent findings for hosts whose heartbeats stopped. */
void
correlate_tick(struct correlate *cor, uint64_t now)
{
	struct cor_tick_ctx	x = { cor, now, NULL, 0, 0 };
	size_t			i;

	strmap_each(cor->hosts, cor_tick_host, &x);
	for (i = 0; i < x.n; i++) {
		struct cor_host		*h = x.silent[i];
		struct cor_facts	 f;
		char			 key[COR_KEY_MAX], detail[128], ts[40];

		finding_time(h->last_hb_ns ? h->last_hb_ns : h->last_rx_ns, ts,
		    sizeof ts);
		snprintf(detail, sizeof detail, "no heartbeat since %s", ts);
		memset(&f, 0, sizeof f);
		f.kind = FINDING_HOST_SILENT;
		f.level = SEV_MEDIUM;
		f.score = -1.0;
		f.title = "Host silent: no heartbeat";
		f.detail = detail;
		snprintf(key, sizeof key, "host-silent|%s", h->id);
		cor->gen++;
		h->silent = cor_upsert(cor, key, NULL, h, &f, now);
	}
	free(x.silent);
}

/*
 * Take back an open finding from the store after a restart, without
 * announcing it: when its container reports again the finding is refreshed
 * (same id), not opened twice.  Resolved findings are history: they are
 * added to the list the API reads.
 */
void
correlate_restore(struct correlate *cor, const struct finding *src)
{
	struct cor_finding	*cf;
	struct finding		*f;

	if (src->key == NULL || (src->open &&
	    strmap_get(cor->open, src->key) != NULL))
		return;
	cf = xcalloc(1, sizeof *cf);
	f = &cf->f;
	*f = *src;
	f->mark = 0;
	f->key = cf->key = xstrdup(src->key);
	f->host = cor_str(cor, src->host);
	f->container = cf->container = src->container ?
	    xstrdup(src->container) : NULL;
	f->container_name = cf->container_name = src->container_name ?
	    xstrdup(src->container_name) : NULL;
	f->image = cor_str(cor, src->image);
	f->image_ref = cor_str(cor, src->image_ref);
	f->package = cor_str(cor, src->package);
	f->source = cor_str(cor, src->source);
	f->installed = cor_str(cor, src->installed);
	f->fixed = cor_str(cor, src->fixed);
	f->advisory = cor_str(cor, src->advisory);
	f->aliases = cor_str(cor, src->aliases);
	f->check = cor_str(cor, src->check);
	f->title = cor_str(cor, src->title);
	f->reason = cor_str(cor, src->reason);
	f->detail = src->detail ? xstrdup(src->detail) : NULL;
	if (f->open) {
		if (f->host != NULL) {
			cf->hown = cor_host_get(cor, f->host, 0);
			if (f->kind == FINDING_HOST_SILENT)
				cf->hown->silent = cf;
		}
		cor_add(cor, cf);
		if (f->host != NULL && f->container != NULL) {
			struct cor_container	*c;
			struct cor_orphans	*o;
			char			 key[COR_KEY_MAX];

			cor_key(key, sizeof key, f->host, f->container);
			if ((c = strmap_get(cor->containers, key)) != NULL) {
				cor_own(c, cf);
				return;
			}
			if ((o = strmap_get(cor->orphans, key)) == NULL) {
				o = xcalloc(1, sizeof *o);
				o->key = xstrdup(key);
				strmap_put(cor->orphans, o->key, o);
			}
			o->list = xreallocarray(o->list, o->n + 1,
			    sizeof *o->list);
			o->list[o->n++] = cf;
		}
	} else {
		if (cor->nall == cor->capall) {
			cor->capall = cor->capall ? cor->capall * 2 : 1024;
			cor->all = xreallocarray(cor->all, cor->capall,
			    sizeof *cor->all);
		}
		cor->all[cor->nall++] = cf;
		cor->st.resolved++;
	}
}

/* Every finding kept (open and resolved), oldest first; fn != 0 stops. */
void
correlate_each_finding(struct correlate *cor,
    int (*fn)(const struct finding *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < cor->nall; i++)
		if (fn(&cor->all[i]->f, arg) != 0)
			return;
}

void
correlate_stats(const struct correlate *cor, struct correlate_stats *st)
{
	*st = cor->st;
}
