/*
 * agent.h: what crosses files inside tallyman-agent.  Everything else is
 * static.  Sections are named by the file that defines them.
 */
#ifndef TALLYMAN_AGENT_H
#define TALLYMAN_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "common/common.h"
#include "schema/schema.h"

/* config.c: the agent's configuration table. */
struct agent_config {
	char	*log_level;
	char	*host_id;		/* host.id: default /etc/machine-id */
	char	*state_dir;		/* state.dir */
	char	*docker_socket;		/* docker.socket */
	char	*containerd_socket;	/* containerd.socket */
	char	*output;		/* output: kafka, json or kafka,json */
	char	*kafka_brokers;		/* kafka.brokers */
	char	*kafka_topic;		/* kafka.topic */
	struct cfg_passthrough kafka;	/* any other kafka.X */
	uint64_t spool_max_bytes;	/* spool.max_bytes */
	uint64_t spool_sync_interval;	/* spool.sync_interval (ns) */
	uint64_t heartbeat_interval;	/* heartbeat.interval (ns) */
	uint64_t inventory_max_file;	/* inventory.max_file_bytes */
	char	*proc_root;		/* proc.root: /proc (tests may change it) */
};
extern const struct cfg_entry agent_config_table[];
extern const size_t agent_config_table_len;

/* Counters reported in the heartbeat (and by `run` on exit). */
struct agent_stats {
	uint64_t events;
	uint64_t snapshots;
	uint64_t containers;
	uint64_t image_scans;
	uint64_t image_cache_hits;
	uint64_t records;
	uint64_t spooled;
	uint64_t acked;
	uint64_t dropped;
	uint64_t parse_errors;
	uint64_t drift_records;
};

struct output;
struct watchers;
struct containers;
struct inventory_cache;
struct host;

/* The agent: one per process, passed everywhere (no mutable globals). */
struct agent {
	uv_loop_t		*loop;
	struct agent_config	 cfg;
	const char		*config_path;	/* file read, or NULL (defaults) */
	const struct cli_opts	*opts;		/* -c/-o again on SIGHUP reload */
	char			 host_id[128];
	uint64_t		 start_mono_ns;
	struct agent_stats	 stats;
	struct curluv		*curl;
	struct output		*out;
	struct watchers		*watchers;
	struct containers	*containers;
	struct inventory_cache	*icache;
	struct host		*host;		/* host.c: last host record */
	bool			 apparmor;	/* the host's kernel enforces AppArmor */
	uv_signal_t		 sig_term, sig_int, sig_hup;
	bool			 stopping;
};

/*
 * main.c: subcommands, in the style of tmux's cmd_table.  A command is one
 * file, agent/cmd-<name>.c, defining `const struct agent_cmd
 * agent_cmd_<name>` (declared here), plus one line in main.c's agent_cmds[].
 */
struct agent_cmd {
	const char	*name;		/* "snapshot" */
	const char	*usage;		/* its arguments, for --help: "[--json]" */
	const char	*help;		/* one line for --help */
	/*
	 * Run with a->cfg loaded (and freed by main afterwards), a->opts and
	 * a->config_path set, logging configured, everything else zero.
	 * argv[0] is the command's name.  Returns the exit status: 0, 1 on
	 * failure, 2 on a usage error.
	 */
	int		(*exec)(struct agent *a, int argc, char **argv);
	unsigned	 issue;		/* exec NULL: the issue that builds it */
};

/* rootfs.c: a container's files, read safely. */
/*
 * A root is one trusted host folder (a running container's /proc/PID/root,
 * or a folder for `scan --rootfs`) or a stack of overlay layers, upper first
 * (an image's or exited container's upperdir then lowerdirs).  Paths are
 * resolved component by component, each step through common/safefile.c, so
 * symlinks ("/x" and "../../x") stay inside the root as with RESOLVE_IN_ROOT.
 * In a layer stack, whiteouts (char device 0/0, or ".wh.NAME") and opaque
 * folders (xattr trusted.overlay.opaque or user.overlay.opaque = "y", or a
 * ".wh..wh..opq" file) hide lower layers exactly as the kernel's overlayfs.
 * Every problem except a missing file is counted and logged with its path.
 */
#define ROOTFS_LAYERS_MAX	500	/* overlay's own limit */
#define ROOTFS_DIR_MAX		100000	/* entries listed per folder */
#define ROOTFS_PATH_MAX		4096
#define ROOTFS_SYMLINKS_MAX	40	/* as the kernel's MAXSYMLINKS */
struct rootfs;
struct rootfs *rootfs_open_dir(const char *path);
struct rootfs *rootfs_open_layers(const char *const *dirs, size_t n);
void	rootfs_free(struct rootfs *rf);
const char *rootfs_name(const struct rootfs *rf);
/* Read the regular file PATH (at most max bytes; *buf NUL-terminated, caller
 * frees).  -1 with errno: ENOENT when absent (not counted), else counted. */
int	rootfs_read(struct rootfs *rf, const char *path, size_t max,
	    char **buf, size_t *len);
/* Open the regular file PATH read-only: a fd (caller closes) or -1 as above. */
int	rootfs_open_file(struct rootfs *rf, const char *path, uint64_t *size);
/* 1 if PATH exists (any type, symlinks followed), 0 if not. */
int	rootfs_exists(struct rootfs *rf, const char *path);
/* The merged entries of folder PATH, sorted, whiteouts applied, without "."
 * "..", ".wh.*".  *names (caller frees with rootfs_names_free).  -1 as above. */
int	rootfs_list(struct rootfs *rf, const char *path, char ***names, size_t *n);
void	rootfs_names_free(char **names, size_t n);
/* Count a problem with PATH in rf and log it (rate limited). */
void	rootfs_error(struct rootfs *rf, const char *path, const char *fmt, ...)
	    TM_ATTR_PRINTF(3, 4);
uint64_t rootfs_errors(const struct rootfs *rf);

/* inventory.c: what is installed in a root. */
#define INVENTORY_MAX_FILE	(256u * 1024 * 1024)	/* default file bound */
#define INVENTORY_LINE_MAX	(1024u * 1024)		/* longest field line */
struct inventory_scan {		/* one scan of one root, given to each parser */
	struct rootfs	*root;		/* NULL in unit tests that parse buffers */
	struct tm_image	*img;		/* packages, os and notes go here */
	size_t		 cap;		/* packages allocated in img */
	uint64_t	 max_file;	/* bound on any file read */
	const char	*tmpdir;	/* private folder for copies (rpm), or NULL */
	uint64_t	 errors;	/* malformed records (files: rootfs_errors) */
};
struct inventory_parser {
	const char	*name;
	int		(*probe)(struct inventory_scan *);	/* 1 present, 0 not */
	int		(*parse)(struct inventory_scan *);	/* 0 or -1 */
};
extern const struct inventory_parser inventory_parser_os;
extern const struct inventory_parser inventory_parser_dpkg;
extern const struct inventory_parser inventory_parser_apk;
extern const struct inventory_parser inventory_parser_rpm;
/* Scan root into img (zeroed by the caller; free with inventory_image_free).
 * Returns 0 (problems are counted in img->errors and notes) or -1. */
int	inventory_scan_root(struct rootfs *root, uint64_t max_file, struct tm_image *img);
/* Add one package (strings copied; over-long ones reject it, counted).
 * NULL source fields default to the binary's. Returns the package or NULL. */
struct tm_package *inventory_add(struct inventory_scan *s, const char *eco,
	    const char *name, const char *version, const char *arch,
	    const char *sname, const char *sver);
void	inventory_note(struct inventory_scan *s, const char *fmt, ...) TM_ATTR_PRINTF(2, 3);
void	inventory_error(struct inventory_scan *s, const char *path, const char *fmt, ...)
	    TM_ATTR_PRINTF(3, 4);
void	inventory_image_free(struct tm_image *img);
void	inventory_sort(struct tm_image *img);	/* by ecosystem, name, arch */

/* inventory-json.c: the inventory as JSON (scan --json, the cache files). */
json_t	*inventory_image_to_json(const struct tm_image *img);
int	inventory_image_from_json(json_t *o, struct tm_image *img);

/* inventory-os.c */
int	inventory_os_parse_release(struct inventory_scan *s, const char *buf, size_t len);
/* inventory-dpkg.c: status_d = 1 for distroless status.d files (no Status
 * field means installed).  origin names the file in errors. */
int	inventory_dpkg_parse(struct inventory_scan *s, const char *buf, size_t len,
	    const char *origin, int status_d);
/* inventory-apk.c */
int	inventory_apk_parse(struct inventory_scan *s, const char *buf, size_t len,
	    const char *origin);
/* inventory-rpm.c: read an rpm database copied to the host folder dbdir with
 * librpm's backend ("sqlite", "bdb_ro"); an NDB buffer (untrusted) with
 * inventory_rpm_read_ndb.  Both return 0 or -1. */
int	inventory_rpm_read_dir(struct inventory_scan *s, const char *dbdir,
	    const char *backend);
int	inventory_rpm_read_ndb(struct inventory_scan *s, const char *buf, size_t len);
/* inventory-rpm-ndb.c: SUSE's NDB Packages.db, with our own bounded reader. */
typedef int (*inventory_rpm_ndb_cb)(const void *blob, size_t len, void *arg);
int	inventory_rpm_ndb_blobs(const void *buf, size_t len,
	    inventory_rpm_ndb_cb cb, void *arg, uint64_t *errors);

/* inventory-layers.c: overlay layers from what the runtimes report. */
struct inventory_layers {
	char	*upper;			/* image: top layer; container: writable */
	char	**lowers;		/* the rest, upper first */
	size_t	 n_lowers;
};
/* Docker image or container inspect JSON (GraphDriver, overlay2 only). */
int	inventory_layers_docker(json_t *inspect, struct inventory_layers *l);
/* containerd: an overlay mount's options (lowerdir=, upperdir=). */
int	inventory_layers_overlay(const char *const *options, size_t n,
	    struct inventory_layers *l);
/* upper then lowers, borrowed pointers; the caller frees the array. */
const char **inventory_layers_all(const struct inventory_layers *l, size_t *n);
void	inventory_layers_free(struct inventory_layers *l);

/* inventory-cache.c: one scan per image, shared by its containers. */
struct image_source {
	const char	*key;		/* image id ("sha256:..."), or NULL: the
					   hash of the layer chain is the key */
	const char	*image_id;	/* or NULL */
	const char	*ref;		/* reference as the user gave it, or NULL */
	const char	*rootdir;	/* a root folder (/proc/PID/root), or NULL */
	const char *const *layers;	/* else overlay layers, upper first */
	size_t		 n_layers;
};
/* img is valid only during the call; status 0 or -1 (scan impossible). */
typedef void (*inventory_done_cb)(struct agent *a, const char *key,
	    const struct tm_image *img, int status, void *arg);
/* Load the persisted inventories from state.dir/images.  Returns 0 or -1. */
int	inventory_cache_open(struct agent *a);
void	inventory_cache_close(struct agent *a);	/* after uv_run returned */
/*
 * Inventory of an image, computed at most once per key on this host (and
 * across restarts): a cached answer calls done at once (image_cache_hits),
 * otherwise the scan runs on the libuv thread pool (image_scans) and every
 * request waiting for that key is answered when it ends.  The first time a
 * key is scanned its TM_KIND_IMAGE record is emitted through agent_emit.
 * Returns 0, or -1 if src is unusable (done is not called).
 */
int	inventory_image_request(struct agent *a, const struct image_source *src,
	    inventory_done_cb done, void *arg);
/* The cache key for src (image id or "chain:" + SHA-256 of the layer paths);
 * out must hold 80 bytes. */
void	inventory_image_key(const struct image_source *src, char out[80]);

/* drift.c: what changed in a container's writable layer. */
struct drift;
/* upperdir: the container's writable layer; lowers: its image layers (upper
 * first) to tell added from modified and find package-owned files. */
struct drift *drift_new(const char *upperdir, const char *const *lowers, size_t n_lowers);
void	drift_free(struct drift *d);
/*
 * Blocking (thread pool): walk upperdir (bounded) and fill out->files with
 * executables (ELF magic or an exec bit) added or modified and package files
 * deleted, that were not already reported by an earlier call on d.  Returns
 * the number of files found (0: no record needed) or -1.
 */
int	drift_check(struct drift *d, struct tm_drift *out);
void	drift_record_free(struct tm_drift *dr);
typedef void (*drift_done_cb)(struct agent *a, int nfiles, void *arg);
/* Run drift_check on the thread pool and emit a TM_KIND_DRIFT record when
 * anything is found (counted here in a->stats.drift_records: callers do
 * not count it again); d must live until done is called.  One check at a
 * time per d: -1 while one runs.  Returns 0 or -1. */
int	drift_request(struct agent *a, struct drift *d, const char *runtime,
	    const char *ns, const char *id, const char *image_key,
	    const char *when, drift_done_cb done, void *arg);

/* cmd-run.c, cmd-snapshot.c (helper `watch`) */
extern const struct agent_cmd agent_cmd_run;
extern const struct agent_cmd agent_cmd_snapshot;

/* cmd-scan.c: `tallyman-agent scan --rootfs DIR | --image REF [--json]`. */
int	cmd_scan(int argc, char **argv);
/* scan-containerd.c: a containerd image's layers (top first) through the
 * Images, Content and Snapshots services; *id is its target digest. */
int	scan_containerd_layers(const char *sock, const char *ns, const char *ref,
	    char ***layers, size_t *n, char **id);

/* output.c: every record leaves the agent through agent_emit. */
/*
 * Wrap body (of kind) in an envelope with this host's id, the next sequence
 * number and the send time, and hand it to every configured sink (Kafka via
 * the spool, JSON lines on stdout).  body is only read.  Returns 0 or -1.
 * Call it on the loop thread only (not from uv_queue_work's work callback).
 */
int	agent_emit(struct agent *a, enum tm_kind kind, const void *body);
int	output_open(struct agent *a, const char *spec);
/* Flush and close the sinks (SIGTERM drain).  Calls done when finished. */
void	output_close(struct agent *a, void (*done)(struct agent *));

/* seq.c: the host's sequence number, monotonic across restarts. */
struct seq;
struct seq *seq_open(uv_loop_t *loop, const char *dir, bool have_spool_last,
	    uint64_t spool_last);
int	seq_next(struct seq *sq, uint64_t *out);
int	seq_unget(struct seq *sq, uint64_t n);
uint64_t seq_peek(const struct seq *sq);
uint64_t seq_epoch(const struct seq *sq);
int	seq_close(struct seq *sq, bool clean);

/* spool.c: the on-disk spool between agent_emit and Kafka. */
struct spool;
struct spool_pos {
	uint64_t segno;
	uint64_t off;
};
/* One frame handed to the sender. */
struct spool_frame {
	uint8_t	*raw;			/* the Kafka payload; caller frees */
	size_t	 rawlen;
	struct spool_pos start, end;
	uint32_t disklen;
	uint64_t seq;
	bool	 record_start;		/* false for parts 2.. of a split record */
};
struct spool_info {
	uint64_t bytes;			/* on disk now */
	uint64_t records;		/* unacknowledged records now */
	uint64_t segments;
	uint64_t cut_frames;		/* damaged frames cut (start-up or read) */
	uint64_t cut_bytes;
	uint64_t dropped;		/* records dropped: spool full or unwritable */
	bool	 has_last_seq;
	uint64_t last_seq;		/* newest sequence number on disk */
};
struct spool *spool_open(uv_loop_t *loop, const char *dir, uint64_t max_bytes,
	    uint64_t sync_interval_ns);
int	spool_append(struct spool *sp, const void *raw, size_t len, uint64_t seq,
	    bool record_start, uint64_t *dropped);
int	spool_peek(struct spool *sp, struct spool_frame *f);
void	spool_advance(struct spool *sp, const struct spool_frame *f);
void	spool_release(struct spool *sp, struct spool_pos end, bool record_start);
void	spool_rewind(struct spool *sp);
void	spool_get_info(const struct spool *sp, struct spool_info *info);
uint64_t spool_max_inflight(const struct spool *sp);
void	spool_close(struct spool *sp);

/* publish.c: the librdkafka producer fed from the spool. */
struct publish;
struct publish_stats {
	uint64_t queue;			/* messages inside librdkafka now */
	uint64_t rtt_us;		/* average broker round trip (statistics) */
	uint64_t errors;		/* error callbacks and failed deliveries */
	uint64_t inflight;
};
struct publish *publish_open(struct agent *a, struct spool *sp);
void	publish_kick(struct publish *p);
void	publish_get_stats(const struct publish *p, struct publish_stats *st);
int	publish_test_fatal(struct publish *p);	/* tests only */
/* Wait (at most timeout_ms) for what is in flight, then free; calls done. */
void	publish_close(struct publish *p, uint64_t timeout_ms,
	    void (*done)(void *), void *arg);

/* heartbeat.c: the agent's counters as a record on an interval. */
struct heartbeat;
struct heartbeat *heartbeat_start(struct agent *a);
int	heartbeat_emit(struct agent *a);
void	heartbeat_stop(struct heartbeat *hb);
/* output.c: spool and producer figures for the heartbeat. */
void	output_fill_heartbeat(struct agent *a, struct tm_heartbeat *hb);

/* ---- watchers, registry, snapshot (helper `watch`, issue 3) ---- */

/* grpc.c: gRPC over HTTP/2 (prior knowledge) on a unix socket, for
 * containerd.  Messages are protobuf-c; the 5-byte framing is ours. */
struct ProtobufCMessage;
struct ProtobufCMessageDescriptor;
struct grpc_framer {		/* reassembles length-prefixed messages */
	uint8_t	*buf;
	size_t	 len, cap, max;
	uint32_t msglen;
	uint64_t nmsgs;
	int	 failed;
};
void	grpc_framer_init(struct grpc_framer *f, size_t max);
void	grpc_framer_free(struct grpc_framer *f);
int	grpc_framer_feed(struct grpc_framer *f, const void *data, size_t len,
	    int (*cb)(const uint8_t *msg, size_t len, void *arg), void *arg);
int	grpc_framer_idle(const struct grpc_framer *f);
uint8_t	*grpc_frame_encode(const struct ProtobufCMessage *msg, size_t *outlen);
void	grpc_message_decode(const char *in, size_t inlen, char *out, size_t outlen);
struct grpc_call;
typedef int (*grpc_msg_cb)(struct grpc_call *c, const uint8_t *msg, size_t len,
	    void *arg);
typedef void (*grpc_done_cb)(struct grpc_call *c, int status, const char *why,
	    void *arg);
struct grpc_call *grpc_call_start(struct curluv *cu, const char *sockpath,
	    const char *method, const char *ns, const struct ProtobufCMessage *req,
	    size_t max_msg, long timeout_ms, grpc_msg_cb on_msg,
	    grpc_done_cb on_done, void *arg);
void	grpc_call_cancel(struct grpc_call *c);

/* watch.c: the runtime watchers, a table of const structs. */
enum watch_mode {
	WATCH_STREAM,		/* run: follow events until stopped */
	WATCH_ONCE,		/* snapshot: list once, then stop */
};
struct watch;
struct watcher {
	const char	*name;		/* "docker" */
	/* Connect, subscribe, then list (watch_listed); 0, or -1 to retry
	 * later (watch_lost is then not needed). */
	int		(*start)(struct watch *w);
	/* Drop every connection and free the watcher's state (w->priv). */
	void		(*stop)(struct watch *w);
};
extern const struct watcher watcher_docker;
extern const struct watcher watcher_containerd;
struct watch {
	struct agent		*a;
	const struct watcher	*ops;
	const char		*socket;	/* from the configuration */
	enum watch_mode		 mode;
	void			*priv;		/* the watcher's own state */
	struct curluv		*curl;		/* its own: libcurl 7.88 mixes up
						   connections to different unix
						   sockets in one multi handle */
	bool			 up;		/* connected and subscribed */
	bool			 connecting;	/* start() called, not up yet */
	unsigned		 holds;		/* transfers in flight */
	bool			 listed;	/* first listing done */
	bool			 done;		/* WATCH_ONCE: finished (or skipped) */
	bool			 stopping;
	unsigned		 generation;	/* connections so far */
	char			 version[64];	/* runtime version, "" unknown */
	uint64_t		 backoff_ms;
	uint64_t		 events;	/* runtime events handled */
	uint64_t		 rejects;	/* malformed messages rejected */
	uv_timer_t		 retry;
	uv_fs_event_t		 dirwatch;	/* while not connected: inotify on */
	char			 watchdir[PATH_MAX];	/* the socket's folder or
						   its nearest existing parent */
	dev_t			 watchdev;
	ino_t			 watchino;
	bool			 dirwatching;
	bool			 absent_logged;
	bool			 stale_logged;	/* "nothing listens" said */
	bool			 settled;	/* first attempt has an outcome */
};
/* Start every watcher (a->watchers).  Returns 0 or -1. */
int	watchers_start(struct agent *a, enum watch_mode mode);
/* Stop them; done(a) once every uv handle is closed. */
void	watchers_stop(struct agent *a, void (*done)(struct agent *));
/* Is the watcher NAME connected now? */
bool	watchers_up(struct agent *a, const char *name);
/* ... or connecting (its view is on its way: worth waiting for)? */
bool	watchers_coming(struct agent *a, const char *name);
/* WATCH_ONCE: has every watcher finished its listing (or been skipped)? */
bool	watchers_done(struct agent *a);
/* For watchers: connected; the connection was lost (retry with backoff);
 * the first listing on this connection is complete. */
void	watch_up(struct watch *w);
void	watch_lost(struct watch *w, const char *why);
void	watch_listed(struct watch *w);
/* A transfer of the watcher is in flight / has ended: the watchers are
 * freed (after watchers_stop) only when none is. */
void	watch_hold(struct watch *w);
void	watch_release(struct watch *w);
/* A GET on the runtime's unix socket, body bounded by max (curl-uv). */
typedef void (*watch_http_cb)(struct watch *w, long status, const char *body,
	    size_t len, void *arg);
int	watch_http_get(struct watch *w, const char *path, size_t max,
	    watch_http_cb cb, void *arg);

/* containers.c: one record per container, whichever watcher saw it. */
enum ctr_src {
	CTR_SRC_DOCKER = 0,
	CTR_SRC_CONTAINERD,
	CTR_SRC_MAX
};
enum ctr_act {
	CTR_ACT_CREATE = 0,
	CTR_ACT_START,
	CTR_ACT_EXEC,
	CTR_ACT_EXIT,
	CTR_ACT_OOM,
	CTR_ACT_DELETE,
	CTR_ACT_PAUSE,
	CTR_ACT_UNPAUSE,
	CTR_ACT_MAX
};
/* One thing a watcher saw happen (or found while listing). */
struct ctr_obs {
	enum ctr_src	 src;
	const char	*ns;		/* containerd namespace; Docker: "moby" */
	const char	*id;
	enum ctr_act	 act;
	uint64_t	 time_ns;	/* the runtime's time; 0 = unknown */
	uint32_t	 pid;		/* start, exec */
	const char	*exec_id;	/* exec */
	bool		 has_exit;
	int64_t		 exit_code;	/* exit */
	const char	*name;		/* hints carried by the event, or NULL */
	const char	*image;
	bool		 listed;	/* from a list, not an event */
	bool		 from_meta;	/* derived from an inspect or spec */
};
#define CTR_DOCKER_NS	"moby"
/*
 * A container id or namespace the registry takes: not empty, within the
 * schema's bound (a record naming it could not be sent), printable ASCII
 * without space or '/' (names go into paths and log lines; containerd's
 * own identifiers are letters, digits, '.', '_' and '-').  The watchers
 * check it first, and count a refusal among their rejects.
 */
bool	containers_name_ok(const char *s);
int	containers_open(struct agent *a);
void	containers_close(struct agent *a);
void	containers_observe(struct agent *a, const struct ctr_obs *o);
/* containerd's TaskCreate: the init process exists (pid), not started. */
void	containers_task_created(struct agent *a, const char *ns, const char *id,
	    uint32_t pid);
/* A metadata fetch for (ns, id) from src has started: hold the snapshot. */
void	containers_meta_wait(struct agent *a, enum ctr_src src, const char *ns,
	    const char *id);
/* Its result: meta (members moved into the registry, *meta zeroed), or
 * NULL when the fetch failed (container gone).  listed: fetched for a
 * listing (its lifecycle is news, not an echo of events). */
void	containers_meta_done(struct agent *a, enum ctr_src src, const char *ns,
	    const char *id, struct tm_container *meta, bool listed);
/* The root's overlay layers (TaskCreate's rootfs, Docker's GraphDriver):
 * upper (writable) first when upper is true.  Takes layers and its strings. */
void	containers_set_rootfs(struct agent *a, const char *ns, const char *id,
	    char **layers, size_t n_layers, bool upper);
/* A listing by src starts (reconcile: after a reconnection); each
 * container in it is reported with containers_listed; at the end
 * (every namespace answered), containers src showed before that were not
 * listed are gone. */
void	containers_list_begin(struct agent *a, enum ctr_src src, bool reconcile);
void	containers_listed(struct agent *a, enum ctr_src src, const char *ns,
	    const char *id);
void	containers_list_end(struct agent *a, enum ctr_src src);
/* WATCH_ONCE: no records until containers_emit_all. */
void	containers_set_once(struct agent *a, bool once);
/* Nothing in flight (metadata, process scans, images): snapshot can exit. */
bool	containers_idle(struct agent *a);
/* WATCH_ONCE: fn for every container's snapshot (why "list"). */
void	containers_foreach(struct agent *a,
	    void (*fn)(struct agent *, const struct tm_container *, void *),
	    void *arg);
uint64_t containers_count(struct agent *a);
/* For tests: prune as at monotonic time now (mono_ns); the entries and
 * the tombstones of removed containers known. */
void	containers_prune_at(struct agent *a, uint64_t now);
void	containers_sizes(struct agent *a, size_t *entries, size_t *tombs);

/* inspect-docker.c: Docker's GET /containers/{id}/json as a snapshot. */
/* Fill out (zeroed by the caller; free with tm_struct_free) from inspect,
 * untrusted JSON.  daemon_userns: the daemon remaps users.  0 or -1. */
int	inspect_docker_parse(json_t *inspect, bool daemon_userns,
	    struct tm_container *out);
int	inspect_docker_time(const char *rfc3339, uint64_t *ns);
/* GraphDriver's overlay layers, upper first: count, *layers caller-owned. */
size_t	inspect_docker_layers(json_t *inspect, char ***layers);

/* spec-oci.c: an OCI runtime spec (containerd's container spec), untrusted
 * JSON, as command, user and risks in out (zeroed by the caller). */
int	spec_oci_parse(json_t *spec, struct tm_container *out);

/* risks.c: runtime-independent pieces of the configuration risks. */
bool	risk_path_sensitive(const char *hostpath);
bool	risk_path_runtime_socket(const char *path);
extern const char *const risk_default_caps[];	/* Docker's = containerd's */
extern const size_t risk_default_caps_len;
extern const char *const risk_all_caps[];
extern const size_t risk_all_caps_len;
/* "cap_sys_admin" -> "SYS_ADMIN" (new string), "ALL", or NULL if unknown. */
char	*risk_cap_name(const char *name);
/* caps = the given effective set; cap_add/cap_drop = its difference from
 * the default set. */
void	risk_caps_from_set(struct tm_risks *r, char **caps, size_t n);
/* caps from Docker's privileged flag, cap_add and cap_drop. */
void	risk_caps_docker(struct tm_risks *r, bool privileged);
void	risk_strlist_free(char ***list, size_t *n);

/* proc.c: a container's processes from /proc (blocking: thread pool). */
struct proc_cg_line {		/* one line of /proc/PID/cgroup */
	unsigned	 hid;
	char		*controllers;	/* "cpu,cpuacct", "name=systemd", "" (v2) */
	char		*path;
};
struct proc_cg_mount {		/* one cgroup mount from mountinfo */
	char		*root;		/* the mount's root inside the hierarchy */
	char		*mountpoint;
	char		*controllers;	/* super options' controllers; "" for v2 */
	bool		 v2;
};
int	proc_cgroup_parse(const char *buf, size_t len, struct proc_cg_line **out,
	    size_t *n);
int	proc_mountinfo_parse(const char *buf, size_t len,
	    struct proc_cg_mount **out, size_t *n);
void	proc_cg_lines_free(struct proc_cg_line *l, size_t n);
void	proc_cg_mounts_free(struct proc_cg_mount *m, size_t n);
/* The host folder of the container's cgroup, or NULL: v2 when the process
 * sits in a non-root v2 group, else v1 pids, memory, cpu, name=systemd. */
char	*proc_cgroup_resolve(const struct proc_cg_line *l, size_t nl,
	    const struct proc_cg_mount *m, size_t nm);
struct proc_idmap {
	struct { uint64_t inside, outside, count; } e[64];
	size_t	 n;
};
int	proc_idmap_parse(const char *buf, size_t len, struct proc_idmap *m);
/* Host id -> id inside the namespace; (uint64_t)-1 when unmapped. */
uint64_t proc_idmap_inside(const struct proc_idmap *m, uint64_t host);
struct proc_stat {
	uint64_t pid, ppid, starttime;	/* starttime in clock ticks */
	char	 comm[64];
	char	 state;
};
int	proc_stat_parse(const char *buf, size_t len, struct proc_stat *st);
/* Split a NUL-separated cmdline into at most max_args bounded strings. */
int	proc_cmdline_split(const char *buf, size_t len, char ***args,
	    size_t *n);
enum proc_stage {		/* where proc_scan's test hook is called */
	PROC_STAGE_LISTED,	/* pid known, /proc/PID not opened yet */
	PROC_STAGE_OPENED,	/* opened, cgroup checked, nothing read yet */
	PROC_STAGE_READ,	/* read, cgroup not checked again yet */
};
struct proc_scan {
	/* in */
	const char	*proc_root;	/* "/proc" */
	char		*cgroup_dir;	/* known cgroup folder, or NULL (out too) */
	uint32_t	 pids[16];	/* pids the runtime named for the container */
	uint64_t	 pids_ns[16];	/* proc_boottime_ns() when it named each
					   (a process at that pid that started
					   later is another one); 0: unknown */
	size_t		 n_pids;
	uint64_t	 max_exe;	/* bound on an executable to hash */
	uint64_t	 queued_ns;	/* mono_ns() when asked (for the log) */
	/* tests only (NULL in the agent): called at each stage of a pid */
	void		(*hook)(void *arg, uint32_t pid, enum proc_stage stage);
	void		*hook_arg;
	/* out */
	struct tm_process *procs;
	size_t		 n_procs;
	uint64_t	 errors;
	uint64_t	 foreign;	/* pids found to be another process's
					   (reused): never reported */
	uint64_t	 dropped;	/* pids over the bound, not read */
};
/* Read every process of the container.  Returns the number found or -1. */
int	proc_scan_run(struct proc_scan *ps);
void	proc_scan_free(struct proc_scan *ps);
void	proc_process_free(struct tm_process *p);
uint64_t proc_boot_ns(void);
uint64_t proc_boottime_ns(void);	/* CLOCK_BOOTTIME, ns */

/* One container in the registry (containers.c), across runs and watchers. */
struct ctr_drift;
enum ctr_state {
	CTR_ST_NONE = 0,	/* only heard of (a metadata fetch) */
	CTR_ST_CREATED,
	CTR_ST_RUNNING,
	CTR_ST_EXITED,
	CTR_ST_REMOVED,
};
#define CTR_SCAN_PIDS	16
struct ctr_rec {
	struct ctr_rec		*hnext, *prev, *next;
	struct containers	*reg;
	char			*ns, *id;
	bool			 docker;	/* Docker's (namespace moby) */
	/* what each watcher's API says about it */
	struct tm_container	 meta[CTR_SRC_MAX];
	bool			 have_meta[CTR_SRC_MAX];
	unsigned		 meta_wait[CTR_SRC_MAX];
	bool			 seen_by[CTR_SRC_MAX];
	uint64_t		 list_gen[CTR_SRC_MAX];
	char			*hint_name, *hint_image;
	/* the current run, merged from every source */
	enum ctr_state		 state;
	bool			 src_started[CTR_SRC_MAX];
	bool			 src_exited[CTR_SRC_MAX];
	uint64_t		 src_exit_ns[CTR_SRC_MAX];
	uint64_t		 created_ns, started_ns, finished_ns;
	bool			 has_exit;
	int64_t			 exit_code;
	bool			 oom;
	uint32_t		 pid;
	uint64_t		 removed_mono;
	uint64_t		 removed_ns;	/* the removal's event time */
	/* processes seen in this run */
	struct tm_process	*procs;
	size_t			 n_procs;
	uint64_t		 procs_dropped;	/* most left out by a scan */
	char			*cgroup_dir;
	uint32_t		 scan_pids[CTR_SCAN_PIDS];
	uint64_t		 scan_pids_ns[CTR_SCAN_PIDS];	/* proc_boottime_ns()
						   when the runtime named it */
	size_t			 n_scan_pids;
	bool			 scan_busy, scan_again, procs_tried;
	/* the root's overlay layers, upper first (TaskCreate, GraphDriver) */
	char			**layers;
	size_t			 n_layers;
	bool			 layers_upper;	/* layers[0] is the writable one */
	struct ctr_drift	*drift;		/* snapshot.c's drift state */
	bool			 image_requested;
	char			 image_key[80];
	/* records sent for this run */
	const char		*first_why;	/* "start", "list", "reconcile" */
	bool			 start_listed;	/* this run's start, its exit: */
	bool			 exit_listed;	/* learned from a listing only */
	bool			 ev_sent[CTR_ACT_MAX];
	bool			 created_sent, start_sent, exit_sent;
	char			**execs;	/* exec ids seen (this run) */
	bool			*exec_pid;	/* ...whose pid is known */
	size_t			 n_execs;
	unsigned		 exec_pending;	/* exec snapshots due */
	unsigned		 exec_waiting;	/* execs waiting for their pid */
	uv_timer_t		*later;		/* a rescan soon */
	bool			 rescan_soon;	/* caught runc init: look again */
	unsigned		 rescans;
	uv_timer_t		*grace;		/* waiting for Docker's metadata */
	bool			 grace_over;
	bool			 orphan;	/* name taken by a new container: freed
					   once settled, no tombstone */
};

/* snapshot.c: one normalised container record, and the thread-pool work. */
/* Build the record of c (why: its trigger) into out (zeroed by the caller;
 * free with snapshot_free: it borrows c's strings). */
void	snapshot_build(struct agent *a, const struct ctr_rec *c, const char *why,
	    struct tm_container *out);
void	snapshot_free(const struct ctr_rec *c, struct tm_container *out);
/* Ask the inventory for c's image (once per container) and set
 * c->image_key. */
bool	snapshot_image(struct agent *a, struct ctr_rec *c);
/* Check c's writable layer for drift (when: start exec exit), on the
 * thread pool; a record is emitted when something changed. */
void	snapshot_drift(struct agent *a, struct ctr_rec *c, const char *when);
/* c is going away: its drift state goes too (now, or when its check ends). */
void	snapshot_drift_release(struct ctr_rec *c);
/* Queue a process scan of c on the thread pool; containers_scan_done() is
 * called on the loop with the result.  Returns 0 or -1. */
int	snapshot_scan(struct agent *a, struct ctr_rec *c, struct proc_scan *ps);
void	containers_scan_done(struct agent *a, struct ctr_rec *c, struct proc_scan *ps);
/* pod name, pod namespace and container name from the CRI labels. */
void	snapshot_k8s_labels(struct tm_container *c);

/* host.c: the host record, at start and on change. */
/* Emit the host record if any fact changed since the last one (gathered on
 * the thread pool, or at once with now). */
int	host_emit(struct agent *a, bool now);
void	host_close(struct agent *a);
/* A runtime's version became known (or changed). */
/* Whether this host's kernel enforces AppArmor (the CIS check 5.2 applies). */
bool	host_apparmor(void);
void	host_runtime_version(struct agent *a, const char *runtime,
	    const char *version);

#endif /* TALLYMAN_AGENT_H */
