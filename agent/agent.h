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
typedef int (*rpm_ndb_blob_cb)(const void *blob, size_t len, void *arg);
int	rpm_ndb_blobs(const void *buf, size_t len, rpm_ndb_blob_cb cb, void *arg,
	    uint64_t *errors);

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
 * anything is found; d must live until done is called.  Returns 0 or -1. */
int	drift_request(struct agent *a, struct drift *d, const char *runtime,
	    const char *ns, const char *id, const char *image_key,
	    const char *when, drift_done_cb done, void *arg);

/* cmd-scan.c: `tallyman-agent scan --rootfs DIR | --image REF [--json]`. */
int	cmd_scan(int argc, char **argv);

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

#endif /* TALLYMAN_AGENT_H */
