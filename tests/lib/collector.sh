# tests/lib/collector.sh: tallyman-collector replicas in integration tests.
# Source it after harness.sh (and after transport.sh when the test also runs
# tests/agent-produce: its producers are stopped too).
#
#   col_init                     harness_init, requires kcat jq curl; our
#                                collectors are stopped (SIGKILL if need be)
#                                before the harness's teardown, on any exit
#   col_conf NAME [KEY=VALUE]... $TM_TMP/NAME/collector.conf: kafka.brokers
#                                $TM_KAFKA, kafka.topic tallyman.inventory,
#                                kafka.group tm-$TM_ID, store.path
#                                $TM_TMP/NAME/collector.db, api.listen on a
#                                free 127.0.0.1 port, api.auth none; each
#                                KEY=VALUE added or replacing a default.
#                                Sets COL_API[NAME] (http://127.0.0.1:PORT)
#   col_start NAME [CONF]        run it (log $TM_LOGS/NAME.log), wait for
#                                /healthz; COL_PID[NAME]
#   col_wait_partitions NAME [N] until it consumes at least N (1) partitions
#   col_stop NAME                SIGTERM, wait (60 s); returns its exit status
#   col_kill NAME                SIGKILL, reaped
#   col_api NAME PATH [CURL ARGS]  GET the API (token from COL_TOKEN[NAME],
#                                set when the conf has api.token_file)
#   col_metric NAME 'SERIES'     the value of one /metrics series, e.g.
#                                'tallyman_rejects_total{reason="malformed"}'
#   col_wait_api NAME DESC TIMEOUT JQ-FILTER PATH
#                                until the filter, run on PATH's answer,
#                                prints "true"
#
# Settings: TM_COLLECTOR (collector/tallyman-collector, through prog_path:
# under TM_WRAP when it is set, e.g. valgrind in make check-valgrind).

: "${TM_COLLECTOR:=$(prog_path collector/tallyman-collector)}"
declare -A COL_PID=() COL_API=() COL_TOKEN=() COL_CONF=()

col__stop_all() {
	local n p
	for n in "${!COL_PID[@]}"; do
		p=${COL_PID[$n]}
		[ -n "$p" ] || continue
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null
			timeout 30 tail --pid="$p" -f /dev/null 2>/dev/null ||
			    kill -KILL "$p" 2>/dev/null
		fi
		wait "$p" 2>/dev/null
		COL_PID[$n]=
	done
}

col__on_exit() {
	col__stop_all
	if declare -F tr__cleanup >/dev/null; then
		tr__cleanup
	fi
	harness__on_exit
}

col_init() {
	harness_init
	harness_require_cmd kcat jq curl
	[ -x "$TM_COLLECTOR" ] || tap_bail "collector: $TM_COLLECTOR not built"
	trap 'col__on_exit' EXIT
	trap 'col__stop_all; harness__on_signal INT 130' INT
	trap 'col__stop_all; harness__on_signal TERM 143' TERM
	TAP_HOOKS=(col__stop_all "${TAP_HOOKS[@]}")
}

# FG: bench/fleet-gen, the simulated fleet's records (bails if not built).
col_need_fleet_gen() {
	FG=$top_builddir/bench/fleet-gen
	[ -x "$FG" ] || tap_bail "bench/fleet-gen not built"
}

col__free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

col_conf() {
	local name=$1 kv k port d=$TM_TMP/$1
	shift
	mkdir -p "$d"
	port=$(col__free_port) || tap_bail "collector: no free port"
	declare -A set=(
	    [kafka.brokers]=$TM_KAFKA
	    [kafka.topic]=tallyman.inventory
	    [kafka.group]=tm-$TM_ID
	    [store.path]=$d/collector.db
	    [api.listen]=127.0.0.1:$port
	    [api.auth]=none
	)
	for kv in "$@"; do
		set[${kv%%=*}]=${kv#*=}
	done
	: >"$d/collector.conf"
	for k in "${!set[@]}"; do
		printf '%s = %s\n' "$k" "${set[$k]}" >>"$d/collector.conf"
	done
	COL_CONF[$name]=$d/collector.conf
	COL_API[$name]=http://${set[api.listen]}
	COL_TOKEN[$name]=
	if [ "${set[api.auth]}" != none ] && [ -n "${set[api.token_file]:-}" ] &&
	    [ -s "${set[api.token_file]}" ]; then
		COL_TOKEN[$name]=$(head -n 1 "${set[api.token_file]}")
	fi
}

col_start() {
	local name=$1 conf=${2:-${COL_CONF[$1]}}
	"$TM_COLLECTOR" -c "$conf" run >>"$TM_LOGS/$name.log" 2>&1 </dev/null &
	COL_PID[$name]=$!
	harness_wait_for "collector $name's API" 60 \
	    curl -sf --max-time 2 "${COL_API[$name]}/healthz" || {
		tap_diag "$(tail -n 20 "$TM_LOGS/$name.log")"
		return 1
	}
}

col_wait_partitions() {
	harness_wait_for "collector $1's partitions" 60 bash -c \
	    '[ "$(curl -sf --max-time 2 "$0/healthz" | jq -r .kafka.partitions_assigned)" -ge "$1" ]' \
	    "${COL_API[$1]}" "${2:-1}"
}

col_stop() {
	local p=${COL_PID[$1]} rc
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	if ! timeout 60 tail --pid="$p" -f /dev/null; then
		tap_diag "collector $1 did not stop within 60 s: SIGKILL"
		kill -KILL "$p" 2>/dev/null
	fi
	wait "$p"
	rc=$?
	COL_PID[$1]=
	return "$rc"
}

col_kill() {
	local p=${COL_PID[$1]}
	[ -n "$p" ] || return 0
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	COL_PID[$1]=
	return 0
}

col_api() {
	local name=$1 path=$2
	shift 2
	if [ -n "${COL_TOKEN[$name]}" ]; then
		curl -sf --max-time 10 -H "Authorization: Bearer ${COL_TOKEN[$name]}" \
		    "$@" "${COL_API[$name]}$path"
	else
		curl -sf --max-time 10 "$@" "${COL_API[$name]}$path"
	fi
}

col_metric() {
	col_api "$1" /metrics | awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "absent" }'
}

col_wait_api() {
	local name=$1 desc=$2 timeout=$3 filter=$4 path=$5
	harness_wait_for "$desc" "$timeout" bash -c \
	    '[ "$(curl -sf --max-time 5 ${2:+-H "Authorization: Bearer $2"} "$0$3" | jq -r "$1")" = true ]' \
	    "${COL_API[$name]}" "$filter" "${COL_TOKEN[$name]}" "$path"
}
