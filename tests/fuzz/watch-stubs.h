/*
 * watch-stubs.h: the agent around a watcher, for fuzz-docker and
 * fuzz-containerd.  Those targets compile a watcher's source file into
 * themselves (to reach its static event handlers) and link it against
 * these stand-ins for the registry (containers.c) and the watcher table
 * (watch.c), which check what the watcher hands them:
 *   - every observation, listing and task names a container and a
 *     namespace the registry takes (containers_name_ok, linked from
 *     agent/ctr-name.c): the watcher refused and counted the others;
 *   - every metadata wait (containers_meta_wait) of a container gets its
 *     containers_meta_done, and every metadata record handed over encodes
 *     as a container record within the schema's bounds (else the agent
 *     could never send it: a container could hide from the inventory);
 *   - rootfs layers are absolute paths, at most ROOTFS_LAYERS_MAX;
 *   - holds (watch_hold/watch_release) never go negative and are all
 *     released when the watcher has stopped.
 * snapshot.c is linked too (snapshot_k8s_labels); what it needs beyond
 * that is never reached from a watcher and aborts here if it ever is.
 */
#ifndef TALLYMAN_FUZZ_WATCH_STUBS_H
#define TALLYMAN_FUZZ_WATCH_STUBS_H

#include "agent/agent.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_WAITS_MAX	4096
struct fuzz_wait {			/* metadata waits of one container */
	enum ctr_src	 src;
	char		*key;		/* "ns/id" */
	long		 n;
};
struct fuzz_registry {
	struct fuzz_wait waits[FUZZ_WAITS_MAX];
	size_t		 nwaits;
	long		 observed, rootfs, lost, up, listed;
	int		 listing;	/* containers_list_begin .. _end */
};
static struct fuzz_registry reg;

/* The wait counter of (src, ns, id), as containers.c keeps one. */
static struct fuzz_wait *
fuzz_wait_find(enum ctr_src src, const char *ns, const char *id, int create)
{
	char	*key;
	size_t	 i;

	xasprintf(&key, "%s/%s", ns, id);
	for (i = 0; i < reg.nwaits; i++)
		if (reg.waits[i].src == src && strcmp(reg.waits[i].key, key) == 0) {
			free(key);
			return &reg.waits[i];
		}
	if (!create || reg.nwaits == FUZZ_WAITS_MAX) {
		free(key);
		return NULL;
	}
	reg.waits[reg.nwaits].src = src;
	reg.waits[reg.nwaits].key = key;
	reg.waits[reg.nwaits].n = 0;
	return &reg.waits[reg.nwaits++];
}

/* ns and id are names the registry takes. */
static void
fuzz_check_names(const char *what, const char *ns, const char *id)
{
	if (!containers_name_ok(ns) || !containers_name_ok(id))
		fuzz_fail("%s of an unusable name", what);
	fuzz_touch(ns);
	fuzz_touch(id);
}

static void
fuzz_check_meta(const char *ns, const char *id, struct tm_container *m)
{
	static const char *const states[] = { "created", "running", "exited" };
	struct tm_record	 r;
	msgpack_sbuffer		 sb;
	int			 rc;

	if (m->id == NULL || strcmp(m->id, id) != 0)
		fuzz_fail("metadata for %s carries id %s", id,
		    m->id != NULL ? m->id : "(null)");
	/* What snapshot_build adds: the registry's state and trigger. */
	memset(&r, 0, sizeof(r));
	r.version = TM_SCHEMA_MAJOR;
	r.host_id = (char *)(uintptr_t)"fuzz";
	r.seq = 1;
	r.sent_ns = 1;
	r.kind = TM_KIND_CONTAINER;
	r.body.container = *m;
	if (r.body.container.runtime == NULL)
		r.body.container.runtime = (char *)(uintptr_t)"containerd";
	if (r.body.container.state == NULL)
		r.body.container.state =
		    (char *)(uintptr_t)states[strlen(id) % 3];
	r.body.container.trigger = (char *)(uintptr_t)"start";
	msgpack_sbuffer_init(&sb);
	rc = tm_encode(&r, &sb);
	msgpack_sbuffer_destroy(&sb);
	if (rc == -1) {
		log_set_level(LOG_LEVEL_WARN);
		msgpack_sbuffer_init(&sb);
		tm_encode(&r, &sb);		/* logs which field */
		msgpack_sbuffer_destroy(&sb);
		fuzz_fail("metadata of %s/%s does not encode: the container's "
		    "records would be lost", ns, id);
	}
}

void
containers_observe(struct agent *a, const struct ctr_obs *o)
{
	fuzz_check_names("observation", o->ns, o->id);
	if ((unsigned)o->act >= CTR_ACT_MAX || (unsigned)o->src >= CTR_SRC_MAX)
		fuzz_fail("observation with action %d", (int)o->act);
	fuzz_touch(o->exec_id);
	fuzz_touch(o->name);
	fuzz_touch(o->image);
	reg.observed++;
}

void
containers_meta_wait(struct agent *a, enum ctr_src src, const char *ns,
    const char *id)
{
	struct fuzz_wait *fw;

	if (ns == NULL || id == NULL)
		fuzz_fail("metadata wait without namespace or id");
	if ((fw = fuzz_wait_find(src, ns, id, 1)) != NULL)
		fw->n++;
}

void
containers_meta_done(struct agent *a, enum ctr_src src, const char *ns,
    const char *id, struct tm_container *meta, bool listed)
{
	struct fuzz_wait *fw;

	if (ns == NULL || id == NULL)
		fuzz_fail("metadata without namespace or id");
	/* An answer nobody waited for is fine (a listing's); a wait must
	 * get its answer. */
	if ((fw = fuzz_wait_find(src, ns, id, 0)) != NULL && fw->n > 0)
		fw->n--;
	if (meta != NULL) {
		fuzz_check_meta(ns, id, meta);
		/* the registry takes the members */
		tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), meta);
		memset(meta, 0, sizeof(*meta));
	}
}

void
containers_set_rootfs(struct agent *a, const char *ns, const char *id,
    char **layers, size_t n_layers, bool upper)
{
	size_t	i;

	if (n_layers > ROOTFS_LAYERS_MAX + 1)
		fuzz_fail("%zu layers", n_layers);
	for (i = 0; i < n_layers; i++) {
		if (layers[i] == NULL || layers[i][0] != '/')
			fuzz_fail("layer %zu is not an absolute path", i);
		fuzz_touch(layers[i]);
		free(layers[i]);
	}
	free(layers);
	reg.rootfs++;
}

/* TaskCreate's init pid (helper `watch`): a named container, a pid. */
void
containers_task_created(struct agent *a, const char *ns, const char *id,
    uint32_t pid)
{
	fuzz_check_names("task", ns, id);
	reg.observed++;
}

void
containers_list_begin(struct agent *a, enum ctr_src src, bool reconcile)
{
	reg.listing = 1;
}

void
containers_listed(struct agent *a, enum ctr_src src, const char *ns,
    const char *id)
{
	if (!reg.listing)
		fuzz_fail("containers_listed outside a listing");
	fuzz_check_names("listing", ns, id);
}

void
containers_list_end(struct agent *a, enum ctr_src src)
{
	if (!reg.listing)
		fuzz_fail("containers_list_end without a begin");
	reg.listing = 0;
}

void
watch_up(struct watch *w)
{
	w->up = true;
	reg.up++;
}

void
watch_lost(struct watch *w, const char *why)
{
	fuzz_touch(why);
	w->up = false;
	reg.lost++;
}

void
watch_listed(struct watch *w)
{
	w->listed = true;
	reg.listed++;
}

void
watch_hold(struct watch *w)
{
	w->holds++;
}

void
watch_release(struct watch *w)
{
	if (w->holds == 0)
		fuzz_fail("watch_release without a hold");
	w->holds--;
}

/* Beyond snapshot_k8s_labels, snapshot.c needs these: never from a watcher. */
#define FUZZ_UNREACHABLE(name) fuzz_fail("%s reached from a watcher", name)
void
containers_scan_done(struct agent *a, struct ctr_rec *c, struct proc_scan *ps)
{
	FUZZ_UNREACHABLE("containers_scan_done");
}
int
proc_scan_run(struct proc_scan *ps)
{
	FUZZ_UNREACHABLE("proc_scan_run");
}
void
proc_scan_free(struct proc_scan *ps)
{
	FUZZ_UNREACHABLE("proc_scan_free");
}
struct drift *
drift_new(const char *upperdir, const char *const *lowers, size_t n_lowers)
{
	FUZZ_UNREACHABLE("drift_new");
}
void
drift_free(struct drift *d)
{
	FUZZ_UNREACHABLE("drift_free");
}
int
drift_request(struct agent *a, struct drift *d, const char *runtime,
    const char *ns, const char *id, const char *image_key, const char *when,
    drift_done_cb done, void *arg)
{
	FUZZ_UNREACHABLE("drift_request");
}
int
inventory_image_request(struct agent *a, const struct image_source *src,
    inventory_done_cb done, void *arg)
{
	FUZZ_UNREACHABLE("inventory_image_request");
}
void
inventory_image_key(const struct image_source *src, char out[80])
{
	FUZZ_UNREACHABLE("inventory_image_key");
}

/* After the watcher stopped: nothing held, every wait answered. */
static void
fuzz_registry_check_end(const struct watch *w)
{
	size_t	i;

	log_debug("fuzz: %ld observations, %ld rootfs, %zu containers waited "
	    "for, up %ld, lost %ld, listed %ld", reg.observed, reg.rootfs,
	    reg.nwaits, reg.up, reg.lost, reg.listed);
	if (w->holds != 0)
		fuzz_fail("%u holds left after stop", w->holds);
	for (i = 0; i < reg.nwaits; i++) {
		if (reg.waits[i].n != 0)
			fuzz_fail("%ld metadata waits for %s never answered: the "
			    "registry would hold its records forever",
			    reg.waits[i].n, reg.waits[i].key);
		free(reg.waits[i].key);
	}
	memset(&reg, 0, sizeof(reg));
}

#endif /* TALLYMAN_FUZZ_WATCH_STUBS_H */
