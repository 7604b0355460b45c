#!/bin/bash
# host_udp: a UDP client written as a Windows WSK driver (examples/drivers/udp_client.c) runs
# unchanged under dpwsk-host. Its configuration comes from its registry key (--param), its
# server's address from WskGetAddressInfo (a name in a hosts file, DPW_HOSTS_FILE), and each
# reply is waited for with a KEVENT and a timeout. Against a Linux UDP echo socket in the peer
# namespace: 5 datagrams sent, 5 echoed, on both sides' count. Against a port nobody answers:
# each receive times out and is cancelled with IoCancelIrp (STATUS_CANCELLED, WSK-C2's
# promise for a cancel). Unload clean each time. Without its parameters, DriverEntry fails and
# the host says so (exit 1).
#   scripts/netns.sh run tests/apps/host_udp.sh   (or run it directly)
. "$(dirname "$0")/apps_lib.sh"
dpw_init python3
STACK_PROG=$DPW_BUILD/apps/host/dpwsk-host
DRIVER=$DPW_BUILD/examples/drivers/udp_client.so
[ -x "$STACK_PROG" ] || fatal build "$STACK_PROG not built"
[ -f "$DRIVER" ] || fatal build "$DRIVER not built"
PORT=7008

# The echo socket: every datagram back to its sender; prints how many it echoed when it has
# seen 5, or after 30 s.
peer_bg python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
n, end = 0, time.time() + 30
while n < 5 and time.time() < end:
    try:
        d, a = s.recvfrom(2048)
    except socket.timeout:
        continue
    s.sendto(d, a)
    n += 1
print("echoed", n, flush=True)
' "$DPW_IP_PEER" $PORT >"$DPW_TMP/echo.out" 2>&1 </dev/null
echo_pid=$PEER_PID
wait_listen udp $PORT || fatal echo-listening "the peer's echo socket did not open"

printf '# hosts for the driver\n%s peer.test\n' "$DPW_IP_PEER" >"$DPW_TMP/hosts"
export DPW_HOSTS_FILE=$DPW_TMP/hosts
stack_start "$DRIVER" --param Server=peer.test --param Port=$PORT --param Count=5
if wait_file_grep "$STACK_ERR" "sent 5, echoed 5" 20; then
	pass five-echoed "$(grep -c '^udp_client: reply' "$STACK_ERR") replies"
else
	fail five-echoed "$(grep '^udp_client' "$STACK_ERR" | tail -n 6 | tr '\n' '|')"
fi
dpw_wait_exit "$echo_pid" 30
assert_eq peer-echoed "echoed 5" "$(cat "$DPW_TMP/echo.out")"
stack_stop
wait_file_grep "$STACK_ERR" "udp_client unloaded, nothing left behind" 1 &&
	pass unload-clean || fail unload-clean "$(tail -n 5 "$STACK_ERR" | tr '\n' '|')"

# Nobody answers: two receives time out after 2 s each and are cancelled.
stack_start "$DRIVER" --param Server="$DPW_IP_PEER" --param Port=$((PORT + 1)) --param Count=2
if wait_file_grep "$STACK_ERR" "sent 2, echoed 0" 20; then
	assert_eq timeouts-cancelled 2 "$(grep -c 'no reply to datagram .*: 0xc0000120' "$STACK_ERR")"
else
	fail timeouts "$(grep '^udp_client' "$STACK_ERR" | tail -n 6 | tr '\n' '|')"
fi
stack_stop
wait_file_grep "$STACK_ERR" "udp_client unloaded, nothing left behind" 1 &&
	pass unload-clean-2 || fail unload-clean-2 "$(tail -n 5 "$STACK_ERR" | tr '\n' '|')"

# No parameters: DriverEntry fails with STATUS_OBJECT_NAME_NOT_FOUND, the host exits 1.
ip netns exec "$DPW_NS_STACK" "$STACK_PROG" --iface "$DPW_IF_STACK" \
	--ip "$DPW_IP_STACK/$DPW_PREFIX" "$DRIVER" >"$DPW_TMP/noparam.out" 2>"$DPW_TMP/noparam.err" &
noparam=$!
dpw_track "$noparam"
if dpw_wait_exit "$noparam" 20; then
	assert_eq no-params-exit 1 "$DPW_RC"
	if grep -q "DriverEntry of udp_client failed: STATUS_OBJECT_NAME_NOT_FOUND" "$DPW_TMP/noparam.err"; then
		pass no-params-said
	else
		fail no-params-said "$(tail -n 3 "$DPW_TMP/noparam.err" | tr '\n' '|')"
	fi
else
	dpw_kill "$noparam"
	fail no-params-exit "the host still runs 20 s after a failed DriverEntry"
fi
dpw_finish
