/*
 * watch-docker.c: the Docker Engine API over its unix socket.
 *
 *   1. GET /version: the daemon's version and the API version to speak
 *      (the daemon's, capped to the newest we know).
 *   2. GET /info: whether the daemon remaps users (userns-remap).
 *   3. GET /events?filters={"type":["container"]}&since=T, a stream of one
 *      JSON object per line, kept open.  Docker subscribes the stream and
 *      replays its recent events after `since` in one step, so a `since`
 *      just before the request (first time) or the newest event we handled
 *      (after a disconnection) leaves no gap.
 *   4. Once the stream answers: GET /containers/json?all=1 and an inspect
 *      of each, to learn what already exists (a reconciliation after a
 *      reconnection: what vanished meanwhile is reported gone).
 *   Events: create and start are inspected at once (a short-lived
 *   container may be gone a few milliseconds later); die carries the exit
 *   code; destroy ends the container.
 *
 * Every JSON document is bounded in size and checked field by field; the
 * event stream's lines are bounded too (a longer line is skipped, counted).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent/agent.h"

#define DOCKER_API_MIN		"1.24"
#define DOCKER_API_MAX		"1.43"
#define DOCKER_SMALL_MAX	(1024u * 1024)		/* version, info */
#define DOCKER_INSPECT_MAX	(4u * 1024 * 1024)
#define DOCKER_LIST_MAX		(64u * 1024 * 1024)
#define DOCKER_LINE_MAX		(1024u * 1024)		/* one event */
#define DOCKER_LIST_LEN_MAX	65536u			/* containers listed */

struct docker {
	struct watch	*w;
	unsigned	 conn;		/* connection number: stale answers are dropped */
	char		 api[16];	/* "v1.41" */
	bool		 userns;	/* the daemon remaps users */
	CURL		*events;	/* the event stream, or NULL */
	unsigned	 streams;	/* event transfers not yet done */
	bool		 events_up;
	long		 events_status;
	char		*line;
	size_t		 len, cap;
	bool		 skipping;	/* inside an over-long line */
	uint64_t	 last_ns;	/* newest event handled (since=) */
	bool		 detached;	/* stop() ran: free when idle */
};

struct docker_q {		/* one inspect */
	struct docker	*d;
	unsigned	 conn;
	char		 id[65];
	bool		 listed;
};

static void	docker_list(struct docker *);

static bool
docker_is_id(const char *s)
{
	return s != NULL && strlen(s) == 64 &&
	    strspn(s, "0123456789abcdef") == 64;
}

static void
docker_free_if_idle(struct docker *d)
{
	if (d->detached && d->streams == 0) {
		free(d->line);
		free(d);
	}
}

/* Compare dotted API versions ("1.41" < "1.9" is false). */
static int
docker_api_cmp(const char *a, const char *b)
{
	unsigned long amaj, amin, bmaj, bmin;

	if (sscanf(a, "%lu.%lu", &amaj, &amin) != 2)
		return -1;
	if (sscanf(b, "%lu.%lu", &bmaj, &bmin) != 2)
		return 1;
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	if (amin != bmin)
		return amin < bmin ? -1 : 1;
	return 0;
}

/* The connection failed at some step: drop it and let watch.c retry. */
static void
docker_fail(struct docker *d, const char *why)
{
	if (d->events != NULL) {
		curluv_cancel(d->w->curl, d->events);
		/* docker_events_done clears it */
	}
	d->events_up = false;
	d->conn++;
	watch_lost(d->w, why);
}

/* ---- inspect ---- */

static void
docker_inspect_cb(struct watch *w, long status, const char *body, size_t len,
    void *arg)
{
	struct docker_q *q = arg;
	struct docker *d = q->d;
	struct tm_container meta;
	json_error_t err;
	json_t *j;
	char **layers;
	size_t nl;

	memset(&meta, 0, sizeof(meta));
	j = status == 200 ? json_loadb(body, len, 0, &err) : NULL;
	if (status == 200 && (j == NULL ||
	    inspect_docker_parse(j, d->userns, &meta) == -1 ||
	    strcmp(meta.id, q->id) != 0)) {
		log_warnx("watch-docker: %.12s: malformed inspect rejected", q->id);
		w->rejects++;
		tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), &meta);
		json_decref(j);
		j = NULL;
	} else if (status != 200 && status != 404)
		log_debug("watch-docker: inspect %.12s: status %ld", q->id, status);
	if (j != NULL) {
		if ((nl = inspect_docker_layers(j, &layers)) > 0)
			containers_set_rootfs(w->a, CTR_DOCKER_NS, q->id, layers,
			    nl, true);
		containers_meta_done(w->a, CTR_SRC_DOCKER, CTR_DOCKER_NS, q->id,
		    &meta, q->listed);
		tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), &meta);
		json_decref(j);
	} else
		containers_meta_done(w->a, CTR_SRC_DOCKER, CTR_DOCKER_NS, q->id,
		    NULL, q->listed);
	free(q);
}

/* Inspect id now; the registry holds its records until the answer. */
static void
docker_inspect(struct docker *d, const char *id, bool listed)
{
	struct docker_q *q;
	char path[128];

	q = xcalloc(1, sizeof(*q));
	q->d = d;
	q->conn = d->conn;
	q->listed = listed;
	memcpy(q->id, id, 64);
	snprintf(path, sizeof(path), "/%s/containers/%s/json", d->api, id);
	containers_meta_wait(d->w->a, CTR_SRC_DOCKER, CTR_DOCKER_NS, id);
	if (watch_http_get(d->w, path, DOCKER_INSPECT_MAX, docker_inspect_cb,
	    q) == -1) {
		containers_meta_done(d->w->a, CTR_SRC_DOCKER, CTR_DOCKER_NS, id,
		    NULL, listed);
		free(q);
	}
}

/* ---- events ---- */

static const char *
docker_attr(json_t *attrs, const char *key)
{
	json_t *v = json_object_get(attrs, key);

	if (!json_is_string(v) || json_string_length(v) > TM_STR_MAX)
		return NULL;
	return json_string_value(v);
}

/* One event (a JSON object, untrusted in shape). */
static void
docker_event(struct docker *d, json_t *ev)
{
	struct watch *w = d->w;
	struct ctr_obs o;
	json_t *actor, *attrs, *tn;
	const char *type, *action, *id, *s;
	long long code;
	char *end;

	type = json_string_value(json_object_get(ev, "Type"));
	action = json_string_value(json_object_get(ev, "Action"));
	actor = json_object_get(ev, "Actor");
	id = json_string_value(json_object_get(actor, "ID"));
	attrs = json_object_get(actor, "Attributes");
	if (type == NULL || action == NULL || !docker_is_id(id) ||
	    !json_is_object(attrs)) {
		w->rejects++;
		return;
	}
	if (strcmp(type, "container") != 0)
		return;
	w->events++;
	memset(&o, 0, sizeof(o));
	o.src = CTR_SRC_DOCKER;
	o.ns = CTR_DOCKER_NS;
	o.id = id;
	tn = json_object_get(ev, "timeNano");
	if (json_is_integer(tn) && json_integer_value(tn) > 0) {
		o.time_ns = (uint64_t)json_integer_value(tn);
		if (o.time_ns > d->last_ns)
			d->last_ns = o.time_ns;
	}
	o.name = docker_attr(attrs, "name");
	o.image = docker_attr(attrs, "image");
	if (strcmp(action, "create") == 0) {
		o.act = CTR_ACT_CREATE;
		docker_inspect(d, id, false);
	} else if (strcmp(action, "start") == 0) {
		o.act = CTR_ACT_START;
		docker_inspect(d, id, false);	/* its pid, at once */
	} else if (strcmp(action, "die") == 0) {
		o.act = CTR_ACT_EXIT;
		if ((s = docker_attr(attrs, "exitCode")) != NULL) {
			code = strtoll(s, &end, 10);
			if (end != s && *end == '\0' && code >= -1 && code <= 255) {
				o.has_exit = true;
				o.exit_code = code;
			}
		}
	} else if (strcmp(action, "oom") == 0) {
		o.act = CTR_ACT_OOM;
	} else if (strcmp(action, "destroy") == 0) {
		o.act = CTR_ACT_DELETE;
	} else if (strcmp(action, "pause") == 0) {
		o.act = CTR_ACT_PAUSE;
	} else if (strcmp(action, "unpause") == 0) {
		o.act = CTR_ACT_UNPAUSE;
	} else if (strncmp(action, "exec_start", 10) == 0) {
		o.act = CTR_ACT_EXEC;
		if ((o.exec_id = docker_attr(attrs, "execID")) == NULL)
			return;
	} else if (strcmp(action, "rename") == 0 || strcmp(action, "update") == 0) {
		docker_inspect(d, id, false);
		return;
	} else
		return;
	containers_observe(w->a, &o);
}

static void
docker_line(struct docker *d, const char *line, size_t len)
{
	json_error_t err;
	json_t *ev;

	if (len == 0)
		return;
	if ((ev = json_loadb(line, len, 0, &err)) == NULL || !json_is_object(ev)) {
		log_warnx("watch-docker: malformed event rejected: %s", err.text);
		d->w->rejects++;
		json_decref(ev);
		return;
	}
	docker_event(d, ev);
	json_decref(ev);
}

static size_t
docker_events_write(char *p, size_t size, size_t n, void *arg)
{
	struct docker *d = arg;
	size_t len = size * n, i, start = 0;

	if (d->detached)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (d->skipping) {
			d->skipping = false;
		} else if (d->len + (i - start) <= DOCKER_LINE_MAX) {
			if (d->len == 0) {
				docker_line(d, p + start, i - start);
			} else {
				/* the line's end may not fit what its start
				 * reserved */
				if (d->cap < d->len + (i - start)) {
					d->cap = d->len + (i - start);
					d->line = xreallocarray(d->line, 1, d->cap);
				}
				memcpy(d->line + d->len, p + start, i - start);
				d->len += i - start;
				docker_line(d, d->line, d->len);
			}
		} else {
			log_warnx("watch-docker: event over %u bytes skipped",
			    DOCKER_LINE_MAX);
			d->w->rejects++;
		}
		d->len = 0;
		start = i + 1;
	}
	if (start < len && !d->skipping) {
		if (d->len + (len - start) > DOCKER_LINE_MAX) {
			log_warnx("watch-docker: event over %u bytes skipped",
			    DOCKER_LINE_MAX);
			d->w->rejects++;
			d->skipping = true;
			d->len = 0;
		} else {
			if (d->cap < d->len + (len - start)) {
				d->cap = d->len + (len - start) + 4096;
				d->line = xreallocarray(d->line, 1, d->cap);
			}
			memcpy(d->line + d->len, p + start, len - start);
			d->len += len - start;
		}
	}
	return len;
}

/* The stream's headers are in: once it is 200, we are subscribed. */
static size_t
docker_events_header(char *p, size_t size, size_t n, void *arg)
{
	struct docker *d = arg;
	size_t len = size * n;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		sscanf(p, "HTTP/%*s %ld", &d->events_status);
	if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n')) {
		if (d->events_status == 200 && !d->events_up && !d->detached) {
			d->events_up = true;
			watch_up(d->w);
			if (d->w->mode == WATCH_STREAM)
				docker_list(d);
		}
	}
	return len;
}

static void
docker_events_done(CURL *easy, int result, void *arg)
{
	struct docker *d = arg;
	struct watch *w = d->w;
	bool current = d->events == easy;
	char why[160];

	curl_easy_cleanup(easy);
	d->streams--;
	if (current) {
		d->events = NULL;
		d->len = 0;
		d->skipping = false;
	}
	if (d->detached) {
		docker_free_if_idle(d);
		watch_release(w);
		return;
	}
	if (!current || result == CURLE_ABORTED_BY_CALLBACK) {
		/* an older stream, or cancelled by docker_fail: reported */
		watch_release(w);
		return;
	}
	if (result != CURLE_OK)
		snprintf(why, sizeof(why), "event stream: %s",
		    curl_easy_strerror((CURLcode)result));
	else
		snprintf(why, sizeof(why), "event stream ended (status %ld)",
		    d->events_status);
	d->events_up = false;
	d->conn++;
	watch_lost(w, why);
	watch_release(w);
}

static int
docker_events_start(struct docker *d)
{
	char url[512], since[48];
	uint64_t s;

	/* Since the newest event we handled; first time, a second ago. */
	s = d->last_ns != 0 ? d->last_ns : now_ns() - 1000000000ull;
	snprintf(since, sizeof(since), "%" PRIu64 ".%09" PRIu64,
	    (uint64_t)(s / 1000000000u), (uint64_t)(s % 1000000000u));
	snprintf(url, sizeof(url), "http://localhost/%s/events?since=%s&filters="
	    "%%7B%%22type%%22%%3A%%5B%%22container%%22%%5D%%7D", d->api, since);
	if ((d->events = curl_easy_init()) == NULL)
		fatalx("watch-docker: curl_easy_init failed");
	d->events_status = 0;
	d->events_up = false;
	curl_easy_setopt(d->events, CURLOPT_URL, url);
	curl_easy_setopt(d->events, CURLOPT_UNIX_SOCKET_PATH, d->w->socket);
	curl_easy_setopt(d->events, CURLOPT_WRITEFUNCTION, docker_events_write);
	curl_easy_setopt(d->events, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(d->events, CURLOPT_HEADERFUNCTION, docker_events_header);
	curl_easy_setopt(d->events, CURLOPT_HEADERDATA, d);
	curl_easy_setopt(d->events, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(d->events, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->events, CURLOPT_USERAGENT,
	    "tallyman-agent/" PACKAGE_VERSION);
	if (curluv_add(d->w->curl, d->events, docker_events_done, d) == -1) {
		curl_easy_cleanup(d->events);
		d->events = NULL;
		return -1;
	}
	watch_hold(d->w);
	d->streams++;
	return 0;
}

/* ---- listing ---- */

static void
docker_list_cb(struct watch *w, long status, const char *body, size_t len,
    void *arg)
{
	struct docker *d = w->priv;
	json_error_t err;
	json_t *arr, *c;
	const char *id;
	size_t i;
	unsigned conn = (unsigned)(uintptr_t)arg;

	if (d == NULL || conn != d->conn)
		return;
	arr = status == 200 ? json_loadb(body, len, 0, &err) : NULL;
	if (!json_is_array(arr)) {
		if (status == 200)
			w->rejects++;
		json_decref(arr);	/* valid JSON, but not a list */
		docker_fail(d, "cannot list containers");
		return;
	}
	containers_list_begin(w->a, CTR_SRC_DOCKER, w->generation > 1);
	json_array_foreach(arr, i, c) {
		if (i >= DOCKER_LIST_LEN_MAX)
			break;
		id = json_string_value(json_object_get(c, "Id"));
		if (!docker_is_id(id)) {
			w->rejects++;
			continue;
		}
		containers_listed(w->a, CTR_SRC_DOCKER, CTR_DOCKER_NS, id);
		docker_inspect(d, id, true);
	}
	json_decref(arr);
	containers_list_end(w->a, CTR_SRC_DOCKER);
	watch_listed(w);
}

static void
docker_list(struct docker *d)
{
	char path[64];

	snprintf(path, sizeof(path), "/%s/containers/json?all=1", d->api);
	if (watch_http_get(d->w, path, DOCKER_LIST_MAX, docker_list_cb,
	    (void *)(uintptr_t)d->conn) == -1)
		docker_fail(d, "cannot list containers");
}

/* ---- version, info ---- */

static void
docker_info_cb(struct watch *w, long status, const char *body, size_t len,
    void *arg)
{
	struct docker *d = w->priv;
	json_error_t err;
	json_t *j, *v;
	size_t i;

	if (d == NULL || (unsigned)(uintptr_t)arg != d->conn)
		return;
	d->userns = false;
	if (status == 200 && (j = json_loadb(body, len, 0, &err)) != NULL) {
		json_array_foreach(json_object_get(j, "SecurityOptions"), i, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "name=userns") == 0)
				d->userns = true;
		json_decref(j);
	}
	if (w->mode == WATCH_ONCE) {
		/* a snapshot needs no events: list and be done */
		watch_up(w);
		docker_list(d);
		return;
	}
	if (docker_events_start(d) == -1)
		docker_fail(d, "cannot open the event stream");
}

static void
docker_version_cb(struct watch *w, long status, const char *body, size_t len,
    void *arg)
{
	struct docker *d = w->priv;
	json_error_t err;
	json_t *j;
	const char *api, *ver, *min;
	char path[64];

	if (d == NULL || (unsigned)(uintptr_t)arg != d->conn)
		return;
	if (status != 200 || (j = json_loadb(body, len, 0, &err)) == NULL) {
		docker_fail(d, status == -1 ? "cannot connect" : "no /version");
		return;
	}
	api = json_string_value(json_object_get(j, "ApiVersion"));
	min = json_string_value(json_object_get(j, "MinAPIVersion"));
	ver = json_string_value(json_object_get(j, "Version"));
	if (api == NULL || strlen(api) > 8 ||
	    docker_api_cmp(api, DOCKER_API_MIN) < 0) {
		json_decref(j);
		docker_fail(d, "API version too old or missing");
		return;
	}
	/* Speak the daemon's version, or the newest we know if it is newer
	 * (and still accepted by its minimum). */
	if (docker_api_cmp(api, DOCKER_API_MAX) > 0 &&
	    (min == NULL || docker_api_cmp(min, DOCKER_API_MAX) <= 0))
		api = DOCKER_API_MAX;
	snprintf(d->api, sizeof(d->api), "v%s", api);
	snprintf(w->version, sizeof(w->version), "%s",
	    ver != NULL && strlen(ver) < sizeof(w->version) ? ver : "");
	json_decref(j);
	snprintf(path, sizeof(path), "/%s/info", d->api);
	if (watch_http_get(w, path, DOCKER_SMALL_MAX, docker_info_cb,
	    (void *)(uintptr_t)d->conn) == -1)
		docker_fail(d, "cannot ask /info");
}

static int
docker_start(struct watch *w)
{
	struct docker *d = w->priv;

	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->w = w;
		w->priv = d;
	}
	d->conn++;
	return watch_http_get(w, "/version", DOCKER_SMALL_MAX, docker_version_cb,
	    (void *)(uintptr_t)d->conn);
}

static void
docker_stop(struct watch *w)
{
	struct docker *d = w->priv;

	w->priv = NULL;
	if (d == NULL)
		return;
	d->detached = true;
	if (d->events != NULL)
		curluv_cancel(w->curl, d->events);
	docker_free_if_idle(d);
}

const struct watcher watcher_docker = {
	.name = "docker",
	.start = docker_start,
	.stop = docker_stop,
};
