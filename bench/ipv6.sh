#!/bin/bash
# IPv4 against IPv6: the connect/close rate of dpwsk-connclose and of the Linux kernel's
# linux-connclose, both families, against one dual-stack linux-server, in one run on the
# IPv6 topology (DPW_TOPO_IPV6=1 scripts/netns.sh: Linux 198.18.0.1 and 2001:2::1).
#
#   sudo bench/ipv6.sh [--rounds N] [--seconds S] [--concurrency C]
#
# Each of the four lines is the median of N rounds (default 3) of S seconds (default 3), RST
# mode, C connections in flight (default 64); rounds alternate the families so that drift
# on a shared machine hits both alike. dpwsk runs first on the stack's veth end; the
# kernel runs afterwards from the same namespace, given 198.18.0.4 and 2001:2::4 only then
# (two stacks must not answer for one link at once). Ends with the dpwsk/Linux ratio per
# family and the IPv6/IPv4 ratio per stack.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"   # linux_server_start
build=${DPW_BUILD:-$here/build}
rounds=3 seconds=3 conc=64
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --concurrency) conc=$2; shift ;;
    *) echo "ipv6.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for v in "$rounds" "$seconds" "$conc"; do
    [[ "$v" =~ ^[1-9][0-9]{0,3}$ ]] || { echo "ipv6.sh: '$v' is not a number 1-9999" >&2; exit 2; }
done
for p in apps/connclose/dpwsk-connclose bench/linux-connclose bench/linux-server; do
    [ -x "$build/$p" ] || { echo "ipv6.sh: $build/$p not built (scripts/setup.sh)" >&2; exit 1; }
done
if [ -z "${DPW_NS_STACK:-}" ]; then
    DPW_TOPO_IPV6=1 exec bash "$here/scripts/netns.sh" run bash "$0" --rounds "$rounds" \
        --seconds "$seconds" --concurrency "$conc"
fi
[ -n "${DPW_IP6_STACK:-}" ] || { echo "ipv6.sh: the topology has no IPv6 (DPW_TOPO_IPV6=1)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/dpw-ipv6-bench.XXXXXX)
LINUX_SERVER_PID=
cleanup() {
    [ -n "$LINUX_SERVER_PID" ] && kill "$LINUX_SERVER_PID" 2>/dev/null && wait "$LINUX_SERVER_PID" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

port=7200
linux_server_start "$build/bench/linux-server" "$port" "$tmp/server.out" --max-time 3600
grep -q 'family=dual' "$tmp/server.out" || { echo "ipv6.sh: no dual-stack listener" >&2; exit 1; }

target() { [ "$1" = 4 ] && echo "$DPW_IP_PEER:$port" || echo "[$DPW_IP6_PEER]:$port"; }
# One round: the JSON summary's cycles and errors; a run with errors fails the benchmark.
round() {   # round dpwsk|linux FAMILY
    local out=$tmp/$1-$2.json
    if [ "$1" = dpwsk ]; then
        ip netns exec "$DPW_NS_STACK" "$build/apps/connclose/dpwsk-connclose" \
            --iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" \
            --ip6 "$DPW_IP6_STACK/$DPW_PREFIX6" --lcores 1 --concurrency "$conc" \
            --duration "$seconds" --json "$(target "$2")" >"$out" 2>"$tmp/err"
    else
        ip netns exec "$DPW_NS_STACK" taskset -c 1 "$build/bench/linux-connclose" \
            --concurrency "$conc" --duration "$seconds" --json "$(target "$2")" \
            >"$out" 2>"$tmp/err"
    fi || { echo "ipv6.sh: $1 over IPv$2 failed:" >&2; tail -3 "$tmp/err" >&2; exit 1; }
    local line cycles errors
    line=$(grep '^{' "$out" | tail -n1)
    cycles=$(sed -n 's/.*"cycles":\([0-9]*\).*/\1/p' <<<"$line")
    errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$line")
    [ "${errors:-1}" = 0 ] || { echo "ipv6.sh: $1 over IPv$2: ${errors:-no} errors" >&2; exit 1; }
    echo "$cycles" >>"$tmp/$1-$2.cycles"
    printf '  %-5s IPv%s round: %s cycles in %s s\n' "$1" "$2" "$cycles" "$seconds"
}
median_rate() {   # connections/s of the median round
    sort -n "$tmp/$1-$2.cycles" | awk -v s="$seconds" '{ v[NR] = $1 }
        END { printf "%.0f\n", v[int((NR + 1) / 2)] / s }'
}

echo "IPv4 against IPv6: connect/close (RST) at concurrency $conc, $rounds x $seconds s each"
for stack in dpwsk linux; do
    if [ "$stack" = linux ]; then   # dpwsk is done with the link: the kernel may have it
        ip netns exec "$DPW_NS_STACK" sysctl -qw \
            "net.ipv6.conf.$DPW_IF_STACK.accept_dad=0" \
            "net.ipv6.conf.$DPW_IF_STACK.router_solicitations=0" \
            "net.ipv6.conf.$DPW_IF_STACK.disable_ipv6=0"
        ip -n "$DPW_NS_STACK" -6 addr add 2001:2::4/64 dev "$DPW_IF_STACK" nodad
        ip -n "$DPW_NS_STACK" addr add 198.18.0.4/24 dev "$DPW_IF_STACK"
    fi
    for ((r = 0; r < rounds; r++)); do
        round "$stack" 4
        round "$stack" 6
    done
done
d4=$(median_rate dpwsk 4) d6=$(median_rate dpwsk 6)
l4=$(median_rate linux 4) l6=$(median_rate linux 6)
awk -v d4="$d4" -v d6="$d6" -v l4="$l4" -v l6="$l6" 'BEGIN {
    printf "%-22s %12s %12s %8s\n", "connections/s", "IPv4", "IPv6", "v6/v4"
    printf "%-22s %12d %12d %8.2f\n", "dpwsk -> Linux", d4, d6, d6 / d4
    printf "%-22s %12d %12d %8.2f\n", "Linux -> Linux", l4, l6, l6 / l4
    printf "%-22s %11.2fx %11.2fx\n", "dpwsk / Linux", d4 / l4, d6 / l6
}'
