/*
 * schema-fixtures.c: sample records, one builder per kind, written from the
 * wire keys in schema.h's comments (not from fields.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/unit/schema-fixtures.h"

/* Values for keys whose strings are constrained (closed sets, SHA-256). */
static const struct {
	const char *key, *val;
} special[] = {
	{ "act", "start" },
	{ "state", "running" },
	{ "why", "start" },
	{ "chg", "modified" },
	{ "when", "exec" },
	{ "rt", "containerd" },
	{ "sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
};

const char *
fx_str_const(const char *key, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < TM_NELEM(special); i++) {
		if (strcmp(special[i].key, key) == 0)
			return special[i].val;
	}
	snprintf(buf, len, "%s-v", key);
	return buf;
}

char *
fx_str(const char *key)
{
	char	 buf[128];

	return xstrdup(fx_str_const(key, buf, sizeof(buf)));
}

uint64_t
fx_u64(const char *key)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return (h % 1000000000000ull) + 1;
}

int64_t
fx_i64(const char *key)
{
	return -(int64_t)(fx_u64(key) % 100000) - 1;
}

/* A list of two strings: "key-0", "key-1". */
static char **
fx_list(const char *key, size_t *n)
{
	char	**l = xcalloc(2, sizeof(*l));

	xasprintf(&l[0], "%s-0", key);
	xasprintf(&l[1], "%s-1", key);
	*n = 2;
	return l;
}

#define STR(m, k)	(m) = fx_str(k)
#define U64(m, k)	(m) = fx_u64(k)
#define I64(m, k)	(m) = fx_i64(k)
#define LIST(p, m, k)	(p)->m = fx_list(k, &(p)->n_##m)

static void
fx_host(struct tm_host *h, int full)
{
	STR(h->hostname, "hn");
	STR(h->agent_version, "agent");
	if (!full)
		return;
	STR(h->os_id, "os");
	STR(h->os_version, "osv");
	STR(h->os_pretty, "osp");
	STR(h->kernel, "kern");
	STR(h->arch, "arch");
	STR(h->docker_version, "docker");
	STR(h->containerd_version, "ctrd");
	U64(h->boot_ns, "boot");
	U64(h->ncpu, "ncpu");
	U64(h->mem_bytes, "mem");
}

static void
fx_heartbeat(struct tm_heartbeat *h, int full)
{
	U64(h->interval_ns, "ival");
	U64(h->uptime_ns, "up");
	if (!full)
		return;
	U64(h->events, "ev");
	U64(h->snapshots, "snap");
	U64(h->containers, "ctrs");
	U64(h->image_scans, "iscan");
	U64(h->image_cache_hits, "ihit");
	U64(h->records, "rec");
	U64(h->spooled, "spool");
	U64(h->acked, "ack");
	U64(h->dropped, "drop");
	U64(h->parse_errors, "perr");
	U64(h->spool_bytes, "sbytes");
	U64(h->spool_records, "srec");
	U64(h->rss_bytes, "rss");
	U64(h->cpu_user_ns, "cpuu");
	U64(h->cpu_sys_ns, "cpus");
	U64(h->kafka_queue, "kq");
	U64(h->kafka_rtt_us, "krtt");
	U64(h->kafka_errors, "kerr");
}

static void
fx_event(struct tm_event *e, int full)
{
	STR(e->runtime, "rt");
	STR(e->id, "id");
	STR(e->action, "act");
	U64(e->time_ns, "ts");
	if (!full)
		return;
	STR(e->ns, "ns");
	STR(e->name, "name");
	STR(e->image, "img");
	e->has_exit_code = true;
	I64(e->exit_code, "exit");
	U64(e->pid, "pid");
	STR(e->exec_id, "exec");
}

static void
fx_mount(struct tm_mount *m, int full)
{
	STR(m->dest, "dst");
	if (!full)
		return;
	STR(m->source, "src");
	STR(m->type, "type");
	m->ro = true;
	STR(m->propagation, "prop");
	m->sensitive = true;
}

static void
fx_risks(struct tm_risks *r)
{
	r->privileged = true;
	LIST(r, cap_add, "capadd");
	LIST(r, cap_drop, "capdrop");
	LIST(r, caps, "caps");
	r->host_net = r->host_pid = r->host_ipc = r->host_uts = true;
	r->host_userns = true;
	r->mounts = xcalloc(2, sizeof(*r->mounts));
	r->n_mounts = 2;
	fx_mount(&r->mounts[0], 1);
	fx_mount(&r->mounts[1], 0);
	r->ro_rootfs = true;
	STR(r->seccomp, "seccomp");
	STR(r->apparmor, "apparmor");
	STR(r->selinux, "selinux");
	r->no_new_privs = true;
	I64(r->mem_limit, "memlim");
	I64(r->nano_cpus, "cpulim");
	I64(r->pids_limit, "pidlim");
	LIST(r, devices, "dev");
	STR(r->restart, "restart");
	r->healthcheck = r->root_user = r->docker_socket = true;
}

static void
fx_process(struct tm_process *p, int full)
{
	U64(p->pid, "pid");
	if (!full)
		return;
	U64(p->ppid, "ppid");
	U64(p->uid, "uid");
	U64(p->gid, "gid");
	U64(p->host_uid, "huid");
	U64(p->host_gid, "hgid");
	STR(p->comm, "comm");
	STR(p->exe, "exe");
	LIST(p, args, "args");
	U64(p->start_ns, "start");
	STR(p->sha256, "sha256");
}

static void
fx_container(struct tm_container *c, int full)
{
	STR(c->runtime, "rt");
	STR(c->id, "id");
	STR(c->state, "state");
	if (!full)
		return;
	STR(c->ns, "ns");
	STR(c->name, "name");
	STR(c->image_ref, "img");
	STR(c->image_id, "iid");
	STR(c->image_digest, "idig");
	STR(c->image_key, "ikey");
	LIST(c, cmd, "cmd");
	STR(c->user, "user");
	STR(c->trigger, "why");
	U64(c->created_ns, "created");
	U64(c->started_ns, "started");
	U64(c->finished_ns, "finished");
	U64(c->lifetime_ns, "life");
	c->has_exit_code = true;
	I64(c->exit_code, "exit");
	c->oom = true;
	U64(c->pid, "pid");
	c->labels = xcalloc(2, sizeof(*c->labels));
	c->n_labels = 2;
	c->labels[0].k = xstrdup("labels-k0");
	c->labels[0].v = xstrdup("labels-v0");
	c->labels[1].k = xstrdup("labels-k1");
	c->labels[1].v = xstrdup("labels-v1");
	STR(c->pod_name, "pod");
	STR(c->pod_ns, "podns");
	STR(c->k8s_container, "kctr");
	fx_risks(&c->risks);
	c->procs = xcalloc(2, sizeof(*c->procs));
	c->n_procs = 2;
	fx_process(&c->procs[0], 1);
	fx_process(&c->procs[1], 0);
	c->procs_missed = true;
	U64(c->procs_dropped, "pdrop");
}

static void
fx_package(struct tm_package *p, int full)
{
	STR(p->ecosystem, "eco");
	STR(p->name, "name");
	STR(p->version, "ver");
	if (!full)
		return;
	p->has_epoch = true;
	I64(p->epoch, "epoch");
	STR(p->arch, "arch");
	STR(p->source_name, "sname");
	STR(p->source_version, "sver");
	STR(p->vendor, "vendor");
	STR(p->modularity, "module");
}

static void
fx_image(struct tm_image *im, int full)
{
	STR(im->key, "key");
	if (!full)
		return;
	STR(im->image_id, "iid");
	LIST(im, refs, "refs");
	STR(im->os_id, "os");
	STR(im->os_version, "osv");
	STR(im->os_codename, "oscode");
	STR(im->os_pretty, "osp");
	im->packages = xcalloc(2, sizeof(*im->packages));
	im->n_packages = 2;
	fx_package(&im->packages[0], 1);
	fx_package(&im->packages[1], 0);
	U64(im->scan_ns, "scan");
	U64(im->errors, "errs");
	LIST(im, notes, "notes");
}

static void
fx_drift_file(struct tm_drift_file *f, int full)
{
	STR(f->path, "path");
	STR(f->change, "chg");
	if (!full)
		return;
	U64(f->size, "size");
	U64(f->mode, "mode");
	STR(f->sha256, "sha256");
}

static void
fx_drift(struct tm_drift *d, int full)
{
	STR(d->runtime, "rt");
	STR(d->id, "id");
	STR(d->when, "when");
	if (!full)
		return;
	STR(d->ns, "ns");
	STR(d->image_key, "ikey");
	U64(d->time_ns, "ts");
	d->files = xcalloc(2, sizeof(*d->files));
	d->n_files = 2;
	fx_drift_file(&d->files[0], 1);
	fx_drift_file(&d->files[1], 0);
}

void
fx_record(struct tm_record *rec, enum tm_kind kind, int full)
{
	memset(rec, 0, sizeof(*rec));
	rec->version = TM_SCHEMA_MAJOR;
	STR(rec->host_id, "h");
	U64(rec->seq, "s");
	U64(rec->sent_ns, "t");
	if (full)
		U64(rec->epoch, "e");
	rec->kind = kind;
	switch (kind) {
	case TM_KIND_HOST:	fx_host(&rec->body.host, full); break;
	case TM_KIND_HEARTBEAT:	fx_heartbeat(&rec->body.heartbeat, full); break;
	case TM_KIND_EVENT:	fx_event(&rec->body.event, full); break;
	case TM_KIND_CONTAINER:	fx_container(&rec->body.container, full); break;
	case TM_KIND_IMAGE:	fx_image(&rec->body.image, full); break;
	case TM_KIND_DRIFT:	fx_drift(&rec->body.drift, full); break;
	default:		break;
	}
}

void
fx_big_image(struct tm_record *rec, size_t npkgs, uint64_t seq)
{
	struct tm_image	*im;
	size_t		 i;

	fx_record(rec, TM_KIND_IMAGE, 0);
	rec->seq = seq;
	im = &rec->body.image;
	im->packages = xcalloc(npkgs, sizeof(*im->packages));
	im->n_packages = npkgs;
	for (i = 0; i < npkgs; i++) {
		struct tm_package *p = &im->packages[i];

		p->ecosystem = xstrdup("dpkg");
		xasprintf(&p->name, "package-number-%zu", i);
		xasprintf(&p->version, "1.%zu.%zu-1+deb12u%zu", i % 97, i % 13, i % 7);
		p->arch = xstrdup("amd64");
		xasprintf(&p->source_name, "source-%zu", i / 3);
	}
}
