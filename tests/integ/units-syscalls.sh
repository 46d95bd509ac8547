#!/bin/bash
# units-syscalls.sh: what the programs do stays inside their units' filters.
# systemd is not PID 1 here, so the filters cannot be applied; instead the
# real programs run under strace -f doing their work, and every system call
# they make is checked against the unit (strace --seccomp-bpf stops the
# program only on the calls the checks read and on calls the filter would
# refuse, so the programs run at nearly full speed):
#  - SystemCallFilter=: each system call made is in the allow list minus the
#    ~ lists, expanded by `systemd-analyze syscall-filter` (the groups as
#    systemd defines them, nested groups followed);
#  - RestrictAddressFamilies=: each socket() and socketpair() family is
#    listed; netlink only as NETLINK_ROUTE (getaddrinfo's address probe);
#  - MemoryDenyWriteExecute=yes: no mapping both writable and executable,
#    no mprotect() that adds execution;
#  - ProtectSystem=strict with StateDirectory=: every file opened for
#    writing, created, renamed, linked or removed is in the state folder
#    or in its private /tmp (PrivateTmp=yes: each program runs here with
#    TMPDIR set to a folder of its own standing for it), or /dev/null, or
#    the process's own /proc entries (a mkdir of a folder that exists fails
#    with EEXIST on a read-only file system too);
#  - the collector's ProcSubset=pid: no /proc file outside its own entries.
# Both `run` for real, against librdkafka's mock cluster: the agent
# watching both runtimes while containers start, are exec'd into (drift),
# stop and are removed, then reloads (SIGHUP) and drains (SIGTERM); the
# collector, as an unprivileged user like its unit's (strace -u nobody),
# consuming what the agent sends, downloading an OSV feed over HTTP from
# 127.0.0.1, finding the vulnerable package, answering its API, reloading
# (SIGHUP) and stopping (SIGTERM).
. "$(dirname "$0")/../lib/harness.sh"
UNITS=$top_builddir/packaging/systemd

harness_start
harness_require_cmd strace systemd-analyze python3 jq zip curl pgrep

# --- the units' filters ------------------------------------------------------
# expand GROUP-OR-CALL...: the system call names, nested groups followed.
declare -A EXPANDED
expand() {
	local x
	for x in "$@"; do
		case "$x" in
		@*)
			[ -n "${EXPANDED[$x]:-}" ] && continue
			EXPANDED[$x]=1
			expand $(systemd-analyze syscall-filter "$x" 2>/dev/null |
			    sed -n '2,$s/^ *\([@a-z0-9_-]*\)$/\1/p')
			;;
		*) printf '%s\n' "$x" ;;
		esac
	done
}
# allowed UNIT: the system calls the unit's SystemCallFilter= lines allow
# (an allow list first, then ~ lines taking calls out, as systemd reads them).
allowed() {
	local line allow="" deny=""
	while IFS= read -r line; do
		case "$line" in
		"~"*) deny="$deny ${line#"~"}" ;;
		*) allow="$allow $line" ;;
		esac
	done < <(sed -n 's/^SystemCallFilter=//p' "$1")
	EXPANDED=()
	expand $allow | sort -u >"$TM_TMP/allow"
	EXPANDED=()
	expand $deny | sort -u >"$TM_TMP/deny"
	comm -23 "$TM_TMP/allow" "$TM_TMP/deny"
}
families() {
	sed -n 's/^RestrictAddressFamilies=//p' "$1" | tr ' ' '\n'
}
# The calls whose arguments the checks read: traced always.  Every other
# call the unit allows is left untraced.
SPECIFIC="execve socket socketpair mmap mprotect pkey_mprotect open openat
openat2 creat mkdir mkdirat rename renameat renameat2 unlink unlinkat rmdir
link linkat symlink symlinkat truncate mknod mknodat"
# strace_expr UNIT: strace's -e: everything but the allowed calls outside
# SPECIFIC ("?": a name this architecture lacks is no error).
strace_expr() {
	printf 'trace=!%s' "$(comm -23 <(allowed "$1") <(printf '%s\n' $SPECIFIC | sort -u) |
	    sed 's/^/?/' | paste -sd, -)"
}

# --- reading a trace ----------------------------------------------------------
# calls TRACE: the system call names made (strace -f output).
calls() {
	sed -n -E 's/^[0-9]+ +(<\.\.\. )?([a-z0-9_]+)[( ].*/\2/p' "$1" | sort -u
}
# socket_families TRACE
socket_families() {
	sed -n -E 's/^[0-9]+ +(socket|socketpair)\((AF_[A-Z0-9]+|[0-9]+).*/\2/p' "$1" | sort -u
}
# wx TRACE: mappings that are writable and executable, mprotect adding exec.
wx() {
	grep -E '^[0-9]+ +(mmap|mprotect|pkey_mprotect)\(' "$1" |
	    grep -E 'PROT_EXEC' |
	    grep -E '^[0-9]+ +(mprotect|pkey_mprotect)\(|PROT_WRITE'
}
# written TRACE: paths (resolved by strace -y) of files opened for writing,
# created, removed, renamed or linked, whether or not it succeeded.
written() {
	grep -E '^[0-9]+ +(openat2?|open|creat|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|rmdir|link|linkat|symlink|symlinkat|truncate|mknod|mknodat)\(' "$1" |
	    grep -v -E '^[0-9]+ +open(at2?)?\(.*O_RDONLY' |
	    grep -v -E '^[0-9]+ +mkdir(at)?\(.*= -1 EEXIST' |
	    sed -n -E 's/^[0-9]+ +[a-z0-9]+\(((AT_FDCWD|[0-9]+<([^>]*)>), )?"([^"]*)".*/\3|\4/p' |
	    awk -F'|' '{ if (substr($2, 1, 1) == "/" || $1 == "") print $2; else print $1 "/" $2 }' |
	    sort -u
}
# outside TRACE PREFIX...: written paths outside every PREFIX.
outside() {
	local t=$1
	shift
	written "$t" | while read -r p; do
		ok=
		for pre in "$@"; do
			case "$p" in "$pre"|"$pre"/*) ok=1 ;; esac
		done
		[ -n "$ok" ] || printf '%s\n' "$p"
	done
}
# check_trace NAME TRACE UNIT STATE-DIR TMPDIR: the checks for one program.
check_trace() {
	local name=$1 t=$2 unit=$3 state=$4 tmp=$5 bad
	tap_like "$(grep -c -E '^[0-9]+ +openat\(' "$t"):$(grep -c -E '^[0-9]+ +socket\(' "$t")" \
	    '^[1-9][0-9]*:[1-9][0-9]*$' "$name's trace holds its openat and socket calls"
	bad=$(comm -23 <(calls "$t") <(allowed "$unit") | xargs)
	tap_is "${bad:-none}" none "$name: every system call is allowed by the unit's SystemCallFilter="
	bad=$(comm -23 <(socket_families "$t") <(families "$unit" | sort -u) | xargs)
	tap_is "${bad:-none}" none \
	    "$name: every socket family ($(socket_families "$t" | xargs)) is in RestrictAddressFamilies="
	bad=$(grep -E '^[0-9]+ +socket\(AF_NETLINK' "$t" | grep -v -E 'NETLINK_ROUTE( |\))' | head -n 3)
	tap_is "${bad:-none}" none "$name: netlink only as NETLINK_ROUTE"
	tap_is "$(wx "$t" | head -n 3)" "" "$name: no writable and executable memory (MemoryDenyWriteExecute=)"
	bad=$(outside "$t" "$state" "$tmp" /dev/null /proc/self /proc/thread-self | head -n 10 | xargs)
	tap_is "${bad:-none}" none "$name: writes only in its state folder and private /tmp (ProtectSystem=strict)"
	tap_diag "$name: traced calls: $(calls "$t" | xargs)"
}

# --- a feed over HTTP, the collector, then the agent ---------------------------
kafka_start -t tallyman.inventory:2 || tap_bail "no mock Kafka"
F=$TM_TMP/feed
mkdir -p "$F/site"
cat >"$F/DSA-1.json" <<'EOF'
{"id": "DSA-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package":
 {"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [{"type": "ECOSYSTEM",
 "events": [{"introduced": "0"}, {"fixed": "3.0.11-1"}]}]}]}
EOF
(cd "$F" && zip -q site/all.zip DSA-1.json) || tap_bail "zip failed"
python3 -m http.server --bind 127.0.0.1 0 --directory "$F/site" \
    >"$TM_LOGS/http.log" 2>&1 &
HTTP=$!
stop_http() { kill "$HTTP" 2>/dev/null; wait "$HTTP" 2>/dev/null; }
tap_at_done stop_http
harness_wait_for "the feed server" 30 grep -q 'Serving HTTP' "$TM_LOGS/http.log"
fport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$TM_LOGS/http.log" | head -n 1)

# trace NAME CONF TMPDIR [USER]: `run` of the program NAME (agent or
# collector) under strace -f (as USER), its trace in $TM_TMP/NAME.trace;
# strace's pid in TRACED[NAME].
declare -A TRACED
trace() {
	local name=$1 conf=$2 tmp=$3 user=${4:-} prog
	local as=()
	prog=$top_builddir/$name/tallyman-$name
	[ -n "$user" ] && as=(-u "$user")
	TMPDIR=$tmp strace -f -qq -y -s 512 --seccomp-bpf "${as[@]}" \
	    -e "$(strace_expr "$UNITS/tallyman-$name.service")" \
	    -o "$TM_TMP/$name.trace" "$prog" -c "$conf" run \
	    >"$TM_TMP/$name.out" 2>"$TM_LOGS/$name.log" </dev/null &
	TRACED[$name]=$!
}
# untrace NAME: SIGTERM to the program (it drains, traced), then strace
# ends with it.
untrace() {
	local pid=${TRACED[$1]:-} prog
	[ -n "$pid" ] || return 0
	prog=$(traced_pid "$1")
	[ -n "$prog" ] && kill -TERM "$prog" 2>/dev/null
	timeout 60 tail --pid="$pid" -f /dev/null
	if kill -0 "$pid" 2>/dev/null; then
		[ -n "$prog" ] && kill -KILL "$prog" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	TRACED[$1]=
}
# traced_pid NAME: the program itself (strace's child).
traced_pid() {
	pgrep -P "${TRACED[$1]}" | head -n 1
}
untrace_all() { untrace agent; untrace collector; }
tap_at_done untrace_all

# The collector's files where nobody (its stand-in user) reaches them.
CDIR=$(mktemp -d /tmp/tm-syscol.XXXXXX) || tap_bail "mktemp failed"
rm_cdir() { rm -rf "$CDIR"; }
tap_at_done rm_cdir
chmod 0755 "$CDIR"
CSTATE=$CDIR/state
mkdir -p "$CSTATE"
chown nobody "$CSTATE"
cport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The token exists, as the packages make it: reading it is all the
# collector does with it under its unit.
TOKEN=$CDIR/api.token
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$TOKEN"
chown nobody "$TOKEN"
chmod 0600 "$TOKEN"
cat >"$CDIR/collector.conf" <<EOF
kafka.brokers = $TM_KAFKA
store.path = $CSTATE/collector.db
api.listen = 127.0.0.1:$cport
api.token_file = $TOKEN
feeds.osv = http://127.0.0.1:$fport/all.zip
EOF
chmod 0644 "$CDIR/collector.conf"
mkdir -p "$CDIR/tmp"
chown nobody "$CDIR/tmp"
trace collector "$CDIR/collector.conf" "$CDIR/tmp" nobody
api() {
	curl -sf -H "Authorization: Bearer $(cat "$TOKEN")" \
	    "http://127.0.0.1:$cport$1"
}
harness_wait_for "the collector's API" 60 api /healthz ||
    tap_bail "collector did not start: $(tail -5 "$TM_LOGS/collector.log")"

B=$TM_TMP/base
mkdir -p "$B/var/lib/dpkg" "$B/etc"
printf 'Package: sys-one\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\nSource: openssl (3.0.9-1)\n' \
    >"$B/var/lib/dpkg/status"
printf 'ID=debian\nVERSION_ID=12\n' >"$B/etc/os-release"
harness_image tm-sys:1 "$B" || tap_bail "no image"
harness_ctr_image tm tm-sys:1 || tap_bail "no containerd image"

ASTATE=$TM_TMP/agent-state
cat >"$TM_TMP/agent.conf" <<EOF
state.dir = $ASTATE
host.id = sys-$TM_ID
kafka.brokers = $TM_KAFKA
docker.socket = $TM_DOCKER_SOCK
containerd.socket = $TM_CONTAINERD_SOCK
heartbeat.interval = 1s
output = kafka,json
EOF
mkdir -p "$TM_TMP/agent-tmp"
trace agent "$TM_TMP/agent.conf" "$TM_TMP/agent-tmp"
harness_wait_for "the agent watches" 60 grep -q 'run: watching' "$TM_LOGS/agent.log" ||
    tap_bail "agent did not start: $(tail -5 "$TM_LOGS/agent.log")"
c1=$(harness_docker run -d --network none --name "tm-sys-1-$TM_ID" tm-sys:1 sleep 600)
harness_docker run --rm --network none --name "tm-sys-2-$TM_ID" tm-sys:1 true >/dev/null
harness_ctr -n tm run -d "$TM_CTR_IMAGE" "tm-sys-c-$TM_ID" sleep 600 >/dev/null 2>&1
harness_docker exec "$c1" sh -c 'cp /bin/busybox /tmp/x && chmod 755 /tmp/x' >/dev/null
harness_wait_for "a drift record" 60 grep -q '"k":"drift"' "$TM_TMP/agent.out"
kill -HUP "$(traced_pid agent)" 2>/dev/null
harness_wait_for "the agent's reload" 30 grep -q 'run: reloaded' "$TM_LOGS/agent.log"
# The collector stored the host and found the vulnerable package.
stored() {
	[ "$(api /api/v1/stats | jq -r '.hosts')" = 1 ] &&
	    api '/api/v1/findings?kind=vulnerability' | jq -e '.total > 0' >/dev/null
}
harness_wait_for "the collector's host and finding" 90 stored
tap_check "the collector (under strace) stored the agent's host and a vulnerability finding" stored
for path in /api/v1/hosts /api/v1/containers /api/v1/images \
    '/api/v1/packages?name=openssl' /api/v1/vulnerabilities/DSA-1 /metrics; do
	api "$path" >/dev/null || tap_diag "GET $path failed"
done
harness_docker rm -f "$c1" >/dev/null
harness_ctr -n tm task kill -s KILL "tm-sys-c-$TM_ID" >/dev/null 2>&1
harness_wait_for "the exits reach the collector" 30 \
    bash -c '[ "$(curl -sf -H "Authorization: Bearer $(cat "$1")" "$2" | jq -r .containers_running)" = 0 ]' \
    _ "$TOKEN" "http://127.0.0.1:$cport/api/v1/stats"
kill -HUP "$(traced_pid collector)" 2>/dev/null
harness_wait_for "the collector's reload" 30 grep -q 'SIGHUP' "$TM_LOGS/collector.log"
untrace agent
untrace collector
stop_http
tap_like "$(grep -c -E 'run: [0-9]+ events' "$TM_LOGS/agent.log"):$(grep -c 'run: stopped' "$TM_LOGS/collector.log")" \
    '^1:1$' "both drained and stopped under strace (SIGTERM)"

T=$TM_TMP/agent.trace
tap_is "$(grep -c -E 'runs in 32 bit mode' "$TM_TMP/agent.trace" "$TM_TMP/collector.trace" | awk -F: '{ n += $2 } END { print n }')" 0 \
    "both make native system calls only (SystemCallArchitectures=native)"
check_trace tallyman-agent "$T" "$UNITS/tallyman-agent.service" "$ASTATE" "$TM_TMP/agent-tmp"
CT=$TM_TMP/collector.trace
check_trace tallyman-collector "$CT" "$UNITS/tallyman-collector.service" "$CSTATE" "$CDIR/tmp"
bad=$(grep -o -E '"/proc/[^"]*"' "$CT" | tr -d '"' |
    grep -v -E '^/proc/(self|thread-self|[0-9]+)(/|$)' | sort -u | head -n 10 | xargs)
tap_is "${bad:-none}" none "the collector reads no /proc file outside its own entries (ProcSubset=pid)"

tap_done
