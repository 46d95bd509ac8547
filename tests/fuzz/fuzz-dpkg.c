/*
 * fuzz-dpkg.c: the dpkg status parser (agent/inventory-dpkg.c) on hostile
 * bytes, as a container's /var/lib/dpkg/status or a distroless status.d
 * file.  The first byte picks the flavour.  Properties: every package kept
 * has a non-empty name and version within the schema's bounds, the
 * ecosystem "dpkg", and a source name and version.
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
	int			 status_d;

	if (size < 1)
		return 0;
	status_d = data[0] & 1;
	buf = fuzz_dup(data + 1, size - 1);
	memset(&img, 0, sizeof(img));
	memset(&s, 0, sizeof(s));
	s.img = &img;
	s.max_file = INVENTORY_MAX_FILE;
	inventory_dpkg_parse(&s, buf, size - 1, "status", status_d);
	for (i = 0; i < img.n_packages; i++) {
		p = &img.packages[i];
		if (strcmp(p->ecosystem, "dpkg") != 0)
			fuzz_fail("ecosystem %s", p->ecosystem);
		if (fuzz_touch(p->name) == 0 || fuzz_touch(p->name) > TM_STR_SHORT)
			fuzz_fail("package name of %zu bytes", fuzz_touch(p->name));
		if (fuzz_touch(p->version) == 0 ||
		    fuzz_touch(p->version) > TM_STR_SHORT)
			fuzz_fail("version of %zu bytes", fuzz_touch(p->version));
		if (fuzz_touch(p->source_name) == 0 ||
		    fuzz_touch(p->source_version) == 0)
			fuzz_fail("package %s without its source", p->name);
		fuzz_touch(p->arch);
	}
	inventory_image_free(&img);
	free(buf);
	return 0;
}
