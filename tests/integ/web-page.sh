#!/bin/bash
# web-page.sh: the collector's web page in a real browser (Debian's
# chromium, headless).  A fleet is fed through Kafka (tests/gen-scenario),
# hostile names included; the page, given the API token in its address,
# shows the totals, the open findings, the hosts, the short-lived and the
# privileged containers, and a package search from a shared link -- and
# every name a container chose is shown as text, never run as HTML.  Without
# a token, or with a wrong one, it asks for one.  The page itself is public
# (like a login page) under a strict Content-Security-Policy; the data
# needs the token.
. "$(dirname "$0")/../lib/harness.sh"

COLLECTOR=$top_builddir/collector/tallyman-collector
GEN=$top_builddir/tests/gen-scenario
COLLECTOR_PID=
stop_collector() {
	if [ -n "$COLLECTOR_PID" ]; then
		kill -TERM "$COLLECTOR_PID" 2>/dev/null
		timeout 60 tail --pid="$COLLECTOR_PID" -f /dev/null
		wait "$COLLECTOR_PID" 2>/dev/null
		COLLECTOR_PID=
	fi
}
harness_init
TAP_HOOKS=(stop_collector "${TAP_HOOKS[@]}")
trap 'stop_collector; harness__on_exit' EXIT
harness_require_cmd chromium curl jq python3
kafka_start -t tallyman.inventory:2 -t tallyman.findings:2

D=$TM_TMP/web
mkdir -p "$D/state"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
TOKEN=tm-web-token-$TM_ID-0123456789abcdef
printf '%s\n' "$TOKEN" >"$D/token"
chmod 600 "$D/token"
cat >"$D/collector.conf" <<EOF
kafka.brokers = $TM_KAFKA
kafka.group = tm-web-$TM_ID
store.path = $D/state/collector.db
api.listen = 127.0.0.1:$PORT
api.token_file = $D/token
EOF
"$COLLECTOR" -c "$D/collector.conf" run >>"$TM_LOGS/collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
harness_wait_for "the collector's partitions" 60 bash -c \
    '[ "$(curl -sf "$0/healthz" | jq -r .kafka.partitions_assigned)" -gt 0 ]' \
    "$URL" || tap_bail "the collector never joined its group"

XSS='<img/src=x/onerror=document.title="pwned">'
cat >"$D/fleet.scn" <<EOF
host web-a debian 12
heartbeat web-a 30
host web-b debian 12
heartbeat web-b 30
image web-a img-1 debian 12 dpkg/libssl3/3.0.11-1~deb12u2/openssl/3.0.11-1~deb12u2 dpkg/<i>evil<i>/1.0
image web-b img-1 debian 12 dpkg/libssl3/3.0.11-1~deb12u2/openssl/3.0.11-1~deb12u2 dpkg/<i>evil<i>/1.0
container web-a priv-1 img-1 running privileged proc=sh
container web-b $XSS img-1 exited life=250
container web-b calm-1 img-1 running mem=67108864 cpus=500000000 pids=100 rorootfs nnp health seccomp=default apparmor=docker-default restart=on-failure
EOF
"$GEN" -b "$TM_KAFKA" -t tallyman.inventory <"$D/fleet.scn" >>"$TM_LOGS/gen.log" 2>&1 ||
    tap_bail "gen-scenario failed"
api() {
	curl -sf --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL$1"
}
harness_wait_for "the fleet stored" 60 bash -c \
    '[ "$(curl -sf -H "Authorization: Bearer $1" "$0/api/v1/stats" | jq -r .containers)" = 3 ]' \
    "$URL" "$TOKEN" || tap_bail "the fleet was not stored"
harness_wait_for "the findings" 60 bash -c \
    '[ "$(curl -sf -H "Authorization: Bearer $1" "$0/api/v1/stats" | jq -r .findings_open)" -gt 0 ]' \
    "$URL" "$TOKEN" || tap_bail "no findings"

# The page and its files: public, with a strict policy.
curl -s -D "$D/h" -o "$D/index.html" "$URL/"
tap_like "$(head -n 1 "$D/h")" " 200" "/ is served without a token"
tap_like "$(cat "$D/h")" "Content-Type: text/html; charset=utf-8" "/ is HTML"
tap_like "$(cat "$D/h")" "Content-Security-Policy: default-src 'none'; script-src 'self'" \
    "a Content-Security-Policy: no inline or foreign script"
tap_like "$(cat "$D/h")" "X-Frame-Options: DENY" "the page cannot be framed"
code=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL/ui/app.js")
tap_is "$code" "200 text/javascript; charset=utf-8" "/ui/app.js is served as JavaScript"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/stats")
tap_is "$code" 401 "the data still needs the token"
tap_is "$(grep -c '<script' "$D/index.html")" 1 "one script element, an external file"
tap_is "$(grep -c '<script[^>]*>[^<]' "$D/index.html")" 0 "no inline script"

# browse URL OUT: the page after its scripts ran, as the browser sees it.
browse() {
	rm -rf "$D/profile"
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync \
	    --user-data-dir="$D/profile" --virtual-time-budget=15000 \
	    --dump-dom "$1" >"$2" 2>>"$TM_LOGS/chromium.log"
}
# text FILE SELECTOR: the text of the elements matching SELECTOR (by id),
# one per line, from the dumped page (python's HTML parser: no regexp
# guessing at markup).
text() {
	python3 - "$1" "$2" <<'PY'
import sys
from html.parser import HTMLParser
want = sys.argv[2]
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0; self.rows = []; self.cur = None; self.cell = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.depth == 0 and a.get("id") == want:
            self.depth = 1
            return
        if self.depth:
            self.depth += 1
            if tag == "tr": self.cur = []
            if tag in ("td", "th"): self.cell = ""
    def handle_endtag(self, tag):
        if not self.depth: return
        self.depth -= 1
        if tag in ("td", "th") and self.cur is not None:
            self.cur.append(self.cell); self.cell = None
        if tag == "tr" and self.cur is not None:
            self.rows.append("\t".join(self.cur)); self.cur = None
        if self.depth == 0 and not self.rows and self.text:
            self.rows.append(self.text)
    text = ""
    def handle_data(self, d):
        if self.depth:
            if self.cell is not None: self.cell += d
            else: self.text += d
p = P(); p.feed(open(sys.argv[1]).read())
print("\n".join(p.rows))
PY
}

browse "$URL/#token=$TOKEN&package=openssl&all=1" "$D/dom.html"
tap_like "$(cat "$D/dom.html")" 'data-loaded="yes"' "the page loaded its data with the token"
tap_like "$(text "$D/dom.html" cards | tr '\n' ' ')" "2 ?hosts" "totals: 2 hosts"
tap_like "$(text "$D/dom.html" cards | tr '\n' ' ')" "2 / 3 ?containers running" "totals: 2 of 3 containers running"
nf=$(api '/api/v1/findings?limit=200' | jq '.findings | length')
rows=$(text "$D/dom.html" findings | tail -n +2 | wc -l)
tap_is "$rows" "$nf" "every open finding is a row ($nf)"
tap_like "$(text "$D/dom.html" findings)" "critical	misconfiguration	web-a	priv-1	CIS 5.5" \
    "the privileged container's CIS 5.5 finding, critical"
tap_is "$(text "$D/dom.html" hosts | tail -n +2 | cut -f1 | sort | paste -sd' ')" "web-a web-b" \
    "the hosts table lists both hosts"
tap_is "$(text "$D/dom.html" short | tail -n +2 | cut -f2)" "$XSS" \
    "the short-lived container, its hostile name shown as text"
tap_like "$(text "$D/dom.html" short | tail -n +2 | cut -f5)" "250 ms" "... with its lifetime"
tap_is "$(text "$D/dom.html" privileged | tail -n +2 | cut -f1,2)" "web-a	priv-1" \
    "the privileged containers running now"
tap_like "$(cat "$D/dom.html")" 'data-searched="openssl"' "the shared link ran its package search"
tap_like "$(text "$D/dom.html" package-result)" "3.0.11-1~deb12u2	libssl3" \
    "the search shows openssl's version, as libssl3"
tap_like "$(text "$D/dom.html" package-result)" "web-a, web-b|web-b, web-a" \
    "... on both hosts"
tap_is "$(grep -c '<img' "$D/dom.html")" 0 "no element was made from a container's name"
tap_is "$(grep -c '<i>evil' "$D/dom.html")" 0 "no element was made from a package's name"
tap_like "$(cat "$D/dom.html")" "<title>tallyman" "the page's title is its own (no injected script ran)"
tap_check "the token left the address bar (it stays in the tab's session)" \
    bash -c '! grep -q "$0" "$1"' "$TOKEN" "$D/dom.html"

browse "$URL/#token=not-the-token-0000000000" "$D/bad.html"
tap_like "$(text "$D/bad.html" login-error)" "refused" "a wrong token: the page asks again, saying why"
tap_check "a wrong token shows no data" bash -c '! grep -q "data-loaded" "$0"' "$D/bad.html"
browse "$URL/" "$D/none.html"
tap_like "$(grep -o '<section id="login"[^>]*>' "$D/none.html")" '^<section id="login">$' \
    "no token: the token form is shown"
stop_collector
tap_done
