#!/bin/bash
# bench/memif.sh: the stack at its own limit (issue 13). Two dpwsk processes over net_memif
# (scripts/memif.sh: shared-memory rings, no kernel in the data path), one polling lcore
# each (the server on CPU A, the client on CPU B), and in the same run the Linux kernel
# doing the same work over a veth pair (scripts/netns.sh: the fastest path two kernel
# sockets on one machine have short of loopback). Per run, interleaved:
#
#   ceiling    dpdk-testpmd txonly -> rxonly over a memif pair of its own: 64-byte frames/s
#              the receiver took (the link's ceiling; a connect/close cycle needs ppc frames
#              from the client, so ceiling/ppc bounds conn/s)
#   connclose  dpwsk-connclose -> dpwsk-echo, and linux-connclose -> linux-server, mode rst,
#              at each concurrency
#   rr         1-byte request/response on one connection: dpwsk-bench-rr -> dpwsk-echo, and
#              linux-rr --spin -> linux-server --mode echo (the kernel at its lowest latency)
#   bulk       one connection, 64 KiB sends: dpwsk-bench-rr --mode bulk -> dpwsk-echo
#              --discard-port, and linux-rr --mode bulk -> linux-server --mode discard
#
# Then medians of the runs, ratios dpwsk/Linux, and issue 13's targets for memif (connect/close
# >= 500,000 conn/s; RR p50 <= 3 us and p99 <= 6 us; bulk >= 3 GB/s), MET or MISSED.
# MTU 1500 on both paths (memif's 2 KiB buffers; no jumbo frames yet).
#
#   sudo bench/memif.sh [--runs R] [--seconds D] [--concurrency 1,16,64,256] [--out DIR]
#   writes DIR/memif.txt and DIR/memif.json (default bench/results); DPW_BUILD=DIR picks the
#   build. Exit status 1 if a measurement failed or reported errors, 2 on bad usage.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
ARGS=("$@")
. "$SRC/bench/lib.sh"
. "$SRC/bench/peer_lib.sh"
die() { echo "memif.sh: $*" >&2; exit 2; }

RUNS=3 SECS=3 CONC=1,16,64,256 OUT=$SRC/bench/results
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--runs) RUNS=$2 ;;
	--seconds) SECS=$2 ;;
	--concurrency) CONC=$2 ;;
	--out) OUT=$2 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift 2
done
need_int --runs "$RUNS" 1 20
need_int --seconds "$SECS" 1 600
concurrency_list "$CONC"

BUILD=${DPW_BUILD:-$SRC/build}
ECHO=$BUILD/apps/echo/dpwsk-echo
CONNCLOSE=$BUILD/apps/connclose/dpwsk-connclose
RR=$BUILD/bench/dpwsk-bench-rr
LCONNCLOSE=$BUILD/bench/linux-connclose
LRR=$BUILD/bench/linux-rr
SERVER=$BUILD/bench/linux-server
for p in "$ECHO" "$CONNCLOSE" "$RR" "$LCONNCLOSE" "$LRR" "$SERVER"; do
	[ -x "$p" ] || die "$p is not built"
done
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (scripts/setup.sh)"

if [ -z "${DPW_NS_STACK:-}" ]; then
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	export DPW_BUILD=$BUILD
	exec bash "$SRC/scripts/netns.sh" run bash "$0" "${ARGS[@]}"
fi

mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-memifbench.XXXXXX")
PIDS=()
# testpmd leaves its (empty, --no-shconf) EAL runtime directory behind: ours, by name.
trap 'peer_stop_all; kaddr_del; rm -rf "$TMP" /var/run/dpdk/dpw-memifb-rx-$$ /var/run/dpdk/dpw-memifb-tx-$$' EXIT
trap 'exit 130' INT TERM
CPU_A=0 CPU_B=$(($(nproc) > 1 ? 1 : 0))
export DPW_MEMIF_LCORES="$CPU_A $CPU_B"
RESULTS=$TMP/results     # one line per measurement: section who conc run key=value...
FAILS=0
# failed WHAT [ERRFILE]: count it, and show why: the client's and memif.sh's own last lines
# first (the server's output, which memif.sh appends at its end, would hide them), then the
# server's.
failed() {
	FAILS=$((FAILS + 1))
	echo "  FAILED: $1" >&2
	if [ -f "${2:-}" ]; then
		grep -v '^server: ' "$2" | tail -n 5 >&2
		grep '^server: ' "$2" | tail -n 3 >&2
	fi
	true
}

exec > >(tee "$OUT/memif.txt")   # the whole report, as printed, is memif.txt
echo "memif.sh: $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), build $BUILD"
echo "  $RUNS run(s) of $SECS s; dpwsk: two processes over net_memif, server CPU $CPU_A, client CPU $CPU_B;"
echo "  Linux: kernel sockets over a veth pair between two namespaces"

# ceiling RUN: testpmd rxonly (memif server) then txonly (memif client) for SECS+2 s; the
# receiver's Rx-pps lines, the middle ones' median.
ceiling() {
	local f=$TMP/ceiling.$1 s=$((SECS + 2)) rx tx pps sock=$TMP/testpmd.sock
	local common=(--no-huge --no-pci --no-shconf -m 512 --log-level='*:warning')
	local fwd=(--stats-period 1 --nb-cores 1 --total-num-mbufs 32768)
	peer_launch "$f.rx" "$DPW_NS_STACK" $((s + 60)) dpdk-testpmd "${common[@]}" \
		--file-prefix "dpw-memifb-rx-$$" --lcores "0@$CPU_B,1@$CPU_A" \
		"--vdev=net_memif0,role=server,socket=$sock" -- --forward-mode=rxonly "${fwd[@]}"
	rx=$LAST_PID
	wait_line "$f.rx" 'Port statistics' "$rx" 30 || { failed "ceiling: testpmd rxonly" "$f.rx"; peer_stop "$rx" 10; return 0; }
	peer_launch "$f.tx" "$DPW_NS_STACK" $((s + 60)) dpdk-testpmd "${common[@]}" \
		--file-prefix "dpw-memifb-tx-$$" --lcores "0@$CPU_A,1@$CPU_B" \
		"--vdev=net_memif0,role=client,socket=$sock" -- --forward-mode=txonly "${fwd[@]}"
	tx=$LAST_PID
	if wait_line "$f.tx" 'Port statistics' "$tx" 30; then
		sleep "$s"   # the measurement's length: testpmd reports once a second meanwhile
	else
		failed "ceiling: testpmd txonly" "$f.tx"
	fi
	peer_stop "$tx" 15
	peer_stop "$rx" 15
	pps=$({ grep -a 'Rx-pps:' "$f.rx" || true; } | awk '$2 > 0 { print $2 }' | sort -n |
		awk '{ v[n++] = $1 } END { print n ? v[int(n / 2)] : 0 }')
	printf '  [run %d] ceiling      testpmd txonly -> rxonly over memif: %s frames/s\n' "$1" "$pps"
	[ "${pps%.*}" -gt 0 ] || failed "ceiling run $1: no frames received" "$f.rx"
	echo "ceiling testpmd - $1 pps=$pps" >>"$RESULTS"
}

# dpwsk RUN NAME SERVER-ARGS -- CLIENT...: one scripts/memif.sh pair; the client's JSON line.
dpwsk_pair() {
	local f=$TMP/$1.$2
	shift 2
	local rc=0
	timeout -k 5 $((SECS + 120)) "$SRC/scripts/memif.sh" "$ECHO" "$@" >"$f" 2>"$f.err" || rc=$?
	# 3: the client's run is complete, and then the server died in DPDK's memif driver as the
	# client left (DPDK 22.11's disconnect race): the figures stand; the event is said.
	if [ $rc = 3 ]; then
		grep 'memif.sh: the server died' "$f.err" | sed 's/^/  note: /'
	elif [ $rc != 0 ]; then
		failed "$(basename "$f"): status $rc" "$f.err"
	fi
	LAST_OUT=$f
}

kaddr_add
linux_server_start "$SERVER" 5001 "$TMP/server.5001"
PIDS+=("$LINUX_SERVER_PID")
linux_server_start "$SERVER" 5007 "$TMP/server.5007" --mode echo
PIDS+=("$LINUX_SERVER_PID")
linux_server_start "$SERVER" 5009 "$TMP/server.5009" --mode discard
PIDS+=("$LINUX_SERVER_PID")
LTARGET=$DPW_IP_PEER

for ((run = 1; run <= RUNS; run++)); do
	ceiling "$run"
	for c in "${CONCS[@]}"; do
		dpwsk_pair "$run" "cc$c" --tcp-port 7 --udp-port 0 -- "$CONNCLOSE" --duration "$SECS" \
			--concurrency "$c" --json @SERVER@:7
		f=$LAST_OUT
		cyc=$(jget "$f" cycles) tx=$(grep '^dpwsk: stats ' "$f" | tail -n1 | sed -n 's/.* tx_packets=\([0-9]*\).*/\1/p')
		ppc=$(awk -v t="${tx:-0}" -v c="${cyc:-0}" 'BEGIN { printf "%.2f", c ? t / c : 0 }')
		printf '  [run %d] connclose    dpwsk c=%-4d %10.0f conn/s  connect p99 %9.1f us  client frames/cycle %s  errors %s\n' \
			"$run" "$c" "$(jget "$f" conn_per_s)" "$(jconnect "$f" p99)" "$ppc" "$(jget "$f" errors)"
		echo "connclose dpwsk $c $run rate=$(jget "$f" conn_per_s) p99=$(jconnect "$f" p99) ppc=$ppc errors=$(jget "$f" errors)" >>"$RESULTS"
		[ "$(jget "$f" errors)" = 0 ] || failed "dpwsk connclose c=$c: errors" "$f"

		f=$TMP/lcc.$run.$c
		ip netns exec "$DPW_NS_STACK" timeout -k 5 $((SECS + 60)) "$LCONNCLOSE" --duration "$SECS" \
			--concurrency "$c" --json "$LTARGET:5001" >"$f" 2>&1 || failed "linux-connclose c=$c" "$f"
		printf '  [run %d] connclose    Linux c=%-4d %10.0f conn/s  connect p99 %9.1f us  errors %s\n' \
			"$run" "$c" "$(jget "$f" conn_per_s)" "$(jconnect "$f" p99)" "$(jget "$f" errors)"
		echo "connclose linux $c $run rate=$(jget "$f" conn_per_s) p99=$(jconnect "$f" p99) errors=$(jget "$f" errors)" >>"$RESULTS"
	done

	dpwsk_pair "$run" rr --tcp-port 7 --udp-port 0 -- "$RR" --mode rr --duration "$SECS" --json @SERVER@:7
	f=$LAST_OUT
	printf '  [run %d] rr           dpwsk        p50 %6.1f us  p99 %7.1f us  %9.0f tx/s\n' "$run" \
		"$(jget "$f" p50_us)" "$(jget "$f" p99_us)" "$(jget "$f" rate)"
	echo "rr dpwsk 1 $run p50=$(jget "$f" p50_us) p99=$(jget "$f" p99_us) rate=$(jget "$f" rate) errors=$(jget "$f" errors)" >>"$RESULTS"
	f=$TMP/lrr.$run
	ip netns exec "$DPW_NS_STACK" taskset -c "$CPU_B" timeout -k 5 $((SECS + 60)) "$LRR" --spin \
		--mode rr --duration "$SECS" --json "$LTARGET:5007" >"$f" 2>&1 || failed "linux-rr" "$f"
	printf '  [run %d] rr           Linux        p50 %6.1f us  p99 %7.1f us  %9.0f tx/s\n' "$run" \
		"$(jget "$f" p50_us)" "$(jget "$f" p99_us)" "$(jget "$f" rate)"
	echo "rr linux 1 $run p50=$(jget "$f" p50_us) p99=$(jget "$f" p99_us) rate=$(jget "$f" rate) errors=$(jget "$f" errors)" >>"$RESULTS"

	dpwsk_pair "$run" bulk --tcp-port 7 --udp-port 0 --discard-port 9 -- "$RR" --mode bulk \
		--duration "$SECS" --json @SERVER@:9
	f=$LAST_OUT
	printf '  [run %d] bulk         dpwsk        %8.1f MB/s\n' "$run" "$(jget "$f" rate)"
	echo "bulk dpwsk 1 $run rate=$(jget "$f" rate) errors=$(jget "$f" errors)" >>"$RESULTS"
	f=$TMP/lbulk.$run
	ip netns exec "$DPW_NS_STACK" timeout -k 5 $((SECS + 60)) "$LRR" --mode bulk --duration "$SECS" \
		--json "$LTARGET:5009" >"$f" 2>&1 || failed "linux-rr bulk" "$f"
	printf '  [run %d] bulk         Linux        %8.1f MB/s\n' "$run" "$(jget "$f" rate)"
	echo "bulk linux 1 $run rate=$(jget "$f" rate) errors=$(jget "$f" errors)" >>"$RESULTS"
done

python3 - "$RESULTS" "$OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" "$RUNS" "$SECS" <<'EOF'
import json, statistics, sys
results, out, load, runs, secs = sys.argv[1:6]
rows = {}
for line in open(results):
    sec, who, conc, run, *kv = line.split()
    d = dict(x.split('=', 1) for x in kv)
    rows.setdefault((sec, who, conc), []).append({k: float(v) if v not in ('', '-') else 0.0 for k, v in d.items()})
def med(sec, who, conc, key):
    v = [r[key] for r in rows.get((sec, who, conc), []) if key in r]
    return statistics.median(v) if v else 0.0
lines = [f"medians of {runs} run(s) of {secs} s; load average at the end {load}"]
ceil = med('ceiling', 'testpmd', '-', 'pps')
lines.append(f"memif ceiling (testpmd txonly -> rxonly, 64-byte frames): {ceil:,.0f} frames/s")
summary = {'ceiling_pps': ceil, 'connclose': [], 'load_end': load}
lines.append("connect/close (rst)   conc   dpwsk conn/s   Linux conn/s   dpwsk/Linux   dpwsk share of ceiling/ppc")
concs = sorted({int(k[2]) for k in rows if k[0] == 'connclose'})
best = 0.0
for c in concs:
    d, l = med('connclose', 'dpwsk', str(c), 'rate'), med('connclose', 'linux', str(c), 'rate')
    ppc = med('connclose', 'dpwsk', str(c), 'ppc') or 3.0
    share = d / (ceil / ppc) if ceil else 0.0
    best = max(best, d)
    lines.append(f"                      {c:5d}   {d:12,.0f}   {l:12,.0f}   {d / l if l else 0:10.2f}x   {share:6.1%} (ppc {ppc:.2f})")
    summary['connclose'].append({'concurrency': c, 'dpwsk': d, 'linux': l, 'ppc': ppc, 'share': share})
rd50, rd99 = med('rr', 'dpwsk', '1', 'p50'), med('rr', 'dpwsk', '1', 'p99')
rl50, rl99 = med('rr', 'linux', '1', 'p50'), med('rr', 'linux', '1', 'p99')
lines.append(f"request/response, 1 byte: dpwsk p50 {rd50:.1f} us p99 {rd99:.1f} us; Linux (spinning) p50 {rl50:.1f} us p99 {rl99:.1f} us")
bd, bl = med('bulk', 'dpwsk', '1', 'rate'), med('bulk', 'linux', '1', 'rate')
lines.append(f"bulk, one connection: dpwsk {bd:,.1f} MB/s, Linux {bl:,.1f} MB/s ({bd / bl if bl else 0:.2f}x)")
summary.update(rr={'dpwsk_p50': rd50, 'dpwsk_p99': rd99, 'linux_p50': rl50, 'linux_p99': rl99},
               bulk={'dpwsk_mb_s': bd, 'linux_mb_s': bl})
targets = [("connect/close, best concurrency", f"{best:,.0f} conn/s", ">= 500,000", best >= 500000),
           ("RR p50", f"{rd50:.1f} us", "<= 3", 0 < rd50 <= 3), ("RR p99", f"{rd99:.1f} us", "<= 6", 0 < rd99 <= 6),
           ("bulk", f"{bd:,.1f} MB/s", ">= 3,000", bd >= 3000)]
lines.append("issue 13's targets for stack <-> stack over memif:")
for name, val, tgt, ok in targets:
    lines.append(f"  {name:34s} {val:>16s}  target {tgt:12s} {'MET' if ok else 'MISSED'}")
summary['targets'] = [{'name': n, 'value': v, 'target': t, 'met': ok} for n, v, t, ok in targets]
print("\n".join(lines))
json.dump(summary, open(f"{out}/memif.json", "w"), indent=1)
EOF
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); failed measurements: $FAILS"
exit $((FAILS > 0))
