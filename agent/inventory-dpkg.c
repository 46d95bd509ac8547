/*
 * inventory-dpkg.c: Debian packages, from /var/lib/dpkg/status and the
 * distroless /var/lib/dpkg/status.d/ (one stanza file per package, without a
 * Status field).
 *
 * Each package is reported as dpkg-query prints it: ${Package}, ${Version}
 * (epoch kept, "0:" dropped, as dpkg normalises it), ${Architecture},
 * ${source:Package} and ${source:Version} (Source: "name" or "name (version)";
 * the binary's own when absent).  "Installed" means the package's files are
 * on disk: status installed, triggers-pending, triggers-awaited,
 * half-configured or unpacked; not-installed, config-files and half-installed
 * are left out.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"

#define DPKG_STATUS	"/var/lib/dpkg/status"
#define DPKG_STATUS_D	"/var/lib/dpkg/status.d"
#define DPKG_STANZA_MAX	(TM_PACKAGES_MAX * 4u)	/* stanzas per file */

/* The fields kept from one stanza: pointers into the buffer, not copied. */
struct dpkg_field {
	const char	*p;
	size_t		 len;
};
struct dpkg_stanza {
	struct dpkg_field package, status, version, arch, source;
	int		  has_status;
};

static int
dpkg_installed(const struct dpkg_field *f)
{
	static const char *const ok[] = {
		"installed", "triggers-pending", "triggers-awaited",
		"half-configured", "unpacked",
	};
	const char	*p = f->p, *end = f->p + f->len, *w;
	size_t		 i, n, words = 0;

	/* "want flag status": the third word. */
	while (p < end) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		w = p;
		while (p < end && !isspace((unsigned char)*p))
			p++;
		if (p == w)
			break;
		if (++words == 3) {
			n = p - w;
			for (i = 0; i < TM_NELEM(ok); i++)
				if (strlen(ok[i]) == n && memcmp(ok[i], w, n) == 0)
					return 1;
			return 0;
		}
	}
	return 0;
}

/*
 * Normalise a version as dpkg does when it parses and prints one: epoch as
 * a number and omitted when 0, "-revision" kept.  Returns 0, or -1 for what
 * dpkg itself refuses (empty, blanks, bad epoch, nothing after ':', empty
 * revision) or a result over outlen - 1.
 */
static int
dpkg_version(const char *v, size_t len, char *out, size_t outlen)
{
	const char	*colon, *up;
	unsigned long	 epoch = 0;
	size_t		 i, uplen;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++)
		if (isspace((unsigned char)v[i]) || v[i] == '\0')
			return -1;
	up = v;
	uplen = len;
	if ((colon = memchr(v, ':', len)) != NULL) {
		if (colon == v)
			return -1;
		for (i = 0; v + i < colon; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -1;
			epoch = epoch * 10 + (unsigned long)(v[i] - '0');
			if (epoch > 2147483647UL)
				return -1;
		}
		up = colon + 1;
		uplen = len - (size_t)(up - v);
		if (uplen == 0)
			return -1;
	}
	if (up[uplen - 1] == '-' || up[0] == '-')
		return -1;	/* empty revision, or empty upstream */
	if (epoch != 0) {
		if ((size_t)snprintf(out, outlen, "%lu:%.*s", epoch, (int)uplen,
		    up) >= outlen)
			return -1;
	} else {
		if (uplen >= outlen)
			return -1;
		memcpy(out, up, uplen);
		out[uplen] = '\0';
	}
	return 0;
}

static int
dpkg_copy(const struct dpkg_field *f, char *out, size_t outlen)
{
	if (f->len >= outlen)
		return -1;
	memcpy(out, f->p, f->len);
	out[f->len] = '\0';
	return 0;
}

/* Report one stanza.  Returns 0 (kept or skipped) or -1 (malformed). */
static int
dpkg_stanza_add(struct inventory_scan *s, const struct dpkg_stanza *st,
    const char *origin, int status_d)
{
	char		 name[TM_STR_SHORT + 1], ver[TM_STR_SHORT + 1];
	char		 arch[TM_STR_SHORT + 1], sname[TM_STR_SHORT + 1];
	char		 sver[TM_STR_SHORT + 1];
	const char	*p, *open, *close_;
	size_t		 n;

	if (st->package.p == NULL && st->version.p == NULL && !st->has_status)
		return 0;	/* a stanza of other fields only */
	if (st->has_status ? !dpkg_installed(&st->status) : !status_d)
		return 0;
	if (st->package.p == NULL || dpkg_copy(&st->package, name,
	    sizeof(name)) == -1 || *name == '\0') {
		inventory_error(s, origin, "stanza without a usable Package");
		return -1;
	}
	if (st->version.p == NULL ||
	    dpkg_version(st->version.p, st->version.len, ver, sizeof(ver)) == -1) {
		inventory_error(s, origin, "package %s: bad Version", name);
		return -1;
	}
	arch[0] = '\0';
	if (st->arch.p != NULL && dpkg_copy(&st->arch, arch, sizeof(arch)) == -1) {
		inventory_error(s, origin, "package %s: bad Architecture", name);
		return -1;
	}
	snprintf(sname, sizeof(sname), "%s", name);
	snprintf(sver, sizeof(sver), "%s", ver);
	if (st->source.p != NULL && st->source.len > 0) {
		p = st->source.p;
		/* Bounded by the field: buf need not be NUL-terminated. */
		for (n = 0; n < st->source.len && p[n] != ' ' && p[n] != '\t' &&
		    p[n] != '('; n++)
			;
		if (n == 0 || n >= sizeof(sname)) {
			inventory_error(s, origin, "package %s: bad Source", name);
			return -1;
		}
		memcpy(sname, p, n);
		sname[n] = '\0';
		open = memchr(p + n, '(', st->source.len - n);
		if (open != NULL) {
			close_ = memchr(open, ')', st->source.len - (open - p));
			if (close_ == NULL) {
				inventory_error(s, origin,
				    "package %s: bad Source version", name);
				return -1;
			}
			open++;
			while (open < close_ && isspace((unsigned char)*open))
				open++;
			while (close_ > open && isspace((unsigned char)close_[-1]))
				close_--;
			if (dpkg_version(open, close_ - open, sver,
			    sizeof(sver)) == -1) {
				inventory_error(s, origin,
				    "package %s: bad Source version", name);
				return -1;
			}
		}
	}
	if (inventory_add(s, "dpkg", name, ver, arch, sname, sver) == NULL)
		return -1;
	return 0;
}

/*
 * Parse a dpkg status buffer (deb822 stanzas).  Field names are matched
 * without case, values trimmed, continuation lines ignored (no kept field
 * spans lines).  Nothing is copied from a field we do not keep, so a huge
 * Description costs one pass.  Returns 0, or -1 if the buffer is not text.
 */
int
inventory_dpkg_parse(struct inventory_scan *s, const char *buf, size_t len,
    const char *origin, int status_d)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} fields[] = {
		{ "Package", offsetof(struct dpkg_stanza, package) },
		{ "Status", offsetof(struct dpkg_stanza, status) },
		{ "Version", offsetof(struct dpkg_stanza, version) },
		{ "Architecture", offsetof(struct dpkg_stanza, arch) },
		{ "Source", offsetof(struct dpkg_stanza, source) },
	};
	const char		*p = buf, *end = buf + len, *nl, *colon, *v, *ve;
	struct dpkg_stanza	 st;
	struct dpkg_field	*f;
	size_t			 i, stanzas = 0, nlen;

	if (memchr(buf, '\0', len) != NULL) {
		inventory_error(s, origin, "binary content (NUL byte)");
		return -1;
	}
	memset(&st, 0, sizeof(st));
	for (; p <= end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		ve = nl;
		if (ve > p && ve[-1] == '\r')
			ve--;
		v = p;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		if (v == ve) {			/* blank: end of stanza */
			dpkg_stanza_add(s, &st, origin, status_d);
			memset(&st, 0, sizeof(st));
			if (++stanzas > DPKG_STANZA_MAX) {
				inventory_error(s, origin, "over %u stanzas",
				    DPKG_STANZA_MAX);
				return 0;
			}
			if (nl == end)
				break;
			continue;
		}
		if (p[0] == ' ' || p[0] == '\t' || p[0] == '#')
			continue;		/* continuation or comment */
		if ((colon = memchr(p, ':', ve - p)) == NULL) {
			inventory_error(s, origin, "line without a field name");
			continue;
		}
		nlen = colon - p;
		for (i = 0; i < TM_NELEM(fields); i++) {
			if (strlen(fields[i].name) != nlen ||
			    strncasecmp(fields[i].name, p, nlen) != 0)
				continue;
			v = colon + 1;
			while (v < ve && isspace((unsigned char)*v))
				v++;
			while (ve > v && isspace((unsigned char)ve[-1]))
				ve--;
			f = (struct dpkg_field *)((char *)&st + fields[i].off);
			f->p = v;
			f->len = ve - v;
			if (fields[i].off == offsetof(struct dpkg_stanza, status))
				st.has_status = 1;
			break;
		}
		if (nl == end) {
			dpkg_stanza_add(s, &st, origin, status_d);
			break;
		}
	}
	return 0;
}

static int
dpkg_probe(struct inventory_scan *s)
{
	return rootfs_exists(s->root, DPKG_STATUS) ||
	    rootfs_exists(s->root, DPKG_STATUS_D);
}

static int
dpkg_parse(struct inventory_scan *s)
{
	char	*buf, **names, *path;
	size_t	 len, n, i, nl;
	int	 read = 0;

	if (rootfs_read(s->root, DPKG_STATUS, s->max_file, &buf, &len) == 0) {
		inventory_dpkg_parse(s, buf, len, DPKG_STATUS, 0);
		free(buf);
		read++;
	}
	if (rootfs_list(s->root, DPKG_STATUS_D, &names, &n) == 0) {
		for (i = 0; i < n; i++) {
			nl = strlen(names[i]);
			if (nl > 8 && strcmp(names[i] + nl - 8, ".md5sums") == 0)
				continue;
			xasprintf(&path, DPKG_STATUS_D "/%s", names[i]);
			if (rootfs_read(s->root, path, s->max_file, &buf,
			    &len) == 0) {
				inventory_dpkg_parse(s, buf, len, path, 1);
				free(buf);
				read++;
			}
			free(path);
		}
		rootfs_names_free(names, n);
	}
	return read > 0 ? 0 : -1;
}

const struct inventory_parser inventory_parser_dpkg = {
	.name = "dpkg",
	.probe = dpkg_probe,
	.parse = dpkg_parse,
};
