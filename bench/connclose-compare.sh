#!/bin/bash
# connclose-compare: connection rate of dpwsk against the Linux kernel, like for like.
# The same load (bench/linux/linux-server in the peer namespace, discard mode) is driven by
# dpwsk-connclose (the stack namespace, dpwsk over af_packet) and then by linux-connclose (the
# same namespace, kernel sockets: the kernel is given the stack's address for that run only),
# at each concurrency, for the same time. Prints one table row per run:
#
#   program concurrency mode cycles errors conn_per_s cpu_us_per_conn connect_p50/p99 close_p50/p99
#
#   sudo bench/connclose-compare.sh [BUILD_DIR] [SECONDS] [MODE] [CONCURRENCY...]
#   e.g. sudo bench/connclose-compare.sh build 5 rst 1 16 64 256
#
# CPU time is each client process's own (getrusage); dpwsk's lcore polls, so it counts its
# idle passes too, and Linux's softirq work may be charged to whichever process the CPU was
# running. On a shared machine the figures are rough: compare them run against run.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
SECS=${2:-5}
MODE=${3:-rst}
shift $(($# < 3 ? $# : 3))
CONC=("$@")
[ ${#CONC[@]} -gt 0 ] || CONC=(1 16 64 256)

if [ -z "${DPW_NS_STACK:-}" ]; then
	exec bash "$SRC/scripts/netns.sh" run bash "$0" "$BUILD" "$SECS" "$MODE" "${CONC[@]}"
fi
for p in apps/connclose/dpwsk-connclose bench/linux-connclose bench/linux-server; do
	[ -x "$BUILD/$p" ] || { echo "connclose-compare: $BUILD/$p not built" >&2; exit 1; }
done
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" || true
	rm -rf "$TMP"
}
trap cleanup EXIT
# Linux's graceful client keeps TIME_WAIT for 60 s: let it reuse those ports, as lwIP does.
ip netns exec "$DPW_NS_STACK" sysctl -qw net.ipv4.tcp_tw_reuse=1

ip netns exec "$DPW_NS_PEER" "$BUILD/bench/linux-server" --port 5000 --mode echo \
	--max-time 3600 >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 100; i++)); do
	grep -q listening "$TMP/server.out" && break
	sleep 0.1
done

row() {   # row JSONFILE
	python3 - "$1" <<'PY'
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("{")]
if not line:
    print("  (no summary)")
    sys.exit()
d = json.loads(line[-1])
print("%-16s %5d %-9s %9d %6d %11.0f %9.2f %10.0f/%-8.0f %7.1f/%-8.1f" % (
    d["program"], d["concurrency"], d["mode"], d["cycles"], d["errors"], d["conn_per_s"],
    d["cpu_us_per_conn"], d["connect_us"]["p50"], d["connect_us"]["p99"],
    d["close_us"]["p50"], d["close_us"]["p99"]))
PY
}

printf "%-16s %5s %-9s %9s %6s %11s %9s %19s %16s\n" program conc mode cycles errors \
	conn_per_s cpu_us/c "connect_us p50/p99" "close_us p50/p99"
for c in "${CONC[@]}"; do
	ip netns exec "$DPW_NS_STACK" "$BUILD/apps/connclose/dpwsk-connclose" \
		--iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" --duration "$SECS" \
		--concurrency "$c" --mode "$MODE" --json "$DPW_IP_PEER:5000" \
		>"$TMP/dpwsk.$c" 2>&1 || true
	row "$TMP/dpwsk.$c"
	ip -n "$DPW_NS_STACK" addr add "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK"
	ip netns exec "$DPW_NS_STACK" "$BUILD/bench/linux-connclose" --duration "$SECS" \
		--concurrency "$c" --mode "$MODE" --json "$DPW_IP_PEER:5000" \
		>"$TMP/linux.$c" 2>&1 || true
	ip -n "$DPW_NS_STACK" addr del "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK"
	row "$TMP/linux.$c"
done
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=
grep '^linux-server: accepted' "$TMP/server.out" | tail -n1
