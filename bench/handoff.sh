#!/bin/bash
# bench/handoff.sh: the share of received frames one engine hands to another over a ring, for
# each port type here that takes several queues (issue 15: "the share of frames forwarded
# between lcores for each PMD"). dpwsk-echo --queues Q (software steering: each frame's owner
# by its ports and the remote's hash, steer.c) on
#   af_packet  a veth; the kernel's fanout puts each frame on a queue by its own flow hash,
#              which knows nothing of dpwsk's;
#   tap        DPDK's net_tap, one tun queue per engine; the kernel picks the queue of the
#              flow (tun's automatic steering follows the queue the flow last sent on);
# with linux-connclose --mode exchange (64 bytes each way, the client closes) from the
# kernel's side, SECS seconds, RUNS runs each. The share is steered_out / rx_packets from the
# echo's last stats line (every frame reaches lwIP once, on its owner).
# Not here: memif takes one queue pair (dpwsk refuses --queues with --memif: both ends would
# have to agree on the queues); net_ring behind dpwsk-pathlen's wire, which puts each frame on
# its owner's queue as RSS does, hands none on (checked in every run: handed_on=0); a NIC with
# RSS and --steering rss, about none for TCP (no NIC on this machine).
#
#   sudo bench/handoff.sh [--queues 2] [--seconds 3] [--runs 3] [--concurrency 32] [--out DIR]
#   writes DIR/handoff.txt (default bench/results); DPW_BUILD=DIR picks the build. Runs in the
#   test topology (scripts/netns.sh): af_packet on the stack's veth end, the client in the
#   peer's namespace; the tap and its client in the stack's namespace (198.18.7.0/24).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ARGS=("$@")
die() { echo "handoff.sh: $*" >&2; exit 2; }
QUEUES=2 SECS=3 RUNS=3 CONC=32 OUT=$SRC/bench/results
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--queues) QUEUES=$2 ;;
	--seconds) SECS=$2 ;;
	--runs) RUNS=$2 ;;
	--concurrency) CONC=$2 ;;
	--out) OUT=$2 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift 2
done
[[ "$QUEUES" =~ ^[2-8]$ ]] || die "--queues 2..8"
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 60 ] || die "--seconds 1..60"
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 10 ] || die "--runs 1..10"
[[ "$CONC" =~ ^[0-9]+$ ]] && [ "$CONC" -ge 1 ] && [ "$CONC" -le 1024 ] ||
	die "--concurrency 1..1024"
BUILD=${DPW_BUILD:-$SRC/build}
ECHO=$BUILD/apps/echo/dpwsk-echo CLIENT=$BUILD/bench/linux-connclose
for p in "$ECHO" "$CLIENT"; do [ -x "$p" ] || die "$p is not built (scripts/setup.sh)"; done
if [ -z "${DPW_NS_STACK:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	export DPW_BUILD=$BUILD
	exec bash "$SRC/scripts/netns.sh" run bash "$0" "${ARGS[@]}"
fi
. "$SRC/bench/lib.sh"

TAP_KIP=198.18.7.1 TAP_SIP=198.18.7.2   # the tap's kernel end and the echo behind it
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-handoff.XXXXXX")
ECHO_PID=
cleanup() {
	if [ -n "$ECHO_PID" ]; then
		kill -TERM "$ECHO_PID" 2>/dev/null
		for _ in $(seq 100); do alive "$ECHO_PID" || break; sleep 0.1; done
		kill -KILL "$ECHO_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "handoff.sh: interrupted" >&2; exit 130' INT TERM
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)

# one PMD RUN: a fresh echo with Q engines on that port type, one client run; prints a row.
one() {
	local pmd=$1 run=$2 f=$TMP/echo.$1.$2 c=$TMP/client.$1.$2 port stats rx out in
	local eal=(--no-huge --no-pci --no-shconf -m 512 --log-level='*:error' -l 0
		   --file-prefix "dpw-handoff-$$") sip client_ns
	case $pmd in
	af_packet)
		port=(--iface "$DPW_IF_STACK") sip=$DPW_IP_STACK client_ns=$DPW_NS_PEER ;;
	tap)
		port=(--port net_tap0) sip=$TAP_SIP client_ns=$DPW_NS_STACK
		eal+=("--vdev=net_tap0,iface=dpwhotap") ;;
	esac
	ip netns exec "$DPW_NS_STACK" timeout $((SECS + 60)) "$ECHO" "${port[@]}" --ip "$sip/24" \
		--tcp-port 7 --udp-port 0 --queues "$QUEUES" -- "${eal[@]}" >"$f" 2>&1 &
	ECHO_PID=$!
	wait_line "$f" '^dpwsk: ready' "$ECHO_PID" 30 ||
		die "$pmd: the echo did not start: $(tail -n 3 "$f")"
	if [ "$pmd" = tap ]; then   # the kernel's end of the tap, made by the echo
		ip -n "$DPW_NS_STACK" addr add "$TAP_KIP/24" dev dpwhotap
		ip -n "$DPW_NS_STACK" link set dpwhotap up
	fi
	ip netns exec "$client_ns" timeout $((SECS + 30)) "$CLIENT" --mode exchange --bytes 64 \
		--concurrency "$CONC" --duration "$SECS" "$sip:7" >"$c" 2>&1 || true
	kill -TERM "$ECHO_PID"
	for _ in $(seq 200); do alive "$ECHO_PID" || break; sleep 0.05; done
	wait "$ECHO_PID" 2>/dev/null || true
	ECHO_PID=
	stats=$(grep '^dpwsk: stats ' "$f" | tail -n1)
	[ -n "$stats" ] || die "$pmd: no stats line from the echo: $(tail -n 3 "$f")"
	rx=$(sed -n 's/.* rx_packets=\([0-9]*\).*/\1/p' <<<"$stats")
	out=$(sed -n 's/.* steered_out=\([0-9]*\).*/\1/p' <<<"$stats")
	in=$(sed -n 's/.* steered_in=\([0-9]*\).*/\1/p' <<<"$stats")
	printf '%-10s %-4s %6s %10s %12s %11s %8s  %s\n' "$pmd" "$run" "$QUEUES" "$rx" "$out" "$in" \
		"$(awk -v a="$out" -v b="$rx" 'BEGIN { printf "%.1f%%", b ? 100 * a / b : 0 }')" \
		"$(sed -n 's/^connclose: connect_us .* n=\([0-9]*\).*/\1/p' "$c" | head -n1)"
}

{
	echo "# handoff.sh: $(date -u +%FT%TZ), $(nproc) CPUs, dpwsk-echo --queues $QUEUES (software"
	echo "# steering), linux-connclose --mode exchange --concurrency $CONC for $SECS s, $RUNS run(s)"
	printf '%-10s %-4s %6s %10s %12s %11s %8s  %s\n' pmd run queues rx_packets steered_out \
		steered_in share connections
	for run in $(seq "$RUNS"); do
		for pmd in af_packet tap; do
			one "$pmd" "$run"
		done
	done
} | tee "$OUT/handoff.txt"
