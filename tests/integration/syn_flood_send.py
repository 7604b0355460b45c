# The SYN flood of syn_flood.sh: TCP SYNs to the stack's echo port from spoofed sources in
# 198.18.0.0/15 (and nowhere else), as raw Ethernet frames on the peer's veth end (AF_PACKET),
# so that no kernel on the peer side keeps state for them or answers the SYN-ACKs.
#
#   python3 syn_flood_send.py MAX_SYNS MAX_SECONDS RATE
#
# Stops at MAX_SYNS frames or MAX_SECONDS, whichever comes first; paced at RATE frames a second
# (sent in 2 ms slots). Prints "flood started" once the first slot is out, then
# "flood sent=N refused=N secs=S" (refused: the kernel's queue was full, ENOBUFS).
# Sources: one SYN in 16 from the stack's own /24 (198.18.0.3-198.18.0.254: the stack's
# SYN-ACK waits for an ARP reply that never comes), the rest from the other 511 /24s of the
# /15 (no gateway: the stack cannot route its SYN-ACK). Each (address, port) pair is new.
import os
import socket
import struct
import sys
import time

max_syns, max_secs, rate = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
env = os.environ
dst_mac = bytes.fromhex(env["DPW_MAC_STACK"].replace(":", ""))
src_mac = bytes.fromhex(env["DPW_MAC_PEER"].replace(":", ""))
dst_ip = socket.inet_aton(env["DPW_IP_STACK"])
if not env["DPW_IP_STACK"].startswith("198.18.0."):
    sys.exit("the stack is not in 198.18.0.0/24: refusing to pick spoofed sources")
NET = struct.unpack("!I", socket.inet_aton("198.18.0.0"))[0]   # the /15, host order
OFF_LINK = (1 << 17) - 256       # 198.18.1.0 .. 198.19.255.255
PORT = 7


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def words(b):
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


# Ethernet + IPv4 (DF, no options) + TCP SYN with an MSS option: 58 bytes. The source address
# and port vary, so both checksums are the sum of the fixed words (source fields zero) plus
# those fields, computed per frame without re-summing the header.
tcp = struct.pack("!HHIIBBHHH", 0, PORT, 0x5EED0001, 0, 6 << 4, 0x02, 64240, 0, 0) + \
    struct.pack("!BBH", 2, 4, 1460)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                 b"\0\0\0\0", dst_ip)
frame = bytearray(dst_mac + src_mac + b"\x08\x00" + ip + tcp)
IP_SUM = words(ip)
TCP_SUM = words(dst_ip + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)


def source(i):
    """The i-th spoofed (address, port), every one inside 198.18.0.0/15."""
    if i % 16 == 0:
        addr = NET + 3 + (i // 16) % 252
    else:
        addr = NET + 256 + (i * 40503) % OFF_LINK
    assert NET <= addr < NET + (1 << 17)
    return addr, 1024 + (i * 7919) % 64000


sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((env["DPW_IF_PEER"], 0))
sent = refused = 0
start = time.monotonic()
deadline = start + max_secs
announced = False
while sent < max_syns:
    now = time.monotonic()
    if now >= deadline:
        break
    due = min(max_syns, int((now - start) * rate) + 1)
    while sent < due:
        addr, sport = source(sent)
        hi, lo = addr >> 16, addr & 0xFFFF
        frame[26:30] = struct.pack("!I", addr)
        frame[24:26] = struct.pack("!H", ~fold(IP_SUM + hi + lo) & 0xFFFF)
        frame[34:36] = struct.pack("!H", sport)
        frame[50:52] = struct.pack("!H", ~fold(TCP_SUM + hi + lo + sport) & 0xFFFF)
        try:
            sock.send(frame)
        except OSError:   # ENOBUFS: the queue is full; that SYN is not sent, go on later
            refused += 1
            break
        sent += 1
    if not announced:
        print("flood started", flush=True)
        announced = True
    time.sleep(0.002)   # pacing: the next slot, not a wait for an event
print("flood sent=%d refused=%d secs=%.2f" % (sent, refused, time.monotonic() - start),
      flush=True)
