#!/bin/bash
# agent-kill-run.sh: the real agent (`tallyman-agent run`) is killed with
# SIGKILL while containers start and stop, then started again: the
# consumer sees no gap in the host's sequence (duplicates allowed), and the
# restarted agent continues the numbering.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/transport.sh"

AGENT=$(prog_path agent/tallyman-agent)
if "$AGENT" --help 2>&1 | grep -A1 '^  run ' | grep -q 'not built yet'; then
	tap_skip_all "tallyman-agent run is not built yet (watchers, issue 3)"
fi
harness_start
tr_init
kafka_start -t tallyman.inventory:3
harness_image tm-kill:1 || tap_bail "no image"
host=kill-run-$TM_ID
tr_conf "$TM_TMP/agent.conf" "host.id=$host" "state.dir=$TM_TMP/state" \
    "output=kafka" "kafka.brokers=$TM_KAFKA" "heartbeat.interval=1s" \
    "docker.socket=$TM_DOCKER_SOCK" "containerd.socket=$TM_CONTAINERD_SOCK"

run_agent() {
	"$AGENT" -c "$TM_TMP/agent.conf" run >>"$TM_LOGS/agent.out" \
	    2>>"$TM_LOGS/agent-$1.log" </dev/null &
	agent=$!
	TR_PIDS+=("$agent")
}

containers() {
	local i
	for i in $(seq "$2"); do
		harness_docker run -d --network none --name "tm-kill-$TM_ID-$1-$i" \
		    "$TM_IMAGE" sh -c 'sleep 0.3' >/dev/null 2>&1
		sleep 0.5
	done
}

run_agent 1
sleep 2
containers a 8
tr_kill "$agent"
tap_ok "agent killed with SIGKILL while containers start and stop"
run_agent 2
sleep 2
containers b 8
sleep 3
tap_check "the restarted agent drains on SIGTERM" tr_term "$agent" 120
tap_like "$(grep -c 'seq: continuing at' "$TM_LOGS/agent-2.log")" '^1$' \
    "the restarted agent continues the sequence"

tap_check "kcat reads the topic and tallyman-decode decodes it" \
    tr_consume "$host" "$TM_TMP/got.json"
read -r n distinct max gaps disorder <<<"$(tr_seq_report "$TM_TMP/got.json")"
tap_diag "consumer: $n messages, $distinct distinct, max $max, $gaps gaps, $disorder out of order"
tr_ok_if '[ "${max:-0}" -gt 20 ]' "both runs' records reached Kafka (highest sequence $max)"
tap_is "$gaps" 0 "no sequence gap at the consumer across the kill -9"
tap_is "$disorder" 0 "first sightings of each sequence number come in order"
tap_done
