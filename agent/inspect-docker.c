/*
 * inspect-docker.c: Docker's container inspect (GET /containers/{id}/json)
 * as a normalised snapshot: identity, lifecycle and configuration risks.
 *
 * The daemon is trusted to speak its API, but most of what it says comes
 * from whoever ran the container (labels, command, user, mount paths), so
 * every value is type-checked and bounded; a wrong type is treated as
 * absent, an over-long string or list is cut to the schema's bound.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"

#define INSPECT_LABELS_MAX	1024u
#define INSPECT_MOUNTS_MAX	1024u
#define INSPECT_ARGS_MAX	1024u

/* A string member of o, or NULL when absent, not a string or longer than
 * max bytes. */
static const char *
jstr(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) > max)
		return NULL;
	return json_string_value(v);
}

static char *
jdup(json_t *o, const char *key, size_t max)
{
	const char *s = jstr(o, key, max);

	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static int64_t
jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static bool
jbool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/*
 * Parse an RFC 3339 time as Docker writes it ("2024-05-01T10:00:00.123Z",
 * or with a numeric offset) into ns since the epoch.  Docker's zero time
 * (year 1) and anything before 1970 give 0.  Returns 0 or -1.
 */
int
inspect_docker_time(const char *s, uint64_t *ns)
{
	struct tm tm;
	const char *p;
	uint64_t frac = 0, scale = 100000000ull;
	int64_t off = 0, secs;
	int y, mo, d, h, mi, se, n = 0, oh, om;

	*ns = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h,
	    &mi, &se, &n) != 6 || n != 19)
		return -1;
	p = s + n;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (scale > 0) {
				frac += (uint64_t)(*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') &&
	    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
		off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else
		return -1;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	if (y < 1970)
		return 0;	/* "0001-01-01T00:00:00Z": never */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	secs = (int64_t)timegm(&tm) - off;
	/* before 1970, or after 2262 (ns beyond the record's int64): unknown */
	if (secs < 0 || secs > (INT64_MAX - 999999999) / 1000000000)
		return 0;
	*ns = (uint64_t)secs * 1000000000ull + frac;
	return 0;
}

static void
inspect_strlist(json_t *arr, size_t max, size_t maxlen, char ***out, size_t *n)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, v) {
		if (*n >= max)
			break;
		if (!json_is_string(v) || json_string_length(v) > maxlen)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = xstrdup(json_string_value(v));
	}
}

static void
inspect_caps(json_t *arr, char ***out, size_t *n)
{
	size_t i;
	json_t *v;
	char *c;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, v) {
		if (*n >= 64 || !json_is_string(v))
			continue;
		if ((c = risk_cap_name(json_string_value(v))) == NULL)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = c;
	}
}

/* Labels as key/value pairs (a JSON object of strings), bounded. */
static void
inspect_labels(json_t *obj, struct tm_kv **out, size_t *n)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return;
	json_object_foreach(obj, k, v) {
		if (*n >= INSPECT_LABELS_MAX)
			break;
		if (!json_is_string(v) || strlen(k) > TM_STR_SHORT ||
		    json_string_length(v) > TM_STR_MAX)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[*n].k = xstrdup(k);
		(*out)[*n].v = xstrdup(json_string_value(v));
		(*n)++;
	}
}

static bool
inspect_is_root_user(const char *user)
{
	if (user == NULL || user[0] == '\0')
		return true;	/* the image's default, root unless it says so */
	return strcmp(user, "0") == 0 || strcmp(user, "root") == 0 ||
	    strncmp(user, "0:", 2) == 0 || strncmp(user, "root:", 5) == 0;
}

/* SecurityOpt entries are "key=value" or (old style) "key:value". */
static const char *
inspect_secopt(json_t *opts, const char *key)
{
	size_t i, kl = strlen(key);
	json_t *v;
	const char *s;

	json_array_foreach(opts, i, v) {
		if (!json_is_string(v) || json_string_length(v) > TM_STR_MAX)
			continue;
		s = json_string_value(v);
		if (strncmp(s, key, kl) == 0 && (s[kl] == '=' || s[kl] == ':'))
			return s + kl + 1;
		if (strcmp(s, key) == 0)
			return "";
	}
	return NULL;
}

static void
inspect_mounts(json_t *arr, struct tm_risks *r)
{
	size_t i;
	json_t *m;
	struct tm_mount *t;
	const char *type, *src, *dst;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, m) {
		if (r->n_mounts >= INSPECT_MOUNTS_MAX)
			break;
		if (!json_is_object(m) ||
		    (dst = jstr(m, "Destination", TM_STR_MAX)) == NULL)
			continue;
		type = jstr(m, "Type", TM_STR_SHORT);
		src = jstr(m, "Source", TM_STR_MAX);
		r->mounts = xreallocarray(r->mounts, r->n_mounts + 1,
		    sizeof(*r->mounts));
		t = &r->mounts[r->n_mounts++];
		memset(t, 0, sizeof(*t));
		t->dest = xstrdup(dst);
		t->source = src != NULL && src[0] != '\0' ? xstrdup(src) : NULL;
		t->type = type != NULL && type[0] != '\0' ? xstrdup(type) : NULL;
		t->ro = !jbool(m, "RW");
		t->propagation = jdup(m, "Propagation", TM_STR_SHORT);
		/* Only a bind exposes a host path; volumes live in Docker's
		 * own folder by design. */
		if (type != NULL && strcmp(type, "bind") == 0 && src != NULL) {
			t->sensitive = risk_path_sensitive(src);
			if (risk_path_runtime_socket(src) ||
			    risk_path_runtime_socket(dst))
				r->docker_socket = true;
		}
	}
}

static void
inspect_risks(json_t *in, bool daemon_userns, const char *user,
    struct tm_risks *r)
{
	json_t *hc = json_object_get(in, "HostConfig");
	json_t *cfg = json_object_get(in, "Config");
	json_t *opts, *hcheck, *test, *devs, *d;
	const char *s;
	int64_t quota, period;
	size_t i;

	if (!json_is_object(hc))
		hc = NULL;
	r->privileged = jbool(hc, "Privileged");
	inspect_caps(json_object_get(hc, "CapAdd"), &r->cap_add, &r->n_cap_add);
	inspect_caps(json_object_get(hc, "CapDrop"), &r->cap_drop, &r->n_cap_drop);
	risk_caps_docker(r, r->privileged);
	r->host_net = (s = jstr(hc, "NetworkMode", TM_STR_SHORT)) != NULL &&
	    strcmp(s, "host") == 0;
	r->host_pid = (s = jstr(hc, "PidMode", TM_STR_SHORT)) != NULL &&
	    strcmp(s, "host") == 0;
	r->host_ipc = (s = jstr(hc, "IpcMode", TM_STR_SHORT)) != NULL &&
	    strcmp(s, "host") == 0;
	r->host_uts = (s = jstr(hc, "UTSMode", TM_STR_SHORT)) != NULL &&
	    strcmp(s, "host") == 0;
	s = jstr(hc, "UsernsMode", TM_STR_SHORT);
	r->host_userns = (s != NULL && strcmp(s, "host") == 0) || !daemon_userns;
	r->ro_rootfs = jbool(hc, "ReadonlyRootfs");
	inspect_mounts(json_object_get(in, "Mounts"), r);

	opts = json_object_get(hc, "SecurityOpt");
	if (!json_is_array(opts))
		opts = json_array();
	else
		json_incref(opts);
	if (r->privileged ||
	    ((s = inspect_secopt(opts, "seccomp")) != NULL &&
	    strcmp(s, "unconfined") == 0))
		r->seccomp = xstrdup("unconfined");
	else if (s != NULL && s[0] != '\0')
		r->seccomp = xstrdup("custom");
	else
		r->seccomp = xstrdup("default");
	/* Docker names no profile where the kernel has no AppArmor; where
	 * it has, an unconfined container says "unconfined" (snapshot.c
	 * decides what a missing profile means on this host). */
	if ((s = jstr(in, "AppArmorProfile", TM_STR_SHORT)) != NULL && s[0] != '\0')
		r->apparmor = xstrdup(s);
	if ((s = inspect_secopt(opts, "label")) != NULL &&
	    strcmp(s, "disable") == 0)
		r->selinux = xstrdup("disabled");
	else if ((s = jstr(in, "ProcessLabel", TM_STR_SHORT)) != NULL &&
	    s[0] != '\0')
		r->selinux = xstrdup(s);
	s = inspect_secopt(opts, "no-new-privileges");
	r->no_new_privs = s != NULL && (s[0] == '\0' || strcmp(s, "true") == 0);
	json_decref(opts);

	r->mem_limit = jint(hc, "Memory");
	r->nano_cpus = jint(hc, "NanoCpus");
	quota = jint(hc, "CpuQuota");
	period = jint(hc, "CpuPeriod");
	if (r->nano_cpus == 0 && quota > 0) {
		if (period <= 0)
			period = 100000;	/* the kernel's default period */
		r->nano_cpus = quota * 1000000000 / period;
	}
	r->pids_limit = jint(hc, "PidsLimit");
	devs = json_object_get(hc, "Devices");
	if (json_is_array(devs)) {
		json_array_foreach(devs, i, d) {
			if (r->n_devices >= 256)
				break;
			if ((s = jstr(d, "PathOnHost", TM_STR_MAX)) == NULL)
				continue;
			r->devices = xreallocarray(r->devices, r->n_devices + 1,
			    sizeof(*r->devices));
			r->devices[r->n_devices++] = xstrdup(s);
		}
	}
	s = jstr(json_object_get(hc, "RestartPolicy"), "Name", TM_STR_SHORT);
	r->restart = xstrdup(s != NULL && s[0] != '\0' ? s : "no");
	hcheck = json_object_get(cfg, "Healthcheck");
	test = json_object_get(hcheck, "Test");
	r->healthcheck = json_is_array(test) && json_array_size(test) > 0 &&
	    !(json_is_string(json_array_get(test, 0)) &&
	    strcmp(json_string_value(json_array_get(test, 0)), "NONE") == 0);
	r->root_user = inspect_is_root_user(user);
}

static const char *
inspect_state(const char *status)
{
	if (status == NULL)
		return "created";
	if (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0 ||
	    strcmp(status, "restarting") == 0)
		return "running";
	if (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0 ||
	    strcmp(status, "removing") == 0)
		return "exited";
	return "created";
}

/*
 * Fill out (zeroed by the caller; its members are then owned by it, free
 * with tm_struct_free) from one inspect document.  daemon_userns: the
 * daemon runs with user namespace remapping.  Returns 0, or -1 when the
 * document is not a container inspect at all (no 64-hex Id).
 */
int
inspect_docker_parse(json_t *in, bool daemon_userns, struct tm_container *out)
{
	json_t *cfg, *st, *args;
	const char *id, *s;

	if (!json_is_object(in) || (id = jstr(in, "Id", 64)) == NULL ||
	    strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return -1;
	cfg = json_object_get(in, "Config");
	if (!json_is_object(cfg))
		cfg = NULL;
	st = json_object_get(in, "State");
	if (!json_is_object(st))
		st = NULL;

	out->runtime = xstrdup("docker");
	out->ns = xstrdup(CTR_DOCKER_NS);
	out->id = xstrdup(id);
	if ((s = jstr(in, "Name", TM_STR_SHORT)) != NULL) {
		while (*s == '/')
			s++;
		if (*s != '\0')
			out->name = xstrdup(s);
	}
	out->image_ref = jdup(cfg, "Image", TM_STR_MAX);
	out->image_id = jdup(in, "Image", TM_STR_SHORT);
	if ((s = jstr(in, "Path", TM_STR_MAX)) != NULL && s[0] != '\0') {
		out->cmd = xcalloc(1, sizeof(*out->cmd));
		out->cmd[out->n_cmd++] = xstrdup(s);
		args = json_object_get(in, "Args");
		inspect_strlist(args, INSPECT_ARGS_MAX, TM_STR_MAX, &out->cmd,
		    &out->n_cmd);
	}
	out->user = jdup(cfg, "User", TM_STR_SHORT);
	out->state = xstrdup(inspect_state(jstr(st, "Status", TM_STR_SHORT)));
	inspect_docker_time(jstr(in, "Created", 64), &out->created_ns);
	inspect_docker_time(jstr(st, "StartedAt", 64), &out->started_ns);
	inspect_docker_time(jstr(st, "FinishedAt", 64), &out->finished_ns);
	if (strcmp(out->state, "exited") == 0) {
		out->has_exit_code = true;
		out->exit_code = jint(st, "ExitCode");
		if (out->started_ns > 0 && out->finished_ns > 0)
			out->lifetime_ns = out->finished_ns > out->started_ns ?
			    out->finished_ns - out->started_ns : 1;
	}
	out->oom = jbool(st, "OOMKilled");
	if (jint(st, "Pid") > 0 && jint(st, "Pid") <= UINT32_MAX)
		out->pid = (uint64_t)jint(st, "Pid");
	inspect_labels(json_object_get(cfg, "Labels"), &out->labels,
	    &out->n_labels);
	snapshot_k8s_labels(out);
	inspect_risks(in, daemon_userns, out->user, &out->risks);
	return 0;
}

/*
 * The overlay layers of the container's root from GraphDriver.Data
 * (overlay2): the writable UpperDir first, then LowerDir's folders.
 * *layers (caller frees each and the array).  Returns the count (0 when
 * the driver is not overlay or the data is missing).
 */
size_t
inspect_docker_layers(json_t *in, char ***layers)
{
	json_t *data = json_object_get(json_object_get(in, "GraphDriver"), "Data");
	const char *upper, *lower, *p, *colon;
	char **l = NULL;
	size_t n = 0;

	*layers = NULL;
	if ((upper = jstr(data, "UpperDir", TM_STR_MAX)) == NULL ||
	    upper[0] != '/')
		return 0;
	l = xcalloc(1, sizeof(*l));
	l[n++] = xstrdup(upper);
	lower = jstr(data, "LowerDir", 1024 * 1024);
	for (p = lower; p != NULL && *p != '\0' && n < ROOTFS_LAYERS_MAX; ) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		if (p[0] == '/' && (size_t)(colon - p) < TM_STR_MAX) {
			l = xreallocarray(l, n + 1, sizeof(*l));
			l[n++] = xstrndup(p, (size_t)(colon - p));
		}
		p = *colon == ':' ? colon + 1 : colon;
	}
	*layers = l;
	return n;
}
