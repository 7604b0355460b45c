#!/bin/bash
# bench/memif-cost.sh: where the CPU goes when the stack runs at its own limit (issue 13).
# Over the memif topology (scripts/memif.sh: dpwsk-echo on CPU 0, the client on CPU 1), for
# each workload perf records both processes (-e cpu-clock, after a second of warm-up) and
# bench/cpu_by_part.py splits their CPU time by part: provider, lwIP, engine, checksums,
# copies, DPDK (the PMD), kernel, the program itself:
#   connclose  dpwsk-connclose --mode rst at --concurrency C -> dpwsk-echo: CPU us per connection
#   bulk       dpwsk-bench-rr --mode bulk -> dpwsk-echo --discard-port: CPU us per MB
# Operations in the recorded window are the client's average rate times its length. Both lcores
# poll without sleeping: a side with less to do shows its idle passes too (see cpu_by_part.py).
#
#   sudo bench/memif-cost.sh [--seconds S] [--concurrency C]    (DPW_BUILD=DIR: the build)
#   DPW_CPU_TOP=N also lists each side's N busiest functions (stderr).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "memif-cost.sh: $*" >&2; exit 2; }
SECS=3 CONC=64
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--seconds) SECS=$2 ;;
	--concurrency) CONC=$2 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift 2
done
[[ "$SECS" =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 60 ] || die "--seconds: 1 to 60"
[[ "$CONC" =~ ^[0-9]+$ ]] && [ "$CONC" -ge 1 ] && [ "$CONC" -le 16384 ] || die "--concurrency: 1 to 16384"
[ "$(id -u)" = 0 ] || die "needs root (namespaces, perf)"
command -v perf >/dev/null || die "perf not found (scripts/setup.sh installs linux-perf)"
BUILD=${DPW_BUILD:-$SRC/build}
ECHO=$BUILD/apps/echo/dpwsk-echo
CONNCLOSE=$BUILD/apps/connclose/dpwsk-connclose
RR=$BUILD/bench/dpwsk-bench-rr
for p in "$ECHO" "$CONNCLOSE" "$RR"; do [ -x "$p" ] || die "$p is not built"; done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-memifcost.XXXXXX")
PAIR=
trap '[ -n "$PAIR" ] && kill -TERM "$PAIR" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

# newest PID whose command line starts with PROGRAM --memif ROLE (memif.sh puts it first)
pid_of() {
	local i p
	for ((i = 0; i < 200; i++)); do
		p=$(pgrep -n -f "^$1 --memif $2:" || true)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
	done
	return 1
}

# measure NAME UNIT CLIENT-PROGRAM SERVER-ARGS -- CLIENT-ARGS...: run the pair SECS+2 s,
# record both sides for SECS s after the first, print CPU per UNIT by part for each.
measure() {
	local name=$1 unit=$2 client=$3 spid cpid rate ops side
	shift 3
	local sargs=() cargs=() seen=0
	for a in "$@"; do
		if [ $seen = 0 ] && [ "$a" = -- ]; then seen=1; continue; fi
		if [ $seen = 0 ]; then sargs+=("$a"); else cargs+=("$a"); fi
	done
	"$SRC/scripts/memif.sh" "$ECHO" "${sargs[@]}" -- "$client" --duration $((SECS + 2)) --json \
		"${cargs[@]}" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PAIR=$!
	spid=$(pid_of "$ECHO" server) && cpid=$(pid_of "$client" client) ||
		die "$name: the pair did not start ($(tail -n 3 "$TMP/$name.err"))"
	sleep 1   # warm-up: connections up, caches warm
	perf record -q -e cpu-clock -F 20000 -p "$spid" -o "$TMP/$name.s.data" -- sleep "$SECS" \
		>/dev/null 2>&1 &
	perf record -q -e cpu-clock -F 20000 -p "$cpid" -o "$TMP/$name.c.data" -- sleep "$SECS" \
		>/dev/null 2>&1
	# memif.sh's 3: the run was complete, then DPDK's memif race took the server as the client
	# left; the samples stand.
	wait "$PAIR" || [ $? = 3 ] || die "$name: memif.sh failed ($(tail -n 3 "$TMP/$name.err"))"
	PAIR=
	wait
	if [ "$unit" = connection ]; then
		rate=$(grep '^{' "$TMP/$name.out" | tail -n1 | sed -n 's/.*"conn_per_s":\([0-9.]*\).*/\1/p')
		ops=$(awk -v r="$rate" -v s="$SECS" 'BEGIN { printf "%d", r * s }')
		echo "$name: $rate connections/s; CPU us per connection, by part:"
	else
		rate=$(grep '^{' "$TMP/$name.out" | tail -n1 | sed -n 's/.*"rate":\([0-9.]*\).*/\1/p')
		ops=$(awk -v r="$rate" -v s="$SECS" 'BEGIN { printf "%d", r * s }')
		echo "$name: $rate MB/s; CPU us per MB, by part:"
	fi
	for side in c s; do
		perf script -i "$TMP/$name.$side.data" -F period,ip,sym,dso 2>/dev/null >"$TMP/$name.$side.txt"
		printf '  %-7s %s\n' "$([ $side = c ] && echo client || echo server)" \
			"$(python3 "$SRC/bench/cpu_by_part.py" "$BUILD" "$TMP/$name.$side.txt" "$ops" "$SECS")"
	done
}

echo "memif-cost.sh: $(date -u +%FT%TZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), build $BUILD"
measure connclose connection "$CONNCLOSE" --tcp-port 7 --udp-port 0 -- --concurrency "$CONC" \
	--mode rst @SERVER@:7
measure bulk MB "$RR" --tcp-port 7 --udp-port 0 --discard-port 9 -- --mode bulk @SERVER@:9
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
