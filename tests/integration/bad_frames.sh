#!/bin/bash
# bad_frames: malformed frames from the peer (AF_PACKET raw socket on DPW_IF_PEER, addressed
# to DPW_MAC_STACK) are dropped and counted, one counter each, exactly once; none gets an
# answer on the wire (tcpdump: no SYN-ACK/RST to the bad SYN, no ICMP); the stack still
# answers ping and stops cleanly.
#
# What veth really delivers (checked on Linux 6.x): a frame shorter than the 14-byte Ethernet
# header cannot be sent at all (packet_snd -> dev_validate_header refuses it with EINVAL, even
# for root), and veth does not pad short frames to 60 bytes. So a true runt (< 14 bytes, the
# stack's drop_runt) cannot reach the stack here; the shortest frame that can is the bare
# 14-byte header, which lwIP's ethernet_input drops as "no payload" (counted in drop_link).
# The runt check is therefore: try the 10-byte frame; if Linux refuses it, send the 14-byte
# header and check that it is dropped, counted in rx_dropped (as drop_runt or drop_link), and
# nothing crashes. If a kernel ever lets the 10-byte frame through, drop_runt must count it.
#   scripts/netns.sh run tests/integration/bad_frames.sh   (or run it directly)
. "$(dirname "$0")/lib.sh"
dpw_init python3 tcpdump ping

# One frame per call: python3 -c "$FRAMES" KIND. Exit 0 sent, 3 refused by the kernel.
# The frames are built with tests/common/pktbuild.py.
export PYTHONPATH="$DPW_SRC/tests/common${PYTHONPATH:+:$PYTHONPATH}"
read -r -d '' FRAMES <<'PY'
import os, socket, struct, sys
from pktbuild import csum, ipv4 as ip4, l4_checksum, tcp, udp as udp_seg

env = os.environ
dst = bytes.fromhex(env["DPW_MAC_STACK"].replace(":", ""))
src = bytes.fromhex(env["DPW_MAC_PEER"].replace(":", ""))
sip, dip = socket.inet_aton(env["DPW_IP_PEER"]), socket.inet_aton(env["DPW_IP_STACK"])
ETH = dst + src + b"\x08\x00"
BAD = 0x5A5A  # xor'ed into a correct checksum: wrong, and never 0 ("no checksum" for UDP)

def ipv4(proto, payload, total_len=None, bad=False):
    return ip4(proto, payload, sip, dip, ident=0x1234, total_len=total_len,
               xor=BAD if bad else 0)

def l4(proto, seg, at, bad):
    return l4_checksum(seg, at, sip, dip, proto, xor=BAD if bad else 0)

def icmp_echo():
    m = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"dpwsk bad frame test...."
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]

def tcp_syn(sport, bad):
    return l4(6, tcp(sport, 7, 0x01020304, 0, 0x02, win=64240), 16, bad)

def udp(bad):
    return l4(17, udp_seg(40002, 9, b"dpwsk bad udp"), 6, bad)

frames = {
    "runt10": lambda: ETH[:10],
    "hdr14": lambda: ETH,
    "ip_chksum": lambda: ETH + ipv4(1, icmp_echo(), bad=True),
    # header checksum right, total length 1000 in a 72-byte frame
    "ip_len": lambda: ETH + ipv4(1, icmp_echo(), total_len=1000),
    "tcp_chksum": lambda: ETH + ipv4(6, tcp_syn(40000, True)),
    "tcp_good": lambda: ETH + ipv4(6, tcp_syn(40001, False)),
    "udp_chksum": lambda: ETH + ipv4(17, udp(True)),
}
f = frames[sys.argv[1]]()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((env["DPW_IF_PEER"], 0))
try:
    n = s.send(f)
except OSError as e:
    print("refused: %d-byte frame: %s" % (len(f), e.strerror))
    sys.exit(3)
print("sent %d-byte frame" % n)
PY

send_frame() { peer python3 -c "$FRAMES" "$1"; }

# Capture what the stack sends to the peer, from before the first bad frame.
capture_start "src host $DPW_IP_STACK"

stack_start
STATS=$(stack_stats) || fatal stats "no stats line"

# after_drop NAME: with BEFORE the stats line from before a frame was sent, poll stats
# (bounded: 50 lines, 0.1 s apart) until rx_dropped moves; the new line goes into STATS.
# The poll covers only the frame's trip through veth and the stack's RX ring.
after_drop() {
	local s i
	for ((i = 0; i < 50; i++)); do
		s=$(stack_stats) || fatal "$1" "no stats line"
		[ "$(stat_get "$s" rx_dropped)" != "$(stat_get "$BEFORE" rx_dropped)" ] && break
		sleep 0.1
	done
	STATS=$s
}

# delta KEY...: how much the sum of KEYs went up from BEFORE to STATS.
delta() {
	local k d=0
	for k in "$@"; do
		d=$((d + $(stat_get "$STATS" "$k") - $(stat_get "$BEFORE" "$k")))
	done
	echo "$d"
}

# expect_drop NAME FRAME COUNTER: send FRAME; COUNTER and rx_dropped each go up by exactly 1.
expect_drop() {
	local out
	BEFORE=$STATS
	out=$(send_frame "$2") || { fail "$1" "frame not sent: $out"; return 1; }
	echo "$1: $out"
	after_drop "$1"
	assert_eq "$1-$3+1" 1 "$(delta "$3")"
	assert_eq "$1-rx_dropped+1" 1 "$(delta rx_dropped)"
}

# 1. Runt: see the header comment.
BEFORE=$STATS
out=$(send_frame runt10)
case $? in
0)
	echo "runt: $out (delivered as a runt)"
	after_drop runt
	assert_eq runt-drop_runt+1 1 "$(delta drop_runt)"
	assert_eq runt-rx_dropped+1 1 "$(delta rx_dropped)"
	;;
3)
	echo "runt: $out; sending the shortest frame Linux allows, the bare 14-byte header"
	out=$(send_frame hdr14) || fatal runt "14-byte frame not sent: $out"
	after_drop runt
	assert_eq runt-rx_dropped+1 1 "$(delta rx_dropped)"
	assert_eq runt-drop_runt+drop_link+1 1 "$(delta drop_runt drop_link)"
	;;
*)
	fail runt "python sender failed: $out"
	;;
esac

# 2.-5. One bad field each.
expect_drop ip-bad-checksum ip_chksum drop_ip_chksum
expect_drop ip-length-beyond-frame ip_len drop_ip_len
expect_drop tcp-syn-bad-checksum tcp_chksum drop_tcp_chksum
expect_drop udp-bad-checksum udp_chksum drop_udp_chksum

# No answer to the bad SYN (sport 40000): capture until a positive control shows up. The
# control is a good SYN (sport 40001), which the stack answers with a SYN-ACK (the peer's
# kernel then resets it). Frames leave the stack in order, so once the control's SYN-ACK is
# in the capture, any answer to the earlier bad SYN would be there too.
out=$(send_frame tcp_good) || fatal capture "control SYN not sent: $out"
if capture_wait "\.7 > $DPW_IP_PEER\.40001: Flags \[S\.\]" 5; then
	pass capture-control-syn-ack
else
	fail capture-control-syn-ack "no SYN-ACK to the good SYN within 5 s; capture: $(tr '\n' '|' <"$CAPTURE")"
fi
answers=$(grep "> $DPW_IP_PEER\.40000:" "$CAPTURE")
if [ -z "$answers" ]; then
	pass no-answer-to-bad-syn
else
	fail no-answer-to-bad-syn "expected no SYN-ACK or RST to port 40000, saw: $answers"
fi
# Nor to the others: no echo reply to the bad ICMP frames, no port unreachable for the UDP.
answers=$(grep -E 'ICMP (echo reply|.*unreachable)' "$CAPTURE")
if [ -z "$answers" ]; then
	pass no-icmp-answers
else
	fail no-icmp-answers "expected no ICMP from the stack, saw: $answers"
fi
dpw_kill "$CAPTURE_PID"

# Still alive and answering.
# (-w: until 3 replies, not "2 RTTs after the last request", which a busy machine exceeds)
out=$(peer timeout 15 ping -n -c 3 -i 0.05 -w 10 "$DPW_IP_STACK" 2>&1)
assert_answered ping-after 3 "$out"

stack_stop
dpw_finish
