#!/bin/bash
# telemetry: the stack's counters are readable while it runs through DPDK telemetry
# (dpdk-telemetry.py, command /dpwsk/stats), and they agree with the SIGUSR1 stats line.
#   scripts/netns.sh run tests/integration/telemetry.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init ping dpdk-telemetry.py

stack_start
# (-w: until 5 replies, not "2 RTTs after the last request", which a busy machine exceeds)
out=$(peer timeout 20 ping -n -c 5 -i 0.05 -w 15 "$DPW_IP_STACK" 2>&1)
assert_answered replies 5 "$out"

line=$(stack_stats) || fatal stats "no stats line"
# The telemetry socket lives in the stack's EAL runtime directory, named by its file prefix.
json=$(echo /dpwsk/stats | timeout 20 dpdk-telemetry.py -f "dpwsk-$STACK_PID" 2>&1)
tel() {
	python3 -c '
import json, sys
text = sys.stdin.read()
# dpdk-telemetry.py prints a banner, then one JSON object per command.
obj = json.loads(text[text.index("{\"/dpwsk/stats\""):].splitlines()[0])
print(obj["/dpwsk/stats"][sys.argv[1]])' "$1" <<<"$json"
}
v=$(tel rx_packets 2>/dev/null) || fatal telemetry-json "no /dpwsk/stats object in: $json"
# Telemetry reads a snapshot at most a millisecond old, taken after the stats line: the
# counters can only have grown since, and nothing arrives without the test sending it.
assert_ge telemetry-rx-packets "$(stat_get "$line" rx_packets)" "$v"
assert_ge telemetry-rx-at-least-pings 5 "$v"
assert_eq telemetry-rx-dropped "$(stat_get "$line" rx_dropped)" "$(tel rx_dropped)"
assert_eq telemetry-mbuf-total "$(stat_get "$line" mbuf_total)" "$(tel mbuf_total)"

stack_stop
dpw_finish
