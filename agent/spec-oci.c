/*
 * spec-oci.c: an OCI runtime spec (config.json; containerd keeps it as the
 * container's spec, an Any holding the JSON) as command, user and
 * configuration risks.
 *
 * The spec says what the runtime was asked to do, so it is the ground truth
 * for containers no richer API describes (ctr, nerdctl, Kubernetes through
 * CRI).  It is written by whoever created the container: every value is
 * type-checked and bounded.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define SPEC_ARGS_MAX		1024u
#define SPEC_MOUNTS_MAX		1024u
#define SPEC_DEVICES_MAX	256u

static const char *
jstr(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) > max)
		return NULL;
	return json_string_value(v);
}

static int64_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static bool
spec_has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* The process's capability set: effective, else bounding (as runc
 * applies them).  An object without either means none. */
static void
spec_caps(json_t *caps, struct tm_risks *r)
{
	json_t *set, *v;
	char **names = NULL, *c;
	size_t n = 0, i;

	if (!json_is_object(caps))
		caps = NULL;
	set = json_object_get(caps, "effective");
	if (!json_is_array(set))
		set = json_object_get(caps, "bounding");
	if (json_is_array(set)) {
		json_array_foreach(set, i, v) {
			if (n >= 64 || !json_is_string(v))
				continue;
			if ((c = risk_cap_name(json_string_value(v))) == NULL ||
			    strcmp(c, "ALL") == 0) {
				free(c);
				continue;
			}
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = c;
		}
	}
	risk_caps_from_set(r, names, n);
	risk_strlist_free(&names, &n);
}

/* Runtime bookkeeping binds Docker adds under its own folder: not the
 * user's choice, not a risk (/etc/hosts, resolv.conf, hostname, shm). */
static bool
spec_runtime_bind(const char *src, const char *id)
{
	char needle[128];

	if (id == NULL || strlen(id) > 64)
		return false;
	snprintf(needle, sizeof(needle), "/containers/%s/", id);
	return strstr(src, needle) != NULL;
}

static void
spec_mounts(json_t *arr, const char *id, struct tm_risks *r)
{
	json_t *m, *opts, *o;
	const char *type, *src, *dst, *s;
	struct tm_mount *t;
	size_t i, j;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, m) {
		if (r->n_mounts >= SPEC_MOUNTS_MAX)
			break;
		if ((dst = jstr(m, "destination", TM_STR_MAX)) == NULL)
			continue;
		type = jstr(m, "type", TM_STR_SHORT);
		src = jstr(m, "source", TM_STR_MAX);
		opts = json_object_get(m, "options");
		if (!json_is_array(opts))
			opts = NULL;
		/* Only binds expose the host; proc, tmpfs, sysfs... do not. */
		if (!((type != NULL && strcmp(type, "bind") == 0) ||
		    spec_has_string(opts, "bind") || spec_has_string(opts, "rbind")))
			continue;
		if (src == NULL || spec_runtime_bind(src, id))
			continue;
		r->mounts = xreallocarray(r->mounts, r->n_mounts + 1,
		    sizeof(*r->mounts));
		t = &r->mounts[r->n_mounts++];
		memset(t, 0, sizeof(*t));
		t->source = xstrdup(src);
		t->dest = xstrdup(dst);
		t->type = xstrdup("bind");
		t->ro = spec_has_string(opts, "ro");
		json_array_foreach(opts, j, o) {
			s = json_is_string(o) ? json_string_value(o) : "";
			if (strcmp(s, "rprivate") == 0 || strcmp(s, "private") == 0 ||
			    strcmp(s, "rshared") == 0 || strcmp(s, "shared") == 0 ||
			    strcmp(s, "rslave") == 0 || strcmp(s, "slave") == 0) {
				free(t->propagation);
				t->propagation = xstrdup(s);
			}
		}
		t->sensitive = risk_path_sensitive(src);
		if (risk_path_runtime_socket(src) || risk_path_runtime_socket(dst))
			r->docker_socket = true;
	}
}

/* Does the device cgroup allow every device (a privileged container)? */
static bool
spec_devices_allow_all(json_t *rules)
{
	json_t *d;
	const char *t;
	size_t i;

	json_array_foreach(rules, i, d) {
		if (!json_is_true(json_object_get(d, "allow")))
			continue;
		t = jstr(d, "type", 8);
		if ((t == NULL || strcmp(t, "a") == 0) &&
		    json_object_get(d, "major") == NULL &&
		    json_object_get(d, "minor") == NULL)
			return true;
	}
	return false;
}

static bool
spec_has_ns(json_t *nss, const char *type)
{
	json_t *n;
	const char *t;
	size_t i;

	json_array_foreach(nss, i, n) {
		/* A namespace joined by path is someone else's, maybe the
		 * host's: only a fresh one (no path) counts as private. */
		t = jstr(n, "type", 16);
		if (t != NULL && strcmp(t, type) == 0 &&
		    json_object_get(n, "path") == NULL)
			return true;
	}
	return false;
}

/*
 * Fill cmd, user and risks of out (zeroed by the caller; members owned by
 * it, free with tm_struct_free) from an OCI runtime spec.  out->id, if set,
 * names the container (to recognise the runtime's own binds).  Returns 0,
 * or -1 when spec is not an object with a process.
 */
int
spec_oci_parse(json_t *spec, struct tm_container *out)
{
	json_t *proc, *user, *args, *linux_, *nss, *res, *v, *devs;
	struct tm_risks *r = &out->risks;
	const char *s;
	int64_t uid, gid, quota, period;
	size_t i;

	if (!json_is_object(spec) ||
	    !json_is_object(proc = json_object_get(spec, "process")))
		return -1;
	args = json_object_get(proc, "args");
	if (json_is_array(args)) {
		json_array_foreach(args, i, v) {
			if (out->n_cmd >= SPEC_ARGS_MAX)
				break;
			if (!json_is_string(v) || json_string_length(v) > TM_STR_MAX)
				continue;
			out->cmd = xreallocarray(out->cmd, out->n_cmd + 1,
			    sizeof(*out->cmd));
			out->cmd[out->n_cmd++] = xstrdup(json_string_value(v));
		}
	}
	user = json_object_get(proc, "user");
	uid = jint(user, "uid");
	gid = jint(user, "gid");
	if (uid >= 0 && gid >= 0 && uid <= UINT32_MAX && gid <= UINT32_MAX)
		xasprintf(&out->user, "%lld:%lld", (long long)uid, (long long)gid);
	r->root_user = uid == 0;
	spec_caps(json_object_get(proc, "capabilities"), r);
	r->no_new_privs = json_is_true(json_object_get(proc, "noNewPrivileges"));
	/* No profile: unconfined where the kernel has AppArmor (snapshot.c
	 * knows the host), not applicable elsewhere. */
	s = jstr(proc, "apparmorProfile", TM_STR_SHORT);
	if (s != NULL && s[0] != '\0')
		r->apparmor = xstrdup(s);
	if ((s = jstr(proc, "selinuxLabel", TM_STR_SHORT)) != NULL && s[0] != '\0')
		r->selinux = xstrdup(s);
	r->ro_rootfs = json_is_true(json_object_get(json_object_get(spec, "root"),
	    "readonly"));
	spec_mounts(json_object_get(spec, "mounts"), out->id, r);

	linux_ = json_object_get(spec, "linux");
	nss = json_object_get(linux_, "namespaces");
	if (!json_is_array(nss))
		nss = NULL;
	r->host_net = !spec_has_ns(nss, "network");
	r->host_pid = !spec_has_ns(nss, "pid");
	r->host_ipc = !spec_has_ns(nss, "ipc");
	r->host_uts = !spec_has_ns(nss, "uts");
	r->host_userns = !spec_has_ns(nss, "user");
	r->seccomp = xstrdup(json_is_object(json_object_get(linux_, "seccomp")) ?
	    "default" : "unconfined");
	res = json_object_get(linux_, "resources");
	r->mem_limit = jint(json_object_get(res, "memory"), "limit");
	quota = jint(json_object_get(res, "cpu"), "quota");
	period = jint(json_object_get(res, "cpu"), "period");
	if (quota > 0)
		r->nano_cpus = quota * 1000000000 / (period > 0 ? period : 100000);
	r->pids_limit = jint(json_object_get(res, "pids"), "limit");
	devs = json_object_get(linux_, "devices");
	if (json_is_array(devs)) {
		json_array_foreach(devs, i, v) {
			if (r->n_devices >= SPEC_DEVICES_MAX)
				break;
			if ((s = jstr(v, "path", TM_STR_MAX)) == NULL)
				continue;
			r->devices = xreallocarray(r->devices, r->n_devices + 1,
			    sizeof(*r->devices));
			r->devices[r->n_devices++] = xstrdup(s);
		}
	}
	/* Privileged, as Docker, CRI and ctr make it: CAP_SYS_ADMIN, every
	 * device allowed and no masked paths. */
	v = json_object_get(linux_, "maskedPaths");
	for (i = 0; i < r->n_caps; i++)
		if (strcmp(r->caps[i], "SYS_ADMIN") == 0)
			break;
	r->privileged = i < r->n_caps &&
	    spec_devices_allow_all(json_object_get(res, "devices")) &&
	    (!json_is_array(v) || json_array_size(v) == 0);
	return 0;
}
