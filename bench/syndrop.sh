#!/bin/bash
# bench/syndrop.sh: connect/close against a server that drops SYNs (issue 11). linux-server
# (bench/linux, kernel stack, the peer's namespace, CPU 1) listens with a small backlog, so its
# accept queue overflows and its kernel drops SYNs and handshake ACKs; dpwsk-connclose and
# linux-connclose (CPU 0) each run T seconds at each concurrency, mode rst. What linux-connclose
# reaches is the server's real capacity; dpwsk-connclose should reach it too, not collapse on
# the losses (each lost SYN costs a slot one initial RTO: 1 s in both stacks).
# Per run: conn/s, ratio dpwsk/linux, connect p99 and max, connect failures (the client's
# errors), SYN retransmissions (Linux: TcpExtTCPSynRetrans in the client's namespace; dpwsk: its
# engine's tcp_retransmits, which in rst mode are SYNs), the server's accepted connections
# and its kernel's ListenOverflows/ListenDrops (nstat in the server's namespace), the server's
# CPU share.
#
#   bench/syndrop.sh [--backlog 8] [--seconds 5] [--runs 3] [--concurrency 64,256] [--out DIR]
#   (as root). Runs interleave the two clients; the ratio is of the medians (with 1 s per lost
#   SYN, one run swings widely).
#   writes DIR/syndrop.txt and DIR/syndrop.json (default bench/results); DPW_BUILD=DIR picks
#   the build. Exit status 1 if a run failed; 3 if every run worked but dpwsk fell below 0.5x
#   the Linux client, in cycles completed or in connections the server accepted (the lower of
#   the two ratios): a verdict on the figures (run.sh shows it), not a failure.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ARGS=("$@")
. "$SRC/bench/lib.sh"
. "$SRC/bench/peer_lib.sh"
die() { echo "syndrop.sh: $*" >&2; exit 2; }

BACKLOG=8 SECS=5 RUNS=3 CONC=64,256 OUT=$SRC/bench/results
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--backlog) BACKLOG=$2 ;;
	--seconds) SECS=$2 ;;
	--runs) RUNS=$2 ;;
	--concurrency) CONC=$2 ;;
	--out) OUT=$2 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift 2
done
need_int --backlog "$BACKLOG" 1 4096
need_int --runs "$RUNS" 1 20
need_int --seconds "$SECS" 1 600
concurrency_list "$CONC"

BUILD=${DPW_BUILD:-$SRC/build}
CONNCLOSE=$BUILD/apps/connclose/dpwsk-connclose
LCONNCLOSE=$BUILD/bench/linux-connclose
SERVER=$BUILD/bench/linux-server
for p in "$CONNCLOSE" "$LCONNCLOSE" "$SERVER"; do [ -x "$p" ] || die "$p is not built"; done
for p in nstat taskset; do command -v "$p" >/dev/null || die "$p not found"; done

if [ -z "${DPW_NS_STACK:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	export DPW_BUILD=$BUILD
	exec bash "$SRC/scripts/netns.sh" run bash "$0" "${ARGS[@]}"
fi

mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-syndrop.XXXXXX")
PIDS=()
cleanup() { peer_stop_all; kaddr_del; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'echo "syndrop.sh: interrupted" >&2; exit 130' INT TERM

CPU_CLIENT=0 CPU_SERVER=1
[ "$(nproc)" -ge 2 ] || CPU_SERVER=0
PORT=5002
HZ=$(getconf CLK_TCK)
LIMIT=$((SECS + 60))
ip netns exec "$DPW_NS_STACK" sysctl -qw net.ipv4.ip_local_port_range="10000 60999"
TXT=$TMP/syndrop.txt
say() { echo "$@" | tee -a "$TXT"; }
jnum() { [ -n "$1" ] && echo "$1" || echo null; }
FAILS=0 COLLAPSED=0 ROWS=() RATIOS=()

# one CLIENT C: a fresh server, one client run against it; the rate in RATE.
one() {
	local client=$1 c=$2 f=$TMP/$1.$2.out sf=$TMP/server.$1.$2.out rc=0 spid s0 s1 t0 t1 wall
	local lo0 ld0 lo1 ld1 sr0=0 sr1=0 retx fails rate p99 max accepted scpu backoff
	peer_launch "$sf" "$DPW_NS_PEER" $((LIMIT + 30)) taskset -c "$CPU_SERVER" "$SERVER" \
		--port "$PORT" --mode echo --backlog "$BACKLOG" --max-time $((LIMIT + 20))
	spid=$LAST_PID
	wait_line "$sf" '^linux-server: listening' "$spid" 10 || { cat "$sf" >&2; die "linux-server did not start"; }
	lo0=$(counter "$DPW_NS_PEER" TcpExtListenOverflows)
	ld0=$(counter "$DPW_NS_PEER" TcpExtListenDrops)
	s0=$(cpu_ticks "$(pgrep -P "$spid" | head -n1)")
	t0=$(date +%s.%N)
	if [ "$client" = linux ]; then
		kaddr_add
		sr0=$(counter "$DPW_NS_STACK" TcpExtTCPSynRetrans)
		peer_launch "$f" "$DPW_NS_STACK" "$LIMIT" taskset -c "$CPU_CLIENT" "$LCONNCLOSE" \
			--duration "$SECS" --concurrency "$c" --mode rst --json "$DPW_IP_PEER:$PORT"
	else
		peer_launch "$f" "$DPW_NS_STACK" "$LIMIT" "$CONNCLOSE" --iface "$DPW_IF_STACK" \
			--ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores "$CPU_CLIENT" \
			--duration "$SECS" --concurrency "$c" --mode rst --json "$DPW_IP_PEER:$PORT"
	fi
	wait "$LAST_PID" || rc=$?
	peer_stop "$LAST_PID" 1
	t1=$(date +%s.%N)
	s1=$(cpu_ticks "$(pgrep -P "$spid" | head -n1)")
	if [ "$client" = linux ]; then
		sr1=$(counter "$DPW_NS_STACK" TcpExtTCPSynRetrans)
		kaddr_del
		retx=$((sr1 - sr0))
	else
		retx=$(sed -n 's/^dpwsk: stats .* tcp_retransmits=\([0-9]*\).*/\1/p' "$f" | tail -n1)
	fi
	lo1=$(counter "$DPW_NS_PEER" TcpExtListenOverflows)
	ld1=$(counter "$DPW_NS_PEER" TcpExtListenDrops)
	peer_stop "$spid" 10
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	scpu=$(awk -v t=$((s1 - s0)) -v w="$wall" -v h="$HZ" 'BEGIN { printf "%.0f", 100 * t / (w * h) }')
	accepted=$(sed -n 's/^linux-server: accepted=\([0-9]*\).*/\1/p' "$sf" | tail -n1)
	rate=$(jget "$f" conn_per_s)
	fails=$(jget "$f" errors)
	p99=$(jconnect "$f" p99)
	max=$(jconnect "$f" max)
	if [ "$rc" != 0 ] && backoff=$(backoff_verdict "$f" $((ld1 - ld0))); then
		say "  $client c=$c: $backoff (the run stands)"   # dropping SYNs is this server's job
	elif [ "$rc" != 0 ] || [ -z "$rate" ]; then
		FAILS=$((FAILS + 1)); echo "  FAILED: $client c=$c status $rc" >&2; tail -n 5 "$f" >&2
	fi
	say "$(printf '  [%d/%d] %-16s c=%-4s %9s conn/s  connect p99 %9s us max %9s us  failures %-4s SYN rexmit %-6s server: accepted %-7s overflows %-6s drops %-6s CPU %3s%%' \
		"$run" "$RUNS" "$client-connclose" "$c" "${rate:-?}" "${p99:-?}" "${max:-?}" "${fails:-?}" "${retx:-?}" \
		"${accepted:-?}" $((lo1 - lo0)) $((ld1 - ld0)) "$scpu")"
	ROWS+=("{\"run\":$run,\"client\":\"$client-connclose\",\"concurrency\":$c,\"conn_per_s\":$(jnum "$rate"),\"connect_p99_us\":$(jnum "$p99"),\"connect_max_us\":$(jnum "$max"),\"connect_failures\":$(jnum "$fails"),\"syn_retransmits\":$(jnum "$retx"),\"server_accepted\":$(jnum "$accepted"),\"listen_overflows\":$((lo1 - lo0)),\"listen_drops\":$((ld1 - ld0)),\"server_cpu_pct\":$scpu,\"status\":$rc}")
	RATE=${rate:-}
	ACCEPTED=${accepted:-}
}

say "syndrop.sh: $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), build $BUILD"
say "connect/close (rst) -> linux-server --backlog $BACKLOG (its accept queue overflows), ${SECS}s a run"
declare -A RATES ACCS
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "";
	else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for ((run = 1; run <= RUNS; run++)); do
	for c in "${CONCS[@]}"; do
		for client in linux dpwsk; do
			one "$client" "$c"
			RATES[$client,$c]="${RATES[$client,$c]:-} $RATE"
			ACCS[$client,$c]="${ACCS[$client,$c]:-} $ACCEPTED"
		done
	done
done
say "medians of $RUNS runs:"
for c in "${CONCS[@]}"; do
	lr=$(echo "${RATES[linux,$c]}" | median)
	dr=$(echo "${RATES[dpwsk,$c]}" | median)
	r=$(awk -v a="$dr" -v b="$lr" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "null" }')
	la=$(echo "${ACCS[linux,$c]}" | median)
	da=$(echo "${ACCS[dpwsk,$c]}" | median)
	ar=$(awk -v a="$da" -v b="$la" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "null" }')
	# Judged by the lower of the two ratios: cycles the client completed, connections the
	# server accepted (a cycle whose handshake ACK the server dropped completes at the client
	# and is never seen by the server).
	worst=$(awk -v a="$r" -v b="$ar" 'BEGIN { if (a == "null" || b == "null") print "null"; else print (a < b ? a : b) }')
	verdict="holds the server's capacity"
	if [ "$worst" = null ]; then verdict="no figure"
	elif awk -v r="$worst" 'BEGIN { exit !(r < 0.5) }'; then verdict="COLLAPSES"; COLLAPSED=1
	elif awk -v r="$worst" 'BEGIN { exit !(r < 0.9) }'; then verdict="below the server's capacity"
	fi
	say "  c=$c: cycles/s: linux-connclose $lr, dpwsk-connclose $dr (${r}x); accepted by the server in a run: $la, $da (${ar}x): dpwsk $verdict"
	RATIOS+=("{\"concurrency\":$c,\"linux_conn_per_s\":$(jnum "$lr"),\"dpwsk_conn_per_s\":$(jnum "$dr"),\"linux_server_accepted\":$(jnum "$la"),\"dpwsk_server_accepted\":$(jnum "$da"),\"accepted_ratio\":$ar,\"ratio_dpwsk_linux\":$r,\"verdict\":\"$verdict\"}")
done
say "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); failed runs: $FAILS"
(IFS=,; printf '{"date":"%s","cpus":%d,"backlog":%d,"seconds":%d,"runs":%d,"build":"%s","measurements":[%s],"ratios":[%s]}\n' \
	"$(date -u +%FT%TZ)" "$(nproc)" "$BACKLOG" "$SECS" "$RUNS" "$BUILD" "${ROWS[*]}" "${RATIOS[*]}") >"$OUT/syndrop.json"
cp "$TXT" "$OUT/syndrop.txt"
echo "wrote $OUT/syndrop.json, $OUT/syndrop.txt"
[ $FAILS = 0 ] || exit 1
[ $COLLAPSED = 0 ] || exit 3
