/*
 * cmd-run.c: `tallyman-agent run [--output kafka|json|kafka,json]`, the
 * agent itself: watch Docker and containerd, snapshot every container,
 * publish the records (Kafka through the spool, or JSON lines on stdout).
 *
 * One libuv loop.  SIGTERM/SIGINT drain: the watchers stop, the output
 * flushes (the spool is synced, the producer waits for what is in flight),
 * then the loop ends.  SIGHUP reloads the configuration file: the log
 * level applies at once and the host record is sent again if it changed;
 * the other keys take effect at the next start (logged).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent/agent.h"

#define RUN_THREADS	"16"	/* process scans must not queue behind image scans */

static void
run_output_closed(struct agent *a)
{
	uv_stop(a->loop);
}

static void
run_watchers_stopped(struct agent *a)
{
	output_close(a, run_output_closed);
}

static void
run_signal(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;

	if (a->stopping)
		return;
	a->stopping = true;
	log_info("run: signal %d: draining", signum);
	uv_signal_stop(&a->sig_term);
	uv_signal_stop(&a->sig_int);
	uv_signal_stop(&a->sig_hup);
	watchers_stop(a, run_watchers_stopped);
}

static void
run_reload(uv_signal_t *s, int signum)
{
	struct agent *a = s->data;
	struct agent_config fresh;
	const char *used = NULL;

	memset(&fresh, 0, sizeof(fresh));
	if (cli_load_config(a->opts, agent_config_table, agent_config_table_len,
	    &fresh, a->config_path != NULL ? a->config_path :
	    TALLYMAN_CONFDIR "/agent.conf", &used) == -1) {
		log_warnx("run: reload failed; configuration unchanged");
		cfg_free(agent_config_table, agent_config_table_len, &fresh);
		return;
	}
	if (strcmp(fresh.docker_socket, a->cfg.docker_socket) != 0 ||
	    strcmp(fresh.containerd_socket, a->cfg.containerd_socket) != 0 ||
	    strcmp(fresh.output, a->cfg.output) != 0 ||
	    strcmp(fresh.host_id, a->cfg.host_id) != 0)
		log_info("run: reloaded; changed sockets, output or host.id take "
		    "effect at the next start");
	else
		log_info("run: reloaded");
	cfg_free(agent_config_table, agent_config_table_len, &fresh);
	host_emit(a, false);
}

static void
run_close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
run_usage(void)
{
	fprintf(stderr, "usage: tallyman-agent [options] run "
	    "[--output kafka|json|kafka,json]\n");
	return 2;
}

static int
cmd_run_exec(struct agent *a, int argc, char **argv)
{
	uv_loop_t loop;
	const char *spec = a->cfg.output;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strncmp(argv[i], "--output=", 9) == 0)
			spec = argv[i] + 9;
		else
			return run_usage();
	}
	/* Before the first uv_queue_work: libuv sizes its pool once. */
	if (getenv("UV_THREADPOOL_SIZE") == NULL)
		setenv("UV_THREADPOOL_SIZE", RUN_THREADS, 1);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("run: libcurl initialisation failed");
		return 1;
	}
	uv_loop_init(&loop);
	a->loop = &loop;
	a->start_mono_ns = mono_ns();
	a->apparmor = host_apparmor();
	if (output_open(a, spec) == -1) {
		rc = 1;
		goto out;
	}
	if (inventory_cache_open(a) == -1)
		log_warnx("run: image inventories will not be cached");
	containers_open(a);
	/* the host record goes out once every watcher has tried once */
	watchers_start(a, WATCH_STREAM);

	uv_signal_init(&loop, &a->sig_term);
	uv_signal_init(&loop, &a->sig_int);
	uv_signal_init(&loop, &a->sig_hup);
	a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;
	uv_signal_start(&a->sig_term, run_signal, SIGTERM);
	uv_signal_start(&a->sig_int, run_signal, SIGINT);
	uv_signal_start(&a->sig_hup, run_reload, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	log_info("run: watching (output %s)", spec);

	uv_run(&loop, UV_RUN_DEFAULT);

	log_info("run: %llu events, %llu snapshots, %llu records",
	    (unsigned long long)a->stats.events,
	    (unsigned long long)a->stats.snapshots,
	    (unsigned long long)a->stats.records);
	containers_close(a);
	host_close(a);
out:
	uv_walk(&loop, run_close_walk, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	inventory_cache_close(a);
	if (uv_loop_close(&loop) != 0)
		log_debug("run: loop closed with handles left");
	a->loop = NULL;
	curl_global_cleanup();
	return rc;
}

const struct agent_cmd agent_cmd_run = {
	.name = "run",
	.usage = "[--output kafka|json|kafka,json]",
	.help = "watch Docker and containerd, snapshot every container and "
	    "publish the records (default); json: one record per line on stdout",
	.exec = cmd_run_exec,
};
