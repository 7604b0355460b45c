#!/bin/bash
# ping: the stack answers ARP and ICMP echo from the Linux peer; its counters agree.
#   scripts/netns.sh run tests/integration/ping.sh   (or run it directly: it enters netns.sh)
. "$(dirname "$0")/lib.sh"
dpw_init ping

stack_start
# The ready line: once, with the interface's MAC, our address, the echo port.
assert_eq ready-once 1 "$(grep -c '^dpwsk: ready ' "$STACK_OUT")"
assert_eq ready-mac "$DPW_MAC_STACK" "$STACK_MAC"
assert_eq ready-ip "$DPW_IP_STACK" "$(sed -n 's/^dpwsk: ready .* ip=\([^ ]*\).*/\1/p' "$STACK_OUT")"
assert_eq ready-echo 7 "$(sed -n 's/^dpwsk: ready .* echo=\([^ ]*\).*/\1/p' "$STACK_OUT")"

s0=$(stack_stats) || fatal stats-before "no stats line"
k0=$(softnet_drops)

# Echo requests 50 ms apart until 20 are answered, 15 s at most (-w). Not -c 20 -W 2 alone:
# once some reply came, iputils' ping waits only max(2 RTTs, the interval) after its last
# request, and on a busy machine a late reply went uncounted. With a deadline it sends more
# requests when replies are missing, so at least 20 go out.
out=$(peer timeout 20 ping -n -c 20 -i 0.05 -w 15 "$DPW_IP_STACK" 2>&1)
echo "$out" | tail -n 2
requests=$(sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' <<<"$out")
assert_ge requests 20 "$requests"
replies=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out")

s1=$(stack_stats) || fatal stats-after "no stats line"
k1=$(softnet_drops)
d() { echo $(($(stat_get "$s1" "$1") - $(stat_get "$s0" "$1"))); }
# Every request that reached dpwsk was answered: as many replies as requests in (plus ARP
# either way). A request that did not reach it is excused only where the kernel counted a drop
# meanwhile (its backlog, or the packet socket's ring: rx_missed), and the test says so.
dups=$(sed -n 's/.*+\([0-9]\+\) duplicates.*/\1/p' <<<"$out")
assert_eq duplicates 0 "${dups:-0}"
# More than 20 may be counted: replies that arrive together are all taken (assert_answered).
if [ "$replies" -ge 20 ] && [ "$replies" -le "$requests" ]; then
	pass replies "$replies of $requests"
elif [ "$replies" -ge 1 ] && [ $((k1 - k0 + $(d rx_missed))) -gt 0 ]; then
	pass replies "$replies of 20: $((20 - replies)) lost where the kernel dropped frames (softnet backlog drops meanwhile: $((k1 - k0)), rx_missed: $(d rx_missed))"
else
	fail replies "expected 20, saw $replies, and the kernel counted no drop meanwhile"
fi
assert_ge rx-packets "$replies" "$(d rx_packets)"
assert_ge tx-packets "$replies" "$(d tx_packets)"
assert_eq rx-dropped 0 "$(d rx_dropped)"
assert_eq tx-dropped 0 "$(d tx_dropped)"
assert_eq drop-icmp 0 "$(d drop_icmp)"
assert_eq mbufs-back "$(stat_get "$s1" mbuf_idle)" "$(stat_get "$s1" mbuf_in_use)"

stack_stop
dpw_finish
