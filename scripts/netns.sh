#!/bin/bash
# The test topology: two fresh network namespaces joined by a veth pair, addresses from
# 198.18.0.0/15 (RFC 2544's benchmarking range). Nothing is created in, or routed to, the
# machine's own namespace. Names are unique per run, so runs never collide.
#
#   netns.sh run CMD [ARGS...]   create, run CMD with the topology in its environment,
#                                tear down on exit (also on failure or Ctrl-C); CMD's status
#   netns.sh up                  create and print the environment (for manual use)
#   netns.sh down ID             tear down what "up" printed as DPW_TOPO_ID
#
# Environment given to CMD (and printed by "up"):
#   DPW_NS_STACK, DPW_NS_PEER    namespace of the dpwsk side and of the Linux peer side
#   DPW_IF_STACK, DPW_IF_PEER    the veth end in each (the stack attaches to DPW_IF_STACK)
#   DPW_IP_STACK, DPW_IP_PEER    198.18.0.2 and 198.18.0.1; DPW_PREFIX=24
#   DPW_MAC_STACK, DPW_MAC_PEER  their MAC addresses
#
# IPv6 is off unless asked for: with DPW_TOPO_IPV6=1 in the environment of "run" or "up",
# the peer's veth end (only it: the stack side's kernel keeps IPv6 disabled, so that it never
# answers for the stack's address) gets 2001:2::1/64 from 2001:2::/48 (RFC 5180's benchmarking
# range) and an EUI-64 link-local address, both usable at once (no DAD, no router
# solicitations, router advertisements ignored). Then also:
#   DPW_IP6_STACK, DPW_IP6_PEER  2001:2::2 and 2001:2::1; DPW_PREFIX6=64
#                                (the stack takes its address as --ip6 $DPW_IP6_STACK/64)
set -euo pipefail

IP_PEER=198.18.0.1
IP_STACK=198.18.0.2
PREFIX=24
IP6_PEER=2001:2::1
IP6_STACK=2001:2::2
PREFIX6=64

die() { echo "netns.sh: error: $*" >&2; exit 2; }

need_root() {
    [ "$(id -u)" = 0 ] || die "needs root (ip netns add)"
    command -v ip >/dev/null || die "ip (iproute2) not installed; run scripts/setup.sh"
    command -v ethtool >/dev/null || die "ethtool not installed; run scripts/setup.sh"
}

names() {
    DPW_TOPO_ID=$1
    DPW_NS_STACK="dpw-$1-s"
    DPW_NS_PEER="dpw-$1-p"
    DPW_IF_STACK="dpws0"
    DPW_IF_PEER="dpwp0"
}

# Kill what still runs inside our namespaces (only ours: the namespaces are this run's own),
# then delete them; the veth pair goes with them.
down() {
    names "$1"
    local ns pids
    for ns in "$DPW_NS_STACK" "$DPW_NS_PEER"; do
        [ -e "/run/netns/$ns" ] || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            [ -z "$pids" ] && break
            sleep 0.2   # bounded grace period for SIGTERM handlers, not synchronisation
        done
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}

# Quiet link: no IPv6 chatter (router solicitations, MLD) and no offloads, so that frames on
# the wire are exactly what each stack sent. Offloads matter: with TX checksum offload the
# kernel hands af_packet frames whose TCP checksum is not filled in yet.
quiet_ns() {
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
}
# DPW_TOPO_IPV6=1: IPv6 on the peer's interface alone. Set before the link comes up, so that
# the link-local address is made (EUI-64 from the MAC: the same every time) without DAD, and
# no router solicitation is ever sent; the namespace-wide "all" value of accept_dad counts
# too, so it goes to 0 as well (this namespace only).
ipv6_peer_if() {
    local c="net.ipv6.conf.$2"
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0
    ip netns exec "$1" sysctl -qw "$c.accept_ra=0" "$c.router_solicitations=0" \
        "$c.accept_dad=0" "$c.dad_transmits=0" "$c.addr_gen_mode=0" "$c.use_tempaddr=0"
    ip netns exec "$1" sysctl -qw "$c.disable_ipv6=0"
}
quiet_if() {
    ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
        ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
}

up() {
    need_root
    names "${1:-$$-$RANDOM}"
    [ -e "/run/netns/$DPW_NS_STACK" ] && die "namespace $DPW_NS_STACK exists already"
    ip netns add "$DPW_NS_STACK"
    ip netns add "$DPW_NS_PEER"
    quiet_ns "$DPW_NS_STACK"
    quiet_ns "$DPW_NS_PEER"
    # Both ends are born inside their namespaces: nothing touches the root namespace.
    ip link add "$DPW_IF_STACK" netns "$DPW_NS_STACK" type veth \
        peer name "$DPW_IF_PEER" netns "$DPW_NS_PEER"
    quiet_if "$DPW_NS_STACK" "$DPW_IF_STACK"
    quiet_if "$DPW_NS_PEER" "$DPW_IF_PEER"
    ip -n "$DPW_NS_STACK" link set lo up
    ip -n "$DPW_NS_PEER" link set lo up
    # The stack's side has no kernel address: the kernel there must not answer for it.
    ip -n "$DPW_NS_STACK" link set "$DPW_IF_STACK" up
    ip -n "$DPW_NS_PEER" addr add "$IP_PEER/$PREFIX" dev "$DPW_IF_PEER"
    if [ "${DPW_TOPO_IPV6:-0}" = 1 ]; then
        ipv6_peer_if "$DPW_NS_PEER" "$DPW_IF_PEER"
        ip -n "$DPW_NS_PEER" -6 addr add "$IP6_PEER/$PREFIX6" dev "$DPW_IF_PEER" nodad
    fi
    ip -n "$DPW_NS_PEER" link set "$DPW_IF_PEER" up
    # The peer's kernel asks for the stack's MAC 10 times a second apart, not 3: a polling
    # lcore that a machine loaded far past its CPUs leaves unscheduled for 3 s is slow, not
    # gone, and address resolution is not what any test examines.
    ip netns exec "$DPW_NS_PEER" sysctl -qw "net.ipv4.neigh.$DPW_IF_PEER.mcast_solicit=10"
    if [ "${DPW_TOPO_IPV6:-0}" = 1 ]; then
        ip netns exec "$DPW_NS_PEER" sysctl -qw "net.ipv6.neigh.$DPW_IF_PEER.mcast_solicit=10"
    fi
    DPW_MAC_STACK=$(ip -n "$DPW_NS_STACK" -br link show "$DPW_IF_STACK" | awk '{print $3}')
    DPW_MAC_PEER=$(ip -n "$DPW_NS_PEER" -br link show "$DPW_IF_PEER" | awk '{print $3}')
    DPW_IP_STACK=$IP_STACK DPW_IP_PEER=$IP_PEER DPW_PREFIX=$PREFIX
    export DPW_TOPO_ID DPW_NS_STACK DPW_NS_PEER DPW_IF_STACK DPW_IF_PEER DPW_IP_STACK \
        DPW_IP_PEER DPW_PREFIX DPW_MAC_STACK DPW_MAC_PEER
    if [ "${DPW_TOPO_IPV6:-0}" = 1 ]; then
        DPW_IP6_STACK=$IP6_STACK DPW_IP6_PEER=$IP6_PEER DPW_PREFIX6=$PREFIX6
        export DPW_IP6_STACK DPW_IP6_PEER DPW_PREFIX6
    else
        # Not inherited from a caller's environment either: IPv6 addresses only when this
        # topology has them.
        unset DPW_IP6_STACK DPW_IP6_PEER DPW_PREFIX6
    fi
}

case "${1:-}" in
run)
    shift
    [ $# -gt 0 ] || die "usage: netns.sh run CMD [ARGS...]"
    need_root
    id="$$-$RANDOM"
    trap 'down "$id"' EXIT
    trap 'exit 130' INT TERM
    up "$id"
    set +e
    "$@"
    status=$?
    set -e
    exit $status
    ;;
up)
    up "${2:-}"
    env | grep '^DPW_' | sort | sed 's/^/export /'
    ;;
down)
    [ -n "${2:-}" ] || die "usage: netns.sh down ID"
    down "$2"
    ;;
*)
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
    [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] || exit 2
    ;;
esac
