#!/bin/bash
# connclose_queues: dpwsk-connclose --queues 2, two engines on the port, one lcore and one lane
# each (a WSK client per lane, its cycles issued inline from its completion routines),
# against bench/linux/linux-server: 20,000 RST cycles and 4,000 exchange cycles (100 bytes
# echoed and checked). af_packet's fanout hashes frames onto the queues without knowing whose
# they are, so about half reach the other engine first and are handed over. Every cycle
# completes; the server sees one connection and one RST per RST cycle (WSK-C3); both engines
# made connections and frames were handed between them; nothing is left (WSK-C8).
#   scripts/netns.sh run tests/apps/connclose_queues.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init
cc_need_built "$CONNCLOSE" "$LINUX_SERVER"

# The lanes' summary is one, as with one engine; each engine also reports its own counters.
queue_stat() {   # queue_stat Q KEY
	stat_get "$(sed -n "s/^dpwsk: queue $1 stats //p" "$CC_OUT" | tail -n1)" "$2"
}

CYCLES=20000
server_start discard
cc_run rst 600 --queues 2 --cycles "$CYCLES" --concurrency 64 --mode rst \
	"$DPW_IP_PEER:$SERVER_PORT"
server_stop
grep '^connclose: \(cycles\|done\)\|ready' "$CC_OUT" | sed 's/^/  /'
assert_eq rst-exit-status 0 "$CC_RC"
assert_eq rst-cycles "$CYCLES" "$(cc_get cycles)"
assert_eq rst-errors 0 "$(cc_get errors)"
assert_eq rst-connect-latencies "$CYCLES" \
	"$(stat_get "$(grep '^connclose: connect_us ' "$CC_OUT")" n)"
server_assert rst-server-accepted accepted "$CYCLES"
server_assert rst-server-resets reset "$CYCLES"
assert_eq rst-server-eofs 0 "$(stat_get "$SERVER_COUNTS" eof)"
for q in 0 1; do
	# Each lane made half the connections on its own engine: its pcbs were in use.
	used=$(queue_stat $q tcp_pcbs_max)
	[ "${used:-0}" -gt 0 ] && pass "rst-queue-$q-connected" "tcp_pcbs_max=$used" ||
		fail "rst-queue-$q-connected" "queue $q made no connection (tcp_pcbs_max=$used)"
done
steered=$(stat_get "$(grep '^dpwsk: stats ' "$CC_OUT" | tail -n1)" steered_in)
[ "${steered:-0}" -gt 0 ] && pass rst-steered "$steered frames handed over" ||
	fail rst-steered "no frame was handed between the engines"
assert_eq rst-steer-dropped 0 \
	"$(stat_get "$(grep '^dpwsk: stats ' "$CC_OUT" | tail -n1)" steer_dropped)"
cc_check_clean rst

server_start echo
cc_run exchange 600 --queues 2 --cycles 4000 --concurrency 16 --mode exchange --bytes 100 \
	"$DPW_IP_PEER:$SERVER_PORT"
server_stop
assert_eq exchange-exit-status 0 "$CC_RC"
assert_eq exchange-cycles 4000 "$(cc_get cycles)"
assert_eq exchange-errors 0 "$(cc_get errors)"
assert_eq exchange-server-bytes-out 400000 "$(stat_get "$SERVER_COUNTS" bytes_out)"
cc_check_clean exchange

# Refused before anything starts (exit 2, one line): fewer slots than engines, and listening
# over several engines, which the provider does not do yet.
bad_run() {   # bad_run NAME EXPECTED-TEXT ARGS...
	local name=$1 want=$2 out rc
	shift 2
	out=$(ip netns exec "$DPW_NS_STACK" "$CONNCLOSE" --iface "$DPW_IF_STACK" \
		--ip "$DPW_IP_STACK/$DPW_PREFIX" "$@" "$DPW_IP_PEER:$SERVER_PORT" 2>&1)
	rc=$?
	echo "  $out"
	assert_eq "$name-status" 2 "$rc"
	[[ "$out" == *"$want"* ]] && pass "$name-reason" || fail "$name-reason" "saw: $out"
}
bad_run bad-concurrency "needs --concurrency 4 or more" --queues 4 --concurrency 2 --cycles 10
bad_run bad-hold "--queues does not do yet" --queues 2 --hold-port 6000 --hold 10 --cycles 10
dpw_finish
