/*
 * cmd-query.c: `tallyman-collector query WHAT [ARG] [--option VALUE]...
 * [--json]`: the API of a running collector (api.listen, with the token of
 * api.token_file), printed as a table for operators, or as the API's JSON
 * with --json.  One path to the data: what the tool shows is what the API
 * serves.
 *
 *   query hosts | host ID
 *   query containers [--short-lived] [--running] [--host H] ...
 *   query container ID [--host H]
 *   query images | image KEY|REF
 *   query packages NAME [--version V] [--all]
 *   query findings [--kind K] [--severity S] ... | vulnerability ID
 *   query stats
 *
 * Any --some-option VALUE is passed as the API parameter some_option
 * (doc/api.md lists them); --url and --token-file choose another
 * collector.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "collector/collector.h"

#define QUERY_BODY_MAX	(256u * 1024 * 1024)
#define QUERY_CELL_MAX	60

struct query_col {
	const char	*head;
	const char	*key;		/* "a" or "a.b" */
};

struct query_what {
	const char		*name;
	const char		*path;		/* API path */
	int			 with_id;	/* takes an argument */
	const char		*list;		/* the rows' array key, or NULL */
	const struct query_col	*cols;
};

static const struct query_col query_hosts_cols[] = {
	{ "HOST", "id" }, { "HOSTNAME", "hostname" }, { "OS", "os_pretty" },
	{ "AGENT", "agent_version" }, { "RUNNING", "containers_running" },
	{ "LAST HEARTBEAT", "last_heartbeat" }, { "SILENT", "silent" },
	{ "MISSING", "sequence.missing" }, { NULL, NULL },
};
static const struct query_col query_containers_cols[] = {
	{ "HOST", "host" }, { "ID", "id" }, { "NAME", "name" },
	{ "IMAGE", "image_ref" }, { "STATE", "state" },
	{ "STARTED", "started" }, { "LIFETIME", "lifetime_ns" },
	{ "EXIT", "exit_code" }, { "PRIV", "privileged" }, { NULL, NULL },
};
static const struct query_col query_images_cols[] = {
	{ "KEY", "key" }, { "REFS", "refs" }, { "OS", "os_pretty" },
	{ "PACKAGES", "n_packages" }, { "HOSTS", "hosts" },
	{ "RUNNING", "containers_running" }, { NULL, NULL },
};
static const struct query_col query_packages_cols[] = {
	{ "ECOSYSTEM", "ecosystem" }, { "VERSION", "version" },
	{ "PACKAGES", "packages" }, { "IMAGES", "images" }, { "HOSTS", "hosts" },
	{ "CONTAINERS", "containers" }, { NULL, NULL },
};
static const struct query_col query_findings_cols[] = {
	{ "SEVERITY", "severity" }, { "KIND", "kind" }, { "HOST", "host" },
	{ "CONTAINER", "container_name" }, { "WHAT", "advisory" },
	{ "CHECK", "check" }, { "PACKAGE", "package" },
	{ "INSTALLED", "installed_version" }, { "FIXED", "fixed_version" },
	{ "TITLE", "title" }, { NULL, NULL },
};

static const struct query_what query_whats[] = {
	{ "hosts", "/api/v1/hosts", 0, "hosts", query_hosts_cols },
	{ "host", "/api/v1/hosts", 1, NULL, NULL },
	{ "containers", "/api/v1/containers", 0, "containers",
	  query_containers_cols },
	{ "container", "/api/v1/containers", 1, NULL, NULL },
	{ "images", "/api/v1/images", 0, "images", query_images_cols },
	{ "image", "/api/v1/images", 1, NULL, NULL },
	{ "packages", "/api/v1/packages", 0, "versions", query_packages_cols },
	{ "findings", "/api/v1/findings", 0, "findings", query_findings_cols },
	{ "vulnerability", "/api/v1/vulnerabilities", 1, NULL, NULL },
	{ "stats", "/api/v1/stats", 0, NULL, NULL },
};

static void
query_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: tallyman-collector [options] query WHAT [ID] "
	    "[--param VALUE]... [--json]\n  WHAT:");
	for (i = 0; i < TM_NELEM(query_whats); i++)
		fprintf(fp, " %s%s", query_whats[i].name,
		    query_whats[i].with_id ? " ID" : "");
	fprintf(fp, "\n  shortcuts: containers --short-lived (exited within "
	    "10 s of starting),\n  --running; packages NAME [--all] (not only "
	    "what runs now);\n  --url URL, --token-file FILE: another "
	    "collector.  Parameters: doc/api.md.\n");
}

struct query_buf {
	char	*p;
	size_t	 n;
	int	 too_big;
};

static size_t
query_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct query_buf	*b = arg;
	size_t			 n = size * nmemb;

	if (b->n + n > QUERY_BODY_MAX) {
		b->too_big = 1;
		return 0;
	}
	b->p = xreallocarray(b->p, b->n + n + 1, 1);
	memcpy(b->p + b->n, ptr, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* The API's base URL from api.listen (a wildcard address is reached on
 * loopback). */
static char *
query_base(const char *listen)
{
	char		*out = NULL, *host = xstrdup(listen), *colon;
	const char	*h;

	if (host[0] == '[') {
		colon = strstr(host, "]:");
		if (colon == NULL) {
			free(host);
			return xstrdup("http://127.0.0.1:8750");
		}
		colon[1] = '\0';
		h = strcmp(host, "[::]") == 0 ? "[::1]" : host;
		xasprintf(&out, "http://%s:%s", h, colon + 2);
	} else {
		colon = strrchr(host, ':');
		if (colon == NULL) {
			free(host);
			return xstrdup("http://127.0.0.1:8750");
		}
		*colon = '\0';
		h = *host == '\0' || strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" :
		    host;
		xasprintf(&out, "http://%s:%s", h, colon + 1);
	}
	free(host);
	return out;
}

static char *
query_token(const char *path)
{
	FILE	*fp = fopen(path, "re");
	char	 line[600];
	size_t	 n;

	if (fp == NULL) {
		fprintf(stderr, "tallyman-collector query: %s: %s (the API's "
		    "token; run as a user who can read it, or --token-file)\n",
		    path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return xstrdup(line);
}

/*
 * Replace control characters in s (not NULL) with '?': containers name
 * their own processes, labels and files, and a terminal must not take them
 * for escapes.
 */
static char *
query_clean(char *s)
{
	for (char *p = s; p != NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* The value v of key as text (caller frees). */
static char *
query_value(json_t *v, const char *key)
{
	char *out = NULL;

	if (v == NULL || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		/* 2026-12-06T10:00:00.123456789Z -> 2026-12-06 10:00:00 */
		if (strlen(s) >= 20 && s[4] == '-' && s[10] == 'T' &&
		    s[13] == ':')
			xasprintf(&out, "%.10s %.8s", s, s + 11);
		else
			out = xstrdup(s);
	} else if (json_is_true(v)) {
		out = xstrdup("yes");
	} else if (json_is_false(v)) {
		out = xstrdup("no");
	} else if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if (strcmp(key, "lifetime_ns") == 0)
			xasprintf(&out, n >= 1000000000 ? "%.1fs" : "%.0fms",
			    n >= 1000000000 ? (double)n / 1e9 :
			    (double)n / 1e6);
		else
			xasprintf(&out, "%lld", (long long)n);
	} else if (json_is_array(v)) {
		size_t	 i;
		json_t	*e;

		if (json_array_size(v) > 0 && json_is_object(json_array_get(v,
		    0))) {
			xasprintf(&out, "%zu", json_array_size(v));
			return out;
		}
		out = xstrdup("");
		json_array_foreach(v, i, e) {
			char *next = NULL;

			xasprintf(&next, "%s%s%s", out, i ? "," : "",
			    json_is_string(e) ? json_string_value(e) : "?");
			free(out);
			out = next;
		}
	} else {
		out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	query_clean(out);
	if (out != NULL && strlen(out) > QUERY_CELL_MAX)
		strcpy(out + QUERY_CELL_MAX - 3, "...");
	return out;
}

/* One cell: the value at key ("a.b") in o, as text (caller frees). */
static char *
query_cell(json_t *o, const char *key)
{
	char	*k = xstrdup(key), *dot;
	json_t	*v = o;

	for (char *p = k; v != NULL && p != NULL; p = dot) {
		if ((dot = strchr(p, '.')) != NULL)
			*dot++ = '\0';
		v = json_object_get(v, p);
	}
	free(k);
	return query_value(v, key);
}

static void
query_table(const struct query_what *w, json_t *reply)
{
	json_t		*rows = json_object_get(reply, w->list), *row;
	size_t		 ncols, nrows, i, c;
	size_t		 width[32];
	char		**cells;

	for (ncols = 0; w->cols[ncols].head != NULL; ncols++)
		width[ncols] = strlen(w->cols[ncols].head);
	nrows = json_array_size(rows);
	cells = xcalloc(nrows * ncols + 1, sizeof *cells);
	json_array_foreach(rows, i, row)
		for (c = 0; c < ncols; c++) {
			cells[i * ncols + c] = query_cell(row, w->cols[c].key);
			if (strlen(cells[i * ncols + c]) > width[c])
				width[c] = strlen(cells[i * ncols + c]);
		}
	for (c = 0; c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0,
		    w->cols[c].head, c + 1 < ncols ? "  " : "\n");
	for (i = 0; i < nrows; i++)
		for (c = 0; c < ncols; c++)
			printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0,
			    cells[i * ncols + c], c + 1 < ncols ? "  " : "\n");
	for (i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	if (json_is_integer(json_object_get(reply, "total"))) {
		json_int_t total = json_integer_value(json_object_get(reply,
		    "total"));

		if ((json_int_t)nrows < total)
			printf("(%zu of %lld shown; --cursor %s for more)\n",
			    nrows, (long long)total, json_string_value(
			    json_object_get(reply, "next")) ?
			    json_string_value(json_object_get(reply, "next")) :
			    "?");
	}
}

/* An object as "key: value" lines, nested objects indented. */
static void
query_object(json_t *o, int depth)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(o, k, v) {
		/* Keys can be a container's too (labels). */
		char *name = query_clean(xstrdup(k));

		if (json_is_object(v)) {
			printf("%*s%s:\n", depth * 2, "", name);
			query_object(v, depth + 1);
		} else if (json_is_array(v) && json_array_size(v) > 0 &&
		    json_is_object(json_array_get(v, 0))) {
			printf("%*s%s: %zu (--json shows them)\n", depth * 2, "",
			    name, json_array_size(v));
		} else {
			/* Not query_cell: label keys hold dots. */
			char *cell = query_value(v, k);

			printf("%*s%s: %s\n", depth * 2, "", name, cell);
			free(cell);
		}
		free(name);
	}
}

/* Append "&key=value" (escaped) to *url. */
static void
query_param(CURL *c, char **url, const char *key, const char *value)
{
	char *ek = curl_easy_escape(c, key, 0), *ev = curl_easy_escape(c,
	    value, 0), *next = NULL;

	xasprintf(&next, "%s%s%s=%s", *url, strchr(*url, '?') ? "&" : "?",
	    ek, ev);
	curl_free(ek);
	curl_free(ev);
	free(*url);
	*url = next;
}

static int
query_exec(struct collector_config *cfg, const struct cli_opts *opts,
    int argc, char **argv)
{
	const struct query_what	*w = NULL;
	struct query_buf	 body = { NULL, 0, 0 };
	struct curl_slist	*hdrs = NULL;
	const char		*base = NULL, *token_file = cfg->api_token_file;
	char			*url = NULL, *token = NULL, *auth = NULL;
	json_t			*reply = NULL;
	CURL			*c;
	CURLcode		 res;
	long			 status = 0;
	int			 json = 0, i = 1, rc = 1;
	size_t			 k;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		query_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (k = 0; k < TM_NELEM(query_whats); k++)
		if (strcmp(argv[1], query_whats[k].name) == 0)
			w = &query_whats[k];
	if (w == NULL) {
		fprintf(stderr, "tallyman-collector query: unknown '%s'\n",
		    argv[1]);
		query_usage(stderr);
		return 2;
	}
	if ((c = curl_easy_init()) == NULL)
		fatalx("query: curl_easy_init failed");
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strcmp(argv[i], "--token-file") == 0 && i + 1 < argc)
			token_file = argv[++i];
	}
	url = base != NULL ? xstrdup(base) : query_base(cfg->api_listen);
	{
		char *next = NULL;

		xasprintf(&next, "%s%s", url, w->path);
		free(url);
		url = next;
	}
	i = 2;
	if (w->with_id || strcmp(w->name, "packages") == 0) {
		char *e, *next = NULL;

		if (argc < 3 || strncmp(argv[2], "--", 2) == 0) {
			fprintf(stderr, "tallyman-collector query %s: which one?\n",
			    w->name);
			goto out_usage;
		}
		if (w->with_id) {
			e = curl_easy_escape(c, argv[2], 0);
			xasprintf(&next, "%s/%s", url, e);
			curl_free(e);
			free(url);
			url = next;
		} else {
			query_param(c, &url, "name", argv[2]);
		}
		i = 3;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--url") == 0 ||
		    strcmp(a, "--token-file") == 0) {
			i++;
		} else if (strcmp(a, "--short-lived") == 0) {
			query_param(c, &url, "lifetime_lt", "10s");
		} else if (strcmp(a, "--running") == 0) {
			query_param(c, &url, "running", "true");
		} else if (strcmp(a, "--privileged") == 0) {
			query_param(c, &url, "privileged", "true");
		} else if (strcmp(a, "--all") == 0) {
			query_param(c, &url, strcmp(w->name, "findings") == 0 ?
			    "state" : "running", strcmp(w->name, "findings") ==
			    0 ? "all" : "any");
		} else if (strncmp(a, "--", 2) == 0 && a[2] != '\0' &&
		    i + 1 < argc) {
			char *key = xstrdup(a + 2);

			for (char *p = key; *p; p++)
				if (*p == '-')
					*p = '_';
			query_param(c, &url, key, argv[++i]);
			free(key);
		} else {
			fprintf(stderr, "tallyman-collector query: unexpected "
			    "'%s'\n", a);
			goto out_usage;
		}
	}
	if (strcmp(cfg->api_auth, "none") != 0) {
		if ((token = query_token(token_file)) == NULL)
			goto out;
		xasprintf(&auth, "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, query_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if ((res = curl_easy_perform(c)) != CURLE_OK) {
		fprintf(stderr, "tallyman-collector query: %s: %s%s\n", url,
		    curl_easy_strerror(res), res == CURLE_COULDNT_CONNECT ?
		    " (is `tallyman-collector run` running? api.listen)" : "");
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	reply = body.p != NULL ? json_loads(body.p, 0, NULL) : NULL;
	if (status != 200) {
		const char *why = json_string_value(json_object_get(reply,
		    "reason"));

		fprintf(stderr, "tallyman-collector query: HTTP %ld: %s\n",
		    status, why != NULL ? why : "(no reason given)");
		if (status == 409 && json)
			json_dumpf(reply, stdout, JSON_INDENT(2));
		rc = status == 400 || status == 404 || status == 409 ? 2 : 1;
		goto out;
	}
	if (reply == NULL) {
		fprintf(stderr, "tallyman-collector query: the answer is not "
		    "JSON\n");
		goto out;
	}
	if (json) {
		json_dumpf(reply, stdout, JSON_INDENT(2));
		printf("\n");
	} else if (w->list != NULL) {
		query_table(w, reply);
	} else {
		query_object(reply, 0);
	}
	rc = 0;
	goto out;
out_usage:
	query_usage(stderr);
	rc = 2;
out:
	json_decref(reply);
	free(body.p);
	free(url);
	free(auth);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

const struct collector_cmd collector_cmd_query = {
	.name = "query",
	.usage = "WHAT [ID] [--param VALUE]... [--json]",
	.help = "print hosts, containers, images, packages or findings from "
	    "a running collector's API, as tables (or --json)",
	.exec = query_exec,
};
