/*
 * inventory.c: what is installed in a root, as the distribution's own tools
 * would say.  The ecosystems are a table of parsers, one file each
 * (inventory-os.c, inventory-dpkg.c, ...): adding one is a file and a line.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

static const struct inventory_parser *const inventory_parsers[] = {
	&inventory_parser_os,
	&inventory_parser_dpkg,
	&inventory_parser_apk,
	&inventory_parser_rpm,
};

#define INVENTORY_NOTES_MAX	64

void
inventory_note(struct inventory_scan *s, const char *fmt, ...)
{
	struct tm_image	*img = s->img;
	char		 msg[TM_STR_SHORT];
	va_list		 ap;

	if (img->n_notes >= INVENTORY_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	img->notes = xreallocarray(img->notes, img->n_notes + 1, sizeof(char *));
	img->notes[img->n_notes++] = xstrdup(msg);
	log_info("inventory: %s: %s",
	    s->root != NULL ? rootfs_name(s->root) : "-", msg);
}

/* A malformed record in a file of the root: counted, logged (rate limited
 * by rootfs_error when there is a root). */
void
inventory_error(struct inventory_scan *s, const char *path, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->root != NULL)
		rootfs_error(s->root, path, "%s", msg);	/* counts it */
	else {
		s->errors++;
		log_warnx("inventory: %s: %s", path, msg);
	}
}

static int
inventory_str_ok(const char *v, size_t max)
{
	return v == NULL || strnlen(v, max + 1) <= max;
}

struct tm_package *
inventory_add(struct inventory_scan *s, const char *eco, const char *name,
    const char *version, const char *arch, const char *sname, const char *sver)
{
	struct tm_image		*img = s->img;
	struct tm_package	*p;

	if (name == NULL || *name == '\0' || version == NULL || *version == '\0')
		return NULL;
	if (!inventory_str_ok(name, TM_STR_SHORT) ||
	    !inventory_str_ok(version, TM_STR_SHORT) ||
	    !inventory_str_ok(arch, TM_STR_SHORT) ||
	    !inventory_str_ok(sname, TM_STR_SHORT) ||
	    !inventory_str_ok(sver, TM_STR_SHORT)) {
		inventory_error(s, eco, "package with a field over %u bytes",
		    TM_STR_SHORT);
		return NULL;
	}
	if (img->n_packages >= TM_PACKAGES_MAX) {
		inventory_error(s, eco, "over %u packages", TM_PACKAGES_MAX);
		return NULL;
	}
	if (img->n_packages == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		img->packages = xreallocarray(img->packages, s->cap,
		    sizeof(*img->packages));
	}
	p = &img->packages[img->n_packages++];
	memset(p, 0, sizeof(*p));
	p->ecosystem = xstrdup(eco);
	p->name = xstrdup(name);
	p->version = xstrdup(version);
	p->arch = arch != NULL && *arch != '\0' ? xstrdup(arch) : NULL;
	p->source_name = xstrdup(sname != NULL && *sname != '\0' ? sname : name);
	p->source_version = xstrdup(sver != NULL && *sver != '\0' ? sver : version);
	return p;
}

static int
inventory_pkg_cmp(const void *a, const void *b)
{
	const struct tm_package *x = a, *y = b;
	int	c;

	if ((c = strcmp(x->ecosystem, y->ecosystem)) != 0)
		return c;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	if ((c = strcmp(x->arch ? x->arch : "", y->arch ? y->arch : "")) != 0)
		return c;
	return strcmp(x->version, y->version);
}

void
inventory_sort(struct tm_image *img)
{
	if (img->n_packages > 1)
		qsort(img->packages, img->n_packages, sizeof(*img->packages),
		    inventory_pkg_cmp);
}

void
inventory_image_free(struct tm_image *img)
{
	size_t	i;

	for (i = 0; i < img->n_packages; i++) {
		struct tm_package *p = &img->packages[i];

		free(p->ecosystem);
		free(p->name);
		free(p->version);
		free(p->arch);
		free(p->source_name);
		free(p->source_version);
		free(p->vendor);
		free(p->modularity);
	}
	free(img->packages);
	for (i = 0; i < img->n_refs; i++)
		free(img->refs[i]);
	free(img->refs);
	for (i = 0; i < img->n_notes; i++)
		free(img->notes[i]);
	free(img->notes);
	free(img->key);
	free(img->image_id);
	free(img->os_id);
	free(img->os_version);
	free(img->os_codename);
	free(img->os_pretty);
	memset(img, 0, sizeof(*img));
}

/*
 * Scan root with every parser whose probe finds its database.  The packages
 * are sorted (ecosystem, name, arch).  A private temporary folder is made for
 * parsers that must copy a database out (rpm) and removed afterwards.
 * Returns 0; problems are in img->errors and img->notes.
 */
int
inventory_scan_root(struct rootfs *root, uint64_t max_file, struct tm_image *img)
{
	struct inventory_scan	 s;
	char			 tmpl[] = "/tmp/tallyman-scan-XXXXXX";
	const char		*tmpbase;
	char			*tmpdir = NULL;
	uint64_t		 t0 = mono_ns();
	size_t			 i;

	memset(&s, 0, sizeof(s));
	s.root = root;
	s.img = img;
	s.max_file = max_file ? max_file : INVENTORY_MAX_FILE;
	if ((tmpbase = getenv("TMPDIR")) != NULL && *tmpbase == '/')
		xasprintf(&tmpdir, "%s/tallyman-scan-XXXXXX", tmpbase);
	else
		tmpdir = xstrdup(tmpl);
	if (mkdtemp(tmpdir) == NULL) {
		log_warn("inventory: mkdtemp %s", tmpdir);
		free(tmpdir);
		tmpdir = NULL;
	}
	s.tmpdir = tmpdir;
	for (i = 0; i < TM_NELEM(inventory_parsers); i++) {
		const struct inventory_parser *p = inventory_parsers[i];
		size_t notes = img->n_notes;

		if (p->probe(&s) != 1)
			continue;
		log_debug("inventory: %s: %s found", rootfs_name(root), p->name);
		/* A parser that failed without saying why gets a generic note. */
		if (p->parse(&s) == -1 && img->n_notes == notes)
			inventory_note(&s, "%s: database found but not read",
			    p->name);
	}
	if (tmpdir != NULL) {
		if (rmdir(tmpdir) == -1)
			log_warn("inventory: rmdir %s", tmpdir);
		free(tmpdir);
	}
	inventory_sort(img);
	img->errors = s.errors + rootfs_errors(root);
	img->scan_ns = mono_ns() - t0;
	return 0;
}
