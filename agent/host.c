/*
 * host.c: the host record: host name, OS, kernel, architecture, the
 * container runtimes' versions, the agent's version, boot time, CPUs and
 * memory.  Sent when the agent starts and again whenever one of these
 * changes (a runtime (re)connects with another version, a reload).
 *
 * The facts come from small files (/etc/os-release) and system calls; in
 * the run loop they are gathered on the thread pool like any other file
 * access.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent.h"

#define HOST_OSREL_MAX	(64u * 1024)

struct host {
	struct tm_host	 last;		/* as last sent */
	bool		 sent;
	char		*docker, *containerd;
	bool		 busy, again;	/* a gathering is running / wanted */
	uv_work_t	 req;
	struct tm_host	 fresh;
	struct agent	*a;
};

/* One os-release value (unquoted, bounded), or NULL. */
static char *
host_osrel(const char *buf, const char *key)
{
	size_t kl = strlen(key), l;
	const char *p = buf, *v, *eol;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			v = p + kl + 1;
			eol = strchr(v, '\n');
			l = eol != NULL ? (size_t)(eol - v) : strlen(v);
			if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
				v++;
				l -= 2;
			}
			return l > 0 && l < TM_STR_SHORT ? xstrndup(v, l) : NULL;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

/* Gather the facts that do not come from the watchers (blocking). */
static void
host_gather(struct tm_host *h)
{
	struct utsname u;
	struct sysinfo si;
	char name[256], *buf = NULL;
	size_t len;
	long n;
	int fd;

	memset(h, 0, sizeof(*h));
	if (gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = '\0';
		h->hostname = xstrdup(name);
	} else
		h->hostname = xstrdup("unknown");
	if (uname(&u) == 0) {
		h->kernel = xstrdup(u.release);
		h->arch = xstrdup(u.machine);
	}
	if ((fd = safe_root_open("/")) != -1) {
		if (safe_read_file(fd, "/etc/os-release", HOST_OSREL_MAX, &buf,
		    &len) == 0 || safe_read_file(fd, "/usr/lib/os-release",
		    HOST_OSREL_MAX, &buf, &len) == 0) {
			h->os_id = host_osrel(buf, "ID");
			h->os_version = host_osrel(buf, "VERSION_ID");
			h->os_pretty = host_osrel(buf, "PRETTY_NAME");
			free(buf);
		}
		close(fd);
	}
	h->agent_version = xstrdup(PACKAGE_VERSION);
	/* whole seconds: the computation jitters by microseconds */
	h->boot_ns = proc_boot_ns() / 1000000000ull * 1000000000ull;
	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
		h->ncpu = (uint64_t)n;
	if (sysinfo(&si) == 0)
		h->mem_bytes = (uint64_t)si.totalram * si.mem_unit;
}

static bool
host_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
host_same(const struct tm_host *x, const struct tm_host *y)
{
	/* boot time may move by a second between two computations */
	uint64_t db = x->boot_ns > y->boot_ns ? x->boot_ns - y->boot_ns :
	    y->boot_ns - x->boot_ns;

	return host_streq(x->hostname, y->hostname) &&
	    host_streq(x->os_id, y->os_id) &&
	    host_streq(x->os_version, y->os_version) &&
	    host_streq(x->os_pretty, y->os_pretty) &&
	    host_streq(x->kernel, y->kernel) && host_streq(x->arch, y->arch) &&
	    host_streq(x->agent_version, y->agent_version) &&
	    host_streq(x->docker_version, y->docker_version) &&
	    host_streq(x->containerd_version, y->containerd_version) &&
	    db <= 2000000000ull && x->ncpu == y->ncpu &&
	    x->mem_bytes == y->mem_bytes;
}

/* Send fresh if it differs from the last record; takes fresh's members. */
static void
host_publish(struct host *hs, struct tm_host *fresh)
{
	const struct tm_desc *desc = tm_kind_desc(TM_KIND_HOST);

	fresh->docker_version = hs->docker != NULL ? xstrdup(hs->docker) : NULL;
	fresh->containerd_version = hs->containerd != NULL ?
	    xstrdup(hs->containerd) : NULL;
	if (hs->sent && host_same(&hs->last, fresh)) {
		tm_struct_free(desc, fresh);
		return;
	}
	if (agent_emit(hs->a, TM_KIND_HOST, fresh) == -1) {
		log_warnx("host: host record not emitted");
		tm_struct_free(desc, fresh);
		return;
	}
	tm_struct_free(desc, &hs->last);
	hs->last = *fresh;
	memset(fresh, 0, sizeof(*fresh));
	hs->sent = true;
}

static void
host_work(uv_work_t *req)
{
	struct host *hs = req->data;

	host_gather(&hs->fresh);
}

static void
host_after(uv_work_t *req, int status)
{
	struct host *hs = req->data;

	hs->busy = false;
	if (hs->a == NULL) {		/* closed meanwhile */
		tm_struct_free(tm_kind_desc(TM_KIND_HOST), &hs->fresh);
		tm_struct_free(tm_kind_desc(TM_KIND_HOST), &hs->last);
		free(hs->docker);
		free(hs->containerd);
		free(hs);
		return;
	}
	host_publish(hs, &hs->fresh);
	if (hs->again) {
		hs->again = false;
		host_emit(hs->a, false);
	}
}

static struct host *
host_get(struct agent *a)
{
	if (a->host == NULL) {
		a->host = xcalloc(1, sizeof(*a->host));
		a->host->a = a;
		a->host->req.data = a->host;
	}
	return a->host;
}

/*
 * Send the host record if any fact changed since the last one (always the
 * first time).  The facts are gathered on the thread pool, or at once when
 * now is true (the snapshot command, outside the run loop's budget).
 * Returns 0 or -1.
 */
int
host_emit(struct agent *a, bool now)
{
	struct host *hs = host_get(a);
	struct tm_host fresh;

	if (now) {
		host_gather(&fresh);
		host_publish(hs, &fresh);
		return 0;
	}
	if (hs->busy) {
		hs->again = true;
		return 0;
	}
	if (uv_queue_work(a->loop, &hs->req, host_work, host_after) != 0)
		return -1;
	hs->busy = true;
	return 0;
}

/* A runtime reported its version: a new host record if it changed. */
/*
 * Whether the kernel enforces AppArmor: a container with no profile is
 * unconfined on such a host, and AppArmor does not apply on the others
 * (CIS 5.2's "if applicable").  Read once, at start-up.
 */
bool
host_apparmor(void)
{
	char	buf[8];
	FILE	*fp = fopen("/sys/module/apparmor/parameters/enabled", "re");
	bool	 on;

	if (fp == NULL)
		return false;
	on = fgets(buf, sizeof(buf), fp) != NULL && buf[0] == 'Y';
	fclose(fp);
	return on;
}

void
host_runtime_version(struct agent *a, const char *runtime, const char *version)
{
	struct host *hs = host_get(a);
	char **slot;

	if (strcmp(runtime, "docker") == 0)
		slot = &hs->docker;
	else if (strcmp(runtime, "containerd") == 0)
		slot = &hs->containerd;
	else
		return;
	if (*slot != NULL && strcmp(*slot, version) == 0)
		return;
	free(*slot);
	*slot = version[0] != '\0' ? xstrdup(version) : NULL;
	if (hs->sent || hs->busy)
		host_emit(a, false);
}

void
host_close(struct agent *a)
{
	struct host *hs = a->host;

	if (hs == NULL)
		return;
	a->host = NULL;
	if (hs->busy) {
		hs->a = NULL;	/* host_after frees it */
		return;
	}
	tm_struct_free(tm_kind_desc(TM_KIND_HOST), &hs->last);
	free(hs->docker);
	free(hs->containerd);
	free(hs);
}
