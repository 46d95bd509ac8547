/*
 * cmd-feeds.c: `tallyman-collector feeds [--match OS-ID VERSION-ID
 * PKG-ECOSYSTEM NAME VERSION [SOURCE [SOURCE-VERSION]]]`.
 *
 * Loads feeds.osv once, exactly as `run` does (folders, zips, URLs with the
 * download cache beside store.path), and prints what it loaded as one JSON
 * object: advisories, withdrawn, rejected, files, downloads, 304 answers,
 * failed items and the feed digest.  With --match it also answers "which
 * advisories affect this package on this OS?" the way the engine matches an
 * image's package.  Exit status: 0, 1 when an item failed to load.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "collector/collector.h"

static int
cmd_feeds_match(const struct osv_match *m, void *arg)
{
	json_t	*arr = arg, *o = json_object(), *al = json_array();
	size_t	 i;

	json_object_set_new(o, "advisory", json_string(m->vuln->id));
	for (i = 0; i < m->vuln->naliases; i++)
		json_array_append_new(al, json_string(m->vuln->aliases[i]));
	json_object_set_new(o, "aliases", al);
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "version", json_string(m->version));
	json_object_set_new(o, "fixed_version", m->fixed ?
	    json_string(m->fixed) : json_null());
	json_object_set_new(o, "severity",
	    json_string(sev_level_name(m->vuln->level)));
	if (m->vuln->score >= 0.0)
		json_object_set_new(o, "score", json_real(m->vuln->score));
	json_array_append_new(arr, o);
	return 0;
}

static int
cmd_feeds_exec(struct collector_config *cfg, const struct cli_opts *opts,
    int argc, char **argv)
{
	struct osv_feeds	 f;
	struct osv_load_stats	 ls;
	struct osv_db_stats	 ds;
	struct osv_db		*db;
	json_t			*out;
	char			*copy, *dir = NULL, *slash, *s;
	int			 rc = 0;

	if (argc != 1 && !(argc >= 7 && argc <= 9 &&
	    strcmp(argv[1], "--match") == 0)) {
		fprintf(stderr, "usage: tallyman-collector feeds [--match OS-ID "
		    "VERSION-ID PKG-ECOSYSTEM NAME VERSION [SOURCE "
		    "[SOURCE-VERSION]]]\n");
		return 2;
	}
	memset(&f, 0, sizeof f);
	f.items = cfg_list_split(cfg->feeds_osv, &f.nitems);
	copy = xstrdup(cfg->store_path);
	slash = strrchr(copy, '/');
	if (slash != NULL)
		*slash = '\0';
	xasprintf(&dir, "%s/feeds", slash != NULL ? (*copy ? copy : "/") :
	    ".");
	free(copy);
	(void)mkdir(dir, 0700);	/* may exist; a failure shows on download */
	f.cache_dir = dir;
	f.retries = 3;
	f.backoff_ms = 500;
	db = osv_feeds_load(&f, &ls);
	osv_db_stats(db, &ds);
	out = json_object();
	json_object_set_new(out, "advisories", json_integer((json_int_t)ds.live));
	json_object_set_new(out, "withdrawn",
	    json_integer((json_int_t)ds.withdrawn));
	json_object_set_new(out, "rejected",
	    json_integer((json_int_t)ds.rejected));
	json_object_set_new(out, "duplicates",
	    json_integer((json_int_t)ds.duplicates));
	json_object_set_new(out, "files", json_integer((json_int_t)ls.files));
	json_object_set_new(out, "bad_files",
	    json_integer((json_int_t)ls.bad_files));
	json_object_set_new(out, "downloads",
	    json_integer((json_int_t)ls.downloads));
	json_object_set_new(out, "not_modified",
	    json_integer((json_int_t)ls.not_modified));
	json_object_set_new(out, "failed_items",
	    json_integer((json_int_t)ls.failed_items));
	json_object_set_new(out, "digest", json_string(osv_db_digest(db)));
	if (argc >= 7) {
		struct eco_target	 t;
		struct tm_package	 p;
		json_t			*arr = json_array();

		memset(&p, 0, sizeof p);
		p.ecosystem = argv[4];
		p.name = argv[5];
		p.version = argv[6];
		p.source_name = argc > 7 ? argv[7] : NULL;
		p.source_version = argc > 8 ? argv[8] : NULL;
		if (ecosystem_map(argv[2], argv[3], NULL, &t) == -1) {
			fprintf(stderr, "tallyman-collector feeds: %s %s is not "
			    "an OS an OSV ecosystem covers\n", argv[2], argv[3]);
			rc = 1;
		} else {
			json_object_set_new(out, "ecosystem", json_string(t.eco));
			if (osv_match_package(db, &t, &p, cmd_feeds_match,
			    arr) == -1) {
				fprintf(stderr, "tallyman-collector feeds: '%s' "
				    "is not a valid %s version\n", p.version,
				    t.scheme->name);
				rc = 1;
			}
		}
		json_object_set_new(out, "matches", arr);
	}
	s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%s\n", s);
	free(s);
	json_decref(out);
	osv_db_free(db);
	cfg_list_free(f.items);
	free(dir);
	if (ls.failed_items > 0 && rc == 0)
		rc = 1;
	return rc;
}

const struct collector_cmd collector_cmd_feeds = {
	.name = "feeds",
	.usage = "[--match OS-ID VERSION-ID dpkg|rpm|apk NAME VERSION "
	    "[SOURCE [SOURCE-VERSION]]]",
	.help = "load feeds.osv once, print what loaded (and which advisories "
	    "affect a package)",
	.exec = cmd_feeds_exec,
};
