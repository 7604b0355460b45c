#!/bin/bash
# connclose_rate: the open loop (--rate), dpwsk-connclose and linux-connclose alike, against
# bench/linux/linux-server: 3,000 cycles at 3,000 a second (RST close). Every cycle runs, none
# fails, the server sees each; the schedule cannot be beaten, so the run lasts at least the
# 0.9997 s its last arrival is due at (a closed loop would take a fraction of that); the
# summary reports the open loop (late arrivals, the longest wait).
#   scripts/netns.sh run tests/apps/connclose_rate.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init
cc_need_built "$CONNCLOSE" "$LINUX_CONNCLOSE" "$LINUX_SERVER"

CYCLES=3000
RATE=3000

# check NAME: the run's results.
check() {
	assert_eq "$1-exit-status" 0 "$CC_RC"
	assert_eq "$1-cycles" "$CYCLES" "$(cc_get cycles)"
	assert_eq "$1-errors" 0 "$(cc_get errors)"
	elapsed=$(cc_get elapsed_s)
	if awk -v e="$elapsed" 'BEGIN { exit !(e >= 0.999 * 2999 / 3000) }'; then
		pass "$1-paced" "$elapsed s for $CYCLES arrivals at $RATE/s"
	else
		fail "$1-paced" "$CYCLES arrivals at $RATE/s done in $elapsed s: not on the schedule"
	fi
	if grep -q "^connclose: open_loop rate=$RATE/s late=[0-9]* max_lag_ms=" "$CC_OUT"; then
		pass "$1-open-loop-line" "$(grep '^connclose: open_loop' "$CC_OUT" | cut -d'(' -f1)"
	else
		fail "$1-open-loop-line" "no open_loop line in the summary"
	fi
	server_assert "$1-server-accepted" accepted "$CYCLES"
}

server_start discard
cc_run dpwsk 120 --cycles "$CYCLES" --rate "$RATE" --concurrency 64 --mode rst \
	"$DPW_IP_PEER:$SERVER_PORT"
server_stop
check dpwsk
cc_check_clean dpwsk

# linux-connclose uses the stack namespace's own kernel: give it the stack's address now that
# no dpwsk program runs there.
ip -n "$DPW_NS_STACK" addr add "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK" ||
	fatal kernel-address "cannot give the stack namespace's kernel $DPW_IP_STACK"
server_start discard
cc_launch "$LINUX_CONNCLOSE" "$DPW_NS_STACK" --cycles "$CYCLES" --rate "$RATE" \
	--concurrency 64 --mode rst "$DPW_IP_PEER:$SERVER_PORT"
cc_wait linux 120
server_stop
check linux
dpw_finish
