# tests/lib/watch.sh: the agent's watchers under test.  Source it after
# tests/lib/harness.sh (and harness_start):
#
#	watch_agent_start		# tallyman-agent run --output json
#	watch_wait_record DESC JQ	# until a record matches the jq filter
#	watch_records			# every complete record so far (JSON lines)
#	watch_agent_stop		# SIGTERM, wait (also on any exit)
#	watch_check_no_duplicates	# TAP: one identity, one record per trigger
#
# The agent talks to the harness's daemons (docker.socket, containerd.socket
# set to TM_TMP's sockets), keeps its state in TM_TMP/agent-state and writes
# its records to TM_TMP/agent.json, its log to TM_LOGS/agent.log.  It is our
# child: stopped by pid, before the harness's teardown checks for leftovers.

WATCH_AGENT=${WATCH_AGENT:-$(prog_path agent/tallyman-agent)}
WATCH_PID=
WATCH_OUT=

# Stop the agent (SIGTERM, then SIGKILL after 30 s) if it runs.
watch_agent_stop() {
	local end
	[ -n "$WATCH_PID" ] || return 0
	if kill -0 "$WATCH_PID" 2>/dev/null; then
		kill -TERM "$WATCH_PID" 2>/dev/null
		end=$((SECONDS + 30))
		while kill -0 "$WATCH_PID" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
			sleep 0.1
		done
		if kill -0 "$WATCH_PID" 2>/dev/null; then
			tap_diag "watch: agent ignored SIGTERM for 30 s: SIGKILL"
			kill -KILL "$WATCH_PID" 2>/dev/null
		fi
	fi
	wait "$WATCH_PID" 2>/dev/null
	WATCH_RC=$?
	WATCH_PID=
	return 0
}

watch__on_exit() {
	watch_agent_stop
	harness__on_exit
}

watch__on_signal() {
	watch_agent_stop
	harness__on_signal "$@"
}

# watch_agent_start [ARGS...]: start `tallyman-agent run --output json`
# against the harness's daemons; extra ARGS go before "run" (-o KEY=VALUE).
watch_agent_start() {
	WATCH_OUT=$TM_TMP/agent.json
	mkdir -p "$TM_TMP/agent-state"
	: >"$WATCH_OUT"
	"$WATCH_AGENT" --log-level "${WATCH_LOG_LEVEL:-info}" \
	    -o docker.socket="$TM_DOCKER_SOCK" \
	    -o containerd.socket="$TM_CONTAINERD_SOCK" \
	    -o state.dir="$TM_TMP/agent-state" -o host.id="tm-watch-$TM_ID" \
	    "$@" run --output json >"$WATCH_OUT" 2>>"$TM_LOGS/agent.log" </dev/null &
	WATCH_PID=$!
	trap 'watch__on_exit' EXIT
	trap 'watch__on_signal INT 130' INT
	trap 'watch__on_signal TERM 143' TERM
	# First of the hooks: the agent goes before the harness's teardown
	# checks that nothing of the test is left (also on tap_bail).
	TAP_HOOKS=(watch_agent_stop "${TAP_HOOKS[@]}")
}

# Every complete line (record) written so far.
watch_records() {
	local n
	n=$(wc -l <"$WATCH_OUT")
	head -n "$n" "$WATCH_OUT"
}

watch__has() {
	[ "$(watch_records | jq -c "select($1)" 2>/dev/null | head -n 1)" != "" ]
}

# watch_wait_record DESC JQ [TIMEOUT]: wait until some record matches the
# jq boolean JQ (a readiness guard, generous; never a speed assertion).
watch_wait_record() {
	local desc=$1 filter=$2 timeout=${3:-120}
	harness_wait_for "$desc" "$timeout" watch__has "$filter"
}

# watch_wait_connected: both watchers say so in the agent's log.
watch__connected() {
	grep -q "watch-docker: connected" "$TM_LOGS/agent.log" &&
	    grep -q "watch-containerd: connected" "$TM_LOGS/agent.log"
}

watch_wait_connected() {
	harness_wait_for "the agent connected to dockerd and containerd" 120 \
	    watch__connected
}

# The number of connections the log reports for watcher NAME.
watch_connections() {
	grep -c "watch-$1: connected" "$TM_LOGS/agent.log"
}

# TAP: no container has two identities (runtime, namespace), and no
# container has two snapshot records with the same trigger (per run).
watch_check_no_duplicates() {
	local recs dup ident
	recs=$(watch_records | jq -c 'select(.k == "container") | .b')
	ident=$(jq -r '"\(.id) \(.rt) \(.ns)"' <<<"$recs" | sort -u |
	    awk '{print $1}' | uniq -d)
	tap_is "$ident" "" "no container is reported under two identities (Docker's and containerd's views merged)"
	# (A run is known by its start: a name used again is another run.)
	dup=$(jq -r '"\(.id) \(.started) \(.why)"' <<<"$recs" | sort | uniq -d |
	    grep -v ' exec$')
	tap_is "$dup" "" "no container run has two records with the same trigger"
}
