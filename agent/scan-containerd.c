/*
 * scan-containerd.c: the overlay layers of a containerd image, for
 * `scan --image REF --runtime containerd`.
 *
 * Images.Get gives the image's target (an index or a manifest); the index
 * picks this machine's platform; the manifest names the config, whose
 * rootfs.diff_ids give the chain id of the top layer (chain(0) = diff(0),
 * chain(i) = sha256(chain(i-1) + " " + diff(i))), which is the name of the
 * committed snapshot containerd unpacked.  A View snapshot on it gives the
 * mounts (overlay lowerdirs, or a bind mount for a one-layer image); the
 * view is removed at once (the layers are its parents and stay).  Every
 * call runs on a private libuv loop through grpc.c.
 */
#include "config.h"

#include <sys/utsname.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/agent.h"
#include "agent/proto/containerd.pb-c.h"

#define SCTRD_BLOB_MAX		(4u * 1024 * 1024)
#define SCTRD_TIMEOUT_MS	30000L
#define SCTRD_SNAPSHOTTER	"overlayfs"

struct sctrd {
	uv_loop_t	 loop;
	struct curluv	*cu;
	const char	*sock;
	const char	*ns;
};

struct sctrd_call {
	int		 done;
	int		 status;
	char		 why[256];
	uint8_t		*buf;		/* content bytes, or the one message */
	size_t		 len;
	int		 stream;	/* Read: append each message's data */
};

static int
sctrd_on_msg(struct grpc_call *gc, const uint8_t *msg, size_t len, void *arg)
{
	struct sctrd_call		*k = arg;
	Tallyman__Ctrd__ReadContentResponse *r;

	if (!k->stream) {
		if (k->buf != NULL)
			return -1;	/* one message expected */
		k->buf = xmalloc(len + 1);
		memcpy(k->buf, msg, len);
		k->len = len;
		return 0;
	}
	r = tallyman__ctrd__read_content_response__unpack(NULL, len, msg);
	if (r == NULL)
		return -1;
	if (k->len + r->data.len > SCTRD_BLOB_MAX) {
		tallyman__ctrd__read_content_response__free_unpacked(r, NULL);
		return -1;
	}
	k->buf = xreallocarray(k->buf, k->len + r->data.len + 1, 1);
	memcpy(k->buf + k->len, r->data.data, r->data.len);
	k->len += r->data.len;
	k->buf[k->len] = '\0';
	tallyman__ctrd__read_content_response__free_unpacked(r, NULL);
	return 0;
}

static void
sctrd_on_done(struct grpc_call *gc, int status, const char *why, void *arg)
{
	struct sctrd_call *k = arg;

	k->done = 1;
	k->status = status;
	snprintf(k->why, sizeof(k->why), "%s", why != NULL ? why : "");
}

/* One call, waited for.  Returns 0 (k->buf/len filled) or -1 (logged). */
static int
sctrd_call(struct sctrd *x, const char *method, const ProtobufCMessage *req,
    size_t max, struct sctrd_call *k)
{
	if (grpc_call_start(x->cu, x->sock, method, x->ns, req, max,
	    SCTRD_TIMEOUT_MS, sctrd_on_msg, sctrd_on_done, k) == NULL) {
		log_warnx("scan: containerd %s: %s: call not started", x->sock,
		    method);
		return -1;
	}
	while (!k->done)
		uv_run(&x->loop, UV_RUN_ONCE);
	if (k->status != 0) {
		log_warnx("scan: containerd: %s: status %d: %s", method,
		    k->status, k->why);
		return -1;
	}
	return 0;
}

/* Read a content blob as JSON.  Returns the JSON (caller decrefs) or NULL. */
static json_t *
sctrd_read_json(struct sctrd *x, const char *digest)
{
	Tallyman__Ctrd__ReadContentRequest req = TALLYMAN__CTRD__READ_CONTENT_REQUEST__INIT;
	struct sctrd_call	 k;
	json_error_t		 jerr;
	json_t			*o;

	memset(&k, 0, sizeof(k));
	k.stream = 1;
	req.digest = (char *)digest;
	if (sctrd_call(x, "/containerd.services.content.v1.Content/Read",
	    &req.base, SCTRD_BLOB_MAX, &k) == -1) {
		free(k.buf);
		return NULL;
	}
	o = k.buf != NULL ? json_loadb((char *)k.buf, k.len, 0, &jerr) : NULL;
	if (o == NULL)
		log_warnx("scan: containerd: %s is not JSON", digest);
	free(k.buf);
	return o;
}

/* This machine's platform in OCI's words. */
static const char *
sctrd_arch(void)
{
	static const struct { const char *m, *oci; } map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" },
		{ "i686", "386" }, { "s390x", "s390x" }, { "ppc64le", "ppc64le" },
		{ "riscv64", "riscv64" },
	};
	static struct utsname u;
	size_t i;

	if (uname(&u) == -1)
		return "amd64";
	for (i = 0; i < TM_NELEM(map); i++)
		if (strcmp(u.machine, map[i].m) == 0)
			return map[i].oci;
	return u.machine;
}

static int
sctrd_digest_ok(const char *d)
{
	size_t	i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (i = 7; i < 71; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return 1;
}

/* The manifest digest for this platform out of an index (or NULL). */
static const char *
sctrd_pick(json_t *index)
{
	json_t		*ms = json_object_get(index, "manifests"), *m, *p;
	const char	*arch = sctrd_arch(), *first = NULL, *d;
	size_t		 i;

	json_array_foreach(ms, i, m) {
		d = json_string_value(json_object_get(m, "digest"));
		if (!sctrd_digest_ok(d))
			continue;
		p = json_object_get(m, "platform");
		if (first == NULL)
			first = d;
		if (p != NULL && json_is_string(json_object_get(p, "os")) &&
		    strcmp(json_string_value(json_object_get(p, "os")), "linux") == 0 &&
		    json_is_string(json_object_get(p, "architecture")) &&
		    strcmp(json_string_value(json_object_get(p, "architecture")),
		    arch) == 0)
			return d;
	}
	return first;
}

/* chain id of diff_ids into out (72 bytes).  Returns 0 or -1. */
static int
sctrd_chain(json_t *diffs, char out[72])
{
	struct sha256_ctx	 c;
	uint8_t			 dg[32];
	char			 hex[65], buf[160];
	json_t			*d;
	size_t			 i;

	if (!json_is_array(diffs) || json_array_size(diffs) == 0 ||
	    json_array_size(diffs) > ROOTFS_LAYERS_MAX)
		return -1;
	json_array_foreach(diffs, i, d) {
		if (!sctrd_digest_ok(json_string_value(d)))
			return -1;
		if (i == 0) {
			snprintf(out, 72, "%s", json_string_value(d));
			continue;
		}
		snprintf(buf, sizeof(buf), "%s %s", out, json_string_value(d));
		sha256_init(&c);
		sha256_update(&c, buf, strlen(buf));
		sha256_final(&c, dg);
		sha256_hex(dg, hex);
		snprintf(out, 72, "sha256:%s", hex);
	}
	return 0;
}

/* View the committed snapshot chain; fill *l from the mounts; remove it. */
static int
sctrd_view(struct sctrd *x, const char *chain, struct inventory_layers *l)
{
	Tallyman__Ctrd__ViewSnapshotRequest	 vr = TALLYMAN__CTRD__VIEW_SNAPSHOT_REQUEST__INIT;
	Tallyman__Ctrd__RemoveSnapshotRequest	 rr = TALLYMAN__CTRD__REMOVE_SNAPSHOT_REQUEST__INIT;
	Tallyman__Ctrd__ViewSnapshotResponse	*resp = NULL;
	struct sctrd_call			 k, kr;
	char					 key[96];
	int					 r = -1;

	snprintf(key, sizeof(key), "tallyman-scan-%d-%llu", (int)getpid(),
	    (unsigned long long)now_ns());
	memset(&k, 0, sizeof(k));
	vr.snapshotter = (char *)SCTRD_SNAPSHOTTER;
	vr.key = key;
	vr.parent = (char *)chain;
	if (sctrd_call(x, "/containerd.services.snapshots.v1.Snapshots/View",
	    &vr.base, 1024 * 1024, &k) == -1)
		goto out;
	resp = tallyman__ctrd__view_snapshot_response__unpack(NULL, k.len, k.buf);
	if (resp == NULL || resp->n_mounts != 1 || resp->mounts[0]->type == NULL) {
		log_warnx("scan: containerd: unexpected mounts for %s", chain);
	} else if (strcmp(resp->mounts[0]->type, "overlay") == 0) {
		r = inventory_layers_overlay(
		    (const char *const *)resp->mounts[0]->options,
		    resp->mounts[0]->n_options, l);
		/* A view has no upperdir of its own. */
		if (r == 0 && l->upper != NULL) {
			free(l->upper);
			l->upper = NULL;
		}
	} else if (strcmp(resp->mounts[0]->type, "bind") == 0 &&
	    resp->mounts[0]->source != NULL && resp->mounts[0]->source[0] == '/') {
		memset(l, 0, sizeof(*l));
		l->lowers = xcalloc(1, sizeof(char *));
		l->lowers[l->n_lowers++] = xstrdup(resp->mounts[0]->source);
		r = 0;
	} else
		log_warnx("scan: containerd: mount type %s not supported",
		    resp->mounts[0]->type);
	memset(&kr, 0, sizeof(kr));
	rr.snapshotter = (char *)SCTRD_SNAPSHOTTER;
	rr.key = key;
	if (sctrd_call(x, "/containerd.services.snapshots.v1.Snapshots/Remove",
	    &rr.base, 4096, &kr) == -1)
		log_warnx("scan: containerd: view %s not removed", key);
	free(kr.buf);
out:
	if (resp != NULL)
		tallyman__ctrd__view_snapshot_response__free_unpacked(resp, NULL);
	free(k.buf);
	return r;
}

/*
 * Layers of image ref in containerd namespace ns (socket sock), upper
 * first.  *layers (each and the array: caller frees), *n, *id (the image
 * target's digest).  Returns 0 or -1 (logged).
 */
int
scan_containerd_layers(const char *sock, const char *ns, const char *ref,
    char ***layers, size_t *n, char **id)
{
	Tallyman__Ctrd__GetImageRequest	 gr = TALLYMAN__CTRD__GET_IMAGE_REQUEST__INIT;
	Tallyman__Ctrd__GetImageResponse *gi = NULL;
	struct sctrd			 x;
	struct sctrd_call		 k;
	struct inventory_layers		 l;
	json_t				*top = NULL, *man = NULL, *cfg = NULL;
	const char			*d;
	char				 chain[72];
	size_t				 i;
	int				 r = -1;

	*layers = NULL;
	*n = 0;
	*id = NULL;
	memset(&x, 0, sizeof(x));
	memset(&l, 0, sizeof(l));
	uv_loop_init(&x.loop);
	x.cu = curluv_new(&x.loop);
	x.sock = sock;
	x.ns = ns;
	memset(&k, 0, sizeof(k));
	gr.name = (char *)ref;
	if (sctrd_call(&x, "/containerd.services.images.v1.Images/Get", &gr.base,
	    1024 * 1024, &k) == -1)
		goto out;
	gi = tallyman__ctrd__get_image_response__unpack(NULL, k.len, k.buf);
	if (gi == NULL || gi->image == NULL || gi->image->target == NULL ||
	    !sctrd_digest_ok(gi->image->target->digest)) {
		log_warnx("scan: containerd: image %s: no target", ref);
		goto out;
	}
	*id = xstrdup(gi->image->target->digest);
	if ((top = sctrd_read_json(&x, gi->image->target->digest)) == NULL)
		goto out;
	if (json_is_array(json_object_get(top, "manifests"))) {
		if ((d = sctrd_pick(top)) == NULL ||
		    (man = sctrd_read_json(&x, d)) == NULL) {
			log_warnx("scan: containerd: image %s: no manifest for "
			    "linux/%s", ref, sctrd_arch());
			goto out;
		}
	} else
		man = json_incref(top);
	d = json_string_value(json_object_get(json_object_get(man, "config"),
	    "digest"));
	if (!sctrd_digest_ok(d) || (cfg = sctrd_read_json(&x, d)) == NULL ||
	    sctrd_chain(json_object_get(json_object_get(cfg, "rootfs"),
	    "diff_ids"), chain) == -1) {
		log_warnx("scan: containerd: image %s: no usable config", ref);
		goto out;
	}
	if (sctrd_view(&x, chain, &l) == -1)
		goto out;
	*layers = xcalloc(l.n_lowers + 1, sizeof(char *));
	for (i = 0; i < l.n_lowers; i++)
		(*layers)[i] = xstrdup(l.lowers[i]);
	*n = l.n_lowers;
	r = 0;
out:
	inventory_layers_free(&l);
	json_decref(top);
	json_decref(man);
	json_decref(cfg);
	if (gi != NULL)
		tallyman__ctrd__get_image_response__free_unpacked(gi, NULL);
	free(k.buf);
	curluv_free(x.cu);
	uv_run(&x.loop, UV_RUN_DEFAULT);	/* let the handles close */
	uv_loop_close(&x.loop);
	if (r == -1) {
		free(*id);
		*id = NULL;
	}
	return r;
}
