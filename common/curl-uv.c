/*
 * curl-uv.c: libcurl's multi interface driven by a libuv loop.
 *
 * libcurl tells us which sockets it wants watched (CURLMOPT_SOCKETFUNCTION)
 * and when it next needs a kick (CURLMOPT_TIMERFUNCTION); we map those onto
 * uv_poll_t and one uv_timer_t, and hand readiness back with
 * curl_multi_socket_action().  Nothing here blocks and nothing polls.
 *
 * libcurl forbids re-entering the multi handle from its own callbacks (a
 * write callback may well want to start another transfer, or stop its own),
 * so adds and removes asked for while we are inside libcurl are queued and
 * applied as soon as libcurl returns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "common/common.h"

struct curluv_xfer {
	struct curluv		*cu;
	CURL			*easy;
	curluv_done_cb		 done;
	void			*arg;
	int			 added;		/* in the multi handle */
	int			 removed;	/* curluv_remove()d while busy */
	int			 cancel;	/* curluv_cancel()led: report it */
	struct curluv_xfer	*prev, *next;
};

struct curluv_sock {
	uv_poll_t		 poll;
	curl_socket_t		 fd;
	struct curluv		*cu;
	struct curluv_sock	*prev, *next;
};

struct curluv {
	uv_loop_t		*loop;
	CURLM			*multi;
	uv_timer_t		 timer;
	struct curluv_xfer	*xfers;		/* every live transfer */
	struct curluv_sock	*socks;		/* every polled socket */
	int			 in_curl;	/* inside curl_multi_socket_action */
	int			 busy;		/* inside curluv_action at all */
	int			 pending;	/* queued adds or removes */
	int			 freeing;	/* curluv_free() called while busy */
};

static void	curluv_action(struct curluv *, curl_socket_t, int);

static void
curluv_xfer_unlink(struct curluv *cu, struct curluv_xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		cu->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void
curluv_sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
curluv_sock_close(struct curluv *cu, struct curluv_sock *cs)
{
	if (cs->prev != NULL)
		cs->prev->next = cs->next;
	else
		cu->socks = cs->next;
	if (cs->next != NULL)
		cs->next->prev = cs->prev;
	uv_poll_stop(&cs->poll);
	uv_close((uv_handle_t *)&cs->poll, curluv_sock_closed);
}

static void
curluv_poll_cb(uv_poll_t *p, int status, int events)
{
	struct curluv_sock *cs = p->data;
	int flags = 0;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curluv_action(cs->cu, cs->fd, flags);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching one socket. */
static int
curluv_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct curluv *cu = userp;
	struct curluv_sock *cs = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			curl_multi_assign(cu->multi, fd, NULL);
			curluv_sock_close(cu, cs);
		}
		return 0;
	}
	if (cs == NULL) {
		cs = xcalloc(1, sizeof(*cs));
		cs->fd = fd;
		cs->cu = cu;
		if (uv_poll_init_socket(cu->loop, &cs->poll, fd) != 0) {
			log_warnx("curl-uv: cannot poll socket %d", (int)fd);
			free(cs);
			return -1;
		}
		cs->poll.data = cs;
		cs->next = cu->socks;
		if (cu->socks != NULL)
			cu->socks->prev = cs;
		cu->socks = cs;
		curl_multi_assign(cu->multi, fd, cs);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&cs->poll, events, curluv_poll_cb);
	return 0;
}

static void
curluv_timer_fire(uv_timer_t *t)
{
	curluv_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants a kick in timeout_ms (-1: never). */
static int
curluv_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curluv *cu = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&cu->timer);
	else
		uv_timer_start(&cu->timer, curluv_timer_fire, (uint64_t)timeout_ms, 0);
	return 0;
}

static void
curluv_timer_closed(uv_handle_t *h)
{
	free(h->data);		/* the struct curluv */
}

static void
curluv_really_free(struct curluv *cu)
{
	struct curluv_xfer *x;

	while ((x = cu->xfers) != NULL) {
		curluv_xfer_unlink(cu, x);
		if (x->added)
			curl_multi_remove_handle(cu->multi, x->easy);
		curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
		/* curluv_cancel promised done: its owner may have let go of the
		 * transfer and count on done to free it (grpc.c). */
		if (x->cancel && !x->removed)
			x->done(x->easy, CURLE_ABORTED_BY_CALLBACK, x->arg);
		free(x);
	}
	curl_multi_cleanup(cu->multi);
	/* Sockets libcurl did not tell us about before it went away. */
	while (cu->socks != NULL)
		curluv_sock_close(cu, cu->socks);
	uv_close((uv_handle_t *)&cu->timer, curluv_timer_closed);
}

/* Apply the adds and removes queued while we were inside libcurl. */
static void
curluv_flush(struct curluv *cu)
{
	struct curluv_xfer *x, *next;
	CURLMcode rc;

	if (!cu->pending)
		return;
	cu->pending = 0;
	for (x = cu->xfers; x != NULL; x = next) {
		next = x->next;
		if (x->removed || x->cancel) {
			if (x->added)
				curl_multi_remove_handle(cu->multi, x->easy);
			curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
			curluv_xfer_unlink(cu, x);
			if (!x->removed)
				x->done(x->easy, CURLE_ABORTED_BY_CALLBACK, x->arg);
			free(x);
		} else if (!x->added) {
			rc = curl_multi_add_handle(cu->multi, x->easy);
			if (rc != CURLM_OK) {
				/* Report it like any failed transfer. */
				log_warnx("curl-uv: add: %s", curl_multi_strerror(rc));
				curluv_xfer_unlink(cu, x);
				curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
				x->done(x->easy, CURLE_FAILED_INIT, x->arg);
				free(x);
				continue;
			}
			x->added = 1;
		}
	}
}

/* Call done for every finished transfer. */
static void
curluv_reap(struct curluv *cu)
{
	struct curluv_xfer *x;
	CURLMsg *msg;
	CURL *easy;
	CURLcode result;
	char *priv;
	int left;

	while (!cu->freeing &&
	    (msg = curl_multi_info_read(cu->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		result = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct curluv_xfer *)(void *)priv;
		curl_multi_remove_handle(cu->multi, easy);
		if (x == NULL)
			continue;
		curluv_xfer_unlink(cu, x);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (!x->removed)
			x->done(easy, (int)result, x->arg);
		free(x);
		curluv_flush(cu);
	}
}

static void
curluv_action(struct curluv *cu, curl_socket_t fd, int flags)
{
	int running;

	cu->busy++;
	cu->in_curl++;
	curl_multi_socket_action(cu->multi, fd, flags, &running);
	cu->in_curl--;
	curluv_flush(cu);
	curluv_reap(cu);
	curluv_flush(cu);
	cu->busy--;
	if (cu->busy == 0 && cu->freeing)
		curluv_really_free(cu);
}

/*
 * Make a driver for loop.  Returns a new handle (free with curluv_free);
 * allocation failure is fatal.
 */
struct curluv *
curluv_new(uv_loop_t *loop)
{
	struct curluv *cu;

	cu = xcalloc(1, sizeof(*cu));
	cu->loop = loop;
	if ((cu->multi = curl_multi_init()) == NULL)
		fatalx("curl-uv: curl_multi_init failed");
	uv_timer_init(loop, &cu->timer);
	cu->timer.data = cu;
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, curluv_socket_cb);
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, curluv_timer_cb);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu);
	return cu;
}

/*
 * Start driving easy.  curl-uv uses the easy handle's CURLOPT_PRIVATE; the
 * caller keeps ownership of easy and gets it back in done(easy, CURLcode,
 * arg), called exactly once unless curluv_remove() comes first.  Safe to call
 * from any libcurl callback.  Returns 0, or -1 if easy could not be added
 * (done is then not called).
 */
int
curluv_add(struct curluv *cu, CURL *easy, curluv_done_cb done, void *arg)
{
	struct curluv_xfer *x;
	CURLMcode rc;

	if (cu->freeing)
		return -1;
	x = xcalloc(1, sizeof(*x));
	x->cu = cu;
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
	x->next = cu->xfers;
	if (cu->xfers != NULL)
		cu->xfers->prev = x;
	cu->xfers = x;
	if (cu->in_curl) {
		cu->pending = 1;
		/* Make sure the loop comes back to us even if nothing else does. */
		uv_timer_start(&cu->timer, curluv_timer_fire, 0, 0);
		return 0;
	}
	rc = curl_multi_add_handle(cu->multi, easy);
	if (rc != CURLM_OK) {
		log_warnx("curl-uv: add: %s", curl_multi_strerror(rc));
		curluv_xfer_unlink(cu, x);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	x->added = 1;
	return 0;
}

/*
 * Stop a transfer early; done is not called and the caller still owns easy
 * (free it with curl_easy_cleanup once this returns).  Safe from done
 * callbacks.  From inside a libcurl callback of the same multi (write,
 * header...) the handle leaves the multi only when libcurl returns, so there
 * the caller must not free easy; better, return an error from the callback
 * and clean up in done.
 */
void
curluv_remove(struct curluv *cu, CURL *easy)
{
	struct curluv_xfer *x;
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if ((x = (struct curluv_xfer *)(void *)priv) == NULL || x->cu != cu)
		return;
	if (cu->in_curl) {
		x->removed = 1;
		cu->pending = 1;
		return;
	}
	if (x->added)
		curl_multi_remove_handle(cu->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	curluv_xfer_unlink(cu, x);
	free(x);
}

/*
 * Abort a transfer early.  Its done callback still runs, with
 * CURLE_ABORTED_BY_CALLBACK, on a later turn of the loop (never from inside
 * this call), so the owner frees everything in one place.  Safe anywhere,
 * including libcurl callbacks.
 */
void
curluv_cancel(struct curluv *cu, CURL *easy)
{
	struct curluv_xfer *x;
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if ((x = (struct curluv_xfer *)(void *)priv) == NULL || x->cu != cu ||
	    x->removed)
		return;
	x->cancel = 1;
	cu->pending = 1;
	uv_timer_start(&cu->timer, curluv_timer_fire, 0, 0);
}

/*
 * Abort every transfer (their done callbacks are not called; their owners
 * still free their easy handles), except those curluv_cancel already
 * stopped, whose done(easy, CURLE_ABORTED_BY_CALLBACK) runs now as
 * curluv_cancel promised; and release the uv handles; the memory goes
 * once libuv has closed them.  Safe to call from a done callback.
 */
void
curluv_free(struct curluv *cu)
{
	if (cu == NULL || cu->freeing)
		return;
	cu->freeing = 1;
	if (cu->busy == 0)
		curluv_really_free(cu);
}
