#!/bin/bash
# quickstart.sh: the README's first command, non-interactive (--for), run
# against the test's dockerd and containerd: the collector with its
# embedded broker and store and the agent start, the summary names what
# runs (hosts, containers, images, packages, findings, where the API is),
# and both stop cleanly.  Then once more with no runtime at all: it says so,
# and the host is still reported.
. "$(dirname "$0")/../lib/harness.sh"

QS=$top_srcdir/scripts/quickstart.sh
harness_start
harness_require_cmd curl jq python3

D=$TM_TMP/qs-img
mkdir -p "$D/var/lib/dpkg" "$D/etc"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' \
    >"$D/etc/os-release"
printf 'Package: libqs1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n\nPackage: qs-tools\nStatus: install ok installed\nArchitecture: amd64\nSource: qs\nVersion: 2.0-3\n\n' \
    >"$D/var/lib/dpkg/status"
harness_image "tm-qs:1" "$D" || tap_bail "no image"
long=$(harness_docker run -d --network none --name "tm-qs-long-$TM_ID" \
    "$TM_IMAGE" sleep 600) || tap_bail "no container"
harness_docker run --network none --name "tm-qs-short-$TM_ID" "$TM_IMAGE" true ||
    tap_bail "no short container"

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

P=$(port)
TM_BUILDDIR=$top_builddir timeout 600 bash "$QS" --no-deps --no-build \
    --for 2 --state "$TM_TMP/qs" --port "$P" \
    --docker-socket "$TM_DOCKER_SOCK" --containerd-socket "$TM_CONTAINERD_SOCK" \
    >"$TM_LOGS/quickstart.out" 2>&1 </dev/null
rc=$?
out=$(cat "$TM_LOGS/quickstart.out")
tap_is "$rc" 0 "quickstart --for exits 0"
tap_like "$out" "watching Docker \\($TM_DOCKER_SOCK\\), containerd" \
    "it says which runtimes it watches"
tap_like "$out" "hosts: +1" "summary: one host"
tap_like "$out" "containers: +2 \\(1 running\\)" "summary: both containers, one running"
tap_like "$out" "images: +1" "summary: the image"
tap_like "$out" "packages: +2 distinct" "summary: the image's two packages"
tap_like "$out" "findings \\(open\\): +[1-9]" "summary: open findings (configuration checks)"
tap_like "$out" "tm-qs-long-$TM_ID" "the containers table names the running container"
tap_like "$out" "tm-qs-short-$TM_ID" "... and the short one"
tap_like "$out" "misconfiguration \\(" "findings by kind and severity"
tap_like "$out" "The API: +http://127.0.0.1:$P" "where the API is"
tap_like "$out" "token: $TM_TMP/qs/api.token" "where its token is"
tap_like "$out" "stopped: the agent and the collector exited" "both stopped"
tap_like "$(cat "$TM_TMP/qs/collector.log")" "embedded: Kafka-protocol broker" \
    "the collector ran its embedded broker"
tap_check "nothing listens on the API's port any more" \
    bash -c '! curl -s --max-time 2 "http://127.0.0.1:$0/healthz" >/dev/null' "$P"
tap_check "the broker's address file is gone" test ! -e "$TM_TMP/qs/kafka.bootstrap"

# No runtime at all.
P=$(port)
TM_BUILDDIR=$top_builddir timeout 600 bash "$QS" --no-deps --no-build \
    --for 1 --state "$TM_TMP/qs2" --port "$P" \
    --docker-socket "$TM_TMP/none/docker.sock" \
    --containerd-socket "$TM_TMP/none/containerd.sock" \
    >"$TM_LOGS/quickstart2.out" 2>&1 </dev/null
rc=$?
out=$(cat "$TM_LOGS/quickstart2.out")
tap_is "$rc" 0 "no runtime: quickstart --for exits 0"
tap_like "$out" "neither Docker nor containerd runs on this host" "no runtime: it says so"
tap_like "$out" "hosts: +1" "no runtime: the host is still reported"
tap_like "$out" "containers: +0" "no runtime: no container"
tap_like "$out" "this host's own root holds [0-9]+ packages" \
    "no runtime: the host's own packages are counted"

# A folder that is not a quick start's is never emptied.
mkdir -p "$TM_TMP/precious"
echo keep >"$TM_TMP/precious/file"
TM_BUILDDIR=$top_builddir timeout 60 bash "$QS" --no-deps --no-build --for 1 \
    --state "$TM_TMP/precious" --port "$(port)" >"$TM_LOGS/quickstart3.out" 2>&1 </dev/null
rc=$?
tap_isnt() { [ "$1" != "$2" ] && tap_ok "$3" || tap_fail "$3" "got '$1'"; }
tap_isnt "$rc" 0 "--state on a foreign folder fails"
tap_check "... and leaves it alone" test -f "$TM_TMP/precious/file"
harness_docker rm -f "$long" >/dev/null 2>&1
tap_done
