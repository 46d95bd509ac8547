/*
 * test-curl-uv.c: libcurl's multi interface on a libuv loop, against a small
 * HTTP/1.1 server running on the same loop (TCP on 127.0.0.1 and a unix
 * socket).  Every transfer is real: libcurl connects, sends, parses.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>

#include "common/common.h"

/* ---- a tiny server: GET /hello, /hang, /stream, /big ---- */

struct srv_conn {
	union {
		uv_tcp_t	tcp;
		uv_pipe_t	pipe;
		uv_stream_t	stream;
		uv_handle_t	handle;
	} h;
	char		 req[4096];
	size_t		 len;
	int		 answered;
	uv_timer_t	 tick;		/* /stream: one chunk per tick */
	int		 chunks;
	struct srv	*srv;
	struct srv_conn	*next;
};

struct srv {
	uv_loop_t	*loop;
	uv_tcp_t	 tcp;
	uv_pipe_t	 pipe;
	int		 port;
	char		 sockpath[128];
	char		 dir[64];
	struct srv_conn	*conns;
	int		 hits;
};

static void
srv_free_conn(uv_handle_t *h)
{
	struct srv_conn *c = h->data;

	if (--c->chunks <= -2)
		free(c);
}

static void
srv_close_conn(struct srv_conn *c)
{
	struct srv_conn **pp;

	for (pp = &c->srv->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	/* Two handles to close; the second close frees. */
	c->chunks = 0;
	uv_timer_stop(&c->tick);
	uv_close((uv_handle_t *)&c->tick, srv_free_conn);
	uv_close(&c->h.handle, srv_free_conn);
}

struct srv_write {
	uv_write_t	 w;
	char		*buf;
	int		 close_after;
};

static void
srv_written(uv_write_t *w, int status)
{
	struct srv_write *sw = (struct srv_write *)w;
	struct srv_conn *c = w->data;

	if (sw->close_after && !uv_is_closing(&c->h.handle))
		srv_close_conn(c);
	free(sw->buf);
	free(sw);
}

static void
srv_send(struct srv_conn *c, const char *text, int close_after)
{
	struct srv_write *sw;
	uv_buf_t b;

	sw = xcalloc(1, sizeof(*sw));
	sw->buf = xstrdup(text);
	sw->close_after = close_after;
	sw->w.data = c;
	b = uv_buf_init(sw->buf, (unsigned)strlen(sw->buf));
	uv_write(&sw->w, &c->h.stream, &b, 1, srv_written);
}

static void
srv_tick(uv_timer_t *t)
{
	struct srv_conn *c = t->data;
	char chunk[64];

	if (c->chunks < 5) {
		snprintf(chunk, sizeof(chunk), "6\r\nev%03d\n\r\n", c->chunks);
		c->chunks++;
		srv_send(c, chunk, 0);
		return;
	}
	uv_timer_stop(t);
	srv_send(c, "0\r\n\r\n", 1);
}

static void
srv_answer(struct srv_conn *c)
{
	char *resp, *body;
	size_t i;

	c->answered = 1;
	c->srv->hits++;
	if (strncmp(c->req, "GET /hello ", 11) == 0) {
		srv_send(c, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
		    "Connection: close\r\n\r\nhello world", 1);
	} else if (strncmp(c->req, "GET /big ", 9) == 0) {
		body = xmalloc(200001);
		for (i = 0; i < 200000; i++)
			body[i] = (char)('a' + i % 26);
		body[200000] = '\0';
		xasprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n"
		    "Connection: close\r\n\r\n%s", body);
		srv_send(c, resp, 1);
		free(resp);
		free(body);
	} else if (strncmp(c->req, "GET /stream ", 12) == 0) {
		srv_send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "Connection: close\r\n\r\n", 0);
		uv_timer_start(&c->tick, srv_tick, 20, 20);
	} else if (strncmp(c->req, "GET /hang ", 10) == 0) {
		/* never answer */
	} else {
		srv_send(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n", 1);
	}
}

static void
srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct srv_conn *c = h->data;

	b->base = c->req + c->len;
	b->len = sizeof(c->req) - 1 - c->len;
}

static void
srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct srv_conn *c = s->data;

	if (n < 0) {
		if (!uv_is_closing((uv_handle_t *)s))
			srv_close_conn(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (!c->answered && strstr(c->req, "\r\n\r\n") != NULL)
		srv_answer(c);
}

static void
srv_accept(uv_stream_t *server, int status)
{
	struct srv *srv = server->data;
	struct srv_conn *c;

	if (status != 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	if (server == (uv_stream_t *)&srv->tcp)
		uv_tcp_init(srv->loop, &c->h.tcp);
	else
		uv_pipe_init(srv->loop, &c->h.pipe, 0);
	uv_timer_init(srv->loop, &c->tick);
	c->h.handle.data = c;
	c->tick.data = c;
	c->next = srv->conns;
	srv->conns = c;
	uv_accept(server, &c->h.stream);
	uv_read_start(&c->h.stream, srv_alloc, srv_read);
}

static void
srv_start(struct srv *srv, uv_loop_t *loop)
{
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	uv_tcp_init(loop, &srv->tcp);
	srv->tcp.data = srv;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	assert_int_equal(uv_tcp_bind(&srv->tcp, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&srv->tcp, 64, srv_accept), 0);
	uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&ss, &len);
	srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

	strcpy(srv->dir, "/tmp/tm-curluv-XXXXXX");
	assert_non_null(mkdtemp(srv->dir));
	snprintf(srv->sockpath, sizeof(srv->sockpath), "%s/s.sock", srv->dir);
	uv_pipe_init(loop, &srv->pipe, 0);
	srv->pipe.data = srv;
	assert_int_equal(uv_pipe_bind(&srv->pipe, srv->sockpath), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&srv->pipe, 64, srv_accept), 0);
}

static void
srv_stop(struct srv *srv)
{
	while (srv->conns != NULL)
		srv_close_conn(srv->conns);
	uv_close((uv_handle_t *)&srv->tcp, NULL);
	uv_close((uv_handle_t *)&srv->pipe, NULL);
	unlink(srv->sockpath);
	rmdir(srv->dir);
}

/* ---- the client side ---- */

struct xfer {
	CURL		*easy;
	char		 body[300000];
	size_t		 len;
	int		 done;
	int		 result;
	long		 status;
	int		 writes;
	uint64_t	 first_write_ms, done_ms;
	struct fixture	*fx;
	struct xfer	*spawn;		/* started from our write callback */
};

struct fixture {
	uv_loop_t	 loop;
	struct srv	 srv;
	struct curluv	*cu;
	int		 ndone;
	int		 free_in_done;
};

static size_t
xfer_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->writes++ == 0)
		x->first_write_ms = uv_now(&x->fx->loop);
	if (x->len + len < sizeof(x->body)) {
		memcpy(x->body + x->len, p, len);
		x->len += len;
		x->body[x->len] = '\0';
	}
	return len;
}

static void
xfer_done(CURL *easy, int result, void *arg)
{
	struct xfer *x = arg;

	x->done++;
	x->result = result;
	x->done_ms = uv_now(&x->fx->loop);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
	x->fx->ndone++;
	if (x->fx->free_in_done) {
		curluv_free(x->fx->cu);
		x->fx->cu = NULL;
	}
}

static void
xfer_setup(struct fixture *fx, struct xfer *x, const char *path, int unix_sock)
{
	char url[256];

	memset(x, 0, sizeof(*x));
	x->fx = fx;
	x->easy = curl_easy_init();
	assert_non_null(x->easy);
	if (unix_sock) {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(x->easy, CURLOPT_UNIX_SOCKET_PATH, fx->srv.sockpath);
	} else {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fx->srv.port, path);
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
}

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	uv_loop_init(&fx->loop);
	srv_start(&fx->srv, &fx->loop);
	fx->cu = curluv_new(&fx->loop);
	*state = fx;
	return 0;
}

static void
walk_close(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->cu != NULL)
		curluv_free(fx->cu);
	srv_stop(&fx->srv);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	uv_walk(&fx->loop, walk_close, NULL);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	free(fx);
	return 0;
}

/* Run the loop until n transfers finished (the server keeps it alive). */
static void
run_until(struct fixture *fx, int n)
{
	while (fx->ndone < n && uv_run(&fx->loop, UV_RUN_ONCE) != 0)
		;
}

static void
test_curluv_fetches_body_over_tcp(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x));

	xfer_setup(fx, x, "/hello", 0);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 1);
	assert_int_equal(x->done, 1);
	assert_int_equal(x->result, CURLE_OK);
	assert_int_equal(x->status, 200);
	assert_string_equal(x->body, "hello world");
	curl_easy_cleanup(x->easy);
	free(x);
}

static void
test_curluv_fetches_body_over_unix_socket(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x));

	xfer_setup(fx, x, "/big", 1);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 1);
	assert_int_equal(x->result, CURLE_OK);
	assert_int_equal(x->status, 200);
	assert_int_equal(x->len, 200000);
	assert_int_equal(x->body[199999], 'a' + 199999 % 26);
	assert_true(x->writes > 1);	/* arrived in pieces, through uv_poll */
	curl_easy_cleanup(x->easy);
	free(x);
}

static void
test_curluv_runs_transfers_concurrently(void **state)
{
	struct fixture *fx = *state;
	struct xfer *xs = xcalloc(20, sizeof(*xs));
	int i;

	/* Ten hung requests would block a serial client forever. */
	for (i = 0; i < 20; i++) {
		xfer_setup(fx, &xs[i], i % 2 ? "/hang" : "/hello", i % 3 == 0);
		if (i % 2)
			curl_easy_setopt(xs[i].easy, CURLOPT_TIMEOUT_MS, 300L);
		assert_int_equal(curluv_add(fx->cu, xs[i].easy, xfer_done, &xs[i]), 0);
	}
	run_until(fx, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(xs[i].done, 1);
		if (i % 2) {
			assert_int_equal(xs[i].result, CURLE_OPERATION_TIMEDOUT);
		} else {
			assert_int_equal(xs[i].result, CURLE_OK);
			assert_string_equal(xs[i].body, "hello world");
			/* answered before the hung ones timed out */
			assert_true(xs[i].done_ms < xs[1].done_ms);
		}
		curl_easy_cleanup(xs[i].easy);
	}
	free(xs);
}

static void
test_curluv_timeout_fires_from_uv_timer(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x));
	uint64_t t0 = uv_now(&fx->loop);

	xfer_setup(fx, x, "/hang", 1);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, 150L);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 1);
	assert_int_equal(x->result, CURLE_OPERATION_TIMEDOUT);
	/* not before libcurl's deadline: the timer, not a spin, woke us */
	assert_true(x->done_ms >= t0 + 140);
	curl_easy_cleanup(x->easy);
	free(x);
}

static void
test_curluv_streams_chunks_as_they_arrive(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x));

	xfer_setup(fx, x, "/stream", 1);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 1);
	assert_int_equal(x->result, CURLE_OK);
	assert_string_equal(x->body, "ev000\nev001\nev002\nev003\nev004\n");
	assert_true(x->writes >= 5);
	/* the first chunk was delivered well before the stream ended */
	assert_true(x->first_write_ms + 60 <= x->done_ms);
	curl_easy_cleanup(x->easy);
	free(x);
}

static size_t
spawn_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	/* Adding from inside libcurl must be deferred, not refused. */
	if (x->spawn != NULL && x->spawn->easy == NULL) {
		xfer_setup(x->fx, x->spawn, "/hello", 0);
		assert_int_equal(curluv_add(x->fx->cu, x->spawn->easy,
		    xfer_done, x->spawn), 0);
	}
	return xfer_write(p, size, n, arg);
}

static void
test_curluv_add_from_write_callback(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x));
	struct xfer *y = xcalloc(1, sizeof(*y));

	xfer_setup(fx, x, "/stream", 1);
	x->spawn = y;
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, spawn_write);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 2);
	assert_int_equal(x->result, CURLE_OK);
	assert_non_null(y->easy);
	assert_int_equal(y->result, CURLE_OK);
	assert_string_equal(y->body, "hello world");
	/* the spawned one finished while the stream was still open */
	assert_true(y->done_ms <= x->done_ms);
	curl_easy_cleanup(x->easy);
	curl_easy_cleanup(y->easy);
	free(x);
	free(y);
}

static void
remove_later(uv_timer_t *t)
{
	struct xfer *x = t->data;

	curluv_remove(x->fx->cu, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	x->fx->ndone++;		/* let run_until return */
	uv_close((uv_handle_t *)t, NULL);
}

static void
test_curluv_remove_aborts_without_done(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x));
	uv_timer_t t;

	xfer_setup(fx, x, "/hang", 0);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	uv_timer_init(&fx->loop, &t);
	t.data = x;
	uv_timer_start(&t, remove_later, 50, 0);
	run_until(fx, 1);
	assert_null(x->easy);
	assert_int_equal(x->done, 0);
	/* the multi handle is idle again: a new transfer still works */
	fx->ndone = 0;
	xfer_setup(fx, x, "/hello", 0);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 1);
	assert_int_equal(x->result, CURLE_OK);
	curl_easy_cleanup(x->easy);
	free(x);
}

static size_t
cancel_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;

	/* Cancel ourselves from inside libcurl, on the first chunk. */
	if (x->writes == 0)
		curluv_cancel(x->fx->cu, x->easy);
	return xfer_write(p, size, n, arg);
}

static void
test_curluv_cancel_reports_aborted_later(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x)), *h = xmalloc(sizeof(*h));

	xfer_setup(fx, x, "/stream", 1);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, cancel_write);
	xfer_setup(fx, h, "/hang", 0);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	assert_int_equal(curluv_add(fx->cu, h->easy, xfer_done, h), 0);
	/* From outside libcurl, too: done is not called from inside cancel. */
	curluv_cancel(fx->cu, h->easy);
	assert_int_equal(h->done, 0);
	run_until(fx, 2);
	assert_int_equal(h->done, 1);
	assert_int_equal(h->result, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(x->done, 1);
	assert_int_equal(x->result, CURLE_ABORTED_BY_CALLBACK);
	/* stopped after the first chunk: the rest never arrived */
	assert_string_equal(x->body, "ev000\n");
	curl_easy_cleanup(x->easy);
	curl_easy_cleanup(h->easy);
	free(x);
	free(h);
}

static void
test_curluv_free_from_done_callback(void **state)
{
	struct fixture *fx = *state;
	struct xfer *x = xmalloc(sizeof(*x)), *h = xmalloc(sizeof(*h));

	xfer_setup(fx, x, "/hello", 0);
	xfer_setup(fx, h, "/hang", 1);
	fx->free_in_done = 1;
	assert_int_equal(curluv_add(fx->cu, h->easy, xfer_done, h), 0);
	assert_int_equal(curluv_add(fx->cu, x->easy, xfer_done, x), 0);
	run_until(fx, 1);
	assert_null(fx->cu);
	assert_int_equal(x->done, 1);
	assert_int_equal(h->done, 0);	/* aborted, not reported */
	/* teardown checks that every uv handle got closed */
	curl_easy_cleanup(x->easy);
	curl_easy_cleanup(h->easy);
	free(x);
	free(h);
}

/* A transfer cancelled just before curluv_free still gets its done: its
 * owner may count on it to free what it allocated (agent/grpc.c). */
static void
test_curluv_free_reports_cancelled_transfers(void **state)
{
	struct fixture *fx = *state;
	struct xfer *h = xmalloc(sizeof(*h)), *k = xmalloc(sizeof(*k));

	xfer_setup(fx, h, "/hang", 0);
	xfer_setup(fx, k, "/hang", 1);
	assert_int_equal(curluv_add(fx->cu, h->easy, xfer_done, h), 0);
	assert_int_equal(curluv_add(fx->cu, k->easy, xfer_done, k), 0);
	curluv_cancel(fx->cu, h->easy);
	assert_int_equal(h->done, 0);
	curluv_free(fx->cu);
	fx->cu = NULL;
	assert_int_equal(h->done, 1);
	assert_int_equal(h->result, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(k->done, 0);	/* not cancelled: aborted silently */
	curl_easy_cleanup(h->easy);
	curl_easy_cleanup(k->easy);
	free(h);
	free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_curluv_fetches_body_over_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_fetches_body_over_unix_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_runs_transfers_concurrently, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_timeout_fires_from_uv_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_streams_chunks_as_they_arrive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_add_from_write_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_remove_aborts_without_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_cancel_reports_aborted_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_free_from_done_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_curluv_free_reports_cancelled_transfers, setup, teardown),
	};

	log_init("test-curl-uv", LOG_LEVEL_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
