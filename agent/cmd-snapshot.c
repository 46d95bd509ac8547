/*
 * cmd-snapshot.c: `tallyman-agent snapshot [--json]`: every container on
 * this host, once, with its full snapshot, then exit.
 *
 * The watchers connect in WATCH_ONCE mode: each lists its runtime's
 * containers (Docker: list and inspect; containerd: every namespace's
 * containers and tasks), processes are read from /proc, and when nothing
 * is in flight any more the records are printed.  A runtime whose socket is
 * absent or that does not answer is skipped with one log line.
 *
 * --json: one JSON object per line, the same records `run --output json`
 * streams: first the host record, then one container record per container
 * (why "list").  Without it, a table for people.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent/agent.h"

#define SNAP_TIMEOUT_MS	120000u	/* a runtime that answers nothing */

struct snap {
	struct agent	*a;
	bool		 json;
	uv_check_t	 check;
	uv_timer_t	 timeout;
	bool		 finished;
	size_t		 n;
};

static void
snap_print(struct agent *a, const struct tm_container *c, void *arg)
{
	struct snap *sn = arg;
	const struct tm_risks *r = &c->risks;
	char risks[256];

	sn->n++;
	if (sn->json) {
		if (agent_emit(a, TM_KIND_CONTAINER, c) == -1)
			log_warnx("snapshot: %.12s: record not emitted", c->id);
		return;
	}
	snprintf(risks, sizeof(risks), "%s%s%s%s%s%s",
	    r->privileged ? "privileged " : "",
	    r->docker_socket ? "runtime-socket " : "",
	    r->host_net ? "host-net " : "",
	    r->host_pid ? "host-pid " : "",
	    r->root_user ? "root " : "",
	    r->ro_rootfs ? "ro-rootfs " : "");
	printf("%-10s %-12.12s %-24.24s %-30.30s %-8s %5zu  %s\n",
	    c->runtime, c->id, c->name != NULL ? c->name :
	    (c->k8s_container != NULL ? c->k8s_container : "-"),
	    c->image_ref != NULL ? c->image_ref : "-", c->state, c->n_procs,
	    risks);
}

static void
snap_output_closed(struct agent *a)
{
	uv_stop(a->loop);
}

static void
snap_watchers_stopped(struct agent *a)
{
	if (a->out != NULL)
		output_close(a, snap_output_closed);
	else
		uv_stop(a->loop);
}

static void
snap_finish(struct snap *sn)
{
	struct agent *a = sn->a;

	if (sn->finished)
		return;
	sn->finished = true;
	uv_check_stop(&sn->check);
	uv_timer_stop(&sn->timeout);
	if (sn->json)
		host_emit(a, true);
	else
		printf("%-10s %-12s %-24s %-30s %-8s %5s  %s\n", "RUNTIME", "ID",
		    "NAME", "IMAGE", "STATE", "PROCS", "RISKS");
	containers_foreach(a, snap_print, sn);
	log_info("snapshot: %zu containers", sn->n);
	watchers_stop(a, snap_watchers_stopped);
}

/* After every turn of the loop: is everything listed and read? */
static void
snap_check(uv_check_t *h)
{
	struct snap *sn = h->data;

	if (watchers_done(sn->a) && containers_idle(sn->a))
		snap_finish(sn);
}

static void
snap_timeout(uv_timer_t *t)
{
	struct snap *sn = t->data;

	log_warnx("snapshot: runtimes still busy after %u s; printing what is "
	    "known", SNAP_TIMEOUT_MS / 1000);
	snap_finish(sn);
}

static void
snap_close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
cmd_snapshot_exec(struct agent *a, int argc, char **argv)
{
	struct snap sn;
	uv_loop_t loop;
	int i, rc = 0;

	memset(&sn, 0, sizeof(sn));
	sn.a = a;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			sn.json = true;
		else {
			fprintf(stderr, "usage: tallyman-agent [options] "
			    "snapshot [--json]\n");
			return 2;
		}
	}
	if (getenv("UV_THREADPOOL_SIZE") == NULL)
		setenv("UV_THREADPOOL_SIZE", "16", 1);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	uv_loop_init(&loop);
	a->loop = &loop;
	a->start_mono_ns = mono_ns();
	a->apparmor = host_apparmor();
	a->cfg.heartbeat_interval = 0;		/* records only */
	if (sn.json && output_open(a, "json") == -1) {
		rc = 1;
		goto out;
	}
	containers_open(a);
	watchers_start(a, WATCH_ONCE);
	uv_check_init(&loop, &sn.check);
	sn.check.data = &sn;
	uv_check_start(&sn.check, snap_check);
	uv_timer_init(&loop, &sn.timeout);
	sn.timeout.data = &sn;
	uv_timer_start(&sn.timeout, snap_timeout, SNAP_TIMEOUT_MS, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	containers_close(a);
	host_close(a);
out:
	uv_walk(&loop, snap_close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	a->loop = NULL;
	curl_global_cleanup();
	if (fflush(stdout) == EOF)
		rc = 1;
	return rc;
}

const struct agent_cmd agent_cmd_snapshot = {
	.name = "snapshot",
	.usage = "[--json]",
	.help = "list every container on this host once, with its full "
	    "snapshot, and exit; --json: the host record then one container "
	    "record per line",
	.exec = cmd_snapshot_exec,
};
