/*
 * inventory-cache-run.c: a test aid (not installed) that drives the agent's
 * real image cache the way the watcher does: one inventory_image_request per
 * container, on a libuv loop, scans on the thread pool, TM_KIND_IMAGE records
 * through agent_emit (output "json": one line per record on stdout).
 *
 *   inventory-cache-run STATEDIR < containers
 *
 * Each input line is one container: "ID KEY LAYER[:LAYER...]" (layers upper
 * first; KEY "-" means the layer-chain hash).  For each container it prints
 * "container ID image-key KEY packages N" to stderr when its answer comes,
 * then "stats scans=N hits=N answered=N failed=N".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define RUN_MAX	1000

struct ctr {
	char	id[128];
	char	key[128];
	char	*layers[ROOTFS_LAYERS_MAX];
	size_t	n;
};

static size_t	answered, failed;

static void
run_done(struct agent *a, const char *key, const struct tm_image *img,
    int status, void *arg)
{
	struct ctr	*c = arg;

	if (status == -1) {
		failed++;
		return;
	}
	answered++;
	fprintf(stderr, "container %s image-key %s packages %zu\n", c->id, key,
	    img->n_packages);
}

static void
run_closed(struct agent *a)
{
}

int
main(int argc, char **argv)
{
	static struct ctr	 ctrs[RUN_MAX];
	struct agent		 a;
	struct image_source	 src;
	char			 line[65536], layers[65536], *tok, *save;
	size_t			 n = 0, i;

	if (argc != 2) {
		fprintf(stderr, "usage: inventory-cache-run STATEDIR < containers\n");
		return 2;
	}
	log_init("inventory-cache-run", LOG_LEVEL_WARN);
	memset(&a, 0, sizeof(a));
	if (cfg_defaults(agent_config_table, agent_config_table_len, &a.cfg) == -1)
		return 1;
	free(a.cfg.state_dir);
	a.cfg.state_dir = xstrdup(argv[1]);
	snprintf(a.host_id, sizeof(a.host_id), "test-host");
	a.loop = uv_default_loop();
	if (output_open(&a, "json") == -1 || inventory_cache_open(&a) == -1)
		return 1;
	while (n < RUN_MAX && fgets(line, sizeof(line), stdin) != NULL) {
		struct ctr *c = &ctrs[n];

		if (sscanf(line, "%127s %127s %65535s", c->id, c->key, layers) != 3)
			continue;
		for (tok = strtok_r(layers, ":", &save); tok != NULL &&
		    c->n < ROOTFS_LAYERS_MAX; tok = strtok_r(NULL, ":", &save))
			c->layers[c->n++] = xstrdup(tok);
		memset(&src, 0, sizeof(src));
		src.key = strcmp(c->key, "-") == 0 ? NULL : c->key;
		src.image_id = src.key;
		src.layers = (const char *const *)c->layers;
		src.n_layers = c->n;
		if (inventory_image_request(&a, &src, run_done, c) == -1)
			failed++;
		n++;
	}
	/* Until every container is answered, then drain the output. */
	while (answered + failed < n)
		uv_run(a.loop, UV_RUN_ONCE);
	output_close(&a, run_closed);
	uv_run(a.loop, UV_RUN_DEFAULT);
	fflush(stdout);
	fprintf(stderr, "stats scans=%llu hits=%llu answered=%zu failed=%zu\n",
	    (unsigned long long)a.stats.image_scans,
	    (unsigned long long)a.stats.image_cache_hits, answered, failed);
	inventory_cache_close(&a);
	cfg_free(agent_config_table, agent_config_table_len, &a.cfg);
	for (i = 0; i < n; i++)
		while (ctrs[i].n > 0)
			free(ctrs[i].layers[--ctrs[i].n]);
	return failed == 0 ? 0 : 1;
}
