/*
 * inventory-rpm.c: rpm packages, through librpm.
 *
 * Databases looked for, in /usr/lib/sysimage/rpm then /var/lib/rpm:
 * rpmdb.sqlite (librpm's sqlite backend), Packages.db (SUSE's NDB: read by
 * inventory-rpm-ndb.c, each header blob handed to librpm's headerImport) and
 * Packages (Berkeley DB, librpm's read-only bdb_ro backend).  librpm opens
 * files by path, so the database is first copied, through a descriptor
 * opened safely inside the root, into the scan's private folder, and librpm
 * is pointed there.  librpm keeps its configuration in process-wide macros:
 * one scan at a time uses it (rpm_lock).  librpm is opened (dlopen) on the
 * first rpm database, not linked.  Built without librpm, the agent
 * reports databases it found but could not read in the image's notes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_RPM
#include <dlfcn.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>
#endif

#include "agent/agent.h"

static const char *const rpm_dirs[] = {
	"/usr/lib/sysimage/rpm",
	"/var/lib/rpm",
};

/* Per backend: the files to copy, the first being the one that must exist. */
static const struct rpm_backend {
	const char	*backend;
	const char	*files[4];
} rpm_backends[] = {
	{ "sqlite", { "rpmdb.sqlite", "rpmdb.sqlite-wal", "rpmdb.sqlite-shm", NULL } },
	{ "ndb", { "Packages.db", NULL } },
	{ "bdb_ro", { "Packages", NULL } },
};

/* Find the first database present: *dir and *be set.  Returns 1 or 0. */
static int
rpm_find(struct inventory_scan *s, const char **dir, const struct rpm_backend **be)
{
	char	*path;
	size_t	 i, j;
	int	 found;

	for (i = 0; i < TM_NELEM(rpm_dirs); i++) {
		for (j = 0; j < TM_NELEM(rpm_backends); j++) {
			xasprintf(&path, "%s/%s", rpm_dirs[i],
			    rpm_backends[j].files[0]);
			found = rootfs_exists(s->root, path);
			free(path);
			if (found) {
				*dir = rpm_dirs[i];
				*be = &rpm_backends[j];
				return 1;
			}
		}
	}
	return 0;
}

static int
rpm_probe(struct inventory_scan *s)
{
	const char			*dir;
	const struct rpm_backend	*be;

	return rpm_find(s, &dir, &be);
}

/*
 * Copy the regular file path inside the root to dst (created, 0600), at
 * most max bytes.  Returns 0, or -1 (counted by rootfs; ENOENT when absent).
 */
static int
rpm_copy_out(struct inventory_scan *s, const char *path, const char *dst)
{
	char		 buf[65536];
	uint64_t	 size, total = 0;
	ssize_t		 r;
	int		 in, out;

	if ((in = rootfs_open_file(s->root, path, &size)) == -1)
		return -1;
	if (size > s->max_file) {
		close(in);
		rootfs_error(s->root, path, "%llu bytes, over the bound",
		    (unsigned long long)size);
		return -1;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out == -1) {
		log_warn("inventory-rpm: %s", dst);
		close(in);
		return -1;
	}
	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			rootfs_error(s->root, path, "read: %s", strerror(errno));
			break;
		}
		total += (uint64_t)r;
		if (total > s->max_file) {
			rootfs_error(s->root, path, "grew over the bound");
			r = -1;
			break;
		}
		if (write(out, buf, (size_t)r) != r) {
			log_warn("inventory-rpm: write %s", dst);
			r = -1;
			break;
		}
	}
	close(in);
	if (close(out) == -1 || r == -1) {
		unlink(dst);
		return -1;
	}
	return 0;
}

static int
rpm_parse(struct inventory_scan *s)
{
	const char			*dir;
	const struct rpm_backend	*be;
	char				*copydir = NULL, *src, *dst;
	size_t				 i, n_notes;
	int				 r = -1;

	if (!rpm_find(s, &dir, &be))
		return 0;
#ifndef HAVE_RPM
	inventory_note(s, "rpm: %s database %s/%s found but this agent was "
	    "built without librpm", be->backend, dir, be->files[0]);
	return -1;
#endif
	if (strcmp(be->backend, "ndb") == 0) {
		/* Our own reader: no copy, no path handed to librpm. */
		char	*buf;
		size_t	 len;

		xasprintf(&src, "%s/%s", dir, be->files[0]);
		r = rootfs_read(s->root, src, s->max_file, &buf, &len);
		n_notes = s->img->n_notes;
		if (r == 0) {
			r = inventory_rpm_read_ndb(s, buf, len);
			free(buf);
		}
		if (r == -1 && s->img->n_notes == n_notes)
			inventory_note(s, "rpm: ndb database %s found but not "
			    "readable", src);
		free(src);
		return r;
	}
	if (s->tmpdir == NULL) {
		inventory_note(s, "rpm: %s database in %s found but no private "
		    "folder to copy it to", be->backend, dir);
		return -1;
	}
	xasprintf(&copydir, "%s/rpmdb", s->tmpdir);
	if (mkdir(copydir, 0700) == -1) {
		log_warn("inventory-rpm: mkdir %s", copydir);
		free(copydir);
		return -1;
	}
	for (i = 0; be->files[i] != NULL; i++) {
		xasprintf(&src, "%s/%s", dir, be->files[i]);
		xasprintf(&dst, "%s/%s", copydir, be->files[i]);
		if (rpm_copy_out(s, src, dst) == -1 && i == 0) {
			free(src);
			free(dst);
			inventory_note(s, "rpm: %s/%s found but not readable",
			    dir, be->files[0]);
			goto out;
		}
		free(src);
		free(dst);
	}
	n_notes = s->img->n_notes;
	r = inventory_rpm_read_dir(s, copydir, be->backend);
	if (r == -1 && s->img->n_notes == n_notes)
		inventory_note(s, "rpm: %s database %s/%s found but not readable",
		    be->backend, dir, be->files[0]);
out:
	/* librpm may leave a lock or sqlite side files: empty the folder. */
	{
		static const char *const extra[] = { ".rpm.lock", ".dbenv.lock" };
		for (i = 0; be->files[i] != NULL; i++) {
			xasprintf(&dst, "%s/%s", copydir, be->files[i]);
			unlink(dst);
			free(dst);
		}
		for (i = 0; i < TM_NELEM(extra); i++) {
			xasprintf(&dst, "%s/%s", copydir, extra[i]);
			unlink(dst);
			free(dst);
		}
	}
	if (rmdir(copydir) == -1)
		log_warn("inventory-rpm: rmdir %s", copydir);
	free(copydir);
	return r;
}


#ifdef HAVE_RPM
/*
 * librpm is opened on the first rpm database (rpm_init_locked), not linked:
 * it and the libraries only it needs (librpmio, liblua, libgcrypt,
 * libgpg-error, libpopt, liblzma, libbz2, libcap, libsqlite3) cost the
 * agent about 1.3 MiB resident from its start, on hosts that may never see
 * an rpm image (bench/RESULTS.md, "Agent cost").  Each function is taken
 * by dlsym with its header's own prototype; all are called under rpm_lock.
 */
#define RPM_FNS(X)							\
	X(rpmReadConfigFiles) X(rpmlogSetMask) X(rpmPushMacro)		\
	X(rpmPopMacro) X(rpmtsCreate) X(rpmtsSetRootDir)		\
	X(rpmtsSetVSFlags) X(rpmtsOpenDB) X(rpmtsInitIterator)		\
	X(rpmdbNextIterator) X(rpmdbFreeIterator) X(rpmtsFree)		\
	X(headerGetString) X(headerIsEntry) X(headerGetNumber)		\
	X(headerImport) X(headerFree)
static struct {
	void	*lib;
#define RPM_FN_PTR(f) __typeof__(&f) f;
	RPM_FNS(RPM_FN_PTR)
#undef RPM_FN_PTR
} rpm_lib;
static pthread_mutex_t	rpm_lock = PTHREAD_MUTEX_INITIALIZER;
static int		rpm_ready;	/* rpmReadConfigFiles done (under rpm_lock) */

/* Add the package described by h.  Returns 0 or -1 (counted). */
static int
rpm_add_header(struct inventory_scan *s, Header h)
{
	const char		*name, *ver, *rel, *arch, *srpm, *vendor, *mod;
	char			 evr[TM_STR_SHORT * 2], sname[TM_STR_SHORT + 1];
	char			 sver[TM_STR_SHORT * 2], *dash1, *dash2;
	struct tm_package	*p;
	uint64_t		 epoch = 0;
	int			 has_epoch;
	size_t			 n;

	name = rpm_lib.headerGetString(h, RPMTAG_NAME);
	ver = rpm_lib.headerGetString(h, RPMTAG_VERSION);
	rel = rpm_lib.headerGetString(h, RPMTAG_RELEASE);
	arch = rpm_lib.headerGetString(h, RPMTAG_ARCH);
	srpm = rpm_lib.headerGetString(h, RPMTAG_SOURCERPM);
	vendor = rpm_lib.headerGetString(h, RPMTAG_VENDOR);
	mod = rpm_lib.headerGetString(h, RPMTAG_MODULARITYLABEL);
	if (name == NULL || ver == NULL || rel == NULL) {
		inventory_error(s, "rpmdb", "header without name, version or release");
		return -1;
	}
	if ((has_epoch = rpm_lib.headerIsEntry(h, RPMTAG_EPOCH)))
		epoch = rpm_lib.headerGetNumber(h, RPMTAG_EPOCH);
	if (has_epoch)
		n = snprintf(evr, sizeof(evr), "%llu:%s-%s",
		    (unsigned long long)epoch, ver, rel);
	else
		n = snprintf(evr, sizeof(evr), "%s-%s", ver, rel);
	if (n >= sizeof(evr)) {
		inventory_error(s, "rpmdb", "package %.64s: version too long", name);
		return -1;
	}
	sname[0] = sver[0] = '\0';
	/* "name-version-release.src.rpm": the source's name and version. */
	if (srpm != NULL && (n = strlen(srpm)) < sizeof(sname)) {
		memcpy(sname, srpm, n + 1);
		if (n > 8 && strcmp(sname + n - 8, ".src.rpm") == 0)
			sname[n - 8] = '\0';
		else if (n > 10 && strcmp(sname + n - 10, ".nosrc.rpm") == 0)
			sname[n - 10] = '\0';
		dash2 = strrchr(sname, '-');
		if (dash2 != NULL) {
			*dash2 = '\0';
			dash1 = strrchr(sname, '-');
			if (dash1 != NULL) {
				*dash1 = '\0';
				if (has_epoch)
					snprintf(sver, sizeof(sver), "%llu:%s-%s",
					    (unsigned long long)epoch,
					    dash1 + 1, dash2 + 1);
				else
					snprintf(sver, sizeof(sver), "%s-%s",
					    dash1 + 1, dash2 + 1);
			} else
				sname[0] = '\0';
		} else
			sname[0] = '\0';
	}
	p = inventory_add(s, "rpm", name, evr, arch, sname, sver);
	if (p == NULL)
		return -1;
	p->has_epoch = has_epoch;
	p->epoch = (int64_t)epoch;
	if (vendor != NULL && strlen(vendor) <= TM_STR_SHORT)
		p->vendor = xstrdup(vendor);
	if (mod != NULL && strlen(mod) <= TM_STR_SHORT)
		p->modularity = xstrdup(mod);
	return 0;
}

/* One header blob (the on-disk form, as NDB and the Packages tables keep
 * it): imported by librpm, which checks its structure. */
static int
rpm_blob_cb(const void *blob, size_t len, void *arg)
{
	struct inventory_scan	*s = arg;
	const uint8_t		*b = blob;
	uint64_t		 il, dl;
	Header			 h;
	int			 r;

	/* The on-disk header: be32 index count, be32 data length, 16 bytes
	 * per index entry, the data.  Checked here before librpm sees it (a
	 * size of 0 would make headerImport trust the counts). */
	if (len < 8) {
		inventory_error(s, "Packages.db", "header blob of %zu bytes", len);
		return -1;
	}
	il = (uint64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	dl = (uint64_t)b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7];
	if (il == 0 || il > 0xffff || 8 + il * 16 + dl != len) {
		inventory_error(s, "Packages.db", "header blob sizes do not add "
		    "up (%llu entries, %llu data bytes, %zu bytes)",
		    (unsigned long long)il, (unsigned long long)dl, len);
		return -1;
	}
	h = rpm_lib.headerImport((void *)blob, (unsigned)len, HEADERIMPORT_COPY);
	if (h == NULL) {
		inventory_error(s, "Packages.db", "header blob refused by librpm");
		return -1;
	}
	r = rpm_add_header(s, h);
	rpm_lib.headerFree(h);
	return r;
}

/* rpm_lock held. */
static int
rpm_read_librpm(struct inventory_scan *s, const char *dbdir, const char *backend)
{
	rpmts			 ts;
	rpmdbMatchIterator	 mi;
	Header			 h;
	int			 r = 0;

	rpm_lib.rpmPushMacro(NULL, "_dbpath", NULL, dbdir, RMIL_CMDLINE);
	rpm_lib.rpmPushMacro(NULL, "_db_backend", NULL, backend, RMIL_CMDLINE);
	ts = rpm_lib.rpmtsCreate();
	rpm_lib.rpmtsSetRootDir(ts, "/");
	rpm_lib.rpmtsSetVSFlags(ts, _RPMVSF_NOSIGNATURES | _RPMVSF_NODIGESTS);
	if (rpm_lib.rpmtsOpenDB(ts, O_RDONLY) != 0) {
		log_warnx("inventory-rpm: librpm could not open the %s database",
		    backend);
		r = -1;
	} else {
		mi = rpm_lib.rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
		while (mi != NULL && (h = rpm_lib.rpmdbNextIterator(mi)) != NULL)
			rpm_add_header(s, h);
		rpm_lib.rpmdbFreeIterator(mi);
	}
	rpm_lib.rpmtsFree(ts);
	rpm_lib.rpmPopMacro(NULL, "_db_backend");
	rpm_lib.rpmPopMacro(NULL, "_dbpath");
	return r;
}

/*
 * Open librpm (RPM_SONAME) and take its functions, once; when it cannot
 * be, say so in the image's notes (its rpm packages are not read).
 * rpm_lock held.
 */
static int
rpm_load_locked(struct inventory_scan *s)
{
	void	*lib;

	if (rpm_lib.lib != NULL)
		return 0;
	if ((lib = dlopen(RPM_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		inventory_note(s, "rpm: librpm could not be loaded: %.200s",
		    dlerror());
		return -1;
	}
#define RPM_FN_LOAD(f)							\
	if ((*(void **)&rpm_lib.f = dlsym(lib, #f)) == NULL) {		\
		inventory_note(s, "rpm: librpm could not be loaded: "	\
		    "%s has no %s", RPM_SONAME, #f);			\
		dlclose(lib);						\
		return -1;						\
	}
	RPM_FNS(RPM_FN_LOAD)
#undef RPM_FN_LOAD
	rpm_lib.lib = lib;
	return 0;
}

/* Make librpm usable: load it and read its configuration once.  rpm_lock
 * held. */
static int
rpm_init_locked(struct inventory_scan *s)
{
	if (!rpm_ready) {
		if (rpm_load_locked(s) == -1)
			return -1;
		rpm_lib.rpmlogSetMask(RPMLOG_UPTO(RPMLOG_ERR));
		if (rpm_lib.rpmReadConfigFiles(NULL, NULL) != 0) {
			log_warnx("inventory-rpm: librpm configuration not read");
			return -1;
		}
		rpm_ready = 1;
	}
	return 0;
}

/*
 * Read the NDB database buf[0..len) (untrusted) with our reader, each
 * header checked and decoded by librpm.  Returns 0, or -1 if it is not an
 * NDB database.
 */
int
inventory_rpm_read_ndb(struct inventory_scan *s, const char *buf, size_t len)
{
	int	r = -1;

	pthread_mutex_lock(&rpm_lock);
	if (rpm_init_locked(s) == 0 &&
	    inventory_rpm_ndb_blobs(buf, len, rpm_blob_cb, s, &s->errors) >= 0)
		r = 0;
	pthread_mutex_unlock(&rpm_lock);
	return r;
}

int
inventory_rpm_read_dir(struct inventory_scan *s, const char *dbdir,
    const char *backend)
{
	int	r = -1;

	pthread_mutex_lock(&rpm_lock);
	if (rpm_init_locked(s) == 0)
		r = rpm_read_librpm(s, dbdir, backend);
	pthread_mutex_unlock(&rpm_lock);
	return r;
}
#else /* !HAVE_RPM: rpm_parse notes the database before getting here */
int
inventory_rpm_read_ndb(struct inventory_scan *s, const char *buf, size_t len)
{
	return -1;
}

int
inventory_rpm_read_dir(struct inventory_scan *s, const char *dbdir,
    const char *backend)
{
	return -1;
}
#endif

const struct inventory_parser inventory_parser_rpm = {
	.name = "rpm",
	.probe = rpm_probe,
	.parse = rpm_parse,
};
