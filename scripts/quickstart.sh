#!/bin/bash
# scripts/quickstart.sh: the README's first command.  On a fresh Debian 12
# machine, as root: install dependencies, build, run the main job.
#
#   ./scripts/quickstart.sh [--stay]
#
# The agent and the collector are not built yet, so for now the main job is
# a demonstration of the pieces they will run on: a private containerd and
# dockerd (nothing on the machine's own daemons is touched), a container seen
# through the Docker Engine API, and a message round trip through the Kafka
# protocol (librdkafka's mock cluster, checked with kcat).  --stay keeps it
# all running until Ctrl-C so you can look around.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC" || exit 1
STAY=0
for arg in "$@"; do
	case "$arg" in
	--stay) STAY=1 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "quickstart: unknown argument $arg" >&2; exit 2 ;;
	esac
done

say() {
	printf '\n==> %s\n' "$*"
}
die() {
	printf 'quickstart: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and starts containerd and dockerd"

say "Installing dependencies (scripts/install-deps.sh, Debian packages)"
sh scripts/install-deps.sh || die "installing dependencies failed"

say "Building (autoreconf, configure in _build, make)"
autoreconf -fi || die "autoreconf failed"
mkdir -p _build
if [ ! -f _build/Makefile ]; then
	(cd _build && ../configure) || die "configure failed"
fi
make -C _build -j2 || die "build failed"
make -C _build -j2 tests/mock-kafka || die "building tests/mock-kafka failed"

cat <<'EOF'

==> What runs now
    tallyman-agent and tallyman-collector are NOT built yet: they only print
    their version and say so.  Until they are, this quick start demonstrates
    the pieces they will run on, the same ones the test suite uses.
EOF

# The test harness starts and stops everything below; see tests/lib/harness.sh.
export TM_INTEG=yes top_srcdir=$SRC top_builddir=$SRC/_build
. "$SRC/tests/lib/harness.sh"

say "Starting a private containerd and dockerd (own roots and sockets in /tmp)"
harness_start
echo "    containerd pid $TM_CONTAINERD_PID, socket $TM_CONTAINERD_SOCK"
echo "    dockerd    pid $TM_DOCKERD_PID, socket $TM_DOCKER_SOCK"
echo "    (--bridge=none --iptables=false --ip-masq=false: no networks, no firewall changes)"

say "Building an image from a folder (busybox-static) with docker import"
harness_image tallyman-demo || die "docker import failed"
echo "    $TM_IMAGE = $TM_IMAGE_ID"

say "Running a container (--network none)"
name=tallyman-demo-$TM_ID
harness_docker run -d --network none --stop-timeout 2 --name "$name" \
    "$TM_IMAGE" sleep 3600 || die "docker run failed"

say "The container as the Docker Engine API sees it (GET /containers/json on $TM_DOCKER_SOCK)"
curl -sS --unix-socket "$TM_DOCKER_SOCK" http://localhost/containers/json |
    jq '.[] | {Id: .Id[0:12], Names, Image, State, Status}'

say "Starting the Kafka protocol (librdkafka mock cluster, 3 brokers, topic tallyman.inventory)"
kafka_start -b 3 -t tallyman.inventory:3
echo "    bootstrap: $TM_KAFKA"

msg="container $name image $TM_IMAGE started $(date -u +%FT%TZ)"
say "Producing one zstd-compressed message with kcat"
echo "    $msg"
printf '%s\n' "$msg" | kcat -b "$TM_KAFKA" -P -t tallyman.inventory -k "$TM_ID" \
    -X compression.codec=zstd || die "kcat produce failed"

say "Consuming it back through a consumer group with kcat"
got=$(timeout 120 kcat -b "$TM_KAFKA" -G "tallyman-demo-$TM_ID" \
    -X auto.offset.reset=earliest -c 1 -q -f '%s' tallyman.inventory)
echo "    $got"
if [ "$got" = "$msg" ]; then
	echo "    round trip OK: the message came back unchanged"
else
	die "round trip FAILED: got '$got'"
fi

if [ "$STAY" -eq 1 ]; then
	cat <<EOF

==> Everything stays up until Ctrl-C.  In another shell:
    export DOCKER_HOST=unix://$TM_DOCKER_SOCK
    docker ps; ctr -a $TM_CONTAINERD_SOCK -n moby task ls
    kcat -b $TM_KAFKA -L
EOF
	# Ctrl-C reaches sleep and the harness's INT trap, which tears down.
	while :; do sleep 1; done
fi

say "Stopping everything this script started"
if harness_stop; then
	echo "    done: daemons, containers, mock cluster stopped; temporary files removed"
else
	die "left behind: ${HARNESS_LEFT[*]}"
fi
