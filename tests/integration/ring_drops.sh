#!/bin/bash
# ring_drops: frames the kernel drops at dpwsk's af_packet rings are counted (rx_missed), so
# that a loss on a busy machine shows as one. DPDK 22.11's af_packet PMD reports none (its
# imissed stays 0); the port reads them from the kernel (stack/af_packet_drops.c).
#
# The stack is stopped (SIGSTOP: its lcores poll no more), the peer sends more UDP datagrams
# than the stack's rings hold (IFACE_FRAMES per queue, stack/engine_opts.c), and the stack goes
# on (SIGCONT). Checks:
#   - what the rings could not hold was counted missed (at least what the datagrams exceed
#     the rings by, less what the kernel dropped before the rings: softnet backlog drops);
#   - every datagram is received, or counted missed, or (over several queues) counted dropped
#     on its way to the engine that owns it (steer_dropped: the other engine's ring full, as
#     happens when the rings' backlog is handed on at once): no frame lost uncounted;
#   - the stack answers afterwards.
#   scripts/netns.sh run tests/integration/ring_drops.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init python3 ping

RING=$(sed -n 's/^#define IFACE_FRAMES *\([0-9]*\)u.*/\1/p' "$DPW_SRC/stack/engine_opts.c")
[ -n "$RING" ] || fatal ring "no IFACE_FRAMES in stack/engine_opts.c"
QUEUES=${DPW_QUEUES:-1}
SEND=$((RING * QUEUES + 4000))

stack_start
# ARP first: a datagram to an unresolved address waits in the peer's kernel, which keeps 3.
peer timeout 10 ping -n -c 1 -w 5 "$DPW_IP_STACK" >/dev/null || fatal arp "no answer to ping"
s0=$(stack_stats) || fatal stats-before "no stats line"
k0=$(softnet_drops)
# What the stack's interface took in and dropped (the kernel's counters), for the record.
if_rx() { ip -n "$DPW_NS_STACK" -s -o link show dev "$DPW_IF_STACK" | awk '{ for (i = 1; i <= NF; i++) if ($i == "RX:") { print $(i + 9), $(i + 11); exit } }'; }
read -r ifrx0 ifdrop0 < <(if_rx)
kill -STOP "$STACK_PID"
# Bounded: SEND datagrams, 200 at a time with 1 ms between (so the peer's own backlog, 1,000
# frames a CPU, keeps up), at most 20 s.
sent=$(peer timeout 20 python3 - "$DPW_IP_STACK" "$SEND" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
for i in range(int(sys.argv[2])):
    try:
        s.sendto(b"x" * 32, (sys.argv[1], 7))
        n += 1
    except OSError:
        pass
    if i % 200 == 199:
        time.sleep(0.001)
print(n)
PY
)
k1=$(softnet_drops)
read -r ifrx1 ifdrop1 < <(if_rx)
kill -CONT "$STACK_PID"
# The stack then takes what its rings held: counters until every datagram is received or
# missed, at most 10 s (then the check below says how many were not).
d() { echo $(($(stat_get "$s1" "$1") - $(stat_get "$s0" "$1"))); }
# Dropped before the rings: the kernel's backlogs (machine-wide) and the interface itself.
soft=$((k1 - k0 + ifdrop1 - ifdrop0))
for ((i = 0; i < 50; i++)); do
	s1=$(stack_stats) || fatal stats-after "no stats line"
	rx=$(d rx_packets) missed=$(d rx_missed) handoff=$(d steer_dropped)
	((rx + missed + handoff >= SEND - soft)) && break
	sleep 0.2   # the lcore drains its rings meanwhile; the condition above ends the wait
done
echo "the stack's interface: $((ifrx1 - ifrx0)) frames in, $((ifdrop1 - ifdrop0)) dropped"
echo "sent $sent datagrams into rings of $RING frames x $QUEUES queue(s) while the stack was stopped: received $rx, missed $missed, dropped on the way between engines $handoff; the kernel dropped $soft before the rings (backlogs, machine-wide, and the interface)"
assert_eq sent-all "$SEND" "$sent"
assert_ge missed-counted $((SEND - RING * QUEUES - soft)) "$missed"
# Machine-wide backlog drops (other tests' too) could excuse a count of 0 above: unless they
# could have kept the rings from overflowing, some must have been missed.
if ((soft < SEND - RING * QUEUES)); then
	assert_ge missed-some 1 "$missed"
fi
# Every datagram accounted for; a few more frames may come (ARP, IPv6 link-local chatter).
all=$((rx + missed + handoff))
if ((all >= SEND - soft && all <= SEND + 50)); then
	pass none-lost-uncounted "$all received, missed or dropped between engines, of $SEND"
else
	fail none-lost-uncounted "$all received, missed or dropped between engines, of $SEND (backlog drops $soft)"
fi
out=$(peer timeout 10 ping -n -c 3 -i 0.2 -w 8 "$DPW_IP_STACK" 2>&1)
assert_answered answers-after 3 "$out"
stack_stop
dpw_finish
