/*
 * osv-source.c: where OSV records come from.  Each item of feeds.osv is one
 * of:
 *   - a folder: every *.json file under it (sub-folders too, at most
 *     OSV_DIR_DEPTH deep; symbolic links are not followed);
 *   - a zip archive (OSV publishes one per ecosystem, ECOSYSTEM/all.zip):
 *     every *.json member, read with libzip;
 *   - a single .json file (one record, or an array of records);
 *   - an http:// or https:// URL of any of the two file kinds above,
 *     downloaded with libcurl into a cache folder, with If-None-Match and
 *     If-Modified-Since so an unchanged feed costs one 304, and retries with
 *     exponential backoff on transport errors, 429 and 5xx.  When every try
 *     fails the last good download is used (and the failure reported).
 *
 * Everything read is untrusted: sizes are bounded before reading (a zip
 * member's declared size is checked and not trusted: reads stop at the
 * bound), counts are bounded, and a bad file is counted and skipped.
 *
 * osv_feeds_load() is blocking (disk and network): the collector runs it on
 * libuv's thread pool and swaps the finished database in on the loop.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zip.h>

#include "collector/collector.h"

#define OSV_DIR_DEPTH		8
#define OSV_ZIP_ENTRIES_MAX	4000000u
#define OSV_DOWNLOAD_MAX	(2ull * 1024 * 1024 * 1024)	/* one URL */
#define OSV_HDR_MAX		512

/* 1 if name ends with suffix. */
static int
osv_ends_with(const char *name, const char *suffix)
{
	size_t	n = strlen(name), s = strlen(suffix);

	return n >= s && strcmp(name + n - s, suffix) == 0;
}

/* Parse one file's bytes into db; a rejection is counted (by osv.c) and
 * logged at most a few times per load. */
static void
osv_source_parse(struct osv_db *db, struct osv_load_stats *ls,
    const char *buf, size_t len, const char *origin)
{
	char	err[512];

	ls->files++;
	if (osv_db_parse(db, buf, len, origin, err, sizeof err) == -1) {
		ls->bad_files++;
		if (ls->bad_files <= 5)
			log_warnx("osv: %s", err);
	}
}

static int
osv_load_dir_at(struct osv_db *db, struct osv_load_stats *ls, int dfd,
    const char *path, int depth)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = fdopendir(dfd)) == NULL) {
		log_warn("osv: %s", path);
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char		*sub = NULL, *buf;
		struct stat	 st;
		size_t		 len;
		int		 fd;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd == -1)
			continue;	/* a symlink (ELOOP) or unreadable */
		if (fstat(fd, &st) == -1) {
			close(fd);
			continue;
		}
		xasprintf(&sub, "%s/%s", path, de->d_name);
		if (S_ISDIR(st.st_mode)) {
			if (depth < OSV_DIR_DEPTH)
				osv_load_dir_at(db, ls, fd, sub, depth + 1);
			else
				close(fd);
		} else if (S_ISREG(st.st_mode) &&
		    osv_ends_with(de->d_name, ".json")) {
			if (safe_read_fd(fd, OSV_RECORD_MAX, &buf, &len) == -1) {
				ls->files++;
				ls->bad_files++;
				osv_db_count_rejected(db);
				log_warn("osv: %s", sub);
			} else {
				osv_source_parse(db, ls, buf, len, sub);
				free(buf);
			}
			close(fd);
		} else
			close(fd);
		free(sub);
	}
	closedir(d);
	return 0;
}

/* Every *.json under folder path.  Returns 0, or -1 if path cannot be read. */
int
osv_load_dir(struct osv_db *db, struct osv_load_stats *ls, const char *path)
{
	int	fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		log_warn("osv: %s", path);
		return -1;
	}
	return osv_load_dir_at(db, ls, fd, path, 0);
}

/* Read at most max bytes of an open zip member; -1 if larger or broken. */
static int
osv_zip_read(zip_file_t *zf, size_t max, char **buf, size_t *len)
{
	size_t	cap = 65536, n = 0;
	char	*b = xmalloc(cap);

	for (;;) {
		zip_int64_t r;

		if (n == cap) {
			if (cap > max) {
				free(b);
				return -1;
			}
			cap *= 2;
			b = xreallocarray(b, cap, 1);
		}
		r = zip_fread(zf, b + n, cap - n);
		if (r < 0) {
			free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(b);
			return -1;
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Every *.json member of the zip archive at path.  Returns 0 or -1. */
int
osv_load_zip(struct osv_db *db, struct osv_load_stats *ls, const char *path)
{
	zip_t		*za;
	zip_int64_t	 n, i;
	int		 zerr;

	if ((za = zip_open(path, ZIP_RDONLY, &zerr)) == NULL) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		log_warnx("osv: %s: not a readable zip archive: %s", path,
		    zip_error_strerror(&ze));
		zip_error_fini(&ze);
		osv_db_count_rejected(db);
		return -1;
	}
	n = zip_get_num_entries(za, 0);
	if (n < 0 || (uint64_t)n > OSV_ZIP_ENTRIES_MAX) {
		log_warnx("osv: %s: %lld members (at most %u)", path,
		    (long long)n, OSV_ZIP_ENTRIES_MAX);
		zip_discard(za);
		osv_db_count_rejected(db);
		return -1;
	}
	for (i = 0; i < n; i++) {
		zip_stat_t	 zs;
		zip_file_t	*zf;
		char		*buf, *origin = NULL;
		size_t		 len;

		if (zip_stat_index(za, (zip_uint64_t)i, 0, &zs) == -1 ||
		    !(zs.valid & ZIP_STAT_NAME) ||
		    !osv_ends_with(zs.name, ".json"))
			continue;
		xasprintf(&origin, "%s:%s", path, zs.name);
		if ((zs.valid & ZIP_STAT_SIZE) && zs.size > OSV_RECORD_MAX) {
			ls->files++;
			ls->bad_files++;
			osv_db_count_rejected(db);
			log_warnx("osv: %s: %llu bytes (at most %u)", origin,
			    (unsigned long long)zs.size, OSV_RECORD_MAX);
			free(origin);
			continue;
		}
		if ((zf = zip_fopen_index(za, (zip_uint64_t)i, 0)) == NULL ||
		    osv_zip_read(zf, OSV_RECORD_MAX, &buf, &len) == -1) {
			ls->files++;
			ls->bad_files++;
			osv_db_count_rejected(db);
			log_warnx("osv: %s: cannot read member: %s", origin,
			    zip_strerror(za));
			if (zf != NULL)
				zip_fclose(zf);
			free(origin);
			continue;
		}
		zip_fclose(zf);
		osv_source_parse(db, ls, buf, len, origin);
		free(buf);
		free(origin);
	}
	zip_discard(za);
	return 0;
}

/* A local item: folder, zip (by magic, not name) or one JSON file. */
int
osv_load_path(struct osv_db *db, struct osv_load_stats *ls, const char *path)
{
	struct stat	 st;
	char		 magic[4];
	char		*buf;
	size_t		 len;
	int		 fd, rc;

	if (stat(path, &st) == -1) {
		log_warn("osv: %s", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return osv_load_dir(db, ls, path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("osv: %s", path);
		return -1;
	}
	if (read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
	    memcmp(magic, "PK\3\4", 4) == 0) {
		close(fd);
		return osv_load_zip(db, ls, path);
	}
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    safe_read_fd(fd, OSV_BODY_MAX, &buf, &len) == -1) {
		log_warn("osv: %s", path);
		close(fd);
		osv_db_count_rejected(db);
		return -1;
	}
	close(fd);
	rc = 0;
	ls->files++;
	{
		char err[512];

		if (osv_db_parse(db, buf, len, path, err, sizeof err) == -1) {
			ls->bad_files++;
			log_warnx("osv: %s", err);
			rc = -1;
		}
	}
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* URLs */

struct osv_dl {
	FILE		*fp;
	uint64_t	 bytes;
	char		 etag[OSV_HDR_MAX];
	int		 too_big;
};

static size_t
osv_dl_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct osv_dl	*dl = arg;
	size_t		 n = size * nmemb;

	if (dl->bytes + n > OSV_DOWNLOAD_MAX) {
		dl->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	dl->bytes += n;
	return fwrite(ptr, 1, n, dl->fp);
}

/* Keep the ETag response header (a new response clears it). */
static size_t
osv_dl_header(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct osv_dl	*dl = arg;
	size_t		 n = size * nmemb, vlen;
	const char	*v;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0)
		dl->etag[0] = '\0';
	if (n > 5 && strncasecmp(buf, "ETag:", 5) == 0) {
		v = buf + 5;
		while (v < buf + n && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(buf + n - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' ||
		    v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen > 0 && vlen < sizeof dl->etag) {
			/* Printable ASCII only: it goes back in a header. */
			size_t i;

			for (i = 0; i < vlen; i++)
				if (v[i] < 0x20 || v[i] > 0x7e)
					return n;
			memcpy(dl->etag, v, vlen);
			dl->etag[vlen] = '\0';
		}
	}
	return n;
}

/* The cache file names of url: DIR/osv-<sha256(url)>.{body,meta}. */
static void
osv_cache_paths(const char *dir, const char *url, char **body, char **meta)
{
	struct sha256_ctx	 c;
	uint8_t			 d[32];
	char			 hex[65];

	sha256_init(&c);
	sha256_update(&c, url, strlen(url));
	sha256_final(&c, d);
	sha256_hex(d, hex);
	xasprintf(body, "%s/osv-%.16s.body", dir, hex);
	xasprintf(meta, "%s/osv-%.16s.meta", dir, hex);
}

/* meta holds "ETAG\nFILETIME\n" of the cached body. */
static void
osv_meta_read(const char *meta, char *etag, size_t etaglen, long long *ftime)
{
	FILE	*fp;
	char	 line[OSV_HDR_MAX + 2];

	etag[0] = '\0';
	*ftime = -1;
	if ((fp = fopen(meta, "re")) == NULL)
		return;
	if (fgets(line, sizeof line, fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(etag, etaglen, "%s", line);
	}
	if (fgets(line, sizeof line, fp) != NULL)
		*ftime = strtoll(line, NULL, 10);
	fclose(fp);
}

static void
osv_meta_write(const char *meta, const char *etag, long long ftime)
{
	char	*tmp = NULL;
	FILE	*fp;

	xasprintf(&tmp, "%s.tmp", meta);
	if ((fp = fopen(tmp, "we")) != NULL) {
		fprintf(fp, "%s\n%lld\n", etag, ftime);
		if (fclose(fp) == 0)
			rename(tmp, meta);
		else
			unlink(tmp);
	}
	free(tmp);
}

/*
 * One GET of url into tmp, conditional on the cached etag/filetime.
 * Returns the HTTP status (200, 304, ...), or 0 on a transport error (err).
 */
static long
osv_fetch_once(const char *url, const char *tmp, const char *etag,
    long long ftime, struct osv_dl *dl, long long *newftime, char *err,
    size_t errlen)
{
	CURL			*c;
	struct curl_slist	*hdrs = NULL;
	char			 ebuf[CURL_ERROR_SIZE] = "";
	char			*inm = NULL;
	long			 status = 0;
	curl_off_t		 ft = -1;
	CURLcode		 rc;

	memset(dl, 0, sizeof *dl);
	if ((dl->fp = fopen(tmp, "we")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return 0;
	}
	if ((c = curl_easy_init()) == NULL)
		fatalx("osv: curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tallyman-collector/"
	    PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, osv_dl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, dl);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, osv_dl_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, dl);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	if (etag != NULL && *etag != '\0') {
		xasprintf(&inm, "If-None-Match: %s", etag);
		hdrs = curl_slist_append(hdrs, inm);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	if (ftime >= 0) {
		curl_easy_setopt(c, CURLOPT_TIMECONDITION,
		    (long)CURL_TIMECOND_IFMODSINCE);
		curl_easy_setopt(c, CURLOPT_TIMEVALUE_LARGE, (curl_off_t)ftime);
	}
	rc = curl_easy_perform(c);
	if (fclose(dl->fp) != 0 && rc == CURLE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		rc = CURLE_WRITE_ERROR;
	}
	dl->fp = NULL;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft);
		*newftime = ft;
		/* libcurl answers a time condition unmet without a 304. */
		if (status == 200 && ftime >= 0) {
			long unmet = 0;

			curl_easy_getinfo(c, CURLINFO_CONDITION_UNMET, &unmet);
			if (unmet)
				status = 304;
		}
	} else if (dl->too_big) {
		snprintf(err, errlen, "larger than %llu bytes",
		    (unsigned long long)OSV_DOWNLOAD_MAX);
	} else if (err[0] == '\0') {
		snprintf(err, errlen, "%s", ebuf[0] ? ebuf :
		    curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdrs);
	free(inm);
	curl_easy_cleanup(c);
	return status;
}

/*
 * Bring url's body up to date in the cache folder and load it into db.
 * Tries up to f->retries + 1 times, sleeping f->backoff_ms, then twice as
 * long, ... between tries (only after transport errors, 408, 429, 5xx).  A
 * 304 loads the cached body.  When every try failed and a cached body
 * exists, it is loaded (stale) and -1 is still returned so the failure is
 * seen.  Returns 0 or -1.
 */
int
osv_load_url(struct osv_db *db, struct osv_load_stats *ls,
    const struct osv_feeds *f, const char *url)
{
	struct osv_dl	 dl;
	char		*body, *meta, *tmp = NULL;
	char		 etag[OSV_HDR_MAX], err[CURL_ERROR_SIZE + 256];
	long long	 ftime, newftime = -1;
	uint64_t	 delay = f->backoff_ms;
	unsigned	 try;
	long		 status = 0;
	int		 rc = -1, have_cache;

	osv_cache_paths(f->cache_dir, url, &body, &meta);
	xasprintf(&tmp, "%s.tmp", body);
	have_cache = access(body, R_OK) == 0;
	osv_meta_read(meta, etag, sizeof etag, &ftime);
	if (!have_cache) {
		etag[0] = '\0';
		ftime = -1;
	}
	for (try = 0; try <= f->retries; try++) {
		err[0] = '\0';
		ls->downloads++;
		status = osv_fetch_once(url, tmp, etag, ftime, &dl, &newftime,
		    err, sizeof err);
		if (status == 200 || status == 304)
			break;
		if (status != 0 && status != 408 && status != 429 &&
		    status < 500)
			break;	/* 404, 403...: trying again will not help */
		if (try < f->retries) {
			struct timespec ts = {
				.tv_sec = (time_t)(delay / 1000),
				.tv_nsec = (long)(delay % 1000) * 1000000L,
			};

			log_warnx("osv: %s: %s; try %u of %u again in %llu ms",
			    url, status ? "HTTP error" : err, try + 2,
			    f->retries + 1, (unsigned long long)delay);
			nanosleep(&ts, NULL);
			delay *= 2;
		}
	}
	if (status == 200) {
		if (rename(tmp, body) == -1) {
			log_warn("osv: %s: rename %s", url, tmp);
		} else {
			osv_meta_write(meta, dl.etag, newftime);
			have_cache = 1;
			rc = 0;
		}
		ls->downloaded_bytes += dl.bytes;
	} else if (status == 304) {
		ls->not_modified++;
		unlink(tmp);
		rc = 0;
	} else {
		unlink(tmp);
		if (status != 0)
			log_warnx("osv: %s: HTTP status %ld%s", url, status,
			    have_cache ? "; using the last download" : "");
		else
			log_warnx("osv: %s: %s%s", url, err,
			    have_cache ? "; using the last download" : "");
		ls->failed_urls++;
	}
	if (have_cache && osv_load_path(db, ls, body) == -1)
		rc = -1;
	free(tmp);
	free(body);
	free(meta);
	return rc;
}

/* 1 if item is a URL we fetch. */
static int
osv_is_url(const char *item)
{
	return strncmp(item, "http://", 7) == 0 ||
	    strncmp(item, "https://", 8) == 0;
}

/*
 * Load every item of f (folders, zips, files, URLs) into a new, finished
 * database.  Items that fail are logged and counted in *ls (failed_items);
 * the database holds whatever loaded.  Caller owns the result.
 */
struct osv_db *
osv_feeds_load(const struct osv_feeds *f, struct osv_load_stats *ls)
{
	struct osv_db	*db = osv_db_new();
	size_t		 i;

	memset(ls, 0, sizeof *ls);
	for (i = 0; i < f->nitems; i++) {
		int rc;

		if (osv_is_url(f->items[i]))
			rc = osv_load_url(db, ls, f, f->items[i]);
		else
			rc = osv_load_path(db, ls, f->items[i]);
		if (rc == -1)
			ls->failed_items++;
	}
	osv_db_finish(db);
	return db;
}
