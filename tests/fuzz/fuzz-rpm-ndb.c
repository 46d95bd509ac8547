/*
 * fuzz-rpm-ndb.c: our reader of SUSE's NDB rpm database
 * (agent/inventory-rpm-ndb.c) on hostile Packages.db files.
 *
 * The first byte is flags; the rest is the database.  With flag 1 the
 * harness repairs every blob's Adler-32 before reading, so mutations reach
 * the framing and the callback instead of dying at the checksum.
 * Properties:
 *   - every blob handed to the callback lies inside the file, after the
 *     slot pages, and is at most 64 MiB;
 *   - the count returned is -1 (not NDB) or the number of blobs accepted;
 *   - with librpm (HAVE_RPM), inventory_rpm_read_ndb reads the same bytes
 *     through librpm's headerImport and every package it reports is rpm.
 */
#include "config.h"

#include "agent/agent.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/ndb.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

struct seen {
	const uint8_t	*base;
	size_t		 len;
	int		 calls;
	unsigned	 sum;
};

static int
blob_cb(const void *blob, size_t len, void *arg)
{
	struct seen	*s = arg;
	const uint8_t	*b = blob;
	size_t		 i;

	s->calls++;
	if (b < s->base || len > s->len || (size_t)(b - s->base) > s->len - len)
		fuzz_fail("blob of %zu bytes outside the file", len);
	if ((size_t)(b - s->base) < 4096)
		fuzz_fail("blob inside the slot pages");
	for (i = 0; i < len; i++)
		s->sum += b[i];		/* ASan checks every byte */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen		 s;
	struct tm_image		 img;
	struct inventory_scan	 sc;
	uint8_t			*db;
	uint64_t		 errors = 0;
	size_t			 len, i;
	int			 n;

	if (size < 1)
		return 0;
	len = size - 1;
	db = (uint8_t *)fuzz_dup(data + 1, len);
	if (data[0] & 1)
		ndb_fix_checksums(db, len);
	memset(&s, 0, sizeof(s));
	s.base = db;
	s.len = len;
	n = inventory_rpm_ndb_blobs(db, len, blob_cb, &s, &errors);
	if (n < -1 || (n >= 0 && n != s.calls))
		fuzz_fail("returned %d after %d blobs", n, s.calls);
#ifdef HAVE_RPM
	memset(&img, 0, sizeof(img));
	memset(&sc, 0, sizeof(sc));
	sc.img = &img;
	sc.max_file = INVENTORY_MAX_FILE;
	inventory_rpm_read_ndb(&sc, (const char *)db, len);
	for (i = 0; i < img.n_packages; i++)
		if (strcmp(img.packages[i].ecosystem, "rpm") != 0 ||
		    fuzz_touch(img.packages[i].name) == 0)
			fuzz_fail("package %zu is not a named rpm", i);
	inventory_image_free(&img);
#else
	(void)img;
	(void)sc;
	(void)i;
#endif
	free(db);
	return 0;
}
