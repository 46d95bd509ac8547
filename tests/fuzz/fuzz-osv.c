/*
 * fuzz-osv.c: the OSV loader and matcher of the collector (collector/osv.c,
 * collector/osv-match.c) on hostile feed files: OSV feeds are downloaded
 * from the internet and their records are only as good as their authors.
 *
 * Input: fuzz_next chunks.  Every chunk but the last is one feed file
 * (JSON: a record, or an array of records) given to osv_db_parse; the last
 * is a package version.  After osv_db_finish the harness looks up package
 * "openssl" in a Debian, an Alpine, a Rocky Linux and an Ubuntu image, and
 * matches the version against every entry found, in each ecosystem's own
 * order.  Properties:
 *   - osv_db_parse returns -1 or the number of records it added, and a
 *     rejection says why;
 *   - every entry osv_db_lookup visits has the name asked for, and an
 *     advisory with an id;
 *   - a match names an advisory and the package; its "fixed" version, when
 *     there is one, is newer than the version matched (in that ecosystem's
 *     order).
 */
#include "config.h"

#include "collector/collector.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_FILES	8

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

struct probe {
	const char	*os, *version_id, *pretty;
};
static const struct probe probes[] = {
	{ "debian", "12", "Debian GNU/Linux 12 (bookworm)" },
	{ "alpine", "3.19.1", "Alpine Linux v3.19" },
	{ "rocky", "9.3", "Rocky Linux 9.3 (Blue Onyx)" },
	{ "ubuntu", "22.04", "Ubuntu 22.04.4 LTS" },
};

struct walk {
	const char			*name;
	const char			*version;
	const struct version_scheme	*vs;
	size_t				 visited;
};

static int
lookup_cb(const struct osv_vuln *v, const struct osv_affected *a, void *arg)
{
	struct walk	*w = arg;
	const char	*fixed = NULL, *why;

	w->visited++;
	if (v->id == NULL || a->name == NULL || strcmp(a->name, w->name) != 0)
		fuzz_fail("lookup of %s visited %s", w->name,
		    a->name != NULL ? a->name : "(null)");
	if (w->vs != NULL && w->vs->valid(w->version, &why) &&
	    osv_affected_contains(a, w->vs, w->version, &fixed) == 1 &&
	    fixed != NULL && w->vs->valid(fixed, &why) &&
	    w->vs->compare(fixed, w->version) <= 0)
		fuzz_fail("%s: %s affected, fixed in %s which is not newer",
		    v->id, w->version, fixed);
	return 0;
}

static int
match_cb(const struct osv_match *m, void *arg)
{
	const struct version_scheme	*vs = arg;
	const char			*why;

	if (m->vuln == NULL || m->vuln->id == NULL || m->aff == NULL ||
	    m->name == NULL || m->version == NULL)
		fuzz_fail("a match without its advisory or package");
	if (m->fixed != NULL && vs != NULL && vs->valid(m->fixed, &why) &&
	    vs->valid(m->version, &why) && vs->compare(m->fixed, m->version) <= 0)
		fuzz_fail("%s matches %s with fixed version %s, not newer",
		    m->vuln->id, m->version, m->fixed);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cursor	 c = { data, size };
	struct osv_db		*db;
	struct eco_target	 t;
	struct tm_package	 p;
	struct walk		 w;
	const uint8_t		*chunk[FUZZ_FILES + 1];
	size_t			 len[FUZZ_FILES + 1], n = 0, i;
	char			*buf, err[256], *version;
	int			 r;

	while (n < FUZZ_FILES + 1 && fuzz_next(&c, &chunk[n], &len[n]))
		n++;
	if (n == 0)
		return 0;
	db = osv_db_new();
	for (i = 0; i + 1 < n || (n == 1 && i == 0); i++) {
		buf = fuzz_dup(chunk[i], len[i]);
		err[0] = '\0';
		r = osv_db_parse(db, buf, len[i], "fuzz", err, sizeof(err));
		if (r < -1)
			fuzz_fail("osv_db_parse returned %d", r);
		if (r == -1 && err[0] == '\0')
			fuzz_fail("osv_db_parse refused without a reason");
		free(buf);
	}
	osv_db_finish(db);
	fuzz_touch(osv_db_digest(db));
	version = malloc(len[n - 1] + 1);
	memcpy(version, chunk[n - 1], len[n - 1]);
	version[len[n - 1]] = '\0';
	for (i = 0; i < TM_NELEM(probes); i++) {
		if (ecosystem_map(probes[i].os, probes[i].version_id,
		    probes[i].pretty, &t) == -1)
			fuzz_fail("no ecosystem for %s", probes[i].os);
		memset(&w, 0, sizeof(w));
		w.name = "openssl";
		w.version = version;
		w.vs = t.scheme;
		osv_db_lookup(db, t.eco, "openssl", lookup_cb, &w);
		memset(&p, 0, sizeof(p));
		p.ecosystem = (char *)(uintptr_t)(t.scheme != NULL ?
		    t.scheme->name : "dpkg");
		p.name = (char *)(uintptr_t)"libssl3";
		p.version = version;
		p.source_name = (char *)(uintptr_t)"openssl";
		p.source_version = version;
		osv_match_package(db, &t, &p, match_cb,
		    (void *)(uintptr_t)t.scheme);
	}
	free(version);
	osv_db_free(db);
	return 0;
}
