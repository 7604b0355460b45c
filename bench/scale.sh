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
#   (--json FILE also draws FILE with .png for .json: bench/plot_scale.py)
#   DPW_BUILD=DIR picks the build: for a million, one configured for it
#     meson setup build-1m -Dtcp_pcbs=1100000 && ninja -C build-1m
#     sudo DPW_BUILD=$PWD/build-1m bench/scale.sh --held "0 10000 100000 1000000"
#
# dpwsk-echo holds at most tcp_pcbs connections (meson option; 60,000 by default), TIME_WAIT
# included; holding stops with a message where the peer or the stack refuses more.
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
PER_ADDRESS=2           # holders per source address, local ports 10000-24999 and 25000-39999
# The measuring client's ephemeral ports stay apart from the holders' (see hold.py).
ip netns exec "$DPW_NS_PEER" sysctl -qw net.ipv4.ip_local_port_range="40000 60999"
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

# A fresh stats line from dpwsk-echo (SIGUSR1 asks for one; bounded wait).
stats_line() {
    local before i
    before=$(grep -c '^dpwsk: stats ' "$tmp/echo.out" || true)
    kill -USR1 "$ECHO_PID"
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c '^dpwsk: stats ' "$tmp/echo.out" || true)" -gt "$before" ] && break
        sleep 0.02
    done
    grep '^dpwsk: stats ' "$tmp/echo.out" | tail -n1
}
loops_now() { stats_line | sed 's/.* loops=\([0-9]*\).*/\1/'; }
# Idle cost: poll passes a second with nothing to do but the held connections' timers (the
# loop never sleeps, so fewer passes means more time per pass).
passes_per_s() {
    local a b t0 t1
    a=$(loops_now); t0=$(date +%s.%N)
    sleep 2   # the interval being measured
    b=$(loops_now); t1=$(date +%s.%N)
    awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }'
}

# Source addresses for the holders: 198.18.0.11, .12, ... on the peer's interface. Holders
# start two at a time (one per core).
holders=0
held=0
start_holder() {   # start_holder COUNT: its PID in HOLDER_PID, output in $tmp/hold.N
    local addr=198.18.0.$((11 + holders / PER_ADDRESS))
    if [ $((holders % PER_ADDRESS)) = 0 ]; then
        ip netns exec "$DPW_NS_PEER" ip addr add "$addr/$DPW_PREFIX" dev "$DPW_IF_PEER"
    fi
    ip netns exec "$DPW_NS_PEER" python3 "$here/bench/scale/hold.py" "$addr" \
        $((10000 + (holders % PER_ADDRESS) * 15000)) "$DPW_IP_STACK" 7 "$1" 3600 \
        >"$tmp/hold.$holders" 2>&1 &
    HOLDER_PID=$!
    pids+=($HOLDER_PID)
    holders=$((holders + 1))
}
hold_up_to() {   # hold_up_to N: more holders until N connections are held
    local want=$1 batch n i pid out ok=0
    while [ $held -lt "$want" ]; do
        batch=()
        for i in 1 2; do
            n=$((want - held < PER_HOLDER ? want - held : PER_HOLDER))
            [ "$n" -gt 0 ] || break
            start_holder "$n"
            batch+=("$holders:$HOLDER_PID:$n")
            held=$((held + n))
        done
        for i in "${batch[@]}"; do
            out=$tmp/hold.$(( ${i%%:*} - 1 ))
            pid=${i#*:}; pid=${pid%%:*}
            if ! wait_line "$out" '^(held|failed) ' "$pid" 900 || grep -q '^failed' "$out"; then
                echo "scale.sh: a holder stopped: $(tail -n1 "$out")"
                return 1
            fi
        done
        echo "  held $held (dpwsk-echo: $(stats_line | grep -o 'tcp_pcbs=[0-9]*'))"
    done
}

printf '%-8s %12s %10s %8s %12s %12s %10s %10s\n' held idle_pass/s conn/s ratio connect_p50 \
    connect_p99 rss_MiB KiB/conn
rate0=
rss0=
results=()
for n in $held_list; do
    hold_up_to "$n" || break
    passes=$(passes_per_s)
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
    printf '%-8s %12s %10.0f %8s %10sus %10sus %10.0f %10s\n' "$held" "$passes" "$rate" "$ratio" \
        "$p50" "$p99" \
        "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$per"
    results+=("{\"held\": $held, \"idle_passes_per_s\": $passes, \"conn_per_s\": $rate, \"ratio\": $ratio, \"connect_p50_us\": $p50, \"connect_p99_us\": $p99, \"rss_kib\": $rss}")
done
if [ -n "$json" ]; then
    (IFS=,; echo "{\"build\": \"$build\", \"duration_s\": $duration, \"results\": [${results[*]}]}") >"$json"
fi
if [ -n "$json" ]; then
    # The picture next to the JSON (python3-matplotlib from Debian: scripts/setup.sh).
    /usr/bin/python3 "$here/bench/plot_scale.py" "$json" "${json%.json}.png" \
        "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" ||
        echo "scale.sh: no plot (bench/plot_scale.py failed)"
fi
