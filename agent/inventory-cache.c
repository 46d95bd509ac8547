/*
 * inventory-cache.c: an image's inventory is computed once per host.
 *
 * Entries are keyed by image id (or a hash of the layer chain) and live in
 * memory and in state.dir/images/KEY.json ({"emitted": bool, "image": {...}},
 * written to a temporary file then renamed), so a restart does not rescan
 * an image.  Its record is sent once per run of the agent, when a container
 * first uses it: a collector that lost its store gets it again at the next
 * start ("emitted" on disk is only informative).  A scan runs on the libuv thread pool; requests for
 * a key being scanned wait for that one scan.  Everything here but
 * icache_work runs on the loop thread.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/agent.h"

#define ICACHE_FILE_MAX		(64u * 1024 * 1024)
#define ICACHE_ENTRIES_MAX	10000u	/* images remembered; oldest forgotten */

struct icache_waiter {
	inventory_done_cb	 done;
	void			*arg;
	struct icache_waiter	*next;
};

struct icache_entry {
	char			 key[80];
	int			 scanning;
	bool			 emitted;
	struct tm_image		 img;		/* when !scanning */
	struct icache_waiter	*waiters;
	struct icache_entry	*next;
};

struct inventory_cache {
	struct agent		*a;
	char			*dir;		/* state.dir/images, or NULL */
	struct icache_entry	*head;
	size_t			 n;
};

/* One scan in flight: owns copies of its source. */
struct icache_work {
	uv_work_t		 req;
	struct inventory_cache	*c;
	struct icache_entry	*e;
	char			*rootdir;
	char			**layers;
	size_t			 n_layers;
	char			*image_id;
	char			*ref;
	uint64_t		 max_file;
	int			 status;
	struct tm_image		 img;
};

void
inventory_image_key(const struct image_source *src, char out[80])
{
	struct sha256_ctx	ctx;
	uint8_t			d[32];
	char			hex[65];
	size_t			i;

	if (src->key != NULL && *src->key != '\0' && strlen(src->key) < 80) {
		snprintf(out, 80, "%s", src->key);
		return;
	}
	sha256_init(&ctx);
	if (src->rootdir != NULL)
		sha256_update(&ctx, src->rootdir, strlen(src->rootdir));
	for (i = 0; i < src->n_layers; i++) {
		sha256_update(&ctx, src->layers[i], strlen(src->layers[i]));
		sha256_update(&ctx, "\n", 1);
	}
	sha256_final(&ctx, d);
	sha256_hex(d, hex);
	snprintf(out, 80, "chain:%s", hex);
}

/* The cache file for key: only [A-Za-z0-9._-] kept, others become '_'. */
static char *
icache_path(struct inventory_cache *c, const char *key, const char *suffix)
{
	char	name[80], *p;
	size_t	i;

	for (i = 0; key[i] != '\0' && i < sizeof(name) - 1; i++) {
		char ch = key[i];

		name[i] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-') ? ch : '_';
	}
	name[i] = '\0';
	xasprintf(&p, "%s/%s.json%s", c->dir, name, suffix);
	return p;
}

/* Write e to its cache file (atomically).  Returns 0 or -1 (logged). */
static int
icache_save(struct inventory_cache *c, struct icache_entry *e)
{
	json_t	*o;
	char	*path, *tmp;
	int	 r;

	if (c->dir == NULL)
		return 0;
	o = json_object();
	json_object_set_new(o, "emitted", json_boolean(e->emitted));
	json_object_set_new(o, "image", inventory_image_to_json(&e->img));
	path = icache_path(c, e->key, "");
	tmp = icache_path(c, e->key, ".tmp");
	r = json_dump_file(o, tmp, JSON_COMPACT);
	json_decref(o);
	if (r == 0 && rename(tmp, path) == -1)
		r = -1;
	if (r != 0) {
		log_warn("inventory-cache: cannot write %s", path);
		unlink(tmp);
	}
	free(path);
	free(tmp);
	return r == 0 ? 0 : -1;
}

static struct icache_entry *
icache_find(struct inventory_cache *c, const char *key)
{
	struct icache_entry	*e;

	for (e = c->head; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void icache_remove(struct inventory_cache *, struct icache_entry *);

/* Bound the cache: drop the oldest finished entry (memory and file). */
static void
icache_evict(struct inventory_cache *c)
{
	struct icache_entry	*e, *last = NULL;
	char			*path;

	for (e = c->head; e != NULL; e = e->next)
		if (!e->scanning)
			last = e;
	if (last == NULL)
		return;
	log_info("inventory-cache: over %u images, forgetting %s",
	    ICACHE_ENTRIES_MAX, last->key);
	if (c->dir != NULL) {
		path = icache_path(c, last->key, "");
		unlink(path);
		free(path);
	}
	icache_remove(c, last);
}

static struct icache_entry *
icache_insert(struct inventory_cache *c, const char *key)
{
	struct icache_entry	*e;

	if (c->n >= ICACHE_ENTRIES_MAX)
		icache_evict(c);
	e = xcalloc(1, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->next = c->head;
	c->head = e;
	c->n++;
	return e;
}

static void
icache_remove(struct inventory_cache *c, struct icache_entry *e)
{
	struct icache_entry	**pp;

	for (pp = &c->head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			c->n--;
			break;
		}
	inventory_image_free(&e->img);
	free(e);
}

/* Load one cache file; a damaged one is removed (and will be rescanned). */
static void
icache_load_file(struct inventory_cache *c, const char *name)
{
	char			*path, *buf = NULL;
	size_t			 len;
	int			 fd;
	json_t			*o;
	json_error_t		 jerr;
	struct tm_image		 img;
	struct icache_entry	*e;

	xasprintf(&path, "%s/%s", c->dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1 || safe_read_fd(fd, ICACHE_FILE_MAX, &buf, &len) == -1) {
		log_warn("inventory-cache: %s", path);
		goto out;
	}
	o = json_loadb(buf, len, 0, &jerr);
	if (o == NULL || inventory_image_from_json(json_object_get(o, "image"),
	    &img) == -1 || img.key == NULL || strlen(img.key) >= 80 ||
	    icache_find(c, img.key) != NULL) {
		if (o != NULL && img.key != NULL)
			inventory_image_free(&img);
		log_warnx("inventory-cache: %s: damaged, removed (will rescan)",
		    path);
		unlink(path);
		json_decref(o);
		goto out;
	}
	e = icache_insert(c, img.key);
	e->img = img;
	/* Sent in an earlier run, but not in this one: a collector whose
	 * store was lost or replaced meanwhile would never see it again.
	 * Each image is sent once per run, when a container first uses it. */
	e->emitted = false;
	json_decref(o);
out:
	if (fd != -1)
		close(fd);
	free(buf);
	free(path);
}

int
inventory_cache_open(struct agent *a)
{
	struct inventory_cache	*c;
	DIR			*dp;
	struct dirent		*de;
	size_t			 len;

	c = xcalloc(1, sizeof(*c));
	c->a = a;
	a->icache = c;
	if (a->cfg.state_dir == NULL || a->cfg.state_dir[0] == '\0')
		return 0;	/* memory only */
	xasprintf(&c->dir, "%s/images", a->cfg.state_dir);
	if (mkdir(c->dir, 0700) == -1 && errno != EEXIST) {
		log_warn("inventory-cache: mkdir %s", c->dir);
		free(c->dir);
		c->dir = NULL;
		return -1;
	}
	if ((dp = opendir(c->dir)) == NULL) {
		log_warn("inventory-cache: %s", c->dir);
		return -1;
	}
	while ((de = readdir(dp)) != NULL && c->n < ICACHE_ENTRIES_MAX) {
		len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
			icache_load_file(c, de->d_name);
	}
	closedir(dp);
	log_info("inventory-cache: %zu image inventories loaded from %s",
	    c->n, c->dir);
	return 0;
}

/* Free the cache.  Only once uv_run has returned: no scan is in flight. */
void
inventory_cache_close(struct agent *a)
{
	struct inventory_cache	*c = a->icache;
	struct icache_entry	*e, *next;

	if (c == NULL)
		return;
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		inventory_image_free(&e->img);
		free(e);
	}
	free(c->dir);
	free(c);
	a->icache = NULL;
}

/* Thread pool: open the root and scan it.  Touches only w. */
static void
icache_work(uv_work_t *req)
{
	struct icache_work	*w = req->data;
	struct rootfs		*root;

	if (w->rootdir != NULL)
		root = rootfs_open_dir(w->rootdir);
	else
		root = rootfs_open_layers((const char *const *)w->layers,
		    w->n_layers);
	if (root == NULL) {
		w->status = -1;
		return;
	}
	w->status = inventory_scan_root(root, w->max_file, &w->img);
	rootfs_free(root);
}

static void
icache_work_free(struct icache_work *w)
{
	size_t	i;

	free(w->rootdir);
	for (i = 0; i < w->n_layers; i++)
		free(w->layers[i]);
	free(w->layers);
	free(w->image_id);
	free(w->ref);
	inventory_image_free(&w->img);
	free(w);
}

/* Loop thread: store the result, emit the record once, answer waiters. */
static void
icache_after(uv_work_t *req, int status)
{
	struct icache_work	*w = req->data;
	struct inventory_cache	*c = w->c;
	struct icache_entry	*e = w->e;
	struct agent		*a = c->a;
	struct icache_waiter	*wt, *next;

	e->scanning = 0;
	if (status != 0 || w->status == -1) {
		log_warnx("inventory-cache: %s: scan impossible", e->key);
		for (wt = e->waiters; wt != NULL; wt = next) {
			next = wt->next;
			wt->done(a, e->key, NULL, -1, wt->arg);
			free(wt);
		}
		e->waiters = NULL;
		icache_remove(c, e);
		icache_work_free(w);
		return;
	}
	a->stats.image_scans++;
	a->stats.parse_errors += w->img.errors;
	e->img = w->img;
	memset(&w->img, 0, sizeof(w->img));
	e->img.key = xstrdup(e->key);
	if (w->image_id != NULL)
		e->img.image_id = xstrdup(w->image_id);
	if (w->ref != NULL) {
		e->img.refs = xcalloc(1, sizeof(char *));
		e->img.refs[e->img.n_refs++] = xstrdup(w->ref);
	}
	log_info("inventory-cache: %s: %zu packages, %llu errors, %.1f ms",
	    e->key, e->img.n_packages, (unsigned long long)e->img.errors,
	    (double)e->img.scan_ns / 1e6);
	if (a->out != NULL && agent_emit(a, TM_KIND_IMAGE, &e->img) == 0)
		e->emitted = true;
	icache_save(c, e);
	for (wt = e->waiters; wt != NULL; wt = next) {
		next = wt->next;
		wt->done(a, e->key, &e->img, 0, wt->arg);
		free(wt);
	}
	e->waiters = NULL;
	icache_work_free(w);
}

int
inventory_image_request(struct agent *a, const struct image_source *src,
    inventory_done_cb done, void *arg)
{
	struct inventory_cache	*c = a->icache;
	struct icache_entry	*e;
	struct icache_waiter	*wt;
	struct icache_work	*w;
	char			 key[80];
	size_t			 i;

	if (c == NULL || (src->rootdir == NULL && (src->n_layers == 0 ||
	    src->n_layers > ROOTFS_LAYERS_MAX))) {
		log_warnx("inventory-cache: request without a root");
		return -1;
	}
	inventory_image_key(src, key);
	if ((e = icache_find(c, key)) != NULL) {
		a->stats.image_cache_hits++;
		if (!e->scanning) {
			/* Sent before a restart that lost it?  Send it now. */
			if (!e->emitted && a->out != NULL &&
			    agent_emit(a, TM_KIND_IMAGE, &e->img) == 0) {
				e->emitted = true;
				icache_save(c, e);
			}
			done(a, key, &e->img, 0, arg);
			return 0;
		}
		wt = xcalloc(1, sizeof(*wt));
		wt->done = done;
		wt->arg = arg;
		wt->next = e->waiters;
		e->waiters = wt;
		return 0;
	}
	e = icache_insert(c, key);
	e->scanning = 1;
	wt = xcalloc(1, sizeof(*wt));
	wt->done = done;
	wt->arg = arg;
	e->waiters = wt;
	w = xcalloc(1, sizeof(*w));
	w->req.data = w;
	w->c = c;
	w->e = e;
	w->max_file = a->cfg.inventory_max_file;
	if (src->rootdir != NULL)
		w->rootdir = xstrdup(src->rootdir);
	else {
		w->layers = xcalloc(src->n_layers, sizeof(char *));
		for (i = 0; i < src->n_layers; i++)
			w->layers[i] = xstrdup(src->layers[i]);
		w->n_layers = src->n_layers;
	}
	if (src->image_id != NULL)
		w->image_id = xstrdup(src->image_id);
	if (src->ref != NULL)
		w->ref = xstrdup(src->ref);
	if (uv_queue_work(a->loop, &w->req, icache_work, icache_after) != 0) {
		log_warnx("inventory-cache: uv_queue_work failed");
		e->waiters = NULL;
		free(wt);
		icache_remove(c, e);
		icache_work_free(w);
		return -1;
	}
	return 0;
}
