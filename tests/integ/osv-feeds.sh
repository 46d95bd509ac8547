#!/bin/bash
# osv-feeds.sh: OSV feeds load from a folder, a zip archive and URLs (with
# ETag / If-None-Match, retries with backoff, and the last download kept when
# the server is gone), and the Heartbleed advisory matches Debian's
# libssl1.0.0 1.0.1e-2+deb7u4 through its source package openssl, but not
# the fixed 1.0.1e-2+deb7u5.  Driven through `tallyman-collector feeds`,
# against a small HTTP server on 127.0.0.1 that the test starts.
. "$(dirname "$0")/../lib/harness.sh"

harness_init
harness_require_cmd python3 jq
COLLECTOR=$(prog_path collector/tallyman-collector)
HTTPD_PID=

stop_httpd() {
	if [ -n "$HTTPD_PID" ]; then
		kill "$HTTPD_PID" 2>/dev/null
		wait "$HTTPD_PID" 2>/dev/null
		HTTPD_PID=
	fi
}
tap_at_done stop_httpd

D=$TM_TMP/osv
mkdir -p "$D/folder/debian" "$D/www" "$D/state"
cat >"$D/folder/debian/DSA-2896-1.json" <<'JSON'
{"id": "DSA-2896-1", "modified": "2014-04-07T00:00:00Z",
 "aliases": ["CVE-2014-0160"], "summary": "openssl security update",
 "severity": [{"type": "CVSS_V3",
   "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
 "affected": [{"package": {"ecosystem": "Debian:7", "name": "openssl"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
     {"fixed": "1.0.1e-2+deb7u5"}]}]}]}
JSON
echo '{"id": "DLA-0-1", "modified": "x", "withdrawn": "2020-01-01T00:00:00Z"}' \
    >"$D/folder/debian/DLA-0-1.json"
echo '{not json' >"$D/folder/debian/broken.json"
python3 - "$D/folder/debian" "$D/www/all.zip" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(src)):
        if n != "broken.json":
            z.write(os.path.join(src, n), n)
PY
cp "$D/www/all.zip" "$D/www/flaky-2-all.zip"
# Served with Last-Modified (an hour ago) and no ETag.
cp "$D/www/all.zip" "$D/www/lm-all.zip"
touch -d '1 hour ago' "$D/www/lm-all.zip"

# feeds FEEDS [ARGS...]: run the command with its own store folder.
feeds() {
	local list=$1
	shift
	"$COLLECTOR" -o store.path="$D/state/collector.db" -o feeds.osv="$list" \
	    --log-level error feeds "$@"
}

VULN=(--match debian 7 dpkg libssl1.0.0 1.0.1e-2+deb7u4 openssl 1.0.1e-2+deb7u4)
FIXED=(--match debian 7 dpkg libssl1.0.0 1.0.1e-2+deb7u5 openssl 1.0.1e-2+deb7u5)

# A folder: two records, one withdrawn, one broken file counted.
out=$(feeds "$D/folder" "${VULN[@]}")
tap_is "$(jq -r '[.advisories, .withdrawn, .bad_files] | @tsv' <<<"$out")" \
    "1	1	1" "folder: one advisory, one withdrawn, one broken file counted"
tap_is "$(jq -r '.matches[0] | [.advisory, .name, .fixed_version, .severity, .aliases[0]] | @tsv' <<<"$out")" \
    "DSA-2896-1	openssl	1.0.1e-2+deb7u5	high	CVE-2014-0160" \
    "libssl1.0.0 +deb7u4 matched through source openssl, fixed in +deb7u5"
out=$(feeds "$D/folder" "${FIXED[@]}")
tap_is "$(jq -r '.matches | length' <<<"$out")" 0 \
    "libssl1.0.0 +deb7u5 is not affected"
out=$(feeds "$D/folder" --match debian 12 dpkg libssl1.0.0 1.0.1e-2+deb7u4 openssl)
tap_is "$(jq -r '.matches | length' <<<"$out")" 0 \
    "Debian 12 does not take Debian 7's advisory"

# A zip archive on disk.
out=$(feeds "$D/www/all.zip" "${VULN[@]}")
tap_is "$(jq -r '[.advisories, .files, (.matches | length)] | @tsv' <<<"$out")" \
    "1	2	1" "zip archive: its JSON members load and match"

# URLs.
python3 "$top_srcdir/tests/lib/osv-http.py" "$D/www" "$D/port" "$D/http.log" \
    >>"$TM_LOGS/httpd.log" 2>&1 </dev/null &
HTTPD_PID=$!
harness_wait_for "the HTTP server" 30 test -s "$D/port" ||
    tap_bail "HTTP server did not start"
URL=http://127.0.0.1:$(cat "$D/port")

out=$(feeds "$URL/all.zip" "${VULN[@]}")
rc=$?
tap_is "$rc/$(jq -r '[.advisories, .downloads, (.matches | length)] | @tsv' <<<"$out")" \
    "0/1	1	1" "URL: downloaded once, loaded, matched"
digest1=$(jq -r .digest <<<"$out")
out=$(feeds "$URL/all.zip" "${VULN[@]}")
tap_is "$(jq -r '[.not_modified, .advisories, (.matches | length)] | @tsv' <<<"$out")" \
    "1	1	1" "URL again: 304 Not Modified, the cached copy is used"
tap_is "$(jq -r .digest <<<"$out")" "$digest1" "same feed, same digest"
tap_like "$(grep ' /all.zip 304 ' "$D/http.log")" '"[0-9a-f]{16}"' \
    "the second request sent If-None-Match with the ETag"

# A server that gives Last-Modified and no ETag: If-Modified-Since.
out=$(feeds "$URL/lm-all.zip" "${VULN[@]}")
tap_is "$(jq -r '[.downloads, .not_modified, .advisories, (.matches | length)] | @tsv' <<<"$out")" \
    "1	0	1	1" "Last-Modified URL: downloaded, loaded, matched"
out=$(feeds "$URL/lm-all.zip" "${VULN[@]}")
tap_is "$(jq -r '[.not_modified, .advisories, (.matches | length)] | @tsv' <<<"$out")" \
    "1	1	1" "Last-Modified URL again: 304, the cached copy is used"
tap_like "$(grep ' /lm-all.zip 304 ' "$D/http.log")" \
    "^GET /lm-all.zip 304 - $(date -u -d "@$(stat -c %Y "$D/www/lm-all.zip")" '+%a,_%d_%b_%Y_%H:%M:%S_GMT')\$" \
    "the second request sent If-Modified-Since with the file's time, no If-None-Match"
touch "$D/www/lm-all.zip"
out=$(feeds "$URL/lm-all.zip" "${VULN[@]}")
tap_is "$(jq -r '[.not_modified, .downloads, .advisories] | @tsv' <<<"$out")" \
    "0	1	1" "Last-Modified URL changed on the server: downloaded again"

out=$(feeds "$URL/flaky-2-all.zip")
rc=$?
tap_is "$rc/$(jq -r '[.downloads, .advisories] | @tsv' <<<"$out")" "0/3	1" \
    "two 503 answers: retried with backoff, third try loads"

out=$(feeds "$URL/missing.zip")
rc=$?
tap_is "$rc/$(jq -r '[.downloads, .failed_items] | @tsv' <<<"$out")" "1/1	1" \
    "404: no retry, the item fails, the command exits 1"

stop_httpd
out=$(feeds "$URL/all.zip" "${VULN[@]}")
rc=$?
tap_is "$rc/$(jq -r '[.failed_items, .advisories, (.matches | length)] | @tsv' <<<"$out")" \
    "1/1	1	1" "server gone: the last download is used, the failure reported"

tap_done
