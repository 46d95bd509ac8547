/*
 * safefile.c: reading files inside an untrusted root (a container's rootfs, an
 * image layer).  Container content is hostile: an absolute symlink, a ".."
 * chain, a FIFO, a device node or a huge file in place of /etc/os-release must
 * not make us read the host's files, hang, touch a device or exhaust memory.
 *
 * Every lookup is done by the kernel with openat2(RESOLVE_IN_ROOT), which
 * treats the root descriptor as "/" for absolute symlinks and "..", plus
 * RESOLVE_NO_MAGICLINKS (no /proc/PID/fd jumps) and RESOLVE_NO_XDEV (no
 * crossing into a mount inside the root, such as a bind-mounted host path).
 * The file is first opened O_PATH, which opens nothing: only once fstat says
 * it is a regular file or a directory is it reopened for reading through
 * /proc/self/fd, the same inode, so a device node is never opened (opening
 * some devices has side effects) and a FIFO cannot block us.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define SAFE_RESOLVE	(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define SAFE_RETRIES	16	/* EAGAIN: a rename raced the lookup */
#define SAFE_CHUNK	65536

/*
 * Flags that would change the container's files: never allowed.  (O_TMPFILE
 * includes O_DIRECTORY's bit, so it is tested on its own.)
 */
#define SAFE_WRITE_FLAGS \
	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_EXCL)

/*
 * openat2 with the safe resolve flags, retried on EAGAIN (the kernel returns
 * it when a concurrent rename could have let ".." escape).  ENOSYS (a kernel
 * before 5.6) is logged once.  Returns the fd or -1 with errno set.
 */
static int
safe_openat2(int dirfd, const char *path, int flags)
{
	static int	warned;
	struct open_how	how;
	int		fd, i;

	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(unsigned)flags;
	how.resolve = SAFE_RESOLVE;
	for (i = 0; i < SAFE_RETRIES; i++) {
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		if (fd != -1 || errno != EAGAIN)
			break;
	}
	if (fd == -1 && errno == ENOSYS &&
	    __atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED) == 0)
		log_warnx("safefile: this kernel has no openat2 (Linux 5.6 or "
		    "later is required); container files cannot be read safely "
		    "and will not be read");
	return fd;
}

/*
 * Open root (a host path we trust, e.g. "/proc/123/root" or a layer folder)
 * as an O_PATH directory descriptor, and check that the kernel can resolve
 * paths inside it safely.  Returns the fd (caller closes) or -1 with errno
 * set (ENOSYS: no openat2).
 */
int
safe_root_open(const char *root)
{
	return safe_root_openat(AT_FDCWD, root);
}

/*
 * The same, with root relative to dirfd (e.g. "root" in a /proc/PID folder
 * opened earlier, so that the root is that very process's).
 */
int
safe_root_openat(int dirfd, const char *root)
{
	int	fd, probe, saved;

	if ((fd = openat(dirfd, root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((probe = safe_openat2(fd, ".", O_PATH | O_CLOEXEC)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(probe);
	return fd;
}

/*
 * Open PATH inside rootfd.  flags are open(2) flags for reading: O_RDONLY,
 * optionally O_DIRECTORY, O_NOFOLLOW or O_PATH; flags that write (O_WRONLY,
 * O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_TMPFILE) fail with EPERM.
 * O_CLOEXEC, O_NOCTTY and O_NONBLOCK are always added.  Unless O_PATH is
 * asked for, only a regular file or a directory is opened; anything else
 * fails with EINVAL without being opened.  Returns the fd or -1 with errno.
 */
int
safe_openat(int rootfd, const char *path, int flags)
{
	struct stat	 st, st2;
	char		 proc[64];
	int		 pfd, fd, saved;

	if ((flags & SAFE_WRITE_FLAGS) != 0 ||
	    (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EPERM;
		return -1;
	}
	if ((flags & O_PATH) != 0)
		return safe_openat2(rootfd, path,
		    flags | O_CLOEXEC | O_NOCTTY);

	pfd = safe_openat2(rootfd, path,
	    O_PATH | O_CLOEXEC | (flags & (O_NOFOLLOW | O_DIRECTORY)));
	if (pfd == -1)
		return -1;
	if (fstat(pfd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	/*
	 * Reopen the very inode we checked.  /proc/self/fd/N is the host's
	 * own procfs (trusted); O_NOFOLLOW would refuse that link itself.
	 */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
	fd = open(proc, (flags & ~O_NOFOLLOW) | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &st2) == -1 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		close(fd);
		errno = EXDEV;
		goto fail;
	}
	close(pfd);
	return fd;
fail:
	saved = errno;
	close(pfd);
	errno = saved;
	return -1;
}

/*
 * Read the regular file open on fd, at most max bytes, from its current
 * offset.  st_size is only a hint (procfs reports 0): the read itself is
 * bounded, and more than max bytes fails with EFBIG.  A directory fails with
 * EISDIR, anything else that is not a regular file with EINVAL.  On success
 * returns 0 with *buf (NUL-terminated, caller frees) and *len set; on
 * failure -1 with errno set and *buf untouched.
 */
int
safe_read_fd(int fd, size_t max, char **buf, size_t *len)
{
	struct stat	 st;
	char		*p;
	size_t		 cap, used = 0;
	ssize_t		 r;
	int		 saved;

	if (fstat(fd, &st) == -1)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if (max > SIZE_MAX - 2)
		max = SIZE_MAX - 2;
	if (st.st_size > 0 && (uint64_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	/* Room for max + 1 bytes, so a file that grew past max is seen. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	p = xmalloc(cap + 1);
	for (;;) {
		if (used == cap) {
			if (cap == max + 1)
				break;
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			p = xreallocarray(p, cap + 1, 1);
		}
		r = read(fd, p + used, cap - used);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	if (used > max) {
		errno = EFBIG;
		goto fail;
	}
	p[used] = '\0';
	*buf = p;
	*len = used;
	return 0;
fail:
	saved = errno;
	free(p);
	errno = saved;
	return -1;
}

/* Read the regular file PATH inside rootfd; see safe_read_fd. */
int
safe_read_file(int rootfd, const char *path, size_t max, char **buf,
    size_t *len)
{
	int	fd, rc, saved;

	if ((fd = safe_openat(rootfd, path, O_RDONLY)) == -1)
		return -1;
	rc = safe_read_fd(fd, max, buf, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* write(2) all of buf, retrying short writes. */
static int
safe_write_all(int fd, const char *buf, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, buf, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Copy the regular file PATH inside rootfd to dstpath on the host (created
 * or truncated, mode 0600, never through a symlink), at most max bytes: a
 * larger file fails with EFBIG, and other errors are as for safe_read_fd.
 * On failure dstpath is removed.  Returns 0 or -1 with errno set.
 */
int
safe_copy_out(int rootfd, const char *path, const char *dstpath, uint64_t max)
{
	struct stat	 st;
	char		*chunk = NULL;
	uint64_t	 total = 0;
	ssize_t		 r;
	int		 sfd, dfd = -1, created = 0, saved;

	if ((sfd = safe_openat(rootfd, path, O_RDONLY)) == -1)
		return -1;
	if (fstat(sfd, &st) == -1)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size > 0 && (uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	dfd = open(dstpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (dfd == -1)
		goto fail;
	created = 1;
	chunk = xmalloc(SAFE_CHUNK);
	for (;;) {
		r = read(sfd, chunk, SAFE_CHUNK);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > max) {
			errno = EFBIG;
			goto fail;
		}
		if (safe_write_all(dfd, chunk, (size_t)r) == -1)
			goto fail;
	}
	if (close(dfd) == -1) {
		dfd = -1;
		goto fail;
	}
	free(chunk);
	close(sfd);
	return 0;
fail:
	saved = errno;
	free(chunk);
	if (dfd != -1)
		close(dfd);
	if (created)
		unlink(dstpath);
	close(sfd);
	errno = saved;
	return -1;
}
