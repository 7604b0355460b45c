#!/bin/bash
# connclose_duration: dpwsk-connclose bounded by time instead of cycles. --duration 2 prints
# progress lines once a second and ends by itself with 0 errors; a run with --duration 300
# ended by SIGINT stops early, still with its summary and the final stats line, everything
# closed (the cycles in flight finish normally).
#   scripts/netns.sh run tests/apps/connclose_duration.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init
cc_need_built "$CONNCLOSE" "$LINUX_SERVER"

server_start discard

# 1. --duration 2: the run ends by itself, having printed at least one progress line.
cc_run duration 120 --duration 2 --concurrency 4 "$DPW_IP_PEER:$SERVER_PORT"
cycles1=$(cc_get cycles)
assert_eq duration-exit-status 0 "$CC_RC"
assert_eq duration-errors 0 "$(cc_get errors)"
assert_ge duration-cycles 1 "$(cc_get cycles)"
assert_ge duration-progress-lines 1 "$(grep -c '^connclose: t=[0-9.]* cycles=[0-9]* rate=[0-9]*/s errors=0 open=[0-9]*$' "$CC_OUT")"
elapsed=$(cc_get elapsed_s)
if awk -v e="$elapsed" 'BEGIN { exit !(e >= 2.0 && e < 60) }'; then
	pass duration-elapsed "$elapsed s"
else
	fail duration-elapsed "expected 2 s or a little more, saw '$elapsed'"
fi
cc_check_clean duration

# 2. SIGINT ends a long run early, with the summary.
cc_launch "$CONNCLOSE" "$DPW_NS_STACK" --iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" \
	--duration 300 --concurrency 8 "$DPW_IP_PEER:$SERVER_PORT"
for ((i = 0; i < 600; i++)); do       # the first progress line: cycles are running (30 s)
	grep -q '^connclose: t=' "$CC_OUT" && break
	dpw_alive "$CC_PID" || break
	sleep 0.05
done
grep -q '^connclose: t=' "$CC_OUT" || fatal sigint-running "no progress line within 30 s"
kill -INT "$CC_PID"
cc_wait sigint 30
assert_eq sigint-exit-status 0 "$CC_RC"
assert_ge sigint-cycles 1 "$(cc_get cycles)"
cycles2=$(cc_get cycles)
assert_eq sigint-errors 0 "$(cc_get errors)"
cc_check_clean sigint

server_stop
# Every cycle of both runs reached the server, and nothing else did.
server_assert server-accepted accepted "$((cycles1 + cycles2))"
assert_eq server-errors 0 "$(stat_get "$SERVER_COUNTS" errors)"
assert_eq server-open 0 "$(stat_get "$SERVER_COUNTS" open)"
dpw_finish
