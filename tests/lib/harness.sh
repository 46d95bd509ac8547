# tests/lib/harness.sh: real daemons for one integration test.  Source it from
# a bash test script (it sources tap.sh):
#
#	. "$(dirname "$0")/../lib/harness.sh"
#	harness_start			# containerd + dockerd, or skip
#	harness_image tm-demo		# busybox-static image via docker import
#	kafka_start -t tallyman.inventory:3
#	...tap_ok / tap_check...
#	tap_done			# teardown is the last test case
#
# Everything lives under one temporary folder, TM_TMP (/tmp/tm-XXXXXX, short
# because unix socket paths are limited to ~100 bytes).  The daemons get their
# own roots, state, sockets and pid files there; dockerd runs with
# --bridge=none --iptables=false --ip-masq=false and containers must be run
# with --network none.  Teardown (tap_done, tap_bail, or the EXIT/INT/TERM
# trap) removes containers through the daemons, stops the daemons, then the
# shims and container processes of OUR containerd (found through its state
# folder and checked against TM_TMP), verifies nothing of ours is left
# running or mounted, and deletes TM_TMP (kept with TM_KEEP=1).  It signals
# only pids it recorded or found that way: never by name.
#
# Functions (see each one's comment):
#   harness_init                 TM_TMP, traps, logs (kafka-only tests need
#                                just this; called by the others)
#   harness_require_root         skip the script unless root (bail in CI)
#   harness_require_cmd CMD...   skip the script unless CMDs exist (bail in CI)
#   harness_prepare              configuration and sockets, nothing started
#   harness_privileged_runtime   (before harness_start) a runc wrapper for
#                                --privileged on a reduced bounding set
#   harness_start                start containerd then dockerd, wait for both
#   harness_stop                 full teardown (normally automatic)
#   harness_docker ARGS...       docker CLI against the test dockerd
#   harness_ctr ARGS...          ctr against the test containerd
#   harness_image NAME[:TAG] [DIR]        image from a folder (busybox-static
#                                + DIR's files) via docker import
#   harness_ctr_image NS NAME[:TAG] [DIR] the same image imported into
#                                containerd namespace NS
#   harness_dockerd_stop / _start / _restart          same roots and socket
#   harness_containerd_stop / _start / _restart       same roots and socket
#   harness_wait_for DESC TIMEOUT CMD...  poll CMD (0.1 s) until it succeeds
#   harness_logs                 tail every daemon log as diagnostics
#   kafka_start [mock-kafka ARGS]  mock cluster in the background (TM_KAFKA)
#   kafka_down / kafka_up        all brokers down / up (waits until applied)
#   kafka_stop                   stop the mock cluster (normally automatic)
#
# Exported: TM_TMP, TM_ID (a unique name: use it in container names and ctr
# ids, runc state and cgroup paths are host-global), TM_LOGS,
# TM_CONTAINERD_SOCK, CONTAINERD_ADDRESS, TM_CONTAINERD_PID, TM_DOCKER_SOCK,
# DOCKER_HOST, DOCKER_CONFIG, TM_DOCKERD_PID, TM_KAFKA, TM_KAFKA_PID, and
# after harness_image/harness_ctr_image: TM_IMAGE, TM_IMAGE_ID, TM_CTR_IMAGE.
# bash runs a trap only when the foreground command ends: bound every wait
# on something external with `timeout` (or harness_wait_for) so SIGTERM from
# make is acted on, and stop any background process you start yourself.
#
# Settings read: TM_INTEG=skip (skip every integration test), TM_KEEP=1,
# TM_DOCKERD_ARGS (extra dockerd flags, e.g. --live-restore),
# TM_MOCK_KAFKA (path of tests/mock-kafka), TM_START_TIMEOUT (s, default 120),
# TM_CONTAINERD_SOCK_AT / TM_DOCKER_SOCK_AT (socket paths under TM_TMP).

HARNESS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HARNESS_LIB_DIR/tap.sh"

# make check exports top_srcdir/top_builddir; by hand, guess from here.
: "${top_srcdir:=$(cd "$HARNESS_LIB_DIR/../.." && pwd)}"
if [ -z "${top_builddir:-}" ]; then
	if [ -x "$top_srcdir/_build/tests/mock-kafka" ]; then
		top_builddir=$top_srcdir/_build
	else
		top_builddir=$top_srcdir
	fi
fi
export top_srcdir top_builddir

TM_TMP=
TM_CONTAINERD_PID=
TM_DOCKERD_PID=
TM_KAFKA_PID=
TM_KAFKA=
HARNESS_STOPPED=
HARNESS_LEFT=()

# --------------------------------------------------------------------------
# Setup

# harness_init: create TM_TMP and install the teardown (EXIT/INT/TERM traps
# and a tap_done hook).  Idempotent.  Skips the script with TM_INTEG=skip.
harness_init() {
	[ -n "$TM_TMP" ] && return 0
	if [ "${TM_INTEG:-yes}" = skip ]; then
		tap_skip_all "integration tests disabled (TM_INTEG=skip)"
	fi
	TM_TMP=$(mktemp -d /tmp/tm-XXXXXX) ||
	    tap_bail "harness: cannot create a temporary folder in /tmp"
	TM_ID=${TM_TMP##*/}
	TM_LOGS=$TM_TMP/logs
	mkdir -p "$TM_LOGS"
	export TM_TMP TM_ID TM_LOGS
	trap 'harness__on_exit' EXIT
	trap 'harness__on_signal INT 130' INT
	trap 'harness__on_signal TERM 143' TERM
	tap_at_done harness__finish
}

# harness_require_root: integration tests that start daemons need root.  On
# a developer machine they skip; in CI (CI=true) not being root is an error.
harness_require_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	if [ "${CI:-}" = true ]; then
		tap_bail "harness: CI runs integration tests as root, but uid is $(id -u)"
	fi
	tap_skip_all "needs root to start containerd and dockerd"
}

# harness_require_cmd CMD...: skip (bail in CI) unless every CMD is found.
harness_require_cmd() {
	local c missing=
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -z "$missing" ] && return 0
	if [ "${CI:-}" = true ]; then
		tap_bail "harness: missing:$missing (scripts/install-deps.sh installs them)"
	fi
	tap_skip_all "missing:$missing (scripts/install-deps.sh installs them)"
}

# harness_wait_for DESC TIMEOUT CMD...: run CMD every 0.1 s until it exits
# 0 (returns 0) or TIMEOUT seconds pass (returns 1).  A readiness guard against
# hangs, never a speed assertion: keep TIMEOUT generous.
harness_wait_for() {
	local desc=$1 timeout=$2 end
	shift 2
	end=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			tap_diag "harness: gave up waiting for $desc after ${timeout}s"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

harness_docker() {
	docker -H "unix://$TM_DOCKER_SOCK" "$@"
}

harness_ctr() {
	ctr --connect-timeout 10s -a "$TM_CONTAINERD_SOCK" "$@"
}

# Pid PID is alive and ours: not a zombie, and its command line mentions
# TM_TMP (every process the harness starts has a path under TM_TMP in its
# arguments), so a recycled pid is never signalled.
harness__ours() {
	local pid=$1 state args
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	state=$(cut -d ' ' -f 3 "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" = Z ] && return 1
	args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $args == *"$TM_TMP/"* ]]
}

harness__alive() {
	local pid=$1 state
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	state=$(cut -d ' ' -f 3 "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" != Z ]
}

# harness__stop_pid NAME PID: SIGTERM, wait up to 60 s, then SIGKILL; reap
# it if it is our child.  Returns 1 if it is still alive afterwards.
harness__stop_pid() {
	local name=$1 pid=$2 end
	[ -n "$pid" ] || return 0
	if harness__ours "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		end=$((SECONDS + 60))
		while harness__alive "$pid" && [ "$SECONDS" -lt "$end" ]; do
			sleep 0.1
		done
		if harness__alive "$pid"; then
			tap_diag "harness: $name (pid $pid) ignored SIGTERM for 60s, SIGKILL"
			kill -KILL "$pid" 2>/dev/null
			end=$((SECONDS + 10))
			while harness__alive "$pid" && [ "$SECONDS" -lt "$end" ]; do
				sleep 0.1
			done
		fi
	fi
	wait "$pid" 2>/dev/null
	! harness__alive "$pid"
}

# containerd's configuration: every path under TM_TMP, no TCP listeners.
harness__containerd_config() {
	cat >"$TM_TMP/ctd.toml" <<EOF
version = 2
root = "$TM_TMP/ctd-root"
state = "$TM_TMP/ctd-state"

[grpc]
  address = "$TM_CONTAINERD_SOCK"

[ttrpc]
  address = "$TM_CONTAINERD_SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
EOF
}

harness__containerd_ready() {
	[ -S "$TM_CONTAINERD_SOCK" ] &&
	    ctr --connect-timeout 2s -a "$TM_CONTAINERD_SOCK" version
}

harness__dockerd_ready() {
	[ -S "$TM_DOCKER_SOCK" ] &&
	    [ "$(curl -s --max-time 5 --unix-socket "$TM_DOCKER_SOCK" \
	    http://localhost/_ping)" = OK ]
}

# harness__wait_daemon NAME PIDVAR READYFN: wait until READYFN succeeds while
# the daemon lives; bail out with its log if it dies or never answers.
harness__wait_daemon() {
	local name=$1 pid=$2 ready=$3 end
	end=$((SECONDS + ${TM_START_TIMEOUT:-120}))
	until "$ready" >/dev/null 2>&1; do
		if ! harness__alive "$pid"; then
			wait "$pid" 2>/dev/null
			tap_diag "$(tail -n 40 "$TM_LOGS/$name.log" 2>/dev/null)"
			tap_bail "harness: $name exited during start-up (log above)"
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			tap_diag "$(tail -n 40 "$TM_LOGS/$name.log" 2>/dev/null)"
			tap_bail "harness: $name did not answer within ${TM_START_TIMEOUT:-120}s"
		fi
		sleep 0.1
	done
}

# harness_containerd_start: start containerd on TM_TMP's roots and socket
# (again after harness_containerd_stop) and wait until it answers.
harness_containerd_start() {
	if harness__alive "$TM_CONTAINERD_PID"; then
		return 0
	fi
	containerd --config "$TM_TMP/ctd.toml" \
	    >>"$TM_LOGS/containerd.log" 2>&1 </dev/null &
	TM_CONTAINERD_PID=$!
	export TM_CONTAINERD_PID
	harness__wait_daemon containerd "$TM_CONTAINERD_PID" \
	    harness__containerd_ready
}

# harness_containerd_stop: SIGTERM containerd (its shims and containers keep
# running, as in production) and wait until it is gone.
harness_containerd_stop() {
	harness__stop_pid containerd "$TM_CONTAINERD_PID" ||
	    tap_diag "harness: containerd (pid $TM_CONTAINERD_PID) survived SIGKILL"
	TM_CONTAINERD_PID=
}

harness_containerd_restart() {
	harness_containerd_stop
	harness_containerd_start
}

# harness_dockerd_start: start dockerd on TM_TMP's roots and socket, attached
# to the test containerd, and wait until /_ping answers.
harness_dockerd_start() {
	if harness__alive "$TM_DOCKERD_PID"; then
		return 0
	fi
	# shellcheck disable=SC2086 # TM_DOCKERD_ARGS is a list of flags
	dockerd --config-file "$TM_TMP/daemon.json" \
	    --data-root "$TM_TMP/docker-root" \
	    --exec-root "$TM_TMP/docker-exec" \
	    --pidfile "$TM_TMP/docker.pid" \
	    -H "unix://$TM_DOCKER_SOCK" \
	    --containerd "$TM_CONTAINERD_SOCK" \
	    --bridge=none --iptables=false --ip-masq=false \
	    ${TM_DOCKERD_ARGS:-} \
	    >>"$TM_LOGS/dockerd.log" 2>&1 </dev/null &
	TM_DOCKERD_PID=$!
	export TM_DOCKERD_PID
	harness__wait_daemon dockerd "$TM_DOCKERD_PID" harness__dockerd_ready
}

# harness_dockerd_stop: SIGTERM dockerd and wait until it is gone (without
# --live-restore in TM_DOCKERD_ARGS, dockerd stops its containers first).
harness_dockerd_stop() {
	harness__stop_pid dockerd "$TM_DOCKERD_PID" ||
	    tap_diag "harness: dockerd (pid $TM_DOCKERD_PID) survived SIGKILL"
	TM_DOCKERD_PID=
}

harness_dockerd_restart() {
	harness_dockerd_stop
	harness_dockerd_start
}

# harness_prepare: root and tools required (else skip); the daemons'
# configuration and sockets are set up, but nothing is started (tests that
# start the agent before the runtimes call harness_containerd_start and
# harness_dockerd_start themselves).  The sockets are TM_TMP/containerd.sock
# and TM_TMP/docker.sock, or TM_TMP/$TM_CONTAINERD_SOCK_AT and
# TM_TMP/$TM_DOCKER_SOCK_AT when those are set (folders that need not exist).
harness_prepare() {
	harness_init
	harness_require_root
	harness_require_cmd containerd dockerd runc ctr docker curl busybox
	TM_CONTAINERD_SOCK=$TM_TMP/${TM_CONTAINERD_SOCK_AT:-containerd.sock}
	TM_DOCKER_SOCK=$TM_TMP/${TM_DOCKER_SOCK_AT:-docker.sock}
	CONTAINERD_ADDRESS=$TM_CONTAINERD_SOCK
	DOCKER_HOST=unix://$TM_DOCKER_SOCK
	DOCKER_CONFIG=$TM_TMP/docker-config
	export TM_CONTAINERD_SOCK TM_DOCKER_SOCK CONTAINERD_ADDRESS DOCKER_HOST \
	    DOCKER_CONFIG
	mkdir -p "$DOCKER_CONFIG"
	# Our own (empty) daemon.json: never the host's /etc/docker/daemon.json.
	echo '{}' >"$TM_TMP/daemon.json"
	harness__containerd_config
}

# harness_privileged_runtime: before harness_start.  On a host whose
# capability bounding set lacks some capabilities (a sandbox), runc refuses
# --privileged containers and execs ("unable to apply caps").  This installs
# tests/lib/runc-capfilter.sh as the Docker runtime "tmrunc" (added to
# TM_DOCKERD_ARGS) with the missing capabilities to leave out of the spec;
# run privileged containers with `--runtime "$TM_PRIV_RUNTIME"`.  Docker's
# own view of them (inspect: privileged) is unchanged.  Needs capsh, jq.
harness_privileged_runtime() {
	local all have missing
	harness_init
	harness_require_cmd capsh jq
	all=$(capsh --decode=0x$(printf '%x' $(( (1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1 ))) | cut -d= -f2)
	have=$(capsh --decode="$(awk '/^CapBnd/ {print $2}' /proc/self/status)" | cut -d= -f2)
	missing=$(comm -23 <(tr , '\n' <<<"$all" | sort) <(tr , '\n' <<<"$have" | sort) |
	    tr 'a-z' 'A-Z' | paste -sd, -)
	cp "$HARNESS_LIB_DIR/runc-capfilter.sh" "$TM_TMP/tmrunc"
	printf '%s' "$missing" >"$TM_TMP/tmrunc.drop"
	chmod 755 "$TM_TMP/tmrunc"
	TM_DOCKERD_ARGS="${TM_DOCKERD_ARGS:-} --add-runtime tmrunc=$TM_TMP/tmrunc"
	TM_PRIV_RUNTIME=tmrunc
	export TM_PRIV_RUNTIME
	[ -z "$missing" ] ||
	    tap_diag "bounding set lacks: $missing (the tmrunc runtime removes them)"
}

# harness_start: harness_prepare, then containerd, then dockerd attached to
# it.  Bails out (after teardown) if either fails.
harness_start() {
	harness_prepare
	harness_containerd_start
	harness_dockerd_start
}

# --------------------------------------------------------------------------
# Images

# harness_image NAME[:TAG] [DIR]: build an image from a folder holding the
# static busybox (every applet linked in /bin), a minimal /etc, and DIR's
# files copied over it, and `docker import` it as NAME:TAG (tag default
# "latest").  Sets TM_IMAGE (NAME:TAG) and TM_IMAGE_ID.  Returns 0 or 1.
harness_image() {
	local ref=$1 extra=${2:-} name tag root bb a base
	name=${ref%%:*}
	tag=latest
	[ "$name" != "$ref" ] && tag=${ref#*:}
	bb=$(command -v busybox) || { tap_diag "harness: no busybox"; return 1; }
	if ldd "$bb" >/dev/null 2>&1; then
		tap_diag "harness: $bb is not static (install busybox-static)"
		return 1
	fi
	# The busybox base is made once per test (hundreds of ln), then copied.
	base=$TM_TMP/images/.base
	if [ ! -d "$base" ]; then
		rm -rf "$base.new"
		mkdir -p "$base.new/bin" "$base.new/etc" "$base.new/tmp" \
		    "$base.new/root" "$base.new/proc" "$base.new/sys" \
		    "$base.new/dev" || return 1
		chmod 1777 "$base.new/tmp"
		cp "$bb" "$base.new/bin/busybox" || return 1
		for a in $("$bb" --list); do
			[ "$a" = busybox ] || ln -s busybox "$base.new/bin/$a"
		done
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		    >"$base.new/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' >"$base.new/etc/group"
		mv "$base.new" "$base" || return 1
	fi
	root=$TM_TMP/images/$name-$tag
	rm -rf "$root"
	cp -a "$base" "$root" || return 1
	if [ -n "$extra" ]; then
		cp -a "$extra/." "$root/" || return 1
	fi
	TM_IMAGE_ID=$(tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
	    harness_docker import \
	    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	    -c 'CMD ["/bin/sh"]' - "$name:$tag" 2>>"$TM_LOGS/images.log")
	if [ -z "$TM_IMAGE_ID" ]; then
		tap_diag "harness: docker import of $name:$tag failed" \
		    "$(tail -n 5 "$TM_LOGS/images.log")"
		return 1
	fi
	TM_IMAGE=$name:$tag
	export TM_IMAGE TM_IMAGE_ID
}

# harness_ctr_image NS NAME[:TAG] [DIR]: the same image (built with
# harness_image first if dockerd does not have it) saved with `docker save`
# and imported into containerd namespace NS as docker.io/library/NAME:TAG.
# Sets TM_CTR_IMAGE to that reference.  Returns 0 or 1.
harness_ctr_image() {
	local ns=$1 ref=$2 extra=${3:-} name tag tar
	name=${ref%%:*}
	tag=latest
	[ "$name" != "$ref" ] && tag=${ref#*:}
	if ! harness_docker image inspect "$name:$tag" >/dev/null 2>&1; then
		harness_image "$name:$tag" "$extra" || return 1
	fi
	mkdir -p "$TM_TMP/images"
	tar=$TM_TMP/images/$name-$tag.tar
	harness_docker save -o "$tar" "$name:$tag" 2>>"$TM_LOGS/images.log" ||
	    { tap_diag "harness: docker save $name:$tag failed"; return 1; }
	harness_ctr -n "$ns" image import --base-name "docker.io/library/$name" \
	    "$tar" >>"$TM_LOGS/images.log" 2>&1 ||
	    { tap_diag "harness: ctr image import into $ns failed" \
	    "$(tail -n 5 "$TM_LOGS/images.log")"; return 1; }
	TM_CTR_IMAGE=docker.io/library/$name:$tag
	export TM_CTR_IMAGE
}

# --------------------------------------------------------------------------
# Kafka (librdkafka's mock cluster, tests/mock-kafka)

harness__kafka_state() {
	cat "$TM_TMP/kafka.state" 2>/dev/null
}

# kafka_start [ARGS]: start tests/mock-kafka with ARGS (-b BROKERS,
# -t TOPIC:PARTITIONS...) in the background; sets TM_KAFKA to its bootstrap
# address and TM_KAFKA_PID.  Bails out if it does not come up.
kafka_start() {
	local bin=${TM_MOCK_KAFKA:-$top_builddir/tests/mock-kafka} end
	harness_init
	[ -x "$bin" ] || tap_bail "harness: $bin not built (make check builds it)"
	rm -f "$TM_TMP/kafka.addr" "$TM_TMP/kafka.state"
	"$bin" "$@" -f "$TM_TMP/kafka.addr" -s "$TM_TMP/kafka.state" \
	    >>"$TM_LOGS/mock-kafka.log" 2>&1 </dev/null &
	TM_KAFKA_PID=$!
	end=$((SECONDS + ${TM_START_TIMEOUT:-120}))
	until [ -s "$TM_TMP/kafka.addr" ]; do
		if ! harness__alive "$TM_KAFKA_PID" || [ "$SECONDS" -ge "$end" ]; then
			tap_diag "$(tail -n 20 "$TM_LOGS/mock-kafka.log")"
			tap_bail "harness: mock-kafka did not start (log above)"
		fi
		sleep 0.05
	done
	TM_KAFKA=$(head -n 1 "$TM_TMP/kafka.addr")
	export TM_KAFKA TM_KAFKA_PID
}

# harness__kafka_signal SIG STATE: send SIG and wait until the state file
# shows a newer generation in STATE.  Returns 0 or 1.
harness__kafka_signal() {
	local sig=$1 want=$2 gen now st end
	harness__alive "$TM_KAFKA_PID" || { tap_diag "harness: no mock-kafka"; return 1; }
	read -r gen st <<<"$(harness__kafka_state)"
	kill -"$sig" "$TM_KAFKA_PID" || return 1
	end=$((SECONDS + 60))
	while :; do
		read -r now st <<<"$(harness__kafka_state)"
		if [ "${now:-0}" -gt "${gen:-0}" ] && [ "$st" = "$want" ]; then
			return 0
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			tap_diag "harness: mock-kafka never reported '$want'"
			return 1
		fi
		sleep 0.05
	done
}

# kafka_down: every broker closes its connections and refuses new ones.
kafka_down() {
	harness__kafka_signal USR1 down
}

# kafka_up: the brokers accept connections again (same ports, same data).
kafka_up() {
	harness__kafka_signal USR2 up
}

kafka_stop() {
	[ -n "$TM_KAFKA_PID" ] || return 0
	harness__stop_pid mock-kafka "$TM_KAFKA_PID" ||
	    tap_diag "harness: mock-kafka (pid $TM_KAFKA_PID) survived SIGKILL"
	TM_KAFKA_PID=
}

# --------------------------------------------------------------------------
# Teardown

# harness_logs: the tail of every log under TM_LOGS, as TAP diagnostics.
harness_logs() {
	local f
	[ -d "${TM_LOGS:-}" ] || return 0
	for f in "$TM_LOGS"/*.log; do
		[ -s "$f" ] || continue
		tap_diag "---- ${f##*/} (last 30 lines)"
		tap_diag "$(tail -n 30 "$f")"
	done
}

# Remove every container through the daemons while they still run: Docker's
# with `docker rm -f`, then any task left in any containerd namespace.
harness__remove_containers() {
	local ids ns t c
	if harness__alive "$TM_DOCKERD_PID"; then
		ids=$(timeout 60 docker -H "unix://$TM_DOCKER_SOCK" ps -aq 2>/dev/null)
		if [ -n "$ids" ]; then
			# shellcheck disable=SC2086
			timeout 120 docker -H "unix://$TM_DOCKER_SOCK" rm -f $ids \
			    >/dev/null 2>&1 ||
			    tap_diag "harness: docker rm -f failed for:" $ids
		fi
	fi
	harness__alive "$TM_CONTAINERD_PID" || return 0
	for ns in $(timeout 30 ctr -a "$TM_CONTAINERD_SOCK" ns ls -q 2>/dev/null); do
		for t in $(timeout 30 ctr -a "$TM_CONTAINERD_SOCK" -n "$ns" \
		    task ls -q 2>/dev/null); do
			timeout 60 ctr -a "$TM_CONTAINERD_SOCK" -n "$ns" \
			    task delete -f "$t" >/dev/null 2>&1 ||
			    tap_diag "harness: ctr task delete -f $ns/$t failed"
		done
		for c in $(timeout 30 ctr -a "$TM_CONTAINERD_SOCK" -n "$ns" \
		    containers ls -q 2>/dev/null); do
			timeout 60 ctr -a "$TM_CONTAINERD_SOCK" -n "$ns" \
			    containers delete "$c" >/dev/null 2>&1
		done
	done
}

# After the daemons are gone: the shims of our containerd, and their
# containers, are found through the pid files in its state folder.  A shim
# is signalled only if its command line names our socket; a container init
# only if its parent is such a shim.
harness__kill_shims() {
	local d shim init ppid
	[ -d "$TM_TMP/ctd-state/io.containerd.runtime.v2.task" ] || return 0
	for d in "$TM_TMP"/ctd-state/io.containerd.runtime.v2.task/*/*/; do
		[ -f "$d/shim.pid" ] || continue
		shim=$(cat "$d/shim.pid" 2>/dev/null)
		harness__ours "$shim" || continue
		init=$(cat "$d/init.pid" 2>/dev/null)
		if harness__alive "$init"; then
			ppid=$(cut -d ' ' -f 4 "/proc/$init/stat" 2>/dev/null)
			if [ "$ppid" = "$shim" ]; then
				kill -KILL "$init" 2>/dev/null
			fi
		fi
		kill -KILL "$shim" 2>/dev/null
		tap_diag "harness: killed leftover shim $shim for ${d%/}"
	done
	sleep 0.2
}

# Every live process whose command line mentions TM_TMP (ours by
# construction).  Shims of our containerd are killed; anything else is only
# reported (a test must stop what it starts).
harness__scan_processes() {
	local p pid args exe
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
		harness__ours "$pid" || continue
		args=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
		exe=$(readlink "$p/exe" 2>/dev/null)
		if [[ ${exe##*/} == containerd-shim* ]]; then
			kill -KILL "$pid" 2>/dev/null
			sleep 0.1
			harness__alive "$pid" || continue
		fi
		HARNESS_LEFT+=("process $pid: $args")
	done
}

# Mounts under TM_TMP (overlay, netns, shm) that the daemons left: unmount
# them, deepest first, so the folder can be removed; report them.
harness__unmount() {
	local mp
	while read -r mp; do
		[ -n "$mp" ] || continue
		if umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null; then
			tap_diag "harness: unmounted leftover $mp"
		else
			HARNESS_LEFT+=("mount $mp")
		fi
	done < <(awk -v t="$TM_TMP/" 'index($5, t) == 1 { print $5 }' \
	    /proc/self/mountinfo | sort -r)
}

# harness_stop: the whole teardown, once.  Returns 0 if nothing of ours is
# left running or mounted, else 1 with HARNESS_LEFT listing what is.
harness_stop() {
	[ -n "$TM_TMP" ] && [ -z "$HARNESS_STOPPED" ] || return 0
	HARNESS_STOPPED=1
	HARNESS_LEFT=()
	kafka_stop
	harness__remove_containers
	if [ -n "$TM_DOCKERD_PID" ]; then
		harness_dockerd_stop
	fi
	if [ -n "$TM_CONTAINERD_PID" ]; then
		harness_containerd_stop
	fi
	harness__kill_shims
	harness__scan_processes
	harness__unmount
	if [ "${TM_KEEP:-}" = 1 ]; then
		tap_diag "harness: kept $TM_TMP (TM_KEEP=1)"
	elif [ "${#HARNESS_LEFT[@]}" -eq 0 ]; then
		rm -rf --one-file-system "$TM_TMP"
	else
		tap_diag "harness: kept $TM_TMP: something is still in use"
	fi
	[ "${#HARNESS_LEFT[@]}" -eq 0 ]
}

# tap_done / tap_bail hook: failures get the daemons' logs, and the teardown
# itself is the last test case.
harness__finish() {
	if [ "$TAP_FAILED" -gt 0 ]; then
		harness_logs
	fi
	if harness_stop; then
		tap_ok "harness: teardown stopped every daemon, shim and container it started, nothing left"
	else
		tap_fail "harness: teardown stopped every daemon, shim and container it started, nothing left" \
		    "${HARNESS_LEFT[@]}"
	fi
}

harness__on_exit() {
	[ -n "$TAP_DONE" ] || [ -n "$HARNESS_STOPPED" ] && return 0
	# The script ended without tap_done (it crashed or exited early):
	# its own teardown hooks first (loops it started, its programs).
	tap__run_hooks
	harness_logs
	harness_stop >/dev/null || tap_diag "harness: left behind:" "${HARNESS_LEFT[@]}"
}

harness__on_signal() {
	trap - EXIT INT TERM
	tap_diag "harness: caught SIG$1, tearing down"
	tap__run_hooks
	harness_stop
	exit "$2"
}
