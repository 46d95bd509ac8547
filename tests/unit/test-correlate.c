/*
 * test-correlate.c: the correlation engine fed with decoded records, as the
 * consumer feeds it: vulnerability findings per container and host (the
 * Heartbleed scenario), a feed arriving after the fleet, withdrawal, every
 * CIS check failing on one container and passing on another, drift,
 * short-lived containers, silent hosts, and exactly one NEW and one RESOLVED
 * per finding.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector/collector.h"

/* -Wwrite-strings: the schema's structs hold char *. */
#define S(x)	((char *)(x))
#define SEC	1000000000ULL
#define T0	(1700000000ULL * SEC)

/* What the sink saw. */
struct seen {
	size_t	 nnew, nresolved, nupdated;
	char	 last_new_key[512];
	char	 last_reason[128];
	struct strmap *state;		/* id -> "new"/"resolved" */
	struct strpool *ids;		/* the keys of state */
	size_t	 twice;			/* the same change twice in a row */
};

static void
sink(const struct finding *f, enum finding_change ch, void *arg)
{
	struct seen	*s = arg;
	const char	*prev = strmap_get(s->state, f->id);

	if (ch == FINDING_UPDATED) {
		s->nupdated++;
		return;
	}
	if (ch == FINDING_NEW) {
		s->nnew++;
		snprintf(s->last_new_key, sizeof s->last_new_key, "%s", f->key);
		if (prev != NULL)
			s->twice++;
		strmap_put(s->state, strpool_get(s->ids, f->id), S("new"));
	} else {
		s->nresolved++;
		snprintf(s->last_reason, sizeof s->last_reason, "%s",
		    f->reason);
		if (prev == NULL || strcmp(prev, "resolved") == 0)
			s->twice++;
		strmap_put(s->state, strpool_get(s->ids, f->id),
		    S("resolved"));
	}
}

struct fx {
	struct correlate	*cor;
	struct seen		 seen;
	char			*ids[4096];
	size_t			 nids;
};

static int
setup(void **state)
{
	struct fx		*fx = xcalloc(1, sizeof *fx);
	struct correlate_config	 cfg = {
		.short_lived_ns = 2 * SEC,
		.silent_intervals = 3,
		.heartbeat_ns = 10 * SEC,
		.history_max = 1000,
	};

	fx->cor = correlate_new(&cfg);
	fx->seen.state = strmap_new();
	fx->seen.ids = strpool_new();
	correlate_add_sink(fx->cor, sink, &fx->seen, 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	correlate_free(fx->cor);
	strmap_free(fx->seen.state);
	strpool_free(fx->seen.ids);
	free(fx);
	return 0;
}

/* Records, built on the stack: the engine copies what it keeps. */
static void
feed_image(struct fx *fx, const char *host, const char *key, const char *os,
    const char *osv, struct tm_package *pkgs, size_t n, uint64_t t)
{
	struct tm_record rec;

	memset(&rec, 0, sizeof rec);
	rec.host_id = (char *)(uintptr_t)host;
	rec.kind = TM_KIND_IMAGE;
	rec.body.image.key = (char *)(uintptr_t)key;
	rec.body.image.os_id = (char *)(uintptr_t)os;
	rec.body.image.os_version = (char *)(uintptr_t)osv;
	rec.body.image.packages = pkgs;
	rec.body.image.n_packages = n;
	correlate_record(fx->cor, &rec, t);
}

/* A container that passes every CIS check. */
static void
secure(struct tm_container *c, const char *id, const char *image)
{
	memset(c, 0, sizeof *c);
	c->runtime = S("docker");
	c->id = (char *)(uintptr_t)id;
	c->name = (char *)(uintptr_t)id;
	c->image_key = (char *)(uintptr_t)image;
	c->state = S("running");
	c->started_ns = T0;
	c->user = S("1000");
	c->risks.mem_limit = 64 << 20;
	c->risks.nano_cpus = 500000000;
	c->risks.pids_limit = 100;
	c->risks.ro_rootfs = true;
	c->risks.no_new_privs = true;
	c->risks.healthcheck = true;
	c->risks.seccomp = S("default");
	c->risks.apparmor = S("docker-default");
	c->risks.restart = S("on-failure");
}

static void
feed_container(struct fx *fx, const char *host, struct tm_container *c,
    uint64_t t)
{
	struct tm_record rec;

	memset(&rec, 0, sizeof rec);
	rec.host_id = (char *)(uintptr_t)host;
	rec.kind = TM_KIND_CONTAINER;
	rec.body.container = *c;
	correlate_record(fx->cor, &rec, t);
}

static void
feed_event(struct fx *fx, const char *host, const char *id, const char *act,
    uint64_t t)
{
	struct tm_record rec;

	memset(&rec, 0, sizeof rec);
	rec.host_id = (char *)(uintptr_t)host;
	rec.kind = TM_KIND_EVENT;
	rec.body.event.runtime = S("docker");
	rec.body.event.id = (char *)(uintptr_t)id;
	rec.body.event.action = (char *)(uintptr_t)act;
	rec.body.event.time_ns = t;
	correlate_record(fx->cor, &rec, t);
}

static struct osv_db *
feed_of(const char *json)
{
	struct osv_db	*db = osv_db_new();
	char		 err[256];

	assert_true(osv_db_parse(db, json, strlen(json), "test", err,
	    sizeof err) >= 0);
	osv_db_finish(db);
	return db;
}

#define HEARTBLEED \
	"{\"id\":\"DSA-2896-1\",\"modified\":\"2014-04-07T00:00:00Z\"," \
	"\"aliases\":[\"CVE-2014-0160\"],\"summary\":\"openssl: Heartbleed\"," \
	"\"severity\":[{\"type\":\"CVSS_V3\",\"score\":" \
	"\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N\"}]," \
	"\"affected\":[{\"package\":{\"ecosystem\":\"Debian:7\"," \
	"\"name\":\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\"," \
	"\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.0.1e-2+deb7u5\"}]}]}]}"

#define HEARTBLEED_WITHDRAWN \
	"{\"id\":\"DSA-2896-1\",\"modified\":\"2014-05-01T00:00:00Z\"," \
	"\"withdrawn\":\"2014-05-01T00:00:00Z\"}"

struct find_ctx {
	const char	*kind, *container, *advisory, *check;
	int		 open;		/* -1 any */
	size_t		 n;
	struct finding	 last;
};

static int
find_cb(const struct finding *f, void *arg)
{
	struct find_ctx *x = arg;

	if (x->kind && strcmp(finding_kind_name(f->kind), x->kind) != 0)
		return 0;
	if (x->container && (!f->container ||
	    strcmp(f->container, x->container) != 0))
		return 0;
	if (x->advisory && (!f->advisory ||
	    strcmp(f->advisory, x->advisory) != 0))
		return 0;
	if (x->check && (!f->check || strcmp(f->check, x->check) != 0))
		return 0;
	if (x->open != -1 && f->open != x->open)
		return 0;
	x->n++;
	x->last = *f;
	return 0;
}

static size_t
count(struct fx *fx, const char *kind, const char *ctr, const char *adv,
    const char *check, int open, struct finding *last)
{
	struct find_ctx x = { kind, ctr, adv, check, open, 0, { 0 } };

	correlate_each_finding(fx->cor, find_cb, &x);
	if (last != NULL)
		*last = x.last;
	return x.n;
}

/* Debian 7's openssl before and after the Heartbleed fix. */
static struct tm_package vuln[] = {
	{ .ecosystem = S("dpkg"), .name = S("libssl1.0.0"),
	  .version = S("1.0.1e-2+deb7u4"), .source_name = S("openssl"),
	  .source_version = S("1.0.1e-2+deb7u4") },
	{ .ecosystem = S("dpkg"), .name = S("bash"), .version = S("4.2+dfsg-0.1") },
};
static struct tm_package fixed[] = {
	{ .ecosystem = S("dpkg"), .name = S("libssl1.0.0"),
	  .version = S("1.0.1e-2+deb7u5"), .source_name = S("openssl"),
	  .source_version = S("1.0.1e-2+deb7u5") },
};

static void
heartbleed_fleet(struct fx *fx)
{
	struct tm_container c;

	feed_image(fx, "host-a", "img-vuln", "debian", "7", vuln, 2, T0);
	feed_image(fx, "host-a", "img-fixed", "debian", "7", fixed, 1, T0);
	secure(&c, "ctr-vuln", "img-vuln");
	feed_container(fx, "host-a", &c, T0 + SEC);
	secure(&c, "ctr-fixed", "img-fixed");
	feed_container(fx, "host-a", &c, T0 + SEC);
}

static void
test_heartbleed_finding_on_the_vulnerable_container_only(void **state)
{
	struct fx	*fx = *state;
	struct finding	 f;
	json_t		*j;
	char		*s;

	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	heartbleed_fleet(fx);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", "DSA-2896-1",
	    NULL, 1, &f), 1);
	assert_string_equal(f.host, "host-a");
	assert_string_equal(f.package, "libssl1.0.0");
	assert_string_equal(f.source, "openssl");
	assert_string_equal(f.installed, "1.0.1e-2+deb7u4");
	assert_string_equal(f.fixed, "1.0.1e-2+deb7u5");
	assert_string_equal(f.aliases, "CVE-2014-0160");
	assert_int_equal(f.level, SEV_HIGH);
	assert_true(f.score > 7.4 && f.score < 7.6);
	assert_int_equal(count(fx, "vulnerability", "ctr-fixed", NULL, NULL,
	    -1, NULL), 0);
	assert_int_equal(fx->seen.nnew, 1);
	j = finding_to_json(&f, "new");
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(s, "\"advisory\":\"DSA-2896-1\""));
	assert_non_null(strstr(s, "\"aliases\":[\"CVE-2014-0160\"]"));
	assert_non_null(strstr(s, "\"event\":\"new\""));
	assert_non_null(strstr(s, "\"fixed_version\":\"1.0.1e-2+deb7u5\""));
	free(s);
	json_decref(j);
}

static void
test_feed_after_the_fleet_opens_findings_then_withdrawal_resolves(void **state)
{
	struct fx	*fx = *state;
	struct finding	 f;

	heartbleed_fleet(fx);
	assert_int_equal(count(fx, "vulnerability", NULL, NULL, NULL, -1,
	    NULL), 0);
	/* The feed arrives: no record from any agent is needed. */
	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0 + 10 * SEC);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", "DSA-2896-1",
	    NULL, 1, NULL), 1);
	assert_int_equal(fx->seen.nnew, 1);
	/* The same feed again: nothing changes, nothing is announced. */
	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0 + 11 * SEC);
	assert_int_equal(fx->seen.nnew, 1);
	assert_int_equal(fx->seen.nresolved, 0);
	/* Withdrawn: resolved, once. */
	correlate_set_feed(fx->cor, feed_of("[" HEARTBLEED ","
	    HEARTBLEED_WITHDRAWN "]"), T0 + 20 * SEC);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", "DSA-2896-1",
	    NULL, 0, &f), 1);
	assert_string_equal(f.reason, "advisory withdrawn");
	assert_int_equal(f.resolved_ns, T0 + 20 * SEC);
	assert_int_equal(fx->seen.nresolved, 1);
	correlate_set_feed(fx->cor, feed_of(HEARTBLEED_WITHDRAWN),
	    T0 + 21 * SEC);
	assert_int_equal(fx->seen.nresolved, 1);
	assert_int_equal(fx->seen.twice, 0);
}

static void
test_image_after_its_container_is_evaluated_on_arrival(void **state)
{
	struct fx		*fx = *state;
	struct tm_container	 c;
	static struct tm_package pk[] = {
		{ .ecosystem = S("dpkg"), .name = S("openssl"),
		  .version = S("1.0.1e-2+deb7u4") },
	};

	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	secure(&c, "early", "img-late");
	feed_container(fx, "host-b", &c, T0);
	assert_int_equal(count(fx, "vulnerability", "early", NULL, NULL, 1,
	    NULL), 0);
	feed_image(fx, "host-b", "img-late", "debian", "7", pk, 1, T0 + SEC);
	assert_int_equal(count(fx, "vulnerability", "early", NULL, NULL, 1,
	    NULL), 1);
}

static void
test_exit_resolves_and_brief_life_is_short_lived(void **state)
{
	struct fx		*fx = *state;
	struct tm_container	 c;
	struct finding		 f;

	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	heartbleed_fleet(fx);
	feed_event(fx, "host-a", "ctr-vuln", "exit", T0 + 60 * SEC);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", NULL, NULL, 0,
	    &f), 1);
	assert_string_equal(f.reason, "container exited");
	assert_int_equal(count(fx, NULL, "ctr-vuln", NULL, NULL, 1, NULL), 0);
	/* Started and exited within 300 ms: only the informational finding. */
	secure(&c, "blink", "img-vuln");
	c.state = S("exited");
	c.started_ns = T0 + 100 * SEC;
	c.finished_ns = c.started_ns + 300000000ULL;
	c.lifetime_ns = 300000000ULL;
	feed_container(fx, "host-a", &c, T0 + 101 * SEC);
	assert_int_equal(count(fx, "short-lived", "blink", NULL, NULL, 1, &f),
	    1);
	assert_string_equal(f.detail, "lived 300 ms");
	assert_int_equal(f.level, SEV_NONE);
	assert_int_equal(count(fx, "vulnerability", "blink", NULL, NULL, -1,
	    NULL), 0);
	feed_event(fx, "host-a", "blink", "delete", T0 + 102 * SEC);
	assert_int_equal(count(fx, "short-lived", "blink", NULL, NULL, 0, &f),
	    1);
	assert_string_equal(f.reason, "container removed");
	assert_int_equal(fx->seen.twice, 0);
}

/* One mutation per check: what makes a secure container fail it. */
static void
break_check(const char *id, struct tm_container *c)
{
	static char *caps[] = { S("SYS_ADMIN") };
	static char *devs[] = { S("/dev/sda") };
	static struct tm_mount etc = { .source = S("/etc"), .dest = S("/host-etc"),
	    .type = S("bind") };
	static struct tm_mount shared = { .source = S("/srv/data"), .dest = S("/data"),
	    .type = S("bind"), .propagation = S("rshared") };
	/* As the agent sends it: a runtime socket is flagged sensitive too
	 * (it must not fail 5.6 as well). */
	static struct tm_mount sock = { .source = S("/var/run/docker.sock"),
	    .dest = S("/var/run/docker.sock"), .type = S("bind"),
	    .sensitive = true };
	static struct tm_process sshd = { .pid = 42, .comm = S("sshd") };

	if (strcmp(id, "4.1") == 0) { c->risks.root_user = true; c->user = S(""); }
	else if (strcmp(id, "5.2") == 0) c->risks.apparmor = S("unconfined");
	else if (strcmp(id, "5.4") == 0) {
		c->risks.cap_add = caps;
		c->risks.n_cap_add = 1;
	} else if (strcmp(id, "5.5") == 0) c->risks.privileged = true;
	else if (strcmp(id, "5.6") == 0) {
		c->risks.mounts = &etc;
		c->risks.n_mounts = 1;
	} else if (strcmp(id, "5.7") == 0) {
		c->procs = &sshd;
		c->n_procs = 1;
	} else if (strcmp(id, "5.10") == 0) c->risks.host_net = true;
	else if (strcmp(id, "5.11") == 0) c->risks.mem_limit = 0;
	else if (strcmp(id, "5.12") == 0) c->risks.nano_cpus = 0;
	else if (strcmp(id, "5.13") == 0) c->risks.ro_rootfs = false;
	else if (strcmp(id, "5.15") == 0) c->risks.restart = S("always");
	else if (strcmp(id, "5.16") == 0) c->risks.host_pid = true;
	else if (strcmp(id, "5.17") == 0) c->risks.host_ipc = true;
	else if (strcmp(id, "5.18") == 0) {
		c->risks.devices = devs;
		c->risks.n_devices = 1;
	} else if (strcmp(id, "5.20") == 0) {
		c->risks.mounts = &shared;
		c->risks.n_mounts = 1;
	} else if (strcmp(id, "5.21") == 0) c->risks.host_uts = true;
	else if (strcmp(id, "5.22") == 0) c->risks.seccomp = S("unconfined");
	else if (strcmp(id, "5.26") == 0) c->risks.no_new_privs = false;
	else if (strcmp(id, "5.27") == 0) c->risks.healthcheck = false;
	else if (strcmp(id, "5.29") == 0) c->risks.pids_limit = 0;
	else if (strcmp(id, "5.31") == 0) c->risks.host_userns = true;
	else if (strcmp(id, "5.32") == 0) {
		c->risks.mounts = &sock;
		c->risks.n_mounts = 1;
	} else
		fail_msg("no mutation for CIS %s: add one", id);
}

static void
test_each_cis_check_fails_one_container_and_passes_another(void **state)
{
	struct fx		*fx = *state;
	struct tm_container	 c;
	struct finding		 f;
	char			 id[64];
	size_t			 i;

	secure(&c, "baseline", "img-none");
	feed_container(fx, "host-c", &c, T0);
	assert_int_equal(count(fx, "misconfiguration", "baseline", NULL, NULL,
	    -1, NULL), 0);
	for (i = 0; i < cis_checks_len; i++) {
		const char *check = cis_checks[i].id;

		snprintf(id, sizeof id, "fails-%s", check);
		secure(&c, id, "img-none");
		break_check(check, &c);
		feed_container(fx, "host-c", &c, T0);
		if (count(fx, "misconfiguration", id, NULL, check, 1, &f) != 1)
			fail_msg("CIS %s not raised", check);
		assert_string_equal(f.title, cis_checks[i].title);
		assert_non_null(f.detail);
		/* Only that check: the mutation breaks nothing else. */
		if (count(fx, "misconfiguration", id, NULL, NULL, 1, NULL) != 1)
			fail_msg("CIS %s: other checks failed too", check);
		/* The passing container still passes it. */
		assert_int_equal(count(fx, "misconfiguration", "baseline",
		    NULL, check, -1, NULL), 0);
	}
	/* Fixing the configuration (a new snapshot) resolves the finding. */
	secure(&c, "fails-5.5", "img-none");
	feed_container(fx, "host-c", &c, T0 + SEC);
	assert_int_equal(count(fx, "misconfiguration", "fails-5.5", NULL, "5.5",
	    0, &f), 1);
	assert_string_equal(f.reason, "check passes");
}

static void
test_sensitive_mounts_beyond_the_agent_flag(void **state)
{
	struct tm_container	c;
	struct tm_mount		m = { .source = S("/usr/lib"), .dest = S("/x"),
	    .type = S("bind") };
	const struct cis_check	*ck = cis_check_find("5.6");
	char			d[128];

	secure(&c, "x", "y");
	c.risks.mounts = &m;
	c.risks.n_mounts = 1;
	assert_int_equal(ck->fails(&c, d, sizeof d), 1);
	m.source = S("/usrdata");
	assert_int_equal(ck->fails(&c, d, sizeof d), 0);
	m.source = S("/");
	assert_int_equal(ck->fails(&c, d, sizeof d), 1);
	m.source = S("/srv");
	assert_int_equal(ck->fails(&c, d, sizeof d), 0);
	m.sensitive = true;		/* the agent knows better */
	assert_int_equal(ck->fails(&c, d, sizeof d), 1);
	m.sensitive = false;
	m.type = S("volume");
	m.source = S("/etc");
	assert_int_equal(ck->fails(&c, d, sizeof d), 0);
}

static void
test_drift_of_executables_only(void **state)
{
	struct fx		*fx = *state;
	struct tm_container	 c;
	struct tm_record	 rec;
	struct tm_drift_file	 files[] = {
		{ .path = S("/tmp/notes.txt"), .change = S("added"), .mode = 0100644 },
		{ .path = S("/tmp/miner"), .change = S("added"), .mode = 0100755 },
		{ .path = S("/usr/bin/gone"), .change = S("deleted"), .mode = 0100755 },
	};
	struct finding		 f;

	secure(&c, "drifty", "img-none");
	feed_container(fx, "host-d", &c, T0);
	memset(&rec, 0, sizeof rec);
	rec.host_id = S("host-d");
	rec.kind = TM_KIND_DRIFT;
	rec.body.drift.id = S("drifty");
	rec.body.drift.when = S("exec");
	rec.body.drift.files = files;
	rec.body.drift.n_files = 1;
	correlate_record(fx->cor, &rec, T0 + SEC);
	assert_int_equal(count(fx, "drift", "drifty", NULL, NULL, -1, NULL), 0);
	rec.body.drift.n_files = 3;
	correlate_record(fx->cor, &rec, T0 + 2 * SEC);
	assert_int_equal(count(fx, "drift", "drifty", NULL, NULL, 1, &f), 1);
	assert_non_null(strstr(f.detail, "/tmp/miner"));
	assert_null(strstr(f.detail, "/usr/bin/gone"));
	/* The same files again: no new finding, no change. */
	correlate_record(fx->cor, &rec, T0 + 3 * SEC);
	assert_int_equal(count(fx, "drift", "drifty", NULL, NULL, -1, NULL), 1);
}

static void
test_silent_host_opens_and_heartbeat_resolves(void **state)
{
	struct fx		*fx = *state;
	struct tm_record	 rec;
	struct finding		 f;

	memset(&rec, 0, sizeof rec);
	rec.host_id = S("host-e");
	rec.kind = TM_KIND_HEARTBEAT;
	rec.body.heartbeat.interval_ns = 5 * SEC;
	correlate_record(fx->cor, &rec, T0);
	correlate_tick(fx->cor, T0 + 14 * SEC);	/* 3 intervals: not yet */
	assert_int_equal(count(fx, "host-silent", NULL, NULL, NULL, -1, NULL),
	    0);
	correlate_tick(fx->cor, T0 + 16 * SEC);
	assert_int_equal(count(fx, "host-silent", NULL, NULL, NULL, 1, &f), 1);
	assert_string_equal(f.host, "host-e");
	correlate_tick(fx->cor, T0 + 30 * SEC);	/* still one */
	assert_int_equal(count(fx, "host-silent", NULL, NULL, NULL, -1, NULL),
	    1);
	correlate_record(fx->cor, &rec, T0 + 31 * SEC);
	assert_int_equal(count(fx, "host-silent", NULL, NULL, NULL, 0, &f), 1);
	assert_string_equal(f.reason, "heartbeat received");
	assert_int_equal(fx->seen.nnew, 1);
	assert_int_equal(fx->seen.nresolved, 1);
}

/* Sinks that keep: each holds what it is given. */
struct keep {
	const struct finding	*got[8];
	size_t			 n;
};

static void
keep_sink(const struct finding *f, enum finding_change ch, void *arg)
{
	struct keep *k = arg;

	(void)ch;
	assert_true(k->n < TM_NELEM(k->got));
	k->got[k->n++] = finding_hold(f);
}

static void
seen_ptr_sink(const struct finding *f, enum finding_change ch, void *arg)
{
	(void)ch;
	*(const struct finding **)arg = f;
}

/*
 * Every sink registered as keeping is given the same copy of a change
 * (one copy per change, not one per sink), not the engine's finding; it
 * lives while one of them holds it (ASan and valgrind check the rest).
 */
static void
test_keeping_sinks_share_one_copy(void **state)
{
	struct fx		*fx = *state;
	struct keep		 a = { .n = 0 }, b = { .n = 0 };
	const struct finding	*engine = NULL;
	struct tm_record	 rec;
	size_t			 i;

	assert_int_equal(correlate_add_sink(fx->cor, keep_sink, &a, 1), 0);
	assert_int_equal(correlate_add_sink(fx->cor, seen_ptr_sink, &engine,
	    0), 0);
	assert_int_equal(correlate_add_sink(fx->cor, keep_sink, &b, 1), 0);
	memset(&rec, 0, sizeof rec);
	rec.host_id = S("host-k");
	rec.kind = TM_KIND_HEARTBEAT;
	rec.body.heartbeat.interval_ns = 5 * SEC;
	correlate_record(fx->cor, &rec, T0);
	correlate_tick(fx->cor, T0 + 16 * SEC);		/* opened */
	correlate_record(fx->cor, &rec, T0 + 17 * SEC);	/* resolved */
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, 2);
	assert_int_equal(fx->seen.nnew, 1);
	assert_int_equal(fx->seen.nresolved, 1);
	for (i = 0; i < 2; i++) {
		assert_ptr_equal(a.got[i], b.got[i]);
		assert_ptr_not_equal(a.got[i], engine);
	}
	assert_ptr_not_equal(a.got[0], a.got[1]);
	assert_true(a.got[0]->open && !a.got[1]->open);
	assert_string_equal(a.got[1]->reason, "heartbeat received");
	assert_string_equal(a.got[1]->id, engine->id);
	for (i = 0; i < 2; i++) {
		finding_free((struct finding *)(uintptr_t)a.got[i]);
		/* b still holds it */
		assert_string_equal(b.got[i]->host, "host-k");
		assert_string_equal(b.got[i]->key, "host-silent|host-k");
		finding_free((struct finding *)(uintptr_t)b.got[i]);
	}
}

static void
test_restored_findings_are_not_announced_again(void **state)
{
	struct fx	*fx = *state;
	struct finding	 f, open;
	char		*key = NULL;

	/* A first engine's finding, as the store would give it back. */
	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	heartbleed_fleet(fx);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", NULL, NULL, 1,
	    &f), 1);
	/* Copies: the first engine's strings go with it. */
	open = f;
	xasprintf(&key, "%s", f.key);
	open.key = key;
	open.host = xstrdup(f.host);
	open.container = xstrdup(f.container);
	open.image = xstrdup(f.image);
	open.package = xstrdup(f.package);
	open.source = xstrdup(f.source);
	open.installed = xstrdup(f.installed);
	open.fixed = xstrdup(f.fixed);
	open.advisory = xstrdup(f.advisory);
	open.aliases = xstrdup(f.aliases);
	open.title = xstrdup(f.title);
	open.container_name = open.image_ref = open.check = NULL;
	open.detail = NULL;
	teardown(state);
	setup(state);
	fx = *state;
	correlate_restore(fx->cor, &open);
	/* The fleet replayed before the feed is loaded: nothing resolves. */
	heartbleed_fleet(fx);
	assert_int_equal(fx->seen.nresolved, 0);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", NULL, NULL, 1,
	    NULL), 1);
	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0 + 100 * SEC);
	assert_int_equal(fx->seen.nnew, 0);
	assert_int_equal(fx->seen.nresolved, 0);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", NULL, NULL, 1,
	    &f), 1);
	assert_string_equal(f.id, open.id);
	assert_int_equal(f.first_seen_ns, open.first_seen_ns);
	/* And it still resolves like any other. */
	feed_event(fx, "host-a", "ctr-vuln", "exit", T0 + 200 * SEC);
	assert_int_equal(fx->seen.nresolved, 1);
	free(key);
	free((char *)(uintptr_t)open.host);
	free((char *)(uintptr_t)open.container);
	free((char *)(uintptr_t)open.image);
	free((char *)(uintptr_t)open.package);
	free((char *)(uintptr_t)open.source);
	free((char *)(uintptr_t)open.installed);
	free((char *)(uintptr_t)open.fixed);
	free((char *)(uintptr_t)open.advisory);
	free((char *)(uintptr_t)open.aliases);
	free((char *)(uintptr_t)open.title);
}

static size_t
query_total(struct fx *fx, const char *const *kv, size_t n)
{
	struct findings_filter	 f;
	char			 why[256];
	json_t			*j;
	size_t			 i, total;

	findings_filter_init(&f);
	for (i = 0; i + 1 < n; i += 2)
		if (findings_filter_set(&f, kv[i], kv[i + 1], why,
		    sizeof why) == -1)
			fail_msg("%s=%s: %s", kv[i], kv[i + 1], why);
	j = findings_query(fx->cor, &f);
	total = (size_t)json_integer_value(json_object_get(j, "total"));
	json_decref(j);
	return total;
}

static void
test_findings_api_filters_pages_and_blast_radius(void **state)
{
	struct fx		*fx = *state;
	struct findings_filter	 f;
	char			 why[256];
	json_t			*j, *b;
	size_t			 all, vulns;

	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	heartbleed_fleet(fx);
	{
		struct tm_container c;

		/* Each host reports the images it runs. */
		feed_image(fx, "host-z", "img-vuln", "debian", "7", vuln, 2,
		    T0 + 2 * SEC);
		secure(&c, "priv", "img-vuln");
		c.risks.privileged = true;
		feed_container(fx, "host-z", &c, T0 + 2 * SEC);
	}
	all = query_total(fx, NULL, 0);
	vulns = query_total(fx, (const char *const[]){ "kind",
	    "vulnerability" }, 2);
	assert_int_equal(vulns, 2);	/* ctr-vuln and priv */
	assert_int_equal(all, 3);	/* and the 5.5 misconfiguration */
	assert_int_equal(query_total(fx, (const char *const[]){ "severity",
	    "critical" }, 2), 1);
	assert_int_equal(query_total(fx, (const char *const[]){ "severity",
	    "critical,high" }, 2), 3);
	assert_int_equal(query_total(fx, (const char *const[]){
	    "min_severity", "high" }, 2), 3);
	assert_int_equal(query_total(fx, (const char *const[]){ "host",
	    "host-z" }, 2), 2);
	assert_int_equal(query_total(fx, (const char *const[]){ "image",
	    "img-fixed" }, 2), 0);
	assert_int_equal(query_total(fx, (const char *const[]){ "advisory",
	    "CVE-2014-0160" }, 2), 2);
	assert_int_equal(query_total(fx, (const char *const[]){ "state",
	    "resolved" }, 2), 0);
	/* Bad parameters are refused with a reason. */
	findings_filter_init(&f);
	assert_int_equal(findings_filter_set(&f, "kind", "bogus", why,
	    sizeof why), -1);
	assert_int_equal(findings_filter_set(&f, "limit", "0", why,
	    sizeof why), -1);
	assert_int_equal(findings_filter_set(&f, "limit", "99999", why,
	    sizeof why), -1);
	assert_int_equal(findings_filter_set(&f, "state", "maybe", why,
	    sizeof why), -1);
	assert_int_equal(findings_filter_set(&f, "whatever", "1", why,
	    sizeof why), -1);
	/* Pages: two of one, then the end. */
	findings_filter_init(&f);
	findings_filter_set(&f, "limit", "2", why, sizeof why);
	j = findings_query(fx->cor, &f);
	assert_int_equal(json_array_size(json_object_get(j, "findings")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "next")), "2");
	json_decref(j);
	findings_filter_set(&f, "cursor", "2", why, sizeof why);
	j = findings_query(fx->cor, &f);
	assert_int_equal(json_array_size(json_object_get(j, "findings")), 1);
	assert_true(json_is_null(json_object_get(j, "next")));
	json_decref(j);

	/* Blast radius: two hosts now; after one exits, it is "earlier". */
	b = findings_blast_radius(fx->cor, "CVE-2014-0160");
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "id")),
	    "DSA-2896-1");
	assert_int_equal(json_array_size(json_object_get(json_object_get(b,
	    "now"), "hosts")), 2);
	assert_int_equal(json_array_size(json_object_get(json_object_get(b,
	    "now"), "images")), 1);
	json_decref(b);
	feed_event(fx, "host-z", "priv", "exit", T0 + 5 * SEC);
	b = findings_blast_radius(fx->cor, "DSA-2896-1");
	assert_int_equal(json_array_size(json_object_get(json_object_get(b,
	    "now"), "containers")), 1);
	assert_int_equal(json_array_size(json_object_get(json_object_get(b,
	    "earlier"), "containers")), 1);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(json_object_get(b, "earlier"), "hosts"), 0)),
	    "host-z");
	json_decref(b);
	assert_null(findings_blast_radius(fx->cor, "CVE-1999-0001"));
}

/*
 * A hostile or broken agent reports a popular image's key with a package
 * list of its own (the fixed openssl, then nothing at all): only its own
 * host's containers are judged by it.  Hosts that report the same list
 * share one inventory (matched once).
 */
static void
test_poisoned_inventory_stays_on_its_own_host(void **state)
{
	struct fx		*fx = *state;
	struct correlate_stats	 st;
	struct tm_container	 c;
	struct finding		 f;

	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	static struct tm_package lie[] = {
		{ .ecosystem = S("dpkg"), .name = S("libssl1.0.0"),
		  .version = S("1.0.1e-2+deb7u99"), .source_name = S("openssl"),
		  .source_version = S("1.0.1e-2+deb7u99") },
	};

	/* The liar reports first: a first-comer must not define the image. */
	feed_image(fx, "host-evil", "img-vuln", "debian", "7", lie, 1, T0);
	secure(&c, "ctr-evil", "img-vuln");
	feed_container(fx, "host-evil", &c, T0);
	heartbleed_fleet(fx);
	feed_image(fx, "host-b", "img-vuln", "debian", "7", vuln, 2, T0);
	secure(&c, "ctr-b", "img-vuln");
	feed_container(fx, "host-b", &c, T0 + SEC);
	assert_int_equal(count(fx, "vulnerability", "ctr-vuln", "DSA-2896-1",
	    NULL, 1, &f), 1);
	assert_string_equal(f.host, "host-a");
	assert_string_equal(f.installed, "1.0.1e-2+deb7u4");
	assert_int_equal(count(fx, "vulnerability", "ctr-b", "DSA-2896-1",
	    NULL, 1, &f), 1);
	assert_string_equal(f.host, "host-b");
	assert_int_equal(count(fx, "vulnerability", "ctr-evil", NULL, NULL,
	    -1, NULL), 0);
	correlate_stats(fx->cor, &st);
	assert_int_equal(st.images, 4);		/* (host, image) pairs */
	/* vuln (shared by a and b), fixed, the lie */
	assert_int_equal(st.inventories, 3);

	/* The liar changes its story (no packages at all), then the feed
	 * changes: nothing happens to the other hosts' findings. */
	feed_image(fx, "host-evil", "img-vuln", "debian", "7", NULL, 0,
	    T0 + 2 * SEC);
	correlate_reevaluate(fx->cor, T0 + 3 * SEC);
	assert_int_equal(count(fx, "vulnerability", NULL, "DSA-2896-1", NULL,
	    1, NULL), 2);
	assert_int_equal(fx->seen.nresolved, 0);
	assert_int_equal(fx->seen.twice, 0);
	correlate_stats(fx->cor, &st);
	assert_int_equal(st.inventories, 3);	/* the first lie is freed */

	/* A host that reports the vulnerable list for itself gets it. */
	feed_image(fx, "host-evil", "img-vuln", "debian", "7", vuln, 2,
	    T0 + 4 * SEC);
	assert_int_equal(count(fx, "vulnerability", "ctr-evil", "DSA-2896-1",
	    NULL, 1, NULL), 1);
	correlate_stats(fx->cor, &st);
	assert_int_equal(st.inventories, 2);
}

/*
 * Host ids and container ids are any strings: host "h" naming container
 * "1/c" or image "1/img" must not reach host "h/1"'s container "c" or image
 * "img".
 */
static void
test_host_ids_cannot_reach_another_hosts_containers(void **state)
{
	struct fx		*fx = *state;
	struct tm_container	 c;

	correlate_set_feed(fx->cor, feed_of(HEARTBLEED), T0);
	feed_image(fx, "h/1", "img", "debian", "7", fixed, 1, T0);
	secure(&c, "c", "img");
	c.risks.privileged = true;
	feed_container(fx, "h/1", &c, T0);
	assert_int_equal(count(fx, "misconfiguration", "c", NULL, "5.5", 1,
	    NULL), 1);
	/* Host "h": an image "1/img" that is vulnerable, a delete of "1/c". */
	feed_image(fx, "h", "1/img", "debian", "7", vuln, 2, T0 + SEC);
	feed_event(fx, "h", "1/c", "delete", T0 + SEC);
	feed_event(fx, "h", "1/c", "exit", T0 + SEC);
	assert_int_equal(count(fx, "misconfiguration", "c", NULL, "5.5", 1,
	    NULL), 1);
	assert_int_equal(count(fx, "vulnerability", NULL, NULL, NULL, -1,
	    NULL), 0);
	assert_int_equal(fx->seen.nresolved, 0);
	/* The same with '%' (the escape character) in the host id. */
	feed_event(fx, "h%2F1", "c", "exit", T0 + 2 * SEC);
	assert_int_equal(count(fx, "misconfiguration", "c", NULL, "5.5", 1,
	    NULL), 1);
}

/*
 * A finding's id: its first seen time in 16 hex digits, then 16 of the
 * hash of its key and that time.  The same finding gets the same id; ids
 * sort by first seen (the store's index grows at its end); findings of
 * one moment differ by their key.
 */
static void
test_finding_ids_sort_by_first_seen(void **state)
{
	struct finding	 a = { .key = "vuln|h1|c1|openssl|CVE-1",
			    .first_seen_ns = 1765000000123456789ULL };
	struct finding	 b = a, c = a, d = a, e = a;
	size_t		 i;

	(void)state;
	finding_set_id(&a);
	assert_int_equal(strlen(a.id), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a.id[i]));
	/* Python: "%016x" % t + sha256(key + b"\0" + str(t)).hexdigest()[:16] */
	assert_string_equal(a.id, "187e8a2613ec4d15d7d70d5f7ebdaed1");
	finding_set_id(&b);
	assert_string_equal(a.id, b.id);	/* stable */
	c.key = "vuln|h1|c1|openssl|CVE-2";
	finding_set_id(&c);			/* same moment, other key */
	assert_memory_equal(a.id, c.id, 16);
	assert_string_not_equal(a.id, c.id);
	d.first_seen_ns++;			/* same key, later */
	finding_set_id(&d);
	assert_string_not_equal(a.id, d.id);
	assert_true(strcmp(a.id, d.id) < 0 && strcmp(c.id, d.id) < 0);
	/* A second later sorts after, whatever the hashes; and so does
	 * every later decade (16 digits hold ns until 2554). */
	e.first_seen_ns += 1000000000ULL;
	e.key = "misconfig|h0|c0|5.5";
	finding_set_id(&e);
	assert_true(strcmp(d.id, e.id) < 0);
	e.first_seen_ns = 0xffffffffffffffffULL;
	finding_set_id(&e);
	assert_memory_equal(e.id, "ffffffffffffffff", 16);
	assert_int_equal(strlen(e.id), 32);
}

/* finding_dup copies every string (one block) and keeps the rest. */
static void
test_finding_dup_copies_every_string(void **state)
{
	char		 detail[] = "detail text";
	struct finding	 f = {
		.key = "vuln|h1|c1|openssl|CVE-1", .kind = FINDING_VULN,
		.level = SEV_HIGH, .score = 7.5, .host = "h1",
		.container = "c1", .container_name = "web", .image = "sha256:ab",
		.image_ref = "web:1", .package = "libssl3", .source = "openssl",
		.installed = "3.0.11-1", .fixed = NULL, .advisory = "DSA-1",
		.aliases = "CVE-1", .check = NULL, .title = "t",
		.detail = detail, .first_seen_ns = 1, .last_seen_ns = 2,
		.resolved_ns = 3, .reason = "fixed", .open = 0, .mark = 9,
	};
	struct finding	*d;

	(void)state;
	finding_set_id(&f);
	d = finding_dup(&f);
	detail[0] = 'X';	/* the copy does not share it */
	assert_string_equal(d->detail, "detail text");
	assert_true(d->key != f.key && d->host != f.host);
	assert_string_equal(d->key, f.key);
	assert_string_equal(d->host, "h1");
	assert_string_equal(d->container, "c1");
	assert_string_equal(d->container_name, "web");
	assert_string_equal(d->image, "sha256:ab");
	assert_string_equal(d->image_ref, "web:1");
	assert_string_equal(d->package, "libssl3");
	assert_string_equal(d->source, "openssl");
	assert_string_equal(d->installed, "3.0.11-1");
	assert_null(d->fixed);
	assert_string_equal(d->advisory, "DSA-1");
	assert_string_equal(d->aliases, "CVE-1");
	assert_null(d->check);
	assert_string_equal(d->title, "t");
	assert_string_equal(d->reason, "fixed");
	assert_string_equal(d->id, f.id);
	assert_int_equal(d->kind, FINDING_VULN);
	assert_int_equal(d->level, SEV_HIGH);
	assert_true(d->score == 7.5);
	assert_int_equal(d->first_seen_ns, 1);
	assert_int_equal(d->last_seen_ns, 2);
	assert_int_equal(d->resolved_ns, 3);
	assert_int_equal(d->open, 0);
	assert_int_equal(d->mark, 9);
	finding_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finding_ids_sort_by_first_seen),
		cmocka_unit_test(test_finding_dup_copies_every_string),
		cmocka_unit_test_setup_teardown(test_heartbleed_finding_on_the_vulnerable_container_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_after_the_fleet_opens_findings_then_withdrawal_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_after_its_container_is_evaluated_on_arrival, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_resolves_and_brief_life_is_short_lived, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_cis_check_fails_one_container_and_passes_another, setup, teardown),
		cmocka_unit_test(test_sensitive_mounts_beyond_the_agent_flag),
		cmocka_unit_test_setup_teardown(test_drift_of_executables_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_host_opens_and_heartbeat_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeping_sinks_share_one_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restored_findings_are_not_announced_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_findings_api_filters_pages_and_blast_radius, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poisoned_inventory_stays_on_its_own_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_ids_cannot_reach_another_hosts_containers, setup, teardown),
	};

	log_init("test-correlate", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
