#!/bin/bash
# bench_ipv6_smoke: bench/ipv6.sh runs end to end (one 1-second round per stack and family) in
# this test's IPv6 topology: exit status 0, a figure above zero for each of the four runs,
# the ratio lines. No performance figure is asserted on (a shared machine); what this guards
# is that the benchmark keeps working.
#   DPW_TOPO_IPV6=1 scripts/netns.sh run tests/apps/bench_ipv6_smoke.sh
. "$(dirname "$0")/../integration/lib.sh"
dpw_init
[ -n "${DPW_IP6_STACK:-}" ] || { echo "SKIP: the topology has no IPv6 (DPW_TOPO_IPV6=1)"; exit 77; }

LOG=$DPW_TMP/ipv6.log
bash "$DPW_SRC/bench/ipv6.sh" --rounds 1 --seconds 1 --concurrency 16 >"$LOG" 2>&1 &
BENCH_PID=$!
dpw_track "$BENCH_PID"
if dpw_wait_exit "$BENCH_PID" 120; then
	rc=$DPW_RC
else
	dpw_kill "$BENCH_PID"
	rc=timeout
fi
assert_eq exit-status 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/  ipv6.sh: /' "$LOG" | tail -n 20
for row in "dpwsk -> Linux" "Linux -> Linux"; do
	line=$(grep "^$row " "$LOG" || true)
	assert_ge "$row IPv4" 1 "$(awk '{print $(NF-2)}' <<<"$line")"
	assert_ge "$row IPv6" 1 "$(awk '{print $(NF-1)}' <<<"$line")"
done
grep -q '^dpwsk / Linux ' "$LOG" && pass ratio-line || fail ratio-line "no 'dpwsk / Linux' line"
assert_eq no-processes-left "" "$(ip netns pids "$DPW_NS_STACK"; ip netns pids "$DPW_NS_PEER")"
dpw_finish
