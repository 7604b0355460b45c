#!/bin/bash
# connclose_echo: dpwsk against dpwsk. dpwsk-connclose (stack namespace, 198.18.0.2) runs
# 20,000 exchange cycles against dpwsk-echo, a second DPDK process on the peer's end of the
# veth with an address the peer's kernel does not own (198.18.0.3), then 2,000 graceful
# cycles (dpwsk-echo answers a FIN with its own). No cycle may fail, and the peer kernel must
# stay out of it: no ICMP and no TCP from it on the wire (it does not forward, and does not
# answer ARP for an address it does not have). Both processes end clean.
# In an IPv6 topology (DPW_TOPO_IPV6=1: the app-connclose-echo-ipv6 test) the same runs go over
# IPv6: dpwsk-echo also has 2001:2::3 (--ip6) and the target is [2001:2::3]:7; the peer
# kernel then must send no TCP and no ICMPv6 other than Neighbor Discovery.
#   scripts/netns.sh run tests/apps/connclose_echo.sh   (or run it directly)
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/apps/connclose_echo.sh
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/connclose_lib.sh"
DPW_ECHO=$DPW_BUILD/apps/echo/dpwsk-echo
[ -x "$DPW_ECHO" ] || skip "dpwsk-echo is not built"
dpw_init tcpdump
cc_need_built "$CONNCLOSE"

ECHO_IP=198.18.0.3
ECHO_IP6=2001:2::3
TARGET=$ECHO_IP:7
ECHO_V6=()
if [ -n "${DPW_IP6_STACK:-}" ]; then
	TARGET="[$ECHO_IP6]:7"
	ECHO_V6=(--ip6 "$ECHO_IP6/$DPW_PREFIX6")
	# Nor does it forward IPv6 (the default; said here as the IPv4 line says it).
	ip netns exec "$DPW_NS_PEER" sysctl -qw net.ipv6.conf.all.forwarding=0
fi
# The peer's kernel sees every frame dpwsk-echo gets (same interface, same MAC): it must drop
# those for 198.18.0.3 silently. Not forwarding, it does (and sends no ICMP about it).
ip netns exec "$DPW_NS_PEER" sysctl -qw net.ipv4.ip_forward=0

# dpwsk-echo on the peer side: the lib's stack_start, pointed at the other namespace.
echo_start() {
	local i tries
	ECHO_OUT=$DPW_TMP/echo.out
	ECHO_ERR=$DPW_TMP/echo.err
	: >"$ECHO_OUT"
	# DPW_QUEUES=N: both sides over N engines (the load generator through cc_run).
	ip netns exec "$DPW_NS_PEER" "$DPW_ECHO" --iface "$DPW_IF_PEER" --ip "$ECHO_IP/$DPW_PREFIX" \
		"${ECHO_V6[@]}" --tcp-port 7 --udp-port 0 \
		${DPW_QUEUES:+--queues "$DPW_QUEUES"} ${DPW_STEERING:+--steering "$DPW_STEERING"} \
		>"$ECHO_OUT" 2>"$ECHO_ERR" &
	ECHO_PID=$!
	dpw_track "$ECHO_PID"
	# 20 s; 60 s for several engines, as stack_start allows them on a loaded machine.
	tries=400
	[ -n "${DPW_QUEUES:-}" ] && tries=1200
	for ((i = 0; i < tries; i++)); do
		grep -q '^dpwsk: ready ' "$ECHO_OUT" && { echo "echo: $(grep '^dpwsk: ready ' "$ECHO_OUT")"; return 0; }
		dpw_alive "$ECHO_PID" || break
		sleep 0.05
	done
	fatal echo-start "dpwsk-echo did not start: $(head -c 300 "$ECHO_ERR")"
}

echo_stop() {
	local final
	kill -TERM "$ECHO_PID" 2>/dev/null
	if ! dpw_wait_exit "$ECHO_PID" 20; then
		dpw_kill "$ECHO_PID"
		fatal echo-stop "dpwsk-echo still running 20 s after SIGTERM (killed)"
	fi
	assert_eq echo-exit-status 0 "$DPW_RC"
	final=$(grep '^dpwsk: stats ' "$ECHO_OUT" | tail -n1)
	assert_eq echo-mbuf-in-use-0 0 "$(stat_get "$final" mbuf_in_use)"
	if [ -e "$DPW_RUNDIR/dpwsk-$ECHO_PID" ]; then
		fail echo-no-runtime-dir "$DPW_RUNDIR/dpwsk-$ECHO_PID left behind"
	else
		pass echo-no-runtime-dir
	fi
	[ -s "$ECHO_ERR" ] && sed 's/^/  echo stderr: /' "$ECHO_ERR"
}

echo_start
# Anything the peer's kernel itself sends: ICMP, or TCP/ARP from its own address; over IPv6
# also TCP from its IPv6 address and any ICMPv6 but Neighbor Solicitations and Advertisements
# (types 135, 136: those of the two stacks are on the wire too, and look alike).
FILTER='icmp or (tcp and src host '"$DPW_IP_PEER"') or (arp and src host '"$DPW_IP_PEER"')'
[ -n "${DPW_IP6_STACK:-}" ] && FILTER="$FILTER"' or (tcp and src host '"$DPW_IP6_PEER"')'\
' or (icmp6 and ip6[40] != 135 and ip6[40] != 136)'
capture_start "$FILTER"

cc_run exchange 600 --cycles 20000 --concurrency 64 --mode exchange --bytes 64 "$TARGET"
assert_eq exchange-exit-status 0 "$CC_RC"
assert_eq exchange-cycles 20000 "$(cc_get cycles)"
assert_eq exchange-errors 0 "$(cc_get errors)"
cc_check_clean exchange

cc_run graceful 300 --cycles 2000 --concurrency 16 --mode graceful "$TARGET"
assert_eq graceful-exit-status 0 "$CC_RC"
assert_eq graceful-cycles 2000 "$(cc_get cycles)"
assert_eq graceful-errors 0 "$(cc_get errors)"
cc_check_clean graceful

echo_stop
# Over several engines (DPW_QUEUES=N), both sides ran N and each engine did its share: every
# lane of the load generator ran cycles and every lane of the echo server accepted some.
if [ -n "${DPW_QUEUES:-}" ]; then
	grep -q "^connclose: ready .* queues=$DPW_QUEUES\b\|^dpwsk: ready .* queues=$DPW_QUEUES\b" \
		"$CC_OUT" && pass connclose-queues || fail connclose-queues "not over $DPW_QUEUES engines"
	for ((q = 0; q < DPW_QUEUES; q++)); do
		lane=$(grep "^dpwsk: lane $q echo " "$ECHO_OUT" | tail -n1)
		assert_ge "echo-lane-$q-accepted" 1 "$(sed -n 's/.* accepted=\([0-9]*\).*/\1/p' <<<"$lane")"
	done
fi
kill -TERM "$CAPTURE_PID" 2>/dev/null
dpw_wait_exit "$CAPTURE_PID" 10 || dpw_kill "$CAPTURE_PID"
assert_eq peer-kernel-silent 0 "$(grep -c . "$CAPTURE")"
grep -q . "$CAPTURE" && head -n5 "$CAPTURE" | sed 's/^/  peer kernel: /'
dpw_finish
