/* main.c: tallyman-agent entry point (placeholder until the foundation lands). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "agent/agent.h"

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("tallyman-agent %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	fprintf(stderr, "tallyman-agent: not built yet\n");
	return 1;
}
