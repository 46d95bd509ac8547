/*
 * cmd-compare-versions.c: `tallyman-collector compare-versions SCHEME A B`,
 * the operator's question "is 1.0.1e-2+deb7u4 older than the fix?" answered
 * with the same code the correlation uses.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "collector/collector.h"

#define CMP_EXIT_OK	0
#define CMP_EXIT_ERROR	2

static void
cmd_compare_versions_usage(FILE *fp)
{
	size_t	i;

	fprintf(fp,
	    "usage: tallyman-collector compare-versions SCHEME A B\n"
	    "\n"
	    "Compare versions A and B in the version order of SCHEME and print\n"
	    "'<' (A is older), '=' (same version) or '>' (A is newer).\n"
	    "SCHEME is one of:");
	for (i = 0; i < version_schemes_len; i++)
		fprintf(fp, "%s %s", i == 0 ? "" : ",", version_schemes[i]->name);
	fprintf(fp,
	    "\n"
	    "  dpkg  Debian and Ubuntu: [epoch:]upstream[-revision], '~' first\n"
	    "  rpm   RPM distributions: [epoch:]version[-release], '~' and '^'\n"
	    "  apk   Alpine: 1.2.3a_rc1~hash-r4 (_alpha _beta _pre _rc < none <\n"
	    "        _cvs _svn _git _hg _p)\n"
	    "\n"
	    "Exit status: 0 when the comparison was made; 2 for an unknown scheme,\n"
	    "an invalid version (the message names it) or a usage error.\n"
	    "\n"
	    "Example: tallyman-collector compare-versions dpkg 1.0.1e-2+deb7u4 "
	    "1.0.1e-2+deb7u5\n"
	    "prints '<'.\n");
}

/*
 * Run the subcommand.  argv[0] is "compare-versions"; argv[1..3] are SCHEME,
 * A and B.  Prints the answer on stdout, errors on stderr.  Returns the
 * process exit code (0 or 2); never exits itself.
 */
int
cmd_compare_versions(int argc, char **argv)
{
	const struct version_scheme	*vs;
	const char			*why;
	int				 i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			cmd_compare_versions_usage(stdout);
			return CMP_EXIT_OK;
		}
	}
	if (argc != 4) {
		log_emit(LOG_LEVEL_ERROR, "compare-versions: expected SCHEME A B, "
		    "got %d argument%s", argc - 1, argc == 2 ? "" : "s");
		cmd_compare_versions_usage(stderr);
		return CMP_EXIT_ERROR;
	}

	vs = version_scheme_find(argv[1]);
	if (vs == NULL) {
		char	known[128];
		size_t	used = 0;

		known[0] = '\0';
		for (i = 0; i < (int)version_schemes_len; i++) {
			r = snprintf(known + used, sizeof(known) - used, "%s%s",
			    i == 0 ? "" : ", ", version_schemes[i]->name);
			if (r < 0 || (size_t)r >= sizeof(known) - used)
				break;
			used += (size_t)r;
		}
		log_emit(LOG_LEVEL_ERROR, "compare-versions: unknown version "
		    "scheme '%s' (known: %s)", argv[1], known);
		return CMP_EXIT_ERROR;
	}
	for (i = 2; i <= 3; i++) {
		if (!vs->valid(argv[i], &why)) {
			log_emit(LOG_LEVEL_ERROR, "compare-versions: invalid %s "
			    "version '%s': %s", vs->name, argv[i], why);
			return CMP_EXIT_ERROR;
		}
	}

	r = vs->compare(argv[2], argv[3]);
	if (printf("%s\n", r < 0 ? "<" : r > 0 ? ">" : "=") < 0 ||
	    fflush(stdout) == EOF) {
		log_warn("compare-versions: writing the answer");
		return CMP_EXIT_ERROR;
	}
	return CMP_EXIT_OK;
}
