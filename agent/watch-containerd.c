/*
 * watch-containerd.c: containerd's gRPC API over its unix socket (grpc.c),
 * with the messages of agent/proto/containerd.proto.
 *
 *   1. Version: the daemon's version.
 *   2. Events/Subscribe, across every namespace, kept open: the /tasks/...
 *      and /containers/... topics, and our own /tallyman/sync.
 *   3. A gRPC server sends a stream's headers only with its first message,
 *      so we cannot see when the subscription is live.  We publish a sync
 *      event (namespace "tallyman", a fresh nonce) and wait for it to come
 *      back through our own stream; from then on nothing can fall between
 *      the subscription and the listing.  (Publishing is repeated a few
 *      times in case it overtook the subscription.)
 *   4. Namespaces/List, then Containers/List and Tasks/List in each: the
 *      containers that already exist.  containerd has no event replay, so
 *      after a reconnection this listing is the reconciliation.
 *   Events: /containers/create is followed by Containers/Get (labels,
 *   image, the OCI spec) and Images/Get (the image's digest); /tasks/create
 *   carries the rootfs mounts (overlay layers); /tasks/start the pid, read
 *   at once; /tasks/exit the exit status; /tasks/exec-started an exec's pid.
 *
 * Docker's containers appear here in namespace "moby": the registry merges
 * them with Docker's own view.  Every message is bounded and unpacked with
 * protobuf-c, which rejects malformed input; the OCI spec is bounded JSON.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "agent/agent.h"
#include "agent/proto/containerd.pb-c.h"

#define CTRD_MSG_MAX		(4u * 1024 * 1024)	/* one event, one Get */
#define CTRD_LIST_MAX		(64u * 1024 * 1024)	/* a whole list */
#define CTRD_SPEC_MAX		(1024u * 1024)		/* OCI spec JSON */
#define CTRD_NS_MAX		1024u
#define CTRD_CALL_MS		30000L
#define CTRD_SYNC_NS		"tallyman"
#define CTRD_SYNC_TOPIC		"/tallyman/sync"
#define CTRD_SYNC_TRIES		25
#define CTRD_SYNC_EVERY_MS	200u

#define SVC_VERSION	"/containerd.services.version.v1.Version/Version"
#define SVC_SUBSCRIBE	"/containerd.services.events.v1.Events/Subscribe"
#define SVC_PUBLISH	"/containerd.services.events.v1.Events/Publish"
#define SVC_NAMESPACES	"/containerd.services.namespaces.v1.Namespaces/List"
#define SVC_CONTAINERS	"/containerd.services.containers.v1.Containers/List"
#define SVC_CONTAINER	"/containerd.services.containers.v1.Containers/Get"
#define SVC_TASKS	"/containerd.services.tasks.v1.Tasks/List"
#define SVC_IMAGE	"/containerd.services.images.v1.Images/Get"

struct ctrd_call;

struct ctrd {
	struct watch	*w;
	unsigned	 conn;
	struct ctrd_call *calls;	/* in flight */
	struct ctrd_call *sub;		/* the Subscribe stream */
	bool		 synced;
	char		 nonce[48];
	int		 sync_tries;
	uv_timer_t	 sync_timer;
	bool		 timer_open;
	unsigned	 list_pending;	/* namespace list calls */
	bool		 list_failed;
	bool		 detached;
	struct ctrd_img	*imgs;		/* image digests seen */
};

struct ctrd_img {
	char		*ns, *name, *digest;
	struct ctrd_img	*next;
};

enum ctrd_kind {
	CK_VERSION, CK_SUBSCRIBE, CK_PUBLISH, CK_NAMESPACES, CK_CONTAINERS,
	CK_TASKS, CK_GET, CK_IMAGE
};

struct ctrd_call {
	struct ctrd	*d;
	unsigned	 conn;
	enum ctrd_kind	 kind;
	struct grpc_call *gc;
	char		*ns;
	char		*id;
	struct tm_container *meta;	/* CK_IMAGE: waiting for the digest */
	bool		 listed;
	bool		 got;		/* a message arrived */
	struct ctrd_call *prev, *next;
};

static void	ctrd_list(struct ctrd *);
static void	ctrd_sync_publish(struct ctrd *);

static uint64_t
ctrd_ts(const Tallyman__Ctrd__Timestamp *t)
{
	/* beyond 2262 the ns no longer fit the record's int64: unknown */
	if (t == NULL || t->seconds <= 0 || t->nanos < 0 || t->nanos >= 1000000000 ||
	    t->seconds > (INT64_MAX - 999999999) / 1000000000)
		return 0;
	return (uint64_t)t->seconds * 1000000000ull + (uint64_t)t->nanos;
}

static void
ctrd_free_if_idle(struct ctrd *d)
{
	struct ctrd_img *i;

	if (!d->detached || d->calls != NULL || d->timer_open)
		return;
	while ((i = d->imgs) != NULL) {
		d->imgs = i->next;
		free(i->ns);
		free(i->name);
		free(i->digest);
		free(i);
	}
	free(d);
}

static void
ctrd_call_unlink(struct ctrd *d, struct ctrd_call *k)
{
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		d->calls = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
}

static void
ctrd_call_free(struct ctrd_call *k)
{
	if (k->meta != NULL) {
		tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), k->meta);
		free(k->meta);
	}
	free(k->ns);
	free(k->id);
	free(k);
}

static int	ctrd_on_msg(struct grpc_call *, const uint8_t *, size_t, void *);
static void	ctrd_on_done(struct grpc_call *, int, const char *, void *);

/* Start a call of kind; NULL if it could not be started. */
static struct ctrd_call *
ctrd_call(struct ctrd *d, enum ctrd_kind kind, const char *method,
    const char *ns, const char *id, const ProtobufCMessage *req, size_t max,
    long timeout_ms)
{
	struct ctrd_call *k;

	k = xcalloc(1, sizeof(*k));
	k->d = d;
	k->conn = d->conn;
	k->kind = kind;
	k->ns = ns != NULL ? xstrdup(ns) : NULL;
	k->id = id != NULL ? xstrdup(id) : NULL;
	k->gc = grpc_call_start(d->w->curl, d->w->socket, method, ns, req,
	    max, timeout_ms, ctrd_on_msg, ctrd_on_done, k);
	if (k->gc == NULL) {
		ctrd_call_free(k);
		return NULL;
	}
	k->next = d->calls;
	if (d->calls != NULL)
		d->calls->prev = k;
	d->calls = k;
	watch_hold(d->w);
	return k;
}

/* The connection is unusable: cancel everything and let watch.c retry. */
static void
ctrd_fail(struct ctrd *d, const char *why)
{
	struct ctrd_call *k, *next;

	d->conn++;
	d->synced = false;
	d->sub = NULL;
	if (d->timer_open)
		uv_timer_stop(&d->sync_timer);
	for (k = d->calls; k != NULL; k = next) {
		next = k->next;
		if (k->kind == CK_GET || k->kind == CK_IMAGE) {
			/* the registry is waiting for these */
			continue;
		}
		grpc_call_cancel(k->gc);
		ctrd_call_unlink(d, k);
		ctrd_call_free(k);
		watch_release(d->w);
	}
	watch_lost(d->w, why);
}

/* ---- metadata: Containers/Get and Images/Get ---- */

/* The container's record from containerd's Container message. */
static void
ctrd_meta(struct ctrd *d, const char *ns, const Tallyman__Ctrd__Container *c,
    struct tm_container *m)
{
	json_error_t err;
	json_t *spec;
	size_t i;

	m->runtime = xstrdup(strcmp(ns, CTR_DOCKER_NS) == 0 ? "docker" :
	    "containerd");
	m->ns = xstrdup(ns);
	m->id = xstrdup(c->id);
	if (c->image != NULL && c->image[0] != '\0' &&
	    strlen(c->image) <= TM_STR_MAX)
		m->image_ref = xstrdup(c->image);
	m->created_ns = ctrd_ts(c->created_at);
	for (i = 0; i < c->n_labels && m->n_labels < 1024; i++) {
		if (c->labels[i]->key == NULL || c->labels[i]->value == NULL ||
		    strlen(c->labels[i]->key) > TM_STR_SHORT ||
		    strlen(c->labels[i]->value) > TM_STR_MAX)
			continue;
		m->labels = xreallocarray(m->labels, m->n_labels + 1,
		    sizeof(*m->labels));
		m->labels[m->n_labels].k = xstrdup(c->labels[i]->key);
		m->labels[m->n_labels].v = xstrdup(c->labels[i]->value);
		m->n_labels++;
	}
	snapshot_k8s_labels(m);
	if (c->spec == NULL || c->spec->value.len == 0)
		return;
	if (c->spec->value.len > CTRD_SPEC_MAX) {
		log_warnx("watch-containerd: %s/%.12s: OCI spec over %u bytes "
		    "ignored", ns, c->id, CTRD_SPEC_MAX);
		d->w->rejects++;
		return;
	}
	spec = json_loadb((const char *)c->spec->value.data, c->spec->value.len,
	    0, &err);
	if (spec == NULL || spec_oci_parse(spec, m) == -1) {
		log_warnx("watch-containerd: %s/%.12s: malformed OCI spec "
		    "rejected", ns, c->id);
		d->w->rejects++;
	}
	json_decref(spec);
}

static const char *
ctrd_img_find(struct ctrd *d, const char *ns, const char *name)
{
	struct ctrd_img *i;

	for (i = d->imgs; i != NULL; i = i->next)
		if (strcmp(i->ns, ns) == 0 && strcmp(i->name, name) == 0)
			return i->digest;
	return NULL;
}

static void
ctrd_img_add(struct ctrd *d, const char *ns, const char *name,
    const char *digest)
{
	struct ctrd_img *i;

	if (ctrd_img_find(d, ns, name) != NULL)
		return;
	i = xcalloc(1, sizeof(*i));
	i->ns = xstrdup(ns);
	i->name = xstrdup(name);
	i->digest = xstrdup(digest);
	i->next = d->imgs;
	d->imgs = i;
}

/*
 * Hand meta to the registry, with its image digest: known, or asked for
 * (Images/Get) first.  Takes meta.
 */
static void
ctrd_meta_finish(struct ctrd *d, const char *ns, const char *id,
    struct tm_container *meta, bool listed, bool waited)
{
	Tallyman__Ctrd__GetImageRequest req = TALLYMAN__CTRD__GET_IMAGE_REQUEST__INIT;
	struct ctrd_call *k;
	const char *dig;

	if (meta->image_ref != NULL && meta->image_digest == NULL) {
		if ((dig = ctrd_img_find(d, ns, meta->image_ref)) != NULL) {
			meta->image_digest = xstrdup(dig);
		} else {
			req.name = meta->image_ref;
			if (!waited)
				containers_meta_wait(d->w->a, CTR_SRC_CONTAINERD,
				    ns, id);
			k = ctrd_call(d, CK_IMAGE, SVC_IMAGE, ns, id, &req.base,
			    CTRD_MSG_MAX, CTRD_CALL_MS);
			if (k != NULL) {
				k->meta = xmalloc(sizeof(*k->meta));
				*k->meta = *meta;
				memset(meta, 0, sizeof(*meta));
				k->listed = listed;
				return;
			}
			if (!waited) {
				/* not asked: hand it over without a digest */
				containers_meta_done(d->w->a, CTR_SRC_CONTAINERD,
				    ns, id, meta, listed);
				tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), meta);
				return;
			}
		}
	}
	containers_meta_done(d->w->a, CTR_SRC_CONTAINERD, ns, id, meta, listed);
	tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), meta);
}

/* Containers/Get for (ns, id): the registry waits for it. */
static void
ctrd_get(struct ctrd *d, const char *ns, const char *id)
{
	Tallyman__Ctrd__GetContainerRequest req =
	    TALLYMAN__CTRD__GET_CONTAINER_REQUEST__INIT;

	req.id = (char *)(uintptr_t)id;
	containers_meta_wait(d->w->a, CTR_SRC_CONTAINERD, ns, id);
	if (ctrd_call(d, CK_GET, SVC_CONTAINER, ns, id, &req.base, CTRD_MSG_MAX,
	    CTRD_CALL_MS) == NULL)
		containers_meta_done(d->w->a, CTR_SRC_CONTAINERD, ns, id, NULL,
		    false);
}

/* ---- events ---- */

/* TaskCreate's rootfs: an overlay mount's upperdir and lowerdirs. */
static void
ctrd_rootfs(struct ctrd *d, const char *ns, const Tallyman__Ctrd__TaskCreate *t)
{
	Tallyman__Ctrd__Mount *m;
	const char *upper = NULL, *lower = NULL, *p, *colon;
	char **layers = NULL;
	size_t n = 0, i;

	if (t->n_rootfs != 1 || (m = t->rootfs[0])->type == NULL ||
	    strcmp(m->type, "overlay") != 0)
		return;
	for (i = 0; i < m->n_options; i++) {
		if (strncmp(m->options[i], "upperdir=", 9) == 0)
			upper = m->options[i] + 9;
		else if (strncmp(m->options[i], "lowerdir=", 9) == 0)
			lower = m->options[i] + 9;
	}
	if (lower == NULL || lower[0] != '/')
		return;
	if (upper != NULL && upper[0] == '/' && strlen(upper) < TM_STR_MAX) {
		layers = xcalloc(1, sizeof(*layers));
		layers[n++] = xstrdup(upper);
	} else
		upper = NULL;
	for (p = lower; *p != '\0' && n < ROOTFS_LAYERS_MAX; ) {
		if ((colon = strchr(p, ':')) == NULL)
			colon = p + strlen(p);
		if (p[0] == '/' && (size_t)(colon - p) < TM_STR_MAX) {
			layers = xreallocarray(layers, n + 1, sizeof(*layers));
			layers[n++] = xstrndup(p, (size_t)(colon - p));
		}
		p = *colon == ':' ? colon + 1 : colon;
	}
	containers_set_rootfs(d->w->a, ns, t->container_id, layers, n,
	    upper != NULL);
}

#define UNPACK(type, fn) \
	((type *)(void *)protobuf_c_message_unpack(&fn, NULL, ev->value.len, \
	    ev->value.data))

static void
ctrd_event(struct ctrd *d, const Tallyman__Ctrd__Envelope *e)
{
	const Tallyman__Ctrd__Any *ev = e->event;
	const char *topic = e->topic, *ns = e->namespace_;
	ProtobufCMessage *msg = NULL;
	struct ctr_obs o;
	Tallyman__Ctrd__ContainerCreate *cc;
	Tallyman__Ctrd__ContainerDelete *cd;
	Tallyman__Ctrd__ContainerUpdate *cu;
	Tallyman__Ctrd__TaskCreate *tc;
	Tallyman__Ctrd__TaskStart *ts;
	Tallyman__Ctrd__TaskExit *te;
	Tallyman__Ctrd__TaskDelete *td;
	Tallyman__Ctrd__TaskOOM *to;
	Tallyman__Ctrd__TaskExecStarted *tx;
	Tallyman__Ctrd__TaskPaused *tp;

	if (topic == NULL || !containers_name_ok(ns) || ev == NULL)
		goto bad;
	if (strcmp(topic, CTRD_SYNC_TOPIC) == 0) {
		if (!d->synced && strcmp(ns, CTRD_SYNC_NS) == 0 &&
		    ev->value.len == strlen(d->nonce) &&
		    memcmp(ev->value.data, d->nonce, ev->value.len) == 0) {
			d->synced = true;
			uv_timer_stop(&d->sync_timer);
			watch_up(d->w);
			ctrd_list(d);
		}
		return;
	}
	d->w->events++;
	memset(&o, 0, sizeof(o));
	o.src = CTR_SRC_CONTAINERD;
	o.ns = ns;
	o.time_ns = ctrd_ts(e->timestamp);
	if (strcmp(topic, "/containers/create") == 0) {
		if ((cc = UNPACK(Tallyman__Ctrd__ContainerCreate,
		    tallyman__ctrd__container_create__descriptor)) == NULL)
			goto bad;
		msg = &cc->base;
		if (!containers_name_ok(cc->id))
			goto reject;
		o.id = cc->id;
		o.act = CTR_ACT_CREATE;
		o.image = cc->image != NULL && cc->image[0] != '\0' ? cc->image : NULL;
		containers_observe(d->w->a, &o);
		ctrd_get(d, ns, cc->id);
	} else if (strcmp(topic, "/containers/update") == 0) {
		if ((cu = UNPACK(Tallyman__Ctrd__ContainerUpdate,
		    tallyman__ctrd__container_update__descriptor)) == NULL)
			goto bad;
		msg = &cu->base;
		if (!containers_name_ok(cu->id))
			goto reject;
		ctrd_get(d, ns, cu->id);
	} else if (strcmp(topic, "/containers/delete") == 0) {
		if ((cd = UNPACK(Tallyman__Ctrd__ContainerDelete,
		    tallyman__ctrd__container_delete__descriptor)) == NULL)
			goto bad;
		msg = &cd->base;
		if (!containers_name_ok(cd->id))
			goto reject;
		o.id = cd->id;
		o.act = CTR_ACT_DELETE;
		containers_observe(d->w->a, &o);
	} else if (strcmp(topic, "/tasks/create") == 0) {
		if ((tc = UNPACK(Tallyman__Ctrd__TaskCreate,
		    tallyman__ctrd__task_create__descriptor)) == NULL)
			goto bad;
		msg = &tc->base;
		if (!containers_name_ok(tc->container_id))
			goto reject;
		ctrd_rootfs(d, ns, tc);
		containers_task_created(d->w->a, ns, tc->container_id, tc->pid);
	} else if (strcmp(topic, "/tasks/start") == 0) {
		if ((ts = UNPACK(Tallyman__Ctrd__TaskStart,
		    tallyman__ctrd__task_start__descriptor)) == NULL)
			goto bad;
		msg = &ts->base;
		if (!containers_name_ok(ts->container_id))
			goto reject;
		o.id = ts->container_id;
		o.act = CTR_ACT_START;
		o.pid = ts->pid;
		containers_observe(d->w->a, &o);
	} else if (strcmp(topic, "/tasks/exit") == 0) {
		if ((te = UNPACK(Tallyman__Ctrd__TaskExit,
		    tallyman__ctrd__task_exit__descriptor)) == NULL)
			goto bad;
		msg = &te->base;
		if (!containers_name_ok(te->container_id))
			goto reject;
		/* an exec's exit is not the container's */
		if (te->id != NULL && te->id[0] != '\0' &&
		    strcmp(te->id, te->container_id) != 0)
			goto out;
		o.id = te->container_id;
		o.act = CTR_ACT_EXIT;
		o.pid = te->pid;	/* the run's own process: its exit */
		o.has_exit = true;
		o.exit_code = te->exit_status;
		if (ctrd_ts(te->exited_at) != 0)
			o.time_ns = ctrd_ts(te->exited_at);
		containers_observe(d->w->a, &o);
	} else if (strcmp(topic, "/tasks/delete") == 0) {
		if ((td = UNPACK(Tallyman__Ctrd__TaskDelete,
		    tallyman__ctrd__task_delete__descriptor)) == NULL)
			goto bad;
		msg = &td->base;
		if (!containers_name_ok(td->container_id))
			goto reject;
		if (td->id != NULL && td->id[0] != '\0' &&
		    strcmp(td->id, td->container_id) != 0)
			goto out;
		/* the run is over (an exit we may have missed) */
		o.id = td->container_id;
		o.act = CTR_ACT_EXIT;
		o.pid = td->pid;
		o.has_exit = true;
		o.exit_code = td->exit_status;
		if (ctrd_ts(td->exited_at) != 0)
			o.time_ns = ctrd_ts(td->exited_at);
		containers_observe(d->w->a, &o);
	} else if (strcmp(topic, "/tasks/oom") == 0) {
		if ((to = UNPACK(Tallyman__Ctrd__TaskOOM,
		    tallyman__ctrd__task_oom__descriptor)) == NULL)
			goto bad;
		msg = &to->base;
		if (!containers_name_ok(to->container_id))
			goto reject;
		o.id = to->container_id;
		o.act = CTR_ACT_OOM;
		containers_observe(d->w->a, &o);
	} else if (strcmp(topic, "/tasks/exec-started") == 0) {
		if ((tx = UNPACK(Tallyman__Ctrd__TaskExecStarted,
		    tallyman__ctrd__task_exec_started__descriptor)) == NULL)
			goto bad;
		msg = &tx->base;
		if (!containers_name_ok(tx->container_id))
			goto reject;
		o.id = tx->container_id;
		o.act = CTR_ACT_EXEC;
		o.exec_id = tx->exec_id;
		o.pid = tx->pid;
		containers_observe(d->w->a, &o);
	} else if (strcmp(topic, "/tasks/paused") == 0 ||
	    strcmp(topic, "/tasks/resumed") == 0) {
		if ((tp = UNPACK(Tallyman__Ctrd__TaskPaused,
		    tallyman__ctrd__task_paused__descriptor)) == NULL)
			goto bad;
		msg = &tp->base;
		if (!containers_name_ok(tp->container_id))
			goto reject;
		o.id = tp->container_id;
		o.act = topic[7] == 'p' ? CTR_ACT_PAUSE : CTR_ACT_UNPAUSE;
		containers_observe(d->w->a, &o);
	}
out:
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
	return;
bad:
	log_warnx("watch-containerd: malformed %s event rejected",
	    topic != NULL ? topic : "(no topic)");
	d->w->rejects++;
	return;
reject:
	log_warnx("watch-containerd: %s event without a usable container id "
	    "rejected", topic);
	d->w->rejects++;
	goto out;
}

#undef UNPACK

/* ---- listing ---- */

static void
ctrd_list_containers(struct ctrd *d, const char *ns, const uint8_t *buf,
    size_t len)
{
	Tallyman__Ctrd__ListContainersResponse *r;
	struct tm_container meta;
	size_t i;

	if ((r = tallyman__ctrd__list_containers_response__unpack(NULL, len,
	    buf)) == NULL) {
		d->w->rejects++;
		d->list_failed = true;
		return;
	}
	for (i = 0; i < r->n_containers; i++) {
		if (!containers_name_ok(r->containers[i]->id)) {
			d->w->rejects++;
			continue;
		}
		containers_listed(d->w->a, CTR_SRC_CONTAINERD, ns,
		    r->containers[i]->id);
		memset(&meta, 0, sizeof(meta));
		ctrd_meta(d, ns, r->containers[i], &meta);
		ctrd_meta_finish(d, ns, r->containers[i]->id, &meta, true, false);
	}
	tallyman__ctrd__list_containers_response__free_unpacked(r, NULL);
}

static void
ctrd_list_tasks(struct ctrd *d, const char *ns, const uint8_t *buf, size_t len)
{
	Tallyman__Ctrd__ListTasksResponse *r;
	Tallyman__Ctrd__Process *p;
	struct ctr_obs o;
	size_t i;

	if ((r = tallyman__ctrd__list_tasks_response__unpack(NULL, len, buf)) == NULL) {
		d->w->rejects++;
		d->list_failed = true;
		return;
	}
	for (i = 0; i < r->n_tasks; i++) {
		p = r->tasks[i];
		/* Tasks/List names an init process by id, leaving container_id
		 * empty (containerd 1.6); later versions may fill both. */
		memset(&o, 0, sizeof(o));
		o.id = p->container_id != NULL && p->container_id[0] != '\0' ?
		    p->container_id : p->id;
		if (!containers_name_ok(o.id)) {
			d->w->rejects++;
			continue;
		}
		o.src = CTR_SRC_CONTAINERD;
		o.ns = ns;
		o.listed = true;
		o.act = CTR_ACT_START;
		o.pid = p->pid;
		if (p->status == TALLYMAN__CTRD__TASK_STATUS__CREATED)
			continue;	/* not started yet: its start event comes */
		containers_observe(d->w->a, &o);
		if (p->status == TALLYMAN__CTRD__TASK_STATUS__STOPPED) {
			o.act = CTR_ACT_EXIT;
			o.pid = 0;
			o.has_exit = true;
			o.exit_code = p->exit_status;
			o.time_ns = ctrd_ts(p->exited_at);
			containers_observe(d->w->a, &o);
		}
	}
	tallyman__ctrd__list_tasks_response__free_unpacked(r, NULL);
}

static void
ctrd_list_one_done(struct ctrd *d)
{
	if (--d->list_pending > 0)
		return;
	if (!d->list_failed)
		containers_list_end(d->w->a, CTR_SRC_CONTAINERD);
	watch_listed(d->w);
}

static void
ctrd_list_namespaces(struct ctrd *d, const uint8_t *buf, size_t len)
{
	Tallyman__Ctrd__ListNamespacesResponse *r;
	Tallyman__Ctrd__ListContainersRequest creq =
	    TALLYMAN__CTRD__LIST_CONTAINERS_REQUEST__INIT;
	Tallyman__Ctrd__ListTasksRequest treq = TALLYMAN__CTRD__LIST_TASKS_REQUEST__INIT;
	const char *ns;
	size_t i;

	if ((r = tallyman__ctrd__list_namespaces_response__unpack(NULL, len,
	    buf)) == NULL) {
		d->w->rejects++;
		ctrd_fail(d, "malformed namespace list");
		return;
	}
	containers_list_begin(d->w->a, CTR_SRC_CONTAINERD, d->w->generation > 1);
	d->list_failed = false;
	d->list_pending = 1;		/* held until every call is started */
	for (i = 0; i < r->n_namespaces && i < CTRD_NS_MAX; i++) {
		ns = r->namespaces[i]->name;
		if (!containers_name_ok(ns) || strcmp(ns, CTRD_SYNC_NS) == 0)
			continue;
		if (ctrd_call(d, CK_CONTAINERS, SVC_CONTAINERS, ns, NULL,
		    &creq.base, CTRD_LIST_MAX, CTRD_CALL_MS) != NULL)
			d->list_pending++;
		else
			d->list_failed = true;
		if (ctrd_call(d, CK_TASKS, SVC_TASKS, ns, NULL, &treq.base,
		    CTRD_LIST_MAX, CTRD_CALL_MS) != NULL)
			d->list_pending++;
		else
			d->list_failed = true;
	}
	tallyman__ctrd__list_namespaces_response__free_unpacked(r, NULL);
	ctrd_list_one_done(d);
}

static void
ctrd_list(struct ctrd *d)
{
	Tallyman__Ctrd__ListNamespacesRequest req =
	    TALLYMAN__CTRD__LIST_NAMESPACES_REQUEST__INIT;

	if (ctrd_call(d, CK_NAMESPACES, SVC_NAMESPACES, NULL, NULL, &req.base,
	    CTRD_MSG_MAX, CTRD_CALL_MS) == NULL)
		ctrd_fail(d, "cannot list namespaces");
}

/* ---- call results ---- */

static int
ctrd_on_msg(struct grpc_call *gc, const uint8_t *buf, size_t len, void *arg)
{
	struct ctrd_call *k = arg;
	struct ctrd *d = k->d;
	Tallyman__Ctrd__Envelope *e;
	Tallyman__Ctrd__VersionResponse *v;
	Tallyman__Ctrd__GetContainerResponse *g;
	Tallyman__Ctrd__GetImageResponse *gi;
	struct tm_container meta;

	k->got = true;
	if (d->detached)
		return -1;
	if (k->conn != d->conn && k->kind != CK_GET && k->kind != CK_IMAGE)
		return -1;
	switch (k->kind) {
	case CK_VERSION:
		if ((v = tallyman__ctrd__version_response__unpack(NULL, len, buf)) == NULL)
			return -1;
		snprintf(d->w->version, sizeof(d->w->version), "%s",
		    v->version != NULL && strlen(v->version) < sizeof(d->w->version) ?
		    v->version : "");
		tallyman__ctrd__version_response__free_unpacked(v, NULL);
		break;
	case CK_SUBSCRIBE:
		if ((e = tallyman__ctrd__envelope__unpack(NULL, len, buf)) == NULL) {
			log_warnx("watch-containerd: malformed envelope rejected");
			d->w->rejects++;
			break;		/* one bad message does not end the stream */
		}
		ctrd_event(d, e);
		tallyman__ctrd__envelope__free_unpacked(e, NULL);
		break;
	case CK_NAMESPACES:
		ctrd_list_namespaces(d, buf, len);
		break;
	case CK_CONTAINERS:
		ctrd_list_containers(d, k->ns, buf, len);
		break;
	case CK_TASKS:
		ctrd_list_tasks(d, k->ns, buf, len);
		break;
	case CK_GET:
		/* a unary answer is one message: a second would replace (leak)
		 * the first's metadata */
		if (k->meta != NULL) {
			d->w->rejects++;
			return -1;
		}
		if ((g = tallyman__ctrd__get_container_response__unpack(NULL, len,
		    buf)) == NULL || g->container == NULL || g->container->id == NULL ||
		    strcmp(g->container->id, k->id) != 0) {
			if (g != NULL)
				tallyman__ctrd__get_container_response__free_unpacked(g, NULL);
			d->w->rejects++;
			return -1;
		}
		memset(&meta, 0, sizeof(meta));
		ctrd_meta(d, k->ns, g->container, &meta);
		tallyman__ctrd__get_container_response__free_unpacked(g, NULL);
		/* the registry's wait moves on to the image lookup */
		k->meta = xmalloc(sizeof(*k->meta));
		*k->meta = meta;
		break;
	case CK_IMAGE:
		gi = tallyman__ctrd__get_image_response__unpack(NULL, len, buf);
		if (gi != NULL && gi->image != NULL && gi->image->target != NULL &&
		    gi->image->target->digest != NULL &&
		    strlen(gi->image->target->digest) <= TM_STR_SHORT &&
		    k->meta != NULL && k->meta->image_digest == NULL) {
			k->meta->image_digest = xstrdup(gi->image->target->digest);
			if (k->meta->image_ref != NULL)
				ctrd_img_add(d, k->ns, k->meta->image_ref,
				    gi->image->target->digest);
		}
		if (gi != NULL)
			tallyman__ctrd__get_image_response__free_unpacked(gi, NULL);
		break;
	default:
		break;
	}
	return 0;
}

static void
ctrd_on_done(struct grpc_call *gc, int status, const char *why, void *arg)
{
	struct ctrd_call *k = arg;
	struct ctrd *d = k->d;
	struct watch *w = d->w;
	struct tm_container *meta;
	bool current = k->conn == d->conn;
	char msg[320];

	ctrd_call_unlink(d, k);
	if (d->detached) {
		if (k->kind == CK_GET || k->kind == CK_IMAGE)
			containers_meta_done(w->a, CTR_SRC_CONTAINERD, k->ns,
			    k->id, NULL, k->listed);
		ctrd_call_free(k);
		ctrd_free_if_idle(d);
		watch_release(w);
		return;
	}
	switch (k->kind) {
	case CK_VERSION:
		if (!current)
			break;
		if (status != 0) {
			snprintf(msg, sizeof(msg), "Version: %s", why);
			ctrd_fail(d, msg);
			break;
		}
		ctrd_sync_publish(d);
		break;
	case CK_SUBSCRIBE:
		if (!current)
			break;
		snprintf(msg, sizeof(msg), "event stream ended: %s",
		    status == 0 ? "by the server" : why);
		d->sub = NULL;
		ctrd_fail(d, msg);
		break;
	case CK_PUBLISH:
		if (current && status != 0)
			log_debug("watch-containerd: sync publish: %s", why);
		break;
	case CK_NAMESPACES:
		if (current && (status != 0 || !k->got)) {
			snprintf(msg, sizeof(msg), "Namespaces/List: %s",
			    status != 0 ? why : "no answer");
			ctrd_fail(d, msg);
		}
		break;
	case CK_CONTAINERS:
	case CK_TASKS:
		if (!current)
			break;
		if (status != 0 || !k->got) {
			log_warnx("watch-containerd: listing namespace %s: %s",
			    k->ns, status != 0 ? why : "no answer");
			d->list_failed = true;
		}
		ctrd_list_one_done(d);
		break;
	case CK_GET:
		if (status != 0 || k->meta == NULL) {
			containers_meta_done(w->a, CTR_SRC_CONTAINERD, k->ns,
			    k->id, NULL, false);
			break;
		}
		meta = k->meta;
		k->meta = NULL;
		ctrd_meta_finish(d, k->ns, k->id, meta, false, true);
		free(meta);
		break;
	case CK_IMAGE:
		if (k->meta != NULL) {
			containers_meta_done(w->a, CTR_SRC_CONTAINERD, k->ns,
			    k->id, k->meta, k->listed);
		} else
			containers_meta_done(w->a, CTR_SRC_CONTAINERD, k->ns,
			    k->id, NULL, k->listed);
		break;
	}
	ctrd_call_free(k);
	watch_release(w);
}

/* ---- subscribe, then sync ---- */

static void
ctrd_sync_fire(uv_timer_t *t)
{
	struct ctrd *d = t->data;

	if (d->synced || d->detached)
		return;
	if (++d->sync_tries > CTRD_SYNC_TRIES) {
		/* never came back: list anyway, with a possible small gap */
		log_warnx("watch-containerd: sync event never arrived; listing");
		d->synced = true;
		watch_up(d->w);
		ctrd_list(d);
		return;
	}
	ctrd_sync_publish(d);
}

/* Publish our sync event (and arm the timer that repeats it). */
static void
ctrd_sync_publish(struct ctrd *d)
{
	Tallyman__Ctrd__PublishRequest req = TALLYMAN__CTRD__PUBLISH_REQUEST__INIT;
	Tallyman__Ctrd__Any any = TALLYMAN__CTRD__ANY__INIT;

	if (d->sub == NULL) {
		Tallyman__Ctrd__SubscribeRequest sreq =
		    TALLYMAN__CTRD__SUBSCRIBE_REQUEST__INIT;
		char *filters[] = {
			(char *)"topic~=\"^/tasks/\"",
			(char *)"topic~=\"^/containers/\"",
			(char *)"topic==\"" CTRD_SYNC_TOPIC "\"",
		};

		sreq.filters = filters;
		sreq.n_filters = TM_NELEM(filters);
		d->sub = ctrd_call(d, CK_SUBSCRIBE, SVC_SUBSCRIBE, NULL, NULL,
		    &sreq.base, CTRD_MSG_MAX, 0);
		if (d->sub == NULL) {
			ctrd_fail(d, "cannot subscribe");
			return;
		}
		d->synced = false;
		d->sync_tries = 0;
		snprintf(d->nonce, sizeof(d->nonce), "%d-%" PRIu64 "-%u",
		    (int)getpid(), mono_ns(), d->conn);
	}
	any.type_url = (char *)"tallyman.sync";
	any.value.data = (uint8_t *)d->nonce;
	any.value.len = strlen(d->nonce);
	req.topic = (char *)CTRD_SYNC_TOPIC;
	req.event = &any;
	ctrd_call(d, CK_PUBLISH, SVC_PUBLISH, CTRD_SYNC_NS, NULL, &req.base,
	    CTRD_MSG_MAX, CTRD_CALL_MS);
	uv_timer_start(&d->sync_timer, ctrd_sync_fire, CTRD_SYNC_EVERY_MS, 0);
}

static int
ctrd_start(struct watch *w)
{
	struct ctrd *d = w->priv;

	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->w = w;
		w->priv = d;
		uv_timer_init(w->a->loop, &d->sync_timer);
		d->sync_timer.data = d;
		d->timer_open = true;
	}
	d->conn++;
	d->synced = false;
	d->sub = NULL;
	if (ctrd_call(d, CK_VERSION, SVC_VERSION, NULL, NULL, NULL, CTRD_MSG_MAX,
	    CTRD_CALL_MS) == NULL)
		return -1;
	return 0;
}

static void
ctrd_timer_closed(uv_handle_t *h)
{
	struct ctrd *d = h->data;

	d->timer_open = false;
	ctrd_free_if_idle(d);
}

static void
ctrd_stop(struct watch *w)
{
	struct ctrd *d = w->priv;
	struct ctrd_call *k;

	w->priv = NULL;
	if (d == NULL)
		return;
	d->detached = true;
	for (k = d->calls; k != NULL; k = k->next)
		grpc_call_cancel(k->gc);
	/* cancelled calls end without on_done: account for them here */
	while ((k = d->calls) != NULL) {
		ctrd_call_unlink(d, k);
		if (k->kind == CK_GET || k->kind == CK_IMAGE)
			containers_meta_done(w->a, CTR_SRC_CONTAINERD, k->ns,
			    k->id, NULL, k->listed);
		ctrd_call_free(k);
		watch_release(w);
	}
	uv_timer_stop(&d->sync_timer);
	uv_close((uv_handle_t *)&d->sync_timer, ctrd_timer_closed);
}

const struct watcher watcher_containerd = {
	.name = "containerd",
	.start = ctrd_start,
	.stop = ctrd_stop,
};
