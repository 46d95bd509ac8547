/*
 * main.c: tallyman-agent's entry point.  Thin (STYLE.md rule 6): parse the
 * options, load the configuration, hand over to one subcommand from
 * agent_cmds[].  The run loop, signals and everything else live in the
 * commands' own files.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define AGENT_PROG	"tallyman-agent"
#define AGENT_CONF	TALLYMAN_CONFDIR "/agent.conf"

/* A command whose code does not exist yet: it says so and exits 2. */
#define AGENT_CMD_NOT_BUILT(n, u, h, i) \
	(&(const struct agent_cmd){ .name = n, .usage = u, .help = h, .issue = i })

/* scan takes its settings from its own options (cmd-scan.c). */
static int
agent_scan(struct agent *a, int argc, char **argv)
{
	return cmd_scan(argc, argv);
}

static const struct agent_cmd agent_cmd_scan = {
	.name = "scan",
	.usage = "--rootfs DIR | --layers UPPER:LOWER... | --image REF [--json]",
	.help = "inventory the packages of a root folder, layers or a local image",
	.exec = agent_scan,
};

/* The first entry is the default command. */
static const struct agent_cmd *const agent_cmds[] = {
	&agent_cmd_run,
	&agent_cmd_snapshot,
	&agent_cmd_scan,
};

static void
agent_usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: %s [options] [command [arguments]]\n\n"
	    "tallyman-agent inventories every container on this host and "
	    "publishes it to Kafka.\n\n", AGENT_PROG);
	cli_print_options(fp, AGENT_CONF);
	fprintf(fp, "\nCommands:\n");
	for (i = 0; i < TM_NELEM(agent_cmds); i++) {
		const struct agent_cmd *c = agent_cmds[i];

		fprintf(fp, "  %s %s\n      %s%s\n", c->name, c->usage, c->help,
		    c->exec == NULL ? " [not built yet]" : "");
	}
	fprintf(fp, "\n");
	cfg_print_help(fp, agent_config_table, agent_config_table_len);
}

static const struct agent_cmd *
agent_cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < TM_NELEM(agent_cmds); i++)
		if (strcmp(agent_cmds[i]->name, name) == 0)
			return agent_cmds[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static char		*defargv[] = { NULL, NULL };
	struct cli_opts		 o;
	struct agent		 a;
	const struct agent_cmd	*cmd;
	int			 rc;

	memset(&o, 0, sizeof o);
	memset(&a, 0, sizeof a);
	log_init(AGENT_PROG, LOG_LEVEL_INFO);
	if (cli_parse(AGENT_PROG, argc, argv, &o) == -1) {
		fprintf(stderr, "Try '%s --help'.\n", AGENT_PROG);
		cli_free(&o);
		return 2;
	}
	if (o.version || o.help) {
		if (o.version)
			printf("%s %s\n", AGENT_PROG, PACKAGE_VERSION);
		else
			agent_usage(stdout);
		cli_free(&o);
		return 0;
	}
	cmd = o.argi < argc ? agent_cmd_find(argv[o.argi]) : agent_cmds[0];
	if (cmd == NULL && !o.check_config) {
		fprintf(stderr, "%s: unknown command '%s'; try '%s --help'.\n",
		    AGENT_PROG, argv[o.argi], AGENT_PROG);
		cli_free(&o);
		return 2;
	}

	a.opts = &o;
	if (cli_load_config(&o, agent_config_table, agent_config_table_len,
	    &a.cfg, AGENT_CONF, &a.config_path) == -1) {
		rc = 1;
	} else if (o.check_config) {
		printf("# %s: configuration %s is valid\n", AGENT_PROG,
		    a.config_path != NULL ? a.config_path :
		    "(defaults; " AGENT_CONF " not found)");
		cfg_print(stdout, agent_config_table, agent_config_table_len,
		    &a.cfg);
		rc = 0;
	} else if (cmd->exec == NULL) {
		fprintf(stderr, "%s %s: not built yet (issue %u)\n", AGENT_PROG,
		    cmd->name, cmd->issue);
		rc = 2;
	} else if (o.argi < argc) {
		rc = cmd->exec(&a, argc - o.argi, argv + o.argi);
	} else {
		defargv[0] = (char *)(uintptr_t)cmd->name;
		rc = cmd->exec(&a, 1, defargv);
	}
	cfg_free(agent_config_table, agent_config_table_len, &a.cfg);
	cli_free(&o);
	return rc;
}
