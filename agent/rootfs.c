/*
 * rootfs.c: a container's files, read without trusting them.
 *
 * A root is a stack of folders, top first: one folder for a running
 * container (/proc/PID/root) or a plain tree, several for an image or an
 * exited container (overlay upperdir then lowerdirs).  A path is resolved one
 * component at a time.  Each step opens a single name relative to a folder
 * descriptor through safe_openat (openat2 RESOLVE_IN_ROOT) with O_NOFOLLOW,
 * and symlinks are read and spliced here, relative to the merged root, so
 * "/etc/shadow" and "../../../etc/shadow" inside a container name the
 * container's file, never the host's.  In a layer stack every step applies
 * overlayfs' rules: a whiteout (char device 0/0 on disk, ".wh.NAME" as in
 * image tarballs) hides the name in lower layers, an opaque folder (xattr
 * trusted.overlay.opaque or user.overlay.opaque "y", or ".wh..wh..opq") hides
 * the lower folders of the same name, a non-folder hides everything below.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"

#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"

struct rootfs {
	char		*name;		/* for messages: the top folder */
	int		*fds;		/* O_RDONLY folder fd of each layer's root */
	size_t		 n;
	int		 overlay;	/* interpret whiteouts and opaque folders */
	uint64_t	 errors;
	struct log_ratelimit rl;
};

/* A folder as seen through the stack: its descriptor in each layer that
 * contributes to it, top first (owned). */
struct rdir {
	int	fds[ROOTFS_LAYERS_MAX];
	size_t	n;
};

/* The result of resolving a path. */
struct rnode {
	int		 isdir;
	struct rdir	 dir;		/* when isdir */
	int		 parentfd;	/* otherwise: folder holding the file (owned) */
	char		 leaf[NAME_MAX + 1];
	struct stat	 st;
};

static void
rdir_close(struct rdir *d)
{
	size_t	i;

	for (i = 0; i < d->n; i++)
		close(d->fds[i]);
	d->n = 0;
}

static void
rnode_close(struct rnode *nd)
{
	if (nd->isdir)
		rdir_close(&nd->dir);
	else if (nd->parentfd != -1)
		close(nd->parentfd);
	nd->parentfd = -1;
}

static struct rootfs *
rootfs_new(const char *name, size_t n, int overlay)
{
	struct rootfs	*rf;

	rf = xcalloc(1, sizeof(*rf));
	rf->name = xstrdup(name);
	rf->fds = xcalloc(n, sizeof(int));
	rf->overlay = overlay;
	rf->rl.interval_s = 10;
	rf->rl.burst = 20;
	return rf;
}

/* Open a trusted host folder as the root of one layer: an O_RDONLY folder
 * descriptor (readdir and fgetxattr need one).  Returns the fd or -1. */
static int
rootfs_open_layer(const char *path)
{
	int	fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		log_warn("rootfs: %s", path);
	return fd;
}

/*
 * Open one trusted folder (a container's /proc/PID/root or a plain tree) as
 * a root.  Returns the root (free with rootfs_free) or NULL, logged.
 */
struct rootfs *
rootfs_open_dir(const char *path)
{
	struct rootfs	*rf;

	rf = rootfs_new(path, 1, 0);
	if ((rf->fds[0] = rootfs_open_layer(path)) == -1) {
		rootfs_free(rf);
		return NULL;
	}
	rf->n = 1;
	return rf;
}

/*
 * Open overlay layers, upper first (upperdir, then lowerdirs in overlay's
 * order, i.e. Docker's LowerDir split on ':').  Returns NULL, logged, if any
 * layer cannot be opened or there are too many.
 */
struct rootfs *
rootfs_open_layers(const char *const *dirs, size_t n)
{
	struct rootfs	*rf;
	size_t		 i;

	if (n == 0 || n > ROOTFS_LAYERS_MAX) {
		log_warnx("rootfs: %zu layers (1 to %d)", n, ROOTFS_LAYERS_MAX);
		return NULL;
	}
	rf = rootfs_new(dirs[0], n, 1);
	for (i = 0; i < n; i++) {
		if ((rf->fds[i] = rootfs_open_layer(dirs[i])) == -1) {
			rootfs_free(rf);
			return NULL;
		}
		rf->n++;
	}
	return rf;
}

void
rootfs_free(struct rootfs *rf)
{
	size_t	i;

	if (rf == NULL)
		return;
	for (i = 0; i < rf->n; i++)
		close(rf->fds[i]);
	free(rf->fds);
	free(rf->name);
	free(rf);
}

const char *
rootfs_name(const struct rootfs *rf)
{
	return rf->name;
}

uint64_t
rootfs_errors(const struct rootfs *rf)
{
	return rf->errors;
}

void
rootfs_error(struct rootfs *rf, const char *path, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	rf->errors++;
	if (!log_ratelimit_ok(&rf->rl))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("rootfs: %s: %s: %s", rf->name, path, msg);
}

/* Is (fd, name), already lstat'ed as st, a whiteout?  Either the kernel's
 * char device 0/0, or a ".wh.NAME" beside it (image tarball form). */
static int
rootfs_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int
rootfs_has_tar_whiteout(int dirfd, const char *name)
{
	char		 wh[NAME_MAX + 8];
	struct stat	 st;

	if (strlen(name) + sizeof(WH_PREFIX) > NAME_MAX + 1)
		return 0;
	snprintf(wh, sizeof(wh), WH_PREFIX "%s", name);
	return fstatat(dirfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Does the folder fd hide the folders of the same name in lower layers? */
static int
rootfs_is_opaque(int fd)
{
	char		 v[4];
	ssize_t		 r;
	struct stat	 st;

	r = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v));
	if (r == 1 && v[0] == 'y')
		return 1;
	r = fgetxattr(fd, "user.overlay.opaque", v, sizeof(v));
	if (r == 1 && v[0] == 'y')
		return 1;
	return fstatat(fd, WH_OPAQUE, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Look NAME up in the folder cur (one component, not "." or "..").
 * On success fills *nd: a folder (its descriptors in each contributing
 * layer) or a non-folder (its parent's descriptor and lstat).  Returns 0,
 * or -1 with errno (ENOENT when absent or whited out).
 */
static int
rootfs_step(struct rootfs *rf, const struct rdir *cur, const char *name,
    struct rnode *nd)
{
	struct stat	 st;
	size_t		 i;
	int		 fd;

	memset(nd, 0, sizeof(*nd));
	nd->parentfd = -1;
	for (i = 0; i < cur->n; i++) {
		if (fstatat(cur->fds[i], name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)
				goto fail;
			if (rf->overlay && rootfs_has_tar_whiteout(cur->fds[i], name))
				break;
			continue;
		}
		if (rf->overlay && rootfs_is_whiteout(&st))
			break;
		if (!S_ISDIR(st.st_mode)) {
			if (nd->dir.n > 0)
				break;	/* a lower non-folder under a folder: hidden */
			if ((nd->parentfd = dup(cur->fds[i])) == -1)
				goto fail;
			snprintf(nd->leaf, sizeof(nd->leaf), "%s", name);
			nd->st = st;
			return 0;
		}
		fd = safe_openat(cur->fds[i], name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd == -1)
			goto fail;
		nd->isdir = 1;
		nd->st = st;
		nd->dir.fds[nd->dir.n++] = fd;
		if (!rf->overlay || rootfs_is_opaque(fd))
			break;
	}
	if (nd->isdir)
		return 0;
	errno = ENOENT;
	return -1;
fail:
	rdir_close(&nd->dir);
	return -1;
}

/* The root folder's descriptors, duplicated. */
static int
rootfs_top(struct rootfs *rf, struct rdir *d)
{
	size_t	i;

	d->n = 0;
	for (i = 0; i < rf->n; i++) {
		if ((d->fds[i] = dup(rf->fds[i])) == -1) {
			rdir_close(d);
			return -1;
		}
		d->n++;
	}
	return 0;
}

/*
 * Resolve path in rf, following symlinks inside the root (and the last
 * component too when follow is set).  Returns 0 with *nd filled (release
 * with rnode_close), or -1 with errno: ENOENT, ELOOP (too many links),
 * ENAMETOOLONG, ENOTDIR, or an I/O error.
 */
static int
rootfs_resolve(struct rootfs *rf, const char *path, int follow, struct rnode *nd)
{
	char		 work[ROOTFS_PATH_MAX], next[ROOTFS_PATH_MAX];
	char		 done[ROOTFS_PATH_MAX], target[ROOTFS_PATH_MAX];
	char		 comp[NAME_MAX + 1];
	struct rdir	 cur;
	struct rnode	 step;
	const char	*p, *q;
	size_t		 restarts = 0, len;
	ssize_t		 tl;
	int		 save;

	if (strlen(path) >= sizeof(work)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(work, sizeof(work), "%s", path);
restart:
	if (restarts++ > ROOTFS_SYMLINKS_MAX) {
		errno = ELOOP;
		return -1;
	}
	if (rootfs_top(rf, &cur) == -1)
		return -1;
	done[0] = '\0';
	memset(nd, 0, sizeof(*nd));
	nd->isdir = 1;
	nd->parentfd = -1;
	p = work;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		len = q != NULL ? (size_t)(q - p) : strlen(p);
		if (len > NAME_MAX) {
			rdir_close(&cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			/* Every component in done is a real folder, so ".."
			 * is lexical; start again from the root. */
			char *slash = strrchr(done, '/');
			if (slash != NULL)
				*slash = '\0';
			else
				done[0] = '\0';
			if ((size_t)snprintf(next, sizeof(next), "%s/%s", done,
			    p) >= sizeof(next))
				goto toolong;
			snprintf(work, sizeof(work), "%s", next);
			rdir_close(&cur);
			goto restart;
		}
		if (rootfs_step(rf, &cur, comp, &step) == -1) {
			save = errno;
			rdir_close(&cur);
			errno = save;
			return -1;
		}
		if (!step.isdir && S_ISLNK(step.st.st_mode) &&
		    (follow || *p != '\0')) {
			tl = readlinkat(step.parentfd, step.leaf, target,
			    sizeof(target) - 1);
			save = errno;
			rnode_close(&step);
			rdir_close(&cur);
			if (tl == -1) {
				errno = save;
				return -1;
			}
			target[tl] = '\0';
			if (target[0] == '/')
				len = snprintf(next, sizeof(next), "%s/%s",
				    target, p);
			else
				len = snprintf(next, sizeof(next), "%s/%s/%s",
				    done, target, p);
			if (len >= sizeof(next))
				goto toolong;
			snprintf(work, sizeof(work), "%s", next);
			goto restart;
		}
		if (!step.isdir) {
			while (*p == '/')
				p++;
			if (*p != '\0') {
				rnode_close(&step);
				rdir_close(&cur);
				errno = ENOTDIR;
				return -1;
			}
			rdir_close(&cur);
			*nd = step;
			return 0;
		}
		rdir_close(&cur);
		cur = step.dir;
		if (strlen(done) + 1 + strlen(comp) >= sizeof(done)) {
			rdir_close(&cur);
			goto toolong;
		}
		strcat(done, "/");
		strcat(done, comp);
	}
	nd->isdir = 1;
	nd->dir = cur;
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/* Count and log a resolution failure unless the file is simply absent. */
static void
rootfs_fail(struct rootfs *rf, const char *path, int err)
{
	if (err != ENOENT)
		rootfs_error(rf, path, "%s", strerror(err));
	errno = err;
}

int
rootfs_open_file(struct rootfs *rf, const char *path, uint64_t *size)
{
	struct rnode	 nd;
	int		 fd, save;
	struct stat	 st;

	if (rootfs_resolve(rf, path, 1, &nd) == -1) {
		rootfs_fail(rf, path, errno);
		return -1;
	}
	if (nd.isdir) {
		rnode_close(&nd);
		rootfs_error(rf, path, "a folder in place of a file");
		errno = EISDIR;
		return -1;
	}
	if (!S_ISREG(nd.st.st_mode)) {
		rnode_close(&nd);
		rootfs_error(rf, path, "not a regular file (mode %o)",
		    (unsigned)(nd.st.st_mode & S_IFMT));
		errno = EINVAL;
		return -1;
	}
	/* O_NONBLOCK and O_NOFOLLOW: if the file was swapped for a FIFO or a
	 * link since the lstat, the open neither blocks nor follows. */
	fd = safe_openat(nd.parentfd, nd.leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	save = errno;
	rnode_close(&nd);
	if (fd == -1) {
		rootfs_fail(rf, path, save);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		rootfs_error(rf, path, "not a regular file once opened");
		errno = EINVAL;
		return -1;
	}
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	return fd;
}

int
rootfs_read(struct rootfs *rf, const char *path, size_t max, char **buf,
    size_t *len)
{
	uint64_t	 size;
	int		 fd, save;

	*buf = NULL;
	*len = 0;
	if ((fd = rootfs_open_file(rf, path, &size)) == -1)
		return -1;
	if (size > max) {
		close(fd);
		rootfs_error(rf, path, "%llu bytes, over the %zu byte bound",
		    (unsigned long long)size, max);
		errno = EFBIG;
		return -1;
	}
	if (safe_read_fd(fd, max, buf, len) == -1) {
		save = errno;
		close(fd);
		rootfs_error(rf, path, "read: %s", strerror(save));
		errno = save;
		return -1;
	}
	close(fd);
	return 0;
}

int
rootfs_exists(struct rootfs *rf, const char *path)
{
	struct rnode	nd;

	if (rootfs_resolve(rf, path, 1, &nd) == -1) {
		if (errno != ENOTDIR)
			rootfs_fail(rf, path, errno);	/* a loop is worth a count */
		return 0;
	}
	rnode_close(&nd);
	return 1;
}

struct rentry {
	char	*name;
	size_t	 layer;
	int	 whiteout;
};

static int
rentry_cmp(const void *a, const void *b)
{
	const struct rentry *x = a, *y = b;
	int	c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->layer < y->layer ? -1 : x->layer > y->layer;
}

void
rootfs_names_free(char **names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * List the merged folder path: each layer's entries, the topmost occurrence
 * of a name winning, whited-out names dropped.  Bounded by ROOTFS_DIR_MAX
 * entries (more is a counted error and a truncated list).
 */
int
rootfs_list(struct rootfs *rf, const char *path, char ***names, size_t *n)
{
	struct rnode	 nd;
	struct rentry	*ents = NULL;
	size_t		 nents = 0, cap = 0, i, out = 0;
	DIR		*dp;
	struct dirent	*de;
	struct stat	 st;
	int		 fd, truncated = 0;
	const char	*nm;

	*names = NULL;
	*n = 0;
	if (rootfs_resolve(rf, path, 1, &nd) == -1) {
		rootfs_fail(rf, path, errno);
		return -1;
	}
	if (!nd.isdir) {
		rnode_close(&nd);
		rootfs_error(rf, path, "not a folder");
		errno = ENOTDIR;
		return -1;
	}
	for (i = 0; i < nd.dir.n && !truncated; i++) {
		if ((fd = dup(nd.dir.fds[i])) == -1 ||
		    (dp = fdopendir(fd)) == NULL) {
			if (fd != -1)
				close(fd);
			rootfs_error(rf, path, "opendir: %s", strerror(errno));
			continue;
		}
		rewinddir(dp);
		while ((de = readdir(dp)) != NULL) {
			nm = de->d_name;
			if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
				continue;
			if (nents == ROOTFS_DIR_MAX) {
				rootfs_error(rf, path, "over %d entries",
				    ROOTFS_DIR_MAX);
				truncated = 1;
				break;
			}
			if (nents == cap) {
				cap = cap ? cap * 2 : 64;
				ents = xreallocarray(ents, cap, sizeof(*ents));
			}
			ents[nents].layer = i;
			ents[nents].whiteout = 0;
			if (rf->overlay && strncmp(nm, WH_PREFIX,
			    sizeof(WH_PREFIX) - 1) == 0) {
				if (strcmp(nm, WH_OPAQUE) == 0)
					continue;
				nm += sizeof(WH_PREFIX) - 1;
				ents[nents].whiteout = 1;
			} else if (rf->overlay && (de->d_type == DT_CHR ||
			    de->d_type == DT_UNKNOWN) &&
			    fstatat(dirfd(dp), nm, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    rootfs_is_whiteout(&st))
				ents[nents].whiteout = 1;
			ents[nents].name = xstrdup(nm);
			nents++;
		}
		closedir(dp);
	}
	rnode_close(&nd);
	qsort(ents, nents, sizeof(*ents), rentry_cmp);
	if (nents > 0)
		*names = xreallocarray(NULL, nents, sizeof(char *));
	/* Sorted by name then layer: the first of each name is the topmost. */
	for (i = 0; i < nents; i++) {
		if ((i == 0 || strcmp(ents[i].name, ents[i - 1].name) != 0) &&
		    !ents[i].whiteout)
			(*names)[out++] = xstrdup(ents[i].name);
	}
	for (i = 0; i < nents; i++)
		free(ents[i].name);
	free(ents);
	*n = out;
	return 0;
}
