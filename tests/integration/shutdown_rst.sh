#!/bin/bash
# shutdown_rst: stopping the stack (SIGTERM) aborts its open connections and tells the peers:
# an established, idle connection from the Linux peer sees a RST on the wire (tcpdump) and
# ECONNRESET on its socket. The stack still exits 0 with every mbuf back.
#   scripts/netns.sh run tests/integration/shutdown_rst.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init python3 tcpdump

capture_start "tcp and src host $DPW_IP_STACK and src port 7"

stack_start
holder_start idle
s=$(stack_stats) || fatal stats "no stats line"
assert_eq tcp-pcbs-open 1 "$(stat_get "$s" tcp_pcbs)"

stack_stop
assert_eq peer-sees-reset "reset errno=104" "$(holder_reset_wait 10)"

# The RST is on the wire (the capture runs until it shows up, at most 5 s).
if capture_wait 'Flags \[R' 5; then
	pass rst-on-wire "$(grep 'Flags \[R' "$CAPTURE" | head -n1)"
else
	fail rst-on-wire "no RST from the stack in the capture: $(tail -n 3 "$CAPTURE" | tr '\n' '|')"
fi
dpw_kill "$CAPTURE_PID"
dpw_finish
