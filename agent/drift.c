/*
 * drift.c: what changed in a container's writable layer (its overlay
 * upperdir) compared with its image.
 *
 * Reported, once per change: executables (ELF magic or any exec bit) added
 * or modified, with path, size, mode and SHA-256; files owned by a package
 * (dpkg's info/NAME.list, apk's F:/R: lines, read from the image layers) that
 * were deleted (a whiteout, or an opaque folder hiding them).  A file is
 * reported again only when its identity (inode, size, mtime) changes.  The
 * walk is bounded in depth and entries; every open goes through safefile.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

#define DRIFT_DEPTH_MAX		64
#define DRIFT_ENTRIES_MAX	200000u
#define DRIFT_HASH_MAX		(512ull * 1024 * 1024)
#define DRIFT_LIST_MAX		(64u * 1024 * 1024)

struct drift_seen {
	char		*path;
	uint64_t	 ino, size;
	int64_t		 mtime_ns;
};

struct drift {
	char			*upper;
	char			**lowers;
	size_t			 n_lowers;
	struct drift_seen	*seen;
	size_t			 n_seen, cap_seen;
	bool			 busy;
};

/* One walk. */
struct drift_walk {
	struct drift		*d;
	struct tm_drift		*out;
	size_t			 cap;
	char			**gone;		/* whiteouts and opaque folders */
	size_t			 n_gone, cap_gone;
	bool			*gone_opaque;
	size_t			 entries;
	uint64_t		 errors;
	struct rootfs		*lower;		/* the image, or NULL */
};

struct drift *
drift_new(const char *upperdir, const char *const *lowers, size_t n_lowers)
{
	struct drift	*d;
	size_t		 i;

	if (n_lowers > ROOTFS_LAYERS_MAX)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->upper = xstrdup(upperdir);
	d->lowers = xcalloc(n_lowers + 1, sizeof(char *));
	for (i = 0; i < n_lowers; i++)
		d->lowers[i] = xstrdup(lowers[i]);
	d->n_lowers = n_lowers;
	return d;
}

void
drift_free(struct drift *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n_lowers; i++)
		free(d->lowers[i]);
	free(d->lowers);
	for (i = 0; i < d->n_seen; i++)
		free(d->seen[i].path);
	free(d->seen);
	free(d->upper);
	free(d);
}

void
drift_record_free(struct tm_drift *dr)
{
	size_t	i;

	for (i = 0; i < dr->n_files; i++) {
		free(dr->files[i].path);
		free(dr->files[i].change);
		free(dr->files[i].sha256);
	}
	free(dr->files);
	dr->files = NULL;
	dr->n_files = 0;
}

static struct drift_seen *
drift_seen_find(struct drift *d, const char *path)
{
	size_t	i;

	for (i = 0; i < d->n_seen; i++)
		if (strcmp(d->seen[i].path, path) == 0)
			return &d->seen[i];
	return NULL;
}

/* Was path reported with this identity?  If not, remember it.  Returns 1
 * if new or changed. */
static int
drift_seen_update(struct drift *d, const char *path, const struct stat *st)
{
	struct drift_seen	*s;
	int64_t			 mt = 0;

	if (st != NULL)
		mt = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	if ((s = drift_seen_find(d, path)) != NULL) {
		if (st == NULL || (s->ino == st->st_ino &&
		    s->size == (uint64_t)st->st_size && s->mtime_ns == mt))
			return 0;
	} else {
		if (d->n_seen == d->cap_seen) {
			d->cap_seen = d->cap_seen ? d->cap_seen * 2 : 32;
			d->seen = xreallocarray(d->seen, d->cap_seen,
			    sizeof(*d->seen));
		}
		s = &d->seen[d->n_seen++];
		s->path = xstrdup(path);
	}
	s->ino = st ? st->st_ino : 0;
	s->size = st ? (uint64_t)st->st_size : 0;
	s->mtime_ns = mt;
	return 1;
}

static struct tm_drift_file *
drift_add(struct drift_walk *w, const char *path, const char *change)
{
	struct tm_drift_file	*f;

	if (w->out->n_files >= TM_FILES_MAX)
		return NULL;
	if (w->out->n_files == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->out->files = xreallocarray(w->out->files, w->cap, sizeof(*f));
	}
	f = &w->out->files[w->out->n_files++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->change = xstrdup(change);
	return f;
}

/*
 * Is the regular file (dirfd, name) an executable: an exec bit, or ELF
 * magic in its first bytes?  When it is and hash is set, *hex gets its
 * SHA-256 (bounded by DRIFT_HASH_MAX; NULL beyond).  Returns 1, 0 or -1.
 */
static int
drift_exec_hash(int dirfd, const char *name, const struct stat *st, char **hex)
{
	struct sha256_ctx	 ctx;
	uint8_t			 buf[65536], dg[32];
	char			 h[65];
	ssize_t			 r;
	int			 fd, isexec, first = 1;
	uint64_t		 total = 0;

	*hex = NULL;
	isexec = (st->st_mode & 0111) != 0;
	if ((fd = safe_openat(dirfd, name, O_RDONLY | O_NOFOLLOW)) == -1)
		return -1;
	sha256_init(&ctx);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (first) {
			first = 0;
			if (r >= 4 && memcmp(buf, "\177ELF", 4) == 0)
				isexec = 1;
			if (!isexec)
				break;
		}
		total += (uint64_t)r;
		if (total > DRIFT_HASH_MAX)
			break;
		sha256_update(&ctx, buf, (size_t)r);
	}
	close(fd);
	if (!isexec)
		return 0;
	if (total <= DRIFT_HASH_MAX) {
		sha256_final(&ctx, dg);
		sha256_hex(dg, h);
		*hex = xstrdup(h);
	}
	return 1;
}

static void
drift_gone_add(struct drift_walk *w, const char *path, bool opaque)
{
	if (w->n_gone == w->cap_gone) {
		w->cap_gone = w->cap_gone ? w->cap_gone * 2 : 16;
		w->gone = xreallocarray(w->gone, w->cap_gone, sizeof(char *));
		w->gone_opaque = xreallocarray(w->gone_opaque, w->cap_gone,
		    sizeof(bool));
	}
	w->gone_opaque[w->n_gone] = opaque;
	w->gone[w->n_gone++] = xstrdup(path);
}

static int
drift_is_opaque(int fd)
{
	char		 v[4];
	struct stat	 st;

	if (fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y')
		return 1;
	if (fgetxattr(fd, "user.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y')
		return 1;
	return fstatat(fd, ".wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Walk the folder fd (path inside the container: prefix) of the upperdir. */
static void
drift_walk_dir(struct drift_walk *w, int fd, const char *prefix, int depth)
{
	DIR		*dp;
	struct dirent	*de;
	struct stat	 st;
	char		*path, *hex;
	int		 dfd, sub, r;
	struct tm_drift_file *f;

	if ((dfd = dup(fd)) == -1 || (dp = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		w->errors++;
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++w->entries > DRIFT_ENTRIES_MAX) {
			if (w->entries == DRIFT_ENTRIES_MAX + 1) {
				w->errors++;
				log_warnx("drift: %s: over %u entries, rest "
				    "not examined", w->d->upper, DRIFT_ENTRIES_MAX);
			}
			break;
		}
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		xasprintf(&path, "%s/%s", prefix, de->d_name);
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
			drift_gone_add(w, path, false);
		} else if (strncmp(de->d_name, ".wh.", 4) == 0) {
			if (strcmp(de->d_name, ".wh..wh..opq") != 0) {
				free(path);
				xasprintf(&path, "%s/%s", prefix, de->d_name + 4);
				drift_gone_add(w, path, false);
			}
		} else if (S_ISDIR(st.st_mode)) {
			if (depth >= DRIFT_DEPTH_MAX) {
				w->errors++;
				log_warnx("drift: %s: %s: deeper than %d, not "
				    "examined", w->d->upper, path, DRIFT_DEPTH_MAX);
			} else if ((sub = safe_openat(fd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) != -1) {
				if (drift_is_opaque(sub))
					drift_gone_add(w, path, true);
				drift_walk_dir(w, sub, path, depth + 1);
				close(sub);
			} else
				w->errors++;
		} else if (S_ISREG(st.st_mode)) {
			r = drift_exec_hash(fd, de->d_name, &st, &hex);
			if (r == -1)
				w->errors++;
			else if (r == 1 && drift_seen_update(w->d, path, &st) &&
			    (f = drift_add(w, path, w->lower != NULL &&
			    rootfs_exists(w->lower, path) ? "modified" : "added"))
			    != NULL) {
				f->size = (uint64_t)st.st_size;
				f->mode = st.st_mode & 07777;
				f->sha256 = hex;
				hex = NULL;
			}
			free(hex);
		}
		free(path);
	}
	closedir(dp);
}

/* Does deleted path p (a whiteout, or an opaque folder) hide file f? */
static int
drift_covers(const char *p, bool opaque, const char *f, size_t flen)
{
	size_t	plen = strlen(p);

	if (flen == plen && memcmp(f, p, plen) == 0)
		return !opaque;
	return flen > plen && memcmp(f, p, plen) == 0 && f[plen] == '/';
}

/* Mark as deleted every whiteout that hides a file listed in buf (one
 * absolute path per line).  found[i] is set for w->gone[i]. */
static void
drift_match_list(struct drift_walk *w, const char *buf, size_t len, bool *found,
    char *apkdir)
{
	const char	*p = buf, *end = buf + len, *nl;
	char		 line[4096];
	size_t		 i, n;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		n = nl - p;
		if (apkdir != NULL) {
			/* apk: "F:dir" sets the folder, "R:name" a file in it. */
			if (n < 2 || p[1] != ':')
				continue;
			if (p[0] == 'F') {
				snprintf(apkdir, 4096, "/%.*s",
				    (int)(n - 2), p + 2);
				continue;
			}
			if (p[0] != 'R')
				continue;
			if ((size_t)snprintf(line, sizeof(line), "%s/%.*s",
			    strcmp(apkdir, "/") == 0 ? "" : apkdir,
			    (int)(n - 2), p + 2) >= sizeof(line))
				continue;
		} else {
			if (n == 0 || n >= sizeof(line) || p[0] != '/')
				continue;
			memcpy(line, p, n);
			line[n] = '\0';
		}
		for (i = 0; i < w->n_gone; i++)
			if (!found[i] && drift_covers(w->gone[i],
			    w->gone_opaque[i], line, strlen(line)))
				found[i] = true;
	}
}

/* Which whiteouts hide package-owned files of the image? */
static void
drift_deleted(struct drift_walk *w)
{
	bool	*found;
	char	**names, *path, *buf, apkdir[4096];
	size_t	 n, i, len, nl;

	if (w->n_gone == 0 || w->lower == NULL)
		return;
	found = xcalloc(w->n_gone, sizeof(bool));
	if (rootfs_list(w->lower, "/var/lib/dpkg/info", &names, &n) == 0) {
		for (i = 0; i < n; i++) {
			nl = strlen(names[i]);
			if (nl < 6 || strcmp(names[i] + nl - 5, ".list") != 0)
				continue;
			xasprintf(&path, "/var/lib/dpkg/info/%s", names[i]);
			if (rootfs_read(w->lower, path, DRIFT_LIST_MAX, &buf,
			    &len) == 0) {
				drift_match_list(w, buf, len, found, NULL);
				free(buf);
			}
			free(path);
		}
		rootfs_names_free(names, n);
	}
	if (rootfs_read(w->lower, "/lib/apk/db/installed", DRIFT_LIST_MAX, &buf,
	    &len) == 0) {
		snprintf(apkdir, sizeof(apkdir), "/");
		drift_match_list(w, buf, len, found, apkdir);
		free(buf);
	}
	for (i = 0; i < w->n_gone; i++)
		if (found[i] && drift_seen_update(w->d, w->gone[i], NULL))
			drift_add(w, w->gone[i], "deleted");
	free(found);
}

int
drift_check(struct drift *d, struct tm_drift *out)
{
	struct drift_walk	 w;
	int			 fd;
	size_t			 i;

	memset(&w, 0, sizeof(w));
	w.d = d;
	w.out = out;
	out->files = NULL;
	out->n_files = 0;
	/* The upperdir path is the runtime's (trusted); below it, every step
	 * is one name opened with O_NOFOLLOW through safe_openat. */
	if ((fd = open(d->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("drift: %s", d->upper);
		return -1;
	}
	if (d->n_lowers > 0)
		w.lower = rootfs_open_layers((const char *const *)d->lowers,
		    d->n_lowers);
	drift_walk_dir(&w, fd, "", 0);
	close(fd);
	drift_deleted(&w);
	for (i = 0; i < w.n_gone; i++)
		free(w.gone[i]);
	free(w.gone);
	free(w.gone_opaque);
	if (w.lower != NULL)
		rootfs_free(w.lower);
	return (int)out->n_files;
}

/* drift_request: one check on the thread pool, then a record. */
struct drift_job {
	uv_work_t	 req;
	struct agent	*a;
	struct drift	*d;
	struct tm_drift	 rec;
	int		 n;
	drift_done_cb	 done;
	void		*arg;
};

static void
drift_job_work(uv_work_t *req)
{
	struct drift_job *j = req->data;

	j->n = drift_check(j->d, &j->rec);
}

static void
drift_job_after(uv_work_t *req, int status)
{
	struct drift_job	*j = req->data;

	j->d->busy = false;
	if (status != 0)
		j->n = -1;
	if (j->n > 0) {
		j->rec.time_ns = now_ns();
		if (agent_emit(j->a, TM_KIND_DRIFT, &j->rec) == 0)
			j->a->stats.drift_records++;
	}
	if (j->done != NULL)
		j->done(j->a, j->n, j->arg);
	drift_record_free(&j->rec);
	free(j->rec.runtime);
	free(j->rec.ns);
	free(j->rec.id);
	free(j->rec.image_key);
	free(j->rec.when);
	free(j);
}

int
drift_request(struct agent *a, struct drift *d, const char *runtime,
    const char *ns, const char *id, const char *image_key, const char *when,
    drift_done_cb done, void *arg)
{
	struct drift_job	*j;

	if (d->busy) {
		log_debug("drift: %s: a check is already running", id);
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->req.data = j;
	j->a = a;
	j->d = d;
	j->done = done;
	j->arg = arg;
	j->rec.runtime = xstrdup(runtime);
	j->rec.ns = ns != NULL ? xstrdup(ns) : NULL;
	j->rec.id = xstrdup(id);
	j->rec.image_key = image_key != NULL ? xstrdup(image_key) : NULL;
	j->rec.when = xstrdup(when);
	if (uv_queue_work(a->loop, &j->req, drift_job_work, drift_job_after) != 0) {
		free(j->rec.runtime);
		free(j->rec.ns);
		free(j->rec.id);
		free(j->rec.image_key);
		free(j->rec.when);
		free(j);
		return -1;
	}
	d->busy = true;
	return 0;
}
