/*
 * drift-run.c: a test aid (not installed) that drives the agent's real
 * drift check the way the watcher does on a container's exec events:
 * drift_request on the thread pool, TM_KIND_DRIFT record through agent_emit
 * (output "json": one line per record on stdout).
 *
 *   drift-run ID UPPERDIR LOWER[:LOWER...] WHEN...
 *
 * One check per WHEN (start, exec, exit) on the same per-container state,
 * so a change is reported once.  Prints "drift WHEN files=N" to stderr per
 * check and "stats drift_records=N".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

static int	pending, last_n;

static void
run_done(struct agent *a, int nfiles, void *arg)
{
	fprintf(stderr, "drift %s files=%d\n", (const char *)arg, nfiles);
	last_n = nfiles;
	pending = 0;
}

static void
run_closed(struct agent *a)
{
}

int
main(int argc, char **argv)
{
	struct agent	 a;
	struct drift	*d;
	char		*lowers[ROOTFS_LAYERS_MAX], *spec, *spec2, *tok, *save;
	size_t		 n = 0;
	int		 i, rc = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: drift-run ID UPPERDIR LOWER[:LOWER...] WHEN...\n");
		return 2;
	}
	log_init("drift-run", LOG_LEVEL_WARN);
	memset(&a, 0, sizeof(a));
	if (cfg_defaults(agent_config_table, agent_config_table_len, &a.cfg) == -1)
		return 1;
	/* A private state folder for the sequence file, removed at exit. */
	free(a.cfg.state_dir);
	a.cfg.state_dir = xstrdup("/tmp/tm-drift-run-XXXXXX");
	if (mkdtemp(a.cfg.state_dir) == NULL)
		return 1;
	snprintf(a.host_id, sizeof(a.host_id), "test-host");
	a.loop = uv_default_loop();
	if (output_open(&a, "json") == -1)
		return 1;
	spec = xstrdup(argv[3]);
	for (tok = strtok_r(spec, ":", &save); tok != NULL && n < ROOTFS_LAYERS_MAX;
	    tok = strtok_r(NULL, ":", &save))
		lowers[n++] = tok;
	if ((d = drift_new(argv[2], (const char *const *)lowers, n)) == NULL)
		return 1;
	for (i = 4; i < argc; i++) {
		pending = 1;
		if (drift_request(&a, d, "docker", "moby", argv[1], NULL, argv[i],
		    run_done, argv[i]) == -1) {
			rc = 1;
			break;
		}
		while (pending)
			uv_run(a.loop, UV_RUN_ONCE);
		if (last_n < 0)
			rc = 1;
	}
	output_close(&a, run_closed);
	uv_run(a.loop, UV_RUN_DEFAULT);
	fflush(stdout);
	fprintf(stderr, "stats drift_records=%llu\n",
	    (unsigned long long)a.stats.drift_records);
	drift_free(d);
	xasprintf(&spec2, "%s/seq", a.cfg.state_dir);
	unlink(spec2);
	free(spec2);
	rmdir(a.cfg.state_dir);
	cfg_free(agent_config_table, agent_config_table_len, &a.cfg);
	free(spec);
	return rc;
}
