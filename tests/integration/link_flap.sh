#!/bin/bash
# link_flap: the link goes away in the middle of a transfer and comes back (issue 10,
# faults). dpwsk-echo serves one connection streaming 8 MiB; after the first MiB has come
# back, the peer's end of the veth is down for 2 s. What the stack sent in that time is lost
# on the wire; its retransmissions must resume once the link is back, with nothing lost or
# duplicated (the echo is byte-identical), the server alive, every mbuf back at stop. Then a
# longer outage (6 s, several backed-off retransmission timeouts) the same way.
#   scripts/netns.sh run tests/integration/link_flap.sh   (or run it directly)
STACK_PROG=${STACK_PROG:-${DPW_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}/apps/echo/dpwsk-echo}
. "$(dirname "$0")/lib.sh"
dpw_init python3

stack_start

# flap NAME SECONDS: one transfer with an outage of SECONDS.
flap() {
	local out rc
	out=$(peer timeout 90 python3 "$DPW_LIB_DIR/link_flap.py" "$2" 2>&1)
	rc=$?
	sed "s/^/  $1: /" <<<"$out"
	grep -q '^link up' <<<"$out" && pass "$1-link-went-down-and-up" ||
		fail "$1-link-went-down-and-up" "no outage happened"
	if [ $rc = 0 ] && grep -q '^echoed .* intact' <<<"$out"; then
		pass "$1-echo-intact"
	else
		fail "$1-echo-intact" "$(grep -E '^(FAIL|Trace|[A-Za-z]*Error)' <<<"$out" | head -n1) (exit $rc)"
	fi
	dpw_alive "$STACK_PID" && pass "$1-server-alive" || fatal "$1-server-alive" "dpwsk-echo died"
}

flap outage-2s 2
flap outage-6s 6
# The stack's side closes once the peer's last ACK arrives: poll (bounded, 10 s) for it.
for ((i = 0; i < 100; i++)); do
	STATS=$(stack_stats) || fatal stats "no stats line"
	[ "$(stat_get "$STATS" tcp_pcbs)" = 0 ] && break
	sleep 0.1
done
assert_eq no-connections-left 0 "$(stat_get "$STATS" tcp_pcbs)"

stack_stop
dpw_finish
