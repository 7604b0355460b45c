"""Packet building for the test scripts (tests/integration, tests/fuzz): the Internet
checksum, IPv4 headers, TCP and UDP segments and their pseudo-header checksums, in one place.
Addresses are 4-byte strings (socket.inet_aton); every function returns bytes."""
import struct


def csum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, payload, src, dst, ident=0, frag=0, ttl=64, opts=b"", total_len=None,
         checksum=True, xor=0):
    """An IPv4 header with options opts, then payload. The total length is right unless
    total_len says otherwise; the header checksum is right (xor'ed with xor, to make it
    wrong on purpose), or left 0 when checksum is False (a harness fixes it)."""
    hl = 20 + len(opts)
    tl = hl + len(payload) if total_len is None else total_len
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | hl // 4, 0, tl, ident, frag, ttl, proto, 0, src,
                    dst) + opts
    if checksum:
        h = h[:10] + struct.pack("!H", csum(h) ^ xor) + h[12:]
    return h + payload


def l4_checksum(seg, at, src, dst, proto, xor=0):
    """seg (a TCP or UDP header and data) with the checksum at offset at computed over the
    IPv4 pseudo-header (xor'ed with xor, to make it wrong on purpose)."""
    c = csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg) ^ xor
    return seg[:at] + struct.pack("!H", c) + seg[at + 2:]


def tcp(sport, dport, seq, ack, flags, data=b"", opts=b"", win=65535):
    """A TCP segment, checksum 0 (l4_checksum(seg, 16, ...) fills it)."""
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       (5 + len(opts) // 4) << 4, flags, win, 0, 0) + opts + data


def udp(sport, dport, data):
    """A UDP datagram, checksum 0 (l4_checksum(seg, 6, ...) fills it)."""
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
