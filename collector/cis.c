/*
 * cis.c: the container-runtime checks of the CIS Docker Benchmark v1.6.0
 * (section 5, "Container Runtime Configuration", and 4.1) that a container
 * snapshot lets us decide.  Numbers and titles are the benchmark's; the
 * check reads struct tm_risks (what the agent took from Docker's inspect or
 * the OCI spec) and, for 5.7, the processes.
 *
 * Not evaluated, because a snapshot cannot decide them: 5.1 (swarm mode,
 * a daemon setting), 5.3 (SELinux options: applicability is per host),
 * 5.8/5.9/5.14/5.30 (ports and bridges: tests and production run with
 * --network none or their own networks; port maps are not in the snapshot),
 * 5.19 (ulimits), 5.23/5.24 (docker exec options), 5.25 (cgroup parent),
 * 5.28 (image pull policy).
 *
 * One table line per check (STYLE.md rule 4).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "collector/collector.h"

/* Docker's default capability set (moby's oci/caps/defaults.go lists it);
 * adding anything outside it fails 5.4. */
static const char *const cis_default_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW",
	"SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE",
	"SYS_CHROOT", "KILL", "AUDIT_WRITE",
};

/* Host paths CIS 5.6 names as sensitive, and what lives under them. */
static const char *const cis_sensitive_dirs[] = {
	"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr",
};

static int
cis_cap_is_default(const char *cap)
{
	size_t	i;

	if (strncasecmp(cap, "CAP_", 4) == 0)
		cap += 4;
	for (i = 0; i < TM_NELEM(cis_default_caps); i++)
		if (strcasecmp(cap, cis_default_caps[i]) == 0)
			return 1;
	return 0;
}

/* 1 if host path src is one of the sensitive folders or under one (but not
 * merely under "/": that would be every path). */
static int
cis_sensitive_path(const char *src)
{
	size_t	i;

	if (src == NULL || src[0] != '/')
		return 0;
	for (i = 0; i < TM_NELEM(cis_sensitive_dirs); i++) {
		const char	*d = cis_sensitive_dirs[i];
		size_t		 n = strlen(d);

		if (strcmp(src, d) == 0)
			return 1;
		if (n > 1 && strncmp(src, d, n) == 0 && src[n] == '/')
			return 1;
	}
	/* "//" or "/." are "/" too. */
	return strspn(src, "/.") == strlen(src);
}

static int
cis_apparmor(const struct tm_container *c, char *d, size_t dl)
{
	const char *p = c->risks.apparmor;

	if (p == NULL || strcasecmp(p, "unconfined") != 0)
		return 0;
	snprintf(d, dl, "AppArmor profile: unconfined");
	return 1;
}

static int
cis_caps(const struct tm_container *c, char *d, size_t dl)
{
	size_t	i, off = 0;
	int	bad = 0;

	for (i = 0; i < c->risks.n_cap_add; i++) {
		const char *cap = c->risks.cap_add[i];

		if (cap == NULL || cis_cap_is_default(cap))
			continue;
		if (bad++ == 0)
			off = (size_t)snprintf(d, dl, "capabilities added:");
		if (off < dl)
			off += (size_t)snprintf(d + off, dl - off, " %s", cap);
	}
	return bad > 0;
}

static int
cis_privileged(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.privileged)
		return 0;
	snprintf(d, dl, "runs privileged");
	return 1;
}

/* 1 if mount m brings a container runtime's API socket in (5.32). */
static int
cis_socket_mount(const struct tm_mount *m)
{
	const char *s = m->source;

	return s != NULL && (strstr(s, "docker.sock") != NULL ||
	    strstr(s, "containerd.sock") != NULL);
}

static int
cis_sensitive_mounts(const struct tm_container *c, char *d, size_t dl)
{
	size_t	i;

	for (i = 0; i < c->risks.n_mounts; i++) {
		const struct tm_mount *m = &c->risks.mounts[i];

		/* The agent flags runtime sockets sensitive too: that is
		 * 5.32's finding, not a second one under 5.6. */
		if (cis_socket_mount(m))
			continue;
		if (m->sensitive || (m->type != NULL &&
		    strcmp(m->type, "bind") == 0 &&
		    cis_sensitive_path(m->source))) {
			snprintf(d, dl, "host %s mounted at %s%s",
			    m->source ? m->source : "(unknown)",
			    m->dest ? m->dest : "?", m->ro ? " (ro)" : "");
			return 1;
		}
	}
	return 0;
}

static int
cis_sshd(const struct tm_container *c, char *d, size_t dl)
{
	size_t	i;

	for (i = 0; i < c->n_procs; i++)
		if (c->procs[i].comm != NULL &&
		    strcmp(c->procs[i].comm, "sshd") == 0) {
			snprintf(d, dl, "sshd runs (pid %llu)",
			    (unsigned long long)c->procs[i].pid);
			return 1;
		}
	return 0;
}

static int
cis_host_net(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.host_net)
		return 0;
	snprintf(d, dl, "network mode: host");
	return 1;
}

static int
cis_memory(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.mem_limit > 0)
		return 0;
	snprintf(d, dl, "no memory limit");
	return 1;
}

static int
cis_cpu(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.nano_cpus > 0)
		return 0;
	snprintf(d, dl, "no CPU limit");
	return 1;
}

static int
cis_ro_rootfs(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.ro_rootfs)
		return 0;
	snprintf(d, dl, "root filesystem is writable");
	return 1;
}

static int
cis_restart(const struct tm_container *c, char *d, size_t dl)
{
	const char *r = c->risks.restart;

	if (r == NULL || (strcmp(r, "always") != 0 &&
	    strcmp(r, "unless-stopped") != 0))
		return 0;
	snprintf(d, dl, "restart policy: %s", r);
	return 1;
}

static int
cis_host_pid(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.host_pid)
		return 0;
	snprintf(d, dl, "PID namespace: host");
	return 1;
}

static int
cis_host_ipc(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.host_ipc)
		return 0;
	snprintf(d, dl, "IPC namespace: host");
	return 1;
}

static int
cis_devices(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.n_devices == 0)
		return 0;
	snprintf(d, dl, "host device %s%s", c->risks.devices[0] ?
	    c->risks.devices[0] : "?", c->risks.n_devices > 1 ?
	    " and more" : "");
	return 1;
}

static int
cis_propagation(const struct tm_container *c, char *d, size_t dl)
{
	size_t	i;

	for (i = 0; i < c->risks.n_mounts; i++) {
		const struct tm_mount *m = &c->risks.mounts[i];

		if (m->propagation != NULL &&
		    (strcmp(m->propagation, "shared") == 0 ||
		    strcmp(m->propagation, "rshared") == 0)) {
			snprintf(d, dl, "%s mounted with %s propagation",
			    m->dest ? m->dest : "?", m->propagation);
			return 1;
		}
	}
	return 0;
}

static int
cis_host_uts(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.host_uts)
		return 0;
	snprintf(d, dl, "UTS namespace: host");
	return 1;
}

static int
cis_seccomp(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.seccomp == NULL ||
	    strcasecmp(c->risks.seccomp, "unconfined") != 0)
		return 0;
	snprintf(d, dl, "seccomp: unconfined");
	return 1;
}

static int
cis_nnp(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.no_new_privs)
		return 0;
	snprintf(d, dl, "no-new-privileges is not set");
	return 1;
}

static int
cis_health(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.healthcheck)
		return 0;
	snprintf(d, dl, "no health check");
	return 1;
}

static int
cis_pids(const struct tm_container *c, char *d, size_t dl)
{
	if (c->risks.pids_limit > 0)
		return 0;
	snprintf(d, dl, "no PIDs limit");
	return 1;
}

static int
cis_host_userns(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.host_userns)
		return 0;
	snprintf(d, dl, "user namespace: host");
	return 1;
}

static int
cis_docker_socket(const struct tm_container *c, char *d, size_t dl)
{
	size_t	i;

	if (c->risks.docker_socket) {
		snprintf(d, dl, "container runtime socket mounted");
		return 1;
	}
	for (i = 0; i < c->risks.n_mounts; i++)
		if (cis_socket_mount(&c->risks.mounts[i])) {
			snprintf(d, dl, "%s mounted", c->risks.mounts[i].source);
			return 1;
		}
	return 0;
}

static int
cis_root_user(const struct tm_container *c, char *d, size_t dl)
{
	if (!c->risks.root_user)
		return 0;
	snprintf(d, dl, "runs as root (user %s)", c->user && *c->user ?
	    c->user : "not set");
	return 1;
}

const struct cis_check cis_checks[] = {
	{ "4.1", "Ensure that a user for the container has been created",
	  SEV_MEDIUM, cis_root_user },
	{ "5.2", "Ensure that, if applicable, an AppArmor Profile is enabled",
	  SEV_MEDIUM, cis_apparmor },
	{ "5.4", "Ensure that Linux kernel capabilities are restricted within "
	  "containers", SEV_HIGH, cis_caps },
	{ "5.5", "Ensure that privileged containers are not used",
	  SEV_CRITICAL, cis_privileged },
	{ "5.6", "Ensure sensitive host system directories are not mounted on "
	  "containers", SEV_HIGH, cis_sensitive_mounts },
	{ "5.7", "Ensure sshd is not run within containers", SEV_MEDIUM,
	  cis_sshd },
	{ "5.10", "Ensure that the host's network namespace is not shared",
	  SEV_HIGH, cis_host_net },
	{ "5.11", "Ensure that the memory usage for containers is limited",
	  SEV_LOW, cis_memory },
	{ "5.12", "Ensure that CPU priority is set appropriately on containers",
	  SEV_LOW, cis_cpu },
	{ "5.13", "Ensure that the container's root filesystem is mounted as "
	  "read only", SEV_LOW, cis_ro_rootfs },
	{ "5.15", "Ensure that the 'on-failure' container restart policy is "
	  "set to '5'", SEV_LOW, cis_restart },
	{ "5.16", "Ensure that the host's process namespace is not shared",
	  SEV_HIGH, cis_host_pid },
	{ "5.17", "Ensure that the host's IPC namespace is not shared",
	  SEV_HIGH, cis_host_ipc },
	{ "5.18", "Ensure that host devices are not directly exposed to "
	  "containers", SEV_MEDIUM, cis_devices },
	{ "5.20", "Ensure mount propagation mode is not set to shared",
	  SEV_MEDIUM, cis_propagation },
	{ "5.21", "Ensure that the host's UTS namespace is not shared",
	  SEV_MEDIUM, cis_host_uts },
	{ "5.22", "Ensure the default seccomp profile is not Disabled",
	  SEV_HIGH, cis_seccomp },
	{ "5.26", "Ensure that the container is restricted from acquiring "
	  "additional privileges", SEV_MEDIUM, cis_nnp },
	{ "5.27", "Ensure that container health is checked at runtime",
	  SEV_LOW, cis_health },
	{ "5.29", "Ensure that the PIDs cgroup limit is used", SEV_LOW,
	  cis_pids },
	{ "5.31", "Ensure that the host's user namespaces are not shared",
	  SEV_HIGH, cis_host_userns },
	{ "5.32", "Ensure that the Docker socket is not mounted inside any "
	  "containers", SEV_CRITICAL, cis_docker_socket },
};
const size_t cis_checks_len = TM_NELEM(cis_checks);

/* The check with id ("5.5"), or NULL. */
const struct cis_check *
cis_check_find(const char *id)
{
	size_t	i;

	for (i = 0; i < cis_checks_len; i++)
		if (strcmp(cis_checks[i].id, id) == 0)
			return &cis_checks[i];
	return NULL;
}
