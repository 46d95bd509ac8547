/*
 * proc.c: a container's processes, read from /proc.
 *
 * The container is its cgroup: from one pid we know to be inside it (the
 * init pid from TaskStart or inspect, an exec's pid) we read
 * /proc/PID/cgroup, find that group's folder in a mounted hierarchy
 * (/proc/self/mountinfo), and list every pid in it and below it.  Each
 * process is then read from /proc/PID/{stat,status,uid_map,gid_map,cmdline,
 * exe}, and each distinct executable is hashed through the container's own
 * root (/proc/PID/root) with common/safefile.c, so a symlink planted in the
 * container cannot send us anywhere on the host.
 *
 * Everything here blocks and runs on the libuv thread pool (snapshot.c).
 * Every file is untrusted in size and format (a process names itself: comm
 * and cmdline are the container's words): everything is bounded, and a
 * malformed file skips that process, counted.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"

#define PROC_FILE_MAX		(64u * 1024)	/* stat, status, maps, cgroup */
#define PROC_MOUNTINFO_MAX	(4u * 1024 * 1024)
#define PROC_CMDLINE_MAX	TM_STR_LONG	/* bytes of cmdline kept */
#define PROC_ARGS_MAX		256u		/* arguments kept */
#define PROC_ARG_MAX		TM_STR_MAX	/* bytes per argument */
#define PROC_PIDS_MAX		4096u		/* processes per container */
#define PROC_CG_DEPTH		8u		/* nested cgroups followed */
#define PROC_CG_DIRS		256u		/* cgroup folders visited */
#define PROC_CG_LINES		64u
#define PROC_CG_MOUNTS		256u
#define PROC_HASH_CHUNK		(64u * 1024)

/* ---- parsers (pure, unit-tested) ---- */

void
proc_cg_lines_free(struct proc_cg_line *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].controllers);
		free(l[i].path);
	}
	free(l);
}

void
proc_cg_mounts_free(struct proc_cg_mount *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(m[i].root);
		free(m[i].mountpoint);
		free(m[i].controllers);
	}
	free(m);
}

/*
 * Parse /proc/PID/cgroup ("hid:controllers:path" per line) into *out
 * (caller frees with proc_cg_lines_free).  Malformed lines are skipped;
 * returns 0, or -1 when no line was usable.
 */
int
proc_cgroup_parse(const char *buf, size_t len, struct proc_cg_line **out,
    size_t *n)
{
	const char *p = buf, *end = buf + len, *eol, *c1, *c2;
	struct proc_cg_line *l = NULL;
	size_t nl = 0;
	char num[16];

	while (p < end && nl < PROC_CG_LINES) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		c1 = memchr(p, ':', (size_t)(eol - p));
		c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (c1 != NULL && c2 != NULL && c1 > p && (size_t)(c1 - p) < sizeof(num) &&
		    c2 + 1 < eol && c2[1] == '/' && (size_t)(eol - c2 - 1) < PATH_MAX) {
			memcpy(num, p, (size_t)(c1 - p));
			num[c1 - p] = '\0';
			if (strspn(num, "0123456789") == strlen(num)) {
				l = xreallocarray(l, nl + 1, sizeof(*l));
				l[nl].hid = (unsigned)strtoul(num, NULL, 10);
				l[nl].controllers = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
				l[nl].path = xstrndup(c2 + 1, (size_t)(eol - c2 - 1));
				nl++;
			}
		}
		p = eol + 1;
	}
	*out = l;
	*n = nl;
	return nl > 0 ? 0 : -1;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void
proc_unescape(char *s)
{
	char *o = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else
			*o++ = *s++;
	}
	*o = '\0';
}

/* The controllers named in cgroup v1 super options ("rw,cpu,cpuacct"). */
static char *
proc_cg_controllers(const char *opts)
{
	char *copy = xstrdup(opts), *tok, *save = NULL, *res = NULL, *tmp;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "rw") == 0 || strcmp(tok, "ro") == 0 ||
		    strncmp(tok, "release_agent=", 14) == 0 ||
		    strcmp(tok, "clone_children") == 0 ||
		    strcmp(tok, "noprefix") == 0 || strcmp(tok, "xattr") == 0 ||
		    strcmp(tok, "cpuset_v2_mode") == 0 ||
		    strcmp(tok, "nsdelegate") == 0 ||
		    strcmp(tok, "memory_recursiveprot") == 0 ||
		    strcmp(tok, "favordynmods") == 0 ||
		    strcmp(tok, "memory_localevents") == 0)
			continue;
		if (res == NULL)
			res = xstrdup(tok);
		else {
			xasprintf(&tmp, "%s,%s", res, tok);
			free(res);
			res = tmp;
		}
	}
	free(copy);
	return res != NULL ? res : xstrdup("");
}

/*
 * Parse /proc/self/mountinfo, keeping only cgroup and cgroup2 mounts, into
 * *out (caller frees with proc_cg_mounts_free).  Returns 0 (maybe none).
 */
int
proc_mountinfo_parse(const char *buf, size_t len, struct proc_cg_mount **out,
    size_t *n)
{
	const char *p = buf, *end = buf + len, *eol;
	struct proc_cg_mount *m = NULL;
	size_t nm = 0, i, linelen;
	char *line, *f[24], *save, *tok, *fstype, *super;
	int nf;

	while (p < end && nm < PROC_CG_MOUNTS) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		linelen = (size_t)(eol - p);
		if (linelen > 0 && linelen < 8192) {
			line = xstrndup(p, linelen);
			/* id parent major:minor root mountpoint opts [optional...] - fstype source super */
			nf = 0;
			save = NULL;
			for (tok = strtok_r(line, " ", &save); tok != NULL && nf < 24;
			    tok = strtok_r(NULL, " ", &save))
				f[nf++] = tok;
			fstype = super = NULL;
			for (i = 6; i < (size_t)nf; i++) {
				if (strcmp(f[i], "-") == 0) {
					if (i + 3 < (size_t)nf) {
						fstype = f[i + 1];
						super = f[i + 3];
					}
					break;
				}
			}
			if (nf >= 6 && fstype != NULL && super != NULL &&
			    (strcmp(fstype, "cgroup") == 0 ||
			    strcmp(fstype, "cgroup2") == 0)) {
				m = xreallocarray(m, nm + 1, sizeof(*m));
				proc_unescape(f[3]);
				proc_unescape(f[4]);
				m[nm].root = xstrdup(f[3]);
				m[nm].mountpoint = xstrdup(f[4]);
				m[nm].v2 = strcmp(fstype, "cgroup2") == 0;
				m[nm].controllers = m[nm].v2 ? xstrdup("") :
				    proc_cg_controllers(super);
				nm++;
			}
			free(line);
		}
		p = eol + 1;
	}
	*out = m;
	*n = nm;
	return 0;
}

/* Does the comma list have exactly the controller c as one element? */
static bool
proc_has_controller(const char *list, const char *c)
{
	size_t cl = strlen(c);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, c, cl) == 0 && (p[cl] == ',' || p[cl] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return false;
}

/* The host folder for cgroup path in mount m, or NULL if m cannot see it. */
static char *
proc_cg_join(const struct proc_cg_mount *m, const char *path)
{
	size_t rl = strlen(m->root);
	const char *rest;
	char *dir;

	if (strstr(path, "/../") != NULL || strcmp(path, "..") == 0 ||
	    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
		return NULL;
	if (strcmp(m->root, "/") == 0)
		rest = path;
	else if (strncmp(path, m->root, rl) == 0 &&
	    (path[rl] == '/' || path[rl] == '\0'))
		rest = path + rl;
	else
		return NULL;
	if (strcmp(rest, "/") == 0)
		rest = "";
	xasprintf(&dir, "%s%s", m->mountpoint, rest);
	return dir;
}

/*
 * Choose the container's cgroup folder from its /proc/PID/cgroup lines and
 * our mounts.  v2 wins when the process sits in a non-root v2 group (pure
 * v2, or hybrid with the runtime using the unified tree); otherwise the v1
 * hierarchies in order pids, memory, cpu, name=systemd.  Returns a new
 * string (caller frees) or NULL.
 */
char *
proc_cgroup_resolve(const struct proc_cg_line *l, size_t nl,
    const struct proc_cg_mount *m, size_t nm)
{
	static const char *const order[] = { "pids", "memory", "cpu",
	    "name=systemd" };
	size_t i, j, k;
	char *dir;

	for (i = 0; i < nl; i++) {
		if (l[i].hid != 0 || l[i].controllers[0] != '\0' ||
		    strcmp(l[i].path, "/") == 0)
			continue;
		for (j = 0; j < nm; j++)
			if (m[j].v2 && (dir = proc_cg_join(&m[j], l[i].path)) != NULL)
				return dir;
	}
	for (k = 0; k < TM_NELEM(order); k++) {
		for (i = 0; i < nl; i++) {
			if (l[i].controllers[0] == '\0' ||
			    !proc_has_controller(l[i].controllers, order[k]))
				continue;
			for (j = 0; j < nm; j++) {
				if (m[j].v2 ||
				    !proc_has_controller(m[j].controllers, order[k]))
					continue;
				if ((dir = proc_cg_join(&m[j], l[i].path)) != NULL)
					return dir;
			}
		}
	}
	return NULL;
}

/*
 * Parse a uid_map/gid_map ("inside outside count" lines).  Returns 0, or
 * -1 when a line is malformed (the map is then unusable).
 */
int
proc_idmap_parse(const char *buf, size_t len, struct proc_idmap *m)
{
	const char *p = buf, *end = buf + len, *eol;
	char line[128];
	unsigned long long in, out, cnt;
	char extra;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (eol > p) {
			if ((size_t)(eol - p) >= sizeof(line) || m->n >= TM_NELEM(m->e))
				return -1;
			memcpy(line, p, (size_t)(eol - p));
			line[eol - p] = '\0';
			if (sscanf(line, "%llu %llu %llu %c", &in, &out, &cnt, &extra) != 3)
				return -1;
			m->e[m->n].inside = in;
			m->e[m->n].outside = out;
			m->e[m->n].count = cnt;
			m->n++;
		}
		p = eol + 1;
	}
	return 0;
}

uint64_t
proc_idmap_inside(const struct proc_idmap *m, uint64_t host)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (host >= m->e[i].outside &&
		    host - m->e[i].outside < m->e[i].count)
			return m->e[i].inside + (host - m->e[i].outside);
	return (uint64_t)-1;
}

/*
 * Parse /proc/PID/stat.  comm is in parentheses and may itself hold spaces
 * and ')', so the fields are counted from the last ')'.  Returns 0 or -1.
 */
int
proc_stat_parse(const char *buf, size_t len, struct proc_stat *st)
{
	const char *lp, *rp, *p, *end = buf + len;
	unsigned long long v;
	char *ep;
	size_t clen;
	int field;

	memset(st, 0, sizeof(*st));
	if ((lp = memchr(buf, '(', len)) == NULL)
		return -1;
	for (rp = end - 1; rp > lp && *rp != ')'; rp--)
		;
	if (rp <= lp)
		return -1;		/* rp: the last ')' */
	st->pid = strtoull(buf, &ep, 10);
	if (ep == buf)
		return -1;
	clen = (size_t)(rp - lp - 1);
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, lp + 1, clen);
	st->comm[clen] = '\0';
	/* field 3 (state) follows ") " */
	p = rp + 1;
	for (field = 3; p < end; field++) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		if (field == 3)
			st->state = *p;
		else if (field == 4 || field == 22) {
			if (!isdigit((unsigned char)*p))
				return -1;
			v = strtoull(p, &ep, 10);
			if (field == 4)
				st->ppid = v;
			else {
				st->starttime = v;
				return 0;
			}
		}
		while (p < end && *p != ' ')
			p++;
	}
	return -1;
}

/*
 * Split cmdline (NUL-separated) into at most PROC_ARGS_MAX strings of at
 * most PROC_ARG_MAX bytes each (longer ones are cut).  *args is NULL-free
 * and owned by the caller.  Returns 0 (maybe no args: a kernel thread or a
 * zombie) or -1.
 */
int
proc_cmdline_split(const char *buf, size_t len, char ***args, size_t *n)
{
	const char *p = buf, *end = buf + len, *z;
	char **v = NULL;
	size_t nv = 0, l;

	/* A trailing NUL ends the last argument; it does not start one. */
	while (p < end && nv < PROC_ARGS_MAX) {
		if ((z = memchr(p, '\0', (size_t)(end - p))) == NULL)
			z = end;
		l = (size_t)(z - p);
		if (l > PROC_ARG_MAX)
			l = PROC_ARG_MAX;
		v = xreallocarray(v, nv + 1, sizeof(*v));
		v[nv++] = xstrndup(p, l);
		p = z + 1;
	}
	*args = v;
	*n = nv;
	return 0;
}

/* ---- reading /proc ---- */

/*
 * A pid is only a number.  Between the moment we learn it (listed in the
 * container's cgroup, or named by the runtime) and the moment we read
 * /proc/PID, the process can exit and a host process be given the same pid.
 * So each process is read through one descriptor of its /proc/PID folder,
 * opened once: that descriptor stays bound to the process it was opened on
 * (once that process is gone, every read through it fails with ESRCH, even
 * when the pid has been reused).  Through that same descriptor the cgroup
 * is checked before the reads (this process is the container's) and again
 * after them (it still was, or it has exited meanwhile); and a process that
 * started after the runtime told us its pid is another process.
 */

struct proc_ctx {
	int			 procfd;	/* proc_root */
	struct proc_cg_mount	*m;		/* cgroup mounts, read once */
	size_t			 nm;
	uint64_t		 boot_ns;	/* realtime at boot */
	long			 hz;
};

/* Realtime at boot, in ns: /proc/PID/stat's starttime counts from there. */
uint64_t
proc_boot_ns(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec) -
	    ((uint64_t)bt.tv_sec * 1000000000ull + (uint64_t)bt.tv_nsec);
}

/* CLOCK_BOOTTIME in ns: the clock of /proc/PID/stat's starttime. */
uint64_t
proc_boottime_ns(void)
{
	struct timespec bt;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (uint64_t)bt.tv_sec * 1000000000ull + (uint64_t)bt.tv_nsec;
}

/* Open name in dirfd (a /proc folder) for reading, not through a link. */
static int
proc_openat(int dirfd, const char *name)
{
	return openat(dirfd, name,
	    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
}

/* Read name in dirfd, at most max bytes (more is an error).  0 or -1. */
static int
proc_readat(int dirfd, const char *name, size_t max, char **buf, size_t *len)
{
	int fd, rc, saved;

	if ((fd = proc_openat(dirfd, name)) == -1)
		return -1;
	rc = safe_read_fd(fd, max, buf, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Read at most max bytes of name in dirfd; the rest is ignored.  0 or -1. */
static int
proc_readat_prefix(int dirfd, const char *name, size_t max, char **buf,
    size_t *len)
{
	ssize_t r;
	size_t got = 0;
	char *b;
	int fd, saved;

	if ((fd = proc_openat(dirfd, name)) == -1)
		return -1;
	b = xmalloc(max + 1);
	while (got < max && (r = read(fd, b + got, max - got)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			free(b);
			close(fd);
			errno = saved;
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

/* Open the proc root and read the cgroup mounts once per scan.  0 or -1. */
static int
proc_ctx_open(struct proc_ctx *ctx, const char *proc_root)
{
	char *buf;
	size_t len;

	memset(ctx, 0, sizeof(*ctx));
	ctx->boot_ns = proc_boot_ns();
	if ((ctx->hz = sysconf(_SC_CLK_TCK)) <= 0)
		ctx->hz = 100;
	if ((ctx->procfd = open(proc_root,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (proc_readat(ctx->procfd, "self/mountinfo", PROC_MOUNTINFO_MAX,
	    &buf, &len) == 0) {
		proc_mountinfo_parse(buf, len, &ctx->m, &ctx->nm);
		free(buf);
	}
	return 0;
}

static void
proc_ctx_close(struct proc_ctx *ctx)
{
	if (ctx->procfd != -1)
		close(ctx->procfd);
	proc_cg_mounts_free(ctx->m, ctx->nm);
	memset(ctx, 0, sizeof(*ctx));
	ctx->procfd = -1;
}

/* Open /proc/PID as a folder descriptor (bound to that process). */
static int
proc_pid_open(const struct proc_ctx *ctx, uint32_t pid)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", pid);
	return openat(ctx->procfd, name,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/*
 * The cgroup folder of the process open on pfd, or NULL (errno ESRCH or
 * ENOENT when it is gone; 0 when it sits in a root group, which is
 * everyone's and never a container's, or in none we can see).
 */
static char *
proc_cgroup_at(const struct proc_ctx *ctx, int pfd)
{
	struct proc_cg_line *l = NULL;
	size_t nl = 0, len, i;
	char *buf, *dir = NULL;

	if (proc_readat(pfd, "cgroup", PROC_FILE_MAX, &buf, &len) == -1)
		return NULL;
	if (proc_cgroup_parse(buf, len, &l, &nl) == 0)
		dir = proc_cgroup_resolve(l, nl, ctx->m, ctx->nm);
	free(buf);
	proc_cg_lines_free(l, nl);
	for (i = 0; dir != NULL && i < ctx->nm; i++) {
		if (strcmp(dir, ctx->m[i].mountpoint) == 0) {
			free(dir);
			dir = NULL;
		}
	}
	if (dir == NULL)
		errno = 0;
	return dir;
}

/* Is cgroup folder dir top itself or below it? */
static bool
proc_cg_within(const char *dir, const char *top)
{
	size_t tl = strlen(top);

	return strncmp(dir, top, tl) == 0 && (dir[tl] == '\0' || dir[tl] == '/');
}

/* /proc/PID/stat of the process open on pfd, start time in realtime ns. */
static int
proc_stat_at(const struct proc_ctx *ctx, int pfd, struct proc_stat *st,
    uint64_t *start_boot_ns)
{
	char *buf;
	size_t len;
	int rc;

	if (proc_readat(pfd, "stat", PROC_FILE_MAX, &buf, &len) == -1)
		return -1;
	rc = proc_stat_parse(buf, len, st);
	free(buf);
	if (rc == -1) {
		errno = EINVAL;
		return -1;
	}
	*start_boot_ns = st->starttime * (1000000000ull / (uint64_t)ctx->hz);
	return 0;
}

/*
 * The cgroup folder of the container, from a pid the runtime named
 * (learned_ns: CLOCK_BOOTTIME when it did, 0 unknown).  NULL if that pid is
 * gone, started after it was named (reused), or sits in no container group.
 */
static char *
proc_cgroup_dir_of(const struct proc_ctx *ctx, uint32_t pid,
    uint64_t learned_ns)
{
	struct proc_stat st;
	uint64_t start;
	char *dir = NULL;
	int pfd;

	if ((pfd = proc_pid_open(ctx, pid)) == -1)
		return NULL;
	if (proc_stat_at(ctx, pfd, &st, &start) == 0 && st.pid == pid &&
	    (learned_ns == 0 || start <= learned_ns))
		dir = proc_cgroup_at(ctx, pfd);
	close(pfd);
	return dir;
}

/* Add pid once; over PROC_PIDS_MAX it is counted in *dropped instead. */
static void
proc_add_pid(uint32_t **pids, size_t *n, uint32_t pid, uint64_t *dropped)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*pids)[i] == pid)
			return;
	if (*n >= PROC_PIDS_MAX) {
		(*dropped)++;
		return;
	}
	*pids = xreallocarray(*pids, *n + 1, sizeof(**pids));
	(*pids)[(*n)++] = pid;
}

/* Collect the pids of dir and its sub-groups (bounded). */
static void
proc_cg_collect(const char *dir, unsigned depth, unsigned *visited,
    uint32_t **pids, size_t *n, uint64_t *dropped)
{
	char path[PATH_MAX], *buf = NULL, *p, *eol, *ep;
	size_t len;
	unsigned long v;
	DIR *d;
	struct dirent *de;
	int fd;

	if (depth > PROC_CG_DEPTH || (*visited)++ >= PROC_CG_DIRS)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (proc_readat(fd, "cgroup.procs", 1024 * 1024, &buf, &len) == 0) {
		for (p = buf; p < buf + len; p = eol + 1) {
			if ((eol = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
				eol = buf + len;
			v = strtoul(p, &ep, 10);
			if (ep != p && ep == eol && v > 0 && v <= UINT32_MAX)
				proc_add_pid(pids, n, (uint32_t)v, dropped);
		}
		free(buf);
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		proc_cg_collect(path, depth + 1, visited, pids, n, dropped);
	}
	closedir(d);
}

/*
 * The real id of a "Uid:\t1000\t1000\t1000\t1000" style line of status
 * (real, effective, saved, filesystem): the wire format's uid and gid are
 * the real ones (schema/README.md, process).
 */
static int
proc_status_ids(const char *buf, const char *key, uint64_t *real)
{
	const char *p;
	unsigned long long r, e;

	if ((p = strstr(buf, key)) == NULL)
		return -1;
	if (sscanf(p + strlen(key), "%llu %llu", &r, &e) != 2)
		return -1;
	*real = r;
	return 0;
}

struct proc_hash {		/* executables hashed in this scan */
	dev_t	 dev;
	ino_t	 ino;
	char	 hex[65];
};

/*
 * SHA-256 of the file path, opened inside the root of the process open on
 * pfd with safe_openat (so the path resolves as the container sees it, and
 * no link leaves it).  At most max bytes; the same inode is hashed once per
 * scan.
 */
static char *
proc_hash_exe(int pfd, const char *exe, uint64_t max, struct proc_hash **cache,
    size_t *ncache)
{
	struct sha256_ctx ctx;
	struct stat st;
	uint8_t digest[32], *chunk;
	char hex[65];
	uint64_t total = 0;
	ssize_t r;
	size_t i;
	int rootfd, fd;

	if ((rootfd = safe_root_openat(pfd, "root")) == -1)
		return NULL;
	fd = safe_openat(rootfd, exe, O_RDONLY);
	close(rootfd);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		close(fd);
		return NULL;
	}
	for (i = 0; i < *ncache; i++) {
		if ((*cache)[i].dev == st.st_dev && (*cache)[i].ino == st.st_ino) {
			close(fd);
			return xstrdup((*cache)[i].hex);
		}
	}
	chunk = xmalloc(PROC_HASH_CHUNK);
	sha256_init(&ctx);
	while ((r = read(fd, chunk, PROC_HASH_CHUNK)) > 0) {
		total += (uint64_t)r;
		if (total > max)
			break;
		sha256_update(&ctx, chunk, (size_t)r);
	}
	free(chunk);
	close(fd);
	if (r != 0)
		return NULL;	/* read error, or grew past max */
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
	*cache = xreallocarray(*cache, *ncache + 1, sizeof(**cache));
	(*cache)[*ncache].dev = st.st_dev;
	(*cache)[*ncache].ino = st.st_ino;
	memcpy((*cache)[*ncache].hex, hex, sizeof(hex));
	(*ncache)++;
	return xstrdup(hex);
}

/* Free what p holds (not p) and clear it. */
void
proc_process_free(struct tm_process *p)
{
	size_t i;

	free(p->comm);
	free(p->exe);
	free(p->sha256);
	for (i = 0; i < p->n_args; i++)
		free(p->args[i]);
	free(p->args);
	memset(p, 0, sizeof(*p));
}

/*
 * Is the process open on pfd (still) the container's?  With a known
 * cgroup: it sits in that group or below.  after: the reads are done, and
 * a process that has exited since (gone, or a zombie, which the kernel
 * shows in the root groups) was the container's when the check before the
 * reads said so.  Returns 1 ours, 0 another process, -1 gone (before).
 */
static int
proc_is_ours(const struct proc_ctx *ctx, const struct proc_scan *ps, int pfd,
    bool after)
{
	struct proc_stat st;
	uint64_t start;
	char *cg;
	int ours;

	if (ps->cgroup_dir == NULL)
		return 1;
	if ((cg = proc_cgroup_at(ctx, pfd)) != NULL) {
		ours = proc_cg_within(cg, ps->cgroup_dir);
		free(cg);
		return ours;
	}
	/* a root group or none: another process, or one that has exited */
	if (errno != ESRCH && errno != ENOENT &&
	    proc_stat_at(ctx, pfd, &st, &start) == 0 &&
	    st.state != 'Z' && st.state != 'X')
		return 0;
	if (errno == EINVAL)
		return 0;
	return after ? 1 : -1;
}

/*
 * Read process pid into out, everything through one descriptor of its
 * /proc folder (see above); learned_ns: CLOCK_BOOTTIME when the runtime
 * named this pid (0: listed from the cgroup).  Returns 0, 1 when the pid is
 * another process's (reused; out is empty), or -1 (errno ENOENT or ESRCH:
 * gone; else malformed).
 */
static int
proc_read_one(const struct proc_scan *ps, const struct proc_ctx *ctx,
    uint32_t pid, uint64_t learned_ns, struct tm_process *out,
    struct proc_hash **cache, size_t *ncache)
{
	struct proc_stat st;
	struct proc_idmap map;
	char link[PATH_MAX], *buf = NULL;
	size_t len;
	ssize_t ll;
	uint64_t v, start;
	int pfd, ours, saved;

	memset(out, 0, sizeof(*out));
	if (ps->hook != NULL)
		ps->hook(ps->hook_arg, pid, PROC_STAGE_LISTED);
	if ((pfd = proc_pid_open(ctx, pid)) == -1)
		return -1;
	if ((ours = proc_is_ours(ctx, ps, pfd, false)) != 1) {
		close(pfd);
		errno = ESRCH;
		return ours == 0 ? 1 : -1;
	}
	if (ps->hook != NULL)
		ps->hook(ps->hook_arg, pid, PROC_STAGE_OPENED);
	if (proc_stat_at(ctx, pfd, &st, &start) == -1 || st.pid != pid) {
		saved = errno == ESRCH || errno == ENOENT ? errno : EINVAL;
		close(pfd);
		errno = saved;
		return -1;
	}
	if (learned_ns != 0 && start > learned_ns) {
		close(pfd);
		return 1;	/* started after the runtime named its pid */
	}
	out->pid = pid;
	out->ppid = st.ppid;
	out->comm = xstrdup(st.comm);
	out->start_ns = ctx->boot_ns + start;

	if (proc_readat(pfd, "status", PROC_FILE_MAX, &buf, &len) == 0) {
		if (proc_status_ids(buf, "\nUid:", &v) == 0)
			out->host_uid = out->uid = v;
		if (proc_status_ids(buf, "\nGid:", &v) == 0)
			out->host_gid = out->gid = v;
		free(buf);
	}
	/* In-container ids: the host ids through the user namespace's maps. */
	if (proc_readat(pfd, "uid_map", PROC_FILE_MAX, &buf, &len) == 0) {
		if (proc_idmap_parse(buf, len, &map) == 0)
			out->uid = proc_idmap_inside(&map, out->host_uid);
		free(buf);
	}
	if (proc_readat(pfd, "gid_map", PROC_FILE_MAX, &buf, &len) == 0) {
		if (proc_idmap_parse(buf, len, &map) == 0)
			out->gid = proc_idmap_inside(&map, out->host_gid);
		free(buf);
	}
	if (out->uid == (uint64_t)-1)
		out->uid = 65534;	/* unmapped: the overflow id, as the kernel shows */
	if (out->gid == (uint64_t)-1)
		out->gid = 65534;

	if (proc_readat_prefix(pfd, "cmdline", PROC_CMDLINE_MAX, &buf, &len) == 0) {
		proc_cmdline_split(buf, len, &out->args, &out->n_args);
		free(buf);
	}

	if ((ll = readlinkat(pfd, "exe", link, sizeof(link) - 1)) > 0) {
		link[ll] = '\0';
		if (ll > 10 && strcmp(link + ll - 10, " (deleted)") == 0)
			link[ll - 10] = '\0';
		if (strlen(link) < TM_STR_MAX)
			out->exe = xstrdup(link);
		if (out->exe != NULL && out->exe[0] == '/')
			out->sha256 = proc_hash_exe(pfd, out->exe, ps->max_exe,
			    cache, ncache);
	}
	if (ps->hook != NULL)
		ps->hook(ps->hook_arg, pid, PROC_STAGE_READ);
	ours = proc_is_ours(ctx, ps, pfd, true);
	close(pfd);
	if (ours != 1) {
		proc_process_free(out);
		return 1;	/* left the container's group during the reads */
	}
	return 0;
}

void
proc_scan_free(struct proc_scan *ps)
{
	size_t i;

	for (i = 0; i < ps->n_procs; i++)
		proc_process_free(&ps->procs[i]);
	free(ps->procs);
	ps->procs = NULL;
	ps->n_procs = 0;
	free(ps->cgroup_dir);
	ps->cgroup_dir = NULL;
}

/*
 * Read every process of the container described by ps (blocking).  The
 * cgroup folder is found from the first live pid the runtime named when
 * not known yet, and left in ps->cgroup_dir for later scans.  Without any
 * cgroup, only the named pids are read.  A pid that turns out to be another
 * process (reused) is counted in ps->foreign, never reported.  Fills
 * ps->procs; returns the count (maybe 0: every process gone), or -1 when
 * the proc root itself cannot be opened.
 */
int
proc_scan_run(struct proc_scan *ps)
{
	struct proc_hash *cache = NULL;
	struct proc_ctx ctx;
	uint32_t *pids = NULL;
	size_t npids = 0, i, j, ncache = 0;
	unsigned visited = 0;
	uint64_t learned;
	bool listed;
	int rc;

	if (ps->max_exe == 0)
		ps->max_exe = INVENTORY_MAX_FILE;
	if (proc_ctx_open(&ctx, ps->proc_root) == -1) {
		proc_ctx_close(&ctx);
		ps->errors++;
		return -1;
	}
	for (i = 0; ps->cgroup_dir == NULL && i < ps->n_pids; i++)
		ps->cgroup_dir = proc_cgroup_dir_of(&ctx, ps->pids[i],
		    ps->pids_ns[i]);
	if (ps->cgroup_dir != NULL)
		proc_cg_collect(ps->cgroup_dir, 0, &visited, &pids, &npids,
		    &ps->dropped);
	listed = npids > 0;
	if (!listed)
		for (i = 0; i < ps->n_pids; i++)
			proc_add_pid(&pids, &npids, ps->pids[i], &ps->dropped);
	for (i = 0; i < npids; i++) {
		/* a pid the runtime named: it must not have started later */
		learned = 0;
		for (j = 0; j < ps->n_pids; j++)
			if (ps->pids[j] == pids[i])
				learned = ps->pids_ns[j];
		ps->procs = xreallocarray(ps->procs, ps->n_procs + 1,
		    sizeof(*ps->procs));
		rc = proc_read_one(ps, &ctx, pids[i], learned,
		    &ps->procs[ps->n_procs], &cache, &ncache);
		if (rc == 0)
			ps->n_procs++;
		else if (rc == 1)
			ps->foreign++;
		else if (errno != ENOENT && errno != ESRCH)
			ps->errors++;
	}
	free(pids);
	free(cache);
	proc_ctx_close(&ctx);
	return (int)ps->n_procs;
}
