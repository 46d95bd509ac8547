/*
 * main.c: tallyman-collector's entry point.  Thin (STYLE.md rule 6): parse
 * the options, load the configuration, hand over to one subcommand from
 * collector_cmds[].  The run loop, signals and everything else live in the
 * commands' own files.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define COLLECTOR_PROG	"tallyman-collector"
#define COLLECTOR_CONF	TALLYMAN_CONFDIR "/collector.conf"

/* A command whose code does not exist yet: it says so and exits 2. */
#define COLLECTOR_CMD_NOT_BUILT(n, u, h, i) \
	(&(const struct collector_cmd){ .name = n, .usage = u, .help = h, \
	    .issue = i })

/* compare-versions needs no configuration (cmd-compare-versions.c). */
static int
collector_compare_versions(struct collector_config *cfg,
    const struct cli_opts *opts, int argc, char **argv)
{
	return cmd_compare_versions(argc, argv);
}

static const struct collector_cmd collector_cmd_compare_versions = {
	.name = "compare-versions",
	.usage = "dpkg|rpm|apk A B",
	.help = "print <, = or > for versions A and B in that scheme's order",
	.exec = collector_compare_versions,
};

/* The first entry is the default command. */
static const struct collector_cmd *const collector_cmds[] = {
	&collector_cmd_run,
	&collector_cmd_query,
	&collector_cmd_compare_versions,
	&collector_cmd_feeds,
};

static void
collector_usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: %s [options] [command [arguments]]\n\n"
	    "tallyman-collector stores the fleet's container inventory from "
	    "Kafka and\ncorrelates it with vulnerability feeds.\n\n",
	    COLLECTOR_PROG);
	cli_print_options(fp, COLLECTOR_CONF);
	fprintf(fp, "\nCommands:\n");
	for (i = 0; i < TM_NELEM(collector_cmds); i++) {
		const struct collector_cmd *c = collector_cmds[i];

		fprintf(fp, "  %s %s\n      %s%s\n", c->name, c->usage, c->help,
		    c->exec == NULL ? " [not built yet]" : "");
	}
	fprintf(fp, "\n");
	cfg_print_help(fp, collector_config_table, collector_config_table_len);
}

static const struct collector_cmd *
collector_cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < TM_NELEM(collector_cmds); i++)
		if (strcmp(collector_cmds[i]->name, name) == 0)
			return collector_cmds[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static char			*defargv[] = { NULL, NULL };
	struct cli_opts			 o;
	struct collector_config		 cfg;
	const struct collector_cmd	*cmd;
	const char			*used;
	int				 rc;

	memset(&o, 0, sizeof o);
	memset(&cfg, 0, sizeof cfg);
	log_init(COLLECTOR_PROG, LOG_LEVEL_INFO);
	if (cli_parse(COLLECTOR_PROG, argc, argv, &o) == -1) {
		fprintf(stderr, "Try '%s --help'.\n", COLLECTOR_PROG);
		cli_free(&o);
		return 2;
	}
	if (o.version || o.help) {
		if (o.version)
			printf("%s %s\n", COLLECTOR_PROG, PACKAGE_VERSION);
		else
			collector_usage(stdout);
		cli_free(&o);
		return 0;
	}
	cmd = o.argi < argc ? collector_cmd_find(argv[o.argi]) :
	    collector_cmds[0];
	if (cmd == NULL && !o.check_config) {
		fprintf(stderr, "%s: unknown command '%s'; try '%s --help'.\n",
		    COLLECTOR_PROG, argv[o.argi], COLLECTOR_PROG);
		cli_free(&o);
		return 2;
	}

	if (cli_load_config(&o, collector_config_table,
	    collector_config_table_len, &cfg, COLLECTOR_CONF, &used) == -1) {
		rc = 1;
	} else if (o.check_config) {
		printf("# %s: configuration %s is valid\n", COLLECTOR_PROG,
		    used != NULL ? used :
		    "(defaults; " COLLECTOR_CONF " not found)");
		cfg_print(stdout, collector_config_table,
		    collector_config_table_len, &cfg);
		rc = 0;
	} else if (cmd->exec == NULL) {
		fprintf(stderr, "%s %s: not built yet (issue %u)\n",
		    COLLECTOR_PROG, cmd->name, cmd->issue);
		rc = 2;
	} else if (o.argi < argc) {
		rc = cmd->exec(&cfg, &o, argc - o.argi, argv + o.argi);
	} else {
		defargv[0] = (char *)(uintptr_t)cmd->name;
		rc = cmd->exec(&cfg, &o, 1, defargv);
	}
	cfg_free(collector_config_table, collector_config_table_len, &cfg);
	cli_free(&o);
	return rc;
}
