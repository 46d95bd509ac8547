/*
 * inventory-apk.c: Alpine packages, from /lib/apk/db/installed.  The
 * database is stanzas of "K:value" lines separated by blank lines (apk's
 * documented installed-database format): P name, V version, A architecture,
 * o origin (the source package, same version).  Other keys (files, checksums,
 * dependencies) are skipped without being copied.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define APK_INSTALLED	"/lib/apk/db/installed"

struct apk_stanza {
	char	name[TM_STR_SHORT + 1];
	char	version[TM_STR_SHORT + 1];
	char	arch[TM_STR_SHORT + 1];
	char	origin[TM_STR_SHORT + 1];
	int	bad;
};

static void
apk_stanza_add(struct inventory_scan *s, struct apk_stanza *st, const char *origin)
{
	if (st->bad)
		inventory_error(s, origin, "package %s: field too long",
		    *st->name ? st->name : "?");
	else if (*st->name != '\0' || *st->version != '\0') {
		if (*st->name == '\0' || *st->version == '\0')
			inventory_error(s, origin, "package without P or V");
		else
			inventory_add(s, "apk", st->name, st->version,
			    st->arch, st->origin, st->version);
	}
	memset(st, 0, sizeof(*st));
}

/*
 * Parse an apk installed database buffer into s.  Returns 0, or -1 if the
 * buffer is binary.
 */
int
inventory_apk_parse(struct inventory_scan *s, const char *buf, size_t len,
    const char *origin)
{
	const char		*p = buf, *end = buf + len, *nl, *ve;
	struct apk_stanza	 st;
	char			*dst;
	size_t			 vlen;

	if (memchr(buf, '\0', len) != NULL) {
		inventory_error(s, origin, "binary content (NUL byte)");
		return -1;
	}
	memset(&st, 0, sizeof(st));
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		ve = nl;
		if (ve > p && ve[-1] == '\r')
			ve--;
		if (ve == p) {
			apk_stanza_add(s, &st, origin);
			continue;
		}
		if (ve - p < 2 || p[1] != ':') {
			inventory_error(s, origin, "line without a key");
			continue;
		}
		switch (p[0]) {
		case 'P': dst = st.name; break;
		case 'V': dst = st.version; break;
		case 'A': dst = st.arch; break;
		case 'o': dst = st.origin; break;
		default: continue;
		}
		vlen = ve - p - 2;
		if (vlen > TM_STR_SHORT) {
			st.bad = 1;
			continue;
		}
		memcpy(dst, p + 2, vlen);
		dst[vlen] = '\0';
	}
	apk_stanza_add(s, &st, origin);
	return 0;
}

static int
apk_probe(struct inventory_scan *s)
{
	return rootfs_exists(s->root, APK_INSTALLED);
}

static int
apk_parse(struct inventory_scan *s)
{
	char	*buf;
	size_t	 len;
	int	 r;

	if (rootfs_read(s->root, APK_INSTALLED, s->max_file, &buf, &len) == -1)
		return -1;
	r = inventory_apk_parse(s, buf, len, APK_INSTALLED);
	free(buf);
	return r;
}

const struct inventory_parser inventory_parser_apk = {
	.name = "apk",
	.probe = apk_probe,
	.parse = apk_parse,
};
