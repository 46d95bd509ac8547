/*
 * fields.c: the wire schema in C.  One table per struct of schema.h: wire
 * key, type, bound, required or not, and a one-line meaning.  The generic
 * encoder, decoder, JSON conversion and free (codec.c, json.c) are driven by
 * these tables only.  schema/README.md and schema/KIND.schema.json say the same
 * thing for humans and validators; tests/integ/schema-consistency.sh checks
 * that the three agree.
 */
#include <stddef.h>
#include <string.h>

#include "schema/schema.h"

#define REQ	true
#define OPT	false

#define F_STR(S, m, k, req, mx, d) \
	{ .key = (k), .type = TM_F_STR, .off = offsetof(S, m), \
	  .required = (req), .max = (mx), .doc = (d) }
#define F_STRC(S, m, k, req, mx, chk, of, d) \
	{ .key = (k), .type = TM_F_STR, .off = offsetof(S, m), \
	  .required = (req), .max = (mx), .check = (chk), .oneof = (of), \
	  .doc = (d) }
#define F_U64(S, m, k, req, d) \
	{ .key = (k), .type = TM_F_U64, .off = offsetof(S, m), \
	  .required = (req), .doc = (d) }
#define F_I64(S, m, k, d) \
	{ .key = (k), .type = TM_F_I64, .off = offsetof(S, m), .doc = (d) }
#define F_I64H(S, m, k, has, d) \
	{ .key = (k), .type = TM_F_I64, .off = offsetof(S, m), \
	  .has_off = offsetof(S, has) + 1, .doc = (d) }
#define F_BOOL(S, m, k, d) \
	{ .key = (k), .type = TM_F_BOOL, .off = offsetof(S, m), .doc = (d) }
#define F_STRL(S, m, k, mx, emx, d) \
	{ .key = (k), .type = TM_F_STRLIST, .off = offsetof(S, m), \
	  .count_off = offsetof(S, n_##m), .max = (mx), .emax = (emx), \
	  .doc = (d) }
#define F_KVL(S, m, k, mx, d) \
	{ .key = (k), .type = TM_F_KVLIST, .off = offsetof(S, m), \
	  .count_off = offsetof(S, n_##m), .max = (mx), .doc = (d) }
#define F_STRUCT(S, m, k, sb, d) \
	{ .key = (k), .type = TM_F_STRUCT, .off = offsetof(S, m), \
	  .sub = (sb), .doc = (d) }
#define F_ARRAY(S, m, k, mx, sb, d) \
	{ .key = (k), .type = TM_F_ARRAY, .off = offsetof(S, m), \
	  .count_off = offsetof(S, n_##m), .max = (mx), .sub = (sb), \
	  .doc = (d) }
#define DESC(nm, S, tbl) \
	{ .name = (nm), .size = sizeof(S), .fields = (tbl), \
	  .nfields = sizeof(tbl) / sizeof((tbl)[0]) }

/* Closed sets: a value outside them is bad_value (see README "Versioning"). */
static const char *const event_actions[] = {
	"create", "start", "exec", "exit", "oom", "delete", "pause", "unpause",
	NULL
};
static const char *const container_states[] = {
	"created", "running", "paused", "exited", "removed", NULL
};
static const char *const container_triggers[] = {
	"start", "exit", "exec", "reconcile", "list", NULL
};
static const char *const drift_changes[] = {
	"added", "modified", "deleted", NULL
};
static const char *const drift_whens[] = {
	"start", "exec", "exit", NULL
};

/* host */
#define S struct tm_host
static const struct tm_field host_fields[] = {
	F_STRC(S, hostname, "hn", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "host name (gethostname)"),
	F_STR(S, os_id, "os", OPT, TM_STR_SHORT, "os-release ID (debian, rhel, ...)"),
	F_STR(S, os_version, "osv", OPT, TM_STR_SHORT, "os-release VERSION_ID"),
	F_STR(S, os_pretty, "osp", OPT, TM_STR_SHORT, "os-release PRETTY_NAME"),
	F_STR(S, kernel, "kern", OPT, TM_STR_SHORT, "kernel release (uname -r)"),
	F_STR(S, arch, "arch", OPT, TM_STR_SHORT, "machine (uname -m)"),
	F_STRC(S, agent_version, "agent", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY,
	    NULL, "tallyman-agent version"),
	F_STR(S, docker_version, "docker", OPT, TM_STR_SHORT, "dockerd version, if seen"),
	F_STR(S, containerd_version, "ctrd", OPT, TM_STR_SHORT, "containerd version, if seen"),
	F_U64(S, boot_ns, "boot", OPT, "boot time, ns since the epoch"),
	F_U64(S, ncpu, "ncpu", OPT, "online CPUs"),
	F_U64(S, mem_bytes, "mem", OPT, "physical memory, bytes"),
};
#undef S

/* heartbeat */
#define S struct tm_heartbeat
static const struct tm_field heartbeat_fields[] = {
	F_U64(S, interval_ns, "ival", REQ, "heartbeat interval, ns"),
	F_U64(S, uptime_ns, "up", REQ, "agent uptime, ns"),
	F_U64(S, events, "ev", OPT, "runtime events seen"),
	F_U64(S, snapshots, "snap", OPT, "container snapshots made"),
	F_U64(S, containers, "ctrs", OPT, "containers known now"),
	F_U64(S, image_scans, "iscan", OPT, "image inventories computed"),
	F_U64(S, image_cache_hits, "ihit", OPT, "image inventories served from the cache"),
	F_U64(S, records, "rec", OPT, "records produced"),
	F_U64(S, spooled, "spool", OPT, "records appended to the spool"),
	F_U64(S, acked, "ack", OPT, "records acknowledged by Kafka"),
	F_U64(S, dropped, "drop", OPT, "records dropped because the spool was full"),
	F_U64(S, parse_errors, "perr", OPT, "container files rejected by parsers"),
	F_U64(S, spool_bytes, "sbytes", OPT, "spool size now, bytes"),
	F_U64(S, spool_records, "srec", OPT, "unacknowledged records in the spool now"),
	F_U64(S, rss_bytes, "rss", OPT, "agent resident memory, bytes"),
	F_U64(S, cpu_user_ns, "cpuu", OPT, "agent user CPU time, ns"),
	F_U64(S, cpu_sys_ns, "cpus", OPT, "agent system CPU time, ns"),
	F_U64(S, kafka_queue, "kq", OPT, "librdkafka queue depth, messages"),
	F_U64(S, kafka_rtt_us, "krtt", OPT, "average broker round trip, microseconds"),
	F_U64(S, kafka_errors, "kerr", OPT, "librdkafka errors reported"),
};
#undef S

/* event */
#define S struct tm_event
static const struct tm_field event_fields[] = {
	F_STRC(S, runtime, "rt", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "runtime: docker or containerd"),
	F_STR(S, ns, "ns", OPT, TM_STR_SHORT, "containerd namespace (moby for Docker)"),
	F_STRC(S, id, "id", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "container id"),
	F_STRC(S, action, "act", REQ, TM_STR_SHORT, TM_CHECK_ONEOF, event_actions,
	    "create start exec exit oom delete pause unpause"),
	F_U64(S, time_ns, "ts", REQ, "the runtime's event time, ns since the epoch"),
	F_STR(S, name, "name", OPT, TM_STR_SHORT, "container name"),
	F_STR(S, image, "img", OPT, TM_STR_MAX, "image reference"),
	F_I64H(S, exit_code, "exit", has_exit_code, "exit status (exit events)"),
	F_U64(S, pid, "pid", OPT, "host pid of the task or exec process"),
	F_STR(S, exec_id, "exec", OPT, TM_STR_SHORT, "exec id (exec events)"),
};
#undef S

/* mount (in risks) */
#define S struct tm_mount
static const struct tm_field mount_fields[] = {
	F_STR(S, source, "src", OPT, TM_STR_MAX, "host path or volume name"),
	F_STRC(S, dest, "dst", REQ, TM_STR_MAX, TM_CHECK_NONEMPTY, NULL,
	    "path inside the container"),
	F_STR(S, type, "type", OPT, TM_STR_SHORT, "bind volume tmpfs ..."),
	F_BOOL(S, ro, "ro", "mounted read-only"),
	F_STR(S, propagation, "prop", OPT, TM_STR_SHORT, "rprivate rshared ..."),
	F_BOOL(S, sensitive, "sens", "source is a sensitive host path"),
};
#undef S
static const struct tm_desc mount_desc = DESC("mount", struct tm_mount, mount_fields);

/* risks (in container) */
#define S struct tm_risks
static const struct tm_field risks_fields[] = {
	F_BOOL(S, privileged, "priv", "privileged container"),
	F_STRL(S, cap_add, "capadd", 256, TM_STR_SHORT, "capabilities added"),
	F_STRL(S, cap_drop, "capdrop", 256, TM_STR_SHORT, "capabilities dropped"),
	F_STRL(S, caps, "caps", 256, TM_STR_SHORT, "effective (bounding) set, if known"),
	F_BOOL(S, host_net, "hnet", "shares the host network namespace"),
	F_BOOL(S, host_pid, "hpid", "shares the host pid namespace"),
	F_BOOL(S, host_ipc, "hipc", "shares the host ipc namespace"),
	F_BOOL(S, host_uts, "huts", "shares the host uts namespace"),
	F_BOOL(S, host_userns, "huser", "shares the host user namespace"),
	F_ARRAY(S, mounts, "mnt", TM_LIST_MAX, &mount_desc, "mounts"),
	F_BOOL(S, ro_rootfs, "rorfs", "read-only root filesystem"),
	F_STR(S, seccomp, "seccomp", OPT, TM_STR_MAX, "default, unconfined or a profile name"),
	F_STR(S, apparmor, "apparmor", OPT, TM_STR_MAX, "AppArmor profile"),
	F_STR(S, selinux, "selinux", OPT, TM_STR_MAX, "SELinux label"),
	F_BOOL(S, no_new_privs, "nnp", "no_new_privs set"),
	F_I64(S, mem_limit, "memlim", "memory limit, bytes; 0 = none"),
	F_I64(S, nano_cpus, "cpulim", "CPU limit, 1e9 = one CPU; 0 = none"),
	F_I64(S, pids_limit, "pidlim", "pids limit; 0 or -1 = none"),
	F_STRL(S, devices, "dev", TM_LIST_MAX, TM_STR_MAX, "host device paths"),
	F_STR(S, restart, "restart", OPT, TM_STR_SHORT, "no always on-failure unless-stopped"),
	F_BOOL(S, healthcheck, "health", "has a health check"),
	F_BOOL(S, root_user, "root", "runs as uid 0"),
	F_BOOL(S, docker_socket, "dsock", "Docker or containerd socket mounted"),
};
#undef S
static const struct tm_desc risks_desc = DESC("risks", struct tm_risks, risks_fields);

/* process (in container) */
#define S struct tm_process
static const struct tm_field process_fields[] = {
	F_U64(S, pid, "pid", REQ, "pid in the host pid namespace"),
	F_U64(S, ppid, "ppid", OPT, "parent pid (host)"),
	F_U64(S, uid, "uid", OPT, "real uid in the container's user namespace"),
	F_U64(S, gid, "gid", OPT, "real gid in the container's user namespace"),
	F_U64(S, host_uid, "huid", OPT, "real uid on the host"),
	F_U64(S, host_gid, "hgid", OPT, "real gid on the host"),
	F_STR(S, comm, "comm", OPT, TM_STR_SHORT, "command name (/proc/PID/comm)"),
	F_STR(S, exe, "exe", OPT, TM_STR_MAX, "executable path inside the container"),
	F_STRL(S, args, "args", TM_LIST_MAX, TM_STR_LONG, "command line, bounded"),
	F_U64(S, start_ns, "start", OPT, "start time, ns since the epoch"),
	F_STRC(S, sha256, "sha256", OPT, 64, TM_CHECK_SHA256, NULL,
	    "SHA-256 of the executable, read inside the root (hex)"),
};
#undef S
static const struct tm_desc process_desc = DESC("process", struct tm_process, process_fields);

/* container */
#define S struct tm_container
static const struct tm_field container_fields[] = {
	F_STRC(S, runtime, "rt", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "runtime: docker or containerd"),
	F_STR(S, ns, "ns", OPT, TM_STR_SHORT, "containerd namespace"),
	F_STRC(S, id, "id", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "container id"),
	F_STR(S, name, "name", OPT, TM_STR_SHORT, "container name"),
	F_STR(S, image_ref, "img", OPT, TM_STR_MAX, "image reference as the user gave it"),
	F_STR(S, image_id, "iid", OPT, TM_STR_SHORT, "image config digest"),
	F_STR(S, image_digest, "idig", OPT, TM_STR_MAX, "repository digest"),
	F_STR(S, image_key, "ikey", OPT, TM_STR_SHORT, "key of the image record"),
	F_STRL(S, cmd, "cmd", TM_LIST_MAX, TM_STR_LONG, "command and arguments"),
	F_STR(S, user, "user", OPT, TM_STR_SHORT, "configured user"),
	F_STRC(S, state, "state", REQ, TM_STR_SHORT, TM_CHECK_ONEOF, container_states,
	    "created running paused exited removed"),
	F_STRC(S, trigger, "why", OPT, TM_STR_SHORT, TM_CHECK_ONEOF, container_triggers,
	    "what made the snapshot: start exit exec reconcile list"),
	F_U64(S, created_ns, "created", OPT, "creation time, ns since the epoch"),
	F_U64(S, started_ns, "started", OPT, "start time, ns since the epoch"),
	F_U64(S, finished_ns, "finished", OPT, "exit time, ns since the epoch"),
	F_U64(S, lifetime_ns, "life", OPT, "finished - started, ns (exited containers)"),
	F_I64H(S, exit_code, "exit", has_exit_code, "exit status"),
	F_BOOL(S, oom, "oom", "killed by the OOM killer"),
	F_U64(S, pid, "pid", OPT, "host pid of the init process"),
	F_KVL(S, labels, "labels", TM_LIST_MAX, "labels (map of string to string)"),
	F_STR(S, pod_name, "pod", OPT, TM_STR_SHORT, "io.kubernetes.pod.name"),
	F_STR(S, pod_ns, "podns", OPT, TM_STR_SHORT, "io.kubernetes.pod.namespace"),
	F_STR(S, k8s_container, "kctr", OPT, TM_STR_SHORT, "io.kubernetes.container.name"),
	F_STRUCT(S, risks, "risk", &risks_desc, "configuration risks"),
	F_ARRAY(S, procs, "procs", TM_PROCS_MAX, &process_desc, "processes"),
	F_BOOL(S, procs_missed, "pmiss", "exited before its processes could be read"),
	F_U64(S, procs_dropped, "pdrop", OPT, "processes left out (the most in one reading): over the agent's bounds"),
};
#undef S

/* package (in image) */
#define S struct tm_package
static const struct tm_field package_fields[] = {
	F_STRC(S, ecosystem, "eco", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "package ecosystem: dpkg apk rpm ..."),
	F_STRC(S, name, "name", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "package name"),
	F_STRC(S, version, "ver", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "version as the distribution's tool prints it"),
	F_I64H(S, epoch, "epoch", has_epoch, "epoch (rpm)"),
	F_STR(S, arch, "arch", OPT, TM_STR_SHORT, "architecture"),
	F_STR(S, source_name, "sname", OPT, TM_STR_SHORT, "source package (dpkg Source, apk origin, rpm SRPM name)"),
	F_STR(S, source_version, "sver", OPT, TM_STR_SHORT, "source package version"),
	F_STR(S, vendor, "vendor", OPT, TM_STR_SHORT, "vendor (rpm)"),
	F_STR(S, modularity, "module", OPT, TM_STR_SHORT, "modularity label (rpm)"),
};
#undef S
static const struct tm_desc package_desc = DESC("package", struct tm_package, package_fields);

/* image */
#define S struct tm_image
static const struct tm_field image_fields[] = {
	F_STRC(S, key, "key", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "image id or layer-chain hash"),
	F_STR(S, image_id, "iid", OPT, TM_STR_SHORT, "image config digest"),
	F_STRL(S, refs, "refs", TM_LIST_MAX, TM_STR_MAX, "references seen for it"),
	F_STR(S, os_id, "os", OPT, TM_STR_SHORT, "os-release ID"),
	F_STR(S, os_version, "osv", OPT, TM_STR_SHORT, "os-release VERSION_ID"),
	F_STR(S, os_codename, "oscode", OPT, TM_STR_SHORT, "os-release VERSION_CODENAME"),
	F_STR(S, os_pretty, "osp", OPT, TM_STR_SHORT, "os-release PRETTY_NAME"),
	F_ARRAY(S, packages, "pkgs", TM_PACKAGES_MAX, &package_desc, "packages"),
	F_U64(S, scan_ns, "scan", OPT, "time the scan took, ns"),
	F_U64(S, errors, "errs", OPT, "files rejected while scanning"),
	F_STRL(S, notes, "notes", TM_LIST_MAX, TM_STR_MAX, "notes from the scan"),
};
#undef S

/* drift file (in drift) */
#define S struct tm_drift_file
static const struct tm_field drift_file_fields[] = {
	F_STRC(S, path, "path", REQ, TM_STR_MAX, TM_CHECK_NONEMPTY, NULL,
	    "path inside the container"),
	F_STRC(S, change, "chg", REQ, TM_STR_SHORT, TM_CHECK_ONEOF, drift_changes,
	    "added modified deleted"),
	F_U64(S, size, "size", OPT, "size, bytes"),
	F_U64(S, mode, "mode", OPT, "st_mode (type and permission bits)"),
	F_STRC(S, sha256, "sha256", OPT, 64, TM_CHECK_SHA256, NULL,
	    "SHA-256 of the content (hex)"),
};
#undef S
static const struct tm_desc drift_file_desc = DESC("drift_file", struct tm_drift_file,
    drift_file_fields);

/* drift */
#define S struct tm_drift
static const struct tm_field drift_fields[] = {
	F_STRC(S, runtime, "rt", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "runtime: docker or containerd"),
	F_STR(S, ns, "ns", OPT, TM_STR_SHORT, "containerd namespace"),
	F_STRC(S, id, "id", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "container id"),
	F_STR(S, image_key, "ikey", OPT, TM_STR_SHORT, "key of the image record"),
	F_STRC(S, when, "when", REQ, TM_STR_SHORT, TM_CHECK_ONEOF, drift_whens,
	    "when it was examined: start exec exit"),
	F_U64(S, time_ns, "ts", OPT, "examination time, ns since the epoch"),
	F_ARRAY(S, files, "files", TM_FILES_MAX, &drift_file_desc, "changed files"),
};
#undef S

/* envelope */
#define S struct tm_record
static const struct tm_field envelope_fields[] = {
	F_U64(S, version, "v", REQ, "schema major version"),
	F_STRC(S, host_id, "h", REQ, TM_STR_SHORT, TM_CHECK_NONEMPTY, NULL,
	    "host id (also the Kafka message key)"),
	F_U64(S, seq, "s", REQ, "per-host sequence number, monotonic across restarts"),
	F_U64(S, sent_ns, "t", REQ, "send time, ns since the epoch"),
	F_U64(S, epoch, "e", OPT, "sequence epoch: chosen at random when the agent's "
	    "state was made; a new epoch starts a new sequence"),
	{ .key = "k", .type = TM_F_KIND, .off = offsetof(S, kind),
	  .required = REQ, .max = TM_STR_SHORT, .doc = "record kind name" },
	{ .key = "b", .type = TM_F_BODY, .off = offsetof(S, body),
	  .required = REQ, .doc = "the record, a map described by its kind" },
};
#undef S

static const struct tm_desc envelope_desc = DESC("envelope", struct tm_record,
    envelope_fields);

static const struct tm_desc kind_descs[TM_KIND_MAX] = {
	[TM_KIND_HOST] = DESC("host", struct tm_host, host_fields),
	[TM_KIND_HEARTBEAT] = DESC("heartbeat", struct tm_heartbeat, heartbeat_fields),
	[TM_KIND_EVENT] = DESC("event", struct tm_event, event_fields),
	[TM_KIND_CONTAINER] = DESC("container", struct tm_container, container_fields),
	[TM_KIND_IMAGE] = DESC("image", struct tm_image, image_fields),
	[TM_KIND_DRIFT] = DESC("drift", struct tm_drift, drift_fields),
};

static const char *const reject_names[TM_REJ_MAX] = {
	[TM_OK] = "ok",
	[TM_REJ_MALFORMED] = "malformed",
	[TM_REJ_TOO_LARGE] = "too_large",
	[TM_REJ_TOO_DEEP] = "too_deep",
	[TM_REJ_NOT_MAP] = "not_map",
	[TM_REJ_WRONG_TYPE] = "wrong_type",
	[TM_REJ_MISSING_KEY] = "missing_key",
	[TM_REJ_STRING_TOO_LONG] = "string_too_long",
	[TM_REJ_ARRAY_TOO_LONG] = "array_too_long",
	[TM_REJ_UNKNOWN_KIND] = "unknown_kind",
	[TM_REJ_NEWER_MAJOR] = "newer_major",
	[TM_REJ_BAD_VALUE] = "bad_value",
	[TM_REJ_BAD_PART] = "bad_part",
};

/* The body's table for kind, or NULL for TM_KIND_NONE and out of range. */
const struct tm_desc *
tm_kind_desc(enum tm_kind kind)
{
	if (kind <= TM_KIND_NONE || kind >= TM_KIND_MAX)
		return NULL;
	return &kind_descs[kind];
}

/* The envelope's table (v h s t k b). */
const struct tm_desc *
tm_envelope_desc(void)
{
	return &envelope_desc;
}

/* The wire name of kind ("container"), or NULL if there is none. */
const char *
tm_kind_name(enum tm_kind kind)
{
	const struct tm_desc	*d = tm_kind_desc(kind);

	return d == NULL ? NULL : d->name;
}

/* The kind named by name[0..len) (not NUL-terminated), or TM_KIND_NONE. */
enum tm_kind
tm_kind_from_name(const char *name, size_t len)
{
	int	 k;

	if (name == NULL)
		return TM_KIND_NONE;
	for (k = TM_KIND_NONE + 1; k < TM_KIND_MAX; k++) {
		const char *n = kind_descs[k].name;

		if (strlen(n) == len && memcmp(n, name, len) == 0)
			return (enum tm_kind)k;
	}
	return TM_KIND_NONE;
}

/* The stable name of a rejection reason ("wrong_type"); "unknown" if none. */
const char *
tm_reject_name(enum tm_reject why)
{
	if ((int)why < 0 || why >= TM_REJ_MAX || reject_names[why] == NULL)
		return "unknown";
	return reject_names[why];
}
