#!/bin/bash
# collector-hostile.sh: the collector is fed hostile Kafka messages, produced
# with kcat (made by tests/lib/hostile-records.py with Debian's
# python3-msgpack, not with our codec) between good records (made by
# tests/gen-scenario), and hostile HTTP requests:
#   - each hostile message is refused and counted under its reason, per host
#     (/api/v1/hosts/ID rejects_by_reason) and overall
#     (/metrics tallyman_rejects_total{reason=...}); no part of it is stored;
#   - every good record around them is stored, the sequence has no gap;
#   - a flood of garbage is logged rate-limited;
#   - records whose strings are invalid UTF-8 or terminal escapes are stored
#     and served as valid JSON, and `query` does not print the escapes;
#   - the API: no or a wrong token is 401, malformed queries 400 with a
#     JSON reason, unknown paths 404, other methods 405, too many or too
#     long parameters 400, ids with ../ and %00 harmless;
#   - the collector never crashes: /healthz answers throughout and SIGTERM
#     ends it with status 0.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/collector.sh"

GEN=$(prog_path tests/gen-scenario)
PY=/usr/bin/python3
col_init
if ! "$PY" -c 'import msgpack' 2>/dev/null; then
	[ "${CI:-}" = true ] && tap_bail "python3-msgpack missing (scripts/install-deps.sh)"
	tap_skip_all "python3-msgpack missing (scripts/install-deps.sh installs it)"
fi
T0=$SECONDS
kafka_start -t tallyman.inventory:2
D=$TM_TMP/h
mkdir -p "$D"
TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
( umask 077; echo "$TOKEN" >"$D/token" )
col_conf c api.auth=token "api.token_file=$D/token"
col_start c || tap_bail "the collector did not start"
col_wait_partitions c 2 || tap_bail "the collector never got both partitions"

# produce FIRST-SEQ SCENARIO: good records through the shared codec.
produce() {
	"$GEN" -b "$TM_KAFKA" -t tallyman.inventory -s "$1" <"$2"
}
# kprod KEY FILE...: each file one message (KEY "-": no key).
kprod() {
	local key=$1
	shift
	if [ "$key" = - ]; then
		kcat -P -b "$TM_KAFKA" -t tallyman.inventory "$@"
	else
		kcat -P -b "$TM_KAFKA" -t tallyman.inventory -k "$key" "$@"
	fi
}
# good HOST N: N good records of HOST (containers, events, heartbeats).
good() {
	local i
	for i in $(seq "$2"); do
		case $((i % 3)) in
		0) echo "container $1 c-$1-$i img-$1 running proc=sh" ;;
		1) echo "event $1 c-$1-$((i - 1)) exit" ;;
		2) echo "heartbeat $1 30" ;;
		esac
	done
}
host_json() {
	col_api c "/api/v1/hosts/$1"
}
# wait_records HOST N: until the host has N records stored.
wait_records() {
	col_wait_api c "$1 with $2 records" 60 ".records == $2" "/api/v1/hosts/$1"
}

# 1. Good records first: the hosts exist, their rejects count under them.
{
	echo "host good-a debian 12"
	echo "image good-a img-good-a debian 12 dpkg/bash/5.2.15-2"
	good good-a 10
	echo "host good-b alpine 3.19"
	good good-b 11
} >"$D/good1.scn"
tap_check "good records produced (first batch)" produce 1 "$D/good1.scn"
wait_records good-a 12 && wait_records good-b 12 ||
    tap_diag "$(host_json good-a)" "$(host_json good-b)"

# 2. Every hostile message, keyed by good-a (whose highest sequence is 12),
# then more good records, then a flood of garbage keyed by good-b, then
# records with hostile strings, then good records again.
"$PY" "$top_srcdir/tests/lib/hostile-records.py" hostile "$D/hostile" good-a 12 ||
    tap_bail "hostile-records.py failed"
M=$D/hostile/manifest.tsv
tap_check "hostile messages produced with kcat (keyed by good-a)" \
    kprod good-a $(awk -F'\t' '$2 == "good-a" { print D "/" $1 }' D="$D/hostile" "$M")
tap_check "a hostile message produced without a key" \
    kprod - $(awk -F'\t' '$2 == "-" { print D "/" $1 }' D="$D/hostile" "$M")
good good-a 9 >"$D/good2.scn"
tap_check "good records produced (second batch)" produce 13 "$D/good2.scn"
mkdir -p "$D/flood"
"$PY" - "$D/flood" <<'PY'
import os, random, sys
r = random.Random(7)
for i in range(400):
    with open(os.path.join(sys.argv[1], "%03d.bin" % i), "wb") as f:
        f.write(b"\xc1" + bytes(r.getrandbits(8) for _ in range(r.randrange(1, 300))))
PY
tap_check "a flood of 400 garbage messages keyed by good-b" kprod good-b "$D/flood"/*.bin
T_FLOOD=$SECONDS
"$PY" "$top_srcdir/tests/lib/hostile-records.py" odd "$D/odd" odd-host ||
    tap_bail "hostile-records.py odd failed"
tap_check "records with hostile strings produced (odd-host)" kprod odd-host "$D/odd"/0*.msg
good good-a 6 >"$D/good3a.scn"
good good-b 6 >"$D/good3b.scn"
tap_check "good records produced (third batch, good-a)" produce 22 "$D/good3a.scn"
tap_check "good records produced (third batch, good-b)" produce 13 "$D/good3b.scn"

# The records keep coming around the hostile ones: every good one stored,
# each host's sequence without a gap.
wait_records good-a 27
wait_records good-b 18
tap_is "$(host_json good-a | jq -c '[.records, .sequence.high, .sequence.missing, .sequence.duplicates, (.sequence.gaps | length)]')" \
    "[27,27,0,0,0]" \
    "good-a: its 27 good records stored around the hostile ones, sequence 1..27 complete"
tap_is "$(host_json good-b | jq -c '[.records, .sequence.high, .sequence.missing, .sequence.duplicates, (.sequence.gaps | length)]')" \
    "[18,18,0,0,0]" \
    "good-b: its 18 good records stored around 400 garbage messages, sequence 1..18 complete"
tap_is "$(host_json good-a | jq -c '.records_by_kind')" \
    "$(jq -cn '{container: 8, event: 9, heartbeat: 8, host: 1, image: 1}')" \
    "good-a: records counted by kind"

# Each hostile message refused under its reason: per host ...
want_a=$(awk -F'\t' '$2 == "good-a" && $3 != "-" { n[$3]++ }
    END { for (r in n) printf "%s %d\n", r, n[r] }' "$M" |
    jq -Rn '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add | to_entries | sort_by(.key) | from_entries' -c)
tap_is "$(host_json good-a | jq -c '.rejects_by_reason')" "$want_a" \
    "good-a: every hostile message counted under its reason ($(awk -F'\t' '$2 == "good-a" && $3 != "-"' "$M" | wc -l) refused)"
tap_is "$(host_json good-a | jq -r '.rejects')" \
    "$(awk -F'\t' '$2 == "good-a" && $3 != "-"' "$M" | wc -l)" \
    "good-a: its rejects total"
tap_is "$(host_json good-b | jq -c '.rejects_by_reason')" '{"malformed":400}' \
    "good-b: the 400 garbage messages counted as malformed"
# ... and overall (the message without a key too).
for r in $(cut -f3 "$M" | grep -v '^-$' | sort -u); do
	n=$(awk -F'\t' -v r="$r" '$3 == r' "$M" | wc -l)
	[ "$r" = malformed ] && n=$((n + 400))
	tap_is "$(col_metric c "tallyman_rejects_total{reason=\"$r\"}")" "$n" \
	    "/metrics: tallyman_rejects_total{reason=\"$r\"} is $n"
done
# Nothing of them reached the store.
tap_is "$(col_api c '/api/v1/hosts?limit=100' | jq -r '[.hosts[].id] | sort | join(",")')" \
    "good-a,good-b,odd-host" \
    "no host made up by a hostile message (victim-host, no-key-host) exists"
tap_is "$(col_api c '/api/v1/containers?host=good-a&limit=1000&running=any' | jq -r '[.containers[].id | select(test("^c-good-a-") | not)] | length')" \
    0 "good-a has only its good containers (nothing from a refused record)"
tap_is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "${COL_API[c]}/api/v1/containers/hostile")" \
    404 "the refused container 'hostile' is not stored"

# Logged, rate-limited: one line per refusal up to the burst, then counted.
elapsed=$((SECONDS - T0))
refused=$(grep -c 'consume: .*refused' "$TM_LOGS/c.log")
tap_like "$(grep -m1 'refused: wrong_type' "$TM_LOGS/c.log")" \
    'tallyman.inventory \[[0-9]+\] offset [0-9]+ \(key "good-a"\): refused: wrong_type: s: wrong type' \
    "a refusal is logged with its partition, offset, key, reason and detail"
tr_max=$((20 * (elapsed / 10 + 2)))
if [ "$refused" -ge 1 ] && [ "$refused" -le "$tr_max" ]; then
	tap_ok "refusals are logged rate-limited ($refused lines for $(($(awk -F'\t' '$3 != "-"' "$M" | wc -l) + 400)) refused messages in ${elapsed}s)"
else
	tap_fail "refusals are logged rate-limited" "$refused lines, at most $tr_max expected"
fi

# Hostile strings: stored, served as valid JSON, not printed raw.
wait_records odd-host 4
out=$(col_api c '/api/v1/containers?host=odd-host&limit=10')
tap_check "containers with invalid UTF-8 and escapes are valid JSON" jq -e . <<<"$out"
tap_is "$(grep -c $'\x1b' <<<"$out")" 0 "no raw escape byte in the API's answer"
tap_is "$(jq -r '.containers[] | select(.id == "ctr-odd-1") | .name' <<<"$out")" \
    $'\ufffd\ufffd\ufffd\ufffd-not-utf8' "invalid UTF-8 is served as U+FFFD"
tap_is "$(jq -r '.containers[] | select(.id == "ctr-odd-2") | .name' <<<"$out")" \
    $'tab\tnew\nline\e]0;owned\a\e[2J\e[31m' "control characters are kept, escaped in JSON"
for q in "containers --host odd-host" "container ctr-odd-1" "container ctr-odd-2" \
    "host odd-host" "hosts" "images --host odd-host" "image img-odd"; do
	# shellcheck disable=SC2086
	"$TM_COLLECTOR" -c "${COL_CONF[c]}" query $q >"$D/q.out" 2>"$D/q.err"
	rc=$?
	if [ "$rc" -le 2 ] && ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$D/q.out" "$D/q.err"; then
		tap_ok "query $q: no control character printed (exit $rc)"
	else
		tap_fail "query $q: no control character printed" "exit $rc" \
		    "$(od -c "$D/q.out" | grep -m3 '033\|007')"
	fi
done
tap_like "$("$TM_COLLECTOR" -c "${COL_CONF[c]}" query container ctr-odd-1 | grep 'com.example.team')" \
    '^ +com\.example\.team: blue$' "query container: a label whose key holds dots is shown"
"$TM_COLLECTOR" -c "${COL_CONF[c]}" query packages $'pkg\e]0;owned\a\e[2J\e[31m' --all >"$D/q.out" 2>"$D/q.err"
rc=$?
if [ "$rc" = 0 ] && ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$D/q.out" "$D/q.err"; then
	tap_ok "query packages NAME-WITH-ESCAPES: no control character printed"
else
	tap_fail "query packages NAME-WITH-ESCAPES: no control character printed" "exit $rc" "$(od -c "$D/q.out" | head -5)"
fi
for p in "/api/v1/containers/ctr-odd-1?host=odd-host" /api/v1/hosts/odd-host \
    "/api/v1/images?host=odd-host" "/api/v1/images/img-odd"; do
	tap_check "$p: valid JSON" bash -c 'curl -sf -H "Authorization: Bearer $1" "$0" | jq -e . >/dev/null' \
	    "${COL_API[c]}$p" "$TOKEN"
done

# ---------------------------------------------------------------------------
# Hostile requests.
A=${COL_API[c]}
# code ARGS...: the status of one request (curl's arguments).
code() {
	curl -s -o "$D/body" -w '%{http_code}' --max-time 10 "$@"
}
auth=(-H "Authorization: Bearer $TOKEN")
tap_is "$(code "$A/api/v1/hosts")/$(jq -r .error "$D/body")" 401/unauthorized \
    "no token: 401 with a JSON error"
# The last character changed (to 1 if it was 0).
case $TOKEN in *0) wrong=${TOKEN%?}1 ;; *) wrong=${TOKEN%?}0 ;; esac
tap_is "$(code -H "Authorization: Bearer $wrong" "$A/api/v1/hosts")" 401 \
    "a wrong token (last character changed): 401"
tap_is "$(code -H "Authorization: Bearer ${TOKEN:0:16}" "$A/api/v1/hosts")" 401 \
    "a prefix of the token: 401"
tap_is "$(code -H "Authorization: Bearer ${TOKEN}x" "$A/api/v1/hosts")" 401 \
    "the token with one more character: 401"
tap_is "$(code -H "Authorization: Basic $(printf 'a:%s' "$TOKEN" | base64 -w0)" "$A/api/v1/hosts")" 401 \
    "basic authentication: 401"
tap_is "$(code -H "Authorization: Bearer" "$A/metrics")" 401 "an empty bearer token: 401 (/metrics too)"
tap_is "$(code -H "Authorization: Bearer $(head -c 20000 /dev/zero | tr '\0' a)" "$A/api/v1/hosts")" 401 \
    "a 20 000-byte token: refused"
tap_like "$(curl -s -D - -o /dev/null "$A/api/v1/stats")" 'WWW-Authenticate: Bearer' \
    "401 answers say which scheme is expected"
tap_is "$(code "$A/healthz")" 200 "/healthz needs no token"
tap_is "$(code -H "authorization: bearer $TOKEN" "$A/api/v1/stats")" 200 \
    "header and scheme names are case-insensitive"

for q in "containers?limit=abc" "containers?limit=0" "containers?limit=1001" \
    "containers?limit=-1" "containers?limit=1e3" "containers?limit=" \
    "containers?cursor=99999999999" "containers?running=maybe" \
    "containers?privileged=2" "containers?lifetime_lt=soon" \
    "containers?lifetime_lt=0" "containers?lifetime_lt=-5s" \
    "containers?since=yesterday" "containers?since=2026-13-45T00:00:00Z" \
    "containers?until=2026-01-01T00:00:00%2B25:00" \
    "containers?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z" \
    "containers?bogus=1" "hosts?host=good-a" "packages" "packages?name=" \
    "packages?name=bash&running=sometimes" "findings?kind=nonsense" \
    "findings?severity=apocalyptic" "hosts?limit=%00" "stats?x=1" \
    "containers?limit=1&limit=x"; do
	c=$(code "${auth[@]}" "$A/api/v1/$q")
	if [ "$c" = 400 ] && jq -e '.error == "bad_request" and (.reason | length > 0)' "$D/body" >/dev/null; then
		tap_ok "$q: 400 with a reason ($(jq -r .reason "$D/body"))"
	else
		tap_fail "$q: 400 with a reason" "status $c: $(head -c 300 "$D/body")"
	fi
done
for p in /api /api/v1 /api/v1/ /api/v2/hosts /ui/ /ui/nothing.js /ui/../api/v1/hosts \
    /ui/app.js/../../api/v1/stats /index.html /api/v1/hostsx /api/v1/hosts/a/b \
    /api/v1/packages/bash /healthz/x /metrics/x /api/v1/vulnerabilities \
    "/api/v1/hosts/..%2F..%2Fetc%2Fpasswd" /api/v1/hosts/../../etc/passwd \
    "/api/v1/containers/%2e%2e%2f%2e%2e%2f" /api/v1/hosts/no-such-host \
    "/api/v1/images/no%00such"; do
	c=$(code --path-as-is "${auth[@]}" "$A$p")
	if [ "$c" = 404 ] && jq -e '.error == "not_found"' "$D/body" >/dev/null; then
		tap_ok "$p: 404 with a JSON error"
	else
		tap_fail "$p: 404 with a JSON error" "status $c: $(head -c 300 "$D/body")"
	fi
done
tap_is "$(code "${auth[@]}" "$A/api/v1/hosts/good-a%00evil")" 404 \
    "an id with %00: not cut at the NUL (not good-a's answer)"
for m in POST PUT DELETE PATCH OPTIONS; do
	tap_is "$(code -X "$m" "${auth[@]}" "$A/api/v1/hosts")/$(jq -r .error "$D/body")" \
	    405/method_not_allowed "$m: 405 with a JSON error"
done
head -c 1048576 /dev/urandom >"$D/big.bin"
# Asked with "Expect: 100-continue": the 405 comes before the body is
# sent.  The header is given: curl 7.88 asks on its own only for bodies
# over 1 MiB (checked with a listener), so this exact 1 MiB went at once, and
# the 405 raced the server's close (status 000, curl exit 55 "failed
# sending data" after 2 ms, about one run in ten).  curl's own wait for
# the answer is 1 s, too short on a loaded machine.
out=$(curl -s -o "$D/body" -w '%{http_code} %{time_total}' --max-time 10 \
    -X POST "${auth[@]}" -H 'Expect: 100-continue' --expect100-timeout 30 \
    --data-binary @"$D/big.bin" "$A/api/v1/hosts")
rc=$?
read -r status took <<<"$out"
if [ "$status" = 405 ]; then
	tap_ok "POST of a 1 MiB body: 405 before the body is sent"
else
	tap_fail "POST of a 1 MiB body: 405 before the body is sent" \
	    "status $status, curl exit $rc after $took s" \
	    "the API's log: $(grep 'api: ' "$TM_LOGS/c.log" | tail -n 5)"
fi
# The body sent anyway: 405, or the connection closed after it (the server
# need not read a body it refused); either way the API goes on answering.
tap_like "$(code -X POST "${auth[@]}" -H 'Expect:' \
    --data-binary @"$D/big.bin" "$A/api/v1/hosts")" '^(405|000)$' \
    "POST of a 1 MiB body sent without asking: 405 or closed"
tap_is "$(code "${auth[@]}" "$A/healthz")" 200 "the API answers after it"
tap_like "$(curl -s -D - -o /dev/null -X DELETE "${auth[@]}" "$A/api/v1/hosts")" \
    'Allow: GET, HEAD' "405 answers list the allowed methods"
many=$(for i in $(seq 40); do printf 'p%d=%d&' "$i" "$i"; done)
tap_is "$(code "${auth[@]}" "$A/api/v1/containers?$many")/$(jq -r .error "$D/body")" \
    400/bad_request "40 parameters: 400"
long=$(head -c 2000 /dev/zero | tr '\0' x)
tap_is "$(code "${auth[@]}" "$A/api/v1/containers?name=$long")/$(jq -r .error "$D/body")" \
    400/bad_request "a 2000-byte value: 400"
tap_is "$(code "${auth[@]}" "$A/api/v1/containers?$long=1")/$(jq -r .error "$D/body")" \
    400/bad_request "a 2000-byte parameter name: 400"
tap_is "$(code "${auth[@]}" "$A/api/v1/hosts/$(head -c 600 /dev/zero | tr '\0' h)")/$(jq -r .error "$D/body")" \
    400/bad_request "a 600-byte id: 400"
huge=$(head -c 120000 /dev/zero | tr '\0' y)
c=$(code "${auth[@]}" "$A/api/v1/containers?name=$huge")
tap_like "$c" '^4[0-9][0-9]$' "a 120 000-byte URL: refused ($c)"
hdrs=()
for i in $(seq 300); do hdrs+=(-H "X-Junk-$i: $long"); done
c=$(code "${auth[@]}" "${hdrs[@]}" "$A/api/v1/stats")
tap_like "$c" '^4[0-9][0-9]$' "300 headers of 2000 bytes: refused ($c)"
tap_is "$(curl -s -I "${auth[@]}" -o /dev/null -w '%{http_code}' "$A/api/v1/hosts")" 200 "HEAD: 200"
# Half a request, then silence; and a request line of garbage.
exec 7<>/dev/tcp/127.0.0.1/"${A##*:}"
printf 'GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\n' >&7
exec 8<>/dev/tcp/127.0.0.1/"${A##*:}"
printf '\x00\xff\x16\x03\x01 garbage\r\n\r\n' >&8
tap_is "$(code "$A/healthz")" 200 "/healthz answers while a client stalls and another sends garbage"
exec 7>&- 8>&-

# Still alive, still consuming: one more garbage message after the log's
# window (10 s) has passed says how many refusals it did not log.
while [ $((SECONDS - T_FLOOD)) -lt 11 ]; do sleep 1; done
tap_check "one more garbage message" kprod good-b "$D/flood/000.bin"
col_wait_api c "good-b's 401st reject" 30 '.rejects == 401' /api/v1/hosts/good-b
tap_like "$(grep 'similar messages suppressed' "$TM_LOGS/c.log" | head -n 1)" \
    'log: [0-9]+ similar messages suppressed' \
    "the refusals not logged are counted in the log"
tap_is "$(curl -sf "$A/healthz" | jq -r .status)" ok "/healthz: ok after everything"
tap_check "the collector is still running" kill -0 "${COL_PID[c]}"
col_stop c
tap_is "$?" 0 "SIGTERM: the collector exits with status 0"
tap_done
