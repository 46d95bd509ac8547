#!/bin/bash
# watch-docker.sh: long-lived Docker containers, as `tallyman-agent run
# --output json` reports them while they run:
#  - a privileged container with the Docker socket mounted: image, command,
#    risks (privileged, runtime socket, a sensitive mount), its process with
#    the SHA-256 of the executable it runs;
#  - a hardened one (read-only rootfs, --cap-drop ALL, user 1000): its risks
#    say so and its process runs as uid 1000;
#  - a later `docker exec` gives an exec event and a new snapshot with the
#    new process in it;
#  - removing them gives exit records with exit codes and lifetimes;
#  - Docker's and containerd's views of the same containers are merged.
#
# This host's capability bounding set may lack capabilities that
# --privileged asks for (runc then refuses to start it).  The privileged
# container runs under a runtime wrapper that removes exactly the missing
# ones from its OCI spec before calling runc; Docker's configuration (what
# the agent reads) is unchanged.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/watch.sh"

harness_init
harness_require_cmd jq capsh sha256sum

harness_privileged_runtime
harness_start

harness_image tm-watch:1 || tap_bail "no image"
bbsum=$(sha256sum "$(command -v busybox)" | cut -d' ' -f1)

watch_agent_start
watch_wait_connected || tap_bail "the agent did not connect"
watch_wait_record "the host record" '.k == "host" and .b.docker != null and .b.ctrd != null' ||
    tap_fail "a host record names both runtime versions"

# --- the two containers -----------------------------------------------------
priv=$(harness_docker run -d --network none --name "priv-$TM_ID" \
    --runtime "$TM_PRIV_RUNTIME" --privileged \
    -v "$TM_DOCKER_SOCK:/var/run/docker.sock" -v /etc:/host-etc:ro \
    tm-watch:1 sleep 600) || tap_bail "privileged container did not start"
hard=$(harness_docker run -d --network none --name "hard-$TM_ID" \
    --read-only --cap-drop ALL --user 1000 \
    tm-watch:1 sleep 601) || tap_bail "hardened container did not start"

watch_wait_record "priv's start snapshot" \
    ".k == \"container\" and .b.id == \"$priv\" and .b.why == \"start\""
watch_wait_record "hard's start snapshot" \
    ".k == \"container\" and .b.id == \"$hard\" and .b.why == \"start\""

P=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"$priv\" and .b.why == \"start\") | .b" | head -n 1)
H=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"$hard\" and .b.why == \"start\") | .b" | head -n 1)

tap_is "$(jq -r '"\(.rt) \(.ns) \(.name)"' <<<"$P")" "docker moby priv-$TM_ID" \
    "priv is one Docker container (namespace moby) with its name"
tap_is "$(jq -r '.img' <<<"$P")" "tm-watch:1" "priv's image reference is tm-watch:1"
tap_is "$(jq -r '.iid' <<<"$P")" "$TM_IMAGE_ID" "priv's image id is the imported image's"
tap_is "$(jq -c '.cmd' <<<"$P")" '["sleep","600"]' "priv's command is sleep 600"
tap_is "$(jq -r '.state' <<<"$P")" running "priv is running"
tap_is "$(jq -r '.risk.priv' <<<"$P")" true "priv is reported privileged"
tap_is "$(jq -r '.risk.dsock' <<<"$P")" true "priv is reported with the Docker socket mounted"
tap_is "$(jq -r '[.risk.mnt[] | select(.dst == "/var/run/docker.sock") | .sens] | .[0]' <<<"$P")" \
    true "the socket mount is marked sensitive"
tap_is "$(jq -r '[.risk.mnt[] | select(.dst == "/host-etc") | "\(.src) \(.sens) \(.ro)"] | .[0]' <<<"$P")" \
    "/etc true true" "the host /etc mount is sensitive and read-only"
tap_is "$(jq -r '.risk.seccomp' <<<"$P")" unconfined "priv has no seccomp profile"
tap_is "$(jq -r '.risk.root' <<<"$P")" true "priv runs as root"
tap_is "$(jq -r '(.risk.caps | index("SYS_ADMIN")) != null' <<<"$P")" true \
    "priv's effective capabilities include SYS_ADMIN"
tap_is "$(jq -r '[.procs[] | select(.comm == "sleep")] | length' <<<"$P")" 1 \
    "priv's snapshot has its sleep process"
tap_is "$(jq -r '[.procs[] | select(.comm == "sleep")][0] | "\(.exe) \(.args | join(" "))"' <<<"$P")" \
    "/bin/busybox sleep 600" "the process's executable and command line"
tap_is "$(jq -r '[.procs[] | select(.comm == "sleep")][0].sha256' <<<"$P")" "$bbsum" \
    "the executable's SHA-256, read through the container's root, is busybox's"
tap_is "$(jq -r '[.procs[] | select(.comm == "sleep")][0].pid' <<<"$P")" \
    "$(harness_docker inspect -f '{{.State.Pid}}' "$priv")" "the process's host pid is Docker's"

tap_is "$(jq -r '.user' <<<"$H")" 1000 "hard runs as user 1000"
tap_is "$(jq -r '.risk.rorfs' <<<"$H")" true "hard has a read-only rootfs"
tap_is "$(jq -c '.risk.capdrop' <<<"$H")" '["ALL"]' "hard dropped ALL capabilities"
tap_is "$(jq -r '.risk.caps // [] | length' <<<"$H")" 0 "hard has no effective capabilities"
tap_is "$(jq -r '.risk.priv // false' <<<"$H")" false "hard is not privileged"
tap_is "$(jq -r '.risk.root // false' <<<"$H")" false "hard does not run as root"
tap_is "$(jq -r '[.procs[] | select(.comm == "sleep")][0] | "\(.uid) \(.huid)"' <<<"$H")" \
    "1000 1000" "hard's process runs as uid 1000 (host and container)"

# --- exec: a new process, a new snapshot --------------------------------------
execid=$(curl -sS --unix-socket "$TM_DOCKER_SOCK" -H 'Content-Type: application/json' \
    -d '{"Cmd":["sleep","300"]}' "http://localhost/containers/$priv/exec" | jq -r .Id)
curl -sS --unix-socket "$TM_DOCKER_SOCK" -H 'Content-Type: application/json' \
    -d '{"Detach":true}' "http://localhost/exec/$execid/start" >/dev/null
watch_wait_record "priv's exec snapshot" \
    ".k == \"container\" and .b.id == \"$priv\" and .b.why == \"exec\""
E=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"$priv\" and .b.why == \"exec\") | .b" | head -n 1)
tap_is "$(watch_records | jq -r "select(.k == \"event\" and .b.id == \"$priv\" and .b.act == \"exec\") | .b.exec")" \
    "$execid" "the exec is one event with Docker's exec id"
tap_is "$(jq -r '[.procs[] | select(.args == ["sleep","300"])] | length' <<<"$E")" 1 \
    "the exec snapshot has the new process (sleep 300)"
tap_is "$(jq -r '[.procs[] | select(.args == ["sleep","600"])] | length' <<<"$E")" 1 \
    "and still the first one"

# --- removal: exit records ----------------------------------------------------
harness_docker rm -f "$priv" "$hard" >/dev/null
watch_wait_record "priv's exit snapshot" \
    ".k == \"container\" and .b.id == \"$priv\" and .b.why == \"exit\""
watch_wait_record "hard's exit snapshot" \
    ".k == \"container\" and .b.id == \"$hard\" and .b.why == \"exit\""
X=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"$hard\" and .b.why == \"exit\") | .b")
tap_is "$(jq -r '.exit' <<<"$X")" 137 "hard's exit record has exit code 137 (killed)"
tap_like "$(jq -r '.life' <<<"$X")" '^[0-9]+$' "hard's exit record has a lifetime"
tap_is "$(jq -r '(.life >= 0) and ((.finished - .started - .life) | fabs < 1000)' <<<"$X")" true \
    "the lifetime is finished - started"
watch_wait_record "priv's delete event" \
    ".k == \"event\" and .b.id == \"$priv\" and .b.act == \"delete\""
tap_is "$(watch_records | jq -r "select(.k == \"event\" and .b.id == \"$priv\") | .b.act" | paste -sd' ')" \
    "create start exec exit delete" "priv's events: create start exec exit delete, once each"

watch_agent_stop
tap_is "$WATCH_RC" 0 "the agent drains and exits 0 on SIGTERM"
watch_check_no_duplicates
tap_done
