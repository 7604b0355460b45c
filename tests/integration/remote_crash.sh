#!/bin/bash
# remote_crash: one crafted segment from a client must not kill a dpwsk server (issue 10's
# remote crash). dpwsk-echo serves; a Linux client opens an ordinary connection, echoes a
# line, then injects on that same connection, from a raw socket, a segment whose sequence
# number is rcv_nxt + 2^31: lwIP 2.1.3 took it as overlapping rcv_nxt and aborted on
# LWIP_ASSERT("insane offset!") (fixed by subprojects/packagefiles/lwip-0002). Each kind of
# segment on a connection of its own: one data byte, a bare FIN, and the neighbours of the
# 2^31 boundary. For each: the stack ACKs with rcv_nxt unchanged (the segment is outside the
# window), the connection still echoes, and at the end the server stops cleanly (status 0,
# every mbuf back) instead of having died of SIGABRT.
#   scripts/netns.sh run tests/integration/remote_crash.sh   (or run it directly)
STACK_PROG=${STACK_PROG:-${DPW_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}/apps/echo/dpwsk-echo}
. "$(dirname "$0")/lib.sh"
dpw_init python3

INJECT=$DPW_LIB_DIR/tcp_inject.py
stack_start

# inject NAME KIND OFFSET: one connection, one crafted segment, tcp_inject.py's checks.
inject() {
	local out rc
	out=$(peer timeout 20 python3 "$INJECT" "$2" "$3" 2>&1)
	rc=$?
	sed "s/^/  $1: /" <<<"$out"
	grep -q '^acked ' <<<"$out" && pass "$1-acked-rcv-nxt-unchanged" ||
		fail "$1-acked-rcv-nxt-unchanged" "$(grep -E '^(FAIL|no |Trace|[A-Za-z]*Error)' <<<"$out" | head -n1)"
	grep -q '^echo-after ok' <<<"$out" && pass "$1-still-echoes" ||
		fail "$1-still-echoes" "tcp_inject.py exited $rc"
	if dpw_alive "$STACK_PID"; then
		pass "$1-server-alive"
	else
		fatal "$1-server-alive" "dpwsk-echo died: $(tail -n 3 "$STACK_ERR" | tr '\n' '|')"
	fi
}

inject data-at-2^31 data 0x80000000
inject fin-at-2^31 fin 0x80000000
inject data-at-2^31-1 data 0x7fffffff
inject data-at-2^31+1 data 0x80000001
inject fin-at-2^31+1 fin 0x80000001

stack_stop
dpw_finish
