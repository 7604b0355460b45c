#!/bin/bash
# offload_tap: checksum offloads, on a port that has them. dpwsk-echo on net_tap (DPDK's tap
# PMD offers IPv4/TCP checksums and TSO on TX and checks them on RX), the kernel on the tap's other
# side, all in a namespace of this test's own (198.18.6.1 kernel, 198.18.6.2 dpwsk). With the
# offloads on (the default):
#   - the ready line names them, and 300 kB through nc come back identical, ping answers;
#   - tcpdump on the kernel's side finds every frame dpwsk sent with a correct IPv4 header
#     checksum and, for TCP, a correct TCP checksum, no segment above the MSS, and more TCP
#     frames than dpwsk handed over: TSO, segments of up to 62 KiB that the tap cut;
#   - the counters say frames went out with their checksums left to the device and came in
#     with checks the device made;
#   - a TCP SYN with a wrong checksum, sent from a packet socket on the tap, is dropped and
#     counted (drop_tcp_chksum), never answered: a frame the device flags bad is not waved on.
# With --no-offloads the same transfer works, offloads=none and those counters stay 0.
#   bash tests/apps/offload_tap.sh   (as root)
. "$(dirname "$0")/apps_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in tcpdump nc ping python3; do command -v $t >/dev/null || skip "$t not installed"; done
[ -x "$DPW_ECHO" ] || skip "$DPW_ECHO is not built"
DPW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dpw-$DPW_TEST.XXXXXX") || exit 1
NS=dpw-tap-$$-$RANDOM
TAP=dpwtap0 KIP=198.18.6.1 SIP=198.18.6.2
ECHO_PID= DUMP_PID=
cleanup() {
	[ -n "$ECHO_PID" ] && kill -TERM "$ECHO_PID" 2>/dev/null && dpw_wait_exit "$ECHO_PID" 10
	[ -n "$DUMP_PID" ] && kill -TERM "$DUMP_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$DPW_TMP"
}
trap cleanup EXIT

ip netns add "$NS" || fatal netns "ip netns add failed"
in_ns() { ip netns exec "$NS" "$@"; }   # not for background jobs: $! would be a subshell
in_ns ip link set lo up

# start_echo [ARGS]: dpwsk-echo on a fresh tap; the kernel's end of it addressed and up.
ECHO_N=0
start_echo() {
	local i
	# A file of its own, made here: the redirection below happens in the child, later, and
	# until then a reused file would still show the previous echo's ready line (a start
	# taken as ready at once, then found empty: seen once under load).
	ECHO_N=$((ECHO_N + 1))
	ECHO_OUT=$DPW_TMP/echo$ECHO_N.out
	: >"$ECHO_OUT"
	ip netns exec "$NS" "$DPW_ECHO" --port net_tap0 --ip "$SIP/24" --tcp-port 7 --udp-port 0 "$@" -- \
		--no-huge --no-pci --no-shconf -m 512 --log-level='*:error' -l 0 \
		--file-prefix "dpw-tap-$$" "--vdev=net_tap0,iface=$TAP" >"$ECHO_OUT" 2>&1 &
	ECHO_PID=$!
	# Up to 60 s: once, beside two other whole suites, a start printed nothing in 20 s.
	for ((i = 0; i < 1200; i++)); do
		grep -qs '^dpwsk: ready' "$ECHO_OUT" && break
		kill -0 "$ECHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -qs '^dpwsk: ready' "$ECHO_OUT"; then
		# Say how it ended: a signal (status > 128) leaves no output of its own; one still
		# running says where it waits.
		local rc=running
		if kill -0 "$ECHO_PID" 2>/dev/null; then
			# still running: the trap's cleanup ends it (ECHO_PID stays set)
			rc="running ($(grep -s '^State' /proc/$ECHO_PID/status | tr -s '\t ' ' '), waiting in $(cat /proc/$ECHO_PID/wchan 2>/dev/null))"
		else
			wait "$ECHO_PID"
			rc=$?
			ECHO_PID=
		fi
		fatal echo-start "dpwsk-echo status $rc, output: $(head -c 300 "$ECHO_OUT" 2>&1)"
	fi
	in_ns ip addr add "$KIP/24" dev "$TAP"
	in_ns ip link set "$TAP" up
	READY=$(grep '^dpwsk: ready' "$ECHO_OUT")
}
stop_echo() {
	kill -TERM "$ECHO_PID"
	dpw_wait_exit "$ECHO_PID" 20 || { dpw_kill "$ECHO_PID"; fatal echo-stop "no exit"; }
	assert_eq "$1-exit-status" 0 "$DPW_RC"
	ECHO_PID=
	FINAL=$(grep '^dpwsk: stats ' "$ECHO_OUT" | tail -n1)
	assert_eq "$1-mbuf-in-use-0" 0 "$(stat_get "$FINAL" mbuf_in_use)"
}
# transfer NAME: 300 kB through the echo, identical. Read until all of it is back (or 30 s),
# not for a fixed time after the last byte sent: on a loaded machine the tail may take longer.
transfer() {
	head -c 300000 /dev/urandom >"$DPW_TMP/data"
	in_ns timeout 40 python3 - "$SIP" "$DPW_TMP/data" "$DPW_TMP/back" <<'EOF'
import socket, sys
ip, data_path, back_path = sys.argv[1:4]
data = open(data_path, 'rb').read()
s = socket.create_connection((ip, 7), timeout=30)
s.sendall(data)
back = bytearray()
while len(back) < len(data):
    try:
        x = s.recv(65536)
    except socket.timeout:
        break
    if not x:
        break
    back += x
open(back_path, 'wb').write(back)
EOF
	if cmp -s "$DPW_TMP/data" "$DPW_TMP/back"; then
		pass "$1-echo-identical" "300,000 bytes"
	else
		fail "$1-echo-identical" "$(stat -c %s "$DPW_TMP/back") bytes back"
	fi
}

# --- offloads on ---------------------------------------------------------------------------------
start_echo
case "$READY" in
*" offloads=tx-ipv4-cksum,tx-tcp-cksum,rx-cksum,tso "*) pass ready-offloads "$READY" ;;
*) fail ready-offloads "$READY" ;;
esac
DUMP=$DPW_TMP/dump.txt
ip netns exec "$NS" tcpdump -n -vv -l -i "$TAP" "src host $SIP and (tcp or icmp)" >"$DUMP" 2>"$DPW_TMP/dump.err" &
DUMP_PID=$!
wait_file_grep "$DPW_TMP/dump.err" 'listening on' 10 || fatal tcpdump "did not start"
transfer on
# -w, not -W: once some reply came, iputils' ping waits only max(2 RTTs, the interval) for
# the rest after its last request, and on a busy machine a late reply went uncounted.
# With a deadline it waits until 3 are answered (10 s at most).
in_ns ping -c 3 -i 0.2 -w 10 "$SIP" >"$DPW_TMP/ping" 2>&1
assert_answered ping-answered 3 "$(cat "$DPW_TMP/ping")"
# With a deadline ping sends a request more while one is late (seen beside an ASan suite:
# 4 sent, 4 answered), so the replies the wire must carry are what it sent, plus the one
# ping below.
ECHO_REQUESTS=$(($(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$DPW_TMP/ping") + 1))

# The SYN with a wrong TCP checksum, from a packet socket on the tap (the kernel's MAC to
# dpwsk's, learnt from the exchange above).
SMAC=$(sed -n 's/.* mac=\([^ ]*\).*/\1/p' <<<"$READY")
in_ns python3 - "$DPW_SRC/tests/common" "$TAP" "$SMAC" "$KIP" "$SIP" <<'EOF' ||
import socket, struct, sys
sys.path.insert(0, sys.argv[1])
import pktbuild as pb
tap, smac, kip, sip = sys.argv[2:6]
src, dst = socket.inet_aton(kip), socket.inet_aton(sip)
seg = pb.tcp(40007, 7, 1000, 0, 0x02)
seg = pb.l4_checksum(seg, 16, src, dst, 6, xor=0x5a5a)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((tap, 0))
kmac = bytes.fromhex(open('/sys/class/net/%s/address' % tap).read().strip().replace(':', ''))
s.send(bytes.fromhex(smac.replace(':', '')) + kmac + b'\x08\x00' + pb.ipv4(6, seg, src, dst))
EOF
	fail bad-syn-sent "the packet socket failed"
# Counters, taken once the bad SYN has had its chance (the ping after it is answered: frames
# are handled in order).
in_ns ping -c 1 -W 2 "$SIP" >/dev/null 2>&1
kill -USR1 "$ECHO_PID"
wait_file_grep "$ECHO_OUT" '^dpwsk: stats ' 10
STATS=$(grep '^dpwsk: stats ' "$ECHO_OUT" | tail -n1)
assert_eq bad-syn-dropped 1 "$(stat_get "$STATS" drop_tcp_chksum)"
tx_off=$(stat_get "$STATS" tx_cksum_offloaded) rx_off=$(stat_get "$STATS" rx_cksum_offloaded)
[ "${tx_off:-0}" -gt 100 ] && pass tx-offloaded "$tx_off frames" || fail tx-offloaded "'$tx_off'"
[ "${rx_off:-0}" -gt 100 ] && pass rx-offloaded "$rx_off frames" || fail rx-offloaded "'$rx_off'"
# TSO: 300 kB echoed back means segments far beyond the MTU handed to the tap to cut.
TSO=$(stat_get "$STATS" tx_tso)
[ "${TSO:-0}" -gt 0 ] && pass tx-tso "$TSO segments" || fail tx-tso "'$TSO'"
# tcpdump has printed the last reply before it is stopped (it may not read what is still in
# its buffer once told to stop).
for ((i = 0; i < 200; i++)); do
	[ "$(grep -c 'ICMP echo reply' "$DUMP")" -ge "$ECHO_REQUESTS" ] && break
	sleep 0.05
done
kill -TERM "$DUMP_PID"
wait "$DUMP_PID" 2>/dev/null
DUMP_PID=
stop_echo on
# What tcpdump saw from dpwsk: IPv4 header checksums ("bad cksum" if wrong), TCP checksums
# ("(correct)"/"(incorrect ...)"), no SYN-ACK to the bad SYN's port, lengths within the MSS.
tcp_frames=$(grep -c "^ *$SIP\.[0-9]* > $KIP\.[0-9]*: Flags" "$DUMP")
tcp_correct=$(grep "^ *$SIP\.[0-9]* > $KIP\.[0-9]*: Flags" "$DUMP" | grep -c 'cksum 0x[0-9a-f]* (correct)')
[ "$tcp_frames" -gt 100 ] && pass wire-tcp-frames "$tcp_frames" || fail wire-tcp-frames "$tcp_frames"
assert_eq wire-tcp-checksums-correct "$tcp_frames" "$tcp_correct"
assert_eq wire-ip-checksums-bad 0 "$(grep -c 'bad cksum' "$DUMP")"
assert_eq wire-icmp-replies "$ECHO_REQUESTS" "$(grep -c 'ICMP echo reply' "$DUMP")"
assert_eq wire-no-answer-to-bad-syn 0 "$(grep -c "> $KIP\.40007:" "$DUMP")"
biggest=$(grep -o ', length [0-9]*$' "$DUMP" | awk '{ if ($3 > m) m = $3 } END { print m + 0 }')
[ "$biggest" -le 1460 ] && [ "$biggest" -gt 0 ] && pass wire-segments-within-mss "largest $biggest" ||
	fail wire-segments-within-mss "largest $biggest"
grep 'incorrect\|bad cksum' "$DUMP" | head -n 3 | sed 's/^/  wire: /'
# The device cut them: more TCP frames on the wire than dpwsk handed over (TCP and ICMP),
# none above the MSS, every one with correct checksums (both checked above).
assert_ge wire-more-tcp-frames-than-sent "$((tx_off + 1))" "$tcp_frames"

# --- offloads off ---------------------------------------------------------------------------------
in_ns ip link del "$TAP" 2>/dev/null
# The tap goes with the process that made it; a new one of the same name needs it gone.
for ((i = 0; i < 200; i++)); do
	in_ns ip link show "$TAP" >/dev/null 2>&1 || break
	sleep 0.05
done
start_echo --no-offloads
case "$READY" in
*" offloads=none "*) pass off-ready-none "$READY" ;;
*) fail off-ready-none "$READY" ;;
esac
transfer off
stop_echo off
assert_eq off-tx-offloaded-0 0 "$(stat_get "$FINAL" tx_cksum_offloaded)"
assert_eq off-rx-offloaded-0 0 "$(stat_get "$FINAL" rx_cksum_offloaded)"
assert_eq off-tso-0 0 "$(stat_get "$FINAL" tx_tso)"
dpw_finish
