/*
 * watch.c: the runtime watchers, as a table (STYLE.md rule 4), and what
 * they share: waiting for a socket that is not there yet, reconnecting with
 * backoff, and bounded HTTP GETs on a unix socket.
 *
 * A runtime whose socket is absent is skipped with one log line, and picked
 * up when the socket appears, without polling: inotify (uv_fs_event_t)
 * watches the socket's folder, or, while that folder does not exist yet,
 * its nearest existing parent, and moves down the path as the folders
 * appear.  Only when inotify itself fails (no watches left) does a slow
 * timer look again.  A lost connection is retried after 100 ms, doubling
 * up to 5 s, while the daemon still listens; the socket being created again
 * (a daemon restart) triggers an attempt at once, and a socket that nobody
 * listens on (its daemon died) is only waited for that way.  Nothing polls,
 * and nothing is watched, while connected.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent/agent.h"

#define WATCH_BACKOFF_MIN_MS	100u
#define WATCH_BACKOFF_MAX_MS	5000u
#define WATCH_ABSENT_MAX_MS	60000u	/* look again when inotify failed */

/* The table: adding a runtime is one file and one line here. */
static const struct watcher *const watch_table[] = {
	&watcher_docker,
	&watcher_containerd,
};

struct watchers {
	struct agent	*a;
	enum watch_mode	 mode;
	struct watch	 w[TM_NELEM(watch_table)];
	struct watch_req *reqs;		/* HTTP requests in flight */
	unsigned	 open_handles;
	void		(*done)(struct agent *);
	bool		 stopping;
};

struct watch_req {
	struct watch	*w;
	CURL		*easy;
	char		*buf;
	size_t		 len, max;
	bool		 overflow;
	bool		 cancelled;
	watch_http_cb	 cb;
	void		*arg;
	struct watch_req *prev, *next;
};

static void	watch_try(struct watch *);

/*
 * The first outcome of a watcher (connected, absent, failed).  Once every
 * watcher has one, the first host record goes out: with the runtime
 * versions in it, rather than one record without and one with.
 */
static void
watch_settled(struct watch *w)
{
	struct watchers *ws = w->a->watchers;
	size_t i;

	if (w->settled || ws == NULL)
		return;
	w->settled = true;
	for (i = 0; i < TM_NELEM(watch_table); i++)
		if (!ws->w[i].settled)
			return;
	if (ws->mode == WATCH_STREAM)
		host_emit(w->a, false);
}

static const char *
watch_socket(struct agent *a, const struct watcher *ops)
{
	if (ops == &watcher_docker)
		return a->cfg.docker_socket;
	return a->cfg.containerd_socket;
}

static void
watch_retry_fire(uv_timer_t *t)
{
	watch_try(t->data);
}

static void
watch_schedule(struct watch *w, uint64_t ms)
{
	if (w->stopping)
		return;
	uv_timer_start(&w->retry, watch_retry_fire, ms, 0);
}

/*
 * The folder to watch for path to appear in: path's own folder, or when
 * that does not exist (yet), its nearest existing parent.  Fills dir and
 * *st (the folder's).
 */
static void
watch_dir_target(const char *path, char *dir, size_t len, struct stat *st)
{
	char *slash;

	snprintf(dir, len, "%s", path);
	for (;;) {
		if ((slash = strrchr(dir, '/')) == NULL) {
			snprintf(dir, len, ".");
			break;
		}
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if ((stat(dir, st) == 0 && S_ISDIR(st->st_mode)) ||
		    strcmp(dir, "/") == 0)
			return;
	}
	if (stat(dir, st) == -1)
		memset(st, 0, sizeof(*st));
}

/*
 * Does an event on name in the watched folder matter: the next component
 * of the socket's path below that folder, or the folder itself (removed or
 * renamed: inotify names the watched folder then)?
 */
static bool
watch_dir_relevant(const struct watch *w, const char *name)
{
	const char *rest, *slash, *base;
	size_t dl = strlen(w->watchdir);

	base = strrchr(w->watchdir, '/');
	base = base != NULL ? base + 1 : w->watchdir;
	if (strcmp(name, base) == 0)
		return true;
	if (strcmp(w->watchdir, ".") == 0)
		rest = w->socket;
	else if (strncmp(w->socket, w->watchdir, dl) == 0)
		rest = w->socket + dl;
	else
		return true;
	while (*rest == '/')
		rest++;
	slash = strchr(rest, '/');
	return strlen(name) == (slash != NULL ? (size_t)(slash - rest) :
	    strlen(rest)) && strncmp(name, rest, strlen(name)) == 0;
}

/* Something appeared or went on the way to our socket: look again now. */
static void
watch_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct watch *w = h->data;

	if (w->stopping || w->up || w->connecting)
		return;
	if (status == 0 && filename != NULL && !watch_dir_relevant(w, filename))
		return;
	w->backoff_ms = WATCH_BACKOFF_MIN_MS;
	watch_schedule(w, 0);
}

static void
watch_dir_stop(struct watch *w)
{
	if (!w->dirwatching)
		return;
	uv_fs_event_stop(&w->dirwatch);
	w->dirwatching = false;
}

/*
 * Watch the folder the socket will appear in (or its nearest existing
 * parent).  Again after each event: the watch moves down as folders are
 * made, and up when one is removed.  A folder made between our look and
 * the watch is caught by looking again once the watch is in place.
 */
static void
watch_dir_start(struct watch *w)
{
	struct stat st;
	char dir[PATH_MAX];
	unsigned i;
	int rc;

	for (i = 0; i < 64; i++) {
		watch_dir_target(w->socket, dir, sizeof(dir), &st);
		if (w->dirwatching && strcmp(dir, w->watchdir) == 0 &&
		    st.st_dev == w->watchdev && st.st_ino == w->watchino)
			return;
		watch_dir_stop(w);
		if ((rc = uv_fs_event_start(&w->dirwatch, watch_dir_event, dir,
		    0)) != 0) {
			log_warnx("watch-%s: cannot watch %s for %s: %s; looking "
			    "again every %u s", w->ops->name, dir, w->socket,
			    uv_strerror(rc), WATCH_ABSENT_MAX_MS / 1000);
			return;
		}
		w->dirwatching = true;
		snprintf(w->watchdir, sizeof(w->watchdir), "%s", dir);
		w->watchdev = st.st_dev;
		w->watchino = st.st_ino;
		log_debug("watch-%s: watching %s for %s", w->ops->name, dir,
		    w->socket);
	}
}

static bool
watch_socket_present(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * Is path a socket nobody listens on (left by a daemon that died)?  A unix
 * socket's connect() answers at once: ECONNREFUSED.  A daemon that starts
 * again removes it and binds a new one, which inotify reports.
 */
static bool
watch_socket_stale(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return false;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	close(fd);
	return rc == -1 && err == ECONNREFUSED;
}

static void
watch_try(struct watch *w)
{
	if (w->stopping || w->up || w->connecting || w->done)
		return;
	if (w->mode != WATCH_ONCE)
		watch_dir_start(w);
	if (!watch_socket_present(w->socket)) {
		if (!w->absent_logged) {
			log_info("watch-%s: %s absent: %s skipped until it appears",
			    w->ops->name, w->socket, w->ops->name);
			w->absent_logged = true;
		}
		watch_settled(w);
		if (w->mode == WATCH_ONCE) {
			w->done = true;
			return;
		}
		/* inotify tells us when it appears (watch_dir_event) */
		if (!w->dirwatching)
			watch_schedule(w, WATCH_ABSENT_MAX_MS);
		return;
	}
	w->absent_logged = false;
	w->connecting = true;
	w->generation++;
	if (w->ops->start(w) == -1) {
		w->connecting = false;
		watch_lost(w, "cannot start");
	}
}

/* The watcher is connected and subscribed. */
void
watch_up(struct watch *w)
{
	w->connecting = false;
	w->up = true;
	w->stale_logged = false;
	watch_dir_stop(w);
	log_info("watch-%s: connected to %s%s%s", w->ops->name, w->socket,
	    w->version[0] != '\0' ? ", version " : "", w->version);
	if (w->version[0] != '\0')
		host_runtime_version(w->a, w->ops->name, w->version);
	watch_settled(w);
}

/* The first listing on this connection is complete. */
void
watch_listed(struct watch *w)
{
	w->listed = true;
	w->backoff_ms = WATCH_BACKOFF_MIN_MS;
	if (w->mode == WATCH_ONCE)
		w->done = true;
}

/*
 * The connection is gone (the watcher has already dropped its own state):
 * try again after the backoff.  In snapshot mode the runtime is skipped.
 */
void
watch_lost(struct watch *w, const char *why)
{
	bool was_up = w->up;

	w->up = false;
	w->connecting = false;
	if (w->stopping)
		return;
	watch_settled(w);
	if (w->mode == WATCH_ONCE) {
		log_warnx("watch-%s: %s: %s skipped", w->ops->name, why,
		    w->ops->name);
		w->done = true;
		return;
	}
	if (w->backoff_ms == 0)
		w->backoff_ms = WATCH_BACKOFF_MIN_MS;
	/* Nobody listens: wait (inotify, in place first) for the daemon to
	 * make its socket again rather than knock every few seconds. */
	watch_dir_start(w);
	if (w->dirwatching && watch_socket_stale(w->socket)) {
		if (!w->stale_logged)
			log_warnx("watch-%s: %s; nothing listens on %s: waiting "
			    "for %s to create it again", w->ops->name, why,
			    w->socket, w->ops->name);
		w->stale_logged = true;
		w->backoff_ms = WATCH_BACKOFF_MIN_MS;
		return;
	}
	if (was_up || w->backoff_ms == WATCH_BACKOFF_MIN_MS)
		log_warnx("watch-%s: %s; reconnecting", w->ops->name, why);
	else
		log_debug("watch-%s: %s; retry in %llu ms", w->ops->name, why,
		    (unsigned long long)w->backoff_ms);
	watch_schedule(w, w->backoff_ms);
	w->backoff_ms *= 2;
	if (w->backoff_ms > WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = WATCH_BACKOFF_MAX_MS;
}

/*
 * Start every watcher of the table for a (a->containers must be open).
 * Returns 0 or -1.
 */
int
watchers_start(struct agent *a, enum watch_mode mode)
{
	struct watchers *ws;
	struct watch *w;
	size_t i;

	ws = xcalloc(1, sizeof(*ws));
	ws->a = a;
	ws->mode = mode;
	a->watchers = ws;
	containers_set_once(a, mode == WATCH_ONCE);
	for (i = 0; i < TM_NELEM(watch_table); i++) {
		w = &ws->w[i];
		w->a = a;
		w->ops = watch_table[i];
		w->mode = mode;
		w->socket = watch_socket(a, w->ops);
		w->backoff_ms = WATCH_BACKOFF_MIN_MS;
		w->curl = curluv_new(a->loop);
		uv_timer_init(a->loop, &w->retry);
		w->retry.data = w;
		uv_fs_event_init(a->loop, &w->dirwatch);
		w->dirwatch.data = w;
	}
	for (i = 0; i < TM_NELEM(watch_table); i++)
		watch_try(&ws->w[i]);
	return 0;
}

static const struct watch *
watchers_find(struct agent *a, const char *name)
{
	struct watchers *ws = a->watchers;
	size_t i;

	if (ws == NULL)
		return NULL;
	for (i = 0; i < TM_NELEM(watch_table); i++)
		if (strcmp(ws->w[i].ops->name, name) == 0)
			return &ws->w[i];
	return NULL;
}

bool
watchers_up(struct agent *a, const char *name)
{
	const struct watch *w = watchers_find(a, name);

	return w != NULL && w->up;
}

bool
watchers_coming(struct agent *a, const char *name)
{
	const struct watch *w = watchers_find(a, name);

	return w != NULL && (w->up || w->connecting);
}

bool
watchers_done(struct agent *a)
{
	struct watchers *ws = a->watchers;
	size_t i;

	if (ws == NULL)
		return true;
	for (i = 0; i < TM_NELEM(watch_table); i++)
		if (!ws->w[i].done)
			return false;
	return true;
}

/* Once stopped, the watchers go when their handles are closed and no
 * transfer of theirs can call back any more. */
static void
watchers_maybe_free(struct watchers *ws)
{
	struct agent *a = ws->a;
	size_t i;

	if (!ws->stopping || ws->open_handles > 0)
		return;
	for (i = 0; i < TM_NELEM(watch_table); i++)
		if (ws->w[i].holds > 0)
			return;
	for (i = 0; i < TM_NELEM(watch_table); i++)
		curluv_free(ws->w[i].curl);
	a->watchers = NULL;
	if (ws->done != NULL)
		ws->done(a);
	free(ws);
}

static void
watchers_handle_closed(uv_handle_t *h)
{
	struct watch *w = h->data;
	struct watchers *ws = w->a->watchers;

	ws->open_handles--;
	watchers_maybe_free(ws);
}

/* A transfer of w's is in flight: w (and the watchers) must outlive it. */
void
watch_hold(struct watch *w)
{
	w->holds++;
}

void
watch_release(struct watch *w)
{
	w->holds--;
	watchers_maybe_free(w->a->watchers);
}

/* Stop every watcher; done(a) once their handles are closed. */
void
watchers_stop(struct agent *a, void (*done)(struct agent *))
{
	struct watchers *ws = a->watchers;
	struct watch_req *q;
	struct watch *w;
	size_t i;

	if (ws == NULL) {
		if (done != NULL)
			done(a);
		return;
	}
	ws->done = done;
	ws->stopping = true;
	for (q = ws->reqs; q != NULL; q = q->next)
		if (!q->cancelled) {
			q->cancelled = true;
			curluv_cancel(q->w->curl, q->easy);
		}
	for (i = 0; i < TM_NELEM(watch_table); i++) {
		w = &ws->w[i];
		w->stopping = true;
		if (w->priv != NULL)
			w->ops->stop(w);
		w->up = false;
		uv_timer_stop(&w->retry);
		uv_close((uv_handle_t *)&w->retry, watchers_handle_closed);
		uv_close((uv_handle_t *)&w->dirwatch, watchers_handle_closed);
		ws->open_handles += 2;
	}
	watchers_maybe_free(ws);
}

/* ---- bounded GETs on the runtime's unix socket ---- */

static size_t
watch_req_write(char *p, size_t size, size_t n, void *arg)
{
	struct watch_req *q = arg;
	size_t len = size * n;

	if (q->len + len > q->max) {
		q->overflow = true;
		return 0;
	}
	q->buf = xreallocarray(q->buf, 1, q->len + len + 1);
	memcpy(q->buf + q->len, p, len);
	q->len += len;
	q->buf[q->len] = '\0';
	return len;
}

static void
watch_req_done(CURL *easy, int result, void *arg)
{
	struct watch_req *q = arg;
	struct watch *w = q->w;
	struct watchers *ws = w->a->watchers;
	long status = -1;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		ws->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	if (result == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	else if (q->overflow) {
		log_warnx("watch-%s: response over %zu bytes refused",
		    q->w->ops->name, q->max);
		q->w->rejects++;
	}
	if (!q->cancelled)
		q->cb(q->w, status, q->buf != NULL ? q->buf : "", q->len, q->arg);
	curl_easy_cleanup(easy);
	free(q->buf);
	free(q);
	watch_release(w);
}

/*
 * GET path ("/v1.41/containers/json") from the HTTP server on w's unix
 * socket; the body (at most max bytes, NUL-terminated) goes to cb with the
 * HTTP status, or status -1 on a transport error or an over-long body.  cb
 * is not called once the watchers stop.  Returns 0 or -1.
 */
int
watch_http_get(struct watch *w, const char *path, size_t max, watch_http_cb cb,
    void *arg)
{
	struct watchers *ws = w->a->watchers;
	struct watch_req *q;
	char url[2048];

	if (ws == NULL || w->stopping ||
	    snprintf(url, sizeof(url), "http://localhost%s", path) >= (int)sizeof(url))
		return -1;
	q = xcalloc(1, sizeof(*q));
	q->w = w;
	q->max = max;
	q->cb = cb;
	q->arg = arg;
	if ((q->easy = curl_easy_init()) == NULL)
		fatalx("watch: curl_easy_init failed");
	curl_easy_setopt(q->easy, CURLOPT_URL, url);
	curl_easy_setopt(q->easy, CURLOPT_UNIX_SOCKET_PATH, w->socket);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, watch_req_write);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	if (getenv("TM_CURL_VERBOSE") != NULL)
		curl_easy_setopt(q->easy, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(q->easy, CURLOPT_USERAGENT,
	    "tallyman-agent/" PACKAGE_VERSION);
	if (curluv_add(w->curl, q->easy, watch_req_done, q) == -1) {
		curl_easy_cleanup(q->easy);
		free(q);
		return -1;
	}
	q->next = ws->reqs;
	if (ws->reqs != NULL)
		ws->reqs->prev = q;
	ws->reqs = q;
	watch_hold(w);
	return 0;
}
