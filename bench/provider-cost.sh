#!/bin/bash
# What the WSK provider costs per echoed request, measured from outside: dpwsk-echo (polling
# on CPU 1) answers linux-rr's 1-byte requests over the namespace topology while perf records
# dpwsk-echo alone: every call into the C library's heap (uprobes on malloc, calloc, realloc,
# free): perf stat counts them exactly, perf record takes their call stacks to tell who made
# them. Per request/response (one segment in, one echoed out) it prints the heap calls, and
# how they split between the provider (wsk_api/), lwIP and the program itself. The
# provider's target is 0.
#
# Then, for each build, where dpwsk-echo's CPU time goes (perf record -e cpu-clock, the function
# the CPU was in, by part: bench/cpu_by_part.py): per request/response under 16 connections of
# linux-rr, and per connection under linux-connclose (64 in flight, RST close) into it. In
# microseconds per operation; the lcore polls without sleeping, so the figures include its
# passes without work (compare builds under the same load, not absolute values;
# DPW_CPU_TOP=N lists the N functions that took most, where those passes show).
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
conns=1
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
events=probe_libc:malloc,probe_libc:calloc,probe_libc:realloc,probe_libc:free

printf '%-32s %9s %8s %9s %9s %9s %9s\n' build requests req/s heap/req provider lwIP program
for b in "${builds[@]}"; do
    out=$tmp/echo.out
    ip netns exec "$DPW_NS_STACK" "$b/apps/echo/dpwsk-echo" --iface "$DPW_IF_STACK" \
        --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores 1 --tcp-port 7 --udp-port 0 >"$out" 2>&1 &
    ECHO_PID=$!
    wait_line "$out" '^dpwsk: ready ' "$ECHO_PID" 20 || { cat "$out" >&2; exit 1; }
    # Warm up (pools and caches grow to the load), then record over the measured run only.
    ip netns exec "$DPW_NS_PEER" "$b/bench/linux-rr" --duration 1 --connections "$conns" \
        "$DPW_IP_STACK:7" >/dev/null
    perf stat -x, -e "$events" -p "$ECHO_PID" -o "$tmp/perf.csv" -- sleep "$secs" &
    stat_pid=$!
    perf record -q -e "$events" --call-graph dwarf,2048 -m 1024 -p "$ECHO_PID" \
        -o "$tmp/perf.data" -- sleep "$secs" >/dev/null 2>&1 &
    perf_pid=$!
    ip netns exec "$DPW_NS_PEER" "$b/bench/linux-rr" --duration "$secs" --connections "$conns" \
        --json "$DPW_IP_STACK:7" >"$tmp/rr.json"
    wait "$perf_pid" "$stat_pid"
    kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true; ECHO_PID=
    perf script -i "$tmp/perf.data" -F event,ip,sym,dso 2>/dev/null >"$tmp/script.txt"
    python3 - "$b" "$tmp" <<'PY'
import collections, json, subprocess, sys
build, tmp = sys.argv[1], sys.argv[2]
r = json.loads(open(f"{tmp}/rr.json").read().strip().splitlines()[-1])

# Each sample: the event line, then one line per frame: "IP SYMBOL (DSO)", innermost first.
# The allocator's caller is the first frame in the program's own binary (not the C library).
callers = collections.Counter()
event, caller = None, None
for line in open(f"{tmp}/script.txt"):
    if not line.startswith("\t"):
        if event and caller:
            callers[caller] += 1
        event = "probe_libc" in line and line.strip() != ""
        caller = None
        continue
    parts = line.split()
    # Inlined frames carry no DSO (their physical frame, same IP, follows with it).
    if event and caller is None and len(parts) >= 2 and "libc.so" not in line and \
            not line.rstrip().endswith("(inlined)"):
        dso = line.rsplit("(", 1)[-1].rstrip(")\n ")
        caller = (dso, parts[0])
if event and caller:
    callers[caller] += 1

# The source file of each caller address, innermost inlined function first: whose code it is.
who = collections.Counter()
by_dso = collections.defaultdict(list)
for (dso, ip), k in callers.items():
    by_dso[dso].append((ip, k))
for dso, ips in by_dso.items():
    # One address at a time: -i prints a line per inlined level, innermost first.
    for ip, k in ips:
        inner = subprocess.run(["addr2line", "-i", "-e", dso, "0x" + ip], capture_output=True,
                               text=True).stdout.splitlines()
        path = inner[0] if inner else ""
        part = ("provider" if "/wsk_api/" in path else
                "lwIP" if "lwip-" in path else "program")
        who[part] += k

exact = 0
for line in open(f"{tmp}/perf.csv"):
    f = line.strip().split(",")
    if len(f) > 2 and f[2].startswith("probe_libc:") and f[0].isdigit():
        exact += int(f[0])
n = max(r["transactions"], 1)
seen = sum(who.values())
if r.get("errors"):
    print(f"provider-cost.sh: linux-rr reported {r['errors']} errors", file=sys.stderr)
def per(part):
    return exact * who[part] / seen / n if seen else 0.0
print(f"{build[-32:]:<32} {r['transactions']:>9} {r['rate']:>8.0f} {exact / n:>9.2f} "
      f"{per('provider'):>9.2f} {per('lwIP'):>9.2f} {per('program'):>9.2f}")
PY
done
echo "(heap calls per request, in all and by the caller of the allocator: perf stat's exact count"
echo " split in the proportions of the call stacks perf record kept)"

# cpu_profile BUILD LABEL LOAD_CMD...: dpwsk-echo of BUILD under the load LOAD_CMD makes (a
# linux-rr or linux-connclose command line without its duration and target, run in the peer's
# namespace), its CPU time by part per operation.
cpu_profile() {
    local b=$1 label=$2 out=$tmp/echo.out ops
    shift 2
    ip netns exec "$DPW_NS_STACK" "$b/apps/echo/dpwsk-echo" --iface "$DPW_IF_STACK" \
        --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores 1 --tcp-port 7 --udp-port 0 >"$out" 2>&1 &
    ECHO_PID=$!
    wait_line "$out" '^dpwsk: ready ' "$ECHO_PID" 20 || { cat "$out" >&2; exit 1; }
    ip netns exec "$DPW_NS_PEER" "$@" --duration 1 "$DPW_IP_STACK:7" >/dev/null 2>&1 || true   # warm up
    perf record -q -e cpu-clock -F 20000 -p "$ECHO_PID" -o "$tmp/cpu.data" -- sleep "$secs" \
        >/dev/null 2>&1 &
    perf_pid=$!
    ip netns exec "$DPW_NS_PEER" "$@" --duration "$secs" --json "$DPW_IP_STACK:7" \
        >"$tmp/load.json" 2>&1 || true
    wait "$perf_pid" || true
    kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true; ECHO_PID=
    ops=$( (grep '^{' "$tmp/load.json" || true) | tail -n1 |
        sed -n 's/.*"\(transactions\|cycles\)":\([0-9]*\).*/\2/p')
    [ -n "$ops" ] || { echo "provider-cost.sh: no result from $*: $(tail -n2 "$tmp/load.json")" >&2; exit 1; }
    perf script -i "$tmp/cpu.data" -F period,ip,sym,dso 2>/dev/null >"$tmp/cpu.txt"
    printf '%-32s %-18s %s\n' "$(printf %s "$b" | tail -c 32)" "$label" \
        "$(python3 "$here/bench/cpu_by_part.py" "$b" "$tmp/cpu.txt" "$ops" "$secs")"
}
echo
echo "dpwsk-echo's CPU time per operation, microseconds, by part (perf record -e cpu-clock)"
for b in "${builds[@]}"; do
    cpu_profile "$b" "request/response" "$b/bench/linux-rr" --connections 16
    cpu_profile "$b" "connect/close" "$b/bench/linux-connclose" --concurrency 64 --mode rst
done
