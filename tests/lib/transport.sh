# tests/lib/transport.sh: helpers for the Kafka transport tests (agent
# output: spool, sequence, producer).  Source it after harness.sh.
#
#   tr_init                      kafka-only harness set-up, requires kcat/jq
#   tr_conf FILE KEY=VALUE...    an agent config: state.dir, brokers, ...
#   tr_start NAME ARGS...        run tests/agent-produce ARGS in the
#                                background (log $TM_LOGS/NAME.log); sets
#                                TR_PID; the teardown stops it
#   tr_wait PID [TIMEOUT]        wait for it to exit (0) or give up (1)
#   tr_term PID / tr_kill PID    SIGTERM and wait / SIGKILL and wait
#   tr_consume HOST OUT          everything on the topic, decoded by
#                                tallyman-decode, this host's records as
#                                JSON lines in OUT (arrival order)
#   tr_seq_report FILE           "count distinct max gaps disorder" of the
#                                sequence numbers in FILE
#
# Settings: TM_PRODUCE (tests/agent-produce), TM_DECODE (tallyman-decode).

TR_TOPIC=tallyman.inventory
TR_PIDS=()
: "${TM_PRODUCE:=$(prog_path tests/agent-produce)}"
: "${TM_DECODE:=$(prog_path schema/tallyman-decode)}"

tr__cleanup() {
	local p
	for p in "${TR_PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		fi
	done
	TR_PIDS=()
}

tr__on_exit() {
	tr__cleanup
	harness__on_exit
}

tr_init() {
	harness_init
	harness_require_cmd kcat jq
	[ -x "$TM_PRODUCE" ] || tap_bail "transport: $TM_PRODUCE not built"
	[ -x "$TM_DECODE" ] || tap_bail "transport: $TM_DECODE not built"
	# Our producers go before the harness teardown.
	trap 'tr__on_exit' EXIT
	TAP_HOOKS=(tr__cleanup "${TAP_HOOKS[@]}")
}

tr_conf() {
	local f=$1 kv
	shift
	: >"$f"
	for kv in "$@"; do
		printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" >>"$f"
	done
}

tr_start() {
	local name=$1
	shift
	"$TM_PRODUCE" "$@" >>"$TM_LOGS/$name.out" 2>>"$TM_LOGS/$name.log" </dev/null &
	TR_PID=$!
	TR_PIDS+=("$TR_PID")
}

tr_wait() {
	local pid=$1 timeout=${2:-300} end
	end=$((SECONDS + timeout))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$end" ]; then
			tap_diag "transport: pid $pid still running after ${timeout}s"
			return 1
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	return 0
}

tr_term() {
	kill -TERM "$1" 2>/dev/null
	tr_wait "$1" "${2:-120}"
}

tr_kill() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# Every message on the topic, raw, then decoded; keep HOST's records.
tr_consume() {
	local host=$1 out=$2
	kcat -C -b "$TM_KAFKA" -t "$TR_TOPIC" -e -q -f '%s' \
	    >"$out.raw" 2>"$out.kcat.log" || return 1
	"$TM_DECODE" --validate --reassemble <"$out.raw" >"$out.all" \
	    2>"$out.decode.log" || return 1
	jq -c --arg h "$host" 'select(.h == $h)' <"$out.all" >"$out"
}

# count distinct max gaps disorder: gaps = numbers in 1..max never seen;
# disorder = first sightings that did not come in increasing order.
tr_seq_report() {
	jq -r '.s' <"$1" | awk '
	{ n++; if (!($1 in seen)) { seen[$1] = 1; d++;
	      if ($1 < hi) dis++; else hi = $1 } if ($1 > max) max = $1 }
	END { g = 0; for (i = 1; i <= max; i++) if (!(i in seen)) g++;
	      printf "%d %d %d %d %d\n", n, d, max, g, dis + 0 }'
}

# tr_ok_if CONDITION NAME [DIAG]: a test that passes when CONDITION (a shell
# expression) is true.
tr_ok_if() {
	if eval "$1"; then
		tap_ok "$2"
	else
		tap_fail "$2" "${3:-condition: $1}"
	fi
}
