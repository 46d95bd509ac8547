/*
 * fuzz-containerd.c: the containerd watcher (agent/watch-containerd.c) and
 * its gRPC framing (agent/grpc.c) against a hostile containerd: every
 * answer, event and trailer is the fuzzer's.
 *
 * Both files are compiled into this target so that their static handlers
 * run exactly as in the agent; grpc.c's transport (libcurl) is replaced by
 * the scripted server below, the registry and watcher table by
 * tests/fuzz/watch-stubs.h (which checks what reaches them).  The input is
 * a script of fuzz_next chunks, [op][arg][payload...]:
 *   0  body bytes for call arg     (grpc.c's write callback: framing, then
 *                                   the watcher's message handler)
 *   1  one message for call arg    (the harness adds the 5-byte prefix)
 *   2  a trailer line for call arg (grpc-status, grpc-message)
 *   3  call arg ends               (grpc_done's verdict, then on_done)
 *   4  the sync event comes back   (our nonce, on the Subscribe stream)
 *   5  an event on the Subscribe stream: topic #arg, namespace #payload[0],
 *      event bytes the rest
 *   6  the sync timer fires
 *   7  watch.c reconnects (start again) if the watcher reported a loss
 * "call arg" is the arg-th call still open.  At the end the watcher is
 * stopped, and the stubs check that it released everything and answered
 * every metadata wait.
 */
#include "config.h"

/* grpc.c, with its libcurl transport renamed away. */
#define grpc_call_start		fuzz_curl_grpc_call_start
#define grpc_call_cancel	fuzz_curl_grpc_call_cancel
#include "agent/grpc.c"
#undef grpc_call_start
#undef grpc_call_cancel
struct grpc_call *grpc_call_start(struct curluv *, const char *, const char *,
	    const char *, const struct ProtobufCMessage *, size_t, long,
	    grpc_msg_cb, grpc_done_cb, void *);
void	grpc_call_cancel(struct grpc_call *);

#include "agent/watch-containerd.c"
#include "tests/fuzz/watch-stubs.h"

#define FUZZ_CALLS_MAX	256

static struct {
	uv_loop_t		 loop;
	struct agent		 a;
	struct watch		 w;
	struct grpc_call	*calls[FUZZ_CALLS_MAX];
	char			 method[FUZZ_CALLS_MAX][96];
	size_t			 ncalls;
} fx;

static const char *const topics[] = {
	"/containers/create", "/containers/update", "/containers/delete",
	"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete",
	"/tasks/oom", "/tasks/exec-started", "/tasks/paused", "/tasks/resumed",
	"/tallyman/sync", "/snapshot/prepare",
};
static const char *const namespaces[] = {
	"default", "moby", "k8s.io", "tallyman", "",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	uv_loop_init(&fx.loop);
	return 0;
}

/* The scripted server: a call is registered, never sent anywhere. */
struct grpc_call *
grpc_call_start(struct curluv *cu, const char *sockpath, const char *method,
    const char *ns, const ProtobufCMessage *req, size_t max_msg,
    long timeout_ms, grpc_msg_cb on_msg, grpc_done_cb on_done, void *arg)
{
	struct grpc_call	*c;
	size_t			 reqlen;

	if (fx.ncalls == FUZZ_CALLS_MAX)
		return NULL;		/* "could not be started" */
	c = xcalloc(1, sizeof(*c));
	c->on_msg = on_msg;
	c->on_done = on_done;
	c->arg = arg;
	c->status = -1;
	grpc_framer_init(&c->framer, max_msg);
	c->req = grpc_frame_encode(req, &reqlen);
	snprintf(fx.method[fx.ncalls], sizeof(fx.method[0]), "%s", method);
	fx.calls[fx.ncalls++] = c;
	return c;
}

void
grpc_call_cancel(struct grpc_call *c)
{
	if (c->finished || c->cancelled)
		return;
	c->cancelled = 1;
}

/* The arg-th call still open, or NULL. */
static struct grpc_call *
open_call(unsigned arg, const char *method)
{
	size_t	i, n = 0;

	for (i = 0; i < fx.ncalls; i++)
		if (!fx.calls[i]->finished && !fx.calls[i]->cancelled &&
		    (method == NULL || strcmp(fx.method[i], method) == 0))
			n++;
	if (n == 0)
		return NULL;
	arg %= n;
	for (i = 0; i < fx.ncalls; i++)
		if (!fx.calls[i]->finished && !fx.calls[i]->cancelled &&
		    (method == NULL || strcmp(fx.method[i], method) == 0) &&
		    arg-- == 0)
			return fx.calls[i];
	return NULL;
}

/* grpc_done's verdict, without libcurl: result is the transfer's. */
static void
end_call(struct grpc_call *c, int transfer_ok)
{
	int		 status = c->status;
	const char	*why = c->message;

	if (!transfer_ok) {
		status = -1;
		why = c->error[0] != '\0' ? c->error : "transfer failed";
	} else if (status == -1)
		why = "no grpc-status";
	else if (!grpc_framer_idle(&c->framer)) {
		status = -1;
		why = "truncated message";
	}
	c->finished = 1;
	if (!c->cancelled)
		c->on_done(c, status, why, c->arg);
}

/* Body bytes, as libcurl would hand them to grpc.c. */
static void
body(struct grpc_call *c, const uint8_t *p, size_t len)
{
	char	*copy = fuzz_dup(p, len);

	if (grpc_write_cb(copy, 1, len, c) != len)
		end_call(c, 0);		/* libcurl aborts the transfer */
	free(copy);
}

static void
message(struct grpc_call *c, const uint8_t *p, size_t len)
{
	uint8_t	*m = xmalloc(len + 5);

	m[0] = 0;
	m[1] = (uint8_t)(len >> 24);
	m[2] = (uint8_t)(len >> 16);
	m[3] = (uint8_t)(len >> 8);
	m[4] = (uint8_t)len;
	memcpy(m + 5, p, len);
	body(c, m, len + 5);
	free(m);
}

static void
envelope(struct grpc_call *c, const char *topic, const char *ns,
    const uint8_t *ev, size_t evlen)
{
	Tallyman__Ctrd__Envelope e = TALLYMAN__CTRD__ENVELOPE__INIT;
	Tallyman__Ctrd__Any any = TALLYMAN__CTRD__ANY__INIT;
	Tallyman__Ctrd__Timestamp ts = TALLYMAN__CTRD__TIMESTAMP__INIT;
	uint8_t *buf;
	size_t n;

	ts.seconds = 1700000000;
	ts.nanos = 5;
	any.type_url = (char *)(uintptr_t)"containerd.events.Fuzz";
	any.value.data = (uint8_t *)(uintptr_t)ev;
	any.value.len = evlen;
	e.timestamp = &ts;
	e.namespace_ = (char *)(uintptr_t)ns;
	e.topic = (char *)(uintptr_t)topic;
	e.event = &any;
	n = tallyman__ctrd__envelope__get_packed_size(&e);
	buf = xmalloc(n + 1);
	tallyman__ctrd__envelope__pack(&e, buf);
	message(c, buf, n);
	free(buf);
}

static void
header(struct grpc_call *c, const uint8_t *p, size_t len)
{
	char	*copy = fuzz_dup(p, len);

	grpc_header_cb(copy, 1, len, c);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cursor	 cur = { data, size };
	struct ctrd		*d;
	struct grpc_call	*c;
	const uint8_t		*chunk, *p;
	size_t			 len, n, i;
	unsigned		 op, arg;

	memset(&fx.a, 0, sizeof(fx.a));
	memset(&fx.w, 0, sizeof(fx.w));
	fx.a.loop = &fx.loop;
	fx.w.a = &fx.a;
	fx.w.ops = &watcher_containerd;
	fx.w.socket = "/nonexistent/containerd.sock";
	fx.w.mode = WATCH_STREAM;
	fx.w.generation = 1;
	if (ctrd_start(&fx.w) == -1)
		fuzz_fail("start failed with a server that always answers");
	while (fuzz_next(&cur, &chunk, &len)) {
		if (len < 2)
			continue;
		op = chunk[0] % 8;
		arg = chunk[1];
		p = chunk + 2;
		n = len - 2;
		d = fx.w.priv;
		switch (op) {
		case 0:
			if ((c = open_call(arg, NULL)) != NULL)
				body(c, p, n);
			break;
		case 1:
			if ((c = open_call(arg, NULL)) != NULL)
				message(c, p, n);
			break;
		case 2:
			if ((c = open_call(arg, NULL)) != NULL)
				header(c, p, n);
			break;
		case 3:
			if ((c = open_call(arg, NULL)) != NULL)
				end_call(c, 1);
			break;
		case 4:
			if (d != NULL && (c = open_call(0, SVC_SUBSCRIBE)) != NULL)
				envelope(c, CTRD_SYNC_TOPIC, CTRD_SYNC_NS,
				    (const uint8_t *)d->nonce, strlen(d->nonce));
			break;
		case 5:
			if ((c = open_call(0, SVC_SUBSCRIBE)) != NULL)
				envelope(c, topics[arg % TM_NELEM(topics)],
				    namespaces[(n > 0 ? p[0] : 0) %
				    TM_NELEM(namespaces)], n > 0 ? p + 1 : p,
				    n > 0 ? n - 1 : 0);
			break;
		case 6:
			if (d != NULL && d->timer_open)
				ctrd_sync_fire(&d->sync_timer);
			break;
		case 7:
			if (!fx.w.up && reg.lost > 0 && fx.w.priv != NULL) {
				fx.w.generation++;
				ctrd_start(&fx.w);
			}
			break;
		}
	}
	ctrd_stop(&fx.w);
	/* cancelled calls end silently (grpc_done frees them) */
	uv_run(&fx.loop, UV_RUN_NOWAIT);	/* the sync timer closes */
	fuzz_registry_check_end(&fx.w);
	for (i = 0; i < fx.ncalls; i++)
		grpc_call_free(fx.calls[i]);
	fx.ncalls = 0;
	return 0;
}
