#!/bin/bash
# connclose_ipv6: the load generators over IPv6, against bench/linux/linux-server (a dual-stack
# listener on [::]:5000 in the peer namespace, 2001:2::1):
#   1. dpwsk-connclose --ip6: 10,000 RST cycles at 64 in flight to [2001:2::1]:5000; no cycle
#      fails, the server sees one connection and one RST per cycle; nothing left afterwards.
#   2. exchange (100 bytes echoed, checked by the client) and graceful (a FIN per cycle, no
#      RST), 1,000 cycles each, over IPv6.
#   3. The same engine (with --ip6) still connects over IPv4: 1,000 RST cycles to 198.18.0.1.
#   4. dpwsk-bench-rr, 1 s of request/response over IPv6 against the echo server.
#   5. The kernel twins: with IPv6 turned on for the stack namespace's kernel (2001:2::4,
#      only once no dpwsk program runs), linux-connclose does 2,000 RST cycles and linux-rr
#      1 s of round trips over IPv6.
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/apps/connclose_ipv6.sh   (or run it directly)
export DPW_TOPO_IPV6=1
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
dpw_init
BENCH_RR=$DPW_BUILD/bench/dpwsk-bench-rr
LINUX_RR=$DPW_BUILD/bench/linux-rr
cc_need_built "$CONNCLOSE" "$LINUX_SERVER" "$LINUX_CONNCLOSE" "$BENCH_RR" "$LINUX_RR"
[ -n "${DPW_IP6_STACK:-}" ] || fatal topology "no IPv6 topology (netns.sh without DPW_TOPO_IPV6=1?)"
T6="[$DPW_IP6_PEER]:$SERVER_PORT"

# 1. RST cycles over IPv6.
CYCLES=10000
server_start discard
grep -q 'family=dual' "$SERVER_OUT" && pass server-dual-stack ||
	fail server-dual-stack "$(head -n1 "$SERVER_OUT")"
cc_run rst6 600 --cycles "$CYCLES" --concurrency 64 --mode rst "$T6"
server_stop
grep -q "^dpwsk: ready .* ip6=$DPW_IP6_STACK " "$CC_OUT" && pass rst6-ready-ip6 ||
	fail rst6-ready-ip6 "$(grep '^dpwsk: ready' "$CC_OUT")"
assert_eq rst6-exit-status 0 "$CC_RC"
assert_eq rst6-target "$T6" "$(cc_get target)"
assert_eq rst6-cycles "$CYCLES" "$(cc_get cycles)"
assert_eq rst6-errors 0 "$(cc_get errors)"
server_assert rst6-server-accepted accepted "$CYCLES"
server_assert rst6-server-resets reset "$CYCLES"
assert_eq rst6-server-eofs 0 "$(stat_get "$SERVER_COUNTS" eof)"
assert_eq rst6-server-errors 0 "$(stat_get "$SERVER_COUNTS" errors)"
cc_check_clean rst6

# 2. exchange and graceful over IPv6.
server_start echo
cc_run exchange6 300 --cycles 1000 --concurrency 16 --mode exchange --bytes 100 "$T6"
server_stop
assert_eq exchange6-exit-status 0 "$CC_RC"
assert_eq exchange6-cycles 1000 "$(cc_get cycles)"
assert_eq exchange6-errors 0 "$(cc_get errors)"
assert_eq exchange6-server-bytes-out 100000 "$(stat_get "$SERVER_COUNTS" bytes_out)"
cc_check_clean exchange6

server_start discard
cc_run graceful6 300 --cycles 1000 --concurrency 16 --mode graceful "$T6"
server_stop
assert_eq graceful6-exit-status 0 "$CC_RC"
assert_eq graceful6-errors 0 "$(cc_get errors)"
assert_eq graceful6-server-eofs 1000 "$(stat_get "$SERVER_COUNTS" eof)"
server_assert graceful6-server-resets reset 0
cc_check_clean graceful6

# 3. IPv4 from the same dual-stack engine.
server_start discard
cc_run rst4 300 --cycles 1000 --concurrency 16 --mode rst "$DPW_IP_PEER:$SERVER_PORT"
server_stop
assert_eq rst4-exit-status 0 "$CC_RC"
assert_eq rst4-errors 0 "$(cc_get errors)"
server_assert rst4-server-resets reset 1000
cc_check_clean rst4

# rr_run NAME PROGRAM NS ARGS...: one dpwsk-bench-rr or linux-rr run to its end (bounded);
# its "rr:" summary line in RR_LINE.
rr_run() {
	local name=$1 prog=$2 ns=$3
	shift 3
	cc_launch "$prog" "$ns" "$@"
	cc_wait "$name" 60
	RR_LINE=$(grep '^rr: ' "$CC_OUT" | tail -n1)
	echo "  $RR_LINE"
}

# 4. dpwsk-bench-rr over IPv6.
server_start echo
rr_run rr6 "$BENCH_RR" "$DPW_NS_STACK" --iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" \
	--ip6 "$DPW_IP6_STACK/$DPW_PREFIX6" --duration 1 --connections 4 "$T6"
server_stop
assert_eq rr6-exit-status 0 "$CC_RC"
assert_eq rr6-errors 0 "$(stat_get "$RR_LINE" errors)"
assert_ge rr6-transactions 1 "$(stat_get "$RR_LINE" transactions)"

# 5. The kernel twins over IPv6, from the stack namespace's own kernel (no dpwsk program
#    runs from here on, so it may have an address on that link).
K6=2001:2::4
ip netns exec "$DPW_NS_STACK" sysctl -qw "net.ipv6.conf.$DPW_IF_STACK.accept_dad=0" \
	"net.ipv6.conf.$DPW_IF_STACK.router_solicitations=0" \
	"net.ipv6.conf.$DPW_IF_STACK.disable_ipv6=0" &&
	ip -n "$DPW_NS_STACK" -6 addr add "$K6/64" dev "$DPW_IF_STACK" nodad ||
	fatal kernel-address "cannot give the stack namespace's kernel $K6"

server_start discard
cc_launch "$LINUX_CONNCLOSE" "$DPW_NS_STACK" --cycles 2000 --concurrency 32 --mode rst "$T6"
cc_wait linux-rst6 300
server_stop
assert_eq linux-rst6-exit-status 0 "$CC_RC"
assert_eq linux-rst6-cycles 2000 "$(cc_get cycles)"
assert_eq linux-rst6-errors 0 "$(cc_get errors)"
server_assert linux-rst6-server-resets reset 2000

server_start echo
rr_run linux-rr6 "$LINUX_RR" "$DPW_NS_STACK" --bind "$K6" --duration 1 --connections 4 "$T6"
server_stop
assert_eq linux-rr6-exit-status 0 "$CC_RC"
assert_eq linux-rr6-errors 0 "$(stat_get "$RR_LINE" errors)"
assert_ge linux-rr6-transactions 1 "$(stat_get "$RR_LINE" transactions)"
dpw_finish
