#!/bin/bash
# connclose_rst: dpwsk-connclose against bench/linux/linux-server (Linux kernel sockets in the
# peer namespace): 100,000 connect/close cycles, 64 in flight, each closed as soon as it
# connects. WskCloseSocket on an open connection is abortive (WSK-C3), so the server must see
# exactly one accepted connection and one RST per cycle, and no cycle may fail. Afterwards
# nothing is left: no socket, no pcb, no mbuf (WSK-C8), no EAL files.
#   scripts/netns.sh run tests/apps/connclose_rst.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init
cc_need_built "$CONNCLOSE" "$LINUX_SERVER"

CYCLES=100000
server_start discard
start=$(date +%s.%N)
# The bound is generous for ASan builds on two shared cores; a normal build needs seconds.
cc_run rst 600 --cycles "$CYCLES" --concurrency 64 --mode rst "$DPW_IP_PEER:$SERVER_PORT"
end=$(date +%s.%N)
echo "$CYCLES cycles in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"
server_stop

assert_eq rst-exit-status 0 "$CC_RC"
assert_eq rst-cycles "$CYCLES" "$(cc_get cycles)"
assert_eq rst-errors 0 "$(cc_get errors)"
assert_eq rst-connect-latencies "$CYCLES" \
	"$(stat_get "$(grep '^connclose: connect_us ' "$CC_OUT")" n)"
assert_eq rst-close-latencies "$CYCLES" \
	"$(stat_get "$(grep '^connclose: close_us ' "$CC_OUT")" n)"
# Every cycle reached the server, and every one ended with a RST (C3), none with a FIN.
server_assert server-accepted accepted "$CYCLES"
server_assert server-resets reset "$CYCLES"
assert_eq server-eofs 0 "$(stat_get "$SERVER_COUNTS" eof)"
assert_eq server-errors 0 "$(stat_get "$SERVER_COUNTS" errors)"
assert_eq server-open 0 "$(stat_get "$SERVER_COUNTS" open)"
cc_check_clean rst
dpw_finish
