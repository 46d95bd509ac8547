/*
 * version.c: the table of version orders, one per package ecosystem.  Each
 * scheme lives in its own file (version-dpkg.c, version-rpm.c,
 * version-apk.c); adding an ecosystem is one new file and one line here.
 */
#include "config.h"

#include <string.h>

#include "collector/collector.h"

const struct version_scheme *const version_schemes[] = {
	&version_dpkg,
	&version_rpm,
	&version_apk,
};
const size_t version_schemes_len = TM_NELEM(version_schemes);

/*
 * Look a scheme up by its exact name ("dpkg", "rpm", "apk").  Returns a
 * pointer into the static table (never to be freed), or NULL if name is NULL
 * or unknown.
 */
const struct version_scheme *
version_scheme_find(const char *name)
{
	size_t	i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < version_schemes_len; i++) {
		if (strcmp(version_schemes[i]->name, name) == 0)
			return version_schemes[i];
	}
	return NULL;
}
