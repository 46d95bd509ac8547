/*
 * fuzz-os-release.c: the os-release parser (agent/inventory-os.c) on a
 * container's hostile /etc/os-release.  Properties: each field found is a
 * non-empty string within the schema's short bound, and a second parse
 * into the same image changes nothing (fields already set are kept).
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

static void
check(const char *what, const char *v)
{
	size_t	n = fuzz_touch(v);

	if (v != NULL && (n == 0 || n >= TM_STR_SHORT))
		fuzz_fail("%s of %zu bytes", what, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_image		 img;
	struct inventory_scan	 s;
	char			*buf, *id, *ver;

	buf = fuzz_dup(data, size);
	memset(&img, 0, sizeof(img));
	memset(&s, 0, sizeof(s));
	s.img = &img;
	s.max_file = INVENTORY_MAX_FILE;
	inventory_os_parse_release(&s, buf, size);
	check("ID", img.os_id);
	check("VERSION_ID", img.os_version);
	check("VERSION_CODENAME", img.os_codename);
	check("PRETTY_NAME", img.os_pretty);
	id = img.os_id;
	ver = img.os_version;
	inventory_os_parse_release(&s, buf, size);
	if (img.os_id != id || img.os_version != ver)
		fuzz_fail("a second parse replaced fields already set");
	inventory_image_free(&img);
	free(buf);
	return 0;
}
