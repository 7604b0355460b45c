#!/usr/bin/env python3
"""Write the frames harness's seed corpus and regression inputs (tests/fuzz/fuzz_frames.c
describes the record format). Run from anywhere: python3 tests/fuzz/make_inputs.py

The seeds walk the stack through what the fuzzer should start from: ARP, ICMP, TCP
handshakes with data and FIN both ways (the stack's ISN is fixed in the harness), the
stack's own connection, UDP, IPv6 with Neighbor Discovery, fragments, retransmissions.
Each regression input is the smallest sequence that showed one finding."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from pktbuild import ipv4, l4_checksum, tcp, udp  # noqa: E402

ISN = 0x10000000          # FUZZ_ISN in fuzz_frames.c
FIX_CSUM, FIX_LEN, FIX_MAC = 1, 2, 4
FIX_ALL = FIX_CSUM | FIX_LEN | FIX_MAC

PEER_MAC = bytes([2, 0, 0, 0, 0, 1])
ANY_MAC = bytes(6)        # replaced by the engine's MAC (FIX_MAC)
PEER4, STACK4 = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
PEER6 = bytes.fromhex("20010002000000000000000000000001")
STACK6 = bytes.fromhex("20010002000000000000000000000002")
SOLICITED6 = bytes.fromhex("ff0200000000000000000001ff000002")


def after(ms):
    """The time byte for about ms milliseconds: exact below 128, else in 500 ms units."""
    return ms if ms < 128 else min(255, 127 + ms // 500)


def record(frame, flags=FIX_ALL, wait=0, split=0):
    return bytes([flags, after(wait), split]) + struct.pack("<H", len(frame)) + frame


def eth(ethertype, payload, dst=ANY_MAC):
    return dst + PEER_MAC + struct.pack(">H", ethertype) + payload


def ip4(proto, payload, src=PEER4, dst=STACK4, ident=1, frag=0, ihl_opts=b""):
    # checksum 0: the harness fixes it (FIX_CSUM)
    return eth(0x0800, ipv4(proto, payload, src, dst, ident=ident, frag=frag, opts=ihl_opts,
                            checksum=False))


def ip6(nh, payload, src=PEER6, dst=STACK6):
    return eth(0x86DD, struct.pack(">IHBB16s16s", 6 << 28, len(payload), nh, 64, src, dst)
               + payload, dst=ANY_MAC)


SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08
# MSS 1460, NOP, window scale 7, SACK permitted, NOP NOP
SYN_OPTS = bytes([2, 4, 5, 180, 1, 3, 3, 7, 4, 2, 1, 1])


def arp_request():
    body = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER4, bytes(6), STACK4)
    return eth(0x0806, body, dst=b"\xff" * 6)


def arp_reply():
    body = struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, PEER_MAC, PEER4, bytes(6), STACK4)
    return eth(0x0806, body)


def icmp_echo(ident, seq, data):
    return ip4(1, struct.pack(">BBHHH", 8, 0, 0, ident, seq) + data)


def neighbor_solicitation(option=bytes([1, 1]) + PEER_MAC):
    # type 135, target 2001:2::2, by default with a source link-layer address option
    body = struct.pack(">BBHI16s", 135, 0, 0, 0, STACK6) + option
    frame = eth(0x86DD, struct.pack(">IHBB16s16s", 6 << 28, len(body), 58, 255, PEER6,
                                    SOLICITED6) + body,
                dst=bytes([0x33, 0x33, 0xFF, 0, 0, 2]))
    return record(frame, flags=FIX_CSUM | FIX_LEN)


def handshake(port, sport=40000, v6=False, seq=1000):
    """ARP (or ND) first, so that the stack's answers are not queued, then SYN and ACK."""
    ipf = (lambda p: ip6(6, p)) if v6 else (lambda p: ip4(6, p))
    first = neighbor_solicitation() if v6 else record(arp_request())
    return ipf, first + record(ipf(tcp(sport, port, seq, 0, SYN, opts=SYN_OPTS))) + \
        record(ipf(tcp(sport, port, seq + 1, ISN + 1, ACK)))


def tcp_echo_session(v6=False):
    ipf, s = handshake(7, v6=v6)
    s += record(ipf(tcp(40000, 7, 1001, ISN + 1, ACK | PSH, b"hello")), wait=1)
    s += record(ipf(tcp(40000, 7, 1006, ISN + 6, ACK)), wait=100)      # the echo acked
    s += record(ipf(tcp(40000, 7, 1006, ISN + 6, ACK | FIN)), wait=10)
    s += record(ipf(tcp(40000, 7, 1007, ISN + 7, ACK)), wait=10)       # our FIN acked
    return s


def tcp_client_session():
    """The stack's own connection (port 5000 to the peer's 80): its SYN waits for ARP."""
    ipf = lambda p: ip4(6, p)
    s = record(arp_reply(), wait=5)
    s += record(ipf(tcp(80, 5000, 5000, ISN, SYN | ACK, opts=SYN_OPTS)), wait=1)
    s += record(ipf(tcp(80, 5000, 5001, ISN, ACK | PSH, b"GET / HTTP/1.0\r\n\r\n")))
    s += record(ipf(tcp(80, 5000, 5019, ISN + 18, ACK | FIN)), wait=5)
    s += record(b"", wait=10000)                                    # TIME_WAIT ends
    return s


def tcp_hold_session():
    ipf, s = handshake(9, sport=40001)
    s += record(ipf(tcp(40001, 9, 1001, ISN + 1, ACK | PSH, b"x" * 1000)))
    s += record(ipf(tcp(40001, 9, 2001, ISN + 1, ACK | PSH, b"y" * 1000)), split=60)
    s += record(b"", wait=1500)                                     # refused data retried
    s += record(ipf(tcp(40001, 9, 3001, ISN + 1, RST)))
    return s


def tcp_out_of_order():
    ipf, s = handshake(7, sport=40002)
    s += record(ipf(tcp(40002, 7, 1101, ISN + 1, ACK, b"b" * 100)))
    s += record(ipf(tcp(40002, 7, 1301, ISN + 1, ACK, b"d" * 100)))
    s += record(ipf(tcp(40002, 7, 1001, ISN + 1, ACK, b"a" * 100)))
    s += record(ipf(tcp(40002, 7, 1201, ISN + 1, ACK | FIN, b"c" * 100)), wait=20)
    return s


def tcp_retransmit():
    """The echo is never acknowledged: the stack retransmits with backoff, then gives up."""
    ipf, s = handshake(7, sport=40003)
    s += record(ipf(tcp(40003, 7, 1001, ISN + 1, ACK | PSH, b"retransmit me")))
    for _ in range(6):
        s += record(b"", wait=2000)
    s += record(ipf(tcp(40003, 7, 1014, ISN + 14, ACK)))
    return s


def udp_session():
    s = record(arp_request())
    s += record(ip4(17, udp(40000, 7, b"echo this")))
    s += record(ip4(17, udp(40000, 9, b"keep this")))
    s += record(ip4(17, udp(40000, 9, b"and this")), split=40)
    s += record(ip4(17, udp(40000, 1234, b"closed port")))            # ICMP unreachable
    return s


def udp_fragments():
    data = bytes(range(256)) * 4
    seg = udp(40000, 7, data)
    seg = l4_checksum(seg, 6, PEER4, STACK4, 17)
    s = record(arp_request())
    # two fragments, the second first; IP lengths right, checksums fixed by the harness
    s += record(ip4(17, seg[512:], ident=77, frag=512 // 8), flags=FIX_CSUM | FIX_MAC)
    s += record(ip4(17, seg[:512], ident=77, frag=0x2000), flags=FIX_CSUM | FIX_MAC)
    s += record(ip4(17, seg[:256], ident=78, frag=0x2000), flags=FIX_CSUM | FIX_MAC)
    s += record(b"", wait=16000)                                    # 78 expires
    return s


def ipv6_session():
    s = neighbor_solicitation()
    s += record(ip6(58, struct.pack(">BBHHH", 128, 0, 0, 9, 1) + b"ping6"))
    s += record(ip6(17, udp(40000, 7, b"echo over v6")))
    return s + tcp_echo_session(v6=True)[len(neighbor_solicitation()):]


SEEDS = {
    "arp-request": record(arp_request()),
    "icmp-echo": record(arp_request()) + record(icmp_echo(0x4242, 1, b"x" * 56)),
    "tcp-echo-session": tcp_echo_session(),
    "tcp-client-session": tcp_client_session(),
    "tcp-hold-session": tcp_hold_session(),
    "tcp-out-of-order": tcp_out_of_order(),
    "tcp-retransmit": tcp_retransmit(),
    "udp-session": udp_session(),
    "udp-fragments": udp_fragments(),
    "ipv6-session": ipv6_session(),
}


def remote_crash(fin):
    ipf, s = handshake(7, sport=40010)
    if fin:
        s += record(ipf(tcp(40010, 7, 1001 + 2**31, ISN + 1, ACK | FIN)))
    else:
        s += record(ipf(tcp(40010, 7, 1001 + 2**31, ISN + 1, ACK | PSH, b"!")))
    return s


def ip6_ext_length_byte(nh):
    """An extension header that is one byte long: its length byte is past the frame."""
    return neighbor_solicitation() + record(ip6(nh, bytes([59])), flags=FIX_MAC)


def ip6_option_at_end(nh):
    """An 8-byte options header ending the packet: PadN of 3 bytes, then a PadN type byte."""
    return neighbor_solicitation() + record(ip6(nh, bytes([59, 0, 1, 3, 0, 0, 0, 1])),
                                            flags=FIX_MAC)


REGRESSIONS = {
    # 1: lwip-0002: one byte at rcv_nxt + 2^31 tripped "insane offset!" (abort)
    "remote-crash-data-at-seq-plus-2-31": remote_crash(fin=False),
    "remote-crash-fin-at-seq-plus-2-31": remote_crash(fin=True),
    # 2: lwip-0007: a 20-byte ARP frame, the 28-byte header read past its end
    "etharp-short-frame": record(eth(0x0806, bytes([0, 1, 8, 0, 6, 4]), dst=b"\xff" * 6),
                                 flags=0),
    # 3: lwip-0005: a SYN whose last option byte is a kind (MSS): its length byte is past
    "tcp-option-kind-last-byte": record(arp_request()) + record(ip4(6, tcp(
        40011, 7, 1000, 0, SYN, opts=bytes([1, 1, 1, 2])))),
    # 4: lwip-0008: one byte of IPv4 header
    "ip4-short-header": record(eth(0x0800, bytes([0x45])), flags=FIX_MAC),
    # 5: lwip-0009: one byte of IPv6 header
    "ip6-short-header": record(eth(0x86DD, bytes([0x60])), flags=FIX_MAC),
    # 6: lwip-0009: hop-by-hop, destination options, routing headers of one byte
    "ip6-hop-by-hop-length-byte": ip6_ext_length_byte(0),
    "ip6-dest-options-length-byte": ip6_ext_length_byte(60),
    "ip6-routing-length-byte": ip6_ext_length_byte(43),
    # found by this harness, lwip-0018: a Neighbor Solicitation whose source link-layer
    # address option says length 0 and ends the frame: the address was copied from past it
    "nd6-solicitation-lladdr-length-0": neighbor_solicitation(option=bytes([1, 0])),
    # found by this harness, lwip-0019: a hop-by-hop or destination options header whose
    # last byte is an option type (PadN): its length byte was read from past the packet
    "ip6-hop-by-hop-option-length-byte": ip6_option_at_end(0),
    "ip6-dest-options-option-length-byte": ip6_option_at_end(60),
    # 7: lwip-0010: an unknown protocol in a frame split right after the IP header: the
    # ICMP unreachable quoted 28 bytes from the 20-byte first segment
    "icmp-unreachable-quote-across-segments": record(arp_request()) + record(
        ip4(253, b"12345678"), split=14 + 20),
}


def write(directory, inputs):
    os.makedirs(directory, exist_ok=True)
    for name, data in inputs.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


here = os.path.dirname(os.path.abspath(__file__))
write(os.path.join(here, "corpus", "frames"), SEEDS)
write(os.path.join(here, "regressions", "frames"), REGRESSIONS)


# ---- the API harness (tests/fuzz/fuzz_api.c describes the ops) --------------------------
# Ops: a byte, then its arguments. Slot s's socket is bound to port 6000 + s.
(API_SOCKET, API_BIND, API_LISTEN, API_CONNECT, API_SEND, API_RECEIVE, API_DISCONNECT,
 API_CLOSE, API_CANCEL, API_REUSE, API_TIME, API_PEER, API_RAW, API_POLL) = range(14)
LISTEN_CAT, CONNECTION_CAT, STREAM_CAT, DATAGRAM_CAT = range(4)
PEER_SYNACK, PEER_DATA, PEER_FIN, PEER_RST, PEER_ACK, PEER_OUT_OF_WINDOW = range(6)
STALE = 0x80              # the slot's handle closed earlier in the input
GOOD_BUF = 0x60           # buffer kind: a good MDL of the pool (lower bits: MDL, offset)


def api_connect(slot, cat=CONNECTION_CAT):
    """A socket, bound, connected to the peer, the handshake answered."""
    return bytes([API_SOCKET, slot, cat, API_POLL, API_BIND, slot, 0, 0, API_POLL,
                  API_CONNECT, slot, 0, 0, API_POLL, API_PEER, slot | PEER_SYNACK << 2, 0,
                  API_POLL])


def api_peer(slot, what, length=0):
    return bytes([API_PEER, slot | what << 2, length, API_POLL])


API_SEEDS = {
    # data both ways, a FIN from the peer, a graceful disconnect, close, then a call
    # through the closed handle
    "exchange": api_connect(0) + bytes([API_SEND, 0, GOOD_BUF, 10, API_RECEIVE, 0,
                                        GOOD_BUF | 1, 10]) + api_peer(0, PEER_DATA, 50) +
    api_peer(0, PEER_FIN) + bytes([API_DISCONNECT, 0, 0, 1, API_POLL, API_TIME, 50,
                                   API_CLOSE, 0, 0, 0, API_POLL, API_SEND, STALE, GOOD_BUF,
                                   3, API_POLL]),
    # a stream socket: receives pending, one cancelled, the peer resets, IRPs reused
    "stream-reset": api_connect(1, STREAM_CAT) + bytes([
        API_RECEIVE, 1, GOOD_BUF, 4, API_RECEIVE, 1, GOOD_BUF | 2, 4, API_POLL,
        API_CANCEL, 5, API_POLL]) + api_peer(1, PEER_RST) + bytes([API_REUSE, 5,
                                                                   API_REUSE, 6]),
    # buffers to be refused: no MDL, offset past it, longer than the chain
    "bad-buffers": api_connect(2) + bytes([API_SEND, 2, 0x00, 4, API_SEND, 2, 0x20, 4,
                                           API_RECEIVE, 2, 0x40, 4, API_POLL]),
    # a listener (stream socket), a datagram socket sending and receiving, time passing
    # while the stack's SYN goes unanswered
    "listen-datagram": bytes([API_SOCKET, 0, STREAM_CAT, API_POLL, API_BIND, 0, 1, 0,
                              API_LISTEN, 0, 0, 0, API_SOCKET, 3, DATAGRAM_CAT, API_POLL,
                              API_BIND, 3, 0, 0, API_SEND, 3, GOOD_BUF, 2, API_RECEIVE, 3,
                              GOOD_BUF, 2, API_POLL, API_SOCKET, 1, CONNECTION_CAT,
                              API_POLL, API_CONNECT, 1, 0, 0, API_TIME, 255, API_TIME,
                              255, API_POLL]),
}
write(os.path.join(here, "corpus", "api"), API_SEEDS)
