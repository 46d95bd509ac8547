/*
 * containers.c: the container registry.  Every watcher reports what it sees
 * here (containers_observe, containers_meta_done, containers_listed...); the
 * registry merges it into one entry per container and decides which records
 * go out, each exactly once:
 *
 *   - Docker's containers are also containerd's, in namespace "moby", with
 *     the same id: both watchers feed the one entry (ns "moby"), Docker's
 *     metadata first, containerd's OCI spec filling the gaps.
 *   - Each run of a container (start .. exit) is tracked per source, so the
 *     same start or exit seen by both watchers, replayed by Docker's `since`
 *     after a reconnection, or found again by a reconciling list, changes
 *     nothing; a real restart (a source that saw the exit sees a later
 *     start) begins a new run.
 *   - Records: one event per lifecycle action, and container snapshots with
 *     why = start (running), exit (final: exit code, lifetime), exec (one
 *     per exec), list/reconcile (found by listing).  A snapshot waits until
 *     the metadata fetches and process scans in flight are done, so a
 *     container that exits during its snapshot still gives one complete
 *     record; a container that exited before its start snapshot was ready
 *     gives only the exit record, with the processes caught while it ran.
 *
 * Removed containers stay as tombstones for a while, so late or replayed
 * events about them are recognised as such.  A removed container keeps
 * its whole entry only until nothing is pending for it (CTR_SETTLE_NS);
 * then only its name and when it went remain (struct ctr_tomb, about 150
 * bytes instead of 5 to 6 kB with its metadata and processes): at 20
 * starts per second the ten minutes of tombstones would otherwise hold
 * 60 MB.  A container created under the name of a tombstone after its
 * removal (containerd's names are the user's: `ctr run --rm IMG NAME`
 * twice) is a new container, not a late report.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define CTR_HASH		4096u
#define CTR_MAX			65536u		/* entries, live or not */
#define CTR_TOMBSTONE_NS	(600ull * 1000000000ull)
#define CTR_TOMBS_MAX		16384u		/* about 2.5 MB */
#define CTR_SETTLE_NS		(10ull * 1000000000ull)	/* removed to tomb */
#define CTR_GRACE_MS		2000u		/* wait for Docker's view */
#define CTR_PROCS_MAX		1024u
#define CTR_EXECS_MAX		1024u
#define CTR_RESCANS		10u		/* 20 ms apart */

/* What is left of a removed container once it has settled. */
struct ctr_tomb {
	struct ctr_tomb	*hnext, *prev, *next;
	uint64_t	 removed_mono;
	uint64_t	 removed_ns;	/* its removal's event time, 0: unknown */
	size_t		 idoff;		/* key: ns, NUL, id, NUL */
	char		 key[];
};

struct containers {
	struct agent	*a;
	struct ctr_rec	*hash[CTR_HASH];
	struct ctr_rec	*all;			/* newest first */
	size_t		 n;
	struct ctr_tomb	*thash[CTR_HASH];
	struct ctr_tomb	*tombs, *oldest;	/* newest first */
	size_t		 ntombs;
	uint64_t	 gen[CTR_SRC_MAX];	/* listing generations */
	bool		 reconcile[CTR_SRC_MAX];	/* listing after a reconnection */
	unsigned	 creations;		/* prune tombstones now and then */
	uint64_t	 live;			/* neither removed nor unknown */
	uint64_t	 scans, metas;		/* in flight */
	bool		 once;			/* snapshot: emit at the end */
	bool		 closing;
};

static const char *const ctr_act_names[CTR_ACT_MAX] = {
	[CTR_ACT_CREATE] = "create",
	[CTR_ACT_START] = "start",
	[CTR_ACT_EXEC] = "exec",
	[CTR_ACT_EXIT] = "exit",
	[CTR_ACT_OOM] = "oom",
	[CTR_ACT_DELETE] = "delete",
	[CTR_ACT_PAUSE] = "pause",
	[CTR_ACT_UNPAUSE] = "unpause",
};

static void	ctr_progress(struct containers *, struct ctr_rec *);

/* Move c to state st, keeping the count of live containers. */
static void
ctr_set_state(struct containers *r, struct ctr_rec *c, enum ctr_state st)
{
	bool was = c->state != CTR_ST_NONE && c->state != CTR_ST_REMOVED;
	bool is = st != CTR_ST_NONE && st != CTR_ST_REMOVED;

	c->state = st;
	if (was && !is)
		r->live--;
	else if (!was && is)
		r->live++;
	r->a->stats.containers = r->live;
}

static uint32_t
ctr_hash(const char *ns, const char *id)
{
	uint32_t h = 2166136261u;

	for (; *ns != '\0'; ns++)
		h = (h ^ (uint8_t)*ns) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h % CTR_HASH;
}

static struct ctr_rec *
ctr_find(struct containers *r, const char *ns, const char *id)
{
	struct ctr_rec *c;

	for (c = r->hash[ctr_hash(ns, id)]; c != NULL; c = c->hnext)
		if (strcmp(c->id, id) == 0 && strcmp(c->ns, ns) == 0)
			return c;
	return NULL;
}

static void
ctr_strs_free(char ***v, size_t *n)
{
	risk_strlist_free(v, n);
}

static void
ctr_procs_free(struct ctr_rec *c)
{
	size_t i;

	for (i = 0; i < c->n_procs; i++)
		proc_process_free(&c->procs[i]);
	free(c->procs);
	c->procs = NULL;
	c->n_procs = 0;
	c->procs_dropped = 0;
}

static void
ctr_grace_closed(uv_handle_t *h)
{
	free(h);
}

/* Take c out of the lookup by name (an orphan is already). */
static void
ctr_unhash(struct containers *r, struct ctr_rec *c)
{
	struct ctr_rec **pp;

	for (pp = &r->hash[ctr_hash(c->ns, c->id)]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
}

static void
ctr_free(struct containers *r, struct ctr_rec *c)
{
	int s;

	ctr_unhash(r, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	r->n--;
	if (c->state != CTR_ST_NONE && c->state != CTR_ST_REMOVED)
		r->live--;
	for (s = 0; s < CTR_SRC_MAX; s++)
		tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), &c->meta[s]);
	ctr_procs_free(c);
	snapshot_drift_release(c);
	ctr_strs_free(&c->layers, &c->n_layers);
	ctr_strs_free(&c->execs, &c->n_execs);
	free(c->exec_pid);
	if (c->grace != NULL) {
		uv_timer_stop(c->grace);
		uv_close((uv_handle_t *)c->grace, ctr_grace_closed);
	}
	if (c->later != NULL) {
		uv_timer_stop(c->later);
		uv_close((uv_handle_t *)c->later, ctr_grace_closed);
	}
	free(c->hint_name);
	free(c->hint_image);
	free(c->cgroup_dir);
	free(c->ns);
	free(c->id);
	free(c);
}

static struct ctr_tomb *
ctr_tomb_find(struct containers *r, const char *ns, const char *id)
{
	struct ctr_tomb *t;

	for (t = r->thash[ctr_hash(ns, id)]; t != NULL; t = t->hnext)
		if (strcmp(t->key + t->idoff, id) == 0 &&
		    strcmp(t->key, ns) == 0)
			return t;
	return NULL;
}

static void
ctr_tomb_free(struct containers *r, struct ctr_tomb *t)
{
	struct ctr_tomb **pp;

	for (pp = &r->thash[ctr_hash(t->key, t->key + t->idoff)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		r->tombs = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	else
		r->oldest = t->prev;
	r->ntombs--;
	free(t);
}

/* c (removed, settled) becomes a tombstone; the oldest go past the bound. */
static void
ctr_tomb_make(struct containers *r, struct ctr_rec *c)
{
	size_t		 nl = strlen(c->ns), il = strlen(c->id);
	struct ctr_tomb	*t = xcalloc(1, sizeof(*t) + nl + il + 2);
	uint32_t	 h = ctr_hash(c->ns, c->id);

	memcpy(t->key, c->ns, nl);
	memcpy(t->key + nl + 1, c->id, il);
	t->idoff = nl + 1;
	t->removed_mono = c->removed_mono;
	t->removed_ns = c->removed_ns;
	t->hnext = r->thash[h];
	r->thash[h] = t;
	t->next = r->tombs;
	if (r->tombs != NULL)
		r->tombs->prev = t;
	else
		r->oldest = t;
	r->tombs = t;
	r->ntombs++;
	while (r->ntombs > CTR_TOMBS_MAX)
		ctr_tomb_free(r, r->oldest);
}

/* Nothing pending for removed c: no scan, metadata fetch or timer (its
 * timers stay allocated once made). */
static bool
ctr_settled(const struct ctr_rec *c)
{
	return c->state == CTR_ST_REMOVED && !c->scan_busy &&
	    c->meta_wait[0] + c->meta_wait[1] == 0 &&
	    (c->grace == NULL || !uv_is_active((uv_handle_t *)c->grace)) &&
	    (c->later == NULL || !uv_is_active((uv_handle_t *)c->later));
}

/*
 * Removed entries settled for CTR_SETTLE_NS (or at once when the table is
 * full) become tombstones; tombstones older than CTR_TOMBSTONE_NS go.
 */
static void
ctr_prune_at(struct containers *r, uint64_t now)
{
	struct ctr_rec	*c, *next;

	for (c = r->all; c != NULL; c = next) {
		next = c->next;
		if (!ctr_settled(c))
			continue;
		if (c->orphan)
			ctr_free(r, c);
		else if (r->n >= CTR_MAX ||
		    now - c->removed_mono >= CTR_SETTLE_NS) {
			ctr_tomb_make(r, c);
			ctr_free(r, c);
		}
	}
	while (r->oldest != NULL &&
	    now - r->oldest->removed_mono > CTR_TOMBSTONE_NS)
		ctr_tomb_free(r, r->oldest);
}

static void
ctr_prune(struct containers *r)
{
	ctr_prune_at(r, mono_ns());
}

/* Find or make the entry for (ns, id).  NULL for an unusable name or a
 * full table (counted in the log). */
static struct ctr_rec *
ctr_get(struct containers *r, const char *ns, const char *id, bool create)
{
	static struct log_ratelimit rl = { .interval_s = 60, .burst = 5 };
	struct ctr_rec *c;
	uint32_t h;

	if (!containers_name_ok(ns) || !containers_name_ok(id)) {
		if (log_ratelimit_ok(&rl))
			log_warnx("containers: unusable container name \"%.64s\" "
			    "in namespace \"%.64s\"", id != NULL ? id : "",
			    ns != NULL ? ns : "");
		return NULL;
	}
	if ((c = ctr_find(r, ns, id)) != NULL || !create)
		return c;
	if (ctr_tomb_find(r, ns, id) != NULL)
		return NULL;	/* late news of a removed container */
	if (r->n >= CTR_MAX || ++r->creations % 32 == 0)
		ctr_prune(r);
	if (r->n >= CTR_MAX) {
		if (log_ratelimit_ok(&rl))
			log_warnx("containers: %zu containers known, %s/%s ignored",
			    r->n, ns, id);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->reg = r;
	c->ns = xstrdup(ns);
	c->id = xstrdup(id);
	c->docker = strcmp(ns, CTR_DOCKER_NS) == 0;
	h = ctr_hash(ns, id);
	c->hnext = r->hash[h];
	r->hash[h] = c;
	c->next = r->all;
	if (r->all != NULL)
		r->all->prev = c;
	r->all = c;
	r->n++;
	return c;
}

static const char *
ctr_runtime(const struct ctr_rec *c)
{
	return c->docker ? "docker" : "containerd";
}

/* Emit one lifecycle event record (not in snapshot mode). */
static void
ctr_event(struct containers *r, struct ctr_rec *c, enum ctr_act act,
    uint64_t time_ns, const char *exec_id)
{
	struct tm_event ev;
	const struct tm_container *m;
	int s;

	if (r->once)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.runtime = (char *)(uintptr_t)ctr_runtime(c);
	ev.ns = c->ns;
	ev.id = c->id;
	ev.action = (char *)(uintptr_t)ctr_act_names[act];
	ev.time_ns = time_ns != 0 ? time_ns : now_ns();
	for (s = 0; s < CTR_SRC_MAX; s++) {
		m = &c->meta[s];
		if (ev.name == NULL && m->name != NULL)
			ev.name = m->name;
		if (ev.image == NULL && m->image_ref != NULL)
			ev.image = m->image_ref;
	}
	if (ev.name == NULL)
		ev.name = c->hint_name;
	if (ev.image == NULL)
		ev.image = c->hint_image;
	if (act == CTR_ACT_EXIT && c->has_exit) {
		ev.has_exit_code = true;
		ev.exit_code = c->exit_code;
	}
	if (act == CTR_ACT_START || act == CTR_ACT_EXIT)
		ev.pid = c->pid;
	ev.exec_id = (char *)(uintptr_t)exec_id;
	r->a->stats.events++;
	if (agent_emit(r->a, TM_KIND_EVENT, &ev) == -1)
		log_warnx("containers: %s/%.12s: %s event not emitted", c->ns,
		    c->id, ctr_act_names[act]);
}

static void
ctr_snapshot(struct containers *r, struct ctr_rec *c, const char *why)
{
	struct tm_container tc;

	memset(&tc, 0, sizeof(tc));
	snapshot_build(r->a, c, why, &tc);
	r->a->stats.snapshots++;
	if (agent_emit(r->a, TM_KIND_CONTAINER, &tc) == -1)
		log_warnx("containers: %s/%.12s: snapshot not emitted", c->ns,
		    c->id);
	snapshot_free(c, &tc);
}

/* A new run of c (a restart): forget the last run's processes and records. */
static void
ctr_new_run(struct containers *r, struct ctr_rec *c)
{
	int s;

	ctr_set_state(r, c, CTR_ST_CREATED);
	for (s = 0; s < CTR_SRC_MAX; s++) {
		c->src_started[s] = false;
		c->src_exited[s] = false;
	}
	c->started_ns = c->finished_ns = 0;
	c->has_exit = false;
	c->exit_code = 0;
	c->oom = false;
	c->pid = 0;
	ctr_procs_free(c);
	c->procs_tried = false;
	c->n_scan_pids = 0;
	c->start_sent = c->exit_sent = false;
	c->ev_sent[CTR_ACT_START] = c->ev_sent[CTR_ACT_EXIT] = false;
	c->ev_sent[CTR_ACT_OOM] = false;
	ctr_strs_free(&c->execs, &c->n_execs);
	free(c->exec_pid);
	c->exec_pid = NULL;
	c->exec_pending = c->exec_waiting = 0;
	c->rescans = 0;
	c->first_why = "start";
	c->start_listed = c->exit_listed = false;
}

static void	ctr_scan(struct containers *, struct ctr_rec *, uint32_t);

/* The timer for "look again soon": execs whose pid never came, runc. */
static void
ctr_later_fire(uv_timer_t *t)
{
	struct ctr_rec *c = t->data;
	struct containers *r = c->reg;

	if (c->exec_waiting > 0) {
		/* no pid will come: scan the cgroup for the exec instead */
		c->exec_pending += c->exec_waiting;
		c->exec_waiting = 0;
	}
	c->rescan_soon = false;
	if (c->state == CTR_ST_RUNNING || c->state == CTR_ST_CREATED)
		ctr_scan(r, c, 0);
	ctr_progress(r, c);
}

static void
ctr_later(struct containers *r, struct ctr_rec *c, uint64_t ms)
{
	if (c->later == NULL) {
		c->later = xmalloc(sizeof(*c->later));
		uv_timer_init(r->a->loop, c->later);
		c->later->data = c;
	}
	if (uv_is_active((uv_handle_t *)c->later) &&
	    uv_timer_get_due_in(c->later) <= ms)
		return;
	uv_timer_start(c->later, ctr_later_fire, ms, 0);
}

/* Read the container's processes (thread pool), with pid as a hint. */
static void
ctr_scan(struct containers *r, struct ctr_rec *c, uint32_t pid)
{
	struct proc_scan *ps;
	size_t i;

	if (pid != 0) {
		for (i = 0; i < c->n_scan_pids && c->scan_pids[i] != pid; i++)
			;
		if (i == c->n_scan_pids) {
			if (c->n_scan_pids == CTR_SCAN_PIDS) {
				memmove(c->scan_pids + 1, c->scan_pids + 2,
				    (CTR_SCAN_PIDS - 2) * sizeof(c->scan_pids[0]));
				memmove(c->scan_pids_ns + 1, c->scan_pids_ns + 2,
				    (CTR_SCAN_PIDS - 2) * sizeof(c->scan_pids_ns[0]));
			} else
				c->n_scan_pids++;
			/* keep the init pid first; newest hints last */
			c->scan_pids[c->n_scan_pids - 1] = pid;
			/* a process at this pid that starts later is not it */
			c->scan_pids_ns[c->n_scan_pids - 1] = proc_boottime_ns();
		}
	}
	if (c->n_scan_pids == 0 && c->cgroup_dir == NULL)
		return;		/* nothing to look from yet */
	if (c->scan_busy) {
		c->scan_again = true;
		return;
	}
	ps = xcalloc(1, sizeof(*ps));
	ps->proc_root = r->a->cfg.proc_root != NULL ? r->a->cfg.proc_root : "/proc";
	ps->cgroup_dir = c->cgroup_dir != NULL ? xstrdup(c->cgroup_dir) : NULL;
	memcpy(ps->pids, c->scan_pids, c->n_scan_pids * sizeof(ps->pids[0]));
	memcpy(ps->pids_ns, c->scan_pids_ns,
	    c->n_scan_pids * sizeof(ps->pids_ns[0]));
	ps->n_pids = c->n_scan_pids;
	ps->max_exe = r->a->cfg.inventory_max_file;
	ps->queued_ns = mono_ns();
	c->scan_busy = true;
	c->scan_again = false;
	r->scans++;
	if (snapshot_scan(r->a, c, ps) == -1) {
		c->scan_busy = false;
		c->procs_tried = true;
		r->scans--;
		proc_scan_free(ps);
		free(ps);
	}
}

/* Merge one scan's processes into c (by pid and start time). */
void
containers_scan_done(struct agent *a, struct ctr_rec *c, struct proc_scan *ps)
{
	struct containers *r = a->containers;
	struct tm_process *p, *q;
	size_t i, j;
	bool unsettled = false, same;
	uint64_t dropped = ps->dropped;

	r->scans--;
	c->scan_busy = false;
	c->procs_tried = true;
	log_debug("containers: %s/%.12s: scan found %zu processes (cgroup %s) "
	    "in %.1f ms", c->ns, c->id, ps->n_procs, ps->cgroup_dir != NULL ?
	    ps->cgroup_dir : "unknown", (double)(mono_ns() - ps->queued_ns) / 1e6);
	if (ps->cgroup_dir != NULL && c->cgroup_dir == NULL) {
		c->cgroup_dir = ps->cgroup_dir;
		ps->cgroup_dir = NULL;
	}
	a->stats.parse_errors += ps->errors;
	if (ps->foreign > 0)
		log_debug("containers: %s/%.12s: %llu pids were another "
		    "process's by the time they were read (reused): skipped",
		    c->ns, c->id, (unsigned long long)ps->foreign);
	/* Caught between runc's fork and its execve (runc init), or inside
	 * execve before its arguments are set up: look again in a moment. */
	for (i = 0; i < ps->n_procs; i++)
		if ((ps->procs[i].comm != NULL &&
		    strncmp(ps->procs[i].comm, "runc:[", 6) == 0) ||
		    ps->procs[i].n_args == 0)
			unsettled = true;
	/* runc's init is gone (it became the process, or died): forget it */
	for (j = 0; j < c->n_procs; ) {
		q = &c->procs[j];
		for (i = 0; i < ps->n_procs && ps->procs[i].pid != q->pid; i++)
			;
		if (i == ps->n_procs && q->comm != NULL &&
		    strncmp(q->comm, "runc:[", 6) == 0) {
			proc_process_free(q);
			c->procs[j] = c->procs[--c->n_procs];
		} else
			j++;
	}
	for (i = 0; i < ps->n_procs; i++) {
		p = &ps->procs[i];
		/* The same process: same pid, same start (boot time is
		 * recomputed per scan, so allow for its jitter). */
		for (j = 0; j < c->n_procs; j++)
			if (c->procs[j].pid == p->pid &&
			    (c->procs[j].start_ns > p->start_ns ?
			    c->procs[j].start_ns - p->start_ns :
			    p->start_ns - c->procs[j].start_ns) < 1000000000ull)
				break;
		if (j == c->n_procs) {
			if (c->n_procs >= CTR_PROCS_MAX) {
				dropped++;
				continue;
			}
			c->procs = xreallocarray(c->procs, c->n_procs + 1,
			    sizeof(*c->procs));
			c->n_procs++;
		} else {
			/*
			 * The same process read again: newer values win (an
			 * execve since), but a reading taken as it exited, or
			 * inside execve before its arguments are set up, has
			 * lost fields the earlier one had: keep those.
			 */
			q = &c->procs[j];
			same = p->comm != NULL && q->comm != NULL &&
			    strcmp(p->comm, q->comm) == 0;
			if (same && p->n_args == 0 && q->n_args > 0) {
				p->args = q->args;
				p->n_args = q->n_args;
				q->args = NULL;
				q->n_args = 0;
			}
			if (same && p->exe == NULL && q->exe != NULL) {
				p->exe = q->exe;
				q->exe = NULL;
				free(p->sha256);
				p->sha256 = q->sha256;
				q->sha256 = NULL;
			}
			proc_process_free(q);
		}
		c->procs[j] = *p;
		memset(p, 0, sizeof(*p));
	}
	/* Scans read the same processes again: the most one reading left
	 * out, not a sum. */
	if (dropped > c->procs_dropped)
		c->procs_dropped = dropped;
	if (unsettled && c->rescans < CTR_RESCANS &&
	    (c->state == CTR_ST_RUNNING || c->state == CTR_ST_CREATED) &&
	    !r->closing) {
		c->rescans++;
		c->rescan_soon = true;
		ctr_later(r, c, 20);
	}
	proc_scan_free(ps);
	free(ps);
	if (c->scan_again && !r->closing)
		ctr_scan(r, c, 0);
	ctr_progress(r, c);
}

static void
ctr_grace_fire(uv_timer_t *t)
{
	struct ctr_rec *c = t->data;

	c->grace_over = true;
	ctr_progress(c->reg, c);
}

/* Is everything in place for c's next record? */
static bool
ctr_ready(struct containers *r, struct ctr_rec *c)
{
	int s;

	for (s = 0; s < CTR_SRC_MAX; s++)
		if (c->meta_wait[s] > 0)
			return false;
	if (c->scan_busy || c->rescan_soon)
		return false;
	if (c->state == CTR_ST_RUNNING && c->pid != 0 && !c->procs_tried)
		return false;
	/* Docker's containers wait (briefly) for Docker's own description,
	 * which arrives on another connection than containerd's events --
	 * also while that connection is still being made: at start-up
	 * containerd's listing can beat Docker's. */
	if (c->docker && !c->have_meta[CTR_SRC_DOCKER] && !c->grace_over &&
	    watchers_coming(r->a, "docker")) {
		if (c->grace == NULL) {
			c->grace = xmalloc(sizeof(*c->grace));
			uv_timer_init(r->a->loop, c->grace);
			c->grace->data = c;
			uv_timer_start(c->grace, ctr_grace_fire, CTR_GRACE_MS, 0);
		}
		return false;
	}
	/* Nothing known but a name: wait for a lifecycle fact. */
	if (c->state == CTR_ST_NONE)
		return false;
	return true;
}

static void
ctr_image(struct containers *r, struct ctr_rec *c)
{
	if (!c->image_requested)
		c->image_requested = snapshot_image(r->a, c);
}

/* Send whatever record c is due, if it is ready. */
static void
ctr_progress(struct containers *r, struct ctr_rec *c)
{
	bool listed;

	if (r->once || r->closing)
		return;
	if (!ctr_ready(r, c)) {
		log_debug("containers: %s/%.12s waits: state %d meta %u/%u "
		    "scan %d pid %u tried %d docker-meta %d", c->ns, c->id,
		    (int)c->state, c->meta_wait[0], c->meta_wait[1],
		    (int)c->scan_busy, c->pid, (int)c->procs_tried,
		    (int)c->have_meta[CTR_SRC_DOCKER]);
		return;
	}
	ctr_image(r, c);
	/*
	 * A run's first record says "list" or "reconcile" when what it tells
	 * was learned from that listing; a start or an exit seen happen (an
	 * event, also after a listing named the container first) is told as
	 * "start" or "exit".
	 */
	listed = c->first_why != NULL && strcmp(c->first_why, "start") != 0;
	if (c->state >= CTR_ST_EXITED) {
		if (!c->exit_sent) {
			snapshot_drift(r->a, c, "exit");
			ctr_snapshot(r, c, listed && c->exit_listed &&
			    !c->start_sent && !c->created_sent ?
			    c->first_why : "exit");
			c->exit_sent = c->start_sent = c->created_sent = true;
			c->exec_pending = 0;
		}
		return;
	}
	if (c->state == CTR_ST_RUNNING) {
		if (!c->start_sent) {
			snapshot_drift(r->a, c, "start");
			ctr_snapshot(r, c, listed && c->start_listed &&
			    !c->created_sent ? c->first_why : "start");
			c->start_sent = c->created_sent = true;
			c->exec_pending = 0;
		} else if (c->exec_pending > 0) {
			snapshot_drift(r->a, c, "exec");
			ctr_snapshot(r, c, "exec");
			c->exec_pending = 0;
		}
		return;
	}
	if (c->state == CTR_ST_CREATED && listed && !c->created_sent) {
		ctr_snapshot(r, c, c->first_why);
		c->created_sent = true;
	}
}

static void
ctr_set_hints(struct ctr_rec *c, const struct ctr_obs *o)
{
	if (o->name != NULL && c->hint_name == NULL &&
	    strlen(o->name) <= TM_STR_SHORT)
		c->hint_name = xstrdup(o->name);
	if (o->image != NULL && c->hint_image == NULL &&
	    strlen(o->image) <= TM_STR_MAX)
		c->hint_image = xstrdup(o->image);
}

static void
ctr_on_create(struct containers *r, struct ctr_rec *c, const struct ctr_obs *o)
{
	/* Docker (re)creates its containerd container at every start: that
	 * is not the Docker container's creation. */
	if (c->docker && o->src == CTR_SRC_CONTAINERD)
		return;
	if (c->state == CTR_ST_REMOVED || c->ev_sent[CTR_ACT_CREATE])
		return;
	if (c->state == CTR_ST_NONE)
		ctr_set_state(r, c, CTR_ST_CREATED);
	if (c->created_ns == 0)
		c->created_ns = o->time_ns;
	c->ev_sent[CTR_ACT_CREATE] = true;
	if (!o->listed)
		ctr_event(r, c, CTR_ACT_CREATE, o->time_ns, NULL);
}

static void
ctr_on_start(struct containers *r, struct ctr_rec *c, const struct ctr_obs *o)
{
	int s = o->src;

	if (c->state == CTR_ST_REMOVED)
		return;
	/* A restart: the source that reported the exit reports a later
	 * start, as an event (an inspect's StartedAt can trail the exit
	 * another source saw, so metadata never starts a run). */
	if (c->state == CTR_ST_EXITED && c->src_exited[s] && !o->from_meta &&
	    !o->listed && o->time_ns != 0 && o->time_ns > c->src_exit_ns[s])
		ctr_new_run(r, c);
	if (c->src_started[s] || c->src_exited[s]) {
		/* seen before (a replay or a list): at most a missing pid */
		if (c->pid == 0 && o->pid != 0 && c->state == CTR_ST_RUNNING) {
			c->pid = o->pid;
			ctr_scan(r, c, o->pid);
		}
		return;
	}
	c->src_started[s] = true;
	if (c->state < CTR_ST_RUNNING) {
		ctr_set_state(r, c, CTR_ST_RUNNING);
		c->start_listed = o->listed;
		/* a fresh budget of follow-up reads for the running process */
		c->rescans = 0;
		if (c->n_procs > 0 && !c->scan_busy && !c->rescan_soon)
			ctr_scan(r, c, 0);
		if (c->first_why == NULL)
			c->first_why = o->listed ?
			    (r->reconcile[s] ? "reconcile" : "list") : "start";
	}
	if (c->started_ns == 0 || (o->time_ns != 0 && o->time_ns < c->started_ns))
		c->started_ns = o->time_ns;
	if (!c->ev_sent[CTR_ACT_START]) {
		c->ev_sent[CTR_ACT_START] = true;
		if (!o->listed)
			ctr_event(r, c, CTR_ACT_START, o->time_ns, NULL);
	}
	if (o->pid != 0 && c->pid == 0) {
		c->pid = o->pid;
		log_debug("containers: %s/%.12s: pid %u from %s%s", c->ns, c->id,
		    o->pid, s == CTR_SRC_DOCKER ? "docker" : "containerd",
		    o->from_meta ? " metadata" : "");
		/* Read /proc at once: a short-lived container is gone soon. */
		ctr_scan(r, c, o->pid);
	}
}

static void
ctr_on_exit(struct containers *r, struct ctr_rec *c, const struct ctr_obs *o)
{
	int s = o->src;
	uint64_t t = o->time_ns;

	if (c->src_exited[s])
		return;
	/*
	 * An exit from before this run started belongs to the last run --
	 * unless it is the exit of this run's own process.  containerd stamps
	 * TaskStart when it publishes it, after a process as quick as `true`
	 * may have exited: that TaskExit's exited_at is the earlier, and the
	 * run then ends at its start.
	 */
	if (t != 0 && c->started_ns != 0 && t < c->started_ns) {
		bool own = o->pid != 0 && o->pid == c->pid;

		if (own)
			t = c->started_ns;
		else if (c->state == CTR_ST_RUNNING && !o->listed)
			return;
	}
	c->src_exited[s] = true;
	c->src_exit_ns[s] = t != 0 ? t : now_ns();
	if (o->has_exit && !c->has_exit) {
		c->has_exit = true;
		c->exit_code = o->exit_code;
	}
	if (c->state >= CTR_ST_EXITED)
		return;
	ctr_set_state(r, c, CTR_ST_EXITED);
	c->exit_listed = o->listed;
	if (c->first_why == NULL)
		c->first_why = o->listed ?
		    (r->reconcile[s] ? "reconcile" : "list") : "start";
	c->finished_ns = t != 0 ? t : now_ns();
	if (!c->ev_sent[CTR_ACT_EXIT]) {
		c->ev_sent[CTR_ACT_EXIT] = true;
		if (!o->listed)
			ctr_event(r, c, CTR_ACT_EXIT, t, NULL);
	}
}

static void
ctr_on_delete(struct containers *r, struct ctr_rec *c, const struct ctr_obs *o)
{
	struct ctr_obs ex;

	/* containerd deletes Docker's containerd container at every exit. */
	if (c->docker && o->src == CTR_SRC_CONTAINERD)
		return;
	if (c->state == CTR_ST_REMOVED)
		return;
	if (c->state == CTR_ST_RUNNING) {
		/* gone without an exit we saw (lost while disconnected) */
		memset(&ex, 0, sizeof(ex));
		ex.src = o->src;
		ex.time_ns = o->time_ns;
		ctr_on_exit(r, c, &ex);
	}
	if (c->state < CTR_ST_EXITED && c->first_why == NULL)
		c->first_why = "start";
	ctr_set_state(r, c, CTR_ST_REMOVED);
	c->removed_mono = mono_ns();
	c->removed_ns = o->time_ns;
	if (!c->ev_sent[CTR_ACT_DELETE]) {
		c->ev_sent[CTR_ACT_DELETE] = true;
		ctr_event(r, c, CTR_ACT_DELETE, o->time_ns, NULL);
	}
}

/*
 * An exec.  containerd reports it with the new process's pid, once the
 * process runs; Docker reports it (exec_start) just before asking
 * containerd, without a pid.  The exec snapshot follows a scan that can see
 * the new process: at containerd's report, or, without one, a moment after
 * Docker's.
 */
static void
ctr_on_exec(struct containers *r, struct ctr_rec *c, const struct ctr_obs *o)
{
	size_t i;

	if (o->exec_id == NULL || o->exec_id[0] == '\0' ||
	    strlen(o->exec_id) > TM_STR_SHORT || c->state != CTR_ST_RUNNING)
		return;
	for (i = 0; i < c->n_execs; i++) {
		if (strcmp(c->execs[i], o->exec_id) != 0)
			continue;
		if (o->pid != 0 && !c->exec_pid[i]) {
			c->exec_pid[i] = true;
			if (c->exec_waiting > 0) {
				c->exec_waiting--;
				c->exec_pending++;
			}
			ctr_scan(r, c, o->pid);
		}
		return;
	}
	if (c->n_execs < CTR_EXECS_MAX) {
		c->execs = xreallocarray(c->execs, c->n_execs + 1,
		    sizeof(*c->execs));
		c->exec_pid = xreallocarray(c->exec_pid, c->n_execs + 1,
		    sizeof(*c->exec_pid));
		c->exec_pid[c->n_execs] = o->pid != 0;
		c->execs[c->n_execs++] = xstrdup(o->exec_id);
	}
	ctr_event(r, c, CTR_ACT_EXEC, o->time_ns, o->exec_id);
	if (o->pid != 0) {
		c->exec_pending++;
		ctr_scan(r, c, o->pid);
		return;
	}
	c->exec_waiting++;
	ctr_later(r, c, c->docker && watchers_up(r->a, "containerd") ?
	    CTR_GRACE_MS : 100);
}

/*
 * Whether o is a new container under the name of one removed at
 * removed_ns: its creation or start, reported as it happened, after that
 * removal (not a replay, a listing or metadata).
 */
static bool
ctr_reborn(const struct ctr_obs *o, uint64_t removed_ns)
{
	return (o->act == CTR_ACT_CREATE || o->act == CTR_ACT_START) &&
	    !o->listed && !o->from_meta && removed_ns != 0 &&
	    o->time_ns > removed_ns;
}

/*
 * A watcher saw o happen to a container (or found it while listing).  The
 * strings in o are only read.
 */
void
containers_observe(struct agent *a, const struct ctr_obs *o)
{
	struct containers *r = a->containers;
	struct ctr_rec *c;
	struct ctr_tomb *t;

	if (r == NULL || r->closing || o->act >= CTR_ACT_MAX ||
	    o->ns == NULL || o->id == NULL)
		return;
	/*
	 * A name used again: the removed container's entry makes way, at
	 * once when nothing is pending for it; else it leaves the lookup by
	 * name and goes when its scan or timer ends (those hold the entry
	 * itself; a metadata fetch comes back by name, so it is waited for).
	 */
	if ((t = ctr_tomb_find(r, o->ns, o->id)) != NULL &&
	    ctr_reborn(o, t->removed_ns))
		ctr_tomb_free(r, t);
	else if ((c = ctr_find(r, o->ns, o->id)) != NULL &&
	    c->state == CTR_ST_REMOVED && ctr_reborn(o, c->removed_ns)) {
		if (ctr_settled(c))
			ctr_free(r, c);
		else if (c->meta_wait[0] + c->meta_wait[1] == 0) {
			ctr_unhash(r, c);
			c->orphan = true;
		}
	}
	if ((c = ctr_get(r, o->ns, o->id, true)) == NULL)
		return;
	c->seen_by[o->src] = true;
	ctr_set_hints(c, o);
	switch (o->act) {
	case CTR_ACT_CREATE:
		ctr_on_create(r, c, o);
		break;
	case CTR_ACT_START:
		ctr_on_start(r, c, o);
		break;
	case CTR_ACT_EXIT:
		ctr_on_exit(r, c, o);
		break;
	case CTR_ACT_DELETE:
		ctr_on_delete(r, c, o);
		break;
	case CTR_ACT_EXEC:
		ctr_on_exec(r, c, o);
		break;
	case CTR_ACT_OOM:
		c->oom = true;
		if (!c->ev_sent[CTR_ACT_OOM] && c->state != CTR_ST_REMOVED) {
			c->ev_sent[CTR_ACT_OOM] = true;
			ctr_event(r, c, CTR_ACT_OOM, o->time_ns, NULL);
		}
		break;
	case CTR_ACT_PAUSE:
	case CTR_ACT_UNPAUSE:
		/* both watchers report it: one event per source pair */
		if (o->src == CTR_SRC_CONTAINERD && c->docker &&
		    watchers_up(a, "docker"))
			break;
		if (c->state == CTR_ST_RUNNING)
			ctr_event(r, c, o->act, o->time_ns, NULL);
		break;
	default:
		break;
	}
	ctr_progress(r, c);
}

/*
 * containerd created the task: its init process (pid) exists, in the
 * container's cgroup, waiting for the start.  Reading it now finds the
 * cgroup, and the follow-up reads catch the process as soon as it runs,
 * even when the start event itself comes late (a loaded host can publish
 * it after a short-lived container is gone).
 */
void
containers_task_created(struct agent *a, const char *ns, const char *id,
    uint32_t pid)
{
	struct containers *r = a->containers;
	struct ctr_rec *c;

	if (r == NULL || r->closing || pid == 0 ||
	    (c = ctr_get(r, ns, id, true)) == NULL)
		return;
	if (c->state == CTR_ST_NONE)
		ctr_set_state(r, c, CTR_ST_CREATED);
	if (c->state != CTR_ST_CREATED || c->pid != 0)
		return;
	c->rescans = 0;
	ctr_scan(r, c, pid);
}

void
containers_meta_wait(struct agent *a, enum ctr_src src, const char *ns,
    const char *id)
{
	struct containers *r = a->containers;
	struct ctr_rec *c;

	if (r == NULL || (c = ctr_get(r, ns, id, true)) == NULL)
		return;
	c->meta_wait[src]++;
	r->metas++;
}

/*
 * The lifecycle the metadata describes, applied when it tells us more than
 * the events did (a listing, or events missed while disconnected).
 */
static void
ctr_meta_lifecycle(struct containers *r, struct ctr_rec *c, enum ctr_src src,
    const struct tm_container *m, bool listed)
{
	struct ctr_obs o;

	memset(&o, 0, sizeof(o));
	o.src = src;
	o.ns = c->ns;
	o.id = c->id;
	o.listed = listed;
	o.from_meta = true;
	if (c->created_ns == 0)
		c->created_ns = m->created_ns;
	if (m->state == NULL)
		return;
	if (c->state == CTR_ST_NONE) {
		o.act = CTR_ACT_CREATE;
		o.time_ns = m->created_ns;
		ctr_on_create(r, c, &o);
		if (c->state == CTR_ST_NONE)
			ctr_set_state(r, c, CTR_ST_CREATED);
	}
	if ((strcmp(m->state, "running") == 0 || strcmp(m->state, "exited") == 0) &&
	    m->started_ns != 0) {
		o.act = CTR_ACT_START;
		o.time_ns = m->started_ns;
		o.pid = strcmp(m->state, "running") == 0 ? (uint32_t)m->pid : 0;
		ctr_on_start(r, c, &o);
	}
	/*
	 * Exited: unless the metadata's run is older than ours.  Docker can
	 * stamp a very short run's FinishedAt before its StartedAt: the run
	 * then ends at its start (lifetime 1 ns in the record), it does not
	 * stay running for ever.
	 */
	if (strcmp(m->state, "exited") == 0 && c->state == CTR_ST_RUNNING &&
	    (m->finished_ns == 0 || m->finished_ns >= c->started_ns ||
	    m->started_ns >= c->started_ns)) {
		o.act = CTR_ACT_EXIT;
		o.time_ns = m->finished_ns != 0 && m->finished_ns < c->started_ns ?
		    c->started_ns : m->finished_ns;
		o.has_exit = m->has_exit_code;
		o.exit_code = m->exit_code;
		ctr_on_exit(r, c, &o);
	}
	if (c->oom == false && m->oom && c->state >= CTR_ST_EXITED)
		c->oom = true;
}

/*
 * A metadata fetch ended: meta (members moved into the registry; *meta is
 * zeroed) or NULL when it failed.  listed: the fetch was for a listing, so
 * the lifecycle it describes is news, not an echo of events.
 */
void
containers_meta_done(struct agent *a, enum ctr_src src, const char *ns,
    const char *id, struct tm_container *meta, bool listed)
{
	struct containers *r = a->containers;
	struct ctr_rec *c;

	if (r == NULL)
		return;
	if ((c = ctr_get(r, ns, id, meta != NULL)) == NULL)
		return;
	if (c->meta_wait[src] > 0) {
		c->meta_wait[src]--;
		r->metas--;
	}
	if (meta != NULL && !r->closing) {
		tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), &c->meta[src]);
		c->meta[src] = *meta;
		memset(meta, 0, sizeof(*meta));
		c->have_meta[src] = true;
		c->seen_by[src] = true;
		if (c->grace != NULL && src == CTR_SRC_DOCKER)
			uv_timer_stop(c->grace);
		ctr_meta_lifecycle(r, c, src, &c->meta[src], listed);
	}
	if (!r->closing)
		ctr_progress(r, c);
}

void
containers_set_rootfs(struct agent *a, const char *ns, const char *id,
    char **layers, size_t n_layers, bool upper)
{
	struct containers *r = a->containers;
	struct ctr_rec *c;
	size_t i;

	if (r == NULL || (c = ctr_get(r, ns, id, true)) == NULL) {
		for (i = 0; i < n_layers; i++)
			free(layers[i]);
		free(layers);
		return;
	}
	if (c->drift != NULL && c->n_layers > 0 && n_layers > 0 &&
	    strcmp(c->layers[0], layers[0]) == 0) {
		/* the same root again (a listing): keep the drift state */
		for (i = 0; i < n_layers; i++)
			free(layers[i]);
		free(layers);
		return;
	}
	snapshot_drift_release(c);
	ctr_strs_free(&c->layers, &c->n_layers);
	c->layers = layers;
	c->n_layers = n_layers;
	c->layers_upper = upper;
}

/* ---- listings ---- */

/* A listing by src starts (reconcile: after a reconnection). */
void
containers_list_begin(struct agent *a, enum ctr_src src, bool reconcile)
{
	struct containers *r = a->containers;

	if (r == NULL)
		return;
	r->gen[src]++;
	r->reconcile[src] = reconcile && !r->once;
}

void
containers_listed(struct agent *a, enum ctr_src src, const char *ns,
    const char *id)
{
	struct containers *r = a->containers;
	struct ctr_rec *c;

	if (r == NULL || (c = ctr_get(r, ns, id, true)) == NULL)
		return;
	c->list_gen[src] = r->gen[src];
	c->seen_by[src] = true;
	if (c->first_why == NULL && c->state == CTR_ST_NONE)
		c->first_why = r->reconcile[src] ? "reconcile" : "list";
}

/*
 * A listing by src is complete (every namespace of it answered): a
 * container src had shown us that the listing did not name is gone
 * (removed while we were not connected).  Docker's containers are judged by
 * Docker only.
 */
void
containers_list_end(struct agent *a, enum ctr_src src)
{
	struct containers *r = a->containers;
	struct ctr_rec *c, *next;
	struct ctr_obs o;

	if (r == NULL)
		return;
	for (c = r->all; c != NULL; c = next) {
		next = c->next;
		if (!c->seen_by[src] || c->list_gen[src] == r->gen[src] ||
		    c->state == CTR_ST_REMOVED || c->meta_wait[src] > 0)
			continue;
		if (c->docker && src == CTR_SRC_CONTAINERD)
			continue;
		memset(&o, 0, sizeof(o));
		o.src = src;
		o.ns = c->ns;
		o.id = c->id;
		o.act = CTR_ACT_DELETE;
		log_debug("containers: %s/%.12s gone while we were away",
		    c->ns, c->id);
		ctr_on_delete(r, c, &o);
		ctr_progress(r, c);
	}
}

/* ---- the whole registry ---- */

int
containers_open(struct agent *a)
{
	struct containers *r;

	r = xcalloc(1, sizeof(*r));
	r->a = a;
	a->containers = r;
	return 0;
}

/* WATCH_ONCE: everything is emitted at the end, by containers_emit_all. */
void
containers_set_once(struct agent *a, bool once)
{
	if (a->containers != NULL)
		a->containers->once = once;
}

void
containers_close(struct agent *a)
{
	struct containers *r = a->containers;

	if (r == NULL)
		return;
	r->closing = true;
	/* Entries with a scan in flight are freed when it returns. */
	while (r->all != NULL)
		ctr_free(r, r->all);
	while (r->tombs != NULL)
		ctr_tomb_free(r, r->tombs);
	free(r);
	a->containers = NULL;
}

/* For tests: prune as at monotonic time now; the entries and tombstones
 * known. */
void
containers_prune_at(struct agent *a, uint64_t now)
{
	if (a->containers != NULL)
		ctr_prune_at(a->containers, now);
}

void
containers_sizes(struct agent *a, size_t *entries, size_t *tombs)
{
	*entries = a->containers != NULL ? a->containers->n : 0;
	*tombs = a->containers != NULL ? a->containers->ntombs : 0;
}

bool
containers_idle(struct agent *a)
{
	struct containers *r = a->containers;

	return r == NULL || (r->scans == 0 && r->metas == 0);
}

uint64_t
containers_count(struct agent *a)
{
	return a->containers != NULL ? a->containers->live : 0;
}

/*
 * Snapshot mode: fn(a, record, arg) for every container known, oldest
 * first, each built with why "list" (the record is valid during the call).
 */
void
containers_foreach(struct agent *a,
    void (*fn)(struct agent *, const struct tm_container *, void *), void *arg)
{
	struct containers *r = a->containers;
	struct tm_container tc;
	struct ctr_rec *c;

	if (r == NULL)
		return;
	for (c = r->all; c != NULL && c->next != NULL; c = c->next)
		;
	for (; c != NULL; c = c->prev) {
		if (c->state == CTR_ST_NONE || c->state == CTR_ST_REMOVED)
			continue;
		ctr_image(r, c);
		memset(&tc, 0, sizeof(tc));
		snapshot_build(a, c, "list", &tc);
		fn(a, &tc, arg);
		snapshot_free(c, &tc);
	}
}
