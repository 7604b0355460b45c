#!/bin/bash
# bench/nginx.sh: dpwsk against Debian's nginx (issue 11), on a fresh namespace topology
# (scripts/netns.sh: one veth; the stack's end 198.18.0.2, the peer's 198.18.0.1). In one run:
#
#   1. HTTP: `ab -n N -c 64` (HTTP/1.0, a connection per request) and `wrk -t 1 -c 64 -d T`
#      (keep-alive) against dpwsk-httpd (DPDK net_af_packet on the stack's end, the client in
#      the peer's namespace) and against nginx (1 worker, kernel stack, the peer's namespace,
#      the client in the stack's namespace, whose kernel gets the stack's address for it).
#      Both serve the same 13-byte file from the same directory.
#   2. connect/close → that nginx, mode rst, c = 1, 4, 16, 64, 256: dpwsk-connclose vs
#      linux-connclose (kernel sockets in the stack's namespace), T seconds each.
#
# Placement (2 CPUs): every client on CPU 0, every server on CPU 1 (dpwsk's lcore, nginx's
# worker_cpu_affinity). Per run it prints the rate, the ratio dpwsk/kernel, the CPU share the
# peer used (nginx's worker; the HTTP client), the machine's busy share, and which side was
# saturated: dpwsk busy-polls, so its own CPU says nothing; a peer at >= 90% of its core is the
# bottleneck, and the output says so. Also the nginx side's ListenOverflows/ListenDrops and the
# clients' SYN retransmissions. HTTP figures are one run each (the machine may be shared: the
# load average is printed).
#
#   bench/nginx.sh [--requests N] [--seconds T] [--runs R] [--concurrency 1,4,16,64,256]
#                  [--only http,connclose] [--out DIR]       (as root)
#   defaults: N = 20000, T = 5, R = 3, out bench/results (nginx.txt, nginx.json)
#   The connect/close runs interleave the clients R times; the ratios are of the medians.
#   DPW_BUILD=DIR picks the build (default build/; measure an optimized, unsanitized one).
# Every client run is bounded by timeout(1); every process started here is stopped by PID.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ARGS=("$@")
. "$SRC/bench/lib.sh"
. "$SRC/bench/peer_lib.sh"
die() { echo "nginx.sh: $*" >&2; exit 2; }

REQS=20000 SECS=5 RUNS=3 CONC=1,4,16,64,256 ONLY=http,connclose OUT=$SRC/bench/results
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--requests) REQS=$2 ;;
	--seconds) SECS=$2 ;;
	--runs) RUNS=$2 ;;
	--concurrency) CONC=$2 ;;
	--only) ONLY=$2 ;;
	--out) OUT=$2 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift 2
done
need_int --requests "$REQS" 64 10000000
need_int --runs "$RUNS" 1 20
need_int --seconds "$SECS" 1 600
concurrency_list "$CONC"
has() { [[ ",$ONLY," == *",$1,"* ]]; }

BUILD=${DPW_BUILD:-$SRC/build}
HTTPD=$BUILD/apps/httpd/dpwsk-httpd
CONNCLOSE=$BUILD/apps/connclose/dpwsk-connclose
LCONNCLOSE=$BUILD/bench/linux-connclose
for p in "$HTTPD" "$CONNCLOSE" "$LCONNCLOSE"; do [ -x "$p" ] || die "$p is not built"; done
for p in nginx ab wrk nstat taskset; do
	command -v "$p" >/dev/null || die "$p not found (scripts/setup.sh installs nginx, apache2-utils, wrk)"
done

if [ -z "${DPW_NS_STACK:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	export DPW_BUILD=$BUILD
	exec bash "$SRC/scripts/netns.sh" run bash "$0" "${ARGS[@]}"
fi

mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-nginx.XXXXXX")
chmod 755 "$TMP"
PIDS=()
cleanup() {
	peer_stop_all
	kaddr_del
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "nginx.sh: interrupted" >&2; exit 130' INT TERM

CPU_CLIENT=0 CPU_SERVER=1
[ "$(nproc)" -ge 2 ] || CPU_SERVER=0
PORT=8080
HZ=$(getconf CLK_TCK)
LIMIT=$((SECS + 60))
BUDGET=$((SECS * 40 + REQS / 100 + 600))
mkdir -p "$TMP/www"
printf 'Hello, dpwsk\n' >"$TMP/www/index.html"
chmod -R a+rX "$TMP/www"
for ns in "$DPW_NS_STACK" "$DPW_NS_PEER"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 60999"
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
done
ip netns exec "$DPW_NS_PEER" sysctl -qw net.core.somaxconn=4096
FAILS=0
fail() { FAILS=$((FAILS + 1)); echo "  FAILED: $1" >&2; [ -f "${2:-}" ] && tail -n 5 "$2" | sed 's/^/    | /' >&2; return 0; }

# The machine's CPU: "busy total" jiffies from /proc/stat, for its busy share over a run.
machine() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "null" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else print "null" }'; }
jnum() { [ -n "$1" ] && echo "$1" || echo null; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "";
	else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
TXT=$TMP/nginx.txt
say() { echo "$@" | tee -a "$TXT"; }
J_HTTP=() J_CC=()
declare -A HTTP_RATE

# -- the servers ------------------------------------------------------------------------------

HTTPD_PID=
httpd_start() {
	peer_launch "$TMP/httpd.out" "$DPW_NS_STACK" "$BUDGET" "$HTTPD" --iface "$DPW_IF_STACK" \
		--ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores "$CPU_SERVER" --http-port "$PORT" --root "$TMP/www"
	HTTPD_PID=$LAST_PID
	wait_line "$TMP/httpd.out" '^dpwsk: ready ' "$HTTPD_PID" 20 ||
		{ cat "$TMP/httpd.out" >&2; die "dpwsk-httpd did not start"; }
}
httpd_stop() { [ -z "$HTTPD_PID" ] || peer_stop "$HTTPD_PID" 20; HTTPD_PID=; }

# -- 1. HTTP -----------------------------------------------------------------------------------

# http_run TOOL SERVER NS TARGET: one ab or wrk run from NS; appends a row to J_HTTP.
http_run() {
	local tool=$1 server=$2 ns=$3 url=http://$4/index.html f=$TMP/$1.$2.out rc=0
	local m0 m1 s0=0 s1=0 rate fails p99 cticks wall t0 t1 scpu ccpu mbusy verdict
	m0=$(machine)
	[ "$server" = nginx ] && s0=$(cpu_ticks "$NGINX_WORKER")
	t0=$(date +%s.%N)
	if [ "$tool" = ab ]; then
		peer_launch "$f" "$ns" "$LIMIT" "${CHILD_CPU[@]}" taskset -c "$CPU_CLIENT" \
			ab -q -n "$REQS" -c 64 -s 10 "$url"
	else
		peer_launch "$f" "$ns" "$LIMIT" "${CHILD_CPU[@]}" taskset -c "$CPU_CLIENT" \
			wrk -t 1 -c 64 -d "${SECS}s" --timeout 2s --latency "$url"
	fi
	wait "$LAST_PID" || rc=$?
	peer_stop "$LAST_PID" 1
	t1=$(date +%s.%N)
	[ "$server" = nginx ] && s1=$(cpu_ticks "$NGINX_WORKER")
	m1=$(machine)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	if [ "$tool" = ab ]; then
		rate=$(awk '/^Requests per second:/ { print $4 }' "$f")
		fails=$(awk '/^Failed requests:/ { f = $3 } /^Non-2xx responses:/ { n = $3 } END { print f + n }' "$f")
		p99=$(awk '$1 == "99%" { print $2 * 1000 }' "$f")
	else
		rate=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
		fails=$(awk '/Socket errors:/ { gsub(",", ""); e = $4 + $6 + $8 + $10 } /Non-2xx/ { n = $NF }
			END { print e + n }' "$f")
		p99=$(awk '$1 == "99%" { v = $2; u = 1; if (v ~ /us$/) u = 1; else if (v ~ /ms$/) u = 1000;
			else if (v ~ /s$/) u = 1000000; sub(/[a-z]+$/, "", v); print v * u }' "$f")
	fi
	cticks=$(awk '/^child_cpu_ticks / { print $2 }' "$f")
	ccpu=$(pct "${cticks:-0}" "$(awk -v w="$wall" -v h="$HZ" 'BEGIN { print w * h }')")
	if [ "$server" = nginx ]; then
		scpu=$(pct $((s1 - s0)) "$(awk -v w="$wall" -v h="$HZ" 'BEGIN { print w * h }')")
	else
		scpu=polls
	fi
	mbusy=$(awk -v a="$m0" -v b="$m1" 'BEGIN { split(a, x, " "); split(b, y, " ");
		if (y[2] > x[2]) printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]); else print "null" }')
	verdict=-
	if [ "$ccpu" != null ] && [ "$ccpu" -ge 90 ]; then verdict="the client ($tool) is saturated"
	elif [ "$scpu" != polls ] && [ "$scpu" -ge 90 ]; then verdict="nginx is saturated"
	elif [ "$mbusy" != null ] && [ "$mbusy" -ge 95 ]; then verdict="the machine is saturated"
	fi
	[ "$rc" = 0 ] && [ -n "$rate" ] || fail "$tool -> $server: status $rc" "$f"
	say "$(printf '  %-4s -> %-12s %10s req/s  p99 %8s us  failed %-5s client CPU %4s%%  server CPU %5s%s  machine %3s%%  %s' \
		"$tool" "$server" "${rate:-?}" "${p99:-?}" "${fails:-?}" "$ccpu" "$scpu" \
		"$([ "$scpu" = polls ] || echo %)" "$mbusy" "$verdict")"
	J_HTTP+=("{\"tool\":\"$tool\",\"server\":\"$server\",\"req_per_s\":$(jnum "$rate"),\"p99_us\":$(jnum "$p99"),\"failed\":$(jnum "$fails"),\"client_cpu_pct\":$ccpu,\"server_cpu_pct\":$([ "$scpu" = polls ] && echo null || echo "$scpu"),\"machine_busy_pct\":$mbusy,\"bottleneck\":\"$verdict\",\"status\":$rc}")
	HTTP_RATE[$tool,$server]=${rate:-}
}

say "nginx.sh: $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), build $BUILD"
say "  $(nginx -v 2>&1), $(ab -V | head -n1), $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
say "  clients on CPU $CPU_CLIENT, servers on CPU $CPU_SERVER; HTTP: one run per figure; connect/close: $RUNS runs"

if has http; then
	say ""
	say "1. HTTP, 13-byte file: ab -n $REQS -c 64 (a connection per request), wrk -t 1 -c 64 -d ${SECS}s (keep-alive)"
	httpd_start
	http_run ab dpwsk-httpd "$DPW_NS_PEER" "$DPW_IP_STACK:$PORT"
	http_run wrk dpwsk-httpd "$DPW_NS_PEER" "$DPW_IP_STACK:$PORT"
	httpd_stop
	nginx_start "$DPW_NS_PEER" "$TMP" "$DPW_IP_PEER" "$PORT" "$CPU_SERVER" 511 "$BUDGET" || die "nginx"
	kaddr_add
	http_run ab nginx "$DPW_NS_STACK" "$DPW_IP_PEER:$PORT"
	http_run wrk nginx "$DPW_NS_STACK" "$DPW_IP_PEER:$PORT"
	kaddr_del
	nginx_stop
	say "  dpwsk-httpd / nginx: ab $(ratio "${HTTP_RATE[ab,dpwsk-httpd]}" "${HTTP_RATE[ab,nginx]}")x, wrk $(ratio "${HTTP_RATE[wrk,dpwsk-httpd]}" "${HTTP_RATE[wrk,nginx]}")x (target: >= 1)"
fi

# -- 2. connect/close -> nginx ------------------------------------------------------------------

# cc_run CLIENT C: one connclose run against nginx; appends a row to J_CC; its rate in CC_RATE.
cc_run() {
	local client=$1 c=$2 f=$TMP/cc.$1.$2.out rc=0 s0 s1 lo0 ld0 lo1 ld1 sr0=0 sr1=0 t0 t1 wall
	local rate errs p99 max retx scpu verdict backoff
	s0=$(cpu_ticks "$NGINX_WORKER")
	lo0=$(counter "$DPW_NS_PEER" TcpExtListenOverflows)
	ld0=$(counter "$DPW_NS_PEER" TcpExtListenDrops)
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
	if [ "$client" = linux ]; then
		sr1=$(counter "$DPW_NS_STACK" TcpExtTCPSynRetrans)
		kaddr_del
		retx=$((sr1 - sr0))
	else
		retx=$(sed -n 's/^dpwsk: stats .* tcp_retransmits=\([0-9]*\).*/\1/p' "$f" | tail -n1)
	fi
	s1=$(cpu_ticks "$NGINX_WORKER")
	lo1=$(counter "$DPW_NS_PEER" TcpExtListenOverflows)
	ld1=$(counter "$DPW_NS_PEER" TcpExtListenDrops)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	rate=$(jget "$f" conn_per_s)
	errs=$(jget "$f" errors)
	p99=$(jconnect "$f" p99)
	max=$(jconnect "$f" max)
	# nginx's share of its core over the client's whole run (start-up included: a lower bound)
	scpu=$(pct $((s1 - s0)) "$(awk -v w="$wall" -v h="$HZ" 'BEGIN { print w * h }')")
	verdict=-
	[ "$scpu" != null ] && [ "$scpu" -ge 90 ] && verdict="nginx (the peer) is saturated"
	if [ "$rc" != 0 ] && backoff=$(backoff_verdict "$f" $((ld1 - ld0))); then
		verdict="nginx: $backoff"
	elif [ "$rc" != 0 ] || [ -z "$rate" ]; then
		fail "$client-connclose c=$c: status $rc" "$f"
	fi
	say "$(printf '  [%d/%d] %-16s c=%-4s %9s conn/s  connect p99 %9s us max %9s us  errors %-4s SYN rexmit %-5s listen drops %-5s nginx CPU %3s%%  %s' \
		"$run" "$RUNS" "$client-connclose" "$c" "${rate:-?}" "${p99:-?}" "${max:-?}" "${errs:-?}" "${retx:-?}" \
		"$((ld1 - ld0))" "$scpu" "$verdict")"
	J_CC+=("{\"run\":$run,\"client\":\"$client-connclose\",\"concurrency\":$c,\"conn_per_s\":$(jnum "$rate"),\"connect_p99_us\":$(jnum "$p99"),\"connect_max_us\":$(jnum "$max"),\"errors\":$(jnum "$errs"),\"syn_retransmits\":$(jnum "$retx"),\"listen_overflows\":$((lo1 - lo0)),\"listen_drops\":$((ld1 - ld0)),\"nginx_cpu_pct\":$scpu,\"bottleneck\":\"$verdict\",\"status\":$rc}")
	CC_RATE=${rate:-}
}

if has connclose; then
	say ""
	say "2. connect/close (rst) -> nginx, ${SECS}s a run: dpwsk-connclose vs linux-connclose"
	nginx_start "$DPW_NS_PEER" "$TMP" "$DPW_IP_PEER" "$PORT" "$CPU_SERVER" 511 "$BUDGET" || die "nginx"
	RATIOS=()
	declare -A RATES
	for ((run = 1; run <= RUNS; run++)); do
		for c in "${CONCS[@]}"; do
			for client in linux dpwsk; do
				cc_run "$client" "$c"
				RATES[$client,$c]="${RATES[$client,$c]:-} $CC_RATE"
			done
		done
	done
	nginx_stop
	say "  medians of $RUNS runs, conn/s:"
	for c in "${CONCS[@]}"; do
		lr=$(echo "${RATES[linux,$c]}" | median)
		dr=$(echo "${RATES[dpwsk,$c]}" | median)
		say "$(printf '    c=%-4s linux-connclose %9s  dpwsk-connclose %9s  dpwsk/linux %sx' "$c" "$lr" "$dr" "$(ratio "$dr" "$lr")")"
		RATIOS+=("c=$c $(ratio "$dr" "$lr")x")
		J_CC+=("{\"concurrency\":$c,\"median_linux_conn_per_s\":$(jnum "$lr"),\"median_dpwsk_conn_per_s\":$(jnum "$dr"),\"ratio_dpwsk_linux\":$(ratio "$dr" "$lr")}")
	done
	say "  dpwsk / linux: ${RATIOS[*]} (target: >= 1 at every concurrency)"
fi

say ""
say "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); failed runs: $FAILS"
{
	printf '{"date":"%s","cpus":%d,"requests":%d,"seconds":%d,"runs":%d,"build":"%s","load_end":"%s","failed_runs":%d,' \
		"$(date -u +%FT%TZ)" "$(nproc)" "$REQS" "$SECS" "$RUNS" "$BUILD" "$(cut -d' ' -f1-3 /proc/loadavg)" "$FAILS"
	(IFS=,; printf '"http":[%s],"connclose":[%s]}\n' "${J_HTTP[*]}" "${J_CC[*]}")
} >"$OUT/nginx.json"
cp "$TXT" "$OUT/nginx.txt"
echo "wrote $OUT/nginx.json, $OUT/nginx.txt"
[ $FAILS = 0 ]
