#!/bin/bash
# bench/run.sh: the benchmark (issue 5), one command. On a fresh namespace topology
# (scripts/netns.sh: stack 198.18.0.2, Linux peer 198.18.0.1, one veth pair), in one run:
#
#   1. connect/close rate and CPU time per connection, at each concurrency, of three clients:
#        Linux -> Linux        linux-connclose (stack namespace, kernel sockets) -> linux-server
#        dpwsk -> Linux        dpwsk-connclose (dpwsk over net_af_packet)       -> linux-server
#        dpwsk -> dpwsk        dpwsk-connclose -> dpwsk-echo, a second DPDK process on the
#                              peer's end of the veth (198.18.0.3, an address no kernel has)
#   2. the link's own packet-rate ceiling: dpdk-testpmd txonly on the stack's end, rxonly on
#      the peer's, both net_af_packet on the same veth (framecnt=4096, as dpwsk); the rate the
#      far side received. Each connection rate is shown as a share of ceiling / packets per
#      cycle (measured: dpwsk-connclose's engine rx+tx packets over its cycles)
#   3. request/response latency: 1-byte ping-pong on one persistent connection, p50/p99:
#      dpwsk-bench-rr and linux-rr (epoll, sleeping and spinning) -> linux-server --mode echo,
#      and dpwsk-bench-rr -> dpwsk-echo
#   4. bulk throughput of one connection: dpwsk-bench-rr / linux-rr --mode bulk -> linux-server
#      --mode discard
#   5. nginx: bench/nginx.sh (dpwsk-httpd vs Debian's nginx under ab and wrk; dpwsk-connclose
#      vs linux-connclose -> nginx), its own nginx.txt/nginx.json in the --out directory
#   6. syndrop: bench/syndrop.sh (both clients -> a Linux server whose accept queue overflows)
# Every figure is the median of R runs of D seconds (the runs interleave the configurations);
# the table shows the ratios stack/kernel and the issue's targets (MET/MISSED).
#
#   sudo bench/run.sh [--runs R] [--seconds D] [--quick] [--out DIR] [--build DIR]
#                     [--concurrency 1,16,...] [--mode rst|graceful|exchange]
#                     [--only ceiling,connclose,rr,bulk,nginx,syndrop] [--raw DIR]
#
#   --runs R         runs per configuration (default 3)      --seconds D   each run (default 3)
#   --quick          R=1, D=1, concurrency 1 and 16 (the smoke test); explicit options win
#   --out DIR        where latest.json, latest.txt, latest.png go (default bench/results)
#   --build DIR      the build to measure (default $DPW_BUILD or build/); use an optimized,
#                    unsanitized one: a sanitized build is measured but flagged as such
#   --concurrency L  connections in flight (default 1,16,64,256)
#   --mode M         connclose's cycle (default rst: connect, then close abortively)
#   --only LIST      a subset of the sections (e.g. --only connclose --mode graceful)
#   --raw DIR        keep every program's own output there (for a closer look)
# Progress goes to stdout as it runs; then the table (also latest.txt) and the total time.
# Exit status 0 if every measurement ran and reported no error, 1 otherwise, 2 on bad usage.
#
# Placement (2 CPUs A=0, B=1): dpwsk-connclose and dpwsk-bench-rr poll on CPU B, dpwsk-echo
# on CPU A; testpmd's tx forwarding core on B, its rx core on A, likewise. Linux's programs
# are not pinned. dpwsk's lcore busy-polls: its CPU time per connection includes idle passes.
# The Linux client runs in the stack's namespace over the same veth: the kernel is given the
# stack's address for those runs only, while no dpwsk process runs there.
# On a shared machine the figures move run to run: the JSON records the load average at the
# start and end of the run.
# Run from inside a topology already (DPW_NS_STACK set: scripts/netns.sh run, a test), it
# uses that one. Connection rates alone, another cycle, other concurrencies:
#   sudo bench/run.sh --only connclose --mode graceful --concurrency 1,16,64,256 --seconds 5
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ARGS=("$@")
. "$SRC/bench/lib.sh"   # alive, wait_line

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }

RUNS='' SECS='' CONC='' QUICK=0
OUT=$SRC/bench/results
BUILD=${DPW_BUILD:-$SRC/build}
MODE=rst
ONLY=ceiling,connclose,rr,bulk,nginx,syndrop
KEEP_RAW=
while [ $# -gt 0 ]; do
	case "$1" in
	--runs | --seconds | --out | --build | --concurrency | --mode | --only | --raw)
		[ $# -ge 2 ] || die "$1 needs a value"
		case "$1" in
		--runs) RUNS=$2 ;;
		--seconds) SECS=$2 ;;
		--out) OUT=$2 ;;
		--build) BUILD=$2 ;;
		--concurrency) CONC=$2 ;;
		--mode) MODE=$2 ;;
		--only) ONLY=$2 ;;
		--raw) KEEP_RAW=$2 ;;
		esac
		shift ;;
	--quick) QUICK=1 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option '$1' (--help lists them)" ;;
	esac
	shift
done
if [ $QUICK = 1 ]; then
	RUNS=${RUNS:-1} SECS=${SECS:-1} CONC=${CONC:-1,16}
fi
RUNS=${RUNS:-3} SECS=${SECS:-3} CONC=${CONC:-1,16,64,256}
[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 50 ] ||
	die "--runs: '$RUNS' is not a whole number from 1 to 50"
[[ "$SECS" =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v s="$SECS" 'BEGIN { exit !(s >= 0.5 && s <= 600) }' ||
	die "--seconds: '$SECS' is not a number of seconds from 0.5 to 600"
[[ "$CONC" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--concurrency: '$CONC' is not a list like 1,16,64"
IFS=, read -r -a CONCS <<<"$CONC"
for c in "${CONCS[@]}"; do
	[ "$c" -ge 1 ] && [ "$c" -le 16384 ] || die "--concurrency: $c is not from 1 to 16384"
done
case "$MODE" in rst | graceful | exchange) ;; *) die "--mode: '$MODE' is not rst, graceful or exchange" ;; esac
[[ "$ONLY" =~ ^[a-z]+(,[a-z]+)*$ ]] || die "--only: '$ONLY' is not a list like connclose,rr"
IFS=, read -r -a SECTIONS <<<"$ONLY"
for s in "${SECTIONS[@]}"; do
	case "$s" in ceiling | connclose | rr | bulk | nginx | syndrop) ;;
	*) die "--only: no section '$s' (ceiling, connclose, rr, bulk, nginx, syndrop)" ;; esac
done
has() { [[ ",$ONLY," == *",$1,"* ]]; }

# Enter a fresh topology; netns.sh deletes it (and whatever still runs in it) when we end.
if [ -z "${DPW_NS_STACK:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET): sudo bench/run.sh"
	export DPW_BUILD=$BUILD
	exec bash "$SRC/scripts/netns.sh" run bash "$0" "${ARGS[@]}"
fi

T_START=$(date +%s.%N)
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die "no build directory '$BUILD'"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || die "cannot create '$OUT'"
if [ -n "$KEEP_RAW" ]; then
	mkdir -p "$KEEP_RAW" && KEEP_RAW=$(cd "$KEEP_RAW" && pwd) || die "cannot create '$KEEP_RAW'"
fi
CONNCLOSE=$BUILD/apps/connclose/dpwsk-connclose
LCONNCLOSE=$BUILD/bench/linux-connclose
SERVER=$BUILD/bench/linux-server
ECHO=$BUILD/apps/echo/dpwsk-echo
RR=$BUILD/bench/dpwsk-bench-rr
LRR=$BUILD/bench/linux-rr
for p in "$CONNCLOSE" "$LCONNCLOSE" "$SERVER" "$ECHO" "$RR" "$LRR"; do
	[ -x "$p" ] || die "$p is not built (ninja -C $BUILD)"
done
if has ceiling; then
	command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (Debian package dpdk: scripts/setup.sh)"
fi
# Debian's interpreter: python3-matplotlib (scripts/setup.sh) is installed for it, and a
# python3 found first on PATH (a virtualenv, pyenv) may not have it.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || die "python3 not found"

CPU_A=0 CPU_B=1
[ "$(nproc)" -ge 2 ] || CPU_B=0
ECHO_IP=198.18.0.3
PORT_ECHO=5000 PORT_DISCARD=5001
SECS_INT=$(awk -v s="$SECS" 'BEGIN { printf "%d", s + 0.999 }')
RUN_LIMIT=$((SECS_INT + 40))   # one measurement: start-up, D, the 5 s drain, and a margin
BUDGET=$((RUNS * (SECS_INT * 40 + 240) + 300))   # servers: the whole run, generously

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-bench.XXXXXX")
RAW=$TMP/raw
mkdir -p "$RAW"
MANIFEST=$TMP/manifest
: >"$MANIFEST"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- processes: every one started here is tracked by PID and stopped by the trap ----------------

PIDS=()
KADDR=0
track() { PIDS+=("$1"); }
untrack() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
# stop_pid PID SIGNAL SECONDS: the signal, a bounded wait, then SIGKILL; its status in STOP_RC.
stop_pid() {
	local i
	STOP_RC=
	alive "$1" && kill -"$2" "$1" 2>/dev/null
	for ((i = 0; i < $3 * 20; i++)); do
		alive "$1" || break
		sleep 0.05
	done
	alive "$1" && kill -KILL "$1" 2>/dev/null
	STOP_RC=0
	wait "$1" 2>/dev/null || STOP_RC=$?
	untrack "$1"
}
kaddr_del() {
	[ $KADDR = 1 ] || return 0
	ip -n "$DPW_NS_STACK" addr del "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK" 2>/dev/null || true
	KADDR=0
}
cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p" TERM 5; done
	kaddr_del
	# testpmd leaves its EAL runtime directory behind (empty with --no-shconf): ours by name.
	rm -rf "/var/run/dpdk/dpw-bench-rx-$$" "/var/run/dpdk/dpw-bench-tx-$$"
	[ -n "$KEEP_RAW" ] && cp -r "$RAW/." "$TMP/manifest" "$KEEP_RAW/" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

# launch OUT NS LIMIT CMD...: CMD in namespace NS in the background, output to OUT, ended by
# timeout(1) after LIMIT seconds at the latest. LAST_PID is timeout's PID: a signal to it
# reaches CMD (ip netns exec execs CMD), and it exits with CMD's status.
launch() {
	local out=$1 ns=$2 limit=$3
	shift 3
	timeout -k 5 "$limit" ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null &
	LAST_PID=$!
	track "$LAST_PID"
}
FAILS=0
failed() {   # failed WHAT FILE: say so, show the end of its output
	FAILS=$((FAILS + 1))
	echo "  FAILED: $1" >&2
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -n 5 "$2" | sed 's/^/    | /' >&2
	return 0
}

# --- what each measurement runs ------------------------------------------------------------------

# middle: its input lines less the first and the last, if there are 3 or more.
middle() { awk '{ v[NR] = $0 } END { for (i = 1; i <= NR; i++) if (NR < 3 || (i > 1 && i < NR)) print v[i] }'; }
# median: of numbers, one a line (0 if none).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2];
	else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# jget FILE KEY: a number from the last JSON summary line of FILE.
jget() { grep '^{' "$1" 2>/dev/null | tail -n1 | sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p"; }
veth_snap() { ip -n "$DPW_NS_STACK" -s -j link show dev "$DPW_IF_STACK" >"$1" 2>/dev/null || echo '[]' >"$1"; }
# The peer kernel's TCP counters: a listener that could not keep up drops SYNs (ListenDrops),
# and a dropped SYN costs the client its initial retransmission timeout (1 s in Linux, 3 s in
# lwIP): the summary shows them next to the rates they explain.
peer_snap() { ip netns exec "$DPW_NS_PEER" cat /proc/net/netstat >"$1" 2>/dev/null || : >"$1"; }

# measure KIND CLIENT CONC RUN NS CMD...: one run to completion; its output and the stack
# veth's counters before and after in RAW, a manifest line for the summary, a progress line.
measure() {
	local kind=$1 client=$2 conc=$3 run=$4 ns=$5 rc=0 f
	shift 5
	f=$RAW/$kind.$client.$conc.$run
	printf '  [run %d/%d] %-9s %-14s %-5s ' "$run" "$RUNS" "$kind" "$client" \
		"$([ "$conc" = - ] && echo "" || echo "c=$conc")"
	veth_snap "$f.v0"
	peer_snap "$f.n0"
	launch "$f.out" "$ns" "$RUN_LIMIT" "$@"
	wait "$LAST_PID" || rc=$?
	untrack "$LAST_PID"
	veth_snap "$f.v1"
	peer_snap "$f.n1"
	echo "$kind $client $conc $run $rc" >>"$MANIFEST"
	case $kind in
	connclose) printf '%9s conn/s %9s us CPU/conn' "$(jget "$f.out" conn_per_s)" \
		"$(jget "$f.out" cpu_us_per_conn)" ;;
	rr) printf '%9s tx/s  p50 %s us  p99 %s us' "$(jget "$f.out" rate)" "$(jget "$f.out" p50_us)" \
		"$(jget "$f.out" p99_us)" ;;
	bulk) printf '%9s MB/s' "$(jget "$f.out" rate)" ;;
	esac
	echo "  errors=$(jget "$f.out" errors)"
	if [ $rc != 0 ] || [ -z "$(jget "$f.out" errors)" ]; then
		failed "$kind $client c=$conc run $run: exit status $rc" "$f.out"
	fi
}

dpwsk_args() { echo --iface "$DPW_IF_STACK" --ip "$DPW_IP_STACK/$DPW_PREFIX" --lcores "$CPU_B"; }

# ceiling RUN: testpmd rxonly on the peer's end, then txonly on the stack's for S seconds.
# testpmd prints its ports' rates once a second (--stats-period 1, "Rx-pps: N" since the last
# print); the ceiling is the median of the rx samples taken while the sender ran wholly (the
# first and last non-zero ones are partial seconds and dropped).
ceiling() {
	local run=$1 f=$RAW/ceiling.$1 s=$((SECS_INT + 2)) rx tx pps txpps rc=0
	[ $s -ge 3 ] || s=3
	local common=(--no-huge --no-pci --no-shconf -m 512)
	local fwd=(--stats-period 1 --nb-cores 1 --total-num-mbufs 32768)
	printf '  [run %d/%d] ceiling   testpmd txonly -> rxonly, %d s ' "$run" "$RUNS" "$s"
	launch "$f.rx" "$DPW_NS_PEER" $((s + 60)) dpdk-testpmd "${common[@]}" \
		--file-prefix "dpw-bench-rx-$$" --lcores "0@$CPU_B,1@$CPU_A" \
		"--vdev=net_af_packet0,iface=$DPW_IF_PEER,framecnt=4096" -- --forward-mode=rxonly "${fwd[@]}"
	rx=$LAST_PID
	if ! wait_line "$f.rx" 'Port statistics' "$rx" 30; then
		echo
		failed "ceiling run $run: testpmd rxonly did not start" "$f.rx"
		stop_pid "$rx" INT 10
		return 0
	fi
	launch "$f.tx" "$DPW_NS_STACK" $((s + 60)) dpdk-testpmd "${common[@]}" \
		--file-prefix "dpw-bench-tx-$$" --lcores "0@$CPU_A,1@$CPU_B" \
		"--vdev=net_af_packet0,iface=$DPW_IF_STACK,framecnt=4096" -- --forward-mode=txonly "${fwd[@]}"
	tx=$LAST_PID
	if wait_line "$f.tx" 'Port statistics' "$tx" 30; then
		sleep "$s"   # the measurement's length
	else
		failed "ceiling run $run: testpmd txonly did not start" "$f.tx"
	fi
	stop_pid "$tx" INT 15
	[ "$STOP_RC" = 0 ] || rc=$STOP_RC
	stop_pid "$rx" INT 15
	[ "$STOP_RC" = 0 ] || rc=$STOP_RC
	pps=$({ grep -a 'Rx-pps:' "$f.rx" || true; } | awk '$2 > 0 { print $2 }' | middle | median)
	txpps=$({ grep -a 'Tx-pps:' "$f.tx" || true; } | awk '$2 > 0 { v[n++] = $2 } END { m = 0
		for (i = 0; i < n; i++) if (v[i] > m) m = v[i]; print m + 0 }')
	echo "$pps packets/s received (sender's peak $txpps/s)"
	echo "ceiling - - $run $rc $pps $txpps" >>"$MANIFEST"
	[ "$rc" = 0 ] && [ "${pps%.*}" -gt 0 ] || failed "ceiling run $run: status $rc, $pps packets/s" "$f.rx"
}

server_start() {   # server_start PORT MODE
	local f=$TMP/server.$1.out
	launch "$f" "$DPW_NS_PEER" "$BUDGET" "$SERVER" --port "$1" --mode "$2" --max-time "$BUDGET"
	eval "SERVER_$1=$LAST_PID"
	wait_line "$f" '^linux-server: listening' "$LAST_PID" 10 ||
		{ cat "$f" >&2; echo "run.sh: linux-server did not start" >&2; exit 1; }
}
server_stop() {
	local pid f=$TMP/server.$1.out
	eval "pid=\${SERVER_$1}"
	stop_pid "$pid" TERM 10
	cp "$f" "$RAW/server.$1.out"
}

ECHO_PID=
echo_start() {   # echo_start RUN
	local f=$RAW/echo.$1.out
	launch "$f" "$DPW_NS_PEER" "$BUDGET" "$ECHO" --iface "$DPW_IF_PEER" --ip "$ECHO_IP/$DPW_PREFIX" \
		--lcores "$CPU_A" --tcp-port 7 --udp-port 0
	ECHO_PID=$LAST_PID
	if ! wait_line "$f" '^dpwsk: ready ' "$ECHO_PID" 20; then
		failed "dpwsk-echo did not start" "$f"
		stop_pid "$ECHO_PID" TERM 10
		ECHO_PID=
		return 1
	fi
}
echo_stop() {   # echo_stop RUN
	[ -n "$ECHO_PID" ] || return 0
	stop_pid "$ECHO_PID" TERM 20
	[ "$STOP_RC" = 0 ] || failed "dpwsk-echo exit status $STOP_RC" "$RAW/echo.$1.out"
	ECHO_PID=
}

# --- the run -----------------------------------------------------------------------------------------

echo "dpwsk benchmark: $RUNS run(s) of $SECS s, concurrency $CONC, mode $MODE, sections $ONLY"
echo "build $BUILD; $(nproc) CPUs, load average $LOAD_START at the start"
"$PY" - "$BUILD" <<'PY'
import json, sys
try:
    o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1] + "/meson-info/intro-buildoptions.json"))}
except (OSError, ValueError):
    sys.exit()
if o.get("b_sanitize", "none") != "none" or o.get("buildtype") in ("debug", "plain"):
    print("run.sh: WARNING: %s build (sanitize=%s): not a build to draw conclusions from"
          % (o.get("buildtype"), o.get("b_sanitize")))
PY

# Linux's graceful client keeps TIME_WAIT for 60 s: let it reuse those ports, as lwIP does.
ip netns exec "$DPW_NS_STACK" sysctl -qw net.ipv4.tcp_tw_reuse=1
# The peer's kernel sees the frames for dpwsk-echo's address too: it must drop them silently.
ip netns exec "$DPW_NS_PEER" sysctl -qw net.ipv4.ip_forward=0
if has connclose || has rr || has bulk; then
	server_start $PORT_ECHO echo
	server_start $PORT_DISCARD discard
fi

for ((run = 1; run <= RUNS; run++)); do
	echo "run $run of $RUNS ($(date +%T), load average $(cut -d' ' -f1 /proc/loadavg))"
	has ceiling && ceiling "$run"

	# The kernel as the client: it gets the stack's address for these runs only.
	if has connclose || has rr || has bulk; then
		ip -n "$DPW_NS_STACK" addr add "$DPW_IP_STACK/$DPW_PREFIX" dev "$DPW_IF_STACK"
		KADDR=1
		if has connclose; then
			for c in "${CONCS[@]}"; do
				measure connclose linux "$c" "$run" "$DPW_NS_STACK" "$LCONNCLOSE" --duration "$SECS" \
					--concurrency "$c" --mode "$MODE" --json "$DPW_IP_PEER:$PORT_ECHO"
			done
		fi
		if has rr; then
			measure rr linux - "$run" "$DPW_NS_STACK" "$LRR" --mode rr --duration "$SECS" --json \
				"$DPW_IP_PEER:$PORT_ECHO"
			measure rr linux-spin - "$run" "$DPW_NS_STACK" "$LRR" --mode rr --spin --duration "$SECS" \
				--json "$DPW_IP_PEER:$PORT_ECHO"
		fi
		if has bulk; then
			measure bulk linux - "$run" "$DPW_NS_STACK" "$LRR" --mode bulk --duration "$SECS" --json \
				"$DPW_IP_PEER:$PORT_DISCARD"
		fi
		kaddr_del
	fi

	# dpwsk as the client, against the same Linux servers.
	if has connclose; then
		for c in "${CONCS[@]}"; do
			# shellcheck disable=SC2046
			measure connclose dpwsk "$c" "$run" "$DPW_NS_STACK" "$CONNCLOSE" $(dpwsk_args) \
				--duration "$SECS" --concurrency "$c" --mode "$MODE" --json "$DPW_IP_PEER:$PORT_ECHO"
		done
	fi
	if has rr; then
		# shellcheck disable=SC2046
		measure rr dpwsk - "$run" "$DPW_NS_STACK" "$RR" $(dpwsk_args) --mode rr --duration "$SECS" \
			--json "$DPW_IP_PEER:$PORT_ECHO"
	fi
	if has bulk; then
		# shellcheck disable=SC2046
		measure bulk dpwsk - "$run" "$DPW_NS_STACK" "$RR" $(dpwsk_args) --mode bulk --duration "$SECS" \
			--json "$DPW_IP_PEER:$PORT_DISCARD"
	fi

	# dpwsk against dpwsk: dpwsk-echo polls a CPU of its own, so it runs only for these.
	if has connclose || has rr; then
		if echo_start "$run"; then
			if has connclose; then
				for c in "${CONCS[@]}"; do
					# shellcheck disable=SC2046
					measure connclose dpwsk-echo "$c" "$run" "$DPW_NS_STACK" "$CONNCLOSE" $(dpwsk_args) \
						--duration "$SECS" --concurrency "$c" --mode "$MODE" --json "$ECHO_IP:7"
				done
			fi
			if has rr; then
				# shellcheck disable=SC2046
				measure rr dpwsk-echo - "$run" "$DPW_NS_STACK" "$RR" $(dpwsk_args) --mode rr \
					--duration "$SECS" --json "$ECHO_IP:7"
			fi
			echo_stop "$run"
		fi
	fi
done
if has connclose || has rr || has bulk; then
	server_stop $PORT_ECHO
	server_stop $PORT_DISCARD
fi

# --- 5 and 6: scripts of their own, in this topology, with their own results files -------------

EXTRA=(--runs "$RUNS")
[ $QUICK = 1 ] && EXTRA+=(--concurrency 1,64)
if has nginx; then
	DPW_BUILD=$BUILD bash "$SRC/bench/nginx.sh" --seconds "$SECS_INT" "${EXTRA[@]}" \
		$([ $QUICK = 1 ] && echo --requests 2000) --out "$OUT" || failed "bench/nginx.sh"
fi
if has syndrop; then
	DPW_BUILD=$BUILD bash "$SRC/bench/syndrop.sh" --seconds "$SECS_INT" --runs "$RUNS" --out "$OUT" || failed "bench/syndrop.sh"
fi
has ceiling || has connclose || has rr || has bulk || exit $((FAILS > 0))

# --- the summary: latest.json, latest.txt (printed), latest.png ----------------------------------

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)
DIRTY=false
[ -n "$(git -C "$SRC" status --porcelain 2>/dev/null | head -n1)" ] && DIRTY=true
export BENCH_RUNS=$RUNS BENCH_SECS=$SECS BENCH_CONC=$CONC BENCH_MODE=$MODE BENCH_ONLY=$ONLY \
	BENCH_QUICK=$QUICK BENCH_BUILD=$BUILD BENCH_LOAD_START=$LOAD_START BENCH_LOAD_END=$LOAD_END \
	BENCH_ELAPSED=$ELAPSED BENCH_COMMIT=$COMMIT BENCH_DIRTY=$DIRTY BENCH_FAILS=$FAILS \
	BENCH_CPU_A=$CPU_A BENCH_CPU_B=$CPU_B
SUMMARY_RC=0
"$PY" - "$TMP" "$OUT" <<'PY' || SUMMARY_RC=$?
# Reads the manifest and the raw outputs; writes latest.json and latest.txt, prints the text.
import datetime, json, os, platform, re, statistics, sys

tmp, out = sys.argv[1], sys.argv[2]
raw = os.path.join(tmp, "raw")
E = os.environ
concs = [int(c) for c in E["BENCH_CONC"].split(",")]
sections = E["BENCH_ONLY"].split(",")


def summary(path):
    """The last JSON line a program printed (its summary), or None."""
    try:
        lines = [l for l in open(path, errors="replace") if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def engine(path):
    """rx_packets + tx_packets of the last 'dpwsk: stats' line (the final one), or None."""
    last = None
    for l in open(path, errors="replace"):
        if l.startswith("dpwsk: stats "):
            last = l
    if not last:
        return None
    kv = dict(x.split("=", 1) for x in last.split()[2:] if "=" in x)
    return int(kv["rx_packets"]) + int(kv["tx_packets"])


def veth(path):
    try:
        s = json.load(open(path))[0]["stats64"]
        return s["rx"]["packets"] + s["tx"]["packets"]
    except (OSError, ValueError, IndexError, KeyError):
        return None


def listen_drops(f):
    """The peer kernel's TcpExt ListenDrops over the run (None if unreadable)."""
    def read(path):
        try:
            lines = [l.split() for l in open(path) if l.startswith("TcpExt:")]
            return dict(zip(lines[0][1:], (int(x) for x in lines[1][1:])))
        except (OSError, IndexError, ValueError):
            return None
    a, b = read(f + ".n0"), read(f + ".n1")
    if not a or not b or "ListenDrops" not in a:
        return None
    return b["ListenDrops"] - a["ListenDrops"]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


man = [l.split() for l in open(os.path.join(tmp, "manifest"))]
result = {
    "schema": "dpwsk-bench/1",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git": {"commit": E["BENCH_COMMIT"], "dirty": E["BENCH_DIRTY"] == "true"},
    "machine": {},
    "build": {"dir": E["BENCH_BUILD"]},
    "config": {"runs": int(E["BENCH_RUNS"]), "seconds_per_run": float(E["BENCH_SECS"]),
               "concurrency": concs, "mode": E["BENCH_MODE"], "sections": sections,
               "quick": E["BENCH_QUICK"] == "1",
               "placement": "dpwsk clients and testpmd tx on CPU %s, dpwsk-echo and testpmd rx on "
                            "CPU %s, Linux programs unpinned" % (E["BENCH_CPU_B"], E["BENCH_CPU_A"]),
               "topology": "two network namespaces, one veth pair, dpwsk over net_af_packet "
                           "(framecnt=4096); stack 198.18.0.2, Linux peer 198.18.0.1, "
                           "dpwsk-echo 198.18.0.3"},
    "units": {"conn_per_s": "connections (connect+close cycles) per second",
              "cpu_us_per_conn": "CPU time (user+system, the client process) per connection, us",
              "pps": "packets per second", "packets_per_cycle": "frames (both directions) per cycle",
              "rate_tx_per_s": "request/response transactions per second",
              "*_us": "microseconds", "mb_per_s": "payload megabytes (1e6) per second",
              "gbit_s": "payload gigabits per second", "cpu_s": "CPU seconds over the run",
              "share_of_ceiling": "conn_per_s / (ceiling pps / packets per cycle)",
              "ratio": "stack figure / kernel figure"},
}
try:
    model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    model = platform.processor() or "unknown"
ls, le = [float(x) for x in E["BENCH_LOAD_START"].split()], [float(x) for x in E["BENCH_LOAD_END"].split()]
result["machine"] = {
    "nproc": os.cpu_count(), "kernel": platform.release(), "cpu_model": model,
    "loadavg_start": ls, "loadavg_end": le,
    "loadavg_high": ls[0] >= 0.5 * os.cpu_count(),
    "note": "a small shared machine (other work may run at the same time): figures move run "
            "to run; compare within one run. loadavg_high: the 1-minute load average was at "
            "least half the CPUs when the run started (loadavg_end includes the benchmark's own "
            "load: it keeps both CPUs busy)",
}
try:
    o = {x["name"]: x["value"] for x in
         json.load(open(os.path.join(E["BENCH_BUILD"], "meson-info", "intro-buildoptions.json")))}
    result["build"].update(buildtype=o.get("buildtype"), sanitize=o.get("b_sanitize"),
                           optimization=o.get("optimization"))
except (OSError, ValueError):
    pass
failures = int(E["BENCH_FAILS"])

# 2. the ceiling
ceil = None
if "ceiling" in sections:
    runs = [{"run": int(m[3]), "exit_status": int(m[4]), "rx_pps": float(m[5]),
             "tx_peak_pps": float(m[6])} for m in man if m[0] == "ceiling"]
    ceil = med([r["rx_pps"] for r in runs if r["rx_pps"] > 0])
    result["ceiling"] = {
        "how": "dpdk-testpmd --forward-mode=txonly on the stack's veth end -> rxonly on the "
               "peer's, both net_af_packet framecnt=4096, 64-byte UDP frames; the rate the far "
               "side received (median of its per-second samples while the sender ran)",
        "runs": runs, "median_pps": ceil}

# 1. connect/close
LABEL = {"linux": "Linux -> Linux", "dpwsk": "dpwsk -> Linux", "dpwsk-echo": "dpwsk -> dpwsk-echo"}
PROGRAM = {"linux": "linux-connclose -> linux-server", "dpwsk": "dpwsk-connclose -> linux-server",
           "dpwsk-echo": "dpwsk-connclose -> dpwsk-echo (second DPDK process)"}
ppc_engine = []
cc = {}
if "connclose" in sections:
    for client in ("linux", "dpwsk", "dpwsk-echo"):
        byc = {}
        for c in concs:
            runs = []
            for m in man:
                if m[0] != "connclose" or m[1] != client or m[2] != str(c):
                    continue
                f = os.path.join(raw, "connclose.%s.%d.%s" % (client, c, m[3]))
                s = summary(f + ".out")
                r = {"run": int(m[3]), "exit_status": int(m[4])}
                if s is None:
                    r["error"] = "no summary"
                    runs.append(r)
                    continue
                v0, v1 = veth(f + ".v0"), veth(f + ".v1")
                r.update(cycles=s["cycles"], errors=s["errors"], conn_per_s=s["conn_per_s"],
                         cpu_us_per_conn=s["cpu_us_per_conn"],
                         connect_p50_us=s["connect_us"]["p50"], connect_p99_us=s["connect_us"]["p99"],
                         connect_max_us=s["connect_us"]["max"],
                         close_p50_us=s["close_us"]["p50"], close_p99_us=s["close_us"]["p99"])
                if s["errors_by_status"]:
                    r["errors_by_status"] = s["errors_by_status"]
                drops = listen_drops(f)
                if drops is not None:
                    r["peer_listen_drops"] = drops
                if v0 is not None and v1 is not None and s["cycles"]:
                    r["wire_packets_per_cycle"] = round((v1 - v0) / s["cycles"], 3)
                if client != "linux":
                    e = engine(f + ".out")
                    if e is not None and s["cycles"]:
                        r["engine_packets_per_cycle"] = round(e / s["cycles"], 3)
                        ppc_engine.append(e / s["cycles"])
                runs.append(r)
            ok = [r for r in runs if "error" not in r]
            byc[str(c)] = {
                "runs": runs,
                "conn_per_s": med([r["conn_per_s"] for r in ok]),
                "cpu_us_per_conn": med([r["cpu_us_per_conn"] for r in ok]),
                "connect_p50_us": med([r["connect_p50_us"] for r in ok]),
                "connect_p99_us": med([r["connect_p99_us"] for r in ok]),
                "connect_max_us": max([r["connect_max_us"] for r in ok], default=None),
                "close_p50_us": med([r["close_p50_us"] for r in ok]),
                "wire_packets_per_cycle": med([r.get("wire_packets_per_cycle") for r in ok]),
                "errors": sum(r["errors"] for r in ok),
                "runs_failed": len(runs) - len(ok) + sum(1 for r in ok if r["exit_status"] != 0),
                "peer_listen_drops": sum(r.get("peer_listen_drops", 0) for r in ok),
            }
        cc[client] = {"label": LABEL[client], "programs": PROGRAM[client], "by_concurrency": byc}
    ppc = med(ppc_engine)
    result["packets_per_cycle"] = {
        "measured": round(ppc, 3) if ppc else None, "expected_rst": 4,
        "how": "dpwsk-connclose's engine counters (rx_packets + tx_packets of its final stats "
               "line) over its cycles, median of its runs; per-run figures and the veth's own "
               "counters (wire_packets_per_cycle) in each connclose run"}
    per_cycle_ceiling = ceil / ppc if ceil and ppc else None
    result["packets_per_cycle"]["ceiling_cycles_per_s"] = per_cycle_ceiling
    for client in cc:
        for c, d in cc[client]["by_concurrency"].items():
            d["share_of_ceiling"] = (round(d["conn_per_s"] / per_cycle_ceiling, 4)
                                     if per_cycle_ceiling and d["conn_per_s"] else None)
    result["connclose"] = {"mode": E["BENCH_MODE"], "clients": cc}

    # the targets
    ratios = []

    def ratio(name, a, b, key, target, better):
        for c in concs:
            x = cc[a]["by_concurrency"][str(c)][key]
            y = cc[b]["by_concurrency"][str(c)][key]
            v = x / y if x and y else None
            met = None if v is None else (v >= target if better == "higher" else v <= target)
            ratios.append({"name": name, "concurrency": c, "value": round(v, 3) if v else None,
                           "target": ("%s %g" % (">=" if better == "higher" else "<=", target)),
                           "met": met})
    ratio("(dpwsk->Linux)/(Linux->Linux) conn/s", "dpwsk", "linux", "conn_per_s", 1.5, "higher")
    ratio("(dpwsk->Linux)/(Linux->Linux) CPU us/conn", "dpwsk", "linux", "cpu_us_per_conn", 0.2, "lower")
    ratio("(dpwsk->dpwsk-echo)/(Linux->Linux) conn/s", "dpwsk-echo", "linux", "conn_per_s", 5, "higher")
    result["targets"] = {"ratios": ratios, "all_met": all(r["met"] for r in ratios)}


def rr_like(kind, clients, fields):
    d = {}
    for client, label in clients:
        runs = []
        for m in man:
            if m[0] != kind or m[1] != client:
                continue
            s = summary(os.path.join(raw, "%s.%s.-.%s.out" % (kind, client, m[3])))
            r = {"run": int(m[3]), "exit_status": int(m[4])}
            if s is None:
                r["error"] = "no summary"
            else:
                r.update({k: s[src] for k, src in fields.items()})
                r["errors"] = s["errors"]
            runs.append(r)
        ok = [r for r in runs if "error" not in r]
        e = {"label": label, "runs": runs, "errors": sum(r["errors"] for r in ok),
             "runs_failed": len(runs) - len(ok) + sum(1 for r in ok if r["exit_status"] != 0)}
        for k in fields:
            e[k] = med([r[k] for r in ok])
        d[client] = e
    return d


if "rr" in sections:
    rr = rr_like("rr", [("dpwsk", "dpwsk -> Linux"), ("linux", "Linux -> Linux (epoll, sleeping)"),
                        ("linux-spin", "Linux -> Linux (epoll, spinning)"),
                        ("dpwsk-echo", "dpwsk -> dpwsk-echo")],
                 {"rate_tx_per_s": "rate", "p50_us": "p50_us", "p99_us": "p99_us",
                  "p999_us": "p999_us", "cpu_s": "cpu_s"})
    rat = {}
    for k in ("linux", "linux-spin"):
        for q in ("p50_us", "p99_us", "rate_tx_per_s"):
            a, b = rr["dpwsk"][q], rr[k][q]
            rat["dpwsk/%s %s" % (k, q)] = round(a / b, 3) if a and b else None
    result["rr"] = {"how": "1-byte request, 1-byte echo, one persistent connection, back to back",
                    "pairs": rr, "ratios": rat}
if "bulk" in sections:
    bk = rr_like("bulk", [("dpwsk", "dpwsk -> Linux"), ("linux", "Linux -> Linux")],
                 {"mb_per_s": "rate", "gbit_s": "gbit_s", "cpu_s": "cpu_s"})
    a, b = bk["dpwsk"]["mb_per_s"], bk["linux"]["mb_per_s"]
    result["bulk"] = {"how": "one connection, 64 KiB sends, to a discarding linux-server",
                      "pairs": bk, "ratios": {"dpwsk/linux mb_per_s": round(a / b, 3) if a and b else None}}

# Every error the programs counted, and every run that did not finish cleanly.
errors = 0
for sec in ("rr", "bulk"):
    for p in result.get(sec, {}).get("pairs", {}).values():
        errors += p["errors"]
        failures += p["runs_failed"]
for cl in cc.values():
    for d in cl["by_concurrency"].values():
        errors += d["errors"]
        failures += d["runs_failed"]
result["errors"] = errors
result["failures"] = failures
result["elapsed_s"] = float(E["BENCH_ELAPSED"])


# --- the text ---
def n(x, fmt="%.0f"):
    return "-" if x is None else fmt % x


L = []
g = result["git"]
b = result["build"]
mach = result["machine"]
L.append("dpwsk benchmark, %s, commit %s%s, %s build (sanitize=%s)" % (
    result["date"], g["commit"][:12], " (uncommitted changes)" if g["dirty"] else "",
    b.get("buildtype", "?"), b.get("sanitize", "?")))
L.append("machine: %d CPUs (%s), Linux %s; load average %.2f at the start%s, %.2f at the end "
         "(the benchmark's own load included)" % (
    mach["nproc"], mach["cpu_model"], mach["kernel"], ls[0],
    " (HIGH: other work was running)" if mach["loadavg_high"] else "", le[0]))
L.append("medians of %d run(s) of %g s; namespace topology, one veth, dpwsk over net_af_packet; "
         "a shared 2-core machine: rough figures" % (result["config"]["runs"], result["config"]["seconds_per_run"]))
if "connclose" in result:
    pc = result["packets_per_cycle"]
    L.append("")
    L.append("1. connect/close rate, mode %s (conn/s; CPU us per connection of the client process;"
             " share = conn/s / (ceiling / packets per cycle))" % E["BENCH_MODE"])
    L.append("%-20s %5s %8s %11s %18s %8s %6s %7s %6s %5s" % ("client", "conc", "conn/s", "CPU us/conn",
             "connect p50/p99 us", "max ms", "share", "pkt/cyc", "errors", "drops"))
    for client, cl in cc.items():
        for c in concs:
            d = cl["by_concurrency"][str(c)]
            L.append("%-20s %5d %8s %11s %18s %8s %6s %7s %6d %5s" % (
                cl["label"], c, n(d["conn_per_s"]), n(d["cpu_us_per_conn"], "%.2f"),
                "%s/%s" % (n(d["connect_p50_us"], "%.0f"), n(d["connect_p99_us"], "%.0f")),
                n(d["connect_max_us"] and d["connect_max_us"] / 1000, "%.1f"),
                n(d["share_of_ceiling"] and 100 * d["share_of_ceiling"], "%.1f%%"),
                n(d["wire_packets_per_cycle"], "%.2f"), d["errors"],
                "-" if client == "dpwsk-echo" else d["peer_listen_drops"]))
    L.append("packets per cycle (dpwsk-connclose's engine rx+tx / cycles, measured): %s%s" % (
        n(pc["measured"], "%.2f"), "" if not pc["ceiling_cycles_per_s"] else
        " -> ceiling / ppc = %s cycles/s" % n(pc["ceiling_cycles_per_s"])))
    L.append("(max ms: the slowest connect of all runs; about 1000 (Linux) or 3000 (lwIP) is a lost SYN"
             " or SYN-ACK waiting out the initial retransmission timeout.")
    L.append(" pkt/cyc: frames on the stack's veth per cycle, from the kernel's own counters.")
    L.append(" drops: SYNs the Linux server's kernel dropped (ListenDrops), all runs.)")
if "ceiling" in result:
    L.append("")
    L.append("2. link ceiling: dpdk-testpmd txonly -> rxonly on the same veth (net_af_packet), "
             "64-byte frames: %s packets/s received (runs: %s)" % (
                 n(ceil), ", ".join(n(r["rx_pps"]) for r in result["ceiling"]["runs"])))
if "targets" in result:
    L.append("")
    L.append("targets (stack / kernel, medians)")
    L.append("%-44s %5s %8s %8s  %s" % ("ratio", "conc", "value", "target", ""))
    for r in result["targets"]["ratios"]:
        L.append("%-44s %5d %8s %8s  %s" % (r["name"], r["concurrency"], n(r["value"], "%.2f"),
                                            r["target"], {True: "MET", False: "MISSED", None: "-"}[r["met"]]))
if "rr" in result:
    L.append("")
    L.append("3. request/response: 1 byte each way, one persistent connection")
    L.append("%-34s %10s %9s %9s %9s %7s %6s" % ("pair", "tx/s", "p50 us", "p99 us", "p99.9 us", "CPU s", "errors"))
    for p in result["rr"]["pairs"].values():
        L.append("%-34s %10s %9s %9s %9s %7s %6d" % (p["label"], n(p["rate_tx_per_s"]), n(p["p50_us"], "%.1f"),
                 n(p["p99_us"], "%.1f"), n(p["p999_us"], "%.1f"), n(p["cpu_s"], "%.2f"), p["errors"]))
    r = result["rr"]["ratios"]
    L.append("stack/kernel: p50 %s, p99 %s, tx/s %s (vs sleeping epoll); p50 %s, p99 %s, tx/s %s (vs spinning)" % tuple(
        n(r[k], "%.2f") for k in ("dpwsk/linux p50_us", "dpwsk/linux p99_us", "dpwsk/linux rate_tx_per_s",
                                  "dpwsk/linux-spin p50_us", "dpwsk/linux-spin p99_us",
                                  "dpwsk/linux-spin rate_tx_per_s")))
if "bulk" in result:
    L.append("")
    L.append("4. bulk: one connection, 64 KiB sends, to a discarding server")
    L.append("%-34s %10s %8s %7s %6s" % ("pair", "MB/s", "Gbit/s", "CPU s", "errors"))
    for p in result["bulk"]["pairs"].values():
        L.append("%-34s %10s %8s %7s %6d" % (p["label"], n(p["mb_per_s"], "%.1f"), n(p["gbit_s"], "%.2f"),
                                             n(p["cpu_s"], "%.2f"), p["errors"]))
    L.append("stack/kernel: %s" % n(result["bulk"]["ratios"]["dpwsk/linux mb_per_s"], "%.2f"))
L.append("")
L.append("errors counted by the programs: %d; runs that failed: %d" % (errors, failures))
text = "\n".join(L) + "\n"
json.dump(result, open(os.path.join(out, "latest.json"), "w"), indent=1)
open(os.path.join(out, "latest.txt"), "w").write(text)
print(text, end="")
sys.exit(3 if errors or failures else 0)   # 3: measured, with errors; 1: this script failed
PY
[ $SUMMARY_RC = 0 ] || [ $SUMMARY_RC = 3 ] || { echo "run.sh: the summary failed" >&2; exit 1; }
"$PY" "$SRC/bench/plot.py" "$OUT/latest.json" "$OUT/latest.png" || { echo "run.sh: no plot" >&2; SUMMARY_RC=1; }
ELAPSED=$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "wrote $OUT/latest.json, latest.txt, latest.png; total run time $ELAPSED s"
[ $SUMMARY_RC = 0 ]
