/*
 * record-json.c: parts of agent records as the collector's API shows them,
 * with long key names (doc/api.md).  The wire uses short keys to keep
 * messages small (schema/README.md); people and dashboards read these.
 * Strings come from decoded records: they are bounded by the schema and
 * jansson escapes them, but they are not necessarily valid UTF-8 (a
 * container controls its process names): json_stringn_nocheck would emit
 * invalid JSON, so invalid bytes are replaced.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/store.h"

/* s as a JSON string, invalid UTF-8 replaced by U+FFFD; null for NULL. */
json_t *
record_json_str(const char *s)
{
	json_t	*j;
	char	*fix;
	size_t	 i, n, o;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* Not UTF-8: keep ASCII, replace every other byte. */
	n = strlen(s);
	fix = xmalloc(n * 3 + 1);
	for (i = 0, o = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			fix[o++] = (char)c;
		} else {
			fix[o++] = (char)0xef;
			fix[o++] = (char)0xbf;
			fix[o++] = (char)0xbd;
		}
	}
	fix[o] = '\0';
	j = json_string(fix);
	free(fix);
	return j != NULL ? j : json_null();
}

static void
rj_set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, record_json_str(v));
}

static void
rj_set_u64(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer(v > (uint64_t)INT64_MAX ?
	    INT64_MAX : (json_int_t)v));
}

json_t *
record_json_time(uint64_t ns)
{
	char buf[64];

	if (ns == 0)
		return json_null();
	finding_time(ns, buf, sizeof buf);
	return json_string(buf);
}

json_t *
record_json_strlist(char *const *list, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, record_json_str(list[i]));
	return a;
}

/*
 * 1 when the n bytes at s are what json_string takes: UTF-8 without
 * overlong forms, surrogates or code points over U+10FFFF (jansson's own
 * rules, utf.c).
 */
static int
rj_utf8_ok(const unsigned char *s, size_t n)
{
	size_t	 i = 0, len, k;
	uint32_t v;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] < 0xc2 || s[i] > 0xf4)
			return 0;
		len = s[i] < 0xe0 ? 2 : s[i] < 0xf0 ? 3 : 4;
		if (n - i < len)
			return 0;
		v = s[i] & (0x7fu >> len);
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			v = v << 6 | (s[i + k] & 0x3fu);
		}
		if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
		    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Append s as a JSON string at o (room for 6 bytes per byte of s and the
 * quotes), as record_json_str and json_dumps would write it; the end. */
static char *
rj_put_str(char *o, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i;
	int			 ok = rj_utf8_ok(p, n);

	*o++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c >= 0x80) {
			if (ok) {
				*o++ = (char)c;
			} else {
				*o++ = (char)0xef;
				*o++ = (char)0xbf;
				*o++ = (char)0xbd;
			}
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	return o;
}

/*
 * The list as compact JSON text, the bytes json_dumps(record_json_strlist(
 * list, n), JSON_COMPACT) gives, without building the tree (the store
 * writes one per process); free it.  A NULL member is null.
 */
char *
record_json_strlist_text(char *const *list, size_t n)
{
	size_t	 need = 3, i;
	char	*buf, *o;

	for (i = 0; i < n; i++)
		need += list[i] != NULL ? strlen(list[i]) * 6 + 3 : 5;
	o = buf = xmalloc(need);
	*o++ = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		if (list[i] == NULL) {
			memcpy(o, "null", 4);
			o += 4;
		} else {
			o = rj_put_str(o, list[i]);
		}
	}
	*o++ = ']';
	*o = '\0';
	return buf;
}

json_t *
record_json_labels(const struct tm_kv *kv, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < n; i++) {
		json_t *v = record_json_str(kv[i].v);

		/* A key that is not UTF-8 cannot be a JSON key: skip it. */
		if (kv[i].k == NULL || json_object_set_new(o, kv[i].k, v) == -1)
			continue;
	}
	return o;
}

json_t *
record_json_risks(const struct tm_risks *r)
{
	json_t	*o = json_object(), *mounts = json_array();
	size_t	 i;

	json_object_set_new(o, "privileged", json_boolean(r->privileged));
	json_object_set_new(o, "cap_add",
	    record_json_strlist(r->cap_add, r->n_cap_add));
	json_object_set_new(o, "cap_drop",
	    record_json_strlist(r->cap_drop, r->n_cap_drop));
	json_object_set_new(o, "capabilities",
	    record_json_strlist(r->caps, r->n_caps));
	json_object_set_new(o, "host_network", json_boolean(r->host_net));
	json_object_set_new(o, "host_pid", json_boolean(r->host_pid));
	json_object_set_new(o, "host_ipc", json_boolean(r->host_ipc));
	json_object_set_new(o, "host_uts", json_boolean(r->host_uts));
	json_object_set_new(o, "host_userns", json_boolean(r->host_userns));
	for (i = 0; i < r->n_mounts; i++) {
		const struct tm_mount	*m = &r->mounts[i];
		json_t			*mo = json_object();

		rj_set_str(mo, "source", m->source);
		rj_set_str(mo, "destination", m->dest);
		rj_set_str(mo, "type", m->type);
		json_object_set_new(mo, "read_only", json_boolean(m->ro));
		rj_set_str(mo, "propagation", m->propagation);
		json_object_set_new(mo, "sensitive", json_boolean(m->sensitive));
		json_array_append_new(mounts, mo);
	}
	json_object_set_new(o, "mounts", mounts);
	json_object_set_new(o, "read_only_rootfs", json_boolean(r->ro_rootfs));
	rj_set_str(o, "seccomp", r->seccomp);
	rj_set_str(o, "apparmor", r->apparmor);
	rj_set_str(o, "selinux", r->selinux);
	json_object_set_new(o, "no_new_privileges",
	    json_boolean(r->no_new_privs));
	json_object_set_new(o, "memory_limit", json_integer(r->mem_limit));
	json_object_set_new(o, "nano_cpus", json_integer(r->nano_cpus));
	json_object_set_new(o, "pids_limit", json_integer(r->pids_limit));
	json_object_set_new(o, "devices",
	    record_json_strlist(r->devices, r->n_devices));
	rj_set_str(o, "restart_policy", r->restart);
	json_object_set_new(o, "healthcheck", json_boolean(r->healthcheck));
	json_object_set_new(o, "runs_as_root", json_boolean(r->root_user));
	json_object_set_new(o, "runtime_socket_mounted",
	    json_boolean(r->docker_socket));
	return o;
}

json_t *
record_json_process(const struct tm_process *p)
{
	json_t *o = json_object();

	rj_set_u64(o, "pid", p->pid);
	if (p->ppid != 0)
		rj_set_u64(o, "ppid", p->ppid);
	else
		json_object_set_new(o, "ppid", json_null());	/* not known */
	rj_set_u64(o, "uid", p->uid);
	rj_set_u64(o, "gid", p->gid);
	rj_set_u64(o, "host_uid", p->host_uid);
	rj_set_u64(o, "host_gid", p->host_gid);
	rj_set_str(o, "comm", p->comm);
	rj_set_str(o, "exe", p->exe);
	json_object_set_new(o, "args", record_json_strlist(p->args, p->n_args));
	json_object_set_new(o, "started", record_json_time(p->start_ns));
	rj_set_str(o, "sha256", p->sha256);
	return o;
}

json_t *
record_json_heartbeat(const struct tm_heartbeat *hb)
{
	json_t *o = json_object();

	rj_set_u64(o, "interval_ns", hb->interval_ns);
	rj_set_u64(o, "uptime_ns", hb->uptime_ns);
	rj_set_u64(o, "events", hb->events);
	rj_set_u64(o, "snapshots", hb->snapshots);
	rj_set_u64(o, "containers", hb->containers);
	rj_set_u64(o, "image_scans", hb->image_scans);
	rj_set_u64(o, "image_cache_hits", hb->image_cache_hits);
	rj_set_u64(o, "records", hb->records);
	rj_set_u64(o, "spooled", hb->spooled);
	rj_set_u64(o, "acked", hb->acked);
	rj_set_u64(o, "dropped", hb->dropped);
	rj_set_u64(o, "parse_errors", hb->parse_errors);
	rj_set_u64(o, "spool_bytes", hb->spool_bytes);
	rj_set_u64(o, "spool_records", hb->spool_records);
	rj_set_u64(o, "rss_bytes", hb->rss_bytes);
	rj_set_u64(o, "cpu_user_ns", hb->cpu_user_ns);
	rj_set_u64(o, "cpu_sys_ns", hb->cpu_sys_ns);
	rj_set_u64(o, "kafka_queue", hb->kafka_queue);
	rj_set_u64(o, "kafka_rtt_us", hb->kafka_rtt_us);
	rj_set_u64(o, "kafka_errors", hb->kafka_errors);
	return o;
}
