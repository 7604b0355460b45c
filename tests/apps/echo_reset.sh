#!/bin/bash
# echo_reset: dpwsk-echo under clients that reset their connections (what a connect/close
# load generator does), and under a client that sends without ever reading.
#   1. 200 connections open at once, then each closed with a RST (SO_LINGER 0): a third
#      right after connecting, a third after sending data it never reads, a third after
#      reading its echo. The server must see 200 accepts and 200 resets, and free them all:
#      its sockets back to its two own (WSK-C8), no connection, no pcb, every mbuf back.
#   2. A stalled reader: the echo stops taking data (bounded mbufs, the "held" counter)
#      instead of buffering without limit; its RST frees it all again.
#   3. The server still echoes afterwards.
#   4. With --idle-timeout 1, a connection that goes quiet is reset by the server (what
#      frees a connection whose client's RST was lost on the way).
#   scripts/netns.sh run tests/apps/echo_reset.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc python3
STACK_PROG=$DPW_ECHO
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"

N=200
read -r -d '' RESETTER <<'PY'
import os, socket, struct, sys
n, ip = int(sys.argv[1]), sys.argv[2]
conns, echoed = [], 0
for i in range(n):
    s = socket.create_connection((ip, 7), timeout=10)
    conns.append(s)
for i, s in enumerate(conns):
    if i % 3 == 1:
        s.sendall(b"x" * 1000)              # unread data on both sides at the RST
    elif i % 3 == 2:
        msg = b"echo %d\n" % i
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(100)
            if not b:
                sys.exit("connection %d closed early" % i)
            got += b
        echoed += got == msg
linger = struct.pack("ii", 1, 0)
for s in conns:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    s.close()                                # RST
print("reset %d echoed %d" % (len(conns), echoed), flush=True)
PY

stack_start
app_stats || fatal stats "no stats block"
idle=$(stats_get mbuf_in_use)

# 1. 200 resets.
out=$(peer timeout 60 python3 -c "$RESETTER" "$N" "$DPW_IP_STACK" 2>&1)
assert_eq resetter-output "reset $N echoed $((N / 3))" "$out"
if app_stats_until 20 '[ "$(wsk_get sockets_open)" = 2 ] && [ "$(echo_get conns)" = 0 ] &&
	[ "$(stats_get tcp_pcbs)" = 0 ] && [ "$(stats_get mbuf_in_use)" -le "$idle" ]'; then
	pass resets-all-freed "$(echo_state)"
else
	fail resets-all-freed "$(echo_state) (idle mbufs: $idle)"
fi
assert_eq resets-accepted "$N" "$(echo_get accepted)"
assert_eq resets-seen "$N" "$(echo_get resets)"
assert_eq resets-refused 0 "$(echo_get refused)"

# 2. A client that sends until its windows close and never reads. Our side may pin its send
#    buffer (128 KiB), what is out in sends (64 KiB and one indication) and one receive
#    window (128 KiB): about 230 segments of mbufs. 400 leaves room for headers and
#    small segments, and is still far from unbounded.
holder_start stall
app_stats || fatal stats "no stats block"
pinned=$(( $(stats_get mbuf_in_use) - idle ))
assert_ge stall-held 1 "$(echo_get held)"
if [ "$pinned" -le 400 ]; then
	pass stall-bounded "$pinned mbufs held for the stalled connection"
else
	fail stall-bounded "$pinned mbufs held for one stalled connection (bound 400)"
fi
kill -USR1 "$HOLDER_PID"
assert_eq stall-client-reset "closed with RST" "$(holder_reset_wait 10)"
if app_stats_until 20 '[ "$(wsk_get sockets_open)" = 2 ] && [ "$(echo_get conns)" = 0 ] &&
	[ "$(stats_get mbuf_in_use)" -le "$idle" ]'; then
	pass stall-freed "$(echo_state)"
else
	fail stall-freed "$(echo_state) (idle mbufs: $idle)"
fi

# 3. Still serving.
line="after the resets $RANDOM"
assert_eq still-echoes "$line" "$(echo "$line" | peer timeout 10 nc -N "$DPW_IP_STACK" 7)"

stack_stop

# 4. Idle timeout.
stack_start --idle-timeout 1
holder_start idle
assert_eq idle-client-reset "reset errno=104" "$(holder_reset_wait 15)"   # ECONNRESET
if app_stats_until 10 '[ "$(echo_get conns)" = 0 ] && [ "$(wsk_get sockets_open)" = 2 ]'; then
	pass idle-freed "idle_closed=$(echo_get idle_closed)"
else
	fail idle-freed "conns=$(echo_get conns) sockets_open=$(wsk_get sockets_open)"
fi
assert_eq idle-closed-count 1 "$(echo_get idle_closed)"
stack_stop
dpw_finish
