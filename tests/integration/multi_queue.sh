#!/bin/bash
# multi_queue: dpwsk-rawecho --queues 2 on the veth (net_af_packet with two queue pairs, the
# kernel's fanout spreading flows over them): two engines, each with its own lwIP on its own
# thread (issue 15). 40 concurrent Linux clients and one nc transfer must all be echoed
# whole; both engines must have accepted connections (the steering hash spreads them); frames
# the kernel put on the other engine's queue must have been steered, none dropped; at the end
# every mbuf is back (the port's last engine says otherwise on stderr) and the exit is clean;
# telemetry totals the two engines and gives each; 6,000 connections opened and closed by a
# Linux client while their frames are steered leave nothing behind.
#   scripts/netns.sh run tests/integration/multi_queue.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init nc python3 sha256sum head dpdk-telemetry.py

stack_start --queues 2

# 1. 40 connections at once, each a different 16 KiB, each echoed back whole.
read -r -d '' CLIENTS_PY <<'PY'
import os, socket, sys, threading
host, n = sys.argv[1], int(sys.argv[2])
ok = []
def one(i):
    data = os.urandom(16384)
    try:
        with socket.create_connection((host, 7), timeout=20) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        if got == data:
            ok.append(i)
        else:
            print(f"connection {i}: {len(got)} of {len(data)} bytes, differing", flush=True)
    except OSError as e:
        print(f"connection {i}: {e}", flush=True)
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join(30)
print(f"echoed {len(ok)} of {n}")
PY
out=$(peer timeout 60 python3 -c "$CLIENTS_PY" "$DPW_IP_STACK" 40)
echo "$out" | sed 's/^/  clients: /'
assert_eq concurrent-40 "echoed 40 of 40" "$(tail -n1 <<<"$out")"

# 2. 4 MiB through one connection, byte-identical.
head -c $((4 * 1024 * 1024)) /dev/urandom >"$DPW_TMP/big.in"
peer timeout 30 nc -N "$DPW_IP_STACK" 7 <"$DPW_TMP/big.in" >"$DPW_TMP/big.out"
assert_eq big-nc-status 0 "$?"
assert_eq big-sha256 "$(sha256sum <"$DPW_TMP/big.in" | cut -d' ' -f1)" \
	"$(sha256sum <"$DPW_TMP/big.out" | cut -d' ' -f1)"

# 3. Connections opened and closed as fast as a Linux client can while their frames are being
# steered between the engines: 3,000 exchange cycles (64 bytes each way, the client closes
# first) and 3,000 resets right after the handshake, 32 at a time. Every cycle completes, and
# afterwards no connection is left on either engine (the client holds the TIME_WAITs).
kdrops0=$(softnet_drops)
for mode in exchange rst; do
	out=$(peer timeout 120 "$DPW_BUILD/bench/linux-connclose" --cycles 3000 --concurrency 32 \
		--mode "$mode" --bytes 64 --json "$DPW_IP_STACK:7" 2>&1)
	res=$(python3 -c 'import json, sys
o = json.loads(sys.stdin.read().strip().splitlines()[-1]); print(o["cycles"], o["errors"])' \
		<<<"$out" 2>/dev/null) || res="? ?"
	read -r cycles errors <<<"$res"
	assert_eq "storm-$mode-cycles" 3000 "$cycles"
	assert_eq "storm-$mode-errors" 0 "$errors"
	[ "$errors" = 0 ] || echo "  linux-connclose: $(tail -c 400 <<<"$out")"
done
for ((i = 0; i < 100; i++)); do   # the last closes may still be in flight: 10 s at most
	s=$(stack_stats) || fatal storm-stats "no stats line"
	[ "$(stat_get "$s" tcp_pcbs)" = "$(stat_get "$s" tcp_time_wait)" ] && break
	sleep 0.1
done
KDROPS=$(($(softnet_drops) - kdrops0))
assert_eq storm-no-connection-left 0 $(( $(stat_get "$s" tcp_pcbs) - $(stat_get "$s" tcp_time_wait) ))
assert_eq storm-steer-dropped 0 "$(stat_get "$s" steer_dropped)"

# 4. Telemetry: /dpwsk/stats totals both engines (the shared mbuf pool once), /dpwsk/engine,N
# gives each, with its queue. Sizes are fixed, so they must add up exactly; a frame counter,
# read later for the engines than for the total, can only have grown.
json=$(printf '/dpwsk/stats\n/dpwsk/engine,0\n/dpwsk/engine,1\n' |
	timeout 20 dpdk-telemetry.py -f "dpwsk-$STACK_PID" 2>&1)
tel=$(python3 -c '
import json, sys
# One object per command, in order, each keyed by the command without its parameter.
objs = [json.loads(l) for l in sys.stdin.read().splitlines() if l.startswith("{\"/dpwsk/")]
t, e0, e1 = objs[0]["/dpwsk/stats"], objs[1]["/dpwsk/engine"], objs[2]["/dpwsk/engine"]
print(t["engines"], sorted([e0["queue"], e1["queue"]]) == [0, 1],
      t["tcp_pcbs_total"], e0["tcp_pcbs_total"] + e1["tcp_pcbs_total"],
      t["mbuf_total"], e0["mbuf_total"], e1["mbuf_total"],
      t["rx_packets"], e0["rx_packets"] + e1["rx_packets"])' <<<"$json" 2>&1)
if read -r engines queues pcbs pcbs01 mbufs mbufs0 mbufs1 rx rx01 <<<"$tel" &&
	[[ "$rx01" =~ ^[0-9]+$ ]]; then
	assert_eq telemetry-engines 2 "$engines"
	assert_eq telemetry-queues-0-and-1 True "$queues"
	assert_eq telemetry-pcbs-summed "$pcbs01" "$pcbs"
	assert_eq telemetry-pool-once "$mbufs0 $mbufs0" "$mbufs $mbufs1"
	assert_ge telemetry-rx-summed "$rx" "$rx01"
	[ "$rx" -gt 0 ] && pass telemetry-rx "$rx frames in all" || fail telemetry-rx "0 frames"
else
	fail telemetry "$tel; dpdk-telemetry.py said: $(head -c 600 <<<"$json")"
fi

# 5. Stop: each engine reports what it accepted and its counters.
pid=$STACK_PID
kill -TERM "$pid" 2>/dev/null
if ! dpw_wait_exit "$pid" 20; then
	dpw_kill "$pid"
	fatal stop-exit "dpwsk-rawecho still running 20 s after SIGTERM (killed)"
fi
STACK_PID=
assert_eq stop-exit-status 0 "$DPW_RC"
grep '^dpwsk: queue \|^dpwsk: stats ' "$STACK_OUT" | sed 's/^/  stack: /'
a0=$(sed -n 's/^dpwsk: queue 0 accepted=//p' "$STACK_OUT")
a1=$(sed -n 's/^dpwsk: queue 1 accepted=//p' "$STACK_OUT")
# A reset cycle is accepted unless its handshake's last ACK never reached the engine before
# the RST: a frame the port missed (its kernel ring full), one the kernel dropped on its way to
# the port (a full input backlog, softnet, machine-wide), or an ACK its own RST overtook. The
# peer's kernel queues a frame on the backlog of the CPU that sends it; the ACK goes out from
# the softirq that took the SYN-ACK, the RST from the client's close() on another CPU, and on
# a loaded machine the first backlog may wait. The engine then frees the half-open connection
# at the RST (lwIP calls nobody) and answers the late ACK with a RST: syn_reset_half_open and
# syn_ack_in_listen count these (lwip-0023). Each accounts for at most one cycle.
final=$(sed -n 's/^dpwsk: stats //p' "$STACK_OUT" | tail -n1)
missed=$(stat_get "$final" rx_missed)
overtaken=$(stat_get "$final" syn_reset_half_open)
late_acks=$(stat_get "$final" syn_ack_in_listen)
# Seen twice before the counters above existed: one reset cycle in 3,000 unaccepted with no
# frame missed or dropped. Up to one in 3,000 beyond what the counters explain is still
# allowed, and said, so that it stays visible if the explanation above is not the whole one.
lost_max=$(( ${missed:-0} + KDROPS + ${overtaken:-0} ))
accepted=$(( ${a0:-0} + ${a1:-0} ))
if [ "$lost_max" != 0 ]; then
	echo "  the port missed ${missed:-0} frame(s), the kernel dropped $KDROPS, and" \
		"${overtaken:-0} handshake(s) were reset before their last ACK arrived" \
		"(${late_acks:-0} late ACKs answered with a RST): up to $lost_max reset cycle(s)" \
		"may go unaccepted"
fi
if [ "$accepted" -lt $((41 + 6000 - lost_max)) ]; then
	echo "  UNEXPLAINED: $((41 + 6000 - lost_max - accepted)) reset cycle(s) unaccepted" \
		"beyond what the counters account for (allowed: 1 in 3,000 of them)"
fi
assert_ge accepted-all $((41 + 6000 - lost_max - 1)) "$accepted"
if [ "${a0:-0}" -gt 0 ] && [ "${a1:-0}" -gt 0 ]; then
	pass spread "queue 0 accepted $a0, queue 1 accepted $a1"
else
	fail spread "expected connections on both engines, saw ${a0:-none} and ${a1:-none}"
fi
steered=0 dropped=0 errors=0 received=0 rx_sum=0
while read -r line; do
	received=$((received + $(stat_get "$line" rx_packets) - $(stat_get "$line" steer_copies)))
	rx_sum=$((rx_sum + $(stat_get "$line" rx_packets)))
	steered=$((steered + $(stat_get "$line" steered_out)))
	dropped=$((dropped + $(stat_get "$line" steer_dropped)))
	errors=$((errors + $(stat_get "$line" lwip_errors)))
done < <(sed -n 's/^dpwsk: queue [0-9]* stats //p' "$STACK_OUT")
# The process's line is the engines' total (the pool once).
total=$(sed -n 's/^dpwsk: stats //p' "$STACK_OUT" | tail -n1)
assert_eq total-rx-summed "$rx_sum" "$(stat_get "$total" rx_packets)"
assert_eq total-pool-once "$(sed -n 's/^dpwsk: queue 0 stats //p' "$STACK_OUT" |
	{ read -r l; stat_get "$l" mbuf_total; })" "$(stat_get "$total" mbuf_total)"
# Each frame is counted once, by the engine whose lwIP took it (copies aside).
echo "steered: $steered of $received frames ($((100 * steered / (received > 0 ? received : 1)))%) reached the engine that does not own them"
if [ "$steered" -gt 0 ]; then
	pass steered "$steered frames handed to the engine that owns them"
else
	fail steered "no frame was steered: the kernel's fanout and the steering hash agreed on all 41 flows?"
fi
assert_eq steer-dropped 0 "$dropped"
assert_eq lwip-errors 0 "$errors"
if grep -q "not back in the pool" "$STACK_ERR"; then
	fail mbufs-back "$(grep "not back in the pool" "$STACK_ERR")"
else
	pass mbufs-back
fi
if [ -e "$DPW_RUNDIR/dpwsk-$pid" ]; then
	fail no-runtime-dir "$DPW_RUNDIR/dpwsk-$pid left behind"
else
	pass no-runtime-dir
fi
[ -s "$STACK_ERR" ] && sed 's/^/  stack stderr: /' "$STACK_ERR"
dpw_finish
