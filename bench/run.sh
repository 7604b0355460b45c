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
#   7. memif: bench/memif.sh (stack <-> stack over net_memif, no kernel in the path, against
#      the kernel over the veth: connect/close, request/response, bulk, memif's own ceiling)
# Every figure is the median of R runs of D seconds (the runs interleave the configurations);
# the table shows the ratios stack/kernel and the issue's targets (MET/MISSED).
#
#   sudo bench/run.sh [--runs R] [--seconds D] [--quick] [--out DIR] [--build DIR]
#                     [--concurrency 1,16,...] [--mode rst|graceful|exchange]
#                     [--only ceiling,connclose,rr,bulk,nginx,syndrop,memif] [--raw DIR]
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
ONLY=ceiling,connclose,rr,bulk,nginx,syndrop,memif
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
	case "$s" in ceiling | connclose | rr | bulk | nginx | syndrop | memif) ;;
	*) die "--only: no section '$s' (ceiling, connclose, rr, bulk, nginx, syndrop, memif)" ;; esac
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

# --- 5, 6 and 7: scripts of their own, in this topology, with their own results files -------------

EXTRA=(--runs "$RUNS")
[ $QUICK = 1 ] && EXTRA+=(--concurrency 1,64)
if has nginx; then
	DPW_BUILD=$BUILD bash "$SRC/bench/nginx.sh" --seconds "$SECS_INT" "${EXTRA[@]}" \
		$([ $QUICK = 1 ] && echo --requests 2000) --out "$OUT" || failed "bench/nginx.sh"
fi
if has syndrop; then
	# Its status 3 is a verdict on the figures (dpwsk below half the kernel client: on a busy
	# machine, or a real regression; its output says which), not a failed measurement.
	SYNDROP_RC=0
	DPW_BUILD=$BUILD bash "$SRC/bench/syndrop.sh" --seconds "$SECS_INT" --runs "$RUNS" --out "$OUT" ||
		SYNDROP_RC=$?
	[ $SYNDROP_RC = 0 ] || [ $SYNDROP_RC = 3 ] || failed "bench/syndrop.sh (status $SYNDROP_RC)"
fi
if has memif; then
	DPW_BUILD=$BUILD bash "$SRC/bench/memif.sh" --seconds "$SECS_INT" "${EXTRA[@]}" --out "$OUT" ||
		failed "bench/memif.sh"
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
"$PY" "$SRC/bench/report.py" "$TMP" "$OUT" || SUMMARY_RC=$?
[ $SUMMARY_RC = 0 ] || [ $SUMMARY_RC = 3 ] || { echo "run.sh: the summary failed" >&2; exit 1; }
"$PY" "$SRC/bench/plot.py" "$OUT/latest.json" "$OUT/latest.png" || { echo "run.sh: no plot" >&2; SUMMARY_RC=1; }
ELAPSED=$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "wrote $OUT/latest.json, latest.txt, latest.png; total run time $ELAPSED s"
[ $SUMMARY_RC = 0 ]
