#!/bin/bash
# bench/sharing.sh: the cache lines two lcores share on a connection's path (issue 15: "zero
# shared writes on the hot path"). perf c2c would find them from the CPU's HITM events; this
# VM has no hardware counters, so sharegrind (bench/sharing/, a valgrind tool) finds them in
# software: every load and store of the measured engines inside their counted passes, the
# lines written by one engine and used by another, and who wrote them.
#
# It runs dpwsk-pathlen (bench/pathlen/dpwsk-pathlen.c: Q engines of the measured side, as
# many on the other, a wire that puts each frame on its owner's queue and keeps each queue's
# mbufs with it, as a NIC does) for servers and clients, raw API and WSK, and prints per run
# each line of interest: its class (the stack's own code, DPDK's, the benchmark's), how often
# per connection the least frequent of its writers writes it (one writer: how often another
# engine reads it), and where it is written. A stack line used that often (0.25 per
# connection) is a shared write on the hot path; --check exits 1 on one (test
# sharing-pathlen runs it so). Lines used more rarely are amortized by design (the socket
# table's lock, once per 64 sockets an lcore takes; the mempool's ring when a cache spills).
# Valgrind runs one thread at a time, so the transfers column is a lower bound of the HITMs
# two cores would see; which lines are shared does not depend on it.
#
#   bench/sharing.sh [--queues 2] [--connections 300] [--modes raw,wsk]
#                    [--sides server,client] [--out DIR] [--check]
#   writes DIR/sharing.txt (default bench/results) and the reports in DIR/sharing/;
#   DPW_BUILD=DIR picks the build. Needs valgrind with its development files (the Debian
#   package has them; scripts/setup.sh installs it); no root, no network. About 3 s a run.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "sharing.sh: $*" >&2; exit 2; }
QUEUES=2 CONNS=300 MODES=raw,wsk SIDES=server,client OUT=$SRC/bench/results CHECK=0
while [ $# -gt 0 ]; do
	case "$1" in
	--check) CHECK=1; shift; continue ;;
	esac
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--queues) QUEUES=$2 ;;
	--connections) CONNS=$2 ;;
	--modes) MODES=$2 ;;
	--sides) SIDES=$2 ;;
	--out) OUT=$2 ;;
	*) die "unknown option '$1'" ;;
	esac
	shift 2
done
[[ "$QUEUES" =~ ^[2-8]$ ]] || die "--queues wants 2..8 (one engine shares nothing)"
[[ "$CONNS" =~ ^[0-9]+$ ]] && [ "$CONNS" -ge 100 ] && [ "$CONNS" -le 100000 ] ||
	die "--connections 100..100000"
[[ "$MODES" =~ ^(raw|wsk)(,(raw|wsk))*$ ]] || die "--modes wants raw, wsk or raw,wsk"
[[ "$SIDES" =~ ^(server|client)(,(server|client))*$ ]] ||
	die "--sides wants server, client or server,client"
BUILD=${DPW_BUILD:-$SRC/build}
PROG=$BUILD/bench/dpwsk-pathlen
TOOLDIR=$BUILD/bench/sharing
command -v valgrind >/dev/null || die "valgrind is not installed (scripts/setup.sh)"
[ -x "$PROG" ] || die "no $PROG: build first (scripts/setup.sh)"
[ -x "$TOOLDIR/sharegrind-amd64-linux" ] ||
	die "no $TOOLDIR/sharegrind-amd64-linux: meson skipped it (see its message at setup)"
mkdir -p "$OUT/sharing"
OUT=$(cd "$OUT" && pwd)
txt=$OUT/sharing.txt
{
	echo "# sharegrind over dpwsk-pathlen, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, Q=$QUEUES"
	echo "# engines a side, $CONNS connections after 200 not measured, 32 x Q in flight"
} >"$txt"
status=0
for side in ${SIDES//,/ }; do
for mode in ${MODES//,/ }; do
	report=$OUT/sharing/$side-$mode.txt log=$OUT/sharing/$side-$mode.log
	args=(--side "$side" --queues "$QUEUES" --peer-queues "$QUEUES" --connections "$CONNS"
	      --in-flight $((32 * QUEUES)))
	[ "$mode" = raw ] || args+=(--wsk)
	echo "sharing.sh: $side $mode Q=$QUEUES ..." >&2
	if ! VALGRIND_LIB=$TOOLDIR valgrind --tool=sharegrind --top=1000000 --window=counted_pass \
		--window=counted_client_work --read-inline-info=yes --out="$report" "$PROG" \
		"${args[@]}" >"$log" 2>&1; then
		tail -n 5 "$log" >&2
		die "dpwsk-pathlen failed under sharegrind at $side $mode (see $log)"
	fi
	{
		echo "$side $mode: $(grep '^sharegrind: threads=' "$report")"
		python3 "$SRC/bench/sharing/summary.py" "$report" "$log" $([ $CHECK = 1 ] && echo --check)
	} >>"$txt" 2>&1 || status=1
done
done
cat "$txt"
exit $status
