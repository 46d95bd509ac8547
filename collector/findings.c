/*
 * findings.c: a finding's names, identity and JSON form.  The JSON is the
 * same in the API (/api/v1/findings) and on the findings topic (where it
 * also carries "event": "new" or "resolved"); doc/api.md documents it.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/collector.h"

static const char *const finding_kind_names[FINDING_KIND_MAX] = {
	[FINDING_VULN] = "vulnerability",
	[FINDING_MISCONFIG] = "misconfiguration",
	[FINDING_DRIFT] = "drift",
	[FINDING_SHORT_LIVED] = "short-lived",
	[FINDING_HOST_SILENT] = "host-silent",
};

const char *
finding_kind_name(enum finding_kind kind)
{
	if ((unsigned)kind >= FINDING_KIND_MAX)
		return "unknown";
	return finding_kind_names[kind];
}

/* Parse a kind name; returns 0, or -1 if unknown. */
int
finding_kind_parse(const char *name, enum finding_kind *out)
{
	unsigned	i;

	for (i = 0; i < FINDING_KIND_MAX; i++)
		if (strcmp(finding_kind_names[i], name) == 0) {
			*out = (enum finding_kind)i;
			return 0;
		}
	return -1;
}

/*
 * The id of a finding: 32 hex digits, its first seen time (ns since the
 * epoch, 16 digits) then the first 16 hex digits of sha256(key NUL first
 * seen).  Stable across restarts (the id is stored); a finding that opens
 * again after it was resolved is a new finding with a new id.  Ids sort
 * by first seen, so the store's index of ids grows at its end instead of
 * taking each new finding on a page of its own (about 30 % of the pages a
 * 2 000-host ingest wrote, with the hash alone; bench/RESULTS.md).
 */
void
finding_set_id(struct finding *f)
{
	struct sha256_ctx	 c;
	uint8_t			 d[32];
	char			 hex[65], ts[24];

	snprintf(ts, sizeof ts, "%llu", (unsigned long long)f->first_seen_ns);
	sha256_init(&c);
	sha256_update(&c, f->key, strlen(f->key) + 1);
	sha256_update(&c, ts, strlen(ts));
	sha256_final(&c, d);
	sha256_hex(d, hex);
	snprintf(f->id, sizeof f->id, "%016llx%.16s",
	    (unsigned long long)f->first_seen_ns, hex);
}

/* ns since the epoch as RFC 3339 UTC with nanoseconds, as the rest of the
 * API writes times ("2024-05-01T12:00:00.123456789Z"). */
void
finding_time(uint64_t ns, char *buf, size_t len)
{
	time_t		t = (time_t)(ns / 1000000000ULL);
	struct tm	tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned long long)(ns % 1000000000ULL));
}

static void
finding_json_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

static void
finding_json_time(json_t *o, const char *k, uint64_t ns)
{
	char	buf[40];

	if (ns == 0)
		return;
	finding_time(ns, buf, sizeof buf);
	json_object_set_new(o, k, json_string(buf));
}

/*
 * The JSON object of f; event ("new", "resolved") is added when not NULL.
 * Absent values are left out, never null.  Caller owns the result.
 */
json_t *
finding_to_json(const struct finding *f, const char *event)
{
	json_t	*o = json_object();

	if (event != NULL)
		json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "id", json_string(f->id));
	json_object_set_new(o, "kind", json_string(finding_kind_name(f->kind)));
	json_object_set_new(o, "state", json_string(f->open ? "open" :
	    "resolved"));
	json_object_set_new(o, "severity", json_string(sev_level_name(f->level)));
	if (f->score >= 0.0)
		json_object_set_new(o, "score", json_real(f->score));
	finding_json_str(o, "host", f->host);
	finding_json_str(o, "container", f->container);
	finding_json_str(o, "container_name", f->container_name);
	finding_json_str(o, "image", f->image);
	finding_json_str(o, "image_ref", f->image_ref);
	finding_json_str(o, "package", f->package);
	finding_json_str(o, "source_package", f->source);
	finding_json_str(o, "installed_version", f->installed);
	if (f->kind == FINDING_VULN)
		json_object_set_new(o, "fixed_version", f->fixed ?
		    json_string(f->fixed) : json_null());
	finding_json_str(o, "advisory", f->advisory);
	if (f->aliases != NULL) {
		json_t		*a = json_array();
		const char	*p = f->aliases;

		while (*p != '\0') {
			size_t n = strcspn(p, ",");

			json_array_append_new(a, json_stringn(p, n));
			p += n;
			if (*p == ',')
				p++;
		}
		json_object_set_new(o, "aliases", a);
	}
	finding_json_str(o, "check", f->check);
	finding_json_str(o, "title", f->title);
	finding_json_str(o, "detail", f->detail);
	finding_json_time(o, "first_seen", f->first_seen_ns);
	finding_json_time(o, "last_seen", f->last_seen_ns);
	finding_json_time(o, "resolved_at", f->resolved_ns);
	finding_json_str(o, "resolved_reason", f->reason);
	return o;
}

/* The string members of a finding. */
#define FINDING_STRS(X)							\
	X(key) X(host) X(container) X(container_name) X(image)		\
	X(image_ref) X(package) X(source) X(installed) X(fixed)		\
	X(advisory) X(aliases) X(check) X(title) X(detail) X(reason)

/*
 * A deep copy of f in one block, its strings after the struct, with a
 * count of its holders (1): the engine makes one per change and the
 * sinks that keep it (the store's queue, the findings topic's encoder,
 * on another thread) hold it with finding_hold.  Each holder lets go with
 * finding_free.
 */
struct finding_copy {
	unsigned	holders;	/* atomic */
	struct finding	f;
};

struct finding *
finding_dup(const struct finding *f)
{
	struct finding_copy	*c;
	struct finding		*d;
	size_t			 need = sizeof *c;
	char			*p;

#define FD_NEED(m) if (f->m != NULL) need += strlen(f->m) + 1;
	FINDING_STRS(FD_NEED)
#undef FD_NEED
	c = xmalloc(need);
	c->holders = 1;
	d = &c->f;
	*d = *f;
	p = (char *)(c + 1);
#define FD_COPY(m) if (f->m != NULL) {					\
		size_t n = strlen(f->m) + 1;				\
									\
		memcpy(p, f->m, n);					\
		d->m = p;						\
		p += n;							\
	}
	FINDING_STRS(FD_COPY)
#undef FD_COPY
	return d;
}

static struct finding_copy *
finding_copy_of(const struct finding *f)
{
	return (struct finding_copy *)(void *)((char *)(uintptr_t)f -
	    offsetof(struct finding_copy, f));
}

/* One more holder of a copy made by finding_dup; returns it. */
struct finding *
finding_hold(const struct finding *copy)
{
	struct finding_copy *c = finding_copy_of(copy);

	__atomic_add_fetch(&c->holders, 1, __ATOMIC_RELAXED);
	return &c->f;
}

/* A holder of a copy made by finding_dup lets go: the last frees it. */
void
finding_free(struct finding *f)
{
	struct finding_copy *c;

	if (f == NULL)
		return;
	c = finding_copy_of(f);
	if (__atomic_sub_fetch(&c->holders, 1, __ATOMIC_ACQ_REL) == 0)
		free(c);
}
