#!/bin/bash
# scripts/quickstart.sh: the README's first command.  On a fresh Debian 12
# machine, as root: install what is needed, build, and run tallyman on this
# host -- the collector with its embedded store (SQLite) and an embedded
# Kafka-protocol broker (kafka.brokers = embedded: a single-host trial that
# keeps nothing across restarts), and the agent pointed at it, watching this
# host's Docker and containerd.  It prints what was found and where the API
# is, and runs until Ctrl-C, then stops both cleanly.
#
#   ./scripts/quickstart.sh [--for SECONDS] [--no-deps] [--no-build]
#                           [--state DIR] [--port PORT] [--feeds LIST]
#                           [--docker-socket PATH] [--containerd-socket PATH]
#
#   --for SECONDS      stop by itself SECONDS after the summary (for CI)
#   --no-deps          do not run scripts/install-deps.sh
#   --no-build         use the build in _build as it is
#   --state DIR        where the store, token and agent state go
#                      (default /var/tmp/tallyman-quickstart, emptied first)
#   --port PORT        the API's port on 127.0.0.1 (default 8750)
#   --feeds LIST       OSV vulnerability feeds (folders, zip files, URLs:
#                      feeds.osv); without one, findings are configuration
#                      checks, drift and short-lived containers only
#   --docker-socket, --containerd-socket
#                      the runtimes to watch (defaults: /var/run/docker.sock,
#                      /run/containerd/containerd.sock)
#
# TM_BUILDDIR (default _build) names another build folder.
#
# Production is different: a real Kafka cluster (kafka.brokers =
# host1:9092,...), the agent on every host and one or more collectors, from
# the packages (README.md, "Production").
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC" || exit 1
FOR=
DEPS=1
BUILD=1
STATE=/var/tmp/tallyman-quickstart
PORT=8750
FEEDS=
DOCKER_SOCK=/var/run/docker.sock
CONTAINERD_SOCK=/run/containerd/containerd.sock
usage() {
	sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
	case "$1" in
	--for) FOR=${2:?}; shift ;;
	--no-deps) DEPS=0 ;;
	--no-build) BUILD=0 ;;
	--state) STATE=${2:?}; shift ;;
	--port) PORT=${2:?}; shift ;;
	--feeds) FEEDS=${2:?}; shift ;;
	--docker-socket) DOCKER_SOCK=${2:?}; shift ;;
	--containerd-socket) CONTAINERD_SOCK=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "quickstart: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
case "$FOR" in
''|*[!0-9]*) [ -z "$FOR" ] || { echo "quickstart: --for takes seconds" >&2; exit 2; } ;;
esac

say() {
	printf '\n==> %s\n' "$*"
}
die() {
	printf 'quickstart: %s\n' "$*" >&2
	stop_all
	exit 1
}

COLLECTOR_PID=
AGENT_PID=
# stop PID NAME: SIGTERM, wait up to 60 s, then SIGKILL.  Only our pids.
stop() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "quickstart: $2 did not stop in 60 s: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
}
stop_all() {
	stop "$AGENT_PID" agent
	AGENT_PID=
	stop "$COLLECTOR_PID" collector
	COLLECTOR_PID=
}
trap 'stop_all' EXIT
trap 'echo; say "Stopping"; stop_all; exit 0' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root (the agent reads every container)" >&2; exit 1; }

if [ "$DEPS" -eq 1 ]; then
	say "Installing dependencies (scripts/install-deps.sh, Debian packages)"
	sh scripts/install-deps.sh || die "installing dependencies failed"
fi
if [ "$BUILD" -eq 1 ]; then
	say "Building (autoreconf, configure in _build, make)"
	if [ ! -f _build/Makefile ]; then
		autoreconf -fi || die "autoreconf failed"
		mkdir -p _build
		(cd _build && ../configure) || die "configure failed"
	fi
	make -C _build -j2 agent/tallyman-agent collector/tallyman-collector ||
	    die "build failed"
fi
BUILD_DIR=${TM_BUILDDIR:-$SRC/_build}
AGENT=$BUILD_DIR/agent/tallyman-agent
COLLECTOR=$BUILD_DIR/collector/tallyman-collector
[ -x "$AGENT" ] && [ -x "$COLLECTOR" ] || die "not built: run without --no-build"
command -v curl >/dev/null && command -v jq >/dev/null ||
    die "curl and jq are needed (scripts/install-deps.sh installs them)"

# Start afresh, but never empty a folder that is not ours.
if [ -d "$STATE" ] && [ -n "$(ls -A "$STATE")" ] &&
    [ ! -f "$STATE/.tallyman-quickstart" ]; then
	die "$STATE is not empty and not a quick start folder: choose --state"
fi
rm -rf "$STATE"
mkdir -p "$STATE/agent" || die "cannot make $STATE"
chmod 700 "$STATE"
: >"$STATE/.tallyman-quickstart"
API=http://127.0.0.1:$PORT
cat >"$STATE/collector.conf" <<EOF
# The quick start's collector: an embedded broker (single-host trial mode:
# in memory, nothing kept across restarts) and an embedded store.
kafka.brokers = embedded
store.path = $STATE/collector.db
api.listen = 127.0.0.1:$PORT
api.token_file = $STATE/api.token
feeds.osv = $FEEDS
EOF

say "Starting the collector (embedded store and Kafka-protocol broker)"
"$COLLECTOR" -c "$STATE/collector.conf" run >"$STATE/collector.log" 2>&1 </dev/null &
COLLECTOR_PID=$!
for i in $(seq 300); do
	[ -s "$STATE/kafka.bootstrap" ] && curl -sf "$API/healthz" >/dev/null && break
	kill -0 "$COLLECTOR_PID" 2>/dev/null ||
	    die "the collector stopped: $(tail -n 5 "$STATE/collector.log")"
	sleep 0.1
done
[ -s "$STATE/kafka.bootstrap" ] || die "the collector did not start: $(tail -n 5 "$STATE/collector.log")"
BROKERS=$(cat "$STATE/kafka.bootstrap")
echo "collector: API on $API, broker on $BROKERS, store $STATE/collector.db"

RUNTIMES=()
[ -S "$DOCKER_SOCK" ] && RUNTIMES+=("Docker ($DOCKER_SOCK)")
[ -S "$CONTAINERD_SOCK" ] && RUNTIMES+=("containerd ($CONTAINERD_SOCK)")
say "Starting the agent"
cat >"$STATE/agent.conf" <<EOF
kafka.brokers = $BROKERS
state.dir = $STATE/agent
docker.socket = $DOCKER_SOCK
containerd.socket = $CONTAINERD_SOCK
heartbeat.interval = 2s
EOF
"$AGENT" -c "$STATE/agent.conf" run >"$STATE/agent.log" 2>&1 </dev/null &
AGENT_PID=$!
if [ ${#RUNTIMES[@]} -eq 0 ]; then
	echo "agent: neither Docker nor containerd runs on this host (no socket at"
	echo "       $DOCKER_SOCK or $CONTAINERD_SOCK): it reports the host"
	echo "       itself, and will pick up a runtime whose socket appears later."
else
	echo "agent: watching $(IFS=,; echo "${RUNTIMES[*]}" | sed 's/,/, /g')"
fi

TOKEN=$(cat "$STATE/api.token")
api() {
	curl -sf --max-time 10 -H "Authorization: Bearer $TOKEN" "$API$1"
}
# settled: the host has sent two heartbeats, every stored container has its
# snapshot, every image a container refers to has its inventory, and the
# record count did not move since the last look.
LAST=
settled() {
	local h c i n
	h=$(api /api/v1/hosts) || return 1
	[ "$(jq '.total' <<<"$h")" -ge 1 ] || return 1
	[ "$(jq '[.hosts[] | select(.last_heartbeat != null)] | length' <<<"$h")" -ge 1 ] || return 1
	c=$(api '/api/v1/containers?limit=1000') || return 1
	[ "$(jq '[.containers[] | select(.snapshot == false and .state != "removed")] | length' <<<"$c")" -eq 0 ] || return 1
	i=$(api '/api/v1/images?limit=1000') || return 1
	n=$(jq -n --argjson c "$c" --argjson i "$i" \
	    '[$c.containers[] | select(.state != "removed") | .image | select(. != null)] - [$i.images[].key] | length')
	[ "$n" -eq 0 ] || return 1
	n=$(jq '[.hosts[].records] | add' <<<"$h")
	[ "$n" = "$LAST" ] || { LAST=$n; return 1; }
}
say "Waiting for the first inventory"
ok=0
for i in $(seq 240); do
	kill -0 "$AGENT_PID" 2>/dev/null || die "the agent stopped: $(tail -n 5 "$STATE/agent.log")"
	if settled; then
		ok=1
		break
	fi
	sleep 0.5
done
[ "$ok" -eq 1 ] || echo "quickstart: the inventory is still arriving; the summary shows what is stored so far"

say "What tallyman found on this host"
S=$(api /api/v1/stats)
printf '%-22s %s\n' "hosts:" "$(jq -r .hosts <<<"$S")" \
    "containers:" "$(jq -r '"\(.containers) (\(.containers_running) running)"' <<<"$S")" \
    "images:" "$(jq -r .images <<<"$S")" \
    "packages:" "$(jq -r '"\(.packages) distinct, in those images"' <<<"$S")" \
    "findings (open):" "$(jq -r .findings_open <<<"$S")"
if [ "$(jq -r .containers <<<"$S")" -gt 0 ]; then
	echo
	"$COLLECTOR" -c "$STATE/collector.conf" query containers --limit 20
fi
if [ "$(jq -r .images <<<"$S")" -gt 0 ]; then
	echo
	"$COLLECTOR" -c "$STATE/collector.conf" query images --limit 10
fi
echo
F=$(api '/api/v1/findings?limit=1000')
if [ "$(jq -r .total <<<"$F")" -gt 0 ]; then
	echo "findings by kind and severity:"
	jq -r '.findings | group_by(.kind + " " + .severity)[] |
	    "  \(length)\t\(.[0].kind) (\(.[0].severity))"' <<<"$F"
	echo
	"$COLLECTOR" -c "$STATE/collector.conf" query findings --limit 10
fi
[ -n "$FEEDS" ] || echo "(no vulnerability feed given: --feeds DIR|ZIP|URL of OSV records adds vulnerability findings)"
host_pkgs=$("$AGENT" scan --rootfs / --json 2>/dev/null | jq '.packages | length' 2>/dev/null)
[ -n "$host_pkgs" ] && echo "this host's own root holds $host_pkgs packages (tallyman-agent scan --rootfs /)"

cat <<EOF

The web page: $API/#token=$TOKEN
The API:    $API   (token: $STATE/api.token)
  curl -s -H "Authorization: Bearer \$(cat $STATE/api.token)" $API/api/v1/containers
  curl -s -H "Authorization: Bearer \$(cat $STATE/api.token)" "$API/api/v1/packages?name=openssl"
  $COLLECTOR -c $STATE/collector.conf query containers --short-lived
Every endpoint: doc/api.md.  Logs: $STATE/collector.log, $STATE/agent.log.
Start, stop and remove containers: they appear within a second.
EOF

if [ -n "$FOR" ]; then
	echo "Running for $FOR s (--for)."
	sleep "$FOR"
	say "Stopping"
else
	echo "Running until Ctrl-C."
	while kill -0 "$AGENT_PID" 2>/dev/null && kill -0 "$COLLECTOR_PID" 2>/dev/null; do
		sleep 1
	done
	echo "quickstart: a program stopped; see the logs in $STATE" >&2
fi
stop_all
echo "stopped: the agent and the collector exited (state kept in $STATE)"
