#!/bin/bash
# host_echo: a TCP echo server written as a Windows WSK driver (examples/drivers/echo_server.c:
# DriverEntry, a listening system thread, a thread per connection, KEVENT-synchronous IRPs
# that signal only if PendingReturned, WSK-W1, W2) runs unchanged under dpwsk-host, against
# Linux's nc: a line; 1 MiB of random bytes back sha256-identical; three clients at once.
# Then SIGTERM: DriverUnload must end a connection still open (it cancels the connection's
# receive and closes the socket), stop every thread and free everything: the host reports
# nothing left behind and exits 0.
#   scripts/netns.sh run tests/apps/host_echo.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init nc sha256sum head
STACK_PROG=$DPW_BUILD/apps/host/dpwsk-host
DRIVER=$DPW_BUILD/examples/drivers/echo_server.so
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"
[ -f "$DRIVER" ] || fatal build "$DRIVER not built"
PORT=7007

stack_start "$DRIVER"
wait_file_grep "$STACK_ERR" "listening on TCP port $PORT" 10 ||
	fatal listening "the driver never said it listens: $(head -c 400 "$STACK_ERR")"

# 1. One line: nc -N half-closes after it; the driver echoes, then disconnects gracefully.
line="hello from a Windows driver $RANDOM$RANDOM"
got=$(echo "$line" | peer timeout 10 nc -N "$DPW_IP_STACK" $PORT)
assert_eq line-nc-status 0 "$?"
assert_eq line-echoed "$line" "$got"

# 2. 1 MiB of random bytes, identical back.
head -c $((1024 * 1024)) /dev/urandom >"$DPW_TMP/big.in"
peer timeout 60 nc -N "$DPW_IP_STACK" $PORT <"$DPW_TMP/big.in" >"$DPW_TMP/big.out"
assert_eq big-nc-status 0 "$?"
assert_eq big-sha256 "$(sha "$DPW_TMP/big.in")" "$(sha "$DPW_TMP/big.out")"

# 3. Three clients at once, each with its own line (a thread each in the driver).
pids=()
for k in 1 2 3; do
	peer_bg bash -c 'echo "$1" | timeout 20 nc -N "$2" "$3"' _ "client $k $RANDOM" \
		"$DPW_IP_STACK" $PORT >"$DPW_TMP/c$k.out" 2>&1 </dev/null
	pids+=("$PEER_PID")
done
ok=0
for k in 1 2 3; do
	dpw_wait_exit "${pids[$((k - 1))]}" 30 && [ "$DPW_RC" = 0 ] &&
		grep -q "^client $k [0-9]*\$" "$DPW_TMP/c$k.out" && ok=$((ok + 1))
done
assert_eq three-at-once 3 "$ok"

# 4. A connection left open at unload: the driver's DriverUnload cancels its receive and
#    closes it.
mkfifo "$DPW_TMP/open.fifo"
exec 7<>"$DPW_TMP/open.fifo"
peer_bg bash -c 'timeout 30 nc "$1" "$2"' _ "$DPW_IP_STACK" $PORT <"$DPW_TMP/open.fifo" \
	>"$DPW_TMP/open.out" 2>&1 7>&-
open_pid=$PEER_PID
echo "still here" >&7
wait_file_grep "$DPW_TMP/open.out" "still here" 10 ||
	fail open-echoed "the open connection's line did not come back"

stack_stop   # SIGTERM: DriverUnload, the leak report, exit status 0 (3 if anything leaked)
exec 7>&-
if grep -q "echo_server unloaded, nothing left behind" "$STACK_ERR"; then
	pass unload-clean "$(grep 'unloaded' "$STACK_ERR" | tr '\n' ' ')"
else
	fail unload-clean "$(grep -v '^dpwsk: stats' "$STACK_ERR" | tail -n 8 | tr '\n' '|')"
fi
if dpw_wait_exit "$open_pid" 10; then
	pass open-connection-ended "nc exited with status $DPW_RC"
else
	fail open-connection-ended "nc still connected after the driver unloaded"
	dpw_kill "$open_pid"
fi
dpw_finish
