#!/bin/bash
# ping6: the stack started with --ip6 answers Neighbor Discovery and ICMPv6 echo from the
# Linux peer, for its global address (2001:2::2) and for its link-local one (fe80:: + the
# EUI-64 of its MAC), and for no other address; its counters agree.
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/integration/ping6.sh   (or run it directly:
#   it asks netns.sh for the IPv6 topology itself)
export DPW_TOPO_IPV6=1   # before dpw_init: the topology it enters has IPv6 on the peer side
. "$(dirname "$0")/lib.sh"
dpw_init ping

[ -n "${DPW_IP6_STACK:-}" ] && [ -n "${DPW_IP6_PEER:-}" ] && [ -n "${DPW_PREFIX6:-}" ] ||
	fatal topology "no IPv6 in this topology (DPW_IP6_STACK unset): run it with DPW_TOPO_IPV6=1"

# fe80::/64 with the modified EUI-64 of a MAC (RFC 4291 2.5.1: the universal/local bit
# flipped, ff:fe in the middle).
eui64_ll() {
	local IFS=:
	# shellcheck disable=SC2086
	set -- $1
	printf 'fe80::%x:%x:%x:%x\n' $(((0x$1 ^ 0x02) << 8 | 0x$2)) $((0x$3 << 8 | 0xff)) \
		$((0xfe << 8 | 0x$4)) $((0x$5 << 8 | 0x$6))
}
LL_STACK=$(eui64_ll "$DPW_MAC_STACK")
echo "stack: $DPW_IP6_STACK and $LL_STACK (from $DPW_MAC_STACK)"

# The stack side's kernel must not answer for the stack: IPv6 is off there.
assert_eq stack-kernel-ipv6-off 1 \
	"$(ip netns exec "$DPW_NS_STACK" sysctl -n "net.ipv6.conf.$DPW_IF_STACK.disable_ipv6")"
assert_eq peer-has-global "$DPW_IP6_PEER/$DPW_PREFIX6" \
	"$(ip -n "$DPW_NS_PEER" -6 -br addr show dev "$DPW_IF_PEER" scope global | awk '{print $3}')"

stack_start
assert_eq ready-mac "$DPW_MAC_STACK" "$STACK_MAC"

s0=$(stack_stats) || fatal stats-before "no stats line"

# ping6 COUNT ADDR: echo requests until COUNT are answered, 10 s at most (-w: with -W alone,
# once some reply came, iputils' ping waits only max(2 RTTs, the interval) after its last
# request, and a busy machine's late reply went uncounted). At least COUNT requests go out.
# ping6 COUNT ADDR none: exactly COUNT requests where no reply is expected, 2 s for one.
# Prints "transmitted received"; the whole output goes to PING_OUT (a file: this runs in a
# subshell).
ping6() {
	local out wait=(-w 10)
	[ "${3:-}" = none ] && wait=(-W 2)
	out=$(peer timeout 20 ping -6 -n -c "$1" -i 0.2 "${wait[@]}" "$2" 2>&1)
	echo "$out" | tail -n 2 >&2
	echo "$out" >"$DPW_TMP/ping6.out"
	echo "$(sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' <<<"$out") $(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out")"
}

# The global address: Neighbor Discovery (the peer's kernel solicits it), then echo.
read -r tx rx <<<"$(ping6 3 "$DPW_IP6_STACK")"
assert_ge global-requests 3 "$tx"
sent=$tx
assert_answered global-replies 3 "$(cat "$DPW_TMP/ping6.out")"
# The peer learnt the stack's MAC through the stack's Neighbor Advertisement.
nd=$(peer ip -6 neigh show "$DPW_IP6_STACK" dev "$DPW_IF_PEER")
echo "peer neighbour: $nd"
assert_eq global-nd-lladdr "$DPW_MAC_STACK" "$(awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}' <<<"$nd")"

# The link-local address, scoped to the peer's interface.
read -r tx rx <<<"$(ping6 3 "$LL_STACK%$DPW_IF_PEER")"
assert_ge linklocal-requests 3 "$tx"
sent=$((sent + tx))
assert_answered linklocal-replies 3 "$(cat "$DPW_TMP/ping6.out")"
nd=$(peer ip -6 neigh show "$LL_STACK" dev "$DPW_IF_PEER")
echo "peer neighbour: $nd"
assert_eq linklocal-nd-lladdr "$DPW_MAC_STACK" "$(awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}' <<<"$nd")"

# An address of the prefix that is not the stack's: no Neighbor Advertisement, no reply.
read -r tx rx <<<"$(ping6 1 2001:2::99 none)"
assert_eq other-requests 1 "$tx"
assert_eq other-replies 0 "${rx:-0}"

s1=$(stack_stats) || fatal stats-after "no stats line"
d() { echo $(($(stat_get "$s1" "$1") - $(stat_get "$s0" "$1"))); }
# 6 echo requests answered (of $sent sent), plus Neighbor Discovery either way.
assert_ge rx-packets 6 "$(d rx_packets)"
assert_ge tx-packets 6 "$(d tx_packets)"
assert_eq tx-dropped 0 "$(d tx_dropped)"
assert_eq drop-icmp 0 "$(d drop_icmp)"
assert_eq mbufs-back "$(stat_get "$s1" mbuf_idle)" "$(stat_get "$s1" mbuf_in_use)"

stack_stop
dpw_finish
