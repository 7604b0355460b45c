#!/bin/bash
# What the WSK provider costs per echoed request, measured from outside: dpwsk-echo (polling
# on CPU 1) answers linux-rr's 1-byte requests over the namespace topology while perf counts,
# on dpwsk-echo alone, its calls into the C library's heap (uprobes on malloc, calloc,
# realloc, free) and its CPU cycles. Per request/response (one segment in, one echoed out):
#   heap calls (the provider's target is 0), cycles (the whole process: lcore, idle passes
#   included, so compare builds on the same machine rather than read it alone).
#
#   sudo bench/provider-cost.sh [--seconds S] [--connections N] [BUILD_DIR...]
#
# Several build directories are measured one after the other in the same run (default: build),
# e.g. the current tree against an older checkout's build. perf's libc probes are added for
# the run and removed after it, if they were not there before.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"   # alive, wait_line
secs=5
conns=4
builds=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) secs=$2; shift ;;
    --connections) conns=$2; shift ;;
    -*) echo "provider-cost.sh: unknown option $1" >&2; exit 2 ;;
    *) builds+=("$(cd "$1" && pwd)") ;;
    esac
    shift
done
[ ${#builds[@]} -gt 0 ] || builds=("$here/build")
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 1 ] && [ "$secs" -le 600 ] ||
    { echo "provider-cost.sh: --seconds 1..600" >&2; exit 2; }
command -v perf >/dev/null || { echo "provider-cost.sh: perf is needed (apt-get install linux-perf)" >&2; exit 1; }
for b in "${builds[@]}"; do
    for p in apps/echo/dpwsk-echo bench/linux-rr; do
        [ -x "$b/$p" ] || { echo "provider-cost.sh: $b/$p not built" >&2; exit 1; }
    done
done
if [ -z "${DPW_NS_STACK:-}" ]; then
    exec bash "$here/scripts/netns.sh" run bash "$0" --seconds "$secs" --connections "$conns" "${builds[@]}"
fi

libc=$(ldd "${builds[0]}/apps/echo/dpwsk-echo" | awk '/libc\.so/ { print $3 }')
tmp=$(mktemp -d /tmp/dpw-provider-cost.XXXXXX)
added=()
ECHO_PID=
cleanup() {
    [ -n "$ECHO_PID" ] && kill "$ECHO_PID" 2>/dev/null && wait "$ECHO_PID" 2>/dev/null
    for e in "${added[@]}"; do perf probe -q -d "probe_libc:$e" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
for fn in malloc calloc realloc free; do
    if ! perf probe -l 2>/dev/null | grep -q "probe_libc:$fn "; then
        perf probe -q -x "$libc" -a "$fn" >/dev/null 2>&1 ||
            { echo "provider-cost.sh: cannot add a uprobe on $fn in $libc" >&2; exit 1; }
        added+=("$fn")
    fi
done
events=probe_libc:malloc,probe_libc:calloc,probe_libc:realloc,probe_libc:free,cycles

printf '%-40s %10s %10s %12s %14s %12s\n' build requests req/s heap-calls heap/request cycles/req
for b in "${builds[@]}"; do
    out=$tmp/echo.out
    ip netns exec "$DPW_NS_STACK" "$b/apps/echo/dpwsk-echo" --iface "$DPW_IF_STACK" \
        --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores 1 --tcp-port 7 --udp-port 0 >"$out" 2>&1 &
    ECHO_PID=$!
    wait_line "$out" '^dpwsk: ready ' "$ECHO_PID" 20 || { cat "$out" >&2; exit 1; }
    # Warm up (pools and caches grow to the load), then count over the measured run only.
    ip netns exec "$DPW_NS_PEER" "$b/bench/linux-rr" --duration 1 --connections "$conns" \
        "$DPW_IP_STACK:7" >/dev/null
    perf stat -x, -e "$events" -p "$ECHO_PID" -o "$tmp/perf.csv" -- sleep $((secs + 1)) &
    perf_pid=$!
    ip netns exec "$DPW_NS_PEER" "$b/bench/linux-rr" --duration "$secs" --connections "$conns" \
        --json "$DPW_IP_STACK:7" >"$tmp/rr.json"
    wait "$perf_pid"
    kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true; ECHO_PID=
    python3 - "$b" "$tmp/rr.json" "$tmp/perf.csv" <<'PY'
import json, sys
build, rr, csv = sys.argv[1:]
r = json.loads(open(rr).read().strip().splitlines()[-1])
counts = {}
for line in open(csv):
    f = line.strip().split(',')
    if len(f) > 2 and f[0].replace('.', '').isdigit():
        counts[f[2]] = int(float(f[0]))
heap = sum(v for k, v in counts.items() if k.startswith('probe_libc:'))
n = r['transactions']
if r.get('errors'):
    print(f"provider-cost.sh: linux-rr reported {r['errors']} errors", file=sys.stderr)
print(f"{build[-40:]:<40} {n:>10} {r['rate']:>10.0f} {heap:>12} {heap / max(n, 1):>14.3f} "
      f"{counts.get('cycles', 0) / max(n, 1):>12.0f}")
PY
done
echo "(perf counts the whole dpwsk-echo process over the run plus 1 s of idle polling: the"
echo " program's own heap calls, if any, are in the figure too)"
