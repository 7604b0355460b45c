#!/bin/bash
# Close latency (issue 4, contract §3): how long WskCloseSocket takes as the application thread
# sees it, from the call to the close IRP's completion routine, with 0, 16 and 256 receives
# pending on the connection (each one cancelled before the close completes, C2, and checked).
# The stack connects to a Linux listener (bench/linux/linux-server) across the namespace
# topology; the engine polls on lcore 1, the application thread runs on lcore 0.
#
#   sudo bench/close-latency.sh [--samples N] [--json FILE]
#
# Prints one line per pending level and way of waiting ("sleep": the application thread
# sleeps in WskWaitCompletions and an eventfd wakes it; "spin": it polls WskPollCompletions):
# samples, errors, p50/p99/p99.9/max in microseconds.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"   # linux_server_start
build=${DPW_BUILD:-$here/build}
samples=2000
json=
while [ $# -gt 0 ]; do
    case "$1" in
    --samples) samples=$2; shift ;;
    --json) json=$2; shift ;;
    *) echo "close-latency.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for p in "$build/bench/dpwsk-bench-close" "$build/bench/linux-server"; do
    [ -x "$p" ] || { echo "close-latency.sh: $p not built (scripts/setup.sh)" >&2; exit 1; }
done
# Enter a fresh topology (netns.sh tears it down when we end).
if [ -z "${DPW_NS_STACK:-}" ]; then
    exec bash "$here/scripts/netns.sh" run bash "$0" --samples "$samples" ${json:+--json "$json"}
fi

tmp=$(mktemp -d /tmp/dpw-close-bench.XXXXXX)
LINUX_SERVER_PID=
cleanup() {
    [ -n "$LINUX_SERVER_PID" ] && kill "$LINUX_SERVER_PID" 2>/dev/null && wait "$LINUX_SERVER_PID" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

port=7100
linux_server_start "$build/bench/linux-server" "$port" "$tmp/server.out" --max-time 900

echo "close latency: WskCloseSocket call -> close completion on the application thread"
echo "(stack $DPW_IP_STACK -> Linux $DPW_IP_PEER:$port over veth; $samples closes per level)"
args=(--iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores 0-1 --samples "$samples")
rc=0
if [ -n "$json" ]; then
    ip netns exec "$DPW_NS_STACK" "$build/bench/dpwsk-bench-close" "${args[@]}" --json \
        "$DPW_IP_PEER:$port" >"$tmp/out" || rc=$?
    grep '^{' "$tmp/out" >"$json" || rc=1
    python3 - "$json" <<'PY'
import json, sys
for l in json.load(open(sys.argv[1]))["levels"]:
    print(f"wait={l['wait']:<5} pending={l['pending']:<4} samples={l['samples']:<7} errors={l['errors']:<3} "
          f"p50={l['p50']:.1f}us p99={l['p99']:.1f}us p99.9={l['p99_9']:.1f}us max={l['max']:.1f}us")
PY
else
    ip netns exec "$DPW_NS_STACK" "$build/bench/dpwsk-bench-close" "${args[@]}" \
        "$DPW_IP_PEER:$port" >"$tmp/out" || rc=$?
    grep '^wait=' "$tmp/out"
fi
[ $rc = 0 ] || { echo "close-latency.sh: the benchmark reported errors (status $rc)" >&2; cat "$tmp/out" >&2; }
exit $rc
