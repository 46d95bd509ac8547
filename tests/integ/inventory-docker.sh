#!/bin/bash
# inventory-docker.sh: inventory under the test's own dockerd.
#  - An image of several layers (docker build, --network none) with a
#    whiteout and an opaque folder: its inventory from the overlay layers
#    (scan --image, Docker's GraphDriver data) equals the running
#    container's /proc/PID/root, and the expected set.
#  - 20 containers of one image, handed to the agent's image cache the way
#    the watcher does: one scan, 19 cache hits (heartbeat counters), one
#    image record, 20 answers naming the same image key; after a restart
#    (same state.dir) no scan and no new image record.
#  - Drift: `docker exec` writes and chmods /tmp/miner and deletes a file a
#    package owns: a drift record with /tmp/miner's SHA-256 (as sha256sum
#    computes it inside the container) and the deleted file; a second check
#    reports nothing new.

. "$(dirname "$0")/../lib/harness.sh"
AGENT=$(prog_path agent/tallyman-agent)
CACHE_RUN=$(prog_path tests/integ/inventory-cache-run)
DRIFT_RUN=$(prog_path tests/integ/drift-run)

harness_start
harness_require_cmd jq getfattr

# --- the base image: dpkg (distroless status.d + an info list) and apk ------
B=$TM_TMP/base
mkdir -p "$B/var/lib/dpkg/status.d" "$B/var/lib/dpkg/info" "$B/lib/apk/db" \
    "$B/usr/bin" "$B/etc"
for p in a b c; do
	printf 'Package: pkg-%s\nVersion: 1:%s.0-1\nArchitecture: amd64\nSource: src-%s (2.0)\n' \
	    "$p" "$p" "$p" >"$B/var/lib/dpkg/status.d/pkg-$p"
done
printf '/.\n/usr\n/usr/bin\n/usr/bin/tool\n' >"$B/var/lib/dpkg/info/pkg-a.list"
printf '#!/bin/sh\necho tool\n' >"$B/usr/bin/tool"
chmod 755 "$B/usr/bin/tool"
printf 'P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:old-apk\nV:0.1-r0\nA:x86_64\no:old\n' \
    >"$B/lib/apk/db/installed"
printf 'ID=tallyman\nVERSION_ID=1\nPRETTY_NAME="Tallyman Test 1"\n' >"$B/etc/os-release"
harness_image tm-inv-base:1 "$B" || tap_bail "no base image"

# --- three more layers: a whiteout, an opaque folder, an added file ---------
mkdir -p "$TM_TMP/ctx"
cat >"$TM_TMP/ctx/Dockerfile" <<'EOF'
FROM tm-inv-base:1
RUN rm /var/lib/dpkg/status.d/pkg-b
RUN rm -rf /lib/apk/db && mkdir -p /lib/apk/db && printf 'P:zz\nV:9-r1\nA:x86_64\no:zz-src\n' >/lib/apk/db/installed
RUN printf 'Package: pkg-e\nVersion: 5\nArchitecture: all\n' >/var/lib/dpkg/status.d/pkg-e
EOF
tap_check "a 4-layer image builds with --network none" \
    env DOCKER_BUILDKIT=0 docker build -q --network none -t tm-inv-layers:1 \
    "$TM_TMP/ctx" || tap_bail "no layered image"
nl=$(harness_docker image inspect -f '{{len .RootFS.Layers}}' tm-inv-layers:1)
tap_is "$nl" 4 "the image has 4 layers"
lower=$(harness_docker image inspect -f '{{.GraphDriver.Data.LowerDir}}' tm-inv-layers:1)
upper=$(harness_docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' tm-inv-layers:1)
wh=$(find ${lower//:/ } "$upper" -type c 2>/dev/null | grep -c 'status.d/pkg-b$')
tap_is "$wh" 1 "the removal is a whiteout (char device 0/0) in one layer"
opq=$(for d in $upper ${lower//:/ }; do
	getfattr --absolute-names -n trusted.overlay.opaque --only-values "$d/lib/apk/db" 2>/dev/null
	echo
done | grep -c '^y$')
tap_is "$opq" 1 "rm -rf + mkdir made /lib/apk/db opaque in one layer"

fmt='.packages[] | "\(.ecosystem) \(.name) \(.version) \(.source_name) \(.source_version)"'
expect="apk zz 9-r1 zz-src 9-r1
dpkg pkg-a 1:a.0-1 src-a 2.0
dpkg pkg-c 1:c.0-1 src-c 2.0
dpkg pkg-e 5 pkg-e 5"
img=$("$AGENT" scan --image tm-inv-layers:1 --docker-socket "$TM_DOCKER_SOCK" --json 2>"$TM_TMP/scan-image.err")
tap_is "$?" 0 "scan --image exits 0" || tap_diag "$(tail -20 "$TM_TMP/scan-image.err")"
tap_is "$(jq -r "$fmt" <<<"$img")" "$expect" \
    "scan --image (overlay layers): whiteout and opaque folder applied as the kernel does"
tap_is "$(jq -r '.os.pretty_name' <<<"$img")" "Tallyman Test 1" "scan --image reads os-release through the layers"

name=tm-inv-$TM_ID
harness_docker run -d --network none --name "$name" tm-inv-layers:1 sleep 600 >/dev/null
pid=$(harness_docker inspect -f '{{.State.Pid}}' "$name")
run=$("$AGENT" scan --rootfs "/proc/$pid/root" --json 2>"$TM_TMP/scan-proc.err")
tap_is "$(jq -r "$fmt" <<<"$run")" "$(jq -r "$fmt" <<<"$img")" \
    "the running container's /proc/$pid/root gives the same inventory as the layers"
tap_is "$(jq -r '.errors' <<<"$img")/$(jq -r '.errors' <<<"$run")" "0/0" "no errors either way"
tap_like "$("$AGENT" scan --image tm-inv-layers:1 --docker-socket "$TM_DOCKER_SOCK")" \
    $'^OS: Tallyman Test 1.*\nECOSYSTEM +NAME +VERSION +ARCH +SOURCE\napk +zz +9-r1' \
    "the human table: OS line, then ecosystem/name/version/arch/source columns"
tap_like "$("$AGENT" scan --image no-such-image:0 --docker-socket "$TM_DOCKER_SOCK" 2>&1; echo "rc=$?")" \
    'HTTP 404.*rc=1$' "scan --image of an unknown image fails with Docker's 404"

# --- the same image in containerd (docker save | ctr image import) ---------
harness_docker save tm-inv-layers:1 >"$TM_TMP/layers.tar"
if tap_check "the 4-layer image imports into containerd namespace tm-inv" \
    harness_ctr -n tm-inv image import "$TM_TMP/layers.tar"; then
	cimg=$("$AGENT" scan --image docker.io/library/tm-inv-layers:1 --runtime containerd \
	    --containerd-socket "$TM_CONTAINERD_SOCK" --namespace tm-inv --json \
	    2>"$TM_TMP/scan-ctrd.err")
	tap_is "$?" 0 "scan --image --runtime containerd exits 0" ||
	    tap_diag "$(tail -20 "$TM_TMP/scan-ctrd.err")"
	tap_is "$(jq -r "$fmt" <<<"$cimg")" "$expect" \
	    "scan --image --runtime containerd (snapshot view of the layers): the same inventory" ||
	    tap_diag "$(cat "$TM_TMP/scan-ctrd.err")"
	snaps=$(harness_ctr -n tm-inv snapshots ls 2>&1)
	tap_is "$(grep -c tallyman-scan <<<"$snaps")/$(grep -c Committed <<<"$snaps")" "0/4" \
	    "the scan's view snapshot is removed, the 4 layers stay"
else
	tap_skip "scan --image --runtime containerd" "import failed"
	tap_skip "the scan's view snapshot is removed, the 4 layers stay" "import failed"
fi

# --- 20 containers of one image: one scan ----------------------------------
iid=$(harness_docker image inspect -f '{{.Id}}' tm-inv-layers:1)
: >"$TM_TMP/ctrs"
for i in $(seq 20); do
	c=$(harness_docker run -d --network none --name "$name-$i" tm-inv-layers:1 sleep 600) ||
	    break
	# The container's image layers: its LowerDir ("-init" layer first).
	echo "$c $iid $(harness_docker inspect -f '{{.GraphDriver.Data.LowerDir}}' "$c")" >>"$TM_TMP/ctrs"
done
tap_is "$(wc -l <"$TM_TMP/ctrs")" 20 "20 containers of tm-inv-layers:1 run"
S=$TM_TMP/state
mkdir -p "$S"
"$CACHE_RUN" "$S" <"$TM_TMP/ctrs" >"$TM_TMP/run1.json" 2>"$TM_TMP/run1.err"
tap_like "$(tail -1 "$TM_TMP/run1.err")" '^stats scans=1 hits=19 answered=20 failed=0$' \
    "20 requests for one image: 1 scan, 19 cache hits, 20 answers"
tap_is "$(grep -c "image-key $iid packages 4$" "$TM_TMP/run1.err")" 20 \
    "all 20 containers refer to the same image key with its 4 packages"
tap_is "$(jq -r 'select(.k == "image") | "\(.b.key) \(.b.pkgs | length)"' "$TM_TMP/run1.json")" \
    "$iid 4" "exactly one image record, keyed by the image id"
tap_is "$(jq -r 'select(.k == "heartbeat") | "\(.b.iscan) \(.b.ihit)"' "$TM_TMP/run1.json" | tail -1)" \
    "1 19" "the heartbeat reports 1 image scan and 19 cache hits"
"$CACHE_RUN" "$S" <"$TM_TMP/ctrs" >"$TM_TMP/run2.json" 2>"$TM_TMP/run2.err"
tap_like "$(tail -1 "$TM_TMP/run2.err")" '^stats scans=0 hits=20 answered=20 failed=0$' \
    "after a restart the persisted inventory answers: no scan"
tap_is "$(jq -r 'select(.k == "image") | .b.key' "$TM_TMP/run2.json")" "$iid" \
    "and the image record is sent once in this run too, from the cache (a collector that lost its store gets it)"

# --- drift: docker exec writes /tmp/miner and deletes a package file --------
cupper=$(harness_docker inspect -f '{{.GraphDriver.Data.UpperDir}}' "$name")
clower=$(harness_docker inspect -f '{{.GraphDriver.Data.LowerDir}}' "$name")
"$DRIFT_RUN" "$name" "$cupper" "$clower" start >"$TM_TMP/drift0.json" 2>"$TM_TMP/drift0.err"
tap_is "$(grep -c '^drift start files=0$' "$TM_TMP/drift0.err")" 1 \
    "at start the writable layer holds no drift"
tap_check "docker exec writes and chmods /tmp/miner, removes /usr/bin/tool" \
    harness_docker exec "$name" sh -c 'cp /bin/busybox /tmp/miner && chmod 755 /tmp/miner && rm /usr/bin/tool && echo data >/tmp/notes'
sum=$(harness_docker exec "$name" sha256sum /tmp/miner | cut -d' ' -f1)
"$DRIFT_RUN" "$name" "$cupper" "$clower" exec exec >"$TM_TMP/drift.json" 2>"$TM_TMP/drift.err"
rec=$(jq -c 'select(.k == "drift") | .b' "$TM_TMP/drift.json")
tap_is "$(wc -l <<<"$rec")" 1 "one drift record"
tap_is "$(jq -r '.files[] | select(.path == "/tmp/miner") | "\(.chg) \(.mode) \(.sha256)"' <<<"$rec")" \
    "added 493 $sum" "/tmp/miner: added, mode 0755, SHA-256 as sha256sum computes it in the container"
tap_is "$(jq -r '.files[] | select(.path == "/usr/bin/tool") | .chg' <<<"$rec")" deleted \
    "/usr/bin/tool (owned by pkg-a) is reported deleted"
tap_is "$(jq -r '[.files[].path] | sort | join(",")' <<<"$rec")" "/tmp/miner,/usr/bin/tool" \
    "nothing else: a data file is not drift"
tap_is "$(jq -r '"\(.id) \(.when)"' <<<"$rec")" "$name exec" "the record names the container and the trigger"
tap_is "$(grep -c 'drift exec files=0' "$TM_TMP/drift.err")" 1 \
    "a second check on the same container reports nothing new"

tap_done
