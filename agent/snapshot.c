/*
 * snapshot.c: one normalised container record, whatever the runtime, and
 * the work behind it that must not block the loop.
 *
 * The record is built from the registry's entry (containers.c): identity
 * and metadata from Docker's inspect when there is one, else containerd's
 * container and its OCI spec (each filling the other's gaps), lifecycle
 * from the events, processes from the scans.  Process scans (/proc, hashing
 * executables), image inventories and drift checks all run on the libuv
 * thread pool; their results come back to the loop.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

/* ---- process scans on the thread pool ---- */

struct snapshot_work {
	uv_work_t	 req;
	struct agent	*a;
	struct ctr_rec	*c;
	struct proc_scan *ps;
};

static void
snapshot_scan_work(uv_work_t *req)
{
	struct snapshot_work *w = req->data;

	proc_scan_run(w->ps);
}

static void
snapshot_scan_after(uv_work_t *req, int status)
{
	struct snapshot_work *w = req->data;

	if (w->a->containers == NULL) {
		/* the registry closed meanwhile: w->c is gone */
		proc_scan_free(w->ps);
		free(w->ps);
	} else
		containers_scan_done(w->a, w->c, w->ps);
	free(w);
}

/*
 * Queue a scan of c's processes (ps, owned by the scan from now on).  Its
 * result reaches containers_scan_done on the loop.  Returns 0, or -1 if the
 * work could not be queued (ps is still the caller's).
 */
int
snapshot_scan(struct agent *a, struct ctr_rec *c, struct proc_scan *ps)
{
	struct snapshot_work *w;

	w = xcalloc(1, sizeof(*w));
	w->req.data = w;
	w->a = a;
	w->c = c;
	w->ps = ps;
	if (uv_queue_work(a->loop, &w->req, snapshot_scan_work,
	    snapshot_scan_after) != 0) {
		log_warnx("snapshot: cannot queue a process scan");
		free(w);
		return -1;
	}
	return 0;
}

/* ---- the record ---- */

/* pod name, pod namespace and container name from the CRI labels. */
void
snapshot_k8s_labels(struct tm_container *c)
{
	size_t i;

	for (i = 0; i < c->n_labels; i++) {
		if (strcmp(c->labels[i].k, "io.kubernetes.pod.name") == 0 &&
		    c->pod_name == NULL)
			c->pod_name = xstrdup(c->labels[i].v);
		else if (strcmp(c->labels[i].k, "io.kubernetes.pod.namespace") == 0 &&
		    c->pod_ns == NULL)
			c->pod_ns = xstrdup(c->labels[i].v);
		else if (strcmp(c->labels[i].k, "io.kubernetes.container.name") == 0 &&
		    c->k8s_container == NULL)
			c->k8s_container = xstrdup(c->labels[i].v);
	}
}

#define PICK(f)	(p->f != NULL ? p->f : s->f)

static bool
snapshot_runc_init(const struct tm_process *p)
{
	return p->comm != NULL && strncmp(p->comm, "runc:[", 6) == 0;
}


static const char *
snapshot_state(const struct ctr_rec *c, const struct tm_container *p)
{
	switch (c->state) {
	case CTR_ST_RUNNING:
		return "running";
	case CTR_ST_EXITED:
		return "exited";
	case CTR_ST_REMOVED:
		return "removed";
	case CTR_ST_CREATED:
		return "created";
	default:
		return p->state != NULL ? p->state : "created";
	}
}

/*
 * Build c's record for trigger why into out (zeroed by the caller).  The
 * strings and arrays are borrowed from c (the process list may be a
 * filtered copy): out is valid until c changes, and is released with
 * snapshot_free.
 */
void
snapshot_build(struct agent *a, const struct ctr_rec *c, const char *why,
    struct tm_container *out)
{
	const struct tm_container *p, *s;
	size_t i, n;

	/* Docker's description first; containerd's fills the gaps. */
	if (c->have_meta[CTR_SRC_DOCKER] || !c->have_meta[CTR_SRC_CONTAINERD]) {
		p = &c->meta[CTR_SRC_DOCKER];
		s = &c->meta[CTR_SRC_CONTAINERD];
	} else {
		p = &c->meta[CTR_SRC_CONTAINERD];
		s = &c->meta[CTR_SRC_DOCKER];
	}
	out->runtime = (char *)(uintptr_t)(c->docker ? "docker" : "containerd");
	out->ns = c->ns;
	out->id = c->id;
	out->name = PICK(name);
	if (out->name == NULL)
		out->name = c->hint_name;
	out->image_ref = PICK(image_ref);
	if (out->image_ref == NULL)
		out->image_ref = c->hint_image;
	out->image_id = PICK(image_id);
	out->image_digest = PICK(image_digest);
	out->image_key = c->image_key[0] != '\0' ? (char *)(uintptr_t)c->image_key :
	    NULL;
	if (p->n_cmd > 0) {
		out->cmd = p->cmd;
		out->n_cmd = p->n_cmd;
	} else {
		out->cmd = s->cmd;
		out->n_cmd = s->n_cmd;
	}
	out->user = PICK(user);
	out->state = (char *)(uintptr_t)snapshot_state(c, p);
	out->trigger = (char *)(uintptr_t)why;
	out->created_ns = c->created_ns != 0 ? c->created_ns :
	    (p->created_ns != 0 ? p->created_ns : s->created_ns);
	out->started_ns = c->started_ns != 0 ? c->started_ns : p->started_ns;
	if (c->state >= CTR_ST_EXITED) {
		out->finished_ns = c->finished_ns != 0 ? c->finished_ns :
		    p->finished_ns;
		/* At least 1: a run that ended at (or, by the runtime's
		 * stamps, before) its start still lived. */
		if (out->started_ns != 0 && out->finished_ns != 0)
			out->lifetime_ns = out->finished_ns > out->started_ns ?
			    out->finished_ns - out->started_ns : 1;
		if (c->has_exit) {
			out->has_exit_code = true;
			out->exit_code = c->exit_code;
		} else if (p->has_exit_code) {
			out->has_exit_code = true;
			out->exit_code = p->exit_code;
		}
	}
	out->oom = c->oom || p->oom;
	out->pid = c->pid != 0 ? c->pid : p->pid;
	/* Docker's labels are the container's; containerd's for a Docker
	 * container are Docker's own bookkeeping. */
	if (p->n_labels > 0 || p == &c->meta[CTR_SRC_DOCKER]) {
		out->labels = p->labels;
		out->n_labels = p->n_labels;
	} else {
		out->labels = s->labels;
		out->n_labels = s->n_labels;
	}
	out->pod_name = PICK(pod_name);
	out->pod_ns = PICK(pod_ns);
	out->k8s_container = PICK(k8s_container);

	out->risks = p->risks;
	if (out->risks.apparmor == NULL)
		out->risks.apparmor = s->risks.apparmor;
	/* No profile on a host that enforces AppArmor: unconfined.  On one
	 * that does not, AppArmor does not apply: no value. */
	if (out->risks.apparmor == NULL && a->apparmor)
		out->risks.apparmor = (char *)(uintptr_t)"unconfined";
	if (s->risks.n_caps > 0 && p == &c->meta[CTR_SRC_DOCKER]) {
		/* the OCI spec says what the runtime really applied */
		out->risks.caps = s->risks.caps;
		out->risks.n_caps = s->risks.n_caps;
	}
	/* The init process's real uid beats the configuration's guess. */
	for (i = 0; i < c->n_procs; i++)
		if (c->pid != 0 && c->procs[i].pid == c->pid)
			out->risks.root_user = c->procs[i].uid == 0;
	/* Found running by a listing that gave no start time: the init
	 * process's own start time is the container's. */
	for (i = 0; out->started_ns == 0 && i < c->n_procs; i++)
		if (c->pid != 0 && c->procs[i].pid == c->pid)
			out->started_ns = c->procs[i].start_ns;
	/* runc's own init, caught before it became the container's
	 * process, is the runtime's, not the container's. */
	for (i = 0, n = 0; i < c->n_procs; i++)
		if (!snapshot_runc_init(&c->procs[i]))
			n++;
	if (n == c->n_procs) {
		out->procs = c->procs;
	} else if (n > 0) {
		out->procs = xcalloc(n, sizeof(*out->procs));
		for (i = 0, n = 0; i < c->n_procs; i++)
			if (!snapshot_runc_init(&c->procs[i]))
				out->procs[n++] = c->procs[i];
	}
	out->n_procs = n;
	out->procs_missed = n == 0 && out->started_ns != 0;
	out->procs_dropped = c->procs_dropped;
}

#undef PICK

/* Release what snapshot_build made: a filtered process array, if any. */
void
snapshot_free(const struct ctr_rec *c, struct tm_container *out)
{
	if (out->procs != NULL && out->procs != c->procs)
		free(out->procs);
	memset(out, 0, sizeof(*out));
}

/* ---- image inventory and drift (the inventory's own API) ---- */

static void
snapshot_image_done(struct agent *a, const char *key, const struct tm_image *img,
    int status, void *arg)
{
	if (status == -1)
		log_debug("snapshot: image %s could not be inventoried", key);
}

/*
 * Ask the inventory for c's image, once: through its image layers when the
 * root's overlay layers are known (TaskCreate, GraphDriver), else through
 * the live root /proc/PID/root.  c->image_key names the image record either
 * way; in snapshot mode (no image cache) only the key is computed.  Returns
 * false when there is nothing to read the image from (yet).
 */
bool
snapshot_image(struct agent *a, struct ctr_rec *c)
{
	struct image_source src;
	const struct tm_container *m;
	char root[PATH_MAX];
	int s;

	memset(&src, 0, sizeof(src));
	for (s = 0; s < CTR_SRC_MAX; s++) {
		m = &c->meta[s];
		if (src.image_id == NULL)
			src.image_id = m->image_id != NULL ? m->image_id :
			    m->image_digest;
		if (src.ref == NULL)
			src.ref = m->image_ref;
	}
	if (c->n_layers > (c->layers_upper ? 1u : 0u)) {
		src.layers = (const char *const *)(c->layers + (c->layers_upper ? 1 : 0));
		src.n_layers = c->n_layers - (c->layers_upper ? 1 : 0);
		/* Docker's image id names exactly these layers; containerd's
		 * manifest digest may not (platforms): hash the chain. */
		src.key = c->docker ? c->meta[CTR_SRC_DOCKER].image_id : NULL;
	} else if (c->pid != 0 && c->state == CTR_ST_RUNNING) {
		snprintf(root, sizeof(root), "%s/%u/root",
		    a->cfg.proc_root != NULL ? a->cfg.proc_root : "/proc", c->pid);
		src.rootdir = root;
		src.key = src.image_id;
	} else
		return false;	/* nothing (yet, or left) to read it from */
	inventory_image_key(&src, c->image_key);
	if (a->icache != NULL &&
	    inventory_image_request(a, &src, snapshot_image_done, NULL) == -1)
		log_debug("snapshot: %s/%.12s: no image inventory", c->ns, c->id);
	return true;
}

struct ctr_drift {
	struct drift	*d;
	bool		 busy;
	bool		 orphan;	/* its container went while busy */
};

static void
snapshot_drift_done(struct agent *a, int nfiles, void *arg)
{
	struct ctr_drift *cd = arg;

	cd->busy = false;
	if (cd->orphan) {
		drift_free(cd->d);
		free(cd);
		return;
	}
	if (nfiles > 0)
		a->stats.drift_records++;
}

/*
 * Check c's writable layer (when: "start", "exec", "exit") on the thread
 * pool; drift.c emits a record when something changed since the last check.
 * A check still running is not doubled.
 */
void
snapshot_drift(struct agent *a, struct ctr_rec *c, const char *when)
{
	/* A removed container's writable layer is gone with it. */
	if (!c->layers_upper || c->n_layers < 2 || a->out == NULL ||
	    a->icache == NULL || c->state == CTR_ST_REMOVED)
		return;
	if (c->drift == NULL) {
		c->drift = xcalloc(1, sizeof(*c->drift));
		c->drift->d = drift_new(c->layers[0],
		    (const char *const *)(c->layers + 1), c->n_layers - 1);
		if (c->drift->d == NULL) {
			free(c->drift);
			c->drift = NULL;
			return;
		}
	}
	if (c->drift->busy)
		return;
	if (drift_request(a, c->drift->d, c->docker ? "docker" : "containerd",
	    c->ns, c->id, c->image_key[0] != '\0' ? c->image_key : NULL, when,
	    snapshot_drift_done, c->drift) == 0)
		c->drift->busy = true;
}

void
snapshot_drift_release(struct ctr_rec *c)
{
	if (c->drift == NULL)
		return;
	if (c->drift->busy)
		c->drift->orphan = true;
	else {
		drift_free(c->drift->d);
		free(c->drift);
	}
	c->drift = NULL;
}
