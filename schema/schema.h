/*
 * schema.h: tallyman's wire format.  One Kafka message is one msgpack map,
 * the envelope; its body is one record of one kind.  schema/README.md is the
 * specification, field by field; the tables in schema/fields.c are its C form
 * and schema/KIND.schema.json its JSON Schema form.  The three are kept in step
 * by tests/unit/test-schema.c and tests/integ/schema-jsonschema.sh.
 *
 * Ownership: every char * and array in a decoded record is owned by the
 * record and released by tm_record_free().  Encoders only read.
 */
#ifndef TALLYMAN_SCHEMA_H
#define TALLYMAN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#define TM_SCHEMA_MAJOR		1	/* a newer major is rejected */
#define TM_SCHEMA_MINOR		1	/* minors only add optional keys (1: "e") */
#define TM_PART_MAX		(512u * 1024)	/* larger records are split */
#define TM_PARTS_MAX		256u	/* parts per record (128 MiB) */
#define TM_MSG_MAX		(TM_PART_MAX + 4096)	/* one message, envelope included */

/* Bounds applied by the decoder (and respected by the encoder). */
#define TM_STR_MAX		4096u	/* default string bound */
#define TM_STR_SHORT		256u	/* ids, names, versions */
#define TM_STR_LONG		65536u	/* command lines */
#define TM_LIST_MAX		4096u	/* default list bound */
#define TM_PROCS_MAX		65536u
#define TM_PACKAGES_MAX		262144u
#define TM_FILES_MAX		65536u
#define TM_DEPTH_MAX		16u	/* msgpack nesting accepted at all */

enum tm_kind {
	TM_KIND_NONE = 0,
	TM_KIND_HOST,		/* "host": host facts */
	TM_KIND_HEARTBEAT,	/* "heartbeat": agent counters */
	TM_KIND_EVENT,		/* "event": one container lifecycle event */
	TM_KIND_CONTAINER,	/* "container": a container snapshot */
	TM_KIND_IMAGE,		/* "image": an image's package inventory */
	TM_KIND_DRIFT,		/* "drift": files changed in a container */
	TM_KIND_MAX
};

/* Why a message was rejected.  Names (tm_reject_name) are stable: they are
 * metric labels at the collector. */
enum tm_reject {
	TM_OK = 0,
	TM_REJ_MALFORMED,	/* "malformed": not msgpack, truncated, trailing bytes */
	TM_REJ_TOO_LARGE,	/* "too_large": message over TM_MSG_MAX */
	TM_REJ_TOO_DEEP,	/* "too_deep": nesting beyond the schema */
	TM_REJ_NOT_MAP,		/* "not_map": envelope or body is not a map */
	TM_REJ_WRONG_TYPE,	/* "wrong_type": a known key has the wrong type */
	TM_REJ_MISSING_KEY,	/* "missing_key": a required key is absent */
	TM_REJ_STRING_TOO_LONG,	/* "string_too_long": over the field's bound */
	TM_REJ_ARRAY_TOO_LONG,	/* "array_too_long": over the field's bound */
	TM_REJ_UNKNOWN_KIND,	/* "unknown_kind" */
	TM_REJ_NEWER_MAJOR,	/* "newer_major": schema major above ours */
	TM_REJ_BAD_VALUE,	/* "bad_value": out of range (e.g. enum, sha256 not hex) */
	TM_REJ_BAD_PART,	/* "bad_part": inconsistent split-record parts */
	TM_REJ_MAX
};

struct tm_kv {
	char	*k;
	char	*v;
};

/* Host facts: sent at start-up and whenever one of them changes. */
struct tm_host {
	char	*hostname;		/* "hn", required */
	char	*os_id;			/* "os" (os-release ID) */
	char	*os_version;		/* "osv" (VERSION_ID) */
	char	*os_pretty;		/* "osp" (PRETTY_NAME) */
	char	*kernel;		/* "kern" (uname -r) */
	char	*arch;			/* "arch" (uname -m) */
	char	*agent_version;		/* "agent", required */
	char	*docker_version;	/* "docker" */
	char	*containerd_version;	/* "ctrd" */
	uint64_t boot_ns;		/* "boot": boot time, ns since epoch */
	uint64_t ncpu;			/* "ncpu" */
	uint64_t mem_bytes;		/* "mem" */
};

/* Heartbeat: the agent's counters since it started, on an interval. */
struct tm_heartbeat {
	uint64_t interval_ns;		/* "ival", required */
	uint64_t uptime_ns;		/* "up", required */
	uint64_t events;		/* "ev": runtime events seen */
	uint64_t snapshots;		/* "snap": container snapshots made */
	uint64_t containers;		/* "ctrs": containers known now */
	uint64_t image_scans;		/* "iscan": image inventories computed */
	uint64_t image_cache_hits;	/* "ihit" */
	uint64_t records;		/* "rec": records produced */
	uint64_t spooled;		/* "spool": records appended to the spool */
	uint64_t acked;			/* "ack": records acknowledged by Kafka */
	uint64_t dropped;		/* "drop": records dropped (spool full) */
	uint64_t parse_errors;		/* "perr": rejected container files */
	uint64_t spool_bytes;		/* "sbytes": spool size now */
	uint64_t spool_records;		/* "srec": unacknowledged records now */
	uint64_t rss_bytes;		/* "rss" */
	uint64_t cpu_user_ns;		/* "cpuu" */
	uint64_t cpu_sys_ns;		/* "cpus" */
	uint64_t kafka_queue;		/* "kq": librdkafka queue depth */
	uint64_t kafka_rtt_us;		/* "krtt": average broker round trip */
	uint64_t kafka_errors;		/* "kerr" */
};

/* One container lifecycle event, normalised across runtimes. */
struct tm_event {
	char	*runtime;		/* "rt", required: "docker" | "containerd" */
	char	*ns;			/* "ns": containerd namespace ("moby" for Docker) */
	char	*id;			/* "id", required */
	char	*action;		/* "act", required: create start exec exit oom delete pause unpause */
	uint64_t time_ns;		/* "ts", required: the runtime's event time */
	char	*name;			/* "name" */
	char	*image;			/* "img" */
	bool	 has_exit_code;
	int64_t	 exit_code;		/* "exit" */
	uint64_t pid;			/* "pid" */
	char	*exec_id;		/* "exec" */
};

struct tm_mount {
	char	*source;		/* "src" */
	char	*dest;			/* "dst", required */
	char	*type;			/* "type": bind volume tmpfs ... */
	bool	 ro;			/* "ro" */
	char	*propagation;		/* "prop": rprivate rshared ... */
	bool	 sensitive;		/* "sens": a sensitive host path */
};

/* Configuration risks, from Docker inspect or the OCI spec. */
struct tm_risks {
	bool	 privileged;		/* "priv" */
	char	**cap_add;		/* "capadd" */
	size_t	 n_cap_add;
	char	**cap_drop;		/* "capdrop" */
	size_t	 n_cap_drop;
	char	**caps;			/* "caps": effective (bounding) set, if known */
	size_t	 n_caps;
	bool	 host_net;		/* "hnet" */
	bool	 host_pid;		/* "hpid" */
	bool	 host_ipc;		/* "hipc" */
	bool	 host_uts;		/* "huts" */
	bool	 host_userns;		/* "huser" */
	struct tm_mount *mounts;	/* "mnt" */
	size_t	 n_mounts;
	bool	 ro_rootfs;		/* "rorfs" */
	char	*seccomp;		/* "seccomp": "default", "unconfined" or a name */
	char	*apparmor;		/* "apparmor" */
	char	*selinux;		/* "selinux" */
	bool	 no_new_privs;		/* "nnp" */
	int64_t	 mem_limit;		/* "memlim": bytes, 0 = none */
	int64_t	 nano_cpus;		/* "cpulim": 1e9 = one CPU, 0 = none */
	int64_t	 pids_limit;		/* "pidlim": 0 or -1 = none */
	char	**devices;		/* "dev": host device paths */
	size_t	 n_devices;
	char	*restart;		/* "restart": no always on-failure unless-stopped */
	bool	 healthcheck;		/* "health" */
	bool	 root_user;		/* "root": runs as uid 0 */
	bool	 docker_socket;		/* "dsock": Docker or containerd socket mounted */
};

struct tm_process {
	uint64_t pid;			/* "pid", required (host pid namespace) */
	uint64_t ppid;			/* "ppid" */
	uint64_t uid;			/* "uid": in the container's user namespace */
	uint64_t gid;			/* "gid" */
	uint64_t host_uid;		/* "huid" */
	uint64_t host_gid;		/* "hgid" */
	char	*comm;			/* "comm" */
	char	*exe;			/* "exe": path inside the container */
	char	**args;			/* "args": bounded command line */
	size_t	 n_args;
	uint64_t start_ns;		/* "start": ns since epoch */
	char	*sha256;		/* "sha256": of exe, read inside the root */
};

/* A container snapshot: identity, lifecycle, risks, processes. */
struct tm_container {
	char	*runtime;		/* "rt", required */
	char	*ns;			/* "ns" */
	char	*id;			/* "id", required */
	char	*name;			/* "name" */
	char	*image_ref;		/* "img": reference as the user gave it */
	char	*image_id;		/* "iid": image config digest */
	char	*image_digest;		/* "idig": repo digest */
	char	*image_key;		/* "ikey": key of the image record (inventory) */
	char	**cmd;			/* "cmd": command and args */
	size_t	 n_cmd;
	char	*user;			/* "user" */
	char	*state;			/* "state", required: created running paused exited removed */
	char	*trigger;		/* "why": start exit exec reconcile list */
	uint64_t created_ns;		/* "created" */
	uint64_t started_ns;		/* "started" */
	uint64_t finished_ns;		/* "finished" */
	uint64_t lifetime_ns;		/* "life": finished - started, when exited */
	bool	 has_exit_code;
	int64_t	 exit_code;		/* "exit" */
	bool	 oom;			/* "oom" */
	uint64_t pid;			/* "pid" */
	struct tm_kv *labels;		/* "labels" */
	size_t	 n_labels;
	char	*pod_name;		/* "pod" (io.kubernetes.pod.name) */
	char	*pod_ns;		/* "podns" (io.kubernetes.pod.namespace) */
	char	*k8s_container;		/* "kctr" (io.kubernetes.container.name) */
	struct tm_risks risks;		/* "risk" */
	struct tm_process *procs;	/* "procs" */
	size_t	 n_procs;
	bool	 procs_missed;		/* "pmiss": exited before processes were read */
	uint64_t procs_dropped;		/* "pdrop": left out, over the agent's bound */
};

struct tm_package {
	char	*ecosystem;		/* "eco", required: dpkg apk rpm */
	char	*name;			/* "name", required */
	char	*version;		/* "ver", required: as the distro's tool prints it */
	bool	 has_epoch;
	int64_t	 epoch;			/* "epoch" (rpm) */
	char	*arch;			/* "arch" */
	char	*source_name;		/* "sname": dpkg Source, apk origin, rpm SRPM name */
	char	*source_version;	/* "sver" */
	char	*vendor;		/* "vendor" (rpm) */
	char	*modularity;		/* "module" (rpm modularity label) */
};

/* An image's inventory: sent once per image per host. */
struct tm_image {
	char	*key;			/* "key", required: image id or layer-chain hash */
	char	*image_id;		/* "iid" */
	char	**refs;			/* "refs": references seen for it */
	size_t	 n_refs;
	char	*os_id;			/* "os" */
	char	*os_version;		/* "osv" */
	char	*os_codename;		/* "oscode" */
	char	*os_pretty;		/* "osp" */
	struct tm_package *packages;	/* "pkgs" */
	size_t	 n_packages;
	uint64_t scan_ns;		/* "scan": time the scan took */
	uint64_t errors;		/* "errs": files rejected while scanning */
	char	**notes;		/* "notes": e.g. "rpm database found but not readable" */
	size_t	 n_notes;
};

struct tm_drift_file {
	char	*path;			/* "path", required */
	char	*change;		/* "chg", required: added modified deleted */
	uint64_t size;			/* "size" */
	uint64_t mode;			/* "mode" */
	char	*sha256;		/* "sha256" */
};

/* Drift: files changed in a container's writable layer. */
struct tm_drift {
	char	*runtime;		/* "rt", required */
	char	*ns;			/* "ns" */
	char	*id;			/* "id", required */
	char	*image_key;		/* "ikey" */
	char	*when;			/* "when", required: start exec exit */
	uint64_t time_ns;		/* "ts" */
	struct tm_drift_file *files;	/* "files" */
	size_t	 n_files;
};

/* The envelope. */
struct tm_record {
	uint64_t version;		/* "v": schema major */
	char	*host_id;		/* "h", required */
	uint64_t seq;			/* "s", required: per-host, monotonic */
	uint64_t sent_ns;		/* "t", required */
	uint64_t epoch;			/* "e": sequence epoch, 0 when absent */
	enum tm_kind kind;		/* "k", required: kind name */
	union {
		struct tm_host		host;
		struct tm_heartbeat	heartbeat;
		struct tm_event		event;
		struct tm_container	container;
		struct tm_image		image;
		struct tm_drift		drift;
	} body;				/* "b", required */
	/* Not on the wire: set when the record was decoded into an arena
	 * (tm_decode_object_arena): its members live in a few blocks that
	 * tm_record_free releases whole; none may be freed or replaced one
	 * by one. */
	struct tm_arena *arena;
};

/* Field descriptor tables (fields.c): the schema in C, driving the generic
 * encoder, decoder, JSON conversion and free. */
enum tm_ftype {
	TM_F_STR,		/* char * */
	TM_F_U64,		/* uint64_t */
	TM_F_I64,		/* int64_t */
	TM_F_BOOL,		/* bool */
	TM_F_STRLIST,		/* char ** + size_t count */
	TM_F_KVLIST,		/* struct tm_kv * + size_t count, a msgpack map */
	TM_F_STRUCT,		/* embedded struct (sub) */
	TM_F_ARRAY,		/* struct array (sub) + size_t count */
	TM_F_KIND,		/* enum tm_kind, a kind name on the wire (envelope "k") */
	TM_F_BODY,		/* the body union, described by the kind (envelope "b") */
};
/* Extra checks on a string's value, applied by encoder and decoder alike. */
enum tm_check {
	TM_CHECK_NONE = 0,
	TM_CHECK_NONEMPTY,	/* at least one byte */
	TM_CHECK_SHA256,	/* exactly 64 lowercase hex digits */
	TM_CHECK_ONEOF,		/* one of the NULL-terminated tm_field.oneof */
};
struct tm_desc;
struct tm_field {
	const char	*key;		/* wire key */
	enum tm_ftype	 type;
	size_t		 off;		/* offset of the value */
	size_t		 count_off;	/* lists: offset of the size_t count */
	size_t		 has_off;	/* optional ints: offsetof(has_x) + 1, 0 = none */
	bool		 required;
	uint32_t	 max;		/* string bytes, or list entries (0 = default) */
	const struct tm_desc *sub;	/* STRUCT and ARRAY */
	const char	*doc;		/* one line: unit and meaning */
	uint32_t	 emax;		/* STRLIST: bytes per entry (0 = TM_STR_MAX) */
	enum tm_check	 check;		/* STR (and STRLIST entries) */
	const char *const *oneof;	/* TM_CHECK_ONEOF: allowed values */
};
struct tm_desc {
	const char		*name;	/* "container", "process", ... */
	size_t			 size;
	const struct tm_field	*fields;
	size_t			 nfields;
};
const struct tm_desc *tm_kind_desc(enum tm_kind kind);
const struct tm_desc *tm_envelope_desc(void);	/* v h s t k b (b: TM_F_BODY) */
const char *tm_kind_name(enum tm_kind kind);	/* "container", or NULL */
enum tm_kind tm_kind_from_name(const char *name, size_t len);
const char *tm_reject_name(enum tm_reject why);

/* codec.c */
/*
 * Encode rec as one msgpack map appended to out.  Fails (-1) on a required
 * field left NULL or a bound exceeded: a bug in the caller, logged.  The
 * result may be larger than TM_PART_MAX: split it with tm_split().
 */
int	tm_encode(const struct tm_record *rec, msgpack_sbuffer *out);
/*
 * Decode one message (an envelope, not a part: see tm_reasm).  buf is
 * untrusted.  On success returns TM_OK and fills *rec (free with
 * tm_record_free).  On rejection returns the reason, leaves *rec empty and
 * writes a human-readable path and detail ("b.procs[3].pid: wrong type
 * (string)") to detail.
 */
enum tm_reject tm_decode(const void *buf, size_t len, struct tm_record *rec,
	    char *detail, size_t detaillen);
void	tm_record_free(struct tm_record *rec);
/*
 * Whether field f of the struct at base goes on the wire: strings when set,
 * lists when not empty, integers when required or non-zero (or their has_
 * flag is set), booleans when true, sub-structs when any member is.  An
 * absent key decodes as NULL, 0, false or empty, so nothing is lost.
 */
bool	tm_field_present(const struct tm_field *f, const void *base);
/* Free the members of one struct described by desc (not the struct itself). */
void	tm_struct_free(const struct tm_desc *desc, void *base);
/*
 * The untrusted-bytes gate used by every decoder: reject len > max
 * (too_large), walk buf with a bounded cursor checking every claimed length
 * against the bytes left and the nesting against TM_DEPTH_MAX (malformed,
 * too_deep, trailing bytes = malformed), then msgpack_unpack_next into *out
 * (initialised here; destroy with msgpack_unpacked_destroy, also on error).
 * Strings in *out point into buf.
 */
enum tm_reject tm_unpack(const void *buf, size_t len, size_t max,
	    msgpack_unpacked *out, char *detail, size_t detaillen);
/*
 * Measure the first msgpack object in buf[0..len) without allocating.
 * TM_OK: *objlen is its size (the rest of buf is not looked at).
 * TM_REJ_MALFORMED with *need_more = 1: buf ends inside the object (a
 * stream reader may read more); *need_more = 0: invalid bytes.
 * TM_REJ_TOO_DEEP: nesting beyond TM_DEPTH_MAX.
 */
enum tm_reject tm_scan(const void *buf, size_t len, size_t *objlen, int *need_more);
/* Decode an already unpacked envelope (see tm_decode). */
enum tm_reject tm_decode_object(const msgpack_object *obj, struct tm_record *rec,
	    char *detail, size_t detaillen);
/*
 * The same, with every string and array of *rec in an arena whose first
 * block holds first_block bytes (the consumer's records: hundreds of
 * small allocations and frees per record otherwise).  The record is read
 * only: tm_record_free releases it whole.
 */
enum tm_reject tm_decode_object_arena(const msgpack_object *obj,
	    struct tm_record *rec, size_t first_block, char *detail,
	    size_t detaillen);

/*
 * Convert any msgpack message to JSON, faithfully (unknown keys included,
 * binaries as base64 strings under {"$bin": ...}).  For tallyman-decode and
 * the JSON Schema tests.  Returns NULL (with detail) if buf is not msgpack.
 */
json_t	*tm_msgpack_to_json(const void *buf, size_t len, char *detail, size_t detaillen);
/* A decoded record as JSON, with the wire keys.  Caller owns the result. */
json_t	*tm_record_to_json(const struct tm_record *rec);

/* split.c: records over TM_PART_MAX travel as numbered parts. */
/*
 * Call emit(part, partlen, arg) for each message of the encoded record msg:
 * msg itself when it fits, otherwise envelopes {v h s t k "p": [index, count],
 * "x": bin chunk}.  Returns 0, or -1 if emit failed or there would be more
 * than TM_PARTS_MAX parts.
 */
int	tm_split(const void *msg, size_t len,
	    int (*emit)(const void *part, size_t partlen, void *arg), void *arg);
/* Reassembly of parts, bounded in pending records and bytes. */
struct tm_reasm;
struct tm_reasm *tm_reasm_new(size_t max_pending, size_t max_bytes);
/* Decode the records it gives back into arenas (tm_decode_object_arena). */
void	tm_reasm_set_arena(struct tm_reasm *ra, bool on);
void	tm_reasm_free(struct tm_reasm *ra);
/*
 * Feed one message.  A whole (unsplit) message is decoded at once.  A part is
 * kept until its record is complete, then the record is decoded.  Returns
 * TM_OK with *complete = 1 and *rec filled when a record is ready, TM_OK with
 * *complete = 0 when a part was stored, or a rejection reason.
 */
enum tm_reject tm_reasm_feed(struct tm_reasm *ra, const void *buf, size_t len,
	    struct tm_record *rec, int *complete, char *detail, size_t detaillen);
/*
 * tm_reasm_feed keeping the bytes of a record that came in parts: when
 * *complete = 1, *joined (caller frees) and *joinedlen are the joined
 * message, or NULL and 0 when buf was a whole message (its bytes are buf).
 */
enum tm_reject tm_reasm_take(struct tm_reasm *ra, const void *buf, size_t len,
	    struct tm_record *rec, uint8_t **joined, size_t *joinedlen,
	    int *complete, char *detail, size_t detaillen);
/*
 * The first step of tm_reasm_take alone: decode buf when it is a whole
 * message (TM_OK, *rec filled, *is_part = 0), or say it is a part (TM_OK,
 * *is_part = 1, nothing kept: feed it to tm_reasm_take).  Reads only ra's
 * settings, so it may run on another thread, beside tm_reasm_take.
 */
enum tm_reject tm_reasm_whole(const struct tm_reasm *ra, const void *buf,
	    size_t len, struct tm_record *rec, int *is_part, char *detail,
	    size_t detaillen);
/*
 * The same without decoding the record: when *complete = 1, *out (caller
 * frees) and *outlen hold the whole message: a copy of buf when it was not
 * split, or the joined parts (which may exceed TM_MSG_MAX).
 */
enum tm_reject tm_reasm_join(struct tm_reasm *ra, const void *buf, size_t len,
	    uint8_t **out, size_t *outlen, int *complete, char *detail,
	    size_t detaillen);
/*
 * After tm_reasm_take stored a part without completing its record: that
 * record's host id (valid until the next feed) and sequence, and 0.  -1
 * when the last message fed was not such a part.  A consumer holds its
 * offsets back at the first part of a record still incomplete.
 */
int	tm_reasm_last_part(const struct tm_reasm *ra, const char **host,
	    uint64_t *seq);
struct tm_reasm_stats {
	size_t	 pending;		/* records waiting for parts */
	size_t	 bytes;			/* bytes held for them */
	uint64_t completed;		/* records joined */
	uint64_t evicted;		/* incomplete records dropped (bounds) */
	uint64_t duplicates;		/* parts received twice (ignored) */
};
void	tm_reasm_stats(const struct tm_reasm *ra, struct tm_reasm_stats *st);

#endif /* TALLYMAN_SCHEMA_H */
