/*
 * grpc.c: gRPC calls over HTTP/2 (prior knowledge) on a unix socket, with
 * libcurl driven by the agent's loop (common/curl-uv.c).
 *
 * A gRPC message on the wire is a 5-byte prefix (1 byte "compressed" flag,
 * 4 bytes big-endian length) and the protobuf bytes.  The call's outcome is
 * grpc-status (and grpc-message) in the trailers, or in the headers of a
 * trailers-only response.  We never ask for compression, so a compressed
 * message is a protocol error.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <protobuf-c/protobuf-c.h>

#include "agent/agent.h"

#define GRPC_HDR	5

struct grpc_call {
	struct curluv		*cu;
	CURL			*easy;
	struct curl_slist	*headers;
	uint8_t			*req;		/* the framed request */
	struct grpc_framer	 framer;
	grpc_msg_cb		 on_msg;
	grpc_done_cb		 on_done;
	void			*arg;
	int			 status;	/* grpc-status, -1 until seen */
	char			 message[256];	/* grpc-message, decoded */
	char			 error[128];	/* our own reason */
	int			 cancelled;
	int			 finished;	/* inside on_done */
};

void
grpc_framer_init(struct grpc_framer *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

void
grpc_framer_free(struct grpc_framer *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

/*
 * Feed len bytes of a response body.  cb(msg, msglen, arg) runs for each
 * complete message, in order; msg is only valid during the call.  A message
 * above the framer's max, a compressed message or a cb returning -1 fails
 * the feed (-1); the framer is then unusable.
 */
int
grpc_framer_feed(struct grpc_framer *f, const void *data, size_t len,
    int (*cb)(const uint8_t *, size_t, void *), void *arg)
{
	const uint8_t *p = data;
	size_t need, take;
	uint32_t mlen;

	if (f->failed)
		return -1;
	while (len > 0) {
		/* Header first, then exactly the body it announces. */
		if (f->len < GRPC_HDR)
			need = GRPC_HDR;
		else
			need = GRPC_HDR + f->msglen;
		if (f->cap < need) {
			f->cap = need < 256 ? 256 : need;
			f->buf = xreallocarray(f->buf, 1, f->cap);
		}
		take = need - f->len;
		if (take > len)
			take = len;
		memcpy(f->buf + f->len, p, take);
		f->len += take;
		p += take;
		len -= take;
		if (f->len < need)
			break;
		if (need == GRPC_HDR) {
			if (f->buf[0] != 0) {
				f->failed = 1;	/* compressed (or garbage) */
				return -1;
			}
			mlen = (uint32_t)f->buf[1] << 24 | (uint32_t)f->buf[2] << 16 |
			    (uint32_t)f->buf[3] << 8 | (uint32_t)f->buf[4];
			if (mlen > f->max) {
				f->failed = 1;
				return -1;
			}
			f->msglen = mlen;
			if (mlen != 0)
				continue;
		}
		f->len = 0;
		f->nmsgs++;
		if (cb(f->buf + GRPC_HDR, f->msglen, arg) == -1) {
			f->failed = 1;
			return -1;
		}
		f->msglen = 0;
	}
	return 0;
}

/* Is the framer between messages (nothing half-read)? */
int
grpc_framer_idle(const struct grpc_framer *f)
{
	return f->len == 0;
}

/*
 * Frame msg (may be NULL: an empty message) into a new buffer with the
 * 5-byte prefix.  Returns the buffer (caller frees) and its length in *outlen.
 */
uint8_t *
grpc_frame_encode(const ProtobufCMessage *msg, size_t *outlen)
{
	size_t n = msg != NULL ? protobuf_c_message_get_packed_size(msg) : 0;
	uint8_t *buf;

	buf = xmalloc(GRPC_HDR + n + 1);
	buf[0] = 0;
	buf[1] = (uint8_t)(n >> 24);
	buf[2] = (uint8_t)(n >> 16);
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	if (n > 0)
		protobuf_c_message_pack(msg, buf + GRPC_HDR);
	*outlen = GRPC_HDR + n;
	return buf;
}

static unsigned
grpc_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	return (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

/* grpc-message is percent-encoded; decode it into out (bounded, printable). */
void
grpc_message_decode(const char *in, size_t inlen, char *out, size_t outlen)
{
	size_t i, o = 0;
	unsigned v;
	char c;

	if (outlen == 0)
		return;
	for (i = 0; i < inlen && o + 1 < outlen; i++) {
		c = in[i];
		/* in is not NUL-terminated (a libcurl header): no sscanf */
		if (c == '%' && i + 2 < inlen &&
		    isxdigit((unsigned char)in[i + 1]) &&
		    isxdigit((unsigned char)in[i + 2])) {
			v = grpc_hexval(in[i + 1]) << 4 | grpc_hexval(in[i + 2]);
			c = (char)v;
			i += 2;
		}
		out[o++] = isprint((unsigned char)c) ? c : '?';
	}
	out[o] = '\0';
}

static size_t
grpc_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct grpc_call *c = arg;
	size_t len = size * n, vlen;
	const char *v;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len > 12 && strncasecmp(p, "grpc-status:", 12) == 0) {
		v = p + 12;
		vlen = len - 12;
		while (vlen > 0 && *v == ' ') {
			v++;
			vlen--;
		}
		/* p is not NUL-terminated (libcurl's header data): no atoi */
		if (vlen > 0 && vlen < 4 && isdigit((unsigned char)*v)) {
			c->status = 0;
			for (; vlen > 0 && isdigit((unsigned char)*v); v++, vlen--)
				c->status = c->status * 10 + (*v - '0');
		} else
			c->status = 2;	/* UNKNOWN: unparseable */
	} else if (len > 13 && strncasecmp(p, "grpc-message:", 13) == 0) {
		v = p + 13;
		vlen = len - 13;
		while (vlen > 0 && *v == ' ') {
			v++;
			vlen--;
		}
		grpc_message_decode(v, vlen, c->message, sizeof(c->message));
	}
	return size * n;
}

static int
grpc_deliver(const uint8_t *msg, size_t len, void *arg)
{
	struct grpc_call *c = arg;

	int rc;

	if (c->cancelled)
		return -1;
	rc = c->on_msg(c, msg, len, c->arg);
	return c->cancelled ? -1 : rc;
}

static size_t
grpc_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct grpc_call *c = arg;

	if (grpc_framer_feed(&c->framer, p, size * n, grpc_deliver, c) == -1) {
		if (c->error[0] == '\0')
			snprintf(c->error, sizeof(c->error), "%s",
			    c->cancelled ? "cancelled" : "bad message framing");
		return 0;	/* abort the transfer */
	}
	return size * n;
}

static void
grpc_call_free(struct grpc_call *c)
{
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	grpc_framer_free(&c->framer);
	free(c->req);
	free(c);
}

static void
grpc_done(CURL *easy, int result, void *arg)
{
	struct grpc_call *c = arg;
	long http = 0;
	int status = c->status;
	const char *why = c->message;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
	if (result != CURLE_OK) {
		status = -1;
		why = c->error[0] != '\0' ? c->error : curl_easy_strerror(result);
	} else if (http != 200) {
		status = -1;
		snprintf(c->error, sizeof(c->error), "HTTP status %ld", http);
		why = c->error;
	} else if (status == -1) {
		status = -1;
		why = "no grpc-status";
	} else if (!grpc_framer_idle(&c->framer)) {
		status = -1;
		why = "truncated message";
	}
	c->finished = 1;
	if (!c->cancelled)
		c->on_done(c, status, why, c->arg);
	grpc_call_free(c);
}

/*
 * Call method ("/containerd.services.tasks.v1.Tasks/List") on the gRPC
 * server at the unix socket sockpath, in containerd namespace ns (NULL: no
 * namespace header), with request req (NULL: empty).  Each response message
 * (at most max_msg bytes) goes to on_msg, which returns 0, or -1 to abort
 * the call.  on_done(call, status, message, arg) runs once at the end:
 * status is the grpc-status (0 = OK) or -1 for a transport or protocol
 * failure, message a short reason.  timeout_ms 0 means none (streams).
 * The call frees itself after on_done.  Returns the call, or NULL if it
 * could not be started (on_done is then not called).
 */
struct grpc_call *
grpc_call_start(struct curluv *cu, const char *sockpath, const char *method,
    const char *ns, const ProtobufCMessage *req, size_t max_msg,
    long timeout_ms, grpc_msg_cb on_msg, grpc_done_cb on_done, void *arg)
{
	struct grpc_call *c;
	char url[256], hdr[320];
	size_t reqlen;

	if (snprintf(url, sizeof(url), "http://localhost%s", method) >=
	    (int)sizeof(url))
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->cu = cu;
	c->on_msg = on_msg;
	c->on_done = on_done;
	c->arg = arg;
	c->status = -1;
	grpc_framer_init(&c->framer, max_msg);
	c->req = grpc_frame_encode(req, &reqlen);
	if ((c->easy = curl_easy_init()) == NULL)
		fatalx("grpc: curl_easy_init failed");
	c->headers = curl_slist_append(c->headers, "content-type: application/grpc");
	c->headers = curl_slist_append(c->headers, "te: trailers");
	c->headers = curl_slist_append(c->headers,
	    "user-agent: tallyman-agent/" PACKAGE_VERSION);
	if (ns != NULL) {
		snprintf(hdr, sizeof(hdr), "containerd-namespace: %s", ns);
		c->headers = curl_slist_append(c->headers, hdr);
	}
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_UNIX_SOCKET_PATH, sockpath);
	curl_easy_setopt(c->easy, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, (char *)c->req);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)reqlen);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, grpc_write_cb);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, grpc_header_cb);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	/*
	 * One connection per call: libcurl before 7.89 breaks a reused
	 * prior-knowledge HTTP/2 connection ("Error in the HTTP2 framing
	 * layer", curl issue 10634; Debian 12 ships 7.88).  A unix socket
	 * connection costs next to nothing.
	 */
	curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
	if (getenv("TM_CURL_VERBOSE") != NULL)
		curl_easy_setopt(c->easy, CURLOPT_VERBOSE, 1L);
	if (timeout_ms > 0)
		curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (curluv_add(cu, c->easy, grpc_done, c) == -1) {
		grpc_call_free(c);
		return NULL;
	}
	return c;
}

/*
 * Abandon a call: on_done and on_msg will not run again and the call is
 * freed.  Safe from inside on_msg (the transfer then stops as soon as
 * libcurl returns); a no-op from inside on_done (the call is over).
 */
void
grpc_call_cancel(struct grpc_call *c)
{
	if (c->finished || c->cancelled)
		return;
	c->cancelled = 1;
	curluv_cancel(c->cu, c->easy);	/* grpc_done frees it, silently */
}
