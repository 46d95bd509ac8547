#!/bin/bash
# watch-containerd.sh: containers made with `ctr run` (no Docker involved),
# in namespace default and in namespace k8s.io with the CRI's labels, as
# `tallyman-agent run --output json` and `snapshot --json` report them:
#  - runtime containerd, the namespace, the labels, the image reference and
#    its digest (Images/Get), the command from the OCI spec, the process;
#  - k8s.io: pod name, pod namespace and container name from the labels;
#  - the rootfs layers from TaskCreate name the image inventory record;
#  - a container that only lives for `true` still gives a complete exit
#    record; killing one gives its exit code;
#  - one container already running when the agent starts is found by the
#    listing (why "list");
#  - `snapshot --json` prints the host record and every container once.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/watch.sh"

harness_start
harness_require_cmd jq sha256sum

harness_image tm-ctr:1 || tap_bail "no image"
harness_ctr_image default tm-ctr:1 || tap_bail "no image in namespace default"
harness_ctr_image k8s.io tm-ctr:1 || tap_bail "no image in namespace k8s.io"
IMG=$TM_CTR_IMAGE
digest=$(harness_ctr -n default image ls | awk -v r="$IMG" '$1 == r {print $3}')
runc_root=$TM_TMP/runc

ctr_run() {
	local ns=$1
	shift
	harness_ctr -n "$ns" run --runc-root "$runc_root" "$@"
}

# One container exists before the agent starts: found by listing.
ctr_run default -d --label phase=before "$IMG" "early-$TM_ID" sleep 600 >/dev/null ||
    tap_bail "ctr run failed"

watch_agent_start
watch_wait_connected || tap_bail "the agent did not connect"
watch_wait_record "the early container, found by listing" \
    ".k == \"container\" and .b.id == \"early-$TM_ID\""
tap_is "$(watch_records | jq -r "select(.k == \"container\" and .b.id == \"early-$TM_ID\") | \"\(.b.why) \(.b.state) \(.b.labels.phase)\"")" \
    "list running before" "a container running before the agent is reported once, why list"

# --- default: labels, image, command, process --------------------------------
ctr_run default -d --label app=demo --label tier=web "$IMG" "web-$TM_ID" sleep 601 >/dev/null ||
    tap_bail "ctr run failed"
watch_wait_record "web's start snapshot" \
    ".k == \"container\" and .b.id == \"web-$TM_ID\" and .b.why == \"start\""
W=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"web-$TM_ID\" and .b.why == \"start\") | .b")
tap_is "$(jq -r '"\(.rt) \(.ns)"' <<<"$W")" "containerd default" \
    "ctr's container: runtime containerd, namespace default"
tap_is "$(jq -r '"\(.labels.app) \(.labels.tier)"' <<<"$W")" "demo web" "its labels"
tap_is "$(jq -r '.img' <<<"$W")" "$IMG" "its image reference"
tap_is "$(jq -r '.idig' <<<"$W")" "$digest" "its image digest, from containerd's image store"
tap_is "$(jq -c '.cmd' <<<"$W")" '["sleep","601"]' "its command, from the OCI spec"
tap_is "$(jq -r '.user' <<<"$W")" "0:0" "its user, from the OCI spec"
pid=$(harness_ctr -n default task ls | awk -v i="web-$TM_ID" '$1 == i {print $2}')
tap_is "$(jq -r '.pid' <<<"$W")" "$pid" "its pid is the task's"
tap_is "$(jq -r "[.procs[] | select(.pid == $pid)][0] | \"\(.comm) \(.exe) \(.args | join(\" \"))\"" <<<"$W")" \
    "sleep /bin/busybox sleep 601" "its process, read from /proc"
tap_is "$(jq -r "[.procs[] | select(.pid == $pid)][0].sha256" <<<"$W")" \
    "$(sha256sum "$(command -v busybox)" | cut -d' ' -f1)" "the process executable's SHA-256"
tap_like "$(jq -r '.ikey' <<<"$W")" '^chain:[0-9a-f]{64}$' \
    "the image key comes from TaskCreate's overlay layers"
watch_wait_record "the image record" \
    ".k == \"image\" and .b.key == \"$(jq -r '.ikey' <<<"$W")\""
tap_ok "the image inventory record with that key is emitted"

# --- k8s.io: the CRI's labels --------------------------------------------------
ctr_run k8s.io -d --label io.kubernetes.pod.name=shop-7d9 \
    --label io.kubernetes.pod.namespace=prod \
    --label io.kubernetes.container.name=cart "$IMG" "k8s-$TM_ID" sleep 602 >/dev/null ||
    tap_bail "ctr run in k8s.io failed"
watch_wait_record "the k8s.io container's snapshot" \
    ".k == \"container\" and .b.id == \"k8s-$TM_ID\" and .b.why == \"start\""
K=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"k8s-$TM_ID\" and .b.why == \"start\") | .b")
tap_is "$(jq -r '"\(.rt) \(.ns)"' <<<"$K")" "containerd k8s.io" "namespace k8s.io"
tap_is "$(jq -r '"\(.pod) \(.podns) \(.kctr)"' <<<"$K")" "shop-7d9 prod cart" \
    "pod name, pod namespace and container name from the CRI labels"

# --- short-lived and killed ----------------------------------------------------
ctr_run default --rm "$IMG" "quick-$TM_ID" true >/dev/null || tap_fail "ctr run true"
watch_wait_record "quick's exit snapshot" \
    ".k == \"container\" and .b.id == \"quick-$TM_ID\" and .b.why == \"exit\""
Q=$(watch_records | jq -c "select(.k == \"container\" and .b.id == \"quick-$TM_ID\" and .b.why == \"exit\") | .b")
tap_like "$(jq -r '"\(.state) \(.img) \(.exit) \(.cmd | join(" "))"' <<<"$Q")" \
    "^(exited|removed) $IMG 0 true\$" "a container that only ran true: a complete exit record (image, exit 0, command)"
tap_like "$(jq -r '.life' <<<"$Q")" '^[0-9]+$' "it has a lifetime"

# --- a name used again -----------------------------------------------------------
# containerd's names are the user's: the same name twice, at once, is two
# containers (the first's entry must not swallow the second).
for code in 3 4; do
	ctr_run default --rm "$IMG" "again-$TM_ID" sh -c "exit $code" >/dev/null 2>&1
done
watch_wait_record "the second again's exit snapshot" \
    ".k == \"container\" and .b.id == \"again-$TM_ID\" and .b.why == \"exit\" and .b.exit == 4"
tap_is "$(watch_records | jq -r "select(.k == \"container\" and .b.id == \"again-$TM_ID\" and .b.why == \"exit\") | .b.exit" | paste -sd' ')" \
    "3 4" "a name used again at once: two containers, each with its exit snapshot"
tap_is "$(watch_records | jq -r "select(.k == \"event\" and .b.id == \"again-$TM_ID\" and .b.act == \"delete\") | .b.id" | wc -l)" \
    2 "and each its delete event"

harness_ctr -n default task kill -s KILL "web-$TM_ID" >/dev/null
watch_wait_record "web's exit snapshot" \
    ".k == \"container\" and .b.id == \"web-$TM_ID\" and .b.why == \"exit\""
tap_is "$(watch_records | jq -r "select(.k == \"container\" and .b.id == \"web-$TM_ID\" and .b.why == \"exit\") | .b.exit")" \
    137 "killed with SIGKILL: exit code 137"

# --- snapshot --json sees the same containers -----------------------------------
snap=$("$WATCH_AGENT" -o docker.socket="$TM_DOCKER_SOCK" \
    -o containerd.socket="$TM_CONTAINERD_SOCK" -o host.id="tm-watch-$TM_ID" \
    snapshot --json 2>>"$TM_LOGS/snapshot.log")
tap_is "$?" 0 "snapshot --json exits 0"
tap_is "$(jq -r 'select(.k == "host") | .b.ctrd' <<<"$snap" | head -n 1)" \
    "$(harness_ctr version | awk '/Server:/ {s=1} s && /Version:/ {print $2; exit}')" \
    "snapshot --json starts with the host record (containerd's version)"
tap_is "$(jq -r 'select(.k == "container") | "\(.b.ns)/\(.b.id) \(.b.state)"' <<<"$snap" | grep -E -- "-$TM_ID " | sort | paste -sd' ')" \
    "default/early-$TM_ID running default/web-$TM_ID exited k8s.io/k8s-$TM_ID running" \
    "snapshot --json lists every container once, with its state"
tap_is "$(jq -r "select(.k == \"container\" and .b.id == \"k8s-$TM_ID\") | [.b.procs[] | .args[1]] | join(\" \")" <<<"$snap")" \
    602 "and its processes"

watch_agent_stop
watch_check_no_duplicates
tap_done
