#!/bin/bash
# units-confinement.sh: the agent's unit keeps two capabilities; this proves
# the agent needs both and nothing more, with the real agent against the
# test's dockerd and containerd.  systemd is not PID 1 here, so the unit's
# confinement is reproduced with setpriv: the CapabilityBoundingSet= read
# from the generated unit, no inheritable capabilities, NoNewPrivileges.
#
# An image whose files belong to a container user (uid 1000): its dpkg
# database in a 0700 folder (status 0600), its program /opt/app/sleep in a
# 0700 folder.  Two containers: one runs /opt/app/sleep as uid 1000, one
# runs busybox's sleep as root with Docker's default capabilities.
# `tallyman-agent run --output json` runs four times, each with a fresh
# state folder:
#  - as full root: the image's packages, and each container's sleep
#    process with its executable and SHA-256 (busybox's, the file the image
#    was made from);
#  - with the unit's bounding set: the running agent holds exactly those
#    capabilities and no_new_privs, and reports exactly what full root did;
#  - without CAP_SYS_PTRACE: the packages still, but neither process's
#    executable (/proc/PID/exe and /proc/PID/root are closed to it);
#  - without CAP_DAC_READ_SEARCH: the root container's executable is still
#    hashed, but not the uid 1000 one in its 0700 folder, and the image's
#    packages are missing (the database is the container user's, 0600).
. "$(dirname "$0")/../lib/harness.sh"
AGENT=$top_builddir/agent/tallyman-agent
UNIT=$top_builddir/packaging/systemd/tallyman-agent.service

harness_start
harness_require_cmd setpriv capsh jq sha256sum
[ -f "$UNIT" ] || tap_bail "$UNIT not built"

# The unit's set, as setpriv and capsh spell it.
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
tap_is "$unit_caps" "CAP_SYS_PTRACE CAP_DAC_READ_SEARCH" "the unit's bounding set ($unit_caps)"
# bset CAP...: setpriv's --bounding-set argument keeping only CAPs.
bset() {
	local c s=-all
	for c in "$@"; do
		c=${c#CAP_}
		s="$s,+${c,,}"
	done
	printf '%s' "$s"
}

# --- the image and the containers -------------------------------------------
B=$TM_TMP/base
mkdir -p "$B/etc" "$B/var/lib/dpkg" "$B/opt/app"
printf 'ID=tallyman\nVERSION_ID=8\nPRETTY_NAME="Tallyman Caps 8"\n' >"$B/etc/os-release"
cat >"$B/var/lib/dpkg/status" <<'EOF'
Package: caps-one
Status: install ok installed
Architecture: amd64
Version: 1.0-1

Package: caps-two
Status: install ok installed
Architecture: amd64
Version: 2:2.0-3
EOF
harness_image tm-caps-base:1 "$B" || tap_bail "no base image"
prep=tm-caps-prep-$TM_ID
harness_docker run --name "$prep" --network none tm-caps-base:1 sh -c '
    cp /bin/busybox /opt/app/sleep &&
    chown -R 1000:1000 /opt/app /var/lib/dpkg &&
    chmod 0700 /opt/app /var/lib/dpkg && chmod 0600 /var/lib/dpkg/status' \
    >>"$TM_LOGS/prep.log" 2>&1 || tap_bail "cannot prepare the image: $(tail -3 "$TM_LOGS/prep.log")"
IMG=tm-caps:1
harness_docker commit "$prep" "$IMG" >>"$TM_LOGS/prep.log" 2>&1 || tap_bail "docker commit failed"
harness_docker rm "$prep" >/dev/null 2>&1
cu=$(harness_docker run -d --network none --user 1000:1000 \
    --name "tm-caps-user-$TM_ID" "$IMG" /opt/app/sleep 600) || tap_bail "no uid 1000 container"
cr=$(harness_docker run -d --network none --name "tm-caps-root-$TM_ID" "$IMG" sleep 600) ||
    tap_bail "no root container"
BB=$(sha256sum "$(command -v busybox)" | cut -d' ' -f1)

# --- the agent, once per capability set --------------------------------------
AGENT_PID=
stop_agent() {
	[ -n "$AGENT_PID" ] || return 0
	if kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$AGENT_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$AGENT_PID" 2>/dev/null
	fi
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}
tap_at_done stop_agent

# seen LABEL: both containers' records with a sleep process, and the
# image's record, are out.
seen() {
	local j=$TM_TMP/$1.json
	jq -e -s --arg u "$cu" --arg r "$cr" '
	    ([.[] | select(.k == "container" and .b.id == $u) | .b.procs[]? | select(.comm == "sleep")] | length > 0) and
	    ([.[] | select(.k == "container" and .b.id == $r) | .b.procs[]? | select(.comm == "sleep")] | length > 0) and
	    ([.[] | select(.k == "image")] | length > 0)' "$j" >/dev/null 2>&1
}

# run LABEL [BSET]: the agent (under setpriv --bounding-set BSET) until it
# has reported both containers and the image; $TM_TMP/LABEL.json.
run() {
	local label=$1 bs=${2:-}
	local pre=()
	[ -n "$bs" ] && pre=(setpriv --bounding-set "$bs" --inh-caps=-all \
	    --ambient-caps=-all --no-new-privs --)
	"${pre[@]}" "$AGENT" -o "state.dir=$TM_TMP/state-$label" \
	    -o "host.id=caps-$label-$TM_ID" -o "docker.socket=$TM_DOCKER_SOCK" \
	    -o "containerd.socket=$TM_CONTAINERD_SOCK" -o heartbeat.interval=1s \
	    run --output json >"$TM_TMP/$label.json" 2>"$TM_LOGS/agent-$label.log" </dev/null &
	AGENT_PID=$!
	harness_wait_for "the agent ($label) watches" 30 \
	    grep -q 'run: watching' "$TM_LOGS/agent-$label.log" ||
	    tap_diag "agent ($label): $(tail -n 5 "$TM_LOGS/agent-$label.log")"
	if [ -n "$bs" ]; then
		STATUS=$(grep -E '^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs):' "/proc/$AGENT_PID/status")
	fi
	harness_wait_for "the agent ($label) reports both containers and the image" 60 seen "$label"
	stop_agent
}

# facts LABEL: "packages | uid-1000 sleep exe sha | root sleep exe sha".
facts() {
	jq -r -s --arg u "$cu" --arg r "$cr" '
	    def proc($id): [.[] | select(.k == "container" and .b.id == $id) | .b.procs[]?
	        | select(.comm == "sleep")] | last // {};
	    ([.[] | select(.k == "image") | .b.pkgs[]?.name] | unique | join(",")) as $p
	    | (proc($u)) as $pu | (proc($r)) as $pr
	    | "\($p) | \($pu.exe // "-") \($pu.sha256 // "-") | \($pr.exe // "-") \($pr.sha256 // "-")"' \
	    "$TM_TMP/$1.json"
}

run root
want="caps-one,caps-two | /opt/app/sleep $BB | /bin/busybox $BB"
tap_is "$(facts root)" "$want" \
    "as full root: the packages and both processes' executables with their SHA-256"

run unit "$(bset $unit_caps)"
tap_is "$(capsh --decode=0x"$(sed -n 's/^CapEff:[[:space:]]*//p' <<<"$STATUS")" | sed 's/.*=//')" \
    "cap_dac_read_search,cap_sys_ptrace" "under the unit's set the running agent holds exactly those two"
tap_like "$STATUS" 'CapInh:[[:space:]]*0+'$'\n''.*CapAmb:[[:space:]]*0+'$'\n''NoNewPrivs:[[:space:]]*1' \
    "no inheritable or ambient capability, no_new_privs set"
tap_is "$(facts unit)" "$(facts root)" "with the unit's two capabilities the agent reports what full root does"

run no-ptrace "$(bset CAP_DAC_READ_SEARCH)"
tap_is "$(facts no-ptrace)" "caps-one,caps-two | - - | - -" \
    "without CAP_SYS_PTRACE: packages still, no container process's executable (root's nor uid 1000's)"

run no-dac "$(bset CAP_SYS_PTRACE)"
for l in root unit no-ptrace no-dac; do
	tap_diag "$l: $(facts "$l")"
done
tap_is "$(facts no-dac)" " | /opt/app/sleep - | /bin/busybox $BB" \
    "without CAP_DAC_READ_SEARCH: no package (database 0600 of uid 1000), no hash of uid 1000's program, root's still hashed"
tap_like "$(jq -r -s '[.[] | select(.k == "image") | .b.errs // 0] | max' "$TM_TMP/no-dac.json")" \
    '^[1-9][0-9]*$' "without CAP_DAC_READ_SEARCH the unreadable database is counted as an error"

tap_done
