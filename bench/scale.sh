#!/bin/bash
# Scale: the cost of a connection with many others open (issue 11). dpwsk-echo serves on the
# namespace topology; the Linux peer holds N idle connections to it (from several source
# addresses and processes: one address has ~28,000 ephemeral ports, one process 20,000
# files), and at each N a Linux client (bench/linux/linux-connclose, 64 in flight, RST
# close) measures the connect/close rate into dpwsk-echo for --duration seconds. Prints, per
# N: held, conn/s, rate(N)/rate(0), connect p50/p99, dpwsk-echo's resident memory and its
# growth per held connection since N=0.
#
#   sudo bench/scale.sh [--held "0 10000 45000"] [--duration 5] [--json FILE]
#   DPW_BUILD=DIR picks the build (e.g. one without lwip-0012, for a before/after)
#
# dpwsk-echo holds at most MEMP_NUM_TCP_PCB (stack/lwipopts.h) connections, TIME_WAIT
# included; a held count beyond it is refused, and said so.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
build=${DPW_BUILD:-$here/build}
held_list="0 10000 45000"
duration=5
json=
while [ $# -gt 0 ]; do
    case "$1" in
    --held) held_list=$2; shift ;;
    --duration) duration=$2; shift ;;
    --json) json=$2; shift ;;
    *) echo "scale.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for p in "$build/apps/echo/dpwsk-echo" "$build/bench/linux-connclose"; do
    [ -x "$p" ] || { echo "scale.sh: $p not built (scripts/setup.sh)" >&2; exit 1; }
done
if [ -z "${DPW_NS_STACK:-}" ]; then
    export DPW_BUILD=$build
    exec bash "$here/scripts/netns.sh" run bash "$0" --held "$held_list" --duration "$duration" \
        ${json:+--json "$json"}
fi

PER_HOLDER=14000        # connections per holding process (under its 20,000 files)
PER_ADDRESS=2           # holders per source address (2 x 14,000 < 28,000 ports)
tmp=$(mktemp -d /tmp/dpw-scale.XXXXXX)
pids=()
ECHO_PID=
cleanup() {
    local p
    for p in "${pids[@]}" $ECHO_PID; do
        alive "$p" && kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}" $ECHO_PID; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

ip netns exec "$DPW_NS_STACK" "$build/apps/echo/dpwsk-echo" --iface "$DPW_IF_STACK" \
    --ip "$DPW_IP_STACK/$DPW_PREFIX" >"$tmp/echo.out" 2>&1 &
ECHO_PID=$!
wait_line "$tmp/echo.out" '^dpwsk: ready ' "$ECHO_PID" 20 ||
    { cat "$tmp/echo.out" >&2; echo "scale.sh: dpwsk-echo did not start" >&2; exit 1; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$ECHO_PID/status"; }

# Source addresses for the holders: 198.18.0.11, .12, ... on the peer's interface.
holders=0
held=0
add_holder() {   # add_holder COUNT
    local addr=198.18.0.$((11 + holders / PER_ADDRESS)) out=$tmp/hold.$holders
    if [ $((holders % PER_ADDRESS)) = 0 ]; then
        ip netns exec "$DPW_NS_PEER" ip addr add "$addr/$DPW_PREFIX" dev "$DPW_IF_PEER"
    fi
    ip netns exec "$DPW_NS_PEER" python3 "$here/bench/scale/hold.py" "$addr" "$DPW_IP_STACK" 7 \
        "$1" 1800 >"$out" 2>&1 &
    pids+=($!)
    holders=$((holders + 1))
    if ! wait_line "$out" '^(held|failed) ' "$!" 600 || grep -q '^failed' "$out"; then
        echo "scale.sh: holding stopped at $((held + $(sed -n 's/^\(held\|failed after\) \([0-9]*\).*/\2/p' "$out" | tail -n1))) connections: $(tail -n1 "$out")"
        return 1
    fi
    held=$((held + $1))
    echo "  held $held ($(tail -n1 "$out"))"
}

printf '%-8s %10s %8s %12s %12s %10s %12s\n' held conn/s ratio connect_p50 connect_p99 rss_MiB KiB/conn
rate0=
rss0=
results=()
for n in $held_list; do
    while [ $held -lt "$n" ]; do
        add_holder $((n - held < PER_HOLDER ? n - held : PER_HOLDER)) || break 2
    done
    out=$tmp/cc.$n
    ip netns exec "$DPW_NS_PEER" "$build/bench/linux-connclose" --concurrency 64 \
        --duration "$duration" --mode rst "$DPW_IP_STACK:7" >"$out" 2>&1 || true
    rate=$(sed -n 's/.* conn_per_s=\([0-9.]*\).*/\1/p' "$out")
    p50=$(sed -n 's/^connclose: connect_us p50=\([0-9.]*\).*/\1/p' "$out")
    p99=$(sed -n 's/^connclose: connect_us .* p99=\([0-9.]*\).*/\1/p' "$out")
    rss=$(rss_kb)
    [ -n "$rate" ] || { echo "scale.sh: no rate at $n held: $(tail -n3 "$out")"; break; }
    [ -n "$rate0" ] || { rate0=$rate; rss0=$rss; }
    ratio=$(awk -v a="$rate" -v b="$rate0" 'BEGIN { printf "%.3f", a / b }')
    per=$(awk -v r="$rss" -v r0="$rss0" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f", (r - r0) / n; else printf "-" }')
    printf '%-8s %10.0f %8s %10sus %10sus %10.0f %12s\n' "$held" "$rate" "$ratio" "$p50" "$p99" \
        "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$per"
    results+=("{\"held\": $held, \"conn_per_s\": $rate, \"ratio\": $ratio, \"connect_p50_us\": $p50, \"connect_p99_us\": $p99, \"rss_kib\": $rss}")
done
if [ -n "$json" ]; then
    (IFS=,; echo "{\"build\": \"$build\", \"duration_s\": $duration, \"results\": [${results[*]}]}") >"$json"
fi
