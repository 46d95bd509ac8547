/*
 * ecosystem.c: from an image's operating system (os-release ID, VERSION_ID,
 * PRETTY_NAME) to the OSV ecosystem its advisories are published under, and
 * how that ecosystem keys its packages.  The names and suffixes follow
 * osv-schema's ecosystems list:
 *
 *   Debian:12            source package; "Debian" (no release) also matches
 *   Ubuntu:22.04:LTS     source package; ":LTS" only on LTS releases (YY.04
 *                        with an even YY); fixes under Ubuntu Pro (ESM) are
 *                        "Ubuntu:Pro:22.04:LTS", matched for ESM packages
 *   Alpine:v3.19         origin (source) package; the "v" is required
 *   Rocky Linux:9        source RPM; unscoped "Rocky Linux" matches too
 *   AlmaLinux:9          source RPM; unscoped "AlmaLinux" matches too
 *   Red Hat:enterprise_linux:9::STREAM   binary or source RPM (CPE suffix;
 *                        every stream of the major release matches)
 *   SUSE:PRETTY_NAME     source RPM, binaries listed in ecosystem_specific
 *   openSUSE:PRETTY_NAME the same
 *   Photon OS:5.0        RPM package name
 *   Mageia:9             source RPM
 *   Wolfi, Chainguard    package name (no release)
 *
 * Adding a distribution is one line in ecosystem_table[].
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "collector/collector.h"

/* Release formatters: write the ecosystem key for version_id into out. */
typedef int (*eco_release_fn)(const char *name, const char *version_id,
    const char *pretty, struct eco_target *t);

/* "12", "12.5" -> "NAME:12"; unscoped "NAME" matches too. */
static int
eco_major(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	size_t	n;

	if (vid == NULL || *vid == '\0') {
		/* Debian testing/sid: no VERSION_ID, only unscoped records. */
		snprintf(t->eco, sizeof t->eco, "%s", name);
		return 0;
	}
	n = strcspn(vid, ".");
	if (n == 0 || n > 8 || strspn(vid, "0123456789") < n)
		return -1;
	snprintf(t->eco, sizeof t->eco, "%s:%.*s", name, (int)n, vid);
	snprintf(t->unscoped, sizeof t->unscoped, "%s", name);
	return 0;
}

/* "22.04" -> "Ubuntu:22.04:LTS" and "Ubuntu:Pro:22.04:LTS"; "23.10" ->
 * "Ubuntu:23.10". */
static int
eco_ubuntu(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	int	yy, mm, lts;
	char	tail;

	if (vid == NULL || sscanf(vid, "%2d.%2d%c", &yy, &mm, &tail) != 2 ||
	    strlen(vid) != 5)
		return -1;
	lts = mm == 4 && yy % 2 == 0;
	snprintf(t->eco, sizeof t->eco, "%s:%s%s", name, vid,
	    lts ? ":LTS" : "");
	snprintf(t->pro, sizeof t->pro, "%s:Pro:%s%s", name, vid,
	    lts ? ":LTS" : "");
	return 0;
}

/* "3.19.1" -> "Alpine:v3.19". */
static int
eco_alpine(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	unsigned	major, minor;

	if (vid == NULL || sscanf(vid, "%3u.%3u", &major, &minor) != 2)
		return -1;
	snprintf(t->eco, sizeof t->eco, "%s:v%u.%u", name, major, minor);
	return 0;
}

/* "9.3" -> "Red Hat:enterprise_linux:9" (osv.c keys every stream so). */
static int
eco_redhat(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	size_t	n;

	if (vid == NULL || (n = strcspn(vid, ".")) == 0 || n > 4 ||
	    strspn(vid, "0123456789") < n)
		return -1;
	snprintf(t->eco, sizeof t->eco, "%s:enterprise_linux:%.*s", name,
	    (int)n, vid);
	return 0;
}

/* SUSE and openSUSE: "SUSE:" + PRETTY_NAME, as osv-schema says. */
static int
eco_pretty(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	if (pretty == NULL || *pretty == '\0' ||
	    strlen(pretty) + strlen(name) + 2 > sizeof t->eco)
		return -1;
	snprintf(t->eco, sizeof t->eco, "%s:%s", name, pretty);
	return 0;
}

/* "5.0" -> "Photon OS:5.0", "9" -> "Mageia:9": VERSION_ID as written. */
static int
eco_asis(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	if (vid == NULL || *vid == '\0' || strlen(vid) > 16 ||
	    strspn(vid, "0123456789.") != strlen(vid))
		return -1;
	snprintf(t->eco, sizeof t->eco, "%s:%s", name, vid);
	return 0;
}

/* Rolling distributions: no release suffix. */
static int
eco_none(const char *name, const char *vid, const char *pretty,
    struct eco_target *t)
{
	snprintf(t->eco, sizeof t->eco, "%s", name);
	return 0;
}

static const struct ecosystem_def ecosystem_table[] = {
	{ .os_id = "debian", .osv = "Debian", .pkg = "dpkg",
	  .key = ECO_KEY_SOURCE, .release = eco_major },
	{ .os_id = "ubuntu", .osv = "Ubuntu", .pkg = "dpkg",
	  .key = ECO_KEY_SOURCE, .release = eco_ubuntu },
	{ .os_id = "alpine", .osv = "Alpine", .pkg = "apk",
	  .key = ECO_KEY_SOURCE, .release = eco_alpine },
	{ .os_id = "rocky", .osv = "Rocky Linux", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_major },
	{ .os_id = "almalinux", .osv = "AlmaLinux", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_major },
	{ .os_id = "rhel", .osv = "Red Hat", .pkg = "rpm",
	  .key = ECO_KEY_EITHER, .release = eco_redhat },
	{ .os_id = "sles", .osv = "SUSE", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_pretty },
	{ .os_id = "sled", .osv = "SUSE", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_pretty },
	{ .os_id = "sle-micro", .osv = "SUSE", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_pretty },
	{ .os_id = "opensuse-leap", .osv = "openSUSE", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_pretty },
	{ .os_id = "opensuse-leap-micro", .osv = "openSUSE", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_pretty },
	{ .os_id = "opensuse-tumbleweed", .osv = "openSUSE", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_pretty },
	{ .os_id = "photon", .osv = "Photon OS", .pkg = "rpm",
	  .key = ECO_KEY_EITHER, .release = eco_asis },
	{ .os_id = "mageia", .osv = "Mageia", .pkg = "rpm",
	  .key = ECO_KEY_SOURCE, .release = eco_asis },
	{ .os_id = "wolfi", .osv = "Wolfi", .pkg = "apk",
	  .key = ECO_KEY_EITHER, .release = eco_none },
	{ .os_id = "chainguard", .osv = "Chainguard", .pkg = "apk",
	  .key = ECO_KEY_EITHER, .release = eco_none },
};

/*
 * Fill *t with the OSV ecosystem keys for an image whose os-release says
 * ID=os_id, VERSION_ID=version_id, PRETTY_NAME=pretty (any may be NULL).
 * Returns 0, or -1 when the distribution is not one OSV covers or its
 * release cannot be read (then the image gets no vulnerability findings).
 */
int
ecosystem_map(const char *os_id, const char *version_id, const char *pretty,
    struct eco_target *t)
{
	size_t	i;

	memset(t, 0, sizeof *t);
	if (os_id == NULL)
		return -1;
	for (i = 0; i < TM_NELEM(ecosystem_table); i++) {
		const struct ecosystem_def *d = &ecosystem_table[i];

		if (strcmp(d->os_id, os_id) != 0)
			continue;
		if (d->release(d->osv, version_id, pretty, t) == -1) {
			memset(t, 0, sizeof *t);
			return -1;
		}
		t->def = d;
		t->scheme = version_scheme_find(d->pkg);
		return 0;
	}
	return -1;
}
