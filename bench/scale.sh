#!/bin/bash
# Scale: the cost of a connection with many others open (issue 11), on the namespace topology.
# The Linux peer holds N idle connections to a dpwsk engine (from several source addresses and
# processes: one address has ~28,000 ephemeral ports, one process 20,000 files). At each N:
#   (a) a Linux client (bench/linux/linux-connclose, 64 in flight, RST close) measures the
#       connect/close rate into dpwsk-echo, the engine holding N;
#   (c) linux-rr measures 1-byte request/response latency on one more connection to it;
# then, in a second pass with dpwsk-echo gone, at each N again:
#   (b) dpwsk-connclose, its own engine holding N (--hold-port 7 --hold N), measures its
#       connect/close rate to a Linux server (bench/linux/linux-server) on the peer; the
#       server's ListenDrops are shown, since a kernel that drops SYNs sets the pace then.
# Prints, per N: conn/s and rate(N)/rate(0) for (a) and (b), connect p50/p99, RR p50/p99,
# dpwsk-echo's resident memory and its growth per held connection since N=0.
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
. "$here/bench/lib.sh"        # alive, wait_line, linux_server_start
. "$here/bench/peer_lib.sh"   # counter
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
for p in "$build/apps/echo/dpwsk-echo" "$build/bench/linux-connclose" "$build/bench/linux-rr" \
    "$build/apps/connclose/dpwsk-connclose" "$build/bench/linux-server"; do
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
CC_PID=
LINUX_SERVER_PID=
stop_pids() {   # stop_pids PID...: TERM, then wait for each
    local p
    for p in "$@"; do
        alive "$p" && kill -TERM "$p" 2>/dev/null
    done
    for p in "$@"; do
        wait "$p" 2>/dev/null || true
    done
}
cleanup() {
    stop_pids "${pids[@]}" $ECHO_PID $CC_PID $LINUX_SERVER_PID
    rm -rf "$tmp"
}
trap cleanup EXIT

# --lcores 0: the polling lcore on CPU 0, as when the README's figures were measured (the
# programs' default lets it float over every CPU).
ip netns exec "$DPW_NS_STACK" "$build/apps/echo/dpwsk-echo" --iface "$DPW_IF_STACK" \
    --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores 0 >"$tmp/echo.out" 2>&1 &
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
        # replace: the second pass uses the first one's addresses again
        ip netns exec "$DPW_NS_PEER" ip addr replace "$addr/$DPW_PREFIX" dev "$DPW_IF_PEER"
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
        if [ -n "$ECHO_PID" ]; then
            echo "  held $held (dpwsk-echo: $(stats_line | grep -o 'tcp_pcbs=[0-9]*'))"
        else
            echo "  held $held"
        fi
    done
}

# --- (a) and (c): dpwsk-echo holds N -------------------------------------------------------
echo "(a) linux-connclose -> dpwsk-echo holding N; (c) linux-rr on one more connection to it"
printf '%-8s %12s %10s %8s %12s %12s %10s %10s %10s %10s\n' held idle_pass/s conn/s ratio \
    connect_p50 connect_p99 rr_p50 rr_p99 rss_MiB KiB/conn
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
    ip netns exec "$DPW_NS_PEER" "$build/bench/linux-rr" --mode rr --duration "$duration" \
        "$DPW_IP_STACK:7" >"$tmp/rr.$n" 2>&1 || true
    rr50=$(sed -n 's/^rr: .* p50_us=\([0-9.]*\).*/\1/p' "$tmp/rr.$n")
    rr99=$(sed -n 's/^rr: .* p99_us=\([0-9.]*\).*/\1/p' "$tmp/rr.$n")
    [ -n "$rr50" ] || { echo "scale.sh: no request/response figure at $n held: $(tail -n3 "$tmp/rr.$n")"; break; }
    [ -n "$rate0" ] || { rate0=$rate; rss0=$rss; }
    ratio=$(awk -v a="$rate" -v b="$rate0" 'BEGIN { printf "%.3f", a / b }')
    per=$(awk -v r="$rss" -v r0="$rss0" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f", (r - r0) / n; else printf "-" }')
    printf '%-8s %12s %10.0f %8s %10sus %10sus %8sus %8sus %10.0f %10s\n' "$held" "$passes" \
        "$rate" "$ratio" "$p50" "$p99" "$rr50" "$rr99" \
        "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$per"
    results+=("{\"held\": $held, \"idle_passes_per_s\": $passes, \"conn_per_s\": $rate, \"ratio\": $ratio, \"connect_p50_us\": $p50, \"connect_p99_us\": $p99, \"rr_p50_us\": $rr50, \"rr_p99_us\": $rr99, \"rss_kib\": $rss}")
done

# --- (b): dpwsk-connclose's own engine holds N -----------------------------------------------
# dpwsk-echo and its holders go; the Linux server comes up on the peer.
stop_pids "${pids[@]}" $ECHO_PID
pids=()
ECHO_PID=
held=0   # holders counts on: fresh source addresses and ports (the old ones sit in TIME_WAIT)
linux_server_start "$build/bench/linux-server" 7100 "$tmp/server.out"
echo "(b) dpwsk-connclose, its engine holding N -> linux-server (peer)"
printf '%-8s %10s %8s %12s %12s %12s\n' held conn/s ratio connect_p50 connect_p99 \
    server_drops
brate0=
bresults=()
peer_dropped=0
for n in $held_list; do
    out=$tmp/dcc.$n
    hold=()
    [ "$n" -gt 0 ] && hold=(--hold-port 7 --hold "$n")
    drops0=$(counter "$DPW_NS_PEER" TcpExtListenDrops)
    ip netns exec "$DPW_NS_STACK" "$build/apps/connclose/dpwsk-connclose" --iface "$DPW_IF_STACK" \
        --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores 0 --concurrency 64 --duration "$duration" --mode rst \
        "${hold[@]}" "$DPW_IP_PEER:7100" >"$out" 2>&1 &
    CC_PID=$!
    wait_line "$out" '^dpwsk: ready ' "$CC_PID" 20 ||
        { cat "$out" >&2; echo "scale.sh: dpwsk-connclose did not start" >&2; break; }
    if [ "$n" -gt 0 ] && ! hold_up_to "$n"; then
        stop_pids $CC_PID
        break
    fi
    # bounded: the run, then dpwsk-connclose's own 30 s limit on stragglers and its closes
    wait_line "$out" 'conn_per_s=' "$CC_PID" $(( ${duration%.*} + 120 )) || true
    wait "$CC_PID" 2>/dev/null || true
    CC_PID=
    drops=$(( $(counter "$DPW_NS_PEER" TcpExtListenDrops) - drops0 ))
    [ "$drops" -eq 0 ] || peer_dropped=1
    stop_pids "${pids[@]}"
    pids=()
    held=0
    rate=$(sed -n 's/.* conn_per_s=\([0-9.]*\).*/\1/p' "$out")
    p50=$(sed -n 's/^connclose: connect_us p50=\([0-9.]*\).*/\1/p' "$out")
    p99=$(sed -n 's/^connclose: connect_us .* p99=\([0-9.]*\).*/\1/p' "$out")
    [ -n "$rate" ] || { echo "scale.sh: no rate from dpwsk-connclose at $n held: $(tail -n3 "$out")"; break; }
    [ -n "$brate0" ] || brate0=$rate
    ratio=$(awk -v a="$rate" -v b="$brate0" 'BEGIN { printf "%.3f", a / b }')
    printf '%-8s %10.0f %8s %10sus %10sus %12s\n' "$n" "$rate" "$ratio" "$p50" "$p99" "$drops"
    bresults+=("{\"held\": $n, \"conn_per_s\": $rate, \"ratio\": $ratio, \"connect_p50_us\": $p50, \"connect_p99_us\": $p99, \"server_listen_drops\": $drops}")
done
[ $peer_dropped = 0 ] ||
    echo "(b): the Linux server dropped SYNs in some runs (server_drops): there the peer, not dpwsk, set the pace"
if [ -n "$json" ]; then
    (IFS=,; echo "{\"build\": \"$build\", \"duration_s\": $duration, \"results\": [${results[*]}], \"dpwsk_client\": [${bresults[*]:-}]}") >"$json"
fi
if [ -n "$json" ]; then
    # The picture next to the JSON (python3-matplotlib from Debian: scripts/setup.sh).
    /usr/bin/python3 "$here/bench/plot_scale.py" "$json" "${json%.json}.png" \
        "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" ||
        echo "scale.sh: no plot (bench/plot_scale.py failed)"
fi
