#!/bin/bash
# connclose_linux: bench/linux/linux-connclose, the kernel-socket twin of dpwsk-connclose that
# the benchmark compares against, does the same cycles with the same results: rst (SO_LINGER
# 0: one RST per cycle at the server), exchange (100 bytes echoed, checked), graceful (a FIN
# per cycle, no RST), and the same JSON summary. Here the stack namespace's kernel gets the
# stack's address (no dpwsk program runs in this test).
#   scripts/netns.sh run tests/apps/connclose_linux.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init python3
cc_need_built "$LINUX_CONNCLOSE" "$LINUX_SERVER"

ip -n "$DPW_NS_STACK" addr add "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK" ||
	fatal kernel-address "cannot give the stack namespace's kernel $DPW_IP_STACK"

lx_run() {   # lx_run NAME ARGS...
	local name=$1
	shift
	cc_launch "$LINUX_CONNCLOSE" "$DPW_NS_STACK" "$@" "$DPW_IP_PEER:$SERVER_PORT"
	cc_wait "$name" 300
}

server_start discard
lx_run rst --cycles 5000 --concurrency 64 --mode rst
server_stop
assert_eq rst-exit-status 0 "$CC_RC"
assert_eq rst-cycles 5000 "$(cc_get cycles)"
assert_eq rst-errors 0 "$(cc_get errors)"
server_assert rst-server-accepted accepted 5000
server_assert rst-server-resets reset 5000

server_start echo
lx_run exchange --cycles 2000 --concurrency 16 --mode exchange --bytes 100
server_stop
assert_eq exchange-exit-status 0 "$CC_RC"
assert_eq exchange-errors 0 "$(cc_get errors)"
assert_eq exchange-server-bytes-out 200000 "$(stat_get "$SERVER_COUNTS" bytes_out)"
server_assert exchange-server-resets reset 2000

server_start discard
lx_run graceful --cycles 2000 --concurrency 16 --mode graceful --json
server_stop
assert_eq graceful-exit-status 0 "$CC_RC"
assert_eq graceful-server-eofs 2000 "$(stat_get "$SERVER_COUNTS" eof)"
server_assert graceful-server-resets reset 0
check=$(tail -n1 "$CC_OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%s %s cycles=%d errors=%d n=%d" % (d["program"], d["mode"], d["cycles"], d["errors"],
                                         d["connect_us"]["n"]))' 2>&1)
assert_eq graceful-json "linux-connclose graceful cycles=2000 errors=0 n=2000" "$check"
dpw_finish
