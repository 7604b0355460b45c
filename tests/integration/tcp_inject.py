"""Inject one crafted TCP segment into a live connection, from the Linux peer's side.

    python3 tcp_inject.py KIND OFFSET

Run in the peer namespace (scripts/netns.sh's environment: DPW_IF_PEER, DPW_IP_PEER,
DPW_IP_STACK, DPW_MAC_PEER, DPW_MAC_STACK). It opens an ordinary kernel TCP connection to the
stack's echo port (7), echoes a line through it, learns the connection's sequence numbers from
the stack's own segments (an AF_PACKET socket sees them on the veth: the stack's ACK number is
exactly its rcv_nxt), then sends one segment of KIND on that 4-tuple with sequence number
rcv_nxt + OFFSET, through a raw AF_PACKET socket with correct checksums:
    data   one byte, ACK|PSH
    fin    no data, FIN|ACK
Then it checks what the stack did, on the wire and through the connection, one line each:
    acked SEQ        the stack answered with an ACK whose ACK number is still rcv_nxt
                     (the segment was outside the window: RFC 793 says ACK and drop it)
    echo-after ok    the same connection still echoes a line
Exit 0 when both hold, 1 otherwise (with the reason), 2 on a set-up error.
"""
import errno
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import pktbuild  # noqa: E402

ETH_P_IP = 0x0800
FIN, PSH, ACK = 0x01, 0x08, 0x10


def mac(name):
    return bytes.fromhex(os.environ[name].replace(":", ""))


def tcp_frame(src, dst, sport, dport, seq, ack, flags, payload):
    """An Ethernet frame peer -> stack carrying one TCP segment, checksums right."""
    sip, dip = socket.inet_aton(src), socket.inet_aton(dst)
    seg = pktbuild.l4_checksum(pktbuild.tcp(sport, dport, seq, ack, flags, payload, win=64240),
                               16, sip, dip, 6)
    ip = pktbuild.ipv4(6, seg, sip, dip, ident=0x4242, frag=0x4000)
    return mac("DPW_MAC_STACK") + mac("DPW_MAC_PEER") + struct.pack("!H", ETH_P_IP) + ip


def parse_from_stack(frame, stack_ip, peer_port):
    """(seq, ack, flags, payload length) of a stack -> peer segment of our connection."""
    if len(frame) < 54 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 6 or ip[12:16] != socket.inet_aton(stack_ip):
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:total]
    sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
    if sport != 7 or dport != peer_port:
        return None
    return seq, ack, flags, len(tcp) - (off >> 4) * 4


def echo_line(conn, line):
    conn.sendall(line)
    got = b""
    while not got.endswith(b"\n"):
        b = conn.recv(100)
        if not b:
            raise ConnectionError("connection closed by the stack")
        got += b
    if got != line:
        raise ConnectionError("echoed %r, expected %r" % (got, line))


def stack_segments(sniff, stack_ip, peer_port, seconds):
    """Segments of our connection from the stack, as they come, for at most SECONDS;
    0 seconds: only those already queued on the socket."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        sniff.settimeout(left if left > 0 else 0)
        try:
            frame = sniff.recv(65536)
        except (socket.timeout, BlockingIOError):
            return
        s = parse_from_stack(frame, stack_ip, peer_port)
        if s is not None:
            yield s


def connect(stack_ip):
    """The connection the crafted segment goes on. Linux gives up on a neighbour after 3 s
    without an ARP answer (EHOSTUNREACH); on a machine loaded far past its cores a stack that
    has just started can be that late (seen once at a load average of 30). ARP is not what
    this test examines: up to three tries, each said. Each waits 15 s for the handshake (Linux
    resends its SYN after 1 and 3 s): a starved stack answered none within 5 s once."""
    for attempt in range(3):
        try:
            return socket.create_connection((stack_ip, 7), timeout=15)
        except OSError as e:
            if e.errno != errno.EHOSTUNREACH or attempt == 2:
                raise
            print("connect: %s, trying again" % e, flush=True)


def main():
    kind, offset = sys.argv[1], int(sys.argv[2], 0)
    env = os.environ
    stack_ip, peer_ip = env["DPW_IP_STACK"], env["DPW_IP_PEER"]
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniff.bind((env["DPW_IF_PEER"], ETH_P_IP))
    conn = connect(stack_ip)
    peer_port = conn.getsockname()[1]
    echo_line(conn, b"before the crafted segment\n")

    # The stack's segments so far (AF_PACKET queues a frame before the kernel's TCP sees
    # it, so once the echo is read, all of them are queued): the last one's ACK number is
    # the stack's rcv_nxt, its sequence number plus length the stack's snd_nxt.
    last = None
    for s in stack_segments(sniff, stack_ip, peer_port, 0):
        last = s
    if last is None:
        print("no segment from the stack seen on %s" % env["DPW_IF_PEER"])
        return 2
    seq, rcv_nxt, _, plen = last
    snd_nxt = (seq + plen) & 0xFFFFFFFF

    bad_seq = (rcv_nxt + offset) & 0xFFFFFFFF
    flags, payload = {"data": (ACK | PSH, b"X"), "fin": (FIN | ACK, b"")}[kind]
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((env["DPW_IF_PEER"], 0))
    raw.send(tcp_frame(peer_ip, stack_ip, peer_port, 7, bad_seq, snd_nxt, flags, payload))
    print("injected %s: seq=%u (rcv_nxt %u + %#x) ack=%u port=%u"
          % (kind, bad_seq, rcv_nxt, offset, snd_nxt, peer_port), flush=True)

    acked = None
    for s in stack_segments(sniff, stack_ip, peer_port, 3):
        if s[2] & ACK:
            acked = s
            break
    if acked is None:
        print("FAIL: no ACK from the stack within 3 s of the crafted segment")
        return 1
    if acked[1] != rcv_nxt:
        print("FAIL: the stack acknowledged %u, expected its rcv_nxt %u unchanged"
              % (acked[1], rcv_nxt))
        return 1
    print("acked %u" % acked[1], flush=True)
    try:
        echo_line(conn, b"after the crafted segment\n")
    except (OSError, ConnectionError) as e:
        print("FAIL: the connection no longer echoes: %s" % e)
        return 1
    print("echo-after ok", flush=True)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
