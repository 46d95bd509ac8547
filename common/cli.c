/*
 * cli.c: the command-line options both programs share, and loading the
 * configuration they name.  The programs' mains stay thin: cli_parse, then
 * cli_load_config, then their own subcommand table.
 *
 *   -c, --config FILE     configuration file (a missing default is fine,
 *                         a missing FILE given here is an error)
 *   -o KEY=VALUE          override one key (repeatable, applied in order)
 *       --log-level LVL   the same as -o log.level=LVL, applied last
 *       --check-config    validate, print the effective configuration, exit
 *   -h, --help
 *   -V, --version
 * Options stop at the first non-option: the subcommand and its arguments.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

#define CLI_MAX_OVERRIDES	256

/*
 * Parse argv into o (zero it first).  Returns 0, or -1 after writing the
 * reason to stderr (a usage error: exit status 2).  o->overrides point into
 * argv; free them with cli_free.
 */
int
cli_parse(const char *prog, int argc, char **argv, struct cli_opts *o)
{
	enum { OPT_LOG_LEVEL = 256, OPT_CHECK_CONFIG };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	opterr = 0;
	optind = 0;	/* glibc: 0 also resets its internal state */
	while ((ch = getopt_long(argc, argv, "+:c:ho:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'h':
			o->help = 1;
			break;
		case 'V':
			o->version = 1;
			break;
		case 'o':
			if (strchr(optarg, '=') == NULL) {
				fprintf(stderr, "%s: -o %s: expected KEY=VALUE\n",
				    prog, optarg);
				return -1;
			}
			if (o->noverrides >= CLI_MAX_OVERRIDES) {
				fprintf(stderr, "%s: more than %d -o options\n",
				    prog, CLI_MAX_OVERRIDES);
				return -1;
			}
			o->overrides = xreallocarray(o->overrides,
			    o->noverrides + 1, sizeof *o->overrides);
			o->overrides[o->noverrides++] = optarg;
			break;
		case OPT_LOG_LEVEL:
			o->log_level = optarg;
			break;
		case OPT_CHECK_CONFIG:
			o->check_config = 1;
			break;
		case ':':
			fprintf(stderr, "%s: %s: needs an argument\n", prog,
			    argv[optind - 1]);
			return -1;
		default:
			if (optopt != 0)
				fprintf(stderr, "%s: -%c: unknown option\n",
				    prog, optopt);
			else
				fprintf(stderr, "%s: %s: unknown option\n",
				    prog, argv[optind - 1]);
			return -1;
		}
	}
	o->argi = optind;
	return 0;
}

void
cli_free(struct cli_opts *o)
{
	free(o->overrides);
	o->overrides = NULL;
	o->noverrides = 0;
}

/*
 * Fill base from the table's defaults, the configuration file, the -o
 * overrides in order and --log-level, then set the log level from the
 * "log.level" key if the table has one.  The file is o->config_path, or
 * default_path when none was given; a missing default file is not an error
 * (defaults apply).  *used is set to the file actually read, or NULL.
 * Returns 0, or -1 with the reason logged ("config: FILE:LINE: reason:
 * text"); base must be cfg_free'd either way.
 */
int
cli_load_config(const struct cli_opts *o, const struct cfg_entry *table,
    size_t n, void *base, const char *default_path, const char **used)
{
	const char	*path = o->config_path != NULL ? o->config_path :
			    default_path;
	char		 err[512];
	size_t		 i;
	enum log_level	 lvl;

	*used = NULL;
	if (cfg_defaults(table, n, base) == -1)
		return -1;
	if (o->config_path == NULL && access(path, F_OK) == -1 &&
	    errno == ENOENT) {
		log_debug("config: %s not found, using defaults", path);
	} else {
		if (cfg_load_file(table, n, base, path, err, sizeof err) == -1) {
			log_emit(LOG_LEVEL_ERROR, "config: %s", err);
			return -1;
		}
		*used = path;
	}
	for (i = 0; i < o->noverrides; i++) {
		char	*key = xstrdup(o->overrides[i]);
		char	*eq = strchr(key, '=');
		int	 rc;

		*eq = '\0';
		rc = cfg_set(table, n, base, key, eq + 1, err, sizeof err);
		free(key);
		if (rc == -1) {
			log_emit(LOG_LEVEL_ERROR, "config: -o: %s", err);
			return -1;
		}
	}
	if (o->log_level != NULL &&
	    cfg_set(table, n, base, "log.level", o->log_level, err,
	    sizeof err) == -1) {
		log_emit(LOG_LEVEL_ERROR, "config: --log-level: %s", err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(table[i].key, "log.level") == 0 &&
		    table[i].type == CFG_STRING) {
			const char *v = *(char *const *)(const void *)
			    ((const char *)base + table[i].offset);

			if (log_level_parse(v, &lvl) == 0)
				log_set_level(lvl);
		}
	}
	return 0;
}

/* Print the option summary shared by both programs' --help. */
void
cli_print_options(FILE *fp, const char *default_path)
{
	fprintf(fp,
	    "Options:\n"
	    "  -c, --config FILE     configuration file (default %s;\n"
	    "                        a missing default file means defaults)\n"
	    "  -o KEY=VALUE          set one configuration key (repeatable)\n"
	    "      --log-level LVL   error, warning, info or debug\n"
	    "      --check-config    check the configuration, print it "
	    "(secrets masked),\n"
	    "                        exit 0 if valid, 1 with FILE:LINE: reason "
	    "if not\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         print the version\n", default_path);
}
