#!/bin/bash
# bench_lcores_smoke: bench/lcores.sh (one engine against two on one port) runs end to end:
# one 1-second run of each, rawecho as the server and dpwsk-connclose as the WSK client, in
# this test's topology; exit status 0, a line per run with conn/s
# above zero and no client error, both medians, the ratios of busy cycles and of busy CPU time
# per connection, and nothing of it left running. No figure is judged: the machine is shared.
#   scripts/netns.sh run tests/apps/bench_lcores_smoke.sh   (or run it directly)
. "$(dirname "$0")/../integration/lib.sh"
dpw_init python3

LOG=$DPW_TMP/lcores.log
bash "$DPW_SRC/bench/lcores.sh" --runs 1 --seconds 1 --out "$DPW_TMP/out" >"$LOG" 2>&1 &
PID=$!
dpw_track "$PID"
if dpw_wait_exit "$PID" 300; then
	rc=$DPW_RC
else
	dpw_kill "$PID"
	rc=timeout
fi
assert_eq exit-status 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/  lcores.sh: /' "$LOG" | tail -n 20
for side in server echo rr wsk; do
	unit=connection
	[ "$side" = rr ] && unit=transaction
	for q in 1 2; do
		line=$(grep "\\[$side run 1\\] Q=$q " "$LOG" || true)
		rate=$(awk '{ print int($5) }' <<<"$line")
		[ "${rate:-0}" -gt 0 ] && pass "$side-q$q-conn-per-s" "$line" ||
			fail "$side-q$q-conn-per-s" "'$line'"
		assert_eq "$side-q$q-errors-0" 0 "$(sed -n 's/.*errors \([0-9?]*\).*/\1/p' <<<"$line")"
		grep -q "^median $side *Q=$q " "$LOG" && pass "$side-q$q-median" ||
			fail "$side-q$q-median" "no median line"
	done
	grep -q "^$side: busy cycles per $unit, Q=2 / Q=1: [0-9.]*" "$LOG" &&
		pass "$side-ratio-line" || fail "$side-ratio-line" "no ratio line"
	# The CPU time of busy passes was counted (--busy-cpu) on both: a ratio of two figures.
	grep -q "^$side: busy CPU per $unit, Q=2 / Q=1: [0-9]*\.[0-9]*[1-9]" "$LOG" &&
		pass "$side-cpu-ratio-line" || fail "$side-cpu-ratio-line" "no busy CPU ratio line"
done
[ -s "$DPW_TMP/out/lcores.txt" ] && pass report-written || fail report-written "no lcores.txt"
assert_eq no-processes-left "" "$(ip netns pids "$DPW_NS_STACK"; ip netns pids "$DPW_NS_PEER")"
dpw_finish
