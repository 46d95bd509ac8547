#!/bin/bash
# smoke.sh: proves the test harness itself.  A container built from a folder
# runs under the test's own dockerd and is seen through the Docker Engine API
# over its unix socket (and as a task in that dockerd's containerd); the same
# image runs in another containerd namespace; a zstd-compressed message
# produced with kcat to the mock Kafka cluster comes back through a consumer
# group.

. "$(dirname "$0")/../lib/harness.sh"

harness_start
harness_require_cmd kcat jq

# --- an image from a folder, with a file of ours in it ----------------------
mkdir -p "$TM_TMP/extra/etc"
echo "tallyman smoke $TM_ID" >"$TM_TMP/extra/etc/tm-smoke"
tap_check "image built from a folder (busybox-static + files) with docker import" \
    harness_image tm-smoke:1 "$TM_TMP/extra" ||
    tap_bail "no image, nothing else can run"

name=tm-smoke-$TM_ID
tap_check "container runs under the test dockerd with --network none" \
    harness_docker run -d --network none --stop-timeout 2 --name "$name" "$TM_IMAGE" \
    sleep 600
cid=$(harness_docker inspect -f '{{.Id}}' "$name" 2>/dev/null)
cid=${cid:-no-container-id}

# --- the Docker Engine API over the unix socket ------------------------------
json=$(curl -sS --unix-socket "$TM_DOCKER_SOCK" \
    http://localhost/containers/json 2>&1)
tap_is "$(jq -r --arg n "/$name" \
    '[.[] | select(.Names | index($n))] | length' <<<"$json" 2>&1)" 1 \
    "GET /containers/json over $TM_DOCKER_SOCK lists the container once"
tap_is "$(jq -r --arg n "/$name" \
    '.[] | select(.Names | index($n)) | .Image' <<<"$json" 2>&1)" \
    "$TM_IMAGE" "the API reports the container's image as $TM_IMAGE"
tap_is "$(jq -r --arg n "/$name" \
    '.[] | select(.Names | index($n)) | .State' <<<"$json" 2>&1)" \
    running "the API reports the container running"
tap_is "$(jq -r --arg n "/$name" \
    '.[] | select(.Names | index($n)) | .HostConfig.NetworkMode' \
    <<<"$json" 2>&1)" none "the container has no network"
tap_is "$(curl -sS --unix-socket "$TM_DOCKER_SOCK" \
    "http://localhost/images/$TM_IMAGE_ID/json" | jq -r .Id)" \
    "$TM_IMAGE_ID" "the API shows the imported image by its id"

# The folder's file is inside the container.
tap_is "$(harness_docker exec "$name" cat /etc/tm-smoke 2>&1)" \
    "tallyman smoke $TM_ID" "the caller's extra file is in the image"

# Docker runs it through OUR containerd: a task in its moby namespace.
tap_like "$(harness_ctr -n moby task ls 2>&1)" "$cid[[:space:]]+[0-9]+[[:space:]]+RUNNING" \
    "the container is a running task in the test containerd's moby namespace"

# --- the same image in another containerd namespace --------------------------
if tap_check "image imported into containerd namespace tm-smoke" \
    harness_ctr_image tm-smoke tm-smoke:1; then
	tap_is "$(harness_ctr -n tm-smoke run --rm --runc-root "$TM_TMP/runc" \
	    "$TM_CTR_IMAGE" "ctr-$TM_ID" cat /etc/tm-smoke 2>&1)" \
	    "tallyman smoke $TM_ID" \
	    "ctr runs the imported image in namespace tm-smoke"
else
	tap_skip "ctr runs the imported image in namespace tm-smoke" \
	    "the import failed"
fi

# --- restart in place: same roots, same containers ---------------------------
# containerd first: its shims outlive it, so Docker's container keeps running.
harness_containerd_restart
tap_is "$(harness_ctr -n tm-smoke image ls -q 2>&1)" "$TM_CTR_IMAGE" \
    "containerd restarted in place still has the image in namespace tm-smoke"
tap_like "$(harness_ctr -n moby task ls 2>&1)" \
    "$cid[[:space:]]+[0-9]+[[:space:]]+RUNNING" \
    "containerd restarted in place still runs dockerd's container"
harness_dockerd_restart
tap_is "$(harness_docker inspect -f '{{.Config.Image}}' "$name" 2>&1)" \
    "$TM_IMAGE" "dockerd restarted in place still knows the container"

# --- Kafka: kcat -> mock cluster (zstd) -> kcat consumer group ---------------
kafka_start -b 3 -t tm.smoke:3
# Large and compressible: librdkafka sends a batch uncompressed when zstd
# would not make it smaller, and this test must see zstd on the wire.
msg="smoke $TM_ID $(printf 'inventory%.0s' $(seq 200))"
out=$(printf '%s\n' "$msg" | kcat -b "$TM_KAFKA" -P -t tm.smoke -k "$TM_ID" \
    -X compression.codec=zstd -d msg 2>&1)
tap_like "$out" "Produce MessageSet with 1 message\\(s\\) .*zstd\\)" \
    "kcat produced the message to the mock cluster as a zstd batch"
got=$(timeout 120 kcat -b "$TM_KAFKA" -G "tm-smoke-$TM_ID" \
    -X auto.offset.reset=earliest -c 1 -f '%k %s\n' -q tm.smoke 2>&1)
tap_is "$got" "$TM_ID $msg" \
    "kcat consumer group reads the same key and payload back"

# With the brokers down nothing can be read; back up, the data is still there.
kafka_down
tap_check "with every broker down, metadata requests fail" \
    bash -c "! kcat -b '$TM_KAFKA' -m 2 -L >/dev/null 2>&1"
kafka_up
got=$(timeout 120 kcat -b "$TM_KAFKA" -C -t tm.smoke -o beginning -e -q \
    -f '%s\n' 2>&1)
tap_is "$got" "$msg" "brokers back up serve the same message again"

tap_done
