/*
 * ctr-name.c: the rule for a container id or namespace (agent.h), one
 * function for the registry (containers.c) and the containerd watcher,
 * and linked alone into the watchers' fuzz targets, whose stand-in
 * registry checks every name a watcher hands over against it.
 */
#include "config.h"

#include <string.h>

#include "agent/agent.h"

bool
containers_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > TM_STR_SHORT)
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch >= 0x7f || ch == '/')
			return false;
	}
	return true;
}
