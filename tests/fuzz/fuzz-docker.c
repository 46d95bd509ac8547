/*
 * fuzz-docker.c: the Docker watcher (agent/watch-docker.c) and the inspect
 * parser (agent/inspect-docker.c) against a hostile dockerd: every answer,
 * header and event line is the fuzzer's.
 *
 * watch-docker.c is compiled into this target so that its static handlers
 * run exactly as in the agent; its GETs (watch.c) and its event stream
 * (curl-uv.c) are replaced by the scripted daemon below, the registry and
 * watcher table by tests/fuzz/watch-stubs.h (which checks what reaches
 * them).  The input is a script of fuzz_next chunks, [op][arg][payload...]:
 *   0  GET arg answered 200 with the payload as body
 *   1  GET arg answered with status 404, 500 or -1 (payload[0])
 *   2  event stream bytes                (the write callback: line
 *                                         splitting, then each event)
 *   3  one event line                    (the harness adds the newline)
 *   4  an event stream header line       (HTTP status, end of headers)
 *   5  the event stream ends             (payload[0]: cleanly or not)
 *   6  watch.c reconnects (start again) if the watcher reported a loss
 * "GET arg" is the arg-th request still open.  At the end every request
 * still open is answered (404: the container went away), the watcher is
 * stopped and its stream reaped as curl-uv would, and the stubs check that
 * it released everything and answered every metadata wait.
 */
#include "config.h"

#include "agent/watch-docker.c"
#include "tests/fuzz/watch-stubs.h"

#define FUZZ_REQS_MAX	512
#define FUZZ_XFERS_MAX	64

struct fuzz_req {
	struct watch	*w;
	char		*path;
	size_t		 max;
	watch_http_cb	 cb;
	void		*arg;
};
struct fuzz_xfer {
	CURL		*easy;
	curluv_done_cb	 done;
	void		*arg;
	bool		 cancelled, finished;
};

static struct {
	struct agent	 a;
	struct watch	 w;
	struct fuzz_req	 reqs[FUZZ_REQS_MAX];
	size_t		 nreqs;
	struct fuzz_xfer xfers[FUZZ_XFERS_MAX];
	size_t		 nxfers;
} fx;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

/* watch.c's GET: queued until the script answers it. */
int
watch_http_get(struct watch *w, const char *path, size_t max,
    watch_http_cb cb, void *arg)
{
	struct fuzz_req	*q;

	if (fx.nreqs == FUZZ_REQS_MAX)
		return -1;
	if (path == NULL || path[0] != '/')
		fuzz_fail("GET of a relative path");
	q = &fx.reqs[fx.nreqs++];
	q->w = w;
	q->path = xstrdup(path);
	q->max = max;
	q->cb = cb;
	q->arg = arg;
	watch_hold(w);
	return 0;
}

/* curl-uv, for the event stream: never performed, driven by the script. */
int
curluv_add(struct curluv *cu, CURL *easy, curluv_done_cb done, void *arg)
{
	struct fuzz_xfer *x;

	if (fx.nxfers == FUZZ_XFERS_MAX)
		return -1;
	x = &fx.xfers[fx.nxfers++];
	memset(x, 0, sizeof(*x));
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	return 0;
}

void
curluv_cancel(struct curluv *cu, CURL *easy)
{
	size_t	i;

	for (i = 0; i < fx.nxfers; i++)
		if (fx.xfers[i].easy == easy && !fx.xfers[i].finished)
			fx.xfers[i].cancelled = true;
}

/* What curl-uv does on the next loop turn: report cancelled transfers. */
static void
reap_cancelled(void)
{
	size_t	i;

	for (i = 0; i < fx.nxfers; i++)
		if (fx.xfers[i].cancelled && !fx.xfers[i].finished) {
			fx.xfers[i].finished = true;
			fx.xfers[i].done(fx.xfers[i].easy,
			    CURLE_ABORTED_BY_CALLBACK, fx.xfers[i].arg);
		}
}

static void
answer(size_t i, long status, const uint8_t *body, size_t len)
{
	struct fuzz_req	 q = fx.reqs[i];
	char		*buf;

	memmove(&fx.reqs[i], &fx.reqs[i + 1],
	    (fx.nreqs - i - 1) * sizeof(fx.reqs[0]));
	fx.nreqs--;
	if (len > q.max) {		/* watch.c refuses it */
		status = -1;
		len = 0;
	}
	buf = xmalloc(len + 1);		/* watch.c's body: NUL-terminated */
	memcpy(buf, body, len);
	buf[len] = '\0';
	q.cb(q.w, status, buf, len, q.arg);
	free(buf);
	free(q.path);
	watch_release(q.w);
}

/* The stream the watcher reads now, or NULL. */
static struct fuzz_xfer *
stream(void)
{
	struct docker	*d = fx.w.priv;
	size_t		 i;

	if (d == NULL || d->events == NULL)
		return NULL;
	for (i = 0; i < fx.nxfers; i++)
		if (fx.xfers[i].easy == d->events && !fx.xfers[i].finished &&
		    !fx.xfers[i].cancelled)
			return &fx.xfers[i];
	return NULL;
}

static void
write_stream(struct fuzz_xfer *x, const uint8_t *p, size_t len, int newline)
{
	char	*copy = xmalloc(len + 1);

	memcpy(copy, p, len);
	if (newline)
		copy[len++] = '\n';
	if (docker_events_write(copy, 1, len, x->arg) != len) {
		/* libcurl ends the transfer with a write error */
		x->finished = true;
		x->done(x->easy, CURLE_WRITE_ERROR, x->arg);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 404, 500, -1, 304, 200 };
	struct fuzz_cursor	 cur = { data, size };
	struct fuzz_xfer	*x;
	const uint8_t		*chunk, *p;
	size_t			 len, n, rounds;
	unsigned		 op, arg;
	char			*hdr;

	memset(&fx.a, 0, sizeof(fx.a));
	memset(&fx.w, 0, sizeof(fx.w));
	fx.w.a = &fx.a;
	fx.w.ops = &watcher_docker;
	fx.w.socket = "/nonexistent/docker.sock";
	fx.w.mode = WATCH_STREAM;
	fx.w.generation = 1;
	if (docker_start(&fx.w) == -1)
		fuzz_fail("start failed with a daemon that always answers");
	while (fuzz_next(&cur, &chunk, &len)) {
		if (len < 2)
			continue;
		op = chunk[0] % 7;
		arg = chunk[1];
		p = chunk + 2;
		n = len - 2;
		switch (op) {
		case 0:
			if (fx.nreqs > 0)
				answer(arg % fx.nreqs, 200, p, n);
			break;
		case 1:
			if (fx.nreqs > 0)
				answer(arg % fx.nreqs, statuses[(n > 0 ? p[0] : 0) %
				    TM_NELEM(statuses)], n > 0 ? p + 1 : p,
				    n > 0 ? n - 1 : 0);
			break;
		case 2:
		case 3:
			if ((x = stream()) != NULL)
				write_stream(x, p, n, op == 3);
			break;
		case 4:
			if ((x = stream()) != NULL) {
				hdr = fuzz_dup(p, n);
				docker_events_header(hdr, 1, n, x->arg);
				free(hdr);
			}
			break;
		case 5:
			if ((x = stream()) != NULL) {
				x->finished = true;
				x->done(x->easy, n > 0 && p[0] % 2 ? CURLE_RECV_ERROR :
				    CURLE_OK, x->arg);
			}
			break;
		case 6:
			if (!fx.w.up && reg.lost > 0 && fx.w.priv != NULL) {
				fx.w.generation++;
				docker_start(&fx.w);
			}
			break;
		}
		reap_cancelled();
	}
	/* Containers go away: every open request ends (bounded: an answer
	 * may ask again). */
	for (rounds = 0; fx.nreqs > 0 && rounds < 4 * FUZZ_REQS_MAX; rounds++)
		answer(0, 404, (const uint8_t *)"", 0);
	if (fx.nreqs > 0)
		fuzz_fail("the watcher keeps asking: %zu requests open", fx.nreqs);
	docker_stop(&fx.w);
	reap_cancelled();
	fuzz_registry_check_end(&fx.w);
	fx.nxfers = 0;
	return 0;
}
