/*
 * fuzz-apk.c: the apk installed-database parser (agent/inventory-apk.c) on
 * hostile bytes, as a container's /lib/apk/db/installed.  Properties: every
 * package kept has the ecosystem "apk", a non-empty name and version within
 * the schema's bounds, and its origin's version is its own.
 */
#include "config.h"

#include "agent/agent.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_image		 img;
	struct inventory_scan	 s;
	const struct tm_package	*p;
	char			*buf;
	size_t			 i;

	buf = fuzz_dup(data, size);
	memset(&img, 0, sizeof(img));
	memset(&s, 0, sizeof(s));
	s.img = &img;
	s.max_file = INVENTORY_MAX_FILE;
	inventory_apk_parse(&s, buf, size, "installed");
	for (i = 0; i < img.n_packages; i++) {
		p = &img.packages[i];
		if (strcmp(p->ecosystem, "apk") != 0)
			fuzz_fail("ecosystem %s", p->ecosystem);
		if (fuzz_touch(p->name) == 0 || fuzz_touch(p->name) > TM_STR_SHORT)
			fuzz_fail("package name of %zu bytes", fuzz_touch(p->name));
		if (fuzz_touch(p->version) == 0 ||
		    fuzz_touch(p->version) > TM_STR_SHORT)
			fuzz_fail("version of %zu bytes", fuzz_touch(p->version));
		if (p->source_version == NULL ||
		    strcmp(p->source_version, p->version) != 0)
			fuzz_fail("package %s: origin version differs", p->name);
		fuzz_touch(p->arch);
		fuzz_touch(p->source_name);
	}
	inventory_image_free(&img);
	free(buf);
	return 0;
}
