/*
 * fuzz-rpm-header.c: an rpm package header blob, as a container's rpm
 * database holds it, through agent/inventory-rpm.c: librpm's headerImport
 * (which must refuse what is malformed) and our reading of the tags (name,
 * epoch, version, release, arch, source rpm, vendor, modularity label).
 *
 * The input is the blob; the harness wraps it as the only package of an
 * NDB database (tests/fuzz/ndb.h) and reads it with inventory_rpm_read_ndb.
 * Properties: at most one package comes out; it is an rpm with a name and a
 * version within the schema's bounds; an epoch shows in the version as
 * "E:", and in the source version too.
 * Built only with librpm (HAVE_RPM).
 */
#include "config.h"

#include <inttypes.h>

#include "agent/agent.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/ndb.h"

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
	uint8_t			*db;
	size_t			 len;
	char			 prefix[32];

	db = ndb_wrap(data, size, &len);
	memset(&img, 0, sizeof(img));
	memset(&s, 0, sizeof(s));
	s.img = &img;
	s.max_file = INVENTORY_MAX_FILE;
	inventory_rpm_read_ndb(&s, (const char *)db, len);
	if (img.n_packages > 1)
		fuzz_fail("%zu packages from one header", img.n_packages);
	if (img.n_packages == 1) {
		p = &img.packages[0];
		if (strcmp(p->ecosystem, "rpm") != 0)
			fuzz_fail("ecosystem %s", p->ecosystem);
		if (fuzz_touch(p->name) == 0 || fuzz_touch(p->name) > TM_STR_SHORT ||
		    fuzz_touch(p->version) == 0 ||
		    fuzz_touch(p->version) > TM_STR_SHORT)
			fuzz_fail("name or version out of bounds");
		if (p->has_epoch) {
			snprintf(prefix, sizeof(prefix), "%" PRId64 ":", p->epoch);
			if (strncmp(p->version, prefix, strlen(prefix)) != 0)
				fuzz_fail("epoch %s not in version %s", prefix,
				    p->version);
			if (p->source_version == NULL ||
			    strncmp(p->source_version, prefix,
			    strlen(prefix)) != 0)
				fuzz_fail("epoch %s not in source version %s",
				    prefix, p->source_version);
		}
		fuzz_touch(p->arch);
		fuzz_touch(p->source_name);
		fuzz_touch(p->source_version);
		fuzz_touch(p->vendor);
		fuzz_touch(p->modularity);
	}
	inventory_image_free(&img);
	free(db);
	return 0;
}
