/*
 * test-containers.c: the registry (agent/containers.c) decides which records
 * leave the agent.  Observations are fed as the two watchers deliver them,
 * in the orders the daemons really produce (containerd's events often
 * overtake Docker's, Docker's `since` replays, listings after a
 * reconnection), and every record is captured by a stand-in agent_emit.
 * Process scans run for real on the thread pool against an empty /proc.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

#define ID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct rec {
	enum tm_kind	 kind;
	char		 id[80], what[16], img[64], rt[16], ns[16];
	bool		 has_exit;
	int64_t		 exit;
	uint64_t	 life, started, pid;
	size_t		 ncmd;
	char		 exec[80];
};

static struct rec recs[256];
static size_t nrecs;

/* The output stand-in: remember what would have been sent. */
int
agent_emit(struct agent *a, enum tm_kind kind, const void *body)
{
	const struct tm_event *e = body;
	const struct tm_container *c = body;
	struct rec *r;

	assert_true(nrecs < 256);
	r = &recs[nrecs++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (kind == TM_KIND_EVENT) {
		snprintf(r->id, sizeof(r->id), "%s", e->id);
		snprintf(r->what, sizeof(r->what), "%s", e->action);
		snprintf(r->rt, sizeof(r->rt), "%s", e->runtime);
		r->has_exit = e->has_exit_code;
		r->exit = e->exit_code;
		if (e->exec_id != NULL)
			snprintf(r->exec, sizeof(r->exec), "%s", e->exec_id);
	} else if (kind == TM_KIND_CONTAINER) {
		snprintf(r->id, sizeof(r->id), "%s", c->id);
		snprintf(r->what, sizeof(r->what), "%s", c->trigger);
		snprintf(r->rt, sizeof(r->rt), "%s", c->runtime);
		snprintf(r->ns, sizeof(r->ns), "%s", c->ns != NULL ? c->ns : "");
		snprintf(r->img, sizeof(r->img), "%s",
		    c->image_ref != NULL ? c->image_ref : "");
		r->has_exit = c->has_exit_code;
		r->exit = c->exit_code;
		r->life = c->lifetime_ns;
		r->started = c->started_ns;
		r->pid = c->pid;
		r->ncmd = c->n_cmd;
	}
	return 0;
}

static size_t
count(enum tm_kind kind, const char *id, const char *what)
{
	size_t i, n = 0;

	for (i = 0; i < nrecs; i++)
		if (recs[i].kind == kind && strcmp(recs[i].id, id) == 0 &&
		    (what == NULL || strcmp(recs[i].what, what) == 0))
			n++;
	return n;
}

static struct rec *
find(enum tm_kind kind, const char *id, const char *what)
{
	size_t i;

	for (i = 0; i < nrecs; i++)
		if (recs[i].kind == kind && strcmp(recs[i].id, id) == 0 &&
		    strcmp(recs[i].what, what) == 0)
			return &recs[i];
	return NULL;
}

struct fx {
	struct agent	 a;
	uv_loop_t	 loop;
	char		 proc[64];
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	uv_loop_init(&f->loop);
	f->a.loop = &f->loop;
	strcpy(f->proc, "/tmp/tm-watch-ctr-XXXXXX");
	assert_non_null(mkdtemp(f->proc));
	f->a.cfg.proc_root = f->proc;
	containers_open(&f->a);
	nrecs = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	containers_close(&f->a);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	rmdir(f->proc);
	free(f);
	return 0;
}

/* Let the scans in flight come back. */
static void
settle(struct fx *f)
{
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void
obs(struct fx *f, enum ctr_src src, const char *ns, const char *id,
    enum ctr_act act, uint64_t t, uint32_t pid, int exit_code,
    const char *exec_id)
{
	struct ctr_obs o;

	memset(&o, 0, sizeof(o));
	o.src = src;
	o.ns = ns;
	o.id = id;
	o.act = act;
	o.time_ns = t;
	o.pid = pid;
	o.exec_id = exec_id;
	if (exit_code >= 0) {
		o.has_exit = true;
		o.exit_code = exit_code;
	}
	containers_observe(&f->a, &o);
}

/* Docker's inspect of a container in state (created, running, exited). */
static void
docker_meta(struct fx *f, const char *id, const char *state, uint64_t started,
    uint64_t finished, int exit_code, bool listed)
{
	struct tm_container m;
	char **cmd = xcalloc(2, sizeof(char *));

	memset(&m, 0, sizeof(m));
	m.runtime = xstrdup("docker");
	m.ns = xstrdup("moby");
	m.id = xstrdup(id);
	m.name = xstrdup("web");
	m.image_ref = xstrdup("nginx:1.25");
	m.image_id = xstrdup("sha256:1234");
	cmd[0] = xstrdup("nginx");
	cmd[1] = xstrdup("-g");
	m.cmd = cmd;
	m.n_cmd = 2;
	m.state = xstrdup(state);
	m.created_ns = 1000;
	m.started_ns = started;
	m.finished_ns = finished;
	if (exit_code >= 0) {
		m.has_exit_code = true;
		m.exit_code = exit_code;
	}
	m.risks.seccomp = xstrdup("default");
	containers_meta_done(&f->a, CTR_SRC_DOCKER, "moby", id, &m, listed);
	tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), &m);
}

#define D CTR_SRC_DOCKER
#define C CTR_SRC_CONTAINERD
#define EV TM_KIND_EVENT
#define CT TM_KIND_CONTAINER

static void
test_both_watchers_give_one_container_and_one_record_each(void **state)
{
	struct fx *f = *state;
	struct rec *r;

	/* docker run: Docker's create (inspected), then containerd's view of
	 * the start overtakes Docker's, and so on; both report everything. */
	containers_meta_wait(&f->a, D, "moby", ID);
	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	docker_meta(f, ID, "created", 0, 0, -1, false);
	obs(f, C, "moby", ID, CTR_ACT_CREATE, 1900, 0, -1, NULL);	/* Docker's containerd container */
	obs(f, C, "moby", ID, CTR_ACT_START, 2000, 999999, -1, NULL);
	settle(f);
	obs(f, D, "moby", ID, CTR_ACT_START, 2100, 0, -1, NULL);
	obs(f, C, "moby", ID, CTR_ACT_EXIT, 5000, 0, 0, NULL);
	obs(f, D, "moby", ID, CTR_ACT_EXIT, 5100, 0, 0, NULL);
	obs(f, C, "moby", ID, CTR_ACT_DELETE, 5200, 0, -1, NULL);	/* containerd's, not Docker's */
	obs(f, D, "moby", ID, CTR_ACT_DELETE, 6000, 0, -1, NULL);
	settle(f);

	assert_int_equal(count(EV, ID, "create"), 1);
	assert_int_equal(count(EV, ID, "start"), 1);
	assert_int_equal(count(EV, ID, "exit"), 1);
	assert_int_equal(count(EV, ID, "delete"), 1);
	assert_int_equal(count(CT, ID, "start"), 1);
	assert_int_equal(count(CT, ID, "exit"), 1);
	assert_int_equal(count(CT, ID, NULL), 2);
	r = find(CT, ID, "exit");
	assert_string_equal(r->rt, "docker");
	assert_string_equal(r->ns, "moby");
	assert_string_equal(r->img, "nginx:1.25");
	assert_true(r->has_exit);
	assert_int_equal(r->exit, 0);
	assert_int_equal(r->started, 2000);	/* the earliest source's start */
	assert_int_equal(r->life, 3000);
	assert_int_equal(r->pid, 999999);
	assert_int_equal(containers_count(&f->a), 0);
}

static void
test_replayed_and_relisted_events_change_nothing(void **state)
{
	struct fx *f = *state;
	size_t before;

	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_START, 2000, 0, -1, NULL);
	docker_meta(f, ID, "running", 2000, 0, -1, false);
	obs(f, D, "moby", ID, CTR_ACT_EXIT, 3000, 0, 1, NULL);
	settle(f);
	before = nrecs;
	assert_int_equal(count(CT, ID, "exit"), 1);
	/* Docker's since= replays the same events after a reconnection... */
	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_START, 2000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_EXIT, 3000, 0, 1, NULL);
	/* ...and the reconciling listing finds it again, exited */
	containers_list_begin(&f->a, D, true);
	containers_listed(&f->a, D, "moby", ID);
	docker_meta(f, ID, "exited", 2000, 3000, 1, true);
	containers_list_end(&f->a, D);
	settle(f);
	assert_int_equal(nrecs, before);
}

static void
test_restart_is_a_new_run_with_its_own_records(void **state)
{
	struct fx *f = *state;

	docker_meta(f, ID, "created", 0, 0, -1, false);
	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_START, 2000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_EXIT, 3000, 0, 137, NULL);
	obs(f, C, "moby", ID, CTR_ACT_EXIT, 2990, 0, 137, NULL);
	/* restart policy: containerd's new start comes before Docker's */
	obs(f, C, "moby", ID, CTR_ACT_START, 4000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_START, 4010, 0, -1, NULL);
	settle(f);
	assert_int_equal(count(EV, ID, "start"), 2);
	assert_int_equal(count(EV, ID, "exit"), 1);
	assert_int_equal(count(CT, ID, "start"), 2);
	assert_int_equal(count(CT, ID, "exit"), 1);
	assert_int_equal(find(CT, ID, "exit")->exit, 137);
	assert_int_equal(containers_count(&f->a), 1);	/* running again */
}

static void
test_late_inspect_never_restarts_a_finished_run(void **state)
{
	struct fx *f = *state;

	/* `docker run --rm true`: containerd saw the exit (t=2050) before
	 * Docker recorded its StartedAt (t=2100); the start inspect answers
	 * after the exit with "exited, started at 2100". */
	docker_meta(f, ID, "created", 0, 0, -1, false);
	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	containers_meta_wait(&f->a, D, "moby", ID);
	obs(f, C, "moby", ID, CTR_ACT_START, 2000, 0, -1, NULL);
	obs(f, C, "moby", ID, CTR_ACT_EXIT, 2050, 0, 0, NULL);
	obs(f, D, "moby", ID, CTR_ACT_START, 2100, 0, -1, NULL);
	docker_meta(f, ID, "exited", 2100, 2200, 0, false);
	obs(f, D, "moby", ID, CTR_ACT_EXIT, 2200, 0, 0, NULL);
	obs(f, D, "moby", ID, CTR_ACT_DELETE, 2300, 0, -1, NULL);
	settle(f);
	assert_int_equal(count(EV, ID, "start"), 1);
	assert_int_equal(count(CT, ID, NULL), 1);
	assert_int_equal(count(CT, ID, "exit"), 1);
}

/*
 * `ctr run --rm IMG true`: containerd stamps TaskStart (t=2000) when it
 * publishes it, after `true` already exited (TaskExit's exited_at 1990,
 * the same pid): that exit is this run's, with its exit code -- not an
 * exit of an earlier run to ignore until the delete ends the run without
 * one.  An exit of another pid from before the start is still ignored.
 */
static void
test_exit_stamped_before_the_start_event_is_this_runs(void **state)
{
	struct fx *f = *state;
	struct rec *r;

	obs(f, C, "default", "quick", CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, C, "default", "quick", CTR_ACT_START, 2000, 4242, -1, NULL);
	obs(f, C, "default", "quick", CTR_ACT_EXIT, 1990, 4242, 3, NULL);
	obs(f, C, "default", "quick", CTR_ACT_DELETE, 2100, 0, -1, NULL);
	obs(f, C, "default", "other", CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, C, "default", "other", CTR_ACT_START, 2000, 4343, -1, NULL);
	obs(f, C, "default", "other", CTR_ACT_EXIT, 1990, 4000, 9, NULL);
	settle(f);
	r = find(CT, "quick", "exit");
	assert_non_null(r);
	assert_true(r->has_exit);
	assert_int_equal(r->exit, 3);
	assert_int_equal(r->life, 1);	/* ended at its start */
	assert_int_equal(count(EV, "quick", "exit"), 1);
	assert_null(find(CT, "other", "exit"));	/* still running */
	assert_int_equal(containers_count(&f->a), 1);
}

static void
test_short_lived_container_waits_for_its_metadata(void **state)
{
	struct fx *f = *state;
	struct rec *r;

	/* exits while Docker's inspect is still in flight */
	containers_meta_wait(&f->a, D, "moby", ID);
	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, C, "moby", ID, CTR_ACT_START, 2000, 4242, -1, NULL);
	obs(f, C, "moby", ID, CTR_ACT_EXIT, 2100, 0, 0, NULL);
	settle(f);
	assert_int_equal(count(CT, ID, NULL), 0);	/* not yet: no image */
	docker_meta(f, ID, "created", 0, 0, -1, false);
	settle(f);
	assert_int_equal(count(CT, ID, NULL), 1);
	r = find(CT, ID, "exit");
	assert_non_null(r);
	assert_string_equal(r->img, "nginx:1.25");
	assert_int_equal(r->ncmd, 2);
	assert_true(r->has_exit);
	assert_int_equal(r->life, 100);
}

static void
test_exec_seen_by_both_watchers_is_one_exec(void **state)
{
	struct fx *f = *state;
	const char *ex = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

	docker_meta(f, ID, "running", 2000, 0, -1, true);
	settle(f);
	assert_int_equal(count(CT, ID, "list"), 1);
	obs(f, C, "moby", ID, CTR_ACT_EXEC, 3000, 5555, -1, ex);
	obs(f, D, "moby", ID, CTR_ACT_EXEC, 3001, 0, -1, ex);
	settle(f);
	assert_int_equal(count(EV, ID, "exec"), 1);
	assert_string_equal(find(EV, ID, "exec")->exec, ex);
	assert_int_equal(count(CT, ID, "exec"), 1);
	obs(f, C, "moby", ID, CTR_ACT_EXEC, 4000, 5556, -1, "second");
	settle(f);
	assert_int_equal(count(CT, ID, "exec"), 2);
}

static void
test_listing_after_reconnection_reports_what_vanished(void **state)
{
	struct fx *f = *state;

	containers_list_begin(&f->a, C, false);
	containers_listed(&f->a, C, "default", "keep");
	containers_listed(&f->a, C, "default", "gone");
	obs(f, C, "default", "keep", CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, C, "default", "gone", CTR_ACT_CREATE, 1000, 0, -1, NULL);
	containers_list_end(&f->a, C);
	obs(f, C, "default", "gone", CTR_ACT_START, 1500, 0, -1, NULL);
	settle(f);
	assert_int_equal(count(CT, "keep", "list"), 1);
	assert_int_equal(count(CT, "gone", "list"), 1);
	/* reconnected: "gone" is not there any more */
	containers_list_begin(&f->a, C, true);
	containers_listed(&f->a, C, "default", "keep");
	containers_listed(&f->a, C, "default", "new");
	obs(f, C, "default", "new", CTR_ACT_CREATE, 5000, 0, -1, NULL);
	containers_list_end(&f->a, C);
	settle(f);
	assert_int_equal(count(EV, "gone", "exit"), 1);
	assert_int_equal(count(EV, "gone", "delete"), 1);
	assert_int_equal(count(CT, "gone", "exit"), 1);
	assert_int_equal(count(EV, "keep", "delete"), 0);
	assert_int_equal(count(CT, "keep", NULL), 1);
	assert_int_equal(count(CT, "new", "reconcile"), 1);
	assert_string_equal(find(CT, "new", "reconcile")->rt, "containerd");
}

/*
 * After dockerd restarts, the reconciling listing can answer before the
 * stream delivers the create event of a container that was created in
 * between: the listing names it first.  If it then runs and exits while its
 * metadata is on its way, its one record tells of an exit the agent saw
 * happen: "exit", not "reconcile" (what the listing alone would have told).
 */
static void
test_exit_seen_live_after_a_listing_is_an_exit(void **state)
{
	struct fx *f = *state;
	struct rec *r;

	containers_list_begin(&f->a, D, true);
	containers_listed(&f->a, D, "moby", ID);
	containers_meta_wait(&f->a, D, "moby", ID);	/* the listing's inspect */
	containers_list_end(&f->a, D);
	obs(f, D, "moby", ID, CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_START, 2000, 0, -1, NULL);
	obs(f, D, "moby", ID, CTR_ACT_EXIT, 2200, 0, 0, NULL);
	docker_meta(f, ID, "exited", 2000, 2200, 0, true);
	settle(f);
	assert_int_equal(count(CT, ID, NULL), 1);
	assert_non_null(r = find(CT, ID, "exit"));
	assert_true(r->has_exit);
	assert_int_equal(r->exit, 0);
	assert_int_equal(r->life, 200);
	obs(f, D, "moby", ID, CTR_ACT_DELETE, 2300, 0, -1, NULL);
	settle(f);
	assert_int_equal(count(CT, ID, NULL), 1);

	/* The same listing naming an exited container whose exit we did not
	 * see: that one record is the listing's. */
	containers_list_begin(&f->a, D, true);
	containers_listed(&f->a, D, "moby", ID2);
	containers_list_end(&f->a, D);
	docker_meta(f, ID2, "exited", 2000, 2200, 0, true);
	settle(f);
	assert_int_equal(count(CT, ID2, NULL), 1);
	assert_int_equal(count(CT, ID2, "reconcile"), 1);
}

#define SEC_NS	1000000000ull

/* One containerd container's whole life, from its events. */
static void
ctr_life(struct fx *f, const char *id, uint64_t t)
{
	obs(f, C, "default", id, CTR_ACT_CREATE, t, 0, -1, NULL);
	obs(f, C, "default", id, CTR_ACT_START, t + 1000, 0, -1, NULL);
	obs(f, C, "default", id, CTR_ACT_EXIT, t + 2000, 0, 0, NULL);
	obs(f, C, "default", id, CTR_ACT_DELETE, t + 3000, 0, -1, NULL);
	settle(f);
}

/*
 * A removed container keeps its whole entry until it has settled, then
 * only a tombstone that still recognises late and replayed events; old
 * tombstones go.
 */
static void
test_removed_container_becomes_a_tombstone(void **state)
{
	struct fx	*f = *state;
	size_t		 n, tombs, before;

	ctr_life(f, "t1", 1000);
	ctr_life(f, "t2", 1000);
	assert_int_equal(count(EV, "t1", "delete"), 1);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(n, 2);
	assert_int_equal(tombs, 0);
	containers_prune_at(&f->a, mono_ns());		/* not settled yet */
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(n, 2);
	containers_prune_at(&f->a, mono_ns() + 11 * SEC_NS);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(n, 0);
	assert_int_equal(tombs, 2);
	/* Replayed: nothing new, no entry made again. */
	before = nrecs;
	ctr_life(f, "t1", 1000);
	obs(f, C, "default", "t2", CTR_ACT_EXIT, 3000, 0, 0, NULL);
	containers_task_created(&f->a, "default", "t1", 7);
	settle(f);
	assert_int_equal(nrecs, before);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(n, 0);
	assert_int_equal(tombs, 2);
	containers_prune_at(&f->a, mono_ns() + 700 * SEC_NS);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(tombs, 0);
}

/*
 * containerd's names are the user's: `ctr run --rm IMG NAME` twice is two
 * containers, each with its records, whether the first is still a whole
 * entry or already a tombstone.
 */
static void
test_a_name_used_again_is_a_new_container(void **state)
{
	struct fx	*f = *state;
	size_t		 n, tombs;

	ctr_life(f, "n1", 1000);
	ctr_life(f, "n1", 10000);		/* at once */
	assert_int_equal(count(EV, "n1", "create"), 2);
	assert_int_equal(count(EV, "n1", "delete"), 2);
	containers_prune_at(&f->a, mono_ns() + 11 * SEC_NS);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(tombs, 1);
	ctr_life(f, "n1", 20000);		/* after it settled */
	assert_int_equal(count(EV, "n1", "create"), 3);
	assert_int_equal(count(EV, "n1", "start"), 3);
	assert_int_equal(count(EV, "n1", "delete"), 3);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(n, 1);
	assert_int_equal(tombs, 0);
	/* The second run's events again: older than the last removal. */
	ctr_life(f, "n1", 10000);
	assert_int_equal(count(EV, "n1", "create"), 3);
	/* Used again while the removed one still waits (a timer: an exec
	 * whose pid has not come): it leaves the way, and goes later. */
	obs(f, C, "default", "n2", CTR_ACT_CREATE, 1000, 0, -1, NULL);
	obs(f, C, "default", "n2", CTR_ACT_START, 2000, 0, -1, NULL);
	obs(f, C, "default", "n2", CTR_ACT_EXEC, 2500, 0, -1, "x1");
	obs(f, C, "default", "n2", CTR_ACT_EXIT, 3000, 0, 0, NULL);
	obs(f, C, "default", "n2", CTR_ACT_DELETE, 4000, 0, -1, NULL);
	ctr_life(f, "n2", 5000);
	assert_int_equal(count(EV, "n2", "create"), 2);
	assert_int_equal(count(EV, "n2", "delete"), 2);
	containers_prune_at(&f->a, mono_ns() + 11 * SEC_NS);
	containers_sizes(&f->a, &n, &tombs);
	assert_int_equal(n, 0);		/* n2's first run freed */
	assert_int_equal(tombs, 2);	/* n1, n2's second run */
}

static void
test_unusable_names_are_refused(void **state)
{
	struct fx *f = *state;

	obs(f, C, "default", "", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "default", "a/b", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "", "x", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "default", "with space", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "default", "tab\there", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "default", "del\x7f", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "default", "caf\xc3\xa9", CTR_ACT_START, 1, 0, -1, NULL);
	obs(f, C, "ns/x", "ok", CTR_ACT_START, 1, 0, -1, NULL);
	settle(f);
	assert_int_equal(nrecs, 0);
	assert_int_equal(containers_count(&f->a), 0);
}

/* The one rule both the registry and the containerd watcher apply. */
static void
test_container_name_rule(void **state)
{
	char	 name[TM_STR_SHORT + 2];

	(void)state;
	assert_true(containers_name_ok("moby"));
	assert_true(containers_name_ok("k8s.io"));
	assert_true(containers_name_ok("web-1_a.b"));
	assert_true(containers_name_ok("~!@#$%^&*()+={}[]|\\:;'<>,?"));
	assert_false(containers_name_ok(NULL));
	assert_false(containers_name_ok(""));
	assert_false(containers_name_ok("a b"));
	assert_false(containers_name_ok("a/b"));
	assert_false(containers_name_ok("a\nb"));
	assert_false(containers_name_ok("a\x1b[31m"));
	assert_false(containers_name_ok("a\x7f"));
	assert_false(containers_name_ok("a\x80"));
	assert_false(containers_name_ok("\xff"));
	memset(name, 'a', TM_STR_SHORT);
	name[TM_STR_SHORT] = '\0';
	assert_true(containers_name_ok(name));
	name[TM_STR_SHORT] = 'a';
	name[TM_STR_SHORT + 1] = '\0';
	assert_false(containers_name_ok(name));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_both_watchers_give_one_container_and_one_record_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replayed_and_relisted_events_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_is_a_new_run_with_its_own_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_inspect_never_restarts_a_finished_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_stamped_before_the_start_event_is_this_runs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_lived_container_waits_for_its_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_seen_by_both_watchers_is_one_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_after_reconnection_reports_what_vanished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_seen_live_after_a_listing_is_an_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unusable_names_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_container_becomes_a_tombstone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_name_used_again_is_a_new_container, setup, teardown),
		cmocka_unit_test(test_container_name_rule),
	};

	log_init("test-containers", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
