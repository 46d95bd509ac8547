/*
 * risks.c: the runtime-independent parts of a container's configuration
 * risks: which host paths are sensitive to mount, which mounts expose a
 * container runtime's socket, and capability sets (names, defaults, the
 * difference from the runtimes' default set).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"

/* The default set of Docker and containerd (and CRI) for non-privileged
 * containers: the same 14 capabilities in both. */
const char *const risk_default_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW",
	"SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE",
	"SYS_CHROOT", "KILL", "AUDIT_WRITE",
};
const size_t risk_default_caps_len = TM_NELEM(risk_default_caps);

/* Every capability Linux defines, in number order (0..40). */
const char *const risk_all_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};
const size_t risk_all_caps_len = TM_NELEM(risk_all_caps);

enum { RISK_EXACT, RISK_TREE };
static const struct {
	const char	*path;
	int		 match;
} risk_sensitive[] = {
	{ "/", RISK_EXACT },
	{ "/bin", RISK_EXACT },
	{ "/sbin", RISK_EXACT },
	{ "/lib", RISK_EXACT },
	{ "/lib64", RISK_EXACT },
	{ "/usr", RISK_EXACT },
	{ "/var", RISK_EXACT },
	{ "/var/lib", RISK_EXACT },
	{ "/run", RISK_EXACT },
	{ "/var/run", RISK_EXACT },
	{ "/home", RISK_EXACT },
	{ "/etc", RISK_TREE },
	{ "/proc", RISK_TREE },
	{ "/sys", RISK_TREE },
	{ "/dev", RISK_TREE },
	{ "/boot", RISK_TREE },
	{ "/root", RISK_TREE },
	{ "/var/log", RISK_TREE },
	{ "/var/lib/docker", RISK_TREE },
	{ "/var/lib/containerd", RISK_TREE },
	{ "/var/lib/kubelet", RISK_TREE },
	{ "/var/lib/rancher", RISK_TREE },
	{ "/run/containerd", RISK_TREE },
	{ "/var/run/containerd", RISK_TREE },
	{ "/run/docker", RISK_TREE },
	{ "/var/run/docker", RISK_TREE },
	{ "/run/docker.sock", RISK_EXACT },
	{ "/var/run/docker.sock", RISK_EXACT },
	{ "/run/crio", RISK_TREE },
	{ "/var/run/crio", RISK_TREE },
	{ "/usr/bin", RISK_TREE },
	{ "/usr/sbin", RISK_TREE },
	{ "/usr/lib", RISK_TREE },
};

/*
 * Normalise a host path for comparison: collapse "//", drop "/." and a
 * trailing '/'.  Returns 0, or -1 for a relative path or one with ".."
 * (which cannot be judged, so callers treat it as sensitive).
 */
static int
risk_normalise(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = in, *seg;
	size_t sl;

	if (in == NULL || in[0] != '/')
		return -1;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		seg = p;
		while (*p != '\0' && *p != '/')
			p++;
		sl = (size_t)(p - seg);
		if (sl == 1 && seg[0] == '.')
			continue;
		if (sl == 2 && seg[0] == '.' && seg[1] == '.')
			return -1;
		if (o + 1 + sl + 1 > outlen)
			return -1;
		out[o++] = '/';
		memcpy(out + o, seg, sl);
		o += sl;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* Is mounting the host path src into a container a risk in itself? */
bool
risk_path_sensitive(const char *src)
{
	char n[4096];
	size_t i, l;

	if (risk_normalise(src, n, sizeof(n)) == -1)
		return true;
	if (risk_path_runtime_socket(n))
		return true;
	for (i = 0; i < TM_NELEM(risk_sensitive); i++) {
		l = strlen(risk_sensitive[i].path);
		if (strcmp(n, risk_sensitive[i].path) == 0)
			return true;
		if (risk_sensitive[i].match == RISK_TREE &&
		    strncmp(n, risk_sensitive[i].path, l) == 0 && n[l] == '/')
			return true;
	}
	return false;
}

/* Does the path (host source or container destination) name a container
 * runtime's API socket? */
bool
risk_path_runtime_socket(const char *path)
{
	static const char *const socks[] = { "docker.sock", "containerd.sock",
	    "crio.sock", "podman.sock", "dockershim.sock", "cri-dockerd.sock" };
	const char *base;
	size_t i;

	if (path == NULL)
		return false;
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	for (i = 0; i < TM_NELEM(socks); i++)
		if (strcmp(base, socks[i]) == 0)
			return true;
	return false;
}

/*
 * The canonical name of a capability: upper case, without "CAP_".  Returns
 * a new string, or NULL if name is not a capability we know.
 */
char *
risk_cap_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	if (strcasecmp(name, "ALL") == 0)
		return xstrdup("ALL");
	for (i = 0; i < risk_all_caps_len; i++)
		if (strcasecmp(name, risk_all_caps[i]) == 0)
			return xstrdup(risk_all_caps[i]);
	return NULL;
}

static bool
risk_in(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
risk_list_add(char ***list, size_t *n, const char *s)
{
	if (risk_in(*list, *n, s) || *n >= TM_LIST_MAX)
		return;
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrdup(s);
}

/*
 * Set r->caps to the effective set caps[0..n) (canonical names; the caller
 * keeps caps), and r->cap_add / r->cap_drop to its difference from the
 * runtimes' default set.  Replaces whatever r held.
 */
void
risk_caps_from_set(struct tm_risks *r, char **caps, size_t n)
{
	size_t i;

	risk_strlist_free(&r->caps, &r->n_caps);
	risk_strlist_free(&r->cap_add, &r->n_cap_add);
	risk_strlist_free(&r->cap_drop, &r->n_cap_drop);
	for (i = 0; i < n; i++) {
		risk_list_add(&r->caps, &r->n_caps, caps[i]);
		if (!risk_in((char *const *)(uintptr_t)risk_default_caps,
		    risk_default_caps_len, caps[i]))
			risk_list_add(&r->cap_add, &r->n_cap_add, caps[i]);
	}
	for (i = 0; i < risk_default_caps_len; i++)
		if (!risk_in(caps, n, risk_default_caps[i]))
			risk_list_add(&r->cap_drop, &r->n_cap_drop,
			    risk_default_caps[i]);
}

/*
 * The effective set of a Docker container: every capability when
 * privileged, else the default set with add applied, then drop ("ALL"
 * allowed in both, as Docker does).  Fills r->caps.
 */
void
risk_caps_docker(struct tm_risks *r, bool privileged)
{
	char **set = NULL;
	size_t n = 0, i, j;
	bool all_add = false, all_drop = false;

	risk_strlist_free(&r->caps, &r->n_caps);
	for (i = 0; i < r->n_cap_add; i++)
		all_add |= strcmp(r->cap_add[i], "ALL") == 0;
	for (i = 0; i < r->n_cap_drop; i++)
		all_drop |= strcmp(r->cap_drop[i], "ALL") == 0;
	if (privileged || all_add) {
		for (i = 0; i < risk_all_caps_len; i++)
			risk_list_add(&set, &n, risk_all_caps[i]);
	} else if (!all_drop) {
		for (i = 0; i < risk_default_caps_len; i++)
			risk_list_add(&set, &n, risk_default_caps[i]);
	}
	if (!privileged) {
		if (all_drop && !all_add) {
			risk_strlist_free(&set, &n);
		} else {
			for (i = 0; i < r->n_cap_drop; i++) {
				for (j = 0; j < n; j++) {
					if (strcmp(set[j], r->cap_drop[i]) != 0)
						continue;
					free(set[j]);
					set[j] = set[--n];
					break;
				}
			}
		}
		for (i = 0; i < r->n_cap_add; i++)
			if (strcmp(r->cap_add[i], "ALL") != 0)
				risk_list_add(&set, &n, r->cap_add[i]);
	}
	r->caps = set;
	r->n_caps = n;
}

void
risk_strlist_free(char ***list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}
