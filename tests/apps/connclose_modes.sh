#!/bin/bash
# connclose_modes: dpwsk-connclose's other two cycles against bench/linux/linux-server.
#   exchange: 2,000 cycles sending 100 bytes each to the echo server and reading them back
#             (checked byte for byte by the program), then the abortive close (WSK-C3)
#   graceful: 2,000 cycles of WskDisconnect (F5), the peer's FIN as a 0-byte receive (F4),
#             then WskCloseSocket: the server must see a FIN every time and never a RST (C3)
# and --json: the graceful run's summary is one JSON object with every field.
#   graceful beyond the ports: 40,000 graceful cycles, more than lwIP's 16,384 ephemeral ports
#             with every closed connection in TIME_WAIT: the stack frees the oldest beyond its
#             bound (stack/tcp_timewait.c), so no connect stalls or fails
#             (regression: the lcore froze in tcp_new_port() once every port was taken)
#   scripts/netns.sh run tests/apps/connclose_modes.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init python3
cc_need_built "$CONNCLOSE" "$LINUX_SERVER"

CYCLES=2000
K=100

# 1. exchange against the echo server.
server_start echo
cc_run exchange 300 --cycles "$CYCLES" --concurrency 16 --mode exchange --bytes "$K" \
	"$DPW_IP_PEER:$SERVER_PORT"
server_stop
assert_eq exchange-exit-status 0 "$CC_RC"
assert_eq exchange-cycles "$CYCLES" "$(cc_get cycles)"
assert_eq exchange-errors 0 "$(cc_get errors)"
server_assert exchange-server-accepted accepted "$CYCLES"
assert_eq exchange-server-bytes-in $((CYCLES * K)) "$(stat_get "$SERVER_COUNTS" bytes_in)"
assert_eq exchange-server-bytes-out $((CYCLES * K)) "$(stat_get "$SERVER_COUNTS" bytes_out)"
server_assert exchange-server-resets reset "$CYCLES"
cc_check_clean exchange

# 2. graceful, with the summary as JSON.
server_start discard
cc_run graceful 300 --cycles "$CYCLES" --concurrency 16 --mode graceful --json \
	"$DPW_IP_PEER:$SERVER_PORT"
server_stop
assert_eq graceful-exit-status 0 "$CC_RC"
server_assert graceful-server-accepted accepted "$CYCLES"
assert_eq graceful-server-eofs "$CYCLES" "$(stat_get "$SERVER_COUNTS" eof)"
server_assert graceful-server-resets reset 0
cc_check_clean graceful

# The JSON object is the last line of stdout, on one line.
json=$(tail -n1 "$CC_OUT")
check=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
want = {"program": str, "mode": str, "target": str, "concurrency": int, "bytes": int,
        "cycles": int, "errors": int, "errors_by_status": dict, "elapsed_s": (int, float),
        "conn_per_s": (int, float), "cpu_user_s": (int, float), "cpu_sys_s": (int, float),
        "cpu_us_per_conn": (int, float), "connect_us": dict, "close_us": dict}
for k, t in want.items():
    if not isinstance(d.get(k), t):
        sys.exit("field %s missing or of the wrong type" % k)
for h in ("connect_us", "close_us"):
    for k in ("p50", "p99", "p999", "max", "mean", "n"):
        if not isinstance(d[h].get(k), (int, float)):
            sys.exit("%s.%s missing" % (h, k))
    if not d[h]["p50"] <= d[h]["p99"] <= d[h]["p999"] <= d[h]["max"]:
        sys.exit("%s percentiles out of order" % h)
print("mode=%s cycles=%d errors=%d n=%d" % (d["mode"], d["cycles"], d["errors"],
                                           d["close_us"]["n"]))
' "$json" 2>&1)
assert_eq json-fields "mode=graceful cycles=$CYCLES errors=0 n=$CYCLES" "$check"

# 3. graceful beyond the ephemeral ports (bounded: at 1,000 cycles/s this still ends in time).
server_start discard
cc_run graceful-ports 120 --cycles 40000 --concurrency 64 --mode graceful \
	"$DPW_IP_PEER:$SERVER_PORT"
server_stop
assert_eq graceful-ports-exit-status 0 "$CC_RC"
assert_eq graceful-ports-errors 0 "$(cc_get errors)"
assert_eq graceful-ports-server-eofs 40000 "$(stat_get "$SERVER_COUNTS" eof)"
final=$(grep '^dpwsk: stats ' "$CC_OUT" | tail -n1)
assert_ge graceful-ports-time-wait-trimmed 1 "$(stat_get "$final" time_wait_trimmed)"
cc_check_clean graceful-ports
dpw_finish
